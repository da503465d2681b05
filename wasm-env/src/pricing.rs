//! Every price this environment charges, with where it comes from.
//!
//! Sources (OffchainLabs/nitro, read in 2026; the chain owner can change the Stylus parameters,
//! these are the defaults):
//! - `crates/prover/src/programs/meter.rs` (`pricing_v1`): the ink of each WASM opcode.
//! - `crates/prover/src/programs/config.rs` (`CompileConfig::version(1..=3)`): the ink header
//!   of each basic block (2,450) and the per-byte ink of `memory.fill` / `memory.copy` (100).
//! - `crates/arbutil/src/operator.rs` (`ends_basic_block`): where a metered block ends.
//! - `crates/arbutil/src/pricing.rs`: `HOSTIO_INK`, `PTR_INK`, `EVM_API_INK`, `read_price`,
//!   `write_price`, `keccak_price`, and the base ink of every hostio.
//! - `crates/arbutil/src/evm/storage.rs`: the storage cache's read/write surcharges.
//! - `arbos/programs/params.go`: ink price, free pages, page gas, init-gas parameters.
//! - `arbos/programs/memory.go`: the memory model and its exponent table.
//! - the activation code of `crates/prover` (`WasmBinary::instrument`): the init and cached-init
//!   cost of a program from its functions, types, size, globals, data and footprint.
//! - go-ethereum (`params/protocol_params.go`, `core/vm/operations_acl.go`, `gas_table.go`):
//!   EIP-2929 access costs, EIP-2200/3529 SSTORE pricing and refunds, call value costs, logs,
//!   intrinsic transaction gas (EIP-2028).
//!
//! The numbers are data; the code that applies them in this crate is our own.

use wasmparser::Operator;

// ---------------------------------------------------------------------------------------------
// Units and Stylus parameters (arbos/programs/params.go)
// ---------------------------------------------------------------------------------------------

/// Ink per gas (`initialInkPrice`): 10,000 ink = 1 gas.
pub const INK_PRICE: u64 = 10_000;
/// Pages every transaction gets for free (`InitialFreePages`).
pub const FREE_PAGES: u16 = 2;
/// Linear gas per page beyond the free ones (`InitialPageGas`).
pub const PAGE_GAS: u64 = 1_000;
/// Most pages a program may start with (`initialPageLimit`).
pub const PAGE_LIMIT: u16 = 128;
/// The Stylus version programs are activated at (ArbOS 31 and later: 2).
pub const STYLUS_VERSION: u16 = 2;
/// Stylus version 2 init gas: `v2MinInitGas` (69) x `MinInitGasUnits` (128) = 8,832 gas.
pub const MIN_INIT_GAS: u64 = 69 * 128;
/// Cached init gas: `initialMinCachedGas` (11) x `MinCachedGasUnits` (32) = 352 gas.
pub const MIN_CACHED_INIT_GAS: u64 = 11 * 32;
/// `initialInitCostScalar` / `initialCachedCostScalar` (50) x `CostScalarPercent` (2) = 100%.
pub const INIT_COST_SCALAR_PERCENT: u64 = 50 * 2;
/// Programs a block remembers as recently used (`initialRecentCacheSize`, ArbOS 60+).
pub const BLOCK_CACHE_SIZE: usize = 32;
/// Max decompressed WASM size (`initialMaxWasmSize`).
pub const MAX_WASM_SIZE: usize = 128 * 1024;

// ---------------------------------------------------------------------------------------------
// Metering of WASM code (crates/prover/src/programs/{meter,config,dynamic}.rs)
// ---------------------------------------------------------------------------------------------

/// Ink charged by the check at the head of every basic block (`ink_header_cost`).
pub const INK_HEADER_COST: u64 = 2_450;
/// Per-byte ink of `memory.fill` (`memory_fill_ink` = 800 / 8).
pub const MEMORY_FILL_INK: u64 = 800 / 8;
/// Per-byte ink of `memory.copy` (`memory_copy_ink` = 800 / 8).
pub const MEMORY_COPY_INK: u64 = 800 / 8;

/// Whether `op` ends a metered basic block (`OperatorInfo::ends_basic_block`).
pub fn ends_basic_block(op: &Operator) -> bool {
    use Operator::*;
    matches!(
        op,
        End | Else
            | Return
            | Loop { .. }
            | Br { .. }
            | BrTable { .. }
            | BrIf { .. }
            | If { .. }
            | Call { .. }
            | CallIndirect { .. }
    )
}

/// The ink of one opcode (`pricing_v1`). `param_count(type_index)` gives the number of
/// parameters of a function type, for `call_indirect`. Unsupported opcodes (floats, SIMD,
/// atomics, reference types, exceptions, tables...) cost `u64::MAX`: a block holding one can
/// never be paid for, exactly as on chain.
pub fn opcode_ink(op: &Operator, param_count: &dyn Fn(u32) -> u64) -> u64 {
    use Operator::*;
    match op {
        Unreachable | Return => 1,
        Nop | I32Const { .. } | I64Const { .. } => 1,
        Drop => 9,
        Block { .. } | Loop { .. } | Else | End => 1,
        Br { .. } | BrIf { .. } | If { .. } => 765,
        Select => 1_250,
        Call { .. } => 3_800,
        LocalGet { .. } | LocalTee { .. } => 75,
        LocalSet { .. } => 210,
        GlobalGet { .. } => 225,
        GlobalSet { .. } => 575,
        I32Load { .. }
        | I32Load8S { .. }
        | I32Load8U { .. }
        | I32Load16S { .. }
        | I32Load16U { .. } => 670,
        I64Load { .. }
        | I64Load8S { .. }
        | I64Load8U { .. }
        | I64Load16S { .. }
        | I64Load16U { .. }
        | I64Load32S { .. }
        | I64Load32U { .. } => 680,
        I32Store { .. } | I32Store8 { .. } | I32Store16 { .. } => 825,
        I64Store { .. } | I64Store8 { .. } | I64Store16 { .. } | I64Store32 { .. } => 950,
        MemorySize { .. } => 3_000,
        MemoryGrow { .. } => 8_050, // the pages are paid by pay_for_memory_grow

        I32Eqz | I32Eq | I32Ne | I32LtS | I32LtU | I32GtS | I32GtU | I32LeS | I32LeU | I32GeS
        | I32GeU => 170,
        I64Eqz | I64Eq | I64Ne | I64LtS | I64LtU | I64GtS | I64GtU | I64LeS | I64LeU | I64GeS
        | I64GeU => 225,

        I32Clz | I32Ctz => 210,
        I32Add | I32Sub => 70,
        I32Mul => 160,
        I32DivS | I32DivU | I32RemS | I32RemU => 1_120,
        I32And | I32Or | I32Xor | I32Shl | I32ShrS | I32ShrU | I32Rotl | I32Rotr => 70,

        I64Clz | I64Ctz => 210,
        I64Add | I64Sub => 100,
        I64Mul => 160,
        I64DivS | I64DivU | I64RemS | I64RemU => 1_270,
        I64And | I64Or | I64Xor | I64Shl | I64ShrS | I64ShrU | I64Rotl | I64Rotr => 100,

        I32Popcnt => 2_650,
        I64Popcnt => 6_000,

        I32WrapI64 | I64ExtendI32S | I64ExtendI32U => 100,
        I32Extend8S | I32Extend16S | I64Extend8S | I64Extend16S | I64Extend32S => 100,
        MemoryCopy { .. } | MemoryFill { .. } => 950,

        BrTable { targets } => 2_400 + 325 * targets.len() as u64,
        CallIndirect { type_index, .. } => 13_610 + 650 * param_count(*type_index),

        _ => u64::MAX,
    }
}

// ---------------------------------------------------------------------------------------------
// Host I/O (crates/arbutil/src/pricing.rs, crates/arbutil/src/evm/storage.rs)
// ---------------------------------------------------------------------------------------------

/// For hostios that may return something.
pub const HOSTIO_INK: u64 = 8_400;
/// For each pointer a hostio takes (13,440 - HOSTIO_INK).
pub const PTR_INK: u64 = 13_440 - HOSTIO_INK;
/// For hostios that make a request of the EVM side.
pub const EVM_API_INK: u64 = 59_673;
/// `math_div` / `math_mod`.
pub const DIV_INK: u64 = 20_000;
/// `math_mul_mod`.
pub const MUL_MOD_INK: u64 = 24_100;
/// `math_add_mod`.
pub const ADD_MOD_INK: u64 = 21_000;

/// Base ink of each hostio (`pricing::hostio`).
pub mod hostio {
    use super::{ADD_MOD_INK, DIV_INK, EVM_API_INK, HOSTIO_INK, MUL_MOD_INK, PTR_INK};
    pub const READ_ARGS: u64 = HOSTIO_INK;
    pub const WRITE_RESULT: u64 = HOSTIO_INK;
    pub const STORAGE_LOAD: u64 = HOSTIO_INK + 2 * PTR_INK;
    pub const STORAGE_CACHE: u64 = HOSTIO_INK + 2 * PTR_INK;
    pub const STORAGE_FLUSH: u64 = HOSTIO_INK + EVM_API_INK;
    pub const TRANSIENT_LOAD: u64 = HOSTIO_INK + 2 * PTR_INK + EVM_API_INK;
    pub const TRANSIENT_STORE: u64 = HOSTIO_INK + 2 * PTR_INK + EVM_API_INK;
    pub const CALL_CONTRACT: u64 = HOSTIO_INK + 3 * PTR_INK + EVM_API_INK;
    pub const READ_RETURN_DATA: u64 = HOSTIO_INK + EVM_API_INK;
    pub const RETURN_DATA_SIZE: u64 = HOSTIO_INK;
    pub const EMIT_LOG: u64 = HOSTIO_INK + EVM_API_INK;
    pub const ACCOUNT_BALANCE: u64 = HOSTIO_INK + 2 * PTR_INK + EVM_API_INK;
    pub const ACCOUNT_CODE: u64 = HOSTIO_INK + EVM_API_INK;
    pub const ACCOUNT_CODE_SIZE: u64 = HOSTIO_INK + EVM_API_INK;
    pub const ACCOUNT_CODE_HASH: u64 = HOSTIO_INK + 2 * PTR_INK + EVM_API_INK;
    pub const BLOCK_BASEFEE: u64 = HOSTIO_INK + PTR_INK;
    pub const BLOCK_COINBASE: u64 = HOSTIO_INK + PTR_INK;
    pub const BLOCK_GAS_LIMIT: u64 = HOSTIO_INK;
    pub const BLOCK_NUMBER: u64 = HOSTIO_INK;
    pub const BLOCK_TIMESTAMP: u64 = HOSTIO_INK;
    pub const CHAIN_ID: u64 = HOSTIO_INK;
    pub const ADDRESS: u64 = HOSTIO_INK + PTR_INK;
    pub const EVM_GAS_LEFT: u64 = HOSTIO_INK;
    pub const EVM_INK_LEFT: u64 = HOSTIO_INK;
    pub const MATH_DIV: u64 = HOSTIO_INK + 3 * PTR_INK + DIV_INK;
    pub const MATH_MOD: u64 = HOSTIO_INK + 3 * PTR_INK + DIV_INK;
    pub const MATH_POW: u64 = HOSTIO_INK + 3 * PTR_INK;
    pub const MATH_ADD_MOD: u64 = HOSTIO_INK + 4 * PTR_INK + ADD_MOD_INK;
    pub const MATH_MUL_MOD: u64 = HOSTIO_INK + 4 * PTR_INK + MUL_MOD_INK;
    pub const MSG_REENTRANT: u64 = HOSTIO_INK;
    pub const MSG_SENDER: u64 = HOSTIO_INK + PTR_INK;
    pub const MSG_VALUE: u64 = HOSTIO_INK + PTR_INK;
    pub const TX_GAS_PRICE: u64 = HOSTIO_INK + PTR_INK;
    pub const TX_INK_PRICE: u64 = HOSTIO_INK;
    pub const TX_ORIGIN: u64 = HOSTIO_INK + PTR_INK;
    pub const PAY_FOR_MEMORY_GROW: u64 = HOSTIO_INK;
}

/// Ink to copy `bytes` from the program into the host.
pub fn read_price(bytes: u32) -> u64 {
    16_381u64.saturating_add(55u64.saturating_mul(bytes.saturating_sub(32) as u64))
}

/// Ink to copy `bytes` from the host into the program.
pub fn write_price(bytes: u32) -> u64 {
    5_040u64.saturating_add(30u64.saturating_mul(bytes.saturating_sub(32) as u64))
}

/// Ink of `native_keccak256` over `bytes` (I/O included).
pub fn keccak_price(bytes: u32) -> u64 {
    let words = (bytes as u64).div_ceil(32).saturating_sub(2);
    121_800u64.saturating_add(21_000u64.saturating_mul(words))
}

/// Ink of `math_pow` for an exponent (in addition to its base).
pub fn pow_price(exponent: &[u8; 32]) -> u64 {
    let zeros = exponent.iter().take_while(|b| **b == 0).count() as u64;
    3_000 + (33 - zeros) * 17_500
}

/// Gas a cache miss of `storage_load_bytes32` adds for the request to the EVM side
/// (`ink_to_gas(EVM_API_INK)`, ArbOS with the Stylus charging fixes).
pub const EVM_API_GAS: u64 = EVM_API_INK / INK_PRICE;
/// Gas `storage_load_bytes32` / `storage_cache_bytes32` must have before accessing the cache.
pub const STORAGE_CACHE_REQUIRED_ACCESS_GAS: u64 = 10;

/// Surcharge of the n-th storage read of one program call (1-based).
pub fn storage_read_surcharge(n: usize) -> u64 {
    match n {
        0..=32 => 0,
        33..=128 => 2,
        _ => 10,
    }
}

/// Surcharge of the n-th storage write into the cache of one program call (1-based).
pub fn storage_write_surcharge(n: usize) -> u64 {
    match n {
        0..=8 => 0,
        9..=64 => 7,
        _ => 10,
    }
}

// ---------------------------------------------------------------------------------------------
// EVM gas (go-ethereum params)
// ---------------------------------------------------------------------------------------------

/// EIP-2929 cold SLOAD.
pub const COLD_SLOAD_GAS: u64 = 2_100;
/// EIP-2929 cold account access.
pub const COLD_ACCOUNT_GAS: u64 = 2_600;
/// EIP-2929 warm read.
pub const WARM_READ_GAS: u64 = 100;
/// EIP-2200 zero to non-zero store.
pub const SSTORE_SET_GAS: u64 = 20_000;
/// EIP-2200 non-zero store (EIP-2929 form: 5,000 - 2,100).
pub const SSTORE_RESET_GAS: u64 = 5_000 - COLD_SLOAD_GAS;
/// EIP-3529 refund for clearing a slot.
pub const SSTORE_CLEARS_REFUND: i64 = 4_800;
/// EIP-2200 sentry: a store needs more than this much gas left.
pub const SSTORE_SENTRY_GAS: u64 = 2_300;
/// Value-bearing call.
pub const CALL_VALUE_GAS: u64 = 9_000;
/// Value-bearing call to an empty account.
pub const CALL_NEW_ACCOUNT_GAS: u64 = 25_000;
/// Stipend given to the callee of a value-bearing call.
pub const CALL_STIPEND: u64 = 2_300;
/// LOG base and per-topic gas.
pub const LOG_TOPIC_GAS: u64 = 375;
/// LOG per data byte.
pub const LOG_DATA_GAS: u64 = 8;
/// Extra cost of reading an account's code (`MaxCodeSize / DefaultMaxCodeSize * 700`).
pub const EXTCODE_GAS: u64 = 700;
/// Transaction base gas.
pub const TX_GAS: u64 = 21_000;
/// EIP-2028 calldata gas.
pub const TX_DATA_ZERO_GAS: u64 = 4;
pub const TX_DATA_NON_ZERO_GAS: u64 = 16;
/// EIP-150 call depth limit.
pub const CALL_DEPTH_LIMIT: usize = 1_024;
/// EVM memory gas (for the return-data floor of a Stylus call).
pub const MEMORY_GAS: u64 = 3;
pub const QUAD_COEFF_DIV: u64 = 512;
/// EIP-3529: refunds are capped at gas used / 5.
pub const MAX_REFUND_QUOTIENT: u64 = 5;

/// Intrinsic gas of a call transaction with this calldata (EIP-2028; no access list).
pub fn intrinsic_gas(calldata: &[u8]) -> u64 {
    let zeros = calldata.iter().filter(|b| **b == 0).count() as u64;
    let non_zeros = calldata.len() as u64 - zeros;
    TX_GAS + zeros * TX_DATA_ZERO_GAS + non_zeros * TX_DATA_NON_ZERO_GAS
}

/// EVM memory cost of `size` bytes: a Stylus call's return data costs at least this
/// (`evmMemoryCost` in arbos/programs/programs.go).
pub fn evm_memory_cost(size: u64) -> u64 {
    let words = size.div_ceil(32);
    words * MEMORY_GAS + words * words / QUAD_COEFF_DIV
}

// ---------------------------------------------------------------------------------------------
// Memory model (arbos/programs/memory.go)
// ---------------------------------------------------------------------------------------------

const MEMORY_EXPONENTS: [u32; 129] = [
    1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 5, 6, 7, 8, 9, 11, 12, 14, 17, 19, 22, 25, 29, 33, 38,
    43, 50, 57, 65, 75, 85, 98, 112, 128, 147, 168, 193, 221, 253, 289, 331, 379, 434, 497, 569,
    651, 745, 853, 976, 1117, 1279, 1463, 1675, 1917, 2194, 2511, 2874, 3290, 3765, 4309, 4932,
    5645, 6461, 7395, 8464, 9687, 11087, 12689, 14523, 16621, 19024, 21773, 24919, 28521, 32642,
    37359, 42758, 48938, 56010, 64104, 73368, 83971, 96106, 109994, 125890, 144082, 164904, 188735,
    216010, 247226, 282953, 323844, 370643, 424206, 485509, 555672, 635973, 727880, 833067, 953456,
    1091243, 1248941, 1429429, 1636000, 1872423, 2143012, 2452704, 2807151, 3212820, 3677113,
    4208502, 4816684, 5512756, 6309419, 7221210, 8264766, 9459129, 10826093, 12390601, 14181199,
    16230562, 18576084, 21260563, 24332984, 27849408, 31873999,
];

fn memory_exp(pages: u16) -> u64 {
    MEMORY_EXPONENTS
        .get(pages as usize)
        .map(|x| *x as u64)
        .unwrap_or(u64::MAX)
}

/// Gas of opening `new` pages while `open` are open in the transaction and `ever` were at
/// most open at once (`MemoryModel.GasCost`).
pub fn memory_gas(new: u16, open: u16, ever: u16) -> u64 {
    let new_open = open.saturating_add(new);
    let new_ever = ever.max(new_open);
    if new_ever <= FREE_PAGES {
        return 0;
    }
    let sub_free = |p: u16| p.saturating_sub(FREE_PAGES);
    let adding = sub_free(new_open).saturating_sub(sub_free(open));
    let linear = (adding as u64).saturating_mul(PAGE_GAS);
    let expand = memory_exp(new_ever).saturating_sub(memory_exp(ever));
    linear.saturating_add(expand)
}

// ---------------------------------------------------------------------------------------------
// Program init (activation estimates, arbos/programs/programs.go)
// ---------------------------------------------------------------------------------------------

/// What activation measures of a module to price its init.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModuleStats {
    /// Functions defined by the module (code bodies).
    pub funcs: u64,
    /// Sum over defined functions of their parameter and result counts.
    pub type_len: u64,
    /// Length of the WASM in bytes.
    pub wasm_len: u64,
    /// Globals after instrumentation (the module's own plus the 4 that nitro adds: ink left,
    /// ink status, scratch and stack depth).
    pub globals: u64,
    /// Bytes of data and element segments.
    pub data_len: u64,
    /// Initial memory pages.
    pub footprint: u16,
}

impl ModuleStats {
    /// The program's cached init cost (`cached_init_cost`, saturating to u16 as stored).
    pub fn cached_init_cost(&self) -> u16 {
        let mut c: u64 = 0;
        c = c.saturating_add(self.funcs.saturating_mul(13_420) / 100_000);
        c = c.saturating_add(self.type_len.saturating_mul(89) / 100_000);
        c = c.saturating_add(self.wasm_len.saturating_mul(122) / 100_000);
        c = c.saturating_add(self.globals.saturating_mul(1_628) / 1_000);
        c = c.saturating_add(self.data_len.saturating_mul(75_244) / 100_000);
        c = c.saturating_add(self.footprint as u64 * 5);
        c.min(u16::MAX as u64) as u16
    }

    /// The program's (uncached) init cost (`init_cost`). From Stylus version 2 it leaves the
    /// cached part out: an uncached entry pays [`ModuleStats::cached_gas`] and
    /// [`ModuleStats::init_gas`] (nitro's prover: `if compile.version == 1 { init =
    /// cached_init }`; `CallProgram` adds the cached gas for every version above 1).
    pub fn init_cost(&self) -> u16 {
        let mut c: u64 = if STYLUS_VERSION == 1 {
            self.cached_init_cost() as u64
        } else {
            0
        };
        c = c.saturating_add(self.funcs.saturating_mul(8_252) / 1_000);
        c = c.saturating_add(self.type_len.saturating_mul(1_059) / 1_000);
        c = c.saturating_add(self.wasm_len.saturating_mul(1_286) / 10_000);
        c.min(u16::MAX as u64) as u16
    }

    /// Gas charged on every entry (`Program.cachedGas`).
    pub fn cached_gas(&self) -> u64 {
        MIN_CACHED_INIT_GAS
            + (self.cached_init_cost() as u64 * INIT_COST_SCALAR_PERCENT).div_ceil(100)
    }

    /// Gas charged on entry when the program is not cached (`Program.initGas`).
    pub fn init_gas(&self) -> u64 {
        MIN_INIT_GAS + (self.init_cost() as u64 * INIT_COST_SCALAR_PERCENT).div_ceil(100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_model_matches_nitro_examples() {
        // Two free pages, then 1,000 per page plus the exponential term.
        assert_eq!(memory_gas(2, 0, 0), 0);
        assert_eq!(memory_gas(1, 0, 0), 0);
        assert_eq!(memory_gas(3, 0, 0), 1_000 + 1 - 1);
        assert_eq!(memory_gas(17, 0, 0), 15_000 + 9 - 1);
        // Reopening pages that were open before costs only the linear term.
        assert_eq!(memory_gas(1, 2, 3), 1_000);
    }

    #[test]
    fn io_prices() {
        assert_eq!(read_price(4), 16_381);
        assert_eq!(read_price(100), 16_381 + 55 * 68);
        assert_eq!(write_price(36), 5_040 + 30 * 4);
        assert_eq!(keccak_price(64), 121_800);
        assert_eq!(keccak_price(65), 142_800);
        assert_eq!(hostio::CALL_CONTRACT, 83_193);
        assert_eq!(hostio::STORAGE_FLUSH, 68_073);
        assert_eq!(EVM_API_GAS, 5);
    }
}
