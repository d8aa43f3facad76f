//! The hash type: field → value maps, with optional per-field expiry.
//!
//! Small hashes are a [`Listpack`] of alternating fields and values (Redis's
//! `listpack` encoding); past `hash-max-listpack-entries` fields or a field or
//! value longer than `hash-max-listpack-value` bytes they become a [`Dict`]
//! (`hashtable`). Like Redis, a hash never converts back.
//!
//! Fields may carry an absolute expiry time (Redis 7.4 hash field expiration).
//! Those times live in a side table ([`FieldTtls`]) that exists only for hashes
//! that ever had a field TTL; a packed hash with that table reports the
//! `listpackex` encoding, as Redis does, and keeps its fields in Redis's
//! `listpackex` order (by expiry time, fields without a TTL last), which is
//! the order replies list them in. The storage layer itself never hides
//! expired fields: callers first call [`HashValue::purge_expired`] with the
//! command's clock, which reclaims them (the hash commands do this on every
//! access, active expiry does it in the background).

use super::listpack::Listpack;
use crate::dict::{hash_key, Dict};
use std::collections::HashMap;

/// Conversion thresholds (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    /// `hash-max-listpack-entries`
    pub max_entries: usize,
    /// `hash-max-listpack-value`
    pub max_value: usize,
}

/// The memory encoding of a hash.
#[derive(Debug)]
enum Encoding {
    /// Alternating field, value entries.
    Packed(Listpack),
    /// A hash table from field to value.
    Table(Dict<Box<[u8]>>),
}

/// Expiry times of the fields of one hash that have a TTL.
#[derive(Debug, Clone, Default)]
pub struct FieldTtls {
    /// Field → absolute expiry time in Unix milliseconds.
    times: HashMap<Box<[u8]>, i64>,
    /// The earliest time in `times` (`i64::MAX` when empty), so most accesses
    /// can tell in O(1) that nothing has expired.
    earliest: i64,
}

impl FieldTtls {
    fn new() -> Self {
        FieldTtls {
            times: HashMap::new(),
            earliest: i64::MAX,
        }
    }

    fn recompute_earliest(&mut self) {
        self.earliest = self.times.values().copied().min().unwrap_or(i64::MAX);
    }
}

/// A hash value, 16 bytes: a small hash without field TTLs is its listpack
/// held inline; anything else sits behind one pointer. Keeping the common
/// case inline keeps a keyspace entry in one 48-byte allocation.
#[derive(Debug)]
pub struct HashValue(Repr);

#[derive(Debug)]
enum Repr {
    /// A packed hash that has never had a field TTL.
    Packed(Listpack),
    /// A hash table, or a packed hash that has had field TTLs.
    Boxed(Box<Boxed>),
}

#[derive(Debug)]
struct Boxed {
    enc: Encoding,
    /// Present once any field of the hash has had a TTL.
    ttls: Option<FieldTtls>,
}

/// A borrowed view of a hash's encoding.
enum EncRef<'a> {
    Packed(&'a Listpack),
    Table(&'a Dict<Box<[u8]>>),
}

/// A mutable view of a hash's encoding.
enum EncMut<'a> {
    Packed(&'a mut Listpack),
    Table(&'a mut Dict<Box<[u8]>>),
}

impl Clone for HashValue {
    fn clone(&self) -> Self {
        let copy_enc = |enc: EncRef<'_>| match enc {
            EncRef::Packed(lp) => Encoding::Packed(lp.clone()),
            EncRef::Table(d) => {
                let mut copy = Dict::new();
                for (k, v) in d.iter() {
                    copy.insert_new(hash_key(k), k, v.clone());
                }
                Encoding::Table(copy)
            }
        };
        HashValue(match &self.0 {
            Repr::Packed(lp) => Repr::Packed(lp.clone()),
            Repr::Boxed(b) => Repr::Boxed(Box::new(Boxed {
                enc: copy_enc(self.enc()),
                ttls: b.ttls.clone(),
            })),
        })
    }
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue(Repr::Packed(Listpack::new()))
    }
}

impl HashValue {
    /// An empty hash in the compact encoding.
    pub fn new() -> Self {
        Self::default()
    }

    fn enc(&self) -> EncRef<'_> {
        match &self.0 {
            Repr::Packed(lp) => EncRef::Packed(lp),
            Repr::Boxed(b) => match &b.enc {
                Encoding::Packed(lp) => EncRef::Packed(lp),
                Encoding::Table(d) => EncRef::Table(d),
            },
        }
    }

    fn enc_mut(&mut self) -> EncMut<'_> {
        match &mut self.0 {
            Repr::Packed(lp) => EncMut::Packed(lp),
            Repr::Boxed(b) => match &mut b.enc {
                Encoding::Packed(lp) => EncMut::Packed(lp),
                Encoding::Table(d) => EncMut::Table(d),
            },
        }
    }

    fn ttls(&self) -> Option<&FieldTtls> {
        match &self.0 {
            Repr::Packed(_) => None,
            Repr::Boxed(b) => b.ttls.as_ref(),
        }
    }

    fn ttls_mut(&mut self) -> Option<&mut FieldTtls> {
        match &mut self.0 {
            Repr::Packed(_) => None,
            Repr::Boxed(b) => b.ttls.as_mut(),
        }
    }

    /// The boxed form, boxing an inline listpack first.
    fn boxed(&mut self) -> &mut Boxed {
        if let Repr::Packed(lp) = &mut self.0 {
            let lp = std::mem::take(lp);
            self.0 = Repr::Boxed(Box::new(Boxed {
                enc: Encoding::Packed(lp),
                ttls: None,
            }));
        }
        match &mut self.0 {
            Repr::Boxed(b) => b,
            Repr::Packed(_) => unreachable!("boxed above"),
        }
    }

    /// Number of fields (including expired fields not yet purged).
    pub fn len(&self) -> usize {
        match self.enc() {
            EncRef::Packed(lp) => lp.len() / 2,
            EncRef::Table(d) => d.len(),
        }
    }

    /// True when the hash has no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while the hash uses the compact listpack encoding.
    pub fn is_packed(&self) -> bool {
        matches!(self.enc(), EncRef::Packed(_))
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
        match self.enc() {
            EncRef::Packed(lp) => {
                let p = Self::packed_find(lp, field)?;
                lp.next(p).map(|v| lp.entry(v))
            }
            EncRef::Table(d) => d.get(hash_key(field), field).map(|v| &**v),
        }
    }

    /// True if `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`, dropping any TTL the field had (as HSET
    /// does); returns true if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        self.clear_field_ttl(field);
        self.set_keep_ttl(field, value, limits)
    }

    /// Sets `field` to `value` keeping its TTL if it has one (HINCRBY,
    /// HINCRBYFLOAT, HSETEX KEEPTTL); returns true if the field is new.
    pub fn set_keep_ttl(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if let EncMut::Packed(lp) = self.enc_mut() {
            let too_long = field.len() > limits.max_value
                || value.len() > limits.max_value
                || !lp.safe_to_add(field.len() + value.len() + 22);
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
        match self.enc_mut() {
            EncMut::Table(d) => d.insert(hash_key(field), field, value.into()).is_none(),
            EncMut::Packed(_) => unreachable!("converted above"),
        }
    }

    /// Removes `field` (and its TTL); returns true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let removed = match self.enc_mut() {
            EncMut::Packed(lp) => match Self::packed_find(lp, field) {
                Some(p) => {
                    lp.remove_at(p);
                    lp.remove_at(p);
                    true
                }
                None => false,
            },
            EncMut::Table(d) => d.remove(hash_key(field), field).is_some(),
        };
        if removed {
            self.clear_field_ttl(field);
        }
        removed
    }

    /// Converts to the hash-table encoding.
    pub fn convert_to_table(&mut self) {
        if let EncRef::Packed(lp) = self.enc() {
            let mut d = Dict::new();
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                d.insert_new(hash_key(f), f, v.into());
            }
            self.boxed().enc = Encoding::Table(d);
        }
    }

    /// A hash of the alternating field and value entries of `lp`, whose
    /// fields the caller has checked are distinct, in the encoding `limits`
    /// call for.
    pub fn from_pairs(lp: Listpack, limits: HashLimits) -> HashValue {
        let mut h = HashValue(Repr::Packed(lp));
        let too_big = h.len() > limits.max_entries
            || h.iter()
                .any(|(f, v)| f.len() > limits.max_value || v.len() > limits.max_value);
        if too_big {
            h.convert_to_table();
        }
        h
    }

    /// Iterates over (field, value) pairs.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self.enc() {
            EncRef::Packed(lp) => {
                let mut it = lp.iter();
                Box::new(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            EncRef::Table(d) => Box::new(d.iter().map(|(k, v)| (k, &**v))),
        }
    }

    /// A random (field, value) pair, `rand` supplying random numbers.
    pub fn random_pair(&self, mut rand: impl FnMut() -> u64) -> Option<(&[u8], &[u8])> {
        match self.enc() {
            EncRef::Packed(lp) => {
                let n = lp.len() / 2;
                if n == 0 {
                    return None;
                }
                let i = (rand() % n as u64) as i64;
                let f = lp.seek(2 * i)?;
                let v = lp.next(f)?;
                Some((lp.entry(f), lp.entry(v)))
            }
            EncRef::Table(d) => {
                if d.is_empty() {
                    return None;
                }
                d.fair_random_entry(rand).map(|(k, v)| (k, &**v))
            }
        }
    }

    /// One step of HSCAN over a hash-table hash (see [`Dict::scan_step`]);
    /// `None` for a packed hash, which is scanned whole in one call.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], &[u8])) -> Option<u64> {
        match self.enc() {
            EncRef::Packed(_) => None,
            EncRef::Table(d) => Some(d.scan_step(cursor, |k, v| f(k, v))),
        }
    }

    /// The name `OBJECT ENCODING` reports: `listpackex` for a packed hash
    /// that has had field TTLs, as Redis 7.4 reports.
    pub fn encoding_name(&self) -> &'static str {
        match (self.enc(), &self.0) {
            (EncRef::Packed(_), Repr::Boxed(b)) if b.ttls.is_some() => "listpackex",
            (EncRef::Packed(_), _) => "listpack",
            (EncRef::Table(_), _) => "hashtable",
        }
    }

    /// Approximate heap bytes owned.
    pub fn heap_bytes(&self) -> usize {
        let data = match self.enc() {
            EncRef::Packed(lp) => lp.allocated(),
            EncRef::Table(d) => d.overhead_bytes() + d.iter().map(|(_, v)| v.len()).sum::<usize>(),
        };
        let ttls = self.ttls().map_or(0, |t| {
            t.times.capacity() * std::mem::size_of::<(Box<[u8]>, i64)>()
                + t.times.keys().map(|k| k.len()).sum::<usize>()
        });
        data + ttls
    }

    // ----- field expiration -----

    /// The absolute expiry time (Unix ms) of `field`, if it has one.
    pub fn field_expire_time(&self, field: &[u8]) -> Option<i64> {
        self.ttls()?.times.get(field).copied()
    }

    /// Sets the absolute expiry time of an existing `field`. A packed hash
    /// keeps the order of Redis's `listpackex`: fields with a TTL first, by
    /// ascending time, a field given a time going in front of the fields
    /// that already have the same one; fields without a TTL after them. So
    /// HGETALL, HSCAN and DUMP list the fields in Redis's order.
    pub fn set_field_expire_time(&mut self, field: &[u8], when_ms: i64) {
        if !self.contains(field) {
            return;
        }
        self.record_field_ttl(field, when_ms);
        self.reposition_packed(field, Some(when_ms));
    }

    /// Like [`HashValue::set_field_expire_time`] but leaves the field where
    /// it is: for loading a `listpackex` whose order is already Redis's.
    pub fn load_field_expire_time(&mut self, field: &[u8], when_ms: i64) {
        if self.contains(field) {
            self.record_field_ttl(field, when_ms);
        }
    }

    fn record_field_ttl(&mut self, field: &[u8], when_ms: i64) {
        let ttls = self.boxed().ttls.get_or_insert_with(FieldTtls::new);
        ttls.times.insert(field.into(), when_ms);
        ttls.earliest = ttls.earliest.min(when_ms);
    }

    /// Makes a packed hash `listpackex` without giving any field a TTL, as
    /// Redis does for a hash that a TTL-setting command touches (HEXPIRE on
    /// fields that do not exist, HGETEX PERSIST, ...).
    pub fn prepare_field_ttls(&mut self) {
        if self.is_packed() {
            self.boxed().ttls.get_or_insert_with(FieldTtls::new);
        }
    }

    /// Removes the TTL of `field`; true if it had one. In a packed hash the
    /// field moves to the end, after the fields without a TTL, as in Redis.
    pub fn clear_field_ttl(&mut self, field: &[u8]) -> bool {
        let Some(ttls) = self.ttls_mut() else {
            return false;
        };
        match ttls.times.remove(field) {
            Some(when) => {
                if when == ttls.earliest {
                    ttls.recompute_earliest();
                }
                self.reposition_packed(field, None);
                true
            }
            None => false,
        }
    }

    /// In a packed hash, moves `field` (whose TTL is already recorded) to
    /// where Redis's `listpackex` inserts a field expiring at `when`: before
    /// the first other field without a TTL or with a TTL at or after
    /// `when`; at the end for no TTL.
    fn reposition_packed(&mut self, field: &[u8], when: Option<i64>) {
        let (EncRef::Packed(lp), Some(ttls)) = (self.enc(), self.ttls()) else {
            return;
        };
        let Some(at) = Self::packed_find(lp, field) else {
            return;
        };
        let Some(value_at) = lp.next(at) else {
            return;
        };
        let end = lp.next(value_at).unwrap_or(lp.byte_len());
        let mut target = None;
        if let Some(when) = when {
            let mut pos = lp.first();
            while let Some(q) = pos {
                let before = q != at && ttls.times.get(lp.entry(q)).is_none_or(|&t| t >= when);
                if before {
                    target = Some(q);
                    break;
                }
                pos = lp.next(q).and_then(|v| lp.next(v));
            }
        }
        // Already in place: right before its target, or last going last.
        if target.unwrap_or(lp.byte_len()) == end {
            return;
        }
        let value = lp.entry(value_at).to_vec();
        let EncMut::Packed(lp) = self.enc_mut() else {
            return;
        };
        lp.remove_at(at);
        lp.remove_at(at);
        match target {
            Some(q) => {
                let q = if q > at { q - (end - at) } else { q };
                lp.insert_at(q, &value);
                lp.insert_at(q, field);
            }
            None => {
                lp.push_back(field);
                lp.push_back(&value);
            }
        }
    }

    /// True if some field has a TTL.
    pub fn has_field_ttls(&self) -> bool {
        self.ttls().is_some_and(|t| !t.times.is_empty())
    }

    /// The earliest field expiry time, if any field has a TTL.
    pub fn next_field_expiry(&self) -> Option<i64> {
        self.ttls()
            .filter(|t| !t.times.is_empty())
            .map(|t| t.earliest)
    }

    /// Deletes every field whose expiry time is at or before `now_ms`;
    /// returns the fields deleted.
    pub fn purge_expired(&mut self, now_ms: i64) -> Vec<Box<[u8]>> {
        let due: Vec<Box<[u8]>> = match self.ttls() {
            Some(t) if t.earliest <= now_ms => t
                .times
                .iter()
                .filter(|(_, &when)| when <= now_ms)
                .map(|(f, _)| f.clone())
                .collect(),
            _ => return Vec::new(),
        };
        for field in &due {
            self.remove(field);
        }
        due
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
    fn a_small_hash_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<HashValue>(), 16);
    }

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

        // A long field name converts too, even when replacing a value.
        let mut h = HashValue::new();
        h.set(b"f", b"v", LIMITS);
        h.set(b"a-long-field", b"v", LIMITS);
        assert_eq!(h.encoding_name(), "hashtable");
    }

    #[test]
    fn zero_entry_limit_converts_on_first_field() {
        let limits = HashLimits {
            max_entries: 0,
            max_value: 64,
        };
        let mut h = HashValue::new();
        h.set(b"f", b"v", limits);
        assert_eq!(h.encoding_name(), "hashtable");
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

    #[test]
    fn field_ttls_and_listpackex() {
        let mut h = HashValue::new();
        h.set(b"a", b"1", LIMITS);
        h.set(b"b", b"2", LIMITS);
        assert!(!h.has_field_ttls());
        h.set_field_expire_time(b"nosuch", 5);
        assert_eq!(h.encoding_name(), "listpack");
        h.set_field_expire_time(b"a", 100);
        h.set_field_expire_time(b"b", 200);
        assert_eq!(h.encoding_name(), "listpackex");
        assert_eq!(h.next_field_expiry(), Some(100));
        assert_eq!(h.purge_expired(99).len(), 0);
        assert_eq!(h.purge_expired(100).len(), 1);
        assert_eq!(h.get(b"a"), None);
        assert_eq!(h.next_field_expiry(), Some(200));
        // HSET drops the TTL; a keep-TTL write does not.
        h.set_keep_ttl(b"b", b"3", LIMITS);
        assert_eq!(h.field_expire_time(b"b"), Some(200));
        h.set(b"b", b"4", LIMITS);
        assert_eq!(h.field_expire_time(b"b"), None);
        assert!(!h.has_field_ttls());
        // Still listpackex: Redis does not convert back either.
        assert_eq!(h.encoding_name(), "listpackex");
        for i in 0..5 {
            h.set(format!("f{i}").as_bytes(), b"v", LIMITS);
        }
        assert_eq!(h.encoding_name(), "hashtable");
        h.set_field_expire_time(b"f0", 10);
        assert!(h.clear_field_ttl(b"f0"));
        assert!(!h.clear_field_ttl(b"f0"));
        h.set_field_expire_time(b"f1", 10);
        assert_eq!(h.purge_expired(1000).len(), 1);
        assert!(!h.contains(b"f1"));
    }

    fn fields(h: &HashValue) -> Vec<&[u8]> {
        h.iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn packed_fields_keep_redis_listpackex_order() {
        let limits = HashLimits {
            max_entries: 16,
            max_value: 16,
        };
        let mut h = HashValue::new();
        for f in ["a", "b", "c", "d"] {
            h.set(f.as_bytes(), b"v", limits);
        }
        h.set_field_expire_time(b"a", 400);
        h.set_field_expire_time(b"c", 400);
        // Same time: the later one goes first.
        assert_eq!(fields(&h), [&b"c"[..], b"a", b"b", b"d"]);
        h.set_field_expire_time(b"d", 300);
        assert_eq!(fields(&h), [&b"d"[..], b"c", b"a", b"b"]);
        h.set(b"e", b"v", limits);
        assert!(h.clear_field_ttl(b"a"));
        assert_eq!(fields(&h), [&b"d"[..], b"c", b"b", b"e", b"a"]);
        h.set_field_expire_time(b"e", 350);
        assert_eq!(fields(&h), [&b"d"[..], b"e", b"c", b"b", b"a"]);
        // HSET of a field with a TTL moves it last; a keep-TTL write and an
        // HSET of a field without one leave it in place.
        h.set(b"c", b"w", limits);
        h.set_keep_ttl(b"d", b"w", limits);
        h.set(b"a", b"w", limits);
        assert_eq!(fields(&h), [&b"d"[..], b"e", b"b", b"a", b"c"]);
        assert_eq!(h.get(b"c"), Some(&b"w"[..]));
        assert_eq!(h.get(b"d"), Some(&b"w"[..]));
        // A later time goes after the earlier ones; loading keeps order.
        h.set_field_expire_time(b"c", 360);
        assert_eq!(fields(&h), [&b"d"[..], b"e", b"c", b"b", b"a"]);
        h.load_field_expire_time(b"a", 1);
        assert_eq!(fields(&h), [&b"d"[..], b"e", b"c", b"b", b"a"]);
        assert_eq!(h.field_expire_time(b"a"), Some(1));
    }

    #[test]
    fn prepare_field_ttls_makes_listpackex() {
        let mut h = HashValue::new();
        h.set(b"a", b"1", LIMITS);
        h.prepare_field_ttls();
        assert_eq!(h.encoding_name(), "listpackex");
        assert!(!h.has_field_ttls());
    }

    #[test]
    fn random_pair_is_roughly_uniform_on_a_table() {
        let mut h = HashValue::new();
        for i in 0..100 {
            h.set(format!("f{i}").as_bytes(), b"v", LIMITS);
        }
        let mut counts = std::collections::HashMap::new();
        for _ in 0..100_000 {
            let (f, _) = h.random_pair(crate::util::rand_u64).expect("non-empty");
            *counts.entry(f.to_vec()).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 100);
        // Expected 1000 each; bucket-then-chain picking is off by 2x or more.
        for (f, n) in counts {
            assert!((700..1300).contains(&n), "{:?} picked {n} times", f);
        }
    }

    #[test]
    fn random_pair_and_scan() {
        let mut h = HashValue::new();
        assert!(h.random_pair(crate::util::rand_u64).is_none());
        h.set(b"a", b"1", LIMITS);
        assert_eq!(
            h.random_pair(crate::util::rand_u64),
            Some((&b"a"[..], &b"1"[..]))
        );
        assert!(h.scan_step(0, |_, _| {}).is_none());
        for i in 0..20 {
            h.set(format!("f{i}").as_bytes(), b"v", LIMITS);
        }
        let mut seen = 0;
        let mut cursor = 0;
        loop {
            cursor = h.scan_step(cursor, |_, _| seen += 1).unwrap_or(0);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, 21);
    }
}
