//! Raw SVI volatility smiles (Gatheral): total implied variance at log-moneyness `k`,
//!
//! `w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2))`,  `k = ln(K / F)`,
//!
//! and the implied volatility `sqrt(w / T)` that Black-Scholes consumes. Parameters
//! are WAD; internally everything runs in Q96 ([`crate::math`]) and results are
//! rounded once, to nearest.
//!
//! Hard bounds (checked by [`validate`], so that every evaluation stays far inside
//! `i128`): `|a| <= 100`, `0 <= b <= 100`, `|rho| < 1`, `|m| <= 10`,
//! `0 < sigma <= 10`, and the no-arbitrage floor `a + b sigma sqrt(1 - rho^2) >= 0`
//! (the minimum of `w` over `k` is non-negative, so the smile never implies negative
//! variance).

use crate::black_scholes::{check_domain, VOL_MIN};
use crate::fixed::{Domain, MathError, WAD};
use crate::math::{div_q, ln_ratio_q, mul_q, q_to_wad, sqrt_q, wad_to_q, Q96_ONE};

/// Largest `|a|` (total variance units, WAD): 100.
pub const A_MAX: i128 = 100 * WAD;
/// Largest `b`: 100.
pub const B_MAX: i128 = 100 * WAD;
/// Largest `|m|`: 10.
pub const M_MAX: i128 = 10 * WAD;
/// Largest `sigma`: 10.
pub const SIGMA_MAX: i128 = 10 * WAD;
/// Largest `|k|` accepted by [`total_variance`]: 20 (`K/F` within `e^(+-20)`).
pub const K_MAX: i128 = 20 * WAD;

/// Raw SVI parameters, all WAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SviParams {
    /// Vertical level of the smile (total variance).
    pub a: i128,
    /// Slope of the wings, `>= 0`.
    pub b: i128,
    /// Asymmetry, `-1 < rho < 1`.
    pub rho: i128,
    /// Horizontal shift (log-moneyness of the vertex).
    pub m: i128,
    /// Curvature at the vertex, `> 0`.
    pub sigma: i128,
}

/// `(a, b, rho, m, sigma)` in Q96.
fn to_q(p: &SviParams) -> Result<[i128; 5], MathError> {
    Ok([
        wad_to_q(p.a)?,
        wad_to_q(p.b)?,
        wad_to_q(p.rho)?,
        wad_to_q(p.m)?,
        wad_to_q(p.sigma)?,
    ])
}

/// Checks the hard bounds and the no-arbitrage floor
/// `a + b sigma sqrt(1 - rho^2) >= 0` (evaluated in Q96, to about 1e-27).
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::SviParams`]`)` when any bound or the floor
/// fails.
pub fn validate(p: &SviParams) -> Result<(), MathError> {
    let bad = Err(MathError::OutOfDomain(Domain::SviParams));
    if p.a.unsigned_abs() > A_MAX.unsigned_abs()
        || !(0..=B_MAX).contains(&p.b)
        || p.rho.unsigned_abs() >= WAD.unsigned_abs()
        || p.m.unsigned_abs() > M_MAX.unsigned_abs()
        || p.sigma <= 0
        || p.sigma > SIGMA_MAX
    {
        return bad;
    }
    let [a, b, rho, _, sigma] = to_q(p)?;
    let root = sqrt_q(Q96_ONE - mul_q(rho, rho)?)?;
    let floor = a + mul_q(mul_q(b, sigma)?, root)?;
    if floor < 0 {
        return bad;
    }
    Ok(())
}

/// `w(k)` in Q96 for validated parameters (Q96) and a Q96 `k`.
fn w_q(q: &[i128; 5], k: i128) -> Result<i128, MathError> {
    let [a, b, rho, m, sigma] = *q;
    let km = k - m;
    let root = sqrt_q(mul_q(km, km)? + mul_q(sigma, sigma)?)?;
    Ok(a + mul_q(b, mul_q(rho, km)? + root)?)
}

/// Total implied variance `w(k)` (WAD) at log-moneyness `k` (WAD), rounded to nearest
/// (error <= 1/2 ulp + ~1e-9 ulp). Validates the parameters first.
///
/// # Errors
/// [`MathError::OutOfDomain`]`(`[`Domain::SviParams`]`)` for invalid parameters;
/// [`MathError::OutOfDomain`]`(`[`Domain::Moneyness`]`)` when `|k| > 20`.
pub fn total_variance(p: &SviParams, k: i128) -> Result<i128, MathError> {
    validate(p)?;
    if k.unsigned_abs() > K_MAX.unsigned_abs() {
        return Err(MathError::OutOfDomain(Domain::Moneyness));
    }
    q_to_wad(w_q(&to_q(p)?, wad_to_q(k)?)?)
}

/// Implied volatility `sqrt(w(ln(strike / forward)) / years)` (WAD), rounded to
/// nearest (relative error ~1e-27 before that rounding).
///
/// # Arguments
/// * `strike`, `forward`: WAD, each in the Black-Scholes spot range with
///   `strike / forward` in `[0.01, 100]`; `years` in the Black-Scholes time range.
///
/// # Errors
/// [`MathError::OutOfDomain`] with [`Domain::SviParams`] (invalid parameters),
/// [`Domain::Spot`] (forward), [`Domain::Strike`], [`Domain::Moneyness`] or
/// [`Domain::Time`] (inputs outside the pricing domain), or [`Domain::SviVariance`]
/// when `w <= 0` at this strike (no volatility exists).
pub fn implied_vol(
    p: &SviParams,
    strike: i128,
    forward: i128,
    years: i128,
) -> Result<i128, MathError> {
    validate(p)?;
    // Reuse the pricing domain (volatility and rate set to valid placeholders).
    check_domain(forward, strike, VOL_MIN, years, 0)?;
    let k = ln_ratio_q(strike, forward)?;
    let w = w_q(&to_q(p)?, k)?;
    if w <= 0 {
        return Err(MathError::OutOfDomain(Domain::SviVariance));
    }
    q_to_wad(sqrt_q(div_q(w, wad_to_q(years)?)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::black_scholes::YEARS_MIN;

    fn smile() -> SviParams {
        SviParams {
            a: WAD / 25,
            b: WAD / 10,
            rho: -WAD * 3 / 10,
            m: WAD / 20,
            sigma: WAD / 5,
        }
    }

    #[test]
    fn variance_at_the_vertex_is_a_plus_b_sigma() {
        let p = smile();
        // k = m: w = a + b sigma = 0.04 + 0.02.
        assert_eq!(total_variance(&p, p.m), Ok(WAD * 6 / 100));
    }

    #[test]
    fn symmetric_without_skew_and_convex() {
        let p = SviParams {
            rho: 0,
            m: 0,
            ..smile()
        };
        for i in 1..50 {
            let k = i * WAD / 10;
            assert_eq!(total_variance(&p, k), total_variance(&p, -k));
        }
        let w = |k| total_variance(&smile(), k).unwrap();
        let h = WAD / 10;
        for i in -30..30 {
            let k = i * h;
            assert!(w(k - h) + w(k + h) >= 2 * w(k), "not convex at {k}");
        }
    }

    #[test]
    fn implied_vol_known_value() {
        // Flat smile: b = 0, w = a = 0.04 per year -> vol 0.2 at T = 1.
        let p = SviParams {
            a: WAD / 25,
            b: 0,
            rho: 0,
            m: 0,
            sigma: WAD,
        };
        assert_eq!(implied_vol(&p, 120 * WAD, 100 * WAD, WAD), Ok(WAD / 5));
        // T = 0.25 -> sqrt(0.16) = 0.4.
        assert_eq!(
            implied_vol(&p, 80 * WAD, 100 * WAD, WAD / 4),
            Ok(WAD * 2 / 5)
        );
        // At the money on the skewed smile: w(0) = 0.04 + 0.1 (0.015 + sqrt(0.0425))
        // = 0.0621155..., vol 0.249229870055915053 (mpmath).
        let v = implied_vol(&smile(), 100 * WAD, 100 * WAD, WAD).unwrap();
        assert_eq!(v, 249_229_870_055_915_053);
    }

    #[test]
    fn validate_rejects_each_violation() {
        let e = Err(MathError::OutOfDomain(Domain::SviParams));
        assert_eq!(validate(&smile()), Ok(()));
        assert_eq!(validate(&SviParams { b: -1, ..smile() }), e);
        assert_eq!(
            validate(&SviParams {
                rho: WAD,
                ..smile()
            }),
            e
        );
        assert_eq!(
            validate(&SviParams {
                rho: -WAD,
                ..smile()
            }),
            e
        );
        assert_eq!(
            validate(&SviParams {
                sigma: 0,
                ..smile()
            }),
            e
        );
        assert_eq!(
            validate(&SviParams {
                sigma: SIGMA_MAX + 1,
                ..smile()
            }),
            e
        );
        assert_eq!(
            validate(&SviParams {
                a: A_MAX + 1,
                ..smile()
            }),
            e
        );
        assert_eq!(
            validate(&SviParams {
                b: B_MAX + 1,
                ..smile()
            }),
            e
        );
        assert_eq!(
            validate(&SviParams {
                m: -M_MAX - 1,
                ..smile()
            }),
            e
        );
        // Negative minimum variance: a + b sigma sqrt(1 - rho^2) < 0.
        assert_eq!(
            validate(&SviParams {
                a: -WAD / 10,
                ..smile()
            }),
            e
        );
        // Exactly zero minimum (rho = 0): allowed.
        let edge = SviParams {
            a: -WAD / 50,
            b: WAD / 10,
            rho: 0,
            m: 0,
            sigma: WAD / 5,
        };
        assert_eq!(validate(&edge), Ok(()));
        assert_eq!(total_variance(&edge, 0), Ok(0));
        assert_eq!(
            implied_vol(&edge, WAD, WAD, WAD),
            Err(MathError::OutOfDomain(Domain::SviVariance))
        );
        assert_eq!(
            validate(&SviParams {
                a: i128::MIN,
                ..smile()
            }),
            e
        );
    }

    #[test]
    fn implied_vol_checks_inputs() {
        let p = smile();
        let e = |d| Err(MathError::OutOfDomain(d));
        assert_eq!(implied_vol(&p, 0, WAD, WAD), e(Domain::Strike));
        assert_eq!(implied_vol(&p, WAD, 0, WAD), e(Domain::Spot));
        assert_eq!(implied_vol(&p, 1000 * WAD, WAD, WAD), e(Domain::Moneyness));
        assert_eq!(implied_vol(&p, WAD, WAD, YEARS_MIN - 1), e(Domain::Time));
        assert_eq!(total_variance(&p, K_MAX + 1), e(Domain::Moneyness));
        assert!(total_variance(&p, K_MAX).is_ok());
    }
}
