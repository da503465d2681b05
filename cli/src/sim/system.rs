//! [`Chain`] on the real WASM contracts: `margin_harness::system::System` deploys
//! them (the deployable binaries of `scripts/build-wasm.sh`) wired with native USDC, WETH
//! and a Chainlink-style feed; every call here is a transaction (or an `eth_call` for
//! reads) through the real ABI, metered with nitro's ink prices.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use margin_harness::{
    abi::{describe_revert, IKeeperModule as K, IPositionRegistry as R, IRiskReader as RR},
    system::{
        int, AssetConfig, LiquidationParams, MarginParams, OracleParams, System, SystemConfig,
        CONTRACTS, ETH,
    },
};
use margin_wasm_env::{Address, Outcome, I256, U256};
use stylus_margin::{instrument::Terms, svi::SviParams};

use super::chain::*;
use super::run::{wad, SimError};
use super::scenario::Loaded;

/// The chain: the deployed system and who owns which account.
pub struct SystemChain {
    pub s: System,
    owners: BTreeMap<AccountId, Address>,
    keeper_bot: Address,
    initial_round: (u128, u64),
}

fn ok<T>(out: &Outcome, v: T) -> Tx<T> {
    if out.success {
        Ok((v, out.gas_used))
    } else {
        Err(Revert {
            error: short(&describe_revert(&out.return_data)),
            gas: out.gas_used,
        })
    }
}

/// `IKeeperModule::StaleOracle(StaleOracle { underlying: 1, age: 7200 })` ->
/// `StaleOracle { underlying: 1, age: 7200 }`.
fn short(s: &str) -> String {
    let s = s.split_once("::").map_or(s, |x| x.1);
    match s.split_once('(') {
        Some((_, rest)) if rest.ends_with(')') => rest[..rest.len() - 1].to_string(),
        _ => s.to_string(),
    }
}

fn u(a: AccountId) -> U256 {
    U256::from(a)
}

fn i(x: I256) -> i128 {
    int(x)
}

/// Where the binaries are: MARGIN_WASM_DEPLOY_DIR, else target-wasm/deploy/ of the
/// workspace this binary was built in, else of the current directory.
pub fn deploy_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MARGIN_WASM_DEPLOY_DIR") {
        return PathBuf::from(d);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target-wasm/deploy");
    if built.join("vault.wasm").exists() {
        return built;
    }
    PathBuf::from("target-wasm/deploy")
}

/// The WETH collateral's configuration, checked (an error names the scenario's field).
pub fn weth_config(l: &Loaded) -> Result<AssetConfig, SimError> {
    let c = &l.scenario.collateral;
    let ppm = |x: f64| (x * 1e6).round() as u32;
    let cfg = AssetConfig {
        underlying: ETH,
        decimals: 18,
        enabled: true,
        is_quote: false,
        risk_offsetting: c.risk_offsetting,
        haircut_floor_ppm: ppm(c.haircut_floor),
        vol_multiplier_ppm: ppm(c.vol_multiplier),
        haircut_max_ppm: ppm(c.haircut_max),
        liquidity_depth: wad(c.liquidity_depth) as u128,
    };
    cfg.validate().map_err(|e| {
        use stylus_margin::collateral::ConfigField as F;
        let field = match e.field {
            F::HaircutFloor => "collateral.haircut_floor",
            F::VolMultiplier => "collateral.vol_multiplier",
            F::HaircutMax => "collateral.haircut_max",
            F::LiquidityDepth => "collateral.liquidity_depth",
            _ => "collateral",
        };
        SimError::Scenario(l.err_field(field, format!("outside the vault's bounds ({e:?})")))
    })?;
    Ok(cfg)
}

impl SystemChain {
    /// Deploys the contracts for a scenario at its start time and spot.
    pub fn deploy(l: &Loaded, spot: f64, dir: &Path) -> Result<SystemChain, SimError> {
        let missing: Vec<&str> = CONTRACTS
            .iter()
            .copied()
            .filter(|c| !dir.join(format!("{c}.wasm")).exists())
            .collect();
        if !missing.is_empty() {
            return Err(SimError::Chain(format!(
                "the deployable WASM is missing in {} ({}): build it with scripts/build-wasm.sh, \
                 or point MARGIN_WASM_DEPLOY_DIR at a folder holding the .wasm files of contracts.txt",
                dir.display(),
                missing.join(", ")
            )));
        }
        let m = &l.scenario.market;
        let config = SystemConfig {
            deploy_dir: dir.to_path_buf(),
            start_time: l.scenario.start.unwrap_or(super::scenario::DEFAULT_START),
            spot: wad(spot),
            oracle: OracleParams {
                max_age: m.feed_max_age.0 as u32,
                surface_max_age: m.surface_max_age.0 as u32,
                method: u8::from(m.method.get_ref() == "full"),
                rate: wad(m.rate) as i64,
                ref_vol: wad(m.ref_vol) as u64,
                lambda: wad(m.lambda) as u64,
                stable_rate: wad(m.stable_rate) as u64,
            },
            weth: weth_config(l)?,
            vol: wad(m.vol),
            expiries: Vec::new(),
            margin_params: None,
            liquidation_params: None,
            ..SystemConfig::default()
        };
        // The harness panics on a refused set-up transaction (e.g. an oracle parameter out
        // of bounds): report it as a failed run.
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let deployed = std::panic::catch_unwind(|| System::deploy(config));
        std::panic::set_hook(prev);
        let s = deployed.map_err(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            SimError::Chain(format!("deployment failed: {msg}"))
        })?;
        let feed = s.feed(ETH);
        let (id, r) = feed
            .latest_round()
            .expect("the deployment publishes a round");
        Ok(SystemChain {
            s,
            owners: BTreeMap::new(),
            keeper_bot: Address::repeat_byte(0x4B),
            initial_round: (id, r.updated_at),
        })
    }

    fn owner(&self, a: AccountId) -> Address {
        self.owners[&a]
    }
}

impl Chain for SystemChain {
    fn now(&self) -> u64 {
        self.s.now()
    }

    fn set_time(&mut self, t: u64) {
        let now = self.s.now();
        if t > now {
            self.s.advance(t - now);
        }
    }

    fn initial_round(&self) -> (u128, u64) {
        self.initial_round
    }

    fn set_margin_params(&mut self, v: [u64; 12]) -> Tx<()> {
        let i = |k: usize| i128::from(v[k]);
        let p = MarginParams {
            vol_up: i(0),
            vol_down: i(1),
            mm_short_option: i(2),
            im_short_option: i(3),
            mm_future: i(4),
            im_future: i(5),
            im_multiplier: i(6),
            im_positive_mtm: i(7),
            theta_horizon_secs: i(8),
            haircut_horizon_years: i(9),
            size_coef: i(10),
            max_shock_scale: i(11),
        };
        let out = self.s.set_margin_params(&p);
        ok(&out, ())
    }

    fn set_liquidation_params(&mut self, v: [u128; 10]) -> Tx<()> {
        let p = LiquidationParams {
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
        let out = self.s.set_liquidation_params(&p);
        ok(&out, ())
    }

    fn list_instrument(&mut self, t: &Terms) -> Tx<InstrumentId> {
        let (id, out) = self
            .s
            .list_instrument(t.kind, t.underlying, t.strike as i128, t.expiry);
        ok(&out, id.to_be_bytes())
    }

    fn open_account(&mut self) -> Tx<AccountId> {
        let n = self.owners.len() as u64 + 1;
        let mut b = [0u8; 20];
        b[0] = 0xA0;
        b[12..].copy_from_slice(&n.to_be_bytes());
        let who = Address::from(b);
        let (id, out) = self.s.open_account(who);
        let (_, g) = ok(&out, ())?;
        let id = id.to::<u64>();
        let auth = self.s.authorize_market(who, U256::from(id));
        let (_, g2) = ok(&auth, ())?;
        self.owners.insert(id, who);
        Ok((id, g + g2))
    }

    fn deposit(&mut self, a: AccountId, t: Token, amount: Wad) -> Tx<()> {
        let (token, units) = match t {
            Token::Usdc => (
                self.s.usdc,
                U256::from((amount / 1_000_000_000_000) as u128),
            ),
            Token::Weth => (self.s.weth, U256::from(amount as u128)),
        };
        let who = self.owner(a);
        let out = self.s.deposit(who, u(a), token, units);
        ok(&out, ())
    }

    fn set_insurance_account(&mut self, a: AccountId) -> Tx<()> {
        let (owner, keeper) = (self.s.owner, self.s.keeper);
        let out = self
            .s
            .send(owner, keeper, &K::setInsuranceAccountCall { account: u(a) });
        ok(&out, ())
    }

    fn trade(
        &mut self,
        b: AccountId,
        s: AccountId,
        id: InstrumentId,
        size: Wad,
        price: Wad,
    ) -> Tx<()> {
        let out = self
            .s
            .trade(u(b), u(s), U256::from_be_bytes(id), size, price);
        ok(&out, ())
    }

    fn push_price(&mut self, price: Wad) -> u128 {
        self.s.set_price(price)
    }

    fn post_surface(&mut self, expiry: u64, v: [Wad; 5]) -> Tx<()> {
        let out = self.s.post_surface(
            ETH,
            expiry,
            SviParams {
                a: v[0],
                b: v[1],
                rho: v[2],
                m: v[3],
                sigma: v[4],
            },
        );
        ok(&out, ())
    }

    fn poke(&mut self) -> Tx<()> {
        let out = self.s.poke(ETH);
        ok(&out, ())
    }

    fn risk(&mut self, a: AccountId) -> Result<Risk, String> {
        let reader = self.s.reader;
        let w = self
            .s
            .view(
                reader,
                &RR::evaluationsCall {
                    accounts: vec![u(a)],
                    actor: Address::ZERO,
                },
            )
            .map_err(|o| short(&describe_revert(&o.return_data)))?
            ._0;
        let n = |k: usize| i(I256::from_raw(w[k]));
        if w.len() < 11 {
            return Err(format!("evaluations: {} words", w.len()));
        }
        let (equity, coll, gross) = (n(2), n(7), n(8));
        let mut r = Risk {
            equity,
            mm: n(4),
            im: n(5),
            failure: w[1].as_limbs()[0] as u8,
            frozen: w[0].as_limbs()[0] & 2 != 0,
            bundle: equity + (gross - coll),
            ..Risk::default()
        };
        let count = w[10].to::<usize>();
        for g in 0..count {
            let b = 11 + 5 * g;
            if w.len() >= b + 5 && w[b].to::<u32>() == ETH {
                r.delta = n(b + 1);
                r.gamma = n(b + 2);
                r.vega = n(b + 3);
                r.theta = n(b + 4);
            }
        }
        Ok(r)
    }

    fn positions(&mut self, a: AccountId) -> Vec<(InstrumentId, Wad)> {
        let registry = self.s.registry;
        match self
            .s
            .view(registry, &R::getPositionsCall { account: u(a) })
        {
            Ok(r) => {
                r._0.ids
                    .iter()
                    .zip(r._0.sizes.iter())
                    .map(|(id, size)| (id.to_be_bytes(), i(*size)))
                    .collect()
            }
            Err(_) => Vec::new(),
        }
    }

    fn cash(&mut self, a: AccountId) -> Wad {
        self.s.cash(u(a))
    }

    fn deficit(&mut self) -> Wad {
        self.s.deficit()
    }

    fn start_liquidation(&mut self, a: AccountId, bounty_to: AccountId) -> Tx<Wad> {
        let out = self
            .s
            .start_liquidation(self.keeper_bot, u(a), u(bounty_to));
        let bounty = out
            .events::<K::AuctionStarted>()
            .first()
            .map_or(0, |e| i(e.bounty));
        ok(&out, bounty)
    }

    fn auction(&mut self, a: AccountId, portion: Wad) -> Result<AuctionView, String> {
        let v = self
            .s
            .auction(u(a), portion)
            .map_err(|o| short(&describe_revert(&o.return_data)))?;
        Ok(AuctionView {
            started_at: v.started_at,
            insolvent_since: v.insolvent_since,
            discount: v.discount,
            max_fraction: v.max_fraction,
            price: v.price,
        })
    }

    fn liquidate(&mut self, a: AccountId, l: AccountId, portion: Wad, max_price: Wad) -> Tx<Fill> {
        let who = self.owner(l);
        let out = self.s.liquidate(who, u(a), u(l), portion, max_price);
        let mut fill = Fill::default();
        if out.success {
            let keeper = self.s.keeper;
            if let Some(e) = out.events_from::<K::Liquidated>(keeper).first() {
                fill.fraction = i(e.fraction);
                fill.price = i(e.price);
                fill.discount = i(e.discount);
                fill.insurance_fee = i(e.insuranceFee);
            }
            fill.insurance_paid = out
                .events_from::<K::InsurancePaid>(keeper)
                .iter()
                .map(|e| i(e.amount))
                .sum();
            fill.deficit = out
                .events_from::<K::DeficitRecorded>(keeper)
                .iter()
                .map(|e| i(e.amount))
                .sum();
            fill.ended = !out.events_from::<K::AuctionEnded>(keeper).is_empty();
        }
        ok(&out, fill)
    }

    fn end_auction(&mut self, a: AccountId) -> Tx<()> {
        let out = self.s.end_auction(self.keeper_bot, u(a));
        ok(&out, ())
    }

    fn record_settlement(&mut self, expiry: u64, round: u128) -> Tx<Wad> {
        let out = self.s.record_settlement(ETH, expiry, round);
        let price = if out.success {
            i(out
                .decode::<margin_harness::abi::IRiskOracle::recordSettlementCall>()
                ._0)
        } else {
            0
        };
        ok(&out, price)
    }

    fn settle(&mut self, a: AccountId, ids: &[InstrumentId]) -> Tx<()> {
        let ids: Vec<U256> = ids.iter().map(|x| U256::from_be_bytes(*x)).collect();
        let out = self.s.settle(u(a), &ids);
        ok(&out, ())
    }
}
