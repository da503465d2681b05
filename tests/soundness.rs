//! Soundness of the margin check on random books: the maintenance margin never falls short of
//! the worst loss over the continuous weight-1 range of the grid (each vol move, every spot
//! move the weight-1 scenarios of that vol move span), and it does not depend on the
//! method the oracle names.
//!
//! The books come from a seeded generator of the structures traders run (verticals, risk
//! reversals, butterflies, calendars, diagonals, ratio spreads, strangles, straddles, iron
//! condors, deep out-of-the-money short wings, long-dated vega books, covered calls on
//! risk-offsetting collateral, futures hedges, synthetics, random mixtures), expiries from
//! an hour to two years, SVI surfaces with skew, 20% of markets with forecast volatility
//! above the reference (the grid's spot moves scaled up to 3x), multi-expiry books.
//!
//! The reference worst loss is a dense scan: every 0.25% of spot across the weight-1 range
//! of each vol move, valued two ways: by the core's own full revaluation (the same pricer,
//! on a dense grid) and by an independent float64 Black-Scholes on the SVI surface. The
//! contingencies are set to zero for the comparison, so MM is the worst loss itself.
//!
//! The bound the engine's post-action checks try first (`account_risk_with`) is
//! checked on the same books: its MM and IM never below the exact check's, nor below
//! either dense scan (the float64 one within the same dust tolerance); the table reports
//! how loose it is.
//!
//! `cargo test --release --test soundness` runs a fast seeded subset; the full run over
//! 20,000 books with a table per structure:
//! `cargo test --release --test soundness -- --ignored --nocapture`.

use margin_books::{book_at, f, wad, Book, Rng, ID, NOW, OTHER, STRUCTURES};
use stylus_margin::fixed::WAD;
use stylus_margin::instrument::Kind;
use stylus_margin::margin::{
    account_risk, account_risk_with, vol_shock_scale, Loss, MarginParams, Method, Scenario,
    VolMove, DEFAULT_GRID, YEAR,
};

/// Margin parameters with no contingencies: MM is the worst weighted loss itself.
fn no_contingencies() -> MarginParams {
    MarginParams {
        mm_short_option: 0,
        im_short_option: 0,
        mm_future: 0,
        im_future: 0,
        ..MarginParams::DEFAULT
    }
}

fn mm(book: &Book, grid: &[Scenario], method: Method, params: &MarginParams) -> i128 {
    account_risk(
        0,
        &book.collateral,
        &book.positions,
        &[book.gen.market(ID, method), book.gen.market(OTHER, method)],
        grid,
        params,
        NOW,
    )
    .unwrap_or_else(|e| panic!("{}: {e:?} {:?}", book.structure, book.positions))
    .mm
}

/// The bound's MM of a book (`account_risk_with`), checked against the exact
/// check on the default grid: its MM and IM are at least the exact ones, and its
/// equities, mark-to-market and Greeks are the same (so an account that passes with it
/// passes exactly). Panics with the book otherwise.
fn bound_mm(book: &Book, params: &MarginParams) -> i128 {
    let markets = [
        book.gen.market(ID, Method::Full),
        book.gen.market(OTHER, Method::Full),
    ];
    let (c, p, g) = (&book.collateral, &book.positions, &DEFAULT_GRID);
    let exact = account_risk(0, c, p, &markets, g, params, NOW).unwrap();
    let bound = account_risk_with(0, c, p, &markets, g, params, NOW, Loss::Bound).unwrap();
    assert!(
        bound.mm >= exact.mm && bound.im >= exact.im,
        "{}: bound MM {} IM {} below exact {} {}: {:?}",
        book.structure,
        bound.mm,
        bound.im,
        exact.mm,
        exact.im,
        book.positions
    );
    let same = |r: &stylus_margin::margin::AccountRisk| {
        (
            r.equity,
            r.equity_im,
            r.mtm,
            r.collateral_value,
            r.greeks.clone(),
        )
    };
    assert_eq!(same(&bound), same(&exact), "{}", book.structure);
    bound.mm
}

/// The weight-1 range of the default grid per vol move, in basis points of spot.
fn weight1_range(vol: VolMove) -> i128 {
    DEFAULT_GRID
        .iter()
        .filter(|s| s.vol == vol && s.weight == WAD)
        .map(|s| s.spot.abs() / 100_000_000_000_000)
        .max()
        .unwrap_or(0)
}

/// Dense scan with the core: every 25 bps of spot across the weight-1 range of each vol
/// move, in grids of at most 40 scenarios.
fn dense_core(book: &Book, params: &MarginParams) -> i128 {
    let mut scenarios = Vec::new();
    for vol in [VolMove::Up, VolMove::None, VolMove::Down] {
        let r = weight1_range(vol);
        let mut bps = -r;
        while bps <= r {
            scenarios.push(Scenario {
                spot: bps * 100_000_000_000_000,
                vol,
                weight: WAD,
            });
            bps += 25;
        }
    }
    scenarios
        .chunks(40)
        .map(|c| mm(book, c, Method::Full, params))
        .max()
        .unwrap_or(0)
}

/// Float64 normal CDF (Abramowitz-Stegun 7.1.26 is too coarse; erfc via a series and a
/// continued fraction is overkill: libm's erf is exact enough here).
fn ncdf(x: f64) -> f64 {
    0.5 * libm_erfc(-x / std::f64::consts::SQRT_2)
}

/// erfc for f64 (W. J. Cody's rational approximations through `erf` identities are not in
/// std; this uses the complementary error function's continued fraction for |x| > 2 and
/// the Taylor series of erf below, each to ~1e-15).
fn libm_erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - libm_erfc(-x);
    }
    if x < 2.0 {
        // erf(x) = 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1))
        let mut sum: f64 = 0.0;
        let mut term = x;
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs().max(1e-300) && n < 200.0 {
            sum += term / (2.0 * n + 1.0);
            n += 1.0;
            term *= -x * x / n;
        }
        return 1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum;
    }
    // Lentz's continued fraction for erfc.
    let mut f = x;
    let mut c = x;
    let mut d = 0.0;
    for k in 1..200 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        d = 1.0 / d;
        c = x + a / c;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / f / std::f64::consts::PI.sqrt()
}

fn bs(call: bool, s: f64, k: f64, vol: f64, t: f64, r: f64) -> f64 {
    let v = vol * t.sqrt();
    let d1 = ((s / k).ln() + r * t + v * v / 2.0) / v;
    let d2 = d1 - v;
    let kd = k * (-r * t).exp();
    if call {
        s * ncdf(d1) - kd * ncdf(d2)
    } else {
        kd * ncdf(-d2) - s * ncdf(-d1)
    }
}

/// Independent float64 reference: the book's worst loss over the continuous weight-1 range,
/// scanned every 25 bps per vol move, with the model's shocks (spot scaled by forecast /
/// ref vol up to 3x, vol moved by `vol_up`/`vol_down` x m(T)), no theta.
fn dense_f64(book: &Book, params: &MarginParams) -> f64 {
    let g = &book.gen;
    let scale = (g.forecast / g.ref_vol).clamp(1.0, f(params.max_shock_scale));
    let mut worst: f64 = 0.0;
    for vol in [VolMove::Up, VolMove::None, VolMove::Down] {
        let r = weight1_range(vol);
        let mut bps = -r;
        while bps <= r {
            let mv = (bps as f64 / 10_000.0 * scale).max(-0.95);
            let s1 = g.spot * (1.0 + mv);
            let mut pnl = 0.0;
            for c in &book.collateral {
                if c.config.risk_offsetting && c.config.underlying == ID {
                    pnl += f(c.amount) * (s1 - g.spot);
                }
            }
            for p in &book.positions {
                let size = f(p.size);
                if p.terms.kind == Kind::Future {
                    pnl += size * (s1 - g.spot);
                    continue;
                }
                let secs = p.terms.expiry - NOW;
                let i = g
                    .expiries
                    .iter()
                    .position(|e| NOW + e.0 == p.terms.expiry)
                    .unwrap();
                let t = secs.max(60) as f64 / YEAR as f64;
                let k = p.terms.strike as f64 / 1e18;
                let v0 = g.vol(i, k);
                let m = f(vol_shock_scale(wad(t)).unwrap());
                let v1 = match vol {
                    VolMove::Up => (v0 * (1.0 + f(params.vol_up) * m)).min(10.0),
                    VolMove::None => v0,
                    VolMove::Down => (v0 * (1.0 - f(params.vol_down) * m).max(0.05)).max(0.001),
                };
                let call = p.terms.kind == Kind::Call;
                let before = bs(call, g.spot, k, v0, t, g.rate);
                let after = bs(call, s1, k, v1, t, g.rate);
                pnl += size * (after - before);
            }
            worst = worst.max(-pnl);
            bps += 25;
        }
    }
    worst
}

#[derive(Default, Clone, Copy)]
struct Stats {
    books: usize,
    /// Worst shortfall of MM against the core's dense scan, and against the float64 one.
    short_core: f64,
    short_f64: f64,
    past_core: usize,
    past_f64: usize,
    methods_differ: usize,
    /// Sum and largest of the bound's MM over the exact MM (books with MM > 0).
    bound_ratio_sum: f64,
    bound_ratio_max: f64,
    bounded: usize,
    /// Books whose bound is at most twice their MM (an account with equity at least twice
    /// its requirement then passes on the bound).
    within_2x: usize,
}

/// Runs `count` books from `seed`; returns per-structure statistics.
fn run(seed: u64, count: usize) -> Vec<(&'static str, Stats)> {
    let mut rng = Rng(seed);
    let params = no_contingencies();
    let mut stats: Vec<(&'static str, Stats)> =
        STRUCTURES.iter().map(|s| (*s, Stats::default())).collect();
    for i in 0..count {
        let book = book_at(&mut rng, i);
        let full = mm(&book, &DEFAULT_GRID, Method::Full, &params);
        let greeks = mm(&book, &DEFAULT_GRID, Method::Greeks, &params);
        let core = dense_core(&book, &params);
        // The bound covers the exact check and the continuous worst loss the dense
        // scan finds (exactly: its slack covers the pricer's departures from monotonicity).
        let bound = bound_mm(&book, &params);
        assert!(
            bound >= core,
            "book {i} {}: bound {} below the dense scan {}: {:?}",
            book.structure,
            f(bound),
            f(core),
            book.positions
        );
        // Books with a second underlying: the float64 scan values one underlying; compare
        // it only where the book has one.
        let single = book.positions.iter().all(|p| p.terms.underlying == ID);
        let reference = if single {
            dense_f64(&book, &params)
        } else {
            0.0
        };
        let st = &mut stats.iter_mut().find(|s| s.0 == book.structure).unwrap().1;
        st.books += 1;
        if full > 0 {
            let ratio = f(bound) / f(full);
            st.bound_ratio_sum += ratio;
            st.bound_ratio_max = st.bound_ratio_max.max(ratio);
            st.bounded += 1;
            st.within_2x += usize::from(ratio <= 2.0);
        }
        if full != greeks {
            st.methods_differ += 1;
        }
        let notional: f64 = book
            .positions
            .iter()
            .map(|p| f(p.size).abs() * book.gen.spot)
            .sum::<f64>()
            + book
                .collateral
                .iter()
                .map(|c| f(c.amount) * book.gen.spot)
                .sum::<f64>();
        // Shortfall relative to the reference, ignoring dust: an absolute shortfall below
        // 1e-6 of the book's notional ($1 on $1M; the Q48 pricer's own error is ~1e-13).
        let tol = 1e-6 * notional;
        let short = |reference: f64| {
            if reference - f(full) <= tol {
                0.0
            } else {
                ((reference - f(full)) / reference).max(0.0)
            }
        };
        assert!(
            f(bound) >= reference - tol,
            "book {i} {}: bound {} below the float64 scan {reference}",
            book.structure,
            f(bound)
        );
        let sc = short(f(core));
        let sf = short(reference);
        st.short_core = st.short_core.max(sc);
        st.short_f64 = st.short_f64.max(sf);
        if sc > 0.02 {
            st.past_core += 1;
            eprintln!(
                "past 2% (core scan): book {i} {}: MM {} dense {} {:?}",
                book.structure,
                f(full),
                f(core),
                book.positions
            );
        }
        if sf > 0.02 {
            st.past_f64 += 1;
            eprintln!(
                "past 2% (float64 scan): book {i} {}: MM {} dense {} spot {} {:?}",
                book.structure,
                f(full),
                reference,
                book.gen.spot,
                book.positions
            );
        }
    }
    stats
}

fn report(stats: &[(&'static str, Stats)]) -> Stats {
    println!("| structure | books | worst MM shortfall vs core dense scan | vs float64 dense scan | books past 2% | method changes MM | bound / MM, mean (max) | bound <= 2 MM |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut all = Stats::default();
    let mean = |s: &Stats| s.bound_ratio_sum / s.bounded.max(1) as f64;
    let share = |s: &Stats| 100.0 * s.within_2x as f64 / s.bounded.max(1) as f64;
    for (name, s) in stats {
        println!(
            "| {name} | {} | {:.3}% | {:.3}% | {} | {} | {:.2} ({:.1}) | {:.0}% |",
            s.books,
            100.0 * s.short_core,
            100.0 * s.short_f64,
            s.past_core.max(s.past_f64),
            s.methods_differ,
            mean(s),
            s.bound_ratio_max,
            share(s)
        );
        all.bound_ratio_sum += s.bound_ratio_sum;
        all.bound_ratio_max = all.bound_ratio_max.max(s.bound_ratio_max);
        all.bounded += s.bounded;
        all.within_2x += s.within_2x;
        all.books += s.books;
        all.short_core = all.short_core.max(s.short_core);
        all.short_f64 = all.short_f64.max(s.short_f64);
        all.past_core += s.past_core;
        all.past_f64 += s.past_f64;
        all.methods_differ += s.methods_differ;
    }
    println!(
        "| all | {} | {:.3}% | {:.3}% | {} | {} | {:.2} ({:.1}) | {:.0}% |",
        all.books,
        100.0 * all.short_core,
        100.0 * all.short_f64,
        all.past_core.max(all.past_f64),
        all.methods_differ,
        mean(&all),
        all.bound_ratio_max,
        share(&all)
    );
    all
}

fn check(all: &Stats) {
    assert_eq!(all.methods_differ, 0, "the method changed MM");
    assert_eq!(
        all.past_core, 0,
        "MM fell more than 2% short of the core's dense scan"
    );
    assert_eq!(
        all.past_f64, 0,
        "MM fell more than 2% short of the float64 dense scan"
    );
}

#[test]
fn mm_covers_the_continuous_worst_loss_on_random_books() {
    let all = report(&run(0x5EED_0001, 1_600));
    check(&all);
}

#[test]
#[ignore = "long: 20,000 books (cargo test --release --test soundness -- --ignored --nocapture)"]
fn mm_covers_the_continuous_worst_loss_on_20000_random_books() {
    let all = report(&run(0x5EED_2026, 20_000));
    check(&all);
}

/// Prints one book of a run and its MM per grid scenario and over a dense scan:
/// `BOOK=<index> SEED=<hex seed> cargo test --release --test soundness debug_book -- --ignored --nocapture`.
#[test]
#[ignore = "a debugging aid: BOOK=<index> [SEED=<hex>]"]
fn debug_book() {
    let want: usize = std::env::var("BOOK").unwrap().parse().unwrap();
    let seed = std::env::var("SEED").map_or(0x5EED_0001, |s| u64::from_str_radix(&s, 16).unwrap());
    let mut rng = Rng(seed);
    let params = no_contingencies();
    for i in 0..=want {
        let book = book_at(&mut rng, i);
        if i < want {
            continue;
        }
        println!(
            "spot {} forecast {} {:?}",
            book.gen.spot, book.gen.forecast, book.gen.expiries
        );
        println!(
            "MM default {}",
            f(mm(&book, &DEFAULT_GRID, Method::Full, &params))
        );
        for s in DEFAULT_GRID {
            print!(
                "{}/{:?}:{:.2} ",
                s.spot / 100_000_000_000_000,
                s.vol,
                f(mm(&book, &[s], Method::Full, &params))
            );
        }
        println!();
        println!("{:?}", book.positions);
        for vol in [VolMove::Up, VolMove::None, VolMove::Down] {
            let r = weight1_range(vol);
            let mut bps = -r;
            let mut line = String::new();
            while bps <= r {
                let s = [Scenario {
                    spot: bps * 100_000_000_000_000,
                    vol,
                    weight: WAD,
                }];
                line += &format!("{bps}:{:.2} ", f(mm(&book, &s, Method::Full, &params)));
                bps += 25;
            }
            println!("{vol:?}: {line}");
        }
    }
}
