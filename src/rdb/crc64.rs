//! The CRC-64 that Redis puts at the end of RDB files and DUMP payloads.
//!
//! It is the reflected CRC-64 with the "Jones" polynomial `0xad93d23594c935a9`,
//! no initial inversion and no final xor, so a checksum can be extended chunk
//! by chunk: `crc64(crc64(0, a), b) == crc64(0, a ++ b)`. Bulk input goes
//! through eight tables at once (slicing-by-8) because whole dump files are
//! checksummed; the tables are computed at compile time.

/// The Jones polynomial with its bits reversed, as the reflected
/// (least-significant-bit-first) algorithm needs it.
const POLY_REFLECTED: u64 = 0xad93_d235_94c9_35a9_u64.reverse_bits();

/// `TABLES[0][b]` is the CRC of the single byte `b`; `TABLES[k][b]` is that
/// value pushed through `k` further zero bytes, which lets eight input bytes
/// be folded in with eight independent lookups.
static TABLES: [[u64; 256]; 8] = build_tables();

const fn build_tables() -> [[u64; 256]; 8] {
    let mut tables = [[0u64; 256]; 8];
    let mut b = 0;
    while b < 256 {
        let mut crc = b as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][b] = crc;
        b += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut b = 0;
        while b < 256 {
            let prev = tables[k - 1][b];
            tables[k][b] = tables[0][(prev & 0xff) as usize] ^ (prev >> 8);
            b += 1;
        }
        k += 1;
    }
    tables
}

/// Folds one byte into `crc`; used for the unaligned tail.
#[inline]
fn step(crc: u64, byte: u8) -> u64 {
    TABLES[0][((crc ^ u64::from(byte)) & 0xff) as usize] ^ (crc >> 8)
}

/// Extends `crc` with `data`.
///
/// Start with `0`; the result for one buffer can be passed back in with the
/// next buffer, which gives the same value as checksumming both at once.
/// `crc64(0, b"123456789")` is `0xe9c6d914c4b8d9ca`.
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    let mut crc = crc;
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        // Reflected CRC: the register's low byte lines up with the first
        // input byte, so the word is read little-endian on every host.
        let x = crc ^ u64::from_le_bytes(word);
        crc = TABLES[7][(x & 0xff) as usize]
            ^ TABLES[6][((x >> 8) & 0xff) as usize]
            ^ TABLES[5][((x >> 16) & 0xff) as usize]
            ^ TABLES[4][((x >> 24) & 0xff) as usize]
            ^ TABLES[3][((x >> 32) & 0xff) as usize]
            ^ TABLES[2][((x >> 40) & 0xff) as usize]
            ^ TABLES[1][((x >> 48) & 0xff) as usize]
            ^ TABLES[0][(x >> 56) as usize];
    }
    for &byte in chunks.remainder() {
        crc = step(crc, byte);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::crc64;

    /// One bit at a time, straight from the definition, to check the tables.
    fn bitwise(mut crc: u64, data: &[u8]) -> u64 {
        for &byte in data {
            crc ^= u64::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ super::POLY_REFLECTED
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    fn sample(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x1234_5678;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn redis_test_vector() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn empty_input_keeps_the_crc() {
        assert_eq!(crc64(0, b""), 0);
        assert_eq!(crc64(0xdead_beef, b""), 0xdead_beef);
    }

    #[test]
    fn split_input_equals_whole() {
        let data = sample(1000);
        let whole = crc64(0, &data);
        for cut in [0, 1, 7, 8, 9, 63, 500, 999, 1000] {
            let (a, b) = data.split_at(cut);
            assert_eq!(crc64(crc64(0, a), b), whole, "cut at {cut}");
        }
    }

    #[test]
    fn tables_match_bitwise_definition() {
        let data = sample(300);
        for len in 0..data.len() {
            assert_eq!(crc64(0, &data[..len]), bitwise(0, &data[..len]));
        }
        assert_eq!(
            crc64(0x0123_4567_89ab_cdef, &data),
            bitwise(0x0123_4567_89ab_cdef, &data)
        );
    }
}
