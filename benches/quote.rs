//! `black_scholes::quote` throughput over a fixed set of inputs spanning the domain.
//!
//! `cargo bench -p stylus-margin --bench quote`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use stylus_margin::black_scholes::quote;
use stylus_margin::fixed::WAD;

/// (spot, strike, vol, years, rate), WAD: at, in and out of the money, short and long
/// dated, low and high volatility, tails included.
fn inputs() -> Vec<(i128, i128, i128, i128, i128)> {
    let mut v = Vec::new();
    for &spot in &[WAD / 1000, 100 * WAD, 3_000 * WAD, 1_000_000_000 * WAD] {
        for &m in &[WAD / 50, WAD * 8 / 10, WAD, WAD * 12 / 10, 20 * WAD] {
            for &vol in &[WAD / 100, WAD / 2, 3 * WAD] {
                for &years in &[WAD / 365, WAD / 4, 2 * WAD] {
                    let strike = spot / WAD * m + spot % WAD * m / WAD;
                    let point = (spot, strike, vol, years, WAD / 20);
                    assert!(
                        quote(spot, strike, vol, years, WAD / 20).is_ok(),
                        "{point:?}"
                    );
                    v.push(point);
                }
            }
        }
    }
    v
}

fn bench_quote(c: &mut Criterion) {
    let points = inputs();
    let mut group = c.benchmark_group("black_scholes");
    group.throughput(Throughput::Elements(points.len() as u64));
    group.bench_function("quote", |b| {
        b.iter(|| {
            for &(s, k, v, t, r) in &points {
                let _ = black_box(quote(
                    black_box(s),
                    black_box(k),
                    black_box(v),
                    black_box(t),
                    black_box(r),
                ));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_quote);
criterion_main!(benches);
