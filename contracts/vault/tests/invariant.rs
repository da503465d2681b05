//! Property test: random sequences of deposits, withdrawals, collateral and
//! cash moves, ledger entries, liquidation fractions, freezes and plain
//! donations, with the vault's invariants checked after every step:
//!
//! - per collateral token: the sum of the accounts' balances equals
//!   `totalDeposits`, which equals the vault's token balance (in WAD) less the
//!   tokens sent to it without a deposit;
//! - for the quote asset: `totalDeposits` equals the vault's quote balance (in
//!   WAD) less donations, and the sum of all cash equals `totalCash`, which
//!   equals quote deposits less quote withdrawals plus the net of every
//!   `adjustCash` entry (tracked independently here and by the vault per
//!   reason).
//!
//! A small deterministic PRNG drives it, so a failure reproduces from its seed.
extern crate alloc;

mod common;

use alloy_primitives::{Address, I256, U256};
use common::*;
use margin_vault::*;
use motsu::prelude::*;

/// xorshift64*: deterministic, good enough to explore sequences.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A value spread over many magnitudes: `rand % 10^k` for a random k
    /// in 0..=max_digits.
    fn magnitude(&mut self, max_digits: u32) -> u128 {
        let k = self.below(u64::from(max_digits) + 1) as u32;
        let m = 10u128.pow(k);
        (u128::from(self.next()) << 64 | u128::from(self.next())) % m.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const STEPS: usize = 400;

#[allow(clippy::too_many_arguments)]
fn run(
    seed: u64,
    vault: &Contract<CollateralVault>,
    usdc: &Contract<TestToken>,
    weth: &Contract<TestToken>,
    wbtc: &Contract<TestToken>,
    usdt: &Contract<NoReturnToken>,
    owner: Address,
    engine: Address,
    users: [Address; 3],
) {
    real_decimals(usdc, 6);
    real_decimals(weth, 18);
    real_decimals(wbtc, 8);
    usdt.sender(owner).set_decimals(6);
    setup(
        vault,
        owner,
        engine,
        usdc.address(),
        &[weth.address(), wbtc.address(), usdt.address()],
    );
    let tokens: [(&dyn TokenHandle, u8); 4] = [(usdc, 6), (weth, 18), (wbtc, 8), (usdt, 6)];
    let big = U256::from(1u128 << 100);
    for u in users {
        for (t, _) in tokens {
            t.mint_to(u, big);
            t.approve_from(u, vault.address(), U256::MAX);
        }
    }
    let accounts: Vec<U256> = [0usize, 0, 1, 2]
        .iter()
        .map(|k| vault.sender(users[*k]).open_account())
        .collect();

    let mut rng = Rng(seed);
    let mut donations = [U256::ZERO; 4];
    let mut net_adjustments: i128 = 0;
    let mut successes = [0usize; 8];
    let mut failures = [0usize; 8];

    for step in 0..STEPS {
        let op = rng.below(8) as usize;
        // Mostly valid ids, sometimes an unknown one.
        let pick_account = |rng: &mut Rng| {
            if rng.chance(5) {
                U256::from(99)
            } else {
                accounts[rng.below(4) as usize]
            }
        };
        let a = pick_account(&mut rng);
        let b = pick_account(&mut rng);
        let ti = rng.below(4) as usize;
        let (token, decimals) = tokens[ti];
        let user = users[rng.below(3) as usize];
        let ok = match op {
            0 => {
                let amount = U256::from(rng.magnitude(u32::from(decimals) + 6));
                vault
                    .sender(user)
                    .deposit(a, token.addr(), amount)
                    .motsu_res()
                    .is_ok()
            }
            1 => {
                let balance = if ti == 0 {
                    let c = vault.sender(engine).cash_of(a);
                    if c.is_negative() {
                        U256::ZERO
                    } else {
                        c.into_raw()
                    }
                } else {
                    vault.sender(engine).balance_of(a, token.addr())
                };
                let amount = if rng.chance(70) && !balance.is_zero() {
                    // Up to the whole balance, dust included.
                    U256::from(rng.next()) % balance + U256::from(1)
                } else {
                    U256::from(rng.magnitude(24))
                };
                vault
                    .sender(engine)
                    .withdraw_to(a, token.addr(), amount, user)
                    .motsu_res()
                    .is_ok()
            }
            2 => {
                // A whole account taken (a liquidation of everything).
                vault
                    .sender(engine)
                    .move_fraction(a, b, U256::from(1_000_000_000_000_000_000u128))
                    .motsu_res()
                    .is_ok()
            }
            3 => {
                let m = rng.magnitude(24) as i128;
                let amount = if rng.chance(50) { -m } else { m };
                vault
                    .sender(engine)
                    .transfer_cash(a, b, I256::try_from(amount).unwrap())
                    .motsu_res()
                    .is_ok()
            }
            4 => {
                let m = rng.magnitude(22) as i128;
                let delta = if rng.chance(50) { -m } else { m };
                let reason = 1 + rng.below(4) as u8;
                let ok = vault
                    .sender(engine)
                    .adjust_cash(a, I256::try_from(delta).unwrap(), reason)
                    .motsu_res()
                    .is_ok();
                if ok {
                    net_adjustments += delta;
                }
                ok
            }
            5 => {
                let f = if rng.chance(10) {
                    U256::from(WAD + rng.below(3) as u128)
                } else {
                    U256::from(rng.next() as u128 % (WAD + 1))
                };
                vault
                    .sender(engine)
                    .move_fraction(a, b, f)
                    .motsu_res()
                    .is_ok()
            }
            6 => {
                let amount = U256::from(rng.magnitude(u32::from(decimals)));
                token.send(user, vault.address(), amount);
                donations[ti] += amount;
                true
            }
            _ => {
                let frozen = rng.chance(30);
                vault
                    .sender(engine)
                    .set_frozen(a, frozen)
                    .motsu_res()
                    .is_ok()
            }
        };
        if ok {
            successes[op] += 1;
        } else {
            failures[op] += 1;
        }
        check(
            vault,
            &tokens,
            &accounts,
            &donations,
            net_adjustments,
            seed,
            step,
        );
    }
    // The run exercised every operation, both ways where both are possible.
    for (op, n) in successes.iter().enumerate() {
        assert!(*n > 0, "seed {seed}: op {op} never succeeded");
    }
    for op in [0, 1, 2, 4, 5] {
        assert!(failures[op] > 0, "seed {seed}: op {op} never failed");
    }
}

fn check(
    vault: &Contract<CollateralVault>,
    tokens: &[(&dyn TokenHandle, u8); 4],
    accounts: &[U256],
    donations: &[U256; 4],
    net_adjustments: i128,
    seed: u64,
    step: usize,
) {
    let v = || vault.sender(Address::ZERO);
    let ctx = format!("seed {seed} step {step}");
    for (ti, (token, decimals)) in tokens.iter().enumerate() {
        let t = token.addr();
        let held = token.token_balance(vault.address()) - donations[ti];
        let held_wad = held * U256::from(10u8).pow(U256::from(18 - decimals));
        let total = v().total_deposits(t);
        assert_eq!(total, held_wad, "{ctx}: token {ti} total vs holdings");
        if ti == 0 {
            continue;
        }
        let sum = accounts
            .iter()
            .fold(U256::ZERO, |s, a| s + v().balance_of(*a, t));
        assert_eq!(sum, total, "{ctx}: token {ti} balances vs total");
        // The one-call read agrees with the per-token views.
        for a in accounts {
            let margin_vault::types::AccountState {
                tokens: ts,
                amounts,
                configs,
                ..
            } = v().get_account_state(*a, Address::ZERO).unwrap();
            let here = ts.iter().position(|x| *x == t);
            match here {
                Some(k) => {
                    assert_eq!(amounts[k], v().balance_of(*a, t), "{ctx}");
                    assert_eq!(configs[k], v().asset_config(t), "{ctx}");
                }
                None => assert!(v().balance_of(*a, t).is_zero(), "{ctx}"),
            }
            assert!(amounts.iter().all(|x| !x.is_zero()), "{ctx}");
        }
    }
    let quote_total = v().total_deposits(tokens[0].0.addr());
    let sum_cash = accounts.iter().fold(I256::ZERO, |s, a| s + v().cash_of(*a));
    // The run uses reasons 1 to 4; the last step checks all 256.
    let reasons = if step + 1 == STEPS {
        0..=255u8
    } else {
        0..=5u8
    };
    let by_reason = reasons.fold(I256::ZERO, |s, r| s + v().net_cash_adjustment(r));
    assert_eq!(
        sum_cash,
        v().total_cash(),
        "{ctx}: sum of cash vs totalCash"
    );
    assert_eq!(
        sum_cash,
        I256::from_raw(quote_total) + I256::try_from(net_adjustments).unwrap(),
        "{ctx}: cash vs quote deposits + adjustments"
    );
    assert_eq!(
        by_reason,
        I256::try_from(net_adjustments).unwrap(),
        "{ctx}: per-reason ledger"
    );
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

macro_rules! seeds {
    ($($name:ident = $seed:expr;)*) => {$(
        #[motsu::test]
        #[allow(clippy::too_many_arguments)]
        fn $name(
            vault: Contract<CollateralVault>,
            usdc: Contract<TestToken>,
            weth: Contract<TestToken>,
            wbtc: Contract<TestToken>,
            usdt: Contract<NoReturnToken>,
            owner: Address,
            engine: Address,
            alice: Address,
            bob: Address,
            carol: Address,
        ) {
            // motsu 0.10 keeps every test's storage in shared maps and panics
            // after ~10 ms of lock contention ("storage is locked"); these
            // long tests run one at a time so they never contend.
            let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
            run($seed, &vault, &usdc, &weth, &wbtc, &usdt, owner, engine, [alice, bob, carol]);
        }
    )*};
}

seeds! {
    invariants_hold_over_random_operations_seed_1 = 0x9E37_79B9_7F4A_7C15;
    invariants_hold_over_random_operations_seed_2 = 0xD1B5_4A32_D192_ED03;
    invariants_hold_over_random_operations_seed_3 = 0x0123_4567_89AB_CDEF;
}
