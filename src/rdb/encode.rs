//! Serialising values, keys and file framing in RDB format.

use super::listpack::ListpackWriter;
use super::{crc64, lzf, opcodes, types};
use crate::types::{HashValue, ListValue, Value, ZSetValue};

/// Strings longer than this are offered to LZF when compression is on (as
/// Redis does: shorter ones rarely shrink).
const COMPRESS_MIN: usize = 20;

/// An RDB serialiser writing into a byte buffer.
pub struct Encoder {
    /// The bytes written so far (callers drain it into a file).
    pub buf: Vec<u8>,
    /// `rdbcompression`: LZF-compress long strings.
    compress: bool,
}

impl Encoder {
    /// An empty encoder.
    pub fn new(compress: bool) -> Encoder {
        Encoder {
            buf: Vec::new(),
            compress,
        }
    }

    /// A length in RDB's variable-size form.
    pub fn length(&mut self, n: u64) {
        if n < 1 << 6 {
            self.buf.push(n as u8);
        } else if n < 1 << 14 {
            self.buf.push(0x40 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else if n <= u64::from(u32::MAX) {
            self.buf.push(0x80);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.buf.push(0x81);
            self.buf.extend_from_slice(&n.to_be_bytes());
        }
    }

    /// An integer as a string object: the compact integer encodings when it
    /// fits 32 bits, its decimal text otherwise.
    pub fn int_string(&mut self, n: i64) {
        if let Ok(v) = i8::try_from(n) {
            self.buf.push(0xC0);
            self.buf.extend_from_slice(&v.to_le_bytes());
        } else if let Ok(v) = i16::try_from(n) {
            self.buf.push(0xC1);
            self.buf.extend_from_slice(&v.to_le_bytes());
        } else if let Ok(v) = i32::try_from(n) {
            self.buf.push(0xC2);
            self.buf.extend_from_slice(&v.to_le_bytes());
        } else {
            let mut text = Vec::with_capacity(20);
            crate::reply::push_i64(&mut text, n);
            self.raw_string(&text);
        }
    }

    /// A string: as an integer when it is one that fits 32 bits, LZF
    /// compressed when that makes it shorter, raw otherwise.
    pub fn string(&mut self, s: &[u8]) {
        if s.len() <= 11 {
            if let Some(n) = crate::protocol::parse_i64(s) {
                if i32::try_from(n).is_ok() {
                    self.int_string(n);
                    return;
                }
            }
        }
        if self.compress && s.len() > COMPRESS_MIN {
            if let Some(packed) = lzf::compress(s) {
                self.buf.push(0xC3);
                self.length(packed.len() as u64);
                self.length(s.len() as u64);
                self.buf.extend_from_slice(&packed);
                return;
            }
        }
        self.raw_string(s);
    }

    fn raw_string(&mut self, s: &[u8]) {
        self.length(s.len() as u64);
        self.buf.extend_from_slice(s);
    }

    /// A time in Unix milliseconds (8 bytes, little-endian).
    pub fn ms_time(&mut self, ms: i64) {
        self.buf.extend_from_slice(&ms.to_le_bytes());
    }

    /// Writes `value`'s type byte and body.
    pub fn value(&mut self, value: &Value) {
        self.buf.push(type_of(value));
        self.body(value);
    }

    /// Writes `value`'s body (what follows its type byte and key).
    fn body(&mut self, value: &Value) {
        match value {
            Value::Str(s) => match s.int_value() {
                Some(n) => self.int_string(n),
                None => self.string(&s.as_bytes()),
            },
            Value::List(l) => self.list(l),
            Value::Hash(h) => self.hash(h),
            Value::Set(s) => self.set(s),
            Value::ZSet(z) => self.zset(z),
        }
    }

    fn zset(&mut self, z: &ZSetValue) {
        if z.is_packed() {
            let mut lp = ListpackWriter::new();
            z.walk(0, false, |m, s| {
                lp.push(m);
                lp.push(crate::util::numfmt::format_double(s).as_bytes());
                true
            });
            self.string(&lp.finish());
        } else {
            // Largest first, as Redis writes them (its loader then inserts
            // each at the head).
            self.length(z.len() as u64);
            if let Some(last) = z.len().checked_sub(1) {
                z.walk(last, true, |m, s| {
                    self.string(m);
                    self.buf.extend_from_slice(&s.to_le_bytes());
                    true
                });
            }
        }
    }

    /// A set as Redis 7.0 writes it: an intset as its blob, any other
    /// encoding as the member count and members (7.0 has no listpack sets).
    fn set(&mut self, set: &crate::types::SetValue) {
        match set.intset_blob() {
            Some(blob) => self.string(&blob),
            None => {
                self.length(set.len() as u64);
                for m in set.iter() {
                    self.string(&m.bytes());
                }
            }
        }
    }

    fn list(&mut self, list: &ListValue) {
        const PACKED_NODE: u64 = 2;
        // Redis counts a node's entries in 16 bits: a longer node of ours
        // (a large positive list-max-listpack-size) is written as several.
        const MAX_NODE_ENTRIES: usize = u16::MAX as usize;
        let nodes = list.nodes().filter(|n| !n.is_empty());
        let written: usize = nodes
            .clone()
            .map(|n| n.len().div_ceil(MAX_NODE_ENTRIES))
            .sum();
        self.length(written as u64);
        for node in nodes {
            let mut items = node.iter().peekable();
            while items.peek().is_some() {
                self.length(PACKED_NODE);
                let mut lp = ListpackWriter::new();
                for item in items.by_ref().take(MAX_NODE_ENTRIES) {
                    lp.push(item);
                }
                self.string(&lp.finish());
            }
        }
    }

    fn hash(&mut self, h: &HashValue) {
        match hash_type(h) {
            types::HASH_LISTPACK => {
                let mut lp = ListpackWriter::new();
                for (field, value) in h.iter() {
                    lp.push(field);
                    lp.push(value);
                }
                self.string(&lp.finish());
            }
            types::HASH => {
                self.length(h.len() as u64);
                for (field, value) in h.iter() {
                    self.string(field);
                    self.string(value);
                }
            }
            types::HASH_LISTPACK_EX => {
                // Triplets of field, value and absolute expiry (0: none).
                self.ms_time(h.next_field_expiry().unwrap_or(0));
                let mut lp = ListpackWriter::new();
                let mut text = Vec::with_capacity(20);
                for (field, value) in h.iter() {
                    lp.push(field);
                    lp.push(value);
                    text.clear();
                    crate::reply::push_i64(&mut text, h.field_expire_time(field).unwrap_or(0));
                    lp.push(&text);
                }
                self.string(&lp.finish());
            }
            _ => {
                // HASH_METADATA: each field's TTL relative to the earliest,
                // plus one (0: no TTL).
                let base = h.next_field_expiry().unwrap_or(0);
                self.ms_time(base);
                self.length(h.len() as u64);
                for (field, value) in h.iter() {
                    let ttl = h
                        .field_expire_time(field)
                        .map_or(0, |t| t.saturating_sub(base).saturating_add(1) as u64);
                    self.length(ttl);
                    self.string(field);
                    self.string(value);
                }
            }
        }
    }

    /// One key with its value and optional expiry.
    pub fn key_value(&mut self, key: &[u8], value: &Value, expire_ms: Option<i64>) {
        if let Some(when) = expire_ms {
            self.buf.push(opcodes::EXPIRETIME_MS);
            self.ms_time(when);
        }
        self.buf.push(type_of(value));
        self.string(key);
        self.body(value);
    }

    /// The file header for `version`.
    pub fn header(&mut self, version: u16) {
        self.buf
            .extend_from_slice(format!("REDIS{version:04}").as_bytes());
    }

    /// An auxiliary field.
    pub fn aux(&mut self, name: &str, value: &[u8]) {
        self.buf.push(opcodes::AUX);
        self.string(name.as_bytes());
        self.string(value);
    }

    /// Switches to database `db` for the records that follow.
    pub fn select(&mut self, db: usize) {
        self.buf.push(opcodes::SELECTDB);
        self.length(db as u64);
    }

    /// The start of database `db`, with its table sizes.
    pub fn select_db(&mut self, db: usize, keys: usize, expires: usize) {
        self.buf.push(opcodes::SELECTDB);
        self.length(db as u64);
        self.buf.push(opcodes::RESIZEDB);
        self.length(keys as u64);
        self.length(expires as u64);
    }
}

/// The type byte `value` is written with.
pub fn type_of(value: &Value) -> u8 {
    match value {
        Value::Str(_) => types::STRING,
        Value::List(_) => types::LIST_QUICKLIST_2,
        Value::Hash(h) => hash_type(h),
        Value::ZSet(z) if z.is_packed() => types::ZSET_LISTPACK,
        Value::ZSet(_) => types::ZSET_2,
        Value::Set(s) if s.is_intset() => types::SET_INTSET,
        Value::Set(_) => types::SET,
    }
}

fn hash_type(h: &HashValue) -> u8 {
    // A packed hash that has had field TTLs is `listpackex`, written with
    // its TTL column even when no field has one now, as Redis 7.4 does.
    match (
        h.is_packed(),
        h.encoding_name() == "listpackex" || h.has_field_ttls(),
    ) {
        (true, false) => types::HASH_LISTPACK,
        (false, false) => types::HASH,
        (true, true) => types::HASH_LISTPACK_EX,
        (false, true) => types::HASH_METADATA,
    }
}

/// True if `value` needs Redis 7.4's types (and so version 12).
pub fn needs_field_ttl_types(value: &Value) -> bool {
    matches!(
        type_of(value),
        types::HASH_LISTPACK_EX | types::HASH_METADATA
    )
}

/// A DUMP payload: the value, the RDB version (2 bytes) and a CRC-64 of
/// both (8 bytes), all little-endian.
pub fn dump_payload(value: &Value) -> Vec<u8> {
    let mut enc = Encoder::new(true);
    enc.value(value);
    let version = if needs_field_ttl_types(value) {
        super::VERSION_FIELD_TTLS
    } else {
        super::VERSION
    };
    seal(enc.buf, version)
}

/// Ends a DUMP-style payload: the RDB version, then a CRC-64 of all
/// before it.
fn seal(mut buf: Vec<u8>, version: u16) -> Vec<u8> {
    buf.extend_from_slice(&version.to_le_bytes());
    let crc = crc64::crc64(0, &buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf
}

impl Encoder {
    /// A function library's record, as an RDB file holds it (after the
    /// auxiliary fields) and FUNCTION DUMP writes it.
    pub fn function_library(&mut self, code: &[u8]) {
        self.buf.push(super::opcodes::FUNCTION2);
        self.string(code);
    }
}

/// FUNCTION DUMP's payload: each library's record, sealed as a DUMP
/// payload is.
pub fn functions_payload<'a>(codes: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut enc = Encoder::new(true);
    for code in codes {
        enc.function_library(code);
    }
    seal(enc.buf, super::VERSION)
}
