//! # CollateralVault
//!
//! The ledger of Stylus Margin: accounts (id, owner, operators, frozen flag),
//! ERC20 collateral held per account, and a signed cash balance per account in
//! the quote asset. The RiskEngine drives it; the vault never calls the engine
//! (on chain, re-entering a contract already on the call stack reverts). The
//! vault calls ERC20 tokens only.
//!
//! ## Who may do what
//! - Anyone: [`CollateralVault::open_account`], [`CollateralVault::deposit`]
//!   into any existing account, and the views.
//! - An account's owner: approve or revoke operators, transfer the account
//!   (not while it is frozen). An operator is trusted by the engine to trade and
//!   withdraw for the account; it cannot change operators. Transferring an
//!   account revokes all its operators.
//! - The owner role (set by the constructor, two-step transfer): list assets,
//!   set caps and haircut parameters, set the engine address once.
//! - The engine only: move cash and collateral between accounts, explicit cash
//!   ledger entries, withdrawals (the engine checks margin; the vault checks
//!   balances), freeze and unfreeze, and the one-call account read.
//!
//! ## Units
//! Every balance, cap and total inside the vault is in 18 decimals (WAD),
//! bounded by `u128`. Token amounts are converted at the edge by
//! [`stylus_margin::units`]: a deposit credits its WAD value rounded down; a
//! withdrawal of `amount` WAD pays `from_wad(amount)` token units rounded down
//! and debits exactly the WAD value of what it pays (the unpayable dust stays in
//! the account).
//!
//! ## Assets
//! At most [`MAX_ASSETS`] tokens are listed, each with one packed
//! [`AssetConfig`] word. Exactly one may be the quote asset: its deposits and
//! withdrawals move the account's cash. Each account keeps a bitmask of the
//! listed assets it holds a non-zero balance of, so reading an account's whole
//! state touches at most 16 balances and never loops over unbounded storage.
//!
//! ## Invariants
//! - For every listed token, the sum of all accounts' balances equals
//!   [`CollateralVault::total_deposits`], which equals what the vault holds
//!   (in WAD) less what was sent to it without a deposit (and, for tokens with
//!   more than 18 decimals, the sub-WAD dust of deposits).
//! - The sum of all accounts' cash equals [`CollateralVault::total_cash`],
//!   which equals the quote asset's `total_deposits` plus the net of all
//!   explicit [`CollateralVault::adjust_cash`] entries.
//!
//! ## Initialisation
//! A Stylus constructor (`#[constructor]`, stylus-sdk 0.9; motsu 0.10 calls it
//! as an ordinary method) sets the owner role. On chain the SDK guarantees it
//! runs once, at deployment.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
extern crate alloc;

use alloc::{vec, vec::Vec};

use alloy_primitives::{
    aliases::{I128, U128, U16, U64},
    Address, FixedBytes, I256, U256,
};
use margin_common::{
    encode::emit, CallerNotEngineOrKeeper, Owned, Unauthorized, Wired, ZeroAddress,
};
use stylus_margin::{
    collateral::{AssetConfig, ConfigField, MAX_DECIMALS},
    fixed,
    units::{self, UnitsError, WAD},
};
use stylus_sdk::{
    call::RawCall,
    prelude::*,
    storage::{
        StorageAddress, StorageArray, StorageBool, StorageFixedBytes, StorageI128, StorageMap,
        StorageU128, StorageU16, StorageU64,
    },
};

pub use sol::*;

// Each event's words (indexed fields; data fields), for the shared encoder
// (`margin_common::encode`): tested against alloy's encoding in `event_tests`.
margin_common::event_words! {
    AccountOpened { account, owner }
    OperatorSet { account, operator; approved }
    AccountTransferred { account, previousOwner, newOwner }
    FrozenSet { account; frozen }
    AssetListed { token; config, depositCap }
    AssetConfigUpdated { token; config }
    DepositCapSet { token; cap, totalDeposits }
    Deposited { account, token, from; tokenAmount, amount }
    Withdrawn { account, token, to; tokenAmount, amount }
    CashTransferred { from, to; amount }
    CashSocialised { ; absorbed, index }
    CashAdjusted { account, reason; delta, cash }
    CollateralMoved { from, to, token; amount }
    FractionMoved { from, to; fractionWad, cashMoved }
}

/// The most assets that can be listed (the quote asset included).
pub const MAX_ASSETS: usize = 16;

/// `which` codes of [`ValueOutOfBounds`] beyond the
/// [`ConfigField`] codes (1 to 7).
pub mod which {
    /// A token or WAD amount above what the vault tracks (`u128`).
    pub const AMOUNT: u8 = 16;
    /// A cash amount or resulting cash balance outside `int128`.
    pub const CASH: u8 = 17;
    /// A fraction above 1.0 (1e18).
    pub const FRACTION: u8 = 18;
    /// A deposit cap above `u128::MAX`.
    pub const DEPOSIT_CAP: u8 = 19;
    /// `setAssetConfig` naming an underlying other than the listed one.
    pub const UNDERLYING: u8 = 20;
    /// A config word with bits outside its fields (bound: the word without them).
    pub const CONFIG: u8 = 21;
    /// `socialise`: an index not below the current one or below 1e12, or a negative
    /// absorbed amount (value: the index; bound: the current index).
    pub const SOCIALISATION: u8 = 22;
}

/// Cash ledger reasons (any `uint8` is accepted): `stylus_margin::ledger`.
pub use stylus_margin::ledger as reason;

/// The vault's ABI types.
pub mod types {
    use alloy_sol_types::sol;

    sol! {
        /// An account's whole state (`getAccountState`): its owner, whether it is frozen,
        /// whether the `actor` asked about may act for it, its cash (signed WAD), and every
        /// non-zero collateral balance other than the quote asset: the tokens in listing
        /// order, their balances (WAD) and their packed `AssetConfig` words (at most 16).
        #[derive(Debug, PartialEq, Eq)]
        struct AccountState {
            address owner;
            bool frozen;
            bool authorized;
            int256 cash;
            address[] tokens;
            uint256[] amounts;
            uint256[] configs;
        }
    }

    margin_common::abi_struct!(
        AccountState,
        "(address,bool,bool,int256,address[],uint256[],uint256[])"
    );
}

mod sol {
    use alloy_sol_types::sol;

    sol! {
        /// A new account was opened.
        ///
        /// * `account` - Its id.
        /// * `owner` - Its owner (the caller).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event AccountOpened(uint256 indexed account, address indexed owner);

        /// An operator was approved or revoked for an account.
        ///
        /// * `account` - The account.
        /// * `operator` - The operator.
        /// * `approved` - Whether it may now act for the account.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event OperatorSet(uint256 indexed account, address indexed operator, bool approved);

        /// An account changed owner; its operators were revoked.
        ///
        /// * `account` - The account.
        /// * `previousOwner` - The former owner.
        /// * `newOwner` - The new owner.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event AccountTransferred(uint256 indexed account, address indexed previousOwner, address indexed newOwner);

        /// The engine froze or unfroze an account.
        ///
        /// * `account` - The account.
        /// * `frozen` - The new flag.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event FrozenSet(uint256 indexed account, bool frozen);

        /// A token was listed.
        ///
        /// * `token` - The ERC20.
        /// * `config` - Its packed `AssetConfig` word.
        /// * `depositCap` - Its deposit cap (18 decimals).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event AssetListed(address indexed token, uint256 config, uint256 depositCap);

        /// A listed token's configuration changed.
        ///
        /// * `token` - The ERC20.
        /// * `config` - Its new packed `AssetConfig` word.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event AssetConfigUpdated(address indexed token, uint256 config);

        /// A listed token's deposit cap changed.
        ///
        /// * `token` - The ERC20.
        /// * `cap` - The new cap (18 decimals).
        /// * `totalDeposits` - What was deposited when it was set (18 decimals).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event DepositCapSet(address indexed token, uint256 cap, uint256 totalDeposits);

        /// Tokens were deposited into an account.
        ///
        /// * `account` - The account credited.
        /// * `token` - The ERC20.
        /// * `from` - Who paid.
        /// * `tokenAmount` - Token units received.
        /// * `amount` - WAD credited (to the balance, or to cash for the quote asset).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event Deposited(uint256 indexed account, address indexed token, address indexed from, uint256 tokenAmount, uint256 amount);

        /// Tokens were withdrawn from an account.
        ///
        /// * `account` - The account debited.
        /// * `token` - The ERC20.
        /// * `to` - Who received.
        /// * `tokenAmount` - Token units sent.
        /// * `amount` - WAD debited.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event Withdrawn(uint256 indexed account, address indexed token, address indexed to, uint256 tokenAmount, uint256 amount);

        /// Cash moved between two accounts.
        ///
        /// * `from` - The account debited by `amount`.
        /// * `to` - The account credited by `amount`.
        /// * `amount` - Signed WAD amount (negative moves cash from `to` to `from`).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event CashTransferred(uint256 indexed from, uint256 indexed to, int256 amount);

        /// A deficit was socialised: every positive cash balance now reads `index / 1e18`
        /// of its stored value (rounded down); `absorbed` left the total positive cash.
        ///
        /// * `absorbed` - Cash absorbed, 18 decimals.
        /// * `index` - The new cash index (1e18 = never socialised).
        #[derive(Debug)]
        #[allow(missing_docs)]
        event CashSocialised(int256 absorbed, uint256 index);

        /// An explicit cash ledger entry (settlement, fee, deficit, bounty...).
        ///
        /// * `account` - The account.
        /// * `reason` - The entry's reason code.
        /// * `delta` - Signed WAD change of the account's cash.
        /// * `cash` - The account's cash after the entry.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event CashAdjusted(uint256 indexed account, uint8 indexed reason, int256 delta, int256 cash);

        /// Collateral moved between two accounts.
        ///
        /// * `from` - The account debited.
        /// * `to` - The account credited.
        /// * `token` - The ERC20.
        /// * `amount` - WAD moved.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event CollateralMoved(uint256 indexed from, uint256 indexed to, address indexed token, uint256 amount);

        /// A fraction of an account (every collateral and its cash) moved to
        /// another; one `CollateralMoved` per token and one `CashTransferred`
        /// precede it.
        ///
        /// * `from` - The account liquidated.
        /// * `to` - The account receiving.
        /// * `fractionWad` - The fraction, 1e18 = all.
        /// * `cashMoved` - Signed cash moved.
        #[derive(Debug)]
        #[allow(missing_docs)]
        event FractionMoved(uint256 indexed from, uint256 indexed to, uint256 fractionWad, int256 cashMoved);
    }

    sol! {
        /// No account has this id.
        ///
        /// * `account` - The id.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error UnknownAccount(uint256 account);

        /// The caller is neither the account's owner nor one of its operators.
        ///
        /// * `account` - The account.
        /// * `caller` - The caller.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error NotOwnerOrOperator(uint256 account, address caller);

        /// The caller is not the account's owner.
        ///
        /// * `account` - The account.
        /// * `caller` - The caller.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error NotAccountOwner(uint256 account, address caller);

        /// The token is not listed.
        ///
        /// * `token` - The token.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error TokenNotListed(address token);

        /// The token is listed but deposits are disabled.
        ///
        /// * `token` - The token.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error TokenDisabled(address token);

        /// A zero amount (or one that converts to zero in the other unit).
        #[derive(Debug)]
        #[allow(missing_docs)]
        error ZeroAmount();

        /// The deposit would take the token's total above its cap.
        ///
        /// * `token` - The token.
        /// * `cap` - Its cap (18 decimals).
        /// * `totalAfter` - Total deposits after this deposit (18 decimals).
        #[derive(Debug)]
        #[allow(missing_docs)]
        error DepositCapExceeded(address token, uint256 cap, uint256 totalAfter);

        /// The account holds less of the token than needed.
        ///
        /// * `account` - The account.
        /// * `token` - The token.
        /// * `balance` - Its balance (18 decimals).
        /// * `needed` - What the operation needed (18 decimals).
        #[derive(Debug)]
        #[allow(missing_docs)]
        error InsufficientBalance(uint256 account, address token, uint256 balance, uint256 needed);

        /// The account's cash is below what a quote withdrawal needs.
        ///
        /// * `account` - The account.
        /// * `cash` - Its cash (18 decimals, signed).
        /// * `needed` - What the withdrawal debits (18 decimals).
        #[derive(Debug)]
        #[allow(missing_docs)]
        error InsufficientCash(uint256 account, int256 cash, uint256 needed);

        /// The vault's recorded holdings of the token are below a withdrawal
        /// (quote cash created by ledger entries exceeds quote deposits).
        ///
        /// * `token` - The token.
        /// * `held` - Total deposits (18 decimals).
        /// * `needed` - What the withdrawal debits (18 decimals).
        #[derive(Debug)]
        #[allow(missing_docs)]
        error InsufficientVaultBalance(address token, uint256 held, uint256 needed);

        /// A token `transfer`/`transferFrom` reverted or returned something
        /// other than nothing or `true`.
        ///
        /// * `token` - The token.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error TokenTransferFailed(address token);

        /// A token `decimals`/`balanceOf` read failed or returned a malformed value.
        ///
        /// * `token` - The token.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error TokenQueryFailed(address token);

        /// Fewer tokens arrived than were transferred (fee-on-transfer token).
        ///
        /// * `token` - The token.
        /// * `expected` - Token units requested.
        /// * `received` - Token units the vault's balance grew by.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error FeeOnTransferDetected(address token, uint256 expected, uint256 received);

        /// The account is frozen (under liquidation).
        ///
        /// * `account` - The account.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error AccountFrozen(uint256 account);




        /// A parameter breaks a hard bound.
        ///
        /// * `which` - The parameter: 1 underlying, 2 decimals, 3 haircut
        ///   floor, 4 volatility multiplier, 5 haircut max, 6 liquidity depth,
        ///   7 risk-offsetting, 16 amount, 17 cash, 18 fraction, 19 deposit cap.
        /// * `value` - Its value.
        /// * `bound` - The bound it broke (the largest allowed, or the value required).
        #[derive(Debug)]
        #[allow(missing_docs)]
        error ValueOutOfBounds(uint8 which, uint256 value, uint256 bound);

        /// The listing is full.
        ///
        /// * `max` - The most assets that can be listed.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error TooManyAssets(uint256 max);

        /// The token is already listed.
        ///
        /// * `token` - The token.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error AssetAlreadyListed(address token);

        /// A quote asset is already listed.
        ///
        /// * `quote` - The quote asset.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error QuoteAlreadySet(address quote);

        /// The quote asset is cash: move it with `transferCash`, not as collateral.
        ///
        /// * `token` - The quote asset.
        #[derive(Debug)]
        #[allow(missing_docs)]
        error QuoteIsCash(address token);

        /// A new cap is below what is already deposited and `force` was not set.
        ///
        /// * `token` - The token.
        /// * `cap` - The cap requested (18 decimals).
        /// * `totalDeposits` - What is deposited (18 decimals).
        #[derive(Debug)]
        #[allow(missing_docs)]
        error CapBelowDeposits(address token, uint256 cap, uint256 totalDeposits);
    }
}

margin_common::errors! {
    /// An error of the [`CollateralVault`]; each variant is the Solidity custom
    /// error of the same name.
    pub enum Error {
        UnknownAccount,
        NotOwnerOrOperator,
        NotAccountOwner,
        TokenNotListed,
        TokenDisabled,
        ZeroAmount,
        DepositCapExceeded,
        InsufficientBalance,
        InsufficientCash,
        InsufficientVaultBalance,
        TokenTransferFailed,
        TokenQueryFailed,
        FeeOnTransferDetected,
        CallerNotEngineOrKeeper,
        AccountFrozen,
        Unauthorized,
        ZeroAddress,
        ValueOutOfBounds,
        TooManyAssets,
        AssetAlreadyListed,
        QuoteAlreadySet,
        QuoteIsCash,
        CapBelowDeposits,
    }
}

// Each error's fields in declaration order (`margin_common::encode`).
margin_common::error_words! {
    UnknownAccount { account }
    NotOwnerOrOperator { account, caller }
    NotAccountOwner { account, caller }
    TokenNotListed { token }
    TokenDisabled { token }
    ZeroAmount {}
    DepositCapExceeded { token, cap, totalAfter }
    InsufficientBalance { account, token, balance, needed }
    InsufficientCash { account, cash, needed }
    InsufficientVaultBalance { token, held, needed }
    TokenTransferFailed { token }
    TokenQueryFailed { token }
    FeeOnTransferDetected { token, expected, received }
    AccountFrozen { account }
    ValueOutOfBounds { which, value, bound }
    TooManyAssets { max }
    AssetAlreadyListed { token }
    QuoteAlreadySet { quote }
    QuoteIsCash { token }
    CapBelowDeposits { token, cap, totalDeposits }
}

/// One account.
#[storage]
pub struct Account {
    /// Owner; zero means the account does not exist.
    owner: StorageAddress,
    /// Set by the engine during liquidation.
    frozen: StorageBool,
    /// Bit `i` set iff `balances[i]` is non-zero (`i` = listing index).
    held: StorageU16,
    /// Operator generation: bumped on transfer, revoking every operator.
    epoch: StorageU64,
    /// Signed cash in the quote asset (18 decimals).
    cash: StorageI128,
    /// Collateral balances (18 decimals) by listing index, two per slot.
    balances: StorageArray<StorageU128, MAX_ASSETS>,
    /// `epoch + 1` for an approved operator of the current generation.
    operators: StorageMap<Address, StorageU64>,
}

/// One listed asset.
#[storage]
pub struct Asset {
    /// Packed [`AssetConfig`].
    config: StorageFixedBytes<32>,
    /// Deposit cap (18 decimals).
    cap: StorageU128,
    /// Total deposits (18 decimals): the sum of the accounts' balances, or for
    /// the quote asset the quote deposits less quote withdrawals.
    total: StorageU128,
    /// Listing index + 1; zero means not listed.
    slot: StorageU16,
}

/// The vault's state.
#[storage]
#[entrypoint]
pub struct CollateralVault {
    /// The owner, the engine and the keeper (their public functions inherited), and in
    /// the engine's slot the number of accounts opened.
    #[borrow]
    pub wired: Wired,
    quote: StorageAddress,
    /// Sum of all accounts' cash.
    total_cash: StorageI128,
    /// Socialisation index over positive cash (WAD; 0 reads as 1.0, never socialised).
    cash_index: StorageI128,
    /// Sum of the stored (index-free) positive cash balances.
    positive_shares: StorageI128,
    /// Listed tokens by listing index, the unused entries zero (a fixed array: reading an
    /// entry reads no length slot).
    listed: StorageArray<StorageAddress, MAX_ASSETS>,
    assets: StorageMap<Address, Asset>,
    accounts: StorageMap<U256, Account>,
    /// Net cash entered by `adjustCash`, per reason.
    adjustments: StorageMap<u8, StorageI128>,
}

// ---------------------------------------------------------------------------
// Conversions between ABI words and the 128-bit values the vault keeps.
// ---------------------------------------------------------------------------

fn u128_of_limbs(lo: u64, hi: u64) -> u128 {
    (u128::from(hi) << 64) | u128::from(lo)
}

/// `x` as `u128`, or `None` if it does not fit.
fn to_u128(x: U256) -> Option<u128> {
    let l = x.as_limbs();
    if l[2] | l[3] != 0 {
        return None;
    }
    Some(u128_of_limbs(l[0], l[1]))
}

fn load_u128(x: U128) -> u128 {
    let l = x.as_limbs();
    u128_of_limbs(l[0], l[1])
}

fn load_i128(x: I128) -> i128 {
    load_u128(x.into_raw()) as i128
}

fn store_i128(x: i128) -> I128 {
    I128::from_raw(U128::from(x as u128))
}

fn i256(x: i128) -> I256 {
    let ext = if x < 0 { u64::MAX } else { 0 };
    let u = x as u128;
    I256::from_raw(U256::from_limbs([u as u64, (u >> 64) as u64, ext, ext]))
}

/// `x` as `i128`, or `None` if it does not fit.
/// `floor(x x index / WAD)` for `index <= WAD`, exact in 128 bits: with
/// `x = q WAD + r`, it is `q index + floor(r index / WAD)`, and `r index < 1e36`.
fn scale_down(x: u128, index: u128) -> u128 {
    let (q, r) = fixed::div_wad_u128(x);
    q * index + fixed::div_wad_u128(r * index).0
}

fn to_i128(x: I256) -> Option<i128> {
    let l = x.into_raw().into_limbs();
    let v = u128_of_limbs(l[0], l[1]) as i128;
    let ext = if v < 0 { u64::MAX } else { 0 };
    (l[2] == ext && l[3] == ext).then_some(v)
}

/// The magnitude of a signed value, for error reports.
fn abs256(x: i128) -> U256 {
    U256::from(x.unsigned_abs())
}

fn word(x: [u8; 32]) -> U256 {
    U256::from_be_bytes(x)
}

fn out_of_bounds(which: u8, value: U256, bound: U256) -> Error {
    Error::ValueOutOfBounds(ValueOutOfBounds {
        which,
        value,
        bound,
    })
}

fn amount_too_large(value: U256) -> Error {
    out_of_bounds(which::AMOUNT, value, U256::from(u128::MAX))
}

fn cash_out_of_range(value: U256) -> Error {
    out_of_bounds(which::CASH, value, U256::from(i128::MAX as u128))
}

fn units_error(e: UnitsError, value: U256) -> Error {
    match e {
        UnitsError::UnsupportedDecimals(d) => out_of_bounds(
            ConfigField::Decimals as u8,
            U256::from(d),
            U256::from(MAX_DECIMALS),
        ),
        UnitsError::Overflow => amount_too_large(value),
        UnitsError::FractionAboveOne(f) => {
            out_of_bounds(which::FRACTION, U256::from(f), U256::from(WAD))
        }
    }
}

fn zero_amount() -> Error {
    Error::ZeroAmount(ZeroAmount {})
}

/// Calldata: a 4-byte selector followed by 32-byte words.
fn calldata(selector: [u8; 4], words: &[[u8; 32]]) -> Vec<u8> {
    let mut data = Vec::with_capacity(4 + 32 * words.len());
    data.extend_from_slice(&selector);
    for w in words {
        data.extend_from_slice(w);
    }
    data
}

fn addr_word(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

const SEL_TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
const SEL_TRANSFER_FROM: [u8; 4] = [0x23, 0xb8, 0x72, 0xdd];
const SEL_BALANCE_OF: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];
const SEL_DECIMALS: [u8; 4] = [0x31, 0x3c, 0xe5, 0x67];

/// Calls `token` with SafeERC20 semantics: success if the call did not revert
/// and returned either nothing or an ABI `true`.
fn safe_call(token: Address, data: &[u8]) -> Result<(), Error> {
    // SAFETY: no storage reference is held across the call (callers write
    // their state through fresh accessors afterwards) and the storage cache is
    // flushed first, so the token sees the vault's state as written. On chain
    // a token cannot re-enter the vault (stylus-sdk without `reentrant`).
    //
    // The return data is not limited with `limit_return_data(0, 32)`: motsu
    // 0.10 copies the full limit even when a token returns nothing (reading
    // out of bounds), and only listed tokens are ever called, so a return-data
    // bomb would need the owner to list a hostile token.
    let result = unsafe { RawCall::new().flush_storage_cache().call(token, data) };
    match result {
        Ok(ret) if ret.is_empty() || word_is(&ret, 1) => Ok(()),
        _ => Err(Error::TokenTransferFailed(TokenTransferFailed { token })),
    }
}

/// Whether `ret` is exactly one ABI word equal to `v`.
fn word_is(ret: &[u8], v: u8) -> bool {
    ret.len() == 32 && ret[..31].iter().all(|b| *b == 0) && ret[31] == v
}

/// Static-calls `token` and returns the first word of its answer.
fn static_word(token: Address, data: &[u8]) -> Result<[u8; 32], Error> {
    // SAFETY: a static call cannot change any state; no storage reference
    // is held across it.
    let result = unsafe { RawCall::new_static().call(token, data) };
    match result {
        Ok(ret) if ret.len() == 32 => {
            let mut w = [0u8; 32];
            w.copy_from_slice(&ret);
            Ok(w)
        }
        _ => Err(Error::TokenQueryFailed(TokenQueryFailed { token })),
    }
}

/// The vault's balance of `token`, in token units.
fn token_balance(token: Address, holder: Address) -> Result<U256, Error> {
    static_word(token, &calldata(SEL_BALANCE_OF, &[addr_word(holder)])).map(word)
}

// ---------------------------------------------------------------------------
// Internal helpers.
// ---------------------------------------------------------------------------

impl CollateralVault {
    fn sender(&self) -> Address {
        self.vm().msg_sender()
    }

    fn only_owner(&self) -> Result<(), Error> {
        Ok(self.wired.owner.only(self.sender())?)
    }

    fn only_engine(&self) -> Result<(), Error> {
        Ok(self.wired.only_engine_or_keeper(self.sender())?)
    }

    /// The owner of `account`, or `UnknownAccount`.
    fn account_owner(&self, account: U256) -> Result<Address, Error> {
        let owner = self.accounts.getter(account).owner.get();
        if owner.is_zero() {
            return Err(Error::UnknownAccount(UnknownAccount { account }));
        }
        Ok(owner)
    }

    /// The listing index and configuration of `token`, or `TokenNotListed`.
    fn asset(&self, token: Address) -> Result<(usize, AssetConfig), Error> {
        let a = self.assets.getter(token);
        let slot = a.slot.get().as_limbs()[0] as usize;
        if slot == 0 {
            return Err(Error::TokenNotListed(TokenNotListed { token }));
        }
        Ok((slot - 1, AssetConfig::unpack(a.config.get().0)))
    }

    fn authorized(&self, account: U256, owner: Address, actor: Address) -> bool {
        if actor == owner {
            return true;
        }
        // Zero is never an operator (`set_operator` refuses it); views pass it.
        if actor.is_zero() {
            return false;
        }
        let a = self.accounts.getter(account);
        let epoch = a.epoch.get().as_limbs()[0];
        let approved = a.operators.get(actor).as_limbs()[0];
        approved != 0 && approved == epoch.wrapping_add(1)
    }

    /// The socialisation index (WAD).
    fn index(&self) -> i128 {
        match load_i128(self.cash_index.get()) {
            0 => WAD as i128,
            i => i,
        }
    }

    /// An account's cash: positive balances are stored index-free and read through the
    /// socialisation index (rounded down); debts are stored as they are.
    /// (The index is read only for a positive balance; `scale_down` at 1.0 is exact.)
    fn cash(&self, account: U256) -> i128 {
        let stored = load_i128(self.accounts.getter(account).cash.get());
        if stored <= 0 {
            return stored;
        }
        scale_down(stored as u128, self.index() as u128) as i128
    }

    fn balance(&self, account: U256, index: usize) -> u128 {
        self.accounts
            .getter(account)
            .balances
            .get(index)
            .map_or(0, load_u128)
    }

    fn total(&self, token: Address) -> u128 {
        load_u128(self.assets.getter(token).total.get())
    }

    /// Writes a balance and keeps the account's `held` bitmask in step.
    fn set_balance(&mut self, account: U256, index: usize, value: u128) {
        let mut a = self.accounts.setter(account);
        if let Some(mut b) = a.balances.setter(index) {
            b.set(U128::from(value));
        }
        let mut held = a.held.get().as_limbs()[0] as u16;
        let bit = 1u16 << index;
        if value == 0 {
            held &= !bit;
        } else {
            held |= bit;
        }
        a.held.set(U16::from(held));
    }

    fn set_cash(&mut self, account: U256, value: i128) {
        let index = self.index();
        let stored = if value <= 0 || index == WAD as i128 {
            value
        } else {
            // floor(value x WAD / index), exact, saturating far beyond any real balance.
            let (v, i) = (value as u128, index as u128);
            let (q, r) = fixed::udiv(v, i);
            q.saturating_mul(WAD)
                .saturating_add(fixed::udiv(r * WAD, i).0)
                .min(i128::MAX as u128) as i128
        };
        let old = load_i128(self.accounts.getter(account).cash.get());
        let shares = load_i128(self.positive_shares.get()) - old.max(0) + stored.max(0);
        self.positive_shares.set(store_i128(shares));
        self.accounts.setter(account).cash.set(store_i128(stored));
    }

    fn set_total(&mut self, token: Address, value: u128) {
        self.assets.setter(token).total.set(U128::from(value));
    }

    fn store_config(&mut self, token: Address, config: &AssetConfig) -> Result<(), Error> {
        config
            .validate()
            .map_err(|e| out_of_bounds(e.field as u8, U256::from(e.value), U256::from(e.bound)))?;
        let packed = config.pack();
        self.assets
            .setter(token)
            .config
            .set(FixedBytes::from(packed));
        emit(
            self.vm(),
            AssetConfigUpdated {
                token,
                config: word(packed),
            },
        );
        Ok(())
    }

    /// Moves `amount` WAD of the asset at `index` between two existing
    /// accounts, after checking the balance.
    fn move_balance(
        &mut self,
        from: U256,
        to: U256,
        token: Address,
        index: usize,
        amount: u128,
    ) -> Result<(), Error> {
        let balance = self.balance(from, index);
        if balance < amount {
            return Err(Error::InsufficientBalance(InsufficientBalance {
                account: from,
                token,
                balance: U256::from(balance),
                needed: U256::from(amount),
            }));
        }
        if from != to {
            // No overflow: balances sum to the token's total, a u128.
            let to_balance = self
                .balance(to, index)
                .checked_add(amount)
                .ok_or_else(|| amount_too_large(U256::from(amount)))?;
            self.set_balance(from, index, balance - amount);
            self.set_balance(to, index, to_balance);
        }
        emit(
            self.vm(),
            CollateralMoved {
                from,
                to,
                token,
                amount: U256::from(amount),
            },
        );
        Ok(())
    }

    /// Moves signed `amount` of cash from `from` to `to` (both existing).
    fn move_cash(&mut self, from: U256, to: U256, amount: i128) -> Result<(), Error> {
        if from != to {
            let from_cash = self
                .cash(from)
                .checked_sub(amount)
                .ok_or_else(|| cash_out_of_range(abs256(amount)))?;
            let to_cash = self
                .cash(to)
                .checked_add(amount)
                .ok_or_else(|| cash_out_of_range(abs256(amount)))?;
            self.set_cash(from, from_cash);
            self.set_cash(to, to_cash);
        }
        emit(
            self.vm(),
            CashTransferred {
                from,
                to,
                amount: i256(amount),
            },
        );
        Ok(())
    }
}

/// Views of one account that no transaction needs, kept out of the contract's ABI (its
/// bytes are scarce): Rust accessors for tests and tools; on chain the RiskLens serves
/// `ownerOf`, `isFrozen` and `balanceOf` from `getAccountState`.
impl CollateralVault {
    /// The owner of an account.
    ///
    /// # Errors
    /// * [`Error::UnknownAccount`] - If it does not exist.
    pub fn owner_of(&self, account: U256) -> Result<Address, Error> {
        self.account_owner(account)
    }

    /// Whether `account` is frozen (by the keeper module, during its auction; false if it
    /// does not exist).
    pub fn is_frozen(&self, account: U256) -> bool {
        self.accounts.getter(account).frozen.get()
    }

    /// An account's balance of a collateral token, 18 decimals (0 for an
    /// unknown account, an unlisted token, or the quote asset: see
    /// [`Self::cash_of`]).
    pub fn balance_of(&self, account: U256, token: Address) -> U256 {
        match self.asset(token) {
            Ok((index, _)) => U256::from(self.balance(account, index)),
            Err(_) => U256::ZERO,
        }
    }
}

margin_common::wired_owner!(CollateralVault);

#[public]
#[inherit(Wired, Owned)]
impl CollateralVault {
    /// Sets the owner role. Runs once, at deployment.
    ///
    /// # Arguments
    /// * `owner` - The owner role: lists assets, sets parameters and the engine.
    ///
    /// # Errors
    /// * [`Error::ZeroAddress`] - If `owner` is zero.
    ///
    /// # Events
    /// * [`OwnershipTransferred`] from zero to `owner`.
    #[constructor]
    pub fn constructor(&mut self, owner: Address) -> Result<(), Error> {
        self.wired.owner.init(owner)?;
        Ok(())
    }

    // ------------------------------------------------------------------
    // Owner role
    // ------------------------------------------------------------------

    /// Lists `token` as collateral (or as the quote asset).
    ///
    /// The token's `decimals()` is read here and written into the config;
    /// `is_quote` likewise overrides the config's flag. The other fields come
    /// from `config`, a packed `AssetConfig` word (see
    /// `stylus_margin::collateral`).
    ///
    /// # Arguments
    /// * `token` - The ERC20.
    /// * `config` - Packed `AssetConfig` (its decimals and quote bits are ignored).
    /// * `deposit_cap` - Cap on total deposits, 18 decimals.
    /// * `is_quote` - Whether this is the quote (cash) asset.
    ///
    /// # Errors
    /// * [`Error::Unauthorized`] - If the caller is not the owner.
    /// * [`Error::ZeroAddress`] - If `token` is zero.
    /// * [`Error::AssetAlreadyListed`] - If `token` is listed.
    /// * [`Error::TooManyAssets`] - If 16 assets are listed.
    /// * [`Error::QuoteAlreadySet`] - If `is_quote` and a quote asset is listed.
    /// * [`Error::TokenQueryFailed`] - If `decimals()` fails or is malformed.
    /// * [`Error::ValueOutOfBounds`] - If the config breaks a bound
    ///   (`AssetConfig::validate`) or `deposit_cap` exceeds `u128`.
    ///
    /// # Events
    /// * [`AssetListed`].
    pub fn list_asset(
        &mut self,
        token: Address,
        config: U256,
        deposit_cap: U256,
        is_quote: bool,
    ) -> Result<(), Error> {
        self.only_owner()?;
        if token.is_zero() {
            return Err(Error::ZeroAddress(ZeroAddress {}));
        }
        if self.assets.getter(token).slot.get() != U16::ZERO {
            return Err(Error::AssetAlreadyListed(AssetAlreadyListed { token }));
        }
        let index = self.listed_tokens().len();
        if index >= MAX_ASSETS {
            return Err(Error::TooManyAssets(TooManyAssets {
                max: U256::from(MAX_ASSETS),
            }));
        }
        let quote = self.quote.get();
        if is_quote && !quote.is_zero() {
            return Err(Error::QuoteAlreadySet(QuoteAlreadySet { quote }));
        }
        let cap = to_u128(deposit_cap)
            .ok_or_else(|| out_of_bounds(which::DEPOSIT_CAP, deposit_cap, U256::from(u128::MAX)))?;
        let d = static_word(token, &calldata(SEL_DECIMALS, &[]))?;
        if d[..31].iter().any(|b| *b != 0) {
            return Err(Error::TokenQueryFailed(TokenQueryFailed { token }));
        }
        let mut cfg = AssetConfig::unpack(config.to_be_bytes());
        cfg.decimals = d[31];
        cfg.is_quote = is_quote;
        cfg.validate()
            .map_err(|e| out_of_bounds(e.field as u8, U256::from(e.value), U256::from(e.bound)))?;
        let packed = cfg.pack();
        {
            let mut a = self.assets.setter(token);
            a.config.set(FixedBytes::from(packed));
            a.cap.set(U128::from(cap));
            // index < 16, so index + 1 fits a u16.
            a.slot.set(U16::from(index + 1));
        }
        if let Some(mut entry) = self.listed.setter(index) {
            entry.set(token);
        }
        if is_quote {
            self.quote.set(token);
        }
        emit(
            self.vm(),
            AssetListed {
                token,
                config: word(packed),
                depositCap: deposit_cap,
            },
        );
        Ok(())
    }

    /// Sets a listed token's deposit cap.
    ///
    /// # Arguments
    /// * `token` - The listed token.
    /// * `cap` - The new cap, 18 decimals.
    /// * `force` - Allow a cap below current deposits (deposits then stop until
    ///   withdrawals bring the total under the cap; nothing is taken away).
    ///
    /// # Errors
    /// * [`Error::Unauthorized`] - If the caller is not the owner.
    /// * [`Error::TokenNotListed`] - If `token` is not listed.
    /// * [`Error::ValueOutOfBounds`] - If `cap` exceeds `u128`.
    /// * [`Error::CapBelowDeposits`] - If `cap` is below total deposits and not `force`.
    ///
    /// # Events
    /// * [`DepositCapSet`].
    pub fn set_deposit_cap(&mut self, token: Address, cap: U256, force: bool) -> Result<(), Error> {
        self.only_owner()?;
        self.asset(token)?;
        let c = to_u128(cap)
            .ok_or_else(|| out_of_bounds(which::DEPOSIT_CAP, cap, U256::from(u128::MAX)))?;
        let total = self.total(token);
        if c < total && !force {
            return Err(Error::CapBelowDeposits(CapBelowDeposits {
                token,
                cap,
                totalDeposits: U256::from(total),
            }));
        }
        self.assets.setter(token).cap.set(U128::from(c));
        emit(
            self.vm(),
            DepositCapSet {
                token,
                cap,
                totalDeposits: U256::from(total),
            },
        );
        Ok(())
    }

    /// A listed token's deposit cap, 18 decimals (0 if not listed).
    pub fn deposit_cap(&self, token: Address) -> U256 {
        U256::from(load_u128(self.assets.getter(token).cap.get()))
    }

    /// Sets a listed token's configuration in one bounded call: the packed `AssetConfig`
    /// word of `listAsset` (see `stylus_margin::collateral`): whether deposits are enabled
    /// (a disabled token still counts as collateral and can still be moved and withdrawn),
    /// the haircut floor, volatility multiplier and ceiling (ppm), the liquidity depth
    /// (WAD), and whether the token offsets the risk of options on its underlying. The
    /// decimals and the quote flag stay as listed (those bits of `config` are ignored, as
    /// in `listAsset`); the underlying cannot change.
    ///
    /// # Arguments
    /// * `token` - The listed token.
    /// * `config` - Packed `AssetConfig`.
    ///
    /// # Errors
    /// * [`Error::Unauthorized`] - If the caller is not the owner.
    /// * [`Error::TokenNotListed`] - If `token` is not listed.
    /// * [`Error::ValueOutOfBounds`] - If the config breaks a bound
    ///   (`AssetConfig::validate`: the floor above the ceiling, the ceiling above 100%,
    ///   the multiplier above 20.0, the quote asset risk-offsetting), sets bits outside
    ///   its fields (`which::CONFIG`, the word, the word without them), or names another
    ///   underlying (`which::UNDERLYING`, the new one, the listed one).
    ///
    /// # Events
    /// * [`AssetConfigUpdated`].
    pub fn set_asset_config(&mut self, token: Address, config: U256) -> Result<(), Error> {
        self.only_owner()?;
        let (_, listed) = self.asset(token)?;
        let mut cfg = AssetConfig::unpack(config.to_be_bytes());
        let canonical = word(cfg.pack());
        if canonical != config {
            return Err(out_of_bounds(which::CONFIG, config, canonical));
        }
        if cfg.underlying != listed.underlying {
            return Err(out_of_bounds(
                which::UNDERLYING,
                U256::from(cfg.underlying),
                U256::from(listed.underlying),
            ));
        }
        cfg.decimals = listed.decimals;
        cfg.is_quote = listed.is_quote;
        self.store_config(token, &cfg)
    }

    /// A token's packed `AssetConfig` word (0 if not listed).
    pub fn asset_config(&self, token: Address) -> U256 {
        word(self.assets.getter(token).config.get().0)
    }

    /// The listed tokens, in listing order (at most 16).
    pub fn listed_tokens(&self) -> Vec<Address> {
        let mut out = Vec::new();
        for i in 0..MAX_ASSETS {
            let token = self.listed.get(i).unwrap_or_default();
            if token.is_zero() {
                break;
            }
            out.push(token);
        }
        out
    }

    /// The quote (cash) asset (zero until listed).
    pub fn quote_token(&self) -> Address {
        self.quote.get()
    }

    // ------------------------------------------------------------------
    // Accounts
    // ------------------------------------------------------------------

    /// Opens a new account owned by the caller. Ids are sequential from 1 and
    /// never reused.
    ///
    /// # Errors
    /// None: anyone may open an account, at any time.
    ///
    /// # Events
    /// * [`AccountOpened`].
    pub fn open_account(&mut self) -> U256 {
        let owner = self.sender();
        // 2^64 accounts cannot be opened: each costs a transaction.
        let id = self.wired.word().wrapping_add(1);
        self.wired.set_word(id);
        let account = U256::from(id);
        self.accounts.setter(account).owner.set(owner);
        emit(self.vm(), AccountOpened { account, owner });
        account
    }

    /// How many accounts were opened (the highest id).
    pub fn account_count(&self) -> U256 {
        U256::from(self.wired.word())
    }

    /// Whether `actor` is the owner or an approved operator of `account`.
    ///
    /// # Errors
    /// * [`Error::UnknownAccount`] - If it does not exist.
    pub fn is_authorized(&self, account: U256, actor: Address) -> Result<bool, Error> {
        let owner = self.account_owner(account)?;
        Ok(self.authorized(account, owner, actor))
    }

    /// Reverts unless `actor` may act for `account`.
    ///
    /// # Errors
    /// * [`Error::UnknownAccount`] - If it does not exist.
    /// * [`Error::NotOwnerOrOperator`] - If `actor` is neither owner nor operator.
    pub fn require_authorized(&self, account: U256, actor: Address) -> Result<(), Error> {
        if !self.is_authorized(account, actor)? {
            return Err(Error::NotOwnerOrOperator(NotOwnerOrOperator {
                account,
                caller: actor,
            }));
        }
        Ok(())
    }

    /// Approves or revokes an operator of `account`.
    ///
    /// # Arguments
    /// * `account` - The account.
    /// * `operator` - The operator.
    /// * `approved` - Whether it may act for the account through the engine.
    ///
    /// # Errors
    /// * [`Error::UnknownAccount`] - If the account does not exist.
    /// * [`Error::NotAccountOwner`] - If the caller is not its owner.
    /// * [`Error::ZeroAddress`] - If `operator` is zero.
    ///
    /// # Events
    /// * [`OperatorSet`].
    pub fn set_operator(
        &mut self,
        account: U256,
        operator: Address,
        approved: bool,
    ) -> Result<(), Error> {
        let caller = self.sender();
        let owner = self.account_owner(account)?;
        if caller != owner {
            return Err(Error::NotAccountOwner(NotAccountOwner { account, caller }));
        }
        if operator.is_zero() {
            return Err(Error::ZeroAddress(ZeroAddress {}));
        }
        let mut a = self.accounts.setter(account);
        let mark = if approved {
            a.epoch.get().as_limbs()[0].wrapping_add(1)
        } else {
            0
        };
        a.operators.setter(operator).set(U64::from(mark));
        emit(
            self.vm(),
            OperatorSet {
                account,
                operator,
                approved,
            },
        );
        Ok(())
    }

    /// Transfers an account to a new owner and revokes all its operators.
    ///
    /// # Arguments
    /// * `account` - The account.
    /// * `new_owner` - The new owner.
    ///
    /// # Errors
    /// * [`Error::UnknownAccount`] - If the account does not exist.
    /// * [`Error::NotAccountOwner`] - If the caller is not its owner.
    /// * [`Error::ZeroAddress`] - If `new_owner` is zero.
    /// * [`Error::AccountFrozen`] - If the engine froze the account.
    ///
    /// # Events
    /// * [`AccountTransferred`].
    pub fn transfer_account(&mut self, account: U256, new_owner: Address) -> Result<(), Error> {
        let caller = self.sender();
        let owner = self.account_owner(account)?;
        if caller != owner {
            return Err(Error::NotAccountOwner(NotAccountOwner { account, caller }));
        }
        if new_owner.is_zero() {
            return Err(Error::ZeroAddress(ZeroAddress {}));
        }
        if self.is_frozen(account) {
            return Err(Error::AccountFrozen(AccountFrozen { account }));
        }
        let mut a = self.accounts.setter(account);
        a.owner.set(new_owner);
        // 2^64 transfers of one account are unreachable; wrapping is harmless.
        let epoch = a.epoch.get().as_limbs()[0].wrapping_add(1);
        a.epoch.set(U64::from(epoch));
        emit(
            self.vm(),
            AccountTransferred {
                account,
                previousOwner: owner,
                newOwner: new_owner,
            },
        );
        Ok(())
    }

    // ------------------------------------------------------------------
    // Balances
    // ------------------------------------------------------------------

    /// Deposits `amount` token units of `token` into `account`, paid by the
    /// caller (who must have approved the vault). Anyone may deposit into any
    /// existing account. The quote asset credits the account's cash.
    ///
    /// The vault measures its token balance before and after the transfer and
    /// refuses a token that delivers less than `amount`. The credit is the WAD
    /// value of `amount`, rounded down.
    ///
    /// # Arguments
    /// * `account` - The account credited.
    /// * `token` - A listed, enabled token.
    /// * `amount` - Token units (the token's own decimals).
    ///
    /// # Errors
    /// * [`Error::ZeroAmount`] - If `amount` (or its WAD value) is zero.
    /// * [`Error::UnknownAccount`] - If the account does not exist.
    /// * [`Error::TokenNotListed`] / [`Error::TokenDisabled`].
    /// * [`Error::ValueOutOfBounds`] - If the WAD value exceeds `u128`.
    /// * [`Error::DepositCapExceeded`] - If total deposits would pass the cap.
    /// * [`Error::TokenTransferFailed`] - If `transferFrom` reverts or returns false.
    /// * [`Error::TokenQueryFailed`] - If `balanceOf` fails.
    /// * [`Error::FeeOnTransferDetected`] - If fewer tokens arrive than `amount`.
    /// * [`Error::ValueOutOfBounds`] - If the account's cash would leave `int128`.
    ///
    /// # Events
    /// * [`Deposited`].
    pub fn deposit(&mut self, account: U256, token: Address, amount: U256) -> Result<(), Error> {
        if amount.is_zero() {
            return Err(zero_amount());
        }
        self.account_owner(account)?;
        let (index, cfg) = self.asset(token)?;
        if !cfg.enabled {
            return Err(Error::TokenDisabled(TokenDisabled { token }));
        }
        let units = to_u128(amount).ok_or_else(|| amount_too_large(amount))?;
        let wad = units::to_wad(units, cfg.decimals, false).map_err(|e| units_error(e, amount))?;
        if wad == 0 {
            return Err(zero_amount());
        }
        let cap = load_u128(self.assets.getter(token).cap.get());
        let total = self.total(token);
        let total_after = match total.checked_add(wad) {
            Some(t) if t <= cap => t,
            _ => {
                return Err(Error::DepositCapExceeded(DepositCapExceeded {
                    token,
                    cap: U256::from(cap),
                    totalAfter: U256::from(total) + U256::from(wad),
                }))
            }
        };
        // Effects are computed and checked before the transfer and written
        // after it has been measured.
        let new_cash = if cfg.is_quote {
            let w = i128::try_from(wad).map_err(|_| cash_out_of_range(U256::from(wad)))?;
            let oob = || cash_out_of_range(U256::from(wad));
            let cash = self.cash(account).checked_add(w).ok_or_else(oob)?;
            let total_cash = load_i128(self.total_cash.get())
                .checked_add(w)
                .ok_or_else(oob)?;
            Some((cash, total_cash))
        } else {
            None
        };
        let from = self.sender();
        let vault = self.vm().contract_address();
        let before = token_balance(token, vault)?;
        safe_call(
            token,
            &calldata(
                SEL_TRANSFER_FROM,
                &[addr_word(from), addr_word(vault), amount.to_be_bytes()],
            ),
        )?;
        let after = token_balance(token, vault)?;
        let received = after.saturating_sub(before);
        if received < amount {
            return Err(Error::FeeOnTransferDetected(FeeOnTransferDetected {
                token,
                expected: amount,
                received,
            }));
        }
        self.set_total(token, total_after);
        match new_cash {
            Some((cash, total_cash)) => {
                self.set_cash(account, cash);
                self.total_cash.set(store_i128(total_cash));
            }
            None => {
                // No overflow: the balance is at most the total, checked above.
                let b = self.balance(account, index) + wad;
                self.set_balance(account, index, b);
            }
        }
        emit(
            self.vm(),
            Deposited {
                account,
                token,
                from,
                tokenAmount: amount,
                amount: U256::from(wad),
            },
        );
        Ok(())
    }

    /// An account's signed cash, 18 decimals (0 for an unknown account).
    pub fn cash_of(&self, account: U256) -> I256 {
        i256(self.cash(account))
    }

    /// Total deposits of a token, 18 decimals: the sum of all accounts'
    /// balances, or for the quote asset what the vault holds from quote
    /// deposits less quote withdrawals.
    pub fn total_deposits(&self, token: Address) -> U256 {
        U256::from(self.total(token))
    }

    /// The sum of all accounts' cash, 18 decimals: equals the quote asset's
    /// total deposits plus the net of every `adjustCash` entry.
    pub fn total_cash(&self) -> I256 {
        i256(load_i128(self.total_cash.get()))
    }

    /// The net of all `adjustCash` entries with this reason, 18 decimals.
    pub fn net_cash_adjustment(&self, reason: u8) -> I256 {
        i256(load_i128(self.adjustments.get(reason)))
    }

    /// The socialisation state: the index over positive cash (1e18: never socialised)
    /// and the total positive cash read through it (18 decimals), over which a
    /// socialisation spreads a deficit.
    pub fn socialisation(&self) -> (U256, I256) {
        let index = self.index() as u128;
        let shares = load_i128(self.positive_shares.get()).max(0) as u128;
        (U256::from(index), i256(scale_down(shares, index) as i128))
    }

    /// Applies a socialisation computed by the keeper module with the core
    /// (`liquidation::socialise` over the total positive cash of `socialisation`): the index falls to `index`, so
    /// every positive cash balance reads `index / 1e18` of its stored value (rounded
    /// down); negative balances are unaffected. `absorbed` leaves `totalCash` and is
    /// entered against reason 3 (deficit), so the ledger invariant holds.
    ///
    /// # Errors
    /// * [`Error::CallerNotEngineOrKeeper`] - If the caller is neither the engine nor the keeper.
    /// * [`Error::ValueOutOfBounds`] (`which::SOCIALISATION`, the index, the current
    ///   index) - If `index` is not below the current index or is below 1e12 (1e-6), or
    ///   `absorbed` is negative. The keeper module computes both
    ///   with the core; the vault trusts it as it trusts its other ledger entries.
    ///
    /// # Events
    /// * [`CashSocialised`].
    pub fn socialise(&mut self, index: U256, absorbed: I256) -> Result<(), Error> {
        self.only_engine()?;
        let current = self.index();
        let i = u128::try_from(index).map_or(i128::MAX, |x| x as i128);
        let a = to_i128(absorbed).unwrap_or(-1);
        if i >= current || i < (WAD / 1_000_000) as i128 || a < 0 {
            return Err(out_of_bounds(
                which::SOCIALISATION,
                index,
                U256::from(current as u128),
            ));
        }
        self.cash_index.set(store_i128(i));
        let total = load_i128(self.total_cash.get()) - a;
        self.total_cash.set(store_i128(total));
        let net = load_i128(self.adjustments.get(reason::DEFICIT)) - a;
        self.adjustments
            .setter(reason::DEFICIT)
            .set(store_i128(net));
        emit(self.vm(), CashSocialised { absorbed, index });
        Ok(())
    }

    // ------------------------------------------------------------------
    // Engine only
    // ------------------------------------------------------------------

    /// An account's whole state in one call: owner, frozen flag, whether
    /// `actor` may act for it, cash, and every non-zero collateral balance
    /// (18 decimals) with its packed `AssetConfig` word, excluding the quote
    /// asset (which is `cash`). At most 16 entries, in listing order.
    ///
    /// # Errors
    /// * [`Error::UnknownAccount`] - If the account does not exist.
    pub fn get_account_state(
        &self,
        account: U256,
        actor: Address,
    ) -> Result<types::AccountState, Error> {
        let owner = self.account_owner(account)?;
        let authorized = self.authorized(account, owner, actor);
        let a = self.accounts.getter(account);
        let mut held = a.held.get().as_limbs()[0] as u16;
        let n = held.count_ones() as usize;
        let mut tokens = Vec::with_capacity(n);
        let mut amounts = Vec::with_capacity(n);
        let mut configs = Vec::with_capacity(n);
        while held != 0 {
            let i = held.trailing_zeros() as usize;
            held &= held - 1;
            let token = self.listed.get(i).unwrap_or_default();
            tokens.push(token);
            amounts.push(U256::from(a.balances.get(i).map_or(0, load_u128)));
            configs.push(word(self.assets.getter(token).config.get().0));
        }
        Ok(types::AccountState {
            owner,
            frozen: a.frozen.get(),
            authorized,
            cash: i256(self.cash(account)),
            tokens,
            amounts,
            configs,
        })
    }

    /// Moves signed cash between accounts; cash may go negative.
    ///
    /// # Arguments
    /// * `from` - Debited by `amount`.
    /// * `to` - Credited by `amount`.
    /// * `amount` - Signed WAD (negative moves cash from `to` to `from`).
    ///
    /// # Errors
    /// * [`Error::CallerNotEngineOrKeeper`] - If the caller is not the engine.
    /// * [`Error::ZeroAmount`] - If `amount` is zero.
    /// * [`Error::UnknownAccount`] - If either account does not exist.
    /// * [`Error::ValueOutOfBounds`] - If `amount` or a resulting cash
    ///   balance is outside `int128`.
    ///
    /// # Events
    /// * [`CashTransferred`].
    pub fn transfer_cash(&mut self, from: U256, to: U256, amount: I256) -> Result<(), Error> {
        self.only_engine()?;
        if amount.is_zero() {
            return Err(zero_amount());
        }
        self.account_owner(from)?;
        self.account_owner(to)?;
        let a = to_i128(amount).ok_or_else(|| cash_out_of_range(amount.unsigned_abs()))?;
        self.move_cash(from, to, a)
    }

    /// An explicit cash ledger entry, tracked per reason so the cash
    /// invariant stays auditable ([`Self::net_cash_adjustment`]).
    ///
    /// # Arguments
    /// * `account` - The account.
    /// * `delta` - Signed WAD change of its cash.
    /// * `reason` - 1 settlement payoff, 2 fee, 3 deficit/socialisation,
    ///   4 bounty; others as the engine defines.
    ///
    /// # Errors
    /// * [`Error::CallerNotEngineOrKeeper`] - If the caller is not the engine.
    /// * [`Error::ZeroAmount`] - If `delta` is zero.
    /// * [`Error::UnknownAccount`] - If the account does not exist.
    /// * [`Error::ValueOutOfBounds`] - If `delta`, the account's cash, the
    ///   reason's net or the total cash would leave `int128`.
    ///
    /// # Events
    /// * [`CashAdjusted`].
    pub fn adjust_cash(&mut self, account: U256, delta: I256, reason: u8) -> Result<(), Error> {
        self.only_engine()?;
        if delta.is_zero() {
            return Err(zero_amount());
        }
        self.account_owner(account)?;
        let d = to_i128(delta).ok_or_else(|| cash_out_of_range(delta.unsigned_abs()))?;
        let oob = || cash_out_of_range(abs256(d));
        let cash = self.cash(account).checked_add(d).ok_or_else(oob)?;
        let net = load_i128(self.adjustments.get(reason))
            .checked_add(d)
            .ok_or_else(oob)?;
        let total = load_i128(self.total_cash.get())
            .checked_add(d)
            .ok_or_else(oob)?;
        self.set_cash(account, cash);
        self.adjustments.setter(reason).set(store_i128(net));
        self.total_cash.set(store_i128(total));
        emit(
            self.vm(),
            CashAdjusted {
                account,
                reason,
                delta,
                cash: i256(cash),
            },
        );
        Ok(())
    }

    /// Liquidation transfer: moves `floor(f x balance)` of every collateral of
    /// `from`, and `floor(f x cash)` of its signed cash, to `to`. Flooring a
    /// signed amount rounds toward negative infinity, so every rounding favours
    /// `from` (less collateral leaves it, slightly more debt does).
    ///
    /// # Arguments
    /// * `from` - The account liquidated.
    /// * `to` - The account receiving.
    /// * `fraction_wad` - The fraction, in (0, 1e18].
    ///
    /// # Returns
    /// The signed cash moved.
    ///
    /// # Errors
    /// * [`Error::CallerNotEngineOrKeeper`] - If the caller is not the engine.
    /// * [`Error::ZeroAmount`] - If `fraction_wad` is zero.
    /// * [`Error::ValueOutOfBounds`] - If `fraction_wad` exceeds 1e18, or
    ///   the cash of `to` would leave `int128`.
    /// * [`Error::UnknownAccount`] - If either account does not exist.
    ///
    /// # Events
    /// * [`CollateralMoved`] per collateral moved, [`CashTransferred`] if cash
    ///   moved, then [`FractionMoved`].
    pub fn move_fraction(
        &mut self,
        from: U256,
        to: U256,
        fraction_wad: U256,
    ) -> Result<I256, Error> {
        self.only_engine()?;
        if fraction_wad.is_zero() {
            return Err(zero_amount());
        }
        let f = match to_u128(fraction_wad) {
            Some(f) if f <= WAD => f,
            _ => {
                return Err(out_of_bounds(
                    which::FRACTION,
                    fraction_wad,
                    U256::from(WAD),
                ))
            }
        };
        self.account_owner(from)?;
        self.account_owner(to)?;
        let mut held = self.accounts.getter(from).held.get().as_limbs()[0] as u16;
        while held != 0 {
            let i = held.trailing_zeros() as usize;
            held &= held - 1;
            let balance = self.balance(from, i);
            // SAFETY of unwrap_or: f <= WAD was checked, so this cannot fail.
            let moved = units::mul_fraction(balance, f, false).unwrap_or(0);
            if moved != 0 {
                let token = self.listed.get(i).unwrap_or_default();
                self.move_balance(from, to, token, i, moved)?;
            }
        }
        // SAFETY of unwrap_or: f <= WAD was checked, so this cannot fail.
        let cash_moved = units::mul_fraction_signed_floor(self.cash(from), f).unwrap_or(0);
        if cash_moved != 0 {
            self.move_cash(from, to, cash_moved)?;
        }
        let cash_moved = i256(cash_moved);
        emit(
            self.vm(),
            FractionMoved {
                from,
                to,
                fractionWad: fraction_wad,
                cashMoved: cash_moved,
            },
        );
        Ok(cash_moved)
    }

    /// Withdraws `amount` WAD of `token` from an account to `to`. Pays
    /// `from_wad(amount)` token units rounded down and debits exactly their
    /// WAD value (at most `amount`). For the quote asset, withdraws positive
    /// cash. The engine checks margin; the vault checks balances.
    ///
    /// # Arguments
    /// * `account` - The account debited.
    /// * `token` - A listed token (disabled tokens can be withdrawn).
    /// * `amount` - WAD requested.
    /// * `to` - The recipient.
    ///
    /// # Returns
    /// The token units sent.
    ///
    /// # Errors
    /// * [`Error::CallerNotEngineOrKeeper`] - If the caller is not the engine.
    /// * [`Error::ZeroAmount`] - If `amount`, or what it pays, is zero.
    /// * [`Error::ZeroAddress`] - If `to` is zero.
    /// * [`Error::UnknownAccount`] - If the account does not exist.
    /// * [`Error::AccountFrozen`] - If the account is frozen.
    /// * [`Error::TokenNotListed`] - If `token` is not listed.
    /// * [`Error::ValueOutOfBounds`] - If `amount` exceeds `u128`.
    /// * [`Error::InsufficientBalance`] - If the collateral balance is short.
    /// * [`Error::InsufficientCash`] - If the cash is short (quote asset).
    /// * [`Error::InsufficientVaultBalance`] - If the vault's recorded quote
    ///   holdings are short.
    /// * [`Error::TokenTransferFailed`] - If `transfer` reverts or returns false.
    ///
    /// # Events
    /// * [`Withdrawn`].
    pub fn withdraw_to(
        &mut self,
        account: U256,
        token: Address,
        amount: U256,
        to: Address,
    ) -> Result<U256, Error> {
        self.only_engine()?;
        if amount.is_zero() {
            return Err(zero_amount());
        }
        if to.is_zero() {
            return Err(Error::ZeroAddress(ZeroAddress {}));
        }
        self.account_owner(account)?;
        if self.is_frozen(account) {
            return Err(Error::AccountFrozen(AccountFrozen { account }));
        }
        let (index, cfg) = self.asset(token)?;
        let requested = to_u128(amount).ok_or_else(|| amount_too_large(amount))?;
        let (sent, debit) =
            units::withdrawal(requested, cfg.decimals).map_err(|e| units_error(e, amount))?;
        if sent == 0 {
            return Err(zero_amount());
        }
        let total = self.total(token);
        if cfg.is_quote {
            let cash = self.cash(account);
            // debit <= requested <= u128::MAX; compare in i128 only when it fits.
            if cash < 0 || (cash as u128) < debit {
                return Err(Error::InsufficientCash(InsufficientCash {
                    account,
                    cash: i256(cash),
                    needed: U256::from(debit),
                }));
            }
            if total < debit {
                return Err(Error::InsufficientVaultBalance(InsufficientVaultBalance {
                    token,
                    held: U256::from(total),
                    needed: U256::from(debit),
                }));
            }
            // debit <= cash <= i128::MAX, so the cast and subtraction are exact.
            let d = debit as i128;
            let total_cash = load_i128(self.total_cash.get())
                .checked_sub(d)
                .ok_or_else(|| cash_out_of_range(U256::from(debit)))?;
            self.set_cash(account, cash - d);
            self.total_cash.set(store_i128(total_cash));
        } else {
            let balance = self.balance(account, index);
            if balance < debit {
                return Err(Error::InsufficientBalance(InsufficientBalance {
                    account,
                    token,
                    balance: U256::from(balance),
                    needed: U256::from(debit),
                }));
            }
            self.set_balance(account, index, balance - debit);
        }
        // total >= debit: the sum of balances (or, for the quote, checked above).
        self.set_total(token, total.saturating_sub(debit));
        let sent = U256::from(sent);
        safe_call(
            token,
            &calldata(SEL_TRANSFER, &[addr_word(to), sent.to_be_bytes()]),
        )?;
        emit(
            self.vm(),
            Withdrawn {
                account,
                token,
                to,
                tokenAmount: sent,
                amount: U256::from(debit),
            },
        );
        Ok(sent)
    }

    /// Freezes or unfreezes an account (liquidation in progress). A frozen
    /// account cannot be transferred nor withdraw; deposits, moves and ledger
    /// entries continue.
    ///
    /// # Arguments
    /// * `account` - The account.
    /// * `frozen` - The flag.
    ///
    /// # Errors
    /// * [`Error::CallerNotEngineOrKeeper`] - If the caller is not the engine.
    /// * [`Error::UnknownAccount`] - If the account does not exist.
    ///
    /// # Events
    /// * [`FrozenSet`].
    pub fn set_frozen(&mut self, account: U256, frozen: bool) -> Result<(), Error> {
        self.only_engine()?;
        self.account_owner(account)?;
        self.accounts.setter(account).frozen.set(frozen);
        emit(self.vm(), FrozenSet { account, frozen });
        Ok(())
    }
}

#[cfg(test)]
mod abi_tests {
    use super::*;
    use margin_common::encode::varied;

    /// `getAccountState`'s struct is its Solidity tuple, and returning it answers the same
    /// bytes as the 7-value tuple it replaced (stylus-sdk encodes a return value `T` as
    /// `T::SolType::abi_encode`), on random values and lengths.
    #[test]
    fn account_state_answers_the_tuple_it_replaced() {
        use alloy_sol_types::SolType;
        use stylus_sdk::abi::AbiType;
        assert_eq!(
            types::AccountState::ABI.as_str(),
            margin_common::abi::tuple_type::<types::AccountState>()
        );
        let mut r = margin_books::Rng(29);
        let mut next = || r.next_u64();
        for n in 0..8 {
            let (owner, frozen, authorized, cash): (Address, bool, bool, I256) = (
                varied(&mut next),
                varied(&mut next),
                varied(&mut next),
                varied(&mut next),
            );
            let tokens: Vec<Address> = (0..n).map(|_| varied(&mut next)).collect();
            let amounts: Vec<U256> = (0..n).map(|_| varied(&mut next)).collect();
            let configs: Vec<U256> = (0..n).map(|_| varied(&mut next)).collect();
            let state = types::AccountState {
                owner,
                frozen,
                authorized,
                cash,
                tokens: tokens.clone(),
                amounts: amounts.clone(),
                configs: configs.clone(),
            };
            type Tuple = <(
                Address,
                bool,
                bool,
                I256,
                Vec<Address>,
                Vec<U256>,
                Vec<U256>,
            ) as AbiType>::SolType;
            assert_eq!(
                <types::AccountState as SolType>::abi_encode(&state),
                Tuple::abi_encode(&(owner, frozen, authorized, cash, tokens, amounts, configs)),
                "{n} tokens"
            );
        }
    }
}
