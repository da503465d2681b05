//! The world of the end-to-end tests (motsu): the contracts wired as in a
//! deployment, real OpenZeppelin ERC20 tokens and a Chainlink-style mock aggregator.
//!
//! motsu's block time is fixed at 1,735,689,600 (2025-01-01): expiries and oracle
//! timestamps are placed relative to it. Time-dependent logic (auction discounts, EWMA
//! over time, expiry) is tested in the pure core with `now` as an argument.
#![allow(dead_code)]
use alloy_primitives::{Address, I256, U256};
use margin_calculator::RiskCalculator;
use margin_engine::RiskEngine;
use margin_keeper::KeeperModule;
use margin_lens::RiskLens;
use margin_oracle::{types::UnderlyingParams, RiskOracle};
use margin_reader::RiskReader;
use margin_registry::PositionRegistry;
pub use margin_testkit::{Erc20Interface, MockAggregator, TestToken};
use margin_vault::CollateralVault;
use motsu::prelude::*;
use stylus_margin::{
    collateral::AssetConfig,
    fixed::WAD,
    instrument::{self, Kind, Terms},
};

pub const NOW: u64 = 1_735_689_600;
pub const DAY: u64 = 86_400;
pub const ETH: u32 = 1;
pub const E18: u128 = 1_000_000_000_000_000_000;

pub fn u(x: u128) -> U256 {
    U256::from(x)
}
pub fn i(x: i128) -> I256 {
    I256::try_from(x).unwrap()
}

/// Everything a test needs, wired.
pub struct World {
    pub vault: Contract<CollateralVault>,
    pub registry: Contract<PositionRegistry>,
    pub engine: Contract<RiskEngine>,
    pub oracle: Contract<RiskOracle>,
    pub calculator: Contract<RiskCalculator>,
    pub reader: Contract<RiskReader>,
    pub keeper: Contract<KeeperModule>,
    pub lens: Contract<RiskLens>,
    pub usdc: Contract<TestToken>,
    pub weth: Contract<TestToken>,
    pub feed: Contract<MockAggregator>,
    pub admin: Address,
    pub market: Address,
    pub expiry: u64,
}

/// A test address.
/// A valid configuration of a second underlying priced by `feed`: hourly price and
/// surface ages, 80% reference volatility, no rate, no stable-price drift.
pub fn underlying_params(feed: Address) -> UnderlyingParams {
    UnderlyingParams {
        feed,
        maxAge: 3_600,
        surfaceMaxAge: 3_600,
        method: 0,
        rate: 0,
        refVol: (8 * WAD / 10) as u64,
        lambda: (94 * WAD / 100) as u64,
        stableRate: 0,
    }
}

pub fn addr(n: u8) -> Address {
    Address::repeat_byte(n)
}

impl World {
    pub fn put(&self, strike: u128) -> U256 {
        let terms = Terms {
            kind: Kind::Put,
            underlying: ETH,
            expiry: self.expiry,
            strike: strike * E18,
        };
        U256::from_be_bytes(instrument::pack(&terms))
    }
    pub fn call(&self, strike: u128) -> U256 {
        let terms = Terms {
            kind: Kind::Call,
            underlying: ETH,
            expiry: self.expiry,
            strike: strike * E18,
        };
        U256::from_be_bytes(instrument::pack(&terms))
    }
    pub fn list(&self, id: U256) {
        let t = instrument::unpack(id.to_be_bytes()).unwrap();
        self.registry
            .sender(self.admin)
            .list_instrument(t.kind as u8, t.underlying, U256::from(t.strike), t.expiry)
            .motsu_unwrap();
    }
    /// Opens an account for `who`, authorises the market, deposits.
    pub fn account(&self, who: Address, usdc: u128, weth: u128) -> U256 {
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
    pub fn set_spot(&self, price: u128, age: u64) {
        self.feed
            .sender(self.admin)
            .push_round(i(price as i128 * 100_000_000), u(u128::from(NOW - age)));
    }
    pub fn trade(
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
            .map_err(Vec::from)
    }
    pub fn risk(&self, account: U256) -> (i128, i128, i128, i128) {
        let r = self
            .lens
            .sender(self.admin)
            .account_risk(account)
            .motsu_unwrap();
        let c = |x: I256| i128::try_from(x).unwrap();
        (c(r.equity), c(r.mm), c(r.im), c(r.equityIm))
    }
}

impl World {
    /// Deploys and wires everything: one quote token (USDC, 6 decimals), WETH (18) as
    /// collateral with a haircut, ETH at 2,000 with a flat 65% surface 30 days out.
    pub fn new() -> World {
        let vault = Contract::<CollateralVault>::new();
        let registry = Contract::<PositionRegistry>::new();
        let engine = Contract::<RiskEngine>::new();
        let oracle = Contract::<RiskOracle>::new();
        let calculator = Contract::<RiskCalculator>::new();
        let reader = Contract::<RiskReader>::new();
        let keeper = Contract::<KeeperModule>::new();
        let lens = Contract::<RiskLens>::new();
        let usdc = Contract::<TestToken>::new();
        let weth = Contract::<TestToken>::new();
        let feed = Contract::<MockAggregator>::new();
        let admin = addr(0xad);
        let market = addr(0x3e);
        vault.sender(admin).constructor(admin).motsu_unwrap();
        registry.sender(admin).constructor(admin).motsu_unwrap();
        oracle.sender(admin).constructor(admin).motsu_unwrap();
        reader
            .sender(admin)
            .constructor(
                admin,
                vault.address(),
                registry.address(),
                oracle.address(),
                calculator.address(),
            )
            .motsu_unwrap();
        engine
            .sender(admin)
            .constructor(
                admin,
                vault.address(),
                registry.address(),
                reader.address(),
                oracle.address(),
            )
            .motsu_unwrap();
        keeper
            .sender(admin)
            .constructor(admin, vault.address(), registry.address(), reader.address())
            .motsu_unwrap();
        lens.sender(admin)
            .constructor(reader.address())
            .motsu_unwrap();
        vault
            .sender(admin)
            .wired
            .set_engine(engine.address())
            .motsu_unwrap();
        registry
            .sender(admin)
            .wired
            .set_engine(engine.address())
            .motsu_unwrap();
        vault
            .sender(admin)
            .wired
            .set_keeper(keeper.address())
            .motsu_unwrap();
        registry
            .sender(admin)
            .wired
            .set_keeper(keeper.address())
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
                UnderlyingParams {
                    feed: feed.address(),
                    maxAge: 3_600,
                    surfaceMaxAge: 3_600,
                    method: 0,
                    rate: 40_000_000_000_000_000,
                    refVol: 800_000_000_000_000_000,
                    lambda: 940_000_000_000_000_000,
                    stableRate: 300_000_000_000_000,
                },
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
            calculator,
            reader,
            keeper,
            lens,
            usdc,
            weth,
            feed,
            admin,
            market,
            expiry,
        }
    }
}
