//! # margin-common
//!
//! One home for what the contracts share, so that they agree by construction:
//!
//! - [`words`]: the packed storage words of the RiskOracle (underlying config, prices,
//!   EWMA state, risk settings, surfaces) and their codecs;
//! - [`wire`]: the internal wire formats: `RiskOracle.marketData` (market data for a set
//!   of underlyings and expiries), `RiskCalculator.evaluate` (a request, the evaluations),
//!   `RiskReader.check` (one account's standing) and a trade's or withdrawal's undo;
//! - [`abi`]: the hand-written calldata and answers of the calls between the contracts,
//!   the callee interfaces declared once;
//! - [`encode`]: events and custom errors from their words, and each contract's error
//!   enum ([`errors!`]);
//! - the custom errors raised by more than one contract (oracle readings, roles, bounds,
//!   zero addresses), with the named codes inside them ([`math_failure`], [`bad_oracle`]);
//! - [`Owned`] (`owned.rs`): two-step ownership, every owned contract's, with its four
//!   public functions, which each contract inherits (`#[inherit(Owned)]`) rather than
//!   re-declares (`Unauthorized`, the two ownership events);
//! - [`Wired`] (`wired.rs`): the vault's and the registry's owner, engine and keeper, with
//!   `setEngine`, `setKeeper` and the engine-or-keeper check written once
//!   (`CallerNotEngineOrKeeper`, `EngineSet`, `KeeperSet`);
//! - conversions between ABI integers and the core's `i128` WAD values.
//!
//! The call graph is a tree: markets and users call the RiskEngine, keepers the
//! KeeperModule; both call the RiskReader (views), the CollateralVault and the
//! PositionRegistry; the reader calls the vault, the registry, the RiskOracle and the
//! RiskCalculator (views); the oracle calls the price feeds; the RiskLens (views for
//! wallets and keepers) calls the reader, the vault, the registry, the oracle and the
//! calculator. Nothing calls back up.
#![cfg_attr(not(feature = "export-abi"), no_std)]
extern crate alloc;

pub mod abi;
pub mod encode;
mod owned;
pub mod wire;
mod wired;
pub mod words;

#[allow(unused_imports)]
use alloc::{vec, vec::Vec};

use alloy_primitives::{Address, I256, U256};
use alloy_sol_types::sol;
use stylus_margin::{fixed::MathError, margin::MarginError};
use stylus_sdk::storage::StorageAddress;

pub use owned::{Owned, OwnedError};
pub use wired::{Wired, WiredError};

sol! {
    /// A price reading is older than the underlying's maximum age.
    #[derive(Debug, PartialEq, Eq)]
    error StaleOracle(uint32 underlying, uint64 age);
    /// A price reading was refused; `reason` ([`bad_oracle`]): 1 non-positive, 2 incomplete
    /// round, 3 timestamp in the future, 4 bad scale, 5 the feed call failed or no price yet.
    #[derive(Debug, PartialEq, Eq)]
    error BadOracle(uint32 underlying, uint8 reason);
    /// No volatility surface for a live expiry the account holds.
    #[derive(Debug, PartialEq, Eq)]
    error MissingSurface(uint32 underlying, uint64 expiry);
    /// The surface of an expiry is older than its maximum age.
    #[derive(Debug, PartialEq, Eq)]
    error StaleSurface(uint32 underlying, uint64 expiry, uint64 age);
    /// The underlying is not configured in the RiskOracle.
    #[derive(Debug, PartialEq, Eq)]
    error UnknownUnderlying(uint32 underlying);
    /// The caller lacks the role the function needs.
    #[derive(Debug, PartialEq, Eq)]
    error Unauthorized(address caller);
    /// The zero address where an address is required (an owner, a contract to wire).
    #[derive(Debug, PartialEq, Eq)]
    error ZeroAddress();
    /// A contract that may be wired once (the engine or the keeper a contract trusts) is
    /// already set; `current` is the one set.
    #[derive(Debug, PartialEq, Eq)]
    error AlreadySet(address current);
    /// A parameter is outside its hard bounds: `which` is the 0-based position of the
    /// field in the setter's parameter struct (`MarginParams`, `UnderlyingParams`,
    /// `LiquidationParams`; the lens's `AssetConfig` for `packAssetConfig`; 0 for the
    /// engine's `setFeeAccount`, whose one parameter is an account id below 2^64), `value`
    /// the value given.
    #[derive(Debug, PartialEq, Eq)]
    error ParameterOutOfBounds(uint8 which, int256 value);
    /// A fixed-point failure in the core; `code` ([`math_failure`]): 1 overflow, 2 division
    /// by zero, 3 outside the domain, 4 malformed data (grid, instrument id or answer).
    #[derive(Debug, PartialEq, Eq)]
    error MathFailure(uint8 code);

    /// An engine-only function was called by someone other than the engine or the keeper
    /// (or before they were set): the vault's and the registry's.
    #[derive(Debug, PartialEq, Eq)]
    error CallerNotEngineOrKeeper(address caller);

    /// The owner set the RiskEngine (once).
    #[derive(Debug, PartialEq, Eq)]
    event EngineSet(address indexed engine);
    /// The owner set the keeper module (liquidations, settlement; once). It may call every
    /// engine-only function.
    #[derive(Debug, PartialEq, Eq)]
    event KeeperSet(address indexed keeper);

    /// The owner named a successor (`next`; zero cancels), who must accept.
    #[derive(Debug, PartialEq, Eq)]
    event OwnershipTransferStarted(address indexed previous, address indexed next);
    /// Ownership moved (two-step; from zero at construction).
    #[derive(Debug, PartialEq, Eq)]
    event OwnershipTransferred(address indexed previous, address indexed next);
}

// The shared event's words (`encode`), tested against alloy's in `encode::tests`.
crate::event_words! {
    OwnershipTransferStarted { previous, next }
    OwnershipTransferred { previous, next }
    EngineSet { engine }
    KeeperSet { keeper }
}

// The shared errors' words (`encode`); each contract's `errors!` test checks those it
// raises against alloy's encoding.
crate::error_words! {
    StaleOracle { underlying, age }
    BadOracle { underlying, reason }
    MissingSurface { underlying, expiry }
    StaleSurface { underlying, expiry, age }
    UnknownUnderlying { underlying }
    Unauthorized { caller }
    CallerNotEngineOrKeeper { caller }
    ZeroAddress {}
    AlreadySet { current }
    ParameterOutOfBounds { which, value }
    MathFailure { code }
}

/// The codes of `MathFailure.code`.
pub mod math_failure {
    /// A fixed-point result does not fit.
    pub const OVERFLOW: u8 = 1;
    /// A division by zero.
    pub const DIVISION_BY_ZERO: u8 = 2;
    /// An input outside a function's domain.
    pub const OUT_OF_DOMAIN: u8 = 3;
    /// Malformed words or ids: a grid, an instrument id, a callee's answer.
    pub const MALFORMED: u8 = 4;
}

/// The reasons of `BadOracle.reason`.
pub mod bad_oracle {
    /// The feed answered a price of zero or less.
    pub const NON_POSITIVE: u8 = 1;
    /// The round is incomplete (`answeredInRound < roundId` or no update time).
    pub const INCOMPLETE_ROUND: u8 = 2;
    /// The round's update time is after the block's.
    pub const FROM_THE_FUTURE: u8 = 3;
    /// The price cannot be scaled to 18 decimals.
    pub const BAD_SCALE: u8 = 4;
    /// The feed call failed, or no price was ever read.
    pub const UNREADABLE: u8 = 5;
}

/// A core failure as the error it names, in the caller's error type.
pub fn math_err<E>(e: MarginError) -> E
where
    E: From<MathFailure> + From<UnknownUnderlying> + From<MissingSurface>,
{
    match e {
        MarginError::Math(m) => fixed_err(m).into(),
        MarginError::MissingMarket(underlying) => UnknownUnderlying { underlying }.into(),
        MarginError::MissingSurface(underlying, expiry) => {
            MissingSurface { underlying, expiry }.into()
        }
        MarginError::BadGrid => malformed().into(),
    }
}

/// Malformed words or ids: `MathFailure(4)`.
pub fn malformed() -> MathFailure {
    MathFailure {
        code: math_failure::MALFORMED,
    }
}

/// A fixed-point failure: `MathFailure(1)` overflow, `(2)` division by zero, `(3)`
/// outside the domain.
pub fn fixed_err(e: MathError) -> MathFailure {
    let code = match e {
        MathError::Overflow => math_failure::OVERFLOW,
        MathError::DivisionByZero => math_failure::DIVISION_BY_ZERO,
        _ => math_failure::OUT_OF_DOMAIN,
    };
    MathFailure { code }
}

/// `I256` to `i128`, saturating (ABI inputs beyond the core's range are refused by the
/// core's own bounds, never wrapped).
pub fn i128_of(v: I256) -> i128 {
    // By limbs: alloy's `TryFrom` is ~600 bytes of WASM in every contract.
    let l = v.into_raw().into_limbs();
    let low = ((u128::from(l[1]) << 64) | u128::from(l[0])) as i128;
    let ext = if low < 0 { u64::MAX } else { 0 };
    if l[2] == ext && l[3] == ext {
        low
    } else if (l[3] as i64) < 0 {
        i128::MIN
    } else {
        i128::MAX
    }
}

/// `i128` to `I256` (lossless: sign extension by limbs).
pub fn i256(v: i128) -> I256 {
    let ext = if v < 0 { u64::MAX } else { 0 };
    I256::from_raw(U256::from_limbs([v as u64, (v >> 64) as u64, ext, ext]))
}

/// `U256` to `u128`, saturating.
pub fn u128_of(v: U256) -> u128 {
    u128::try_from(v).unwrap_or(u128::MAX)
}

/// An unsigned amount as the core's `i128`, saturating at `i128::MAX`: a balance of
/// 2^127 or more must never read as negative (the vault stores balances as `u128`).
pub fn amount_i128(v: U256) -> i128 {
    u128_of(v).min(i128::MAX as u128) as i128
}

/// Every address is set.
/// # Errors
/// `ZeroAddress` if any of `addresses` is zero (constructors wiring other contracts).
pub fn nonzero(addresses: &[Address]) -> Result<(), ZeroAddress> {
    if addresses.iter().any(|a| a.is_zero()) {
        return Err(ZeroAddress {});
    }
    Ok(())
}

/// Wires a contract that may be set once (the engine or the keeper a contract trusts).
/// # Errors
/// `ZeroAddress` for zero; `AlreadySet` with the current one once it is set.
#[inline]
pub fn set_once<E: From<ZeroAddress> + From<AlreadySet>>(
    slot: &mut StorageAddress,
    value: Address,
) -> Result<(), E> {
    if value.is_zero() {
        return Err(ZeroAddress {}.into());
    }
    let current = slot.get();
    if !current.is_zero() {
        return Err(AlreadySet { current }.into());
    }
    slot.set(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Amounts never read as negative (issue 17: the calculator read a balance of 2^127
    /// or more as a negative amount with `as i128`).
    #[test]
    fn amounts_saturate_instead_of_turning_negative() {
        let two127 = U256::from(1u8) << 127;
        assert_eq!(amount_i128(two127), i128::MAX);
        assert_eq!(amount_i128(two127 - U256::from(1u8)), i128::MAX);
        assert_eq!(amount_i128(U256::MAX), i128::MAX);
        assert_eq!(amount_i128(U256::from(u128::MAX)), i128::MAX);
        assert_eq!(amount_i128(U256::from(12_345u64)), 12_345);
        assert_eq!(amount_i128(U256::ZERO), 0);
    }

    fn revert<E: alloy_sol_types::SolError>(e: E) -> Vec<u8> {
        e.abi_encode()
    }

    // The shared errors through the macro every contract uses: its generated test checks
    // each one's words against alloy's encoding.
    crate::errors! {
        /// Every shared error.
        enum Shared {
            ZeroAddress,
            AlreadySet,
            StaleOracle,
            BadOracle,
            MissingSurface,
            StaleSurface,
            UnknownUnderlying,
            Unauthorized,
            CallerNotEngineOrKeeper,
            ParameterOutOfBounds,
            MathFailure,
        }
    }

    /// Every core failure's revert data, built from its words, is what alloy encodes for
    /// the error it names (random payloads).
    #[test]
    fn math_errors_are_what_alloy_encodes() {
        use stylus_margin::fixed::Domain;
        let mut r = margin_books::Rng(29);
        let mut next = || r.next_u64();
        for _ in 0..256 {
            let (u, e) = (next() as u32, next());
            let cases = [
                (
                    MarginError::Math(MathError::Overflow),
                    revert(MathFailure { code: 1 }),
                ),
                (
                    MarginError::Math(MathError::DivisionByZero),
                    revert(MathFailure { code: 2 }),
                ),
                (
                    MarginError::Math(MathError::OutOfDomain(Domain::Moneyness)),
                    revert(MathFailure { code: 3 }),
                ),
                (MarginError::BadGrid, revert(MathFailure { code: 4 })),
                (
                    MarginError::MissingMarket(u),
                    revert(UnknownUnderlying { underlying: u }),
                ),
                (
                    MarginError::MissingSurface(u, e),
                    revert(MissingSurface {
                        underlying: u,
                        expiry: e,
                    }),
                ),
            ];
            for (error, alloys) in cases {
                assert_eq!(Vec::from(math_err::<Shared>(error)), alloys, "{error:?}");
            }
        }
        assert_eq!(
            Vec::from(Shared::from(malformed())),
            revert(MathFailure { code: 4 })
        );
    }

    /// The limb conversions agree with alloy's checked ones on edges and random words.
    #[test]
    fn i128_conversions_agree_with_alloys() {
        let reference = |v: I256| {
            i128::try_from(v).unwrap_or(if v.is_negative() {
                i128::MIN
            } else {
                i128::MAX
            })
        };
        let mut r = margin_books::Rng(7);
        let mut next = || r.next_u64();
        let mut cases: Vec<I256> = [0i128, 1, -1, i128::MAX, i128::MIN, i128::MIN + 1]
            .iter()
            .map(|&v| I256::try_from(v).unwrap())
            .collect();
        cases.extend([I256::MAX, I256::MIN, I256::MINUS_ONE]);
        let one = I256::try_from(1).unwrap();
        cases.push(I256::try_from(i128::MAX).unwrap() + one);
        cases.push(I256::try_from(i128::MIN).unwrap() - one);
        for _ in 0..10_000 {
            let ext = if next() % 2 == 0 { 0 } else { u64::MAX };
            let top = match next() % 3 {
                0 => [ext, ext],
                1 => [next(), ext],
                _ => [next(), next()],
            };
            cases.push(I256::from_raw(U256::from_limbs([
                next(),
                next(),
                top[0],
                top[1],
            ])));
        }
        for v in cases {
            let got = i128_of(v);
            assert_eq!(got, reference(v), "{v}");
            assert_eq!(i256(got), I256::try_from(got).unwrap(), "{got}");
        }
    }
}
