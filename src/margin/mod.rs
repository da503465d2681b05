//! Portfolio valuation and margin: equity, maintenance margin (MM) and initial margin (IM).
//!
//! Split by concept: [`grid`] (scenarios, method), [`params`] (the 12 parameters),
//! [`book`] (nodes and legs of one underlying), [`scenarios`] (full revaluation, the
//! search between grid points), [`verdict`] (the post-action rule); this file holds the
//! market and account types, collateral haircuts and [`account_risk`]. The stable price
//! and the EWMA forecast are oracle concerns: [`crate::oracle`] (re-exported here).
//!
//! Pure: every price, surface, parameter and the time are arguments. The RiskCalculator
//! contract receives them and calls [`account_risk`]; the `margin` tool calls the same
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
//! - Theta enters per leg over `theta_horizon_secs` when it costs that leg, never as a gain.
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
    pricer,
    svi::SviParams,
};

/// Seconds in the year used for time to expiry and annualised volatility (365 days).
pub const YEAR: i128 = 31_536_000;
/// Shortest time to expiry priced with Black-Scholes (one minute); below it an option is
/// priced with this time (its time value is negligible).
pub const MIN_PRICED_SECONDS: i128 = 60;
/// Largest number of scenarios in a grid.
pub const MAX_SCENARIOS: usize = 40;

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
    /// (`u8::MAX` when the account has no positions, or its losses are
    /// [`account_risk_with`]'s).
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
    /// The grid is empty or too long, or a scenario weighs more than 1.
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
    if k > 0 && forecast_vol > 0 && params.haircut_horizon_years > 0 {
        let vol_term = fixed::mul(k, forecast_vol, Up)?;
        h = fixed::add(
            h,
            fixed::mul(vol_term, pricer::sqrt(params.haircut_horizon_years)?, Up)?,
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
    account_risk_with(
        cash,
        collateral,
        positions,
        markets,
        grid,
        params,
        now,
        Loss::Exact,
    )
}

/// How [`account_risk_with`] finds each underlying's worst loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Full revaluation over the grid and the search between its points.
    Exact,
    /// An upper bound of it in about a third of the repricings (`worst_loss`).
    Bound,
    /// The bound when the account passes MM and IM with it, else exact (the books built
    /// once): what a post-action check needs.
    BoundOrExact,
}

/// [`account_risk`] with `Loss::Exact`; with `Loss::Bound`, each underlying's worst loss
/// is replaced by an upper bound that needs about a third of the repricings: over each
/// vol move's range, the sum of each leg's (and the offsetting collateral's) lower end,
/// each being monotone in spot; the extreme scenarios as they are (`worst_loss`).
/// Its MM and IM are then at least [`account_risk`]'s and everything else is the same
/// (`worst_scenario` is `u8::MAX`), so an account that passes with them passes exactly:
/// what a post-action check needs of an account far above its margin, in a fraction of
/// the gas. The bound is loose for books whose legs offset each other (spreads,
/// butterflies, condors), which then take the exact check: `Loss::BoundOrExact` answers
/// with the bound when the account passes MM and IM with it, and exactly otherwise.
///
/// # Errors
/// As [`account_risk`].
#[allow(clippy::too_many_arguments)]
pub fn account_risk_with(
    cash: i128,
    collateral: &[Collateral],
    positions: &[Position],
    markets: &[Market],
    grid: &[Scenario],
    params: &MarginParams,
    now: u64,
    loss: Loss,
) -> Result<AccountRisk, MarginError> {
    if grid.is_empty() || grid.len() > MAX_SCENARIOS || grid.iter().any(|s| s.weight > WAD) {
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
    // Positions, per underlying: books, contingencies (MM, IM) and mark-to-market here,
    // the worst losses below.
    let mut books = Vec::new();
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
        books.push((book, mm_c, im_c));
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
    let mut bound = loss != Loss::Exact;
    'evaluate: loop {
        let (mut mm, mut im, mut worst) = (0i128, 0i128, -1i128);
        // BoundOrExact stops the bound once the account fails with it: when a book's loss
        // exceeds `cap`, the equity less the MM of the books before it and its own
        // contingency, MM is already above the equity (losses are >= 0). A passing
        // account's losses never exceed it (a partial loss is at most the whole), so its
        // answer is the same; a failing one gets the exact answer, as before, without the
        // rest of the bound's repricings.
        let stops = bound && loss == Loss::BoundOrExact;
        for (book, mm_c, im_c) in &books {
            let cap = if stops {
                risk.equity.saturating_sub(mm).saturating_sub(*mm_c)
            } else {
                i128::MAX
            };
            let (l, idx) = worst_loss(book, grid, params, bound, cap)?;
            if l > cap {
                bound = false;
                continue 'evaluate;
            }
            if l > worst {
                worst = l;
                risk.worst_scenario = idx;
            }
            mm = fixed::add(mm, fixed::add(l, *mm_c)?)?;
            let l_im = fixed::mul_fast(l, params.im_multiplier, Up)?;
            im = fixed::add(im, fixed::add(l_im, *im_c)?)?;
        }
        (risk.mm, risk.im) = (mm, im);
        if !bound || loss == Loss::Bound || (risk.mm_surplus() >= 0 && risk.im_surplus() >= 0) {
            return Ok(risk);
        }
        bound = false;
    }
}

pub use crate::oracle::{
    ewma_variance_update, forecast_vol, stable_price_update, EWMA_LAMBDA_SECONDS,
};
pub mod book;
pub mod grid;
pub mod params;
pub mod scenarios;
pub mod verdict;

pub use book::*;
pub use grid::*;
pub use params::*;
use scenarios::*;
pub use verdict::*;

#[cfg(test)]
mod tests;
