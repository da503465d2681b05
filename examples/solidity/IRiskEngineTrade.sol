// SPDX-License-Identifier: MIT
pragma solidity ^0.8.23;

/// The one RiskEngine call a market needs. Declared by hand FOR NOW: the engine is being
/// split into several contracts, and abi/IRiskEngine.sol is generated from the engine as it
/// is before the split. Import the generated interface of the contract that takes trades
/// once the split lands.
interface IRiskEngineTrade {
    /// A trade from an authorised market: `buyerAccount` receives `size` of `instrument`
    /// from `sellerAccount` at `price` (premium per unit for options, entry price for
    /// futures; 18 decimals), each side paying `fee` (quote asset, 18 decimals) to the
    /// engine's fee account. The engine owner must have authorised the calling market
    /// (`setMarket(market, true)`), and the market must be an operator of both accounts
    /// on the vault (`ICollateralVault.setOperator`, by each account's owner). Both
    /// accounts must then meet their initial margin, unless the trade strictly reduces
    /// an account's risk. Reverts with the engine's, the registry's or the vault's
    /// custom errors.
    function trade(
        uint256 buyerAccount,
        uint256 sellerAccount,
        uint256 instrument,
        int256 size,
        int256 price,
        int256 fee
    ) external;
}
