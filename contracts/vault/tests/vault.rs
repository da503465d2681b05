//! Behaviour of the CollateralVault, one behaviour per test. Every error test
//! shows the error and that the call changed nothing (`motsu_unwrap_err` rolls
//! back what the call wrote, as a revert does on chain).
extern crate alloc;

mod common;

use alloy_primitives::{Address, I256, U256};
use common::*;
use margin_common::{
    EngineSet, KeeperSet, OwnedError, OwnershipTransferStarted, OwnershipTransferred, WiredError,
};
use margin_vault::*;
use motsu::prelude::*;
use stylus_margin::collateral::AssetConfig;

/// A 6-decimal quote (USDC-like) and an 18-decimal collateral (WETH-like),
/// both openzeppelin-stylus ERC20s; one account for `alice` (id 1).
fn standard(
    vault: &Contract<CollateralVault>,
    usdc: &Contract<TestToken>,
    weth: &Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) -> U256 {
    real_decimals(usdc, 6);
    real_decimals(weth, 18);
    setup(vault, owner, engine, usdc.address(), &[weth.address()]);
    vault.sender(alice).open_account()
}

fn i(x: i128) -> I256 {
    I256::try_from(x).unwrap()
}

// ---------------------------------------------------------------------------
// Construction, owner role, engine
// ---------------------------------------------------------------------------

#[motsu::test]
fn constructor_sets_owner(vault: Contract<CollateralVault>, owner: Address) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    assert_eq!(vault.sender(owner).wired.owner.owner(), owner);
    vault.assert_emitted(&OwnershipTransferred {
        previous: Address::ZERO,
        next: owner,
    });
}

#[motsu::test]
fn constructor_reverts_on_zero_owner(vault: Contract<CollateralVault>, owner: Address) {
    let err = vault
        .sender(owner)
        .constructor(Address::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, Error::ZeroAddress(_)));
    assert_eq!(vault.sender(owner).wired.owner.owner(), Address::ZERO);
}

#[motsu::test]
fn ownership_transfers_in_two_steps(
    vault: Contract<CollateralVault>,
    owner: Address,
    bob: Address,
    carol: Address,
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    vault
        .sender(owner)
        .wired
        .owner
        .transfer_ownership(bob)
        .motsu_unwrap();
    assert_eq!(vault.sender(owner).wired.owner.owner(), owner);
    assert_eq!(vault.sender(owner).wired.owner.pending_owner(), bob);
    vault.assert_emitted(&OwnershipTransferStarted {
        previous: owner,
        next: bob,
    });

    let err = vault
        .sender(carol)
        .wired
        .owner
        .accept_ownership()
        .motsu_unwrap_err();
    assert!(matches!(err, OwnedError::Unauthorized(e) if e.caller == carol));
    assert_eq!(vault.sender(owner).wired.owner.owner(), owner);
    assert_eq!(vault.sender(owner).wired.owner.pending_owner(), bob);

    vault
        .sender(bob)
        .wired
        .owner
        .accept_ownership()
        .motsu_unwrap();
    assert_eq!(vault.sender(owner).wired.owner.owner(), bob);
    assert_eq!(
        vault.sender(owner).wired.owner.pending_owner(),
        Address::ZERO
    );
    vault.assert_emitted(&OwnershipTransferred {
        previous: owner,
        next: bob,
    });
}

#[motsu::test]
fn owner_functions_revert_for_others(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    standard(&vault, &usdc, &weth, owner, engine, alice);
    let before = snapshot(&vault, &[U256::from(1)], &[&usdc, &weth], &[alice]);
    let not_owner = |e: Error| matches!(e, Error::Unauthorized(e) if e.caller == alice);
    let t = weth.address();
    assert!(matches!(
        vault
            .sender(alice)
            .wired
            .owner
            .transfer_ownership(alice)
            .motsu_unwrap_err(),
        OwnedError::Unauthorized(e) if e.caller == alice
    ));
    assert!(matches!(
        vault
            .sender(alice)
            .wired
            .set_engine(alice)
            .motsu_unwrap_err(),
        WiredError::Unauthorized(e) if e.caller == alice
    ));
    assert!(not_owner(
        vault
            .sender(alice)
            .list_asset(alice, collateral_config(9), wad(1), false)
            .motsu_unwrap_err()
    ));
    assert!(not_owner(
        vault
            .sender(alice)
            .set_deposit_cap(t, wad(1), true)
            .motsu_unwrap_err()
    ));
    let config = vault.sender(alice).asset_config(t);
    assert!(not_owner(
        vault
            .sender(alice)
            .set_asset_config(t, config)
            .motsu_unwrap_err()
    ));
    assert_eq!(
        snapshot(&vault, &[U256::from(1)], &[&usdc, &weth], &[alice]),
        before
    );
}

#[motsu::test]
fn set_engine_works_once(
    vault: Contract<CollateralVault>,
    owner: Address,
    engine: Address,
    bob: Address,
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    let err = vault
        .sender(owner)
        .wired
        .set_engine(Address::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, WiredError::ZeroAddress(_)));
    assert_eq!(vault.sender(owner).wired.engine(), Address::ZERO);

    vault.sender(owner).wired.set_engine(engine).motsu_unwrap();
    assert_eq!(vault.sender(owner).wired.engine(), engine);
    vault.assert_emitted(&EngineSet { engine });

    let err = vault.sender(owner).wired.set_engine(bob).motsu_unwrap_err();
    assert!(matches!(err, WiredError::AlreadySet(e) if e.current == engine));
    assert_eq!(vault.sender(owner).wired.engine(), engine);
}

/// The keeper is wired like the engine: owner only, never zero, once.
#[motsu::test]
fn set_keeper_refuses_a_stranger_zero_and_a_second_keeper(
    vault: Contract<CollateralVault>,
    owner: Address,
    keeper: Address,
    bob: Address,
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    let err = vault
        .sender(bob)
        .wired
        .set_keeper(keeper)
        .motsu_unwrap_err();
    assert!(matches!(err, WiredError::Unauthorized(e) if e.caller == bob));
    let err = vault
        .sender(owner)
        .wired
        .set_keeper(Address::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, WiredError::ZeroAddress(_)));
    assert_eq!(vault.sender(owner).wired.keeper(), Address::ZERO);
    vault.sender(owner).wired.set_keeper(keeper).motsu_unwrap();
    vault.assert_emitted(&KeeperSet { keeper });
    let err = vault.sender(owner).wired.set_keeper(bob).motsu_unwrap_err();
    assert!(matches!(err, WiredError::AlreadySet(e) if e.current == keeper));
    assert_eq!(vault.sender(owner).wired.keeper(), keeper);
}

#[motsu::test]
fn engine_functions_revert_before_engine_is_set(
    vault: Contract<CollateralVault>,
    owner: Address,
    alice: Address,
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    let id = vault.sender(alice).open_account();
    let err = vault.sender(alice).set_frozen(id, true).motsu_unwrap_err();
    assert!(matches!(err, Error::CallerNotEngineOrKeeper(e) if e.caller == alice));
    assert!(!vault.sender(alice).is_frozen(id));
}

// ---------------------------------------------------------------------------
// Listing and asset parameters
// ---------------------------------------------------------------------------

#[motsu::test]
fn list_asset_reads_decimals_and_sets_quote(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    standard(&vault, &usdc, &weth, owner, engine, alice);
    assert_eq!(vault.sender(owner).quote_token(), usdc.address());
    assert_eq!(
        vault.sender(owner).listed_tokens(),
        vec![usdc.address(), weth.address()]
    );
    let q = AssetConfig::unpack(
        vault
            .sender(owner)
            .asset_config(usdc.address())
            .to_be_bytes(),
    );
    assert_eq!(
        (q.decimals, q.is_quote, q.underlying, q.enabled),
        (6, true, 0, true)
    );
    let w = AssetConfig::unpack(
        vault
            .sender(owner)
            .asset_config(weth.address())
            .to_be_bytes(),
    );
    assert_eq!((w.decimals, w.is_quote, w.underlying), (18, false, 1));
    assert_eq!(w.haircut_floor_ppm, 50_000);
    assert_eq!(
        vault.sender(owner).deposit_cap(weth.address()),
        wad(1_000_000_000_000)
    );
    vault.assert_emitted(&AssetListed {
        token: weth.address(),
        config: vault.sender(owner).asset_config(weth.address()),
        depositCap: wad(1_000_000_000_000),
    });
}

#[motsu::test]
fn list_asset_ignores_decimals_and_quote_bits_of_the_word(
    vault: Contract<CollateralVault>,
    wbtc: Contract<TestToken>,
    owner: Address,
) {
    real_decimals(&wbtc, 8);
    vault.sender(owner).constructor(owner).motsu_unwrap();
    let mut c = AssetConfig::unpack(collateral_config(3).to_be_bytes());
    c.decimals = 30;
    c.is_quote = true;
    c.underlying = 3;
    let word = U256::from_be_bytes(c.pack());
    vault
        .sender(owner)
        .list_asset(wbtc.address(), word, wad(5), false)
        .motsu_unwrap();
    let stored = AssetConfig::unpack(
        vault
            .sender(owner)
            .asset_config(wbtc.address())
            .to_be_bytes(),
    );
    assert_eq!((stored.decimals, stored.is_quote), (8, false));
}

#[motsu::test]
fn list_asset_reverts_on_bad_input(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    dai: Contract<TestToken>,
    huge: Contract<MockToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    standard(&vault, &usdc, &weth, owner, engine, alice);
    real_decimals(&dai, 18);
    huge.sender(owner).set_decimals(37);
    let before = snapshot(&vault, &[U256::from(1)], &[&usdc, &weth, &dai], &[]);
    let v = || vault.sender(owner);

    let e = v()
        .list_asset(Address::ZERO, collateral_config(5), wad(1), false)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAddress(_)));

    let e = v()
        .list_asset(weth.address(), collateral_config(5), wad(1), false)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::AssetAlreadyListed(e) if e.token == weth.address()));

    let e = v()
        .list_asset(dai.address(), quote_config(), wad(1), true)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::QuoteAlreadySet(e) if e.quote == usdc.address()));

    // Non-quote with underlying 0.
    let e = v()
        .list_asset(dai.address(), quote_config(), wad(1), false)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e) if e.which == 1));

    // Haircut max above 100%.
    let mut c = AssetConfig::unpack(collateral_config(5).to_be_bytes());
    c.haircut_max_ppm = 1_000_001;
    let e = v()
        .list_asset(dai.address(), U256::from_be_bytes(c.pack()), wad(1), false)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e)
        if e.which == 5 && e.value == U256::from(1_000_001) && e.bound == U256::from(1_000_000)));

    // Cap above u128.
    let e = v()
        .list_asset(dai.address(), collateral_config(5), U256::MAX, false)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e) if e.which == which::DEPOSIT_CAP));

    // Decimals above 36.
    let e = v()
        .list_asset(huge.address(), collateral_config(5), wad(1), false)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e) if e.which == 2 && e.value == U256::from(37)));

    // A contract without decimals().
    let e = v()
        .list_asset(vault.address(), collateral_config(5), wad(1), false)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::TokenQueryFailed(e) if e.token == vault.address()));

    assert_eq!(
        snapshot(&vault, &[U256::from(1)], &[&usdc, &weth, &dai], &[]),
        before
    );
}

#[motsu::test]
fn list_asset_reverts_past_sixteen_assets(
    vault: Contract<CollateralVault>,
    t0: Contract<MockToken>,
    t1: Contract<MockToken>,
    t2: Contract<MockToken>,
    t3: Contract<MockToken>,
    t4: Contract<MockToken>,
    t5: Contract<MockToken>,
    t6: Contract<MockToken>,
    t7: Contract<MockToken>,
    t8: Contract<MockToken>,
    t9: Contract<MockToken>,
    t10: Contract<MockToken>,
    t11: Contract<MockToken>,
    t12: Contract<MockToken>,
    t13: Contract<MockToken>,
    t14: Contract<MockToken>,
    t15: Contract<MockToken>,
    t16: Contract<MockToken>,
    owner: Address,
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    let all = [
        &t0, &t1, &t2, &t3, &t4, &t5, &t6, &t7, &t8, &t9, &t10, &t11, &t12, &t13, &t14, &t15,
    ];
    for (k, t) in all.iter().enumerate() {
        vault
            .sender(owner)
            .list_asset(t.address(), collateral_config(k as u32 + 1), wad(1), false)
            .motsu_unwrap();
    }
    let e = vault
        .sender(owner)
        .list_asset(t16.address(), collateral_config(99), wad(1), false)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::TooManyAssets(e) if e.max == U256::from(16)));
    assert_eq!(vault.sender(owner).listed_tokens().len(), 16);
    assert_eq!(vault.sender(owner).asset_config(t16.address()), U256::ZERO);
}

#[motsu::test]
fn set_deposit_cap_below_deposits_needs_force(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    fund(&vault, &weth, alice, id, wad(10));
    let t = weth.address();
    let e = vault
        .sender(owner)
        .set_deposit_cap(t, wad(9), false)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::CapBelowDeposits(e)
        if e.cap == wad(9) && e.totalDeposits == wad(10)));
    assert_eq!(vault.sender(owner).deposit_cap(t), wad(1_000_000_000_000));

    vault
        .sender(owner)
        .set_deposit_cap(t, wad(10), false)
        .motsu_unwrap();
    assert_eq!(vault.sender(owner).deposit_cap(t), wad(10));
    vault
        .sender(owner)
        .set_deposit_cap(t, wad(9), true)
        .motsu_unwrap();
    assert_eq!(vault.sender(owner).deposit_cap(t), wad(9));
    vault.assert_emitted(&DepositCapSet {
        token: t,
        cap: wad(9),
        totalDeposits: wad(10),
    });
    // Nothing is taken away; withdrawals still work.
    assert_eq!(vault.sender(owner).balance_of(id, t), wad(10));
    vault
        .sender(engine)
        .withdraw_to(id, t, wad(10), alice)
        .motsu_unwrap();

    let e = vault
        .sender(owner)
        .set_deposit_cap(alice, wad(1), true)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::TokenNotListed(e) if e.token == alice));
}

#[motsu::test]
fn set_asset_config_stores_bounded_values(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    standard(&vault, &usdc, &weth, owner, engine, alice);
    let t = weth.address();
    let haircut = |floor, k, max, depth| {
        move |c: &mut AssetConfig| {
            c.haircut_floor_ppm = floor;
            c.vol_multiplier_ppm = k;
            c.haircut_max_ppm = max;
            c.liquidity_depth = depth;
        }
    };
    reconfigure(
        &vault,
        owner,
        t,
        haircut(100_000, 20_000_000, 1_000_000, 5 * WAD),
    )
    .motsu_unwrap();
    let c = AssetConfig::unpack(vault.sender(owner).asset_config(t).to_be_bytes());
    assert_eq!(
        (
            c.haircut_floor_ppm,
            c.vol_multiplier_ppm,
            c.haircut_max_ppm,
            c.liquidity_depth
        ),
        (100_000, 20_000_000, 1_000_000, 5 * WAD)
    );
    assert_eq!((c.decimals, c.underlying, c.enabled), (18, 1, true));
    vault.assert_emitted(&AssetConfigUpdated {
        token: t,
        config: vault.sender(owner).asset_config(t),
    });

    let before = vault.sender(owner).asset_config(t);
    // (A depth at or above 2^96 does not fit the word's 96 bits: the word's own layout
    // bounds it.)
    let cases: [(u32, u32, u32, u8); 3] = [
        (200_000, 0, 100_000, 3),    // floor > max
        (0, 20_000_001, 100_000, 4), // k > 20
        (0, 0, 1_000_001, 5),        // max > 100%
    ];
    for (floor, k, max, which) in cases {
        let e = reconfigure(&vault, owner, t, haircut(floor, k, max, 0)).motsu_unwrap_err();
        assert!(
            matches!(e, Error::ValueOutOfBounds(e) if e.which == which),
            "{which}"
        );
        assert_eq!(vault.sender(owner).asset_config(t), before);
    }
    // Bits outside the fields (reserved 240..256, unused flags 43..48) are refused, not
    // dropped; so is another underlying.
    for stray in [U256::from(1u8) << 240, U256::from(1u8) << 43] {
        let e = vault
            .sender(owner)
            .set_asset_config(t, before | stray)
            .motsu_unwrap_err();
        assert!(
            matches!(e, Error::ValueOutOfBounds(ref e) if e.which == which::CONFIG && e.value == before | stray && e.bound == before),
            "{e:?}"
        );
    }
    let e = reconfigure(&vault, owner, t, |c| c.underlying = 2).motsu_unwrap_err();
    assert!(
        matches!(e, Error::ValueOutOfBounds(e) if e.which == which::UNDERLYING && e.value == U256::from(2u8) && e.bound == U256::from(1u8))
    );
    assert_eq!(vault.sender(owner).asset_config(t), before);
    // The decimals and the quote flag stay as listed.
    reconfigure(&vault, owner, t, |c| {
        c.decimals = 6;
        c.is_quote = true;
    })
    .motsu_unwrap();
    assert_eq!(vault.sender(owner).asset_config(t), before);
}

#[motsu::test]
fn set_asset_config_refuses_a_risk_offsetting_quote(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    standard(&vault, &usdc, &weth, owner, engine, alice);
    reconfigure(&vault, owner, weth.address(), |c| c.risk_offsetting = true).motsu_unwrap();
    let c = AssetConfig::unpack(
        vault
            .sender(owner)
            .asset_config(weth.address())
            .to_be_bytes(),
    );
    assert!(c.risk_offsetting);
    let before = vault.sender(owner).asset_config(usdc.address());
    let e =
        reconfigure(&vault, owner, usdc.address(), |c| c.risk_offsetting = true).motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e) if e.which == 7));
    assert_eq!(vault.sender(owner).asset_config(usdc.address()), before);
}

// ---------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------

#[motsu::test]
fn open_account_assigns_sequential_ids(
    vault: Contract<CollateralVault>,
    owner: Address,
    alice: Address,
    bob: Address,
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    assert_eq!(vault.sender(alice).open_account(), U256::from(1));
    assert_eq!(vault.sender(bob).open_account(), U256::from(2));
    assert_eq!(vault.sender(alice).open_account(), U256::from(3));
    assert_eq!(vault.sender(alice).account_count(), U256::from(3));
    assert_eq!(
        vault.sender(alice).owner_of(U256::from(2)).motsu_unwrap(),
        bob
    );
    vault.assert_emitted(&AccountOpened {
        account: U256::from(2),
        owner: bob,
    });
    let e = vault
        .sender(alice)
        .owner_of(U256::from(4))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(e) if e.account == U256::from(4)));
    let e = vault.sender(alice).owner_of(U256::ZERO).motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(_)));
}

#[motsu::test]
fn operators_are_approved_and_revoked_by_the_owner(
    vault: Contract<CollateralVault>,
    owner: Address,
    alice: Address,
    bob: Address,
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    let id = vault.sender(alice).open_account();
    assert!(vault.sender(alice).is_authorized(id, alice).motsu_unwrap());
    assert!(!vault.sender(alice).is_authorized(id, bob).motsu_unwrap());
    let e = vault
        .sender(alice)
        .require_authorized(id, bob)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::NotOwnerOrOperator(e) if e.account == id && e.caller == bob));

    vault
        .sender(alice)
        .set_operator(id, bob, true)
        .motsu_unwrap();
    vault.assert_emitted(&OperatorSet {
        account: id,
        operator: bob,
        approved: true,
    });
    assert!(vault.sender(alice).is_authorized(id, bob).motsu_unwrap());
    vault
        .sender(alice)
        .require_authorized(id, bob)
        .motsu_unwrap();

    vault
        .sender(alice)
        .set_operator(id, bob, false)
        .motsu_unwrap();
    assert!(!vault.sender(alice).is_authorized(id, bob).motsu_unwrap());
}

#[motsu::test]
fn set_operator_reverts_for_non_owner_unknown_account_and_zero(
    vault: Contract<CollateralVault>,
    owner: Address,
    alice: Address,
    bob: Address,
    carol: Address,
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    let id = vault.sender(alice).open_account();
    vault
        .sender(alice)
        .set_operator(id, bob, true)
        .motsu_unwrap();
    let before = snapshot(&vault, &[id], &[], &[alice, bob, carol]);

    // An operator cannot change operators.
    let e = vault
        .sender(bob)
        .set_operator(id, carol, true)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::NotAccountOwner(e) if e.account == id && e.caller == bob));
    let e = vault
        .sender(alice)
        .set_operator(U256::from(9), carol, true)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(e) if e.account == U256::from(9)));
    let e = vault
        .sender(alice)
        .set_operator(id, Address::ZERO, true)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAddress(_)));
    assert_eq!(snapshot(&vault, &[id], &[], &[alice, bob, carol]), before);
}

#[motsu::test]
fn transfer_account_moves_ownership_and_revokes_operators(
    vault: Contract<CollateralVault>,
    owner: Address,
    alice: Address,
    bob: Address,
    carol: Address,
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    let id = vault.sender(alice).open_account();
    vault
        .sender(alice)
        .set_operator(id, bob, true)
        .motsu_unwrap();
    vault
        .sender(alice)
        .transfer_account(id, carol)
        .motsu_unwrap();
    vault.assert_emitted(&AccountTransferred {
        account: id,
        previousOwner: alice,
        newOwner: carol,
    });
    assert_eq!(vault.sender(alice).owner_of(id).motsu_unwrap(), carol);
    assert!(!vault.sender(alice).is_authorized(id, alice).motsu_unwrap());
    assert!(!vault.sender(alice).is_authorized(id, bob).motsu_unwrap());
    // The new owner can re-approve the same operator.
    vault
        .sender(carol)
        .set_operator(id, bob, true)
        .motsu_unwrap();
    assert!(vault.sender(alice).is_authorized(id, bob).motsu_unwrap());
}

#[motsu::test]
fn transfer_account_reverts_for_non_owner_zero_and_unknown(
    vault: Contract<CollateralVault>,
    owner: Address,
    alice: Address,
    bob: Address,
) {
    vault.sender(owner).constructor(owner).motsu_unwrap();
    let id = vault.sender(alice).open_account();
    let before = snapshot(&vault, &[id], &[], &[alice, bob]);
    let e = vault
        .sender(bob)
        .transfer_account(id, bob)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::NotAccountOwner(e) if e.caller == bob));
    let e = vault
        .sender(alice)
        .transfer_account(id, Address::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAddress(_)));
    let e = vault
        .sender(alice)
        .transfer_account(U256::from(5), bob)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(_)));
    assert_eq!(snapshot(&vault, &[id], &[], &[alice, bob]), before);
}

#[motsu::test]
fn transfer_account_reverts_while_frozen(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
    bob: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    vault.sender(engine).set_frozen(id, true).motsu_unwrap();
    vault.assert_emitted(&FrozenSet {
        account: id,
        frozen: true,
    });
    let before = snapshot(&vault, &[id], &[&usdc, &weth], &[alice, bob]);
    let e = vault
        .sender(alice)
        .transfer_account(id, bob)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::AccountFrozen(e) if e.account == id));
    assert_eq!(
        snapshot(&vault, &[id], &[&usdc, &weth], &[alice, bob]),
        before
    );

    vault.sender(engine).set_frozen(id, false).motsu_unwrap();
    vault.sender(alice).transfer_account(id, bob).motsu_unwrap();
}

#[motsu::test]
fn set_frozen_reverts_for_unknown_account(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    standard(&vault, &usdc, &weth, owner, engine, alice);
    let e = vault
        .sender(engine)
        .set_frozen(U256::from(7), true)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(e) if e.account == U256::from(7)));
    assert!(!vault.sender(engine).is_frozen(U256::from(7)));
}

// ---------------------------------------------------------------------------
// Deposits
// ---------------------------------------------------------------------------

#[motsu::test]
fn deposit_credits_collateral_in_wad(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    wbtc: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    real_decimals(&usdc, 6);
    real_decimals(&weth, 18);
    real_decimals(&wbtc, 8);
    setup(
        &vault,
        owner,
        engine,
        usdc.address(),
        &[weth.address(), wbtc.address()],
    );
    let id = vault.sender(alice).open_account();
    // 1.5 WBTC (8 decimals).
    fund(&vault, &wbtc, alice, id, U256::from(150_000_000u64));
    assert_eq!(
        vault.sender(alice).balance_of(id, wbtc.address()),
        U256::from(15 * WAD / 10)
    );
    assert_eq!(
        vault.sender(alice).total_deposits(wbtc.address()),
        U256::from(15 * WAD / 10)
    );
    assert_eq!(
        wbtc.token_balance(vault.address()),
        U256::from(150_000_000u64)
    );
    assert_eq!(wbtc.token_balance(alice), U256::ZERO);
    vault.assert_emitted(&Deposited {
        account: id,
        token: wbtc.address(),
        from: alice,
        tokenAmount: U256::from(150_000_000u64),
        amount: U256::from(15 * WAD / 10),
    });
    assert_eq!(vault.sender(alice).cash_of(id), I256::ZERO);
}

#[motsu::test]
fn deposit_of_the_quote_asset_credits_cash(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    fund(&vault, &usdc, alice, id, units(250, 6));
    assert_eq!(vault.sender(alice).cash_of(id), I256::from_raw(wad(250)));
    assert_eq!(vault.sender(alice).total_cash(), I256::from_raw(wad(250)));
    assert_eq!(vault.sender(alice).total_deposits(usdc.address()), wad(250));
    assert_eq!(
        vault.sender(alice).balance_of(id, usdc.address()),
        U256::ZERO
    );
    let state = vault
        .sender(engine)
        .get_account_state(id, alice)
        .motsu_unwrap();
    assert_eq!(state.cash, I256::from_raw(wad(250)));
    assert!(state.tokens.is_empty());
}

#[motsu::test]
fn anyone_may_deposit_into_any_account(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
    bob: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    fund(&vault, &weth, bob, id, wad(2));
    assert_eq!(vault.sender(bob).balance_of(id, weth.address()), wad(2));
    vault.assert_emitted(&Deposited {
        account: id,
        token: weth.address(),
        from: bob,
        tokenAmount: wad(2),
        amount: wad(2),
    });
}

#[motsu::test]
fn deposit_works_with_a_token_returning_no_value(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    usdt: Contract<NoReturnToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    real_decimals(&usdc, 6);
    usdt.sender(owner).set_decimals(6);
    setup(&vault, owner, engine, usdc.address(), &[usdt.address()]);
    let id = vault.sender(alice).open_account();
    fund(&vault, &usdt, alice, id, units(10, 6));
    assert_eq!(vault.sender(alice).balance_of(id, usdt.address()), wad(10));
    // And withdrawals of it.
    let sent = vault
        .sender(engine)
        .withdraw_to(id, usdt.address(), wad(4), alice)
        .motsu_unwrap();
    assert_eq!(sent, units(4, 6));
    assert_eq!(usdt.token_balance(alice), units(4, 6));
    assert_eq!(vault.sender(alice).balance_of(id, usdt.address()), wad(6));
}

#[motsu::test]
fn deposit_reverts_when_a_no_value_token_reverts(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    usdt: Contract<NoReturnToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    real_decimals(&usdc, 6);
    usdt.sender(owner).set_decimals(6);
    setup(&vault, owner, engine, usdc.address(), &[usdt.address()]);
    let id = vault.sender(alice).open_account();
    usdt.mint_to(alice, units(10, 6)); // no approval
    let before = snapshot(&vault, &[id], &[&usdc, &usdt], &[alice]);
    let e = vault
        .sender(alice)
        .deposit(id, usdt.address(), units(10, 6))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::TokenTransferFailed(e) if e.token == usdt.address()));
    assert_eq!(snapshot(&vault, &[id], &[&usdc, &usdt], &[alice]), before);
}

#[motsu::test]
fn deposit_reverts_when_the_token_returns_false(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    bad: Contract<MockToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    real_decimals(&usdc, 6);
    bad.sender(owner).set_decimals(18);
    setup(&vault, owner, engine, usdc.address(), &[bad.address()]);
    let id = vault.sender(alice).open_account();
    bad.mint_to(alice, wad(5));
    bad.approve_from(alice, vault.address(), wad(5));
    bad.sender(owner).set_mode(mock_token::RETURNS_FALSE);
    let before = snapshot(&vault, &[id], &[&usdc, &bad], &[alice]);
    let e = vault
        .sender(alice)
        .deposit(id, bad.address(), wad(5))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::TokenTransferFailed(e) if e.token == bad.address()));
    assert_eq!(snapshot(&vault, &[id], &[&usdc, &bad], &[alice]), before);
}

#[motsu::test]
fn deposit_reverts_when_the_real_erc20_reverts(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    weth.mint_to(alice, wad(1));
    weth.approve_from(alice, vault.address(), wad(1));
    let before = snapshot(&vault, &[id], &[&usdc, &weth], &[alice]);
    // More than the balance: openzeppelin's ERC20 reverts.
    let e = vault
        .sender(alice)
        .deposit(id, weth.address(), wad(2))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::TokenTransferFailed(e) if e.token == weth.address()));
    assert_eq!(snapshot(&vault, &[id], &[&usdc, &weth], &[alice]), before);
}

#[motsu::test]
fn deposit_reverts_on_a_fee_on_transfer_token(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    fee: Contract<MockToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    real_decimals(&usdc, 6);
    fee.sender(owner).set_decimals(18);
    fee.sender(owner).set_mode(mock_token::FEE_ON_TRANSFER);
    setup(&vault, owner, engine, usdc.address(), &[fee.address()]);
    let id = vault.sender(alice).open_account();
    fee.mint_to(alice, wad(100));
    fee.approve_from(alice, vault.address(), wad(100));
    let before = snapshot(&vault, &[id], &[&usdc, &fee], &[alice]);
    let e = vault
        .sender(alice)
        .deposit(id, fee.address(), wad(100))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::FeeOnTransferDetected(e)
        if e.token == fee.address() && e.expected == wad(100) && e.received == wad(99)));
    assert_eq!(snapshot(&vault, &[id], &[&usdc, &fee], &[alice]), before);
}

#[motsu::test]
fn deposit_reverts_for_unknown_account_unlisted_or_disabled_token_and_zero(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    other: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    real_decimals(&other, 18);
    for t in [&weth, &other] {
        t.mint_to(alice, wad(10));
        t.approve_from(alice, vault.address(), wad(10));
    }
    let snap = || snapshot(&vault, &[id], &[&usdc, &weth, &other], &[alice]);
    let before = snap();

    let e = vault
        .sender(alice)
        .deposit(U256::from(2), weth.address(), wad(1))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(e) if e.account == U256::from(2)));
    let e = vault
        .sender(alice)
        .deposit(id, other.address(), wad(1))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::TokenNotListed(e) if e.token == other.address()));
    let e = vault
        .sender(alice)
        .deposit(id, weth.address(), U256::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAmount(_)));
    assert_eq!(snap(), before);

    reconfigure(&vault, owner, weth.address(), |c| c.enabled = false).motsu_unwrap();
    let before = snap();
    let e = vault
        .sender(alice)
        .deposit(id, weth.address(), wad(1))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::TokenDisabled(e) if e.token == weth.address()));
    assert_eq!(snap(), before);
}

#[motsu::test]
fn deposit_reverts_over_the_cap(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    vault
        .sender(owner)
        .set_deposit_cap(weth.address(), wad(10), false)
        .motsu_unwrap();
    fund(&vault, &weth, alice, id, wad(7));
    weth.mint_to(alice, wad(4));
    weth.approve_from(alice, vault.address(), wad(4));
    let before = snapshot(&vault, &[id], &[&usdc, &weth], &[alice]);
    let e = vault
        .sender(alice)
        .deposit(id, weth.address(), wad(4))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::DepositCapExceeded(e)
        if e.token == weth.address() && e.cap == wad(10) && e.totalAfter == wad(11)));
    assert_eq!(snapshot(&vault, &[id], &[&usdc, &weth], &[alice]), before);
    // Exactly at the cap is fine.
    vault
        .sender(alice)
        .deposit(id, weth.address(), wad(3))
        .motsu_unwrap();
}

#[motsu::test]
fn deposit_rounds_down_for_tokens_with_more_than_18_decimals(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    fine: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    real_decimals(&usdc, 6);
    real_decimals(&fine, 24);
    setup(&vault, owner, engine, usdc.address(), &[fine.address()]);
    let id = vault.sender(alice).open_account();
    // 2.5e6 + 1 units of a 24-decimal token = 2.500001 WAD units, credited 2.
    fund(&vault, &fine, alice, id, U256::from(2_500_001u64));
    assert_eq!(
        vault.sender(alice).balance_of(id, fine.address()),
        U256::from(2)
    );
    // Below one WAD unit: nothing to credit.
    fine.mint_to(alice, U256::from(999_999u64));
    fine.approve_from(alice, vault.address(), U256::from(999_999u64));
    let before = snapshot(&vault, &[id], &[&usdc, &fine], &[alice]);
    let e = vault
        .sender(alice)
        .deposit(id, fine.address(), U256::from(999_999u64))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAmount(_)));
    assert_eq!(snapshot(&vault, &[id], &[&usdc, &fine], &[alice]), before);
    // Withdrawal pays exact multiples.
    let sent = vault
        .sender(engine)
        .withdraw_to(id, fine.address(), U256::from(2), alice)
        .motsu_unwrap();
    assert_eq!(sent, U256::from(2_000_000u64));
}

#[motsu::test]
fn deposit_reverts_when_amount_exceeds_128_bits(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    let before = snapshot(&vault, &[id], &[&usdc, &weth], &[alice]);
    let big = U256::from(u128::MAX) + U256::from(1);
    let e = vault
        .sender(alice)
        .deposit(id, weth.address(), big)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e) if e.which == which::AMOUNT));
    // 6 decimals: the WAD value overflows u128.
    let e = vault
        .sender(alice)
        .deposit(id, usdc.address(), U256::from(u128::MAX))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e) if e.which == which::AMOUNT));
    assert_eq!(snapshot(&vault, &[id], &[&usdc, &weth], &[alice]), before);
}

// ---------------------------------------------------------------------------
// Withdrawals
// ---------------------------------------------------------------------------

#[motsu::test]
fn withdraw_pays_rounded_down_and_debits_what_it_pays(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
    bob: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    fund(&vault, &usdc, alice, id, units(100, 6));
    // 1.0000009 USDC requested: pays 1.000000, debits 1e18.
    let req = U256::from(1_000_000_900_000_000_000u128);
    let sent = vault
        .sender(engine)
        .withdraw_to(id, usdc.address(), req, bob)
        .motsu_unwrap();
    assert_eq!(sent, units(1, 6));
    assert_eq!(usdc.token_balance(bob), units(1, 6));
    assert_eq!(vault.sender(bob).cash_of(id), I256::from_raw(wad(99)));
    assert_eq!(vault.sender(bob).total_deposits(usdc.address()), wad(99));
    assert_eq!(vault.sender(bob).total_cash(), I256::from_raw(wad(99)));
    vault.assert_emitted(&Withdrawn {
        account: id,
        token: usdc.address(),
        to: bob,
        tokenAmount: units(1, 6),
        amount: wad(1),
    });
}

#[motsu::test]
fn withdraw_of_collateral_clears_the_held_entry(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    fund(&vault, &weth, alice, id, wad(3));
    let s = vault
        .sender(engine)
        .get_account_state(id, alice)
        .motsu_unwrap();
    assert_eq!(s.tokens, vec![weth.address()]);
    vault
        .sender(engine)
        .withdraw_to(id, weth.address(), wad(3), alice)
        .motsu_unwrap();
    assert_eq!(weth.token_balance(alice), wad(3));
    let s = vault
        .sender(engine)
        .get_account_state(id, alice)
        .motsu_unwrap();
    assert!(s.tokens.is_empty() && s.amounts.is_empty() && s.configs.is_empty());
    assert_eq!(
        vault.sender(engine).total_deposits(weth.address()),
        U256::ZERO
    );
}

#[motsu::test]
fn withdraw_reverts_on_insufficient_balance_or_cash(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    fund(&vault, &weth, alice, id, wad(3));
    fund(&vault, &usdc, alice, id, units(10, 6));
    let snap = || snapshot(&vault, &[id], &[&usdc, &weth], &[alice]);
    let before = snap();
    let e = vault
        .sender(engine)
        .withdraw_to(id, weth.address(), wad(4), alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::InsufficientBalance(e)
        if e.account == id && e.token == weth.address() && e.balance == wad(3) && e.needed == wad(4)));
    let e = vault
        .sender(engine)
        .withdraw_to(id, usdc.address(), wad(11), alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::InsufficientCash(e)
        if e.account == id && e.cash == I256::from_raw(wad(10)) && e.needed == wad(11)));
    assert_eq!(snap(), before);

    // Negative cash cannot withdraw anything.
    let bob_id = vault.sender(alice).open_account();
    vault
        .sender(engine)
        .transfer_cash(bob_id, id, i(5 * WAD as i128))
        .motsu_unwrap();
    let e = vault
        .sender(engine)
        .withdraw_to(bob_id, usdc.address(), wad(1), alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::InsufficientCash(e) if e.cash == i(-5 * WAD as i128)));
}

#[motsu::test]
fn withdraw_reverts_when_quote_cash_exceeds_the_vaults_holdings(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    fund(&vault, &usdc, alice, id, units(10, 6));
    vault
        .sender(engine)
        .adjust_cash(id, i(5 * WAD as i128), reason::SETTLEMENT)
        .motsu_unwrap();
    let before = snapshot(&vault, &[id], &[&usdc, &weth], &[alice]);
    let e = vault
        .sender(engine)
        .withdraw_to(id, usdc.address(), wad(15), alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::InsufficientVaultBalance(e)
        if e.token == usdc.address() && e.held == wad(10) && e.needed == wad(15)));
    assert_eq!(snapshot(&vault, &[id], &[&usdc, &weth], &[alice]), before);
}

#[motsu::test]
fn withdraw_reverts_for_frozen_unknown_unlisted_zero_and_non_engine(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    fund(&vault, &weth, alice, id, wad(3));
    let snap = || snapshot(&vault, &[id], &[&usdc, &weth], &[alice]);
    let before = snap();
    let w = weth.address();

    let e = vault
        .sender(alice)
        .withdraw_to(id, w, wad(1), alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::CallerNotEngineOrKeeper(e) if e.caller == alice));
    let e = vault
        .sender(engine)
        .withdraw_to(U256::from(3), w, wad(1), alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(_)));
    let e = vault
        .sender(engine)
        .withdraw_to(id, alice, wad(1), alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::TokenNotListed(e) if e.token == alice));
    let e = vault
        .sender(engine)
        .withdraw_to(id, w, U256::ZERO, alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAmount(_)));
    let e = vault
        .sender(engine)
        .withdraw_to(id, w, wad(1), Address::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAddress(_)));
    // Less than one token unit of a 6-decimal token pays nothing.
    fund(&vault, &usdc, alice, id, units(1, 6));
    let before_usdc = snap();
    let e = vault
        .sender(engine)
        .withdraw_to(id, usdc.address(), U256::from(999_999_999_999u64), alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAmount(_)));
    assert_eq!(snap(), before_usdc);

    vault.sender(engine).set_frozen(id, true).motsu_unwrap();
    let before_frozen = snap();
    let e = vault
        .sender(engine)
        .withdraw_to(id, w, wad(1), alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::AccountFrozen(e) if e.account == id));
    assert_eq!(snap(), before_frozen);
    let _ = before;
}

#[motsu::test]
fn withdraw_reverts_when_the_token_transfer_fails(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    bad: Contract<MockToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    real_decimals(&usdc, 6);
    bad.sender(owner).set_decimals(18);
    setup(&vault, owner, engine, usdc.address(), &[bad.address()]);
    let id = vault.sender(alice).open_account();
    fund(&vault, &bad, alice, id, wad(5));
    bad.sender(owner).set_mode(mock_token::RETURNS_FALSE);
    let before = snapshot(&vault, &[id], &[&usdc, &bad], &[alice]);
    let e = vault
        .sender(engine)
        .withdraw_to(id, bad.address(), wad(5), alice)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::TokenTransferFailed(e) if e.token == bad.address()));
    assert_eq!(snapshot(&vault, &[id], &[&usdc, &bad], &[alice]), before);
}

#[motsu::test]
fn withdraw_of_a_disabled_token_still_works(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let id = standard(&vault, &usdc, &weth, owner, engine, alice);
    fund(&vault, &weth, alice, id, wad(3));
    reconfigure(&vault, owner, weth.address(), |c| c.enabled = false).motsu_unwrap();
    vault
        .sender(engine)
        .withdraw_to(id, weth.address(), wad(3), alice)
        .motsu_unwrap();
    assert_eq!(weth.token_balance(alice), wad(3));
}

// ---------------------------------------------------------------------------
// Engine-only ledger operations
// ---------------------------------------------------------------------------

#[motsu::test]
fn engine_only_functions_revert_for_others(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let a = standard(&vault, &usdc, &weth, owner, engine, alice);
    let b = vault.sender(alice).open_account();
    fund(&vault, &weth, alice, a, wad(3));
    fund(&vault, &usdc, alice, a, units(3, 6));
    let before = snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]);
    let not_engine = |e: Error| matches!(e, Error::CallerNotEngineOrKeeper(e) if e.caller == owner);
    let v = || vault.sender(owner);
    assert!(not_engine(v().transfer_cash(a, b, i(1)).motsu_unwrap_err()));
    assert!(not_engine(
        v().adjust_cash(a, i(1), reason::FEE).motsu_unwrap_err()
    ));
    assert!(not_engine(
        v().socialise(U256::from(1u8), i(0)).motsu_unwrap_err()
    ));
    assert!(not_engine(
        v().move_fraction(a, b, wad(1)).motsu_unwrap_err()
    ));
    assert!(not_engine(
        v().withdraw_to(a, weth.address(), wad(1), owner)
            .motsu_unwrap_err()
    ));
    assert!(not_engine(v().set_frozen(a, true).motsu_unwrap_err()));
    assert_eq!(snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]), before);
}

#[motsu::test]
fn transfer_cash_moves_signed_cash_and_may_go_negative(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let a = standard(&vault, &usdc, &weth, owner, engine, alice);
    let b = vault.sender(alice).open_account();
    vault
        .sender(engine)
        .transfer_cash(a, b, i(7))
        .motsu_unwrap();
    assert_eq!(vault.sender(alice).cash_of(a), i(-7));
    assert_eq!(vault.sender(alice).cash_of(b), i(7));
    vault.assert_emitted(&CashTransferred {
        from: a,
        to: b,
        amount: i(7),
    });
    // A negative amount moves the other way.
    vault
        .sender(engine)
        .transfer_cash(a, b, i(-10))
        .motsu_unwrap();
    assert_eq!(vault.sender(alice).cash_of(a), i(3));
    assert_eq!(vault.sender(alice).cash_of(b), i(-3));
    assert_eq!(vault.sender(alice).total_cash(), I256::ZERO);
    // To itself: nothing changes.
    vault
        .sender(engine)
        .transfer_cash(a, a, i(5))
        .motsu_unwrap();
    assert_eq!(vault.sender(alice).cash_of(a), i(3));
}

#[motsu::test]
fn transfer_cash_reverts_on_zero_unknown_or_out_of_range(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let a = standard(&vault, &usdc, &weth, owner, engine, alice);
    let b = vault.sender(alice).open_account();
    let before = snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]);
    let e = vault
        .sender(engine)
        .transfer_cash(a, b, I256::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAmount(_)));
    let e = vault
        .sender(engine)
        .transfer_cash(a, U256::from(9), i(1))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(e) if e.account == U256::from(9)));
    let e = vault
        .sender(engine)
        .transfer_cash(U256::from(9), a, i(1))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(_)));
    let e = vault
        .sender(engine)
        .transfer_cash(a, b, I256::MAX)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e) if e.which == which::CASH));
    vault
        .sender(engine)
        .transfer_cash(a, b, i(i128::MAX))
        .motsu_unwrap();
    let mid = snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]);
    let e = vault
        .sender(engine)
        .transfer_cash(a, b, i(1))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e) if e.which == which::CASH));
    assert_eq!(snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]), mid);
    let _ = before;
}

#[motsu::test]
fn adjust_cash_keeps_a_ledger_per_reason(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let a = standard(&vault, &usdc, &weth, owner, engine, alice);
    let b = vault.sender(alice).open_account();
    fund(&vault, &usdc, alice, a, units(10, 6));
    let v = || vault.sender(engine);
    v().adjust_cash(a, i(-3), reason::FEE).motsu_unwrap();
    v().adjust_cash(b, i(2), reason::FEE).motsu_unwrap();
    v().adjust_cash(b, i(-40), reason::DEFICIT).motsu_unwrap();
    vault.assert_emitted(&CashAdjusted {
        account: b,
        reason: reason::DEFICIT,
        delta: i(-40),
        cash: i(-38),
    });
    assert_eq!(v().net_cash_adjustment(reason::FEE), i(-1));
    assert_eq!(v().net_cash_adjustment(reason::DEFICIT), i(-40));
    assert_eq!(v().cash_of(a), i(10 * WAD as i128 - 3));
    assert_eq!(v().cash_of(b), i(-38));
    // Sum of cash == quote deposits + net adjustments.
    assert_eq!(v().total_cash(), i(10 * WAD as i128 - 41));

    let before = snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]);
    let e = v()
        .adjust_cash(a, I256::ZERO, reason::FEE)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAmount(_)));
    let e = v()
        .adjust_cash(U256::from(9), i(1), reason::FEE)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(_)));
    let e = v()
        .adjust_cash(a, I256::MIN, reason::FEE)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e) if e.which == which::CASH));
    let e = v()
        .adjust_cash(a, i(i128::MAX), reason::FEE)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e) if e.which == which::CASH));
    assert_eq!(snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]), before);
}

#[motsu::test]
fn move_fraction_moves_the_floor_of_every_balance_and_of_cash(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    wbtc: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
    keeper: Address,
) {
    real_decimals(&usdc, 6);
    real_decimals(&weth, 18);
    real_decimals(&wbtc, 8);
    setup(
        &vault,
        owner,
        engine,
        usdc.address(),
        &[weth.address(), wbtc.address()],
    );
    let a = vault.sender(alice).open_account();
    let k = vault.sender(keeper).open_account();
    fund(&vault, &weth, alice, a, U256::from(7u8)); // 7 wei
    fund(&vault, &wbtc, alice, a, U256::from(3u8)); // 3e10 WAD
    vault
        .sender(engine)
        .adjust_cash(a, i(-5), reason::SETTLEMENT)
        .motsu_unwrap();
    // f = 1/2: weth floor(3.5) = 3, wbtc 1.5e10, cash floor(-2.5) = -3.
    let moved = vault
        .sender(engine)
        .move_fraction(a, k, U256::from(WAD / 2))
        .motsu_unwrap();
    assert_eq!(moved, i(-3));
    let v = || vault.sender(keeper);
    assert_eq!(v().balance_of(a, weth.address()), U256::from(4));
    assert_eq!(v().balance_of(k, weth.address()), U256::from(3));
    assert_eq!(
        v().balance_of(a, wbtc.address()),
        U256::from(15_000_000_000u64)
    );
    assert_eq!(
        v().balance_of(k, wbtc.address()),
        U256::from(15_000_000_000u64)
    );
    assert_eq!(v().cash_of(a), i(-2));
    assert_eq!(v().cash_of(k), i(-3));
    vault.assert_emitted(&FractionMoved {
        from: a,
        to: k,
        fractionWad: U256::from(WAD / 2),
        cashMoved: i(-3),
    });
    vault.assert_emitted(&CollateralMoved {
        from: a,
        to: k,
        token: weth.address(),
        amount: U256::from(3),
    });
    // All of it.
    vault
        .sender(engine)
        .move_fraction(a, k, U256::from(WAD))
        .motsu_unwrap();
    let s = vault
        .sender(engine)
        .get_account_state(a, alice)
        .motsu_unwrap();
    assert!(s.tokens.is_empty());
    assert_eq!(s.cash, I256::ZERO);
    assert_eq!(v().balance_of(k, weth.address()), U256::from(7));
    assert_eq!(v().cash_of(k), i(-5));
}

#[motsu::test]
fn move_fraction_reverts_on_bad_input(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let a = standard(&vault, &usdc, &weth, owner, engine, alice);
    let b = vault.sender(alice).open_account();
    fund(&vault, &weth, alice, a, wad(5));
    let before = snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]);
    let v = || vault.sender(engine);
    let e = v()
        .move_fraction(a, b, U256::from(WAD + 1))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::ValueOutOfBounds(e)
        if e.which == which::FRACTION && e.bound == U256::from(WAD)));
    let e = v().move_fraction(a, b, U256::ZERO).motsu_unwrap_err();
    assert!(matches!(e, Error::ZeroAmount(_)));
    let e = v()
        .move_fraction(a, U256::from(9), U256::from(1))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(_)));
    assert_eq!(snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]), before);
}

#[motsu::test]
fn get_account_state_returns_everything_in_one_call(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    wbtc: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
    bob: Address,
) {
    real_decimals(&usdc, 6);
    real_decimals(&weth, 18);
    real_decimals(&wbtc, 8);
    setup(
        &vault,
        owner,
        engine,
        usdc.address(),
        &[weth.address(), wbtc.address()],
    );
    let a = vault.sender(alice).open_account();
    fund(&vault, &wbtc, alice, a, U256::from(1u8));
    fund(&vault, &usdc, alice, a, units(2, 6));
    fund(&vault, &weth, alice, a, wad(3));
    vault
        .sender(alice)
        .set_operator(a, bob, true)
        .motsu_unwrap();
    vault.sender(engine).set_frozen(a, true).motsu_unwrap();

    let types::AccountState {
        owner: o,
        frozen,
        authorized: auth,
        cash,
        tokens,
        amounts,
        configs,
    } = vault
        .sender(engine)
        .get_account_state(a, bob)
        .motsu_unwrap();
    assert_eq!(o, alice);
    assert!(frozen);
    assert!(auth);
    assert_eq!(cash, I256::from_raw(wad(2)));
    // Listing order, quote excluded.
    assert_eq!(tokens, vec![weth.address(), wbtc.address()]);
    assert_eq!(amounts, vec![wad(3), U256::from(10_000_000_000u64)]);
    assert_eq!(
        configs,
        vec![
            vault.sender(engine).asset_config(weth.address()),
            vault.sender(engine).asset_config(wbtc.address())
        ]
    );
    let types::AccountState {
        authorized: auth, ..
    } = vault
        .sender(engine)
        .get_account_state(a, owner)
        .motsu_unwrap();
    assert!(!auth);
    // The zero address (what views pass) is never authorised; the account owner is.
    let types::AccountState {
        authorized: auth, ..
    } = vault
        .sender(engine)
        .get_account_state(a, Address::ZERO)
        .motsu_unwrap();
    assert!(!auth);
    assert!(!vault
        .sender(engine)
        .is_authorized(a, Address::ZERO)
        .motsu_unwrap());
    let types::AccountState {
        authorized: auth, ..
    } = vault
        .sender(engine)
        .get_account_state(a, alice)
        .motsu_unwrap();
    assert!(auth);
    let e = vault
        .sender(engine)
        .get_account_state(U256::from(2), bob)
        .motsu_unwrap_err();
    assert!(matches!(e, Error::UnknownAccount(e) if e.account == U256::from(2)));
}

#[motsu::test]
fn socialise_scales_positive_cash_only_and_keeps_the_ledger(
    vault: Contract<CollateralVault>,
    usdc: Contract<TestToken>,
    weth: Contract<TestToken>,
    owner: Address,
    engine: Address,
    alice: Address,
) {
    let a = standard(&vault, &usdc, &weth, owner, engine, alice);
    let b = vault.sender(alice).open_account();
    fund(&vault, &usdc, alice, a, units(1_000, 6));
    let v = || vault.sender(engine);
    v().adjust_cash(b, i(-100 * WAD as i128), reason::DEFICIT)
        .motsu_unwrap();
    let one = U256::from(WAD);
    assert_eq!(v().socialisation(), (one, i(1_000 * WAD as i128)));
    // Bounds: the index only falls, never below 1e-6; absorbed is not negative.
    let before = snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]);
    for (index, absorbed) in [
        (one, i(1)),
        (one + U256::from(1u8), i(1)),
        (U256::from(WAD / 1_000_000 - 1), i(1)),
        (one / U256::from(2u8), i(-1)),
    ] {
        let e = v().socialise(index, absorbed).motsu_unwrap_err();
        assert!(
            matches!(e, Error::ValueOutOfBounds(ref e) if e.which == which::SOCIALISATION
                && e.value == index && e.bound == one),
            "{e:?}"
        );
    }
    assert_eq!(snapshot(&vault, &[a, b], &[&usdc, &weth], &[alice]), before);
    // Half of positive cash socialised: a keeps half, b's debt is untouched.
    let total = v().total_cash();
    v().socialise(one / U256::from(2u8), i(500 * WAD as i128))
        .motsu_unwrap();
    vault.assert_emitted(&CashSocialised {
        absorbed: i(500 * WAD as i128),
        index: one / U256::from(2u8),
    });
    assert_eq!(v().cash_of(a), i(500 * WAD as i128));
    assert_eq!(v().cash_of(b), i(-100 * WAD as i128));
    // getAccountState reads cash the same way (positive through the index, debt as is).
    assert_eq!(
        v().get_account_state(a, alice).motsu_unwrap().cash,
        i(500 * WAD as i128)
    );
    assert_eq!(
        v().get_account_state(b, alice).motsu_unwrap().cash,
        i(-100 * WAD as i128)
    );
    assert_eq!(v().total_cash(), total - i(500 * WAD as i128));
    assert_eq!(
        v().net_cash_adjustment(reason::DEFICIT),
        i(-600 * WAD as i128)
    );
    // Writes after socialisation are exact at this index: a transfer moves what it says.
    v().transfer_cash(a, b, i(200 * WAD as i128)).motsu_unwrap();
    assert_eq!(v().cash_of(a), i(300 * WAD as i128));
    assert_eq!(v().cash_of(b), i(100 * WAD as i128));
    assert_eq!(
        v().socialisation(),
        (one / U256::from(2u8), i(400 * WAD as i128))
    );
    // Only the engine or the keeper.
    let e = vault
        .sender(alice)
        .socialise(one / U256::from(4u8), i(1))
        .motsu_unwrap_err();
    assert!(matches!(e, Error::CallerNotEngineOrKeeper(_)));
}
