//! A small seeded generator (xorshift64) for reproducible random tests.

/// Xorshift64: the same seed gives the same sequence on every run.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}
