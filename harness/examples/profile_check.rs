//! Where a margin check spends its ink, per function of one program (self cost).
//!
//! ```text
//! cargo run --release -p margin-harness --example profile_check -- \
//!     NAMES.wasm [OPTIONS] [EXPIRIES]
//! ```
//! `NAMES.wasm` is an unstripped build of the program to profile (its name section gives
//! the function names), deployed in place of that contract: put it, with the six other
//! binaries, in a directory and point `MARGIN_WASM_DEPLOY_DIR` at it. The book is the one
//! of `bench_gas` (default 128 options over 4 expiries). Prints the functions of that
//! program by ink spent in their own basic blocks during one `reader.check`, Greeks path
//! (with `PROFILE_AFTER=1`: during the post-trade `reader.checkAfter` of both accounts of
//! the book's trades, the per-leg bound first).
//! The metering is the same as `bench_gas`'s (a function's counter adds up exactly what
//! its blocks were charged); only the names need the unstripped build, which is not
//! `wasm-opt`'d, so the split between functions differs a little from the deployed binary.

#[path = "shared/book.rs"]
mod book;
use book::leg;
use margin_harness::system::*;
use margin_wasm_env::{set_profiling, take_profile, Address};
use wasmparser::{Name, Parser, Payload, TypeRef};

fn user(n: u8) -> Address {
    Address::repeat_byte(n)
}

/// Function names by index among the module's defined functions.
fn names(wasm: &[u8]) -> Vec<String> {
    let mut imported = 0u32;
    let mut out: Vec<String> = Vec::new();
    for p in Parser::new(0).parse_all(wasm) {
        match p.expect("valid wasm") {
            Payload::ImportSection(r) => {
                for i in r {
                    if matches!(i.expect("import").ty, TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CustomSection(c) if c.name() == "name" => {
                let r = wasmparser::NameSectionReader::new(wasmparser::BinaryReader::new(
                    c.data(),
                    c.data_offset(),
                ));
                for n in r {
                    if let Ok(Name::Function(map)) = n {
                        for naming in map {
                            let naming = naming.expect("naming");
                            if naming.index >= imported {
                                let i = (naming.index - imported) as usize;
                                if out.len() <= i {
                                    out.resize(i + 1, String::new());
                                }
                                out[i] = naming.name.to_string();
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: profile_check NAMES.wasm [OPTIONS] [EXPIRIES]");
    let n: usize = args.get(2).map_or(128, |a| a.parse().expect("options"));
    let e: u64 = args.get(3).map_or(4, |a| a.parse().expect("expiries"));
    let wasm = std::fs::read(path).expect("read NAMES.wasm");
    let names = names(&wasm);

    set_profiling(true);
    let mut s = System::deploy(SystemConfig {
        expiries: vec![],
        max_positions: Some(128),
        ..SystemConfig::default()
    });
    let now = s.now();
    let expiries: Vec<u64> = [7, 30, 90, 180][..e as usize]
        .iter()
        .map(|d| now + d * DAY)
        .collect();
    for &x in &expiries {
        let t = i128::from(x - now) * WAD / i128::from(YEAR);
        let sv = SviParams {
            a: 65 * 65 * t / 10_000,
            b: WAD / 10,
            rho: -WAD / 2,
            m: 0,
            sigma: WAD / 10,
        };
        assert!(s.post_surface(ETH, x, sv).success, "postSurface");
    }
    let a = s.new_account(user(0xA1), 1_000_000, 0);
    let b = s.new_account(user(0xB0), 10_000_000, 0);
    for i in 0..n {
        let (kind, strike, x, size) = leg(i, &expiries);
        let id = s.list(kind, strike, x);
        let price = s.quote(id).0.max(WAD / 100);
        let (buyer, seller) = if size > 0 { (a, b) } else { (b, a) };
        assert!(
            s.trade(buyer, seller, id, size.abs(), price).success,
            "trade"
        );
    }
    take_profile();
    // PROFILE_AFTER=1: the post-trade check of a trade, `checkAfter` of both accounts (the
    // per-leg bound first), instead of the exact `check` of one.
    let out = if std::env::var_os("PROFILE_AFTER").is_some() {
        let call = margin_harness::abi::IRiskReader::checkAfterCall {
            accounts: vec![a, b],
            actor: Address::ZERO,
        };
        s.env.call_sol(Address::repeat_byte(0x99), s.reader, &call)
    } else {
        s.check(&[a])
    };
    assert!(out.success, "check");
    // The profiled program: the one whose code is the 4-byte prefix plus NAMES.wasm.
    let mut rows: Vec<(u64, String)> = take_profile()
        .into_iter()
        .filter(|(len, _, _)| *len == wasm.len() + 4)
        .map(|(_, i, ink)| (ink, names.get(i as usize).cloned().unwrap_or_default()))
        .filter(|(ink, _)| *ink > 0)
        .collect();
    assert!(
        !rows.is_empty(),
        "NAMES.wasm was not among the deployed programs"
    );
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let total: u64 = rows.iter().map(|r| r.0).sum();
    println!(
        "check of {n} options over {e} expiries: {} gas in this program's own blocks",
        total / 10_000
    );
    println!("| gas | share | function |\n|---:|---:|---|");
    for (ink, name) in rows.iter().take(30) {
        let short: String = name.chars().take(140).collect();
        println!(
            "| {} | {:.1}% | {short} |",
            ink / 10_000,
            *ink as f64 * 100.0 / total as f64
        );
    }
}
