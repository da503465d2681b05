//! World state with a journal (so a reverted call frame undoes its storage writes, balance
//! moves, logs and access-list additions), the per-transaction state (EIP-2929 access lists,
//! EIP-2200 original values, refunds, Stylus memory pages), and the EVM gas rules applied on
//! the "EVM side" of Stylus (SLOAD/SSTORE, account access, calls).

use crate::native::NativeContract;
use crate::pricing::*;
use alloy_primitives::{Address, Log, B256, U256};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::rc::Rc;

/// What runs at an address.
#[derive(Clone, Default)]
pub enum Code {
    /// Nothing (an externally owned account): calls succeed and return nothing.
    #[default]
    None,
    /// An activated Stylus program, by code hash.
    Wasm(B256),
    /// A contract implemented in Rust.
    Native(Rc<dyn NativeContract>),
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Code::None => write!(f, "None"),
            Code::Wasm(h) => write!(f, "Wasm({h})"),
            Code::Native(_) => write!(f, "Native"),
        }
    }
}

/// One account.
#[derive(Clone, Debug, Default)]
pub struct Account {
    pub balance: U256,
    pub nonce: u64,
    pub code: Code,
    pub storage: HashMap<B256, B256>,
}

#[derive(Clone, Debug)]
pub(crate) enum Entry {
    Storage {
        addr: Address,
        key: B256,
        prev: Option<B256>,
    },
    Transient {
        addr: Address,
        key: B256,
        prev: Option<B256>,
    },
    Balance {
        addr: Address,
        prev: U256,
    },
    WarmAddress(Address),
    WarmSlot(Address, B256),
    Refund(i64),
    AccountCreated(Address),
}

/// A point to revert to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checkpoint {
    journal: usize,
    logs: usize,
}

/// Block context seen by programs.
#[derive(Clone, Debug)]
pub struct BlockEnv {
    /// What `block_number` returns (on Arbitrum: an estimate of the L1 block number).
    pub number: u64,
    /// Unix seconds.
    pub timestamp: u64,
    pub chain_id: u64,
    pub basefee: U256,
    pub coinbase: Address,
    pub gas_limit: u64,
}

impl Default for BlockEnv {
    fn default() -> Self {
        BlockEnv {
            number: 1,
            timestamp: 1_735_689_600,           // 2025-01-01, as motsu
            chain_id: 412_346,                  // nitro dev node
            basefee: U256::from(10_000_000u64), // 0.01 gwei, Arbitrum's floor
            coinbase: Address::repeat_byte(0xA4),
            gas_limit: 1_125_899_906_842_624, // Arbitrum's block gas limit
        }
    }
}

/// Per-transaction state (reset at each transaction).
#[derive(Clone, Debug, Default)]
pub(crate) struct TxState {
    pub origin: Address,
    pub gas_price: U256,
    pub warm_addresses: HashSet<Address>,
    pub warm_slots: HashSet<(Address, B256)>,
    /// Value of each slot at the start of the transaction, for slots written during it.
    pub originals: HashMap<(Address, B256), B256>,
    pub transient: HashMap<(Address, B256), B256>,
    pub refund: i64,
    pub logs: Vec<Log>,
    pub journal: Vec<Entry>,
    /// Open call frames per acting address, delegate calls excluded (nitro's
    /// `TxProcessor.Programs`): a program is re-entrant when its address has more than one.
    pub frames: HashMap<Address, u32>,
    pub depth: usize,
    /// Stylus memory pages open now, and the most ever open, in this transaction.
    pub pages_open: u16,
    pub pages_ever: u16,
    /// What the transaction paid for, counted as it ran.
    pub costs: TxCosts,
}

/// What a transaction paid for, counted as it ran, reverted frames included
/// ([`crate::Outcome::costs`]): where its gas went, beside the WASM it executed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxCosts {
    /// Stylus program entries.
    pub entries: u32,
    /// Of those, the entries that paid the uncached init (not in the cache manager nor,
    /// from ArbOS 60, among the block's recently run programs).
    pub entries_uncached: u32,
    /// Gas of the entries: memory footprint, cached init, and the uncached init where paid.
    pub entry_gas: u64,
    /// First touches of an account (EIP-2929: 2,600 gas each; the sender, the target and
    /// the precompiles start warm).
    pub cold_accounts: u32,
    /// First touches of a storage slot (2,100 gas each, read or written).
    pub cold_slots: u32,
    /// Slot writes charged as zero to non-zero (20,000 gas each).
    pub slots_set: u32,
    /// Slot writes charged as one original value to another (2,900 gas each).
    pub slots_reset: u32,
}

/// The whole world plus the transaction in flight.
#[derive(Default)]
pub(crate) struct World {
    pub accounts: HashMap<Address, Account>,
    pub block: BlockEnv,
    pub tx: TxState,
    /// Programs used recently in this block (ArbOS 60+: they are entered at the cached price).
    pub recent_wasms: VecDeque<B256>,
    /// Code hashes of programs in the cache manager (always entered at the cached price).
    pub cached_programs: HashSet<B256>,
    /// ArbOS before 60: no block-level cache of recently run programs, so every entry of a
    /// program outside the cache manager pays its full init (default: ArbOS 60 rules).
    pub before_arbos_60: bool,
}

impl World {
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            journal: self.tx.journal.len(),
            logs: self.tx.logs.len(),
        }
    }

    pub fn revert_to(&mut self, cp: Checkpoint) {
        while self.tx.journal.len() > cp.journal {
            match self.tx.journal.pop().expect("journal entry") {
                Entry::Storage { addr, key, prev } => {
                    let acct = self.accounts.entry(addr).or_default();
                    match prev {
                        Some(v) => acct.storage.insert(key, v),
                        None => acct.storage.remove(&key),
                    };
                }
                Entry::Transient { addr, key, prev } => {
                    match prev {
                        Some(v) => self.tx.transient.insert((addr, key), v),
                        None => self.tx.transient.remove(&(addr, key)),
                    };
                }
                Entry::Balance { addr, prev } => {
                    self.accounts.entry(addr).or_default().balance = prev;
                }
                Entry::WarmAddress(a) => {
                    self.tx.warm_addresses.remove(&a);
                }
                Entry::WarmSlot(a, k) => {
                    self.tx.warm_slots.remove(&(a, k));
                }
                Entry::Refund(prev) => self.tx.refund = prev,
                Entry::AccountCreated(a) => {
                    self.accounts.remove(&a);
                }
            }
        }
        self.tx.logs.truncate(cp.logs);
    }

    /// Starts a transaction: fresh access lists (sender, recipient and precompiles warm).
    pub fn begin_tx(&mut self, origin: Address, to: Address) {
        let mut tx = TxState {
            origin,
            gas_price: self.block.basefee,
            ..TxState::default()
        };
        tx.warm_addresses.insert(origin);
        tx.warm_addresses.insert(to);
        tx.warm_addresses.insert(self.block.coinbase); // EIP-3651
        for i in 1u8..=10 {
            tx.warm_addresses.insert(Address::with_last_byte(i));
        }
        self.tx = tx;
    }

    pub fn end_tx(&mut self) -> Vec<Log> {
        let logs = std::mem::take(&mut self.tx.logs);
        self.tx.journal.clear();
        self.tx.originals.clear();
        self.tx.transient.clear();
        logs
    }

    // --- accounts -------------------------------------------------------------------------

    pub fn is_empty(&self, addr: &Address) -> bool {
        match self.accounts.get(addr) {
            None => true,
            Some(a) => a.balance.is_zero() && a.nonce == 0 && matches!(a.code, Code::None),
        }
    }

    pub fn balance(&self, addr: &Address) -> U256 {
        self.accounts
            .get(addr)
            .map(|a| a.balance)
            .unwrap_or_default()
    }

    pub fn code(&self, addr: &Address) -> Code {
        self.accounts
            .get(addr)
            .map(|a| a.code.clone())
            .unwrap_or_default()
    }

    fn touch(&mut self, addr: Address) -> &mut Account {
        if !self.accounts.contains_key(&addr) {
            self.tx.journal.push(Entry::AccountCreated(addr));
        }
        self.accounts.entry(addr).or_default()
    }

    /// Moves `value` wei; false (and nothing done) if `from` has too little.
    pub fn transfer(&mut self, from: Address, to: Address, value: U256) -> bool {
        if value.is_zero() {
            return true;
        }
        let fb = self.balance(&from);
        if fb < value {
            return false;
        }
        self.tx.journal.push(Entry::Balance {
            addr: from,
            prev: fb,
        });
        self.touch(from).balance = fb - value;
        let tb = self.balance(&to);
        self.tx.journal.push(Entry::Balance { addr: to, prev: tb });
        self.touch(to).balance = tb + value;
        true
    }

    // --- storage --------------------------------------------------------------------------

    pub fn sload(&self, addr: &Address, key: &B256) -> B256 {
        self.accounts
            .get(addr)
            .and_then(|a| a.storage.get(key).copied())
            .unwrap_or_default()
    }

    /// Writes a slot (journaled), remembering its value at the start of the transaction.
    pub fn sstore(&mut self, addr: Address, key: B256, value: B256) {
        let cur = self.sload(&addr, &key);
        self.tx.originals.entry((addr, key)).or_insert(cur);
        let acct = self.touch(addr);
        let prev = if value.is_zero() {
            acct.storage.remove(&key)
        } else {
            acct.storage.insert(key, value)
        };
        self.tx.journal.push(Entry::Storage { addr, key, prev });
    }

    pub fn original(&self, addr: &Address, key: &B256) -> B256 {
        self.tx
            .originals
            .get(&(*addr, *key))
            .copied()
            .unwrap_or_else(|| self.sload(addr, key))
    }

    pub fn tload(&self, addr: &Address, key: &B256) -> B256 {
        self.tx
            .transient
            .get(&(*addr, *key))
            .copied()
            .unwrap_or_default()
    }

    pub fn tstore(&mut self, addr: Address, key: B256, value: B256) {
        let prev = self.tx.transient.insert((addr, key), value);
        self.tx.journal.push(Entry::Transient { addr, key, prev });
    }

    pub fn add_refund(&mut self, delta: i64) {
        self.tx.journal.push(Entry::Refund(self.tx.refund));
        self.tx.refund += delta;
    }

    pub fn emit_log(&mut self, log: Log) {
        self.tx.logs.push(log);
    }

    // --- EIP-2929 ---------------------------------------------------------------------------

    /// Warms `addr`; returns whether it was cold.
    pub fn warm_address(&mut self, addr: Address) -> bool {
        if self.tx.warm_addresses.insert(addr) {
            self.tx.costs.cold_accounts += 1;
            self.tx.journal.push(Entry::WarmAddress(addr));
            true
        } else {
            false
        }
    }

    /// Warms a slot; returns whether it was cold.
    pub fn warm_slot(&mut self, addr: Address, key: B256) -> bool {
        if self.tx.warm_slots.insert((addr, key)) {
            self.tx.costs.cold_slots += 1;
            self.tx.journal.push(Entry::WarmSlot(addr, key));
            true
        } else {
            false
        }
    }

    /// Gas of an SLOAD (`WasmStateLoadCost`): 2,100 cold, 100 warm.
    pub fn sload_cost(&mut self, addr: Address, key: B256) -> u64 {
        if self.warm_slot(addr, key) {
            COLD_SLOAD_GAS
        } else {
            WARM_READ_GAS
        }
    }

    /// Gas of an SSTORE, with its refund effect (`WasmStateStoreCost`, i.e. geth's
    /// `gasSStoreEIP2929` with EIP-3529 refunds, without the sentry check).
    pub fn sstore_cost(&mut self, addr: Address, key: B256, value: B256) -> u64 {
        let mut cost = 0;
        if self.warm_slot(addr, key) {
            cost = COLD_SLOAD_GAS;
        }
        let current = self.sload(&addr, &key);
        if current == value {
            return cost + WARM_READ_GAS;
        }
        let original = self.original(&addr, &key);
        if original == current {
            if original.is_zero() {
                self.tx.costs.slots_set += 1;
                return cost + SSTORE_SET_GAS;
            }
            if value.is_zero() {
                self.add_refund(SSTORE_CLEARS_REFUND);
            }
            self.tx.costs.slots_reset += 1;
            return cost + SSTORE_RESET_GAS;
        }
        if !original.is_zero() {
            if current.is_zero() {
                self.add_refund(-SSTORE_CLEARS_REFUND);
            } else if value.is_zero() {
                self.add_refund(SSTORE_CLEARS_REFUND);
            }
        }
        if original == value {
            if original.is_zero() {
                self.add_refund((SSTORE_SET_GAS - WARM_READ_GAS) as i64);
            } else {
                self.add_refund((SSTORE_RESET_GAS - WARM_READ_GAS) as i64);
            }
        }
        cost + WARM_READ_GAS
    }

    /// Gas of touching an account (`WasmAccountTouchCost`): 2,600 cold, 100 warm, plus 700 when
    /// its code is read.
    pub fn account_touch_cost(&mut self, addr: Address, with_code: bool) -> u64 {
        let base = if with_code { EXTCODE_GAS } else { 0 };
        base + if self.warm_address(addr) {
            COLD_ACCOUNT_GAS
        } else {
            WARM_READ_GAS
        }
    }

    /// Base gas of a call (`WasmCallCost`): access cost, plus 9,000 (+25,000 to an empty
    /// account) when it moves value.
    pub fn call_base_cost(&mut self, to: Address, value: U256) -> u64 {
        let mut cost = if self.warm_address(to) {
            COLD_ACCOUNT_GAS
        } else {
            WARM_READ_GAS
        };
        if !value.is_zero() {
            if self.is_empty(&to) {
                cost += CALL_NEW_ACCOUNT_GAS;
            }
            cost += CALL_VALUE_GAS;
        }
        cost
    }

    /// Records that a program ran in this block; returns whether it had run recently (ArbOS
    /// 60+ `RecentWasms.Insert`).
    pub fn touch_recent_wasm(&mut self, codehash: B256) -> bool {
        if self.before_arbos_60 {
            return false;
        }
        if let Some(pos) = self.recent_wasms.iter().position(|h| *h == codehash) {
            self.recent_wasms.remove(pos);
            self.recent_wasms.push_back(codehash);
            return true;
        }
        self.recent_wasms.push_back(codehash);
        while self.recent_wasms.len() > BLOCK_CACHE_SIZE {
            self.recent_wasms.pop_front();
        }
        false
    }

    /// A sorted view of an account's storage.
    pub fn storage_of(&self, addr: &Address) -> BTreeMap<B256, B256> {
        self.accounts
            .get(addr)
            .map(|a| a.storage.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }
}
