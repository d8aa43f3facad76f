//! The hash type: field → value maps.
//!
//! Small hashes are a [`Listpack`] of alternating fields and values (Redis's
//! `listpack` encoding); past `hash-max-listpack-entries` fields or a field or
//! value longer than `hash-max-listpack-value` bytes they become a [`Dict`]
//! (`hashtable`). Like Redis, a hash never converts back.

use super::listpack::Listpack;
use crate::dict::{hash_key, Dict};

/// Conversion thresholds (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    /// `hash-max-listpack-entries`
    pub max_entries: usize,
    /// `hash-max-listpack-value`
    pub max_value: usize,
}

/// A hash value.
#[derive(Debug)]
pub enum HashValue {
    /// Alternating field, value entries.
    Packed(Listpack),
    /// A hash table from field to value.
    Table(Dict<Box<[u8]>>),
}

impl Clone for HashValue {
    fn clone(&self) -> Self {
        match self {
            HashValue::Packed(lp) => HashValue::Packed(lp.clone()),
            HashValue::Table(d) => {
                let mut copy = Dict::new();
                for (k, v) in d.iter() {
                    copy.insert_new(hash_key(k), k.into(), v.clone());
                }
                HashValue::Table(copy)
            }
        }
    }
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::Packed(Listpack::new())
    }
}

impl HashValue {
    /// An empty hash in the compact encoding.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            HashValue::Packed(lp) => lp.len() / 2,
            HashValue::Table(d) => d.len(),
        }
    }

    /// True when the hash has no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Offset of `field` in a packed hash.
    fn packed_find(lp: &Listpack, field: &[u8]) -> Option<usize> {
        let mut pos = lp.first();
        while let Some(p) = pos {
            if lp.entry(p) == field {
                return Some(p);
            }
            pos = lp.next(p).and_then(|v| lp.next(v));
        }
        None
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            HashValue::Packed(lp) => {
                let p = Self::packed_find(lp, field)?;
                lp.next(p).map(|v| lp.entry(v))
            }
            HashValue::Table(d) => d.get(hash_key(field), field).map(|v| &**v),
        }
    }

    /// True if `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`; returns true if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if let HashValue::Packed(lp) = self {
            let too_long = field.len() > limits.max_value || value.len() > limits.max_value;
            if !too_long {
                if let Some(p) = Self::packed_find(lp, field) {
                    if let Some(v) = lp.next(p) {
                        lp.replace_at(v, value);
                    }
                    return false;
                }
                if lp.len() / 2 < limits.max_entries {
                    lp.push_back(field);
                    lp.push_back(value);
                    return true;
                }
            }
            self.convert_to_table();
        }
        match self {
            HashValue::Table(d) => d.insert(hash_key(field), field, value.into()).is_none(),
            HashValue::Packed(_) => unreachable!("converted above"),
        }
    }

    /// Removes `field`; returns true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            HashValue::Packed(lp) => match Self::packed_find(lp, field) {
                Some(p) => {
                    lp.remove_at(p);
                    lp.remove_at(p);
                    true
                }
                None => false,
            },
            HashValue::Table(d) => d.remove(hash_key(field), field).is_some(),
        }
    }

    /// Converts to the hash-table encoding.
    pub fn convert_to_table(&mut self) {
        if let HashValue::Packed(lp) = self {
            let mut d = Dict::new();
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                d.insert_new(hash_key(f), f.into(), v.into());
            }
            *self = HashValue::Table(d);
        }
    }

    /// Iterates over (field, value) pairs.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            HashValue::Packed(lp) => {
                let mut it = lp.iter();
                Box::new(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            HashValue::Table(d) => Box::new(d.iter().map(|(k, v)| (k, &**v))),
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            HashValue::Packed(_) => "listpack",
            HashValue::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes owned.
    pub fn heap_bytes(&self) -> usize {
        match self {
            HashValue::Packed(lp) => lp.allocated(),
            HashValue::Table(d) => {
                d.overhead_bytes() + d.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HashLimits = HashLimits {
        max_entries: 4,
        max_value: 8,
    };

    #[test]
    fn converts_past_entry_and_value_limits() {
        let mut h = HashValue::new();
        for i in 0..4 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", LIMITS));
        }
        assert_eq!(h.encoding_name(), "listpack");
        assert!(!h.set(b"f0", b"v2", LIMITS));
        assert_eq!(h.get(b"f0"), Some(&b"v2"[..]));
        h.set(b"f4", b"v", LIMITS);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 5);

        let mut h = HashValue::new();
        h.set(b"f", b"a-long-value", LIMITS);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.get(b"f"), Some(&b"a-long-value"[..]));
    }

    #[test]
    fn remove_from_both_encodings() {
        for n in [2, 10] {
            let mut h = HashValue::new();
            for i in 0..n {
                h.set(format!("f{i}").as_bytes(), b"v", LIMITS);
            }
            assert!(h.remove(b"f1"));
            assert!(!h.remove(b"f1"));
            assert_eq!(h.len(), n - 1);
            assert_eq!(h.iter().count(), n - 1);
        }
    }
}
