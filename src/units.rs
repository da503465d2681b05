//! Token units: conversions between a token's own decimals and the 18-decimal
//! fixed point (WAD) used everywhere inside Stylus Margin, and fractions of
//! bounded amounts.
//!
//! All amounts are `u128`. Inside the system a balance is bounded by
//! `u128::MAX` WAD (about 3.4e20 whole tokens), so 128 bits suffice and keep
//! the contracts small; the vault refuses anything larger at its edge.
//!
//! # Rounding
//!
//! Every function takes the rounding direction explicitly, and callers round
//! against the account:
//! - a credit to an account (a deposit) rounds **down** (`round_up = false`);
//! - a debit from an account rounds **up** (`round_up = true`);
//! - a withdrawal of `wad` pays out `from_wad(wad, d, false)` token units
//!   (rounded **down**) and debits exactly the WAD value of what is paid,
//!   `to_wad(sent, d, _)`, which is exact: see [`withdrawal`]. The dust the
//!   token cannot represent stays in the account.
//!
//! Token decimals from 0 to 36 ([`MAX_DECIMALS`]) are supported.

/// Decimals of the internal fixed point.
pub const WAD_DECIMALS: u8 = 18;

/// 1.0 in WAD.
pub const WAD: u128 = 1_000_000_000_000_000_000;

/// The largest token `decimals()` the conversions accept.
pub const MAX_DECIMALS: u8 = 36;

/// Why a conversion failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitsError {
    /// The token's decimals are above [`MAX_DECIMALS`].
    UnsupportedDecimals(u8),
    /// The result does not fit in a `u128`.
    Overflow,
    /// A fraction above 1.0 (`fraction_wad > WAD`).
    FractionAboveOne(u128),
}

/// 10^n for n in 0..=18, the only powers the conversions need
/// (|decimals - 18| <= 18 for decimals in 0..=36).
const POW10: [u128; 19] = {
    let mut table = [1u128; 19];
    let mut i = 1;
    while i < 19 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// Checks `decimals` and returns `(scale, token_is_coarser)`: the factor
/// between token units and WAD, and whether the token has fewer decimals than
/// WAD (a token unit is worth `scale` WAD) or more (a WAD is worth `scale`
/// token units).
fn scale(decimals: u8) -> Result<(u128, bool), UnitsError> {
    if decimals > MAX_DECIMALS {
        return Err(UnitsError::UnsupportedDecimals(decimals));
    }
    if decimals <= WAD_DECIMALS {
        Ok((POW10[usize::from(WAD_DECIMALS - decimals)], true))
    } else {
        Ok((POW10[usize::from(decimals - WAD_DECIMALS)], false))
    }
}

/// `n / d`, rounded up when `round_up` and the division is inexact.
/// `d` must be non-zero.
fn div_round(n: u128, d: u128, round_up: bool) -> u128 {
    let (q, r) = crate::fixed::udiv(n, d);
    if round_up && r != 0 {
        // SAFETY of `+ 1`: d >= 2 here (d == 1 leaves no remainder), so
        // q <= u128::MAX / 2.
        q + 1
    } else {
        q
    }
}

/// Converts `amount` token units of a token with `decimals` decimals to WAD.
///
/// Exact when `decimals <= 18`; otherwise divides by `10^(decimals - 18)`,
/// rounding down, or up when `round_up`.
///
/// # Errors
/// - [`UnitsError::UnsupportedDecimals`] if `decimals > 36`.
/// - [`UnitsError::Overflow`] if the result exceeds `u128::MAX`.
pub fn to_wad(amount: u128, decimals: u8, round_up: bool) -> Result<u128, UnitsError> {
    let (s, coarser) = scale(decimals)?;
    if coarser {
        amount.checked_mul(s).ok_or(UnitsError::Overflow)
    } else {
        Ok(div_round(amount, s, round_up))
    }
}

/// Converts `wad` (18 decimals) to units of a token with `decimals` decimals.
///
/// Exact when `decimals >= 18`; otherwise divides by `10^(18 - decimals)`,
/// rounding down, or up when `round_up`.
///
/// # Errors
/// - [`UnitsError::UnsupportedDecimals`] if `decimals > 36`.
/// - [`UnitsError::Overflow`] if the result exceeds `u128::MAX`.
pub fn from_wad(wad: u128, decimals: u8, round_up: bool) -> Result<u128, UnitsError> {
    let (s, coarser) = scale(decimals)?;
    if coarser {
        Ok(div_round(wad, s, round_up))
    } else {
        wad.checked_mul(s).ok_or(UnitsError::Overflow)
    }
}

/// Splits a withdrawal request of `wad` into what is paid and what is debited.
///
/// Returns `(token_amount, wad_debit)`: `token_amount = from_wad(wad, decimals,
/// round down)` and `wad_debit = to_wad(token_amount, decimals)`, the exact
/// WAD value of the tokens paid. `wad_debit <= wad`; the difference (less than
/// one token unit) stays in the account. Both conversions are exact in this
/// direction, so no value is created or destroyed: the vault's WAD ledger and
/// its token holdings move by the same amount.
///
/// # Errors
/// - [`UnitsError::UnsupportedDecimals`] if `decimals > 36`.
/// - [`UnitsError::Overflow`] if `token_amount` exceeds `u128::MAX`
///   (only possible for `decimals > 18`).
pub fn withdrawal(wad: u128, decimals: u8) -> Result<(u128, u128), UnitsError> {
    let token_amount = from_wad(wad, decimals, false)?;
    let wad_debit = to_wad(token_amount, decimals, false)?;
    Ok((token_amount, wad_debit))
}

/// `amount * fraction_wad / 1e18`, rounded down, or up when `round_up`,
/// for a fraction in `[0, 1]` (`fraction_wad <= WAD`).
///
/// Computed without 256-bit arithmetic: `amount` is split into 64-bit halves so
/// every intermediate product stays below 2^125. The result never exceeds
/// `amount`.
///
/// # Errors
/// - [`UnitsError::FractionAboveOne`] if `fraction_wad > WAD`.
pub fn mul_fraction(amount: u128, fraction_wad: u128, round_up: bool) -> Result<u128, UnitsError> {
    if fraction_wad > WAD {
        return Err(UnitsError::FractionAboveOne(fraction_wad));
    }
    let hi = amount >> 64;
    let lo = amount & u128::from(u64::MAX);
    // f < 2^60 and hi, lo < 2^64, so each product is below 2^124.
    let p_hi = fraction_wad * hi;
    let (q_hi, r_hi) = crate::fixed::div_wad_u128(p_hi);
    // r_hi < 2^60: (r_hi << 64) < 2^124, plus f * lo < 2^124: below 2^125.
    let rest = (r_hi << 64) + fraction_wad * lo;
    let q_lo = div_round(rest, WAD, round_up);
    // q_hi <= hi, so q_hi << 64 <= amount; the total is at most `amount`
    // (at most `amount` rounded up, which is `amount` since f <= 1).
    Ok((q_hi << 64) + q_lo)
}

/// `floor(cash * fraction_wad / 1e18)` for a signed amount: rounded toward
/// negative infinity, so a positive amount rounds down and a negative one
/// rounds away from zero. The result has the sign of `cash` (or is zero) and
/// its magnitude never exceeds `|cash|`.
///
/// # Errors
/// - [`UnitsError::FractionAboveOne`] if `fraction_wad > WAD`.
pub fn mul_fraction_signed_floor(cash: i128, fraction_wad: u128) -> Result<i128, UnitsError> {
    let magnitude = mul_fraction(cash.unsigned_abs(), fraction_wad, cash < 0)?;
    // magnitude <= |cash| <= 2^127, so the negation below fits an i128, and for
    // cash >= 0 magnitude <= i128::MAX.
    if cash < 0 {
        Ok(0i128.wrapping_sub_unsigned(magnitude))
    } else {
        Ok(magnitude as i128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_wad_scales_up_exactly_for_six_decimals() {
        assert_eq!(to_wad(1_500_000, 6, false), Ok(1_500_000_000_000_000_000));
        assert_eq!(to_wad(1_500_000, 6, true), Ok(1_500_000_000_000_000_000));
    }

    #[test]
    fn to_wad_is_identity_for_eighteen_decimals() {
        assert_eq!(to_wad(12345, 18, false), Ok(12345));
        assert_eq!(from_wad(12345, 18, true), Ok(12345));
    }

    #[test]
    fn to_wad_rounds_per_flag_for_more_than_eighteen_decimals() {
        // 24 decimals: 1 WAD = 1e6 token units.
        assert_eq!(to_wad(2_500_001, 24, false), Ok(2));
        assert_eq!(to_wad(2_500_001, 24, true), Ok(3));
        assert_eq!(to_wad(3_000_000, 24, true), Ok(3));
    }

    #[test]
    fn from_wad_rounds_per_flag_for_fewer_than_eighteen_decimals() {
        let wad = 1_000_000_000_000_000_001u128; // 1 + 1e-18
        assert_eq!(from_wad(wad, 6, false), Ok(1_000_000));
        assert_eq!(from_wad(wad, 6, true), Ok(1_000_001));
        assert_eq!(from_wad(1_000_000_000_000, 6, true), Ok(1));
    }

    #[test]
    fn zero_and_thirty_six_decimals_are_supported() {
        assert_eq!(to_wad(7, 0, false), Ok(7 * WAD));
        assert_eq!(from_wad(7 * WAD + 1, 0, false), Ok(7));
        assert_eq!(from_wad(7 * WAD + 1, 0, true), Ok(8));
        assert_eq!(to_wad(WAD * WAD, 36, false), Ok(WAD));
        assert_eq!(from_wad(3, 36, false), Ok(3 * WAD));
    }

    #[test]
    fn decimals_above_thirty_six_are_rejected() {
        assert_eq!(
            to_wad(1, 37, false),
            Err(UnitsError::UnsupportedDecimals(37))
        );
        assert_eq!(
            from_wad(1, 255, false),
            Err(UnitsError::UnsupportedDecimals(255))
        );
        assert_eq!(withdrawal(1, 40), Err(UnitsError::UnsupportedDecimals(40)));
    }

    #[test]
    fn overflow_is_an_error() {
        assert_eq!(to_wad(u128::MAX, 6, false), Err(UnitsError::Overflow));
        assert_eq!(
            to_wad(u128::MAX / WAD + 1, 0, false),
            Err(UnitsError::Overflow)
        );
        assert_eq!(to_wad(u128::MAX / WAD, 0, false), Ok(u128::MAX / WAD * WAD));
        assert_eq!(from_wad(u128::MAX, 19, false), Err(UnitsError::Overflow));
        assert_eq!(withdrawal(u128::MAX, 36), Err(UnitsError::Overflow));
    }

    #[test]
    fn withdrawal_pays_down_and_debits_the_exact_value_paid() {
        // 6 decimals: 1.0000009999 WAD pays 1.000000 and debits 1e18.
        let (sent, debit) = withdrawal(1_000_000_999_900_000_000, 6).unwrap();
        assert_eq!(sent, 1_000_000);
        assert_eq!(debit, WAD);
        // 24 decimals: exact both ways.
        assert_eq!(withdrawal(5, 24), Ok((5_000_000, 5)));
        // Less than one unit pays nothing and debits nothing.
        assert_eq!(withdrawal(999_999_999_999, 6), Ok((0, 0)));
    }

    #[test]
    fn withdrawal_never_debits_more_than_requested_nor_pays_more_than_debited() {
        let mut x: u128 = 0x9E37_79B9_7F4A_7C15;
        for decimals in 0..=MAX_DECIMALS {
            for _ in 0..50 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let wad = x >> (x % 100) as u32;
                match withdrawal(wad, decimals) {
                    Ok((sent, debit)) => {
                        assert!(debit <= wad);
                        assert_eq!(to_wad(sent, decimals, true), Ok(debit));
                        assert_eq!(from_wad(debit, decimals, false), Ok(sent));
                    }
                    Err(e) => assert_eq!(e, UnitsError::Overflow),
                }
            }
        }
    }

    #[test]
    fn round_trip_never_gains() {
        let mut x: u128 = 12345;
        for decimals in 0..=MAX_DECIMALS {
            for _ in 0..50 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let amount = x >> 70;
                if let Ok(w) = to_wad(amount, decimals, false) {
                    assert!(from_wad(w, decimals, false).unwrap() <= amount);
                }
                if let Ok(w) = to_wad(amount, decimals, true) {
                    assert!(from_wad(w, decimals, true).unwrap() >= amount);
                }
            }
        }
    }

    #[test]
    fn mul_fraction_matches_wide_arithmetic() {
        let mut x: u128 = 0xDEAD_BEEF;
        for _ in 0..2000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let amount = x.rotate_left((x % 128) as u32);
            let f = (x >> 3) % (WAD + 1);
            // Reference: 256-bit via two u128 limbs and long division by WAD.
            let down = mul_fraction(amount, f, false).unwrap();
            let up = mul_fraction(amount, f, true).unwrap();
            assert!(down <= amount && up <= amount);
            assert!(up == down || up == down + 1);
            // down * WAD <= amount * f < (down + 1) * WAD, checked in 256 bits.
            let lhs = wide_mul(down, WAD);
            let prod = wide_mul(amount, f);
            let rhs = wide_mul(down + 1, WAD);
            assert!(lhs <= prod && prod < rhs);
            assert_eq!(up == down, lhs == prod);
        }
    }

    /// (hi, lo) of a * b.
    fn wide_mul(a: u128, b: u128) -> (u128, u128) {
        let mask = u128::from(u64::MAX);
        let (a1, a0) = (a >> 64, a & mask);
        let (b1, b0) = (b >> 64, b & mask);
        let p00 = a0 * b0;
        let p01 = a0 * b1;
        let p10 = a1 * b0;
        let p11 = a1 * b1;
        let mid = (p00 >> 64) + (p01 & mask) + (p10 & mask);
        let lo = (p00 & mask) | (mid << 64);
        let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
        (hi, lo)
    }

    #[test]
    fn mul_fraction_edges() {
        assert_eq!(mul_fraction(u128::MAX, WAD, false), Ok(u128::MAX));
        assert_eq!(mul_fraction(u128::MAX, 0, true), Ok(0));
        assert_eq!(mul_fraction(3, WAD / 2, false), Ok(1));
        assert_eq!(mul_fraction(3, WAD / 2, true), Ok(2));
        assert_eq!(
            mul_fraction(1, WAD + 1, false),
            Err(UnitsError::FractionAboveOne(WAD + 1))
        );
    }

    #[test]
    fn signed_fraction_rounds_toward_negative_infinity() {
        assert_eq!(mul_fraction_signed_floor(3, WAD / 2), Ok(1));
        assert_eq!(mul_fraction_signed_floor(-3, WAD / 2), Ok(-2));
        assert_eq!(mul_fraction_signed_floor(-4, WAD / 2), Ok(-2));
        assert_eq!(mul_fraction_signed_floor(i128::MIN, WAD), Ok(i128::MIN));
        assert_eq!(mul_fraction_signed_floor(i128::MAX, WAD), Ok(i128::MAX));
        assert_eq!(mul_fraction_signed_floor(-1, 1), Ok(-1));
        assert_eq!(mul_fraction_signed_floor(0, WAD), Ok(0));
    }
}
