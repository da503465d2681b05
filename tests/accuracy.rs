//! Accuracy of the pure core against 50-digit mpmath references
//! (`scripts/gen_reference.py`; data in `tests/data/`).
//!
//! Black-Scholes (`bs_reference*.csv`, >= 10,000 points over the whole domain plus its
//! edges and corners). For each output the error is
//! `|x - ref| / max(|ref|, scale)`, with `scale = spot` for call, put, vega and thetas,
//! `1` for the deltas and `1 / spot` for gamma. The bounds are 1e-12 for prices and
//! 1e-10 for Greeks.
//!
//! Quantisation: outputs have 18 decimals, so one ulp is `Q = 1e-18`. Where
//! `bound * max(|ref|, scale)` is smaller than `Q` (gamma at spot above ~1e8, prices
//! at spot ~1e-6) the rounding to 18 decimals alone can exceed the relative bound. The
//! tolerance is therefore `max(bound * max(|ref|, scale), Q)` (`2 Q` for put-call
//! parity, which combines two rounded outputs). The test prints, per output, the
//! maximum error both without the allowance (pure relative error) and as a fraction
//! of the tolerance (with the allowance), the worst points, and fails if any point
//! exceeds its tolerance. Run with `-- --nocapture` to see the table.
//!
//! Floats are used here only to report and compare error ratios; every difference is
//! formed exactly in integers first.

use std::fs;
use std::path::Path;

use stylus_margin::black_scholes::{quote, Quote};
use stylus_margin::{math, normal};

/// One output ulp: 1e-18.
const Q: f64 = 1e-18;
const PRICE_BOUND: f64 = 1e-12;
const GREEK_BOUND: f64 = 1e-10;

/// A decimal `m / 10^p`, exact.
#[derive(Clone, Copy, Debug)]
struct Dec {
    m: i128,
    p: i32,
}

impl Dec {
    fn parse(s: &str) -> Dec {
        let (mant, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i64>().expect("exponent")),
            None => (s, 0),
        };
        // Far below any output's resolution (some tails are ~1e-10^11): zero.
        if exp < -200 {
            return Dec { m: 0, p: 0 };
        }
        let (neg, mant) = match mant.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mant),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let mut digits = format!("{int}{frac}");
        // References may carry more digits than i128 holds: keep 37 significant digits
        // then (the rest is far below an ulp). Inputs are always exact.
        let dropped = if digits.parse::<i128>().is_ok() {
            0
        } else {
            digits.len().saturating_sub(37)
        };
        digits.truncate(digits.len() - dropped);
        let m: i128 = digits.parse().expect("digits");
        let frac_len = i32::try_from(frac.len()).expect("length");
        let dropped = i32::try_from(dropped).expect("length");
        Dec {
            m: if neg { -m } else { m },
            p: frac_len - dropped - i32::try_from(exp).expect("exponent"),
        }
    }

    fn to_f64(self) -> f64 {
        self.m as f64 * 10f64.powi(-self.p)
    }

    /// Exact WAD (`value * 1e18`) when the decimal has at most 18 fraction digits.
    fn to_wad(self) -> i128 {
        assert!(self.p <= 18, "not an exact 18-decimal input");
        10i128
            .checked_pow(u32::try_from(18 - self.p).expect("scale"))
            .and_then(|f| self.m.checked_mul(f))
            .expect("input does not fit a WAD")
    }
}

/// `r * 1e18` (the reference in ulps) split into an exact integer part and a
/// fraction in `[0, 1)`; `None` if it does not fit `i128`.
fn split_ulps(r: Dec) -> Option<(i128, f64)> {
    let shift = 18 - r.p;
    if shift >= 0 {
        let f = 10i128.checked_pow(u32::try_from(shift).ok()?)?;
        Some((r.m.checked_mul(f)?, 0.0))
    } else {
        let k = u32::try_from(-shift).ok()?;
        match 10i128.checked_pow(k) {
            Some(f) => Some((r.m.div_euclid(f), r.m.rem_euclid(f) as f64 / f as f64)),
            // |r| * 1e18 < 1e-7 ulp: only the sign of the fraction matters.
            None => {
                let frac = r.m as f64 * 10f64.powi(-i32::try_from(k).ok()?);
                Some((if frac < 0.0 { -1 } else { 0 }, frac.rem_euclid(1.0)))
            }
        }
    }
}

/// `|x * 1e-18 - r|` in real units, the integer part of the difference formed exactly
/// (so the error in ulps is exact to ~1e-16 ulp).
fn abs_err(x: i128, r: Dec) -> f64 {
    match split_ulps(r).and_then(|(int, frac)| Some((x.checked_sub(int)?, frac))) {
        Some((d, frac)) => ((d as f64) - frac).abs() * Q,
        None => f64::INFINITY,
    }
}

/// `|(a - b) * 1e-18 - (ra - rb)|` in real units, exact in the same way.
fn abs_err_diff(a: i128, b: i128, ra: Dec, rb: Dec) -> f64 {
    let (Some((ia, fa)), Some((ib, fb))) = (split_ulps(ra), split_ulps(rb)) else {
        return f64::INFINITY;
    };
    let d = (a - b).checked_sub(ia - ib);
    match d {
        Some(d) => ((d as f64) - (fa - fb)).abs() * Q,
        None => f64::INFINITY,
    }
}

fn read_csv(name: &str) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// Running statistics for one output.
struct Stat {
    name: &'static str,
    bound: f64,
    allowance: f64,
    n: usize,
    max_rel: f64,
    worst_rel: String,
    max_util: f64,
    worst_util: String,
    max_ulps: f64,
    saved_by_ulp: usize,
    failures: usize,
}

impl Stat {
    fn new(name: &'static str, bound: f64, allowance: f64) -> Stat {
        Stat {
            name,
            bound,
            allowance,
            n: 0,
            max_rel: 0.0,
            worst_rel: String::new(),
            max_util: 0.0,
            worst_util: String::new(),
            max_ulps: 0.0,
            saved_by_ulp: 0,
            failures: 0,
        }
    }

    fn record(&mut self, err: f64, reference: f64, scale: f64, point: &str) {
        self.n += 1;
        let denom = reference.abs().max(scale);
        let rel = err / denom;
        let tol = (self.bound * denom).max(self.allowance);
        let util = err / tol;
        if rel > self.max_rel {
            self.max_rel = rel;
            self.worst_rel = point.to_owned();
        }
        if util > self.max_util {
            self.max_util = util;
            self.worst_util = point.to_owned();
        }
        self.max_ulps = self.max_ulps.max(err / Q);
        if rel > self.bound && err <= tol {
            self.saved_by_ulp += 1;
        }
        if err > tol {
            self.failures += 1;
            if self.failures <= 5 {
                println!("FAIL {}: err {err:.3e} tol {tol:.3e} at {point}", self.name);
            }
        }
    }

    fn print(&self) {
        println!(
            "{:<11} n={:<6} bound={:.0e}  max rel (no ulp allowance)={:.3e}  \
             max err/tol (with allowance)={:.3e}  max |err|={:.2} ulp  \
             points within tol only via ulp allowance={}",
            self.name,
            self.n,
            self.bound,
            self.max_rel,
            self.max_util,
            self.max_ulps,
            self.saved_by_ulp
        );
        println!("            worst rel at  {}", self.worst_rel);
        println!("            worst util at {}", self.worst_util);
    }
}

#[test]
fn black_scholes_matches_reference() {
    let mut rows = read_csv("bs_reference.csv");
    rows.extend(read_csv("bs_reference_2.csv"));
    assert!(rows.len() >= 10_000, "reference has {} points", rows.len());

    let names = [
        "call",
        "put",
        "delta_call",
        "delta_put",
        "gamma",
        "vega",
        "theta_call",
        "theta_put",
    ];
    let bounds = [
        PRICE_BOUND,
        PRICE_BOUND,
        GREEK_BOUND,
        GREEK_BOUND,
        GREEK_BOUND,
        GREEK_BOUND,
        GREEK_BOUND,
        GREEK_BOUND,
    ];
    let mut stats: Vec<Stat> = names
        .iter()
        .zip(bounds)
        .map(|(n, b)| Stat::new(n, b, Q))
        .collect();
    let mut parity = Stat::new("parity", PRICE_BOUND, 2.0 * Q);

    for row in &rows {
        let inputs: Vec<i128> = row[..5].iter().map(|s| Dec::parse(s).to_wad()).collect();
        let refs: Vec<Dec> = row[5..13].iter().map(|s| Dec::parse(s)).collect();
        let point = row[..5].join(",");
        let q: Quote = quote(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4])
            .unwrap_or_else(|e| panic!("quote failed at {point}: {e:?}"));
        let spot = inputs[0] as f64 * Q;
        let outs = [
            q.call,
            q.put,
            q.delta_call,
            q.delta_put,
            q.gamma,
            q.vega,
            q.theta_call,
            q.theta_put,
        ];
        let scales = [spot, spot, 1.0, 1.0, 1.0 / spot, spot, spot, spot];
        for i in 0..8 {
            let err = abs_err(outs[i], refs[i]);
            stats[i].record(err, refs[i].to_f64(), scales[i], &point);
        }
        // Parity: (call - put) against S - K e^(-rT) = ref_call - ref_put, exactly.
        let err = abs_err_diff(q.call, q.put, refs[0], refs[1]);
        let ref_diff = refs[0].to_f64() - refs[1].to_f64();
        parity.record(err, ref_diff, spot, &point);
    }

    println!("Black-Scholes accuracy over {} points", rows.len());
    println!(
        "tolerance = max(bound * max(|ref|, scale), Q), Q = one output ulp = 1e-18 \
         (2 Q for parity); scale = spot for prices/vega/theta, 1 for deltas, 1/spot for gamma"
    );
    for s in stats.iter().chain(std::iter::once(&parity)) {
        s.print();
    }
    let failures: usize = stats
        .iter()
        .chain(std::iter::once(&parity))
        .map(|s| s.failures)
        .sum();
    assert_eq!(failures, 0, "{failures} outputs exceed their tolerance");
}

#[test]
fn math_functions_match_reference() {
    let rows = read_csv("math_reference.csv");
    // Error budget in ulps: the final rounding (1/2 ulp) plus internal error. exp
    // carries ~2e-29 relative internally, visible only for results above ~1e10.
    let mut worst: Vec<(&str, f64, String)> = Vec::new();
    let mut failures = 0;
    for row in &rows {
        let (f, x, r) = (
            row[0].as_str(),
            Dec::parse(&row[1]).to_wad(),
            Dec::parse(&row[2]),
        );
        let got = match f {
            "ln" => math::ln(x),
            "exp" => math::exp(x),
            "sqrt" => math::sqrt(x),
            "cdf" => normal::cdf(x),
            "pdf" => normal::pdf(x),
            other => panic!("unknown function {other}"),
        }
        .unwrap_or_else(|e| panic!("{f}({x}) failed: {e:?}"));
        let ulps = abs_err(got, r) / Q;
        let tol = 0.5
            + 1e-6
            + if f == "exp" {
                r.to_f64().abs() * 1e-28 / Q
            } else {
                0.0
            };
        if ulps > tol {
            failures += 1;
            println!(
                "FAIL {f}({}) = {got}, ref {}, err {ulps:.4} ulp",
                row[1], row[2]
            );
        }
        match worst.iter_mut().find(|w| w.0 == f) {
            Some(w) if ulps > w.1 => *w = (w.0, ulps, row[1].clone()),
            Some(_) => {}
            None => worst.push((
                match f {
                    "ln" => "ln",
                    "exp" => "exp",
                    "sqrt" => "sqrt",
                    "cdf" => "cdf",
                    _ => "pdf",
                },
                ulps,
                row[1].clone(),
            )),
        }
    }
    println!(
        "math accuracy over {} points (error in ulps of 1e-18)",
        rows.len()
    );
    for (f, e, x) in &worst {
        println!("{f:<5} max error {e:.6} ulp at x = {x}");
    }
    assert_eq!(failures, 0);
}
