//! Two-step ownership, every contract's: the owner names a successor, who accepts.
//!
//! A contract holds an [`Owned`] in a `#[borrow]` field and inherits its public
//! functions (`#[inherit(Owned)]`): `owner`, `pendingOwner`, `transferOwnership`,
//! `acceptOwnership` are routed, documented and exported once, here. The contract checks
//! the role with [`Owned::only`] and sets the first owner in its constructor with
//! [`Owned::init`].

#[allow(unused_imports)]
use alloc::{vec, vec::Vec};

use alloy_primitives::Address;
use stylus_sdk::{prelude::*, storage::StorageAddress};

use crate::{
    encode::emit, nonzero, OwnershipTransferStarted, OwnershipTransferred, Unauthorized,
    ZeroAddress,
};

crate::errors! {
    /// What the inherited ownership functions revert with.
    pub enum OwnedError {
        Unauthorized,
    }
}

/// Two-step ownership: the owner names a successor, who accepts.
#[storage]
pub struct Owned {
    owner: StorageAddress,
    pending: StorageAddress,
}

impl Owned {
    /// The owner.
    #[inline]
    pub fn get(&self) -> Address {
        self.owner.get()
    }

    /// Sets the first owner (constructor) and logs `OwnershipTransferred` from zero.
    /// # Errors
    /// `ZeroAddress` for a zero owner (the contract would have none, for ever).
    #[inline]
    pub fn init(&mut self, owner: Address) -> Result<(), ZeroAddress> {
        nonzero(&[owner])?;
        self.owner.set(owner);
        emit(
            self.vm(),
            OwnershipTransferred {
                previous: Address::ZERO,
                next: owner,
            },
        );
        Ok(())
    }

    /// # Errors
    /// `Unauthorized` unless `caller` is the owner.
    #[inline]
    pub fn only(&self, caller: Address) -> Result<(), Unauthorized> {
        if caller != self.owner.get() {
            return Err(Unauthorized { caller });
        }
        Ok(())
    }
}

#[public]
impl Owned {
    /// The owner: sets the contract's parameters and wiring.
    #[inline]
    pub fn owner(&self) -> Address {
        self.owner.get()
    }

    /// The successor the owner named, who may accept (zero: none).
    #[inline]
    pub fn pending_owner(&self) -> Address {
        self.pending.get()
    }

    /// Starts a two-step transfer of the owner role: `next` must call `acceptOwnership`.
    /// Zero cancels a pending transfer.
    ///
    /// # Arguments
    /// * `next` - The proposed owner.
    ///
    /// # Errors
    /// * [`Unauthorized`] - If the caller is not the owner.
    ///
    /// # Events
    /// * [`OwnershipTransferStarted`].
    #[inline]
    pub fn transfer_ownership(&mut self, next: Address) -> Result<(), OwnedError> {
        let caller = self.vm().msg_sender();
        self.only(caller)?;
        self.pending.set(next);
        emit(
            self.vm(),
            OwnershipTransferStarted {
                previous: caller,
                next,
            },
        );
        Ok(())
    }

    /// Completes a two-step transfer: the named successor becomes the owner.
    ///
    /// # Errors
    /// * [`Unauthorized`] - If the caller is not the pending owner (or none is pending).
    ///
    /// # Events
    /// * [`OwnershipTransferred`].
    #[inline]
    pub fn accept_ownership(&mut self) -> Result<(), OwnedError> {
        let caller = self.vm().msg_sender();
        if caller != self.pending.get() || caller.is_zero() {
            return Err(Unauthorized { caller }.into());
        }
        let previous = self.owner.get();
        self.owner.set(caller);
        self.pending.set(Address::ZERO);
        emit(
            self.vm(),
            OwnershipTransferred {
                previous,
                next: caller,
            },
        );
        Ok(())
    }
}
