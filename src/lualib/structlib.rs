//! `struct`: Roberto Ierusalimschy's struct library as Redis 7.0.15 bundles
//! it (with Redis's bounds checks): `pack`, `unpack` and `size` over a
//! format of `>` `<` `!n` and ` ` (controls), `b B h H l L T i[n] I[n]`
//! (integers of 1, 2, 8, 8, 4 or n bytes), `x` (a zero byte), `f` `d`
//! (float, double), `s` (zero-terminated string) and `c[n]` (n bytes; `c0`
//! takes the whole string when packing, the previous number when
//! unpacking). Sizes are x86-64's: short 2, int 4, long and size_t 8, and
//! `!` alone aligns to 8.

use mlua::{Lua, MultiValue, Table, Value};

use super::call::{self, arg_error, check_bytes, check_number, function, raise, Outcome};

/// Largest integer size `i[n]` / `I[n]` may ask for.
const MAX_INT_SIZE: usize = 32;
/// What `!` alone aligns to: a double's alignment on x86-64.
const MAX_ALIGN: usize = 8;
/// Stack slots a C function may use (Lua's `LUAI_MAXCSTACK`), which bounds
/// how many results `unpack` can return.
const MAX_C_STACK: usize = 8000;

/// The state a format carries from option to option.
struct Header {
    little: bool,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header {
            little: true,
            align: 1,
        }
    }
}

/// A cursor over the format, which ends at its first zero byte (a C string).
struct Format<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Format<'a> {
    fn new(text: &'a [u8]) -> Format<'a> {
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        Format {
            text: &text[..end],
            pos: 0,
        }
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.text.get(self.pos).copied();
        self.pos += 1;
        c
    }

    /// A decimal count after an option, or `default` without one.
    fn number(&mut self, default: usize) -> Outcome<usize> {
        if !self.text.get(self.pos).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: i32 = 0;
        while let Some(&c) = self.text.get(self.pos).filter(|c| c.is_ascii_digit()) {
            let d = (c - b'0') as i32;
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return raise("integral size overflow");
            }
            a = a * 10 + d;
            self.pos += 1;
        }
        Ok(a as usize)
    }
}

/// The size an option occupies (0 for options without a fixed one).
fn option_size(opt: u8, fmt: &mut Format) -> Outcome<usize> {
    Ok(match opt {
        b'B' | b'b' | b'x' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'c' => fmt.number(1)?,
        b'i' | b'I' => {
            let size = fmt.number(4)?;
            if size > MAX_INT_SIZE {
                return raise(format!(
                    "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                ));
            }
            size
        }
        _ => 0,
    })
}

/// Padding before an option of `size` at offset `len` (sizes that are not
/// powers of two are masked as the C library masks them).
fn padding(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size.wrapping_sub(len & (size - 1))) & (size - 1)
}

/// The control options; anything else is not an option at all.
fn control(lua: &Lua, opt: u8, fmt: &mut Format, h: &mut Header) -> Outcome<()> {
    match opt {
        b' ' => {}
        b'>' => h.little = false,
        b'<' => h.little = true,
        b'!' => {
            let a = fmt.number(MAX_ALIGN)?;
            if a == 0 || a & (a - 1) != 0 {
                return raise(format!("alignment {a} is not a power of 2"));
            }
            h.align = a;
        }
        _ => {
            let mut msg = b"invalid format option '".to_vec();
            msg.push(opt);
            msg.push(b'\'');
            return Err(arg_error(lua, 1, &msg));
        }
    }
    Ok(())
}

/// C's conversion of a double to `unsigned long` as gcc does it on x86-64.
fn double_to_u64(n: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if n < TWO63 || n.is_nan() {
        call::double_to_i64(n) as u64
    } else {
        (call::double_to_i64(n - TWO63) as u64) ^ (1 << 63)
    }
}

fn pack(lua: &Lua, mut args: Vec<Value>) -> Outcome<MultiValue> {
    let fmt_text = check_bytes(lua, &args, 1)?;
    // The C function pushes a nil after its arguments before reading them,
    // so a missing first value is "got nil", not "got no value".
    args.push(Value::Nil);
    let args = &args[..];
    let mut fmt = Format::new(&fmt_text);
    let mut h = Header::new();
    let mut arg = 2;
    let mut out: Vec<u8> = Vec::new();
    while let Some(opt) = fmt.next() {
        let size = option_size(opt, &mut fmt)?;
        let pad = padding(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(lua, args, arg)?;
                arg += 1;
                let mut value = if n < 0.0 {
                    call::double_to_i64(n) as u64
                } else {
                    double_to_u64(n)
                };
                let mut bytes = [0u8; MAX_INT_SIZE];
                for b in bytes[..size].iter_mut() {
                    *b = value as u8;
                    value = value.checked_shr(8).unwrap_or(0);
                }
                if !h.little {
                    bytes[..size].reverse();
                }
                out.extend_from_slice(&bytes[..size]);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = check_number(lua, args, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little {
                    f.to_le_bytes()
                } else {
                    f.to_be_bytes()
                });
            }
            b'd' => {
                let d = check_number(lua, args, arg)?;
                arg += 1;
                out.extend_from_slice(&if h.little {
                    d.to_le_bytes()
                } else {
                    d.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let s = check_bytes(lua, args, arg)?;
                arg += 1;
                let take = if size == 0 { s.len() } else { size };
                if s.len() < take {
                    // The C library names the argument after the string.
                    return Err(arg_error(lua, arg as i32, b"string too short"));
                }
                out.extend_from_slice(&s[..take]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => control(lua, opt, &mut fmt, &mut h)?,
        }
    }
    call::one(Value::String(lua.create_string(&out)?))
}

/// An integer of `bytes` (already in most-significant-first order), as the
/// C library folds it into an `unsigned long`.
fn read_integer(bytes: &[u8], signed: bool) -> f64 {
    let mut l: u64 = 0;
    for &b in bytes {
        l = (l << 8) | b as u64;
    }
    if !signed {
        return l as f64;
    }
    // The C shift count is taken modulo 64, as x86-64 does.
    let shift = (bytes.len() as u32 * 8).wrapping_sub(1) & 63;
    let mask = u64::MAX << shift;
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(lua: &Lua, args: &[Value]) -> Outcome<MultiValue> {
    let fmt_text = check_bytes(lua, args, 1)?;
    let data = check_bytes(lua, args, 2)?;
    let start = call::opt_integer(lua, args, 3, 1)? as u64;
    if start == 0 {
        return Err(arg_error(lua, 3, b"offset must be 1 or greater"));
    }
    let ld = data.len() as u64;
    let mut pos = start - 1;
    let mut fmt = Format::new(&fmt_text);
    let mut h = Header::new();
    let mut results = call::Results::new(lua)?;
    let too_short = |lua: &Lua| Err(arg_error(lua, 2, b"data string too short"));
    while let Some(opt) = fmt.next() {
        let mut size = option_size(opt, &mut fmt)? as u64;
        pos = pos.wrapping_add(padding(pos as usize, &h, opt, size as usize) as u64);
        if size > ld || pos > ld - size {
            return too_short(lua);
        }
        if args.len().max(1) + results.len() + 2 > MAX_C_STACK {
            return raise("stack overflow (too many results)");
        }
        let at = pos as usize;
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let mut bytes = data[at..at + size as usize].to_vec();
                if h.little {
                    bytes.reverse();
                }
                results.push(Value::Number(read_integer(
                    &bytes,
                    opt.is_ascii_lowercase(),
                )))?;
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[at..at + 4]);
                let f = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                results.push(Value::Number(f as f64))?;
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[at..at + 8]);
                let d = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                results.push(Value::Number(d))?;
            }
            b'c' => {
                if size == 0 {
                    let prev = match results.len() {
                        0 => None,
                        _ => call::to_number(lua, &results.last()?),
                    };
                    let Some(n) = prev else {
                        return raise("format 'c0' needs a previous size");
                    };
                    results.pop()?;
                    size = double_to_u64(n);
                    if size > ld || pos > ld - size {
                        return too_short(lua);
                    }
                }
                let s = &data[at..at + size as usize];
                results.push(Value::String(lua.create_string(s)?))?;
            }
            b's' => {
                let Some(len) = data[at..].iter().position(|&b| b == 0) else {
                    return raise("unfinished string in data");
                };
                results.push(Value::String(lua.create_string(&data[at..at + len])?))?;
                size = len as u64 + 1;
            }
            _ => control(lua, opt, &mut fmt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    results.push(Value::Number(pos.wrapping_add(1) as i64 as f64))?;
    results.finish()
}

fn size(lua: &Lua, args: &[Value]) -> Outcome<MultiValue> {
    let fmt_text = check_bytes(lua, args, 1)?;
    let mut fmt = Format::new(&fmt_text);
    let mut h = Header::new();
    let mut pos: usize = 0;
    while let Some(opt) = fmt.next() {
        let size = option_size(opt, &mut fmt)?;
        pos = pos.wrapping_add(padding(pos, &h, opt, size));
        if opt == b's' {
            return Err(arg_error(lua, 1, b"option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(arg_error(lua, 1, b"option 'c0' has no fixed size"));
        }
        // Letters and digits that are no option are skipped here.
        if !opt.is_ascii_alphanumeric() {
            control(lua, opt, &mut fmt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    call::one(Value::Number(pos as i64 as f64))
}

/// Builds the `struct` table.
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("pack", function(lua, pack)?)?;
    t.set("unpack", function(lua, |lua, a| unpack(lua, &a))?)?;
    t.set("size", function(lua, |lua, a| size(lua, &a))?)?;
    Ok(t)
}
