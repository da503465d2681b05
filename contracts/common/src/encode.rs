//! Events and custom errors from their words: one shared encoder instead of alloy's per
//! event and per error.
//!
//! `stylus_sdk::prelude::log` monomorphises alloy's topic and data encoders for every
//! event type, about 540 bytes of WASM each (the vault's 18 events: 9.7 KB raw, 400 bytes
//! of its compressed size). Here each event only lists its fields ([`event_words!`](crate::event_words): the
//! indexed ones, then the data ones, in declaration order), and one function
//! ([`emit_words`]) builds the log. Only static ABI types (one word per field). Every
//! contract that uses it tests each of its events against alloy's `encode_log_data` on
//! varied values ([`same_as_alloy`]). Custom errors likewise: each error lists its fields
//! once ([`error_words!`](crate::error_words), [`ErrorWords`]), and each contract declares
//! the errors it can raise as one enum ([`errors!`](crate::errors)), its revert data built
//! by [`error_words`] and tested against alloy's `abi_encode` by the test the macro
//! generates. (The core's failures this way saved the calculator 520 bytes compressed.)
use alloc::vec::Vec;

use alloy_primitives::{Address, FixedBytes, Signed, Uint, U256};
use stylus_sdk::stylus_core::Host;

/// Revert data of a custom error whose fields are static: its selector, then one word
/// per field.
pub fn error_words(selector: [u8; 4], words: &[U256]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 32 * words.len());
    out.extend_from_slice(&selector);
    for w in words {
        out.extend_from_slice(&w.to_be_bytes::<32>());
    }
    out
}

/// A static ABI value as its one word.
pub trait Word {
    /// The ABI word.
    fn word(&self) -> U256;
}

impl<const B: usize, const L: usize> Word for Uint<B, L> {
    fn word(&self) -> U256 {
        U256::from(*self)
    }
}

impl Word for Signed<256, 4> {
    fn word(&self) -> U256 {
        self.into_raw()
    }
}

impl Word for Address {
    fn word(&self) -> U256 {
        U256::from_be_bytes(self.into_word().0)
    }
}

impl Word for FixedBytes<32> {
    fn word(&self) -> U256 {
        U256::from_be_bytes(self.0)
    }
}

impl Word for bool {
    fn word(&self) -> U256 {
        U256::from(u8::from(*self))
    }
}

macro_rules! unsigned_word {
    ($($t:ty),*) => {$(
        impl Word for $t {
            fn word(&self) -> U256 {
                U256::from(*self)
            }
        }
    )*};
}
unsigned_word!(u8, u16, u32, u64, u128);

macro_rules! signed_word {
    ($($t:ty),*) => {$(
        impl Word for $t {
            /// Sign-extended to 256 bits.
            fn word(&self) -> U256 {
                let v = i128::from(*self);
                let ext = if v < 0 { u64::MAX } else { 0 };
                U256::from_limbs([v as u64, (v >> 64) as u64, ext, ext])
            }
        }
    )*};
}
signed_word!(i8, i16, i32, i64, i128);

/// A value of a static ABI type from a word, truncated (tests: varied field values for
/// [`same_as_alloy`]).
pub trait FromWord {
    /// The value.
    fn from_word(w: U256) -> Self;
}

impl<const B: usize, const L: usize> FromWord for Uint<B, L> {
    fn from_word(w: U256) -> Self {
        if B >= 256 {
            w.to()
        } else {
            (w & ((U256::from(1u8) << B) - U256::from(1u8))).to()
        }
    }
}

impl FromWord for Signed<256, 4> {
    fn from_word(w: U256) -> Self {
        Self::from_raw(w)
    }
}

impl FromWord for Address {
    fn from_word(w: U256) -> Self {
        Address::from_word(w.to_be_bytes::<32>().into())
    }
}

impl FromWord for FixedBytes<32> {
    fn from_word(w: U256) -> Self {
        FixedBytes(w.to_be_bytes())
    }
}

impl FromWord for bool {
    fn from_word(w: U256) -> Self {
        w.bit(0)
    }
}

macro_rules! int_from_word {
    ($($t:ty),*) => {$(
        impl FromWord for $t {
            fn from_word(w: U256) -> Self {
                let l = w.as_limbs();
                (((l[1] as u128) << 64) | l[0] as u128) as $t
            }
        }
    )*};
}
int_from_word!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128);

impl<T: FromWord, const N: usize> FromWord for [T; N] {
    fn from_word(w: U256) -> Self {
        core::array::from_fn(|i| T::from_word(w.rotate_left(8 * i)))
    }
}

/// A value of any static ABI type from four draws of `next` (tests: with the project's
/// splitmix64, `margin_books::Rng`).
pub fn varied<T: FromWord>(next: &mut impl FnMut() -> u64) -> T {
    T::from_word(U256::from_limbs([next(), next(), next(), next()]))
}

/// An event as its words.
pub trait EventWords {
    /// Calls `f` with the topics (the signature hash, then the indexed fields) and the
    /// data words.
    fn with_words(&self, f: &mut dyn FnMut(&[U256], &[U256]));
}

/// Emits the log of `topics` and `data` words.
pub fn emit_words(vm: &dyn Host, topics: &[U256], data: &[U256]) {
    let mut bytes = Vec::with_capacity(32 * (topics.len() + data.len()));
    for w in topics.iter().chain(data) {
        bytes.extend_from_slice(&w.to_be_bytes::<32>());
    }
    vm.emit_log(&bytes, topics.len());
}

/// Emits `event` ([`EventWords`]).
pub fn emit<E: EventWords>(vm: &dyn Host, event: E) {
    event.with_words(&mut |topics, data| emit_words(vm, topics, data));
}

/// The log bytes of an event as [`emit`] writes them: (topics, data).
pub fn log_bytes<E: EventWords>(event: &E) -> (Vec<FixedBytes<32>>, Vec<u8>) {
    let mut out = (Vec::new(), Vec::new());
    event.with_words(&mut |topics, data| {
        out.0 = topics.iter().map(|t| FixedBytes(t.to_be_bytes())).collect();
        out.1 = data.iter().flat_map(|w| w.to_be_bytes::<32>()).collect();
    });
    out
}

/// Whether [`emit`] writes what alloy's `encode_log_data` does for `event` (tests).
pub fn same_as_alloy<E: EventWords + alloy_sol_types::SolEvent>(event: &E) -> bool {
    let alloy = event.encode_log_data();
    let (topics, data) = log_bytes(event);
    topics == alloy.topics() && data == alloy.data.to_vec()
}

/// An event with every field drawn from `next` ([`varied`]; the test [`event_words!`](crate::event_words)
/// generates).
pub trait VariedEvent: Sized {
    /// The event with varied fields.
    fn varied(next: &mut dyn FnMut() -> u64) -> Self;
}

/// Implements [`EventWords`] for a contract's `sol!` events, in one invocation per module:
/// `Event { indexed, ...; data, ... }` (`; data` may be left out), each list in
/// declaration order, or, for an event whose one field is a static struct,
/// `Event { ; (field as [T; N]) }` with the struct's `Into<[T; N]>`. It also generates
/// the module's test `events_log_as_alloy_encodes`: every listed event, on varied fields
/// ([`VariedEvent`], the project's seeded generator), logs what alloy's `encode_log_data`
/// does ([`same_as_alloy`]).
#[macro_export]
macro_rules! event_words {
    (@one $e:ident { ; ($a:ident as [$t:ty; $n:expr]) }) => {
        impl $crate::encode::EventWords for $e {
            fn with_words(
                &self,
                f: &mut dyn FnMut(&[alloy_primitives::U256], &[alloy_primitives::U256]),
            ) {
                use $crate::encode::Word as _;
                let values: [$t; $n] = self.$a.clone().into();
                f(
                    &[alloy_primitives::U256::from_be_bytes(
                        <$e as alloy_sol_types::SolEvent>::SIGNATURE_HASH.0,
                    )],
                    &values.map(|x| x.word()),
                )
            }
        }
        #[cfg(test)]
        impl $crate::encode::VariedEvent for $e {
            fn varied(next: &mut dyn FnMut() -> u64) -> Self {
                let mut n = || next();
                $e {
                    $a: $crate::encode::varied::<[$t; $n]>(&mut n).into(),
                }
            }
        }
    };
    (@one $e:ident { $($i:ident),* $(; $($d:ident),*)? }) => {
        impl $crate::encode::EventWords for $e {
            fn with_words(
                &self,
                f: &mut dyn FnMut(&[alloy_primitives::U256], &[alloy_primitives::U256]),
            ) {
                use $crate::encode::Word as _;
                f(
                    &[
                        alloy_primitives::U256::from_be_bytes(
                            <$e as alloy_sol_types::SolEvent>::SIGNATURE_HASH.0,
                        ),
                        $(self.$i.word()),*
                    ],
                    &[$($(self.$d.word()),*)?],
                )
            }
        }
        #[cfg(test)]
        impl $crate::encode::VariedEvent for $e {
            fn varied(next: &mut dyn FnMut() -> u64) -> Self {
                let mut n = || next();
                $e {
                    $($i: $crate::encode::varied(&mut n),)*
                    $($($d: $crate::encode::varied(&mut n),)*)?
                }
            }
        }
    };
    ($($e:ident { $($body:tt)* })*) => {
        $($crate::event_words!(@one $e { $($body)* });)*

        /// Every event's log, from the shared encoder, is alloy's (varied fields).
        #[cfg(test)]
        #[test]
        fn events_log_as_alloy_encodes() {
            let mut r = margin_books::Rng(23);
            let mut next = || r.next_u64();
            for k in 0..32 {
                $(assert!(
                    $crate::encode::same_as_alloy(
                        &<$e as $crate::encode::VariedEvent>::varied(&mut next)
                    ),
                    "{} {k}",
                    stringify!($e)
                );)*
            }
        }
    };
}

/// A custom error whose fields are static, as its words.
pub trait ErrorWords: Sized {
    /// The error's revert data: its selector, then one word per field ([`error_words`]).
    fn revert_data(&self) -> Vec<u8>;
    /// The error with every field drawn from `next` ([`varied`]; tests).
    fn varied(next: &mut dyn FnMut() -> u64) -> Self;
}

/// Implements [`ErrorWords`] for `sol!` errors: `Error { field, ... }` with the fields in
/// declaration order (checked against alloy by the test [`errors!`](crate::errors)
/// generates).
#[macro_export]
macro_rules! error_words {
    ($($e:ident { $($f:ident),* $(,)? })*) => {$(
        impl $crate::encode::ErrorWords for $e {
            fn revert_data(&self) -> alloc::vec::Vec<u8> {
                #[allow(unused_imports)]
                use $crate::encode::Word as _;
                $crate::encode::error_words(
                    <$e as alloy_sol_types::SolError>::SELECTOR,
                    &[$(self.$f.word()),*],
                )
            }
            #[allow(unused_mut)]
            fn varied(mut _next: &mut dyn FnMut() -> u64) -> Self {
                $e { $($f: $crate::encode::varied(&mut _next)),* }
            }
        }
    )*};
}

/// A contract's typed errors: `errors! { /// doc
/// pub enum Error { Name, ... } }` declares the enum with one variant per error it can
/// raise (`Name(Name)`: its own `sol!` errors and the shared ones of `margin_common` it
/// imports, each with [`ErrorWords`]) and one that passes a callee's revert data through
/// unchanged (`Revert(Vec<u8>)`); `From` each; the revert data (`Vec<u8>: From<Error>`,
/// one [`error_words`] per variant it lists, none for errors it cannot raise); the
/// errors for `export-abi`; and the test `errors_revert_as_alloy_encodes` (each variant
/// on varied fields against alloy's `abi_encode`; the crate needs `margin-books` as a
/// dev-dependency).
#[macro_export]
macro_rules! errors {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($v:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug)]
        $vis enum $name {
            $(
                #[allow(missing_docs)]
                $v($v),
            )*
            /// A callee's revert data, passed through unchanged.
            Revert(alloc::vec::Vec<u8>),
        }
        $(impl From<$v> for $name {
            fn from(e: $v) -> Self {
                $name::$v(e)
            }
        })*
        impl From<alloc::vec::Vec<u8>> for $name {
            fn from(revert_data: alloc::vec::Vec<u8>) -> Self {
                $name::Revert(revert_data)
            }
        }
        impl From<$name> for alloc::vec::Vec<u8> {
            fn from(e: $name) -> Self {
                use $crate::encode::ErrorWords as _;
                match e {
                    $($name::$v(x) => x.revert_data(),)*
                    $name::Revert(data) => data,
                }
            }
        }
        #[cfg(feature = "export-abi")]
        impl stylus_sdk::abi::export::internal::InnerTypes for $name {
            fn inner_types() -> alloc::vec::Vec<stylus_sdk::abi::export::internal::InnerType> {
                use alloc::format;
                use alloy_sol_types::SolError as _;
                alloc::vec![$(stylus_sdk::abi::export::internal::InnerType {
                    name: format!("error {};", <$v>::SIGNATURE.replace(',', ", ")),
                    id: core::any::TypeId::of::<$v>(),
                }),*]
            }
        }
        /// Each error's revert data, built from its words, is what alloy encodes (varied
        /// fields, from the project's seeded generator); revert data passed through comes
        /// out unchanged.
        #[cfg(test)]
        #[test]
        fn errors_revert_as_alloy_encodes() {
            use alloy_sol_types::SolError as _;
            use $crate::encode::ErrorWords as _;
            let mut r = margin_books::Rng(0x5eed);
            let mut next = || r.next_u64();
            for _ in 0..64 {
                $({
                    let e = <$v>::varied(&mut next);
                    let alloys = e.abi_encode();
                    assert_eq!(alloc::vec::Vec::from($name::from(e)), alloys, stringify!($v));
                })*
                let data: alloc::vec::Vec<u8> = (0..next() % 100).map(|_| next() as u8).collect();
                assert_eq!(alloc::vec::Vec::from($name::from(data.clone())), data);
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{I256, U256};
    use alloy_sol_types::sol;

    sol! {
        event Every(uint256 indexed a, address indexed b, int256 c, bool d, uint8 e, uint64 f, int128 g, uint128 h, bytes32 i);
        event NoIndexed(int256 x);
        struct Three { uint64 x; uint64 y; uint64 z; }
        event WithStruct(Three three);
    }
    impl From<Three> for [u64; 3] {
        fn from(t: Three) -> Self {
            [t.x, t.y, t.z]
        }
    }
    impl From<[u64; 3]> for Three {
        fn from([x, y, z]: [u64; 3]) -> Self {
            Three { x, y, z }
        }
    }
    crate::event_words! {
        Every { a, b; c, d, e, f, g, h, i }
        NoIndexed { ; x }
        WithStruct { ; (three as [u64; 3]) }
    }

    #[test]
    fn words_are_what_alloy_encodes() {
        for k in 0..64u64 {
            let v = U256::from(k).wrapping_mul(U256::MAX / U256::from(63u8));
            let neg = k % 2 == 1;
            let e = Every {
                a: v,
                b: Address::repeat_byte(k as u8),
                c: if neg {
                    I256::MIN + I256::try_from(k).unwrap()
                } else {
                    I256::from_raw(v >> 1)
                },
                d: neg,
                e: k as u8,
                f: u64::MAX - k,
                g: if neg {
                    -(k as i128) - 1
                } else {
                    i128::MAX - k as i128
                },
                h: u128::MAX - k as u128,
                i: FixedBytes(v.to_be_bytes()),
            };
            assert!(same_as_alloy(&e), "{k}");
            assert!(same_as_alloy(&NoIndexed { x: e.c }), "{k}");
            let three = Three {
                x: k,
                y: u64::MAX - k,
                z: k << 40,
            };
            assert!(same_as_alloy(&WithStruct { three }), "{k}");
            let moved = crate::OwnershipTransferred {
                previous: e.b,
                next: Address::repeat_byte(!(k as u8)),
            };
            assert!(same_as_alloy(&moved), "{k}");
            let started = crate::OwnershipTransferStarted {
                previous: Address::repeat_byte(k as u8),
                next: e.b,
            };
            assert!(same_as_alloy(&started), "{k}");
        }
    }
}
