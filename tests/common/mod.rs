//! Shared test harness: start ferrodis and redis-server on free loopback
//! ports, talk raw RESP to them, and compare their replies byte for byte.
//!
//! Tests that compare against Redis need `redis-server` on PATH; when it is
//! missing they fail loudly (the test command installs it), never skip.
//! `FERRODIS_REDIS_SERVER=/path/to/redis-server` compares against another
//! build instead (see [`redis_server_bin`]).

#![allow(dead_code)]

pub mod dataset;
pub mod keyevents;
pub mod rng;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process started for a test; killed on drop.
pub struct ServerProcess {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    _dir: TempDir,
}

impl ServerProcess {
    /// The server's process id (to read its /proc entries).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server process a test spawned itself (in a directory the test keeps,
/// or with a config file); killed on drop.
pub struct SpawnedServer {
    /// The process.
    pub child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// Creates a fresh directory under the system temp dir.
    pub fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "ferrodis-test-{}-{}-{}",
            tag,
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Waits until the server on `port` answers PING (panics if `child` exits
/// or 20 s pass).
pub fn wait_ready(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited during start-up: {status}");
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            if s.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok() {
                let mut buf = [0u8; 64];
                if let Ok(n) = s.read(&mut buf) {
                    if buf[..n].starts_with(b"+PONG") {
                        return;
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not answer PING on port {port} within 20 s");
}

/// Path of the ferrodis binary built for these tests.
pub fn ferrodis_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ferrodis-server")
}

/// The ferrodis command line every test server starts from: `port` on
/// loopback, no save rules, run in a directory of its own (so a SAVE or an
/// AOF of one test is never loaded by another's server).
pub fn ferrodis_command(port: u16) -> Command {
    let mut cmd = Command::new(ferrodis_bin());
    let scratch = std::env::temp_dir().join(format!("ferrodis-test-{}-{port}", std::process::id()));
    let _ = std::fs::create_dir_all(&scratch);
    cmd.current_dir(scratch);
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
    ]);
    cmd
}

/// Starts ferrodis with `extra` directives (`["--hz", "100"]`).
pub fn start_ferrodis(extra: &[&str]) -> ServerProcess {
    let port = free_port();
    let dir = TempDir::new("ferrodis");
    let mut cmd = ferrodis_command(port);
    cmd.arg("--dir")
        .arg(&dir.0)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn ferrodis-server");
    wait_ready(port, &mut child, "ferrodis-server");
    ServerProcess {
        child,
        port,
        _dir: dir,
    }
}

/// The redis-server binary the differential tests compare against: the
/// `FERRODIS_REDIS_SERVER` environment variable if set (a path, for a build
/// of another Redis version), else `redis-server` from PATH (Debian's 7.0.15,
/// the reference of the default suite).
pub fn redis_server_bin() -> String {
    std::env::var("FERRODIS_REDIS_SERVER")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "redis-server".to_string())
}

/// Starts ferrodis with the config file `path` (first, as redis-server
/// takes it) and then `extra` flags, on a free loopback port. It runs in
/// the file's directory, so a file without `dir` neither loads nor leaves
/// a dump.rdb where other tests run.
pub fn start_with_file(path: &std::path::Path, extra: &[&str]) -> SpawnedServer {
    let port = free_port();
    let mut child = Command::new(ferrodis_bin())
        .current_dir(path.parent().expect("a config file in a directory"))
        .arg(path)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferrodis-server");
    // Only the port is awaited: the file may set a password, which PING
    // would need.
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("ferrodis-server exited during start-up: {status}");
        }
        assert!(Instant::now() < deadline, "ferrodis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    SpawnedServer { child, port }
}

/// Runs ferrodis-server with `args` expecting it to refuse to start (exit
/// status 1 within 10 s); returns what it printed.
pub fn failed_start(args: &[&str]) -> String {
    let mut child = Command::new(ferrodis_bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferrodis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert_eq!(status.code(), Some(1), "{args:?}: exit status {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ferrodis-server {args:?} kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The redis-server command line test servers start from: `port` on
/// loopback, no save rules, protected mode off.
pub fn redis_command(port: u16) -> Command {
    let mut cmd = Command::new(redis_server_bin());
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
    ])
    .args(["--protected-mode", "no"]);
    cmd
}

/// Starts redis-server ([`redis_server_bin`]) with `extra` directives.
/// Panics with a clear message if it cannot be started.
pub fn start_redis(extra: &[&str]) -> ServerProcess {
    let port = free_port();
    let dir = TempDir::new("redis");
    let mut cmd = redis_command(port);
    cmd.args(["--appendonly", "no"])
        .arg("--dir")
        .arg(&dir.0)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!(
            "{} is required for differential tests (apt-get install redis-server, \
             or set FERRODIS_REDIS_SERVER to a redis-server binary): {e}",
            redis_server_bin()
        )
    });
    wait_ready(port, &mut child, "redis-server");
    ServerProcess {
        child,
        port,
        _dir: dir,
    }
}

/// Stands for the 64 KB element in [`assert_huge_random_count_is_bounded`].
pub const BIG_ELEMENT: &str = "<64 KB element>";

/// Checks that a random-pick command asked for a huge negative count
/// (repeats allowed, so the reply could grow without end) stops at the
/// client's output limit with Redis's error instead: `add` stores one
/// 64 KB element under `key` (the argument [`BIG_ELEMENT`] stands for it),
/// so the limit comes after a few thousand picks. Then the server still serves other clients, with their data
/// intact; returns such a client and the server for further checks.
pub fn assert_huge_random_count_is_bounded(
    add: &[&str],
    pick: &str,
    key: &str,
) -> (ServerProcess, RawClient) {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    let element = "e".repeat(64 * 1024);
    let fill: Vec<&str> = add
        .iter()
        .map(|&a| {
            if a == BIG_ELEMENT {
                element.as_str()
            } else {
                a
            }
        })
        .collect();
    c.cmd(&fill);
    c.cmd(&["SET", "keep", "me"]);
    let reply = c.cmd(&[pick, key, "-9223372036854775807"]);
    assert!(
        String::from_utf8_lossy(&reply)
            .starts_with("-ERR reply exceeds the client output buffer limit"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    let mut other = RawClient::connect(server.port);
    assert_eq!(other.cmd(&["GET", "keep"]), b"$2\r\nme\r\n");
    (server, other)
}

/// A minimal RESP client that returns each reply as its raw bytes.
pub struct RawClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RawClient {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> RawClient {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        RawClient {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    /// Encodes `args` as a RESP array.
    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// Sends one command and returns its raw reply.
    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd_bytes(&args)
    }

    /// Sends one binary-safe command and returns its raw reply.
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send_raw(&Self::encode(args));
        self.read_reply()
    }

    /// Sends one command and returns its reply as lossy text (for asserts).
    pub fn text(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd(args)).into_owned()
    }

    /// Reads one complete reply (any RESP2/RESP3 type) as raw bytes.
    /// Returns an empty vector if the server closed the connection.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_into(&mut out);
        out
    }

    fn read_line(&mut self, out: &mut Vec<u8>) -> Option<Vec<u8>> {
        let mut line = Vec::new();
        let n = self.reader.read_until(b'\n', &mut line).ok()?;
        if n == 0 {
            return None;
        }
        out.extend_from_slice(&line);
        Some(line)
    }

    fn read_into(&mut self, out: &mut Vec<u8>) {
        let Some(line) = self.read_line(out) else {
            return;
        };
        let body = String::from_utf8_lossy(&line[1..line.len().saturating_sub(2)]).into_owned();
        let n: i64 = body.parse().unwrap_or(0);
        match line[0] {
            b'$' | b'=' | b'!' if n >= 0 => {
                let mut data = vec![0u8; n as usize + 2];
                self.reader.read_exact(&mut data).expect("bulk payload");
                out.extend_from_slice(&data);
            }
            b'*' | b'~' | b'>' if n > 0 => {
                for _ in 0..n {
                    self.read_into(out);
                }
            }
            b'%' | b'|' if n > 0 => {
                for _ in 0..2 * n {
                    self.read_into(out);
                }
                if line[0] == b'|' {
                    // An attribute precedes the real reply.
                    self.read_into(out);
                }
            }
            _ => {}
        }
    }
}

/// The same client session against ferrodis and Redis at once.
pub struct Pair {
    /// Client of ferrodis.
    pub ours: RawClient,
    /// Client of redis-server.
    pub redis: RawClient,
    /// Commands compared so far.
    pub compared: usize,
}

impl Pair {
    /// Connects to both servers, with protocol `resp` (2 or 3).
    pub fn connect(ours: &ServerProcess, redis: &ServerProcess, resp: u8) -> Pair {
        let mut pair = Pair {
            ours: RawClient::connect(ours.port),
            redis: RawClient::connect(redis.port),
            compared: 0,
        };
        if resp == 3 {
            pair.ours.cmd(&["HELLO", "3"]);
            pair.redis.cmd(&["HELLO", "3"]);
        }
        pair
    }

    /// Sends `args` to both and asserts the replies are byte-identical.
    pub fn same(&mut self, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.same_bytes(&args)
    }

    /// Binary form of [`Pair::same`].
    pub fn same_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let ours = self.ours.cmd_bytes(args);
        let theirs = self.redis.cmd_bytes(args);
        self.compared += 1;
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "reply differs from Redis for {:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
        ours
    }

    /// Sends `args` to both and returns both replies without comparing
    /// (for replies that legitimately differ, such as random choices).
    pub fn both(&mut self, args: &[&str]) -> (Vec<u8>, Vec<u8>) {
        (self.ours.cmd(args), self.redis.cmd(args))
    }

    /// Runs a script of commands, one per line, words split like redis-cli
    /// (quotes allowed), comparing every reply.
    pub fn script(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = split_words(line);
            let refs: Vec<&[u8]> = words.iter().map(|w| w.as_slice()).collect();
            self.same_bytes(&refs);
        }
    }
}

/// One element of a reply read flat: a line with its type byte (`*`, `:`,
/// `+`, `_`, ...; the byte is left out of the text), or a bulk string's
/// payload (`$`, `None` for the RESP2 null bulk).
pub enum Token<'a> {
    Line(u8, &'a [u8]),
    Bulk(Option<&'a [u8]>),
}

/// Reads a reply as a flat sequence of lines and bulk payloads, ignoring
/// the aggregate structure.
pub fn tokens(reply: &[u8]) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < reply.len() {
        let end = i + reply[i..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("line end");
        let line = &reply[i..end];
        i = end + 2;
        if line[0] == b'$' {
            let n: i64 = std::str::from_utf8(&line[1..]).unwrap().parse().unwrap();
            if n < 0 {
                out.push(Token::Bulk(None));
            } else {
                out.push(Token::Bulk(Some(&reply[i..i + n as usize])));
                i += n as usize + 2;
            }
        } else {
            out.push(Token::Line(line[0], &line[1..]));
        }
    }
    out
}

/// Splits an aggregate reply made of one header and bulk strings into the
/// header line and its bulk strings (and any other non-aggregate lines).
pub fn parts(reply: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut header = Vec::new();
    let mut lines = Vec::new();
    for token in tokens(reply) {
        match token {
            Token::Bulk(payload) => lines.push(payload.unwrap_or_default().to_vec()),
            Token::Line(kind, text) if header.is_empty() => header = [&[kind][..], text].concat(),
            Token::Line(kind, text) if !b"*~%".contains(&kind) => {
                lines.push([&[kind][..], text].concat())
            }
            Token::Line(..) => {}
        }
    }
    (header, lines)
}

/// Sends `args` to both servers and compares the replies as unordered
/// collections (for replies listing a hash table's members in its order):
/// same header (type and length), same members.
pub fn same_members(p: &mut Pair, args: &[&str]) -> Vec<Vec<u8>> {
    let (ours, theirs) = p.both(args);
    let (h1, mut m1) = parts(&ours);
    let (h2, mut m2) = parts(&theirs);
    m1.sort();
    m2.sort();
    assert_eq!(
        (String::from_utf8_lossy(&h1), &m1),
        (String::from_utf8_lossy(&h2), &m2),
        "members differ from Redis for {args:?}: {:?} vs {:?}",
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
    p.compared += 1;
    m1
}

/// Runs `script` on small sorted sets and again with every set in the
/// large encoding (zset-max-listpack-entries 0), so both encodings answer
/// every line; the default comes back at the end.
pub fn both_zset_encodings(p: &mut Pair, script: &str) {
    for entries in ["128", "0"] {
        p.same(&["FLUSHALL"]);
        p.same(&["CONFIG", "SET", "zset-max-listpack-entries", entries]);
        p.script(script);
    }
    p.same(&["CONFIG", "SET", "zset-max-listpack-entries", "128"]);
}

/// Splits a line into words with double-quote support (`"a b"`, `""`,
/// `\n`, `\xHH`).
pub fn split_words(line: &str) -> Vec<Vec<u8>> {
    let bytes = line.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let mut w = Vec::new();
        if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                    match bytes[i] {
                        b'n' => w.push(b'\n'),
                        b'r' => w.push(b'\r'),
                        b't' => w.push(b'\t'),
                        b'x' if i + 2 < bytes.len() => {
                            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                            w.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                            i += 2;
                        }
                        c => w.push(c),
                    }
                } else {
                    w.push(bytes[i]);
                }
                i += 1;
            }
            i += 1;
        } else {
            while i < bytes.len() && bytes[i] != b' ' {
                w.push(bytes[i]);
                i += 1;
            }
        }
        words.push(w);
    }
    words
}

/// Starts both servers once per test and runs `f` over RESP2 and RESP3,
/// flushing both between the two runs. Returns the number of commands
/// compared.
pub fn differential(f: impl Fn(&mut Pair)) -> usize {
    differential_between(&start_ferrodis(&[]), &start_redis(&[]), f)
}

/// [`differential`] on servers the caller started.
pub fn differential_between(
    ours: &ServerProcess,
    redis: &ServerProcess,
    f: impl Fn(&mut Pair),
) -> usize {
    let mut total = 0;
    for resp in [2, 3] {
        let mut pair = Pair::connect(ours, redis, resp);
        pair.same(&["FLUSHALL"]);
        f(&mut pair);
        total += pair.compared;
    }
    total
}

/// One piece of what a connection receives, for order comparisons: a push
/// frame (whole), or one line of an ordinary reply (with a bulk's data).
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// A RESP3 push, as lossy text of its raw bytes.
    Push(String),
    /// One line of a reply (and the data of a bulk line).
    Line(String),
}

impl RawClient {
    /// Reads one top-level frame as [`Piece`]s: a push anywhere, even
    /// inside an aggregate reply (where Redis writes a client's own
    /// notifications during EXEC), is taken out whole and does not count
    /// as an element. Returns false if the connection closed.
    pub fn read_pieces(&mut self, pieces: &mut Vec<Piece>) -> bool {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(n) if n > 0 => {}
            _ => return false,
        }
        if line[0] == b'>' {
            let mut raw = line.clone();
            let n: usize = String::from_utf8_lossy(&line[1..line.len() - 2])
                .parse()
                .unwrap_or(0);
            for _ in 0..n {
                self.read_into(&mut raw);
            }
            pieces.push(Piece::Push(String::from_utf8_lossy(&raw).into_owned()));
            return true;
        }
        let body = String::from_utf8_lossy(&line[1..line.len().saturating_sub(2)]).into_owned();
        let n: i64 = body.parse().unwrap_or(0);
        let mut text = String::from_utf8_lossy(&line).into_owned();
        match line[0] {
            b'$' | b'=' | b'!' if n >= 0 => {
                let mut data = vec![0u8; n as usize + 2];
                self.reader.read_exact(&mut data).expect("bulk payload");
                text.push_str(&String::from_utf8_lossy(&data));
                pieces.push(Piece::Line(text));
            }
            b'*' | b'~' | b'%' | b'|' if n > 0 => {
                pieces.push(Piece::Line(text));
                let elements = if matches!(line[0], b'%' | b'|') {
                    2 * n
                } else {
                    n
                };
                let mut read = 0;
                while read < elements {
                    let before = pieces.len();
                    if !self.read_pieces(pieces) {
                        return false;
                    }
                    if !matches!(pieces[before..].first(), Some(Piece::Push(_))) {
                        read += 1;
                    }
                }
            }
            _ => pieces.push(Piece::Line(text)),
        }
        true
    }
}
