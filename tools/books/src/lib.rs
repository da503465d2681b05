//! Seeded random books of the structures traders run, for the margin property tests
//! (`tests/soundness.rs`) and the coverage report (`margin coverage`, [`coverage`]).
//! Off chain only: floats and `std`, never linked into a contract.
//!
//! A book is one market on underlying [`ID`] (spot 50..60,000, rate 0..8%, per expiry an
//! SVI surface with skew, 20% of markets with forecast volatility above the reference, so
//! the grid's spot moves scale up to 3x), positions of one of [`STRUCTURES`] with expiries
//! from an hour to two years ([`TENORS`]), and in 10% of books ([`book_at`]) a small
//! position on a second underlying [`OTHER`] with the same market.

pub mod coverage;

use stylus_margin::collateral::AssetConfig;
use stylus_margin::instrument::{Kind, Terms};
use stylus_margin::margin::{Collateral, Market, Method, Position, YEAR};
use stylus_margin::svi::SviParams;

/// The books' clock: every expiry is this plus a tenor.
pub const NOW: u64 = 1_735_689_600;
pub const HOUR: u64 = 3_600;
pub const DAY: u64 = 86_400;
/// The underlying of every book.
pub const ID: u32 = 1;
/// The second underlying of 10% of books.
pub const OTHER: u32 = 2;

/// splitmix64: a small, seeded, portable generator (the one home of the project's test
/// and simulation randomness: the soundness test, `margin coverage`, the adversarial test,
/// `margin gen-path`).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next_u64() % xs.len() as u64) as usize]
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// A standard normal draw (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

pub fn wad(x: f64) -> i128 {
    (x * 1e18).round() as i128
}

pub fn f(x: i128) -> f64 {
    x as f64 / 1e18
}

/// One generated market: spot, rate, volatilities, and per expiry an SVI surface.
#[derive(Clone, Debug)]
pub struct Gen {
    pub spot: f64,
    pub rate: f64,
    pub forecast: f64,
    pub ref_vol: f64,
    /// (expiry seconds from now, atm vol, SVI params in floats: a, b, rho, m, sigma)
    pub expiries: Vec<(u64, [f64; 5])>,
}

impl Gen {
    pub fn new(rng: &mut Rng) -> Gen {
        let spot = (rng.range(50f64.ln(), 60_000f64.ln())).exp();
        let ref_vol = 0.8;
        let forecast = if rng.chance(0.2) {
            rng.range(0.85, 3.5) * ref_vol
        } else {
            rng.range(0.2, 0.8)
        };
        Gen {
            spot,
            rate: rng.range(0.0, 0.08),
            forecast,
            ref_vol,
            expiries: Vec::new(),
        }
    }

    /// An expiry `secs` from now with a skewed SVI surface (added once).
    pub fn expiry(&mut self, rng: &mut Rng, secs: u64) -> usize {
        if let Some(i) = self.expiries.iter().position(|e| e.0 == secs) {
            return i;
        }
        let t = secs as f64 / YEAR as f64;
        let atm = rng.range(0.3, 1.2);
        let w0 = atm * atm * t;
        let sig = rng.range(0.05, 0.4);
        let u = rng.range(0.0, 0.8);
        let b = u * w0 / sig;
        let a = w0 - b * sig;
        let rho = rng.range(-0.7, 0.3);
        let m = rng.range(-0.05, 0.05);
        self.expiries.push((secs, [a, b, rho, m, sig]));
        self.expiries.len() - 1
    }

    pub fn svi(e: &[f64; 5]) -> SviParams {
        SviParams {
            a: wad(e[0]),
            b: wad(e[1]),
            rho: wad(e[2]),
            m: wad(e[3]),
            sigma: wad(e[4]),
        }
    }

    pub fn market(&self, id: u32, method: Method) -> Market {
        Market {
            id,
            spot: wad(self.spot),
            stable: wad(self.spot),
            rate: wad(self.rate),
            forecast_vol: wad(self.forecast),
            ref_vol: wad(self.ref_vol),
            method,
            surfaces: self
                .expiries
                .iter()
                .map(|(s, e)| (NOW + s, Gen::svi(e)))
                .collect(),
            settlements: Vec::new(),
        }
    }

    /// Float64 implied vol of the surface of expiry `i` at `strike`.
    pub fn vol(&self, i: usize, strike: f64) -> f64 {
        let (secs, [a, b, rho, m, sig]) = self.expiries[i];
        let t = (secs.max(60)) as f64 / YEAR as f64;
        let fwd = self.spot * (self.rate * t).exp();
        let k = (strike / fwd).ln() - m;
        let w = a + b * (rho * k + (k * k + sig * sig).sqrt());
        (w / t).sqrt()
    }
}

pub const STRUCTURES: [&str; 16] = [
    "vertical",
    "risk reversal",
    "butterfly",
    "calendar",
    "diagonal",
    "ratio spread",
    "strangle",
    "straddle + hedge",
    "iron condor",
    "deep OTM short wings",
    "long-dated vega",
    "covered call",
    "futures hedge",
    "synthetic",
    "multi-expiry mix",
    "random 1-20 legs",
];

/// Expiries, seconds from now, weighted toward the short end where the grid is weakest.
pub const TENORS: [u64; 14] = [
    HOUR,
    6 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
    30 * DAY,
    60 * DAY,
    90 * DAY,
    180 * DAY,
    365 * DAY,
    730 * DAY,
];

#[derive(Clone, Debug)]
pub struct Book {
    pub structure: &'static str,
    pub gen: Gen,
    pub positions: Vec<Position>,
    pub collateral: Vec<Collateral>,
}

pub fn option(g: &mut Gen, rng: &mut Rng, kind: Kind, secs: u64, z: f64, size: f64) -> Position {
    let i = g.expiry(rng, secs);
    let t = secs as f64 / YEAR as f64;
    let atm = g.vol(i, g.spot);
    // Strike at z standard deviations of the expiry (at least 1% of spot apart per unit
    // of z, so very short expiries still get distinct strikes).
    let width = (atm * t.sqrt()).max(0.01);
    let strike = (g.spot * (z * width).exp()).clamp(g.spot * 0.02, g.spot * 50.0);
    // Whole units of 1e-6 of spot: strikes as a registry would list them.
    let strike = wad(strike);
    Position {
        terms: Terms {
            kind,
            underlying: ID,
            expiry: NOW + secs,
            strike: strike.max(1) as u128,
        },
        size: wad(size),
        entry: 0,
    }
}

pub fn future(g: &Gen, secs: u64, size: f64) -> Position {
    let s = wad(size);
    Position {
        terms: Terms {
            kind: Kind::Future,
            underlying: ID,
            expiry: NOW + secs,
            strike: 0,
        },
        size: s,
        // Entered at spot: the mark-to-market starts at about 0.
        entry: (s as f64 * g.spot) as i128,
    }
}

pub fn generate(rng: &mut Rng, which: usize) -> Book {
    use Kind::{Call, Put};
    let mut g = Gen::new(rng);
    // An option leg; the arguments are evaluated before the generator is lent out.
    macro_rules! o {
        ($k:expr, $t:expr, $z:expr, $s:expr) => {{
            let (k, t, z, s) = ($k, $t, $z, $s);
            option(&mut g, rng, k, t, z, s)
        }};
    }
    let structure = STRUCTURES[which % STRUCTURES.len()];
    let mut pos: Vec<Position> = Vec::new();
    let mut collateral = Vec::new();
    let n = rng.range(0.1, 50.0);
    let sign = if rng.chance(0.5) { 1.0 } else { -1.0 };
    let t1 = rng.pick(&TENORS);
    let kind = if rng.chance(0.5) { Call } else { Put };
    match structure {
        "vertical" => {
            let (z1, z2) = (rng.range(-2.0, 2.0), rng.range(0.2, 2.0));
            pos.push(o!(kind, t1, z1, sign * n));
            pos.push(o!(kind, t1, z1 + z2, -sign * n));
        }
        "risk reversal" => {
            pos.push(o!(Put, t1, -rng.range(0.3, 2.5), -sign * n));
            pos.push(o!(Call, t1, rng.range(0.3, 2.5), sign * n));
        }
        "butterfly" => {
            let (z, w) = (rng.range(-1.5, 1.5), rng.range(0.1, 1.5));
            pos.push(o!(kind, t1, z - w, sign * n));
            pos.push(o!(kind, t1, z, -2.0 * sign * n));
            pos.push(o!(kind, t1, z + w, sign * n));
        }
        "calendar" | "diagonal" => {
            let t2 = rng.pick(&TENORS);
            let z = rng.range(-1.5, 1.5);
            let z2 = if structure == "calendar" {
                z
            } else {
                z + rng.range(-1.0, 1.0)
            };
            pos.push(o!(kind, t1, z, -sign * n));
            pos.push(o!(kind, t2, z2, sign * n));
        }
        "ratio spread" => {
            let z = rng.range(-1.0, 1.0);
            let dz = (if kind == Call { 1.0 } else { -1.0 }) * rng.range(0.3, 2.0);
            let ratio = rng.pick(&[2.0, 3.0]);
            pos.push(o!(kind, t1, z, sign * n));
            pos.push(o!(kind, t1, z + dz, -sign * ratio * n));
        }
        "strangle" => {
            pos.push(o!(Put, t1, -rng.range(0.2, 2.5), sign * n));
            pos.push(o!(Call, t1, rng.range(0.2, 2.5), sign * n));
        }
        "straddle + hedge" => {
            let z = rng.range(-0.5, 0.5);
            pos.push(o!(Call, t1, z, sign * n));
            pos.push(o!(Put, t1, z, sign * n));
            // A delta hedge with a future of about the straddle's delta, opposite.
            let h = -sign * n * rng.range(-0.5, 0.5);
            if h.abs() > 0.01 {
                pos.push(future(&g, t1.max(DAY), h));
            }
        }
        "iron condor" => {
            let (a, b) = (rng.range(0.2, 1.5), rng.range(0.2, 1.5));
            pos.push(o!(Put, t1, -a - b, sign * n));
            pos.push(o!(Put, t1, -a, -sign * n));
            pos.push(o!(Call, t1, a, -sign * n));
            pos.push(o!(Call, t1, a + b, sign * n));
        }
        "deep OTM short wings" => {
            for _ in 0..rng.pick(&[1usize, 2, 3]) {
                pos.push(o!(Put, t1, -rng.range(2.0, 4.0), -n));
                pos.push(o!(Call, t1, rng.range(2.0, 4.0), -n));
            }
        }
        "long-dated vega" => {
            for _ in 0..rng.pick(&[2usize, 3, 4, 6]) {
                let t = rng.pick(&[180 * DAY, 365 * DAY, 730 * DAY]);
                let k = rng.pick(&[Call, Put]);
                let s = if rng.chance(0.5) { n } else { -n };
                pos.push(o!(k, t, rng.range(-1.5, 1.5), s));
            }
        }
        "covered call" => {
            collateral.push(Collateral {
                amount: wad(n),
                config: AssetConfig {
                    underlying: ID,
                    enabled: true,
                    risk_offsetting: true,
                    haircut_floor_ppm: 100_000,
                    vol_multiplier_ppm: 1_000_000,
                    haircut_max_ppm: 500_000,
                    ..AssetConfig::default()
                },
            });
            pos.push(o!(Call, t1, rng.range(-0.5, 2.5), -n));
        }
        "futures hedge" => {
            pos.push(o!(kind, t1, rng.range(-1.5, 1.5), sign * n));
            let d: f64 = if kind == Call { -1.0 } else { 1.0 };
            pos.push(future(
                &g,
                rng.pick(&TENORS).max(DAY),
                d * sign * n * rng.range(0.2, 1.0),
            ));
        }
        "synthetic" => {
            let z = rng.range(-1.5, 1.5);
            pos.push(o!(Call, t1, z, sign * n));
            pos.push(o!(Put, t1, z, -sign * n));
            if rng.chance(0.5) {
                pos.push(future(&g, t1.max(DAY), -sign * n * rng.range(0.0, 1.0)));
            }
        }
        "multi-expiry mix" => {
            for _ in 0..rng.pick(&[3usize, 5, 8]) {
                let t = rng.pick(&TENORS);
                let k = rng.pick(&[Call, Put]);
                let s = rng.range(-30.0, 30.0);
                pos.push(o!(k, t, rng.range(-2.5, 2.5), s));
            }
        }
        _ => {
            let legs = 1 + (rng.next_u64() % 20) as usize;
            let expiries: Vec<u64> = (0..1 + rng.next_u64() % 3)
                .map(|_| rng.pick(&TENORS))
                .collect();
            for _ in 0..legs {
                let t = rng.pick(&expiries);
                if rng.chance(0.1) {
                    pos.push(future(&g, t.max(DAY), rng.range(-20.0, 20.0)));
                } else {
                    let k = rng.pick(&[Call, Put]);
                    pos.push(o!(k, t, rng.range(-3.0, 3.0), rng.range(-30.0, 30.0)));
                }
            }
        }
    }
    // One position per instrument, as the registry holds them.
    let mut merged: Vec<Position> = Vec::new();
    for p in pos {
        match merged.iter_mut().find(|q| q.terms == p.terms) {
            Some(q) => {
                q.size += p.size;
                q.entry += p.entry;
            }
            None => merged.push(p),
        }
    }
    merged.retain(|p| p.size != 0);
    Book {
        structure,
        gen: g,
        positions: merged,
        collateral,
    }
}

/// The `i`-th book of a run: a generated structure, and in 10% of books a small position on
/// a second underlying too.
pub fn book_at(rng: &mut Rng, i: usize) -> Book {
    let mut book = generate(rng, i);
    if rng.chance(0.1) {
        if let Some(p) = book.positions.first().copied() {
            let mut q = p;
            q.terms.underlying = OTHER;
            q.size = -p.size / 3;
            if q.size != 0 {
                book.positions.push(q);
            }
        }
    }
    book
}
