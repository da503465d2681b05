//! # RiskLens
//!
//! The read-only views of the margin system that no transaction needs, off the hot path:
//! an account's risk and Greeks, its health, whether it is liquidatable, a keeper's scan,
//! an instrument's quote, and an account's owner, frozen flag and collateral balances
//! (from the vault's `getAccountState`). Wallets, keepers and risk teams read them; the RiskEngine
//! and the KeeperModule never call this contract, so its code costs their transactions
//! nothing and leaves the RiskReader's bytes to the checks.
//!
//! Every number is the RiskReader's (`evaluations`, the same words the keeper prices
//! liquidations from) or, for a quote, the calculator's on the reader's parameters and the
//! oracle's data: the lens holds no risk state of its own, only the reader's address.
//!
//! Call graph: anyone calls this contract (as views); it calls the RiskReader, the
//! CollateralVault and the PositionRegistry (scan), and the RiskOracle and the
//! RiskCalculator (quote), all as views. Nothing calls it back.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{Address, I256, U256};
use alloy_sol_types::SolCall;
use margin_common::{
    abi::{self, accounts_view, address_word, calls, view, Answer},
    i256, malformed, nonzero,
    wire::{self, params_words, AccountWords, Evaluation},
    MathFailure, ZeroAddress,
};
use stylus_sdk::{prelude::*, storage::StorageAddress};

margin_common::errors! {
    /// Errors of the RiskLens (the reader's, vault's, registry's, oracle's and calculator's
    /// are bubbled up unchanged).
    pub enum Error {
        MathFailure,
        ZeroAddress,
    }
}

#[storage]
#[entrypoint]
pub struct RiskLens {
    reader: StorageAddress,
}

/// The largest page of a scan.
pub const SCAN_PAGE: u64 = 64;

impl RiskLens {
    /// The reader's wiring: (vault, registry, oracle, calculator).
    fn sources(&self) -> Result<[Address; 4], Error> {
        let a = view(self.reader.get(), calls::sourcesCall::SELECTOR, &[], None)?;
        let mut out = [Address::ZERO; 4];
        for (i, o) in out.iter_mut().enumerate() {
            *o = Address::from_word(a.word(i)?.into());
        }
        Ok(out)
    }

    /// The reader's evaluations of `accounts` (as no actor sees them), one per account.
    fn evaluations(&self, accounts: &[U256]) -> Result<Vec<Evaluation>, Error> {
        let words = accounts_view(
            self.reader.get(),
            calls::evaluationsCall::SELECTOR,
            accounts,
            Address::ZERO,
        )?;
        Evaluation::decode_all(&words)
            .filter(|e| e.len() == accounts.len())
            .ok_or_else(|| malformed().into())
    }

    fn one(&self, account: U256) -> Result<Evaluation, Error> {
        self.evaluations(&[account])?
            .pop()
            .ok_or_else(|| malformed().into())
    }

    /// The vault's `getAccountState(account, 0)`: (owner, frozen, authorized, cash,
    /// tokens, amounts, configs).
    fn account_state(&self, vault: Address, account: U256) -> Result<Answer, Error> {
        Ok(view(
            vault,
            calls::getAccountStateCall::SELECTOR,
            &[account, U256::ZERO],
            None,
        )?
        .tuple()?)
    }

    /// [`Self::account_state`], or `None` for an id no account has (ids are sequential
    /// from 1).
    fn state(&self, account: U256) -> Result<Option<Answer>, Error> {
        let [vault, ..] = self.sources()?;
        let last = view(vault, calls::accountCountCall::SELECTOR, &[], None)?.word(0)?;
        if account.is_zero() || account > last {
            return Ok(None);
        }
        Ok(Some(self.account_state(vault, account)?))
    }
}

#[public]
impl RiskLens {
    /// Points the lens at a RiskReader (once).
    /// # Errors
    /// `ZeroAddress` for a zero reader.
    #[constructor]
    pub fn constructor(&mut self, reader: Address) -> Result<(), Error> {
        nonzero(&[reader])?;
        self.reader.set(reader);
        Ok(())
    }

    /// The RiskReader whose numbers this lens shows.
    pub fn reader(&self) -> Address {
        self.reader.get()
    }

    /// A keeper's scan: of the accounts `first .. first + count` (ids start at 1; the
    /// page stops at the last account), those holding positions, with equity, MM and
    /// whether each is liquidatable now (equity < MM on fresh data). At most 64 a page.
    /// # Errors
    /// The reader's, vault's and registry's errors unchanged.
    #[allow(clippy::type_complexity)]
    pub fn scan(
        &self,
        first: U256,
        count: U256,
    ) -> Result<(Vec<U256>, Vec<I256>, Vec<I256>, Vec<bool>), Error> {
        let [vault, registry, ..] = self.sources()?;
        let last = view(vault, calls::accountCountCall::SELECTOR, &[], None)?.word(0)?;
        let first = first.max(U256::from(1));
        let end = first
            .saturating_add(count.min(U256::from(SCAN_PAGE)))
            .min(last.saturating_add(U256::from(1)));
        let mut ids = Vec::new();
        let mut a = first;
        while a < end {
            let held = view(registry, calls::getPositionsCall::SELECTOR, &[a], None)?
                .tuple()?
                .array(0)?;
            if !held.is_empty() {
                ids.push(a);
            }
            a += U256::from(1);
        }
        let evals = if ids.is_empty() {
            Vec::new()
        } else {
            self.evaluations(&ids)?
        };
        let s = |e: &Evaluation| e.check.standing;
        Ok((
            ids,
            evals.iter().map(|e| i256(s(e).equity)).collect(),
            evals.iter().map(|e| i256(s(e).mm)).collect(),
            evals.iter().map(liquidatable).collect(),
        ))
    }

    /// Equity (oracle), MM, IM, equity for IM, and per underlying: id, delta, gamma,
    /// vega, theta (WAD); plus the index of the worst scenario (255: no positions).
    /// # Errors
    /// The reader's errors unchanged.
    #[allow(clippy::type_complexity)]
    pub fn account_risk(
        &self,
        account: U256,
    ) -> Result<
        (
            I256,
            I256,
            I256,
            I256,
            Vec<u32>,
            Vec<I256>,
            Vec<I256>,
            Vec<I256>,
            Vec<I256>,
            u8,
        ),
        Vec<u8>,
    > {
        let e = self.one(account)?;
        let s = e.check.standing;
        let g = &e.greeks;
        Ok((
            i256(s.equity),
            i256(s.mm),
            i256(s.im),
            i256(s.equity_im),
            g.iter().map(|x| x.underlying).collect(),
            g.iter().map(|x| i256(x.delta)).collect(),
            g.iter().map(|x| i256(x.gamma)).collect(),
            g.iter().map(|x| i256(x.vega)).collect(),
            g.iter().map(|x| i256(x.theta)).collect(),
            e.worst_scenario,
        ))
    }

    /// `equity - MM` (negative: below maintenance).
    /// # Errors
    /// The reader's errors unchanged.
    pub fn health(&self, account: U256) -> Result<I256, Error> {
        Ok(i256(self.one(account)?.check.standing.mm_surplus()))
    }

    /// Whether equity < MM on fresh data (a stale reading never makes an account
    /// liquidatable on its own).
    /// # Errors
    /// The reader's errors unchanged.
    pub fn is_liquidatable(&self, account: U256) -> Result<bool, Error> {
        Ok(liquidatable(&self.one(account)?))
    }

    /// The owner of an account (the vault's record).
    /// # Errors
    /// The vault's `UnknownAccount` if it does not exist.
    pub fn owner_of(&self, account: U256) -> Result<Address, Error> {
        let [vault, ..] = self.sources()?;
        let state = self.account_state(vault, account)?;
        Ok(Address::from_word(state.word(0)?.into()))
    }

    /// Whether the keeper module has frozen `account` for its liquidation (false if it
    /// does not exist).
    /// # Errors
    /// The vault's errors unchanged.
    pub fn is_frozen(&self, account: U256) -> Result<bool, Error> {
        Ok(match self.state(account)? {
            Some(state) => !state.word(1)?.is_zero(),
            None => false,
        })
    }

    /// An account's balance of a collateral token, 18 decimals (0 for an unknown
    /// account, an unlisted token, or the quote asset: that is the account's cash).
    /// # Errors
    /// The vault's errors unchanged.
    pub fn balance_of(&self, account: U256, token: Address) -> Result<U256, Error> {
        let Some(state) = self.state(account)? else {
            return Ok(U256::ZERO);
        };
        let tokens = state.array(4)?;
        Ok(
            match tokens.iter().position(|t| *t == address_word(token)) {
                Some(i) => state.array(5)?.get(i).copied().unwrap_or_default(),
                None => U256::ZERO,
            },
        )
    }

    /// Price and Greeks of one unit of an instrument now: (price, delta, gamma, vega,
    /// theta), WAD, on the oracle price and the expiry's surface, with the reader's
    /// parameters.
    /// # Errors
    /// The reader's, oracle's and calculator's errors unchanged; `MathFailure(4)` for a
    /// malformed instrument id.
    pub fn quote(&self, instrument: U256) -> Result<(I256, I256, I256, I256, I256), Error> {
        let [_, _, oracle, calculator] = self.sources()?;
        let p = view(self.reader.get(), calls::paramsCall::SELECTOR, &[], None)?;
        let mut values = [0u64; 12];
        for (i, v) in values.iter_mut().enumerate() {
            *v = u64::try_from(p.word(i)?).map_err(|_| malformed())?;
        }
        let one = AccountWords {
            ids: alloc::vec![instrument],
            sizes: alloc::vec![U256::from(stylus_margin::fixed::WAD as u128)],
            entries: alloc::vec![U256::ZERO],
            ..AccountWords::default()
        };
        let mut keys = Vec::new();
        wire::needed_keys(&one.ids, &[], &[], &mut keys);
        let words = abi::evaluate(
            oracle,
            calculator,
            self.vm().block_timestamp(),
            params_words(&values),
            keys,
            alloc::vec![one],
            1,
        )?;
        let e = Evaluation::decode_all(&words)
            .and_then(|mut e| e.pop())
            .ok_or_else(malformed)?;
        let g = e.greeks.first().copied().unwrap_or_default();
        Ok((
            i256(e.mtm),
            i256(g.delta),
            i256(g.gamma),
            i256(g.vega),
            i256(g.theta),
        ))
    }
}

/// Liquidatable: equity < MM on fresh data.
fn liquidatable(e: &Evaluation) -> bool {
    e.check.failure.is_none() && e.check.standing.mm_surplus() < 0
}
