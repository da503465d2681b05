//! The generated Solidity interfaces of the contracts (`abi/*.sol` at the workspace
//! root), read by alloy's `sol!`: the calls, returns, events and custom errors that the
//! deployable binaries speak. A drift between `abi/` and a binary shows up as a call that
//! does not decode.
//!
//! stylus-sdk 0.9 encodes a multi-value return that contains a dynamic array as one tuple,
//! which Solidity's several return values do not read; so every such view returns a named
//! struct (the vault's `AccountState`, the registry's `Positions`, the lens's `ScanPage`,
//! `AccountRisk`, `Quote`), and `tools/abi-export` refuses a function that does not.
#![allow(missing_docs, clippy::too_many_arguments)]

use alloy_sol_types::{sol, SolInterface};

// Paths are relative to this crate's manifest directory.
sol!(
    #[sol(all_derives)]
    "../abi/ICollateralVault.sol"
);
sol!(
    #[sol(all_derives)]
    "../abi/IPositionRegistry.sol"
);
sol!(
    #[sol(all_derives)]
    "../abi/IRiskOracle.sol"
);
sol!(
    #[sol(all_derives)]
    "../abi/IRiskCalculator.sol"
);
sol!(
    #[sol(all_derives)]
    "../abi/IRiskReader.sol"
);
sol!(
    #[sol(all_derives)]
    "../abi/IRiskEngine.sol"
);
sol!(
    #[sol(all_derives)]
    "../abi/IKeeperModule.sol"
);
sol!(
    #[sol(all_derives)]
    "../abi/IRiskLens.sol"
);

/// Names revert data: the first of the interfaces (then the mock ERC20's errors)
/// whose custom errors decode it, as `Interface::Error { fields }`; `revert without data`
/// for an empty revert (a trap, a re-entrancy refusal, out of gas); otherwise the hex.
pub fn describe_revert(data: &[u8]) -> String {
    if data.is_empty() {
        return "revert without data".to_string();
    }
    macro_rules! try_decode {
        ($($m:ident :: $e:ident),*) => {$(
            if let Ok(e) = $m::$e::abi_decode(data, true) {
                return format!("{}::{:?}", stringify!($m), e);
            }
        )*};
    }
    try_decode!(
        IRiskEngine::IRiskEngineErrors,
        IKeeperModule::IKeeperModuleErrors,
        IRiskReader::IRiskReaderErrors,
        IRiskLens::IRiskLensErrors,
        IRiskOracle::IRiskOracleErrors,
        IRiskCalculator::IRiskCalculatorErrors,
        ICollateralVault::ICollateralVaultErrors,
        IPositionRegistry::IPositionRegistryErrors
    );
    if data.len() >= 4 && data[..4] == [0x08, 0xc3, 0x79, 0xa0] {
        if let Ok(s) = <alloy_sol_types::sol_data::String as alloy_sol_types::SolType>::abi_decode(
            &data[4..],
            true,
        ) {
            return format!("Error({s:?})");
        }
    }
    format!(
        "unknown revert data 0x{}",
        alloy_primitives::hex::encode(data)
    )
}
