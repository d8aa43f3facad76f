//! Per-key access stamps: the LRU clock and Redis's LFU counter, whichever
//! `maxmemory-policy` asks for, and the keyspace entry that carries one.

use crate::dict::Dict;
use crate::types::Value;

/// The LRU clock: whole seconds since the Unix epoch, as stored per key.
pub fn lru_clock(now_ms: i64) -> u32 {
    (now_ms / 1000).clamp(0, u32::MAX as i64) as u32
}

/// What a key's 32-bit access stamp ([`Entry::lru`]) records, which follows
/// `maxmemory-policy` as in Redis: the last access time, or (under an LFU
/// policy) a logarithmic access counter with the minute it last decayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessPolicy {
    /// The stamp is [`lru_clock`] at the last access.
    Lru,
    /// The stamp is `minutes << 8 | counter`: a counter that grows by one
    /// with probability `1 / ((counter - 5) * log_factor + 1)` per access,
    /// and loses one per `decay_minutes` elapsed.
    Lfu {
        /// `lfu-log-factor`
        log_factor: u64,
        /// `lfu-decay-time`
        decay_minutes: u64,
    },
}

/// The counter a new key starts with under LFU (so new keys are not evicted
/// before they have had a chance to be used).
pub const LFU_INIT: u32 = 5;

/// The LFU clock: minutes since the epoch, in 16 bits.
fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u64 & 0xffff) as u32
}

impl AccessPolicy {
    /// The stamp of a key created now.
    pub fn new_stamp(self, now_ms: i64) -> u32 {
        match self {
            AccessPolicy::Lru => lru_clock(now_ms),
            AccessPolicy::Lfu { .. } => (lfu_minutes(now_ms) << 8) | LFU_INIT,
        }
    }

    /// The stamp of a key accessed now whose stamp was `old`.
    pub fn touched(self, old: u32, now_ms: i64) -> u32 {
        match self {
            AccessPolicy::Lru => lru_clock(now_ms),
            AccessPolicy::Lfu { log_factor, .. } => {
                let mut counter = self.lfu_counter(old, now_ms);
                if counter < 255 {
                    let base = counter.saturating_sub(LFU_INIT) as f64;
                    let p = 1.0 / (base * log_factor as f64 + 1.0);
                    let r = (crate::util::rand_u64() >> 11) as f64 / (1u64 << 53) as f64;
                    if r < p {
                        counter += 1;
                    }
                }
                (lfu_minutes(now_ms) << 8) | counter
            }
        }
    }

    /// The stamp RESTORE gives a key from its IDLETIME (under LRU) or FREQ
    /// (under LFU) option; `None` when the option does not apply to the
    /// policy, which keeps the new-key stamp.
    pub fn restored_stamp(
        self,
        now_ms: i64,
        idle_secs: Option<u64>,
        freq: Option<u8>,
    ) -> Option<u32> {
        match self {
            AccessPolicy::Lru => idle_secs
                .map(|idle| lru_clock(now_ms).saturating_sub(idle.min(u64::from(u32::MAX)) as u32)),
            AccessPolicy::Lfu { .. } => freq.map(|f| (lfu_minutes(now_ms) << 8) | u32::from(f)),
        }
    }

    /// The LFU counter of `stamp` after decay (OBJECT FREQ).
    pub fn lfu_counter(self, stamp: u32, now_ms: i64) -> u32 {
        let AccessPolicy::Lfu { decay_minutes, .. } = self else {
            return 0;
        };
        let counter = stamp & 0xff;
        let then = (stamp >> 8) & 0xffff;
        let now = lfu_minutes(now_ms);
        // The 16-bit minute clock wraps about every 45 days.
        let elapsed = if now >= then {
            now - then
        } else {
            0xffff - then + now
        };
        // A decay time of 0 means the counter never decays.
        let periods = u64::from(elapsed).checked_div(decay_minutes).unwrap_or(0);
        counter.saturating_sub(periods.min(255) as u32)
    }
}

/// One database's key table in a shard: key → value, each node's aux field
/// holding the key's access stamp ([`lru_clock`] at the last access, or the
/// LFU counter and its minute, see [`AccessPolicy`]).
///
/// The stamp is 4 bytes (seconds, like Redis's 24-bit LRU clock but wider)
/// in the node itself, so a key with a short name costs one 48-byte node.
pub type Keys = Dict<Value, u32>;

/// A key's value and access stamp, as [`crate::db::DbView::peek`] shows
/// them.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The stored value.
    pub value: &'a Value,
    /// The access stamp.
    pub lru: u32,
}
