//! The server's policies for its own failures and for long commands: a
//! panicking command crashes the server with a bug report (never a server
//! that goes on with half-applied data), and a command that holds every
//! shard for long leaves the other worker free to answer.

mod common;

use common::{ferrodis_command, free_port, RawClient, TempDir};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Starts ferrodis logging to `dir/log`, with `extra` directives.
fn start_logged(dir: &TempDir, extra: &[&str]) -> (Child, u16) {
    let port = free_port();
    let log = dir.0.join("log");
    let mut child = ferrodis_command(port)
        .arg("--dir")
        .arg(&dir.0)
        .arg("--logfile")
        .arg(&log)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferrodis-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("ferrodis exited during start-up: {status}");
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let mut c = RawClient::connect(port);
            if c.cmd(&["PING"]) == b"+PONG\r\n" {
                return (child, port);
            }
        }
        assert!(Instant::now() < deadline, "ferrodis did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
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
        let status = wait_exit(&mut child, Duration::from_secs(10));
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
        let (mut child, port) =
            start_logged(&dir, &["--appendonly", "yes", "--appendfsync", "always"]);
        let mut client = RawClient::connect(port);
        assert_eq!(client.cmd(&["GET", "before"]), b"$1\r\n1\r\n");
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn libc_sigabrt() -> i32 {
    6
}
