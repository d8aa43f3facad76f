//! Conversions between RESP and Lua values, by Redis's rules.
//!
//! A command's reply becomes a Lua value ([`push_reply`]): integer →
//! number, bulk string → string, null bulk or null array → false, array →
//! table, status → `{ok=...}`, error → `{err=...}`; and in RESP3 (after
//! `redis.setresp(3)`) map → `{map={...}}`, set → `{set={member=true}}`,
//! null → nil, boolean → boolean, double → `{double=n}`, big number →
//! `{big_number=s}`, verbatim string → `{verbatim_string={format=,
//! string=}}`. A script's result goes back the other way
//! ([`write_reply`]): number → integer (truncated), string → bulk, table →
//! array up to its first nil unless it is one of the single-field tables
//! above, true → 1 and false → null in RESP2 (booleans in RESP3), and
//! anything else → null.
//!
//! All functions here work on the raw Lua stack and must not raise a Lua
//! error: callers raise, if they must, once everything Rust owns is gone.

use crate::reply::Reply;
use mlua::ffi::{self, lua_State};
use std::os::raw::c_int;

/// How deep a script's result may nest before the conversion gives up
/// with Redis's stack-limit error (its Lua stack would run out about there).
const MAX_DEPTH: usize = 1000;

/// Pushes a Lua string.
pub(super) unsafe fn push_bytes(l: *mut lua_State, b: &[u8]) {
    ffi::lua_pushlstring(l, b.as_ptr().cast(), b.len());
}

/// The bytes of the string (or number, converted in place) at `idx`.
pub(super) unsafe fn to_bytes<'a>(l: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    let mut len = 0usize;
    let p = ffi::lua_tolstring(l, idx, &mut len);
    if p.is_null() {
        None
    } else {
        Some(std::slice::from_raw_parts(p.cast(), len))
    }
}

/// Sets `t[name] = <top>` on the table just below the top, popping the value.
unsafe fn set_field(l: *mut lua_State, name: &[u8]) {
    push_bytes(l, name);
    ffi::lua_insert(l, -2);
    ffi::lua_rawset(l, -3);
}

/// Pushes Redis's error table for `text`: a leading `-CODE` is split off
/// as the code (`ERR` when there is none), a trailing CRLF trimmed, and
/// the table's `err` is `CODE message`.
pub(super) unsafe fn push_error_table(l: *mut lua_State, text: &[u8]) {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let mut end = msg.len();
    while end > 0 && (msg[end - 1] == b'\r' || msg[end - 1] == b'\n') {
        end -= 1;
    }
    let mut start = 0;
    while start < end && (msg[start] == b'\r' || msg[start] == b'\n') {
        start += 1;
    }
    let mut full = Vec::with_capacity(code.len() + 1 + end - start);
    full.extend_from_slice(code);
    full.push(b' ');
    full.extend_from_slice(&msg[start..end]);
    // Lua strings end at the first NUL when set with pushstring in Redis.
    if let Some(nul) = full.iter().position(|&b| b == 0) {
        full.truncate(nul);
    }
    ffi::lua_createtable(l, 0, 2);
    push_bytes(l, &full);
    set_field(l, b"err");
}

/// One line of a RESP reply: the bytes up to CRLF and what follows.
fn line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = data.windows(2).position(|w| w == b"\r\n")?;
    Some((&data[..end], &data[end + 2..]))
}

fn number(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Pushes the Lua form of the RESP reply at the start of `data` (one value;
/// `push_reply` leaves exactly one value on the stack, `nil` for malformed
/// input) and returns the rest of the input, and whether the value is an
/// error table.
pub(super) unsafe fn push_reply(l: *mut lua_State, data: &[u8]) -> (bool, usize) {
    ffi::lua_checkstack(l, 8);
    match parse(l, data, true) {
        Some((rest, is_error)) => (is_error, data.len() - rest.len()),
        None => {
            ffi::lua_pushnil(l);
            (false, data.len())
        }
    }
}

/// Parses one value; pushes it when `push` (attributes are parsed and
/// dropped). On malformed input pushes nothing and returns None (values
/// pushed for a partly parsed aggregate are popped).
unsafe fn parse(l: *mut lua_State, data: &[u8], push: bool) -> Option<(&[u8], bool)> {
    let top = ffi::lua_gettop(l);
    let result = parse_inner(l, data, push);
    if result.is_none() {
        ffi::lua_settop(l, top);
    }
    result
}

unsafe fn parse_inner(l: *mut lua_State, data: &[u8], push: bool) -> Option<(&[u8], bool)> {
    if ffi::lua_checkstack(l, 4) == 0 {
        return None;
    }
    let kind = *data.first()?;
    let (head, rest) = line(&data[1..])?;
    match kind {
        b'+' => {
            if push {
                ffi::lua_createtable(l, 0, 1);
                push_bytes(l, head);
                set_field(l, b"ok");
            }
            Some((rest, false))
        }
        b'-' => {
            if push {
                let mut text = Vec::with_capacity(head.len() + 1);
                text.push(b'-');
                text.extend_from_slice(head);
                push_error_table(l, &text);
                ffi::lua_pushboolean(l, 1);
                set_field(l, b"ignore_error_stats_update");
            }
            Some((rest, true))
        }
        b':' => {
            if push {
                ffi::lua_pushnumber(l, number(head)? as f64);
            }
            Some((rest, false))
        }
        b'$' | b'=' => {
            let n = number(head)?;
            if n < 0 {
                if push {
                    ffi::lua_pushboolean(l, 0);
                }
                return Some((rest, false));
            }
            let n = n as usize;
            if rest.len() < n + 2 {
                return None;
            }
            let body = &rest[..n];
            if push {
                if kind == b'$' {
                    push_bytes(l, body);
                } else {
                    let (format, text) = if body.len() >= 4 {
                        (&body[..3], &body[4..])
                    } else {
                        (&b"txt"[..], body)
                    };
                    ffi::lua_createtable(l, 0, 1);
                    ffi::lua_createtable(l, 0, 2);
                    push_bytes(l, text);
                    set_field(l, b"string");
                    push_bytes(l, format);
                    set_field(l, b"format");
                    set_field(l, b"verbatim_string");
                }
            }
            Some((&rest[n + 2..], false))
        }
        b'*' | b'>' | b'~' | b'%' | b'|' => {
            let n = number(head)?;
            if n < 0 {
                if push {
                    ffi::lua_pushboolean(l, 0);
                }
                return Some((rest, false));
            }
            let mut rest = rest;
            match kind {
                b'|' => {
                    for _ in 0..n.saturating_mul(2) {
                        rest = parse(l, rest, false)?.0;
                    }
                    return parse(l, rest, push);
                }
                b'%' => {
                    if push {
                        ffi::lua_createtable(l, 0, 1);
                        ffi::lua_createtable(l, 0, 0);
                    }
                    for _ in 0..n {
                        rest = parse(l, rest, push)?.0;
                        rest = parse(l, rest, push)?.0;
                        if push {
                            ffi::lua_settable(l, -3);
                        }
                    }
                    if push {
                        set_field(l, b"map");
                    }
                }
                b'~' => {
                    if push {
                        ffi::lua_createtable(l, 0, 1);
                        ffi::lua_createtable(l, 0, 0);
                    }
                    for _ in 0..n {
                        rest = parse(l, rest, push)?.0;
                        if push {
                            ffi::lua_pushboolean(l, 1);
                            ffi::lua_settable(l, -3);
                        }
                    }
                    if push {
                        set_field(l, b"set");
                    }
                }
                _ => {
                    if push {
                        ffi::lua_createtable(l, n.min(1 << 16) as c_int, 0);
                    }
                    for i in 0..n {
                        rest = parse(l, rest, push)?.0;
                        if push {
                            ffi::lua_rawseti(l, -2, (i + 1) as ffi::lua_Integer);
                        }
                    }
                }
            }
            Some((rest, false))
        }
        b'_' => {
            if push {
                ffi::lua_pushnil(l);
            }
            Some((rest, false))
        }
        b'#' => {
            if push {
                ffi::lua_pushboolean(l, (head == b"t") as c_int);
            }
            Some((rest, false))
        }
        b',' => {
            if push {
                let d: f64 = std::str::from_utf8(head).ok()?.parse().ok()?;
                ffi::lua_createtable(l, 0, 1);
                ffi::lua_pushnumber(l, d);
                set_field(l, b"double");
            }
            Some((rest, false))
        }
        b'(' => {
            if push {
                ffi::lua_createtable(l, 0, 1);
                push_bytes(l, head);
                set_field(l, b"big_number");
            }
            Some((rest, false))
        }
        _ => None,
    }
}

/// A Lua number as Redis's `(long long)` cast gives it on x86-64: NaN and
/// values out of range become the smallest integer.
pub fn lua_number_to_i64(d: f64) -> i64 {
    // 2^63: the first value past i64's range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if d.is_nan() || !(-LIMIT..LIMIT).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// Reads field `name` of the table at the top into the top of the stack
/// (raw access) and returns its type.
unsafe fn raw_field(l: *mut lua_State, name: &[u8]) -> c_int {
    push_bytes(l, name);
    ffi::lua_rawget(l, -2);
    ffi::lua_type(l, -1)
}

/// Writes the value at the top of the Lua stack to `out` as the script's
/// reply and pops it. `resp3` is the script's own protocol (`redis.setresp`),
/// which decides how booleans convert.
pub(super) unsafe fn write_reply(l: *mut lua_State, out: &mut Reply, resp3: bool) {
    write_value(l, out, resp3, 0);
}

unsafe fn write_value(l: *mut lua_State, out: &mut Reply, resp3: bool, depth: usize) {
    if depth > MAX_DEPTH || ffi::lua_checkstack(l, 4) == 0 {
        out.error("ERR reached lua stack limit");
        ffi::lua_pop(l, 1);
        return;
    }
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => out.bulk(to_bytes(l, -1).unwrap_or_default()),
        ffi::LUA_TBOOLEAN => {
            let b = ffi::lua_toboolean(l, -1) != 0;
            if !resp3 {
                if b {
                    out.int(1);
                } else {
                    out.null();
                }
            } else {
                out.bool(b);
            }
        }
        ffi::LUA_TNUMBER => out.int(lua_number_to_i64(ffi::lua_tonumber(l, -1))),
        ffi::LUA_TTABLE => {
            write_table(l, out, resp3, depth);
            return;
        }
        _ => out.null(),
    }
    ffi::lua_pop(l, 1);
}

/// A table: one of the single-field forms, or an array. Pops it.
unsafe fn write_table(l: *mut lua_State, out: &mut Reply, resp3: bool, depth: usize) {
    if raw_field(l, b"err") == ffi::LUA_TSTRING {
        ffi::lua_pop(l, 1);
        ffi::lua_getfield(l, -1, c"err".as_ptr());
        let msg = to_bytes(l, -1).unwrap_or_default().to_vec();
        ffi::lua_pop(l, 2);
        out.error_bytes(&msg);
        return;
    }
    ffi::lua_pop(l, 1);
    if raw_field(l, b"ok") == ffi::LUA_TSTRING {
        let text = to_bytes(l, -1).unwrap_or_default();
        out.buf.push(b'+');
        out.buf.extend(
            text.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        out.buf.extend_from_slice(b"\r\n");
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if raw_field(l, b"double") == ffi::LUA_TNUMBER {
        out.double(ffi::lua_tonumber(l, -1));
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if raw_field(l, b"big_number") == ffi::LUA_TSTRING {
        let text: Vec<u8> = to_bytes(l, -1)
            .unwrap_or_default()
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        if out.is_resp3() {
            out.buf.push(b'(');
            out.buf.extend_from_slice(&text);
            out.buf.extend_from_slice(b"\r\n");
        } else {
            out.bulk(&text);
        }
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if raw_field(l, b"verbatim_string") == ffi::LUA_TTABLE {
        if raw_field(l, b"format") == ffi::LUA_TSTRING {
            push_bytes(l, b"string");
            ffi::lua_rawget(l, -3);
            if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
                // Stack: table, verbatim, format, string.
                let text = to_bytes(l, -1).unwrap_or_default();
                let format = to_bytes(l, -2).unwrap_or_default();
                let mut f = [b' '; 3];
                for (d, s) in f.iter_mut().zip(format) {
                    *d = *s;
                }
                if out.is_resp3() {
                    out.buf.push(b'=');
                    crate::reply::push_i64(&mut out.buf, text.len() as i64 + 4);
                    out.buf.extend_from_slice(b"\r\n");
                    out.buf.extend_from_slice(&f);
                    out.buf.push(b':');
                    out.buf.extend_from_slice(text);
                    out.buf.extend_from_slice(b"\r\n");
                } else {
                    out.bulk(text);
                }
                ffi::lua_pop(l, 4);
                return;
            }
            ffi::lua_pop(l, 1);
        }
        ffi::lua_pop(l, 1);
    }
    ffi::lua_pop(l, 1);
    if raw_field(l, b"map") == ffi::LUA_TTABLE {
        let at = out.mark();
        let mut n = 0usize;
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            // Stack: table, map, key, value.
            ffi::lua_pushvalue(l, -2);
            write_value(l, out, resp3, depth + 1);
            write_value(l, out, resp3, depth + 1);
            n += 1;
        }
        insert_header(
            out,
            at,
            if out.is_resp3() { b'%' } else { b'*' },
            if out.is_resp3() { n } else { 2 * n },
        );
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if raw_field(l, b"set") == ffi::LUA_TTABLE {
        let at = out.mark();
        let mut n = 0usize;
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            ffi::lua_pop(l, 1);
            ffi::lua_pushvalue(l, -1);
            write_value(l, out, resp3, depth + 1);
            n += 1;
        }
        insert_header(out, at, if out.is_resp3() { b'~' } else { b'*' }, n);
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    let at = out.mark();
    let mut n = 0usize;
    loop {
        ffi::lua_rawgeti(l, -1, (n + 1) as ffi::lua_Integer);
        if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
            ffi::lua_pop(l, 1);
            break;
        }
        write_value(l, out, resp3, depth + 1);
        n += 1;
    }
    insert_header(out, at, b'*', n);
    ffi::lua_pop(l, 1);
}

/// Inserts an aggregate header at `at` (a [`Reply::mark`]) once its length
/// is known.
fn insert_header(out: &mut Reply, at: usize, kind: u8, n: usize) {
    let mut header = vec![kind];
    crate::reply::push_i64(&mut header, n as i64);
    header.extend_from_slice(b"\r\n");
    out.buf.splice(at..at, header);
}
