//! The standard normal distribution: CDF `N(x)` and PDF `n(x)` on WAD, and Q96
//! versions for the pricing code.
//!
//! Method (coefficients from `scripts/gen_reference.py coefficients`, mpmath fits):
//!
//! * `|x| <= 1.5`: `N(x) = 1/2 + x P(x^2)`, `P` of degree 14 (fit error 9e-23).
//! * `1.5 < |x| < 10`: `N(-|x|) = n(x) R(t)`, with `R` the Mills ratio as a polynomial
//!   of degree 18 in `t = (|x| - 5) / (|x| + 5)` (fit error 3e-23 absolute on `N`).
//! * `|x| >= 10`: exactly 0 or 1 (`N(-10) = 7.6e-24`, below Q96 resolution).
//!
//! Everything runs in Q96 (resolution 1.3e-29); the absolute error of the Q96 CDF is
//! about 1e-22 and the WAD functions are within 1/2 ulp + 1e-4 ulp of the truth. The
//! WAD CDF is built from the lower tail and reflected, so `N(x) + N(-x) = 1`
//! exactly. Cost: one exponential (tails only), one division (tails only) and 15-19
//! Q96 multiplies.

use crate::fixed::{MathError, WAD};
use crate::math::{div_q, exp_q, horner_q, mul_q, q_to_wad, wad_to_q, Q96_ONE};

/// `1 / sqrt(2 pi)` in Q96, nearest.
const INV_SQRT_2PI_Q96: i128 = 31_607_463_825_455_920_808_620_519_744;
/// Boundary between the central polynomial and the tail (1.5, Q96).
const SPLIT_Q: i128 = 3 * (Q96_ONE / 2);
/// Beyond this `|x|` (10, Q96) the CDF saturates.
const SATURATE_Q: i128 = 10 * Q96_ONE;
/// Beyond this `|x|` (12, Q96) the PDF is below 2^-97 and returns 0.
const PDF_ZERO_Q: i128 = 12 * Q96_ONE;
/// Center of the tail variable `t = (x - 5) / (x + 5)`.
const TAIL_C_Q: i128 = 5 * Q96_ONE;

/// `(N(x) - 1/2) / x` as a polynomial in `x^2`, `|x| <= 1.5` (Q96, Horner order).
const CDF_CENTER_POLY: [i128; 15] = [
    453072926863,
    -20804669855402,
    635163350839416,
    -16783520888259849,
    404994094012666179,
    -8953630433754544491,
    180127505449849242921,
    -3266313574649212355984,
    52763527985716319978505,
    -748282761006418845084714,
    9145678190232973193409508,
    -94069832813856453848510938,
    790186595636397985649366023,
    -5267910637575986800395928670,
    31607463825455920808615316406,
];

/// Mills ratio `N(-x) / n(x)` as a polynomial in `t = (x - 5)/(x + 5)`, `1.5 <= x <= 10`.
const CDF_TAIL_POLY: [i128; 19] = [
    -3146854240523977605915,
    -7825111758258057195116,
    15705256611612346598228,
    48509595120223389127271,
    -134116051900057472184004,
    -252286504572399716322888,
    1319552282284388603270518,
    190920847710209369213870,
    -12000628637465295255323039,
    26666782574478000284888898,
    43601799914620867051950965,
    -472427908738700278640063738,
    1785646200480589736203596227,
    -4649896498982462829503272005,
    9503860117640087542701899452,
    -16063178277864473398202481396,
    23050749801922524984093361601,
    -28490032420026698189070725842,
    15275831854452333554835022509,
];

/// Standard normal density `n(x) = e^(-x^2/2) / sqrt(2 pi)` in Q96 (argument and
/// result). Absolute error <= 1e-28; exactly 0 for `|x| >= 12`.
///
/// # Errors
/// None in practice; [`MathError::Overflow`] is kept for uniformity.
pub fn pdf_q(x: i128) -> Result<i128, MathError> {
    let a = x.unsigned_abs();
    if a >= PDF_ZERO_Q.unsigned_abs() {
        return Ok(0);
    }
    let half_sq = mul_q(x, x)? / 2;
    mul_q(exp_q(-half_sq)?, INV_SQRT_2PI_Q96)
}

/// Lower tail `N(-|x|)` in Q96 given `n(x)` (the density at `x`, Q96). Absolute error
/// about 1e-22.
fn lower_tail_q(x: i128, pdf: i128) -> Result<i128, MathError> {
    let a = x.checked_abs().ok_or(MathError::Overflow)?;
    if a <= SPLIT_Q {
        let p = horner_q(&CDF_CENTER_POLY, mul_q(a, a)?)?;
        Ok(Q96_ONE / 2 - mul_q(a, p)?)
    } else if a >= SATURATE_Q {
        Ok(0)
    } else {
        let t = div_q(a - TAIL_C_Q, a + TAIL_C_Q)?;
        mul_q(pdf, horner_q(&CDF_TAIL_POLY, t)?)
    }
}

/// `N(x)` in Q96 (argument and result) given `pdf = n(x)` from [`pdf_q`], for callers
/// that need both (Black-Scholes). Absolute error about 1e-22; exact 0 or 1 for
/// `|x| >= 10`.
///
/// # Errors
/// None in practice; [`MathError::Overflow`] is kept for uniformity.
pub fn cdf_q_with_pdf(x: i128, pdf: i128) -> Result<i128, MathError> {
    let low = lower_tail_q(x, pdf)?;
    Ok(if x > 0 { Q96_ONE - low } else { low })
}

/// `N(x)` in Q96 (argument and result). Absolute error about 1e-22.
///
/// # Errors
/// None in practice; [`MathError::Overflow`] is kept for uniformity.
pub fn cdf_q(x: i128) -> Result<i128, MathError> {
    let a = x.unsigned_abs();
    let pdf = if a > SPLIT_Q.unsigned_abs() && a < SATURATE_Q.unsigned_abs() {
        pdf_q(x)?
    } else {
        0
    };
    cdf_q_with_pdf(x, pdf)
}

/// Standard normal CDF `N(x)` on WAD, rounded to nearest (error <= 1/2 ulp + 1e-4 ulp).
/// Saturates to exactly 0 or 1 (`WAD`) for `|x| >= 10`, and `N(x) + N(-x) = 1`
/// exactly for every `x`.
///
/// # Errors
/// None in practice; [`MathError::Overflow`] is kept for uniformity.
pub fn cdf(x: i128) -> Result<i128, MathError> {
    let a = x.unsigned_abs();
    if a >= 10 * WAD.unsigned_abs() {
        return Ok(if x > 0 { WAD } else { 0 });
    }
    let xq = wad_to_q(x)?;
    let lower = q_to_wad(cdf_q(-xq.abs())?)?;
    Ok(if x > 0 { WAD - lower } else { lower })
}

/// Standard normal density `n(x)` on WAD, rounded to nearest (error <= 1/2 ulp +
/// 1e-10 ulp). Exactly 0 for `|x| >= 12`, where `n(x) < 6e-32`.
///
/// # Errors
/// None in practice; [`MathError::Overflow`] is kept for uniformity.
pub fn pdf(x: i128) -> Result<i128, MathError> {
    if x.unsigned_abs() >= 12 * WAD.unsigned_abs() {
        return Ok(0);
    }
    q_to_wad(pdf_q(wad_to_q(x)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(cdf(0), Ok(WAD / 2));
        // N(1) = 0.841344746068542948585...
        assert_eq!(cdf(WAD), Ok(841_344_746_068_542_949));
        // N(-1.5) = 0.0668072012688580660...
        assert_eq!(cdf(-3 * WAD / 2), Ok(66_807_201_268_858_066));
        // N(-3) = 0.00134989803163009452665...
        assert_eq!(cdf(-3 * WAD), Ok(1_349_898_031_630_095));
        // N(-8) = 6.22096057427178e-16
        assert_eq!(cdf(-8 * WAD), Ok(622));
        // n(0) = 0.398942280401432677939...
        assert_eq!(pdf(0), Ok(398_942_280_401_432_678));
        // n(2) = 0.0539909665131880519...
        assert_eq!(pdf(2 * WAD), Ok(53_990_966_513_188_052));
    }

    #[test]
    fn symmetry_is_exact() {
        let mut x: i128 = 0;
        while x < 11 * WAD {
            let s = cdf(x).unwrap() + cdf(-x).unwrap();
            assert_eq!(s, WAD, "x = {x}");
            assert_eq!(pdf(x), pdf(-x));
            x += 1_234_567_890_123_457;
        }
    }

    #[test]
    fn monotone_and_bounded() {
        let mut prev_c = -1;
        let mut prev_q = -1;
        let mut x = -12 * WAD;
        while x <= 12 * WAD {
            let c = cdf(x).unwrap();
            assert!((0..=WAD).contains(&c));
            assert!(c >= prev_c, "cdf not monotone at {x}");
            prev_c = c;
            let q = cdf_q(wad_to_q(x).unwrap()).unwrap();
            assert!(q >= prev_q, "cdf_q not monotone at {x}");
            prev_q = q;
            x += 987_654_321_987_654;
        }
    }

    #[test]
    fn continuous_at_the_split() {
        let below = cdf_q(SPLIT_Q).unwrap();
        let above = cdf_q(SPLIT_Q + 1).unwrap();
        assert!((above - below).abs() < 1 << 30, "{below} {above}");
    }

    #[test]
    fn saturates_in_the_tails() {
        assert_eq!(cdf(10 * WAD), Ok(WAD));
        assert_eq!(cdf(-10 * WAD), Ok(0));
        assert_eq!(cdf(i128::MAX), Ok(WAD));
        assert_eq!(cdf(i128::MIN), Ok(0));
        assert_eq!(pdf(i128::MIN), Ok(0));
        assert_eq!(cdf_q(i128::MAX), Ok(Q96_ONE));
        assert_eq!(pdf_q(i128::MAX), Ok(0));
    }
}
