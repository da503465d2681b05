//! motsu tests of the registry. Every error is shown with the state unchanged
//! (`motsu_unwrap_err` rolls back what the call wrote; the snapshot comparison shows
//! the call wrote nothing that survives).
//!
//! Time: motsu's block timestamp is fixed at 1,735,689,600 and listing refuses past
//! expiries, so an instrument can never become expired by waiting. The time
//! comparisons live in the pure core (`instrument::is_expired`,
//! `instrument::validate_listing`, tested there with any `now`); here an "expired"
//! instrument is one whose listed flag is written straight into storage with an
//! expiry in the past: the state a listing reaches once its expiry passes.

use alloc::vec;
use alloc::vec::Vec;

use alloy_primitives::{Address, I256, U256};
use motsu::prelude::*;
use stylus_margin::{
    fixed::WAD,
    instrument::{self, Kind, Terms, MAX_STRIKE, MAX_TENOR, MIN_STRIKE},
};

use super::*;
use margin_common::{
    AlreadySet, EngineSet, KeeperSet, OwnedError, OwnershipTransferStarted, OwnershipTransferred,
    WiredError,
};

impl types::Positions {
    /// The three lists as the tuple the tests compare.
    fn parts(self) -> (Vec<U256>, Vec<I256>, Vec<I256>) {
        (self.ids, self.sizes, self.entryNotionals)
    }
}

const NOW: u64 = 1_735_689_600;
const DAY: u64 = 86_400;
const ETH: u32 = 1;
const BTC: u32 = 2;
const CALL: u8 = 0;
const PUT: u8 = 1;
const FUTURE: u8 = 2;

fn acct(n: u64) -> U256 {
    U256::from(n)
}

fn w(n: i128) -> I256 {
    to_i256(n * WAD)
}

fn uw(n: u128) -> U256 {
    U256::from(n * WAD as u128)
}

fn i(x: I256) -> i128 {
    to_i128(x).expect("fits i128")
}

/// Constructor, engine, ETH and BTC underlyings.
fn setup(reg: &Contract<PositionRegistry>, owner: Address, engine: Address) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    reg.sender(owner).wired.set_engine(engine).motsu_unwrap();
    reg.sender(owner).add_underlying(ETH).motsu_unwrap();
    reg.sender(owner).add_underlying(BTC).motsu_unwrap();
}

fn list(
    reg: &Contract<PositionRegistry>,
    engine: Address,
    kind: u8,
    underlying: u32,
    strike: U256,
    expiry: u64,
) -> U256 {
    reg.sender(engine)
        .list_instrument(kind, underlying, strike, expiry)
        .motsu_unwrap()
}

fn future(reg: &Contract<PositionRegistry>, engine: Address) -> U256 {
    list(reg, engine, FUTURE, ETH, U256::ZERO, NOW + 30 * DAY)
}

fn eth_call(reg: &Contract<PositionRegistry>, engine: Address, strike: u128) -> U256 {
    list(reg, engine, CALL, ETH, uw(strike), NOW + 30 * DAY)
}

/// Marks an instrument whose expiry is already past as listed, as if it had been
/// listed before its expiry (motsu cannot move time; see the module doc).
fn list_expired(reg: &Contract<PositionRegistry>, anyone: Address, terms: Terms) -> U256 {
    let id = U256::from_be_bytes(instrument::pack(&terms));
    reg.sender(anyone)
        .instruments
        .setter(id)
        .listing
        .set(Listing::UNCAPPED);
    id
}

fn trade(
    reg: &Contract<PositionRegistry>,
    engine: Address,
    buyer: U256,
    seller: U256,
    id: U256,
    size: I256,
    price: I256,
) -> (I256, I256) {
    reg.sender(engine)
        .apply_trade(buyer, seller, id, size, price)
        .motsu_unwrap()
}

/// Everything a call could change, for the accounts and instruments given.
#[derive(Debug, PartialEq)]
struct Snapshot {
    positions: Vec<(Vec<U256>, Vec<I256>, Vec<I256>)>,
    frozen: Vec<bool>,
    counts: Vec<U256>,
    listed: Vec<bool>,
    oi: Vec<U256>,
    caps: Vec<U256>,
    underlyings: Vec<(bool, U256, U256)>,
    params: (Address, Address, Address, u8),
}

fn snapshot(
    reg: &Contract<PositionRegistry>,
    anyone: Address,
    accounts: &[U256],
    ids: &[U256],
) -> Snapshot {
    let r = reg.sender(anyone);
    Snapshot {
        positions: accounts
            .iter()
            .map(|a| r.get_positions(*a).parts())
            .collect(),
        frozen: accounts.iter().map(|a| r.is_frozen(*a)).collect(),
        counts: accounts.iter().map(|a| r.position_count(*a)).collect(),
        listed: ids.iter().map(|id| r.is_listed(*id)).collect(),
        oi: ids.iter().map(|id| r.open_interest(*id)).collect(),
        caps: ids.iter().map(|id| r.open_interest_cap(*id)).collect(),
        underlyings: [ETH, BTC, 3]
            .iter()
            .map(|u| {
                (
                    r.is_underlying(*u),
                    r.underlying_open_interest(*u),
                    r.underlying_open_interest_cap(*u),
                )
            })
            .collect(),
        params: (
            r.wired.owner.owner(),
            r.wired.owner.pending_owner(),
            r.wired.engine(),
            r.max_positions(),
        ),
    }
}

const A: u64 = 1;
const B: u64 = 2;
const C: u64 = 3;

fn accounts() -> [U256; 3] {
    [acct(A), acct(B), acct(C)]
}

// ---------------------------------------------------------------- construction

#[motsu::test]
fn constructor_sets_owner_and_default_bound(reg: Contract<PositionRegistry>, owner: Address) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    assert_eq!(reg.sender(owner).wired.owner.owner(), owner);
    assert_eq!(reg.sender(owner).max_positions(), DEFAULT_MAX_POSITIONS);
    assert_eq!(reg.sender(owner).wired.engine(), Address::ZERO);
    reg.assert_emitted(&OwnershipTransferred {
        previous: Address::ZERO,
        next: owner,
    });
}

#[motsu::test]
fn constructor_reverts_on_zero_owner(reg: Contract<PositionRegistry>, owner: Address) {
    let err = reg
        .sender(owner)
        .constructor(Address::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, Error::ZeroAddress(_)));
    assert_eq!(reg.sender(owner).wired.owner.owner(), Address::ZERO);
    assert_eq!(reg.sender(owner).max_positions(), 0);
}

#[motsu::test]
fn set_engine_sets_once_and_emits(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    reg.sender(owner).wired.set_engine(engine).motsu_unwrap();
    assert_eq!(reg.sender(owner).wired.engine(), engine);
    reg.assert_emitted(&EngineSet { engine });
}

#[motsu::test]
fn set_engine_reverts_when_not_owner(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    let before = snapshot(&reg, owner, &[], &[]);
    let err = reg
        .sender(engine)
        .wired
        .set_engine(engine)
        .motsu_unwrap_err();
    assert!(
        matches!(err, WiredError::Unauthorized(Unauthorized { caller: account }) if account == engine)
    );
    assert_eq!(snapshot(&reg, owner, &[], &[]), before);
}

#[motsu::test]
fn set_engine_reverts_on_zero_address(reg: Contract<PositionRegistry>, owner: Address) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    let before = snapshot(&reg, owner, &[], &[]);
    let err = reg
        .sender(owner)
        .wired
        .set_engine(Address::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, WiredError::ZeroAddress(_)));
    assert_eq!(snapshot(&reg, owner, &[], &[]), before);
}

/// The keeper is wired like the engine: owner only, never zero, once.
#[motsu::test]
fn set_keeper_refuses_a_stranger_zero_and_a_second_keeper(
    reg: Contract<PositionRegistry>,
    owner: Address,
    keeper: Address,
    other: Address,
) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    let err = reg
        .sender(other)
        .wired
        .set_keeper(keeper)
        .motsu_unwrap_err();
    assert!(matches!(err, WiredError::Unauthorized(Unauthorized { caller }) if caller == other));
    let err = reg
        .sender(owner)
        .wired
        .set_keeper(Address::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, WiredError::ZeroAddress(_)));
    assert_eq!(reg.sender(owner).wired.keeper(), Address::ZERO);
    reg.sender(owner).wired.set_keeper(keeper).motsu_unwrap();
    reg.assert_emitted(&KeeperSet { keeper });
    let err = reg.sender(owner).wired.set_keeper(other).motsu_unwrap_err();
    assert!(matches!(err, WiredError::AlreadySet(AlreadySet { current }) if current == keeper));
    assert_eq!(reg.sender(owner).wired.keeper(), keeper);
}

#[motsu::test]
fn set_engine_reverts_when_already_set(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
    other: Address,
) {
    setup(&reg, owner, engine);
    let before = snapshot(&reg, owner, &[], &[]);
    let err = reg.sender(owner).wired.set_engine(other).motsu_unwrap_err();
    assert!(matches!(err, WiredError::AlreadySet(AlreadySet { current: e }) if e == engine));
    assert_eq!(snapshot(&reg, owner, &[], &[]), before);
}

#[motsu::test]
fn ownership_transfers_in_two_steps(
    reg: Contract<PositionRegistry>,
    owner: Address,
    next: Address,
) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    reg.sender(owner)
        .wired
        .owner
        .transfer_ownership(next)
        .motsu_unwrap();
    reg.assert_emitted(&OwnershipTransferStarted {
        previous: owner,
        next,
    });
    assert_eq!(reg.sender(owner).wired.owner.owner(), owner);
    assert_eq!(reg.sender(owner).wired.owner.pending_owner(), next);
    reg.sender(next)
        .wired
        .owner
        .accept_ownership()
        .motsu_unwrap();
    assert_eq!(reg.sender(owner).wired.owner.owner(), next);
    assert_eq!(reg.sender(owner).wired.owner.pending_owner(), Address::ZERO);
    reg.assert_emitted(&OwnershipTransferred {
        previous: owner,
        next,
    });
}

#[motsu::test]
fn transfer_ownership_reverts_when_not_owner(
    reg: Contract<PositionRegistry>,
    owner: Address,
    next: Address,
) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    let before = snapshot(&reg, owner, &[], &[]);
    let err = reg
        .sender(next)
        .wired
        .owner
        .transfer_ownership(next)
        .motsu_unwrap_err();
    assert!(
        matches!(err, OwnedError::Unauthorized(Unauthorized { caller: account }) if account == next)
    );
    assert_eq!(snapshot(&reg, owner, &[], &[]), before);
}

#[motsu::test]
fn accept_ownership_reverts_when_not_pending(
    reg: Contract<PositionRegistry>,
    owner: Address,
    next: Address,
    intruder: Address,
) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    reg.sender(owner)
        .wired
        .owner
        .transfer_ownership(next)
        .motsu_unwrap();
    let before = snapshot(&reg, owner, &[], &[]);
    let err = reg
        .sender(intruder)
        .wired
        .owner
        .accept_ownership()
        .motsu_unwrap_err();
    assert!(
        matches!(err, OwnedError::Unauthorized(Unauthorized { caller: account }) if account == intruder)
    );
    assert_eq!(snapshot(&reg, owner, &[], &[]), before);
}

// ----------------------------------------------------------------- underlyings

#[motsu::test]
fn add_underlying_registers_and_emits(reg: Contract<PositionRegistry>, owner: Address) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    assert!(!reg.sender(owner).is_underlying(ETH));
    reg.sender(owner).add_underlying(ETH).motsu_unwrap();
    assert!(reg.sender(owner).is_underlying(ETH));
    reg.assert_emitted(&UnderlyingAdded { underlying: ETH });
}

#[motsu::test]
fn add_underlying_reverts_when_not_owner(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    let before = snapshot(&reg, owner, &[], &[]);
    let err = reg.sender(engine).add_underlying(ETH).motsu_unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)));
    assert_eq!(snapshot(&reg, owner, &[], &[]), before);
}

#[motsu::test]
fn add_underlying_reverts_when_known(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let before = snapshot(&reg, owner, &[], &[]);
    let err = reg.sender(owner).add_underlying(ETH).motsu_unwrap_err();
    assert!(
        matches!(err, Error::UnderlyingAlreadyKnown(UnderlyingAlreadyKnown { underlying }) if underlying == ETH)
    );
    assert_eq!(snapshot(&reg, owner, &[], &[]), before);
}

// --------------------------------------------------------------------- listing

#[motsu::test]
fn list_instrument_returns_packed_terms_as_id(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let strike = uw(2_500);
    let expiry = NOW + 7 * DAY;
    let id = list(&reg, engine, PUT, ETH, strike, expiry);
    let expected =
        (U256::from(PUT) << 224) | (U256::from(ETH) << 192) | (U256::from(expiry) << 128) | strike;
    assert_eq!(id, expected);
    assert_eq!(
        reg.sender(owner)
            .instrument_id(PUT, ETH, strike, expiry)
            .motsu_unwrap(),
        id
    );
    assert!(reg.sender(owner).is_listed(id));
    assert_eq!(
        reg.sender(owner).terms(id).motsu_unwrap(),
        types::InstrumentTerms {
            kind: PUT,
            underlying: ETH,
            strike,
            expiry
        }
    );
    reg.assert_emitted(&InstrumentListed {
        id,
        underlying: ETH,
        kind: PUT,
        strike,
        expiry,
    });
}

#[motsu::test]
fn list_instrument_allowed_for_owner(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = list(&reg, owner, FUTURE, BTC, U256::ZERO, NOW + DAY);
    assert!(reg.sender(owner).is_listed(id));
}

#[motsu::test]
fn list_instrument_reverts_when_caller_not_engine(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
    mallory: Address,
) {
    setup(&reg, owner, engine);
    let id = reg
        .sender(owner)
        .instrument_id(FUTURE, ETH, U256::ZERO, NOW + DAY)
        .motsu_unwrap();
    let before = snapshot(&reg, owner, &[], &[id]);
    let err = reg
        .sender(mallory)
        .list_instrument(FUTURE, ETH, U256::ZERO, NOW + DAY)
        .motsu_unwrap_err();
    assert!(
        matches!(err, Error::CallerNotEngineOrKeeper(CallerNotEngineOrKeeper { caller }) if caller == mallory)
    );
    assert_eq!(snapshot(&reg, owner, &[], &[id]), before);
}

#[motsu::test]
fn list_instrument_reverts_on_duplicate(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    let before = snapshot(&reg, owner, &[], &[id]);
    let err = reg
        .sender(engine)
        .list_instrument(FUTURE, ETH, U256::ZERO, NOW + 30 * DAY)
        .motsu_unwrap_err();
    assert!(
        matches!(err, Error::InstrumentAlreadyListed(InstrumentAlreadyListed { id: e }) if e == id)
    );
    assert_eq!(snapshot(&reg, owner, &[], &[id]), before);
}

#[motsu::test]
fn list_instrument_reverts_on_unknown_underlying(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let before = snapshot(&reg, owner, &[], &[]);
    let err = reg
        .sender(engine)
        .list_instrument(FUTURE, 3, U256::ZERO, NOW + DAY)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Error::UnknownUnderlying(UnknownUnderlying { underlying: 3 })
    ));
    assert_eq!(snapshot(&reg, owner, &[], &[]), before);
}

#[motsu::test]
fn list_instrument_reverts_on_past_expiry(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = reg
        .sender(owner)
        .instrument_id(CALL, ETH, uw(1), NOW)
        .motsu_unwrap();
    let before = snapshot(&reg, owner, &[], &[id]);
    let err = reg
        .sender(engine)
        .list_instrument(CALL, ETH, uw(1), NOW)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Error::InstrumentExpired(InstrumentExpired { id: e, expiry: NOW, timestamp: NOW }) if e == id
    ));
    assert_eq!(snapshot(&reg, owner, &[], &[id]), before);
}

#[motsu::test]
fn list_instrument_reverts_on_invalid_terms(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let far = NOW + MAX_TENOR + 1;
    let cases: [(u8, U256, u64, u8, U256); 6] = [
        (3, U256::ZERO, NOW + DAY, 1, U256::from(3)),
        (FUTURE, U256::ZERO, far, 4, U256::from(far)),
        (CALL, U256::ZERO, NOW + DAY, 5, U256::ZERO),
        (
            PUT,
            U256::from(MAX_STRIKE + 1),
            NOW + DAY,
            6,
            U256::from(MAX_STRIKE + 1),
        ),
        (CALL, U256::MAX, NOW + DAY, 6, U256::MAX),
        (FUTURE, U256::from(1), NOW + DAY, 7, U256::from(1)),
    ];
    for (kind, strike, expiry, reason, value) in cases {
        let before = snapshot(&reg, owner, &[], &[]);
        let err = reg
            .sender(engine)
            .list_instrument(kind, ETH, strike, expiry)
            .motsu_unwrap_err();
        assert!(
            matches!(err, Error::InvalidTerms(InvalidTerms { reason: r, value: v }) if r == reason && v == value),
            "kind {kind} strike {strike}: {err:?}"
        );
        assert_eq!(snapshot(&reg, owner, &[], &[]), before);
    }
    // The bounds themselves list.
    list(
        &reg,
        engine,
        CALL,
        ETH,
        U256::from(MIN_STRIKE),
        NOW + MAX_TENOR,
    );
    list(&reg, engine, PUT, ETH, U256::from(MAX_STRIKE), NOW + 1);
}

#[motsu::test]
fn instrument_id_matches_core_packing(reg: Contract<PositionRegistry>, owner: Address) {
    let terms = Terms {
        kind: Kind::Future,
        underlying: 0xdead_beef,
        expiry: u64::MAX,
        strike: 0,
    };
    let id = reg
        .sender(owner)
        .instrument_id(FUTURE, 0xdead_beef, U256::ZERO, u64::MAX)
        .motsu_unwrap();
    assert_eq!(id, U256::from_be_bytes(instrument::pack(&terms)));
    let err = reg
        .sender(owner)
        .instrument_id(9, 1, U256::ZERO, 1)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidTerms(InvalidTerms { reason: 1, .. })
    ));
}

#[motsu::test]
fn terms_reverts_when_unlisted(reg: Contract<PositionRegistry>, owner: Address) {
    let err = reg.sender(owner).terms(U256::from(5)).motsu_unwrap_err();
    assert!(
        matches!(err, Error::UnknownInstrument(UnknownInstrument { id }) if id == U256::from(5))
    );
}

// ------------------------------------------------------------------ parameters

#[motsu::test]
fn set_max_positions_sets_and_emits(reg: Contract<PositionRegistry>, owner: Address) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    reg.sender(owner)
        .set_max_positions(U256::from(128))
        .motsu_unwrap();
    assert_eq!(reg.sender(owner).max_positions(), 128);
    reg.assert_emitted(&MaxPositionsSet {
        maxPositions: U256::from(128),
    });
}

#[motsu::test]
fn set_max_positions_reverts_out_of_bounds(reg: Contract<PositionRegistry>, owner: Address) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    for value in [U256::ZERO, U256::from(129), U256::MAX] {
        let before = snapshot(&reg, owner, &[], &[]);
        let err = reg
            .sender(owner)
            .set_max_positions(value)
            .motsu_unwrap_err();
        assert!(matches!(
            err,
            Error::OutOfRange(OutOfRange { value: v, min, max })
                if v == value && min == U256::from(1) && max == U256::from(128)
        ));
        assert_eq!(snapshot(&reg, owner, &[], &[]), before);
    }
}

#[motsu::test]
fn set_max_positions_reverts_when_not_owner(
    reg: Contract<PositionRegistry>,
    owner: Address,
    other: Address,
) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    let before = snapshot(&reg, owner, &[], &[]);
    let err = reg
        .sender(other)
        .set_max_positions(U256::from(3))
        .motsu_unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)));
    assert_eq!(snapshot(&reg, owner, &[], &[]), before);
}

#[motsu::test]
fn set_open_interest_cap_sets_and_emits(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    reg.sender(owner)
        .set_open_interest_cap(id, uw(10))
        .motsu_unwrap();
    assert_eq!(reg.sender(owner).open_interest_cap(id), uw(10));
    reg.assert_emitted(&OpenInterestCapSet { id, cap: uw(10) });
}

/// The listing flag and the cap share one word (0: not listed; 1 + cap): on random
/// sequences of caps for a listed instrument and a known underlying (0, the largest,
/// one above it, random widths), each is read back as set, a refused cap changes
/// nothing (no rollback here: a refusal must come before any write), and nothing
/// unlists or lists anything (another listed instrument stays listed and uncapped; an id
/// never listed stays unlisted, uncapped and unsettable).
#[motsu::test]
fn caps_and_listing_share_a_word_without_touching_each_other(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    let other = eth_call(&reg, engine, 2_000);
    let never = U256::from_be_bytes(instrument::pack(&Terms {
        kind: instrument::Kind::Call,
        underlying: ETH,
        expiry: NOW + 40 * DAY,
        strike: 3_000 * WAD as u128,
    }));
    assert!(reg.sender(owner).is_listed(other));
    let mut rng = Rng(0x0c0f_fee5);
    let (mut cap, mut u_cap) = (U256::ZERO, U256::ZERO);
    for k in 0..200 {
        let value = match rng.below(5) {
            0 => U256::ZERO,
            1 => U256::from(MAX_CAP),
            2 => U256::from(MAX_CAP) + U256::from(1u8),
            3 => U256::from(rng.next()),
            _ => U256::from(rng.next()) << (rng.below(80) as usize),
        };
        let fits = value <= U256::from(MAX_CAP);
        if rng.below(2) == 0 {
            let r = reg.sender(owner).set_open_interest_cap(id, value);
            match r {
                Ok(()) => cap = value,
                Err(Error::OutOfRange(OutOfRange { value: v, max, .. })) => {
                    assert!(!fits && v == value && max == U256::from(MAX_CAP), "{k}")
                }
                Err(e) => panic!("{k}: {e:?}"),
            }
        } else {
            let r = reg
                .sender(owner)
                .set_underlying_open_interest_cap(ETH, value);
            match r {
                Ok(()) => u_cap = value,
                Err(Error::OutOfRange(OutOfRange { value: v, .. })) => {
                    assert!(!fits && v == value, "{k}")
                }
                Err(e) => panic!("{k}: {e:?}"),
            }
        }
        assert_eq!(reg.sender(owner).open_interest_cap(id), cap, "{k}");
        assert_eq!(
            reg.sender(owner).underlying_open_interest_cap(ETH),
            u_cap,
            "{k}"
        );
        assert!(reg.sender(owner).is_listed(id), "{k}");
        assert!(reg.sender(owner).is_underlying(ETH), "{k}");
        assert!(reg.sender(owner).is_listed(other), "{k}");
        assert_eq!(
            reg.sender(owner).open_interest_cap(other),
            U256::ZERO,
            "{k}"
        );
        assert!(!reg.sender(owner).is_listed(never), "{k}");
        assert_eq!(
            reg.sender(owner).open_interest_cap(never),
            U256::ZERO,
            "{k}"
        );
    }
    assert!(matches!(
        reg.sender(owner).set_open_interest_cap(never, U256::ZERO),
        Err(Error::UnknownInstrument(_))
    ));
    assert!(!reg.sender(owner).is_listed(never));
}

#[motsu::test]
fn set_open_interest_cap_reverts_on_bad_input(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    let before = snapshot(&reg, owner, &[], &[id]);
    let err = reg
        .sender(engine)
        .set_open_interest_cap(id, uw(1))
        .motsu_unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)));
    let err = reg
        .sender(owner)
        .set_open_interest_cap(id + U256::from(1), uw(1))
        .motsu_unwrap_err();
    assert!(matches!(err, Error::UnknownInstrument(_)));
    let too_big = U256::from(u128::MAX) + U256::from(1);
    let err = reg
        .sender(owner)
        .set_open_interest_cap(id, too_big)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Error::OutOfRange(OutOfRange { value, .. }) if value == too_big
    ));
    assert_eq!(snapshot(&reg, owner, &[], &[id]), before);
}

#[motsu::test]
fn set_underlying_open_interest_cap_sets_and_reverts(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    reg.sender(owner)
        .set_underlying_open_interest_cap(ETH, uw(5))
        .motsu_unwrap();
    assert_eq!(reg.sender(owner).underlying_open_interest_cap(ETH), uw(5));
    reg.assert_emitted(&UnderlyingOpenInterestCapSet {
        underlying: ETH,
        cap: uw(5),
    });
    let before = snapshot(&reg, owner, &[], &[]);
    let err = reg
        .sender(owner)
        .set_underlying_open_interest_cap(3, uw(5))
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Error::UnknownUnderlying(UnknownUnderlying { underlying: 3 })
    ));
    let err = reg
        .sender(engine)
        .set_underlying_open_interest_cap(ETH, uw(6))
        .motsu_unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)));
    let err = reg
        .sender(owner)
        .set_underlying_open_interest_cap(ETH, U256::MAX)
        .motsu_unwrap_err();
    assert!(matches!(err, Error::OutOfRange(_)));
    assert_eq!(snapshot(&reg, owner, &[], &[]), before);
}

// ---------------------------------------------------------------------- trades

#[motsu::test]
fn apply_trade_moves_size_from_seller_to_buyer(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = eth_call(&reg, engine, 3_000);
    let (rb, rs) = trade(&reg, engine, acct(A), acct(B), id, w(2), w(150));
    assert_eq!((rb, rs), (I256::ZERO, I256::ZERO));
    let r = reg.sender(owner);
    assert_eq!(r.position_of(acct(A), id), (w(2), I256::ZERO));
    assert_eq!(r.position_of(acct(B), id), (w(-2), I256::ZERO));
    assert_eq!(r.position_count(acct(A)), U256::from(1));
    assert_eq!(
        r.get_positions(acct(B)).parts(),
        (vec![id], vec![w(-2)], vec![I256::ZERO])
    );
    assert_eq!(r.open_interest(id), uw(2));
    assert_eq!(r.underlying_open_interest(ETH), uw(2));
    reg.assert_emitted(&PositionChanged {
        account: acct(A),
        id,
        size: w(2),
        entryNotional: I256::ZERO,
    });
    reg.assert_emitted(&PositionChanged {
        account: acct(B),
        id,
        size: w(-2),
        entryNotional: I256::ZERO,
    });
    reg.assert_emitted(&TradeApplied {
        buyer: acct(A),
        seller: acct(B),
        id,
        size: w(2),
        price: w(150),
        buyerRealized: I256::ZERO,
        sellerRealized: I256::ZERO,
    });
}

#[motsu::test]
fn apply_trade_futures_track_entry_and_realise_on_reduce(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    trade(&reg, engine, acct(A), acct(B), id, w(10), w(100));
    assert_eq!(reg.sender(owner).position_of(acct(A), id), (w(10), w(1000)));
    assert_eq!(
        reg.sender(owner).position_of(acct(B), id),
        (w(-10), w(-1000))
    );
    // A sells 4 to C at 120: A realises +80; C opens long 4 at 120.
    let (rc, ra) = trade(&reg, engine, acct(C), acct(A), id, w(4), w(120));
    assert_eq!((i(rc), i(ra)), (0, 80 * WAD));
    assert_eq!(reg.sender(owner).position_of(acct(A), id), (w(6), w(600)));
    assert_eq!(reg.sender(owner).position_of(acct(C), id), (w(4), w(480)));
    // B buys back 10 from A (A flips to short 4 at 90): B realises -10*(90-100)... B
    // was short 10 at 100 and buys at 90: +100. A closes 6 (entry 600) at 90: -60 and
    // opens short 4 at 90 (entry -360).
    let (rb, ra) = trade(&reg, engine, acct(B), acct(A), id, w(10), w(90));
    assert_eq!((i(rb), i(ra)), (100 * WAD, -60 * WAD));
    assert_eq!(
        reg.sender(owner).position_of(acct(B), id),
        (I256::ZERO, I256::ZERO)
    );
    assert_eq!(reg.sender(owner).position_count(acct(B)), U256::ZERO);
    assert_eq!(reg.sender(owner).position_of(acct(A), id), (w(-4), w(-360)));
    assert_eq!(reg.sender(owner).open_interest(id), uw(4));
}

#[motsu::test]
fn apply_trade_swap_removes_closed_positions(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let ids = [
        eth_call(&reg, engine, 1_000),
        eth_call(&reg, engine, 2_000),
        eth_call(&reg, engine, 3_000),
    ];
    for id in ids {
        trade(&reg, engine, acct(A), acct(B), id, w(1), w(1));
    }
    // Close the first: the last moves into its slot.
    trade(&reg, engine, acct(B), acct(A), ids[0], w(1), w(1));
    let r = reg.sender(owner);
    assert_eq!(r.get_positions(acct(A)).parts().0, vec![ids[2], ids[1]]);
    assert_eq!(r.position_of(acct(A), ids[2]), (w(1), I256::ZERO));
    assert_eq!(r.position_of(acct(A), ids[0]), (I256::ZERO, I256::ZERO));
    assert_eq!(r.position_count(acct(A)), U256::from(2));
    // Close the last in storage order, then the rest.
    trade(&reg, engine, acct(B), acct(A), ids[1], w(1), w(1));
    trade(&reg, engine, acct(B), acct(A), ids[2], w(1), w(1));
    let r = reg.sender(owner);
    assert_eq!(r.get_positions(acct(A)).parts(), (vec![], vec![], vec![]));
    assert_eq!(r.get_positions(acct(B)).parts(), (vec![], vec![], vec![]));
    assert_eq!(r.underlying_open_interest(ETH), U256::ZERO);
    reg.assert_emitted(&PositionChanged {
        account: acct(A),
        id: ids[2],
        size: I256::ZERO,
        entryNotional: I256::ZERO,
    });
}

fn assert_trade_reverts(
    reg: &Contract<PositionRegistry>,
    caller: Address,
    owner: Address,
    args: (U256, U256, U256, I256, I256),
    ids: &[U256],
    check: impl Fn(&Error) -> bool,
) {
    let before = snapshot(reg, owner, &accounts(), ids);
    let err = reg
        .sender(caller)
        .apply_trade(args.0, args.1, args.2, args.3, args.4)
        .motsu_unwrap_err();
    assert!(check(&err), "unexpected error {err:?}");
    assert_eq!(snapshot(reg, owner, &accounts(), ids), before);
}

#[motsu::test]
fn apply_trade_reverts_when_caller_not_engine(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    assert_trade_reverts(
        &reg,
        owner,
        owner,
        (acct(A), acct(B), id, w(1), w(1)),
        &[id],
        |e| matches!(e, Error::CallerNotEngineOrKeeper(CallerNotEngineOrKeeper { caller }) if *caller == owner),
    );
}

#[motsu::test]
fn apply_trade_reverts_before_engine_is_set(reg: Contract<PositionRegistry>, owner: Address) {
    reg.sender(owner).constructor(owner).motsu_unwrap();
    let err = reg
        .sender(Address::ZERO)
        .apply_trade(acct(A), acct(B), U256::ZERO, w(1), w(1))
        .motsu_unwrap_err();
    assert!(matches!(err, Error::CallerNotEngineOrKeeper(_)));
}

#[motsu::test]
fn apply_trade_reverts_on_zero_or_negative_size(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(B), id, I256::ZERO, w(1)),
        &[id],
        |e| matches!(e, Error::ZeroSize(_)),
    );
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(B), id, w(-1), w(1)),
        &[id],
        |e| matches!(e, Error::NegativeSize(NegativeSize { size }) if *size == w(-1)),
    );
}

#[motsu::test]
fn apply_trade_reverts_on_size_overflow(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = eth_call(&reg, engine, 1);
    let huge = to_i256(i128::MAX) + I256::ONE;
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(B), id, huge, w(1)),
        &[id],
        |e| matches!(e, Error::SizeOverflow(SizeOverflow { account, id: i }) if *account == acct(A) && *i == id),
    );
    // A position that would leave i128.
    trade(&reg, engine, acct(A), acct(B), id, to_i256(i128::MAX), w(1));
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(C), id, I256::ONE, w(1)),
        &[id],
        |e| matches!(e, Error::SizeOverflow(SizeOverflow { account, .. }) if *account == acct(A)),
    );
    // A futures notional that would leave i128.
    let f = future(&reg, engine);
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(B), f, w(1 << 40), w(1 << 40)),
        &[f],
        |e| matches!(e, Error::SizeOverflow(_)),
    );
}

#[motsu::test]
fn apply_trade_reverts_on_same_account(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(A), id, w(1), w(1)),
        &[id],
        |e| matches!(e, Error::SameAccount(SameAccount { account }) if *account == acct(A)),
    );
}

#[motsu::test]
fn apply_trade_reverts_on_unknown_instrument(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = reg
        .sender(owner)
        .instrument_id(FUTURE, ETH, U256::ZERO, NOW + DAY)
        .motsu_unwrap();
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(B), id, w(1), w(1)),
        &[id],
        |e| matches!(e, Error::UnknownInstrument(UnknownInstrument { id: i }) if *i == id),
    );
}

#[motsu::test]
fn apply_trade_reverts_on_expired_instrument(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = list_expired(
        &reg,
        owner,
        Terms {
            kind: Kind::Future,
            underlying: ETH,
            expiry: NOW - DAY,
            strike: 0,
        },
    );
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(B), id, w(1), w(1)),
        &[id],
        |e| {
            matches!(e, Error::InstrumentExpired(InstrumentExpired { id: i, expiry, timestamp })
            if *i == id && *expiry == NOW - DAY && *timestamp == NOW)
        },
    );
    // Expiry == now is expired too.
    let id = list_expired(
        &reg,
        owner,
        Terms {
            kind: Kind::Call,
            underlying: ETH,
            expiry: NOW,
            strike: MIN_STRIKE,
        },
    );
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(B), id, w(1), w(1)),
        &[id],
        |e| matches!(e, Error::InstrumentExpired(_)),
    );
}

#[motsu::test]
fn apply_trade_reverts_when_account_frozen(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    reg.sender(engine).set_frozen(acct(B), true).motsu_unwrap();
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(B), id, w(1), w(1)),
        &[id],
        |e| matches!(e, Error::AccountFrozen(AccountFrozen { account }) if *account == acct(B)),
    );
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(B), acct(A), id, w(1), w(1)),
        &[id],
        |e| matches!(e, Error::AccountFrozen(AccountFrozen { account }) if *account == acct(B)),
    );
    reg.sender(engine).set_frozen(acct(B), false).motsu_unwrap();
    trade(&reg, engine, acct(A), acct(B), id, w(1), w(1));
}

#[motsu::test]
fn apply_trade_reverts_on_invalid_futures_price(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    for price in [I256::ZERO, w(-1), to_i256(i128::MAX) + I256::ONE] {
        assert_trade_reverts(
            &reg,
            engine,
            owner,
            (acct(A), acct(B), id, w(1), price),
            &[id],
            |e| matches!(e, Error::InvalidPrice(InvalidPrice { price: p }) if *p == price),
        );
    }
}

#[motsu::test]
fn apply_trade_reverts_when_too_many_positions(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    reg.sender(owner)
        .set_max_positions(U256::from(2))
        .motsu_unwrap();
    let ids = [
        eth_call(&reg, engine, 1_000),
        eth_call(&reg, engine, 2_000),
        eth_call(&reg, engine, 3_000),
    ];
    trade(&reg, engine, acct(A), acct(B), ids[0], w(1), w(1));
    trade(&reg, engine, acct(A), acct(C), ids[1], w(1), w(1));
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(C), ids[2], w(1), w(1)),
        &ids,
        |e| {
            matches!(e, Error::TooManyPositions(TooManyPositions { account, max })
            if *account == acct(A) && *max == U256::from(2))
        },
    );
    // The seller side counts too.
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(C), acct(A), ids[2], w(1), w(1)),
        &ids,
        |e| matches!(e, Error::TooManyPositions(TooManyPositions { account, .. }) if *account == acct(A)),
    );
    // Changing an existing position needs no new slot.
    trade(&reg, engine, acct(A), acct(B), ids[0], w(1), w(1));
    // A lowered bound blocks new positions but not reductions.
    reg.sender(owner)
        .set_max_positions(U256::from(1))
        .motsu_unwrap();
    trade(&reg, engine, acct(B), acct(A), ids[0], w(1), w(1));
    assert_eq!(reg.sender(owner).position_count(acct(A)), U256::from(2));
}

#[motsu::test]
fn apply_trade_reverts_above_open_interest_cap(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    reg.sender(owner)
        .set_open_interest_cap(id, uw(5))
        .motsu_unwrap();
    trade(&reg, engine, acct(A), acct(B), id, w(5), w(100));
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(C), acct(B), id, w(1), w(100)),
        &[id],
        |e| {
            matches!(e, Error::OpenInterestCapExceeded(OpenInterestCapExceeded { id: i, cap, openInterest: after })
            if *i == id && *cap == uw(5) && *after == uw(6))
        },
    );
    // Moving a long between accounts keeps open interest: allowed at the cap.
    trade(&reg, engine, acct(C), acct(A), id, w(1), w(100));
    // Below a lowered cap, trades that reduce open interest still go through.
    reg.sender(owner)
        .set_open_interest_cap(id, uw(1))
        .motsu_unwrap();
    trade(&reg, engine, acct(B), acct(A), id, w(2), w(100));
    assert_eq!(reg.sender(owner).open_interest(id), uw(3));
}

#[motsu::test]
fn apply_trade_reverts_above_underlying_open_interest_cap(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let f = future(&reg, engine);
    let c = eth_call(&reg, engine, 3_000);
    reg.sender(owner)
        .set_underlying_open_interest_cap(ETH, uw(3))
        .motsu_unwrap();
    trade(&reg, engine, acct(A), acct(B), f, w(2), w(100));
    assert_trade_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(B), c, w(2), w(1)),
        &[f, c],
        |e| {
            matches!(e, Error::UnderlyingOpenInterestCapExceeded(UnderlyingOpenInterestCapExceeded { underlying, cap, openInterest: after })
            if *underlying == ETH && *cap == uw(3) && *after == uw(4))
        },
    );
    trade(&reg, engine, acct(A), acct(B), c, w(1), w(1));
    assert_eq!(reg.sender(owner).underlying_open_interest(ETH), uw(3));
}

// ------------------------------------------------------------------- freezing

#[motsu::test]
fn set_frozen_sets_and_emits(reg: Contract<PositionRegistry>, owner: Address, engine: Address) {
    setup(&reg, owner, engine);
    reg.sender(engine).set_frozen(acct(A), true).motsu_unwrap();
    assert!(reg.sender(owner).is_frozen(acct(A)));
    reg.assert_emitted(&FrozenSet {
        account: acct(A),
        frozen: true,
    });
}

#[motsu::test]
fn set_frozen_reverts_when_caller_not_engine(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let before = snapshot(&reg, owner, &accounts(), &[]);
    let err = reg
        .sender(owner)
        .set_frozen(acct(A), true)
        .motsu_unwrap_err();
    assert!(matches!(err, Error::CallerNotEngineOrKeeper(_)));
    assert_eq!(snapshot(&reg, owner, &accounts(), &[]), before);
}

// -------------------------------------------------------------- fraction moves

#[motsu::test]
fn move_fraction_moves_part_of_every_position(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let f = future(&reg, engine);
    let c = eth_call(&reg, engine, 3_000);
    trade(&reg, engine, acct(A), acct(B), f, w(10), w(100));
    trade(&reg, engine, acct(B), acct(A), c, w(4), w(7));
    // A is frozen (being liquidated); a quarter moves to C.
    reg.sender(engine).set_frozen(acct(A), true).motsu_unwrap();
    reg.sender(engine)
        .move_fraction(acct(A), acct(C), U256::from(WAD / 4))
        .motsu_unwrap();
    let r = reg.sender(owner);
    assert_eq!(r.position_of(acct(A), f), (to_i256(75 * WAD / 10), w(750)));
    assert_eq!(r.position_of(acct(C), f), (to_i256(25 * WAD / 10), w(250)));
    assert_eq!(r.position_of(acct(A), c), (w(-3), I256::ZERO));
    assert_eq!(r.position_of(acct(C), c), (w(-1), I256::ZERO));
    assert_eq!(r.open_interest(f), uw(10));
    assert_eq!(r.open_interest(c), uw(4));
    reg.assert_emitted(&FractionMoved {
        from: acct(A),
        to: acct(C),
        fractionWad: U256::from(WAD / 4),
    });
    reg.assert_emitted(&PositionChanged {
        account: acct(C),
        id: c,
        size: w(-1),
        entryNotional: I256::ZERO,
    });
}

#[motsu::test]
fn move_fraction_of_one_moves_everything(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let f = future(&reg, engine);
    let c = eth_call(&reg, engine, 3_000);
    trade(
        &reg,
        engine,
        acct(A),
        acct(B),
        f,
        to_i256(WAD / 3),
        to_i256(WAD / 7),
    );
    trade(&reg, engine, acct(B), acct(A), c, w(4), w(7));
    let before_a = reg.sender(owner).get_positions(acct(A)).parts();
    reg.sender(engine)
        .move_fraction(acct(A), acct(C), U256::from(WAD))
        .motsu_unwrap();
    let r = reg.sender(owner);
    assert_eq!(r.position_count(acct(A)), U256::ZERO);
    let mut after_c = r.get_positions(acct(C)).parts();
    // Same positions, possibly in another order.
    let mut expected = before_a;
    let sort = |p: &mut (Vec<U256>, Vec<I256>, Vec<I256>)| {
        let mut rows: Vec<_> = (0..p.0.len()).map(|k| (p.0[k], p.1[k], p.2[k])).collect();
        rows.sort();
        *p = (
            rows.iter().map(|x| x.0).collect(),
            rows.iter().map(|x| x.1).collect(),
            rows.iter().map(|x| x.2).collect(),
        );
    };
    sort(&mut after_c);
    sort(&mut expected);
    assert_eq!(after_c, expected);
}

#[motsu::test]
fn move_fraction_nets_with_receiver_and_keeps_residual_entry(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let f = future(&reg, engine);
    // A long 4 at 100, C short 4 at 120 (B is the other side of both).
    trade(&reg, engine, acct(A), acct(B), f, w(4), w(100));
    trade(&reg, engine, acct(B), acct(C), f, w(4), w(120));
    reg.sender(engine)
        .move_fraction(acct(A), acct(C), U256::from(WAD))
        .motsu_unwrap();
    let r = reg.sender(owner);
    // C: size 0, entry 400 - 480 = -80 (its +80 gain, realised at its next fill or
    // expiry close); the slot stays.
    assert_eq!(r.position_of(acct(C), f), (I256::ZERO, w(-80)));
    assert_eq!(r.position_count(acct(C)), U256::from(1));
    assert_eq!(r.position_count(acct(A)), U256::ZERO);
    // B is flat, A's long went to C: nobody is long.
    assert_eq!(r.open_interest(f), U256::ZERO);
    // C's next fill realises it.
    let (rc, _) = trade(&reg, engine, acct(C), acct(B), f, w(1), w(110));
    assert_eq!(i(rc), 80 * WAD);
    assert_eq!(reg.sender(owner).position_of(acct(C), f), (w(1), w(110)));
}

#[motsu::test]
fn move_fraction_removes_receiver_positions_that_net_to_nothing(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    reg.sender(owner)
        .set_max_positions(U256::from(2))
        .motsu_unwrap();
    let c1 = eth_call(&reg, engine, 1_000);
    let c2 = eth_call(&reg, engine, 2_000);
    let c3 = eth_call(&reg, engine, 3_000);
    // A: +1 c1, +1 c3. C: -1 c1, +1 c2 (full).
    trade(&reg, engine, acct(A), acct(B), c1, w(1), w(1));
    trade(&reg, engine, acct(A), acct(B), c3, w(1), w(1));
    trade(&reg, engine, acct(B), acct(C), c1, w(1), w(1));
    trade(&reg, engine, acct(C), acct(B), c2, w(1), w(1));
    // C receives c1 (nets to zero, removed) and c3 (new): still two positions.
    reg.sender(engine)
        .move_fraction(acct(A), acct(C), U256::from(WAD))
        .motsu_unwrap();
    let r = reg.sender(owner);
    assert_eq!(r.position_count(acct(C)), U256::from(2));
    assert_eq!(r.position_of(acct(C), c1), (I256::ZERO, I256::ZERO));
    assert_eq!(r.position_of(acct(C), c3), (w(1), I256::ZERO));
    // B is flat in c1 and A's long cancelled C's short.
    assert_eq!(r.open_interest(c1), U256::ZERO);
    assert_eq!(r.open_interest(c3), uw(1));
}

fn assert_move_reverts(
    reg: &Contract<PositionRegistry>,
    caller: Address,
    owner: Address,
    args: (U256, U256, U256),
    ids: &[U256],
    check: impl Fn(&Error) -> bool,
) {
    let before = snapshot(reg, owner, &accounts(), ids);
    let err = reg
        .sender(caller)
        .move_fraction(args.0, args.1, args.2)
        .motsu_unwrap_err();
    assert!(check(&err), "unexpected error {err:?}");
    assert_eq!(snapshot(reg, owner, &accounts(), ids), before);
}

#[motsu::test]
fn move_fraction_reverts_on_bad_input(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let f = future(&reg, engine);
    trade(&reg, engine, acct(A), acct(B), f, w(1), w(1));
    let half = U256::from(WAD / 2);
    assert_move_reverts(&reg, owner, owner, (acct(A), acct(C), half), &[f], |e| {
        matches!(e, Error::CallerNotEngineOrKeeper(_))
    });
    for bad in [U256::ZERO, U256::from(WAD as u128 + 1)] {
        assert_move_reverts(&reg, engine, owner, (acct(A), acct(C), bad), &[f], |e| {
            matches!(e, Error::OutOfRange(OutOfRange { value, min, max })
                if *value == bad && *min == U256::from(1) && *max == U256::from(WAD as u128))
        });
    }
    assert_move_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(A), half),
        &[f],
        |e| matches!(e, Error::SameAccount(SameAccount { account }) if *account == acct(A)),
    );
    reg.sender(engine).set_frozen(acct(C), true).motsu_unwrap();
    assert_move_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(C), half),
        &[f],
        |e| matches!(e, Error::AccountFrozen(AccountFrozen { account }) if *account == acct(C)),
    );
}

#[motsu::test]
fn move_fraction_reverts_when_receiver_would_exceed_bound(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    reg.sender(owner)
        .set_max_positions(U256::from(2))
        .motsu_unwrap();
    let ids = [
        eth_call(&reg, engine, 1_000),
        eth_call(&reg, engine, 2_000),
        eth_call(&reg, engine, 3_000),
    ];
    trade(&reg, engine, acct(A), acct(B), ids[0], w(1), w(1));
    trade(&reg, engine, acct(A), acct(B), ids[1], w(1), w(1));
    trade(&reg, engine, acct(C), acct(4), ids[2], w(1), w(1));
    assert_move_reverts(
        &reg,
        engine,
        owner,
        (acct(A), acct(C), U256::from(WAD / 2)),
        &ids,
        |e| {
            matches!(e, Error::TooManyPositions(TooManyPositions { account, max })
            if *account == acct(C) && *max == U256::from(2))
        },
    );
}

// ------------------------------------------------------------- expiry closes

fn expired_call(reg: &Contract<PositionRegistry>, owner: Address, strike: u128) -> U256 {
    list_expired(
        reg,
        owner,
        Terms {
            kind: Kind::Call,
            underlying: ETH,
            expiry: NOW - DAY,
            strike: strike * WAD as u128,
        },
    )
}

/// Positions in an instrument that has since expired: written through `store` as a
/// trade made before expiry would have left them.
fn seed_position(
    reg: &Contract<PositionRegistry>,
    owner: Address,
    account: U256,
    id: U256,
    size: i128,
    entry: i128,
) {
    let underlying = instrument::unpack(word_of(id)).unwrap().underlying;
    let position = Position {
        size,
        entry_notional: entry,
    };
    let mut r = reg.sender(owner);
    r.update_open_interest(id, underlying, position.long(), 0, false)
        .unwrap();
    r.store(account, id, position);
}

#[motsu::test]
fn close_expired_returns_settlement_value_and_removes_position(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = expired_call(&reg, owner, 100);
    seed_position(&reg, owner, acct(A), id, 2 * WAD, 0);
    seed_position(&reg, owner, acct(B), id, -2 * WAD, 0);
    // A frozen account can still be settled.
    reg.sender(engine).set_frozen(acct(B), true).motsu_unwrap();
    let va = reg
        .sender(engine)
        .close_expired(acct(A), id, w(130))
        .motsu_unwrap();
    let vb = reg
        .sender(engine)
        .close_expired(acct(B), id, w(130))
        .motsu_unwrap();
    assert_eq!((i(va), i(vb)), (60 * WAD, -60 * WAD));
    let r = reg.sender(owner);
    assert_eq!(r.position_count(acct(A)), U256::ZERO);
    assert_eq!(r.position_count(acct(B)), U256::ZERO);
    assert_eq!(r.open_interest(id), U256::ZERO);
    assert_eq!(r.underlying_open_interest(ETH), U256::ZERO);
    reg.assert_emitted(&PositionSettled {
        account: acct(A),
        id,
        size: w(2),
        entryNotional: I256::ZERO,
        settlementPrice: w(130),
        value: w(60),
    });
}

#[motsu::test]
fn close_expired_settles_futures_against_entry(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = list_expired(
        &reg,
        owner,
        Terms {
            kind: Kind::Future,
            underlying: BTC,
            expiry: NOW,
            strike: 0,
        },
    );
    seed_position(&reg, owner, acct(A), id, -3 * WAD, -300 * WAD);
    let v = reg
        .sender(engine)
        .close_expired(acct(A), id, w(90))
        .motsu_unwrap();
    assert_eq!(i(v), 30 * WAD);
}

fn assert_close_reverts(
    reg: &Contract<PositionRegistry>,
    caller: Address,
    owner: Address,
    args: (U256, U256, I256),
    ids: &[U256],
    check: impl Fn(&Error) -> bool,
) {
    let before = snapshot(reg, owner, &accounts(), ids);
    let err = reg
        .sender(caller)
        .close_expired(args.0, args.1, args.2)
        .motsu_unwrap_err();
    assert!(check(&err), "unexpected error {err:?}");
    assert_eq!(snapshot(reg, owner, &accounts(), ids), before);
}

#[motsu::test]
fn close_expired_reverts_when_not_expired(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = future(&reg, engine);
    trade(&reg, engine, acct(A), acct(B), id, w(1), w(1));
    assert_close_reverts(&reg, engine, owner, (acct(A), id, w(1)), &[id], |e| {
        matches!(e, Error::InstrumentNotExpired(InstrumentNotExpired { id: i, expiry, timestamp })
            if *i == id && *expiry == NOW + 30 * DAY && *timestamp == NOW)
    });
}

#[motsu::test]
fn close_expired_reverts_on_bad_input(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = expired_call(&reg, owner, 100);
    seed_position(&reg, owner, acct(A), id, WAD, 0);
    let ids = [id];
    assert_close_reverts(&reg, owner, owner, (acct(A), id, w(1)), &ids, |e| {
        matches!(e, Error::CallerNotEngineOrKeeper(_))
    });
    let unknown = id + U256::from(1);
    assert_close_reverts(
        &reg,
        engine,
        owner,
        (acct(A), unknown, w(1)),
        &ids,
        |e| matches!(e, Error::UnknownInstrument(UnknownInstrument { id: i }) if *i == unknown),
    );
    assert_close_reverts(
        &reg,
        engine,
        owner,
        (acct(B), id, w(1)),
        &ids,
        |e| matches!(e, Error::NoPosition(NoPosition { account, id: i }) if *account == acct(B) && *i == id),
    );
    assert_close_reverts(
        &reg,
        engine,
        owner,
        (acct(A), id, w(-1)),
        &ids,
        |e| matches!(e, Error::InvalidPrice(InvalidPrice { price }) if *price == w(-1)),
    );
}

// ------------------------------------------------------------ position storage

const D: u64 = 4;

/// Checks the storage layout of `account` (`AccountState`, *Position storage*) over
/// indices `0..span` (at least `count`): a compact head with a zero tail, or an id
/// head with a non-zero tail, and the lookup by id ([`locate`]) finding each position
/// at its own index in its own form (so no id is held twice); the compact form
/// whenever it fits; zeros past `count`. Returns, per position in
/// storage order, whether it is compact.
fn assert_layout(
    reg: &Contract<PositionRegistry>,
    anyone: Address,
    account: U256,
    span: usize,
) -> Vec<bool> {
    let r = reg.sender(anyone);
    let state = r.accounts.getter(account);
    let count = usize::from(state.count.get().to::<u8>());
    let mut forms = Vec::new();
    for k in 0..span.max(count).min(HARD_MAX_POSITIONS) {
        let head = state.heads.get(k).unwrap();
        let tail = state.tails.get(k).unwrap();
        if k >= count {
            assert_eq!(
                (head, tail),
                (U256::ZERO, U256::ZERO),
                "index {k} past count"
            );
            continue;
        }
        let (id, compact) = decode_head(head);
        let terms = instrument::unpack(word_of(id)).expect("a listed id");
        let flag = located(&state, id);
        match compact {
            Some(position) => {
                assert!(!position.is_empty(), "index {k}: empty position kept");
                assert_eq!(tail, U256::ZERO, "index {k}: compact with a tail");
                assert_eq!(flag, (k as u16 + 1) | COMPACT, "index {k}");
                assert_eq!(
                    instrument::pack_compact(&terms, &position),
                    Some(word_of(head))
                );
            }
            None => {
                let position = instrument::unpack_position(word_of(tail));
                assert!(!position.is_empty(), "index {k}: empty position kept");
                assert_eq!(flag, k as u16 + 1, "index {k}");
                assert_eq!(
                    instrument::pack_compact(&terms, &position),
                    None,
                    "index {k}: full form for a position that fits one slot"
                );
            }
        }
        forms.push(compact.is_some());
    }
    forms
}

/// Where [`locate`] finds `id` in `state`, as `index + 1`, plus [`COMPACT`] when the
/// head is in compact form (0 when it holds none).
fn located(state: &AccountState, id: U256) -> u16 {
    match locate(state, id) {
        Some((index, compact)) => (index as u16 + 1) | if compact { COMPACT } else { 0 },
        None => 0,
    }
}

/// The flag [`located`] adds for a compact head.
const COMPACT: u16 = 0x100;

/// Where the registry finds `account`'s position in `id` ([`located`]).
fn found_at(reg: &Contract<PositionRegistry>, anyone: Address, account: U256, id: U256) -> u16 {
    located(&reg.sender(anyone).accounts.getter(account), id)
}

#[motsu::test]
fn options_are_stored_in_one_slot(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let id = eth_call(&reg, engine, 3_000);
    let put = list(
        &reg,
        engine,
        PUT,
        BTC,
        U256::from(MAX_STRIKE),
        NOW + MAX_TENOR,
    );
    trade(&reg, engine, acct(A), acct(B), id, w(2), w(150));
    trade(&reg, engine, acct(B), acct(A), put, to_i256(WAD / 3), w(9));
    let r = reg.sender(owner);
    let state = r.accounts.getter(acct(A));
    let head = state.heads.get(0).unwrap();
    let terms = instrument::unpack(word_of(id)).unwrap();
    let word = instrument::pack_compact(
        &terms,
        &Position {
            size: 2 * WAD,
            entry_notional: 0,
        },
    )
    .unwrap();
    assert_eq!(head, U256::from_be_bytes(word));
    assert_eq!(state.tails.get(0).unwrap(), U256::ZERO);
    drop(state);
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), vec![true, true]);
    assert_eq!(assert_layout(&reg, owner, acct(B), 4), vec![true, true]);
    assert_eq!(found_at(&reg, owner, acct(A), put), 2 | COMPACT);
    let r = reg.sender(owner);
    assert_eq!(
        r.get_positions(acct(A)).parts(),
        (
            vec![id, put],
            vec![w(2), to_i256(-WAD / 3)],
            vec![I256::ZERO, I256::ZERO]
        )
    );
    assert_eq!(r.position_of(acct(B), put), (to_i256(WAD / 3), I256::ZERO));
}

#[motsu::test]
fn futures_and_unfit_options_fall_back_to_two_slots(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let f = future(&reg, engine);
    // 20 significant digits, above u64::MAX: the mantissa does not fit.
    let odd_strike = U256::from(98_765_432_109_876_543_211_u128);
    let odd = list(&reg, engine, CALL, ETH, odd_strike, NOW + DAY);
    let c = eth_call(&reg, engine, 1_000);
    // Beyond the 112-bit size field on both sides (long 2^111 + 1, short -2^111 - 1).
    let huge = to_i256(instrument::COMPACT_MAX_SIZE) + to_i256(2);
    trade(&reg, engine, acct(A), acct(B), f, w(3), w(100));
    trade(&reg, engine, acct(A), acct(B), odd, w(1), w(1));
    trade(&reg, engine, acct(B), acct(A), c, huge, w(1));
    assert_eq!(
        assert_layout(&reg, owner, acct(A), 4),
        vec![false, false, false]
    );
    assert_eq!(
        assert_layout(&reg, owner, acct(B), 4),
        vec![false, false, false]
    );
    let r = reg.sender(owner);
    let state = r.accounts.getter(acct(A));
    assert_eq!(state.heads.get(0).unwrap(), f);
    assert_eq!(
        state.tails.get(0).unwrap(),
        U256::from_be_bytes(instrument::pack_position(&Position {
            size: 3 * WAD,
            entry_notional: 300 * WAD,
        }))
    );
    drop(state);
    assert_eq!(found_at(&reg, owner, acct(A), c), 3);
    assert_eq!(
        r.get_positions(acct(A)).parts(),
        (
            vec![f, odd, c],
            vec![w(3), w(1), -huge],
            vec![w(300), I256::ZERO, I256::ZERO]
        )
    );
    assert_eq!(
        r.get_positions(acct(B)).parts(),
        (
            vec![f, odd, c],
            vec![w(-3), w(-1), huge],
            vec![w(-300), I256::ZERO, I256::ZERO]
        )
    );
    assert_eq!(r.position_of(acct(B), c), (huge, I256::ZERO));
}

#[motsu::test]
fn positions_switch_forms_when_size_or_entry_changes(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let c = eth_call(&reg, engine, 2_000);
    let f = future(&reg, engine);
    let max = to_i256(instrument::COMPACT_MAX_SIZE);
    // Option at the largest compact size: one slot.
    trade(&reg, engine, acct(A), acct(B), c, max, w(1));
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), vec![true]);
    // One more wei: A, long 2^111, needs two slots; B, short -2^111 (the field's
    // smallest value), still fits one.
    trade(&reg, engine, acct(A), acct(B), c, I256::ONE, w(1));
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), vec![false]);
    assert_eq!(assert_layout(&reg, owner, acct(B), 4), vec![true]);
    assert_eq!(
        reg.sender(owner).position_of(acct(B), c),
        (-max - I256::ONE, I256::ZERO)
    );
    assert_eq!(
        reg.sender(owner).get_positions(acct(A)).parts(),
        (vec![c], vec![max + I256::ONE], vec![I256::ZERO])
    );
    // And back: the tail is zeroed.
    trade(&reg, engine, acct(B), acct(A), c, I256::ONE, w(1));
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), vec![true]);
    assert_eq!(assert_layout(&reg, owner, acct(B), 4), vec![true]);
    assert_eq!(
        reg.sender(owner).get_positions(acct(B)).parts(),
        (vec![c], vec![-max], vec![I256::ZERO])
    );
    // A futures fill whose notional rounds to zero (1 wei at 0.5) leaves entry 0:
    // compact; the next fill gives it an entry: full; closing removes both slots.
    trade(
        &reg,
        engine,
        acct(A),
        acct(B),
        f,
        I256::ONE,
        to_i256(WAD / 2),
    );
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), vec![true, true]);
    assert_eq!(
        reg.sender(owner).position_of(acct(A), f),
        (I256::ONE, I256::ZERO)
    );
    // A sells 2 at 100: short 2 - 1 wei with an entry: full.
    trade(&reg, engine, acct(B), acct(A), f, w(2), w(100));
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), vec![true, false]);
    let short = w(2) - I256::ONE;
    assert_eq!(
        reg.sender(owner).get_positions(acct(A)).parts(),
        (
            vec![c, f],
            vec![max, -short],
            vec![I256::ZERO, -short * to_i256(100)]
        )
    );
    // A buys 2 at 0.5: it crosses zero to long 1 wei, opened at 0.5: the entry
    // rounds to zero and the position is compact again.
    trade(&reg, engine, acct(A), acct(B), f, w(2), to_i256(WAD / 2));
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), vec![true, true]);
    assert_eq!(
        reg.sender(owner).position_of(acct(A), f),
        (I256::ONE, I256::ZERO)
    );
    trade(&reg, engine, acct(B), acct(A), f, I256::ONE, w(100));
    trade(&reg, engine, acct(B), acct(A), c, max, w(1));
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), Vec::<bool>::new());
    assert_eq!(found_at(&reg, owner, acct(A), c), 0);
    assert_eq!(found_at(&reg, owner, acct(A), f), 0);
}

#[motsu::test]
fn swap_removal_moves_either_form_into_either_form(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let f1 = future(&reg, engine);
    let f2 = list(&reg, engine, FUTURE, BTC, U256::ZERO, NOW + 60 * DAY);
    let c1 = eth_call(&reg, engine, 1_000);
    let c2 = eth_call(&reg, engine, 2_000);
    let c3 = eth_call(&reg, engine, 3_000);
    // A: c1 (compact), f1 (full), c2 (compact), f2 (full), c3 (compact).
    for (id, size) in [(c1, 1), (f1, 2), (c2, 3), (f2, 4), (c3, 5)] {
        trade(&reg, engine, acct(A), acct(B), id, w(size), w(10));
    }
    let layout = |expected: Vec<bool>, ids: Vec<U256>| {
        assert_eq!(assert_layout(&reg, owner, acct(A), 8), expected);
        assert_eq!(reg.sender(owner).get_positions(acct(A)).parts().0, ids);
    };
    layout(
        vec![true, false, true, false, true],
        vec![c1, f1, c2, f2, c3],
    );
    // Full removed, compact moved in: the freed tail is zeroed.
    trade(&reg, engine, acct(B), acct(A), f1, w(2), w(11));
    layout(vec![true, true, true, false], vec![c1, c3, c2, f2]);
    // Compact removed, full moved in: the tail moves too.
    trade(&reg, engine, acct(B), acct(A), c1, w(1), w(1));
    layout(vec![false, true, true], vec![f2, c3, c2]);
    // Compact removed, compact moved in.
    trade(&reg, engine, acct(B), acct(A), c3, w(5), w(1));
    layout(vec![false, true], vec![f2, c2]);
    trade(&reg, engine, acct(A), acct(B), f1, w(1), w(12));
    layout(vec![false, true, false], vec![f2, c2, f1]);
    // Full removed, full moved in.
    trade(&reg, engine, acct(B), acct(A), f2, w(4), w(10));
    layout(vec![false, true], vec![f1, c2]);
    // The last one removed, each form.
    trade(&reg, engine, acct(B), acct(A), c2, w(3), w(1));
    layout(vec![false], vec![f1]);
    trade(&reg, engine, acct(B), acct(A), f1, w(1), w(12));
    layout(vec![], vec![]);
    let r = reg.sender(owner);
    assert_eq!(
        r.get_positions(acct(B)).parts(),
        (vec![], vec![], vec![]),
        "B closed everything too"
    );
    for id in [f1, f2, c1, c2, c3] {
        assert_eq!(found_at(&reg, owner, acct(A), id), 0);
        assert_eq!(r.open_interest(id), U256::ZERO);
    }
}

#[motsu::test]
fn moves_and_settlement_keep_the_forms(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    let f = future(&reg, engine);
    let c = eth_call(&reg, engine, 3_000);
    let max = instrument::COMPACT_MAX_SIZE;
    // A: long 2^111 + 1 wei of the call (full), short 10 futures (full).
    trade(
        &reg,
        engine,
        acct(A),
        acct(B),
        c,
        to_i256(max) + I256::ONE,
        w(1),
    );
    trade(&reg, engine, acct(B), acct(A), f, w(10), w(100));
    // C already holds a compact long of 2^110 wei of the call.
    let half = (max + 1) / 2;
    trade(&reg, engine, acct(C), acct(B), c, to_i256(half), w(1));
    assert_eq!(assert_layout(&reg, owner, acct(C), 4), vec![true]);
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), vec![false, false]);
    // Half moves to C: A's option (2^110 left) becomes compact; C's (2^111) full.
    reg.sender(engine)
        .move_fraction(acct(A), acct(C), U256::from(WAD / 2))
        .motsu_unwrap();
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), vec![true, false]);
    assert_eq!(assert_layout(&reg, owner, acct(C), 4), vec![false, false]);
    let r = reg.sender(owner);
    assert_eq!(
        r.get_positions(acct(A)).parts(),
        (
            vec![c, f],
            vec![to_i256(max + 1 - half), w(-5)],
            vec![I256::ZERO, w(-500)]
        )
    );
    assert_eq!(
        r.get_positions(acct(C)).parts(),
        (
            vec![c, f],
            vec![to_i256(max + 1), w(-5)],
            vec![I256::ZERO, w(-500)]
        )
    );
    // Everything of C moves back to A: C is empty, A is full in the call again.
    reg.sender(engine)
        .move_fraction(acct(C), acct(A), U256::from(WAD))
        .motsu_unwrap();
    assert_eq!(assert_layout(&reg, owner, acct(C), 4), Vec::<bool>::new());
    assert_eq!(assert_layout(&reg, owner, acct(A), 4), vec![false, false]);
    assert_eq!(
        reg.sender(owner).get_positions(acct(A)).parts(),
        (
            vec![c, f],
            vec![to_i256(max + 1 + half), w(-10)],
            vec![I256::ZERO, w(-1000)]
        )
    );

    // Settlement removes compact and full positions and zeroes their slots.
    let e = expired_call(&reg, owner, 100);
    seed_position(&reg, owner, acct(D), e, 2 * WAD, 0);
    seed_position(&reg, owner, acct(D), f, -WAD, -100 * WAD);
    seed_position(&reg, owner, acct(D), c, WAD, 0);
    assert_eq!(
        assert_layout(&reg, owner, acct(D), 4),
        vec![true, false, true]
    );
    let v = reg
        .sender(engine)
        .close_expired(acct(D), e, w(130))
        .motsu_unwrap();
    assert_eq!(i(v), 60 * WAD);
    assert_eq!(assert_layout(&reg, owner, acct(D), 4), vec![true, false]);
    let terms = instrument::unpack(word_of(f)).unwrap();
    reg.sender(engine)
        .settle(acct(D), f, &terms, w(90))
        .motsu_unwrap();
    assert_eq!(assert_layout(&reg, owner, acct(D), 4), vec![true]);
    assert_eq!(
        reg.sender(owner).get_positions(acct(D)).parts(),
        (vec![c], vec![w(1)], vec![I256::ZERO])
    );
}

// ----------------------------------------------------------- property test

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A size or price: mostly whole-ish WAD amounts with odd wei, sometimes tiny.
    fn amount(&mut self, max_units: u64) -> i128 {
        match self.below(4) {
            0 => i128::from(self.below(1_000)) + 1,
            _ => {
                i128::from(self.below(max_units) + 1) * WAD / i128::from(self.below(7) + 1)
                    + i128::from(self.below(1_000))
            }
        }
    }
}

/// Per instrument: sizes and entry notionals of settled positions, and realised sums.
#[derive(Default, Clone, Copy)]
struct Ledger {
    settled_size: i128,
    settled_entry: i128,
    realized: i128,
    paid: i128,
}

/// Settlement price of each instrument of the property test: whole numbers, so that
/// every settlement value is exact and the zero-sum check is exact too.
const SETTLE: [i128; 6] = [
    37 * WAD,
    120 * WAD,
    80 * WAD,
    41 * WAD,
    2_500 * WAD,
    33 * WAD,
];

#[motsu::test]
fn property_random_operations_keep_invariants(
    reg: Contract<PositionRegistry>,
    owner: Address,
    engine: Address,
) {
    setup(&reg, owner, engine);
    const MAX: u8 = 4;
    reg.sender(owner)
        .set_max_positions(U256::from(MAX))
        .motsu_unwrap();
    let ids = [
        list(&reg, engine, FUTURE, ETH, U256::ZERO, NOW + 30 * DAY),
        list(&reg, engine, CALL, ETH, uw(100), NOW + 30 * DAY),
        list(&reg, engine, PUT, ETH, uw(90), NOW + 60 * DAY),
        list(&reg, engine, FUTURE, BTC, U256::ZERO, NOW + 90 * DAY),
        list(&reg, engine, CALL, BTC, uw(2_000), NOW + 90 * DAY),
        list(&reg, engine, FUTURE, ETH, U256::ZERO, NOW + 180 * DAY),
    ];
    // A cap on one instrument so cap failures happen too.
    reg.sender(owner)
        .set_open_interest_cap(ids[1], uw(40))
        .motsu_unwrap();
    let accts: Vec<U256> = (1..=5).map(acct).collect();
    let mut ledger = [Ledger::default(); 6];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut failed) = (0u32, 0u32);
    // Positions seen after each step in full and in compact form.
    let mut forms = [0u32; 2];

    for step in 0..1_500 {
        let before = snapshot(&reg, owner, &accts, &ids);
        let a = accts[rng.below(5) as usize];
        let b = accts[rng.below(5) as usize];
        let k = rng.below(6) as usize;
        let id = ids[k];
        let result = match rng.below(20) {
            0..=10 => {
                let size = to_i256(rng.amount(20));
                let price = to_i256(rng.amount(200));
                reg.sender(engine)
                    .apply_trade(a, b, id, size, price)
                    .motsu_res()
                    .map(|(ra, rb)| {
                        ledger[k].realized += i(ra) + i(rb);
                        ledger[k].paid += i(ra) + i(rb);
                    })
            }
            11..=14 => {
                let fraction = if rng.below(4) == 0 {
                    WAD
                } else {
                    i128::from(rng.below(WAD as u64)) + 1
                };
                reg.sender(engine)
                    .move_fraction(a, b, U256::from(fraction as u128))
                    .motsu_res()
            }
            15..=16 => {
                let frozen = rng.below(3) == 0;
                reg.sender(engine).set_frozen(a, frozen).motsu_res()
            }
            _ => {
                // Settle one position as if the instrument had expired (the time
                // check is `instrument::is_expired`, tested in the core).
                let (size, entry) = reg.sender(owner).position_of(a, id);
                let price = to_i256(SETTLE[k]);
                let terms = instrument::unpack(word_of(id)).unwrap();
                reg.sender(engine)
                    .settle(a, id, &terms, price)
                    .motsu_res()
                    .map(|value| {
                        ledger[k].settled_size += i(size);
                        ledger[k].settled_entry += i(entry);
                        ledger[k].paid += i(value);
                    })
            }
        };
        let after = snapshot(&reg, owner, &accts, &ids);
        match result {
            Ok(()) => ok += 1,
            Err(err) => {
                failed += 1;
                assert_eq!(
                    after, before,
                    "step {step}: failed call {err:?} changed state"
                );
            }
        }

        // Invariants, after every step.
        let r = reg.sender(owner);
        let mut underlying_oi = [0u128; 3];
        for (k, id) in ids.iter().enumerate() {
            let (mut size_sum, mut entry_sum, mut long_sum) = (0i128, 0i128, 0u128);
            for account in &accts {
                let (s, e) = r.position_of(*account, *id);
                size_sum += i(s);
                entry_sum += i(e);
                long_sum += i(s).max(0) as u128;
            }
            assert_eq!(
                size_sum + ledger[k].settled_size,
                0,
                "step {step}: sizes of instrument {k} do not sum to zero"
            );
            assert_eq!(
                entry_sum + ledger[k].settled_entry - ledger[k].realized,
                0,
                "step {step}: entry notionals of instrument {k} drifted"
            );
            assert_eq!(r.open_interest(*id), U256::from(long_sum), "step {step}");
            let u = instrument::unpack(word_of(*id)).unwrap().underlying as usize;
            underlying_oi[u] += long_sum;
            // Everything paid out so far (realised amounts and settlement values)
            // plus the open positions' value at the same settlement price is
            // exactly zero: no value is created or lost, rounding included.
            let terms = instrument::unpack(word_of(*id)).unwrap();
            let mut total = ledger[k].paid;
            for account in &accts {
                let (s, e) = r.position_of(*account, *id);
                total += instrument::settlement_value(&terms, i(s), i(e), SETTLE[k]).unwrap();
            }
            assert_eq!(total, 0, "step {step}: instrument {k} is not zero-sum");
        }
        assert_eq!(
            r.underlying_open_interest(ETH),
            U256::from(underlying_oi[1])
        );
        assert_eq!(
            r.underlying_open_interest(BTC),
            U256::from(underlying_oi[2])
        );
        for account in &accts {
            for compact in assert_layout(&reg, owner, *account, usize::from(MAX) + 2) {
                forms[usize::from(compact)] += 1;
            }
            let (pids, sizes, entries) = r.get_positions(*account).parts();
            assert!(
                pids.len() <= usize::from(MAX),
                "step {step}: bound exceeded"
            );
            assert_eq!(r.position_count(*account), U256::from(pids.len()));
            for (n, pid) in pids.iter().enumerate() {
                assert!(
                    !(sizes[n].is_zero() && entries[n].is_zero()),
                    "empty slot kept"
                );
                assert_eq!(r.position_of(*account, *pid), (sizes[n], entries[n]));
            }
        }
    }
    // The walk exercised both outcomes.
    assert!(ok > 500 && failed > 50, "ok {ok} failed {failed}");
    assert!(forms[0] > 500 && forms[1] > 500, "full, compact: {forms:?}");
}

// ------------------------------------------------------ engine-facing ABI

/// A stand-in for the RiskEngine that calls the registry through the Solidity ABI the
/// engine declares, so the selectors, argument and return types are exercised by
/// motsu's router (a top-level `contract.sender(..)` call skips ABI routing).
mod engine_abi {
    #![allow(deprecated, non_snake_case)]

    use alloc::vec::Vec;

    use alloy_primitives::{Address, I256, U256};
    use stylus_sdk::{call::Call, prelude::*, storage::StorageBool};

    stylus_sdk::stylus_proc::sol_interface! {
        interface IPositionRegistry {
            function listInstrument(uint8 kind, uint32 underlying, uint256 strike, uint64 expiry) external returns (uint256 id);
            function applyTrade(uint256 buyer, uint256 seller, uint256 id, int256 size, int256 price) external returns (int256 buyerRealized, int256 sellerRealized);
            function moveFraction(uint256 from, uint256 to, uint256 fractionWad) external;
            function closeExpired(uint256 account, uint256 id, int256 settlementPrice) external returns (int256 value);
            function getPositions(uint256 account) external view returns (uint256[] ids, int256[] sizes, int256[] entryNotionals);
            function setFrozen(uint256 account, bool frozen) external;
        }
    }

    /// `getPositions`' return: ids, sizes, entry notionals.
    pub type PositionList = (Vec<U256>, Vec<I256>, Vec<I256>);

    #[storage]
    #[allow(dead_code)]
    pub struct EngineProbe {
        unused: StorageBool,
    }

    unsafe impl TopLevelStorage for EngineProbe {}

    #[public]
    impl EngineProbe {
        pub fn list(
            &mut self,
            registry: Address,
            kind: u8,
            underlying: u32,
            strike: U256,
            expiry: u64,
        ) -> Result<U256, Vec<u8>> {
            let r = IPositionRegistry::new(registry);
            Ok(r.list_instrument(Call::new_in(self), kind, underlying, strike, expiry)?)
        }

        pub fn trade(
            &mut self,
            registry: Address,
            buyer: U256,
            seller: U256,
            id: U256,
            size: I256,
            price: I256,
        ) -> Result<(I256, I256), Vec<u8>> {
            let r = IPositionRegistry::new(registry);
            Ok(r.apply_trade(Call::new_in(self), buyer, seller, id, size, price)?)
        }

        pub fn move_part(
            &mut self,
            registry: Address,
            from: U256,
            to: U256,
            fraction: U256,
        ) -> Result<(), Vec<u8>> {
            let r = IPositionRegistry::new(registry);
            Ok(r.move_fraction(Call::new_in(self), from, to, fraction)?)
        }

        pub fn close(
            &mut self,
            registry: Address,
            account: U256,
            id: U256,
            price: I256,
        ) -> Result<I256, Vec<u8>> {
            let r = IPositionRegistry::new(registry);
            Ok(r.close_expired(Call::new_in(self), account, id, price)?)
        }

        pub fn positions(
            &mut self,
            registry: Address,
            account: U256,
        ) -> Result<PositionList, Vec<u8>> {
            let r = IPositionRegistry::new(registry);
            Ok(r.get_positions(Call::new_in(self), account)?)
        }

        pub fn freeze(
            &mut self,
            registry: Address,
            account: U256,
            frozen: bool,
        ) -> Result<(), Vec<u8>> {
            let r = IPositionRegistry::new(registry);
            Ok(r.set_frozen(Call::new_in(self), account, frozen)?)
        }
    }
}

#[motsu::test]
fn engine_abi_routes_every_engine_function(
    reg: Contract<PositionRegistry>,
    probe: Contract<engine_abi::EngineProbe>,
    owner: Address,
) {
    use alloy_sol_types::SolError;

    let engine = probe.address();
    setup(&reg, owner, engine);
    let r = reg.address();
    let id = probe
        .sender(owner)
        .list(r, FUTURE, ETH, U256::ZERO, NOW + DAY)
        .motsu_unwrap();
    assert!(reg.sender(owner).is_listed(id));
    let (rb, rs) = probe
        .sender(owner)
        .trade(r, acct(A), acct(B), id, w(2), w(100))
        .motsu_unwrap();
    assert_eq!((rb, rs), (I256::ZERO, I256::ZERO));
    let (rb, rs) = probe
        .sender(owner)
        .trade(r, acct(B), acct(A), id, w(1), w(110))
        .motsu_unwrap();
    assert_eq!((i(rb), i(rs)), (-10 * WAD, 10 * WAD));
    probe.sender(owner).freeze(r, acct(A), true).motsu_unwrap();
    probe
        .sender(owner)
        .move_part(r, acct(A), acct(C), U256::from(WAD))
        .motsu_unwrap();
    assert_eq!(
        probe.sender(owner).positions(r, acct(C)).motsu_unwrap(),
        (vec![id], vec![w(1)], vec![w(100)])
    );
    assert_eq!(
        probe.sender(owner).positions(r, acct(A)).motsu_unwrap(),
        (vec![], vec![], vec![])
    );
    // Errors come back ABI-encoded, with their values.
    let err = probe
        .sender(owner)
        .close(r, acct(C), id, w(100))
        .motsu_unwrap_err();
    let expected = InstrumentNotExpired {
        id,
        expiry: NOW + DAY,
        timestamp: NOW,
    };
    assert_eq!(err, expected.abi_encode());
    let err = probe
        .sender(owner)
        .trade(r, acct(A), acct(B), id, w(1), w(1))
        .motsu_unwrap_err();
    assert_eq!(err, AccountFrozen { account: acct(A) }.abi_encode());
}
