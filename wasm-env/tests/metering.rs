//! The metering model on small hand-written programs, where the expected ink can be worked
//! out from nitro's tables: per-block charges, memory growth, out of ink, traps, storage
//! pricing and refunds, and the loud failure on an unimplemented host I/O.

use margin_wasm_env::{Address, Env, FrameStatus, Outcome, U256};

const PROGRAM: &str = r#"
(module
  (import "vm_hooks" "read_args" (func $read_args (param i32)))
  (import "vm_hooks" "write_result" (func $write_result (param i32 i32)))
  (import "vm_hooks" "pay_for_memory_grow" (func $pay (param i32)))
  (import "vm_hooks" "storage_cache_bytes32" (func $cache (param i32 i32)))
  (import "vm_hooks" "storage_flush_cache" (func $flush (param i32)))
  (import "vm_hooks" "create1" (func $create1 (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1 16)
  (func (export "user_entrypoint") (param $len i32) (result i32)
    (local $n i32) (local $mode i32)
    (call $read_args (i32.const 0))
    (local.set $mode (i32.load8_u (i32.const 0)))
    (local.set $n (i32.load (i32.const 1)))
    ;; 0: loop n times
    (if (i32.eq (local.get $mode) (i32.const 0)) (then
      (block $b (loop $l
        (br_if $b (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
      (return (i32.const 0))))
    ;; 1: grow memory by n pages
    (if (i32.eq (local.get $mode) (i32.const 1)) (then
      (drop (memory.grow (local.get $n)))
      (return (i32.const 0))))
    ;; 2: loop forever
    (if (i32.eq (local.get $mode) (i32.const 2)) (then (loop $l (br $l))))
    ;; 3: an unimplemented hook
    (if (i32.eq (local.get $mode) (i32.const 3)) (then
      (call $create1 (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
      (return (i32.const 0))))
    ;; 4: a panic
    (if (i32.eq (local.get $mode) (i32.const 4)) (then unreachable))
    ;; 5: a float
    (if (i32.eq (local.get $mode) (i32.const 5)) (then
      (drop (f64.add (f64.const 1) (f64.const 2)))
      (return (i32.const 0))))
    ;; 6: slot 0 := the 32 bytes after the mode byte
    (if (i32.eq (local.get $mode) (i32.const 6)) (then
      (call $cache (i32.const 512) (i32.const 1))
      (call $flush (i32.const 0))
      (return (i32.const 0))))
    ;; 7: revert with the args as data
    (call $write_result (i32.const 0) (local.get $len))
    (i32.const 1))
)
"#;

fn setup() -> (Env, Address) {
    let wasm = wat::parse_str(PROGRAM).unwrap();
    let mut env = Env::new();
    let addr = env
        .deploy_wasm(&wasm, None, Address::repeat_byte(1))
        .unwrap();
    (env, addr)
}

fn run(env: &mut Env, addr: Address, mode: u8, arg: &[u8]) -> Outcome {
    let mut data = vec![mode];
    data.extend_from_slice(arg);
    data.resize(33.max(data.len()), 0);
    env.call(Address::repeat_byte(2), addr, data, U256::ZERO)
}

fn n(x: u32) -> [u8; 4] {
    x.to_le_bytes()
}

#[test]
fn each_loop_iteration_costs_its_two_blocks() {
    let (mut env, p) = setup();
    let zero = run(&mut env, p, 0, &n(0));
    let many = run(&mut env, p, 0, &n(10_000));
    assert!(zero.success && many.success);
    // Per iteration: [local.get, i32.eqz, br_if] = 75 + 170 + 765 and
    // [local.get, i32.const, i32.sub, local.set, br] = 75 + 1 + 70 + 210 + 765,
    // each plus the 2,450-ink block header: 7,031 ink.
    let delta = many.execution_gas() - zero.execution_gas();
    assert!(delta.abs_diff(7_031) <= 1, "delta {delta}");
}

#[test]
fn growing_memory_pays_the_memory_model() {
    let (mut env, p) = setup();
    let none = run(&mut env, p, 1, &n(0));
    let three = run(&mut env, p, 1, &n(3));
    assert!(none.success && three.success);
    // 1 page open + 3 = 4: two beyond the 2 free pages at 1,000 gas each, no exponential
    // term yet; growing by 0 pays only the 8,400-ink hostio.
    let delta = three.execution_gas() - none.execution_gas();
    assert!(delta.abs_diff(2_000) <= 1, "delta {delta}");
}

#[test]
fn out_of_ink_consumes_all_gas() {
    let (mut env, p) = setup();
    env.gas_limit = 1_000_000;
    let out = run(&mut env, p, 2, &[]);
    assert_eq!(out.status, FrameStatus::OutOfGas);
    assert_eq!(out.gas_used, 1_000_000);
}

#[test]
fn a_float_can_never_be_paid_for() {
    let (mut env, p) = setup();
    let out = run(&mut env, p, 5, &[]);
    assert_eq!(out.status, FrameStatus::OutOfGas);
}

#[test]
fn a_trap_is_a_failure_that_keeps_its_gas() {
    let (mut env, p) = setup();
    let out = run(&mut env, p, 4, &[]);
    assert_eq!(out.status, FrameStatus::Failure);
    assert!(out.return_data.is_empty());
    assert!(out.gas_used < 50_000, "{out:?}");
}

#[test]
fn revert_data_comes_back() {
    let (mut env, p) = setup();
    let out = run(&mut env, p, 7, &[0xAB; 40]);
    assert_eq!(out.status, FrameStatus::Revert);
    assert_eq!(out.return_data.len(), 41);
    assert_eq!(out.return_data[1..], [0xAB; 40]);
}

#[test]
fn storage_pricing_and_refund() {
    let (mut env, p) = setup();
    let mut one = [0u8; 32];
    one[31] = 1;
    let set = run(&mut env, p, 6, &one);
    let same = run(&mut env, p, 6, &one);
    let clear = run(&mut env, p, 6, &[0u8; 32]);
    assert!(set.success && same.success && clear.success);
    assert_eq!(
        env.storage(p, Default::default()),
        alloy_primitives::B256::ZERO
    );
    // Zero to non-zero: 2,100 (cold) + 20,000; the same value again: 2,100 + 100.
    assert_eq!(set.gas_used - same.gas_used, 19_900);
    // Non-zero to zero: 2,100 + 2,900, refunding 4,800 (under a fifth of the gas used).
    assert_eq!(clear.refund, 4_800);
    assert_eq!(clear.execution_gas() - same.execution_gas(), 2_800);
}

/// `Outcome::costs` counts what the gas paid for: the entry (its memory, cached and
/// uncached init: one page is free), the cold slot, and each write by kind.
#[test]
fn costs_count_what_the_gas_paid_for() {
    use margin_wasm_env::TxCosts;
    let (mut env, p) = setup();
    let stats = env.program_stats(p).unwrap();
    let entry = TxCosts {
        entries: 1,
        entries_uncached: 1,
        entry_gas: stats.cached_gas() + stats.init_gas(),
        cold_slots: 1,
        ..TxCosts::default()
    };
    let mut one = [0u8; 32];
    one[31] = 1;
    let set = run(&mut env, p, 6, &one);
    let same = run(&mut env, p, 6, &one);
    let clear = run(&mut env, p, 6, &[0u8; 32]);
    assert_eq!(
        set.costs,
        TxCosts {
            slots_set: 1,
            ..entry
        }
    );
    assert_eq!(same.costs, entry);
    assert_eq!(
        clear.costs,
        TxCosts {
            slots_reset: 1,
            ..entry
        }
    );
    // Cached, the same write (the slot is zero again) pays no init and the rest the same.
    env.set_program_cached(p, true);
    let cached = run(&mut env, p, 6, &one);
    assert_eq!(
        cached.costs,
        TxCosts {
            entries_uncached: 0,
            entry_gas: stats.cached_gas(),
            slots_set: 1,
            ..entry
        }
    );
    assert_eq!(set.gas_used - cached.gas_used, stats.init_gas());
    // A loop touches nothing: only the entry.
    let looped = run(&mut env, p, 0, &n(10));
    assert_eq!(
        looped.costs,
        TxCosts {
            cold_slots: 0,
            entries_uncached: 0,
            entry_gas: stats.cached_gas(),
            ..entry
        }
    );
}

#[test]
#[should_panic(expected = "vm_hooks.create1 is not implemented")]
fn an_unimplemented_hook_fails_loudly() {
    let (mut env, p) = setup();
    run(&mut env, p, 3, &[]);
}

#[test]
fn activation_rejects_what_the_chain_rejects() {
    let mut env = Env::new();
    let from = Address::repeat_byte(1);
    let no_entry = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    let err = env
        .deploy_wasm(&no_entry, None, from)
        .unwrap_err()
        .to_string();
    assert!(err.contains("user_entrypoint"), "{err}");
    let bad_import = wat::parse_str(
        r#"(module (import "env" "f" (func)) (memory (export "memory") 1)
           (func (export "user_entrypoint") (param i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    let err = env
        .deploy_wasm(&bad_import, None, from)
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside vm_hooks"), "{err}");
    let multi_value = wat::parse_str(
        r#"(module (memory (export "memory") 1)
           (func $f (result i32 i32) (i32.const 0) (i32.const 0))
           (func (export "user_entrypoint") (param i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    assert!(env.deploy_wasm(&multi_value, None, from).is_err());
}
