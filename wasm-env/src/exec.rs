//! Call frames: the EVM side of a call (depth, value, snapshots, re-entrancy bookkeeping) and
//! the running of a Stylus program or a native contract in it.

use crate::host::{FrameData, HostTrap, StorageCache};
use crate::instrument::{INK_LEFT, INK_STATUS};
use crate::native::{NativeContract, NativeCtx, NativeError};
use crate::pricing::*;
use crate::state::{Code, World};
use alloy_primitives::{Address, B256, U256};
use std::collections::HashMap;
use std::rc::Rc;
use wasmi::{Linker, Module, Store, Val};

/// The kind of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    Call,
    Static,
    Delegate,
}

/// How a frame ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameStatus {
    /// Returned normally.
    Success,
    /// Reverted with data (the program returned status 1, or a native reverted); remaining
    /// gas goes back to the caller.
    Revert,
    /// The program trapped (a Rust panic is `unreachable`), or a host I/O failed: nitro's
    /// `userFailure`, a revert with no data that keeps the remaining gas.
    Failure,
    /// Out of ink / gas: everything given to the frame is consumed.
    OutOfGas,
    /// An exceptional halt other than out of gas (write protection, call depth, insufficient
    /// balance for the value): no data.
    Halt,
    /// The environment could not run the frame (an unimplemented host I/O): the test fails.
    Fatal,
}

/// The identity of a running frame.
#[derive(Clone, Debug)]
#[allow(dead_code)] // kind and code_address are kept for debugging
pub(crate) struct Frame {
    pub kind: CallKind,
    /// `contract_address`: whose storage, logs and balance the frame uses.
    pub acting: Address,
    /// Whose code runs (differs from `acting` in a delegate call).
    pub code_address: Address,
    /// `msg.sender`.
    pub caller: Address,
    /// `msg.value`.
    pub value: U256,
    pub is_static: bool,
    pub reentrant: bool,
}

/// A call to make.
#[derive(Clone, Debug)]
pub(crate) struct CallArgs {
    pub kind: CallKind,
    pub caller: Address,
    pub acting: Address,
    pub code_address: Address,
    /// Value moved (calls only).
    pub transfer: U256,
    /// `msg.value` seen by the callee.
    pub apparent_value: U256,
    pub input: Vec<u8>,
    pub gas: u64,
    pub is_static: bool,
}

impl CallArgs {
    /// The arguments of a call made by `parent`.
    pub fn child(
        parent: &Frame,
        kind: CallKind,
        to: Address,
        input: Vec<u8>,
        value: U256,
        gas: u64,
    ) -> Self {
        match kind {
            CallKind::Call => CallArgs {
                kind,
                caller: parent.acting,
                acting: to,
                code_address: to,
                transfer: value,
                apparent_value: value,
                input,
                gas,
                is_static: parent.is_static,
            },
            CallKind::Static => CallArgs {
                kind,
                caller: parent.acting,
                acting: to,
                code_address: to,
                transfer: U256::ZERO,
                apparent_value: U256::ZERO,
                input,
                gas,
                is_static: true,
            },
            CallKind::Delegate => CallArgs {
                kind,
                caller: parent.caller,
                acting: parent.acting,
                code_address: to,
                transfer: U256::ZERO,
                apparent_value: parent.value,
                input,
                gas,
                is_static: parent.is_static,
            },
        }
    }
}

/// How a frame ended, with its output and the gas it left.
#[derive(Clone, Debug)]
pub(crate) struct FrameResult {
    pub status: FrameStatus,
    pub output: Vec<u8>,
    pub gas_left: u64,
}

impl FrameResult {
    fn new(status: FrameStatus, output: Vec<u8>, gas_left: u64) -> Self {
        FrameResult {
            status,
            output,
            gas_left,
        }
    }
}

/// One frame of a transaction's call tree, for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameTrace {
    /// 1 for the transaction's own call.
    pub depth: usize,
    pub kind: CallKind,
    pub caller: Address,
    /// The address whose code ran.
    pub to: Address,
    /// The first 4 bytes of the calldata (zero if shorter).
    pub selector: [u8; 4],
    /// Gas given to the frame.
    pub gas_given: u64,
    /// Gas the frame used (including the program's entry cost).
    pub gas_used: u64,
    pub status: FrameStatus,
    /// Whether the callee saw itself re-entered (`msg_reentrant`).
    pub reentrant: bool,
}

/// An activated program.
pub(crate) struct Program {
    pub module: Module,
    pub linker: Linker<FrameData>,
    pub stats: ModuleStats,
    /// What `account_code` sees: the Stylus prefix `EFF00000` and the (uncompressed) WASM.
    pub code: Vec<u8>,
}

/// Everything a frame can reach. It is moved into the store of the running program and moved
/// back out when the program returns, so exactly one frame owns it at any time.
#[derive(Default)]
pub(crate) struct Ctx {
    pub world: World,
    pub programs: HashMap<B256, Rc<Program>>,
    /// Set when a frame hit something the environment cannot run; every frame then fails and
    /// the transaction panics with this message.
    pub fatal: Option<String>,
    pub trace: Vec<FrameTrace>,
}

impl Ctx {
    /// Runs a call frame as the EVM would: depth and balance checks, value transfer, a
    /// snapshot undone on failure, re-entrancy bookkeeping, then the code.
    pub fn execute(&mut self, a: CallArgs) -> FrameResult {
        if self.fatal.is_some() {
            return FrameResult::new(FrameStatus::Fatal, vec![], 0);
        }
        if self.world.tx.depth >= CALL_DEPTH_LIMIT {
            return FrameResult::new(FrameStatus::Halt, vec![], a.gas);
        }
        if a.kind == CallKind::Call && self.world.balance(&a.caller) < a.transfer {
            return FrameResult::new(FrameStatus::Halt, vec![], a.gas);
        }
        let cp = self.world.checkpoint();
        if a.kind == CallKind::Call {
            self.world.transfer(a.caller, a.acting, a.transfer);
        }

        let counted = a.kind != CallKind::Delegate;
        if counted {
            *self.world.tx.frames.entry(a.acting).or_default() += 1;
        }
        let reentrant = self.world.tx.frames.get(&a.acting).copied().unwrap_or(0) > 1;
        let frame = Frame {
            kind: a.kind,
            acting: a.acting,
            code_address: a.code_address,
            caller: a.caller,
            value: a.apparent_value,
            is_static: a.is_static,
            reentrant,
        };
        let mut selector = [0u8; 4];
        if a.input.len() >= 4 {
            selector.copy_from_slice(&a.input[..4]);
        }
        self.world.tx.depth += 1;
        let depth = self.world.tx.depth;
        let trace_index = self.trace.len();
        self.trace.push(FrameTrace {
            depth,
            kind: a.kind,
            caller: a.caller,
            to: a.code_address,
            selector,
            gas_given: a.gas,
            gas_used: 0,
            status: FrameStatus::Success,
            reentrant,
        });

        let mut res = match self.world.code(&a.code_address) {
            Code::None => FrameResult::new(FrameStatus::Success, vec![], a.gas),
            Code::Wasm(hash) => match self.programs.get(&hash).cloned() {
                Some(p) => self.run_wasm(&p, hash, frame, a.input, a.gas),
                None => {
                    self.fatal = Some(format!("no program with code hash {hash}"));
                    FrameResult::new(FrameStatus::Fatal, vec![], 0)
                }
            },
            Code::Native(n) => self.run_native(n, frame, &a.input, a.gas),
        };

        self.world.tx.depth -= 1;
        if counted {
            if let Some(c) = self.world.tx.frames.get_mut(&a.acting) {
                *c -= 1;
                if *c == 0 {
                    self.world.tx.frames.remove(&a.acting);
                }
            }
        }
        if self.fatal.is_some() {
            res.status = FrameStatus::Fatal;
        }
        if res.status != FrameStatus::Success {
            self.world.revert_to(cp);
            if matches!(
                res.status,
                FrameStatus::OutOfGas | FrameStatus::Halt | FrameStatus::Fatal
            ) {
                res.gas_left = 0;
                res.output.clear();
            }
        }
        let t = &mut self.trace[trace_index];
        t.gas_used = a.gas.saturating_sub(res.gas_left);
        t.status = res.status;
        res
    }

    #[allow(clippy::too_many_arguments)]
    /// A call made by a program through `call_contract` & co (nitro's `doCall`): returns the
    /// return data, the gas to charge the caller and whether the call succeeded.
    pub fn program_call(
        &mut self,
        parent: &Frame,
        kind: CallKind,
        to: Address,
        input: Vec<u8>,
        gas_left: u64,
        gas_req: u64,
        value: U256,
    ) -> (Vec<u8>, u64, bool) {
        if parent.is_static && !value.is_zero() {
            return (vec![], 0, false);
        }
        let base = self.world.call_base_cost(to, value);
        if base > gas_left {
            return (vec![], gas_left, false);
        }
        let start_gas = (gas_left - base) * 63 / 64;
        let mut gas = start_gas.min(gas_req);
        if !value.is_zero() {
            gas = gas.saturating_add(CALL_STIPEND);
        }
        let res = self.execute(CallArgs::child(parent, kind, to, input, value, gas));
        let cost = base.saturating_add(gas.saturating_sub(res.gas_left));
        (res.output, cost, res.status == FrameStatus::Success)
    }

    fn run_native(
        &mut self,
        n: Rc<dyn NativeContract>,
        frame: Frame,
        input: &[u8],
        gas: u64,
    ) -> FrameResult {
        let base = n.base_gas();
        if gas < base {
            return FrameResult::new(FrameStatus::OutOfGas, vec![], 0);
        }
        let mut nctx = NativeCtx {
            ctx: self,
            frame,
            gas: gas - base,
            return_data: vec![],
        };
        let out = n.call(&mut nctx, input);
        let gas_left = nctx.gas;
        match out {
            Ok(data) => FrameResult::new(FrameStatus::Success, data, gas_left),
            Err(NativeError::Revert(data)) => FrameResult::new(FrameStatus::Revert, data, gas_left),
            Err(NativeError::OutOfGas) => FrameResult::new(FrameStatus::OutOfGas, vec![], 0),
            Err(NativeError::Halt(_)) => FrameResult::new(FrameStatus::Halt, vec![], 0),
        }
    }

    /// Runs a Stylus program (nitro's `CallProgram` and the user entrypoint).
    fn run_wasm(
        &mut self,
        prog: &Rc<Program>,
        hash: B256,
        frame: Frame,
        input: Vec<u8>,
        gas: u64,
    ) -> FrameResult {
        let starting_gas = gas;

        // Entry cost: the program's memory footprint, then its init.
        let (open, ever) = (self.world.tx.pages_open, self.world.tx.pages_ever);
        let footprint = prog.stats.footprint;
        let mut cost = memory_gas(footprint, open, ever);
        let cached =
            self.world.cached_programs.contains(&hash) | self.world.touch_recent_wasm(hash);
        cost = cost.saturating_add(prog.stats.cached_gas());
        if !cached {
            cost = cost.saturating_add(prog.stats.init_gas());
        }
        let counted = &mut self.world.tx.costs;
        counted.entries += 1;
        counted.entries_uncached += u32::from(!cached);
        counted.entry_gas = counted.entry_gas.saturating_add(cost);
        if gas < cost {
            return FrameResult::new(FrameStatus::OutOfGas, vec![], 0);
        }
        let gas = gas - cost;
        self.world.tx.pages_open = open.saturating_add(footprint);
        self.world.tx.pages_ever = self.world.tx.pages_ever.max(self.world.tx.pages_open);

        let args_len = input.len();
        let data = FrameData {
            ctx: Some(Box::new(std::mem::take(self))),
            frame,
            args: input,
            outs: vec![],
            return_data: vec![],
            cache: StorageCache::default(),
            ink: None,
            status: None,
            memory: None,
        };
        let mut store = Store::new(prog.module.engine(), data);
        let result = Self::enter(&mut store, prog, args_len, gas);
        *self = *store
            .data_mut()
            .ctx
            .take()
            .expect("the context comes back from the frame");
        self.world.tx.pages_open = open;

        let (ink, status) = (store.data().ink, store.data().status);
        let (ink_left, out_of_ink) = match (ink, status) {
            (Some(ink), Some(status)) => {
                let ink_left = ink.get(&store).i64().unwrap_or(0) as u64;
                let status = status.get(&store).i32().unwrap_or(0);
                (ink_left, status != 0)
            }
            _ => (0, false),
        };
        let outs = std::mem::take(&mut store.data_mut().outs);
        let gas_left = ink_left / INK_PRICE;

        let (status, output, gas_left) = match result {
            _ if self.fatal.is_some() => (FrameStatus::Fatal, vec![], 0),
            _ if out_of_ink => (FrameStatus::OutOfGas, vec![], 0),
            Ok(0) => (FrameStatus::Success, outs, gas_left),
            Ok(1) => (FrameStatus::Revert, outs, gas_left),
            Ok(_) => (FrameStatus::Failure, vec![], gas_left),
            Err(e) => match e.downcast_ref::<HostTrap>() {
                Some(HostTrap::OutOfInk) => (FrameStatus::OutOfGas, vec![], 0),
                Some(HostTrap::Exit(0)) => (FrameStatus::Success, outs, gas_left),
                Some(HostTrap::Exit(_)) => (FrameStatus::Revert, outs, gas_left),
                Some(HostTrap::Failure(_)) => (FrameStatus::Failure, vec![], gas_left),
                Some(HostTrap::Fatal(msg)) => {
                    self.fatal.get_or_insert_with(|| msg.clone());
                    (FrameStatus::Fatal, vec![], 0)
                }
                // a wasm trap: unreachable (a panic), an out-of-bounds access, ...
                None => (FrameStatus::Failure, vec![], gas_left),
            },
        };

        // Return data costs at least what EVM memory for it would (ArbOS Stylus fixes).
        if !output.is_empty() {
            let floor = evm_memory_cost(output.len() as u64);
            if starting_gas < floor {
                return FrameResult::new(FrameStatus::OutOfGas, vec![], 0);
            }
            return FrameResult::new(status, output, gas_left.min(starting_gas - floor));
        }
        FrameResult::new(status, output, gas_left)
    }

    /// Instantiates the program and calls `user_entrypoint(len)` with `gas` worth of ink.
    fn enter(
        store: &mut Store<FrameData>,
        prog: &Program,
        args_len: usize,
        gas: u64,
    ) -> Result<i32, wasmi::Error> {
        let instance = prog
            .linker
            .instantiate_and_start(&mut *store, &prog.module)
            .map_err(|e| {
                wasmi::Error::host(HostTrap::Fatal(format!(
                    "instantiating the program failed: {e}"
                )))
            })?;
        let ink = instance
            .get_global(&*store, INK_LEFT)
            .expect("instrumented: ink global");
        let status = instance
            .get_global(&*store, INK_STATUS)
            .expect("instrumented: status global");
        let memory = instance
            .get_memory(&*store, "memory")
            .expect("checked at activation: memory export");
        ink.set(
            &mut *store,
            Val::I64(gas.saturating_mul(INK_PRICE).min(i64::MAX as u64) as i64),
        )
        .expect("ink global is a mutable i64");
        let data = store.data_mut();
        data.ink = Some(ink);
        data.status = Some(status);
        data.memory = Some(memory);
        let entry = instance
            .get_typed_func::<i32, i32>(&*store, "user_entrypoint")
            .expect("checked at activation: user_entrypoint");
        let out = entry.call(&mut *store, args_len as i32);
        if !crate::instrument::profiling() {
            return out;
        }
        // Profiling (instrument::set_profiling): add the per-function counters up.
        let counters: Vec<(u32, u64)> = instance
            .exports(&*store)
            .filter_map(|e| {
                let i = e.name().strip_prefix(crate::instrument::PROFILE_PREFIX)?;
                let i: u32 = i.parse().ok()?;
                match e.into_global()?.get(&*store) {
                    Val::I64(v) => Some((i, v as u64)),
                    _ => None,
                }
            })
            .collect();
        if !counters.is_empty() {
            crate::record_profile(prog.code.len(), &counters);
        }
        out
    }
}
