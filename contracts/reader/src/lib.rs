//! # RiskReader
//!
//! Reads what a margin check needs and asks the RiskCalculator: per account one call to
//! the CollateralVault (`getAccountState`: flags, cash, collateral with configs) and one
//! to the PositionRegistry (`getPositions`), then one `marketData` call to the RiskOracle
//! for exactly the underlyings and expiries those accounts hold, and one `evaluate` call
//! to the calculator for all of them. The RiskEngine calls `check` after every trade and
//! withdrawal, and `checkBefore` (the account with the action taken back out) only when
//! one leaves an account under IM; wallets, keepers and risk teams read the same numbers
//! through the views.
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
    err, i256, malformed, math_err,
    wire::{self, params_from_words, params_words, AccountWords, Evaluation, Request, Undo},
    MathFailure, Owned, OwnershipTransferred, ParameterOutOfBounds, Unauthorized,
};
use stylus_margin::{
    collateral::AssetConfig,
    margin::{MarginError, MarginParams, DEFAULT_GRID},
};
use stylus_sdk::{call::RawCall, prelude::*, storage::StorageU256};

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

mod calls {
    use super::*;
    sol! {
        function getAccountState(uint256 account, address actor) external view returns (address, bool, bool, int256, address[] memory, uint256[] memory, uint256[] memory);
        function accountCount() external view returns (uint256);
        function assetConfig(address token) external view returns (uint256);
        function getPositions(uint256 account) external view returns (uint256[] memory, int256[] memory, int256[] memory);
        function marketData(uint256[] memory keys) external view returns (uint256[] memory);
        function evaluate(uint256[] memory request) external view returns (uint256[] memory);
    }
}
use alloy_sol_types::SolCall;

/// A view call to one of the four contracts with hand-made ABI data ([`calldata`]):
/// the answer, or the callee's revert data unchanged. (alloy's generic decoders cost
/// about 2,000 gas more per check, and 1.5 KB of code.)
fn view(
    to: Address,
    selector: [u8; 4],
    head: &[U256],
    array: Option<&[U256]>,
) -> Result<Answer, Vec<u8>> {
    let data = calldata(selector, head, array);
    // SAFETY: a static call changes no state, and no storage reference is held across it.
    unsafe { RawCall::new_static().call(to, &data) }.map(|data| Answer { data, base: 0 })
}

/// `selector`, the static `head` words, then `array` (if any) as the one dynamic
/// `uint256[]` argument, last.
fn calldata(selector: [u8; 4], head: &[U256], array: Option<&[U256]>) -> Vec<u8> {
    let n = head.len() + array.map_or(0, |a| a.len() + 2);
    let mut data = Vec::with_capacity(4 + 32 * n);
    data.extend_from_slice(&selector);
    for w in head {
        data.extend_from_slice(&w.to_be_bytes::<32>());
    }
    if let Some(a) = array {
        let offset = U256::from(32 * (head.len() + 1));
        data.extend_from_slice(&offset.to_be_bytes::<32>());
        data.extend_from_slice(&U256::from(a.len()).to_be_bytes::<32>());
        for w in a {
            data.extend_from_slice(&w.to_be_bytes::<32>());
        }
    }
    data
}

/// ABI-encoded return data, read as words (malformed data: `MathFailure(4)`; the four
/// contracts never answer it).
struct Answer {
    data: Vec<u8>,
    /// Where the returned values start.
    base: usize,
}

impl Answer {
    /// The word at byte `at`.
    fn word_at(&self, at: usize) -> Result<U256, Vec<u8>> {
        let end = at.checked_add(32).ok_or_else(malformed)?;
        let b = self.data.get(at..end).ok_or_else(malformed)?;
        Ok(U256::from_be_slice(b))
    }

    fn usize_at(&self, at: usize) -> Result<usize, Vec<u8>> {
        let w = self.word_at(at)?;
        usize::try_from(w)
            .ok()
            .filter(|n| *n <= self.data.len())
            .ok_or_else(malformed)
    }

    /// Returned value `i` (a static one, or the offset of a dynamic one).
    fn word(&self, i: usize) -> Result<U256, Vec<u8>> {
        self.word_at(self.base + 32 * i)
    }

    /// Several values returned as a tuple holding a dynamic type: stylus-sdk 0.9 encodes
    /// them as one tuple (`abi_encode`, behind an offset word; OffchainLabs/stylus-sdk-rs
    /// #308), which is what the vault and the registry answer.
    fn tuple(mut self) -> Result<Answer, Vec<u8>> {
        self.base = self.usize_at(0)?;
        Ok(self)
    }

    /// The array of 32-byte elements (`uint256[]`, `int256[]`) that returned value `i` is.
    fn array(&self, i: usize) -> Result<Vec<U256>, Vec<u8>> {
        let at = self.base + self.usize_at(self.base + 32 * i)?;
        let n = self.usize_at(at)?;
        (0..n).map(|j| self.word_at(at + 32 + 32 * j)).collect()
    }
}

/// The evaluations of a calculator answer (`MathFailure(4)` when malformed).
fn decode(words: &[U256]) -> Result<Vec<Evaluation>, Vec<u8>> {
    Evaluation::decode_all(words).ok_or_else(|| math_err(MarginError::BadGrid))
}

/// The [`CHECK_WORDS`](wire::CHECK_WORDS) words of each evaluation of a calculator answer,
/// as the calculator wrote them (`Check::encode`), without decoding the rest: the layout
/// is walked as `Evaluation::decode_all` walks it, and `None` where it fails.
fn check_words(w: &[U256]) -> Option<Vec<U256>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < w.len() {
        out.extend_from_slice(w.get(at..at + wire::CHECK_WORDS)?);
        // mtm, collateral value, gross value, worst scenario, then the Greeks count.
        at += wire::CHECK_WORDS + 4;
        let greeks = usize::try_from(*w.get(at)?).ok()?.checked_mul(5)?;
        at = at.checked_add(1 + greeks).filter(|end| *end <= w.len())?;
    }
    Some(out)
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
        Ok(self.account_and_tokens(account, actor)?.0)
    }

    /// [`Self::account`] and the tokens of its collateral entries (as words), in order.
    fn account_and_tokens(
        &self,
        account: U256,
        actor: Address,
    ) -> Result<(AccountWords, Answer), Vec<u8>> {
        let actor = U256::from_be_bytes(actor.into_word().0);
        let state = view(
            self.address(VAULT),
            calls::getAccountStateCall::SELECTOR,
            &[account, actor],
            None,
        )?
        .tuple()?;
        let positions = view(
            self.address(REGISTRY),
            calls::getPositionsCall::SELECTOR,
            &[account],
            None,
        )?
        .tuple()?;
        let flag = |i| Ok::<u8, Vec<u8>>(u8::from(!state.word(i)?.is_zero()));
        let words = AccountWords {
            flags: flag(2)? | (flag(1)? << 1),
            cash: state.word(3)?,
            amounts: state.array(5)?,
            configs: state.array(6)?,
            ids: positions.array(0)?,
            sizes: positions.array(1)?,
            entries: positions.array(2)?,
        };
        Ok((words, state))
    }

    /// Market data for `keys` and the calculator's answer for `accounts`.
    fn evaluate(
        &self,
        keys: Vec<U256>,
        accounts: Vec<AccountWords>,
        grid_len: usize,
    ) -> Result<Vec<Evaluation>, Vec<u8>> {
        decode(&self.answer(keys, accounts, grid_len)?)
    }

    /// Market data for `keys` and the calculator's answer for `accounts`, as words.
    fn answer(
        &self,
        mut keys: Vec<U256>,
        accounts: Vec<AccountWords>,
        grid_len: usize,
    ) -> Result<Vec<U256>, Vec<u8>> {
        wire::sort_keys(&mut keys);
        let market = view(
            self.address(ORACLE),
            calls::marketDataCall::SELECTOR,
            &[],
            Some(&keys),
        )?
        .array(0)?;
        let request = Request {
            now: self.vm().block_timestamp(),
            grid_len: grid_len as u64,
            params: self.param_words(),
            keys,
            market,
            accounts,
        };
        view(
            self.address(CALCULATOR),
            calls::evaluateCall::SELECTOR,
            &[],
            Some(&request.encode()),
        )?
        .array(0)
    }

    /// The calculator's answer for `accounts` as `actor` sees them, as words.
    fn accounts_answer(&self, accounts: &[U256], actor: Address) -> Result<Vec<U256>, Vec<u8>> {
        let words = accounts
            .iter()
            .map(|a| self.account(*a, actor))
            .collect::<Result<Vec<_>, _>>()?;
        self.books_answer(words)
    }

    /// The calculator's answer for these books on the full grid, as words.
    fn books_answer(&self, words: Vec<AccountWords>) -> Result<Vec<U256>, Vec<u8>> {
        let mut keys = Vec::new();
        for w in &words {
            wire::needed_keys(&w.ids, &w.amounts, &w.configs, &mut keys);
        }
        self.answer(keys, words, DEFAULT_GRID.len())
    }

    /// Evaluations of `accounts` as `actor` sees them.
    fn evaluate_accounts(
        &self,
        accounts: &[U256],
        actor: Address,
    ) -> Result<Vec<Evaluation>, Vec<u8>> {
        decode(&self.accounts_answer(accounts, actor)?)
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
        check_words(&self.accounts_answer(&accounts, actor)?)
            .ok_or_else(|| math_err(MarginError::BadGrid))
    }

    /// One account's standing before the engine's last action, in the 6 words of `check`
    /// (flags as for no actor): the account with the action taken back out. `undo` is
    /// `margin_common::wire::Undo`: a trade's `(instrument, size, entry, cash)`, what it
    /// added (`AccountWords::undo`), or a withdrawal's `(token, sent)`, whose debit in 18
    /// decimals comes back to the cash (the quote token) or to the collateral (an entry the
    /// withdrawal emptied comes back with the token's config). The engine asks only when
    /// the account fails IM after the action.
    /// # Errors
    /// As `check`; `MathFailure(4)` for a malformed `undo` or a value out of range.
    pub fn check_before(&self, account: U256, undo: Vec<U256>) -> Result<Vec<U256>, Vec<u8>> {
        let (mut w, state) = self.account_and_tokens(account, Address::ZERO)?;
        match Undo::decode(&undo).ok_or_else(malformed)? {
            Undo::Trade {
                instrument,
                size,
                entry,
                cash,
            } => w
                .undo(instrument, size, entry, cash)
                .ok_or_else(malformed)?,
            Undo::Withdrawal { token, sent } => {
                let config = view(
                    self.address(VAULT),
                    calls::assetConfigCall::SELECTOR,
                    &[token],
                    None,
                )?
                .word(0)?;
                let cfg = AssetConfig::unpack(config.to_be_bytes());
                let debit = wire::wad_of_units(sent, cfg.decimals).ok_or_else(malformed)?;
                if cfg.is_quote {
                    w.take_cash(-i256(debit)).ok_or_else(malformed)?;
                } else {
                    let debit = U256::from(debit as u128);
                    match state.array(4)?.iter().position(|x| *x == token) {
                        Some(i) => {
                            w.amounts[i] = w.amounts[i].checked_add(debit).ok_or_else(malformed)?
                        }
                        None => {
                            w.amounts.push(debit);
                            w.configs.push(config);
                        }
                    }
                }
            }
        }
        check_words(&self.books_answer(alloc::vec![w])?)
            .ok_or_else(|| math_err(MarginError::BadGrid))
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
        let last = view(
            self.address(VAULT),
            calls::accountCountCall::SELECTOR,
            &[],
            None,
        )?
        .word(0)?;
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
    use alloy_sol_types::{SolType, SolValue};

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

    #[test]
    fn calldata_is_what_alloy_encodes() {
        let keys = vec![U256::from(7u8), U256::MAX, U256::ZERO];
        assert_eq!(
            calldata(calls::marketDataCall::SELECTOR, &[], Some(&keys)),
            calls::marketDataCall { keys: keys.clone() }.abi_encode()
        );
        assert_eq!(
            calldata(calls::evaluateCall::SELECTOR, &[], Some(&[])),
            calls::evaluateCall { request: vec![] }.abi_encode()
        );
        let actor = Address::repeat_byte(0xa1);
        assert_eq!(
            calldata(
                calls::getAccountStateCall::SELECTOR,
                &[U256::from(5u8), U256::from_be_bytes(actor.into_word().0)],
                None
            ),
            calls::getAccountStateCall {
                account: U256::from(5u8),
                actor
            }
            .abi_encode()
        );
        assert_eq!(
            calldata(calls::accountCountCall::SELECTOR, &[], None),
            calls::accountCountCall {}.abi_encode()
        );
    }

    /// The answers as stylus-sdk 0.9 encodes them (`SolType::abi_encode` of the returned
    /// value: a tuple holding a dynamic type sits behind an offset word).
    #[test]
    fn answers_decode_as_the_sdk_encodes_them() {
        let a = |v: &[u64]| v.iter().map(|x| U256::from(*x)).collect::<Vec<_>>();
        let neg = I256::try_from(-5i64).unwrap();
        let state = (
            Address::repeat_byte(1),
            true,
            false,
            neg,
            vec![Address::repeat_byte(2), Address::repeat_byte(3)],
            a(&[10, 20]),
            a(&[30, 40]),
        );
        let ans = Answer {
            data: state.abi_encode(),
            base: 0,
        }
        .tuple()
        .unwrap();
        assert_eq!(ans.word(1).unwrap(), U256::from(1u8));
        assert_eq!(ans.word(2).unwrap(), U256::ZERO);
        assert_eq!(ans.word(3).unwrap(), neg.into_raw());
        assert_eq!(ans.array(5).unwrap(), a(&[10, 20]));
        assert_eq!(ans.array(6).unwrap(), a(&[30, 40]));
        let positions = (a(&[1, 2, 3]), vec![neg, I256::ONE, neg], Vec::<I256>::new());
        let ans = Answer {
            data: positions.abi_encode(),
            base: 0,
        }
        .tuple()
        .unwrap();
        assert_eq!(ans.array(0).unwrap(), a(&[1, 2, 3]));
        assert_eq!(
            ans.array(1).unwrap(),
            vec![neg.into_raw(), U256::from(1u8), neg.into_raw()]
        );
        assert_eq!(ans.array(2).unwrap(), vec![]);
        let words = a(&[4, 5, 6]);
        let ans = Answer {
            data:
                <alloy_sol_types::sol_data::Array<alloy_sol_types::sol_data::Uint<256>>>::abi_encode(
                    &words,
                ),
            base: 0,
        };
        assert_eq!(ans.array(0).unwrap(), words);
        assert_eq!(
            Answer {
                data: U256::from(9u8).abi_encode(),
                base: 0
            }
            .word(0)
            .unwrap(),
            U256::from(9u8)
        );
        // Truncated or absurd data is refused, never read out of bounds.
        let mut data = words.abi_encode();
        data.truncate(data.len() - 1);
        assert_eq!(Answer { data, base: 0 }.array(0), Err(malformed()));
        let mut data = words.abi_encode();
        data[32..64].copy_from_slice(&U256::MAX.to_be_bytes::<32>());
        assert_eq!(Answer { data, base: 0 }.array(0), Err(malformed()));
    }

    #[test]
    fn check_words_are_the_checks_of_decode_all() {
        use stylus_margin::margin::{Greeks, Standing};
        use wire::{Check, Failure};
        let e = |n: usize, k: i128| Evaluation {
            check: Check {
                authorized: k % 2 == 0,
                frozen: k % 3 == 0,
                failure: (k % 2 == 1).then_some(Failure::StaleOracle {
                    underlying: 7,
                    age: 99,
                }),
                standing: Standing {
                    equity: -k * 1_000,
                    equity_im: k,
                    mm: 3 * k,
                    im: i128::MAX - k,
                },
            },
            mtm: -k,
            collateral_value: k,
            collateral_gross: 2 * k,
            worst_scenario: 3,
            greeks: (0..n)
                .map(|i| Greeks {
                    underlying: i as u32,
                    delta: -k,
                    gamma: k,
                    vega: i as i128,
                    theta: -1,
                })
                .collect(),
        };
        let evals = [e(0, 1), e(1, 2), e(3, 3), e(2, 4)];
        let mut words = Vec::new();
        for x in &evals {
            x.encode(&mut words);
        }
        let mut expected = Vec::new();
        for x in Evaluation::decode_all(&words).unwrap() {
            x.check.encode(&mut expected);
        }
        assert_eq!(check_words(&words), Some(expected));
        assert_eq!(check_words(&[]), Some(vec![]));
        // Refused exactly where decode_all refuses: every truncation, a huge count.
        for n in 0..words.len() {
            assert_eq!(
                check_words(&words[..n]).is_some(),
                Evaluation::decode_all(&words[..n]).is_some(),
                "{n}"
            );
        }
        let mut bad = words.clone();
        bad[wire::CHECK_WORDS + 4] = U256::MAX;
        assert_eq!(check_words(&bad), None);
        assert_eq!(Evaluation::decode_all(&bad), None);
        bad[wire::CHECK_WORDS + 4] = U256::from(u64::MAX);
        assert_eq!(check_words(&bad), None);
        assert_eq!(Evaluation::decode_all(&bad), None);
    }
}
