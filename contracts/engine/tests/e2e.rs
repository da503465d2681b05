//! End to end across the three contracts (motsu): real OpenZeppelin ERC20 tokens, a
//! Chainlink-style mock aggregator, the real vault and registry, the engine in between.
//!
//! motsu's block time is fixed at 1,735,689,600 (2025-01-01): expiries and oracle
//! timestamps are placed relative to it. Time-dependent logic (auctions, EWMA over time,
//! expiry) is tested in the pure core with `now` as an argument.
#![allow(clippy::too_many_arguments)]
use alloy_primitives::{Address, I256, U256};
use margin_calculator::RiskCalculator;
use margin_engine::RiskEngine;
use margin_oracle::RiskOracle;
use margin_reader::RiskReader;
use margin_registry::PositionRegistry;
use margin_testkit::{Erc20Interface, MockAggregator, TestToken};
use margin_vault::CollateralVault;
use motsu::prelude::*;
use stylus_margin::{
    collateral::AssetConfig,
    fixed::WAD,
    instrument::{self, Kind, Terms},
};

const NOW: u64 = 1_735_689_600;
const DAY: u64 = 86_400;
const ETH: u32 = 1;
const E18: u128 = 1_000_000_000_000_000_000;

fn u(x: u128) -> U256 {
    U256::from(x)
}
fn i(x: i128) -> I256 {
    I256::try_from(x).unwrap()
}

/// Everything a test needs, wired.
struct World<'a> {
    vault: &'a Contract<CollateralVault>,
    registry: &'a Contract<PositionRegistry>,
    engine: &'a Contract<RiskEngine>,
    oracle: &'a Contract<RiskOracle>,
    reader: &'a Contract<RiskReader>,
    usdc: &'a Contract<TestToken>,
    weth: &'a Contract<TestToken>,
    feed: &'a Contract<MockAggregator>,
    admin: Address,
    market: Address,
    expiry: u64,
}

impl World<'_> {
    fn put(&self, strike: u128) -> U256 {
        let terms = Terms {
            kind: Kind::Put,
            underlying: ETH,
            expiry: self.expiry,
            strike: strike * E18,
        };
        U256::from_be_bytes(instrument::pack(&terms))
    }
    fn call(&self, strike: u128) -> U256 {
        let terms = Terms {
            kind: Kind::Call,
            underlying: ETH,
            expiry: self.expiry,
            strike: strike * E18,
        };
        U256::from_be_bytes(instrument::pack(&terms))
    }
    fn list(&self, id: U256) {
        let t = instrument::unpack(id.to_be_bytes()).unwrap();
        self.registry
            .sender(self.admin)
            .list_instrument(t.kind as u8, t.underlying, U256::from(t.strike), t.expiry)
            .motsu_unwrap();
    }
    /// Opens an account for `who`, authorises the market, deposits.
    fn account(&self, who: Address, usdc: u128, weth: u128) -> U256 {
        let id = self.vault.sender(who).open_account();
        self.vault
            .sender(who)
            .set_operator(id, self.market, true)
            .motsu_unwrap();
        if usdc > 0 {
            self.usdc
                .sender(self.admin)
                .mint(who, u(usdc * 1_000_000))
                .motsu_unwrap();
            self.usdc
                .sender(who)
                .approve(self.vault.address(), u(usdc * 1_000_000))
                .motsu_unwrap();
            self.vault
                .sender(who)
                .deposit(id, self.usdc.address(), u(usdc * 1_000_000))
                .motsu_unwrap();
        }
        if weth > 0 {
            self.weth
                .sender(self.admin)
                .mint(who, u(weth * E18))
                .motsu_unwrap();
            self.weth
                .sender(who)
                .approve(self.vault.address(), u(weth * E18))
                .motsu_unwrap();
            self.vault
                .sender(who)
                .deposit(id, self.weth.address(), u(weth * E18))
                .motsu_unwrap();
        }
        id
    }
    fn set_spot(&self, price: u128, age: u64) {
        self.feed
            .sender(self.admin)
            .push_round(i(price as i128 * 100_000_000), u(u128::from(NOW - age)));
    }
    fn trade(
        &self,
        buyer: U256,
        seller: U256,
        id: U256,
        size: i128,
        price: i128,
    ) -> Result<(), Vec<u8>> {
        self.engine
            .sender(self.market)
            .trade(buyer, seller, id, i(size), i(price), I256::ZERO)
            .motsu_res()
    }
    fn risk(&self, account: U256) -> (i128, i128, i128, i128) {
        let r = self
            .reader
            .sender(self.admin)
            .account_risk(account)
            .motsu_unwrap();
        let c = |x: I256| i128::try_from(x).unwrap();
        (c(r.0), c(r.1), c(r.2), c(r.3))
    }
}

fn setup<'a>(
    vault: &'a Contract<CollateralVault>,
    registry: &'a Contract<PositionRegistry>,
    engine: &'a Contract<RiskEngine>,
    oracle: &'a Contract<RiskOracle>,
    calculator: &'a Contract<RiskCalculator>,
    reader: &'a Contract<RiskReader>,
    usdc: &'a Contract<TestToken>,
    weth: &'a Contract<TestToken>,
    feed: &'a Contract<MockAggregator>,
    admin: Address,
    market: Address,
) -> World<'a> {
    vault.sender(admin).constructor(admin).motsu_unwrap();
    registry.sender(admin).constructor(admin).motsu_unwrap();
    oracle.sender(admin).constructor(admin);
    reader.sender(admin).constructor(
        admin,
        vault.address(),
        registry.address(),
        oracle.address(),
        calculator.address(),
    );
    engine
        .sender(admin)
        .constructor(admin, vault.address(), registry.address(), reader.address());
    vault
        .sender(admin)
        .set_engine(engine.address())
        .motsu_unwrap();
    registry
        .sender(admin)
        .set_engine(engine.address())
        .motsu_unwrap();
    usdc.sender(admin).constructor(6);
    weth.sender(admin).constructor(18);
    feed.sender(admin).constructor(8);
    feed.sender(admin)
        .push_round(i(2_000 * 100_000_000), u(u128::from(NOW)));

    let quote_cfg = AssetConfig {
        enabled: true,
        haircut_max_ppm: 0,
        ..AssetConfig::default()
    };
    vault
        .sender(admin)
        .list_asset(
            usdc.address(),
            U256::from_be_bytes(quote_cfg.pack()),
            u(u128::MAX >> 8),
            true,
        )
        .motsu_unwrap();
    let weth_cfg = AssetConfig {
        underlying: ETH,
        enabled: true,
        haircut_floor_ppm: 100_000,
        vol_multiplier_ppm: 1_000_000,
        haircut_max_ppm: 500_000,
        ..AssetConfig::default()
    };
    vault
        .sender(admin)
        .list_asset(
            weth.address(),
            U256::from_be_bytes(weth_cfg.pack()),
            u(u128::MAX >> 8),
            false,
        )
        .motsu_unwrap();
    registry.sender(admin).add_underlying(ETH).motsu_unwrap();
    oracle
        .sender(admin)
        .set_underlying(
            ETH,
            feed.address(),
            3_600,
            3_600,
            0,
            40_000_000_000_000_000,
            800_000_000_000_000_000,
            940_000_000_000_000_000,
            300_000_000_000_000,
        )
        .motsu_unwrap();
    oracle.sender(admin).set_feeder(admin, true).motsu_unwrap();
    engine.sender(admin).set_market(market, true).motsu_unwrap();
    let expiry = NOW + 30 * DAY;
    // Flat 65% vol: total variance a = 0.65^2 x T.
    let t = (30 * DAY) as i128 * WAD / 31_536_000;
    let a = 65 * 65 * t / 10_000;
    oracle
        .sender(admin)
        .post_surface(
            ETH,
            expiry,
            i(a),
            I256::ZERO,
            I256::ZERO,
            I256::ZERO,
            i(WAD / 10),
        )
        .motsu_unwrap();
    World {
        vault,
        registry,
        engine,
        oracle,
        reader,
        usdc,
        weth,
        feed,
        admin,
        market,
        expiry,
    }
}

macro_rules! world {
    ($v:ident, $r:ident, $e:ident, $o:ident, $c:ident, $rd:ident, $u:ident, $w:ident, $f:ident, $a:ident, $m:ident) => {
        setup(&$v, &$r, &$e, &$o, &$c, &$rd, &$u, &$w, &$f, $a, $m)
    };
}

#[motsu::test]
fn trade_moves_positions_and_premium_and_checks_margin(
    vault: Contract<CollateralVault>,
    registry: Contract<PositionRegistry>,
    engine: Contract<RiskEngine>,
    oracle: Contract<RiskOracle>,
    calculator: Contract<RiskCalculator>,
    reader: Contract<RiskReader>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    feed: Contract<MockAggregator>,
    admin: Address,
    market: Address,
    bob: Address,
    carol: Address,
) {
    let w = world!(
        vault, registry, engine, oracle, calculator, reader, usdc, weth, feed, admin, market
    );
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
fn trade_reverts_below_initial_margin_and_changes_nothing(
    vault: Contract<CollateralVault>,
    registry: Contract<PositionRegistry>,
    engine: Contract<RiskEngine>,
    oracle: Contract<RiskOracle>,
    calculator: Contract<RiskCalculator>,
    reader: Contract<RiskReader>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    feed: Contract<MockAggregator>,
    admin: Address,
    market: Address,
    bob: Address,
    carol: Address,
) {
    let w = world!(
        vault, registry, engine, oracle, calculator, reader, usdc, weth, feed, admin, market
    );
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
fn unauthorised_market_and_unapproved_market_are_refused(
    vault: Contract<CollateralVault>,
    registry: Contract<PositionRegistry>,
    engine: Contract<RiskEngine>,
    oracle: Contract<RiskOracle>,
    calculator: Contract<RiskCalculator>,
    reader: Contract<RiskReader>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    feed: Contract<MockAggregator>,
    admin: Address,
    market: Address,
    bob: Address,
    carol: Address,
    mallory: Address,
) {
    let w = world!(
        vault, registry, engine, oracle, calculator, reader, usdc, weth, feed, admin, market
    );
    let put = w.put(1_800);
    w.list(put);
    let seller = w.account(bob, 0, 10);
    let buyer = w.account(carol, 50_000, 0);
    let e = w
        .engine
        .sender(mallory)
        .trade(buyer, seller, put, i(WAD), i(WAD), I256::ZERO)
        .motsu_unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_engine::MarketNotAuthorized as alloy_sol_types::SolError>::SELECTOR
    );
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
fn risk_reducing_trade_is_accepted_below_im_and_adding_risk_is_not(
    vault: Contract<CollateralVault>,
    registry: Contract<PositionRegistry>,
    engine: Contract<RiskEngine>,
    oracle: Contract<RiskOracle>,
    calculator: Contract<RiskCalculator>,
    reader: Contract<RiskReader>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    feed: Contract<MockAggregator>,
    admin: Address,
    market: Address,
    bob: Address,
    carol: Address,
) {
    let w = world!(
        vault, registry, engine, oracle, calculator, reader, usdc, weth, feed, admin, market
    );
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
fn withdrawal_is_refused_below_im_then_allowed(
    vault: Contract<CollateralVault>,
    registry: Contract<PositionRegistry>,
    engine: Contract<RiskEngine>,
    oracle: Contract<RiskOracle>,
    calculator: Contract<RiskCalculator>,
    reader: Contract<RiskReader>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    feed: Contract<MockAggregator>,
    admin: Address,
    market: Address,
    bob: Address,
    carol: Address,
) {
    let w = world!(
        vault, registry, engine, oracle, calculator, reader, usdc, weth, feed, admin, market
    );
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
    // A stranger cannot withdraw.
    let e = w
        .engine
        .sender(carol)
        .withdraw(seller, w.weth.address(), u(E18), carol)
        .motsu_res()
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_engine::NotOwnerOrOperator as alloy_sol_types::SolError>::SELECTOR
    );
}

#[motsu::test]
fn stale_oracle_blocks_new_risk_but_not_deposits(
    vault: Contract<CollateralVault>,
    registry: Contract<PositionRegistry>,
    engine: Contract<RiskEngine>,
    oracle: Contract<RiskOracle>,
    calculator: Contract<RiskCalculator>,
    reader: Contract<RiskReader>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    feed: Contract<MockAggregator>,
    admin: Address,
    market: Address,
    bob: Address,
    carol: Address,
) {
    let w = world!(
        vault, registry, engine, oracle, calculator, reader, usdc, weth, feed, admin, market
    );
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
    assert!(!w
        .reader
        .sender(admin)
        .is_liquidatable(seller)
        .motsu_unwrap());
    // Closing (risk-reducing) still works on the stale reading.
    w.trade(seller, buyer, put, WAD, 40 * WAD).unwrap();
}

#[motsu::test]
fn parameters_are_bounded_and_owner_only(
    vault: Contract<CollateralVault>,
    registry: Contract<PositionRegistry>,
    engine: Contract<RiskEngine>,
    oracle: Contract<RiskOracle>,
    calculator: Contract<RiskCalculator>,
    reader: Contract<RiskReader>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    feed: Contract<MockAggregator>,
    admin: Address,
    market: Address,
    mallory: Address,
) {
    let w = world!(
        vault, registry, engine, oracle, calculator, reader, usdc, weth, feed, admin, market
    );
    let before = w.reader.sender(admin).params();
    let e = w
        .reader
        .sender(mallory)
        .set_params(before)
        .motsu_res()
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_common::Unauthorized as alloy_sol_types::SolError>::SELECTOR
    );
    let mut bad = before;
    bad[6] = 10 * E18 as u64 / 2; // IM multiplier 5.0 is the bound: 5.0 ok
    w.reader.sender(admin).set_params(bad).motsu_unwrap();
    bad[1] = E18 as u64; // vol-down 100%: out of bounds
    let e = w
        .reader
        .sender(admin)
        .set_params(bad)
        .motsu_res()
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_common::ParameterOutOfBounds as alloy_sol_types::SolError>::SELECTOR
    );
    assert_eq!(w.reader.sender(admin).params()[1], before[1]);
    let e = w
        .oracle
        .sender(admin)
        .set_underlying(2, w.feed.address(), 0, 1, 0, 0, 1, E18 as u64 / 2, 0)
        .motsu_res()
        .unwrap_err();
    assert_eq!(
        &e[..4],
        &<margin_common::ParameterOutOfBounds as alloy_sol_types::SolError>::SELECTOR
    );
}
