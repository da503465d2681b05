mod common;
use common::*;
use margin_wasm_env::{Env, CONSTRUCTOR_SELECTOR};

#[test]
fn constructor_selector_is_stylus_sdk_s() {
    let h = alloy_primitives::keccak256(b"stylus_constructor()");
    assert_eq!(&h[..4], &CONSTRUCTOR_SELECTOR);
}

#[test]
fn vault_owner() {
    let mut env = Env::new();
    let vault = deploy_vault(&mut env);
    let got = env.view_sol(vault, &IVault::ownerCall {}).unwrap();
    assert_eq!(got._0, owner());
}
