//! The real contracts end to end: their deployable WASM (`target-wasm/deploy/`),
//! deployed and wired by `margin_harness::system::System`, called through their real
//! entrypoints with the generated interfaces of `abi/`, with block time moving. What motsu
//! cannot show: ABI routing of every binary, a re-entrant call reverting, auctions whose
//! discount grows with time, surfaces and feeds going stale, expiry and settlement.

use margin_harness::abi::{
    ICollateralVault as V, IKeeperModule as K, IPositionRegistry as R, IRiskEngine as E,
    IRiskLens as L, IRiskOracle as O, IRiskReader as RR,
};
use margin_harness::system::*;
use margin_wasm_env::{Address, FrameStatus, Outcome, U256};

fn alice() -> Address {
    Address::repeat_byte(0xA1)
}
fn bob() -> Address {
    Address::repeat_byte(0xB0)
}
fn carol() -> Address {
    Address::repeat_byte(0xCA)
}
fn dave() -> Address {
    Address::repeat_byte(0xDA)
}
fn keeper_bot() -> Address {
    Address::repeat_byte(0x4B)
}
fn treasury() -> Address {
    Address::repeat_byte(0x7E)
}

fn ok(s: &System, what: &str, out: &Outcome) {
    assert!(out.success, "{what}: {}", s.why(out));
}

/// The error `out` reverted with, as `T` (panics naming the actual error otherwise).
fn reverted<T: alloy_sol_types::SolError>(s: &System, out: &Outcome) -> T {
    assert!(!out.success, "expected {} but it succeeded", T::SIGNATURE);
    out.revert_as::<T>()
        .unwrap_or_else(|| panic!("expected {}, got {}", T::SIGNATURE, s.why(out)))
}

/// The liquidation tests' book: bob's account (10 WETH) sells 2000 puts to carol's
/// (500,000 USDC) at 150 until IM refuses the next one; dave's account (2,000,000 USDC)
/// liquidates.
struct Book {
    s: System,
    put: U256,
    seller: U256,
    liq: U256,
    sold: i128,
}

fn book(config: SystemConfig) -> Book {
    let mut s = System::deploy(config);
    let expiry = s.expiries()[0];
    let put = s.list(Kind::Put, wad(2_000), expiry);
    let seller = s.new_account(bob(), 0, 10);
    let buyer = s.new_account(carol(), 500_000, 0);
    let mut sold = 0;
    loop {
        let out = s.trade(buyer, seller, put, WAD, wad(150));
        if !out.success {
            // The refusal is IM's, naming the seller.
            let e: E::InsufficientMargin = reverted(&s, &out);
            assert_eq!(e.account, seller);
            assert!(e.equity < e.requirement);
            break;
        }
        sold += 1;
        assert!(sold < 200);
    }
    assert!(sold > 10, "sold {sold}");
    let liq = s.new_account(dave(), 2_000_000, 0);
    Book {
        s,
        put,
        seller,
        liq,
        sold,
    }
}

#[test]
fn deploys_and_wires_the_eight_contracts() {
    let mut s = System::deploy(SystemConfig::default());
    for (name, c) in &s.constructors {
        if let Some(c) = c {
            assert!(c.success, "{name}");
        }
    }
    let (vault, registry, reader, oracle) = (s.vault, s.registry, s.reader, s.oracle);
    let c = s.read(s.engine, &E::contractsCall {})._0;
    assert_eq!(
        (c.vault, c.registry, c.reader, c.oracle),
        (vault, registry, reader, oracle)
    );
    let src = s.read(s.reader, &RR::sourcesCall {})._0;
    assert_eq!(
        (src.vault, src.registry, src.oracle, src.calculator),
        (vault, registry, oracle, s.calculator)
    );
    assert_eq!(s.read(s.lens, &L::readerCall {})._0, reader);
    assert_eq!(s.read(s.vault, &V::engineCall {})._0, s.engine);
    assert_eq!(s.read(s.vault, &V::keeperCall {})._0, s.keeper);
    assert_eq!(s.read(s.vault, &V::quoteTokenCall {})._0, s.usdc);
    assert!(s.read(s.engine, &E::isMarketCall { market: s.market })._0);
    // A quote through the lens (the reader's parameters, oracle + calculator): an ATM put at 65% vol, 30 days,
    // is worth about 0.4 x 0.65 x sqrt(30/365) x 2000 = 149 (less with the 4% rate).
    let expiry = s.expiries()[0];
    let put = s.list(Kind::Put, wad(2_000), expiry);
    let (price, delta, ..) = s.quote(put);
    assert!(price > wad(130) && price < wad(150), "put price {price}");
    assert!(
        delta < 0 && delta > -WAD / 2 - WAD / 10,
        "put delta {delta}"
    );
    // Gas is per transaction, each in its own block: an eth_call in between (which runs
    // the same programs) does not make the next transaction's program entries cheaper.
    let seller = s.new_account(bob(), 0, 10);
    let buyer = s.new_account(carol(), 50_000, 0);
    let out = s.trade(buyer, seller, put, WAD, wad(140));
    ok(&s, "trade", &out);
    let g1 = s.check(&[seller]).gas_used;
    let g2 = s.check(&[seller]).gas_used;
    s.risk(seller);
    let g3 = s.check(&[seller]).gas_used;
    assert_eq!((g1, g2), (g3, g3));
    // With the programs in the cache manager, entering them is cheaper.
    for a in [s.vault, s.registry, s.oracle, s.calculator, s.reader] {
        s.env.set_program_cached(a, true);
    }
    let g4 = s.check(&[seller]).gas_used;
    assert!(g4 + 80_000 < g3, "cached {g4} vs {g3}");
}

/// Every owned contract inherits the one shared ownership (`margin_common::Owned`) through
/// its router: on the real binaries, a stranger can neither start nor accept a transfer,
/// the owner names a successor (zero cancels), only that successor accepts, and from then
/// on the contract's own owner-only setter obeys the new owner and refuses the old one (the
/// inherited functions and the contract's checks read the same slots).
#[test]
fn every_owned_contract_hands_over_ownership_in_two_steps() {
    use alloy_sol_types::SolCall;
    let mut s = System::deploy(SystemConfig::default());
    let owner = s.owner;
    let params = s.read(s.reader, &RR::paramsCall {})._0;
    let liquidation = s.read(s.keeper, &K::liquidationParamsCall {})._0;
    // Each owned contract with one of its own owner-only setters (calldata).
    let owned: Vec<(&str, Address, Vec<u8>)> = vec![
        (
            "vault",
            s.vault,
            V::setDepositCapCall {
                token: s.usdc,
                cap: U256::from(1u64) << 120,
                force: true,
            }
            .abi_encode(),
        ),
        (
            "registry",
            s.registry,
            R::setMaxPositionsCall {
                max: U256::from(64u64),
            }
            .abi_encode(),
        ),
        (
            "oracle",
            s.oracle,
            O::setFeederCall {
                feeder: dave(),
                allowed: true,
            }
            .abi_encode(),
        ),
        (
            "reader",
            s.reader,
            RR::setParamsCall { params }.abi_encode(),
        ),
        (
            "engine",
            s.engine,
            E::setGuardianCall { guardian: dave() }.abi_encode(),
        ),
        (
            "keeper",
            s.keeper,
            K::setLiquidationParamsCall {
                params: liquidation,
            }
            .abi_encode(),
        ),
    ];
    let owner_of = |s: &mut System, c: Address| s.read(c, &V::ownerCall {})._0;
    let pending_of = |s: &mut System, c: Address| s.read(c, &V::pendingOwnerCall {})._0;
    let offer = |next: Address| V::transferOwnershipCall { next }.abi_encode();
    let accept = V::acceptOwnershipCall {}.abi_encode();
    // The caller that `from`'s call was refused with (`Unauthorized`).
    let refused = |s: &mut System, from: Address, c: Address, call: &[u8]| {
        let out = s.env.call(from, c, call, U256::ZERO);
        reverted::<V::Unauthorized>(s, &out).caller
    };
    for (name, c, setter) in owned {
        assert_eq!(
            (owner_of(&mut s, c), pending_of(&mut s, c)),
            (owner, Address::ZERO),
            "{name}"
        );
        // A stranger cannot start a transfer, nor accept one that was never offered.
        assert_eq!(
            refused(&mut s, alice(), c, &offer(alice())),
            alice(),
            "{name}"
        );
        assert_eq!(refused(&mut s, alice(), c, &accept), alice(), "{name}");
        // The owner names bob, then cancels with zero: bob cannot accept.
        let out = s.env.call(owner, c, offer(bob()), U256::ZERO);
        ok(&s, name, &out);
        let ev = &out.events::<V::OwnershipTransferStarted>()[0];
        assert_eq!((ev.previous, ev.next), (owner, bob()), "{name}");
        assert_eq!(pending_of(&mut s, c), bob(), "{name}");
        let out = s.env.call(owner, c, offer(Address::ZERO), U256::ZERO);
        ok(&s, name, &out);
        assert_eq!(refused(&mut s, bob(), c, &accept), bob(), "{name}");
        // The owner names carol; bob still cannot accept, carol does.
        let out = s.env.call(owner, c, offer(carol()), U256::ZERO);
        ok(&s, name, &out);
        assert_eq!(refused(&mut s, bob(), c, &accept), bob(), "{name}");
        assert_eq!(
            owner_of(&mut s, c),
            owner,
            "{name}: owner before the acceptance"
        );
        let out = s.env.call(carol(), c, &accept, U256::ZERO);
        ok(&s, name, &out);
        let ev = &out.events::<V::OwnershipTransferred>()[0];
        assert_eq!((ev.previous, ev.next), (owner, carol()), "{name}");
        assert_eq!(
            (owner_of(&mut s, c), pending_of(&mut s, c)),
            (carol(), Address::ZERO),
            "{name}"
        );
        // The contract's own owner check follows: the old owner is refused, the new one
        // passes; the old owner can no longer start a transfer.
        assert_eq!(
            refused(&mut s, owner, c, &setter),
            owner,
            "{name}: old owner"
        );
        let out = s.env.call(carol(), c, &setter, U256::ZERO);
        ok(&s, name, &out);
        assert_eq!(refused(&mut s, owner, c, &offer(owner)), owner, "{name}");
    }
}

/// The life of a book: deposits of three tokens, trades through the authorised market, an
/// IM refusal, the price moving and the stable price following, a stale feed that blocks
/// new risk but not deposits or closing, a crash below MM, a Dutch auction whose discount
/// grows between bids, expiry, the settlement price recorded from the right round,
/// settlement through the engine and withdrawals.
#[test]
fn life_of_a_book_with_time_moving() {
    let mut s = System::deploy(SystemConfig::default());
    let t0 = s.now();
    let expiry = s.expiries()[0];
    // A third collateral on its own underlying (BTC at 60,000, 8 decimals).
    s.add_underlying(2, wad(60_000), OracleParams::default());
    let wbtc = s.list_collateral(
        "WBTC",
        8,
        2,
        AssetConfig {
            haircut_floor_ppm: 150_000,
            vol_multiplier_ppm: 1_000_000,
            haircut_max_ppm: 500_000,
            ..AssetConfig::default()
        },
    );
    let put = s.list(Kind::Put, wad(1_900), expiry);
    let call = s.list(Kind::Call, wad(2_300), expiry);

    // Deposits: the seller posts WETH, WBTC and some USDC; the buyer USDC.
    let seller = s.new_account(bob(), 1_000, 5);
    let out = s.deposit(bob(), seller, wbtc, U256::from(10_000_000u64)); // 0.1 WBTC
    ok(&s, "deposit WBTC", &out);
    let d = out.events_from::<V::Deposited>(s.vault);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].amount, U256::from(WAD as u128 / 10)); // 18-decimal balance
    let buyer = s.new_account(carol(), 200_000, 0);
    assert_eq!(s.collateral(seller, s.weth), U256::from(5 * WAD as u128));
    assert_eq!(s.cash(seller), wad(1_000));
    let r0 = s.risk(seller);
    // 5 WETH at 2000 and 0.1 BTC at 60,000 after haircuts (>= 10% and >= 15%) + 1,000.
    assert!(
        r0.equity > wad(13_000) && r0.equity <= wad(15_100),
        "{r0:?}"
    );
    assert_eq!((r0.mm, r0.worst_scenario), (0, 255));

    // Trades through the market.
    let out = s.trade(buyer, seller, put, wad(10), wad(60));
    ok(&s, "sell puts", &out);
    let ev = out.events_from::<E::Trade>(s.engine);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].market, s.market);
    let out = s.trade(buyer, seller, call, wad(5), wad(40));
    ok(&s, "sell calls", &out);
    assert_eq!(s.position(seller, put).0, -wad(10));
    assert_eq!(s.position(buyer, call).0, wad(5));
    assert_eq!(s.cash(seller), wad(1_000 + 600 + 200));
    assert_eq!(s.position_count(seller), 2);

    // An unauthorised caller is refused; a trade too big for IM is refused and changes
    // nothing.
    let out = s.send(
        alice(),
        s.engine,
        &E::tradeCall {
            buyer,
            seller,
            instrument: put,
            size: i256(WAD),
            price: i256(WAD),
            fee: i256(0),
        },
    );
    assert_eq!(reverted::<E::MarketNotAuthorized>(&s, &out).market, alice());
    let out = s.trade(buyer, seller, put, wad(200), wad(60));
    let e: E::InsufficientMargin = reverted(&s, &out);
    assert_eq!(e.account, seller);
    assert_eq!(s.position(seller, put).0, -wad(10));
    // The seller sells more, at the reader's price, until IM refuses.
    let mut short = 10;
    loop {
        let fair = s.quote(put).0;
        let out = s.trade(buyer, seller, put, wad(2), fair);
        if !out.success {
            reverted::<E::InsufficientMargin>(&s, &out);
            break;
        }
        short += 2;
        assert!(short < 400);
    }
    assert!(short > 20, "short {short}");
    let r = s.risk(seller);
    assert!(r.im_surplus() >= 0 && r.im_surplus() < r.im / 5, "{r:?}");

    // Time moves and the price with it; poke moves the stable price toward it.
    s.advance(1_800);
    s.set_price(wad(1_950));
    let out = s.poke(ETH);
    ok(&s, "poke", &out);
    let poked = out.events_from::<O::Poked>(s.oracle);
    assert_eq!(poked.len(), 1);
    assert_eq!(int(poked[0].price), wad(1_950));
    let r1 = s.risk(seller);
    assert!(r1.equity < r0.equity + wad(800), "{r1:?}");

    // Two hours later without a new round: the feed (max age 1 h) and the surface are
    // stale. New risk is refused; deposits, closing and reads still work, and a stale
    // reading never makes an account liquidatable.
    s.advance(2 * 3_600);
    let out = s.trade(buyer, seller, put, WAD, wad(60));
    let e: E::StaleOracle = reverted(&s, &out);
    assert_eq!(e.underlying, ETH);
    assert!(e.age >= 2 * 3_600);
    let weth = s.weth;
    let out = s.deposit(bob(), seller, weth, weth_units(1));
    ok(&s, "deposit while stale", &out);
    let out = s.trade(seller, buyer, put, WAD, wad(60)); // the seller buys one back
    ok(&s, "closing while stale", &out);
    short -= 1;
    assert_eq!(s.position(seller, put).0, -wad(short));
    assert!(!s.is_liquidatable(seller));
    let out = s.withdraw(bob(), seller, s.weth, U256::from(WAD as u128), bob());
    reverted::<E::StaleOracle>(&s, &out);

    // Fresh data again, then the crash: ETH falls 25 at a time until the seller is below
    // MM (still solvent).
    s.refresh();
    let mut spot = 1_950;
    loop {
        spot -= 25;
        s.set_price(wad(spot));
        let r = s.risk(seller);
        if r.equity < r.mm {
            assert!(r.equity > 0, "{r:?}");
            break;
        }
        assert!(spot > 1_500);
    }
    println!("the seller ({short} short 1900 puts) is below MM at {spot}");
    assert!(s.is_liquidatable(seller));

    // A keeper starts the auction (bounty to its own account), a liquidator bids as the
    // discount grows.
    let bot = s.new_account(keeper_bot(), 0, 0);
    let liq = s.new_account(dave(), 1_000_000, 0);
    s.setup_insurance(treasury(), 1_000);
    let out = s.start_liquidation(keeper_bot(), seller, bot);
    ok(&s, "startLiquidation", &out);
    let started = out.events_from::<K::AuctionStarted>(s.keeper);
    assert_eq!(started.len(), 1);
    assert!(int(started[0].bounty) > 0);
    assert_eq!(s.cash(bot), int(started[0].bounty));
    assert!(s.is_frozen(seller));
    let a0 = s.auction(seller, WAD / 10).unwrap();
    assert_eq!(a0.started_at, s.now());
    let p = LiquidationParams::DEFAULT;
    assert_eq!(a0.discount, p.start_discount);
    // Frozen: no trade, no withdrawal.
    let out = s.trade(buyer, seller, put, WAD, wad(60));
    reverted::<E::AccountFrozen>(&s, &out);

    s.advance(300);
    let a1 = s.auction(seller, WAD / 10).unwrap();
    assert!(a1.discount > a0.discount, "{a0:?} -> {a1:?}");
    let expected = p.start_discount + (p.max_discount - p.start_discount) * 300 / 900;
    assert!((a1.discount - expected).abs() <= 1, "{a1:?}");
    let out = s.liquidate(dave(), seller, liq, WAD / 10, i128::MAX);
    ok(&s, "first bid", &out);
    let (f1, paid1) = {
        let r = out.decode::<K::liquidateCall>();
        (int(r._0), int(r._1))
    };
    assert_eq!(f1, WAD / 10);
    assert_eq!(paid1, a1.price);
    let l = out.events_from::<K::Liquidated>(s.keeper);
    assert_eq!(int(l[0].discount), a1.discount);

    s.advance(300);
    let a2 = s.auction(seller, WAD).unwrap();
    assert!(a2.discount > a1.discount, "{a1:?} -> {a2:?}");
    let out = s.liquidate(dave(), seller, liq, WAD, i128::MAX);
    ok(&s, "second bid", &out);
    let f2 = int(out.decode::<K::liquidateCall>()._0);
    assert!(f2 > 0 && f2 <= a2.max_fraction, "{f2} {a2:?}");
    let left = s.position(seller, put).0;
    assert!(left > -wad(short) && left < 0, "left {left}");
    // Back above MM x (1 + buffer): the auction ends and the account is unfrozen.
    let r = s.risk(seller);
    assert!(r.equity >= r.mm, "{r:?}");
    let out = s.end_auction(alice(), seller);
    ok(&s, "endAuction", &out);
    assert_eq!(out.events_from::<K::AuctionEnded>(s.keeper).len(), 1);
    assert!(!s.is_frozen(seller));
    let out = s.end_auction(alice(), seller);
    reverted::<K::AuctionNotStarted>(&s, &out);

    // Expiry. Rounds: one before expiry, the first after it, a later one.
    s.advance(expiry - s.now() - 600);
    let before = s.set_price(wad(1_600));
    s.advance(720);
    let first_after = s.set_price(wad(1_650));
    s.advance(3_000);
    let later = s.set_price(wad(1_700));
    assert_eq!(s.settlement_round(ETH, expiry), Some(first_after));
    // Trading an expired instrument is refused by the registry.
    let out = s.trade(buyer, liq, put, WAD, wad(60));
    assert!(!out.success);
    // Only the first round at/after expiry whose predecessor is before it is accepted.
    for wrong in [before, later] {
        let out = s.record_settlement(ETH, expiry, wrong);
        reverted::<O::SettlementRoundInvalid>(&s, &out);
    }
    let out = s.record_settlement(ETH, expiry, first_after);
    ok(&s, "recordSettlement", &out);
    assert_eq!(int(out.decode::<O::recordSettlementCall>()._0), wad(1_650));
    let out = s.record_settlement(ETH, expiry, first_after);
    reverted::<O::SettlementAlreadyRecorded>(&s, &out);

    // Settlement: puts pay 1900 - 1650 = 250 a unit, the 2300 calls nothing.
    assert!(spot > 1_650);
    for (acct, ids) in [
        (seller, vec![put, call]),
        (buyer, vec![put, call]),
        (liq, vec![put, call]), // bids took a fraction of every position
    ] {
        let size = s.position(acct, put).0;
        let cash = s.cash(acct);
        let out = s.settle(acct, &ids);
        ok(&s, "settle", &out);
        assert_eq!(out.events_from::<E::Settled>(s.engine).len(), ids.len());
        let paid = s.cash(acct) - cash;
        assert!(
            (paid - size * 250).abs() <= 1,
            "account {acct}: {paid} for {size}"
        );
        assert_eq!(s.position_count(acct), 0, "account {acct}");
    }

    // Withdrawals: everything out, as tokens.
    let cash = s.cash(buyer);
    let out = s.withdraw(carol(), buyer, s.usdc, U256::from(cash as u128), carol());
    ok(&s, "buyer withdraws its cash", &out);
    assert_eq!(
        s.token_balance(s.usdc, carol()),
        U256::from(cash as u128 / 1_000_000_000_000)
    );
    // Withdrawing collateral priced by a feed needs that feed fresh (a withdrawal of an
    // account without positions does not strictly reduce its risk): the feeds tick again.
    let wbtc_left = s.collateral(seller, wbtc);
    assert!(wbtc_left < U256::from(WAD as u128 / 10)); // bids took their fraction of it
    let out = s.withdraw(bob(), seller, wbtc, wbtc_left, bob());
    assert_eq!(reverted::<E::StaleOracle>(&s, &out).underlying, 2);
    s.refresh();
    // The seller's settlement left it owing cash: its WETH can leave (the WBTC still
    // covers the debt), its WBTC then cannot until it pays the debt in USDC.
    let debt = -s.cash(seller);
    assert!(debt > 0, "seller cash {}", -debt);
    let weth_left = s.collateral(seller, s.weth);
    let out = s.withdraw(bob(), seller, s.weth, weth_left, bob());
    ok(&s, "seller withdraws WETH", &out);
    assert_eq!(s.token_balance(s.weth, bob()), weth_left);
    let out = s.withdraw(bob(), seller, wbtc, wbtc_left, bob());
    let e: E::InsufficientMargin = reverted(&s, &out);
    assert!(int(e.equity) < 0);
    let usdc = s.usdc;
    let out = s.deposit(bob(), seller, usdc, usdc_units((debt / WAD) as u128 + 1));
    ok(&s, "repay", &out);
    assert!(s.cash(seller) >= 0);
    let out = s.withdraw(bob(), seller, wbtc, wbtc_left, bob());
    ok(&s, "seller withdraws WBTC", &out);
    let sent = out.decode::<E::withdrawCall>()._0; // token units
    assert_eq!(s.token_balance(wbtc, bob()), sent);
    assert_eq!(sent, wbtc_left / U256::from(10_000_000_000u64));
    assert!(s.collateral(seller, s.weth).is_zero());
    let _ = t0;
}

/// An account crashed past zero equity is taken whole: the liquidator is paid by the
/// insurance fund on top (growing with time since insolvency), the fund covers the
/// remaining negative cash as far as it can, and the rest is written to the deficit
/// ledger (and to the vault's cash adjustments, reason 3): bad debt is never silent.
#[test]
fn insolvent_account_is_covered_by_the_fund_then_the_deficit_ledger() {
    let Book {
        mut s,
        put,
        seller,
        liq,
        sold,
        ..
    } = book(SystemConfig::default());
    let fund = s.setup_insurance(treasury(), 2_000);
    s.advance(600);
    s.set_price(wad(1_400));
    let r = s.risk(seller);
    assert!(r.equity < 0, "insolvent: {r:?}");
    let bot = s.new_account(keeper_bot(), 0, 0);
    let out = s.start_liquidation(keeper_bot(), seller, bot);
    ok(&s, "startLiquidation", &out);
    // No bounty out of negative equity.
    assert_eq!(s.cash(bot), 0);
    let a0 = s.auction(seller, WAD).unwrap();
    assert_eq!(a0.insolvent_since, s.now());
    assert_eq!(
        a0.max_fraction, WAD,
        "insolvent: the cap is the whole account"
    );

    // Nobody bids for a while; the fund's pay to the liquidator grows.
    s.advance(1_800);
    let fund_before = s.cash(fund);
    let liq_before = s.cash(liq);
    let out = s.liquidate(dave(), seller, liq, WAD, i128::MAX);
    ok(&s, "bid for the whole account", &out);
    let r = out.decode::<K::liquidateCall>();
    assert_eq!(int(r._0), WAD);
    let paid_by_fund: i128 = out
        .events_from::<K::InsurancePaid>(s.keeper)
        .iter()
        .map(|e| int(e.amount))
        .sum();
    assert!(paid_by_fund > 0);
    assert_eq!(s.position(liq, put).0, -wad(sold));
    assert_eq!(s.position(seller, put).0, 0);
    assert!(s.collateral(seller, s.weth).is_zero());
    assert!(s.cash(liq) != liq_before);

    // The fund is empty and the ledger holds the rest.
    assert_eq!(s.cash(seller), 0);
    assert_eq!(s.cash(fund), 0, "fund had {fund_before}");
    let deficit = s.deficit();
    assert!(deficit > 0);
    let recorded = out.events_from::<K::DeficitRecorded>(s.keeper);
    assert_eq!(recorded.len(), 1);
    assert_eq!(int(recorded[0].totalDeficit), deficit);
    let adj = int(s.read(s.vault, &V::netCashAdjustmentCall { reason: 3 })._0);
    assert_eq!(adj, deficit);
    // Taken whole: the auction ended, the empty account is unfrozen.
    assert!(!s.is_frozen(seller));
    assert_eq!(s.auction(seller, WAD).unwrap().started_at, 0);
    println!(
        "insolvent: fund paid {} (liquidator + cover), deficit {}",
        fund_before, deficit
    );
}

/// The discount of a Dutch auction grows linearly from the start discount to the maximum
/// over the discount duration (set here through the keeper's parameters), then stays; a
/// bid pays what `auction` quoted at that moment.
#[test]
fn auction_discount_grows_with_time_and_bids_pay_the_quote() {
    let p = LiquidationParams {
        start_discount: WAD / 50,
        max_discount: WAD / 5,
        discount_duration_secs: 1_200,
        ..LiquidationParams::DEFAULT
    };
    let Book {
        mut s, seller, liq, ..
    } = book(SystemConfig {
        liquidation_params: Some(p),
        ..SystemConfig::default()
    });
    s.setup_insurance(treasury(), 10_000);
    s.set_price(wad(1_850));
    let r = s.risk(seller);
    assert!(r.equity < r.mm && r.equity > 0, "{r:?}");
    // Before: no auction, no bid.
    let out = s.liquidate(dave(), seller, liq, WAD, i128::MAX);
    reverted::<K::AuctionNotStarted>(&s, &out);
    let bot = s.new_account(keeper_bot(), 0, 0);
    let out = s.start_liquidation(keeper_bot(), seller, bot);
    ok(&s, "start", &out);
    let mut last = s.auction(seller, WAD / 20).unwrap();
    assert_eq!(last.discount, p.start_discount);
    for step in 1..=3u64 {
        s.advance(300);
        let a = s.auction(seller, WAD / 20).unwrap();
        let expected =
            p.start_discount + (p.max_discount - p.start_discount) * i128::from(300 * step) / 1_200;
        assert!((a.discount - expected).abs() <= 1, "{step}: {a:?}");
        assert!(a.discount > last.discount);
        // The same portion of the same (positive) bundle costs less as time passes.
        assert!(a.max_fraction >= WAD / 20, "{a:?}");
        assert!(a.price > 0 && a.price < last.price, "{last:?} -> {a:?}");
        // One wei under the quote is refused, and changes nothing.
        let out = s.liquidate(dave(), seller, liq, WAD / 20, a.price - 1);
        reverted::<K::PriceAboveMax>(&s, &out);
        let out = s.liquidate(dave(), seller, liq, WAD / 20, a.price);
        ok(&s, "bid at the quote", &out);
        assert_eq!(int(out.decode::<K::liquidateCall>()._1), a.price);
        last = s.auction(seller, WAD / 20).unwrap();
    }
    s.advance(3_600);
    s.refresh();
    let a = s.auction(seller, WAD / 20).unwrap();
    assert_eq!(a.discount, p.max_discount, "capped after the duration");
}

/// A call cycle between our contracts reverts on chain: stylus-sdk 0.9 (no `reentrant`
/// feature) refuses a call into a contract already on the call stack. A second keeper
/// module wired to a reader whose "vault" is that keeper makes keeper -> reader -> keeper
/// (starting a liquidation asks the reader first): the re-entrant frame reverts without
/// data, the reader fails, and the call fails with it. A trade goes through the system
/// wired as a tree. (The engine and the keeper fix their reader at construction: they
/// never use different risk models.)
#[test]
fn a_call_cycle_between_our_contracts_reverts() {
    let mut s = System::deploy(SystemConfig::default());
    let expiry = s.expiries()[0];
    let put = s.list(Kind::Put, wad(1_800), expiry);
    let seller = s.new_account(bob(), 0, 10);
    let buyer = s.new_account(carol(), 50_000, 0);
    let w = |a: Address| a.into_word().to_vec();
    let cyclic = Address::repeat_byte(0xE2);
    let args = [
        w(s.owner),
        w(cyclic), // the "vault": the second keeper itself
        w(s.registry),
        w(s.oracle),
        w(s.calculator),
    ]
    .concat();
    let bad_reader = s
        .env
        .deploy_wasm(&load_wasm("reader"), Some(&args), s.owner)
        .unwrap();
    let keeper_args = [w(s.owner), w(s.vault), w(s.registry), w(bad_reader)].concat();
    s.env
        .deploy_wasm_at(cyclic, &load_wasm("keeper"), Some(&keeper_args), s.owner)
        .unwrap();
    let out = s.send(
        carol(),
        cyclic,
        &K::startLiquidationCall {
            account: seller,
            bounty_account: buyer,
        },
    );
    assert!(!out.success);
    // keeper (depth 1) -> reader (2) -> keeper (3): the keeper frame at depth 3 saw itself
    // re-entered and reverted without data; the reader's frame failed after it.
    let keeper_frames: Vec<_> = out.trace.iter().filter(|f| f.to == cyclic).collect();
    assert_eq!(keeper_frames[0].depth, 1);
    let reentered = out
        .trace
        .iter()
        .find(|f| f.to == cyclic && f.depth == 3)
        .expect("the keeper was re-entered");
    assert!(reentered.reentrant);
    assert_eq!(reentered.status, FrameStatus::Revert);
    assert_eq!(reentered.caller, bad_reader);
    let reader_frame = out.trace.iter().find(|f| f.to == bad_reader).unwrap();
    assert_eq!(reader_frame.depth, 2);
    assert_ne!(reader_frame.status, FrameStatus::Success);
    println!(
        "re-entrant keeper frame used {} gas; the failed call {} gas ({})",
        reentered.gas_used,
        out.gas_used,
        s.why(&out)
    );

    let out = s.trade(buyer, seller, put, WAD, wad(40));
    ok(&s, "trade with the tree wiring", &out);
    assert!(out.trace.iter().all(|f| !f.reentrant));
}
