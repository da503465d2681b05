//! The internal wire formats, as flat `uint256[]` (the cheapest ABI shape to encode and
//! decode, and one codec per format shared by both ends).
//!
//! ## `RiskOracle.marketData(uint256[] keys) returns (uint256[] words)`
//! Each key is `underlying << 64 | expiry` ([`key`]). `expiry == 0` asks for the
//! underlying itself; any other expiry for that expiry's surface and settlement price.
//! The answer, per key in order: [`HEADER_WORDS`] words for an underlying ([`Header`]), [`EXPIRY_WORDS`] for an
//! expiry ([`ExpiryData`]).
//!
//! ## `RiskCalculator.evaluate(uint256[] request) returns (uint256[] evaluations)`
//! The request ([`Request`]): `now | gridLen << 64 | bound << 128`, the [`PARAM_WORDS`] risk-parameter
//! words (all zero: the defaults), the number of market keys, the keys,
//! the oracle's `marketData` answer for them, the number of accounts, then per account:
//! cash, the collateral count and `(amount, config)` pairs, the position count and
//! `(id, size, entry)` triples, all as the vault and registry return them. The answer:
//! per account an [`Evaluation`]. Access flags (owner or operator, frozen) never travel
//! through the calculator: its answers carry none, and the reader writes the vault's into
//! each check ([`set_flags`]).
//!
//! ## `RiskReader.check(uint256[] accounts, address actor) returns (uint256[] words)`
//! [`CHECK_WORDS`] words per account, in order ([`Check`]). `checkAfter` answers in the
//! same words (a request with `bound` set).
use alloc::vec::Vec;

use alloy_primitives::{I256, U256};
use stylus_margin::{
    collateral::AssetConfig,
    margin::{Greeks, MarginParams, Standing},
    svi::SviParams,
};

use crate::{
    i128_of, i256,
    words::{halves, join, UnderlyingConfig, UnderlyingRisk, VolState},
    BadOracle, MissingSurface, StaleOracle, StaleSurface,
};

/// Words of risk parameters in a request.
pub const PARAM_WORDS: usize = 3;
/// Words per underlying key.
pub const HEADER_WORDS: usize = 5;
/// Words per expiry key.
pub const EXPIRY_WORDS: usize = 4;
/// Words per account in a `check` answer.
pub const CHECK_WORDS: usize = 6;

/// The key of an underlying (`expiry == 0`) or of one of its expiries.
pub fn key(underlying: u32, expiry: u64) -> U256 {
    U256::from((u128::from(underlying) << 64) | u128::from(expiry))
}

/// `(underlying, expiry)` of a key.
pub fn split_key(k: U256) -> (u32, u64) {
    let l = k.as_limbs();
    (l[1] as u32, l[0])
}

/// A stale or failed reading: it blocks actions that add risk, never makes an account
/// look healthier, and never triggers a liquidation on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The oracle's answer is older than the underlying's maximum age.
    StaleOracle { underlying: u32, age: u64 },
    /// The oracle's answer was refused (reason codes as the `BadOracle` error).
    BadOracle { underlying: u32, reason: u8 },
    /// A held expiry's surface is older than its maximum age.
    StaleSurface {
        underlying: u32,
        expiry: u64,
        age: u64,
    },
    /// A held live expiry has no surface; it is valued at the reference volatility.
    MissingSurface { underlying: u32, expiry: u64 },
}

impl Failure {
    /// One word: kind (1..4) | underlying << 8 in limb 0, the values in limbs 1 and 2.
    pub fn pack(f: Option<Failure>) -> U256 {
        let (kind, u, a, b) = match f {
            None => return U256::ZERO,
            Some(Failure::StaleOracle { underlying, age }) => (1, underlying, age, 0),
            Some(Failure::BadOracle { underlying, reason }) => {
                (2, underlying, u64::from(reason), 0)
            }
            Some(Failure::StaleSurface {
                underlying,
                expiry,
                age,
            }) => (3, underlying, expiry, age),
            Some(Failure::MissingSurface { underlying, expiry }) => (4, underlying, expiry, 0),
        };
        U256::from_limbs([kind | (u64::from(u) << 8), a, b, 0])
    }

    /// Inverse of [`Failure::pack`] (an unknown kind reads as none).
    pub fn unpack(w: U256) -> Option<Failure> {
        let l = w.as_limbs();
        let underlying = (l[0] >> 8) as u32;
        match l[0] & 0xff {
            1 => Some(Failure::StaleOracle {
                underlying,
                age: l[1],
            }),
            2 => Some(Failure::BadOracle {
                underlying,
                reason: l[1] as u8,
            }),
            3 => Some(Failure::StaleSurface {
                underlying,
                expiry: l[1],
                age: l[2],
            }),
            4 => Some(Failure::MissingSurface {
                underlying,
                expiry: l[1],
            }),
            _ => None,
        }
    }

    /// The error an action adding risk fails with, in the caller's error type.
    pub fn error<E>(self) -> E
    where
        E: From<StaleOracle> + From<BadOracle> + From<StaleSurface> + From<MissingSurface>,
    {
        match self {
            Failure::StaleOracle { underlying, age } => StaleOracle { underlying, age }.into(),
            Failure::BadOracle { underlying, reason } => BadOracle { underlying, reason }.into(),
            Failure::StaleSurface {
                underlying,
                expiry,
                age,
            } => StaleSurface {
                underlying,
                expiry,
                age,
            }
            .into(),
            Failure::MissingSurface { underlying, expiry } => {
                MissingSurface { underlying, expiry }.into()
            }
        }
    }
}

/// Risk parameters as three words of four u64 limbs each (all zero: the defaults).
pub fn params_from_words(w: [U256; 3]) -> MarginParams {
    if w.iter().all(|x| x.is_zero()) {
        return MarginParams::DEFAULT;
    }
    let mut l = [0u64; 12];
    for (i, word) in w.iter().enumerate() {
        l[i * 4..i * 4 + 4].copy_from_slice(word.as_limbs());
    }
    MarginParams::from_limbs(l)
}

/// 12 u64 values as three storage words.
pub fn params_words(l: &[u64; 12]) -> [U256; 3] {
    core::array::from_fn(|i| U256::from_limbs([l[i * 4], l[i * 4 + 1], l[i * 4 + 2], l[i * 4 + 3]]))
}

/// Market data of one underlying, as the oracle answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// A stale or failed oracle reading (the price is then the stale answer or the last
    /// good one).
    pub status: Option<Failure>,
    /// Oracle price (WAD).
    pub spot: i128,
    /// Stable reference price (WAD; 0 before the first poke).
    pub stable: i128,
    /// Configuration (feed, ages, method).
    pub config: UnderlyingConfig,
    /// Rate, reference vol, EWMA lambda, stable rate.
    pub risk: UnderlyingRisk,
    /// EWMA state.
    pub vol: VolState,
}

impl Header {
    /// Appends the header's words.
    pub fn encode(&self, out: &mut Vec<U256>) {
        out.push(Failure::pack(self.status));
        out.push(join(self.stable.max(0) as u128, self.spot.max(0) as u128));
        out.push(self.config.pack());
        out.push(self.risk.pack());
        out.push(self.vol.pack());
    }

    /// Reads a header from `HEADER_WORDS` words.
    pub fn decode(w: &[U256]) -> Header {
        let (stable, spot) = halves(w[1]);
        Header {
            status: Failure::unpack(w[0]),
            spot: spot as i128,
            stable: stable as i128,
            config: UnderlyingConfig::unpack(w[2]),
            risk: UnderlyingRisk::unpack(w[3]),
            vol: VolState::unpack(w[4]),
        }
    }
}

/// The surface and settlement price of one (underlying, expiry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiryData {
    /// SVI parameters and the time they were posted (`None`: never posted).
    pub surface: Option<(SviParams, u64)>,
    /// Recorded settlement price (WAD; 0: none yet).
    pub settlement: i128,
}

impl ExpiryData {
    /// Appends the expiry's words (the three surface storage words as stored, then the
    /// settlement price).
    pub fn encode_raw(surface: [U256; 3], settlement: U256, out: &mut Vec<U256>) {
        out.extend_from_slice(&surface);
        out.push(settlement);
    }

    /// Reads an expiry from `EXPIRY_WORDS` words.
    pub fn decode(w: &[U256]) -> ExpiryData {
        let (a, b) = halves(w[0]);
        let (rho, m) = halves(w[1]);
        let (sigma, posted) = halves(w[2]);
        ExpiryData {
            surface: (posted != 0).then_some((
                SviParams {
                    a: a as i128,
                    b: b as i128,
                    rho: rho as i128,
                    m: m as i128,
                    sigma: sigma as i128,
                },
                posted as u64,
            )),
            settlement: u128::try_from(w[3]).unwrap_or(0) as i128,
        }
    }
}

/// The three storage words of a surface: `a | b`, `rho | m`, `sigma | postedAt`.
pub fn surface_words(p: &SviParams, posted: u64) -> [U256; 3] {
    [
        join(p.a as u128, p.b as u128),
        join(p.rho as u128, p.m as u128),
        join(p.sigma as u128, u128::from(posted)),
    ]
}

/// One account's standing, as the reader answers `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Check {
    /// `actor` is the account's owner or an operator (the reader's, from the vault; the
    /// calculator writes `false`).
    pub authorized: bool,
    /// The account is frozen (under liquidation; the reader's, from the vault).
    pub frozen: bool,
    /// The first stale or failed reading among what the account needs.
    pub failure: Option<Failure>,
    /// Equities and requirements.
    pub standing: Standing,
}

impl Check {
    /// Appends the check's `CHECK_WORDS` words.
    pub fn encode(&self, out: &mut Vec<U256>) {
        out.push(U256::from(
            u8::from(self.authorized) | (u8::from(self.frozen) << 1),
        ));
        out.push(Failure::pack(self.failure));
        for v in [
            self.standing.equity,
            self.standing.equity_im,
            self.standing.mm,
            self.standing.im,
        ] {
            out.push(i256(v).into_raw());
        }
    }

    /// Reads a check from `CHECK_WORDS` words.
    pub fn decode(w: &[U256]) -> Check {
        let flags = w[0].as_limbs()[0];
        let int = |x: U256| i128_of(I256::from_raw(x));
        Check {
            authorized: flags & 1 != 0,
            frozen: flags & 2 != 0,
            failure: Failure::unpack(w[1]),
            standing: Standing {
                equity: int(w[2]),
                equity_im: int(w[3]),
                mm: int(w[4]),
                im: int(w[5]),
            },
        }
    }
}

/// Where each evaluation of a calculator answer starts, the layout walked as
/// [`Evaluation::decode_all`] walks it, without decoding; `None` where it fails.
pub fn evaluation_starts(w: &[U256]) -> Option<Vec<usize>> {
    let mut starts = Vec::new();
    let mut at = 0;
    while at < w.len() {
        starts.push(at);
        // The check, mark-to-market, collateral value, gross value, worst scenario, then
        // the Greeks count and 5 words per underlying.
        let count = at.checked_add(CHECK_WORDS + 4)?;
        let greeks = usize::try_from(*w.get(count)?).ok()?.checked_mul(5)?;
        at = count
            .checked_add(1)?
            .checked_add(greeks)
            .filter(|end| *end <= w.len())?;
    }
    Some(starts)
}

/// Writes each account's access flags (bit 0: the actor is the owner or an operator,
/// bit 1: frozen; the vault's) into the first word of its check in a calculator answer,
/// which carries none; `None` when the answer is malformed or does not hold one
/// evaluation per account.
pub fn set_flags(answer: &mut [U256], flags: &[u8]) -> Option<()> {
    let starts = evaluation_starts(answer)?;
    if starts.len() != flags.len() {
        return None;
    }
    for (at, f) in starts.into_iter().zip(flags) {
        answer[at] = U256::from(*f);
    }
    Some(())
}

/// The market keys an account needs: each underlying of its positions and of its
/// non-quote collateral (expiry 0), and each expiry it holds (surface or settlement),
/// appended to `out` without repeats. `ids` are instrument ids (the underlying in bits
/// 192..224, the expiry in bits 128..192).
pub fn needed_keys(ids: &[U256], amounts: &[U256], configs: &[U256], out: &mut Vec<U256>) {
    // Limb comparisons: `U256 ==` is a 32-byte memcmp in WASM (about 30 gas each).
    let mut add = |k: U256| {
        let b = k.as_limbs();
        if !out.iter().any(|o| {
            let a = o.as_limbs();
            a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3]
        }) {
            out.push(k);
        }
    };
    for id in ids {
        let l = id.as_limbs();
        let underlying = l[3] as u32;
        add(key(underlying, 0));
        add(key(underlying, l[2]));
    }
    for (amount, config) in amounts.iter().zip(configs) {
        let c = AssetConfig::unpack(config.to_be_bytes());
        if !amount.is_zero() && !c.is_quote {
            add(key(c.underlying, 0));
        }
    }
}

/// Sorts keys so that each underlying comes before its expiries.
pub fn sort_keys(keys: &mut [U256]) {
    keys.sort_unstable_by_key(|k| split_key(*k));
}

/// One account in an evaluation request, as the vault and registry return it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountWords {
    /// Signed quote cash (int256 raw).
    pub cash: U256,
    /// Collateral amounts (18-decimal) and packed asset configs.
    pub amounts: Vec<U256>,
    pub configs: Vec<U256>,
    /// Instrument ids, sizes and entry notionals (int256 raw).
    pub ids: Vec<U256>,
    pub sizes: Vec<U256>,
    pub entries: Vec<U256>,
}

/// What the vault debits for `units` token units of a token with `decimals`, in 18
/// decimals (`stylus_margin::units::to_wad`, rounded down), as an `i128`; `None` beyond.
/// By multiplications and divisions by ten, without the 128-bit division routine.
pub fn wad_of_units(units: U256, decimals: u8) -> Option<i128> {
    let l = units.as_limbs();
    if l[2] != 0 || l[3] != 0 {
        return None;
    }
    let mut v = (u128::from(l[1]) << 64) | u128::from(l[0]);
    for _ in decimals..18 {
        v = v.checked_mul(10)?;
    }
    for _ in 18..decimals {
        v /= 10;
    }
    i128::try_from(v).ok()
}

/// What `RiskReader.checkBefore(account, uint256[] undo)` takes back out of an account:
/// the engine's last action. A trade is 4 words, a withdrawal 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undo {
    /// What a trade added to the account ([`AccountWords::undo`]).
    Trade {
        instrument: U256,
        size: I256,
        entry: I256,
        cash: I256,
    },
    /// A withdrawal that paid `sent` token units of `token` (an address word).
    Withdrawal { token: U256, sent: U256 },
}

impl Undo {
    /// The words.
    pub fn encode(&self) -> Vec<U256> {
        match *self {
            Undo::Trade {
                instrument,
                size,
                entry,
                cash,
            } => alloc::vec![
                instrument,
                size.into_raw(),
                entry.into_raw(),
                cash.into_raw()
            ],
            Undo::Withdrawal { token, sent } => alloc::vec![token, sent],
        }
    }

    /// From the words (`None`: neither length).
    pub fn decode(w: &[U256]) -> Option<Undo> {
        match *w {
            [instrument, size, entry, cash] => Some(Undo::Trade {
                instrument,
                size: I256::from_raw(size),
                entry: I256::from_raw(entry),
                cash: I256::from_raw(cash),
            }),
            [token, sent] => Some(Undo::Withdrawal { token, sent }),
            _ => None,
        }
    }
}

impl AccountWords {
    /// Takes `cash` (signed) out of the account's cash; `None` when it leaves `int256`.
    pub fn take_cash(&mut self, cash: I256) -> Option<()> {
        self.cash = I256::from_raw(self.cash).checked_sub(cash)?.into_raw();
        Some(())
    }

    /// Takes a fill back out of the account: `size` and `entry` from its position in
    /// `id` and `cash` from its cash, all signed, giving the account as it stood before a
    /// trade that added exactly them (the engine's check of a trade that failed IM; the
    /// registry's `E' - R = E + n` makes the entry exact). A position left at size and
    /// entry zero is dropped, as the registry drops it; one the trade closed comes back.
    /// `None` when a value leaves `int256`.
    pub fn undo(&mut self, id: U256, size: I256, entry: I256, cash: I256) -> Option<()> {
        let sub = |w: U256, d: I256| I256::from_raw(w).checked_sub(d).map(I256::into_raw);
        self.take_cash(cash)?;
        let j = match self.ids.iter().position(|i| *i == id) {
            Some(j) => j,
            None => {
                self.ids.push(id);
                self.sizes.push(U256::ZERO);
                self.entries.push(U256::ZERO);
                self.ids.len() - 1
            }
        };
        self.sizes[j] = sub(self.sizes[j], size)?;
        self.entries[j] = sub(self.entries[j], entry)?;
        if self.sizes[j].is_zero() && self.entries[j].is_zero() {
            self.ids.remove(j);
            self.sizes.remove(j);
            self.entries.remove(j);
        }
        Some(())
    }
}

/// An evaluation request (see the module docs for the layout).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub now: u64,
    /// How many scenarios of the grid to use (the full grid for margin, 1 for a quote).
    pub grid_len: u64,
    /// Whether an account with no failed reading that passes MM and IM with the per-leg
    /// bound (`margin::account_risk_with`) is answered with that bound's standing (MM and
    /// IM at least the exact ones) instead of the exact check: the engine's post-action
    /// checks when new risk is not paused.
    pub bound: bool,
    /// Risk parameters as three words ([`params_words`]; all zero: the defaults).
    pub params: [U256; PARAM_WORDS],
    pub keys: Vec<U256>,
    pub market: Vec<U256>,
    pub accounts: Vec<AccountWords>,
}

impl Request {
    /// The request's words.
    pub fn encode(&self) -> Vec<U256> {
        let mut out = Vec::new();
        out.push(U256::from_limbs([
            self.now,
            self.grid_len,
            u64::from(self.bound),
            0,
        ]));
        out.extend_from_slice(&self.params);
        out.push(U256::from(self.keys.len()));
        out.extend_from_slice(&self.keys);
        out.push(U256::from(self.market.len()));
        out.extend_from_slice(&self.market);
        out.push(U256::from(self.accounts.len()));
        for a in &self.accounts {
            out.push(a.cash);
            out.push(U256::from(a.amounts.len()));
            for (x, y) in a.amounts.iter().zip(&a.configs) {
                out.extend_from_slice(&[*x, *y]);
            }
            out.push(U256::from(a.ids.len()));
            for ((x, y), z) in a.ids.iter().zip(&a.sizes).zip(&a.entries) {
                out.extend_from_slice(&[*x, *y, *z]);
            }
        }
        out
    }

    /// Reads a request into owned lists; `None` when malformed (see [`RequestWords`]).
    pub fn decode(w: &[U256]) -> Option<Request> {
        let r = RequestWords::decode(w)?;
        let every = |l: &[U256], per: usize, at: usize| -> Vec<U256> {
            l.chunks_exact(per).map(|c| c[at]).collect()
        };
        Some(Request {
            now: r.now,
            grid_len: r.grid_len,
            bound: r.bound,
            params: r.params,
            keys: r.keys.to_vec(),
            market: r.market.to_vec(),
            accounts: r
                .accounts
                .iter()
                .map(|a| AccountWords {
                    cash: a.cash,
                    amounts: every(a.collateral, 2, 0),
                    configs: every(a.collateral, 2, 1),
                    ids: every(a.positions, 3, 0),
                    sizes: every(a.positions, 3, 1),
                    entries: every(a.positions, 3, 2),
                })
                .collect(),
        })
    }
}

/// A request read in place: its lists borrow the words (what the calculator evaluates
/// from, without copying them).
pub struct RequestWords<'a> {
    pub now: u64,
    pub grid_len: u64,
    /// As [`Request::bound`] (any nonzero value of its limb: set).
    pub bound: bool,
    pub params: [U256; PARAM_WORDS],
    pub keys: &'a [U256],
    pub market: &'a [U256],
    pub accounts: Vec<AccountSlices<'a>>,
}

/// One account of a [`RequestWords`].
pub struct AccountSlices<'a> {
    pub cash: U256,
    /// `(amount, config)` pairs.
    pub collateral: &'a [U256],
    /// `(id, size, entry)` triples.
    pub positions: &'a [U256],
}

impl<'a> RequestWords<'a> {
    /// Reads a request; `None` when malformed (a list running past the words, or words
    /// left over).
    pub fn decode(w: &'a [U256]) -> Option<RequestWords<'a>> {
        let mut r = Reader { w, at: 0 };
        let head = r.word()?.into_limbs();
        let params = [r.word()?, r.word()?, r.word()?];
        let keys = r.list(1)?;
        let market = r.list(1)?;
        let n = r.len()?;
        let mut accounts = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            accounts.push(AccountSlices {
                cash: r.word()?,
                collateral: r.list(2)?,
                positions: r.list(3)?,
            });
        }
        (r.at == w.len()).then_some(RequestWords {
            now: head[0],
            grid_len: head[1],
            bound: head[2] != 0,
            params,
            keys,
            market,
            accounts,
        })
    }
}

struct Reader<'a> {
    w: &'a [U256],
    at: usize,
}

impl<'a> Reader<'a> {
    fn word(&mut self) -> Option<U256> {
        let x = *self.w.get(self.at)?;
        self.at += 1;
        Some(x)
    }
    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.word()?).ok()
    }
    /// A count followed by `count x per` words.
    fn list(&mut self, per: usize) -> Option<&'a [U256]> {
        let n = self.len()?.checked_mul(per)?;
        let end = self.at.checked_add(n)?;
        let v = self.w.get(self.at..end)?;
        self.at = end;
        Some(v)
    }
}

/// What the calculator answers per account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub check: Check,
    /// Mark-to-market of the positions (oracle).
    pub mtm: i128,
    /// Haircut collateral value (oracle).
    pub collateral_value: i128,
    /// Collateral value at the oracle price without haircuts.
    pub collateral_gross: i128,
    /// Index of the worst scenario (255: no positions).
    pub worst_scenario: u8,
    /// Portfolio Greeks per underlying.
    pub greeks: Vec<Greeks>,
}

impl Evaluation {
    /// What a liquidator takes with the whole account, at oracle prices: cash, the
    /// positions' mark-to-market and the collateral without haircuts (WAD).
    pub fn bundle(&self) -> i128 {
        self.check
            .standing
            .equity
            .saturating_add(self.collateral_gross.saturating_sub(self.collateral_value))
    }

    /// Appends the evaluation's words: the [`Check`], mtm, collateral value (haircut),
    /// collateral value (gross), worst scenario, the Greeks count and `(underlying, delta, gamma, vega, theta)` each.
    pub fn encode(&self, out: &mut Vec<U256>) {
        self.check.encode(out);
        out.push(i256(self.mtm).into_raw());
        out.push(i256(self.collateral_value).into_raw());
        out.push(i256(self.collateral_gross).into_raw());
        out.push(U256::from(self.worst_scenario));
        out.push(U256::from(self.greeks.len()));
        for g in &self.greeks {
            out.push(U256::from(g.underlying));
            for v in [g.delta, g.gamma, g.vega, g.theta] {
                out.push(i256(v).into_raw());
            }
        }
    }

    /// Reads the evaluations of an answer; `None` when malformed.
    pub fn decode_all(w: &[U256]) -> Option<Vec<Evaluation>> {
        let int = |x: U256| i128_of(I256::from_raw(x));
        let mut r = Reader { w, at: 0 };
        let mut out = Vec::new();
        while r.at < w.len() {
            let check = Check::decode(r.w.get(r.at..r.at + CHECK_WORDS)?);
            r.at += CHECK_WORDS;
            let mtm = int(r.word()?);
            let collateral_value = int(r.word()?);
            let collateral_gross = int(r.word()?);
            let worst_scenario = r.word()?.as_limbs()[0] as u8;
            let g = r.list(5)?;
            let greeks = g
                .chunks(5)
                .map(|c| Greeks {
                    underlying: c[0].as_limbs()[0] as u32,
                    delta: int(c[1]),
                    gamma: int(c[2]),
                    vega: int(c[3]),
                    theta: int(c[4]),
                })
                .collect();
            out.push(Evaluation {
                check,
                mtm,
                collateral_value,
                collateral_gross,
                worst_scenario,
                greeks,
            });
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Address;
    use alloy_sol_types::SolError;

    crate::errors! {
        /// The oracle's failures.
        enum Failed { StaleOracle, BadOracle, StaleSurface, MissingSurface }
    }

    /// On random answers (0..4 evaluations, 0..3 Greeks each), `set_flags` changes each
    /// evaluation's access flags and nothing else, and refuses a truncated answer or a
    /// flag count that is not the evaluation count.
    #[test]
    fn flags_are_written_into_each_check_and_nothing_else() {
        let mut r = margin_books::Rng(31);
        let mut next = || r.next_u64();
        for _ in 0..500 {
            let evaluations: Vec<Evaluation> = (0..next() % 4)
                .map(|_| Evaluation {
                    check: Check {
                        failure: Failure::unpack(U256::from((next() % 5) | 0x100)),
                        standing: Standing {
                            equity: next() as i128 - (1 << 62),
                            equity_im: next() as i128,
                            mm: next() as i128,
                            im: next() as i128,
                        },
                        ..Check::default()
                    },
                    mtm: -(next() as i128),
                    collateral_value: next() as i128,
                    collateral_gross: next() as i128,
                    worst_scenario: next() as u8,
                    greeks: (0..next() % 3)
                        .map(|_| Greeks {
                            underlying: next() as u32,
                            delta: next() as i128 - (1 << 62),
                            ..Greeks::default()
                        })
                        .collect(),
                })
                .collect();
            let mut w = Vec::new();
            for e in &evaluations {
                e.encode(&mut w);
            }
            let flags: Vec<u8> = evaluations.iter().map(|_| (next() % 4) as u8).collect();
            let mut answer = w.clone();
            assert_eq!(set_flags(&mut answer, &flags), Some(()));
            let expected: Vec<Evaluation> = evaluations
                .iter()
                .zip(&flags)
                .map(|(e, f)| {
                    let mut e = e.clone();
                    e.check.authorized = f & 1 != 0;
                    e.check.frozen = f & 2 != 0;
                    e
                })
                .collect();
            assert_eq!(Evaluation::decode_all(&answer), Some(expected));
            let mut more = flags.clone();
            more.push(1);
            assert_eq!(set_flags(&mut w.clone(), &more), None);
            if let Some(last) = w.len().checked_sub(1) {
                assert_eq!(set_flags(&mut w[..last].to_vec(), &flags), None);
            }
        }
    }

    /// Every failure's revert data, built from its words, is what alloy encodes for the
    /// error it names (random fields).
    #[test]
    fn failure_reverts_are_what_alloy_encodes() {
        fn revert<E: SolError>(e: E) -> Vec<u8> {
            e.abi_encode()
        }
        let mut r = margin_books::Rng(37);
        let mut next = || r.next_u64();
        for _ in 0..256 {
            let (underlying, a, b) = (next() as u32, next(), next());
            let cases = [
                (
                    Failure::StaleOracle { underlying, age: a },
                    revert(StaleOracle { underlying, age: a }),
                ),
                (
                    Failure::BadOracle {
                        underlying,
                        reason: a as u8,
                    },
                    revert(BadOracle {
                        underlying,
                        reason: a as u8,
                    }),
                ),
                (
                    Failure::StaleSurface {
                        underlying,
                        expiry: a,
                        age: b,
                    },
                    revert(StaleSurface {
                        underlying,
                        expiry: a,
                        age: b,
                    }),
                ),
                (
                    Failure::MissingSurface {
                        underlying,
                        expiry: a,
                    },
                    revert(MissingSurface {
                        underlying,
                        expiry: a,
                    }),
                ),
            ];
            for (f, alloys) in cases {
                assert_eq!(Vec::from(f.error::<Failed>()), alloys, "{f:?}");
            }
        }
    }

    #[test]
    fn formats_round_trip() {
        for f in [
            None,
            Some(Failure::StaleOracle {
                underlying: 7,
                age: 99,
            }),
            Some(Failure::BadOracle {
                underlying: u32::MAX,
                reason: 5,
            }),
            Some(Failure::StaleSurface {
                underlying: 1,
                expiry: u64::MAX,
                age: 3,
            }),
            Some(Failure::MissingSurface {
                underlying: 2,
                expiry: 4,
            }),
        ] {
            assert_eq!(Failure::unpack(Failure::pack(f)), f);
        }
        let c = Check {
            authorized: true,
            frozen: false,
            failure: Some(Failure::StaleOracle {
                underlying: 1,
                age: 2,
            }),
            standing: Standing {
                equity: -5,
                equity_im: i128::MIN,
                mm: i128::MAX,
                im: 0,
            },
        };
        let mut w = Vec::new();
        c.encode(&mut w);
        assert_eq!(w.len(), CHECK_WORDS);
        assert_eq!(Check::decode(&w), c);
        let h = Header {
            status: None,
            spot: 2_000,
            stable: 1_990,
            config: UnderlyingConfig {
                feed: Address::repeat_byte(1),
                max_age: 60,
                surface_max_age: 600,
                decimals: 8,
                method: 1,
                listed: true,
            },
            risk: UnderlyingRisk {
                rate: -1,
                ref_vol: 2,
                lambda: 3,
                stable_rate: 4,
            },
            vol: VolState {
                variance: 5,
                last_poke: 6,
                round: 7,
                round_at: 8,
            },
        };
        let mut w = Vec::new();
        h.encode(&mut w);
        assert_eq!(w.len(), HEADER_WORDS);
        assert_eq!(Header::decode(&w), h);
        let p = SviParams {
            a: 1,
            b: 2,
            rho: -3,
            m: -4,
            sigma: 5,
        };
        let mut w = Vec::new();
        ExpiryData::encode_raw(surface_words(&p, 77), U256::from(9u8), &mut w);
        assert_eq!(w.len(), EXPIRY_WORDS);
        assert_eq!(
            ExpiryData::decode(&w),
            ExpiryData {
                surface: Some((p, 77)),
                settlement: 9
            }
        );
        assert_eq!(split_key(key(3, 1_000)), (3, 1_000));
        let req = Request {
            now: 5,
            grid_len: 26,
            bound: true,
            params: [U256::from(1u8), U256::ZERO, U256::MAX],
            keys: alloc::vec![key(1, 0), key(1, 9)],
            market: alloc::vec![U256::from(1u8); 12],
            accounts: alloc::vec![
                AccountWords {
                    cash: U256::MAX,
                    amounts: alloc::vec![U256::from(1u8)],
                    configs: alloc::vec![U256::from(2u8)],
                    ids: alloc::vec![U256::from(3u8), U256::from(4u8)],
                    sizes: alloc::vec![U256::from(5u8), U256::from(6u8)],
                    entries: alloc::vec![U256::from(7u8), U256::from(8u8)],
                },
                AccountWords::default(),
            ],
        };
        let w = req.encode();
        assert_eq!(Request::decode(&w), Some(req));
        assert_eq!(Request::decode(&w[..w.len() - 1]), None);
        let ev = Evaluation {
            check: c,
            mtm: -3,
            collateral_value: 4,
            collateral_gross: 5,
            worst_scenario: 255,
            greeks: alloc::vec![Greeks {
                underlying: 1,
                delta: -1,
                gamma: 2,
                vega: 3,
                theta: -4,
            }],
        };
        let mut w = Vec::new();
        ev.encode(&mut w);
        Evaluation::default().encode(&mut w);
        assert_eq!(
            Evaluation::decode_all(&w),
            Some(alloc::vec![ev, Evaluation::default()])
        );
        let l = MarginParams::DEFAULT.to_limbs();
        assert_eq!(params_from_words(params_words(&l)), MarginParams::DEFAULT);
    }

    /// The engine's undo words round-trip; other lengths are refused.
    #[test]
    fn undo_round_trips() {
        let t = Undo::Trade {
            instrument: U256::from(7u8),
            size: I256::MINUS_ONE,
            entry: I256::MIN,
            cash: I256::MAX,
        };
        assert_eq!(Undo::decode(&t.encode()), Some(t));
        let w = Undo::Withdrawal {
            token: U256::from(0xC6u8),
            sent: U256::MAX,
        };
        assert_eq!(Undo::decode(&w.encode()), Some(w));
        for n in [0, 1, 3, 5] {
            assert_eq!(Undo::decode(&alloc::vec![U256::ZERO; n]), None);
        }
    }

    /// `wad_of_units` is the vault's debit: `units::to_wad` rounded down, for every
    /// decimals the vault lists (0..=36) and amounts up to the edges.
    #[test]
    fn wad_of_units_is_the_vaults_debit() {
        let mut r = margin_books::Rng(11);
        let mut next = || r.next_u64();
        for decimals in 0..=36u8 {
            for i in 0..300 {
                let units: u128 = match i {
                    0 => 0,
                    1 => u128::MAX,
                    2 => i128::MAX as u128,
                    _ => (u128::from(next()) << (next() % 64)) | u128::from(next() % 1000),
                };
                let want = stylus_margin::units::to_wad(units, decimals, false)
                    .ok()
                    .and_then(|v| i128::try_from(v).ok());
                assert_eq!(
                    wad_of_units(U256::from(units), decimals),
                    want,
                    "{units} {decimals}"
                );
            }
            assert_eq!(wad_of_units(U256::MAX, decimals), None);
        }
    }
}
