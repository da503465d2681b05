//! # RiskOracle
//!
//! The home of market data: per underlying a Chainlink-style feed
//! with its maximum age, a stable reference price (Mango v4) and an EWMA volatility
//! forecast updated by `poke`, a bounded risk-free rate; per (underlying, expiry) an SVI
//! surface posted by a feeder, and its settlement price once recorded from the feed's
//! first round at or after expiry. Owner-set within hard bounds.
//!
//! It answers `marketData` for the RiskReader (and the RiskLens's quotes) in one call, reading only the feeds and
//! surfaces asked for. A stale or failed feed does not revert there: the answer carries
//! the failure and the last usable price, so that an action that only reduces risk still
//! goes through while one that adds risk fails (the calculator and the engine decide).
//!
//! Call graph: the RiskReader and the RiskLens call `marketData`, the RiskEngine
//! `settlementPrice`; this contract calls only the feeds.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{
    aliases::{U32, U80},
    Address, I256, U256,
};
use alloy_sol_types::sol;
use margin_common::{
    bad_oracle,
    encode::emit,
    fixed_err, i128_of, i256, malformed,
    wire::{self, key, Failure, Header},
    words::{
        halves, join, surface_from_slots, surface_slots, UnderlyingConfig, UnderlyingRisk, VolState,
    },
    BadOracle, MathFailure, Owned, ParameterOutOfBounds, StaleOracle, Unauthorized,
    UnknownUnderlying, ZeroAddress,
};
use stylus_margin::{
    fixed::WAD,
    margin,
    oracle::{self, OracleError, Round},
    svi::{self, SviParams},
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageBool, StorageMap, StorageU256},
};

mod events {
    use super::*;
    sol! {
        /// The surface key or expiry is invalid (expiry not in the future, or SVI
        /// parameters failing the core's checks).
        #[derive(Debug)]
        error InvalidSurface(uint32 underlying, uint64 expiry);
        /// The expiry has not passed yet.
        #[derive(Debug)]
        error NotExpired(uint64 expiry, uint64 timestamp);
        /// The named round is not the first at or after expiry (its timestamp must be at or
        /// after expiry and the previous round's before), or its answer is not positive.
        #[derive(Debug)]
        error SettlementRoundInvalid(uint80 roundId, uint64 updatedAt, uint64 previousUpdatedAt);
        /// The settlement price of (underlying, expiry) is already recorded.
        #[derive(Debug)]
        error SettlementAlreadyRecorded(uint32 underlying, uint64 expiry, int256 price);

        /// An underlying was configured.
        event UnderlyingSet(uint32 indexed underlying, address feed, uint32 maxAge, uint32 surfaceMaxAge, uint8 method, int64 rate, uint64 refVol, uint64 lambda, uint64 stableRate);
        /// A volatility surface was posted.
        event SurfacePosted(uint32 indexed underlying, uint64 indexed expiry, int256 a, int256 b, int256 rho, int256 m, int256 sigma);
        /// Stable price and EWMA volatility updated from the oracle.
        event Poked(uint32 indexed underlying, int256 price, int256 stablePrice, int256 forecastVol);
        /// The settlement price of (underlying, expiry) was recorded from a feed round.
        event SettlementRecorded(uint32 indexed underlying, uint64 indexed expiry, int256 price, uint80 roundId);
        /// A feeder was authorised or removed.
        event FeederSet(address indexed feeder, bool allowed);
    }
}
pub use events::*;

// Each event's words (indexed fields; data fields) for the shared encoder
// (`margin_common::encode`), tested against alloy's in `event_tests`.
margin_common::event_words! {
    UnderlyingSet { underlying; feed, maxAge, surfaceMaxAge, method, rate, refVol, lambda, stableRate }
    SurfacePosted { underlying, expiry; a, b, rho, m, sigma }
    Poked { underlying; price, stablePrice, forecastVol }
    SettlementRecorded { underlying, expiry; price, roundId }
    FeederSet { feeder; allowed }
}

/// The oracle's ABI types.
pub mod types {
    use alloy_sol_types::sol;

    sol! {
        /// An underlying's oracle configuration (`setUnderlying`): feed (a Chainlink-style
        /// aggregator), maxAge and surfaceMaxAge (seconds, 1 s .. 7 days), method (0: the
        /// retired Taylor path, or 1; the core values both by full revaluation), rate (WAD
        /// in [-0.1, 1.0]), refVol (WAD in (0, 10]), lambda (WAD in [0.5, 1): the weight the
        /// EWMA variance keeps per hour of feed time), stableRate (WAD per second, at most
        /// 0.001).
        #[derive(Debug, PartialEq, Eq)]
        struct UnderlyingParams {
            address feed;
            uint32 maxAge;
            uint32 surfaceMaxAge;
            uint8 method;
            int64 rate;
            uint64 refVol;
            uint64 lambda;
            uint64 stableRate;
        }
    }

    margin_common::abi_struct!(
        UnderlyingParams,
        "(address,uint32,uint32,uint8,int64,uint64,uint64,uint64)"
    );
}

margin_common::errors! {
    /// Errors of the RiskOracle.
    pub enum Error {
        InvalidSurface,
        NotExpired,
        SettlementRoundInvalid,
        SettlementAlreadyRecorded,
        StaleOracle,
        BadOracle,
        UnknownUnderlying,
        ParameterOutOfBounds,
        Unauthorized,
        ZeroAddress,
        MathFailure,
    }
}

// Each own error's fields in declaration order (`margin_common::encode`).
margin_common::error_words! {
    InvalidSurface { underlying, expiry }
    NotExpired { expiry, timestamp }
    SettlementRoundInvalid { roundId, updatedAt, previousUpdatedAt }
    SettlementAlreadyRecorded { underlying, expiry, price }
}

sol_interface! {
    interface IAggregatorV3 {
        function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80);
        function getRoundData(uint80 round_id) external view returns (uint80, int256, uint256, uint256, uint80);
        function decimals() external view returns (uint8);
    }
}

/// Largest rate magnitude (WAD): -10% .. 100%.
const RATE_MIN: i128 = -WAD / 10;
const RATE_MAX: i128 = WAD;
/// The most feed rounds one `poke` folds into the EWMA (each costs a feed call); a feed
/// further ahead is caught up by the next pokes.
pub const EWMA_ROUNDS_PER_POKE: u32 = 16;

#[storage]
pub struct Underlying {
    config: StorageU256,
    prices: StorageU256,
    vol: StorageU256,
    risk: StorageU256,
}

/// Storage of one (underlying, expiry): the surface in two slots (`words::surface_slots`)
/// and the settlement price.
#[storage]
pub struct Surface {
    svi0: StorageU256,
    svi1: StorageU256,
    settlement: StorageU256,
}

#[storage]
#[entrypoint]
pub struct RiskOracle {
    /// The owner role and its public functions (inherited).
    #[borrow]
    pub owner: Owned,
    feeders: StorageMap<Address, StorageBool>,
    underlyings: StorageMap<U32, Underlying>,
    surfaces: StorageMap<U256, Surface>,
}

/// A feed round as the core takes it.
fn round_of(r: (U80, I256, U256, U256, U80)) -> Round {
    Round {
        round_id: r.0.to::<u128>(),
        answer: i128_of(r.1),
        updated_at: u64::try_from(r.3).unwrap_or(u64::MAX),
        answered_in_round: r.4.to::<u128>(),
    }
}

impl RiskOracle {
    fn now(&self) -> u64 {
        self.vm().block_timestamp()
    }

    fn config(&self, underlying: u32) -> Result<UnderlyingConfig, Error> {
        let cfg =
            UnderlyingConfig::unpack(self.underlyings.getter(U32::from(underlying)).config.get());
        if !cfg.listed {
            return Err(UnknownUnderlying { underlying }.into());
        }
        Ok(cfg)
    }

    /// Reads and checks an underlying's feed. Returns the price to use and the failure,
    /// if any: a stale answer is still used (flagged); a refused one falls back to the
    /// last good price (flagged).
    /// # Errors
    /// `BadOracle(underlying, 5)` when there is no usable price at all.
    /// `prices` is the underlying's `prices` slot (read once by the caller). Also returns
    /// the latest round (0 when the feed call failed).
    fn read_price(
        &self,
        id: u32,
        cfg: &UnderlyingConfig,
        now: u64,
        prices: U256,
    ) -> Result<(i128, Option<Failure>, Round), Error> {
        let reading = IAggregatorV3::new(cfg.feed).latest_round_data(self);
        let (last_stable, last_price) = halves(prices);
        let fallback = if last_price > 0 {
            last_price
        } else {
            last_stable
        } as i128;
        let bad = |reason| Failure::BadOracle {
            underlying: id,
            reason,
        };
        let mut round = Round::default();
        let (price, failure) = match reading {
            Err(_) => (fallback, Some(bad(bad_oracle::UNREADABLE))),
            Ok(r) => {
                round = round_of(r);
                match oracle::check_latest(&round, cfg.decimals, now, u64::from(cfg.max_age)) {
                    Ok(p) => (p, None),
                    Err(OracleError::Stale(age)) => (
                        oracle::normalise(round.answer, cfg.decimals).unwrap_or(fallback),
                        Some(Failure::StaleOracle {
                            underlying: id,
                            age,
                        }),
                    ),
                    Err(OracleError::NonPositive) => {
                        (fallback, Some(bad(bad_oracle::NON_POSITIVE)))
                    }
                    Err(OracleError::IncompleteRound) => {
                        (fallback, Some(bad(bad_oracle::INCOMPLETE_ROUND)))
                    }
                    Err(OracleError::FromTheFuture) => {
                        (fallback, Some(bad(bad_oracle::FROM_THE_FUTURE)))
                    }
                    Err(OracleError::BadScale) => (fallback, Some(bad(bad_oracle::BAD_SCALE))),
                }
            }
        };
        if price <= 0 {
            return Err(BadOracle {
                underlying: id,
                reason: bad_oracle::UNREADABLE,
            }
            .into());
        }
        Ok((price, failure, round))
    }

    /// Folds the feed's rounds after `vol.round` into the EWMA, in round order, at most
    /// [`EWMA_ROUNDS_PER_POKE`] of them, up to `latest`. Returns the price of the last
    /// round folded. A round that is incomplete, not positive or older than the last one
    /// folded is passed over without a sample. A round id with no data (a Chainlink
    /// phase change) moves to the first round of the next phase.
    fn fold_rounds(
        &self,
        cfg: &UnderlyingConfig,
        vol: &mut VolState,
        mut price: i128,
        latest: u128,
        lambda: i128,
    ) -> i128 {
        let feed = IAggregatorV3::new(cfg.feed);
        let mut n = 0;
        while vol.round < latest && n < EWMA_ROUNDS_PER_POKE {
            n += 1;
            let mut next = vol.round + 1;
            let reading = match feed.get_round_data(self, U80::from(next)) {
                Ok(r) => r,
                Err(_) => {
                    next = (((vol.round >> 64) + 1) << 64) | 1;
                    if next > latest {
                        break;
                    }
                    match feed.get_round_data(self, U80::from(next)) {
                        Ok(r) => r,
                        Err(_) => break,
                    }
                }
            };
            let r = round_of(reading);
            vol.round = next;
            let p = oracle::normalise(r.answer, cfg.decimals).unwrap_or(0);
            if p <= 0 || r.updated_at == 0 || r.updated_at < vol.round_at {
                continue;
            }
            // A sample the arithmetic cannot take (a return past ~e^40) is left out rather
            // than reverting: a poke that always reverts would freeze the stable price.
            if let Ok(v) = margin::ewma_variance_update(
                vol.variance as i128,
                price,
                p,
                r.updated_at - vol.round_at,
                lambda,
            ) {
                vol.variance = v.max(0) as u128;
            }
            price = p;
            vol.round_at = r.updated_at;
        }
        price
    }
}

#[public]
#[inherit(Owned)]
impl RiskOracle {
    /// Sets the owner.
    /// # Errors
    /// `ZeroAddress` for a zero owner.
    /// # Events
    /// `OwnershipTransferred` (from zero).
    #[constructor]
    pub fn constructor(&mut self, owner: Address) -> Result<(), Error> {
        self.owner.init(owner)?;
        Ok(())
    }

    /// Authorises or removes a volatility feeder. Owner only.
    /// # Errors
    /// `Unauthorized` (not the owner).
    /// # Events
    /// `FeederSet`.
    pub fn set_feeder(&mut self, feeder: Address, allowed: bool) -> Result<(), Error> {
        self.owner.only(self.vm().msg_sender())?;
        self.feeders.setter(feeder).set(allowed);
        emit(self.vm(), FeederSet { feeder, allowed });
        Ok(())
    }

    /// Whether an address may post surfaces.
    pub fn is_feeder(&self, feeder: Address) -> bool {
        self.feeders.get(feeder)
    }

    /// Configures an underlying (`UnderlyingParams`, bounds there). Owner only. Reads the
    /// feed's decimals once here.
    /// # Errors
    /// `Unauthorized`, `ParameterOutOfBounds(which, value)` (the field's position in
    /// `UnderlyingParams`: 1 maxAge, 2 surfaceMaxAge, 3 method, 4 rate, 5 refVol, 6 lambda,
    /// 7 stableRate), `BadOracle` (feed unreadable).
    /// # Events
    /// `UnderlyingSet`.
    pub fn set_underlying(
        &mut self,
        underlying: u32,
        params: types::UnderlyingParams,
    ) -> Result<(), Error> {
        let types::UnderlyingParams {
            feed,
            maxAge: max_age,
            surfaceMaxAge: surface_max_age,
            method,
            rate,
            refVol: ref_vol,
            lambda,
            stableRate: stable_rate,
        } = params;
        self.owner.only(self.vm().msg_sender())?;
        let week = 7 * 86_400;
        let checks: [(u8, i128, i128, i128); 7] = [
            // `which`: the field's position in `UnderlyingParams` (0 is the feed).
            (1, i128::from(max_age), 1, week),
            (2, i128::from(surface_max_age), 1, week),
            (3, i128::from(method), 0, 1),
            (4, i128::from(rate), RATE_MIN, RATE_MAX),
            (5, i128::from(ref_vol), 1, 10 * WAD),
            (6, i128::from(lambda), WAD / 2, WAD - 1),
            (7, i128::from(stable_rate), 0, WAD / 1000),
        ];
        for (which, v, lo, hi) in checks {
            if v < lo || v > hi {
                return Err(ParameterOutOfBounds {
                    which,
                    value: i256(v),
                }
                .into());
            }
        }
        let decimals = IAggregatorV3::new(feed).decimals(&*self).map_err(|_| {
            Error::from(BadOracle {
                underlying,
                reason: bad_oracle::UNREADABLE,
            })
        })?;
        let cfg = UnderlyingConfig {
            feed,
            max_age,
            surface_max_age,
            decimals,
            method,
            listed: true,
        };
        let risk = UnderlyingRisk {
            rate,
            ref_vol,
            lambda,
            stable_rate,
        };
        let mut u = self.underlyings.setter(U32::from(underlying));
        u.config.set(cfg.pack());
        u.risk.set(risk.pack());
        emit(
            self.vm(),
            UnderlyingSet {
                underlying,
                feed,
                maxAge: max_age,
                surfaceMaxAge: surface_max_age,
                method,
                rate,
                refVol: ref_vol,
                lambda,
                stableRate: stable_rate,
            },
        );
        Ok(())
    }

    /// Posts SVI parameters (WAD) for (underlying, expiry). Feeder only. Checked by the
    /// core (no negative variance, bounded parameters); the expiry must be in the future.
    /// # Errors
    /// `Unauthorized`, `UnknownUnderlying`, `InvalidSurface`.
    /// # Events
    /// `SurfacePosted`.
    #[allow(clippy::too_many_arguments)]
    pub fn post_surface(
        &mut self,
        underlying: u32,
        expiry: u64,
        a: I256,
        b: I256,
        rho: I256,
        m: I256,
        sigma: I256,
    ) -> Result<(), Error> {
        let s = self.vm().msg_sender();
        if !self.feeders.get(s) {
            return Err(Unauthorized { caller: s }.into());
        }
        self.config(underlying)?;
        let p = SviParams {
            a: i128_of(a),
            b: i128_of(b),
            rho: i128_of(rho),
            m: i128_of(m),
            sigma: i128_of(sigma),
        };
        let now = self.now();
        if svi::validate(&p).is_err() || expiry <= now {
            return Err(InvalidSurface { underlying, expiry }.into());
        }
        let words = surface_slots(&wire::surface_words(&p, now));
        let mut slot = self.surfaces.setter(key(underlying, expiry));
        slot.svi0.set(words[0]);
        slot.svi1.set(words[1]);
        emit(
            self.vm(),
            SurfacePosted {
                underlying,
                expiry,
                a,
                b,
                rho,
                m,
                sigma,
            },
        );
        Ok(())
    }

    /// Moves the stable price toward the oracle (bounded rate per second, Mango v4) and
    /// folds the feed's new rounds into the EWMA volatility forecast: every round once, in
    /// round order, weighted by the feed time it covers, at most `EWMA_ROUNDS_PER_POKE`
    /// rounds per call (call again to catch up). The forecast is therefore a function of
    /// the feed's rounds and timestamps, not of who pokes when. Anyone may call.
    /// # Errors
    /// `UnknownUnderlying`, `StaleOracle`, `BadOracle`.
    /// # Events
    /// `Poked`.
    pub fn poke(&mut self, underlying: u32) -> Result<(), Error> {
        let now = self.now();
        let cfg = self.config(underlying)?;
        let u = self.underlyings.getter(U32::from(underlying));
        let prices = u.prices.get();
        let (price, failure, latest) = self.read_price(underlying, &cfg, now, prices)?;
        // A price reading fails only as StaleOracle or BadOracle (no surface is read).
        match failure {
            Some(Failure::StaleOracle { underlying, age }) => {
                return Err(StaleOracle { underlying, age }.into())
            }
            Some(Failure::BadOracle { underlying, reason }) => {
                return Err(BadOracle { underlying, reason }.into())
            }
            Some(_) => return Err(malformed().into()),
            None => {}
        }
        let (stable, last) = halves(prices);
        let risk = UnderlyingRisk::unpack(u.risk.get());
        let mut vol = VolState::unpack(u.vol.get());
        let dt = now.saturating_sub(vol.last_poke);
        let new_stable =
            margin::stable_price_update(stable as i128, price, dt, i128::from(risk.stable_rate))
                .map_err(fixed_err)?;
        let last_out = if vol.round == 0 || last == 0 {
            // The first poke: the latest round is where the EWMA starts.
            vol.round = latest.round_id;
            vol.round_at = latest.updated_at;
            price
        } else {
            self.fold_rounds(
                &cfg,
                &mut vol,
                last as i128,
                latest.round_id,
                i128::from(risk.lambda),
            )
        };
        vol.last_poke = now;
        let forecast = margin::forecast_vol(vol.variance as i128).map_err(fixed_err)?;
        let mut u = self.underlyings.setter(U32::from(underlying));
        u.prices.set(join(new_stable as u128, last_out as u128));
        u.vol.set(vol.pack());
        emit(
            self.vm(),
            Poked {
                underlying,
                price: i256(price),
                stablePrice: i256(new_stable),
                forecastVol: i256(forecast),
            },
        );
        Ok(())
    }

    /// Records the settlement price of (underlying, expiry) from the feed's round
    /// `roundId`: that round must be the first at or after expiry (its timestamp at or
    /// after expiry, round `roundId - 1` before it), so nobody can choose a convenient
    /// price. Anyone may call, once per (underlying, expiry). Returns the price (WAD).
    /// Round ids are consecutive within a Chainlink phase; a round that opens a new phase
    /// cannot be named (its predecessor is in the old phase): name the next one.
    /// # Errors
    /// `UnknownUnderlying`, `NotExpired`, `SettlementAlreadyRecorded`,
    /// `SettlementRoundInvalid`, `BadOracle` (the feed call failed).
    /// # Events
    /// `SettlementRecorded`.
    pub fn record_settlement(
        &mut self,
        underlying: u32,
        expiry: u64,
        round_id: U80,
    ) -> Result<I256, Error> {
        let cfg = self.config(underlying)?;
        let now = self.now();
        if expiry > now || expiry == 0 {
            return Err(NotExpired {
                expiry,
                timestamp: now,
            }
            .into());
        }
        let k = key(underlying, expiry);
        let recorded = self.surfaces.getter(k).settlement.get();
        if !recorded.is_zero() {
            return Err(SettlementAlreadyRecorded {
                underlying,
                expiry,
                price: I256::from_raw(recorded),
            }
            .into());
        }
        let feed = IAggregatorV3::new(cfg.feed);
        let failed = |_| {
            Error::from(BadOracle {
                underlying,
                reason: bad_oracle::UNREADABLE,
            })
        };
        let round = round_of(feed.get_round_data(&*self, round_id).map_err(failed)?);
        let previous = round_of(
            feed.get_round_data(&*self, round_id.saturating_sub(U80::from(1)))
                .map_err(failed)?,
        );
        let price = oracle::check_settlement_round(&round, &previous, cfg.decimals, expiry)
            .map_err(|(updated_at, previous_updated_at)| {
                Error::from(SettlementRoundInvalid {
                    roundId: round_id,
                    updatedAt: updated_at,
                    previousUpdatedAt: previous_updated_at,
                })
            })?;
        self.surfaces
            .setter(k)
            .settlement
            .set(U256::from(price as u128));
        emit(
            self.vm(),
            SettlementRecorded {
                underlying,
                expiry,
                price: i256(price),
                roundId: round_id,
            },
        );
        Ok(i256(price))
    }

    /// Market data for the keys asked (`underlying << 64 | expiry`; expiry 0 for the
    /// underlying itself), in the layout of `margin_common::wire`: 5 words per underlying (failure, stable|spot, config, risk, EWMA state) and 4 per
    /// expiry (surface words a|b, rho|m, sigma|postedAt, settlement price). A stale or
    /// refused feed is reported in the failure word, not reverted.
    /// # Errors
    /// `UnknownUnderlying`, `BadOracle(underlying, 5)` when no usable price exists.
    pub fn market_data(&self, keys: Vec<U256>) -> Result<Vec<U256>, Error> {
        let now = self.now();
        let mut out = Vec::with_capacity(keys.len() * wire::HEADER_WORDS);
        for k in keys {
            let (underlying, expiry) = wire::split_key(k);
            if expiry == 0 {
                let cfg = self.config(underlying)?;
                let u = self.underlyings.getter(U32::from(underlying));
                let prices = u.prices.get();
                let (spot, status, _) = self.read_price(underlying, &cfg, now, prices)?;
                let (stable, _) = halves(prices);
                Header {
                    status,
                    spot,
                    stable: stable as i128,
                    config: cfg,
                    risk: UnderlyingRisk::unpack(u.risk.get()),
                    vol: VolState::unpack(u.vol.get()),
                }
                .encode(&mut out);
            } else {
                let s = self.surfaces.getter(k);
                // A settlement price is recorded only once its expiry has passed: a live
                // expiry's slot is zero, and is not read.
                let settlement = if expiry <= now {
                    s.settlement.get()
                } else {
                    U256::ZERO
                };
                wire::ExpiryData::encode_raw(
                    surface_from_slots([s.svi0.get(), s.svi1.get()]),
                    settlement,
                    &mut out,
                );
            }
        }
        Ok(out)
    }

    /// The settlement price of (underlying, expiry) that `recordSettlement` recorded (WAD;
    /// 0 until recorded): what the engine settles expired positions at (one slot).
    pub fn settlement_price(&self, underlying: u32, expiry: u64) -> U256 {
        self.surfaces
            .getter(key(underlying, expiry))
            .settlement
            .get()
    }
}

#[cfg(test)]
mod abi_tests {
    use super::*;
    use alloy_sol_types::{sol_data, SolType, SolValue};
    use stylus_sdk::abi::AbiType;

    /// `setUnderlying` takes the struct under Solidity's selector (its tuple), and the
    /// struct is the words of the eight values it replaced, in field order.
    #[test]
    fn underlying_params_are_solidity_abi() {
        use margin_common::abi::tuple_type;
        assert_eq!(
            types::UnderlyingParams::ABI.as_str(),
            tuple_type::<types::UnderlyingParams>()
        );
        let sig = "setUnderlying(uint32,(address,uint32,uint32,uint8,int64,uint64,uint64,uint64))";
        assert_eq!(
            stylus_sdk::function_selector!("setUnderlying", u32, types::UnderlyingParams),
            stylus_sdk::keccak_const::Keccak256::new()
                .update(sig.as_bytes())
                .finalize()[..4]
        );
        let mut r = margin_books::Rng(43);
        for _ in 0..64 {
            let feed = Address::repeat_byte(r.next_u64() as u8);
            let (a, b, m) = (r.next_u64() as u32, r.next_u64() as u32, r.next_u64() as u8);
            let (rate, v, l, sr) = (
                r.next_u64() as i64,
                r.next_u64(),
                r.next_u64(),
                r.next_u64(),
            );
            let p = types::UnderlyingParams {
                feed,
                maxAge: a,
                surfaceMaxAge: b,
                method: m,
                rate,
                refVol: v,
                lambda: l,
                stableRate: sr,
            };
            type Fields = (
                sol_data::Address,
                sol_data::Uint<32>,
                sol_data::Uint<32>,
                sol_data::Uint<8>,
                sol_data::Int<64>,
                sol_data::Uint<64>,
                sol_data::Uint<64>,
                sol_data::Uint<64>,
            );
            assert_eq!(
                p.abi_encode(),
                Fields::abi_encode_params(&(feed, a, b, m, rate, v, l, sr))
            );
        }
    }
}
