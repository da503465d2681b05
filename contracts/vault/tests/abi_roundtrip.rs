//! The generated interface `abi/ICollateralVault.sol` against the vault's real ABI
//! router: alloy's `sol!` reads the generated file, its calldata goes through a
//! forwarding contract (motsu routes ABI calldata only between contracts), and the
//! vault's answers, revert data and logs decode with the generated types.
//! A mismatch between `abi/` and the contract (a stale file, a wrong type, a
//! missing `indexed`) fails here.
extern crate alloc;

mod common;

use alloy_primitives::{Address, I256, U256};
use alloy_sol_types::{sol, SolCall, SolError, SolEventInterface, SolInterface};
use common::*;
use margin_testkit::Forwarder;
use margin_vault::CollateralVault;
use motsu::prelude::*;

// Relative to this crate's manifest directory.
sol!(
    #[sol(all_derives)]
    "../../abi/ICollateralVault.sol"
);

sol! {
    interface IERC20 {
        function approve(address spender, uint256 value) external returns (bool);
    }
}

use ICollateralVault::{
    ICollateralVaultErrors as VaultErrors, ICollateralVaultEvents as VaultEvents,
};

/// Sends `call`'s calldata to the vault through `fwd`; the raw answer or revert data.
fn send<C: SolCall>(
    fwd: &Contract<Forwarder>,
    vault: &Contract<CollateralVault>,
    call: &C,
) -> Result<Vec<u8>, Vec<u8>> {
    fwd.sender(Address::ZERO)
        .forward(vault.address(), call.abi_encode())
}

/// Sends `call` and decodes its return values with the generated types.
fn call<C: SolCall>(
    fwd: &Contract<Forwarder>,
    vault: &Contract<CollateralVault>,
    call: &C,
) -> C::Return {
    let ret = send(fwd, vault, call).unwrap_or_else(|e| {
        panic!(
            "{} reverted: {:?}",
            C::SIGNATURE,
            VaultErrors::abi_decode(&e, true)
        )
    });
    C::abi_decode_returns(&ret, true).unwrap_or_else(|e| {
        panic!(
            "{}: return data does not decode with the generated types: {e:?}\n{}",
            C::SIGNATURE,
            alloy_primitives::hex::encode(&ret)
        )
    })
}

/// The vault's logs, decoded with the generated event types.
fn events(vault: &Contract<CollateralVault>) -> Vec<VaultEvents> {
    vault
        .all_events()
        .iter()
        .map(|log| {
            VaultEvents::decode_raw_log(log.topics(), &log.data, true)
                .expect("every log decodes with the generated events")
        })
        .collect()
}

#[motsu::test]
fn generated_interface_round_trips_through_the_router(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    fwd: Contract<Forwarder>,
    owner: Address,
    engine: Address,
    operator: Address,
) {
    real_decimals(&usdc, 6);
    real_decimals(&weth, 18);
    setup(&vault, owner, engine, usdc.address(), &[weth.address()]);
    let me = fwd.address();

    // Views with static and dynamic returns.
    assert_eq!(
        call(&fwd, &vault, &ICollateralVault::ownerCall {})._0,
        owner
    );
    assert_eq!(
        call(&fwd, &vault, &ICollateralVault::listedTokensCall {})._0,
        vec![usdc.address(), weth.address()]
    );

    // A write with a return value; the forwarder owns the account.
    let account = call(&fwd, &vault, &ICollateralVault::openAccountCall {})._0;
    assert_eq!(vault.sender(owner).owner_of(account).motsu_unwrap(), me);

    // Deposit 2 WETH and 150 USDC (cash) through the router.
    weth.mint_to(me, wad(2));
    usdc.mint_to(me, units(150, 6));
    for (token, amount) in [(weth.address(), wad(2)), (usdc.address(), units(150, 6))] {
        fwd.sender(Address::ZERO)
            .forward(
                token,
                IERC20::approveCall {
                    spender: vault.address(),
                    value: amount,
                }
                .abi_encode(),
            )
            .expect("approve");
        call(
            &fwd,
            &vault,
            &ICollateralVault::depositCall {
                account,
                token,
                amount,
            },
        );
    }
    let state = call(
        &fwd,
        &vault,
        &ICollateralVault::getAccountStateCall {
            account,
            actor: Address::ZERO,
        },
    )
    ._0;
    assert_eq!(
        (state.tokens, state.amounts),
        (vec![weth.address()], vec![wad(2)])
    );
    let cash = call(&fwd, &vault, &ICollateralVault::cashOfCall { account })._0;
    assert_eq!(cash, I256::from_raw(wad(150)));

    // Authorise an operator; the event decodes with its indexed fields.
    call(
        &fwd,
        &vault,
        &ICollateralVault::setOperatorCall {
            account,
            operator,
            approved: true,
        },
    );
    assert!(
        call(
            &fwd,
            &vault,
            &ICollateralVault::isAuthorizedCall {
                account,
                actor: operator,
            }
        )
        ._0
    );
    let logs = events(&vault);
    assert!(logs.iter().any(|e| matches!(
        e,
        VaultEvents::OperatorSet(ev) if ev.account == account && ev.operator == operator && ev.approved
    )));
    assert!(logs.iter().any(|e| matches!(
        e,
        VaultEvents::Deposited(ev) if ev.account == account && ev.token == weth.address() && ev.from == me && ev.amount == wad(2)
    )));

    // The named struct the vault returns decodes through the generated interface,
    // field by field.
    let state = call(
        &fwd,
        &vault,
        &ICollateralVault::getAccountStateCall {
            account,
            actor: operator,
        },
    )
    ._0;
    assert_eq!(state.owner, me, "owner");
    assert!(!state.frozen, "not frozen");
    assert!(state.authorized, "operator is authorised");
    assert_eq!(state.cash, I256::from_raw(wad(150)), "cash");
    assert_eq!(state.amounts, vec![wad(2)], "balances");
    assert_eq!(state.tokens, vec![weth.address()], "collateral tokens");
}

#[motsu::test]
fn custom_errors_decode_with_the_generated_types(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    fwd: Contract<Forwarder>,
    owner: Address,
    engine: Address,
    stranger: Address,
) {
    real_decimals(&usdc, 6);
    real_decimals(&weth, 18);
    setup(&vault, owner, engine, usdc.address(), &[weth.address()]);
    let account = call(&fwd, &vault, &ICollateralVault::openAccountCall {})._0;

    // Unlisted token: TokenNotListed(address token).
    let err = send(
        &fwd,
        &vault,
        &ICollateralVault::depositCall {
            account,
            token: stranger,
            amount: U256::from(1),
        },
    )
    .expect_err("deposit of an unlisted token reverts");
    assert_eq!(&err[..4], margin_vault::TokenNotListed::SELECTOR.as_slice());
    match VaultErrors::abi_decode(&err, true).expect("revert data decodes") {
        VaultErrors::TokenNotListed(e) => assert_eq!(e.token, stranger),
        other => panic!("unexpected error {other:?}"),
    }

    // Engine-only function: CallerNotEngineOrKeeper(address caller), the forwarder.
    let err = send(
        &fwd,
        &vault,
        &ICollateralVault::setFrozenCall {
            account,
            frozen: true,
        },
    )
    .expect_err("engine only");
    match VaultErrors::abi_decode(&err, true).expect("revert data decodes") {
        VaultErrors::CallerNotEngineOrKeeper(e) => assert_eq!(e.caller, fwd.address()),
        other => panic!("unexpected error {other:?}"),
    }

    assert!(!vault.sender(owner).is_frozen(account), "nothing changed");
}

#[test]
fn generated_errors_have_the_contract_selectors() {
    // The generated interface declares the contract's errors with the same
    // signatures (a sample across shapes: no field, one, several, signed).
    assert_eq!(
        ICollateralVault::ZeroAmount::SELECTOR,
        margin_vault::ZeroAmount::SELECTOR
    );
    assert_eq!(
        ICollateralVault::InsufficientCash::SELECTOR,
        margin_vault::InsufficientCash::SELECTOR
    );
    assert_eq!(
        ICollateralVault::ValueOutOfBounds::SELECTOR,
        margin_vault::ValueOutOfBounds::SELECTOR
    );
}
