//! The seven real contracts end to end, through their deployable WASM and the generated
//! interfaces in `abi/`, on the harness `margin_wasm_env::system`, with time moving.

use margin_wasm_env::system::*;
use margin_wasm_env::{Address, U256};

fn alice() -> Address {
    Address::repeat_byte(0xA1)
}
fn bob() -> Address {
    Address::repeat_byte(0xB0)
}

#[test]
fn deploys_wires_and_trades() {
    let mut s = System::deploy(SystemConfig::default());
    for (name, c) in &s.constructors {
        println!(
            "{name}: constructor gas {:?}",
            c.as_ref().map(|o| o.gas_used)
        );
    }
    let expiry = s.expiries()[0];
    let put = s.list(Kind::Put, wad(1_800), expiry);
    let seller = s.new_account(alice(), 0, 10);
    let buyer = s.new_account(bob(), 50_000, 0);
    let out = s.trade(buyer, seller, put, wad(2), wad(40));
    assert!(out.success, "{}", s.why(&out));
    println!("trade gas {}", out.gas_used);
    assert_eq!(s.position(seller, put).0, -wad(2));
    assert_eq!(s.cash(seller), wad(80));
    let r = s.risk(seller);
    println!("{r:?}");
    assert!(r.mm > 0 && r.im > r.mm);
    let _ = U256::ZERO;
}
