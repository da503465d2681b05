//! One underlying's book as the scenarios see it: each (expiry, strike) priced once
//! (nodes), legs, theta, contingencies' netting.
use super::*;

/// Years (WAD) from `now` to `expiry`, or `None` when expired.
pub fn years_to_expiry(expiry: u64, now: u64) -> Option<i128> {
    if expiry <= now {
        return None;
    }
    let secs = i128::from(expiry - now).max(MIN_PRICED_SECONDS);
    Some(fixed::idiv(secs * WAD, YEAR))
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
pub(super) struct Node {
    pub(super) expiry: u64,
    pub(super) strike: i128,
    pub(super) years: i128,
    pub(super) quote: black_scholes::Quote,
    /// `K min(e^(-rT), 1)` rounded down and `K max(e^(-rT), 1)` rounded up: a put is worth
    /// at least `K min(..) - S`, a call `S - K max(..)`, at any time to expiry.
    pub(super) strike_pv: [i128; 2],
    /// The node ready to reprice at its vol-up, unchanged and vol-down volatilities (the
    /// order of [`vol_index`]); `None` for a strike outside the pricer's moneyness domain
    /// (`strike / spot` beyond 0.01 .. 100), valued at its discounted intrinsic value in
    /// every scenario ([`intrinsic_prices`]: within 1e-9 of Black-Scholes there, and the
    /// grid's moves keep it at least 50x away from the money).
    pub(super) at: Option<[pricer::AtVol; 3]>,
}

impl Node {
    /// `sigma sqrt T` at the unchanged vol (0 for an intrinsic-only node).
    pub(super) fn vol_sqrt_t(&self) -> i128 {
        self.at.map_or(0, |a| a[1].v_wad())
    }
}

/// Index of a vol move in [`Node::at`].
pub(super) fn vol_index(v: VolMove) -> usize {
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
/// Per option leg of [`account_risk_with`]'s bound, this share of spot per unit (WAD,
/// 1e-8) covers the pricer's departures from monotonicity in spot: its approximation
/// error (within ~1e-13 of spot) and the step to discounted intrinsic value at the edge of
/// its moneyness domain (within 1e-9 of Black-Scholes there).
pub const BOUND_SLACK: i128 = WAD / 100_000_000;
/// Parabolic-interpolation steps of one refined local minimum of a smooth book.
pub(super) const REFINE_STEPS: usize = 3;
/// Golden-section steps of one refined local minimum of a book holding short-dated options:
/// the bracket (two grid half-steps) shrinks to 0.618^12 = 0.3% of its width.
pub(super) const GOLDEN_STEPS: usize = 12;
/// Local minima refined per vol move, the lowest first.
pub(super) const REFINE_MINIMA: usize = 3;
/// A smooth book's local minimum is refined only when its loss is within
/// `1 / REFINE_MARGIN_DIV` of the worst so far.
pub(super) const REFINE_MARGIN_DIV: i128 = 5;

pub(super) fn price_of(kind: Kind, q: &black_scholes::Quote) -> (i128, i128, i128, i128, i128) {
    match kind {
        Kind::Call => (q.call, q.delta_call, q.gamma, q.vega, q.theta_call),
        _ => (q.put, q.delta_put, q.gamma, q.vega, q.theta_put),
    }
}

pub(super) fn shocked_vol(
    vol: i128,
    m: i128,
    mv: VolMove,
    params: &MarginParams,
) -> Result<i128, MathError> {
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
pub(super) enum Leg {
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
pub(super) struct Book<'a> {
    pub(super) market: &'a Market,
    pub(super) spot: i128,
    pub(super) nodes: Vec<Node>,
    pub(super) legs: Vec<(Leg, Position)>,
    /// Per leg (same order as `legs`), for options, the theta loss of one unit over the
    /// horizon when it is a loss for this leg (else 0).
    pub(super) decay: Vec<i128>,
    pub(super) offset_delta: i128,
    pub(super) greeks: Greeks,
    pub(super) mtm: i128,
    /// Option contracts short per (expiry, strike) after longs there offset them and
    /// after synthetic futures are taken out (see [`net_per_strike`]).
    pub(super) net_short_options: i128,
    /// Signed futures size, real futures plus synthetic ones (long call + short put, or
    /// short call + long put, at one expiry and strike): the futures contingency's base.
    pub(super) future_size: i128,
}

/// The contingencies' netting at one (expiry, strike) with net call size `c` and net put
/// size `p`: `(naked short contracts, synthetic future size)`. A long call and a short put
/// at one strike are a synthetic long future (and a short call with a long put a short
/// one): the matched size leaves the short-option count and counts as a future, so a
/// synthetic carries the futures contingency, never less than the future it replicates.
/// What is left short of either kind counts as naked short contracts.
pub(super) fn net_per_strike(c: i128, p: i128) -> Result<(i128, i128), MathError> {
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

pub(super) fn build_book<'a>(
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
    let horizon = fixed::mul_div(params.theta_horizon_secs, WAD, YEAR, Up)?;
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
