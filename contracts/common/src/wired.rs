//! The RiskEngine and the KeeperModule that a ledger contract (the vault, the registry)
//! trusts, each set once by the owner, with their public functions written once.
//!
//! A contract holds a [`Wired`] in a `#[borrow]` field (the owner, [`Owned`], is inside
//! it: the layout is the owner's two slots, the engine's, the keeper's) and inherits
//! `engine`, `keeper`, `setEngine`, `setKeeper` and the ownership functions
//! (`#[inherit(Wired, Owned)]`, with [`wired_owner!`](crate::wired_owner) lending the router
//! the owner inside). Its engine-only functions check the caller with
//! [`Wired::only_engine_or_keeper`]. [`Wired::word`] is a `u64` of the
//! contract's own kept in the engine's slot: every engine call reads that slot, so a value
//! read with it costs no other cold slot (the registry's position bound, read by each fill
//! that opens a position; the vault's account count).

#[allow(unused_imports)]
use alloc::{vec, vec::Vec};
use alloy_primitives::{Address, U64};
use stylus_sdk::{
    prelude::*,
    storage::{StorageAddress, StorageU64},
};

use crate::{
    encode::emit, set_once, AlreadySet, CallerNotEngineOrKeeper, EngineSet, KeeperSet, Owned,
    Unauthorized, ZeroAddress,
};

crate::errors! {
    /// What the inherited wiring functions revert with.
    pub enum WiredError {
        Unauthorized,
        ZeroAddress,
        AlreadySet,
    }
}

/// The roles of a ledger contract: its owner, the engine and the keeper it trusts (set
/// once), and a `u64` of the contract's own in the engine's slot.
#[storage]
pub struct Wired {
    /// The owner role; its public functions are the contract's through `#[inherit(Owned)]`
    /// and [`wired_owner!`](crate::wired_owner).
    pub owner: Owned,
    engine: StorageAddress,
    /// In `engine`'s slot ([`Wired::word`]).
    word: StorageU64,
    keeper: StorageAddress,
}

impl Wired {
    /// # Errors
    /// `CallerNotEngineOrKeeper` unless `caller` is the engine or the keeper (zero never
    /// is: a contract not yet wired refuses everyone).
    #[inline]
    pub fn only_engine_or_keeper(&self, caller: Address) -> Result<(), CallerNotEngineOrKeeper> {
        if caller.is_zero() || (caller != self.engine.get() && caller != self.keeper.get()) {
            return Err(CallerNotEngineOrKeeper { caller });
        }
        Ok(())
    }

    /// The contract's own `u64` in the engine's slot.
    #[inline]
    pub fn word(&self) -> u64 {
        self.word.get().as_limbs()[0]
    }

    /// Sets the contract's own `u64` in the engine's slot.
    #[inline]
    pub fn set_word(&mut self, value: u64) {
        self.word.set(U64::from(value));
    }
}

#[public]
impl Wired {
    /// The RiskEngine (zero until set): with the keeper, the only caller of the
    /// engine-only functions.
    #[inline]
    pub fn engine(&self) -> Address {
        self.engine.get()
    }

    /// The keeper module (zero until set): liquidations and settlement; it may call every
    /// engine-only function, like the engine.
    #[inline]
    pub fn keeper(&self) -> Address {
        self.keeper.get()
    }

    /// Sets the RiskEngine, once.
    ///
    /// # Arguments
    /// * `engine` - The engine.
    ///
    /// # Errors
    /// * [`Unauthorized`] - If the caller is not the owner.
    /// * [`ZeroAddress`] - If `engine` is zero.
    /// * [`AlreadySet`] - If the engine is already set (with the current one).
    ///
    /// # Events
    /// * [`EngineSet`].
    #[inline]
    pub fn set_engine(&mut self, engine: Address) -> Result<(), WiredError> {
        self.owner.only(self.vm().msg_sender())?;
        set_once::<WiredError>(&mut self.engine, engine)?;
        emit(self.vm(), EngineSet { engine });
        Ok(())
    }

    /// Sets the keeper module, once.
    ///
    /// # Arguments
    /// * `keeper` - The keeper module.
    ///
    /// # Errors
    /// * [`Unauthorized`] - If the caller is not the owner.
    /// * [`ZeroAddress`] - If `keeper` is zero.
    /// * [`AlreadySet`] - If the keeper is already set (with the current one).
    ///
    /// # Events
    /// * [`KeeperSet`].
    #[inline]
    pub fn set_keeper(&mut self, keeper: Address) -> Result<(), WiredError> {
        self.owner.only(self.vm().msg_sender())?;
        set_once::<WiredError>(&mut self.keeper, keeper)?;
        emit(self.vm(), KeeperSet { keeper });
        Ok(())
    }
}

/// Lends a contract's router the [`Owned`] inside its `wired` field ([`Wired`]), so that
/// `#[inherit(Wired, Owned)]` routes the ownership functions to it:
/// `margin_common::wired_owner!(CollateralVault);`.
#[macro_export]
macro_rules! wired_owner {
    ($contract:ty) => {
        impl core::borrow::Borrow<$crate::Owned> for $contract {
            fn borrow(&self) -> &$crate::Owned {
                &self.wired.owner
            }
        }
        impl core::borrow::BorrowMut<$crate::Owned> for $contract {
            fn borrow_mut(&mut self) -> &mut $crate::Owned {
                &mut self.wired.owner
            }
        }
    };
}
