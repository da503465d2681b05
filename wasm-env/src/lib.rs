//! # margin-wasm-env
//!
//! A deterministic execution environment for deployable Stylus WASM (Stylus Margin's and
//! any other): it activates the very bytes that go on chain, runs them on `wasmi` (a
//! pure-Rust interpreter), implements the `vm_hooks` host I/Os with the chain's semantics,
//! and meters ink and gas as nitro does. Contracts written in Rust ([`NativeContract`]) stand in for the rest of the
//! world (ERC20s, Chainlink feeds, attackers) at any address.
//!
//! What it gives that motsu does not: real ABI routing of the deployable binary, re-entrancy
//! reverts as on chain, a reverted frame's writes undone, moving block time, and gas numbers.
//!
//! ```no_run
//! use margin_wasm_env::{Env, Address, U256};
//! let mut env = Env::new();
//! let owner = Address::repeat_byte(1);
//! let wasm = std::fs::read("vault.wasm").unwrap();
//! let owner_arg = owner.into_word().to_vec();
//! let vault = env.deploy_wasm(&wasm, Some(&owner_arg), owner).unwrap();
//! let out = env.call(owner, vault, &[0x8d, 0xa5, 0xcb, 0x5b], U256::ZERO); // owner()
//! assert!(out.success);
//! println!("gas used: {}", out.gas_used);
//! ```
//!
//! Generic: nothing here knows Stylus Margin. The project's harness (its contracts deployed
//! and wired, their interfaces, the end-to-end tests and gas benchmarks) is the
//! `margin-harness` crate (`harness/`), built on this one.
//!
//! See `README.md` in this crate for the metering model, its sources and what is
//! approximated.

mod exec;
mod host;
mod instrument;
pub use instrument::set_profiling;
pub mod mocks;
mod native;
pub mod pricing;
mod state;

pub use alloy_primitives::{address, Address, Bytes, Log, LogData, B256, I256, U256};
pub use exec::{CallKind, FrameStatus, FrameTrace};
pub use host::IMPLEMENTED_HOOKS;
pub use instrument::{activate, parse_as_nitro, stylus_features, Activated};
pub use native::{
    address_key, mapping_slot, slot, CallResult, NativeContract, NativeCtx, NativeError,
    NativeResult, NATIVE_BASE_GAS,
};
pub use pricing::ModuleStats;
pub use state::{BlockEnv, TxCosts};

use alloy_sol_types::{SolCall, SolError, SolEvent};
use exec::{CallArgs, Ctx, Program};
use state::Code;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The selector stylus-sdk 0.9 routes to a `#[constructor]`: `keccak256("stylus_constructor()")`.
pub const CONSTRUCTOR_SELECTOR: [u8; 4] = [0x55, 0x85, 0x25, 0x8d];

/// The result of a transaction.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Whether the top-level call succeeded.
    pub success: bool,
    /// How the top-level frame ended.
    pub status: FrameStatus,
    /// Return data, or revert data.
    pub return_data: Vec<u8>,
    /// Logs emitted (empty if the transaction failed).
    pub logs: Vec<Log>,
    /// Gas the transaction pays: intrinsic + execution - refund.
    pub gas_used: u64,
    /// The intrinsic part (21,000 + calldata).
    pub intrinsic_gas: u64,
    /// The refund granted (EIP-3529, at most a fifth of the gas used).
    pub refund: u64,
    /// Every call frame, in the order they started.
    pub trace: Vec<FrameTrace>,
    /// What the transaction paid for: program entries, cold accounts and slots, slot
    /// writes by kind.
    pub costs: TxCosts,
}

impl Outcome {
    /// Gas used by execution alone (before the refund, without the intrinsic gas).
    pub fn execution_gas(&self) -> u64 {
        self.gas_used + self.refund - self.intrinsic_gas
    }

    /// Decodes the return data as `C`'s returns; panics with the outcome if it failed.
    pub fn decode<C: SolCall>(&self) -> C::Return {
        assert!(self.success, "call failed: {self:?}");
        C::abi_decode_returns(&self.return_data, true)
            .unwrap_or_else(|e| panic!("cannot decode the return data: {e}: {self:?}"))
    }

    /// The revert data as the custom error `E`, if it is one.
    pub fn revert_as<E: SolError>(&self) -> Option<E> {
        if self.success {
            return None;
        }
        E::abi_decode(&self.return_data, true).ok()
    }

    /// The logs that decode as event `E`.
    pub fn events<E: SolEvent>(&self) -> Vec<E> {
        self.logs
            .iter()
            .filter_map(|l| E::decode_log_data(&l.data, true).ok())
            .collect()
    }

    /// The logs of event `E` emitted by `emitter`.
    pub fn events_from<E: SolEvent>(&self, emitter: Address) -> Vec<E> {
        self.logs
            .iter()
            .filter(|l| l.address == emitter)
            .filter_map(|l| E::decode_log_data(&l.data, true).ok())
            .collect()
    }
}

/// A deployed program.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub address: Address,
    /// The constructor call, if one was made.
    pub constructor: Option<Outcome>,
}

/// Why a deployment failed.
#[derive(Clone, Debug)]
pub enum DeployError {
    /// Activation rejected the WASM.
    Invalid(String),
    /// The constructor reverted (nothing was deployed).
    ConstructorFailed(Box<Outcome>),
}

impl std::fmt::Display for DeployError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeployError::Invalid(m) => write!(f, "activation failed: {m}"),
            DeployError::ConstructorFailed(o) => write!(f, "constructor failed: {o:?}"),
        }
    }
}

impl std::error::Error for DeployError {}

/// The environment: a single-node chain that mines each transaction in its own block.
pub struct Env {
    engine: wasmi::Engine,
    ctx: Ctx,
    /// Gas limit of each transaction (default 32,000,000, Arbitrum's per-transaction cap).
    pub gas_limit: u64,
    /// Whether each transaction advances the block number by one (default true). The
    /// timestamp moves only through [`Env::set_timestamp`] / [`Env::advance`].
    pub auto_mine: bool,
    last_trace: Vec<FrameTrace>,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    /// A fresh chain at block 1, timestamp 2025-01-01 00:00:00 UTC, chain id 412346.
    pub fn new() -> Self {
        let mut config = wasmi::Config::default();
        config
            .wasm_multi_value(false)
            .wasm_reference_types(false)
            .wasm_tail_call(false)
            .wasm_extended_const(false)
            .wasm_multi_memory(false)
            .wasm_wide_arithmetic(false)
            .compilation_mode(wasmi::CompilationMode::Lazy);
        Env {
            engine: wasmi::Engine::new(&config),
            ctx: Ctx::default(),
            gas_limit: 32_000_000,
            auto_mine: true,
            last_trace: vec![],
        }
    }

    // --- deployment ---------------------------------------------------------------------------

    /// Activates `wasm` (the deployable bytes), deploys it at the next CREATE address of
    /// `from`, and, when `constructor_args` is given, calls its `#[constructor]` with those
    /// ABI-encoded arguments (stylus-sdk's constructor selector is prepended) from `from`.
    pub fn deploy_wasm(
        &mut self,
        wasm: &[u8],
        constructor_args: Option<&[u8]>,
        from: Address,
    ) -> Result<Address, DeployError> {
        self.deploy(wasm, constructor_args, from).map(|d| d.address)
    }

    /// [`Env::deploy_wasm`], also returning the constructor call's outcome.
    pub fn deploy(
        &mut self,
        wasm: &[u8],
        constructor_args: Option<&[u8]>,
        from: Address,
    ) -> Result<Deployment, DeployError> {
        let nonce = self.nonce(from);
        let addr = from.create(nonce);
        self.ctx.world.accounts.entry(from).or_default().nonce = nonce + 1;
        let constructor = self.deploy_wasm_at(addr, wasm, constructor_args, from)?;
        Ok(Deployment {
            address: addr,
            constructor,
        })
    }

    /// Deploys at a chosen address; returns the constructor call's outcome, if one was made.
    /// If the constructor fails, nothing stays deployed.
    pub fn deploy_wasm_at(
        &mut self,
        addr: Address,
        wasm: &[u8],
        constructor_args: Option<&[u8]>,
        from: Address,
    ) -> Result<Option<Outcome>, DeployError> {
        let hash = self.install(wasm).map_err(DeployError::Invalid)?;
        let previous = self.ctx.world.accounts.get(&addr).cloned();
        let acct = self.ctx.world.accounts.entry(addr).or_default();
        acct.code = Code::Wasm(hash);
        acct.nonce = acct.nonce.max(1);
        let Some(args) = constructor_args else {
            return Ok(None);
        };
        let mut data = CONSTRUCTOR_SELECTOR.to_vec();
        data.extend_from_slice(args);
        let out = self.call(from, addr, &data, U256::ZERO);
        if !out.success {
            match previous {
                Some(p) => self.ctx.world.accounts.insert(addr, p),
                None => self.ctx.world.accounts.remove(&addr),
            };
            return Err(DeployError::ConstructorFailed(Box::new(out)));
        }
        Ok(Some(out))
    }

    /// Activates a program and returns its code hash (what activation measured is kept for
    /// pricing its init).
    fn install(&mut self, wasm: &[u8]) -> Result<B256, String> {
        let mut code = vec![0xEF, 0xF0, 0x00, 0x00];
        code.extend_from_slice(wasm);
        let hash = alloy_primitives::keccak256(&code);
        if self.ctx.programs.contains_key(&hash) {
            return Ok(hash);
        }
        let act = instrument::activate(wasm)?;
        let module =
            wasmi::Module::new(&self.engine, &act.wasm).map_err(|e| format!("compiling: {e}"))?;
        let linker = host::linker_for(&self.engine, &module)?;
        self.ctx.programs.insert(
            hash,
            Rc::new(Program {
                module,
                linker,
                stats: act.stats,
                code,
            }),
        );
        Ok(hash)
    }

    /// What activation measured of the program at `addr`.
    pub fn program_stats(&self, addr: Address) -> Option<ModuleStats> {
        match self.ctx.world.code(&addr) {
            Code::Wasm(h) => self.ctx.programs.get(&h).map(|p| p.stats),
            _ => None,
        }
    }

    /// The ArbOS version whose program-entry rules apply: from 60 (the default) a program
    /// already run in the same block is entered at the cached price; below 60 every entry of
    /// a program outside the cache manager pays its full init.
    pub fn set_arbos_version(&mut self, version: u64) {
        self.ctx.world.before_arbos_60 = version < 60;
    }

    /// Puts the program at `addr` in (or out of) the cache manager: a cached program is
    /// entered at the cached init price. By default programs are not cached, and only a
    /// program already run in the same block enters at the cached price (ArbOS 60).
    pub fn set_program_cached(&mut self, addr: Address, cached: bool) {
        if let Code::Wasm(h) = self.ctx.world.code(&addr) {
            if cached {
                self.ctx.world.cached_programs.insert(h);
            } else {
                self.ctx.world.cached_programs.remove(&h);
            }
        }
    }

    /// Places a native contract at `addr` (replacing whatever code was there).
    pub fn register_native(&mut self, addr: Address, contract: Box<dyn NativeContract>) {
        let acct = self.ctx.world.accounts.entry(addr).or_default();
        acct.code = Code::Native(Rc::from(contract));
        acct.nonce = acct.nonce.max(1);
    }

    /// The native contract of type `T` at `addr`, for tests to configure (through its
    /// interior mutability).
    pub fn native<T: NativeContract>(&self, addr: Address) -> Option<Rc<T>> {
        match self.ctx.world.accounts.get(&addr).map(|a| &a.code) {
            Some(Code::Native(n)) => {
                let any: Rc<dyn std::any::Any> = n.clone();
                any.downcast::<T>().ok()
            }
            _ => None,
        }
    }

    // --- transactions -------------------------------------------------------------------------

    /// Sends a transaction from `from` calling `to` with `calldata` and `value` wei, mined in
    /// its own block. Panics if a program called a host I/O this environment does not
    /// implement.
    pub fn call(
        &mut self,
        from: Address,
        to: Address,
        calldata: impl AsRef<[u8]>,
        value: U256,
    ) -> Outcome {
        self.run(from, to, calldata.as_ref(), value, true)
    }

    /// Sends a transaction calling `to` with an ABI call built by alloy's `sol!`.
    pub fn call_sol<C: SolCall>(&mut self, from: Address, to: Address, call: &C) -> Outcome {
        self.call(from, to, call.abi_encode(), U256::ZERO)
    }

    /// Runs a call like `eth_call`: nothing it does persists and no block is mined.
    pub fn view(&mut self, from: Address, to: Address, calldata: impl AsRef<[u8]>) -> Outcome {
        self.run(from, to, calldata.as_ref(), U256::ZERO, false)
    }

    /// `eth_call` of a `sol!` call, decoded; `Err` with the outcome if it failed.
    pub fn view_sol<C: SolCall>(
        &mut self,
        to: Address,
        call: &C,
    ) -> Result<C::Return, Box<Outcome>> {
        let out = self.view(Address::ZERO, to, call.abi_encode());
        if !out.success {
            return Err(Box::new(out));
        }
        C::abi_decode_returns(&out.return_data, true).map_err(|_| Box::new(out))
    }

    fn run(
        &mut self,
        from: Address,
        to: Address,
        calldata: &[u8],
        value: U256,
        commit: bool,
    ) -> Outcome {
        let ctx = &mut self.ctx;
        // An eth_call runs in no block: the programs it runs must not count as recently
        // run (cheaper to enter) for the next transaction.
        let recent = (!commit).then(|| ctx.world.recent_wasms.clone());
        ctx.world.begin_tx(from, to);
        ctx.trace.clear();
        let intrinsic = pricing::intrinsic_gas(calldata);
        let gas_limit = self.gas_limit.max(intrinsic);
        let start = ctx.world.checkpoint();
        if commit {
            ctx.world.accounts.entry(from).or_default().nonce += 1;
        }
        let res = ctx.execute(CallArgs {
            kind: CallKind::Call,
            caller: from,
            acting: to,
            code_address: to,
            transfer: value,
            apparent_value: value,
            input: calldata.to_vec(),
            gas: gas_limit - intrinsic,
            is_static: false,
        });
        if let Some(msg) = ctx.fatal.take() {
            ctx.world.revert_to(start);
            ctx.world.end_tx();
            panic!("margin-wasm-env: {msg}");
        }
        let success = res.status == FrameStatus::Success;
        let used = gas_limit - res.gas_left;
        let refund = if success {
            (ctx.world.tx.refund.max(0) as u64).min(used / pricing::MAX_REFUND_QUOTIENT)
        } else {
            0
        };
        if !commit {
            ctx.world.revert_to(start);
        }
        if let Some(recent) = recent {
            ctx.world.recent_wasms = recent;
        }
        let costs = ctx.world.tx.costs;
        let logs = ctx.world.end_tx();
        let logs = if success && commit { logs } else { vec![] };
        if commit && self.auto_mine {
            self.mine();
        }
        let trace = std::mem::take(&mut self.ctx.trace);
        self.last_trace = trace.clone();
        Outcome {
            success,
            status: res.status,
            return_data: res.output,
            logs,
            gas_used: used - refund,
            intrinsic_gas: intrinsic,
            refund,
            trace,
            costs,
        }
    }

    /// Starts a new block: the block number moves by one (time does not move) and the
    /// block's set of recently run programs empties.
    pub fn mine(&mut self) {
        self.ctx.world.block.number += 1;
        self.ctx.world.recent_wasms.clear();
    }

    /// The frames of the last transaction.
    pub fn last_trace(&self) -> &[FrameTrace] {
        &self.last_trace
    }

    // --- block ----------------------------------------------------------------------------------

    pub fn block(&self) -> &BlockEnv {
        &self.ctx.world.block
    }
    pub fn block_mut(&mut self) -> &mut BlockEnv {
        &mut self.ctx.world.block
    }
    pub fn timestamp(&self) -> u64 {
        self.ctx.world.block.timestamp
    }
    pub fn set_timestamp(&mut self, t: u64) {
        self.ctx.world.block.timestamp = t;
    }
    /// Moves time forward by `secs`.
    pub fn advance(&mut self, secs: u64) {
        self.ctx.world.block.timestamp += secs;
    }
    pub fn block_number(&self) -> u64 {
        self.ctx.world.block.number
    }
    pub fn set_block_number(&mut self, n: u64) {
        self.ctx.world.block.number = n;
    }
    pub fn set_chain_id(&mut self, id: u64) {
        self.ctx.world.block.chain_id = id;
    }

    // --- state ----------------------------------------------------------------------------------

    /// A storage slot of `addr`.
    pub fn storage(&self, addr: Address, key: B256) -> B256 {
        self.ctx.world.sload(&addr, &key)
    }
    /// Writes a storage slot directly (outside any transaction).
    pub fn set_storage(&mut self, addr: Address, key: B256, value: B256) {
        let acct = self.ctx.world.accounts.entry(addr).or_default();
        if value.is_zero() {
            acct.storage.remove(&key);
        } else {
            acct.storage.insert(key, value);
        }
    }
    /// Every non-zero slot of `addr`, sorted by key.
    pub fn storage_of(&self, addr: Address) -> BTreeMap<B256, B256> {
        self.ctx.world.storage_of(&addr)
    }
    pub fn balance(&self, addr: Address) -> U256 {
        self.ctx.world.balance(&addr)
    }
    pub fn set_balance(&mut self, addr: Address, wei: U256) {
        self.ctx.world.accounts.entry(addr).or_default().balance = wei;
    }
    pub fn nonce(&self, addr: Address) -> u64 {
        self.ctx
            .world
            .accounts
            .get(&addr)
            .map(|a| a.nonce)
            .unwrap_or(0)
    }
    /// Whether anything (a program or a native contract) runs at `addr`.
    pub fn has_code(&self, addr: Address) -> bool {
        !matches!(self.ctx.world.code(&addr), Code::None)
    }
}

thread_local! {
    static PROFILE: core::cell::RefCell<std::collections::BTreeMap<(usize, u32), u64>> =
        const { core::cell::RefCell::new(std::collections::BTreeMap::new()) };
}

pub(crate) fn record_profile(code_len: usize, counters: &[(u32, u64)]) {
    PROFILE.with(|p| {
        let mut p = p.borrow_mut();
        for &(i, ink) in counters {
            *p.entry((code_len, i)).or_default() += ink;
        }
    });
}

/// Takes the ink spent per defined function (self cost) since the last call, for the
/// programs activated while [`set_profiling`] was on: `(code length of the
/// program as `account_code` sees it, index among the module's defined functions, ink)`.
pub fn take_profile() -> Vec<(usize, u32, u64)> {
    PROFILE.with(|p| {
        core::mem::take(&mut *p.borrow_mut())
            .into_iter()
            .map(|((c, i), ink)| (c, i, ink))
            .collect()
    })
}
