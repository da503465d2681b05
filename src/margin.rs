//! Portfolio valuation and margin: equity, maintenance margin (MM) and initial margin (IM).
//!
//! Pure: every price, surface, parameter and the time are arguments. The RiskEngine
//! contract loads them and calls [`account_risk`]; the `margin` tool calls the same
//! function, so any on-chain number is reproducible off chain.
//!
//! # Model (per underlying; requirements add up across underlyings, no cross-credit)
//! - Options at Black-Scholes on the SVI volatility of their expiry; futures at
//!   `size x spot - entry`; expired, unsettled positions at their payoff.
//! - Each (expiry, strike) is priced once: a call and a put on the same strike share one
//!   evaluation, and repeated instruments share it too.
//! - Scenario grid (Lyra v2 PM2 shape): spot moves x vol moves, extreme moves dampened.
//!   Spot shocks scale up with the forecast volatility (never below the defaults); vol
//!   shocks scale with time to expiry, `m(T) = (30d / max(T, 1d))^p`.
//! - Two ways to get a scenario's PnL, chosen per underlying ([`Method`]): `Greeks`, the
//!   delta-gamma-vega Taylor expansion on the portfolio Greeks for the near grid, with
//!   the extreme (dampened) scenarios always repriced exactly because a Taylor
//!   expansion cannot see a far out-of-the-money short option going deep in the money;
//!   and `Full`, every option repriced in every scenario.
//! - Theta enters per leg over `theta_horizon` when it costs that leg, never as a gain.
//! - Each option leg's scenario PnL is clamped to its no-arbitrage bound: one unit's value
//!   cannot fall below zero, so a long option never loses more than its value.
//! - MM = worst scenario loss + contingencies (a share of spot per net short option
//!   contract, a share of futures notional). IM = `im_multiplier` x worst loss + larger
//!   contingencies.
//! - Equity for MM = haircut collateral at the oracle price + cash + mark-to-market.
//!   Equity for IM values assets at min(oracle, stable) and liabilities at
//!   max(oracle, stable) (Mango v4), and discounts positive mark-to-market.
//!
//! # Pricing
//! Options are priced with [`crate::pricer`] (Q48, within ~1e-13 of spot of the exact
//! reference [`crate::black_scholes`], at a tenth of its gas). The Taylor scenarios of
//! the `Greeks` method are summed in Q48 relative to spot (notional split at bit 48).
//!
//! # Rounding
//! Every value that adds to equity is rounded toward -inf; every loss and requirement
//! toward +inf: rounding never favours the account. (The pricer's own approximation
//! error, bounded in its documentation, is not a rounding and has no direction.)
use alloc::vec::Vec;

use crate::{
    black_scholes,
    collateral::{AssetConfig, PPM},
    fixed::{self, MathError, Rounding, WAD},
    instrument::{Kind, Terms},
    math, pricer,
    svi::SviParams,
};

/// Seconds in the year used for time to expiry and annualised volatility (365 days).
pub const YEAR: i128 = 31_536_000;
/// Shortest time to expiry priced with Black-Scholes (one minute); below it an option is
/// priced with this time (its time value is negligible).
pub const MIN_PRICED_SECONDS: i128 = 60;
/// Largest number of scenarios in a grid.
pub const MAX_SCENARIOS: usize = 40;

/// How a scenario's PnL is computed for one underlying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Delta-gamma-vega Taylor expansion on the near grid; extreme scenarios repriced.
    Greeks,
    /// Every option repriced in every scenario.
    Full,
}

/// Direction of the volatility move in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolMove {
    /// `vol x (1 + vol_up x m(T))`.
    Up,
    /// Unchanged.
    None,
    /// `vol x max(1 - vol_down x m(T), 0.05)`.
    Down,
}

/// One stress scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// Relative spot move (WAD), e.g. `-0.045e18`.
    pub spot: i128,
    /// Volatility move.
    pub vol: VolMove,
    /// Weight of the scenario's loss (WAD): `WAD` for the near grid, a dampening factor
    /// below `WAD` for extreme moves. Scenarios with weight below `WAD` are "extreme"
    /// and are always repriced exactly.
    pub weight: i128,
}

const fn sc(spot_bps: i128, vol: VolMove, weight_ppm: i128) -> Scenario {
    Scenario {
        spot: spot_bps * 100_000_000_000_000,
        vol,
        weight: weight_ppm * 1_000_000_000_000,
    }
}

/// Default grid after Lyra v2's PM2: +-4.5%, +-9%, +-13.5% with vol up, unchanged and
/// down; +-18% with vol up; 0% with vol up and down; -66% (x0.21), -33% (x0.42),
/// +50% (x0.2772), +100% (x0.1386) with vol up, their losses dampened.
pub const DEFAULT_GRID: [Scenario; 26] = {
    use VolMove::{Down, None as Flat, Up};
    const F: i128 = 1_000_000;
    [
        sc(450, Up, F),
        sc(450, Flat, F),
        sc(450, Down, F),
        sc(-450, Up, F),
        sc(-450, Flat, F),
        sc(-450, Down, F),
        sc(900, Up, F),
        sc(900, Flat, F),
        sc(900, Down, F),
        sc(-900, Up, F),
        sc(-900, Flat, F),
        sc(-900, Down, F),
        sc(1350, Up, F),
        sc(1350, Flat, F),
        sc(1350, Down, F),
        sc(-1350, Up, F),
        sc(-1350, Flat, F),
        sc(-1350, Down, F),
        sc(1800, Up, F),
        sc(-1800, Up, F),
        sc(0, Up, F),
        sc(0, Down, F),
        sc(-6600, Up, 210_000),
        sc(-3300, Up, 420_000),
        sc(5000, Up, 277_200),
        sc(10000, Up, 138_600),
    ]
};

/// Risk parameters (all WAD unless stated). Bounds are enforced by [`MarginParams::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginParams {
    /// Vol-up shock at 30 days (0.5 = +50% of the vol).
    pub vol_up: i128,
    /// Vol-down shock at 30 days (0.3 = -30% of the vol).
    pub vol_down: i128,
    /// MM contingency per net short option contract, as a share of spot.
    pub mm_short_option: i128,
    /// IM contingency per net short option contract, as a share of spot.
    pub im_short_option: i128,
    /// MM contingency on futures notional.
    pub mm_future: i128,
    /// IM contingency on futures notional.
    pub im_future: i128,
    /// IM multiplier on the worst scenario loss (1.25).
    pub im_multiplier: i128,
    /// Factor applied to positive mark-to-market for IM (0.95).
    pub im_positive_mtm: i128,
    /// Horizon over which negative theta adds loss, in seconds.
    pub theta_horizon: i128,
    /// Liquidation horizon for collateral haircuts, in years (WAD).
    pub haircut_horizon: i128,
    /// Coefficient of the size term `coef x sqrt(amount / depth)` of a haircut.
    pub size_coef: i128,
    /// Largest multiple by which forecast volatility may scale the spot shocks.
    pub max_shock_scale: i128,
}

impl MarginParams {
    /// The 12 values in field order, as the RiskReader's `setParams(uint64[12])` takes them
    /// (every field is non-negative and below 2^64 once validated).
    pub fn to_limbs(&self) -> [u64; 12] {
        [
            self.vol_up,
            self.vol_down,
            self.mm_short_option,
            self.im_short_option,
            self.mm_future,
            self.im_future,
            self.im_multiplier,
            self.im_positive_mtm,
            self.theta_horizon,
            self.haircut_horizon,
            self.size_coef,
            self.max_shock_scale,
        ]
        .map(|x| x as u64)
    }

    /// Inverse of [`MarginParams::to_limbs`] (call [`MarginParams::validate`] on outside input).
    pub fn from_limbs(l: [u64; 12]) -> MarginParams {
        let v = |i: usize| i128::from(l[i]);
        MarginParams {
            vol_up: v(0),
            vol_down: v(1),
            mm_short_option: v(2),
            im_short_option: v(3),
            mm_future: v(4),
            im_future: v(5),
            im_multiplier: v(6),
            im_positive_mtm: v(7),
            theta_horizon: v(8),
            haircut_horizon: v(9),
            size_coef: v(10),
            max_shock_scale: v(11),
        }
    }

    /// Defaults after Lyra v2's PM2 (contingencies) and this project's choices.
    pub const DEFAULT: MarginParams = MarginParams {
        vol_up: WAD / 2,
        vol_down: 3 * WAD / 10,
        mm_short_option: 3 * WAD / 1000,
        im_short_option: 5 * WAD / 1000,
        mm_future: 3 * WAD / 100,
        im_future: 4 * WAD / 100,
        im_multiplier: 5 * WAD / 4,
        im_positive_mtm: 95 * WAD / 100,
        theta_horizon: 86_400,
        haircut_horizon: WAD / 365,
        size_coef: WAD / 20,
        max_shock_scale: 3 * WAD,
    };

    /// Checks hard bounds; returns the index of the first field out of bounds.
    pub fn validate(&self) -> Result<(), u8> {
        let checks: [(i128, i128, i128); 12] = [
            (self.vol_up, 0, 3 * WAD),
            (self.vol_down, 0, 9 * WAD / 10),
            (self.mm_short_option, 0, WAD / 2),
            (self.im_short_option, self.mm_short_option, WAD),
            (self.mm_future, 0, WAD / 2),
            (self.im_future, self.mm_future, WAD),
            (self.im_multiplier, WAD, 5 * WAD),
            (self.im_positive_mtm, 0, WAD),
            (self.theta_horizon, 0, 30 * 86_400),
            (self.haircut_horizon, 0, WAD / 4),
            (self.size_coef, 0, WAD),
            (self.max_shock_scale, WAD, 5 * WAD),
        ];
        for (i, (v, lo, hi)) in checks.iter().enumerate() {
            if v < lo || v > hi {
                return Err(i as u8);
            }
        }
        Ok(())
    }
}

/// Market data for one underlying, as the engine read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    /// Underlying id.
    pub id: u32,
    /// Oracle spot (WAD, quote units per unit of underlying).
    pub spot: i128,
    /// Stable reference price (WAD); equal to `spot` where none is kept.
    pub stable: i128,
    /// Continuous risk-free rate (WAD).
    pub rate: i128,
    /// Forecast annualised volatility from the EWMA (WAD).
    pub forecast_vol: i128,
    /// Volatility at which the spot shocks are the defaults (WAD); the shocks scale by
    /// `max(1, forecast_vol / ref_vol)`, capped at `max_shock_scale`.
    pub ref_vol: i128,
    /// Scenario method.
    pub method: Method,
    /// SVI surface per expiry (unix seconds), for every expiry of the account's options.
    pub surfaces: Vec<(u64, SviParams)>,
    /// Recorded settlement prices per expiry (unix seconds), if any.
    pub settlements: Vec<(u64, i128)>,
}

/// One position as the registry holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Instrument terms.
    pub terms: Terms,
    /// Signed size (WAD units of underlying).
    pub size: i128,
    /// Entry notional (futures; WAD quote units).
    pub entry: i128,
}

/// One collateral balance as the vault holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collateral {
    /// Amount in WAD units of the token.
    pub amount: i128,
    /// The asset's configuration.
    pub config: AssetConfig,
}

/// Portfolio Greeks of one underlying (sum of size x greek; WAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Greeks {
    /// Underlying id.
    pub underlying: u32,
    /// dV/dS, including futures and risk-offsetting collateral.
    pub delta: i128,
    /// d2V/dS2.
    pub gamma: i128,
    /// dV/dvol per 1.00 of vol.
    pub vega: i128,
    /// dV/dt per year.
    pub theta: i128,
}

/// The result of a margin check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRisk {
    /// Equity for the maintenance test (oracle prices).
    pub equity: i128,
    /// Equity for the initial test (conservative prices, discounted positive MtM).
    pub equity_im: i128,
    /// Maintenance margin.
    pub mm: i128,
    /// Initial margin.
    pub im: i128,
    /// Mark-to-market of all positions (oracle).
    pub mtm: i128,
    /// Haircut collateral value (oracle).
    pub collateral_value: i128,
    /// Collateral value at the oracle price without haircuts (what a liquidator takes).
    pub collateral_gross: i128,
    /// Portfolio Greeks per underlying.
    pub greeks: Vec<Greeks>,
    /// Index into the grid of the worst scenario of the underlying with the largest loss
    /// (`u8::MAX` when the account has no positions).
    pub worst_scenario: u8,
}

impl AccountRisk {
    /// `equity - MM` (negative: liquidatable).
    pub fn mm_surplus(&self) -> i128 {
        Standing::from(self).mm_surplus()
    }
    /// `equity_im - IM` (negative: may not add risk).
    pub fn im_surplus(&self) -> i128 {
        Standing::from(self).im_surplus()
    }
}

/// Errors of the margin core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarginError {
    /// Fixed-point failure (overflow, domain).
    Math(MathError),
    /// A position's underlying has no market data.
    MissingMarket(u32),
    /// An option's expiry has no volatility surface.
    MissingSurface(u32, u64),
    /// The grid is empty or too long.
    BadGrid,
}

impl From<MathError> for MarginError {
    fn from(e: MathError) -> Self {
        MarginError::Math(e)
    }
}

use Rounding::{Down, Up};

/// Haircut (WAD) of a collateral balance:
/// `clamp(floor + k x forecast_vol x sqrt(horizon) + size_coef x sqrt(amount / depth), floor, max)`.
/// The size term is skipped when `liquidity_depth` is zero. Rounded up.
pub fn haircut(
    config: &AssetConfig,
    amount: i128,
    forecast_vol: i128,
    params: &MarginParams,
) -> Result<i128, MathError> {
    let ppm_to_wad = |p: u32| i128::from(p) * (WAD / i128::from(PPM));
    let floor = ppm_to_wad(config.haircut_floor_ppm);
    let max = ppm_to_wad(config.haircut_max_ppm);
    let k = ppm_to_wad(config.vol_multiplier_ppm);
    let mut h = floor;
    if k > 0 && forecast_vol > 0 && params.haircut_horizon > 0 {
        let vol_term = fixed::mul(k, forecast_vol, Up)?;
        h = fixed::add(
            h,
            fixed::mul(vol_term, pricer::sqrt(params.haircut_horizon)?, Up)?,
        )?;
    }
    let depth = i128::try_from(config.liquidity_depth).map_err(|_| MathError::Overflow)?;
    if depth > 0 && amount > 0 && params.size_coef > 0 {
        let ratio = fixed::div(amount, depth, Up)?;
        h = fixed::add(h, fixed::mul(params.size_coef, pricer::sqrt(ratio)?, Up)?)?;
    }
    Ok(h.clamp(floor, max.max(floor)))
}

/// Value of a collateral balance at `price`: `amount x price x (1 - haircut)`, rounded down.
pub fn collateral_value(amount: i128, price: i128, haircut: i128) -> Result<i128, MathError> {
    let gross = fixed::mul(amount, price, Down)?;
    fixed::mul(gross, WAD - haircut, Down)
}

/// Stable reference price update (Mango v4 style): moves from `stable` toward `oracle` by
/// at most `stable x max_rate_per_sec x dt`. A zero `stable` starts at the oracle.
pub fn stable_price_update(
    stable: i128,
    oracle: i128,
    dt_seconds: u64,
    max_rate_per_sec: i128,
) -> Result<i128, MathError> {
    if stable <= 0 {
        return Ok(oracle);
    }
    let dt = i128::from(dt_seconds.min(10 * 365 * 86_400));
    let step = fixed::mul(stable, max_rate_per_sec.saturating_mul(dt), Down)?;
    Ok(if oracle > stable {
        oracle.min(stable.saturating_add(step))
    } else {
        oracle.max(stable.saturating_sub(step))
    })
}

/// EWMA of squared log returns, annualised: `var' = lambda x var + (1 - lambda) x r^2 x YEAR / dt`
/// with `r = ln(new / old)`. Returns the new annualised variance (WAD). `dt_seconds` must be > 0.
pub fn ewma_variance_update(
    variance: i128,
    old_price: i128,
    new_price: i128,
    dt_seconds: u64,
    lambda: i128,
) -> Result<i128, MathError> {
    if dt_seconds == 0 || old_price <= 0 || new_price <= 0 {
        return Ok(variance);
    }
    let r = math::ln(fixed::div(new_price, old_price, Rounding::Nearest)?)?;
    let r2 = fixed::mul(r, r, Up)?;
    let sample = fixed::mul_div(r2, YEAR, i128::from(dt_seconds), Up)?;
    fixed::add(
        fixed::mul(lambda, variance, Up)?,
        fixed::mul(WAD - lambda, sample, Up)?,
    )
}

/// Forecast volatility from an annualised variance: `sqrt(variance)`.
pub fn forecast_vol(variance: i128) -> Result<i128, MathError> {
    if variance <= 0 {
        return Ok(0);
    }
    pricer::sqrt(variance)
}

/// Years (WAD) from `now` to `expiry`, or `None` when expired.
pub fn years_to_expiry(expiry: u64, now: u64) -> Option<i128> {
    if expiry <= now {
        return None;
    }
    let secs = i128::from(expiry - now).max(MIN_PRICED_SECONDS);
    Some(secs * WAD / YEAR)
}

/// Vol-shock time scaling `m(T) = (30d / max(T, 1d))^p`, p = 0.3 up to 30 days, 0.13 beyond.
pub fn vol_shock_scale(years: i128) -> Result<i128, MathError> {
    let day = WAD / 365;
    let month = 30 * day;
    let t = years.max(day);
    let p = if t <= month {
        3 * WAD / 10
    } else {
        13 * WAD / 100
    };
    let ratio = fixed::div(month, t, Up)?;
    pricer::exp(fixed::mul(p, pricer::ln(ratio)?, Up)?)
}

/// Per (expiry, strike) evaluation shared by calls and puts.
struct Node {
    expiry: u64,
    strike: i128,
    years: i128,
    vol: i128,
    quote: black_scholes::Quote,
    /// Vol-shock scale of the expiry.
    m: i128,
    /// Relative vol move of the node in the vol-up and vol-down scenarios, Q48.
    rel_q: [i128; 2],
    /// What repricing the node in a scenario keeps.
    prepared: pricer::Prepared,
    /// The same at the vol-up shocked vol (the extreme scenarios' vol).
    up: pricer::AtVol,
}

/// A live option leg in the Taylor scenarios, relative to spot `S`, in Q48
/// ([`pricer::from_wad`]): the change of one unit's value for a relative spot move `m`
/// and relative vol move `rel` is `S (delta m + gamma_s m^2/2 + vega_s rel + decay)`,
/// at least `S floor`. `notional` is `size x S` rounded down, and that plus one wei (WAD).
struct Taylor {
    /// A short leg: its per-unit change is rounded up (a larger loss), a long leg's down.
    short: bool,
    delta: i128,
    gamma_s: i128,
    vega_s: i128,
    decay: i128,
    floor: i128,
    notional: [i128; 2],
}

/// Bits of the largest notional and relative Greeks the Taylor fast path takes: with
/// them, one leg's `notional x change` stays below 2^107 and 128 legs below 2^115.
const TAYLOR_NOTIONAL: i128 = 1 << 90;
const TAYLOR_GREEK: i128 = 1 << 62;
/// Largest relative spot or vol move (Q48) of the fast path: 4.
const TAYLOR_MOVE: i128 = 4 << pricer::SHIFT;

fn price_of(kind: Kind, q: &black_scholes::Quote) -> (i128, i128, i128, i128, i128) {
    match kind {
        Kind::Call => (q.call, q.delta_call, q.gamma, q.vega, q.theta_call),
        _ => (q.put, q.delta_put, q.gamma, q.vega, q.theta_put),
    }
}

fn shocked_vol(vol: i128, m: i128, mv: VolMove, params: &MarginParams) -> Result<i128, MathError> {
    Ok(match mv {
        VolMove::None => vol,
        VolMove::Up => {
            let up = fixed::mul_fast(params.vol_up, m, Up)?;
            fixed::mul_fast(vol, WAD + up, Up)?.min(10 * WAD)
        }
        VolMove::Down => {
            let down = fixed::mul_fast(params.vol_down, m, Up)?;
            fixed::mul_fast(vol, (WAD - down).max(WAD / 20), Down)?.max(WAD / 1000)
        }
    })
}

/// How a leg moves in the scenarios.
#[derive(Clone, Copy)]
enum Leg {
    /// A future: PnL is size x spot move.
    Future,
    /// Expired with a recorded settlement price: fixed value.
    Settled,
    /// Expired, no settlement price yet: payoff at the shocked spot.
    Expired,
    /// A live option priced at node `i`.
    Option(usize),
}

/// Everything the scenarios need about one underlying's book.
struct Book<'a> {
    market: &'a Market,
    spot: i128,
    nodes: Vec<Node>,
    legs: Vec<(Leg, Position)>,
    /// Per leg (same order as `legs`), for options, per unit: value, delta, gamma,
    /// vega x vol, and the theta loss over the horizon when it is a loss for this leg.
    leg_greeks: Vec<[i128; 5]>,
    /// Per leg (same order), the Taylor fast path's terms when they are within its
    /// bounds; otherwise the leg is computed from `leg_greeks` in WAD.
    taylor: Vec<Option<Taylor>>,
    /// Every live option leg is on the Taylor fast path.
    all_fast: bool,
    offset_delta: i128,
    greeks: Greeks,
    mtm: i128,
    net_short_options: i128,
    future_size: i128,
}

fn build_book<'a>(
    market: &'a Market,
    positions: &[Position],
    offset_delta: i128,
    params: &MarginParams,
    now: u64,
) -> Result<Book<'a>, MarginError> {
    let spot = market.spot;
    let mut book = Book {
        market,
        spot,
        nodes: Vec::new(),
        legs: Vec::with_capacity(positions.len()),
        leg_greeks: Vec::with_capacity(positions.len()),
        taylor: Vec::with_capacity(positions.len()),
        all_fast: true,
        offset_delta,
        greeks: Greeks {
            underlying: market.id,
            delta: offset_delta,
            ..Greeks::default()
        },
        mtm: 0,
        net_short_options: 0,
        future_size: 0,
    };
    // Net short option contracts per strike: longs at a strike offset shorts there.
    let mut per_strike: Vec<(u64, i128, i128)> = Vec::new();
    // The theta horizon in years, rounded up: the decay it gives is a loss rounded up.
    let horizon = fixed::mul_div(params.theta_horizon, WAD, YEAR, Up)?;
    // (expiry, vol-shock scale, [vol-up move, vol-down move], pricer terms).
    let mut per_expiry: Vec<(u64, i128, [i128; 2], pricer::Expiry)> = Vec::new();
    for p in positions.iter().filter(|p| p.terms.underlying == market.id) {
        let strike = i128::try_from(p.terms.strike).map_err(|_| MathError::Overflow)?;
        if p.terms.kind == Kind::Future {
            book.future_size = fixed::add(book.future_size, p.size)?;
            book.greeks.delta = fixed::add(book.greeks.delta, p.size)?;
            let v = fixed::sub(fixed::mul_fast(p.size, spot, Down)?, p.entry)?;
            book.mtm = fixed::add(book.mtm, v)?;
            book.legs.push((Leg::Future, *p));
            book.leg_greeks.push([0; 5]);
            book.taylor.push(None);
            continue;
        }
        match per_strike
            .iter_mut()
            .find(|e| e.0 == p.terms.expiry && e.1 == strike)
        {
            Some(e) => e.2 = fixed::add(e.2, p.size)?,
            None => per_strike.push((p.terms.expiry, strike, p.size)),
        }
        let Some(years) = years_to_expiry(p.terms.expiry, now) else {
            // Expired and unsettled: at the payoff of the settlement price, or of spot
            // (shocked in the scenarios) until one is recorded.
            let settle = market
                .settlements
                .iter()
                .find(|s| s.0 == p.terms.expiry)
                .map(|s| s.1);
            let px = black_scholes::intrinsic(
                p.terms.kind == Kind::Call,
                settle.unwrap_or(spot),
                strike,
            )?;
            book.mtm = fixed::add(book.mtm, fixed::mul_fast(p.size, px, Down)?)?;
            if settle.is_none() {
                let d = match p.terms.kind {
                    Kind::Call if spot > strike => p.size,
                    Kind::Put if spot < strike => -p.size,
                    _ => 0,
                };
                book.greeks.delta = fixed::add(book.greeks.delta, d)?;
            }
            book.legs.push((
                if settle.is_some() {
                    Leg::Settled
                } else {
                    Leg::Expired
                },
                *p,
            ));
            book.leg_greeks.push([0; 5]);
            book.taylor.push(None);
            continue;
        };
        let idx = match book
            .nodes
            .iter()
            .position(|n| n.expiry == p.terms.expiry && n.strike == strike)
        {
            Some(i) => i,
            None => {
                let surface = market
                    .surfaces
                    .iter()
                    .find(|s| s.0 == p.terms.expiry)
                    .ok_or(MarginError::MissingSurface(market.id, p.terms.expiry))?;
                // Vol-shock scale, relative vol moves and the pricer's shared terms: once
                // per expiry.
                let e = match per_expiry.iter().position(|e| e.0 == p.terms.expiry) {
                    Some(e) => e,
                    None => {
                        let m = vol_shock_scale(years)?;
                        let up = fixed::mul_fast(params.vol_up, m, Up)?;
                        let down = -fixed::mul_fast(params.vol_down, m, Up)?.min(WAD - WAD / 20);
                        let ex = pricer::Expiry::new(spot, years, market.rate);
                        per_expiry.push((p.terms.expiry, m, [up, down], ex));
                        per_expiry.len() - 1
                    }
                };
                let (_, m, [up, down], ex) = per_expiry[e];
                let prepared = ex.prepare(strike)?;
                let vol = pricer::implied_vol_at(&surface.1, &prepared, years)?;
                let quote = pricer::quote_at(&prepared, spot, vol)?;
                book.nodes.push(Node {
                    expiry: p.terms.expiry,
                    strike,
                    years,
                    vol,
                    quote,
                    m,
                    rel_q: [pricer::from_wad(up), pricer::from_wad(down)],
                    prepared,
                    up: prepared.at_vol(shocked_vol(vol, m, VolMove::Up, params)?)?,
                });
                book.nodes.len() - 1
            }
        };
        let node = &book.nodes[idx];
        let (px, delta, gamma, vega, theta) = price_of(p.terms.kind, &node.quote);
        book.mtm = fixed::add(book.mtm, fixed::mul_fast(p.size, px, Down)?)?;
        let g = &mut book.greeks;
        g.delta = fixed::add(g.delta, fixed::mul_fast(p.size, delta, Rounding::Nearest)?)?;
        g.gamma = fixed::add(g.gamma, fixed::mul_fast(p.size, gamma, Rounding::Nearest)?)?;
        g.vega = fixed::add(g.vega, fixed::mul_fast(p.size, vega, Rounding::Nearest)?)?;
        g.theta = fixed::add(g.theta, fixed::mul_fast(p.size, theta, Rounding::Nearest)?)?;
        // Time decay over the horizon counts when it costs this leg, never as a gain.
        let decay = fixed::mul_fast(theta, horizon, Down)?;
        let decay = if (p.size > 0) == (decay < 0) {
            decay
        } else {
            0
        };
        let vega_vol = fixed::mul_fast(vega, node.vol, Rounding::Nearest)?;
        let t = taylor_leg(p.size, spot, [px, delta, gamma, vega_vol, decay])?;
        book.all_fast &= t.is_some();
        book.taylor.push(t);
        book.leg_greeks.push([px, delta, gamma, vega_vol, decay]);
        book.legs.push((Leg::Option(idx), *p));
    }
    for (_, _, net) in per_strike {
        if net < 0 {
            book.net_short_options = fixed::sub(book.net_short_options, net)?;
        }
    }
    Ok(book)
}

/// The Taylor fast path's terms of an option leg of `size` whose per-unit Greeks are `g`
/// (value, delta, gamma, vega x vol, decay; WAD), or `None` when they exceed its bounds.
/// The decay moves one Q48 ulp against the leg (down for a long, up for a short: a
/// larger loss either way); see the floor below.
fn taylor_leg(size: i128, spot: i128, g: [i128; 5]) -> Result<Option<Taylor>, MathError> {
    let [value, delta, gamma, vega_vol, decay] = g;
    let q = |x: i128| pricer::ratio(x, spot);
    let short = size < 0;
    let t = Taylor {
        short,
        delta: pricer::from_wad(delta),
        gamma_s: pricer::from_wad(fixed::mul_fast(gamma, spot, Rounding::Nearest)?),
        vega_s: q(vega_vol)?,
        // One ulp more of decay loss (`ratio` is within one ulp of the exact quotient).
        decay: q(decay)? + if short { 1 } else { -1 },
        // The floor of the per-unit change sits one ulp above -value / S: a short leg's
        // gain stays below its value (against the account); a long leg's loss cannot be
        // taken past its value by the roundings of notional and sum (a few wei).
        floor: -q(value)? + 1,
        // Rounded down, and one wei above that (at least the value rounded up).
        notional: {
            let n = fixed::mul_fast(size, spot, Down)?;
            [n, fixed::add(n, 1)?]
        },
    };
    let within = t.notional.iter().all(|n| n.abs() < TAYLOR_NOTIONAL)
        && [t.delta, t.gamma_s, t.vega_s, t.decay, t.floor]
            .iter()
            .all(|x| x.abs() < TAYLOR_GREEK);
    Ok(within.then_some(t))
}

/// Spot-shock multiplier from forecast volatility: `clamp(forecast / ref, 1, max)`.
fn shock_scale(market: &Market, params: &MarginParams) -> Result<i128, MathError> {
    if market.ref_vol <= 0 || market.forecast_vol <= market.ref_vol {
        return Ok(WAD);
    }
    Ok(fixed::div(market.forecast_vol, market.ref_vol, Up)?.min(params.max_shock_scale))
}

/// Exact PnL of the book in one scenario (every leg repriced).
fn full_pnl(
    book: &Book,
    s: &Scenario,
    spot_move: i128,
    params: &MarginParams,
) -> Result<i128, MarginError> {
    let spot = book.spot;
    let new_spot = fixed::mul_fast(spot, WAD + spot_move, Down)?.max(1);
    let dspot = new_spot - spot;
    let mut pnl = fixed::mul_fast(book.offset_delta, dspot, Down)?;
    let ln_move = pricer::ln_move(new_spot, spot)?;
    // Reprice each node once per scenario, then apply to its legs.
    let mut repriced: Vec<Option<(i128, i128)>> = Vec::with_capacity(book.nodes.len());
    repriced.resize(book.nodes.len(), None);
    for ((idx, p), g) in book.legs.iter().zip(&book.leg_greeks) {
        let strike = i128::try_from(p.terms.strike).map_err(|_| MathError::Overflow)?;
        let leg = match *idx {
            Leg::Future => fixed::mul_fast(p.size, dspot, Down)?,
            Leg::Settled => 0,
            Leg::Expired => {
                let now_v = black_scholes::intrinsic(p.terms.kind == Kind::Call, spot, strike)?;
                let new_v = black_scholes::intrinsic(p.terms.kind == Kind::Call, new_spot, strike)?;
                fixed::mul_fast(p.size, new_v - now_v, Down)?
            }
            Leg::Option(i) => {
                let n = &book.nodes[i];
                if repriced[i].is_none() {
                    // strike / new spot within [0.01, 100], without a division (as
                    // black_scholes::check_domain tests it; both sides below 1e33).
                    let in_domain = n.strike * 100 >= new_spot && n.strike <= new_spot * 100;
                    // Outside the pricer's moneyness domain the option is deep in or out
                    // of the money: its value is its discounted intrinsic value.
                    repriced[i] = Some(if in_domain {
                        match s.vol {
                            VolMove::Up => pricer::reprice_at(&n.up, new_spot, ln_move),
                            v => {
                                let vol = shocked_vol(n.vol, n.m, v, params)?;
                                pricer::reprice(&n.prepared, new_spot, ln_move, vol)?
                            }
                        }
                    } else {
                        intrinsic_prices(new_spot, n.strike, n.years, book.market.rate)?
                    });
                }
                // SAFETY: filled just above.
                let (call, put) = repriced[i].ok_or(MarginError::BadGrid)?;
                let new_px = if p.terms.kind == Kind::Call {
                    call
                } else {
                    put
                };
                let (old_px, ..) = price_of(p.terms.kind, &n.quote);
                let per_unit = fixed::add(new_px - old_px, g[4])?.max(-old_px);
                fixed::mul_fast(p.size, per_unit, Down)?
            }
        };
        pnl = fixed::add(pnl, leg)?;
    }
    Ok(pnl)
}

/// Lower bound of an option's value outside the pricer's moneyness domain (|ln K/S| > 4.6):
/// the discounted forward intrinsic `(call, put)`, within 1e-9 of Black-Scholes there
/// for every volatility in the domain times sqrt(T) up to ~1.5.
fn intrinsic_prices(
    spot: i128,
    strike: i128,
    years: i128,
    rate: i128,
) -> Result<(i128, i128), MathError> {
    let df = pricer::exp(fixed::mul_fast(-rate, years, Up)?)?;
    let pv_k = fixed::mul_fast(strike, df, Up)?;
    Ok(((spot - pv_k).max(0), (pv_k - spot).max(0)))
}

/// Taylor PnL of the book in one near-grid scenario: per leg, delta-gamma-vega on the
/// leg's own Greeks, clamped to the option's no-arbitrage bounds (a long option cannot
/// lose more than its value, a short one cannot gain more than its value); futures,
/// expired legs and risk-offsetting collateral exactly.
fn greeks_pnl(
    book: &Book,
    s: &Scenario,
    spot_move: i128,
    params: &MarginParams,
) -> Result<i128, MarginError> {
    let ds = fixed::mul_fast(book.spot, spot_move, Down)?;
    let m = pricer::from_wad(spot_move);
    let fast = m.abs() < TAYLOR_MOVE;
    // ds^2 / 2 only feeds option legs off the fast path (the WAD expansion below).
    let half_ds2 = if fast && book.all_fast {
        0
    } else {
        fixed::mul_fast(fixed::mul_fast(ds, ds, Up)?, WAD / 2, Up)?
    };
    let new_spot = (book.spot + ds).max(1);
    let mut pnl = fixed::mul_fast(book.offset_delta, ds, Down)?;
    // Fast path (Q48, relative to spot): sum notional x change over the legs, the
    // notional split at bit 48 so every product fits 128 bits; each leg's notional is the
    // one rounded against the account for the sign of its change, and every shift floors.
    // m^2 / 2, floored for long legs and ceiled for short ones.
    let h_down = (m * m) >> (pricer::SHIFT + 1);
    let h_up = -((-(m * m)) >> (pricer::SHIFT + 1));
    let (mut hi, mut lo) = (0i128, 0i128);
    for (((leg, p), g), t) in book.legs.iter().zip(&book.leg_greeks).zip(&book.taylor) {
        if let (Leg::Option(i), Some(t), true) = (*leg, t, fast) {
            let rel = match s.vol {
                VolMove::None => 0,
                VolMove::Up => book.nodes[i].rel_q[0],
                VolMove::Down => book.nodes[i].rel_q[1],
            };
            if rel.abs() >= TAYLOR_MOVE * 4 {
                return Err(MarginError::Math(MathError::Overflow));
            }
            // The per-unit relative change, rounded against the leg: floored for a long
            // (its PnL is notional x u with notional > 0), ceiled for a short.
            let u = if t.short {
                let num = t.delta * m + t.gamma_s * h_up + t.vega_s * rel;
                -((-num) >> pricer::SHIFT)
            } else {
                (t.delta * m + t.gamma_s * h_down + t.vega_s * rel) >> pricer::SHIFT
            } + t.decay;
            let u = u.max(t.floor);
            let n = t.notional[usize::from(u < 0)];
            hi += (n >> pricer::SHIFT) * u;
            lo += (n & (pricer::ONE - 1)) * u;
            continue;
        }
        let leg_pnl = match *leg {
            Leg::Future => fixed::mul_fast(p.size, ds, Down)?,
            Leg::Settled => 0,
            Leg::Expired => {
                let strike = i128::try_from(p.terms.strike).map_err(|_| MathError::Overflow)?;
                let diff = black_scholes::intrinsic(p.terms.kind == Kind::Call, new_spot, strike)?
                    - black_scholes::intrinsic(p.terms.kind == Kind::Call, book.spot, strike)?;
                fixed::mul_fast(p.size, diff, Down)?
            }
            Leg::Option(i) => {
                let [value, delta, gamma, vega_vol, decay] = *g;
                let rel = match s.vol {
                    VolMove::None => 0,
                    VolMove::Up => fixed::mul_fast(params.vol_up, book.nodes[i].m, Up)?,
                    VolMove::Down => {
                        -fixed::mul_fast(params.vol_down, book.nodes[i].m, Up)?.min(WAD - WAD / 20)
                    }
                };
                // Each term rounded against the leg: down for a long, up for a short.
                let r = if p.size < 0 { Up } else { Down };
                let per_unit = fixed::add(
                    fixed::add(
                        fixed::mul_fast(delta, ds, r)?,
                        fixed::mul_fast(gamma, half_ds2, r)?,
                    )?,
                    fixed::add(fixed::mul_fast(vega_vol, rel, r)?, decay)?,
                )?;
                // The new value of one unit is at least 0: the change is at least -value.
                let per_unit = per_unit.max(-value);
                fixed::mul_fast(p.size, per_unit, Down)?
            }
        };
        pnl = fixed::add(pnl, leg_pnl)?;
    }
    Ok(fixed::add(pnl, hi + (lo >> pricer::SHIFT))?)
}

/// Worst weighted loss of a book over the grid (>= 0) and its scenario index.
fn worst_loss(
    book: &Book,
    grid: &[Scenario],
    params: &MarginParams,
) -> Result<(i128, u8), MarginError> {
    let scale = shock_scale(book.market, params)?;
    let mut worst = 0i128;
    let mut worst_i = 0u8;
    for (i, s) in grid.iter().enumerate() {
        let spot_move = fixed::mul_fast(s.spot, scale, Rounding::Nearest)?.max(-95 * WAD / 100);
        let pnl = if book.market.method == Method::Full || s.weight < WAD {
            full_pnl(book, s, spot_move, params)?
        } else {
            greeks_pnl(book, s, spot_move, params)?
        };
        let loss = if pnl < 0 {
            fixed::mul_fast(-pnl, s.weight, Up)?
        } else {
            0
        };
        if loss > worst {
            worst = loss;
            worst_i = i as u8;
        }
    }
    Ok((worst, worst_i))
}

/// Equity, MM, IM and Greeks of an account.
///
/// `markets` must hold every underlying of the positions and of the collateral; `prices`
/// of collateral come from the market of `config.underlying` (oracle for MM,
/// min(oracle, stable) for IM). Quote-asset cash is `cash`.
///
/// # Errors
/// [`MarginError::MissingMarket`], [`MarginError::MissingSurface`], [`MarginError::BadGrid`],
/// or a fixed-point error.
pub fn account_risk(
    cash: i128,
    collateral: &[Collateral],
    positions: &[Position],
    markets: &[Market],
    grid: &[Scenario],
    params: &MarginParams,
    now: u64,
) -> Result<AccountRisk, MarginError> {
    if grid.is_empty() || grid.len() > MAX_SCENARIOS {
        return Err(MarginError::BadGrid);
    }
    let market_of = |id: u32| {
        markets
            .iter()
            .find(|m| m.id == id)
            .ok_or(MarginError::MissingMarket(id))
    };
    for p in positions {
        market_of(p.terms.underlying)?;
    }
    let mut risk = AccountRisk {
        equity: cash,
        equity_im: cash,
        mm: 0,
        im: 0,
        mtm: 0,
        collateral_value: 0,
        collateral_gross: 0,
        greeks: Vec::new(),
        worst_scenario: u8::MAX,
    };
    // Collateral.
    let mut offsets: Vec<(u32, i128)> = Vec::new();
    for c in collateral.iter().filter(|c| c.amount > 0) {
        let m = market_of(c.config.underlying)?;
        // Risk-offsetting collateral is shocked in the scenarios with the options on its
        // underlying, so only its liquidity (size) term stays in the haircut: keeping the
        // floor and the volatility term too would count its price risk twice.
        let config = if c.config.risk_offsetting {
            AssetConfig {
                haircut_floor_ppm: 0,
                vol_multiplier_ppm: 0,
                ..c.config
            }
        } else {
            c.config
        };
        let h = haircut(&config, c.amount, m.forecast_vol, params)?;
        let v = collateral_value(c.amount, m.spot, h)?;
        let v_im = collateral_value(c.amount, m.spot.min(m.stable), h)?;
        risk.collateral_value = fixed::add(risk.collateral_value, v)?;
        risk.collateral_gross = fixed::add(
            risk.collateral_gross,
            collateral_value(c.amount, m.spot, 0)?,
        )?;
        risk.equity = fixed::add(risk.equity, v)?;
        risk.equity_im = fixed::add(risk.equity_im, v_im)?;
        if c.config.risk_offsetting {
            match offsets.iter_mut().find(|o| o.0 == m.id) {
                Some(o) => o.1 = fixed::add(o.1, c.amount)?,
                None => offsets.push((m.id, c.amount)),
            }
        }
    }
    // Positions, per underlying.
    let mut worst_overall = -1i128;
    let mut mtm_im = 0i128;
    for m in markets {
        let has_positions = positions.iter().any(|p| p.terms.underlying == m.id);
        let offset = offsets.iter().find(|o| o.0 == m.id).map_or(0, |o| o.1);
        if !has_positions {
            continue;
        }
        let book = build_book(m, positions, offset, params, now)?;
        let (loss, idx) = worst_loss(&book, grid, params)?;
        if loss > worst_overall {
            worst_overall = loss;
            risk.worst_scenario = idx;
        }
        // Contingencies.
        let short_notional = fixed::mul_fast(book.net_short_options, m.spot, Up)?;
        let fut_notional = fixed::mul_fast(book.future_size.abs(), m.spot, Up)?;
        let mm_c = fixed::add(
            fixed::mul_fast(short_notional, params.mm_short_option, Up)?,
            fixed::mul_fast(fut_notional, params.mm_future, Up)?,
        )?;
        let im_c = fixed::add(
            fixed::mul_fast(short_notional, params.im_short_option, Up)?,
            fixed::mul_fast(fut_notional, params.im_future, Up)?,
        )?;
        risk.mm = fixed::add(risk.mm, fixed::add(loss, mm_c)?)?;
        risk.im = fixed::add(
            risk.im,
            fixed::add(fixed::mul_fast(loss, params.im_multiplier, Up)?, im_c)?,
        )?;
        // Mark-to-market: oracle for MM; for IM the lower of oracle and stable (second-order
        // expansion around the oracle, exact to third order in the gap, which the stable
        // price's bounded drift keeps to a few percent).
        risk.mtm = fixed::add(risk.mtm, book.mtm)?;
        let gap = m.stable - m.spot;
        let at_stable = {
            let g = &book.greeks;
            let lin = fixed::mul_fast(g.delta - offset, gap, Down)?;
            let quad = fixed::mul_fast(
                fixed::mul_fast(fixed::mul_fast(g.gamma, WAD / 2, Down)?, gap, Down)?,
                gap,
                Down,
            )?;
            fixed::add(book.mtm, fixed::add(lin, quad)?)?
        };
        mtm_im = fixed::add(mtm_im, book.mtm.min(at_stable))?;
        risk.greeks.push(book.greeks);
    }
    // Underlyings held only as risk-offsetting collateral still report their delta.
    for (id, amount) in offsets {
        if !risk.greeks.iter().any(|g| g.underlying == id) {
            risk.greeks.push(Greeks {
                underlying: id,
                delta: amount,
                ..Greeks::default()
            });
        }
    }
    risk.equity = fixed::add(risk.equity, risk.mtm)?;
    let mtm_im = if mtm_im > 0 {
        fixed::mul_fast(mtm_im, params.im_positive_mtm, Down)?
    } else {
        mtm_im
    };
    risk.equity_im = fixed::add(risk.equity_im, mtm_im)?;
    Ok(risk)
}

/// Whether a change from `before` to `after` strictly reduces an account's risk
/// (Mango v4's "health may not fall"): MM falls and `equity - MM` rises.
pub fn reduces_risk(before: &Standing, after: &Standing) -> bool {
    after.mm < before.mm && after.mm_surplus() > before.mm_surplus()
}

/// What the post-action rule needs of an account: both equities and both requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    /// Equity for the maintenance test (oracle prices).
    pub equity: i128,
    /// Equity for the initial test (conservative prices).
    pub equity_im: i128,
    /// Maintenance margin.
    pub mm: i128,
    /// Initial margin.
    pub im: i128,
}

impl Standing {
    /// `equity - MM` (negative: liquidatable).
    pub fn mm_surplus(&self) -> i128 {
        self.equity.saturating_sub(self.mm)
    }
    /// `equity_im - IM` (negative: may not add risk).
    pub fn im_surplus(&self) -> i128 {
        self.equity_im.saturating_sub(self.im)
    }
}

impl From<&AccountRisk> for Standing {
    fn from(r: &AccountRisk) -> Self {
        Standing {
            equity: r.equity,
            equity_im: r.equity_im,
            mm: r.mm,
            im: r.im,
        }
    }
}

/// The outcome of the post-action rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The action may stand.
    Allowed,
    /// A risk-reducing action left equity below MM: `(equity, mm)`.
    BelowMaintenance(i128, i128),
    /// An action adding risk left equity (IM prices) below IM: `(equity_im, im)`.
    BelowInitial(i128, i128),
    /// An action adding risk met a stale or failed reading.
    FailedReading,
    /// An action adding risk while new risk is paused.
    Paused,
}

/// The post-action rule (Mango v4's "health may not fall"): an action that strictly
/// reduces the account's risk ([`reduces_risk`]) needs only MM afterwards; any other
/// action needs IM, fresh readings (`failed` false) and no pause. While paused, an
/// account that needs no margin at all (IM 0, IM equity >= 0) may still act.
pub fn verdict(before: &Standing, after: &Standing, failed: bool, paused: bool) -> Verdict {
    if reduces_risk(before, after) {
        return if after.mm_surplus() >= 0 {
            Verdict::Allowed
        } else {
            Verdict::BelowMaintenance(after.equity, after.mm)
        };
    }
    if failed {
        return Verdict::FailedReading;
    }
    if paused && !(after.im == 0 && after.equity_im >= 0) {
        return Verdict::Paused;
    }
    if after.im_surplus() >= 0 {
        Verdict::Allowed
    } else {
        Verdict::BelowInitial(after.equity_im, after.im)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::pack;
    use std::{println, vec};

    const NOW: u64 = 1_735_689_600;
    const DAY: u64 = 86_400;
    const ETH: u32 = 1;

    fn market(spot: i128, method: Method, forecast_vol: i128) -> Market {
        let flat = |days: u64, vol: i128| {
            let t = i128::from(days * DAY) * WAD / YEAR;
            let a = fixed::mul(fixed::mul(vol, vol, Down).unwrap(), t, Down).unwrap();
            (
                NOW + days * DAY,
                SviParams {
                    a,
                    b: 0,
                    rho: 0,
                    m: 0,
                    sigma: WAD / 10,
                },
            )
        };
        Market {
            id: ETH,
            spot,
            stable: spot,
            rate: 4 * WAD / 100,
            forecast_vol,
            ref_vol: 8 * WAD / 10,
            method,
            surfaces: vec![flat(30, 65 * WAD / 100), flat(90, 60 * WAD / 100)],
            settlements: Vec::new(),
        }
    }

    fn opt(kind: Kind, strike: i128, days: u64, size: i128) -> Position {
        let terms = Terms {
            kind,
            underlying: ETH,
            expiry: NOW + days * DAY,
            strike: strike as u128 * WAD as u128,
        };
        let _ = pack(&terms);
        Position {
            terms,
            size: size * WAD / 10,
            entry: 0,
        }
    }

    fn fut(size_tenths: i128, entry_price: i128) -> Position {
        let terms = Terms {
            kind: Kind::Future,
            underlying: ETH,
            expiry: NOW + 90 * DAY,
            strike: 0,
        };
        let size = size_tenths * WAD / 10;
        Position {
            terms,
            size,
            entry: fixed::mul(size, entry_price * WAD, Down).unwrap(),
        }
    }

    fn weth(amount: i128, offsetting: bool) -> Collateral {
        Collateral {
            amount: amount * WAD,
            config: AssetConfig {
                underlying: ETH,
                enabled: true,
                risk_offsetting: offsetting,
                haircut_floor_ppm: 100_000,
                vol_multiplier_ppm: 1_000_000,
                haircut_max_ppm: 500_000,
                ..AssetConfig::default()
            },
        }
    }

    fn risk(cash: i128, coll: &[Collateral], pos: &[Position], m: Market) -> AccountRisk {
        account_risk(
            cash * WAD,
            coll,
            pos,
            &[m],
            &DEFAULT_GRID,
            &MarginParams::DEFAULT,
            NOW,
        )
        .unwrap()
    }

    /// The test portfolios of issue 5 (sizes in tenths of a contract).
    fn portfolios() -> Vec<(&'static str, Vec<Collateral>, Vec<Position>)> {
        use Kind::{Call, Put};
        vec![
            (
                "covered call",
                vec![weth(10, true)],
                vec![opt(Call, 2200, 30, -100)],
            ),
            (
                "short straddle",
                vec![],
                vec![opt(Call, 2000, 30, -10), opt(Put, 2000, 30, -10)],
            ),
            (
                "long straddle",
                vec![],
                vec![opt(Call, 2000, 30, 10), opt(Put, 2000, 30, 10)],
            ),
            (
                "calendar spread",
                vec![],
                vec![opt(Call, 2000, 30, -10), opt(Call, 2000, 90, 10)],
            ),
            (
                "deep OTM short puts",
                vec![],
                vec![opt(Put, 1000, 30, -100)],
            ),
            (
                "short put + future hedge",
                vec![],
                vec![opt(Put, 2000, 30, -10), fut(-5, 2000)],
            ),
            (
                "put spread",
                vec![],
                vec![opt(Put, 1900, 30, -10), opt(Put, 1700, 30, 10)],
            ),
            (
                "risk reversal",
                vec![],
                vec![opt(Put, 1800, 90, -10), opt(Call, 2300, 90, 10)],
            ),
        ]
    }

    #[test]
    fn greeks_path_against_full_revaluation() {
        // The Greeks path may overstate risk but must not understate it by more than
        // the documented margin (README: 15% of full-revaluation MM).
        let mut worst_under = 0i128;
        for (name, coll, pos) in portfolios() {
            let g = risk(100_000, &coll, &pos, market(2_000 * WAD, Method::Greeks, 0));
            let f = risk(100_000, &coll, &pos, market(2_000 * WAD, Method::Full, 0));
            let gap = (g.mm - f.mm) * 10_000 / f.mm.max(1);
            println!(
                "{name:>26}: MM greeks {:>12} full {:>12} gap {:+.2}%",
                g.mm / WAD,
                f.mm / WAD,
                gap as f64 / 100.0
            );
            assert_eq!(g.mtm, f.mtm, "{name}: same mark-to-market");
            worst_under = worst_under.min(gap);
            assert!(
                gap >= -1_500,
                "{name}: Greeks path understates MM by {}bp",
                -gap
            );
        }
        println!("worst understatement: {}bp", -worst_under);
    }

    #[test]
    fn im_is_at_least_mm_and_long_options_never_lose_more_than_value() {
        for (name, coll, pos) in portfolios() {
            for method in [Method::Greeks, Method::Full] {
                let r = risk(100_000, &coll, &pos, market(2_000 * WAD, method, 0));
                assert!(r.im >= r.mm, "{name}");
                assert!(
                    r.equity_im <= r.equity,
                    "{name}: IM equity is the conservative one"
                );
                if pos
                    .iter()
                    .all(|p| p.size > 0 && p.terms.kind != Kind::Future)
                {
                    assert!(
                        r.mm <= r.mtm,
                        "{name}: long-only MM {} > value {}",
                        r.mm,
                        r.mtm
                    );
                }
            }
        }
    }

    /// A deterministic xorshift generator for the property tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn coin(&mut self) -> bool {
            self.next() & 1 == 0
        }
        fn range(&mut self, lo: i128, hi: i128) -> i128 {
            lo + (self.next() % (hi - lo + 1) as u64) as i128
        }
    }

    /// A random book: up to 6 option legs (calls and puts, 5 strikes, 2 expiries, long or
    /// short, odd sizes in wei so that every product rounds), maybe a future, maybe WETH.
    fn random_book(r: &mut Rng) -> (Vec<Collateral>, Vec<Position>, Method) {
        let mut pos = Vec::new();
        for _ in 0..r.range(1, 6) {
            let kind = if r.coin() { Kind::Call } else { Kind::Put };
            let mut p = opt(
                kind,
                1_600 + 200 * r.range(0, 4),
                [30, 90][r.range(0, 1) as usize],
                0,
            );
            p.size = r.range(-30 * WAD, 30 * WAD) | 1;
            pos.push(p);
        }
        if r.next().is_multiple_of(3) {
            pos.push(fut(r.range(-50, 50) | 1, 2_000));
        }
        let coll = if r.coin() {
            vec![weth(r.range(1, 20), r.coin())]
        } else {
            vec![]
        };
        let method = if r.coin() {
            Method::Greeks
        } else {
            Method::Full
        };
        (coll, pos, method)
    }

    /// Requirements are ordered and monotone the right way on random books: MM >= 0,
    /// IM >= MM, IM equity <= MM equity; more collateral never lowers equity nor raises
    /// MM; a lower spot lowers the equity and the surplus over MM of a book of short puts.
    #[test]
    fn random_books_requirements_ordered_and_monotone() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..300 {
            let (coll, pos, method) = random_book(&mut r);
            let m = market(2_000 * WAD, method, 0);
            let a = risk(10_000, &coll, &pos, m.clone());
            assert!(a.mm >= 0 && a.im >= a.mm, "{a:?}");
            assert!(a.equity_im <= a.equity, "{a:?}");
            let mut more = coll.clone();
            more.push(weth(1, false));
            let b = risk(10_000, &more, &pos, m);
            assert!(b.equity > a.equity && b.mm == a.mm, "{a:?} {b:?}");
        }
        for _ in 0..100 {
            let strike = 1_600 + 200 * r.range(0, 4);
            let puts: Vec<Position> = (0..r.range(1, 4))
                .map(|_| {
                    let mut p = opt(Kind::Put, strike, 30, 0);
                    p.size = -r.range(1, 20 * WAD);
                    p
                })
                .collect();
            let method = if r.coin() {
                Method::Greeks
            } else {
                Method::Full
            };
            let hi = risk(0, &[], &puts, market(2_000 * WAD, method, 0));
            let lo = risk(0, &[], &puts, market(1_900 * WAD, method, 0));
            // MM is the further loss from the current mark, which already took the move:
            // it may fall as a put goes in the money. What must fall is the surplus.
            assert!(lo.equity < hi.equity, "{hi:?} {lo:?}");
            assert!(lo.mm_surplus() < hi.mm_surplus(), "{hi:?} {lo:?}");
        }
    }

    /// Rounding never favours the account: splitting every position into two halves
    /// (each half rounded on its own) can only lower equity and raise MM and IM, and a
    /// short option of one wei still carries a margin of at least one wei.
    #[test]
    fn rounding_never_favours_the_account() {
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..300 {
            let (coll, pos, method) = random_book(&mut r);
            let mut split = Vec::new();
            for p in &pos {
                let half = p.size / 2;
                let mut a = *p;
                let mut b = *p;
                a.size = half;
                b.size = p.size - half;
                a.entry = p.entry / 2;
                b.entry = p.entry - a.entry;
                split.push(a);
                split.push(b);
            }
            let m = market(2_000 * WAD, method, 0);
            let whole = risk(10_000, &coll, &pos, m.clone());
            let parts = risk(10_000, &coll, &split, m);
            assert!(parts.equity <= whole.equity, "{whole:?} {parts:?}");
            assert!(parts.mm >= whole.mm, "{whole:?} {parts:?}");
            assert!(parts.im >= whole.im, "{whole:?} {parts:?}");
        }
        for kind in [Kind::Call, Kind::Put] {
            for method in [Method::Greeks, Method::Full] {
                let mut p = opt(kind, 2_000, 30, 0);
                p.size = -1;
                let a = account_risk(
                    0,
                    &[],
                    &[p],
                    &[market(2_000 * WAD, method, 0)],
                    &DEFAULT_GRID,
                    &MarginParams::DEFAULT,
                    NOW,
                )
                .unwrap();
                assert!(a.mm >= 1 && a.equity <= 0, "{kind:?} {a:?}");
            }
        }
    }

    /// The Taylor fast path rounds every leg against its holder: a leg's PnL is never
    /// above the same Taylor expansion computed without rounding (in `f64`, whose error
    /// here is ~1e-17 of the notional, far below the Q48 ulp of ~3.6e-15 of it that a
    /// rounding in the wrong direction would give away), long or short, in every near
    /// scenario, vol up, flat and down.
    #[test]
    fn taylor_fast_path_rounds_against_each_leg() {
        use Kind::{Call, Put};
        let m = market(2_345 * WAD + 678_901_234_567, Method::Greeks, 0);
        let params = MarginParams::DEFAULT;
        let q48 = (1u128 << pricer::SHIFT) as f64;
        let mut checked = 0;
        for (kind, strike, days) in [
            (Call, 2_100, 30),
            (Put, 1_900, 30),
            (Call, 3_300, 90),
            (Put, 1_200, 90),
            (Call, 2_345, 30),
        ] {
            // Odd sizes (tenths of a contract), so notional and Greeks fall between ulps.
            for tenths in [7_777, -7_777, 1_234_567, -1_234_567, -3, 11] {
                let leg = opt(kind, strike, days, tenths);
                let book = build_book(&m, &[leg], 0, &params, NOW).unwrap();
                let t = book.taylor[0].as_ref().expect("on the fast path");
                let Leg::Option(node) = book.legs[0].0 else {
                    panic!("an option leg")
                };
                let notional = leg.size as f64 * book.spot as f64 / WAD as f64;
                for s in DEFAULT_GRID.iter().filter(|s| s.weight == WAD) {
                    let got = greeks_pnl(&book, s, s.spot, &params).unwrap();
                    let mv = pricer::from_wad(s.spot) as f64;
                    let rel = match s.vol {
                        VolMove::None => 0,
                        VolMove::Up => book.nodes[node].rel_q[0],
                        VolMove::Down => book.nodes[node].rel_q[1],
                    } as f64;
                    let x = (t.delta as f64 * mv
                        + t.gamma_s as f64 * (mv * mv / (2.0 * q48))
                        + t.vega_s as f64 * rel)
                        / q48;
                    let u = (x + t.decay as f64).max(t.floor as f64);
                    let exact = notional * u / q48;
                    let tol = notional.abs() * 1e-16 + 1.0;
                    assert!(
                        (got as f64) <= exact + tol,
                        "{kind:?} {strike} {days}d {tenths}/10: {got} > {exact} ({s:?})"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 600, "{checked}");
    }

    /// The largest relative vol move the parameters allow (vol up at its bound, 3, times
    /// the largest vol-shock scale, at a day or less to expiry) stays below the fast
    /// path's limit on it (`4 x TAYLOR_MOVE`), so no accepted parameter set can make a
    /// check fail with `Overflow` there.
    #[test]
    fn largest_vol_move_stays_within_the_fast_path() {
        let m = vol_shock_scale(WAD / (365 * 24 * 60)).unwrap();
        assert_eq!(m, vol_shock_scale(WAD / 365).unwrap());
        let mut p = MarginParams::DEFAULT;
        p.vol_up = 3 * WAD;
        assert!(p.validate().is_ok());
        p.vol_up += 1;
        assert!(p.validate().is_err());
        let rel = pricer::from_wad(fixed::mul_fast(3 * WAD, m, Up).unwrap());
        // 3 x 30^0.3 = 8.3, half the limit of 16.
        assert!(rel < TAYLOR_MOVE * 4 * 6 / 10, "{rel}");
    }

    /// Legs beyond the Taylor fast path's bounds (notional of 2^90 wei and more) take the
    /// WAD path: the two paths agree, scaled, on the same book.
    #[test]
    fn taylor_fast_and_wad_paths_agree() {
        let book = |scale: i128| {
            [
                opt(Kind::Put, 1_900, 30, -10 * scale),
                opt(Kind::Call, 2_100, 30, 10 * scale),
                opt(Kind::Call, 2_000, 90, -5 * scale),
            ]
        };
        let m = || market(2_000 * WAD, Method::Greeks, 0);
        // 1e5 contracts: notional 2e26 wei, fast path. 1e6: 2e27 > 2^90, WAD path.
        let small = risk(0, &[], &book(100_000), m());
        let large = risk(0, &[], &book(1_000_000), m());
        assert!(book(1_000_000)[0].size.abs() * 2_000 > TAYLOR_NOTIONAL);
        assert!(book(100_000)[0].size.abs() * 2_000 < TAYLOR_NOTIONAL);
        let close = |a: i128, b: i128| (a - b).abs() <= b.abs() / 1_000_000_000 + 10;
        assert!(
            close(large.mm, small.mm * 10),
            "{} {}",
            large.mm,
            small.mm * 10
        );
        assert!(
            close(large.im, small.im * 10),
            "{} {}",
            large.im,
            small.im * 10
        );
        assert_eq!(large.worst_scenario, small.worst_scenario);
    }

    #[test]
    fn cash_moves_equity_one_for_one_and_not_margin() {
        let pos = vec![opt(Kind::Put, 1800, 30, -20)];
        let a = risk(1_000, &[], &pos, market(2_000 * WAD, Method::Greeks, 0));
        let b = risk(1_500, &[], &pos, market(2_000 * WAD, Method::Greeks, 0));
        assert_eq!(b.equity - a.equity, 500 * WAD);
        assert_eq!((a.mm, a.im), (b.mm, b.im));
    }

    #[test]
    fn short_put_margin_rises_as_spot_falls_and_with_forecast_vol() {
        let pos = vec![opt(Kind::Put, 1800, 30, -20)];
        let mut last_mm = 0;
        for spot in [2_400, 2_200, 2_000, 1_900, 1_800, 1_600] {
            let r = risk(10_000, &[], &pos, market(spot * WAD, Method::Full, 0));
            assert!(r.mm >= last_mm, "MM fell as spot fell to {spot}");
            last_mm = r.mm;
        }
        let calm = risk(
            10_000,
            &[],
            &pos,
            market(2_000 * WAD, Method::Greeks, 5 * WAD / 10),
        );
        let wild = risk(
            10_000,
            &[],
            &pos,
            market(2_000 * WAD, Method::Greeks, 16 * WAD / 10),
        );
        assert!(wild.mm > calm.mm, "shocks scale with forecast vol");
    }

    #[test]
    fn haircut_grows_with_volatility_and_size_within_bounds() {
        let mut c = weth(1, false).config;
        c.liquidity_depth = 1_000 * WAD as u128;
        let p = MarginParams::DEFAULT;
        let h0 = haircut(&c, WAD, 0, &p).unwrap();
        let h1 = haircut(&c, WAD, WAD, &p).unwrap();
        let h2 = haircut(&c, 500 * WAD, WAD, &p).unwrap();
        let h3 = haircut(&c, 1_000_000 * WAD, 10 * WAD, &p).unwrap();
        assert!(h0 >= WAD / 10 && h1 > h0 && h2 > h1, "{h0} {h1} {h2}");
        assert_eq!(h3, WAD / 2, "clamped at the maximum");
        // Value rounds down.
        assert_eq!(collateral_value(3, WAD / 3, 0).unwrap(), 0);
    }

    #[test]
    fn stable_price_moves_at_bounded_rate() {
        let rate = 3 * WAD / 10_000; // 0.03% per second
        assert_eq!(
            stable_price_update(0, 100 * WAD, 5, rate).unwrap(),
            100 * WAD
        );
        let s = stable_price_update(100 * WAD, 200 * WAD, 10, rate).unwrap();
        assert_eq!(s, 100 * WAD + 3 * WAD / 10);
        assert_eq!(
            stable_price_update(100 * WAD, 100 * WAD + 1, 10_000, rate).unwrap(),
            100 * WAD + 1
        );
        assert_eq!(
            stable_price_update(100 * WAD, 50 * WAD, 10, rate).unwrap(),
            100 * WAD - 3 * WAD / 10
        );
    }

    #[test]
    fn ewma_rises_after_a_large_move() {
        let lambda = 94 * WAD / 100;
        let v0 = fixed::mul(WAD / 2, WAD / 2, Down).unwrap(); // 50% vol
        let calm = ewma_variance_update(v0, 2_000 * WAD, 2_000 * WAD, 3_600, lambda).unwrap();
        let crash = ewma_variance_update(v0, 2_000 * WAD, 1_800 * WAD, 3_600, lambda).unwrap();
        assert!(calm < v0 && crash > v0);
        assert!(forecast_vol(crash).unwrap() > WAD / 2);
    }

    #[test]
    fn risk_reduction_rule() {
        let pos = vec![opt(Kind::Put, 2000, 30, -20)];
        let before = risk(2_000, &[], &pos, market(2_000 * WAD, Method::Greeks, 0));
        let half = vec![opt(Kind::Put, 2000, 30, -10)];
        let after = risk(
            2_000 - 60,
            &[],
            &half,
            market(2_000 * WAD, Method::Greeks, 0),
        );
        let (b, a) = (Standing::from(&before), Standing::from(&after));
        assert!(reduces_risk(&b, &a));
        assert!(!reduces_risk(&a, &b));
        // Below IM but above MM: the reduction stands, the reverse (adding risk) does not.
        let thin = Standing {
            equity_im: a.im - 1,
            ..a
        };
        assert_eq!(verdict(&b, &thin, true, true), Verdict::Allowed);
        assert_eq!(verdict(&thin, &b, true, false), Verdict::FailedReading);
        assert_eq!(verdict(&thin, &b, false, true), Verdict::Paused);
        let over = Standing {
            equity_im: b.im - 1,
            ..b
        };
        assert_eq!(
            verdict(&thin, &over, false, false),
            Verdict::BelowInitial(b.im - 1, b.im)
        );
        let worse = Standing {
            equity: b.mm - 10,
            ..b
        };
        let under = Standing {
            equity: a.mm - 1,
            ..a
        };
        assert_eq!(
            verdict(&worse, &under, false, false),
            Verdict::BelowMaintenance(a.mm - 1, a.mm)
        );
        let flat = Standing::default();
        assert_eq!(verdict(&flat, &flat, false, true), Verdict::Allowed);
    }

    #[test]
    fn expired_positions_count_at_their_payoff() {
        let terms = Terms {
            kind: Kind::Put,
            underlying: ETH,
            expiry: NOW - DAY,
            strike: 2_100 * WAD as u128,
        };
        let pos = vec![Position {
            terms,
            size: -WAD,
            entry: 0,
        }];
        let mut m = market(2_000 * WAD, Method::Greeks, 0);
        let r = account_risk(
            0,
            &[],
            &pos,
            &[m.clone()],
            &DEFAULT_GRID,
            &MarginParams::DEFAULT,
            NOW,
        )
        .unwrap();
        assert_eq!(r.mtm, -100 * WAD);
        m.settlements.push((NOW - DAY, 2_050 * WAD));
        let r = account_risk(
            0,
            &[],
            &pos,
            &[m],
            &DEFAULT_GRID,
            &MarginParams::DEFAULT,
            NOW,
        )
        .unwrap();
        assert_eq!(r.mtm, -50 * WAD);
    }

    #[test]
    fn params_bounds() {
        assert_eq!(MarginParams::DEFAULT.validate(), Ok(()));
        let mut p = MarginParams::DEFAULT;
        p.im_multiplier = WAD - 1;
        assert_eq!(p.validate(), Err(6));
    }
}
