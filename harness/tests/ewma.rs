//! Issue 16, finding 4: the EWMA volatility forecast is a function of the feed's rounds and
//! their timestamps, not of who pokes when. The same feed history (ETH +-1% each hour for
//! two days) poked every minute, once an hour, or in bursts every five hours gives one
//! forecast; before the fix, poking every minute attributed an hour's move to 60 s and
//! nearly doubled the forecast (1.79 against 0.91 in the review).

use margin_harness::abi::IRiskOracle as O;
use margin_harness::system::*;

const HOURS: u64 = 48;

/// Runs the history, poking at the offsets (seconds into each hour) in `pokes`; a poke
/// that is refused (nothing new to fold is fine; a refusal is not) fails the test.
/// Returns the forecast of the last poke, after catching up with repeated pokes.
fn forecast(pokes_per_hour: &[u64], every_hours: u64) -> i128 {
    let mut s = System::deploy(SystemConfig::default());
    let mut last = 0;
    let mut poke = |s: &mut System| {
        let out = s.poke(ETH);
        assert!(out.success, "poke: {}", s.why(&out));
        let ev = out.events_from::<O::Poked>(s.oracle);
        last = int(ev[0].forecastVol);
    };
    poke(&mut s);
    for h in 0..HOURS {
        let price = if h % 2 == 0 { wad(2_020) } else { wad(2_000) };
        s.advance(1);
        s.set_price(price);
        let mut at = 1;
        if (h + 1) % every_hours == 0 {
            for &t in pokes_per_hour {
                s.advance(t - at);
                at = t;
                poke(&mut s);
            }
        }
        s.advance(3_600 - at);
    }
    // Catch up: whoever pokes last folds the remaining rounds.
    s.advance(1);
    s.set_price(wad(2_000));
    for _ in 0..8 {
        poke(&mut s);
    }
    last
}

#[test]
fn the_forecast_does_not_depend_on_when_keepers_poke() {
    let minutely: Vec<u64> = (1..60).map(|m| m * 60).collect();
    let every_minute = forecast(&minutely, 1);
    let hourly = forecast(&[1_800], 1);
    let bursts = forecast(&[10, 20, 30], 5);
    assert_eq!(every_minute, hourly);
    assert_eq!(bursts, hourly);
    // +-1% each hour is a realised vol of ln(1.01) x sqrt(8760) = 0.931, which the
    // forecast approaches from 0 (lambda 0.94 per hour over 48 hours: within 6%).
    let v = hourly as f64 / 1e18;
    assert!(v > 0.85 && v < 0.95, "forecast {v}");
}
