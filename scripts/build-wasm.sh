#!/usr/bin/env bash
# Builds each contract's deployable WASM, then checks what Stylus activation checks.
#
#   scripts/build-wasm.sh [contract ...]     (default: the contracts of contracts.txt, then token, test-only)
#
# Route A (a user's machine): rustup with the wasm32-unknown-unknown target and rust-src.
# Route B (this project's machines, where rustup has no wasm32 std): Debian's rustc-web
#   toolchain with its own std source, built with -Z build-std. Missing packages are installed.
# Output: target-wasm/deploy/<contract>.wasm (after wasm-opt when it helps), and a size table.
# Fails when a contract is over 24,576 bytes brotli'd (the EVM code-size limit, with the
# 4-byte Stylus prefix), or when the binary breaks an activation rule (including any section
# nitro's WASM parser refuses: scripts/wasm_sections.py).
# SIZE_EXEMPT="engine" reports a contract over the size limit as OVER LIMIT (EXEMPT) instead
# of failing: used only while a contract is known to be too large and being split (README).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LIMIT=24576
if [ $# -gt 0 ]; then
  CONTRACTS=("$@")
else
  source scripts/contracts.sh
  CONTRACTS+=(token)
fi

export CARGO_TARGET_DIR="$ROOT/target-wasm"
# target-cpu=mvp + bulk-memory: rustc >= 1.82 enables reference-types and multi-value, which
# activation rejects. 32 KiB stack: the call starts with 1 memory page instead of 17.
# immediate-abort: no panic machinery or strings (halves the binary).
# location-detail=none: no file paths of panic locations in the data segment (every
# entry pays ~0.75 gas per data byte, cached or not: ~300-420 gas per call and ~120-220
# brotli bytes per contract; on-chain behaviour unchanged, a panic aborts either way).
FLAGS="-C target-cpu=mvp -C target-feature=+bulk-memory -C link-arg=-zstack-size=32768 -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"

need_pkgs=()
for p in brotli:brotli wasm-opt:binaryen wasm-validate:wabt wasm-objdump:wabt; do
  command -v "${p%%:*}" >/dev/null 2>&1 || need_pkgs+=("${p##*:}")
done

route=""
if [ -z "${FORCE_DEBIAN_ROUTE:-}" ] && command -v rustup >/dev/null 2>&1 \
   && rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown \
   && rustup component list --installed 2>/dev/null | grep -q rust-src; then
  route="rustup"
  CARGO=(cargo)
else
  route="debian"
  [ -x /usr/bin/rustc ] && /usr/bin/rustc --version 2>/dev/null | grep -q . && [ -d /usr/lib/rustlib/src ] || need_pkgs+=(rustc-web cargo-web rust-web-src lld-22)
  export RUSTC=/usr/bin/rustc
  CARGO=(/usr/bin/cargo)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "build-wasm: installing ${need_pkgs[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

echo "build-wasm: route=$route ($(${RUSTC:-rustc} --version))"
# The test token (openzeppelin-stylus) builds on its own: in one cargo invocation with the
# other contracts, feature unification would give them its dependencies' features and
# ~900 more bytes each.
pkgs=()
token=0
for c in "${CONTRACTS[@]}"; do
  if [ "$c" = token ]; then token=1; else pkgs+=(-p "margin-$c"); fi
done
build() {
  RUSTC_BOOTSTRAP=1 RUSTFLAGS="$FLAGS" "${CARGO[@]}" build --locked --release --lib \
    --target wasm32-unknown-unknown -Z build-std=std,panic_abort "$@"
}
[ ${#pkgs[@]} -eq 0 ] || build "${pkgs[@]}"
[ "$token" = 0 ] || build -p margin-token

mkdir -p "$CARGO_TARGET_DIR/deploy"
fail=0
printf '\n| contract | raw bytes | brotli -q 11 bytes | limit | headroom | checks |\n|---|---:|---:|---:|---:|---|\n' > "$CARGO_TARGET_DIR/sizes.md"
for c in "${CONTRACTS[@]}"; do
  src="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/margin_${c}.wasm"
  out="$CARGO_TARGET_DIR/deploy/${c}.wasm"
  cp "$src" "$out"
  # wasm-opt -Oz or -Os, whichever compresses smaller (-Os: 50-300 bytes fewer compressed
  # for ~150 raw bytes more, measured 2026-12-04), when it makes the compressed binary
  # smaller, or the raw one smaller while the compressed one still fits (every uncached
  # entry pays ~0.13 gas per raw byte); features limited to what activation allows.
  opt_ok=0
  for level in -Oz -Os; do
    wasm-opt "$level" --mvp-features --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
      --strip-debug --strip-producers "$src" -o "$out.try" 2>/dev/null || continue
    if [ "$opt_ok" = 0 ] \
       || [ "$(brotli -c -q 11 "$out.try" | wc -c)" -lt "$(brotli -c -q 11 "$out.opt" | wc -c)" ]; then
      mv "$out.try" "$out.opt"
      opt_ok=1
    fi
  done
  rm -f "$out.try"
  if [ "$opt_ok" = 1 ]; then
    opt_br=$(brotli -c -q 11 "$out.opt" | wc -c)
    src_br=$(brotli -c -q 11 "$src" | wc -c)
    if [ "$opt_br" -lt "$src_br" ] \
       || { [ "$(wc -c < "$out.opt")" -lt "$(wc -c < "$src")" ] && [ $((opt_br + 4)) -le "$LIMIT" ]; }; then
      mv "$out.opt" "$out"
    fi
  fi
  rm -f "$out.opt"
  # wasm-opt's --enable-bulk-memory adds a DataCount section (id 12), which nitro's parser
  # refuses ("unsupported section type DataCountSection"): activation would fail on chain.
  # Only memory.init and data.drop need it; none of our contracts uses them (checked below,
  # and wasm-validate fails on a module that uses them without the section).
  python3 scripts/wasm_sections.py strip-datacount "$out"
  raw=$(wc -c < "$out")
  br=$(( $(brotli -c -q 11 "$out" | wc -c) + 4 ))
  problems=()
  wasm-validate --disable-reference-types --disable-multi-value --disable-simd "$out" 2>/dev/null \
    || problems+=("invalid for activation (reference-types/multi-value/simd)")
  exports=$(wasm-objdump -x -j Export "$out" 2>/dev/null)
  grep -q '"user_entrypoint"' <<<"$exports" || problems+=("no user_entrypoint export")
  grep -q '"memory"' <<<"$exports" || problems+=("no memory export")
  bad_imports=$(wasm-objdump -x -j Import "$out" 2>/dev/null | grep -E '<-' | grep -v '<- vm_hooks\.' || true)
  [ -z "$bad_imports" ] || problems+=("imports outside vm_hooks: $(echo "$bad_imports" | head -3 | tr '\n' ' ')")
  wasm-objdump -h "$out" 2>/dev/null | grep -q '^ *Start ' && problems+=("has a start function")
  disasm=$(wasm-objdump -d "$out" 2>/dev/null)
  floats=$(grep -cE '\| +f(32|64)\.' <<<"$disasm" || true)
  [ "$floats" = 0 ] || problems+=("$floats float instructions")
  passive=$(grep -cE '\| +(memory\.init|data\.drop)' <<<"$disasm" || true)
  [ "$passive" = 0 ] || problems+=("$passive memory.init/data.drop instructions (they need a DataCount section, which nitro refuses)")
  # Sections nitro's parser refuses, by id and name (it accepts only 0-11).
  sections=$(python3 scripts/wasm_sections.py check "$out" 2>&1) \
    || problems+=("sections nitro refuses: $(tr '\n' ' ' <<<"$sections")")
  note=""
  if [ "$br" -gt "$LIMIT" ]; then
    if [[ " ${SIZE_EXEMPT:-} " == *" $c "* ]]; then
      note=" OVER LIMIT (exempt: not deployable as one contract yet)"
    else
      problems+=("over the size limit")
    fi
  fi
  status="ok$note"; [ ${#problems[@]} -eq 0 ] || { status="FAIL: ${problems[*]}"; fail=1; }
  printf '| %s | %d | %d | %d | %d | %s |\n' "$c" "$raw" "$br" "$LIMIT" $((LIMIT - br)) "$status" >> "$CARGO_TARGET_DIR/sizes.md"
done
cat "$CARGO_TARGET_DIR/sizes.md"
echo "(brotli bytes include the 4-byte Stylus prefix; binaries in $CARGO_TARGET_DIR/deploy/)"
exit $fail
