//! Collateral asset configuration, packed into one 256-bit storage word.
//!
//! The CollateralVault stores one [`AssetConfig`] per listed token as a single
//! word, and hands the words to the RiskEngine with an account's balances; the
//! engine unpacks them with this same code. One word means one storage read
//! per asset.
//!
//! # Layout
//!
//! Bit offsets count from the least significant bit of the `uint256` (the word
//! is stored big-endian in `[u8; 32]`, so bit 0 is the low bit of byte 31):
//!
//! | bits      | field                | type  |
//! |-----------|----------------------|-------|
//! | 0..32     | `underlying`         | u32   |
//! | 32..40    | `decimals`           | u8    |
//! | 40..48    | flags: bit 40 `enabled`, bit 41 `is_quote`, bit 42 `risk_offsetting` | u8 |
//! | 48..80    | `haircut_floor_ppm`  | u32   |
//! | 80..112   | `vol_multiplier_ppm` | u32   |
//! | 112..144  | `haircut_max_ppm`    | u32   |
//! | 144..240  | `liquidity_depth`    | u96   |
//! | 240..256  | reserved, zero       |       |
//!
//! # Haircut parameters
//!
//! The engine computes, for each asset, `haircut = clamp(floor + k * vol *
//! sqrt(horizon) + size_term, floor, max)`, where `k` is
//! `vol_multiplier_ppm / 1e6` and the size term grows with the position's size
//! relative to `liquidity_depth` (a depth of zero means no size term). This
//! module only carries and bounds the parameters.

/// Parts per million: 1,000,000 ppm = 100%.
pub const PPM: u32 = 1_000_000;

/// The largest haircut (and haircut floor): 100%.
pub const MAX_HAIRCUT_PPM: u32 = PPM;

/// The largest volatility multiplier `k`: 20.0.
pub const MAX_VOL_MULTIPLIER_PPM: u32 = 20 * PPM;

/// Liquidity depth is stored in 96 bits: it must be below 2^96 WAD.
pub const LIQUIDITY_DEPTH_LIMIT: u128 = 1 << 96;

/// The largest token `decimals()` supported (see [`crate::units`]).
pub const MAX_DECIMALS: u8 = crate::units::MAX_DECIMALS;

const FLAG_ENABLED: u8 = 1;
const FLAG_QUOTE: u8 = 1 << 1;
const FLAG_RISK_OFFSETTING: u8 = 1 << 2;

/// How a listed collateral asset is treated. See the module documentation for
/// the packed layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AssetConfig {
    /// Oracle id of the underlying this asset is priced by; 0 for the quote
    /// asset (cash, valued at par).
    pub underlying: u32,
    /// The token's `decimals()`, read from the token when it is listed.
    pub decimals: u8,
    /// Whether deposits are accepted.
    pub enabled: bool,
    /// Whether this is the quote asset, whose balances are the accounts' cash.
    pub is_quote: bool,
    /// Whether this collateral, when it is the underlying of the account's
    /// options, may enter the margin scenarios as delta (shocked with spot)
    /// instead of being haircut on its own.
    pub risk_offsetting: bool,
    /// Static haircut floor, in ppm.
    pub haircut_floor_ppm: u32,
    /// Volatility multiplier `k`, in ppm (k = 1.0 is 1,000,000).
    pub vol_multiplier_ppm: u32,
    /// Haircut ceiling, in ppm.
    pub haircut_max_ppm: u32,
    /// Market depth for the size term, in WAD units of the token; below 2^96.
    pub liquidity_depth: u128,
}

/// Which configuration field is out of bounds. The discriminants are the
/// `which` codes of the vault's `ValueOutOfBounds` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ConfigField {
    /// `underlying`: must be 0 for the quote asset and non-zero otherwise.
    Underlying = 1,
    /// `decimals`: at most [`MAX_DECIMALS`].
    Decimals = 2,
    /// `haircut_floor_ppm`: at most `haircut_max_ppm`.
    HaircutFloor = 3,
    /// `vol_multiplier_ppm`: at most [`MAX_VOL_MULTIPLIER_PPM`].
    VolMultiplier = 4,
    /// `haircut_max_ppm`: at most [`MAX_HAIRCUT_PPM`].
    HaircutMax = 5,
    /// `liquidity_depth`: below [`LIQUIDITY_DEPTH_LIMIT`].
    LiquidityDepth = 6,
    /// `risk_offsetting`: the quote asset cannot be risk-offsetting.
    RiskOffsetting = 7,
}

/// A configuration that breaks a hard bound: the field, its value and the
/// bound it broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigError {
    /// The offending field.
    pub field: ConfigField,
    /// Its value.
    pub value: u128,
    /// The bound (the largest allowed value; for `Underlying` and
    /// `RiskOffsetting` the value required).
    pub bound: u128,
}

/// Writes the big-endian `bytes` of a field at `bit_offset` (a multiple of 8).
fn put(word: &mut [u8; 32], bit_offset: usize, bytes: &[u8]) {
    let end = 32 - bit_offset / 8;
    word[end - bytes.len()..end].copy_from_slice(bytes);
}

/// Reads `N` big-endian bytes of a field at `bit_offset` (a multiple of 8).
fn get<const N: usize>(word: &[u8; 32], bit_offset: usize) -> [u8; N] {
    let end = 32 - bit_offset / 8;
    let mut out = [0u8; N];
    out.copy_from_slice(&word[end - N..end]);
    out
}

impl AssetConfig {
    /// Packs the configuration into one word (layout in the module docs).
    ///
    /// Call [`AssetConfig::validate`] first: `liquidity_depth` is truncated to
    /// its 96 bits here.
    pub fn pack(&self) -> [u8; 32] {
        let mut w = [0u8; 32];
        let mut flags = 0u8;
        if self.enabled {
            flags |= FLAG_ENABLED;
        }
        if self.is_quote {
            flags |= FLAG_QUOTE;
        }
        if self.risk_offsetting {
            flags |= FLAG_RISK_OFFSETTING;
        }
        put(&mut w, 0, &self.underlying.to_be_bytes());
        put(&mut w, 32, &[self.decimals]);
        put(&mut w, 40, &[flags]);
        put(&mut w, 48, &self.haircut_floor_ppm.to_be_bytes());
        put(&mut w, 80, &self.vol_multiplier_ppm.to_be_bytes());
        put(&mut w, 112, &self.haircut_max_ppm.to_be_bytes());
        put(&mut w, 144, &self.liquidity_depth.to_be_bytes()[4..]);
        w
    }

    /// Unpacks a word written by [`AssetConfig::pack`]. Reserved bits
    /// (240..256) are ignored; any word unpacks, so callers that accept words
    /// from outside must [`AssetConfig::validate`] the result.
    pub fn unpack(word: [u8; 32]) -> AssetConfig {
        let flags = word[32 - 6];
        let mut depth = [0u8; 16];
        depth[4..].copy_from_slice(&get::<12>(&word, 144));
        AssetConfig {
            underlying: u32::from_be_bytes(get(&word, 0)),
            decimals: word[32 - 5],
            enabled: flags & FLAG_ENABLED != 0,
            is_quote: flags & FLAG_QUOTE != 0,
            risk_offsetting: flags & FLAG_RISK_OFFSETTING != 0,
            haircut_floor_ppm: u32::from_be_bytes(get(&word, 48)),
            vol_multiplier_ppm: u32::from_be_bytes(get(&word, 80)),
            haircut_max_ppm: u32::from_be_bytes(get(&word, 112)),
            liquidity_depth: u128::from_be_bytes(depth),
        }
    }

    /// Checks the hard bounds:
    /// - `decimals <= 36`;
    /// - `haircut_floor_ppm <= haircut_max_ppm <= 1,000,000` (0..100%);
    /// - `vol_multiplier_ppm <= 20,000,000` (k <= 20);
    /// - `liquidity_depth < 2^96`;
    /// - the quote asset has `underlying == 0` and is not risk-offsetting;
    ///   any other asset has a non-zero `underlying`.
    ///
    /// # Errors
    /// The first [`ConfigError`] found, in the order above.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field, value: u128, bound: u128| {
            Err(ConfigError {
                field,
                value,
                bound,
            })
        };
        if self.decimals > MAX_DECIMALS {
            return err(
                ConfigField::Decimals,
                self.decimals.into(),
                MAX_DECIMALS.into(),
            );
        }
        if self.haircut_max_ppm > MAX_HAIRCUT_PPM {
            return err(
                ConfigField::HaircutMax,
                self.haircut_max_ppm.into(),
                MAX_HAIRCUT_PPM.into(),
            );
        }
        if self.haircut_floor_ppm > self.haircut_max_ppm {
            return err(
                ConfigField::HaircutFloor,
                self.haircut_floor_ppm.into(),
                self.haircut_max_ppm.into(),
            );
        }
        if self.vol_multiplier_ppm > MAX_VOL_MULTIPLIER_PPM {
            return err(
                ConfigField::VolMultiplier,
                self.vol_multiplier_ppm.into(),
                MAX_VOL_MULTIPLIER_PPM.into(),
            );
        }
        if self.liquidity_depth >= LIQUIDITY_DEPTH_LIMIT {
            return err(
                ConfigField::LiquidityDepth,
                self.liquidity_depth,
                LIQUIDITY_DEPTH_LIMIT - 1,
            );
        }
        if self.is_quote {
            if self.underlying != 0 {
                return err(ConfigField::Underlying, self.underlying.into(), 0);
            }
            if self.risk_offsetting {
                return err(ConfigField::RiskOffsetting, 1, 0);
            }
        } else if self.underlying == 0 {
            return err(ConfigField::Underlying, 0, 1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AssetConfig {
        AssetConfig {
            underlying: 7,
            decimals: 8,
            enabled: true,
            is_quote: false,
            risk_offsetting: true,
            haircut_floor_ppm: 50_000,
            vol_multiplier_ppm: 1_500_000,
            haircut_max_ppm: 400_000,
            liquidity_depth: 1_000 * 1_000_000_000_000_000_000,
        }
    }

    #[test]
    fn pack_unpack_round_trips() {
        let c = sample();
        assert_eq!(AssetConfig::unpack(c.pack()), c);
        let zero = AssetConfig::default();
        assert_eq!(zero.pack(), [0u8; 32]);
        assert_eq!(AssetConfig::unpack([0u8; 32]), zero);
    }

    #[test]
    fn pack_unpack_round_trips_at_every_field_maximum() {
        let c = AssetConfig {
            underlying: u32::MAX,
            decimals: u8::MAX,
            enabled: true,
            is_quote: true,
            risk_offsetting: true,
            haircut_floor_ppm: u32::MAX,
            vol_multiplier_ppm: u32::MAX,
            haircut_max_ppm: u32::MAX,
            liquidity_depth: LIQUIDITY_DEPTH_LIMIT - 1,
        };
        let w = c.pack();
        assert_eq!(AssetConfig::unpack(w), c);
        // Everything but the reserved bits and the 5 unused flag bits is set.
        assert_eq!(&w[..2], &[0, 0]);
        assert_eq!(w[26], 0b111);
        assert!(w[2..26].iter().chain(&w[27..]).all(|b| *b == 0xff));
    }

    #[test]
    fn layout_puts_each_field_at_its_documented_offset() {
        let c = AssetConfig {
            underlying: 0x0102_0304,
            decimals: 0x05,
            enabled: true,
            is_quote: false,
            risk_offsetting: true,
            haircut_floor_ppm: 0x0607_0809,
            vol_multiplier_ppm: 0x0a0b_0c0d,
            haircut_max_ppm: 0x0e0f_1011,
            liquidity_depth: 0x1213_1415_1617_1819_1a1b_1c1d,
        };
        let w = c.pack();
        let expected: [u8; 32] = [
            0, 0, // reserved
            0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, // depth
            0x0e, 0x0f, 0x10, 0x11, // max
            0x0a, 0x0b, 0x0c, 0x0d, // k
            0x06, 0x07, 0x08, 0x09,  // floor
            0b101, // flags: enabled | risk_offsetting
            0x05,  // decimals
            0x01, 0x02, 0x03, 0x04, // underlying
        ];
        assert_eq!(w, expected);
    }

    #[test]
    fn unpack_ignores_reserved_bits() {
        let mut w = sample().pack();
        w[0] = 0xff;
        w[1] = 0x01;
        assert_eq!(AssetConfig::unpack(w), sample());
    }

    #[test]
    fn pack_truncates_depth_to_96_bits() {
        let mut c = sample();
        c.liquidity_depth = LIQUIDITY_DEPTH_LIMIT + 5;
        assert_eq!(AssetConfig::unpack(c.pack()).liquidity_depth, 5);
    }

    #[test]
    fn validate_accepts_sample_and_quote() {
        assert_eq!(sample().validate(), Ok(()));
        let quote = AssetConfig {
            underlying: 0,
            decimals: 6,
            enabled: true,
            is_quote: true,
            ..AssetConfig::default()
        };
        assert_eq!(quote.validate(), Ok(()));
    }

    #[test]
    fn validate_accepts_bounds_inclusive() {
        let mut c = sample();
        c.decimals = MAX_DECIMALS;
        c.haircut_floor_ppm = PPM;
        c.haircut_max_ppm = PPM;
        c.vol_multiplier_ppm = MAX_VOL_MULTIPLIER_PPM;
        c.liquidity_depth = LIQUIDITY_DEPTH_LIMIT - 1;
        assert_eq!(c.validate(), Ok(()));
    }

    fn rejected(c: AssetConfig) -> (ConfigField, u128, u128) {
        let e = c.validate().unwrap_err();
        (e.field, e.value, e.bound)
    }

    #[test]
    fn validate_rejects_each_bound() {
        let c = AssetConfig {
            decimals: 37,
            ..sample()
        };
        assert_eq!(rejected(c), (ConfigField::Decimals, 37, 36));

        let c = AssetConfig {
            haircut_max_ppm: PPM + 1,
            ..sample()
        };
        assert_eq!(rejected(c), (ConfigField::HaircutMax, 1_000_001, 1_000_000));

        let c = AssetConfig {
            haircut_floor_ppm: 400_001,
            ..sample()
        };
        assert_eq!(rejected(c), (ConfigField::HaircutFloor, 400_001, 400_000));

        let c = AssetConfig {
            vol_multiplier_ppm: 20_000_001,
            ..sample()
        };
        assert_eq!(
            rejected(c),
            (ConfigField::VolMultiplier, 20_000_001, 20_000_000)
        );

        let c = AssetConfig {
            liquidity_depth: LIQUIDITY_DEPTH_LIMIT,
            ..sample()
        };
        assert_eq!(
            rejected(c),
            (
                ConfigField::LiquidityDepth,
                LIQUIDITY_DEPTH_LIMIT,
                LIQUIDITY_DEPTH_LIMIT - 1
            )
        );

        let c = AssetConfig {
            underlying: 0,
            ..sample()
        };
        assert_eq!(rejected(c), (ConfigField::Underlying, 0, 1));

        let c = AssetConfig {
            is_quote: true,
            risk_offsetting: false,
            ..sample()
        };
        assert_eq!(rejected(c), (ConfigField::Underlying, 7, 0));

        let c = AssetConfig {
            is_quote: true,
            underlying: 0,
            ..sample()
        };
        assert_eq!(rejected(c), (ConfigField::RiskOffsetting, 1, 0));
    }

    #[test]
    fn field_codes_are_stable() {
        assert_eq!(ConfigField::Underlying as u8, 1);
        assert_eq!(ConfigField::Decimals as u8, 2);
        assert_eq!(ConfigField::HaircutFloor as u8, 3);
        assert_eq!(ConfigField::VolMultiplier as u8, 4);
        assert_eq!(ConfigField::HaircutMax as u8, 5);
        assert_eq!(ConfigField::LiquidityDepth as u8, 6);
        assert_eq!(ConfigField::RiskOffsetting as u8, 7);
    }
}
