//! A chained hash table keyed by byte strings, shaped like Redis's `dict`.
//!
//! Why not `std::collections::HashMap`? Three Redis behaviours depend on the
//! table layout:
//!
//! * `SCAN` promises that every key present for the whole iteration is
//!   returned, even if the table grows or shrinks between calls. That needs a
//!   table whose bucket for a key is `hash & mask` (a power-of-two table with
//!   chaining) and Redis's reverse-binary cursor.
//! * `RANDOMKEY`, `HRANDFIELD`, active expiry and eviction sample random
//!   entries, which needs access to buckets.
//! * Memory: a bucket is one pointer, an entry one allocation.
//!
//! The hash of a key is computed once by the caller (the keyspace also uses it
//! to pick a shard) and passed in. Entries do not store it: a keyspace node
//! (chain link, key pointer, 24-byte value, access time) is then exactly 48
//! bytes, a jemalloc size class, at the price of re-hashing the keys when the
//! table is resized. Every caller
//! hashes with [`hash_key`], which resizing relies on.

use std::hash::BuildHasher;

/// The seeded hasher shared by every dictionary of the process.
fn hasher() -> &'static foldhash::fast::FixedState {
    use std::sync::OnceLock;
    static STATE: OnceLock<foldhash::fast::FixedState> = OnceLock::new();
    STATE.get_or_init(|| {
        // Seed from the process's randomised std hasher so collisions cannot
        // be precomputed by a client.
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64);
        foldhash::fast::FixedState::with_seed(seed)
    })
}

/// Hashes a key with the process-wide seeded hasher.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    hasher().hash_one(key)
}

struct Node<V> {
    next: Option<Box<Node<V>>>,
    key: Key,
    value: V,
}

/// An owned key in a single allocation holding its length and its bytes, so
/// the entry keeps one thin pointer (8 bytes) instead of a boxed slice (16).
///
/// The length is a 4-byte prefix; keys of 4 GiB or more (possible only with a
/// raised `proto-max-bulk-len`) use the marker `u32::MAX` and an 8-byte
/// length after it.
struct Key(std::ptr::NonNull<u8>);

// SAFETY: a `Key` owns its allocation exclusively, like a `Box<[u8]>`.
unsafe impl Send for Key {}
// SAFETY: shared access only reads the bytes.
unsafe impl Sync for Key {}

const LONG_KEY: u32 = u32::MAX;

impl Key {
    fn header_len(len: usize) -> usize {
        if len < LONG_KEY as usize {
            4
        } else {
            12
        }
    }

    fn layout(len: usize) -> std::alloc::Layout {
        // A slice that exists is at most isize::MAX bytes, so adding the
        // header cannot overflow in practice; failing here is an OOM.
        std::alloc::Layout::from_size_align(Self::header_len(len) + len, 1)
            .unwrap_or_else(|_| std::process::abort())
    }

    fn new(bytes: &[u8]) -> Key {
        let len = bytes.len();
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size (the header is at least 4).
        let raw = unsafe { std::alloc::alloc(layout) };
        let Some(ptr) = std::ptr::NonNull::new(raw) else {
            std::alloc::handle_alloc_error(layout)
        };
        let header = Self::header_len(len);
        // SAFETY: the allocation is `header + len` bytes; we write within it.
        unsafe {
            let p = ptr.as_ptr();
            if header == 4 {
                std::ptr::copy_nonoverlapping((len as u32).to_le_bytes().as_ptr(), p, 4);
            } else {
                std::ptr::copy_nonoverlapping(LONG_KEY.to_le_bytes().as_ptr(), p, 4);
                std::ptr::copy_nonoverlapping((len as u64).to_le_bytes().as_ptr(), p.add(4), 8);
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.add(header), len);
        }
        Key(ptr)
    }

    #[inline]
    fn len(&self) -> usize {
        let p = self.0.as_ptr();
        let mut short = [0u8; 4];
        // SAFETY: every key starts with a 4-byte header.
        unsafe { std::ptr::copy_nonoverlapping(p, short.as_mut_ptr(), 4) };
        let short = u32::from_le_bytes(short);
        if short != LONG_KEY {
            return short as usize;
        }
        let mut long = [0u8; 8];
        // SAFETY: the marker says an 8-byte length follows.
        unsafe { std::ptr::copy_nonoverlapping(p.add(4), long.as_mut_ptr(), 8) };
        u64::from_le_bytes(long) as usize
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        let len = self.len();
        // SAFETY: the bytes follow the header and live as long as `self`.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(Self::header_len(len)), len) }
    }
}

/// Starts loading the cache line at `p` (a hint; no effect elsewhere than
/// x86-64).
#[inline]
fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and reads nothing observable.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p.cast(), std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A key already in the form a [`Dict`] stores, built ahead of insertion
/// (so a loader can allocate it on another thread than the one inserting).
pub struct DictKey(Key);

impl DictKey {
    /// Copies `bytes` into a stored key.
    pub fn new(bytes: &[u8]) -> DictKey {
        DictKey(Key::new(bytes))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for Key {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        let layout = Self::layout(self.len());
        // SAFETY: allocated in `Key::new` with this same layout.
        unsafe { std::alloc::dealloc(self.0.as_ptr(), layout) };
    }
}

type Bucket<V> = Option<Box<Node<V>>>;

/// A hash table from byte-string keys to `V` with Redis's scan and sampling
/// semantics.
pub struct Dict<V> {
    buckets: Vec<Bucket<V>>,
    len: usize,
}

impl<V> std::fmt::Debug for Dict<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dict(len={})", self.len)
    }
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Self::new()
    }
}

const MIN_BUCKETS: usize = 4;

impl<V> Dict<V> {
    /// An empty dictionary; it allocates nothing until the first insert.
    pub const fn new() -> Self {
        Dict {
            buckets: Vec::new(),
            len: 0,
        }
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets (a power of two, or zero).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    #[inline]
    fn index(&self, hash: u64) -> usize {
        (hash as usize) & (self.buckets.len() - 1)
    }

    /// The bucket a key with `hash` lives in (`None` while the table has no
    /// buckets). Valid until the table is resized.
    pub fn bucket_of(&self, hash: u64) -> Option<usize> {
        (!self.buckets.is_empty()).then(|| self.index(hash))
    }

    /// Asks the CPU to start fetching what a lookup of `hash` will read, at
    /// `depth` 0 the bucket slot, 1 its first node, 2 that node's key. A
    /// loader that issues each depth for a whole batch of keys before using
    /// them overlaps the cache misses instead of taking them one by one.
    #[inline]
    pub fn prefetch(&self, hash: u64, depth: u8) {
        if self.buckets.is_empty() {
            return;
        }
        let slot = &self.buckets[self.index(hash)];
        let target: *const u8 = match (depth, slot.as_deref()) {
            (0, _) => (slot as *const Bucket<V>).cast(),
            (1, Some(node)) => (node as *const Node<V>).cast(),
            (2, Some(node)) => node.key.0.as_ptr(),
            _ => return,
        };
        prefetch_line(target);
    }

    /// The entries of bucket `idx` (none past the end of the table).
    pub fn bucket_entries(&self, idx: usize) -> impl Iterator<Item = (&[u8], &V)> {
        ChainIter {
            cur: self.buckets.get(idx).and_then(|b| b.as_deref()),
        }
    }

    /// True if inserting a new key now would resize the table (which moves
    /// keys between buckets).
    pub fn grows_on_insert(&self) -> bool {
        self.len >= self.buckets.len()
    }

    /// True if removing a key now would resize the table.
    pub fn shrinks_on_remove(&self) -> bool {
        let size = self.buckets.len();
        size > MIN_BUCKETS && self.len.saturating_sub(1) * 10 < size
    }

    /// Looks up `key` (whose hash is `hash`).
    pub fn get(&self, hash: u64, key: &[u8]) -> Option<&V> {
        if self.buckets.is_empty() {
            return None;
        }
        let mut cur = self.buckets[self.index(hash)].as_deref();
        while let Some(node) = cur {
            if *node.key == *key {
                return Some(&node.value);
            }
            cur = node.next.as_deref();
        }
        None
    }

    /// Looks up `key` for modification.
    pub fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut V> {
        if self.buckets.is_empty() {
            return None;
        }
        let idx = self.index(hash);
        let mut cur = self.buckets[idx].as_deref_mut();
        while let Some(node) = cur {
            if *node.key == *key {
                return Some(&mut node.value);
            }
            cur = node.next.as_deref_mut();
        }
        None
    }

    /// Looks up `key` and returns the stored key together with the value.
    pub fn get_key_value(&self, hash: u64, key: &[u8]) -> Option<(&[u8], &V)> {
        if self.buckets.is_empty() {
            return None;
        }
        let mut cur = self.buckets[self.index(hash)].as_deref();
        while let Some(node) = cur {
            if *node.key == *key {
                return Some((&node.key, &node.value));
            }
            cur = node.next.as_deref();
        }
        None
    }

    /// True if `key` is present.
    pub fn contains(&self, hash: u64, key: &[u8]) -> bool {
        self.get(hash, key).is_some()
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, hash: u64, key: &[u8], value: V) -> Option<V> {
        if let Some(slot) = self.get_mut(hash, key) {
            return Some(std::mem::replace(slot, value));
        }
        self.insert_key(hash, Key::new(key), value);
        None
    }

    /// Inserts a key known to be absent, taking ownership of its bytes.
    pub fn insert_new(&mut self, hash: u64, key: Box<[u8]>, value: V) {
        self.insert_key(hash, Key::new(&key), value);
    }

    fn insert_key(&mut self, hash: u64, key: Key, value: V) {
        if self.len >= self.buckets.len() {
            self.resize((self.len + 1).next_power_of_two().max(MIN_BUCKETS));
        }
        let idx = self.index(hash);
        let next = self.buckets[idx].take();
        self.buckets[idx] = Some(Box::new(Node { next, key, value }));
        self.len += 1;
    }

    /// Inserts `key` unless it is present (one walk of its chain); gives the
    /// value back if it was.
    pub fn insert_unique(&mut self, hash: u64, key: &[u8], value: V) -> Result<(), V> {
        if self.contains(hash, key) {
            return Err(value);
        }
        self.insert_key(hash, Key::new(key), value);
        Ok(())
    }

    /// [`Dict::insert_unique`] with a key built beforehand; gives both back
    /// if the key is present.
    pub fn insert_unique_key(
        &mut self,
        hash: u64,
        key: DictKey,
        value: V,
    ) -> Result<(), (DictKey, V)> {
        if self.contains(hash, &key.0) {
            return Err((key, value));
        }
        self.insert_key(hash, key.0, value);
        Ok(())
    }

    /// Makes room for `additional` more entries without resizing.
    pub fn reserve(&mut self, additional: usize) {
        let wanted = self
            .len
            .saturating_add(additional)
            .next_power_of_two()
            .max(MIN_BUCKETS);
        if wanted > self.buckets.len() {
            self.resize(wanted);
        }
    }

    /// Returns the value for `key`, inserting `make()` first if absent.
    pub fn get_or_insert_with(
        &mut self,
        hash: u64,
        key: &[u8],
        make: impl FnOnce() -> V,
    ) -> &mut V {
        if !self.contains(hash, key) {
            self.insert_key(hash, Key::new(key), make());
        }
        self.get_mut(hash, key).expect("entry was just ensured")
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<V> {
        self.remove_entry(hash, key).map(|(_, v)| v)
    }

    /// Removes `key`, returning the stored key and value.
    pub fn remove_entry(&mut self, hash: u64, key: &[u8]) -> Option<(Box<[u8]>, V)> {
        if self.buckets.is_empty() {
            return None;
        }
        let idx = self.index(hash);
        let mut link = &mut self.buckets[idx];
        loop {
            match link {
                None => return None,
                Some(node) if *node.key == *key => {
                    let mut node = link.take().expect("matched Some");
                    *link = node.next.take();
                    self.len -= 1;
                    self.maybe_shrink();
                    return Some((Box::from(&*node.key), node.value));
                }
                Some(node) => link = &mut node.next,
            }
        }
    }

    fn maybe_shrink(&mut self) {
        // Redis shrinks once the fill drops under 10%; shrink to fit.
        let size = self.buckets.len();
        if size > MIN_BUCKETS && self.len * 10 < size {
            self.resize(self.len.next_power_of_two().max(MIN_BUCKETS));
        }
    }

    fn resize(&mut self, new_size: usize) {
        let mut new_buckets: Vec<Bucket<V>> = Vec::with_capacity(new_size);
        new_buckets.resize_with(new_size, || None);
        let mask = new_size - 1;
        for mut chain in std::mem::take(&mut self.buckets) {
            while let Some(mut node) = chain {
                chain = node.next.take();
                let idx = (hash_key(&node.key) as usize) & mask;
                node.next = new_buckets[idx].take();
                new_buckets[idx] = Some(node);
            }
        }
        self.buckets = new_buckets;
    }

    /// Removes every entry and frees the table.
    pub fn clear(&mut self) {
        // Unlink chains iteratively so a long chain cannot overflow the stack
        // through recursive drops.
        for mut chain in std::mem::take(&mut self.buckets) {
            while let Some(mut node) = chain {
                chain = node.next.take();
            }
        }
        self.len = 0;
    }

    /// Iterates over all entries in bucket order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.buckets
            .iter()
            .flat_map(|b| ChainIter { cur: b.as_deref() })
    }

    /// Calls `f` on every entry of the buckets visited by one SCAN step and
    /// returns the next cursor (0 when the iteration is complete).
    ///
    /// This is Redis's reverse-binary cursor: between calls the table may grow
    /// or shrink and no key present throughout is skipped.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], &V)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let idx = (cursor & mask) as usize;
        let mut cur = self.buckets[idx].as_deref();
        while let Some(node) = cur {
            f(&node.key, &node.value);
            cur = node.next.as_deref();
        }
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// Returns a pseudo-random entry, `rand` supplying random numbers.
    ///
    /// Like Redis, it picks a random non-empty bucket and then a random entry
    /// of its chain; chains are short, so the bias is small.
    pub fn random_entry(&self, mut rand: impl FnMut() -> u64) -> Option<(&[u8], &V)> {
        if self.len == 0 {
            return None;
        }
        let mask = self.buckets.len() - 1;
        loop {
            let idx = (rand() as usize) & mask;
            if let Some(head) = self.buckets[idx].as_deref() {
                let chain_len = ChainIter { cur: Some(head) }.count();
                let pick = (rand() as usize) % chain_len;
                return ChainIter { cur: Some(head) }.nth(pick);
            }
        }
    }

    /// Returns a random entry with every entry equally likely (Redis's
    /// `dictGetFairRandomKey` serves the same purpose), `rand` supplying
    /// random numbers.
    ///
    /// Picking a random bucket and then a random entry of its chain favours
    /// entries on short chains. Instead pick a random bucket and a random
    /// slot below a fixed chain bound, retrying when the slot is empty: every
    /// entry in the first `CHAIN_BOUND` places of its chain is equally likely
    /// (longer chains are vanishingly rare at the table's load factor).
    pub fn fair_random_entry(&self, mut rand: impl FnMut() -> u64) -> Option<(&[u8], &V)> {
        const CHAIN_BOUND: u64 = 8;
        const TRIES: usize = 1000;
        if self.len == 0 {
            return None;
        }
        let mask = self.buckets.len() - 1;
        for _ in 0..TRIES {
            let idx = (rand() as usize) & mask;
            let slot = (rand() % CHAIN_BOUND) as usize;
            if let Some(found) = (ChainIter {
                cur: self.buckets[idx].as_deref(),
            })
            .nth(slot)
            {
                return Some(found);
            }
        }
        self.random_entry(rand)
    }

    /// Approximate heap bytes used by the table itself and its entries
    /// (excluding what the values own).
    pub fn overhead_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Bucket<V>>()
            + self.len * std::mem::size_of::<Node<V>>()
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) {
        self.clear();
    }
}

struct ChainIter<'a, V> {
    cur: Option<&'a Node<V>>,
}

impl<'a, V> Iterator for ChainIter<'a, V> {
    type Item = (&'a [u8], &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        let node = self.cur?;
        self.cur = node.next.as_deref();
        Some((&node.key, &node.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn put(d: &mut Dict<u32>, k: &str, v: u32) {
        d.insert(hash_key(k.as_bytes()), k.as_bytes(), v);
    }

    #[test]
    fn keys_keep_their_bytes() {
        for len in [0usize, 1, 7, 15, 100, 70_000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let key = Key::new(&bytes);
            assert_eq!(key.len(), len);
            assert_eq!(&*key, &bytes[..]);
        }
        assert_eq!(Key::header_len(5), 4);
        assert_eq!(Key::header_len(u32::MAX as usize), 12);
    }

    #[test]
    fn keyspace_node_is_a_48_byte_allocation() {
        assert_eq!(std::mem::size_of::<Node<crate::db::Entry>>(), 48);
    }

    #[test]
    fn insert_get_remove() {
        let mut d = Dict::new();
        for i in 0..1000 {
            put(&mut d, &format!("k{i}"), i);
        }
        assert_eq!(d.len(), 1000);
        assert_eq!(d.get(hash_key(b"k7"), b"k7"), Some(&7));
        assert_eq!(d.insert(hash_key(b"k7"), b"k7", 70), Some(7));
        assert_eq!(d.remove(hash_key(b"k7"), b"k7"), Some(70));
        assert_eq!(d.get(hash_key(b"k7"), b"k7"), None);
        for i in 0..1000 {
            let k = format!("k{i}");
            d.remove(hash_key(k.as_bytes()), k.as_bytes());
        }
        assert!(d.is_empty());
        assert!(d.bucket_count() <= MIN_BUCKETS);
    }

    #[test]
    fn scan_survives_growth_between_calls() {
        let mut d = Dict::new();
        for i in 0..100 {
            put(&mut d, &format!("old{i}"), i);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = d.scan_step(cursor, |k, _| {
                seen.insert(k.to_vec());
            });
            step += 1;
            if step == 3 {
                // Grow the table mid-iteration.
                for i in 0..5000 {
                    put(&mut d, &format!("new{i}"), i);
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..100 {
            assert!(seen.contains(format!("old{i}").as_bytes()), "missed old{i}");
        }
    }

    #[test]
    fn scan_survives_shrink_between_calls() {
        let mut d = Dict::new();
        for i in 0..5000 {
            put(&mut d, &format!("k{i}"), i);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = d.scan_step(cursor, |k, _| {
                seen.insert(k.to_vec());
            });
            step += 1;
            if step == 10 {
                for i in 100..5000 {
                    let k = format!("k{i}");
                    d.remove(hash_key(k.as_bytes()), k.as_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..100 {
            assert!(seen.contains(format!("k{i}").as_bytes()), "missed k{i}");
        }
    }

    #[test]
    fn random_entry_finds_every_key_eventually() {
        let mut d = Dict::new();
        for i in 0..8 {
            put(&mut d, &format!("k{i}"), i);
        }
        let mut state = 0x1234_5678_u64;
        let mut rand = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let (_, v) = d.random_entry(&mut rand).expect("non-empty");
            seen.insert(*v);
        }
        assert_eq!(seen.len(), 8);
    }
}
