//! Issue 16: the system as an attacker plays it. A seeded stateful test on the real WASM:
//! random operations by several actors, some adversarial (self-dealing account pairs,
//! trades at off-market prices, dust deposits into other accounts, pokes timed by the
//! attacker, feeds going stale and recovering, odd listings: far strikes and expiries about
//! to pass, price paths with jumps, liquidations, settlements, pause, socialisation), and
//! after every operation the invariants:
//!
//! 1. per collateral token, the vault's token balance equals `totalDeposits` equals the sum
//!    of the accounts' balances; the sum of cash equals `totalCash` (within a wei per
//!    account after a socialisation's rounding), which equals the quote's `totalDeposits`
//!    plus the net of every `adjustCash` entry;
//! 2. every live instrument's sizes sum to zero (an expired one is settled holder by
//!    holder);
//! 3. a call that fails changes no storage of any contract or token;
//! 4. no withdrawal leaves its account below IM;
//! 5. on a path whose steps are at most 3% (no jumps), no account reaches negative equity
//!    without having been liquidatable on fresh data at an earlier step;
//! 6. the keeper's deficit moves only in a liquidation that takes an account whole or in a
//!    socialisation, and equals the ledger's net deficit entries (reason 3).
//!
//! `cargo test --release -p margin-harness --test adversarial` runs four seeds of 300
//! operations (two with jumps); the long run (README; `ADV_SEEDS=hex,hex` for others):
//! `ADV_OPS=10000 cargo test --release -p margin-harness --test adversarial -- --ignored
//! --nocapture`.

use std::collections::BTreeMap;

use margin_books::Rng;
use margin_harness::abi::{
    ICollateralVault as V, IKeeperModule as K, IPositionRegistry as R, IRiskEngine as E,
};
use margin_harness::system::*;
use margin_wasm_env::mocks::IERC20;
use margin_wasm_env::{Address, Outcome, U256};

/// WAD of `x`, truncated (amounts and prices of the operations).
fn wadf(x: f64) -> i128 {
    (x * 1e18) as i128
}

const BTC: u32 = 2;

struct World {
    s: System,
    rng: Rng,
    /// Whether the path may jump (then invariant 5 is not asserted).
    jumps: bool,
    /// Traders (account owners); trader i owns accounts 2i and 2i+1 (self-dealing pairs).
    owners: Vec<Address>,
    accounts: Vec<U256>,
    keeper_bot: Address,
    liq: U256,
    wbtc: Address,
    instruments: Vec<(U256, u64)>,
    eth: i128,
    btc: i128,
    eth_stale: bool,
    /// Per account: seen liquidatable on fresh data.
    seen_liquidatable: Vec<bool>,
    /// Operation name -> (succeeded, refused).
    counts: BTreeMap<&'static str, (u64, u64)>,
    deficit: i128,
    /// Expiries whose settlement price is recorded.
    recorded: Vec<u64>,
}

impl World {
    fn new(seed: u64) -> World {
        let mut s = System::deploy(SystemConfig::default());
        let rng = Rng(seed);
        // Odd seeds: paths with jumps (invariant 5 is not asserted on them).
        let jumps = seed % 2 == 1;
        s.add_underlying(BTC, wad(60_000), OracleParams::default());
        let wbtc = s.list_collateral(
            "WBTC",
            8,
            BTC,
            AssetConfig {
                haircut_floor_ppm: 150_000,
                vol_multiplier_ppm: 1_000_000,
                haircut_max_ppm: 500_000,
                ..AssetConfig::default()
            },
        );
        let owners: Vec<Address> = (0..4).map(|i| Address::repeat_byte(0x10 + i)).collect();
        let mut accounts = Vec::new();
        for (i, &o) in owners.iter().enumerate() {
            accounts.push(s.new_account(o, 20_000 + 40_000 * i as u128, 5));
            accounts.push(s.new_account(o, 5_000, 0));
        }
        let keeper_bot = Address::repeat_byte(0x4B);
        let liq = s.new_account(keeper_bot, 5_000_000, 0);
        s.setup_insurance(Address::repeat_byte(0x1F), 50_000);
        let out = s.admin(s.keeper, &K::setSocialisationCall { enabled: true });
        assert!(out.success, "{}", s.why(&out));
        let expiry = s.expiries()[0];
        let mut instruments = Vec::new();
        for (kind, strike) in [
            (Kind::Put, 1_800),
            (Kind::Put, 1_500),
            (Kind::Call, 2_200),
            (Kind::Call, 2_600),
        ] {
            instruments.push((s.list(kind, wad(strike), expiry), expiry));
        }
        let n = accounts.len();
        World {
            s,
            rng,
            jumps,
            owners,
            accounts,
            keeper_bot,
            liq,
            wbtc,
            instruments,
            eth: wad(2_000),
            btc: wad(60_000),
            eth_stale: false,
            seen_liquidatable: vec![false; n],
            counts: BTreeMap::new(),
            deficit: 0,
            recorded: Vec::new(),
        }
    }

    fn owner_of(&self, i: usize) -> Address {
        self.owners[i / 2]
    }

    /// The storage of every contract and token (invariant 3).
    fn snapshot(&self) -> Vec<BTreeMap<impl Ord + std::fmt::Debug, impl Eq + std::fmt::Debug>> {
        let s = &self.s;
        [
            s.vault, s.registry, s.oracle, s.engine, s.keeper, s.usdc, s.weth, self.wbtc,
        ]
        .iter()
        .map(|a| s.env.storage_of(*a))
        .collect()
    }

    /// Runs one contract call; a failure must leave every storage slot as it was.
    fn call(&mut self, name: &'static str, f: impl FnOnce(&mut System) -> Outcome) -> bool {
        let before = self.snapshot();
        let out = f(&mut self.s);
        let c = self.counts.entry(name).or_default();
        if out.success {
            c.0 += 1;
        } else {
            c.1 += 1;
            let after = self.snapshot();
            assert!(
                before == after,
                "{name} failed ({}) but changed storage",
                self.s.why(&out)
            );
        }
        out.success
    }

    fn random_account(&mut self) -> usize {
        self.rng.below(self.accounts.len())
    }

    fn step(&mut self) {
        let op = self.rng.below(100);
        match op {
            0..=9 => self.deposit(),
            10..=14 => self.dust(),
            15..=39 => self.trade(),
            40..=49 => self.withdraw(),
            50..=64 => self.market(),
            65..=71 => {
                self.call("poke", |s| s.poke(ETH));
            }
            72..=86 => self.keeper(),
            87..=91 => self.settle(),
            92..=93 => {
                // Paused a third of the times the guardian acts.
                let paused = self.rng.chance(0.33);
                self.call("pause", |s| s.set_paused(paused));
            }
            94..=95 => {
                let who = self.owners[0];
                let keeper = self.s.keeper;
                self.call("socialise", |s| {
                    s.send(who, keeper, &K::socialiseDeficitCall {})
                });
            }
            _ => self.odd_listing(),
        }
    }

    fn deposit(&mut self) {
        let i = self.random_account();
        let (who, acc) = (self.owner_of(i), self.accounts[i]);
        let (token, units) = if self.rng.chance(0.5) {
            (
                self.s.usdc,
                usdc_units(1_000 + self.rng.below(20_000) as u128),
            )
        } else {
            (self.s.weth, weth_units(1 + self.rng.below(5) as u128))
        };
        self.deposit_from(who, acc, token, units, "deposit");
    }

    /// A stranger deposits one unit of a token into someone's account.
    fn dust(&mut self) {
        let i = self.random_account();
        let acc = self.accounts[i];
        let token = [self.s.usdc, self.s.weth, self.wbtc][self.rng.below(3)];
        self.deposit_from(
            Address::repeat_byte(0xDD),
            acc,
            token,
            U256::from(1u8),
            "dust",
        );
    }

    fn deposit_from(
        &mut self,
        who: Address,
        acc: U256,
        token: Address,
        units: U256,
        name: &'static str,
    ) {
        // Mint and approve outside the snapshot: the deposit is the call under test.
        let s = &mut self.s;
        let vault = s.vault;
        assert!(
            s.send(
                who,
                token,
                &IERC20::mintCall {
                    to: who,
                    value: units
                }
            )
            .success
        );
        assert!(
            s.send(
                who,
                token,
                &IERC20::approveCall {
                    spender: vault,
                    value: units
                }
            )
            .success
        );
        self.call(name, |s| {
            s.send(
                who,
                vault,
                &V::depositCall {
                    account: acc,
                    token,
                    amount: units,
                },
            )
        });
    }

    /// Two accounts (often one owner's pair) trade at a price from fair to far off it.
    fn trade(&mut self) {
        let b = self.random_account();
        let mut sl = if self.rng.chance(0.3) {
            b ^ 1
        } else {
            self.random_account()
        };
        if sl == b {
            sl = (b + 1) % self.accounts.len();
        }
        // Mostly a live instrument; now and then any (an expired one is refused).
        let now = self.s.now();
        let live: Vec<U256> = self
            .instruments
            .iter()
            .filter(|x| x.1 > now)
            .map(|x| x.0)
            .collect();
        let id = if live.is_empty() || self.rng.chance(0.05) {
            self.instruments[self.rng.below(self.instruments.len())].0
        } else {
            live[self.rng.below(live.len())]
        };
        let fair = self.s.quote(id).0;
        let price = match self.rng.below(4) {
            0 => 0,
            1 => wadf(self.rng.range(0.0, 3.0) * fair as f64 / 1e18),
            _ => fair,
        };
        let size = wadf(self.rng.range(0.1, 20.0));
        let (buyer, seller) = (self.accounts[b], self.accounts[sl]);
        self.call("trade", |s| s.trade(buyer, seller, id, size, price));
    }

    fn withdraw(&mut self) {
        let i = self.random_account();
        let (who, acc) = (self.owner_of(i), self.accounts[i]);
        let (token, amount) = if self.rng.chance(0.5) {
            let cash = self.s.cash(acc).max(0);
            (self.s.usdc, wadf(self.rng.unit() * cash as f64 / 1e18))
        } else {
            let bal = self.s.collateral(acc, self.s.weth);
            let bal = u128::try_from(bal).unwrap_or(0) as f64;
            (self.s.weth, wadf(self.rng.unit() * bal / 1e18))
        };
        if amount <= 0 {
            return;
        }
        let engine = self.s.engine;
        let ok = self.call("withdraw", |s| {
            s.send(
                who,
                engine,
                &E::withdrawCall {
                    account: acc,
                    token,
                    amount: U256::from(amount as u128),
                    to: who,
                },
            )
        });
        if ok {
            // Invariant 4: a withdrawal never leaves its account below IM.
            if let Ok(r) = self.s.try_risk(acc) {
                assert!(r.im_surplus() >= 0, "withdrawal left {acc} below IM: {r:?}");
            }
        }
    }

    /// Time passes and prices move; feeds go stale and recover.
    fn market(&mut self) {
        let dt = 300 + self.rng.below(7_200) as u64;
        self.s.advance(dt);
        let step = if self.jumps && self.rng.chance(0.1) {
            self.rng.range(-0.25, 0.15)
        } else {
            self.rng.range(-0.03, 0.03)
        };
        self.eth = (self.eth as f64 * (1.0 + step)) as i128;
        self.eth = self.eth.clamp(wad(300), wad(20_000));
        self.btc = (self.btc as f64 * (1.0 + self.rng.range(-0.03, 0.03))) as i128;
        // ETH goes stale now and then and recovers; BTC's feed beats rarely.
        if self.eth_stale {
            self.eth_stale = self.rng.chance(0.5);
        } else {
            self.eth_stale = self.rng.chance(0.08);
        }
        if !self.eth_stale {
            self.s.set_price(self.eth);
        }
        if self.rng.chance(0.3) {
            self.s.set_price_of(BTC, self.btc);
        }
        let now = self.s.now();
        let mut expiries: Vec<u64> = self.instruments.iter().map(|x| x.1).collect();
        expiries.sort_unstable();
        expiries.dedup();
        for e in expiries {
            if e > now && !self.eth_stale {
                let vol = wadf(self.rng.range(0.4, 1.2));
                let out = self.s.post_flat_surface(ETH, e, vol);
                assert!(out.success, "{}", self.s.why(&out));
            }
        }
        self.counts.entry("market step").or_default().0 += 1;
    }

    /// The keeper: starts auctions of liquidatable accounts, bids, ends auctions.
    fn keeper(&mut self) {
        let (bot, liq) = (self.keeper_bot, self.liq);
        for i in 0..self.accounts.len() {
            let acc = self.accounts[i];
            if self.s.is_liquidatable(acc) {
                self.call("startLiquidation", |s| s.start_liquidation(bot, acc, liq));
            }
            if self.s.is_frozen(acc) {
                let portion = wadf(self.rng.range(0.05, 1.0));
                let keeper = self.s.keeper;
                self.call("liquidate", |s| {
                    s.send(
                        bot,
                        keeper,
                        &K::liquidateCall {
                            account: acc,
                            liquidator_account: liq,
                            max_portion: U256::from(portion as u128),
                            max_price: i256(i128::MAX / 4),
                        },
                    )
                });
                self.call("endAuction", |s| s.end_auction(bot, acc));
            }
        }
    }

    /// Settlement of expiries passed: the price from the right round (once), then each
    /// holder's positions of that expiry.
    fn settle(&mut self) {
        let now = self.s.now();
        let mut expired: Vec<u64> = self
            .instruments
            .iter()
            .map(|x| x.1)
            .filter(|&e| e <= now)
            .collect();
        expired.sort_unstable();
        expired.dedup();
        for e in expired {
            if !self.recorded.contains(&e) {
                if let Some(round) = self.s.settlement_round(ETH, e) {
                    if self.call("recordSettlement", |s| s.record_settlement(ETH, e, round)) {
                        self.recorded.push(e);
                    }
                }
            }
            let count = self.s.read(self.s.vault, &V::accountCountCall {})._0;
            for a in 1..=u64::try_from(count).unwrap() {
                let acc = U256::from(a);
                let registry = self.s.registry;
                let held = self
                    .s
                    .read(registry, &R::getPositionsCall { account: acc })
                    ._0
                    .ids;
                let ids: Vec<U256> = self
                    .instruments
                    .iter()
                    .filter(|x| x.1 == e && held.contains(&x.0))
                    .map(|x| x.0)
                    .collect();
                if !ids.is_empty() {
                    self.call("settle", |s| s.settle(acc, &ids));
                }
            }
        }
    }

    /// Far strikes and expiries about to pass.
    fn odd_listing(&mut self) {
        if self.eth_stale {
            return;
        }
        let now = self.s.now();
        // Once every listed expiry is within a day, a new one two weeks out (ATM put and
        // call), so that a long run keeps trading.
        if self.instruments.iter().all(|x| x.1 <= now + 86_400) {
            let e = now + 14 * 86_400;
            let out = self.s.post_flat_surface(ETH, e, wad(1) * 7 / 10);
            assert!(out.success, "{}", self.s.why(&out));
            let k = self.eth / WAD * WAD;
            for kind in [Kind::Put, Kind::Call] {
                let id = self.s.list(kind, k, e);
                self.instruments.push((id, e));
            }
            return;
        }
        if self.instruments.len() >= 40 {
            return;
        }
        let (kind, strike, expiry) = if self.rng.chance(0.5) {
            let far = if self.rng.chance(0.5) { 0.03 } else { 40.0 };
            let k = if far < 1.0 { Kind::Put } else { Kind::Call };
            let last = self.instruments.iter().map(|x| x.1).max().unwrap();
            (k, wadf(far * self.eth as f64 / 1e18), last)
        } else {
            let e = now + 900 + self.rng.below(3_600) as u64;
            let out = self.s.post_flat_surface(ETH, e, wad(1) * 7 / 10);
            assert!(out.success, "{}", self.s.why(&out));
            (Kind::Put, self.eth, e)
        };
        if expiry <= now {
            return;
        }
        let strike = strike / WAD * WAD;
        if strike <= 0
            || self
                .instruments
                .iter()
                .any(|x| x.0 == self.s.instrument(kind, strike, expiry))
        {
            return;
        }
        let id = self.s.list(kind, strike, expiry);
        self.instruments.push((id, expiry));
        self.counts.entry("odd listing").or_default().0 += 1;
    }

    /// Invariants 1, 2, 5 and 6 (3 and 4 are checked where the call is made).
    fn check(&mut self, op: usize) {
        let s = &mut self.s;
        // 1. Tokens and the cash ledger.
        let scale = |decimals: u32| U256::from(10u128.pow(18 - decimals));
        for (token, decimals) in [(s.weth, 18), (self.wbtc, 8)] {
            let held = s.token_balance(token, s.vault) * scale(decimals);
            let total = s.read(s.vault, &V::totalDepositsCall { token })._0;
            let sum: U256 = self
                .accounts
                .iter()
                .chain([&self.liq])
                .fold(U256::ZERO, |a, &acc| a + s.collateral(acc, token));
            assert_eq!(held, total, "op {op}: {token} held vs totalDeposits");
            assert_eq!(
                total, sum,
                "op {op}: {token} totalDeposits vs the accounts'"
            );
        }
        let usdc = s.usdc;
        let held = s.token_balance(usdc, s.vault) * scale(6);
        let deposits = s.read(s.vault, &V::totalDepositsCall { token: usdc })._0;
        assert_eq!(held, deposits, "op {op}: USDC held vs totalDeposits");
        let total_cash = int(s.read(s.vault, &V::totalCashCall {})._0);
        let count = s.read(s.vault, &V::accountCountCall {})._0;
        let n = u64::try_from(count).unwrap();
        let sum_cash: i128 = (1..=n).map(|a| s.cash(U256::from(a))).sum();
        assert!(
            (total_cash - sum_cash).abs() <= n as i128,
            "op {op}: totalCash {total_cash} vs the sum {sum_cash}"
        );
        let adjustments: i128 = (1..=4u8)
            .map(|r| int(s.read(s.vault, &V::netCashAdjustmentCall { reason: r })._0))
            .sum();
        assert_eq!(
            total_cash,
            i128::try_from(deposits).unwrap() + adjustments,
            "op {op}: totalCash vs deposits + adjustments"
        );
        // 2. Sizes sum to zero.
        let mut sums: BTreeMap<U256, i128> = BTreeMap::new();
        for a in 1..=n {
            let p = s
                .read(
                    s.registry,
                    &R::getPositionsCall {
                        account: U256::from(a),
                    },
                )
                ._0;
            for (id, size) in p.ids.iter().zip(&p.sizes) {
                *sums.entry(*id).or_default() += int(*size);
            }
        }
        // Live instruments only: settlement closes an expired instrument account by
        // account, so its sizes sum to zero again only once every holder has settled.
        let now = s.now();
        for (id, sum) in sums {
            let live = self.instruments.iter().any(|x| x.0 == id && x.1 > now);
            if live {
                assert_eq!(sum, 0, "op {op}: sizes of {id} sum to {sum}");
            }
        }
        // 6. The deficit and its ledger.
        let deficit = s.deficit();
        let ledger = int(s.read(s.vault, &V::netCashAdjustmentCall { reason: 3 })._0);
        assert_eq!(deficit, ledger, "op {op}: deficit vs ledger");
        self.deficit = deficit;
        // 5. Negative equity only after liquidatable on fresh data.
        for i in 0..self.accounts.len() {
            let acc = self.accounts[i];
            let Ok(r) = s.try_risk(acc) else { continue };
            if !self.eth_stale && s.is_liquidatable(acc) {
                self.seen_liquidatable[i] = true;
            }
            if !self.jumps && r.equity < 0 {
                assert!(
                    self.seen_liquidatable[i],
                    "op {op}: account {acc} reached equity {} without being liquidatable first",
                    r.equity
                );
            }
        }
    }
}

fn run(seed: u64, ops: usize) -> World {
    let mut w = World::new(seed);
    w.check(0);
    for op in 1..=ops {
        let deficit = w.deficit;
        let before = w.counts.clone();
        w.step();
        w.check(op);
        if w.deficit != deficit {
            // 6. Only a liquidation or a socialisation moves the deficit.
            let moved = |k: &str| w.counts.get(k).map(|c| c.0) != before.get(k).map(|c| c.0);
            assert!(
                moved("liquidate") || moved("socialise"),
                "op {op}: the deficit moved from {deficit} to {} outside a liquidation",
                w.deficit
            );
        }
    }
    w
}

fn report(seed: u64, w: &World, ops: usize) {
    println!("seed {seed:#x}: {ops} operations, jumps {}", w.jumps);
    for (k, (ok, refused)) in &w.counts {
        println!("  {k}: {ok} succeeded, {refused} refused");
    }
    println!("  deficit at the end: {}", w.deficit as f64 / 1e18);
}

#[test]
fn invariants_hold_under_random_adversarial_operations() {
    for seed in [0xAD_0001, 0xAD_0002, 0xAD_0003, 0xAD_0004] {
        let w = run(seed, 300);
        report(seed, &w, 300);
        let succeeded: u64 = w.counts.values().map(|c| c.0).sum();
        assert!(
            succeeded > 100,
            "too few operations went through: {succeeded}"
        );
    }
}

#[test]
#[ignore = "long: ADV_OPS=10000 cargo test --release -p margin-harness --test adversarial -- --ignored --nocapture"]
fn invariants_hold_under_a_long_adversarial_run() {
    let ops: usize = std::env::var("ADV_OPS").map_or(10_000, |v| v.parse().unwrap());
    let seeds: Vec<u64> = std::env::var("ADV_SEEDS").map_or(vec![0xAD_2026], |v| {
        v.split(',')
            .map(|x| u64::from_str_radix(x.trim().trim_start_matches("0x"), 16).unwrap())
            .collect()
    });
    for seed in seeds {
        let w = run(seed, ops);
        report(seed, &w, ops);
    }
}
