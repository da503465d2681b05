//! # RiskLens
//!
//! The read-only views of the margin system that no transaction needs, off the hot path:
//! an account's risk and Greeks, its health, whether it is liquidatable, a keeper's scan,
//! an instrument's quote, an account's owner, frozen flag and collateral balances
//! (from the vault's `getAccountState`), and a collateral's configuration as named fields
//! with the packed word the vault's setters take (the vault cannot afford decoding the
//! struct itself: docs/MEASUREMENTS.md). Wallets, keepers and risk teams read them; the RiskEngine
//! and the KeeperModule never call this contract, so its code costs their transactions
//! nothing and leaves the RiskReader's bytes to the checks.
//!
//! Every number is the RiskReader's (`evaluations`, the same words the keeper prices
//! liquidations from) or, for a quote, the calculator's on the reader's parameters and the
//! oracle's data: the lens holds no risk state of its own, only the reader's address.
//!
//! Call graph: anyone calls this contract (as views); it calls the RiskReader, the
//! CollateralVault and the PositionRegistry (scan), and the RiskOracle and the
//! RiskCalculator (quote), all as views. Nothing calls it back.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
extern crate alloc;

use alloc::vec::Vec;

use alloy_primitives::{Address, I256, U256};
use alloy_sol_types::SolCall;
use margin_common::{
    abi::{self, accounts_view, address_word, calls, view, Answer},
    i256, malformed, nonzero,
    wire::{self, params_words, AccountWords, Evaluation},
    MathFailure, ParameterOutOfBounds, ZeroAddress,
};
use stylus_margin::collateral;
use stylus_sdk::{prelude::*, storage::StorageAddress};

margin_common::errors! {
    /// Errors of the RiskLens (the reader's, vault's, registry's, oracle's and calculator's
    /// are bubbled up unchanged).
    pub enum Error {
        MathFailure,
        ParameterOutOfBounds,
        ZeroAddress,
    }
}

/// The views' answers, named (`sol!` structs; each the same words as the tuple it replaced).
pub mod types {
    use alloy_sol_types::sol;
    use stylus_margin::collateral;

    sol! {
        /// A keeper's page of accounts (`scan`): the accounts holding positions, with their
        /// equity and MM (WAD) and whether each is liquidatable now.
        #[derive(Debug, PartialEq, Eq)]
        struct ScanPage {
            uint256[] accounts;
            int256[] equity;
            int256[] mm;
            bool[] liquidatable;
        }

        /// An account's risk (`accountRisk`): equity (oracle), MM, IM, equity for IM, and
        /// per underlying its id, delta, gamma, vega and theta (WAD); the index of the worst
        /// scenario (255: no positions).
        #[derive(Debug, PartialEq, Eq)]
        struct AccountRisk {
            int256 equity;
            int256 mm;
            int256 im;
            int256 equityIm;
            uint32[] underlyings;
            int256[] delta;
            int256[] gamma;
            int256[] vega;
            int256[] theta;
            uint8 worstScenario;
        }

        /// One unit of an instrument now (`quote`): price, delta, gamma, vega, theta (WAD).
        #[derive(Debug, PartialEq, Eq)]
        struct Quote {
            int256 price;
            int256 delta;
            int256 gamma;
            int256 vega;
            int256 theta;
        }

        /// A collateral's configuration, the vault's packed `AssetConfig` word as named
        /// fields (`assetConfig`, `packAssetConfig`): the oracle id of the underlying that
        /// prices it (0: the quote asset), the token's decimals, whether deposits are
        /// enabled, whether it is the quote asset, whether it offsets the risk of options
        /// on its underlying, the haircut floor, volatility multiplier `k` and haircut
        /// ceiling (ppm: 1,000,000 = 100% or k = 1.0), and the market depth of the
        /// haircut's size term (WAD of the token). The vault's `listAsset` and
        /// `setAssetConfig` take the word (they set the decimals and the quote flag
        /// themselves).
        #[derive(Debug, PartialEq, Eq)]
        struct AssetConfig {
            uint32 underlying;
            uint8 decimals;
            bool enabled;
            bool isQuote;
            bool riskOffsetting;
            uint32 haircutFloorPpm;
            uint32 volMultiplierPpm;
            uint32 haircutMaxPpm;
            uint128 liquidityDepth;
        }
    }

    margin_common::abi_struct!(
        AssetConfig,
        "(uint32,uint8,bool,bool,bool,uint32,uint32,uint32,uint128)"
    );
    margin_common::abi_struct!(ScanPage, "(uint256[],int256[],int256[],bool[])");
    margin_common::abi_struct!(
        AccountRisk,
        "(int256,int256,int256,int256,uint32[],int256[],int256[],int256[],int256[],uint8)"
    );
    margin_common::abi_struct!(Quote, "(int256,int256,int256,int256,int256)");

    impl From<collateral::AssetConfig> for AssetConfig {
        fn from(c: collateral::AssetConfig) -> Self {
            AssetConfig {
                underlying: c.underlying,
                decimals: c.decimals,
                enabled: c.enabled,
                isQuote: c.is_quote,
                riskOffsetting: c.risk_offsetting,
                haircutFloorPpm: c.haircut_floor_ppm,
                volMultiplierPpm: c.vol_multiplier_ppm,
                haircutMaxPpm: c.haircut_max_ppm,
                liquidityDepth: c.liquidity_depth,
            }
        }
    }

    impl From<AssetConfig> for collateral::AssetConfig {
        fn from(c: AssetConfig) -> Self {
            collateral::AssetConfig {
                underlying: c.underlying,
                decimals: c.decimals,
                enabled: c.enabled,
                is_quote: c.isQuote,
                risk_offsetting: c.riskOffsetting,
                haircut_floor_ppm: c.haircutFloorPpm,
                vol_multiplier_ppm: c.volMultiplierPpm,
                haircut_max_ppm: c.haircutMaxPpm,
                liquidity_depth: c.liquidityDepth,
            }
        }
    }

    /// The 0-based position in [`AssetConfig`] of the field a
    /// [`collateral::ConfigField`] names (`ParameterOutOfBounds.which`).
    pub fn position(field: collateral::ConfigField) -> u8 {
        use collateral::ConfigField::*;
        match field {
            Underlying => 0,
            Decimals => 1,
            RiskOffsetting => 4,
            HaircutFloor => 5,
            VolMultiplier => 6,
            HaircutMax => 7,
            LiquidityDepth => 8,
        }
    }
}

#[storage]
#[entrypoint]
pub struct RiskLens {
    reader: StorageAddress,
}

/// The largest page of a scan.
pub const SCAN_PAGE: u64 = 64;

impl RiskLens {
    /// The reader's wiring: (vault, registry, oracle, calculator).
    fn sources(&self) -> Result<[Address; 4], Error> {
        let a = view(self.reader.get(), calls::sourcesCall::SELECTOR, &[], None)?;
        let mut out = [Address::ZERO; 4];
        for (i, o) in out.iter_mut().enumerate() {
            *o = Address::from_word(a.word(i)?.into());
        }
        Ok(out)
    }

    /// The reader's evaluations of `accounts` (as no actor sees them), one per account.
    fn evaluations(&self, accounts: &[U256]) -> Result<Vec<Evaluation>, Error> {
        let words = accounts_view(
            self.reader.get(),
            calls::evaluationsCall::SELECTOR,
            accounts,
            Address::ZERO,
        )?;
        Evaluation::decode_all(&words)
            .filter(|e| e.len() == accounts.len())
            .ok_or_else(|| malformed().into())
    }

    fn one(&self, account: U256) -> Result<Evaluation, Error> {
        self.evaluations(&[account])?
            .pop()
            .ok_or_else(|| malformed().into())
    }

    /// The vault's `getAccountState(account, 0)`: (owner, frozen, authorized, cash,
    /// tokens, amounts, configs).
    fn account_state(&self, vault: Address, account: U256) -> Result<Answer, Error> {
        Ok(view(
            vault,
            calls::getAccountStateCall::SELECTOR,
            &[account, U256::ZERO],
            None,
        )?
        .tuple()?)
    }

    /// [`Self::account_state`], or `None` for an id no account has (ids are sequential
    /// from 1).
    fn state(&self, account: U256) -> Result<Option<Answer>, Error> {
        let [vault, ..] = self.sources()?;
        let last = view(vault, calls::accountCountCall::SELECTOR, &[], None)?.word(0)?;
        if account.is_zero() || account > last {
            return Ok(None);
        }
        Ok(Some(self.account_state(vault, account)?))
    }
}

#[public]
impl RiskLens {
    /// Points the lens at a RiskReader (once).
    /// # Errors
    /// `ZeroAddress` for a zero reader.
    #[constructor]
    pub fn constructor(&mut self, reader: Address) -> Result<(), Error> {
        nonzero(&[reader])?;
        self.reader.set(reader);
        Ok(())
    }

    /// The RiskReader whose numbers this lens shows.
    pub fn reader(&self) -> Address {
        self.reader.get()
    }

    /// A keeper's scan: of the accounts `first .. first + count` (ids start at 1; the
    /// page stops at the last account), those holding positions, with equity, MM and
    /// whether each is liquidatable now (equity < MM on fresh data). At most 64 a page.
    /// # Errors
    /// The reader's, vault's and registry's errors unchanged.
    pub fn scan(&self, first: U256, count: U256) -> Result<types::ScanPage, Error> {
        let [vault, registry, ..] = self.sources()?;
        let last = view(vault, calls::accountCountCall::SELECTOR, &[], None)?.word(0)?;
        let first = first.max(U256::from(1));
        let end = first
            .saturating_add(count.min(U256::from(SCAN_PAGE)))
            .min(last.saturating_add(U256::from(1)));
        let mut ids = Vec::new();
        let mut a = first;
        while a < end {
            let held = view(registry, calls::getPositionsCall::SELECTOR, &[a], None)?
                .tuple()?
                .array(0)?;
            if !held.is_empty() {
                ids.push(a);
            }
            a += U256::from(1);
        }
        let evals = if ids.is_empty() {
            Vec::new()
        } else {
            self.evaluations(&ids)?
        };
        let s = |e: &Evaluation| e.check.standing;
        Ok(types::ScanPage {
            accounts: ids,
            equity: evals.iter().map(|e| i256(s(e).equity)).collect(),
            mm: evals.iter().map(|e| i256(s(e).mm)).collect(),
            liquidatable: evals.iter().map(liquidatable).collect(),
        })
    }

    /// Equity (oracle), MM, IM, equity for IM, and per underlying: id, delta, gamma,
    /// vega, theta (WAD); plus the index of the worst scenario (255: no positions).
    /// # Errors
    /// The reader's errors unchanged.
    pub fn account_risk(&self, account: U256) -> Result<types::AccountRisk, Error> {
        let e = self.one(account)?;
        let s = e.check.standing;
        let g = &e.greeks;
        Ok(types::AccountRisk {
            equity: i256(s.equity),
            mm: i256(s.mm),
            im: i256(s.im),
            equityIm: i256(s.equity_im),
            underlyings: g.iter().map(|x| x.underlying).collect(),
            delta: g.iter().map(|x| i256(x.delta)).collect(),
            gamma: g.iter().map(|x| i256(x.gamma)).collect(),
            vega: g.iter().map(|x| i256(x.vega)).collect(),
            theta: g.iter().map(|x| i256(x.theta)).collect(),
            worstScenario: e.worst_scenario,
        })
    }

    /// `equity - MM` (negative: below maintenance).
    /// # Errors
    /// The reader's errors unchanged.
    pub fn health(&self, account: U256) -> Result<I256, Error> {
        Ok(i256(self.one(account)?.check.standing.mm_surplus()))
    }

    /// Whether equity < MM on fresh data (a stale reading never makes an account
    /// liquidatable on its own).
    /// # Errors
    /// The reader's errors unchanged.
    pub fn is_liquidatable(&self, account: U256) -> Result<bool, Error> {
        Ok(liquidatable(&self.one(account)?))
    }

    /// The owner of an account (the vault's record).
    /// # Errors
    /// The vault's `UnknownAccount` if it does not exist.
    pub fn owner_of(&self, account: U256) -> Result<Address, Error> {
        let [vault, ..] = self.sources()?;
        let state = self.account_state(vault, account)?;
        Ok(Address::from_word(state.word(0)?.into()))
    }

    /// Whether the keeper module has frozen `account` for its liquidation (false if it
    /// does not exist).
    /// # Errors
    /// The vault's errors unchanged.
    pub fn is_frozen(&self, account: U256) -> Result<bool, Error> {
        Ok(match self.state(account)? {
            Some(state) => !state.word(1)?.is_zero(),
            None => false,
        })
    }

    /// An account's balance of a collateral token, 18 decimals (0 for an unknown
    /// account, an unlisted token, or the quote asset: that is the account's cash).
    /// # Errors
    /// The vault's errors unchanged.
    pub fn balance_of(&self, account: U256, token: Address) -> Result<U256, Error> {
        let Some(state) = self.state(account)? else {
            return Ok(U256::ZERO);
        };
        let tokens = state.array(4)?;
        Ok(
            match tokens.iter().position(|t| *t == address_word(token)) {
                Some(i) => state.array(5)?.get(i).copied().unwrap_or_default(),
                None => U256::ZERO,
            },
        )
    }

    /// A collateral's configuration in the vault, as named fields (all zero for a token
    /// that is not listed).
    /// # Errors
    /// The vault's errors unchanged.
    pub fn asset_config(&self, token: Address) -> Result<types::AssetConfig, Error> {
        let [vault, ..] = self.sources()?;
        let word = view(
            vault,
            calls::assetConfigCall::SELECTOR,
            &[address_word(token)],
            None,
        )?
        .word(0)?;
        Ok(collateral::AssetConfig::unpack(word.to_be_bytes()).into())
    }

    /// The packed word of a configuration, for the vault's `listAsset` and
    /// `setAssetConfig` (`stylus_margin::collateral::AssetConfig::pack`), after the hard
    /// bounds the vault checks (`AssetConfig::validate`).
    /// # Errors
    /// `ParameterOutOfBounds(which, value)`: the first field out of bounds (`which` its
    /// 0-based position in `AssetConfig`).
    pub fn pack_asset_config(&self, config: types::AssetConfig) -> Result<U256, Error> {
        Ok(pack_config(config)?)
    }

    /// Price and Greeks of one unit of an instrument now: (price, delta, gamma, vega,
    /// theta), WAD, on the oracle price and the expiry's surface, with the reader's
    /// parameters.
    /// # Errors
    /// The reader's, oracle's and calculator's errors unchanged; `MathFailure(4)` for a
    /// malformed instrument id.
    pub fn quote(&self, instrument: U256) -> Result<types::Quote, Error> {
        let [_, _, oracle, calculator] = self.sources()?;
        let p = view(self.reader.get(), calls::paramsCall::SELECTOR, &[], None)?;
        let mut values = [0u64; 12];
        for (i, v) in values.iter_mut().enumerate() {
            *v = u64::try_from(p.word(i)?).map_err(|_| malformed())?;
        }
        let one = AccountWords {
            ids: alloc::vec![instrument],
            sizes: alloc::vec![U256::from(stylus_margin::fixed::WAD as u128)],
            entries: alloc::vec![U256::ZERO],
            ..AccountWords::default()
        };
        let mut keys = Vec::new();
        wire::needed_keys(&one.ids, &[], &[], &mut keys);
        let request = wire::Request {
            now: self.vm().block_timestamp(),
            grid_len: 1,
            params: params_words(&values),
            keys,
            accounts: alloc::vec![one],
            ..wire::Request::default()
        };
        let words = abi::evaluate(oracle, calculator, request)?;
        let e = Evaluation::decode_all(&words)
            .and_then(|mut e| e.pop())
            .ok_or_else(malformed)?;
        let g = e.greeks.first().copied().unwrap_or_default();
        Ok(types::Quote {
            price: i256(e.mtm),
            delta: i256(g.delta),
            gamma: i256(g.gamma),
            vega: i256(g.vega),
            theta: i256(g.theta),
        })
    }
}

/// [`RiskLens::pack_asset_config`].
fn pack_config(config: types::AssetConfig) -> Result<U256, ParameterOutOfBounds> {
    let c: collateral::AssetConfig = config.into();
    c.validate().map_err(|e| ParameterOutOfBounds {
        which: types::position(e.field),
        value: I256::from_raw(U256::from(e.value)),
    })?;
    Ok(U256::from_be_bytes(c.pack()))
}

/// Liquidatable: equity < MM on fresh data.
fn liquidatable(e: &Evaluation) -> bool {
    e.check.failure.is_none() && e.check.standing.mm_surplus() < 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_sol_types::SolType;
    use stylus_sdk::abi::AbiType;

    /// Each view's struct is its Solidity tuple, and a contract returning it answers the
    /// same bytes as when it returned the tuple (stylus-sdk encodes a return value `T` as
    /// `T::SolType::abi_encode`), on random values and lengths.
    #[test]
    fn view_structs_answer_the_tuples_they_replaced() {
        use margin_common::abi::tuple_type;
        assert_eq!(
            types::ScanPage::ABI.as_str(),
            tuple_type::<types::ScanPage>()
        );
        assert_eq!(
            types::AccountRisk::ABI.as_str(),
            tuple_type::<types::AccountRisk>()
        );
        assert_eq!(types::Quote::ABI.as_str(), tuple_type::<types::Quote>());
        let mut r = margin_books::Rng(43);
        let mut int = || {
            I256::from_raw(U256::from(r.next_u64()))
                - I256::from_raw(U256::from(r.next_u64()) << 100)
        };
        for n in 0..6 {
            let ints = |f: &mut dyn FnMut() -> I256| (0..n).map(|_| f()).collect::<Vec<I256>>();
            let accounts: Vec<U256> = (0..n).map(|k| U256::from(k * 7 + 1)).collect();
            let (equity, mm) = (ints(&mut int), ints(&mut int));
            let liquidatable: Vec<bool> = (0..n).map(|k| k % 2 == 0).collect();
            let page = types::ScanPage {
                accounts: accounts.clone(),
                equity: equity.clone(),
                mm: mm.clone(),
                liquidatable: liquidatable.clone(),
            };
            type Page = <(Vec<U256>, Vec<I256>, Vec<I256>, Vec<bool>) as AbiType>::SolType;
            assert_eq!(
                <types::ScanPage as SolType>::abi_encode(&page),
                Page::abi_encode(&(accounts, equity, mm, liquidatable))
            );
            let (e, m, i, q) = (int(), int(), int(), int());
            let underlyings: Vec<u32> = (0..n).map(|k| k as u32 + 1).collect();
            let (d, g, v, t) = (
                ints(&mut int),
                ints(&mut int),
                ints(&mut int),
                ints(&mut int),
            );
            let risk = types::AccountRisk {
                equity: e,
                mm: m,
                im: i,
                equityIm: q,
                underlyings: underlyings.clone(),
                delta: d.clone(),
                gamma: g.clone(),
                vega: v.clone(),
                theta: t.clone(),
                worstScenario: n as u8,
            };
            type Risk = <(
                I256,
                I256,
                I256,
                I256,
                Vec<u32>,
                Vec<I256>,
                Vec<I256>,
                Vec<I256>,
                Vec<I256>,
                u8,
            ) as AbiType>::SolType;
            assert_eq!(
                <types::AccountRisk as SolType>::abi_encode(&risk),
                Risk::abi_encode(&(e, m, i, q, underlyings, d, g, v, t, n as u8))
            );
            let (p, d, g, v, t) = (int(), int(), int(), int(), int());
            let quote = types::Quote {
                price: p,
                delta: d,
                gamma: g,
                vega: v,
                theta: t,
            };
            type Five = <(I256, I256, I256, I256, I256) as AbiType>::SolType;
            assert_eq!(
                <types::Quote as SolType>::abi_encode(&quote),
                Five::abi_encode(&(p, d, g, v, t))
            );
        }
    }

    /// A random configuration within every bound (quote or not).
    fn valid_config(next: &mut impl FnMut() -> u64) -> collateral::AssetConfig {
        use collateral::{LIQUIDITY_DEPTH_LIMIT, MAX_HAIRCUT_PPM, MAX_VOL_MULTIPLIER_PPM};
        let is_quote = next().is_multiple_of(4);
        let max = (next() % (u64::from(MAX_HAIRCUT_PPM) + 1)) as u32;
        collateral::AssetConfig {
            underlying: if is_quote {
                0
            } else {
                1 + next() as u32 % u32::MAX
            },
            decimals: (next() % 37) as u8,
            enabled: next().is_multiple_of(2),
            is_quote,
            risk_offsetting: !is_quote && next().is_multiple_of(2),
            haircut_floor_ppm: (next() % (u64::from(max) + 1)) as u32,
            vol_multiplier_ppm: (next() % (u64::from(MAX_VOL_MULTIPLIER_PPM) + 1)) as u32,
            haircut_max_ppm: max,
            liquidity_depth: u128::from(next()) * u128::from(next()) % LIQUIDITY_DEPTH_LIMIT,
        }
    }

    /// `assetConfig` and `packAssetConfig` are inverse on every valid configuration, and
    /// the word is the core's (what the vault stores and `getAccountState` carries).
    #[test]
    fn asset_config_views_round_trip_the_vaults_word() {
        assert_eq!(
            types::AssetConfig::ABI.as_str(),
            margin_common::abi::tuple_type::<types::AssetConfig>()
        );
        let mut r = margin_books::Rng(47);
        let mut next = || r.next_u64();
        for k in 0..2_000 {
            let c = valid_config(&mut next);
            let word = U256::from_be_bytes(c.pack());
            let named =
                types::AssetConfig::from(collateral::AssetConfig::unpack(word.to_be_bytes()));
            assert_eq!(collateral::AssetConfig::from(named.clone()), c, "{k}");
            assert_eq!(pack_config(named), Ok(word), "{k}");
        }
    }

    /// A configuration breaking one bound is refused with `which` the position of that
    /// field among the struct's Solidity fields, and the value given.
    #[test]
    fn pack_asset_config_names_the_fields_position() {
        use collateral::ConfigField::*;
        let fields: Vec<String> = {
            let root = <types::AssetConfig as alloy_sol_types::SolStruct>::eip712_root_type();
            let inner = root
                .split_once('(')
                .unwrap()
                .1
                .trim_end_matches(')')
                .to_string();
            inner
                .split(',')
                .map(|f| f.split(' ').nth(1).unwrap().to_string())
                .collect()
        };
        let mut r = margin_books::Rng(53);
        let mut next = || r.next_u64();
        for _ in 0..200 {
            let good = valid_config(&mut next);
            let cases: [(collateral::ConfigField, &str, collateral::AssetConfig, u128); 7] = [
                (
                    Underlying,
                    "underlying",
                    collateral::AssetConfig {
                        underlying: if good.is_quote { 7 } else { 0 },
                        ..good
                    },
                    if good.is_quote { 7 } else { 0 },
                ),
                (
                    Decimals,
                    "decimals",
                    collateral::AssetConfig {
                        decimals: 37,
                        ..good
                    },
                    37,
                ),
                (
                    HaircutFloor,
                    "haircutFloorPpm",
                    collateral::AssetConfig {
                        haircut_floor_ppm: good.haircut_max_ppm + 1,
                        ..good
                    },
                    u128::from(good.haircut_max_ppm) + 1,
                ),
                (
                    VolMultiplier,
                    "volMultiplierPpm",
                    collateral::AssetConfig {
                        vol_multiplier_ppm: collateral::MAX_VOL_MULTIPLIER_PPM + 1,
                        ..good
                    },
                    u128::from(collateral::MAX_VOL_MULTIPLIER_PPM) + 1,
                ),
                (
                    HaircutMax,
                    "haircutMaxPpm",
                    collateral::AssetConfig {
                        haircut_max_ppm: collateral::MAX_HAIRCUT_PPM + 1,
                        haircut_floor_ppm: 0,
                        ..good
                    },
                    u128::from(collateral::MAX_HAIRCUT_PPM) + 1,
                ),
                (
                    LiquidityDepth,
                    "liquidityDepth",
                    collateral::AssetConfig {
                        liquidity_depth: collateral::LIQUIDITY_DEPTH_LIMIT,
                        ..good
                    },
                    collateral::LIQUIDITY_DEPTH_LIMIT,
                ),
                (
                    RiskOffsetting,
                    "riskOffsetting",
                    collateral::AssetConfig {
                        is_quote: true,
                        underlying: 0,
                        risk_offsetting: true,
                        ..good
                    },
                    1,
                ),
            ];
            for (field, name, bad, value) in cases {
                let at = fields.iter().position(|f| f == name).unwrap() as u8;
                assert_eq!(types::position(field), at, "{field:?}");
                assert_eq!(
                    pack_config(bad.into()),
                    Err(ParameterOutOfBounds {
                        which: at,
                        value: I256::from_raw(U256::from(value)),
                    }),
                    "{field:?} {bad:?}"
                );
            }
        }
    }
}
