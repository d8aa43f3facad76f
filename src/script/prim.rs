//! The small pieces the VM and the cache share: script digests and the
//! random generator scripts see.

use std::sync::atomic::{AtomicU64, Ordering};

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
