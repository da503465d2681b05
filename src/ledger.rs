//! The reasons of the vault's cash-ledger entries (`adjustCash(account, delta, reason)`):
//! one home for the vault, which books each reason's net (`netCashAdjustment(reason)`),
//! and for the engine and the keeper module, which write them. The vault accepts any
//! `uint8`; these are the codes the system writes or keeps reserved.

/// Option or future settlement payoff (the engine's `settle`).
pub const SETTLEMENT: u8 = 1;
/// Reserved for fees: the engine moves fees between accounts (`transferCash`), so it
/// writes no entry with this reason; kept so the code is never reused for anything else.
pub const FEE: u8 = 2;
/// Bad debt written to the deficit ledger, or its socialisation (the keeper module).
pub const DEFICIT: u8 = 3;
/// Reserved for liquidation and keeper bounties: they move between accounts
/// (`transferCash`), so no entry carries this reason; kept so the code is never reused.
pub const BOUNTY: u8 = 4;
/// Realised futures PnL when a futures position is reduced, closed or flipped (the
/// engine's `trade`).
pub const FUTURES_PNL: u8 = 5;
