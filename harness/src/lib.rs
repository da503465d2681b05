//! # margin-harness
//!
//! Stylus Margin on [`margin_wasm_env`], the generic execution environment: the project's
//! own harness, kept apart from the environment it runs on.
//!
//! - [`system`] deploys the contracts of `contracts.txt` from their deployable WASM
//!   (`target-wasm/deploy/`, built by `scripts/build-wasm.sh`), through their
//!   constructors, wired as in a real deployment, with typed helpers for every action;
//! - [`abi`] holds their generated Solidity interfaces (`abi/*.sol`) and names any revert
//!   the system can produce.
//!
//! Its tests (`harness/tests/`) are the end-to-end tests of the real binaries (activation,
//! every contract, the adversarial run, lens, pause, stale collateral, check-before,
//! re-entrancy, the merged ABI's errors); its examples are the gas benchmark
//! (`scripts/bench-gas.sh`) and the per-function profiler. The `margin simulate` command
//! runs on it too.
//!
//! What belongs in `margin-wasm-env` instead: anything a Stylus program of another project
//! would need (activation, the host I/Os, metering, native stand-ins such as ERC20s and
//! Chainlink feeds).

pub mod abi;
pub mod system;
