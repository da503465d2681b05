//! Black-Scholes price and Greeks of European options: continuous compounding at a
//! constant rate, no dividends, all inputs and outputs WAD.
//!
//! One evaluation computes `d1`, `d2`, `N(d1)`, `N(d2)`, `n(d1)` and the discount
//! factor once and derives the price and every Greek from them. Internally everything
//! runs in Q96 ([`crate::math`]) and each output is rounded once, to nearest, from a
//! value carrying 12 extra bits: the quote is a valuation, and margin code applies
//! its own directed rounding. Measured against 50-digit references
//! (`tests/accuracy.rs`), the error is within one output ulp plus ~1e-27 of the
//! output's scale.
//!
//! Conventions: time is in years of **365 days** ([`SECONDS_PER_YEAR`]); vega is per
//! 1.00 (100 vol points) of volatility; theta is `dV/dt` per year as calendar time
//! passes (negative for a long at-the-money call).

use crate::fixed::{full_mul, mul_div, Domain, MathError, Rounding, WAD};
use crate::math::{
    div_q, exp_q, ln_ratio_q, mul_q, mul_shift, q_to_wad, shr_round, sqrt_wad_to_q, wad_to_q,
    Q96_ONE, Q96_SHIFT,
};
use crate::normal::{cdf_q_with_pdf, pdf_q};

/// Seconds in the pricing year: 365 days.
pub const SECONDS_PER_YEAR: i128 = 31_536_000;
/// Smallest spot or strike: 1e-6.
pub const PRICE_MIN: i128 = 1_000_000_000_000;
/// Largest spot or strike: 1e12.
pub const PRICE_MAX: i128 = 1_000_000_000_000 * WAD;
/// Smallest strike / spot: 0.01 (and largest: 100).
pub const MONEYNESS_MIN: i128 = WAD / 100;
/// Largest strike / spot: 100.
pub const MONEYNESS_MAX: i128 = 100 * WAD;
/// Smallest volatility: 0.001 (0.1%).
pub const VOL_MIN: i128 = WAD / 1000;
/// Largest volatility: 10 (1000%).
pub const VOL_MAX: i128 = 10 * WAD;
/// Shortest time to expiry: one minute, `60 / 31_536_000` years rounded up to a WAD.
pub const YEARS_MIN: i128 = 1_902_587_519_026;
/// Longest time to expiry: 10 years.
pub const YEARS_MAX: i128 = 10 * WAD;
/// Lowest rate: -0.1 (-10% a year, continuously compounded).
pub const RATE_MIN: i128 = -WAD / 10;
/// Highest rate: 1.0 (100% a year).
pub const RATE_MAX: i128 = WAD;

/// Extra low bits carried by each output before its single final rounding.
const EXTRA: u32 = 12;

/// Price and Greeks of a call and a put with the same terms. All WAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// Call value.
    pub call: i128,
    /// Put value.
    pub put: i128,
    /// `dCall/dSpot = N(d1)`.
    pub delta_call: i128,
    /// `dPut/dSpot = N(d1) - 1` (exactly `delta_call - WAD`).
    pub delta_put: i128,
    /// `d2V/dSpot2 = n(d1) / (S sigma sqrt T)`, the same for call and put.
    pub gamma: i128,
    /// `dV/dsigma = S n(d1) sqrt T`, per 1.00 of volatility, the same for call and put.
    pub vega: i128,
    /// `dCall/dt` per year of calendar time: `-S n(d1) sigma / (2 sqrt T) - r K e^(-rT) N(d2)`.
    pub theta_call: i128,
    /// `dPut/dt` per year of calendar time: `-S n(d1) sigma / (2 sqrt T) + r K e^(-rT) N(-d2)`.
    pub theta_put: i128,
}

/// Checks every input against the supported domain, in the order spot, strike,
/// moneyness, volatility, time, rate.
///
/// # Arguments
/// * `spot`, `strike`: WAD prices in `[1e-6, 1e12]`, with `strike / spot` in
///   `[0.01, 100]` (checked exactly, without division).
/// * `vol`: WAD in `[0.001, 10]`.
/// * `years`: WAD in `[60 / 31_536_000, 10]` (one minute to ten 365-day years).
/// * `rate`: WAD in `[-0.1, 1.0]`.
///
/// # Errors
/// [`MathError::OutOfDomain`] naming the first input outside its range
/// ([`Domain::Spot`], [`Domain::Strike`], [`Domain::Moneyness`], [`Domain::Volatility`],
/// [`Domain::Time`], [`Domain::Rate`]).
pub fn check_domain(
    spot: i128,
    strike: i128,
    vol: i128,
    years: i128,
    rate: i128,
) -> Result<(), MathError> {
    let fail = |d| Err(MathError::OutOfDomain(d));
    if !(PRICE_MIN..=PRICE_MAX).contains(&spot) {
        return fail(Domain::Spot);
    }
    if !(PRICE_MIN..=PRICE_MAX).contains(&strike) {
        return fail(Domain::Strike);
    }
    // strike / spot in [0.01, 100] <=> 100 strike >= spot and strike <= 100 spot.
    // Both sides are below 1e32: no overflow.
    if strike * 100 < spot || strike > spot * 100 {
        return fail(Domain::Moneyness);
    }
    if !(VOL_MIN..=VOL_MAX).contains(&vol) {
        return fail(Domain::Volatility);
    }
    if !(YEARS_MIN..=YEARS_MAX).contains(&years) {
        return fail(Domain::Time);
    }
    if !(RATE_MIN..=RATE_MAX).contains(&rate) {
        return fail(Domain::Rate);
    }
    Ok(())
}

/// Years (WAD) in `seconds` of calendar time, with 365-day years, rounded in
/// direction `r`.
///
/// # Errors
/// [`MathError::Overflow`] when `seconds` exceeds about 5e27.
pub fn years_from_seconds(seconds: i128, r: Rounding) -> Result<i128, MathError> {
    mul_div(seconds, WAD, SECONDS_PER_YEAR, r)
}

/// Payoff at expiry: `max(spot - strike, 0)` for a call, `max(strike - spot, 0)` for a
/// put. Exact.
///
/// # Errors
/// [`MathError::Overflow`] when the difference does not fit in `i128`.
pub fn intrinsic(is_call: bool, spot: i128, strike: i128) -> Result<i128, MathError> {
    let diff = if is_call {
        spot.checked_sub(strike)
    } else {
        strike.checked_sub(spot)
    };
    Ok(diff.ok_or(MathError::Overflow)?.max(0))
}

/// The shared part of one evaluation, in Q96 except where noted.
struct Core {
    /// `N(d1)`, `N(d2)`, `N(-d1) = 1 - N(d1)`, `N(-d2) = 1 - N(d2)`.
    n1: i128,
    n2: i128,
    nm1: i128,
    nm2: i128,
    /// `n(d1)`.
    pdf1: i128,
    /// `sigma sqrt T`, `sqrt T`, `sigma`, `r`.
    v: i128,
    sqrt_t: i128,
    vol: i128,
    rate: i128,
    /// `K e^(-rT)` in WAD * 2^EXTRA.
    kd: i128,
}

fn core(spot: i128, strike: i128, vol: i128, years: i128, rate: i128) -> Result<Core, MathError> {
    check_domain(spot, strike, vol, years, rate)?;
    let x = ln_ratio_q(spot, strike)?;
    let vol_q = wad_to_q(vol)?;
    let sqrt_t = sqrt_wad_to_q(years)?;
    let v = mul_q(vol_q, sqrt_t)?;
    let rate_q = wad_to_q(rate)?;
    let rt = mul_q(rate_q, wad_to_q(years)?)?;
    // d1 = (ln(S/K) + rT) / (sigma sqrt T) + sigma sqrt T / 2; |d1| < 4e6 fits Q96.
    let d1 = div_q(x + rt, v)? + v / 2;
    let d2 = d1 - v;
    let pdf1 = pdf_q(d1)?;
    let n1 = cdf_q_with_pdf(d1, pdf1)?;
    let n2 = cdf_q_with_pdf(d2, pdf_q(d2)?)?;
    let disc = exp_q(-rt)?;
    Ok(Core {
        n1,
        n2,
        nm1: Q96_ONE - n1,
        nm2: Q96_ONE - n2,
        pdf1,
        v,
        sqrt_t,
        vol: vol_q,
        rate: rate_q,
        kd: term(strike, disc)?,
    })
}

/// `w * q` for a WAD `w` and a Q96 `q`, in WAD * 2^EXTRA (nearest).
#[inline]
fn term(w: i128, q: i128) -> Result<i128, MathError> {
    mul_shift(w, q, Q96_SHIFT - EXTRA)
}

/// Drops the EXTRA bits, rounding to nearest.
#[inline]
fn finish(x: i128) -> Result<i128, MathError> {
    mul_shift(x, 1, EXTRA)
}

impl Core {
    fn call_x(&self, spot: i128) -> Result<i128, MathError> {
        Ok(term(spot, self.n1)? - mul_q(self.kd, self.n2)?)
    }

    fn put_x(&self, spot: i128) -> Result<i128, MathError> {
        Ok(mul_q(self.kd, self.nm2)? - term(spot, self.nm1)?)
    }
}

/// Black-Scholes value of a call (`kind_is_call`) or a put, rounded to nearest. Same
/// computation, domain and accuracy as [`quote`], without the Greeks.
///
/// # Errors
/// [`MathError::OutOfDomain`] as for [`check_domain`].
pub fn price(
    kind_is_call: bool,
    spot: i128,
    strike: i128,
    vol: i128,
    years: i128,
    rate: i128,
) -> Result<i128, MathError> {
    let c = core(spot, strike, vol, years, rate)?;
    finish(if kind_is_call {
        c.call_x(spot)?
    } else {
        c.put_x(spot)?
    })
}

/// Black-Scholes price and Greeks of a call and a put, each rounded to nearest.
///
/// # Arguments
/// * `spot`, `strike`, `vol`, `years`, `rate`: WAD, within the domain of
///   [`check_domain`] (`years` in 365-day years, `rate` continuously compounded).
///
/// # Errors
/// [`MathError::OutOfDomain`] naming the first input outside the domain; never a
/// wrong number.
pub fn quote(
    spot: i128,
    strike: i128,
    vol: i128,
    years: i128,
    rate: i128,
) -> Result<Quote, MathError> {
    let c = core(spot, strike, vol, years, rate)?;
    let delta_call = q_to_wad(c.n1)?;
    // gamma = n(d1) / (sigma sqrt T) / S: g <= 0.4 / 1.4e-6 in Q96, then
    // g * 1e36 / S / 2^96 with a 256-bit quotient and one rounding.
    let g = div_q(c.pdf1, c.v)?;
    let gamma = gamma_from(g, spot)?;
    let vega = finish(term(spot, mul_q(c.pdf1, c.sqrt_t)?)?)?;
    // -S n(d1) sigma / (2 sqrt T): the factor is at most 0.4 * 10 / 2.8e-3 = 1450.
    let decay = div_q(mul_q(c.pdf1, c.vol)?, 2 * c.sqrt_t)?;
    let common = -term(spot, decay)?;
    let rkd = mul_q(c.kd, c.rate)?;
    Ok(Quote {
        call: finish(c.call_x(spot)?)?,
        put: finish(c.put_x(spot)?)?,
        delta_call,
        delta_put: delta_call - WAD,
        gamma,
        vega,
        theta_call: finish(common - mul_q(rkd, c.n2)?)?,
        theta_put: finish(common + mul_q(rkd, c.nm2)?)?,
    })
}

/// `g * 1e36 / spot / 2^96` (a Q96 `g` over a WAD spot, as a WAD), nearest, with a
/// 256-bit numerator and quotient.
fn gamma_from(g: i128, spot: i128) -> Result<i128, MathError> {
    let d = spot.unsigned_abs();
    let (hi, lo) = full_mul(g.unsigned_abs(), (WAD * WAD).unsigned_abs());
    let (qhi, rhi) = crate::fixed::udiv(hi, d);
    let (qlo, _) = crate::fixed::div_wide(rhi, lo, d).ok_or(MathError::Overflow)?;
    let m = shr_round(qhi, qlo, Q96_SHIFT).ok_or(MathError::Overflow)?;
    crate::fixed::apply_sign(m, g < 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i128 = 100 * WAD;

    #[test]
    fn textbook_values() {
        // S = K = 100, sigma = 0.2, T = 1, r = 0.05 (mpmath, 50 digits).
        let q = quote(S, S, WAD / 5, WAD, WAD / 20).unwrap();
        assert_eq!(q.call, 10_450_583_572_185_566_782);
        assert_eq!(q.put, 5_573_526_022_256_967_691);
        assert_eq!(q.delta_call, 636_830_651_175_619_071);
        assert_eq!(q.delta_put, 636_830_651_175_619_071 - WAD);
        assert_eq!(q.gamma, 18_762_017_345_846_894);
        assert_eq!(q.vega, 37_524_034_691_693_787_837);
        assert_eq!(q.theta_call, -6_414_027_546_438_195_801);
        assert_eq!(q.theta_put, -1_657_880_423_934_625_755);
    }

    #[test]
    fn put_call_parity_holds_to_an_ulp() {
        let strikes = [WAD, 50 * WAD, 99 * WAD, 100 * WAD, 150 * WAD, 10_000 * WAD];
        for &k in &strikes {
            for &(t, r) in &[(YEARS_MIN, 0), (WAD / 12, WAD / 20), (YEARS_MAX, RATE_MIN)] {
                let q = quote(S, k, WAD / 2, t, r).unwrap();
                let disc =
                    crate::math::exp(-crate::fixed::mul(r, t, Rounding::Nearest).unwrap()).unwrap();
                let fwd = S - crate::fixed::mul(k, disc, Rounding::Nearest).unwrap();
                // rT rounded to 18 decimals moves K e^(-rT) by up to K/2 ulps.
                let tol = 2 + k / WAD;
                assert!((q.call - q.put - fwd).abs() <= tol, "k={k} t={t}");
            }
        }
    }

    #[test]
    fn price_matches_quote() {
        let q = quote(S, 90 * WAD, WAD / 3, WAD / 4, WAD / 50).unwrap();
        assert_eq!(
            price(true, S, 90 * WAD, WAD / 3, WAD / 4, WAD / 50),
            Ok(q.call)
        );
        assert_eq!(
            price(false, S, 90 * WAD, WAD / 3, WAD / 4, WAD / 50),
            Ok(q.put)
        );
    }

    #[test]
    fn call_increases_and_put_decreases_with_spot() {
        let k = 100 * WAD;
        let mut prev = quote(50 * WAD, k, WAD / 2, WAD / 2, WAD / 20).unwrap();
        let mut s = 50 * WAD;
        while s < 200 * WAD {
            s += 3 * WAD;
            let q = quote(s, k, WAD / 2, WAD / 2, WAD / 20).unwrap();
            assert!(q.call > prev.call && q.put < prev.put);
            assert!(q.delta_call >= prev.delta_call);
            assert!(q.gamma > 0 && q.vega > 0);
            prev = q;
        }
    }

    #[test]
    fn long_atm_theta_is_negative_and_values_bounded() {
        let q = quote(S, S, WAD / 2, WAD / 12, WAD / 20).unwrap();
        assert!(q.theta_call < 0);
        // Deep in the money, the call is worth at least S - K e^(-rT) and at most S.
        let q = quote(S, WAD, VOL_MIN, YEARS_MIN, 0).unwrap();
        assert_eq!(q.call, S - WAD);
        assert_eq!(q.put, 0);
        assert_eq!(q.delta_call, WAD);
        assert_eq!(q.gamma, 0);
    }

    #[test]
    fn rejects_inputs_outside_the_domain() {
        let e = |d| Err(MathError::OutOfDomain(d));
        let ok = (S, S, WAD / 5, WAD, WAD / 20);
        assert!(quote(ok.0, ok.1, ok.2, ok.3, ok.4).is_ok());
        assert_eq!(quote(PRICE_MIN - 1, S, WAD, WAD, 0), e(Domain::Spot));
        assert_eq!(quote(PRICE_MAX + 1, S, WAD, WAD, 0), e(Domain::Spot));
        assert_eq!(quote(S, 0, WAD, WAD, 0), e(Domain::Strike));
        assert_eq!(quote(S, -S, WAD, WAD, 0), e(Domain::Strike));
        assert_eq!(quote(S, S * 100 + 1, WAD, WAD, 0), e(Domain::Moneyness));
        assert_eq!(quote(S, WAD - 1, WAD, WAD, 0), e(Domain::Moneyness));
        assert!(quote(S, S * 100, WAD, WAD, 0).is_ok());
        assert!(quote(S, WAD, WAD, WAD, 0).is_ok());
        assert_eq!(quote(S, S, VOL_MIN - 1, WAD, 0), e(Domain::Volatility));
        assert_eq!(quote(S, S, VOL_MAX + 1, WAD, 0), e(Domain::Volatility));
        assert_eq!(quote(S, S, WAD, YEARS_MIN - 1, 0), e(Domain::Time));
        assert_eq!(quote(S, S, WAD, 0, 0), e(Domain::Time));
        assert_eq!(quote(S, S, WAD, YEARS_MAX + 1, 0), e(Domain::Time));
        assert_eq!(quote(S, S, WAD, WAD, RATE_MIN - 1), e(Domain::Rate));
        assert_eq!(quote(S, S, WAD, WAD, RATE_MAX + 1), e(Domain::Rate));
        assert_eq!(
            price(true, i128::MIN, i128::MAX, 0, 0, 0),
            Err(MathError::OutOfDomain(Domain::Spot))
        );
    }

    #[test]
    fn corners_of_the_domain_evaluate() {
        for &s in &[PRICE_MIN, WAD, PRICE_MAX] {
            for &m in &[MONEYNESS_MIN, WAD, MONEYNESS_MAX] {
                let k = (s / WAD).max(1) * m;
                let k = if s < WAD {
                    s * (m / 10i128.pow(16)) / 100
                } else {
                    k
                };
                for &v in &[VOL_MIN, VOL_MAX] {
                    for &t in &[YEARS_MIN, YEARS_MAX] {
                        for &r in &[RATE_MIN, RATE_MAX] {
                            if check_domain(s, k, v, t, r).is_ok() {
                                let q = quote(s, k, v, t, r).unwrap();
                                assert!(q.call >= 0 && q.put >= 0 && q.gamma >= 0);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn intrinsic_and_years() {
        assert_eq!(intrinsic(true, 110 * WAD, S), Ok(10 * WAD));
        assert_eq!(intrinsic(false, 110 * WAD, S), Ok(0));
        assert_eq!(intrinsic(false, 90 * WAD, S), Ok(10 * WAD));
        assert_eq!(intrinsic(true, i128::MIN, 1), Err(MathError::Overflow));
        assert_eq!(years_from_seconds(60, Rounding::Up), Ok(YEARS_MIN));
        assert_eq!(
            years_from_seconds(SECONDS_PER_YEAR, Rounding::Down),
            Ok(WAD)
        );
    }
}
