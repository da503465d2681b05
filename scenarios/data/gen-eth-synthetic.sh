#!/usr/bin/env bash
# Regenerates scenarios/data/eth-synthetic.csv: SYNTHETIC prices (geometric Brownian
# motion from a fixed seed, `margin gen-path`), not market history. Deterministic: the
# test `sim::path::tests::shipped_sample_is_what_the_generator_makes` checks the file.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=scenarios/data/eth-synthetic.csv
{
  echo "# SYNTHETIC data, not market history: geometric Brownian motion made by"
  echo "# \`margin gen-path\` (defaults = SAMPLE_PATH in cli/src/sim/mod.rs: spot 2000, vol 1.2,"
  echo "# drift -30 (a stress path), 30-minute steps, 96 steps, seed 20250101)."
  echo "# Regenerate: scenarios/data/gen-eth-synthetic.sh"
  cargo run --quiet --release -p margin-cli -- gen-path
} > "$out"
echo "wrote $out"
