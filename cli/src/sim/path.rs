//! The spot/vol path: key points interpolated at a fixed step, or a CSV of historical
//! prices (`timestamp,price`, one step per row), plus feed outages. And `margin gen-path`,
//! the deterministic generator of synthetic CSV paths (geometric Brownian motion).
use std::io::BufRead;

use super::scenario::{Loaded, ScenarioError};

/// One step of the path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Seconds from the start.
    pub t: u64,
    pub spot: f64,
    pub vol: f64,
    /// Whether the price feed publishes a round at this step.
    pub feed_live: bool,
}

/// Linear interpolation over `(t, value)` knots; flat outside them.
fn interp(knots: &[(u64, f64)], t: u64) -> f64 {
    match knots.iter().position(|&(kt, _)| kt >= t) {
        None => knots.last().map_or(0.0, |k| k.1),
        Some(0) => knots[0].1,
        Some(i) => {
            let (t0, v0) = knots[i - 1];
            let (t1, v1) = knots[i];
            v0 + (v1 - v0) * (t - t0) as f64 / (t1 - t0) as f64
        }
    }
}

/// Builds the steps of a loaded scenario. Extra steps are placed exactly at each
/// instrument's expiry inside the path, so the settlement round is published on time.
pub fn build(l: &Loaded) -> Result<Vec<Step>, ScenarioError> {
    let s = &l.scenario;
    let p = &s.path;
    let mut vol_knots: Vec<(u64, f64)> = p
        .points
        .iter()
        .filter_map(|pt| pt.vol.as_ref().map(|v| (pt.t.get_ref().0, *v.get_ref())))
        .collect();
    if vol_knots.first().is_none_or(|k| k.0 > 0) {
        vol_knots.insert(0, (0, s.market.vol));
    }
    let mut steps: Vec<(u64, f64)> = Vec::new();
    if let Some(csv) = &p.csv {
        if let Some(pt) = p.points.iter().find_map(|pt| pt.spot.as_ref()) {
            return Err(l.err_at(
                pt.span(),
                "spot points cannot be combined with `csv` (use vol only)",
            ));
        }
        let file = l.resolve(csv.get_ref());
        let f = std::fs::File::open(&file)
            .map_err(|e| l.err_at(csv.span(), format!("cannot read `{}`: {e}", file.display())))?;
        let rows = read_csv(std::io::BufReader::new(f)).map_err(|(line, msg)| ScenarioError {
            file: file.display().to_string(),
            line,
            field: String::new(),
            message: msg,
        })?;
        let t0 = rows[0].0;
        steps.extend(rows.iter().map(|&(ts, px)| (ts - t0, px)));
    } else {
        let step = p.step.as_ref().map_or(3_600, |s| s.get_ref().0);
        let mut spot_knots: Vec<(u64, f64)> = p
            .points
            .iter()
            .filter_map(|pt| pt.spot.as_ref().map(|v| (pt.t.get_ref().0, *v.get_ref())))
            .collect();
        if spot_knots.first().is_none_or(|k| k.0 > 0) {
            spot_knots.insert(0, (0, s.market.spot));
        }
        let end = p.points.last().map_or(0, |pt| pt.t.get_ref().0);
        let mut ts: Vec<u64> = (0..=end / step).map(|k| k * step).collect();
        if ts.last() != Some(&end) {
            ts.push(end);
        }
        for i in &s.instruments {
            let e = i.expiry.get_ref().0;
            if e <= end && !ts.contains(&e) {
                ts.push(e);
            }
        }
        ts.sort_unstable();
        steps.extend(ts.iter().map(|&t| (t, interp(&spot_knots, t))));
    }
    Ok(steps
        .into_iter()
        .map(|(t, spot)| Step {
            t,
            spot,
            vol: interp(&vol_knots, t),
            feed_live: !p
                .outages
                .iter()
                .any(|o| o.from.get_ref().0 <= t && t < o.to.get_ref().0),
        })
        .collect())
}

/// Reads `timestamp,price` rows (header required); timestamps strictly increasing.
/// Errors carry the 1-based line.
pub fn read_csv(input: impl BufRead) -> Result<Vec<(u64, f64)>, (usize, String)> {
    let mut rows = Vec::new();
    let mut header = false;
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| (n, e.to_string()))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header {
            if line.replace(' ', "") != "timestamp,price" {
                return Err((
                    n,
                    format!("expected header `timestamp,price`, found `{line}`"),
                ));
            }
            header = true;
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 2 {
            return Err((
                n,
                format!("expected 2 fields (timestamp,price), found {}", f.len()),
            ));
        }
        let ts: u64 = f[0].parse().map_err(|_| {
            (
                n,
                format!("field `timestamp` = `{}`: not a unix time in seconds", f[0]),
            )
        })?;
        let px: f64 = f[1]
            .parse()
            .map_err(|_| (n, format!("field `price` = `{}`: not a number", f[1])))?;
        if !(px > 0.0 && px.is_finite()) {
            return Err((n, format!("field `price` = `{}`: must be positive", f[1])));
        }
        if rows.last().is_some_and(|&(t, _)| ts <= t) {
            return Err((
                n,
                format!("field `timestamp` = `{ts}`: timestamps must increase"),
            ));
        }
        rows.push((ts, px));
    }
    if rows.is_empty() {
        return Err((
            1,
            "no rows: expected `timestamp,price` and at least one row".into(),
        ));
    }
    Ok(rows)
}

/// The path's draws from the project's splitmix64 ([`margin_books::Rng`]), with the
/// open-interval uniform and the Box-Muller pairing `gen-path` has always used (so a seed
/// gives the same path as before).
pub struct SplitMix(pub margin_books::Rng);

impl SplitMix {
    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.0.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Parameters of `margin gen-path`.
#[derive(Debug, Clone, Copy)]
pub struct GenParams {
    pub start: u64,
    pub spot: f64,
    /// Annualised volatility.
    pub vol: f64,
    /// Annualised drift.
    pub drift: f64,
    pub step: u64,
    pub steps: u32,
    pub seed: u64,
}

/// A synthetic GBM path as CSV text (`timestamp,price`, prices to the cent): the same
/// parameters always give the same file.
pub fn generate(g: &GenParams) -> String {
    let mut rng = SplitMix(margin_books::Rng(g.seed));
    let dt = g.step as f64 / 31_536_000.0;
    let mut s = g.spot;
    let mut out = String::from("timestamp,price\n");
    for k in 0..=g.steps {
        out.push_str(&format!("{},{:.2}\n", g.start + u64::from(k) * g.step, s));
        let z = rng.normal();
        s *= ((g.drift - 0.5 * g.vol * g.vol) * dt + g.vol * dt.sqrt() * z).exp();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::scenario::parse;
    use super::*;
    use std::path::PathBuf;

    fn scenario(path: &str) -> Loaded {
        let src = format!(
            r#"
name = "p"
[market]
spot = 2000
vol = 0.5
[[instruments]]
name = "P"
kind = "put"
strike = 2000
expiry = "90m"
[[accounts]]
name = "a"
{path}
[keeper]
liquidator = "a"
"#
        );
        parse(&src, "p.toml", PathBuf::from(env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn points_are_interpolated_at_the_step_with_expiry_and_outages() {
        let l = scenario(
            r#"[path]
step = "1h"
points = [ { t = "4h", spot = 1600, vol = 1.0 } ]
outages = [ { from = "2h", to = "3h" } ]"#,
        );
        let st = build(&l).unwrap();
        let ts: Vec<u64> = st.iter().map(|s| s.t).collect();
        // Hourly, plus the expiry at 90 minutes.
        assert_eq!(ts, [0, 3_600, 5_400, 7_200, 10_800, 14_400]);
        assert_eq!(st[0].spot, 2000.0);
        assert_eq!(st[1].spot, 1900.0);
        assert_eq!(st[5].spot, 1600.0);
        assert!((st[3].vol - 0.75).abs() < 1e-12);
        let live: Vec<bool> = st.iter().map(|s| s.feed_live).collect();
        assert_eq!(live, [true, true, true, false, true, true]);
    }

    #[test]
    fn csv_rows_are_the_steps_and_errors_name_the_line() {
        let rows = read_csv("timestamp,price\n100,2000\n160,1990.5\n".as_bytes()).unwrap();
        assert_eq!(rows, [(100, 2000.0), (160, 1990.5)]);
        let e = read_csv("timestamp,price\n100,2000\n160,abc\n".as_bytes()).unwrap_err();
        assert_eq!(e.0, 3);
        assert!(e.1.contains("price"), "{}", e.1);
        let e = read_csv("timestamp,price\n100,2000\n90,1\n".as_bytes()).unwrap_err();
        assert_eq!(e.0, 3);
        assert!(e.1.contains("increase"));
        assert_eq!(read_csv("time,px\n".as_bytes()).unwrap_err().0, 1);
    }

    #[test]
    fn shipped_sample_is_what_the_generator_makes() {
        let l = scenario("[path]\ncsv = \"../scenarios/data/eth-synthetic.csv\"");
        let st = build(&l).unwrap();
        assert_eq!(st[0].t, 0);
        assert!(st.len() > 10);
        let file = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scenarios/data/eth-synthetic.csv"
        ))
        .unwrap();
        let body: String = file
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(body, generate(&super::super::SAMPLE_PATH));
    }

    #[test]
    fn generator_is_deterministic_and_moves() {
        let g = GenParams {
            start: 0,
            spot: 100.0,
            vol: 0.8,
            drift: 0.0,
            step: 3_600,
            steps: 1_000,
            seed: 1,
        };
        assert_eq!(generate(&g), generate(&g));
        assert_ne!(generate(&g), generate(&GenParams { seed: 2, ..g }));
        // Hourly returns' realised vol is near 80% a year.
        let px: Vec<f64> = generate(&g)
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        let r: Vec<f64> = px.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r.len() - 1) as f64;
        let ann = (var * 8_760.0).sqrt();
        assert!((ann - 0.8).abs() < 0.08, "{ann}");
    }
}
