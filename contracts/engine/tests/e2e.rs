//! End to end across the contracts (motsu): trades, margin checks, withdrawals,
//! stale readings and parameters. See `common` for the world.
mod common;

use alloy_primitives::{I256, U256};
use common::*;
use motsu::prelude::*;
use stylus_margin::{collateral::AssetConfig, fixed::WAD};

#[motsu::test]
fn trade_moves_positions_and_premium_and_checks_margin() {
    let w = World::new();
    let admin = w.admin;
    let bob = addr(0xb0);
    let carol = addr(0xca);
    let put = w.put(1_800);
    w.list(put);
    let seller = w.account(bob, 0, 10);
    let buyer = w.account(carol, 50_000, 0);
    w.trade(buyer, seller, put, 2 * WAD, 40 * WAD).unwrap();
    assert_eq!(
        w.registry.sender(admin).position_of(buyer, put).0,
        i(2 * WAD)
    );
    assert_eq!(
        w.registry.sender(admin).position_of(seller, put).0,
        i(-2 * WAD)
    );
    assert_eq!(w.vault.sender(admin).cash_of(seller), i(80 * WAD));
    assert_eq!(
        w.vault.sender(admin).cash_of(buyer),
        i(50_000 * WAD - 80 * WAD)
    );
    let (equity, mm, im, _) = w.risk(seller);
    assert!(mm > 0 && im > mm, "mm {mm} im {im}");
    // 10 WETH at 2000 less a >= 10% haircut, plus 80 premium, less the puts' value.
    assert!(
        equity < 18_000 * WAD + 80 * WAD && equity > 15_000 * WAD,
        "equity {equity}"
    );
    // A long option cannot lose more than its value: the buyer's MM is at most its MtM.
    let (equity_b, mm_b, _, _) = w.risk(buyer);
    let mtm_b = equity_b - i128::try_from(w.vault.sender(admin).cash_of(buyer)).unwrap();
    assert!(mm_b > 0 && mm_b <= mtm_b, "buyer mm {mm_b} mtm {mtm_b}");
}

#[motsu::test]
fn trade_reverts_below_initial_margin_and_changes_nothing() {
    let w = World::new();
    let admin = w.admin;
    let bob = addr(0xb0);
    let carol = addr(0xca);
    let put = w.put(2_000);
    w.list(put);
    let seller = w.account(bob, 0, 1);
    let buyer = w.account(carol, 50_000, 0);
    let e = w
        .trade(buyer, seller, put, 50 * WAD, 100 * WAD)
        .unwrap_err();
    let expected_selector =
        <margin_engine::InsufficientMargin as alloy_sol_types::SolError>::SELECTOR;
    assert_eq!(&e[..4], &expected_selector, "expected InsufficientMargin");
    assert_eq!(w.registry.sender(admin).position_count(seller), U256::ZERO);
    assert_eq!(w.vault.sender(admin).cash_of(buyer), i(50_000 * WAD));
}

#[motsu::test]
fn unauthorised_market_and_unapproved_market_are_refused() {
    let w = World::new();
    let market = w.market;
    let bob = addr(0xb0);
    let carol = addr(0xca);
    let mallory = addr(0x66);
    let put = w.put(1_800);
    w.list(put);
    let seller = w.account(bob, 0, 10);
    let buyer = w.account(carol, 50_000, 0);
    let e = w
        .engine
        .sender(mallory)
        .trade(buyer, seller, put, i(WAD), i(WAD), I256::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(
        e,
        margin_engine::Error::MarketNotAuthorized(margin_engine::MarketNotAuthorized { market })
            if market == mallory
    ));
    // The owner revokes the market as operator of the seller's account.
    w.vault
        .sender(bob)
        .set_operator(seller, market, false)
        .motsu_unwrap();
    let e = w.trade(buyer, seller, put, WAD, WAD).unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_engine::MarketNotOperator as alloy_sol_types::SolError>::SELECTOR
    );
}

#[motsu::test]
fn risk_reducing_trade_is_accepted_below_im_and_adding_risk_is_not() {
    let w = World::new();
    let admin = w.admin;
    let bob = addr(0xb0);
    let carol = addr(0xca);
    let put = w.put(2_000);
    w.list(put);
    let seller = w.account(bob, 0, 10);
    let buyer = w.account(carol, 500_000, 0);
    // Sell as many puts as IM allows, in steps.
    let mut sold = 0;
    while w.trade(buyer, seller, put, WAD, 150 * WAD).is_ok() {
        sold += 1;
        assert!(sold < 100);
    }
    assert!(sold > 0);
    // The price falls: the seller is now below IM (and still above MM).
    w.set_spot(1_985, 0);
    let (equity, mm, im, eq_im) = w.risk(seller);
    assert!(eq_im < im, "expected below IM: equity_im {eq_im} im {im}");
    assert!(equity >= mm, "expected above MM: equity {equity} mm {mm}");
    // Adding risk is refused; buying back one put (reducing risk) is accepted.
    assert!(w.trade(buyer, seller, put, WAD, 150 * WAD).is_err());
    w.trade(seller, buyer, put, WAD, 200 * WAD).unwrap();
    assert_eq!(
        w.registry.sender(admin).position_of(seller, put).0,
        i(-(sold - 1) * WAD)
    );
}

#[motsu::test]
fn withdrawal_is_refused_below_im_then_allowed() {
    let w = World::new();
    let admin = w.admin;
    let bob = addr(0xb0);
    let carol = addr(0xca);
    let call = w.call(2_400);
    w.list(call);
    let seller = w.account(bob, 0, 10);
    let buyer = w.account(carol, 100_000, 0);
    w.trade(buyer, seller, call, 5 * WAD, 60 * WAD).unwrap();
    // Withdrawing all the WETH would leave the short calls unbacked.
    let e = w
        .engine
        .sender(bob)
        .withdraw(seller, w.weth.address(), u(10 * E18), bob)
        .motsu_res()
        .map_err(Vec::from)
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_engine::InsufficientMargin as alloy_sol_types::SolError>::SELECTOR
    );
    assert_eq!(
        w.vault.sender(admin).balance_of(seller, w.weth.address()),
        u(10 * E18)
    );
    // A small withdrawal is fine.
    w.engine
        .sender(bob)
        .withdraw(seller, w.weth.address(), u(E18), bob)
        .motsu_unwrap();
    assert_eq!(w.weth.sender(admin).balance_of(bob), u(E18));
    // A stranger cannot withdraw (the vault's `NotOwnerOrOperator`, before anything moves).
    let e = w
        .engine
        .sender(carol)
        .withdraw(seller, w.weth.address(), u(E18), carol)
        .motsu_res()
        .map_err(Vec::from)
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_vault::NotOwnerOrOperator as alloy_sol_types::SolError>::SELECTOR
    );
}

#[motsu::test]
fn stale_oracle_blocks_new_risk_but_not_deposits() {
    let w = World::new();
    let admin = w.admin;
    let bob = addr(0xb0);
    let carol = addr(0xca);
    let put = w.put(1_800);
    w.list(put);
    let seller = w.account(bob, 0, 10);
    let buyer = w.account(carol, 50_000, 0);
    w.trade(buyer, seller, put, WAD, 40 * WAD).unwrap();
    // The feed's last answer is two hours old (max age one hour).
    w.set_spot(2_000, 7_200);
    let e = w.trade(buyer, seller, put, WAD, 40 * WAD).unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_common::StaleOracle as alloy_sol_types::SolError>::SELECTOR
    );
    // Deposits still work, and a stale reading never makes the account liquidatable.
    w.weth.sender(admin).mint(bob, u(E18)).motsu_unwrap();
    w.weth
        .sender(bob)
        .approve(w.vault.address(), u(E18))
        .motsu_unwrap();
    w.vault
        .sender(bob)
        .deposit(seller, w.weth.address(), u(E18))
        .motsu_unwrap();
    assert!(!w.lens.sender(admin).is_liquidatable(seller).motsu_unwrap());
    // Closing (risk-reducing) still works on the stale reading.
    w.trade(seller, buyer, put, WAD, 40 * WAD).unwrap();
}

#[motsu::test]
fn parameters_are_bounded_and_owner_only() {
    let w = World::new();
    let admin = w.admin;
    let mallory = addr(0x66);
    let before: [u64; 12] = w.reader.sender(admin).params().into();
    let e = w
        .reader
        .sender(mallory)
        .set_params(before.into())
        .motsu_res()
        .map_err(Vec::from)
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_common::Unauthorized as alloy_sol_types::SolError>::SELECTOR
    );
    let mut bad = before;
    bad[6] = 10 * E18 as u64 / 2; // IM multiplier 5.0 is the bound: 5.0 ok
    let sources = w.reader.sender(admin).sources();
    w.reader.sender(admin).set_params(bad.into()).motsu_unwrap();
    assert!(w
        .reader
        .emitted(&margin_reader::ParamsSet { params: bad.into() }));
    // Parameters and wiring share slots: each reads back unchanged.
    assert_eq!(w.reader.sender(admin).params(), bad.into());
    assert_eq!(w.reader.sender(admin).sources(), sources);
    assert_eq!(
        sources,
        margin_reader::types::ReaderSources {
            vault: w.vault.address(),
            registry: w.registry.address(),
            oracle: w.oracle.address(),
            calculator: w.calculator.address()
        }
    );
    let extreme = [
        3 * E18 as u64,
        9 * E18 as u64 / 10,
        E18 as u64 / 2,
        E18 as u64,
        E18 as u64 / 2,
        E18 as u64,
        5 * E18 as u64,
        E18 as u64,
        30 * 86_400,
        E18 as u64 / 4,
        E18 as u64,
        5 * E18 as u64,
    ];
    w.reader
        .sender(admin)
        .set_params(extreme.into())
        .motsu_unwrap();
    assert_eq!(w.reader.sender(admin).params(), extreme.into());
    assert_eq!(w.reader.sender(admin).sources(), sources);
    w.reader.sender(admin).set_params(bad.into()).motsu_unwrap();
    bad[1] = E18 as u64; // vol-down 100%: out of bounds
    let e = w
        .reader
        .sender(admin)
        .set_params(bad.into())
        .motsu_res()
        .map_err(Vec::from)
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_common::ParameterOutOfBounds as alloy_sol_types::SolError>::SELECTOR
    );
    assert_eq!(w.reader.sender(admin).params().volDown, before[1]);
    let e = w
        .oracle
        .sender(admin)
        .set_underlying(
            2,
            margin_oracle::types::UnderlyingParams {
                feed: w.feed.address(),
                maxAge: 0,
                surfaceMaxAge: 1,
                method: 0,
                rate: 0,
                refVol: 1,
                lambda: E18 as u64 / 2,
                stableRate: 0,
            },
        )
        .motsu_res()
        .map_err(Vec::from)
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_common::ParameterOutOfBounds as alloy_sol_types::SolError>::SELECTOR
    );
}

/// `ParameterOutOfBounds.which` is the 0-based position of the offending field in the
/// setter's struct, for every field of the three parameter setters (each field alone out
/// of bounds, the others valid), and the call changes nothing.
#[motsu::test]
fn parameter_out_of_bounds_names_the_fields_position() {
    use margin_common::ParameterOutOfBounds;
    let w = World::new();
    let admin = w.admin;
    let margin: [u64; 12] = w.reader.sender(admin).params().into();
    for i in 0..12 {
        let mut v = margin;
        v[i] = u64::MAX;
        let e = w
            .reader
            .sender(admin)
            .set_params(v.into())
            .motsu_unwrap_err();
        assert!(
            matches!(e, margin_reader::Error::ParameterOutOfBounds(ParameterOutOfBounds { which, value })
                if usize::from(which) == i && value == I256::try_from(u64::MAX).unwrap()),
            "MarginParams field {i}: {e:?}"
        );
        assert_eq!(w.reader.sender(admin).params(), margin.into());
    }
    let liquidation: [U256; 10] = w.keeper.sender(admin).liquidation_params().into();
    for i in 0..10 {
        let mut v = liquidation;
        v[i] = U256::MAX;
        let e = w
            .keeper
            .sender(admin)
            .set_liquidation_params(v.into())
            .motsu_unwrap_err();
        assert!(
            matches!(e, margin_keeper::Error::ParameterOutOfBounds(ParameterOutOfBounds { which, .. })
                if usize::from(which) == i),
            "LiquidationParams field {i}: {e:?}"
        );
        let now: [U256; 10] = w.keeper.sender(admin).liquidation_params().into();
        assert_eq!(now, liquidation);
    }
    let valid = underlying_params(w.feed.address());
    w.oracle
        .sender(admin)
        .set_underlying(2, valid.clone())
        .motsu_unwrap();
    type Spoil = fn(&mut margin_oracle::types::UnderlyingParams);
    let cases: [(u8, Spoil); 7] = [
        (1, |p| p.maxAge = 0),
        (2, |p| p.surfaceMaxAge = 0),
        (3, |p| p.method = 2),
        (4, |p| p.rate = i64::MAX),
        (5, |p| p.refVol = 0),
        (6, |p| p.lambda = 0),
        (7, |p| p.stableRate = u64::MAX),
    ];
    for (field, spoil) in cases {
        let mut p = valid.clone();
        spoil(&mut p);
        let e = w
            .oracle
            .sender(admin)
            .set_underlying(3, p)
            .motsu_unwrap_err();
        assert!(
            matches!(e, margin_oracle::Error::ParameterOutOfBounds(ParameterOutOfBounds { which, .. })
                if which == field),
            "UnderlyingParams field {field}: {e:?}"
        );
    }
}

#[motsu::test]
fn risk_offsetting_collateral_enters_as_delta_and_raises_the_surplus_of_covered_calls() {
    let w = World::new();
    let (admin, bob, carol) = (w.admin, addr(0xb0), addr(0xca));
    let call = w.call(2_200);
    w.list(call);
    let seller = w.account(bob, 0, 10);
    let buyer = w.account(carol, 100_000, 0);
    w.trade(buyer, seller, call, 10 * WAD, 50 * WAD).unwrap();
    let greeks = |acct| {
        let r = w.lens.sender(admin).account_risk(acct).motsu_unwrap();
        let int = |x: I256| i128::try_from(x).unwrap();
        (int(r.equity) - int(r.mm), int(r.delta[0]))
    };
    let (surplus_plain, delta_plain) = greeks(seller);
    assert!(delta_plain < 0, "short calls: delta {delta_plain}");
    let mut c = AssetConfig::unpack(
        w.vault
            .sender(admin)
            .asset_config(w.weth.address())
            .to_be_bytes(),
    );
    c.risk_offsetting = true;
    w.vault
        .sender(admin)
        .set_asset_config(w.weth.address(), U256::from_be_bytes(c.pack()))
        .motsu_unwrap();
    let (surplus_covered, delta_covered) = greeks(seller);
    // The 10 WETH enter the scenarios as +10 delta (the portfolio delta includes them)
    // and leave the haircut's price terms: the covered calls' surplus over MM grows.
    assert_eq!(delta_covered - delta_plain, 10 * WAD);
    assert!(
        surplus_covered > surplus_plain,
        "covered surplus {surplus_covered} vs plain {surplus_plain}"
    );
}

#[motsu::test]
fn guardian_pause_blocks_new_risk_but_not_closing_trades() {
    let w = World::new();
    let (admin, bob, carol, guardian) = (w.admin, addr(0xb0), addr(0xca), addr(0x9a));
    let put = w.put(1_800);
    w.list(put);
    let seller = w.account(bob, 0, 10);
    let buyer = w.account(carol, 50_000, 0);
    w.trade(buyer, seller, put, 2 * WAD, 40 * WAD).unwrap();
    // Only the owner names the guardian; only the guardian or the owner pauses.
    let e = w
        .engine
        .sender(guardian)
        .set_paused(true)
        .motsu_res()
        .map_err(Vec::from)
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_common::Unauthorized as alloy_sol_types::SolError>::SELECTOR
    );
    w.engine.sender(admin).set_guardian(guardian).motsu_unwrap();
    w.engine.sender(guardian).set_paused(true).motsu_unwrap();
    assert!(w.engine.sender(admin).paused());
    let e = w.trade(buyer, seller, put, WAD, 40 * WAD).unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_engine::RiskPaused as alloy_sol_types::SolError>::SELECTOR
    );
    // A withdrawal that leaves the account under twice its IM is refused while paused;
    // one that leaves it well above IM goes through (a pause never traps a healthy
    // account's collateral).
    let e = w
        .engine
        .sender(bob)
        .withdraw(seller, w.weth.address(), u(9 * E18 + E18 / 2), bob)
        .motsu_res()
        .map_err(Vec::from)
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_engine::RiskPaused as alloy_sol_types::SolError>::SELECTOR
    );
    w.engine
        .sender(bob)
        .withdraw(seller, w.weth.address(), u(E18), bob)
        .motsu_unwrap();
    // Closing half of the position reduces both accounts' risk: it goes through.
    w.trade(seller, buyer, put, WAD, 40 * WAD).unwrap();
    w.engine.sender(guardian).set_paused(false).motsu_unwrap();
    w.trade(buyer, seller, put, WAD, 40 * WAD).unwrap();
}

#[motsu::test]
fn keeper_scan_lists_accounts_with_positions_and_fees_reach_the_fee_account() {
    let w = World::new();
    let (admin, bob, carol, dave) = (w.admin, addr(0xb0), addr(0xca), addr(0xda));
    let put = w.put(2_000);
    w.list(put);
    let seller = w.account(bob, 0, 10);
    let idle = w.account(dave, 1_000, 0);
    let buyer = w.account(carol, 50_000, 0);
    let fees = w.account(admin, 0, 0);
    // A fee needs a fee account.
    let e = w
        .engine
        .sender(w.market)
        .trade(buyer, seller, put, i(WAD), i(50 * WAD), i(WAD))
        .motsu_res()
        .map_err(Vec::from)
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_engine::InvalidTrade as alloy_sol_types::SolError>::SELECTOR
    );
    // An id no account can have (ids are below 2^64) is refused, by name and value, and
    // leaves the fee account as it was; the largest one that fits is kept whole.
    for (id, ok) in [
        (U256::from(u64::MAX), true),
        (U256::from(1u8) << 64, false),
        (U256::MAX, false),
    ] {
        let r = w.engine.sender(admin).set_fee_account(id).motsu_res();
        if ok {
            assert!(r.is_ok());
            assert_eq!(w.engine.sender(admin).fee_account(), id);
        } else {
            let e = Vec::from(r.unwrap_err());
            assert_eq!(
                e,
                alloy_sol_types::SolError::abi_encode(&margin_common::ParameterOutOfBounds {
                    which: 0,
                    value: I256::from_raw(id),
                })
            );
            assert_eq!(w.engine.sender(admin).fee_account(), U256::from(u64::MAX));
        }
    }
    w.engine.sender(admin).set_fee_account(fees).motsu_unwrap();
    assert_eq!(w.engine.sender(admin).fee_account(), fees);
    w.engine
        .sender(w.market)
        .trade(buyer, seller, put, i(10 * WAD), i(50 * WAD), i(3 * WAD))
        .motsu_unwrap();
    // Each side paid the fee.
    assert_eq!(w.vault.sender(admin).cash_of(fees), i(6 * WAD));
    assert_eq!(
        w.vault.sender(admin).cash_of(seller),
        i(500 * WAD - 3 * WAD)
    );
    // The scan: accounts 1..4 hold positions only in `seller` and `buyer`.
    let margin_lens::types::ScanPage {
        accounts: ids,
        equity,
        mm,
        liquidatable,
    } = w
        .lens
        .sender(admin)
        .scan(U256::from(1u8), U256::from(10u8))
        .motsu_unwrap();
    assert_eq!(ids, vec![seller, buyer]);
    assert!(!ids.contains(&idle) && !ids.contains(&fees));
    for (k, acct) in ids.iter().enumerate() {
        let health = w.lens.sender(admin).health(*acct).motsu_unwrap();
        assert_eq!(equity[k] - mm[k], health);
        assert!(!liquidatable[k]);
    }
    // A crash makes the seller liquidatable, as the scan reports; past the last id: empty.
    w.set_spot(1_000, 0);
    let page = w
        .lens
        .sender(admin)
        .scan(U256::from(1u8), U256::from(10u8))
        .motsu_unwrap();
    assert_eq!((page.accounts[0], page.liquidatable[0]), (seller, true));
    let page = w
        .lens
        .sender(admin)
        .scan(U256::from(5u8), U256::from(10u8))
        .motsu_unwrap();
    assert!(page.accounts.is_empty());
}

#[motsu::test]
fn futures_realise_pnl_into_cash_when_reduced() {
    let w = World::new();
    let (admin, bob, carol) = (w.admin, addr(0xb0), addr(0xca));
    let terms = stylus_margin::instrument::Terms {
        kind: stylus_margin::instrument::Kind::Future,
        underlying: ETH,
        expiry: w.expiry,
        strike: 0,
    };
    let fut = U256::from_be_bytes(stylus_margin::instrument::pack(&terms));
    w.list(fut);
    let long = w.account(bob, 20_000, 0);
    let short = w.account(carol, 20_000, 0);
    w.trade(long, short, fut, 2 * WAD, 2_000 * WAD).unwrap();
    // Futures move no premium.
    assert_eq!(w.vault.sender(admin).cash_of(long), i(20_000 * WAD));
    w.set_spot(2_100, 0);
    let (equity, _, _, _) = w.risk(long);
    assert_eq!(equity, 20_000 * WAD + 200 * WAD);
    // Closing one contract at 2,100 realises +100 for the long, -100 for the short.
    w.trade(short, long, fut, WAD, 2_100 * WAD).unwrap();
    assert_eq!(w.vault.sender(admin).cash_of(long), i(20_100 * WAD));
    assert_eq!(w.vault.sender(admin).cash_of(short), i(19_900 * WAD));
    assert_eq!(w.registry.sender(admin).position_of(long, fut).0, i(WAD));
}

/// Every constructor refuses a zero owner or a zero contract to wire (`ZeroAddress`),
/// each position alone zero, and leaves nothing set; with every address set it runs.
#[motsu::test]
fn constructors_refuse_zero_addresses() {
    use margin_common::ZeroAddress;
    use margin_engine::RiskEngine;
    use margin_keeper::KeeperModule;
    use margin_lens::RiskLens;
    use margin_oracle::RiskOracle;
    use margin_reader::RiskReader;
    let deployer = addr(0xde);
    let full = [addr(1), addr(2), addr(3), addr(4), addr(5)];
    let with_zero = |n: usize, i: usize| {
        let mut a = full;
        if i < n {
            a[i] = alloy_primitives::Address::ZERO;
        }
        a
    };
    for i in 0..=5 {
        let a = with_zero(5, i);
        let c = Contract::<RiskEngine>::new();
        let r = c.sender(deployer).constructor(a[0], a[1], a[2], a[3], a[4]);
        let zero = matches!(r, Err(margin_engine::Error::ZeroAddress(ZeroAddress {})));
        assert_eq!(zero, i < 5, "engine, zero at {i}");
        assert_eq!(
            c.sender(deployer).owner.owner(),
            if i < 5 {
                alloy_primitives::Address::ZERO
            } else {
                a[0]
            }
        );
        let c = Contract::<RiskReader>::new();
        let r = c.sender(deployer).constructor(a[0], a[1], a[2], a[3], a[4]);
        let zero = matches!(r, Err(margin_reader::Error::ZeroAddress(ZeroAddress {})));
        assert_eq!(zero, i < 5, "reader, zero at {i}");
    }
    for i in 0..=4 {
        let a = with_zero(4, i);
        let c = Contract::<KeeperModule>::new();
        let r = c.sender(deployer).constructor(a[0], a[1], a[2], a[3]);
        let zero = matches!(r, Err(margin_keeper::Error::ZeroAddress(ZeroAddress {})));
        assert_eq!(zero, i < 4, "keeper, zero at {i}");
    }
    for i in 0..=1 {
        let a = with_zero(1, i);
        let c = Contract::<RiskOracle>::new();
        let zero = matches!(
            c.sender(deployer).constructor(a[0]),
            Err(margin_oracle::Error::ZeroAddress(ZeroAddress {}))
        );
        assert_eq!(zero, i < 1, "oracle, zero at {i}");
        let c = Contract::<RiskLens>::new();
        let zero = matches!(
            c.sender(deployer).constructor(a[0]),
            Err(margin_lens::Error::ZeroAddress(ZeroAddress {}))
        );
        assert_eq!(zero, i < 1, "lens, zero at {i}");
        assert_eq!(
            c.sender(deployer).reader(),
            if i < 1 {
                alloy_primitives::Address::ZERO
            } else {
                a[0]
            }
        );
    }
}
