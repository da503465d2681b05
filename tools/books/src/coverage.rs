//! Coverage of a book's maintenance margin by simulated market moves: the fraction of
//! moves over a horizon (an hour, a day) whose real loss, by full repricing with the
//! core's own pricer, stays within the MM the core asks for today. A clearing house aims
//! for at least 99% at one day.
//!
//! A move ([`MoveModel::draw`]): a log return `sigma sqrt(h) t - sigma^2 h / 2` with `t` a
//! Student-t draw of unit variance (fat tails), plus Poisson jumps with normal log sizes;
//! the implied volatility moves with spot, `ln(vol factor) = beta x return + vol_of_vol
//! sqrt(h) z` (kept within [`MAX_VOL_FACTOR`], and below the factor that would take a held
//! option's implied vol past 9.5, [`vol_factor_cap`]). `sigma` is the market's forecast volatility (times a multiplier) unless the
//! model fixes one.
//!
//! The repricing ([`moved_markets`], [`book_value`]): spot and stable price move by the
//! return; each surface's total variance is scaled by the vol factor squared and by the
//! time left after the horizon over the time left now (implied vol at a moneyness unchanged
//! but for the vol move, sticky moneyness); an expiry the horizon passes is settled at the
//! moved spot. The value is positions' mark-to-market plus collateral at its price without
//! haircuts, at `NOW + horizon`: the loss includes the theta of the horizon.

use crate::{f, wad, Book, Rng, ID, NOW, OTHER};
use stylus_margin::fixed::WAD;
use stylus_margin::margin::{
    account_risk, MarginError, MarginParams, Market, Method, Scenario, VolMove, DEFAULT_GRID, YEAR,
};

/// How moves are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveModel {
    /// Horizon of a move, seconds.
    pub horizon: u64,
    /// Annualised volatility of the diffusion; `None`: the market's forecast volatility.
    pub vol: Option<f64>,
    /// Multiplier on that volatility.
    pub vol_multiplier: f64,
    /// Degrees of freedom of the Student-t return (fat tails); 0: normal.
    pub tail_dof: u32,
    /// Expected jumps per year.
    pub jumps_per_year: f64,
    /// Mean and standard deviation of a jump's log size.
    pub jump_mean: f64,
    pub jump_sd: f64,
    /// `d ln(vol) / d ln(spot)`: negative, implied vol rises as spot falls.
    pub vol_spot_beta: f64,
    /// Annualised standard deviation of the log vol factor's own noise.
    pub vol_of_vol: f64,
}

impl MoveModel {
    /// Checks the parameters a file gave.
    /// # Errors
    /// The name of the first parameter out of range.
    pub fn validate(&self) -> Result<(), String> {
        let bad = |name: &str, ok: bool| if ok { Ok(()) } else { Err(name.to_string()) };
        bad("horizon", self.horizon > 0 && self.horizon <= 365 * 86_400)?;
        bad("vol", self.vol.is_none_or(|v| v > 0.0 && v < 20.0))?;
        bad(
            "vol_multiplier",
            self.vol_multiplier > 0.0 && self.vol_multiplier < 20.0,
        )?;
        bad("tail_dof", self.tail_dof == 0 || self.tail_dof >= 3)?;
        bad(
            "jumps_per_year",
            (0.0..=10_000.0).contains(&self.jumps_per_year),
        )?;
        bad("jump_mean", self.jump_mean.abs() < 5.0)?;
        bad("jump_sd", (0.0..5.0).contains(&self.jump_sd))?;
        bad("vol_spot_beta", self.vol_spot_beta.abs() < 50.0)?;
        bad("vol_of_vol", (0.0..50.0).contains(&self.vol_of_vol))
    }

    /// One move for a market of forecast volatility `forecast`: (log return, vol factor).
    pub fn draw(&self, rng: &mut Rng, forecast: f64) -> (f64, f64) {
        let h = self.horizon as f64 / YEAR as f64;
        let sigma = self.vol.unwrap_or(forecast) * self.vol_multiplier;
        let t = if self.tail_dof == 0 {
            rng.normal()
        } else {
            let n = f64::from(self.tail_dof);
            let chi2: f64 = (0..self.tail_dof).map(|_| rng.normal().powi(2)).sum();
            rng.normal() / (chi2 / n).sqrt() * ((n - 2.0) / n).sqrt()
        };
        let mut r = sigma * h.sqrt() * t - 0.5 * sigma * sigma * h;
        for _ in 0..poisson(rng, self.jumps_per_year * h) {
            r += self.jump_mean + self.jump_sd * rng.normal();
        }
        let lv = self.vol_spot_beta * r + self.vol_of_vol * h.sqrt() * rng.normal();
        (r, lv.exp().clamp(1.0 / MAX_VOL_FACTOR, MAX_VOL_FACTOR))
    }
}

/// The vol factor of a move stays within `1/3..3`: the pricer's domain ends at a
/// volatility of 10 (1,000%), which a 3x move of a skewed surface's wing can reach.
pub const MAX_VOL_FACTOR: f64 = 3.0;

/// A Poisson draw of mean `mean` (inversion; the means here are small).
fn poisson(rng: &mut Rng, mean: f64) -> u32 {
    let (mut k, mut p, l) = (0, 1.0, (-mean).exp());
    loop {
        p *= rng.unit();
        if p <= l || k >= 1_000 {
            return k;
        }
        k += 1;
    }
}

/// The book's markets moved by `(ret, vol_factor)` over `horizon` seconds (see the module
/// docs).
pub fn moved_markets(markets: &[Market], ret: f64, vol_factor: f64, horizon: u64) -> Vec<Market> {
    let later = NOW + horizon;
    markets
        .iter()
        .map(|m| {
            let spot = wad(f(m.spot) * ret.exp()).max(1);
            let mut out = Market {
                spot,
                stable: spot,
                forecast_vol: wad(f(m.forecast_vol) * vol_factor),
                surfaces: Vec::new(),
                settlements: m.settlements.clone(),
                ..m.clone()
            };
            for &(expiry, p) in &m.surfaces {
                if expiry <= later {
                    out.settlements.push((expiry, spot));
                    continue;
                }
                let left = (expiry - later) as f64 / (expiry - NOW) as f64;
                let s = vol_factor * vol_factor * left;
                let mut q = p;
                q.a = wad(f(p.a) * s);
                q.b = wad(f(p.b) * s);
                out.surfaces.push((expiry, q));
            }
            out
        })
        .collect()
}

/// Positions' mark-to-market plus collateral without haircuts, and the MM, of `book` in
/// `markets` at `now` (the default grid and `params`).
/// # Errors
/// The core's.
pub fn book_value(
    book: &Book,
    markets: &[Market],
    params: &MarginParams,
    now: u64,
    with_mm: bool,
) -> Result<(f64, i128), MarginError> {
    let one = [Scenario {
        spot: 0,
        vol: VolMove::None,
        weight: WAD,
    }];
    let grid: &[Scenario] = if with_mm { &DEFAULT_GRID } else { &one };
    let r = account_risk(
        0,
        &book.collateral,
        &book.positions,
        markets,
        grid,
        params,
        now,
    )?;
    Ok((f(r.mtm) + f(r.collateral_gross), r.mm))
}

/// The book's two markets (its underlying and the second one), as the tests price them.
pub fn markets_of(book: &Book) -> Vec<Market> {
    vec![
        book.gen.market(ID, Method::Full),
        book.gen.market(OTHER, Method::Full),
    ]
}

/// The largest vol factor that keeps every held option's implied vol, at its moneyness
/// after the spot move, within the pricer's domain (a volatility of 9.5 at most; the
/// domain ends at 10), and every scaled surface's `a` and `b` within SVI's (100).
pub fn vol_factor_cap(book: &Book, ret: f64, horizon: u64) -> f64 {
    let g = &book.gen;
    let spot = g.spot * ret.exp();
    let mut cap = f64::INFINITY;
    // The scaled surfaces' a and b stay within the SVI domain (|a|, b <= 100).
    for &(secs, [a, b, ..]) in &g.expiries {
        if secs > horizon {
            let left = (secs - horizon) as f64 / secs as f64;
            cap = cap.min((99.0 / (a.abs().max(b) * left)).sqrt());
        }
    }
    for p in &book.positions {
        if p.terms.kind == stylus_margin::instrument::Kind::Future
            || p.terms.expiry <= NOW + horizon
        {
            continue;
        }
        let secs = p.terms.expiry - NOW;
        let Some(&(_, [a, b, rho, m, sig])) = g.expiries.iter().find(|e| e.0 == secs) else {
            continue;
        };
        let t = secs as f64 / YEAR as f64;
        let left = (secs - horizon) as f64 / YEAR as f64;
        let k = (f(p.terms.strike as i128) / (spot * (g.rate * left).exp())).ln() - m;
        let w = a + b * (rho * k + (k * k + sig * sig).sqrt());
        if w > 0.0 {
            cap = cap.min(9.5 / (w / t).sqrt());
        }
    }
    cap
}

/// Coverage of one book over `moves` draws of `model`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BookCoverage {
    /// Moves drawn.
    pub moves: usize,
    /// Moves whose loss stayed within MM.
    pub covered: usize,
    /// The largest loss over MM (1.0: the loss equalled MM; 0 when MM is 0 and no loss).
    pub worst_ratio: f64,
    /// MM, and the book's notional (sum of |size| x spot and collateral value).
    pub mm: f64,
    pub notional: f64,
}

impl BookCoverage {
    /// Covered moves over moves.
    pub fn fraction(&self) -> f64 {
        if self.moves == 0 {
            1.0
        } else {
            self.covered as f64 / self.moves as f64
        }
    }
}

/// Draws `moves` moves of `model` and counts those whose real loss stays within the MM
/// (`params`, the default grid) of `book` today. A loss within 1e-9 of the notional above
/// MM counts as covered (rounding).
/// # Errors
/// The core's.
pub fn book_coverage(
    book: &Book,
    model: &MoveModel,
    params: &MarginParams,
    moves: usize,
    rng: &mut Rng,
) -> Result<BookCoverage, MarginError> {
    let markets = markets_of(book);
    let (v0, mm) = book_value(book, &markets, params, NOW, true)?;
    let notional: f64 = book
        .positions
        .iter()
        .map(|p| f(p.size).abs() * book.gen.spot)
        .chain(book.collateral.iter().map(|c| f(c.amount) * book.gen.spot))
        .sum();
    let mm = f(mm);
    let mut out = BookCoverage {
        moves,
        mm,
        notional,
        ..BookCoverage::default()
    };
    for _ in 0..moves {
        let (ret, vf) = model.draw(rng, book.gen.forecast);
        let vf = vf.min(vol_factor_cap(book, ret, model.horizon));
        let moved = moved_markets(&markets, ret, vf, model.horizon);
        let (v1, _) = book_value(book, &moved, params, NOW + model.horizon, false)?;
        let loss = v0 - v1;
        if loss <= mm + 1e-9 * notional {
            out.covered += 1;
        }
        if loss > 0.0 {
            let ratio = if mm > 0.0 { loss / mm } else { f64::INFINITY };
            out.worst_ratio = out.worst_ratio.max(ratio);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{book_at, generate, STRUCTURES};

    fn model(horizon: u64) -> MoveModel {
        MoveModel {
            horizon,
            vol: None,
            vol_multiplier: 1.0,
            tail_dof: 4,
            jumps_per_year: 12.0,
            jump_mean: -0.02,
            jump_sd: 0.06,
            vol_spot_beta: -2.0,
            vol_of_vol: 1.5,
        }
    }

    /// The draws have the variance the model says: diffusion plus jumps.
    #[test]
    fn moves_have_the_models_variance() {
        let mut m = model(86_400);
        m.vol = Some(0.8);
        let mut rng = Rng(7);
        let n = 200_000;
        let rs: Vec<f64> = (0..n).map(|_| m.draw(&mut rng, 0.0).0).collect();
        let mean = rs.iter().sum::<f64>() / n as f64;
        let var = rs.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n as f64;
        let h = 86_400.0 / YEAR as f64;
        let want = 0.64 * h + 12.0 * h * (0.02f64.powi(2) + 0.06f64.powi(2));
        assert!((var / want - 1.0).abs() < 0.05, "{var} {want}");
        // Fat tails: a 5-sigma day is far more frequent than under a normal (5.7e-7).
        let sd = (0.64 * h).sqrt();
        let tails = rs.iter().filter(|r| r.abs() > 5.0 * sd).count();
        assert!(tails > 50, "{tails}");
    }

    /// No move, no time: no loss; the book's value is the core's MtM plus collateral.
    #[test]
    fn an_unmoved_market_an_instant_later_loses_nothing() {
        let mut rng = Rng(11);
        for i in 0..64 {
            let book = book_at(&mut rng, i);
            let markets = markets_of(&book);
            let p = MarginParams::DEFAULT;
            let (v0, _) = book_value(&book, &markets, &p, NOW, true).unwrap();
            let moved = moved_markets(&markets, 0.0, 1.0, 0);
            let (v1, _) = book_value(&book, &moved, &p, NOW, false).unwrap();
            assert!(
                (v0 - v1).abs() <= 1e-9 * v0.abs().max(1.0),
                "{i}: {v0} {v1}"
            );
        }
    }

    /// A short put loses when spot falls and vol rises; the loss is the repricing's.
    #[test]
    fn a_crash_is_a_loss_for_a_short_put_book() {
        let mut rng = Rng(3);
        let mut book = generate(&mut rng, 0);
        book.positions.truncate(1);
        book.positions[0].terms.kind = stylus_margin::instrument::Kind::Put;
        book.positions[0].size = -book.positions[0].size.abs();
        let markets = markets_of(&book);
        let p = MarginParams::DEFAULT;
        let (v0, _) = book_value(&book, &markets, &p, NOW, true).unwrap();
        let moved = moved_markets(&markets, -0.3, 1.5, 3_600);
        let (v1, _) = book_value(&book, &moved, &p, NOW + 3_600, false).unwrap();
        assert!(v1 < v0, "{v0} {v1}");
    }

    /// A seeded subset: every structure's daily coverage at the default model is high.
    /// The full report per structure is `margin coverage` (README).
    #[test]
    fn margin_covers_most_daily_moves_on_random_books() {
        let mut rng = Rng(0xC0FE_0001);
        let p = MarginParams::DEFAULT;
        let m = model(86_400);
        let (mut moves, mut covered) = (0, 0);
        for i in 0..2 * STRUCTURES.len() {
            let book = book_at(&mut rng, i);
            let c = book_coverage(&book, &m, &p, 100, &mut rng).unwrap();
            moves += c.moves;
            covered += c.covered;
        }
        let frac = covered as f64 / moves as f64;
        assert!(frac > 0.98, "{frac}");
    }
}
