//! What a run leaves behind: `accounts.csv` (every account's equity, MM, IM and Greeks per
//! step), `steps.csv` (spot, feed, vol, insurance fund, deficit per step), `events.log`,
//! `summary.md`, and the charts `spot.svg`, `equity_mm.svg`, `insurance.svg`. And the
//! terminal table.
use std::fmt::Write as _;
use std::path::Path;

use super::run::{f, utc, MarkKind, Report, StepRow};
use super::svg::{self, Marker, Panel, Series, Shape};

pub const FILES: [&str; 7] = [
    "accounts.csv",
    "steps.csv",
    "events.log",
    "summary.md",
    "spot.svg",
    "equity_mm.svg",
    "insurance.svg",
];

fn hours(r: &Report, t: u64) -> f64 {
    let t0 = r.rows.first().map_or(t, |x| x.time);
    (t as f64 - t0 as f64) / 3_600.0
}

pub fn accounts_csv(r: &Report) -> String {
    let mut s = String::from(
        "step,time,hours,account,equity,mm,im,delta,gamma,vega,theta,bundle,reading,frozen,in_auction\n",
    );
    for row in &r.rows {
        for (i, a) in row.accounts.iter().enumerate() {
            let k = a.risk;
            let reading = match (a.unreadable, k.failure) {
                (true, _) => "reverted",
                (false, 0) => "fresh",
                (false, 1) => "stale_oracle",
                (false, 2) => "bad_oracle",
                (false, 3) => "stale_surface",
                (false, 4) => "missing_surface",
                _ => "failed",
            };
            let _ = writeln!(
                s,
                "{},{},{:.4},{},{:.6},{:.6},{:.6},{:.6},{:.8},{:.6},{:.6},{:.6},{},{},{}",
                row.step,
                row.time,
                row.elapsed as f64 / 3_600.0,
                r.accounts[i],
                f(k.equity),
                f(k.mm),
                f(k.im),
                f(k.delta),
                f(k.gamma),
                f(k.vega),
                f(k.theta),
                f(k.bundle),
                reading,
                k.frozen,
                a.in_auction
            );
        }
    }
    s
}

pub fn steps_csv(r: &Report) -> String {
    let mut s = String::from(
        "step,time,hours,spot,feed_price,feed_age,vol,insurance_fund,deficit,events\n",
    );
    for row in &r.rows {
        let _ = writeln!(
            s,
            "{},{},{:.4},{:.4},{:.4},{},{:.4},{:.6},{:.6},{}",
            row.step,
            row.time,
            row.elapsed as f64 / 3_600.0,
            row.spot,
            row.feed_price,
            row.feed_age,
            row.vol,
            f(row.insurance),
            f(row.deficit),
            row.events
        );
    }
    s
}

pub fn events_log(r: &Report) -> String {
    let mut s = String::new();
    for e in &r.events {
        let _ = writeln!(
            s,
            "{}  step {:>4}  {:<20} {:<14} {}{}",
            utc(e.time),
            e.step,
            e.kind,
            if e.account.is_empty() {
                "-"
            } else {
                &e.account
            },
            e.detail,
            e.gas.map_or(String::new(), |g| format!("  [gas {g}]"))
        );
    }
    s
}

pub fn summary(r: &Report) -> String {
    let t = &r.totals;
    let mut s = format!("# {}\n\n", r.name);
    if !r.description.trim().is_empty() {
        let _ = writeln!(s, "{}\n", r.description.trim());
    }
    if let (Some(a), Some(b)) = (r.rows.first(), r.rows.last()) {
        let _ = writeln!(
            s,
            "{} steps from {} to {} UTC; spot {:.2} -> {:.2} (low {:.2}).\n",
            r.rows.len(),
            utc(a.time),
            utc(b.time),
            a.spot,
            b.spot,
            r.rows.iter().map(|x| x.spot).fold(f64::MAX, f64::min)
        );
    }
    let fund_end = r.rows.last().map_or(0, |x| x.insurance);
    let _ = writeln!(s, "## Liquidations\n");
    let _ = writeln!(s, "| | |\n|---|---:|");
    for (k, v) in [
        ("auctions started", t.auctions_started.to_string()),
        ("starts refused (all)", t.starts_refused.to_string()),
        (
            "starts refused: stale oracle",
            t.starts_refused_stale.to_string(),
        ),
        ("bids filled", t.bids.to_string()),
        ("bids refused", t.bids_refused.to_string()),
        ("accounts taken whole", t.taken_whole.to_string()),
        ("auctions ended", t.auctions_ended.to_string()),
        ("start bounties paid", format!("{:.2}", f(t.bounties))),
        (
            "discount given up by liquidated accounts",
            format!("{:.2}", f(t.discount_paid)),
        ),
        (
            "of which insurance fees",
            format!("{:.2}", f(t.insurance_fees)),
        ),
        (
            "insurance fund: start",
            format!("{:.2}", f(r.insurance_start)),
        ),
        (
            "insurance fund: paid out",
            format!("{:.2}", f(t.insurance_paid)),
        ),
        ("insurance fund: end", format!("{:.2}", f(fund_end))),
        (
            "deficit (bad debt not covered)",
            format!("{:.2}", f(t.deficit)),
        ),
        (
            "settlement prices recorded",
            t.settlements_recorded.to_string(),
        ),
        ("accounts settled", t.accounts_settled.to_string()),
        ("pokes refused", t.pokes_refused.to_string()),
        ("trades", t.trades.to_string()),
    ] {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let _ = writeln!(s, "\n## Accounts at the end\n\n| account | equity | MM | IM | delta | vega |\n|---|---:|---:|---:|---:|---:|");
    if let Some(last) = r.rows.last() {
        for (i, a) in last.accounts.iter().enumerate() {
            let k = a.risk;
            let _ = writeln!(
                s,
                "| {} | {:.2} | {:.2} | {:.2} | {:.4} | {:.2} |",
                r.accounts[i],
                f(k.equity),
                f(k.mm),
                f(k.im),
                f(k.delta),
                f(k.vega)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n## Gas per operation\n\nEach call a transaction of its own; gas as its receipt shows (on margin-wasm-env: the real WASM, nitro's ink prices).\n\n| operation | calls | total | mean | min | max |\n|---|---:|---:|---:|---:|---:|"
    );
    for (k, g) in &r.gas {
        let _ = writeln!(
            s,
            "| {k} | {} | {} | {} | {} | {} |",
            g.count,
            g.total,
            g.total / g.count.max(1),
            g.min,
            g.max
        );
    }
    let total: u64 = r.gas.values().map(|g| g.total).sum();
    let _ = writeln!(
        s,
        "| **all** | {} | {total} | | | |",
        r.gas.values().map(|g| g.count).sum::<u64>()
    );
    let _ = writeln!(s, "\n## Parameters\n");
    match &r.margin {
        Some(p) => {
            let _ = writeln!(s, "Margin (RiskReader.setParams): {p:?}\n");
        }
        None => s.push_str("Margin: defaults (MarginParams::DEFAULT)\n\n"),
    }
    match &r.liquidation {
        Some(p) => {
            let _ = writeln!(s, "Liquidation (KeeperModule.setLiquidationParams): {p:?}");
        }
        None => s.push_str("Liquidation: defaults (LiquidationParams::DEFAULT)\n"),
    }
    s
}

const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
];

pub fn spot_svg(r: &Report) -> String {
    let pts = |g: fn(&StepRow) -> f64| r.rows.iter().map(|x| (hours(r, x.time), g(x))).collect();
    let markers = r
        .marks
        .iter()
        .map(|&(t, y, k)| Marker {
            x: hours(r, t),
            y,
            shape: match k {
                MarkKind::Start => Shape::Circle,
                MarkKind::Bid => Shape::Triangle,
                MarkKind::Settle => Shape::Diamond,
            },
            color: match k {
                MarkKind::Start => "#ff7f0e",
                MarkKind::Bid => "#d62728",
                MarkKind::Settle => "#2ca02c",
            },
        })
        .collect();
    svg::render(
        &[Panel {
            title: format!(
                "{}: spot path (o auction started, v liquidation bid, <> settlement)",
                r.name
            ),
            y_label: "ETH price (USD)".into(),
            series: vec![
                Series {
                    name: "path spot".into(),
                    color: COLORS[0],
                    points: pts(|x| x.spot),
                    dashed: false,
                },
                Series {
                    name: "feed price".into(),
                    color: "#7f7f7f",
                    points: pts(|x| x.feed_price),
                    dashed: true,
                },
            ],
            markers,
            bands: r
                .outages
                .iter()
                .map(|&(a, b)| (hours(r, a), hours(r, b)))
                .collect(),
            band_label: "feed outage".into(),
        }],
        "hours from start",
    )
}

pub fn equity_mm_svg(r: &Report) -> String {
    let panels: Vec<Panel> = r
        .accounts
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let get = |g: fn(&super::chain::Risk) -> i128| {
                r.rows
                    .iter()
                    .map(|x| {
                        let a = &x.accounts[i];
                        (
                            hours(r, x.time),
                            if a.unreadable {
                                f64::NAN
                            } else {
                                f(g(&a.risk))
                            },
                        )
                    })
                    .collect()
            };
            let starts = r
                .events
                .iter()
                .filter(|e| {
                    e.account == *name && (e.kind == "auction_started" || e.kind == "liquidated")
                })
                .filter_map(|e| {
                    let row = r.rows.iter().find(|x| x.time >= e.time)?;
                    Some(Marker {
                        x: hours(r, e.time),
                        y: f(row.accounts[i].risk.equity),
                        shape: if e.kind == "liquidated" {
                            Shape::Triangle
                        } else {
                            Shape::Circle
                        },
                        color: if e.kind == "liquidated" {
                            "#d62728"
                        } else {
                            "#ff7f0e"
                        },
                    })
                })
                .collect();
            Panel {
                title: format!("{name}: equity vs maintenance margin"),
                y_label: "USD".into(),
                series: vec![
                    Series {
                        name: "equity".into(),
                        color: COLORS[0],
                        points: get(|k| k.equity),
                        dashed: false,
                    },
                    Series {
                        name: "MM".into(),
                        color: COLORS[1],
                        points: get(|k| k.mm),
                        dashed: false,
                    },
                    Series {
                        name: "IM".into(),
                        color: "#aaaaaa",
                        points: get(|k| k.im),
                        dashed: true,
                    },
                ],
                markers: starts,
                bands: r
                    .outages
                    .iter()
                    .map(|&(a, b)| (hours(r, a), hours(r, b)))
                    .collect(),
                band_label: "feed outage".into(),
            }
        })
        .collect();
    svg::render(&panels, "hours from start")
}

pub fn insurance_svg(r: &Report) -> String {
    let pts = |g: fn(&StepRow) -> f64| r.rows.iter().map(|x| (hours(r, x.time), g(x))).collect();
    svg::render(
        &[Panel {
            title: format!("{}: insurance fund and deficit", r.name),
            y_label: "USD".into(),
            series: vec![
                Series {
                    name: "insurance fund".into(),
                    color: COLORS[2],
                    points: pts(|x| f(x.insurance)),
                    dashed: false,
                },
                Series {
                    name: "deficit".into(),
                    color: COLORS[1],
                    points: pts(|x| f(x.deficit)),
                    dashed: true,
                },
            ],
            markers: vec![],
            bands: vec![],
            band_label: String::new(),
        }],
        "hours from start",
    )
}

/// Writes every file into `dir` (created).
pub fn write_all(r: &Report, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, body) in FILES.iter().zip([
        accounts_csv(r),
        steps_csv(r),
        events_log(r),
        summary(r),
        spot_svg(r),
        equity_mm_svg(r),
        insurance_svg(r),
    ]) {
        std::fs::write(dir.join(name), body)?;
    }
    Ok(())
}

/// Compact money: `12.3k`, `-450`, `1.2M`.
pub fn money(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// The terminal table's header.
pub fn table_header(r: &Report) -> String {
    let mut s = format!(
        "{:>5} {:>8} {:>9} {:>10} {:>5} ",
        "step", "hours", "spot", "feed", "vol"
    );
    for a in &r.accounts {
        let _ = write!(s, "| {:>17.17} ", a);
    }
    let _ = write!(s, "| {:>9} {:>8} | events", "fund", "deficit");
    s
}

/// One step of the terminal table: per account `equity/MM`, `!` below MM, `A` in an
/// auction, `?` on a failed reading; the feed's price with `*` when older than its age.
pub fn table_row(r: &Report, row: &StepRow, max_age: u64) -> String {
    let mut s = format!(
        "{:>5} {:>8.2} {:>9.2} {:>9.2}{} {:>5.2} ",
        row.step,
        row.elapsed as f64 / 3_600.0,
        row.spot,
        row.feed_price,
        if row.feed_age > max_age { '*' } else { ' ' },
        row.vol
    );
    for a in &row.accounts {
        let flag = if a.unreadable {
            '?'
        } else if a.in_auction {
            'A'
        } else if a.risk.equity < a.risk.mm {
            '!'
        } else {
            ' '
        };
        let cell = format!("{}/{}", money(f(a.risk.equity)), money(f(a.risk.mm)));
        let _ = write!(s, "| {cell:>16}{flag} ");
    }
    let _ = write!(
        s,
        "| {:>9} {:>8} | ",
        money(f(row.insurance)),
        money(f(row.deficit))
    );
    let kinds: Vec<&str> = r
        .events
        .iter()
        .filter(|e| {
            e.step == row.step
                && e.time == row.time
                && !matches!(
                    e.kind,
                    "listed" | "opened" | "deposit" | "params" | "bid_deferred"
                )
        })
        .map(|e| e.kind)
        .collect();
    s.push_str(&kinds.join(","));
    s
}

#[cfg(test)]
mod tests {
    use super::super::{path, run::run, scenario::parse, testchain::TestChain};
    use super::*;

    fn report() -> Report {
        let src = r#"
name = "out"
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
name = "liq"
usdc = 2000000
[[trades]]
buyer = "liq"
seller = "seller"
instrument = "P2000"
size = 20
price = 150
[path]
step = "2h"
points = [ { t = "24h", spot = 1300, vol = 1.2 } ]
outages = [ { from = "4h", to = "6h" } ]
[keeper]
liquidator = "liq"
"#;
        let l = parse(src, "out.toml", std::path::PathBuf::new()).unwrap();
        let steps = path::build(&l).unwrap();
        let mut c = TestChain::new(
            super::super::scenario::DEFAULT_START,
            2_000 * stylus_margin::fixed::WAD,
            3_600,
        );
        run(&mut c, &l, &steps, &mut |_| {}).unwrap()
    }

    #[test]
    fn files_hold_one_row_per_account_and_step_and_the_events() {
        let r = report();
        let dir = std::env::temp_dir().join(format!("margin-sim-out-{}", std::process::id()));
        write_all(&r, &dir).unwrap();
        for f in FILES {
            assert!(std::fs::metadata(dir.join(f)).unwrap().len() > 100, "{f}");
        }
        let acc = std::fs::read_to_string(dir.join("accounts.csv")).unwrap();
        assert_eq!(acc.lines().count(), 1 + 13 * 2);
        assert!(acc
            .lines()
            .next()
            .unwrap()
            .contains("equity,mm,im,delta,gamma,vega,theta"));
        let steps = std::fs::read_to_string(dir.join("steps.csv")).unwrap();
        assert_eq!(steps.lines().count(), 14);
        let last: Vec<&str> = steps.lines().last().unwrap().split(',').collect();
        assert_eq!(
            (last[2], last[3], last[6]),
            ("24.0000", "1300.0000", "1.2000")
        );
        let log = std::fs::read_to_string(dir.join("events.log")).unwrap();
        assert!(
            log.contains("auction_started")
                && log.contains("liquidated")
                && log.contains("feed_outage")
        );
        let sum = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(
            sum.contains(&format!(
                "| auctions started | {} |",
                r.totals.auctions_started
            )),
            "{sum}"
        );
        assert!(r.totals.auctions_started >= 1 && r.totals.bids >= 1);
        assert!(sum.contains("| liquidate | "));
        let spot = std::fs::read_to_string(dir.join("spot.svg")).unwrap();
        // Markers for the start and each bid; the outage band.
        assert_eq!(
            spot.matches("<circle").count(),
            r.totals.auctions_started as usize
        );
        assert!(spot.contains("feed outage"));
        let eq = std::fs::read_to_string(dir.join("equity_mm.svg")).unwrap();
        assert!(eq.contains("seller: equity vs maintenance margin") && eq.contains("liq: equity"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn table_flags_auctions_and_stale_feed() {
        let r = report();
        let h = table_header(&r);
        assert!(h.contains("seller") && h.contains("fund"));
        let started = r
            .events
            .iter()
            .find(|e| e.kind == "auction_started")
            .unwrap();
        let row = r.rows.iter().find(|x| x.time == started.time).unwrap();
        let line = table_row(&r, row, 3_600);
        assert!(line.contains("auction_started"), "{line}");
        let stale = r.rows.iter().find(|x| x.feed_age > 3_600).unwrap();
        assert!(table_row(&r, stale, 3_600).contains('*'));
        assert_eq!(money(12_345.0), "12.3k");
        assert_eq!(money(-450.2), "-450");
    }
}
