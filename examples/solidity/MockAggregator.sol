// SPDX-License-Identifier: MIT
pragma solidity ^0.8.23;

/// Chainlink's AggregatorV3Interface: what the RiskEngine reads from a price feed.
interface AggregatorV3Interface {
    function decimals() external view returns (uint8);

    function description() external view returns (string memory);

    function version() external view returns (uint256);

    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}

/// A price feed for devnets and tests, with Chainlink's AggregatorV3 shape. Its owner
/// pushes answers; a round can also be set field by field to model stale, incomplete or
/// odd rounds (what the engine's oracle checks reject). Never use it on a real network.
contract MockAggregator is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
        uint80 answeredInRound;
    }

    /// Emitted like Chainlink's `AnswerUpdated`.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    /// The caller is not the owner.
    error NotOwner(address caller);
    /// No round with this id.
    error NoSuchRound(uint80 roundId);

    address public immutable owner;
    uint8 public immutable override decimals;
    string public override description;
    uint80 public latestRound;
    mapping(uint80 => Round) private rounds;

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        owner = msg.sender;
        decimals = decimals_;
        description = description_;
        if (initialAnswer != 0) _push(initialAnswer, block.timestamp);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    function version() external pure override returns (uint256) {
        return 4;
    }

    /// Appends a round with `answer`, updated now; returns its id.
    function pushAnswer(int256 answer) external onlyOwner returns (uint80) {
        return _push(answer, block.timestamp);
    }

    /// Appends a round with `answer` updated at `updatedAt` (e.g. in the past, to test
    /// staleness); returns its id.
    function pushAnswerAt(int256 answer, uint256 updatedAt) external onlyOwner returns (uint80) {
        return _push(answer, updatedAt);
    }

    /// Sets every field of round `roundId` (it becomes the latest if it is newer).
    function setRound(uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
        external
        onlyOwner
    {
        rounds[roundId] = Round(answer, startedAt, updatedAt, answeredInRound);
        if (roundId > latestRound) latestRound = roundId;
        emit AnswerUpdated(answer, roundId, updatedAt);
    }

    function getRoundData(uint80 roundId)
        public
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round memory r = rounds[roundId];
        if (r.updatedAt == 0 && r.startedAt == 0) revert NoSuchRound(roundId);
        return (roundId, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        return getRoundData(latestRound);
    }

    function _push(int256 answer, uint256 updatedAt) private returns (uint80 id) {
        id = latestRound + 1;
        rounds[id] = Round(answer, updatedAt, updatedAt, id);
        latestRound = id;
        emit AnswerUpdated(answer, id, updatedAt);
    }
}
