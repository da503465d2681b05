//! The benchmark book shared by `bench_gas` and `profile_check`.

use margin_harness::system::{wad, Kind, WAD};

/// A book of options: leg `i` goes to expiry `i % E`; within an expiry, alternating calls
/// and puts at strikes 1,400 + 20 x (j / 2) (a call and a put per strike), long 2 when
/// `i % 3 == 0`, else short 1 (the layout of `benches/margin.rs`).
pub fn leg(i: usize, expiries: &[u64]) -> (Kind, i128, u64, i128) {
    let e = expiries.len();
    let j = i / e;
    let kind = if j.is_multiple_of(2) {
        Kind::Call
    } else {
        Kind::Put
    };
    let strike = wad(1_400 + 20 * (j / 2) as i128);
    let size = if i.is_multiple_of(3) { 2 * WAD } else { -WAD };
    (kind, strike, expiries[i % e], size)
}
