//! Crash safety of the append-only file under SIGKILL.
//!
//! The server runs with `--appendonly yes` in a data directory that survives
//! restarts. Writer threads load it concurrently (strings, counters, lists,
//! hashes, TTLs, deletes and re-creations, MULTI/EXEC), each over keys of its
//! own, and each keeps a model of what the server acknowledged. At a random
//! moment the harness kills the server with SIGKILL, restarts it from the
//! same directory with the same flags, waits until PING answers PONG (retrying
//! through `-LOADING`), reads every writer's keys back and checks them:
//!
//! * `appendfsync always`: each writer's keys equal its acknowledged state, or
//!   that state plus the one request it had in flight when the server died.
//! * `appendfsync everysec`: each writer's keys equal the state after some
//!   prefix of its requests, and every request left out was acknowledged
//!   less than [`EVERYSEC_WINDOW`] before the kill.
//! * kills while BGREWRITEAOF or BGSAVE runs (and shortly after one has
//!   finished), with a large filler data set so the job is really running:
//!   the `always` check, and the filler intact.
//!
//! In every mode: no transaction half applied (an invariant checked by
//! itself and by the prefix match), no value a writer never wrote, no key
//! lost or added (INFO keyspace, expires counted too), TTLs kept as absolute
//! deadlines. The model continues from the restored state into the next
//! round, on the restarted server.
//!
//! Kill moments are random: 200–1500 ms into the load for `always`,
//! 0.5–2 s past [`EVERYSEC_WINDOW`] for everysec (so losing older writes is
//! possible, and fails), 0–50 ms after the background job starts.
//!
//! The checker itself (`check_client`) has its own tests at the end, fed
//! with synthetic histories it must accept or reject.
//!
//! Environment:
//!
//! * `FERRODIS_CRASH_KILLS=N` — kills per test (defaults: 6 always,
//!   4 everysec, 4 BGREWRITEAOF, 3 BGSAVE). A long run:
//!   `FERRODIS_CRASH_KILLS=200 cargo test --release --test crash -- --nocapture`
//! * `FERRODIS_CRASH_SEED=S` — the seed of every random choice (decimal or
//!   0x-hex); each test prints the seed it used.
//! * `FERRODIS_CRASH_SERVER=redis` — run the harness against Debian's
//!   redis-server instead of ferrodis (how the harness itself is validated).
//! * `FERRODIS_CRASH_CLIENTS=N` — writer threads (default 8).
//! * `FERRODIS_CRASH_TRUNCATE_AOF=BYTES` — fault injection to check the
//!   harness itself: after each kill, cut BYTES off the end of the newest
//!   `*.incr.aof` in `<dir>/appendonlydir`, as if the last writes never
//!   reached the disk. The `always` tests must then fail; the everysec test
//!   must pass while the cut holds less than [`EVERYSEC_WINDOW`] of writes.
//!   A cut that tears a transaction tests the revert of an incomplete
//!   MULTI block: redis-server 7.0.15 keeps the block's start after a short
//!   read, and the next restart applies half a transaction, which the
//!   harness reports.

mod common;

use common::TempDir;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// With `appendfsync everysec`, an acknowledged write may be missing after a
/// crash only if it was acknowledged less than this long before the kill:
/// the one-second fsync period plus a second of slack (Redis documents two
/// seconds as everysec's worst case).
const EVERYSEC_WINDOW: Duration = Duration::from_secs(2);
/// A restored TTL deadline may differ from the model's by this much (the
/// model stamps a deadline when the reply arrives, the server when it runs
/// the command, and PTTL is read back over a loaded connection).
const TTL_TOLERANCE_MS: i64 = 1000;
/// Socket read and write timeout: a server that stops answering fails the
/// test instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a restarted server may take to answer PONG.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// A writer that has not seen the server die by then reports a failure.
const LOAD_LIMIT: Duration = Duration::from_secs(120);
/// Filler for the background-job modes: strings, plus long lists and large
/// hashes (past the packed encodings), in their own database.
const FILLER_DB: usize = 9;
const FILLER_STRINGS: usize = 200_000;
const FILLER_LISTS: usize = 100;
const FILLER_LIST_LEN: usize = 1000;
const FILLER_HASHES: usize = 100;
const FILLER_HASH_FIELDS: usize = 300;
/// Writers use databases 0..WRITER_DBS (writer i uses i % WRITER_DBS), so
/// the file must record SELECT correctly between interleaved clients.
const WRITER_DBS: usize = 4;
/// The writer's list is trimmed back to LIST_KEEP once it is longer than
/// LIST_TRIM_AT; the transaction log to TXLOG_KEEP.
const LIST_TRIM_AT: usize = 80;
const LIST_KEEP: usize = 50;
const TXLOG_KEEP: usize = 20;
const TTL_SECS: u64 = 10_000;
const EXPIRE_SECS: u64 = 9_000;

/// The names of a writer's keys (`crash:<writer>:<name>`).
const NAMES: [&str; 11] = [
    "ctr", "list", "hash", "str", "ttl", "ttl0", "tmp", "a", "b", "txn", "txlog",
];

// ---------------------------------------------------------------------------
// Randomness and clocks

/// SplitMix64: small, seeded, good enough to pick operations and delays.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A duration in `lo..=hi` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

// ---------------------------------------------------------------------------
// Settings from the environment

#[derive(Clone, Copy, PartialEq, Debug)]
enum Target {
    Ferrodis,
    Redis,
}

struct Settings {
    target: Target,
    seed: u64,
    kills: Option<usize>,
    clients: usize,
    truncate_aof: u64,
}

fn settings() -> Settings {
    let target = match std::env::var("FERRODIS_CRASH_SERVER").as_deref() {
        Err(_) | Ok("") | Ok("ferrodis") => Target::Ferrodis,
        Ok("redis") | Ok("redis-server") => Target::Redis,
        Ok(other) => panic!("FERRODIS_CRASH_SERVER={other}: expected ferrodis or redis"),
    };
    let number = |name: &str| -> Option<u64> {
        let text = std::env::var(name).ok()?;
        let text = text.trim();
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        Some(parsed.unwrap_or_else(|_| panic!("{name}={text}: not a number")))
    };
    // One seed for the whole test binary, so the printed value reproduces
    // every test's choices.
    static DEFAULT_SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = number("FERRODIS_CRASH_SEED").unwrap_or_else(|| {
        *DEFAULT_SEED.get_or_init(|| {
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("clock")
                .as_nanos() as u64;
            t ^ (u64::from(std::process::id()) << 32)
        })
    });
    let kills = number("FERRODIS_CRASH_KILLS").map(|n| n as usize);
    assert!(kills != Some(0), "FERRODIS_CRASH_KILLS must be at least 1");
    let clients = number("FERRODIS_CRASH_CLIENTS").unwrap_or(8) as usize;
    assert!(clients >= 1, "FERRODIS_CRASH_CLIENTS must be at least 1");
    let truncate_aof = number("FERRODIS_CRASH_TRUNCATE_AOF").unwrap_or(0);
    Settings {
        target,
        seed,
        kills,
        clients,
        truncate_aof,
    }
}

// ---------------------------------------------------------------------------
// The server process: same directory, same flags, killed and restarted

/// How to run a server: its binary and the directives after `--port`,
/// `--bind` and `--dir`.
struct ServerSpec {
    name: &'static str,
    bin: PathBuf,
    args: Vec<String>,
}

impl ServerSpec {
    /// The server under test with the AOF on and `fsync` as `appendfsync`.
    fn new(target: Target, fsync: &str) -> ServerSpec {
        let mut args: Vec<String> = ["--save", "", "--appendonly", "yes", "--appendfsync", fsync]
            .iter()
            .map(|s| s.to_string())
            .collect();
        match target {
            Target::Ferrodis => ServerSpec {
                name: "ferrodis",
                bin: PathBuf::from(common::ferrodis_bin()),
                args,
            },
            Target::Redis => {
                args.extend(["--protected-mode".to_string(), "no".to_string()]);
                ServerSpec {
                    name: "redis-server",
                    bin: PathBuf::from("redis-server"),
                    args,
                }
            }
        }
    }
}

/// A server that owns a data directory across restarts. The process runs
/// in a process group of its own, so a kill also takes any process it forked
/// (Redis's BGSAVE and BGREWRITEAOF children), as a machine crash would.
struct CrashServer {
    spec: ServerSpec,
    port: u16,
    data: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    _root: TempDir,
}

impl CrashServer {
    fn new(spec: ServerSpec, tag: &str) -> CrashServer {
        let root = TempDir::new(tag);
        let data = root.0.join("data");
        std::fs::create_dir_all(&data).expect("create data dir");
        CrashServer {
            spec,
            port: common::free_port(),
            log: root.0.join("server.log"),
            data,
            child: None,
            _root: root,
        }
    }

    /// Starts the server and waits for PONG. Returns how long that took and
    /// how many `-LOADING` replies came first.
    fn start(&mut self) -> (Duration, usize) {
        assert!(self.child.is_none(), "server already running");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open server log");
        let mut cmd = Command::new(&self.spec.bin);
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&self.data)
            .args(&self.spec.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .process_group(0);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", self.spec.bin));
        self.child = Some(child);
        let mut loading = 0;
        let mut last = String::from("no connection");
        while started.elapsed() < READY_TIMEOUT {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                panic!(
                    "{} exited during start-up ({status}); log tail:\n{}",
                    self.spec.name,
                    self.log_tail()
                );
            }
            match ping(self.port) {
                Ok(Resp::Simple(s)) if s == "PONG" => return (started.elapsed(), loading),
                Ok(Resp::Error(e)) if e.starts_with("LOADING") => {
                    loading += 1;
                    last = e;
                }
                Ok(other) => last = format!("{other:?}"),
                Err(e) => last = e.to_string(),
            }
            thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "{} did not answer PONG within {READY_TIMEOUT:?} (last: {last}); log tail:\n{}",
            self.spec.name,
            self.log_tail()
        );
    }

    /// SIGKILL to the server's process group; returns once the server is
    /// reaped and no member of its group is still running.
    fn kill9(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group the
        // child leads (process_group(0) made its pid the group id): only the
        // server this harness started and the processes it forked.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_has_live_members(pgid) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for CrashServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// True while a process of group `pgid` exists that is not a zombie.
fn group_has_live_members(pgid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the group exists.
    if unsafe { libc::kill(-pgid, 0) } != 0 {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ..."; comm may contain spaces.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" && fields[0] != "X"
        {
            return true;
        }
    }
    false
}

/// Cuts `bytes` off the end of the newest incremental AOF file under
/// `dir/appendonlydir` (FERRODIS_CRASH_TRUNCATE_AOF). Returns the file and
/// its old and new lengths.
fn truncate_newest_incr(dir: &Path, bytes: u64) -> (PathBuf, u64, u64) {
    let aof_dir = dir.join("appendonlydir");
    let newest = std::fs::read_dir(&aof_dir)
        .unwrap_or_else(|e| panic!("FERRODIS_CRASH_TRUNCATE_AOF: cannot list {aof_dir:?}: {e}"))
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".incr.aof"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("FERRODIS_CRASH_TRUNCATE_AOF: no *.incr.aof in {aof_dir:?}"));
    let file = File::options()
        .write(true)
        .open(&newest)
        .expect("open incr file");
    let len = file.metadata().expect("incr file size").len();
    let cut = len.saturating_sub(bytes);
    file.set_len(cut).expect("truncate incr file");
    (newest, len, cut)
}

fn ping(port: u16) -> io::Result<Resp> {
    let mut conn = Conn::connect(port)?;
    conn.call(&[b"PING".to_vec()])
}

// ---------------------------------------------------------------------------
// A small RESP2 client whose errors are values (a dying server is expected)

#[derive(Clone, Debug, PartialEq, Eq)]
enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

fn ok() -> Resp {
    Resp::Simple("OK".into())
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn connect(port: u16) -> io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Sends every frame in one write.
    fn send(&mut self, frames: &[Vec<Vec<u8>>]) -> io::Result<()> {
        let mut out = Vec::new();
        for frame in frames {
            out.extend_from_slice(format!("*{}\r\n", frame.len()).as_bytes());
            for arg in frame {
                out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                out.extend_from_slice(arg);
                out.extend_from_slice(b"\r\n");
            }
        }
        self.writer.write_all(&out)
    }

    /// Sends the frames as one pipeline and reads one reply per frame.
    fn pipeline(&mut self, frames: &[Vec<Vec<u8>>]) -> io::Result<Vec<Resp>> {
        self.send(frames)?;
        (0..frames.len()).map(|_| self.read()).collect()
    }

    fn call(&mut self, args: &[Vec<u8>]) -> io::Result<Resp> {
        self.send(&[args.to_vec()])?;
        self.read()
    }

    fn call_str(&mut self, args: &[&str]) -> io::Result<Resp> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        self.call(&args)
    }

    fn line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        if !line.ends_with(b"\r\n") || line.len() < 3 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "reply cut short",
            ));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    fn read(&mut self) -> io::Result<Resp> {
        let line = self.line()?;
        let text = String::from_utf8_lossy(&line[1..]).into_owned();
        let number = || -> io::Result<i64> {
            text.parse().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, format!("bad number {text:?}"))
            })
        };
        Ok(match line[0] {
            b'+' => Resp::Simple(text.clone()),
            b'-' => Resp::Error(text.clone()),
            b':' => Resp::Int(number()?),
            b'$' => {
                let n = number()?;
                if n < 0 {
                    Resp::Bulk(None)
                } else {
                    let mut data = vec![0u8; n as usize + 2];
                    self.reader.read_exact(&mut data)?;
                    data.truncate(n as usize);
                    Resp::Bulk(Some(data))
                }
            }
            b'*' => {
                let n = number()?;
                if n < 0 {
                    Resp::Array(None)
                } else {
                    let mut items = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        items.push(self.read()?);
                    }
                    Resp::Array(Some(items))
                }
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unexpected reply type {:?}", other as char),
                ))
            }
        })
    }
}

fn frame(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.to_vec()).collect()
}

// ---------------------------------------------------------------------------
// The model: a writer's keys, its operations, and what each does

#[derive(Clone, Debug, PartialEq, Eq)]
enum Val {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    val: Val,
    /// Absolute deadline in Unix milliseconds.
    expires: Option<u64>,
}

/// A writer's keys by name (see [`NAMES`]).
type State = BTreeMap<&'static str, Entry>;

/// Equal values, and deadlines equal within [`TTL_TOLERANCE_MS`].
fn same(model: Option<&Entry>, restored: Option<&Entry>) -> bool {
    match (model, restored) {
        (None, None) => true,
        (Some(m), Some(r)) => {
            m.val == r.val
                && match (m.expires, r.expires) {
                    (None, None) => true,
                    (Some(a), Some(b)) => (a as i64 - b as i64).abs() <= TTL_TOLERANCE_MS,
                    _ => false,
                }
        }
        _ => false,
    }
}

fn key(writer: usize, name: &str) -> Vec<u8> {
    format!("crash:{writer}:{name}").into_bytes()
}

/// A value only writer `w` writes, at its operation `seq`: CR, LF, NUL and
/// a high byte inside, sizes from a few bytes to 20 KB.
fn value(w: usize, seq: u64) -> Vec<u8> {
    let mut v = format!("w{w}s{seq}|").into_bytes();
    v.extend_from_slice(b"\r\n\0\xff");
    let pad = if seq % 101 == 0 {
        20_000
    } else {
        (seq % 48) as usize
    };
    v.extend(std::iter::repeat_n(b'a' + (seq % 26) as u8, pad));
    v
}

fn int_of(st: &State, name: &'static str) -> i64 {
    match st.get(name).map(|e| &e.val) {
        Some(Val::Str(s)) => std::str::from_utf8(s)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("model key {name} is not an integer")),
        None => 0,
        Some(other) => panic!("model key {name} is {other:?}"),
    }
}

/// Sets a string; `keep_ttl` for commands that keep the TTL (INCR, APPEND).
fn put_str(st: &mut State, name: &'static str, v: Vec<u8>, keep_ttl: bool) {
    let expires = if keep_ttl {
        st.get(name).and_then(|e| e.expires)
    } else {
        None
    };
    st.insert(
        name,
        Entry {
            val: Val::Str(v),
            expires,
        },
    );
}

fn list_mut<'a>(st: &'a mut State, name: &'static str) -> &'a mut Vec<Vec<u8>> {
    let e = st.entry(name).or_insert(Entry {
        val: Val::List(Vec::new()),
        expires: None,
    });
    match &mut e.val {
        Val::List(l) => l,
        other => panic!("model key {name} is {other:?}"),
    }
}

fn hash_mut<'a>(st: &'a mut State, name: &'static str) -> &'a mut BTreeMap<Vec<u8>, Vec<u8>> {
    let e = st.entry(name).or_insert(Entry {
        val: Val::Hash(BTreeMap::new()),
        expires: None,
    });
    match &mut e.val {
        Val::Hash(h) => h,
        other => panic!("model key {name} is {other:?}"),
    }
}

fn str_len(st: &State, name: &str) -> Option<usize> {
    match st.get(name).map(|e| &e.val) {
        Some(Val::Str(s)) => Some(s.len()),
        _ => None,
    }
}

/// One request of a writer (a transaction is one request: MULTI, its
/// commands and EXEC in one write).
#[derive(Clone, Debug)]
enum Op {
    /// INCR ctr.
    Incr,
    /// RPUSH list <seq>.
    Push(u64),
    /// LTRIM list -LIST_KEEP -1.
    Trim,
    /// HSET hash f<seq % 32> <value> last <seq>.
    HSet(u64),
    /// HINCRBY hash n <by>.
    HIncr(i64),
    /// SET str <value> (drops a TTL).
    Set(u64),
    /// APPEND str ,<seq> (keeps a TTL).
    Append(u64),
    /// EXPIRE str EXPIRE_SECS (on a str without a TTL).
    Expire,
    /// SET ttl <value> EX TTL_SECS.
    SetEx(u64),
    /// SET ttl0 <value> EX TTL_SECS: once, then never touched (a TTL that
    /// must keep its deadline across every restart).
    SetTtl0(u64),
    /// DEL tmp.
    DelTmp,
    /// Re-creates tmp as a string, a list or a hash (seq % 3).
    CreateTmp(u64),
    /// MULTI; DECRBY a <amount>; INCRBY b <amount>; HSET hash tx <seq>;
    /// SET txn <seq>; RPUSH txlog <seq>; LTRIM txlog -TXLOG_KEEP -1; EXEC.
    Txn { seq: u64, amount: i64 },
}

impl Op {
    /// The frames writer `w` sends for this operation.
    fn frames(&self, w: usize) -> Vec<Vec<Vec<u8>>> {
        let k = |name: &str| key(w, name);
        let n = |x: i64| x.to_string().into_bytes();
        let u = |x: u64| x.to_string().into_bytes();
        match *self {
            Op::Incr => vec![frame(&[b"INCR", &k("ctr")])],
            Op::Push(seq) => vec![frame(&[b"RPUSH", &k("list"), &u(seq)])],
            Op::Trim => vec![frame(&[
                b"LTRIM",
                &k("list"),
                &n(-(LIST_KEEP as i64)),
                b"-1",
            ])],
            Op::HSet(seq) => vec![frame(&[
                b"HSET",
                &k("hash"),
                format!("f{}", seq % 32).as_bytes(),
                &value(w, seq),
                b"last",
                &u(seq),
            ])],
            Op::HIncr(by) => vec![frame(&[b"HINCRBY", &k("hash"), b"n", &n(by)])],
            Op::Set(seq) => vec![frame(&[b"SET", &k("str"), &value(w, seq)])],
            Op::Append(seq) => vec![frame(&[b"APPEND", &k("str"), format!(",{seq}").as_bytes()])],
            Op::Expire => vec![frame(&[b"EXPIRE", &k("str"), &u(EXPIRE_SECS)])],
            Op::SetEx(seq) => vec![frame(&[
                b"SET",
                &k("ttl"),
                &value(w, seq),
                b"EX",
                &u(TTL_SECS),
            ])],
            Op::SetTtl0(seq) => vec![frame(&[
                b"SET",
                &k("ttl0"),
                &value(w, seq),
                b"EX",
                &u(TTL_SECS),
            ])],
            Op::DelTmp => vec![frame(&[b"DEL", &k("tmp")])],
            Op::CreateTmp(seq) => match seq % 3 {
                0 => vec![frame(&[b"SET", &k("tmp"), &value(w, seq)])],
                1 => vec![frame(&[
                    b"RPUSH",
                    &k("tmp"),
                    format!("x{seq}").as_bytes(),
                    b"y",
                    b"z",
                ])],
                _ => vec![frame(&[
                    b"HSET",
                    &k("tmp"),
                    b"x",
                    &u(seq),
                    b"y",
                    &value(w, seq),
                ])],
            },
            Op::Txn { seq, amount } => vec![
                frame(&[b"MULTI"]),
                frame(&[b"DECRBY", &k("a"), &n(amount)]),
                frame(&[b"INCRBY", &k("b"), &n(amount)]),
                frame(&[b"HSET", &k("hash"), b"tx", &u(seq)]),
                frame(&[b"SET", &k("txn"), &u(seq)]),
                frame(&[b"RPUSH", &k("txlog"), &u(seq)]),
                frame(&[b"LTRIM", &k("txlog"), &n(-(TXLOG_KEEP as i64)), b"-1"]),
                frame(&[b"EXEC"]),
            ],
        }
    }

    /// Applies the operation to the model as the server runs it at `at_ms`;
    /// returns the replies the server must send and the keys it touches.
    fn apply(&self, w: usize, st: &mut State, at_ms: u64) -> (Vec<Resp>, &'static [&'static str]) {
        let int = |x: usize| Resp::Int(x as i64);
        match *self {
            Op::Incr => {
                let v = int_of(st, "ctr") + 1;
                put_str(st, "ctr", v.to_string().into_bytes(), true);
                (vec![Resp::Int(v)], &["ctr"])
            }
            Op::Push(seq) => {
                let l = list_mut(st, "list");
                l.push(seq.to_string().into_bytes());
                (vec![int(l.len())], &["list"])
            }
            Op::Trim => {
                let l = list_mut(st, "list");
                let cut = l.len().saturating_sub(LIST_KEEP);
                l.drain(..cut);
                if l.is_empty() {
                    st.remove("list");
                }
                (vec![ok()], &["list"])
            }
            Op::HSet(seq) => {
                let h = hash_mut(st, "hash");
                let mut added = 0;
                let field = format!("f{}", seq % 32).into_bytes();
                added += usize::from(h.insert(field, value(w, seq)).is_none());
                added += usize::from(
                    h.insert(b"last".to_vec(), seq.to_string().into_bytes())
                        .is_none(),
                );
                (vec![int(added)], &["hash"])
            }
            Op::HIncr(by) => {
                let h = hash_mut(st, "hash");
                let old: i64 = h
                    .get(&b"n"[..])
                    .map(|v| String::from_utf8_lossy(v).parse().expect("model hash n"))
                    .unwrap_or(0);
                h.insert(b"n".to_vec(), (old + by).to_string().into_bytes());
                (vec![Resp::Int(old + by)], &["hash"])
            }
            Op::Set(seq) => {
                put_str(st, "str", value(w, seq), false);
                (vec![ok()], &["str"])
            }
            Op::Append(seq) => {
                let mut v = match st.get("str").map(|e| &e.val) {
                    Some(Val::Str(s)) => s.clone(),
                    _ => Vec::new(),
                };
                v.extend_from_slice(format!(",{seq}").as_bytes());
                let len = v.len();
                put_str(st, "str", v, true);
                (vec![int(len)], &["str"])
            }
            Op::Expire => {
                let e = st.get_mut("str").expect("EXPIRE only on an existing str");
                e.expires = Some(at_ms + EXPIRE_SECS * 1000);
                (vec![Resp::Int(1)], &["str"])
            }
            Op::SetEx(seq) | Op::SetTtl0(seq) => {
                let name = if matches!(self, Op::SetEx(_)) {
                    "ttl"
                } else {
                    "ttl0"
                };
                st.insert(
                    name,
                    Entry {
                        val: Val::Str(value(w, seq)),
                        expires: Some(at_ms + TTL_SECS * 1000),
                    },
                );
                (vec![ok()], if name == "ttl" { &["ttl"] } else { &["ttl0"] })
            }
            Op::DelTmp => {
                let gone = st.remove("tmp").is_some();
                (vec![Resp::Int(i64::from(gone))], &["tmp"])
            }
            Op::CreateTmp(seq) => {
                let (val, reply) = match seq % 3 {
                    0 => (Val::Str(value(w, seq)), ok()),
                    1 => (
                        Val::List(vec![
                            format!("x{seq}").into_bytes(),
                            b"y".to_vec(),
                            b"z".to_vec(),
                        ]),
                        Resp::Int(3),
                    ),
                    _ => (
                        Val::Hash(BTreeMap::from([
                            (b"x".to_vec(), seq.to_string().into_bytes()),
                            (b"y".to_vec(), value(w, seq)),
                        ])),
                        Resp::Int(2),
                    ),
                };
                st.insert("tmp", Entry { val, expires: None });
                (vec![reply], &["tmp"])
            }
            Op::Txn { seq, amount } => {
                let a = int_of(st, "a") - amount;
                put_str(st, "a", a.to_string().into_bytes(), true);
                let b = int_of(st, "b") + amount;
                put_str(st, "b", b.to_string().into_bytes(), true);
                let added = hash_mut(st, "hash")
                    .insert(b"tx".to_vec(), seq.to_string().into_bytes())
                    .is_none();
                put_str(st, "txn", seq.to_string().into_bytes(), false);
                let log = list_mut(st, "txlog");
                log.push(seq.to_string().into_bytes());
                let len = log.len();
                let cut = log.len().saturating_sub(TXLOG_KEEP);
                log.drain(..cut);
                let queued = Resp::Simple("QUEUED".into());
                let mut replies = vec![ok()];
                replies.extend(std::iter::repeat_n(queued, 6));
                replies.push(Resp::Array(Some(vec![
                    Resp::Int(a),
                    Resp::Int(b),
                    Resp::Int(i64::from(added)),
                    ok(),
                    int(len),
                    ok(),
                ])));
                (replies, &["a", "b", "hash", "txn", "txlog"])
            }
        }
    }
}

/// A writer: its keys (the model of what the server holds), the next
/// operation number and its random choices. It carries over between rounds.
struct Writer {
    id: usize,
    db: usize,
    state: State,
    seq: u64,
    rng: Rng,
}

impl Writer {
    fn new(id: usize, seed: u64) -> Writer {
        Writer {
            id,
            db: id % WRITER_DBS,
            state: State::new(),
            seq: 0,
            rng: Rng(seed ^ (id as u64).wrapping_mul(0xA24B_AED4_963E_E407)),
        }
    }

    /// The next operation, chosen from the model's current state.
    fn next_op(&mut self) -> Op {
        self.seq += 1;
        let seq = self.seq;
        if !self.state.contains_key("ttl0") {
            return Op::SetTtl0(seq);
        }
        let list_len = match self.state.get("list").map(|e| &e.val) {
            Some(Val::List(l)) => l.len(),
            _ => 0,
        };
        if list_len > LIST_TRIM_AT {
            return Op::Trim;
        }
        let str_len = str_len(&self.state, "str");
        let roll = self.rng.below(100);
        let extra = self.rng.next();
        match roll {
            0..=13 => Op::Incr,
            14..=27 => Op::Push(seq),
            28..=38 => Op::HSet(seq),
            39..=45 => Op::HIncr(1 + (extra % 5) as i64),
            46..=52 => Op::Set(seq),
            53..=60 => match str_len {
                Some(len) if len <= 400 => Op::Append(seq),
                _ => Op::Set(seq),
            },
            61..=64 => match self.state.get("str") {
                // Only on a string without a TTL, so the request always
                // changes something a restart can be checked for.
                Some(e) if e.expires.is_none() => Op::Expire,
                _ => Op::Set(seq),
            },
            65..=70 => Op::SetEx(seq),
            71..=78 => {
                if self.state.contains_key("tmp") {
                    Op::DelTmp
                } else {
                    Op::CreateTmp(seq)
                }
            }
            _ => Op::Txn {
                seq,
                amount: 1 + (extra % 100) as i64,
            },
        }
    }
}

/// One request of a round as the writer saw it.
#[derive(Clone, Debug)]
struct Logged {
    op: Op,
    sent_ms: u64,
    /// When the last reply arrived (None: in flight when the server died).
    ack: Option<Instant>,
    ack_ms: u64,
}

impl Logged {
    /// The time the model applies the operation at.
    fn at_ms(&self) -> u64 {
        if self.ack.is_some() {
            self.ack_ms
        } else {
            self.sent_ms
        }
    }
}

// ---------------------------------------------------------------------------
// The checker

#[derive(Clone, Copy, Debug)]
enum Durability {
    /// Every acknowledged request survives; the one in flight may.
    Always,
    /// Requests acknowledged within this long before the kill may be lost,
    /// newest first (a prefix of the history survives).
    Within(Duration),
}

/// What a restart kept of one writer's round.
#[derive(Debug)]
struct Verdict {
    /// The model after the surviving prefix (the next round starts here).
    state: State,
    acked: usize,
    in_flight: bool,
    in_flight_applied: bool,
    /// Acknowledged requests missing, and how long before the kill the
    /// oldest of them was acknowledged.
    missing: usize,
    missing_span: Duration,
}

fn show(e: Option<&Entry>) -> String {
    let Some(e) = e else {
        return "(absent)".into();
    };
    let body = match &e.val {
        Val::Str(s) => format!("string {:?}", String::from_utf8_lossy(s)),
        Val::List(l) => format!(
            "list len {} {:?}",
            l.len(),
            l.iter()
                .map(|x| String::from_utf8_lossy(x))
                .collect::<Vec<_>>()
        ),
        Val::Hash(h) => format!(
            "hash len {} {:?}",
            h.len(),
            h.iter()
                .map(|(f, v)| format!(
                    "{}={}",
                    String::from_utf8_lossy(f),
                    String::from_utf8_lossy(v)
                ))
                .collect::<Vec<_>>()
        ),
    };
    let body: String = if body.chars().count() > 240 {
        body.chars().take(240).chain("…".chars()).collect()
    } else {
        body
    };
    match e.expires {
        Some(at) => format!("{body} (deadline {at})"),
        None => body,
    }
}

/// The transaction invariants, on their own: a + b == 0, and the marker
/// the same transaction writes in txn, txlog and hash.tx agrees.
fn transaction_invariants(st: &State) -> Result<(), String> {
    let int = |name: &'static str| -> Result<i64, String> {
        match st.get(name).map(|e| &e.val) {
            None => Ok(0),
            Some(Val::Str(s)) => String::from_utf8_lossy(s)
                .parse()
                .map_err(|_| format!("{name} is not an integer: {}", show(st.get(name)))),
            Some(_) => Err(format!("{name} has the wrong type: {}", show(st.get(name)))),
        }
    };
    let (a, b) = (int("a")?, int("b")?);
    if a + b != 0 {
        return Err(format!(
            "half-applied transaction: a={a} b={b}, but every transaction moves an amount from a to b (sum must be 0)"
        ));
    }
    let txn = match st.get("txn").map(|e| &e.val) {
        None => None,
        Some(Val::Str(s)) => Some(s.clone()),
        Some(_) => return Err(format!("txn has the wrong type: {}", show(st.get("txn")))),
    };
    let last = match st.get("txlog").map(|e| &e.val) {
        None => None,
        Some(Val::List(l)) => l.last().cloned(),
        Some(_) => {
            return Err(format!(
                "txlog has the wrong type: {}",
                show(st.get("txlog"))
            ))
        }
    };
    let tx_field = match st.get("hash").map(|e| &e.val) {
        Some(Val::Hash(h)) => h.get(&b"tx"[..]).cloned(),
        _ => None,
    };
    if txn != last || txn != tx_field {
        return Err(format!(
            "half-applied transaction: markers disagree: txn={}, last of txlog={}, hash.tx={}",
            show(st.get("txn")),
            show(st.get("txlog")),
            show(st.get("hash"))
        ));
    }
    Ok(())
}

fn diff(model: &State, restored: &State) -> Vec<String> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    NAMES
        .iter()
        .filter(|n| !same(model.get(*n), restored.get(*n)))
        .map(|n| {
            let (m, r) = (model.get(n), restored.get(n));
            let mut out = format!("  {n}:\n    model    {}\n    restored {}", show(m), show(r));
            // For two hashes, name the fields that differ.
            if let (Some(Val::Hash(mh)), Some(Val::Hash(rh))) =
                (m.map(|e| &e.val), r.map(|e| &e.val))
            {
                let fields: BTreeSet<&Vec<u8>> = mh.keys().chain(rh.keys()).collect();
                for f in fields.into_iter().filter(|f| mh.get(*f) != rh.get(*f)) {
                    let side = |h: &BTreeMap<Vec<u8>, Vec<u8>>| {
                        h.get(f).map_or("(absent)".to_string(), |v| text(v))
                    };
                    out.push_str(&format!(
                        "\n      field {}: model {:?}, restored {:?}",
                        text(f),
                        side(mh),
                        side(rh)
                    ));
                }
            }
            out
        })
        .collect()
}

/// Checks one writer's keys after a restart: `start` is the model when the
/// round began, `log` the round's requests in order (all acknowledged but
/// perhaps the last), `restored` what the server holds now.
///
/// The restored keys must equal the model after some prefix of `log`: a
/// transaction is one entry, so a half-applied one matches no prefix, and
/// neither does a hole, a foreign value or a lost TTL. Which prefixes count
/// is the durability promise.
fn check_client(
    w: usize,
    start: &State,
    log: &[Logged],
    restored: &State,
    kill_at: Instant,
    durability: Durability,
) -> Result<Verdict, String> {
    transaction_invariants(restored)?;
    let acked = log.iter().take_while(|l| l.ack.is_some()).count();
    assert!(
        log.len() - acked <= 1,
        "harness bug: more than one request in flight"
    );
    let lowest = match durability {
        Durability::Always => acked,
        Durability::Within(window) => log[..acked]
            .iter()
            .take_while(|l| l.ack.expect("acked") + window < kill_at)
            .count(),
    };
    let mut st = start.clone();
    let mut bad: BTreeSet<&'static str> = NAMES
        .iter()
        .copied()
        .filter(|n| !same(st.get(n), restored.get(n)))
        .collect();
    let mut best: Option<(usize, State)> = None;
    let mut below: Option<usize> = None;
    for k in 0..=log.len() {
        if bad.is_empty() {
            if k >= lowest {
                best = Some((k, st.clone()));
            } else {
                below = Some(k);
            }
        }
        if k == log.len() {
            break;
        }
        let (_, touched) = log[k].op.apply(w, &mut st, log[k].at_ms());
        for &t in touched {
            if same(st.get(t), restored.get(t)) {
                bad.remove(t);
            } else {
                bad.insert(t);
            }
        }
    }
    let in_flight = log.len() > acked;
    if let Some((k, state)) = best {
        let missing = acked.saturating_sub(k);
        let missing_span = if missing > 0 {
            kill_at.saturating_duration_since(log[k].ack.expect("acked"))
        } else {
            Duration::ZERO
        };
        return Ok(Verdict {
            state,
            acked,
            in_flight,
            in_flight_applied: in_flight && k == log.len(),
            missing,
            missing_span,
        });
    }
    let promise = match durability {
        Durability::Always => "appendfsync always: no acknowledged write may be lost".to_string(),
        Durability::Within(window) => format!(
            "appendfsync everysec: only writes acknowledged within {window:?} before the kill may be lost"
        ),
    };
    if let Some(k) = below {
        let span = kill_at.saturating_duration_since(log[k].ack.expect("acked"));
        return Err(format!(
            "lost acknowledged writes ({promise}): the restored keys are the state after {k} of the round's {} requests \
             ({acked} acknowledged{}): {} acknowledged requests are missing, the oldest acknowledged {span:?} before the kill; \
             first missing request: {:?}",
            log.len(),
            if in_flight { ", 1 in flight" } else { "" },
            acked - k,
            log[k].op
        ));
    }
    let mut model = start.clone();
    for l in &log[..acked] {
        l.op.apply(w, &mut model, l.at_ms());
    }
    Err(format!(
        "the restored keys match no prefix of the writer's history ({} requests, {acked} acknowledged{}): a hole, \
         a half-applied transaction, a value never written, a lost TTL, or writes lost from before this round; differences from the \
         acknowledged state:\n{}",
        log.len(),
        if in_flight { ", 1 in flight" } else { "" },
        diff(&model, restored).join("\n")
    ))
}

// ---------------------------------------------------------------------------
// Load and read-back

/// What one writer thread brings back from a round.
struct Finished {
    writer: Writer,
    log: Vec<Logged>,
    /// Something wrong seen before the kill (a wrong reply, an error).
    failure: Option<String>,
}

/// Runs one writer until its connection dies with the server.
fn run_writer(port: u16, mut writer: Writer, killed: &AtomicBool) -> Finished {
    let mut log: Vec<Logged> = Vec::new();
    let id = writer.id;
    let mut conn = match Conn::connect(port) {
        Ok(c) => c,
        Err(e) => {
            let failure = (!killed.load(Ordering::SeqCst))
                .then(|| format!("writer {id}: cannot connect: {e}"));
            return Finished {
                writer,
                log,
                failure,
            };
        }
    };
    match conn.call_str(&["SELECT", &writer.db.to_string()]) {
        Ok(r) if r == ok() => {}
        Ok(r) => {
            return Finished {
                writer,
                log,
                failure: Some(format!("writer {id}: SELECT replied {r:?}")),
            }
        }
        Err(e) => {
            let failure = (!killed.load(Ordering::SeqCst))
                .then(|| format!("writer {id}: SELECT failed: {e}"));
            return Finished {
                writer,
                log,
                failure,
            };
        }
    }
    let began = Instant::now();
    loop {
        if began.elapsed() > LOAD_LIMIT {
            return Finished {
                writer,
                log,
                failure: Some(format!(
                    "writer {id}: the server was not killed within {LOAD_LIMIT:?}"
                )),
            };
        }
        let op = writer.next_op();
        let frames = op.frames(id);
        log.push(Logged {
            op: op.clone(),
            sent_ms: unix_ms(),
            ack: None,
            ack_ms: 0,
        });
        match conn.pipeline(&frames) {
            Err(e) => {
                let failure = (!killed.load(Ordering::SeqCst)).then(|| {
                    format!("writer {id}: connection failed before the kill: {e} (request {op:?})")
                });
                return Finished {
                    writer,
                    log,
                    failure,
                };
            }
            Ok(got) => {
                let ack = Instant::now();
                let ack_ms = unix_ms();
                let entry = log.last_mut().expect("logged");
                entry.ack = Some(ack);
                entry.ack_ms = ack_ms;
                let (expected, _) = op.apply(id, &mut writer.state, ack_ms);
                if got != expected {
                    return Finished {
                        writer,
                        log,
                        failure: Some(format!(
                            "writer {id}: wrong reply to {op:?}: got {got:?}, the model expects {expected:?}"
                        )),
                    };
                }
            }
        }
    }
}

fn bulk(r: &Resp) -> Result<Vec<u8>, String> {
    match r {
        Resp::Bulk(Some(b)) => Ok(b.clone()),
        other => Err(format!("expected a bulk string, got {other:?}")),
    }
}

fn bulks(r: &Resp) -> Result<Vec<Vec<u8>>, String> {
    match r {
        Resp::Array(Some(items)) => items.iter().map(bulk).collect(),
        other => Err(format!("expected an array, got {other:?}")),
    }
}

/// Reads writer `w`'s keys from the server.
fn read_state(conn: &mut Conn, w: usize, db: usize) -> Result<State, String> {
    let io = |e: io::Error| format!("reading writer {w}'s keys: {e}");
    let r = conn.call_str(&["SELECT", &db.to_string()]).map_err(io)?;
    if r != ok() {
        return Err(format!("SELECT {db} replied {r:?}"));
    }
    let types: Vec<Vec<Vec<u8>>> = NAMES
        .iter()
        .map(|n| frame(&[b"TYPE", &key(w, n)]))
        .collect();
    let types = conn.pipeline(&types).map_err(io)?;
    let mut present = Vec::new();
    let mut reads = Vec::new();
    for (name, t) in NAMES.iter().zip(&types) {
        let k = key(w, name);
        let read = match t {
            Resp::Simple(t) if t == "none" => continue,
            Resp::Simple(t) if t == "string" => frame(&[b"GET", &k]),
            Resp::Simple(t) if t == "list" => frame(&[b"LRANGE", &k, b"0", b"-1"]),
            Resp::Simple(t) if t == "hash" => frame(&[b"HGETALL", &k]),
            other => return Err(format!("key {name} of writer {w}: TYPE replied {other:?}")),
        };
        present.push((*name, t.clone()));
        reads.push(read);
        reads.push(frame(&[b"PTTL", &k]));
    }
    let replies = conn.pipeline(&reads).map_err(io)?;
    let now = unix_ms() as i64;
    let mut st = State::new();
    for ((name, t), pair) in present.into_iter().zip(replies.chunks(2)) {
        let val = match t {
            Resp::Simple(t) if t == "string" => Val::Str(bulk(&pair[0])?),
            Resp::Simple(t) if t == "list" => Val::List(bulks(&pair[0])?),
            _ => {
                let flat = bulks(&pair[0])?;
                if flat.len() % 2 != 0 {
                    return Err(format!("HGETALL of {name} returned an odd count"));
                }
                let pairs = flat.chunks(2).map(|p| (p[0].clone(), p[1].clone()));
                let h: BTreeMap<_, _> = pairs.collect();
                if h.len() * 2 != flat.len() {
                    return Err(format!("HGETALL of {name} returned a field twice"));
                }
                Val::Hash(h)
            }
        };
        let expires = match pair[1] {
            Resp::Int(-1) => None,
            Resp::Int(ms) if ms > 0 => {
                if ms as u64 > TTL_SECS * 1000 {
                    return Err(format!(
                        "key {name} of writer {w} has PTTL {ms}, longer than any TTL the writer set"
                    ));
                }
                Some((now + ms) as u64)
            }
            ref other => {
                return Err(format!(
                    "key {name} of writer {w}: PTTL replied {other:?} (TTL lost or key vanished)"
                ))
            }
        };
        st.insert(name, Entry { val, expires });
    }
    Ok(st)
}

/// INFO keyspace as db → (keys, expires).
fn keyspace(conn: &mut Conn) -> Result<BTreeMap<usize, (usize, usize)>, String> {
    let info = match conn.call_str(&["INFO", "keyspace"]) {
        Ok(Resp::Bulk(Some(b))) => String::from_utf8_lossy(&b).into_owned(),
        other => return Err(format!("INFO keyspace replied {other:?}")),
    };
    let mut out = BTreeMap::new();
    for line in info.lines() {
        let Some((db, rest)) = line.trim().split_once(':') else {
            continue;
        };
        let Some(db) = db.strip_prefix("db").and_then(|d| d.parse().ok()) else {
            continue;
        };
        let field = |name: &str| -> usize {
            rest.split(',')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
                .unwrap_or(0)
        };
        out.insert(db, (field("keys"), field("expires")));
    }
    Ok(out)
}

fn info_field(conn: &mut Conn, section: &str, field: &str) -> Result<String, String> {
    let info = match conn.call_str(&["INFO", section]) {
        Ok(Resp::Bulk(Some(b))) => String::from_utf8_lossy(&b).into_owned(),
        other => return Err(format!("INFO {section} replied {other:?}")),
    };
    info.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(field)?
                .strip_prefix(':')
                .map(str::to_string)
        })
        .ok_or_else(|| format!("INFO {section} has no {field} field"))
}

// ---------------------------------------------------------------------------
// Filler data for the background-job modes

fn filler_string(i: usize) -> Vec<u8> {
    let mut v = format!("filler-{i}-").into_bytes();
    v.extend(std::iter::repeat_n(b'f', i % 64));
    v
}

fn filler_list(i: usize) -> Vec<Vec<u8>> {
    (0..FILLER_LIST_LEN)
        .map(|j| format!("l{i}e{j}").into_bytes())
        .collect()
}

fn filler_hash(i: usize) -> BTreeMap<Vec<u8>, Vec<u8>> {
    (0..FILLER_HASH_FIELDS)
        .map(|j| {
            (
                format!("f{j}").into_bytes(),
                format!("h{i}v{j}").into_bytes(),
            )
        })
        .collect()
}

fn filler_keys() -> usize {
    FILLER_STRINGS + FILLER_LISTS + FILLER_HASHES
}

/// Writes the filler in pipelined batches.
fn fill(port: u16) {
    let mut conn = Conn::connect(port).expect("connect to fill");
    assert_eq!(
        conn.call_str(&["SELECT", &FILLER_DB.to_string()])
            .expect("SELECT"),
        ok()
    );
    let mut frames: Vec<Vec<Vec<u8>>> = Vec::new();
    let flush = |frames: &mut Vec<Vec<Vec<u8>>>, conn: &mut Conn| {
        for r in conn.pipeline(frames).expect("filler pipeline") {
            assert!(
                matches!(r, Resp::Simple(_) | Resp::Int(_)),
                "filler write replied {r:?}"
            );
        }
        frames.clear();
    };
    for start in (0..FILLER_STRINGS).step_by(100) {
        let mut f = vec![b"MSET".to_vec()];
        for i in start..(start + 100).min(FILLER_STRINGS) {
            f.push(format!("filler:s:{i}").into_bytes());
            f.push(filler_string(i));
        }
        frames.push(f);
        if frames.len() == 50 {
            flush(&mut frames, &mut conn);
        }
    }
    for i in 0..FILLER_LISTS {
        let mut f = vec![b"RPUSH".to_vec(), format!("filler:l:{i}").into_bytes()];
        f.extend(filler_list(i));
        frames.push(f);
    }
    for i in 0..FILLER_HASHES {
        let mut f = vec![b"HSET".to_vec(), format!("filler:h:{i}").into_bytes()];
        for (field, v) in filler_hash(i) {
            f.push(field);
            f.push(v);
        }
        frames.push(f);
    }
    flush(&mut frames, &mut conn);
}

/// Checks every filler key's value (their count is checked by INFO keyspace).
fn verify_filler(conn: &mut Conn) -> Result<(), String> {
    let io = |e: io::Error| format!("reading the filler: {e}");
    if conn
        .call_str(&["SELECT", &FILLER_DB.to_string()])
        .map_err(io)?
        != ok()
    {
        return Err("SELECT of the filler db failed".into());
    }
    let batches: Vec<usize> = (0..FILLER_STRINGS).step_by(1000).collect();
    for group in batches.chunks(20) {
        let frames: Vec<Vec<Vec<u8>>> = group
            .iter()
            .map(|&start| {
                let mut f = vec![b"MGET".to_vec()];
                f.extend(
                    (start..(start + 1000).min(FILLER_STRINGS))
                        .map(|i| format!("filler:s:{i}").into_bytes()),
                );
                f
            })
            .collect();
        for (&start, reply) in group.iter().zip(conn.pipeline(&frames).map_err(io)?) {
            let Resp::Array(Some(items)) = reply else {
                return Err(format!("MGET replied {reply:?}"));
            };
            for (j, item) in items.iter().enumerate() {
                let i = start + j;
                if *item != Resp::Bulk(Some(filler_string(i))) {
                    return Err(format!(
                        "filler:s:{i} is {item:?}, expected {:?}",
                        String::from_utf8_lossy(&filler_string(i))
                    ));
                }
            }
        }
    }
    let frames: Vec<Vec<Vec<u8>>> = (0..FILLER_LISTS)
        .map(|i| frame(&[b"LRANGE", format!("filler:l:{i}").as_bytes(), b"0", b"-1"]))
        .chain((0..FILLER_HASHES).map(|i| frame(&[b"HGETALL", format!("filler:h:{i}").as_bytes()])))
        .collect();
    let replies = conn.pipeline(&frames).map_err(io)?;
    for (i, r) in replies[..FILLER_LISTS].iter().enumerate() {
        if bulks(r)? != filler_list(i) {
            return Err(format!("filler:l:{i} differs from what was written"));
        }
    }
    for (i, r) in replies[FILLER_LISTS..].iter().enumerate() {
        let flat = bulks(r)?;
        let h: BTreeMap<_, _> = flat
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect();
        if h != filler_hash(i) || flat.len() != 2 * FILLER_HASH_FIELDS {
            return Err(format!("filler:h:{i} differs from what was written"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Rounds

/// A background job the harness can start before a kill.
#[derive(Clone, Copy, Debug)]
struct BgJob {
    command: &'static str,
    /// INFO persistence fields: 1 while it runs / 1 while scheduled / its
    /// last status.
    running: &'static str,
    scheduled: Option<&'static str>,
    status: &'static str,
}

const BGREWRITEAOF: BgJob = BgJob {
    command: "BGREWRITEAOF",
    running: "aof_rewrite_in_progress",
    scheduled: Some("aof_rewrite_scheduled"),
    status: "aof_last_bgrewrite_status",
};

const BGSAVE: BgJob = BgJob {
    command: "BGSAVE",
    running: "rdb_bgsave_in_progress",
    scheduled: None,
    status: "rdb_last_bgsave_status",
};

#[derive(Clone, Copy, Debug)]
enum Round {
    /// Kill a random `lo..=hi` milliseconds into the load.
    Plain { lo: u64, hi: u64 },
    /// Start the job 100–400 ms into the load, kill 0–50 ms later.
    During(BgJob),
    /// Start the job, let it finish under the load, kill 50–300 ms later.
    After(BgJob),
}

#[derive(Default)]
struct Stats {
    kills: usize,
    acked: usize,
    in_flight_applied: usize,
    in_flight_not_applied: usize,
    missing: usize,
    rounds_with_missing: usize,
    max_missing_span: Duration,
    job_running_at_kill: usize,
    job_done_before_kill: usize,
    job_completed_rounds: usize,
    loading_replies: usize,
    max_restart: Duration,
    total_restart: Duration,
    max_load: Duration,
}

struct Harness {
    tag: String,
    server: CrashServer,
    writers: Vec<Writer>,
    rng: Rng,
    durability: Durability,
    filler: bool,
    truncate_aof: u64,
    stats: Stats,
}

impl Harness {
    fn new(name: &str, fsync: &str, durability: Durability, filler: bool) -> Harness {
        let s = settings();
        let seed = s.seed
            ^ name
                .bytes()
                .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
        let spec = ServerSpec::new(s.target, fsync);
        let tag = format!("crash[{name} on {}]", spec.name);
        println!(
            "{tag}: seed {seed:#x} (FERRODIS_CRASH_SEED={:#x}), {} writers, appendfsync {fsync}",
            s.seed, s.clients
        );
        let mut server = CrashServer::new(spec, "crash");
        server.start();
        let writers = (0..s.clients).map(|i| Writer::new(i, seed)).collect();
        if filler {
            let t = Instant::now();
            fill(server.port);
            println!(
                "{tag}: wrote {} filler keys in {:?}",
                filler_keys(),
                t.elapsed()
            );
        }
        Harness {
            tag,
            server,
            writers,
            rng: Rng(seed),
            durability,
            filler,
            truncate_aof: s.truncate_aof,
            stats: Stats::default(),
        }
    }

    /// Drives the control side of a round until the moment of the kill.
    /// Returns a note for the round's report.
    fn lead_up(&mut self, round: Round) -> String {
        let port = self.server.port;
        let tag = self.tag.clone();
        let control = |rng: &mut Rng, job: BgJob| -> Conn {
            thread::sleep(rng.millis(100, 400));
            let mut conn = Conn::connect(port).expect("control connection");
            match conn.call_str(&[job.command]) {
                Ok(Resp::Simple(s)) if s.starts_with("Background") => {}
                Ok(Resp::Error(e)) if e.contains("already in progress") => {}
                other => panic!("{tag}: {} replied {other:?}", job.command),
            }
            conn
        };
        match round {
            Round::Plain { lo, hi } => {
                let wait = self.rng.millis(lo, hi);
                thread::sleep(wait);
                format!("killed {wait:?} into the load")
            }
            Round::During(job) => {
                let mut conn = control(&mut self.rng, job);
                let delay = self.rng.millis(0, 50);
                thread::sleep(delay);
                let running = info_field(&mut conn, "persistence", job.running)
                    .unwrap_or_else(|e| panic!("{}: {e}", self.tag));
                if running == "1" {
                    self.stats.job_running_at_kill += 1;
                    format!("killed {delay:?} after {}, while it ran", job.command)
                } else {
                    self.stats.job_done_before_kill += 1;
                    format!("killed {delay:?} after {}, which had finished", job.command)
                }
            }
            Round::After(job) => {
                let mut conn = control(&mut self.rng, job);
                let began = Instant::now();
                loop {
                    let field = |conn: &mut Conn, f: &str| {
                        info_field(conn, "persistence", f)
                            .unwrap_or_else(|e| panic!("{}: {e}", self.tag))
                    };
                    let busy = field(&mut conn, job.running) == "1"
                        || job.scheduled.is_some_and(|f| field(&mut conn, f) == "1");
                    if !busy {
                        let status = field(&mut conn, job.status);
                        assert_eq!(
                            status, "ok",
                            "{}: {} finished with status {status}",
                            self.tag, job.command
                        );
                        break;
                    }
                    assert!(
                        began.elapsed() < Duration::from_secs(60),
                        "{}: {} did not finish within 60 s",
                        self.tag,
                        job.command
                    );
                    thread::sleep(Duration::from_millis(10));
                }
                let took = began.elapsed();
                let delay = self.rng.millis(50, 300);
                thread::sleep(delay);
                self.stats.job_completed_rounds += 1;
                format!(
                    "{} finished in {took:?} under the load, killed {delay:?} later",
                    job.command
                )
            }
        }
    }

    fn round(&mut self, index: usize, total: usize, round: Round) {
        let port = self.server.port;
        let starts: Vec<State> = self.writers.iter().map(|w| w.state.clone()).collect();
        let killed = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = std::mem::take(&mut self.writers)
            .into_iter()
            .map(|w| {
                let killed = Arc::clone(&killed);
                thread::spawn(move || run_writer(port, w, &killed))
            })
            .collect();
        let load_began = Instant::now();
        let note = self.lead_up(round);
        killed.store(true, Ordering::SeqCst);
        let kill_at = Instant::now();
        self.server.kill9();
        self.stats.kills += 1;
        self.stats.max_load = self.stats.max_load.max(kill_at - load_began);
        let finished: Vec<Finished> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        let failures: Vec<&String> = finished.iter().filter_map(|f| f.failure.as_ref()).collect();
        assert!(
            failures.is_empty(),
            "{} round {}/{total}: failures under load before the kill:\n{}",
            self.tag,
            index + 1,
            failures
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );

        let mut note = note;
        if self.truncate_aof > 0 {
            let (file, from, to) = truncate_newest_incr(&self.server.data, self.truncate_aof);
            let name = file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            note.push_str(&format!(
                " (fault injected: {name} cut from {from} to {to} bytes)"
            ));
        }
        let (restart, loading) = self.server.start();
        self.stats.loading_replies += loading;
        self.stats.max_restart = self.stats.max_restart.max(restart);
        self.stats.total_restart += restart;

        let mut conn = Conn::connect(port).expect("connect after restart");
        let mut errors = Vec::new();
        let mut expected: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        let (mut acked, mut applied, mut not_applied, mut missing) = (0, 0, 0, 0);
        let mut span = Duration::ZERO;
        let mut writers = Vec::new();
        for (f, start) in finished.into_iter().zip(starts) {
            let Finished {
                mut writer, log, ..
            } = f;
            let verdict = read_state(&mut conn, writer.id, writer.db).and_then(|restored| {
                check_client(writer.id, &start, &log, &restored, kill_at, self.durability)
            });
            match verdict {
                Ok(v) => {
                    acked += v.acked;
                    if v.in_flight {
                        if v.in_flight_applied {
                            applied += 1;
                        } else {
                            not_applied += 1;
                        }
                    }
                    missing += v.missing;
                    span = span.max(v.missing_span);
                    writer.state = v.state;
                }
                Err(e) => errors.push(format!("writer {} (db {}): {e}", writer.id, writer.db)),
            }
            let e = expected.entry(writer.db).or_default();
            e.0 += writer.state.len();
            e.1 += writer
                .state
                .values()
                .filter(|x| x.expires.is_some())
                .count();
            writers.push(writer);
        }
        if self.filler {
            expected.insert(FILLER_DB, (filler_keys(), 0));
            if let Err(e) = verify_filler(&mut conn) {
                errors.push(format!("filler: {e}"));
            }
        }
        // The key counts are only meaningful once every writer's keys passed.
        if errors.is_empty() {
            expected.retain(|_, v| v.0 > 0);
            match keyspace(&mut conn) {
                Ok(found) if found == expected => {}
                Ok(found) => errors.push(format!(
                    "INFO keyspace (db → (keys, expires)) is {found:?}, the model says {expected:?}: keys lost, added or TTLs changed"
                )),
                Err(e) => errors.push(e),
            }
        }
        assert!(
            errors.is_empty(),
            "{} round {}/{total} ({note}; restarted in {restart:?}): the restarted server's data is wrong:\n{}\nserver log tail:\n{}",
            self.tag,
            index + 1,
            errors.join("\n"),
            self.server.log_tail()
        );
        self.writers = writers;
        let s = &mut self.stats;
        s.acked += acked;
        s.in_flight_applied += applied;
        s.in_flight_not_applied += not_applied;
        s.missing += missing;
        if missing > 0 {
            s.rounds_with_missing += 1;
            s.max_missing_span = s.max_missing_span.max(span);
        }
        println!(
            "{} round {}/{total}: {note}; {acked} acknowledged, in flight {applied} applied / {not_applied} not, \
             {missing} acknowledged missing{}; restart {restart:?} ({loading} LOADING)",
            self.tag,
            index + 1,
            if missing > 0 { format!(" (oldest {span:?} before the kill)") } else { String::new() },
        );
    }

    fn report(&self, wall: Duration) {
        let s = &self.stats;
        println!(
            "{} SUMMARY: kills {}, acknowledged requests {}, in flight at kill {} applied / {} not applied, \
             acknowledged missing {} in {} rounds (max span {:?}), background job running at kill {} / finished before kill {} / \
             completed rounds {}, restarts max {:?} avg {:?}, LOADING replies {}, longest load {:?}, wall {:?}",
            self.tag,
            s.kills,
            s.acked,
            s.in_flight_applied,
            s.in_flight_not_applied,
            s.missing,
            s.rounds_with_missing,
            s.max_missing_span,
            s.job_running_at_kill,
            s.job_done_before_kill,
            s.job_completed_rounds,
            s.max_restart,
            s.total_restart / s.kills.max(1) as u32,
            s.loading_replies,
            s.max_load,
            wall
        );
    }
}

fn kills(default: usize) -> usize {
    settings().kills.unwrap_or(default)
}

/// The rounds of a background-job test: kills while the job runs, and
/// every fourth round (at least one) a kill after it finished.
fn job_rounds(job: BgJob, n: usize) -> Vec<Round> {
    (0..n)
        .map(|i| {
            if (i + 1) % 4 == 0 || (n < 4 && i == n - 1 && n > 1) {
                Round::After(job)
            } else {
                Round::During(job)
            }
        })
        .collect()
}

fn run(name: &str, fsync: &str, durability: Durability, filler: bool, rounds: &[Round]) -> Stats {
    let began = Instant::now();
    let mut h = Harness::new(name, fsync, durability, filler);
    for (i, &r) in rounds.iter().enumerate() {
        h.round(i, rounds.len(), r);
    }
    h.report(began.elapsed());
    assert!(h.stats.acked > 0, "{}: no request was acknowledged", h.tag);
    std::mem::take(&mut h.stats)
}

#[test]
fn appendfsync_always_keeps_every_acknowledged_write_across_sigkill() {
    let rounds = vec![Round::Plain { lo: 200, hi: 1500 }; kills(6)];
    let s = run("always", "always", Durability::Always, false, &rounds);
    assert_eq!(s.missing, 0);
    assert_eq!(s.kills, rounds.len());
}

#[test]
fn appendfsync_everysec_loses_at_most_the_last_seconds_across_sigkill() {
    // Longer rounds than the window, so losing writes older than the
    // window can happen, and fails.
    let window = EVERYSEC_WINDOW.as_millis() as u64;
    let rounds = vec![
        Round::Plain {
            lo: window + 500,
            hi: window + 2000
        };
        kills(4)
    ];
    let s = run(
        "everysec",
        "everysec",
        Durability::Within(EVERYSEC_WINDOW),
        false,
        &rounds,
    );
    assert!(s.max_missing_span <= EVERYSEC_WINDOW);
    assert_eq!(s.kills, rounds.len());
}

/// Kills while `job` runs (and once after it finished), under `always`;
/// at least one kill must land while the job is running.
fn kills_around_job(name: &str, job: BgJob, default_kills: usize) {
    let rounds = job_rounds(job, kills(default_kills));
    let s = run(name, "always", Durability::Always, true, &rounds);
    let during = rounds
        .iter()
        .filter(|r| matches!(r, Round::During(_)))
        .count();
    assert!(
        during == 0 || s.job_running_at_kill > 0,
        "no kill landed while {} ran ({} finished first): the filler is too small to test this",
        job.command,
        s.job_done_before_kill
    );
}

#[test]
fn sigkill_during_bgrewriteaof_keeps_the_data() {
    kills_around_job("bgrewriteaof", BGREWRITEAOF, 4);
}

#[test]
fn sigkill_during_bgsave_keeps_the_data() {
    kills_around_job("bgsave", BGSAVE, 3);
}

// ---------------------------------------------------------------------------
// The checker's own tests: synthetic histories it must accept or reject

/// A writer's synthetic round: `n` requests acknowledged 1 ms apart (the
/// last one in flight if `in_flight`), the model after each prefix, and the
/// instant the "kill" happened (1 ms after the last acknowledgement).
fn synthetic(n: usize, in_flight: bool) -> (Vec<Logged>, Vec<State>, Instant) {
    let base = Instant::now();
    let mut w = Writer::new(3, 42);
    let mut states = vec![w.state.clone()];
    let mut log = Vec::new();
    for i in 0..n {
        let op = w.next_op();
        let at_ms = 1_000_000 + i as u64;
        let acked = !(in_flight && i == n - 1);
        op.apply(w.id, &mut w.state, at_ms);
        states.push(w.state.clone());
        log.push(Logged {
            op,
            sent_ms: at_ms,
            ack: acked.then(|| base + Duration::from_millis(i as u64)),
            ack_ms: at_ms,
        });
    }
    (log, states, base + Duration::from_millis(n as u64))
}

#[test]
fn checker_accepts_the_acknowledged_state_with_or_without_the_request_in_flight() {
    let (log, states, kill) = synthetic(400, true);
    let start = &states[0];
    // Every request changes what a restart reads back, so which ones
    // survived is always visible.
    for (i, pair) in states.windows(2).enumerate() {
        let changed = NAMES.iter().any(|n| !same(pair[0].get(n), pair[1].get(n)));
        assert!(
            changed,
            "request {i} ({:?}) changes nothing visible",
            log[i].op
        );
    }
    let v = check_client(3, start, &log, &states[399], kill, Durability::Always)
        .expect("acknowledged state");
    assert_eq!(
        (v.acked, v.in_flight, v.in_flight_applied, v.missing),
        (399, true, false, 0)
    );
    assert_eq!(v.state, states[399]);
    let v = check_client(3, start, &log, &states[400], kill, Durability::Always)
        .expect("with the request in flight");
    assert!(v.in_flight_applied);
    let err = check_client(3, start, &log, &states[398], kill, Durability::Always).unwrap_err();
    assert!(err.contains("lost acknowledged writes"), "{err}");
    let err = check_client(3, start, &log, &states[0], kill, Durability::Always).unwrap_err();
    assert!(
        err.contains("399 acknowledged requests are missing"),
        "{err}"
    );
}

#[test]
fn checker_allows_everysec_to_lose_only_a_recent_suffix() {
    let (log, states, kill) = synthetic(400, false);
    let start = &states[0];
    let window = Durability::Within(Duration::from_millis(100));
    // Requests 350..400 were acknowledged 50..1 ms before the kill.
    let v = check_client(3, start, &log, &states[350], kill, window).expect("recent suffix lost");
    assert_eq!(v.missing, 50);
    assert_eq!(v.missing_span, Duration::from_millis(50));
    // Requests from 200 on: the oldest 200 ms before the kill.
    let err = check_client(3, start, &log, &states[200], kill, window).unwrap_err();
    assert!(
        err.contains("200 acknowledged requests are missing"),
        "{err}"
    );
}

#[test]
fn checker_rejects_holes_half_transactions_foreign_values_and_ttl_changes() {
    let (log, states, kill) = synthetic(400, false);
    let start = &states[0];
    let lenient = Durability::Within(Duration::from_secs(3600));
    let last = &states[400];
    let reject = |restored: &State, what: &str| {
        let err = check_client(3, start, &log, restored, kill, lenient)
            .expect_err(&format!("checker accepted {what}"));
        assert!(!err.is_empty());
        err
    };

    // A hole: an early push lost while everything later survived.
    let j = (0..300)
        .rev()
        .find(|&i| matches!(log[i].op, Op::Push(_)))
        .expect("a push in the history");
    let mut hole = last.clone();
    let Some(Entry {
        val: Val::List(l), ..
    }) = hole.get_mut("list")
    else {
        panic!("list in the model");
    };
    let Op::Push(seq) = log[j].op else {
        unreachable!()
    };
    let before = l.len();
    l.retain(|x| *x != seq.to_string().into_bytes());
    assert_eq!(
        l.len() + 1,
        before,
        "the seed's push must still be in the list"
    );
    reject(&hole, "a hole in the list");
    // The same on a key no later request touched: the last INCR lost while
    // later requests on other keys survived.
    let j = (0..400)
        .rev()
        .find(|&i| matches!(log[i].op, Op::Incr))
        .expect("an INCR in the history");
    assert!(j < 399, "the seed's history must go on after its last INCR");
    let mut hole = last.clone();
    hole.insert("ctr", states[j].get("ctr").cloned().expect("ctr"));
    reject(&hole, "a lost INCR before later requests");

    // A half-applied transaction: the last one's "a" without its "b".
    let t = (0..400)
        .rev()
        .find(|&i| matches!(log[i].op, Op::Txn { .. }))
        .expect("a transaction in the history");
    let mut half = states[t + 1].clone();
    match states[t].get("a") {
        Some(a) => half.insert("a", a.clone()),
        None => half.remove("a"),
    };
    let err = reject(&half, "a half-applied transaction");
    assert!(err.contains("half-applied transaction"), "{err}");
    let mut half = states[t + 1].clone();
    match states[t].get("txn") {
        Some(x) => half.insert("txn", x.clone()),
        None => half.remove("txn"),
    };
    let err = reject(&half, "a transaction without its marker");
    assert!(err.contains("half-applied transaction"), "{err}");

    // A value nobody wrote, and one of another writer.
    let mut foreign = last.clone();
    hash_mut(&mut foreign, "hash").insert(b"f1".to_vec(), value(4, 7));
    reject(&foreign, "another writer's value");
    let mut extra = last.clone();
    extra.insert(
        "tmp",
        Entry {
            val: Val::Str(b"never written".to_vec()),
            expires: None,
        },
    );
    if last.get("tmp") != extra.get("tmp") {
        reject(&extra, "a value never written");
    }

    // TTLs: lost, or moved by more than the tolerance.
    let mut lost = last.clone();
    lost.get_mut("ttl0").expect("ttl0").expires = None;
    reject(&lost, "a lost TTL");
    let mut moved = last.clone();
    let e = moved.get_mut("ttl0").expect("ttl0");
    e.expires = e.expires.map(|d| d + 5_000);
    reject(&moved, "a TTL 5 s later than set");
    let mut slight = last.clone();
    let e = slight.get_mut("ttl0").expect("ttl0");
    e.expires = e.expires.map(|d| d + 200);
    check_client(3, start, &log, &slight, kill, lenient).expect("a TTL within the tolerance");

    // A key lost.
    let mut gained = last.clone();
    gained.remove("ctr");
    reject(&gained, "a lost key");
}

#[test]
fn resp_reader_parses_nested_replies_and_reports_a_cut_reply() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
        s.write_all(b"*3\r\n:5\r\n$3\r\na\r\n\r\n*-1\r\n-ERR x\r\n$5\r\nab")
            .expect("write");
    });
    let mut c = Conn::connect(port).expect("connect");
    assert_eq!(
        c.call_str(&["X"]).expect("array"),
        Resp::Array(Some(vec![
            Resp::Int(5),
            Resp::Bulk(Some(b"a\r\n".to_vec())),
            Resp::Array(None)
        ]))
    );
    assert_eq!(c.read().expect("error"), Resp::Error("ERR x".into()));
    server.join().expect("server thread");
    assert!(c.read().is_err(), "a cut bulk must be an error");
}
