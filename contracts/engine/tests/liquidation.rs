//! Liquidations, insurance, the deficit ledger and settlement prices through the
//! KeeperModule, the RiskOracle and the engine (motsu). Each test names the failure class
//! that audits found in anchor engines that it guards against.
//!
//! motsu's clock does not move, so every bid here happens at the auction's start
//! (discount = start discount); the discount curve over time is tested in the core
//! (`liquidation::tests`), and time-travel end to end comes with the WASM environment.
mod common;

use alloy_primitives::{aliases::U80, I256, U256};
use alloy_sol_types::SolError;
use common::*;
use margin_keeper::{
    AuctionAlreadyStarted, AuctionCannotEnd, AuctionNotStarted, LiquidatorUnderIM, NotLiquidatable,
    NotOwnerOrOperator, PriceAboveMax,
};
use margin_testkit::MockAggregator;
use motsu::prelude::*;
use stylus_margin::fixed::WAD;

fn sel<E: SolError>() -> [u8; 4] {
    E::SELECTOR
}

fn int(x: I256) -> i128 {
    i128::try_from(x).unwrap()
}

/// A seller short as many 2000 puts as IM allows on 10 WETH; a well-capitalised
/// liquidator; an insurance fund of 10,000 USDC.
struct Book {
    w: World,
    seller: U256,
    buyer: U256,
    liq: U256,
    fund: U256,
    put: U256,
    keeper_bot: alloy_primitives::Address,
    dave: alloy_primitives::Address,
    bob: alloy_primitives::Address,
}

fn book() -> Book {
    let w = World::new();
    let (bob, carol, dave) = (addr(0xb0), addr(0xca), addr(0xda));
    let put = w.put(2_000);
    w.list(put);
    let seller = w.account(bob, 0, 10);
    let buyer = w.account(carol, 500_000, 0);
    let mut sold = 0;
    while w.trade(buyer, seller, put, WAD, 150 * WAD).is_ok() {
        sold += 1;
        assert!(sold < 200);
    }
    assert!(sold > 10);
    let liq = w.account(dave, 2_000_000, 0);
    let fund = w.account(w.admin, 10_000, 0);
    w.keeper
        .sender(w.admin)
        .set_insurance_account(fund)
        .motsu_unwrap();
    Book {
        seller,
        buyer,
        liq,
        fund,
        put,
        keeper_bot: addr(0x4b),
        dave,
        bob,
        w,
    }
}

impl Book {
    fn start(&self) -> Result<(), Vec<u8>> {
        self.w
            .keeper
            .sender(self.keeper_bot)
            .start_liquidation(self.seller, self.liq)
            .motsu_res()
            .map_err(Vec::from)
    }
    fn bid(&self, portion: i128, max_price: i128) -> Result<(I256, I256), Vec<u8>> {
        self.w
            .keeper
            .sender(self.dave)
            .liquidate(self.seller, self.liq, u(portion as u128), i(max_price))
            .motsu_res()
            .map_err(Vec::from)
    }
    fn cash(&self, account: U256) -> i128 {
        int(self.w.vault.sender(self.w.admin).cash_of(account))
    }
    fn size(&self, account: U256) -> i128 {
        int(self
            .w
            .registry
            .sender(self.w.admin)
            .position_of(account, self.put)
            .0)
    }
    fn frozen(&self, account: U256) -> bool {
        self.w.vault.sender(self.w.admin).is_frozen(account)
            && self.w.registry.sender(self.w.admin).is_frozen(account)
    }
}

#[motsu::test]
fn start_needs_equity_below_mm_and_pays_a_bounded_bounty() {
    let b = book();
    let e = b.start().unwrap_err();
    assert_eq!(&e[..4], &sel::<NotLiquidatable>());
    b.w.set_spot(1_850, 0);
    let (equity, mm, _, _) = b.w.risk(b.seller);
    assert!(equity < mm && equity > 0, "equity {equity} mm {mm}");
    let (seller_cash, liq_cash) = (b.cash(b.seller), b.cash(b.liq));
    b.start().unwrap();
    // Bounty: min(0.5% x MM, 50 quote, equity) = 50 here.
    assert_eq!(b.cash(b.liq) - liq_cash, 50 * WAD);
    assert_eq!(seller_cash - b.cash(b.seller), 50 * WAD);
    assert!(b.frozen(b.seller));
    let e = b.start().unwrap_err();
    assert_eq!(&e[..4], &sel::<AuctionAlreadyStarted>());
}

#[motsu::test]
fn frozen_account_cannot_trade_withdraw_or_transfer_while_liquidated() {
    let b = book();
    b.w.set_spot(1_850, 0);
    b.start().unwrap();
    // Trading either way (even buying back, which reduces risk) is refused.
    for (buyer, seller) in [(b.buyer, b.seller), (b.seller, b.buyer)] {
        let e = b.w.trade(buyer, seller, b.put, WAD, 100 * WAD).unwrap_err();
        assert_eq!(&e[..4], &sel::<margin_engine::AccountFrozen>());
    }
    let e =
        b.w.engine
            .sender(b.bob)
            .withdraw(b.seller, b.w.weth.address(), u(E18), b.bob)
            .motsu_res()
            .map_err(Vec::from)
            .unwrap_err();
    assert_eq!(&e[..4], &sel::<margin_engine::AccountFrozen>());
    assert!(b
        .w
        .vault
        .sender(b.bob)
        .transfer_account(b.seller, addr(0x77))
        .motsu_res()
        .map_err(Vec::from)
        .is_err());
    // Deposits still work (they only reduce risk).
    b.w.usdc
        .sender(b.w.admin)
        .mint(b.bob, u(1_000_000))
        .motsu_unwrap();
    b.w.usdc
        .sender(b.bob)
        .approve(b.w.vault.address(), u(1_000_000))
        .motsu_unwrap();
    b.w.vault
        .sender(b.bob)
        .deposit(b.seller, b.w.usdc.address(), u(1_000_000))
        .motsu_unwrap();
}

#[motsu::test]
fn nobody_can_hand_positions_to_an_account_under_liquidation() {
    let b = book();
    b.w.set_spot(1_850, 0);
    b.start().unwrap();
    // A second account of the seller's, frozen too, cannot be named as a liquidator's
    // account to receive the positions back, and a market cannot push positions in.
    let e = b.w.trade(b.seller, b.buyer, b.put, WAD, WAD).unwrap_err();
    assert_eq!(&e[..4], &sel::<margin_engine::AccountFrozen>());
    let e =
        b.w.keeper
            .sender(b.bob)
            .liquidate(b.seller, b.seller, u(WAD as u128), i(i128::MAX))
            .motsu_res()
            .map_err(Vec::from)
            .unwrap_err();
    assert_eq!(&e[..4], &sel::<margin_keeper::PortionOutOfRange>());
    assert!(b.size(b.seller) < 0);
}

#[motsu::test]
fn bid_is_capped_by_the_close_factor_then_the_auction_ends() {
    let b = book();
    b.w.set_spot(1_850, 0);
    b.start().unwrap();
    let short = b.size(b.seller);
    let (f, price) = b.bid(WAD, i128::MAX).unwrap();
    let (f, price) = (int(f), int(price));
    assert!(f > 0 && f < WAD, "fraction {f}");
    // The liquidator took f of the puts (rounded toward the account), and paid.
    let taken = b.size(b.liq);
    assert!(taken < 0 && -taken <= -short);
    assert_eq!(b.size(b.seller) + taken, short);
    assert!(price != 0);
    // Back above MM x (1 + buffer): the auction can end, and unfreezes the account.
    let (equity, mm, _, _) = b.w.risk(b.seller);
    assert!(equity >= mm + mm / 10 - WAD, "equity {equity} mm {mm}");
    // Nothing more to take.
    let e = b.bid(WAD, i128::MAX).unwrap_err();
    assert_eq!(&e[..4], &sel::<NotLiquidatable>());
    b.w.keeper
        .sender(addr(0x99))
        .end_auction(b.seller)
        .motsu_unwrap();
    assert!(!b.frozen(b.seller));
    let e =
        b.w.keeper
            .sender(addr(0x99))
            .end_auction(b.seller)
            .motsu_res()
            .map_err(Vec::from)
            .unwrap_err();
    assert_eq!(&e[..4], &sel::<AuctionNotStarted>());
}

#[motsu::test]
fn bid_never_spends_more_than_max_price_and_failure_changes_nothing() {
    let b = book();
    b.w.set_spot(1_850, 0);
    b.start().unwrap();
    let margin_keeper::types::Auction {
        maxFraction: cap,
        price,
        ..
    } =
        b.w.keeper
            .sender(b.dave)
            .auction(b.seller, u(WAD as u128))
            .motsu_unwrap();
    assert!(int(cap) > 0);
    let (liq_cash, short) = (b.cash(b.liq), b.size(b.seller));
    let e = b.bid(WAD, int(price) - 1).unwrap_err();
    assert_eq!(&e[..4], &sel::<PriceAboveMax>());
    assert_eq!(b.cash(b.liq), liq_cash);
    assert_eq!(b.size(b.seller), short);
    // At exactly the quoted price it goes through, for that price.
    let (_, paid) = b.bid(WAD, int(price)).unwrap();
    assert_eq!(paid, price);
}

#[motsu::test]
fn auction_cannot_end_below_target_and_bids_need_an_auction() {
    let b = book();
    b.w.set_spot(1_850, 0);
    let e = b.bid(WAD, i128::MAX).unwrap_err();
    assert_eq!(&e[..4], &sel::<AuctionNotStarted>());
    b.start().unwrap();
    let e =
        b.w.keeper
            .sender(addr(0x99))
            .end_auction(b.seller)
            .motsu_res()
            .map_err(Vec::from)
            .unwrap_err();
    assert_eq!(&e[..4], &sel::<AuctionCannotEnd>());
    // A stranger cannot bid with someone else's account.
    let e =
        b.w.keeper
            .sender(addr(0x66))
            .liquidate(b.seller, b.liq, u(WAD as u128), i(i128::MAX))
            .motsu_res()
            .map_err(Vec::from)
            .unwrap_err();
    assert_eq!(&e[..4], &sel::<NotOwnerOrOperator>());
}

#[motsu::test]
fn insolvent_account_is_taken_whole_and_bad_debt_is_never_silent() {
    let b = book();
    b.w.set_spot(1_400, 0);
    let (equity, _, _, _) = b.w.risk(b.seller);
    assert!(equity < 0, "equity {equity}");
    b.start().unwrap();
    let fund_before = b.cash(b.fund);
    let (f, _) = b.bid(WAD / 4, i128::MAX).unwrap();
    // Insolvent: the close-factor cap is the whole account; a bid takes what it asks.
    assert_eq!(int(f), WAD / 4);
    let (f, _) = b.bid(WAD, i128::MAX).unwrap();
    assert_eq!(int(f), WAD);
    assert_eq!(b.size(b.seller), 0);
    assert_eq!(
        b.w.vault
            .sender(b.w.admin)
            .balance_of(b.seller, b.w.weth.address()),
        U256::ZERO
    );
    // The account's negative cash was covered by the fund, then the ledger.
    assert_eq!(b.cash(b.seller), 0);
    let deficit = int(b.w.keeper.sender(b.w.admin).deficit());
    let fund_after = b.cash(b.fund);
    assert!(fund_after < fund_before);
    assert!(fund_after == 0 || deficit == 0);
    assert_eq!(
        int(b.w.vault.sender(b.w.admin).net_cash_adjustment(3)),
        deficit
    );
    // Taken whole: the auction ended and the (empty) account is unfrozen.
    assert!(!b.frozen(b.seller));
}

#[motsu::test]
fn standing_deficit_is_socialised_once_under_the_owners_policy() {
    let b = book();
    // Deep insolvency: more bad debt than the 10,000 fund holds.
    b.w.set_spot(1_000, 0);
    b.start().unwrap();
    b.bid(WAD, i128::MAX).unwrap();
    assert_eq!(b.cash(b.fund), 0, "the fund paid all it had");
    let deficit = int(b.w.keeper.sender(b.w.admin).deficit());
    assert!(deficit > 0, "deficit {deficit}");
    socialise_the_standing_deficit(&b, deficit);
}

/// With the socialisation policy on, the liquidation that records a deficit socialises it
/// in the same transaction: nobody can withdraw positive cash between the two (issue 16,
/// socialisation front-running).
#[motsu::test]
fn with_the_policy_on_a_deficit_is_socialised_by_the_liquidation_that_records_it() {
    let b = book();
    b.w.keeper
        .sender(b.w.admin)
        .set_socialisation(true)
        .motsu_unwrap();
    b.w.set_spot(1_000, 0);
    b.start().unwrap();
    b.bid(WAD, i128::MAX).unwrap();
    assert_eq!(b.cash(b.fund), 0, "the fund paid all it had");
    assert_eq!(int(b.w.keeper.sender(b.w.admin).deficit()), 0);
    assert_eq!(int(b.w.vault.sender(b.w.admin).net_cash_adjustment(3)), 0);
    let (index, _) = b.w.vault.sender(b.w.admin).socialisation();
    assert!(index < U256::from(WAD as u128), "index {index}");
}

/// The owner's policy for a standing deficit: off, only the owner may socialise it; on,
/// anyone. Positive balances shrink pro rata, debts do not, the ledger goes to zero, and a
/// second call absorbs nothing (a deficit cannot be socialised twice).
fn socialise_the_standing_deficit(b: &Book, deficit: i128) {
    let e =
        b.w.keeper
            .sender(addr(0x99))
            .socialise_deficit()
            .motsu_res()
            .map_err(Vec::from)
            .unwrap_err();
    assert_eq!(&e[..4], &sel::<margin_common::Unauthorized>());
    b.w.keeper
        .sender(b.w.admin)
        .set_socialisation(true)
        .motsu_unwrap();
    let accounts = [b.buyer, b.liq, b.fund, b.seller];
    let before: Vec<i128> = accounts.iter().map(|a| b.cash(*a)).collect();
    let (_, positive) = b.w.vault.sender(b.w.admin).socialisation();
    let absorbed = int(b
        .w
        .keeper
        .sender(addr(0x99))
        .socialise_deficit()
        .motsu_unwrap());
    assert_eq!(absorbed, deficit);
    assert_eq!(int(b.w.keeper.sender(b.w.admin).deficit()), 0);
    assert_eq!(int(b.w.vault.sender(b.w.admin).net_cash_adjustment(3)), 0);
    let (index, after_positive) = b.w.vault.sender(b.w.admin).socialisation();
    assert!(index < U256::from(WAD as u128));
    assert!(int(positive) - int(after_positive) >= absorbed);
    let mut lost = 0;
    for (a, was) in accounts.iter().zip(&before) {
        let now = b.cash(*a);
        if *was > 0 {
            // Pro rata: each positive balance keeps index / 1e18 of itself (rounded down).
            let kept = (U256::from(*was as u128) * index / U256::from(WAD as u128)).to::<u128>();
            assert!(
                now as u128 <= kept && kept - now as u128 <= 2,
                "{was} -> {now}"
            );
            lost += was - now;
        } else {
            assert_eq!(now, *was, "debts are not socialised");
        }
    }
    // Depositors lose the deficit, plus at most one index step (positive / 1e18 wei) and
    // the per-balance rounding: dust the protocol keeps, never value created.
    assert!(lost >= absorbed - 1, "lost {lost} absorbed {absorbed}");
    assert!(
        lost <= absorbed + int(positive) / WAD + 1 + accounts.len() as i128 * 2,
        "lost {lost} absorbed {absorbed}"
    );
    assert_eq!(
        int(b
            .w
            .keeper
            .sender(addr(0x99))
            .socialise_deficit()
            .motsu_unwrap()),
        0
    );
}

#[motsu::test]
fn stale_held_oracle_blocks_start_but_an_unrelated_stale_one_does_not() {
    let b = book();
    b.w.set_spot(1_850, 7_200);
    let e = b.start().unwrap_err();
    assert_eq!(&e[..4], &sel::<margin_common::StaleOracle>());
    // A second underlying whose feed is stale: the seller holds none of it.
    let feed2 = Contract::<MockAggregator>::new();
    feed2.sender(b.w.admin).constructor(8);
    feed2
        .sender(b.w.admin)
        .push_round(i(30_000 * 100_000_000), u(u128::from(NOW - 86_000)));
    b.w.oracle
        .sender(b.w.admin)
        .set_underlying(2, underlying_params(feed2.address()))
        .motsu_unwrap();
    b.w.set_spot(1_850, 0);
    b.start().unwrap();
    b.bid(WAD, i128::MAX).unwrap();
}

#[motsu::test]
fn liquidator_must_satisfy_im_after_the_bid() {
    let b = book();
    b.w.set_spot(1_850, 0);
    b.start().unwrap();
    let poor = b.w.account(addr(0xee), 10, 0);
    let e =
        b.w.keeper
            .sender(addr(0xee))
            .liquidate(b.seller, poor, u(WAD as u128), i(i128::MAX))
            .motsu_res()
            .map_err(Vec::from)
            .unwrap_err();
    assert_eq!(&e[..4], &sel::<LiquidatorUnderIM>());
    assert_eq!(b.size(poor), 0);
}

#[motsu::test]
fn settlement_price_comes_from_the_first_round_after_expiry_once() {
    let w = World::new();
    let feed2 = Contract::<MockAggregator>::new();
    feed2.sender(w.admin).constructor(8);
    let expiry = NOW - 3_600;
    for (price, at) in [
        (29_000, NOW - 7_200),
        (30_000, NOW - 3_000),
        (31_000, NOW - 100),
    ] {
        feed2
            .sender(w.admin)
            .push_round(i(price * 100_000_000), u(u128::from(at)));
    }
    w.oracle
        .sender(w.admin)
        .set_underlying(2, underlying_params(feed2.address()))
        .motsu_unwrap();
    let record = |round: u64| {
        w.oracle
            .sender(addr(0x99))
            .record_settlement(2, expiry, U80::from(round))
            .motsu_res()
            .map_err(Vec::from)
    };
    // Round 3 is after expiry but so is round 2: not the first.
    let e = record(3).unwrap_err();
    assert_eq!(&e[..4], &sel::<margin_oracle::SettlementRoundInvalid>());
    // Round 1 is before expiry.
    let e = record(1).unwrap_err();
    assert_eq!(&e[..4], &sel::<margin_oracle::SettlementRoundInvalid>());
    assert_eq!(int(record(2).unwrap()), 30_000 * WAD);
    // marketData answers the recorded price for the expired key (its fourth word).
    let words = w
        .oracle
        .sender(addr(0x99))
        .market_data(vec![margin_common::wire::key(2, expiry)])
        .motsu_unwrap();
    assert_eq!(words.len(), margin_common::wire::EXPIRY_WORDS);
    assert_eq!(words[3], U256::from(30_000 * WAD as u128));
    let e = record(2).unwrap_err();
    assert_eq!(&e[..4], &sel::<margin_oracle::SettlementAlreadyRecorded>());
    let e = w
        .oracle
        .sender(addr(0x99))
        .record_settlement(2, NOW + 10, U80::from(3))
        .motsu_res()
        .map_err(Vec::from)
        .unwrap_err();
    assert_eq!(&e[..4], &sel::<margin_oracle::NotExpired>());
}

#[motsu::test]
fn settling_a_live_instrument_is_refused() {
    let b = book();
    let e =
        b.w.engine
            .sender(addr(0x99))
            .settle(b.seller, vec![b.put])
            .motsu_res()
            .map_err(Vec::from)
            .unwrap_err();
    assert_eq!(&e[..4], &sel::<margin_engine::InstrumentNotExpired>());
    assert!(b.size(b.seller) < 0);
}

/// The surface's storage packing (two slots) answers exactly the words the core's
/// `surface_words` makes, for a skewed surface with negative `a` and `m`; a live expiry's
/// settlement word is zero; a new posting replaces the old one whole.
#[motsu::test]
fn market_data_answers_posted_surfaces_exactly() {
    use margin_common::wire::{key, surface_words, EXPIRY_WORDS};
    use stylus_margin::svi::{SviParams, M_MAX};
    let w = World::new();
    let expiry = NOW + 7 * DAY;
    let post = |p: SviParams| {
        w.oracle
            .sender(w.admin)
            .post_surface(ETH, expiry, i(p.a), i(p.b), i(p.rho), i(p.m), i(p.sigma))
            .motsu_unwrap();
        let words = w
            .oracle
            .sender(addr(0x99))
            .market_data(vec![key(ETH, expiry)])
            .motsu_unwrap();
        assert_eq!(words.len(), EXPIRY_WORDS);
        assert_eq!(words[..3], surface_words(&p, NOW));
        assert_eq!(words[3], U256::ZERO);
    };
    post(SviParams {
        a: -(WAD / 20),
        b: WAD,
        rho: -(WAD / 2),
        m: -M_MAX,
        sigma: WAD / 10,
    });
    post(SviParams {
        a: WAD / 25,
        b: WAD / 10,
        rho: WAD / 3,
        m: WAD / 7,
        sigma: 3 * WAD,
    });
    // Never posted: all zero.
    let words = w
        .oracle
        .sender(addr(0x99))
        .market_data(vec![key(ETH, expiry + DAY)])
        .motsu_unwrap();
    assert_eq!(words, vec![U256::ZERO; EXPIRY_WORDS]);
}
