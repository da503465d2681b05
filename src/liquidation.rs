//! Liquidation: the Dutch-auction discount, partial-liquidation sizing (a close factor),
//! the start bounty, insolvent auctions, the insurance fund, the deficit ledger and loss
//! socialisation through a cash index.
//!
//! Pure: the contract passes the account's risk (from [`crate::margin::account_risk`]),
//! the auction's start time and `now`. All amounts are quote WAD, all fractions WAD.
//!
//! # Flow (what the contract does with these functions)
//! 1. **Start.** Anyone, on fresh data, when [`can_start`] (`equity < MM`). The account is
//!    frozen (no transfer, trade or withdrawal: Lyra v2 #273/#316), the time recorded,
//!    and the caller paid [`start_bounty`] from the account's cash.
//! 2. **Bid.** The *bundle* is every position and every non-cash collateral balance; its
//!    mark-to-market `B` is positions MtM + collateral at the oracle price, no haircut
//!    (negative when the account is short options). A liquidator takes a fraction
//!    `f <= max_fraction(..., discount(now))` of every item of the bundle; [`sale`] gives
//!    what it pays (checked by [`check_price_limit`] against its `maxPrice`), what the
//!    account's cash receives and what the insurance fund receives. Cash stays with the
//!    account.
//! 3. **Insolvent** (`equity < 0`): [`max_fraction`] is 1 (the whole bundle, same
//!    discount); the fund also pays the liquidator [`insolvent_pay`], timed from when the
//!    account was found insolvent. The account's cash is then negative: the shortfall,
//!    split by [`cover`] into what the fund pays and what goes to the deficit ledger.
//! 4. **End.** Anyone, when [`can_end`]: back at or above `(1 + buffer) x MM`, or the
//!    bundle fully taken (Lyra v2 #270: such auctions could not be terminated).
//! 5. **Socialise.** Owner policy: [`socialise`] moves a standing deficit onto positive
//!    cash balances through a global index; [`effective_cash`] reads a balance through it.
//!
//! # Rounding
//! Value moves between two parties and is computed once: the payer's debit equals the
//! payees' credits exactly, so no rounding creates value. Each amount rounds against the
//! liquidator (who chooses to bid, with a price limit) and the depositors, and in favour of
//! the liquidated account's and the protocol's solvency: the price a liquidator pays and
//! the fund's fee round up; the discount, bounties and the fund's payouts round down; the
//! fraction needed to restore the account rounds up; the socialisation index rounds down.
use crate::fixed::{self, MathError, Rounding, WAD};
use Rounding::{Down, Up};

/// Largest `start_discount` and `max_discount` (50%).
pub const MAX_DISCOUNT: i128 = WAD / 2;
/// Shortest ramp (discount or insolvent pay), in seconds.
pub const MIN_DURATION: u64 = 60;
/// Longest ramp (discount or insolvent pay), in seconds (7 days).
pub const MAX_DURATION: u64 = 7 * 86_400;
/// Largest `dust_mm` (1,000,000 quote).
pub const MAX_DUST_MM: i128 = 1_000_000 * WAD;
/// Largest `bounty_fraction` (5% of MM).
pub const MAX_BOUNTY_FRACTION: i128 = WAD / 20;
/// Largest `bounty_cap` (10,000 quote).
pub const MAX_BOUNTY_CAP: i128 = 10_000 * WAD;
/// Largest `insurance_share` (50% of the discount).
pub const MAX_INSURANCE_SHARE: i128 = WAD / 2;
/// Smallest socialisation index (1e-6): at most 99.9999% of positive cash can ever be
/// socialised, so every index stays a usable divisor with 12 significant digits.
pub const MIN_INDEX: i128 = WAD / 1_000_000;

/// Which parameter is out of bounds. The discriminants are the fields' 0-based positions
/// in `LiquidationParams` (and the contract's `setLiquidationParams` struct): the `which`
/// of its `ParameterOutOfBounds` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ParamField {
    /// `start_discount`: in `[0, MAX_DISCOUNT]`.
    StartDiscount = 0,
    /// `max_discount`: in `[start_discount, MAX_DISCOUNT]`.
    MaxDiscount = 1,
    /// `discount_duration_secs`: in `[MIN_DURATION, MAX_DURATION]`.
    DiscountDuration = 2,
    /// `mm_buffer`: in `[0, WAD]`.
    MmBuffer = 3,
    /// `dust_mm`: in `[0, MAX_DUST_MM]`.
    DustMm = 4,
    /// `bounty_fraction`: in `[0, MAX_BOUNTY_FRACTION]`.
    BountyFraction = 5,
    /// `bounty_cap`: in `[0, MAX_BOUNTY_CAP]`.
    BountyCap = 6,
    /// `insurance_share`: in `[0, MAX_INSURANCE_SHARE]`.
    InsuranceShare = 7,
    /// `insolvent_pay_cap`: in `[0, WAD]`.
    InsolventPayCap = 8,
    /// `insolvent_pay_duration_secs`: in `[MIN_DURATION, MAX_DURATION]`.
    InsolventPayDuration = 9,
}

/// Why a liquidation computation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiquidationError {
    /// A parameter breaks its hard bound: which, and its value.
    ParamOutOfBounds { which: ParamField, value: i128 },
    /// `now` is before the auction's start.
    TimeBeforeStart { started_at: u64, now: u64 },
    /// A fraction outside `[0, WAD]`.
    FractionOutOfRange(i128),
    /// A discount outside `[0, WAD]`.
    DiscountOutOfRange(i128),
    /// A negative maintenance margin.
    NegativeMargin(i128),
    /// A negative amount where only `>= 0` makes sense (balance, shortfall, deficit).
    NegativeAmount(i128),
    /// An index outside `MIN_INDEX <= global <= snapshot <= WAD`.
    BadIndex { snapshot: i128, global: i128 },
    /// The bid's price exceeds the liquidator's limit.
    PriceAboveLimit { price: i128, limit: i128 },
    /// Fixed-point failure (overflow).
    Math(MathError),
}

impl From<MathError> for LiquidationError {
    fn from(e: MathError) -> Self {
        LiquidationError::Math(e)
    }
}

/// Liquidation parameters (fractions WAD, amounts quote WAD, durations seconds).
/// Bounds are enforced by [`LiquidationParams::validate`].
///
/// The discount is given as start, end (`max_discount`) and duration rather than a slope
/// per second, so both ends are exact (25% / 900 s is not a whole number of wei per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidationParams {
    /// Discount at the start of the auction.
    pub start_discount: i128,
    /// Discount reached after `discount_duration_secs`, and kept.
    pub max_discount: i128,
    /// Seconds from `start_discount` to `max_discount`.
    pub discount_duration_secs: u64,
    /// An auction sells down to `equity >= (1 + mm_buffer) x MM` (fraction of MM).
    pub mm_buffer: i128,
    /// Accounts whose MM is at most this (quote) are taken whole.
    pub dust_mm: i128,
    /// Start bounty as a fraction of MM.
    pub bounty_fraction: i128,
    /// Start bounty cap (quote).
    pub bounty_cap: i128,
    /// Share of the discount that the liquidator pays to the insurance fund.
    pub insurance_share: i128,
    /// Insolvent pay cap, as a fraction of the account's MM (the risk the liquidator takes).
    pub insolvent_pay_cap: i128,
    /// Seconds for the insolvent pay to grow from 0 to its cap.
    pub insolvent_pay_duration_secs: u64,
}

impl LiquidationParams {
    /// The 10 values in field order, as the KeeperModule's `setLiquidationParams` takes
    /// them (durations in seconds, the rest WAD).
    pub fn to_values(&self) -> [i128; 10] {
        [
            self.start_discount,
            self.max_discount,
            i128::from(self.discount_duration_secs),
            self.mm_buffer,
            self.dust_mm,
            self.bounty_fraction,
            self.bounty_cap,
            self.insurance_share,
            self.insolvent_pay_cap,
            i128::from(self.insolvent_pay_duration_secs),
        ]
    }

    /// Inverse of [`LiquidationParams::to_values`]; a duration outside `u64` saturates (and
    /// then fails [`LiquidationParams::validate`], which outside input must pass).
    pub fn from_values(v: [i128; 10]) -> LiquidationParams {
        let secs = |x: i128| u64::try_from(x).unwrap_or(u64::MAX);
        LiquidationParams {
            start_discount: v[0],
            max_discount: v[1],
            discount_duration_secs: secs(v[2]),
            mm_buffer: v[3],
            dust_mm: v[4],
            bounty_fraction: v[5],
            bounty_cap: v[6],
            insurance_share: v[7],
            insolvent_pay_cap: v[8],
            insolvent_pay_duration_secs: secs(v[9]),
        }
    }

    /// Lyra v2-like: 5% to 30% over 15 minutes; insolvent pay 0 to 100% of MM over an hour
    /// (Lyra: "MtM to MM over 60 minutes"); 10% buffer; 10% of the discount to the fund.
    pub const DEFAULT: LiquidationParams = LiquidationParams {
        start_discount: WAD / 20,
        max_discount: 3 * WAD / 10,
        discount_duration_secs: 900,
        mm_buffer: WAD / 10,
        dust_mm: 100 * WAD,
        bounty_fraction: WAD / 200,
        bounty_cap: 50 * WAD,
        insurance_share: WAD / 10,
        insolvent_pay_cap: WAD,
        insolvent_pay_duration_secs: 3_600,
    };

    /// Checks the hard bounds listed on [`ParamField`].
    ///
    /// # Errors
    /// [`LiquidationError::ParamOutOfBounds`] for the first field out of bounds, in
    /// [`ParamField`] order.
    pub fn validate(&self) -> Result<(), LiquidationError> {
        use ParamField as F;
        let (min_d, max_d) = (i128::from(MIN_DURATION), i128::from(MAX_DURATION));
        let checks: [(F, i128, i128, i128); 10] = [
            (F::StartDiscount, self.start_discount, 0, MAX_DISCOUNT),
            (
                F::MaxDiscount,
                self.max_discount,
                self.start_discount,
                MAX_DISCOUNT,
            ),
            (
                F::DiscountDuration,
                self.discount_duration_secs.into(),
                min_d,
                max_d,
            ),
            (F::MmBuffer, self.mm_buffer, 0, WAD),
            (F::DustMm, self.dust_mm, 0, MAX_DUST_MM),
            (
                F::BountyFraction,
                self.bounty_fraction,
                0,
                MAX_BOUNTY_FRACTION,
            ),
            (F::BountyCap, self.bounty_cap, 0, MAX_BOUNTY_CAP),
            (
                F::InsuranceShare,
                self.insurance_share,
                0,
                MAX_INSURANCE_SHARE,
            ),
            (F::InsolventPayCap, self.insolvent_pay_cap, 0, WAD),
            (
                F::InsolventPayDuration,
                self.insolvent_pay_duration_secs.into(),
                min_d,
                max_d,
            ),
        ];
        for (which, value, lo, hi) in checks {
            if value < lo || value > hi {
                return Err(LiquidationError::ParamOutOfBounds { which, value });
            }
        }
        Ok(())
    }

    /// Packs into three storage words, big-endian 8-byte limbs (lossless for valid params):
    /// word 0 `start_discount | max_discount | mm_buffer | bounty_fraction`;
    /// word 1 `insurance_share | insolvent_pay_cap | discount_duration_secs | insolvent_pay_duration_secs`;
    /// word 2 `dust_mm (16 bytes) | bounty_cap (16 bytes)`.
    /// Call [`LiquidationParams::validate`] first: fractions are truncated to 64 bits.
    pub fn pack(&self) -> [[u8; 32]; 3] {
        let mut w = [[0u8; 32]; 3];
        let limbs = [
            self.start_discount as u64,
            self.max_discount as u64,
            self.mm_buffer as u64,
            self.bounty_fraction as u64,
            self.insurance_share as u64,
            self.insolvent_pay_cap as u64,
            self.discount_duration_secs,
            self.insolvent_pay_duration_secs,
        ];
        for (i, l) in limbs.iter().enumerate() {
            w[i / 4][(i % 4) * 8..(i % 4) * 8 + 8].copy_from_slice(&l.to_be_bytes());
        }
        w[2][..16].copy_from_slice(&self.dust_mm.to_be_bytes());
        w[2][16..].copy_from_slice(&self.bounty_cap.to_be_bytes());
        w
    }

    /// Unpacks words written by [`LiquidationParams::pack`]. Any words unpack, so callers
    /// that accept words from outside must [`LiquidationParams::validate`] the result.
    pub fn unpack(w: [[u8; 32]; 3]) -> LiquidationParams {
        let limb = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&w[i / 4][(i % 4) * 8..(i % 4) * 8 + 8]);
            u64::from_be_bytes(b)
        };
        let mut a = [0u8; 16];
        let mut b = [0u8; 16];
        a.copy_from_slice(&w[2][..16]);
        b.copy_from_slice(&w[2][16..]);
        LiquidationParams {
            start_discount: limb(0).into(),
            max_discount: limb(1).into(),
            mm_buffer: limb(2).into(),
            bounty_fraction: limb(3).into(),
            insurance_share: limb(4).into(),
            insolvent_pay_cap: limb(5).into(),
            discount_duration_secs: limb(6),
            insolvent_pay_duration_secs: limb(7),
            dust_mm: i128::from_be_bytes(a),
            bounty_cap: i128::from_be_bytes(b),
        }
    }
}

fn check_unit(x: i128, err: fn(i128) -> LiquidationError) -> Result<i128, LiquidationError> {
    if (0..=WAD).contains(&x) {
        Ok(x)
    } else {
        Err(err(x))
    }
}

/// `from + (to - from) x min(elapsed, duration) / duration`, rounded down; `to` when
/// `duration == 0`.
fn ramp(
    from: i128,
    to: i128,
    started_at: u64,
    now: u64,
    duration: u64,
) -> Result<i128, LiquidationError> {
    let elapsed = now
        .checked_sub(started_at)
        .ok_or(LiquidationError::TimeBeforeStart { started_at, now })?;
    if elapsed >= duration {
        return Ok(to);
    }
    let step = fixed::mul_div(fixed::sub(to, from)?, elapsed.into(), duration.into(), Down)?;
    Ok(fixed::add(from, step)?)
}

/// Whether an auction may start: `equity < mm` (on fresh oracle data: the caller's job).
pub fn can_start(equity: i128, mm: i128) -> bool {
    equity < mm
}

/// The auction discount at `now` (WAD):
/// `d = start + (max - start) x min(now - started_at, duration) / duration`.
/// Linear, monotone non-decreasing in `now`, constant at `max_discount` from
/// `started_at + discount_duration_secs`. Rounded down (in the account's favour).
///
/// # Errors
/// [`LiquidationError::TimeBeforeStart`] when `now < started_at` (a clock or storage bug:
/// no answer is safer than 0); [`LiquidationError::Math`] on overflow (invalid params).
pub fn discount(
    params: &LiquidationParams,
    started_at: u64,
    now: u64,
) -> Result<i128, LiquidationError> {
    let p = params;
    ramp(
        p.start_discount,
        p.max_discount,
        started_at,
        now,
        p.discount_duration_secs,
    )
}

/// Cash the liquidator pays for the fraction `f` of a bundle whose mark-to-market is `B`
/// at discount `d`: `f x (B - d x |B|)`. The liquidator always gains `f x d x |B|`
/// against the mark: it pays `f B (1 - d)` when `B >= 0` and is paid `f |B| (1 + d)`
/// (a negative price) when `B < 0`.
///
/// Rounding: `d x |B|` down, the product up, so the result is at least the exact price:
/// the liquidator pays (or is paid) at most 1 wei in the account's favour.
///
/// # Errors
/// [`LiquidationError::FractionOutOfRange`], [`LiquidationError::DiscountOutOfRange`]
/// (outside `[0, WAD]`); [`LiquidationError::Math`] on overflow.
pub fn bundle_price(
    bundle_mtm: i128,
    fraction: i128,
    discount: i128,
) -> Result<i128, LiquidationError> {
    let f = check_unit(fraction, LiquidationError::FractionOutOfRange)?;
    let d = check_unit(discount, LiquidationError::DiscountOutOfRange)?;
    let cut = fixed::mul(d, fixed::abs(bundle_mtm)?, Down)?;
    Ok(fixed::mul(f, fixed::sub(bundle_mtm, cut)?, Up)?)
}

/// The cash flows of one bid. Exactly `liquidator_pays = account_receives + insurance_fee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sale {
    /// Credited to the liquidated account's cash: [`bundle_price`] (rounded up).
    pub account_receives: i128,
    /// Credited to the insurance fund: `insurance_share x f x d x |B|` (the discount
    /// rounded down, the share up; never above the discount).
    pub insurance_fee: i128,
    /// Debited from the liquidator's cash (negative: credited).
    pub liquidator_pays: i128,
}

/// The bid's cash flows: the account gives up the whole discount `f d |B|`; the liquidator
/// keeps `(1 - insurance_share)` of it and pays the rest to the fund. The account's equity
/// therefore falls by the discount whatever the share (what [`max_fraction`] assumes).
///
/// # Errors
/// As [`bundle_price`].
pub fn sale(
    params: &LiquidationParams,
    bundle_mtm: i128,
    fraction: i128,
    discount: i128,
) -> Result<Sale, LiquidationError> {
    let account_receives = bundle_price(bundle_mtm, fraction, discount)?;
    let gross = fixed::mul(
        fraction,
        fixed::mul(discount, fixed::abs(bundle_mtm)?, Down)?,
        Down,
    )?;
    let insurance_fee = fixed::mul(params.insurance_share, gross, Up)?;
    let liquidator_pays = fixed::add(account_receives, insurance_fee)?;
    Ok(Sale {
        account_receives,
        insurance_fee,
        liquidator_pays,
    })
}

/// Checks the liquidator's price limit: `price <= max_price` (both signed).
///
/// # Errors
/// [`LiquidationError::PriceAboveLimit`].
pub fn check_price_limit(price: i128, max_price: i128) -> Result<(), LiquidationError> {
    if price > max_price {
        return Err(LiquidationError::PriceAboveLimit {
            price,
            limit: max_price,
        });
    }
    Ok(())
}

/// `(1 + mm_buffer) x mm`, rounded up: the equity an auction sells down to.
fn target(mm: i128, params: &LiquidationParams) -> Result<i128, MathError> {
    fixed::mul(mm, fixed::add(WAD, params.mm_buffer)?, Up)
}

/// The largest fraction a bid may take (WAD, in `[0, WAD]`): the smallest `f` with
/// `E' >= T x (1 - f)`, `T = (1 + buffer) x MM`, where after selling `f` the account's
/// equity is `E' = E - f x c`, `c = d x |B| - (B - B_eq)`: it loses the discount and
/// regains the haircut of what it sold (`B_eq`, `bundle_equity`, is the bundle's part of
/// `equity`: haircut collateral + MtM; pass `B` to ignore haircuts, `c = d|B|`). MM scales
/// with the bundle, `MM' = (1 - f) MM` (scenario losses and contingencies are linear in
/// size). So `f = (T - E) / (T - c)`.
///
/// Returns `0` when `E >= T` (nothing to sell); `WAD` when `E < 0` (insolvent), when
/// `MM <= dust_mm` (small accounts are taken whole), or when no `f` in `[0, 1)` works
/// (`T - c <= 0`, or `T - E >= T - c`). Rounded up: `T` and `c` up, the quotient up, so
/// `f` never falls short of restoring the account (overshoot `~2 WAD / (T - c)` wei).
///
/// # Errors
/// [`LiquidationError::NegativeMargin`], [`LiquidationError::DiscountOutOfRange`];
/// [`LiquidationError::Math`] on overflow.
pub fn max_fraction(
    equity: i128,
    mm: i128,
    bundle_mtm: i128,
    bundle_equity: i128,
    discount: i128,
    params: &LiquidationParams,
) -> Result<i128, LiquidationError> {
    if mm < 0 {
        return Err(LiquidationError::NegativeMargin(mm));
    }
    let d = check_unit(discount, LiquidationError::DiscountOutOfRange)?;
    let t = target(mm, params)?;
    if equity >= t {
        return Ok(0);
    }
    if equity < 0 || mm <= params.dust_mm {
        return Ok(WAD);
    }
    let haircut = fixed::sub(bundle_mtm, bundle_equity)?;
    let cost = fixed::sub(fixed::mul(d, fixed::abs(bundle_mtm)?, Up)?, haircut)?;
    let den = fixed::sub(t, cost)?;
    let num = t - equity; // 0 <= equity < t: no overflow
    if den <= 0 || num >= den {
        return Ok(WAD);
    }
    Ok(fixed::div(num, den, Up)?.min(WAD))
}

/// Whether anyone may end the auction: the bundle is fully taken, or
/// `equity >= (1 + mm_buffer) x MM` (the target rounded up). An overflowing target
/// (absurd MM) never ends an auction except when fully taken.
pub fn can_end(equity: i128, mm: i128, params: &LiquidationParams, fully_taken: bool) -> bool {
    fully_taken || target(mm, params).is_ok_and(|t| equity >= t)
}

/// The bounty paid from the account to whoever starts its auction:
/// `min(bounty_fraction x MM, bounty_cap, max(equity, 0))`, rounded down. It never
/// exceeds the equity, so paying it creates no bad debt.
///
/// # Errors
/// [`LiquidationError::NegativeMargin`]; [`LiquidationError::Math`] on overflow.
pub fn start_bounty(
    params: &LiquidationParams,
    mm: i128,
    equity: i128,
) -> Result<i128, LiquidationError> {
    if mm < 0 {
        return Err(LiquidationError::NegativeMargin(mm));
    }
    let b = fixed::mul(params.bounty_fraction, mm, Down)?;
    Ok(b.min(params.bounty_cap).min(equity.max(0)))
}

/// What the insurance fund pays the liquidator of an insolvent account, on top of the
/// sale: `insolvent_pay_cap x MM x min(now - insolvent_since, duration) / duration`,
/// growing linearly from 0 to the cap (Lyra v2: the insolvent bid moves from MtM to MM).
/// MM is the base because it measures the risk the liquidator takes on, which `|B|` does
/// not (a hedged book can have `B ~ 0` and a large MM). Rounded down (the fund pays less).
///
/// # Errors
/// [`LiquidationError::TimeBeforeStart`], [`LiquidationError::NegativeMargin`];
/// [`LiquidationError::Math`] on overflow.
pub fn insolvent_pay(
    params: &LiquidationParams,
    insolvent_since: u64,
    now: u64,
    mm: i128,
) -> Result<i128, LiquidationError> {
    if mm < 0 {
        return Err(LiquidationError::NegativeMargin(mm));
    }
    let cap = fixed::mul(params.insolvent_pay_cap, mm, Down)?;
    ramp(
        0,
        cap,
        insolvent_since,
        now,
        params.insolvent_pay_duration_secs,
    )
}

/// How a shortfall is covered. Exactly `paid_by_fund + to_deficit = shortfall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cover {
    /// Paid by the insurance fund: `min(insurance_balance, shortfall)`.
    pub paid_by_fund: i128,
    /// Added to the deficit ledger: the rest.
    pub to_deficit: i128,
}

/// Splits a shortfall (an emptied account's negative cash, or an insolvent pay) between
/// the insurance fund and the deficit ledger. Exact.
///
/// # Errors
/// [`LiquidationError::NegativeAmount`] for a negative balance or shortfall.
pub fn cover(insurance_balance: i128, shortfall: i128) -> Result<Cover, LiquidationError> {
    for x in [insurance_balance, shortfall] {
        if x < 0 {
            return Err(LiquidationError::NegativeAmount(x));
        }
    }
    let paid_by_fund = insurance_balance.min(shortfall);
    Ok(Cover {
        paid_by_fund,
        to_deficit: shortfall - paid_by_fund,
    })
}

/// The result of [`socialise`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socialisation {
    /// The new global index (`<=` the old one, `>= MIN_INDEX`).
    pub index: i128,
    /// The amount moved from the deficit ledger onto positive cash.
    pub absorbed: i128,
    /// The deficit ledger's new value: `deficit - absorbed`. Store it with `index`.
    pub deficit: i128,
}

/// Moves a standing deficit `D` onto positive cash balances whose total is `P`:
/// `I' = floor(I x (P - A) / P)` with `A = min(D, P)`, floored at [`MIN_INDEX`];
/// `absorbed = min(A, floor(P x (I - I') / I))` (`= A` unless the floor binds).
///
/// Cannot apply twice: the result carries the ledger's new value `D - absorbed`, and a
/// zero deficit absorbs nothing and leaves the index unchanged.
///
/// No value is created, provided `P` is at most the exact total
/// `sum(stored_i x I / snapshot_i)` (the sum of [`effective_cash`] values is): the index
/// rounds down, so the exact claims fall by `P (I - I') / I >= absorbed`, and each balance
/// is read fresh from its stored value with a single floor, so no one can withdraw more
/// than its exact claim. The withdrawable (floored) sum falls by at least
/// `absorbed - (number of accounts)`: the difference is sub-wei fractions that were never
/// withdrawable and stay funded. Depositors lose at most `P / I + 1` wei in all beyond
/// `absorbed` through the index, and under 1 wei each through the floor: rounding goes
/// to the protocol, never to an account.
///
/// # Errors
/// [`LiquidationError::BadIndex`] unless `MIN_INDEX <= index <= WAD`;
/// [`LiquidationError::NegativeAmount`] for a negative deficit or total.
pub fn socialise(
    index: i128,
    deficit: i128,
    total_positive_cash: i128,
) -> Result<Socialisation, LiquidationError> {
    if !(MIN_INDEX..=WAD).contains(&index) {
        return Err(LiquidationError::BadIndex {
            snapshot: WAD,
            global: index,
        });
    }
    let p = total_positive_cash;
    for x in [deficit, p] {
        if x < 0 {
            return Err(LiquidationError::NegativeAmount(x));
        }
    }
    let a = deficit.min(p);
    if a == 0 {
        return Ok(Socialisation {
            index,
            absorbed: 0,
            deficit,
        });
    }
    let new_index = fixed::mul_div(index, p - a, p, Down)?.max(MIN_INDEX);
    let absorbed = a.min(fixed::mul_div(p, index - new_index, index, Down)?);
    Ok(Socialisation {
        index: new_index,
        absorbed,
        deficit: deficit - absorbed,
    })
}

/// A cash balance read through the socialisation index: `stored x global / snapshot`,
/// rounded down, for `stored > 0`; negative (and zero) balances are returned unchanged.
/// Never negative for a positive balance. The contract rewrites a balance (with
/// `snapshot = global`) on every change, and a balance crossing zero takes the current
/// index as its snapshot.
///
/// # Errors
/// [`LiquidationError::BadIndex`] unless `MIN_INDEX <= global <= snapshot <= WAD`
/// (checked for positive balances only); [`LiquidationError::Math`] cannot occur then.
pub fn effective_cash(
    stored: i128,
    snapshot: i128,
    global: i128,
) -> Result<i128, LiquidationError> {
    if stored <= 0 {
        return Ok(stored);
    }
    if global < MIN_INDEX || global > snapshot || snapshot > WAD {
        return Err(LiquidationError::BadIndex { snapshot, global });
    }
    Ok(fixed::mul_div(stored, global, snapshot, Down)?)
}

/// The stored form of a positive cash balance under the index: `value x WAD / global`,
/// rounded down, so that `effective_cash(shares, WAD, global) <= value` (a write never
/// credits more than asked). Zero and negative balances are stored as they are (debts are
/// not socialised). Saturates at `i128::MAX`, far beyond any balance the vault accepts.
///
/// # Errors
/// [`LiquidationError::BadIndex`] unless `MIN_INDEX <= global <= WAD`.
pub fn cash_shares(value: i128, global: i128) -> Result<i128, LiquidationError> {
    if value <= 0 {
        return Ok(value);
    }
    if !(MIN_INDEX..=WAD).contains(&global) {
        return Err(LiquidationError::BadIndex {
            snapshot: WAD,
            global,
        });
    }
    Ok(fixed::mul_div(value, WAD, global, Down).unwrap_or(i128::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;
    use Rounding::Nearest;

    #[test]
    fn values_round_trip() {
        assert_eq!(LiquidationParams::from_values(P.to_values()), P);
        let mut v = P.to_values();
        v[2] = -1;
        assert_eq!(
            LiquidationParams::from_values(v).discount_duration_secs,
            u64::MAX
        );
    }

    #[test]
    fn shares_round_trip_never_credits_more() {
        let mut g = WAD;
        let mut x: i128 = 1;
        for _ in 0..2_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let value = (x >> 40).abs() % (1_000_000_000 * WAD) + 1;
            g = (g - (x.abs() % (WAD / 100))).max(MIN_INDEX);
            let s = cash_shares(value, g).unwrap();
            let back = effective_cash(s, WAD, g).unwrap();
            assert!(
                back <= value && value - back <= WAD / g + 1,
                "{value} {g} {back}"
            );
        }
        assert_eq!(cash_shares(-5, WAD / 2).unwrap(), -5);
        assert_eq!(cash_shares(7, WAD).unwrap(), 7);
        assert!(cash_shares(7, 0).is_err());
    }

    const P: LiquidationParams = LiquidationParams::DEFAULT;

    /// xorshift64*: deterministic inputs for the property tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        /// Uniform-ish in `[0, n)`.
        fn below(&mut self, n: i128) -> i128 {
            let x = (u128::from(self.next()) << 64) | u128::from(self.next());
            (x % n as u128) as i128
        }
        /// Log-uniform-ish magnitude in `[1, 10^max_exp)` wei.
        fn mag(&mut self, max_exp: u32) -> i128 {
            let e = self.below(i128::from(max_exp)) as u32 + 1;
            1 + self.below(10i128.pow(e))
        }
    }

    #[test]
    fn params_default_valid_and_each_bound_named() {
        assert_eq!(P.validate(), Ok(()));
        let bad = |mut p: LiquidationParams, f: fn(&mut LiquidationParams), which, value| {
            f(&mut p);
            assert_eq!(
                p.validate(),
                Err(LiquidationError::ParamOutOfBounds { which, value })
            );
        };
        use ParamField as F;
        bad(P, |p| p.start_discount = -1, F::StartDiscount, -1);
        bad(P, |p| p.max_discount = WAD / 40, F::MaxDiscount, WAD / 40);
        bad(
            P,
            |p| p.max_discount = WAD / 2 + 1,
            F::MaxDiscount,
            WAD / 2 + 1,
        );
        bad(
            P,
            |p| p.discount_duration_secs = 59,
            F::DiscountDuration,
            59,
        );
        bad(P, |p| p.mm_buffer = WAD + 1, F::MmBuffer, WAD + 1);
        bad(P, |p| p.dust_mm = -5, F::DustMm, -5);
        bad(
            P,
            |p| p.bounty_fraction = WAD / 10,
            F::BountyFraction,
            WAD / 10,
        );
        bad(
            P,
            |p| p.bounty_cap = MAX_BOUNTY_CAP + 1,
            F::BountyCap,
            MAX_BOUNTY_CAP + 1,
        );
        bad(P, |p| p.insurance_share = WAD, F::InsuranceShare, WAD);
        bad(
            P,
            |p| p.insolvent_pay_cap = 2 * WAD,
            F::InsolventPayCap,
            2 * WAD,
        );
        bad(
            P,
            |p| p.insolvent_pay_duration_secs = 8 * 86_400,
            F::InsolventPayDuration,
            8 * 86_400,
        );
    }

    #[test]
    fn pack_unpack_round_trips() {
        assert_eq!(LiquidationParams::unpack(P.pack()), P);
        let mut r = Rng(7);
        for _ in 0..500 {
            let s = r.below(MAX_DISCOUNT + 1);
            let p = LiquidationParams {
                start_discount: s,
                max_discount: s + r.below(MAX_DISCOUNT - s + 1),
                discount_duration_secs: MIN_DURATION + r.below(1000) as u64,
                mm_buffer: r.below(WAD + 1),
                dust_mm: r.below(MAX_DUST_MM + 1),
                bounty_fraction: r.below(MAX_BOUNTY_FRACTION + 1),
                bounty_cap: r.below(MAX_BOUNTY_CAP + 1),
                insurance_share: r.below(MAX_INSURANCE_SHARE + 1),
                insolvent_pay_cap: r.below(WAD + 1),
                insolvent_pay_duration_secs: MAX_DURATION - r.below(1000) as u64,
            };
            assert_eq!(p.validate(), Ok(()));
            assert_eq!(LiquidationParams::unpack(p.pack()), p);
        }
    }

    #[test]
    fn discount_linear_capped_monotone() {
        let t0 = 1_700_000_000;
        assert_eq!(discount(&P, t0, t0), Ok(WAD / 20));
        assert_eq!(discount(&P, t0, t0 + 450), Ok(WAD * 175 / 1000));
        assert_eq!(discount(&P, t0, t0 + 900), Ok(3 * WAD / 10));
        assert_eq!(discount(&P, t0, u64::MAX), Ok(3 * WAD / 10));
        assert_eq!(
            discount(&P, t0, t0 - 1),
            Err(LiquidationError::TimeBeforeStart {
                started_at: t0,
                now: t0 - 1
            })
        );
        let mut prev = 0;
        for dt in 0..1000 {
            let d = discount(&P, t0, t0 + dt).unwrap();
            assert!(d >= prev && (P.start_discount..=P.max_discount).contains(&d));
            prev = d;
        }
    }

    #[test]
    fn bundle_price_discount_always_to_liquidator() {
        assert_eq!(bundle_price(100 * WAD, WAD / 2, WAD / 10), Ok(45 * WAD));
        assert_eq!(bundle_price(-100 * WAD, WAD / 2, WAD / 10), Ok(-55 * WAD));
        assert_eq!(
            bundle_price(1, WAD + 1, 0),
            Err(LiquidationError::FractionOutOfRange(WAD + 1))
        );
        assert_eq!(
            bundle_price(1, WAD, -1),
            Err(LiquidationError::DiscountOutOfRange(-1))
        );
        let mut r = Rng(11);
        for _ in 0..20_000 {
            let b = if r.next().is_multiple_of(2) {
                r.mag(30)
            } else {
                -r.mag(30)
            };
            let (f, d) = (r.below(WAD + 1), r.below(WAD / 2 + 1));
            let price = bundle_price(b, f, d).unwrap();
            let exact =
                fixed::mul(f, b - fixed::mul(d, b.abs(), Nearest).unwrap(), Nearest).unwrap();
            // Never below the exact price (account's favour), at most ~1 wei above it.
            assert!(price >= exact - 1 && price <= exact + 2, "{b} {f} {d}");
            // The liquidator never pays above the mark.
            assert!(price <= fixed::mul(f, b, Up).unwrap());
            let s = sale(&P, b, f, d).unwrap();
            assert_eq!(s.liquidator_pays, s.account_receives + s.insurance_fee);
            let disc = fixed::mul(f, fixed::mul(d, b.abs(), Down).unwrap(), Down).unwrap();
            assert!(s.insurance_fee >= 0 && s.insurance_fee <= disc);
        }
    }

    /// Equity minus the target after selling `f`, through the real cash flows:
    /// `E - f B_eq + price(f) - (1 + b)(1 - f) MM`.
    fn surplus_after(e: i128, mm: i128, b: i128, b_eq: i128, d: i128, f: i128) -> i128 {
        let after = e - fixed::mul(f, b_eq, Nearest).unwrap() + bundle_price(b, f, d).unwrap();
        after - fixed::mul(target(mm, &P).unwrap(), WAD - f, Nearest).unwrap()
    }

    #[test]
    fn max_fraction_cases() {
        let mm = 1_000 * WAD; // target 1100
        let d = WAD / 10;
        // Healthy against the target: nothing to sell.
        assert_eq!(
            max_fraction(1_100 * WAD, mm, 5_000 * WAD, 5_000 * WAD, d, &P),
            Ok(0)
        );
        // f = (1100 - 900) / (1100 - 0.1 x 2000) = 200 / 900.
        let f = max_fraction(900 * WAD, mm, 2_000 * WAD, 2_000 * WAD, d, &P).unwrap();
        assert_eq!(f, fixed::div(200, 900, Up).unwrap());
        // Haircut regained on the sold collateral lowers f: c = 200 - 300 = -100.
        let g = max_fraction(900 * WAD, mm, 2_000 * WAD, 1_700 * WAD, d, &P).unwrap();
        assert_eq!(g, fixed::div(200, 1_200, Up).unwrap());
        // Insolvent, dust, and no solution (discount on |B| exceeds the margin relief).
        assert_eq!(
            max_fraction(-1, mm, 2_000 * WAD, 2_000 * WAD, d, &P),
            Ok(WAD)
        );
        assert_eq!(max_fraction(50 * WAD, 100 * WAD, WAD, WAD, d, &P), Ok(WAD));
        assert_eq!(
            max_fraction(900 * WAD, mm, -20_000 * WAD, -20_000 * WAD, d, &P),
            Ok(WAD)
        );
        assert_eq!(
            max_fraction(0, -1, 0, 0, d, &P),
            Err(LiquidationError::NegativeMargin(-1))
        );
    }

    #[test]
    fn max_fraction_restores_and_is_minimal() {
        let mut r = Rng(0x5eed);
        let (mut partial, mut whole) = (0, 0);
        for _ in 0..30_000 {
            let mm = P.dust_mm + WAD + r.below(10_000_000 * WAD);
            let t = target(mm, &P).unwrap();
            let e = r.below(t);
            let b = (r.below(100 * mm) - 30 * mm) / 4;
            let b_eq = if b > 0 {
                b - r.below(b * 3 / 10 + 1)
            } else {
                b
            };
            let d = r.below(P.max_discount + 1);
            let f = max_fraction(e, mm, b, b_eq, d, &P).unwrap();
            assert!((0..=WAD).contains(&f));
            let cost = fixed::mul(d, b.abs(), Nearest).unwrap() - (b - b_eq);
            let den = t - cost;
            if f < WAD {
                partial += 1;
                // Restores the account (within a few wei of rounding) ...
                assert!(
                    surplus_after(e, mm, b, b_eq, d, f) >= -4,
                    "{e} {mm} {b} {d} {f}"
                );
                // ... and any f smaller by 1e-9 fails (when 1e-9 of the slope is > 4 wei).
                if f > 1_000_000_000 && den > 10_000_000_000_000 {
                    assert!(surplus_after(e, mm, b, b_eq, d, f - 1_000_000_000) < 0);
                }
            } else {
                whole += 1;
                // No f < 1 - 1e-9 restores the account.
                assert!(den <= 0 || surplus_after(e, mm, b, b_eq, d, WAD - 1_000_000_000) < 4);
            }
        }
        assert!(partial > 5_000 && whole > 1_000, "{partial} {whole}");
    }

    #[test]
    fn start_bounty_bounded_by_cap_fraction_and_equity() {
        assert_eq!(start_bounty(&P, 1_000 * WAD, 500 * WAD), Ok(5 * WAD));
        assert_eq!(start_bounty(&P, 1_000_000 * WAD, 500 * WAD), Ok(50 * WAD));
        assert_eq!(start_bounty(&P, 1_000_000 * WAD, 3 * WAD), Ok(3 * WAD));
        assert_eq!(start_bounty(&P, 1_000_000 * WAD, -3 * WAD), Ok(0));
        let mut r = Rng(3);
        for _ in 0..10_000 {
            let (mm, e) = (r.mag(30), r.mag(30) - r.mag(30));
            let bty = start_bounty(&P, mm, e).unwrap();
            assert!((0..=P.bounty_cap).contains(&bty) && bty <= e.max(0));
            assert!(bty <= fixed::mul(P.bounty_fraction, mm, Down).unwrap());
        }
    }

    #[test]
    fn insolvent_pay_grows_to_cap() {
        let (t0, mm) = (1_000, 2_000 * WAD);
        assert_eq!(insolvent_pay(&P, t0, t0, mm), Ok(0));
        assert_eq!(insolvent_pay(&P, t0, t0 + 1_800, mm), Ok(1_000 * WAD));
        assert_eq!(insolvent_pay(&P, t0, t0 + 99_999, mm), Ok(2_000 * WAD));
        assert!(insolvent_pay(&P, t0, t0 - 1, mm).is_err());
        let mut prev = 0;
        for dt in 0..4_000 {
            let p = insolvent_pay(&P, t0, t0 + dt, mm).unwrap();
            assert!(p >= prev && p <= mm);
            prev = p;
        }
    }

    #[test]
    fn cover_splits_exactly() {
        assert_eq!(
            cover(10, 4),
            Ok(Cover {
                paid_by_fund: 4,
                to_deficit: 0
            })
        );
        assert_eq!(
            cover(10, 25),
            Ok(Cover {
                paid_by_fund: 10,
                to_deficit: 15
            })
        );
        assert_eq!(cover(-1, 25), Err(LiquidationError::NegativeAmount(-1)));
        let mut r = Rng(5);
        for _ in 0..1_000 {
            let (bal, s) = (r.mag(30), r.mag(30));
            let c = cover(bal, s).unwrap();
            assert!(c.paid_by_fund <= bal && c.paid_by_fund + c.to_deficit == s);
        }
    }

    #[test]
    fn can_end_when_restored_or_fully_taken() {
        let mm = 1_000 * WAD;
        assert!(!can_end(1_099 * WAD, mm, &P, false));
        assert!(can_end(1_100 * WAD, mm, &P, false));
        assert!(can_end(-5 * WAD, mm, &P, true));
        assert!(can_end(0, 0, &P, false));
        assert!(!can_end(i128::MAX, i128::MAX, &P, false));
        assert!(can_start(999 * WAD, mm) && !can_start(mm, mm));
    }

    #[test]
    fn socialise_ledger_to_zero_then_nothing() {
        let s = socialise(WAD, 100 * WAD, 1_000 * WAD).unwrap();
        assert_eq!(
            s,
            Socialisation {
                index: 9 * WAD / 10,
                absorbed: 100 * WAD,
                deficit: 0
            }
        );
        let again = socialise(s.index, s.deficit, 900 * WAD).unwrap();
        assert_eq!(
            again,
            Socialisation {
                index: s.index,
                absorbed: 0,
                deficit: 0
            }
        );
        assert_eq!(effective_cash(500 * WAD, WAD, s.index), Ok(450 * WAD));
        assert_eq!(effective_cash(-500 * WAD, WAD, s.index), Ok(-500 * WAD));
        assert!(socialise(WAD + 1, 1, 1).is_err() && socialise(WAD, -1, 1).is_err());
        assert!(effective_cash(1, WAD / 2, WAD).is_err());
        // A deficit larger than all positive cash stops at the index floor; balances
        // stay non-negative and the rest stays on the ledger.
        let s = socialise(WAD, 5_000 * WAD, 1_000 * WAD).unwrap();
        assert_eq!(s.index, MIN_INDEX);
        assert!(s.absorbed < 1_000 * WAD && s.deficit == 5_000 * WAD - s.absorbed);
        assert_eq!(effective_cash(1, WAD, s.index), Ok(0));
        assert_eq!(
            socialise(MIN_INDEX, s.deficit, 1_000 * WAD)
                .unwrap()
                .absorbed,
            0
        );
    }

    #[test]
    fn socialise_never_creates_value() {
        // Exact claims in micro-wei (1e6 finer than wei): `stored x index / snapshot`.
        let exact = |a: &(i128, i128), i| fixed::mul_div(a.0, i * 1_000_000, a.1, Down).unwrap();
        let eff = |a: &(i128, i128), i| effective_cash(a.0, a.1, i).unwrap();
        let mut r = Rng(0xdef1c17);
        for round in 0..200 {
            let n = 1 + r.below(40) as usize;
            let mut accts: Vec<(i128, i128)> = (0..n).map(|_| (r.mag(28), WAD)).collect();
            let start: i128 = accts.iter().map(|a| a.0).sum();
            let (mut index, mut ledger, mut absorbed_total) = (WAD, 0i128, 0i128);
            for _ in 0..10 {
                ledger += r.mag(26);
                let before: i128 = accts.iter().map(|a| eff(a, index)).sum();
                let exact_before: i128 = accts.iter().map(|a| exact(a, index)).sum();
                let s = socialise(index, ledger, before).unwrap();
                let after: i128 = accts.iter().map(|a| eff(a, s.index)).sum();
                let exact_after: i128 = accts.iter().map(|a| exact(a, s.index)).sum();
                assert!(s.index <= index && s.absorbed >= 0 && s.deficit == ledger - s.absorbed);
                // The exact claims fall by at least what the ledger loses (n micro-wei of
                // this test's own flooring) ...
                let n = n as i128;
                assert!(
                    exact_before - exact_after >= s.absorbed * 1_000_000 - n,
                    "round {round}"
                );
                // ... the withdrawable (floored) sum by at least that less under 1 wei per
                // account (fractions that were never withdrawable), and by at most the
                // index rounding plus 1 wei per account more.
                assert!(before - after >= s.absorbed - n);
                assert!(before - after - s.absorbed <= before / index + 1 + n);
                (index, ledger, absorbed_total) = (s.index, s.deficit, absorbed_total + s.absorbed);
                // Some accounts are rewritten at the current index (as on any change).
                for a in accts.iter_mut() {
                    if r.next().is_multiple_of(3) {
                        *a = (eff(a, index), index);
                    }
                }
            }
            // End to end: what depositors can withdraw fell by at least all that the
            // ledger lost, and every balance is still non-negative.
            let now: i128 = accts.iter().map(|a| eff(a, index)).sum();
            assert!(now <= start - absorbed_total, "round {round}");
            assert!(accts.iter().all(|a| a.0 >= 0 && eff(a, index) >= 0));
        }
    }
}
