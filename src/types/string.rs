//! The string type: binary-safe bytes, or an integer kept as an integer.
//!
//! A [`StrValue`] is 16 bytes, so that a `Value` stays 24 and a keyspace
//! node 48 (see `dict.rs`): an integer or a string of up to
//! [`INLINE_MAX`] bytes is held in the value itself, a longer string in
//! one exact-size allocation whose 32-bit length sits beside the pointer,
//! and a string modified in place (APPEND, SETRANGE, SETBIT, HyperLogLog)
//! in a boxed `Vec` with spare capacity.

use std::borrow::Cow;
use std::ptr::NonNull;

/// Strings up to this length report the `embstr` encoding, as in Redis.
pub const EMBSTR_MAX: usize = 44;

/// Longest string held inside the value, without an allocation.
pub const INLINE_MAX: usize = 14;

/// The pointer of an exact-size byte allocation (owned by [`Repr::Heap`]).
struct HeapPtr(NonNull<u8>);

// SAFETY: the allocation is owned exclusively by its `StrValue`, like a
// `Box<[u8]>`.
unsafe impl Send for HeapPtr {}
// SAFETY: shared access only reads the bytes.
unsafe impl Sync for HeapPtr {}

enum Repr {
    /// A decimal integer in canonical form, held as a number (`int`).
    Int(i64),
    /// Up to [`INLINE_MAX`] bytes written once (`embstr`).
    Inline { len: u8, data: [u8; INLINE_MAX] },
    /// `len` bytes written once, in an allocation of exactly that size
    /// (`embstr` when short, `raw` otherwise).
    Heap { len: u32, ptr: HeapPtr },
    /// Bytes built up in place (`raw`); keeps spare capacity so repeated
    /// appends are amortised. Also holds write-once strings of 4 GiB or
    /// more, whose length does not fit `Heap`. Boxed: a bare `Vec` would
    /// make the value 24 bytes; strings modified in place are few and
    /// usually large.
    #[allow(clippy::box_collection)]
    Growable(Box<Vec<u8>>),
}

/// A string value.
pub struct StrValue(Repr);

impl Default for StrValue {
    fn default() -> Self {
        StrValue(Repr::Inline {
            len: 0,
            data: [0; INLINE_MAX],
        })
    }
}

impl Drop for StrValue {
    fn drop(&mut self) {
        if let Repr::Heap { len, ptr } = &self.0 {
            let slice = std::ptr::slice_from_raw_parts_mut(ptr.0.as_ptr(), *len as usize);
            // SAFETY: `Heap` owns a `Box<[u8]>` of exactly `len` bytes,
            // turned into its pointer by `StrValue::plain`.
            drop(unsafe { Box::from_raw(slice) });
        }
    }
}

impl Clone for StrValue {
    fn clone(&self) -> Self {
        match &self.0 {
            Repr::Int(n) => StrValue(Repr::Int(*n)),
            Repr::Inline { len, data } => StrValue(Repr::Inline {
                len: *len,
                data: *data,
            }),
            Repr::Heap { .. } => StrValue::plain(self.stored_bytes().unwrap_or_default()),
            Repr::Growable(v) => StrValue(Repr::Growable(v.clone())),
        }
    }
}

impl PartialEq for StrValue {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Int(a), Repr::Int(b)) => a == b,
            (Repr::Int(_), _) | (_, Repr::Int(_)) => false,
            _ => self.stored_bytes() == other.stored_bytes(),
        }
    }
}

impl Eq for StrValue {}

impl std::fmt::Debug for StrValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Repr::Int(n) => write!(f, "Int({n})"),
            _ => write!(
                f,
                "Str({:?})",
                String::from_utf8_lossy(self.stored_bytes().unwrap_or_default())
            ),
        }
    }
}

impl StrValue {
    /// Stores `data`, as an integer when it is the canonical decimal form of
    /// one (the same test Redis's `tryObjectEncoding` applies).
    pub fn from_bytes(data: &[u8]) -> Self {
        Self::as_int(data).unwrap_or_else(|| StrValue::plain(data))
    }

    /// Like [`StrValue::from_bytes`], taking `data` by value.
    pub fn from_vec(data: Vec<u8>) -> Self {
        Self::as_int(&data).unwrap_or_else(|| StrValue::plain(&data))
    }

    /// Stores `data` as bytes, even if it reads as an integer (a float
    /// result, say, which Redis keeps as a string).
    pub fn plain(data: &[u8]) -> Self {
        if data.len() <= INLINE_MAX {
            let mut inline = [0; INLINE_MAX];
            inline[..data.len()].copy_from_slice(data);
            return StrValue(Repr::Inline {
                len: data.len() as u8,
                data: inline,
            });
        }
        let Ok(len) = u32::try_from(data.len()) else {
            return StrValue(Repr::Growable(Box::new(data.to_vec())));
        };
        let boxed: Box<[u8]> = data.into();
        // SAFETY: a Box of a non-empty slice is non-null.
        let ptr = unsafe { NonNull::new_unchecked(Box::into_raw(boxed).cast::<u8>()) };
        StrValue(Repr::Heap {
            len,
            ptr: HeapPtr(ptr),
        })
    }

    /// An integer value (`int`).
    pub fn int(n: i64) -> Self {
        StrValue(Repr::Int(n))
    }

    /// A value to be modified in place, starting as `data`.
    pub fn growable(data: Vec<u8>) -> Self {
        StrValue(Repr::Growable(Box::new(data)))
    }

    fn as_int(data: &[u8]) -> Option<Self> {
        if data.len() <= 20 {
            crate::protocol::parse_i64(data).map(StrValue::int)
        } else {
            None
        }
    }

    /// The integer, for a value held as one.
    pub fn int_value(&self) -> Option<i64> {
        match self.0 {
            Repr::Int(n) => Some(n),
            _ => None,
        }
    }

    /// The integer, mutable in place, for a value held as one.
    pub fn int_mut(&mut self) -> Option<&mut i64> {
        match &mut self.0 {
            Repr::Int(n) => Some(n),
            _ => None,
        }
    }

    /// The bytes as stored, or `None` for a value held as an integer.
    pub fn stored_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Int(_) => None,
            Repr::Inline { len, data } => Some(&data[..*len as usize]),
            // SAFETY: `ptr` owns `len` initialised bytes.
            Repr::Heap { len, ptr } => {
                Some(unsafe { std::slice::from_raw_parts(ptr.0.as_ptr(), *len as usize) })
            }
            Repr::Growable(v) => Some(v),
        }
    }

    /// The bytes of the value (integers are formatted).
    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match (&self.0, self.stored_bytes()) {
            (Repr::Int(n), _) => {
                let mut v = Vec::with_capacity(20);
                crate::reply::push_i64(&mut v, *n);
                Cow::Owned(v)
            }
            (_, bytes) => Cow::Borrowed(bytes.unwrap_or_default()),
        }
    }

    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self.stored_bytes() {
            Some(b) => b.len(),
            None => self.as_bytes().len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Turns the value into a growable buffer for in-place modification.
    pub fn make_growable(&mut self) -> &mut Vec<u8> {
        if !matches!(self.0, Repr::Growable(_)) {
            let bytes = self.as_bytes().into_owned();
            *self = StrValue::growable(bytes);
        }
        match &mut self.0 {
            Repr::Growable(v) => v,
            _ => unreachable!("converted above"),
        }
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        match &self.0 {
            Repr::Int(_) => "int",
            Repr::Inline { .. } => "embstr",
            Repr::Heap { len, .. } if *len as usize <= EMBSTR_MAX => "embstr",
            _ => "raw",
        }
    }

    /// Heap bytes owned.
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Int(_) | Repr::Inline { .. } => 0,
            Repr::Heap { len, .. } => *len as usize,
            Repr::Growable(v) => std::mem::size_of::<Vec<u8>>() + v.capacity(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_stored_as_integers_only_when_canonical() {
        assert_eq!(StrValue::from_bytes(b"123"), StrValue::int(123));
        assert_eq!(StrValue::from_bytes(b"-5").encoding_name(), "int");
        assert_eq!(StrValue::from_bytes(b"0123").encoding_name(), "embstr");
        assert_eq!(StrValue::from_bytes(b"+1").encoding_name(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 45]).encoding_name(), "raw");
        assert_eq!(&*StrValue::int(-42).as_bytes(), b"-42");
        assert_eq!(StrValue::plain(b"7").int_value(), None);
    }

    #[test]
    fn is_sixteen_bytes_and_keeps_every_length() {
        assert_eq!(std::mem::size_of::<StrValue>(), 16);
        for len in [0usize, 1, INLINE_MAX, INLINE_MAX + 1, 44, 45, 1000] {
            let data: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let v = StrValue::from_bytes(&data);
            assert_eq!(&*v.as_bytes(), &data[..]);
            assert_eq!(v.len(), len);
            assert_eq!(v.clone(), v);
            let mut g = v.clone();
            g.make_growable().push(b'!');
            assert_eq!(g.len(), len + 1);
            assert_eq!(g.encoding_name(), "raw");
        }
    }
}
