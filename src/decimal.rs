//! Decimal strings <-> 18-decimal fixed point, exactly (no floats, no rounding).
//!
//! Used by the command-line tool and the tests; the contracts never parse text.
use alloc::string::String;

use crate::fixed::WAD;

/// Why a decimal string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Empty, or not `[-+]digits[.digits]`.
    Malformed,
    /// More than 18 fractional digits (would be truncated silently otherwise).
    TooPrecise,
    /// Does not fit an i128 in WAD.
    Overflow,
}

/// Parses `[-+]?\d+(\.\d{0,18})?` (also `.5`) into WAD, exactly.
///
/// # Errors
/// [`ParseError`].
pub fn parse_wad(s: &str) -> Result<i128, ParseError> {
    let s = s.trim();
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(ParseError::Malformed);
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Malformed);
    }
    if frac.len() > 18 {
        return Err(ParseError::TooPrecise);
    }
    let mut v: i128 = 0;
    for b in int.bytes() {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or(ParseError::Overflow)?;
    }
    v = v.checked_mul(WAD).ok_or(ParseError::Overflow)?;
    let mut f: i128 = 0;
    for b in frac.bytes() {
        f = f * 10 + i128::from(b - b'0');
    }
    f *= 10i128.pow(18 - frac.len() as u32);
    v = v.checked_add(f).ok_or(ParseError::Overflow)?;
    Ok(if neg { -v } else { v })
}

/// Formats WAD as a decimal string with all 18 fractional digits, e.g. `-1.500000000000000000`.
pub fn format_wad(v: i128) -> String {
    use core::fmt::Write;
    let mut out = String::new();
    let a = v.unsigned_abs();
    let w = WAD as u128;
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{}{}.{:018}",
        if v < 0 { "-" } else { "" },
        a / w,
        a % w
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_wad("1"), Ok(WAD));
        assert_eq!(parse_wad("-0.5"), Ok(-WAD / 2));
        assert_eq!(parse_wad(".000000000000000001"), Ok(1));
        assert_eq!(
            parse_wad("0.0000000000000000001"),
            Err(ParseError::TooPrecise)
        );
        assert_eq!(parse_wad("1e5"), Err(ParseError::Malformed));
        assert_eq!(parse_wad(""), Err(ParseError::Malformed));
        assert_eq!(parse_wad("."), Err(ParseError::Malformed));
        assert_eq!(
            parse_wad("999999999999999999999999"),
            Err(ParseError::Overflow)
        );
    }

    #[test]
    fn formats_round_trip() {
        for v in [0, 1, -1, WAD, -WAD / 3, i128::MAX / 7] {
            assert_eq!(parse_wad(&format_wad(v)), Ok(v));
        }
        assert_eq!(format_wad(-WAD / 2), "-0.500000000000000000");
    }
}
