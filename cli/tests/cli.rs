//! The `margin` binary as a user runs it.
use std::io::Write;
use std::process::{Command, Stdio};

fn run(input: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_margin"))
        .arg("quote")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn quote_writes_one_row_per_input_row() {
    let (code, out, _) = run("spot,strike,vol,years,rate\n100,100,0.2,1,0.05\n100,90,0.3,0.5,0\n");
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3);
}

#[test]
fn malformed_input_exits_2_naming_the_line() {
    let (code, _, err) = run("spot,strike,vol,years,rate\n100,100,0.2,1,0.05\n1,2,x,4,5\n");
    assert_eq!(code, 2);
    assert!(err.contains("line 3") && err.contains("vol"), "{err}");
}

#[test]
fn the_example_file_quotes() {
    let input = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quote.csv"
    ))
    .unwrap();
    let (code, out, _) = run(&input);
    assert_eq!(code, 0);
    // The 20-year row is outside the domain and reported, not mispriced.
    assert!(out
        .lines()
        .last()
        .unwrap()
        .starts_with("error:years_out_of_domain"));
}

// ---- margin simulate ----------------------------------------------------------------------
//
// The end-to-end runs deploy the real WASM contracts from target-wasm/deploy/
// (scripts/build-wasm.sh; or MARGIN_WASM_DEPLOY_DIR). Run them with --release as CI does:
// the wasmi interpreter is about 100x slower in a debug build (minutes per scenario).

use std::path::{Path, PathBuf};

fn margin(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_margin"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("margin-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn scenario(name: &str) -> String {
    format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

/// Runs a scenario into a fresh folder; returns it and stdout.
fn simulate(file: &str, tag: &str) -> (PathBuf, String) {
    let out = scratch(tag);
    let (code, stdout, stderr) =
        margin(&["simulate", file, "--out", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    (out, stdout)
}

/// A number from summary.md's table: `| label | value |`.
fn summary_value(dir: &Path, label: &str) -> f64 {
    let s = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let line = s
        .lines()
        .find(|l| l.starts_with(&format!("| {label} |")))
        .unwrap_or_else(|| panic!("no `{label}` in summary.md:\n{s}"));
    line.split('|').nth(2).unwrap().trim().parse().unwrap()
}

/// The events log's lines of a kind: (time `YYYY-MM-DD HH:MM`, account, rest).
fn events(dir: &Path, kind: &str) -> Vec<(String, String, String)> {
    std::fs::read_to_string(dir.join("events.log"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let time = l[..16].to_string();
            let mut it = l[16..].split_whitespace();
            it.next()?; // "step"
            it.next()?;
            (it.next()? == kind).then(|| {
                let acct = it.next().unwrap_or("").to_string();
                (time, acct, it.collect::<Vec<_>>().join(" "))
            })
        })
        .collect()
}

const SMALL: &str = r#"name = "small"

[market]
spot = 2000
vol = 0.65

[[instruments]]
name = "P2000"
kind = "put"
strike = 2000
expiry = "30d"

[[accounts]]
name = "seller"
weth = 10

[[accounts]]
name = "buyer"
usdc = 100000

[[trades]]
buyer = "buyer"
seller = "seller"
instrument = "P2000"
size = 20
price = 150

[path]
step = "1h"
points = [ { t = "0h", spot = 2000 }, { t = "2h", spot = 1900, vol = 0.7 } ]

[keeper]
liquidator = "buyer"
"#;

#[test]
fn simulate_bad_scenario_exits_2_naming_the_field_and_line() {
    let d = scratch("bad");
    let cases = [
        // (replace, by, line, field)
        ("size = 20", "size = \"twenty\"", 25, "trades[1].size"),
        (
            "seller = \"seller\"",
            "seller = \"selr\"",
            23,
            "trades[1].seller",
        ),
        ("vol = 0.65", "vol = 0.65\nvolume = 3", 6, "market.volume"),
        (
            "kind = \"put\"",
            "kind = \"swap\"",
            9,
            "instruments[1].kind",
        ),
        ("step = \"1h\"", "step = \"1 hour\"", 29, "path.step"),
        ("liquidator = \"buyer\"", "", 0, "keeper.liquidator"),
    ];
    for (from, to, line, field) in cases {
        let f = d.join("s.toml");
        std::fs::write(&f, SMALL.replacen(from, to, 1)).unwrap();
        let (code, _, err) = margin(&["simulate", f.to_str().unwrap()]);
        assert_eq!(code, 2, "{from}: {err}");
        assert!(err.contains(&format!("field `{field}`")), "{from}: {err}");
        if line > 0 {
            assert!(err.contains(&format!("s.toml:{line}:")), "{from}: {err}");
        }
    }
    // A parameter outside the core's hard bounds is a scenario error too.
    let f = d.join("p.toml");
    std::fs::write(&f, format!("{SMALL}\n[liquidation]\nmax_discount = 0.9\n")).unwrap();
    let (code, _, err) = margin(&["simulate", f.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("p.toml:36: field `liquidation.max_discount`"),
        "{err}"
    );
    // A bad row of a price CSV names the CSV's line.
    std::fs::write(d.join("px.csv"), "timestamp,price\n100,2000\n200,-5\n").unwrap();
    let f = d.join("c.toml");
    let src = SMALL.replace(
        "step = \"1h\"\npoints = [ { t = \"0h\", spot = 2000 }, { t = \"2h\", spot = 1900, vol = 0.7 } ]",
        "csv = \"px.csv\"",
    );
    std::fs::write(&f, src).unwrap();
    let (code, _, err) = margin(&["simulate", f.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("px.csv:3:") && err.contains("price"), "{err}");
    let (code, _, err) = margin(&["simulate"]);
    assert_eq!(code, 2);
    assert!(err.contains("usage"));
}

#[test]
fn simulate_small_scenario_end_to_end_writes_every_file() {
    let d = scratch("small");
    std::fs::write(d.join("small.toml"), SMALL).unwrap();
    let out = d.join("out");
    let (code, stdout, err) = margin(&[
        "simulate",
        d.join("small.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // The table: a header and one row per step (0, 1h, 2h).
    assert!(
        stdout.lines().next().unwrap().contains("seller"),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.trim_start().starts_with(char::is_numeric))
            .count(),
        3
    );
    for f in [
        "accounts.csv",
        "steps.csv",
        "events.log",
        "summary.md",
        "spot.svg",
        "equity_mm.svg",
        "insurance.svg",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let acc = std::fs::read_to_string(out.join("accounts.csv")).unwrap();
    assert_eq!(acc.lines().count(), 1 + 3 * 2);
    // Real margin numbers from the contracts: the seller short 20 puts has MM > 0 and
    // negative delta, the buyer the opposite delta.
    let last: Vec<Vec<&str>> = acc
        .lines()
        .skip(5)
        .map(|l| l.split(',').collect())
        .collect();
    let (seller, buyer) = (&last[0], &last[1]);
    assert_eq!((seller[3], buyer[3]), ("seller", "buyer"));
    assert!(seller[5].parse::<f64>().unwrap() > 0.0);
    assert!(
        seller[7].parse::<f64>().unwrap() > 0.0,
        "short puts: positive delta"
    );
    assert!(buyer[7].parse::<f64>().unwrap() < 0.0);
    assert_eq!(seller[12], "fresh");
    assert!(summary_value(&out, "trades") == 1.0);
    let svg = std::fs::read_to_string(out.join("spot.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("path spot"));
}

#[test]
fn crash_liquidates_the_short_put_seller_with_no_deficit() {
    let (d, stdout) = simulate(&scenario("eth-crash"), "crash");
    assert!(stdout.contains("eth-crash: 61 steps"), "{stdout}");
    let starts = events(&d, "auction_started");
    assert!(!starts.is_empty());
    assert!(starts.iter().all(|e| e.1 == "put-seller"), "{starts:?}");
    let bids = events(&d, "liquidated");
    assert!(!bids.is_empty() && bids.iter().all(|e| e.1 == "put-seller"));
    // The covered-call writer is never below MM: no auction, no refused start.
    assert!(events(&d, "start_refused").is_empty());
    assert_eq!(summary_value(&d, "deficit (bad debt not covered)"), 0.0);
    assert!(summary_value(&d, "discount given up by liquidated accounts") > 0.0);
    // The fund only gained (its share of the discounts).
    assert!(summary_value(&d, "insurance fund: end") > summary_value(&d, "insurance fund: start"));
    assert_eq!(summary_value(&d, "insurance fund: paid out"), 0.0);
}

#[test]
fn outage_starts_no_auction_while_the_feed_is_stale() {
    let (d, _) = simulate(&scenario("oracle-outage"), "outage");
    // The outage runs 03:30 .. 12:30; data is stale from 04:30 (maximum age 1 h).
    let refused = events(&d, "start_refused");
    assert!(!refused.is_empty());
    assert!(
        refused.iter().all(|e| e.2.contains("StaleOracle")),
        "{refused:?}"
    );
    assert!(summary_value(&d, "starts refused: stale oracle") >= 1.0);
    let starts = events(&d, "auction_started");
    assert!(!starts.is_empty());
    for s in &starts {
        assert!(
            s.0.as_str() >= "2025-01-01 12:30",
            "auction during the outage: {s:?}"
        );
    }
    assert!(events(&d, "poke_refused")
        .iter()
        .all(|e| e.0.as_str() >= "2025-01-01 04:30"));
    let steps = std::fs::read_to_string(d.join("steps.csv")).unwrap();
    assert!(steps
        .lines()
        .skip(1)
        .any(|l| l.split(',').nth(5).unwrap().parse::<u64>().unwrap() > 3_600));
}

#[test]
fn expiry_grind_records_the_settlement_round_and_settles_every_holder() {
    let (d, _) = simulate(&scenario("expiry-grind"), "expiry");
    let rec = events(&d, "settlement_recorded");
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].0, "2025-01-08 00:00");
    let settled: Vec<String> = events(&d, "settled").into_iter().map(|e| e.1).collect();
    assert_eq!(settled, ["put-seller", "covered-call", "buyer"]);
    assert_eq!(summary_value(&d, "accounts settled"), 3.0);
}

#[test]
fn every_shipped_scenario_parses() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            n += 1;
            let (code, out, err) = margin(&["simulate", p.to_str().unwrap(), "--check"]);
            assert_eq!(code, 0, "{}: {err}", p.display());
            assert!(out.contains(": ok ("), "{out}");
        }
    }
    assert!(n >= 5);
}

#[test]
fn gen_path_is_deterministic() {
    let a = margin(&["gen-path", "--steps", "10", "--seed", "3"]);
    let b = margin(&["gen-path", "--steps", "10", "--seed", "3"]);
    assert_eq!(a.0, 0);
    assert_eq!(a.1, b.1);
    assert_eq!(a.1.lines().count(), 12);
    assert_eq!(margin(&["gen-path", "--vol", "x"]).0, 2);
}
