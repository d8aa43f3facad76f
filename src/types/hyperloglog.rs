//! HyperLogLog in Redis's exact representation, so the strings move
//! between Redis and ferrodis both ways and estimate the same numbers.
//!
//! A HyperLogLog is a plain string value: a 16-byte header (`HYLL`, the
//! encoding byte, three reserved bytes, the cached cardinality as eight
//! little-endian bytes whose top bit marks the cache invalid) followed by
//! 16384 six-bit registers, either
//!
//! * dense: the registers packed least significant bit first, 12288 bytes;
//! * sparse: run-length opcodes — `00xxxxxx` ZERO (1 to 64 zero
//!   registers), `01xxxxxx yyyyyyyy` XZERO (1 to 16384), `1vvvvvxx` VAL
//!   (1 to 4 registers holding 1 to 32).
//!
//! Elements are hashed with MurmurHash64A (seed `0xadc83b19`): the low 14
//! bits pick the register, the run of zeros above them (plus one) is the
//! candidate value. The estimate is Ertl's improved estimator, the one
//! Redis 7.0 uses. A sparse value grows until a change would take it past
//! `hll-sparse-max-bytes` or needs a value above 32; it then becomes dense.
//!
//! Values come from clients (SET, RESTORE), so every walk over opcodes
//! checks that they stay within the 16384 registers and never reads past
//! the string: a corrupt value is reported ([`Corrupt`]), never trusted.

/// Number of registers (2^14).
pub const REGISTERS: usize = 1 << 14;
/// Header size in bytes.
pub const HEADER: usize = 16;
/// Size of a dense value: header plus 16384 six-bit registers.
pub const DENSE_SIZE: usize = HEADER + (REGISTERS * 6).div_ceil(8);
/// Hash bits above the register index that count zeros (64 - 14).
const Q: usize = 50;
/// Largest value a sparse VAL opcode holds.
const SPARSE_VAL_MAX: u8 = 32;
/// Longest run of a VAL opcode.
const SPARSE_VAL_MAX_LEN: usize = 4;
/// Longest run of a ZERO opcode.
const SPARSE_ZERO_MAX_LEN: usize = 64;
/// 0.5 / ln 2, the estimator's constant as the number of registers grows.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The encoding byte of a dense value.
pub const DENSE: u8 = 0;
/// The encoding byte of a sparse value.
pub const SPARSE: u8 = 1;

/// A value whose opcodes do not describe exactly 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash2, 64-bit version (MurmurHash64A), reading blocks little
/// endian as Redis does on every architecture.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut k = u64::from_le_bytes(block.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element goes to and the value it offers it.
pub fn register_of(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, 0xadc8_3b19);
    let index = (hash as usize) & (REGISTERS - 1);
    // The sentinel bit at Q bounds the count at Q + 1.
    let rest = (hash >> 14) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// True if `s` is a HyperLogLog as Redis checks it: long enough, the
/// magic, a known encoding, and exactly the dense size when dense.
pub fn is_valid(s: &[u8]) -> bool {
    s.len() >= HEADER
        && &s[..4] == b"HYLL"
        && s[4] <= SPARSE
        && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

/// A new, empty HyperLogLog: sparse, one XZERO covering every register,
/// a valid cached cardinality of 0.
pub fn new_sparse() -> Vec<u8> {
    let mut s = vec![0u8; HEADER];
    s[..4].copy_from_slice(b"HYLL");
    s[4] = SPARSE;
    push_xzero(&mut s, REGISTERS);
    s
}

/// The cached cardinality, if the cache is valid.
pub fn cached(s: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(s[8..16].try_into().unwrap_or([0xff; 8]));
    (card >> 63 == 0).then_some(card)
}

/// Stores `card` as the (valid) cached cardinality.
pub fn set_cached(s: &mut [u8], card: u64) {
    s[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Marks the cached cardinality stale.
pub fn invalidate(s: &mut [u8]) {
    s[15] |= 0x80;
}

// ----- dense registers -----

/// Register `i` of the packed registers `r` (a missing trailing byte
/// reads as zero, as Redis's string terminator does).
fn dense_get(r: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = u16::from(r[byte]);
    let b1 = u16::from(r.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

/// Sets register `i` of `r` to `val` (at most 63).
fn dense_put(r: &mut [u8], i: usize, val: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = u16::from(val);
    r[byte] = ((u16::from(r[byte]) & !(63 << fb)) | (v << fb)) as u8;
    if let Some(next) = r.get_mut(byte + 1) {
        *next = ((u16::from(*next) & !(63u16 >> (8 - fb))) | (v >> (8 - fb))) as u8;
    }
}

/// Raises register `i` of a dense value to `count`; true if it changed.
fn dense_set(s: &mut [u8], i: usize, count: u8) -> bool {
    let r = &mut s[HEADER..];
    if count > dense_get(r, i) {
        dense_put(r, i, count);
        true
    } else {
        false
    }
}

// ----- sparse opcodes -----

/// One decoded opcode.
#[derive(Clone, Copy)]
enum Op {
    /// `run` zero registers (ZERO or XZERO).
    Zero { run: usize, xzero: bool },
    /// `run` registers holding `value`.
    Val { run: usize, value: u8 },
}

impl Op {
    /// Bytes the opcode takes.
    fn size(self) -> usize {
        match self {
            Op::Zero { xzero: true, .. } => 2,
            _ => 1,
        }
    }

    fn run(self) -> usize {
        match self {
            Op::Zero { run, .. } | Op::Val { run, .. } => run,
        }
    }
}

/// Decodes the opcode at `p`. An XZERO cut off by the end of the string
/// reads its second byte as zero (Redis reads the terminator there).
fn op_at(s: &[u8], p: usize) -> Op {
    let b = s[p];
    if b & 0xc0 == 0 {
        Op::Zero {
            run: usize::from(b & 0x3f) + 1,
            xzero: false,
        }
    } else if b & 0x80 == 0 {
        let low = usize::from(s.get(p + 1).copied().unwrap_or(0));
        Op::Zero {
            run: ((usize::from(b & 0x3f) << 8) | low) + 1,
            xzero: true,
        }
    } else {
        Op::Val {
            run: usize::from(b & 3) + 1,
            value: ((b >> 2) & 0x1f) + 1,
        }
    }
}

fn val_byte(value: u8, run: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (run as u8 - 1)
}

fn push_zero_run(out: &mut Vec<u8>, run: usize) {
    if run > SPARSE_ZERO_MAX_LEN {
        push_xzero(out, run);
    } else {
        out.push(run as u8 - 1);
    }
}

fn push_xzero(out: &mut Vec<u8>, run: usize) {
    let l = run - 1;
    out.push(0x40 | (l >> 8) as u8);
    out.push((l & 0xff) as u8);
}

/// Walks the sparse opcodes of `s`, calling `f(first_register, op)` for
/// each; `Corrupt` if they run past the last register or cover fewer.
fn walk_sparse(s: &[u8], mut f: impl FnMut(usize, Op)) -> Result<(), Corrupt> {
    let mut p = HEADER;
    let mut idx = 0usize;
    while p < s.len() {
        let op = op_at(s, p);
        if idx + op.run() > REGISTERS {
            return Err(Corrupt);
        }
        f(idx, op);
        idx += op.run();
        p += op.size();
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// The dense form of a sparse value (the header kept: magic and cached
/// cardinality); a dense value is returned as it is.
pub fn to_dense(s: &[u8]) -> Result<Vec<u8>, Corrupt> {
    if s[4] == DENSE {
        return Ok(s.to_vec());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HEADER].copy_from_slice(&s[..HEADER]);
    dense[4] = DENSE;
    let regs = &mut dense[HEADER..];
    walk_sparse(s, |first, op| {
        if let Op::Val { run, value } = op {
            for i in first..first + run {
                dense_put(regs, i, value);
            }
        }
    })?;
    Ok(dense)
}

/// Raises register `index` of the sparse value in `s` to `count`,
/// splitting the opcode that covers it as Redis does (so the bytes come
/// out identical), or converting to dense when the value cannot stay
/// sparse. Ok(true) if the register changed.
fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX {
        return promote(s, index, count);
    }
    // Find the opcode covering `index`.
    let (mut p, mut first, mut prev) = (HEADER, 0usize, None);
    let mut found = None;
    while p < s.len() {
        let op = op_at(s, p);
        if index < first + op.run() {
            found = Some(op);
            break;
        }
        prev = Some(p);
        p += op.size();
        first += op.run();
    }
    let Some(op) = found else {
        return Err(Corrupt);
    };
    let last = first + op.run() - 1;
    let mut seq: Vec<u8> = Vec::with_capacity(5);
    match op {
        Op::Val { value, .. } if value >= count => return Ok(false),
        Op::Val { run: 1, .. }
        | Op::Zero {
            run: 1,
            xzero: false,
        } => {
            s[p] = val_byte(count, 1);
            merge_adjacent(s, prev.unwrap_or(HEADER));
            invalidate(s);
            return Ok(true);
        }
        Op::Zero { .. } => {
            if index != first {
                push_zero_run(&mut seq, index - first);
            }
            seq.push(val_byte(count, 1));
            if index != last {
                push_zero_run(&mut seq, last - index);
            }
        }
        Op::Val { value, .. } => {
            if index != first {
                seq.push(val_byte(value, index - first));
            }
            seq.push(val_byte(count, 1));
            if index != last {
                seq.push(val_byte(value, last - index));
            }
        }
    }
    let old_len = s.len();
    let delta = seq.len() as isize - op.size() as isize;
    if delta > 0 && old_len + delta as usize > max_bytes {
        return promote(s, index, count);
    }
    s.splice(p..(p + op.size()).min(old_len), seq);
    // An XZERO cut off by the end of the string: Redis's length
    // arithmetic drops the sequence's last byte.
    s.truncate((old_len as isize + delta) as usize);
    merge_adjacent(s, prev.unwrap_or(HEADER));
    invalidate(s);
    Ok(true)
}

/// Merges adjacent VAL opcodes of equal value (runs up to 4), looking at
/// five opcodes from `p`, as Redis does after each sparse update.
fn merge_adjacent(s: &mut Vec<u8>, mut p: usize) {
    let mut budget = 5;
    while p < s.len() && budget > 0 {
        budget -= 1;
        let op = op_at(s, p);
        let Op::Val { run, value } = op else {
            p += op.size();
            continue;
        };
        if p + 1 < s.len() {
            if let Op::Val {
                run: run2,
                value: value2,
            } = op_at(s, p + 1)
            {
                if value == value2 && run + run2 <= SPARSE_VAL_MAX_LEN {
                    s[p + 1] = val_byte(value, run + run2);
                    s.remove(p);
                    continue;
                }
            }
        }
        p += 1;
    }
}

/// Converts `s` to dense and sets the register there.
fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    *s = to_dense(s)?;
    dense_set(s, index, count);
    Ok(true)
}

/// Raises register `index` to `count` in either encoding; Ok(true) if it
/// changed. A sparse value may become dense.
pub fn set_register(
    s: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if s[4] == DENSE {
        Ok(dense_set(s, index, count))
    } else {
        sparse_set(s, index, count, max_bytes)
    }
}

/// Adds `element`; Ok(true) if a register changed.
pub fn add(s: &mut Vec<u8>, element: &[u8], max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = register_of(element);
    set_register(s, index, count, max_bytes)
}

// ----- estimation -----

/// How many registers hold each value (0 to 63).
type Histogram = [u32; 64];

fn histogram(s: &[u8]) -> Result<Histogram, Corrupt> {
    let mut h = [0u32; 64];
    if s[4] == DENSE {
        let r = &s[HEADER..];
        for i in 0..REGISTERS {
            h[usize::from(dense_get(r, i))] += 1;
        }
    } else {
        walk_sparse(s, |_, op| match op {
            Op::Zero { run, .. } => h[0] += run as u32,
            Op::Val { run, value } => h[usize::from(value)] += run as u32,
        })?;
    }
    Ok(h)
}

/// Ertl's sigma function.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

/// Ertl's tau function.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        // Redis writes pow(1 - x, 2), which its compiler turns into this.
        z -= (1.0 - x) * (1.0 - x) * y;
        if before == z {
            return z / 3.0;
        }
    }
}

fn estimate(h: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(h[Q + 1])) / m);
    for j in (1..=Q).rev() {
        z += f64::from(h[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(h[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimated cardinality of a valid value (ignoring its cache).
pub fn count(s: &[u8]) -> Result<u64, Corrupt> {
    histogram(s).map(|h| estimate(&h))
}

/// Registers as one byte each, for unions (PFCOUNT of several keys,
/// PFMERGE).
pub struct Union(Box<[u8; REGISTERS]>);

impl Default for Union {
    fn default() -> Self {
        Union(Box::new([0; REGISTERS]))
    }
}

impl Union {
    /// Takes the register-wise maximum with the valid value `s`.
    pub fn merge(&mut self, s: &[u8]) -> Result<(), Corrupt> {
        let max = &mut self.0;
        if s[4] == DENSE {
            let r = &s[HEADER..];
            for (i, m) in max.iter_mut().enumerate() {
                *m = (*m).max(dense_get(r, i));
            }
            Ok(())
        } else {
            walk_sparse(s, |first, op| {
                if let Op::Val { run, value } = op {
                    for m in &mut max[first..first + run] {
                        *m = (*m).max(value);
                    }
                }
            })
        }
    }

    /// The estimated cardinality of the union.
    pub fn count(&self) -> u64 {
        let mut h = [0u32; 64];
        for &v in self.0.iter() {
            h[usize::from(v & 63)] += 1;
        }
        estimate(&h)
    }

    /// The registers.
    pub fn registers(&self) -> &[u8; REGISTERS] {
        &self.0
    }
}

// ----- debugging -----

/// Every register of a dense value.
pub fn dense_registers(s: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let r = &s[HEADER..];
    (0..REGISTERS).map(move |i| dense_get(r, i))
}

/// PFDEBUG DECODE's text of a sparse value: `z:N`, `Z:N`, `v:V,N`
/// separated by spaces.
pub fn decode(s: &[u8]) -> String {
    let mut out = String::new();
    let mut p = HEADER;
    while p < s.len() {
        let op = op_at(s, p);
        if !out.is_empty() {
            out.push(' ');
        }
        match op {
            Op::Zero { run, xzero: false } => out.push_str(&format!("z:{run}")),
            Op::Zero { run, xzero: true } => out.push_str(&format!("Z:{run}")),
            Op::Val { run, value } => out.push_str(&format!("v:{value},{run}")),
        }
        p += op.size();
    }
    out
}

/// PFSELFTEST: the register packing keeps every value and disturbs no
/// neighbour, and dense and sparse estimates agree and stay within six
/// standard errors up to ten million elements. `Err` holds the failure's
/// text (Redis's).
pub fn self_test(max_bytes: usize, mut rand: impl FnMut() -> u64) -> Result<(), String> {
    let mut regs = vec![0u8; DENSE_SIZE - HEADER];
    let mut expect = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, e) in expect.iter_mut().enumerate() {
            *e = (rand() & 63) as u8;
            dense_put(&mut regs, i, *e);
        }
        for (i, &e) in expect.iter().enumerate() {
            let got = dense_get(&regs, i);
            if got != e {
                return Err(format!(
                    "TESTFAILED Register {i} should be {e} but is {got}"
                ));
            }
        }
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let seed = rand();
    let mut checkpoint: u64 = 1;
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_ne_bytes();
        let (index, c) = register_of(&ele);
        dense_set(&mut dense, index, c);
        let _ = set_register(&mut sparse, index, c, max_bytes);
        if j != checkpoint {
            continue;
        }
        if (j as usize) < max_bytes / 2 && sparse[4] != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let d = count(&dense).unwrap_or(0);
        if count(&sparse).ok() != Some(d) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - d as i64).unsigned_abs();
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        if j == 10 {
            maxerr = 1;
        }
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_picks_a_register_and_a_bounded_count() {
        let (index, count) = register_of(b"a");
        assert!(index < REGISTERS && (1..=51).contains(&count));
        assert_ne!(murmur64a(b"", 0), murmur64a(b"", 1));
        assert_ne!(murmur64a(b"abcdefgh1", 7), murmur64a(b"abcdefgh2", 7));
    }

    #[test]
    fn new_values_are_sparse_and_empty() {
        let s = new_sparse();
        assert_eq!(s.len(), 18);
        assert!(is_valid(&s));
        assert_eq!(cached(&s), Some(0));
        assert_eq!(count(&s), Ok(0));
        assert_eq!(decode(&s), "Z:16384");
        let d = to_dense(&s).expect("valid");
        assert_eq!(d.len(), DENSE_SIZE);
        assert_eq!(count(&d), Ok(0));
    }

    #[test]
    fn sparse_and_dense_agree_and_promote() {
        let mut s = new_sparse();
        let mut d = to_dense(&s).expect("valid");
        for i in 0..2000u32 {
            let e = i.to_string();
            add(&mut s, e.as_bytes(), 3000).expect("valid");
            add(&mut d, e.as_bytes(), 3000).expect("valid");
            assert!(s.len() <= 3000 || s[4] == DENSE);
        }
        assert_eq!(count(&s), count(&d));
        let n = count(&d).expect("valid");
        assert!((1900..2100).contains(&n), "{n}");
        assert_eq!(s[4], DENSE);
        assert_eq!(&s[HEADER..], &d[HEADER..]);
    }

    #[test]
    fn corrupt_sparse_values_are_refused() {
        let mut s = new_sparse();
        s.extend_from_slice(b"hello");
        assert_eq!(count(&s), Err(Corrupt));
        assert!(to_dense(&s).is_err());
        assert!(Union::default().merge(&s).is_err());
        // Opcodes summing past the registers are caught before use.
        let mut s = new_sparse();
        s.truncate(HEADER);
        for _ in 0..3 {
            push_xzero(&mut s, 16384);
        }
        assert_eq!(count(&s), Err(Corrupt));
        // An XZERO cut in half reads a zero second byte.
        let mut s = new_sparse();
        s.pop();
        assert_eq!(decode(&s), "Z:16129");
        // Adding to it may fail but must not panic.
        let _ = add(&mut s, b"x", 3000);
    }

    #[test]
    fn self_test_passes() {
        let mut x = 88172645463325252u64;
        let rand = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        assert_eq!(self_test(3000, rand), Ok(()));
    }
}
