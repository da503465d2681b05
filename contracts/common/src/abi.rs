//! Hand-written ABI for the internal view calls: calldata of words, answers read as words.
//!
//! One home for what the reader, the lens and the keeper send to and read from the other
//! contracts. alloy's generic encoders and decoders (`sol_interface!`) cost about 2,000 gas
//! more per margin check and 1.5 KB of code per caller; the shapes here are the few the
//! system uses: static words, and at most one dynamic `uint256[]`/`int256[]` argument.
use alloc::vec::Vec;

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use stylus_sdk::call::RawCall;

use crate::{encode::ErrorWords, malformed, wire};

/// A malformed answer's revert data (`MathFailure(4)`).
fn malformed_data() -> Vec<u8> {
    malformed().revert_data()
}

/// The views our contracts call on each other, declared once (selectors and shapes).
pub mod calls {
    alloy_sol_types::sol! {
        function getAccountState(uint256 account, address actor) external view returns (address, bool, bool, int256, address[] memory, uint256[] memory, uint256[] memory);
        function accountCount() external view returns (uint256);
        function assetConfig(address token) external view returns (uint256);
        function getPositions(uint256 account) external view returns (uint256[] memory, int256[] memory, int256[] memory);
        function marketData(uint256[] memory keys) external view returns (uint256[] memory);
        function evaluate(uint256[] memory request) external view returns (uint256[] memory);
        function evaluations(uint256[] memory accounts, address actor) external view returns (uint256[] memory);
        function check(uint256[] memory accounts, address actor) external view returns (uint256[] memory);
        function checkAfter(uint256[] memory accounts, address actor) external view returns (uint256[] memory);
        function checkBefore(uint256 account, uint256[] memory undo) external view returns (uint256[] memory);
        function sources() external view returns (address, address, address, address);
        function params() external view returns (uint64[12] memory);
        function setFrozen(uint256 account, bool frozen) external;
        function transferCash(uint256 from, uint256 to, int256 amount) external;
        function adjustCash(uint256 account, int256 delta, uint8 reason) external;
        function moveFraction(uint256 from, uint256 to, uint256 fraction_wad) external;
        function cashOf(uint256 account) external view returns (int256);
        function socialisation() external view returns (uint256, int256);
        function socialise(uint256 index, int256 absorbed) external;
        function withdrawTo(uint256 account, address token, uint256 amount, address to) external returns (uint256);
        function requireAuthorized(uint256 account, address actor) external view;
        function applyTrade(uint256 buyer, uint256 seller, uint256 id, int256 size, int256 price) external returns (int256, int256);
        function closeExpired(uint256 account, uint256 id, int256 settlement_price) external returns (int256);
        function settlementPrice(uint32 underlying, uint64 expiry) external view returns (uint256);
    }
}

/// Calldata of `selector` with the static words `head` and, if `array` is `(at, words)`,
/// one dynamic `uint256[]` argument at argument index `at` (`at <= head.len()`; its words
/// follow the head).
pub fn calldata(selector: [u8; 4], head: &[U256], array: Option<(usize, &[U256])>) -> Vec<u8> {
    let args = head.len() + usize::from(array.is_some());
    let n = args + array.map_or(0, |(_, a)| a.len() + 1);
    let mut data = Vec::with_capacity(4 + 32 * n);
    data.extend_from_slice(&selector);
    let mut head = head.iter();
    for i in 0..args {
        let w = match array {
            Some((at, _)) if at == i => U256::from(32 * args),
            _ => head.next().copied().unwrap_or_default(),
        };
        data.extend_from_slice(&w.to_be_bytes::<32>());
    }
    if let Some((_, a)) = array {
        data.extend_from_slice(&U256::from(a.len()).to_be_bytes::<32>());
        for w in a {
            data.extend_from_slice(&w.to_be_bytes::<32>());
        }
    }
    data
}

/// A view call ([`calldata`]) to `to`: the answer, or the callee's revert data unchanged.
///
/// # Errors
/// The callee's revert data.
pub fn view(
    to: Address,
    selector: [u8; 4],
    head: &[U256],
    array: Option<(usize, &[U256])>,
) -> Result<Answer, Vec<u8>> {
    let data = calldata(selector, head, array);
    // SAFETY: a static call changes no state, and no storage reference is held across it.
    unsafe { RawCall::new_static().call(to, &data) }.map(Answer::new)
}

/// A state-changing call ([`calldata`] of static words) to `to`, after writing this
/// contract's cached storage: the answer, or the callee's revert data unchanged.
///
/// # Errors
/// The callee's revert data.
pub fn send(to: Address, selector: [u8; 4], head: &[U256]) -> Result<Answer, Vec<u8>> {
    let data = calldata(selector, head, None);
    // SAFETY: the storage cache is flushed before the call and no storage reference is
    // held across it (the callee may call back only as the call graph allows: never).
    unsafe { RawCall::new().flush_storage_cache().call(to, &data) }.map(Answer::new)
}

/// ABI-encoded return data, read as words (malformed data: `MathFailure(4)`; our
/// contracts never answer it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    data: Vec<u8>,
    /// Where the returned values start.
    base: usize,
}

impl Answer {
    /// The answer `data`, its values starting at byte 0.
    pub fn new(data: Vec<u8>) -> Self {
        Answer { data, base: 0 }
    }

    /// The word at byte `at`.
    fn word_at(&self, at: usize) -> Result<U256, Vec<u8>> {
        let end = at.checked_add(32).ok_or_else(malformed_data)?;
        let b = self.data.get(at..end).ok_or_else(malformed_data)?;
        Ok(U256::from_be_slice(b))
    }

    fn usize_at(&self, at: usize) -> Result<usize, Vec<u8>> {
        let w = self.word_at(at)?;
        usize::try_from(w)
            .ok()
            .filter(|n| *n <= self.data.len())
            .ok_or_else(malformed_data)
    }

    /// Returned value `i` (a static one, or the offset of a dynamic one).
    ///
    /// # Errors
    /// `MathFailure(4)` past the end of the data.
    pub fn word(&self, i: usize) -> Result<U256, Vec<u8>> {
        self.word_at(self.base + 32 * i)
    }

    /// Several values returned as a tuple holding a dynamic type: stylus-sdk 0.9 encodes
    /// them as one tuple (`abi_encode`, behind an offset word; OffchainLabs/stylus-sdk-rs
    /// #308), which is what the vault and the registry answer.
    ///
    /// # Errors
    /// `MathFailure(4)` for an offset outside the data.
    pub fn tuple(mut self) -> Result<Answer, Vec<u8>> {
        self.base = self.usize_at(0)?;
        Ok(self)
    }

    /// The array of 32-byte elements (`uint256[]`, `int256[]`) that returned value `i` is.
    ///
    /// # Errors
    /// `MathFailure(4)` for an offset or a length outside the data.
    pub fn array(&self, i: usize) -> Result<Vec<U256>, Vec<u8>> {
        let at = self.base + self.usize_at(self.base + 32 * i)?;
        let n = self.usize_at(at)?;
        (0..n).map(|j| self.word_at(at + 32 + 32 * j)).collect()
    }
}

/// The reader's answer to `selector(uint256[] accounts, address actor)` (`check`,
/// `evaluations`): its words.
///
/// # Errors
/// The reader's errors unchanged; `MathFailure(4)` for a malformed answer.
pub fn accounts_view(
    reader: Address,
    selector: [u8; 4],
    accounts: &[U256],
    actor: Address,
) -> Result<Vec<U256>, Vec<u8>> {
    view(
        reader,
        selector,
        &[address_word(actor)],
        Some((0, accounts)),
    )?
    .array(0)
}

/// The calculator's answer to `request`, as words, with the oracle's market data for its
/// keys (sorted here) filled in (`request.market` is replaced): the one request path of
/// the reader's checks and of the lens's quotes.
///
/// # Errors
/// The oracle's and the calculator's errors unchanged; `MathFailure(4)` for a malformed
/// answer.
pub fn evaluate(
    oracle: Address,
    calculator: Address,
    mut request: wire::Request,
) -> Result<Vec<U256>, Vec<u8>> {
    wire::sort_keys(&mut request.keys);
    request.market = view(
        oracle,
        calls::marketDataCall::SELECTOR,
        &[],
        Some((0, &request.keys)),
    )?
    .array(0)?;
    view(
        calculator,
        calls::evaluateCall::SELECTOR,
        &[],
        Some((0, &request.encode())),
    )?
    .array(0)
}

/// An address as an ABI word.
pub fn address_word(a: Address) -> U256 {
    U256::from_be_bytes(a.into_word().0)
}

/// `stylus_sdk::abi::AbiType` for a `sol!` struct that a public function takes or returns,
/// written by hand: stylus-sdk 0.9's `#[derive(AbiType)]` names the struct in the selector
/// (`setParams(MarginParams)`) where Solidity hashes its tuple
/// (`setParams((uint64,...))`), so no Solidity caller could reach such a function (fixed
/// after 0.9.0 by `SELECTOR_ABI`, OffchainLabs/stylus-sdk-rs#274, issue #167).
/// `$tuple` is the struct's tuple type; every use tests it against [`tuple_type`].
/// Under `export-abi` the struct's declaration is the `sol!` block's (tools/abi-export).
#[macro_export]
macro_rules! abi_struct {
    ($ty:ident, $tuple:literal) => {
        impl stylus_sdk::abi::AbiType for $ty {
            type SolType = Self;
            const ABI: stylus_sdk::abi::ConstString = stylus_sdk::abi::ConstString::new($tuple);
            const EXPORT_ABI_ARG: stylus_sdk::abi::ConstString =
                stylus_sdk::abi::ConstString::new(concat!(stringify!($ty), " calldata"));
            const EXPORT_ABI_RET: stylus_sdk::abi::ConstString =
                stylus_sdk::abi::ConstString::new(concat!(stringify!($ty), " memory"));
        }
        #[cfg(feature = "export-abi")]
        impl stylus_sdk::abi::export::internal::InnerTypes for $ty {}
    };
}

/// The tuple type of a `sol!` struct of elementary fields (`(uint64,int256)`), from its
/// EIP-712 type string: what an [`abi_struct!`](crate::abi_struct) literal must equal.
pub fn tuple_type<T: alloy_sol_types::SolStruct>() -> alloc::string::String {
    let root = T::eip712_root_type();
    let fields = root
        .split_once('(')
        .map_or("", |(_, f)| f.trim_end_matches(')'));
    let types: Vec<&str> = fields
        .split(',')
        .filter_map(|f| f.split(' ').next())
        .filter(|t| !t.is_empty())
        .collect();
    alloc::format!("({})", types.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    alloy_sol_types::sol! {
        struct Mixed { uint64 a; int256 b; address c; bool d; bytes32 e; }
    }

    #[test]
    fn tuple_type_lists_the_field_types() {
        assert_eq!(
            tuple_type::<Mixed>(),
            "(uint64,int256,address,bool,bytes32)"
        );
    }
    use alloc::vec;
    use alloy_primitives::I256;
    use alloy_sol_types::{sol, SolType, SolValue};
    use calls::*;

    sol! {
        function mixed(uint256 a, uint256[] memory xs, address b) external view returns (uint256);
    }

    #[test]
    fn calldata_is_what_alloy_encodes() {
        let keys = vec![U256::from(7u8), U256::MAX, U256::ZERO];
        assert_eq!(
            calldata(marketDataCall::SELECTOR, &[], Some((0, &keys))),
            marketDataCall { keys: keys.clone() }.abi_encode()
        );
        assert_eq!(
            calldata(marketDataCall::SELECTOR, &[], Some((0, &[]))),
            marketDataCall { keys: vec![] }.abi_encode()
        );
        let actor = Address::repeat_byte(0xa1);
        assert_eq!(
            calldata(
                evaluationsCall::SELECTOR,
                &[address_word(actor)],
                Some((0, &keys))
            ),
            evaluationsCall {
                accounts: keys.clone(),
                actor
            }
            .abi_encode()
        );
        assert_eq!(
            calldata(
                getAccountStateCall::SELECTOR,
                &[U256::from(5u8), address_word(actor)],
                None
            ),
            getAccountStateCall {
                account: U256::from(5u8),
                actor
            }
            .abi_encode()
        );
        assert_eq!(
            calldata(
                checkBeforeCall::SELECTOR,
                &[U256::from(5u8)],
                Some((1, &keys))
            ),
            checkBeforeCall {
                account: U256::from(5u8),
                undo: keys.clone()
            }
            .abi_encode()
        );
        assert_eq!(
            calldata(accountCountCall::SELECTOR, &[], None),
            accountCountCall {}.abi_encode()
        );
        assert_eq!(
            calldata(
                mixedCall::SELECTOR,
                &[U256::from(3u8), address_word(actor)],
                Some((1, &keys))
            ),
            mixedCall {
                a: U256::from(3u8),
                xs: keys,
                b: actor
            }
            .abi_encode()
        );
    }

    /// The answers as stylus-sdk 0.9 encodes them (`SolType::abi_encode` of the returned
    /// value: a tuple holding a dynamic type sits behind an offset word).
    #[test]
    fn answers_decode_as_the_sdk_encodes_them() {
        let a = |v: &[u64]| v.iter().map(|x| U256::from(*x)).collect::<Vec<_>>();
        let neg = I256::try_from(-5i64).unwrap();
        let state = (
            Address::repeat_byte(1),
            true,
            false,
            neg,
            vec![Address::repeat_byte(2), Address::repeat_byte(3)],
            a(&[10, 20]),
            a(&[30, 40]),
        );
        let ans = Answer::new(state.abi_encode()).tuple().unwrap();
        assert_eq!(ans.word(1).unwrap(), U256::from(1u8));
        assert_eq!(ans.word(2).unwrap(), U256::ZERO);
        assert_eq!(ans.word(3).unwrap(), neg.into_raw());
        assert_eq!(ans.array(5).unwrap(), a(&[10, 20]));
        assert_eq!(ans.array(6).unwrap(), a(&[30, 40]));
        let positions = (a(&[1, 2, 3]), vec![neg, I256::ONE, neg], Vec::<I256>::new());
        let ans = Answer::new(positions.abi_encode()).tuple().unwrap();
        assert_eq!(ans.array(0).unwrap(), a(&[1, 2, 3]));
        assert_eq!(
            ans.array(1).unwrap(),
            vec![neg.into_raw(), U256::from(1u8), neg.into_raw()]
        );
        assert_eq!(ans.array(2).unwrap(), vec![]);
        let words = a(&[4, 5, 6]);
        let ans = Answer::new(<alloy_sol_types::sol_data::Array<
            alloy_sol_types::sol_data::Uint<256>,
        >>::abi_encode(&words));
        assert_eq!(ans.array(0).unwrap(), words);
        assert_eq!(
            Answer::new(U256::from(9u8).abi_encode()).word(0).unwrap(),
            U256::from(9u8)
        );
        // Truncated or absurd data is refused, never read out of bounds.
        let mut data = words.abi_encode();
        data.truncate(data.len() - 1);
        assert_eq!(Answer::new(data).array(0), Err(malformed_data()));
        let mut data = words.abi_encode();
        data[32..64].copy_from_slice(&U256::MAX.to_be_bytes::<32>());
        assert_eq!(Answer::new(data).array(0), Err(malformed_data()));
    }
}
