//! The append-only file: every change to the keyspace, logged as a command
//! that reproduces it, in Redis 7's multi-part layout (a manifest, one base
//! file, incremental files) inside `appenddirname`.
//!
//! * **What is logged.** `cmd::execute` collects a command's effects in its
//!   `DbView` while the command runs (the command as sent, or the form that
//!   reproduces it when replaying it later would not: absolute expiry times,
//!   INCRBYFLOAT's result, the deletion of keys and fields that expired) and
//!   appends them here *before it releases the shard locks*, so the log
//!   order of changes to any one key is the order they happened in.
//!   Several effects of one command or transaction are wrapped in
//!   MULTI/EXEC so a replay applies all or none of them.
//! * **Who writes.** Appending only copies bytes into [`LogBuffer`]. With
//!   `everysec` (and `no`) a writer thread moves them to the file at most
//!   every millisecond and fsyncs once a second (never, with `no`). With
//!   `always` a connection writes its replies only once the log is fsynced
//!   past its last change: before writing them it yields once, so every
//!   other connection with a request ready runs it first, then makes the
//!   log durable itself ([`Aof::make_durable`]): one write and one fsync
//!   for all of them (group commit), as Redis's event loop does it.
//! * **Rewrites** (BGREWRITEAOF, [`rewrite`]) snapshot the keyspace the way
//!   BGSAVE does, without fork, and switch the log to a new incremental file
//!   at the same instant.

pub mod load;
pub mod manifest;
pub mod rewrite;

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// One logged change: the database it applies to and the command that
/// reproduces it.
#[derive(Debug, Clone)]
pub struct Effect {
    /// The database.
    pub db: usize,
    /// The command, name first.
    pub args: Vec<Bytes>,
}

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Every acknowledged write is on disk.
    Always,
    /// fsync once a second.
    EverySec,
    /// Leave it to the operating system.
    No,
}

impl FsyncPolicy {
    /// Parses the directive's value (validated by the configuration).
    pub fn parse(value: &str) -> FsyncPolicy {
        match value {
            "always" => FsyncPolicy::Always,
            "no" => FsyncPolicy::No,
            _ => FsyncPolicy::EverySec,
        }
    }

    fn code(self) -> u8 {
        match self {
            FsyncPolicy::Always => 0,
            FsyncPolicy::EverySec => 1,
            FsyncPolicy::No => 2,
        }
    }

    fn from_code(code: u8) -> FsyncPolicy {
        match code {
            0 => FsyncPolicy::Always,
            2 => FsyncPolicy::No,
            _ => FsyncPolicy::EverySec,
        }
    }
}

/// Whether the log is being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AofState {
    /// `appendonly no`.
    Off,
    /// Logging to the files the manifest lists.
    On,
    /// Turned on at run time: logging to a temporary incremental file until
    /// the first rewrite has written a base.
    WaitRewrite,
}

/// Bytes appended but not yet handed to the writer, and what goes with them.
struct LogBuffer {
    data: Vec<u8>,
    /// Log offset of `data[0]`.
    start: u64,
    /// The database the last logged command selected (`None`: the next
    /// command must SELECT first, as at the start of every file).
    selected_db: Option<usize>,
    /// The writer waits on the condition variable: an appender must wake it.
    writer_idle: bool,
    /// Switch to another file once everything before the offset is written.
    rotation: Option<(u64, File)>,
    /// Write everything, fsync and stop.
    stop: bool,
}

/// The log: appending, the writer thread, durability, and the state INFO
/// reports.
pub struct Aof {
    state: AtomicU8,
    policy: AtomicU8,
    log: Mutex<LogBuffer>,
    wake: Condvar,
    /// Offset just past everything appended so far.
    appended: AtomicU64,
    /// Offset up to which the log is known to be on disk (fsynced).
    durable: AtomicU64,
    /// The file being appended to. The writer thread drains the buffer into
    /// it; under `always` a connection's worker may do so itself.
    out: Mutex<Option<LogFile>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The directory and manifest (rewrites and start-up change them).
    pub files: Mutex<Option<manifest::AofDir>>,
    /// `aof_last_write_status` is ok.
    pub last_write_ok: AtomicBool,
    /// The last write or fsync error, as strerror gives it.
    pub last_write_error: Mutex<String>,
    /// A rewrite is running.
    pub rewrite_in_progress: AtomicBool,
    /// A rewrite waits for the running background save.
    pub rewrite_scheduled: AtomicBool,
    /// Unix ms the running rewrite started (0: none).
    pub rewrite_started_ms: AtomicI64,
    /// Seconds the last rewrite took (-1: none yet).
    pub last_rewrite_secs: AtomicI64,
    /// `aof_last_bgrewrite_status` is ok.
    pub last_rewrite_ok: AtomicBool,
    /// Rewrites completed.
    pub rewrites: AtomicU64,
    /// Rewrites failed in a row.
    pub rewrite_failures: AtomicU64,
    /// Unix ms of the last failed rewrite (retries wait a few seconds).
    pub rewrite_failed_ms: AtomicI64,
    /// Bytes in the base and incremental files (`aof_current_size`).
    pub current_size: AtomicU64,
    /// Size of the log when the last rewrite ended (`aof_base_size`).
    pub base_size: AtomicU64,
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            state: AtomicU8::new(0),
            policy: AtomicU8::new(FsyncPolicy::EverySec.code()),
            log: Mutex::new(LogBuffer {
                data: Vec::new(),
                start: 0,
                selected_db: None,
                writer_idle: false,
                rotation: None,
                stop: false,
            }),
            wake: Condvar::new(),
            appended: AtomicU64::new(0),
            durable: AtomicU64::new(0),
            out: Mutex::new(None),
            writer: Mutex::new(None),
            files: Mutex::new(None),
            last_write_ok: AtomicBool::new(true),
            last_write_error: Mutex::new(String::new()),
            rewrite_in_progress: AtomicBool::new(false),
            rewrite_scheduled: AtomicBool::new(false),
            rewrite_started_ms: AtomicI64::new(0),
            last_rewrite_secs: AtomicI64::new(-1),
            last_rewrite_ok: AtomicBool::new(true),
            rewrites: AtomicU64::new(0),
            rewrite_failures: AtomicU64::new(0),
            rewrite_failed_ms: AtomicI64::new(0),
            current_size: AtomicU64::new(0),
            base_size: AtomicU64::new(0),
        }
    }
}

/// Appends `args` to `out` as a RESP array of bulk strings, the AOF's
/// format.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    out.push(b'*');
    crate::reply::push_i64(out, args.len() as i64);
    out.extend_from_slice(b"\r\n");
    for arg in args {
        let arg = arg.as_ref();
        out.push(b'$');
        crate::reply::push_i64(out, arg.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// A logged command from its parts (for `DbView::log_effect`).
pub fn command(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

/// `HDEL key field...`: the logged deletion of hash fields.
pub fn hdel<F: AsRef<[u8]>>(key: &[u8], fields: &[F]) -> Vec<Bytes> {
    let mut args = command(&[b"HDEL", key]);
    args.extend(fields.iter().map(|f| Bytes::copy_from_slice(f.as_ref())));
    args
}

/// An absolute time in ms as a logged argument.
pub fn ms_arg(ms: i64) -> String {
    ms.to_string()
}

/// The SELECT command for `db`, as logged.
fn encode_select(out: &mut Vec<u8>, db: usize) {
    let db = db.to_string();
    encode_command(out, &[b"SELECT".as_slice(), db.as_bytes()]);
}

impl Aof {
    /// The current state.
    pub fn state(&self) -> AofState {
        match self.state.load(Ordering::Acquire) {
            1 => AofState::On,
            2 => AofState::WaitRewrite,
            _ => AofState::Off,
        }
    }

    fn set_state(&self, state: AofState) {
        let code = match state {
            AofState::Off => 0,
            AofState::On => 1,
            AofState::WaitRewrite => 2,
        };
        self.state.store(code, Ordering::Release);
    }

    /// True while changes must be logged.
    #[inline]
    pub fn is_logging(&self) -> bool {
        self.state.load(Ordering::Relaxed) != 0
    }

    /// The fsync policy.
    #[inline]
    pub fn policy(&self) -> FsyncPolicy {
        FsyncPolicy::from_code(self.policy.load(Ordering::Relaxed))
    }

    /// Sets the fsync policy (`appendfsync`).
    pub fn set_policy(&self, policy: FsyncPolicy) {
        self.policy.store(policy.code(), Ordering::Relaxed);
        // A writer idle between everysec writes re-reads the policy.
        self.wake.notify_one();
    }

    /// Offset just past everything appended so far.
    #[inline]
    pub fn appended(&self) -> u64 {
        self.appended.load(Ordering::Acquire)
    }

    /// Bytes appended and not yet written to the file.
    pub fn buffered(&self) -> usize {
        self.log.lock().data.len()
    }

    /// Logs `effects`, wrapped in MULTI/EXEC when there are several, and
    /// returns the log offset just past them. Called with the shard locks of
    /// the keys involved held.
    pub fn append(&self, effects: &[Effect]) -> u64 {
        let mut log = self.log.lock();
        let log = &mut *log;
        let wrap = effects.len() > 1;
        if wrap {
            encode_command(&mut log.data, &[b"MULTI"]);
        }
        for effect in effects {
            if log.selected_db != Some(effect.db) {
                encode_select(&mut log.data, effect.db);
                log.selected_db = Some(effect.db);
            }
            encode_command(&mut log.data, &effect.args);
        }
        if wrap {
            encode_command(&mut log.data, &[b"EXEC"]);
        }
        let end = log.start + log.data.len() as u64;
        self.appended.store(end, Ordering::Release);
        // Under `always` the connection that waits writes and fsyncs itself.
        let kick = log.writer_idle && self.policy() != FsyncPolicy::Always;
        if kick {
            log.writer_idle = false;
            self.wake.notify_one();
        }
        end
    }

    /// True if a reply must wait for [`Aof::make_durable`] up to `offset`.
    #[inline]
    pub fn must_wait(&self, offset: u64) -> bool {
        offset > self.durable.load(Ordering::Acquire) && self.policy() == FsyncPolicy::Always
    }

    /// Makes the log durable up to `offset`, on the calling thread
    /// (`appendfsync always`, before a connection writes its replies): one
    /// write and one fsync carry whatever every client appended so far, so
    /// the connections whose commands ran meanwhile find their changes on
    /// disk already (group commit). Blocks the calling worker for the
    /// fsync, as Redis's event loop does.
    pub fn make_durable(&self, offset: u64) {
        let mut out = self.out.lock();
        if self.durable.load(Ordering::Acquire) >= offset {
            return;
        }
        if let Some(file) = out.as_mut() {
            self.drain(file, FsyncPolicy::Always);
        }
    }

    /// Starts logging to `file` (the last incremental file, opened for
    /// appending, already `size` bytes long) with a writer thread.
    ///
    /// The writer thread keeps `owner` (whatever holds this `Aof`, the
    /// server state) alive and finds the log through `aof_of`.
    pub fn start<O: Send + Sync + 'static>(
        &self,
        owner: std::sync::Arc<O>,
        aof_of: fn(&O) -> &Aof,
        state: AofState,
        file: File,
        size: u64,
    ) -> std::io::Result<()> {
        {
            let mut log = self.log.lock();
            log.selected_db = None;
            log.stop = false;
            log.rotation = None;
            let start = log.start + log.data.len() as u64;
            log.data.clear();
            log.start = start;
            self.durable.store(start, Ordering::Release);
        }
        self.set_state(state);
        *self.out.lock() = Some(LogFile {
            file,
            size,
            unsynced_since: None,
            chunk: Vec::new(),
        });
        let handle = std::thread::Builder::new()
            .name("ferrodis-aof".into())
            .spawn(move || writer_thread(aof_of(&owner)))?;
        *self.writer.lock() = Some(handle);
        Ok(())
    }

    /// Stops logging: the writer writes and fsyncs what was appended, then
    /// exits (CONFIG SET appendonly no, shutdown).
    pub fn stop(&self) {
        {
            let mut log = self.log.lock();
            log.stop = true;
        }
        self.wake.notify_one();
        if let Some(handle) = self.writer.lock().take() {
            let _ = handle.join();
        }
        *self.out.lock() = None;
        self.set_state(AofState::Off);
    }

    /// Makes the log continue in `file` from this instant on: what was
    /// appended so far goes to the current file, what follows to `file`,
    /// which starts with a SELECT. The caller holds every shard lock, so
    /// no command is half on each side.
    pub fn rotate(&self, file: File) {
        let mut log = self.log.lock();
        let at = log.start + log.data.len() as u64;
        log.rotation = Some((at, file));
        log.selected_db = None;
        if log.writer_idle {
            log.writer_idle = false;
            self.wake.notify_one();
        }
    }

    /// Records a rewrite that failed to start or to finish.
    pub fn rewrite_failed(&self) {
        self.rewrite_failures.fetch_add(1, Ordering::Relaxed);
        self.last_rewrite_ok.store(false, Ordering::Relaxed);
        self.rewrite_failed_ms
            .store(crate::util::now_ms(), Ordering::Relaxed);
    }

    fn write_failed(&self, what: &str, e: &std::io::Error) {
        let text = crate::util::os_error_text(e);
        if self.last_write_ok.swap(false, Ordering::Relaxed) {
            crate::warning!("{what}: {text}");
        }
        *self.last_write_error.lock() = text;
    }

    fn write_succeeded(&self) {
        if !self.last_write_ok.swap(true, Ordering::Relaxed) {
            crate::warning!("AOF write error looks solved. Redis can write again.");
        }
    }
}

/// The file the log is appended to, and its fsync state.
struct LogFile {
    file: File,
    size: u64,
    /// When the oldest write not fsynced yet was made (`None`: all are).
    unsynced_since: Option<Instant>,
    /// The buffer swapped with [`LogBuffer::data`] at each drain.
    chunk: Vec<u8>,
}

/// How often `everysec` fsyncs (and how long the idle writer sleeps).
const EVERYSEC: Duration = Duration::from_secs(1);

/// The writer thread: drains the buffer at most every millisecond under
/// `everysec` and `no` (and fsyncs once a second under `everysec`), and
/// under `always` whatever no waiting connection drained (active expiry's
/// deletions, rotations, the final drain when stopping).
fn writer_thread(aof: &Aof) {
    loop {
        let policy = aof.policy();
        // Under everysec, wake in time for the fsync that is due. (Read
        // before taking the buffer's lock: `drain` takes the two the other
        // way round.)
        let unsynced_since = aof.out.lock().as_ref().and_then(|f| f.unsynced_since);
        let wait = match (policy, unsynced_since) {
            (FsyncPolicy::EverySec, Some(since)) => EVERYSEC.saturating_sub(since.elapsed()),
            _ => EVERYSEC,
        };
        {
            let mut log = aof.log.lock();
            if log.data.is_empty() && log.rotation.is_none() && !log.stop && !wait.is_zero() {
                log.writer_idle = true;
                aof.wake.wait_for(&mut log, wait);
                log.writer_idle = false;
            }
        }
        let stop = match aof.out.lock().as_mut() {
            Some(file) => aof.drain(file, aof.policy()),
            None => true,
        };
        if stop {
            return;
        }
        if policy != FsyncPolicy::Always {
            // Batch the next millisecond of appends into one write.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Aof {
    /// Moves everything appended so far into `out` (switching files at a
    /// rotation) and fsyncs as `policy` says; returns true if the log is
    /// stopping (everything is then written and fsynced).
    fn drain(&self, out: &mut LogFile, policy: FsyncPolicy) -> bool {
        let (start, rotation, stop) = {
            let mut log = self.log.lock();
            let start = log.start;
            std::mem::swap(&mut log.data, &mut out.chunk);
            log.start += out.chunk.len() as u64;
            (start, log.rotation.take(), log.stop)
        };
        let chunk = std::mem::take(&mut out.chunk);
        let end = start + chunk.len() as u64;
        let split = match &rotation {
            Some((at, _)) => (at - start) as usize,
            None => chunk.len(),
        };
        out.write_retrying(self, &chunk[..split], policy);
        if let Some((_, file)) = rotation {
            // The old file ends here: make it durable before leaving it.
            out.sync(self);
            out.file = file;
            out.size = 0;
            out.write_retrying(self, &chunk[split..], policy);
        }
        out.chunk = chunk;
        out.chunk.clear();
        if let Some(since) = out.unsynced_since {
            let sync_now = stop
                || match policy {
                    FsyncPolicy::Always => true,
                    FsyncPolicy::EverySec => since.elapsed() >= EVERYSEC,
                    FsyncPolicy::No => false,
                };
            if sync_now {
                out.sync(self);
            }
        }
        if out.unsynced_since.is_none() {
            self.durable.fetch_max(end, Ordering::AcqRel);
        }
        stop
    }
}

impl LogFile {
    /// Writes `bytes`, retrying every second after a failure (disk full):
    /// a failed write is cut back off the file so the log never holds half
    /// a command. With `always` a write error is fatal, as in Redis: the
    /// server cannot keep its promise.
    fn write_retrying(&mut self, aof: &Aof, bytes: &[u8], policy: FsyncPolicy) {
        if bytes.is_empty() {
            return;
        }
        loop {
            match self.file.write_all(bytes) {
                Ok(()) => {
                    self.size += bytes.len() as u64;
                    self.unsynced_since.get_or_insert_with(Instant::now);
                    aof.current_size
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    aof.write_succeeded();
                    return;
                }
                Err(e) => {
                    aof.write_failed("Error writing to the AOF file", &e);
                    let _ = self.file.set_len(self.size);
                    if policy == FsyncPolicy::Always {
                        crate::warning!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                        std::process::exit(1);
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    fn sync(&mut self, aof: &Aof) {
        match self.file.sync_data() {
            Ok(()) => self.unsynced_since = None,
            Err(e) => {
                aof.write_failed("Fail to fsync the AOF file", &e);
                if aof.policy() == FsyncPolicy::Always {
                    crate::warning!("Can't persist AOF for fsync error when the AOF fsync policy is 'always'. Exiting...");
                    std::process::exit(1);
                }
                // Retried a second from now.
                self.unsynced_since = Some(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_encoded_as_resp_arrays() {
        let mut out = Vec::new();
        encode_command(&mut out, &[b"SET".as_slice(), b"k", b""]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }
}
