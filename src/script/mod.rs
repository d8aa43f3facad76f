//! Lua scripting's engine, below the command table: the script cache
//! (SHA1 → body, shared by every worker), shebang flags, the random
//! generator scripts see, and the Lua VM with Redis 7's sandbox
//! ([`vm`]) and its conversions between RESP and Lua ([`convert`]).
//!
//! Nothing here knows the command table: a running script reaches
//! commands through a [`Host`] that `cmd/scripting.rs` supplies, which
//! admits each `redis.call` and runs it on the script's view.

pub mod convert;
pub mod functions;
pub mod prim;
pub mod vm;

pub use prim::FLAG_NAMES;
pub use prim::{flag, lrand48, sha1hex, srand48};

pub use vm::{Host, Vm};

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Reads a script's `#!lua flags=...` line: its flags and the length of
/// the line (without its newline, which stays so line numbers hold), or
/// Redis's error text. Without a shebang: `EVAL_COMPAT` and 0.
pub fn shebang_flags(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((flag::EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let line = &body[..end];
    let parts: Vec<&[u8]> = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    let Some(engine) = parts.first() else {
        return Err("Invalid engine in script shebang".into());
    };
    if *engine != b"#!lua" {
        return Err(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(engine)
        ));
    }
    let mut flags = 0;
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            ));
        };
        if list.is_empty() {
            continue;
        }
        for name in list.split(|&b| b == b',') {
            match FLAG_NAMES.iter().find(|(n, _)| n.as_bytes() == name) {
                Some((_, f)) => flags |= f,
                None => {
                    return Err(format!(
                        "Unexpected flag in script shebang: {}",
                        String::from_utf8_lossy(name)
                    ))
                }
            }
        }
    }
    Ok((flags, end))
}

/// A cached script.
pub struct Script {
    /// Its SHA1, lowercase hex.
    pub sha: [u8; 40],
    /// The body as sent (shebang included).
    pub body: Bytes,
    /// Its shebang flags.
    pub flags: u32,
    /// Length of the shebang line (skipped when compiling).
    pub shebang_len: usize,
}

/// The script cache every worker's VM compiles from: EVAL and SCRIPT LOAD
/// add to it, EVALSHA looks up in it, SCRIPT FLUSH empties it and bumps
/// its generation, which tells every VM to start afresh.
#[derive(Default)]
pub struct Cache {
    scripts: Mutex<HashMap<[u8; 40], Arc<Script>>>,
    generation: AtomicU64,
    bytes: AtomicUsize,
    count: AtomicUsize,
    vm_bytes: AtomicUsize,
    /// The function libraries (FUNCTION LOAD).
    pub functions: Mutex<functions::Registry>,
    /// The running script is a function (FCALL).
    pub running_function: std::sync::atomic::AtomicBool,
    /// A script is running (SCRIPT KILL's NOTBUSY).
    pub running: std::sync::atomic::AtomicBool,
    /// The running script has called a write command (SCRIPT KILL's
    /// UNKILLABLE).
    pub wrote: std::sync::atomic::AtomicBool,
    /// The running function's name, its FCALL and when it started (FUNCTION
    /// STATS' `running_script`).
    pub running_call: Mutex<Option<RunningCall>>,
}

/// A function being run, as FUNCTION STATS shows it.
pub struct RunningCall {
    /// The function's name.
    pub name: Bytes,
    /// The FCALL (or FCALL_RO) as sent.
    pub command: Vec<Bytes>,
    /// When it started.
    pub started: std::time::Instant,
}

impl Cache {
    /// The script with digest `sha` (any case).
    pub fn get(&self, sha: &[u8]) -> Option<Arc<Script>> {
        let key: [u8; 40] = sha.try_into().ok()?;
        let key = key.map(|b| b.to_ascii_lowercase());
        self.scripts.lock().get(&key).cloned()
    }

    /// Adds a script (compiled already by the caller's VM).
    pub fn insert(&self, script: Script) -> Arc<Script> {
        let mut scripts = self.scripts.lock();
        if let Some(found) = scripts.get(&script.sha) {
            return found.clone();
        }
        let script = Arc::new(script);
        // What Redis counts: the digest's and the body's strings.
        self.bytes
            .fetch_add(script.body.len() + 40 + 16, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        scripts.insert(script.sha, script.clone());
        script
    }

    /// Forgets every script (SCRIPT FLUSH); every VM resets before its next
    /// run.
    pub fn flush(&self) {
        let old = std::mem::take(&mut *self.scripts.lock());
        self.bytes.store(0, Ordering::Relaxed);
        self.count.store(0, Ordering::Relaxed);
        self.generation.fetch_add(1, Ordering::SeqCst);
        drop(old);
    }

    /// Bumped by every flush.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Cached scripts (INFO `number_of_cached_scripts`).
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Bytes of the cached bodies and digests (INFO `used_memory_scripts_eval`).
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The Lua heap of the VM that ran last (INFO `used_memory_lua`).
    pub fn vm_bytes(&self) -> usize {
        self.vm_bytes.load(Ordering::Relaxed)
    }

    /// Records the Lua heap size of the VM that just ran.
    pub fn note_vm_bytes(&self, bytes: usize) {
        self.vm_bytes.store(bytes, Ordering::Relaxed);
    }
}

thread_local! {
    /// This worker's VM, made on first use.
    static VM: std::cell::RefCell<Option<Vm>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` on this thread's VM, first making it, or making it anew after a
/// SCRIPT FLUSH; the error is a VM that could not be made.
pub fn with_vm<R>(cache: &Cache, f: impl FnOnce(&mut Vm) -> R) -> Result<R, String> {
    VM.with(|cell| {
        let mut slot = cell
            .try_borrow_mut()
            .map_err(|_| "ERR scripting VM in use".to_string())?;
        let generation = cache.generation();
        if slot.as_ref().is_none_or(|vm| vm.generation != generation) {
            // The old VM goes first: its heap is freed before the new one grows.
            *slot = None;
            *slot = Some(Vm::new(generation)?);
        }
        let vm = slot
            .as_mut()
            .ok_or_else(|| "ERR no scripting VM".to_string())?;
        let result = f(vm);
        cache.note_vm_bytes(vm.memory());
        Ok(result)
    })
}

/// Looks up the script with body `body` in the cache, or compiles it in
/// `vm` and caches it: the script, or Redis's error text (shebang or
/// compile error).
pub fn load(cache: &Cache, vm: &mut Vm, body: &[u8]) -> Result<Arc<Script>, String> {
    let sha = sha1hex(body);
    if let Some(found) = cache.get(&sha) {
        return Ok(found);
    }
    let (flags, shebang_len) = shebang_flags(body).map_err(|e| format!("ERR {e}"))?;
    if !vm.has(&sha) {
        vm.compile(&sha, &body[shebang_len..])
            .map_err(|e| format!("ERR {e}"))?;
    }
    Ok(cache.insert(Script {
        sha,
        body: Bytes::copy_from_slice(body),
        flags,
        shebang_len,
    }))
}

/// Makes sure `script` is compiled in `vm` (it may have been cached by
/// another worker, or before this VM was made).
pub fn ensure_compiled(vm: &mut Vm, script: &Script) -> Result<(), String> {
    if vm.has(&script.sha) {
        return Ok(());
    }
    vm.compile(&script.sha, &script.body[script.shebang_len..])
        .map_err(|e| format!("ERR {e}"))
}

/// Makes a library of `code` (`#!lua name=<lib>` and the Lua that
/// registers its functions), running the registration in this worker's
/// VM: FUNCTION LOAD's, FUNCTION RESTORE's and the RDB loader's one way
/// in. The error is Redis's text without its `ERR ` prefix.
/// Unless `replace`, a library of the same name already loaded is refused
/// before the code runs.
pub fn compile_library(
    cache: &Cache,
    code: Bytes,
    replace: bool,
) -> Result<functions::Library, String> {
    let (engine, name, at) = functions::metadata(&code)?;
    if !functions::valid_name(&name) {
        return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{engine}' not found"));
    }
    if !replace && cache.functions.lock().libraries.contains_key(&name) {
        return Err(format!("Library '{name}' already exists"));
    }
    let registered =
        with_vm(cache, |vm| vm.load_library(&code[at..], false)).and_then(|loaded| loaded)?;
    Ok(functions::Library {
        name,
        code,
        functions: registered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs_parse_as_redis_does() {
        assert_eq!(shebang_flags(b"return 1"), Ok((flag::EVAL_COMPAT, 0)));
        assert_eq!(shebang_flags(b"#!lua\nreturn 1"), Ok((0, 5)));
        assert_eq!(
            shebang_flags(b"#!lua flags=no-writes,allow-oom\nreturn 1"),
            Ok((flag::NO_WRITES | flag::ALLOW_OOM, 31))
        );
        assert_eq!(
            shebang_flags(b"#!lua"),
            Err("Invalid script shebang".into())
        );
        assert_eq!(
            shebang_flags(b"#!py\n"),
            Err("Unexpected engine in script shebang: #!py".into())
        );
        assert_eq!(
            shebang_flags(b"#!lua flags=bad\n"),
            Err("Unexpected flag in script shebang: bad".into())
        );
        assert_eq!(
            shebang_flags(b"#!lua name=x\n"),
            Err("Unknown lua shebang option: name=x".into())
        );
    }

    #[test]
    fn the_generator_follows_lrand48() {
        srand48(0);
        // lrand48 after srand48(0), as libc computes it.
        assert_eq!(lrand48(), 366850414);
        assert_eq!(lrand48(), 1610402240);
    }

    #[test]
    fn digests_are_lowercase_hex() {
        assert_eq!(
            &sha1hex(b"")[..],
            b"da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
    }
}
