//! Packed storage words of the RiskOracle (one 256-bit slot each) and their codecs.
//!
//! Per underlying, four slots:
//! - `config`: feed address (bits 96..256) | oracle max age u32 | surface max age u32 |
//!   feed decimals u8 | method u8 | listed u8 (bits 0..8).
//! - `prices`: stable price u128 (high) | last oracle price u128 (low).
//! - `vol`: EWMA variance u128 (high) | last poke time u64 | last EWMA update time u64.
//! - `risk`: rate i64 | reference vol u64 | EWMA lambda u64 | stable-price rate per second u64.
//!
//! Per (underlying, expiry), two surface slots ([`surface_slots`]) and the settlement
//! price in a third, read only once the expiry has passed.
use alloy_primitives::{Address, U256};

/// Splits a word into (high, low) 128-bit halves.
pub fn halves(w: U256) -> (u128, u128) {
    let l = w.as_limbs();
    (
        u128::from(l[2]) | (u128::from(l[3]) << 64),
        u128::from(l[0]) | (u128::from(l[1]) << 64),
    )
}

/// Joins (high, low) 128-bit halves.
pub fn join(high: u128, low: u128) -> U256 {
    U256::from_limbs([
        low as u64,
        (low >> 64) as u64,
        high as u64,
        (high >> 64) as u64,
    ])
}

/// Underlying configuration (slot `config`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnderlyingConfig {
    pub feed: Address,
    pub max_age: u32,
    pub surface_max_age: u32,
    pub decimals: u8,
    pub method: u8,
    pub listed: bool,
}

impl UnderlyingConfig {
    pub fn pack(&self) -> U256 {
        let mut b = [0u8; 32];
        b[0..20].copy_from_slice(self.feed.as_slice());
        b[20..24].copy_from_slice(&self.max_age.to_be_bytes());
        b[24..28].copy_from_slice(&self.surface_max_age.to_be_bytes());
        b[28] = self.decimals;
        b[29] = self.method;
        b[31] = u8::from(self.listed);
        U256::from_be_bytes(b)
    }
    pub fn unpack(w: U256) -> Self {
        let b: [u8; 32] = w.to_be_bytes();
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        UnderlyingConfig {
            feed: Address::from_slice(&b[0..20]),
            max_age: u32_at(20),
            surface_max_age: u32_at(24),
            decimals: b[28],
            method: b[29],
            listed: b[31] != 0,
        }
    }
}

/// Risk settings of an underlying (slot `risk`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnderlyingRisk {
    pub rate: i64,
    pub ref_vol: u64,
    pub lambda: u64,
    pub stable_rate: u64,
}

impl UnderlyingRisk {
    pub fn pack(&self) -> U256 {
        U256::from_limbs([
            self.rate as u64,
            self.ref_vol,
            self.lambda,
            self.stable_rate,
        ])
    }
    pub fn unpack(w: U256) -> Self {
        let l = w.as_limbs();
        UnderlyingRisk {
            rate: l[0] as i64,
            ref_vol: l[1],
            lambda: l[2],
            stable_rate: l[3],
        }
    }
}

/// EWMA state (slot `vol`). Low half: the annualised variance (WAD, 80 bits) and the
/// timestamp of the last feed round folded into it (48 bits); high half: that round's id
/// (80 bits, Chainlink's uint80) and the last poke's time for the stable price (48 bits).
/// The variance is a function of the feed's rounds alone: `RiskOracle.poke` folds every
/// round, in order, once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VolState {
    pub variance: u128,
    pub last_poke: u64,
    /// The id of the last feed round folded into the variance (0: none yet).
    pub round: u128,
    /// That round's `updatedAt`.
    pub round_at: u64,
}

const BITS80: u128 = (1 << 80) - 1;
const BITS48: u128 = (1 << 48) - 1;

impl VolState {
    /// Packs the state. The variance saturates at 2^80 - 1 wei (a volatility of about
    /// 1,100, i.e. 110,000% a year); timestamps past 2^48 s and round ids past 80 bits
    /// cannot occur.
    pub fn pack(&self) -> U256 {
        join(
            (self.round & BITS80) | ((u128::from(self.last_poke) & BITS48) << 80),
            self.variance.min(BITS80) | ((u128::from(self.round_at) & BITS48) << 80),
        )
    }
    pub fn unpack(w: U256) -> Self {
        let (high, low) = halves(w);
        VolState {
            variance: low & BITS80,
            round: high & BITS80,
            last_poke: (high >> 80) as u64,
            round_at: (low >> 80) as u64,
        }
    }
}

const LOW64: u128 = u64::MAX as u128;

/// The two storage slots of a surface, from its three wire words
/// ([`crate::wire::surface_words`]: `a | b`, `rho | m`, `sigma | postedAt`):
/// - `a` (low 96 bits) | `b` (low 96 bits) | postedAt (u64);
/// - `m` (i128) | `rho` (low 64 bits) | `sigma` (low 64 bits).
///
/// Lossless for every surface `svi::validate` accepts (|a|, b <= 100, |rho| < 1,
/// 0 < sigma <= 10, WAD): a marketData read costs two slots instead of three. All zero
/// (never posted) packs to all zero.
pub fn surface_slots(w: &[U256; 3]) -> [U256; 2] {
    let (a, b) = halves(w[0]);
    let (rho, m) = halves(w[1]);
    let (sigma, posted) = halves(w[2]);
    [
        join(
            (a << 32) | ((b >> 64) & 0xffff_ffff),
            (b << 64) | (posted & LOW64),
        ),
        join(m, (rho << 64) | (sigma & LOW64)),
    ]
}

/// Inverse of [`surface_slots`]: the three wire words (signs extended).
pub fn surface_from_slots(s: [U256; 2]) -> [U256; 3] {
    let (h, l) = halves(s[0]);
    let (m, l1) = halves(s[1]);
    [
        join(
            ((h as i128) >> 32) as u128,
            ((h & 0xffff_ffff) << 64) | (l >> 64),
        ),
        join(((l1 as i128) >> 64) as u128, m),
        join(l1 & LOW64, l & LOW64),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::surface_words;
    use stylus_margin::{
        fixed::WAD,
        svi::{self, SviParams, A_MAX, B_MAX, M_MAX, SIGMA_MAX},
    };

    #[test]
    fn surface_slots_round_trip_every_valid_surface() {
        assert_eq!(surface_slots(&[U256::ZERO; 3]), [U256::ZERO; 2]);
        assert_eq!(surface_from_slots([U256::ZERO; 2]), [U256::ZERO; 3]);
        let mut n = 0;
        // The bounds, their negatives and values in between (checked valid by the core).
        for a in [-A_MAX, -WAD / 3, 0, 1, WAD / 7, A_MAX] {
            for b in [0, 1, WAD / 10, B_MAX] {
                for rho in [-(WAD - 1), -WAD / 2, 0, WAD / 3, WAD - 1] {
                    for m in [-M_MAX, -1, 0, WAD / 9, M_MAX] {
                        for sigma in [1, WAD / 10, SIGMA_MAX] {
                            let p = SviParams {
                                a,
                                b,
                                rho,
                                m,
                                sigma,
                            };
                            if svi::validate(&p).is_err() {
                                continue;
                            }
                            for posted in [1, 1_735_689_600, u64::MAX] {
                                let w = surface_words(&p, posted);
                                assert_eq!(surface_from_slots(surface_slots(&w)), w, "{p:?}");
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(n > 1_000, "{n}");
    }

    #[test]
    fn words_round_trip() {
        let c = UnderlyingConfig {
            feed: Address::repeat_byte(0xab),
            max_age: 3600,
            surface_max_age: 1200,
            decimals: 8,
            method: 1,
            listed: true,
        };
        assert_eq!(UnderlyingConfig::unpack(c.pack()), c);
        let r = UnderlyingRisk {
            rate: -5,
            ref_vol: 8,
            lambda: 9,
            stable_rate: 10,
        };
        assert_eq!(UnderlyingRisk::unpack(r.pack()), r);
        let v = VolState {
            variance: (1 << 80) - 7,
            last_poke: (1 << 48) - 2,
            round: (1 << 80) - 3,
            round_at: (1 << 48) - 4,
        };
        assert_eq!(VolState::unpack(v.pack()), v);
        let huge = VolState {
            variance: u128::MAX,
            ..v
        };
        assert_eq!(VolState::unpack(huge.pack()).variance, (1 << 80) - 1);
        assert_eq!(halves(join(u128::MAX, 3)), (u128::MAX, 3));
    }
}
