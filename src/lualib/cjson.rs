//! `cjson`: Lua CJSON 2.1.0 as Redis 7.0.15 bundles it.
//!
//! Encoding: numbers in `%.14g` (the precision is settable, 1 to 14);
//! strings with `"` `\` `/` the control bytes and DEL escaped, other bytes
//! as they are; a table whose keys are all positive integers is an array
//! up to its largest key (holes as null) unless it is excessively sparse,
//! any other table an object in `next` order, the empty table `{}`;
//! `cjson.null` and nil as null. Decoding is the strict grammar plus what
//! `strtod` reads (hex, inf, nan, a leading `+`, while invalid numbers are
//! allowed, the default), `\u` escapes (with surrogate pairs) as UTF-8,
//! null as `cjson.null`; the input ends at its first zero byte. Both
//! directions stop at 1000 levels of nesting by default, and where the C
//! library's Lua stack checks would.
//!
//! Each `cjson.new()` is an instance with its own settings.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::call::{self, arg_error, check_bytes, function, raise, type_name, Outcome, ValueStack};
use super::num;

/// Stack slots a C function may use (Lua's `LUAI_MAXCSTACK`).
const MAX_C_STACK: usize = 8000;

/// One instance's settings (the defaults are Redis's).
#[derive(Clone)]
struct Config {
    sparse_convert: bool,
    sparse_ratio: i32,
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    /// 0: refuse NaN and infinities, 1: write them (`nan`, `inf`), 2: as null.
    encode_invalid: usize,
    precision: i32,
    keep_buffer: bool,
    decode_invalid: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid: 0,
            precision: 14,
            keep_buffer: true,
            decode_invalid: true,
        }
    }
}

type Shared = Rc<RefCell<Config>>;

// ---- encoding ----

/// "Cannot serialise <type>: <reason>".
fn cannot(what: &Value, reason: &str) -> String {
    format!("Cannot serialise {}: {reason}", type_name(what))
}

fn append_string(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn append_number(cfg: &Config, v: &Value, n: f64, out: &mut Vec<u8>) -> Outcome<()> {
    if !n.is_finite() {
        match cfg.encode_invalid {
            0 => return raise(cannot(v, "must not be NaN or Inf")),
            1 if n.is_nan() => {
                out.extend_from_slice(b"nan");
                return Ok(());
            }
            1 => {}
            _ => {
                out.extend_from_slice(b"null");
                return Ok(());
            }
        }
    }
    out.extend_from_slice(num::format_g(n, cfg.precision as usize).as_bytes());
    Ok(())
}

/// C's `(int)` of a double on x86-64 (out of range gives `INT_MIN`).
fn c_int(d: f64) -> i32 {
    if d.is_nan() || d >= 2_147_483_648.0 || d <= -2_147_483_649.0 {
        i32::MIN
    } else {
        d as i32
    }
}

/// The array length of `t` (its largest key), or `None` when it is to be
/// an object; an excessively sparse array is an error unless converting.
fn array_length(cfg: &Config, t: &Table) -> Outcome<Option<i32>> {
    let mut max: i32 = 0;
    let mut items: i32 = 0;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let k = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if k == 0.0 || k.floor() != k || k < 1.0 {
            return Ok(None);
        }
        if k > max as f64 {
            max = c_int(k);
        }
        items = items.wrapping_add(1);
    }
    if cfg.sparse_ratio > 0 && max > items.wrapping_mul(cfg.sparse_ratio) && max > cfg.sparse_safe {
        if !cfg.sparse_convert {
            return raise("Cannot serialise table: excessively sparse array");
        }
        return Ok(None);
    }
    Ok(Some(max))
}

/// A table being written (the table itself is on the encoder's table
/// stack, an object's last key on its key stack).
enum Frame {
    Array { next: i32, len: i32, slots: usize },
    Object { first: bool, slots: usize },
}

/// The encoder's state: its frames and the Lua values they walk.
struct Walk {
    frames: Vec<Frame>,
    tables: ValueStack,
    keys: ValueStack,
}

/// Writes `v`, or for a table its opening bracket, pushing it on `walk`.
/// `slots` counts the Lua stack slots the C library would hold with `v` on
/// top; `walk.frames.len()` is how many tables surround `v`.
fn open_value(
    cfg: &Config,
    v: &Value,
    slots: usize,
    walk: &mut Walk,
    out: &mut Vec<u8>,
) -> Outcome<()> {
    match v {
        Value::String(s) => append_string(&s.as_bytes(), out),
        Value::Integer(i) => append_number(cfg, v, *i as f64, out)?,
        Value::Number(n) => append_number(cfg, v, *n, out)?,
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            let depth = walk.frames.len() + 1;
            if depth > cfg.encode_max_depth as usize || slots + 3 > MAX_C_STACK {
                return raise(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            match array_length(cfg, t)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    walk.frames.push(Frame::Array {
                        next: 1,
                        len,
                        slots,
                    });
                }
                _ => {
                    out.push(b'{');
                    walk.frames.push(Frame::Object { first: true, slots });
                }
            }
            walk.tables.push(v.clone())?;
            walk.keys.push(Value::Nil)?;
        }
        _ => return raise(cannot(v, "type not supported")),
    }
    Ok(())
}

fn append_value(
    lua: &Lua,
    cfg: &Config,
    next: &Function,
    v: &Value,
    out: &mut Vec<u8>,
) -> Outcome<()> {
    let mut walk = Walk {
        frames: Vec::new(),
        tables: ValueStack::new(lua)?,
        keys: ValueStack::new(lua)?,
    };
    open_value(cfg, v, 1, &mut walk, out)?;
    while let Some(top) = walk.frames.last_mut() {
        match top {
            Frame::Array {
                next: i,
                len,
                slots,
            } => {
                if *i > *len {
                    out.push(b']');
                    walk.frames.pop();
                    walk.tables.pop()?;
                    walk.keys.pop()?;
                    continue;
                }
                if *i > 1 {
                    out.push(b',');
                }
                let item: Value = walk.tables.top_table()?.raw_get(*i)?;
                *i += 1;
                let slots = *slots + 1;
                open_value(cfg, &item, slots, &mut walk, out)?;
            }
            Frame::Object { first, slots } => {
                let (k, item): (Value, Value) =
                    next.call((walk.tables.top()?, walk.keys.top()?))?;
                if k.is_nil() {
                    out.push(b'}');
                    walk.frames.pop();
                    walk.tables.pop()?;
                    walk.keys.pop()?;
                    continue;
                }
                if !*first {
                    out.push(b',');
                }
                *first = false;
                let slots = *slots + 2;
                match &k {
                    Value::Integer(i) => {
                        out.push(b'"');
                        append_number(cfg, &k, *i as f64, out)?;
                        out.extend_from_slice(b"\":");
                    }
                    Value::Number(n) => {
                        out.push(b'"');
                        append_number(cfg, &k, *n, out)?;
                        out.extend_from_slice(b"\":");
                    }
                    Value::String(s) => {
                        append_string(&s.as_bytes(), out);
                        out.push(b':');
                    }
                    _ => return raise(cannot(&k, "table key must be a number or string")),
                }
                walk.keys.set_top(k)?;
                open_value(cfg, &item, slots, &mut walk, out)?;
            }
        }
    }
    Ok(())
}

fn encode(lua: &Lua, cfg: &Shared, next: &Function, args: &[Value]) -> Outcome<MultiValue> {
    if args.len() != 1 {
        return Err(arg_error(lua, 1, b"expected 1 argument"));
    }
    let cfg = cfg.borrow().clone();
    let mut out = Vec::new();
    append_value(lua, &cfg, next, &args[0], &mut out)?;
    call::one(Value::String(lua.create_string(&out)?))
}

// ---- decoding ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num,
    Bool,
    Null,
    Colon,
    Comma,
    End,
    /// A token error; the text says which.
    Error(&'static str),
}

impl Kind {
    /// How a parse error names what it found.
    fn name(self) -> &'static str {
        match self {
            Kind::ObjBegin => "T_OBJ_BEGIN",
            Kind::ObjEnd => "T_OBJ_END",
            Kind::ArrBegin => "T_ARR_BEGIN",
            Kind::ArrEnd => "T_ARR_END",
            Kind::Str => "T_STRING",
            Kind::Num => "T_NUMBER",
            Kind::Bool => "T_BOOLEAN",
            Kind::Null => "T_NULL",
            Kind::Colon => "T_COLON",
            Kind::Comma => "T_COMMA",
            Kind::End => "T_END",
            Kind::Error(what) => what,
        }
    }
}

struct Token {
    kind: Kind,
    /// Where it starts (or where the error is), from 0.
    at: usize,
    text: Vec<u8>,
    number: f64,
    boolean: bool,
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    decode_invalid: bool,
}

fn hex4(s: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for i in 0..4 {
        let d = (*s.get(i)? as char).to_digit(16)?;
        v = (v << 4) | d;
    }
    Some(v)
}

impl Parser<'_> {
    /// The byte at `i`, zero past the end (the C parser reads a C string).
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn rest(&self) -> &[u8] {
        &self.data[self.pos.min(self.data.len())..]
    }

    /// Numbers strict JSON does not have but `strtod` reads.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.pos;
        match self.at(p) {
            b'+' => return true,
            b'-' => p += 1,
            _ => {}
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        let word = &self.data[p.min(self.data.len())..];
        word.len() >= 3
            && (word[..3].eq_ignore_ascii_case(b"inf") || word[..3].eq_ignore_ascii_case(b"nan"))
    }

    fn number(&mut self, tok: &mut Token) {
        match num::strtod(self.rest()) {
            Some((v, len)) if len > 0 => {
                tok.kind = Kind::Num;
                tok.number = v;
                self.pos += len;
            }
            _ => self.error(tok, "invalid number"),
        }
    }

    fn error(&self, tok: &mut Token, what: &'static str) {
        tok.kind = Kind::Error(what);
        tok.at = self.pos;
    }

    /// A `\uXXXX` escape (two for a surrogate pair) at the parse position.
    fn unicode_escape(&mut self, text: &mut Vec<u8>) -> bool {
        let Some(mut cp) = hex4(&self.data[(self.pos + 2).min(self.data.len())..]) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xf800 == 0xd800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = hex4(&self.data[(self.pos + 8).min(self.data.len())..]) else {
                return false;
            };
            if low & 0xfc00 != 0xdc00 {
                return false;
            }
            cp = (((cp & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
            len = 12;
        }
        // Code points are written as UTF-8 whether or not they are characters.
        if cp <= 0x7f {
            text.push(cp as u8);
        } else if cp <= 0x7ff {
            text.extend_from_slice(&[0xc0 | (cp >> 6) as u8, 0x80 | (cp & 0x3f) as u8]);
        } else if cp <= 0xffff {
            text.extend_from_slice(&[
                0xe0 | (cp >> 12) as u8,
                0x80 | ((cp >> 6) & 0x3f) as u8,
                0x80 | (cp & 0x3f) as u8,
            ]);
        } else {
            text.extend_from_slice(&[
                0xf0 | (cp >> 18) as u8,
                0x80 | ((cp >> 12) & 0x3f) as u8,
                0x80 | ((cp >> 6) & 0x3f) as u8,
                0x80 | (cp & 0x3f) as u8,
            ]);
        }
        self.pos += len;
        true
    }

    fn string(&mut self, tok: &mut Token) {
        self.pos += 1;
        let mut text = Vec::new();
        loop {
            let c = self.at(self.pos);
            if c == b'"' {
                break;
            }
            if c == 0 {
                return self.error(tok, "unexpected end of string");
            }
            if c == b'\\' {
                let unescaped = match self.at(self.pos + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 0x08,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'f' => 0x0c,
                    b'r' => b'\r',
                    b'u' => {
                        if self.unicode_escape(&mut text) {
                            continue;
                        }
                        return self.error(tok, "invalid unicode escape code");
                    }
                    _ => return self.error(tok, "invalid escape code"),
                };
                text.push(unescaped);
                self.pos += 2;
                continue;
            }
            text.push(c);
            self.pos += 1;
        }
        self.pos += 1;
        tok.kind = Kind::Str;
        tok.text = text;
    }

    fn next(&mut self) -> Token {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let mut tok = Token {
            kind: Kind::End,
            at: self.pos,
            text: Vec::new(),
            number: 0.0,
            boolean: false,
        };
        let c = self.at(self.pos);
        let single = match c {
            b'{' => Some(Kind::ObjBegin),
            b'}' => Some(Kind::ObjEnd),
            b'[' => Some(Kind::ArrBegin),
            b']' => Some(Kind::ArrEnd),
            b',' => Some(Kind::Comma),
            b':' => Some(Kind::Colon),
            _ => None,
        };
        if let Some(kind) = single {
            tok.kind = kind;
            self.pos += 1;
            return tok;
        }
        let rest = self.rest();
        match c {
            0 => {}
            b'"' => self.string(&mut tok),
            b'-' | b'0'..=b'9' => {
                if !self.decode_invalid && self.is_invalid_number() {
                    self.error(&mut tok, "invalid number");
                } else {
                    self.number(&mut tok);
                }
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                if rest.starts_with(b"true") {
                    tok.kind = Kind::Bool;
                    tok.boolean = true;
                    self.pos += 4;
                } else if rest.starts_with(b"false") {
                    tok.kind = Kind::Bool;
                    self.pos += 5;
                } else if rest.starts_with(b"null") {
                    tok.kind = Kind::Null;
                    self.pos += 4;
                } else if self.decode_invalid && self.is_invalid_number() {
                    self.number(&mut tok);
                } else {
                    self.error(&mut tok, "invalid token");
                }
            }
            _ => self.error(&mut tok, "invalid token"),
        }
        tok
    }
}

/// "Expected <what> but found <token> at character <n>".
fn expected<T>(what: &str, tok: &Token) -> Outcome<T> {
    raise(format!(
        "Expected {what} but found {} at character {}",
        tok.kind.name(),
        tok.at + 1
    ))
}

/// A container being filled (the tables themselves are on a
/// [`ValueStack`]).
enum Open {
    Array { next: i64 },
    Object { key: Vec<u8> },
}

fn decode(lua: &Lua, cfg: &Shared, args: &[Value]) -> Outcome<MultiValue> {
    if args.len() != 1 {
        return Err(arg_error(lua, 1, b"expected 1 argument"));
    }
    let input = check_bytes(lua, args, 1)?;
    if input.len() >= 2 && (input[0] == 0 || input[1] == 0) {
        return raise("JSON parser does not support UTF-16 or UTF-32");
    }
    let end = input.iter().position(|&b| b == 0).unwrap_or(input.len());
    let (max_depth, decode_invalid) = {
        let c = cfg.borrow();
        (c.decode_max_depth, c.decode_invalid)
    };
    let mut p = Parser {
        data: &input[..end],
        pos: 0,
        decode_invalid,
    };
    let mut open: Vec<Open> = Vec::new();
    let mut tables = ValueStack::new(lua)?;
    // Lua stack slots the C parser holds: its argument, each open array's
    // table, each open object's table and key.
    let mut slots: usize = 1;
    let mut tok = p.next();
    loop {
        // `tok` starts a value.
        let mut value = match tok.kind {
            Kind::Str => Value::String(lua.create_string(&tok.text)?),
            Kind::Num => Value::Number(tok.number),
            Kind::Bool => Value::Boolean(tok.boolean),
            Kind::Null => Value::NULL,
            Kind::ObjBegin | Kind::ArrBegin => {
                let object = tok.kind == Kind::ObjBegin;
                let depth = open.len() + 1;
                let need = if object { 3 } else { 2 };
                if depth > max_depth as usize || slots + need > MAX_C_STACK {
                    return raise(format!(
                        "Found too many nested data structures ({depth}) at character {}",
                        p.pos
                    ));
                }
                let t = Value::Table(lua.create_table()?);
                tok = p.next();
                if object {
                    if tok.kind == Kind::ObjEnd {
                        t
                    } else {
                        if tok.kind != Kind::Str {
                            return expected("object key string", &tok);
                        }
                        let key = std::mem::take(&mut tok.text);
                        tok = p.next();
                        if tok.kind != Kind::Colon {
                            return expected("colon", &tok);
                        }
                        open.push(Open::Object { key });
                        tables.push(t)?;
                        slots += 2;
                        tok = p.next();
                        continue;
                    }
                } else if tok.kind == Kind::ArrEnd {
                    t
                } else {
                    open.push(Open::Array { next: 1 });
                    tables.push(t)?;
                    slots += 1;
                    continue;
                }
            }
            _ => return expected("value", &tok),
        };
        // Store the value in its container; a closing bracket completes the
        // container, which is in turn a value of the one around it.
        loop {
            tok = p.next();
            let object = match open.last_mut() {
                None => {
                    if tok.kind != Kind::End {
                        return expected("the end", &tok);
                    }
                    return call::one(value);
                }
                Some(Open::Array { next }) => {
                    tables.top_table()?.raw_set(*next, value)?;
                    *next += 1;
                    false
                }
                Some(Open::Object { key }) => {
                    let k = lua.create_string(&*key)?;
                    tables.top_table()?.raw_set(k, value)?;
                    true
                }
            };
            let (end, what) = if object {
                (Kind::ObjEnd, "comma or object end")
            } else {
                (Kind::ArrEnd, "comma or array end")
            };
            if tok.kind == end {
                open.pop();
                slots -= if object { 2 } else { 1 };
                value = tables.pop()?;
                continue;
            }
            if tok.kind != Kind::Comma {
                return expected(what, &tok);
            }
            tok = p.next();
            if object {
                if tok.kind != Kind::Str {
                    return expected("object key string", &tok);
                }
                if let Some(Open::Object { key }) = open.last_mut() {
                    *key = std::mem::take(&mut tok.text);
                }
                tok = p.next();
                if tok.kind != Kind::Colon {
                    return expected("colon", &tok);
                }
                tok = p.next();
            }
            break;
        }
    }
}

// ---- settings ----

/// Checks a setting function's argument count (`json_arg_init`).
fn at_most(lua: &Lua, args: &[Value], n: usize) -> Outcome<()> {
    if args.len() > n {
        return Err(arg_error(lua, n as i32 + 1, b"found too many arguments"));
    }
    Ok(())
}

fn is_nil(args: &[Value], i: usize) -> bool {
    matches!(args.get(i - 1), None | Some(Value::Nil))
}

/// An integer setting in `min..=max` from argument `i`, if given.
fn integer_option(
    lua: &Lua,
    args: &[Value],
    i: usize,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> Outcome<Value> {
    if !is_nil(args, i) {
        let v = call::check_integer(lua, args, i)? as i32;
        if v < min || v > max {
            // The C library names argument 1 whichever it checks.
            return Err(arg_error(
                lua,
                1,
                format!("expected integer between {min} and {max}").as_bytes(),
            ));
        }
        *setting = v;
    }
    Ok(Value::Number(*setting as f64))
}

/// An option from `names` (`off` / `on` by default, also `false` / `true`)
/// from argument `i`, if given; the reply is a boolean for off and on.
fn enum_option(
    lua: &Lua,
    args: &[Value],
    i: usize,
    setting: &mut usize,
    names: &[&str],
) -> Outcome<Value> {
    match args.get(i - 1) {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = *b as usize,
        Some(_) => {
            let given = check_bytes(lua, args, i)?;
            let given = &given[..given.iter().position(|&b| b == 0).unwrap_or(given.len())];
            match names.iter().position(|n| n.as_bytes() == given) {
                Some(k) => *setting = k,
                None => {
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(given);
                    msg.push(b'\'');
                    return Err(arg_error(lua, i as i32, &msg));
                }
            }
        }
    }
    Ok(if *setting <= 1 {
        Value::Boolean(*setting == 1)
    } else {
        Value::String(lua.create_string(names[*setting])?)
    })
}

const OFF_ON: &[&str] = &["off", "on"];

fn bool_option(lua: &Lua, args: &[Value], i: usize, setting: &mut bool) -> Outcome<Value> {
    let mut k = *setting as usize;
    let v = enum_option(lua, args, i, &mut k, OFF_ON)?;
    *setting = k == 1;
    Ok(v)
}

/// Builds a `cjson` table: one instance, with fresh settings.
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let cfg: Shared = Rc::new(RefCell::new(Config::default()));
    let t = lua.create_table()?;
    let c = cfg.clone();
    let next = call::next_function(lua)?;
    t.set(
        "encode",
        function(lua, move |lua, a| encode(lua, &c, &next, &a))?,
    )?;
    let c = cfg.clone();
    t.set("decode", function(lua, move |lua, a| decode(lua, &c, &a))?)?;
    let c = cfg.clone();
    t.set(
        "encode_sparse_array",
        function(lua, move |lua, a| {
            at_most(lua, &a, 3)?;
            let mut cfg = c.borrow_mut();
            let convert = bool_option(lua, &a, 1, &mut cfg.sparse_convert)?;
            let ratio = integer_option(lua, &a, 2, &mut cfg.sparse_ratio, 0, i32::MAX)?;
            let safe = integer_option(lua, &a, 3, &mut cfg.sparse_safe, 0, i32::MAX)?;
            Ok([convert, ratio, safe].into_iter().collect())
        })?,
    )?;
    type Pick = fn(&mut Config) -> &mut i32;
    let integers: [(&str, Pick, i32, i32); 3] = [
        ("encode_max_depth", |c| &mut c.encode_max_depth, 1, i32::MAX),
        ("decode_max_depth", |c| &mut c.decode_max_depth, 1, i32::MAX),
        ("encode_number_precision", |c| &mut c.precision, 1, 14),
    ];
    for (name, pick, min, max) in integers {
        let c = cfg.clone();
        t.set(
            name,
            function(lua, move |lua, a| {
                at_most(lua, &a, 1)?;
                let mut cfg = c.borrow_mut();
                call::one(integer_option(lua, &a, 1, pick(&mut cfg), min, max)?)
            })?,
        )?;
    }
    type PickBool = fn(&mut Config) -> &mut bool;
    let booleans: [(&str, PickBool); 2] = [
        ("encode_keep_buffer", |c| &mut c.keep_buffer),
        ("decode_invalid_numbers", |c| &mut c.decode_invalid),
    ];
    for (name, pick) in booleans {
        let c = cfg.clone();
        t.set(
            name,
            function(lua, move |lua, a| {
                at_most(lua, &a, 1)?;
                let mut cfg = c.borrow_mut();
                call::one(bool_option(lua, &a, 1, pick(&mut cfg))?)
            })?,
        )?;
    }
    let c = cfg.clone();
    t.set(
        "encode_invalid_numbers",
        function(lua, move |lua, a| {
            at_most(lua, &a, 1)?;
            let mut cfg = c.borrow_mut();
            call::one(enum_option(
                lua,
                &a,
                1,
                &mut cfg.encode_invalid,
                &["off", "on", "null"],
            )?)
        })?,
    )?;
    t.set(
        "new",
        function(lua, |lua, _| call::one(Value::Table(module(lua)?)))?,
    )?;
    t.set("null", Value::NULL)?;
    t.set("_NAME", "cjson")?;
    t.set("_VERSION", "2.1.0")?;
    Ok(t)
}
