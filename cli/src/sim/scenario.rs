//! The scenario file (TOML) and its checks. Every error names the file, the line and the
//! field (`scenario.toml:12: field `trades[1].seller`: unknown account `bobb``), and the
//! binary exits 2 on it.
//!
//! The format is documented in `scenarios/README.md`; amounts are in quote units (USDC),
//! WETH in tokens, fractions as decimals (`0.05` is 5%), durations as seconds or
//! `"90s"`, `"15m"`, `"6h"`, `"30d"`.
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer};
use serde::Deserialize;
use toml::Spanned;

/// The clock of the execution environment at the start (2025-01-01 00:00:00 UTC).
pub const DEFAULT_START: u64 = 1_735_689_600;

/// A duration in seconds, written as an integer or `"<n>s|m|h|d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Secs(pub u64);

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Secs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a duration: seconds, or a string like \"90s\", \"15m\", \"6h\", \"30d\"",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Secs, E> {
                u64::try_from(v)
                    .map(Secs)
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Secs, E> {
                Ok(Secs(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secs, E> {
                parse_duration(v).map(Secs).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// `"90s"`, `"15m"`, `"6h"`, `"30d"`, `"1.5h"`, `"3h30m"` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let bad =
        || format!("`{s}` is not a duration (like \"90s\", \"15m\", \"6h\", \"3h30m\", \"30d\")");
    if s.is_empty() {
        return Err(bad());
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let unit_end = rest[num_end..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .map_or(rest.len(), |i| num_end + i);
        let (num, unit) = (&rest[..num_end], rest[num_end..unit_end].trim());
        let mult = match unit {
            "" if unit_end == rest.len() && total == 0.0 => 1.0,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3_600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            _ => {
                return Err(format!(
                    "unknown duration unit `{unit}` in `{s}` (use s, m, h, d, w)"
                ))
            }
        };
        let n: f64 = num.parse().map_err(|_| bad())?;
        total += n * mult;
        rest = &rest[unit_end..];
    }
    Ok(total.round() as u64)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Unix time of step 0 (default 2025-01-01).
    #[serde(default)]
    pub start: Option<u64>,
    pub market: Market,
    #[serde(default)]
    pub collateral: Collateral,
    /// Overrides of RiskReader.setParams (MarginParams field names).
    #[serde(default)]
    pub margin: BTreeMap<String, Spanned<f64>>,
    /// Overrides of KeeperModule.setLiquidationParams (LiquidationParams field names).
    #[serde(default)]
    pub liquidation: BTreeMap<String, Spanned<f64>>,
    #[serde(default)]
    pub insurance: Insurance,
    pub instruments: Vec<Instrument>,
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub trades: Vec<Trade>,
    pub path: PathSpec,
    pub keeper: Keeper,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Market {
    /// Spot at step 0 (the path may start elsewhere: its first point wins).
    pub spot: f64,
    /// ATM implied volatility of the posted surfaces at step 0.
    pub vol: f64,
    #[serde(default = "d_rate")]
    pub rate: f64,
    #[serde(default = "d_hour")]
    pub feed_max_age: Secs,
    #[serde(default = "d_hour")]
    pub surface_max_age: Secs,
    /// `"greeks"` (0) or `"full"` (1) revaluation.
    #[serde(default = "d_method")]
    pub method: Spanned<String>,
    #[serde(default = "d_ref_vol")]
    pub ref_vol: f64,
    #[serde(default = "d_lambda")]
    pub lambda: f64,
    #[serde(default = "d_stable_rate")]
    pub stable_rate: f64,
    /// SVI shape around the ATM vol (b per year of expiry, rho, m, sigma); flat if absent.
    #[serde(default)]
    pub skew: Option<Skew>,
}

fn d_rate() -> f64 {
    0.04
}
fn d_hour() -> Secs {
    Secs(3_600)
}
fn d_method() -> Spanned<String> {
    Spanned::new(0..0, "full".to_string())
}
fn d_ref_vol() -> f64 {
    0.8
}
fn d_lambda() -> f64 {
    0.94
}
fn d_stable_rate() -> f64 {
    0.0003
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skew {
    pub b: f64,
    pub rho: f64,
    #[serde(default)]
    pub m: f64,
    pub sigma: f64,
}

/// The WETH collateral's haircut configuration (CollateralVault.listAsset).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collateral {
    #[serde(default = "d_floor")]
    pub haircut_floor: f64,
    #[serde(default = "d_one")]
    pub vol_multiplier: f64,
    #[serde(default = "d_hmax")]
    pub haircut_max: f64,
    /// Market depth in WETH for the size term; 0 turns it off.
    #[serde(default)]
    pub liquidity_depth: f64,
    #[serde(default)]
    pub risk_offsetting: bool,
}

impl Default for Collateral {
    fn default() -> Self {
        Collateral {
            haircut_floor: d_floor(),
            vol_multiplier: d_one(),
            haircut_max: d_hmax(),
            liquidity_depth: 0.0,
            risk_offsetting: false,
        }
    }
}
fn d_floor() -> f64 {
    0.10
}
fn d_one() -> f64 {
    1.0
}
fn d_hmax() -> f64 {
    0.50
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Insurance {
    /// USDC deposited in the insurance fund's account.
    #[serde(default)]
    pub usdc: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    pub name: Spanned<String>,
    /// `put`, `call` or `future`.
    pub kind: Spanned<String>,
    #[serde(default = "zero")]
    pub strike: Spanned<f64>,
    /// Time from the start to expiry.
    pub expiry: Spanned<Secs>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub name: Spanned<String>,
    #[serde(default = "zero")]
    pub usdc: Spanned<f64>,
    #[serde(default = "zero")]
    pub weth: Spanned<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trade {
    pub buyer: Spanned<String>,
    pub seller: Spanned<String>,
    pub instrument: Spanned<String>,
    /// Contracts; with `repeat_until_refused`, the size of each fill.
    pub size: Spanned<f64>,
    /// Premium per contract (quote).
    pub price: f64,
    /// Repeats the fill until the engine refuses one (as much as IM allows), at most
    /// `max_fills` times.
    #[serde(default)]
    pub repeat_until_refused: bool,
    #[serde(default = "d_max_fills")]
    pub max_fills: u32,
}
fn zero() -> Spanned<f64> {
    Spanned::new(0..0, 0.0)
}
fn d_max_fills() -> u32 {
    500
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathSpec {
    /// Time between steps (ignored for a CSV path, whose rows are the steps).
    #[serde(default)]
    pub step: Option<Spanned<Secs>>,
    /// Key points, linearly interpolated: spot and/or vol at time `t` from the start.
    #[serde(default)]
    pub points: Vec<Point>,
    /// A CSV `timestamp,price` (path relative to the scenario file): one step per row.
    #[serde(default)]
    pub csv: Option<Spanned<String>>,
    /// Feed outages: no price round is published in `[from, to)`.
    #[serde(default)]
    pub outages: Vec<Outage>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub t: Spanned<Secs>,
    #[serde(default)]
    pub spot: Option<Spanned<f64>>,
    #[serde(default)]
    pub vol: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    pub from: Spanned<Secs>,
    pub to: Spanned<Secs>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keeper {
    /// The account that bids in auctions (and receives the start bounties).
    pub liquidator: Spanned<String>,
    /// Poke the oracle every step.
    #[serde(default = "d_true")]
    pub poke: bool,
    /// Bid only once the auction's discount reaches this (default: bid at once).
    #[serde(default)]
    pub min_discount: f64,
    /// Bid only if `fraction x bundle value - price` is at least this (quote).
    #[serde(default)]
    pub min_profit: f64,
    /// Largest portion asked per bid.
    #[serde(default = "d_one")]
    pub max_portion: f64,
    /// Record settlement prices and settle expired positions.
    #[serde(default = "d_true")]
    pub settle: bool,
}
fn d_true() -> bool {
    true
}

/// `x > 0` and finite (false for NaN).
pub fn positive(x: f64) -> bool {
    x > 0.0 && x.is_finite()
}

/// `x >= 0` and finite (false for NaN).
pub fn non_negative(x: f64) -> bool {
    x >= 0.0 && x.is_finite()
}

/// A scenario error: where, which field, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(
                f,
                "{}:{}: field `{}`: {}",
                self.file, self.line, self.field, self.message
            )
        }
    }
}

/// A parsed and checked scenario, with the source it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    pub file: String,
    pub dir: PathBuf,
    src: String,
}

/// 1-based line of a byte offset.
pub fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].matches('\n').count() + 1
}

/// The dotted name of the key on `line` (1-based), prefixed by the table it is in:
/// `[[trades]]` tables count (`trades[2].seller`).
pub fn field_at(src: &str, line: usize) -> String {
    let mut table = String::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut key = String::new();
    for (i, l) in src.lines().enumerate() {
        if i + 1 > line {
            break;
        }
        let t = l.trim();
        if let Some(h) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let h = h.trim().to_string();
            let n = counts.entry(h.clone()).or_insert(0);
            *n += 1;
            table = format!("{h}[{}]", *n);
            key.clear();
        } else if let Some(h) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = h.trim().to_string();
            key.clear();
        } else if i + 1 == line {
            if let Some((k, _)) = t.split_once('=') {
                let k = k.trim().trim_matches('"');
                if !k.is_empty() && !k.starts_with('#') {
                    key = k.to_string();
                }
            }
        }
    }
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

/// The table (`[x]` or `[[x]]`, numbered) that `line` is in.
pub fn table_at(src: &str, line: usize) -> String {
    let f = field_at(src, line);
    let is_key = src
        .lines()
        .nth(line.saturating_sub(1))
        .is_some_and(|l| !l.trim_start().starts_with('[') && l.contains('='));
    match (is_key, f.rsplit_once('.')) {
        (true, Some((t, _))) => t.to_string(),
        (true, None) => String::new(),
        (false, _) => f,
    }
}

impl Loaded {
    /// An error at a span of the source.
    pub fn err_at(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        let line = line_of(&self.src, span.start);
        ScenarioError {
            file: self.file.clone(),
            line,
            field: field_at(&self.src, line),
            message: message.into(),
        }
    }

    /// An error naming a field whose span is unknown (a missing table or a default).
    pub fn err_field(&self, field: &str, message: impl Into<String>) -> ScenarioError {
        let line = self
            .src
            .lines()
            .position(|l| {
                let t = l.trim();
                t == format!("[{field}]") || t.starts_with(&format!("{field} "))
            })
            .map_or(1, |i| i + 1);
        ScenarioError {
            file: self.file.clone(),
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The path of a file named in the scenario, relative to the scenario's folder.
    pub fn resolve(&self, rel: &str) -> PathBuf {
        let p = Path::new(rel);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }
}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: 0,
        field: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(&src, &file, dir)
}

/// Parses and checks scenario text (`file` names it in errors).
pub fn parse(src: &str, file: &str, dir: PathBuf) -> Result<Loaded, ScenarioError> {
    let scenario: Scenario = toml::from_str(src).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let line = line_of(src, span.start);
        let mut field = field_at(src, line);
        let msg = e.message().trim().to_string();
        // A missing field is reported at its table: name it.
        if let Some(m) = msg
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            let table = table_at(src, line);
            field = if table.is_empty() {
                m.to_string()
            } else {
                format!("{table}.{m}")
            };
        }
        ScenarioError {
            file: file.to_string(),
            line,
            field,
            message: msg,
        }
    })?;
    let loaded = Loaded {
        scenario,
        file: file.to_string(),
        dir,
        src: src.to_string(),
    };
    check(&loaded)?;
    Ok(loaded)
}

/// Names of the 12 margin parameters, in RiskReader.setParams order.
pub const MARGIN_FIELDS: [&str; 12] = [
    "vol_up",
    "vol_down",
    "mm_short_option",
    "im_short_option",
    "mm_future",
    "im_future",
    "im_multiplier",
    "im_positive_mtm",
    "theta_horizon_secs",
    "haircut_horizon_years",
    "size_coef",
    "max_shock_scale",
];

/// Names of the 10 liquidation parameters, in KeeperModule.setLiquidationParams order.
pub const LIQUIDATION_FIELDS: [&str; 10] = [
    "start_discount",
    "max_discount",
    "discount_duration_secs",
    "mm_buffer",
    "dust_mm",
    "bounty_fraction",
    "bounty_cap",
    "insurance_share",
    "insolvent_pay_cap",
    "insolvent_pay_duration_secs",
];

fn check(l: &Loaded) -> Result<(), ScenarioError> {
    let s = &l.scenario;
    let m = &s.market;
    if !positive(m.spot) {
        return Err(l.err_field("market.spot", "must be positive"));
    }
    if !(m.vol > 0.0 && m.vol <= 10.0) {
        return Err(l.err_field("market.vol", "must be in (0, 10]"));
    }
    if !matches!(m.method.get_ref().as_str(), "greeks" | "full") {
        return Err(l.err_at(
            m.method.span(),
            format!("`{}`: expected \"greeks\" or \"full\"", m.method.get_ref()),
        ));
    }
    for (k, v) in &s.margin {
        if !MARGIN_FIELDS.contains(&k.as_str()) {
            return Err(l.err_at(
                v.span(),
                format!(
                    "unknown margin parameter `{k}` (known: {})",
                    MARGIN_FIELDS.join(", ")
                ),
            ));
        }
        if !non_negative(*v.get_ref()) {
            return Err(l.err_at(v.span(), "must be a non-negative number"));
        }
    }
    for (k, v) in &s.liquidation {
        if !LIQUIDATION_FIELDS.contains(&k.as_str()) {
            return Err(l.err_at(
                v.span(),
                format!(
                    "unknown liquidation parameter `{k}` (known: {})",
                    LIQUIDATION_FIELDS.join(", ")
                ),
            ));
        }
        if !non_negative(*v.get_ref()) {
            return Err(l.err_at(v.span(), "must be a non-negative number"));
        }
    }
    let mut names = Vec::new();
    for i in &s.instruments {
        let name = i.name.get_ref();
        if names.contains(name) {
            return Err(l.err_at(
                i.name.span(),
                format!("instrument `{name}` is defined twice"),
            ));
        }
        names.push(name.clone());
        match i.kind.get_ref().as_str() {
            "put" | "call" => {
                if !positive(*i.strike.get_ref()) {
                    return Err(l.err_at(i.kind.span(), "an option needs a positive `strike`"));
                }
            }
            "future" => {
                if *i.strike.get_ref() != 0.0 {
                    return Err(l.err_at(i.strike.span(), "a future has no strike"));
                }
            }
            k => {
                return Err(l.err_at(
                    i.kind.span(),
                    format!("`{k}`: expected \"put\", \"call\" or \"future\""),
                ))
            }
        }
        if i.expiry.get_ref().0 == 0 {
            return Err(l.err_at(i.expiry.span(), "expiry must be after the start"));
        }
    }
    let mut accounts: Vec<&String> = Vec::new();
    for a in &s.accounts {
        if accounts.contains(&a.name.get_ref()) {
            return Err(l.err_at(
                a.name.span(),
                format!("account `{}` is defined twice", a.name.get_ref()),
            ));
        }
        accounts.push(a.name.get_ref());
        for v in [&a.usdc, &a.weth] {
            if !non_negative(*v.get_ref()) {
                return Err(l.err_at(v.span(), "a deposit cannot be negative"));
            }
        }
    }
    let known = |n: &Spanned<String>| -> Result<(), ScenarioError> {
        if accounts.contains(&n.get_ref()) {
            Ok(())
        } else {
            Err(l.err_at(
                n.span(),
                format!(
                    "unknown account `{}` (accounts: {})",
                    n.get_ref(),
                    accounts
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    };
    for t in &s.trades {
        known(&t.buyer)?;
        known(&t.seller)?;
        if t.buyer.get_ref() == t.seller.get_ref() {
            return Err(l.err_at(t.seller.span(), "buyer and seller are the same account"));
        }
        if !names.contains(t.instrument.get_ref()) {
            return Err(l.err_at(
                t.instrument.span(),
                format!("unknown instrument `{}`", t.instrument.get_ref()),
            ));
        }
        if !positive(*t.size.get_ref()) {
            return Err(l.err_at(t.size.span(), "size must be positive (the buyer buys)"));
        }
    }
    known(&s.keeper.liquidator)?;
    if !(s.keeper.max_portion > 0.0 && s.keeper.max_portion <= 1.0) {
        return Err(l.err_field("keeper.max_portion", "must be in (0, 1]"));
    }
    let p = &s.path;
    match (&p.csv, p.step.as_ref()) {
        (None, None) => {
            return Err(l.err_field("path", "needs `step` (with `points`) or `csv`"));
        }
        (None, Some(st)) if st.get_ref().0 == 0 => {
            return Err(l.err_at(st.span(), "step must be positive"));
        }
        _ => {}
    }
    if p.csv.is_none() && p.points.is_empty() {
        return Err(l.err_field("path", "needs at least one point (or a `csv`)"));
    }
    let mut last = None;
    for pt in &p.points {
        let t = pt.t.get_ref().0;
        if last.is_some_and(|x| t <= x) {
            return Err(l.err_at(pt.t.span(), "points must be in increasing time"));
        }
        last = Some(t);
        if let Some(v) = &pt.spot {
            if !positive(*v.get_ref()) {
                return Err(l.err_at(v.span(), "spot must be positive"));
            }
        }
        if let Some(v) = &pt.vol {
            if !(*v.get_ref() > 0.0 && *v.get_ref() <= 10.0) {
                return Err(l.err_at(v.span(), "vol must be in (0, 10]"));
            }
        }
    }
    for o in &p.outages {
        if o.to.get_ref() <= o.from.get_ref() {
            return Err(l.err_at(o.to.span(), "an outage must end after it starts"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const SMALL: &str = r#"
name = "small"

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
usdc = 500000

[[trades]]
buyer = "buyer"
seller = "seller"
instrument = "P2000"
size = 10
price = 150

[path]
step = "1h"
points = [ { t = 0, spot = 2000 }, { t = "6h", spot = 1700, vol = 0.9 } ]

[keeper]
liquidator = "buyer"
"#;

    fn err(src: &str) -> ScenarioError {
        parse(src, "s.toml", PathBuf::new()).unwrap_err()
    }

    #[test]
    fn a_good_file_parses_with_defaults() {
        let l = parse(SMALL, "s.toml", PathBuf::new()).unwrap();
        let s = &l.scenario;
        assert_eq!(s.market.feed_max_age, Secs(3_600));
        assert_eq!(s.instruments[0].expiry.get_ref().0, 30 * 86_400);
        assert_eq!(s.path.points[1].t.get_ref().0, 6 * 3_600);
        assert!(s.keeper.poke && s.keeper.settle);
        assert_eq!(s.collateral.haircut_floor, 0.10);
    }

    #[test]
    fn wrong_type_names_field_and_line() {
        let e = err(&SMALL.replace("size = 10", "size = \"ten\""));
        assert_eq!(e.line, 26, "{e}");
        assert_eq!(e.field, "trades[1].size", "{e}");
        assert!(
            e.to_string()
                .starts_with("s.toml:26: field `trades[1].size`"),
            "{e}"
        );
    }

    #[test]
    fn unknown_field_and_missing_field_are_named() {
        let e = err(&SMALL.replace("vol = 0.65", "vol = 0.65\nvolatility = 2"));
        assert_eq!((e.line, e.field.as_str()), (7, "market.volatility"), "{e}");
        assert!(e.message.contains("unknown field `volatility`"), "{e}");
        let e = err(&SMALL.replace("liquidator = \"buyer\"", ""));
        assert!(e.field.contains("liquidator"), "{e}");
    }

    #[test]
    fn semantic_errors_point_at_the_value() {
        let e = err(&SMALL.replace("seller = \"seller\"", "seller = \"sellr\""));
        assert_eq!((e.line, e.field.as_str()), (24, "trades[1].seller"), "{e}");
        assert!(e.message.contains("unknown account `sellr`"), "{e}");
        let e = err(&SMALL.replace("kind = \"put\"", "kind = \"straddle\""));
        assert_eq!(
            (e.line, e.field.as_str()),
            (10, "instruments[1].kind"),
            "{e}"
        );
        let e = err(&SMALL.replace("expiry = \"30d\"", "expiry = \"30 days\""));
        assert_eq!(e.line, 12, "{e}");
        assert!(e.message.contains("unknown duration unit"), "{e}");
        let e = err(&format!("{SMALL}\n[margin]\nvol_upp = 0.7\n"));
        assert_eq!(e.field, "margin.vol_upp", "{e}");
        assert!(e.message.contains("unknown margin parameter"), "{e}");
        let e = err(&SMALL.replace("{ t = \"6h\"", "{ t = \"0s\""));
        assert_eq!(e.field, "path.points", "{e}");
        assert!(e.message.contains("increasing"), "{e}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = err(&SMALL.replace("strike = 2000", "strike = = 2000"));
        assert_eq!(e.line, 11, "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("1.5h"), Ok(5_400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert_eq!(parse_duration("30"), Ok(30));
        assert_eq!(parse_duration("3h30m"), Ok(12_600));
        assert!(parse_duration("-1h").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1y").is_err());
    }
}
