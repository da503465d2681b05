//! The whole system deployed from its deployable WASM: the contracts of Stylus Margin
//! (`scripts/build-wasm.sh` writes them to `target-wasm/deploy/`) deployed through their
//! constructors and wired as in a real deployment, with native stand-ins for the rest of
//! the world: USDC (6 decimals, the quote asset), WETH (18 decimals, collateral priced by
//! underlying 1) and a Chainlink-style feed per underlying.
//!
//! ```no_run
//! use margin_harness::system::{System, SystemConfig, wad, Kind};
//! let mut s = System::deploy(SystemConfig::default());
//! let expiry = s.expiries()[0];
//! let put = s.list(Kind::Put, 2_000 * wad(1), expiry);
//! let seller = s.new_account(alice(), 0, 10);        // 10 WETH
//! let buyer = s.new_account(bob(), 50_000, 0);       // 50,000 USDC
//! let out = s.trade(buyer, seller, put, wad(1), 100 * wad(1));
//! assert!(out.success, "{}", s.why(&out));
//! println!("trade: {} gas; seller {:?}", out.gas_used, s.risk(seller));
//! # fn alice() -> margin_wasm_env::Address { margin_wasm_env::Address::repeat_byte(0xa1) }
//! # fn bob() -> margin_wasm_env::Address { margin_wasm_env::Address::repeat_byte(0xb0) }
//! ```
//!
//! Every transaction helper returns the [`Outcome`] (success, revert data, logs, gas);
//! [`System::why`] names a revert with the generated interfaces. Reads return decoded
//! values. Amounts are 18-decimal WAD unless a name says otherwise (`*_units` are token
//! units). The wiring (constructor arguments, `setEngine`, `setKeeper`, asset listings,
//! `addUnderlying`, `setUnderlying`, `setFeeder`, `setMarket`, surfaces) is the one of the
//! motsu world in `contracts/engine/tests/common/mod.rs`; [`SystemConfig`] makes prices,
//! haircuts and the margin, liquidation and oracle parameters settable.

use crate::abi::{
    describe_revert, ICollateralVault as V, IKeeperModule as K, IPositionRegistry as R,
    IRiskEngine as E, IRiskLens as L, IRiskOracle as O, IRiskReader as RR,
};
use alloy_primitives::aliases::U80;
use alloy_sol_types::SolCall;
use margin_wasm_env::mocks::{MockAggregator, IERC20};
use margin_wasm_env::{Address, Env, Outcome, I256, U256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub use stylus_margin::collateral::AssetConfig;
pub use stylus_margin::instrument::{Kind, Terms};
pub use stylus_margin::liquidation::LiquidationParams;
pub use stylus_margin::margin::MarginParams;
pub use stylus_margin::svi::SviParams;

/// 10^18: one unit in WAD.
pub const WAD: i128 = 1_000_000_000_000_000_000;
/// Seconds per day.
pub const DAY: u64 = 86_400;
/// Seconds per (365-day) year, as the core counts time to expiry.
pub const YEAR: u64 = 31_536_000;
/// The underlying WETH is priced by (ETH).
pub const ETH: u32 = 1;

/// The eight contracts, in deployment order (their file names in the deploy directory).
pub const CONTRACTS: [&str; 8] = [
    "vault",
    "registry",
    "oracle",
    "calculator",
    "reader",
    "engine",
    "keeper",
    "lens",
];

/// `x` whole units in WAD.
pub fn wad(x: i128) -> i128 {
    x * WAD
}

/// An `i128` as an `int256`.
pub fn i256(x: i128) -> I256 {
    I256::try_from(x).expect("i128 fits int256")
}

/// `engine.trade`'s call (what the market sends): `buyer` gets `size` (WAD) of `id` from
/// `seller` at `price` (WAD per unit), each paying `fee`.
pub fn trade_call(
    buyer: U256,
    seller: U256,
    id: U256,
    size: i128,
    price: i128,
    fee: i128,
) -> E::tradeCall {
    E::tradeCall {
        buyer,
        seller,
        instrument: id,
        size: i256(size),
        price: i256(price),
        fee: i256(fee),
    }
}

/// An `int256` as an `i128` (panics if it does not fit).
pub fn int(x: I256) -> i128 {
    i128::try_from(x).expect("int256 fits i128")
}

/// Where the deployable binaries are: `MARGIN_WASM_DEPLOY_DIR` if set, else
/// `target-wasm/deploy/` at the workspace root (what `scripts/build-wasm.sh` writes).
pub fn default_deploy_dir() -> PathBuf {
    match std::env::var_os("MARGIN_WASM_DEPLOY_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target-wasm/deploy"),
    }
}

/// The directory of the deployable binaries ([`default_deploy_dir`]) once it holds every
/// one that [`System::deploy`] needs: when some are missing from the workspace's
/// `target-wasm/deploy/`, they are built first with `scripts/build-wasm.sh` (a few
/// minutes, once), so the simulator is one command on a fresh machine. `Err` says what
/// to do when they cannot be had (a `MARGIN_WASM_DEPLOY_DIR` lacking them is not built
/// into).
pub fn ensure_binaries() -> Result<PathBuf, String> {
    let dir = default_deploy_dir();
    let missing = |d: &Path| -> Vec<&str> {
        CONTRACTS
            .iter()
            .chain(&["token"])
            .copied()
            .filter(|c| !d.join(format!("{c}.wasm")).is_file())
            .collect()
    };
    let lacking = missing(&dir);
    if lacking.is_empty() {
        return Ok(dir);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("scripts/build-wasm.sh");
    if std::env::var_os("MARGIN_WASM_DEPLOY_DIR").is_some() || !script.is_file() {
        return Err(format!(
            "{} lacks {}.wasm: build them with scripts/build-wasm.sh (from the workspace \
             root), or point MARGIN_WASM_DEPLOY_DIR at a directory holding them",
            dir.display(),
            lacking.join(".wasm, ")
        ));
    }
    eprintln!(
        "building the deployable binaries first (scripts/build-wasm.sh; {} missing; a few \
         minutes, once)",
        lacking.join(", ")
    );
    let status = std::process::Command::new("bash")
        .arg(&script)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let lacking = missing(&dir);
    if !status.success() || !lacking.is_empty() {
        return Err(format!(
            "scripts/build-wasm.sh failed ({status}); still missing: {}; see its output \
             above (README, set-up)",
            lacking.join(", ")
        ));
    }
    Ok(dir)
}

/// Reads `<dir>/<contract>.wasm`; panics, naming `scripts/build-wasm.sh`, when it is missing.
pub fn load_wasm_from(dir: &Path, contract: &str) -> Vec<u8> {
    let path = dir.join(format!("{contract}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): build the deployable binaries first with \
             `scripts/build-wasm.sh` (they go to target-wasm/deploy/), or point \
             MARGIN_WASM_DEPLOY_DIR at a directory holding them",
            path.display()
        )
    })
}

/// The constructor arguments of the test token (`contracts/token`): its decimals.
fn token_decimals(decimals: u8) -> Vec<u8> {
    U256::from(decimals).to_be_bytes::<32>().to_vec()
}

/// `<contract>.wasm` from [`default_deploy_dir`].
pub fn load_wasm(contract: &str) -> Vec<u8> {
    load_wasm_from(&default_deploy_dir(), contract)
}

/// The oracle's configuration of an underlying (`oracle.setUnderlying`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OracleParams {
    /// Largest feed age accepted for new risk, seconds.
    pub max_age: u32,
    /// Largest surface age accepted for new risk, seconds.
    pub surface_max_age: u32,
    /// 0 (the retired Taylor path) or 1: both are valued by full revaluation now.
    pub method: u8,
    /// Risk-free rate, WAD.
    pub rate: i64,
    /// Reference volatility of the shock scaling, WAD.
    pub ref_vol: u64,
    /// EWMA decay, WAD.
    pub lambda: u64,
    /// Stable price speed, WAD per second.
    pub stable_rate: u64,
}

impl OracleParams {
    /// `setUnderlying`'s struct for these values and `feed`.
    pub fn with_feed(&self, feed: Address) -> O::UnderlyingParams {
        O::UnderlyingParams {
            feed,
            maxAge: self.max_age,
            surfaceMaxAge: self.surface_max_age,
            method: self.method,
            rate: self.rate,
            refVol: self.ref_vol,
            lambda: self.lambda,
            stableRate: self.stable_rate,
        }
    }
}

impl Default for OracleParams {
    /// The motsu world's: 1 h ages, Greeks path, 4% rate, 80% reference vol, lambda 0.94,
    /// stable rate 0.0003 / s.
    fn default() -> Self {
        OracleParams {
            max_age: 3_600,
            surface_max_age: 3_600,
            method: 1,
            rate: 40_000_000_000_000_000,
            ref_vol: 800_000_000_000_000_000,
            lambda: 940_000_000_000_000_000,
            stable_rate: 300_000_000_000_000,
        }
    }
}

/// What [`System::deploy`] sets up. `Default` is the motsu world's: ETH at 2,000 with a flat
/// 65% surface 30 days out, WETH haircut 10% floor / k = 1 / 50% max, default margin and
/// liquidation parameters, programs not cached.
#[derive(Clone, Debug)]
pub struct SystemConfig {
    /// Directory of the `<contract>.wasm` files (default [`default_deploy_dir`]).
    pub deploy_dir: PathBuf,
    /// Block timestamp at deployment (default 2025-01-01 00:00:00 UTC).
    pub start_time: u64,
    /// ETH price, WAD quote units.
    pub spot: i128,
    /// Decimals of the feeds' answers.
    pub feed_decimals: u8,
    /// The oracle configuration of ETH.
    pub oracle: OracleParams,
    /// WETH's collateral configuration (`underlying` and `decimals` are filled in).
    pub weth: AssetConfig,
    /// Deposit caps, token units.
    pub usdc_cap: U256,
    pub weth_cap: U256,
    /// Flat volatility (WAD) of the surfaces posted at deployment.
    pub vol: i128,
    /// Expiries (absolute) whose flat surface is posted at deployment.
    pub expiries: Vec<u64>,
    /// Margin parameters (`reader.setParams`); `None` keeps the contract's defaults.
    pub margin_params: Option<MarginParams>,
    /// Liquidation parameters (`keeper.setLiquidationParams`); `None`: defaults.
    pub liquidation_params: Option<LiquidationParams>,
    /// `registry.setMaxPositions`; `None`: the default.
    pub max_positions: Option<u64>,
    /// Puts the programs in the cache manager (cheaper entry; default false).
    pub cached: bool,
    /// The ArbOS version whose program-entry rules apply (default 60: a program already run
    /// in the block enters at the cached price; below 60 every entry pays full init).
    pub arbos_version: u64,
}

impl Default for SystemConfig {
    fn default() -> Self {
        let start_time = 1_735_689_600;
        SystemConfig {
            deploy_dir: default_deploy_dir(),
            start_time,
            spot: wad(2_000),
            feed_decimals: 8,
            oracle: OracleParams::default(),
            weth: AssetConfig {
                underlying: ETH,
                enabled: true,
                haircut_floor_ppm: 100_000,
                vol_multiplier_ppm: 1_000_000,
                haircut_max_ppm: 500_000,
                ..AssetConfig::default()
            },
            usdc_cap: U256::from(u128::MAX >> 8),
            weth_cap: U256::from(u128::MAX >> 8),
            vol: 65 * WAD / 100,
            expiries: vec![start_time + 30 * DAY],
            margin_params: None,
            liquidation_params: None,
            max_positions: None,
            cached: false,
            arbos_version: 60,
        }
    }
}

/// `lens.accountRisk`, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRisk {
    /// Equity at oracle prices (cash + haircut collateral + mark-to-market), WAD.
    pub equity: i128,
    pub mm: i128,
    pub im: i128,
    /// Equity at IM prices.
    pub equity_im: i128,
    /// Per underlying: (underlying, delta, gamma, vega, theta).
    pub greeks: Vec<(u32, i128, i128, i128, i128)>,
    /// Index of the worst scenario (255: no positions).
    pub worst_scenario: u8,
}

impl AccountRisk {
    /// `equity - MM`.
    pub fn mm_surplus(&self) -> i128 {
        self.equity - self.mm
    }
    /// `equity_im - IM`.
    pub fn im_surplus(&self) -> i128 {
        self.equity_im - self.im
    }
}

/// `keeper.auction`, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuctionView {
    pub started_at: u64,
    pub insolvent_since: u64,
    /// The discount now, WAD.
    pub discount: i128,
    /// The largest fraction a bid may take now, WAD.
    pub max_fraction: i128,
    /// What a bid for the asked portion pays now, WAD quote.
    pub price: i128,
}

/// The deployed, wired system and the environment it runs in.
pub struct System {
    /// The environment (public: anything the helpers do not cover).
    pub env: Env,
    /// What it was deployed with.
    pub config: SystemConfig,
    /// Owner of the contracts, feeder of the oracle.
    pub owner: Address,
    /// An authorised market (`engine.setMarket`): trades are sent from it.
    pub market: Address,
    pub vault: Address,
    pub registry: Address,
    pub oracle: Address,
    pub calculator: Address,
    pub reader: Address,
    pub engine: Address,
    pub keeper: Address,
    /// The periphery views (account risk, health, scan, quote).
    pub lens: Address,
    /// OpenZeppelin ERC20 (WASM), 6 decimals, the quote asset.
    pub usdc: Address,
    /// OpenZeppelin ERC20 (WASM), 18 decimals, collateral priced by [`ETH`].
    pub weth: Address,
    /// The constructor call of each contract (gas of deployment), in deployment order.
    pub constructors: Vec<(&'static str, Option<Outcome>)>,
    feeds: BTreeMap<u32, Address>,
    /// (underlying, expiry) -> flat vol of the surfaces posted through the helpers.
    surfaces: BTreeMap<(u32, u64), i128>,
}

fn expect_ok(what: &str, out: &Outcome) {
    assert!(
        out.success,
        "{what} failed: {} ({:?})",
        describe_revert(&out.return_data),
        out.status
    );
}

impl System {
    /// The contracts' addresses, in the order of [`CONTRACTS`].
    pub fn addresses(&self) -> [Address; CONTRACTS.len()] {
        [
            self.vault,
            self.registry,
            self.oracle,
            self.calculator,
            self.reader,
            self.engine,
            self.keeper,
            self.lens,
        ]
    }

    /// Deploys and wires everything as `config` says. Panics if a binary is missing (naming
    /// `scripts/build-wasm.sh`) or any set-up transaction fails.
    pub fn deploy(config: SystemConfig) -> System {
        let mut env = Env::new();
        env.set_timestamp(config.start_time);
        env.set_arbos_version(config.arbos_version);
        let owner = Address::repeat_byte(0xAD);
        let market = Address::repeat_byte(0x3E);
        let usdc = Address::repeat_byte(0xC6);
        let weth = Address::repeat_byte(0xE1);
        // The tokens are OpenZeppelin's ERC20 compiled to WASM (contracts/token), so deposits
        // and withdrawals pay what a real token costs (a native stand-in under-charged them
        // by 13-16k gas against it).
        let token = load_wasm_from(&config.deploy_dir, "token");
        for (addr, decimals) in [(usdc, 6u8), (weth, 18)] {
            env.deploy_wasm_at(addr, &token, Some(&token_decimals(decimals)), owner)
                .unwrap_or_else(|e| panic!("deploying the token at {addr}: {e}"));
            if config.cached {
                env.set_program_cached(addr, true);
            }
        }
        let wasm: Vec<Vec<u8>> = CONTRACTS
            .iter()
            .map(|c| load_wasm_from(&config.deploy_dir, c))
            .collect();
        // In this order every constructor names only contracts already deployed.
        let w = |a: Address| a.into_word().to_vec();
        let mut at: Vec<Address> = Vec::new();
        let mut constructors = Vec::new();
        for (i, name) in CONTRACTS.iter().enumerate() {
            let args = match *name {
                "calculator" => None,
                "reader" => Some([w(owner), w(at[0]), w(at[1]), w(at[2]), w(at[3])].concat()),
                "engine" => Some([w(owner), w(at[0]), w(at[1]), w(at[4]), w(at[2])].concat()),
                "keeper" => Some([w(owner), w(at[0]), w(at[1]), w(at[4])].concat()),
                "lens" => Some(w(at[4])),
                _ => Some(w(owner)),
            };
            let d = env
                .deploy(&wasm[i], args.as_deref(), owner)
                .unwrap_or_else(|e| panic!("deploying {name}: {e}"));
            if config.cached {
                env.set_program_cached(d.address, true);
            }
            at.push(d.address);
            constructors.push((*name, d.constructor));
        }
        let (vault, registry, oracle, calculator, reader, engine, keeper, lens) =
            (at[0], at[1], at[2], at[3], at[4], at[5], at[6], at[7]);
        let mut s = System {
            env,
            config: config.clone(),
            owner,
            market,
            vault,
            registry,
            oracle,
            calculator,
            reader,
            engine,
            keeper,
            lens,
            usdc,
            weth,
            constructors,
            feeds: BTreeMap::new(),
            surfaces: BTreeMap::new(),
        };
        s.admin(vault, &V::setEngineCall { engine });
        s.admin(registry, &R::setEngineCall { engine });
        s.admin(vault, &V::setKeeperCall { keeper });
        s.admin(registry, &R::setKeeperCall { keeper });
        let quote_cfg = AssetConfig {
            enabled: true,
            haircut_max_ppm: 0,
            ..AssetConfig::default()
        };
        s.admin(
            vault,
            &V::listAssetCall {
                token: usdc,
                config: U256::from_be_bytes(quote_cfg.pack()),
                deposit_cap: config.usdc_cap,
                is_quote: true,
            },
        );
        let weth_cfg = AssetConfig {
            underlying: ETH,
            ..config.weth
        };
        s.admin(
            vault,
            &V::listAssetCall {
                token: weth,
                config: U256::from_be_bytes(weth_cfg.pack()),
                deposit_cap: config.weth_cap,
                is_quote: false,
            },
        );
        s.admin(
            oracle,
            &O::setFeederCall {
                feeder: owner,
                allowed: true,
            },
        );
        s.admin(
            engine,
            &E::setMarketCall {
                market,
                allowed: true,
            },
        );
        s.add_underlying(ETH, config.spot, config.oracle);
        for &expiry in &config.expiries {
            let out = s.post_flat_surface(ETH, expiry, config.vol);
            expect_ok("postSurface", &out);
        }
        if let Some(p) = config.margin_params {
            expect_ok("reader.setParams", &s.set_margin_params(&p));
        }
        if let Some(p) = config.liquidation_params {
            expect_ok("keeper.setLiquidationParams", &s.set_liquidation_params(&p));
        }
        if let Some(n) = config.max_positions {
            expect_ok("registry.setMaxPositions", &s.set_max_positions(n));
        }
        s
    }

    /// [`System::deploy`] with the default configuration, binaries from `deploy_dir`.
    pub fn deploy_from(deploy_dir: impl AsRef<Path>) -> System {
        System::deploy(SystemConfig {
            deploy_dir: deploy_dir.as_ref().to_path_buf(),
            ..SystemConfig::default()
        })
    }

    // --- raw calls -------------------------------------------------------------------------

    /// Sends `call` to `to` from `from` as a transaction.
    pub fn send<C: SolCall>(&mut self, from: Address, to: Address, call: &C) -> Outcome {
        self.env.call_sol(from, to, call)
    }

    /// Runs `call` to `to` from `from` as an `eth_call` (nothing persists) and gives its
    /// outcome, gas included: a transaction measured without committing it.
    pub fn simulate<C: SolCall>(&mut self, from: Address, to: Address, call: &C) -> Outcome {
        self.env.view(from, to, call.abi_encode())
    }

    /// Sends `call` from the owner and panics (naming the error) if it fails.
    pub fn admin<C: SolCall>(&mut self, to: Address, call: &C) -> Outcome {
        let out = self.env.call_sol(self.owner, to, call);
        expect_ok(C::SIGNATURE, &out);
        out
    }

    /// `eth_call` of `call` (nothing persists), decoded; `Err` with the outcome on a revert.
    pub fn view<C: SolCall>(&mut self, to: Address, call: &C) -> Result<C::Return, Box<Outcome>> {
        self.env.view_sol(to, call)
    }

    /// [`System::view`], panicking with the named error on a revert.
    pub fn read<C: SolCall>(&mut self, to: Address, call: &C) -> C::Return {
        self.view(to, call).unwrap_or_else(|o| {
            panic!(
                "{} reverted: {}",
                C::SIGNATURE,
                describe_revert(&o.return_data)
            )
        })
    }

    /// The revert of `out`, named with the generated interfaces ("ok" if it succeeded).
    pub fn why(&self, out: &Outcome) -> String {
        if out.success {
            "ok".to_string()
        } else {
            format!("{} ({:?})", describe_revert(&out.return_data), out.status)
        }
    }

    // --- time and market data --------------------------------------------------------------

    /// The block timestamp.
    pub fn now(&self) -> u64 {
        self.env.timestamp()
    }

    /// Moves time forward (the feed and surfaces age; see [`System::refresh`]).
    pub fn advance(&mut self, secs: u64) {
        self.env.advance(secs);
    }

    /// The expiries of the surfaces posted through the helpers, sorted (all underlyings).
    pub fn expiries(&self) -> Vec<u64> {
        let mut e: Vec<u64> = self.surfaces.keys().map(|&(_, x)| x).collect();
        e.sort_unstable();
        e.dedup();
        e
    }

    /// The feed of `underlying`.
    pub fn feed_address(&self, underlying: u32) -> Address {
        self.feeds[&underlying]
    }

    /// The mock feed of `underlying`, to set rounds directly.
    pub fn feed(&self, underlying: u32) -> Rc<MockAggregator> {
        self.env
            .native::<MockAggregator>(self.feed_address(underlying))
            .expect("a MockAggregator")
    }

    /// Adds an underlying: a new feed at `spot` (round at now), `registry.addUnderlying`,
    /// `oracle.setUnderlying`. Returns the feed's address.
    pub fn add_underlying(&mut self, underlying: u32, spot: i128, p: OracleParams) -> Address {
        let mut bytes = [0xFEu8; 20];
        bytes[16..].copy_from_slice(&underlying.to_be_bytes());
        let feed = Address::from(bytes);
        self.env.register_native(
            feed,
            Box::new(MockAggregator::new(
                self.config.feed_decimals,
                &format!("UNDERLYING {underlying} / USD"),
            )),
        );
        self.feeds.insert(underlying, feed);
        self.set_price_of(underlying, spot);
        self.admin(self.registry, &R::addUnderlyingCall { underlying });
        self.admin(
            self.oracle,
            &O::setUnderlyingCall {
                underlying,
                params: p.with_feed(feed),
            },
        );
        feed
    }

    /// Re-configures an underlying (e.g. the margin method: 0 Greeks, 1 full revaluation).
    pub fn set_oracle_params(&mut self, underlying: u32, p: OracleParams) -> Outcome {
        let feed = self.feed_address(underlying);
        self.send(
            self.owner,
            self.oracle,
            &O::setUnderlyingCall {
                underlying,
                params: p.with_feed(feed),
            },
        )
    }

    /// Pushes a round of ETH at `price` (WAD) updated now; returns the round id.
    pub fn set_price(&mut self, price: i128) -> u128 {
        self.set_price_of(ETH, price)
    }

    /// Pushes a round of `underlying` at `price` (WAD) updated now; returns the round id.
    pub fn set_price_of(&mut self, underlying: u32, price: i128) -> u128 {
        let now = self.now();
        self.push_round(underlying, price, now)
    }

    /// Pushes a round of `underlying` at `price` (WAD) updated at `updated_at`.
    pub fn push_round(&mut self, underlying: u32, price: i128, updated_at: u64) -> u128 {
        let scale = 10i128.pow(18 - u32::from(self.config.feed_decimals));
        self.feed(underlying).push(i256(price / scale), updated_at)
    }

    /// The latest price of `underlying`'s feed, WAD (0 if none).
    pub fn price(&self, underlying: u32) -> i128 {
        let scale = 10i128.pow(18 - u32::from(self.config.feed_decimals));
        self.feed(underlying)
            .latest_round()
            .map(|(_, r)| int(r.answer) * scale)
            .unwrap_or(0)
    }

    /// Posts a flat-volatility surface for (underlying, expiry): SVI with total variance
    /// `a = vol^2 x T` (T from now), `b = rho = m = 0`, `sigma = 0.1`. Remembered for
    /// [`System::refresh`].
    pub fn post_flat_surface(&mut self, underlying: u32, expiry: u64, vol: i128) -> Outcome {
        let t = i128::from(expiry.saturating_sub(self.now())) * WAD / i128::from(YEAR);
        let a = vol * vol / WAD * t / WAD;
        let out = self.post_surface(
            underlying,
            expiry,
            SviParams {
                a,
                b: 0,
                rho: 0,
                m: 0,
                sigma: WAD / 10,
            },
        );
        if out.success {
            self.surfaces.insert((underlying, expiry), vol);
        }
        out
    }

    /// Posts SVI parameters (WAD) for (underlying, expiry), from the owner (a feeder).
    pub fn post_surface(&mut self, underlying: u32, expiry: u64, p: SviParams) -> Outcome {
        self.send(
            self.owner,
            self.oracle,
            &O::postSurfaceCall {
                underlying,
                expiry,
                a: i256(p.a),
                b: i256(p.b),
                rho: i256(p.rho),
                m: i256(p.m),
                sigma: i256(p.sigma),
            },
        )
    }

    /// Keeps market data fresh after time moved: a new round of every feed at its last
    /// price, now, and every remembered flat surface whose expiry is still ahead re-posted.
    pub fn refresh(&mut self) {
        let feeds: Vec<u32> = self.feeds.keys().copied().collect();
        for u in feeds {
            let p = self.price(u);
            self.set_price_of(u, p);
        }
        let now = self.now();
        let live: Vec<((u32, u64), i128)> = self
            .surfaces
            .iter()
            .filter(|(&(_, e), _)| e > now)
            .map(|(&k, &v)| (k, v))
            .collect();
        for ((u, e), v) in live {
            expect_ok("postSurface", &self.post_flat_surface(u, e, v));
        }
    }

    /// `oracle.poke(underlying)` (stable price and EWMA vol), from anyone.
    pub fn poke(&mut self, underlying: u32) -> Outcome {
        self.send(
            Address::repeat_byte(0x99),
            self.oracle,
            &O::pokeCall { underlying },
        )
    }

    /// The round that settles `expiry`: the first round at or after it whose predecessor
    /// is before it.
    pub fn settlement_round(&self, underlying: u32, expiry: u64) -> Option<u128> {
        let feed = self.feed(underlying);
        (2..=feed.latest_id()).find(|&id| {
            let (Some(r), Some(p)) = (feed.round(id), feed.round(id - 1)) else {
                return false;
            };
            r.updated_at >= expiry && p.updated_at < expiry
        })
    }

    /// `oracle.recordSettlement(underlying, expiry, round)`, from anyone.
    pub fn record_settlement(&mut self, underlying: u32, expiry: u64, round: u128) -> Outcome {
        self.send(
            Address::repeat_byte(0x99),
            self.oracle,
            &O::recordSettlementCall {
                underlying,
                expiry,
                round_id: U80::from(round),
            },
        )
    }

    // --- instruments ---------------------------------------------------------------------------

    /// The id of (kind, ETH, strike WAD, expiry).
    pub fn instrument(&self, kind: Kind, strike: i128, expiry: u64) -> U256 {
        instrument_id(kind, ETH, strike, expiry)
    }

    /// Lists (kind, ETH, strike, expiry); panics if the registry refuses. Returns the id.
    pub fn list(&mut self, kind: Kind, strike: i128, expiry: u64) -> U256 {
        let (id, out) = self.list_instrument(kind, ETH, strike, expiry);
        expect_ok("listInstrument", &out);
        id
    }

    /// `registry.listInstrument` from the owner: the id and the outcome.
    pub fn list_instrument(
        &mut self,
        kind: Kind,
        underlying: u32,
        strike: i128,
        expiry: u64,
    ) -> (U256, Outcome) {
        let out = self.send(
            self.owner,
            self.registry,
            &R::listInstrumentCall {
                kind: kind as u8,
                underlying,
                strike: U256::from(strike as u128),
                expiry,
            },
        );
        (instrument_id(kind, underlying, strike, expiry), out)
    }

    // --- accounts and collateral ---------------------------------------------------------------

    /// `vault.openAccount()` from `who`: the new id and the outcome.
    pub fn open_account(&mut self, who: Address) -> (U256, Outcome) {
        let out = self.send(who, self.vault, &V::openAccountCall {});
        let id = if out.success {
            out.decode::<V::openAccountCall>()._0
        } else {
            U256::ZERO
        };
        (id, out)
    }

    /// Lists another collateral token: the OpenZeppelin ERC20 WASM with `decimals` (the symbol
    /// is the caller's label only) priced by
    /// `underlying` (which must exist: [`System::add_underlying`]) with the haircut
    /// configuration `config`, deposit cap unlimited. Returns the token's address.
    pub fn list_collateral(
        &mut self,
        _symbol: &str,
        decimals: u8,
        underlying: u32,
        config: AssetConfig,
    ) -> Address {
        let listed = self.read(self.vault, &V::listedTokensCall {})._0.len();
        let mut bytes = [0xC0u8; 20];
        bytes[19] = listed as u8;
        let token = Address::from(bytes);
        let wasm = load_wasm_from(&self.config.deploy_dir, "token");
        self.env
            .deploy_wasm_at(token, &wasm, Some(&token_decimals(decimals)), self.owner)
            .unwrap_or_else(|e| panic!("deploying the token at {token}: {e}"));
        let cfg = AssetConfig {
            underlying,
            enabled: true,
            ..config
        };
        self.admin(
            self.vault,
            &V::listAssetCall {
                token,
                config: U256::from_be_bytes(cfg.pack()),
                deposit_cap: U256::from(u128::MAX >> 8),
                is_quote: false,
            },
        );
        token
    }

    /// `vault.setOperator(account, market, true)` from `who` (the account's owner).
    pub fn authorize_market(&mut self, who: Address, account: U256) -> Outcome {
        self.send(
            who,
            self.vault,
            &V::setOperatorCall {
                account,
                operator: self.market,
                approved: true,
            },
        )
    }

    /// Mints `units` of `token` to `who`, approves the vault, and deposits them into
    /// `account`: the outcome of the deposit.
    pub fn deposit(&mut self, who: Address, account: U256, token: Address, units: U256) -> Outcome {
        let mint = self.send(
            who,
            token,
            &IERC20::mintCall {
                to: who,
                value: units,
            },
        );
        expect_ok("mint", &mint);
        let approve = self.send(
            who,
            token,
            &IERC20::approveCall {
                spender: self.vault,
                value: units,
            },
        );
        expect_ok("approve", &approve);
        self.send(
            who,
            self.vault,
            &V::depositCall {
                account,
                token,
                amount: units,
            },
        )
    }

    /// Opens an account for `who`, makes the market its operator and deposits `usdc`
    /// whole USDC and `weth` whole WETH; panics on failure. Returns the id.
    pub fn new_account(&mut self, who: Address, usdc: u128, weth: u128) -> U256 {
        let (id, out) = self.open_account(who);
        expect_ok("openAccount", &out);
        expect_ok("setOperator", &self.authorize_market(who, id));
        if usdc > 0 {
            let units = usdc_units(usdc);
            expect_ok("deposit USDC", &self.deposit(who, id, self.usdc, units));
        }
        if weth > 0 {
            let units = weth_units(weth);
            expect_ok("deposit WETH", &self.deposit(who, id, self.weth, units));
        }
        id
    }

    /// An insurance fund: an account of `who` with `usdc` whole USDC, named the keeper's
    /// insurance account. Returns the id.
    pub fn setup_insurance(&mut self, who: Address, usdc: u128) -> U256 {
        let id = self.new_account(who, usdc, 0);
        self.admin(self.keeper, &K::setInsuranceAccountCall { account: id });
        id
    }

    /// `engine.withdraw(account, token, amount (WAD), to)` from `who`.
    pub fn withdraw(
        &mut self,
        who: Address,
        account: U256,
        token: Address,
        amount: U256,
        to: Address,
    ) -> Outcome {
        self.send(
            who,
            self.engine,
            &E::withdrawCall {
                account,
                token,
                amount,
                to,
            },
        )
    }

    // --- trading and settlement ----------------------------------------------------------------

    /// `engine.trade` from the authorised market: `buyer` gets `size` (WAD) of `id` from
    /// `seller` at `price` (WAD per unit), no fee.
    pub fn trade(
        &mut self,
        buyer: U256,
        seller: U256,
        id: U256,
        size: i128,
        price: i128,
    ) -> Outcome {
        self.trade_with_fee(buyer, seller, id, size, price, 0)
    }

    /// [`System::trade`] with a fee per side (needs a fee account).
    pub fn trade_with_fee(
        &mut self,
        buyer: U256,
        seller: U256,
        id: U256,
        size: i128,
        price: i128,
        fee: i128,
    ) -> Outcome {
        let call = trade_call(buyer, seller, id, size, price, fee);
        self.send(self.market, self.engine, &call)
    }

    /// `engine.settle(account, ids)` from anyone.
    pub fn settle(&mut self, account: U256, ids: &[U256]) -> Outcome {
        self.send(
            Address::repeat_byte(0x99),
            self.engine,
            &E::settleCall {
                account,
                instruments: ids.to_vec(),
            },
        )
    }

    // --- liquidation -----------------------------------------------------------------------

    /// `keeper.startLiquidation(account, bountyAccount)` from `caller`.
    pub fn start_liquidation(
        &mut self,
        caller: Address,
        account: U256,
        bounty_account: U256,
    ) -> Outcome {
        self.send(
            caller,
            self.keeper,
            &K::startLiquidationCall {
                account,
                bounty_account,
            },
        )
    }

    /// `keeper.liquidate(account, liquidatorAccount, maxPortion, maxPrice)` from `caller`
    /// (owner or operator of the liquidator's account). Decode with
    /// `out.decode::<IKeeperModule::liquidateCall>()` for (fraction, price).
    pub fn liquidate(
        &mut self,
        caller: Address,
        account: U256,
        liquidator_account: U256,
        max_portion: i128,
        max_price: i128,
    ) -> Outcome {
        self.send(
            caller,
            self.keeper,
            &K::liquidateCall {
                account,
                liquidator_account,
                max_portion: U256::from(max_portion as u128),
                max_price: i256(max_price),
            },
        )
    }

    /// `keeper.endAuction(account)` from `caller`.
    pub fn end_auction(&mut self, caller: Address, account: U256) -> Outcome {
        self.send(caller, self.keeper, &K::endAuctionCall { account })
    }

    /// `keeper.auction(account, portion)`.
    pub fn auction(&mut self, account: U256, portion: i128) -> Result<AuctionView, Box<Outcome>> {
        let r = self.view(
            self.keeper,
            &K::auctionCall {
                account,
                portion: U256::from(portion as u128),
            },
        )?;
        let a = r._0;
        Ok(AuctionView {
            started_at: a.startedAt,
            insolvent_since: a.insolventSince,
            discount: int(a.discount),
            max_fraction: int(a.maxFraction),
            price: int(a.price),
        })
    }

    /// The deficit ledger (bad debt the fund could not cover), WAD.
    pub fn deficit(&mut self) -> i128 {
        int(self.read(self.keeper, &K::deficitCall {})._0)
    }

    // --- parameters ------------------------------------------------------------------------

    /// `reader.setParams` from the owner.
    pub fn set_margin_params(&mut self, p: &MarginParams) -> Outcome {
        self.send(
            self.owner,
            self.reader,
            &RR::setParamsCall {
                // The struct is the 12 words of the values in field order (the reader's
                // `margin_params_struct_is_solidity_abi`).
                params: words_as::<RR::MarginParams, _>(&p.to_limbs()),
            },
        )
    }

    /// `keeper.setLiquidationParams` from the owner.
    pub fn set_liquidation_params(&mut self, p: &LiquidationParams) -> Outcome {
        self.send(
            self.owner,
            self.keeper,
            &K::setLiquidationParamsCall {
                // The 10 words in field order (the keeper's `structs_are_solidity_abi`).
                params: words_as::<K::LiquidationParams, _>(&liquidation_words(p)),
            },
        )
    }

    /// `registry.setMaxPositions` from the owner.
    pub fn set_max_positions(&mut self, max: u64) -> Outcome {
        self.send(
            self.owner,
            self.registry,
            &R::setMaxPositionsCall {
                max: U256::from(max),
            },
        )
    }

    /// `vault.setAssetConfig` from the owner: the token's listed config with the haircut
    /// floor, multiplier, ceiling and liquidity depth of `c`.
    pub fn set_haircut(&mut self, token: Address, c: &AssetConfig) -> Outcome {
        let word = self.read(self.vault, &V::assetConfigCall { token })._0;
        let mut cfg = AssetConfig::unpack(word.to_be_bytes());
        cfg.haircut_floor_ppm = c.haircut_floor_ppm;
        cfg.vol_multiplier_ppm = c.vol_multiplier_ppm;
        cfg.haircut_max_ppm = c.haircut_max_ppm;
        cfg.liquidity_depth = c.liquidity_depth;
        self.send(
            self.owner,
            self.vault,
            &V::setAssetConfigCall {
                token,
                config: U256::from_be_bytes(cfg.pack()),
            },
        )
    }

    /// `engine.setPaused` from the owner (the first guardian).
    pub fn set_paused(&mut self, paused: bool) -> Outcome {
        self.send(self.owner, self.engine, &E::setPausedCall { paused })
    }

    // --- reads -----------------------------------------------------------------------------

    /// `lens.accountRisk(account)`, or the outcome of its revert.
    pub fn try_risk(&mut self, account: U256) -> Result<AccountRisk, Box<Outcome>> {
        let r = self.view(self.lens, &L::accountRiskCall { account })?._0;
        Ok(AccountRisk {
            equity: int(r.equity),
            mm: int(r.mm),
            im: int(r.im),
            equity_im: int(r.equityIm),
            greeks: (0..r.underlyings.len())
                .map(|i| {
                    (
                        r.underlyings[i],
                        int(r.delta[i]),
                        int(r.gamma[i]),
                        int(r.vega[i]),
                        int(r.theta[i]),
                    )
                })
                .collect(),
            worst_scenario: r.worstScenario,
        })
    }

    /// `lens.accountRisk(account)`; panics with the named error on a revert.
    pub fn risk(&mut self, account: U256) -> AccountRisk {
        self.try_risk(account).unwrap_or_else(|o| {
            panic!(
                "accountRisk({account}) reverted: {}",
                describe_revert(&o.return_data)
            )
        })
    }

    /// `lens.isLiquidatable(account)`.
    pub fn is_liquidatable(&mut self, account: U256) -> bool {
        self.read(self.lens, &L::isLiquidatableCall { account })._0
    }

    /// `lens.quote(id)`: (price, delta, gamma, vega, theta), WAD.
    pub fn quote(&mut self, id: U256) -> (i128, i128, i128, i128, i128) {
        let q = self.read(self.lens, &L::quoteCall { instrument: id })._0;
        (
            int(q.price),
            int(q.delta),
            int(q.gamma),
            int(q.vega),
            int(q.theta),
        )
    }

    /// `reader.check([accounts], 0)` sent as a transaction (for its gas).
    pub fn check(&mut self, accounts: &[U256]) -> Outcome {
        self.send(
            Address::repeat_byte(0x99),
            self.reader,
            &RR::checkCall {
                accounts: accounts.to_vec(),
                actor: Address::ZERO,
            },
        )
    }

    /// The account's cash (signed, WAD).
    pub fn cash(&mut self, account: U256) -> i128 {
        int(self.read(self.vault, &V::cashOfCall { account })._0)
    }

    /// The account's balance of `token` in the vault (WAD; `lens.balanceOf`).
    pub fn collateral(&mut self, account: U256, token: Address) -> U256 {
        self.read(self.lens, &L::balanceOfCall { account, token })
            ._0
    }

    /// (size, entry notional) of the account's position in `id`, WAD.
    pub fn position(&mut self, account: U256, id: U256) -> (i128, i128) {
        let r = self.read(self.registry, &R::positionOfCall { account, id });
        (int(r._0), int(r._1))
    }

    /// How many positions the account holds.
    pub fn position_count(&mut self, account: U256) -> u64 {
        self.read(self.registry, &R::positionCountCall { account })
            ._0
            .to::<u64>()
    }

    /// Whether the vault (`lens.isFrozen`) and the registry both see the account frozen.
    pub fn is_frozen(&mut self, account: U256) -> bool {
        self.read(self.lens, &L::isFrozenCall { account })._0
            && self.read(self.registry, &R::isFrozenCall { account })._0
    }

    /// An address's balance of a (native) token, token units.
    pub fn token_balance(&mut self, token: Address, holder: Address) -> U256 {
        self.read(token, &IERC20::balanceOfCall { owner: holder })
            ._0
    }
}

/// The id of (kind, underlying, strike WAD, expiry): the packed terms.
pub fn instrument_id(kind: Kind, underlying: u32, strike: i128, expiry: u64) -> U256 {
    U256::from_be_bytes(stylus_margin::instrument::pack(&Terms {
        kind,
        underlying,
        expiry,
        strike: strike as u128,
    }))
}

/// `x` whole USDC in token units (6 decimals).
pub fn usdc_units(x: u128) -> U256 {
    U256::from(x) * U256::from(1_000_000u64)
}

/// `x` whole WETH in token units (18 decimals).
pub fn weth_units(x: u128) -> U256 {
    U256::from(x) * U256::from(WAD as u128)
}

/// A parameter struct of the interfaces from the words of the values it names, in field
/// order (a static struct is its fields' words).
fn words_as<T: alloy_sol_types::SolType, V: alloy_sol_types::SolValue>(values: &V) -> T::RustType {
    T::abi_decode(&values.abi_encode(), true).expect("the struct's words")
}

/// The 10 values of `keeper.setLiquidationParams`, in `LiquidationParams` field order.
pub fn liquidation_words(p: &LiquidationParams) -> [U256; 10] {
    p.to_values().map(|x| U256::from(x as u128))
}
