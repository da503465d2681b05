//! 18-decimal signed fixed point on `i128` (`WAD = 1e18`), with explicit rounding.
//!
//! A value `x` stands for the real number `x / 1e18`. Every operation is checked: a
//! result outside `i128` is [`MathError::Overflow`], never a wrap, and a zero divisor is
//! [`MathError::DivisionByZero`]. Operations that drop digits take a [`Rounding`]
//! direction, so callers can round against the account (requirements up, equity down).
//!
//! Products that do not fit 128 bits go through a 256-bit intermediate built from
//! `u128` halves ([`full_mul`], [`div_wide`]), in the style of Uniswap's `FullMath`:
//! `mul_div` is exact before its single final rounding for every input whose
//! result fits `i128`.

/// One, in 18-decimal fixed point.
pub const WAD: i128 = 1_000_000_000_000_000_000;

/// Direction in which a result that is not exactly representable is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Toward negative infinity (floor).
    Down,
    /// Toward positive infinity (ceiling).
    Up,
    /// To the nearest representable value; an exact half rounds away from zero.
    Nearest,
}

/// Which input or intermediate was outside the domain of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Spot price outside the supported range.
    Spot,
    /// Strike outside the supported range.
    Strike,
    /// Strike / spot (or strike / forward) outside the supported range.
    Moneyness,
    /// Volatility outside the supported range.
    Volatility,
    /// Time to expiry outside the supported range.
    Time,
    /// Interest rate outside the supported range.
    Rate,
    /// SVI parameters that fail validation (bounds or no-arbitrage condition).
    SviParams,
    /// SVI total variance that is not strictly positive where a volatility is needed.
    SviVariance,
    /// Logarithm of zero or of a negative number.
    LnNonPositive,
    /// Exponential whose result does not fit in `i128` as a WAD.
    ExpTooLarge,
    /// Square root of a negative number.
    SqrtNegative,
}

/// Why a fixed-point computation has no correct result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathError {
    /// The exact result does not fit in `i128`.
    Overflow,
    /// A divisor was zero.
    DivisionByZero,
    /// An input (named by the [`Domain`]) was outside the function's domain.
    OutOfDomain(Domain),
}

/// `a + b`, exact.
///
/// # Errors
/// [`MathError::Overflow`] when the sum does not fit in `i128`.
#[inline]
pub fn add(a: i128, b: i128) -> Result<i128, MathError> {
    a.checked_add(b).ok_or(MathError::Overflow)
}

/// `a - b`, exact.
///
/// # Errors
/// [`MathError::Overflow`] when the difference does not fit in `i128`.
#[inline]
pub fn sub(a: i128, b: i128) -> Result<i128, MathError> {
    a.checked_sub(b).ok_or(MathError::Overflow)
}

/// `-a`, exact.
///
/// # Errors
/// [`MathError::Overflow`] for `a == i128::MIN`.
#[inline]
pub fn neg(a: i128) -> Result<i128, MathError> {
    a.checked_neg().ok_or(MathError::Overflow)
}

/// `|a|`, exact.
///
/// # Errors
/// [`MathError::Overflow`] for `a == i128::MIN`.
#[inline]
pub fn abs(a: i128) -> Result<i128, MathError> {
    a.checked_abs().ok_or(MathError::Overflow)
}

/// The WAD representing the integer `n` (`n * 1e18`), exact.
///
/// # Errors
/// [`MathError::Overflow`] when `|n|` exceeds about `1.7e20`.
#[inline]
pub fn from_int(n: i128) -> Result<i128, MathError> {
    let (hi, lo) = full_mul(n.unsigned_abs(), WAD as u128);
    if hi != 0 {
        return Err(MathError::Overflow);
    }
    apply_sign(lo, n < 0)
}

/// The integer part of the WAD `a`, rounded in direction `r` (`Down` is floor, `Up`
/// is ceiling, `Nearest` rounds halves away from zero). Cannot fail.
#[inline]
pub fn to_int(a: i128, r: Rounding) -> i128 {
    let q = idiv(a, WAD);
    let rem = a - q * WAD;
    if rem == 0 {
        return q;
    }
    // |q| <= i128::MAX / 1e18, so q +/- 1 cannot overflow.
    match r {
        Rounding::Down => {
            if rem < 0 {
                q - 1
            } else {
                q
            }
        }
        Rounding::Up => {
            if rem > 0 {
                q + 1
            } else {
                q
            }
        }
        Rounding::Nearest => {
            if rem.unsigned_abs() >= (WAD / 2).unsigned_abs() {
                if rem > 0 {
                    q + 1
                } else {
                    q - 1
                }
            } else {
                q
            }
        }
    }
}

/// `a * b / 1e18`: the WAD product, exact before one rounding in direction `r`
/// (error < 1 ulp for `Down`/`Up`, <= 1/2 ulp for `Nearest`).
///
/// # Errors
/// [`MathError::Overflow`] when the rounded result does not fit in `i128`.
#[inline]
pub fn mul(a: i128, b: i128, r: Rounding) -> Result<i128, MathError> {
    mul_div(a, b, WAD, r)
}

/// `a * 1e18 / b`: the WAD quotient, exact before one rounding in direction `r`
/// (error < 1 ulp for `Down`/`Up`, <= 1/2 ulp for `Nearest`).
///
/// # Errors
/// [`MathError::DivisionByZero`] when `b == 0`; [`MathError::Overflow`] when the
/// rounded result does not fit in `i128`.
#[inline]
pub fn div(a: i128, b: i128, r: Rounding) -> Result<i128, MathError> {
    mul_div(a, WAD, b, r)
}

/// `a * b / c` with a 256-bit intermediate product, exact before one rounding in
/// direction `r` (error < 1 unit of the last place for `Down`/`Up`, <= 1/2 for
/// `Nearest`, halves away from zero). Scale-agnostic: the result has the scale of
/// `a * b / c`. The product from [`full_mul`], the quotient from [`div_wide`].
///
/// # Errors
/// [`MathError::DivisionByZero`] when `c == 0`; [`MathError::Overflow`] when the
/// rounded result does not fit in `i128`.
pub fn mul_div(a: i128, b: i128, c: i128, r: Rounding) -> Result<i128, MathError> {
    if c == 0 {
        return Err(MathError::DivisionByZero);
    }
    let negative = (a < 0) ^ (b < 0) ^ (c < 0) && a != 0 && b != 0;
    let d = c.unsigned_abs();
    let (hi, lo) = full_mul(a.unsigned_abs(), b.unsigned_abs());
    let (q, rem) = div_wide(hi, lo, d).ok_or(MathError::Overflow)?;
    let q = round_magnitude(q, rem, d, negative, r).ok_or(MathError::Overflow)?;
    apply_sign(q, negative)
}

/// Rounds the magnitude `q` of a quotient whose remainder is `rem` (divisor `d`), for a
/// result of sign `negative`, in direction `r`. `None` if `q + 1` overflows `u128`.
#[inline]
fn round_magnitude(q: u128, rem: u128, d: u128, negative: bool, r: Rounding) -> Option<u128> {
    if rem == 0 {
        return Some(q);
    }
    let up = match r {
        // Toward -inf: a negative result grows in magnitude.
        Rounding::Down => negative,
        Rounding::Up => !negative,
        // rem >= d - rem  <=>  2 rem >= d, without overflowing.
        Rounding::Nearest => rem >= d - rem,
    };
    if up {
        q.checked_add(1)
    } else {
        Some(q)
    }
}

/// The `i128` with magnitude `m` and the given sign.
///
/// # Errors
/// [`MathError::Overflow`] when it does not fit (`i128::MIN` is accepted).
#[inline]
pub(crate) fn apply_sign(m: u128, negative: bool) -> Result<i128, MathError> {
    if negative {
        if m <= i128::MIN.unsigned_abs() {
            // Two's complement of a magnitude <= 2^127 is the negative value.
            Ok(0i128.wrapping_sub_unsigned(m))
        } else {
            Err(MathError::Overflow)
        }
    } else {
        i128::try_from(m).map_err(|_| MathError::Overflow)
    }
}

/// Full 256-bit product of two `u128`, as `(high, low)` 128-bit halves. Exact.
#[inline]
pub fn full_mul(a: u128, b: u128) -> (u128, u128) {
    const M: u128 = (1 << 64) - 1;
    let (a1, a0) = (a >> 64, a & M);
    let (b1, b0) = (b >> 64, b & M);
    // Each partial product of two 64-bit halves fits in u128.
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // Middle column: at most 3 * (2^64 - 1) fits in u128 after splitting.
    let mid = (p00 >> 64) + (p01 & M) + (p10 & M);
    let lo = (p00 & M) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// Divides the 256-bit `hi * 2^128 + lo` by `d`, returning `(quotient, remainder)`.
/// Exact (truncating). `None` when `d == 0` or the quotient does not fit in `u128`
/// (that is, when `hi >= d`).
///
/// Knuth's algorithm D on 64-bit digits (Hacker's Delight `divlu`), two quotient
/// digits, each corrected at most twice.
pub fn div_wide(hi: u128, lo: u128, d: u128) -> Option<(u128, u128)> {
    if d == 0 || hi >= d {
        return None;
    }
    if hi == 0 {
        return Some(udiv(lo, d));
    }
    const B: u128 = 1 << 64;
    const M: u128 = (1 << 64) - 1;
    // Normalise so that the divisor's top bit is set; hi < d keeps un32 within u128.
    let s = d.leading_zeros();
    let v = d << s;
    let (vn1, vn0) = (v >> 64, v & M);
    let un32 = if s == 0 {
        hi
    } else {
        (hi << s) | (lo >> (128 - s))
    };
    let un10 = lo << s;
    let (un1, un0) = (un10 >> 64, un10 & M);

    let (mut q1, mut rhat) = udiv(un32, vn1);
    while q1 >= B || q1 * vn0 > (rhat << 64) + un1 {
        q1 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    // The true partial remainder is < v, so the wrapping arithmetic is exact mod 2^128.
    let un21 = (un32 << 64)
        .wrapping_add(un1)
        .wrapping_sub(q1.wrapping_mul(v));

    let (mut q0, mut rhat) = udiv(un21, vn1);
    while q0 >= B || q0 * vn0 > (rhat << 64) + un0 {
        q0 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let rem = (un21 << 64)
        .wrapping_add(un0)
        .wrapping_sub(q0.wrapping_mul(v));
    Some(((q1 << 64) | q0, rem >> s))
}

/// `a * b / 1e18` rounded in direction `r`: bit for bit [`mul`], built for the margin
/// engine's inner loops, where [`mul`] costs most of its gas in WASM's software 128-bit
/// division (`a.checked_mul(b)`, then a 128-bit quotient and remainder). Here the
/// product of two halves below 2^64 is one multiplication, and the division by
/// `1e18 = 2^18 * 5^18` is a shift and four 64-bit divisions by `5^18`
/// ([`div_wad_u128`]); products of 2^128 and more are divided by 1e18 digit by digit
/// ([`div_128_64`]) instead of [`div_wide`]'s 128-bit divisions.
/// Larger code than [`mul`], so contracts that do not loop over positions keep [`mul`].
///
/// # Errors
/// [`MathError::Overflow`] when the rounded result does not fit in `i128`.
pub fn mul_fast(a: i128, b: i128, r: Rounding) -> Result<i128, MathError> {
    let negative = (a < 0) != (b < 0) && a != 0 && b != 0;
    let (ua, ub) = (a.unsigned_abs(), b.unsigned_abs());
    let (q, rem) = if (ua | ub) >> 64 == 0 {
        div_wad_u128(ua * ub)
    } else {
        let (hi, lo) = full_mul(ua, ub);
        if hi == 0 {
            div_wad_u128(lo)
        } else if hi >> 18 == 0 {
            // Below 2^146: the product shifted right by 18 fits 128 bits.
            let (q, r) = div_5_18((hi << 110) | (lo >> 18));
            (q, (u128::from(r) << 18) | (lo & ((1 << 18) - 1)))
        } else {
            // Four 64-bit digits, each divided by 1e18 with the remainder carried.
            const D: u64 = WAD as u64;
            let (q3, r) = div_128_64(0, (hi >> 64) as u64, D);
            let (q2, r) = div_128_64(r, hi as u64, D);
            if q3 != 0 || q2 != 0 {
                return Err(MathError::Overflow);
            }
            let (q1, r) = div_128_64(r, (lo >> 64) as u64, D);
            let (q0, r) = div_128_64(r, lo as u64, D);
            ((u128::from(q1) << 64) | u128::from(q0), u128::from(r))
        }
    };
    let q = round_magnitude(q, rem, WAD as u128, negative, r).ok_or(MathError::Overflow)?;
    apply_sign(q, negative)
}

/// `(hi 2^64 + lo) / d` and its remainder for `hi < d` (the quotient fits 64 bits), in
/// native 64-bit operations: [`div_wide`]'s algorithm (Knuth's D, Hacker's Delight
/// `divlu`) on 32-bit digits. WASM has no 128-bit division: `u128 / u128` is a call to
/// compiler-builtins (about 27 gas measured in a margin check); this is a few gas.
pub fn div_128_64(hi: u64, lo: u64, d: u64) -> (u64, u64) {
    const B: u64 = 1 << 32;
    const M: u64 = B - 1;
    let s = d.leading_zeros();
    let v = d << s;
    let (vn1, vn0) = (v >> 32, v & M);
    let un32 = if s == 0 {
        hi
    } else {
        (hi << s) | (lo >> (64 - s))
    };
    let un10 = lo << s;
    let (un1, un0) = (un10 >> 32, un10 & M);
    let mut q1 = un32 / vn1;
    let mut rhat = un32 - q1 * vn1;
    // q1 >= B is tested first, so q1 * vn0 < 2^64.
    while q1 >= B || q1 * vn0 > (rhat << 32) + un1 {
        q1 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let un21 = (un32 << 32)
        .wrapping_add(un1)
        .wrapping_sub(q1.wrapping_mul(v));
    let mut q0 = un21 / vn1;
    let mut rhat = un21 - q0 * vn1;
    while q0 >= B || q0 * vn0 > (rhat << 32) + un0 {
        q0 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let rem = (un21 << 32)
        .wrapping_add(un0)
        .wrapping_sub(q0.wrapping_mul(v));
    ((q1 << 32) | q0, rem >> s)
}

/// `(n / d, n % d)` for `u128`s, `d` nonzero, with 64-bit divisions only: WASM has no
/// 128-bit division, and compiler-builtins' routine is about 1 KB of every contract that
/// divides 128-bit values (the calculator's bytes are the scarcest). A divisor below
/// 2^64 divides in two 64-bit digits ([`div_u128_u64`]); a larger one has a quotient
/// below 2^64, estimated from the divisor's top 64 bits and corrected once (Hacker's
/// Delight, `divlu2`).
pub fn udiv(n: u128, d: u128) -> (u128, u128) {
    if d >> 64 == 0 {
        let (q, r) = div_u128_u64(n, d as u64);
        return (q, u128::from(r));
    }
    let s = d.leading_zeros();
    let v1 = ((d << s) >> 64) as u64;
    // n / 2 < 2^127, so its top digit is below v1 (>= 2^63).
    let n1 = n >> 1;
    let (q1, _) = div_128_64((n1 >> 64) as u64, n1 as u64, v1);
    // q1 2^s / 2^63 is the quotient or one above it; one below it then, at most one below.
    let mut q = (u128::from(q1) << s) >> 63;
    q = q.saturating_sub(1);
    if n - q * d >= d {
        q += 1;
    }
    (q, n - q * d)
}

/// `a * b` as `i128`, `None` when it does not fit: `i128::checked_mul` through
/// [`full_mul`] (compiler-builtins' checked 128-bit multiplication is ~0.7 KB).
pub fn imul(a: i128, b: i128) -> Option<i128> {
    let (hi, lo) = full_mul(a.unsigned_abs(), b.unsigned_abs());
    if hi != 0 {
        return None;
    }
    apply_sign(lo, (a < 0) != (b < 0) && lo != 0).ok()
}

/// `n / d` truncated toward zero, as `i128` division (`d` nonzero; `i128::MIN / -1`
/// wraps), through [`udiv`].
pub fn idiv(n: i128, d: i128) -> i128 {
    let q = udiv(n.unsigned_abs(), d.unsigned_abs()).0 as i128;
    if (n < 0) != (d < 0) {
        q.wrapping_neg()
    } else {
        q
    }
}

/// `(n / d, n % d)` for a `u128` and a nonzero `u64`, with 64-bit divisions only (see
/// [`div_128_64`]).
pub fn div_u128_u64(n: u128, d: u64) -> (u128, u64) {
    let (hi, lo) = ((n >> 64) as u64, n as u64);
    let (qh, r) = (hi / d, hi % d);
    let (ql, rem) = div_128_64(r, lo, d);
    ((u128::from(qh) << 64) | u128::from(ql), rem)
}

/// `(n / 1e18, n % 1e18)` with 64-bit divisions only: `n = (n >> 18) 2^18 + low`, and
/// `n >> 18` is divided by `5^18` in 64-bit digits (`div_5_18`).
pub fn div_wad_u128(n: u128) -> (u128, u128) {
    let (q, r) = div_5_18(n >> 18);
    (q, (u128::from(r) << 18) | (n & ((1 << 18) - 1)))
}

/// `(p / 5^18, p % 5^18)` for any `u128`, with 64-bit divisions only: `5^18 < 2^42`, so
/// `p` is divided in four digits (its top 64 bits, then 22, 21 and 21 bits), each partial
/// remainder below `5^18` so every dividend fits 64 bits.
fn div_5_18(p: u128) -> (u128, u64) {
    const D: u64 = 3_814_697_265_625;
    let (hi, lo) = ((p >> 64) as u64, p as u64);
    let (q0, r) = (hi / D, hi % D);
    let n1 = (r << 22) | (lo >> 42);
    let (q1, r) = (n1 / D, n1 % D);
    let n2 = (r << 21) | ((lo >> 21) & ((1 << 21) - 1));
    let (q2, r) = (n2 / D, n2 % D);
    let n3 = (r << 21) | (lo & ((1 << 21) - 1));
    let (q3, r) = (n3 / D, n3 % D);
    let q =
        (u128::from(q0) << 64) | (u128::from(q1) << 42) | (u128::from(q2) << 21) | u128::from(q3);
    (q, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference 256/128 division by binary long division.
    fn div_wide_ref(hi: u128, lo: u128, d: u128) -> Option<(u128, u128)> {
        if d == 0 || hi >= d {
            return None;
        }
        let mut rem: u128 = hi;
        let mut q: u128 = 0;
        for i in (0..128).rev() {
            let carry = rem >> 127;
            rem = (rem << 1) | ((lo >> i) & 1);
            q <<= 1;
            if carry == 1 || rem >= d {
                rem = rem.wrapping_sub(d);
                q |= 1;
            }
        }
        Some((q, rem))
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn u128(&mut self) -> u128 {
            let x = (u128::from(self.next()) << 64) | u128::from(self.next());
            x >> (self.next() % 128)
        }
    }

    #[test]
    fn full_mul_matches_split_products() {
        assert_eq!(full_mul(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(full_mul(1 << 127, 2), (1, 0));
        assert_eq!(full_mul(0, u128::MAX), (0, 0));
    }

    /// `udiv` and `idiv` equal native division on random operands of every bit length
    /// (both sides of 2^64 for the divisor, quotients of 0, 1 and up to 128 bits) and on
    /// the edges; the test fails if the one correction step is dropped.
    #[test]
    fn udiv_and_idiv_match_native_division() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let edges = [
            1u128,
            2,
            3,
            (1 << 64) - 1,
            1 << 64,
            (1 << 64) + 1,
            1 << 127,
            u128::MAX,
        ];
        let mut pairs: alloc::vec::Vec<(u128, u128)> = alloc::vec::Vec::new();
        for a in edges {
            for b in edges {
                pairs.push((a, b));
                pairs.push((a - 1, b));
            }
        }
        for _ in 0..200_000 {
            let d = rng.u128().max(1);
            let n = if rng.next().is_multiple_of(4) {
                // Near a multiple of d.
                d.wrapping_mul(u128::from(rng.next()))
                    .wrapping_add(rng.next() as u128 % 3)
            } else {
                rng.u128()
            };
            pairs.push((n, d));
        }
        for (n, d) in pairs {
            assert_eq!(udiv(n, d), (n / d, n % d), "{n} / {d}");
            let (a, b) = (n as i128, (d as i128).max(1));
            let b = if rng.next().is_multiple_of(2) { b } else { -b };
            if !(a == i128::MIN && b == -1) {
                assert_eq!(idiv(a, b), a / b, "{a} / {b}");
            }
            // imul against checked_mul, on operands of every size and sign.
            let (x, y) = ((n >> (d % 128)) as i128, b >> (n % 128));
            for (x, y) in [(x, y), (-x, y), (x, -y), (a, 1), (a, -1), (a, 2)] {
                assert_eq!(imul(x, y), x.checked_mul(y), "{x} * {y}");
            }
        }
    }

    #[test]
    fn div_wide_matches_long_division() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let d = rng.u128().max(1);
            let hi = rng.u128() % d;
            let lo = rng.u128();
            assert_eq!(
                div_wide(hi, lo, d),
                div_wide_ref(hi, lo, d),
                "{hi} {lo} {d}"
            );
        }
        assert_eq!(div_wide(1, 0, 1), None);
        assert_eq!(div_wide(0, 5, 0), None);
        assert_eq!(
            div_wide(u128::MAX - 1, u128::MAX, u128::MAX),
            Some((u128::MAX, u128::MAX - 1))
        );
    }

    #[test]
    fn mul_div_wide_path_is_exact() {
        let mut rng = Rng(12345);
        for _ in 0..5_000 {
            let a = rng.u128() >> 1;
            let b = rng.u128() >> 1;
            let c = (rng.u128() >> 1).max(1);
            let (hi, lo) = full_mul(a, b);
            let expect = div_wide_ref(hi, lo, c).and_then(|(q, _)| i128::try_from(q).ok());
            let got = mul_div(a as i128, b as i128, c as i128, Rounding::Down).ok();
            assert_eq!(got, expect);
        }
    }

    #[test]
    fn mul_rounds_in_each_direction() {
        // 1.5e-18 * 1 = 1.5e-18 -> not representable: a = 3, b = 0.5
        let half = WAD / 2;
        assert_eq!(mul(3, half, Rounding::Down), Ok(1));
        assert_eq!(mul(3, half, Rounding::Up), Ok(2));
        assert_eq!(mul(3, half, Rounding::Nearest), Ok(2));
        assert_eq!(mul(-3, half, Rounding::Down), Ok(-2));
        assert_eq!(mul(-3, half, Rounding::Up), Ok(-1));
        assert_eq!(mul(-3, half, Rounding::Nearest), Ok(-2));
        assert_eq!(mul(1, WAD / 3, Rounding::Nearest), Ok(0));
        assert_eq!(mul(2 * WAD, 3 * WAD, Rounding::Down), Ok(6 * WAD));
    }

    #[test]
    fn div_rounds_and_rejects_zero() {
        assert_eq!(
            div(WAD, 3 * WAD, Rounding::Down),
            Ok(333_333_333_333_333_333)
        );
        assert_eq!(div(WAD, 3 * WAD, Rounding::Up), Ok(333_333_333_333_333_334));
        assert_eq!(
            div(2 * WAD, 3 * WAD, Rounding::Nearest),
            Ok(666_666_666_666_666_667)
        );
        assert_eq!(
            div(-WAD, 3 * WAD, Rounding::Down),
            Ok(-333_333_333_333_333_334)
        );
        assert_eq!(
            div(-WAD, -3 * WAD, Rounding::Up),
            Ok(333_333_333_333_333_334)
        );
        assert_eq!(div(WAD, 0, Rounding::Down), Err(MathError::DivisionByZero));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(
            mul(i128::MAX, 2 * WAD, Rounding::Down),
            Err(MathError::Overflow)
        );
        assert_eq!(div(i128::MAX, 1, Rounding::Down), Err(MathError::Overflow));
        assert_eq!(add(i128::MAX, 1), Err(MathError::Overflow));
        assert_eq!(sub(i128::MIN, 1), Err(MathError::Overflow));
        assert_eq!(neg(i128::MIN), Err(MathError::Overflow));
        assert_eq!(from_int(i128::MAX / 1000), Err(MathError::Overflow));
        // i128::MIN itself is representable.
        assert_eq!(mul_div(i128::MIN, 1, 1, Rounding::Down), Ok(i128::MIN));
        assert_eq!(
            mul_div(i128::MIN, -1, 1, Rounding::Down),
            Err(MathError::Overflow)
        );
        // Up rounding at the top of the range overflows.
        assert_eq!(
            mul_div(i128::MAX, 3, 2, Rounding::Down),
            Err(MathError::Overflow)
        );
    }

    #[test]
    fn wide_products_divide_back() {
        let big = 10i128.pow(30);
        assert_eq!(mul_div(big, big, big, Rounding::Down), Ok(big));
        assert_eq!(mul(big, big / WAD, Rounding::Down), Ok(10i128.pow(24)));
        assert_eq!(mul(big, big, Rounding::Down), Err(MathError::Overflow));
        assert_eq!(mul_div(-big, big, -big, Rounding::Nearest), Ok(big));
    }

    #[test]
    fn to_int_rounds() {
        assert_eq!(to_int(WAD + 1, Rounding::Down), 1);
        assert_eq!(to_int(WAD + 1, Rounding::Up), 2);
        assert_eq!(to_int(-WAD - 1, Rounding::Down), -2);
        assert_eq!(to_int(-WAD - 1, Rounding::Up), -1);
        assert_eq!(to_int(WAD + WAD / 2, Rounding::Nearest), 2);
        assert_eq!(to_int(-WAD - WAD / 2, Rounding::Nearest), -2);
        assert_eq!(to_int(3 * WAD, Rounding::Up), 3);
    }

    #[test]
    fn mul_fast_is_mul_bit_for_bit() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..20_000 {
            // Magnitudes from 1 wei to ~2^126, both signs.
            let a = (i128::from(next()) << (next() % 63)) >> (next() % 64);
            let b = (i128::from(next()) << (next() % 63)) >> (next() % 64);
            let (a, b) = if i % 3 == 0 {
                (-a, b)
            } else if i % 3 == 1 {
                (a, -b)
            } else {
                (a, b)
            };
            for r in [Rounding::Down, Rounding::Up, Rounding::Nearest] {
                assert_eq!(mul_fast(a, b, r), mul(a, b, r), "{a} {b} {r:?}");
            }
        }
        for (a, b) in [
            (i128::MAX, 1),
            (i128::MAX, WAD),
            (i128::MIN, WAD),
            (i128::MAX, 2 * WAD),
            (0, i128::MIN),
        ] {
            for r in [Rounding::Down, Rounding::Up, Rounding::Nearest] {
                assert_eq!(mul_fast(a, b, r), mul(a, b, r), "{a} {b} {r:?}");
            }
        }
        for n in [
            0u128,
            1,
            WAD as u128 - 1,
            WAD as u128,
            u128::MAX,
            u128::MAX / 3,
        ] {
            assert_eq!(div_wad_u128(n), (n / WAD as u128, n % WAD as u128));
        }
    }

    #[test]
    fn div_u128_u64_is_the_native_division() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..50_000u32 {
            let n = (u128::from(next()) << 64 | u128::from(next())) >> (i % 128);
            let d = (next() >> (i % 64)).max(1);
            assert_eq!(
                div_u128_u64(n, d),
                (n / u128::from(d), (n % u128::from(d)) as u64),
                "{n} {d}"
            );
        }
        for (n, d) in [
            (u128::MAX, 1u64),
            (u128::MAX, u64::MAX),
            (0, 7),
            (1 << 64, 1 << 63),
            (u128::MAX, 3),
        ] {
            assert_eq!(
                div_u128_u64(n, d),
                (n / u128::from(d), (n % u128::from(d)) as u64)
            );
        }
    }
}
