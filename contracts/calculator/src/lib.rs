//! # RiskCalculator
//!
//! The pure core (`stylus_margin::margin`) as a contract: no storage, no calls. One
//! function, `evaluate`, takes accounts and their market data as words (the layout of
//! `margin_common::wire::Request`) and answers equity, MM, IM, mark-to-market and
//! portfolio Greeks per account. The RiskReader gathers the inputs and calls it; the same
//! function runs off chain on the same words, so every on-chain number is reproducible.
//!
//! It is its own contract because the Black-Scholes, SVI and scenario code alone is most
//! of a contract's 24 KiB: keeping it apart leaves the contracts with state room to grow.
//!
//! Call graph: the RiskReader calls it; it calls nothing.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{I256, U256};
use margin_common::{
    amount_i128, fixed_err, i128_of, malformed, math_err,
    wire::{self, params_from_words, Check, Evaluation, ExpiryData, Failure, Header, RequestWords},
    MathFailure, MissingSurface, UnknownUnderlying,
};
use stylus_margin::{
    collateral::AssetConfig,
    fixed::{self, MathError, Rounding, WAD},
    instrument,
    margin::{self, Collateral, Loss, Market, Method, Position, Standing, YEAR},
    svi::SviParams,
};
use stylus_sdk::prelude::*;

margin_common::errors! {
    /// Errors of the RiskCalculator.
    pub enum Error {
        MissingSurface,
        UnknownUnderlying,
        MathFailure,
    }
}

#[storage]
#[entrypoint]
pub struct RiskCalculator {}

/// Market data as the core takes it, and the failed readings found on the way.
pub struct Markets {
    pub markets: Vec<Market>,
    /// Failures by (underlying, expiry) (`expiry == 0`: the feed), in key order.
    pub failures: Vec<(u32, u64, Failure)>,
}

impl Markets {
    /// The first failed reading whose (underlying, expiry) is one of `wanted`.
    pub fn failure(&self, wanted: impl Fn(u32, u64) -> bool) -> Option<Failure> {
        self.failures
            .iter()
            .find(|(u, e, _)| wanted(*u, *e))
            .map(|(.., f)| *f)
    }
}

/// Flat SVI parameters of total variance `vol^2 x T`, for a held live expiry that has no
/// surface: it values the option at the reference vol, and the failure it carries blocks
/// every action that adds risk.
fn flat_surface(vol: i128, expiry: u64, now: u64) -> Result<SviParams, MathError> {
    let years = fixed::idiv(i128::from(expiry.saturating_sub(now)) * WAD, YEAR);
    let a = fixed::mul(fixed::mul(vol, vol, Rounding::Up)?, years, Rounding::Up)?;
    Ok(SviParams {
        a,
        b: 0,
        rho: 0,
        m: 0,
        sigma: WAD / 10,
    })
}

/// Builds the core's markets from a `marketData` answer (pure: `now` is an argument).
pub fn decode_markets(keys: &[U256], words: &[U256], now: u64) -> Result<Markets, Error> {
    let bad = malformed;
    let mut at = 0;
    let mut markets: Vec<Market> = Vec::new();
    // Surface max age per market, index-aligned with `markets`.
    let mut max_ages: Vec<u64> = Vec::new();
    let mut failures = Vec::new();
    for &k in keys {
        let (underlying, expiry) = wire::split_key(k);
        if expiry == 0 {
            let w = words.get(at..at + wire::HEADER_WORDS).ok_or_else(bad)?;
            at += wire::HEADER_WORDS;
            let h = Header::decode(w);
            if let Some(f) = h.status {
                failures.push((underlying, 0, f));
            }
            max_ages.push(u64::from(h.config.surface_max_age));
            markets.push(Market {
                id: underlying,
                spot: h.spot,
                stable: if h.stable == 0 { h.spot } else { h.stable },
                rate: i128::from(h.risk.rate),
                forecast_vol: margin::forecast_vol(h.vol.variance as i128).map_err(fixed_err)?,
                ref_vol: i128::from(h.risk.ref_vol),
                method: if h.config.method == 1 {
                    Method::Full
                } else {
                    Method::Greeks
                },
                surfaces: Vec::new(),
                settlements: Vec::new(),
            });
            continue;
        }
        let w = words.get(at..at + wire::EXPIRY_WORDS).ok_or_else(bad)?;
        at += wire::EXPIRY_WORDS;
        let e = ExpiryData::decode(w);
        // Keys list an underlying before its expiries (`wire::sort_keys`).
        let i = markets
            .iter()
            .rposition(|m| m.id == underlying)
            .ok_or_else(bad)?;
        let m = &mut markets[i];
        if expiry <= now {
            if e.settlement > 0 {
                m.settlements.push((expiry, e.settlement));
            }
            continue;
        }
        match e.surface {
            Some((p, posted)) => {
                m.surfaces.push((expiry, p));
                let age = now.saturating_sub(posted);
                if age > max_ages[i] {
                    failures.push((
                        underlying,
                        expiry,
                        Failure::StaleSurface {
                            underlying,
                            expiry,
                            age,
                        },
                    ));
                }
            }
            None => {
                let p = flat_surface(m.ref_vol, expiry, now).map_err(fixed_err)?;
                m.surfaces.push((expiry, p));
                failures.push((
                    underlying,
                    expiry,
                    Failure::MissingSurface { underlying, expiry },
                ));
            }
        }
    }
    Ok(Markets { markets, failures })
}

/// Whether an account holding `positions` and `collateral` depends on the reading of
/// `(underlying, expiry)` (`expiry == 0`: the underlying's feed): the feed of an
/// underlying it holds positions on or posts (non-quote) collateral of, and the surface of
/// an expiry where it holds an option (the expiry of futures alone is read for its
/// settlement price only, so a missing or stale surface there blocks nothing).
pub fn depends_on(positions: &[Position], collateral: &[Collateral], u: u32, e: u64) -> bool {
    if e == 0 {
        positions.iter().any(|p| p.terms.underlying == u)
            || collateral
                .iter()
                .any(|c| c.amount > 0 && !c.config.is_quote && c.config.underlying == u)
    } else {
        positions.iter().any(|p| {
            p.terms.underlying == u
                && p.terms.kind != instrument::Kind::Future
                && p.terms.expiry == e
        })
    }
}

/// Evaluates a request (pure: everything, `now` included, is in the words).
/// # Errors
/// `MathFailure(4)` for malformed words or ids; `UnknownUnderlying` when a needed market
/// is missing; other core failures as `MathFailure`.
pub fn evaluate_words(words: &[U256]) -> Result<Vec<U256>, Error> {
    let bad = malformed;
    let req = RequestWords::decode(words).ok_or_else(bad)?;
    let grid_len = usize::try_from(req.grid_len).map_err(|_| bad())?;
    let grid = margin::DEFAULT_GRID.get(..grid_len).ok_or_else(bad)?;
    let m = decode_markets(req.keys, req.market, req.now)?;
    let params = params_from_words(req.params);
    let mut out = Vec::new();
    for a in &req.accounts {
        let mut collateral: Vec<Collateral> = a
            .collateral
            .chunks_exact(2)
            .map(|w| Collateral {
                amount: amount_i128(w[0]),
                config: AssetConfig::unpack(w[1].to_be_bytes()),
            })
            .collect();
        let mut positions = Vec::with_capacity(a.positions.len() / 3);
        for w in a.positions.chunks_exact(3) {
            positions.push(Position {
                terms: instrument::unpack(w[0].to_be_bytes()).map_err(|_| bad())?,
                size: i128_of(I256::from_raw(w[1])),
                entry: i128_of(I256::from_raw(w[2])),
            });
        }
        let cash = i128_of(I256::from_raw(a.cash));
        let holds = |u: u32| positions.iter().any(|p| p.terms.underlying == u);
        let mut failure = m.failure(|u, e| depends_on(&positions, &collateral, u, e));
        // Issue 16, finding 2: a failed reading of an underlying held only as collateral
        // must not shield an account (anyone can deposit dust of an asset whose feed is
        // stale into any account). When such a reading failed, the account is evaluated
        // again with that collateral at its last price and its largest haircut; if it is
        // under MM so, and no other reading failed, that evaluation stands, without the
        // failure (liquidatable). Otherwise the first evaluation and the failure stand (new
        // risk and liquidation blocked): a stale feed alone never makes an account that
        // holds enough of the asset liquidatable, and the standing an action is judged by
        // does not change with the positions it closes.
        let risk = |collateral: &[Collateral], loss: Loss| {
            margin::account_risk_with(
                cash, collateral, &positions, &m.markets, grid, &params, req.now, loss,
            )
            .map_err(math_err::<Error>)
        };
        // The bound first, when asked: an account it passes passes exactly (its MM and IM
        // are at least the exact ones), and it costs about a third of the repricings; an
        // account with a failed reading, or that it fails, is checked exactly. (With no
        // failure, only an empty collateral entry can be shielding below; its cautious
        // evaluation has the same equity and replaces only a standing under MM, which a
        // standing that passed on the bound is not.)
        let loss = if req.bound && failure.is_none() {
            Loss::BoundOrExact
        } else {
            Loss::Exact
        };
        let mut r = risk(&collateral, loss)?;
        let shielding = |u: u32| m.failure(|fu, fe| fu == u && fe == 0).is_some() && !holds(u);
        let others = m.failure(|u, e| depends_on(&positions, &collateral, u, e) && !shielding(u));
        let mut cautious = false;
        for c in &mut collateral {
            if !c.config.is_quote && shielding(c.config.underlying) {
                c.config.haircut_floor_ppm = c.config.haircut_max_ppm;
                cautious = true;
            }
        }
        if cautious {
            let without = risk(&collateral, Loss::Exact)?;
            if without.equity < without.mm && others.is_none() {
                (r, failure) = (without, None);
            }
        }
        Evaluation {
            check: Check {
                failure,
                standing: Standing::from(&r),
                ..Check::default()
            },
            mtm: r.mtm,
            collateral_value: r.collateral_value,
            collateral_gross: r.collateral_gross,
            worst_scenario: r.worst_scenario,
            greeks: r.greeks,
        }
        .encode(&mut out);
    }
    Ok(out)
}

/// `evaluate(uint256[])`'s selector.
pub const EVALUATE_SELECTOR: [u8; 4] = stylus_sdk::function_selector!("evaluate", Vec<U256>);

/// `evaluate(uint256[] request)` from its calldata, decoded and answered by hand: the
/// deployed contract's one entry point (see the `#[public]` blocks below).
///
/// stylus-sdk 0.9's router decodes arguments with validation, which re-encodes the
/// decoded request and compares it byte for byte with the calldata: for the request of a
/// margin check (about 3 words per position) that cost 4,462 gas at 16 options and 19,072
/// at 128 (`scripts/bench-gas.sh`, before and after). Here the calldata must be the canonical encoding, checked directly: the
/// selector, an offset of 32, a length `n`, then exactly `n` words. Anything else reverts
/// as the router does on undecodable calldata or an unknown selector (empty revert data);
/// the answer is encoded as the router encodes a returned `uint256[]`.
///
/// # Errors
/// Empty revert data for calldata that is not a canonical `evaluate(uint256[])` call;
/// otherwise as [`evaluate_words`].
pub fn serve(input: &[u8]) -> Result<Vec<u8>, Error> {
    let request = decode_call(input).ok_or_else(Vec::new)?;
    Ok(encode_words(&evaluate_words(&request)?))
}

/// The request words of canonical `evaluate(uint256[])` calldata, or `None`.
fn decode_call(input: &[u8]) -> Option<Vec<U256>> {
    let (selector, args) = input.split_at_checked(4)?;
    if selector != EVALUATE_SELECTOR {
        return None;
    }
    let (head, body) = args.split_at_checked(64)?;
    // The offset word is 32; the length word fits 32 bits.
    let small = |w: &[u8], v: Option<u32>| {
        w[..28].iter().all(|b| *b == 0) && v.is_none_or(|v| w[28..] == v.to_be_bytes())
    };
    if !small(&head[..32], Some(32)) || !small(&head[32..], None) {
        return None;
    }
    let mut n = [0u8; 4];
    n.copy_from_slice(&head[60..]);
    let n = u32::from_be_bytes(n) as usize;
    if body.len() / 32 != n || body.len() % 32 != 0 {
        return None;
    }
    Some(body.chunks_exact(32).map(U256::from_be_slice).collect())
}

/// `words` ABI-encoded as one returned `uint256[]`: offset 32, length, the words.
fn encode_words(words: &[U256]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 32 * words.len());
    out.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(words.len()).to_be_bytes::<32>());
    for w in words {
        out.extend_from_slice(&w.to_be_bytes::<32>());
    }
    out
}

/// The deployed contract: `evaluate` is served by [`serve`] from the fallback, so that the
/// router's validating decoder never runs (every other selector reverts, as it would
/// without a fallback). Its ABI is the `export-abi` block below.
#[cfg(not(feature = "export-abi"))]
#[public]
impl RiskCalculator {
    #[fallback]
    fn route(&self, input: &[u8]) -> stylus_sdk::ArbResult {
        serve(input).map_err(Vec::from)
    }
}

/// The interface the deployed contract serves, for `export-abi` (and `abi/`): the same
/// function, [`evaluate_words`], behind the same selector.
#[cfg(feature = "export-abi")]
#[public]
impl RiskCalculator {
    /// Equity, MM, IM, mark-to-market and Greeks of the accounts in `request` (layout:
    /// `margin_common::wire::Request`; answer: one `Evaluation` per account).
    /// # Errors
    /// `MathFailure`, `UnknownUnderlying`.
    pub fn evaluate(&self, request: Vec<U256>) -> Result<Vec<U256>, Error> {
        evaluate_words(&request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use margin_common::{
        wire::{key, surface_words, AccountWords, Request},
        words::{UnderlyingConfig, UnderlyingRisk, VolState},
    };
    use stylus_margin::instrument::{pack, Kind, Terms};

    const NOW: u64 = 1_735_689_600;
    const DAY: u64 = 86_400;

    fn header(out: &mut Vec<U256>, status: Option<Failure>) {
        Header {
            status,
            spot: 2_000 * WAD,
            stable: 2_000 * WAD,
            config: UnderlyingConfig {
                feed: Default::default(),
                max_age: 3_600,
                surface_max_age: 600,
                decimals: 8,
                method: 0,
                listed: true,
            },
            risk: UnderlyingRisk {
                rate: 0,
                ref_vol: (WAD * 8 / 10) as u64,
                lambda: (WAD * 94 / 100) as u64,
                stable_rate: 0,
            },
            vol: VolState::default(),
        }
        .encode(out);
    }

    fn flat(vol: i128, days: u64) -> SviParams {
        flat_surface(vol, NOW + days * DAY, NOW).unwrap()
    }

    /// A short put 30 days out, its surface posted `age` seconds ago or missing.
    fn request(surface: Option<(SviParams, u64)>, status: Option<Failure>) -> Request {
        let expiry = NOW + 30 * DAY;
        let keys = alloc::vec![key(1, 0), key(1, expiry)];
        let mut market = Vec::new();
        header(&mut market, status);
        let words = match surface {
            Some((p, age)) => surface_words(&p, NOW - age),
            None => [U256::ZERO; 3],
        };
        ExpiryData::encode_raw(words, U256::ZERO, &mut market);
        let put = Terms {
            kind: Kind::Put,
            underlying: 1,
            expiry,
            strike: 2_000 * WAD as u128,
        };
        Request {
            now: NOW,
            grid_len: 26,
            bound: false,
            params: [U256::ZERO; 3],
            keys,
            market,
            accounts: alloc::vec![AccountWords {
                cash: U256::from(50_000 * WAD as u128),
                ids: alloc::vec![U256::from_be_bytes(pack(&put))],
                sizes: alloc::vec![margin_common::i256(-10 * WAD).into_raw()],
                entries: alloc::vec![U256::ZERO],
                ..AccountWords::default()
            }],
        }
    }

    fn eval(r: &Request) -> Evaluation {
        Evaluation::decode_all(&evaluate_words(&r.encode()).unwrap())
            .unwrap()
            .remove(0)
    }

    #[test]
    fn fresh_surface_has_no_failure() {
        let e = eval(&request(Some((flat(8 * WAD / 10, 30), 10)), None));
        assert_eq!(e.check.failure, None);
        assert!(e.check.standing.mm > 0 && e.check.standing.im > e.check.standing.mm);
    }

    #[test]
    fn stale_and_missing_surfaces_are_failures_not_reverts() {
        let fresh = eval(&request(Some((flat(8 * WAD / 10, 30), 10)), None));
        let stale = eval(&request(Some((flat(8 * WAD / 10, 30), 601)), None));
        assert_eq!(
            stale.check.failure,
            Some(Failure::StaleSurface {
                underlying: 1,
                expiry: NOW + 30 * DAY,
                age: 601
            })
        );
        assert_eq!(stale.check.standing, fresh.check.standing);
        // Missing: valued at the reference vol (80%, the same as this flat surface), so an
        // action that only reduces risk can still be checked; the failure blocks new risk.
        let missing = eval(&request(None, None));
        assert_eq!(
            missing.check.failure,
            Some(Failure::MissingSurface {
                underlying: 1,
                expiry: NOW + 30 * DAY
            })
        );
        assert_eq!(missing.check.standing, fresh.check.standing);
    }

    #[test]
    fn oracle_failure_is_carried_to_the_account_that_needs_it() {
        let f = Failure::StaleOracle {
            underlying: 1,
            age: 7_200,
        };
        let e = eval(&request(Some((flat(8 * WAD / 10, 30), 10)), Some(f)));
        assert_eq!(e.check.failure, Some(f));
        // An account without positions on that underlying does not inherit it.
        let mut r = request(Some((flat(8 * WAD / 10, 30), 10)), Some(f));
        r.accounts.push(AccountWords::default());
        let words = evaluate_words(&r.encode()).unwrap();
        let all = Evaluation::decode_all(&words).unwrap();
        assert_eq!(all[1].check.failure, None);
    }

    #[test]
    fn futures_need_no_surface_for_their_expiry() {
        // A future at an expiry that has no surface: the key is read (for the settlement
        // price after expiry) but its missing surface blocks nothing.
        let mut r = request(None, None);
        let future = Terms {
            kind: Kind::Future,
            underlying: 1,
            expiry: NOW + 30 * DAY,
            strike: 0,
        };
        r.accounts[0].ids = alloc::vec![U256::from_be_bytes(pack(&future))];
        r.accounts[0].sizes = alloc::vec![margin_common::i256(WAD).into_raw()];
        r.accounts[0].entries = alloc::vec![margin_common::i256(2_000 * WAD).into_raw()];
        let e = eval(&r);
        assert_eq!(e.check.failure, None);
        assert!(e.check.standing.mm > 0);
    }

    /// A request with `bound` set answers each account either with a standing that passes
    /// MM and IM and passes them exactly too (MM and IM at least the exact ones, the same
    /// equities), or exactly as without it; an account with a failed reading always
    /// exactly. Random books of up to 6 options (calls and puts, 3 expiries, 7 strikes,
    /// long and short) and futures on random cash, from deep in margin to far above it.
    #[test]
    fn bound_answers_pass_exactly_or_are_the_exact_answer() {
        let mut rng = margin_books::Rng(0xB0B0);
        let expiries = [NOW + DAY, NOW + 30 * DAY, NOW + 180 * DAY];
        let (mut by_bound, mut exact) = (0, 0);
        for i in 0..600 {
            let stale = i % 10 == 0;
            let status = stale.then_some(Failure::StaleOracle {
                underlying: 1,
                age: 7_200,
            });
            let mut r = request(Some((flat(8 * WAD / 10, 30), 10)), status);
            r.keys = alloc::vec![key(1, 0)];
            r.market.clear();
            header(&mut r.market, status);
            for e in expiries {
                r.keys.push(key(1, e));
                let words =
                    surface_words(&flat(6 * WAD / 10 + WAD / 100 * (e % 7) as i128, 30), NOW);
                ExpiryData::encode_raw(words, U256::ZERO, &mut r.market);
            }
            let a = &mut r.accounts[0];
            (a.ids, a.sizes, a.entries) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..1 + rng.below(6) {
                let kind = [Kind::Call, Kind::Put, Kind::Future][rng.below(3)];
                let strike = if kind == Kind::Future {
                    0
                } else {
                    (1_400 + 200 * rng.below(7) as u128) * WAD as u128
                };
                let t = Terms {
                    kind,
                    underlying: 1,
                    expiry: expiries[rng.below(3)],
                    strike,
                };
                a.ids.push(U256::from_be_bytes(pack(&t)));
                let size = (rng.range(-20.0, 20.0) * 1e18) as i128 | 1;
                a.sizes.push(margin_common::i256(size).into_raw());
                let entry = if kind == Kind::Future {
                    size * 2_000
                } else {
                    0
                };
                a.entries.push(margin_common::i256(entry).into_raw());
            }
            let cash = (rng.range(-5_000.0, 200_000.0) * 1e18) as i128;
            a.cash = margin_common::i256(cash).into_raw();
            let plain = eval(&r);
            r.bound = true;
            let quick = eval(&r);
            let (p, q) = (plain.check.standing, quick.check.standing);
            if quick == plain {
                exact += 1;
                continue;
            }
            assert!(!stale, "a failed reading is answered exactly");
            by_bound += 1;
            assert!(q.mm_surplus() >= 0 && q.im_surplus() >= 0, "{q:?}");
            assert!(p.mm_surplus() >= 0 && p.im_surplus() >= 0, "{p:?}");
            assert!(q.mm >= p.mm && q.im >= p.im, "{q:?} {p:?}");
            assert_eq!((q.equity, q.equity_im), (p.equity, p.equity_im));
            assert_eq!(quick.worst_scenario, u8::MAX);
        }
        // Both paths are exercised.
        assert!(by_bound > 100 && exact > 100, "{by_bound} {exact}");
    }

    /// The request of `request`, plus an asset on underlying 2 (its feed stale) that the
    /// account holds as collateral only, `units` of it, and `cash` of quote.
    fn with_stale_collateral(units: i128, cash: i128) -> Request {
        let mut r = request(Some((flat(8 * WAD / 10, 30), 10)), None);
        r.keys.push(key(2, 0));
        let stale = Failure::StaleOracle {
            underlying: 2,
            age: 90_000,
        };
        header(&mut r.market, Some(stale));
        let wbtc = AssetConfig {
            underlying: 2,
            enabled: true,
            haircut_floor_ppm: 100_000,
            haircut_max_ppm: 500_000,
            ..AssetConfig::default()
        };
        let a = &mut r.accounts[0];
        a.amounts = alloc::vec![U256::from(units as u128)];
        a.configs = alloc::vec![U256::from_be_bytes(wbtc.pack())];
        a.cash = margin_common::i256(cash).into_raw();
        r
    }

    /// On random books (options, futures, expired and live expiries, collateral of every
    /// kind, zero balances), the readings an account depends on are the keys the reader
    /// gathers for it (`wire::needed_keys`) less the expiries it holds only futures of.
    #[test]
    fn an_account_depends_on_the_readings_it_holds() {
        let mut rng = margin_books::Rng(17);
        let expiries = [NOW - DAY, NOW + DAY, NOW + 30 * DAY];
        for _ in 0..2_000 {
            let positions: Vec<Position> = (0..rng.below(5))
                .map(|_| Position {
                    terms: Terms {
                        kind: rng.pick(&[Kind::Call, Kind::Put, Kind::Future]),
                        underlying: 1 + rng.below(3) as u32,
                        expiry: rng.pick(&expiries),
                        strike: 2_000 * WAD as u128,
                    },
                    size: WAD,
                    entry: 0,
                })
                .map(|mut p| {
                    if p.terms.kind == Kind::Future {
                        p.terms.strike = 0;
                    }
                    p
                })
                .collect();
            let collateral: Vec<Collateral> = (0..rng.below(4))
                .map(|_| {
                    let is_quote = rng.chance(0.3);
                    Collateral {
                        amount: rng.pick(&[0, 1, WAD]),
                        config: AssetConfig {
                            underlying: if is_quote { 0 } else { 1 + rng.below(3) as u32 },
                            is_quote,
                            enabled: true,
                            ..AssetConfig::default()
                        },
                    }
                })
                .collect();
            let ids: Vec<U256> = positions
                .iter()
                .map(|p| U256::from_be_bytes(pack(&p.terms)))
                .collect();
            let amounts: Vec<U256> = collateral
                .iter()
                .map(|c| U256::from(c.amount as u128))
                .collect();
            let configs: Vec<U256> = collateral
                .iter()
                .map(|c| U256::from_be_bytes(c.config.pack()))
                .collect();
            let mut keys = Vec::new();
            wire::needed_keys(&ids, &amounts, &configs, &mut keys);
            keys.retain(|k| {
                let (u, e) = wire::split_key(*k);
                e == 0
                    || positions.iter().any(|p| {
                        p.terms.underlying == u
                            && p.terms.kind != Kind::Future
                            && p.terms.expiry == e
                    })
            });
            for u in 0..5u32 {
                for e in [0].into_iter().chain(expiries) {
                    assert_eq!(
                        depends_on(&positions, &collateral, u, e),
                        keys.contains(&key(u, e)),
                        "({u}, {e}) {positions:?} {collateral:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_stale_collateral_feed_does_not_shield_an_account_under_mm_without_it() {
        // Short 10 puts at 2,000 with 500 of cash: under MM. A stranger deposits one
        // satoshi-sized unit of an asset whose feed is stale into the account: before the
        // fix the failed reading blocked its liquidation.
        let e = eval(&with_stale_collateral(10_000_000_000, 500 * WAD));
        assert_eq!(e.check.failure, None);
        assert!(e.check.standing.equity < e.check.standing.mm);
        // An account healthy thanks to that collateral, even at its largest haircut (50%),
        // keeps the failure: a stale reading never makes it liquidatable on its own, nor
        // lets it add risk.
        let e = eval(&with_stale_collateral(100 * WAD, 500 * WAD));
        assert_eq!(
            e.check.failure,
            Some(Failure::StaleOracle {
                underlying: 2,
                age: 90_000
            })
        );
        // An account healthy without it keeps the failure too (new risk stays blocked).
        let e = eval(&with_stale_collateral(10_000_000_000, 100_000 * WAD));
        assert!(e.check.failure.is_some());
    }

    #[test]
    fn malformed_requests_revert_with_math_failure_4() {
        let mut w = request(None, None).encode();
        w.pop();
        assert!(matches!(
            evaluate_words(&w),
            Err(Error::MathFailure(MathFailure { code: 4 }))
        ));
        let mut r = request(None, None);
        r.grid_len = 99;
        assert!(matches!(
            evaluate_words(&r.encode()),
            Err(Error::MathFailure(MathFailure { code: 4 }))
        ));
    }

    alloy_sol_types::sol! {
        function evaluate(uint256[] request) external view returns (uint256[]);
    }

    /// The hand-decoded entry answers exactly what the router would: for the calldata
    /// alloy encodes for `evaluate(uint256[])`, the answer alloy encodes for its return.
    #[test]
    fn serve_answers_canonical_calldata_as_the_router_would() {
        use alloy_sol_types::SolCall;
        assert_eq!(EVALUATE_SELECTOR, evaluateCall::SELECTOR);
        let words = request(Some((flat(8 * WAD / 10, 30), 10)), None).encode();
        let calldata = evaluateCall {
            request: words.clone(),
        }
        .abi_encode();
        let want = evaluateCall::abi_encode_returns(&(evaluate_words(&words).unwrap(),));
        assert_eq!(serve(&calldata).unwrap(), want);
        // An empty request is canonical too (and malformed for the core).
        let empty = evaluateCall {
            request: Vec::new(),
        }
        .abi_encode();
        assert!(matches!(
            serve(&empty),
            Err(Error::MathFailure(MathFailure { code: 4 }))
        ));
    }

    /// Anything but canonical `evaluate(uint256[])` calldata reverts with empty data, as
    /// the router does for undecodable arguments or an unknown selector.
    #[test]
    fn serve_refuses_non_canonical_calldata() {
        use alloy_sol_types::SolCall;
        let words = request(Some((flat(8 * WAD / 10, 30), 10)), None).encode();
        let good = evaluateCall { request: words }.abi_encode();
        let mut bad: Vec<Vec<u8>> = Vec::new();
        bad.push(Vec::new());
        bad.push(good[..3].to_vec());
        bad.push(good[..4 + 63].to_vec());
        let mut v = good.clone();
        v[0] ^= 1; // another selector
        bad.push(v);
        let mut v = good.clone();
        v[4 + 31] = 64; // offset 64
        bad.push(v);
        let mut v = good.clone();
        v[4] = 1; // offset with a high byte
        bad.push(v);
        let mut v = good.clone();
        v[4 + 63] += 1; // one word longer than sent
        bad.push(v);
        let mut v = good.clone();
        v[4 + 63] -= 1; // one word shorter: a trailing word
        bad.push(v);
        let mut v = good.clone();
        v[4 + 32] = 1; // a length beyond 32 bits
        bad.push(v);
        let mut v = good.clone();
        v.push(0); // a trailing byte
        bad.push(v);
        bad.push(good[..good.len() - 1].to_vec());
        for (i, c) in bad.iter().enumerate() {
            assert_eq!(serve(c).map_err(Vec::from), Err(Vec::new()), "case {i}");
        }
        assert!(serve(&good).is_ok());
    }
}
