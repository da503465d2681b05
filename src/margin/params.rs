//! The 12 margin parameters, their defaults and hard bounds (the RiskReader stores them).
use super::*;

/// Risk parameters. Every field is WAD (1e18 = 1.0) unless its name carries another unit
/// (`_secs`: seconds; `_years`: years in WAD). Bounds are enforced by
/// [`MarginParams::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginParams {
    /// Vol-up shock at 30 days (0.5 = +50% of the vol).
    pub vol_up: i128,
    /// Vol-down shock at 30 days (0.3 = -30% of the vol).
    pub vol_down: i128,
    /// MM contingency per net short option contract, as a share of spot.
    pub mm_short_option: i128,
    /// IM contingency per net short option contract, as a share of spot.
    pub im_short_option: i128,
    /// MM contingency on futures notional.
    pub mm_future: i128,
    /// IM contingency on futures notional.
    pub im_future: i128,
    /// IM multiplier on the worst scenario loss (1.25).
    pub im_multiplier: i128,
    /// Factor applied to positive mark-to-market for IM (0.95).
    pub im_positive_mtm: i128,
    /// Horizon over which negative theta adds loss, in seconds.
    pub theta_horizon_secs: i128,
    /// Liquidation horizon for collateral haircuts, in years (WAD).
    pub haircut_horizon_years: i128,
    /// Coefficient of the size term `coef x sqrt(amount / depth)` of a haircut.
    pub size_coef: i128,
    /// Largest multiple by which forecast volatility may scale the spot shocks.
    pub max_shock_scale: i128,
}

impl MarginParams {
    /// The 12 values in field order, as the RiskReader's `setParams(uint64[12])` takes them
    /// (every field is non-negative and below 2^64 once validated).
    pub fn to_limbs(&self) -> [u64; 12] {
        [
            self.vol_up,
            self.vol_down,
            self.mm_short_option,
            self.im_short_option,
            self.mm_future,
            self.im_future,
            self.im_multiplier,
            self.im_positive_mtm,
            self.theta_horizon_secs,
            self.haircut_horizon_years,
            self.size_coef,
            self.max_shock_scale,
        ]
        .map(|x| x as u64)
    }

    /// Inverse of [`MarginParams::to_limbs`] (call [`MarginParams::validate`] on outside input).
    pub fn from_limbs(l: [u64; 12]) -> MarginParams {
        let v = |i: usize| i128::from(l[i]);
        MarginParams {
            vol_up: v(0),
            vol_down: v(1),
            mm_short_option: v(2),
            im_short_option: v(3),
            mm_future: v(4),
            im_future: v(5),
            im_multiplier: v(6),
            im_positive_mtm: v(7),
            theta_horizon_secs: v(8),
            haircut_horizon_years: v(9),
            size_coef: v(10),
            max_shock_scale: v(11),
        }
    }

    /// Defaults after Lyra v2's PM2 (contingencies) and this project's choices.
    pub const DEFAULT: MarginParams = MarginParams {
        vol_up: WAD / 2,
        vol_down: 3 * WAD / 10,
        mm_short_option: 3 * WAD / 1000,
        im_short_option: 5 * WAD / 1000,
        mm_future: 3 * WAD / 100,
        im_future: 4 * WAD / 100,
        im_multiplier: 5 * WAD / 4,
        im_positive_mtm: 95 * WAD / 100,
        theta_horizon_secs: 86_400,
        haircut_horizon_years: WAD / 365,
        size_coef: WAD / 20,
        max_shock_scale: 3 * WAD,
    };

    /// Checks hard bounds; returns the index of the first field out of bounds.
    pub fn validate(&self) -> Result<(), u8> {
        let checks: [(i128, i128, i128); 12] = [
            (self.vol_up, 0, 3 * WAD),
            (self.vol_down, 0, 9 * WAD / 10),
            (self.mm_short_option, 0, WAD / 2),
            (self.im_short_option, self.mm_short_option, WAD),
            (self.mm_future, 0, WAD / 2),
            (self.im_future, self.mm_future, WAD),
            (self.im_multiplier, WAD, 5 * WAD),
            (self.im_positive_mtm, 0, WAD),
            (self.theta_horizon_secs, 0, 30 * 86_400),
            (self.haircut_horizon_years, 0, WAD / 4),
            (self.size_coef, 0, WAD),
            (self.max_shock_scale, WAD, 5 * WAD),
        ];
        for (i, (v, lo, hi)) in checks.iter().enumerate() {
            if v < lo || v > hi {
                return Err(i as u8);
            }
        }
        Ok(())
    }
}
