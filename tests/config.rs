//! Directives: every accepted value is enforced. Directives whose feature
//! ferrodis does not have yet accept only their defaults (start-up and
//! CONFIG SET refuse anything else, naming the directive); the directives
//! enforced here have their effect.

mod common;

use common::{failed_start, start_ferrodis, start_redis, RawClient};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// Directives accepted only at their defaults: name, a value that would
/// need the missing feature, the default, and whether CONFIG SET may change
/// the directive at all.
const PENDING: &[(&str, &str, &str, bool)] = &[
    ("maxmemory", "1mb", "0", true),
    ("maxmemory-clients", "1mb", "0", true),
    ("latency-monitor-threshold", "100", "0", true),
    ("activedefrag", "yes", "no", true),
    ("min-replicas-to-write", "1", "0", true),
    ("min-slaves-to-write", "1", "0", true),
    ("always-show-logo", "yes", "no", false),
    ("daemonize", "yes", "no", false),
    ("io-threads", "4", "1", false),
    ("enable-module-command", "yes", "no", false),
    ("unixsocket", "/tmp/ferrodis-test.sock", "", false),
    ("supervised", "systemd", "no", false),
    ("syslog-enabled", "yes", "no", false),
    ("cluster-enabled", "yes", "no", false),
    ("replicaof", "127.0.0.1 6379", "", false),
];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The reason ferrodis gives for a refused value of `name`.
fn refusal_reason(name: &str, default: &str) -> String {
    let shown = if default.is_empty() {
        "\"\"".to_string()
    } else {
        format!("'{default}'")
    };
    format!("is not supported yet: {name} accepts only its default, {shown}")
}

#[test]
fn start_up_refuses_non_default_values_naming_the_directive() {
    for (name, bad, default, _) in PENDING {
        let flag = format!("--{name}");
        let mut args = vec![flag.as_str()];
        args.extend(bad.split(' '));
        let out = failed_start(&args);
        assert!(out.contains("FATAL CONFIG FILE ERROR"), "{name}: {out}");
        assert!(
            out.contains(&format!(">>> '{name} {bad}'")),
            "{name}: {out}"
        );
        assert!(
            out.contains(&refusal_reason(name, default)),
            "{name}: {out}"
        );
    }
    // In a config file the error names the line.
    let dir = common::TempDir::new("pending-conf");
    let path = dir.0.join("ferrodis.conf");
    std::fs::write(&path, "port 0\nmaxmemory 0\nmaxmemory 100mb\n").unwrap();
    let out = failed_start(&[path.to_str().unwrap()]);
    assert!(out.contains("at line 3"), "{out}");
    assert!(out.contains(">>> 'maxmemory 100mb'"), "{out}");
    assert!(out.contains(&refusal_reason("maxmemory", "0")), "{out}");
}

#[test]
fn defaults_are_accepted_at_start_up_and_survive_config_rewrite() {
    let dir = common::TempDir::new("pending-defaults");
    let path = dir.0.join("ferrodis.conf");
    // The defaults as redis.conf spells them, units and all.
    std::fs::write(
        &path,
        "maxmemory 0\n\
         maxmemory-clients 0\n\
         client-output-buffer-limit normal 0 0 0\n\
         client-output-buffer-limit replica 256mb 64mb 60\n\
         client-output-buffer-limit pubsub 32mb 8mb 60\n\
         notify-keyspace-events \"\"\n\
         latency-monitor-threshold 0\n\
         activedefrag no\n\
         min-replicas-to-write 0\n\
         always-show-logo no\n\
         daemonize no\n\
         io-threads 1\n\
         enable-module-command no\n\
         unixsocket \"\"\n\
         supervised no\n\
         syslog-enabled no\n\
         cluster-enabled no\n\
         maxmemory-policy allkeys-lfu\n",
    )
    .unwrap();
    let start =
        || common::start_with_file(&path, &["--save", "", "--dir", dir.0.to_str().unwrap()]);
    let server = start();
    let mut c = RawClient::connect(server.port);
    for (name, _, default, _) in PENDING {
        let reply = text(&c.cmd(&["CONFIG", "GET", name]));
        assert_eq!(
            reply,
            format!(
                "*2\r\n${}\r\n{name}\r\n${}\r\n{default}\r\n",
                name.len(),
                default.len()
            )
        );
    }
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), b"+OK\r\n");
    drop(c);
    drop(server);
    // The rewritten file starts a server again.
    let server = start();
    let mut c = RawClient::connect(server.port);
    assert_eq!(
        text(&c.cmd(&["CONFIG", "GET", "client-output-buffer-limit"])),
        format!(
            "*2\r\n$26\r\nclient-output-buffer-limit\r\n${}\r\n{}\r\n",
            OUTPUT_LIMITS_DEFAULT.len(),
            OUTPUT_LIMITS_DEFAULT
        )
    );
}

/// `client-output-buffer-limit`'s default, as CONFIG GET prints it.
const OUTPUT_LIMITS_DEFAULT: &str =
    "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

#[test]
fn config_set_refuses_non_default_values_in_redis_error_format() {
    let s = start_ferrodis(&[]);
    let mut c = RawClient::connect(s.port);
    for (name, bad, default, mutable) in PENDING {
        let err = text(&c.cmd(&["CONFIG", "SET", name, bad]));
        let prefix = format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - ");
        if *mutable {
            assert!(err.starts_with(&prefix), "{name}: {err}");
            assert!(
                err.contains(&refusal_reason(name, default)),
                "{name}: {err}"
            );
            // Setting the default is fine and changes nothing.
            assert_eq!(
                c.cmd(&["CONFIG", "SET", name, default]),
                b"+OK\r\n",
                "{name}"
            );
        } else {
            assert_eq!(err, format!("{prefix}can't set immutable config\r\n"));
        }
        let got = text(&c.cmd(&["CONFIG", "GET", name]));
        assert!(
            got.ends_with(&format!("\r\n{default}\r\n")),
            "{name}: {got}"
        );
    }
    // A refusal in a multi-directive CONFIG SET leaves the others unset.
    let err = text(&c.cmd(&["CONFIG", "SET", "timeout", "70", "maxmemory", "100"]));
    assert!(err.contains("argument 'maxmemory'"), "{err}");
    assert!(text(&c.cmd(&["CONFIG", "GET", "timeout"])).ends_with("\r\n0\r\n"));
}

#[test]
fn accepted_values_and_errors_match_redis() {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    let mut a = RawClient::connect(ours.port);
    let mut b = RawClient::connect(redis.port);
    let cases: &[&[&str]] = &[
        // Defaults, and values that mean the same, are accepted.
        &["CONFIG", "SET", "maxmemory", "0"],
        &["CONFIG", "SET", "maxmemory", "0mb"],
        &["CONFIG", "SET", "notify-keyspace-events", ""],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 0 0",
        ],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "replica 256mb 64mb 60",
        ],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 32mb 8mb 60 slave 268435456 67108864 60",
        ],
        &["CONFIG", "GET", "client-output-buffer-limit"],
        &[
            "CONFIG",
            "SET",
            "activedefrag",
            "no",
            "latency-monitor-threshold",
            "0",
        ],
        // Malformed values get Redis's errors, under the directive's name.
        &["CONFIG", "SET", "client-output-buffer-limit", "normal 0 0"],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "master 0 0 0",
        ],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal x 0 0",
        ],
        // Any valid value is taken, as Redis reads it.
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1mb 512kb 10 pubsub 1k 2K 0",
        ],
        &["CONFIG", "GET", "client-output-buffer-limit"],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "NORMAL 1GB 2g 3 Replica 4M 5b 6",
        ],
        &["CONFIG", "GET", "client-output-buffer-limit"],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal mb 99999999999999999999 +7",
        ],
        &["CONFIG", "GET", "client-output-buffer-limit"],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 0 4294967301",
        ],
        &["CONFIG", "GET", "client-output-buffer-limit"],
        &["CONFIG", "SET", "client-output-buffer-limit", ""],
        &["CONFIG", "GET", "client-output-buffer-limit"],
        // Redis's errors; a bad group leaves every class as it was.
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 5 5 5 pubsub 1 2",
        ],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 5 5 5 pubsub -1 0 0",
        ],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal +1 0 0",
        ],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1 1.5 0",
        ],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1 1 2147483648",
        ],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1 1 -1",
        ],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1 1 1x",
        ],
        &["CONFIG", "GET", "client-output-buffer-limit"],
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
        ],
        &["CONFIG", "SET", "MAXMEMORY", "lots"],
        &["CONFIG", "SET", "MIN-SLAVES-TO-WRITE", "many"],
        &["CONFIG", "SET", "io-threads", "1"],
        &["CONFIG", "SET", "replicaof", ""],
        // Shutdown options combine, and print in Redis's order.
        &["CONFIG", "SET", "shutdown-on-sigint", "force nosave"],
        &["CONFIG", "GET", "shutdown-on-sigint"],
        &["CONFIG", "SET", "shutdown-on-sigint", "save nosave"],
        &["CONFIG", "SET", "shutdown-on-sigint", "now default"],
        &["CONFIG", "GET", "shutdown-on-sigint"],
        &["CONFIG", "SET", "shutdown-on-sigint", "bogus"],
        &["CONFIG", "SET", "shutdown-on-sigint", "default"],
    ];
    for args in cases {
        assert_eq!(text(&a.cmd(args)), text(&b.cmd(args)), "{args:?}");
    }
    // Replication tunables have no effect without replicas, but INFO
    // reports the configured backlog size as Redis does.
    let backlog = |c: &mut RawClient| {
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "repl-backlog-size", "2mb"]),
            b"+OK\r\n"
        );
        let info = text(&c.cmd(&["INFO", "replication"]));
        info.lines()
            .find(|l| l.starts_with("repl_backlog_size:"))
            .map(str::to_string)
    };
    assert_eq!(backlog(&mut a), Some("repl_backlog_size:2097152".into()));
    assert_eq!(backlog(&mut a), backlog(&mut b));
}

// ---------------------------------------------------------------- enforced

/// The server side of a loopback connection in /proc/net/tcp: its timer
/// kind (0 none, 2 keepalive) and the time to expiry in 1/100 s.
fn server_socket_timer(server_port: u16, client_port: u16) -> (u32, u64) {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next().unwrap(), 16).unwrap();
        if port(f[1]) == server_port && port(f[2]) == client_port {
            let (kind, when) = f[5].split_once(':').unwrap();
            return (
                u32::from_str_radix(kind, 16).unwrap(),
                u64::from_str_radix(when, 16).unwrap(),
            );
        }
    }
    panic!("no socket {server_port} <- {client_port} in /proc/net/tcp");
}

/// Connects, makes sure the server has accepted (PING), and returns the
/// server socket's timer once the reply's acknowledgement has settled.
fn keepalive_timer_of_new_connection(port: u16) -> (TcpStream, (u32, u64)) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"+PONG\r\n");
    std::thread::sleep(Duration::from_millis(300));
    let timer = server_socket_timer(port, s.local_addr().unwrap().port());
    (s, timer)
}

#[test]
fn tcp_keepalive_arms_probes_on_new_connections() {
    let s = start_ferrodis(&[]);
    // Default 300 s: a keepalive timer within 300 s.
    let (_a, (kind, when)) = keepalive_timer_of_new_connection(s.port);
    assert_eq!(kind, 2, "keepalive timer expected");
    assert!(when > 100 * 60 && when <= 100 * 300, "{when}");
    let mut c = RawClient::connect(s.port);
    assert_eq!(c.cmd(&["CONFIG", "SET", "tcp-keepalive", "0"]), b"+OK\r\n");
    let (_b, (kind, _)) = keepalive_timer_of_new_connection(s.port);
    assert_eq!(kind, 0, "no timer expected with tcp-keepalive 0");
    assert_eq!(c.cmd(&["CONFIG", "SET", "tcp-keepalive", "20"]), b"+OK\r\n");
    let (_c, (kind, when)) = keepalive_timer_of_new_connection(s.port);
    assert_eq!(kind, 2);
    assert!(when <= 100 * 20, "{when}");
}

/// The accept queue length of the socket listening on `port`, from `ss`.
fn listen_backlog(port: u16) -> u64 {
    let out = Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) is needed to read listen queues");
    let out = text(&out.stdout);
    let line = out
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no listener: {out:?}"));
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn tcp_backlog_sizes_the_listen_queue() {
    let somaxconn: u64 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let s = start_ferrodis(&["--tcp-backlog", "100"]);
    assert_eq!(listen_backlog(s.port), 100.min(somaxconn));
    let s = start_ferrodis(&[]);
    assert_eq!(listen_backlog(s.port), 511.min(somaxconn));
}

#[test]
fn pidfile_is_written_and_removed_at_shutdown() {
    let dir = common::TempDir::new("pidfile");
    let dir_arg = dir.0.to_str().unwrap();
    let mut s = start_ferrodis(&["--dir", dir_arg, "--pidfile", "ferrodis.pid"]);
    let path = dir.0.join("ferrodis.pid");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", s.pid())
    );
    let mut c = RawClient::connect(s.port);
    // The file stays where it was written when the directory changes.
    let elsewhere = common::TempDir::new("pidfile-cwd");
    c.cmd(&["CONFIG", "SET", "dir", elsewhere.0.to_str().unwrap()]);
    c.cmd(&["SHUTDOWN", "NOSAVE"]);
    wait_exit(&mut s);
    assert!(!path.exists(), "the pid file is removed at shutdown");
    // Without the directive no file is written.
    let mut s = start_ferrodis(&["--dir", dir_arg]);
    RawClient::connect(s.port).cmd(&["SHUTDOWN", "NOSAVE"]);
    wait_exit(&mut s);
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
}

fn wait_exit(s: &mut common::ServerProcess) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.is_running() {
        assert!(Instant::now() < deadline, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a server in `dir` with `extra`, writes a key, sends `signal`,
/// and says whether the shutdown left a dump.
fn signal_leaves_dump(signal: libc::c_int, extra: &[&str]) -> bool {
    let dir = common::TempDir::new("shutdown-sig");
    let mut args = vec!["--dir", dir.0.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut s = start_ferrodis(&args);
    assert_eq!(
        RawClient::connect(s.port).cmd(&["SET", "k", "v"]),
        b"+OK\r\n"
    );
    // SAFETY: plain kill(2) of the child this test started.
    assert_eq!(unsafe { libc::kill(s.pid() as libc::pid_t, signal) }, 0);
    wait_exit(&mut s);
    dir.0.join("dump.rdb").exists()
}

#[test]
fn shutdown_on_signal_directives_decide_the_final_save() {
    let rules = ["--save", "3600 1"];
    // default: saves when there are save rules.
    assert!(signal_leaves_dump(libc::SIGTERM, &rules));
    assert!(!signal_leaves_dump(libc::SIGTERM, &[]));
    // save / nosave override the rules, per signal.
    assert!(signal_leaves_dump(
        libc::SIGTERM,
        &["--shutdown-on-sigterm", "save"]
    ));
    assert!(!signal_leaves_dump(
        libc::SIGTERM,
        &[rules[0], rules[1], "--shutdown-on-sigterm", "nosave"]
    ));
    assert!(signal_leaves_dump(
        libc::SIGINT,
        &[
            "--shutdown-on-sigint",
            "save",
            "--shutdown-on-sigterm",
            "nosave"
        ]
    ));
    assert!(!signal_leaves_dump(
        libc::SIGINT,
        &[rules[0], rules[1], "--shutdown-on-sigint", "nosave"]
    ));
    // Options combine: `now` changes nothing without replicas.
    assert!(!signal_leaves_dump(
        libc::SIGTERM,
        &[rules[0], rules[1], "--shutdown-on-sigterm", "now", "nosave"]
    ));
    assert!(signal_leaves_dump(
        libc::SIGTERM,
        &["--shutdown-on-sigterm", "save", "force"]
    ));
}

/// How many of the process's threads have the name `name`.
fn threads_named(pid: u32, name: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == name)
        .count()
}

/// Waits up to 3 s for `pred` over the thread count named `name`.
fn threads_become(pid: u32, name: &str, pred: impl Fn(usize) -> bool) -> usize {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let n = threads_named(pid, name);
        if pred(n) || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn jemalloc_bg_thread_starts_and_stops_the_allocator_thread() {
    const NAME: &str = "jemalloc_bg_thd";
    let s = start_ferrodis(&[]);
    assert!(threads_become(s.pid(), NAME, |n| n > 0) > 0, "default yes");
    let mut c = RawClient::connect(s.port);
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "jemalloc-bg-thread", "no"]),
        b"+OK\r\n"
    );
    assert_eq!(threads_become(s.pid(), NAME, |n| n == 0), 0);
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "jemalloc-bg-thread", "yes"]),
        b"+OK\r\n"
    );
    assert!(threads_become(s.pid(), NAME, |n| n > 0) > 0);
    let s = start_ferrodis(&["--jemalloc-bg-thread", "no"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(threads_named(s.pid(), NAME), 0);
}

#[test]
fn enable_debug_command_gates_debug_like_redis() {
    let ours = start_ferrodis(&["--enable-debug-command", "no"]);
    let redis = start_redis(&["--enable-debug-command", "no"]);
    let mut a = RawClient::connect(ours.port);
    let mut b = RawClient::connect(redis.port);
    let reply = a.cmd(&["DEBUG", "SLEEP", "0"]);
    assert!(text(&reply).starts_with("-ERR DEBUG command not allowed."));
    assert_eq!(reply, b.cmd(&["DEBUG", "SLEEP", "0"]));
    // Refused before MULTI queues it, and the transaction fails, as Redis does.
    for c in [&mut a, &mut b] {
        assert_eq!(c.cmd(&["MULTI"]), b"+OK\r\n");
    }
    assert_eq!(a.cmd(&["DEBUG", "SLEEP", "0"]), reply);
    assert_eq!(b.cmd(&["DEBUG", "SLEEP", "0"]), reply);
    assert_eq!(a.cmd(&["EXEC"]), b.cmd(&["EXEC"]));
    // `local` lets loopback clients run it.
    let s = start_ferrodis(&["--enable-debug-command", "local"]);
    assert_eq!(
        RawClient::connect(s.port).cmd(&["DEBUG", "SLEEP", "0"]),
        b"+OK\r\n"
    );
}

#[test]
fn lazyfree_lazy_user_del_frees_on_the_background_thread() {
    // A large hash deleted by DEL is freed in place by default, and handed
    // to the lazy-free thread (started on first use) with the directive on.
    let fields: Vec<String> = (0..400).map(|i| format!("f{i}")).collect();
    for (setting, expected) in [("no", 0), ("yes", 1)] {
        let s = start_ferrodis(&["--lazyfree-lazy-user-del", setting]);
        let mut c = RawClient::connect(s.port);
        let mut hset = vec!["HSET", "h"];
        for f in &fields {
            hset.push(f);
            hset.push("v");
        }
        assert_eq!(c.cmd(&hset), b":400\r\n");
        assert_eq!(c.cmd(&["DEL", "h"]), b":1\r\n");
        let n = threads_become(s.pid(), "lazyfree", |n| n == expected);
        if expected == 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        assert_eq!(
            threads_named(s.pid(), "lazyfree"),
            expected,
            "{setting}: {n}"
        );
    }
}

/// `expired_keys` from INFO stats.
fn expired_keys(c: &mut RawClient) -> u64 {
    let info = text(&c.cmd(&["INFO", "stats"]));
    info.lines()
        .find_map(|l| l.strip_prefix("expired_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("expired_keys in INFO")
}

/// Loads `count` keys named `prefix:N` with `SET ... PX ttl_ms`, pipelined.
fn load_keys(c: &mut RawClient, prefix: &str, count: usize, ttl_ms: &str) {
    let mut batch = Vec::new();
    for i in 0..count {
        let key = format!("{prefix}:{i}");
        batch.extend(RawClient::encode(&[
            b"SET",
            key.as_bytes(),
            b"v",
            b"PX",
            ttl_ms.as_bytes(),
        ]));
    }
    c.send_raw(&batch);
    for _ in 0..count {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
}

#[test]
fn active_expire_effort_samples_more_keys_per_cycle() {
    // Keys that expire are a small part of the keys with a TTL, so each
    // cycle stops after one sample per shard: how many expired keys a
    // second of cycles reclaims follows the sample size (20 keys at effort
    // 1, 65 at effort 10, so about 3.25 times as many).
    let mut servers: Vec<(common::ServerProcess, RawClient)> = ["1", "10"]
        .iter()
        .map(|effort| {
            let s = start_ferrodis(&["--active-expire-effort", effort, "--hz", "10"]);
            let mut c = RawClient::connect(s.port);
            assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), b"+OK\r\n");
            load_keys(&mut c, "long", 40_000, "3600000");
            load_keys(&mut c, "short", 2_000, "1");
            (s, c)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    for (_, c) in servers.iter_mut() {
        assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), b"+OK\r\n");
    }
    std::thread::sleep(Duration::from_millis(1000));
    let counts: Vec<u64> = servers.iter_mut().map(|(_, c)| expired_keys(c)).collect();
    let (low, high) = (counts[0], counts[1]);
    eprintln!("expired keys reclaimed at effort 1 and 10: {counts:?}");
    assert!(low > 0, "{counts:?}");
    assert!(
        high >= 2 * low,
        "effort 10 should reclaim far more: {counts:?}"
    );
    assert!(
        high < 2_000,
        "the cycle should not reclaim everything: {counts:?}"
    );
}
