//! Re-entrancy as on chain: stylus-sdk 0.9 (without the `reentrant` feature) asks the host
//! `msg_reentrant()` on entry and reverts when its address already has an open frame. A token
//! that calls back into the vault while the vault is calling it therefore sees its call revert
//! (with no data), while the same call made when the vault is not on the stack succeeds.

mod common;
use alloy_sol_types::{SolCall, SolInterface};
use common::*;
use margin_wasm_env::mocks::{Erc20Flavor, MockErc20, IERC20};
use margin_wasm_env::{
    Address, CallResult, Env, FrameStatus, NativeContract, NativeCtx, NativeError, NativeResult,
    U256,
};
use std::cell::RefCell;
use std::rc::Rc;
use stylus_margin::collateral::AssetConfig;

/// An ERC20 that, inside `transferFrom`, calls `target` with `callback` first. It records what
/// that call returned; with `strict`, it fails the transfer when the callback failed.
struct ReentrantToken {
    inner: MockErc20,
    target: Address,
    callback: Vec<u8>,
    strict: bool,
    seen: Rc<RefCell<Vec<CallResult>>>,
}

impl NativeContract for ReentrantToken {
    fn call(&self, ctx: &mut NativeCtx<'_>, input: &[u8]) -> NativeResult {
        if input.starts_with(&IERC20::transferFromCall::SELECTOR) {
            let r = ctx.call(self.target, &self.callback, U256::ZERO)?;
            let ok = r.success;
            self.seen.borrow_mut().push(r);
            if self.strict && !ok {
                return Err(NativeError::message("callback failed"));
            }
        }
        // `poke()` (any 4 bytes not in IERC20): just make the callback, outside any vault frame.
        if IERC20::IERC20Calls::abi_decode(input, true).is_err() {
            let r = ctx.call(self.target, &self.callback, U256::ZERO)?;
            self.seen.borrow_mut().push(r);
            return Ok(vec![]);
        }
        self.inner.call(ctx, input)
    }
}

fn config() -> U256 {
    let c = AssetConfig {
        underlying: 1,
        enabled: true,
        haircut_floor_ppm: 10_000,
        vol_multiplier_ppm: 1_000_000,
        haircut_max_ppm: 500_000,
        liquidity_depth: 10u128.pow(24),
        ..AssetConfig::default()
    };
    U256::from_be_bytes(c.pack())
}

/// A vault listing a re-entrant token whose callback is `callback` into the vault.
fn setup(callback: Vec<u8>, strict: bool) -> (Env, Address, Address, Rc<RefCell<Vec<CallResult>>>) {
    let mut env = Env::new();
    let vault = deploy_vault(&mut env);
    let token = Address::repeat_byte(0x77);
    let seen = Rc::new(RefCell::new(vec![]));
    env.register_native(
        token,
        Box::new(ReentrantToken {
            inner: MockErc20::new("EVIL", 18, Erc20Flavor::Standard),
            target: vault,
            callback,
            strict,
            seen: seen.clone(),
        }),
    );
    let list = IVault::listAssetCall {
        token,
        config: config(),
        deposit_cap: wad(1_000),
        is_quote: false,
    };
    assert!(env.call_sol(owner(), vault, &list).success);
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
                value: wad(10)
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
                value: wad(10)
            }
        )
        .success
    );
    (env, vault, token, seen)
}

#[test]
fn a_token_calling_back_into_the_vault_during_a_deposit_is_reverted() {
    let callback = IVault::openAccountCall {}.abi_encode();
    let (mut env, vault, token, seen) = setup(callback, false);
    let count_before = env
        .view_sol(vault, &IVault::accountCountCall {})
        .unwrap()
        ._0;

    let out = env.call_sol(
        alice(),
        vault,
        &IVault::depositCall {
            account: U256::from(1),
            token,
            amount: wad(1),
        },
    );
    // The token swallowed the failure, so the deposit itself went through.
    assert!(out.success, "{out:?}");

    // The re-entrant frame: EOA -> vault (depth 1) -> token (2) -> vault (3), reverted with
    // no data by the SDK's entrypoint before any of the vault's code ran.
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0],
        CallResult {
            success: false,
            data: vec![]
        }
    );
    let reentered: Vec<_> = out.trace.iter().filter(|f| f.depth == 3).collect();
    assert_eq!(reentered.len(), 1, "{:?}", out.trace);
    assert_eq!(reentered[0].to, vault);
    assert!(reentered[0].reentrant);
    assert_eq!(reentered[0].status, FrameStatus::Revert);
    println!(
        "gas: re-entrant frame reverted after {} gas",
        reentered[0].gas_used
    );

    // openAccount did not run.
    assert_eq!(
        env.view_sol(vault, &IVault::accountCountCall {})
            .unwrap()
            ._0,
        count_before
    );
    assert!(out.events_from::<IVault::AccountOpened>(vault).is_empty());
    let state = env
        .view_sol(
            vault,
            &IVault::getAccountStateCall {
                account: U256::from(1),
                actor: Address::ZERO,
            },
        )
        .unwrap()
        ._0;
    assert_eq!((state.tokens, state.amounts), (vec![token], vec![wad(1)]));
}

#[test]
fn a_failed_reentry_that_the_token_propagates_fails_the_deposit() {
    let callback = IVault::depositCall {
        account: U256::from(1),
        token: Address::repeat_byte(0x77),
        amount: wad(1),
    }
    .abi_encode();
    let (mut env, vault, token, seen) = setup(callback, true);
    let before = env.storage_of(vault);
    let out = env.call_sol(
        alice(),
        vault,
        &IVault::depositCall {
            account: U256::from(1),
            token,
            amount: wad(2),
        },
    );
    assert_eq!(
        out.revert_as::<IVault::TokenTransferFailed>()
            .unwrap()
            .token,
        token
    );
    assert_eq!(
        seen.borrow()[0],
        CallResult {
            success: false,
            data: vec![]
        }
    );
    assert_eq!(env.storage_of(vault), before);
}

#[test]
fn the_same_call_succeeds_when_the_vault_is_not_on_the_stack() {
    let callback = IVault::openAccountCall {}.abi_encode();
    let (mut env, vault, token, seen) = setup(callback, false);
    // EOA -> token.poke() -> vault.openAccount(): a native contract calling a program is fine.
    let out = env.call(bob(), token, [0xde, 0xad, 0xbe, 0xef], U256::ZERO);
    assert!(out.success, "{out:?}");
    let r = &seen.borrow()[0];
    assert!(r.success);
    assert_eq!(
        IVault::openAccountCall::abi_decode_returns(&r.data, true)
            .unwrap()
            ._0,
        U256::from(2)
    );
    let opened = out.events_from::<IVault::AccountOpened>(vault);
    assert_eq!((opened[0].account, opened[0].owner), (U256::from(2), token));
    assert!(!out.trace[1].reentrant);
}
