//! Oracle readings: validation of a Chainlink-style AggregatorV3 round, decimal
//! normalisation, and the settlement-round rule. Pure: the contract passes the round's
//! fields and `now`. Also what the RiskOracle's `poke` computes: the stable price and the
//! EWMA volatility forecast (re-exported by `margin`).

use crate::{
    fixed::{self, MathError, Rounding, WAD},
    margin::YEAR,
    math, pricer,
};
use Rounding::{Down, Up};

/// Why a reading was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OracleError {
    /// The answer is zero or negative.
    NonPositive,
    /// The round was answered in an earlier round (`answeredInRound < roundId`).
    IncompleteRound,
    /// The reading is older than the maximum age: (age in seconds).
    Stale(u64),
    /// The reading is timestamped in the future.
    FromTheFuture,
    /// Normalising the answer to 18 decimals overflowed, or decimals > 36.
    BadScale,
}

/// A round as `latestRoundData` / `getRoundData` return it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// The round id.
    pub round_id: u128,
    /// The raw answer.
    pub answer: i128,
    /// When the answer was last updated (unix seconds).
    pub updated_at: u64,
    /// The round in which the answer was computed.
    pub answered_in_round: u128,
}

/// Normalises a raw feed answer with `decimals` to 18 decimals (exact for decimals <= 18;
/// rounded down beyond).
pub fn normalise(answer: i128, decimals: u8) -> Result<i128, OracleError> {
    if answer <= 0 {
        return Err(OracleError::NonPositive);
    }
    match decimals {
        0..=18 => {
            fixed::imul(answer, 10i128.pow(u32::from(18 - decimals))).ok_or(OracleError::BadScale)
        }
        19..=36 => {
            let v = fixed::idiv(answer, 10i128.pow(u32::from(decimals - 18)));
            if v == 0 {
                Err(OracleError::NonPositive)
            } else {
                Ok(v)
            }
        }
        _ => Err(OracleError::BadScale),
    }
}

/// Validates the latest round and returns the price in WAD.
///
/// # Errors
/// [`OracleError::NonPositive`], [`OracleError::IncompleteRound`],
/// [`OracleError::FromTheFuture`], [`OracleError::Stale`] (age > `max_age`),
/// [`OracleError::BadScale`].
pub fn check_latest(
    round: &Round,
    decimals: u8,
    now: u64,
    max_age: u64,
) -> Result<i128, OracleError> {
    let price = normalise(round.answer, decimals)?;
    if round.answered_in_round < round.round_id {
        return Err(OracleError::IncompleteRound);
    }
    if round.updated_at > now {
        return Err(OracleError::FromTheFuture);
    }
    let age = now - round.updated_at;
    if age > max_age {
        return Err(OracleError::Stale(age));
    }
    Ok(price)
}

/// The settlement rule: the named round is the first at or after expiry. Its timestamp must
/// be at or after `expiry`, and the previous round's before it, so nobody can choose a
/// convenient later price. Returns the settlement price in WAD.
///
/// # Errors
/// `Err((round.updated_at, previous.updated_at))` when the rule does not hold, or the
/// answer is not positive (reported with the same timestamps).
pub fn check_settlement_round(
    round: &Round,
    previous: &Round,
    decimals: u8,
    expiry: u64,
) -> Result<i128, (u64, u64)> {
    let bad = (round.updated_at, previous.updated_at);
    if round.updated_at < expiry || previous.updated_at >= expiry || round.updated_at == 0 {
        return Err(bad);
    }
    if round.answered_in_round < round.round_id {
        return Err(bad);
    }
    normalise(round.answer, decimals).map_err(|_| bad)
}

// ---------------------------------------------------------------- stable price and EWMA
// What the RiskOracle's `poke` computes (moved from `margin`, which re-exports them).

/// Stable reference price update (Mango v4 style): moves from `stable` toward `oracle` by
/// at most `stable x max_rate_per_sec x dt`. A zero `stable` starts at the oracle.
pub fn stable_price_update(
    stable: i128,
    oracle: i128,
    dt_seconds: u64,
    max_rate_per_sec: i128,
) -> Result<i128, MathError> {
    if stable <= 0 {
        return Ok(oracle);
    }
    let dt = i128::from(dt_seconds.min(10 * 365 * 86_400));
    // max_rate_per_sec x dt, saturating (both are non-negative in use; the sign of an
    // overflowing product picks the end).
    let rate_dt =
        fixed::imul(max_rate_per_sec, dt).unwrap_or(if (max_rate_per_sec < 0) != (dt < 0) {
            i128::MIN
        } else {
            i128::MAX
        });
    let step = fixed::mul(stable, rate_dt, Down)?;
    Ok(if oracle > stable {
        oracle.min(stable.saturating_add(step))
    } else {
        oracle.max(stable.saturating_sub(step))
    })
}

/// Seconds in which the EWMA's `lambda` applies once: `lambda` is the weight the variance
/// keeps per hour of feed time.
pub const EWMA_LAMBDA_SECONDS: u64 = 3_600;

/// One feed round's step of the EWMA of squared log returns (annualised variance, WAD),
/// weighted by the feed time the round covers:
/// `var' = d x var + (1 - d) x r^2 x YEAR / dt`, `d = lambda^(dt / 1 h)`, `r = ln(new / old)`,
/// `dt` the seconds between the two rounds' timestamps.
///
/// For small `dt` a sample's weight `(1 - d) / dt` tends to `-ln(lambda) / 1 h`, so a
/// return adds `r^2 x YEAR x -ln(lambda) / 1 h` whatever interval it covers: splitting an
/// hour's move into many rounds adds their squared returns (realised variance) instead of
/// dividing one return by a short interval. `dt = 0` (two rounds with one timestamp) uses
/// that limit. The oracle applies this once per feed round, in round order, so the forecast
/// is a function of the feed's rounds and timestamps alone, not of when anyone pokes
/// (issue 16, finding 4). Rounded up (a larger variance raises margin).
pub fn ewma_variance_update(
    variance: i128,
    old_price: i128,
    new_price: i128,
    dt_seconds: u64,
    lambda: i128,
) -> Result<i128, MathError> {
    if old_price <= 0 || new_price <= 0 || lambda <= 0 || lambda >= WAD {
        return Ok(variance);
    }
    // k = -ln(lambda) per hour (WAD, > 0); decay over dt: d = exp(-k dt / 1h).
    let k = -math::ln(lambda)?;
    let hour = i128::from(EWMA_LAMBDA_SECONDS);
    // Ten years of feed time decays any variance to nothing; the cap keeps exp in range.
    let dt = i128::from(dt_seconds.min(10 * 365 * 86_400));
    let d = math::exp(-fixed::mul_div(k, dt, hour, Down)?)?;
    let r = math::ln(fixed::div(new_price, old_price, Rounding::Nearest)?)?;
    let r2 = fixed::mul(r, r, Up)?;
    let annual = fixed::imul(r2, YEAR).ok_or(MathError::Overflow)?;
    let sample = if dt == 0 {
        fixed::mul_div(annual, k, hour * WAD, Up)?
    } else {
        fixed::mul_div(annual, WAD - d, dt * WAD, Up)?
    };
    fixed::add(fixed::mul(d, variance, Up)?, sample)
}

/// Forecast volatility from an annualised variance: `sqrt(variance)`.
pub fn forecast_vol(variance: i128) -> Result<i128, MathError> {
    if variance <= 0 {
        return Ok(0);
    }
    pricer::sqrt(variance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::WAD;

    fn round(answer: i128, updated_at: u64) -> Round {
        Round {
            round_id: 5,
            answer,
            updated_at,
            answered_in_round: 5,
        }
    }

    #[test]
    fn normalises_decimals_both_ways() {
        assert_eq!(normalise(200_000_000_000, 8), Ok(2_000 * WAD));
        assert_eq!(normalise(3 * 10i128.pow(20), 20), Ok(3 * WAD));
        assert_eq!(normalise(0, 8), Err(OracleError::NonPositive));
        assert_eq!(normalise(-1, 8), Err(OracleError::NonPositive));
        assert_eq!(normalise(1, 37), Err(OracleError::BadScale));
    }

    #[test]
    fn latest_refuses_stale_incomplete_and_future() {
        let now = 1_000_000;
        assert_eq!(
            check_latest(&round(100, now - 60), 0, now, 60),
            Ok(100 * WAD)
        );
        assert_eq!(
            check_latest(&round(100, now - 61), 0, now, 60),
            Err(OracleError::Stale(61))
        );
        assert_eq!(
            check_latest(&round(100, now + 1), 0, now, 60),
            Err(OracleError::FromTheFuture)
        );
        let mut r = round(100, now);
        r.answered_in_round = 4;
        assert_eq!(
            check_latest(&r, 0, now, 60),
            Err(OracleError::IncompleteRound)
        );
    }

    #[test]
    fn settlement_round_must_straddle_expiry() {
        let expiry = 10_000;
        let prev = round(90, expiry - 1);
        assert_eq!(
            check_settlement_round(&round(100, expiry), &prev, 0, expiry),
            Ok(100 * WAD)
        );
        // A later round while the previous one is also after expiry: refused.
        let prev_late = round(90, expiry + 5);
        assert_eq!(
            check_settlement_round(&round(100, expiry + 10), &prev_late, 0, expiry),
            Err((expiry + 10, expiry + 5))
        );
        // A round before expiry: refused.
        assert!(
            check_settlement_round(&round(100, expiry - 1), &round(90, expiry - 2), 0, expiry)
                .is_err()
        );
    }
}
