//! The Lua VM scripts run in: Lua 5.1 with Redis 7's sandbox and the
//! `redis` API.
//!
//! One VM per worker thread (see ARCHITECTURE.md, "Scripting"): scripts
//! cannot keep state between runs (the globals are read-only), so VMs that
//! compile the same cached bodies are indistinguishable, and a worker never
//! waits for another's VM nor moves one across threads.
//!
//! The sandbox, as Redis 7.0 sets it up: the base, table, string and math
//! libraries (no io, os, package, `dofile`, `loadfile`, `print`; `debug`
//! only while the error handler is made), the bundled libraries (see
//! [`load_libraries`]), `redis`, and Redis's `pcall`. The globals and
//! every table reachable from them are read-only: Redis patches Lua for
//! that; here each such table is replaced by an empty proxy whose
//! metatable reads through to it and refuses writes, with Redis's texts
//! ("Attempt to modify a readonly table", "Script attempted to access
//! nonexistent global variable 'x'"); `rawset` and `setmetatable` refuse
//! proxies too.
//!
//! The functions Lua calls are plain C functions written against the raw
//! API, so errors are the Lua values Redis raises (tables with `err`) and
//! carry the script's position. A function that raises does all its Rust
//! work in an inner call first: nothing it owns is alive when `lua_error`
//! jumps.

use super::convert::{self, push_bytes, to_bytes};
use super::functions::FunctionInfo;
use bytes::Bytes;
use mlua::ffi::{self, lua_State};
use std::borrow::Cow;
use std::cell::Cell;
use std::os::raw::c_int;

/// What a running script asks of the server.
pub trait Host {
    /// Runs one command for `redis.call` / `redis.pcall` and returns its
    /// reply, encoded in RESP2 or RESP3 (`resp`), or the error text of a
    /// command refused before it ran (`CODE message`, or a message that
    /// gets `ERR`).
    fn call(&mut self, args: &[Bytes], resp: u8) -> Result<&[u8], Cow<'static, str>>;
    /// Called every 100,000 instructions while `busy-reply-threshold` is
    /// set: true stops the script (SCRIPT KILL).
    fn interrupt(&mut self) -> bool;
    /// `redis.set_repl`: which of AOF (1) and replicas (2) get the
    /// script's next writes.
    fn set_repl(&mut self, flags: u32);
    /// `redis.acl_check_cmd`: whether the caller may run `args`, or None
    /// if they name no command.
    fn acl_check(&mut self, args: &[Bytes]) -> Option<bool>;
}

/// The running script's state that the Lua functions reach.
struct RunState {
    host: *mut (dyn Host + 'static),
    resp: u8,
}

thread_local! {
    /// The script running on this thread, if any.
    static RUN: Cell<*mut RunState> = const { Cell::new(std::ptr::null_mut()) };
    /// The library being loaded on this thread, if any.
    static LOADING: Cell<*mut Loading> = const { Cell::new(std::ptr::null_mut()) };
    /// When the library being loaded on this thread started running.
    static LOAD_START: Cell<Option<std::time::Instant>> = const { Cell::new(None) };
}

/// How long a library's loading run may take (Redis's FUNCTION LOAD
/// timeout): it only registers functions.
const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// Instructions between two calls of the interrupt hook (Redis's count).
const HOOK_EVERY: c_int = 100_000;

/// Registry keys.
const REAL_GLOBALS: &std::ffi::CStr = c"ferrodis.globals";
const PROTECTED: &std::ffi::CStr = c"ferrodis.protected";
const ERROR_HANDLER: &std::ffi::CStr = c"ferrodis.err_handler";
const TOSTRING: &std::ffi::CStr = c"ferrodis.tostring";
const LOADSTRING: &std::ffi::CStr = c"ferrodis.loadstring";
const FUNCTIONS: &std::ffi::CStr = c"ferrodis.functions";
const STAGING: &std::ffi::CStr = c"ferrodis.staging";
const REDIS_TABLE: &std::ffi::CStr = c"ferrodis.redis";

/// A worker's Lua VM.
pub struct Vm {
    lua: mlua::Lua,
    state: *mut lua_State,
    /// The script cache's generation this VM was made for.
    pub generation: u64,
    runs: u32,
    /// The function registry's generation this VM's functions are from.
    fn_generation: Option<u64>,
}

/// What [`Vm::call`] runs.
enum Target<'a> {
    Script(&'a [u8; 40]),
    Function(&'a str),
}

/// What `redis.register_function` collects while a library loads.
#[derive(Default)]
struct Loading {
    functions: Vec<FunctionInfo>,
    error: Option<String>,
}

/// The result of [`Vm::compile`].
pub type Compiled = Result<(), String>;

impl Vm {
    /// A fresh VM with the sandbox in place, for cache generation
    /// `generation`.
    pub fn new(generation: u64) -> Result<Vm, String> {
        use mlua::{LuaOptions, StdLib};
        // SAFETY: the debug library is loaded only to be dropped from the
        // globals once set-up no longer needs it.
        let lua = unsafe {
            mlua::Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new().catch_rust_panics(false),
            )
        };
        let mut state = std::ptr::null_mut();
        // SAFETY: the closure only reads the main state's pointer; the state
        // lives as long as `lua`, which the VM owns.
        unsafe {
            lua.exec_raw::<()>((), |l| state = l)
                .map_err(|e| e.to_string())?;
        }
        load_libraries(&lua).map_err(|e| e.to_string())?;
        // SAFETY: `state` is the VM's main state, used from this thread only.
        unsafe { setup(state) };
        Ok(Vm {
            lua,
            state,
            generation,
            runs: 0,
            fn_generation: None,
        })
    }

    /// True if the script with digest `sha` is compiled in this VM.
    pub fn has(&self, sha: &[u8; 40]) -> bool {
        let l = self.state;
        // SAFETY: the VM's own state; the stack is restored.
        unsafe {
            push_function(l, sha);
            let found = ffi::lua_type(l, -1) == ffi::LUA_TFUNCTION;
            ffi::lua_pop(l, 1);
            found
        }
    }

    /// Compiles `code` (a body without its shebang line, which leaves its
    /// newline) as the function of `sha`, or returns Redis's error text.
    pub fn compile(&mut self, sha: &[u8; 40], code: &[u8]) -> Compiled {
        let l = self.state;
        // SAFETY: the VM's own state; the stack is restored.
        unsafe {
            ffi::lua_checkstack(l, 4);
            let rc = ffi::luaL_loadbuffer(
                l,
                code.as_ptr().cast(),
                code.len(),
                c"@user_script".as_ptr(),
            );
            if rc != 0 {
                let msg = to_bytes(l, -1)
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default()
                    .into_owned();
                ffi::lua_pop(l, 1);
                return Err(format!("Error compiling script (new function): {msg}"));
            }
            let mut name = *b"f_0000000000000000000000000000000000000000";
            name[2..].copy_from_slice(sha);
            push_bytes(l, &name);
            ffi::lua_insert(l, -2);
            ffi::lua_rawset(l, ffi::LUA_REGISTRYINDEX);
        }
        Ok(())
    }

    /// Runs the compiled script `sha` with `keys` and `argv`, writing its
    /// reply (or error) to `out`. `hook` sets the interrupt hook
    /// (`busy-reply-threshold` is on).
    pub fn run(
        &mut self,
        sha: &[u8; 40],
        keys: &[Bytes],
        argv: &[Bytes],
        host: &mut dyn Host,
        hook: bool,
        out: &mut crate::reply::Reply,
    ) {
        let name = std::str::from_utf8(sha).unwrap_or_default();
        self.call(Target::Script(sha), name, keys, argv, host, hook, out);
    }

    /// Runs function `name` (installed by [`Vm::sync_functions`]) as FCALL
    /// does: KEYS and ARGV are its arguments, not globals.
    pub fn run_function(
        &mut self,
        name: &str,
        keys: &[Bytes],
        argv: &[Bytes],
        host: &mut dyn Host,
        hook: bool,
        out: &mut crate::reply::Reply,
    ) {
        self.call(Target::Function(name), name, keys, argv, host, hook, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        target: Target<'_>,
        name: &str,
        keys: &[Bytes],
        argv: &[Bytes],
        host: &mut dyn Host,
        hook: bool,
        out: &mut crate::reply::Reply,
    ) {
        let l = self.state;
        // SAFETY: `host` outlives the run: RUN is cleared before returning.
        let host: *mut (dyn Host + '_) = host;
        let host: *mut (dyn Host + 'static) = unsafe { std::mem::transmute(host) };
        let mut run = RunState { host, resp: 2 };
        RUN.with(|r| r.set(&mut run));
        // SAFETY: the VM's own state, on its thread; the stack is restored.
        unsafe {
            let base = ffi::lua_gettop(l);
            ffi::lua_checkstack(l, 8);
            ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, ERROR_HANDLER.as_ptr());
            let nargs = match target {
                Target::Script(sha) => {
                    push_function(l, sha);
                    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, REAL_GLOBALS.as_ptr());
                    push_array(l, keys);
                    ffi::lua_setfield(l, -2, c"KEYS".as_ptr());
                    push_array(l, argv);
                    ffi::lua_setfield(l, -2, c"ARGV".as_ptr());
                    ffi::lua_pop(l, 1);
                    0
                }
                Target::Function(name) => {
                    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, FUNCTIONS.as_ptr());
                    push_bytes(l, name.as_bytes());
                    ffi::lua_rawget(l, -2);
                    ffi::lua_remove(l, -2);
                    push_array(l, keys);
                    push_array(l, argv);
                    2
                }
            };
            if hook {
                ffi::lua_sethook(l, Some(count_hook), ffi::LUA_MASKCOUNT, HOOK_EVERY);
            }
            let rc = ffi::lua_pcall(l, nargs, 1, -2 - nargs);
            if hook {
                ffi::lua_sethook(l, None, 0, 0);
            }
            self.runs += 1;
            if self.runs % 50 == 0 {
                ffi::lua_gc(l, ffi::LUA_GCSTEP, 50);
            }
            if rc != 0 {
                write_error(l, name, out);
            } else {
                convert::write_reply(l, out, run.resp == 3);
            }
            ffi::lua_settop(l, base);
        }
        RUN.with(|r| r.set(std::ptr::null_mut()));
    }

    /// Runs a library's code (`code`: from the shebang's newline on) to
    /// collect the functions it registers; with `install`, they become
    /// callable in this VM. The error is Redis's text.
    pub fn load_library(
        &mut self,
        code: &[u8],
        install: bool,
    ) -> Result<Vec<FunctionInfo>, String> {
        let l = self.state;
        let mut loading = Loading::default();
        // SAFETY: the VM's own state; the stack is restored.
        unsafe {
            let base = ffi::lua_gettop(l);
            ffi::lua_checkstack(l, 8);
            let rc = ffi::luaL_loadbuffer(
                l,
                code.as_ptr().cast(),
                code.len(),
                c"@user_function".as_ptr(),
            );
            if rc != 0 {
                let msg = to_bytes(l, -1)
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default()
                    .into_owned();
                ffi::lua_settop(l, base);
                return Err(format!("Error compiling function: {msg}"));
            }
            ffi::lua_newtable(l);
            ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, STAGING.as_ptr());
            LOADING.with(|c| c.set(&mut loading));
            ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, REDIS_TABLE.as_ptr());
            ffi::lua_pushcfunction(l, redis_register_function);
            ffi::lua_setfield(l, -2, c"register_function".as_ptr());
            ffi::lua_pop(l, 1);
            LOAD_START.with(|c| c.set(Some(std::time::Instant::now())));
            ffi::lua_sethook(l, Some(load_hook), ffi::LUA_MASKCOUNT, HOOK_EVERY);
            let rc = ffi::lua_pcall(l, 0, 0, 0);
            ffi::lua_sethook(l, None, 0, 0);
            LOAD_START.with(|c| c.set(None));
            ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, REDIS_TABLE.as_ptr());
            ffi::lua_pushnil(l);
            ffi::lua_setfield(l, -2, c"register_function".as_ptr());
            ffi::lua_pop(l, 1);
            LOADING.with(|c| c.set(std::ptr::null_mut()));
            if rc != 0 {
                let msg = if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
                    ffi::lua_getfield(l, -1, c"err".as_ptr());
                    let m = to_bytes(l, -1)
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default()
                        .into_owned();
                    ffi::lua_pop(l, 1);
                    m
                } else {
                    let m = to_bytes(l, -1)
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    format!("ERR {m}")
                };
                ffi::lua_settop(l, base);
                return Err(format!("Error registering functions: {msg}"));
            }
            if let Some(e) = loading.error.take() {
                ffi::lua_settop(l, base);
                return Err(e);
            }
            if loading.functions.is_empty() {
                ffi::lua_settop(l, base);
                return Err("No functions registered".into());
            }
            if install {
                ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, FUNCTIONS.as_ptr());
                let functions = ffi::lua_gettop(l);
                ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, STAGING.as_ptr());
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pushvalue(l, -2);
                    ffi::lua_insert(l, -2);
                    ffi::lua_rawset(l, functions);
                }
            }
            ffi::lua_pushnil(l);
            ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, STAGING.as_ptr());
            ffi::lua_settop(l, base);
        }
        Ok(loading.functions)
    }

    /// Makes this VM's functions those of `libraries` (each library's code
    /// from its shebang's newline on), at registry generation `generation`.
    pub fn sync_functions<'a>(
        &mut self,
        generation: u64,
        libraries: impl Iterator<Item = &'a [u8]>,
    ) {
        if self.fn_generation == Some(generation) {
            return;
        }
        let l = self.state;
        // SAFETY: the VM's own state.
        unsafe {
            ffi::lua_newtable(l);
            ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, FUNCTIONS.as_ptr());
        }
        for code in libraries {
            // Loaded once already on some VM: errors cannot happen but for
            // a load timeout, and then the function is missing here.
            let _ = self.load_library(code, true);
        }
        self.fn_generation = Some(generation);
    }

    /// Bytes the Lua heap holds.
    pub fn memory(&self) -> usize {
        self.lua.used_memory()
    }
}

/// Registers the bundled libraries (cjson, cmsgpack, struct, bit) into a
/// new VM, before the globals are made read-only (so their tables are
/// protected like every other).
fn load_libraries(lua: &mlua::Lua) -> mlua::Result<()> {
    crate::lualib::register(lua)
}

/// Pushes the function compiled for `sha` (or nil).
unsafe fn push_function(l: *mut lua_State, sha: &[u8; 40]) {
    let mut name = *b"f_0000000000000000000000000000000000000000";
    name[2..].copy_from_slice(sha);
    push_bytes(l, &name);
    ffi::lua_rawget(l, ffi::LUA_REGISTRYINDEX);
}

/// Pushes a Lua array of the strings `items`.
unsafe fn push_array(l: *mut lua_State, items: &[Bytes]) {
    ffi::lua_createtable(l, items.len().min(1 << 20) as c_int, 0);
    for (i, item) in items.iter().enumerate() {
        push_bytes(l, item);
        ffi::lua_rawseti(l, -2, (i + 1) as ffi::lua_Integer);
    }
}

/// Writes the error a failed run left at the top of the stack.
unsafe fn write_error(l: *mut lua_State, sha: &str, out: &mut crate::reply::Reply) {
    if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
        let msg = to_bytes(l, -1)
            .map(String::from_utf8_lossy)
            .unwrap_or(Cow::Borrowed("execution failure"));
        let msg: String = msg.chars().take(100).collect();
        out.error(&format!("ERR Error running script {sha}, {msg}"));
        return;
    }
    let field = |name: &std::ffi::CStr| -> Option<Vec<u8>> {
        ffi::lua_getfield(l, -1, name.as_ptr());
        let v = if ffi::lua_isstring(l, -1) != 0 {
            to_bytes(l, -1).map(<[u8]>::to_vec)
        } else {
            None
        };
        ffi::lua_pop(l, 1);
        v
    };
    let msg = field(c"err").unwrap_or_default();
    let mut text = msg;
    if let (Some(source), Some(line)) = (field(c"source"), field(c"line")) {
        text.extend_from_slice(b" script: ");
        text.extend_from_slice(sha.as_bytes());
        text.extend_from_slice(b", on ");
        text.extend_from_slice(&source);
        text.push(b':');
        text.extend_from_slice(&line);
        text.push(b'.');
    }
    out.error_bytes(&text);
}

// ------------------------------------------------------------------ set-up

/// Registers a C function as field `name` of the table at the top.
unsafe fn set_fn(l: *mut lua_State, name: &std::ffi::CStr, f: ffi::lua_CFunction) {
    ffi::lua_pushcfunction(l, f);
    ffi::lua_setfield(l, -2, name.as_ptr());
}

unsafe fn set_num(l: *mut lua_State, name: &std::ffi::CStr, n: f64) {
    ffi::lua_pushnumber(l, n);
    ffi::lua_setfield(l, -2, name.as_ptr());
}

/// Builds the sandbox on a state holding the standard libraries.
unsafe fn setup(l: *mut lua_State) {
    ffi::lua_checkstack(l, 16);
    ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
    let globals = ffi::lua_gettop(l);
    // Debian's 7.0.15 also drops the environment functions and newproxy.
    for name in [
        c"dofile",
        c"loadfile",
        c"print",
        c"getfenv",
        c"setfenv",
        c"newproxy",
    ] {
        ffi::lua_pushnil(l);
        ffi::lua_setfield(l, globals, name.as_ptr());
    }
    ffi::lua_getfield(l, globals, c"tostring".as_ptr());
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, TOSTRING.as_ptr());
    ffi::lua_getfield(l, globals, c"loadstring".as_ptr());
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, LOADSTRING.as_ptr());
    set_fn(l, c"loadstring", guarded_loadstring);
    set_fn(l, c"unpack", checked_unpack);
    set_fn(l, c"load", guarded_load);
    set_fn(l, c"pcall", lua_pcall_compat);
    set_fn(l, c"rawset", guarded_rawset);
    set_fn(l, c"setmetatable", guarded_setmetatable);

    // The `redis` table.
    ffi::lua_createtable(l, 0, 32);
    set_fn(l, c"call", redis_call);
    set_fn(l, c"pcall", redis_pcall);
    set_fn(l, c"log", redis_log);
    set_num(l, c"LOG_DEBUG", 0.0);
    set_num(l, c"LOG_VERBOSE", 1.0);
    set_num(l, c"LOG_NOTICE", 2.0);
    set_num(l, c"LOG_WARNING", 3.0);
    set_num(l, c"REDIS_VERSION_NUM", version_num() as f64);
    push_bytes(l, crate::util::REDIS_COMPAT_VERSION.as_bytes());
    ffi::lua_setfield(l, -2, c"REDIS_VERSION".as_ptr());
    set_fn(l, c"setresp", redis_setresp);
    set_fn(l, c"sha1hex", redis_sha1hex);
    set_fn(l, c"error_reply", redis_error_reply);
    set_fn(l, c"status_reply", redis_status_reply);
    set_fn(l, c"set_repl", redis_set_repl);
    set_num(l, c"REPL_NONE", 0.0);
    set_num(l, c"REPL_AOF", 1.0);
    set_num(l, c"REPL_SLAVE", 2.0);
    set_num(l, c"REPL_REPLICA", 2.0);
    set_num(l, c"REPL_ALL", 3.0);
    set_fn(l, c"acl_check_cmd", redis_acl_check_cmd);
    set_fn(l, c"breakpoint", redis_breakpoint);
    set_fn(l, c"debug", redis_debug);
    set_fn(l, c"replicate_commands", redis_replicate_commands);
    // The real table, where `register_function` appears while a library
    // loads (the globals' proxies read through to it).
    ffi::lua_pushvalue(l, -1);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REDIS_TABLE.as_ptr());
    ffi::lua_setfield(l, globals, c"redis".as_ptr());

    ffi::lua_getfield(l, globals, c"math".as_ptr());
    set_fn(l, c"random", math_random);
    set_fn(l, c"randomseed", math_randomseed);
    ffi::lua_pop(l, 1);

    // The error handler: a global, as in Redis, and kept in the registry.
    ffi::lua_pushcfunction(l, error_handler);
    ffi::lua_pushvalue(l, -1);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, ERROR_HANDLER.as_ptr());
    ffi::lua_setfield(l, globals, c"__redis__err__handler".as_ptr());
    ffi::lua_pushnil(l);
    ffi::lua_setfield(l, globals, c"debug".as_ptr());

    // Read-only globals: the real table gets a metatable for missing
    // names, then every table is fronted by a read-only proxy.
    ffi::lua_pushvalue(l, globals);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REAL_GLOBALS.as_ptr());
    ffi::lua_newtable(l);
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, PROTECTED.as_ptr());
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_pushcfunction(l, missing_global);
    ffi::lua_setfield(l, -2, c"__index".as_ptr());
    ffi::lua_setmetatable(l, globals);
    // Library tables first, then the globals' own proxy.
    let mut names = Vec::new();
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, globals) != 0 {
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE && ffi::lua_rawequal(l, -1, globals) == 0 {
            if let Some(name) = to_bytes_key(l, -2) {
                names.push(name);
            }
        }
        ffi::lua_pop(l, 1);
    }
    for name in names {
        push_bytes(l, &name);
        ffi::lua_rawget(l, globals);
        protect_tree(l, 0);
        push_bytes(l, &name);
        ffi::lua_insert(l, -2);
        ffi::lua_rawset(l, globals);
    }
    // Strings' methods go through the string library's proxy, and their
    // metatable (shared by every script) is seen only through a read-only
    // view.
    push_bytes(l, b"");
    if ffi::lua_getmetatable(l, -1) != 0 {
        let mt = ffi::lua_gettop(l);
        ffi::lua_getfield(l, globals, c"string".as_ptr());
        ffi::lua_setfield(l, mt, c"__index".as_ptr());
        ffi::lua_pushvalue(l, mt);
        make_proxy(l);
        ffi::lua_setfield(l, mt, c"__metatable".as_ptr());
        ffi::lua_settop(l, mt - 1);
    }
    ffi::lua_pop(l, 1);
    ffi::lua_pushvalue(l, globals);
    let proxy = make_proxy(l);
    // `_G` names the proxy, and the proxy becomes the thread's globals
    // (what `getfenv(0)` and every compiled script see).
    ffi::lua_pushvalue(l, proxy);
    ffi::lua_setfield(l, globals, c"_G".as_ptr());
    ffi::lua_pushvalue(l, proxy);
    ffi::lua_replace(l, ffi::LUA_GLOBALSINDEX);
    ffi::lua_settop(l, 0);
}

/// A string key at `idx`, copied (keys of the globals are names).
unsafe fn to_bytes_key(l: *mut lua_State, idx: c_int) -> Option<Vec<u8>> {
    if ffi::lua_type(l, idx) != ffi::LUA_TSTRING {
        return None;
    }
    to_bytes(l, idx).map(<[u8]>::to_vec)
}

/// Replaces the table at the top by its read-only proxy, after doing the
/// same to the tables it holds (a few levels deep: library tables are
/// flat).
unsafe fn protect_tree(l: *mut lua_State, depth: usize) {
    ffi::lua_checkstack(l, 8);
    let table = ffi::lua_gettop(l);
    if depth < 4 {
        let mut keys = Vec::new();
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, table) != 0 {
            if ffi::lua_type(l, -1) == ffi::LUA_TTABLE && ffi::lua_rawequal(l, -1, table) == 0 {
                if let Some(k) = to_bytes_key(l, -2) {
                    keys.push(k);
                }
            }
            ffi::lua_pop(l, 1);
        }
        for k in keys {
            push_bytes(l, &k);
            ffi::lua_rawget(l, table);
            protect_tree(l, depth + 1);
            push_bytes(l, &k);
            ffi::lua_insert(l, -2);
            ffi::lua_rawset(l, table);
        }
    }
    make_proxy(l);
    ffi::lua_replace(l, table);
}

/// Pushes a read-only proxy of the table at the top (left in place) and
/// returns the proxy's stack index.
unsafe fn make_proxy(l: *mut lua_State) -> c_int {
    let target = ffi::lua_gettop(l);
    ffi::lua_newtable(l);
    let proxy = ffi::lua_gettop(l);
    ffi::lua_createtable(l, 0, 3);
    ffi::lua_pushvalue(l, target);
    ffi::lua_setfield(l, -2, c"__index".as_ptr());
    ffi::lua_pushcfunction(l, readonly_error);
    ffi::lua_setfield(l, -2, c"__newindex".as_ptr());
    // `getmetatable(proxy)` gives a read-only view of the metatable, whose
    // own metatable answers with that view again.
    let mt = ffi::lua_gettop(l);
    ffi::lua_newtable(l);
    let mt_view = ffi::lua_gettop(l);
    ffi::lua_createtable(l, 0, 3);
    ffi::lua_pushvalue(l, mt);
    ffi::lua_setfield(l, -2, c"__index".as_ptr());
    ffi::lua_pushcfunction(l, readonly_error);
    ffi::lua_setfield(l, -2, c"__newindex".as_ptr());
    ffi::lua_pushvalue(l, mt_view);
    ffi::lua_setfield(l, -2, c"__metatable".as_ptr());
    ffi::lua_setmetatable(l, mt_view);
    mark_protected(l, mt_view);
    ffi::lua_setfield(l, mt, c"__metatable".as_ptr());
    ffi::lua_setmetatable(l, proxy);
    mark_protected(l, proxy);
    proxy
}

/// Records the table at `idx` as read-only (`rawset` and `setmetatable`
/// refuse it).
unsafe fn mark_protected(l: *mut lua_State, idx: c_int) {
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, PROTECTED.as_ptr());
    ffi::lua_pushvalue(l, idx);
    ffi::lua_pushboolean(l, 1);
    ffi::lua_rawset(l, -3);
    ffi::lua_pop(l, 1);
}

fn version_num() -> u32 {
    let mut parts = crate::util::REDIS_COMPAT_VERSION
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    (major << 16) | (minor << 8) | patch
}

// ------------------------------------------------------- raising errors

/// Raises `msg` with the caller's position, as `luaL_error` does. The
/// message must not be owned by the caller's frame (it is copied first).
unsafe fn raise_positioned(l: *mut lua_State, msg: &'static [u8]) -> c_int {
    ffi::luaL_where(l, 1);
    push_bytes(l, msg);
    ffi::lua_concat(l, 2);
    ffi::lua_error(l)
}

/// Raises Redis's error table for `msg` (a `'static` text: nothing owned
/// may be alive in a frame `lua_error` jumps over).
unsafe fn raise_table(l: *mut lua_State, msg: &'static [u8]) -> c_int {
    convert::push_error_table(l, msg);
    ffi::lua_error(l)
}

/// Raises `msg` as it is, without a position (what Redis's patched Lua
/// does when a C function such as `rawset` writes a read-only table).
unsafe fn raise_plain(l: *mut lua_State, msg: &'static [u8]) -> c_int {
    push_bytes(l, msg);
    ffi::lua_error(l)
}

/// True if the table at `idx` is a read-only proxy.
unsafe fn is_protected(l: *mut lua_State, idx: c_int) -> bool {
    if ffi::lua_type(l, idx) != ffi::LUA_TTABLE {
        return false;
    }
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, PROTECTED.as_ptr());
    ffi::lua_pushvalue(l, idx);
    ffi::lua_rawget(l, -2);
    let found = ffi::lua_toboolean(l, -1) != 0;
    ffi::lua_pop(l, 2);
    found
}

unsafe extern "C-unwind" fn readonly_error(l: *mut lua_State) -> c_int {
    raise_positioned(l, b"Attempt to modify a readonly table")
}

unsafe extern "C-unwind" fn missing_global(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 2 {
        return raise_positioned(l, b"Wrong number of arguments to luaProtectedTableError");
    }
    if ffi::lua_isstring(l, -1) == 0 {
        return raise_positioned(
            l,
            b"Second argument to luaProtectedTableError must be a string or number",
        );
    }
    ffi::luaL_where(l, 1);
    push_bytes(
        l,
        b"Script attempted to access nonexistent global variable '",
    );
    ffi::lua_pushvalue(l, 2);
    push_bytes(l, b"'");
    ffi::lua_concat(l, 4);
    ffi::lua_error(l)
}

unsafe extern "C-unwind" fn guarded_rawset(l: *mut lua_State) -> c_int {
    if is_protected(l, 1) {
        return raise_plain(l, b"Attempt to modify a readonly table");
    }
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    ffi::luaL_checkany(l, 2);
    ffi::luaL_checkany(l, 3);
    ffi::lua_settop(l, 3);
    ffi::lua_rawset(l, 1);
    1
}

unsafe extern "C-unwind" fn guarded_setmetatable(l: *mut lua_State) -> c_int {
    if is_protected(l, 1) {
        return raise_plain(l, b"Attempt to modify a readonly table");
    }
    let t = ffi::lua_type(l, 2);
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    if t != ffi::LUA_TNIL && t != ffi::LUA_TTABLE {
        return ffi::luaL_argerror(l, 2, c"nil or table expected".as_ptr());
    }
    if ffi::luaL_getmetafield(l, 1, c"__metatable".as_ptr()) != 0 {
        return ffi::luaL_error(l, c"cannot change a protected metatable".as_ptr());
    }
    ffi::lua_settop(l, 2);
    ffi::lua_setmetatable(l, 1);
    1
}

/// `loadstring` without binary chunks (precompiled bytecode can break out
/// of the VM; Redis's Lua refuses it too): nil and a message for them.
unsafe extern "C-unwind" fn guarded_loadstring(l: *mut lua_State) -> c_int {
    let source = to_bytes(l, 1);
    if source.is_some_and(|s| s.first() == Some(&0x1b)) {
        ffi::lua_pushnil(l);
        push_bytes(l, b"binary code loading is disabled");
        return 2;
    }
    let argc = ffi::lua_gettop(l);
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, LOADSTRING.as_ptr());
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, argc, ffi::LUA_MULTRET);
    ffi::lua_gettop(l)
}

/// `unpack` with its range checked in 64 bits (Lua 5.1's overflows on
/// extreme indexes, as Redis's patched Lua fixed).
unsafe extern "C-unwind" fn checked_unpack(l: *mut lua_State) -> c_int {
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    let first = ffi::luaL_optinteger(l, 2, 1) as i64;
    let last = if ffi::lua_type(l, 3) <= ffi::LUA_TNIL {
        ffi::lua_objlen(l, 1) as i64
    } else {
        ffi::luaL_checkinteger(l, 3) as i64
    };
    if first > last {
        return 0;
    }
    let n = last - first + 1;
    if n >= i32::MAX as i64 || ffi::lua_checkstack(l, n as c_int) == 0 {
        return ffi::luaL_error(l, c"too many results to unpack".as_ptr());
    }
    let mut i = first;
    while i <= last {
        ffi::lua_rawgeti(l, 1, i as ffi::lua_Integer);
        i += 1;
    }
    n as c_int
}

/// `load(reader [, chunkname])`: the reader's pieces joined, then loaded as
/// `loadstring` does (so binary chunks are refused the same way).
unsafe extern "C-unwind" fn guarded_load(l: *mut lua_State) -> c_int {
    ffi::luaL_checktype(l, 1, ffi::LUA_TFUNCTION);
    ffi::lua_settop(l, 2);
    let mut pieces = 0;
    loop {
        ffi::luaL_checkstack(l, 2, c"too many pieces".as_ptr());
        ffi::lua_pushvalue(l, 1);
        ffi::lua_call(l, 0, 1);
        if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
            ffi::lua_pop(l, 1);
            break;
        }
        if ffi::lua_isstring(l, -1) == 0 {
            ffi::lua_settop(l, 2);
            ffi::lua_pushnil(l);
            push_bytes(l, b"reader function must return a string");
            return 2;
        }
        let empty = to_bytes(l, -1).is_none_or(<[u8]>::is_empty);
        if empty {
            ffi::lua_pop(l, 1);
            break;
        }
        pieces += 1;
        if pieces > 64 {
            ffi::lua_concat(l, pieces);
            pieces = 1;
        }
    }
    if pieces == 0 {
        push_bytes(l, b"");
    } else {
        ffi::lua_concat(l, pieces);
    }
    // Stack: reader, chunkname, source.
    ffi::lua_replace(l, 1);
    if ffi::lua_type(l, 2) == ffi::LUA_TNIL {
        push_bytes(l, b"=(load)");
        ffi::lua_replace(l, 2);
    }
    guarded_loadstring(l)
}

/// The handler every script runs under: turns the error into Redis's
/// table (`err`, plus the `source` and `line` of the script code that
/// raised it, skipping a C function such as `error` or `redis.call`).
unsafe extern "C-unwind" fn error_handler(l: *mut lua_State) -> c_int {
    ffi::lua_checkstack(l, 6);
    let mut ar: ffi::lua_Debug = std::mem::zeroed();
    let mut have =
        ffi::lua_getstack(l, 1, &mut ar) != 0 && ffi::lua_getinfo(l, c"nSl".as_ptr(), &mut ar) != 0;
    if have && !ar.what.is_null() && std::ffi::CStr::from_ptr(ar.what) == c"C" {
        have = ffi::lua_getstack(l, 2, &mut ar) != 0
            && ffi::lua_getinfo(l, c"nSl".as_ptr(), &mut ar) != 0;
    }
    ffi::lua_settop(l, 1);
    if ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
        ffi::lua_createtable(l, 0, 3);
        push_bytes(l, b"ERR ");
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, TOSTRING.as_ptr());
        ffi::lua_pushvalue(l, 1);
        ffi::lua_call(l, 1, 1);
        ffi::lua_concat(l, 2);
        ffi::lua_setfield(l, -2, c"err".as_ptr());
        ffi::lua_replace(l, 1);
    }
    if have {
        if !ar.source.is_null() {
            ffi::lua_pushstring(l, ar.source);
            ffi::lua_setfield(l, 1, c"source".as_ptr());
        }
        ffi::lua_pushnumber(l, ar.currentline as f64);
        ffi::lua_setfield(l, 1, c"line".as_ptr());
    }
    1
}

/// Redis's `pcall`: the base one, except that an error table is returned
/// as its `err` string, as before Redis 7.
unsafe extern "C-unwind" fn lua_pcall_compat(l: *mut lua_State) -> c_int {
    let argc = ffi::lua_gettop(l);
    ffi::luaL_checkany(l, 1);
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1);
    if ffi::lua_pcall(l, argc - 1, ffi::LUA_MULTRET, 0) != 0 {
        ffi::lua_remove(l, 1);
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            ffi::lua_getfield(l, -1, c"err".as_ptr());
            if ffi::lua_isstring(l, -1) != 0 {
                ffi::lua_replace(l, -2);
            } else {
                ffi::lua_pop(l, 1);
            }
        }
        ffi::lua_pushboolean(l, 0);
        ffi::lua_insert(l, 1);
    }
    ffi::lua_gettop(l)
}

// ---------------------------------------------------------- the redis API

/// What a `redis.call` produced on the stack.
enum CallOutcome {
    /// One value pushed; true if it is an error table.
    Pushed(bool),
    /// Not inside a script.
    NoScript,
}

/// The work of `redis.call` / `redis.pcall`: takes the arguments, runs the
/// command through the host, pushes the reply (or the error table).
unsafe fn call_inner(l: *mut lua_State) -> CallOutcome {
    let run = RUN.with(Cell::get);
    if run.is_null() {
        return CallOutcome::NoScript;
    }
    let argc = ffi::lua_gettop(l);
    if argc == 0 {
        convert::push_error_table(
            l,
            b"Please specify at least one argument for this redis lib call",
        );
        return CallOutcome::Pushed(true);
    }
    let mut args = Vec::with_capacity(argc as usize);
    let mut bad = false;
    for i in 1..=argc {
        if ffi::lua_type(l, i) == ffi::LUA_TNUMBER {
            let n = ffi::lua_tonumber(l, i);
            args.push(Bytes::from(crate::util::numfmt::format_double(n)));
        } else if ffi::lua_isstring(l, i) != 0 {
            args.push(Bytes::copy_from_slice(to_bytes(l, i).unwrap_or_default()));
        } else {
            bad = true;
            break;
        }
    }
    ffi::lua_settop(l, 0);
    if bad {
        convert::push_error_table(
            l,
            b"Lua redis lib command arguments must be strings or integers",
        );
        return CallOutcome::Pushed(true);
    }
    let run = &mut *run;
    let resp = run.resp;
    match (*run.host).call(&args, resp) {
        Ok(reply) => CallOutcome::Pushed(convert::push_reply(l, reply).0),
        Err(error) => {
            convert::push_error_table(l, error.as_bytes());
            ffi::lua_pushboolean(l, 1);
            ffi::lua_setfield(l, -2, c"ignore_error_stats_update".as_ptr());
            CallOutcome::Pushed(true)
        }
    }
}

unsafe fn generic_call(l: *mut lua_State, raise: bool) -> c_int {
    match call_inner(l) {
        CallOutcome::NoScript => raise_table(
            l,
            b"redis.call/pcall can only be called inside a script invocation",
        ),
        CallOutcome::Pushed(true) if raise => ffi::lua_error(l),
        CallOutcome::Pushed(_) => 1,
    }
}

unsafe extern "C-unwind" fn redis_call(l: *mut lua_State) -> c_int {
    generic_call(l, true)
}

unsafe extern "C-unwind" fn redis_pcall(l: *mut lua_State) -> c_int {
    generic_call(l, false)
}

unsafe extern "C-unwind" fn redis_sha1hex(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        return raise_table(l, b"wrong number of arguments");
    }
    let digest = super::prim::sha1hex(to_bytes(l, 1).unwrap_or_default());
    push_bytes(l, &digest);
    1
}

/// `redis.error_reply` / `redis.status_reply` argument check: one string.
unsafe fn one_string(l: *mut lua_State) -> bool {
    ffi::lua_gettop(l) == 1 && ffi::lua_type(l, -1) == ffi::LUA_TSTRING
}

unsafe extern "C-unwind" fn redis_error_reply(l: *mut lua_State) -> c_int {
    if !one_string(l) {
        convert::push_error_table(l, b"wrong number or type of arguments");
        return 1;
    }
    let text = to_bytes(l, 1).unwrap_or_default();
    // C string semantics: the text ends at a NUL.
    let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
    if text.starts_with(b"-") {
        convert::push_error_table(l, text);
    } else {
        let mut dashed = Vec::with_capacity(text.len() + 1);
        dashed.push(b'-');
        dashed.extend_from_slice(text);
        convert::push_error_table(l, &dashed);
    }
    1
}

unsafe extern "C-unwind" fn redis_status_reply(l: *mut lua_State) -> c_int {
    if !one_string(l) {
        convert::push_error_table(l, b"wrong number or type of arguments");
        return 1;
    }
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_pushvalue(l, 1);
    ffi::lua_setfield(l, -2, c"ok".as_ptr());
    1
}

unsafe extern "C-unwind" fn redis_set_repl(l: *mut lua_State) -> c_int {
    let run = RUN.with(Cell::get);
    if run.is_null() {
        return raise_table(
            l,
            b"redis.set_repl can only be called inside a script invocation",
        );
    }
    if ffi::lua_gettop(l) != 1 {
        return raise_table(l, b"redis.set_repl() requires two arguments.");
    }
    let flags = ffi::lua_tonumber(l, -1) as i64 as c_int;
    if flags & !3 != 0 {
        return raise_table(
            l,
            b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        );
    }
    (*(*run).host).set_repl(flags as u32);
    0
}

/// The work of `redis.acl_check_cmd`: None if the arguments name no
/// command (or are not strings), else the verdict.
unsafe fn acl_check_inner(l: *mut lua_State, run: *mut RunState) -> Option<bool> {
    let argc = ffi::lua_gettop(l);
    let mut args = Vec::with_capacity(argc as usize);
    for i in 1..=argc {
        args.push(Bytes::copy_from_slice(to_bytes(l, i)?));
    }
    (*(*run).host).acl_check(&args)
}

unsafe extern "C-unwind" fn redis_acl_check_cmd(l: *mut lua_State) -> c_int {
    let run = RUN.with(Cell::get);
    if run.is_null() {
        return raise_table(
            l,
            b"redis.acl_check_cmd can only be called inside a script invocation",
        );
    }
    if ffi::lua_gettop(l) == 0 {
        return raise_table(
            l,
            b"Please specify at least one argument for this redis lib call",
        );
    }
    match acl_check_inner(l, run) {
        Some(allowed) => {
            ffi::lua_pushboolean(l, allowed as c_int);
            1
        }
        None => raise_table(l, b"Invalid command passed to redis.acl_check_cmd()"),
    }
}

unsafe extern "C-unwind" fn redis_log(l: *mut lua_State) -> c_int {
    let argc = ffi::lua_gettop(l);
    if argc < 2 {
        return raise_table(l, b"redis.log() requires two arguments or more.");
    }
    if ffi::lua_isnumber(l, 1) == 0 {
        return raise_table(l, b"First argument must be a number (log level).");
    }
    let level = ffi::lua_tonumber(l, 1) as i64;
    if !(0..=3).contains(&level) {
        return raise_table(l, b"Invalid debug level.");
    }
    log_args(l, argc, level);
    0
}

/// Joins `redis.log`'s message arguments and logs them at `level`.
unsafe fn log_args(l: *mut lua_State, argc: c_int, level: i64) {
    let mut msg = Vec::new();
    for i in 2..=argc {
        if let Some(s) = to_bytes(l, i) {
            if i != 2 {
                msg.push(b' ');
            }
            msg.extend_from_slice(s);
        }
    }
    let text = String::from_utf8_lossy(&msg);
    match level {
        0 => crate::log::log(crate::log::Level::Debug, &text),
        1 => crate::log::log(crate::log::Level::Verbose, &text),
        2 => crate::log::log(crate::log::Level::Notice, &text),
        _ => crate::log::log(crate::log::Level::Warning, &text),
    }
}

unsafe extern "C-unwind" fn redis_setresp(l: *mut lua_State) -> c_int {
    let run = RUN.with(Cell::get);
    if run.is_null() {
        return raise_table(
            l,
            b"redis.setresp can only be called inside a script invocation",
        );
    }
    if ffi::lua_gettop(l) != 1 {
        return raise_table(l, b"redis.setresp() requires one argument.");
    }
    let resp = ffi::lua_tonumber(l, 1) as i64;
    if resp != 2 && resp != 3 {
        return raise_table(l, b"RESP version must be 2 or 3.");
    }
    (*run).resp = resp as u8;
    0
}

/// The work of `redis.register_function`: validates its arguments, stages
/// the callback and records the function, or returns Redis's error text.
unsafe fn register_inner(l: *mut lua_State, loading: &mut Loading) -> Result<(), &'static str> {
    let argc = ffi::lua_gettop(l);
    let (name, flags, description) = if argc == 1 {
        if ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
            return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
        }
        let (mut name, mut flags, mut description, mut callback) = (None, 0u32, None, false);
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, 1) != 0 {
            if ffi::lua_type(l, -2) != ffi::LUA_TSTRING {
                return Err("named argument key given to redis.register_function is not a string");
            }
            let key = to_bytes(l, -2).unwrap_or_default().to_ascii_lowercase();
            match key.as_slice() {
                b"function_name" => {
                    if ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
                        return Err("function_name argument given to redis.register_function must be a string");
                    }
                    name = Some(
                        String::from_utf8_lossy(to_bytes(l, -1).unwrap_or_default()).into_owned(),
                    );
                }
                b"description" => {
                    if ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
                        return Err("description argument given to redis.register_function must be a string");
                    }
                    description = Some(Bytes::copy_from_slice(to_bytes(l, -1).unwrap_or_default()));
                }
                b"callback" => {
                    if ffi::lua_type(l, -1) != ffi::LUA_TFUNCTION {
                        return Err(
                            "callback argument given to redis.register_function must be a function",
                        );
                    }
                    ffi::lua_pushvalue(l, -1);
                    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, c"ferrodis.callback".as_ptr());
                    callback = true;
                }
                b"flags" => {
                    if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
                        return Err("flags argument to redis.register_function must be a table representing function flags");
                    }
                    let mut i = 1;
                    loop {
                        ffi::lua_rawgeti(l, -1, i);
                        if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                            ffi::lua_pop(l, 1);
                            break;
                        }
                        let found = to_bytes(l, -1).and_then(|f| {
                            super::prim::FLAG_NAMES
                                .iter()
                                .find(|(n, _)| n.as_bytes() == f)
                        });
                        ffi::lua_pop(l, 1);
                        match found {
                            Some((_, f)) => flags |= f,
                            None => return Err("unknown flag given"),
                        }
                        i += 1;
                    }
                }
                _ => return Err("unknown argument given to redis.register_function"),
            }
            ffi::lua_pop(l, 1);
        }
        let Some(name) = name else {
            return Err("redis.register_function must get a function name argument");
        };
        if !callback {
            return Err("redis.register_function must get a callback argument");
        }
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, c"ferrodis.callback".as_ptr());
        (name, flags, description)
    } else {
        if ffi::lua_type(l, 1) != ffi::LUA_TSTRING {
            return Err("first argument to redis.register_function must be a string");
        }
        if ffi::lua_type(l, 2) != ffi::LUA_TFUNCTION {
            return Err("second argument to redis.register_function must be a function");
        }
        let name = String::from_utf8_lossy(to_bytes(l, 1).unwrap_or_default()).into_owned();
        ffi::lua_pushvalue(l, 2);
        (name, 0, None)
    };
    // The callback is at the top.
    if !super::functions::valid_name(&name) {
        return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
    }
    if loading.functions.iter().any(|f| f.name == name) {
        return Err("Function already exists in the library");
    }
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, STAGING.as_ptr());
    push_bytes(l, name.as_bytes());
    ffi::lua_pushvalue(l, -3);
    ffi::lua_rawset(l, -3);
    loading.functions.push(FunctionInfo {
        name,
        flags,
        description,
    });
    Ok(())
}

unsafe extern "C-unwind" fn redis_register_function(l: *mut lua_State) -> c_int {
    let loading = LOADING.with(Cell::get);
    if loading.is_null() {
        return raise_table(
            l,
            b"redis.register_function can only be called on FUNCTION LOAD command",
        );
    }
    let argc = ffi::lua_gettop(l);
    if !(1..=2).contains(&argc) {
        return raise_table(l, b"wrong number of arguments to redis.register_function");
    }
    match register_inner(l, &mut *loading) {
        Ok(()) => 0,
        Err(e) => raise_table(l, e.as_bytes()),
    }
}

unsafe extern "C-unwind" fn redis_breakpoint(l: *mut lua_State) -> c_int {
    // Outside the debugger a breakpoint does nothing and says so.
    ffi::lua_pushboolean(l, 0);
    1
}

unsafe extern "C-unwind" fn redis_debug(_l: *mut lua_State) -> c_int {
    0
}

unsafe extern "C-unwind" fn redis_replicate_commands(l: *mut lua_State) -> c_int {
    // Effects replication is the only mode since Redis 7.
    ffi::lua_pushboolean(l, 1);
    1
}

unsafe extern "C-unwind" fn math_random(l: *mut lua_State) -> c_int {
    if RUN.with(Cell::get).is_null() {
        return raise_positioned(
            l,
            b"math.random can only be called inside a script invocation",
        );
    }
    const MAX: f64 = i32::MAX as f64;
    let r = (super::prim::lrand48() % i32::MAX) as f64 / MAX;
    match ffi::lua_gettop(l) {
        0 => ffi::lua_pushnumber(l, r),
        1 => {
            let u = ffi::luaL_checkinteger(l, 1) as c_int;
            if u < 1 {
                return ffi::luaL_argerror(l, 1, c"interval is empty".as_ptr());
            }
            ffi::lua_pushnumber(l, (r * u as f64).floor() + 1.0);
        }
        2 => {
            let lo = ffi::luaL_checkinteger(l, 1) as c_int;
            let hi = ffi::luaL_checkinteger(l, 2) as c_int;
            if lo > hi {
                return ffi::luaL_argerror(l, 2, c"interval is empty".as_ptr());
            }
            ffi::lua_pushnumber(l, (r * (hi as f64 - lo as f64 + 1.0)).floor() + lo as f64);
        }
        _ => return ffi::luaL_error(l, c"wrong number of arguments".as_ptr()),
    }
    1
}

unsafe extern "C-unwind" fn math_randomseed(l: *mut lua_State) -> c_int {
    if RUN.with(Cell::get).is_null() {
        return raise_positioned(
            l,
            b"math.randomseed can only be called inside a script invocation",
        );
    }
    super::prim::srand48(ffi::luaL_checkinteger(l, 1) as c_int);
    0
}

/// The hook of a library's loading run: past [`LOAD_TIMEOUT`] it raises
/// Redis's error, re-armed on every line so `pcall` cannot swallow it.
unsafe extern "C-unwind" fn load_hook(l: *mut lua_State, _ar: *mut ffi::lua_Debug) {
    let started = LOAD_START.with(Cell::get);
    if started.is_some_and(|t| t.elapsed() > LOAD_TIMEOUT) {
        ffi::lua_sethook(l, Some(load_hook), ffi::LUA_MASKLINE, 0);
        raise_table(l, b"FUNCTION LOAD timeout");
    }
}

/// The interrupt hook: asks the host; on a kill, raises Redis's error and
/// re-arms itself on every line so `pcall` cannot swallow it for good.
unsafe extern "C-unwind" fn count_hook(l: *mut lua_State, _ar: *mut ffi::lua_Debug) {
    let run = RUN.with(Cell::get);
    if run.is_null() {
        return;
    }
    if (*(*run).host).interrupt() {
        crate::warning!("Lua script killed by user with SCRIPT KILL.");
        ffi::lua_sethook(l, Some(count_hook), ffi::LUA_MASKLINE, 0);
        raise_table(l, b"Script killed by user with SCRIPT KILL...");
    }
}
