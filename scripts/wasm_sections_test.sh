#!/usr/bin/env bash
# Tests the build's section check (scripts/wasm_sections.py) on real binaries: every
# deployable binary passes it; the same binary with a DataCount section added (still a valid
# module, as wasm-validate confirms) is refused by name, with the file and the section id;
# stripping the section makes it pass again. Needs target-wasm/deploy/ (scripts/build-wasm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target-wasm/deploy
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "wasm_sections_test: FAIL: $*" >&2; exit 1; }
shopt -s nullglob
bins=("$dir"/*.wasm)
[ ${#bins[@]} -gt 0 ] || fail "no binaries in $dir (run scripts/build-wasm.sh)"
python3 scripts/wasm_sections.py check "${bins[@]}" || fail "a deployable binary has a section nitro refuses"
for b in "${bins[@]}"; do
  name=$(basename "$b")
  python3 scripts/wasm_sections.py add-datacount "$b" "$tmp/$name"
  wasm-validate --disable-reference-types --disable-multi-value --disable-simd "$tmp/$name" \
    || fail "$name with a DataCount section should still validate"
  if out=$(python3 scripts/wasm_sections.py check "$tmp/$name" 2>&1); then
    fail "$name with a DataCount section passed the check"
  fi
  grep -q "$tmp/$name: section id 12 (DataCount)" <<<"$out" || fail "unexpected message: $out"
  python3 scripts/wasm_sections.py strip-datacount "$tmp/$name"
  cmp -s "$b" "$tmp/$name" || fail "$name: stripping did not restore the binary"
done
echo "wasm_sections_test: ${#bins[@]} binaries pass; each with a DataCount section added is refused by name"
