//! `client-output-buffer-limit` enforced as Redis 7.0 enforces it, the
//! output fields of CLIENT LIST, and MONITOR on the outbound queues: each
//! case runs against ferrodis and Debian's redis-server 7.0.15 (which must
//! be installed: the test fails when it is not), both logging to a file.

mod common;

use common::{
    failed_start, ferrodis_command, free_port, redis_command, wait_ready, RawClient, SpawnedServer,
    TempDir,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which server a case runs against.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Ferrodis,
    Redis,
}

/// A server logging to `dir/log`; killed when dropped.
struct Logged {
    _server: SpawnedServer,
    port: u16,
    dir: TempDir,
    kind: Kind,
}

impl Logged {
    fn start(kind: Kind, extra: &[&str]) -> Logged {
        let dir = TempDir::new("obuf");
        let port = free_port();
        let mut cmd = match kind {
            Kind::Ferrodis => ferrodis_command(port),
            Kind::Redis => {
                let mut c = redis_command(port);
                c.args(["--appendonly", "no"]);
                c
            }
        };
        cmd.arg("--dir")
            .arg(&dir.0)
            .arg("--logfile")
            .arg(dir.0.join("log"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!("{kind:?} is required for this test (apt-get install redis-server): {e}")
        });
        wait_ready(port, &mut child, &format!("{kind:?}"));
        Logged {
            _server: SpawnedServer { child, port },
            port,
            dir,
            kind,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("log")).unwrap_or_default()
    }

    /// The log lines that report a client closed by the output limits.
    fn limit_lines(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("for overcoming of output buffer limits."))
            .map(str::to_string)
            .collect()
    }
}

/// Both servers, started with the same directives.
fn both(extra: &[&str]) -> [Logged; 2] {
    [
        Logged::start(Kind::Ferrodis, extra),
        Logged::start(Kind::Redis, extra),
    ]
}

/// The CLIENT LIST line of client `id` as field → value pairs, if listed.
fn client_fields(c: &mut RawClient, id: &str) -> Option<Vec<(String, String)>> {
    let list = c.text(&["CLIENT", "LIST"]);
    list.lines()
        .find(|l| l.starts_with(&format!("id={id} ")))
        .map(|l| {
            l.split(' ')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
}

/// A client's id (CLIENT ID).
fn id_of(c: &mut RawClient) -> String {
    c.text(&["CLIENT", "ID"])
        .trim_start_matches(':')
        .trim_end()
        .to_string()
}

/// Polls until `cond` holds or `within` passes; true if it held.
fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A connection that sends requests and does not read its replies (until
/// a test says so), with a small receive buffer so that the server's output
/// backs up early. The buffer is sized before connecting: shrunk later, the
/// window it advertises falls below a loopback segment and the transfer
/// stalls once the client does read.
fn stalled_client(port: u16) -> TcpStream {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor created here, whose
    // ownership passes to the TcpStream; the option and address are live
    // values whose sizes are passed with them.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let size: i32 = 4096;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        TcpStream::from_raw_fd(fd)
    }
}

fn send(s: &mut TcpStream, args: &[&str]) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    s.write_all(&RawClient::encode(&args)).expect("send");
}

/// The stalled client's id: asked before it stops reading.
fn stalled_id(s: &mut TcpStream) -> String {
    send(s, &["CLIENT", "ID"]);
    let mut reader = BufReader::new(s.try_clone().expect("clone"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("CLIENT ID reply");
    line.trim_start_matches(':').trim_end().to_string()
}

const VALUE_LEN: usize = 100_000;

/// Loads `big` (100 kB) and a few small keys through `c`.
fn load(c: &mut RawClient) {
    let big = "x".repeat(VALUE_LEN);
    assert_eq!(c.cmd(&["SET", "big", &big]), b"+OK\r\n");
    for i in 0..10 {
        assert_eq!(
            c.cmd(&["SET", &format!("k{i}"), &format!("v{i}")]),
            b"+OK\r\n"
        );
    }
}

/// Nothing of the other clients' data was lost, and they still get answers.
fn assert_data_intact(c: &mut RawClient) {
    assert_eq!(c.text(&["DBSIZE"]), ":11\r\n");
    let got = c.cmd(&["GET", "big"]);
    assert_eq!(got.len(), VALUE_LEN + format!("${VALUE_LEN}\r\n\r\n").len());
    for i in 0..10 {
        assert_eq!(
            c.text(&["GET", &format!("k{i}")]),
            format!("$2\r\nv{i}\r\n")
        );
    }
}

/// A reader pipelining big GETs the whole time is never disturbed.
fn reader_pipelining(port: u16, rounds: usize) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut c = RawClient::connect(port);
        for _ in 0..rounds {
            let mut batch = Vec::new();
            for _ in 0..8 {
                batch.extend(RawClient::encode(&[b"GET", b"big"]));
            }
            c.send_raw(&batch);
            for _ in 0..8 {
                assert_eq!(
                    c.read_reply().len(),
                    VALUE_LEN + 11,
                    "a reader was disturbed"
                );
            }
        }
    })
}

#[test]
fn a_client_pipelining_big_replies_without_reading_is_closed_at_the_normal_hard_limit() {
    for server in both(&[]) {
        let kind = server.kind;
        let mut admin = RawClient::connect(server.port);
        load(&mut admin);
        assert_eq!(
            admin.cmd(&[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "normal 1mb 0 0"
            ]),
            b"+OK\r\n"
        );
        let reader = reader_pipelining(server.port, 40);
        let mut stalled = stalled_client(server.port);
        let id = stalled_id(&mut stalled);
        // 20 MB of replies the client never reads.
        // The server may close it before all are sent: stop sending then.
        let get = RawClient::encode(&[b"GET", b"big"]);
        for _ in 0..200 {
            if stalled.write_all(&get).is_err() {
                break;
            }
        }
        assert!(
            eventually(Duration::from_secs(10), || client_fields(&mut admin, &id)
                .is_none()),
            "{kind:?}: the stalled client is still connected"
        );
        let lines = server.limit_lines();
        assert_eq!(lines.len(), 1, "{kind:?}: {lines:?}");
        assert!(
            lines[0].contains(&format!("Client id={id} "))
                && lines[0].contains(" cmd=get ")
                && lines[0].ends_with(
                    " scheduled to be closed ASAP for overcoming of output buffer limits."
                ),
            "{kind:?}: {}",
            lines[0]
        );
        // Its omem in the line is at least the limit.
        let omem: u64 = lines[0]
            .split(' ')
            .find_map(|kv| kv.strip_prefix("omem="))
            .and_then(|v| v.parse().ok())
            .expect("omem in the line");
        assert!(omem >= 1 << 20, "{kind:?}: omem={omem}");
        reader.join().expect("the reader thread");
        assert_data_intact(&mut admin);
        // Nothing is held for the closed client any more.
        let list = admin.text(&["CLIENT", "LIST"]);
        assert!(
            list.lines()
                .filter(|l| l.starts_with("id="))
                .all(|l| l.contains(" omem=0 ")),
            "{kind:?}: {list}"
        );
    }
}

#[test]
fn without_a_limit_a_client_that_does_not_read_stays_and_shows_its_unsent_output() {
    for server in both(&[]) {
        let kind = server.kind;
        let mut admin = RawClient::connect(server.port);
        load(&mut admin);
        let mut stalled = stalled_client(server.port);
        let id = stalled_id(&mut stalled);
        // The server may close it before all are sent: stop sending then.
        let get = RawClient::encode(&[b"GET", b"big"]);
        for _ in 0..200 {
            if stalled.write_all(&get).is_err() {
                break;
            }
        }
        // Its unsent replies show in omem and tot-mem (how much differs:
        // Redis keeps running its requests, ferrodis waits for the client
        // to read once a batch of replies is pending).
        let mut seen = None;
        assert!(
            eventually(Duration::from_secs(10), || {
                seen = client_fields(&mut admin, &id);
                seen.as_ref()
                    .is_some_and(|f| field(f, "omem").parse::<u64>().unwrap_or(0) > 0)
            }),
            "{kind:?}: no unsent output shown: {seen:?}"
        );
        let fields = seen.expect("listed");
        let omem: u64 = field(&fields, "omem").parse().expect("omem");
        let tot: u64 = field(&fields, "tot-mem").parse().expect("tot-mem");
        assert!(tot > omem, "{kind:?}: tot-mem {tot} omem {omem}");
        // INFO's recent peak of a client's output sees it too (sampled by
        // the periodic task).
        let peak = |c: &mut RawClient| {
            c.text(&["INFO", "clients"])
                .lines()
                .find_map(|l| l.strip_prefix("client_recent_max_output_buffer:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .expect("client_recent_max_output_buffer")
        };
        assert!(
            eventually(Duration::from_secs(3), || peak(&mut admin) > 0),
            "{kind:?}: no recent output peak"
        );
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            client_fields(&mut admin, &id).is_some(),
            "{kind:?}: closed without a limit"
        );
        assert!(server.limit_lines().is_empty(), "{kind:?}");
        // Once it reads, it gets every reply, in order.
        stalled
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut reader = BufReader::new(stalled);
        let mut header = String::new();
        reader.read_line(&mut header).expect("reply");
        for i in 0..200 {
            assert_eq!(header, format!("${VALUE_LEN}\r\n"), "{kind:?}: reply {i}");
            let mut body = vec![0; VALUE_LEN + 2];
            reader.read_exact(&mut body).expect("body");
            header.clear();
            if i < 199 {
                reader.read_line(&mut header).expect("reply");
            }
        }
        assert_data_intact(&mut admin);
    }
}

#[test]
fn the_soft_limit_closes_a_client_over_it_for_longer_than_its_seconds() {
    for server in both(&["--client-output-buffer-limit", "normal", "0", "512kb", "2"]) {
        let kind = server.kind;
        let mut admin = RawClient::connect(server.port);
        load(&mut admin);
        let mut stalled = stalled_client(server.port);
        let id = stalled_id(&mut stalled);
        let started = Instant::now();
        // The server may close it before all are sent: stop sending then.
        let get = RawClient::encode(&[b"GET", b"big"]);
        for _ in 0..200 {
            if stalled.write_all(&get).is_err() {
                break;
            }
        }
        // Over the soft limit from now on, but closed only once it has
        // been over it for more than 2 seconds (whole seconds, as Redis
        // counts them).
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            client_fields(&mut admin, &id).is_some(),
            "{kind:?}: closed before its seconds"
        );
        assert!(
            eventually(Duration::from_secs(8), || client_fields(&mut admin, &id)
                .is_none()),
            "{kind:?}: never closed"
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(2) && took < Duration::from_secs(6),
            "{kind:?}: closed after {took:?}"
        );
        let lines = server.limit_lines();
        assert_eq!(lines.len(), 1, "{kind:?}: {lines:?}");
        assert!(lines[0].contains(&format!("Client id={id} ")), "{kind:?}");
        assert_data_intact(&mut admin);
    }
}

#[test]
fn client_list_has_redis_fields_in_redis_order() {
    let [ours, redis] = both(&[]);
    let names = |port: u16| {
        let mut c = RawClient::connect(port);
        let id = id_of(&mut c);
        let fields = client_fields(&mut c, &id).expect("own line");
        // An idle client holds no output; nothing is subscribed.
        for name in ["obl", "oll", "omem", "sub", "psub", "ssub"] {
            assert_eq!(field(&fields, name), "0", "{port} {name}");
        }
        assert!(field(&fields, "tot-mem").parse::<u64>().expect("tot-mem") > 0);
        fields.into_iter().map(|(k, _)| k).collect::<Vec<_>>()
    };
    let mut theirs = names(redis.port);
    // ferrodis also shows CLIENT SETINFO's fields, as Redis 7.2 does.
    theirs.extend(["lib-name".to_string(), "lib-ver".to_string()]);
    assert_eq!(names(ours.port), theirs);
    // TYPE filters by class: this client is normal, none is a subscriber.
    for server in [&ours, &redis] {
        let mut c = RawClient::connect(server.port);
        let id = id_of(&mut c);
        let normal = c.text(&["CLIENT", "LIST", "TYPE", "normal"]);
        assert!(normal.contains(&format!("id={id} ")), "{normal}");
        assert_eq!(c.text(&["CLIENT", "LIST", "TYPE", "pubsub"]), "$0\r\n\r\n");
        assert_eq!(c.text(&["CLIENT", "KILL", "TYPE", "pubsub"]), ":0\r\n");
    }
}

#[test]
fn start_up_takes_any_valid_value_and_refuses_bad_ones() {
    let [ours, redis] = both(&[
        "--client-output-buffer-limit",
        "normal",
        "1mb",
        "2k",
        "3",
        "pubsub",
        "4gb",
        "5",
        "6",
    ]);
    let get =
        |port: u16| RawClient::connect(port).text(&["CONFIG", "GET", "client-output-buffer-limit"]);
    assert_eq!(get(ours.port), get(redis.port));
    assert!(get(ours.port).contains("normal 1048576 2000 3 "));
    for (bad, why) in [
        (
            &["normal", "1", "2"][..],
            "Wrong number of arguments in buffer limit configuration.",
        ),
        (
            &["master", "1", "2", "3"][..],
            "Invalid client class specified in buffer limit configuration.",
        ),
        (
            &["normal", "1", "2", "-3"][..],
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
    ] {
        let mut args = vec!["--client-output-buffer-limit"];
        args.extend(bad);
        let out = failed_start(&args);
        assert!(out.contains(why), "{bad:?}: {out}");
    }
}

// ---------------------------------------------------------------- MONITOR

#[test]
fn a_monitor_that_stops_reading_is_closed_at_the_normal_hard_limit() {
    for server in both(&["--client-output-buffer-limit", "normal", "256kb", "0", "0"]) {
        let kind = server.kind;
        let mut writer = RawClient::connect(server.port);
        let mut monitor = stalled_client(server.port);
        let id = stalled_id(&mut monitor);
        send(&mut monitor, &["MONITOR"]);
        assert!(
            eventually(Duration::from_secs(5), || client_fields(&mut writer, &id)
                .is_some_and(|f| field(&f, "flags") == "O")),
            "{kind:?}: not monitoring"
        );
        // About 8 MB of lines for a monitor that reads none of them: more
        // than the kernel's socket buffers take (up to 4 MB to send).
        let value = "v".repeat(4000);
        for i in 0..2000 {
            assert_eq!(
                writer.cmd(&["SET", &format!("key:{i}"), &value]),
                b"+OK\r\n",
                "{kind:?}"
            );
        }
        assert!(
            eventually(Duration::from_secs(10), || client_fields(&mut writer, &id)
                .is_none()),
            "{kind:?}: the monitor is still connected"
        );
        let lines = server.limit_lines();
        assert_eq!(lines.len(), 1, "{kind:?}: {lines:?}");
        assert!(
            lines[0].contains(&format!("Client id={id} "))
                && lines[0].contains(" flags=O ")
                && lines[0].contains(" cmd=monitor ")
                && lines[0].ends_with(
                    " scheduled to be closed ASAP for overcoming of output buffer limits."
                ),
            "{kind:?}: {}",
            lines[0]
        );
        assert_eq!(writer.text(&["DBSIZE"]), ":2000\r\n", "{kind:?}");
        assert_eq!(
            writer.cmd(&["GET", "key:1999"]),
            format!("$4000\r\n{value}\r\n").into_bytes()
        );
    }
}

/// The address a MONITOR line names (`+<time> [<db> <addr>] ...`).
fn line_addr(line: &str) -> &str {
    let start = line.find('[').expect("[") + 1;
    let end = line.find(']').expect("]");
    line[start..end].split(' ').nth(1).expect("addr")
}

#[test]
fn monitor_gets_every_line_in_execution_order_from_two_workers() {
    let server = Logged::start(Kind::Ferrodis, &[]);
    const ROUNDS: usize = 100;
    const BATCH: usize = 20;
    // Two writers on different workers, both incrementing one counter.
    let writers: Vec<(RawClient, String)> = [0, 1]
        .into_iter()
        .map(|worker| {
            let mut c = RawClient::connect(server.port);
            let want = format!(":{worker}\r\n");
            assert_eq!(c.text(&["DEBUG", "WORKER", &worker.to_string()]), want);
            assert_eq!(c.text(&["DEBUG", "WORKER"]), want);
            let addr = c
                .text(&["CLIENT", "INFO"])
                .split(' ')
                .find_map(|kv| kv.strip_prefix("addr="))
                .expect("addr")
                .to_string();
            (c, addr)
        })
        .collect();
    let mut monitor = RawClient::connect(server.port);
    assert_eq!(monitor.cmd(&["MONITOR"]), b"+OK\r\n");
    let handles: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(w, (mut c, addr))| {
            std::thread::spawn(move || {
                // The counter's value after each of this writer's INCRs.
                let mut values = Vec::new();
                for round in 0..ROUNDS {
                    let mut batch = Vec::new();
                    for i in 0..BATCH {
                        let key = format!("w{w}:{}", round * BATCH + i);
                        batch.extend(RawClient::encode(&[b"INCR", b"counter"]));
                        batch.extend(RawClient::encode(&[b"SET", key.as_bytes(), b"x"]));
                    }
                    c.send_raw(&batch);
                    for _ in 0..BATCH {
                        let reply = String::from_utf8(c.read_reply()).expect("text");
                        let n: i64 = reply
                            .trim_start_matches(':')
                            .trim_end()
                            .parse()
                            .unwrap_or_else(|_| panic!("INCR replied {reply:?}"));
                        values.push(n);
                        assert_eq!(c.read_reply(), b"+OK\r\n");
                    }
                }
                (addr, values, c)
            })
        })
        .collect();
    let results: Vec<(String, Vec<i64>, RawClient)> = handles
        .into_iter()
        .map(|h| h.join().expect("writer thread"))
        .collect();
    let mut marker = RawClient::connect(server.port);
    assert_eq!(marker.cmd(&["ECHO", "done"]), b"$4\r\ndone\r\n");
    // Every line up to the marker, as the monitor received them.
    let mut lines = Vec::new();
    loop {
        let line = String::from_utf8(monitor.read_reply()).expect("text");
        assert!(
            !line.is_empty(),
            "the monitor was closed after {} lines",
            lines.len()
        );
        if line.ends_with("\"ECHO\" \"done\"\r\n") {
            break;
        }
        lines.push(line);
    }
    let total = 2 * ROUNDS * BATCH;
    assert_eq!(lines.len(), 2 * total, "every command's line, none lost");
    // The j-th INCR line the monitor got is the INCR that made the counter
    // j: lines are in execution order across both workers.
    let mut incrs_seen = [0usize; 2];
    let mut sets_seen = [0usize; 2];
    let mut incr_order = 0;
    for line in &lines {
        let addr = line_addr(line);
        let w = results
            .iter()
            .position(|(a, _, _)| a == addr)
            .unwrap_or_else(|| panic!("a line from an unknown client: {line}"));
        if line.ends_with(" \"INCR\" \"counter\"\r\n") {
            incr_order += 1;
            assert_eq!(
                results[w].1[incrs_seen[w]], incr_order,
                "writer {w}'s INCR #{} is line {incr_order}'s INCR",
                incrs_seen[w]
            );
            incrs_seen[w] += 1;
        } else {
            // Each writer's own commands keep its order.
            let want = format!(" \"SET\" \"w{w}:{}\" \"x\"\r\n", sets_seen[w]);
            assert!(line.ends_with(&want), "{line} (wanted ...{want})");
            sets_seen[w] += 1;
        }
    }
    assert_eq!(incrs_seen, [ROUNDS * BATCH; 2]);
    assert_eq!(sets_seen, [ROUNDS * BATCH; 2]);
    assert!(server.limit_lines().is_empty());
}

#[test]
fn a_subscriber_that_stops_reading_is_closed_at_the_pubsub_hard_limit_and_no_one_else_loses_anything(
) {
    for server in both(&["--client-output-buffer-limit", "pubsub", "256kb", "0", "0"]) {
        let kind = server.kind;
        let mut publisher = RawClient::connect(server.port);
        let mut stalled = stalled_client(server.port);
        let id = stalled_id(&mut stalled);
        send(&mut stalled, &["SUBSCRIBE", "news"]);
        // A subscriber that reads everything, on the other worker.
        let mut reader = RawClient::connect(server.port);
        if kind == Kind::Ferrodis {
            reader.cmd(&["DEBUG", "WORKER", "1"]);
        }
        reader.cmd(&["SUBSCRIBE", "news"]);
        assert!(
            eventually(Duration::from_secs(5), || client_fields(
                &mut publisher,
                &id
            )
            .is_some_and(|f| field(&f, "flags") == "P")),
            "{kind:?}: not subscribed"
        );
        const MESSAGES: usize = 2000;
        let payload = "m".repeat(4000);
        // The publisher stays at most 32 messages (128 kB) ahead of the
        // reading subscriber, so a busy machine starving the reader's
        // thread cannot push it over the limit too.
        let read = Arc::new(AtomicUsize::new(0));
        let reading = std::thread::spawn({
            let read = read.clone();
            move || {
                for i in 0..MESSAGES {
                    let raw = reader.read_reply();
                    assert!(
                        raw.ends_with(format!("{i}:{}\r\n", "m".repeat(4000)).as_bytes()),
                        "message {i} lost or out of order"
                    );
                    read.store(i + 1, Ordering::Relaxed);
                }
            }
        });
        // About 8 MB for a subscriber that reads none of it.
        let mut receivers = Vec::new();
        for i in 0..MESSAGES {
            while i > read.load(Ordering::Relaxed) + 32 && !reading.is_finished() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let reply = publisher.text(&["PUBLISH", "news", &format!("{i}:{payload}")]);
            receivers.push(reply);
        }
        reading
            .join()
            .expect("the reading subscriber got everything");
        assert!(
            eventually(Duration::from_secs(10), || client_fields(
                &mut publisher,
                &id
            )
            .is_none()),
            "{kind:?}: the stalled subscriber is still connected"
        );
        // Both received until the stalled one was closed, then only one.
        assert_eq!(receivers[0], ":2\r\n", "{kind:?}");
        assert_eq!(receivers[MESSAGES - 1], ":1\r\n", "{kind:?}");
        let lines = server.limit_lines();
        assert_eq!(lines.len(), 1, "{kind:?}: {lines:?}");
        assert!(
            lines[0].contains(&format!("Client id={id} "))
                && lines[0].contains(" flags=P ")
                && lines[0].contains(" sub=1 ")
                && lines[0].ends_with(
                    " scheduled to be closed ASAP for overcoming of output buffer limits."
                ),
            "{kind:?}: {}",
            lines[0]
        );
    }
}
