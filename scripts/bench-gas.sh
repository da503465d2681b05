#!/usr/bin/env bash
# Gas per operation of the contracts, measured on their deployable WASM in the
# ink-metered environment (margin-wasm-env), printed as markdown tables.
#
#   scripts/bench-gas.sh            # builds target-wasm/deploy/ first if a binary is missing
#   BUILD_WASM=1 scripts/bench-gas.sh   # rebuild the binaries first
#   ARBOS_VERSION=50 scripts/bench-gas.sh  # program-entry rules before ArbOS 60 (default 60)
#   scripts/bench-gas.sh --write        # also writes the tables to docs/gas.md (generated;
#                                       # README links it)
#
# Takes about a minute (release build of the example excluded). Numbers: wasm-env/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${MARGIN_WASM_DEPLOY_DIR:-target-wasm/deploy}"
missing=0
source scripts/contracts.sh
for c in "${CONTRACTS[@]}"; do
  [ -f "$dir/$c.wasm" ] || missing=1
done
if [ -n "${BUILD_WASM:-}" ] || [ "$missing" = 1 ]; then
  [ -z "${MARGIN_WASM_DEPLOY_DIR:-}" ] || { echo "bench-gas: $dir lacks a binary" >&2; exit 1; }
  scripts/build-wasm.sh
fi
if [ "${1:-}" = --write ]; then
  out=$(cargo run --locked --release -p margin-harness --example bench_gas)
  {
    echo "# Gas of Stylus Margin (generated)"
    echo
    echo "Written by \`scripts/bench-gas.sh --write\` on $(date -u +%Y-%m-%d) at commit"
    echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!docs/gas.md' || echo ' (with uncommitted changes)'), ArbOS ${ARBOS_VERSION:-60} program-entry rules. Do not edit: run the"
    echo "command again. The method and the history of these numbers: [MEASUREMENTS.md](MEASUREMENTS.md)."
    echo
    echo "$out"
  } > docs/gas.md
  echo "$out"
  echo "bench-gas: wrote docs/gas.md" >&2
else
  cargo run --locked --release -p margin-harness --example bench_gas
fi
