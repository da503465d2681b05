//! A small stand-in chain for the simulator's unit tests: the keeper's decisions against
//! the contracts' rules (stale data refuses starts and bids, the Dutch auction's discount
//! and close factor from the pure core, settlement from the first round at or after
//! expiry). Its margin is deliberately crude (MM = 10% of spot per short option); the
//! real numbers come from the WASM contracts in `system.rs`.
use std::collections::BTreeMap;

use stylus_margin::{
    black_scholes,
    fixed::WAD,
    instrument::{self, Kind, Terms},
    liquidation::{self as liq, LiquidationParams},
};

use super::chain::*;
use super::run::f;

const GAS: u64 = 100_000;

#[derive(Default, Clone)]
struct Acct {
    cash: Wad,
    weth: Wad,
    pos: BTreeMap<InstrumentId, Wad>,
    auction: Option<(u64, u64)>,
}

pub struct TestChain {
    pub now: u64,
    pub max_age: u64,
    rounds: Vec<(u128, Wad, u64)>,
    accts: Vec<Acct>,
    terms: BTreeMap<InstrumentId, Terms>,
    vol: Wad,
    fund: Option<usize>,
    deficit: Wad,
    settlement: BTreeMap<u64, Wad>,
    params: LiquidationParams,
    /// Every call, in order (for assertions).
    pub calls: Vec<String>,
}

fn revert<T>(e: &str) -> Tx<T> {
    Err(Revert {
        error: e.to_string(),
        gas: 30_000,
    })
}

fn mul(a: Wad, b: Wad) -> Wad {
    stylus_margin::fixed::mul(a, b, stylus_margin::fixed::Rounding::Down).unwrap()
}

impl TestChain {
    pub fn new(start: u64, spot: Wad, max_age: u64) -> Self {
        TestChain {
            now: start,
            max_age,
            rounds: vec![(1, spot, start)],
            accts: Vec::new(),
            terms: BTreeMap::new(),
            vol: 65 * WAD / 100,
            fund: None,
            deficit: 0,
            settlement: BTreeMap::new(),
            params: LiquidationParams::DEFAULT,
            calls: Vec::new(),
        }
    }

    fn spot(&self) -> (Wad, u64) {
        let r = self.rounds.last().unwrap();
        (r.1, r.2)
    }

    fn stale(&self) -> bool {
        self.now - self.spot().1 > self.max_age
    }

    fn value(&self, id: &InstrumentId, spot: Wad) -> Wad {
        let t = self.terms[id];
        if let Some(&s) = self.settlement.get(&t.expiry) {
            return instrument::settlement_value(&t, WAD, 0, s).unwrap_or(0);
        }
        let years = (t.expiry.saturating_sub(self.now)).max(60) as i128 * (WAD / 31_536_000);
        match t.kind {
            Kind::Future => spot,
            k => {
                let q = black_scholes::quote(spot, t.strike as i128, self.vol, years, 0).unwrap();
                if k == Kind::Put {
                    q.put
                } else {
                    q.call
                }
            }
        }
    }

    fn eval(&self, a: usize) -> Risk {
        let (spot, _) = self.spot();
        let acct = &self.accts[a];
        let mut mtm = 0;
        let mut mm = 0;
        let mut delta = 0;
        for (id, &size) in &acct.pos {
            mtm += mul(size, self.value(id, spot));
            if size < 0 && !self.settlement.contains_key(&self.terms[id].expiry) {
                mm += mul(-size, spot / 10);
            }
            delta += size / 2;
        }
        let gross = mul(acct.weth, spot);
        let equity = acct.cash + mtm + gross * 9 / 10;
        Risk {
            equity,
            mm,
            im: mm * 3 / 2,
            failure: u8::from(self.stale()),
            frozen: acct.auction.is_some(),
            delta,
            gamma: 0,
            vega: 0,
            theta: 0,
            bundle: acct.cash + mtm + gross,
        }
    }

    fn take(&mut self, from: usize, to: usize, fr: Wad) {
        let src = self.accts[from].clone();
        for (id, size) in src.pos {
            let part = mul(size, fr);
            *self.accts[from].pos.get_mut(&id).unwrap() -= part;
            *self.accts[to].pos.entry(id).or_default() += part;
        }
        let w = mul(src.weth, fr);
        self.accts[from].weth -= w;
        self.accts[to].weth += w;
        let c = mul(src.cash, fr);
        self.accts[from].cash -= c;
        self.accts[to].cash += c;
    }
}

fn ix(a: AccountId) -> usize {
    a as usize - 1
}

impl Chain for TestChain {
    fn now(&self) -> u64 {
        self.now
    }
    fn set_time(&mut self, t: u64) {
        self.now = t;
    }
    fn initial_round(&self) -> (u128, u64) {
        (self.rounds[0].0, self.rounds[0].2)
    }
    fn set_margin_params(&mut self, _: [u64; 12]) -> Tx<()> {
        Ok(((), GAS))
    }
    fn set_liquidation_params(&mut self, v: [u128; 10]) -> Tx<()> {
        self.params = LiquidationParams {
            start_discount: v[0] as i128,
            max_discount: v[1] as i128,
            discount_duration_secs: v[2] as u64,
            mm_buffer: v[3] as i128,
            dust_mm: v[4] as i128,
            bounty_fraction: v[5] as i128,
            bounty_cap: v[6] as i128,
            insurance_share: v[7] as i128,
            insolvent_pay_cap: v[8] as i128,
            insolvent_pay_duration_secs: v[9] as u64,
        };
        Ok(((), GAS))
    }
    fn list_instrument(&mut self, t: &Terms) -> Tx<InstrumentId> {
        let id = instrument::pack(t);
        self.terms.insert(id, *t);
        Ok((id, GAS))
    }
    fn open_account(&mut self) -> Tx<AccountId> {
        self.accts.push(Acct::default());
        Ok((self.accts.len() as u64, GAS))
    }
    fn deposit(&mut self, a: AccountId, t: Token, amount: Wad) -> Tx<()> {
        match t {
            Token::Usdc => self.accts[ix(a)].cash += amount,
            Token::Weth => self.accts[ix(a)].weth += amount,
        }
        Ok(((), GAS))
    }
    fn set_insurance_account(&mut self, a: AccountId) -> Tx<()> {
        self.fund = Some(ix(a));
        Ok(((), GAS))
    }
    fn trade(
        &mut self,
        b: AccountId,
        s: AccountId,
        id: InstrumentId,
        size: Wad,
        price: Wad,
    ) -> Tx<()> {
        let (b, s) = (ix(b), ix(s));
        let prem = mul(size, price);
        self.accts[b].cash -= prem;
        self.accts[s].cash += prem;
        *self.accts[b].pos.entry(id).or_default() += size;
        *self.accts[s].pos.entry(id).or_default() -= size;
        for a in [b, s] {
            let r = self.eval(a);
            if r.equity < r.im {
                self.accts[b].cash += prem;
                self.accts[s].cash -= prem;
                *self.accts[b].pos.get_mut(&id).unwrap() -= size;
                *self.accts[s].pos.get_mut(&id).unwrap() += size;
                return revert("InsufficientMargin(..)");
            }
        }
        Ok(((), GAS))
    }
    fn push_price(&mut self, price: Wad) -> u128 {
        let id = self.rounds.len() as u128 + 1;
        self.rounds.push((id, price, self.now));
        self.calls.push(format!("push {}", f(price)));
        id
    }
    fn post_surface(&mut self, _: u64, svi: [Wad; 5]) -> Tx<()> {
        let _ = svi;
        Ok(((), GAS))
    }
    fn poke(&mut self) -> Tx<()> {
        if self.stale() {
            return revert("StaleOracle(1, ..)");
        }
        Ok(((), GAS))
    }
    fn risk(&mut self, a: AccountId) -> Result<Risk, String> {
        Ok(self.eval(ix(a)))
    }
    fn positions(&mut self, a: AccountId) -> Vec<(InstrumentId, Wad)> {
        self.accts[ix(a)]
            .pos
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect()
    }
    fn cash(&mut self, a: AccountId) -> Wad {
        self.accts[ix(a)].cash
    }
    fn deficit(&mut self) -> Wad {
        self.deficit
    }
    fn start_liquidation(&mut self, a: AccountId, bounty_to: AccountId) -> Tx<Wad> {
        self.calls.push(format!("start {a}"));
        let i = ix(a);
        if self.accts[i].auction.is_some() {
            return revert("AuctionAlreadyStarted(..)");
        }
        if self.stale() {
            return revert("StaleOracle(1, ..)");
        }
        let r = self.eval(i);
        if !liq::can_start(r.equity, r.mm) {
            return revert("NotLiquidatable(..)");
        }
        let bounty = liq::start_bounty(&self.params, r.mm, r.equity).unwrap();
        self.accts[i].cash -= bounty;
        self.accts[ix(bounty_to)].cash += bounty;
        self.accts[i].auction = Some((self.now, if r.equity < 0 { self.now } else { 0 }));
        Ok((bounty, GAS))
    }
    fn auction(&mut self, a: AccountId, portion: Wad) -> Result<AuctionView, String> {
        let i = ix(a);
        let Some((started, insolvent)) = self.accts[i].auction else {
            return Ok(AuctionView::default());
        };
        let r = self.eval(i);
        let d = liq::discount(&self.params, started, self.now).unwrap();
        let cap = liq::max_fraction(r.equity, r.mm, r.bundle, r.equity, d, &self.params).unwrap();
        let fr = cap.min(portion);
        let price = liq::sale(&self.params, r.bundle, fr, d)
            .unwrap()
            .liquidator_pays;
        Ok(AuctionView {
            started_at: started,
            insolvent_since: insolvent,
            discount: d,
            max_fraction: cap,
            price,
        })
    }
    fn liquidate(&mut self, a: AccountId, l: AccountId, portion: Wad, max_price: Wad) -> Tx<Fill> {
        self.calls.push(format!("liquidate {a}"));
        let (i, j) = (ix(a), ix(l));
        let Some((started, _)) = self.accts[i].auction else {
            return revert("AuctionNotStarted(..)");
        };
        if self.stale() {
            return revert("StaleOracle(1, ..)");
        }
        let r = self.eval(i);
        let d = liq::discount(&self.params, started, self.now).unwrap();
        let cap = liq::max_fraction(r.equity, r.mm, r.bundle, r.equity, d, &self.params).unwrap();
        if cap == 0 {
            return revert("NotLiquidatable(..)");
        }
        let fr = cap.min(portion);
        let sale = liq::sale(&self.params, r.bundle, fr, d).unwrap();
        if sale.liquidator_pays > max_price {
            return revert("PriceAboveMax(..)");
        }
        self.take(i, j, fr);
        self.accts[j].cash -= sale.liquidator_pays;
        self.accts[i].cash += sale.account_receives;
        let fund = self.fund.unwrap();
        self.accts[fund].cash += sale.insurance_fee;
        let mut fill = Fill {
            fraction: fr,
            price: sale.liquidator_pays,
            discount: d,
            insurance_fee: sale.insurance_fee,
            ..Fill::default()
        };
        if fr == WAD {
            let cash = self.accts[i].cash;
            if cash < 0 {
                let c = liq::cover(self.accts[fund].cash.max(0), -cash).unwrap();
                self.accts[fund].cash -= c.paid_by_fund;
                self.accts[i].cash = 0;
                self.deficit += c.to_deficit;
                fill.insurance_paid = c.paid_by_fund;
                fill.deficit = c.to_deficit;
            }
            self.accts[i].auction = None;
            fill.ended = true;
        }
        Ok((fill, GAS))
    }
    fn end_auction(&mut self, a: AccountId) -> Tx<()> {
        let i = ix(a);
        let r = self.eval(i);
        if !liq::can_end(r.equity, r.mm, &self.params, false) {
            return revert("AuctionCannotEnd(..)");
        }
        self.accts[i].auction = None;
        Ok(((), GAS))
    }
    fn record_settlement(&mut self, expiry: u64, round: u128) -> Tx<Wad> {
        self.calls.push(format!("record {expiry} {round}"));
        let k = self.rounds.iter().position(|r| r.0 == round).unwrap();
        if self.rounds[k].2 < expiry || k == 0 || self.rounds[k - 1].2 >= expiry {
            return revert("SettlementRoundInvalid(..)");
        }
        let p = self.rounds[k].1;
        self.settlement.insert(expiry, p);
        Ok((p, GAS))
    }
    fn settle(&mut self, a: AccountId, ids: &[InstrumentId]) -> Tx<()> {
        let i = ix(a);
        for id in ids {
            let e = self.terms[id].expiry;
            let Some(&s) = self.settlement.get(&e) else {
                return revert("SettlementPriceMissing(..)");
            };
            let size = self.accts[i].pos.remove(id).unwrap_or(0);
            self.accts[i].cash +=
                instrument::settlement_value(&self.terms[id], size, 0, s).unwrap();
        }
        Ok(((), GAS))
    }
}
