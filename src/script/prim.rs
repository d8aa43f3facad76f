//! The small pieces the VM and the cache share: script digests and the
//! random generator scripts see.

use std::sync::atomic::{AtomicU64, Ordering};

/// Shebang flags of a script (Redis's `SCRIPT_FLAG_*`).
pub mod flag {
    /// `no-writes`: the script may not write.
    pub const NO_WRITES: u32 = 1;
    /// `allow-oom`: runs even past `maxmemory`.
    pub const ALLOW_OOM: u32 = 1 << 1;
    /// `allow-stale`: runs on a stale replica.
    pub const ALLOW_STALE: u32 = 1 << 2;
    /// `no-cluster`: refused in cluster mode.
    pub const NO_CLUSTER: u32 = 1 << 3;
    /// `allow-cross-slot-keys`.
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
    /// No shebang: the pre-7.0 behaviour (flags from the command).
    pub const EVAL_COMPAT: u32 = 1 << 5;
}

/// The shebang flag names, as Redis spells them.
pub const FLAG_NAMES: &[(&str, u32)] = &[
    ("no-writes", flag::NO_WRITES),
    ("allow-oom", flag::ALLOW_OOM),
    ("allow-stale", flag::ALLOW_STALE),
    ("no-cluster", flag::NO_CLUSTER),
    ("allow-cross-slot-keys", flag::ALLOW_CROSS_SLOT),
];

/// The lowercase hex SHA1 of `data`.
pub fn sha1hex(data: &[u8]) -> [u8; 40] {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(data);
    let mut out = [0u8; 40];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

/// The state of `math.random`: Redis's own `lrand48`, one sequence for the
/// whole server (only one script runs at a time), so a seed gives the same
/// numbers on every platform.
static RAND48: AtomicU64 = AtomicU64::new(0x1234_ABCD_330E);

const RAND48_MASK: u64 = (1 << 48) - 1;

/// The next value of the generator, in 0..2^31.
pub fn lrand48() -> i32 {
    let next = |x: u64| (x.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & RAND48_MASK;
    let prev = RAND48
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(next(x)))
        .unwrap_or(0);
    (next(prev) >> 17) as i32
}

/// Seeds the generator (`math.randomseed`).
pub fn srand48(seed: i32) {
    let seed = seed as u32 as u64;
    RAND48.store(((seed << 16) | 0x330E) & RAND48_MASK, Ordering::Relaxed);
}
