//! # RiskReader
//!
//! Reads what a margin check needs and asks the RiskCalculator: per account one call to
//! the CollateralVault (`getAccountState`: flags, cash, collateral with configs) and one
//! to the PositionRegistry (`getPositions`), then one `marketData` call to the RiskOracle
//! for exactly the underlyings and expiries those accounts hold, and one `evaluate` call
//! to the calculator for all of them. The access flags (the actor is owner or operator,
//! the account is frozen) stay here: the calculator sees only the books, and the reader
//! writes the vault's flags into each answer (`wire::set_flags`). The RiskEngine calls
//! `check` after every trade and withdrawal, and `checkBefore` (the account with the
//! action taken back out) only when one leaves an account under IM; the KeeperModule and
//! the RiskLens (the views wallets, keepers and risk teams read) call `evaluations`.
//!
//! It also holds the 12 margin parameters (owner-set within the core's hard bounds) and
//! sends them with every request. Its wiring is fixed at construction: a new version of
//! the calculator is a new reader, which the engine's owner points the engine at.
//!
//! Call graph: the engine, the keeper module and the lens (or anyone, as views) call this
//! contract; it calls the vault, the registry, the oracle and the calculator, all as
//! views. Nothing calls it back.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{Address, I256, U256};
use alloy_sol_types::SolCall;
use margin_common::{
    abi::{address_word, calls, view, Answer},
    encode::emit,
    i256, malformed, nonzero,
    wire::{self, params_from_words, params_words, AccountWords, Evaluation, Undo},
    MathFailure, Owned, ParameterOutOfBounds, Unauthorized, ZeroAddress,
};
use stylus_margin::{
    collateral::AssetConfig,
    margin::{MarginParams, DEFAULT_GRID},
};
use stylus_sdk::{prelude::*, storage::StorageU256};

pub use types::ParamsSet;

/// The reader's ABI types.
pub mod types {
    use alloy_sol_types::sol;

    sol! {
        /// The 12 margin parameters of every check (`setParams`, `params`), each WAD
        /// (1e18 = 1.0) unless its name carries another unit (`Secs`: seconds; `Years`:
        /// years in WAD): volUp, volDown (vol shocks at 30 days), mmShortOption,
        /// imShortOption (contingency per net short option, share of spot), mmFuture,
        /// imFuture (contingency on futures notional), imMultiplier (on the worst scenario
        /// loss), imPositiveMtm (factor on positive mark-to-market for IM),
        /// thetaHorizonSecs, haircutHorizonYears, sizeCoef (haircut size term),
        /// maxShockScale (largest forecast-vol scaling of the spot shocks). Hard bounds:
        /// `stylus_margin::margin::MarginParams::validate` (README, "Parameters").
        #[derive(Debug, PartialEq, Eq)]
        struct MarginParams {
            uint64 volUp;
            uint64 volDown;
            uint64 mmShortOption;
            uint64 imShortOption;
            uint64 mmFuture;
            uint64 imFuture;
            uint64 imMultiplier;
            uint64 imPositiveMtm;
            uint64 thetaHorizonSecs;
            uint64 haircutHorizonYears;
            uint64 sizeCoef;
            uint64 maxShockScale;
        }

        /// The margin parameters changed.
        ///
        /// * `params` - The new parameters.
        #[derive(Debug)]
        event ParamsSet(MarginParams params);
    }

    sol! {
        /// The contracts a reader reads (`sources`), fixed at construction.
        #[derive(Debug, PartialEq, Eq)]
        struct ReaderSources {
            address vault;
            address registry;
            address oracle;
            address calculator;
        }
    }

    margin_common::abi_struct!(ReaderSources, "(address,address,address,address)");

    margin_common::abi_struct!(
        MarginParams,
        "(uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64)"
    );

    impl From<[u64; 12]> for MarginParams {
        /// From the values in field order (`stylus_margin::margin::MarginParams::to_limbs`).
        fn from(l: [u64; 12]) -> Self {
            MarginParams {
                volUp: l[0],
                volDown: l[1],
                mmShortOption: l[2],
                imShortOption: l[3],
                mmFuture: l[4],
                imFuture: l[5],
                imMultiplier: l[6],
                imPositiveMtm: l[7],
                thetaHorizonSecs: l[8],
                haircutHorizonYears: l[9],
                sizeCoef: l[10],
                maxShockScale: l[11],
            }
        }
    }

    impl From<MarginParams> for [u64; 12] {
        /// The values in field order (`stylus_margin::margin::MarginParams::from_limbs`).
        fn from(p: MarginParams) -> Self {
            [
                p.volUp,
                p.volDown,
                p.mmShortOption,
                p.imShortOption,
                p.mmFuture,
                p.imFuture,
                p.imMultiplier,
                p.imPositiveMtm,
                p.thetaHorizonSecs,
                p.haircutHorizonYears,
                p.sizeCoef,
                p.maxShockScale,
            ]
        }
    }
}

// Each event's words (indexed fields; data fields) for the shared encoder
// (`margin_common::encode`), tested against alloy's in `event_tests`.
margin_common::event_words! {
    ParamsSet { ; (params as [u64; 12]) }
}

margin_common::errors! {
    /// Errors of the RiskReader (the vault's, registry's, oracle's and calculator's are
    /// bubbled up unchanged).
    pub enum Error {
        MathFailure,
        ParameterOutOfBounds,
        Unauthorized,
        ZeroAddress,
    }
}

/// The evaluations of a calculator answer (`MathFailure(4)` when malformed).
fn decode(words: &[U256]) -> Result<Vec<Evaluation>, Error> {
    Evaluation::decode_all(words).ok_or_else(|| malformed().into())
}

/// The [`CHECK_WORDS`](wire::CHECK_WORDS) words of each evaluation of an answer, each
/// account's access `flags` as the first (the calculator writes none), without decoding
/// the rest (`wire::evaluation_starts`): one walk of the answer. `None` where the layout
/// fails or the answer does not hold one evaluation per account.
fn check_words(w: &[U256], flags: &[u8]) -> Option<Vec<U256>> {
    let starts = wire::evaluation_starts(w)?;
    if starts.len() != flags.len() {
        return None;
    }
    let mut out = Vec::with_capacity(starts.len() * wire::CHECK_WORDS);
    for (at, f) in starts.into_iter().zip(flags) {
        out.push(U256::from(*f));
        out.extend_from_slice(w.get(at + 1..at + wire::CHECK_WORDS)?);
    }
    Some(out)
}

/// The wiring and the 12 parameters share six slots, all read by a check (it read seven:
/// four addresses and three parameter words). An address slot holds the address in its
/// low 160 bits, as a `StorageAddress` would. The parameters are the three request words
/// of `params_words` (all zero: the defaults); the second and third are whole slots, the
/// first's limbs 0, 1, 2 sit in limb 3 of the oracle, calculator and vault slots, and its
/// limb 3 in the high halves of limb 2 of the oracle (high 32 bits) and calculator (low
/// 32 bits) slots.
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
    let mut l = address_word(a).into_limbs();
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
    /// The owner role and its public functions (inherited).
    #[borrow]
    pub owner: Owned,
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

    /// One account's words and its access flags as `actor` sees them (bit 0: `actor` is
    /// the owner or an operator, bit 1: frozen), and the vault's answer (the tokens of its
    /// collateral entries): one vault call, one registry call.
    fn account_and_tokens(
        &self,
        account: U256,
        actor: Address,
    ) -> Result<(AccountWords, u8, Answer), Error> {
        let actor = address_word(actor);
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
        let flag = |i| Ok::<u8, Error>(u8::from(!state.word(i)?.is_zero()));
        let flags = flag(2)? | (flag(1)? << 1);
        let words = AccountWords {
            cash: state.word(3)?,
            amounts: state.array(5)?,
            configs: state.array(6)?,
            ids: positions.array(0)?,
            sizes: positions.array(1)?,
            entries: positions.array(2)?,
        };
        Ok((words, flags, state))
    }

    /// The calculator's answer for `accounts` as words, and their access flags as `actor`
    /// sees them (bit 0: owner or operator, bit 1: frozen), one per account. `bound`: as
    /// `wire::Request::bound`.
    fn accounts_answer(
        &self,
        accounts: &[U256],
        actor: Address,
        bound: bool,
    ) -> Result<(Vec<U256>, Vec<u8>), Error> {
        let mut words = Vec::with_capacity(accounts.len());
        let mut flags = Vec::with_capacity(accounts.len());
        for a in accounts {
            let (w, f, _) = self.account_and_tokens(*a, actor)?;
            words.push(w);
            flags.push(f);
        }
        Ok((self.books_answer(words, bound)?, flags))
    }

    /// The calculator's answer for these books on the full grid, as words (no access
    /// flags: the calculator never sees them; `check_words` and `evaluate_accounts` write
    /// them), with the oracle's market data for them.
    fn books_answer(&self, accounts: Vec<AccountWords>, bound: bool) -> Result<Vec<U256>, Error> {
        let mut keys = Vec::new();
        for w in &accounts {
            wire::needed_keys(&w.ids, &w.amounts, &w.configs, &mut keys);
        }
        let request = wire::Request {
            now: self.vm().block_timestamp(),
            grid_len: DEFAULT_GRID.len() as u64,
            bound,
            params: self.param_words(),
            keys,
            market: Vec::new(),
            accounts,
        };
        Ok(margin_common::abi::evaluate(
            self.address(ORACLE),
            self.address(CALCULATOR),
            request,
        )?)
    }

    /// Evaluations of `accounts` as `actor` sees them.
    fn evaluate_accounts(
        &self,
        accounts: &[U256],
        actor: Address,
    ) -> Result<Vec<Evaluation>, Error> {
        let (mut answer, flags) = self.accounts_answer(accounts, actor, false)?;
        wire::set_flags(&mut answer, &flags).ok_or_else(malformed)?;
        decode(&answer)
    }
}

#[public]
#[inherit(Owned)]
impl RiskReader {
    /// Sets the owner (who sets the margin parameters) and wires the vault, the registry,
    /// the oracle and the calculator (once).
    /// # Errors
    /// `ZeroAddress` if any of them is zero.
    /// # Events
    /// `OwnershipTransferred` (from zero).
    #[constructor]
    pub fn constructor(
        &mut self,
        owner: Address,
        vault: Address,
        registry: Address,
        oracle: Address,
        calculator: Address,
    ) -> Result<(), Error> {
        nonzero(&[vault, registry, oracle, calculator])?;
        self.owner.init(owner)?;
        self.store(
            [vault, registry, oracle, calculator],
            [U256::ZERO; 3], // the defaults
        );
        Ok(())
    }

    /// Sets the 12 margin parameters (`MarginParams`). Owner only.
    /// # Errors
    /// `Unauthorized`, `ParameterOutOfBounds(index, value)` for the first value outside
    /// its hard bounds (index: the field's position in `MarginParams`).
    /// # Events
    /// `ParamsSet`.
    pub fn set_params(&mut self, params: types::MarginParams) -> Result<(), Error> {
        self.owner.only(self.vm().msg_sender())?;
        let values: [u64; 12] = params.into();
        if let Err(i) = MarginParams::from_limbs(values).validate() {
            return Err(ParameterOutOfBounds {
                which: i,
                value: I256::try_from(values[usize::from(i)]).unwrap_or(I256::MAX),
            }
            .into());
        }
        let wiring = [VAULT, REGISTRY, ORACLE, CALCULATOR].map(|i| self.address(i));
        self.store(wiring, params_words(&values));
        emit(
            self.vm(),
            ParamsSet {
                params: values.into(),
            },
        );
        Ok(())
    }

    /// The margin parameters in force (defaults until set).
    pub fn params(&self) -> types::MarginParams {
        params_from_words(self.param_words()).to_limbs().into()
    }

    /// The accounts' standings for the engine's checks, 6 words per account: flags
    /// (bit 0: `actor` is owner or operator, bit 1: frozen), the first failed reading the
    /// account needs (0: none; low byte 1 stale oracle, 2 bad oracle, 3 stale surface,
    /// 4 missing surface), equity, IM equity, MM, IM (int256 WAD).
    /// # Errors
    /// The vault's, registry's, oracle's and calculator's errors unchanged.
    pub fn check(&self, accounts: Vec<U256>, actor: Address) -> Result<Vec<U256>, Error> {
        let (answer, flags) = self.accounts_answer(&accounts, actor, false)?;
        check_words(&answer, &flags).ok_or_else(|| malformed().into())
    }

    /// As `check`, for the engine's post-action checks while new risk is not paused: an
    /// account with no failed reading that passes MM and IM with the per-leg bound
    /// (`margin::account_risk_with`: MM and IM at least the exact ones, about a third of
    /// the repricings) is answered with that bound's MM and IM; any other account exactly.
    /// A standing from `checkAfter` that passes therefore passes exactly; one that fails is
    /// exact.
    /// # Errors
    /// As `check`.
    pub fn check_after(&self, accounts: Vec<U256>, actor: Address) -> Result<Vec<U256>, Error> {
        let (answer, flags) = self.accounts_answer(&accounts, actor, true)?;
        check_words(&answer, &flags).ok_or_else(|| malformed().into())
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
    pub fn check_before(&self, account: U256, undo: Vec<U256>) -> Result<Vec<U256>, Error> {
        let (mut w, flags, state) = self.account_and_tokens(account, Address::ZERO)?;
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
        check_words(&self.books_answer(alloc::vec![w], false)?, &[flags])
            .ok_or_else(|| malformed().into())
    }

    /// The full evaluations of `accounts` as `actor` sees them, in the layout of
    /// `margin_common::wire::Evaluation`: the 6 `check` words, mark-to-market, collateral
    /// value (haircut), collateral value (gross), worst scenario, and the Greeks (count,
    /// then underlying, delta, gamma, vega, theta each). The keeper module prices
    /// liquidations from these.
    /// # Errors
    /// As `check`.
    pub fn evaluations(&self, accounts: Vec<U256>, actor: Address) -> Result<Vec<U256>, Error> {
        let mut out = Vec::new();
        for e in self.evaluate_accounts(&accounts, actor)? {
            e.encode(&mut out);
        }
        Ok(out)
    }

    /// The contracts this reader uses.
    pub fn sources(&self) -> types::ReaderSources {
        types::ReaderSources {
            vault: self.address(VAULT),
            registry: self.address(REGISTRY),
            oracle: self.address(ORACLE),
            calculator: self.address(CALCULATOR),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `setParams` takes the named struct under the selector Solidity computes for it (its
    /// tuple), and the struct is the 12 words of the old `uint64[12]`, in field order.
    #[test]
    fn margin_params_struct_is_solidity_abi() {
        use alloy_sol_types::SolValue;
        use stylus_sdk::abi::AbiType;
        assert_eq!(
            types::MarginParams::ABI.as_str(),
            margin_common::abi::tuple_type::<types::MarginParams>()
        );
        assert_eq!(
            types::ReaderSources::ABI.as_str(),
            margin_common::abi::tuple_type::<types::ReaderSources>()
        );
        let sig = "setParams((uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64))";
        assert_eq!(
            stylus_sdk::function_selector!("setParams", types::MarginParams),
            stylus_sdk::keccak_const::Keccak256::new()
                .update(sig.as_bytes())
                .finalize()[..4]
        );
        let mut r = margin_books::Rng(19);
        for _ in 0..64 {
            let l: [u64; 12] = core::array::from_fn(|_| r.next_u64());
            let p = types::MarginParams::from(l);
            assert_eq!(<[u64; 12]>::from(p.clone()), l);
            assert_eq!(p.abi_encode(), l.abi_encode());
            assert_eq!(p.volUp, l[0]);
            assert_eq!(p.maxShockScale, l[11]);
        }
    }

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
        // The flags written are the accounts' (here: each evaluation's own, so the checks
        // are decode_all's; with others, only the first word of each check changes).
        let flags: Vec<u8> = evals
            .iter()
            .map(|x| u8::from(x.check.authorized) | (u8::from(x.check.frozen) << 1))
            .collect();
        assert_eq!(check_words(&words, &flags), Some(expected.clone()));
        let other: Vec<u8> = flags.iter().map(|f| f ^ 3).collect();
        let got = check_words(&words, &other).unwrap();
        for (i, f) in other.iter().enumerate() {
            let c = i * wire::CHECK_WORDS;
            assert_eq!(got[c], U256::from(*f));
            assert_eq!(
                got[c + 1..c + wire::CHECK_WORDS],
                expected[c + 1..c + wire::CHECK_WORDS]
            );
        }
        assert_eq!(check_words(&[], &[]), Some(vec![]));
        assert_eq!(check_words(&words, &flags[..3]), None);
        // Refused exactly where decode_all refuses: every truncation, a huge count.
        for n in 0..words.len() {
            let d = Evaluation::decode_all(&words[..n]);
            let k = d.as_ref().map_or(0, |v| v.len());
            assert_eq!(
                check_words(&words[..n], &flags[..k]).is_some(),
                d.is_some(),
                "{n}"
            );
        }
        let mut bad = words.clone();
        bad[wire::CHECK_WORDS + 4] = U256::MAX;
        assert_eq!(check_words(&bad, &flags), None);
        assert_eq!(Evaluation::decode_all(&bad), None);
        bad[wire::CHECK_WORDS + 4] = U256::from(u64::MAX);
        assert_eq!(check_words(&bad, &flags), None);
        assert_eq!(Evaluation::decode_all(&bad), None);
    }
}
