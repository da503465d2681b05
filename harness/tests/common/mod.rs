//! Shared test setup: the generated Solidity interfaces of the vault and registry (`abi/`),
//! the deployable binaries and accounts.
#![allow(dead_code)]

use margin_wasm_env::{Address, Env, U256};
use std::sync::LazyLock;

/// The generated interfaces of `abi/` (one source: what integrators compile against).
#[allow(unused_imports)]
pub use margin_harness::abi::{ICollateralVault as IVault, IPositionRegistry as IRegistry};

/// The deployable binaries, as `scripts/build-wasm.sh` writes them (`target-wasm/deploy/`, or
/// the directory `MARGIN_WASM_DEPLOY_DIR` names); a missing file panics naming the script.
pub static VAULT_WASM: LazyLock<Vec<u8>> =
    LazyLock::new(|| margin_harness::system::load_wasm("vault"));
pub static REGISTRY_WASM: LazyLock<Vec<u8>> =
    LazyLock::new(|| margin_harness::system::load_wasm("registry"));

pub fn owner() -> Address {
    Address::repeat_byte(0x0A)
}
pub fn alice() -> Address {
    Address::repeat_byte(0xA1)
}
pub fn bob() -> Address {
    Address::repeat_byte(0xB0)
}
pub fn engine() -> Address {
    Address::repeat_byte(0xE9)
}

/// An address as the ABI encoding of a constructor's single `address` argument.
pub fn address_arg(a: Address) -> Vec<u8> {
    a.into_word().to_vec()
}

/// A vault deployed through its constructor with `owner()` as the owner role.
pub fn deploy_vault(env: &mut Env) -> Address {
    env.deploy_wasm(&VAULT_WASM, Some(&address_arg(owner())), owner())
        .expect("vault deploys")
}

/// A registry deployed through its constructor with `owner()` as the owner role.
pub fn deploy_registry(env: &mut Env) -> Address {
    env.deploy_wasm(&REGISTRY_WASM, Some(&address_arg(owner())), owner())
        .expect("registry deploys")
}

pub fn wad(x: u64) -> U256 {
    U256::from(x) * U256::from(10u64).pow(U256::from(18u64))
}
