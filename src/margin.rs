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
//! - Every scenario is a full revaluation: each (expiry, strike) repriced at the shocked
//!   spot and vol. The worst loss between the grid's weight-1 points is searched too
//!   ([`worst_loss`]): a grid is a sample of a continuous range, and a book's worst loss
//!   can sit between its points.
//! - Theta enters per leg over `theta_horizon` when it costs that leg, never as a gain.
//! - Each option leg's scenario PnL is clamped to its no-arbitrage bound: one unit's value
//!   cannot fall below zero, so a long option never loses more than its value.
//! - MM = worst scenario loss + contingencies (a share of spot per net short option
//!   contract, a share of futures notional, synthetic futures included: see
//!   [`net_per_strike`]). IM = `im_multiplier` x worst loss + larger contingencies.
//! - Equity for MM = haircut collateral at the oracle price + cash + mark-to-market.
//!   Equity for IM values assets at min(oracle, stable) and liabilities at
//!   max(oracle, stable) (Mango v4), and discounts positive mark-to-market.
//!
//! # Pricing
//! Options are priced with [`crate::pricer`] (Q48, within ~1e-13 of spot of the exact
//! reference [`crate::black_scholes`], at a tenth of its gas).
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

/// The method the oracle names per underlying. **Both are full revaluation now**: the
/// delta-gamma-vega Taylor path (`Greeks`) understated full revaluation on 4% of random
/// books, by up to 72% (no volga or vanna, Taylor steps on scaled-up grids, unbounded gains
/// of long legs), so a check no longer trusts it, whatever the oracle says. The value is
/// kept in the oracle's layout until the parameters are redesigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Retired Taylor path: valued as [`Method::Full`].
    Greeks,
    /// Every option repriced in every scenario, and between the grid's points.
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

/// Seconds in which the EWMA's `lambda` applies once: `lambda` is the weight the variance
/// keeps per hour of feed time.
pub const EWMA_LAMBDA_SECONDS: u64 = 3_600;

/// One feed round's step of the EWMA of squared log returns (annualised variance, WAD),
/// weighted by the feed time the round covers:
/// `var' = d x var + (1 - d) x r^2 x YEAR / dt`, `d = lambda^(dt / 1 h)`, `r = ln(new / old)`,
/// `dt` the seconds between the two rounds' timestamps.
///
/// For small `dt` a sample's weight `(1 - d) / dt` tends to `-ln(lambda) / 1 h`, so a
/// return adds `r^2 x YEAR x -ln(lambda) / 1 h` whatever interval it covers: splitting an
/// hour's move into many rounds adds their squared returns (realised variance) instead of
/// dividing one return by a short interval. `dt = 0` (two rounds with one timestamp) uses
/// that limit. The oracle applies this once per feed round, in round order, so the forecast
/// is a function of the feed's rounds and timestamps alone, not of when anyone pokes
/// (issue 16, finding 4). Rounded up (a larger variance raises margin).
pub fn ewma_variance_update(
    variance: i128,
    old_price: i128,
    new_price: i128,
    dt_seconds: u64,
    lambda: i128,
) -> Result<i128, MathError> {
    if old_price <= 0 || new_price <= 0 || lambda <= 0 || lambda >= WAD {
        return Ok(variance);
    }
    // k = -ln(lambda) per hour (WAD, > 0); decay over dt: d = exp(-k dt / 1h).
    let k = -math::ln(lambda)?;
    let hour = i128::from(EWMA_LAMBDA_SECONDS);
    // Ten years of feed time decays any variance to nothing; the cap keeps exp in range.
    let dt = i128::from(dt_seconds.min(10 * 365 * 86_400));
    let d = math::exp(-fixed::mul_div(k, dt, hour, Down)?)?;
    let r = math::ln(fixed::div(new_price, old_price, Rounding::Nearest)?)?;
    let r2 = fixed::mul(r, r, Up)?;
    let annual = r2.checked_mul(YEAR).ok_or(MathError::Overflow)?;
    let sample = if dt == 0 {
        fixed::mul_div(annual, k, hour * WAD, Up)?
    } else {
        fixed::mul_div(annual, WAD - d, dt * WAD, Up)?
    };
    fixed::add(fixed::mul(d, variance, Up)?, sample)
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
    quote: black_scholes::Quote,
    /// `K min(e^(-rT), 1)` rounded down and `K max(e^(-rT), 1)` rounded up: a put is worth
    /// at least `K min(..) - S`, a call `S - K max(..)`, at any time to expiry.
    strike_pv: [i128; 2],
    /// The node ready to reprice at its vol-up, unchanged and vol-down volatilities (the
    /// order of [`vol_index`]); `None` for a strike outside the pricer's moneyness domain
    /// (`strike / spot` beyond 0.01 .. 100), valued at its discounted intrinsic value in
    /// every scenario ([`intrinsic_prices`]: within 1e-9 of Black-Scholes there, and the
    /// grid's moves keep it at least 50x away from the money).
    at: Option<[pricer::AtVol; 3]>,
}

impl Node {
    /// `sigma sqrt T` at the unchanged vol (0 for an intrinsic-only node).
    fn vol_sqrt_t(&self) -> i128 {
        self.at.map_or(0, |a| a[1].v_wad())
    }
}

/// Index of a vol move in [`Node::at`].
fn vol_index(v: VolMove) -> usize {
    match v {
        VolMove::Up => 0,
        VolMove::None => 1,
        VolMove::Down => 2,
    }
}

/// Nodes with `sigma sqrt T` below this (WAD) make the grid too coarse for the book: the
/// spot spacing of the grid (4.5%) is then more than a third of the scale on which the
/// option's value bends, and a worst loss can sit between grid points. Their books are
/// searched between the points ([`worst_loss`]).
pub const REFINE_VOL_SQRT_T: i128 = 15 * WAD / 100;
/// Nodes with `sigma sqrt T` below this (WAD) have the spot at their strike join the
/// points searched (their value bends most there). A tenth of it was tried: the 128-option
/// benchmark book needs 75 evaluations instead of 87, but a 6-hour diagonal then fell 2.6%
/// short of the dense scan.
pub const STRIKE_POINT_VOL_SQRT_T: i128 = REFINE_VOL_SQRT_T;
/// Parabolic-interpolation steps of one refined local minimum of a smooth book.
const REFINE_STEPS: usize = 3;
/// Golden-section steps of one refined local minimum of a book holding short-dated options:
/// the bracket (two grid half-steps) shrinks to 0.618^12 = 0.3% of its width.
const GOLDEN_STEPS: usize = 12;
/// Local minima refined per vol move, the lowest first.
const REFINE_MINIMA: usize = 3;
/// A smooth book's local minimum is refined only when its loss is within
/// `1 / REFINE_MARGIN_DIV` of the worst so far.
const REFINE_MARGIN_DIV: i128 = 5;

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
    /// Per leg (same order as `legs`), for options, the theta loss of one unit over the
    /// horizon when it is a loss for this leg (else 0).
    decay: Vec<i128>,
    offset_delta: i128,
    greeks: Greeks,
    mtm: i128,
    /// Option contracts short per (expiry, strike) after longs there offset them and
    /// after synthetic futures are taken out (see [`net_per_strike`]).
    net_short_options: i128,
    /// Signed futures size, real futures plus synthetic ones (long call + short put, or
    /// short call + long put, at one expiry and strike): the futures contingency's base.
    future_size: i128,
}

/// The contingencies' netting at one (expiry, strike) with net call size `c` and net put
/// size `p`: `(naked short contracts, synthetic future size)`. A long call and a short put
/// at one strike are a synthetic long future (and a short call with a long put a short
/// one): the matched size leaves the short-option count and counts as a future, so a
/// synthetic carries the futures contingency, never less than the future it replicates.
/// What is left short of either kind counts as naked short contracts.
fn net_per_strike(c: i128, p: i128) -> Result<(i128, i128), MathError> {
    let synthetic = if c > 0 && p < 0 {
        c.min(-p)
    } else if c < 0 && p > 0 {
        -(-c).min(p)
    } else {
        0
    };
    let (c, p) = (fixed::sub(c, synthetic)?, fixed::add(p, synthetic)?);
    let shorts = fixed::add((-c).max(0), (-p).max(0))?;
    Ok((shorts, synthetic))
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
        decay: Vec::with_capacity(positions.len()),
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
    // Net call and put sizes per (expiry, strike).
    let mut per_strike: Vec<(u64, i128, i128, i128)> = Vec::new();
    // The theta horizon in years, rounded up: the decay it gives is a loss rounded up.
    let horizon = fixed::mul_div(params.theta_horizon, WAD, YEAR, Up)?;
    // (expiry, vol-shock scale, pricer terms, discount factor).
    let mut per_expiry: Vec<(u64, i128, pricer::Expiry, i128)> = Vec::new();
    for p in positions.iter().filter(|p| p.terms.underlying == market.id) {
        let strike = i128::try_from(p.terms.strike).map_err(|_| MathError::Overflow)?;
        if p.terms.kind == Kind::Future {
            // An expired future with a recorded settlement price is worth `size x settle -
            // entry`, whatever spot does (what `settle` will pay): no scenario risk and no
            // contingency. Before a price is recorded it stays marked to live spot.
            let settle = if p.terms.expiry <= now {
                market
                    .settlements
                    .iter()
                    .find(|s| s.0 == p.terms.expiry)
                    .map(|s| s.1)
            } else {
                None
            };
            let price = settle.unwrap_or(spot);
            let v = fixed::sub(fixed::mul_fast(p.size, price, Down)?, p.entry)?;
            book.mtm = fixed::add(book.mtm, v)?;
            if settle.is_some() {
                book.legs.push((Leg::Settled, *p));
            } else {
                book.future_size = fixed::add(book.future_size, p.size)?;
                book.greeks.delta = fixed::add(book.greeks.delta, p.size)?;
                book.legs.push((Leg::Future, *p));
            }
            book.decay.push(0);
            continue;
        }
        let (dc, dp) = if p.terms.kind == Kind::Call {
            (p.size, 0)
        } else {
            (0, p.size)
        };
        match per_strike
            .iter_mut()
            .find(|e| e.0 == p.terms.expiry && e.1 == strike)
        {
            Some(e) => {
                e.2 = fixed::add(e.2, dc)?;
                e.3 = fixed::add(e.3, dp)?;
            }
            None => per_strike.push((p.terms.expiry, strike, dc, dp)),
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
            book.decay.push(0);
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
                // Vol-shock scale and the pricer's shared terms: once per expiry.
                let e = match per_expiry.iter().position(|e| e.0 == p.terms.expiry) {
                    Some(e) => e,
                    None => {
                        let m = vol_shock_scale(years)?;
                        let ex = pricer::Expiry::new(spot, years, market.rate);
                        // The discount factor of the strike bounds, once per expiry.
                        let df = pricer::exp(fixed::mul_fast(-market.rate, years, Up)?)?;
                        per_expiry.push((p.terms.expiry, m, ex, df));
                        per_expiry.len() - 1
                    }
                };
                let (_, m, ex, df) = per_expiry[e];
                // strike / spot within [0.01, 100] (as black_scholes::check_domain tests
                // it): outside, the option is valued at its discounted intrinsic value
                // rather than making the whole account unevaluable.
                let (quote, at) = if strike * 100 >= spot && strike <= spot * 100 {
                    let prepared = ex.prepare(strike)?;
                    let vol = pricer::implied_vol_at(&surface.1, &prepared, years)?;
                    let quote = pricer::quote_at(&prepared, spot, vol)?;
                    let at = |v: VolMove| prepared.at_vol(shocked_vol(vol, m, v, params)?);
                    (
                        quote,
                        Some([at(VolMove::Up)?, at(VolMove::None)?, at(VolMove::Down)?]),
                    )
                } else {
                    let (call, put) = intrinsic_prices(spot, strike, years, market.rate)?;
                    let itm_call = call > 0;
                    let quote = black_scholes::Quote {
                        call,
                        put,
                        delta_call: if itm_call { WAD } else { 0 },
                        delta_put: if put > 0 { -WAD } else { 0 },
                        gamma: 0,
                        vega: 0,
                        theta_call: 0,
                        theta_put: 0,
                    };
                    (quote, None)
                };
                book.nodes.push(Node {
                    expiry: p.terms.expiry,
                    strike,
                    years,
                    quote,
                    strike_pv: [
                        fixed::mul_fast(strike, df.min(WAD), Down)?,
                        fixed::mul_fast(strike, df.max(WAD), Up)?,
                    ],
                    at,
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
        book.decay.push(decay);
        book.legs.push((Leg::Option(idx), *p));
    }
    for (_, _, c, p) in per_strike {
        let (shorts, synthetic) = net_per_strike(c, p)?;
        book.net_short_options = fixed::add(book.net_short_options, shorts)?;
        book.future_size = fixed::add(book.future_size, synthetic)?;
    }
    Ok(book)
}

/// Spot-shock multiplier from forecast volatility: `clamp(forecast / ref, 1, max)`.
fn shock_scale(market: &Market, params: &MarginParams) -> Result<i128, MathError> {
    if market.ref_vol <= 0 || market.forecast_vol <= market.ref_vol {
        return Ok(WAD);
    }
    Ok(fixed::div(market.forecast_vol, market.ref_vol, Up)?.min(params.max_shock_scale))
}

/// Exact PnL of the book at the relative spot move `spot_move` (WAD) and vol move `vol`:
/// every node repriced once, then applied to its legs (with each leg's decay loss).
fn full_pnl(book: &Book, vol: VolMove, spot_move: i128) -> Result<i128, MarginError> {
    let spot = book.spot;
    let new_spot = fixed::mul_fast(spot, WAD + spot_move, Down)?.max(1);
    let dspot = new_spot - spot;
    let mut pnl = fixed::mul_fast(book.offset_delta, dspot, Down)?;
    let ln_move = pricer::ln_move(new_spot, spot)?;
    let v = vol_index(vol);
    // Reprice each node once per scenario, then apply to its legs.
    let mut repriced: Vec<Option<(i128, i128)>> = Vec::with_capacity(book.nodes.len());
    repriced.resize(book.nodes.len(), None);
    for ((idx, p), decay) in book.legs.iter().zip(&book.decay) {
        let leg = match *idx {
            Leg::Future => fixed::mul_fast(p.size, dspot, Down)?,
            Leg::Settled => 0,
            Leg::Expired => {
                let strike = i128::try_from(p.terms.strike).map_err(|_| MathError::Overflow)?;
                let now_v = black_scholes::intrinsic(p.terms.kind == Kind::Call, spot, strike)?;
                let new_v = black_scholes::intrinsic(p.terms.kind == Kind::Call, new_spot, strike)?;
                fixed::mul_fast(p.size, new_v - now_v, Down)?
            }
            Leg::Option(i) => {
                let n = &book.nodes[i];
                let (call, put) = match repriced[i] {
                    Some(r) => r,
                    None => {
                        // strike / new spot within [0.01, 100], without a division (as
                        // black_scholes::check_domain tests it; both sides below 1e33).
                        let in_domain = n.strike * 100 >= new_spot && n.strike <= new_spot * 100;
                        let at = n.at.as_ref().filter(|_| in_domain);
                        // Outside the pricer's moneyness domain the option is deep in or
                        // out of the money: its value is its discounted intrinsic value.
                        let r = if let Some(at) = at {
                            pricer::reprice_at(&at[v], new_spot, ln_move)
                        } else {
                            intrinsic_prices(new_spot, n.strike, n.years, book.market.rate)?
                        };
                        repriced[i] = Some(r);
                        r
                    }
                };
                let new_px = if p.terms.kind == Kind::Call {
                    call
                } else {
                    put
                };
                let (old_px, ..) = price_of(p.terms.kind, &n.quote);
                // Time decay can take a long option down to its lower bound at the
                // scenario's spot (what it is worth at any time to expiry), never below:
                // the decay over the horizon of an option expiring sooner than that is
                // at most its time value.
                let floor = if p.terms.kind == Kind::Call {
                    (new_spot - n.strike_pv[1]).max(0)
                } else {
                    (n.strike_pv[0] - new_spot).max(0)
                };
                let per_unit = fixed::add(new_px - old_px, *decay)?.max(floor - old_px);
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

/// Whether a book holds a live option whose value bends on a scale finer than the grid
/// (`sigma sqrt T` at its unchanged vol below [`REFINE_VOL_SQRT_T`]).
fn short_dated(book: &Book) -> bool {
    book.nodes
        .iter()
        .any(|n| n.at.is_some() && n.vol_sqrt_t() < REFINE_VOL_SQRT_T)
}

/// Worst weighted loss of a book over the grid (>= 0) and the index of the grid scenario
/// that gives it (for a loss found between grid points, the nearest weight-1 grid
/// scenario of its vol move).
///
/// Every scenario is a full revaluation. Then the worst loss between the grid's weight-1
/// points is searched, per vol move over the spot range its weight-1 scenarios span (the
/// grid is a sample of that range, and a portfolio's worst loss can sit between two
/// points: a long strangle's at the spot where its delta crosses zero, a short-dated
/// option's near its strike). The points of a vol move are sorted by spot; each local
/// minimum of the PnL along them whose loss is at least half the worst so far is refined
/// by successive parabolic interpolation within its two neighbours
/// ([`REFINE_STEPS`] evaluations). Books holding short-dated options ([`short_dated`])
/// also get the unchanged spot, the middle of each grid step and the strike of each node
/// closer to expiry still ([`STRIKE_POINT_VOL_SQRT_T`]) as points, and every local
/// minimum (up to [`REFINE_MINIMA`] per vol move) searched by golden section
/// ([`GOLDEN_STEPS`]), which kinks do not mislead.
fn worst_loss(
    book: &Book,
    grid: &[Scenario],
    params: &MarginParams,
) -> Result<(i128, u8), MarginError> {
    let scale = shock_scale(book.market, params)?;
    let mut worst = 0i128;
    let mut worst_i = 0u8;
    // Weight-1 points per vol move: (spot move, PnL, grid index or u8::MAX).
    let mut points: [Vec<(i128, i128, u8)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (i, s) in grid.iter().enumerate() {
        let spot_move = fixed::mul_fast(s.spot, scale, Rounding::Nearest)?.max(-95 * WAD / 100);
        let pnl = full_pnl(book, s.vol, spot_move)?;
        let loss = if pnl < 0 {
            fixed::mul_fast(-pnl, s.weight, Up)?
        } else {
            0
        };
        if loss > worst {
            worst = loss;
            worst_i = i as u8;
        }
        if s.weight >= WAD {
            points[vol_index(s.vol)].push((spot_move, pnl, i as u8));
        }
    }
    let short = short_dated(book);
    for (v, vol) in [VolMove::Up, VolMove::None, VolMove::Down]
        .into_iter()
        .enumerate()
    {
        let pts = &mut points[v];
        if pts.is_empty() {
            continue;
        }
        let lo = pts.iter().map(|p| p.0).min().unwrap_or(0).min(0);
        let hi = pts.iter().map(|p| p.0).max().unwrap_or(0).max(0);
        if short {
            // The unchanged spot, the middle of each step of the grid, and the strike of
            // each node very close to expiry, within the range.
            let mut extra: Vec<i128> = Vec::new();
            extra.push(0);
            sort_by_spot(pts);
            for w in pts.windows(2) {
                extra.push(w[0].0 + (w[1].0 - w[0].0) / 2);
            }
            for n in &book.nodes {
                if n.at.is_some() && n.vol_sqrt_t() < STRIKE_POINT_VOL_SQRT_T {
                    let m = pricer::to_wad(pricer::ratio(n.strike - book.spot, book.spot)?);
                    if m > lo && m < hi {
                        extra.push(m);
                    }
                }
            }
            for m in extra {
                if !pts.iter().any(|p| p.0 == m) {
                    let pnl = full_pnl(book, vol, m)?;
                    pts.push((m, pnl, u8::MAX));
                }
            }
        }
        sort_by_spot(pts);
        // Local minima along the points, the ends included (a minimum at an end may still
        // hide a lower one between it and its neighbour).
        let n = pts.len();
        let mut minima: Vec<usize> = (0..n)
            .filter(|&i| {
                (i == 0 || pts[i].1 <= pts[i - 1].1) && (i + 1 == n || pts[i].1 <= pts[i + 1].1)
            })
            .collect();
        for _ in 0..REFINE_MINIMA {
            // The lowest minimum not yet refined.
            let Some(k) = (0..minima.len()).min_by_key(|&k| pts[minima[k]].1) else {
                break;
            };
            let i = minima.swap_remove(k);
            // Skip minima that cannot matter: on a smooth book a minimum between grid
            // points lies at most a few percent below the points around it (at most 9.3%
            // on 20,000 random books), so one more than 1 / REFINE_MARGIN_DIV below the
            // worst so far cannot become the worst.
            if !short && -pts[i].1 < worst - worst / REFINE_MARGIN_DIV {
                continue;
            }
            if n < 2 {
                continue;
            }
            let (l, r) = (i.saturating_sub(1), (i + 1).min(n - 1));
            let found = if short {
                golden_min(book, vol, pts[l].0, pts[r].0, GOLDEN_STEPS)?.min(pts[i].1)
            } else if l != i && r != i {
                parabolic_min(book, vol, [pts[l], pts[i], pts[r]], REFINE_STEPS)?
            } else if n >= 3 {
                // A minimum at an end: where a parabola through the three end points turns
                // back between the end and its neighbour, the PnL may dip below the end
                // there. One evaluation tells; a dip is then refined as a bracket.
                let (e, m, o) = if i == 0 {
                    (0, 1, 2)
                } else {
                    (n - 1, n - 2, n - 3)
                };
                let tri = [pts[o], pts[m], pts[e]].map(|p| (p.0, p.1));
                let (lo, hi) = (pts[m].0.min(pts[e].0), pts[m].0.max(pts[e].0));
                match parabola_vertex(tri) {
                    Ok(x) if x > lo && x < hi => {
                        let fx = full_pnl(book, vol, x)?;
                        if fx < pts[e].1 {
                            let bracket = if i == 0 {
                                [pts[e], (x, fx, u8::MAX), pts[m]]
                            } else {
                                [pts[m], (x, fx, u8::MAX), pts[e]]
                            };
                            parabolic_min(book, vol, bracket, REFINE_STEPS)?
                        } else {
                            pts[e].1
                        }
                    }
                    _ => pts[e].1,
                }
            } else {
                pts[i].1
            };
            if -found > worst {
                worst = -found;
                worst_i = pts[i].2;
                if worst_i == u8::MAX {
                    // An added point: report the nearest grid scenario of this vol move.
                    let x = pts[i].0;
                    worst_i = pts
                        .iter()
                        .filter(|p| p.2 != u8::MAX)
                        .min_by_key(|p| (p.0 - x).abs())
                        .map_or(0, |p| p.2);
                }
            }
        }
    }
    Ok((worst, worst_i))
}

/// Sorts points by spot move (insertion sort: a handful of points, and no generic sort's
/// code in the contract).
fn sort_by_spot(pts: &mut [(i128, i128, u8)]) {
    for i in 1..pts.len() {
        let mut j = i;
        while j > 0 && pts[j - 1].0 > pts[j].0 {
            pts.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The lowest PnL found by golden-section search for a minimum of the book's PnL over spot
/// moves in `[a, b]` at vol move `vol` (`steps` evaluations after two): robust where the
/// PnL bends sharply (short-dated options near their strikes), where a parabola is not.
fn golden_min(
    book: &Book,
    vol: VolMove,
    a: i128,
    b: i128,
    steps: usize,
) -> Result<i128, MarginError> {
    // 1 / golden ratio, WAD.
    const INV_PHI: i128 = 618_033_988_749_894_848;
    let (mut a, mut b) = (a, b);
    let inner = |a: i128, b: i128| fixed::mul_fast(b - a, INV_PHI, Rounding::Nearest);
    let mut x1 = b - inner(a, b)?;
    let mut x2 = a + inner(a, b)?;
    let (mut f1, mut f2) = (full_pnl(book, vol, x1)?, full_pnl(book, vol, x2)?);
    let mut lowest = f1.min(f2);
    for _ in 0..steps {
        if f1 <= f2 {
            (b, x2, f2) = (x2, x1, f1);
            x1 = b - inner(a, b)?;
            f1 = full_pnl(book, vol, x1)?;
            lowest = lowest.min(f1);
        } else {
            (a, x1, f1) = (x1, x2, f2);
            x2 = a + inner(a, b)?;
            f2 = full_pnl(book, vol, x2)?;
            lowest = lowest.min(f2);
        }
    }
    Ok(lowest)
}

/// The lowest PnL found by successive parabolic interpolation for a minimum of the book's
/// PnL over spot moves, at vol move `vol`, within the bracket `a < b < c` (each
/// `(spot move, PnL, _)`, `b` no higher than `a` and `c`): each step evaluates the vertex
/// of the parabola through the three points (or, when it falls outside or on a point, the
/// middle of the wider side) and keeps the bracket around the lowest point.
fn parabolic_min(
    book: &Book,
    vol: VolMove,
    bracket: [(i128, i128, u8); 3],
    steps: usize,
) -> Result<i128, MarginError> {
    let [(mut a, mut fa, _), (mut b, mut fb, _), (mut c, mut fc, _)] = bracket;
    for _ in 0..steps {
        if c - a < 2 {
            break;
        }
        let vertex = parabola_vertex([(a, fa), (b, fb), (c, fc)]);
        let x = match vertex {
            Ok(x) if x > a && x < c && x != b => x,
            // The middle of the wider side.
            _ if b - a > c - b => a + (b - a) / 2,
            _ => b + (c - b) / 2,
        };
        // Converged: the next point is within 1e-4 of spot of the best one.
        if (x - b).abs() < WAD / 10_000 {
            break;
        }
        let fx = full_pnl(book, vol, x)?;
        if fx < fb {
            if x < b {
                (c, fc) = (b, fb);
            } else {
                (a, fa) = (b, fb);
            }
            (b, fb) = (x, fx);
        } else if x < b {
            (a, fa) = (x, fx);
        } else {
            (c, fc) = (x, fx);
        }
    }
    Ok(fb)
}

/// The spot move at the vertex of the parabola through three points `(spot move, PnL)`:
/// `b - ((b-a)^2 (fb-fc) - (b-c)^2 (fb-fa)) / (2 ((b-a)(fb-fc) - (b-c)(fb-fa)))`, with the
/// spot steps in units of 2^-30 of the WAD (below 2^30) and the PnL differences as Q48
/// fractions of the larger one (at most 1), so every product fits 128 bits.
fn parabola_vertex(p: [(i128, i128); 3]) -> Result<i128, MathError> {
    let [(a, fa), (b, fb), (c, fc)] = p;
    let (d1, d2) = ((b - a) >> 30, (b - c) >> 30);
    let (g1, g2) = (fb - fa, fb - fc);
    let g = g1.unsigned_abs().max(g2.unsigned_abs()) as i128;
    let (q1, q2) = (pricer::ratio(g1, g)?, pricer::ratio(g2, g)?);
    let num = d1 * d1 * q2 - d2 * d2 * q1;
    let den = d1 * q2 - d2 * q1;
    if den == 0 {
        return Err(MathError::DivisionByZero);
    }
    fixed::sub(b, (num / den) << 29)
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
        // Risk-offsetting collateral keeps no haircut for its price: its price risk is in
        // these scenarios, which therefore run for it even where the account holds no
        // position on its underlying (skipping them let such collateral be borrowed
        // against at 100% with no margin).
        if !has_positions && offset == 0 {
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

/// While new risk is paused, a withdrawal still goes through when it leaves the account's
/// IM equity at least this multiple of its IM (issue 16: a pause never traps a healthy
/// account's collateral; an account near IM waits for the pause to end or lapse).
pub const PAUSED_WITHDRAWAL_IM_MULTIPLE: i128 = 2;

/// Whether `after` (an account's standing after a withdrawal) is well above IM:
/// `equity_im >= PAUSED_WITHDRAWAL_IM_MULTIPLE x IM`.
pub fn well_above_im(after: &Standing) -> bool {
    after.equity_im >= after.im.saturating_mul(PAUSED_WITHDRAWAL_IM_MULTIPLE)
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

/// Whether [`verdict`] allows the action whatever the standing before it was: the
/// action passes as new risk (IM, fresh readings, no pause) and as a risk-reducing one
/// (MM). The engine evaluates an account before a trade only when this is false.
pub fn allowed_whatever_before(after: &Standing, failed: bool, paused: bool) -> bool {
    after.mm_surplus() >= 0 && verdict(after, after, failed, paused) == Verdict::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::pack;
    use std::vec;

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

    #[test]
    fn net_per_strike_moves_synthetics_to_the_futures_contingency() {
        let w = |x: i128| x * WAD;
        // Long call + short put: a synthetic long future, no naked short.
        assert_eq!(net_per_strike(w(10), -w(10)), Ok((0, w(10))));
        // Short call + long put: a synthetic short future.
        assert_eq!(net_per_strike(-w(10), w(10)), Ok((0, -w(10))));
        // A short straddle: both short, no synthetic.
        assert_eq!(net_per_strike(-w(10), -w(5)), Ok((w(15), 0)));
        // More puts short than calls long: the rest of the puts are naked.
        assert_eq!(net_per_strike(w(10), -w(15)), Ok((w(5), w(10))));
        // More calls short than puts long: the rest of the calls are naked.
        assert_eq!(net_per_strike(-w(8), w(3)), Ok((w(5), -w(3))));
        // Longs only: nothing.
        assert_eq!(net_per_strike(w(2), w(3)), Ok((0, 0)));
    }

    #[test]
    fn synthetic_future_carries_at_least_the_margin_of_the_future() {
        use Kind::{Call, Put};
        let m = || market(2_000 * WAD, Method::Full, 0);
        // 10 long calls and 10 short puts at 2000, 90 days, against 10 futures of the
        // same expiry: the issue measured MM 3,615 against 4,200 before the fix.
        let synthetic = [opt(Call, 2000, 90, 100), opt(Put, 2000, 90, -100)];
        let futures = [fut(100, 2000)];
        let s = risk(100_000, &[], &synthetic, m());
        let f = risk(100_000, &[], &futures, m());
        assert!(s.mm >= f.mm, "synthetic MM {} < futures MM {}", s.mm, f.mm);
        assert!(s.im >= f.im, "synthetic IM {} < futures IM {}", s.im, f.im);
        // The same for a synthetic short against short futures.
        let synthetic = [opt(Call, 2000, 90, -100), opt(Put, 2000, 90, 100)];
        let s = risk(100_000, &[], &synthetic, m());
        let f = risk(100_000, &[], &[fut(-100, 2000)], m());
        assert!(
            s.mm >= f.mm,
            "synthetic short MM {} < futures MM {}",
            s.mm,
            f.mm
        );
        // And a synthetic hedged by the opposite future (a conversion) needs no futures
        // contingency: far less than either leg alone.
        let conversion = [
            opt(Call, 2000, 90, 100),
            opt(Put, 2000, 90, -100),
            fut(-100, 2000),
        ];
        let c = risk(100_000, &[], &conversion, m());
        assert!(c.mm * 5 < f.mm, "conversion MM {} vs future {}", c.mm, f.mm);
    }

    #[test]
    fn worst_loss_between_grid_points_is_found() {
        use Kind::Call;
        // A short 1-day butterfly centred 2.25% above spot loses most with spot at its
        // centre, half-way between two grid points (0 and +4.5%), where the grid alone
        // misses a large part of it (the issue measured grids up to 38.6% short of the
        // continuous worst loss on short-dated books).
        let mut m = market(2_000 * WAD, Method::Full, 0);
        m.surfaces.push((NOW + DAY, {
            let t = i128::from(DAY) * WAD / YEAR;
            SviParams {
                a: fixed::mul(
                    fixed::mul(WAD * 6 / 10, WAD * 6 / 10, Down).unwrap(),
                    t,
                    Down,
                )
                .unwrap(),
                b: 0,
                rho: 0,
                m: 0,
                sigma: WAD / 10,
            }
        }));
        let pos = [
            opt(Call, 2005, 1, -100),
            opt(Call, 2045, 1, 200),
            opt(Call, 2085, 1, -100),
        ];
        let params = MarginParams {
            mm_short_option: 0,
            mm_future: 0,
            ..MarginParams::DEFAULT
        };
        let at = |grid: &[Scenario]| {
            account_risk(0, &[], &pos, &[m.clone()], grid, &params, NOW)
                .unwrap()
                .mm
        };
        let mm = at(&DEFAULT_GRID);
        // Dense scan, 10 bps apart, each vol move over its weight-1 range.
        let mut dense = 0;
        for (vol, r) in [
            (VolMove::Up, 1800),
            (VolMove::None, 1350),
            (VolMove::Down, 1350),
        ] {
            let mut bps = -r;
            while bps <= r {
                let s = Scenario {
                    spot: bps * 100_000_000_000_000,
                    vol,
                    weight: WAD,
                };
                dense = dense.max(at(&[s]));
                bps += 10;
            }
        }
        assert!(mm * 1_000 >= dense * 995, "MM {mm} vs dense {dense}");
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

    /// Folds `rounds` (price, seconds since the previous round) into a variance from 0.
    fn fold(rounds: impl Iterator<Item = (i128, u64)>, p0: i128, lambda: i128) -> i128 {
        let (mut v, mut p) = (0, p0);
        for (q, dt) in rounds {
            v = ewma_variance_update(v, p, q, dt, lambda).unwrap();
            p = q;
        }
        v
    }

    #[test]
    fn ewma_measures_realised_variance_per_unit_of_feed_time() {
        let lambda = 94 * WAD / 100;
        let up = 1_010 * WAD / 1_000;
        // +-1% each hour for 30 days: realised vol ln(1.01) x sqrt(8760) = 0.9313.
        let hourly = fold(
            (0..720).map(|i| (if i % 2 == 0 { up } else { WAD }, 3_600)),
            WAD,
            lambda,
        );
        let vol = forecast_vol(hourly).unwrap();
        let want = 0.00995033f64 * 8_760f64.sqrt();
        assert!(((vol as f64 / 1e18) / want - 1.0).abs() < 0.01, "{vol}");
        // The same realised variance in rounds every 10 s (+-ln(1.01)/sqrt(360) each)
        // gives the same forecast: each return adds its square whatever interval it
        // covers, so how finely the moves are sampled does not matter.
        let step = (0.00995033f64 / 360f64.sqrt()).exp();
        let hi = (step * 1e18) as i128;
        let fine = fold(
            (0..720 * 360).map(|i| (if i % 2 == 0 { hi } else { WAD }, 10)),
            WAD,
            lambda,
        );
        assert!(
            (fine as f64 / hourly as f64 - 1.0).abs() < 0.02,
            "{fine} {hourly}"
        );
        // Rounds at one timestamp (dt = 0) add their return at the limit weight.
        let same = ewma_variance_update(0, WAD, up, 0, lambda).unwrap();
        let one_s = ewma_variance_update(0, WAD, up, 1, lambda).unwrap();
        assert!(
            same >= one_s && (same - one_s) * 10_000 < same,
            "{same} {one_s}"
        );
    }

    #[test]
    fn ewma_matches_an_f64_recursion_on_random_rounds() {
        let mut rng = Rng(0xE3A5_1F0C_9D27_4B61);
        for _ in 0..200 {
            let lambda = rng.range(WAD / 2, WAD - WAD / 1_000);
            let lf = lambda as f64 / 1e18;
            let (mut v, mut p) = (rng.range(0, WAD), 2_000 * WAD);
            let mut vf = v as f64 / 1e18;
            for _ in 0..50 {
                let dt = rng.range(0, 7_200) as u64;
                let q = p + (p / 1_000) * rng.range(-50, 50);
                v = ewma_variance_update(v, p, q, dt, lambda).unwrap();
                let r = (q as f64 / p as f64).ln();
                let k = -lf.ln();
                let d = (-k * dt as f64 / 3_600.0).exp();
                let w = if dt == 0 {
                    k / 3_600.0
                } else {
                    (1.0 - d) / dt as f64
                };
                vf = d * vf + r * r * 31_536_000.0 * w;
                p = q;
            }
            let got = v as f64 / 1e18;
            assert!((got - vf).abs() <= 1e-9 * vf.max(1e-6), "{got} {vf}");
        }
    }

    #[test]
    fn withdrawals_while_paused_need_twice_im() {
        let st = |equity_im: i128, im: i128| Standing {
            equity: equity_im,
            equity_im,
            mm: im / 2,
            im,
        };
        assert!(well_above_im(&st(2_000, 1_000)));
        assert!(!well_above_im(&st(1_999, 1_000)));
        assert!(well_above_im(&st(0, 0)));
        assert!(!well_above_im(&st(-1, 0)));
        // The engine passes `paused` only when the withdrawal is not well above IM.
        let before = st(5_000, 1_000);
        let after = st(2_500, 1_000);
        let paused = !well_above_im(&after);
        assert_eq!(verdict(&before, &after, false, paused), Verdict::Allowed);
        let after = st(1_500, 1_000);
        let paused = !well_above_im(&after);
        assert_eq!(verdict(&before, &after, false, paused), Verdict::Paused);
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

    /// The engine skips the evaluation before a trade when `allowed_whatever_before`
    /// holds: over random standings (small values, so ties and sign changes are common),
    /// the verdict is then `Allowed` for every standing before; and when it does not
    /// hold, some standing before gives a different verdict (the flag is not merely
    /// conservative: the account after the action does need the evaluation before).
    #[test]
    fn allowed_whatever_before_means_the_standing_before_cannot_matter() {
        let mut rng = Rng(0x5EED_0017);
        let standing = |rng: &mut Rng| Standing {
            equity: rng.range(-6, 6),
            equity_im: rng.range(-6, 6),
            mm: rng.range(0, 6),
            im: rng.range(0, 6),
        };
        let (mut skipped, mut needed) = (0, 0);
        for _ in 0..20_000 {
            let after = standing(&mut rng);
            let (failed, paused) = (rng.coin(), rng.coin());
            let befores: Vec<Standing> = (0..40).map(|_| standing(&mut rng)).collect();
            if allowed_whatever_before(&after, failed, paused) {
                skipped += 1;
                for b in &befores {
                    assert_eq!(verdict(b, &after, failed, paused), Verdict::Allowed);
                }
            } else {
                needed += 1;
                // A standing before with a much higher MM and the same surplus makes the
                // action risk-reducing; one equal to `after` makes it new risk.
                let reducing = Standing {
                    mm: after.mm + 100,
                    equity: after.equity + 99,
                    ..after
                };
                assert_ne!(
                    verdict(&reducing, &after, failed, paused),
                    verdict(&after, &after, failed, paused),
                    "{after:?} failed {failed} paused {paused}"
                );
            }
        }
        assert!(skipped > 300 && needed > 1_000, "{skipped} {needed}");
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
    fn risk_offsetting_collateral_without_positions_carries_its_price_risk() {
        // The attack of the security review: 10 WETH marked risk-offsetting, -15,000 of
        // cash (a premium bought and sold back at 0), no position. Before the fix MM and IM
        // were 0, and at -25% the account was insolvent without ever being liquidatable.
        let coll = [weth(10, true)];
        let r = risk(-15_000, &coll, &[], market(2_000 * WAD, Method::Full, 0));
        // 10 WETH at 2,000 lose at least 18% in the grid's worst weight-1 move.
        assert!(r.mm >= 3_600 * WAD, "MM {}", r.mm);
        assert!(r.im >= r.mm);
        // Walk spot down 0.5% at a time: the account is liquidatable (equity < MM) at a
        // spot above the first one at which it is insolvent (equity < 0).
        let mut liquidatable_at = None;
        let mut spot = 2_000 * WAD;
        loop {
            let r = risk(-15_000, &coll, &[], market(spot, Method::Full, 0));
            if r.equity < r.mm && liquidatable_at.is_none() {
                liquidatable_at = Some(spot);
            }
            if r.equity < 0 {
                let l = liquidatable_at.expect("insolvent before liquidatable");
                assert!(
                    l > spot * 1_05 / 100,
                    "liquidatable at {l}, insolvent at {spot}"
                );
                break;
            }
            spot = spot * 995 / 1000;
        }
    }

    #[test]
    fn offsetting_collateral_on_random_cash_is_liquidatable_before_insolvent() {
        // Random amounts of offsetting WETH against random debts, with or without a small
        // option on the same or another underlying: whenever a spot path falling 1% a step
        // makes equity negative, an earlier step had equity below MM.
        let mut seed = 0x000F_F5E7_u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        for _ in 0..200 {
            let amount = 1 + next(100) as i128;
            let debt = -((amount * 2_000) * (50 + next(45) as i128) / 100);
            let coll = [weth(amount, true)];
            let pos: Vec<Position> = match next(3) {
                0 => vec![],
                1 => vec![opt(Kind::Call, 2_500, 30, -1)],
                _ => vec![opt(Kind::Put, 1_500, 30, 1)],
            };
            let mut flagged = false;
            let mut spot = 2_000 * WAD;
            for _ in 0..200 {
                let r = risk(debt, &coll, &pos, market(spot, Method::Full, 0));
                if r.equity < 0 {
                    assert!(
                        flagged,
                        "amount {amount} debt {debt}: insolvent at {spot} unflagged"
                    );
                    break;
                }
                flagged |= r.equity < r.mm;
                spot = spot * 99 / 100;
            }
        }
    }

    #[test]
    fn expired_future_is_worth_its_settlement_once_recorded() {
        let terms = Terms {
            kind: Kind::Future,
            underlying: ETH,
            expiry: NOW - DAY,
            strike: 0,
        };
        // Long 2 futures entered at 1,900.
        let pos = vec![Position {
            terms,
            size: 2 * WAD,
            entry: 3_800 * WAD,
        }];
        let mut m = market(2_000 * WAD, Method::Full, 0);
        let at = |m: &Market| {
            account_risk(
                0,
                &[],
                &pos,
                core::slice::from_ref(m),
                &DEFAULT_GRID,
                &MarginParams::DEFAULT,
                NOW,
            )
            .unwrap()
        };
        // No price recorded: marked to live spot, with scenario risk.
        let r = at(&m);
        assert_eq!(r.mtm, 200 * WAD);
        assert!(r.mm > 0);
        // Settled at 1,850: worth 2 x 1,850 - 3,800 = -100 whatever spot does, no margin.
        m.settlements.push((NOW - DAY, 1_850 * WAD));
        let r = at(&m);
        assert_eq!(r.mtm, -100 * WAD);
        assert_eq!(r.mm, 0);
        m.spot = 2_500 * WAD;
        assert_eq!(at(&m).mtm, -100 * WAD);
    }

    #[test]
    fn strikes_outside_the_pricing_domain_are_valued_not_refused() {
        // A tenth of a put struck at 5 (strike / spot = 1/400) next to short calls: before
        // the fix every check of the account failed (MathFailure), so it could never be
        // liquidated.
        let far_put = Position {
            terms: Terms {
                kind: Kind::Put,
                underlying: ETH,
                expiry: NOW + 30 * DAY,
                strike: 5 * WAD as u128,
            },
            size: WAD / 10,
            entry: 0,
        };
        let far_call = Position {
            terms: Terms {
                kind: Kind::Call,
                underlying: ETH,
                expiry: NOW + 30 * DAY,
                strike: 300_000 * WAD as u128,
            },
            size: -WAD,
            entry: 0,
        };
        let shorts = opt(Kind::Call, 2_000, 30, -100);
        let book = [far_put, far_call, shorts];
        let r = risk(2_000, &[], &book, market(2_000 * WAD, Method::Full, 0));
        // The far put is worth nothing, the far short call carries its contingency.
        let without = risk(2_000, &[], &[shorts], market(2_000 * WAD, Method::Full, 0));
        assert_eq!(r.mtm, without.mtm);
        assert!(r.mm > without.mm, "{} vs {}", r.mm, without.mm);
        // As spot rises the short calls take the account under MM: it is liquidatable.
        let r = risk(2_000, &[], &book, market(2_400 * WAD, Method::Full, 0));
        assert!(r.equity < r.mm);
        // A deep in-the-money one (strike 5, spot 2,000) is worth its discounted intrinsic.
        let itm = Position {
            terms: Terms {
                kind: Kind::Call,
                ..far_put.terms
            },
            size: WAD,
            entry: 0,
        };
        let r = risk(0, &[], &[itm], market(2_000 * WAD, Method::Full, 0));
        assert!(r.mtm > 1_994 * WAD && r.mtm < 1_996 * WAD, "{}", r.mtm);
    }

    #[test]
    fn params_bounds() {
        assert_eq!(MarginParams::DEFAULT.validate(), Ok(()));
        let mut p = MarginParams::DEFAULT;
        p.im_multiplier = WAD - 1;
        assert_eq!(p.validate(), Err(6));
    }
}
