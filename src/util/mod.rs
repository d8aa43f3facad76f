//! Small shared helpers: glob matching, number formatting, time, randomness,
//! memory figures.

pub mod counter;
pub mod cpu;
pub mod cstrtod;
pub mod glob;
pub mod longdouble;
pub mod memory;
pub mod numfmt;
pub mod pqsort;

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(now_us()) | 1
}

/// A fast per-thread pseudo-random number (xorshift64*); not for secrets.
pub fn rand_u64() -> u64 {
    RNG.with(|cell| {
        let mut x = cell.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        cell.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// The Redis version ferrodis is compatible with (INFO, HELLO, RDB aux
/// fields, LOLWUT).
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

/// An I/O error's system message without Rust's ` (os error N)` suffix,
/// as C's strerror gives it.
pub fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// `what: <strerror text>`, the form of the AOF's I/O error messages.
pub fn io_error(what: &str, e: &std::io::Error) -> String {
    format!("{what}: {}", os_error_text(e))
}
