//! Issue 16, design point: the guardian's pause blocks new risk, lapses after 7 days unless
//! renewed, and never traps a healthy account's collateral, on the real WASM.

use margin_harness::abi::IRiskEngine as E;
use margin_harness::system::*;
use margin_wasm_env::{Address, U256};

fn ok(s: &System, what: &str, out: &margin_wasm_env::Outcome) {
    assert!(out.success, "{what}: {}", s.why(out));
}

#[test]
fn a_pause_lapses_unless_renewed_and_healthy_accounts_withdraw_through_it() {
    let mut s = System::deploy(SystemConfig::default());
    let expiry = s.expiries()[0];
    let put = s.list(Kind::Put, wad(1_800), expiry);
    let bob = Address::repeat_byte(0xB0);
    let seller = s.new_account(bob, 0, 10);
    let buyer = s.new_account(Address::repeat_byte(0xCA), 100_000, 0);
    let out = s.trade(buyer, seller, put, wad(2), wad(40));
    ok(&s, "trade", &out);

    let out = s.set_paused(true);
    ok(&s, "pause", &out);
    let ev = out.events_from::<E::PausedSet>(s.engine);
    assert!(ev[0].paused);
    assert_eq!(ev[0].until, s.now() + 7 * DAY);
    let out = s.trade(buyer, seller, put, wad(1), wad(40));
    assert!(
        out.revert_as::<E::RiskPaused>().is_some(),
        "{}",
        s.why(&out)
    );

    // Withdrawals: one that leaves the seller under twice its IM waits; one that leaves it
    // well above IM goes through.
    let weth = s.weth;
    let out = s.withdraw(
        bob,
        seller,
        weth,
        U256::from((wad(9) + wad(1) / 2) as u128),
        bob,
    );
    assert!(
        out.revert_as::<E::RiskPaused>().is_some(),
        "{}",
        s.why(&out)
    );
    let out = s.withdraw(bob, seller, weth, U256::from(wad(1) as u128), bob);
    ok(&s, "healthy withdrawal", &out);
    let r = s.risk(seller);
    assert!(r.equity_im >= 2 * r.im, "{r:?}");

    // Six days on, renewed: paused for seven days from the renewal.
    s.advance(6 * DAY);
    s.refresh();
    let out = s.set_paused(true);
    ok(&s, "renew", &out);
    s.advance(2 * DAY);
    s.refresh();
    let out = s.trade(buyer, seller, put, wad(1), wad(40));
    assert!(
        out.revert_as::<E::RiskPaused>().is_some(),
        "{}",
        s.why(&out)
    );
    // Seven days after the renewal it has lapsed: new risk goes through, nobody unpaused.
    s.advance(5 * DAY + 1);
    s.refresh();
    assert!(!s.read(s.engine, &E::pausedCall {})._0);
    let out = s.trade(buyer, seller, put, wad(1), wad(40));
    ok(&s, "trade after the lapse", &out);
}
