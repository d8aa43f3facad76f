//! Value types stored in the keyspace and their memory encodings.
//!
//! One module per data type, as in Redis: [`string`], [`hash`], [`list`].
//! Each type chooses a compact encoding while it is small (integers for
//! numeric strings, [`listpack::Listpack`] for small hashes and lists) and
//! converts to a scalable one past the configured thresholds.
//! [`bitmap`] and [`hyperloglog`] are layouts of string values, not types;
//! [`geohash`] is the layout of geo members' sorted-set scores.

pub mod bitmap;
pub mod geohash;
pub mod hash;
pub mod hyperloglog;
pub mod list;
pub mod listpack;
pub mod set;
pub mod string;
pub mod zset;

pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use string::StrValue;
pub use zset::ZSetValue;

/// A value stored under a key.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string (or integer held as an integer; 16 bytes, short strings
    /// inline).
    Str(StrValue),
    /// A list (boxed: lists are large anyway, and it keeps `Value` at 24
    /// bytes so a keyspace entry fits a 48-byte allocation).
    List(Box<ListValue>),
    /// A hash.
    Hash(HashValue),
    /// A sorted set (16 bytes inline: its listpack, or a pointer to its
    /// tree).
    ZSet(ZSetValue),
    /// A set (24 bytes, its tag first: `Value`'s own discriminant lives in
    /// that byte's unused values, so a small intset and a listpack's handle
    /// are held inline).
    Set(SetValue),
}

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::ZSet(_) => "zset",
            Value::Set(_) => "set",
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding_name(),
            Value::List(l) => l.encoding_name(),
            Value::Hash(h) => h.encoding_name(),
            Value::ZSet(z) => z.encoding_name(),
            Value::Set(s) => s.encoding_name(),
        }
    }

    /// Approximate heap bytes owned by the value (for MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::List(l) => l.heap_bytes(),
            Value::Hash(h) => h.heap_bytes(),
            Value::ZSet(z) => z.heap_bytes(),
            Value::Set(s) => s.heap_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_stay_small() {
        // A keyspace node is `next`, value, access stamp and key: 48 bytes
        // for keys of up to 11 bytes (see `dict.rs`).
        assert_eq!(std::mem::size_of::<super::Value>(), 24);
        assert_eq!(std::mem::size_of::<super::StrValue>(), 16);
        assert_eq!(std::mem::size_of::<super::SetValue>(), 24);
    }
}
