//! Native stand-ins for the rest of the world: ERC20 tokens (standard and the awkward kinds)
//! and a Chainlink-style price feed. ABI in and out through alloy's `sol!`.

use crate::native::{
    address_key, mapping_slot, slot, NativeContract, NativeCtx, NativeError, NativeResult,
};
use alloy_primitives::{Address, B256, I256, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

sol! {
    /// The ERC20 interface the mocks implement, plus an open `mint` for tests.
    #[derive(Debug, PartialEq)]
    interface IERC20 {
        event Transfer(address indexed from, address indexed to, uint256 value);
        event Approval(address indexed owner, address indexed spender, uint256 value);
        function name() external view returns (string);
        function symbol() external view returns (string);
        function decimals() external view returns (uint8);
        function totalSupply() external view returns (uint256);
        function balanceOf(address owner) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function transfer(address to, uint256 value) external returns (bool);
        function approve(address spender, uint256 value) external returns (bool);
        function transferFrom(address from, address to, uint256 value) external returns (bool);
        function mint(address to, uint256 value) external;
    }

    /// Chainlink's AggregatorV3Interface, plus the legacy V2 reads.
    #[derive(Debug, PartialEq)]
    interface IAggregator {
        function decimals() external view returns (uint8);
        function description() external view returns (string);
        function version() external view returns (uint256);
        function getRoundData(uint80 roundId) external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
        function latestRoundData() external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
        function latestAnswer() external view returns (int256);
        function latestTimestamp() external view returns (uint256);
        function latestRound() external view returns (uint256);
    }

    /// OpenZeppelin's ERC20 errors (v5), which the standard mock reverts with.
    #[derive(Debug, PartialEq)]
    error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
    #[derive(Debug, PartialEq)]
    error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    #[derive(Debug, PartialEq)]
    error ERC20InvalidReceiver(address receiver);
}

/// How a mock token behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Erc20Flavor {
    /// OpenZeppelin-like: returns `true`, reverts with a custom error on failure.
    Standard,
    /// USDT-like: returns nothing, reverts on failure.
    NoReturnValue,
    /// Returns `false` instead of reverting on failure (and `true` on success).
    ReturnsFalse,
    /// Standard, but `fee_bps` of every transfer is burnt: the recipient gets less.
    FeeOnTransfer { fee_bps: u16 },
}

/// An ERC20 whose state lives in its storage (balances at slot 0, allowances at slot 1,
/// total supply at slot 2, as a Solidity ERC20 lays them out), so reverted frames undo it.
pub struct MockErc20 {
    pub name: String,
    pub symbol: String,
    pub decimals: u8,
    pub flavor: Erc20Flavor,
}

impl MockErc20 {
    pub fn new(symbol: &str, decimals: u8, flavor: Erc20Flavor) -> Self {
        MockErc20 {
            name: format!("Mock {symbol}"),
            symbol: symbol.to_string(),
            decimals,
            flavor,
        }
    }

    /// The storage slot of `owner`'s balance.
    pub fn balance_slot(owner: Address) -> B256 {
        mapping_slot(address_key(owner), slot(0))
    }

    /// The storage slot of `owner`'s allowance to `spender`.
    pub fn allowance_slot(owner: Address, spender: Address) -> B256 {
        mapping_slot(
            address_key(spender),
            mapping_slot(address_key(owner), slot(1)),
        )
    }

    /// The storage slot of the total supply.
    pub fn total_supply_slot() -> B256 {
        slot(2)
    }

    fn failure(&self, err: NativeError) -> NativeResult {
        match self.flavor {
            Erc20Flavor::ReturnsFalse => Ok(encode_bool(false)),
            _ => Err(err),
        }
    }

    fn success(&self) -> Vec<u8> {
        match self.flavor {
            Erc20Flavor::NoReturnValue => vec![],
            _ => encode_bool(true),
        }
    }

    /// Moves `value` from `from` to `to` (burning the fee of a fee-on-transfer token).
    fn move_tokens(
        &self,
        ctx: &mut NativeCtx,
        from: Address,
        to: Address,
        value: U256,
    ) -> Result<Result<(), NativeError>, NativeError> {
        if to.is_zero() {
            return Ok(Err(NativeError::error(ERC20InvalidReceiver {
                receiver: to,
            })));
        }
        let from_slot = Self::balance_slot(from);
        let balance = ctx.sload_u256(from_slot)?;
        if balance < value {
            return Ok(Err(NativeError::error(ERC20InsufficientBalance {
                sender: from,
                balance,
                needed: value,
            })));
        }
        ctx.sstore_u256(from_slot, balance - value)?;
        let fee = match self.flavor {
            Erc20Flavor::FeeOnTransfer { fee_bps } => {
                value * U256::from(fee_bps) / U256::from(10_000u64)
            }
            _ => U256::ZERO,
        };
        let to_slot = Self::balance_slot(to);
        let to_balance = ctx.sload_u256(to_slot)?;
        ctx.sstore_u256(to_slot, to_balance + value - fee)?;
        if !fee.is_zero() {
            let supply = ctx.sload_u256(Self::total_supply_slot())?;
            ctx.sstore_u256(Self::total_supply_slot(), supply - fee)?;
        }
        ctx.emit(&IERC20::Transfer {
            from,
            to,
            value: value - fee,
        })?;
        if !fee.is_zero() {
            ctx.emit(&IERC20::Transfer {
                from,
                to: Address::ZERO,
                value: fee,
            })?;
        }
        Ok(Ok(()))
    }
}

fn encode_bool(b: bool) -> Vec<u8> {
    let mut w = vec![0u8; 32];
    w[31] = b as u8;
    w
}

fn bad_calldata() -> NativeError {
    NativeError::Revert(vec![])
}

impl NativeContract for MockErc20 {
    fn call(&self, ctx: &mut NativeCtx<'_>, input: &[u8]) -> NativeResult {
        use IERC20::IERC20Calls as Call;
        let call = Call::abi_decode(input, true).map_err(|_| bad_calldata())?;
        if !ctx.value().is_zero() {
            return Err(bad_calldata());
        }
        match call {
            Call::name(_) => Ok(IERC20::nameCall::abi_encode_returns(&(self.name.clone(),))),
            Call::symbol(_) => Ok(IERC20::symbolCall::abi_encode_returns(&(self
                .symbol
                .clone(),))),
            Call::decimals(_) => Ok(IERC20::decimalsCall::abi_encode_returns(&(self.decimals,))),
            Call::totalSupply(_) => {
                let s = ctx.sload_u256(Self::total_supply_slot())?;
                Ok(IERC20::totalSupplyCall::abi_encode_returns(&(s,)))
            }
            Call::balanceOf(c) => {
                let b = ctx.sload_u256(Self::balance_slot(c.owner))?;
                Ok(IERC20::balanceOfCall::abi_encode_returns(&(b,)))
            }
            Call::allowance(c) => {
                let a = ctx.sload_u256(Self::allowance_slot(c.owner, c.spender))?;
                Ok(IERC20::allowanceCall::abi_encode_returns(&(a,)))
            }
            Call::approve(c) => {
                let owner = ctx.caller();
                ctx.sstore_u256(Self::allowance_slot(owner, c.spender), c.value)?;
                ctx.emit(&IERC20::Approval {
                    owner,
                    spender: c.spender,
                    value: c.value,
                })?;
                Ok(self.success())
            }
            Call::transfer(c) => {
                let from = ctx.caller();
                match self.move_tokens(ctx, from, c.to, c.value)? {
                    Ok(()) => Ok(self.success()),
                    Err(e) => self.failure(e),
                }
            }
            Call::transferFrom(c) => {
                let spender = ctx.caller();
                let aslot = Self::allowance_slot(c.from, spender);
                let allowance = ctx.sload_u256(aslot)?;
                if allowance < c.value {
                    return self.failure(NativeError::error(ERC20InsufficientAllowance {
                        spender,
                        allowance,
                        needed: c.value,
                    }));
                }
                if allowance != U256::MAX {
                    ctx.sstore_u256(aslot, allowance - c.value)?;
                }
                match self.move_tokens(ctx, c.from, c.to, c.value)? {
                    Ok(()) => Ok(self.success()),
                    Err(e) => {
                        // Undo the allowance change: a false-returning token must not keep it.
                        if allowance != U256::MAX {
                            ctx.sstore_u256(aslot, allowance)?;
                        }
                        self.failure(e)
                    }
                }
            }
            Call::mint(c) => {
                let bslot = Self::balance_slot(c.to);
                let b = ctx.sload_u256(bslot)?;
                ctx.sstore_u256(bslot, b + c.value)?;
                let s = ctx.sload_u256(Self::total_supply_slot())?;
                ctx.sstore_u256(Self::total_supply_slot(), s + c.value)?;
                ctx.emit(&IERC20::Transfer {
                    from: Address::ZERO,
                    to: c.to,
                    value: c.value,
                })?;
                Ok(vec![])
            }
        }
    }
}

/// One round of a price feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Round {
    pub answer: I256,
    pub started_at: u64,
    pub updated_at: u64,
    pub answered_in_round: u128,
}

/// A Chainlink-style aggregator whose rounds tests set. Its state is Rust state (not
/// journaled): only tests change it.
pub struct MockAggregator {
    pub decimals: u8,
    pub description: String,
    rounds: RefCell<BTreeMap<u128, Round>>,
    latest: Cell<u128>,
    /// When set, every call reverts (a dead or paused feed).
    pub reverting: Cell<bool>,
}

impl MockAggregator {
    pub fn new(decimals: u8, description: &str) -> Self {
        MockAggregator {
            decimals,
            description: description.to_string(),
            rounds: RefCell::new(BTreeMap::new()),
            latest: Cell::new(0),
            reverting: Cell::new(false),
        }
    }

    /// Adds the next round with `answer` updated at `updated_at`; returns its id.
    pub fn push(&self, answer: I256, updated_at: u64) -> u128 {
        let id = self.latest.get() + 1;
        self.set_round(
            id,
            Round {
                answer,
                started_at: updated_at,
                updated_at,
                answered_in_round: id,
            },
        );
        id
    }

    /// Sets round `id` (it becomes the latest if it is newer).
    pub fn set_round(&self, id: u128, round: Round) {
        self.rounds.borrow_mut().insert(id, round);
        if id > self.latest.get() {
            self.latest.set(id);
        }
    }

    /// Makes round `id` the latest (e.g. to go back to an older round).
    pub fn set_latest(&self, id: u128) {
        self.latest.set(id);
    }

    /// Round `id`, if it exists.
    pub fn round(&self, id: u128) -> Option<Round> {
        self.rounds.borrow().get(&id).copied()
    }

    /// The id of the latest round (0 when there is none).
    pub fn latest_id(&self) -> u128 {
        self.latest.get()
    }

    pub fn latest_round(&self) -> Option<(u128, Round)> {
        let id = self.latest.get();
        self.rounds.borrow().get(&id).map(|r| (id, *r))
    }

    fn round_data(id: u128, r: &Round) -> Vec<u8> {
        IAggregator::latestRoundDataCall::abi_encode_returns(&(
            alloy_primitives::Uint::<80, 2>::from(id),
            r.answer,
            U256::from(r.started_at),
            U256::from(r.updated_at),
            alloy_primitives::Uint::<80, 2>::from(r.answered_in_round),
        ))
    }
}

/// Gas the Solidity aggregator (`examples/solidity/MockAggregator.sol`) spends on a round
/// read besides its storage reads: measured on nitro, `latestRoundData` costs 11,407 gas
/// cold and 1,407 warm, which is this plus five SLOADs (the latest round id and the round's
/// four fields) at 2,100 cold or 100 warm.
pub const AGGREGATOR_BASE_GAS: u64 = 907;

impl MockAggregator {
    /// Charges the storage reads the Solidity aggregator makes for round `id` (the latest
    /// round id first when `latest`): the same slots every time, so a second read in the
    /// same transaction is warm, as on chain.
    fn charge_round_reads(
        ctx: &mut NativeCtx<'_>,
        id: u128,
        latest: bool,
    ) -> Result<(), NativeError> {
        if latest {
            ctx.sload(slot(1))?;
        }
        let base = U256::from_be_bytes(
            mapping_slot(B256::from(U256::from(id).to_be_bytes::<32>()), slot(2)).0,
        );
        for field in 0u64..4 {
            ctx.sload(B256::from((base + U256::from(field)).to_be_bytes::<32>()))?;
        }
        Ok(())
    }
}

impl NativeContract for MockAggregator {
    fn base_gas(&self) -> u64 {
        AGGREGATOR_BASE_GAS
    }

    fn call(&self, ctx: &mut NativeCtx<'_>, input: &[u8]) -> NativeResult {
        use IAggregator::IAggregatorCalls as Call;
        if self.reverting.get() {
            return Err(NativeError::message("feed is down"));
        }
        let call = Call::abi_decode(input, true).map_err(|_| bad_calldata())?;
        let no_data = || NativeError::message("No data present");
        match call {
            Call::decimals(_) => Ok(IAggregator::decimalsCall::abi_encode_returns(&(
                self.decimals,
            ))),
            Call::description(_) => Ok(IAggregator::descriptionCall::abi_encode_returns(&(self
                .description
                .clone(),))),
            Call::version(_) => Ok(IAggregator::versionCall::abi_encode_returns(&(U256::from(
                4u64,
            ),))),
            Call::getRoundData(c) => {
                let id: u128 = c.roundId.to();
                Self::charge_round_reads(ctx, id, false)?;
                let rounds = self.rounds.borrow();
                let r = rounds.get(&id).ok_or_else(no_data)?;
                Ok(Self::round_data(id, r))
            }
            Call::latestRoundData(_) => {
                Self::charge_round_reads(ctx, self.latest.get(), true)?;
                let (id, r) = self.latest_round().ok_or_else(no_data)?;
                Ok(Self::round_data(id, &r))
            }
            Call::latestAnswer(_) => {
                let a = self
                    .latest_round()
                    .map(|(_, r)| r.answer)
                    .unwrap_or_default();
                Ok(IAggregator::latestAnswerCall::abi_encode_returns(&(a,)))
            }
            Call::latestTimestamp(_) => {
                let t = self
                    .latest_round()
                    .map(|(_, r)| r.updated_at)
                    .unwrap_or_default();
                Ok(IAggregator::latestTimestampCall::abi_encode_returns(&(
                    U256::from(t),
                )))
            }
            Call::latestRound(_) => Ok(IAggregator::latestRoundCall::abi_encode_returns(&(
                U256::from(self.latest.get()),
            ))),
        }
    }
}
