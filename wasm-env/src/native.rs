//! Contracts implemented in Rust, standing in for "the rest of the world" (tokens, oracles,
//! attackers). A native contract sits at an address exactly like a WASM program: programs call
//! it through `call_contract`, it can call programs back, its storage lives in the same
//! journaled state (so a reverted frame undoes its writes), and it pays EVM gas for what it
//! does. Swapping it for a compiled WASM contract at the same address changes nothing for the
//! callers.

use crate::exec::{CallArgs, CallKind, Ctx, Frame, FrameStatus};
use crate::pricing::*;
use alloy_primitives::{Address, Log, LogData, B256, U256};
use alloy_sol_types::SolError;
use std::any::Any;

/// Gas charged on entry to a native contract, standing in for what the Solidity code it
/// replaces would spend on dispatch, ABI decoding and arithmetic (an approximation; storage,
/// logs and calls are charged at their EVM prices on top).
pub const NATIVE_BASE_GAS: u64 = 1_000;

/// Why a native call stopped without returning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NativeError {
    /// Revert with this data (remaining gas goes back to the caller).
    Revert(Vec<u8>),
    /// Out of gas (all gas is consumed).
    OutOfGas,
    /// An exceptional halt, e.g. a write in a static context (all gas is consumed).
    Halt(String),
}

impl NativeError {
    /// A revert carrying a Solidity custom error.
    pub fn error<E: SolError>(e: E) -> Self {
        NativeError::Revert(e.abi_encode())
    }

    /// A revert with `Error(string)` data, as Solidity's `require(cond, msg)`.
    pub fn message(msg: &str) -> Self {
        NativeError::Revert(alloy_sol_types::Revert::from(msg).abi_encode())
    }
}

/// What a native call returns: its return data, or why it stopped.
pub type NativeResult = Result<Vec<u8>, NativeError>;

/// A contract implemented in Rust.
///
/// State that must be undone when a frame reverts belongs in storage ([`NativeCtx::sload`] /
/// [`NativeCtx::sstore`]); state kept in the Rust value (through interior mutability) is not
/// journaled, which suits configuration that tests set (an oracle's answers, an attacker's
/// plan). The value is shared, so a contract may be re-entered while it runs.
pub trait NativeContract: Any {
    /// Runs one call with `input` as calldata.
    fn call(&self, ctx: &mut NativeCtx<'_>, input: &[u8]) -> NativeResult;

    /// Gas charged before [`NativeContract::call`] runs.
    fn base_gas(&self) -> u64 {
        NATIVE_BASE_GAS
    }

    /// The bytes `account_code` / `account_codehash` / `account_code_size` see.
    fn code(&self) -> Vec<u8> {
        b"\xfenative-contract".to_vec()
    }
}

/// The result of a call made by a native contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallResult {
    pub success: bool,
    pub data: Vec<u8>,
}

/// What a native contract can see and do during a call.
pub struct NativeCtx<'a> {
    pub(crate) ctx: &'a mut Ctx,
    pub(crate) frame: Frame,
    pub(crate) gas: u64,
    pub(crate) return_data: Vec<u8>,
}

impl<'a> NativeCtx<'a> {
    /// This contract's address (the storage context).
    pub fn address(&self) -> Address {
        self.frame.acting
    }
    /// `msg.sender`.
    pub fn caller(&self) -> Address {
        self.frame.caller
    }
    /// `msg.value`.
    pub fn value(&self) -> U256 {
        self.frame.value
    }
    /// `tx.origin`.
    pub fn origin(&self) -> Address {
        self.ctx.world.tx.origin
    }
    pub fn timestamp(&self) -> u64 {
        self.ctx.world.block.timestamp
    }
    pub fn block_number(&self) -> u64 {
        self.ctx.world.block.number
    }
    pub fn chain_id(&self) -> u64 {
        self.ctx.world.block.chain_id
    }
    /// Whether this call is in a static context (no writes, logs or value).
    pub fn is_static(&self) -> bool {
        self.frame.is_static
    }
    /// Gas left to this call.
    pub fn gas_left(&self) -> u64 {
        self.gas
    }
    /// Return data of the last call this contract made.
    pub fn return_data(&self) -> &[u8] {
        &self.return_data
    }

    /// Burns `gas`.
    pub fn charge(&mut self, gas: u64) -> Result<(), NativeError> {
        if self.gas < gas {
            self.gas = 0;
            return Err(NativeError::OutOfGas);
        }
        self.gas -= gas;
        Ok(())
    }

    /// SLOAD of this contract's storage (EIP-2929 priced).
    pub fn sload(&mut self, key: B256) -> Result<B256, NativeError> {
        let addr = self.frame.acting;
        let cost = self.ctx.world.sload_cost(addr, key);
        self.charge(cost)?;
        Ok(self.ctx.world.sload(&addr, &key))
    }

    /// SSTORE into this contract's storage (EIP-2200/2929/3529 priced, with refunds).
    pub fn sstore(&mut self, key: B256, value: B256) -> Result<(), NativeError> {
        if self.frame.is_static {
            return Err(NativeError::Halt("write protection".into()));
        }
        if self.gas <= SSTORE_SENTRY_GAS {
            self.gas = 0;
            return Err(NativeError::OutOfGas);
        }
        let addr = self.frame.acting;
        let cost = self.ctx.world.sstore_cost(addr, key, value);
        self.charge(cost)?;
        self.ctx.world.sstore(addr, key, value);
        Ok(())
    }

    /// SLOAD of a `uint256` word.
    pub fn sload_u256(&mut self, key: B256) -> Result<U256, NativeError> {
        Ok(U256::from_be_bytes(self.sload(key)?.0))
    }

    /// SSTORE of a `uint256` word.
    pub fn sstore_u256(&mut self, key: B256, value: U256) -> Result<(), NativeError> {
        self.sstore(key, B256::from(value.to_be_bytes::<32>()))
    }

    /// Emits a log from this contract (LOG0..LOG4 priced).
    pub fn log(&mut self, topics: &[B256], data: &[u8]) -> Result<(), NativeError> {
        if self.frame.is_static {
            return Err(NativeError::Halt("write protection".into()));
        }
        if topics.len() > 4 {
            return Err(NativeError::Halt("more than 4 topics".into()));
        }
        self.charge(LOG_TOPIC_GAS * (1 + topics.len() as u64) + LOG_DATA_GAS * data.len() as u64)?;
        let log = Log {
            address: self.frame.acting,
            data: LogData::new_unchecked(topics.to_vec(), data.to_vec().into()),
        };
        self.ctx.world.emit_log(log);
        Ok(())
    }

    /// Emits a Solidity event.
    pub fn emit<E: alloy_sol_types::SolEvent>(&mut self, event: &E) -> Result<(), NativeError> {
        let data = event.encode_log_data();
        self.log(data.topics(), &data.data)
    }

    /// The balance of `addr` (BALANCE priced).
    pub fn balance(&mut self, addr: Address) -> Result<U256, NativeError> {
        let cost = self.ctx.world.account_touch_cost(addr, false);
        self.charge(cost)?;
        Ok(self.ctx.world.balance(&addr))
    }

    /// CALL with all gas but 1/64th.
    pub fn call(
        &mut self,
        to: Address,
        data: &[u8],
        value: U256,
    ) -> Result<CallResult, NativeError> {
        self.sub_call(CallKind::Call, to, data, value)
    }

    /// STATICCALL with all gas but 1/64th.
    pub fn static_call(&mut self, to: Address, data: &[u8]) -> Result<CallResult, NativeError> {
        self.sub_call(CallKind::Static, to, data, U256::ZERO)
    }

    fn sub_call(
        &mut self,
        kind: CallKind,
        to: Address,
        data: &[u8],
        value: U256,
    ) -> Result<CallResult, NativeError> {
        if self.frame.is_static && !value.is_zero() {
            return Err(NativeError::Halt("write protection".into()));
        }
        let base = self.ctx.world.call_base_cost(to, value);
        self.charge(base)?;
        let available = self.gas - self.gas / 64;
        let mut gas = available;
        if !value.is_zero() {
            gas += CALL_STIPEND;
        }
        let args = CallArgs::child(&self.frame, kind, to, data.to_vec(), value, gas);
        let res = self.ctx.execute(args);
        if matches!(res.status, FrameStatus::Fatal) {
            return Err(NativeError::Halt("fatal".into()));
        }
        let used = gas.saturating_sub(res.gas_left);
        let used = if value.is_zero() {
            used
        } else {
            used.saturating_sub(CALL_STIPEND)
        };
        self.gas = self.gas.saturating_sub(used);
        self.return_data = res.output.clone();
        Ok(CallResult {
            success: res.status == FrameStatus::Success,
            data: res.output,
        })
    }
}

/// `keccak256(key . slot)`: the storage slot of `mapping[key]` for a mapping at `slot`
/// (Solidity's and stylus-sdk's layout; `key` is the 32-byte padded key).
pub fn mapping_slot(key: B256, slot: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(key.as_slice());
    buf[32..].copy_from_slice(slot.as_slice());
    alloy_primitives::keccak256(buf)
}

/// An address as a 32-byte mapping key.
pub fn address_key(a: Address) -> B256 {
    a.into_word()
}

/// A `uint256` slot number as a word.
pub fn slot(n: u64) -> B256 {
    B256::from(U256::from(n).to_be_bytes::<32>())
}
