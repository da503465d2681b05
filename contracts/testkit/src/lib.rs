//! Test-only contracts shared by the motsu suites (never deployed):
//! - [`TestToken`]: OpenZeppelin's ERC20 with a public `mint` and settable decimals.
//! - [`MockAggregator`]: a Chainlink AggregatorV3 whose rounds, answers and timestamps
//!   the test sets.
#![allow(clippy::needless_pass_by_value)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{aliases::U80, Address, I256, U256, U8};
use openzeppelin_stylus::token::erc20::{self, Erc20, IErc20};
use stylus_sdk::{
    prelude::*,
    storage::{StorageMap, StorageU256, StorageU8},
};

/// OpenZeppelin ERC20 with public `mint` and configurable decimals.
#[storage]
pub struct TestToken {
    erc20: Erc20,
    decimals: StorageU8,
}

unsafe impl TopLevelStorage for TestToken {}

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

/// A Chainlink-style AggregatorV3 with settable rounds.
#[storage]
pub struct MockAggregator {
    decimals: StorageU8,
    latest: StorageU256,
    answers: StorageMap<U256, StorageU256>,
    updated: StorageMap<U256, StorageU256>,
    answered_in: StorageMap<U256, StorageU256>,
}

unsafe impl TopLevelStorage for MockAggregator {}

#[public]
impl MockAggregator {
    /// Sets the feed's decimals.
    #[constructor]
    pub fn constructor(&mut self, decimals: u8) {
        self.decimals.set(U8::from(decimals));
    }

    /// Appends a round with `answer` updated at `updated_at`; returns its id.
    pub fn push_round(&mut self, answer: I256, updated_at: U256) -> U256 {
        let id = self.latest.get() + U256::from(1);
        self.set_round(id, answer, updated_at, id);
        self.latest.set(id);
        id
    }

    /// Sets any field of a round (to model incomplete or odd rounds).
    pub fn set_round(&mut self, id: U256, answer: I256, updated_at: U256, answered_in: U256) {
        self.answers.setter(id).set(answer.into_raw());
        self.updated.setter(id).set(updated_at);
        self.answered_in.setter(id).set(answered_in);
    }

    /// AggregatorV3 `decimals`.
    pub fn decimals(&self) -> u8 {
        self.decimals.get().to::<u8>()
    }

    /// AggregatorV3 `latestRoundData`.
    pub fn latest_round_data(&self) -> (U80, I256, U256, U256, U80) {
        self.get_round_data(U80::from(self.latest.get()))
    }

    /// AggregatorV3 `getRoundData`.
    pub fn get_round_data(&self, round_id: U80) -> (U80, I256, U256, U256, U80) {
        let id = U256::from(round_id);
        let updated = self.updated.get(id);
        (
            round_id,
            I256::from_raw(self.answers.get(id)),
            updated,
            updated,
            U80::from(self.answered_in.get(id)),
        )
    }
}

/// Keeps `Vec` in scope for the ABI macro expansions.
pub type Bytes = Vec<u8>;

pub use openzeppelin_stylus::token::erc20::IErc20 as Erc20Interface;
