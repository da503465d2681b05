//! The boundary between the simulator and the chain it drives. The simulator (step loop,
//! keeper) only speaks this trait; `system.rs` implements it on the real WASM
//! contracts in `margin-wasm-env`, and the unit tests on a small stand-in.
//!
//! Amounts are WAD (`i128`, 18 decimals, quote units); accounts are vault ids.
use stylus_margin::instrument::Terms;

pub type Wad = i128;
pub type AccountId = u64;
/// An instrument id: its packed terms (`stylus_margin::instrument::pack`).
pub type InstrumentId = [u8; 32];

/// A transaction that reverted: the decoded custom error (`StaleOracle(1, 7200)`) and
/// the gas it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revert {
    pub error: String,
    pub gas: u64,
}

impl Revert {
    /// The error's name (`StaleOracle`).
    pub fn name(&self) -> &str {
        self.error.split(['(', '{', ' ']).next().unwrap_or("")
    }
}

/// A transaction's result and its gas (the whole transaction's, as a receipt shows).
pub type Tx<T> = Result<(T, u64), Revert>;

/// A collateral token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Usdc,
    Weth,
}

/// An account's reading (RiskReader.evaluations): standing, Greeks of the underlying and
/// the bundle a liquidator would take (cash + MtM + collateral without haircuts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Risk {
    pub equity: Wad,
    pub mm: Wad,
    pub im: Wad,
    /// The first failed reading the account needs (0: none; 1 stale oracle, 2 bad
    /// oracle, 3 stale surface, 4 missing surface).
    pub failure: u8,
    pub frozen: bool,
    pub delta: Wad,
    pub gamma: Wad,
    pub vega: Wad,
    pub theta: Wad,
    pub bundle: Wad,
}

/// KeeperModule.auction: the auction of an account now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuctionView {
    pub started_at: u64,
    pub insolvent_since: u64,
    /// Discount rate now (WAD).
    pub discount: Wad,
    /// Largest fraction a bid may take.
    pub max_fraction: Wad,
    /// What the liquidator pays for the portion asked (capped at `max_fraction`).
    pub price: Wad,
}

/// What a bid did (the return value and the Liquidated / InsurancePaid / DeficitRecorded
/// / AuctionEnded events).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fill {
    pub fraction: Wad,
    pub price: Wad,
    pub discount: Wad,
    pub insurance_fee: Wad,
    /// Paid by the insurance fund (insolvent pay and bad-debt cover).
    pub insurance_paid: Wad,
    /// Written to the deficit ledger.
    pub deficit: Wad,
    /// The auction ended in this transaction.
    pub ended: bool,
}

/// What the simulator does on a chain. Each transaction returns its gas.
pub trait Chain {
    fn now(&self) -> u64;
    /// Moves the clock (never backwards).
    fn set_time(&mut self, t: u64);
    /// The first round published at deployment: (id, updatedAt).
    fn initial_round(&self) -> (u128, u64);

    fn set_margin_params(&mut self, values: [u64; 12]) -> Tx<()>;
    fn set_liquidation_params(&mut self, values: [u128; 10]) -> Tx<()>;
    fn list_instrument(&mut self, terms: &Terms) -> Tx<InstrumentId>;
    /// Opens an account owned by a fresh address, with the market as its operator.
    fn open_account(&mut self) -> Tx<AccountId>;
    /// Mints `amount` (WAD) of the token to the account's owner and deposits it.
    fn deposit(&mut self, account: AccountId, token: Token, amount: Wad) -> Tx<()>;
    fn set_insurance_account(&mut self, account: AccountId) -> Tx<()>;
    /// The market books a trade (`size` contracts, `price` premium per contract).
    fn trade(
        &mut self,
        buyer: AccountId,
        seller: AccountId,
        instrument: InstrumentId,
        size: Wad,
        price: Wad,
    ) -> Tx<()>;

    /// Publishes a feed round at the current time; returns its id.
    fn push_price(&mut self, price: Wad) -> u128;
    /// The feeder posts SVI parameters `[a, b, rho, m, sigma]` for an expiry.
    fn post_surface(&mut self, expiry: u64, svi: [Wad; 5]) -> Tx<()>;
    fn poke(&mut self) -> Tx<()>;

    fn risk(&mut self, account: AccountId) -> Result<Risk, String>;
    fn positions(&mut self, account: AccountId) -> Vec<(InstrumentId, Wad)>;
    fn cash(&mut self, account: AccountId) -> Wad;
    fn deficit(&mut self) -> Wad;

    /// KeeperModule.startLiquidation by the keeper; returns the bounty paid.
    fn start_liquidation(&mut self, account: AccountId, bounty_account: AccountId) -> Tx<Wad>;
    fn auction(&mut self, account: AccountId, portion: Wad) -> Result<AuctionView, String>;
    /// KeeperModule.liquidate by the owner of `liquidator`.
    fn liquidate(
        &mut self,
        account: AccountId,
        liquidator: AccountId,
        portion: Wad,
        max_price: Wad,
    ) -> Tx<Fill>;
    fn end_auction(&mut self, account: AccountId) -> Tx<()>;
    /// RiskOracle.recordSettlement naming a feed round; returns the price.
    fn record_settlement(&mut self, expiry: u64, round: u128) -> Tx<Wad>;
    /// RiskEngine.settle of the account's expired instruments.
    fn settle(&mut self, account: AccountId, instruments: &[InstrumentId]) -> Tx<()>;
}
