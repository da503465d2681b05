//! The step loop and the keeper. Setup: parameters, instruments, accounts, deposits, the
//! insurance fund, surfaces, trades. Then per step: the clock moves, the feed publishes a
//! round (unless in an outage), the feeder reposts surfaces, and the keeper pokes the
//! oracle, records settlement prices and settles expired positions, starts auctions of
//! accounts below MM, bids when the auction is profitable, and ends auctions. Every
//! account is read after the keeper acted.
use std::collections::{BTreeMap, BTreeSet};

use stylus_margin::{
    decimal::parse_wad,
    fixed::WAD,
    instrument::{Kind, Terms},
    liquidation::LiquidationParams,
    margin::{MarginParams, YEAR},
};

use super::chain::{AccountId, Chain, InstrumentId, Revert, Risk, Token, Wad};
use super::path::Step;
use super::scenario::{Loaded, ScenarioError, LIQUIDATION_FIELDS, MARGIN_FIELDS};

/// A decimal number to WAD, exactly as written (`0.65` is 650000000000000000).
pub fn wad(x: f64) -> Wad {
    parse_wad(&format!("{x}")).unwrap_or((x * 1e18).round() as i128)
}

/// WAD to f64 (for display and charts).
pub fn f(x: Wad) -> f64 {
    x as f64 / 1e18
}

fn mul(a: Wad, b: Wad) -> Wad {
    stylus_margin::fixed::mul(a, b, stylus_margin::fixed::Rounding::Down)
        .unwrap_or_else(|_| (f(a) * f(b) * 1e18) as i128)
}

/// Margin parameters in force: defaults, then the scenario's overrides, checked against
/// the core's hard bounds (an error names the field and line).
pub fn margin_params(l: &Loaded) -> Result<MarginParams, ScenarioError> {
    let mut p = MarginParams::DEFAULT;
    for (k, v) in &l.scenario.margin {
        let x = *v.get_ref();
        let w = if k == "theta_horizon_secs" {
            x.round() as i128
        } else {
            wad(x)
        };
        let slot = match k.as_str() {
            "vol_up" => &mut p.vol_up,
            "vol_down" => &mut p.vol_down,
            "mm_short_option" => &mut p.mm_short_option,
            "im_short_option" => &mut p.im_short_option,
            "mm_future" => &mut p.mm_future,
            "im_future" => &mut p.im_future,
            "im_multiplier" => &mut p.im_multiplier,
            "im_positive_mtm" => &mut p.im_positive_mtm,
            "theta_horizon_secs" => &mut p.theta_horizon_secs,
            "haircut_horizon_years" => &mut p.haircut_horizon_years,
            "size_coef" => &mut p.size_coef,
            "max_shock_scale" => &mut p.max_shock_scale,
            _ => unreachable!("checked by the parser"),
        };
        *slot = w;
    }
    if let Err(i) = p.validate() {
        let name = MARGIN_FIELDS[i as usize];
        let msg = "outside the core's hard bounds (stylus_margin::margin::MarginParams::validate)";
        return Err(match l.scenario.margin.get(name) {
            Some(v) => l.err_at(v.span(), msg),
            None => l.err_field(&format!("margin.{name}"), msg),
        });
    }
    Ok(p)
}

/// Liquidation parameters in force, checked like the margin ones.
pub fn liquidation_params(l: &Loaded) -> Result<LiquidationParams, ScenarioError> {
    let mut p = LiquidationParams::DEFAULT;
    for (k, v) in &l.scenario.liquidation {
        let x = *v.get_ref();
        match k.as_str() {
            "start_discount" => p.start_discount = wad(x),
            "max_discount" => p.max_discount = wad(x),
            "discount_duration_secs" => p.discount_duration_secs = x.round() as u64,
            "mm_buffer" => p.mm_buffer = wad(x),
            "dust_mm" => p.dust_mm = wad(x),
            "bounty_fraction" => p.bounty_fraction = wad(x),
            "bounty_cap" => p.bounty_cap = wad(x),
            "insurance_share" => p.insurance_share = wad(x),
            "insolvent_pay_cap" => p.insolvent_pay_cap = wad(x),
            "insolvent_pay_duration_secs" => p.insolvent_pay_duration_secs = x.round() as u64,
            _ => unreachable!("checked by the parser"),
        }
    }
    if let Err(e) = p.validate() {
        let which = match e {
            stylus_margin::liquidation::LiquidationError::ParamOutOfBounds { which, .. } => {
                which as usize
            }
            _ => 0,
        };
        // ParamField discriminants are the 0-based positions, in setLiquidationParams order.
        let name = LIQUIDATION_FIELDS[which.min(9)];
        let msg = "outside the core's hard bounds (stylus_margin::liquidation::LiquidationParams::validate)";
        return Err(match l.scenario.liquidation.get(name) {
            Some(v) => l.err_at(v.span(), msg),
            None => l.err_field(&format!("liquidation.{name}"), msg),
        });
    }
    Ok(p)
}

/// The 10 words of KeeperModule.setLiquidationParams.
pub fn liquidation_words(p: &LiquidationParams) -> [u128; 10] {
    p.to_values().map(|x| x as u128)
}

/// SVI parameters `[a, b, rho, m, sigma]` whose ATM implied vol is `vol` at `years` to
/// expiry: flat (`b = 0`) or the scenario's skew with `b` scaled by the years.
pub fn svi(vol: f64, years: f64, skew: Option<super::scenario::Skew>) -> [Wad; 5] {
    match skew {
        None => [wad_f(vol * vol * years), 0, 0, 0, WAD / 10],
        Some(s) => {
            let b = s.b * years;
            let atm = -s.rho * s.m + (s.m * s.m + s.sigma * s.sigma).sqrt();
            let a = vol * vol * years - b * atm;
            [wad_f(a), wad_f(b), wad(s.rho), wad(s.m), wad(s.sigma)]
        }
    }
}

/// f64 to WAD by scaling (for computed values).
fn wad_f(x: f64) -> Wad {
    (x * 1e18).round() as i128
}

/// Display of a unix time as `YYYY-MM-DD HH:MM` (UTC).
pub fn utc(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3_600,
        secs / 60 % 60
    )
}

/// One account at one step.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountRow {
    pub risk: Risk,
    /// Whether the reading failed (the contract reverted).
    pub unreadable: bool,
    pub in_auction: bool,
}

/// One step.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub step: usize,
    pub time: u64,
    pub elapsed: u64,
    /// The path's (true) spot.
    pub spot: f64,
    /// The feed's latest published price and its age.
    pub feed_price: f64,
    pub feed_age: u64,
    pub vol: f64,
    pub accounts: Vec<AccountRow>,
    pub insurance: Wad,
    pub deficit: Wad,
    pub events: usize,
}

/// What happened: one line of the events log.
#[derive(Debug, Clone)]
pub struct Event {
    pub step: usize,
    pub time: u64,
    pub kind: &'static str,
    pub account: String,
    pub detail: String,
    pub gas: Option<u64>,
}

/// Gas per operation kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct GasStat {
    pub count: u64,
    pub total: u64,
    pub min: u64,
    pub max: u64,
}

/// Totals for the summary.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub auctions_started: u32,
    pub starts_refused: u32,
    pub starts_refused_stale: u32,
    pub bids: u32,
    pub bids_refused: u32,
    pub taken_whole: u32,
    pub auctions_ended: u32,
    /// Given up by liquidated accounts: sum of `f x d x |B|`.
    pub discount_paid: Wad,
    /// Of which to the insurance fund.
    pub insurance_fees: Wad,
    pub bounties: Wad,
    /// Paid by the fund (insolvent pay, bad-debt cover).
    pub insurance_paid: Wad,
    pub deficit: Wad,
    pub settlements_recorded: u32,
    pub accounts_settled: u32,
    pub pokes_refused: u32,
    pub trades: u32,
}

/// A liquidation on the spot chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    Start,
    Bid,
    Settle,
}

/// Everything a run produced.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub name: String,
    pub description: String,
    pub accounts: Vec<String>,
    pub account_ids: Vec<AccountId>,
    pub rows: Vec<StepRow>,
    pub events: Vec<Event>,
    pub gas: BTreeMap<String, GasStat>,
    pub totals: Totals,
    pub marks: Vec<(u64, f64, MarkKind)>,
    /// Outage windows (unix times).
    pub outages: Vec<(u64, u64)>,
    pub margin: Option<MarginParams>,
    pub liquidation: Option<LiquidationParams>,
    pub insurance_start: Wad,
}

/// A failure of the run itself (setup refused by the chain).
#[derive(Debug)]
pub enum SimError {
    Scenario(ScenarioError),
    Chain(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::Scenario(e) => e.fmt(f),
            SimError::Chain(e) => f.write_str(e),
        }
    }
}

impl From<ScenarioError> for SimError {
    fn from(e: ScenarioError) -> Self {
        SimError::Scenario(e)
    }
}

struct Acct {
    name: String,
    id: AccountId,
    in_auction: bool,
}

struct Sim<'a, C: Chain> {
    chain: &'a mut C,
    l: &'a Loaded,
    report: Report,
    accts: Vec<Acct>,
    liq: usize,
    fund: Option<AccountId>,
    instruments: Vec<(String, Terms, InstrumentId)>,
    rounds: Vec<(u128, u64)>,
    settled: BTreeSet<u64>,
    step: usize,
    liq_params: LiquidationParams,
    last_post: Option<(u64, f64)>,
    current_spot: f64,
}

impl<C: Chain> Sim<'_, C> {
    fn gas(&mut self, kind: &str, gas: u64) {
        let g = self.report.gas.entry(kind.to_string()).or_default();
        g.min = if g.count == 0 { gas } else { g.min.min(gas) };
        g.max = g.max.max(gas);
        g.count += 1;
        g.total += gas;
    }

    /// Counts a transaction's gas under `kind` (or `kind (reverted)`), passing it on.
    fn tx<T>(&mut self, kind: &str, r: Result<(T, u64), Revert>) -> Result<(T, u64), Revert> {
        match &r {
            Ok((_, g)) => self.gas(kind, *g),
            Err(e) => self.gas(&format!("{kind} (reverted)"), e.gas),
        }
        r
    }

    fn event(&mut self, kind: &'static str, account: &str, detail: String, gas: Option<u64>) {
        self.report.events.push(Event {
            step: self.step,
            time: self.chain.now(),
            kind,
            account: account.to_string(),
            detail,
            gas,
        });
    }

    fn setup_err(&self, what: &str, e: &Revert) -> SimError {
        SimError::Chain(format!("setup: {what} reverted: {}", e.error))
    }

    fn setup(&mut self, steps: &[Step]) -> Result<(), SimError> {
        let s = &self.l.scenario;
        let start = self.chain.now();
        self.rounds.push(self.chain.initial_round());
        if !s.margin.is_empty() {
            let p = margin_params(self.l)?;
            let r = self.chain.set_margin_params(p.to_limbs());
            let (_, g) = self
                .tx("setParams", r)
                .map_err(|e| self.setup_err("RiskReader.setParams", &e))?;
            self.event(
                "params",
                "",
                format!("RiskReader.setParams {:?}", p.to_limbs()),
                Some(g),
            );
            self.report.margin = Some(p);
        }
        let lp = liquidation_params(self.l)?;
        if !s.liquidation.is_empty() {
            let r = self.chain.set_liquidation_params(liquidation_words(&lp));
            let (_, g) = self
                .tx("setLiquidationParams", r)
                .map_err(|e| self.setup_err("KeeperModule.setLiquidationParams", &e))?;
            self.event(
                "params",
                "",
                format!(
                    "KeeperModule.setLiquidationParams {:?}",
                    liquidation_words(&lp)
                ),
                Some(g),
            );
            self.report.liquidation = Some(lp);
        }
        self.liq_params = lp;
        for i in &s.instruments {
            let kind = match i.kind.get_ref().as_str() {
                "put" => Kind::Put,
                "call" => Kind::Call,
                _ => Kind::Future,
            };
            let terms = Terms {
                kind,
                underlying: super::UNDERLYING,
                expiry: start + i.expiry.get_ref().0,
                strike: wad(*i.strike.get_ref()) as u128,
            };
            let r = self.chain.list_instrument(&terms);
            let (id, g) = self.tx("listInstrument", r).map_err(|e| {
                SimError::Scenario(self.l.err_at(
                    i.name.span(),
                    format!("the registry refused the listing: {}", e.error),
                ))
            })?;
            self.event(
                "listed",
                "",
                format!("{} expiry {}", i.name.get_ref(), utc(terms.expiry)),
                Some(g),
            );
            self.instruments.push((i.name.get_ref().clone(), terms, id));
        }
        for a in &s.accounts {
            let r = self.chain.open_account();
            let (id, g) = self
                .tx("openAccount", r)
                .map_err(|e| self.setup_err("openAccount", &e))?;
            let name = a.name.get_ref().clone();
            self.event("opened", &name, format!("vault account {id}"), Some(g));
            for (tok, amt) in [
                (Token::Usdc, *a.usdc.get_ref()),
                (Token::Weth, *a.weth.get_ref()),
            ] {
                if amt > 0.0 {
                    let r = self.chain.deposit(id, tok, wad(amt));
                    let (_, g) = self
                        .tx("deposit", r)
                        .map_err(|e| self.setup_err("deposit", &e))?;
                    self.event("deposit", &name, format!("{amt} {tok:?}"), Some(g));
                }
            }
            self.report.accounts.push(name.clone());
            self.report.account_ids.push(id);
            self.accts.push(Acct {
                name,
                id,
                in_auction: false,
            });
        }
        self.liq = self
            .accts
            .iter()
            .position(|a| &a.name == s.keeper.liquidator.get_ref())
            .expect("checked by the parser");
        // The insurance fund: its own account (set even when empty: fees need it).
        let r = self.chain.open_account();
        let (fund, g) = self
            .tx("openAccount", r)
            .map_err(|e| self.setup_err("openAccount", &e))?;
        self.event(
            "opened",
            "insurance",
            format!("vault account {fund}"),
            Some(g),
        );
        if s.insurance.usdc > 0.0 {
            let r = self.chain.deposit(fund, Token::Usdc, wad(s.insurance.usdc));
            let (_, g) = self
                .tx("deposit", r)
                .map_err(|e| self.setup_err("deposit", &e))?;
            self.event(
                "deposit",
                "insurance",
                format!("{} Usdc", s.insurance.usdc),
                Some(g),
            );
        }
        let r = self.chain.set_insurance_account(fund);
        self.tx("setInsuranceAccount", r)
            .map_err(|e| self.setup_err("setInsuranceAccount", &e))?;
        self.fund = Some(fund);
        self.report.insurance_start = self.chain.cash(fund);
        self.post_surfaces(steps[0].vol, true);
        for t in &s.trades {
            let find = |n: &String| {
                self.accts
                    .iter()
                    .find(|a| &a.name == n)
                    .map(|a| a.id)
                    .unwrap()
            };
            let (buyer, seller) = (find(t.buyer.get_ref()), find(t.seller.get_ref()));
            let id = self
                .instruments
                .iter()
                .find(|i| &i.0 == t.instrument.get_ref())
                .map(|i| i.2)
                .unwrap();
            let (size, price) = (wad(*t.size.get_ref()), wad(t.price));
            let mut fills = 0u32;
            let mut gas = 0;
            let refused = loop {
                let r = self.chain.trade(buyer, seller, id, size, price);
                match self.tx("trade", r) {
                    Ok((_, g)) => {
                        fills += 1;
                        gas += g;
                        self.report.totals.trades += 1;
                        if !t.repeat_until_refused || fills >= t.max_fills {
                            break None;
                        }
                    }
                    Err(e) => break Some(e),
                }
            };
            let what = format!(
                "{} buys {} x {} {} from {} at {}",
                t.buyer.get_ref(),
                fills,
                t.size.get_ref(),
                t.instrument.get_ref(),
                t.seller.get_ref(),
                t.price
            );
            match refused {
                Some(e) if fills == 0 => {
                    return Err(SimError::Scenario(self.l.err_at(
                        t.size.span(),
                        format!("the engine refused the trade: {}", e.error),
                    )))
                }
                Some(e) => self.event(
                    "trade",
                    t.seller.get_ref(),
                    format!("{what}; next fill refused: {}", e.error),
                    Some(gas),
                ),
                None => self.event("trade", t.seller.get_ref(), what, Some(gas)),
            }
        }
        Ok(())
    }

    /// The feeder posts every live expiry's surface when the vol moved or the last post is
    /// older than half the surface's maximum age.
    fn post_surfaces(&mut self, vol: f64, force: bool) {
        let now = self.chain.now();
        let max_age = self.l.scenario.market.surface_max_age.0;
        let expiries: BTreeSet<u64> = self
            .instruments
            .iter()
            .filter(|i| i.1.kind.is_option())
            .map(|i| i.1.expiry)
            .collect();
        let due = force
            || self
                .last_post
                .is_none_or(|(t, v)| v != vol || now.saturating_sub(t) >= max_age / 2);
        if !due {
            return;
        }
        for e in expiries.into_iter().filter(|&e| e > now) {
            let years = (e - now) as f64 / YEAR as f64;
            let r = self
                .chain
                .post_surface(e, svi(vol, years, self.l.scenario.market.skew));
            if let Err(err) = self.tx("postSurface", r) {
                self.event(
                    "surface_refused",
                    "",
                    format!("expiry {}: {}", utc(e), err.error),
                    Some(err.gas),
                );
            }
        }
        self.last_post = Some((now, vol));
    }
}

impl<C: Chain> Sim<'_, C> {
    fn walk(&mut self, steps: &[Step], progress: &mut dyn FnMut(&Report)) {
        let start = self.chain.now();
        let mut feed = (steps[0].spot, start);
        for (k, st) in steps.iter().enumerate() {
            self.step = k;
            let now = start + st.t;
            if now > self.chain.now() {
                self.chain.set_time(now);
            }
            let events_before = self.report.events.len();
            self.current_spot = st.spot;
            if st.feed_live {
                let id = self.chain.push_price(wad_f(st.spot));
                self.rounds.push((id, now));
                feed = (st.spot, now);
            } else if k > 0 && steps[k - 1].feed_live {
                self.event(
                    "feed_outage",
                    "",
                    format!("no round published from {}", utc(now)),
                    None,
                );
            }
            if st.feed_live && k > 0 && !steps[k - 1].feed_live {
                self.event("feed_back", "", format!("round at {:.2}", st.spot), None);
            }
            self.post_surfaces(st.vol, false);
            self.keeper();
            let accounts: Vec<AccountRow> = (0..self.accts.len())
                .map(|i| {
                    let id = self.accts[i].id;
                    let r = self.chain.risk(id);
                    AccountRow {
                        unreadable: r.is_err(),
                        risk: r.unwrap_or_default(),
                        in_auction: self.accts[i].in_auction,
                    }
                })
                .collect();
            let insurance = self.fund.map_or(0, |a| self.chain.cash(a));
            let deficit = self.chain.deficit();
            self.report.rows.push(StepRow {
                step: k,
                time: now,
                elapsed: st.t,
                spot: st.spot,
                feed_price: feed.0,
                feed_age: now - feed.1,
                vol: st.vol,
                accounts,
                insurance,
                deficit,
                events: self.report.events.len() - events_before,
            });
            progress(&self.report);
        }
        self.report.totals.deficit = self.chain.deficit();
    }

    fn keeper(&mut self) {
        let now = self.chain.now();
        let kp = self.l.scenario.keeper.clone();
        if kp.poke {
            let r = self.chain.poke();
            if let Err(e) = self.tx("poke", r) {
                self.report.totals.pokes_refused += 1;
                self.event("poke_refused", "", e.error.clone(), Some(e.gas));
            }
        }
        if kp.settle {
            self.settle(now);
        }
        let liq_id = self.accts[self.liq].id;
        for i in 0..self.accts.len() {
            if i == self.liq {
                continue;
            }
            let (id, name) = (self.accts[i].id, self.accts[i].name.clone());
            let Ok(risk) = self.chain.risk(id) else {
                continue;
            };
            if !self.accts[i].in_auction && risk.mm > 0 && risk.equity < risk.mm {
                let r = self.chain.start_liquidation(id, liq_id);
                match self.tx("startLiquidation", r) {
                    Ok((bounty, g)) => {
                        self.accts[i].in_auction = true;
                        self.report.totals.auctions_started += 1;
                        self.report.totals.bounties += bounty;
                        self.mark(MarkKind::Start);
                        self.event(
                            "auction_started",
                            &name,
                            format!(
                                "equity {:.2} < MM {:.2}; bounty {:.2}",
                                f(risk.equity),
                                f(risk.mm),
                                f(bounty)
                            ),
                            Some(g),
                        );
                    }
                    Err(e) => {
                        self.report.totals.starts_refused += 1;
                        if e.name() == "StaleOracle" {
                            self.report.totals.starts_refused_stale += 1;
                        }
                        self.event(
                            "start_refused",
                            &name,
                            format!(
                                "equity {:.2} < MM {:.2} on the last reading; {}",
                                f(risk.equity),
                                f(risk.mm),
                                e.error
                            ),
                            Some(e.gas),
                        );
                    }
                }
            }
            if self.accts[i].in_auction {
                self.bid(i, &kp);
            }
        }
    }

    fn mark(&mut self, kind: MarkKind) {
        let t = self.chain.now();
        let spot = self.current_spot;
        self.report.marks.push((t, spot, kind));
    }

    /// Bids on the account's auction while it is profitable, then ends it when nothing
    /// more can be taken.
    fn bid(&mut self, i: usize, kp: &super::scenario::Keeper) {
        let (id, name) = (self.accts[i].id, self.accts[i].name.clone());
        let liq_id = self.accts[self.liq].id;
        let mut portion = wad(kp.max_portion);
        for _ in 0..6 {
            let view = match self.chain.auction(id, portion) {
                Ok(v) => v,
                Err(e) => {
                    self.event("auction_unreadable", &name, e, None);
                    return;
                }
            };
            if view.started_at == 0 {
                self.accts[i].in_auction = false;
                return;
            }
            if view.max_fraction == 0 {
                let r = self.chain.end_auction(id);
                match self.tx("endAuction", r) {
                    Ok((_, g)) => {
                        self.accts[i].in_auction = false;
                        self.report.totals.auctions_ended += 1;
                        self.event(
                            "auction_ended",
                            &name,
                            "back above (1 + buffer) x MM".into(),
                            Some(g),
                        );
                    }
                    Err(e) => self.event("end_refused", &name, e.error.clone(), Some(e.gas)),
                }
                return;
            }
            let Ok(risk) = self.chain.risk(id) else {
                return;
            };
            let fr = view.max_fraction.min(portion);
            let profit = mul(fr, risk.bundle) - view.price;
            if view.discount < wad(kp.min_discount) || profit < wad(kp.min_profit) {
                self.event(
                    "bid_deferred",
                    &name,
                    format!(
                        "discount {:.2}%, expected profit {:.2} for {:.1}%",
                        f(view.discount) * 100.0,
                        f(profit),
                        f(fr) * 100.0
                    ),
                    None,
                );
                return;
            }
            let r = self.chain.liquidate(id, liq_id, portion, view.price);
            match self.tx("liquidate", r) {
                Ok((fill, g)) => {
                    let given_up = mul(fill.fraction, mul(fill.discount, risk.bundle.abs()));
                    let t = &mut self.report.totals;
                    t.bids += 1;
                    t.discount_paid += given_up;
                    t.insurance_fees += fill.insurance_fee;
                    t.insurance_paid += fill.insurance_paid;
                    if fill.fraction == WAD {
                        t.taken_whole += 1;
                    }
                    self.mark(MarkKind::Bid);
                    self.event(
                        "liquidated",
                        &name,
                        format!(
                            "{:.2}% taken at discount {:.2}% (bundle {:.2}); paid {:.2}, discount given up {:.2}, insurance fee {:.2}{}{}",
                            f(fill.fraction) * 100.0,
                            f(fill.discount) * 100.0,
                            f(risk.bundle),
                            f(fill.price),
                            f(given_up),
                            f(fill.insurance_fee),
                            if fill.insurance_paid != 0 { format!(", fund paid {:.2}", f(fill.insurance_paid)) } else { String::new() },
                            if fill.deficit != 0 { format!(", DEFICIT {:.2}", f(fill.deficit)) } else { String::new() },
                        ),
                        Some(g),
                    );
                    if fill.ended {
                        self.accts[i].in_auction = false;
                        self.report.totals.auctions_ended += 1;
                        self.event("auction_ended", &name, "taken whole".into(), None);
                        return;
                    }
                }
                Err(e) => {
                    self.report.totals.bids_refused += 1;
                    self.event("bid_refused", &name, e.error.clone(), Some(e.gas));
                    match e.name() {
                        // The liquidator cannot carry it all: ask for less.
                        "LiquidatorUnderIM" if portion > WAD / 64 => portion /= 2,
                        _ => return,
                    }
                }
            }
        }
    }

    /// Records the settlement price of each expiry passed (naming the first round at or
    /// after it) and settles every account's expired positions.
    fn settle(&mut self, now: u64) {
        let expiries: BTreeSet<u64> = self
            .instruments
            .iter()
            .map(|i| i.1.expiry)
            .filter(|&e| e <= now)
            .collect();
        for e in expiries {
            if !self.settled.contains(&e) {
                let Some(&(round, at)) = self.rounds.iter().find(|r| r.1 >= e) else {
                    continue;
                };
                let r = self.chain.record_settlement(e, round);
                match self.tx("recordSettlement", r) {
                    Ok((price, g)) => {
                        self.settled.insert(e);
                        self.report.totals.settlements_recorded += 1;
                        self.mark(MarkKind::Settle);
                        self.event(
                            "settlement_recorded",
                            "",
                            format!(
                                "expiry {}: round {round} of {} at {:.2}",
                                utc(e),
                                utc(at),
                                f(price)
                            ),
                            Some(g),
                        );
                    }
                    Err(err) => {
                        self.event(
                            "settlement_refused",
                            "",
                            format!("expiry {}: {}", utc(e), err.error),
                            Some(err.gas),
                        );
                        continue;
                    }
                }
            }
            let ids: Vec<InstrumentId> = self
                .instruments
                .iter()
                .filter(|i| i.1.expiry == e)
                .map(|i| i.2)
                .collect();
            let mut holders: Vec<(AccountId, String)> =
                self.accts.iter().map(|a| (a.id, a.name.clone())).collect();
            holders.extend(self.fund.map(|f| (f, "insurance".to_string())));
            for (acct, name) in holders {
                let held: Vec<InstrumentId> = self
                    .chain
                    .positions(acct)
                    .into_iter()
                    .filter(|(id, size)| *size != 0 && ids.contains(id))
                    .map(|p| p.0)
                    .collect();
                if held.is_empty() {
                    continue;
                }
                let before = self.chain.cash(acct);
                let r = self.chain.settle(acct, &held);
                match self.tx("settle", r) {
                    Ok((_, g)) => {
                        self.report.totals.accounts_settled += 1;
                        let after = self.chain.cash(acct);
                        self.event(
                            "settled",
                            &name,
                            format!("{} position(s); cash {:+.2}", held.len(), f(after - before)),
                            Some(g),
                        );
                    }
                    Err(err) => {
                        self.event("settle_refused", &name, err.error.clone(), Some(err.gas))
                    }
                }
            }
        }
    }
}

/// Runs a loaded scenario on a chain whose clock is at the start. `progress` sees the
/// report after each step.
pub fn run<C: Chain>(
    chain: &mut C,
    l: &Loaded,
    steps: &[Step],
    progress: &mut dyn FnMut(&Report),
) -> Result<Report, SimError> {
    let start = chain.now();
    let mut sim = Sim {
        chain,
        l,
        report: Report {
            name: l.scenario.name.clone(),
            description: l.scenario.description.clone(),
            ..Report::default()
        },
        accts: Vec::new(),
        liq: 0,
        fund: None,
        instruments: Vec::new(),
        rounds: Vec::new(),
        settled: BTreeSet::new(),
        step: 0,
        liq_params: LiquidationParams::DEFAULT,
        last_post: None,
        current_spot: steps[0].spot,
    };
    sim.report.outages = l
        .scenario
        .path
        .outages
        .iter()
        .map(|o| (start + o.from.get_ref().0, start + o.to.get_ref().0))
        .collect();
    sim.setup(steps)?;
    sim.walk(steps, progress);
    Ok(sim.report)
}

#[cfg(test)]
mod tests {
    use super::super::{path, scenario::parse, testchain::TestChain};
    use super::*;
    use std::path::PathBuf;

    const BASE: &str = r#"
name = "t"
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
[[accounts]]
name = "liquidator"
usdc = 2000000
[[trades]]
buyer = "buyer"
seller = "seller"
instrument = "P2000"
size = 20
price = 150
[insurance]
usdc = 10000
"#;

    fn play(extra: &str) -> (Report, TestChain) {
        let l = parse(&format!("{BASE}{extra}"), "t.toml", PathBuf::new()).unwrap();
        let steps = path::build(&l).unwrap();
        let mut c = TestChain::new(
            super::super::scenario::DEFAULT_START,
            wad(l.scenario.market.spot),
            3_600,
        );
        let r = run(&mut c, &l, &steps, &mut |_| {}).unwrap();
        (r, c)
    }

    fn events<'a>(r: &'a Report, kind: &str) -> Vec<&'a Event> {
        r.events.iter().filter(|e| e.kind == kind).collect()
    }

    const CRASH: &str = r#"
[path]
step = "1h"
points = [ { t = "24h", spot = 1300 } ]
[keeper]
liquidator = "liquidator"
"#;

    #[test]
    fn a_crash_starts_an_auction_on_the_short_put_seller_and_the_keeper_bids() {
        let (r, _) = play(CRASH);
        assert_eq!(r.rows.len(), 25);
        let starts = events(&r, "auction_started");
        assert!(!starts.is_empty());
        assert!(starts.iter().all(|e| e.account == "seller"), "{starts:?}");
        let bids = events(&r, "liquidated");
        assert!(!bids.is_empty() && bids.iter().all(|e| e.account == "seller"));
        // The first bid comes at the start's step: the discount is the start discount.
        assert_eq!(bids[0].time, starts[0].time);
        assert!(
            bids[0].detail.contains("discount 5.00%"),
            "{}",
            bids[0].detail
        );
        assert!(r.totals.discount_paid > 0 && r.totals.insurance_fees > 0);
        assert_eq!(r.totals.bids, bids.len() as u32);
        // Rows: one per step, every account read; the seller was below MM at the start.
        let k = r
            .rows
            .iter()
            .position(|x| x.time == starts[0].time)
            .unwrap();
        assert!(r.rows[k - 1].accounts[0].risk.equity >= r.rows[k - 1].accounts[0].risk.mm);
        assert!(r.rows.iter().all(|x| x.accounts.len() == 3));
        assert!(r.gas["startLiquidation"].count >= 1 && r.gas["liquidate"].total > 0);
        // The bid goes to the liquidator, which ends up short the puts.
        assert!(r.rows.last().unwrap().accounts[2].risk.mm > 0);
    }

    #[test]
    fn the_keeper_waits_for_its_minimum_discount() {
        let (r, _) = play(&CRASH.replace(
            "liquidator = \"liquidator\"",
            "liquidator = \"liquidator\"\nmin_discount = 0.3",
        ));
        let starts = events(&r, "auction_started");
        let bids = events(&r, "liquidated");
        assert!(!events(&r, "bid_deferred").is_empty());
        // 30% is reached 15 minutes after the start: the next hourly step.
        assert_eq!(bids[0].time, starts[0].time + 3_600);
        assert!(
            bids[0].detail.contains("discount 30.00%"),
            "{}",
            bids[0].detail
        );
    }

    #[test]
    fn no_auction_while_the_feed_is_stale() {
        let (r, c) = play(
            r#"
[path]
step = "1h"
points = [ { t = "2h", spot = 2000 }, { t = "4h", spot = 1300 }, { t = "24h", spot = 1300 } ]
outages = [ { from = "2h", to = "14h" } ]
[keeper]
liquidator = "liquidator"
"#,
        );
        let (from, to) = r.outages[0];
        // Stale from one hour (the feed's maximum age) after the last round.
        for e in events(&r, "auction_started")
            .iter()
            .chain(events(&r, "liquidated").iter())
        {
            assert!(e.time < from + 3_600 || e.time >= to, "{e:?}");
        }
        assert_eq!(
            events(&r, "auction_started")[0].time,
            to,
            "starts when data is fresh again"
        );
        assert!(r.totals.pokes_refused >= 10);
        // No round was published inside the outage.
        let pushes = c.calls.iter().filter(|x| x.starts_with("push")).count();
        assert_eq!(pushes, r.rows.len() - 12);
        assert!(r.rows.iter().any(|x| x.feed_age > 3_600));
    }

    #[test]
    fn expiry_is_settled_on_the_first_round_at_or_after_it() {
        let src = r#"
[path]
step = "7h"
points = [ { t = "32d", spot = 1900 } ]
[keeper]
liquidator = "liquidator"
"#;
        let (r, mut c) = play(src);
        let expiry = super::super::scenario::DEFAULT_START + 30 * 86_400;
        // A step is placed exactly at expiry: its round is the settlement round.
        assert!(r.rows.iter().any(|x| x.time == expiry));
        let rec: Vec<&String> = c.calls.iter().filter(|x| x.starts_with("record")).collect();
        assert_eq!(rec.len(), 1, "{rec:?}");
        assert_eq!(r.totals.settlements_recorded, 1);
        assert_eq!(r.totals.accounts_settled, 2);
        for id in r.account_ids.clone() {
            assert!(c.positions(id).iter().all(|p| p.1 == 0));
        }
        let ev = events(&r, "settlement_recorded");
        assert!(
            ev[0].detail.contains("2025-01-31 00:00"),
            "{}",
            ev[0].detail
        );
    }

    #[test]
    fn out_of_bounds_parameters_name_the_field() {
        let src = format!("{BASE}{CRASH}\n[margin]\nvol_up = 4\n");
        let l = parse(&src, "t.toml", PathBuf::new()).unwrap();
        let e = margin_params(&l).unwrap_err();
        assert_eq!(e.field, "margin.vol_up");
        assert_eq!(
            e.line,
            src.lines().position(|l| l.starts_with("vol_up")).unwrap() + 1
        );
        let l = parse(
            &format!("{BASE}{CRASH}\n[liquidation]\nmax_discount = 0.6\n"),
            "t.toml",
            PathBuf::new(),
        )
        .unwrap();
        assert_eq!(
            liquidation_params(&l).unwrap_err().field,
            "liquidation.max_discount"
        );
        let l = parse(
            &format!(
                "{BASE}{CRASH}\n[liquidation]\nstart_discount = 0.02\ndiscount_duration_secs = 600\n"
            ),
            "t.toml",
            PathBuf::new(),
        )
        .unwrap();
        let p = liquidation_params(&l).unwrap();
        assert_eq!(
            (p.start_discount, p.discount_duration_secs),
            (WAD / 50, 600)
        );
        assert_eq!(liquidation_words(&p)[2], 600);
    }

    #[test]
    fn decimals_are_exact_and_surfaces_hit_the_atm_vol() {
        assert_eq!(wad(0.65), 650_000_000_000_000_000);
        assert_eq!(wad(2000.0), 2_000 * WAD);
        let flat = svi(0.65, 30.0 / 365.0, None);
        assert_eq!(flat[1], 0);
        assert!((f(flat[0]) - 0.65f64.powi(2) * 30.0 / 365.0).abs() < 1e-15);
        let s = super::super::scenario::Skew {
            b: 0.2,
            rho: -0.4,
            m: 0.05,
            sigma: 0.1,
        };
        let p = svi(0.8, 0.25, Some(s));
        let w0 = f(p[0])
            + f(p[1]) * (f(p[2]) * (0.0 - f(p[3])) + (f(p[3]).powi(2) + f(p[4]).powi(2)).sqrt());
        assert!((w0 / 0.25 - 0.64).abs() < 1e-12, "{w0}");
        assert_eq!(utc(1_735_689_600 + 30 * 86_400 + 3_660), "2025-01-31 01:01");
    }
}
