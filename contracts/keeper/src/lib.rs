//! # KeeperModule
//!
//! What keepers do, for a reward, and never to steal:
//!
//! - **Liquidation as a Dutch auction.** `startLiquidation` (anyone, when equity < MM on
//!   fresh data) freezes the account and pays the caller a bounded bounty from it.
//!   `liquidate` (an owner or operator of the liquidator's account) takes a fraction `f`
//!   of every position, collateral balance and the cash of the account, paying
//!   `f x (B - d x |B|)` where `B` is the bundle at oracle prices without haircuts and the
//!   discount `d` grows linearly from the start. `f` is capped at what restores
//!   `equity >= (1 + buffer) x MM` (small accounts are taken whole); a share of the
//!   discount goes to the insurance fund; the liquidator must satisfy IM afterwards.
//!   `endAuction` (anyone) unfreezes an account back above the target; an account taken
//!   whole ends its auction at once.
//! - **Insolvency.** An account with equity < 0 is taken whole: the insurance fund pays
//!   the liquidator on top (growing over time to a cap), covers the account's remaining
//!   negative cash as far as it can, and writes the rest to an explicit deficit ledger.
//!
//! All the arithmetic is the pure core's (`stylus_margin::liquidation`), with `now` as an
//! argument. The vault and registry accept this module as they accept the engine.
//!
//! Call graph: keepers call this contract; it calls the RiskReader (views), the
//! CollateralVault and the PositionRegistry. Nothing calls it back.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{Address, I256, U256};
use alloy_sol_types::{sol, SolCall};
use margin_common::{
    abi::{accounts_view, calls, send, view},
    encode::emit,
    fixed_err, i128_of, i256, malformed, math_failure, nonzero,
    wire::Evaluation,
    BadOracle, MathFailure, MissingSurface, Owned, ParameterOutOfBounds, StaleOracle, StaleSurface,
    Unauthorized, ZeroAddress,
};
use stylus_margin::{
    fixed::{self, Rounding, WAD},
    ledger,
    liquidation::{self as liq, LiquidationError, LiquidationParams},
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageAddress, StorageBool, StorageMap, StorageU256},
};

mod events {
    use super::*;
    sol! {
        /// Equity is not below MM (start), or not below the auction's target (bid).
        #[derive(Debug)]
        error NotLiquidatable(uint256 account, int256 equity, int256 mm);
        /// The account has no auction running.
        #[derive(Debug)]
        error AuctionNotStarted(uint256 account);
        /// The account's auction is already running.
        #[derive(Debug)]
        error AuctionAlreadyStarted(uint256 account, uint64 startedAt);
        /// The account is still below its target: the auction cannot end.
        #[derive(Debug)]
        error AuctionCannotEnd(uint256 account, int256 equity, int256 mm);
        /// The portion asked is 0 or above 1 (WAD).
        #[derive(Debug)]
        error PortionOutOfRange(uint256 portion);
        /// The bid would cost more than the liquidator's limit.
        #[derive(Debug)]
        error PriceAboveMax(int256 price, int256 maxPrice);
        /// The liquidator's account would be below IM (or on a failed reading) afterwards.
        #[derive(Debug)]
        error LiquidatorUnderIM(uint256 account, int256 equity, int256 im);
        /// The caller is neither the owner nor an operator of the liquidator's account.
        #[derive(Debug)]
        error NotOwnerOrOperator(uint256 account, address caller);
        /// The insurance fund's account is not set.
        #[derive(Debug)]
        error InsuranceAccountNotSet();

        /// An auction started; `bounty` went to `bountyAccount`.
        event AuctionStarted(uint256 indexed account, address indexed caller, uint256 bountyAccount, int256 equity, int256 mm, int256 bounty);
        /// A bid: `fraction` (WAD) of the account went to `liquidatorAccount` for `price`
        /// (what the liquidator paid in all, of which `insuranceFee` to the fund).
        event Liquidated(uint256 indexed account, uint256 indexed liquidatorAccount, int256 fraction, int256 price, int256 discount, int256 insuranceFee);
        /// An auction ended (restored, or taken whole).
        event AuctionEnded(uint256 indexed account, int256 equity, int256 mm);
        /// The insurance fund paid `amount` to `to` (insolvent pay or bad-debt cover).
        event InsurancePaid(uint256 indexed to, int256 amount);
        /// Bad debt the fund could not cover, written to the ledger.
        event DeficitRecorded(uint256 indexed account, int256 amount, int256 totalDeficit);
        /// The insurance fund's account changed.
        event InsuranceAccountSet(uint256 indexed account);
        /// The owner's policy for a standing deficit: socialise it (anyone may then call
        /// `socialiseDeficit`) or not.
        event SocialisationPolicySet(bool enabled);
        /// `absorbed` of the deficit was spread over positive cash balances (the vault's
        /// cash index is now `index`); `remaining` stays on the ledger.
        event DeficitSocialised(int256 absorbed, int256 remaining, uint256 index);
    }
}
pub use events::*;
pub use types::LiquidationParamsSet;

// Each event's words (indexed fields; data fields) for the shared encoder
// (`margin_common::encode`), tested against alloy's in `event_tests`.
margin_common::event_words! {
    AuctionStarted { account, caller; bountyAccount, equity, mm, bounty }
    Liquidated { account, liquidatorAccount; fraction, price, discount, insuranceFee }
    AuctionEnded { account; equity, mm }
    InsurancePaid { to; amount }
    DeficitRecorded { account; amount, totalDeficit }
    InsuranceAccountSet { account }
    SocialisationPolicySet { ; enabled }
    DeficitSocialised { ; absorbed, remaining, index }
    LiquidationParamsSet { ; (params as [U256; 10]) }
}

/// The keeper module's ABI types.
pub mod types {
    use alloy_primitives::U256;
    use alloy_sol_types::sol;

    sol! {
        /// The 10 liquidation parameters (`setLiquidationParams`, `liquidationParams`):
        /// startDiscount, maxDiscount (the auction's discount, from start to max over
        /// discountDurationSecs seconds), mmBuffer (an auction sells down to equity >=
        /// (1 + mmBuffer) x MM), dustMm (accounts whose MM is at most this, quote WAD, are
        /// taken whole), bountyFraction and bountyCap (the start bounty: a fraction of MM,
        /// capped, quote WAD), insuranceShare (of the discount, paid to the insurance fund),
        /// insolventPayCap (fraction of MM) and insolventPayDurationSecs (seconds to reach it);
        /// fractions WAD. Hard bounds: `stylus_margin::liquidation::LiquidationParams::validate`.
        #[derive(Debug, PartialEq, Eq)]
        struct LiquidationParams {
            uint256 startDiscount;
            uint256 maxDiscount;
            uint256 discountDurationSecs;
            uint256 mmBuffer;
            uint256 dustMm;
            uint256 bountyFraction;
            uint256 bountyCap;
            uint256 insuranceShare;
            uint256 insolventPayCap;
            uint256 insolventPayDurationSecs;
        }

        /// The liquidation parameters changed.
        ///
        /// * `params` - The new parameters.
        #[derive(Debug)]
        event LiquidationParamsSet(LiquidationParams params);

        /// An account's auction now (`auction`): when it started and since when the account
        /// is insolvent in it (unix seconds; 0: not), its discount, the largest fraction of
        /// the account a bid may take, and the price of the asked portion (capped at that
        /// fraction), WAD. All zero when no auction runs.
        #[derive(Debug, PartialEq, Eq)]
        struct Auction {
            uint64 startedAt;
            uint64 insolventSince;
            int256 discount;
            int256 maxFraction;
            int256 price;
        }
    }

    margin_common::abi_struct!(
        LiquidationParams,
        "(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256)"
    );
    margin_common::abi_struct!(Auction, "(uint64,uint64,int256,int256,int256)");

    impl From<[U256; 10]> for LiquidationParams {
        /// From the values in field order
        /// (`stylus_margin::liquidation::LiquidationParams::to_values`).
        fn from(v: [U256; 10]) -> Self {
            LiquidationParams {
                startDiscount: v[0],
                maxDiscount: v[1],
                discountDurationSecs: v[2],
                mmBuffer: v[3],
                dustMm: v[4],
                bountyFraction: v[5],
                bountyCap: v[6],
                insuranceShare: v[7],
                insolventPayCap: v[8],
                insolventPayDurationSecs: v[9],
            }
        }
    }

    impl From<LiquidationParams> for [U256; 10] {
        /// The values in field order.
        fn from(p: LiquidationParams) -> Self {
            [
                p.startDiscount,
                p.maxDiscount,
                p.discountDurationSecs,
                p.mmBuffer,
                p.dustMm,
                p.bountyFraction,
                p.bountyCap,
                p.insuranceShare,
                p.insolventPayCap,
                p.insolventPayDurationSecs,
            ]
        }
    }
}

margin_common::errors! {
    /// Errors of the KeeperModule (the reader's, vault's and registry's are bubbled up
    /// unchanged, as are the oracle readings' errors).
    pub enum Error {
        NotLiquidatable,
        AuctionNotStarted,
        AuctionAlreadyStarted,
        AuctionCannotEnd,
        PortionOutOfRange,
        PriceAboveMax,
        LiquidatorUnderIM,
        NotOwnerOrOperator,
        InsuranceAccountNotSet,
        ParameterOutOfBounds,
        Unauthorized,
        ZeroAddress,
        MathFailure,
        StaleOracle,
        BadOracle,
        StaleSurface,
        MissingSurface,
    }
}

// Each own error's fields in declaration order (`margin_common::encode`).
margin_common::error_words! {
    NotLiquidatable { account, equity, mm }
    AuctionNotStarted { account }
    AuctionAlreadyStarted { account, startedAt }
    AuctionCannotEnd { account, equity, mm }
    PortionOutOfRange { portion }
    PriceAboveMax { price, maxPrice }
    LiquidatorUnderIM { account, equity, im }
    NotOwnerOrOperator { account, caller }
    InsuranceAccountNotSet {}
}

#[storage]
#[entrypoint]
pub struct KeeperModule {
    /// The owner role and its public functions (inherited).
    #[borrow]
    pub owner: Owned,
    vault: StorageAddress,
    registry: StorageAddress,
    reader: StorageAddress,
    params0: StorageU256,
    params1: StorageU256,
    params2: StorageU256,
    insurance: StorageU256,
    /// Bad debt not covered by the fund (quote WAD, >= 0).
    deficit: StorageU256,
    /// Whether a standing deficit may be socialised (owner's policy).
    socialise: StorageBool,
    /// Per account: started at (limb 0), insolvent since (limb 1); zero: no auction.
    auctions: StorageMap<U256, StorageU256>,
}

fn liq_err(e: LiquidationError) -> Error {
    match e {
        LiquidationError::ParamOutOfBounds { which, value } => ParameterOutOfBounds {
            // The field's 0-based position in `LiquidationParams`.
            which: which as u8,
            value: i256(value),
        }
        .into(),
        LiquidationError::Math(m) => fixed_err(m).into(),
        _ => MathFailure {
            code: math_failure::OUT_OF_DOMAIN,
        }
        .into(),
    }
}

impl KeeperModule {
    fn now(&self) -> u64 {
        self.vm().block_timestamp()
    }

    fn params(&self) -> LiquidationParams {
        let w = [self.params0.get(), self.params1.get(), self.params2.get()];
        if w.iter().all(|x| x.is_zero()) {
            LiquidationParams::DEFAULT
        } else {
            LiquidationParams::unpack(w.map(|x| x.to_be_bytes()))
        }
    }

    fn evaluations(&self, accounts: &[U256], actor: Address) -> Result<Vec<Evaluation>, Error> {
        let words = accounts_view(
            self.reader.get(),
            calls::evaluationsCall::SELECTOR,
            accounts,
            actor,
        )?;
        let e = Evaluation::decode_all(&words).ok_or_else(malformed)?;
        if e.len() != accounts.len() {
            return Err(malformed().into());
        }
        Ok(e)
    }

    /// Evaluation of one account on fresh data (a failed reading reverts with it).
    fn fresh(&self, account: U256) -> Result<Evaluation, Error> {
        let e = self.evaluations(&[account], Address::ZERO)?.remove(0);
        if let Some(f) = e.check.failure {
            return Err(f.error());
        }
        Ok(e)
    }

    /// The vault's `cashOf(account)`.
    fn cash_of(&self, account: U256) -> Result<i128, Error> {
        let w = view(
            self.vault.get(),
            calls::cashOfCall::SELECTOR,
            &[account],
            None,
        )?;
        Ok(i128_of(I256::from_raw(w.word(0)?)))
    }

    fn auction_of(&self, account: U256) -> (u64, u64) {
        let l = *self.auctions.get(account).as_limbs();
        (l[0], l[1])
    }

    fn set_frozen(&mut self, account: U256, frozen: bool) -> Result<(), Error> {
        let args = [account, U256::from(u8::from(frozen))];
        send(self.vault.get(), calls::setFrozenCall::SELECTOR, &args)?;
        send(self.registry.get(), calls::setFrozenCall::SELECTOR, &args)?;
        Ok(())
    }

    fn end(&mut self, account: U256, equity: i128, mm: i128) -> Result<(), Error> {
        self.auctions.setter(account).set(U256::ZERO);
        self.set_frozen(account, false)?;
        emit(
            self.vm(),
            AuctionEnded {
                account,
                equity: i256(equity),
                mm: i256(mm),
            },
        );
        Ok(())
    }

    /// Moves signed cash (skips zero).
    fn pay(&mut self, from: U256, to: U256, amount: i128) -> Result<(), Error> {
        if amount == 0 {
            return Ok(());
        }
        let args = [from, to, i256(amount).into_raw()];
        send(self.vault.get(), calls::transferCashCall::SELECTOR, &args)?;
        Ok(())
    }

    /// The insurance fund pays up to `amount` to `to`; returns what it paid.
    fn fund_pays(&mut self, to: U256, amount: i128) -> Result<i128, Error> {
        let fund = self.insurance.get();
        if fund.is_zero() || amount <= 0 {
            return Ok(0);
        }
        let balance = self.cash_of(fund)?;
        let c = liq::cover(balance.max(0), amount).map_err(liq_err)?;
        self.pay(fund, to, c.paid_by_fund)?;
        if c.paid_by_fund > 0 {
            emit(
                self.vm(),
                InsurancePaid {
                    to,
                    amount: i256(c.paid_by_fund),
                },
            );
        }
        Ok(c.paid_by_fund)
    }
}

#[public]
#[inherit(Owned)]
impl KeeperModule {
    /// Sets the owner and wires the vault, registry and reader (once).
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
    ) -> Result<(), Error> {
        nonzero(&[vault, registry, reader])?;
        self.owner.init(owner)?;
        self.vault.set(vault);
        self.registry.set(registry);
        self.reader.set(reader);
        Ok(())
    }

    /// Sets the 10 liquidation parameters (`LiquidationParams`). Owner only; each within
    /// the core's hard bounds.
    /// # Errors
    /// `Unauthorized`, `ParameterOutOfBounds(which, value)` (`which`: the field's
    /// 0-based position in `LiquidationParams`).
    /// # Events
    /// `LiquidationParamsSet`.
    pub fn set_liquidation_params(
        &mut self,
        params: types::LiquidationParams,
    ) -> Result<(), Error> {
        self.owner.only(self.vm().msg_sender())?;
        let values: [U256; 10] = params.into();
        let p =
            LiquidationParams::from_values(values.map(|x| i128::try_from(x).unwrap_or(i128::MAX)));
        p.validate().map_err(liq_err)?;
        let [w0, w1, w2] = p.pack().map(U256::from_be_bytes);
        self.params0.set(w0);
        self.params1.set(w1);
        self.params2.set(w2);
        emit(
            self.vm(),
            LiquidationParamsSet {
                params: values.into(),
            },
        );
        Ok(())
    }

    /// The liquidation parameters in force (defaults until set).
    pub fn liquidation_params(&self) -> types::LiquidationParams {
        self.params()
            .to_values()
            .map(|x| U256::from(x.max(0) as u128))
            .into()
    }

    /// Sets the insurance fund's account (a vault account; give its ownership to a
    /// multisig or to this module so nobody withdraws it). Point the engine's fee account
    /// here to fund it from trading fees. Owner only.
    /// # Errors
    /// `Unauthorized` (not the owner).
    /// # Events
    /// `InsuranceAccountSet`.
    pub fn set_insurance_account(&mut self, account: U256) -> Result<(), Error> {
        self.owner.only(self.vm().msg_sender())?;
        self.insurance.set(account);
        emit(self.vm(), InsuranceAccountSet { account });
        Ok(())
    }

    /// The insurance fund's account.
    pub fn insurance_account(&self) -> U256 {
        self.insurance.get()
    }

    /// Bad debt the insurance fund could not cover (quote WAD).
    pub fn deficit(&self) -> I256 {
        I256::from_raw(self.deficit.get())
    }

    /// Sets the policy for a standing deficit: when enabled, anyone may socialise it
    /// across positive cash balances (`socialiseDeficit`). Owner only.
    /// # Errors
    /// `Unauthorized` (not the owner).
    /// # Events
    /// `SocialisationPolicySet`.
    pub fn set_socialisation(&mut self, enabled: bool) -> Result<(), Error> {
        self.owner.only(self.vm().msg_sender())?;
        self.socialise.set(enabled);
        emit(self.vm(), SocialisationPolicySet { enabled });
        Ok(())
    }

    /// Whether a standing deficit may be socialised.
    pub fn socialisation_enabled(&self) -> bool {
        self.socialise.get()
    }

    /// Socialises the deficit ledger across positive cash balances through the vault's
    /// cash index (`liquidation::socialise`): every positive balance reads
    /// `(1 - absorbed / totalPositiveCash)` of what it did, rounded down; debts are
    /// unaffected; at most 99.9999% of positive cash can ever be absorbed. The ledger falls
    /// by exactly what was absorbed, so a deficit can never be socialised twice. Anyone,
    /// when the owner's policy allows; the owner always. Returns the amount absorbed.
    /// # Errors
    /// `Unauthorized` (policy off and not the owner), the vault's errors.
    /// # Events
    /// `DeficitSocialised` (and the vault's `CashSocialised`) when something is absorbed.
    pub fn socialise_deficit(&mut self) -> Result<I256, Error> {
        let caller = self.vm().msg_sender();
        if !self.socialise.get() {
            self.owner.only(caller)?;
        }
        let deficit = i128_of(I256::from_raw(self.deficit.get()));
        let vault = self.vault.get();
        let state = view(vault, calls::socialisationCall::SELECTOR, &[], None)?;
        let (index, positive) = (state.word(0)?, I256::from_raw(state.word(1)?));
        let s = liq::socialise(
            u128::try_from(index).unwrap_or(0) as i128,
            deficit,
            i128_of(positive).max(0),
        )
        .map_err(liq_err)?;
        if s.absorbed > 0 {
            let args = [U256::from(s.index as u128), i256(s.absorbed).into_raw()];
            send(vault, calls::socialiseCall::SELECTOR, &args)?;
            self.deficit.set(i256(s.deficit).into_raw());
            emit(
                self.vm(),
                DeficitSocialised {
                    absorbed: i256(s.absorbed),
                    remaining: i256(s.deficit),
                    index: U256::from(s.index as u128),
                },
            );
        }
        Ok(i256(s.absorbed))
    }

    /// Starts the auction of an account below MM on fresh data: freezes it (no trades,
    /// withdrawals or transfers; deposits still work), records the time, and pays the
    /// caller's `bountyAccount` `min(bountyFraction x MM, bountyCap, equity)` from it.
    /// Anyone may call.
    /// # Errors
    /// `AuctionAlreadyStarted`, `NotLiquidatable(equity, mm)`, a failed reading's error
    /// (`StaleOracle`, ...), and the reader's and vault's errors.
    /// # Events
    /// `AuctionStarted`.
    pub fn start_liquidation(&mut self, account: U256, bounty_account: U256) -> Result<(), Error> {
        let (started, _) = self.auction_of(account);
        if started != 0 {
            return Err(AuctionAlreadyStarted {
                account,
                startedAt: started,
            }
            .into());
        }
        let e = self.fresh(account)?;
        let s = e.check.standing;
        if !liq::can_start(s.equity, s.mm) {
            return Err(NotLiquidatable {
                account,
                equity: i256(s.equity),
                mm: i256(s.mm),
            }
            .into());
        }
        let p = self.params();
        let bounty = liq::start_bounty(&p, s.mm, s.equity).map_err(liq_err)?;
        if bounty_account != account {
            self.pay(account, bounty_account, bounty)?;
        }
        let now = self.now();
        let insolvent = if s.equity < 0 { now } else { 0 };
        self.auctions
            .setter(account)
            .set(U256::from_limbs([now, insolvent, 0, 0]));
        self.set_frozen(account, true)?;
        emit(
            self.vm(),
            AuctionStarted {
                account,
                caller: self.vm().msg_sender(),
                bountyAccount: bounty_account,
                equity: i256(s.equity),
                mm: i256(s.mm),
                bounty: i256(bounty),
            },
        );
        Ok(())
    }

    /// A bid: `liquidatorAccount` takes `f = min(maxPortion, the close-factor cap)` of
    /// every position, collateral balance and the cash of `account`, paying
    /// `f x (B - d x |B|)` plus the fund's share of the discount; reverts if that exceeds
    /// `maxPrice`. Caller: owner or operator of `liquidatorAccount`, which must satisfy IM
    /// afterwards. Insolvent accounts are taken whole, with the fund's pay on top and any
    /// remaining bad debt covered by the fund or written to the deficit ledger, which is
    /// socialised in the same transaction when the socialisation policy is on (so no
    /// depositor can withdraw ahead of it). Returns (fraction, price).
    /// # Errors
    /// `AuctionNotStarted`, `PortionOutOfRange`, `NotOwnerOrOperator`,
    /// `NotLiquidatable` (back above target: end the auction), `PriceAboveMax`,
    /// `LiquidatorUnderIM`, a failed reading's error, and the callees' errors.
    /// # Events
    /// `Liquidated`, possibly `InsurancePaid`, `DeficitRecorded`, `DeficitSocialised`,
    /// `AuctionEnded`.
    pub fn liquidate(
        &mut self,
        account: U256,
        liquidator_account: U256,
        max_portion: U256,
        max_price: I256,
    ) -> Result<(I256, I256), Error> {
        let caller = self.vm().msg_sender();
        let now = self.now();
        let (started, insolvent_since) = self.auction_of(account);
        if started == 0 {
            return Err(AuctionNotStarted { account }.into());
        }
        if max_portion.is_zero()
            || max_portion > U256::from(WAD as u128)
            || liquidator_account == account
        {
            return Err(PortionOutOfRange {
                portion: max_portion,
            }
            .into());
        }
        let ev = self.evaluations(&[account, liquidator_account], caller)?;
        if let Some(f) = ev[0].check.failure {
            return Err(f.error());
        }
        if !ev[1].check.authorized {
            return Err(NotOwnerOrOperator {
                account: liquidator_account,
                caller,
            }
            .into());
        }
        let s = ev[0].check.standing;
        let bundle = ev[0].bundle();
        let p = self.params();
        let d = liq::discount(&p, started, now).map_err(liq_err)?;
        let cap = liq::max_fraction(s.equity, s.mm, bundle, s.equity, d, &p).map_err(liq_err)?;
        if cap == 0 {
            return Err(NotLiquidatable {
                account,
                equity: i256(s.equity),
                mm: i256(s.mm),
            }
            .into());
        }
        let f = cap.min(max_portion.to::<u128>() as i128);
        let sale = liq::sale(&p, bundle, f, d).map_err(liq_err)?;
        if sale.liquidator_pays > i128_of(max_price) {
            return Err(PriceAboveMax {
                price: i256(sale.liquidator_pays),
                maxPrice: max_price,
            }
            .into());
        }
        let fraction = U256::from(f as u128);
        let args = [account, liquidator_account, fraction];
        send(
            self.registry.get(),
            calls::moveFractionCall::SELECTOR,
            &args,
        )?;
        send(self.vault.get(), calls::moveFractionCall::SELECTOR, &args)?;
        self.pay(liquidator_account, account, sale.account_receives)?;
        let fund = self.insurance.get();
        if sale.insurance_fee > 0 {
            if fund.is_zero() {
                return Err(InsuranceAccountNotSet {}.into());
            }
            self.pay(liquidator_account, fund, sale.insurance_fee)?;
        }
        // Insolvent: the fund pays the liquidator for taking the risk, growing to a cap.
        let insolvent_since = if s.equity < 0 && insolvent_since == 0 {
            now
        } else {
            insolvent_since
        };
        if s.equity < 0 {
            let pay = liq::insolvent_pay(&p, insolvent_since, now, s.mm).map_err(liq_err)?;
            let pay = fixed::mul(pay, f, Rounding::Down).map_err(fixed_err)?;
            self.fund_pays(liquidator_account, pay)?;
        }
        emit(
            self.vm(),
            Liquidated {
                account,
                liquidatorAccount: liquidator_account,
                fraction: i256(f),
                price: i256(sale.liquidator_pays),
                discount: i256(d),
                insuranceFee: i256(sale.insurance_fee),
            },
        );
        if f == WAD {
            // Taken whole: what is left is cash only. Bad debt goes to the fund, then to
            // the ledger; never left hidden in a negative balance.
            let cash = self.cash_of(account)?;
            if cash < 0 {
                let paid = self.fund_pays(account, -cash)?;
                let rest = -cash - paid;
                if rest > 0 {
                    let args = [account, i256(rest).into_raw(), U256::from(ledger::DEFICIT)];
                    send(self.vault.get(), calls::adjustCashCall::SELECTOR, &args)?;
                    let total = i128_of(I256::from_raw(self.deficit.get())).saturating_add(rest);
                    self.deficit.set(i256(total).into_raw());
                    emit(
                        self.vm(),
                        DeficitRecorded {
                            account,
                            amount: i256(rest),
                            totalDeficit: i256(total),
                        },
                    );
                    // Socialised in the transaction that records it (when the policy is
                    // on): nobody can withdraw positive cash ahead of the socialisation.
                    if self.socialise.get() {
                        self.socialise_deficit()?;
                    }
                }
            }
            self.end(account, 0, 0)?;
        } else {
            self.auctions
                .setter(account)
                .set(U256::from_limbs([started, insolvent_since, 0, 0]));
        }
        let after = self.evaluations(&[liquidator_account], caller)?.remove(0);
        let a = after.check.standing;
        if after.check.failure.is_some() || a.im_surplus() < 0 {
            return Err(LiquidatorUnderIM {
                account: liquidator_account,
                equity: i256(a.equity_im),
                im: i256(a.im),
            }
            .into());
        }
        Ok((i256(f), i256(sale.liquidator_pays)))
    }

    /// Ends the auction of an account back at or above `(1 + buffer) x MM` on fresh data,
    /// and unfreezes it. Anyone may call.
    /// # Errors
    /// `AuctionNotStarted`, `AuctionCannotEnd(equity, mm)`, a failed reading's error.
    /// # Events
    /// `AuctionEnded`.
    pub fn end_auction(&mut self, account: U256) -> Result<(), Error> {
        if self.auction_of(account).0 == 0 {
            return Err(AuctionNotStarted { account }.into());
        }
        let s = self.fresh(account)?.check.standing;
        if !liq::can_end(s.equity, s.mm, &self.params(), false) {
            return Err(AuctionCannotEnd {
                account,
                equity: i256(s.equity),
                mm: i256(s.mm),
            }
            .into());
        }
        self.end(account, s.equity, s.mm)
    }

    /// The auction of an account now (`Auction`), `portion` (WAD) the fraction a bid
    /// would take. All zero when no auction runs.
    /// # Errors
    /// The reader's errors.
    pub fn auction(&self, account: U256, portion: U256) -> Result<types::Auction, Error> {
        let (started, insolvent) = self.auction_of(account);
        if started == 0 {
            return Ok(types::Auction {
                startedAt: 0,
                insolventSince: 0,
                discount: I256::ZERO,
                maxFraction: I256::ZERO,
                price: I256::ZERO,
            });
        }
        let e = self.evaluations(&[account], Address::ZERO)?.remove(0);
        let s = e.check.standing;
        let p = self.params();
        let d = liq::discount(&p, started, self.now()).map_err(liq_err)?;
        let cap =
            liq::max_fraction(s.equity, s.mm, e.bundle(), s.equity, d, &p).map_err(liq_err)?;
        let f = cap.min(
            u128::try_from(portion)
                .unwrap_or(u128::MAX)
                .min(WAD as u128) as i128,
        );
        let price = liq::sale(&p, e.bundle(), f, d)
            .map_err(liq_err)?
            .liquidator_pays;
        Ok(types::Auction {
            startedAt: started,
            insolventSince: insolvent,
            discount: i256(d),
            maxFraction: i256(cap),
            price: i256(price),
        })
    }
}

#[cfg(test)]
mod abi_tests {
    use super::*;
    use alloy_sol_types::SolValue;
    use stylus_sdk::abi::AbiType;

    /// The structs' selectors are Solidity's (their tuples), and each encodes as the words
    /// of the array or tuple it replaced, in field order.
    #[test]
    fn structs_are_solidity_abi() {
        use margin_common::abi::tuple_type;
        assert_eq!(
            types::LiquidationParams::ABI.as_str(),
            tuple_type::<types::LiquidationParams>()
        );
        assert_eq!(types::Auction::ABI.as_str(), tuple_type::<types::Auction>());
        let sig = "setLiquidationParams((uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256))";
        assert_eq!(
            stylus_sdk::function_selector!("setLiquidationParams", types::LiquidationParams),
            stylus_sdk::keccak_const::Keccak256::new()
                .update(sig.as_bytes())
                .finalize()[..4]
        );
        let mut r = margin_books::Rng(41);
        for _ in 0..64 {
            let v: [U256; 10] = core::array::from_fn(|_| U256::from(r.next_u64()) << 100);
            let p = types::LiquidationParams::from(v);
            assert_eq!(<[U256; 10]>::from(p.clone()), v);
            assert_eq!(p.abi_encode(), v.abi_encode());
            let (s, i) = (r.next_u64(), r.next_u64());
            let (d, c, x) = (
                I256::from_raw(U256::from(r.next_u64())),
                -I256::from_raw(U256::from(r.next_u64())),
                I256::MIN,
            );
            let a = types::Auction {
                startedAt: s,
                insolventSince: i,
                discount: d,
                maxFraction: c,
                price: x,
            };
            assert_eq!(a.abi_encode(), (s, i, d, c, x).abi_encode_params());
        }
    }
}
