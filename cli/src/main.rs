//! `margin`: the command-line face of the pure core (the same fixed-point code as on chain).
//!
//! ```text
//! margin quote [--reference] < rows.csv   Black-Scholes price and Greeks for each CSV row
//! margin simulate SCENARIO.toml      a risk scenario on the real contracts
//! margin gen-path > path.csv         a synthetic (deterministic) price path
//! margin coverage MODEL.toml         the share of simulated moves within MM, per structure
//! ```
use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

mod coverage;
mod quote;
mod sim;

const USAGE: &str = "usage: margin <command>

commands:
  quote     read CSV `spot,strike,vol,years,rate` on stdin; write price and Greeks as CSV
            (the contracts' pricer; --reference: the exact Q96 reference)
  simulate  play a scenario file (scenarios/*.toml) on the real contracts; see --help
  gen-path  print a synthetic price path CSV `timestamp,price`; see --help
  coverage  the share of simulated moves whose loss stays within MM, per structure of
            seeded random books (model file: coverage/default.toml); see --help
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("quote") => {
            let stdin = io::stdin();
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let reference = args[1..].iter().any(|a| a == "--reference");
            match quote::run(stdin.lock(), &mut out, reference)
                .and_then(|()| out.flush().map_err(|e| e.to_string()))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(msg) => {
                    eprintln!("margin quote: {msg}");
                    ExitCode::from(2)
                }
            }
        }
        Some("simulate") => sim::simulate(&args[1..]),
        Some("gen-path") => sim::gen_path(&args[1..]),
        Some("coverage") => coverage::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Reads all lines, trimming a trailing `\r`.
pub fn lines(input: impl BufRead) -> impl Iterator<Item = Result<String, String>> {
    input.lines().map(|l| {
        l.map(|s| s.trim_end_matches('\r').to_string())
            .map_err(|e| e.to_string())
    })
}
