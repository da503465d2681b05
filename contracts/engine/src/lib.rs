//! # RiskEngine
//!
//! Trades from authorised markets, margin-checked withdrawals, and settlement of expired
//! positions at the recorded settlement prices (liquidations are the KeeperModule's).
//! After each action it asks the RiskReader for the accounts' standing (one call for both
//! accounts of a trade), and applies the core's post-action rule
//! (`stylus_margin::margin::verdict`): IM for new risk, MM for an action that strictly
//! reduces risk, and new risk blocked by a stale or failed reading or by the guardian's
//! pause (which lapses after 7 days unless renewed, and never blocks a withdrawal that
//! leaves the account at twice its IM or more). The standing before a trade matters only
//! for an account that fails IM after it (was the trade risk-reducing?): only then does
//! the engine ask the reader for it (`checkBefore`, the book with the trade taken out;
//! `margin::allowed_whatever_before`); a withdrawal likewise (`checkBefore`).
//!
//! Wiring is fixed at construction: the engine's reader, like the KeeperModule's, cannot
//! be repointed, so trades and liquidations always use one risk model (a new version of
//! the margin code is a new deployment). Risk parameters live in the one reader.
//!
//! Call graph (a tree, never a cycle): markets and users call the engine; the engine
//! calls the RiskReader and the RiskOracle (views), the CollateralVault and the
//! PositionRegistry. The reader calls the vault and registry (views), the RiskOracle
//! (which calls the feeds) and the RiskCalculator (pure). Nothing calls the engine back.
//!
//! Public functions return `Result<_, Error>`: the revert data is either one of this
//! contract's custom errors or, unchanged, the custom error of the contract called, so an
//! integrator decodes every revert with the ABIs in `abi/`.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
extern crate alloc;

use alloc::{vec, vec::Vec};

use alloy_primitives::{aliases::U64, Address, I256, U256};
use alloy_sol_types::{sol, SolCall};
use margin_common::{
    abi::{accounts_view, address_word, calls, send, view},
    amount_i128,
    encode::emit,
    fixed_err, i128_of, i256, malformed, nonzero,
    wire::{self, Check, Undo},
    BadOracle, MathFailure, MissingSurface, Owned, ParameterOutOfBounds, StaleOracle, StaleSurface,
    Unauthorized, ZeroAddress,
};
use stylus_margin::{
    instrument::{self, Kind},
    ledger,
    margin::{self, Standing, Verdict},
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageAddress, StorageBool, StorageMap, StorageU64},
};

/// The engine's ABI types.
pub mod types {
    use alloy_sol_types::sol;

    sol! {
        /// The contracts an engine uses (`contracts`), fixed at construction.
        #[derive(Debug, PartialEq, Eq)]
        struct EngineContracts {
            address vault;
            address registry;
            address reader;
            address oracle;
        }
    }

    margin_common::abi_struct!(EngineContracts, "(address,address,address,address)");
}

mod events {
    use super::*;
    sol! {
        /// The caller is not an authorised market.
        #[derive(Debug)]
        error MarketNotAuthorized(address market);
        /// The market is not an operator of the account (the owner has not authorised it).
        #[derive(Debug)]
        error MarketNotOperator(uint256 account, address market);
        /// Equity is below the requirement (IM for new risk, MM for a risk-reducing action).
        #[derive(Debug)]
        error InsufficientMargin(uint256 account, int256 equity, int256 requirement);
        /// New risk is paused by the guardian.
        #[derive(Debug)]
        error RiskPaused();
        /// The account is frozen (under liquidation).
        #[derive(Debug)]
        error AccountFrozen(uint256 account);
        /// A trade's size is not positive, its accounts are the same, its fee is negative,
        /// or it charges a fee while no fee account is set.
        #[derive(Debug)]
        error InvalidTrade(uint256 buyer, uint256 seller, int256 size);
        /// The instrument has not expired yet (same signature as the registry's).
        #[derive(Debug)]
        error InstrumentNotExpired(uint256 id, uint64 expiry, uint64 timestamp);
        /// No settlement price is recorded yet for (underlying, expiry).
        #[derive(Debug)]
        error SettlementPriceMissing(uint32 underlying, uint64 expiry);

        /// A trade between two accounts through an authorised market.
        event Trade(uint256 indexed buyer, uint256 indexed seller, uint256 indexed instrument, int256 size, int256 price, int256 fee, address market);
        /// A withdrawal approved by the margin check.
        event Withdrawal(uint256 indexed account, address indexed token, uint256 amount, address to);
        /// An expired position closed at the settlement price into cash.
        event Settled(uint256 indexed account, uint256 indexed instrument, int256 price, int256 cash);
        /// A market was authorised or removed.
        event MarketSet(address indexed market, bool allowed);
        /// The guardian changed.
        event GuardianSet(address indexed guardian);
        /// New risk paused (until `until`, when the pause lapses unless renewed) or resumed
        /// (`until` 0).
        event PausedSet(bool paused, uint64 until);
        /// The fee account changed.
        event FeeAccountSet(uint256 indexed account);
    }
}
pub use events::*;

// Each event's words (indexed fields; data fields) for the shared encoder
// (`margin_common::encode`), tested against alloy's in `event_tests`.
margin_common::event_words! {
    Trade { buyer, seller, instrument; size, price, fee, market }
    Withdrawal { account, token; amount, to }
    Settled { account, instrument; price, cash }
    MarketSet { market; allowed }
    GuardianSet { guardian }
    PausedSet { ; paused, until }
    FeeAccountSet { account }
}

margin_common::errors! {
    /// Errors of the RiskEngine.
    pub enum Error {
        MarketNotAuthorized,
        MarketNotOperator,
        InsufficientMargin,
        RiskPaused,
        AccountFrozen,
        InvalidTrade,
        SettlementPriceMissing,
        InstrumentNotExpired,
        Unauthorized,
        ZeroAddress,
        StaleOracle,
        BadOracle,
        StaleSurface,
        MissingSurface,
        MathFailure,
        ParameterOutOfBounds,
    }
}

// Each own error's fields in declaration order (`margin_common::encode`).
margin_common::error_words! {
    MarketNotAuthorized { market }
    MarketNotOperator { account, market }
    InsufficientMargin { account, equity, requirement }
    RiskPaused {}
    AccountFrozen { account }
    InvalidTrade { buyer, seller, size }
    SettlementPriceMissing { underlying, expiry }
    InstrumentNotExpired { id, expiry, timestamp }
}

#[storage]
#[entrypoint]
pub struct RiskEngine {
    /// The owner role and its public functions (inherited).
    #[borrow]
    pub owner: Owned,
    guardian: StorageAddress,
    vault: StorageAddress,
    /// The account that receives trading fees (0: fees refused); an account id, so below
    /// 2^64. In `vault`'s slot: a trade reads both.
    fee_account: StorageU64,
    registry: StorageAddress,
    reader: StorageAddress,
    /// New risk is paused while the block time is below this (0: not paused). In
    /// `reader`'s slot: every post-action check reads both.
    paused_until: StorageU64,
    oracle: StorageAddress,
    markets: StorageMap<Address, StorageBool>,
}

/// The longest a pause lasts unless the guardian renews it.
pub const MAX_PAUSE_SECONDS: u64 = 7 * 86_400;

/// The `n` checks of a reader answer (`MathFailure(4)` when it is not `n` checks long).
fn checks(words: &[U256], n: usize) -> Result<Vec<Check>, Error> {
    if words.len() != n * wire::CHECK_WORDS {
        return Err(malformed().into());
    }
    Ok(words.chunks(wire::CHECK_WORDS).map(Check::decode).collect())
}

impl RiskEngine {
    fn is_paused(&self) -> bool {
        self.vm().block_timestamp() < self.paused_until.get().to::<u64>()
    }

    fn only_owner(&self) -> Result<(), Error> {
        Ok(self.owner.only(self.vm().msg_sender())?)
    }

    /// The standings of `accounts` after an action, as `actor` sees them (one reader
    /// call): `reader.checkAfter` (a passing standing may be the per-leg bound's, which
    /// passes exactly too) while new risk is not paused, `reader.check` (exact) while it
    /// is (`paused`), when the verdict may turn on the exact MM (the risk-reducing rule).
    fn check(&self, accounts: &[U256], actor: Address, paused: bool) -> Result<Vec<Check>, Error> {
        let selector = if paused {
            calls::checkCall::SELECTOR
        } else {
            calls::checkAfterCall::SELECTOR
        };
        let words = accounts_view(self.reader.get(), selector, accounts, actor)?;
        checks(&words, accounts.len())
    }

    /// The standing of `account` before the action `undo` takes back out (one reader
    /// call, `checkBefore`).
    fn check_before(&self, account: U256, undo: Undo) -> Result<Standing, Error> {
        let words = view(
            self.reader.get(),
            calls::checkBeforeCall::SELECTOR,
            &[account],
            Some((1, &undo.encode())),
        )?
        .array(0)?;
        Ok(checks(&words, 1)?[0].standing)
    }

    /// The market may act for the account (it is an operator), and it is not frozen.
    fn admit(&self, account: U256, c: &Check, market: Address) -> Result<(), Error> {
        if !c.authorized {
            return Err(MarketNotOperator { account, market }.into());
        }
        if c.frozen {
            return Err(AccountFrozen { account }.into());
        }
        Ok(())
    }

    /// After an action: the core's post-action rule.
    fn require_margin(
        &self,
        account: U256,
        before: &Standing,
        after: &Check,
        paused: bool,
    ) -> Result<(), Error> {
        match margin::verdict(before, &after.standing, after.failure.is_some(), paused) {
            Verdict::Allowed => Ok(()),
            Verdict::BelowMaintenance(equity, requirement)
            | Verdict::BelowInitial(equity, requirement) => Err(InsufficientMargin {
                account,
                equity: i256(equity),
                requirement: i256(requirement),
            }
            .into()),
            Verdict::FailedReading => {
                // A failed reading always carries its failure.
                Err(after
                    .failure
                    .map_or_else(|| Vec::new().into(), wire::Failure::error))
            }
            Verdict::Paused => Err(RiskPaused {}.into()),
        }
    }
}

#[public]
#[inherit(Owned)]
impl RiskEngine {
    /// Sets the owner (also the first guardian) and wires the vault, the registry, the
    /// reader and the oracle (settlement prices).
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
        reader: Address,
        oracle: Address,
    ) -> Result<(), Error> {
        nonzero(&[vault, registry, reader, oracle])?;
        self.owner.init(owner)?;
        self.oracle.set(oracle);
        self.guardian.set(owner);
        self.vault.set(vault);
        self.registry.set(registry);
        self.reader.set(reader);
        Ok(())
    }

    // ---------------------------------------------------------------- roles

    /// Sets the guardian (may pause new risk). Owner only.
    /// # Errors
    /// `Unauthorized` (not the owner).
    /// # Events
    /// `GuardianSet`.
    pub fn set_guardian(&mut self, guardian: Address) -> Result<(), Error> {
        self.only_owner()?;
        self.guardian.set(guardian);
        emit(self.vm(), GuardianSet { guardian });
        Ok(())
    }

    /// Pauses or resumes new risk. Guardian or owner. A pause lapses after
    /// `MAX_PAUSE_SECONDS` (7 days) unless renewed by calling again. Deposits,
    /// risk-reducing trades, liquidations, settlement, and withdrawals that leave the
    /// account at twice its IM or more keep working while paused.
    /// # Errors
    /// `Unauthorized`.
    /// # Events
    /// `PausedSet(paused, until)`.
    pub fn set_paused(&mut self, paused: bool) -> Result<(), Error> {
        let s = self.vm().msg_sender();
        if s != self.guardian.get() && s != self.owner.get() {
            return Err(Unauthorized { caller: s }.into());
        }
        let until = if paused {
            self.vm().block_timestamp() + MAX_PAUSE_SECONDS
        } else {
            0
        };
        self.paused_until.set(U64::from(until));
        emit(self.vm(), PausedSet { paused, until });
        Ok(())
    }

    /// Authorises or removes a market (a contract that may call `trade`). Owner only.
    /// # Errors
    /// `Unauthorized` (not the owner).
    /// # Events
    /// `MarketSet`.
    pub fn set_market(&mut self, market: Address, allowed: bool) -> Result<(), Error> {
        self.only_owner()?;
        self.markets.setter(market).set(allowed);
        emit(self.vm(), MarketSet { market, allowed });
        Ok(())
    }

    /// Sets the account that receives trading fees (0: fees refused). Owner only.
    /// # Errors
    /// `Unauthorized`; `ParameterOutOfBounds(0, account)` if `account` is not below 2^64
    /// (no vault account is: ids are sequential from 1).
    /// # Events
    /// `FeeAccountSet`.
    pub fn set_fee_account(&mut self, account: U256) -> Result<(), Error> {
        self.only_owner()?;
        let id = u64::try_from(account).map_err(|_| ParameterOutOfBounds {
            which: 0,
            value: I256::from_raw(account),
        })?;
        self.fee_account.set(U64::from(id));
        emit(self.vm(), FeeAccountSet { account });
        Ok(())
    }

    // ---------------------------------------------------------------- risk-changing entry points

    /// A trade from an authorised market: `buyer` receives `size` of `instrument` from
    /// `seller` at `price` (premium per unit for options, entry price for futures), each
    /// side paying `fee` (quote WAD) to the fee account. The market must be an operator of
    /// both accounts. Both accounts must then satisfy IM, unless the trade strictly reduces
    /// an account's risk (MM falls and equity - MM rises), in which case MM is enough. An
    /// account far enough above its margin passes on an upper bound of it
    /// (`reader.checkAfter`, not while paused); a refusal always reports the exact
    /// equity and requirement.
    /// # Errors
    /// `MarketNotAuthorized`, `MarketNotOperator`, `AccountFrozen`, `InvalidTrade`,
    /// `InsufficientMargin`, `RiskPaused`, `StaleOracle`/`BadOracle`/`StaleSurface`/
    /// `MissingSurface` (new risk only), and the reader's, registry's and vault's
    /// errors unchanged.
    /// # Events
    /// `Trade`.
    pub fn trade(
        &mut self,
        buyer: U256,
        seller: U256,
        instrument: U256,
        size: I256,
        price: I256,
        fee: I256,
    ) -> Result<(), Error> {
        let market = self.vm().msg_sender();
        if !self.markets.get(market) {
            return Err(MarketNotAuthorized { market }.into());
        }
        let fee_account = U256::from(self.fee_account.get());
        if size <= I256::ZERO
            || buyer == seller
            || fee < I256::ZERO
            || (fee > I256::ZERO && fee_account.is_zero())
        {
            return Err(InvalidTrade {
                buyer,
                seller,
                size,
            }
            .into());
        }
        let accounts = [buyer, seller];
        let pnl = send(
            self.registry.get(),
            calls::applyTradeCall::SELECTOR,
            &[buyer, seller, instrument, size.into_raw(), price.into_raw()],
        )?;
        let (buyer_pnl, seller_pnl) = (I256::from_raw(pnl.word(0)?), I256::from_raw(pnl.word(1)?));
        let vault = self.vault.get();
        let terms = instrument::unpack(instrument.to_be_bytes()).map_err(|_| malformed())?;
        let (qty, px) = (i128_of(size), i128_of(price));
        if terms.kind != Kind::Future {
            let premium = instrument::premium(qty, px).map_err(fixed_err)?;
            if premium != 0 {
                let args = [buyer, seller, i256(premium).into_raw()];
                send(vault, calls::transferCashCall::SELECTOR, &args)?;
            }
        }
        let mut added = [(0, 0, 0); 2];
        for (i, (account, pnl)) in [(buyer, buyer_pnl), (seller, seller_pnl)]
            .into_iter()
            .enumerate()
        {
            if !pnl.is_zero() {
                let args = [account, pnl.into_raw(), U256::from(ledger::FUTURES_PNL)];
                send(vault, calls::adjustCashCall::SELECTOR, &args)?;
            }
            if fee > I256::ZERO {
                let args = [account, fee_account, fee.into_raw()];
                send(vault, calls::transferCashCall::SELECTOR, &args)?;
            }
            // Net fee paid: the fee account's own transfer is a no-op, and it receives
            // the other side's fee.
            let paid = if account == fee_account {
                -i128_of(fee)
            } else {
                i128_of(fee)
            };
            added[i] = instrument::trade_added(terms.kind, i == 0, qty, px, i128_of(pnl), paid)
                .map_err(fixed_err)?;
        }
        // One evaluation of both accounts after the trade; the standing before is needed
        // (to tell a risk-reducing trade) only for an account that fails IM after it.
        let paused = self.is_paused();
        let after = self.check(&accounts, market, paused)?;
        for (account, c) in accounts.iter().zip(&after) {
            self.admit(*account, c, market)?;
        }
        for i in 0..2 {
            let failed = after[i].failure.is_some();
            if !margin::allowed_whatever_before(&after[i].standing, failed, paused) {
                let (size, entry, cash) = added[i];
                let undo = Undo::Trade {
                    instrument,
                    size: i256(size),
                    entry: i256(entry),
                    cash: i256(cash),
                };
                let before = self.check_before(accounts[i], undo)?;
                self.require_margin(accounts[i], &before, &after[i], paused)?;
            }
        }
        emit(
            self.vm(),
            Trade {
                buyer,
                seller,
                instrument,
                size,
                price,
                fee,
                market,
            },
        );
        Ok(())
    }

    /// Withdraws `amount` (18-decimal) of `token` from `account` to `to`. Owner or
    /// operator. The vault pays; the account must then pass the post-action rule (IM, or
    /// MM if the withdrawal strictly reduces its risk): one evaluation after, and the
    /// standing before (`reader.checkBefore`) only when the account fails IM.
    /// # Errors
    /// the vault's `NotOwnerOrOperator` and `AccountFrozen`, `InsufficientMargin`, `RiskPaused`, stale
    /// readings, and the reader's and vault's errors unchanged.
    /// # Events
    /// `Withdrawal` (and the vault's).
    pub fn withdraw(
        &mut self,
        account: U256,
        token: Address,
        amount: U256,
        to: Address,
    ) -> Result<U256, Error> {
        let caller = self.vm().msg_sender();
        let vault = self.vault.get();
        // Before anything is paid: the caller may act for the account (the vault's
        // `NotOwnerOrOperator`); the vault refuses a frozen account itself.
        let args = [account, address_word(caller)];
        view(vault, calls::requireAuthorizedCall::SELECTOR, &args, None)?;
        let args = [account, address_word(token), amount, address_word(to)];
        let sent = send(vault, calls::withdrawToCall::SELECTOR, &args)?.word(0)?;
        let paused = self.is_paused();
        let after = self.check(&[account], caller, paused)?;
        // A pause never traps a healthy account's collateral: a withdrawal that leaves
        // it at twice its IM or more goes through while paused.
        let paused = paused && !margin::well_above_im(&after[0].standing);
        let failed = after[0].failure.is_some();
        if !margin::allowed_whatever_before(&after[0].standing, failed, paused) {
            let token = address_word(token);
            let before = self.check_before(account, Undo::Withdrawal { token, sent })?;
            self.require_margin(account, &before, &after[0], paused)?;
        }
        emit(
            self.vm(),
            Withdrawal {
                account,
                token,
                amount,
                to,
            },
        );
        Ok(sent)
    }

    /// Settles expired positions of an account at the recorded settlement prices:
    /// options pay max(0, S - K) or max(0, K - S) per unit, futures size x S - entry
    /// notional, into cash. Anyone may call; frozen accounts too.
    /// # Errors
    /// `InstrumentNotExpired(id, expiry, timestamp)`, `SettlementPriceMissing`, the
    /// registry's (`NoPosition`, ...) and vault's errors.
    /// # Events
    /// `Settled` per instrument (and the registry's and vault's).
    pub fn settle(&mut self, account: U256, instruments: Vec<U256>) -> Result<(), Error> {
        for id in instruments {
            let terms = instrument::unpack(id.to_be_bytes()).map_err(|_| malformed())?;
            let now = self.vm().block_timestamp();
            if !instrument::is_expired(&terms, now) {
                return Err(InstrumentNotExpired {
                    id,
                    expiry: terms.expiry,
                    timestamp: now,
                }
                .into());
            }
            let args = [U256::from(terms.underlying), U256::from(terms.expiry)];
            let price = view(
                self.oracle.get(),
                calls::settlementPriceCall::SELECTOR,
                &args,
                None,
            )?
            .word(0)?;
            let price = amount_i128(price);
            if price <= 0 {
                return Err(SettlementPriceMissing {
                    underlying: terms.underlying,
                    expiry: terms.expiry,
                }
                .into());
            }
            let args = [account, id, i256(price).into_raw()];
            let cash = send(
                self.registry.get(),
                calls::closeExpiredCall::SELECTOR,
                &args,
            )?
            .word(0)?;
            if !cash.is_zero() {
                let args = [account, cash, U256::from(ledger::SETTLEMENT)];
                send(self.vault.get(), calls::adjustCashCall::SELECTOR, &args)?;
            }
            emit(
                self.vm(),
                Settled {
                    account,
                    instrument: id,
                    price: i256(price),
                    cash: I256::from_raw(cash),
                },
            );
        }
        Ok(())
    }

    // ---------------------------------------------------------------- views

    /// Whether an address is an authorised market.
    pub fn is_market(&self, market: Address) -> bool {
        self.markets.get(market)
    }

    /// Whether new risk is paused.
    pub fn paused(&self) -> bool {
        self.is_paused()
    }

    /// When the current pause lapses (0 or past: not paused).
    pub fn paused_until(&self) -> u64 {
        self.paused_until.get().to::<u64>()
    }

    /// The guardian.
    pub fn guardian(&self) -> Address {
        self.guardian.get()
    }

    /// The account that receives trading fees.
    pub fn fee_account(&self) -> U256 {
        U256::from(self.fee_account.get())
    }

    /// The contracts this engine uses.
    pub fn contracts(&self) -> types::EngineContracts {
        types::EngineContracts {
            vault: self.vault.get(),
            registry: self.registry.get(),
            reader: self.reader.get(),
            oracle: self.oracle.get(),
        }
    }
}

#[cfg(test)]
mod abi_tests {
    use super::*;

    /// `contracts`' struct is its Solidity tuple (static fields: the same four words).
    #[test]
    fn contracts_struct_is_its_tuple() {
        use stylus_sdk::abi::AbiType;
        assert_eq!(
            types::EngineContracts::ABI.as_str(),
            margin_common::abi::tuple_type::<types::EngineContracts>()
        );
    }
}
