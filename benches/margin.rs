//! Native time of one margin check (`margin::account_risk`, the RiskCalculator's work) for
//! the books of the performance goals: 16 options on one underlying and one expiry, and
//! 128 options across 4 expiries; Greeks path and full revaluation; the full 26-scenario
//! grid. Gas comes from the WASM environment (issue 8); this is the native reference.
//!
//! `cargo bench -p stylus-margin --bench margin`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use stylus_margin::{
    fixed::WAD,
    instrument::{Kind, Terms},
    margin::{account_risk, MarginParams, Market, Method, Position, DEFAULT_GRID, YEAR},
    svi::SviParams,
};

const NOW: u64 = 1_735_689_600;
const DAY: u64 = 86_400;

fn market(method: Method, expiries: &[u64]) -> Market {
    let surfaces = expiries
        .iter()
        .map(|&e| {
            let t = i128::from(e - NOW) * WAD / YEAR;
            (
                e,
                SviParams {
                    a: 65 * 65 * t / 10_000,
                    b: WAD / 10,
                    rho: -WAD / 2,
                    m: 0,
                    sigma: WAD / 10,
                },
            )
        })
        .collect();
    Market {
        id: 1,
        spot: 2_000 * WAD,
        stable: 2_000 * WAD,
        rate: WAD / 25,
        forecast_vol: 0,
        ref_vol: 8 * WAD / 10,
        method,
        surfaces,
        settlements: Vec::new(),
    }
}

/// `n` options spread over `expiries`: alternating calls and puts, long and short, strikes
/// 1,400 .. 2,600 in steps of 50 (distinct (expiry, strike, kind) legs).
fn book(n: usize, expiries: &[u64]) -> Vec<Position> {
    (0..n)
        .map(|i| Position {
            terms: Terms {
                kind: if i % 2 == 0 { Kind::Call } else { Kind::Put },
                underlying: 1,
                expiry: expiries[i % expiries.len()],
                strike: (1_400 + 50 * (i / expiries.len() % 25)) as u128 * WAD as u128,
            },
            size: if i % 3 == 0 { 2 * WAD } else { -WAD },
            entry: 0,
        })
        .collect()
}

fn bench_margin(c: &mut Criterion) {
    let mut group = c.benchmark_group("account_risk");
    for (label, n, expiries) in [
        ("16 options, 1 expiry", 16, vec![NOW + 30 * DAY]),
        (
            "128 options, 4 expiries",
            128,
            vec![
                NOW + 7 * DAY,
                NOW + 30 * DAY,
                NOW + 90 * DAY,
                NOW + 180 * DAY,
            ],
        ),
    ] {
        let positions = book(n, &expiries);
        for (mname, method) in [
            ("Greeks path", Method::Greeks),
            ("full revaluation", Method::Full),
        ] {
            let m = [market(method, &expiries)];
            account_risk(
                1_000_000 * WAD,
                &[],
                &positions,
                &m,
                &DEFAULT_GRID,
                &MarginParams::DEFAULT,
                NOW,
            )
            .expect("valid book");
            group.bench_function(format!("{label}, {mname}"), |b| {
                b.iter(|| {
                    black_box(
                        account_risk(
                            black_box(1_000_000 * WAD),
                            &[],
                            &positions,
                            &m,
                            &DEFAULT_GRID,
                            &MarginParams::DEFAULT,
                            NOW,
                        )
                        .unwrap(),
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_margin);
criterion_main!(benches);
