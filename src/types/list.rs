//! The list type: a deque of packed nodes.
//!
//! Elements live in [`Listpack`] nodes kept within `list-max-listpack-size`
//! (entries per node when positive, a byte size class when negative), so a
//! small list is a single allocation and pushes and pops at either end stay
//! cheap on long lists. The total length is cached. Redis 7.0 reports every
//! list as `quicklist`, and so does this type, whatever its node count.

use super::listpack::Listpack;
use std::collections::VecDeque;

/// `list-max-listpack-size`: positive = entries per node, negative = node
/// size class (-1 = 4 KiB … -5 = 64 KiB), as in Redis.
#[derive(Debug, Clone, Copy)]
pub struct ListLimits {
    /// The configured `list-max-listpack-size`.
    pub max_listpack_size: i64,
}

impl ListLimits {
    /// True if a node holding `count` entries in `bytes` bytes is within limits.
    pub fn fits(&self, count: usize, bytes: usize) -> bool {
        if self.max_listpack_size > 0 {
            count <= self.max_listpack_size as usize
        } else {
            let idx = (-self.max_listpack_size).clamp(1, 5) as u32;
            bytes <= 4096usize << (idx - 1)
        }
    }

    /// True if `item` can be added to `node` without exceeding the limits.
    fn room_for(&self, node: &Listpack, item: &[u8]) -> bool {
        // An entry costs its bytes plus at most ~11 bytes of lengths.
        self.fits(node.len() + 1, node.byte_len() + item.len() + 11)
            && node.safe_to_add(item.len() + 11)
    }
}

/// A list value.
#[derive(Debug, Clone, Default)]
pub struct ListValue {
    nodes: VecDeque<Listpack>,
    len: usize,
}

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head (LEFT).
    Head,
    /// The tail (RIGHT).
    Tail,
}

impl ListValue {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the list is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds an element at `end`.
    pub fn push(&mut self, end: End, item: &[u8], limits: ListLimits) {
        match end {
            End::Head => self.push_front(item, limits),
            End::Tail => self.push_back(item, limits),
        }
    }

    /// Appends to the tail.
    pub fn push_back(&mut self, item: &[u8], limits: ListLimits) {
        match self.nodes.back_mut() {
            Some(node) if limits.room_for(node, item) => node.push_back(item),
            _ => {
                let mut node = Listpack::new();
                node.push_back(item);
                self.nodes.push_back(node);
            }
        }
        self.len += 1;
    }

    /// Prepends to the head.
    pub fn push_front(&mut self, item: &[u8], limits: ListLimits) {
        match self.nodes.front_mut() {
            Some(node) if limits.room_for(node, item) => node.push_front(item),
            _ => {
                let mut node = Listpack::new();
                node.push_back(item);
                self.nodes.push_front(node);
            }
        }
        self.len += 1;
    }

    /// Removes and returns the element at `end`.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        match end {
            End::Head => self.pop_front(),
            End::Tail => self.pop_back(),
        }
    }

    /// Removes the element at `end` after handing it to `seen` (a reply
    /// written straight from the node, without copying the element out);
    /// false if the list is empty.
    pub fn pop_with(&mut self, end: End, seen: impl FnOnce(&[u8])) -> bool {
        let node = match end {
            End::Head => self.nodes.front_mut(),
            End::Tail => self.nodes.back_mut(),
        };
        let Some(node) = node else {
            return false;
        };
        let pos = match end {
            End::Head => node.first(),
            End::Tail => node.last(),
        };
        let Some(pos) = pos else {
            return false;
        };
        seen(node.entry(pos));
        node.remove_at(pos);
        if node.is_empty() {
            match end {
                End::Head => self.nodes.pop_front(),
                End::Tail => self.nodes.pop_back(),
            };
        }
        self.len -= 1;
        true
    }

    /// Removes and returns the head.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.front_mut()?;
        let item = node.pop_front()?;
        if node.is_empty() {
            self.nodes.pop_front();
        }
        self.len -= 1;
        Some(item)
    }

    /// Removes and returns the tail.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.back_mut()?;
        let item = node.pop_back()?;
        if node.is_empty() {
            self.nodes.pop_back();
        }
        self.len -= 1;
        Some(item)
    }

    /// Removes `n` elements from the head, whole nodes at a time where possible.
    pub fn remove_front(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(node) = self.nodes.front_mut() else {
                break;
            };
            if node.len() <= n {
                n -= node.len();
                self.nodes.pop_front();
            } else {
                node.remove_range(0, n);
                n = 0;
            }
        }
    }

    /// Removes `n` elements from the tail, whole nodes at a time where possible.
    pub fn remove_back(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(node) = self.nodes.back_mut() else {
                break;
            };
            if node.len() <= n {
                n -= node.len();
                self.nodes.pop_back();
            } else {
                let keep = node.len() - n;
                node.remove_range(keep, n);
                n = 0;
            }
        }
    }

    /// The node holding element `index` (0-based from the head) and the
    /// element's position inside it.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        if index < self.len / 2 {
            let mut skipped = 0;
            for (n, node) in self.nodes.iter().enumerate() {
                if index < skipped + node.len() {
                    return Some((n, index - skipped));
                }
                skipped += node.len();
            }
        } else {
            let mut after = self.len;
            for (n, node) in self.nodes.iter().enumerate().rev() {
                after -= node.len();
                if index >= after {
                    return Some((n, index - after));
                }
            }
        }
        None
    }

    /// Converts a Redis index (negative counts from the tail) to 0-based.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let idx = if index < 0 {
            self.len as i64 + index
        } else {
            index
        };
        (0..self.len as i64).contains(&idx).then_some(idx as usize)
    }

    /// Element at 0-based `index`.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let (n, pos) = self.locate(index)?;
        self.nodes[n].get(pos as i64)
    }

    /// Replaces the element at 0-based `index`; false if out of range.
    pub fn set(&mut self, index: usize, item: &[u8], limits: ListLimits) -> bool {
        let Some((n, pos)) = self.locate(index) else {
            return false;
        };
        let node = &mut self.nodes[n];
        if let Some(at) = node.seek(pos as i64) {
            node.replace_at(at, item);
        }
        self.split_if_oversized(n, limits);
        true
    }

    /// Inserts before (or after) the first element equal to `pivot`; false
    /// if there is no such element.
    pub fn insert(&mut self, pivot: &[u8], item: &[u8], after: bool, limits: ListLimits) -> bool {
        for n in 0..self.nodes.len() {
            let node = &mut self.nodes[n];
            let mut at = node.first();
            while let Some(p) = at {
                if node.entry(p) == pivot {
                    let target = if after {
                        node.next(p).unwrap_or(node.byte_len())
                    } else {
                        p
                    };
                    node.insert_at(target, item);
                    self.len += 1;
                    self.split_if_oversized(n, limits);
                    return true;
                }
                at = node.next(p);
            }
        }
        false
    }

    /// Splits node `n` in two halves if it has grown past twice the limits
    /// (edits in the middle may overfill a node; halving keeps it bounded).
    fn split_if_oversized(&mut self, n: usize, limits: ListLimits) {
        let node = &self.nodes[n];
        if node.len() < 2 || limits.fits(node.len() / 2, node.byte_len() / 2) {
            return;
        }
        let half = node.len() / 2;
        let second: Listpack = node.iter().skip(half).collect();
        let first: Listpack = node.iter().take(half).collect();
        self.nodes[n] = first;
        self.nodes.insert(n + 1, second);
    }

    /// Removes up to `count` elements equal to `item` (all when `count` is
    /// 0), scanning from the head, or from the tail when `from_tail`.
    /// Returns how many were removed.
    pub fn remove_matching(&mut self, item: &[u8], count: usize, from_tail: bool) -> usize {
        let mut removed = 0;
        let order: Vec<usize> = if from_tail {
            (0..self.nodes.len()).rev().collect()
        } else {
            (0..self.nodes.len()).collect()
        };
        for n in order {
            let node = &mut self.nodes[n];
            if from_tail {
                let mut at = node.last();
                while let Some(p) = at {
                    let prev = node.prev(p);
                    if node.entry(p) == item {
                        node.remove_at(p);
                        removed += 1;
                        if count != 0 && removed == count {
                            break;
                        }
                    }
                    at = prev;
                }
            } else {
                let mut at = node.first();
                while let Some(p) = at {
                    if node.entry(p) == item {
                        at = node.remove_at(p);
                        removed += 1;
                        if count != 0 && removed == count {
                            break;
                        }
                    } else {
                        at = node.next(p);
                    }
                }
            }
            if count != 0 && removed == count {
                break;
            }
        }
        self.nodes.retain(|node| !node.is_empty());
        self.len -= removed;
        removed
    }

    /// Iterates head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.nodes.iter().flat_map(|n| n.iter())
    }

    /// Iterates over the 0-based inclusive range `start..=end`.
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = &[u8]> + '_ {
        // Skip whole nodes before `start` instead of walking their entries.
        let mut skipped = 0;
        let mut first_node = 0;
        for node in &self.nodes {
            if skipped + node.len() > start {
                break;
            }
            skipped += node.len();
            first_node += 1;
        }
        self.nodes
            .iter()
            .skip(first_node)
            .flat_map(|n| n.iter())
            .skip(start - skipped)
            .take(end + 1 - start)
    }

    /// The name `OBJECT ENCODING` reports (Redis 7.0 reports `quicklist` for
    /// every list).
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    /// Approximate heap bytes owned.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Listpack>()
            + self.nodes.iter().map(Listpack::allocated).sum::<usize>()
    }

    /// Number of packed nodes (for DEBUG and tests).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The packed nodes, head first (for RDB serialisation).
    pub fn nodes(&self) -> impl Iterator<Item = &Listpack> + Clone + '_ {
        self.nodes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUR: ListLimits = ListLimits {
        max_listpack_size: 4,
    };

    fn list(items: &[&str]) -> ListValue {
        let mut l = ListValue::new();
        for i in items {
            l.push_back(i.as_bytes(), FOUR);
        }
        l
    }

    fn items(l: &ListValue) -> Vec<String> {
        l.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn nodes_stay_within_limits_and_order_holds() {
        let mut l = list(&["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        l.push_front(b"-1", FOUR);
        assert_eq!(l.len(), 11);
        assert!(l.node_count() >= 3);
        assert_eq!(items(&l)[0], "-1");
        assert_eq!(l.get(10), Some(&b"9"[..]));
        assert_eq!(l.get(5), Some(&b"4"[..]));
        assert_eq!(l.pop_back(), Some(b"9".to_vec()));
        assert_eq!(l.pop_front(), Some(b"-1".to_vec()));
        assert_eq!(
            l.range(2, 4).collect::<Vec<_>>(),
            vec![&b"2"[..], b"3", b"4"]
        );
    }

    #[test]
    fn edits_in_the_middle() {
        let mut l = list(&["a", "b", "c", "b", "a", "b"]);
        assert!(l.insert(b"c", b"X", false, FOUR));
        assert!(l.insert(b"c", b"Y", true, FOUR));
        assert!(!l.insert(b"zz", b"Y", true, FOUR));
        assert_eq!(items(&l), ["a", "b", "X", "c", "Y", "b", "a", "b"]);
        assert_eq!(l.remove_matching(b"b", 2, true), 2);
        assert_eq!(items(&l), ["a", "b", "X", "c", "Y", "a"]);
        assert_eq!(l.remove_matching(b"a", 0, false), 2);
        assert!(l.set(0, b"B", FOUR));
        assert_eq!(items(&l), ["B", "X", "c", "Y"]);
        assert_eq!(l.len(), 4);
    }

    #[test]
    fn trims_whole_nodes() {
        let mut l = ListValue::new();
        for i in 0..100 {
            l.push_back(format!("{i}").as_bytes(), FOUR);
        }
        l.remove_front(37);
        l.remove_back(50);
        assert_eq!(l.len(), 13);
        assert_eq!(items(&l).first().map(String::as_str), Some("37"));
        assert_eq!(items(&l).last().map(String::as_str), Some("49"));
        assert_eq!(l.resolve(-1), Some(12));
        assert_eq!(l.resolve(13), None);
    }
}
