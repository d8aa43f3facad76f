//! The server's policies for its own failures and for long commands: a
//! panicking command crashes the server with a bug report (never a server
//! that goes on with half-applied data), and a command that holds every
//! shard for long leaves the other worker free to answer.

mod common;

use common::{ferrodis_command, free_port, wait_ready, RawClient, SpawnedServer, TempDir};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Starts ferrodis logging to `dir/log`, with `extra` directives; the
/// process is killed when the test ends, passing or failing.
fn start_logged(dir: &TempDir, extra: &[&str]) -> (SpawnedServer, u16) {
    let port = free_port();
    let mut child = ferrodis_command(port)
        .arg("--dir")
        .arg(&dir.0)
        .arg("--logfile")
        .arg(dir.0.join("log"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferrodis-server");
    wait_ready(port, &mut child, "ferrodis-server");
    (SpawnedServer { child, port }, port)
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server still running after {within:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_panicking_command_aborts_the_server_with_a_bug_report() {
    for (sub, message) in [
        ("PANIC", "DEBUG PANIC called at Unix time"),
        ("ASSERT", "DEBUG ASSERT"),
    ] {
        let dir = TempDir::new("panic");
        let (mut child, port) =
            start_logged(&dir, &["--appendonly", "yes", "--appendfsync", "always"]);
        let mut client = RawClient::connect(port);
        assert_eq!(client.cmd(&["SET", "before", "1"]), b"+OK\r\n");
        // The connection ends without a reply: the process is gone.
        assert_eq!(client.cmd(&["DEBUG", sub]), b"");
        let status = wait_exit(&mut child.child, Duration::from_secs(10));
        assert_eq!(status.signal(), Some(libc_sigabrt()), "{sub}: {status}");
        let log = std::fs::read_to_string(dir.0.join("log")).expect("read log");
        for needle in [
            "=== REDIS BUG REPORT START: Cut & paste starting from here ===",
            message,
            "------ STACK TRACE ------",
            "------ CURRENT CLIENT INFO ------",
            "cmd=debug",
            "argc: '2'",
            "=== REDIS BUG REPORT END. Make sure to include from START to END. ===",
        ] {
            assert!(log.contains(needle), "{sub}: log lacks {needle:?}:\n{log}");
        }
        // What was acknowledged before the crash is there after a restart.
        let (child, port) = start_logged(&dir, &["--appendonly", "yes", "--appendfsync", "always"]);
        let mut client = RawClient::connect(port);
        assert_eq!(client.cmd(&["GET", "before"]), b"$1\r\n1\r\n");
        drop(child);
    }
}

fn libc_sigabrt() -> i32 {
    6
}

/// Sends `args` without waiting for the reply.
fn send(client: &mut RawClient, args: &[&str]) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    client.send_raw(&RawClient::encode(&args));
}

/// Sends `args` and returns the reply with how long it took.
fn timed(client: &mut RawClient, args: &[&str]) -> (String, Duration) {
    let start = Instant::now();
    let reply = String::from_utf8_lossy(&client.cmd(args)).into_owned();
    (reply, start.elapsed())
}

/// Three connections: the first on worker 0, the other two on worker 1.
fn on_two_workers(port: u16) -> (RawClient, RawClient, RawClient) {
    let mut clients = [0, 1, 1].map(|worker| {
        let mut c = RawClient::connect(port);
        let want = format!(":{worker}\r\n");
        assert_eq!(c.text(&["DEBUG", "WORKER", &worker.to_string()]), want);
        c
    });
    for (c, worker) in clients.iter_mut().zip([0, 1, 1]) {
        assert_eq!(c.text(&["DEBUG", "WORKER"]), format!(":{worker}\r\n"));
    }
    let [a, b, c] = clients;
    (a, b, c)
}

/// The connection's worker is free while another holds every shard: an
/// allow_busy command without keys is answered at once.
fn assert_worker_answers(client: &mut RawClient) {
    let (hello, took) = timed(client, &["HELLO", "2"]);
    assert!(hello.starts_with("*14\r\n"), "{hello}");
    assert!(took < Duration::from_millis(300), "HELLO took {took:?}");
}

const BUSY: &str =
    "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";

#[test]
fn a_long_command_holding_every_shard_leaves_the_other_worker_answering() {
    let dir = TempDir::new("busy");
    let (mut child, port) = start_logged(&dir, &["--busy-reply-threshold", "1500"]);
    let (mut holder, mut writer, mut other) = on_two_workers(port);
    assert_eq!(holder.cmd(&["SET", "k", "before"]), b"+OK\r\n");
    send(&mut holder, &["DEBUG", "HOLD-SHARDS", "8000"]);
    std::thread::sleep(Duration::from_millis(300));
    let writer_sent = Instant::now();
    send(&mut writer, &["SET", "k", "during"]);
    // Before the threshold the write waits, but its worker is free: an
    // allow_busy command without keys is answered at once.
    std::thread::sleep(Duration::from_millis(100));
    assert_worker_answers(&mut other);
    // Past the threshold the held write gets BUSY, and so does the rest.
    let reply = String::from_utf8_lossy(&writer.read_reply()).into_owned();
    let waited = writer_sent.elapsed();
    assert_eq!(reply, BUSY);
    assert!(
        waited > Duration::from_millis(600) && waited < Duration::from_millis(3000),
        "the held write was answered after {waited:?}"
    );
    for args in [
        &["GET", "k"][..],
        &["PING"],
        &["SHUTDOWN"],
        &["SHUTDOWN", "SAVE"],
    ] {
        let (reply, took) = timed(&mut other, args);
        assert_eq!(reply, BUSY, "{args:?}");
        assert!(took < Duration::from_millis(300), "{args:?} took {took:?}");
    }
    // SHUTDOWN NOSAVE reaches the long command: the server exits now, not
    // when the hold would have ended.
    let asked = Instant::now();
    assert_eq!(other.cmd(&["SHUTDOWN", "NOSAVE"]), b"");
    let status = wait_exit(&mut child.child, Duration::from_secs(5));
    assert!(status.success(), "{status}");
    assert!(asked.elapsed() < Duration::from_secs(2));
    assert_eq!(holder.read_reply(), b"", "the holder's connection closes");
}

#[test]
fn commands_wait_out_a_short_hold_and_then_run() {
    let dir = TempDir::new("hold");
    let (child, port) = start_logged(&dir, &[]);
    let (mut holder, mut writer, mut other) = on_two_workers(port);
    send(&mut holder, &["DEBUG", "SLEEP", "1.5"]);
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    send(&mut writer, &["SET", "k", "after"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_worker_answers(&mut other);
    // DEBUG SLEEP never turns BUSY: the write runs once the sleep ends.
    assert_eq!(writer.read_reply(), b"+OK\r\n");
    assert!(sent.elapsed() > Duration::from_millis(500));
    assert_eq!(holder.read_reply(), b"+OK\r\n");
    assert_eq!(other.cmd(&["GET", "k"]), b"$5\r\nafter\r\n");
    drop(child);
}
