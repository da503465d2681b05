//! The margin engine's pricer: Black-Scholes, SVI, `exp`, `ln` and `sqrt` in binary
//! fixed point Q48, built to be cheap in WASM.
//!
//! [`crate::black_scholes`], [`crate::svi`] and [`crate::math`] are the reference: they
//! compute in Q96 with 256-bit intermediates and are accurate to ~1e-27, which costs
//! about 2,800 gas per option evaluation on Stylus (every product is four 128-bit
//! multiplications and a 256-bit shift, every polynomial has 13 to 18 terms). Margin
//! needs nowhere near that: this module computes the same quantities with every
//! intermediate a Q48 number (`x * 2^48`, resolution 3.6e-15) held in an `i128` whose
//! products fit 128 bits, so a product is one native multiplication and a shift, and the
//! polynomials are shorter (`exp` of degree 10 on `|r| <= ln2/2`, an `atanh`
//! series of 10 terms, Hart's rational normal distribution). Tested against the
//! reference across the whole domain (this module's tests), absolute errors are within:
//! - prices: `max(spot, strike) x (2e-13 + 4e-15 / (sigma sqrt T))`;
//! - delta: `2e-13 + 4e-15 / (sigma sqrt T)`; vega: spot times the same;
//! - theta: `2e-12 + 4e-15 / (sigma sqrt T)` of `S sigma / sqrt T + K`;
//! - gamma: 1e-9 relative plus `4e-15 / (S sigma sqrt T)` (`n(d1)` is kept to 4e-15
//!   absolute);
//! - `N` and `n`: 4e-15; `exp` 1e-13 relative; `ln` 2e-14; `sqrt` exact to the WAD ulp.
//!
//! The `4e-15 / (sigma sqrt T)` term is the Q48 log-moneyness divided by `sigma sqrt T`;
//! it reaches 1e-12 only when `sigma sqrt T < 0.004` (an hour to expiry at 15% vol).
//! Margin rounds its own sums against the account; these errors are far below any
//! margin parameter (1e-12 of spot per contract).
//!
//! The entry points that take raw inputs ([`quote`], [`prices`], [`implied_vol`],
//! [`Expiry`], [`Prepared`]) check them against the same domain as the reference
//! ([`crate::black_scholes::check_domain`]) and return the reference's errors. Two
//! margin-only shortcuts check less, on purpose, and are documented as such: [`reprice`]
//! and [`reprice_at`] take any positive scenario spot whose moneyness the caller keeps
//! within `[0.01, 100]` (a crash scenario can take a spot of `1e-6` below the reference's
//! spot floor; outside that moneyness margin values the option at its discounted
//! intrinsic value), and [`implied_vol_at`] takes the log-moneyness of the preparation
//! without the reference's forward checks (`K / F` within `[0.01, 100]`), so a long-dated
//! or high-rate option whose spot and strike are in the domain is priced rather than
//! refused. Intermediate bounds are stated where a product could approach 2^127: the
//! domain (and, for the repricings, moneyness within `[0.01, 100]` of a spot up to
//! `1e32`) keeps every one of them below 2^120.

use crate::black_scholes::{self, check_domain, Quote, VOL_MIN};
use crate::fixed::{self, Domain, MathError, Rounding, WAD};
use crate::math::isqrt;
use crate::svi::{SviParams, A_MAX, B_MAX, M_MAX, SIGMA_MAX};

/// Binary point of the Q48 format.
pub const SHIFT: u32 = 48;
/// One, in Q48.
pub const ONE: i128 = 1 << SHIFT;
const HALF: i128 = 1 << (SHIFT - 1);
/// `5^18`: `1e18 = 2^18 * 5^18`.
const FIVE_18: i128 = 3_814_697_265_625;
/// `ln 2 * 2^96`, nearest.
const LN2_Q96: i128 = 54_916_777_467_707_473_351_141_471_128;
/// `1 / ln 2` in Q48.
const INV_LN2: i128 = 406_082_553_034_800;
/// `sqrt 2` in Q48.
const SQRT2: i128 = 398_065_729_532_861;
/// `1 / sqrt(2 pi)` in Q48.
const INV_SQRT_2PI: i128 = 112_292_269_084_889;
/// `sqrt(2 pi)` in Q48.
const SQRT_2PI: i128 = 705_553_135_224_033;
/// `e^r` for `|r| <= ln2/2`: a degree-10 Chebyshev fit (mpmath `chebyfit`), Q48, Horner
/// order; error 4.5e-16 with the coefficients rounded to Q48.
const EXP_POLY: [i128; 11] = [
    77_761_283,
    778_001_925,
    6_981_002_858,
    55_847_929_398,
    390_937_468_881,
    2_345_624_820_653,
    11_728_124_029_584,
    46_912_496_118_127,
    140_737_488_355_328,
    281_474_976_710_658,
    281_474_976_710_656,
];
/// `1/(2k+1)` for k = 9 down to 0, Q48: `atanh(z)/z` in `w = z^2` to 1e-17 for
/// `|z| <= 3 - 2 sqrt 2`.
const ATANH_POLY: [i128; 10] = [
    14_814_472_458_456,
    16_557_351_571_215,
    18_764_998_447_377,
    21_651_921_285_435,
    25_588_634_246_423,
    31_274_997_412_295,
    40_210_710_958_665,
    56_294_995_342_131,
    93_824_992_236_885,
    281_474_976_710_656,
];
/// Hart (1968) algorithm 5666, as given by West (2005), numerator in Q48 (Horner order).
const HART_P: [i128; 7] = [
    9_925_510_409_214,
    197_140_306_752_825,
    1_794_110_862_793_673,
    9_545_623_189_604_451,
    31_547_515_964_110_065,
    62_266_091_830_011_790,
    61_982_723_017_162_537,
];
/// Hart's denominator in Q48 (Horner order).
const HART_Q: [i128; 8] = [
    24_879_108_095_804,
    494_176_373_868_497,
    4_521_664_009_983_133,
    24_426_604_575_757_929,
    83_475_415_018_471_931,
    179_393_469_612_224_225,
    223_442_299_123_853_637,
    123_965_446_034_325_073,
];
/// Where Hart switches to the continued fraction: 7.07106781186547.
const HART_SPLIT: i128 = 1_990_328_647_664_302;
/// 0.65 in Q48 (the continued fraction's start).
const HART_CF: i128 = 182_958_734_861_926;
/// Beyond `|x| = 9` the tail of the normal distribution (1.1e-19) is below Q48.
const TAIL_END: i128 = 9 * ONE;

/// Q48 product `a * b / 2^48`, nearest. Callers keep `|a * b| < 2^127`.
#[inline]
fn mul(a: i128, b: i128) -> i128 {
    (a * b + HALF) >> SHIFT
}

/// `n / d` truncated toward zero, as `i128` division, with 64-bit divisions only when
/// `|d| < 2^64` ([`fixed::div_u128_u64`]; WASM's `i128` division is a costly call).
#[inline]
fn sdiv(n: i128, d: i128) -> i128 {
    let ud = d.unsigned_abs();
    if ud >> 64 != 0 {
        return fixed::idiv(n, d);
    }
    let q = fixed::div_u128_u64(n.unsigned_abs(), ud as u64).0 as i128;
    if (n < 0) != (d < 0) {
        -q
    } else {
        q
    }
}

/// Q48 quotient `a * 2^48 / b` (truncated). Callers keep `|a| < 2^79` and `b != 0`.
#[inline]
fn div(a: i128, b: i128) -> i128 {
    sdiv(a << SHIFT, b)
}

/// `x 1e18 / s` (WAD) for `0 <= x < 2^80` and a positive `s`: the product and `s` shifted
/// right together until `s` fits 64 bits, then 64-bit divisions (truncated; relative error
/// below 2^-60); when the shift would drop bits of the product's top half, or `x` is
/// outside that range, [`fixed::mul_div`] (exact, nearest).
fn per_spot(x: i128, s: i128) -> Result<i128, MathError> {
    let k = (128 - s.leading_zeros()).saturating_sub(64);
    if (0..1 << 80).contains(&x) && s > 0 {
        let (hi, lo) = fixed::full_mul(x as u128, WAD as u128);
        if k > 0 && hi >> k == 0 {
            let n = (hi << (128 - k)) | (lo >> k);
            return Ok(fixed::div_u128_u64(n, (s >> k) as u64).0 as i128);
        }
        if k == 0 && hi == 0 {
            return Ok(fixed::div_u128_u64(lo, s as u64).0 as i128);
        }
    }
    fixed::mul_div(x, WAD, s, Rounding::Nearest)
}

/// `x / s` in Q48 for a WAD `x` and a positive WAD `s` (truncated toward zero, within
/// one Q48 ulp and `2^-62` relative), `|x| < 2^78`; larger `x` through [`fixed::div`].
///
/// # Errors
/// [`MathError::DivisionByZero`] when `s <= 0`; [`MathError::Overflow`] from
/// [`fixed::div`] for a quotient beyond `i128`.
pub fn ratio(x: i128, s: i128) -> Result<i128, MathError> {
    if s <= 0 {
        return Err(MathError::DivisionByZero);
    }
    if x.unsigned_abs() >> 78 != 0 {
        return Ok(from_wad(fixed::div(x, s, Rounding::Down)?));
    }
    // Keep the divisor within 63 bits.
    let k = (128 - s.leading_zeros()).saturating_sub(63);
    Ok(sdiv((x << SHIFT) >> k, s >> k))
}

/// Horner evaluation in Q48 of `c[0] x^(n-1) + ... + c[n-1]`.
#[inline]
fn horner(c: &[i128], x: i128) -> i128 {
    let mut acc = 0;
    for &k in c {
        acc = mul(acc, x) + k;
    }
    acc
}

/// `2^94 / 5^18`, rounded up: `x 2^30 / 5^18 = x C / 2^64`.
const WAD_TO_Q: i128 = 5_192_296_858_534_828;

/// WAD to Q48, `|x| < 2^97`. Below 2^64 in magnitude by a multiplication (within one
/// Q48 ulp of the exact value), above by a division.
#[inline]
pub fn from_wad(x: i128) -> i128 {
    if x.unsigned_abs() >> 64 == 0 {
        (x * WAD_TO_Q) >> 64
    } else {
        sdiv(x << 30, FIVE_18)
    }
}

/// Q48 to WAD, nearest. `|q| < 2^85`.
#[inline]
pub(crate) fn to_wad(q: i128) -> i128 {
    (q * FIVE_18 + (1 << 29)) >> 30
}

/// `p * f` for a non-negative WAD amount `p < 2^101` and a Q48 factor `|f| < 2^62`, in
/// WAD, nearest, without a 256-bit product (`p` is split at bit 48).
#[inline]
fn scale(p: i128, f: i128) -> i128 {
    (p >> SHIFT) * f + mul(p & (ONE - 1), f)
}

/// `e^x` in Q48 for a Q48 `x <= 40` (the result below 2^106); 0 below `-40`.
fn exp_q(x: i128) -> i128 {
    if x < -40 * ONE {
        return 0;
    }
    // n = round(x / ln2); r = x - n ln2 with |r| <= ln2/2 (ln2 carried to 2^-96).
    let n = (x * INV_LN2 + (1 << 95)) >> 96;
    let r = x - ((n * LN2_Q96 + (1 << 47)) >> SHIFT);
    let e = horner(&EXP_POLY, r);
    if n >= 0 {
        e << n
    } else {
        let s = -n as u32;
        (e + (1 << (s - 1))) >> s
    }
}

/// `ln(x)` in Q48 of a positive integer `x` (absolute error below 1e-14).
fn ln_int(x: u128) -> i128 {
    // x = m 2^b with m in [1, 2): ln x = ln m + b ln 2.
    let b = 127 - x.leading_zeros() as i32;
    let m = if b >= SHIFT as i32 {
        (x >> (b - SHIFT as i32)) as i128
    } else {
        (x << (SHIFT as i32 - b)) as i128
    };
    // ln m = 2 atanh((m - c) / (m + c)) + ln c, with c = 1 or 2 so |z| <= 3 - 2 sqrt 2.
    let (num, den, e) = if m > SQRT2 {
        (m - 2 * ONE, m + 2 * ONE, b + 1)
    } else {
        (m - ONE, m + ONE, b)
    };
    let z = div(num, den);
    let w = mul(z, z);
    2 * mul(z, horner(&ATANH_POLY, w)) + ((e as i128 * LN2_Q96 + (1 << 47)) >> SHIFT)
}

/// `ln(num / den)` in Q48 for positive `num`, `den` (any common scale).
fn ln_ratio(num: i128, den: i128) -> i128 {
    ln_int(num as u128) - ln_int(den as u128)
}

/// `sqrt(x)` in Q48 for a Q48 `0 <= x < 2^79`.
fn sqrt_q(x: i128) -> i128 {
    isqrt((x as u128) << SHIFT) as i128
}

/// `(N(x), e^(-x^2/2))` in Q48: the standard normal distribution function (Hart's
/// algorithm 5666 below `|x| = 7.07`, its continued fraction above, 0 or 1 beyond 9).
fn cdf_and_gauss(x: i128) -> (i128, i128) {
    let a = x.abs();
    if a > TAIL_END {
        return (if x > 0 { ONE } else { 0 }, 0);
    }
    let e = exp_q(-(mul(a, a) >> 1));
    let tail = if a < HART_SPLIT {
        // P(a) < 2^64 and Q(a) < 2^70 on [0, 7.07].
        div(mul(e, horner(&HART_P, a)), horner(&HART_Q, a))
    } else {
        let mut b = a + HART_CF;
        for k in [4, 3, 2, 1] {
            b = a + div(k * ONE, b);
        }
        div(e, mul(b, SQRT_2PI))
    };
    (if x > 0 { ONE - tail } else { tail }, e)
}

/// `e^x` for a WAD `x` in `[-40, 40]`, in WAD, relative error below 1e-13.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::ExpTooLarge`]`)` when `x > 40`; arguments below
/// -40 give 0.
pub fn exp(x: i128) -> Result<i128, MathError> {
    if x > 40 * WAD {
        return Err(MathError::OutOfDomain(Domain::ExpTooLarge));
    }
    if x < -40 * WAD {
        return Ok(0);
    }
    let x = from_wad(x);
    let n = (x * INV_LN2 + (1 << 95)) >> 96;
    let r = x - ((n * LN2_Q96 + (1 << 47)) >> SHIFT);
    // e^x = e^r 2^n = (e^r 5^18) 2^(n - 30) in WAD; e^r 5^18 < 2^92, n <= 58.
    let m = horner(&EXP_POLY, r) * FIVE_18;
    let s = n - 30;
    Ok(if s >= 0 {
        m << s
    } else {
        let s = (-s) as u32;
        (m + (1 << (s - 1))) >> s
    })
}

/// `ln(x)` of a positive WAD, in WAD, absolute error below 1e-14.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::LnNonPositive`]`)` when `x <= 0`.
pub fn ln(x: i128) -> Result<i128, MathError> {
    if x <= 0 {
        return Err(MathError::OutOfDomain(Domain::LnNonPositive));
    }
    Ok(to_wad(ln_ratio(x, WAD)))
}

/// `sqrt(x)` of a non-negative WAD, in WAD: rounded down (exact to the WAD ulp) below
/// `x = 340` (`x * 1e18 < 2^128`, one integer square root); above, from `s = isqrt(x)`
/// and the first-order step `1e9 (s + (x - s^2) / 2s)`, which overestimates by less than
/// `1e9 / (2 s) < 0.03` wei, so the result is the floor or one wei above it.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::SqrtNegative`]`)` when `x < 0`.
pub fn sqrt(x: i128) -> Result<i128, MathError> {
    if x < 0 {
        return Err(MathError::OutOfDomain(Domain::SqrtNegative));
    }
    let x = x as u128;
    const E9: u128 = 1_000_000_000;
    Ok(match fixed::full_mul(x, WAD as u128) {
        (0, n) => isqrt(n),
        _ => {
            // x >= 3.4e20: s >= 1.8e10 and d = x - s^2 <= 2s.
            let s = isqrt(x);
            s * E9 + fixed::udiv((x - s * s) * E9, 2 * s).0
        }
    } as i128)
}

/// What the price and every Greek share: `(N(d1), N(d2), e^(-d1^2/2), K e^(-rT), sigma sqrt T
/// (WAD), sqrt T, sigma, r)`, the WAD ones as noted, the others Q48.
struct Terms {
    n1: i128,
    n2: i128,
    gauss: i128,
    kdf: i128,
    v_wad: i128,
    sqrt_t: i128,
    sigma: i128,
    r: i128,
}

/// What stays fixed when one option (strike, expiry) is repriced at other spots and
/// vols: `ln(S/K)` and `rT` (Q48), `sqrt T` and `K e^(-rT)` (WAD). From [`prepare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    ln_sk: i128,
    rt: i128,
    r: i128,
    sqrt_t_wad: i128,
    kdf: i128,
}

/// The fixed part of pricing an option of `strike` and `years` at `spot` and `rate`.
///
/// # Errors
/// As [`quote`], for every input but the volatility.
pub fn prepare(spot: i128, strike: i128, years: i128, rate: i128) -> Result<Prepared, MathError> {
    check_domain(spot, strike, VOL_MIN, years, rate)?;
    Ok(Expiry::new(spot, years, rate).prepare_unchecked(strike))
}

/// What every option of one expiry shares at one spot: `ln S` and `rT` (Q48), `sqrt T`
/// (WAD) and `e^(-rT)` (Q48). [`Expiry::prepare`] then costs one logarithm per strike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    spot: i128,
    years: i128,
    rate: i128,
    ln_s: i128,
    rt: i128,
    r: i128,
    sqrt_t_wad: i128,
    df: i128,
}

impl Expiry {
    /// The shared part at `spot` (WAD), `years` and `rate`; the domain is checked, with the
    /// strike, by [`Expiry::prepare`].
    pub fn new(spot: i128, years: i128, rate: i128) -> Expiry {
        let r = from_wad(rate);
        let rt = mul(r, from_wad(years));
        Expiry {
            spot,
            years,
            rate,
            ln_s: ln_int(spot.max(1) as u128),
            rt,
            r,
            // years <= 1e19 in the domain: no overflow (checked in `prepare`).
            sqrt_t_wad: isqrt(years.clamp(0, 10 * WAD) as u128 * WAD as u128) as i128,
            df: exp_q(-rt),
        }
    }

    /// [`prepare`] for this expiry's spot, years and rate and `strike`.
    ///
    /// # Errors
    /// As [`prepare`].
    pub fn prepare(&self, strike: i128) -> Result<Prepared, MathError> {
        check_domain(self.spot, strike, VOL_MIN, self.years, self.rate)?;
        Ok(self.prepare_unchecked(strike))
    }

    fn prepare_unchecked(&self, strike: i128) -> Prepared {
        Prepared {
            ln_sk: self.ln_s - ln_int(strike as u128),
            rt: self.rt,
            r: self.r,
            sqrt_t_wad: self.sqrt_t_wad,
            kdf: scale(strike, self.df),
        }
    }
}

/// `ln(new_spot / spot)` in Q48, for [`reprice`]: one per scenario, shared by every option.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::Spot`]`)` unless both are positive.
pub fn ln_move(new_spot: i128, spot: i128) -> Result<i128, MathError> {
    if new_spot <= 0 || spot <= 0 {
        return Err(MathError::OutOfDomain(Domain::Spot));
    }
    Ok(ln_ratio(new_spot, spot))
}

/// A [`Prepared`] option at one volatility: what [`reprice_at`] needs besides the spot
/// move (`sigma sqrt T` in WAD and Q48, and half its square). From [`Prepared::at_vol`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtVol {
    p: Prepared,
    vol: i128,
    v_wad: i128,
    v: i128,
    half_v2: i128,
}

impl Prepared {
    /// This option at volatility `vol`.
    ///
    /// # Errors
    /// [`MathError::OutOfDomain`]`(`[`Domain::Volatility`]`)` for a volatility outside
    /// `[0.001, 10]`.
    pub fn at_vol(&self, vol: i128) -> Result<AtVol, MathError> {
        if !(VOL_MIN..=black_scholes::VOL_MAX).contains(&vol) {
            return Err(MathError::OutOfDomain(Domain::Volatility));
        }
        // v = sigma sqrt T in WAD first: v reaches 1.4e-6, where Q48 would keep only 29
        // significant bits. vol and sqrt T are below 2^64: one multiplication and a
        // division by 1e18 in 64-bit digits.
        let v_wad = fixed::div_wad_u128(vol as u128 * self.sqrt_t_wad as u128).0 as i128;
        let v = from_wad(v_wad);
        Ok(AtVol {
            p: *self,
            vol,
            v_wad,
            v,
            half_v2: mul(v, v) >> 1,
        })
    }
}

impl AtVol {
    /// `sigma sqrt T` (WAD): the scale of spot moves, in log terms, on which the option's
    /// value bends.
    pub fn v_wad(&self) -> i128 {
        self.v_wad
    }
}

fn terms_v(a: &AtVol, ln_move: i128) -> Terms {
    let p = &a.p;
    // d1 = (ln(S/K) + rT + v^2/2) / v; |numerator| < 520 (2^58 in Q48), times 1e18.
    let num = p.ln_sk + ln_move + p.rt + a.half_v2;
    let d1 = sdiv(num * WAD, a.v_wad);
    let (n1, gauss) = cdf_and_gauss(d1);
    let (n2, _) = cdf_and_gauss(d1 - a.v);
    Terms {
        n1,
        n2,
        gauss,
        kdf: p.kdf,
        v_wad: a.v_wad,
        sqrt_t: from_wad(p.sqrt_t_wad),
        sigma: from_wad(a.vol),
        r: p.r,
    }
}

/// `(call, put)` at `spot` from the shared terms: `S N(d1) - K e^(-rT) N(d2)` and
/// `K e^(-rT) N(-d2) - S N(-d1)`, each at least 0 (deep out of the money, the Q48
/// difference of two nearly equal terms can fall a few ulps below zero; an option is
/// never worth less than nothing).
fn call_put(spot: i128, t: &Terms) -> (i128, i128) {
    (
        (scale(spot, t.n1) - scale(t.kdf, t.n2)).max(0),
        (scale(t.kdf, ONE - t.n2) - scale(spot, ONE - t.n1)).max(0),
    )
}

/// [`reprice`] at the volatility `a` was made for: nothing per volatility left to do.
pub fn reprice_at(a: &AtVol, new_spot: i128, ln_move: i128) -> (i128, i128) {
    call_put(new_spot, &terms_v(a, ln_move))
}

/// `(call, put)` values (WAD) of the option `p` was prepared for, at `new_spot` (with
/// `ln_move = ln(new_spot / spot)` from [`ln_move`]) and `vol`: the same numbers as
/// [`prices`]`(new_spot, ...)` up to the Q48 rounding of `ln_move`, with no logarithm,
/// square root or discount factor of its own. The caller keeps `strike / new_spot`
/// within the pricing domain.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::Volatility`]`)` for a volatility outside
/// `[0.001, 10]`.
pub fn reprice(
    p: &Prepared,
    new_spot: i128,
    ln_move: i128,
    vol: i128,
) -> Result<(i128, i128), MathError> {
    Ok(reprice_at(&p.at_vol(vol)?, new_spot, ln_move))
}

/// Black-Scholes `(call, put)` values alone (WAD), as in [`quote`], without the Greeks'
/// extra work.
///
/// # Errors
/// As [`quote`].
pub fn prices(
    spot: i128,
    strike: i128,
    vol: i128,
    years: i128,
    rate: i128,
) -> Result<(i128, i128), MathError> {
    check_domain(spot, strike, vol, years, rate)?;
    Ok(reprice_at(
        &prepare(spot, strike, years, rate)?.at_vol(vol)?,
        spot,
        0,
    ))
}

/// Black-Scholes price and Greeks, as [`crate::black_scholes::quote`] (same inputs, domain,
/// errors and conventions), from the Q48 pricer.
///
/// # Errors
/// [`MathError::OutOfDomain`] naming the first input outside the domain of
/// [`crate::black_scholes::check_domain`].
pub fn quote(
    spot: i128,
    strike: i128,
    vol: i128,
    years: i128,
    rate: i128,
) -> Result<Quote, MathError> {
    check_domain(spot, strike, vol, years, rate)?;
    quote_at(&prepare(spot, strike, years, rate)?, spot, vol)
}

/// [`quote`] of the option `p` was prepared for, at the spot it was prepared at.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::Volatility`]`)` for a volatility outside
/// `[0.001, 10]`.
pub fn quote_at(p: &Prepared, spot: i128, vol: i128) -> Result<Quote, MathError> {
    let t = terms_v(&p.at_vol(vol)?, 0);
    let (call, put) = call_put(spot, &t);
    let pdf = mul(t.gauss, INV_SQRT_2PI);
    let delta_call = to_wad(t.n1);
    // gamma = n(d1) / (S v): n(d1) / v first (below 3e23 WAD), then / S.
    let pdf_over_v = sdiv(to_wad(pdf) * WAD, t.v_wad);
    let gamma = per_spot(pdf_over_v, spot)?;
    let vega = scale(spot, mul(pdf, t.sqrt_t));
    let decay = scale(spot, div(mul(pdf, t.sigma), 2 * t.sqrt_t));
    Ok(Quote {
        call,
        put,
        delta_call,
        delta_put: delta_call - WAD,
        gamma,
        vega,
        theta_call: -decay - scale(t.kdf, mul(t.r, t.n2)),
        theta_put: -decay + scale(t.kdf, mul(t.r, ONE - t.n2)),
    })
}

/// SVI implied volatility `sqrt(w(ln(strike / forward)) / years)`, as
/// [`crate::svi::implied_vol`] (same inputs, domain and errors), from the Q48 pricer:
/// relative error below 1e-12.
///
/// The parameters' hard bounds are checked here; the no-arbitrage floor
/// `a + b sigma sqrt(1 - rho^2) >= 0` is checked by [`crate::svi::validate`] when a
/// surface is posted, and a negative variance at this strike is refused either way.
///
/// # Errors
/// [`MathError::OutOfDomain`] with [`Domain::SviParams`] (parameters out of bounds),
/// [`Domain::Spot`] (forward), [`Domain::Strike`], [`Domain::Moneyness`] or
/// [`Domain::Time`], or [`Domain::SviVariance`] when `w <= 0` at this strike.
pub fn implied_vol(
    p: &SviParams,
    strike: i128,
    forward: i128,
    years: i128,
) -> Result<i128, MathError> {
    check_svi(p)?;
    check_domain(forward, strike, VOL_MIN, years, 0)?;
    svi_vol(p, ln_ratio(strike, forward), years)
}

/// [`implied_vol`] for the option `prepared` was prepared for (at the spot, rate and
/// `years` it was prepared with): the log-moneyness `ln(K/F) = -ln(S/K) - rT` comes from
/// the preparation, so no logarithm of its own. The parameters are checked as in
/// [`implied_vol`]; the forward is not (spot, strike and time were checked by the
/// preparation, and `|ln(K/F)| <= ln 100 + 10` keeps the SVI variance finite), so a
/// forward outside the reference's domain is priced, not refused.
///
/// # Errors
/// [`MathError::OutOfDomain`] with [`Domain::SviParams`] (parameters out of bounds) or
/// [`Domain::SviVariance`] when `w <= 0` at this strike.
pub fn implied_vol_at(p: &SviParams, prepared: &Prepared, years: i128) -> Result<i128, MathError> {
    check_svi(p)?;
    svi_vol(p, -(prepared.ln_sk + prepared.rt), years)
}

fn check_svi(p: &SviParams) -> Result<(), MathError> {
    let within = |x: i128, max: i128| x.unsigned_abs() <= max.unsigned_abs();
    if within(p.a, A_MAX)
        && (0..=B_MAX).contains(&p.b)
        && p.rho.unsigned_abs() < WAD.unsigned_abs()
        && within(p.m, M_MAX)
        && p.sigma > 0
        && p.sigma <= SIGMA_MAX
    {
        Ok(())
    } else {
        Err(MathError::OutOfDomain(Domain::SviParams))
    }
}

/// `sqrt(w(k) / years)` (WAD) at the Q48 log-moneyness `k` (`|k| <= ln 100 + 10`: spot
/// and strike within the domain, `|rT| <= 10`).
fn svi_vol(p: &SviParams, k: i128, years: i128) -> Result<i128, MathError> {
    let km = k - from_wad(p.m);
    let s = from_wad(p.sigma);
    // |k - m| <= 24.7 (|m| <= 10) and sigma <= 10: root < 26.6, w < 100 + 100 x 51.3.
    let root = sqrt_q(mul(km, km) + mul(s, s));
    let w = from_wad(p.a) + mul(from_wad(p.b), mul(from_wad(p.rho), km) + root);
    if w <= 0 {
        return Err(MathError::OutOfDomain(Domain::SviVariance));
    }
    // w < 5,230 (2^60.4 in Q48; times 1e18 < 2^120.3) and T >= 1 minute: w / T < 2.75e9,
    // below 2^79.4 in Q48, which sqrt_q's shift by 48 keeps below 2^128.
    Ok(to_wad(sqrt_q(sdiv(w * WAD, years))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{math, svi};
    use alloc::format;

    fn close(what: &str, got: i128, want: i128, tol: i128) {
        assert!(
            (got - want).abs() <= tol,
            "{what}: got {got}, want {want}, diff {} > {tol}",
            got - want
        );
    }

    #[test]
    fn exp_ln_sqrt_match_the_reference() {
        let mut x = -40 * WAD;
        while x <= 40 * WAD {
            let want = math::exp(x).unwrap();
            close("exp", exp(x).unwrap(), want, want / 10_000_000_000_000 + 2);
            x += WAD / 7 + 12_345;
        }
        let mut x = 1_000_000i128;
        while x < 1_000_000_000 * WAD {
            close("ln", ln(x).unwrap(), math::ln(x).unwrap(), 20_000);
            close("sqrt", sqrt(x).unwrap(), math::sqrt(x).unwrap(), 1);
            x = x * 13 / 10 + 7;
        }
        assert_eq!(ln(0), Err(MathError::OutOfDomain(Domain::LnNonPositive)));
        assert_eq!(sqrt(-1), Err(MathError::OutOfDomain(Domain::SqrtNegative)));
        assert_eq!(
            exp(41 * WAD),
            Err(MathError::OutOfDomain(Domain::ExpTooLarge))
        );
    }

    #[test]
    fn ratio_is_the_q48_quotient() {
        for (x, s) in [
            (WAD, 2_000 * WAD),
            (-7 * WAD / 3, WAD / 1_000),
            (123 * WAD, 97_000 * WAD),
            (1, WAD),
            (1 << 77, 3 * WAD),
        ] {
            let want = from_wad(fixed::div(x, s, Rounding::Down).unwrap());
            close("ratio", ratio(x, s).unwrap(), want, 2);
        }
        assert_eq!(ratio(WAD, 0), Err(MathError::DivisionByZero));
    }

    #[test]
    fn isqrt_is_the_floor() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (u128::from(x) << 64 | u128::from(x.rotate_left(i % 64))) >> (i % 128);
            let y = isqrt(n);
            assert!(y * y <= n, "{n}");
            assert!((y + 1).checked_mul(y + 1).is_none_or(|s| s > n), "{n}");
        }
        for n in [0, 1, 2, 3, 4, u128::from(u64::MAX), 1 << 64, u128::MAX] {
            let y = isqrt(n);
            assert!(
                y * y <= n && (y + 1).checked_mul(y + 1).is_none_or(|s| s > n),
                "{n}"
            );
        }
    }

    #[test]
    fn normal_distribution_matches_the_reference() {
        let mut x = -10 * ONE;
        while x <= 10 * ONE {
            let (n, g) = cdf_and_gauss(x);
            let xw = to_wad(x);
            close("cdf", to_wad(n), crate::normal::cdf(xw).unwrap(), 4_000);
            let pdf = to_wad(mul(g, INV_SQRT_2PI));
            close("pdf", pdf, crate::normal::pdf(xw).unwrap(), 4_000);
            x += ONE / 37 + 1_234;
        }
    }

    /// Every quote on a grid across the domain within the documented tolerances.
    #[test]
    fn quotes_match_the_reference_across_the_domain() {
        let spots = [
            WAD / 1_000_000,
            3 * WAD / 100,
            2_000 * WAD,
            97_000 * WAD,
            PRICE_TOP,
        ];
        let moneyness = [
            WAD / 100,
            WAD / 5,
            WAD * 7 / 10,
            WAD * 95 / 100,
            WAD,
            WAD * 11 / 10,
            WAD * 2,
            WAD * 30,
            WAD * 100,
        ];
        let vols = [WAD / 1000, WAD / 20, WAD * 8 / 10, 3 * WAD, 10 * WAD];
        let years = [black_scholes::YEARS_MIN, WAD / 365, WAD / 12, WAD, 10 * WAD];
        let rates = [-WAD / 10, 0, WAD / 20, WAD];
        let mut n = 0;
        for &s in &spots {
            for &m in &moneyness {
                let k = fixed::mul(s, m, Rounding::Nearest).unwrap();
                if check_domain(s, k, WAD, WAD, 0).is_err() {
                    continue;
                }
                for &v in &vols {
                    for &t in &years {
                        for &r in &rates {
                            let want = black_scholes::quote(s, k, v, t, r).unwrap();
                            let got = quote(s, k, v, t, r).unwrap();
                            assert_eq!(prices(s, k, v, t, r), Ok((got.call, got.put)));
                            let case = format!("s {s} k {k} vol {v} t {t} r {r}");
                            // Absolute errors: 2e-13, plus 4e-15 / (sigma sqrt T) from
                            // the Q48 log-moneyness divided by a small sigma sqrt T.
                            let sv = fixed::mul(v, math::sqrt(t).unwrap(), Rounding::Down).unwrap();
                            let rel =
                                |x: i128| x / 5_000_000_000_000 + x / 1_000 * 4_000_000 / sv + 2;
                            let big = s.max(k);
                            let c = |what: &str, g: i128, w: i128, tol: i128| {
                                close(&format!("{what} ({case})"), g, w, tol)
                            };
                            c("call", got.call, want.call, rel(big));
                            c("put", got.put, want.put, rel(big));
                            c("delta", got.delta_call, want.delta_call, rel(WAD));
                            c("vega", got.vega, want.vega, rel(s));
                            c(
                                "theta_call",
                                got.theta_call,
                                want.theta_call,
                                theta_tol(s, k, v, t),
                            );
                            c(
                                "theta_put",
                                got.theta_put,
                                want.theta_put,
                                theta_tol(s, k, v, t),
                            );
                            // Gamma: 1e-9 relative, plus d1 times the same log-moneyness term,
                            // plus n(d1)'s absolute 4e-15 over S sigma sqrt T.
                            let s_sv = fixed::mul(s, sv, Rounding::Down).unwrap();
                            let g_tol = want.gamma / 1_000_000_000
                                + want.gamma / 1_000 * 20_000_000 / sv
                                + fixed::mul_div(4_000 * WAD, WAD, s_sv, Rounding::Up).unwrap();
                            c("gamma", got.gamma, want.gamma, g_tol + 2);
                            // Repricing from another spot's preparation: the same within
                            // the rounding of ln(new/old) (1e-14 of the price scale).
                            let from = s / 2 + s / 3;
                            if check_domain(from, k, v, t, r).is_ok() {
                                let p = prepare(from, k, t, r).unwrap();
                                let (c2, p2) =
                                    reprice(&p, s, ln_move(s, from).unwrap(), v).unwrap();
                                c("reprice call", c2, got.call, rel(big));
                                c("reprice put", p2, got.put, rel(big));
                            }
                            n += 1;
                        }
                    }
                }
            }
        }
        assert!(n > 3_000, "{n}");
    }

    const PRICE_TOP: i128 = black_scholes::PRICE_MAX;

    /// Theta scales with `sigma / sqrt T` and `r K`: 2e-12 of that scale, plus the
    /// `4e-15 / (sigma sqrt T)` of the log-moneyness, plus 20 wei.
    fn theta_tol(s: i128, k: i128, v: i128, t: i128) -> i128 {
        let sqrt_t = math::sqrt(t).unwrap();
        let scale = fixed::mul_div(s, v, sqrt_t, Rounding::Up).unwrap() + k;
        let sv = fixed::mul(v, sqrt_t, Rounding::Down).unwrap();
        scale / 500_000_000_000 + scale / 1_000 * 4_000_000 / sv + 20
    }

    #[test]
    fn implied_vol_matches_the_reference() {
        let p = SviParams {
            a: WAD / 25,
            b: WAD / 10,
            rho: -WAD / 2,
            m: WAD / 20,
            sigma: WAD / 5,
        };
        for k in [WAD / 100, WAD / 3, WAD, 2 * WAD, 100 * WAD] {
            for t in [black_scholes::YEARS_MIN, WAD / 52, WAD, 10 * WAD] {
                let f = 2_000 * WAD;
                let strike = fixed::mul(f, k, Rounding::Nearest).unwrap();
                let want = svi::implied_vol(&p, strike, f, t).unwrap();
                let got = implied_vol(&p, strike, f, t).unwrap();
                close("vol", got, want, want / 1_000_000_000_000 + 2);
                // From a preparation at spot S and rate r with F = S e^(rT).
                let r = WAD / 20;
                let spot = fixed::mul(
                    f,
                    math::exp(-fixed::mul(r, t, Rounding::Nearest).unwrap()).unwrap(),
                    Rounding::Nearest,
                )
                .unwrap();
                if let Ok(prep) = prepare(spot, strike, t, r) {
                    let at = implied_vol_at(&p, &prep, t).unwrap();
                    close("vol at", at, want, want / 1_000_000_000_000 + 2);
                }
            }
        }
        let bad = SviParams { b: -1, ..p };
        assert_eq!(
            implied_vol(&bad, WAD, WAD, WAD),
            Err(MathError::OutOfDomain(Domain::SviParams))
        );
        let negative = SviParams { a: -WAD, b: 0, ..p };
        assert_eq!(
            implied_vol(&negative, WAD, WAD, WAD),
            Err(MathError::OutOfDomain(Domain::SviVariance))
        );
    }
}
