//! Oracle readings: validation of a Chainlink-style AggregatorV3 round, decimal
//! normalisation, and the settlement-round rule. Pure: the contract passes the round's
//! fields and `now`.

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
        0..=18 => answer
            .checked_mul(10i128.pow(u32::from(18 - decimals)))
            .ok_or(OracleError::BadScale),
        19..=36 => {
            let v = answer / 10i128.pow(u32::from(decimals - 18));
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
