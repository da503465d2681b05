//! Test fixtures for the vault's motsu tests: a real ERC20 (openzeppelin-stylus),
//! hand-written tokens that return no value, return false, or take a fee on
//! transfer, and helpers to set the vault up and snapshot its state.
//!
//! The including test crate must declare `extern crate alloc;` (the Stylus
//! macros refer to `alloc::`).
#![allow(dead_code)]

use alloy_primitives::{Address, U256};
use margin_vault::CollateralVault;
use motsu::prelude::*;
use stylus_margin::collateral::AssetConfig;

pub const WAD: u128 = 1_000_000_000_000_000_000;

/// `x` whole tokens of a token with `decimals` decimals.
pub fn units(x: u64, decimals: u8) -> U256 {
    U256::from(x) * U256::from(10u8).pow(U256::from(decimals))
}

/// `x` whole tokens in WAD.
pub fn wad(x: u64) -> U256 {
    U256::from(x) * U256::from(WAD)
}

/// A non-quote collateral config: oracle `underlying`, 5% floor, k = 1.5,
/// 40% max, depth 1,000 WAD.
pub fn collateral_config(underlying: u32) -> U256 {
    U256::from_be_bytes(
        AssetConfig {
            underlying,
            enabled: true,
            haircut_floor_ppm: 50_000,
            vol_multiplier_ppm: 1_500_000,
            haircut_max_ppm: 400_000,
            liquidity_depth: 1_000 * WAD,
            ..AssetConfig::default()
        }
        .pack(),
    )
}

/// The quote asset's config: underlying 0, no haircut.
pub fn quote_config() -> U256 {
    U256::from_be_bytes(
        AssetConfig {
            enabled: true,
            ..AssetConfig::default()
        }
        .pack(),
    )
}

/// The interface every test token offers, so helpers work on any of them.
pub trait TestToken {
    fn addr(&self) -> Address;
    fn mint_to(&self, to: Address, amount: U256);
    fn approve_from(&self, owner: Address, spender: Address, amount: U256);
    fn token_balance(&self, who: Address) -> U256;
    fn send(&self, from: Address, to: Address, amount: U256);
}

pub mod real_token {
    //! openzeppelin-stylus's ERC20 with settable decimals.
    use alloy_primitives::{aliases::U8, Address, U256};
    use openzeppelin_stylus::token::erc20::{self, Erc20, IErc20};
    use stylus_sdk::{prelude::*, storage::StorageU8};

    #[entrypoint]
    #[storage]
    pub struct RealToken {
        erc20: Erc20,
        decimals: StorageU8,
    }

    #[public]
    #[implements(IErc20<Error = erc20::Error>)]
    impl RealToken {
        pub fn mint(&mut self, to: Address, value: U256) -> Result<(), erc20::Error> {
            self.erc20._mint(to, value)
        }

        pub fn set_decimals(&mut self, decimals: u8) {
            self.decimals.set(U8::from(decimals));
        }

        pub fn decimals(&self) -> u8 {
            self.decimals.get().to::<u8>()
        }
    }

    #[public]
    impl IErc20 for RealToken {
        type Error = erc20::Error;

        fn total_supply(&self) -> U256 {
            self.erc20.total_supply()
        }

        fn balance_of(&self, account: Address) -> U256 {
            self.erc20.balance_of(account)
        }

        fn transfer(&mut self, to: Address, value: U256) -> Result<bool, Self::Error> {
            self.erc20.transfer(to, value)
        }

        fn allowance(&self, owner: Address, spender: Address) -> U256 {
            self.erc20.allowance(owner, spender)
        }

        fn approve(&mut self, spender: Address, value: U256) -> Result<bool, Self::Error> {
            self.erc20.approve(spender, value)
        }

        fn transfer_from(
            &mut self,
            from: Address,
            to: Address,
            value: U256,
        ) -> Result<bool, Self::Error> {
            self.erc20.transfer_from(from, to, value)
        }
    }
}

pub mod no_return_token {
    //! A USDT-style token: `transfer`/`transferFrom` return no value and
    //! revert on failure.
    use alloy_primitives::{aliases::U8, Address, U256};
    use stylus_sdk::{
        prelude::*,
        storage::{StorageMap, StorageU256, StorageU8},
    };

    #[entrypoint]
    #[storage]
    pub struct NoReturnToken {
        balances: StorageMap<Address, StorageU256>,
        allowances: StorageMap<Address, StorageMap<Address, StorageU256>>,
        decimals: StorageU8,
    }

    #[public]
    impl NoReturnToken {
        pub fn mint(&mut self, to: Address, value: U256) {
            let b = self.balances.get(to);
            self.balances.setter(to).set(b + value);
        }

        pub fn set_decimals(&mut self, decimals: u8) {
            self.decimals.set(U8::from(decimals));
        }

        pub fn decimals(&self) -> u8 {
            self.decimals.get().to::<u8>()
        }

        pub fn balance_of(&self, who: Address) -> U256 {
            self.balances.get(who)
        }

        pub fn approve(&mut self, spender: Address, value: U256) {
            let owner = self.vm().msg_sender();
            self.allowances.setter(owner).setter(spender).set(value);
        }

        pub fn transfer(&mut self, to: Address, value: U256) -> Result<(), Vec<u8>> {
            let from = self.vm().msg_sender();
            self.move_tokens(from, to, value)
        }

        pub fn transfer_from(
            &mut self,
            from: Address,
            to: Address,
            value: U256,
        ) -> Result<(), Vec<u8>> {
            let spender = self.vm().msg_sender();
            let allowed = self.allowances.getter(from).get(spender);
            if allowed < value {
                return Err(b"allowance".to_vec());
            }
            self.allowances
                .setter(from)
                .setter(spender)
                .set(allowed - value);
            self.move_tokens(from, to, value)
        }
    }

    impl NoReturnToken {
        fn move_tokens(&mut self, from: Address, to: Address, value: U256) -> Result<(), Vec<u8>> {
            let b = self.balances.get(from);
            if b < value {
                return Err(b"balance".to_vec());
            }
            self.balances.setter(from).set(b - value);
            let t = self.balances.get(to);
            self.balances.setter(to).set(t + value);
            Ok(())
        }
    }
}

pub mod mock_token {
    //! A bool-returning token with modes: normal, returning `false` instead
    //! of moving tokens, or burning a 1% fee on every transfer.
    use alloy_primitives::{aliases::U8, Address, U256};
    use stylus_sdk::{
        prelude::*,
        storage::{StorageMap, StorageU256, StorageU8},
    };

    pub const NORMAL: u8 = 0;
    pub const RETURNS_FALSE: u8 = 1;
    pub const FEE_ON_TRANSFER: u8 = 2;

    #[entrypoint]
    #[storage]
    pub struct MockToken {
        balances: StorageMap<Address, StorageU256>,
        allowances: StorageMap<Address, StorageMap<Address, StorageU256>>,
        decimals: StorageU8,
        mode: StorageU8,
    }

    #[public]
    impl MockToken {
        pub fn mint(&mut self, to: Address, value: U256) {
            let b = self.balances.get(to);
            self.balances.setter(to).set(b + value);
        }

        pub fn set_decimals(&mut self, decimals: u8) {
            self.decimals.set(U8::from(decimals));
        }

        pub fn set_mode(&mut self, mode: u8) {
            self.mode.set(U8::from(mode));
        }

        pub fn decimals(&self) -> u8 {
            self.decimals.get().to::<u8>()
        }

        pub fn balance_of(&self, who: Address) -> U256 {
            self.balances.get(who)
        }

        pub fn approve(&mut self, spender: Address, value: U256) -> bool {
            let owner = self.vm().msg_sender();
            self.allowances.setter(owner).setter(spender).set(value);
            true
        }

        pub fn transfer(&mut self, to: Address, value: U256) -> bool {
            let from = self.vm().msg_sender();
            self.move_tokens(from, to, value)
        }

        pub fn transfer_from(&mut self, from: Address, to: Address, value: U256) -> bool {
            let spender = self.vm().msg_sender();
            let allowed = self.allowances.getter(from).get(spender);
            if allowed < value {
                return false;
            }
            if !self.move_tokens(from, to, value) {
                return false;
            }
            self.allowances
                .setter(from)
                .setter(spender)
                .set(allowed - value);
            true
        }
    }

    impl MockToken {
        fn move_tokens(&mut self, from: Address, to: Address, value: U256) -> bool {
            let mode = self.mode.get().to::<u8>();
            if mode == RETURNS_FALSE {
                return false;
            }
            let b = self.balances.get(from);
            if b < value {
                return false;
            }
            let fee = if mode == FEE_ON_TRANSFER {
                value / U256::from(100)
            } else {
                U256::ZERO
            };
            self.balances.setter(from).set(b - value);
            let t = self.balances.get(to);
            self.balances.setter(to).set(t + value - fee);
            true
        }
    }
}

pub use mock_token::MockToken;
pub use no_return_token::NoReturnToken;
pub use real_token::RealToken;

impl TestToken for Contract<RealToken> {
    fn addr(&self) -> Address {
        self.address()
    }
    fn mint_to(&self, to: Address, amount: U256) {
        self.sender(to).mint(to, amount).motsu_unwrap();
    }
    fn approve_from(&self, owner: Address, spender: Address, amount: U256) {
        use openzeppelin_stylus::token::erc20::IErc20;
        self.sender(owner).approve(spender, amount).motsu_unwrap();
    }
    fn token_balance(&self, who: Address) -> U256 {
        use openzeppelin_stylus::token::erc20::IErc20;
        self.sender(who).balance_of(who)
    }
    fn send(&self, from: Address, to: Address, amount: U256) {
        use openzeppelin_stylus::token::erc20::IErc20;
        self.sender(from).transfer(to, amount).motsu_unwrap();
    }
}

impl TestToken for Contract<NoReturnToken> {
    fn addr(&self) -> Address {
        self.address()
    }
    fn mint_to(&self, to: Address, amount: U256) {
        self.sender(to).mint(to, amount);
    }
    fn approve_from(&self, owner: Address, spender: Address, amount: U256) {
        self.sender(owner).approve(spender, amount);
    }
    fn token_balance(&self, who: Address) -> U256 {
        self.sender(who).balance_of(who)
    }
    fn send(&self, from: Address, to: Address, amount: U256) {
        self.sender(from).transfer(to, amount).motsu_unwrap();
    }
}

impl TestToken for Contract<MockToken> {
    fn addr(&self) -> Address {
        self.address()
    }
    fn mint_to(&self, to: Address, amount: U256) {
        self.sender(to).mint(to, amount);
    }
    fn approve_from(&self, owner: Address, spender: Address, amount: U256) {
        self.sender(owner).approve(spender, amount);
    }
    fn token_balance(&self, who: Address) -> U256 {
        self.sender(who).balance_of(who)
    }
    fn send(&self, from: Address, to: Address, amount: U256) {
        assert!(self.sender(from).transfer(to, amount));
    }
}

/// Sets a real token's decimals.
pub fn real_decimals(t: &Contract<RealToken>, decimals: u8) {
    t.sender(Address::ZERO).set_decimals(decimals);
}

/// Constructs the vault with `owner`, sets `engine`, lists `quote` as the quote
/// asset (cap 1e12 WAD) and `collateral` (underlying 1, 2, ...; same cap).
pub fn setup(
    vault: &Contract<CollateralVault>,
    owner: Address,
    engine: Address,
    quote: Address,
    collateral: &[Address],
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    vault.sender(owner).set_engine(engine).motsu_unwrap();
    vault
        .sender(owner)
        .list_asset(quote, quote_config(), wad(1_000_000_000_000), true)
        .motsu_unwrap();
    for (i, token) in collateral.iter().enumerate() {
        vault
            .sender(owner)
            .list_asset(
                *token,
                collateral_config(i as u32 + 1),
                wad(1_000_000_000_000),
                false,
            )
            .motsu_unwrap();
    }
}

/// Mints `amount` to `user`, approves the vault and deposits into `account`.
pub fn fund(
    vault: &Contract<CollateralVault>,
    token: &impl TestToken,
    user: Address,
    account: U256,
    amount: U256,
) {
    token.mint_to(user, amount);
    token.approve_from(user, vault.address(), amount);
    vault
        .sender(user)
        .deposit(account, token.addr(), amount)
        .motsu_unwrap();
}

/// Everything observable about the vault for the given accounts and tokens,
/// plus the token balances of the vault and of `holders`: compare before and
/// after a failing call to show it changed nothing.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    words: Vec<U256>,
    addrs: Vec<Address>,
    flags: Vec<bool>,
}

pub fn snapshot(
    vault: &Contract<CollateralVault>,
    accounts: &[U256],
    tokens: &[&dyn TestToken],
    holders: &[Address],
) -> Snapshot {
    let v = vault.sender(Address::ZERO);
    let mut words = vec![v.account_count()];
    let mut addrs = vec![v.owner(), v.pending_owner(), v.engine(), v.quote_token()];
    addrs.extend(v.listed_tokens());
    let mut flags = vec![];
    words.push(v.total_cash().into_raw());
    for r in 0..=4u8 {
        words.push(v.net_cash_adjustment(r).into_raw());
    }
    for t in tokens {
        let t_addr = t.addr();
        words.push(v.total_deposits(t_addr));
        words.push(v.asset_config(t_addr));
        words.push(v.deposit_cap(t_addr));
        words.push(t.token_balance(vault.address()));
        for h in holders {
            words.push(t.token_balance(*h));
        }
    }
    for a in accounts {
        words.push(v.cash_of(*a).into_raw());
        flags.push(v.is_frozen(*a));
        if let Ok(o) = v.owner_of(*a) {
            addrs.push(o);
        }
        for h in holders {
            flags.push(v.is_authorized(*a, *h).unwrap_or(false));
        }
        for t in tokens {
            words.push(v.balance_of(*a, t.addr()));
        }
    }
    Snapshot {
        words,
        addrs,
        flags,
    }
}
