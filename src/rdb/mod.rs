//! Redis's RDB format: snapshot files (`dump.rdb`) and DUMP payloads.
//!
//! ferrodis writes what Redis 7.0 writes (RDB version 10) so that
//! `redis-check-rdb` accepts its files and redis-server loads them, and
//! reads the versions Redis 7.x writes (10 to 12). A hash with field TTLs
//! has no version-10 form; it is written with Redis 7.4's types, and a file
//! or payload holding one says version 12.
//!
//! * [`encode`] serialises values and whole files; [`decode`] reads them back,
//!   checking every length against the bytes that remain, so a corrupt or
//!   hostile input is an error and never a large allocation.
//! * [`crc64`], [`lzf`] and [`listpack`] are the byte-level pieces: the
//!   checksum, string compression and Redis's listpack layout (which differs
//!   from ferrodis's in-memory [`crate::types::listpack::Listpack`]).

pub mod crc64;
pub mod decode;
pub mod encode;
pub mod listpack;
pub mod lzf;
pub mod ziplist;

/// The RDB version ferrodis writes, as Redis 7.0 does.
pub const VERSION: u16 = 10;
/// The version of a file or payload that holds hash field TTLs (Redis 7.4).
pub const VERSION_FIELD_TTLS: u16 = 12;
/// The newest version ferrodis reads.
pub const MAX_READ_VERSION: u16 = 12;

/// Value type bytes (a subset: the types ferrodis holds, and those it
/// recognises to report clearly).
pub mod types {
    /// A string.
    pub const STRING: u8 = 0;
    /// A set as its members.
    pub const SET: u8 = 2;
    /// A hash as field/value pairs.
    pub const HASH: u8 = 4;
    /// A set as Redis's intset blob.
    pub const SET_INTSET: u8 = 11;
    /// A set as one listpack of its members (Redis 7.2).
    pub const SET_LISTPACK: u8 = 20;
    /// A hash as one listpack of alternating fields and values.
    pub const HASH_LISTPACK: u8 = 16;
    /// A sorted set as member / text score pairs (before Redis 4).
    pub const ZSET: u8 = 3;
    /// A sorted set as member / binary double pairs, largest first.
    pub const ZSET_2: u8 = 5;
    /// A sorted set as one listpack of alternating members and scores.
    pub const ZSET_LISTPACK: u8 = 17;
    /// A sorted set as a ziplist of alternating members and scores
    /// (Redis 6 and older).
    pub const ZSET_ZIPLIST: u8 = 12;
    /// A list as listpack (or plain) nodes.
    pub const LIST_QUICKLIST_2: u8 = 18;
    /// A hash with field TTLs as pairs (Redis 7.4), TTLs relative to the
    /// hash's earliest one.
    pub const HASH_METADATA: u8 = 24;
    /// A hash with field TTLs as a listpack of field, value, TTL triplets
    /// (Redis 7.4).
    pub const HASH_LISTPACK_EX: u8 = 25;

    /// The name of a type ferrodis cannot hold yet, for error messages.
    pub fn unsupported_name(t: u8) -> Option<&'static str> {
        Some(match t {
            1 | 10 | 14 => "list in a pre-7.0 encoding",
            6 | 7 => "module value",
            9 | 13 => "hash in a pre-7.0 encoding",
            15 | 19 | 21 => "stream",
            22 | 23 => "hash from a Redis 7.4 release candidate",
            _ => return None,
        })
    }
}

/// Opcodes between values.
pub mod opcodes {
    /// Function library (Redis 7.0): its code, shebang included.
    pub const FUNCTION2: u8 = 245;
    /// Function library as Redis 7.0's release candidates wrote it: name,
    /// engine, an optional description, then the code without shebang.
    pub const FUNCTION_PRE_GA: u8 = 246;
    /// Module auxiliary data.
    pub const MODULE_AUX: u8 = 247;
    /// LRU idle time of the next key, in seconds.
    pub const IDLE: u8 = 248;
    /// LFU counter of the next key.
    pub const FREQ: u8 = 249;
    /// An auxiliary field (name, value).
    pub const AUX: u8 = 250;
    /// Sizes of the next database's tables.
    pub const RESIZEDB: u8 = 251;
    /// Expiry of the next key, Unix milliseconds.
    pub const EXPIRETIME_MS: u8 = 252;
    /// Expiry of the next key, Unix seconds (old files).
    pub const EXPIRETIME: u8 = 253;
    /// The database of the keys that follow.
    pub const SELECTDB: u8 = 254;
    /// End of file; the checksum follows.
    pub const EOF: u8 = 255;
}

/// Why RDB data could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError(pub String);

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RdbError {}

impl RdbError {
    pub(crate) fn new(msg: impl Into<String>) -> RdbError {
        RdbError(msg.into())
    }
}
