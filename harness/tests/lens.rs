//! The RiskLens on the real WASM, on seeded random books: its per-account views agree with
//! the vault's records and the deposits made (including ids no account has, the quote
//! asset and an unlisted token), and its scan agrees with its per-account views, before
//! and after a crash makes accounts liquidatable and one is frozen by its auction.

use margin_books::Rng;
use margin_harness::abi::{ICollateralVault as V, IRiskLens as L};
use margin_harness::system::*;
use margin_wasm_env::{Address, U256};

fn owner_of(i: u64) -> Address {
    Address::repeat_byte(0x10 + i as u8)
}

/// Every per-account view of the lens against what the test did, and the scan against the
/// per-account views.
fn check(s: &mut System, owners: &[(U256, Address, u128)], frozen: &[U256]) {
    let unlisted = Address::repeat_byte(0x99);
    let count = owners.len() as u64;
    for a in 0..count + 3 {
        let account = U256::from(a);
        let known = owners.iter().find(|(id, ..)| *id == account);
        let weth = s
            .read(
                s.lens,
                &L::balanceOfCall {
                    account,
                    token: s.weth,
                },
            )
            ._0;
        assert_eq!(
            weth,
            known.map_or(U256::ZERO, |k| weth_units(k.2)),
            "balanceOf({a}, WETH)"
        );
        for token in [s.usdc, unlisted] {
            let b = s.read(s.lens, &L::balanceOfCall { account, token })._0;
            assert_eq!(b, U256::ZERO, "balanceOf({a}, {token})");
        }
        let is_frozen = s.read(s.lens, &L::isFrozenCall { account })._0;
        assert_eq!(is_frozen, frozen.contains(&account), "isFrozen({a})");
        match known {
            Some((_, owner, _)) => {
                assert_eq!(s.read(s.lens, &L::ownerOfCall { account })._0, *owner);
                // The same as the vault's own record, with the actor's authorisation.
                let state = s
                    .read(
                        s.vault,
                        &V::getAccountStateCall {
                            account,
                            actor: *owner,
                        },
                    )
                    ._0;
                assert_eq!(
                    (state.owner, state.frozen, state.authorized),
                    (*owner, is_frozen, true)
                );
            }
            None => {
                let out = s.view(s.lens, &L::ownerOfCall { account }).unwrap_err();
                let e = out
                    .revert_as::<V::UnknownAccount>()
                    .expect("UnknownAccount");
                assert_eq!(e.account, account);
            }
        }
    }
    let scan = s
        .read(
            s.lens,
            &L::scanCall {
                first: U256::ZERO,
                count: U256::from(100u8),
            },
        )
        ._0;
    let mut expected = Vec::new();
    for (id, ..) in owners {
        if s.position_count(*id) > 0 {
            expected.push(*id);
        }
    }
    assert_eq!(
        scan.accounts, expected,
        "scan lists the accounts holding positions"
    );
    for (k, id) in scan.accounts.iter().enumerate() {
        let r = s.risk(*id);
        assert_eq!(
            (int(scan.equity[k]), int(scan.mm[k])),
            (r.equity, r.mm),
            "{id}"
        );
        let health = s.read(s.lens, &L::healthCall { account: *id })._0;
        assert_eq!(int(health), r.mm_surplus(), "{id}");
        assert_eq!(scan.liquidatable[k], s.is_liquidatable(*id), "{id}");
    }
}

fn int(x: margin_wasm_env::I256) -> i128 {
    i128::try_from(x).expect("fits i128")
}

#[test]
fn lens_views_agree_with_the_vault_and_with_each_other_on_random_books() {
    let mut auctions = 0;
    for seed in [11u64, 12, 13] {
        let mut r = Rng(seed);
        let mut s = System::deploy(SystemConfig::default());
        let expiry = s.expiries()[0];
        let puts: Vec<U256> = [1_600, 1_800, 2_000]
            .iter()
            .map(|k| s.list(Kind::Put, wad(*k), expiry))
            .collect();
        let insurance = s.setup_insurance(Address::repeat_byte(0x1F), 100_000);
        let mut owners = vec![(insurance, Address::repeat_byte(0x1F), 0u128)];
        let n = 3 + r.below(4) as u64;
        for i in 0..n {
            let (usdc, weth) = (r.below(3) as u128 * 20_000, r.below(4) as u128);
            let id = s.new_account(owner_of(i), usdc, weth);
            owners.push((id, owner_of(i), weth));
        }
        // Random short puts from accounts with collateral to the insurance-free buyers.
        let buyer = s.new_account(Address::repeat_byte(0xB7), 1_000_000, 0);
        owners.push((buyer, Address::repeat_byte(0xB7), 0));
        for _ in 0..8 {
            let seller = owners[1 + r.below(n as usize)].0;
            let put = r.pick(&puts);
            let fair = s.quote(put).0.max(WAD / 100);
            s.trade(buyer, seller, put, wad(1 + r.below(3) as i128), fair);
        }
        check(&mut s, &owners, &[]);
        // A crash: some sellers fall under MM; a keeper starts the auction of the first.
        s.set_price(wad(900));
        check(&mut s, &owners, &[]);
        let under = owners.iter().map(|o| o.0).find(|id| s.is_liquidatable(*id));
        if let Some(id) = under {
            let out = s.start_liquidation(Address::repeat_byte(0x4B), id, insurance);
            assert!(out.success, "{}", s.why(&out));
            check(&mut s, &owners, &[id]);
            auctions += 1;
        }
    }
    assert!(
        auctions > 0,
        "no seed reached an auction: the frozen case went untested"
    );
}

/// The lens's `assetConfig` names the fields of the word the vault stores (for every
/// listed token and an unlisted one), and `packAssetConfig` gives that word back, on the
/// real WASM; a field out of bounds is refused with its position in the struct.
#[test]
fn lens_asset_config_views_agree_with_the_vaults_word() {
    let mut s = System::deploy(SystemConfig::default());
    for token in [s.usdc, s.weth, Address::repeat_byte(0x99)] {
        let word = s.read(s.vault, &V::assetConfigCall { token })._0;
        let named = s.read(s.lens, &L::assetConfigCall { token })._0;
        let core = stylus_margin::collateral::AssetConfig::unpack(word.to_be_bytes());
        assert_eq!(
            (
                named.underlying,
                named.decimals,
                named.enabled,
                named.isQuote,
                named.riskOffsetting,
                named.haircutFloorPpm,
                named.volMultiplierPpm,
                named.haircutMaxPpm,
                named.liquidityDepth,
            ),
            (
                core.underlying,
                core.decimals,
                core.enabled,
                core.is_quote,
                core.risk_offsetting,
                core.haircut_floor_ppm,
                core.vol_multiplier_ppm,
                core.haircut_max_ppm,
                core.liquidity_depth,
            ),
            "{token}"
        );
        if word.is_zero() {
            continue; // unlisted: a zero word is not a valid configuration
        }
        let packed = s
            .read(
                s.lens,
                &L::packAssetConfigCall {
                    config: named.clone(),
                },
            )
            ._0;
        assert_eq!(packed, word, "{token}");
        let bad = L::AssetConfig {
            haircutMaxPpm: 1_000_001,
            ..named
        };
        let out = s
            .view(s.lens, &L::packAssetConfigCall { config: bad })
            .unwrap_err();
        let e = out
            .revert_as::<L::ParameterOutOfBounds>()
            .expect("ParameterOutOfBounds");
        assert_eq!(
            (e.which, e.value),
            (7, margin_wasm_env::I256::try_from(1_000_001).unwrap())
        );
    }
}
