//! A packed sequence of byte strings in one allocation — the counterpart of
//! Redis's listpack, used for small hashes, small lists and the nodes of large
//! lists, and (without back-lengths) small sets.
//!
//! Layout of one entry of a [`Listpack`]: `varint(len) | bytes | backlen`,
//! where `backlen` is the varint of the entry's size before it, written back
//! to front so the entry can be found walking from the end. A
//! [`ForwardListpack`] leaves `backlen` out: it is walked front to back only
//! (a set's members have no order to walk back in), and a small set's
//! members cost a byte less each. Positions handed out by the methods are
//! byte offsets of entry starts; they stay valid until the next modification.

use std::alloc::{handle_alloc_error, realloc, Layout};

/// Largest encoded size of one listpack, as Redis's listpack safety limit:
/// a hash converts to a table and a list starts a new node rather than grow
/// a listpack past it. It also keeps sizes within the 32-bit length below.
pub const MAX_SAFE_BYTES: usize = 1 << 30;

/// A compact sequence of byte strings; `BACK` says whether entries carry
/// their back-length (see the module's comment). Use it through
/// [`Listpack`] and [`ForwardListpack`].
///
/// The struct is 16 bytes — a pointer to a block of the allocator's size
/// class for the length (see `alloc_size`), its 32-bit
/// length and the entry count — so that a small hash fits in a 16-byte
/// `HashValue` (see `types::hash`) and a keyspace entry stays in a 48-byte
/// allocation. Edits go through a `Vec` rebuilt from the same allocation.
pub struct Pack<const BACK: bool> {
    ptr: std::ptr::NonNull<u8>,
    len: u32,
    count: u32,
}

/// A listpack walked both ways (hashes, lists, sorted sets).
pub type Listpack = Pack<true>;

/// A listpack walked front to back only, its entries without back-lengths
/// (sets).
pub type ForwardListpack = Pack<false>;

// SAFETY: a `Pack` owns its allocation exclusively, like a `Box<[u8]>`.
unsafe impl<const BACK: bool> Send for Pack<BACK> {}
// SAFETY: shared access only reads the bytes.
unsafe impl<const BACK: bool> Sync for Pack<BACK> {}

impl<const BACK: bool> Default for Pack<BACK> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BACK: bool> Clone for Pack<BACK> {
    fn clone(&self) -> Self {
        let mut lp = Self::new();
        lp.set_vec(self.data().to_vec());
        lp.count = self.count;
        lp
    }
}

impl<const BACK: bool> PartialEq for Pack<BACK> {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.data() == other.data()
    }
}

impl<const BACK: bool> Eq for Pack<BACK> {}

impl<const BACK: bool> Drop for Pack<BACK> {
    fn drop(&mut self) {
        drop(self.take_vec());
    }
}

impl<const BACK: bool> std::fmt::Debug for Pack<BACK> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn push_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn read_varint(data: &[u8], mut pos: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let start = pos;
    loop {
        let b = data[pos];
        n |= ((b & 0x7f) as usize) << shift;
        pos += 1;
        if b & 0x80 == 0 {
            return (n, pos - start);
        }
        shift += 7;
    }
}

/// Encodes one entry into `out`, with its back-length if `BACK`.
fn encode_entry<const BACK: bool>(out: &mut Vec<u8>, item: &[u8]) {
    let head = varint_len(item.len());
    push_varint(out, item.len());
    out.extend_from_slice(item);
    if !BACK {
        return;
    }
    let size = head + item.len();
    // backlen: the varint of `size`, bytes reversed.
    let start = out.len();
    push_varint(out, size);
    out[start..].reverse();
}

/// Encodes one entry into `out`, which is exactly `encoded_len(item)`
/// bytes (a gap opened in place, so no temporary buffer is needed).
fn write_entry<const BACK: bool>(out: &mut [u8], item: &[u8]) {
    let mut at = 0;
    let mut n = item.len();
    while n >= 0x80 {
        out[at] = (n as u8 & 0x7f) | 0x80;
        n >>= 7;
        at += 1;
    }
    out[at] = n as u8;
    at += 1;
    out[at..at + item.len()].copy_from_slice(item);
    at += item.len();
    if !BACK {
        return;
    }
    // backlen: the varint of the size so far, bytes reversed.
    let mut size = at;
    let backlen = varint_len(size);
    for i in (at..at + backlen).rev() {
        out[i] = if size >= 0x80 {
            (size as u8 & 0x7f) | 0x80
        } else {
            size as u8
        };
        size >>= 7;
    }
}

/// Replaces `data[pos..pos + old]` with the encoding of `item`, moving the
/// tail once (no temporary buffer, no splice).
fn put_entry<const BACK: bool>(data: &mut Vec<u8>, pos: usize, old: usize, item: &[u8]) {
    let new = encoded_len::<BACK>(item);
    let end = data.len();
    if new > old {
        reserve_class(data, new - old);
        data.resize(end + new - old, 0);
        data.copy_within(pos + old..end, pos + new);
    } else if new < old {
        data.copy_within(pos + old..end, pos + new);
        data.truncate(end - (old - new));
    }
    write_entry::<BACK>(&mut data[pos..pos + new], item);
}

/// The size of the block that holds a listpack of `len` bytes: jemalloc's
/// size class for `len` (8, then multiples of 16 up to 128, then four
/// classes per doubling). The allocator rounds a request up to its class
/// anyway, so asking for the whole class costs no memory, and an edit that
/// stays within it (most pushes and removals) needs no reallocation. The
/// block's size is a function of the length alone, so it need not be
/// stored: `take_vec` rebuilds the capacity from the length.
#[inline]
fn alloc_size(len: usize) -> usize {
    if len <= 8 {
        8
    } else if len <= 128 {
        (len + 15) & !15
    } else {
        let spacing = 1usize << ((usize::BITS - 1 - (len - 1).leading_zeros()) - 2);
        (len + spacing - 1) & !(spacing - 1)
    }
}

/// Makes room in `data` for `extra` more bytes, growing its block straight
/// to the size class `set_vec` will keep it in.
#[inline]
fn reserve_class(data: &mut Vec<u8>, extra: usize) {
    let need = data.len() + extra;
    if need > data.capacity() {
        data.reserve_exact(alloc_size(need) - data.len());
    }
}

fn encoded_len<const BACK: bool>(item: &[u8]) -> usize {
    let size = varint_len(item.len()) + item.len();
    if BACK {
        size + varint_len(size)
    } else {
        size
    }
}

impl<const BACK: bool> Pack<BACK> {
    /// An empty listpack.
    pub const fn new() -> Self {
        Pack {
            ptr: std::ptr::NonNull::dangling(),
            len: 0,
            count: 0,
        }
    }

    /// The encoded bytes.
    #[inline]
    fn data(&self) -> &[u8] {
        // SAFETY: `ptr` is dangling only with `len == 0`, otherwise it owns
        // `len` initialised bytes.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len as usize) }
    }

    /// Takes the bytes out as a `Vec` (leaving the listpack empty).
    fn take_vec(&mut self) -> Vec<u8> {
        let len = self.len as usize;
        let ptr = std::mem::replace(&mut self.ptr, std::ptr::NonNull::dangling());
        self.len = 0;
        if len == 0 {
            return Vec::new();
        }
        // SAFETY: the allocation holds `len` initialised bytes in a block of
        // exactly `alloc_size(len)` bytes with alignment 1 (see `set_vec`),
        // which is what a `Vec<u8>` of that capacity owns.
        unsafe { Vec::from_raw_parts(ptr.as_ptr(), len, alloc_size(len)) }
    }

    /// Stores `data` as the encoded bytes, in a block of `alloc_size` of its
    /// length.
    fn set_vec(&mut self, data: Vec<u8>) {
        debug_assert_eq!(self.len, 0, "set_vec over live bytes");
        // Callers keep listpacks under MAX_SAFE_BYTES; beyond 4 GiB the
        // length would not fit, which would be memory corruption.
        let Ok(len) = u32::try_from(data.len()) else {
            std::process::abort()
        };
        if len == 0 {
            return;
        }
        let want = alloc_size(len as usize);
        let mut data = std::mem::ManuallyDrop::new(data);
        let (ptr, cap) = (data.as_mut_ptr(), data.capacity());
        let ptr = if cap == want {
            ptr
        } else {
            // SAFETY: `ptr` is the Vec's live block of `cap` (> 0) bytes with
            // alignment 1, and the Vec is forgotten, so the block changes
            // hands here; `want` is below 2^33, a valid layout size.
            unsafe {
                let resized = realloc(ptr, Layout::from_size_align_unchecked(cap, 1), want);
                if resized.is_null() {
                    handle_alloc_error(Layout::from_size_align_unchecked(want, 1));
                }
                resized
            }
        };
        // SAFETY: checked non-null above (or the Vec's own non-empty block).
        self.ptr = unsafe { std::ptr::NonNull::new_unchecked(ptr) };
        self.len = len;
    }

    /// Runs an edit on the bytes as a `Vec`.
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut data = self.take_vec();
        let result = f(&mut data);
        self.set_vec(data);
        result
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when there are no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded size in bytes (what `list-max-listpack-size` limits).
    #[inline]
    pub fn byte_len(&self) -> usize {
        self.len as usize
    }

    /// Heap bytes held.
    pub fn allocated(&self) -> usize {
        match self.len {
            0 => 0,
            len => alloc_size(len as usize),
        }
    }

    /// True if `extra` more bytes keep the listpack within
    /// [`MAX_SAFE_BYTES`].
    pub fn safe_to_add(&self, extra: usize) -> bool {
        self.byte_len().saturating_add(extra) <= MAX_SAFE_BYTES
    }

    /// The entry starting at byte offset `pos`.
    pub fn entry(&self, pos: usize) -> &[u8] {
        let (len, head) = read_varint(self.data(), pos);
        &self.data()[pos + head..pos + head + len]
    }

    fn entry_size(&self, pos: usize) -> usize {
        let (len, head) = read_varint(self.data(), pos);
        let size = head + len;
        if BACK {
            size + varint_len(size)
        } else {
            size
        }
    }

    /// Offset of the first entry.
    pub fn first(&self) -> Option<usize> {
        (self.count > 0).then_some(0)
    }

    /// Offset of the entry after the one at `pos`.
    pub fn next(&self, pos: usize) -> Option<usize> {
        let next = pos + self.entry_size(pos);
        (next < self.byte_len()).then_some(next)
    }

    /// Entry number `index` (0-based), walking from the front.
    pub fn nth(&self, index: usize) -> Option<&[u8]> {
        if index >= self.len() {
            return None;
        }
        let mut pos = 0;
        for _ in 0..index {
            pos += self.entry_size(pos);
        }
        Some(self.entry(pos))
    }

    /// A listpack of `items`, encoded into one allocation.
    pub fn from_items<'a>(items: impl Iterator<Item = &'a [u8]> + Clone) -> Self {
        let size: usize = items.clone().map(encoded_len::<BACK>).sum();
        Self::encode_into(Vec::with_capacity(alloc_size(size)), items)
    }

    /// Appends `items` to `data` (empty, maybe with room reserved) and makes
    /// the pack of them.
    fn encode_into<'a>(mut data: Vec<u8>, items: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut count = 0u32;
        for item in items {
            encode_entry::<BACK>(&mut data, item);
            count += 1;
        }
        let mut lp = Self::new();
        lp.set_vec(data);
        lp.count = count;
        lp
    }

    /// Appends an entry.
    pub fn push_back(&mut self, item: &[u8]) {
        self.edit(|data| {
            reserve_class(data, encoded_len::<BACK>(item));
            encode_entry::<BACK>(data, item);
        });
        self.count += 1;
    }

    /// Prepends an entry.
    pub fn push_front(&mut self, item: &[u8]) {
        self.insert_at(0, item);
    }

    /// Inserts an entry before the one at `pos` (or at the end if `pos` is
    /// `byte_len()`).
    pub fn insert_at(&mut self, pos: usize, item: &[u8]) {
        self.edit(|data| put_entry::<BACK>(data, pos, 0, item));
        self.count += 1;
    }

    /// Removes the entry at `pos`; returns the offset of the entry that
    /// followed it, if any.
    pub fn remove_at(&mut self, pos: usize) -> Option<usize> {
        let size = self.entry_size(pos);
        self.edit(|data| data.drain(pos..pos + size).for_each(drop));
        self.count -= 1;
        (pos < self.byte_len()).then_some(pos)
    }

    /// Replaces the entry at `pos`.
    pub fn replace_at(&mut self, pos: usize, item: &[u8]) {
        let size = self.entry_size(pos);
        self.edit(|data| put_entry::<BACK>(data, pos, size, item));
    }

    /// Removes and returns the first entry.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let pos = self.first()?;
        let item = self.entry(pos).to_vec();
        self.remove_at(pos);
        Some(item)
    }

    /// Iterates front to back.
    pub fn iter(&self) -> PackIter<'_, BACK> {
        PackIter {
            lp: self,
            front: 0,
            back: self.byte_len(),
        }
    }

    /// Releases spare capacity (a no-op: the block is always the size
    /// class of the length).
    pub fn shrink_to_fit(&mut self) {}
}

/// What needs the back-lengths: walking from the end.
impl Listpack {
    /// Offset of the last entry.
    pub fn last(&self) -> Option<usize> {
        if self.count == 0 {
            return None;
        }
        self.prev(self.byte_len())
    }

    /// Offset of the entry before `pos` (`pos` may be the end, `byte_len()`).
    pub fn prev(&self, pos: usize) -> Option<usize> {
        if pos == 0 {
            return None;
        }
        // Read the reversed varint backwards.
        let mut n = 0usize;
        let mut shift = 0;
        let mut i = pos;
        loop {
            i -= 1;
            let b = self.data()[i];
            n |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        Some(i - n)
    }

    /// Offset of entry number `index` (0-based; negative counts from the end).
    pub fn seek(&self, index: i64) -> Option<usize> {
        if index >= 0 {
            let index = index as usize;
            if index >= self.len() {
                return None;
            }
            if index <= self.len() / 2 {
                let mut pos = self.first()?;
                for _ in 0..index {
                    pos = self.next(pos)?;
                }
                Some(pos)
            } else {
                self.seek(index as i64 - self.len() as i64)
            }
        } else {
            let back = index.unsigned_abs() as usize;
            if back > self.len() {
                return None;
            }
            let mut pos = self.byte_len();
            for _ in 0..back {
                pos = self.prev(pos)?;
            }
            Some(pos)
        }
    }

    /// Entry number `index` (negative counts from the end).
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        self.seek(index).map(|p| self.entry(p))
    }

    /// Removes and returns the last entry.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let pos = self.last()?;
        let item = self.entry(pos).to_vec();
        self.remove_at(pos);
        Some(item)
    }

    /// Removes `n` entries starting at entry number `start`.
    pub fn remove_range(&mut self, start: usize, n: usize) {
        let Some(from) = self.seek(start as i64) else {
            return;
        };
        let mut to = from;
        let mut removed = 0;
        while removed < n && to < self.byte_len() {
            to += self.entry_size(to);
            removed += 1;
        }
        self.edit(|data| data.drain(from..to).for_each(drop));
        self.count -= removed as u32;
    }
}

/// Iterator over a listpack's entries (double-ended for a [`Listpack`]).
pub struct PackIter<'a, const BACK: bool> {
    lp: &'a Pack<BACK>,
    front: usize,
    back: usize,
}

/// Double-ended iterator over a [`Listpack`]'s entries.
pub type Iter<'a> = PackIter<'a, true>;

impl<'a, const BACK: bool> Iterator for PackIter<'a, BACK> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let item = self.lp.entry(self.front);
        self.front += self.lp.entry_size(self.front);
        Some(item)
    }
}

impl<'a> DoubleEndedIterator for PackIter<'a, true> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let pos = self.lp.prev(self.back)?;
        self.back = pos;
        Some(self.lp.entry(pos))
    }
}

impl<'a, const BACK: bool> FromIterator<&'a [u8]> for Pack<BACK> {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(iter: I) -> Self {
        Self::encode_into(Vec::new(), iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_size_is_jemallocs_size_class() {
        use std::alloc::GlobalAlloc;
        let jemalloc = tikv_jemallocator::Jemalloc;
        for len in (1..5000).chain([16_383, 16_385, 100_000, 1 << 20, (1 << 20) + 1]) {
            let layout = Layout::from_size_align(len, 1).unwrap();
            // SAFETY: a valid non-zero layout; freed with the same layout.
            let usable = unsafe {
                let ptr = jemalloc.alloc(layout);
                assert!(!ptr.is_null());
                let usable = tikv_jemallocator::usable_size(ptr);
                jemalloc.dealloc(ptr, layout);
                usable
            };
            assert_eq!(alloc_size(len), usable, "size class of {len}");
        }
    }

    #[test]
    fn push_pop_both_ends_and_long_entries() {
        let mut lp = Listpack::new();
        let long = vec![b'x'; 300];
        lp.push_back(b"b");
        lp.push_front(b"a");
        lp.push_back(&long);
        lp.push_back(b"");
        assert_eq!(lp.len(), 4);
        let fwd: Vec<&[u8]> = lp.iter().collect();
        assert_eq!(fwd, vec![&b"a"[..], b"b", &long, b""]);
        let back: Vec<&[u8]> = lp.iter().rev().collect();
        assert_eq!(back, vec![&b""[..], &long, b"b", b"a"]);
        assert_eq!(lp.get(-2), Some(&long[..]));
        assert_eq!(lp.get(4), None);
        assert_eq!(lp.get(-5), None);
        assert_eq!(lp.pop_back(), Some(vec![]));
        assert_eq!(lp.pop_front(), Some(b"a".to_vec()));
        assert_eq!(lp.len(), 2);
    }

    #[test]
    fn is_sixteen_bytes_and_bounded() {
        assert_eq!(std::mem::size_of::<Listpack>(), 16);
        let mut lp = Listpack::new();
        assert!(lp.safe_to_add(MAX_SAFE_BYTES));
        assert!(!lp.safe_to_add(MAX_SAFE_BYTES + 1));
        lp.push_back(b"abc");
        assert!(!lp.safe_to_add(MAX_SAFE_BYTES));
        assert_eq!(lp.clone(), lp);
        lp.remove_range(0, 1);
        assert!(lp.is_empty());
        assert_eq!(lp.byte_len(), 0);
    }

    /// Entries written in place are the bytes `encode_entry` appends, for
    /// every varint width of length and backlen; inserting and replacing
    /// in place gives the listpack a rebuild from the items gives.
    #[test]
    fn in_place_edits_match_a_rebuild() {
        for len in [
            0, 1, 2, 125, 126, 127, 128, 200, 16_379, 16_380, 16_383, 16_384, 70_000,
        ] {
            let item = vec![b'v'; len];
            let mut appended = Vec::new();
            encode_entry::<true>(&mut appended, &item);
            let mut written = vec![0; encoded_len::<true>(&item)];
            write_entry::<true>(&mut written, &item);
            assert_eq!(written, appended, "item of {len} bytes");
            let mut appended = Vec::new();
            encode_entry::<false>(&mut appended, &item);
            let mut written = vec![0; encoded_len::<false>(&item)];
            write_entry::<false>(&mut written, &item);
            assert_eq!(written, appended, "item of {len} bytes, forward only");
        }
        let sizes = [0usize, 3, 127, 128, 300, 16_384];
        for &a in &sizes {
            for &b in &sizes {
                let (x, y) = (vec![b'x'; a], vec![b'y'; b]);
                let mut lp: Listpack = [&b"first"[..], &x, b"last"].into_iter().collect();
                let at = lp.seek(1).unwrap();
                lp.replace_at(at, &y);
                let expect: Listpack = [&b"first"[..], &y, b"last"].into_iter().collect();
                assert_eq!(lp, expect);
                let at = lp.seek(1).unwrap();
                lp.insert_at(at, &x);
                let expect: Listpack = [&b"first"[..], &x, &y, b"last"].into_iter().collect();
                assert_eq!(lp, expect);
                assert_eq!(lp.iter().rev().nth(2), Some(&x[..]));
            }
        }
    }

    #[test]
    fn forward_listpacks_leave_out_back_lengths() {
        let mut lp = ForwardListpack::new();
        let long = vec![b'x'; 300];
        for item in [&b"tag:12345"[..], b"", &long, b"z"] {
            lp.push_back(item);
        }
        // 1 + 9, 1, 2 + 300, 1 + 1.
        assert_eq!(lp.byte_len(), 10 + 1 + 302 + 2);
        assert_eq!(lp.nth(2), Some(&long[..]));
        assert_eq!(lp.nth(4), None);
        let at = lp.first().and_then(|p| lp.next(p)).unwrap();
        lp.replace_at(at, b"empty no more");
        lp.remove_at(lp.first().unwrap());
        let items: Vec<&[u8]> = lp.iter().collect();
        assert_eq!(items, vec![&b"empty no more"[..], &long, b"z"]);
        let rebuilt: ForwardListpack = items.iter().copied().collect();
        assert_eq!(rebuilt, lp);
    }

    #[test]
    fn insert_replace_remove() {
        let mut lp: Listpack = [&b"a"[..], b"c"].into_iter().collect();
        let c = lp.seek(1).unwrap();
        lp.insert_at(c, b"b");
        let b = lp.seek(1).unwrap();
        lp.replace_at(b, &[b'B'; 200]);
        assert_eq!(lp.get(1).unwrap().len(), 200);
        lp.remove_range(0, 2);
        assert_eq!(lp.iter().collect::<Vec<_>>(), vec![&b"c"[..]]);
    }
}
