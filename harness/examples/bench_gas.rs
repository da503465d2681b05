//! Gas per operation of the real contracts (their deployable WASM from
//! `target-wasm/deploy/`) in the ink-metered environment, printed as markdown tables.
//!
//! `scripts/bench-gas.sh` (or `cargo run --release -p margin-harness --example bench_gas`).
//!
//! Every number is a transaction's gas used (21,000 + calldata + execution - refund), each
//! transaction in its own block, programs NOT in the cache manager unless a column says
//! "cached" (then all are). Margin checks are `reader.check([account], 0)` sent as a
//! transaction: the work the engine does before and after each trade (a trade does it
//! twice, for both accounts at once).

use alloy_sol_types::SolCall;
use margin_harness::abi::IRiskCalculator as C;
use margin_harness::abi::IRiskReader as RR;
#[path = "shared/book.rs"]
mod book;
use book::leg;
use margin_harness::system::*;
use margin_wasm_env::{
    Address, FrameTrace, NativeContract, NativeCtx, NativeError, NativeResult, Outcome, U256,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

/// Stands in for the calculator of a second reader: keeps the request the reader sends,
/// then fails (the real calculator is then called directly with that request).
struct Recorder(Rc<RefCell<Vec<u8>>>);

impl NativeContract for Recorder {
    fn call(&self, _ctx: &mut NativeCtx<'_>, input: &[u8]) -> NativeResult {
        *self.0.borrow_mut() = input.to_vec();
        Err(NativeError::message("recorded"))
    }
}

/// The calculator request of `account` (as the reader builds it) with `grid_len` scenarios,
/// sent to the real calculator as a transaction: its gas used.
fn evaluate_gas(
    s: &mut System,
    recorder: &(Address, Rc<RefCell<Vec<u8>>>),
    account: U256,
    grid_len: u64,
) -> u64 {
    let out = s.env.view(
        Address::ZERO,
        recorder.0,
        margin_harness::abi::IRiskReader::checkCall {
            accounts: vec![account],
            actor: Address::ZERO,
        }
        .abi_encode(),
    );
    assert!(!out.success);
    let input = recorder.1.borrow().clone();
    let mut req = C::evaluateCall::abi_decode(&input, true).unwrap().request;
    let mut head = req[0].into_limbs();
    head[1] = grid_len;
    req[0] = U256::from_limbs(head);
    let calc = s.calculator;
    let out = s.send(
        Address::repeat_byte(0x99),
        calc,
        &C::evaluateCall { request: req },
    );
    ok(s, "evaluate", &out);
    out.gas_used
}

/// A second reader wired to a recorder as its calculator.
fn recording_reader(s: &mut System) -> (Address, Rc<RefCell<Vec<u8>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let rec = Address::repeat_byte(0x5C);
    s.env.register_native(rec, Box::new(Recorder(seen.clone())));
    let w = |a: Address| a.into_word().to_vec();
    let args = [w(s.owner), w(s.vault), w(s.registry), w(s.oracle), w(rec)].concat();
    let reader = s
        .env
        .deploy_wasm(&load_wasm("reader"), Some(&args), s.owner)
        .unwrap();
    (reader, seen)
}

const LYRA_16: u64 = 3_510_000;
const LYRA_128: u64 = 28_700_000;
const GOAL_16: u64 = 150_000;
const GOAL_128: u64 = 1_000_000;
const LIMIT: u64 = 32_000_000;

fn user(n: u8) -> Address {
    Address::repeat_byte(n)
}

fn ok(s: &System, what: &str, out: &Outcome) {
    assert!(out.success, "{what}: {}", s.why(out));
}

fn k(g: u64) -> String {
    // 1234567 -> 1,234,567
    let s = g.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runs `f` with all programs cached, then not cached (the state is the same: `f`
/// must be an eth_call-like measurement or be repeated on equal state).
fn set_cached(s: &mut System, cached: bool) {
    for a in [
        s.vault,
        s.registry,
        s.oracle,
        s.calculator,
        s.reader,
        s.engine,
        s.keeper,
    ] {
        s.env.set_program_cached(a, cached);
    }
}

/// `reader.check([account])` as a transaction: (not cached, cached).
fn check_gas(s: &mut System, account: U256) -> (Outcome, Outcome) {
    set_cached(s, true);
    let cached = s.check(&[account]);
    ok(s, "check (cached)", &cached);
    set_cached(s, false);
    let out = s.check(&[account]);
    ok(s, "check", &out);
    (out, cached)
}

/// Where a transaction's gas went (`Outcome::costs`), not cached and cached: a markdown
/// table whose last row before the total is what the counted parts leave (WASM execution,
/// warm accesses, call and log costs, less the refund).
fn budget(out: &Outcome, cached: &Outcome) -> String {
    use margin_wasm_env::pricing::{
        COLD_ACCOUNT_GAS, COLD_SLOAD_GAS, SSTORE_RESET_GAS, SSTORE_SET_GAS,
    };
    let rows = |o: &Outcome| {
        let c = o.costs;
        let parts = [
            o.intrinsic_gas,
            c.entry_gas,
            u64::from(c.cold_accounts) * COLD_ACCOUNT_GAS,
            u64::from(c.cold_slots) * COLD_SLOAD_GAS,
            u64::from(c.slots_set) * SSTORE_SET_GAS,
            u64::from(c.slots_reset) * SSTORE_RESET_GAS,
        ];
        let rest = o.gas_used as i64 - parts.iter().sum::<u64>() as i64;
        (parts, rest, c)
    };
    let ((p, rest, c), (q, qrest, d)) = (rows(out), rows(cached));
    let labels = [
        "intrinsic (21,000 + calldata)".to_string(),
        format!(
            "program entries ({} entries; {} / {} paid the uncached init)",
            c.entries, c.entries_uncached, d.entries_uncached
        ),
        format!(
            "cold accounts ({} x {})",
            c.cold_accounts,
            k(COLD_ACCOUNT_GAS)
        ),
        format!(
            "cold storage slots ({} / {} x {})",
            c.cold_slots,
            d.cold_slots,
            k(COLD_SLOAD_GAS)
        ),
        format!(
            "slots written from zero ({} x {})",
            c.slots_set,
            k(SSTORE_SET_GAS)
        ),
        format!(
            "slots rewritten ({} x {})",
            c.slots_reset,
            k(SSTORE_RESET_GAS)
        ),
    ];
    let mut t = String::from(
        "\nwhere the 16th trade's gas goes (`Outcome::costs`, counted as it ran):\n\n\
         | part | not cached | cached |\n|---|---:|---:|\n",
    );
    for (i, l) in labels.iter().enumerate() {
        t.push_str(&format!("| {l} | {} | {} |\n", k(p[i]), k(q[i])));
    }
    t.push_str(&format!(
        "| the rest: WASM execution, warm accesses, calls, logs, less the refund | {} | {} |\n",
        k(rest.max(0) as u64),
        k(qrest.max(0) as u64)
    ));
    t.push_str(&format!(
        "| total | {} | {} |",
        k(out.gas_used),
        k(cached.gas_used)
    ));
    t
}

/// Gas used by the frames directly under the top-level one, by callee.
/// The contract at `a` by its name in the system, or the address.
fn contract_name(a: Address, s: &System) -> String {
    for (n, x) in [
        ("vault", s.vault),
        ("registry", s.registry),
        ("oracle", s.oracle),
        ("calculator", s.calculator),
        ("reader", s.reader),
        ("engine", s.engine),
        ("keeper", s.keeper),
    ] {
        if a == x {
            return n.to_string();
        }
    }
    format!("{a}")
}

fn children(trace: &[FrameTrace], s: &System) -> Vec<(String, u64)> {
    let name = |a: Address| contract_name(a, s);
    trace
        .iter()
        .filter(|f| f.depth == 2)
        .map(|f| (name(f.to), f.gas_used))
        .collect()
}

/// Every frame of a transaction, one line each, indented by depth.
fn frames(trace: &[FrameTrace], s: &System) -> String {
    let name = |a: Address| contract_name(a, s);
    trace
        .iter()
        .map(|f| {
            format!(
                "{}{} 0x{} {}\n",
                "  ".repeat(f.depth),
                name(f.to),
                hex4(f.selector),
                k(f.gas_used)
            )
        })
        .collect()
}

fn hex4(b: [u8; 4]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn calculator_gas(trace: &[FrameTrace], s: &System) -> u64 {
    trace
        .iter()
        .filter(|f| f.to == s.calculator)
        .map(|f| f.gas_used)
        .sum()
}

/// The default system under the program-entry rules of the ArbOS version in
/// `ARBOS_VERSION` (default 60).
fn base_config() -> SystemConfig {
    let arbos_version = std::env::var("ARBOS_VERSION")
        .ok()
        .map(|v| v.parse().expect("ARBOS_VERSION is a number"))
        .unwrap_or(60);
    SystemConfig {
        arbos_version,
        ..SystemConfig::default()
    }
}

/// Deploys a system whose ETH surfaces at `expiries` carry the skew of `benches/margin.rs`
/// (a = 0.65^2 T, b = 0.1, rho = -0.5, m = 0, sigma = 0.1), with room for 128 positions.
fn system(expiries: &[u64]) -> System {
    let mut s = System::deploy(SystemConfig {
        expiries: vec![],
        max_positions: Some(128),
        ..base_config()
    });
    let now = s.now();
    for &e in expiries {
        let t = i128::from(e - now) * WAD / i128::from(YEAR);
        let out = s.post_surface(
            ETH,
            e,
            SviParams {
                a: 65 * 65 * t / 10_000,
                b: WAD / 10,
                rho: -WAD / 2,
                m: 0,
                sigma: WAD / 10,
            },
        );
        ok(&s, "postSurface", &out);
    }
    s
}

struct Row {
    n: usize,
    expiries: usize,
    method: u8,
    gas: u64,
    cached: u64,
    /// Cached, execution gas alone: the check as a call inside a trade (no intrinsic gas).
    cached_exec: u64,
    calc: u64,
    trade: Option<u64>,
}

fn main() {
    let t_start = Instant::now();
    let day = DAY;
    let start = base_config().start_time;
    let one = vec![start + 30 * day];
    let four = vec![
        start + 7 * day,
        start + 30 * day,
        start + 90 * day,
        start + 180 * day,
    ];

    println!(
        "Program-entry rules of ArbOS {} (ARBOS_VERSION; from 60 a program already run in \
         the block enters at the cached price)",
        base_config().arbos_version
    );
    // ---------------------------------------------------------------- programs
    let s0 = System::deploy(base_config());
    println!("\n### Programs (what entering each costs)\n");
    println!("| contract | WASM bytes | functions | init gas (not cached) | init gas (cached) | constructor tx gas |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (i, name) in CONTRACTS.iter().enumerate() {
        let addr = s0.addresses()[i];
        let st = s0.env.program_stats(addr).unwrap();
        let ctor = s0.constructors[i]
            .1
            .as_ref()
            .map(|o| k(o.gas_used))
            .unwrap_or_else(|| "(none)".into());
        println!(
            "| {name} | {} | {} | {} | {} | {ctor} |",
            k(st.wasm_len),
            st.funcs,
            k(st.init_gas()),
            k(st.cached_gas())
        );
    }
    drop(s0);

    // ---------------------------------------------------------------- operations
    let mut ops: Vec<(String, u64, String)> = Vec::new();
    let mut s = system(&one);
    let expiry = one[0];
    let (a, out) = s.open_account(user(0xA1));
    ops.push(("open account".into(), out.gas_used, String::new()));
    let out = s.authorize_market(user(0xA1), a);
    ok(&s, "setOperator", &out);
    let weth = s.weth;
    let usdc = s.usdc;
    let out = s.deposit(user(0xA1), a, weth, weth_units(10));
    ok(&s, "deposit", &out);
    ops.push((
        "deposit WETH (first of the token in the account)".into(),
        out.gas_used,
        "vault -> token: balanceOf, transferFrom, balanceOf".into(),
    ));
    let out = s.deposit(user(0xA1), a, weth, weth_units(1));
    ops.push(("deposit WETH (again)".into(), out.gas_used, String::new()));
    let out = s.deposit(user(0xA1), a, usdc, usdc_units(1_000_000));
    ops.push(("deposit USDC (cash)".into(), out.gas_used, String::new()));
    let b = s.new_account(user(0xB0), 10_000_000, 0);

    // Trades: the 1st position of both accounts, then up to the 16th.
    let mut ids = Vec::new();
    let mut trade_gas = Vec::new();
    let mut trade_frames = String::new();
    let mut trade_cached = None;
    let mut trade_budget = String::new();
    for i in 0..16 {
        let (kind, strike, e, size) = leg(i, &one);
        let id = s.list(kind, strike, e);
        let price = s.quote(id).0.max(WAD / 100);
        let (buyer, seller) = if size > 0 { (a, b) } else { (b, a) };
        if i == 15 {
            // The same trade with every program cached (the cache manager, or a block that
            // already ran them), as an eth_call: nothing persists.
            set_cached(&mut s, true);
            let call = trade_call(buyer, seller, id, size.abs(), price, 0);
            let out = s.simulate(s.market, s.engine, &call);
            ok(&s, "trade (cached)", &out);
            trade_cached = Some(out);
            set_cached(&mut s, false);
        }
        let out = s.trade(buyer, seller, id, size.abs(), price);
        ok(&s, "trade", &out);
        trade_gas.push(out.gas_used);
        ids.push(id);
        if i == 15 {
            trade_frames = frames(&out.trace, &s);
            trade_budget = budget(&out, trade_cached.as_ref().expect("measured above"));
        }
    }
    ops.push((
        "trade (1st position of both accounts)".into(),
        trade_gas[0],
        "1 reader.checkAfter of both accounts".into(),
    ));
    ops.push((
        "trade (16th position of both accounts)".into(),
        trade_gas[15],
        String::new(),
    ));
    ops.push((
        "trade (16th position of both accounts), programs cached".into(),
        trade_cached.as_ref().map_or(0, |o| o.gas_used),
        "the same trade, every program entered at the cached price".into(),
    ));
    // The same accounts again, adding to the first position of each (no new slot).
    let size = leg(0, &one).3;
    let (buyer, seller) = if size > 0 { (a, b) } else { (b, a) };
    let id = ids[0];
    let price = s.quote(id).0.max(WAD / 100);
    let out = s.trade(buyer, seller, id, size.abs(), price);
    ok(&s, "trade", &out);
    ops.push((
        "trade adding to a position (both accounts hold 16 options)".into(),
        out.gas_used,
        "1 reader.checkAfter of both accounts".into(),
    ));
    let out = s.withdraw(
        user(0xA1),
        a,
        usdc,
        U256::from(1_000u64) * U256::from(WAD as u128),
        user(0xA1),
    );
    ok(&s, "withdraw", &out);
    ops.push((
        "withdraw USDC (account holding 16 options)".into(),
        out.gas_used,
        "1 reader.checkAfter".into(),
    ));
    let c = s.new_account(user(0xC0), 10_000, 0);
    let out = s.withdraw(
        user(0xC0),
        c,
        usdc,
        U256::from(1_000u64) * U256::from(WAD as u128),
        user(0xC0),
    );
    ok(&s, "withdraw", &out);
    ops.push((
        "withdraw USDC (account without positions)".into(),
        out.gas_used,
        String::new(),
    ));
    let out = s.poke(ETH);
    ok(&s, "poke", &out);
    ops.push(("oracle.poke".into(), out.gas_used, String::new()));

    // A hedged book near its margin, where the post-action check's per-leg bound fails and
    // the exact revaluation follows in the same call: four iron condors (16 legs) with
    // equity at 1.3x their exact IM. The cost of the bound's failure is `checkAfter`'s gas
    // less `check`'s, both as eth_calls on the same state (their answers must be equal).
    let condors = s.new_account(user(0xC1), 400_000, 0);
    for q in 0..4 {
        for (kind, strike, size) in [
            (Kind::Put, 1_700, WAD),
            (Kind::Put, 1_800, -WAD),
            (Kind::Call, 2_200, -WAD),
            (Kind::Call, 2_300, WAD),
        ] {
            let id = s.list(kind, wad(strike + 20 * q), expiry);
            let price = s.quote(id).0.max(WAD / 100);
            let (buyer, seller) = if size > 0 { (condors, b) } else { (b, condors) };
            let out = s.trade(buyer, seller, id, size.abs(), price);
            ok(&s, "condor trade", &out);
        }
    }
    let r = s.risk(condors);
    let spare = r.equity_im - r.im * 13 / 10;
    let out = s.withdraw(
        user(0xC1),
        condors,
        usdc,
        U256::from(spare as u128),
        user(0xC1),
    );
    ok(&s, "condor withdraw", &out);
    let (accounts, actor, from) = (vec![condors], Address::ZERO, Address::repeat_byte(0x99));
    let exact = s.simulate(
        from,
        s.reader,
        &RR::checkCall {
            accounts: accounts.clone(),
            actor,
        },
    );
    let after = s.simulate(from, s.reader, &RR::checkAfterCall { accounts, actor });
    ok(&s, "check (condors)", &exact);
    ok(&s, "checkAfter (condors)", &after);
    assert_eq!(
        after.return_data, exact.return_data,
        "the condors' bound passed: not the case measured"
    );
    ops.push((
        "withdraw USDC (16 legs of iron condors left at 1.3x IM: the bound fails, exact follows)"
            .into(),
        out.gas_used,
        format!(
            "the failed bound: checkAfter {} - check {} = {}",
            k(after.gas_used),
            k(exact.gas_used),
            k(after.gas_used - exact.gas_used)
        ),
    ));

    // Liquidation: the crash book of the tests (10 WETH short 2000 puts until IM).
    let put = s.list(Kind::Put, wad(2_000), expiry);
    let seller = s.new_account(user(0x5E), 0, 10);
    let mut sold = 0;
    while s.trade(b, seller, put, WAD, wad(150)).success {
        sold += 1;
        assert!(sold < 200);
    }
    let liq = s.new_account(user(0xDA), 2_000_000, 0);
    let bot = s.new_account(user(0x4B), 0, 0);
    s.setup_insurance(user(0x7E), 10_000);
    s.set_price(wad(1_850));
    let out = s.start_liquidation(user(0x4B), seller, bot);
    ok(&s, "startLiquidation", &out);
    ops.push((
        format!("start auction ({sold} short puts)"),
        out.gas_used,
        "reader.evaluations + vault cash move + freeze (vault, registry)".into(),
    ));
    s.advance(300);
    let out = s.liquidate(user(0xDA), seller, liq, WAD / 10, i128::MAX);
    ok(&s, "liquidate", &out);
    ops.push((
        "liquidate (10% bid)".into(),
        out.gas_used,
        "2 reader.evaluations + moveFraction (registry, vault) + cash".into(),
    ));
    if let Ok(n) = std::env::var("BENCH_WIDE_LIQUIDATION") {
        // A book of n short puts of different strikes, liquidated 10% into a fresh account.
        let n: u64 = n.parse().unwrap();
        let wide = s.new_account(user(0x5F), 0, 20);
        s.set_price(wad(2_000));
        for k in 0..n {
            let id = s.list(Kind::Put, wad(1_803 + 5 * k as i128), expiry);
            let out = s.trade(b, wide, id, WAD, wad(60));
            assert!(out.success, "wide trade {k}");
        }
        let liq2 = s.new_account(user(0xDB), 2_000_000, 0);
        s.set_price(wad(1_400));
        let out = s.start_liquidation(user(0x4B), wide, bot);
        ok(&s, "startLiquidation wide", &out);
        s.advance(300);
        let out = s.liquidate(user(0xDB), wide, liq2, WAD / 10, i128::MAX);
        ok(&s, "liquidate wide", &out);
        eprintln!(
            "liquidate (10% bid) of {n} short puts: {}\n{}",
            out.gas_used,
            frames(&out.trace, &s)
        );
        s.set_price(wad(1_850));
    }

    // Settlement.
    s.env.set_timestamp(expiry - 60);
    s.set_price(wad(1_900));
    s.env.set_timestamp(expiry + 60);
    let round = s.set_price(wad(1_950));
    let out = s.record_settlement(ETH, expiry, round);
    ok(&s, "recordSettlement", &out);
    ops.push((
        "record settlement price".into(),
        out.gas_used,
        "2 getRoundData".into(),
    ));
    let out = s.settle(a, &ids[..1]);
    ok(&s, "settle", &out);
    ops.push((
        "settle (1 expired position)".into(),
        out.gas_used,
        String::new(),
    ));
    let out = s.settle(a, &ids[1..16]);
    ok(&s, "settle", &out);
    ops.push((
        "settle (15 expired positions, one call)".into(),
        out.gas_used,
        String::new(),
    ));

    println!("\n### Operations (gas used by the transaction, programs not cached)\n");
    println!("| operation | gas | notes |\n|---|---:|---|");
    for (n, g, note) in &ops {
        println!("| {n} | {} | {note} |", k(*g));
    }
    println!(
        "\nframes of the 16th trade (depth, callee, gas used with its callees):\n{trade_frames}"
    );
    println!("{trade_budget}");
    drop(s);

    // ---------------------------------------------------------------- margin checks
    let mut rows: Vec<Row> = Vec::new();
    let mut breakdown = Vec::new();
    let mut direct: Vec<(usize, u8, u64, u64)> = Vec::new();
    let mut full_trades: Vec<(usize, u64)> = Vec::new();
    for expiries in [&one, &four] {
        let mut s = system(expiries);
        let recorder = recording_reader(&mut s);
        let a = s.new_account(user(0xA1), 1_000_000, 0);
        let b = s.new_account(user(0xB0), 10_000_000, 0);
        let checkpoints: &[usize] = if expiries.len() == 1 {
            &[1, 16, 64, 128]
        } else {
            &[16, 64, 128]
        };
        let mut held = 0;
        for &n in checkpoints {
            let mut last_trade = None;
            while held < n {
                let (kind, strike, e, size) = leg(held, expiries);
                let id = s.list(kind, strike, e);
                let price = s.quote(id).0.max(WAD / 100);
                let (buyer, seller) = if size > 0 { (a, b) } else { (b, a) };
                let out = s.trade(buyer, seller, id, size.abs(), price);
                ok(&s, "trade", &out);
                last_trade = Some(out.gas_used);
                // BENCH_FRAMES_AT=n prints the frames of the trade adding the n-th option.
                if std::env::var("BENCH_FRAMES_AT").ok() == Some(format!("{}", held + 1)) {
                    eprintln!("frames at {}:\n{}", held + 1, frames(&out.trace, &s));
                }
                held += 1;
            }
            assert_eq!(s.position_count(a), n as u64);
            for method in [0u8, 1] {
                let p = OracleParams {
                    method,
                    ..OracleParams::default()
                };
                let out = s.set_oracle_params(ETH, p);
                ok(&s, "setUnderlying", &out);
                let (out, cached_out) = check_gas(&mut s, a);
                let (cached, cached_exec) = (cached_out.gas_used, cached_out.execution_gas());
                if expiries.len() == 1 && (n == 64 || n == 128) {
                    for g in [1u64, 26] {
                        let gas = evaluate_gas(&mut s, &recorder, a, g);
                        direct.push((n, method, g, gas));
                    }
                }
                if method == 1 && n == 128 {
                    // A trade adding to a position of the 128-option book, full revaluation:
                    // 2 checks of 2 such accounts. Measured with the limit lifted.
                    s.env.gas_limit = 1_000_000_000;
                    let (kind, strike, e, _) = leg(0, expiries);
                    let id = s.instrument(kind, strike, e);
                    let price = s.quote(id).0;
                    let t = s.trade(a, b, id, WAD / 10, price);
                    ok(&s, "trade (full revaluation)", &t);
                    full_trades.push((expiries.len(), t.gas_used));
                    s.env.gas_limit = LIMIT;
                }
                let calc = calculator_gas(&out.trace, &s);
                if method == 0 && (n == 1 || n == 16 || n == 128) {
                    breakdown.push((n, expiries.len(), out.clone(), cached_out.clone()));
                }
                // The trade that added the n-th position ran with the Greeks path.
                rows.push(Row {
                    n,
                    expiries: expiries.len(),
                    method,
                    gas: out.gas_used,
                    cached,
                    cached_exec,
                    calc,
                    trade: if method == 0 { last_trade } else { None },
                });
            }
            let out = s.set_oracle_params(ETH, OracleParams::default());
            ok(&s, "setUnderlying", &out);
        }
        if expiries.len() == 1 {
            for (n, _, out, cached) in breakdown.iter().filter(|(_, e, _, _)| *e == 1) {
                for (what, out) in [("not cached", out), ("cached", cached)] {
                    let parts = children(&out.trace, &s);
                    let under: u64 = parts.iter().map(|p| p.1).sum();
                    let reader_own = out.execution_gas() - under;
                    println!(
                        "\nbreakdown, {n} option(s), 1 expiry, Greeks path, {what}: {} = intrinsic {} + reader {} + {}",
                        k(out.gas_used),
                        k(out.intrinsic_gas),
                        k(reader_own),
                        parts
                            .iter()
                            .map(|(n, g)| format!("{n} {}", k(*g)))
                            .collect::<Vec<_>>()
                            .join(" + ")
                    );
                }
            }
        }
    }

    println!("\n### Margin check: `reader.check([account])` as a transaction\n");
    println!("| options | expiries | method | gas (not cached) | gas (cached) | cached, as a call (no intrinsic gas) | of which calculator | trade adding the last one | Lyra v2 PMRM | goal |");
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let (lyra, goal) = match r.n {
            16 => (k(LYRA_16), k(GOAL_16)),
            128 => (k(LYRA_128), k(GOAL_128)),
            _ => (String::new(), String::new()),
        };
        let trade = r
            .trade
            .map(|g| {
                if g > LIMIT {
                    format!("{} (over 32M)", k(g))
                } else {
                    k(g)
                }
            })
            .unwrap_or_default();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {trade} | {lyra} | {goal} |",
            r.n,
            r.expiries,
            if r.method == 0 {
                "Greeks path"
            } else {
                "full revaluation"
            },
            k(r.gas),
            k(r.cached),
            k(r.cached_exec),
            k(r.calc),
        );
    }

    for (e, g) in &full_trades {
        println!(
            "\ntrade adding to a position of a 128-option book ({e} expiries), full revaluation: {} gas{}",
            k(*g),
            if *g > LIMIT { " (over the 32M transaction limit)" } else { "" }
        );
    }

    // Per-option cost of the pure core, from the calculator alone.
    println!(
        "\n### The pure core per option (the calculator frame within `check`, 1 and 4 expiries)\n"
    );
    println!(
        "(gas(128 options) - gas(64 options)) / 64, full 26-scenario grid, margin of one account\n"
    );
    println!("| expiries | method | gas per option |\n|---:|---|---:|");
    for e in [1, 4] {
        for m in [0u8, 1] {
            let g = |n: usize| {
                rows.iter()
                    .find(|r| r.n == n && r.expiries == e && r.method == m)
                    .map(|r| r.calc)
                    .unwrap()
            };
            println!(
                "| {e} | {} | {} |",
                if m == 0 {
                    "Greeks path"
                } else {
                    "full revaluation"
                },
                k((g(128) - g(64)) / 64)
            );
        }
    }
    let d = |n: usize, m: u8, g: u64| {
        direct
            .iter()
            .find(|x| x.0 == n && x.1 == m && x.2 == g)
            .map(|x| x.3)
            .unwrap()
    };
    println!("\n### The pure core, `calculator.evaluate` called directly (1 expiry)\n");
    println!("The reader's request for the account, captured, with the grid cut to its first scenario or whole, sent to the calculator as a transaction.\n");
    println!("| options | method | 1 scenario | 26 scenarios |\n|---:|---|---:|---:|");
    for n in [64, 128] {
        for m in [0u8, 1] {
            println!(
                "| {n} | {} | {} | {} |",
                if m == 0 {
                    "Greeks path"
                } else {
                    "full revaluation"
                },
                k(d(n, m, 1)),
                k(d(n, m, 26))
            );
        }
    }
    let per_quote = (d(128, 0, 1) - d(64, 0, 1)) / 64;
    let per_reprice = (d(128, 1, 26) - d(128, 1, 1)) / (25 * 128);
    println!(
        "\none option valued (Black-Scholes price and Greeks from the surface, one near scenario by Taylor, decoding): {} gas  [(evaluate(128, 1 scenario) - evaluate(64, 1 scenario)) / 64, Greeks path]",
        k(per_quote)
    );
    println!(
        "one scenario repricing of one option (a Black-Scholes evaluation at shocked spot and vol): {} gas  [(evaluate(128, 26) - evaluate(128, 1)) / (25 x 128), full revaluation]",
        k(per_reprice)
    );
    eprintln!("bench_gas: {:.1} s", t_start.elapsed().as_secs_f64());
}
