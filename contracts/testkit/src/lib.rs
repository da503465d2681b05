//! Test-only contracts shared by the motsu suites (never deployed), and the one
//! crate of the workspace that depends on openzeppelin-stylus:
//! - [`TestToken`]: OpenZeppelin's ERC20 with a public `mint` and settable decimals
//!   (its home is `contracts/token`, which also builds it to WASM).
//! - [`NoReturnToken`]: a USDT-style token whose `transfer`/`transferFrom` return
//!   no value.
//! - [`MockToken`]: a bool-returning token that can return `false` or take a fee
//!   on transfer ([`mock_token::RETURNS_FALSE`], [`mock_token::FEE_ON_TRANSFER`]).
//! - [`TokenHandle`]: one interface over the three tokens for test helpers.
//! - [`MockAggregator`]: a Chainlink AggregatorV3 whose rounds, answers and timestamps
//!   the test sets.
//! - [`Forwarder`]: forwards raw calldata to a contract, so a test can drive a
//!   contract's ABI router (motsu routes only calls between contracts).
//!
//! Never build this crate with stylus-sdk's `export-abi` feature:
//! openzeppelin-stylus 0.3.0 cannot compile then. Without its own `export-abi`
//! feature it is `no_std` and the code `export-abi` generates needs `std`; with
//! it, its `storage_slot` builds the `VM` the non-test way, which does not
//! compile with stylus-sdk's `stylus-test` (which motsu needs). So no build may
//! combine a test of a contract crate with that crate's `export-abi` feature:
//! the ABI export (`tools/abi-export`) builds the contracts without their
//! dev-dependencies.
#![allow(clippy::needless_pass_by_value)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{aliases::U80, Address, I256, U256, U8};
use motsu::prelude::*;
use openzeppelin_stylus::token::erc20::IErc20;
use stylus_sdk::{
    call::RawCall,
    prelude::*,
    storage::{StorageMap, StorageU256, StorageU8},
};

pub use margin_token::TestToken;

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

/// Forwards raw calldata to a contract and hands back its raw answer, so a
/// motsu test can drive a contract through its ABI router: the target sees
/// the forwarder as `msg.sender`.
#[storage]
pub struct Forwarder {
    calls: StorageU256,
}

unsafe impl TopLevelStorage for Forwarder {}

#[public]
impl Forwarder {
    /// Calls `target` with `data`; returns what it returned, or its revert
    /// data as the error.
    pub fn forward(&mut self, target: Address, data: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        self.calls.set(self.calls.get() + U256::from(1));
        // SAFETY: no storage reference is held across the call, and the cache
        // is flushed first (test-only contract).
        unsafe { RawCall::new().flush_storage_cache().call(target, &data) }
    }
}

pub mod no_return_token {
    //! A USDT-style token: `transfer`/`transferFrom` return no value and
    //! revert on failure.
    use alloc::vec::Vec;

    use alloy_primitives::{aliases::U8, Address, U256};
    use stylus_sdk::{
        prelude::*,
        storage::{StorageMap, StorageU256, StorageU8},
    };

    #[storage]
    pub struct NoReturnToken {
        balances: StorageMap<Address, StorageU256>,
        allowances: StorageMap<Address, StorageMap<Address, StorageU256>>,
        decimals: StorageU8,
    }

    unsafe impl TopLevelStorage for NoReturnToken {}

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

    #[storage]
    pub struct MockToken {
        balances: StorageMap<Address, StorageU256>,
        allowances: StorageMap<Address, StorageMap<Address, StorageU256>>,
        decimals: StorageU8,
        mode: StorageU8,
    }

    unsafe impl TopLevelStorage for MockToken {}

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

/// One interface over every test token, so helpers work on any of them.
pub trait TokenHandle {
    /// The token's address.
    fn addr(&self) -> Address;
    /// Mints `amount` to `to`.
    fn mint_to(&self, to: Address, amount: U256);
    /// `owner` approves `spender` for `amount`.
    fn approve_from(&self, owner: Address, spender: Address, amount: U256);
    /// `who`'s balance.
    fn token_balance(&self, who: Address) -> U256;
    /// `from` transfers `amount` to `to` (panics if it fails).
    fn send(&self, from: Address, to: Address, amount: U256);
}

impl TokenHandle for Contract<TestToken> {
    fn addr(&self) -> Address {
        self.address()
    }
    fn mint_to(&self, to: Address, amount: U256) {
        self.sender(to).mint(to, amount).motsu_unwrap();
    }
    fn approve_from(&self, owner: Address, spender: Address, amount: U256) {
        self.sender(owner).approve(spender, amount).motsu_unwrap();
    }
    fn token_balance(&self, who: Address) -> U256 {
        self.sender(who).balance_of(who)
    }
    fn send(&self, from: Address, to: Address, amount: U256) {
        self.sender(from).transfer(to, amount).motsu_unwrap();
    }
}

impl TokenHandle for Contract<NoReturnToken> {
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

impl TokenHandle for Contract<MockToken> {
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

/// Keeps `Vec` in scope for the ABI macro expansions.
pub type Bytes = Vec<u8>;

pub use openzeppelin_stylus::token::erc20::IErc20 as Erc20Interface;
