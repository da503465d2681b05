//! Gas per call for a few operations of the real vault and registry, printed as a table
//! (`cargo test --release -p margin-harness --test gas_report -- --nocapture`).
//! The bounds asserted are loose: they catch a metering regression by an order of magnitude,
//! not a change of a few percent.

mod common;
use common::*;
use margin_wasm_env::mocks::{Erc20Flavor, MockErc20, IERC20};
use margin_wasm_env::{Address, Env, Outcome, I256, U256};
use stylus_margin::collateral::AssetConfig;

fn row(name: &str, out: &Outcome) -> (String, u64, u64) {
    assert!(out.success, "{name}: {out:?}");
    (name.to_string(), out.gas_used, out.execution_gas())
}

fn print(rows: &[(String, u64, u64)]) {
    println!("\n| call | gas used (tx) | execution gas |\n|---|---:|---:|");
    for (n, g, e) in rows {
        println!("| {n} | {g} | {e} |");
    }
}

#[test]
fn vault_gas() {
    let mut env = Env::new();
    let d = env
        .deploy(&VAULT_WASM, Some(&address_arg(owner())), owner())
        .unwrap();
    let vault = d.address;
    let stats = env.program_stats(vault).unwrap();
    println!(
        "vault.wasm: {} bytes, {} funcs, footprint {} page(s); init gas {} (not cached), cached gas {}",
        stats.wasm_len,
        stats.funcs,
        stats.footprint,
        stats.init_gas(),
        stats.cached_gas()
    );
    let mut rows = vec![row(
        "vault constructor(owner)",
        d.constructor.as_ref().unwrap(),
    )];

    let token = Address::repeat_byte(0x71);
    env.register_native(
        token,
        Box::new(MockErc20::new("WETH", 18, Erc20Flavor::Standard)),
    );
    let cfg = AssetConfig {
        underlying: 1,
        enabled: true,
        haircut_floor_ppm: 50_000,
        vol_multiplier_ppm: 1_000_000,
        haircut_max_ppm: 500_000,
        liquidity_depth: 10u128.pow(24),
        ..AssetConfig::default()
    };
    let list = IVault::listAssetCall {
        token,
        config: U256::from_be_bytes(cfg.pack()),
        deposit_cap: wad(1_000_000),
        is_quote: false,
    };

    rows.push(row(
        "vault owner() (as a transaction)",
        &env.call_sol(alice(), vault, &IVault::ownerCall {}),
    ));
    rows.push(row(
        "vault listAsset (static-calls decimals)",
        &env.call_sol(owner(), vault, &list),
    ));
    rows.push(row(
        "vault openAccount (first)",
        &env.call_sol(alice(), vault, &IVault::openAccountCall {}),
    ));
    rows.push(row(
        "vault openAccount (second)",
        &env.call_sol(bob(), vault, &IVault::openAccountCall {}),
    ));
    assert!(
        env.call_sol(
            alice(),
            token,
            &IERC20::mintCall {
                to: alice(),
                value: wad(100)
            }
        )
        .success
    );
    assert!(
        env.call_sol(
            alice(),
            token,
            &IERC20::approveCall {
                spender: vault,
                value: wad(100)
            }
        )
        .success
    );
    let dep = IVault::depositCall {
        account: U256::from(1),
        token,
        amount: wad(1),
    };
    let first = env.call_sol(alice(), vault, &dep);
    rows.push(row("vault deposit (first, 3 token calls)", &first));
    rows.push(row(
        "vault deposit (again)",
        &env.call_sol(alice(), vault, &dep),
    ));
    let bad = env.call_sol(alice(), vault, &IVault::setEngineCall { engine: engine() });
    assert!(!bad.success);
    rows.push((
        "vault setEngine by non-owner (revert)".into(),
        bad.gas_used,
        bad.execution_gas(),
    ));
    rows.push(row(
        "vault setEngine",
        &env.call_sol(owner(), vault, &IVault::setEngineCall { engine: engine() }),
    ));

    // The same view with the program in the cache manager.
    env.set_program_cached(vault, true);
    let cached = env.call_sol(alice(), vault, &IVault::ownerCall {});
    rows.push(row("vault owner() (program cached)", &cached));
    print(&rows);

    // Frames of the first deposit.
    println!("\nframes of the first deposit:");
    for f in &first.trace {
        println!(
            "  depth {} {:?} -> {} selector 0x{} gas used {} ({:?})",
            f.depth,
            f.kind,
            f.to,
            alloy_primitives::hex::encode(f.selector),
            f.gas_used,
            f.status
        );
    }

    let owner_view = &rows[1];
    // A view on a not-cached 76 KB program: the init dominates (8,832 gas minimum).
    assert!((10_000..60_000).contains(&owner_view.2), "{owner_view:?}");
    // Caching the program saves the init.
    assert!(cached.execution_gas() + 8_832 <= owner_view.2);
    // A deposit writes a few cold slots (20k each for new ones) and calls the token 3 times.
    assert!((60_000..250_000).contains(&rows[5].2), "{:?}", rows[5]);
    // The second deposit only updates non-zero slots.
    assert!(rows[6].2 < rows[5].2);
}

#[test]
fn registry_gas() {
    let mut env = Env::new();
    let d = env
        .deploy(&REGISTRY_WASM, Some(&address_arg(owner())), owner())
        .unwrap();
    let reg = d.address;
    let mut rows = vec![row(
        "registry constructor(owner)",
        d.constructor.as_ref().unwrap(),
    )];
    rows.push(row(
        "registry setEngine",
        &env.call_sol(owner(), reg, &IRegistry::setEngineCall { engine: engine() }),
    ));
    rows.push(row(
        "registry addUnderlying",
        &env.call_sol(
            owner(),
            reg,
            &IRegistry::addUnderlyingCall { underlying: 1 },
        ),
    ));
    let expiry = env.timestamp() + 86_400;
    let list = IRegistry::listInstrumentCall {
        kind: 2,
        underlying: 1,
        strike: U256::ZERO,
        expiry,
    };
    let out = env.call_sol(engine(), reg, &list);
    let id = out.decode::<IRegistry::listInstrumentCall>()._0;
    rows.push(row("registry listInstrument", &out));
    let wad_i = |x: i64| I256::try_from(x).unwrap() * I256::try_from(10i64.pow(18)).unwrap();
    let trade = IRegistry::applyTradeCall {
        buyer: U256::from(1),
        seller: U256::from(2),
        id,
        size: wad_i(1),
        price: wad_i(2_000),
    };
    rows.push(row(
        "registry applyTrade (opens 2 positions)",
        &env.call_sol(engine(), reg, &trade),
    ));
    rows.push(row(
        "registry applyTrade (adds to them)",
        &env.call_sol(engine(), reg, &trade),
    ));
    env.advance(86_400);
    let close = IRegistry::closeExpiredCall {
        account: U256::from(1),
        id,
        settlement_price: wad_i(2_050),
    };
    let out = env.call_sol(engine(), reg, &close);
    rows.push(row("registry closeExpired (refunds cleared slots)", &out));
    print(&rows);
    assert!(out.refund > 0, "clearing a position refunds gas: {out:?}");
}
