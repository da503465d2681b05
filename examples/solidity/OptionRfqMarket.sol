// SPDX-License-Identifier: MIT
pragma solidity ^0.8.23;

import {ICollateralVault} from "../../abi/ICollateralVault.sol";
import {IPositionRegistry} from "../../abi/IPositionRegistry.sol";
import {IRiskEngine} from "../../abi/IRiskEngine.sol";

/// An example market on Stylus Margin: on-chain request-for-quote for options.
///
/// A maker posts a firm quote to sell (or buy) up to `size` of a listed option at a
/// premium per unit, valid until a deadline. Any taker fills all or part of it; the market
/// books the trade with the RiskEngine, which moves the premium and the fee between the
/// two margin accounts and checks both accounts' margin. The market holds no funds.
///
/// Setup, once:
/// - the engine owner authorises this market: `engine.setMarket(market, true)`;
/// - each trader, as the owner of a vault account, makes the market an operator of it:
///   `vault.setOperator(account, market, true)`.
/// Operators are trusted with the account (the engine lets them trade and withdraw for
/// it), so the market itself checks, on every call, that `msg.sender` is the owner or an
/// operator of the account it names.
///
/// Units: sizes and prices are 18-decimal fixed point (1e18 = one unit of the underlying;
/// premium per unit in the quote asset). Instrument ids are the registry's packed terms.
contract OptionRfqMarket {
    /// Instrument kinds in the registry's terms (2 is a future).
    uint8 internal constant CALL = 0;
    uint8 internal constant PUT = 1;
    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;

    struct Quote {
        address maker;
        uint64 validUntil;
        bool makerSells;
        uint256 makerAccount;
        uint256 instrument;
        uint256 remaining;
        int256 premium;
    }

    ICollateralVault public immutable vault;
    IPositionRegistry public immutable registry;
    IRiskEngine public immutable engine;
    /// Fee charged to EACH side, in basis points of the premium notional.
    uint256 public immutable feeBps;

    uint256 public quoteCount;
    mapping(uint256 => Quote) public quotes;

    event QuotePosted(
        uint256 indexed quoteId,
        uint256 indexed makerAccount,
        uint256 indexed instrument,
        bool makerSells,
        uint256 size,
        int256 premium,
        uint64 validUntil
    );
    event QuoteCancelled(uint256 indexed quoteId);
    event QuoteFilled(uint256 indexed quoteId, uint256 indexed takerAccount, uint256 size, int256 fee);

    error NotAuthorized(uint256 account, address caller);
    error MarketNotOperator(uint256 account);
    error NotAnOption(uint256 instrument, uint8 kind);
    error InstrumentExpired(uint256 instrument, uint64 expiry);
    error BadQuote();
    error QuoteNotLive(uint256 quoteId);
    error FillTooLarge(uint256 quoteId, uint256 size, uint256 remaining);
    error NotMaker(uint256 quoteId, address caller);

    constructor(ICollateralVault vault_, IPositionRegistry registry_, IRiskEngine engine_, uint256 feeBps_) {
        if (feeBps_ > 1_000) revert BadQuote(); // at most 10%
        vault = vault_;
        registry = registry_;
        engine = engine_;
        feeBps = feeBps_;
    }

    /// Posts a firm quote from `makerAccount`; returns its id.
    /// @param makerAccount The maker's vault account (caller must be its owner or operator).
    /// @param instrument A listed, unexpired call or put.
    /// @param size Most the taker may fill (18 decimals, > 0).
    /// @param premium Premium per unit (18 decimals, > 0).
    /// @param makerSells True: the maker sells (writes) the option; false: the maker buys.
    /// @param validUntil Last second the quote can be filled.
    function postQuote(
        uint256 makerAccount,
        uint256 instrument,
        uint256 size,
        int256 premium,
        bool makerSells,
        uint64 validUntil
    ) external returns (uint256 quoteId) {
        _requireAuthorized(makerAccount, msg.sender);
        if (!vault.isAuthorized(makerAccount, address(this))) revert MarketNotOperator(makerAccount);
        if (size == 0 || size > uint256(type(int256).max) || premium <= 0 || validUntil < block.timestamp) {
            revert BadQuote();
        }
        IPositionRegistry.InstrumentTerms memory terms = registry.terms(instrument); // reverts UnknownInstrument
        if (terms.kind != CALL && terms.kind != PUT) revert NotAnOption(instrument, terms.kind);
        if (terms.expiry <= block.timestamp) revert InstrumentExpired(instrument, terms.expiry);

        // A quote never outlives its option.
        uint64 until = validUntil < terms.expiry ? validUntil : terms.expiry;
        quoteId = ++quoteCount;
        quotes[quoteId] = Quote({
            maker: msg.sender,
            validUntil: until,
            makerSells: makerSells,
            makerAccount: makerAccount,
            instrument: instrument,
            remaining: size,
            premium: premium
        });
        emit QuotePosted(quoteId, makerAccount, instrument, makerSells, size, premium, until);
    }

    /// Withdraws a quote. Only the address that posted it.
    function cancelQuote(uint256 quoteId) external {
        Quote storage q = quotes[quoteId];
        if (q.maker != msg.sender) revert NotMaker(quoteId, msg.sender);
        q.remaining = 0;
        emit QuoteCancelled(quoteId);
    }

    /// Fills `size` of quote `quoteId` for `takerAccount` (caller must be its owner or
    /// operator). Reverts with the engine's errors (e.g. `InsufficientMargin`) when
    /// either account cannot carry the trade; nothing changes then.
    function fill(uint256 quoteId, uint256 takerAccount, uint256 size) external returns (int256 fee) {
        Quote storage q = quotes[quoteId];
        if (q.remaining == 0 || block.timestamp > q.validUntil) revert QuoteNotLive(quoteId);
        if (size == 0 || size > q.remaining) revert FillTooLarge(quoteId, size, q.remaining);
        _requireAuthorized(takerAccount, msg.sender);
        // The account may have changed hands since the quote was posted (a transfer
        // revokes operators, and a new owner may re-approve this market): the quote
        // stands only while its poster still controls the account.
        _requireAuthorized(q.makerAccount, q.maker);

        q.remaining -= size;
        // Premium notional = size * premium / 1e18; the fee is charged to each side.
        uint256 notional = (size * uint256(q.premium)) / WAD;
        fee = int256((notional * feeBps) / BPS);
        (uint256 buyer, uint256 seller) =
            q.makerSells ? (takerAccount, q.makerAccount) : (q.makerAccount, takerAccount);
        engine.trade(buyer, seller, q.instrument, int256(size), q.premium, fee);
        emit QuoteFilled(quoteId, takerAccount, size, fee);
    }

    /// The id of the instrument with these terms (the registry's packing), for UIs.
    function optionId(bool isCall, uint32 underlying, uint256 strike, uint64 expiry) external view returns (uint256) {
        return registry.instrumentId(isCall ? CALL : PUT, underlying, strike, expiry);
    }

    function _requireAuthorized(uint256 account, address who) internal view {
        // isAuthorized reverts with the vault's UnknownAccount for an unknown account.
        if (!vault.isAuthorized(account, who)) revert NotAuthorized(account, who);
    }
}
