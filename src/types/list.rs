//! The list type.
//!
//! A small list is one [`Listpack`] (`listpack`); past `list-max-listpack-size`
//! it becomes a deque of listpack nodes (`quicklist`), so pushes and pops at
//! either end stay cheap and memory stays packed.

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
}

/// A list value.
#[derive(Debug, Clone)]
pub enum ListValue {
    /// One packed node.
    Packed(Listpack),
    /// A sequence of packed nodes.
    Quick(VecDeque<Listpack>),
}

impl Default for ListValue {
    fn default() -> Self {
        ListValue::Packed(Listpack::new())
    }
}

impl ListValue {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ListValue::Packed(lp) => lp.len(),
            ListValue::Quick(nodes) => nodes.iter().map(Listpack::len).sum(),
        }
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        match self {
            ListValue::Packed(lp) => lp.is_empty(),
            ListValue::Quick(nodes) => nodes.iter().all(Listpack::is_empty),
        }
    }

    fn to_quick(&mut self) -> &mut VecDeque<Listpack> {
        if let ListValue::Packed(lp) = self {
            let lp = std::mem::take(lp);
            let mut nodes = VecDeque::new();
            nodes.push_back(lp);
            *self = ListValue::Quick(nodes);
        }
        match self {
            ListValue::Quick(nodes) => nodes,
            ListValue::Packed(_) => unreachable!("converted above"),
        }
    }

    /// Appends to the tail.
    pub fn push_back(&mut self, item: &[u8], limits: ListLimits) {
        if let ListValue::Packed(lp) = self {
            if limits.fits(lp.len() + 1, lp.byte_len() + item.len() + 11) {
                lp.push_back(item);
                return;
            }
        }
        let nodes = self.to_quick();
        match nodes.back_mut() {
            Some(node) if limits.fits(node.len() + 1, node.byte_len() + item.len() + 11) => {
                node.push_back(item)
            }
            _ => {
                let mut node = Listpack::new();
                node.push_back(item);
                nodes.push_back(node);
            }
        }
    }

    /// Prepends to the head.
    pub fn push_front(&mut self, item: &[u8], limits: ListLimits) {
        if let ListValue::Packed(lp) = self {
            if limits.fits(lp.len() + 1, lp.byte_len() + item.len() + 11) {
                lp.push_front(item);
                return;
            }
        }
        let nodes = self.to_quick();
        match nodes.front_mut() {
            Some(node) if limits.fits(node.len() + 1, node.byte_len() + item.len() + 11) => {
                node.push_front(item)
            }
            _ => {
                let mut node = Listpack::new();
                node.push_back(item);
                nodes.push_front(node);
            }
        }
    }

    /// Removes and returns the head.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        match self {
            ListValue::Packed(lp) => lp.pop_front(),
            ListValue::Quick(nodes) => {
                while let Some(node) = nodes.front_mut() {
                    if let Some(item) = node.pop_front() {
                        if node.is_empty() {
                            nodes.pop_front();
                        }
                        return Some(item);
                    }
                    nodes.pop_front();
                }
                None
            }
        }
    }

    /// Removes and returns the tail.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        match self {
            ListValue::Packed(lp) => lp.pop_back(),
            ListValue::Quick(nodes) => {
                while let Some(node) = nodes.back_mut() {
                    if let Some(item) = node.pop_back() {
                        if node.is_empty() {
                            nodes.pop_back();
                        }
                        return Some(item);
                    }
                    nodes.pop_back();
                }
                None
            }
        }
    }

    /// Iterates head to tail.
    pub fn iter(&self) -> Box<dyn DoubleEndedIterator<Item = &[u8]> + '_> {
        match self {
            ListValue::Packed(lp) => Box::new(lp.iter()),
            ListValue::Quick(nodes) => Box::new(nodes.iter().flat_map(|n| n.iter())),
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            ListValue::Packed(_) => "listpack",
            ListValue::Quick(_) => "quicklist",
        }
    }

    /// Approximate heap bytes owned.
    pub fn heap_bytes(&self) -> usize {
        match self {
            ListValue::Packed(lp) => lp.allocated(),
            ListValue::Quick(nodes) => {
                nodes.capacity() * std::mem::size_of::<Listpack>()
                    + nodes.iter().map(Listpack::allocated).sum::<usize>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_into_quicklist_and_keeps_order() {
        let limits = ListLimits {
            max_listpack_size: 4,
        };
        let mut l = ListValue::new();
        for i in 0..10 {
            l.push_back(format!("{i}").as_bytes(), limits);
        }
        l.push_front(b"-1", limits);
        assert_eq!(l.encoding_name(), "quicklist");
        assert_eq!(l.len(), 11);
        let all: Vec<String> = l
            .iter()
            .map(|b| String::from_utf8_lossy(b).into())
            .collect();
        assert_eq!(all[0], "-1");
        assert_eq!(all[10], "9");
        assert_eq!(l.pop_back(), Some(b"9".to_vec()));
        assert_eq!(l.pop_front(), Some(b"-1".to_vec()));
        assert_eq!(l.len(), 9);
    }
}
