//! Issue 16, finding 2, on the real WASM: anyone can deposit dust of an asset into any
//! account; if that asset's feed is stale, the failed reading used to block the account's
//! liquidation. Now collateral whose underlying the account holds only as collateral, with
//! a failed reading, is valued at its last price with its largest haircut, and an account
//! under MM so is liquidatable; an account healthy at that haircut keeps the failure (a
//! stale feed alone never makes it liquidatable).

use margin_harness::abi::IKeeperModule as K;
use margin_harness::system::*;
use margin_wasm_env::{Address, U256};

fn alice() -> Address {
    Address::repeat_byte(0xA1)
}
fn bob() -> Address {
    Address::repeat_byte(0xB0)
}
fn carol() -> Address {
    Address::repeat_byte(0xCA)
}
fn dave() -> Address {
    Address::repeat_byte(0xDA)
}
fn keeper_bot() -> Address {
    Address::repeat_byte(0x4B)
}

/// Sells puts from `seller` to `buyer` at the reader's price, 2 at a time, until IM refuses.
fn sell_until_im(s: &mut System, buyer: U256, seller: U256, put: U256) {
    for _ in 0..400 {
        let fair = s.quote(put).0;
        if !s.trade(buyer, seller, put, wad(2), fair).success {
            return;
        }
    }
    panic!("IM never refused");
}

#[test]
fn dust_of_a_stale_collateral_does_not_shield_an_account_from_liquidation() {
    let mut s = System::deploy(SystemConfig::default());
    let expiry = s.expiries()[0];
    s.add_underlying(2, wad(60_000), OracleParams::default());
    let wbtc = s.list_collateral(
        "WBTC",
        8,
        2,
        AssetConfig {
            haircut_floor_ppm: 150_000,
            vol_multiplier_ppm: 1_000_000,
            haircut_max_ppm: 500_000,
            ..AssetConfig::default()
        },
    );
    let put = s.list(Kind::Put, wad(1_900), expiry);
    let buyer = s.new_account(carol(), 2_000_000, 0);
    let liq = s.new_account(keeper_bot(), 1_000_000, 0);
    // bob sells puts on 5,000 USDC up to IM; dave holds 1 WBTC and sells 10 puts.
    let seller = s.new_account(bob(), 5_000, 0);
    sell_until_im(&mut s, buyer, seller, put);
    let holder = s.new_account(dave(), 0, 0);
    let out = s.deposit(dave(), holder, wbtc, U256::from(100_000_000u64));
    assert!(out.success, "{}", s.why(&out));
    let fair = s.quote(put).0;
    let out = s.trade(buyer, holder, put, wad(10), fair);
    assert!(out.success, "{}", s.why(&out));

    // Two hours pass: ETH is fresh and 12% lower, BTC's feed publishes nothing (stale).
    s.advance(7_200);
    s.set_price(wad(1_760));
    let out = s.post_flat_surface(ETH, expiry, 65 * WAD / 100);
    assert!(out.success, "{}", s.why(&out));
    assert!(s.is_liquidatable(seller), "{:?}", s.risk(seller));

    // A stranger deposits one satoshi of WBTC into the seller's account.
    let out = s.deposit(alice(), seller, wbtc, U256::from(1u64));
    assert!(out.success, "dust deposit: {}", s.why(&out));
    assert_eq!(s.collateral(seller, wbtc), U256::from(10_000_000_000u64));
    // The account is still liquidatable, and a keeper starts its liquidation.
    assert!(s.is_liquidatable(seller), "{:?}", s.risk(seller));
    let out = s.start_liquidation(keeper_bot(), seller, liq);
    assert!(out.success, "startLiquidation: {}", s.why(&out));

    // dave's account, short puts against 1 WBTC, is healthy at WBTC's largest haircut
    // (50% of 60,000): the stale reading stands and its liquidation is refused with it.
    let r = s.risk(holder);
    assert!(r.mm > 0 && r.mm_surplus() > 0, "{r:?}");
    let out = s.start_liquidation(keeper_bot(), holder, liq);
    assert!(!out.success);
    let e = out
        .revert_as::<K::StaleOracle>()
        .unwrap_or_else(|| panic!("{}", s.why(&out)));
    assert_eq!(e.underlying, 2);
}
