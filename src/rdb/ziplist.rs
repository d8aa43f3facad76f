//! Reading Redis's ziplist layout (RDB files and DUMP payloads of Redis 6
//! and older hold small sorted sets this way; Redis 7 converts them to
//! listpacks on load, and so does ferrodis).
//!
//! Layout: `zlbytes` (u32 LE, the blob's size), `zltail` (u32 LE, offset
//! of the last entry), `zllen` (u16 LE, the entry count, or 65535 when it
//! must be counted), the entries, and the terminator 0xFF. An entry is the
//! previous entry's size (one byte, or 0xFE and a u32 LE), an encoding
//! header and the content: strings of 6, 14 or 32-bit length, or integers
//! of 8, 16, 24, 32 or 64 bits, or 0 to 12 held in the header itself.
//! Every size is checked against the blob before it is used.

/// Calls `f` on each element of a ziplist blob (integers as their decimal
/// text); returns the element count, or why the blob is not a ziplist.
pub fn for_each(blob: &[u8], mut f: impl FnMut(&[u8])) -> Result<usize, String> {
    const HEADER: usize = 10;
    if blob.len() < HEADER + 1 {
        return Err("ziplist too short".into());
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() || blob[blob.len() - 1] != 0xFF {
        return Err("ziplist size or terminator wrong".into());
    }
    let declared = u16::from_le_bytes([blob[8], blob[9]]);
    let end = blob.len() - 1;
    let mut pos = HEADER;
    let mut count = 0usize;
    let mut prev_size = 0usize;
    let mut text = Vec::with_capacity(20);
    let need = |pos: usize, n: usize| -> Result<(), String> {
        if pos.checked_add(n).is_some_and(|e| e <= end) {
            Ok(())
        } else {
            Err("ziplist entry runs past the end".into())
        }
    };
    while pos < end {
        let start = pos;
        need(pos, 1)?;
        let prevlen = if blob[pos] < 0xFE {
            pos += 1;
            blob[start] as usize
        } else if blob[pos] == 0xFE {
            need(pos, 5)?;
            let v =
                u32::from_le_bytes([blob[pos + 1], blob[pos + 2], blob[pos + 3], blob[pos + 4]]);
            pos += 5;
            v as usize
        } else {
            return Err("ziplist entry with a bad previous length".into());
        };
        if prevlen != prev_size {
            return Err("ziplist entry with a wrong previous length".into());
        }
        need(pos, 1)?;
        let enc = blob[pos];
        let int = |bytes: &[u8]| -> i64 {
            let mut b = [0u8; 8];
            b[..bytes.len()].copy_from_slice(bytes);
            // Sign-extend from the width read.
            let shift = 64 - 8 * bytes.len() as u32;
            (i64::from_le_bytes(b) << shift) >> shift
        };
        let mut emit_int = |v: i64, f: &mut dyn FnMut(&[u8])| {
            text.clear();
            crate::reply::push_i64(&mut text, v);
            f(&text);
        };
        match enc >> 6 {
            0 => {
                let len = (enc & 0x3F) as usize;
                need(pos + 1, len)?;
                f(&blob[pos + 1..pos + 1 + len]);
                pos += 1 + len;
            }
            1 => {
                need(pos, 2)?;
                let len = (((enc & 0x3F) as usize) << 8) | blob[pos + 1] as usize;
                need(pos + 2, len)?;
                f(&blob[pos + 2..pos + 2 + len]);
                pos += 2 + len;
            }
            2 => {
                need(pos, 5)?;
                let len = u32::from_be_bytes([
                    blob[pos + 1],
                    blob[pos + 2],
                    blob[pos + 3],
                    blob[pos + 4],
                ]) as usize;
                need(pos + 5, len)?;
                f(&blob[pos + 5..pos + 5 + len]);
                pos += 5 + len;
            }
            _ => {
                let width = match enc {
                    0xC0 => 2,
                    0xD0 => 4,
                    0xE0 => 8,
                    0xF0 => 3,
                    0xFE => 1,
                    0xF1..=0xFD => 0,
                    _ => return Err("ziplist entry with an unknown encoding".into()),
                };
                need(pos + 1, width)?;
                let v = if width == 0 {
                    i64::from(enc & 0x0F) - 1
                } else {
                    int(&blob[pos + 1..pos + 1 + width])
                };
                emit_int(v, &mut f);
                pos += 1 + width;
            }
        }
        prev_size = pos - start;
        count += 1;
    }
    if declared != u16::MAX && declared as usize != count {
        return Err("ziplist count wrong".into());
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist of `entries` (each the encoded header and content), with
    /// previous-length fields filled in.
    fn build(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut last = 10;
        for e in entries {
            last = 10 + body.len();
            let mut entry = vec![prev as u8];
            entry.extend_from_slice(e);
            prev = entry.len();
            body.extend(entry);
        }
        let total = 10 + body.len() + 1;
        let mut out = (total as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&(last as u32).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend(body);
        out.push(0xFF);
        out
    }

    #[test]
    fn strings_and_every_integer_width() {
        let blob = build(&[
            vec![0x01, b'a'],
            vec![0xF2],             // immediate 1
            vec![0xFE, 0xF9],       // int8 -7
            vec![0xC0, 0x39, 0x30], // int16 12345
            vec![0xF0, 0xFF, 0xFF, 0x7F],
            vec![0xD0, 0, 0, 0, 0x80],
            vec![0xE0, 1, 0, 0, 0, 0, 0, 0, 0],
            vec![0x40, 0x02, b'b', b'c'],
        ]);
        let mut got = Vec::new();
        let n = for_each(&blob, |e| got.push(String::from_utf8_lossy(e).into_owned())).unwrap();
        assert_eq!(n, 8);
        assert_eq!(
            got,
            ["a", "1", "-7", "12345", "8388607", "-2147483648", "1", "bc"]
        );
    }

    #[test]
    fn damaged_blobs_are_refused() {
        let blob = build(&[vec![0x01, b'a'], vec![0xF2]]);
        assert!(for_each(&blob[..blob.len() - 1], |_| {}).is_err());
        for at in 0..blob.len() {
            let mut bad = blob.clone();
            bad[at] ^= 0x5A;
            let _ = for_each(&bad, |_| {});
        }
        let mut long = blob.clone();
        long[11] = 0x3F; // a string longer than the blob
        assert!(for_each(&long, |_| {}).is_err());
    }
}
