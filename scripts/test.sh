#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
# On a fresh machine it installs what it needs (Debian packages for the WASM build).
#   1. cargo fmt --check
#   2. cargo clippy, warnings denied
#   3. the WASM build of the contracts, with size and activation checks (before the
#      tests: margin-harness's tests deploy these fresh binaries from target-wasm/deploy/),
#      and the test of its check for sections nitro's parser refuses
#   4. every test of the workspace (unit, motsu contract tests, the accuracy test against
#      the committed 50-digit reference data, the end-to-end tests on the real WASM)
#   5. the ABI drift check: abi/ regenerated from the code must equal what is committed,
#      and the Solidity examples must compile against it (pinned solc-js)
#   6. scripts/deploy.sh --dry-run: every step, the JSON, and bad inputs refused
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy (warnings denied)"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "WASM build, size and activation checks"
scripts/build-wasm.sh
# The section check refuses, by name, a section nitro's parser would refuse.
scripts/wasm_sections_test.sh

step "tests"
# Release: the accuracy test evaluates 10,000+ reference points. One test thread per
# binary: motsu 0.10's shared test storage can panic ("storage is locked") when many
# motsu tests contend for it on a loaded 2-core machine.
cargo test --locked --workspace --release -- --test-threads=1

step "ABI drift check and Solidity examples"
scripts/abi.sh --check

step "deployment script, dry run (no chain is reachable here)"
scripts/deploy_test.sh
