//! Full revaluation of a book in a scenario, and the search for the worst loss between
//! the grid's points.
use super::*;

/// Spot-shock multiplier from forecast volatility: `clamp(forecast / ref, 1, max)`.
pub(super) fn shock_scale(market: &Market, params: &MarginParams) -> Result<i128, MathError> {
    if market.ref_vol <= 0 || market.forecast_vol <= market.ref_vol {
        return Ok(WAD);
    }
    Ok(fixed::div(market.forecast_vol, market.ref_vol, Up)?.min(params.max_shock_scale))
}

/// Exact PnL of the book at the relative spot move `spot_move` (WAD) and vol move `vol`:
/// every node repriced once, then applied to its legs (with each leg's decay loss).
pub(super) fn full_pnl(book: &Book, vol: VolMove, spot_move: i128) -> Result<i128, MarginError> {
    part_pnls(book, vol, spot_move, None)
}

/// [`full_pnl`], and each part of it pushed to `parts` when given: the offsetting
/// collateral's PnL first, then each leg's in the order of `book.legs`.
#[inline(never)]
pub(super) fn part_pnls(
    book: &Book,
    vol: VolMove,
    spot_move: i128,
    mut parts: Option<&mut Vec<i128>>,
) -> Result<i128, MarginError> {
    let spot = book.spot;
    let new_spot = fixed::mul_fast(spot, WAD + spot_move, Down)?.max(1);
    let dspot = new_spot - spot;
    let mut pnl = fixed::mul_fast(book.offset_delta, dspot, Down)?;
    if let Some(p) = parts.as_deref_mut() {
        p.push(pnl);
    }
    let ln_move = pricer::ln_move(new_spot, spot)?;
    let v = vol_index(vol);
    // Reprice each node once per scenario (every node has a leg), then apply to its legs.
    let mut repriced: Vec<(i128, i128)> = Vec::with_capacity(book.nodes.len());
    for n in &book.nodes {
        // strike / new spot within [0.01, 100], without a division (as
        // black_scholes::check_domain tests it; both sides below 1e33).
        let in_domain = n.strike * 100 >= new_spot && n.strike <= new_spot * 100;
        // Outside the pricer's moneyness domain the option is deep in or out of the
        // money: its value is its discounted intrinsic value.
        repriced.push(match n.at.as_ref().filter(|_| in_domain) {
            Some(at) => pricer::reprice_at(&at[v], new_spot, ln_move),
            None => intrinsic_prices(new_spot, n.strike, n.years, book.market.rate)?,
        });
    }
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
                let (call, put) = repriced[i];
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
        if let Some(p) = parts.as_deref_mut() {
            p.push(leg);
        }
        pnl = fixed::add(pnl, leg)?;
    }
    Ok(pnl)
}

/// Lower bound of an option's value outside the pricer's moneyness domain (|ln K/S| > 4.6):
/// the discounted forward intrinsic `(call, put)`, within 1e-9 of Black-Scholes there
/// for every volatility in the domain times sqrt(T) up to ~1.5.
pub(super) fn intrinsic_prices(
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
pub(super) fn short_dated(book: &Book) -> bool {
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
///
/// With `bound`, an upper bound of that loss instead, in about a third of the repricings
/// ([`account_risk_with`]), with `u8::MAX` for the scenario. Each part of the book (every
/// leg, and the offsetting collateral) is monotone in spot at a fixed vol, so over a vol
/// move's weight-1 range (0 included: the range searched above) it is lowest at one of
/// the range's two ends, and the book's PnL anywhere in the range is at least the sum of
/// its parts' lower ends: the range's bound. The extreme scenarios are evaluated as they
/// are, weighted, as above. The bound is the largest of these. Each range's adds, per
/// option leg, `|size| x` [`BOUND_SLACK`] `x` the highest spot of the ranges, for the
/// pricer's departures from monotonicity (its error, the step to intrinsic value at the
/// edge of its domain), and a wei per part for rounding. (Weight-1 scenarios weigh
/// exactly 1.) With `bound`, it stops once the loss found exceeds `cap`, after the
/// extremes or a range (returning that loss): the caller then knows the account fails
/// with the bound.
pub(super) fn worst_loss(
    book: &Book,
    grid: &[Scenario],
    params: &MarginParams,
    bound: bool,
    cap: i128,
) -> Result<(i128, u8), MarginError> {
    let scale = shock_scale(book.market, params)?;
    let mut worst = 0i128;
    let mut worst_i = 0u8;
    // With `bound`: the highest spot move of the ranges.
    let mut top = 0i128;
    // Weight-1 points per vol move: (spot move, PnL, grid index or u8::MAX).
    let mut points: [Vec<(i128, i128, u8)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (i, s) in grid.iter().enumerate() {
        let spot_move = fixed::mul_fast(s.spot, scale, Rounding::Nearest)?.max(-95 * WAD / 100);
        if bound && s.weight >= WAD {
            points[vol_index(s.vol)].push((spot_move, 0, i as u8));
            top = top.max(spot_move);
            continue;
        }
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
    let mut slack = 0;
    if bound {
        let per_unit = fixed::mul_fast(book.spot, WAD + top, Up)?;
        let per_unit = fixed::mul_fast(per_unit, BOUND_SLACK, Up)?;
        slack = book.legs.len() as i128 + 1;
        for (leg, p) in &book.legs {
            if let Leg::Option(_) = leg {
                slack = fixed::add(slack, fixed::mul_fast(p.size.abs(), per_unit, Up)?)?;
            }
        }
        worst_i = u8::MAX;
    }
    for (v, vol) in [VolMove::Up, VolMove::None, VolMove::Down]
        .into_iter()
        .enumerate()
    {
        // With `bound`, the loss so far (the extremes', the ranges' before this one) is
        // the answer as soon as it exceeds `cap`.
        if bound && worst > cap {
            return Ok((worst, u8::MAX));
        }
        let pts = &mut points[v];
        if pts.is_empty() {
            continue;
        }
        let lo = pts.iter().map(|p| p.0).min().unwrap_or(0).min(0);
        let hi = pts.iter().map(|p| p.0).max().unwrap_or(0).max(0);
        if bound {
            let (mut at_lo, mut at_hi) = (Vec::new(), Vec::new());
            part_pnls(book, vol, lo, Some(&mut at_lo))?;
            part_pnls(book, vol, hi, Some(&mut at_hi))?;
            let mut floor = 0i128;
            for (a, b) in at_lo.iter().zip(&at_hi) {
                floor = fixed::add(floor, *a.min(b))?;
            }
            worst = worst.max(fixed::add(slack, -floor)?);
            continue;
        }
        if short {
            // The unchanged spot, the middle of each step of the grid, and the strike of
            // each node very close to expiry, within the range.
            let mut extra: Vec<i128> = Vec::new();
            extra.push(0);
            sort_by_spot(pts);
            for w in pts.windows(2) {
                extra.push(w[0].0 + ((w[1].0 - w[0].0) >> 1));
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
            if !short && -pts[i].1 < worst - fixed::idiv(worst, REFINE_MARGIN_DIV) {
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
pub(super) fn sort_by_spot(pts: &mut [(i128, i128, u8)]) {
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
pub(super) fn golden_min(
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
pub(super) fn parabolic_min(
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
            _ if b - a > c - b => a + ((b - a) >> 1),
            _ => b + ((c - b) >> 1),
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
pub(super) fn parabola_vertex(p: [(i128, i128); 3]) -> Result<i128, MathError> {
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
    fixed::sub(b, fixed::idiv(num, den) << 29)
}
