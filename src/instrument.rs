//! Instrument terms, instrument ids, packed positions and the position arithmetic the
//! `PositionRegistry` applies (fills, fractional moves, expiry settlement).
//!
//! # Instruments
//!
//! Three kinds, all cash-settled in the quote asset: European [`Kind::Call`],
//! European [`Kind::Put`] and dated linear [`Kind::Future`]. One unit of size
//! (`1e18` in WAD) is one unit of the underlying.
//!
//! # The instrument id is the packed terms
//!
//! An instrument id is one 256-bit word, read as a big-endian integer, whose bits are:
//!
//! | bits      | bytes of the big-endian word | field                     |
//! |-----------|------------------------------|---------------------------|
//! | 0..128    | 16..32                       | `strike` (`u128`, WAD; 0 for futures) |
//! | 128..192  | 8..16                        | `expiry` (`u64`, unix seconds) |
//! | 192..224  | 4..8                         | `underlying` (`u32`)      |
//! | 224..232  | 3                            | `kind` (`u8`: 0 call, 1 put, 2 future) |
//! | 232..256  | 0..3                         | zero                      |
//!
//! In Solidity: `id = uint256(kind) << 224 | uint256(underlying) << 192 |
//! uint256(expiry) << 128 | strike`. Markets and wallets compute ids off chain without
//! hashing, the same terms always give the same id, and the margin check reads an
//! instrument's terms from its id without any storage read.
//!
//! # Positions
//!
//! A position is `(size, entry_notional)`, both signed WAD `i128`, packed in one word:
//! `size` in bits 128..256 and `entry_notional` in bits 0..128 (two's complement each).
//! `entry_notional` is only used by futures (it is zero for options): the position's
//! mark-to-market at price `P` is `size * P - entry_notional`.
//!
//! A position with a zero entry notional (every option position) whose terms and
//! size fit also has a one-word *compact* form holding the terms and the size
//! together ([`pack_compact`], [`unpack_compact`]; layout on [`pack_compact`]): the
//! registry stores it in one storage slot instead of two (id and position word).
//!
//! # Rounding
//!
//! - [`settlement_value`] rounds the value credited to the account toward negative
//!   infinity: a long's credit rounds down and a short's debit rounds up in magnitude.
//! - [`trade_notional`] (the notional `size * price` of a fill) rounds toward negative
//!   infinity; the buyer adds it and the seller subtracts the same amount, so the entry
//!   notionals of a fill sum to zero exactly.
//! - [`apply_fill`] defines the realised amount as `R = E' - E - n` (new entry minus old
//!   entry minus the fill's notional). This keeps every account's value
//!   `size * P - entry + cash` exactly what a fill at `price` makes it, so for every
//!   instrument `sum(entry notionals) - sum(realised)` never changes: rounding only
//!   moves value between an account's position and its cash, never between accounts.
//! - [`split_fraction`] rounds the moved size toward zero (never more than the
//!   position) and the moved entry toward negative infinity; the caller subtracts from
//!   one account exactly what it adds to the other.

use crate::fixed::{self, MathError, Rounding, WAD};

/// Longest time to expiry a listing may have: ten years of 365.25 days, in seconds.
pub const MAX_TENOR: u64 = 3_653 * 86_400;
/// Smallest option strike: `1e-6` in WAD.
pub const MIN_STRIKE: u128 = 1_000_000_000_000;
/// Largest option strike: `1e12` in WAD.
pub const MAX_STRIKE: u128 = 1_000_000_000_000_000_000_000_000_000_000;

/// Kind of an instrument. The discriminant is the byte stored in the id.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// European cash-settled call: pays `max(0, S - K)` per unit at expiry.
    Call = 0,
    /// European cash-settled put: pays `max(0, K - S)` per unit at expiry.
    Put = 1,
    /// Dated linear future, cash-settled at expiry: `size * S - entry_notional`.
    Future = 2,
}

impl Kind {
    /// The kind whose discriminant is `byte`, if any.
    #[must_use]
    pub const fn from_u8(byte: u8) -> Option<Kind> {
        match byte {
            0 => Some(Kind::Call),
            1 => Some(Kind::Put),
            2 => Some(Kind::Future),
            _ => None,
        }
    }

    /// Whether the kind is an option (call or put).
    #[must_use]
    pub const fn is_option(self) -> bool {
        !matches!(self, Kind::Future)
    }
}

/// The terms of an instrument. Packed, they are its id ([`pack`], [`unpack`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// Call, put or future.
    pub kind: Kind,
    /// Underlying id (the engine maps it to an oracle).
    pub underlying: u32,
    /// Expiry, unix seconds. The instrument is expired from this second on.
    pub expiry: u64,
    /// Strike in WAD; zero for futures.
    pub strike: u128,
}

/// Why terms cannot be an id or cannot be listed.
///
/// [`InstrumentError::code`] and [`InstrumentError::value`] give the reason code and
/// offending value the registry reports in `InvalidTerms(reason, value)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstrumentError {
    /// The kind byte is not 0, 1 or 2 (code 1; value: the byte).
    UnknownKind(u8),
    /// Bits 232..256 of an id are not zero (code 2; value: 0).
    NonZeroHighBits,
    /// The expiry is not after `now` (code 3; value: the expiry).
    ExpiryNotInFuture {
        /// Requested expiry.
        expiry: u64,
        /// Current time.
        now: u64,
    },
    /// The expiry is more than [`MAX_TENOR`] after now (code 4; value: the expiry).
    ExpiryTooFar {
        /// Requested expiry.
        expiry: u64,
        /// Latest expiry allowed now.
        max: u64,
    },
    /// An option strike below [`MIN_STRIKE`] (code 5; value: the strike).
    StrikeTooSmall(u128),
    /// An option strike above [`MAX_STRIKE`] (code 6; value: the strike).
    StrikeTooLarge(u128),
    /// A future with a non-zero strike (code 7; value: the strike).
    FutureWithStrike(u128),
}

impl InstrumentError {
    /// Reason code `1..=7`, documented on each variant.
    #[must_use]
    pub const fn code(&self) -> u8 {
        match self {
            InstrumentError::UnknownKind(_) => 1,
            InstrumentError::NonZeroHighBits => 2,
            InstrumentError::ExpiryNotInFuture { .. } => 3,
            InstrumentError::ExpiryTooFar { .. } => 4,
            InstrumentError::StrikeTooSmall(_) => 5,
            InstrumentError::StrikeTooLarge(_) => 6,
            InstrumentError::FutureWithStrike(_) => 7,
        }
    }

    /// The offending value, documented on each variant.
    #[must_use]
    pub const fn value(&self) -> u128 {
        match *self {
            InstrumentError::UnknownKind(kind) => kind as u128,
            InstrumentError::NonZeroHighBits => 0,
            InstrumentError::ExpiryNotInFuture { expiry, .. }
            | InstrumentError::ExpiryTooFar { expiry, .. } => expiry as u128,
            InstrumentError::StrikeTooSmall(strike)
            | InstrumentError::StrikeTooLarge(strike)
            | InstrumentError::FutureWithStrike(strike) => strike,
        }
    }
}

/// The id of `terms`: the terms packed in one big-endian word (layout in the module
/// doc). Total: every `Terms` has an id; [`validate_listing`] decides listability.
#[must_use]
pub fn pack(terms: &Terms) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[3] = terms.kind as u8;
    word[4..8].copy_from_slice(&terms.underlying.to_be_bytes());
    word[8..16].copy_from_slice(&terms.expiry.to_be_bytes());
    word[16..32].copy_from_slice(&terms.strike.to_be_bytes());
    word
}

/// The terms packed in the id `word`.
///
/// # Errors
/// [`InstrumentError::NonZeroHighBits`] when bits 232..256 are set;
/// [`InstrumentError::UnknownKind`] when the kind byte is not a [`Kind`].
pub fn unpack(word: [u8; 32]) -> Result<Terms, InstrumentError> {
    if word[0] | word[1] | word[2] != 0 {
        return Err(InstrumentError::NonZeroHighBits);
    }
    let kind = Kind::from_u8(word[3]).ok_or(InstrumentError::UnknownKind(word[3]))?;
    let mut underlying = [0u8; 4];
    underlying.copy_from_slice(&word[4..8]);
    let mut expiry = [0u8; 8];
    expiry.copy_from_slice(&word[8..16]);
    let mut strike = [0u8; 16];
    strike.copy_from_slice(&word[16..32]);
    Ok(Terms {
        kind,
        underlying: u32::from_be_bytes(underlying),
        expiry: u64::from_be_bytes(expiry),
        strike: u128::from_be_bytes(strike),
    })
}

/// Whether `terms` may be listed at time `now`: expiry in `(now, now + MAX_TENOR]`;
/// an option's strike in `[MIN_STRIKE, MAX_STRIKE]`; a future's strike zero.
///
/// # Errors
/// [`InstrumentError::ExpiryNotInFuture`], [`InstrumentError::ExpiryTooFar`],
/// [`InstrumentError::StrikeTooSmall`], [`InstrumentError::StrikeTooLarge`],
/// [`InstrumentError::FutureWithStrike`].
pub fn validate_listing(terms: &Terms, now: u64) -> Result<(), InstrumentError> {
    let expiry = terms.expiry;
    if expiry <= now {
        return Err(InstrumentError::ExpiryNotInFuture { expiry, now });
    }
    let max = now.saturating_add(MAX_TENOR);
    if expiry > max {
        return Err(InstrumentError::ExpiryTooFar { expiry, max });
    }
    let strike = terms.strike;
    if terms.kind.is_option() {
        if strike < MIN_STRIKE {
            return Err(InstrumentError::StrikeTooSmall(strike));
        }
        if strike > MAX_STRIKE {
            return Err(InstrumentError::StrikeTooLarge(strike));
        }
    } else if strike != 0 {
        return Err(InstrumentError::FutureWithStrike(strike));
    }
    Ok(())
}

/// Whether the instrument is expired at `now` (`now >= expiry`): it can no longer be
/// traded and its positions can be closed at a settlement price.
///
/// The registry calls this with the block timestamp; tests call it with any `now`
/// (motsu cannot move block time, so the expired paths are tested here).
#[must_use]
pub const fn is_expired(terms: &Terms, now: u64) -> bool {
    now >= terms.expiry
}

/// `a * b` in WAD rounded toward zero.
fn mul_toward_zero(a: i128, b: i128) -> Result<i128, MathError> {
    let negative = (a < 0) != (b < 0);
    fixed::mul(
        a,
        b,
        if negative {
            Rounding::Up
        } else {
            Rounding::Down
        },
    )
}

/// Value at expiry of a position of `size` (WAD units of underlying) with entry
/// notional `entry_notional`, at `settlement_price` (WAD):
///
/// - call: `size * max(0, S - K)`; put: `size * max(0, K - S)` (entry ignored);
/// - future: `size * S - entry_notional`.
///
/// Rounded toward negative infinity (a long's credit rounds down, a short's debit
/// rounds up in magnitude).
///
/// # Errors
/// [`MathError::Overflow`] when a result does not fit `i128`.
pub fn settlement_value(
    terms: &Terms,
    size: i128,
    entry_notional: i128,
    settlement_price: i128,
) -> Result<i128, MathError> {
    // A strike above i128::MAX is not listable; treat it as an overflow here.
    let strike = i128::try_from(terms.strike).map_err(|_| MathError::Overflow)?;
    match terms.kind {
        Kind::Call => {
            let intrinsic = fixed::sub(settlement_price, strike)?.max(0);
            fixed::mul(size, intrinsic, Rounding::Down)
        }
        Kind::Put => {
            let intrinsic = fixed::sub(strike, settlement_price)?.max(0);
            fixed::mul(size, intrinsic, Rounding::Down)
        }
        Kind::Future => fixed::sub(
            fixed::mul(size, settlement_price, Rounding::Down)?,
            entry_notional,
        ),
    }
}

/// A position: signed size and (futures only) signed entry notional, both WAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Signed size in units of underlying (WAD); positive is long.
    pub size: i128,
    /// Sum of `size_delta * price` over the fills that built the position (futures);
    /// zero for options.
    pub entry_notional: i128,
}

impl Position {
    /// Whether the position holds nothing (size and entry notional both zero).
    ///
    /// A futures position can have size zero and a non-zero entry notional after a
    /// fractional move nets it out (see [`split_fraction`]); it is then a pending
    /// realised amount of `-entry_notional` and stays listed until a fill or the
    /// expiry close realises it.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.size == 0 && self.entry_notional == 0
    }

    /// The long part of the size, `max(size, 0)`, as counted in open interest.
    #[must_use]
    pub const fn long(&self) -> u128 {
        if self.size > 0 {
            self.size as u128
        } else {
            0
        }
    }
}

/// The position packed in one word: `size` in bytes 0..16, `entry_notional` in bytes
/// 16..32, each big-endian two's complement.
#[must_use]
pub fn pack_position(position: &Position) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[..16].copy_from_slice(&position.size.to_be_bytes());
    word[16..].copy_from_slice(&position.entry_notional.to_be_bytes());
    word
}

/// The position packed in `word` (inverse of [`pack_position`]; every word is valid).
#[must_use]
pub fn unpack_position(word: [u8; 32]) -> Position {
    let mut size = [0u8; 16];
    size.copy_from_slice(&word[..16]);
    let mut entry = [0u8; 16];
    entry.copy_from_slice(&word[16..]);
    Position {
        size: i128::from_be_bytes(size),
        entry_notional: i128::from_be_bytes(entry),
    }
}

/// Tag bit of a compact position word: the top bit of byte 0. An instrument id never
/// has it (bits 232..256 of an id are zero), so a word that may hold either is
/// told apart by this bit alone.
pub const COMPACT_TAG: u8 = 0x80;
/// Largest strike exponent of the compact form (5 bits).
pub const COMPACT_MAX_EXPONENT: u8 = 31;
/// Smallest size the compact form holds: `-2^111` (a signed 112-bit field).
pub const COMPACT_MIN_SIZE: i128 = -(1 << 111);
/// Largest size the compact form holds: `2^111 - 1`.
pub const COMPACT_MAX_SIZE: i128 = (1 << 111) - 1;
/// The low 112 bits (the size field of the compact form).
const SIZE_MASK: u128 = (1 << 112) - 1;
/// Largest expiry the compact form holds: `2^40 - 1` seconds (year 36812).
pub const COMPACT_MAX_EXPIRY: u64 = (1 << 40) - 1;

/// `strike` as `mantissa * 10^exponent` with the mantissa in 64 bits: trailing
/// decimal zeros move into the exponent (at most [`COMPACT_MAX_EXPONENT`]). `None`
/// when the mantissa left does not fit `u64` (more than about 19 significant digits).
#[must_use]
pub fn strike_to_decimal(strike: u128) -> Option<(u64, u8)> {
    let mut mantissa = strike;
    let mut exponent = 0u8;
    while mantissa != 0 && exponent < COMPACT_MAX_EXPONENT {
        let tenth = mantissa / 10;
        if tenth * 10 != mantissa {
            break;
        }
        mantissa = tenth;
        exponent += 1;
    }
    u64::try_from(mantissa).ok().map(|m| (m, exponent))
}

/// `mantissa * 10^exponent`, `None` when it does not fit `u128` (inverse of
/// [`strike_to_decimal`]).
#[must_use]
pub fn strike_from_decimal(mantissa: u64, exponent: u8) -> Option<u128> {
    if exponent > COMPACT_MAX_EXPONENT {
        return None;
    }
    // 10^exponent by squaring: at most 10^31 (and a last square of 10^32), below 2^108.
    let (mut power, mut base, mut e) = (1u128, 10u128, exponent);
    while e != 0 {
        if e & 1 == 1 {
            power *= base;
        }
        base *= base;
        e >>= 1;
    }
    // mantissa * power in two 64-bit halves of `power`, each product below 2^128.
    let m = u128::from(mantissa);
    let low = m * (power & u128::from(u64::MAX));
    let high = m * (power >> 64);
    if high >> 64 != 0 {
        return None;
    }
    (high << 64).checked_add(low)
}

/// The instrument and position packed in ONE word, when they fit: the compact
/// storage form of a position (the registry uses it to read one storage slot per
/// position instead of two). The word, read as a big-endian integer:
///
/// | bits     | bytes  | field                                                  |
/// |----------|--------|--------------------------------------------------------|
/// | 255      | 0      | tag, 1 ([`COMPACT_TAG`])                               |
/// | 253..255 | 0      | `kind` (2 bits: 0 call, 1 put, 2 future)               |
/// | 248..253 | 0      | strike exponent `e` (5 bits, `0..=31`)                 |
/// | 216..248 | 1..5   | `underlying` (`u32`)                                   |
/// | 176..216 | 5..10  | `expiry` (40 bits, unix seconds)                       |
/// | 112..176 | 10..18 | strike mantissa `m` (`u64`); `strike = m * 10^e`       |
/// | 0..112   | 18..32 | `size` (signed 112 bits, two's complement, WAD)        |
///
/// The entry notional is not stored: it is zero. Fits when
///
/// - `entry_notional == 0` (every option position; a futures position only in the
///   rare case that its entry rounds to zero),
/// - `expiry <= 2^40 - 1` ([`COMPACT_MAX_EXPIRY`]),
/// - the strike has a mantissa of at most 64 bits once its trailing decimal zeros
///   are moved into the exponent ([`strike_to_decimal`]): every listable strike
///   (`1e-6` to `1e12` units) with at most 19 significant digits,
/// - `size` is in `[-2^111, 2^111 - 1]` (about `2.6e15` units of underlying).
///
/// `None` otherwise: the caller then stores the id and [`pack_position`]'s word.
#[must_use]
pub fn pack_compact(terms: &Terms, position: &Position) -> Option<[u8; 32]> {
    if position.entry_notional != 0
        || terms.expiry > COMPACT_MAX_EXPIRY
        || position.size < COMPACT_MIN_SIZE
        || position.size > COMPACT_MAX_SIZE
    {
        return None;
    }
    let (mantissa, exponent) = strike_to_decimal(terms.strike)?;
    // The two big-endian halves: bits 128..256 and 0..128.
    let head = u128::from(COMPACT_TAG | ((terms.kind as u8) << 5) | exponent);
    let high = head << 120
        | u128::from(terms.underlying) << 88
        | u128::from(terms.expiry) << 48
        | u128::from(mantissa >> 16);
    // The size fits 112 bits: its two high bytes are sign extension, dropped here.
    let low = u128::from(mantissa & 0xffff) << 112 | (position.size as u128 & SIZE_MASK);
    let mut word = [0u8; 32];
    word[..16].copy_from_slice(&high.to_be_bytes());
    word[16..].copy_from_slice(&low.to_be_bytes());
    Some(word)
}

/// Bytes of a compact word that name the instrument: the first
/// [`COMPACT_PREFIX_BYTES`] (bits 112..256: tag, kind, strike exponent, underlying,
/// expiry, strike mantissa),
/// the same for every size. Distinct terms have distinct prefixes
/// ([`strike_to_decimal`] is canonical: every trailing zero moves into the
/// exponent), so a registry finds a position in `terms` by this prefix alone. `None`
/// when the terms do not fit the compact form (a position in them is never compact).
#[must_use]
pub fn compact_prefix(terms: &Terms) -> Option<[u8; COMPACT_PREFIX_BYTES]> {
    let word = pack_compact(terms, &Position::default())?;
    let mut prefix = [0u8; COMPACT_PREFIX_BYTES];
    prefix.copy_from_slice(&word[..COMPACT_PREFIX_BYTES]);
    Some(prefix)
}

/// Length of [`compact_prefix`]: the word less its 112-bit size.
pub const COMPACT_PREFIX_BYTES: usize = 18;

/// Whether `word` is a compact position word (its tag bit is set).
#[must_use]
pub const fn is_compact(word: &[u8; 32]) -> bool {
    word[0] & COMPACT_TAG != 0
}

/// The terms and position packed in the compact word `word` (inverse of
/// [`pack_compact`]). `None` when the tag bit is clear, the kind is 3, or the strike
/// `m * 10^e` does not fit `u128`: words [`pack_compact`] never writes.
#[must_use]
pub fn unpack_compact(word: [u8; 32]) -> Option<(Terms, Position)> {
    if !is_compact(&word) {
        return None;
    }
    let mut half = [0u8; 16];
    half.copy_from_slice(&word[..16]);
    let high = u128::from_be_bytes(half);
    half.copy_from_slice(&word[16..]);
    let low = u128::from_be_bytes(half);
    let kind = Kind::from_u8((word[0] >> 5) & 0b11)?;
    let exponent = word[0] & 0b1_1111;
    // Truncations below keep exactly the field's bits.
    let underlying = (high >> 88) as u32;
    let expiry = (high >> 48) as u64 & COMPACT_MAX_EXPIRY;
    let mantissa = ((high as u64) << 16) | (low >> 112) as u64;
    let strike = strike_from_decimal(mantissa, exponent)?;
    // Sign-extend the 112-bit size.
    let size = ((low << 16) as i128) >> 16;
    Some((
        Terms {
            kind,
            underlying,
            expiry,
            strike,
        },
        Position {
            size,
            entry_notional: 0,
        },
    ))
}

/// The notional of a fill of `size` at `price`: `size * price` (WAD), rounded toward
/// negative infinity. The buyer adds `trade_notional(q, p)` and the seller adds its
/// negation, so both use the same amount.
///
/// # Errors
/// [`MathError::Overflow`].
pub fn trade_notional(size: i128, price: i128) -> Result<i128, MathError> {
    fixed::mul(size, price, Rounding::Down)
}

/// The option premium the buyer of `qty` at `price` pays the seller: `qty * price` (WAD),
/// rounded up (the engine's transfer and [`trade_added`] both use it).
///
/// # Errors
/// [`MathError::Overflow`].
pub fn premium(qty: i128, price: i128) -> Result<i128, MathError> {
    fixed::mul(qty, price, Rounding::Up)
}

/// What one side of a trade of `qty > 0` at `price` adds to its account, `buyer` or the
/// seller: `(size, entry notional, cash)`, all signed WAD. `realized` is what the
/// registry's [`apply_fill`] returned for that side and `fee` the net fee the side paid
/// (for the fee account itself, minus the other side's fee: it receives it). The buyer
/// pays the option premium `qty * price`
/// (rounded up) to the seller; futures add the signed [`trade_notional`] to the entry,
/// and by [`apply_fill`]'s `E' - R = E + n` the entry grows by `R + n` while `R` is
/// credited to cash. The engine sends this to the reader's `checkBefore` to evaluate the
/// account as it stood before the trade.
///
/// # Errors
/// [`MathError::Overflow`].
pub fn trade_added(
    kind: Kind,
    buyer: bool,
    qty: i128,
    price: i128,
    realized: i128,
    fee: i128,
) -> Result<(i128, i128, i128), MathError> {
    let sign = if buyer { 1 } else { -1 };
    let (premium, notional) = if kind.is_option() {
        (premium(qty, price)?, 0)
    } else {
        (0, trade_notional(qty, price)?)
    };
    let entry = fixed::add(realized, notional * sign)?;
    let cash = fixed::sub(fixed::sub(realized, premium * sign)?, fee)?;
    Ok((qty * sign, entry, cash))
}

/// Applies a fill of `delta` (signed, WAD) whose notional is `notional` (the buyer's
/// [`trade_notional`], negated for the seller) at `price` to `position`. Returns the
/// new position and the realised amount to credit to the account's cash.
///
/// Options: the size changes, the entry stays zero, nothing is realised (premiums are
/// the engine's business). Futures, with `(s, E)` the position and `n` the notional:
///
/// - opening or increasing (`s == 0` or same sign as `delta`): `E' = E + n` when
///   `s != 0`; when `s == 0`, `E' = n` (a left-over entry of a zero-size position
///   is realised);
/// - reducing without crossing zero: `E' = E * (s + delta) / s` rounded toward
///   negative infinity (the part of the entry that belongs to what is left; zero when
///   the position closes);
/// - crossing zero: `E' = (s + delta) * price` rounded toward negative infinity
///   (the new position opens at the fill price);
///
/// and in every case the realised amount is `R = E' - E - n`. For a partial close of
/// `c` units of a long this is `c * price - E * c / s`, the closed part's PnL. Because
/// `E' - R = E + n` exactly, value is never created or lost by rounding.
///
/// # Errors
/// [`MathError::Overflow`] when the size or a notional leaves `i128`.
pub fn apply_fill(
    kind: Kind,
    position: Position,
    delta: i128,
    notional: i128,
    price: i128,
) -> Result<(Position, i128), MathError> {
    let size = fixed::add(position.size, delta)?;
    if kind.is_option() {
        return Ok((
            Position {
                size,
                entry_notional: position.entry_notional,
            },
            0,
        ));
    }
    let old = position.size;
    let entry = position.entry_notional;
    let new_entry = if old == 0 {
        notional
    } else if (old > 0) == (delta > 0) {
        fixed::add(entry, notional)?
    } else if size == 0 {
        0
    } else if (size > 0) == (old > 0) {
        fixed::mul_div(entry, size, old, Rounding::Down)?
    } else {
        fixed::mul(size, price, Rounding::Down)?
    };
    let realized = fixed::sub(fixed::sub(new_entry, entry)?, notional)?;
    Ok((
        Position {
            size,
            entry_notional: new_entry,
        },
        realized,
    ))
}

/// The part of `position` that a fractional move of `fraction_wad` (in `(0, WAD]`)
/// takes: size `size * f` rounded toward zero (never more than the position; all of
/// it when `f == WAD`), entry notional in the same proportion as the size moved,
/// rounded toward negative infinity (all of it when the whole size moves; `E * f`
/// for a zero-size position).
///
/// The caller subtracts exactly this from the source and adds it to the
/// destination, so per instrument both sums are unchanged. Adding a moved part to an
/// existing position adds sizes and entries: `size * P - entry` is linear, so the
/// destination's value is exactly the sum of the two values.
///
/// # Errors
/// [`MathError::Overflow`].
pub fn split_fraction(position: Position, fraction_wad: i128) -> Result<Position, MathError> {
    let size = position.size;
    let entry = position.entry_notional;
    if fraction_wad >= WAD {
        return Ok(position);
    }
    let moved = mul_toward_zero(size, fraction_wad)?;
    let moved_entry = if size == 0 {
        fixed::mul(entry, fraction_wad, Rounding::Down)?
    } else {
        fixed::mul_div(entry, moved, size, Rounding::Down)?
    };
    Ok(Position {
        size: moved,
        entry_notional: moved_entry,
    })
}

/// `a - b` for positions, field by field.
///
/// # Errors
/// [`MathError::Overflow`].
pub fn sub_position(a: Position, b: Position) -> Result<Position, MathError> {
    Ok(Position {
        size: fixed::sub(a.size, b.size)?,
        entry_notional: fixed::sub(a.entry_notional, b.entry_notional)?,
    })
}

/// `a + b` for positions, field by field.
///
/// # Errors
/// [`MathError::Overflow`].
pub fn add_position(a: Position, b: Position) -> Result<Position, MathError> {
    Ok(Position {
        size: fixed::add(a.size, b.size)?,
        entry_notional: fixed::add(a.entry_notional, b.entry_notional)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_735_689_600;

    fn call(strike: u128) -> Terms {
        Terms {
            kind: Kind::Call,
            underlying: 7,
            expiry: NOW + 86_400,
            strike,
        }
    }

    fn future() -> Terms {
        Terms {
            kind: Kind::Future,
            underlying: 7,
            expiry: NOW + 86_400,
            strike: 0,
        }
    }

    fn wad(n: i128) -> i128 {
        n * WAD
    }

    #[test]
    fn pack_places_fields_at_documented_bits() {
        let terms = Terms {
            kind: Kind::Put,
            underlying: 0x0102_0304,
            expiry: 0x1112_1314_1516_1718,
            strike: 0x2122_2324_2526_2728_292a_2b2c_2d2e_2f30,
        };
        let word = pack(&terms);
        // Big-endian 256-bit integer: kind << 224 | underlying << 192 | expiry << 128 | strike.
        let mut expected = [0u8; 32];
        expected[3] = 1;
        expected[4..8].copy_from_slice(&[1, 2, 3, 4]);
        expected[8..16].copy_from_slice(&[0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]);
        for (i, b) in expected[16..].iter_mut().enumerate() {
            *b = 0x21 + i as u8;
        }
        assert_eq!(word, expected);
    }

    #[test]
    fn unpack_inverts_pack() {
        for kind in [Kind::Call, Kind::Put, Kind::Future] {
            let terms = Terms {
                kind,
                underlying: u32::MAX,
                expiry: u64::MAX,
                strike: u128::MAX,
            };
            assert_eq!(unpack(pack(&terms)), Ok(terms));
        }
        assert_eq!(unpack(pack(&future())), Ok(future()));
    }

    #[test]
    fn unpack_rejects_unknown_kind() {
        let mut word = pack(&future());
        word[3] = 3;
        assert_eq!(unpack(word), Err(InstrumentError::UnknownKind(3)));
    }

    #[test]
    fn unpack_rejects_high_bits() {
        for i in 0..3 {
            let mut word = pack(&future());
            word[i] = 0x80;
            assert_eq!(unpack(word), Err(InstrumentError::NonZeroHighBits));
        }
    }

    #[test]
    fn kind_from_u8_round_trips() {
        for kind in [Kind::Call, Kind::Put, Kind::Future] {
            assert_eq!(Kind::from_u8(kind as u8), Some(kind));
        }
        assert_eq!(Kind::from_u8(3), None);
        assert!(Kind::Call.is_option() && Kind::Put.is_option() && !Kind::Future.is_option());
    }

    #[test]
    fn validate_listing_accepts_bounds() {
        assert_eq!(validate_listing(&call(MIN_STRIKE), NOW), Ok(()));
        assert_eq!(validate_listing(&call(MAX_STRIKE), NOW), Ok(()));
        let mut t = call(wad(100) as u128);
        t.expiry = NOW + 1;
        assert_eq!(validate_listing(&t, NOW), Ok(()));
        t.expiry = NOW + MAX_TENOR;
        assert_eq!(validate_listing(&t, NOW), Ok(()));
        assert_eq!(validate_listing(&future(), NOW), Ok(()));
    }

    #[test]
    fn validate_listing_rejects_past_or_present_expiry() {
        let mut t = call(wad(100) as u128);
        t.expiry = NOW;
        let err = validate_listing(&t, NOW).unwrap_err();
        assert_eq!(
            err,
            InstrumentError::ExpiryNotInFuture {
                expiry: NOW,
                now: NOW
            }
        );
        assert_eq!((err.code(), err.value()), (3, NOW as u128));
    }

    #[test]
    fn validate_listing_rejects_expiry_beyond_ten_years() {
        let mut t = future();
        t.expiry = NOW + MAX_TENOR + 1;
        let err = validate_listing(&t, NOW).unwrap_err();
        assert_eq!(
            err,
            InstrumentError::ExpiryTooFar {
                expiry: NOW + MAX_TENOR + 1,
                max: NOW + MAX_TENOR
            }
        );
        assert_eq!(err.code(), 4);
        // No overflow near the end of time.
        t.expiry = u64::MAX;
        assert_eq!(validate_listing(&t, u64::MAX - 1), Ok(()));
    }

    #[test]
    fn validate_listing_rejects_absurd_strikes() {
        let err = validate_listing(&call(MIN_STRIKE - 1), NOW).unwrap_err();
        assert_eq!((err.code(), err.value()), (5, MIN_STRIKE - 1));
        let err = validate_listing(&call(0), NOW).unwrap_err();
        assert_eq!(err, InstrumentError::StrikeTooSmall(0));
        let err = validate_listing(&call(MAX_STRIKE + 1), NOW).unwrap_err();
        assert_eq!((err.code(), err.value()), (6, MAX_STRIKE + 1));
        let mut f = future();
        f.strike = 1;
        let err = validate_listing(&f, NOW).unwrap_err();
        assert_eq!((err.code(), err.value()), (7, 1));
    }

    #[test]
    fn is_expired_from_expiry_second_on() {
        let t = call(wad(1) as u128);
        assert!(!is_expired(&t, t.expiry - 1));
        assert!(is_expired(&t, t.expiry));
        assert!(is_expired(&t, t.expiry + 1));
    }

    #[test]
    fn settlement_value_of_calls_and_puts() {
        let k = wad(100) as u128;
        let c = call(k);
        let p = Terms {
            kind: Kind::Put,
            ..c
        };
        assert_eq!(settlement_value(&c, wad(2), 0, wad(130)), Ok(wad(60)));
        assert_eq!(settlement_value(&c, wad(-2), 0, wad(130)), Ok(wad(-60)));
        assert_eq!(settlement_value(&c, wad(2), 0, wad(90)), Ok(0));
        assert_eq!(settlement_value(&p, wad(3), 0, wad(90)), Ok(wad(30)));
        assert_eq!(settlement_value(&p, wad(-3), 0, wad(90)), Ok(wad(-30)));
        assert_eq!(settlement_value(&p, wad(3), 0, wad(130)), Ok(0));
        // At the strike: worthless.
        assert_eq!(settlement_value(&p, wad(3), 0, wad(100)), Ok(0));
    }

    #[test]
    fn settlement_value_rounds_toward_negative_infinity() {
        // 1 wei of size times intrinsic 0.5: 0.5e-18 -> long gets 0, short pays 1 wei.
        let c = call(wad(100) as u128);
        let s = wad(100) + WAD / 2;
        assert_eq!(settlement_value(&c, 1, 0, s), Ok(0));
        assert_eq!(settlement_value(&c, -1, 0, s), Ok(-1));
        let f = future();
        assert_eq!(settlement_value(&f, 1, 0, WAD / 2), Ok(0));
        assert_eq!(settlement_value(&f, -1, 0, WAD / 2), Ok(-1));
    }

    #[test]
    fn settlement_value_of_futures_is_size_times_price_minus_entry() {
        let f = future();
        // Long 2 at 100 (entry 200), settles at 130: +60.
        assert_eq!(
            settlement_value(&f, wad(2), wad(200), wad(130)),
            Ok(wad(60))
        );
        // Short 2 at 100 (entry -200), settles at 130: -60.
        assert_eq!(
            settlement_value(&f, wad(-2), wad(-200), wad(130)),
            Ok(wad(-60))
        );
        // A zero-size residual entry settles at -entry.
        assert_eq!(settlement_value(&f, 0, wad(5), wad(130)), Ok(wad(-5)));
    }

    #[test]
    fn settlement_value_reports_overflow() {
        let f = future();
        assert_eq!(
            settlement_value(&f, i128::MAX, 0, wad(2)),
            Err(MathError::Overflow)
        );
        let p = Terms {
            kind: Kind::Put,
            ..call(wad(100) as u128)
        };
        assert_eq!(
            settlement_value(&p, WAD, 0, i128::MIN),
            Err(MathError::Overflow)
        );
    }

    #[test]
    fn position_pack_round_trips() {
        for (size, entry) in [
            (0, 0),
            (1, -1),
            (-1, 1),
            (i128::MAX, i128::MIN),
            (i128::MIN, i128::MAX),
            (wad(3), wad(-300)),
        ] {
            let p = Position {
                size,
                entry_notional: entry,
            };
            assert_eq!(unpack_position(pack_position(&p)), p);
        }
        let word = pack_position(&Position {
            size: -1,
            entry_notional: 2,
        });
        assert_eq!(&word[..16], &[0xff; 16]);
        assert_eq!(word[31], 2);
    }

    fn compact_terms(kind: Kind, strike: u128) -> Terms {
        Terms {
            kind,
            underlying: 0xdead_beef,
            expiry: NOW + 30 * 86_400,
            strike,
        }
    }

    fn option(size: i128) -> Position {
        Position {
            size,
            entry_notional: 0,
        }
    }

    fn compact_round_trip(terms: Terms, position: Position) {
        let word = pack_compact(&terms, &position).expect("fits");
        assert!(is_compact(&word));
        assert_eq!(unpack_compact(word), Some((terms, position)));
    }

    #[test]
    fn compact_places_fields_at_documented_bytes() {
        let terms = Terms {
            kind: Kind::Put,
            underlying: 0x0102_0304,
            expiry: 0x11_1213_1415,
            // 0x2122_2324_2526_2728 * 10^3
            strike: 0x2122_2324_2526_2728 * 1_000,
        };
        let word = pack_compact(&terms, &option(-2)).unwrap();
        let mut expected = [0u8; 32];
        expected[0] = 0x80 | (1 << 5) | 3;
        expected[1..5].copy_from_slice(&[1, 2, 3, 4]);
        expected[5..10].copy_from_slice(&[0x11, 0x12, 0x13, 0x14, 0x15]);
        expected[10..18].copy_from_slice(&[0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28]);
        expected[18..].copy_from_slice(&[0xff; 14]);
        expected[31] = 0xfe;
        assert_eq!(word, expected);
    }

    #[test]
    fn compact_round_trips_realistic_options() {
        for kind in [Kind::Call, Kind::Put, Kind::Future] {
            for strike in [
                MIN_STRIKE,
                MAX_STRIKE,
                3_000 * WAD as u128,
                // 0.00001234 units: a low-priced underlying.
                12_340_000_000_000,
                // 19 significant digits.
                1_234_567_890_123_456_789,
                u128::from(u64::MAX),
            ] {
                let strike = if kind == Kind::Future { 0 } else { strike };
                for size in [
                    1,
                    -1,
                    wad(5),
                    -wad(3) / 7,
                    COMPACT_MAX_SIZE,
                    COMPACT_MIN_SIZE,
                ] {
                    compact_round_trip(compact_terms(kind, strike), option(size));
                }
            }
        }
        // Zero size (never stored by the registry) still round-trips.
        compact_round_trip(compact_terms(Kind::Call, MIN_STRIKE), option(0));
    }

    #[test]
    fn compact_boundaries_of_each_field() {
        let call = compact_terms(Kind::Call, 100 * WAD as u128);
        // Size: 112 signed bits.
        assert!(pack_compact(&call, &option(COMPACT_MAX_SIZE)).is_some());
        assert!(pack_compact(&call, &option(COMPACT_MAX_SIZE + 1)).is_none());
        assert!(pack_compact(&call, &option(COMPACT_MIN_SIZE)).is_some());
        assert!(pack_compact(&call, &option(COMPACT_MIN_SIZE - 1)).is_none());
        assert!(pack_compact(&call, &option(i128::MAX)).is_none());
        assert!(pack_compact(&call, &option(i128::MIN)).is_none());
        // Entry notional: only zero.
        for entry in [1, -1, i128::MAX] {
            let p = Position {
                size: WAD,
                entry_notional: entry,
            };
            assert!(pack_compact(&call, &p).is_none());
            assert!(pack_compact(&future(), &p).is_none());
        }
        // Expiry: 40 bits.
        let mut t = call;
        t.expiry = COMPACT_MAX_EXPIRY;
        compact_round_trip(t, option(WAD));
        t.expiry = COMPACT_MAX_EXPIRY + 1;
        assert!(pack_compact(&t, &option(WAD)).is_none());
        t.expiry = u64::MAX;
        assert!(pack_compact(&t, &option(WAD)).is_none());
        // Underlying: all 32 bits.
        let mut t = call;
        t.underlying = u32::MAX;
        compact_round_trip(t, option(WAD));
        t.underlying = 0;
        compact_round_trip(t, option(WAD));
    }

    #[test]
    fn compact_strike_boundaries() {
        let fits = |strike: u128| pack_compact(&compact_terms(Kind::Put, strike), &option(WAD));
        // The mantissa is 64 bits: u64::MAX fits, u64::MAX + 1 (no trailing zero) does not.
        compact_round_trip(compact_terms(Kind::Put, u128::from(u64::MAX)), option(WAD));
        assert!(fits(u128::from(u64::MAX) + 1).is_none());
        // 20 significant digits above u64::MAX do not fit, whatever the magnitude.
        assert!(fits(98_765_432_109_876_543_211).is_none());
        assert!(fits(98_765_432_109_876_543_211 * 10_u128.pow(10)).is_none());
        // Trailing zeros are free: u64::MAX * 10^19 fits.
        let big = u128::from(u64::MAX) * 10_u128.pow(19);
        compact_round_trip(compact_terms(Kind::Put, big), option(WAD));
        // The exponent stops at 31: 10^32 is stored as 10 * 10^31; 10^38 as 10^7 * 10^31.
        assert_eq!(strike_to_decimal(10_u128.pow(32)), Some((10, 31)));
        assert_eq!(strike_to_decimal(10_u128.pow(38)), Some((10_000_000, 31)));
        compact_round_trip(compact_terms(Kind::Put, 10_u128.pow(38)), option(WAD));
        assert!(fits(u128::MAX).is_none());
        // Zero (futures).
        assert_eq!(strike_to_decimal(0), Some((0, 0)));
        compact_round_trip(future(), option(-WAD));
        // Every listable strike with at most 19 significant digits fits.
        assert_eq!(strike_to_decimal(MIN_STRIKE), Some((1, 12)));
        assert_eq!(strike_to_decimal(MAX_STRIKE), Some((1, 30)));
        assert_eq!(strike_to_decimal(1_230), Some((123, 1)));
        assert_eq!(strike_from_decimal(123, 1), Some(1_230));
        assert_eq!(strike_from_decimal(u64::MAX, 31), None);
        assert_eq!(strike_from_decimal(0, 31), Some(0));
        assert_eq!(strike_from_decimal(1, 32), None);
    }

    /// Random terms, strikes drawn to share digits (the same mantissa at other
    /// exponents, trailing zeros), kinds, underlyings and expiries near each other and
    /// at the field edges: two terms have the same compact prefix exactly when they are
    /// equal, and every compact word of a position in them starts with it.
    #[test]
    fn compact_prefix_names_the_terms_and_only_them() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let draw = |next: &mut dyn FnMut() -> u64| {
            let kind = Kind::from_u8((next() % 3) as u8).unwrap();
            let mantissa = [1, 15, 150, 1_500, u64::MAX, next()][(next() % 6) as usize];
            let exponent = (next() % 40) as u32;
            let strike = u128::from(mantissa).saturating_mul(10u128.saturating_pow(exponent));
            let expiry =
                [NOW, NOW + 1, COMPACT_MAX_EXPIRY, COMPACT_MAX_EXPIRY + 1][(next() % 4) as usize];
            Terms {
                kind,
                underlying: [0, 1, u32::MAX][(next() % 3) as usize],
                expiry,
                strike,
            }
        };
        let (mut fits, mut equal) = (0u32, 0u32);
        for _ in 0..20_000 {
            // b: a itself, or a with one field from another draw (near misses).
            let a = draw(&mut next);
            let other = draw(&mut next);
            let mut b = a;
            match next() % 5 {
                0 => {}
                1 => b.kind = other.kind,
                2 => b.strike = other.strike,
                3 => b.underlying = other.underlying,
                _ => b.expiry = other.expiry,
            }
            let (pa, pb) = (compact_prefix(&a), compact_prefix(&b));
            if let (Some(pa), Some(pb)) = (pa, pb) {
                fits += 1;
                equal += u32::from(a == b);
                assert_eq!(pa == pb, a == b, "{a:?} {b:?}");
            }
            for (terms, prefix) in [(a, pa), (b, pb)] {
                let size = (next() as i128) << 40 >> (next() % 64);
                let word = pack_compact(&terms, &option(size));
                assert_eq!(
                    word.map(|w| w[..COMPACT_PREFIX_BYTES].to_vec()),
                    prefix.map(|p| p.to_vec()),
                    "{terms:?} size {size}"
                );
            }
        }
        // The draws reach both outcomes.
        assert!(
            fits > 5_000 && equal > 2_000 && fits - equal > 2_000,
            "fits {fits}, equal {equal}"
        );
    }

    #[test]
    fn strike_from_decimal_is_exact_or_none() {
        for e in 0..=COMPACT_MAX_EXPONENT {
            let power = 10_u128.pow(u32::from(e));
            // The largest mantissa whose product fits u128, then one more.
            let edge = u128::MAX / power;
            let mut mantissas = std::vec![0, 1, 7, 999_999_999, u64::MAX - 1, u64::MAX];
            if let Ok(m) = u64::try_from(edge) {
                mantissas.extend([m - 1, m, m.saturating_add(1)]);
            }
            for m in mantissas {
                let expected = u128::from(m).checked_mul(power);
                assert_eq!(strike_from_decimal(m, e), expected, "{m} * 10^{e}");
                if let Some(strike) = expected {
                    let (m2, e2) = strike_to_decimal(strike).unwrap();
                    assert_eq!(strike_from_decimal(m2, e2), Some(strike));
                }
            }
        }
    }

    #[test]
    fn unpack_compact_rejects_words_pack_never_writes() {
        // An instrument id is never compact: its byte 0 is zero.
        for kind in [Kind::Call, Kind::Put, Kind::Future] {
            let id = pack(&Terms {
                kind,
                underlying: u32::MAX,
                expiry: u64::MAX,
                strike: u128::MAX,
            });
            assert!(!is_compact(&id));
            assert_eq!(unpack_compact(id), None);
        }
        let word = pack_compact(&call(wad(100) as u128), &option(WAD)).unwrap();
        // Kind 3.
        let mut bad = word;
        bad[0] |= 0b0110_0000;
        assert_eq!(unpack_compact(bad), None);
        // A strike beyond u128: mantissa u64::MAX, exponent 31.
        let mut bad = word;
        bad[0] |= 0b1_1111;
        bad[10..18].copy_from_slice(&[0xff; 8]);
        assert_eq!(unpack_compact(bad), None);
        // A full-form position word with its top bit set is not for unpack_compact:
        // the registry tells the forms apart by the first slot, which holds an id.
        assert!(is_compact(&pack_position(&option(-1))));
    }

    #[test]
    fn position_long_and_empty() {
        let p = Position {
            size: -5,
            entry_notional: 0,
        };
        assert_eq!(p.long(), 0);
        assert!(!p.is_empty());
        assert_eq!(
            Position {
                size: 5,
                entry_notional: 1
            }
            .long(),
            5
        );
        assert!(Position::default().is_empty());
        assert!(!Position {
            size: 0,
            entry_notional: 1
        }
        .is_empty());
    }

    #[test]
    fn apply_fill_options_change_size_only() {
        let (p, r) = apply_fill(Kind::Call, Position::default(), wad(2), wad(10), wad(5)).unwrap();
        assert_eq!(
            (p, r),
            (
                Position {
                    size: wad(2),
                    entry_notional: 0
                },
                0
            )
        );
        let (p, r) = apply_fill(Kind::Put, p, wad(-2), wad(-10), wad(5)).unwrap();
        assert_eq!((p, r), (Position::default(), 0));
    }

    #[test]
    fn apply_fill_futures_open_and_increase() {
        let n = trade_notional(wad(10), wad(100)).unwrap();
        let (p, r) = apply_fill(Kind::Future, Position::default(), wad(10), n, wad(100)).unwrap();
        assert_eq!((p.size, p.entry_notional, r), (wad(10), wad(1000), 0));
        let n = trade_notional(wad(5), wad(110)).unwrap();
        let (p, r) = apply_fill(Kind::Future, p, wad(5), n, wad(110)).unwrap();
        assert_eq!((p.size, p.entry_notional, r), (wad(15), wad(1550), 0));
    }

    #[test]
    fn apply_fill_futures_partial_close_realises_closed_part() {
        let long = Position {
            size: wad(10),
            entry_notional: wad(1000),
        };
        let n = -trade_notional(wad(4), wad(120)).unwrap();
        let (p, r) = apply_fill(Kind::Future, long, wad(-4), n, wad(120)).unwrap();
        assert_eq!((p.size, p.entry_notional, r), (wad(6), wad(600), wad(80)));
        // Short 10 at 100 buys back 4 at 120: loses 80.
        let short = Position {
            size: wad(-10),
            entry_notional: wad(-1000),
        };
        let n = trade_notional(wad(4), wad(120)).unwrap();
        let (p, r) = apply_fill(Kind::Future, short, wad(4), n, wad(120)).unwrap();
        assert_eq!(
            (p.size, p.entry_notional, r),
            (wad(-6), wad(-600), wad(-80))
        );
    }

    #[test]
    fn apply_fill_futures_full_close_and_flip() {
        let long = Position {
            size: wad(10),
            entry_notional: wad(1000),
        };
        let n = -trade_notional(wad(10), wad(90)).unwrap();
        let (p, r) = apply_fill(Kind::Future, long, wad(-10), n, wad(90)).unwrap();
        assert_eq!((p, r), (Position::default(), wad(-100)));
        let n = -trade_notional(wad(15), wad(120)).unwrap();
        let (p, r) = apply_fill(Kind::Future, long, wad(-15), n, wad(120)).unwrap();
        assert_eq!(
            (p.size, p.entry_notional, r),
            (wad(-5), wad(-600), wad(200))
        );
    }

    #[test]
    fn apply_fill_realises_residual_entry_of_zero_size() {
        let residual = Position {
            size: 0,
            entry_notional: wad(7),
        };
        let n = trade_notional(wad(1), wad(50)).unwrap();
        let (p, r) = apply_fill(Kind::Future, residual, wad(1), n, wad(50)).unwrap();
        assert_eq!((p.size, p.entry_notional, r), (wad(1), wad(50), wad(-7)));
    }

    #[test]
    fn apply_fill_conserves_entry_minus_realised_under_rounding() {
        // Odd sizes and prices so that the proportional entry rounds.
        let mut p = Position::default();
        let mut total_n = 0i128;
        let mut total_r = 0i128;
        let fills = [(7, 3), (-3, 5), (11, 7), (-20, 1), (4, 9), (1, 13)];
        for (d, px) in fills {
            let delta = d * WAD / 3 + 1;
            let price = px * WAD / 7 + 3;
            let n = if delta > 0 {
                trade_notional(delta, price).unwrap()
            } else {
                -trade_notional(-delta, price).unwrap()
            };
            let before = p.entry_notional;
            let (q, r) = apply_fill(Kind::Future, p, delta, n, price).unwrap();
            assert_eq!(q.entry_notional - r, before + n);
            total_n += n;
            total_r += r;
            p = q;
        }
        assert_eq!(p.entry_notional - total_r, total_n);
    }

    #[test]
    fn apply_fill_reports_size_overflow() {
        let p = Position {
            size: i128::MAX,
            entry_notional: 0,
        };
        assert_eq!(
            apply_fill(Kind::Call, p, 1, 0, WAD),
            Err(MathError::Overflow)
        );
    }

    #[test]
    fn split_fraction_moves_all_at_one() {
        let p = Position {
            size: wad(-3) + 1,
            entry_notional: wad(-301) + 7,
        };
        assert_eq!(split_fraction(p, WAD), Ok(p));
    }

    #[test]
    fn split_fraction_rounds_size_toward_zero() {
        let third = WAD / 3;
        let long = Position {
            size: 10,
            entry_notional: 1000,
        };
        let m = split_fraction(long, third).unwrap();
        assert_eq!(m.size, 3);
        assert_eq!(m.entry_notional, 300);
        let short = Position {
            size: -10,
            entry_notional: -1001,
        };
        let m = split_fraction(short, third).unwrap();
        assert_eq!(m.size, -3);
        // -1001 * 3 / 10 = -300.3 -> floor -301.
        assert_eq!(m.entry_notional, -301);
        let rest = sub_position(short, m).unwrap();
        assert_eq!(add_position(rest, m), Ok(short));
    }

    #[test]
    fn split_fraction_of_zero_size_residual_moves_entry_share() {
        let p = Position {
            size: 0,
            entry_notional: wad(10),
        };
        assert_eq!(
            split_fraction(p, WAD / 2),
            Ok(Position {
                size: 0,
                entry_notional: wad(5)
            })
        );
    }
}
