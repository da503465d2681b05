//! # Stylus Margin: the pure core
//!
//! Everything that decides solvency, as pure functions: 18-decimal fixed point,
//! `ln`/`exp`/`sqrt`, the normal distribution, Black-Scholes with Greeks, SVI
//! volatility surfaces, instrument terms, token units, haircuts, scenario margin
//! and liquidation sizing. No storage, no host calls, no floats, no clock: every
//! input (the time included) is an argument. The contracts and the `margin`
//! command-line tool call the same code, so any on-chain number can be reproduced
//! off chain exactly.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod black_scholes;
pub mod collateral;
pub mod decimal;
pub mod fixed;
pub mod instrument;
pub mod ledger;
pub mod liquidation;
pub mod margin;
pub mod math;
pub mod normal;
pub mod oracle;
pub mod pricer;
pub mod svi;
pub mod units;
