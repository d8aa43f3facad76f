//! Hostile input: malformed protocol, oversized headers, random bytes, many
//! connections and clients that vanish mid-request.
//!
//! Deterministic cases run against ferrodis and redis-server and compare the
//! raw bytes each sends back before closing. After every case a fresh client
//! checks that the keys stored beforehand are intact and the server is alive.

mod common;

use common::rng::XorShiftStar as Rng;
use common::{RawClient, ServerProcess};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Keys stored before the abuse, with the command that reads each back and
/// its expected raw reply.
const SEED: &[&[&str]] = &[
    &["SET", "str", "hello"],
    &["SET", "num", "42"],
    &["RPUSH", "list", "a", "b", "c"],
    &["HSET", "hash", "f1", "v1", "f2", "v2"],
];

const CHECKS: &[(&[&str], &[u8])] = &[
    (&["GET", "str"], b"$5\r\nhello\r\n"),
    (&["GET", "num"], b"$2\r\n42\r\n"),
    (&["EXISTS", "list"], b":1\r\n"),
    (
        &["HGETALL", "hash"],
        b"*4\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n",
    ),
];

fn seed(server: &ServerProcess) {
    let mut c = RawClient::connect(server.port);
    for cmd in SEED {
        let reply = c.cmd(cmd);
        assert!(!reply.starts_with(b"-"), "seeding {cmd:?}: {reply:?}");
    }
}

/// Asserts the server answers and every seeded key still holds its value.
fn assert_intact(server: &mut ServerProcess, after: &str) {
    assert!(server.is_running(), "server died after {after}");
    let mut c = RawClient::connect(server.port);
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n", "PING after {after}");
    for (cmd, want) in CHECKS {
        assert_eq!(
            String::from_utf8_lossy(&c.cmd(cmd)),
            String::from_utf8_lossy(want),
            "{cmd:?} after {after}"
        );
    }
}

/// Sends `payload`, half-closes, and returns everything the server writes
/// until it closes the connection (at most 10 s).
fn send_and_collect(port: u16, payload: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // The server may close early on a protocol error; that is its right.
    let _ = s.write_all(payload);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

fn malformed_cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut cases: Vec<(&'static str, Vec<u8>)> = vec![
        ("non-numeric multibulk length", b"*x\r\n".to_vec()),
        ("multibulk length over INT_MAX", b"*3000000000\r\n".to_vec()),
        (
            "multibulk length with sign",
            b"*+1\r\n$4\r\nPING\r\n".to_vec(),
        ),
        ("negative multibulk length", b"*-10\r\nPING\r\n".to_vec()),
        ("empty requests", b"\r\n\r\n*0\r\n   \r\nPING\r\n".to_vec()),
        ("negative bulk length", b"*1\r\n$-1\r\n".to_vec()),
        ("non-numeric bulk length", b"*1\r\n$abc\r\n".to_vec()),
        (
            "overflowing bulk length",
            b"*2\r\n$3\r\nGET\r\n$99999999999999999999\r\n".to_vec(),
        ),
        ("bulk length 512MB+1", b"*1\r\n$536870913\r\n".to_vec()),
        ("bulk length 2GB", b"*1\r\n$2147483648\r\n".to_vec()),
        ("simple string instead of bulk", b"*1\r\n+foo\r\n".to_vec()),
        ("bare CRLF instead of bulk header", b"*2\r\n\r\n".to_vec()),
        ("non-ASCII type byte", b"*1\r\n\xdcPING\r\n".to_vec()),
        (
            "NUL before the line end",
            b"PI\0NG\r\n*1\r\n$4\r\nPING\r\n".to_vec(),
        ),
        (
            "vertical tab inside an inline word",
            b"ECHO a\x0bb\r\n".to_vec(),
        ),
        (
            "error after a good request",
            b"*1\r\n$4\r\nPING\r\n*1\r\nxyz\r\n".to_vec(),
        ),
        (
            "bytes after payload are skipped unchecked",
            b"*1\r\n$3\r\nGETxxPING\r\n".to_vec(),
        ),
        ("unbalanced double quote", b"SET \"a b\r\n".to_vec()),
        ("unbalanced single quote", b"SET 'a\r\n".to_vec()),
        (
            "closing quote not followed by space",
            b"GET \"a\"b\r\n".to_vec(),
        ),
        ("inline unknown command", b"$$$ x y\r\n".to_vec()),
        (
            "inline with escapes",
            b"ECHO \"a\\x41\\n\" 'it\\'s'\r\n".to_vec(),
        ),
        ("arity error then more", b"GET\r\nPING\r\n".to_vec()),
        (
            "pipelined good requests then a bad one",
            b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$x\r\n".to_vec(),
        ),
    ];
    // Longer than 64 KiB without a newline.
    cases.push(("too big inline request", vec![b'a'; 70_000]));
    let mut mbulk = b"*".to_vec();
    mbulk.extend(std::iter::repeat_n(b'1', 70_000));
    cases.push(("too big mbulk count string", mbulk));
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 70_000));
    cases.push(("too big bulk count string", bulk));
    cases
}

#[test]
fn malformed_requests_match_redis_and_lose_nothing() {
    let mut ours = common::start_ferrodis(&[]);
    let mut redis = common::start_redis(&[]);
    seed(&ours);
    seed(&redis);
    for (name, payload) in malformed_cases() {
        let got = send_and_collect(ours.port, &payload);
        let want = send_and_collect(redis.port, &payload);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "reply bytes differ for: {name}"
        );
        assert_intact(&mut ours, name);
        assert_intact(&mut redis, name);
    }
    assert_eq!(RawClient::connect(ours.port).cmd(&["DBSIZE"]), b":4\r\n");
}

/// Random input biased towards protocol-looking fragments.
fn random_payload(rng: &mut Rng) -> Vec<u8> {
    const FRAGMENTS: &[&[u8]] = &[
        b"*", b"$", b"\r\n", b"\r", b"\n", b"-", b"0", b"1", b"3", b"9", b"\"", b"'", b"\\x", b" ",
        b"PING", b"ECHO", b"GET", b"*2\r\n", b"$4\r\n", b"$-1\r\n",
    ];
    let len = rng.below(64);
    let mut out = Vec::new();
    for _ in 0..len {
        if rng.below(2) == 0 {
            out.extend_from_slice(FRAGMENTS[rng.below(FRAGMENTS.len())]);
        } else {
            let n = rng.below(8);
            out.extend((0..n).map(|_| rng.next() as u8));
        }
    }
    out
}

#[test]
fn random_bytes_match_redis_and_lose_nothing() {
    let mut ours = common::start_ferrodis(&[]);
    let mut redis = common::start_redis(&[]);
    seed(&ours);
    seed(&redis);
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for i in 0..1500 {
        let payload = random_payload(&mut rng);
        let got = send_and_collect(ours.port, &payload);
        let want = send_and_collect(redis.port, &payload);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "reply bytes differ for random case {i}: {payload:?}"
        );
    }
    assert_intact(&mut ours, "random bytes");
    assert_intact(&mut redis, "random bytes");
    assert_eq!(RawClient::connect(ours.port).cmd(&["DBSIZE"]), b":4\r\n");
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// A header announcing a huge argument must not make the server allocate
/// it: memory follows the bytes that actually arrive.
fn huge_header_then_trickle(server: &mut ServerProcess, header: &[u8], piece: &[u8]) {
    let before = rss_kib(server.pid());
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    s.write_all(header).expect("send header");
    // A trickle of data: about 256 KiB in 4 KiB writes of whole pieces.
    let chunk = piece.repeat(4096 / piece.len());
    for _ in 0..64 {
        s.write_all(&chunk).expect("trickle");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(200));
    let during = rss_kib(server.pid());
    assert!(
        during < before + 32 * 1024,
        "RSS grew from {before} KiB to {during} KiB after the header {:?}",
        String::from_utf8_lossy(header)
    );
    drop(s);
    assert_intact(server, "huge bulk header");
}

#[test]
fn huge_bulk_headers_do_not_allocate() {
    let mut ours = common::start_ferrodis(&[]);
    seed(&ours);
    // Accepted under the default 512 MB limit.
    huge_header_then_trickle(&mut ours, b"*2\r\n$3\r\nSET\r\n$536870912\r\n", b"x");
    drop(ours);
    // 2 GB, with the limit raised so the header is accepted.
    let mut ours = common::start_ferrodis(&["--proto-max-bulk-len", "3gb"]);
    seed(&ours);
    huge_header_then_trickle(
        &mut ours,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2147483648\r\n",
        b"x",
    );
    // A count header alone must not allocate either.
    huge_header_then_trickle(&mut ours, b"*2147483647\r\n$1\r\na\r\n", b"$1\r\na\r\n");
}

#[test]
fn many_concurrent_connections_do_work() {
    const CONNECTIONS: usize = 2000;
    let mut ours = common::start_ferrodis(&[]);
    seed(&ours);
    let mut conns: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| {
            let s = TcpStream::connect(("127.0.0.1", ours.port)).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            s
        })
        .collect();
    // Every connection sends its request before any reply is read.
    for (i, s) in conns.iter_mut().enumerate() {
        let key = format!("conn:{i}");
        let val = i.to_string();
        s.write_all(&RawClient::encode(&[
            b"SET",
            key.as_bytes(),
            val.as_bytes(),
        ]))
        .expect("send");
        s.write_all(&RawClient::encode(&[b"INCR", b"conns:hits"]))
            .expect("send");
        s.write_all(&RawClient::encode(&[b"GET", key.as_bytes()]))
            .expect("send");
    }
    for (i, s) in conns.iter_mut().enumerate() {
        let val = i.to_string();
        let want_get = format!("${}\r\n{}\r\n", val.len(), val);
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        // +OK, then INCR's reply (an integer, or an error if INCR is not
        // there yet), then the GET.
        while !got.ends_with(want_get.as_bytes()) {
            let n = s.read(&mut buf).expect("reply");
            assert!(n > 0, "connection {i} closed");
            got.extend_from_slice(&buf[..n]);
            assert!(got.len() < 256, "unexpected replies on {i}: {got:?}");
        }
        assert!(got.starts_with(b"+OK\r\n"), "connection {i}: {got:?}");
    }
    drop(conns);
    assert_intact(&mut ours, "2000 connections");
    let mut c = RawClient::connect(ours.port);
    assert_eq!(c.cmd(&["GET", "conn:1999"]), b"$4\r\n1999\r\n");
}

#[test]
fn slow_and_vanishing_clients_do_not_hurt() {
    let mut ours = common::start_ferrodis(&[]);
    let mut redis = common::start_redis(&[]);
    for server in [&mut ours, &mut redis] {
        seed(server);
        // Clients that send half a command and disconnect.
        let halves: &[&[u8]] = &[
            b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$5\r\nva",
            b"*3\r\n$3\r\nSET\r\n$4\r\nhalf",
            b"*3\r\n",
            b"SET half inline",
            b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100000\r\n",
        ];
        for i in 0..200 {
            let mut s = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
            let _ = s.write_all(halves[i % halves.len()]);
            if i % 2 == 0 {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        // A client that trickles one command a byte at a time.
        let mut slow = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        slow.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        for &b in RawClient::encode(&[b"SET", b"slow", b"done"]).iter() {
            slow.write_all(&[b]).expect("trickle");
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut reply = [0u8; 5];
        slow.read_exact(&mut reply)
            .expect("reply to trickled command");
        assert_eq!(&reply, b"+OK\r\n");
        assert_intact(server, "half commands");
        let mut c = RawClient::connect(server.port);
        assert_eq!(c.cmd(&["GET", "half"]), b"$-1\r\n");
        assert_eq!(c.cmd(&["GET", "slow"]), b"$4\r\ndone\r\n");
    }
}

/// A client that asks for more than the kernel's socket buffers hold and
/// then reads slowly gets every byte in order, while other clients on the
/// same worker are served meanwhile (its writes wait for room without
/// holding anyone up).
#[test]
fn slow_readers_of_big_replies_get_them_whole() {
    let mut ours = common::start_ferrodis(&[]);
    seed(&ours);
    const VALUE_LEN: usize = 4 << 20;
    const COPIES: usize = 6;
    let value = vec![b'v'; VALUE_LEN];
    let mut c = RawClient::connect(ours.port);
    assert_eq!(c.cmd_bytes(&[b"SET", b"big", &value]), b"+OK\r\n");
    let mut slow = TcpStream::connect(("127.0.0.1", ours.port)).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let request = RawClient::encode(&[b"GET", b"big"]);
    slow.write_all(&request.repeat(COPIES)).expect("send GETs");
    // While the slow reader's replies fill its socket, others are served.
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    for i in 0..50 {
        let key = format!("meanwhile:{i}");
        assert_eq!(c.cmd(&["SET", &key, "x"]), b"+OK\r\n");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "other clients waited for the slow reader"
    );
    let header = format!("${VALUE_LEN}\r\n");
    let mut expected = Vec::with_capacity(COPIES * (VALUE_LEN + 16));
    for _ in 0..COPIES {
        expected.extend_from_slice(header.as_bytes());
        expected.extend_from_slice(&value);
        expected.extend_from_slice(b"\r\n");
    }
    let mut got = vec![0u8; expected.len()];
    let mut at = 0;
    while at < got.len() {
        let end = (at + 64 * 1024).min(got.len());
        let n = slow.read(&mut got[at..end]).expect("read replies");
        assert!(n > 0, "connection closed after {at} bytes");
        at += n;
        if at % (1 << 20) < 64 * 1024 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert!(got == expected, "replies differ from the values asked for");
    let mut after = RawClient::connect(ours.port);
    assert_eq!(after.cmd(&["GET", "meanwhile:49"]), b"$1\r\nx\r\n");
    assert_intact(&mut ours, "slow big-reply reader");
}
