//! # RiskReader
//!
//! Reads what a margin check needs and asks the RiskCalculator: per account one call to
//! the CollateralVault (`getAccountState`: flags, cash, collateral with configs) and one
//! to the PositionRegistry (`getPositions`), then one `marketData` call to the RiskOracle
//! for exactly the underlyings and expiries those accounts hold, and one `evaluate` call
//! to the calculator for all of them. The RiskEngine calls `check` before and after every
//! action; wallets, keepers and risk teams read the same numbers through the views.
//!
//! It also holds the 12 margin parameters (owner-set within the core's hard bounds) and
//! sends them with every request. Its wiring is fixed at construction: a new version of
//! the calculator is a new reader, which the engine's owner points the engine at.
//!
//! Call graph: the engine (or anyone, for views) calls this contract; it calls the vault,
//! the registry, the oracle and the calculator, all as views. Nothing calls it back.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{Address, I256, U256};
use alloy_sol_types::sol;
use margin_common::{
    call_err, err, i256, math_err,
    wire::{self, params_from_words, params_words, AccountWords, Evaluation, Request},
    MathFailure, Owned, OwnershipTransferred, ParameterOutOfBounds, Unauthorized,
};
use stylus_margin::margin::{MarginError, MarginParams, DEFAULT_GRID};
use stylus_sdk::{prelude::*, storage::StorageU256};

mod events {
    use super::*;
    sol! {
        /// Risk parameters changed.
        event ParamsSet(uint64[12] values);
    }
}
pub use events::*;

/// Errors of the RiskReader (the vault's, registry's, oracle's and calculator's are
/// bubbled up unchanged).
#[derive(SolidityError, Debug)]
pub enum Error {
    MathFailure(MathFailure),
    ParameterOutOfBounds(ParameterOutOfBounds),
    Unauthorized(Unauthorized),
}

sol_interface! {
    interface ICollateralVault {
        function getAccountState(uint256 account, address actor) external view returns (address, bool, bool, int256, address[] memory, uint256[] memory, uint256[] memory);
        function accountCount() external view returns (uint256);
    }
    interface IPositionRegistry {
        function getPositions(uint256 account) external view returns (uint256[] memory, int256[] memory, int256[] memory);
    }
    interface IRiskOracle {
        function marketData(uint256[] memory keys) external view returns (uint256[] memory);
    }
    interface IRiskCalculator {
        function evaluate(uint256[] memory request) external view returns (uint256[] memory);
    }
}

/// The wiring and the 12 parameters share six slots, all read by a check (it read seven:
/// four addresses and three parameter words). An address slot holds the address in its
/// low 160 bits, as a `StorageAddress` would. The parameters are the three request words
/// of `params_words` (all zero: the defaults); the second and third are whole slots, the
/// first's limbs 0, 1, 2 sit in limb 3 of the oracle, calculator and vault slots, and its
/// limb 3 in the high halves of limb 2 of the oracle (high 32 bits) and calculator (low
/// 32 bits) slots. `quote` reads no slot it did not read before (the registry's).
const SLOTS: usize = 6;
/// Slot indices in `RiskReader::slots`.
const ORACLE: usize = 0;
const CALCULATOR: usize = 1;
const PARAMS1: usize = 2;
const PARAMS2: usize = 3;
const VAULT: usize = 4;
const REGISTRY: usize = 5;
const HIGH32: u64 = 0xffff_ffff_0000_0000;

/// The six slots of four addresses (vault, registry, oracle, calculator) and the three
/// parameter words.
fn pack_slots(addresses: [Address; 4], params: [U256; 3]) -> [U256; SLOTS] {
    let p = params[0].as_limbs();
    let [vault, registry, oracle, calculator] = addresses;
    [
        address_slot(oracle, p[0], p[3]),
        address_slot(calculator, p[1], p[3] << 32),
        params[1],
        params[2],
        address_slot(vault, p[2], 0),
        address_slot(registry, 0, 0),
    ]
}

/// An address slot: the address, `top` in limb 3 and the high 32 bits of `p3` in limb 2.
#[inline(never)]
fn address_slot(a: Address, top: u64, p3: u64) -> U256 {
    let mut l = U256::from_be_bytes(a.into_word().0).into_limbs();
    l[3] = top;
    l[2] |= p3 & HIGH32;
    U256::from_limbs(l)
}

/// The three parameter words of the six slots (the registry's is not needed).
fn unpack_params(s: &[U256; SLOTS]) -> [U256; 3] {
    let (o, c, v) = (
        s[ORACLE].as_limbs(),
        s[CALCULATOR].as_limbs(),
        s[VAULT].as_limbs(),
    );
    [
        U256::from_limbs([o[3], c[3], v[3], (o[2] & HIGH32) | (c[2] >> 32)]),
        s[PARAMS1],
        s[PARAMS2],
    ]
}

#[storage]
#[entrypoint]
pub struct RiskReader {
    owner: Owned,
    slot0: StorageU256,
    slot1: StorageU256,
    slot2: StorageU256,
    slot3: StorageU256,
    slot4: StorageU256,
    slot5: StorageU256,
}

impl RiskReader {
    fn address(&self, i: usize) -> Address {
        let w = match i {
            VAULT => self.slot4.get(),
            REGISTRY => self.slot5.get(),
            ORACLE => self.slot0.get(),
            _ => self.slot1.get(),
        };
        Address::from_word(w.into())
    }

    /// The three parameter words of a request, as `params_words` makes them.
    fn param_words(&self) -> [U256; 3] {
        unpack_params(&[
            self.slot0.get(),
            self.slot1.get(),
            self.slot2.get(),
            self.slot3.get(),
            self.slot4.get(),
            U256::ZERO,
        ])
    }

    /// Writes the six slots.
    fn store(&mut self, addresses: [Address; 4], params: [U256; 3]) {
        let [w0, w1, w2, w3, w4, w5] = pack_slots(addresses, params);
        self.slot0.set(w0);
        self.slot1.set(w1);
        self.slot2.set(w2);
        self.slot3.set(w3);
        self.slot4.set(w4);
        self.slot5.set(w5);
    }

    /// One account's words: one vault call, one registry call.
    fn account(&self, account: U256, actor: Address) -> Result<AccountWords, Vec<u8>> {
        let (_, frozen, authorized, cash, _, amounts, configs) =
            ICollateralVault::new(self.address(VAULT))
                .get_account_state(self, account, actor)
                .map_err(call_err)?;
        let (ids, sizes, entries) = IPositionRegistry::new(self.address(REGISTRY))
            .get_positions(self, account)
            .map_err(call_err)?;
        Ok(AccountWords {
            flags: u8::from(authorized) | (u8::from(frozen) << 1),
            cash: cash.into_raw(),
            amounts,
            configs,
            ids,
            sizes: sizes.into_iter().map(I256::into_raw).collect(),
            entries: entries.into_iter().map(I256::into_raw).collect(),
        })
    }

    /// Market data for `keys` and the calculator's answer for `accounts`.
    fn evaluate(
        &self,
        mut keys: Vec<U256>,
        accounts: Vec<AccountWords>,
        grid_len: usize,
    ) -> Result<Vec<Evaluation>, Vec<u8>> {
        wire::sort_keys(&mut keys);
        let market = IRiskOracle::new(self.address(ORACLE))
            .market_data(self, keys.clone())
            .map_err(call_err)?;
        let request = Request {
            now: self.vm().block_timestamp(),
            grid_len: grid_len as u64,
            params: self.param_words(),
            keys,
            market,
            accounts,
        };
        let words = IRiskCalculator::new(self.address(CALCULATOR))
            .evaluate(self, request.encode())
            .map_err(call_err)?;
        Evaluation::decode_all(&words).ok_or_else(|| math_err(MarginError::BadGrid))
    }

    /// Evaluations of `accounts` as `actor` sees them.
    fn evaluate_accounts(
        &self,
        accounts: &[U256],
        actor: Address,
    ) -> Result<Vec<Evaluation>, Vec<u8>> {
        let mut keys = Vec::new();
        let mut words = Vec::with_capacity(accounts.len());
        for &a in accounts {
            let w = self.account(a, actor)?;
            wire::needed_keys(&w.ids, &w.amounts, &w.configs, &mut keys);
            words.push(w);
        }
        self.evaluate(keys, words, DEFAULT_GRID.len())
    }

    fn one(&self, account: U256) -> Result<Evaluation, Vec<u8>> {
        let mut e = self.evaluate_accounts(&[account], Address::ZERO)?;
        e.pop().ok_or_else(|| math_err(MarginError::BadGrid))
    }
}

#[public]
impl RiskReader {
    /// Sets the owner (who sets the margin parameters) and wires the vault, the registry,
    /// the oracle and the calculator (once).
    #[constructor]
    pub fn constructor(
        &mut self,
        owner: Address,
        vault: Address,
        registry: Address,
        oracle: Address,
        calculator: Address,
    ) {
        self.owner.init(owner);
        self.store(
            [vault, registry, oracle, calculator],
            [U256::ZERO; 3], // the defaults
        );
    }

    /// The owner.
    pub fn owner(&self) -> Address {
        self.owner.get()
    }

    /// Names a successor owner. Owner only.
    /// # Errors
    /// `Unauthorized`.
    pub fn transfer_ownership(&mut self, next: Address) -> Result<(), Vec<u8>> {
        let s = self.vm().msg_sender();
        self.owner.transfer(s, next)
    }

    /// The named successor takes ownership.
    /// # Errors
    /// `Unauthorized`.
    /// # Events
    /// `OwnershipTransferred`.
    pub fn accept_ownership(&mut self) -> Result<(), Vec<u8>> {
        let s = self.vm().msg_sender();
        let e: OwnershipTransferred = self.owner.accept(s)?;
        log(self.vm(), e);
        Ok(())
    }

    /// Sets the 12 risk parameters (WAD; order as `MarginParams`: volUp, volDown,
    /// mmShortOption, imShortOption, mmFuture, imFuture, imMultiplier, imPositiveMtm,
    /// thetaHorizon (seconds), haircutHorizon (years), sizeCoef, maxShockScale). Owner only.
    /// # Errors
    /// `Unauthorized`, `ParameterOutOfBounds(index, value)` for the first value outside
    /// its hard bounds.
    /// # Events
    /// `ParamsSet`.
    pub fn set_params(&mut self, values: [u64; 12]) -> Result<(), Vec<u8>> {
        self.owner.only(self.vm().msg_sender())?;
        if let Err(i) = MarginParams::from_limbs(values).validate() {
            return err(ParameterOutOfBounds {
                which: i,
                value: I256::try_from(values[usize::from(i)]).unwrap_or(I256::MAX),
            });
        }
        let wiring = self.sources();
        self.store(wiring.into(), params_words(&values));
        log(self.vm(), ParamsSet { values });
        Ok(())
    }

    /// The risk parameters in force (defaults until set).
    pub fn params(&self) -> [u64; 12] {
        params_from_words(self.param_words()).to_limbs()
    }

    /// The accounts' standings for the engine's checks, 6 words per account: flags
    /// (bit 0: `actor` is owner or operator, bit 1: frozen), the first failed reading the
    /// account needs (0: none; low byte 1 stale oracle, 2 bad oracle, 3 stale surface,
    /// 4 missing surface), equity, IM equity, MM, IM (int256 WAD).
    /// # Errors
    /// The vault's, registry's, oracle's and calculator's errors unchanged.
    pub fn check(&self, accounts: Vec<U256>, actor: Address) -> Result<Vec<U256>, Vec<u8>> {
        let mut out = Vec::with_capacity(accounts.len() * wire::CHECK_WORDS);
        for e in self.evaluate_accounts(&accounts, actor)? {
            e.check.encode(&mut out);
        }
        Ok(out)
    }

    /// The full evaluations of `accounts` as `actor` sees them, in the layout of
    /// `margin_common::wire::Evaluation`: the 6 `check` words, mark-to-market, collateral
    /// value (haircut), collateral value (gross), worst scenario, and the Greeks (count,
    /// then underlying, delta, gamma, vega, theta each). The keeper module prices
    /// liquidations from these.
    /// # Errors
    /// As `check`.
    pub fn evaluations(&self, accounts: Vec<U256>, actor: Address) -> Result<Vec<U256>, Vec<u8>> {
        let mut out = Vec::new();
        for e in self.evaluate_accounts(&accounts, actor)? {
            e.encode(&mut out);
        }
        Ok(out)
    }

    /// A keeper's scan: of the accounts `first .. first + count` (ids start at 1; the
    /// page stops at the last account), those holding positions, with equity, MM and
    /// whether each is liquidatable now (equity < MM on fresh data). At most 64 a page.
    /// # Errors
    /// As `check`.
    #[allow(clippy::type_complexity)]
    pub fn scan(
        &self,
        first: U256,
        count: U256,
    ) -> Result<(Vec<U256>, Vec<I256>, Vec<I256>, Vec<bool>), Vec<u8>> {
        let last = ICollateralVault::new(self.address(VAULT))
            .account_count(self)
            .map_err(call_err)?;
        let first = first.max(U256::from(1));
        let end = first
            .saturating_add(count.min(U256::from(64u8)))
            .min(last.saturating_add(U256::from(1)));
        let mut keys = Vec::new();
        let mut ids = Vec::new();
        let mut words = Vec::new();
        let mut a = first;
        while a < end {
            let w = self.account(a, Address::ZERO)?;
            if !w.ids.is_empty() {
                wire::needed_keys(&w.ids, &w.amounts, &w.configs, &mut keys);
                ids.push(a);
                words.push(w);
            }
            a += U256::from(1);
        }
        let evals = if words.is_empty() {
            Vec::new()
        } else {
            self.evaluate(keys, words, DEFAULT_GRID.len())?
        };
        let s = |e: &Evaluation| e.check.standing;
        Ok((
            ids,
            evals.iter().map(|e| i256(s(e).equity)).collect(),
            evals.iter().map(|e| i256(s(e).mm)).collect(),
            evals
                .iter()
                .map(|e| e.check.failure.is_none() && s(e).mm_surplus() < 0)
                .collect(),
        ))
    }

    /// Equity (oracle), MM, IM, equity for IM, and per underlying: id, delta, gamma,
    /// vega, theta (WAD); plus the index of the worst scenario (255: no positions).
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
    pub fn health(&self, account: U256) -> Result<I256, Vec<u8>> {
        Ok(i256(self.one(account)?.check.standing.mm_surplus()))
    }

    /// Whether equity < MM on fresh data (a stale reading never makes an account
    /// liquidatable on its own).
    pub fn is_liquidatable(&self, account: U256) -> Result<bool, Vec<u8>> {
        let c = self.one(account)?.check;
        Ok(c.failure.is_none() && c.standing.mm_surplus() < 0)
    }

    /// Price and Greeks of one unit of an instrument now: (price, delta, gamma, vega,
    /// theta), WAD, on the oracle price and the expiry's surface.
    pub fn quote(&self, instrument: U256) -> Result<(I256, I256, I256, I256, I256), Vec<u8>> {
        let one = AccountWords {
            ids: alloc::vec![instrument],
            sizes: alloc::vec![U256::from(stylus_margin::fixed::WAD as u128)],
            entries: alloc::vec![U256::ZERO],
            ..AccountWords::default()
        };
        let mut keys = Vec::new();
        wire::needed_keys(&one.ids, &[], &[], &mut keys);
        let e = self.evaluate(keys, alloc::vec![one], 1)?;
        let e = e.first().ok_or_else(|| math_err(MarginError::BadGrid))?;
        let g = e.greeks.first().copied().unwrap_or_default();
        Ok((
            i256(e.mtm),
            i256(g.delta),
            i256(g.gamma),
            i256(g.vega),
            i256(g.theta),
        ))
    }

    /// The contracts this reader uses: (vault, registry, oracle, calculator).
    pub fn sources(&self) -> (Address, Address, Address, Address) {
        (
            self.address(VAULT),
            self.address(REGISTRY),
            self.address(ORACLE),
            self.address(CALCULATOR),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip_addresses_and_params() {
        let addrs = [0x11u8, 0x22, 0x33, 0x44].map(Address::repeat_byte);
        for values in [
            [0u64; 12],
            [u64::MAX; 12],
            core::array::from_fn(|i| (i as u64 + 1) * 0x0102_0304_0506_0708),
            MarginParams::DEFAULT.to_limbs(),
        ] {
            let words = params_words(&values);
            let mut slots = pack_slots(addrs, words);
            for (i, a) in [VAULT, REGISTRY, ORACLE, CALCULATOR].into_iter().zip(addrs) {
                assert_eq!(Address::from_word(slots[i].into()), a);
            }
            // The registry slot holds only its address (`param_words` skips it).
            assert_eq!(slots[REGISTRY], U256::from_be_bytes(addrs[1].into_word().0));
            assert_eq!(unpack_params(&slots), words);
            slots[REGISTRY] = U256::ZERO;
            assert_eq!(unpack_params(&slots), words);
            assert_eq!(params_from_words(unpack_params(&slots)).to_limbs(), {
                if values == [0; 12] {
                    MarginParams::DEFAULT.to_limbs()
                } else {
                    values
                }
            });
        }
    }
}
