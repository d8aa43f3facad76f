//! `cmsgpack`: MessagePack as Redis 7.0.15's lua-cmsgpack 0.4.0 writes and
//! reads it.
//!
//! Writing: integral numbers in the smallest integer form, other numbers
//! as float32 when that is exact, else float64; strings as fixstr / str8 /
//! str16 / str32; a table whose keys are exactly 1..n as an array, any
//! other as a map (in `next` order); anything else as nil; tables nested
//! deeper than [`MAX_NESTING`] as nil (so cycles end). Reading takes the
//! same forms (not bin or ext), with Redis's errors for truncated or
//! unknown input; nothing is allocated ahead of the bytes that back it.

use mlua::{Lua, MultiValue, Table, Value};

use super::call::{
    self, arg_error, check_bytes, function, raise, Fail, Outcome, Results, ValueStack,
};

/// Tables nested this deep are written as nil (`LUACMSGPACK_MAX_NESTING`).
const MAX_NESTING: usize = 16;
/// Stack slots a C function may use (Lua's `LUAI_MAXCSTACK`): decoding
/// stops where the C library's stack checks would.
const MAX_C_STACK: usize = 8000;

const TOO_MANY: &str =
    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)";

fn encode(lua: &Lua, v: &Value, level: usize, out: &mut Vec<u8>) -> Outcome<()> {
    match v {
        Value::String(s) => {
            let b = s.as_bytes();
            let len = b.len();
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else if len <= 0xff {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else if len <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(&b);
        }
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_number(*i as f64, out),
        Value::Number(n) => encode_number(*n, out),
        Value::Table(t) if level < MAX_NESTING => encode_table(lua, t, level, out)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    if n.is_finite() && call::double_to_i64(n) as f64 == n {
        encode_int(n as i64, out);
    } else if n == n as f32 as f64 {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A container header: the fix form below 16, else 16 or 32 bits.
fn header(fix: u8, wide: u8, n: usize, out: &mut Vec<u8>) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(wide);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(wide + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Whether every key is an integer in 1..=n, n being the number of keys
/// (the keys must also fit a C int, as the C library compares them so).
fn is_array(t: &Table) -> mlua::Result<bool> {
    let mut count: i64 = 0;
    let mut max: i64 = 0;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(false),
        };
        if n <= 0.0 || n.is_nan() || n > i32::MAX as f64 || n.fract() != 0.0 {
            return Ok(false);
        }
        max = max.max(n as i64);
        count += 1;
    }
    Ok(max == count)
}

fn encode_table(lua: &Lua, t: &Table, level: usize, out: &mut Vec<u8>) -> Outcome<()> {
    if is_array(t)? {
        let len = t.raw_len();
        header(0x90, 0xdc, len, out);
        for i in 1..=len {
            // The C library reads elements with metamethods.
            let v: Value = t.get(i)?;
            encode(lua, &v, level + 1, out)?;
        }
    } else {
        let count = t.pairs::<Value, Value>().count();
        header(0x80, 0xde, count, out);
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair?;
            encode(lua, &k, level + 1, out)?;
            encode(lua, &v, level + 1, out)?;
        }
    }
    Ok(())
}

fn pack(lua: &Lua, args: &[Value]) -> Outcome<MultiValue> {
    if args.is_empty() {
        return Err(arg_error(lua, 0, b"MessagePack pack needs input."));
    }
    let mut out = Vec::new();
    for a in args {
        encode(lua, a, 0, &mut out)?;
    }
    call::one(Value::String(lua.create_string(&out)?))
}

/// Why reading stopped.
enum Stop {
    /// The input ended inside a value.
    Eof,
    /// A byte that starts no value this library reads.
    BadFormat,
    /// Another failure (Lua's stack checks, the binding).
    Other(Fail),
}

impl From<mlua::Error> for Stop {
    fn from(e: mlua::Error) -> Stop {
        Stop::Other(Fail::Lua(e))
    }
}

/// A container being filled while reading (the tables themselves are on
/// the reader's [`ValueStack`], pending map keys on its key stack).
enum Open {
    Array { next: i64, left: u64 },
    Map { has_key: bool, left: u64 },
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    tables: ValueStack,
    keys: ValueStack,
}

impl Reader<'_> {
    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    fn need(&self, n: usize) -> Result<(), Stop> {
        if self.left() < n {
            Err(Stop::Eof)
        } else {
            Ok(())
        }
    }

    fn be(&self, at: usize, n: usize) -> u64 {
        self.data[self.pos + at..self.pos + at + n]
            .iter()
            .fold(0, |acc, &b| (acc << 8) | b as u64)
    }

    fn string(&mut self, lua: &Lua, head: usize, len: usize) -> Result<Value, Stop> {
        self.need(head.saturating_add(len))?;
        let s = lua.create_string(&self.data[self.pos + head..self.pos + head + len])?;
        self.pos += head + len;
        Ok(Value::String(s))
    }

    /// One value, or the start of a container (`Err`-free `Ok(None)` with
    /// the container pushed on `open`). `slots` is how many Lua stack slots
    /// the C library would hold at this point.
    fn item(
        &mut self,
        lua: &Lua,
        open: &mut Vec<Open>,
        slots: usize,
    ) -> Result<Option<Value>, Stop> {
        self.need(1)?;
        if slots + 1 > MAX_C_STACK {
            return Err(Stop::Other(Fail::Raise(TOO_MANY.into())));
        }
        let tag = self.data[self.pos];
        let number = |me: &mut Self, n: usize, v: f64| -> Result<Option<Value>, Stop> {
            me.need(n)?;
            me.pos += n;
            Ok(Some(Value::Number(v)))
        };
        let container =
            |me: &mut Self, lua: &Lua, open: &mut Vec<Open>, head: usize, len: u64, map: bool| {
                me.need(head)?;
                me.pos += head;
                if slots + 2 > MAX_C_STACK && !map {
                    return Err(Stop::Other(Fail::Raise(
                        b"stack overflow (in function mp_decode_to_lua_array)".to_vec(),
                    )));
                }
                me.tables.push(Value::Table(lua.create_table()?))?;
                open.push(if map {
                    Open::Map {
                        has_key: false,
                        left: len,
                    }
                } else {
                    Open::Array { next: 1, left: len }
                });
                Ok(None)
            };
        let l = self.left();
        match tag {
            0xcc => {
                self.need(2)?;
                number(self, 2, self.be(1, 1) as f64)
            }
            0xd0 => {
                self.need(2)?;
                number(self, 2, self.be(1, 1) as u8 as i8 as f64)
            }
            0xcd => {
                self.need(3)?;
                number(self, 3, self.be(1, 2) as f64)
            }
            0xd1 => {
                self.need(3)?;
                number(self, 3, self.be(1, 2) as u16 as i16 as f64)
            }
            0xce => {
                self.need(5)?;
                number(self, 5, self.be(1, 4) as f64)
            }
            0xd2 => {
                self.need(5)?;
                number(self, 5, self.be(1, 4) as u32 as i32 as f64)
            }
            // Lua's integers are signed: the C library's uint64 wraps.
            0xcf | 0xd3 => {
                self.need(9)?;
                number(self, 9, self.be(1, 8) as i64 as f64)
            }
            0xc0 => number(self, 1, 0.0).map(|_| Some(Value::Nil)),
            0xc3 => number(self, 1, 0.0).map(|_| Some(Value::Boolean(true))),
            0xc2 => number(self, 1, 0.0).map(|_| Some(Value::Boolean(false))),
            0xca => {
                self.need(5)?;
                number(self, 5, f32::from_bits(self.be(1, 4) as u32) as f64)
            }
            0xcb => {
                self.need(9)?;
                number(self, 9, f64::from_bits(self.be(1, 8)))
            }
            0xd9 => {
                self.need(2)?;
                let len = self.be(1, 1) as usize;
                self.string(lua, 2, len).map(Some)
            }
            0xda => {
                self.need(3)?;
                let len = self.be(1, 2) as usize;
                self.string(lua, 3, len).map(Some)
            }
            0xdb => {
                self.need(5)?;
                let len = self.be(1, 4) as usize;
                self.string(lua, 5, len).map(Some)
            }
            0xdc | 0xde if l >= 3 => {
                let len = self.be(1, 2);
                container(self, lua, open, 3, len, tag == 0xde)
            }
            0xdd | 0xdf if l >= 5 => {
                let len = self.be(1, 4);
                container(self, lua, open, 5, len, tag == 0xdf)
            }
            0xdc | 0xde => Err(Stop::Eof),
            0xdd | 0xdf => Err(Stop::Eof),
            _ if tag & 0x80 == 0 => number(self, 1, tag as f64),
            _ if tag & 0xe0 == 0xe0 => number(self, 1, tag as i8 as f64),
            _ if tag & 0xe0 == 0xa0 => self.string(lua, 1, (tag & 0x1f) as usize).map(Some),
            _ if tag & 0xf0 == 0x90 => container(self, lua, open, 1, (tag & 0x0f) as u64, false),
            _ if tag & 0xf0 == 0x80 => container(self, lua, open, 1, (tag & 0x0f) as u64, true),
            _ => Err(Stop::BadFormat),
        }
    }

    /// One complete top-level value; `base` is the stack slots already held.
    fn value(&mut self, lua: &Lua, base: usize) -> Result<Value, Stop> {
        let mut open: Vec<Open> = Vec::new();
        // Stack slots the C library holds here: its base, each open array's
        // table and the index being read, each open map's table and, while
        // reading a value, its key.
        let mut held = base;
        loop {
            let mut done = match open.last() {
                Some(Open::Array { left: 0, .. }) | Some(Open::Map { left: 0, .. }) => None,
                _ => {
                    let depth = open.len();
                    match self.item(lua, &mut open, held)? {
                        Some(v) => Some(v),
                        None => {
                            if depth < open.len() {
                                held += match open.last() {
                                    Some(Open::Array { .. }) => 2,
                                    _ => 1,
                                };
                            }
                            continue;
                        }
                    }
                }
            };
            // Attach the finished value, closing the containers it completes.
            loop {
                match (open.last_mut(), done.take()) {
                    (None, v) => return Ok(v.unwrap_or(Value::Nil)),
                    (Some(Open::Array { next, left }), Some(v)) => {
                        self.tables.top_table()?.raw_set(*next, v)?;
                        *next += 1;
                        *left -= 1;
                    }
                    (
                        Some(Open::Map {
                            has_key: has_key @ false,
                            ..
                        }),
                        Some(v),
                    ) => {
                        *has_key = true;
                        self.keys.push(v)?;
                        held += 1;
                    }
                    (Some(Open::Map { has_key, left }), Some(v)) => {
                        *has_key = false;
                        *left -= 1;
                        let k = self.keys.pop()?;
                        held -= 1;
                        // Lua's `lua_settable` refuses these keys.
                        if matches!(k, Value::Nil) {
                            return Err(Stop::Other(Fail::Bare(b"table index is nil".to_vec())));
                        }
                        if matches!(k, Value::Number(n) if n.is_nan()) {
                            return Err(Stop::Other(Fail::Bare(b"table index is NaN".to_vec())));
                        }
                        self.tables.top_table()?.set(k, v)?;
                    }
                    (Some(_), None) => {}
                }
                let complete = matches!(
                    open.last(),
                    Some(Open::Array { left: 0, .. })
                        | Some(Open::Map {
                            left: 0,
                            has_key: false
                        })
                );
                if !complete {
                    break;
                }
                held -= match open.pop() {
                    Some(Open::Array { .. }) => 2,
                    _ => 1,
                };
                done = Some(self.tables.pop()?);
            }
        }
    }
}

fn unpack_full(lua: &Lua, args: &[Value], limit: i64, offset: i64) -> Outcome<MultiValue> {
    let data = check_bytes(lua, args, 1)?;
    let len = data.len();
    let all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return raise(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        ));
    }
    if offset as u64 > len as u64 {
        return raise(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        ));
    }
    let limit = if all { i32::MAX as i64 } else { limit };
    let mut reader = Reader {
        data: &data,
        pos: offset as usize,
        tables: ValueStack::new(lua)?,
        keys: ValueStack::new(lua)?,
    };
    let mut out = Results::new(lua)?;
    if !all {
        // The next offset comes first; it is set at the end.
        out.push(Value::Nil)?;
    }
    let mut count: i64 = 0;
    while reader.left() > 0 && count < limit {
        // The C function's stack holds its one argument and the values so far.
        match reader.value(lua, 1 + out.len() - (!all) as usize) {
            Ok(v) => out.push(v)?,
            Err(Stop::Eof) => return raise("Missing bytes in input."),
            Err(Stop::BadFormat) => return raise("Bad data format in input."),
            Err(Stop::Other(Fail::Lua(mlua::Error::StackError))) => return raise(TOO_MANY),
            Err(Stop::Other(f)) => return Err(f),
        }
        count += 1;
    }
    if !all {
        let next = if reader.left() == 0 {
            -1
        } else {
            reader.pos as i64
        };
        out.set(1, Value::Number(next as f64))?;
    }
    out.finish()
}

/// Builds the `cmsgpack` table.
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("pack", function(lua, |lua, a| pack(lua, &a))?)?;
    t.set(
        "unpack",
        function(lua, |lua, a| unpack_full(lua, &a, 0, 0))?,
    )?;
    t.set(
        "unpack_one",
        function(lua, |lua, a| {
            let offset = call::opt_integer(lua, &a, 2, 0)?;
            unpack_full(lua, &a[..a.len().min(1)], 1, offset)
        })?,
    )?;
    t.set(
        "unpack_limit",
        function(lua, |lua, a| {
            let limit = call::check_integer(lua, &a, 2)?;
            let offset = call::opt_integer(lua, &a, 3, 0)?;
            unpack_full(lua, &a[..a.len().min(1)], limit, offset)
        })?,
    )?;
    t.set("_NAME", "cmsgpack")?;
    t.set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}
