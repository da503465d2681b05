//! `ln`, `exp` and `sqrt` on WAD, and the Q96 binary fixed point the core computes in.
//!
//! Public WAD functions round once, to nearest, at the end: internally they work in
//! Q96 (`i128` holding `x * 2^96`, resolution 1.3e-29, magnitude below 2^31) or in
//! exact 256-bit integers, so their error is the final half ulp plus at most ~1e-28
//! relative (visible only for results above ~1e10).
//!
//! The Q96 helpers are public for the rest of the core (`normal`, `black_scholes`,
//! `svi`): binary scaling makes a fixed-point product a multiply and a shift, with no
//! division. Polynomial coefficients come from `scripts/gen_reference.py coefficients`
//! (mpmath Chebyshev fits, each rounded to the nearest 2^-96).

use crate::fixed::{apply_sign, div_wide, full_mul, Domain, MathError, WAD};

/// Binary point of the Q96 format.
pub const Q96_SHIFT: u32 = 96;
/// One, in Q96.
pub const Q96_ONE: i128 = 1 << 96;
/// `5^18`: `1e18 = 2^18 * 5^18`, so WAD <-> Q96 conversions need no 10-power division.
const FIVE_18: i128 = 3_814_697_265_625;
/// `ln 2 * 2^127`, nearest.
const LN2_Q127: i128 = 117_932_881_612_756_647_068_972_071_382_077_242_200;
/// `ln 2 * 2^96`, nearest.
const LN2_Q96: i128 = 54_916_777_467_707_473_351_141_471_128;
/// `ln(1e18) * 2^96`, nearest.
const LN_1E18_Q96: i128 = 3_283_732_547_111_784_853_622_338_894_909;
/// `sqrt(2) * 2^126`, rounded down.
const SQRT2_Q126: u128 = 120_307_984_584_002_255_772_516_886_238_812_528_463;
/// Below this Q96 argument `exp` is under 2^-97 and rounds to zero in Q96 (-67).
const EXP_Q_MIN: i128 = -67 * Q96_ONE;
/// Largest WAD argument of [`exp`]: `e^46.5 * 1e18` is about 1.6e38 < `i128::MAX`.
const EXP_WAD_MAX: i128 = 46_500_000_000_000_000_000;
/// Below this WAD argument `exp` is under half an ulp (`e^-43 = 2.1e-19`).
const EXP_WAD_MIN: i128 = -43 * WAD;

/// `exp(r)` for `|r| <= ln2/2`, in Q96 (Horner order). Relative error 1.8e-29.
const EXP_POLY: [i128; 18] = [
    223098964246519,
    3793387665455321,
    60586993697769420,
    908804587732019205,
    12723285358919303513,
    165402709723844466895,
    1984832514486057970914,
    21833157659341172937961,
    218331576593541523091082,
    1964984189341873991888482,
    15719873514734987617103216,
    110039114603144913311759561,
    660234687618869479946207350,
    3301173438094347399731145457,
    13204693752377389598923991688,
    39614081257132168796771974503,
    79228162514264337593543950336,
    79228162514264337593543950336,
];

/// `atanh(z)/z` as a polynomial in `w = z^2`, `w <= (3 - 2 sqrt2)^2`; error 7e-30.
const LN_POLY: [i128; 13] = [
    3790885001847326922582063358,
    3390320626770261288229339673,
    3775493513693512493155748045,
    4169815880797605237978184299,
    4660482034674186388024389654,
    5281877473054618943027623136,
    6094474039840654654481137562,
    7202560228567579140013484464,
    8803129168251601332587773207,
    11318308930609191063470285944,
    15845632502852867518737347047,
    26409387504754779197847968425,
    79228162514264337593543950337,
];

/// Rounds the 256-bit magnitude `hi * 2^128 + lo` right by `shift` (1..=255 bits) to
/// nearest (halves up). `None` if the result does not fit in `u128`.
#[inline]
pub(crate) fn shr_round(hi: u128, lo: u128, shift: u32) -> Option<u128> {
    let (q, half) = if shift < 128 {
        if shift == 0 || hi >> shift != 0 {
            return if shift == 0 && hi == 0 {
                Some(lo)
            } else {
                None
            };
        }
        let q = (hi << (128 - shift)) | (lo >> shift);
        // `hi << 128` is 0 for shift 0, excluded above.
        (q, (lo >> (shift - 1)) & 1)
    } else if shift == 128 {
        (hi, lo >> 127)
    } else if shift < 256 {
        (hi >> (shift - 128), (hi >> (shift - 129)) & 1)
    } else {
        return Some(0);
    };
    q.checked_add(half)
}

/// `a * b / 2^shift` (`1 <= shift <= 255`) from the exact 256-bit product, rounded to
/// nearest (halves away from zero). With `shift = 96` this is the Q96 product.
///
/// # Errors
/// [`MathError::Overflow`] when the result does not fit in `i128`.
#[inline]
pub fn mul_shift(a: i128, b: i128, shift: u32) -> Result<i128, MathError> {
    let (hi, lo) = full_mul(a.unsigned_abs(), b.unsigned_abs());
    let m = shr_round(hi, lo, shift).ok_or(MathError::Overflow)?;
    apply_sign(m, (a < 0) != (b < 0))
}

/// Q96 product `a * b / 2^96`, nearest (error <= 2^-97).
///
/// # Errors
/// [`MathError::Overflow`] when the result does not fit in `i128`.
#[inline]
pub fn mul_q(a: i128, b: i128) -> Result<i128, MathError> {
    mul_shift(a, b, Q96_SHIFT)
}

/// Q96 quotient `a * 2^96 / b`, nearest (error <= 2^-97, halves away from zero).
///
/// # Errors
/// [`MathError::DivisionByZero`] when `b == 0`; [`MathError::Overflow`] when the
/// result does not fit in `i128`.
pub fn div_q(a: i128, b: i128) -> Result<i128, MathError> {
    if b == 0 {
        return Err(MathError::DivisionByZero);
    }
    let m = a.unsigned_abs();
    let d = b.unsigned_abs();
    let (q, rem) = div_wide(m >> 32, m << 96, d).ok_or(MathError::Overflow)?;
    let q = if rem >= d - rem {
        q.checked_add(1).ok_or(MathError::Overflow)?
    } else {
        q
    };
    apply_sign(q, (a < 0) != (b < 0))
}

/// WAD to Q96: `x * 2^96 / 1e18 = x * 2^78 / 5^18`, nearest (error <= 2^-97).
///
/// # Errors
/// [`MathError::Overflow`] when `|x| >= 2^31` in real terms (about 2.1e9).
pub fn wad_to_q(x: i128) -> Result<i128, MathError> {
    let m = x.unsigned_abs();
    let d = FIVE_18.unsigned_abs();
    let (q, rem) = div_wide(m >> 50, m << 78, d).ok_or(MathError::Overflow)?;
    let q = if rem >= d - rem {
        q.checked_add(1).ok_or(MathError::Overflow)?
    } else {
        q
    };
    apply_sign(q, x < 0)
}

/// Q96 to WAD: `y * 1e18 / 2^96 = y * 5^18 / 2^78`, nearest (error <= 1/2 ulp).
///
/// # Errors
/// [`MathError::Overflow`] never in practice (the result is smaller than `y`); kept for
/// uniformity.
#[inline]
pub fn q_to_wad(y: i128) -> Result<i128, MathError> {
    mul_shift(y, FIVE_18, 78)
}

/// Evaluates `c[0] x^(n-1) + ... + c[n-1]` in Q96 by Horner's rule. Each step rounds
/// by at most 2^-97.
///
/// # Errors
/// [`MathError::Overflow`] when an intermediate leaves `i128` (never for the
/// polynomials and arguments of this crate).
#[inline]
pub fn horner_q(c: &[i128], x: i128) -> Result<i128, MathError> {
    let mut acc: i128 = 0;
    for &ci in c {
        acc = mul_q(acc, x)?.checked_add(ci).ok_or(MathError::Overflow)?;
    }
    Ok(acc)
}

/// `k * ln2` in Q96 from the Q127 constant: error <= 2^-97 for any `|k| < 2^31`.
#[inline]
fn k_ln2_q(k: i128) -> Result<i128, MathError> {
    mul_shift(k, LN2_Q127, 31)
}

/// Splits `exp(x)` (Q96 argument) into `(p, k)` with `exp(x) = p * 2^k`, `p` in Q96
/// within `[0.70, 1.42]`. Relative error of `p` about 2e-29.
fn exp_split(x: i128) -> Result<(i128, i128), MathError> {
    // k = round(x / ln2); |x| < 2^31 * 2^96 keeps everything in range.
    let half = LN2_Q96 / 2;
    let k = if x >= 0 {
        crate::fixed::idiv(x + half, LN2_Q96)
    } else {
        crate::fixed::idiv(x - half, LN2_Q96)
    };
    let r = x - k_ln2_q(k)?;
    Ok((horner_q(&EXP_POLY, r)?, k))
}

/// `e^x` with `x` and the result in Q96. Absolute error about 2e-29 times the result
/// plus 2^-97; returns exactly 0 for `x < -67` (the result is under 2^-97).
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::ExpTooLarge`]`)` when `e^x >= 2^31` (x >= 21.4).
pub fn exp_q(x: i128) -> Result<i128, MathError> {
    if x < EXP_Q_MIN {
        return Ok(0);
    }
    if x >= 21 * Q96_ONE {
        return Err(MathError::OutOfDomain(Domain::ExpTooLarge));
    }
    let (p, k) = exp_split(x)?;
    if k >= 0 {
        // p < 1.42 * 2^96 and k <= 31: fits.
        p.checked_shl(u32::try_from(k).map_err(|_| MathError::Overflow)?)
            .ok_or(MathError::Overflow)
    } else {
        // k >= -97: a rounding right shift.
        let s = u32::try_from(-k).map_err(|_| MathError::Overflow)?;
        mul_shift(p, 1, s)
    }
}

/// `e^x` on WAD, rounded to nearest: error <= 1/2 ulp + 2e-29 relative (so exact to
/// the half ulp for results below ~1e10). Returns 0 for `x < -43` (result < 2.2e-19).
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::ExpTooLarge`]`)` when `x > 46.5` (the result
/// would not fit in `i128` as a WAD).
pub fn exp(x: i128) -> Result<i128, MathError> {
    if x > EXP_WAD_MAX {
        return Err(MathError::OutOfDomain(Domain::ExpTooLarge));
    }
    if x < EXP_WAD_MIN {
        return Ok(0);
    }
    let (p, k) = exp_split(wad_to_q(x)?)?;
    // result = p * 1e18 * 2^k / 2^96, with k in [-62, 68], so the shift is in [28, 158].
    let shift = u32::try_from(96 - k).map_err(|_| MathError::Overflow)?;
    mul_shift(p, WAD, shift)
}

/// `ln(v * 2^e2)` in Q96 for an unsigned integer `v > 0`. Absolute error <= 3e-29.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::LnNonPositive`]`)` when `v == 0`.
pub fn ln_scaled_q(v: u128, e2: i32) -> Result<i128, MathError> {
    if v == 0 {
        return Err(MathError::OutOfDomain(Domain::LnNonPositive));
    }
    // w = v normalised so that bit 126 is its top bit: m = w / 2^126 in [1, 2).
    let lz = v.leading_zeros();
    let w = if lz >= 1 { v << (lz - 1) } else { v >> 1 };
    // v * 2^e2 = (w / 2^126) * 2^e, exact unless lz == 0 (one bit dropped).
    let e = i128::from(e2) + 127 - i128::from(lz);
    // Mantissa in [1/sqrt2, sqrt2): w / 2^126, or w / 2^127 with the exponent bumped.
    let (one, e) = if w >= SQRT2_Q126 {
        (1u128 << 127, e + 1)
    } else {
        (1u128 << 126, e)
    };
    // z = (w - one) / (w + one) in Q96; |z| <= 0.1716. w + one < 2^128.
    let num = w.abs_diff(one);
    let den = w + one;
    let (zq, rem) = div_wide(num >> 32, num << 96, den).ok_or(MathError::Overflow)?;
    let zq = if rem >= den - rem {
        zq.checked_add(1).ok_or(MathError::Overflow)?
    } else {
        zq
    };
    let z = apply_sign(zq, w < one)?;
    let p = horner_q(&LN_POLY, mul_q(z, z)?)?;
    let m = mul_q(z, p)?;
    let ln_m = m.checked_add(m).ok_or(MathError::Overflow)?;
    ln_m.checked_add(k_ln2_q(e)?).ok_or(MathError::Overflow)
}

/// `ln(num / den)` in Q96 from exact integers, absolute error <= 4e-29: the quotient is
/// formed to 126 significant bits first, so one logarithm serves.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::LnNonPositive`]`)` when `num <= 0` or
/// `den <= 0`.
pub fn ln_ratio_q(num: i128, den: i128) -> Result<i128, MathError> {
    if num <= 0 || den <= 0 {
        return Err(MathError::OutOfDomain(Domain::LnNonPositive));
    }
    let (n, d) = (num.unsigned_abs(), den.unsigned_abs());
    let bn = 128 - n.leading_zeros();
    let bd = 128 - d.leading_zeros();
    // q = n * 2^s / d has 126 or 127 significant bits.
    let s = 126 + bd - bn.min(126 + bd);
    let (hi, lo) = if s >= 128 {
        (n << (s - 128), 0)
    } else if s == 0 {
        (0, n)
    } else {
        (n >> (128 - s), n << s)
    };
    let (q, _) = div_wide(hi, lo, d).ok_or(MathError::Overflow)?;
    let s = i32::try_from(s).map_err(|_| MathError::Overflow)?;
    ln_scaled_q(q, -s)
}

/// Natural logarithm of a WAD, rounded to nearest: error <= 1/2 ulp + 1e-10 ulp.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::LnNonPositive`]`)` when `x <= 0`.
pub fn ln(x: i128) -> Result<i128, MathError> {
    if x <= 0 {
        return Err(MathError::OutOfDomain(Domain::LnNonPositive));
    }
    let l = ln_scaled_q(x.unsigned_abs(), 0)?
        .checked_sub(LN_1E18_Q96)
        .ok_or(MathError::Overflow)?;
    q_to_wad(l)
}

/// `floor(sqrt(n))` of a `u64`, by Newton's method from above.
fn isqrt64(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let mut y = 1u64 << (64 - n.leading_zeros()).div_ceil(2);
    loop {
        let z = (y + n / y) >> 1;
        if z >= y {
            return y;
        }
        y = z;
    }
}

/// `floor(sqrt(n))`: in 64-bit arithmetic below 2^64; above, the square root of the top
/// 64 bits (shifted by an even amount) gives a start within 2^-31 above the root, and
/// Newton's method from above needs two or three 128-bit divisions from there.
pub(crate) fn isqrt(n: u128) -> u128 {
    if n >> 64 == 0 {
        return u128::from(isqrt64(n as u64));
    }
    let lz = n.leading_zeros() & !1;
    let shift = (64 - lz) / 2;
    // sqrt(n) < sqrt(top + 1) 2^shift <= (floor(sqrt(top)) + 1) 2^shift.
    let mut y = u128::from(isqrt64((n >> (2 * shift)) as u64) + 1) << shift;
    loop {
        // y <= 2^64 and below it after the first step: 64-bit divisions.
        let q = if y >> 64 == 0 {
            crate::fixed::div_u128_u64(n, y as u64).0
        } else {
            crate::fixed::udiv(n, y).0
        };
        let z = (y + q) >> 1;
        if z >= y {
            return y;
        }
        y = z;
    }
}

/// `floor(sqrt(hi * 2^128 + lo))`, exact. Newton's iteration from above, seeded from
/// the top 126 bits (two or three steps).
pub fn isqrt_wide(hi: u128, lo: u128) -> u128 {
    if hi == 0 {
        return isqrt(lo);
    }
    let bits = 256 - hi.leading_zeros();
    let k = (bits - 125) / 2; // N >> 2k < 2^127
    let top = if 2 * k >= 128 {
        hi >> (2 * k - 128)
    } else {
        (hi << (128 - 2 * k)) | (lo >> (2 * k))
    };
    let seed = isqrt(top) + 1;
    let mut r = if seed >> (128 - k) != 0 {
        u128::MAX
    } else {
        seed << k
    };
    // r >= sqrt(N) > hi, so the quotient fits: Newton decreases monotonically to floor.
    while let Some((q, _)) = div_wide(hi, lo, r) {
        if q >= r {
            break;
        }
        let next = r - (r - q).div_ceil(2);
        if next >= r {
            break;
        }
        r = next;
    }
    r
}

/// `sqrt(hi * 2^128 + lo)` rounded to nearest (`floor` plus one when `N - r^2 > r`).
fn isqrt_wide_nearest(hi: u128, lo: u128) -> u128 {
    let r = isqrt_wide(hi, lo);
    let (sh, sl) = full_mul(r, r);
    let (dl, borrow) = lo.overflowing_sub(sl);
    let dh = hi.wrapping_sub(sh).wrapping_sub(u128::from(borrow));
    if dh > 0 || dl > r {
        // r < 2^128 - 1 whenever rounding up is needed (N < (2^128 - 1/2)^2).
        r.saturating_add(1)
    } else {
        r
    }
}

/// Square root of a WAD, rounded to nearest (error <= 1/2 ulp; exact integer
/// arithmetic on `x * 1e18`).
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::SqrtNegative`]`)` when `x < 0`.
pub fn sqrt(x: i128) -> Result<i128, MathError> {
    if x < 0 {
        return Err(MathError::OutOfDomain(Domain::SqrtNegative));
    }
    let (hi, lo) = full_mul(x.unsigned_abs(), WAD.unsigned_abs());
    i128::try_from(isqrt_wide_nearest(hi, lo)).map_err(|_| MathError::Overflow)
}

/// Square root in Q96 of a Q96 value, rounded to nearest (error <= 2^-97).
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::SqrtNegative`]`)` when `x < 0`.
pub fn sqrt_q(x: i128) -> Result<i128, MathError> {
    if x < 0 {
        return Err(MathError::OutOfDomain(Domain::SqrtNegative));
    }
    let m = x.unsigned_abs();
    i128::try_from(isqrt_wide_nearest(m >> 32, m << 96)).map_err(|_| MathError::Overflow)
}

/// Square root of a WAD, returned in Q96, rounded to nearest (relative error
/// <= 2^-120): `sqrt(x * 2^192) / 1e9` when `x * 2^192` fits 256 bits.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::SqrtNegative`]`)` when `x < 0`;
/// [`MathError::Overflow`] when the result is 2^31 or more.
pub fn sqrt_wad_to_q(x: i128) -> Result<i128, MathError> {
    if x < 0 {
        return Err(MathError::OutOfDomain(Domain::SqrtNegative));
    }
    let m = x.unsigned_abs();
    // Largest even shift 2a <= 192 that keeps m * 2^(2a) within 256 bits.
    let a = (96u32).min((256 - (128 - m.leading_zeros())) / 2);
    let (hi, lo) = if 2 * a >= 128 {
        (m << (2 * a - 128), 0)
    } else if a == 0 {
        (0, m)
    } else {
        (m >> (128 - 2 * a), m << (2 * a))
    };
    let root = isqrt_wide(hi, lo);
    // result = root * 2^(96 - a) / 1e9, nearest.
    let (ph, pl) = full_mul(root, 1u128 << (96 - a));
    let d = 1_000_000_000u128;
    let (q, rem) = div_wide(ph, pl, d).ok_or(MathError::Overflow)?;
    let q = if rem >= d - rem {
        q.checked_add(1).ok_or(MathError::Overflow)?
    } else {
        q
    };
    i128::try_from(q).map_err(|_| MathError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_known_values() {
        assert_eq!(exp(0), Ok(WAD));
        assert_eq!(exp(WAD), Ok(2_718_281_828_459_045_235));
        assert_eq!(exp(-WAD), Ok(367_879_441_171_442_322));
        // e^0.693147180559945309 = 1.99999999999999999917
        assert_eq!(exp(693_147_180_559_945_309), Ok(1_999_999_999_999_999_999));
        assert_eq!(exp(-44 * WAD), Ok(0));
        assert!(exp(EXP_WAD_MAX).is_ok());
        assert_eq!(
            exp(EXP_WAD_MAX + 1),
            Err(MathError::OutOfDomain(Domain::ExpTooLarge))
        );
    }

    #[test]
    fn ln_known_values() {
        assert_eq!(ln(WAD), Ok(0));
        assert_eq!(ln(2 * WAD), Ok(693_147_180_559_945_309));
        assert_eq!(ln(WAD / 2), Ok(-693_147_180_559_945_309));
        assert_eq!(ln(1), Ok(-41_446_531_673_892_822_312));
        assert_eq!(ln(i128::MAX), Ok(46_583_160_257_220_231_984));
        assert_eq!(ln(0), Err(MathError::OutOfDomain(Domain::LnNonPositive)));
        assert_eq!(ln(-1), Err(MathError::OutOfDomain(Domain::LnNonPositive)));
    }

    #[test]
    fn ln_exp_round_trip_and_monotone() {
        let mut prev = i128::MIN;
        for i in 1..2000i128 {
            let x = i * i * i * 1_000_000_000_007;
            let l = ln(x).unwrap();
            assert!(l >= prev);
            prev = l;
            let back = exp(l).unwrap();
            // d exp / dx = x: a 1/2-ulp error in ln moves exp by x/2 ulps.
            let tol = x / WAD + 2;
            assert!((back - x).abs() <= tol, "{x} {l} {back}");
        }
    }

    #[test]
    fn ln_ratio_matches_difference() {
        for (n, d) in [
            (1i128, 3i128),
            (10i128.pow(30), 10i128.pow(12)),
            (7, 7),
            (i128::MAX, 1),
        ] {
            let r = ln_ratio_q(n, d).unwrap();
            let diff = ln_scaled_q(n.unsigned_abs(), 0).unwrap()
                - ln_scaled_q(d.unsigned_abs(), 0).unwrap();
            assert!((r - diff).abs() < 64, "{n}/{d}: {r} vs {diff}");
        }
        assert_eq!(ln_ratio_q(5, 5), Ok(0));
    }

    #[test]
    fn sqrt_known_values() {
        assert_eq!(sqrt(0), Ok(0));
        assert_eq!(sqrt(WAD), Ok(WAD));
        assert_eq!(sqrt(4 * WAD), Ok(2 * WAD));
        assert_eq!(sqrt(2 * WAD), Ok(1_414_213_562_373_095_049));
        assert_eq!(sqrt(1), Ok(1_000_000_000));
        assert_eq!(sqrt(i128::MAX), Ok(13_043_817_825_332_782_212_349_571_806));
        assert_eq!(sqrt(-1), Err(MathError::OutOfDomain(Domain::SqrtNegative)));
        assert_eq!(sqrt_q(4 * Q96_ONE), Ok(2 * Q96_ONE));
        assert_eq!(sqrt_wad_to_q(4 * WAD), Ok(2 * Q96_ONE));
        assert_eq!(sqrt_wad_to_q(WAD / 4), Ok(Q96_ONE / 2));
    }

    #[test]
    fn isqrt_wide_is_floor() {
        let mut x: u128 = 0x1234_5678_9abc_def0_1122_3344_5566_7788;
        for _ in 0..2000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let r = x >> (x % 64);
            let (hi, lo) = full_mul(r, r);
            assert_eq!(isqrt_wide(hi, lo), r);
            let (lo1, c) = lo.overflowing_sub(1);
            let hi1 = hi - u128::from(c);
            if r > 0 {
                assert_eq!(isqrt_wide(hi1, lo1), r - 1);
            }
        }
        assert_eq!(isqrt_wide(u128::MAX, u128::MAX), u128::MAX);
    }

    #[test]
    fn exp_q_and_conversions() {
        assert_eq!(exp_q(0), Ok(Q96_ONE));
        assert_eq!(exp_q(-68 * Q96_ONE), Ok(0));
        assert!(exp_q(21 * Q96_ONE).is_err());
        assert_eq!(wad_to_q(WAD), Ok(Q96_ONE));
        assert_eq!(q_to_wad(Q96_ONE), Ok(WAD));
        assert_eq!(q_to_wad(wad_to_q(-123_456_789).unwrap()), Ok(-123_456_789));
        // 2^96 = 1 (mod 3): the nearest third rounds down.
        assert_eq!(div_q(Q96_ONE, 3 * Q96_ONE).map(|q| q * 3 - Q96_ONE), Ok(-1));
    }
}
