//! The native mocks through the ABI: the Chainlink-style feed with settable rounds, and a
//! feed read by another contract (a native caller), with time moving.

use alloy_sol_types::{SolCall, SolError};
use margin_wasm_env::mocks::{IAggregator, MockAggregator, Round};
use margin_wasm_env::{
    Address, Env, NativeContract, NativeCtx, NativeError, NativeResult, I256, U256,
};

fn feed() -> Address {
    Address::repeat_byte(0xFE)
}

#[test]
fn aggregator_rounds() {
    let mut env = Env::new();
    env.register_native(feed(), Box::new(MockAggregator::new(8, "ETH / USD")));
    let none = env
        .view_sol(feed(), &IAggregator::latestRoundDataCall {})
        .unwrap_err();
    assert!(!none.success);

    let t0 = env.timestamp();
    let agg = env.native::<MockAggregator>(feed()).unwrap();
    agg.push(I256::try_from(200_000_000_000_i64).unwrap(), t0);
    let r2 = agg.push(I256::try_from(210_000_000_000_i64).unwrap(), t0 + 60);
    assert_eq!(r2, 2);

    let d = env.view_sol(feed(), &IAggregator::decimalsCall {}).unwrap();
    assert_eq!(d._0, 8);
    let latest = env
        .view_sol(feed(), &IAggregator::latestRoundDataCall {})
        .unwrap();
    assert_eq!(latest.roundId.to::<u128>(), 2);
    assert_eq!(latest.answer, I256::try_from(210_000_000_000_i64).unwrap());
    assert_eq!(latest.updatedAt, U256::from(t0 + 60));
    let first = env
        .view_sol(
            feed(),
            &IAggregator::getRoundDataCall {
                roundId: alloy_primitives::Uint::from(1u64),
            },
        )
        .unwrap();
    assert_eq!(first.answer, I256::try_from(200_000_000_000_i64).unwrap());

    // A stale round: answeredInRound behind roundId.
    let agg = env.native::<MockAggregator>(feed()).unwrap();
    agg.set_round(
        3,
        Round {
            answer: I256::ONE,
            started_at: t0,
            updated_at: t0,
            answered_in_round: 2,
        },
    );
    let latest = env
        .view_sol(feed(), &IAggregator::latestRoundDataCall {})
        .unwrap();
    assert_eq!(
        (
            latest.roundId.to::<u128>(),
            latest.answeredInRound.to::<u128>()
        ),
        (3, 2)
    );

    agg.reverting.set(true);
    assert!(env
        .view_sol(feed(), &IAggregator::latestRoundDataCall {})
        .is_err());
}

/// A consumer that reverts when the feed's answer is older than `max_age` seconds.
struct Consumer {
    max_age: u64,
}

impl NativeContract for Consumer {
    fn call(&self, ctx: &mut NativeCtx<'_>, _input: &[u8]) -> NativeResult {
        let r = ctx.static_call(feed(), &IAggregator::latestRoundDataCall {}.abi_encode())?;
        if !r.success {
            return Err(NativeError::message("feed failed"));
        }
        let d = IAggregator::latestRoundDataCall::abi_decode_returns(&r.data, true)
            .map_err(|_| NativeError::message("bad feed data"))?;
        let updated: u64 = d.updatedAt.to();
        if ctx.timestamp() > updated + self.max_age {
            return Err(NativeError::message("stale"));
        }
        Ok(d.answer.to_be_bytes::<32>().to_vec())
    }
}

#[test]
fn a_consumer_sees_the_feed_go_stale_as_time_moves() {
    let mut env = Env::new();
    env.register_native(feed(), Box::new(MockAggregator::new(8, "ETH / USD")));
    let consumer = Address::repeat_byte(0xC0);
    env.register_native(consumer, Box::new(Consumer { max_age: 3_600 }));
    let now = env.timestamp();
    env.native::<MockAggregator>(feed())
        .unwrap()
        .push(I256::try_from(42).unwrap(), now);
    let user = Address::repeat_byte(1);
    let out = env.call(user, consumer, [0u8; 4], U256::ZERO);
    assert!(out.success, "{out:?}");
    assert_eq!(out.trace.len(), 2);
    env.advance(3_601);
    let out = env.call(user, consumer, [0u8; 4], U256::ZERO);
    assert!(!out.success);
    assert_eq!(
        out.return_data,
        alloy_sol_types::Revert::from("stale").abi_encode()
    );
}

/// Reads the feed's latest round twice in one call.
struct TwiceReader;

impl NativeContract for TwiceReader {
    fn call(&self, ctx: &mut NativeCtx<'_>, _input: &[u8]) -> NativeResult {
        for _ in 0..2 {
            let r = ctx.static_call(feed(), &IAggregator::latestRoundDataCall {}.abi_encode())?;
            if !r.success {
                return Err(NativeError::message("feed failed"));
            }
        }
        Ok(vec![])
    }
}

#[test]
fn a_feed_read_costs_what_the_solidity_aggregator_costs_on_nitro() {
    // Measured on nitro for examples/solidity/MockAggregator.sol: latestRoundData costs
    // 11,407 gas cold and 1,407 warm (the frame's own gas, the caller's call cost aside).
    let mut env = Env::new();
    env.register_native(feed(), Box::new(MockAggregator::new(8, "ETH / USD")));
    let reader = Address::repeat_byte(0xC1);
    env.register_native(reader, Box::new(TwiceReader));
    let now = env.timestamp();
    env.native::<MockAggregator>(feed())
        .unwrap()
        .push(I256::try_from(42).unwrap(), now);
    let out = env.call(Address::repeat_byte(1), reader, [0u8; 4], U256::ZERO);
    assert!(out.success, "{out:?}");
    let reads: Vec<u64> = out
        .trace
        .iter()
        .filter(|f| f.to == feed())
        .map(|f| f.gas_used)
        .collect();
    assert_eq!(reads, vec![11_407, 1_407]);
}
