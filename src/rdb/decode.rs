//! Reading RDB files and DUMP payloads back into values.
//!
//! Every length read from the input is checked against the bytes that
//! remain before anything is allocated for it, and compressed strings may
//! not claim more than LZF could expand to, so memory stays proportional to
//! the input whatever it holds.

use super::{crc64, listpack, lzf, opcodes, types, RdbError, MAX_READ_VERSION};
use crate::types::hash::HashLimits;
use crate::types::list::ListLimits;
use crate::types::listpack::Listpack;
use crate::types::set::SetLimits;
use crate::types::zset::ZSetLimits;
use crate::types::{HashValue, ListValue, SetValue, StrValue, Value, ZSetValue};
use std::io::Read;

/// LZF output is at most this many times its input (a 3-byte back
/// reference yields at most 264 bytes), so a larger claim is corrupt.
const LZF_MAX_RATIO: u64 = 90;

/// Encoding thresholds for the values being built.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Hash conversion thresholds.
    pub hash: HashLimits,
    /// List node sizes.
    pub list: ListLimits,
    /// Sorted set conversion thresholds.
    pub zset: ZSetLimits,
    /// Set conversion thresholds.
    pub set: SetLimits,
}

type Result<T> = std::result::Result<T, RdbError>;

/// Bytes a [`Decoder`] reads from its input at a time.
const READ_AHEAD: usize = 1 << 20;

/// A streaming RDB reader that knows how many bytes remain and keeps a
/// running CRC-64 of what it has read.
///
/// It reads its input in large blocks into its own buffer, so the many
/// small fields of a file cost a bounds check each rather than a read
/// call, and the checksum is taken over whole blocks as they are consumed.
pub struct Decoder<R> {
    input: R,
    /// Bytes of the input not consumed yet (including those buffered).
    remaining: u64,
    buf: Vec<u8>,
    /// The next unconsumed byte of `buf`, and the end of its valid bytes.
    pos: usize,
    end: usize,
    /// CRC-64 of the bytes consumed before `buf[..pos]`.
    crc: u64,
}

impl<R: Read> Decoder<R> {
    /// Reads from `input`, which holds exactly `size` bytes.
    pub fn new(input: R, size: u64) -> Decoder<R> {
        Decoder {
            input,
            remaining: size,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            crc: 0,
        }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// CRC-64 of every byte consumed so far.
    fn crc(&self) -> u64 {
        crc64::crc64(self.crc, &self.buf[..self.pos])
    }

    /// Consumes the next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if n as u64 > self.remaining {
            return Err(RdbError::new("unexpected end of data"));
        }
        if self.end - self.pos < n {
            self.refill(n)?;
        }
        let at = self.pos;
        self.pos += n;
        self.remaining -= n as u64;
        Ok(&self.buf[at..at + n])
    }

    /// Makes at least `n` bytes available from `pos`. `n` never exceeds
    /// what remains of the input, so the buffer stays within its size.
    fn refill(&mut self, n: usize) -> Result<()> {
        self.crc = crc64::crc64(self.crc, &self.buf[..self.pos]);
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        let want = n.max(READ_AHEAD).min(self.end + self.remaining as usize);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.end < n {
            let limit = want.max(n);
            match self.input.read(&mut self.buf[self.end..limit]) {
                Ok(0) => return Err(RdbError::new("unexpected end of file")),
                Ok(got) => self.end += got,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RdbError::new(format!("read error: {e}"))),
            }
        }
        Ok(())
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        if n > self.remaining {
            return Err(RdbError::new("a length runs past the end of the data"));
        }
        self.take(n as usize).map(<[u8]>::to_vec)
    }

    /// One byte.
    pub fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        b.copy_from_slice(self.take(N)?);
        Ok(b)
    }

    /// A length, or the special encoding that takes its place.
    fn len_or_encoding(&mut self) -> Result<std::result::Result<u64, u8>> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Ok(u64::from(first & 0x3F)),
            1 => Ok(u64::from(first & 0x3F) << 8 | u64::from(self.byte()?)),
            2 => match first {
                0x80 => Ok(u64::from(u32::from_be_bytes(self.array()?))),
                0x81 => Ok(u64::from_be_bytes(self.array()?)),
                _ => return Err(RdbError::new(format!("unknown length encoding {first:#x}"))),
            },
            _ => Err(first & 0x3F),
        })
    }

    /// A plain length.
    pub fn length(&mut self) -> Result<u64> {
        self.len_or_encoding()?
            .map_err(|_| RdbError::new("an encoded value where a length belongs"))
    }

    /// A string object in any of its encodings.
    pub fn string(&mut self) -> Result<Vec<u8>> {
        match self.len_or_encoding()? {
            Ok(n) => self.bytes(n),
            Err(enc) => {
                let n: i64 = match enc {
                    0 => i64::from(i8::from_le_bytes(self.array()?)),
                    1 => i64::from(i16::from_le_bytes(self.array()?)),
                    2 => i64::from(i32::from_le_bytes(self.array()?)),
                    3 => return self.lzf_string(),
                    _ => return Err(RdbError::new(format!("unknown string encoding {enc}"))),
                };
                let mut text = Vec::with_capacity(20);
                crate::reply::push_i64(&mut text, n);
                Ok(text)
            }
        }
    }

    /// A key, stored straight from the read buffer into its final form.
    fn key(&mut self) -> Result<crate::dict::DictKey> {
        Ok(match self.string_ref()? {
            Some(raw) => crate::dict::DictKey::new(raw),
            None => crate::dict::DictKey::new(&self.string()?),
        })
    }

    /// The next string if it is stored raw, borrowed from the read buffer
    /// and consumed; `None` (consuming nothing) for the other encodings.
    fn string_ref(&mut self) -> Result<Option<&[u8]>> {
        let Some(&first) = self.peek_byte()? else {
            return Ok(None);
        };
        if first >> 6 == 3 {
            return Ok(None);
        }
        let n = self.length()?;
        if n > self.remaining {
            return Err(RdbError::new("a length runs past the end of the data"));
        }
        self.take(n as usize).map(Some)
    }

    /// The next byte without consuming it.
    fn peek_byte(&mut self) -> Result<Option<&u8>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        if self.pos == self.end {
            self.refill(1)?;
        }
        Ok(self.buf.get(self.pos))
    }

    fn lzf_string(&mut self) -> Result<Vec<u8>> {
        let packed_len = self.length()?;
        let len = self.length()?;
        if len > packed_len.saturating_mul(LZF_MAX_RATIO).saturating_add(64) {
            return Err(RdbError::new(
                "compressed string claims an impossible length",
            ));
        }
        let packed = self.bytes(packed_len)?;
        lzf::decompress(&packed, len as usize)
            .ok_or_else(|| RdbError::new("invalid LZF compressed string"))
    }

    /// A time in Unix milliseconds (8 bytes, little-endian).
    pub fn ms_time(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A value of type `t`; `None` for a container with no elements left
    /// (empty, or every hash field already expired at `now_ms`), which
    /// Redis skips too.
    pub fn value(&mut self, t: u8, limits: Limits, now_ms: i64) -> Result<Option<Value>> {
        let value = match t {
            types::STRING => Value::Str(StrValue::from_vec(self.string()?)),
            types::LIST_QUICKLIST_2 => Value::List(Box::new(self.list(limits.list)?)),
            types::SET => Value::Set(self.set_members(limits.set)?),
            types::SET_INTSET => Value::Set(self.set_intset(limits.set)?),
            types::SET_LISTPACK => Value::Set(self.set_listpack(limits.set)?),
            types::HASH => Value::Hash(self.hash_pairs(limits.hash, false)?),
            types::HASH_METADATA => Value::Hash(self.hash_pairs(limits.hash, true)?),
            types::HASH_LISTPACK => Value::Hash(self.hash_listpack(limits.hash, 2)?),
            types::HASH_LISTPACK_EX => {
                // The earliest field expiry; recomputed from the fields.
                self.ms_time()?;
                Value::Hash(self.hash_listpack(limits.hash, 3)?)
            }
            types::ZSET | types::ZSET_2 => Value::ZSet(self.zset_pairs(limits.zset, t)?),
            types::ZSET_LISTPACK => {
                let blob = self.string()?;
                Value::ZSet(zset_from_listpack(&blob, limits.zset)?)
            }
            types::ZSET_ZIPLIST => {
                let blob = self.string()?;
                let mut items: Vec<Vec<u8>> = Vec::new();
                super::ziplist::for_each(&blob, |item| items.push(item.to_vec()))
                    .map_err(|e| RdbError::new(format!("invalid ziplist: {e}")))?;
                Value::ZSet(zset_from_items(items, limits.zset)?)
            }
            other => {
                return Err(RdbError::new(match types::unsupported_name(other) {
                    Some(name) => {
                        format!("a {name} (RDB type {other}), which ferrodis cannot hold yet")
                    }
                    None => format!("unknown RDB value type {other}"),
                }))
            }
        };
        Ok(match value {
            Value::List(l) if l.is_empty() => None,
            Value::ZSet(z) if z.is_empty() => None,
            Value::Set(s) if s.is_empty() => None,
            Value::Hash(mut h) => {
                h.purge_expired(now_ms);
                (!h.is_empty()).then_some(Value::Hash(h))
            }
            v => Some(v),
        })
    }

    fn list(&mut self, limits: ListLimits) -> Result<ListValue> {
        const PLAIN_NODE: u64 = 1;
        const PACKED_NODE: u64 = 2;
        let nodes = self.length()?;
        let mut list = ListValue::new();
        for _ in 0..nodes {
            match self.length()? {
                PLAIN_NODE => list.push_back(&self.string()?, limits),
                PACKED_NODE => {
                    let blob = self.string()?;
                    visit(&blob, |item| {
                        list.push_back(item, limits);
                        Ok(())
                    })?;
                }
                other => {
                    return Err(RdbError::new(format!(
                        "unknown list node container {other}"
                    )))
                }
            }
        }
        Ok(list)
    }

    /// A `SET`: a count, then the members. The count is not trusted for
    /// allocation: each member read must be in the input.
    fn set_members(&mut self, limits: SetLimits) -> Result<SetValue> {
        let n = self.length()?;
        let mut members = Vec::new();
        for _ in 0..n {
            members.push(self.string()?);
        }
        set_from_members(&members, limits)
    }

    /// A `SET_INTSET`: Redis's intset blob as a string.
    fn set_intset(&mut self, limits: SetLimits) -> Result<SetValue> {
        let blob = self.string()?;
        let ints = crate::types::set::parse_intset_blob(&blob)
            .ok_or_else(|| RdbError::new("invalid intset"))?;
        Ok(SetValue::from_sorted_ints(&ints, limits))
    }

    /// A `SET_LISTPACK` (Redis 7.2): one listpack of the members.
    fn set_listpack(&mut self, limits: SetLimits) -> Result<SetValue> {
        let blob = self.string()?;
        let mut members = Vec::new();
        visit(&blob, |m| {
            members.push(m.to_vec());
            Ok(())
        })?;
        set_from_members(&members, limits)
    }

    fn hash_pairs(&mut self, limits: HashLimits, with_ttls: bool) -> Result<HashValue> {
        let base = if with_ttls { self.ms_time()? } else { 0 };
        let fields = self.length()?;
        let mut h = HashValue::new();
        for _ in 0..fields {
            let ttl = if with_ttls { self.length()? } else { 0 };
            let field = self.string()?;
            let value = self.string()?;
            if !h.set(&field, &value, limits) {
                return Err(RdbError::new("duplicate hash fields"));
            }
            if ttl != 0 {
                let when = i64::try_from(ttl - 1)
                    .ok()
                    .and_then(|rel| base.checked_add(rel))
                    .ok_or_else(|| RdbError::new("invalid hash field expiry"))?;
                h.set_field_expire_time(&field, when);
            }
        }
        Ok(h)
    }

    /// A sorted set as pairs: ZSET_2 with binary doubles, the old ZSET
    /// with scores as short strings.
    fn zset_pairs(&mut self, limits: ZSetLimits, t: u8) -> Result<ZSetValue> {
        let n = self.length()?;
        // Each pair takes at least two bytes: a count beyond the data
        // left is corrupt, and nothing is reserved from it.
        if n > self.remaining() {
            return Err(RdbError::new(
                "a sorted set claims more members than the data holds",
            ));
        }
        let mut z = ZSetValue::with_hint(n as usize, 0, limits);
        for _ in 0..n {
            let member = self.string()?;
            let score = if t == types::ZSET_2 {
                f64::from_le_bytes(self.array()?)
            } else {
                let len = self.array::<1>()?[0];
                match len {
                    253 => f64::NAN,
                    254 => f64::INFINITY,
                    255 => f64::NEG_INFINITY,
                    n => {
                        let text = self.bytes(u64::from(n))?;
                        parse_score_text(&text)?
                    }
                }
            };
            if score.is_nan() {
                return Err(RdbError::new("a sorted set score is not a number"));
            }
            if !z.set(&member, score, limits) {
                return Err(RdbError::new("duplicate sorted set members"));
            }
        }
        Ok(z)
    }

    fn hash_listpack(&mut self, limits: HashLimits, tuple: usize) -> Result<HashValue> {
        let blob = self.string()?;
        hash_from_listpack(&blob, limits, tuple)
    }
}

/// Builds a hash from a Redis listpack blob of `tuple`-entry records
/// (field, value, and with 3 the field's expiry time).
pub fn hash_from_listpack(blob: &[u8], limits: HashLimits, tuple: usize) -> Result<HashValue> {
    {
        // Gather the entries into one buffer, then build the hash in one
        // allocation rather than field by field.
        let mut arena = Vec::with_capacity(blob.len());
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let count = visit(blob, |item| {
            spans.push((arena.len(), item.len()));
            arena.extend_from_slice(item);
            Ok(())
        })?;
        if count % tuple != 0 {
            return Err(RdbError::new("hash listpack with a partial entry"));
        }
        let item = |(at, len): (usize, usize)| &arena[at..at + len];
        let fields = || spans.chunks(tuple).map(|t| item(t[0]));
        if has_duplicates(fields()) {
            return Err(RdbError::new("duplicate hash fields"));
        }
        let pairs = spans.chunks(tuple).flat_map(|t| [item(t[0]), item(t[1])]);
        let mut h = HashValue::from_pairs(Listpack::from_items(pairs), limits);
        if tuple == 3 {
            for t in spans.chunks(3) {
                match crate::protocol::parse_i64(item(t[2])) {
                    Some(0) => {}
                    // The blob is in Redis's order already.
                    Some(when) if when > 0 => h.load_field_expire_time(item(t[0]), when),
                    _ => return Err(RdbError::new("invalid hash field expiry")),
                }
            }
        }
        Ok(h)
    }
}

/// A score written as text (in a listpack or an old ZSET record).
fn parse_score_text(text: &[u8]) -> Result<f64> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| !v.is_nan())
        .ok_or_else(|| RdbError::new("invalid sorted set score"))
}

/// Builds a sorted set from a listpack of alternating members and
/// scores, checking that it is well formed: pairs, valid scores, no
/// member twice.
pub fn zset_from_listpack(blob: &[u8], limits: ZSetLimits) -> Result<ZSetValue> {
    let mut items: Vec<Vec<u8>> = Vec::new();
    visit(blob, |item| {
        items.push(item.to_vec());
        Ok(())
    })?;
    zset_from_items(items, limits)
}

/// Builds a sorted set from alternating member and score-text entries.
fn zset_from_items(items: Vec<Vec<u8>>, limits: ZSetLimits) -> Result<ZSetValue> {
    if items.len() % 2 != 0 {
        return Err(RdbError::new("sorted set listpack with a partial entry"));
    }
    let members = items.len() / 2;
    let longest = items.chunks(2).map(|p| p[0].len()).max().unwrap_or(0);
    let mut z = ZSetValue::with_hint(members, longest, limits);
    for pair in items.chunks(2) {
        let score = parse_score_text(&pair[1])?;
        if !z.set(&pair[0], score, limits) {
            return Err(RdbError::new("duplicate sorted set members"));
        }
    }
    Ok(z)
}

/// A set of `members`, which must be distinct (Redis refuses a file with a
/// repeated member too).
fn set_from_members(members: &[Vec<u8>], limits: SetLimits) -> Result<SetValue> {
    if has_duplicates(members.iter().map(Vec::as_slice)) {
        return Err(RdbError::new("duplicate set members"));
    }
    Ok(SetValue::from_members(
        members.iter().map(Vec::as_slice),
        limits,
    ))
}

/// True if two of `items` are equal.
fn has_duplicates<'a>(items: impl Iterator<Item = &'a [u8]> + Clone) -> bool {
    let n = items.clone().count();
    if n <= 16 {
        let all: Vec<&[u8]> = items.collect();
        // Field names mostly differ in their last byte: compare it first.
        let same = |a: &[u8], b: &[u8]| a.len() == b.len() && a.last() == b.last() && a == b;
        return all
            .iter()
            .enumerate()
            .any(|(i, a)| all[..i].iter().any(|b| same(a, b)));
    }
    let mut seen = std::collections::HashSet::with_capacity(n);
    items.into_iter().any(|f| !seen.insert(f))
}

/// Calls `f` on each element of a Redis listpack blob.
fn visit(blob: &[u8], f: impl FnMut(&[u8]) -> Result<()>) -> Result<usize> {
    match listpack::for_each(blob, f) {
        Ok(Ok(count)) => Ok(count),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(RdbError::new(format!("invalid listpack: {e}"))),
    }
}

/// One key read from a file.
pub struct LoadedKey {
    /// Its database.
    pub db: usize,
    /// The key, ready to store.
    pub key: crate::dict::DictKey,
    /// [`crate::dict::hash_key`] of the key.
    pub hash: u64,
    /// The value.
    pub value: LoadedValue,
    /// Absolute expiry, Unix milliseconds.
    pub expire_ms: Option<i64>,
}

/// A loaded value, or one whose decoding was left to the inserting thread
/// (see [`load_file`]'s `defer`).
pub enum LoadedValue {
    /// Decoded.
    Ready(Value),
    /// A hash still in Redis's listpack form: [`LoadedValue::into_value`]
    /// builds it.
    HashListpack(Vec<u8>),
}

impl LoadedValue {
    /// The value, decoding it if that was deferred (`None`: it is empty).
    pub fn into_value(self, limits: Limits) -> Result<Option<Value>> {
        match self {
            LoadedValue::Ready(v) => Ok(Some(v)),
            LoadedValue::HashListpack(blob) => {
                let h = hash_from_listpack(&blob, limits.hash, 2)?;
                Ok((!h.is_empty()).then_some(Value::Hash(h)))
            }
        }
    }
}

/// What [`load_file`] hands its sink, in file order.
pub enum LoadEvent {
    /// The sizes the next database's tables will reach (a hint).
    Resize {
        /// The database.
        db: usize,
        /// Its number of keys.
        keys: u64,
        /// Its number of keys with a TTL.
        expires: u64,
    },
    /// A live key.
    Key(LoadedKey),
    /// A function library's code (shebang included).
    Library(Vec<u8>),
}

/// What a file said besides its keys.
#[derive(Debug, Default)]
pub struct FileInfo {
    /// The RDB version of the file.
    pub version: u16,
    /// Auxiliary fields, in order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keys skipped because they had already expired.
    pub expired_skipped: u64,
    /// Keys passed to the sink.
    pub loaded: u64,
    /// Bytes up to the end of the checksum (an old-style AOF continues
    /// after them with commands).
    pub consumed: u64,
}

/// Reads a whole RDB file of `size` bytes, passing each live key (and each
/// table size hint) to `sink` and keeping `progress` at the bytes read. Keys
/// already expired at `now_ms` are skipped, as a Redis primary does. While
/// `defer()` is true, listpack hashes are handed over undecoded (the
/// loader's other thread then builds them, so the two share the work).
#[allow(clippy::too_many_arguments)]
pub fn load_file<R: Read>(
    input: R,
    size: u64,
    num_dbs: usize,
    limits: Limits,
    now_ms: i64,
    progress: &std::sync::atomic::AtomicU64,
    defer: impl Fn() -> bool,
    mut sink: impl FnMut(LoadEvent) -> Result<()>,
) -> Result<FileInfo> {
    let mut d = Decoder::new(input, size);
    let header: [u8; 9] = d
        .array()
        .map_err(|_| RdbError::new("the file is too short to be an RDB file"))?;
    if &header[..5] != b"REDIS" {
        return Err(RdbError::new("wrong signature trying to load DB from file"));
    }
    let version = std::str::from_utf8(&header[5..])
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|v| (1..=MAX_READ_VERSION).contains(v))
        .ok_or_else(|| {
            RdbError::new(format!(
                "can't handle RDB format version {}",
                String::from_utf8_lossy(&header[5..])
            ))
        })?;
    let mut info = FileInfo {
        version,
        ..FileInfo::default()
    };
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    loop {
        let op = d.byte()?;
        match op {
            opcodes::EXPIRETIME_MS => {
                expire = Some(d.ms_time()?);
                continue;
            }
            opcodes::EXPIRETIME => {
                let secs = i32::from_le_bytes(d.array()?);
                expire = Some(i64::from(secs) * 1000);
                continue;
            }
            opcodes::IDLE => {
                d.length()?;
                continue;
            }
            opcodes::FREQ => {
                d.byte()?;
                continue;
            }
            opcodes::SELECTDB => {
                let n = d.length()?;
                db = usize::try_from(n)
                    .ok()
                    .filter(|&n| n < num_dbs)
                    .ok_or_else(|| {
                        RdbError::new(format!(
                            "the file has database {n}, but the server is configured for {num_dbs} databases"
                        ))
                    })?;
                continue;
            }
            opcodes::RESIZEDB => {
                let keys = d.length()?;
                let expires = d.length()?;
                sink(LoadEvent::Resize { db, keys, expires })?;
                continue;
            }
            opcodes::AUX => {
                let name = d.string()?;
                let value = d.string()?;
                info.aux.push((name, value));
                continue;
            }
            opcodes::MODULE_AUX => {
                return Err(RdbError::new(
                    "the file holds module data, which ferrodis cannot load",
                ))
            }
            opcodes::FUNCTION2 | opcodes::FUNCTION_PRE_GA => {
                let code = d
                    .function_library(op)
                    .map_err(|e| RdbError::new(format!("Failed loading library, {}", e.0)))?;
                sink(LoadEvent::Library(code))?;
                continue;
            }
            opcodes::EOF => {
                if version >= 5 {
                    let computed = d.crc();
                    let stored = u64::from_le_bytes(d.array()?);
                    if stored != 0 && stored != computed {
                        return Err(RdbError::new(format!(
                            "wrong RDB checksum expected: ({stored:x}) got: ({computed:x})"
                        )));
                    }
                }
                info.consumed = size - d.remaining();
                return Ok(info);
            }
            value_type => {
                let key = d.key()?;
                let named = |e: RdbError| {
                    RdbError::new(format!(
                        "key '{}' in database {db}: {e}",
                        String::from_utf8_lossy(key.as_bytes())
                    ))
                };
                let value = if value_type == types::HASH_LISTPACK && defer() {
                    Some(LoadedValue::HashListpack(d.string().map_err(named)?))
                } else {
                    d.value(value_type, limits, now_ms)
                        .map_err(named)?
                        .map(LoadedValue::Ready)
                };
                let when = expire.take();
                progress.store(size - d.remaining(), std::sync::atomic::Ordering::Relaxed);
                match value {
                    None => {}
                    Some(_) if when.is_some_and(|t| t <= now_ms) => info.expired_skipped += 1,
                    Some(value) => {
                        info.loaded += 1;
                        let hash = crate::dict::hash_key(key.as_bytes());
                        sink(LoadEvent::Key(LoadedKey {
                            db,
                            key,
                            hash,
                            value,
                            expire_ms: when,
                        }))?;
                    }
                }
            }
        }
    }
}

/// The body of a DUMP-style payload whose RDB version and CRC-64 footer
/// are right; Redis's error text otherwise.
fn payload_body(payload: &[u8]) -> std::result::Result<&[u8], &'static str> {
    const BAD_FOOTER: &str = "ERR DUMP payload version or checksum are wrong";
    if payload.len() < 10 {
        return Err(BAD_FOOTER);
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = u64::from_le_bytes(footer[2..10].try_into().map_err(|_| BAD_FOOTER)?);
    if version > MAX_READ_VERSION || crc != crc64::crc64(0, &payload[..payload.len() - 8]) {
        return Err(BAD_FOOTER);
    }
    Ok(body)
}

/// Decodes a FUNCTION DUMP payload into the libraries' code; errors are
/// Redis's reply texts.
pub fn functions_payload(payload: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
    let body = payload_body(payload)?;
    let mut d = Decoder::new(body, body.len() as u64);
    let mut codes = Vec::new();
    while d.remaining() > 0 {
        let op = d.byte().map_err(|_| "ERR can not read data type")?;
        if op != opcodes::FUNCTION2 && op != opcodes::FUNCTION_PRE_GA {
            return Err("ERR given type is not a function".into());
        }
        codes.push(d.function_library(op).map_err(|e| format!("ERR {}", e.0))?);
    }
    Ok(codes)
}

impl<R: Read> Decoder<R> {
    /// A function library record's code after its opcode `op`; the error
    /// is Redis's text. The pre-GA form gets the shebang Redis gives it.
    fn function_library(&mut self, op: u8) -> Result<Vec<u8>> {
        if op == opcodes::FUNCTION2 {
            return self
                .string()
                .map_err(|_| RdbError::new("Failed loading library payload"));
        }
        let name = self
            .string()
            .map_err(|_| RdbError::new("Failed loading library name"))?;
        let engine = self
            .string()
            .map_err(|_| RdbError::new("Failed loading engine name"))?;
        let has_description = self
            .length()
            .map_err(|_| RdbError::new("Failed loading library description indicator"))?;
        if has_description != 0 {
            self.string()
                .map_err(|_| RdbError::new("Failed loading library description"))?;
        }
        let blob = self
            .string()
            .map_err(|_| RdbError::new("Failed loading library blob"))?;
        let mut code = b"#!".to_vec();
        code.extend_from_slice(&engine);
        code.extend_from_slice(b" name=");
        code.extend_from_slice(&name);
        code.push(b'\n');
        code.extend_from_slice(&blob);
        Ok(code)
    }
}

/// Decodes a DUMP payload: checks its RDB version and CRC-64 footer, then
/// reads the value. Errors carry Redis's reply texts.
pub fn restore_payload(
    payload: &[u8],
    limits: Limits,
    now_ms: i64,
) -> std::result::Result<Value, &'static str> {
    let body = payload_body(payload)?;
    const BAD_DATA: &str = "ERR Bad data format";
    let mut d = Decoder::new(body, body.len() as u64);
    let t = d.byte().map_err(|_| BAD_DATA)?;
    match d.value(t, limits, now_ms) {
        Ok(Some(value)) => Ok(value),
        _ => Err(BAD_DATA),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::encode::dump_payload;

    const LIMITS: Limits = Limits {
        hash: HashLimits {
            max_entries: 8,
            max_value: 16,
        },
        list: ListLimits {
            max_listpack_size: 5,
        },
        zset: ZSetLimits {
            max_entries: 8,
            max_value: 16,
        },
        set: crate::types::set::SetLimits {
            max_intset: 4,
            max_listpack_entries: 3,
            max_listpack_value: 8,
        },
    };

    fn round_trip(value: &Value) -> Value {
        let payload = dump_payload(value);
        restore_payload(&payload, LIMITS, 0).expect("payload restores")
    }

    fn list_items(v: &Value) -> Vec<Vec<u8>> {
        match v {
            Value::List(l) => l.iter().map(<[u8]>::to_vec).collect(),
            _ => panic!("not a list"),
        }
    }

    fn hash_fields(v: &Value) -> Vec<(Vec<u8>, Vec<u8>, Option<i64>)> {
        let Value::Hash(h) = v else {
            panic!("not a hash")
        };
        let mut out: Vec<_> = h
            .iter()
            .map(|(f, val)| (f.to_vec(), val.to_vec(), h.field_expire_time(f)))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_kind_of_value_survives_a_dump_payload() {
        for s in [
            &b""[..],
            b"0",
            b"-1",
            b"2147483648",
            b"007",
            b"x",
            &[0xAB; 300],
        ] {
            let v = Value::Str(StrValue::from_bytes(s));
            match round_trip(&v) {
                Value::Str(back) => assert_eq!(back.as_bytes(), s),
                _ => panic!("not a string"),
            }
        }
        let mut list = ListValue::new();
        for i in 0..40 {
            list.push_back(
                format!("item-{}", i * 1000).repeat(i % 4).as_bytes(),
                LIMITS.list,
            );
        }
        let v = Value::List(Box::new(list));
        assert_eq!(list_items(&round_trip(&v)), list_items(&v));

        for fields in [3, 30] {
            let mut h = HashValue::new();
            for i in 0..fields {
                h.set(
                    format!("f{i}").as_bytes(),
                    format!("{}", i * 3).as_bytes(),
                    LIMITS.hash,
                );
            }
            let plain = Value::Hash(h.clone());
            assert_eq!(hash_fields(&round_trip(&plain)), hash_fields(&plain));
            h.set_field_expire_time(b"f1", 4_000_000_000_000);
            h.set_field_expire_time(b"f2", 4_000_000_000_777);
            let with_ttls = Value::Hash(h);
            assert!(crate::rdb::encode::needs_field_ttl_types(&with_ttls));
            assert_eq!(
                hash_fields(&round_trip(&with_ttls)),
                hash_fields(&with_ttls)
            );
        }
    }

    /// Recomputes a payload's CRC-64 footer after its body was changed, so
    /// decoding itself must cope with the damage.
    fn reseal(payload: &mut [u8]) {
        let crc_at = payload.len() - 8;
        let crc = crate::rdb::crc64::crc64(0, &payload[..crc_at]);
        payload[crc_at..].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn a_damaged_payload_is_refused_without_a_panic() {
        let mut list = ListValue::new();
        for i in 0..50 {
            list.push_back(format!("element number {i}").as_bytes(), LIMITS.list);
        }
        let payload = dump_payload(&Value::List(Box::new(list)));
        assert!(restore_payload(&payload[..5], LIMITS, 0).is_err());
        for at in 0..payload.len() {
            let mut bad = payload.clone();
            bad[at] ^= 0x41;
            assert!(restore_payload(&bad, LIMITS, 0).is_err(), "flip at {at}");
        }
        // With a valid footer over damaged data, decoding itself must fail
        // cleanly: recompute the checksum after each change.
        for at in 0..payload.len() - 10 {
            let mut bad = payload.clone();
            bad[at] = bad[at].wrapping_add(0x80);
            reseal(&mut bad);
            let _ = restore_payload(&bad, LIMITS, 0);
        }
    }

    #[test]
    fn a_length_past_the_data_is_an_error_not_an_allocation() {
        // A string claiming 2^62 bytes, and an LZF string claiming to
        // expand 2^40 times.
        let mut body = vec![types::STRING, 0x81];
        body.extend_from_slice(&(1u64 << 62).to_be_bytes());
        let mut d = Decoder::new(&body[1..], body.len() as u64 - 1);
        assert!(d.value(types::STRING, LIMITS, 0).is_err());
        let lzf = [0xC3, 0x01, 0x80, 0x40, 0, 0, 0, 0x00];
        let mut d = Decoder::new(&lzf[..], lzf.len() as u64);
        assert!(d.string().is_err());
    }

    #[test]
    fn sorted_sets_survive_a_payload_and_hostile_ones_are_refused() {
        use crate::types::zset::ZSetLimits;
        let limits = ZSetLimits {
            max_entries: 8,
            max_value: 16,
        };
        for members in [3, 30] {
            let mut z = ZSetValue::default();
            for i in 0..members {
                let score = if i == 2 {
                    f64::NEG_INFINITY
                } else {
                    i as f64 / 3.0
                };
                z.set(format!("m{i}").as_bytes(), score, limits);
            }
            let v = Value::ZSet(z.clone());
            let back = round_trip(&v);
            let Value::ZSet(b) = back else {
                panic!("not a zset")
            };
            assert_eq!(b.pairs(), z.pairs());
            assert_eq!(b.is_packed(), members <= 8);
            // Every single-byte flip with a valid checksum fails cleanly
            // or decodes to something; it never panics.
            let payload = dump_payload(&v);
            for at in 0..payload.len() - 10 {
                let mut bad = payload.clone();
                bad[at] = bad[at].wrapping_add(0x80);
                reseal(&mut bad);
                let _ = restore_payload(&bad, LIMITS, 0);
            }
        }
        // A count of 2^40 pairs in a few bytes; a duplicate member; a NaN.
        let mut huge = vec![0x80];
        huge.extend_from_slice(&(1u32 << 31).to_be_bytes());
        let mut d = Decoder::new(&huge[..], huge.len() as u64);
        assert!(d.value(types::ZSET_2, LIMITS, 0).is_err());
        let mut dup = vec![2, 1, b'a'];
        dup.extend_from_slice(&1f64.to_le_bytes());
        dup.extend_from_slice(&[1, b'a']);
        dup.extend_from_slice(&2f64.to_le_bytes());
        let mut d = Decoder::new(&dup[..], dup.len() as u64);
        assert!(d.value(types::ZSET_2, LIMITS, 0).is_err());
        let mut nan = vec![1, 1, b'a'];
        nan.extend_from_slice(&f64::NAN.to_le_bytes());
        let mut d = Decoder::new(&nan[..], nan.len() as u64);
        assert!(d.value(types::ZSET_2, LIMITS, 0).is_err());
    }

    #[test]
    fn a_redis_6_ziplist_sorted_set_payload_restores() {
        // ZADD z 1 a 2.5 b as Redis 6 dumps it: a ziplist of a, 1, b, "2.5".
        let entries: [&[u8]; 4] = [
            &[0x01, b'a'],
            &[0xF2],
            &[0x01, b'b'],
            &[0x03, b'2', b'.', b'5'],
        ];
        let mut body = Vec::new();
        let mut prev = 0u8;
        for e in entries {
            body.push(prev);
            body.extend_from_slice(e);
            prev = e.len() as u8 + 1;
        }
        let total = 10 + body.len() + 1;
        let mut zl = (total as u32).to_le_bytes().to_vec();
        zl.extend_from_slice(&((total - 1 - prev as usize) as u32).to_le_bytes());
        zl.extend_from_slice(&4u16.to_le_bytes());
        zl.extend(body);
        zl.push(0xFF);
        let mut payload = vec![types::ZSET_ZIPLIST, zl.len() as u8];
        payload.extend(zl);
        payload.extend_from_slice(&9u16.to_le_bytes());
        let crc = crate::rdb::crc64::crc64(0, &payload);
        payload.extend_from_slice(&crc.to_le_bytes());
        let Value::ZSet(z) = restore_payload(&payload, LIMITS, 0).expect("restores") else {
            panic!("not a zset")
        };
        assert_eq!(z.pairs(), vec![(b"a".to_vec(), 1.0), (b"b".to_vec(), 2.5)]);
        assert!(z.is_packed());
    }

    /// A payload of type `t` with `body` after the type byte.
    fn payload_of(t: u8, body: impl FnOnce(&mut crate::rdb::encode::Encoder)) -> Vec<u8> {
        let mut enc = crate::rdb::encode::Encoder::new(false);
        enc.buf.push(t);
        body(&mut enc);
        enc.buf.extend_from_slice(&11u16.to_le_bytes());
        let crc = crc64::crc64(0, &enc.buf);
        enc.buf.extend_from_slice(&crc.to_le_bytes());
        enc.buf
    }

    fn set_members(v: &Value) -> (String, Vec<Vec<u8>>) {
        let Value::Set(s) = v else {
            panic!("not a set")
        };
        let mut m: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        m.sort();
        (s.encoding_name().to_string(), m)
    }

    #[test]
    fn sets_round_trip_in_every_encoding() {
        let limits = LIMITS.set;
        for members in [
            vec!["1", "-2", "70000"],
            vec!["a", "1"],
            vec!["a", "b", "c", "d", "e"],
            vec!["1", "2", "3", "4", "5"],
        ] {
            let set = SetValue::from_members(members.iter().map(|m| m.as_bytes()), limits);
            let v = Value::Set(set);
            assert_eq!(set_members(&round_trip(&v)), set_members(&v));
        }
    }

    #[test]
    fn a_redis_72_listpack_set_loads() {
        let mut lp = crate::rdb::listpack::ListpackWriter::new();
        lp.push(b"x");
        lp.push_int(12);
        let payload = payload_of(types::SET_LISTPACK, |e| e.string(&lp.finish()));
        let v = restore_payload(&payload, LIMITS, 0).expect("restores");
        assert_eq!(
            set_members(&v),
            ("listpack".to_string(), vec![b"12".to_vec(), b"x".to_vec()])
        );
    }

    #[test]
    fn hostile_sets_are_refused() {
        // Duplicates, in each form.
        let dup = payload_of(types::SET, |e| {
            e.length(2);
            e.string(b"a");
            e.string(b"a");
        });
        assert!(restore_payload(&dup, LIMITS, 0).is_err());
        let mut lp = crate::rdb::listpack::ListpackWriter::new();
        lp.push(b"x");
        lp.push(b"x");
        let dup = payload_of(types::SET_LISTPACK, |e| e.string(&lp.finish()));
        assert!(restore_payload(&dup, LIMITS, 0).is_err());
        // A count far beyond the input allocates nothing for it.
        let huge = payload_of(types::SET, |e| {
            e.length(u64::MAX >> 2);
            e.string(b"a");
        });
        assert!(restore_payload(&huge, LIMITS, 0).is_err());
        // Intset blobs: bad width, bad length, unsorted, empty.
        for blob in [
            vec![3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0],
            vec![2, 0, 0, 0, 2, 0, 0, 0, 1, 0],
            vec![2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0],
            vec![2, 0, 0, 0, 0, 0, 0, 0],
        ] {
            let p = payload_of(types::SET_INTSET, |e| e.string(&blob));
            assert!(restore_payload(&p, LIMITS, 0).is_err(), "{blob:?}");
        }
        // An empty set is no value.
        let empty = payload_of(types::SET, |e| e.length(0));
        assert!(restore_payload(&empty, LIMITS, 0).is_err());
    }
}
