//! Bit-level access to string values: the arithmetic behind SETBIT,
//! GETBIT, BITCOUNT, BITPOS and BITFIELD. Bits are numbered as Redis
//! numbers them: bit 0 is the most significant bit of the first byte, and
//! a string reads as if followed by an infinity of zero bits.

/// Number of set bits in `bytes`.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut total: u64 = 0;
    for c in &mut chunks {
        let word = u64::from_ne_bytes(c.try_into().unwrap_or([0; 8]));
        total += u64::from(word.count_ones());
    }
    total
        + chunks
            .remainder()
            .iter()
            .map(|b| u64::from(b.count_ones()))
            .sum::<u64>()
}

/// The position of the first bit equal to `bit` in `bytes`. Looking for a
/// 1 and finding none gives -1; looking for a 0 and finding none gives the
/// first bit past the end (the string counts as padded with zeros), as
/// Redis's `redisBitpos` does.
pub fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    match bytes.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = bytes[i];
            let within = if bit {
                b.leading_zeros()
            } else {
                b.leading_ones()
            };
            (i as i64) * 8 + i64::from(within)
        }
        None if bit => -1,
        None => bytes.len() as i64 * 8,
    }
}

/// The bit at `offset` (zero past the end).
pub fn get_bit(bytes: &[u8], offset: u64) -> bool {
    let byte = offset >> 3;
    match usize::try_from(byte).ok().and_then(|i| bytes.get(i)) {
        Some(&b) => b & (0x80 >> (offset & 7)) != 0,
        None => false,
    }
}

/// Sets the bit at `offset`; the caller has made `bytes` long enough.
pub fn set_bit(bytes: &mut [u8], offset: u64, on: bool) {
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    if on {
        bytes[byte] |= mask;
    } else {
        bytes[byte] &= !mask;
    }
}

/// The `bits`-wide unsigned field at bit `offset` (1 to 64 bits; zero bits
/// past the end of `bytes`).
pub fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0u64, |value, j| {
        (value << 1) | u64::from(get_bit(bytes, offset + j))
    })
}

/// The `bits`-wide two's complement field at bit `offset`.
pub fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let raw = get_unsigned(bytes, offset, bits);
    if bits < 64 && raw & (1u64 << (bits - 1)) != 0 {
        (raw | (u64::MAX << bits)) as i64
    } else {
        raw as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`; the caller has
/// made `bytes` long enough.
pub fn set_unsigned(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        let on = value & (1u64 << (bits - 1 - j)) != 0;
        set_bit(bytes, offset + u64::from(j), on);
    }
}

/// What BITFIELD does when a SET or INCRBY leaves the field's range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Keep the low bits (modular arithmetic); the default.
    Wrap,
    /// Clamp to the type's minimum or maximum.
    Sat,
    /// Write nothing and answer null.
    Fail,
}

/// `value + incr` for an unsigned field of `bits` bits: `Ok(sum)` when it
/// fits, else `Err(replacement)` with the value `overflow` writes instead
/// (meaningless for [`Overflow::Fail`]). Follows Redis's arithmetic, which
/// also clamps a SET of a negative number to the maximum under SAT.
pub fn unsigned_add(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Result<u64, u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    // Redis computes these in signed 64-bit arithmetic, wrapping.
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrapped = || {
        let sum = value.wrapping_add(incr as u64);
        if bits == 64 {
            sum
        } else {
            sum & !(u64::MAX << bits)
        }
    };
    if value > max || (incr > 0 && incr > max_incr) {
        Err(match overflow {
            Overflow::Sat => max,
            _ => wrapped(),
        })
    } else if incr < 0 && incr < min_incr {
        Err(match overflow {
            Overflow::Sat => 0,
            _ => wrapped(),
        })
    } else {
        Ok(value.wrapping_add(incr as u64))
    }
}

/// `value + incr` for a signed field of `bits` bits, as [`unsigned_add`].
pub fn signed_add(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Result<i64, i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrapped = || {
        let sum = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if sum & (1u64 << (bits - 1)) != 0 {
                (sum | mask) as i64
            } else {
                (sum & !mask) as i64
            }
        } else {
            sum as i64
        }
    };
    let wide = bits != 64;
    if value > max || (wide && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
        Err(match overflow {
            Overflow::Sat => max,
            _ => wrapped(),
        })
    } else if value < min || (wide && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr)
    {
        Err(match overflow {
            Overflow::Sat => min,
            _ => wrapped(),
        })
    } else {
        Ok(value.wrapping_add(incr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_count_and_search_like_redis() {
        assert_eq!(popcount(b"foobar"), 26);
        assert_eq!(popcount(&[0xff; 17]), 136);
        assert_eq!(first_bit(&[0xff, 0xf0, 0], true), 0);
        assert_eq!(first_bit(&[0xff, 0xf0, 0], false), 12);
        assert_eq!(first_bit(&[0, 0], true), -1);
        assert_eq!(first_bit(&[0xff, 0xff], false), 16);
        assert_eq!(first_bit(&[0, 0, 0x01], true), 23);
    }

    #[test]
    fn fields_read_and_write_msb_first() {
        let mut b = vec![0u8; 3];
        set_unsigned(&mut b, 5, 8, 0xab);
        assert_eq!(get_unsigned(&b, 5, 8), 0xab);
        assert_eq!(b, [0b0000_0101, 0b0101_1000, 0]);
        assert_eq!(get_signed(&[0xff], 0, 8), -1);
        assert_eq!(get_signed(&[0x80], 0, 1), -1);
        assert_eq!(get_unsigned(&[0xff], 4, 64), 0xf << 60);
        assert!(get_bit(&[0x80], 0) && !get_bit(&[0x80], 1) && !get_bit(&[], 99));
    }

    #[test]
    fn overflow_rules_match_redis() {
        assert_eq!(unsigned_add(250, 10, 8, Overflow::Wrap), Err(4));
        assert_eq!(unsigned_add(250, 10, 8, Overflow::Sat), Err(255));
        assert_eq!(unsigned_add(5, -10, 8, Overflow::Sat), Err(0));
        assert_eq!(unsigned_add(5, -10, 8, Overflow::Wrap), Err(251));
        assert_eq!(unsigned_add(5, 3, 8, Overflow::Wrap), Ok(8));
        // A negative SET on an unsigned field saturates to the maximum.
        assert_eq!(unsigned_add(-1i64 as u64, 0, 8, Overflow::Sat), Err(255));
        assert_eq!(signed_add(120, 10, 8, Overflow::Wrap), Err(-126));
        assert_eq!(signed_add(120, 10, 8, Overflow::Sat), Err(127));
        assert_eq!(signed_add(-120, -10, 8, Overflow::Sat), Err(-128));
        assert_eq!(signed_add(i64::MAX, 1, 64, Overflow::Wrap), Err(i64::MIN));
        assert_eq!(signed_add(i64::MIN, -1, 64, Overflow::Sat), Err(i64::MIN));
        assert_eq!(signed_add(-5, 3, 64, Overflow::Sat), Ok(-2));
    }
}
