//! The post-action rule: what an account's standing after an action must satisfy.
use super::*;

/// Whether a change from `before` to `after` strictly reduces an account's risk
/// (Mango v4's "health may not fall"): MM falls and `equity - MM` rises.
pub fn reduces_risk(before: &Standing, after: &Standing) -> bool {
    after.mm < before.mm && after.mm_surplus() > before.mm_surplus()
}

/// What the post-action rule needs of an account: both equities and both requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    /// Equity for the maintenance test (oracle prices).
    pub equity: i128,
    /// Equity for the initial test (conservative prices).
    pub equity_im: i128,
    /// Maintenance margin.
    pub mm: i128,
    /// Initial margin.
    pub im: i128,
}

impl Standing {
    /// `equity - MM` (negative: liquidatable).
    pub fn mm_surplus(&self) -> i128 {
        self.equity.saturating_sub(self.mm)
    }
    /// `equity_im - IM` (negative: may not add risk).
    pub fn im_surplus(&self) -> i128 {
        self.equity_im.saturating_sub(self.im)
    }
}

impl From<&AccountRisk> for Standing {
    fn from(r: &AccountRisk) -> Self {
        Standing {
            equity: r.equity,
            equity_im: r.equity_im,
            mm: r.mm,
            im: r.im,
        }
    }
}

/// The outcome of the post-action rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The action may stand.
    Allowed,
    /// A risk-reducing action left equity below MM: `(equity, mm)`.
    BelowMaintenance(i128, i128),
    /// An action adding risk left equity (IM prices) below IM: `(equity_im, im)`.
    BelowInitial(i128, i128),
    /// An action adding risk met a stale or failed reading.
    FailedReading,
    /// An action adding risk while new risk is paused.
    Paused,
}

/// While new risk is paused, a withdrawal still goes through when it leaves the account's
/// IM equity at least this multiple of its IM (issue 16: a pause never traps a healthy
/// account's collateral; an account near IM waits for the pause to end or lapse).
pub const PAUSED_WITHDRAWAL_IM_MULTIPLE: i128 = 2;

/// Whether `after` (an account's standing after a withdrawal) is well above IM:
/// `equity_im >= PAUSED_WITHDRAWAL_IM_MULTIPLE x IM`.
pub fn well_above_im(after: &Standing) -> bool {
    after.equity_im >= after.im.saturating_mul(PAUSED_WITHDRAWAL_IM_MULTIPLE)
}

/// The post-action rule (Mango v4's "health may not fall"): an action that strictly
/// reduces the account's risk ([`reduces_risk`]) needs only MM afterwards; any other
/// action needs IM, fresh readings (`failed` false) and no pause. While paused, an
/// account that needs no margin at all (IM 0, IM equity >= 0) may still act.
pub fn verdict(before: &Standing, after: &Standing, failed: bool, paused: bool) -> Verdict {
    if reduces_risk(before, after) {
        return if after.mm_surplus() >= 0 {
            Verdict::Allowed
        } else {
            Verdict::BelowMaintenance(after.equity, after.mm)
        };
    }
    if failed {
        return Verdict::FailedReading;
    }
    if paused && !(after.im == 0 && after.equity_im >= 0) {
        return Verdict::Paused;
    }
    if after.im_surplus() >= 0 {
        Verdict::Allowed
    } else {
        Verdict::BelowInitial(after.equity_im, after.im)
    }
}

/// Whether [`verdict`] allows the action whatever the standing before it was: the
/// action passes as new risk (IM, fresh readings, no pause) and as a risk-reducing one
/// (MM). The engine evaluates an account before a trade only when this is false.
pub fn allowed_whatever_before(after: &Standing, failed: bool, paused: bool) -> bool {
    after.mm_surplus() >= 0 && verdict(after, after, failed, paused) == Verdict::Allowed
}
