//! `margin simulate SCENARIO.toml`: a risk scenario played on the real contracts.
//! `margin gen-path`: the deterministic generator of synthetic price CSVs.
pub mod chain;
pub mod output;
pub mod path;
pub mod run;
pub mod scenario;
pub mod svg;
pub mod system;
#[cfg(test)]
mod testchain;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The underlying id of ETH in every scenario.
pub const UNDERLYING: u32 = 1;

/// The parameters of the shipped sample `scenarios/data/eth-synthetic.csv`.
pub const SAMPLE_PATH: path::GenParams = path::GenParams {
    start: 1_735_689_600,
    spot: 2_000.0,
    vol: 1.2,
    drift: -30.0,
    step: 1_800,
    steps: 96,
    seed: 20_250_101,
};

pub const SIMULATE_USAGE: &str =
    "usage: margin simulate SCENARIO.toml [--out DIR] [--quiet] [--every N]

Deploys the contracts (real WASM, margin-wasm-env), opens the scenario's accounts,
trades, then walks the spot/vol path with a keeper. Writes into DIR (default
sim-out/<scenario name>): accounts.csv, steps.csv, events.log, summary.md, spot.svg,
equity_mm.svg, insurance.svg.

  --out DIR    output folder
  --quiet      no per-step table (the summary is still printed)
  --every N    print every N-th step of the table (default: all up to 200 steps)
  --check      only check the scenario (and its CSV, parameters): no deployment

The WASM binaries come from MARGIN_WASM_DEPLOY_DIR or target-wasm/deploy/
(scripts/build-wasm.sh). Exit code 2: the scenario file is wrong (line and field named).
";

pub const GEN_USAGE: &str = "usage: margin gen-path [--start T] [--spot S] [--vol V] [--drift M] [--step SECS] [--steps N] [--seed N]

Prints a synthetic geometric Brownian motion path as CSV `timestamp,price` (prices to the
cent); the same arguments always print the same file. Without arguments: the parameters of
scenarios/data/eth-synthetic.csv.
";

struct Args {
    scenario: Option<PathBuf>,
    out: Option<PathBuf>,
    quiet: bool,
    every: Option<usize>,
    check: bool,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        scenario: None,
        out: None,
        quiet: false,
        every: None,
        check: false,
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "--out" => a.out = Some(it.next().ok_or("--out needs a folder")?.into()),
            "--quiet" => a.quiet = true,
            "--check" => a.check = true,
            "--every" => {
                let n = it.next().ok_or("--every needs a number")?;
                a.every = Some(
                    n.parse()
                        .map_err(|_| format!("--every: `{n}` is not a number"))?,
                );
            }
            s if s.starts_with('-') => return Err(format!("unknown option `{s}`")),
            s if a.scenario.is_none() => a.scenario = Some(s.into()),
            s => return Err(format!("unexpected argument `{s}`")),
        }
    }
    Ok(a)
}

/// `margin simulate`.
pub fn simulate(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{SIMULATE_USAGE}");
        return ExitCode::SUCCESS;
    }
    let a = match parse_args(args) {
        Ok(Args { scenario: None, .. }) => {
            eprint!("margin simulate: no scenario file\n{SIMULATE_USAGE}");
            return ExitCode::from(2);
        }
        Ok(a) => a,
        Err(e) => {
            eprint!("margin simulate: {e}\n{SIMULATE_USAGE}");
            return ExitCode::from(2);
        }
    };
    let file = a.scenario.clone().unwrap();
    let loaded = match scenario::load(&file).and_then(|l| path::build(&l).map(|s| (l, s))) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("margin simulate: {e}");
            return ExitCode::from(2);
        }
    };
    let (l, steps) = loaded;
    // Parameters out of the core's bounds are scenario errors too.
    if let Err(e) = run::margin_params(&l).and_then(|_| run::liquidation_params(&l)) {
        eprintln!("margin simulate: {e}");
        return ExitCode::from(2);
    }
    if let Err(e) = system::weth_config(&l) {
        eprintln!("margin simulate: {e}");
        return ExitCode::from(2);
    }
    if a.check {
        println!(
            "{}: ok ({} steps over {:.1} h, {} accounts, {} instruments)",
            l.file,
            steps.len(),
            steps.last().map_or(0, |s| s.t) as f64 / 3_600.0,
            l.scenario.accounts.len(),
            l.scenario.instruments.len()
        );
        return ExitCode::SUCCESS;
    }
    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("sim-out").join(&l.scenario.name));
    if let Err(e) = margin_harness::system::ensure_binaries() {
        eprintln!("margin simulate: {e}");
        return ExitCode::from(1);
    }
    match simulate_on_system(&l, &steps, &out_dir, a.quiet, a.every) {
        Ok(code) => code,
        Err(run::SimError::Scenario(e)) => {
            eprintln!("margin simulate: {e}");
            ExitCode::from(2)
        }
        Err(run::SimError::Chain(e)) => {
            eprintln!("margin simulate: {e}");
            ExitCode::from(1)
        }
    }
}

/// Prints the table and progress as the run goes, then writes the files.
pub fn drive<C: chain::Chain>(
    chain: &mut C,
    l: &scenario::Loaded,
    steps: &[path::Step],
    out_dir: &Path,
    quiet: bool,
    every: Option<usize>,
) -> Result<run::Report, run::SimError> {
    let n = steps.len();
    let every = every
        .unwrap_or(if n <= 200 { 1 } else { n.div_ceil(100) })
        .max(1);
    let max_age = l.scenario.market.feed_max_age.0;
    let mut printed_header = false;
    let stdout = std::io::stdout();
    let started = std::time::Instant::now();
    let mut progress = |r: &run::Report| {
        let Some(row) = r.rows.last() else { return };
        let mut out = stdout.lock();
        if !quiet {
            if !printed_header {
                let _ = writeln!(out, "{}", output::table_header(r));
                printed_header = true;
            }
            if row.step % every == 0 || row.events > 0 || row.step + 1 == n {
                let _ = writeln!(out, "{}", output::table_row(r, row, max_age));
            }
        }
        if every > 1 || quiet {
            eprint!(
                "\r[{}/{}] {:.0}s",
                row.step + 1,
                n,
                started.elapsed().as_secs_f64()
            );
            if row.step + 1 == n {
                eprintln!();
            }
        }
    };
    let report = run::run(chain, l, steps, &mut progress)?;
    output::write_all(&report, out_dir)
        .map_err(|e| run::SimError::Chain(format!("cannot write {}: {e}", out_dir.display())))?;
    let t = &report.totals;
    println!(
        "\n{}: {} steps; auctions {} (refused {}, {} on stale data), bids {}, taken whole {}, discount given up {:.2}, insurance fees {:.2}, fund paid {:.2}, deficit {:.2}; gas {}",
        report.name,
        report.rows.len(),
        t.auctions_started,
        t.starts_refused,
        t.starts_refused_stale,
        t.bids,
        t.taken_whole,
        run::f(t.discount_paid),
        run::f(t.insurance_fees),
        run::f(t.insurance_paid),
        run::f(t.deficit),
        report.gas.values().map(|g| g.total).sum::<u64>()
    );
    println!("wrote {} ({})", out_dir.display(), output::FILES.join(", "));
    Ok(report)
}

fn simulate_on_system(
    l: &scenario::Loaded,
    steps: &[path::Step],
    out_dir: &Path,
    quiet: bool,
    every: Option<usize>,
) -> Result<ExitCode, run::SimError> {
    let dir = system::deploy_dir();
    let mut chain = system::SystemChain::deploy(l, steps[0].spot, &dir)?;
    drive(&mut chain, l, steps, out_dir, quiet, every)?;
    Ok(ExitCode::SUCCESS)
}

/// `margin gen-path`.
pub fn gen_path(args: &[String]) -> ExitCode {
    let mut g = SAMPLE_PATH;
    let mut it = args.iter();
    while let Some(k) = it.next() {
        if k == "-h" || k == "--help" {
            print!("{GEN_USAGE}");
            return ExitCode::SUCCESS;
        }
        let Some(v) = it.next() else {
            eprint!("margin gen-path: `{k}` needs a value\n{GEN_USAGE}");
            return ExitCode::from(2);
        };
        let bad = || {
            eprintln!("margin gen-path: {k} `{v}` is not a valid number");
            ExitCode::from(2)
        };
        macro_rules! set {
            ($f:expr) => {
                match v.parse() {
                    Ok(x) => $f = x,
                    Err(_) => return bad(),
                }
            };
        }
        match k.as_str() {
            "--start" => set!(g.start),
            "--spot" => set!(g.spot),
            "--vol" => set!(g.vol),
            "--drift" => set!(g.drift),
            "--step" => set!(g.step),
            "--steps" => set!(g.steps),
            "--seed" => set!(g.seed),
            _ => {
                eprint!("margin gen-path: unknown option `{k}`\n{GEN_USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if !(g.spot > 0.0 && g.vol >= 0.0 && g.step > 0) {
        eprintln!("margin gen-path: spot and step must be positive, vol non-negative");
        return ExitCode::from(2);
    }
    print!("{}", path::generate(&g));
    ExitCode::SUCCESS
}
