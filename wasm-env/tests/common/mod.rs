//! Shared test setup: the Solidity interfaces of the deployable vault and registry (written
//! from their Rust sources; stylus-sdk exports snake_case methods in camelCase), the
//! deployable binaries and accounts.
#![allow(dead_code)]

use alloy_sol_types::sol;
use margin_wasm_env::{Address, Env, U256};
use std::sync::LazyLock;

sol! {
    #[derive(Debug, PartialEq)]
    interface IVault {
        event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
        event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
        event EngineSet(address indexed engine);
        event AccountOpened(uint256 indexed account, address indexed owner);
        event AssetListed(address indexed token, uint256 config, uint256 depositCap);
        event Deposited(uint256 indexed account, address indexed token, address indexed from, uint256 tokenAmount, uint256 amount);

        error UnknownAccount(uint256 account);
        error TokenNotListed(address token);
        error ZeroAmount();
        error DepositCapExceeded(address token, uint256 cap, uint256 totalAfter);
        error TokenTransferFailed(address token);
        error TokenQueryFailed(address token);
        error FeeOnTransferDetected(address token, uint256 expected, uint256 received);
        error CallerNotEngine(address caller);
        error CallerNotOwner(address caller);
        error CallerNotPendingOwner(address caller);
        error ZeroAddress();
        error AssetAlreadyListed(address token);

        function owner() external view returns (address);
        function pendingOwner() external view returns (address);
        function transferOwnership(address newOwner) external;
        function acceptOwnership() external;
        function setEngine(address engine) external;
        function engine() external view returns (address);
        function listAsset(address token, uint256 config, uint256 depositCap, bool isQuote) external;
        function assetConfig(address token) external view returns (uint256);
        function listedTokens() external view returns (address[]);
        function openAccount() external returns (uint256);
        function accountCount() external view returns (uint256);
        function ownerOf(uint256 account) external view returns (address);
        function deposit(uint256 account, address token, uint256 amount) external;
        function balanceOf(uint256 account, address token) external view returns (uint256);
        function cashOf(uint256 account) external view returns (int256);
        function totalDeposits(address token) external view returns (uint256);
    }

    #[derive(Debug, PartialEq)]
    interface IRegistry {
        event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
        event UnderlyingAdded(uint32 indexed underlying);
        event EngineSet(address indexed engine);
        event InstrumentListed(uint256 indexed id, uint32 indexed underlying, uint8 kind, uint256 strike, uint64 expiry);
        event TradeApplied(uint256 indexed buyer, uint256 indexed seller, uint256 indexed id, int256 size, int256 price, int256 buyerRealized, int256 sellerRealized);
        event PositionSettled(uint256 indexed account, uint256 indexed id, int256 size, int256 entryNotional, int256 settlementPrice, int256 value);

        error InstrumentExpired(uint256 id, uint64 expiry, uint64 timestamp);
        error InstrumentNotExpired(uint256 id, uint64 expiry, uint64 timestamp);
        error UnknownUnderlying(uint32 underlying);
        error UnderlyingAlreadyKnown(uint32 underlying);
        error CallerNotEngine(address caller);
        error OwnableUnauthorizedAccount(address account);
        error OwnableInvalidOwner(address owner);

        function owner() external view returns (address);
        function maxPositions() external view returns (uint8);
        function setEngine(address engine) external;
        function addUnderlying(uint32 underlying) external;
        function isUnderlying(uint32 underlying) external view returns (bool);
        function listInstrument(uint8 kind, uint32 underlying, uint256 strike, uint64 expiry) external returns (uint256);
        function isListed(uint256 id) external view returns (bool);
        function applyTrade(uint256 buyer, uint256 seller, uint256 id, int256 size, int256 price) external returns (int256, int256);
        function closeExpired(uint256 account, uint256 id, int256 settlementPrice) external returns (int256);
        function positionOf(uint256 account, uint256 id) external view returns (int256, int256);
        function positionCount(uint256 account) external view returns (uint256);
    }
}

/// The deployable binaries, as `scripts/build-wasm.sh` writes them (`target-wasm/deploy/`, or
/// the directory `MARGIN_WASM_DEPLOY_DIR` names); a missing file panics naming the script.
pub static VAULT_WASM: LazyLock<Vec<u8>> =
    LazyLock::new(|| margin_wasm_env::system::load_wasm("vault"));
pub static REGISTRY_WASM: LazyLock<Vec<u8>> =
    LazyLock::new(|| margin_wasm_env::system::load_wasm("registry"));

pub fn owner() -> Address {
    Address::repeat_byte(0x0A)
}
pub fn alice() -> Address {
    Address::repeat_byte(0xA1)
}
pub fn bob() -> Address {
    Address::repeat_byte(0xB0)
}
pub fn engine() -> Address {
    Address::repeat_byte(0xE9)
}

/// An address as the ABI encoding of a constructor's single `address` argument.
pub fn address_arg(a: Address) -> Vec<u8> {
    a.into_word().to_vec()
}

/// A vault deployed through its constructor with `owner()` as the owner role.
pub fn deploy_vault(env: &mut Env) -> Address {
    env.deploy_wasm(&VAULT_WASM, Some(&address_arg(owner())), owner())
        .expect("vault deploys")
}

/// A registry deployed through its constructor with `owner()` as the owner role.
pub fn deploy_registry(env: &mut Env) -> Address {
    env.deploy_wasm(&REGISTRY_WASM, Some(&address_arg(owner())), owner())
        .expect("registry deploys")
}

pub fn wad(x: u64) -> U256 {
    U256::from(x) * U256::from(10u64).pow(U256::from(18u64))
}
