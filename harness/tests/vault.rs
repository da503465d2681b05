//! The deployable CollateralVault, run as on chain: constructor, ABI routing, events, custom
//! errors, reverts that leave storage unchanged, and deposits of native ERC20s (the vault calls
//! the token: the cross-contract path).

mod common;
use common::*;
use margin_wasm_env::mocks::{Erc20Flavor, MockErc20, IERC20};
use margin_wasm_env::{Address, DeployError, Env, FrameStatus, U256};
use stylus_margin::collateral::AssetConfig;

fn token_addr(n: u8) -> Address {
    Address::repeat_byte(0x70 + n)
}

/// A packed config for a collateral asset priced by `underlying`.
fn collateral_config(underlying: u32) -> U256 {
    let c = AssetConfig {
        underlying,
        decimals: 0,
        enabled: true,
        is_quote: false,
        risk_offsetting: false,
        haircut_floor_ppm: 50_000,
        vol_multiplier_ppm: 1_000_000,
        haircut_max_ppm: 500_000,
        liquidity_depth: 1_000_000 * 10u128.pow(18),
    };
    U256::from_be_bytes(c.pack())
}

/// A vault with one listed native token of `flavor`; alice holds an account (id 1) and
/// `minted` tokens, and has approved the vault for all of them.
fn setup(flavor: Erc20Flavor, decimals: u8, minted: U256) -> (Env, Address, Address) {
    let mut env = Env::new();
    let vault = deploy_vault(&mut env);
    let token = token_addr(1);
    env.register_native(token, Box::new(MockErc20::new("WETH", decimals, flavor)));
    let out = env.call_sol(
        owner(),
        vault,
        &IVault::listAssetCall {
            token,
            config: collateral_config(1),
            deposit_cap: wad(1_000_000),
            is_quote: false,
        },
    );
    assert!(out.success, "listAsset: {out:?}");
    assert!(
        env.call_sol(alice(), vault, &IVault::openAccountCall {})
            .success
    );
    assert!(
        env.call_sol(
            alice(),
            token,
            &IERC20::mintCall {
                to: alice(),
                value: minted
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
                value: minted
            }
        )
        .success
    );
    (env, vault, token)
}

/// An account's collateral balance of `token` (WAD), from `getAccountState` (the vault's
/// `balanceOf` moved to the lens, which the vault's own tests do not deploy).
fn vault_balance(env: &mut Env, vault: Address, account: U256, token: Address) -> U256 {
    let s = env
        .view_sol(
            vault,
            &IVault::getAccountStateCall {
                account,
                actor: Address::ZERO,
            },
        )
        .unwrap()
        ._0;
    match s.tokens.iter().position(|t| *t == token) {
        Some(i) => s.amounts[i],
        None => U256::ZERO,
    }
}

fn token_balance(env: &mut Env, token: Address, who: Address) -> U256 {
    env.view_sol(token, &IERC20::balanceOfCall { owner: who })
        .unwrap()
        ._0
}

#[test]
fn constructor_sets_owner_and_emits() {
    let mut env = Env::new();
    let d = env
        .deploy(&VAULT_WASM, Some(&address_arg(owner())), owner())
        .unwrap();
    let ctor = d.constructor.expect("constructor ran");
    let ev = ctor.events::<IVault::OwnershipTransferred>();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].previous, Address::ZERO);
    assert_eq!(ev[0].next, owner());
    assert_eq!(
        env.view_sol(d.address, &IVault::ownerCall {}).unwrap()._0,
        owner()
    );
    assert_eq!(
        env.view_sol(d.address, &IVault::accountCountCall {})
            .unwrap()
            ._0,
        U256::ZERO
    );
    println!("gas: vault constructor {}", ctor.gas_used);
}

#[test]
fn constructor_rejects_zero_owner_and_deploys_nothing() {
    let mut env = Env::new();
    let err = env
        .deploy_wasm(&VAULT_WASM, Some(&address_arg(Address::ZERO)), owner())
        .unwrap_err();
    let DeployError::ConstructorFailed(out) = err else {
        panic!("expected a constructor failure")
    };
    assert!(out.revert_as::<IVault::ZeroAddress>().is_some(), "{out:?}");
    let addr = owner().create(0);
    assert!(!env.has_code(addr));
}

#[test]
fn constructor_runs_only_once() {
    let mut env = Env::new();
    let vault = deploy_vault(&mut env);
    let before = env.storage_of(vault);
    let mut data = margin_wasm_env::CONSTRUCTOR_SELECTOR.to_vec();
    data.extend(address_arg(alice()));
    let out = env.call(alice(), vault, data, U256::ZERO);
    assert!(!out.success);
    assert_eq!(
        env.view_sol(vault, &IVault::ownerCall {}).unwrap()._0,
        owner()
    );
    assert_eq!(env.storage_of(vault), before);
}

#[test]
fn owner_only_call_reverts_with_custom_error_and_leaves_storage_unchanged() {
    let mut env = Env::new();
    let vault = deploy_vault(&mut env);
    let before = env.storage_of(vault);
    let out = env.call_sol(alice(), vault, &IVault::setEngineCall { engine: engine() });
    assert!(!out.success);
    assert_eq!(out.status, FrameStatus::Revert);
    let err = out
        .revert_as::<IVault::Unauthorized>()
        .expect("Unauthorized");
    assert_eq!(err.caller, alice());
    assert!(out.logs.is_empty());
    assert_eq!(env.storage_of(vault), before);
    assert_eq!(
        env.view_sol(vault, &IVault::engineCall {}).unwrap()._0,
        Address::ZERO
    );

    let out = env.call_sol(owner(), vault, &IVault::setEngineCall { engine: engine() });
    assert!(out.success, "{out:?}");
    assert_eq!(out.events::<IVault::EngineSet>()[0].engine, engine());
    assert_ne!(env.storage_of(vault), before);
    assert_eq!(
        env.view_sol(vault, &IVault::engineCall {}).unwrap()._0,
        engine()
    );
}

#[test]
fn two_step_ownership_transfer() {
    let mut env = Env::new();
    let vault = deploy_vault(&mut env);
    let out = env.call_sol(
        owner(),
        vault,
        &IVault::transferOwnershipCall { next: alice() },
    );
    assert!(out.success);
    let ev = &out.events::<IVault::OwnershipTransferStarted>()[0];
    assert_eq!((ev.previous, ev.next), (owner(), alice()));
    let out = env.call_sol(bob(), vault, &IVault::acceptOwnershipCall {});
    assert_eq!(
        out.revert_as::<IVault::Unauthorized>().unwrap().caller,
        bob()
    );
    let out = env.call_sol(alice(), vault, &IVault::acceptOwnershipCall {});
    assert!(out.success);
    assert_eq!(
        env.view_sol(vault, &IVault::ownerCall {}).unwrap()._0,
        alice()
    );
    assert_eq!(
        env.view_sol(vault, &IVault::pendingOwnerCall {})
            .unwrap()
            ._0,
        Address::ZERO
    );
}

#[test]
fn open_account_returns_sequential_ids() {
    let mut env = Env::new();
    let vault = deploy_vault(&mut env);
    let out = env.call_sol(alice(), vault, &IVault::openAccountCall {});
    assert_eq!(out.decode::<IVault::openAccountCall>()._0, U256::from(1));
    let ev = &out.events::<IVault::AccountOpened>()[0];
    assert_eq!((ev.account, ev.owner), (U256::from(1), alice()));
    let out = env.call_sol(bob(), vault, &IVault::openAccountCall {});
    assert_eq!(out.decode::<IVault::openAccountCall>()._0, U256::from(2));
    assert_eq!(
        env.view_sol(
            vault,
            &IVault::getAccountStateCall {
                account: U256::from(2),
                actor: Address::ZERO,
            }
        )
        .unwrap()
        ._0
        .owner,
        bob()
    );
    let unknown = env
        .view_sol(
            vault,
            &IVault::getAccountStateCall {
                account: U256::from(9),
                actor: Address::ZERO,
            },
        )
        .unwrap_err();
    assert_eq!(
        unknown
            .revert_as::<IVault::UnknownAccount>()
            .unwrap()
            .account,
        U256::from(9)
    );
}

#[test]
fn list_asset_reads_decimals_from_the_token() {
    let mut env = Env::new();
    let vault = deploy_vault(&mut env);
    let token = token_addr(2);
    env.register_native(
        token,
        Box::new(MockErc20::new("USDC", 6, Erc20Flavor::Standard)),
    );
    let out = env.call_sol(
        owner(),
        vault,
        &IVault::listAssetCall {
            token,
            config: collateral_config(7),
            deposit_cap: wad(10),
            is_quote: false,
        },
    );
    assert!(out.success, "{out:?}");
    // The vault static-called the token's decimals(): a second frame at depth 2.
    assert!(out
        .trace
        .iter()
        .any(|f| f.depth == 2 && f.to == token && f.status == FrameStatus::Success));
    let word = env
        .view_sol(vault, &IVault::assetConfigCall { token })
        .unwrap()
        ._0;
    let cfg = AssetConfig::unpack(word.to_be_bytes());
    assert_eq!(cfg.decimals, 6);
    assert_eq!(cfg.underlying, 7);
    assert_eq!(
        env.view_sol(vault, &IVault::listedTokensCall {})
            .unwrap()
            ._0,
        vec![token]
    );
    let again = env.call_sol(
        owner(),
        vault,
        &IVault::listAssetCall {
            token,
            config: collateral_config(7),
            deposit_cap: wad(10),
            is_quote: false,
        },
    );
    assert_eq!(
        again
            .revert_as::<IVault::AssetAlreadyListed>()
            .unwrap()
            .token,
        token
    );
}

#[test]
fn deposit_of_a_native_erc20() {
    let amount = U256::from(5_000_000u64); // 5 tokens of 6 decimals
    let (mut env, vault, token) = setup(Erc20Flavor::Standard, 6, amount);
    let out = env.call_sol(
        alice(),
        vault,
        &IVault::depositCall {
            account: U256::from(1),
            token,
            amount,
        },
    );
    assert!(out.success, "{out:?}");
    let dep = out.events_from::<IVault::Deposited>(vault);
    assert_eq!(dep.len(), 1);
    assert_eq!(
        (dep[0].account, dep[0].token, dep[0].from),
        (U256::from(1), token, alice())
    );
    assert_eq!(dep[0].tokenAmount, amount);
    assert_eq!(dep[0].amount, wad(5));
    let transfers = out.events_from::<IERC20::Transfer>(token);
    assert_eq!(transfers.len(), 1);
    assert_eq!(
        (transfers[0].from, transfers[0].to, transfers[0].value),
        (alice(), vault, amount)
    );
    // vault -> token: balanceOf (static), transferFrom, balanceOf (static)
    let calls: Vec<_> = out
        .trace
        .iter()
        .filter(|f| f.depth == 2)
        .map(|f| (f.to, f.kind))
        .collect();
    assert_eq!(calls.len(), 3, "{:?}", out.trace);
    assert_eq!(vault_balance(&mut env, vault, U256::from(1), token), wad(5));
    assert_eq!(
        env.view_sol(vault, &IVault::totalDepositsCall { token })
            .unwrap()
            ._0,
        wad(5)
    );
    assert_eq!(token_balance(&mut env, token, vault), amount);
    assert_eq!(token_balance(&mut env, token, alice()), U256::ZERO);
}

#[test]
fn deposit_of_a_token_without_return_value() {
    let amount = U256::from(10u64).pow(U256::from(18u64));
    let (mut env, vault, token) = setup(Erc20Flavor::NoReturnValue, 18, amount);
    let out = env.call_sol(
        alice(),
        vault,
        &IVault::depositCall {
            account: U256::from(1),
            token,
            amount,
        },
    );
    assert!(out.success, "{out:?}");
    assert_eq!(token_balance(&mut env, token, vault), amount);
}

#[test]
fn failed_transfer_reverts_everything() {
    for flavor in [Erc20Flavor::Standard, Erc20Flavor::ReturnsFalse] {
        let minted = U256::from(100u64);
        let (mut env, vault, token) = setup(flavor, 18, minted);
        let vault_before = env.storage_of(vault);
        let token_before = env.storage_of(token);
        // More than alice holds (and has approved).
        let out = env.call_sol(
            alice(),
            vault,
            &IVault::depositCall {
                account: U256::from(1),
                token,
                amount: U256::from(101u64),
            },
        );
        assert_eq!(
            out.revert_as::<IVault::TokenTransferFailed>()
                .unwrap()
                .token,
            token,
            "{flavor:?}"
        );
        assert!(out.logs.is_empty());
        assert_eq!(env.storage_of(vault), vault_before, "{flavor:?}");
        assert_eq!(env.storage_of(token), token_before, "{flavor:?}");
    }
}

#[test]
fn fee_on_transfer_token_is_detected_and_its_transfer_undone() {
    let minted = U256::from(1_000_000u64);
    let (mut env, vault, token) = setup(Erc20Flavor::FeeOnTransfer { fee_bps: 100 }, 18, minted);
    let token_before = env.storage_of(token);
    let vault_before = env.storage_of(vault);
    let out = env.call_sol(
        alice(),
        vault,
        &IVault::depositCall {
            account: U256::from(1),
            token,
            amount: minted,
        },
    );
    let err = out
        .revert_as::<IVault::FeeOnTransferDetected>()
        .expect("FeeOnTransferDetected");
    assert_eq!(
        (err.expected, err.received),
        (minted, U256::from(990_000u64))
    );
    // The token's own writes (balances, allowance, supply) were made in a frame that
    // succeeded, then undone when the vault's frame reverted.
    assert_eq!(env.storage_of(token), token_before);
    assert_eq!(env.storage_of(vault), vault_before);
    assert_eq!(token_balance(&mut env, token, alice()), minted);
}

#[test]
fn deposit_errors_decode() {
    let (mut env, vault, token) = setup(Erc20Flavor::Standard, 18, U256::from(10u64));
    let out = env.call_sol(
        alice(),
        vault,
        &IVault::depositCall {
            account: U256::from(1),
            token,
            amount: U256::ZERO,
        },
    );
    assert!(out.revert_as::<IVault::ZeroAmount>().is_some());
    let out = env.call_sol(
        alice(),
        vault,
        &IVault::depositCall {
            account: U256::from(5),
            token,
            amount: U256::from(1),
        },
    );
    assert_eq!(
        out.revert_as::<IVault::UnknownAccount>().unwrap().account,
        U256::from(5)
    );
    let other = token_addr(9);
    let out = env.call_sol(
        alice(),
        vault,
        &IVault::depositCall {
            account: U256::from(1),
            token: other,
            amount: U256::from(1),
        },
    );
    assert_eq!(
        out.revert_as::<IVault::TokenNotListed>().unwrap().token,
        other
    );
}

#[test]
fn a_deposit_into_someone_elses_account_is_allowed() {
    let amount = U256::from(7u64);
    let (mut env, vault, token) = setup(Erc20Flavor::Standard, 18, amount);
    assert!(
        env.call_sol(bob(), vault, &IVault::openAccountCall {})
            .success
    );
    let out = env.call_sol(
        alice(),
        vault,
        &IVault::depositCall {
            account: U256::from(2),
            token,
            amount,
        },
    );
    assert!(out.success, "{out:?}");
    assert_eq!(
        vault_balance(&mut env, vault, U256::from(2), token),
        U256::from(7u64)
    );
}

/// The other side of the world as a program too: OpenZeppelin's ERC20 (openzeppelin-stylus
/// 0.3.0, `contracts/token`) compiled to WASM by `scripts/build-wasm.sh` and run here, the
/// vault calling it program to program: deposit (balanceOf, transferFrom, balanceOf) and a
/// withdrawal (transfer), with the token's own events and balances.
#[test]
fn an_openzeppelin_erc20_compiled_to_wasm_is_deposited_and_withdrawn() {
    let mut env = Env::new();
    let vault = deploy_vault(&mut env);
    let decimals = U256::from(18u8).to_be_bytes::<32>().to_vec();
    let token = env
        .deploy_wasm(
            &margin_harness::system::load_wasm("token"),
            Some(&decimals),
            owner(),
        )
        .expect("the OpenZeppelin token deploys");
    let amount = wad(7);
    for (from, call) in [
        (
            owner(),
            env.call_sol(
                owner(),
                vault,
                &IVault::listAssetCall {
                    token,
                    config: collateral_config(1),
                    deposit_cap: wad(1_000_000),
                    is_quote: false,
                },
            ),
        ),
        (
            owner(),
            env.call_sol(owner(), vault, &IVault::setEngineCall { engine: engine() }),
        ),
        (
            alice(),
            env.call_sol(alice(), vault, &IVault::openAccountCall {}),
        ),
        (
            alice(),
            env.call_sol(
                alice(),
                token,
                &IERC20::mintCall {
                    to: alice(),
                    value: amount,
                },
            ),
        ),
        (
            alice(),
            env.call_sol(
                alice(),
                token,
                &IERC20::approveCall {
                    spender: vault,
                    value: amount,
                },
            ),
        ),
    ] {
        assert!(call.success, "{from}: {call:?}");
    }
    let out = env.call_sol(
        alice(),
        vault,
        &IVault::depositCall {
            account: U256::from(1),
            token,
            amount,
        },
    );
    assert!(out.success, "{out:?}");
    // The vault read the token's decimals at listing and called the WASM token three times.
    let transfers = out.events_from::<IERC20::Transfer>(token);
    assert_eq!(
        (transfers[0].from, transfers[0].to, transfers[0].value),
        (alice(), vault, amount)
    );
    assert_eq!(out.trace.iter().filter(|f| f.depth == 2).count(), 3);
    assert_eq!(token_balance(&mut env, token, vault), amount);
    let out = env.call_sol(
        engine(),
        vault,
        &IVault::withdrawToCall {
            account: U256::from(1),
            token,
            amount: wad(2),
            to: bob(),
        },
    );
    assert!(out.success, "{out:?}");
    assert_eq!(token_balance(&mut env, token, bob()), wad(2));
    assert_eq!(token_balance(&mut env, token, vault), wad(5));
    assert_eq!(vault_balance(&mut env, vault, U256::from(1), token), wad(5));
}
