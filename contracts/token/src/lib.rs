//! # TestToken (TEST ONLY: its `mint` is open to anyone; never deploy it to a real chain)
//!
//! OpenZeppelin's ERC20 (openzeppelin-stylus 0.3.0) with a public `mint` and settable
//! decimals. One source, two uses: the motsu tests link it (through margin-testkit), and
//! `scripts/build-wasm.sh token` compiles it to WASM for the execution environment
//! (`wasm-env/`), so the vault is tested against a real ERC20 program, not only native
//! stand-ins.
#![cfg_attr(not(test), no_main)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{Address, U256, U8};
use openzeppelin_stylus::token::erc20::{self, Erc20, IErc20};
use stylus_sdk::{prelude::*, storage::StorageU8};

/// OpenZeppelin ERC20 with public `mint` and configurable decimals.
#[storage]
#[entrypoint]
pub struct TestToken {
    erc20: Erc20,
    decimals: StorageU8,
}

#[public]
#[implements(IErc20<Error = erc20::Error>)]
impl TestToken {
    /// Sets the token's decimals.
    #[constructor]
    pub fn constructor(&mut self, decimals: u8) {
        self.decimals.set(U8::from(decimals));
    }

    /// Mints `amount` to `to` (test only: no access control).
    pub fn mint(&mut self, to: Address, amount: U256) -> Result<(), erc20::Error> {
        self.erc20._mint(to, amount)
    }

    /// The token's decimals.
    pub fn decimals(&self) -> u8 {
        self.decimals.get().to::<u8>()
    }
}

#[public]
impl IErc20 for TestToken {
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
