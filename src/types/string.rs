//! The string type: binary-safe bytes, or an integer kept as an integer.

use std::borrow::Cow;

/// Strings up to this length report the `embstr` encoding, as in Redis.
pub const EMBSTR_MAX: usize = 44;

/// A string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrValue {
    /// A decimal integer in canonical form, held as a number (`int`).
    Int(i64),
    /// Bytes written once by SET and never modified in place (`embstr` when
    /// short, `raw` otherwise).
    Bytes(Box<[u8]>),
    /// Bytes built up in place by APPEND or SETRANGE (`raw`); keeps spare
    /// capacity so repeated appends are amortised.
    Growable(Vec<u8>),
}

impl Default for StrValue {
    fn default() -> Self {
        StrValue::Bytes(Box::default())
    }
}

impl StrValue {
    /// Stores `data`, as an integer when it is the canonical decimal form of
    /// one (the same test Redis's `tryObjectEncoding` applies).
    pub fn from_bytes(data: &[u8]) -> Self {
        Self::as_int(data).unwrap_or_else(|| StrValue::Bytes(data.into()))
    }

    /// Like [`StrValue::from_bytes`], keeping `data`'s allocation.
    pub fn from_vec(data: Vec<u8>) -> Self {
        Self::as_int(&data).unwrap_or_else(|| StrValue::Bytes(data.into_boxed_slice()))
    }

    fn as_int(data: &[u8]) -> Option<Self> {
        if data.len() <= 20 {
            crate::protocol::parse_i64(data).map(StrValue::Int)
        } else {
            None
        }
    }

    /// The bytes of the value (integers are formatted).
    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            StrValue::Int(n) => {
                let mut v = Vec::with_capacity(20);
                crate::reply::push_i64(&mut v, *n);
                Cow::Owned(v)
            }
            StrValue::Bytes(b) => Cow::Borrowed(b),
            StrValue::Growable(v) => Cow::Borrowed(v),
        }
    }

    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => {
                let mut v = Vec::with_capacity(20);
                crate::reply::push_i64(&mut v, *n);
                v.len()
            }
            StrValue::Bytes(b) => b.len(),
            StrValue::Growable(v) => v.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Turns the value into a growable buffer for in-place modification.
    pub fn make_growable(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Growable(_)) {
            let bytes = self.as_bytes().into_owned();
            *self = StrValue::Growable(bytes);
        }
        match self {
            StrValue::Growable(v) => v,
            _ => unreachable!("converted above"),
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Bytes(b) if b.len() <= EMBSTR_MAX => "embstr",
            _ => "raw",
        }
    }

    /// Heap bytes owned.
    pub fn heap_bytes(&self) -> usize {
        match self {
            StrValue::Int(_) => 0,
            StrValue::Bytes(b) => b.len(),
            StrValue::Growable(v) => v.capacity(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_stored_as_integers_only_when_canonical() {
        assert_eq!(StrValue::from_bytes(b"123"), StrValue::Int(123));
        assert_eq!(StrValue::from_bytes(b"-5").encoding_name(), "int");
        assert_eq!(StrValue::from_bytes(b"0123").encoding_name(), "embstr");
        assert_eq!(StrValue::from_bytes(b"+1").encoding_name(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 45]).encoding_name(), "raw");
        assert_eq!(&*StrValue::Int(-42).as_bytes(), b"-42");
    }
}
