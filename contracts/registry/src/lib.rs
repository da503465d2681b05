//! # PositionRegistry
//!
//! The ledger of listed instruments and of every account's positions. The RiskEngine
//! is the only contract that changes positions; the registry never calls the engine
//! (or any other contract), so the call graph stays a tree.
//!
//! - **Instruments** (European cash-settled calls and puts, dated linear futures) are
//!   listed by the engine or the owner. An instrument's id *is* its packed terms
//!   ([`stylus_margin::instrument`]): `id = kind << 224 | underlying << 192 |
//!   expiry << 128 | strike`. The same terms always give the same id, wallets compute
//!   it off chain, and the margin check reads terms from ids without storage reads.
//!   One unit of size (`1e18`) is one unit of the underlying.
//! - **Positions**: per account a bounded list (owner-set bound, default 64, hard
//!   maximum 128) of `(id, size, entry notional)`, sizes and notionals 18-decimal
//!   fixed point. An option position takes one storage slot (terms and size packed
//!   together, when they fit), any other position two (the id, and size and entry
//!   packed in one word). A lookup by id scans the account's positions (no index
//!   slot: the margin check after a trade reads them anyway); removal swaps the last
//!   position into the freed place.
//! - **Open interest**: per instrument the sum of long sizes, per underlying the sum
//!   over its instruments; owner-set caps (0 = none) refuse trades that would raise
//!   open interest above them.
//! - **Invariant**: for every instrument, the sizes of all accounts sum to zero, and
//!   the entry notionals minus everything realised sum to zero.
//!
//! Time: the registry reads the block timestamp and hands it to the pure core
//! ([`instrument::is_expired`], [`instrument::validate_listing`]), so every time
//! comparison is testable off chain with any `now`.
//!
//! Roles: an `owner` set by the constructor (two-step transfer), and the `engine`
//! address, set once by the owner.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![allow(clippy::module_name_repetitions)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{Address, I256, U128, U256, U8};
use margin_common::{
    encode::emit, CallerNotEngineOrKeeper, Owned, Unauthorized, Wired, ZeroAddress,
};
use stylus_margin::{
    fixed::WAD,
    instrument::{self, InstrumentError, Kind, Position, Terms},
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageArray, StorageBool, StorageMap, StorageU128, StorageU256, StorageU8},
};

pub use sol::*;

// Each event's words (indexed fields; data fields) for the shared encoder
// (`margin_common::encode`), tested against alloy's in `event_tests`.
margin_common::event_words! {
    InstrumentListed { id, underlying; kind, strike, expiry }
    PositionChanged { account, id; size, entryNotional }
    TradeApplied { buyer, seller, id; size, price, buyerRealized, sellerRealized }
    FractionMoved { from, to; fractionWad }
    PositionSettled { account, id; size, entryNotional, settlementPrice, value }
    FrozenSet { account; frozen }
    UnderlyingAdded { underlying }
    MaxPositionsSet { ; maxPositions }
    OpenInterestCapSet { id; cap }
    UnderlyingOpenInterestCapSet { underlying; cap }
}

/// The registry's ABI types.
pub mod types {
    use alloy_sol_types::sol;

    sol! {
        /// An account's positions (`getPositions`), in storage order: their ids (the packed
        /// terms), signed sizes and entry notionals (WAD), index for index.
        #[derive(Debug, PartialEq, Eq)]
        struct Positions {
            uint256[] ids;
            int256[] sizes;
            int256[] entryNotionals;
        }
    }

    sol! {
        /// An instrument's terms (`terms`): its kind (0 call, 1 put, 2 future), underlying
        /// id, strike (WAD; 0 for a future) and expiry (unix seconds).
        #[derive(Debug, PartialEq, Eq)]
        struct InstrumentTerms {
            uint8 kind;
            uint32 underlying;
            uint256 strike;
            uint64 expiry;
        }
    }

    margin_common::abi_struct!(Positions, "(uint256[],int256[],int256[])");
    margin_common::abi_struct!(InstrumentTerms, "(uint8,uint32,uint256,uint64)");
}

/// Events and errors of the registry.
mod sol {
    use alloy_sol_types::sol;

    sol! {
        /// An instrument was listed.
        ///
        /// * `id` - Instrument id (the packed terms).
        /// * `underlying` - Underlying id.
        /// * `kind` - 0 call, 1 put, 2 future.
        /// * `strike` - Strike (WAD); 0 for futures.
        /// * `expiry` - Expiry, unix seconds.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event InstrumentListed(
            uint256 indexed id,
            uint32 indexed underlying,
            uint8 kind,
            uint256 strike,
            uint64 expiry
        );

        /// A position changed (trade, fractional move or expiry close).
        ///
        /// * `account` - Account whose position changed.
        /// * `id` - Instrument id.
        /// * `size` - New size (WAD; 0 when the position was removed).
        /// * `entryNotional` - New entry notional (WAD).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event PositionChanged(
            uint256 indexed account,
            uint256 indexed id,
            int256 size,
            int256 entryNotional
        );

        /// A trade was applied between two accounts.
        ///
        /// * `buyer` - Account that received `size`.
        /// * `seller` - Account that gave `size`.
        /// * `id` - Instrument id.
        /// * `size` - Size traded (WAD, positive).
        /// * `price` - Price per unit (WAD).
        /// * `buyerRealized` - Amount realised by the buyer (futures).
        /// * `sellerRealized` - Amount realised by the seller (futures).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event TradeApplied(
            uint256 indexed buyer,
            uint256 indexed seller,
            uint256 indexed id,
            int256 size,
            int256 price,
            int256 buyerRealized,
            int256 sellerRealized
        );

        /// A fraction of all positions of one account moved to another (liquidation).
        ///
        /// * `from` - Account the positions left.
        /// * `to` - Account that received them.
        /// * `fractionWad` - Fraction moved (WAD).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event FractionMoved(uint256 indexed from, uint256 indexed to, uint256 fractionWad);

        /// An expired position was closed at a settlement price.
        ///
        /// * `account` - Account whose position was closed.
        /// * `id` - Instrument id.
        /// * `size` - Size closed (WAD).
        /// * `entryNotional` - Entry notional closed (WAD).
        /// * `settlementPrice` - Settlement price (WAD).
        /// * `value` - Value returned to the engine to credit (WAD).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event PositionSettled(
            uint256 indexed account,
            uint256 indexed id,
            int256 size,
            int256 entryNotional,
            int256 settlementPrice,
            int256 value
        );

        /// The engine froze or unfroze an account.
        ///
        /// * `account` - Account.
        /// * `frozen` - New state.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event FrozenSet(uint256 indexed account, bool frozen);

        /// The owner added an underlying.
        ///
        /// * `underlying` - Underlying id.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event UnderlyingAdded(uint32 indexed underlying);

        /// The owner set the per-account position bound.
        ///
        /// * `maxPositions` - New bound.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event MaxPositionsSet(uint256 maxPositions);

        /// The owner set an instrument's open-interest cap.
        ///
        /// * `id` - Instrument id.
        /// * `cap` - New cap (WAD; 0 = none).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event OpenInterestCapSet(uint256 indexed id, uint256 cap);

        /// The owner set an underlying's open-interest cap.
        ///
        /// * `underlying` - Underlying id.
        /// * `cap` - New cap (WAD; 0 = none).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event UnderlyingOpenInterestCapSet(uint32 indexed underlying, uint256 cap);

    }

    sol! {
        /// The instrument is not listed.
        ///
        /// * `id` - Instrument id.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error UnknownInstrument(uint256 id);

        /// The instrument is expired (listing: the expiry is not in the future).
        ///
        /// * `id` - Instrument id.
        /// * `expiry` - Its expiry.
        /// * `timestamp` - Current block timestamp.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error InstrumentExpired(uint256 id, uint64 expiry, uint64 timestamp);

        /// The instrument is not expired yet.
        ///
        /// * `id` - Instrument id.
        /// * `expiry` - Its expiry.
        /// * `timestamp` - Current block timestamp.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error InstrumentNotExpired(uint256 id, uint64 expiry, uint64 timestamp);

        /// The instrument is already listed.
        ///
        /// * `id` - Instrument id.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error InstrumentAlreadyListed(uint256 id);

        /// The terms are invalid.
        ///
        /// * `reason` - 1 unknown kind, 2 id high bits set, 3 expiry not in the future,
        ///   4 expiry more than ten years ahead, 5 strike too small, 6 strike too
        ///   large, 7 future with a strike.
        /// * `value` - The offending value.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error InvalidTerms(uint8 reason, uint256 value);

        /// The underlying was not added by the owner.
        ///
        /// * `underlying` - Underlying id.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error UnknownUnderlying(uint32 underlying);

        /// The underlying was already added.
        ///
        /// * `underlying` - Underlying id.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error UnderlyingAlreadyKnown(uint32 underlying);

        /// The account would hold more positions than the bound.
        ///
        /// * `account` - Account.
        /// * `max` - Current bound.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error TooManyPositions(uint256 account, uint256 max);

        /// The trade would raise an instrument's open interest above its cap.
        ///
        /// * `id` - Instrument id.
        /// * `cap` - Cap.
        /// * `openInterest` - Open interest after the trade.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error OpenInterestCapExceeded(uint256 id, uint256 cap, uint256 openInterest);

        /// The trade would raise an underlying's open interest above its cap.
        ///
        /// * `underlying` - Underlying id.
        /// * `cap` - Cap.
        /// * `openInterest` - Open interest after the trade.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error UnderlyingOpenInterestCapExceeded(uint32 underlying, uint256 cap, uint256 openInterest);

        /// The size is zero.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error ZeroSize();

        /// The size is negative (a trade's size must be positive).
        ///
        /// * `size` - Size given.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error NegativeSize(int256 size);

        /// A size, notional or open interest would not fit 128 bits.
        ///
        /// * `account` - Account concerned.
        /// * `id` - Instrument id.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error SizeOverflow(uint256 account, uint256 id);

        /// A price is out of range (negative, zero for a future, or beyond 128 bits).
        ///
        /// * `price` - Price given.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error InvalidPrice(int256 price);

        /// The account is frozen.
        ///
        /// * `account` - Account.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error AccountFrozen(uint256 account);

        /// The account has no position in the instrument.
        ///
        /// * `account` - Account.
        /// * `id` - Instrument id.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error NoPosition(uint256 account, uint256 id);

        /// Both sides of a trade or move are the same account.
        ///
        /// * `account` - Account.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error SameAccount(uint256 account);

        /// A parameter is outside `[min, max]`.
        ///
        /// * `value` - Value given.
        /// * `min` - Smallest allowed.
        /// * `max` - Largest allowed.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error OutOfRange(uint256 value, uint256 min, uint256 max);
    }
}

margin_common::errors! {
    /// Every way a registry call fails. Each variant is the Solidity error of that name.
    pub enum Error {
        UnknownInstrument,
        InstrumentExpired,
        InstrumentNotExpired,
        InstrumentAlreadyListed,
        InvalidTerms,
        UnknownUnderlying,
        UnderlyingAlreadyKnown,
        TooManyPositions,
        OpenInterestCapExceeded,
        UnderlyingOpenInterestCapExceeded,
        ZeroSize,
        NegativeSize,
        SizeOverflow,
        InvalidPrice,
        CallerNotEngineOrKeeper,
        AccountFrozen,
        NoPosition,
        SameAccount,
        OutOfRange,
        Unauthorized,
        ZeroAddress,
    }
}

// Each error's fields in declaration order (`margin_common::encode`).
margin_common::error_words! {
    UnknownInstrument { id }
    InstrumentExpired { id, expiry, timestamp }
    InstrumentNotExpired { id, expiry, timestamp }
    InstrumentAlreadyListed { id }
    InvalidTerms { reason, value }
    UnknownUnderlying { underlying }
    UnderlyingAlreadyKnown { underlying }
    TooManyPositions { account, max }
    OpenInterestCapExceeded { id, cap, openInterest }
    UnderlyingOpenInterestCapExceeded { underlying, cap, openInterest }
    ZeroSize {}
    NegativeSize { size }
    SizeOverflow { account, id }
    InvalidPrice { price }
    AccountFrozen { account }
    NoPosition { account, id }
    SameAccount { account }
    OutOfRange { value, min, max }
}

/// Default per-account position bound.
pub const DEFAULT_MAX_POSITIONS: u8 = 64;
/// Hard maximum of the per-account position bound (the storage array length).
pub const HARD_MAX_POSITIONS: usize = 128;

/// An instrument's state, one slot: a fill that raises open interest reads the cap with
/// it.
#[storage]
pub struct InstrumentState {
    /// Sum of long sizes (WAD).
    open_interest: StorageU128,
    /// Whether the instrument is listed, and its cap on `open_interest` ([`Listing`]).
    listing: StorageU128,
}

/// An underlying's state, one slot, as [`InstrumentState`].
#[storage]
pub struct UnderlyingState {
    /// Sum of its instruments' open interest (WAD).
    open_interest: StorageU128,
    /// Whether the owner added the underlying, and its cap on `open_interest`
    /// ([`Listing`]).
    listing: StorageU128,
}

/// A listing word: 0 for an instrument never listed (an underlying never added), else 1
/// plus the open-interest cap (WAD; a cap of 0 is none), so that the flag and the cap fit
/// the open interest's slot. Caps are therefore at most `2^128 - 2` ([`MAX_CAP`]).
struct Listing;

/// The largest open-interest cap (`setOpenInterestCap`, `setUnderlyingOpenInterestCap`).
pub const MAX_CAP: u128 = u128::MAX - 1;

impl Listing {
    /// A listing with no cap.
    const UNCAPPED: U128 = U128::from_limbs([1, 0]);

    fn listed(word: U128) -> bool {
        !word.is_zero()
    }

    /// The cap of a listing word (0: none, or not listed).
    fn cap(word: U128) -> u128 {
        word.to::<u128>().saturating_sub(1)
    }

    /// The word of a listing with `cap` (at most [`MAX_CAP`]).
    fn with_cap(cap: u128) -> U128 {
        U128::from(cap + 1)
    }
}

/// An account's positions. `count` and `frozen` share one slot; the arrays hold the
/// first `count` positions.
///
/// # Position storage
///
/// Position `i` of an account (`i < count`) has a *head* slot `heads[i]` and a *tail*
/// slot `tails[i]`. It is stored in one of two forms:
///
/// - **compact** (one slot): when the entry notional is zero (every option position)
///   and the terms and size fit [`instrument::pack_compact`]'s word (tag bit 255,
///   2-bit kind, 32-bit underlying, 40-bit expiry, strike as a 64-bit mantissa times
///   `10^e` with a 5-bit `e`, 112-bit signed size), the head is that word and the
///   tail is zero;
/// - **full** (two slots): otherwise (futures, whose entry notional is non-zero;
///   a strike whose decimal mantissa needs more than 64 bits; a size outside
///   `[-2^111, 2^111)` wei; an expiry beyond `2^40` seconds) the head is the
///   instrument id and the tail the [`instrument::pack_position`] word
///   `(size, entry notional)`: the layout every position had before the compact form.
///
/// A futures position whose entry notional happens to be zero (a fill whose notional
/// rounds to zero) is compact too: the rule is the entry notional, not the kind.
///
/// An id has bits 232..256 zero, so the head's top bit alone tells the forms apart:
/// `getPositions` reads the head, and the tail only when the head is an id. So a
/// margin check reads one cold slot per option position.
///
/// A lookup by id (trades, moves, settlement) scans the heads ([`locate`]): a full
/// position's head is its id, a compact one's top 144 bits are the id's terms in
/// compact form, which are canonical (the strike's trailing zeros all move into the
/// exponent), so an id matches at most one head. There is no per-id index: it cost a
/// new slot (22,100 gas) per opened position and a cold read per lookup, while the
/// scan reads heads the margin check after every trade reads anyway (warm after the
/// scan, 100 gas instead of 2,100).
///
/// Every write keeps the forms exact: a position switches form in place when its size
/// or entry notional changes (the unused tail is zeroed), and removal zeroes the head,
/// and the tail when used. Slots at `i >= count` are always zero. The
/// form is storage only: ids, `getPositions`, `positionOf` and the events are the same
/// for both.
#[storage]
pub struct AccountState {
    /// Number of positions.
    count: StorageU8,
    /// Whether the engine froze the account.
    frozen: StorageBool,
    /// Head of each position: its compact word ([`instrument::pack_compact`]), or the
    /// instrument id (full form).
    heads: StorageArray<StorageU256, HARD_MAX_POSITIONS>,
    /// Tail of each position: the packed `(size, entry notional)` word
    /// ([`instrument::pack_position`]) of a full-form position; zero when compact.
    tails: StorageArray<StorageU256, HARD_MAX_POSITIONS>,
}

/// The registry's storage.
#[entrypoint]
#[storage]
pub struct PositionRegistry {
    /// The owner, the engine and the keeper (their public functions inherited), and in
    /// the engine's slot the per-account position bound (`Wired::word`: a fill that opens
    /// a position reads both).
    #[borrow]
    pub wired: Wired,
    /// Instruments by id.
    instruments: StorageMap<U256, InstrumentState>,
    /// Underlyings by id.
    underlyings: StorageMap<u32, UnderlyingState>,
    /// Accounts by id.
    accounts: StorageMap<U256, AccountState>,
}

fn to_i256(x: i128) -> I256 {
    let mut bytes = if x < 0 { [0xff; 32] } else { [0; 32] };
    bytes[16..].copy_from_slice(&x.to_be_bytes());
    I256::from_be_bytes(bytes)
}

fn to_i128(x: I256) -> Option<i128> {
    let bytes = x.to_be_bytes::<32>();
    let mut low = [0u8; 16];
    low.copy_from_slice(&bytes[16..]);
    let value = i128::from_be_bytes(low);
    let ext = if value < 0 { 0xff } else { 0 };
    bytes[..16].iter().all(|&b| b == ext).then_some(value)
}

fn word_of(id: U256) -> [u8; 32] {
    id.to_be_bytes::<32>()
}

/// What a head slot holds: `(id, Some(position))` for a compact word, `(head, None)`
/// for an instrument id (the position is then in the tail).
fn decode_head(head: U256) -> (U256, Option<Position>) {
    match instrument::unpack_compact(word_of(head)) {
        Some((terms, position)) => (
            U256::from_be_bytes(instrument::pack(&terms)),
            Some(position),
        ),
        None => (head, None),
    }
}

/// The storage form of `position` in `id`: `(head, tail, compact)`. Compact when
/// [`instrument::pack_compact`] accepts it; otherwise the id and the packed word.
fn storage_form(id: U256, position: &Position) -> (U256, U256, bool) {
    let compact = instrument::unpack(word_of(id))
        .ok()
        .and_then(|terms| instrument::pack_compact(&terms, position));
    match compact {
        Some(word) => (U256::from_be_bytes(word), U256::ZERO, true),
        None => (
            id,
            U256::from_be_bytes(instrument::pack_position(position)),
            false,
        ),
    }
}

/// Where an account holds a position: `(index, compact)`, or `None` ([`locate`]).
type Found = Option<(usize, bool)>;

/// Where `state` holds its position in `id`: `(index, compact)`, or `None`. Scans the
/// first `count` heads for the id (full form) or for the id's terms in compact form
/// ([`instrument::compact_prefix`]: the head less its 112-bit size).
fn locate(state: &AccountState, id: U256) -> Found {
    let prefix = instrument::unpack(word_of(id))
        .ok()
        .and_then(|terms| instrument::compact_prefix(&terms));
    let count = usize::from(state.count.get().to::<u8>());
    (0..count).find_map(|index| {
        let head = state.heads.get(index).unwrap_or_default();
        if head == id {
            Some((index, false))
        } else {
            let word = word_of(head);
            let compact = prefix.is_some_and(|p| word[..p.len()] == p);
            compact.then_some((index, true))
        }
    })
}

/// The id and position at `index` of `state`, and whether it is compact: one slot read
/// for a compact position, two for a full one.
fn read_entry(state: &AccountState, index: usize) -> (U256, Position, bool) {
    let head = state.heads.get(index).unwrap_or_default();
    match decode_head(head) {
        (id, Some(position)) => (id, position, true),
        (id, None) => {
            let tail = state.tails.get(index).unwrap_or_default();
            (id, instrument::unpack_position(word_of(tail)), false)
        }
    }
}

fn set_at(array: &mut StorageArray<StorageU256, HARD_MAX_POSITIONS>, index: usize, value: U256) {
    if let Some(mut slot) = array.setter(index) {
        slot.set(value);
    }
}

fn invalid_terms(err: InstrumentError) -> Error {
    Error::InvalidTerms(InvalidTerms {
        reason: err.code(),
        value: U256::from(err.value()),
    })
}

fn overflow(account: U256, id: U256) -> Error {
    Error::SizeOverflow(SizeOverflow { account, id })
}

/// `base + add - sub` for open interest, checked.
fn oi_after(base: u128, add: u128, sub: u128) -> Option<u128> {
    base.checked_add(add)?.checked_sub(sub)
}

/// One fractional-move step for one instrument, computed before any write.
struct Move {
    id: U256,
    /// Where `from` holds it: `(index, compact)`.
    at: (usize, bool),
    rest: Position,
    to_new: Position,
    oi_delta_add: u128,
    oi_delta_sub: u128,
    changed: bool,
}

margin_common::wired_owner!(PositionRegistry);

#[public]
#[inherit(Wired, Owned)]
impl PositionRegistry {
    /// Sets the owner and the default position bound (64).
    ///
    /// # Arguments
    ///
    /// * `owner` - Initial owner.
    ///
    /// # Errors
    ///
    /// * [`Error::ZeroAddress`] - If `owner` is zero.
    ///
    /// # Events
    ///
    /// * [`OwnershipTransferred`].
    #[constructor]
    pub fn constructor(&mut self, owner: Address) -> Result<(), Error> {
        self.wired.owner.init(owner)?;
        self.wired.set_word(u64::from(DEFAULT_MAX_POSITIONS));
        Ok(())
    }

    // ------------------------------------------------------------------ engine

    /// Lists the instrument with these terms and returns its id.
    ///
    /// # Arguments
    ///
    /// * `kind` - 0 call, 1 put, 2 future.
    /// * `underlying` - A known underlying.
    /// * `strike` - Strike (WAD) in `[1e12, 1e30]` for options; 0 for futures.
    /// * `expiry` - Unix seconds, after now and at most ten years ahead.
    ///
    /// # Errors
    ///
    /// * [`Error::CallerNotEngineOrKeeper`] - If the caller is neither the engine nor the owner.
    /// * [`Error::InvalidTerms`] - If the kind, strike or (far) expiry is invalid.
    /// * [`Error::InstrumentExpired`] - If the expiry is not after now.
    /// * [`Error::UnknownUnderlying`] - If the underlying was not added.
    /// * [`Error::InstrumentAlreadyListed`] - If the same terms are listed.
    ///
    /// # Events
    ///
    /// * [`InstrumentListed`].
    pub fn list_instrument(
        &mut self,
        kind: u8,
        underlying: u32,
        strike: U256,
        expiry: u64,
    ) -> Result<U256, Error> {
        let caller = self.vm().msg_sender();
        if caller != self.wired.engine() && caller != self.wired.owner.get() {
            return Err(Error::CallerNotEngineOrKeeper(CallerNotEngineOrKeeper {
                caller,
            }));
        }
        let (id, terms) = Self::make_terms(kind, underlying, strike, expiry)?;
        let now = self.vm().block_timestamp();
        instrument::validate_listing(&terms, now).map_err(|err| match err {
            InstrumentError::ExpiryNotInFuture { expiry, now } => {
                Error::InstrumentExpired(InstrumentExpired {
                    id,
                    expiry,
                    timestamp: now,
                })
            }
            other => invalid_terms(other),
        })?;
        if !Listing::listed(self.underlyings.getter(underlying).listing.get()) {
            return Err(Error::UnknownUnderlying(UnknownUnderlying { underlying }));
        }
        let mut state = self.instruments.setter(id);
        if Listing::listed(state.listing.get()) {
            return Err(Error::InstrumentAlreadyListed(InstrumentAlreadyListed {
                id,
            }));
        }
        state.listing.set(Listing::UNCAPPED);
        emit(
            self.vm(),
            InstrumentListed {
                id,
                underlying,
                kind,
                strike,
                expiry,
            },
        );
        Ok(id)
    }

    /// Applies a trade: `buyer` gains `size` of instrument `id`, `seller` loses it.
    ///
    /// Futures keep an entry notional (`entry += sizeDelta * price`); a fill that
    /// reduces a futures position realises the closed part's PnL, returned for the
    /// engine to credit: for `c` units closed out of `s` with entry `E`, realised =
    /// `c * price - E * c / s` (signed), exactly as [`instrument::apply_fill`]
    /// documents. Options realise 0 (premiums are the engine's business).
    ///
    /// # Arguments
    ///
    /// * `buyer` - Account that receives `size`.
    /// * `seller` - Account that gives `size`.
    /// * `id` - Listed, unexpired instrument.
    /// * `size` - Positive size (WAD).
    /// * `price` - Price per unit (WAD); must be positive for futures, ignored for options.
    ///
    /// # Errors
    ///
    /// * [`Error::CallerNotEngineOrKeeper`], [`Error::ZeroSize`], [`Error::NegativeSize`],
    ///   [`Error::SizeOverflow`], [`Error::SameAccount`], [`Error::UnknownInstrument`],
    ///   [`Error::InstrumentExpired`], [`Error::AccountFrozen`], [`Error::InvalidPrice`],
    ///   [`Error::TooManyPositions`], [`Error::OpenInterestCapExceeded`],
    ///   [`Error::UnderlyingOpenInterestCapExceeded`].
    ///
    /// # Events
    ///
    /// * [`PositionChanged`] for each side, [`TradeApplied`].
    pub fn apply_trade(
        &mut self,
        buyer: U256,
        seller: U256,
        id: U256,
        size: I256,
        price: I256,
    ) -> Result<(I256, I256), Error> {
        self.only_engine()?;
        if size.is_zero() {
            return Err(Error::ZeroSize(ZeroSize {}));
        }
        if size.is_negative() {
            return Err(Error::NegativeSize(NegativeSize { size }));
        }
        let qty = to_i128(size).ok_or(overflow(buyer, id))?;
        if buyer == seller {
            return Err(Error::SameAccount(SameAccount { account: buyer }));
        }
        let terms = self.live_terms(id)?;
        self.not_frozen(buyer)?;
        self.not_frozen(seller)?;
        let px = to_i128(price)
            .filter(|p| *p > 0 || terms.kind.is_option())
            .ok_or(Error::InvalidPrice(InvalidPrice { price }))?;
        let notional = if terms.kind.is_option() {
            0
        } else {
            instrument::trade_notional(qty, px).map_err(|_| overflow(buyer, id))?
        };

        let (old_b, at_b) = self.find(buyer, id);
        let (old_s, at_s) = self.find(seller, id);
        let (new_b, realized_b) = instrument::apply_fill(terms.kind, old_b, qty, notional, px)
            .map_err(|_| overflow(buyer, id))?;
        let (new_s, realized_s) = instrument::apply_fill(terms.kind, old_s, -qty, -notional, px)
            .map_err(|_| overflow(seller, id))?;
        self.check_room(buyer, old_b, new_b)?;
        self.check_room(seller, old_s, new_s)?;

        let add = new_b.long().checked_add(new_s.long());
        let sub = old_b.long() + old_s.long(); // each < 2^127
        let add = add.ok_or(overflow(buyer, id))?;
        self.update_open_interest(id, terms.underlying, add, sub, true)?;

        // Two different accounts: storing one leaves the other's places as found.
        self.store_at(buyer, id, new_b, at_b);
        self.store_at(seller, id, new_s, at_s);
        let (realized_b, realized_s) = (to_i256(realized_b), to_i256(realized_s));
        emit(
            self.vm(),
            TradeApplied {
                buyer,
                seller,
                id,
                size,
                price,
                buyerRealized: realized_b,
                sellerRealized: realized_s,
            },
        );
        Ok((realized_b, realized_s))
    }

    /// Moves the fraction `fractionWad` of every position of `from` to `to`
    /// (liquidation). Sizes move rounded toward zero and entry notionals in
    /// proportion (see [`instrument::split_fraction`]); `from` loses exactly what
    /// `to` gains, so per instrument the sums are unchanged. `to` adds what it
    /// receives to its own position (sizes and entries add; a futures position that
    /// nets to size zero keeps its entry notional as a pending realised amount until
    /// its next fill or expiry close). Open interest can only fall; caps are not
    /// checked. Allowed while `from` is frozen.
    ///
    /// # Arguments
    ///
    /// * `from` - Account giving positions (may be frozen).
    /// * `to` - Account receiving them (not frozen).
    /// * `fractionWad` - Fraction in `(0, 1e18]`.
    ///
    /// # Errors
    ///
    /// * [`Error::CallerNotEngineOrKeeper`], [`Error::OutOfRange`] (fraction),
    ///   [`Error::SameAccount`], [`Error::AccountFrozen`] (`to`),
    ///   [`Error::TooManyPositions`] (`to`), [`Error::SizeOverflow`].
    ///
    /// # Events
    ///
    /// * [`PositionChanged`] for each changed position, [`FractionMoved`].
    pub fn move_fraction(&mut self, from: U256, to: U256, fraction_wad: U256) -> Result<(), Error> {
        self.only_engine()?;
        let wad = U256::from(WAD as u128);
        if fraction_wad.is_zero() || fraction_wad > wad {
            return Err(Error::OutOfRange(OutOfRange {
                value: fraction_wad,
                min: U256::from(1),
                max: wad,
            }));
        }
        // fraction_wad <= WAD, so it fits i128.
        let fraction = fraction_wad.to::<i128>();
        if from == to {
            return Err(Error::SameAccount(SameAccount { account: from }));
        }
        self.not_frozen(to)?;

        let source = self.accounts.getter(from);
        let count = usize::from(source.count.get().to::<u8>());
        let mut moves: Vec<Move> = Vec::with_capacity(count);
        for i in 0..count {
            let (id, position, compact) = read_entry(&source, i);
            moves.push(Move {
                id,
                at: (i, compact),
                rest: position,
                to_new: Position::default(),
                oi_delta_add: 0,
                oi_delta_sub: 0,
                changed: false,
            });
        }
        drop(source);

        let mut to_count = i64::from(self.accounts.getter(to).count.get().to::<u8>());
        let mut adds = 0i64;
        for m in &mut moves {
            let id = m.id;
            let old_from = m.rest;
            let moved =
                instrument::split_fraction(old_from, fraction).map_err(|_| overflow(from, id))?;
            if moved.is_empty() {
                continue;
            }
            m.changed = true;
            let old_to = self.position(to, id);
            m.rest = instrument::sub_position(old_from, moved).map_err(|_| overflow(from, id))?;
            m.to_new = instrument::add_position(old_to, moved).map_err(|_| overflow(to, id))?;
            m.oi_delta_add = m.rest.long() + m.to_new.long(); // each < 2^127
            m.oi_delta_sub = old_from.long() + old_to.long();
            match (old_to.is_empty(), m.to_new.is_empty()) {
                (true, false) => adds += 1,
                (false, true) => to_count -= 1,
                _ => {}
            }
        }
        let max = self.max_positions();
        if adds > 0 && to_count + adds > i64::from(max) {
            return Err(Error::TooManyPositions(TooManyPositions {
                account: to,
                max: U256::from(max),
            }));
        }

        // Writes: `from` first, then `to`'s removals before its insertions, so `to`
        // never needs more than `max` slots at any point.
        // `from`'s writes go from its last index down, so each position is still where
        // it was read: a removal moves the last position, already written, into its place.
        moves.retain(|m| m.changed);
        for m in moves.iter().rev() {
            let terms = instrument::unpack(word_of(m.id)).map_err(invalid_terms)?;
            self.update_open_interest(
                m.id,
                terms.underlying,
                m.oi_delta_add,
                m.oi_delta_sub,
                false,
            )?;
            self.store_at(from, m.id, m.rest, Some(m.at));
        }
        for m in moves.iter().filter(|m| m.to_new.is_empty()) {
            self.store(to, m.id, m.to_new);
        }
        for m in moves.iter().filter(|m| !m.to_new.is_empty()) {
            self.store(to, m.id, m.to_new);
        }
        emit(
            self.vm(),
            FractionMoved {
                from,
                to,
                fractionWad: fraction_wad,
            },
        );
        Ok(())
    }

    /// Closes `account`'s position in the expired instrument `id` at
    /// `settlementPrice` and returns its value for the engine to credit
    /// ([`instrument::settlement_value`], rounded toward negative infinity). Allowed
    /// for frozen accounts.
    ///
    /// # Arguments
    ///
    /// * `account` - Account.
    /// * `id` - Listed instrument with `block.timestamp >= expiry`.
    /// * `settlementPrice` - Settlement price (WAD, non-negative).
    ///
    /// # Errors
    ///
    /// * [`Error::CallerNotEngineOrKeeper`], [`Error::UnknownInstrument`],
    ///   [`Error::InstrumentNotExpired`], [`Error::InvalidPrice`],
    ///   [`Error::NoPosition`], [`Error::SizeOverflow`].
    ///
    /// # Events
    ///
    /// * [`PositionChanged`] (size 0), [`PositionSettled`].
    pub fn close_expired(
        &mut self,
        account: U256,
        id: U256,
        settlement_price: I256,
    ) -> Result<I256, Error> {
        self.only_engine()?;
        let terms = self.listed_terms(id)?;
        let now = self.vm().block_timestamp();
        if !instrument::is_expired(&terms, now) {
            return Err(Error::InstrumentNotExpired(InstrumentNotExpired {
                id,
                expiry: terms.expiry,
                timestamp: now,
            }));
        }
        self.settle(account, id, &terms, settlement_price)
    }

    /// Freezes or unfreezes `account`: a frozen account cannot trade or receive
    /// positions; its positions can still be moved away or settled.
    ///
    /// # Arguments
    ///
    /// * `account` - Account.
    /// * `frozen` - New state.
    ///
    /// # Errors
    ///
    /// * [`Error::CallerNotEngineOrKeeper`].
    ///
    /// # Events
    ///
    /// * [`FrozenSet`].
    pub fn set_frozen(&mut self, account: U256, frozen: bool) -> Result<(), Error> {
        self.only_engine()?;
        self.accounts.setter(account).frozen.set(frozen);
        emit(self.vm(), FrozenSet { account, frozen });
        Ok(())
    }

    // ------------------------------------------------------------------- owner

    /// Adds an underlying id that instruments may reference.
    ///
    /// # Arguments
    ///
    /// * `underlying` - Underlying id.
    ///
    /// # Errors
    ///
    /// * [`Error::Unauthorized`], [`Error::UnderlyingAlreadyKnown`].
    ///
    /// # Events
    ///
    /// * [`UnderlyingAdded`].
    pub fn add_underlying(&mut self, underlying: u32) -> Result<(), Error> {
        self.only_owner()?;
        let mut state = self.underlyings.setter(underlying);
        if Listing::listed(state.listing.get()) {
            return Err(Error::UnderlyingAlreadyKnown(UnderlyingAlreadyKnown {
                underlying,
            }));
        }
        state.listing.set(Listing::UNCAPPED);
        emit(self.vm(), UnderlyingAdded { underlying });
        Ok(())
    }

    /// Sets the per-account position bound. Accounts above a lowered bound keep
    /// their positions but cannot open new ones.
    ///
    /// # Arguments
    ///
    /// * `max` - New bound in `[1, 128]`.
    ///
    /// # Errors
    ///
    /// * [`Error::Unauthorized`], [`Error::OutOfRange`].
    ///
    /// # Events
    ///
    /// * [`MaxPositionsSet`].
    pub fn set_max_positions(&mut self, max: U256) -> Result<(), Error> {
        self.only_owner()?;
        let hard = U256::from(HARD_MAX_POSITIONS);
        if max.is_zero() || max > hard {
            return Err(Error::OutOfRange(OutOfRange {
                value: max,
                min: U256::from(1),
                max: hard,
            }));
        }
        self.wired.set_word(u64::from(max.to::<u8>()));
        emit(self.vm(), MaxPositionsSet { maxPositions: max });
        Ok(())
    }

    /// Sets instrument `id`'s open-interest cap (WAD; 0 = none).
    ///
    /// # Arguments
    ///
    /// * `id` - Listed instrument.
    /// * `cap` - Cap, at most `2^128 - 2` ([`MAX_CAP`]; 0 = none).
    ///
    /// # Errors
    ///
    /// * [`Error::Unauthorized`], [`Error::UnknownInstrument`],
    ///   [`Error::OutOfRange`].
    ///
    /// # Events
    ///
    /// * [`OpenInterestCapSet`].
    pub fn set_open_interest_cap(&mut self, id: U256, cap: U256) -> Result<(), Error> {
        self.only_owner()?;
        self.listed_terms(id)?;
        let value = Self::cap_value(cap)?;
        self.instruments.setter(id).listing.set(value);
        emit(self.vm(), OpenInterestCapSet { id, cap });
        Ok(())
    }

    /// Sets `underlying`'s open-interest cap (WAD; 0 = none).
    ///
    /// # Arguments
    ///
    /// * `underlying` - Known underlying.
    /// * `cap` - Cap, at most `2^128 - 2` ([`MAX_CAP`]; 0 = none).
    ///
    /// # Errors
    ///
    /// * [`Error::Unauthorized`], [`Error::UnknownUnderlying`],
    ///   [`Error::OutOfRange`].
    ///
    /// # Events
    ///
    /// * [`UnderlyingOpenInterestCapSet`].
    pub fn set_underlying_open_interest_cap(
        &mut self,
        underlying: u32,
        cap: U256,
    ) -> Result<(), Error> {
        self.only_owner()?;
        if !Listing::listed(self.underlyings.getter(underlying).listing.get()) {
            return Err(Error::UnknownUnderlying(UnknownUnderlying { underlying }));
        }
        let value = Self::cap_value(cap)?;
        self.underlyings.setter(underlying).listing.set(value);
        emit(self.vm(), UnderlyingOpenInterestCapSet { underlying, cap });
        Ok(())
    }

    // ------------------------------------------------------------------- views

    /// All positions of `account`, in storage order: ids (packed terms), sizes and
    /// entry notionals (WAD). The margin check's one call.
    pub fn get_positions(&self, account: U256) -> types::Positions {
        let state = self.accounts.getter(account);
        let count = usize::from(state.count.get().to::<u8>());
        let mut ids = Vec::with_capacity(count);
        let mut sizes = Vec::with_capacity(count);
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let (id, position, _) = read_entry(&state, i);
            ids.push(id);
            sizes.push(to_i256(position.size));
            entries.push(to_i256(position.entry_notional));
        }
        types::Positions {
            ids,
            sizes,
            entryNotionals: entries,
        }
    }

    /// `account`'s position in `id`: `(size, entryNotional)`, zeros if none.
    pub fn position_of(&self, account: U256, id: U256) -> (I256, I256) {
        let position = self.position(account, id);
        (to_i256(position.size), to_i256(position.entry_notional))
    }

    /// Number of positions of `account`.
    pub fn position_count(&self, account: U256) -> U256 {
        U256::from(self.accounts.getter(account).count.get().to::<u8>())
    }

    /// Whether `account` is frozen.
    pub fn is_frozen(&self, account: U256) -> bool {
        self.accounts.getter(account).frozen.get()
    }

    /// Terms of the listed instrument `id`.
    ///
    /// # Errors
    ///
    /// * [`Error::UnknownInstrument`].
    pub fn terms(&self, id: U256) -> Result<types::InstrumentTerms, Error> {
        let terms = self.listed_terms(id)?;
        Ok(types::InstrumentTerms {
            kind: terms.kind as u8,
            underlying: terms.underlying,
            strike: U256::from(terms.strike),
            expiry: terms.expiry,
        })
    }

    /// Whether `id` is listed.
    pub fn is_listed(&self, id: U256) -> bool {
        Listing::listed(self.instruments.getter(id).listing.get())
    }

    /// Whether `underlying` was added.
    pub fn is_underlying(&self, underlying: u32) -> bool {
        Listing::listed(self.underlyings.getter(underlying).listing.get())
    }

    /// Open interest (sum of long sizes, WAD) of `id`.
    pub fn open_interest(&self, id: U256) -> U256 {
        U256::from(self.instruments.getter(id).open_interest.get())
    }

    /// Open-interest cap of `id` (0 = none).
    pub fn open_interest_cap(&self, id: U256) -> U256 {
        U256::from(Listing::cap(self.instruments.getter(id).listing.get()))
    }

    /// Open interest of `underlying` (sum over its instruments).
    pub fn underlying_open_interest(&self, underlying: u32) -> U256 {
        U256::from(self.underlyings.getter(underlying).open_interest.get())
    }

    /// Open-interest cap of `underlying` (0 = none).
    pub fn underlying_open_interest_cap(&self, underlying: u32) -> U256 {
        U256::from(Listing::cap(
            self.underlyings.getter(underlying).listing.get(),
        ))
    }

    /// The id of the given terms (whether listed or not): their packing.
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidTerms`] - Unknown kind (reason 1) or strike above 128 bits
    ///   (reason 6).
    pub fn instrument_id(
        &self,
        kind: u8,
        underlying: u32,
        strike: U256,
        expiry: u64,
    ) -> Result<U256, Error> {
        Ok(Self::make_terms(kind, underlying, strike, expiry)?.0)
    }

    /// Per-account position bound.
    pub fn max_positions(&self) -> u8 {
        // SAFETY of the cast: only `constructor` and `setMaxPositions` write it, with a u8.
        self.wired.word() as u8
    }
}

impl PositionRegistry {
    fn only_owner(&self) -> Result<(), Error> {
        Ok(self.wired.owner.only(self.vm().msg_sender())?)
    }

    fn only_engine(&self) -> Result<(), Error> {
        Ok(self.wired.only_engine_or_keeper(self.vm().msg_sender())?)
    }

    fn not_frozen(&self, account: U256) -> Result<(), Error> {
        if self.accounts.getter(account).frozen.get() {
            return Err(Error::AccountFrozen(AccountFrozen { account }));
        }
        Ok(())
    }

    /// The listing word of a cap from the ABI.
    fn cap_value(cap: U256) -> Result<U128, Error> {
        if cap > U256::from(MAX_CAP) {
            return Err(Error::OutOfRange(OutOfRange {
                value: cap,
                min: U256::ZERO,
                max: U256::from(MAX_CAP),
            }));
        }
        Ok(Listing::with_cap(cap.to::<u128>()))
    }

    /// The id and terms of ABI-level terms, without listing checks.
    fn make_terms(
        kind: u8,
        underlying: u32,
        strike: U256,
        expiry: u64,
    ) -> Result<(U256, Terms), Error> {
        let kind = Kind::from_u8(kind).ok_or(invalid_terms(InstrumentError::UnknownKind(kind)))?;
        if strike > U256::from(u128::MAX) {
            return Err(Error::InvalidTerms(InvalidTerms {
                reason: InstrumentError::StrikeTooLarge(0).code(),
                value: strike,
            }));
        }
        let terms = Terms {
            kind,
            underlying,
            expiry,
            strike: strike.to::<u128>(),
        };
        Ok((U256::from_be_bytes(instrument::pack(&terms)), terms))
    }

    /// The terms of a listed instrument.
    fn listed_terms(&self, id: U256) -> Result<Terms, Error> {
        if !Listing::listed(self.instruments.getter(id).listing.get()) {
            return Err(Error::UnknownInstrument(UnknownInstrument { id }));
        }
        instrument::unpack(word_of(id)).map_err(invalid_terms)
    }

    /// The terms of a listed, unexpired instrument.
    fn live_terms(&self, id: U256) -> Result<Terms, Error> {
        let terms = self.listed_terms(id)?;
        let now = self.vm().block_timestamp();
        if instrument::is_expired(&terms, now) {
            return Err(Error::InstrumentExpired(InstrumentExpired {
                id,
                expiry: terms.expiry,
                timestamp: now,
            }));
        }
        Ok(terms)
    }

    /// Closes `account`'s position in `id` at `settlement_price` and returns its
    /// value. The caller checked that the instrument is expired.
    fn settle(
        &mut self,
        account: U256,
        id: U256,
        terms: &Terms,
        settlement_price: I256,
    ) -> Result<I256, Error> {
        let price = to_i128(settlement_price)
            .filter(|p| *p >= 0)
            .ok_or(Error::InvalidPrice(InvalidPrice {
                price: settlement_price,
            }))?;
        let (position, found) = self.find(account, id);
        if position.is_empty() {
            return Err(Error::NoPosition(NoPosition { account, id }));
        }
        let value =
            instrument::settlement_value(terms, position.size, position.entry_notional, price)
                .map_err(|_| overflow(account, id))?;
        self.update_open_interest(id, terms.underlying, 0, position.long(), false)?;
        self.store_at(account, id, Position::default(), found);
        let value = to_i256(value);
        emit(
            self.vm(),
            PositionSettled {
                account,
                id,
                size: to_i256(position.size),
                entryNotional: to_i256(position.entry_notional),
                settlementPrice: settlement_price,
                value,
            },
        );
        Ok(value)
    }

    /// `account`'s position in `id` (default if none).
    fn position(&self, account: U256, id: U256) -> Position {
        self.find(account, id).0
    }

    /// `account`'s position in `id` (default if none) and where it is ([`locate`]), for
    /// a [`Self::store_at`] that follows with no other write to the account between.
    fn find(&self, account: U256, id: U256) -> (Position, Found) {
        let state = self.accounts.getter(account);
        let found = locate(&state, id);
        let position = match found {
            Some((index, _)) => read_entry(&state, index).1,
            None => Position::default(),
        };
        (position, found)
    }

    /// Fails if `account` would need a new slot (`old` empty, `new` not) and is at
    /// its bound.
    fn check_room(&self, account: U256, old: Position, new: Position) -> Result<(), Error> {
        if old.is_empty() && !new.is_empty() {
            let max = self.max_positions();
            if self.accounts.getter(account).count.get().to::<u8>() >= max {
                return Err(Error::TooManyPositions(TooManyPositions {
                    account,
                    max: U256::from(max),
                }));
            }
        }
        Ok(())
    }

    /// Applies an open-interest change `+add - sub` to `id` and `underlying`. With
    /// `check`, fails when open interest rises above a non-zero cap.
    fn update_open_interest(
        &mut self,
        id: U256,
        underlying: u32,
        add: u128,
        sub: u128,
        check: bool,
    ) -> Result<(), Error> {
        let before = self.instruments.getter(id).open_interest.get().to::<u128>();
        let after = oi_after(before, add, sub).ok_or(overflow(U256::ZERO, id))?;
        // A cap can refuse only a change that raises open interest (moves and settlement
        // never check). It is in the open interest's slot, read above.
        let cap = if check && after > before {
            Listing::cap(self.instruments.getter(id).listing.get())
        } else {
            0
        };
        if cap != 0 && after > cap {
            return Err(Error::OpenInterestCapExceeded(OpenInterestCapExceeded {
                id,
                cap: U256::from(cap),
                openInterest: U256::from(after),
            }));
        }
        let u_before = self
            .underlyings
            .getter(underlying)
            .open_interest
            .get()
            .to::<u128>();
        let u_after = oi_after(u_before, add, sub).ok_or(overflow(U256::ZERO, id))?;
        let u_cap = if check && u_after > u_before {
            Listing::cap(self.underlyings.getter(underlying).listing.get())
        } else {
            0
        };
        if u_cap != 0 && u_after > u_cap {
            return Err(Error::UnderlyingOpenInterestCapExceeded(
                UnderlyingOpenInterestCapExceeded {
                    underlying,
                    cap: U256::from(u_cap),
                    openInterest: U256::from(u_after),
                },
            ));
        }
        self.instruments
            .setter(id)
            .open_interest
            .set(U128::from(after));
        self.underlyings
            .setter(underlying)
            .open_interest
            .set(U128::from(u_after));
        Ok(())
    }

    /// Writes `account`'s position in `id`: inserts, updates (switching between the
    /// compact and full forms when needed), or swap-removes when empty. Writes only
    /// the slots whose content changes; a removal zeroes every slot the position
    /// used. The caller checked the bound. Emits [`PositionChanged`].
    fn store(&mut self, account: U256, id: U256, position: Position) {
        let found = locate(&self.accounts.getter(account), id);
        self.store_at(account, id, position, found);
    }

    /// [`Self::store`] with the position's place already found (by [`Self::find`], the
    /// account unchanged since): one scan of the heads per account and write.
    fn store_at(&mut self, account: U256, id: U256, position: Position, found: Found) {
        let mut state = self.accounts.setter(account);
        let was_compact = matches!(found, Some((_, true)));
        let count = usize::from(state.count.get().to::<u8>());
        if position.is_empty() {
            if let Some((here, _)) = found {
                let last = count - 1;
                if here != last {
                    // Move the last position into the freed index.
                    let moved_head = state.heads.get(last).unwrap_or_default();
                    set_at(&mut state.heads, here, moved_head);
                    if instrument::is_compact(&word_of(moved_head)) {
                        if !was_compact {
                            set_at(&mut state.tails, here, U256::ZERO);
                        }
                    } else {
                        let moved_tail = state.tails.get(last).unwrap_or_default();
                        set_at(&mut state.tails, here, moved_tail);
                        set_at(&mut state.tails, last, U256::ZERO);
                    }
                } else if !was_compact {
                    set_at(&mut state.tails, last, U256::ZERO);
                }
                set_at(&mut state.heads, last, U256::ZERO);
                // last < 128.
                state.count.set(U8::from(last as u8));
            }
        } else {
            let (head, tail, compact) = storage_form(id, &position);
            let new = found.is_none();
            // A new position takes index `count` (< 128, checked by the caller).
            let index = found.map_or(count, |(index, _)| index);
            // A full position keeping its form keeps its head (the id).
            if new || compact || was_compact {
                set_at(&mut state.heads, index, head);
            }
            if !compact {
                set_at(&mut state.tails, index, tail);
            } else if !new && !was_compact {
                // Full to compact: the tail is no longer used.
                set_at(&mut state.tails, index, U256::ZERO);
            }
            if new {
                state.count.set(U8::from(count as u8 + 1));
            }
        }
        emit(
            self.vm(),
            PositionChanged {
                account,
                id,
                size: to_i256(position.size),
                entryNotional: to_i256(position.entry_notional),
            },
        );
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod abi_tests {
    use super::*;
    use margin_common::encode::varied;

    /// `getPositions`' struct is its Solidity tuple, and returning it answers the same
    /// bytes as the 3-list tuple it replaced (stylus-sdk encodes a return value `T` as
    /// `T::SolType::abi_encode`), on random values and lengths. `terms`' struct is its
    /// tuple too.
    #[test]
    fn positions_answer_the_tuple_they_replaced() {
        use alloy_sol_types::SolType;
        use stylus_sdk::abi::AbiType;
        assert_eq!(
            types::Positions::ABI.as_str(),
            margin_common::abi::tuple_type::<types::Positions>()
        );
        // A struct of static fields is encoded in place: its words are the tuple's.
        assert_eq!(
            types::InstrumentTerms::ABI.as_str(),
            margin_common::abi::tuple_type::<types::InstrumentTerms>()
        );
        let mut r = margin_books::Rng(31);
        let mut next = || r.next_u64();
        for n in 0..8 {
            let ids: Vec<U256> = (0..n).map(|_| varied(&mut next)).collect();
            let sizes: Vec<I256> = (0..n).map(|_| varied(&mut next)).collect();
            let entries: Vec<I256> = (0..n).map(|_| varied(&mut next)).collect();
            let positions = types::Positions {
                ids: ids.clone(),
                sizes: sizes.clone(),
                entryNotionals: entries.clone(),
            };
            type Tuple = <(Vec<U256>, Vec<I256>, Vec<I256>) as AbiType>::SolType;
            assert_eq!(
                <types::Positions as SolType>::abi_encode(&positions),
                Tuple::abi_encode(&(ids, sizes, entries)),
                "{n} positions"
            );
        }
    }
}
