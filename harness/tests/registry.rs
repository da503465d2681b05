//! The deployable PositionRegistry: constructor, owner and engine gating, and the paths that
//! depend on block time (listing needs a future expiry, closing needs an expired one), which
//! motsu cannot reach because its clock does not move.

mod common;
use common::*;
use margin_wasm_env::{Address, Env, I256, U256};

const DAY: u64 = 86_400;
const FUTURE: u8 = 2;
const CALL: u8 = 0;

fn setup() -> (Env, Address) {
    let mut env = Env::new();
    let reg = deploy_registry(&mut env);
    assert!(
        env.call_sol(owner(), reg, &IRegistry::setEngineCall { engine: engine() })
            .success
    );
    assert!(
        env.call_sol(
            owner(),
            reg,
            &IRegistry::addUnderlyingCall { underlying: 1 }
        )
        .success
    );
    (env, reg)
}

fn i(x: i64) -> I256 {
    I256::try_from(x).unwrap()
}

fn iwad(x: i64) -> I256 {
    i(x) * I256::try_from(10i64.pow(18)).unwrap()
}

#[test]
fn constructor_and_defaults() {
    let mut env = Env::new();
    let d = env
        .deploy(&REGISTRY_WASM, Some(&address_arg(owner())), owner())
        .unwrap();
    let ev = d
        .constructor
        .unwrap()
        .events::<IRegistry::OwnershipTransferred>();
    assert_eq!(ev[0].next, owner());
    assert_eq!(
        env.view_sol(d.address, &IRegistry::ownerCall {})
            .unwrap()
            ._0,
        owner()
    );
    assert_eq!(
        env.view_sol(d.address, &IRegistry::maxPositionsCall {})
            .unwrap()
            ._0,
        64
    );
    let err = env
        .deploy_wasm(&REGISTRY_WASM, Some(&address_arg(Address::ZERO)), owner())
        .unwrap_err();
    match err {
        margin_wasm_env::DeployError::ConstructorFailed(out) => {
            assert!(out.revert_as::<IRegistry::ZeroAddress>().is_some())
        }
        e => panic!("{e}"),
    }
}

#[test]
fn only_the_owner_adds_underlyings() {
    let (mut env, reg) = setup();
    let out = env.call_sol(
        alice(),
        reg,
        &IRegistry::addUnderlyingCall { underlying: 2 },
    );
    assert_eq!(
        out.revert_as::<IRegistry::Unauthorized>().unwrap().caller,
        alice()
    );
    let out = env.call_sol(
        owner(),
        reg,
        &IRegistry::addUnderlyingCall { underlying: 2 },
    );
    assert_eq!(out.events::<IRegistry::UnderlyingAdded>()[0].underlying, 2);
    assert!(
        env.view_sol(reg, &IRegistry::isUnderlyingCall { underlying: 2 })
            .unwrap()
            ._0
    );
    let out = env.call_sol(
        owner(),
        reg,
        &IRegistry::addUnderlyingCall { underlying: 2 },
    );
    assert_eq!(
        out.revert_as::<IRegistry::UnderlyingAlreadyKnown>()
            .unwrap()
            .underlying,
        2
    );
}

#[test]
fn listing_uses_the_block_timestamp() {
    let (mut env, reg) = setup();
    let now = env.timestamp();
    let past = IRegistry::listInstrumentCall {
        kind: FUTURE,
        underlying: 1,
        strike: U256::ZERO,
        expiry: now,
    };
    let out = env.call_sol(engine(), reg, &past);
    let err = out
        .revert_as::<IRegistry::InstrumentExpired>()
        .expect("InstrumentExpired");
    assert_eq!((err.expiry, err.timestamp), (now, now));

    // Move the clock back a day: the same expiry is now in the future.
    env.set_timestamp(now - DAY);
    let out = env.call_sol(engine(), reg, &past);
    assert!(out.success, "{out:?}");
    let id = out.decode::<IRegistry::listInstrumentCall>()._0;
    let ev = &out.events::<IRegistry::InstrumentListed>()[0];
    assert_eq!(
        (ev.id, ev.underlying, ev.kind, ev.expiry),
        (id, 1, FUTURE, now)
    );
    assert!(
        env.view_sol(reg, &IRegistry::isListedCall { id })
            .unwrap()
            ._0
    );

    let unknown = IRegistry::listInstrumentCall {
        kind: CALL,
        underlying: 9,
        strike: wad(100),
        expiry: now + DAY,
    };
    let out = env.call_sol(engine(), reg, &unknown);
    assert_eq!(
        out.revert_as::<IRegistry::UnknownUnderlying>()
            .unwrap()
            .underlying,
        9
    );
}

#[test]
fn trade_then_settle_after_expiry() {
    let (mut env, reg) = setup();
    let start = env.timestamp();
    let expiry = start + 7 * DAY;
    let list = IRegistry::listInstrumentCall {
        kind: FUTURE,
        underlying: 1,
        strike: U256::ZERO,
        expiry,
    };
    let id = env
        .call_sol(engine(), reg, &list)
        .decode::<IRegistry::listInstrumentCall>()
        ._0;

    let trade = IRegistry::applyTradeCall {
        buyer: U256::from(1),
        seller: U256::from(2),
        id,
        size: iwad(3),
        price: iwad(2_000),
    };
    let out = env.call_sol(alice(), reg, &trade);
    assert_eq!(
        out.revert_as::<IRegistry::CallerNotEngineOrKeeper>()
            .unwrap()
            .caller,
        alice()
    );
    let out = env.call_sol(engine(), reg, &trade);
    assert!(out.success, "{out:?}");
    let t = &out.events::<IRegistry::TradeApplied>()[0];
    assert_eq!(
        (t.buyer, t.seller, t.id, t.size),
        (U256::from(1), U256::from(2), id, iwad(3))
    );
    let pos = env
        .view_sol(
            reg,
            &IRegistry::positionOfCall {
                account: U256::from(1),
                id,
            },
        )
        .unwrap();
    assert_eq!(pos._0, iwad(3));
    assert_eq!(pos._1, iwad(6_000));

    // Before expiry the position cannot be closed.
    let close = IRegistry::closeExpiredCall {
        account: U256::from(1),
        id,
        settlement_price: iwad(2_100),
    };
    let out = env.call_sol(engine(), reg, &close);
    let err = out
        .revert_as::<IRegistry::InstrumentNotExpired>()
        .expect("InstrumentNotExpired");
    assert_eq!((err.expiry, err.timestamp), (expiry, start));

    // A week later it can, at the settlement price: 3 x (2,100 - 2,000) = 300.
    env.advance(7 * DAY);
    let out = env.call_sol(engine(), reg, &close);
    assert!(out.success, "{out:?}");
    assert_eq!(out.decode::<IRegistry::closeExpiredCall>()._0, iwad(300));
    let s = &out.events::<IRegistry::PositionSettled>()[0];
    assert_eq!(
        (s.account, s.size, s.settlementPrice),
        (U256::from(1), iwad(3), iwad(2_100))
    );
    let pos = env
        .view_sol(
            reg,
            &IRegistry::positionOfCall {
                account: U256::from(1),
                id,
            },
        )
        .unwrap();
    assert_eq!(pos._0, I256::ZERO);

    // Trading an expired instrument is refused, with the current time in the error.
    let out = env.call_sol(engine(), reg, &trade);
    let err = out
        .revert_as::<IRegistry::InstrumentExpired>()
        .expect("InstrumentExpired");
    assert_eq!(err.timestamp, start + 7 * DAY);
}

/// Open-interest caps on the deployed registry, where the listing flag and the cap share
/// one word with the open interest's slot: a trade that would raise open interest above an
/// instrument's or an underlying's cap is refused with the values, one that lowers it
/// passes above a cap, a cap of 0 lifts it without unlisting, and the largest cap is
/// `2^128 - 2`.
#[test]
fn open_interest_caps_refuse_on_the_deployed_registry() {
    let (mut env, reg) = setup();
    let expiry = env.timestamp() + 7 * DAY;
    let list = |env: &mut Env, strike: u64| {
        let call = IRegistry::listInstrumentCall {
            kind: CALL,
            underlying: 1,
            strike: wad(strike),
            expiry,
        };
        env.call_sol(engine(), reg, &call)
            .decode::<IRegistry::listInstrumentCall>()
            ._0
    };
    let (a, b) = (list(&mut env, 2_000), list(&mut env, 2_100));
    let cap_a = |env: &mut Env, cap: U256| {
        env.call_sol(
            owner(),
            reg,
            &IRegistry::setOpenInterestCapCall { id: a, cap },
        )
    };
    assert!(cap_a(&mut env, wad(5)).success);
    let u_cap = IRegistry::setUnderlyingOpenInterestCapCall {
        underlying: 1,
        cap: wad(8),
    };
    assert!(env.call_sol(owner(), reg, &u_cap).success);
    let trade = |env: &mut Env, id: U256, buyer: u64, seller: u64, size: i64| {
        let call = IRegistry::applyTradeCall {
            buyer: U256::from(buyer),
            seller: U256::from(seller),
            id,
            size: iwad(size),
            price: iwad(10),
        };
        env.call_sol(engine(), reg, &call)
    };
    let oi = |env: &mut Env, id: U256| {
        env.view_sol(reg, &IRegistry::openInterestCall { id })
            .unwrap()
            ._0
    };
    assert!(trade(&mut env, a, 1, 2, 3).success);
    // 3 + 3 = 6 > 5 on `a`.
    let out = trade(&mut env, a, 1, 2, 3);
    let e = out
        .revert_as::<IRegistry::OpenInterestCapExceeded>()
        .expect("OpenInterestCapExceeded");
    assert_eq!((e.id, e.cap, e.openInterest), (a, wad(5), wad(6)));
    assert_eq!(oi(&mut env, a), wad(3));
    // 3 on `a` + 6 on `b` = 9 > 8 on the underlying; 5 on `b` fits.
    let out = trade(&mut env, b, 3, 4, 6);
    let e = out
        .revert_as::<IRegistry::UnderlyingOpenInterestCapExceeded>()
        .expect("UnderlyingOpenInterestCapExceeded");
    assert_eq!((e.underlying, e.cap, e.openInterest), (1, wad(8), wad(9)));
    assert!(trade(&mut env, b, 3, 4, 5).success);
    // Lower `a`'s cap under its open interest: closing still passes, opening does not.
    assert!(cap_a(&mut env, wad(1)).success);
    assert!(trade(&mut env, a, 2, 1, 1).success);
    assert_eq!(oi(&mut env, a), wad(2));
    assert!(!trade(&mut env, a, 5, 6, 1).success);
    // A cap of 0 lifts it and leaves the instrument listed.
    assert!(cap_a(&mut env, U256::ZERO).success);
    assert!(
        env.view_sol(reg, &IRegistry::isListedCall { id: a })
            .unwrap()
            ._0
    );
    assert_eq!(
        env.view_sol(reg, &IRegistry::openInterestCapCall { id: a })
            .unwrap()
            ._0,
        U256::ZERO
    );
    // The largest cap, and one above it.
    let max = (U256::from(1u8) << 128) - U256::from(2u8);
    assert!(cap_a(&mut env, max).success);
    assert_eq!(
        env.view_sol(reg, &IRegistry::openInterestCapCall { id: a })
            .unwrap()
            ._0,
        max
    );
    let out = cap_a(&mut env, max + U256::from(1u8));
    let e = out
        .revert_as::<IRegistry::OutOfRange>()
        .expect("OutOfRange");
    assert_eq!((e.value, e.max), (max + U256::from(1u8), max));
    assert!(trade(&mut env, a, 5, 6, 1).success);
}
