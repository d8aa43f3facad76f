//! How the library functions are called and how they fail.
//!
//! Redis's libraries are C functions that raise plain Lua strings, so a
//! script's `pcall` gets the message itself, and Redis's error handler sees
//! a C function at the top of the stack and reports the script's own line.
//! An mlua callback raises a userdata instead, so each function here is an
//! mlua callback wrapped in a small C closure ([`shim`]): the callback
//! returns its results, or a private marker and the message; the closure
//! raises the message as a string from its own C frame.

use std::ffi::{c_int, c_void};

use mlua::{ffi, Function, Lua, MultiValue, Table, Value};

/// Why a library function stopped.
pub enum Fail {
    /// A Lua error whose value is this string after the caller's position,
    /// `<chunk>:<line>: ` (what `luaL_error` raises).
    Raise(Vec<u8>),
    /// A Lua error whose value is just this string (what the VM itself
    /// raises inside a C function, such as "table index is nil").
    Bare(Vec<u8>),
    /// An error of the binding itself (out of memory, too many references).
    Lua(mlua::Error),
}

impl From<mlua::Error> for Fail {
    fn from(e: mlua::Error) -> Fail {
        Fail::Lua(e)
    }
}

/// What a library function's body returns.
pub type Outcome<T> = Result<T, Fail>;

/// Fails with `msg` after the caller's position, as `luaL_error` does.
pub fn raise<T>(msg: impl Into<Vec<u8>>) -> Outcome<T> {
    Err(Fail::Raise(msg.into()))
}

/// The markers' addresses are the markers: no script can make these
/// pointers. (Different contents, so that no linker folds them together.)
static FAILED: u8 = 0;
static MANY: u8 = 1;

fn failed_marker() -> *mut c_void {
    &FAILED as *const u8 as *mut c_void
}

fn many_marker() -> *mut c_void {
    &MANY as *const u8 as *mut c_void
}

fn is_marker(state: *mut ffi::lua_State, index: c_int, marker: *mut c_void) -> bool {
    // SAFETY: reads a slot of the running C frame.
    unsafe {
        ffi::lua_type(state, index) == ffi::LUA_TLIGHTUSERDATA
            && ffi::lua_touserdata(state, index) == marker
    }
}

/// The C closure around a callback (its upvalue): calls it and either
/// returns its results or raises the message that follows the marker.
unsafe extern "C-unwind" fn shim(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: only raw stack operations on the running C frame; no Rust
    // value with a destructor is alive when `lua_error` jumps out.
    unsafe {
        let nargs = ffi::lua_gettop(state);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        // An error of the binding itself propagates through this frame.
        ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
        let results = ffi::lua_gettop(state);
        if results == 2 && is_marker(state, 1, failed_marker()) {
            ffi::lua_remove(state, 1);
            ffi::lua_error(state);
        }
        if results == 3 && is_marker(state, 1, many_marker()) {
            // Results in a table (see `Results`): spread them on this frame,
            // which has room for as many as the C function would have had.
            let n = ffi::lua_tointeger(state, 3) as c_int;
            ffi::lua_settop(state, 2);
            ffi::lua_replace(state, 1);
            if ffi::lua_checkstack(state, n) == 0 {
                ffi::lua_settop(state, 0);
                ffi::lua_pushstring(state, c"too many results".as_ptr());
                ffi::lua_error(state);
            }
            for i in 1..=n {
                ffi::lua_rawgeti(state, 1, i as _);
            }
            ffi::lua_remove(state, 1);
            return n;
        }
        results
    }
}

/// Makes a library function from `body`, which gets the call's arguments
/// as passed (missing ones are absent, not nil).
pub fn function<F>(lua: &Lua, body: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, Vec<Value>) -> Outcome<MultiValue> + 'static,
{
    let inner = lua.create_function(move |lua, args: MultiValue| {
        let msg = match body(lua, args.into_iter().collect()) {
            Ok(values) => return Ok(values),
            Err(Fail::Lua(e)) => return Err(e),
            Err(Fail::Raise(msg)) => {
                let mut text = position(lua);
                text.extend_from_slice(&msg);
                text
            }
            Err(Fail::Bare(msg)) => msg,
        };
        let mut out = MultiValue::new();
        out.push_back(Value::LightUserData(mlua::LightUserData(failed_marker())));
        out.push_back(Value::String(lua.create_string(msg)?));
        Ok(out)
    })?;
    // SAFETY: `exec_raw` runs the closure on a stack holding `inner`; the
    // pushed C closure takes it as its one upvalue and is the result.
    unsafe {
        lua.exec_raw::<Function>(inner, |state| {
            ffi::lua_pushcclosure(state, shim, 1);
        })
    }
}

/// `luaL_where(L, 1)` as the C closure would see it: "<chunk>:<line>: "
/// of the Lua function that called it, nothing when a C function did.
fn position(lua: &Lua) -> Vec<u8> {
    // Level 0 is the callback, 1 the C closure, 2 its caller.
    lua.inspect_stack(2, |d| {
        let line = d.current_line()?;
        let src = d.source().short_src?.into_owned();
        Some(format!("{src}:{line}: ").into_bytes())
    })
    .flatten()
    .unwrap_or_default()
}

/// Many results, kept in a Lua table as they are made rather than as
/// references (mlua holds at most a few thousand at once), and returned
/// through the C closure, whose frame has room for as many as Redis's.
pub struct Results {
    table: Table,
    n: usize,
}

impl Results {
    /// No results yet.
    pub fn new(lua: &Lua) -> mlua::Result<Results> {
        Ok(Results {
            table: lua.create_table()?,
            n: 0,
        })
    }

    /// How many so far.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Adds one at the end.
    pub fn push(&mut self, v: Value) -> mlua::Result<()> {
        self.n += 1;
        self.table.raw_set(self.n, v)
    }

    /// Replaces result `i` (from 1).
    pub fn set(&self, i: usize, v: Value) -> mlua::Result<()> {
        self.table.raw_set(i, v)
    }

    /// The last one.
    pub fn last(&self) -> mlua::Result<Value> {
        self.table.raw_get(self.n)
    }

    /// Drops the last one.
    pub fn pop(&mut self) -> mlua::Result<()> {
        if self.n > 0 {
            self.table.raw_set(self.n, Value::Nil)?;
            self.n -= 1;
        }
        Ok(())
    }

    /// The function's results.
    pub fn finish(self) -> Outcome<MultiValue> {
        let mut out = MultiValue::new();
        out.push_back(Value::LightUserData(mlua::LightUserData(many_marker())));
        out.push_back(Value::Table(self.table));
        out.push_back(Value::Integer(self.n as i64));
        Ok(out)
    }
}

/// A stack of Lua values kept in a Lua table, so that deep nesting holds
/// one mlua reference rather than one per level.
pub struct ValueStack {
    table: Table,
    len: usize,
}

impl ValueStack {
    /// An empty stack.
    pub fn new(lua: &Lua) -> mlua::Result<ValueStack> {
        Ok(ValueStack {
            table: lua.create_table()?,
            len: 0,
        })
    }

    /// Pushes `v`.
    pub fn push(&mut self, v: Value) -> mlua::Result<()> {
        self.len += 1;
        self.table.raw_set(self.len, v)
    }

    /// Pops the top value.
    pub fn pop(&mut self) -> mlua::Result<Value> {
        let v = self.table.raw_get(self.len)?;
        self.table.raw_set(self.len, Value::Nil)?;
        self.len = self.len.saturating_sub(1);
        Ok(v)
    }

    /// The top value.
    pub fn top(&self) -> mlua::Result<Value> {
        self.table.raw_get(self.len)
    }

    /// Replaces the top value.
    pub fn set_top(&self, v: Value) -> mlua::Result<()> {
        self.table.raw_set(self.len, v)
    }

    /// The top value as a table.
    pub fn top_table(&self) -> mlua::Result<Table> {
        self.table.raw_get(self.len)
    }
}

/// One result.
pub fn one(v: Value) -> Outcome<MultiValue> {
    let mut out = MultiValue::new();
    out.push_back(v);
    Ok(out)
}

/// Lua 5.1's name of a value's type (`lua_typename`; mlua's integers are
/// Lua numbers).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// `luaL_argerror`: names the function as its caller called it (Lua's own
/// debug information of the C closure's frame), `?` when it cannot tell.
pub fn arg_error(lua: &Lua, narg: i32, extra: &[u8]) -> Fail {
    // Level 0 is the callback, level 1 the C closure the script called.
    let (name, method) = lua
        .inspect_stack(1, |d| {
            let n = d.names();
            (
                n.name.map(|s| s.into_owned()),
                n.name_what == Some("method"),
            )
        })
        .unwrap_or((None, false));
    let name = name.unwrap_or_else(|| "?".to_string());
    let mut msg = Vec::new();
    let mut narg = narg;
    if method {
        narg -= 1;
        if narg == 0 {
            msg.extend_from_slice(format!("calling '{name}' on bad self (").as_bytes());
            msg.extend_from_slice(extra);
            msg.push(b')');
            return Fail::Raise(msg);
        }
    }
    msg.extend_from_slice(format!("bad argument #{narg} to '{name}' (").as_bytes());
    msg.extend_from_slice(extra);
    msg.push(b')');
    Fail::Raise(msg)
}

/// `luaL_typerror`: "`expected` expected, got `type`".
pub fn type_error(lua: &Lua, args: &[Value], narg: usize, expected: &str) -> Fail {
    let got = match args.get(narg - 1) {
        Some(v) => type_name(v),
        None => "no value",
    };
    arg_error(
        lua,
        narg as i32,
        format!("{expected} expected, got {got}").as_bytes(),
    )
}

/// `lua_tonumber`: numbers, and strings Lua converts; `None` otherwise.
pub fn to_number(lua: &Lua, v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(_) => lua.coerce_number(v.clone()).ok().flatten(),
        _ => None,
    }
}

/// `luaL_checknumber` on argument `narg` (1-based).
pub fn check_number(lua: &Lua, args: &[Value], narg: usize) -> Outcome<f64> {
    match args.get(narg - 1).and_then(|v| to_number(lua, v)) {
        Some(n) => Ok(n),
        None => Err(type_error(lua, args, narg, "number")),
    }
}

/// C's conversion of a double to a 64-bit integer as x86-64 does it
/// (truncation; NaN and out-of-range values give the "indefinite" minimum).
pub fn double_to_i64(d: f64) -> i64 {
    if d.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// `luaL_checkinteger` (`lua_Integer` is 64 bits on this platform).
pub fn check_integer(lua: &Lua, args: &[Value], narg: usize) -> Outcome<i64> {
    check_number(lua, args, narg).map(double_to_i64)
}

/// `luaL_optinteger`: `default` when the argument is absent or nil.
pub fn opt_integer(lua: &Lua, args: &[Value], narg: usize, default: i64) -> Outcome<i64> {
    match args.get(narg - 1) {
        None | Some(Value::Nil) => Ok(default),
        Some(_) => check_integer(lua, args, narg),
    }
}

/// `luaL_checklstring`: strings, and numbers in Lua's `%.14g` text.
pub fn check_bytes(lua: &Lua, args: &[Value], narg: usize) -> Outcome<Vec<u8>> {
    match args.get(narg - 1) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => match lua.coerce_string(v.clone())? {
            Some(s) => Ok(s.as_bytes().to_vec()),
            None => Err(type_error(lua, args, narg, "string")),
        },
        _ => Err(type_error(lua, args, narg, "string")),
    }
}

/// `next(t, k)` without metamethods or globals: for walking a table while
/// holding no Rust borrow of it (the encoders keep an explicit stack).
unsafe extern "C-unwind" fn raw_next(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: stack operations on the running C frame; `lua_next` only
    // runs on a table, with a key the previous step returned.
    unsafe {
        ffi::lua_settop(state, 2);
        if ffi::lua_type(state, 1) != ffi::LUA_TTABLE {
            return 0;
        }
        if ffi::lua_next(state, 1) != 0 {
            2
        } else {
            0
        }
    }
}

/// The raw `next` as a Lua function.
pub fn next_function(lua: &Lua) -> mlua::Result<Function> {
    // SAFETY: `raw_next` is a plain C function following Lua's protocol.
    unsafe { lua.create_c_function(raw_next) }
}
