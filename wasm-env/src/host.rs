//! The `vm_hooks` host I/Os a Stylus program imports, with nitro's ink and gas prices
//! (`crates/wasm-libraries/user-host-trait` for the program side, `arbos/programs/api.go` for
//! the EVM side). Each hook buys its base ink first, checks the gas it requires, then does its
//! work; an unaffordable cost traps with the "out of ink" status.

use crate::exec::{CallKind, Ctx, Frame};
use crate::pricing::{self, hostio, *};
use crate::state::Code;
use alloy_primitives::{keccak256, Address, Log, LogData, B256, U256};
use std::collections::HashMap;
use std::fmt;
use wasmi::errors::HostError;
use wasmi::{Caller, Engine, Error, ExternType, Global, Linker, Memory, Module, Val};

/// What a running program's store holds.
pub(crate) struct FrameData {
    /// The world, owned by the innermost running frame (taken out for nested calls).
    pub ctx: Option<Box<Ctx>>,
    pub frame: Frame,
    pub args: Vec<u8>,
    pub outs: Vec<u8>,
    /// Return data of the last call this program made.
    pub return_data: Vec<u8>,
    /// nitro's per-call storage cache.
    pub cache: StorageCache,
    pub ink: Option<Global>,
    pub status: Option<Global>,
    pub memory: Option<Memory>,
}

/// Why a host I/O stopped the program.
#[derive(Debug, Clone)]
pub(crate) enum HostTrap {
    /// Out of ink (the ink status is set).
    OutOfInk,
    /// The program fails: a revert with no data that keeps its remaining gas.
    Failure(String),
    /// The environment cannot run this: the transaction panics with the message.
    Fatal(String),
    /// `exit_early(status)`.
    Exit(u32),
}

impl fmt::Display for HostTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostTrap::OutOfInk => write!(f, "out of ink"),
            HostTrap::Failure(m) => write!(f, "failure: {m}"),
            HostTrap::Fatal(m) => write!(f, "{m}"),
            HostTrap::Exit(s) => write!(f, "exit {s}"),
        }
    }
}

impl HostError for HostTrap {}

fn trap(t: HostTrap) -> Error {
    Error::host(t)
}

// ---------------------------------------------------------------------------------------------
// Storage cache (the semantics of nitro's StorageCache in crates/arbutil/src/evm/storage.rs)
// ---------------------------------------------------------------------------------------------

/// A program call's storage cache: reads are served from it after the first, writes stay in
/// it until a flush. A write of the value known from the state is not dirty.
#[derive(Default, Debug)]
pub(crate) struct StorageCache {
    clean: HashMap<B256, B256>,
    /// key -> (value, value known to be in the state, if any)
    dirty: HashMap<B256, (B256, Option<B256>)>,
    reads: usize,
    writes: usize,
}

impl StorageCache {
    fn read_gas(&mut self) -> u64 {
        self.reads += 1;
        storage_read_surcharge(self.reads)
    }

    fn write_gas(&mut self) -> u64 {
        self.writes += 1;
        storage_write_surcharge(self.writes)
    }

    fn get(&self, key: &B256) -> Option<B256> {
        self.dirty
            .get(key)
            .map(|(v, _)| *v)
            .or_else(|| self.clean.get(key).copied())
    }

    fn insert_known(&mut self, key: B256, value: B256) {
        if self.get(&key).is_none() {
            self.clean.insert(key, value);
        }
    }

    fn cache(&mut self, key: B256, value: B256) {
        if let Some(word) = self.dirty.get_mut(&key) {
            word.0 = value;
            return;
        }
        if let Some(known) = self.clean.remove(&key) {
            if value == known {
                self.clean.insert(key, known);
            } else {
                self.dirty.insert(key, (value, Some(known)));
            }
            return;
        }
        self.dirty.insert(key, (value, None));
    }

    /// The changed slots, in ascending key order; the cache keeps them as clean unless
    /// `clear`, which empties it.
    fn flush(&mut self, clear: bool) -> Vec<(B256, B256)> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut entries = Vec::with_capacity(dirty.len());
        for (key, (value, known)) in dirty {
            if known != Some(value) {
                entries.push((key, value));
            }
            if !clear {
                self.clean.insert(key, value);
            }
        }
        if clear {
            self.clean.clear();
        }
        entries.sort_unstable_by_key(|(k, _)| *k);
        entries
    }
}

// ---------------------------------------------------------------------------------------------
// Metering helpers
// ---------------------------------------------------------------------------------------------

type C<'a> = Caller<'a, FrameData>;

fn globals(c: &C) -> (Global, Global) {
    let d = c.data();
    (
        d.ink.expect("ink global set before entry"),
        d.status.expect("status global set before entry"),
    )
}

fn ink_ready(c: &mut C) -> Result<u64, Error> {
    let (ink, status) = globals(c);
    if status.get(&*c).i32().unwrap_or(0) != 0 {
        return Err(out_of_ink(c));
    }
    Ok(ink.get(&*c).i64().unwrap_or(0) as u64)
}

fn out_of_ink(c: &mut C) -> Error {
    let (ink, status) = globals(c);
    let _ = ink.set(&mut *c, Val::I64(0));
    let _ = status.set(&mut *c, Val::I32(1));
    trap(HostTrap::OutOfInk)
}

fn buy_ink(c: &mut C, amount: u64) -> Result<(), Error> {
    let left = ink_ready(c)?;
    if left < amount {
        return Err(out_of_ink(c));
    }
    let (ink, _) = globals(c);
    ink.set(&mut *c, Val::I64((left - amount) as i64))
        .expect("mutable i64");
    Ok(())
}

fn require_ink(c: &mut C, amount: u64) -> Result<(), Error> {
    if ink_ready(c)? < amount {
        return Err(out_of_ink(c));
    }
    Ok(())
}

fn gas_left(c: &mut C) -> Result<u64, Error> {
    Ok(ink_ready(c)? / INK_PRICE)
}

fn buy_gas(c: &mut C, gas: u64) -> Result<(), Error> {
    buy_ink(c, gas.saturating_mul(INK_PRICE))
}

fn require_gas(c: &mut C, gas: u64) -> Result<(), Error> {
    require_ink(c, gas.saturating_mul(INK_PRICE))
}

fn pay_for_read(c: &mut C, len: u32) -> Result<(), Error> {
    buy_ink(c, read_price(len))
}

fn pay_for_write(c: &mut C, len: u32) -> Result<(), Error> {
    buy_ink(c, write_price(len))
}

// ---------------------------------------------------------------------------------------------
// Memory helpers
// ---------------------------------------------------------------------------------------------

fn mem(c: &C) -> Memory {
    c.data().memory.expect("memory set before entry")
}

fn read(c: &C, ptr: i32, len: u32) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; len as usize];
    mem(c)
        .read(c, ptr as u32 as usize, &mut buf)
        .map_err(|_| trap(HostTrap::Failure("memory read out of bounds".into())))?;
    Ok(buf)
}

fn read_fixed<const N: usize>(c: &C, ptr: i32) -> Result<[u8; N], Error> {
    let mut buf = [0u8; N];
    mem(c)
        .read(c, ptr as u32 as usize, &mut buf)
        .map_err(|_| trap(HostTrap::Failure("memory read out of bounds".into())))?;
    Ok(buf)
}

fn read_address(c: &C, ptr: i32) -> Result<Address, Error> {
    Ok(Address::from(read_fixed::<20>(c, ptr)?))
}

fn read_b256(c: &C, ptr: i32) -> Result<B256, Error> {
    Ok(B256::from(read_fixed::<32>(c, ptr)?))
}

fn write(c: &mut C, ptr: i32, data: &[u8]) -> Result<(), Error> {
    let m = mem(c);
    m.write(&mut *c, ptr as u32 as usize, data)
        .map_err(|_| trap(HostTrap::Failure("memory write out of bounds".into())))
}

fn ctx<'a>(c: &'a mut C) -> &'a mut Ctx {
    c.data_mut()
        .ctx
        .as_mut()
        .expect("the frame owns the context")
}

fn ctx_ref<'a>(c: &'a C) -> &'a Ctx {
    c.data().ctx.as_ref().expect("the frame owns the context")
}

fn acting(c: &C) -> Address {
    c.data().frame.acting
}

// ---------------------------------------------------------------------------------------------
// The hooks
// ---------------------------------------------------------------------------------------------

fn read_args(mut c: C, dest: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::READ_ARGS)?;
    let args = std::mem::take(&mut c.data_mut().args);
    pay_for_write(&mut c, args.len() as u32)?;
    let r = write(&mut c, dest, &args);
    c.data_mut().args = args;
    r
}

fn write_result(mut c: C, ptr: i32, len: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::WRITE_RESULT)?;
    pay_for_read(&mut c, len as u32)?;
    pay_for_read(&mut c, len as u32)?; // read from geth
    let outs = read(&c, ptr, len as u32)?;
    c.data_mut().outs = outs;
    Ok(())
}

fn exit_early(_c: C, status: i32) -> Result<(), Error> {
    Err(trap(HostTrap::Exit(status as u32)))
}

fn storage_load_bytes32(mut c: C, key: i32, dest: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::STORAGE_LOAD)?;
    require_gas(
        &mut c,
        COLD_SLOAD_GAS + STORAGE_CACHE_REQUIRED_ACCESS_GAS + EVM_API_GAS,
    )?;
    let key = read_b256(&c, key)?;
    let addr = acting(&c);
    let d = c.data_mut();
    let mut cost = d.cache.read_gas();
    let value = match d.cache.get(&key) {
        Some(v) => v,
        None => {
            let ctx = d.ctx.as_mut().expect("context");
            cost += ctx.world.sload_cost(addr, key) + EVM_API_GAS;
            let v = ctx.world.sload(&addr, &key);
            d.cache.insert_known(key, v);
            v
        }
    };
    buy_gas(&mut c, cost)?;
    write(&mut c, dest, value.as_slice())
}

fn storage_cache_bytes32(mut c: C, key: i32, value: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::STORAGE_CACHE)?;
    require_gas(
        &mut c,
        SSTORE_SENTRY_GAS + STORAGE_CACHE_REQUIRED_ACCESS_GAS,
    )?;
    let key = read_b256(&c, key)?;
    let value = read_b256(&c, value)?;
    let d = c.data_mut();
    let cost = d.cache.write_gas();
    d.cache.cache(key, value);
    buy_gas(&mut c, cost)
}

fn storage_flush_cache(mut c: C, clear: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::STORAGE_FLUSH)?;
    require_gas(&mut c, SSTORE_SENTRY_GAS)?;
    let budget = gas_left(&mut c)? + 1;
    let addr = acting(&c);
    let d = c.data_mut();
    let entries = d.cache.flush(clear != 0);
    if entries.is_empty() {
        return Ok(());
    }
    if d.frame.is_static {
        return Err(trap(HostTrap::Failure(
            "storage write in a static call".into(),
        )));
    }
    let ctx = d.ctx.as_mut().expect("context");
    let mut left = budget;
    let mut out_of_gas = false;
    for (key, value) in entries {
        let cost = ctx.world.sstore_cost(addr, key, value);
        if cost > left {
            left = 0;
            out_of_gas = true;
            break;
        }
        left -= cost;
        ctx.world.sstore(addr, key, value);
    }
    buy_gas(&mut c, budget - left)?;
    if out_of_gas || left == 0 {
        return Err(out_of_ink(&mut c));
    }
    Ok(())
}

fn transient_load_bytes32(mut c: C, key: i32, dest: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::TRANSIENT_LOAD)?;
    buy_gas(&mut c, WARM_READ_GAS)?;
    let key = read_b256(&c, key)?;
    let v = ctx_ref(&c).world.tload(&acting(&c), &key);
    write(&mut c, dest, v.as_slice())
}

fn transient_store_bytes32(mut c: C, key: i32, value: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::TRANSIENT_STORE)?;
    buy_gas(&mut c, WARM_READ_GAS)?;
    let key = read_b256(&c, key)?;
    let value = read_b256(&c, value)?;
    if c.data().frame.is_static {
        return Err(trap(HostTrap::Failure(
            "transient write in a static call".into(),
        )));
    }
    let addr = acting(&c);
    ctx(&mut c).world.tstore(addr, key, value);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn do_call(
    c: &mut C,
    kind: CallKind,
    contract: i32,
    data: i32,
    len: i32,
    value: Option<i32>,
    gas: i64,
    ret_len: i32,
) -> Result<i32, Error> {
    buy_ink(c, hostio::CALL_CONTRACT)?;
    pay_for_read(c, len as u32)?;
    pay_for_read(c, len as u32)?; // read from geth
    let gas_left = gas_left(c)?;
    let gas_req = (gas as u64).min(gas_left);
    let to = read_address(c, contract)?;
    let input = read(c, data, len as u32)?;
    let value = match value {
        Some(p) => U256::from_be_bytes(read_fixed::<32>(c, p)?),
        None => U256::ZERO,
    };
    let d = c.data_mut();
    let frame = d.frame.clone();
    let mut owned = d.ctx.take().expect("context");
    let (ret, cost, ok) = owned.program_call(&frame, kind, to, input, gas_left, gas_req, value);
    let fatal = owned.fatal.clone();
    c.data_mut().ctx = Some(owned);
    if let Some(msg) = fatal {
        return Err(trap(HostTrap::Fatal(msg)));
    }
    buy_gas(c, cost)?;
    let n = ret.len() as u32;
    c.data_mut().return_data = ret;
    write(c, ret_len, &n.to_le_bytes())?;
    Ok(if ok { 0 } else { 2 })
}

fn call_contract(
    mut c: C,
    contract: i32,
    data: i32,
    len: i32,
    value: i32,
    gas: i64,
    ret_len: i32,
) -> Result<i32, Error> {
    do_call(
        &mut c,
        CallKind::Call,
        contract,
        data,
        len,
        Some(value),
        gas,
        ret_len,
    )
}

fn delegate_call_contract(
    mut c: C,
    contract: i32,
    data: i32,
    len: i32,
    gas: i64,
    ret_len: i32,
) -> Result<i32, Error> {
    do_call(
        &mut c,
        CallKind::Delegate,
        contract,
        data,
        len,
        None,
        gas,
        ret_len,
    )
}

fn static_call_contract(
    mut c: C,
    contract: i32,
    data: i32,
    len: i32,
    gas: i64,
    ret_len: i32,
) -> Result<i32, Error> {
    do_call(
        &mut c,
        CallKind::Static,
        contract,
        data,
        len,
        None,
        gas,
        ret_len,
    )
}

fn read_return_data(mut c: C, dest: i32, offset: i32, size: i32) -> Result<i32, Error> {
    buy_ink(&mut c, hostio::READ_RETURN_DATA)?;
    let (offset, size) = (offset as u32, size as u32);
    let len = c.data().return_data.len() as u32;
    let max = len.saturating_sub(offset);
    pay_for_write(&mut c, size.min(max))?;
    if max == 0 {
        return Ok(0);
    }
    let end = offset.saturating_add(size).min(len);
    let slice = c.data().return_data[offset as usize..end as usize].to_vec();
    if !slice.is_empty() {
        write(&mut c, dest, &slice)?;
    }
    Ok(slice.len() as i32)
}

fn return_data_size(mut c: C) -> Result<i32, Error> {
    buy_ink(&mut c, hostio::RETURN_DATA_SIZE)?;
    Ok(c.data().return_data.len() as i32)
}

fn emit_log(mut c: C, data: i32, len: i32, topics: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::EMIT_LOG)?;
    let (len, topics) = (len as u32, topics as u32);
    if topics > 4 || len < topics * 32 {
        return Err(trap(HostTrap::Failure("bad topic data".into())));
    }
    pay_for_read(&mut c, len)?;
    buy_gas(
        &mut c,
        (1 + topics as u64) * LOG_TOPIC_GAS + (len - topics * 32) as u64 * LOG_DATA_GAS,
    )?;
    let bytes = read(&c, data, len)?;
    if c.data().frame.is_static {
        return Err(trap(HostTrap::Failure("log in a static call".into())));
    }
    let split = topics as usize * 32;
    let topic_words = bytes[..split].chunks(32).map(B256::from_slice).collect();
    let log = Log {
        address: acting(&c),
        data: LogData::new_unchecked(topic_words, bytes[split..].to_vec().into()),
    };
    ctx(&mut c).world.emit_log(log);
    Ok(())
}

fn account_balance(mut c: C, address: i32, dest: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::ACCOUNT_BALANCE)?;
    require_gas(&mut c, COLD_ACCOUNT_GAS)?;
    let addr = read_address(&c, address)?;
    let cost = ctx(&mut c).world.account_touch_cost(addr, false);
    buy_gas(&mut c, cost)?;
    let bal = ctx_ref(&c).world.balance(&addr);
    write(&mut c, dest, &bal.to_be_bytes::<32>())
}

/// The bytes of an account's code as the chain would show them.
fn code_bytes(ctx: &Ctx, addr: &Address) -> Vec<u8> {
    match ctx.world.code(addr) {
        Code::None => vec![],
        Code::Wasm(h) => ctx
            .programs
            .get(&h)
            .map(|p| p.code.clone())
            .unwrap_or_default(),
        Code::Native(n) => n.code(),
    }
}

fn account_code_inner(c: &mut C, address: i32, base: u64) -> Result<Vec<u8>, Error> {
    buy_ink(c, base)?;
    require_gas(c, COLD_ACCOUNT_GAS)?;
    let addr = read_address(c, address)?;
    let cost = ctx(c).world.account_touch_cost(addr, true);
    buy_gas(c, cost)?;
    Ok(code_bytes(ctx_ref(c), &addr))
}

fn account_code(mut c: C, address: i32, offset: i32, size: i32, dest: i32) -> Result<i32, Error> {
    let code = account_code_inner(&mut c, address, hostio::ACCOUNT_CODE)?;
    pay_for_write(&mut c, code.len() as u32)?;
    let (offset, size) = (offset as u32 as usize, size as u32 as usize);
    let start = offset.min(code.len());
    let end = offset.saturating_add(size).min(code.len());
    let out = code[start..end].to_vec();
    write(&mut c, dest, &out)?;
    Ok(out.len() as i32)
}

fn account_code_size(mut c: C, address: i32) -> Result<i32, Error> {
    let code = account_code_inner(&mut c, address, hostio::ACCOUNT_CODE_SIZE)?;
    Ok(code.len() as i32)
}

fn account_codehash(mut c: C, address: i32, dest: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::ACCOUNT_CODE_HASH)?;
    require_gas(&mut c, COLD_ACCOUNT_GAS)?;
    let addr = read_address(&c, address)?;
    let cost = ctx(&mut c).world.account_touch_cost(addr, false);
    buy_gas(&mut c, cost)?;
    let hash = {
        let ctx = ctx_ref(&c);
        if ctx.world.is_empty(&addr) {
            B256::ZERO
        } else {
            keccak256(code_bytes(ctx, &addr))
        }
    };
    write(&mut c, dest, hash.as_slice())
}

fn block_basefee(mut c: C, ptr: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::BLOCK_BASEFEE)?;
    let v = ctx_ref(&c).world.block.basefee.to_be_bytes::<32>();
    write(&mut c, ptr, &v)
}

fn block_coinbase(mut c: C, ptr: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::BLOCK_COINBASE)?;
    let v = ctx_ref(&c).world.block.coinbase;
    write(&mut c, ptr, v.as_slice())
}

fn block_gas_limit(mut c: C) -> Result<i64, Error> {
    buy_ink(&mut c, hostio::BLOCK_GAS_LIMIT)?;
    Ok(ctx_ref(&c).world.block.gas_limit as i64)
}

fn block_number(mut c: C) -> Result<i64, Error> {
    buy_ink(&mut c, hostio::BLOCK_NUMBER)?;
    Ok(ctx_ref(&c).world.block.number as i64)
}

fn block_timestamp(mut c: C) -> Result<i64, Error> {
    buy_ink(&mut c, hostio::BLOCK_TIMESTAMP)?;
    Ok(ctx_ref(&c).world.block.timestamp as i64)
}

fn chainid(mut c: C) -> Result<i64, Error> {
    buy_ink(&mut c, hostio::CHAIN_ID)?;
    Ok(ctx_ref(&c).world.block.chain_id as i64)
}

fn contract_address(mut c: C, ptr: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::ADDRESS)?;
    let a = acting(&c);
    write(&mut c, ptr, a.as_slice())
}

fn evm_gas_left(mut c: C) -> Result<i64, Error> {
    buy_ink(&mut c, hostio::EVM_GAS_LEFT)?;
    Ok(gas_left(&mut c)? as i64)
}

fn evm_ink_left(mut c: C) -> Result<i64, Error> {
    buy_ink(&mut c, hostio::EVM_INK_LEFT)?;
    Ok(ink_ready(&mut c)? as i64)
}

fn read_u256(c: &C, ptr: i32) -> Result<U256, Error> {
    Ok(U256::from_be_bytes(read_fixed::<32>(c, ptr)?))
}

fn math_div(mut c: C, value: i32, divisor: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::MATH_DIV)?;
    let (a, b) = (read_u256(&c, value)?, read_u256(&c, divisor)?);
    let r = a.checked_div(b).unwrap_or_default();
    write(&mut c, value, &r.to_be_bytes::<32>())
}

fn math_mod(mut c: C, value: i32, modulus: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::MATH_MOD)?;
    let (a, b) = (read_u256(&c, value)?, read_u256(&c, modulus)?);
    let r = a.checked_rem(b).unwrap_or_default();
    write(&mut c, value, &r.to_be_bytes::<32>())
}

fn math_pow(mut c: C, value: i32, exponent: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::MATH_POW)?;
    let a = read_u256(&c, value)?;
    let e = read_fixed::<32>(&c, exponent)?;
    buy_ink(&mut c, pow_price(&e))?;
    let r = a.wrapping_pow(U256::from_be_bytes(e));
    write(&mut c, value, &r.to_be_bytes::<32>())
}

fn math_add_mod(mut c: C, value: i32, addend: i32, modulus: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::MATH_ADD_MOD)?;
    let (a, b, m) = (
        read_u256(&c, value)?,
        read_u256(&c, addend)?,
        read_u256(&c, modulus)?,
    );
    let r = a.add_mod(b, m);
    write(&mut c, value, &r.to_be_bytes::<32>())
}

fn math_mul_mod(mut c: C, value: i32, multiplier: i32, modulus: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::MATH_MUL_MOD)?;
    let (a, b, m) = (
        read_u256(&c, value)?,
        read_u256(&c, multiplier)?,
        read_u256(&c, modulus)?,
    );
    let r = a.mul_mod(b, m);
    write(&mut c, value, &r.to_be_bytes::<32>())
}

fn msg_reentrant(mut c: C) -> Result<i32, Error> {
    buy_ink(&mut c, hostio::MSG_REENTRANT)?;
    Ok(c.data().frame.reentrant as i32)
}

fn msg_sender(mut c: C, ptr: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::MSG_SENDER)?;
    let a = c.data().frame.caller;
    write(&mut c, ptr, a.as_slice())
}

fn msg_value(mut c: C, ptr: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::MSG_VALUE)?;
    let v = c.data().frame.value.to_be_bytes::<32>();
    write(&mut c, ptr, &v)
}

fn native_keccak256(mut c: C, bytes: i32, len: i32, output: i32) -> Result<(), Error> {
    buy_ink(&mut c, keccak_price(len as u32))?;
    let preimage = read(&c, bytes, len as u32)?;
    let digest = keccak256(preimage);
    write(&mut c, output, digest.as_slice())
}

fn tx_gas_price(mut c: C, ptr: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::TX_GAS_PRICE)?;
    let v = ctx_ref(&c).world.tx.gas_price.to_be_bytes::<32>();
    write(&mut c, ptr, &v)
}

fn tx_ink_price(mut c: C) -> Result<i32, Error> {
    buy_ink(&mut c, hostio::TX_INK_PRICE)?;
    Ok(INK_PRICE as i32)
}

fn tx_origin(mut c: C, ptr: i32) -> Result<(), Error> {
    buy_ink(&mut c, hostio::TX_ORIGIN)?;
    let a = ctx_ref(&c).world.tx.origin;
    write(&mut c, ptr, a.as_slice())
}

fn pay_for_memory_grow(mut c: C, pages: i32) -> Result<(), Error> {
    let pages = (pages as u32).min(u16::MAX as u32) as u16;
    if pages == 0 {
        return buy_ink(&mut c, hostio::PAY_FOR_MEMORY_GROW);
    }
    let tx = &mut ctx(&mut c).world.tx;
    let (open, ever) = (tx.pages_open, tx.pages_ever);
    tx.pages_open = open.saturating_add(pages);
    tx.pages_ever = ever.max(tx.pages_open);
    buy_gas(&mut c, pricing::memory_gas(pages, open, ever))
}

fn log_txt(c: C, ptr: i32, len: i32) -> Result<(), Error> {
    let text = read(&c, ptr, len as u32)?;
    eprintln!("[stylus console] {}", String::from_utf8_lossy(&text));
    Ok(())
}

fn log_i32(_c: C, v: i32) -> Result<(), Error> {
    eprintln!("[stylus console] {v}");
    Ok(())
}

fn log_i64(_c: C, v: i64) -> Result<(), Error> {
    eprintln!("[stylus console] {v}");
    Ok(())
}

/// The `vm_hooks` this environment implements.
pub const IMPLEMENTED_HOOKS: &[&str] = &[
    "read_args",
    "write_result",
    "exit_early",
    "storage_load_bytes32",
    "storage_cache_bytes32",
    "storage_flush_cache",
    "transient_load_bytes32",
    "transient_store_bytes32",
    "call_contract",
    "delegate_call_contract",
    "static_call_contract",
    "read_return_data",
    "return_data_size",
    "emit_log",
    "account_balance",
    "account_code",
    "account_code_size",
    "account_codehash",
    "block_basefee",
    "block_coinbase",
    "block_gas_limit",
    "block_number",
    "block_timestamp",
    "chainid",
    "contract_address",
    "evm_gas_left",
    "evm_ink_left",
    "math_div",
    "math_mod",
    "math_pow",
    "math_add_mod",
    "math_mul_mod",
    "msg_reentrant",
    "msg_sender",
    "msg_value",
    "native_keccak256",
    "tx_gas_price",
    "tx_ink_price",
    "tx_origin",
    "pay_for_memory_grow",
];

/// Builds the linker for one module: every implemented hook, plus, for each import this
/// environment does not implement (`create1`, `create2`, anything newer), a stub that stops
/// the transaction with the import's name if the program ever calls it.
pub(crate) fn linker_for(engine: &Engine, module: &Module) -> Result<Linker<FrameData>, String> {
    let mut l = Linker::<FrameData>::new(engine);
    let e = |r: Result<&mut Linker<FrameData>, wasmi::errors::LinkerError>| {
        r.map(|_| ()).map_err(|e| e.to_string())
    };
    let vm = "vm_hooks";
    e(l.func_wrap(vm, "read_args", read_args))?;
    e(l.func_wrap(vm, "write_result", write_result))?;
    e(l.func_wrap(vm, "exit_early", exit_early))?;
    e(l.func_wrap(vm, "storage_load_bytes32", storage_load_bytes32))?;
    e(l.func_wrap(vm, "storage_cache_bytes32", storage_cache_bytes32))?;
    e(l.func_wrap(vm, "storage_flush_cache", storage_flush_cache))?;
    e(l.func_wrap(vm, "transient_load_bytes32", transient_load_bytes32))?;
    e(l.func_wrap(vm, "transient_store_bytes32", transient_store_bytes32))?;
    e(l.func_wrap(vm, "call_contract", call_contract))?;
    e(l.func_wrap(vm, "delegate_call_contract", delegate_call_contract))?;
    e(l.func_wrap(vm, "static_call_contract", static_call_contract))?;
    e(l.func_wrap(vm, "read_return_data", read_return_data))?;
    e(l.func_wrap(vm, "return_data_size", return_data_size))?;
    e(l.func_wrap(vm, "emit_log", emit_log))?;
    e(l.func_wrap(vm, "account_balance", account_balance))?;
    e(l.func_wrap(vm, "account_code", account_code))?;
    e(l.func_wrap(vm, "account_code_size", account_code_size))?;
    e(l.func_wrap(vm, "account_codehash", account_codehash))?;
    e(l.func_wrap(vm, "block_basefee", block_basefee))?;
    e(l.func_wrap(vm, "block_coinbase", block_coinbase))?;
    e(l.func_wrap(vm, "block_gas_limit", block_gas_limit))?;
    e(l.func_wrap(vm, "block_number", block_number))?;
    e(l.func_wrap(vm, "block_timestamp", block_timestamp))?;
    e(l.func_wrap(vm, "chainid", chainid))?;
    e(l.func_wrap(vm, "contract_address", contract_address))?;
    e(l.func_wrap(vm, "evm_gas_left", evm_gas_left))?;
    e(l.func_wrap(vm, "evm_ink_left", evm_ink_left))?;
    e(l.func_wrap(vm, "math_div", math_div))?;
    e(l.func_wrap(vm, "math_mod", math_mod))?;
    e(l.func_wrap(vm, "math_pow", math_pow))?;
    e(l.func_wrap(vm, "math_add_mod", math_add_mod))?;
    e(l.func_wrap(vm, "math_mul_mod", math_mul_mod))?;
    e(l.func_wrap(vm, "msg_reentrant", msg_reentrant))?;
    e(l.func_wrap(vm, "msg_sender", msg_sender))?;
    e(l.func_wrap(vm, "msg_value", msg_value))?;
    e(l.func_wrap(vm, "native_keccak256", native_keccak256))?;
    e(l.func_wrap(vm, "tx_gas_price", tx_gas_price))?;
    e(l.func_wrap(vm, "tx_ink_price", tx_ink_price))?;
    e(l.func_wrap(vm, "tx_origin", tx_origin))?;
    e(l.func_wrap(vm, "pay_for_memory_grow", pay_for_memory_grow))?;
    let console = ["log_txt", "log_i32", "log_i64"];
    e(l.func_wrap("console", "log_txt", log_txt))?;
    e(l.func_wrap("console", "log_i32", log_i32))?;
    e(l.func_wrap("console", "log_i64", log_i64))?;

    for import in module.imports() {
        let (m, name) = (import.module(), import.name());
        let known = (m == vm && IMPLEMENTED_HOOKS.contains(&name))
            || (m == "console" && console.contains(&name));
        if known {
            continue;
        }
        let ExternType::Func(ty) = import.ty() else {
            return Err(format!("import {m}.{name} is not a function"));
        };
        let msg =
            format!("{m}.{name} is not implemented by margin-wasm-env (the program called it)");
        e(
            l.func_new(m, name, ty.clone(), move |_c, _params, _results| {
                Err(trap(HostTrap::Fatal(msg.clone())))
            }),
        )?;
    }
    Ok(l)
}
