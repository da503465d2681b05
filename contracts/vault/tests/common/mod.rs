//! Test fixtures for the vault's motsu tests: helpers to set the vault up and
//! snapshot its state. The test tokens (a real ERC20 from openzeppelin-stylus,
//! tokens that return no value, return false, or take a fee on transfer) live
//! in `margin-testkit`.
//!
//! The including test crate must declare `extern crate alloc;` (the Stylus
//! macros refer to `alloc::`).
#![allow(dead_code)]

use alloy_primitives::{Address, U256};
// Not every test crate uses every token.
#[allow(unused_imports)]
pub use margin_testkit::{mock_token, MockToken, NoReturnToken, TestToken, TokenHandle};
use margin_vault::{CollateralVault, Error};
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

/// Sets a real token's decimals (its constructor).
pub fn real_decimals(t: &Contract<TestToken>, decimals: u8) {
    t.sender(Address::ZERO).constructor(decimals);
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
    vault.sender(owner).wired.set_engine(engine).motsu_unwrap();
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
    token: &impl TokenHandle,
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
    tokens: &[&dyn TokenHandle],
    holders: &[Address],
) -> Snapshot {
    let v = vault.sender(Address::ZERO);
    let mut words = vec![v.account_count()];
    let mut addrs = vec![
        v.wired.owner.owner(),
        v.wired.owner.pending_owner(),
        v.wired.engine(),
        v.quote_token(),
    ];
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

/// `setAssetConfig` from `sender` with the token's listed config changed by `change`.
#[allow(clippy::result_large_err)]
pub fn reconfigure(
    vault: &Contract<CollateralVault>,
    sender: Address,
    token: Address,
    change: impl FnOnce(&mut AssetConfig),
) -> Result<(), Error> {
    let mut c = AssetConfig::unpack(vault.sender(sender).asset_config(token).to_be_bytes());
    change(&mut c);
    vault
        .sender(sender)
        .set_asset_config(token, U256::from_be_bytes(c.pack()))
}
