//! The set type: unordered collections of distinct byte strings.
//!
//! Three encodings, with Redis 7.2's names and conversion rules:
//!
//! * `intset`: every member is the canonical decimal form of an i64 (what
//!   Redis's `string2ll` accepts) and there are at most
//!   `set-max-intset-entries` of them. Held as a sorted array of integers of
//!   the narrowest width (2, 4 or 8 bytes) that fits every member, widened
//!   when a larger one arrives; members iterate in ascending order. Up to
//!   21 bytes of integers (10 of 16 bits) sit in the value itself, more in
//!   one exact-size allocation.
//! * `listpack`: at most `set-max-listpack-entries` members, none longer
//!   than `set-max-listpack-value` bytes, packed in insertion order into a
//!   [`ForwardListpack`] (no back-lengths: a member of up to 127 bytes
//!   costs its length plus one).
//! * `hashtable`: a [`Dict`] with no values.
//!
//! An intset becomes a listpack or a hash table, a listpack a hash table;
//! nothing converts back, except a set built afresh (RDB load, the STORE
//! commands) which takes the smallest encoding its members allow.
//!
//! The value is 24 bytes, its tag first, so that `Value` keeps its own
//! discriminant in that byte's unused values and stays 24 bytes (a keyspace
//! node of a short key stays one 48-byte allocation): a small intset is
//! held inline, a listpack is its 16-byte handle, a hash table is boxed.

use super::listpack::ForwardListpack;
use crate::dict::{hash_key, Dict};
use std::borrow::Cow;
use std::ptr::NonNull;

/// Conversion thresholds (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct SetLimits {
    /// `set-max-intset-entries` (capped at 2^30, as Redis caps it).
    pub max_intset: usize,
    /// `set-max-listpack-entries`
    pub max_listpack_entries: usize,
    /// `set-max-listpack-value`
    pub max_listpack_value: usize,
}

impl SetLimits {
    fn intset_cap(self) -> usize {
        self.max_intset.min(1 << 30)
    }
}

/// Parses a member as an intset integer: Redis's `string2ll` rules.
#[inline]
pub fn member_int(member: &[u8]) -> Option<i64> {
    crate::protocol::parse_i64(member)
}

/// One member as the encodings hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    /// A member of an intset.
    Int(i64),
    /// A member held as bytes.
    Str(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes (integers formatted in decimal).
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match *self {
            Member::Int(n) => {
                let mut v = Vec::with_capacity(20);
                crate::reply::push_i64(&mut v, n);
                Cow::Owned(v)
            }
            Member::Str(s) => Cow::Borrowed(s),
        }
    }

    /// The member as an owned byte string.
    pub fn to_vec(&self) -> Vec<u8> {
        self.bytes().into_owned()
    }
}

/// Width in bytes of an intset's integers. Also gives `Repr` its niche: the
/// other encodings' discriminants live in this byte's unused values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Width {
    W16 = 2,
    W32 = 4,
    W64 = 8,
}

impl Width {
    fn of(n: i64) -> Width {
        if i16::try_from(n).is_ok() {
            Width::W16
        } else if i32::try_from(n).is_ok() {
            Width::W32
        } else {
            Width::W64
        }
    }

    fn bytes(self) -> usize {
        self as usize
    }
}

/// Bytes of integers a set holds inline (see [`Repr::Small`]): 10 of 16
/// bits, 5 of 32, 2 of 64.
const SMALL_BYTES: usize = 21;

/// A sorted array of distinct integers of one width, borrowed from either
/// intset representation.
#[derive(Clone, Copy)]
struct Ints<'a> {
    data: &'a [u8],
    width: Width,
}

impl<'a> Ints<'a> {
    fn len(&self) -> usize {
        self.data.len() / self.width.bytes()
    }

    #[inline]
    fn get(&self, i: usize) -> i64 {
        let w = self.width.bytes();
        let b = &self.data[i * w..(i + 1) * w];
        match self.width {
            Width::W16 => i64::from(i16::from_le_bytes([b[0], b[1]])),
            Width::W32 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            Width::W64 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                i64::from_le_bytes(a)
            }
        }
    }

    /// Position of `n`, or where it would be inserted.
    fn search(&self, n: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(&n) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    fn contains(&self, n: i64) -> bool {
        Width::of(n) <= self.width && self.search(n).is_ok()
    }

    fn push_encoded(out: &mut Vec<u8>, n: i64, width: Width) {
        match width {
            Width::W16 => out.extend_from_slice(&(n as i16).to_le_bytes()),
            Width::W32 => out.extend_from_slice(&(n as i32).to_le_bytes()),
            Width::W64 => out.extend_from_slice(&n.to_le_bytes()),
        }
    }

    /// The contents with `n` added (`None` if present), and their width.
    fn with(&self, n: i64) -> Option<(Vec<u8>, Width)> {
        let need = Width::of(n);
        if need > self.width {
            // A wider value is below or above every member: re-encode all.
            let mut out = Vec::with_capacity((self.len() + 1) * need.bytes());
            if n < 0 {
                Self::push_encoded(&mut out, n, need);
            }
            for i in 0..self.len() {
                Self::push_encoded(&mut out, self.get(i), need);
            }
            if n >= 0 {
                Self::push_encoded(&mut out, n, need);
            }
            return Some((out, need));
        }
        let at = self.search(n).err()? * self.width.bytes();
        let mut out = Vec::with_capacity(self.data.len() + self.width.bytes());
        out.extend_from_slice(&self.data[..at]);
        Self::push_encoded(&mut out, n, self.width);
        out.extend_from_slice(&self.data[at..]);
        Some((out, self.width))
    }

    /// The contents without `n` (`None` if absent).
    fn without(&self, n: i64) -> Option<Vec<u8>> {
        if Width::of(n) > self.width {
            return None;
        }
        let at = self.search(n).ok()? * self.width.bytes();
        let mut out = Vec::with_capacity(self.data.len() - self.width.bytes());
        out.extend_from_slice(&self.data[..at]);
        out.extend_from_slice(&self.data[at + self.width.bytes()..]);
        Some(out)
    }

    fn iter(self) -> impl Iterator<Item = i64> + 'a {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Redis's intset blob: encoding (u32), length (u32), contents, all
    /// little-endian.
    fn blob(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.data.len());
        out.extend_from_slice(&(self.width as u32).to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        out.extend_from_slice(self.data);
        out
    }
}

/// A sorted array of distinct integers in one exact-size allocation (an
/// intset too large to be held inline).
struct IntSet {
    ptr: NonNull<u8>,
    count: u32,
    width: Width,
}

// SAFETY: an `IntSet` owns its allocation exclusively, like a `Box<[u8]>`.
unsafe impl Send for IntSet {}
// SAFETY: shared access only reads the bytes.
unsafe impl Sync for IntSet {}

impl IntSet {
    /// Takes over `data`, whole integers of `width`, at least one.
    fn new(data: Vec<u8>, width: Width) -> IntSet {
        // The count is capped at 2^30 by the conversion rules.
        let Ok(count) = u32::try_from(data.len() / width.bytes()) else {
            std::process::abort()
        };
        let boxed: Box<[u8]> = data.into_boxed_slice();
        debug_assert!(!boxed.is_empty());
        // SAFETY: a Box of a slice is non-null.
        let ptr = unsafe { NonNull::new_unchecked(Box::into_raw(boxed).cast::<u8>()) };
        IntSet { ptr, count, width }
    }

    fn view(&self) -> Ints<'_> {
        let len = self.count as usize * self.width.bytes();
        // SAFETY: `ptr` owns `len` initialised bytes.
        let data = unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), len) };
        Ints {
            data,
            width: self.width,
        }
    }
}

impl Drop for IntSet {
    fn drop(&mut self) {
        let len = self.count as usize * self.width.bytes();
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), len);
        // SAFETY: the allocation is the boxed slice of `len` bytes taken
        // over in `IntSet::new`.
        drop(unsafe { Box::from_raw(slice) });
    }
}

/// The encodings. The enum is 24 bytes with its tag in the first byte, so
/// that `Value` can keep its own discriminant in that byte's unused values
/// and stay 24 bytes: a small intset is held inline (an 8-member intset of
/// 16-bit integers costs no allocation), a listpack is its 16-byte handle.
enum Repr {
    /// An intset of at most [`SMALL_BYTES`] bytes, in the value itself;
    /// `width` is a [`Width`] as a byte.
    Small {
        len: u8,
        width: u8,
        data: [u8; SMALL_BYTES],
    },
    /// A larger intset.
    Ints(IntSet),
    /// A listpack (without back-lengths: sets only walk forward).
    Packed(ForwardListpack),
    /// A hash table.
    Table(Box<Dict<()>>),
}

impl Repr {
    const EMPTY: Repr = Repr::Small {
        len: 0,
        width: Width::W16 as u8,
        data: [0; SMALL_BYTES],
    };

    /// The integers of an intset.
    fn ints(&self) -> Option<Ints<'_>> {
        match self {
            Repr::Small { len, width, data } => Some(Ints {
                data: &data[..*len as usize],
                width: match *width {
                    2 => Width::W16,
                    4 => Width::W32,
                    _ => Width::W64,
                },
            }),
            Repr::Ints(is) => Some(is.view()),
            _ => None,
        }
    }

    /// An intset of `data`, inline when it fits.
    fn from_ints(data: Vec<u8>, width: Width) -> Repr {
        if data.len() > SMALL_BYTES {
            return Repr::Ints(IntSet::new(data, width));
        }
        let mut inline = [0; SMALL_BYTES];
        inline[..data.len()].copy_from_slice(&data);
        Repr::Small {
            len: data.len() as u8,
            width: width as u8,
            data: inline,
        }
    }
}

/// A set value.
pub struct SetValue(Repr);

impl std::fmt::Debug for SetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Set({}, {} members)", self.encoding_name(), self.len())
    }
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue(Repr::EMPTY)
    }
}

impl Clone for SetValue {
    fn clone(&self) -> Self {
        SetValue(match &self.0 {
            Repr::Small { len, width, data } => Repr::Small {
                len: *len,
                width: *width,
                data: *data,
            },
            Repr::Ints(is) => Repr::from_ints(is.view().data.to_vec(), is.width),
            Repr::Packed(lp) => Repr::Packed(lp.clone()),
            Repr::Table(d) => {
                let mut copy = Dict::new();
                copy.reserve(d.len());
                for (k, _) in d.iter() {
                    copy.insert_new(hash_key(k), k, ());
                }
                Repr::Table(Box::new(copy))
            }
        })
    }
}

/// Iterator over a set's members.
pub enum Iter<'a> {
    /// Over an intset.
    Ints(std::ops::Range<usize>, &'a SetValue),
    /// Over a listpack.
    Packed(super::listpack::PackIter<'a, false>),
    /// Over a hash table.
    Table(Box<dyn Iterator<Item = &'a [u8]> + 'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;
    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            Iter::Ints(range, set) => {
                let i = range.next()?;
                set.0.ints().map(|is| Member::Int(is.get(i)))
            }
            Iter::Packed(it) => it.next().map(Member::Str),
            Iter::Table(it) => it.next().map(Member::Str),
        }
    }
}

impl SetValue {
    /// An empty set in the encoding Redis's `setTypeCreate` picks for a set
    /// about to receive `size_hint` members, the first being `first`.
    pub fn create(first: &[u8], size_hint: usize, limits: SetLimits) -> SetValue {
        if member_int(first).is_some() && size_hint <= limits.intset_cap() {
            SetValue::default()
        } else if size_hint <= limits.max_listpack_entries {
            SetValue(Repr::Packed(ForwardListpack::new()))
        } else {
            let mut d = Dict::new();
            d.reserve(size_hint);
            SetValue(Repr::Table(Box::new(d)))
        }
    }

    /// Converts to a hash table ahead of `size_hint` additions when they
    /// would exceed the current encoding's limit (Redis's
    /// `setTypeMaybeConvert`).
    pub fn maybe_convert(&mut self, size_hint: usize, limits: SetLimits) {
        let over = match &self.0 {
            Repr::Small { .. } | Repr::Ints(_) => size_hint > limits.intset_cap(),
            Repr::Packed(_) => size_hint > limits.max_listpack_entries,
            Repr::Table(_) => false,
        };
        if over {
            self.convert_to_table(size_hint);
        }
    }

    /// Builds a set from distinct `members` in the smallest encoding they
    /// allow (loading, STORE results).
    pub fn from_members<'a>(
        members: impl Iterator<Item = &'a [u8]> + Clone,
        limits: SetLimits,
    ) -> SetValue {
        let mut n = 0;
        let mut all_ints = true;
        let mut max_len = 0;
        for m in members.clone() {
            n += 1;
            all_ints &= member_int(m).is_some();
            max_len = max_len.max(m.len());
        }
        let mut set = if all_ints && n <= limits.intset_cap() {
            SetValue::default()
        } else if n <= limits.max_listpack_entries && max_len <= limits.max_listpack_value {
            SetValue(Repr::Packed(ForwardListpack::new()))
        } else {
            let mut d = Dict::new();
            d.reserve(n);
            SetValue(Repr::Table(Box::new(d)))
        };
        for m in members {
            set.add(m, limits);
        }
        set
    }

    /// A set of distinct ascending integers (a loaded intset): an intset
    /// unless there are more than `set-max-intset-entries`.
    pub fn from_sorted_ints(ints: &[i64], limits: SetLimits) -> SetValue {
        let width = ints
            .iter()
            .map(|&n| Width::of(n))
            .max()
            .unwrap_or(Width::W16);
        let mut data = Vec::with_capacity(ints.len() * width.bytes());
        for &n in ints {
            Ints::push_encoded(&mut data, n, width);
        }
        let mut set = SetValue(Repr::from_ints(data, width));
        if ints.len() > limits.intset_cap() {
            set.convert_to_table(ints.len());
        }
        set
    }

    /// An empty set that starts as an intset (the result set of SUNION,
    /// SDIFF and SINTER, as Redis builds it).
    pub fn new() -> SetValue {
        SetValue::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Packed(lp) => lp.len(),
            Repr::Table(d) => d.len(),
            ints => ints.ints().map_or(0, |is| is.len()),
        }
    }

    /// True when the set has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for the hash-table encoding (scanned in steps).
    pub fn is_table(&self) -> bool {
        matches!(self.0, Repr::Table(_))
    }

    /// True for the intset encoding.
    pub fn is_intset(&self) -> bool {
        matches!(self.0, Repr::Small { .. } | Repr::Ints(_))
    }

    fn packed_find(lp: &ForwardListpack, member: &[u8]) -> Option<usize> {
        let mut pos = lp.first();
        while let Some(p) = pos {
            if lp.entry(p) == member {
                return Some(p);
            }
            pos = lp.next(p);
        }
        None
    }

    /// True if `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.0 {
            Repr::Packed(lp) => Self::packed_find(lp, member).is_some(),
            Repr::Table(d) => d.contains(hash_key(member), member),
            ints => {
                member_int(member).is_some_and(|n| ints.ints().is_some_and(|is| is.contains(n)))
            }
        }
    }

    /// Adds `member`; true if it was not there. Converts the encoding as
    /// Redis 7.2's `setTypeAdd` does.
    pub fn add(&mut self, member: &[u8], limits: SetLimits) -> bool {
        if let Some(is) = self.0.ints() {
            if let Some(n) = member_int(member) {
                let Some((data, width)) = is.with(n) else {
                    return false;
                };
                self.0 = Repr::from_ints(data, width);
                if self.len() > limits.intset_cap() {
                    self.convert_to_table(0);
                }
                return true;
            }
            // A string joins: a listpack if the integers and it fit one.
            let n = is.len();
            let max_digits = if n == 0 {
                0
            } else {
                digits10(is.get(0)).max(digits10(is.get(n - 1)))
            };
            // Each listpack entry costs its bytes plus at most 2+5 for
            // its header and back-length.
            let total = (max_digits + 7) * n + member.len() + 7;
            if n < limits.max_listpack_entries
                && member.len() <= limits.max_listpack_value
                && max_digits <= limits.max_listpack_value
                && total < super::listpack::MAX_SAFE_BYTES
            {
                self.convert_to_listpack();
            } else {
                self.convert_to_table(n + 1);
            }
            return self.add(member, limits);
        }
        match &mut self.0 {
            Repr::Packed(lp) => {
                if Self::packed_find(lp, member).is_some() {
                    return false;
                }
                if lp.len() < limits.max_listpack_entries
                    && member.len() <= limits.max_listpack_value
                    && lp.safe_to_add(member.len() + 11)
                {
                    lp.push_back(member);
                    return true;
                }
                let n = lp.len();
                self.convert_to_table(n + 1);
                self.add(member, limits)
            }
            Repr::Table(d) => d.insert_unique(hash_key(member), member, ()).is_ok(),
            Repr::Small { .. } | Repr::Ints(_) => unreachable!("intsets handled above"),
        }
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        if let Some(is) = self.0.ints() {
            let Some(data) = member_int(member).and_then(|n| is.without(n)) else {
                return false;
            };
            self.0 = Repr::from_ints(data, is.width);
            return true;
        }
        match &mut self.0 {
            Repr::Small { .. } | Repr::Ints(_) => false,
            Repr::Packed(lp) => match Self::packed_find(lp, member) {
                Some(p) => {
                    lp.remove_at(p);
                    true
                }
                None => false,
            },
            Repr::Table(d) => d.remove(hash_key(member), member).is_some(),
        }
    }

    fn convert_to_listpack(&mut self) {
        if let Some(is) = self.0.ints() {
            let mut lp = ForwardListpack::new();
            let mut buf = Vec::with_capacity(20);
            for n in is.iter() {
                buf.clear();
                crate::reply::push_i64(&mut buf, n);
                lp.push_back(&buf);
            }
            self.0 = Repr::Packed(lp);
        }
    }

    /// Converts to the hash-table encoding, sized for `capacity` members.
    pub fn convert_to_table(&mut self, capacity: usize) {
        if self.is_table() {
            return;
        }
        let mut d = Dict::new();
        d.reserve(capacity.max(self.len()));
        for m in self.iter() {
            let bytes = m.bytes();
            d.insert_new(hash_key(&bytes), &bytes, ());
        }
        self.0 = Repr::Table(Box::new(d));
    }

    /// Iterates over the members: ascending for an intset, insertion order
    /// for a listpack, bucket order for a hash table.
    pub fn iter(&self) -> Iter<'_> {
        match &self.0 {
            Repr::Packed(lp) => Iter::Packed(lp.iter()),
            Repr::Table(d) => Iter::Table(Box::new(d.iter().map(|(k, _)| k))),
            ints => Iter::Ints(0..ints.ints().map_or(0, |is| is.len()), self),
        }
    }

    /// A uniformly random member, `rand` supplying random numbers.
    pub fn random_member(&self, mut rand: impl FnMut() -> u64) -> Option<Member<'_>> {
        match &self.0 {
            Repr::Small { .. } | Repr::Ints(_) => {
                let is = self.0.ints()?;
                let n = is.len();
                (n > 0).then(|| Member::Int(is.get((rand() % n as u64) as usize)))
            }
            Repr::Packed(lp) => {
                let n = lp.len();
                if n == 0 {
                    return None;
                }
                lp.nth((rand() % n as u64) as usize).map(Member::Str)
            }
            Repr::Table(d) => d.fair_random_entry(rand).map(|(k, _)| Member::Str(k)),
        }
    }

    /// One SSCAN step over a hash-table set (see [`Dict::scan_step`]);
    /// `None` for the packed encodings, which are scanned whole at once.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8])) -> Option<u64> {
        match &self.0 {
            Repr::Table(d) => Some(d.scan_step(cursor, |k, _| f(k))),
            _ => None,
        }
    }

    /// Redis's intset blob (RDB `SET_INTSET`), for an intset.
    pub fn intset_blob(&self) -> Option<Vec<u8>> {
        self.0.ints().map(|is| is.blob())
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match &self.0 {
            Repr::Small { .. } | Repr::Ints(_) => "intset",
            Repr::Packed(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes owned.
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Small { .. } => 0,
            Repr::Ints(is) => is.view().data.len(),
            Repr::Packed(lp) => lp.allocated(),
            Repr::Table(d) => std::mem::size_of::<Dict<()>>() + d.overhead_bytes(),
        }
    }
}

/// Decimal digits of `n`, its sign included (Redis's `sdigits10`).
fn digits10(n: i64) -> usize {
    let mut buf = Vec::with_capacity(20);
    crate::reply::push_i64(&mut buf, n);
    buf.len()
}

/// Parses Redis's intset blob (RDB `SET_INTSET`) into its integers:
/// `None` unless the header is valid, the length matches the contents
/// exactly and the integers are strictly ascending.
pub fn parse_intset_blob(blob: &[u8]) -> Option<Vec<i64>> {
    let header: [u8; 8] = blob.get(..8)?.try_into().ok()?;
    let width = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) || count.checked_mul(width)? != blob.len() - 8 {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for chunk in blob[8..].chunks_exact(width) {
        let n = match width {
            2 => i64::from(i16::from_le_bytes([chunk[0], chunk[1]])),
            4 => i64::from(i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])),
            _ => {
                let mut a = [0u8; 8];
                a.copy_from_slice(chunk);
                i64::from_le_bytes(a)
            }
        };
        if out.last().is_some_and(|&last| last >= n) {
            return None;
        }
        out.push(n);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SetLimits = SetLimits {
        max_intset: 4,
        max_listpack_entries: 3,
        max_listpack_value: 8,
    };

    const LIMITS_BIG: SetLimits = SetLimits {
        max_intset: 512,
        max_listpack_entries: 128,
        max_listpack_value: 64,
    };

    fn members(s: &SetValue) -> Vec<Vec<u8>> {
        s.iter().map(|m| m.to_vec()).collect()
    }

    #[test]
    fn a_set_is_24_bytes_and_small_intsets_are_inline() {
        assert_eq!(std::mem::size_of::<SetValue>(), 24);
        let mut s = SetValue::default();
        for n in 0..10 {
            s.add(n.to_string().as_bytes(), LIMITS_BIG);
        }
        assert!(matches!(s.0, Repr::Small { .. }));
        s.add(b"10", LIMITS_BIG);
        assert!(matches!(s.0, Repr::Ints(_)));
        assert!(s.remove(b"10"));
        assert!(matches!(s.0, Repr::Small { .. }));
        assert_eq!(s.len(), 10);
        assert_eq!(members(&s)[9], b"9");
        assert!(s.remove(b"0") && !s.remove(b"0"));
        assert!(s.contains(b"9") && !s.contains(b"0"));
    }

    #[test]
    fn intset_keeps_order_and_widens() {
        let mut s = SetValue::create(b"5", 1, LIMITS);
        for m in ["5", "-3", "5", "40000", "-5000000000"] {
            s.add(m.as_bytes(), LIMITS);
        }
        assert_eq!(s.encoding_name(), "intset");
        assert_eq!(
            members(&s),
            [&b"-5000000000"[..], b"-3", b"5", b"40000"]
                .iter()
                .map(|m| m.to_vec())
                .collect::<Vec<_>>()
        );
        assert!(s.contains(b"40000"));
        assert!(!s.contains(b"040000"));
        assert!(s.remove(b"-3"));
        assert!(!s.remove(b"-3"));
        assert!(!s.remove(b"99999999999999"));
        assert_eq!(s.len(), 3);
        // Past the intset limit: a hash table.
        s.add(b"1", LIMITS);
        s.add(b"2", LIMITS);
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(s.len(), 5);
        assert!(s.contains(b"40000"));
    }

    #[test]
    fn intset_to_listpack_to_table() {
        let mut s = SetValue::create(b"1", 1, LIMITS);
        s.add(b"1", LIMITS);
        s.add(b"a", LIMITS);
        assert_eq!(s.encoding_name(), "listpack");
        assert_eq!(members(&s), vec![b"1".to_vec(), b"a".to_vec()]);
        s.add(b"b", LIMITS);
        assert_eq!(s.encoding_name(), "listpack");
        s.add(b"c", LIMITS);
        assert_eq!(s.encoding_name(), "hashtable");
        let mut s = SetValue::create(b"a", 1, LIMITS);
        s.add(b"a-very-long-member", LIMITS);
        assert_eq!(s.encoding_name(), "hashtable");
    }

    #[test]
    fn from_members_picks_smallest() {
        let ints: Vec<&[u8]> = vec![b"3", b"1", b"2"];
        let s = SetValue::from_members(ints.iter().copied(), LIMITS);
        assert_eq!(s.encoding_name(), "intset");
        assert_eq!(members(&s)[0], b"1");
        let strs: Vec<&[u8]> = vec![b"x", b"1"];
        assert_eq!(
            SetValue::from_members(strs.iter().copied(), LIMITS).encoding_name(),
            "listpack"
        );
    }

    #[test]
    fn intset_blob_round_trip() {
        let mut s = SetValue::default();
        for n in [1, -70000, 3] {
            s.add(n.to_string().as_bytes(), LIMITS);
        }
        let blob = s.intset_blob().expect("intset");
        assert_eq!(&blob[..8], &[4, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(parse_intset_blob(&blob), Some(vec![-70000, 1, 3]));
        assert_eq!(parse_intset_blob(&blob[..blob.len() - 1]), None);
        let mut bad = blob.clone();
        bad[8..12].copy_from_slice(&5i32.to_le_bytes());
        assert_eq!(parse_intset_blob(&bad), None);
    }

    #[test]
    fn random_member_covers_all() {
        for n in [3usize, 50] {
            let mut s = SetValue::create(b"m", n, LIMITS);
            for i in 0..n {
                s.add(format!("m{i}").as_bytes(), LIMITS);
            }
            let mut seen = std::collections::HashSet::new();
            for _ in 0..5000 {
                seen.insert(s.random_member(crate::util::rand_u64).unwrap().to_vec());
            }
            assert_eq!(seen.len(), n);
        }
    }
}
