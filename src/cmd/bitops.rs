//! Bitmap commands on strings: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD and BITFIELD_RO, with Redis 7.0's argument order, limits and
//! error texts. The bit arithmetic is in [`crate::types::bitmap`].

use super::args;
use super::keyspec::KeyRef;
use super::spec::{bind, CommandSpec, Ctx};
use crate::db::{DbView, KeyEvent};
use crate::error::{CmdError, CmdResult, SYNTAX, WRONGTYPE};
use crate::types::bitmap::{self, Overflow};
use crate::types::{StrValue, Value};
use std::borrow::Cow;

/// The bitmap family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("setbit", setbit),
    bind("getbit", getbit),
    bind("bitcount", bitcount),
    bind("bitpos", bitpos),
    bind("bitop", bitop),
    bind("bitfield", bitfield).with_getkeys(bitfield_keys),
    bind("bitfield_ro", bitfield_ro),
];

const BAD_OFFSET: CmdError = CmdError::fixed("ERR bit offset is not an integer or out of range");
const BAD_BIT: CmdError = CmdError::fixed("ERR bit is not an integer or out of range");
const BAD_TYPE: CmdError = CmdError::fixed(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
);

/// The argument as C sees it: up to its first NUL byte. Redis compares
/// keywords with `strcasecmp`, so `"and\0x"` still names AND.
fn c_str(arg: &[u8]) -> &[u8] {
    arg.iter()
        .position(|&b| b == 0)
        .map_or(arg, |end| &arg[..end])
}

/// Case-insensitive keyword match with C string semantics.
fn is_c(arg: &[u8], keyword: &str) -> bool {
    args::is(c_str(arg), keyword)
}

/// BITFIELD's key finder, as Redis's: its key is read-only unless a SET
/// or INCRBY (or a word it cannot parse) comes before the end.
fn bitfield_keys(a: &[bytes::Bytes], keys: &mut Vec<KeyRef>) {
    use super::keyspec::flags::{ACCESS, RO, RW, UPDATE};
    let mut read_only = true;
    let mut i = 2;
    while i < a.len() {
        let remaining = a.len() - i - 1;
        let word = &a[i];
        if is_c(word, "get") && remaining >= 2 {
            i += 2;
        } else if is_c(word, "overflow") && remaining >= 1 {
            i += 1;
        } else {
            // SET, INCRBY, or a syntax error: the safer answer is a write.
            read_only = false;
            break;
        }
        i += 1;
    }
    let flags = if read_only {
        RO | ACCESS
    } else {
        RW | ACCESS | UPDATE
    };
    keys.push(KeyRef { pos: 1, flags });
}

/// The value `table` gives the keyword `arg` names (C string semantics).
fn keyword<T: Copy>(arg: &[u8], table: &[(&str, T)]) -> Option<T> {
    table.iter().find(|(k, _)| is_c(arg, k)).map(|&(_, v)| v)
}

/// `proto-max-bulk-len`: the largest string a bit command may create.
fn max_len(ctx: &Ctx<'_>) -> u64 {
    ctx.server
        .hot
        .proto_max_bulk_len
        .load(std::sync::atomic::Ordering::Relaxed) as u64
}

/// Parses a bit offset as Redis's `getBitOffsetFromArgument`: a
/// non-negative integer whose byte lies inside `proto-max-bulk-len`; with
/// `field_bits` (BITFIELD), `#N` means N times the field's width.
fn bit_offset(ctx: &Ctx<'_>, arg: &[u8], field_bits: Option<u32>) -> Result<u64, CmdError> {
    let (hashed, digits) = match (arg.first(), field_bits) {
        (Some(b'#'), Some(_)) => (true, &arg[1..]),
        _ => (false, arg),
    };
    let mut n = crate::protocol::parse_i64(digits).ok_or(BAD_OFFSET)?;
    if hashed {
        // C's multiplication wraps; a wrapped product is refused below.
        n = n.wrapping_mul(i64::from(field_bits.unwrap_or(1)));
    }
    if n < 0 || (n as u64 >> 3) >= max_len(ctx) {
        return Err(BAD_OFFSET);
    }
    Ok(n as u64)
}

/// The string at `key` for a read (hit or miss counted); WRONGTYPE for
/// another type. Integers come back formatted, as Redis reads them.
fn read<'v>(db: &'v mut DbView<'_>, key: &[u8]) -> Result<Option<Cow<'v, [u8]>>, CmdError> {
    match db.get_counted(key) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.as_bytes())),
        Some(_) => Err(WRONGTYPE),
    }
}

/// The string at `key` made raw and at least `min_len` bytes long
/// (created if missing), as Redis's `lookupStringForBitCommand`; the flag
/// says whether that creation or growth changed the value.
fn writable<'v>(
    db: &'v mut DbView<'_>,
    key: &[u8],
    min_len: usize,
) -> Result<(&'v mut Vec<u8>, bool), CmdError> {
    // A new key is empty, so it always grows here: creation counts as
    // growth, as it does for Redis.
    let buf = db.str_or_create(key)?.make_growable();
    let grew = buf.len() < min_len;
    if grew {
        buf.resize(min_len, 0);
    }
    Ok((buf, grew))
}

// ----- SETBIT / GETBIT -----

fn setbit(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let offset = bit_offset(ctx, &ctx.args[2], None)?;
    let on = args::int_or(&ctx.args[3], BAD_BIT)?;
    if on & !1 != 0 {
        return Err(BAD_BIT);
    }
    let key = &ctx.args[1];
    let (buf, changed) = writable(db, key, (offset >> 3) as usize + 1)?;
    let old = bitmap::get_bit(buf, offset);
    if changed || old != (on == 1) {
        bitmap::set_bit(buf, offset, on == 1);
        db.modified(key, KeyEvent::SETBIT);
    }
    ctx.out.int(old as i64);
    Ok(())
}

fn getbit(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let offset = bit_offset(ctx, &ctx.args[2], None)?;
    let bit = read(db, &ctx.args[1])?.is_some_and(|s| bitmap::get_bit(&s, offset));
    ctx.out.int(bit as i64);
    Ok(())
}

// ----- BITCOUNT / BITPOS -----

/// A BITCOUNT or BITPOS range after Redis's index rules: inclusive byte
/// indexes, and in BIT mode the bits of the first and last byte that lie
/// outside the range (as masks), or `None` for an empty range.
struct ByteRange {
    start: usize,
    end: usize,
    first_outside: u8,
    last_outside: u8,
}

/// Normalises `start..=end` (negative counts from the end) over a string
/// of `len` bytes, in bytes or, with `bits`, in bits.
fn clamp_range(start: i64, end: i64, len: usize, bits: bool) -> Option<ByteRange> {
    let total = if bits { (len as i64) << 3 } else { len as i64 };
    let (mut start, mut end) = (start, end);
    if start < 0 {
        start = start.saturating_add(total);
    }
    if end < 0 {
        end = end.saturating_add(total);
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    let mut r = ByteRange {
        start: start as usize,
        end: end as usize,
        first_outside: 0,
        last_outside: 0,
    };
    if bits {
        r.first_outside = !((1u16 << (8 - (start & 7))) - 1) as u8;
        r.last_outside = ((1u16 << (7 - (end & 7))) - 1) as u8;
        r.start >>= 3;
        r.end >>= 3;
    }
    Some(r)
}

/// Reads the optional BYTE|BIT argument.
fn unit_is_bit(arg: &[u8]) -> Result<bool, CmdError> {
    keyword(arg, &[("bit", true), ("byte", false)]).ok_or(SYNTAX)
}

/// BITCOUNT key [start end [BYTE|BIT]]
fn bitcount(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let argc = ctx.args.len();
    // The key is looked up first: a missing key counts 0 whatever follows.
    let Some(s) = read(db, &ctx.args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let range = match argc {
        2 => clamp_range(0, -1, s.len(), false),
        4 | 5 => {
            let start = args::int(&ctx.args[2])?;
            let end = args::int(&ctx.args[3])?;
            if start < 0 && end < 0 && start > end {
                ctx.out.int(0);
                return Ok(());
            }
            let bits = argc == 5 && unit_is_bit(&ctx.args[4])?;
            clamp_range(start, end, s.len(), bits)
        }
        _ => return Err(SYNTAX),
    };
    let count = range.map_or(0, |r| {
        let mut n = bitmap::popcount(&s[r.start..=r.end]);
        n -= u64::from((s[r.start] & r.first_outside).count_ones());
        n -= u64::from((s[r.end] & r.last_outside).count_ones());
        n
    });
    ctx.out.int(count as i64);
    Ok(())
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
fn bitpos(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let argc = ctx.args.len();
    let bit = args::int(&ctx.args[2])?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::fixed("ERR The bit argument must be 1 or 0."));
    }
    let bit = bit == 1;
    // A missing key is an endless run of zeros.
    let Some(s) = read(db, &ctx.args[1])? else {
        ctx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let mut end_given = false;
    let range = match argc {
        3 => clamp_range(0, -1, s.len(), false),
        4..=6 => {
            let start = args::int(&ctx.args[3])?;
            let bits = argc == 6 && unit_is_bit(&ctx.args[5])?;
            let end = if argc >= 5 {
                end_given = true;
                args::int(&ctx.args[4])?
            } else {
                -1
            };
            clamp_range(start, end, s.len(), bits)
        }
        _ => return Err(SYNTAX),
    };
    let Some(r) = range else {
        ctx.out.int(-1);
        return Ok(());
    };
    // The edge bytes with the bits outside the range forced to the value
    // not sought, so the search cannot stop there; the middle is searched
    // in place.
    let outside = |byte: u8, mask: u8| if bit { byte & !mask } else { byte | mask };
    let first = [outside(s[r.start], r.first_outside)];
    let (head, middle, tail): (&[u8], &[u8], [u8; 1]) = if r.start == r.end {
        (&[], &[], [outside(first[0], r.last_outside)])
    } else {
        (
            &first,
            &s[r.start + 1..r.end],
            [outside(s[r.end], r.last_outside)],
        )
    };
    let mut offset = (r.start as i64) << 3;
    for part in [head, middle, &tail] {
        let pos = bitmap::first_bit(part, bit);
        // Not found: -1 for a 1, the bit past the part for a 0.
        if pos != -1 && pos != (part.len() as i64) << 3 {
            ctx.out.int(offset + pos);
            return Ok(());
        }
        offset += (part.len() as i64) << 3;
    }
    // No 1 in the range, or no 0: with an explicit end the bits past the
    // range are not zeros to find.
    ctx.out.int(if bit || end_given { -1 } else { offset });
    Ok(())
}

// ----- BITOP -----

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]
fn bitop(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let ops = [
        ("and", BitOp::And),
        ("or", BitOp::Or),
        ("xor", BitOp::Xor),
        ("not", BitOp::Not),
    ];
    let op = keyword(&ctx.args[1], &ops).ok_or(SYNTAX)?;
    if op == BitOp::Not && ctx.args.len() != 4 {
        return Err(CmdError::fixed(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    // Folded one source at a time: bytes past a source's end count as
    // zeros, so the result is as long as the longest source. Every
    // source is type-checked before anything is written.
    let mut result: Vec<u8> = Vec::new();
    for (i, key) in ctx.args[3..].iter().enumerate() {
        let src = read(db, key)?;
        let src: &[u8] = src.as_deref().unwrap_or(&[]);
        if i == 0 {
            result.extend_from_slice(src);
            if op == BitOp::Not {
                result.iter_mut().for_each(|b| *b = !*b);
            }
            continue;
        }
        let common = result.len().min(src.len());
        match op {
            BitOp::And => {
                result[..common]
                    .iter_mut()
                    .zip(src)
                    .for_each(|(r, s)| *r &= s);
                result[common..].iter_mut().for_each(|b| *b = 0);
                result.resize(result.len().max(src.len()), 0);
            }
            BitOp::Or | BitOp::Xor => {
                for (r, s) in result[..common].iter_mut().zip(src) {
                    if op == BitOp::Or {
                        *r |= s;
                    } else {
                        *r ^= s;
                    }
                }
                result.extend_from_slice(&src[common..]);
            }
            BitOp::Not => {}
        }
    }
    let dest = &ctx.args[2];
    let len = result.len();
    if len > 0 {
        // Stored raw, never as an integer, as Redis's createObject does.
        db.set(dest, Value::Str(StrValue::growable(result)));
        db.modified(dest, KeyEvent::SET);
    } else if db.remove(dest).is_some() {
        db.modified(dest, KeyEvent::DEL);
    }
    ctx.out.int(len as i64);
    Ok(())
}

// ----- BITFIELD -----

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

/// One parsed BITFIELD operation.
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    value: i64,
    overflow: Overflow,
}

/// Parses a field type: `i1`..`i64` or `u1`..`u63`.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let arg = c_str(arg);
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BAD_TYPE),
    };
    match crate::protocol::parse_i64(&arg[1..]) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => Err(BAD_TYPE),
    }
}

/// Parses every operation before anything runs, as Redis does; the
/// operations list grows with the arguments, so its size is bounded by
/// the request.
fn parse_fields(ctx: &Ctx<'_>) -> Result<Vec<Field>, CmdError> {
    let a = ctx.args;
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < a.len() {
        let remaining = a.len() - j - 1;
        let word = &a[j];
        let op = if is_c(word, "get") && remaining >= 2 {
            FieldOp::Get
        } else if is_c(word, "set") && remaining >= 3 {
            FieldOp::Set
        } else if is_c(word, "incrby") && remaining >= 3 {
            FieldOp::IncrBy
        } else if is_c(word, "overflow") && remaining >= 1 {
            let kind = &a[j + 1];
            let kinds = [
                ("wrap", Overflow::Wrap),
                ("sat", Overflow::Sat),
                ("fail", Overflow::Fail),
            ];
            overflow = keyword(kind, &kinds)
                .ok_or(CmdError::fixed("ERR Invalid OVERFLOW type specified"))?;
            j += 2;
            continue;
        } else {
            return Err(SYNTAX);
        };
        let (signed, bits) = field_type(&a[j + 1])?;
        let offset = bit_offset(ctx, &a[j + 2], Some(bits))?;
        let value = if op == FieldOp::Get {
            0
        } else {
            args::int(&a[j + 3])?
        };
        fields.push(Field {
            op,
            offset,
            bits,
            signed,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(fields)
}

fn bitfield(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    bitfield_generic(ctx, db, false)
}

fn bitfield_ro(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    bitfield_generic(ctx, db, true)
}

fn bitfield_generic(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, read_only: bool) -> CmdResult {
    let fields = parse_fields(ctx)?;
    let key = &ctx.args[1];
    let writes = fields.iter().filter(|f| f.op != FieldOp::Get);
    let Some(highest) = writes.map(|f| f.offset + u64::from(f.bits) - 1).max() else {
        // Only reads: a missing key reads as zeros.
        let s = read(db, key)?;
        let s: &[u8] = s.as_deref().unwrap_or(&[]);
        ctx.out.array(fields.len());
        for f in &fields {
            read_field(ctx, s, f);
        }
        return Ok(());
    };
    if read_only {
        return Err(CmdError::fixed(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let (buf, grew) = writable(db, key, (highest >> 3) as usize + 1)?;
    let mut changes = 0;
    ctx.out.array(fields.len());
    for f in &fields {
        if f.op == FieldOp::Get {
            read_field(ctx, buf, f);
            continue;
        }
        match write_field(buf, f) {
            Some((reply, changed)) => {
                ctx.out.int(reply);
                if grew || changed {
                    changes += 1;
                }
            }
            None => ctx.out.null(),
        }
    }
    if changes > 0 {
        // BITFIELD replies before reporting its writes.
        db.reply_written();
        db.modified(key, KeyEvent::SETBIT);
    }
    Ok(())
}

/// Runs a SET or INCRBY on `buf` (long enough): the value to answer (the
/// old one for SET, the new one for INCRBY) and whether the field changed,
/// or `None` when OVERFLOW FAIL refused the write.
fn write_field(buf: &mut [u8], f: &Field) -> Option<(i64, bool)> {
    let incr = f.op == FieldOp::IncrBy;
    // SET checks its value as an increment of zero on it. Signed values
    // travel as their two's complement bits.
    let (old, result) = if f.signed {
        let old = bitmap::get_signed(buf, f.offset, f.bits);
        let (base, by) = if incr { (old, f.value) } else { (f.value, 0) };
        let r = bitmap::signed_add(base, by, f.bits, f.overflow);
        (old as u64, r.map(|v| v as u64).map_err(|v| v as u64))
    } else {
        let old = bitmap::get_unsigned(buf, f.offset, f.bits);
        let (base, by) = if incr {
            (old, f.value)
        } else {
            (f.value as u64, 0)
        };
        (old, bitmap::unsigned_add(base, by, f.bits, f.overflow))
    };
    if result.is_err() && f.overflow == Overflow::Fail {
        return None;
    }
    let new = result.unwrap_or_else(|v| v);
    bitmap::set_unsigned(buf, f.offset, f.bits, new);
    Some((if incr { new } else { old } as i64, old != new))
}

/// Answers a GET: zeros past the end of the string.
fn read_field(ctx: &mut Ctx<'_>, s: &[u8], f: &Field) {
    if f.signed {
        ctx.out.int(bitmap::get_signed(s, f.offset, f.bits));
    } else {
        ctx.out
            .int(bitmap::get_unsigned(s, f.offset, f.bits) as i64);
    }
}
