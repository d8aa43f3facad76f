//! The sorted set type: members ordered by (score, member), with a score
//! per member.
//!
//! Small sorted sets are a [`Listpack`] of alternating member and score
//! entries in order (Redis's `listpack` encoding). Past
//! `zset-max-listpack-entries` members, or a member longer than
//! `zset-max-listpack-value` bytes, they become a [`Tree`]: an
//! order-statistic B+tree (every child link carries the size of its
//! subtree, so ranks and rank ranges cost O(log n)) plus a hash index from
//! member to score. Each member's bytes are stored once, in the tree's
//! leaves; the index points at them. `OBJECT ENCODING` calls the large form
//! `skiplist`, as Redis does.
//!
//! A score inside the listpack is the f64's big-endian bit pattern with
//! its trailing zero bytes dropped: small integers take two or three bytes,
//! and decoding is a copy, not a parse.

use super::listpack::Listpack;
use std::cmp::Ordering;

/// Conversion thresholds (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct ZSetLimits {
    /// `zset-max-listpack-entries`
    pub max_entries: usize,
    /// `zset-max-listpack-value`
    pub max_value: usize,
}

/// Compares two (score, member) keys in sorted-set order.
#[inline]
pub fn key_cmp(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    match a.0.partial_cmp(&b.0) {
        Some(Ordering::Equal) | None => a.1.cmp(b.1),
        Some(o) => o,
    }
}

/// Powers of ten that are exact doubles, for the decimal score form.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Tag of a score stored as its raw 8 bytes.
const RAW_SCORE: u8 = 0xFF;

/// Encodes a score for the listpack, as short as it goes: most scores
/// clients send are short decimals (`3`, `1234.5`), kept as a tag byte
/// (the power of ten and the sign) and the integer mantissa's bytes; a
/// division by an exact power of ten gives the same double back (IEEE
/// division rounds correctly, as parsing the decimal does), which is
/// checked before this form is used. Anything else is the tag 0xFF and
/// the 8 raw bytes.
fn encode_score(score: f64) -> ([u8; 9], usize) {
    let mut out = [0u8; 9];
    // Redis's listpack keeps no negative zero (a -0 score reads back 0),
    // unlike its skiplist.
    let score = if score == 0.0 { 0.0 } else { score };
    if score.is_finite() {
        let (neg, abs) = (score < 0.0, score.abs());
        for (e, p) in POW10.iter().enumerate() {
            let m = abs * p;
            if m >= 9_007_199_254_740_992.0 {
                break;
            }
            if m.fract() == 0.0 && m / p == abs {
                let m = m as u64;
                out[0] = e as u8 | (u8::from(neg) << 4);
                let bytes = m.to_le_bytes();
                let n = 8 - (m.leading_zeros() as usize / 8);
                out[1..=n].copy_from_slice(&bytes[..n]);
                return (out, 1 + n);
            }
        }
    }
    out[0] = RAW_SCORE;
    out[1..].copy_from_slice(&score.to_le_bytes());
    (out, 9)
}

/// Decodes a score written by [`encode_score`].
fn decode_score(data: &[u8]) -> f64 {
    match data.split_first() {
        Some((&RAW_SCORE, raw)) => {
            let mut b = [0u8; 8];
            let n = raw.len().min(8);
            b[..n].copy_from_slice(&raw[..n]);
            f64::from_le_bytes(b)
        }
        Some((&tag, mant)) => {
            let mut b = [0u8; 8];
            let n = mant.len().min(8);
            b[..n].copy_from_slice(&mant[..n]);
            let v = u64::from_le_bytes(b) as f64 / POW10[usize::from(tag & 0x0f)];
            if tag & 0x10 != 0 {
                -v
            } else {
                v
            }
        }
        None => 0.0,
    }
}

// ----- the tree -----

/// Most entries in a leaf.
const LEAF_MAX: usize = 128;
/// Most children of an inner node.
const INNER_MAX: usize = 32;

/// Bytes before a member's bytes in its allocation: the score (8), the
/// member index's chain link (8) and the length (1 byte; `LONG_MEMBER`
/// says an 8-byte length follows), so a member of up to 15 bytes fits
/// jemalloc's 32-byte class.
const MEMBER_HEAD: usize = 17;
/// The length byte of a member of `LONG_MEMBER` bytes or more.
const LONG_MEMBER: u8 = u8::MAX;
/// Offset of the chain link in a member allocation.
const LINK_AT: usize = 8;
/// Offset of the length in a member allocation.
const LEN_AT: usize = 16;

/// A member of a large set: one allocation holding its score, the link of
/// its member-index chain, its length and its bytes, owned by a tree leaf
/// (8 bytes there). The member index chains the same allocations, so a
/// member is stored once and the index finds its score without a copy.
struct Member(std::ptr::NonNull<u8>);

// SAFETY: a `Member` owns its allocation exclusively, like a `Box`.
unsafe impl Send for Member {}
// SAFETY: shared access only reads.
unsafe impl Sync for Member {}

/// Reads a member allocation's score.
///
/// SAFETY (callers): `p` points at a live member allocation.
unsafe fn member_score(p: std::ptr::NonNull<u8>) -> f64 {
    std::ptr::read_unaligned(p.as_ptr() as *const f64)
}

/// Overwrites a member allocation's score (the tree's order must still
/// hold afterwards, or the member must be out of the tree meanwhile).
///
/// SAFETY (callers): `p` points at a live member allocation and no
/// reference to its score is held.
unsafe fn set_member_score(p: std::ptr::NonNull<u8>, score: f64) {
    std::ptr::write_unaligned(p.as_ptr() as *mut f64, score)
}

/// Reads a member allocation's chain link (the next member in its index
/// bucket).
///
/// SAFETY (callers): `p` points at a live member allocation.
unsafe fn member_link(p: std::ptr::NonNull<u8>) -> Option<std::ptr::NonNull<u8>> {
    std::ptr::NonNull::new(std::ptr::read_unaligned(
        p.as_ptr().add(LINK_AT) as *const *mut u8
    ))
}

/// Sets a member allocation's chain link.
///
/// SAFETY (callers): `p` points at a live member allocation.
unsafe fn set_member_link(p: std::ptr::NonNull<u8>, next: Option<std::ptr::NonNull<u8>>) {
    let raw = next.map_or(std::ptr::null_mut(), |n| n.as_ptr());
    std::ptr::write_unaligned(p.as_ptr().add(LINK_AT) as *mut *mut u8, raw)
}

/// Reads a member allocation's length and where its bytes start.
///
/// SAFETY (callers): `p` points at a live member allocation.
unsafe fn member_span(p: std::ptr::NonNull<u8>) -> (usize, usize) {
    let short = *p.as_ptr().add(LEN_AT);
    if short == LONG_MEMBER {
        let long = std::ptr::read_unaligned(p.as_ptr().add(MEMBER_HEAD) as *const u64);
        (long as usize, MEMBER_HEAD + 8)
    } else {
        (short as usize, MEMBER_HEAD)
    }
}

/// A member allocation's bytes.
///
/// SAFETY (callers): `p` points at a live member allocation that outlives
/// the returned slice.
unsafe fn member_bytes<'a>(p: std::ptr::NonNull<u8>) -> &'a [u8] {
    let (len, head) = member_span(p);
    std::slice::from_raw_parts(p.as_ptr().add(head), len)
}

fn member_layout(len: usize, head: usize) -> std::alloc::Layout {
    match std::alloc::Layout::from_size_align(head.saturating_add(len), 8) {
        Ok(l) => l,
        // Only a length near usize::MAX fails, which no request can carry.
        Err(_) => panic!("sorted set member of {len} bytes"),
    }
}

impl Member {
    fn new(score: f64, bytes: &[u8]) -> Member {
        let long = bytes.len() >= usize::from(LONG_MEMBER);
        let head = if long { MEMBER_HEAD + 8 } else { MEMBER_HEAD };
        let layout = member_layout(bytes.len(), head);
        // SAFETY: the layout has a non-zero size (the header); every byte
        // of it is written below before the member is used.
        unsafe {
            let raw = std::alloc::alloc(layout);
            let Some(p) = std::ptr::NonNull::new(raw) else {
                std::alloc::handle_alloc_error(layout)
            };
            std::ptr::write_unaligned(raw as *mut f64, score);
            std::ptr::write_unaligned(raw.add(LINK_AT) as *mut *mut u8, std::ptr::null_mut());
            if long {
                *raw.add(LEN_AT) = LONG_MEMBER;
                std::ptr::write_unaligned(raw.add(MEMBER_HEAD) as *mut u64, bytes.len() as u64);
            } else {
                *raw.add(LEN_AT) = bytes.len() as u8;
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), raw.add(head), bytes.len());
            Member(p)
        }
    }

    fn score(&self) -> f64 {
        // SAFETY: the allocation lives as long as `self`.
        unsafe { member_score(self.0) }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: as above; the slice borrows `self`.
        unsafe { member_bytes(self.0) }
    }

    fn key(&self) -> (f64, &[u8]) {
        (self.score(), self.bytes())
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // SAFETY: the allocation was made by `Member::new` with this layout.
        unsafe {
            let (len, head) = member_span(self.0);
            std::alloc::dealloc(self.0.as_ptr(), member_layout(len, head));
        }
    }
}

#[derive(Debug)]
enum Node {
    Leaf(Vec<Member>),
    Inner(Vec<Child>),
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?}:{}",
            String::from_utf8_lossy(self.bytes()),
            self.score()
        )
    }
}

/// A link to a subtree with its size and its last (largest) member: a
/// pointer to that member's allocation, which never moves, so searches
/// compare with a subtree's end without descending into it. Every change
/// below a link refreshes it before anything reads it again.
#[derive(Debug)]
struct Child {
    count: usize,
    last: std::ptr::NonNull<u8>,
    node: Box<Node>,
}

// SAFETY: `last` points at a member owned by `node`'s subtree.
unsafe impl Send for Child {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for Child {}

impl Child {
    /// A link to a non-empty node.
    fn new(node: Node) -> Child {
        Child {
            count: node.count(),
            last: node.last_member(),
            node: Box::new(node),
        }
    }

    fn refresh(&mut self) {
        self.count = self.node.count();
        if self.count > 0 {
            self.last = self.node.last_member();
        }
    }

    /// The subtree's last key.
    fn last(&self) -> (f64, &[u8]) {
        // SAFETY: the member is in this subtree, which `self` borrows; the
        // link was refreshed after the subtree last changed.
        unsafe { (member_score(self.last), member_bytes(self.last)) }
    }
}

impl Node {
    fn count(&self) -> usize {
        match self {
            Node::Leaf(items) => items.len(),
            Node::Inner(children) => children.iter().map(|c| c.count).sum(),
        }
    }

    fn width(&self) -> usize {
        match self {
            Node::Leaf(items) => items.len(),
            Node::Inner(children) => children.len(),
        }
    }

    /// The allocation of the last member; the node must not be empty.
    fn last_member(&self) -> std::ptr::NonNull<u8> {
        match self {
            Node::Leaf(items) => items[items.len() - 1].0,
            Node::Inner(children) => children[children.len() - 1].last,
        }
    }

    /// Index of the child that holds (or would hold) `key`.
    fn child_for(children: &[Child], key: (f64, &[u8])) -> usize {
        children
            .iter()
            .position(|c| key_cmp(key, c.last()) != Ordering::Greater)
            .unwrap_or(children.len() - 1)
    }

    /// Inserts; returns a new right sibling when the node split.
    fn insert(&mut self, member: Member) -> Option<Node> {
        match self {
            Node::Leaf(items) => {
                let key = member.key();
                let pos = items.partition_point(|m| key_cmp(m.key(), key) == Ordering::Less);
                let at_end = pos == items.len();
                if items.len() == items.capacity() {
                    // Grow by a quarter, not double: leaves are most of
                    // a large set's memory.
                    items.reserve_exact((items.len() / 4).max(4));
                }
                items.insert(pos, member);
                if items.len() <= LEAF_MAX {
                    return None;
                }
                // Appending in order (the usual way sets grow) leaves full
                // leaves behind; otherwise split evenly.
                let cut = if at_end {
                    items.len() - 1
                } else {
                    items.len() / 2
                };
                let mut right = Vec::with_capacity(items.len() - cut);
                right.extend(items.drain(cut..));
                items.shrink_to_fit();
                Some(Node::Leaf(right))
            }
            Node::Inner(children) => {
                let i = Node::child_for(children, member.key());
                let split = children[i].node.insert(member);
                children[i].refresh();
                if let Some(right) = split {
                    children.insert(i + 1, Child::new(right));
                }
                if children.len() <= INNER_MAX {
                    return None;
                }
                let cut = children.len() / 2;
                let right: Vec<Child> = children.drain(cut..).collect();
                Some(Node::Inner(right))
            }
        }
    }

    /// Removes `key`; returns the member if it was there.
    fn remove(&mut self, key: (f64, &[u8])) -> Option<Member> {
        match self {
            Node::Leaf(items) => {
                let pos = items.binary_search_by(|m| key_cmp(m.key(), key)).ok()?;
                let out = items.remove(pos);
                if items.capacity() > items.len() + items.len() / 2 + 8 {
                    items.shrink_to_fit();
                }
                Some(out)
            }
            Node::Inner(children) => {
                let i = Node::child_for(children, key);
                let out = children[i].node.remove(key)?;
                children[i].refresh();
                Node::rebalance(children, i);
                Some(out)
            }
        }
    }

    /// Gives the member with key `old` the score `score` if it then stays
    /// in the same leaf, moving it there to keep the order; returns false,
    /// changing nothing, when it would cross into another leaf (the caller
    /// then takes it out and puts it back). Sizes do not change, only which
    /// member ends a subtree.
    fn reposition(&mut self, old: (f64, &[u8]), score: f64) -> bool {
        match self {
            Node::Leaf(items) => {
                let Ok(pos) = items.binary_search_by(|m| key_cmp(m.key(), old)) else {
                    return false;
                };
                let new = (score, old.1);
                let up = key_cmp(new, old) == Ordering::Greater;
                // Where it goes among the others: the members it passes
                // are moved one place towards where it was.
                let (lo, hi) = if up {
                    let passed = items[pos + 1..]
                        .partition_point(|m| key_cmp(m.key(), new) == Ordering::Less);
                    (pos, pos + passed)
                } else {
                    let stays =
                        items[..pos].partition_point(|m| key_cmp(m.key(), new) == Ordering::Less);
                    (stays, pos)
                };
                // Ending up last (going up) or first (going down) in the
                // leaf, it may belong to the neighbouring leaf.
                if (up && hi + 1 == items.len()) || (!up && lo == 0) {
                    return false;
                }
                // SAFETY: the member is live (owned by this leaf) and no
                // reference to its score is held.
                unsafe { set_member_score(items[pos].0, score) };
                if up {
                    items[lo..=hi].rotate_left(1);
                } else {
                    items[lo..=hi].rotate_right(1);
                }
                true
            }
            Node::Inner(children) => {
                let i = Node::child_for(children, old);
                if !children[i].node.reposition(old, score) {
                    return false;
                }
                children[i].last = children[i].node.last_member();
                true
            }
        }
    }

    /// Takes out the first member (or the last, with `last`); the node must
    /// not be empty.
    fn pop_end(&mut self, last: bool) -> Option<Member> {
        match self {
            Node::Leaf(items) => {
                let out = if last {
                    items.pop()
                } else if items.is_empty() {
                    None
                } else {
                    Some(items.remove(0))
                };
                if items.capacity() > items.len() + items.len() / 2 + 8 {
                    items.shrink_to_fit();
                }
                out
            }
            Node::Inner(children) => {
                let i = if last { children.len() - 1 } else { 0 };
                let out = children[i].node.pop_end(last)?;
                children[i].count -= 1;
                if children[i].count > 0 && last {
                    children[i].last = children[i].node.last_member();
                }
                Node::rebalance(children, i);
                Some(out)
            }
        }
    }

    /// After a removal below `children[i]`: drops it if empty, or merges it
    /// with a neighbour when both fit in one node, so that deletions do not
    /// leave the tree full of near-empty nodes.
    fn rebalance(children: &mut Vec<Child>, i: usize) {
        if children[i].count == 0 {
            children.remove(i);
            return;
        }
        let w = children[i].node.width();
        let max = match *children[i].node {
            Node::Leaf(_) => LEAF_MAX,
            Node::Inner(_) => INNER_MAX,
        };
        if w >= max / 4 {
            return;
        }
        let j = if i + 1 < children.len() {
            i + 1
        } else if i > 0 {
            i - 1
        } else {
            return;
        };
        let (a, b) = (i.min(j), i.max(j));
        if children[a].node.width() + children[b].node.width() > max {
            return;
        }
        let right = children.remove(b);
        match (&mut *children[a].node, *right.node) {
            (Node::Leaf(l), Node::Leaf(r)) => l.extend(r),
            (Node::Inner(l), Node::Inner(r)) => l.extend(r),
            // Siblings are always at the same depth.
            _ => unreachable!("siblings of different kinds"),
        }
        children[a].refresh();
    }

    /// Number of entries for which `before` holds; `before` must hold for
    /// a prefix of the order.
    fn count_before(&self, before: &impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut node = self;
        let mut n = 0;
        loop {
            match node {
                Node::Leaf(items) => {
                    return n + items.partition_point(|m| before(m.score(), m.bytes()));
                }
                Node::Inner(children) => {
                    let mut next = None;
                    for c in children {
                        let (s, m) = c.last();
                        if before(s, m) {
                            n += c.count;
                        } else {
                            next = Some(&c.node);
                            break;
                        }
                    }
                    match next {
                        Some(child) => node = child,
                        None => return n,
                    }
                }
            }
        }
    }

    /// The entry at `rank` (must be in range).
    fn at(&self, mut rank: usize) -> (f64, &[u8]) {
        let mut node = self;
        loop {
            match node {
                Node::Leaf(items) => return items[rank].key(),
                Node::Inner(children) => {
                    let mut next = &children[children.len() - 1].node;
                    for c in children {
                        if rank < c.count {
                            next = &c.node;
                            break;
                        }
                        rank -= c.count;
                    }
                    node = next;
                }
            }
        }
    }

    /// Visits entries from rank `from` upwards while `f` returns true;
    /// returns false once `f` asked to stop.
    fn walk(&self, mut from: usize, f: &mut impl FnMut(f64, &[u8]) -> bool) -> bool {
        match self {
            Node::Leaf(items) => {
                for m in items.iter().skip(from) {
                    if !f(m.score(), m.bytes()) {
                        return false;
                    }
                }
                true
            }
            Node::Inner(children) => {
                for c in children {
                    if from >= c.count {
                        from -= c.count;
                        continue;
                    }
                    if !c.node.walk(from, f) {
                        return false;
                    }
                    from = 0;
                }
                true
            }
        }
    }

    /// Visits entries from rank `from` (in range) downwards while `f`
    /// returns true.
    fn walk_rev(&self, from: usize, f: &mut impl FnMut(f64, &[u8]) -> bool) -> bool {
        match self {
            Node::Leaf(items) => {
                for m in items[..=from.min(items.len() - 1)].iter().rev() {
                    if !f(m.score(), m.bytes()) {
                        return false;
                    }
                }
                true
            }
            Node::Inner(children) => {
                let mut base = 0;
                let mut first = children.len() - 1;
                for (i, c) in children.iter().enumerate() {
                    if from < base + c.count {
                        first = i;
                        break;
                    }
                    base += c.count;
                }
                let mut start = from.saturating_sub(base);
                for c in children[..=first].iter().rev() {
                    if !c.node.walk_rev(start.min(c.count - 1), f) {
                        return false;
                    }
                    start = usize::MAX;
                }
                true
            }
        }
    }

    fn deep_clone(&self) -> Node {
        match self {
            Node::Leaf(items) => {
                let mut copy = Vec::with_capacity(items.len());
                copy.extend(items.iter().map(|m| Member::new(m.score(), m.bytes())));
                Node::Leaf(copy)
            }
            // Each link points into the copy, not the original.
            Node::Inner(children) => Node::Inner(
                children
                    .iter()
                    .map(|c| Child::new(c.node.deep_clone()))
                    .collect(),
            ),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Node::Leaf(items) => {
                items.capacity() * std::mem::size_of::<Member>()
                    + items
                        .iter()
                        .map(|m| MEMBER_HEAD + m.bytes().len())
                        .sum::<usize>()
            }
            Node::Inner(children) => {
                children.capacity() * std::mem::size_of::<Child>()
                    + children
                        .iter()
                        .map(|c| std::mem::size_of::<Node>() + c.node.heap_bytes())
                        .sum::<usize>()
            }
        }
    }

    /// Visits every member allocation (to index a cloned tree).
    fn for_each_member(&self, f: &mut impl FnMut(&Member)) {
        match self {
            Node::Leaf(items) => items.iter().for_each(f),
            Node::Inner(children) => children.iter().for_each(|c| c.node.for_each_member(f)),
        }
    }
}

/// The member index: a chained hash table of the tree's member
/// allocations, keyed by their bytes, with the chain links inside the
/// allocations themselves (so an entry costs its bucket share and 8 bytes
/// in the member). Shaped like Redis's dict for the same reasons as
/// `crate::dict`: a member's bucket is `hash & mask` in a power-of-two
/// table, so ZSCAN's reverse-binary cursor returns every member present
/// for a whole iteration even if the table grows or shrinks in between.
/// The index owns nothing: the tree owns the members, and every member is
/// in both or in neither.
struct Index {
    buckets: Vec<Option<std::ptr::NonNull<u8>>>,
    len: usize,
}

// SAFETY: the pointers are members owned by the same `Tree`, which is only
// ever accessed through `&`/`&mut` of that tree.
unsafe impl Send for Index {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for Index {}

/// Fewest buckets of a non-empty index.
const INDEX_MIN_BUCKETS: usize = 4;

impl Index {
    const fn new() -> Index {
        Index {
            buckets: Vec::new(),
            len: 0,
        }
    }

    fn bucket(&self, hash: u64) -> usize {
        (hash as usize) & (self.buckets.len() - 1)
    }

    /// The member allocation holding `member`.
    fn get(&self, member: &[u8]) -> Option<std::ptr::NonNull<u8>> {
        if self.len == 0 {
            return None;
        }
        let mut cur = self.buckets[self.bucket(crate::dict::hash_key(member))];
        while let Some(p) = cur {
            // SAFETY: every chained pointer is a live member of the tree.
            unsafe {
                if member_bytes(p) == member {
                    return Some(p);
                }
                cur = member_link(p);
            }
        }
        None
    }

    /// Chains a member whose bytes are not in the index yet.
    fn insert_new(&mut self, p: std::ptr::NonNull<u8>) {
        if self.len >= self.buckets.len() {
            self.resize((self.len + 1).next_power_of_two().max(INDEX_MIN_BUCKETS));
        }
        // SAFETY: `p` is a live member being added to the tree.
        let b = self.bucket(crate::dict::hash_key(unsafe { member_bytes(p) }));
        // SAFETY: as above.
        unsafe { set_member_link(p, self.buckets[b]) };
        self.buckets[b] = Some(p);
        self.len += 1;
    }

    /// Unchains the member holding `member`; returns its allocation.
    fn take(&mut self, member: &[u8]) -> Option<std::ptr::NonNull<u8>> {
        if self.len == 0 {
            return None;
        }
        let b = self.bucket(crate::dict::hash_key(member));
        let mut prev: Option<std::ptr::NonNull<u8>> = None;
        let mut cur = self.buckets[b];
        while let Some(p) = cur {
            // SAFETY: every chained pointer is a live member of the tree.
            unsafe {
                let next = member_link(p);
                if member_bytes(p) == member {
                    match prev {
                        Some(q) => set_member_link(q, next),
                        None => self.buckets[b] = next,
                    }
                    set_member_link(p, None);
                    self.len -= 1;
                    // Shrink below a tenth full, as Redis does.
                    if self.buckets.len() > INDEX_MIN_BUCKETS && self.len * 10 < self.buckets.len()
                    {
                        self.resize(self.len.next_power_of_two().max(INDEX_MIN_BUCKETS));
                    }
                    return Some(p);
                }
                prev = Some(p);
                cur = next;
            }
        }
        None
    }

    /// Rechains every member into `n` (a power of two) buckets.
    fn resize(&mut self, n: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![None; n]);
        for head in old {
            let mut cur = head;
            while let Some(p) = cur {
                // SAFETY: every chained pointer is a live member of the tree.
                unsafe {
                    cur = member_link(p);
                    let b = self.bucket(crate::dict::hash_key(member_bytes(p)));
                    set_member_link(p, self.buckets[b]);
                    self.buckets[b] = Some(p);
                }
            }
        }
    }

    /// Calls `f` on the members of the bucket at `cursor` and returns the
    /// next cursor (0 at the end): Redis's reverse-binary increment, which
    /// visits the buckets of a smaller or larger table in an order that
    /// skips none of a key's possible buckets after a resize.
    fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let mut cur = self.buckets[(cursor & mask) as usize];
        while let Some(p) = cur {
            // SAFETY: every chained pointer is a live member of the tree.
            unsafe {
                f(member_bytes(p), member_score(p));
                cur = member_link(p);
            }
        }
        ((cursor | !mask).reverse_bits().wrapping_add(1)).reverse_bits()
    }

    fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Option<std::ptr::NonNull<u8>>>()
    }
}

/// The large encoding: the ordered tree and the member index.
pub struct Tree {
    root: Node,
    index: Index,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tree({} members)", self.index.len)
    }
}

impl Tree {
    fn new() -> Tree {
        Tree {
            root: Node::Leaf(Vec::new()),
            index: Index::new(),
        }
    }

    fn len(&self) -> usize {
        self.index.len
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        // SAFETY: the index holds live members of this tree.
        self.index.get(member).map(|p| unsafe { member_score(p) })
    }

    /// Inserts a member known to be absent.
    fn insert_new(&mut self, score: f64, member: &[u8]) {
        let m = Member::new(score, member);
        self.index.insert_new(m.0);
        self.insert_member(m);
    }

    /// Puts a member allocation into the tree (not the index).
    fn insert_member(&mut self, m: Member) {
        if let Some(right) = self.root.insert(m) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Vec::new()));
            self.root = Node::Inner(vec![Child::new(left), Child::new(right)]);
        }
    }

    /// Takes the member with key `key` out of the tree (not the index).
    fn remove_member(&mut self, key: (f64, &[u8])) -> Option<Member> {
        let removed = self.root.remove(key);
        self.collapse_root();
        removed
    }

    /// After a removal: a root with one child gives way to that child.
    fn collapse_root(&mut self) {
        if let Node::Inner(children) = &mut self.root {
            if children.len() == 1 {
                if let Some(only) = children.pop() {
                    self.root = *only.node;
                }
            }
        }
    }

    /// Sets `member`'s score, adding it if absent (then returns true). A
    /// member already there changes in place when it stays in its leaf,
    /// else leaves the tree and comes back (the allocation, and so the
    /// index entry, stays the same).
    fn set_score(&mut self, member: &[u8], score: f64) -> bool {
        let Some(p) = self.index.get(member) else {
            self.insert_new(score, member);
            return true;
        };
        // SAFETY: `p` is in the index, so it is a live member of the tree.
        let old = unsafe { member_score(p) };
        if old == score || self.root.reposition((old, member), score) {
            return false;
        }
        if let Some(m) = self.remove_member((old, member)) {
            // SAFETY: `m` is out of the tree, so no order depends on its
            // score.
            unsafe { set_member_score(m.0, score) };
            self.insert_member(m);
        }
        false
    }

    /// Removes the first member (or the last, with `last`).
    /// Removes the first member (or the last, with `last`), showing it to
    /// `f` before it is freed; false if the set is empty.
    fn pop_with(&mut self, last: bool, f: impl FnOnce(&[u8], f64)) -> bool {
        if self.len() == 0 {
            return false;
        }
        let Some(m) = self.root.pop_end(last) else {
            return false;
        };
        self.collapse_root();
        let unchained = self.index.take(m.bytes());
        debug_assert_eq!(unchained, Some(m.0));
        f(m.bytes(), m.score());
        true
    }

    /// Removes `member`; returns its score.
    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let p = self.index.take(member)?;
        // SAFETY: `p` was in the index, so it is a live member of the tree.
        let score = unsafe { member_score(p) };
        // The member's allocation is freed here, after the index entry
        // pointing at it is gone.
        drop(self.remove_member((score, member)));
        Some(score)
    }

    fn iter(&self, mut f: impl FnMut(&[u8], f64) -> bool) {
        if self.len() > 0 {
            self.root.walk(0, &mut |s, m| f(m, s));
        }
    }
}

impl Clone for Tree {
    fn clone(&self) -> Self {
        let root = self.root.deep_clone();
        let mut index = Index::new();
        index.resize(self.index.buckets.len().max(INDEX_MIN_BUCKETS));
        root.for_each_member(&mut |m| index.insert_new(m.0));
        Tree { root, index }
    }
}

// ----- the value -----

/// A sorted set, 16 bytes: a small set is its listpack held inline, a
/// large one a pointer to its tree.
#[derive(Debug, Clone)]
pub struct ZSetValue(Repr);

#[derive(Debug, Clone)]
enum Repr {
    Packed(Listpack),
    Tree(Box<Tree>),
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue(Repr::Packed(Listpack::new()))
    }
}

/// Iterates a packed set's (member, score) pairs in order (from either
/// end), reading the listpack in place.
fn packed_pairs(lp: &Listpack) -> PackedPairs<'_> {
    PackedPairs(lp.iter())
}

/// The iterator of [`packed_pairs`].
struct PackedPairs<'a>(super::listpack::Iter<'a>);

impl<'a> Iterator for PackedPairs<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        let m = self.0.next()?;
        let s = self.0.next()?;
        Some((m, decode_score(s)))
    }
}

impl DoubleEndedIterator for PackedPairs<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let s = self.0.next_back()?;
        let m = self.0.next_back()?;
        Some((m, decode_score(s)))
    }
}

impl ZSetValue {
    /// An empty set in the encoding Redis picks for a new key that will
    /// hold `size_hint` members, the longest `longest` bytes.
    pub fn with_hint(size_hint: usize, longest: usize, limits: ZSetLimits) -> Self {
        if size_hint > limits.max_entries || longest > limits.max_value {
            ZSetValue(Repr::Tree(Box::new(Tree::new())))
        } else {
            ZSetValue::default()
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Packed(lp) => lp.len() / 2,
            Repr::Tree(t) => t.len(),
        }
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True in the listpack encoding.
    pub fn is_packed(&self) -> bool {
        matches!(self.0, Repr::Packed(_))
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match self.0 {
            Repr::Packed(_) => "listpack",
            Repr::Tree(_) => "skiplist",
        }
    }

    /// Approximate heap bytes (MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Packed(lp) => lp.allocated(),
            Repr::Tree(t) => {
                std::mem::size_of::<Tree>() + t.root.heap_bytes() + t.index.heap_bytes()
            }
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.0 {
            Repr::Packed(lp) => packed_pairs(lp).find(|(m, _)| *m == member).map(|p| p.1),
            Repr::Tree(t) => t.score(member),
        }
    }

    /// Converts to the tree encoding.
    pub fn convert_to_tree(&mut self) {
        if let Repr::Packed(lp) = &self.0 {
            let mut tree = Tree::new();
            for (m, s) in packed_pairs(lp) {
                tree.insert_new(s, m);
            }
            self.0 = Repr::Tree(Box::new(tree));
        }
    }

    /// Converts a tree back to a listpack if it fits `limits` (what Redis
    /// does for the results of the store commands).
    pub fn compact_if_fits(&mut self, limits: ZSetLimits) {
        if let Repr::Tree(t) = &self.0 {
            if t.len() > limits.max_entries {
                return;
            }
            let mut longest = 0;
            t.iter(|m, _| {
                longest = longest.max(m.len());
                true
            });
            if longest > limits.max_value {
                return;
            }
            let lp = Self::pack(t);
            self.0 = Repr::Packed(lp);
        }
    }

    fn pack(t: &Tree) -> Listpack {
        let mut data: Vec<Vec<u8>> = Vec::with_capacity(t.len() * 2);
        t.iter(|m, s| {
            data.push(m.to_vec());
            let (b, n) = encode_score(s);
            data.push(b[..n].to_vec());
            true
        });
        Listpack::from_items(data.iter().map(|v| v.as_slice()))
    }

    /// Sets `member`'s score, adding it if absent (converting to the tree
    /// encoding past `limits`). Returns true if it was added.
    pub fn set(&mut self, member: &[u8], score: f64, limits: ZSetLimits) -> bool {
        if let Repr::Tree(t) = &mut self.0 {
            return t.set_score(member, score);
        }
        let existed = self.remove(member).is_some();
        if let (false, Repr::Packed(lp)) = (existed, &self.0) {
            if lp.len() / 2 + 1 > limits.max_entries
                || member.len() > limits.max_value
                || !lp.safe_to_add(member.len() + 16)
            {
                self.convert_to_tree();
            }
        }
        match &mut self.0 {
            Repr::Packed(lp) => {
                // Find the insertion point: before the first larger pair.
                let mut pos = lp.first();
                while let Some(p) = pos {
                    let sp = match lp.next(p) {
                        Some(sp) => sp,
                        None => break,
                    };
                    let s = decode_score(lp.entry(sp));
                    if key_cmp((s, lp.entry(p)), (score, member)) == Ordering::Greater {
                        break;
                    }
                    pos = lp.next(sp);
                }
                let at = pos.unwrap_or(lp.byte_len());
                let (b, n) = encode_score(score);
                // Insert the score first, then the member before it.
                lp.insert_at(at, &b[..n]);
                lp.insert_at(at, member);
            }
            Repr::Tree(t) => t.insert_new(score, member),
        }
        !existed
    }

    /// Removes `member`; returns its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.0 {
            Repr::Packed(lp) => {
                let mut pos = lp.first();
                while let Some(p) = pos {
                    let sp = lp.next(p)?;
                    if lp.entry(p) == member {
                        let score = decode_score(lp.entry(sp));
                        lp.remove_at(p);
                        lp.remove_at(p);
                        return Some(score);
                    }
                    pos = lp.next(sp);
                }
                None
            }
            Repr::Tree(t) => t.remove(member),
        }
    }

    /// One ZSCAN step over a large set (see `Index::scan_step`): calls `f`
    /// on the members of one bucket of the member index and returns the
    /// next cursor; `None` for a packed set, which is scanned whole at once.
    pub fn scan_step(&self, cursor: u64, f: impl FnMut(&[u8], f64)) -> Option<u64> {
        match &self.0 {
            Repr::Packed(_) => None,
            Repr::Tree(t) => Some(t.index.scan_step(cursor, f)),
        }
    }

    /// Number of members for which `before(score, member)` holds, where
    /// `before` holds for a prefix of the order (a rank boundary).
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.0 {
            Repr::Packed(lp) => packed_pairs(lp).take_while(|(m, s)| before(*s, m)).count(),
            Repr::Tree(t) => {
                if t.len() == 0 {
                    0
                } else {
                    t.root.count_before(&before)
                }
            }
        }
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.0 {
            Repr::Packed(lp) => packed_pairs(lp).position(|(m, _)| m == member),
            Repr::Tree(t) => {
                let score = t.score(member)?;
                Some(
                    t.root
                        .count_before(&|s, m| key_cmp((s, m), (score, member)) == Ordering::Less),
                )
            }
        }
    }

    /// The member and score at `rank` (ascending).
    pub fn at(&self, rank: usize) -> Option<(&[u8], f64)> {
        if rank >= self.len() {
            return None;
        }
        match &self.0 {
            Repr::Packed(lp) => {
                let m = lp.get(2 * rank as i64)?;
                let s = lp.get(2 * rank as i64 + 1)?;
                Some((m, decode_score(s)))
            }
            Repr::Tree(t) => {
                let (s, m) = t.root.at(rank);
                Some((m, s))
            }
        }
    }

    /// Visits members from rank `from` in ascending order (or descending
    /// with `rev`, `from` still an ascending rank) while `f` returns true.
    pub fn walk(&self, from: usize, rev: bool, mut f: impl FnMut(&[u8], f64) -> bool) {
        let len = self.len();
        if from >= len {
            return;
        }
        match &self.0 {
            Repr::Packed(lp) => {
                let pairs = packed_pairs(lp);
                if rev {
                    for (m, s) in pairs.rev().skip(len - 1 - from) {
                        if !f(m, s) {
                            return;
                        }
                    }
                } else {
                    for (m, s) in pairs.skip(from) {
                        if !f(m, s) {
                            return;
                        }
                    }
                }
            }
            Repr::Tree(t) => {
                if rev {
                    t.root.walk_rev(from, &mut |s, m| f(m, s));
                } else {
                    t.root.walk(from, &mut |s, m| f(m, s));
                }
            }
        }
    }

    /// Every (member, score) pair in ascending order.
    pub fn pairs(&self) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::with_capacity(self.len());
        self.walk(0, false, |m, s| {
            out.push((m.to_vec(), s));
            true
        });
        out
    }

    /// Removes the first member (the last with `last`), showing it and its
    /// score to `f` first (no copy); false if the set is empty.
    pub fn pop_with(&mut self, last: bool, f: impl FnOnce(&[u8], f64)) -> bool {
        match &mut self.0 {
            Repr::Packed(lp) => {
                let n = lp.len();
                if n < 2 {
                    return false;
                }
                let at = if last { n - 2 } else { 0 };
                let (Some(m), Some(s)) = (lp.get(at as i64), lp.get(at as i64 + 1)) else {
                    return false;
                };
                f(m, decode_score(s));
                lp.remove_range(at, 2);
                true
            }
            Repr::Tree(t) => t.pop_with(last, f),
        }
    }

    /// Removes the members of ascending ranks `start..=end` (in range);
    /// returns the removed members.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> Vec<Box<[u8]>> {
        let mut out = Vec::new();
        if start > end || end >= self.len() {
            return out;
        }
        match &mut self.0 {
            Repr::Packed(lp) => {
                for (m, _) in packed_pairs(lp).skip(start).take(end - start + 1) {
                    out.push(m.into());
                }
                lp.remove_range(start * 2, (end - start + 1) * 2);
            }
            Repr::Tree(_) => {
                let mut members = Vec::with_capacity(end - start + 1);
                self.walk(start, false, |m, _| {
                    members.push(Box::<[u8]>::from(m));
                    members.len() < end - start + 1
                });
                for m in &members {
                    self.remove(m);
                }
                out = members;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: ZSetLimits = ZSetLimits {
        max_entries: 0,
        max_value: 64,
    };

    /// A tiny deterministic generator (xorshift).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn pop(z: &mut ZSetValue, last: bool) -> Option<(Vec<u8>, f64)> {
        let mut out = None;
        z.pop_with(last, |m, s| out = Some((m.to_vec(), s)));
        out
    }

    fn model_sorted(model: &std::collections::HashMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
        let mut v: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
        v.sort_by(|a, b| key_cmp((a.1, &a.0), (b.1, &b.0)));
        v
    }

    #[test]
    fn tree_matches_a_model_under_random_edits() {
        for (limits, seed) in [
            (SMALL, 7u64),
            (SMALL, 99),
            (
                ZSetLimits {
                    max_entries: 128,
                    max_value: 64,
                },
                5,
            ),
        ] {
            let mut rng = Rng(seed);
            let mut z = ZSetValue::with_hint(1, 0, limits);
            let mut model = std::collections::HashMap::new();
            for step in 0..60_000 {
                let member = format!("m{}", rng.next() % 12000).into_bytes();
                match rng.next() % 10 {
                    0..=5 => {
                        let score = (rng.next() % 500) as f64;
                        let added = z.set(&member, score, limits);
                        assert_eq!(added, model.insert(member, score).is_none());
                    }
                    6..=7 => {
                        assert_eq!(z.remove(&member), model.remove(&member));
                    }
                    8 if rng.next() % 4 == 0 => {
                        let last = rng.next() % 2 == 0;
                        let sorted = model_sorted(&model);
                        let want = if last { sorted.last() } else { sorted.first() };
                        let got = pop(&mut z, last);
                        assert_eq!(got.as_ref().map(|(m, s)| (m.to_vec(), *s)), want.cloned());
                        if let Some((m, _)) = got {
                            model.remove(&m[..]);
                        }
                    }
                    8 => {
                        if !model.is_empty() {
                            let len = z.len();
                            let a = (rng.next() as usize) % len;
                            let b = (a + (rng.next() as usize) % 40).min(len - 1);
                            let removed = z.remove_ranks(a, b);
                            for m in &removed {
                                model.remove(&m[..]);
                            }
                            assert_eq!(removed.len(), b - a + 1);
                        }
                    }
                    _ => {
                        let sorted = model_sorted(&model);
                        if let Some((m, s)) = sorted.get(sorted.len() / 3) {
                            assert_eq!(z.rank(m), Some(sorted.len() / 3));
                            assert_eq!(z.at(sorted.len() / 3), Some((&m[..], *s)));
                        }
                    }
                }
                assert_eq!(z.len(), model.len());
                if step % 997 == 0 {
                    let sorted = model_sorted(&model);
                    assert_eq!(z.pairs(), sorted);
                    let mut rev = Vec::new();
                    if let Some(last) = z.len().checked_sub(1) {
                        z.walk(last, true, |m, s| {
                            rev.push((m.to_vec(), s));
                            true
                        });
                    }
                    rev.reverse();
                    assert_eq!(rev, sorted);
                    for (i, (m, s)) in sorted.iter().enumerate().step_by(17) {
                        assert_eq!(z.rank(m), Some(i));
                        assert_eq!(z.score(m), Some(*s));
                        let before = z.count_before(|x, _| x < *s);
                        assert_eq!(before, sorted.iter().filter(|p| p.1 < *s).count());
                        let mut mid = Vec::new();
                        z.walk(i, true, |m, _| {
                            mid.push(m.to_vec());
                            mid.len() < 5
                        });
                        let want: Vec<Vec<u8>> = sorted[i.saturating_sub(4)..=i]
                            .iter()
                            .rev()
                            .map(|p| p.0.clone())
                            .collect();
                        assert_eq!(mid, want);
                    }
                    let copy = z.clone();
                    assert_eq!(copy.pairs(), sorted);
                }
            }
        }
    }

    /// Runs ZSCAN steps from `cursor` until at least `count` members came
    /// back or the iteration ended; returns the next cursor.
    fn scan_some(z: &ZSetValue, mut cursor: u64, count: usize, seen: &mut Vec<Vec<u8>>) -> u64 {
        let start = seen.len();
        loop {
            cursor = z
                .scan_step(cursor, |m, _| seen.push(m.to_vec()))
                .unwrap_or(0);
            if cursor == 0 || seen.len() - start >= count {
                return cursor;
            }
        }
    }

    #[test]
    fn scan_returns_every_member_present_throughout() {
        let mut rng = Rng(42);
        for round in 0..20 {
            let mut z = ZSetValue::with_hint(1, 0, SMALL);
            let n = 50 + (rng.next() % 3000) as usize;
            for i in 0..n {
                z.set(format!("k{i}").as_bytes(), i as f64, SMALL);
            }
            // Members 0..n/2 stay; the others come and go, and new ones
            // arrive, growing and shrinking the index between steps.
            let stay: Vec<Vec<u8>> = (0..n / 2).map(|i| format!("k{i}").into_bytes()).collect();
            let mut seen = Vec::new();
            let mut cursor = 0;
            let mut next_new = n;
            loop {
                cursor = scan_some(&z, cursor, 1 + (rng.next() % 40) as usize, &mut seen);
                if cursor == 0 {
                    break;
                }
                for _ in 0..(rng.next() % 200) {
                    if round % 2 == 0 {
                        // Shrinking: drop movers (and some newcomers).
                        let i = n / 2 + (rng.next() as usize) % (next_new - n / 2);
                        z.remove(format!("k{i}").as_bytes());
                    } else {
                        z.set(format!("k{next_new}").as_bytes(), rng.next() as f64, SMALL);
                        next_new += 1;
                    }
                }
                // Score changes move members in the tree, not in the index.
                let i = (rng.next() as usize) % stay.len();
                z.set(&stay[i], (rng.next() % 100) as f64, SMALL);
            }
            let seen: std::collections::HashSet<Vec<u8>> = seen.into_iter().collect();
            for m in &stay {
                assert!(seen.contains(m), "round {round}: {:?} missed", m);
            }
        }
    }

    #[test]
    fn members_of_every_length_class_round_trip() {
        let mut z = ZSetValue::with_hint(1, 0, SMALL);
        let lens = [0usize, 1, 15, 16, 254, 255, 256, 70_000];
        for (i, &n) in lens.iter().enumerate() {
            z.set(&vec![b'a' + i as u8; n], i as f64, SMALL);
        }
        for (i, &n) in lens.iter().enumerate() {
            let m = vec![b'a' + i as u8; n];
            assert_eq!(z.score(&m), Some(i as f64));
            assert_eq!(z.at(i).map(|(b, _)| b.len()), Some(n));
        }
        let copy = z.clone();
        assert_eq!(copy.pairs(), z.pairs());
        assert_eq!(pop(&mut z, true).map(|(m, _)| m.len()), Some(70_000));
    }

    #[test]
    fn small_sets_stay_inline() {
        assert_eq!(std::mem::size_of::<ZSetValue>(), 16);
        for v in [
            3.0,
            0.0,
            -0.5,
            1234.2,
            0.1,
            -7.0,
            1e300,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            123456789012.0,
            9007199254740993.0,
            0.30000000000000004,
            1e-15,
            1.5e-10,
        ] {
            let (b, n) = encode_score(v);
            assert_eq!(decode_score(&b[..n]).to_bits(), v.to_bits(), "{v}");
        }
        assert_eq!(encode_score(3.0).1, 2);
        assert_eq!(encode_score(1234.2).1, 3);
        assert_eq!(encode_score(-0.0).1, 1);
    }
}
