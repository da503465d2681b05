//! Issue 17 (one evaluation per trade and per withdrawal), on the real WASM: the engine evaluates the two
//! accounts of a trade once, after it, and asks the reader for an account's standing
//! before the trade (`checkBefore`: the book with the trade taken out) only when the
//! account fails IM after it. That is sound only if `checkBefore` gives exactly what
//! `check` gave before the trade, for every kind of fill: options and futures, opening,
//! adding, reducing, closing, flipping, with and without fees, by the fee account
//! itself. Random trades between six accounts, with price moves so that accounts fall
//! under IM and trade their way back:
//! 1. `checkBefore` with what the views show the trade added (position size and entry,
//!    cash) equals `check` before the trade, word for word;
//! 2. the core's `instrument::trade_added` (what the engine sends) equals what the views
//!    show, from the registry's `TradeApplied` realised amounts;
//! 3. a trade that went through satisfies the post-action rule judged with the true
//!    standing before (`margin::verdict`, what the engine checked when it evaluated both
//!    accounts before and after every trade), including trades that left an account under
//!    IM (risk-reducing ones); a refusal for margin carries equity below the requirement.
//!
//! 4. `checkAfter` (what the engine asks after a trade while not paused) answers each
//!    account either word for word as `check`, or from the bound: the same flags and
//!    equities, MM and IM at least `check`'s, passing both (so `check` passes too).
//!
//! `TRADE_UNDO_OPS` (default 150) trades per seed, `TRADE_UNDO_SEEDS` (default two).

use margin_books::{wad as fwad, Rng};
use margin_harness::abi::{IPositionRegistry as R, IRiskEngine as E, IRiskReader as RR};
use margin_harness::system::*;
use margin_wasm_env::{Address, I256, U256};
use stylus_margin::{
    instrument,
    margin::{self, Standing, Verdict},
};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn int(v: I256) -> i128 {
    i128::try_from(v).expect("int128")
}

/// `check([account], 0)` words.
fn check_words(s: &mut System, account: U256) -> Vec<U256> {
    s.read(
        s.reader,
        &RR::checkCall {
            accounts: vec![account],
            actor: Address::ZERO,
        },
    )
    ._0
}

/// `checkAfter([account], 0)` words.
fn check_after_words(s: &mut System, account: U256) -> Vec<U256> {
    s.read(
        s.reader,
        &RR::checkAfterCall {
            accounts: vec![account],
            actor: Address::ZERO,
        },
    )
    ._0
}

/// Equities and requirements of 6 `check` words (failed reading: word 1 non-zero).
fn standing(w: &[U256]) -> (Standing, bool) {
    let i = |k: usize| int(I256::from_raw(w[k]));
    (
        Standing {
            equity: i(2),
            equity_im: i(3),
            mm: i(4),
            im: i(5),
        },
        !w[1].is_zero(),
    )
}

struct Seen {
    trades: u64,
    refused_for_margin: u64,
    under_im_after: u64,
    futures: u64,
    closes: u64,
    flips: u64,
    fee_account_trades: u64,
    /// Post-trade standings `checkAfter` answered from the bound, and exactly.
    by_bound: u64,
    exact_after: u64,
}

fn run(seed: u64, ops: usize, seen: &mut Seen) {
    let mut s = System::deploy(SystemConfig::default());
    let mut rng = Rng(seed);
    let owners: Vec<Address> = (0..6).map(|i| Address::repeat_byte(0x20 + i)).collect();
    let accounts: Vec<U256> = owners
        .iter()
        .enumerate()
        .map(|(i, &o)| s.new_account(o, 3_000 + 25_000 * (i as u128 % 3), (i % 2) as u128))
        .collect();
    // The last account also collects the fees (and trades).
    let fee_account = accounts[5];
    let out = s.admin(
        s.engine,
        &E::setFeeAccountCall {
            account: fee_account,
        },
    );
    assert!(out.success, "{}", s.why(&out));
    let expiries = s.expiries();
    let mut ids = Vec::new();
    for &e in expiries.iter().take(2) {
        for (kind, strike) in [
            (Kind::Put, 1_800),
            (Kind::Put, 1_500),
            (Kind::Call, 2_200),
            (Kind::Call, 2_600),
            (Kind::Future, 0),
        ] {
            ids.push((s.list(kind, wad(strike), e), kind));
        }
    }
    let mut eth = 2_000.0_f64;
    for _ in 0..ops {
        if rng.chance(0.1) {
            eth *= 1.0 + 0.06 * rng.normal();
            eth = eth.clamp(1_000.0, 3_500.0);
            s.set_price(fwad(eth));
            s.refresh();
        }
        let b = rng.below(accounts.len());
        let mut k = rng.below(accounts.len() - 1);
        if k >= b {
            k += 1;
        }
        let (buyer, seller) = (accounts[b], accounts[k]);
        let (id, kind) = ids[rng.below(ids.len())];
        let (held, _) = s.position(buyer, id);
        // Sizes: fresh, or exactly closing / flipping the buyer's short.
        let size = if held < 0 && rng.chance(0.4) {
            if rng.chance(0.5) {
                seen.closes += 1;
                -held
            } else {
                seen.flips += 1;
                -held + fwad(rng.range(0.1, 3.0))
            }
        } else {
            fwad(rng.range(0.01, 8.0))
        };
        let fair = if kind == Kind::Future {
            fwad(eth)
        } else {
            s.quote(id).0
        };
        let price = (fair as f64 * rng.range(0.7, 1.3)) as i128;
        let price = if kind == Kind::Future {
            price.max(1)
        } else {
            price.max(0)
        };
        let fee = if rng.chance(0.3) {
            fwad(rng.range(0.0, 5.0))
        } else {
            0
        };

        let before: Vec<Vec<U256>> = [buyer, seller]
            .iter()
            .map(|a| check_words(&mut s, *a))
            .collect();
        let pos_before: Vec<(i128, i128)> =
            [buyer, seller].iter().map(|a| s.position(*a, id)).collect();
        let cash_before: Vec<i128> = [buyer, seller].iter().map(|a| s.cash(*a)).collect();
        let call = E::tradeCall {
            buyer,
            seller,
            instrument: id,
            size: I256::try_from(size).unwrap(),
            price: I256::try_from(price).unwrap(),
            fee: I256::try_from(fee).unwrap(),
        };
        let out = s.send(s.market, s.engine, &call);
        if !out.success {
            if let Some(e) = out.revert_as::<E::InsufficientMargin>() {
                seen.refused_for_margin += 1;
                assert!(
                    e.equity < e.requirement,
                    "refused with equity {} >= requirement {}",
                    e.equity,
                    e.requirement
                );
            }
            continue;
        }
        seen.trades += 1;
        if kind == Kind::Future {
            seen.futures += 1;
        }
        let applied = out.events_from::<R::TradeApplied>(s.registry);
        assert_eq!(applied.len(), 1);
        let realized = [
            int(applied[0].buyerRealized),
            int(applied[0].sellerRealized),
        ];
        for (side, account) in [buyer, seller].into_iter().enumerate() {
            let pos = s.position(account, id);
            let cash = s.cash(account);
            let added = (
                pos.0 - pos_before[side].0,
                pos.1 - pos_before[side].1,
                cash - cash_before[side],
            );
            // 2. What the engine sends is what the trade added. The engine's net fee: the
            // fee account pays itself nothing and receives the other side's fee.
            let paid = if account == fee_account { -fee } else { fee };
            if account == fee_account && fee > 0 {
                seen.fee_account_trades += 1;
            }
            let core = instrument::trade_added(kind, side == 0, size, price, realized[side], paid)
                .unwrap();
            assert_eq!(
                core, added,
                "seed {seed:#x}: trade_added vs the views, side {side}"
            );
            // 1. The standing before, rebuilt from the book after.
            let rebuilt = s
                .read(
                    s.reader,
                    &RR::checkBeforeCall {
                        account,
                        // The documented layout: instrument, size, entry, cash.
                        undo: vec![
                            id,
                            I256::try_from(added.0).unwrap().into_raw(),
                            I256::try_from(added.1).unwrap().into_raw(),
                            I256::try_from(added.2).unwrap().into_raw(),
                        ],
                    },
                )
                ._0;
            assert_eq!(
                rebuilt, before[side],
                "seed {seed:#x}: checkBefore vs check before"
            );
            // 3. The post-action rule with the true standing before.
            let (b_st, _) = standing(&before[side]);
            let after_words = check_words(&mut s, account);
            let (a_st, failed) = standing(&after_words);
            if a_st.im_surplus() < 0 {
                seen.under_im_after += 1;
            }
            // 4. What the engine asked after the trade.
            let quick = check_after_words(&mut s, account);
            if quick == after_words {
                seen.exact_after += 1;
            } else {
                seen.by_bound += 1;
                assert_eq!(quick[..2], after_words[..2], "seed {seed:#x}: flags");
                let (q, _) = standing(&quick);
                assert!(
                    q.mm_surplus() >= 0
                        && q.im_surplus() >= 0
                        && q.mm >= a_st.mm
                        && q.im >= a_st.im,
                    "seed {seed:#x}: checkAfter {q:?} vs check {a_st:?}"
                );
                assert_eq!((q.equity, q.equity_im), (a_st.equity, a_st.equity_im));
                assert!(a_st.mm_surplus() >= 0 && a_st.im_surplus() >= 0);
            }
            let v = margin::verdict(&b_st, &a_st, failed, false);
            assert_eq!(
                v,
                Verdict::Allowed,
                "seed {seed:#x}: a trade went through: {v:?}"
            );
        }
    }
}

#[test]
fn check_before_rebuilds_the_standing_before_every_kind_of_trade() {
    let ops: usize = env_or("TRADE_UNDO_OPS", "150").parse().unwrap();
    let seeds: Vec<u64> = env_or("TRADE_UNDO_SEEDS", "7A0E,7A0F")
        .split(',')
        .map(|x| u64::from_str_radix(x.trim(), 16).unwrap())
        .collect();
    let mut seen = Seen {
        trades: 0,
        refused_for_margin: 0,
        under_im_after: 0,
        futures: 0,
        closes: 0,
        flips: 0,
        fee_account_trades: 0,
        by_bound: 0,
        exact_after: 0,
    };
    for seed in seeds {
        run(seed, ops, &mut seen);
    }
    eprintln!(
        "trades {} (futures {}, closes {}, flips {}, by the fee account {}), refused for margin {}, accounts under IM after a trade that went through {}, checkAfter from the bound {} / exact {}",
        seen.trades,
        seen.futures,
        seen.closes,
        seen.flips,
        seen.fee_account_trades,
        seen.refused_for_margin,
        seen.under_im_after,
        seen.by_bound,
        seen.exact_after
    );
    assert!(seen.trades > 50 && seen.futures > 5 && seen.closes > 3 && seen.flips > 3);
    assert!(seen.by_bound > 10 && seen.exact_after > 10);
    assert!(seen.refused_for_margin > 3 && seen.under_im_after > 0);
}

/// Withdrawals, the same way: `checkBefore` with what the vault paid (its
/// `Withdrawn` token amount) equals `check` before the withdrawal, word for word, for
/// cash (USDC, 6 decimals: the debit is the paid amount in 18 decimals, less than asked),
/// WETH in part and the whole WETH balance (the entry comes back with its config); a
/// withdrawal that went through satisfies the rule with the true standing before.
#[test]
fn check_before_withdrawal_rebuilds_the_standing_before_every_withdrawal() {
    let ops: usize = env_or("TRADE_UNDO_OPS", "150").parse().unwrap();
    let mut s = System::deploy(SystemConfig::default());
    let mut rng = Rng(0x3D1_7D2A);
    let owners: Vec<Address> = (0..4).map(|i| Address::repeat_byte(0x40 + i)).collect();
    let accounts: Vec<U256> = owners.iter().map(|&o| s.new_account(o, 8_000, 3)).collect();
    let buyer = s.new_account(Address::repeat_byte(0x4F), 5_000_000, 0);
    let expiry = s.expiries()[0];
    let put = s.list(Kind::Put, wad(1_800), expiry);
    let call = s.list(Kind::Call, wad(2_200), expiry);
    let (mut went, mut refused, mut whole, mut eth) = (0, 0, 0, 2_000.0_f64);
    for i in 0..ops {
        let k = rng.below(accounts.len());
        let (owner, account) = (owners[k], accounts[k]);
        if rng.chance(0.3) {
            // Positions, so that withdrawals meet IM.
            let id = if rng.chance(0.5) { put } else { call };
            let fair = s.quote(id).0;
            let _ = s.trade(buyer, account, id, fwad(rng.range(0.5, 3.0)), fair);
        }
        if rng.chance(0.15) {
            eth = (eth * (1.0 + 0.05 * rng.normal())).clamp(1_200.0, 3_000.0);
            s.set_price(fwad(eth));
            s.refresh();
        }
        let before = check_words(&mut s, account);
        let (token, amount) = if rng.chance(0.5) {
            // Cash, with digits below USDC's 6 decimals.
            (
                s.usdc,
                U256::from(fwad(rng.range(1.0, 6_000.0)) as u128 + 123_456),
            )
        } else {
            let held = s.collateral(account, s.weth);
            if held.is_zero() {
                continue;
            }
            if rng.chance(0.3) {
                whole += 1;
                (s.weth, held)
            } else {
                (
                    s.weth,
                    held * U256::from(rng.below(90) + 5) / U256::from(100u8),
                )
            }
        };
        let out = s.withdraw(owner, account, token, amount, owner);
        if !out.success {
            if out.revert_as::<E::InsufficientMargin>().is_some() {
                refused += 1;
            }
            continue;
        }
        went += 1;
        let sent = out.decode::<E::withdrawCall>()._0;
        let rebuilt = s
            .read(
                s.reader,
                &RR::checkBeforeCall {
                    account,
                    // The documented layout of a withdrawal: token, units paid.
                    undo: vec![U256::from_be_bytes(token.into_word().0), sent],
                },
            )
            ._0;
        assert_eq!(
            rebuilt, before,
            "withdrawal {i}: checkBefore vs check before"
        );
        let (b_st, _) = standing(&before);
        let (a_st, failed) = standing(&check_words(&mut s, account));
        let v = margin::verdict(&b_st, &a_st, failed, false);
        assert_eq!(v, Verdict::Allowed, "withdrawal {i} went through: {v:?}");
    }
    eprintln!("withdrawals {went} (whole WETH balance {whole}), refused for margin {refused}");
    assert!(
        went > 20 && refused > 5 && whole > 3,
        "{went} {refused} {whole}"
    );
}
