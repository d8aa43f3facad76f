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
//! * Memory: a bucket is one pointer, an entry one allocation holding the
//!   chain link, the value, an optional small "aux" field and the key's
//!   bytes (see [`Dict`]).
//!
//! The hash of a key is computed once by the caller (the keyspace also uses it
//! to pick a shard) and passed in. Entries do not store it: a keyspace node
//! (chain link, 24-byte value, 4-byte access stamp, 1-byte key length, key)
//! is then 48 bytes for keys of up to 11 bytes, a jemalloc size class, at the
//! price of re-hashing the keys when the table is resized. Every caller
//! hashes with [`hash_key`], which resizing relies on.

use std::alloc::Layout;
use std::hash::BuildHasher;
use std::marker::PhantomData;
use std::ptr::NonNull;

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

/// A chain link: the next node of the bucket, if any.
type Link = Option<NonNull<u8>>;

/// Marks a key length of 255 bytes or more in a node's one-byte length
/// header; the length then follows as 8 little-endian bytes.
const LONG_KEY: u8 = u8::MAX;

const fn round_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Bytes of a node's key-length header for a key of `len` bytes.
#[inline]
fn key_header_len(len: usize) -> usize {
    if len < LONG_KEY as usize {
        1
    } else {
        9
    }
}

/// A key already in the form a [`Dict`] takes, built ahead of insertion
/// (so a loader can copy it out of its read buffer on another thread).
pub struct DictKey(Box<[u8]>);

impl DictKey {
    /// Copies `bytes` into a stored key.
    pub fn new(bytes: &[u8]) -> DictKey {
        DictKey(bytes.into())
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
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

/// A hash table from byte-string keys to `V` with Redis's scan and sampling
/// semantics.
///
/// Each entry is one allocation laid out as `next | value | aux | key
/// length | key bytes`: the chain link (8 bytes), the value, `A` (a small
/// `Copy` field of the caller's, such as the keyspace's access stamp; `()`
/// by default, taking no room), a 1-byte length (keys of 255 bytes or more:
/// the marker 255 and an 8-byte length) and the key itself. Keeping the key
/// in the node saves a second allocation per entry and puts the bytes a
/// lookup compares on the cache line it has just loaded; nodes are never
/// handed out as references to a whole struct, only to their value and aux
/// fields, so the key may start right after `A` without padding.
pub struct Dict<V, A: Copy = ()> {
    buckets: Vec<Link>,
    len: usize,
    owns: PhantomData<(V, A)>,
}

// SAFETY: a `Dict` owns its nodes and what they hold exclusively, like a
// `Vec<Box<(V, A, [u8])>>`.
unsafe impl<V: Send, A: Copy + Send> Send for Dict<V, A> {}
// SAFETY: shared access only reads through the nodes.
unsafe impl<V: Sync, A: Copy + Sync> Sync for Dict<V, A> {}

impl<V, A: Copy> std::fmt::Debug for Dict<V, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dict(len={})", self.len)
    }
}

impl<V, A: Copy> Default for Dict<V, A> {
    fn default() -> Self {
        Self::new()
    }
}

const MIN_BUCKETS: usize = 4;

impl<V, A: Copy> Dict<V, A> {
    /// Offset of the value in a node.
    const VALUE_AT: usize = round_up(std::mem::size_of::<Link>(), std::mem::align_of::<V>());
    /// Offset of the aux field.
    const AUX_AT: usize = round_up(
        Self::VALUE_AT + std::mem::size_of::<V>(),
        std::mem::align_of::<A>(),
    );
    /// Offset of the key-length header.
    const KEY_AT: usize = Self::AUX_AT + std::mem::size_of::<A>();
    /// Alignment of a node.
    const ALIGN: usize = max(
        std::mem::align_of::<Link>(),
        max(std::mem::align_of::<V>(), std::mem::align_of::<A>()),
    );

    /// An empty dictionary; it allocates nothing until the first insert.
    pub const fn new() -> Self {
        Dict {
            buckets: Vec::new(),
            len: 0,
            owns: PhantomData,
        }
    }

    /// Bytes requested for the node of a key of `key_len` bytes (jemalloc
    /// rounds it up to its size class).
    pub fn node_size(key_len: usize) -> usize {
        Self::KEY_AT + key_header_len(key_len) + key_len
    }

    fn layout(key_len: usize) -> Layout {
        // A slice that exists is at most isize::MAX bytes, so adding the
        // header cannot overflow in practice; failing here is an OOM.
        Layout::from_size_align(Self::node_size(key_len), Self::ALIGN)
            .unwrap_or_else(|_| std::process::abort())
    }

    /// Allocates a node holding `key`, `value` and `aux`, linked to `next`.
    fn new_node(key: &[u8], value: V, aux: A, next: Link) -> NonNull<u8> {
        let len = key.len();
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size (the link alone is 8).
        let raw = unsafe { std::alloc::alloc(layout) };
        let Some(node) = NonNull::new(raw) else {
            std::alloc::handle_alloc_error(layout)
        };
        // SAFETY: every write is within the `node_size(len)` bytes just
        // allocated, at offsets aligned for its type.
        unsafe {
            raw.cast::<Link>().write(next);
            raw.add(Self::VALUE_AT).cast::<V>().write(value);
            raw.add(Self::AUX_AT).cast::<A>().write(aux);
            let mut at = raw.add(Self::KEY_AT);
            if len < LONG_KEY as usize {
                at.write(len as u8);
                at = at.add(1);
            } else {
                at.write(LONG_KEY);
                std::ptr::copy_nonoverlapping((len as u64).to_le_bytes().as_ptr(), at.add(1), 8);
                at = at.add(9);
            }
            std::ptr::copy_nonoverlapping(key.as_ptr(), at, len);
        }
        node
    }

    /// The chain link of `node`.
    ///
    /// # Safety
    /// `node` is a live node of this dictionary.
    #[inline]
    unsafe fn next_of(node: NonNull<u8>) -> Link {
        node.as_ptr().cast::<Link>().read()
    }

    /// # Safety
    /// `node` is a live node of this dictionary.
    #[inline]
    unsafe fn set_next(node: NonNull<u8>, next: Link) {
        node.as_ptr().cast::<Link>().write(next);
    }

    /// # Safety
    /// `node` is a live node of this dictionary.
    #[inline]
    unsafe fn value_ptr(node: NonNull<u8>) -> *mut V {
        node.as_ptr().add(Self::VALUE_AT).cast::<V>()
    }

    /// # Safety
    /// `node` is a live node of this dictionary.
    #[inline]
    unsafe fn aux_ptr(node: NonNull<u8>) -> *mut A {
        node.as_ptr().add(Self::AUX_AT).cast::<A>()
    }

    /// The key of `node`.
    ///
    /// # Safety
    /// `node` is a live node of this dictionary and stays so for `'a`.
    #[inline]
    unsafe fn key_of<'a>(node: NonNull<u8>) -> &'a [u8] {
        let at = node.as_ptr().add(Self::KEY_AT);
        let short = at.read();
        if short != LONG_KEY {
            return std::slice::from_raw_parts(at.add(1), short as usize);
        }
        let mut long = [0u8; 8];
        std::ptr::copy_nonoverlapping(at.add(1), long.as_mut_ptr(), 8);
        std::slice::from_raw_parts(at.add(9), u64::from_le_bytes(long) as usize)
    }

    /// Frees `node`, giving back its value and aux.
    ///
    /// # Safety
    /// `node` is a node of this dictionary already unlinked from it.
    unsafe fn free_node(node: NonNull<u8>) -> (V, A) {
        let layout = Self::layout(Self::key_of(node).len());
        let value = Self::value_ptr(node).read();
        let aux = Self::aux_ptr(node).read();
        std::alloc::dealloc(node.as_ptr(), layout);
        (value, aux)
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
    /// `depth` 0 the bucket slot, 1 its first node (which holds the key). A
    /// loader that issues each depth for a whole batch of keys before using
    /// them overlaps the cache misses instead of taking them one by one.
    #[inline]
    pub fn prefetch(&self, hash: u64, depth: u8) {
        if self.buckets.is_empty() {
            return;
        }
        let slot = &self.buckets[self.index(hash)];
        let target: *const u8 = match (depth, slot) {
            (0, _) => (slot as *const Link).cast(),
            (1, Some(node)) => node.as_ptr(),
            _ => return,
        };
        prefetch_line(target);
    }

    /// The entries of bucket `idx` (none past the end of the table).
    pub fn bucket_entries(&self, idx: usize) -> impl Iterator<Item = (&[u8], &V)> {
        self.chain(self.buckets.get(idx).copied().flatten())
    }

    fn chain(&self, head: Link) -> ChainIter<'_, V, A> {
        ChainIter {
            cur: head,
            dict: PhantomData,
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

    /// The node holding `key` (whose hash is `hash`).
    #[inline]
    fn find(&self, hash: u64, key: &[u8]) -> Option<NonNull<u8>> {
        if self.buckets.is_empty() {
            return None;
        }
        let mut cur = self.buckets[self.index(hash)];
        while let Some(node) = cur {
            // SAFETY: nodes linked from the table are live.
            unsafe {
                if Self::key_of(node) == key {
                    return Some(node);
                }
                cur = Self::next_of(node);
            }
        }
        None
    }

    /// Looks up `key` (whose hash is `hash`).
    #[inline]
    pub fn get(&self, hash: u64, key: &[u8]) -> Option<&V> {
        // SAFETY: the node is live while `self` is borrowed.
        self.find(hash, key)
            .map(|n| unsafe { &*Self::value_ptr(n) })
    }

    /// Looks up `key` for modification.
    #[inline]
    pub fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut V> {
        // SAFETY: the node is live and exclusively ours while `self` is.
        self.find(hash, key)
            .map(|n| unsafe { &mut *Self::value_ptr(n) })
    }

    /// Looks up `key`, giving its value and aux field.
    #[inline]
    pub fn get_with_aux(&self, hash: u64, key: &[u8]) -> Option<(&V, A)> {
        // SAFETY: the node is live while `self` is borrowed.
        self.find(hash, key)
            .map(|n| unsafe { (&*Self::value_ptr(n), *Self::aux_ptr(n)) })
    }

    /// Looks up `key` for modification of its value and aux field.
    #[inline]
    pub fn get_mut_with_aux(&mut self, hash: u64, key: &[u8]) -> Option<(&mut V, &mut A)> {
        // SAFETY: the node is live and exclusively ours while `self` is;
        // value and aux do not overlap.
        self.find(hash, key)
            .map(|n| unsafe { (&mut *Self::value_ptr(n), &mut *Self::aux_ptr(n)) })
    }

    /// Looks up `key` and returns the stored key together with the value.
    pub fn get_key_value(&self, hash: u64, key: &[u8]) -> Option<(&[u8], &V)> {
        // SAFETY: the node is live while `self` is borrowed.
        self.find(hash, key)
            .map(|n| unsafe { (Self::key_of(n), &*Self::value_ptr(n)) })
    }

    /// True if `key` is present.
    pub fn contains(&self, hash: u64, key: &[u8]) -> bool {
        self.find(hash, key).is_some()
    }

    /// Inserts or replaces `value` with `aux`; returns the previous value.
    pub fn insert_with_aux(&mut self, hash: u64, key: &[u8], value: V, aux: A) -> Option<V> {
        if let Some(node) = self.find(hash, key) {
            // SAFETY: the node is live and exclusively ours.
            unsafe {
                *Self::aux_ptr(node) = aux;
                return Some(std::mem::replace(&mut *Self::value_ptr(node), value));
            }
        }
        self.link_new(hash, key, value, aux);
        None
    }

    /// Inserts or replaces `value` (the aux field reset to its default);
    /// returns the previous value.
    pub fn insert(&mut self, hash: u64, key: &[u8], value: V) -> Option<V>
    where
        A: Default,
    {
        self.insert_with_aux(hash, key, value, A::default())
    }

    /// Inserts a key known to be absent.
    pub fn insert_new(&mut self, hash: u64, key: &[u8], value: V)
    where
        A: Default,
    {
        self.link_new(hash, key, value, A::default());
    }

    /// Inserts a key known to be absent, returning its value and aux.
    fn link_new(&mut self, hash: u64, key: &[u8], value: V, aux: A) -> NonNull<u8> {
        if self.len >= self.buckets.len() {
            self.resize((self.len + 1).next_power_of_two().max(MIN_BUCKETS));
        }
        let idx = self.index(hash);
        let node = Self::new_node(key, value, aux, self.buckets[idx]);
        self.buckets[idx] = Some(node);
        self.len += 1;
        node
    }

    /// Inserts `key` unless it is present (one walk of its chain); gives the
    /// value back if it was.
    pub fn insert_unique(&mut self, hash: u64, key: &[u8], value: V) -> Result<(), V>
    where
        A: Default,
    {
        if self.contains(hash, key) {
            return Err(value);
        }
        self.link_new(hash, key, value, A::default());
        Ok(())
    }

    /// [`Dict::insert_unique`] with a key built beforehand and an aux
    /// field; gives key and value back if the key is present.
    pub fn insert_unique_key(
        &mut self,
        hash: u64,
        key: DictKey,
        value: V,
        aux: A,
    ) -> Result<(), (DictKey, V)> {
        if self.contains(hash, &key.0) {
            return Err((key, value));
        }
        self.link_new(hash, &key.0, value, aux);
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

    /// Returns the value for `key` and its aux field, inserting what
    /// `make()` gives first if absent.
    pub fn get_or_insert_with(
        &mut self,
        hash: u64,
        key: &[u8],
        make: impl FnOnce() -> (V, A),
    ) -> (&mut V, &mut A) {
        let node = match self.find(hash, key) {
            Some(node) => node,
            None => {
                let (value, aux) = make();
                self.link_new(hash, key, value, aux)
            }
        };
        // SAFETY: the node is live and exclusively ours while `self` is;
        // value and aux do not overlap.
        unsafe { (&mut *Self::value_ptr(node), &mut *Self::aux_ptr(node)) }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<V> {
        if self.buckets.is_empty() {
            return None;
        }
        let idx = self.index(hash);
        let mut prev: Option<NonNull<u8>> = None;
        let mut cur = self.buckets[idx];
        while let Some(node) = cur {
            // SAFETY: nodes linked from the table are live; the one found
            // is unlinked before it is freed.
            unsafe {
                let next = Self::next_of(node);
                if Self::key_of(node) == key {
                    match prev {
                        None => self.buckets[idx] = next,
                        Some(p) => Self::set_next(p, next),
                    }
                    self.len -= 1;
                    let (value, _) = Self::free_node(node);
                    self.maybe_shrink();
                    return Some(value);
                }
                prev = Some(node);
                cur = next;
            }
        }
        None
    }

    fn maybe_shrink(&mut self) {
        // Redis shrinks once the fill drops under 10%; shrink to fit.
        let size = self.buckets.len();
        if size > MIN_BUCKETS && self.len * 10 < size {
            self.resize(self.len.next_power_of_two().max(MIN_BUCKETS));
        }
    }

    fn resize(&mut self, new_size: usize) {
        let mut new_buckets: Vec<Link> = vec![None; new_size];
        let mask = new_size - 1;
        for mut chain in std::mem::take(&mut self.buckets) {
            while let Some(node) = chain {
                // SAFETY: each node is moved from the old chains to the new
                // ones exactly once.
                let idx = unsafe {
                    chain = Self::next_of(node);
                    let idx = (hash_key(Self::key_of(node)) as usize) & mask;
                    Self::set_next(node, new_buckets[idx]);
                    idx
                };
                new_buckets[idx] = Some(node);
            }
        }
        self.buckets = new_buckets;
    }

    /// Removes every entry and frees the table.
    pub fn clear(&mut self) {
        for mut chain in std::mem::take(&mut self.buckets) {
            while let Some(node) = chain {
                // SAFETY: the table no longer links the node; each is freed
                // once.
                unsafe {
                    chain = Self::next_of(node);
                    drop(Self::free_node(node));
                }
            }
        }
        self.len = 0;
    }

    /// Iterates over all entries in bucket order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.buckets.iter().flat_map(|&b| self.chain(b))
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
        for (k, v) in self.chain(self.buckets[idx]) {
            f(k, v);
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
            if let Some(head) = self.buckets[idx] {
                let chain_len = self.chain(Some(head)).count();
                let pick = (rand() as usize) % chain_len;
                return self.chain(Some(head)).nth(pick);
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
        // Probes go in batches whose buckets, then chain heads, are
        // prefetched together: on a large table each probe is a cache miss
        // or two, and most probes fail, so overlapping them is most of the
        // cost (SPOP holds its shard lock meanwhile). The first success in
        // probe order wins, so the choice is as fair as probing one by one.
        const BATCH: usize = 8;
        let mask = self.buckets.len() - 1;
        for _ in 0..TRIES / BATCH {
            let mut probes = [(0usize, 0usize); BATCH];
            for probe in &mut probes {
                *probe = ((rand() as usize) & mask, (rand() % CHAIN_BOUND) as usize);
                prefetch_line((&self.buckets[probe.0] as *const Link).cast());
            }
            for &(idx, _) in &probes {
                if let Some(head) = self.buckets[idx] {
                    prefetch_line(head.as_ptr());
                }
            }
            for (idx, slot) in probes {
                if let Some(found) = self.chain(self.buckets[idx]).nth(slot) {
                    return Some(found);
                }
            }
        }
        self.random_entry(rand)
    }

    /// Approximate heap bytes used by the table and its nodes, keys
    /// included (excluding what the values own).
    pub fn overhead_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Link>()
            + self
                .iter()
                .map(|(k, _)| Self::node_size(k.len()))
                .sum::<usize>()
    }
}

impl<V, A: Copy> Drop for Dict<V, A> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The entries of one chain, borrowed from their dictionary.
struct ChainIter<'a, V, A: Copy> {
    cur: Link,
    dict: PhantomData<&'a Dict<V, A>>,
}

impl<'a, V: 'a, A: Copy + 'a> Iterator for ChainIter<'a, V, A> {
    type Item = (&'a [u8], &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        let node = self.cur?;
        // SAFETY: the chain's nodes live as long as the borrow of their
        // dictionary, `'a`.
        unsafe {
            self.cur = Dict::<V, A>::next_of(node);
            Some((Dict::<V, A>::key_of(node), &*Dict::<V, A>::value_ptr(node)))
        }
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
        let mut d: Dict<u64, u32> = Dict::new();
        let keys: Vec<Vec<u8>> = [0usize, 1, 7, 15, 100, 254, 255, 256, 70_000]
            .iter()
            .map(|&len| (0..len).map(|i| (i * 7) as u8).collect())
            .collect();
        for (i, k) in keys.iter().enumerate() {
            d.insert_with_aux(hash_key(k), k, i as u64, i as u32 * 3);
        }
        for (i, k) in keys.iter().enumerate() {
            let (stored, v) = d.get_key_value(hash_key(k), k).expect("present");
            assert_eq!((stored, *v), (&k[..], i as u64));
            assert_eq!(
                d.get_with_aux(hash_key(k), k).map(|(_, a)| a),
                Some(i as u32 * 3)
            );
        }
        for k in &keys {
            assert!(d.remove(hash_key(k), k).is_some());
        }
        assert!(d.is_empty());
        assert_eq!(key_header_len(254), 1);
        assert_eq!(key_header_len(255), 9);
    }

    #[test]
    fn keyspace_node_is_a_48_byte_allocation_for_short_keys() {
        // next (8) + value (24) + access stamp (4) + length (1) + 11 bytes.
        assert_eq!(crate::db::Keys::node_size(11), 48);
        assert_eq!(Dict::<()>::node_size(23), 32);
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
