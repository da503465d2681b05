#!/usr/bin/env bash
# Generates abi/ from the contracts, and compiles the Solidity examples against it.
#
#   scripts/abi.sh           regenerate abi/I<Name>.sol and abi/I<Name>.json for CONTRACTS
#   scripts/abi.sh --check   regenerate into a temporary directory and fail if abi/ differs
#                            (stale, missing or extra files); then compile examples/solidity
#
# .sol: tools/abi-export (stylus-sdk export-abi for functions and returned errors, plus the
# contracts' sol! blocks for events, named errors, structs and docs). .json: the pinned
# solc-js of package.json (`npm ci` installs it when node_modules is missing).
# Both modes then compile EXAMPLES with that solc, so an interface change that breaks an
# integrator's Solidity fails here.
set -euo pipefail
cd "$(dirname "$0")/.."

# Contracts to export: contracts.txt (key -> abi/<interface>.{sol,json}); each key needs a
# `contract!` line and its crate in tools/abi-export.
source scripts/contracts.sh
# Solidity compiled against the generated interfaces (integrator examples).
EXAMPLES=(examples/solidity/*.sol)

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: scripts/abi.sh [--check]" >&2; exit 2 ;;
esac

command -v node >/dev/null 2>&1 || { echo "abi.sh: node (Node.js) is required for solc-js" >&2; exit 1; }
if [ ! -f node_modules/solc/package.json ] \
   || [ "$(node -p "require('./node_modules/solc/package.json').version")" != "$(node -p "require('./package-lock.json').packages['node_modules/solc'].version")" ]; then
  echo "abi.sh: installing the pinned solc-js (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Build quietly; show the compiler's output only if it fails.
if ! cargo build --locked -q -p abi-export --features export-abi 2>"$out/build.log"; then
  cat "$out/build.log" >&2
  exit 1
fi
cargo run --locked -q -p abi-export --features export-abi -- --out-dir "$out" "${CONTRACTS[@]}" 2>"$out/export.log" \
  || { cat "$out/export.log" >&2; exit 1; }
grep -v '^abi-export: wrote ' "$out/export.log" >&2 || true
node scripts/solc.js abi "$out" "$out"/I*.sol

if [ "$check" = 1 ]; then
  stale=()
  for f in "$out"/I*.sol "$out"/I*.json; do
    name=$(basename "$f")
    cmp -s "$f" "abi/$name" || stale+=("abi/$name")
  done
  for f in abi/I*.sol abi/I*.json; do
    [ -e "$f" ] || continue
    [ -e "$out/$(basename "$f")" ] || stale+=("$f (no longer generated)")
  done
  if [ ${#stale[@]} -gt 0 ]; then
    echo "abi.sh --check: abi/ is out of date with the contracts:" >&2
    printf '  %s\n' "${stale[@]}" >&2
    for f in "$out"/I*.sol; do
      [ -e "abi/$(basename "$f")" ] && diff -u "abi/$(basename "$f")" "$f" | head -40 >&2 || true
    done
    echo "Update it with: scripts/abi.sh   (then commit abi/)" >&2
    exit 1
  fi
  echo "abi.sh --check: abi/ matches the contracts (${#CONTRACTS[@]} contracts)"
else
  rm -f abi/I*.sol abi/I*.json
  cp "$out"/I*.sol "$out"/I*.json abi/
  echo "abi.sh: wrote $(cd "$out" && ls I*.sol I*.json | sed 's|^|abi/|' | tr '\n' ' ')"
fi

# The examples import abi/ (checked equal to the generated files above, or just written).
node scripts/solc.js check "${EXAMPLES[@]}"
