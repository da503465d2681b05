//! # RiskEngine
//!
//! The only contract that moves positions or value between accounts. It reads the
//! oracles and volatility surfaces, loads an account with one call to the vault and one
//! to the registry, asks the pure core (`stylus_margin::margin`) for equity, MM and IM,
//! and acts: trades from authorised markets, withdrawals, pokes, views.
//!
//! Call graph (a tree, never a cycle): markets and users call the engine; the engine
//! calls the CollateralVault, the PositionRegistry and the price feeds. Nothing calls the
//! engine back.
//!
//! Public functions return `Result<_, Vec<u8>>`: the revert data is either one of this
//! contract's custom errors or, unchanged, the custom error of the vault or registry
//! call that failed, so an integrator decodes every revert with the three ABIs.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
extern crate alloc;

pub mod state;

use alloc::{vec, vec::Vec};

use alloy_primitives::{aliases::U32, Address, I256, U256};
use alloy_sol_types::sol;
use state::{surface_key, UnderlyingConfig, UnderlyingRisk, VolState};
use stylus_margin::{
    collateral::AssetConfig,
    fixed::WAD,
    instrument::{self, Kind},
    margin::{self, AccountRisk, Collateral, MarginError, MarginParams, Market, Method, Position},
    oracle::{self, OracleError, Round},
    svi::SviParams,
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageAddress, StorageBool, StorageMap, StorageU256},
};

mod sol {
    use super::*;
    sol! {
        /// A price reading is older than the underlying's maximum age.
        #[derive(Debug)]
        error StaleOracle(uint32 underlying, uint64 age);
        /// A price reading was refused: reason 1 non-positive, 2 incomplete round,
        /// 3 timestamp in the future, 4 bad scale, 5 the feed call failed.
        #[derive(Debug)]
        error BadOracle(uint32 underlying, uint8 reason);
        /// No volatility surface for an expiry the account holds.
        #[derive(Debug)]
        error MissingSurface(uint32 underlying, uint64 expiry);
        /// The surface of an expiry is older than its maximum age.
        #[derive(Debug)]
        error StaleSurface(uint32 underlying, uint64 expiry, uint64 age);
        /// SVI parameters failed the core's checks (e.g. negative variance).
        #[derive(Debug)]
        error InvalidSurface(uint32 underlying, uint64 expiry);
        /// The underlying is not configured.
        #[derive(Debug)]
        error UnknownUnderlying(uint32 underlying);
        /// The caller is not an authorised market.
        #[derive(Debug)]
        error MarketNotAuthorized(address market);
        /// The market is not an operator of the account (the owner has not authorised it).
        #[derive(Debug)]
        error MarketNotOperator(uint256 account, address market);
        /// The caller is neither the account's owner nor an operator.
        #[derive(Debug)]
        error NotOwnerOrOperator(uint256 account, address caller);
        /// Equity is below the requirement (IM for new risk).
        #[derive(Debug)]
        error InsufficientMargin(uint256 account, int256 equity, int256 requirement);
        /// New risk is paused by the guardian.
        #[derive(Debug)]
        error RiskPaused();
        /// The account is frozen (under liquidation).
        #[derive(Debug)]
        error AccountFrozen(uint256 account);
        /// A parameter is outside its hard bounds (`which` names it).
        #[derive(Debug)]
        error ParameterOutOfBounds(uint8 which, int256 value);
        /// The caller lacks the role the function needs.
        #[derive(Debug)]
        error Unauthorized(address caller);
        /// A trade's size is zero or its accounts are the same.
        #[derive(Debug)]
        error InvalidTrade(uint256 buyer, uint256 seller, int256 size);
        /// A fixed-point failure in the core (1 overflow, 2 division by zero, 3 domain, 4 grid).
        #[derive(Debug)]
        error MathFailure(uint8 code);

        /// A trade between two accounts through an authorised market.
        event Trade(uint256 indexed buyer, uint256 indexed seller, uint256 indexed instrument, int256 size, int256 price, int256 fee, address market);
        /// A withdrawal approved by the margin check.
        event Withdrawal(uint256 indexed account, address indexed token, uint256 amount, address to);
        /// Risk parameters changed.
        event ParamsSet(uint64[12] values);
        /// An underlying was configured.
        event UnderlyingSet(uint32 indexed underlying, address feed, uint32 maxAge, uint32 surfaceMaxAge, uint8 method, int64 rate, uint64 refVol, uint64 lambda, uint64 stableRate);
        /// A volatility surface was posted.
        event SurfacePosted(uint32 indexed underlying, uint64 indexed expiry, int256 a, int256 b, int256 rho, int256 m, int256 sigma);
        /// Stable price and EWMA volatility updated from the oracle.
        event Poked(uint32 indexed underlying, int256 price, int256 stablePrice, int256 forecastVol);
        /// A market was authorised or removed.
        event MarketSet(address indexed market, bool allowed);
        /// A feeder was authorised or removed.
        event FeederSet(address indexed feeder, bool allowed);
        /// The guardian changed.
        event GuardianSet(address indexed guardian);
        /// New risk paused or resumed.
        event PausedSet(bool paused);
        /// The fee account changed.
        event FeeAccountSet(uint256 indexed account);
        /// Ownership moved (two-step).
        event OwnershipTransferred(address indexed previous, address indexed next);
    }
}
pub use sol::*;

/// Errors of the RiskEngine.
#[derive(SolidityError, Debug)]
pub enum Error {
    StaleOracle(StaleOracle),
    BadOracle(BadOracle),
    MissingSurface(MissingSurface),
    StaleSurface(StaleSurface),
    InvalidSurface(InvalidSurface),
    UnknownUnderlying(UnknownUnderlying),
    MarketNotAuthorized(MarketNotAuthorized),
    MarketNotOperator(MarketNotOperator),
    NotOwnerOrOperator(NotOwnerOrOperator),
    InsufficientMargin(InsufficientMargin),
    RiskPaused(RiskPaused),
    AccountFrozen(AccountFrozen),
    ParameterOutOfBounds(ParameterOutOfBounds),
    Unauthorized(Unauthorized),
    InvalidTrade(InvalidTrade),
    MathFailure(MathFailure),
}

sol_interface! {
    interface ICollateralVault {
        function getAccountState(uint256 account, address actor) external view returns (address, bool, bool, int256, address[] memory, uint256[] memory, uint256[] memory);
        function transferCash(uint256 from, uint256 to, int256 amount) external;
        function adjustCash(uint256 account, int256 delta, uint8 reason) external;
        function withdrawTo(uint256 account, address token, uint256 amount, address to) external returns (uint256);
    }
    interface IPositionRegistry {
        function applyTrade(uint256 buyer, uint256 seller, uint256 id, int256 size, int256 price) external returns (int256, int256);
        function getPositions(uint256 account) external view returns (uint256[] memory, int256[] memory, int256[] memory);
    }
    interface IAggregatorV3 {
        function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80);
        function decimals() external view returns (uint8);
    }
}

/// Cash ledger reason for realised futures PnL (vault `adjustCash`).
pub const REASON_FUTURES_PNL: u8 = 5;
/// Largest rate magnitude (WAD): -10% .. 100%.
const RATE_MIN: i128 = -WAD / 10;
const RATE_MAX: i128 = WAD;

#[storage]
pub struct Underlying {
    config: StorageU256,
    prices: StorageU256,
    vol: StorageU256,
    risk: StorageU256,
}

#[storage]
pub struct Surface {
    ab: StorageU256,
    rho_m: StorageU256,
    sigma_time: StorageU256,
}

#[storage]
#[entrypoint]
pub struct RiskEngine {
    owner: StorageAddress,
    pending_owner: StorageAddress,
    guardian: StorageAddress,
    vault: StorageAddress,
    registry: StorageAddress,
    paused: StorageBool,
    fee_account: StorageU256,
    params0: StorageU256,
    params1: StorageU256,
    params2: StorageU256,
    markets: StorageMap<Address, StorageBool>,
    feeders: StorageMap<Address, StorageBool>,
    underlyings: StorageMap<U32, Underlying>,
    surfaces: StorageMap<U256, Surface>,
}

/// An account as loaded for a margin check.
pub struct Loaded {
    pub owner: Address,
    pub frozen: bool,
    pub actor_authorized: bool,
    pub cash: i128,
    pub collateral: Vec<Collateral>,
    pub tokens: Vec<Address>,
    pub positions: Vec<Position>,
    pub markets: Vec<Market>,
    /// The first failed or stale reading, as the error an action adding risk reverts with.
    pub failed: Option<Error>,
}

fn err<T>(e: impl Into<Error>) -> Result<T, Vec<u8>> {
    Err(e.into().into())
}

#[allow(deprecated)]
fn call_err(e: stylus_sdk::call::Error) -> Vec<u8> {
    match e {
        stylus_sdk::call::Error::Revert(data) => data,
        other => Vec::<u8>::from(other),
    }
}

fn math_err(e: MarginError) -> Vec<u8> {
    let code = match e {
        MarginError::Math(stylus_margin::fixed::MathError::Overflow) => 1,
        MarginError::Math(stylus_margin::fixed::MathError::DivisionByZero) => 2,
        MarginError::Math(_) => 3,
        MarginError::MissingMarket(id) => {
            return Error::UnknownUnderlying(UnknownUnderlying { underlying: id }).into()
        }
        MarginError::MissingSurface(u, e) => {
            return Error::MissingSurface(MissingSurface {
                underlying: u,
                expiry: e,
            })
            .into()
        }
        MarginError::BadGrid => 4,
    };
    Error::MathFailure(MathFailure { code }).into()
}

fn i128_of(v: I256) -> i128 {
    i128::try_from(v).unwrap_or(if v.is_negative() {
        i128::MIN
    } else {
        i128::MAX
    })
}

fn i256(v: i128) -> I256 {
    I256::try_from(v).unwrap_or(I256::ZERO)
}

fn u128_of(v: U256) -> u128 {
    u128::try_from(v).unwrap_or(u128::MAX)
}

/// Parameters packed as 12 u64 limbs in three words.
fn params_from_words(w: [U256; 3]) -> MarginParams {
    let mut l = [0u64; 12];
    for (i, word) in w.iter().enumerate() {
        l[i * 4..i * 4 + 4].copy_from_slice(word.as_limbs());
    }
    let v = |i: usize| i128::from(l[i]);
    MarginParams {
        vol_up: v(0),
        vol_down: v(1),
        mm_short_option: v(2),
        im_short_option: v(3),
        mm_future: v(4),
        im_future: v(5),
        im_multiplier: v(6),
        im_positive_mtm: v(7),
        theta_horizon: v(8),
        haircut_horizon: v(9),
        size_coef: v(10),
        max_shock_scale: v(11),
    }
}

fn params_limbs(p: &MarginParams) -> [u64; 12] {
    [
        p.vol_up,
        p.vol_down,
        p.mm_short_option,
        p.im_short_option,
        p.mm_future,
        p.im_future,
        p.im_multiplier,
        p.im_positive_mtm,
        p.theta_horizon,
        p.haircut_horizon,
        p.size_coef,
        p.max_shock_scale,
    ]
    .map(|x| x as u64)
}

impl RiskEngine {
    fn only_owner(&self) -> Result<(), Vec<u8>> {
        let s = self.vm().msg_sender();
        if s != self.owner.get() {
            return err(Unauthorized { caller: s });
        }
        Ok(())
    }

    fn now(&self) -> u64 {
        self.vm().block_timestamp()
    }

    /// Current risk parameters (defaults until the owner sets them).
    fn margin_params(&self) -> MarginParams {
        let w = [self.params0.get(), self.params1.get(), self.params2.get()];
        if w.iter().all(|x| x.is_zero()) {
            MarginParams::DEFAULT
        } else {
            params_from_words(w)
        }
    }

    /// Reads and validates an underlying's oracle. On failure returns the last stored price
    /// and the error that an action adding risk must revert with.
    fn read_price(
        &self,
        id: u32,
        cfg: &UnderlyingConfig,
        now: u64,
    ) -> (Option<i128>, Option<Error>) {
        let feed = IAggregatorV3::new(cfg.feed);
        let reading = feed.latest_round_data(self);
        let (last_stable, last_price) =
            state::halves(self.underlyings.getter(U32::from(id)).prices.get());
        let fallback = (last_price > 0)
            .then_some(last_price as i128)
            .or((last_stable > 0).then_some(last_stable as i128));
        let Ok((round_id, answer, _, updated_at, answered_in)) = reading else {
            return (
                fallback,
                Some(Error::BadOracle(BadOracle {
                    underlying: id,
                    reason: 5,
                })),
            );
        };
        let round = Round {
            round_id: round_id.to::<u128>(),
            answer: i128_of(answer),
            updated_at: u64::try_from(updated_at).unwrap_or(u64::MAX),
            answered_in_round: answered_in.to::<u128>(),
        };
        match oracle::check_latest(&round, cfg.decimals, now, u64::from(cfg.max_age)) {
            Ok(p) => (Some(p), None),
            Err(OracleError::Stale(age)) => {
                // The stale answer is still a real reading: use it, but flag it.
                let p = oracle::normalise(round.answer, cfg.decimals).ok();
                (
                    p.or(fallback),
                    Some(Error::StaleOracle(StaleOracle {
                        underlying: id,
                        age,
                    })),
                )
            }
            Err(e) => {
                let reason = match e {
                    OracleError::NonPositive => 1,
                    OracleError::IncompleteRound => 2,
                    OracleError::FromTheFuture => 3,
                    _ => 4,
                };
                (
                    fallback,
                    Some(Error::BadOracle(BadOracle {
                        underlying: id,
                        reason,
                    })),
                )
            }
        }
    }

    /// Builds the market data of one underlying: oracle, stable price, rate, forecast vol,
    /// and the surfaces of `expiries` (live option expiries the account holds).
    fn load_market(
        &self,
        id: u32,
        expiries: &[u64],
        now: u64,
        failed: &mut Option<Error>,
    ) -> Result<Market, Vec<u8>> {
        let u = self.underlyings.getter(U32::from(id));
        let cfg = UnderlyingConfig::unpack(u.config.get());
        if !cfg.listed {
            return err(UnknownUnderlying { underlying: id });
        }
        let (price, fail) = self.read_price(id, &cfg, now);
        if failed.is_none() {
            *failed = fail;
        }
        let Some(spot) = price else {
            return err(BadOracle {
                underlying: id,
                reason: 5,
            });
        };
        let (stable, _) = state::halves(u.prices.get());
        let risk = UnderlyingRisk::unpack(u.risk.get());
        let vol = VolState::unpack(u.vol.get());
        let forecast =
            margin::forecast_vol(vol.variance as i128).map_err(|e| math_err(e.into()))?;
        let mut surfaces = Vec::with_capacity(expiries.len());
        for &expiry in expiries {
            let s = self.surfaces.getter(surface_key(id, expiry));
            let (a, b) = state::halves(s.ab.get());
            let (rho, m) = state::halves(s.rho_m.get());
            let (sigma, posted) = state::halves(s.sigma_time.get());
            if posted == 0 {
                return err(MissingSurface {
                    underlying: id,
                    expiry,
                });
            }
            let posted = posted as u64;
            let age = now.saturating_sub(posted);
            if age > u64::from(cfg.surface_max_age) && failed.is_none() {
                *failed = Some(Error::StaleSurface(StaleSurface {
                    underlying: id,
                    expiry,
                    age,
                }));
            }
            surfaces.push((
                expiry,
                SviParams {
                    a: a as i128,
                    b: b as i128,
                    rho: rho as i128,
                    m: m as i128,
                    sigma: sigma as i128,
                },
            ));
        }
        Ok(Market {
            id,
            spot,
            stable: if stable == 0 { spot } else { stable as i128 },
            rate: i128::from(risk.rate),
            forecast_vol: forecast,
            ref_vol: i128::from(risk.ref_vol),
            method: if cfg.method == 1 {
                Method::Full
            } else {
                Method::Greeks
            },
            surfaces,
            settlements: Vec::new(),
        })
    }

    /// Loads an account: one vault call, one registry call, the feeds it needs.
    pub fn load_account(&self, account: U256, actor: Address) -> Result<Loaded, Vec<u8>> {
        let now = self.now();
        let vault = ICollateralVault::new(self.vault.get());
        let (owner, frozen, actor_authorized, cash, tokens, amounts, configs) = vault
            .get_account_state(self, account, actor)
            .map_err(call_err)?;
        let registry = IPositionRegistry::new(self.registry.get());
        let (ids, sizes, entries) = registry.get_positions(self, account).map_err(call_err)?;
        let mut collateral = Vec::with_capacity(tokens.len());
        for (amount, config) in amounts.iter().zip(&configs) {
            collateral.push(Collateral {
                amount: u128_of(*amount) as i128,
                config: AssetConfig::unpack(config.to_be_bytes()),
            });
        }
        let mut positions = Vec::with_capacity(ids.len());
        for ((id, size), entry) in ids.iter().zip(&sizes).zip(&entries) {
            let terms =
                instrument::unpack(id.to_be_bytes()).map_err(|_| math_err(MarginError::BadGrid))?;
            positions.push(Position {
                terms,
                size: i128_of(*size),
                entry: i128_of(*entry),
            });
        }
        // The underlyings this account needs, and per underlying its live option expiries.
        let mut needed: Vec<(u32, Vec<u64>)> = Vec::new();
        let mut need = |id: u32, expiry: Option<u64>| {
            let i = match needed.iter().position(|n| n.0 == id) {
                Some(i) => i,
                None => {
                    needed.push((id, Vec::new()));
                    needed.len() - 1
                }
            };
            if let Some(e) = expiry {
                if !needed[i].1.contains(&e) {
                    needed[i].1.push(e);
                }
            }
        };
        for p in &positions {
            let live_option = p.terms.kind != Kind::Future && p.terms.expiry > now;
            need(p.terms.underlying, live_option.then_some(p.terms.expiry));
        }
        for c in &collateral {
            if c.amount > 0 && !c.config.is_quote {
                need(c.config.underlying, None);
            }
        }
        let mut failed = None;
        let mut markets = Vec::with_capacity(needed.len());
        for (id, expiries) in &needed {
            markets.push(self.load_market(*id, expiries, now, &mut failed)?);
        }
        Ok(Loaded {
            owner,
            frozen,
            actor_authorized,
            cash: i128_of(cash),
            collateral,
            tokens,
            positions,
            markets,
            failed,
        })
    }

    /// Runs the core on a loaded account.
    pub fn risk_of(&self, l: &Loaded) -> Result<AccountRisk, Vec<u8>> {
        margin::account_risk(
            l.cash,
            &l.collateral,
            &l.positions,
            &l.markets,
            &margin::DEFAULT_GRID,
            &self.margin_params(),
            self.now(),
        )
        .map_err(math_err)
    }

    /// The post-action rule: IM for new risk; MM is enough when the action strictly
    /// reduces the account's risk. A failed reading or the pause blocks new risk only.
    fn require_margin(
        &self,
        account: U256,
        before: &AccountRisk,
        after_l: &Loaded,
    ) -> Result<(), Vec<u8>> {
        let after = self.risk_of(after_l)?;
        let reduces = margin::reduces_risk(before, &after);
        if after.im_surplus() >= 0 && !reduces && after_l.failed.is_none() && !self.paused.get() {
            return Ok(());
        }
        if reduces {
            if after.mm_surplus() >= 0 {
                return Ok(());
            }
            return err(InsufficientMargin {
                account,
                equity: i256(after.equity),
                requirement: i256(after.mm),
            });
        }
        if let Some(e) = after_l.failed.as_ref() {
            return Err(clone_error(e).into());
        }
        if self.paused.get() {
            // Only what needs no margin may go on while paused.
            if after.im == 0 && after.equity_im >= 0 {
                return Ok(());
            }
            return err(RiskPaused {});
        }
        if after.im_surplus() >= 0 {
            return Ok(());
        }
        err(InsufficientMargin {
            account,
            equity: i256(after.equity_im),
            requirement: i256(after.im),
        })
    }
}

fn clone_error(e: &Error) -> Error {
    match e {
        Error::StaleOracle(x) => Error::StaleOracle(x.clone()),
        Error::BadOracle(x) => Error::BadOracle(x.clone()),
        Error::StaleSurface(x) => Error::StaleSurface(x.clone()),
        Error::MissingSurface(x) => Error::MissingSurface(x.clone()),
        _ => Error::MathFailure(MathFailure { code: 0 }),
    }
}

#[public]
impl RiskEngine {
    /// Sets the owner, the vault and the registry.
    #[constructor]
    pub fn constructor(&mut self, owner: Address, vault: Address, registry: Address) {
        self.owner.set(owner);
        self.vault.set(vault);
        self.registry.set(registry);
        self.guardian.set(owner);
    }

    // ---------------------------------------------------------------- roles & parameters

    /// Starts a two-step ownership transfer. Owner only.
    pub fn transfer_ownership(&mut self, next: Address) -> Result<(), Vec<u8>> {
        self.only_owner()?;
        self.pending_owner.set(next);
        Ok(())
    }

    /// Completes a two-step ownership transfer. Pending owner only.
    /// # Events
    /// `OwnershipTransferred`.
    pub fn accept_ownership(&mut self) -> Result<(), Vec<u8>> {
        let s = self.vm().msg_sender();
        if s != self.pending_owner.get() || s == Address::ZERO {
            return err(Unauthorized { caller: s });
        }
        let prev = self.owner.get();
        self.owner.set(s);
        self.pending_owner.set(Address::ZERO);
        log(
            self.vm(),
            OwnershipTransferred {
                previous: prev,
                next: s,
            },
        );
        Ok(())
    }

    /// Sets the guardian (may pause new risk). Owner only.
    pub fn set_guardian(&mut self, guardian: Address) -> Result<(), Vec<u8>> {
        self.only_owner()?;
        self.guardian.set(guardian);
        log(self.vm(), GuardianSet { guardian });
        Ok(())
    }

    /// Pauses or resumes new risk. Guardian or owner. Deposits, closing trades,
    /// liquidations and settlement keep working while paused.
    pub fn set_paused(&mut self, paused: bool) -> Result<(), Vec<u8>> {
        let s = self.vm().msg_sender();
        if s != self.guardian.get() && s != self.owner.get() {
            return err(Unauthorized { caller: s });
        }
        self.paused.set(paused);
        log(self.vm(), PausedSet { paused });
        Ok(())
    }

    /// Authorises or removes a market (a contract that may call `trade`). Owner only.
    pub fn set_market(&mut self, market: Address, allowed: bool) -> Result<(), Vec<u8>> {
        self.only_owner()?;
        self.markets.setter(market).set(allowed);
        log(self.vm(), MarketSet { market, allowed });
        Ok(())
    }

    /// Authorises or removes a volatility feeder. Owner only.
    pub fn set_feeder(&mut self, feeder: Address, allowed: bool) -> Result<(), Vec<u8>> {
        self.only_owner()?;
        self.feeders.setter(feeder).set(allowed);
        log(self.vm(), FeederSet { feeder, allowed });
        Ok(())
    }

    /// Sets the account that receives trading fees (0: fees refused). Owner only.
    pub fn set_fee_account(&mut self, account: U256) -> Result<(), Vec<u8>> {
        self.only_owner()?;
        self.fee_account.set(account);
        log(self.vm(), FeeAccountSet { account });
        Ok(())
    }

    /// Sets the 12 risk parameters (WAD; order as `MarginParams`: volUp, volDown,
    /// mmShortOption, imShortOption, mmFuture, imFuture, imMultiplier, imPositiveMtm,
    /// thetaHorizon (seconds), haircutHorizon (years), sizeCoef, maxShockScale). Owner only.
    /// # Errors
    /// `ParameterOutOfBounds(index, value)` for the first value outside its hard bounds.
    pub fn set_params(&mut self, values: [u64; 12]) -> Result<(), Vec<u8>> {
        self.only_owner()?;
        let words: [U256; 3] = core::array::from_fn(|i| {
            U256::from_limbs([
                values[i * 4],
                values[i * 4 + 1],
                values[i * 4 + 2],
                values[i * 4 + 3],
            ])
        });
        let p = params_from_words(words);
        if let Err(i) = p.validate() {
            return err(ParameterOutOfBounds {
                which: i,
                value: I256::try_from(values[i as usize]).unwrap_or(I256::MAX),
            });
        }
        self.params0.set(words[0]);
        self.params1.set(words[1]);
        self.params2.set(words[2]);
        log(self.vm(), ParamsSet { values });
        Ok(())
    }

    /// The risk parameters in force (defaults until set).
    pub fn params(&self) -> [u64; 12] {
        params_limbs(&self.margin_params())
    }

    /// Configures an underlying. Owner only. Reads the feed's decimals once here.
    /// `method`: 0 Greeks path, 1 full revaluation. `rate` WAD in [-0.1, 1.0];
    /// `refVol` WAD in (0, 10]; `lambda` WAD in [0.5, 1); `stableRate` WAD per second
    /// at most 0.001; ages 1 s .. 7 days.
    /// # Errors
    /// `ParameterOutOfBounds`, `BadOracle` (feed unreadable).
    #[allow(clippy::too_many_arguments)]
    pub fn set_underlying(
        &mut self,
        underlying: u32,
        feed: Address,
        max_age: u32,
        surface_max_age: u32,
        method: u8,
        rate: i64,
        ref_vol: u64,
        lambda: u64,
        stable_rate: u64,
    ) -> Result<(), Vec<u8>> {
        self.only_owner()?;
        let week = 7 * 86_400;
        let checks: [(u8, i128, i128, i128); 7] = [
            (0, i128::from(max_age), 1, week),
            (1, i128::from(surface_max_age), 1, week),
            (2, i128::from(method), 0, 1),
            (3, i128::from(rate), RATE_MIN, RATE_MAX),
            (4, i128::from(ref_vol), 1, 10 * WAD),
            (5, i128::from(lambda), WAD / 2, WAD - 1),
            (6, i128::from(stable_rate), 0, WAD / 1000),
        ];
        for (which, v, lo, hi) in checks {
            if v < lo || v > hi {
                return err(ParameterOutOfBounds {
                    which,
                    value: i256(v),
                });
            }
        }
        let decimals = IAggregatorV3::new(feed).decimals(&*self).map_err(|_| {
            Vec::<u8>::from(Error::BadOracle(BadOracle {
                underlying,
                reason: 5,
            }))
        })?;
        let cfg = UnderlyingConfig {
            feed,
            max_age,
            surface_max_age,
            decimals,
            method,
            listed: true,
        };
        let risk = UnderlyingRisk {
            rate,
            ref_vol,
            lambda,
            stable_rate,
        };
        let mut u = self.underlyings.setter(U32::from(underlying));
        u.config.set(cfg.pack());
        u.risk.set(risk.pack());
        log(
            self.vm(),
            UnderlyingSet {
                underlying,
                feed,
                maxAge: max_age,
                surfaceMaxAge: surface_max_age,
                method,
                rate,
                refVol: ref_vol,
                lambda,
                stableRate: stable_rate,
            },
        );
        Ok(())
    }

    /// Posts SVI parameters for (underlying, expiry). Feeder only. Checked by the core
    /// (no negative variance, bounded parameters).
    /// # Errors
    /// `Unauthorized`, `UnknownUnderlying`, `InvalidSurface`.
    /// # Events
    /// `SurfacePosted`.
    #[allow(clippy::too_many_arguments)]
    pub fn post_surface(
        &mut self,
        underlying: u32,
        expiry: u64,
        a: I256,
        b: I256,
        rho: I256,
        m: I256,
        sigma: I256,
    ) -> Result<(), Vec<u8>> {
        let s = self.vm().msg_sender();
        if !self.feeders.get(s) {
            return err(Unauthorized { caller: s });
        }
        if !UnderlyingConfig::unpack(self.underlyings.getter(U32::from(underlying)).config.get())
            .listed
        {
            return err(UnknownUnderlying { underlying });
        }
        let p = SviParams {
            a: i128_of(a),
            b: i128_of(b),
            rho: i128_of(rho),
            m: i128_of(m),
            sigma: i128_of(sigma),
        };
        let now = self.now();
        if stylus_margin::svi::validate(&p).is_err() || expiry <= now {
            return err(InvalidSurface { underlying, expiry });
        }
        let mut slot = self.surfaces.setter(surface_key(underlying, expiry));
        slot.ab.set(state::join(p.a as u128, p.b as u128));
        slot.rho_m.set(state::join(p.rho as u128, p.m as u128));
        slot.sigma_time
            .set(state::join(p.sigma as u128, u128::from(now)));
        log(
            self.vm(),
            SurfacePosted {
                underlying,
                expiry,
                a,
                b,
                rho,
                m,
                sigma,
            },
        );
        Ok(())
    }

    /// Moves the stable price toward the oracle (bounded rate per second, Mango v4) and
    /// updates the EWMA volatility forecast. Anyone may call.
    /// # Errors
    /// `UnknownUnderlying`, `StaleOracle`, `BadOracle`.
    /// # Events
    /// `Poked`.
    pub fn poke(&mut self, underlying: u32) -> Result<(), Vec<u8>> {
        let now = self.now();
        let cfg =
            UnderlyingConfig::unpack(self.underlyings.getter(U32::from(underlying)).config.get());
        if !cfg.listed {
            return err(UnknownUnderlying { underlying });
        }
        let (price, fail) = self.read_price(underlying, &cfg, now);
        if let Some(e) = fail {
            return Err(e.into());
        }
        let Some(price) = price else {
            return err(BadOracle {
                underlying,
                reason: 5,
            });
        };
        let u = self.underlyings.getter(U32::from(underlying));
        let (stable, last) = state::halves(u.prices.get());
        let risk = UnderlyingRisk::unpack(u.risk.get());
        let mut vol = VolState::unpack(u.vol.get());
        let me = |e| math_err(MarginError::Math(e));
        let dt = now.saturating_sub(vol.last_poke);
        let new_stable =
            margin::stable_price_update(stable as i128, price, dt, i128::from(risk.stable_rate))
                .map_err(me)?;
        // EWMA: at most one update per minute, so a burst of pokes cannot swamp it.
        let dt_ewma = now.saturating_sub(vol.last_ewma);
        if last > 0 && dt_ewma >= 60 {
            vol.variance = margin::ewma_variance_update(
                vol.variance as i128,
                last as i128,
                price,
                dt_ewma,
                i128::from(risk.lambda),
            )
            .map_err(me)?
            .max(0) as u128;
            vol.last_ewma = now;
        } else if last == 0 {
            vol.last_ewma = now;
        }
        vol.last_poke = now;
        let forecast = margin::forecast_vol(vol.variance as i128).map_err(me)?;
        let mut u = self.underlyings.setter(U32::from(underlying));
        let last_out = if dt_ewma >= 60 || last == 0 {
            price as u128
        } else {
            last
        };
        u.prices.set(state::join(new_stable as u128, last_out));
        u.vol.set(vol.pack());
        log(
            self.vm(),
            Poked {
                underlying,
                price: i256(price),
                stablePrice: i256(new_stable),
                forecastVol: i256(forecast),
            },
        );
        Ok(())
    }

    // ---------------------------------------------------------------- risk-changing entry points

    /// A trade from an authorised market: `buyer` receives `size` of `instrument` from
    /// `seller` at `price` (premium per unit for options, entry price for futures), each
    /// side paying `fee` (quote WAD) to the fee account. The market must be an operator of
    /// both accounts. Both accounts must then satisfy IM, unless the trade strictly reduces
    /// an account's risk (MM falls and equity - MM rises), in which case MM is enough.
    /// # Errors
    /// `MarketNotAuthorized`, `MarketNotOperator`, `AccountFrozen`, `InvalidTrade`,
    /// `InsufficientMargin`, `RiskPaused`, `StaleOracle`/`BadOracle`/`StaleSurface`
    /// (new risk only), and the registry's and vault's errors unchanged.
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
    ) -> Result<(), Vec<u8>> {
        let market = self.vm().msg_sender();
        if !self.markets.get(market) {
            return err(MarketNotAuthorized { market });
        }
        if size <= I256::ZERO || buyer == seller || fee < I256::ZERO {
            return err(InvalidTrade {
                buyer,
                seller,
                size,
            });
        }
        let fee_account = self.fee_account.get();
        if fee > I256::ZERO && fee_account.is_zero() {
            return err(InvalidTrade {
                buyer,
                seller,
                size,
            });
        }
        let mut before = Vec::with_capacity(2);
        for account in [buyer, seller] {
            let l = self.load_account(account, market)?;
            if !l.actor_authorized {
                return err(MarketNotOperator { account, market });
            }
            if l.frozen {
                return err(AccountFrozen { account });
            }
            before.push(self.risk_of(&l)?);
        }
        let registry = IPositionRegistry::new(self.registry.get());
        let (buyer_pnl, seller_pnl) = registry
            .apply_trade(&mut *self, buyer, seller, instrument, size, price)
            .map_err(call_err)?;
        let vault = ICollateralVault::new(self.vault.get());
        let terms = instrument::unpack(instrument.to_be_bytes())
            .map_err(|_| math_err(MarginError::BadGrid))?;
        if terms.kind != Kind::Future {
            let premium = stylus_margin::fixed::mul(
                i128_of(size),
                i128_of(price),
                stylus_margin::fixed::Rounding::Up,
            )
            .map_err(|e| math_err(e.into()))?;
            if premium != 0 {
                vault
                    .transfer_cash(&mut *self, buyer, seller, i256(premium))
                    .map_err(call_err)?;
            }
        }
        for (account, pnl) in [(buyer, buyer_pnl), (seller, seller_pnl)] {
            if !pnl.is_zero() {
                vault
                    .adjust_cash(&mut *self, account, pnl, REASON_FUTURES_PNL)
                    .map_err(call_err)?;
            }
            if fee > I256::ZERO {
                vault
                    .transfer_cash(&mut *self, account, fee_account, fee)
                    .map_err(call_err)?;
            }
        }
        for (account, b) in [(buyer, &before[0]), (seller, &before[1])] {
            let after = self.load_account(account, market)?;
            self.require_margin(account, b, &after)?;
        }
        log(
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
    /// operator. The vault pays; equity must then satisfy IM.
    /// # Errors
    /// `NotOwnerOrOperator`, `AccountFrozen`, `InsufficientMargin`, `RiskPaused`, stale
    /// readings, and the vault's errors unchanged.
    /// # Events
    /// `Withdrawal` (and the vault's).
    pub fn withdraw(
        &mut self,
        account: U256,
        token: Address,
        amount: U256,
        to: Address,
    ) -> Result<U256, Vec<u8>> {
        let caller = self.vm().msg_sender();
        let l = self.load_account(account, caller)?;
        if !l.actor_authorized {
            return err(NotOwnerOrOperator { account, caller });
        }
        if l.frozen {
            return err(AccountFrozen { account });
        }
        let before = self.risk_of(&l)?;
        let vault = ICollateralVault::new(self.vault.get());
        let sent = vault
            .withdraw_to(&mut *self, account, token, amount, to)
            .map_err(call_err)?;
        let after = self.load_account(account, caller)?;
        self.require_margin(account, &before, &after)?;
        log(
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

    // ---------------------------------------------------------------- views

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
        let l = self.load_account(account, Address::ZERO)?;
        let r = self.risk_of(&l)?;
        let g = &r.greeks;
        Ok((
            i256(r.equity),
            i256(r.mm),
            i256(r.im),
            i256(r.equity_im),
            g.iter().map(|x| x.underlying).collect(),
            g.iter().map(|x| i256(x.delta)).collect(),
            g.iter().map(|x| i256(x.gamma)).collect(),
            g.iter().map(|x| i256(x.vega)).collect(),
            g.iter().map(|x| i256(x.theta)).collect(),
            r.worst_scenario,
        ))
    }

    /// `equity - MM` (negative: liquidatable).
    pub fn health(&self, account: U256) -> Result<I256, Vec<u8>> {
        let l = self.load_account(account, Address::ZERO)?;
        Ok(i256(self.risk_of(&l)?.mm_surplus()))
    }

    /// Whether equity < MM on fresh data (a stale reading never makes an account
    /// liquidatable on its own).
    pub fn is_liquidatable(&self, account: U256) -> Result<bool, Vec<u8>> {
        let l = self.load_account(account, Address::ZERO)?;
        Ok(l.failed.is_none() && self.risk_of(&l)?.mm_surplus() < 0)
    }

    /// Price and Greeks of one unit of an instrument now: (price, delta, gamma, vega, theta).
    pub fn quote(&self, instrument: U256) -> Result<(I256, I256, I256, I256, I256), Vec<u8>> {
        let terms = instrument::unpack(instrument.to_be_bytes())
            .map_err(|_| math_err(MarginError::BadGrid))?;
        let now = self.now();
        let mut failed = None;
        let live = terms.kind != Kind::Future && terms.expiry > now;
        let expiries = if live { vec![terms.expiry] } else { Vec::new() };
        let m = self.load_market(terms.underlying, &expiries, now, &mut failed)?;
        let one = Position {
            terms,
            size: WAD,
            entry: 0,
        };
        let r = margin::account_risk(
            0,
            &[],
            &[one],
            &[m],
            &margin::DEFAULT_GRID[..1],
            &self.margin_params(),
            now,
        )
        .map_err(math_err)?;
        let g = r.greeks[0];
        Ok((
            i256(r.mtm),
            i256(g.delta),
            i256(g.gamma),
            i256(g.vega),
            i256(g.theta),
        ))
    }

    /// Whether an address is an authorised market.
    pub fn is_market(&self, market: Address) -> bool {
        self.markets.get(market)
    }

    /// Whether new risk is paused.
    pub fn paused(&self) -> bool {
        self.paused.get()
    }

    /// The owner.
    pub fn owner(&self) -> Address {
        self.owner.get()
    }
}
