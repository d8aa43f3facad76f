//! The append-only file: ferrodis's AOF directories checked by
//! `redis-check-aof` and loaded by redis-server, Redis's loaded by
//! ferrodis, replays that reproduce relative expiry times and float
//! increments exactly, truncated and corrupt files, BGREWRITEAOF while
//! clients write, and turning the AOF on and off at run time.

mod common;

use common::dataset::{bulks, contents, fill};
use common::{free_port, start_redis, RawClient, ServerProcess, TempDir};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A server in a directory the test keeps across restarts.
type Server = common::SpawnedServer;

fn wait_for_pong(port: u16, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited during start-up: {status}");
        }
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 64];
            if s.write_all(b"PING\r\n").is_ok()
                && s.read(&mut buf)
                    .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
            {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no PONG within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts ferrodis in `dir` with the AOF on and `extra` directives.
fn ferrodis_aof(dir: &Path, extra: &[&str]) -> Server {
    let port = free_port();
    let mut cmd = common::ferrodis_command(port);
    cmd.arg("--dir")
        .arg(dir)
        .args(["--appendonly", "yes"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn ferrodis-server");
    wait_for_pong(port, &mut child);
    Server { child, port }
}

/// Starts redis-server in `dir` with the AOF on.
fn redis_aof(dir: &Path, extra: &[&str]) -> Server {
    let port = free_port();
    let mut child = common::redis_command(port)
        .args(["--appendonly", "yes"])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server (Debian's redis-server package) must be installed");
    wait_for_pong(port, &mut child);
    Server { child, port }
}

/// Runs ferrodis in `dir` expecting it to stop at start-up; returns its
/// log. Panics if it is still running after 30 s.
fn failed_start_log(dir: &Path, extra: &[&str]) -> String {
    let mut child = common::ferrodis_command(0)
        .arg("--dir")
        .arg(dir)
        .args(["--appendonly", "yes"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferrodis-server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started although its AOF is damaged");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success(), "the server exited with success");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Stops a server with SHUTDOWN NOSAVE (the AOF is written and fsynced
/// first) and waits for it to exit.
fn shutdown(mut server: Server) {
    let mut c = RawClient::connect(server.port);
    c.send_raw(b"SHUTDOWN NOSAVE\r\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.child.try_wait().expect("wait").is_none() {
        assert!(
            Instant::now() < deadline,
            "SHUTDOWN did not stop the server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn info_field(port: u16, name: &str) -> String {
    let info = RawClient::connect(port).text(&["INFO", "persistence"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("INFO has no {name}: {info}"))
        .to_string()
}

/// Waits until no rewrite is running (or scheduled); panics after 60 s.
fn wait_for_rewrite(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(port, "aof_rewrite_in_progress") != "0"
        || info_field(port, "aof_rewrite_scheduled") != "0"
    {
        assert!(Instant::now() < deadline, "the rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(info_field(port, "aof_last_bgrewrite_status"), "ok");
}

/// Commands whose replay would not reproduce their effect unless the log
/// holds the effect: relative TTLs (set now, compared as absolute times
/// after a restart), float increments, RESTORE with a relative TTL.
fn write_effects(port: u16) {
    let mut c = RawClient::connect(port);
    let payload = bulks(&c.cmd(&["DUMP", "s:short"]))[0].clone();
    let script: &[&[&[u8]]] = &[
        &[b"SET", b"e:ex", b"v", b"EX", b"1000"],
        &[b"SET", b"e:px", b"v", b"PX", b"900000"],
        &[b"SETEX", b"e:setex", b"800", b"v"],
        &[b"PSETEX", b"e:psetex", b"700000", b"v"],
        &[b"SET", b"e:getex", b"v"],
        &[b"GETEX", b"e:getex", b"EX", b"600"],
        &[b"RPUSH", b"e:list", b"a", b"b"],
        &[b"EXPIRE", b"e:list", b"500"],
        &[b"HSET", b"e:hash", b"f", b"1.5"],
        &[b"PEXPIRE", b"e:hash", b"400000"],
        &[b"INCRBYFLOAT", b"e:float", b"10.1"],
        &[b"INCRBYFLOAT", b"e:float", b"-0.05"],
        &[b"HINCRBYFLOAT", b"e:hash", b"f", b"0.25"],
        &[b"RESTORE", b"e:restored", b"300000", &payload],
        &[b"SET", b"e:gone", b"v", b"PX", b"1"],
        &[b"SET", b"e:persisted", b"v", b"EX", b"100"],
        &[b"PERSIST", b"e:persisted"],
        &[
            b"ZADD", b"e:zset", b"1", b"a", b"2", b"b", b"3", b"c", b"4", b"d",
        ],
        &[b"ZINCRBY", b"e:zset", b"0.1", b"a"],
        &[b"ZPOPMIN", b"e:zset"],
        &[b"ZMPOP", b"1", b"e:zset", b"MAX", b"COUNT", b"2"],
        &[b"ZUNIONSTORE", b"e:zstore", b"2", b"e:zset", b"z:small"],
        &[
            b"GEOADD",
            b"e:geo",
            b"13.361389",
            b"38.115556",
            b"Palermo",
            b"15.087269",
            b"37.502669",
            b"Catania",
        ],
        &[
            b"GEORADIUS",
            b"e:geo",
            b"15",
            b"37",
            b"200",
            b"km",
            b"STOREDIST",
            b"e:geodist",
        ],
        &[
            b"GEOSEARCHSTORE",
            b"e:geostore",
            b"e:geo",
            b"FROMMEMBER",
            b"Palermo",
            b"BYRADIUS",
            b"500",
            b"km",
        ],
        // A PFCOUNT refreshes the cached cardinality inside the value: the
        // log must carry it for the value to come back byte for byte.
        &[b"PFADD", b"e:hll", b"a", b"b", b"c"],
        &[b"PFCOUNT", b"e:hll"],
        &[b"SETBIT", b"e:bits", b"9", b"1"],
        &[b"BITFIELD", b"e:bits", b"INCRBY", b"u8", b"8", b"5"],
        &[b"BITOP", b"NOT", b"e:not", b"e:bits"],
        // SORT ... STORE is logged as DEL + RPUSH of its result.
        &[b"SADD", b"e:sortsrc", b"b", b"a", b"c"],
        &[
            b"SORT",
            b"e:sortsrc",
            b"BY",
            b"nosort",
            b"STORE",
            b"e:sorted",
        ],
        &[
            b"SORT",
            b"e:sortsrc",
            b"ALPHA",
            b"DESC",
            b"GET",
            b"#",
            b"GET",
            b"x_*",
            b"STORE",
            b"e:sorted",
        ],
        &[b"SET", b"e:sortgone", b"v"],
        &[b"SORT", b"e:nosuch", b"STORE", b"e:sortgone"],
    ];
    for args in script {
        let reply = c.cmd_bytes(args);
        assert!(
            !reply.starts_with(b"-"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
    }
    // Let the 1 ms key expire (lazily, on this read) and some time pass, so
    // a replay of relative times would land elsewhere.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(c.cmd(&["GET", "e:gone"]), b"$-1\r\n");
    let mut tx = RawClient::connect(port);
    for cmd in [
        &["MULTI"][..],
        &["INCR", "e:counter"],
        &["SET", "e:tx", "in-tx", "EX", "3000"],
        &["EXEC"],
    ] {
        tx.cmd(cmd);
    }
}

fn check_aof(dir: &Path) {
    let manifest = dir.join("appendonlydir").join("appendonly.aof.manifest");
    let out = Command::new("redis-check-aof")
        .arg(&manifest)
        .output()
        .expect("redis-check-aof (Debian's redis-tools) must be installed");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && report.contains("All AOF files and manifest are valid"),
        "{report}"
    );
}

fn copy_aof_dir(from: &Path, to: &Path) {
    let (src, dst) = (from.join("appendonlydir"), to.join("appendonlydir"));
    std::fs::create_dir_all(&dst).expect("create appendonlydir");
    for entry in std::fs::read_dir(&src).expect("read appendonlydir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dst.join(entry.file_name())).expect("copy");
    }
}

fn ferrodis_to_redis(preamble: &str) {
    let dir = TempDir::new("aof-ours");
    let ours = ferrodis_aof(&dir.0, &["--aof-use-rdb-preamble", preamble]);
    fill(ours.port);
    // Part of the data goes into the base, part into the incremental file.
    assert_eq!(
        RawClient::connect(ours.port).text(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    wait_for_rewrite(ours.port);
    assert_eq!(info_field(ours.port, "aof_rewrites"), "1");
    write_effects(ours.port);
    let expected = contents(ours.port);
    assert!(expected.len() > 25, "{} keys", expected.len());
    shutdown(ours);
    check_aof(&dir.0);
    let manifest = std::fs::read_to_string(dir.0.join("appendonlydir/appendonly.aof.manifest"))
        .expect("manifest");
    let ext = if preamble == "yes" { "rdb" } else { "aof" };
    assert_eq!(
        manifest,
        format!("file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
    );

    // The same data comes back in ferrodis, and in redis-server.
    let again = ferrodis_aof(&dir.0, &[]);
    assert_eq!(contents(again.port), expected, "ferrodis after a restart");
    shutdown(again);
    let theirs = TempDir::new("aof-redis-load");
    copy_aof_dir(&dir.0, &theirs.0);
    let redis = redis_aof(&theirs.0, &[]);
    assert_eq!(
        contents(redis.port),
        expected,
        "redis-server loading ferrodis's AOF"
    );
}

#[test]
fn an_aof_written_by_ferrodis_passes_redis_check_aof_and_loads_into_redis() {
    ferrodis_to_redis("yes");
}

#[test]
fn an_aof_without_rdb_preamble_written_by_ferrodis_loads_into_redis() {
    ferrodis_to_redis("no");
}

#[test]
fn an_aof_written_by_redis_loads_into_ferrodis() {
    for preamble in ["yes", "no"] {
        let dir = TempDir::new("aof-redis");
        let redis = redis_aof(&dir.0, &["--aof-use-rdb-preamble", preamble]);
        fill(redis.port);
        RawClient::connect(redis.port).cmd(&["BGREWRITEAOF"]);
        wait_for_rewrite(redis.port);
        write_effects(redis.port);
        let expected = contents(redis.port);
        shutdown(redis);
        let ours_dir = TempDir::new("aof-ours-load");
        copy_aof_dir(&dir.0, &ours_dir.0);
        let ours = ferrodis_aof(&ours_dir.0, &[]);
        assert_eq!(contents(ours.port), expected, "preamble {preamble}");
    }
}

/// The incremental file of a fresh AOF directory in `dir`.
fn first_incr(dir: &Path) -> std::path::PathBuf {
    dir.join("appendonlydir").join("appendonly.aof.1.incr.aof")
}

#[test]
fn a_cut_last_command_is_dropped_and_other_damage_stops_start_up() {
    let dir = TempDir::new("aof-truncated");
    let ours = ferrodis_aof(&dir.0, &[]);
    let mut c = RawClient::connect(ours.port);
    for i in 0..100 {
        c.cmd(&["SET", &format!("k{i}"), &i.to_string()]);
    }
    let expected = contents(ours.port);
    shutdown(ours);
    let incr = first_incr(&dir.0);
    let good = std::fs::read(&incr).expect("read incr file");

    // A command cut short at the end: loaded without it, the file cut back.
    let mut cut = good.clone();
    cut.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$5\r\nval");
    std::fs::write(&incr, &cut).expect("write");
    let again = ferrodis_aof(&dir.0, &[]);
    assert_eq!(contents(again.port), expected);
    shutdown(again);
    assert_eq!(
        std::fs::read(&incr).expect("read"),
        good,
        "the cut command is removed"
    );

    // Without aof-load-truncated the same file stops start-up.
    std::fs::write(&incr, &cut).expect("write");
    let log = failed_start_log(&dir.0, &["--aof-load-truncated", "no"]);
    assert!(
        log.contains(
            "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof"
        ),
        "{log}"
    );

    // An open MULTI at the end is dropped with its commands.
    let mut open_tx = good.clone();
    open_tx.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\ntx\r\n$1\r\n1\r\n");
    std::fs::write(&incr, &open_tx).expect("write");
    let again = ferrodis_aof(&dir.0, &[]);
    assert_eq!(
        contents(again.port),
        expected,
        "half a transaction is not applied"
    );
    shutdown(again);

    // Damage inside the file is never loaded partly: start-up stops and
    // the error names the file and where the damage starts.
    let mut damaged = good.clone();
    let at = good.len() / 2;
    let command_start = good[..at]
        .iter()
        .rposition(|&b| b == b'*')
        .expect("a command start");
    damaged[command_start] = b'?';
    std::fs::write(&incr, &damaged).expect("write");
    let log = failed_start_log(&dir.0, &[]);
    assert!(
        log.contains(&format!(
            "Bad file format reading the append only file appendonly.aof.1.incr.aof (at offset {command_start})"
        )),
        "{log}"
    );
}

#[test]
fn bgrewriteaof_loses_no_write_made_while_it_runs() {
    let dir = TempDir::new("aof-rewrite");
    let ours = ferrodis_aof(&dir.0, &["--appendfsync", "always"]);
    let port = ours.port;
    let mut c = RawClient::connect(port);
    // Enough keys that the rewrite takes a while.
    let mut pipeline = Vec::new();
    for i in 0..100_000 {
        pipeline.extend(RawClient::encode(&[
            b"SET",
            format!("fill:{i}").as_bytes(),
            b"some value",
        ]));
    }
    c.send_raw(&pipeline);
    for _ in 0..100_000 {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = RawClient::connect(port);
                let mut acked = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    assert_eq!(
                        c.cmd(&["INCR", &format!("counter:{w}")]),
                        format!(":{}\r\n", acked + 1).into_bytes()
                    );
                    c.cmd(&["SET", &format!("new:{w}:{acked}"), "x"]);
                    acked += 1;
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        RawClient::connect(port).text(&["BGREWRITEAOF"]),
        "+Background append only file rewriting started\r\n"
    );
    assert_eq!(
        RawClient::connect(port).text(&["BGREWRITEAOF"]),
        "-ERR Background append only file rewriting already in progress\r\n"
    );
    wait_for_rewrite(port);
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked: Vec<u64> = writers
        .into_iter()
        .map(|w| w.join().expect("writer"))
        .collect();
    assert!(acked.iter().all(|&n| n > 0), "{acked:?}");
    let expected = contents(port);
    shutdown(ours);
    let files: Vec<String> = std::fs::read_dir(dir.0.join("appendonlydir"))
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let mut files = files;
    files.sort();
    assert_eq!(
        files,
        [
            "appendonly.aof.2.base.rdb",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"
        ],
        "the replaced files are deleted"
    );
    check_aof(&dir.0);
    let again = ferrodis_aof(&dir.0, &[]);
    let mut c = RawClient::connect(again.port);
    for (w, n) in acked.iter().enumerate() {
        assert_eq!(
            c.text(&["GET", &format!("counter:{w}")]),
            format!("${}\r\n{n}\r\n", n.to_string().len())
        );
    }
    assert_eq!(contents(again.port), expected);
}

#[test]
fn config_set_appendonly_turns_the_log_on_and_off_at_run_time() {
    let dir = TempDir::new("aof-runtime");
    let port = free_port();
    let mut cmd = common::ferrodis_command(port);
    cmd.arg("--dir")
        .arg(&dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    wait_for_pong(port, &mut child);
    let server = Server { child, port };
    fill(port);
    let mut c = RawClient::connect(port);
    assert_eq!(info_field(port, "aof_enabled"), "0");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "appendfsync", "always"]),
        b"+OK\r\n"
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendonly", "yes"]), b"+OK\r\n");
    // Writes during and after the first rewrite are all kept.
    c.cmd(&["SET", "while", "turning-on"]);
    wait_for_rewrite(port);
    assert_eq!(info_field(port, "aof_enabled"), "1");
    c.cmd(&["SET", "after", "on"]);
    let expected = contents(port);
    // SIGKILL: with appendfsync always every acknowledged write is on disk.
    drop(server);
    check_aof(&dir.0);
    let again = ferrodis_aof(&dir.0, &[]);
    assert_eq!(contents(again.port), expected);
    let mut c = RawClient::connect(again.port);
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendonly", "no"]), b"+OK\r\n");
    assert_eq!(info_field(again.port, "aof_enabled"), "0");
    let size = std::fs::metadata(dir.0.join("appendonlydir/appendonly.aof.1.incr.aof"))
        .map(|m| m.len())
        .unwrap_or(0);
    c.cmd(&["SET", "unlogged", "x"]);
    std::thread::sleep(Duration::from_millis(50));
    let size_after = std::fs::metadata(dir.0.join("appendonlydir/appendonly.aof.1.incr.aof"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(size, size_after, "nothing is logged once the AOF is off");
}

#[test]
fn info_reports_the_aof_and_a_redis_aof_state_compares() {
    let dir = TempDir::new("aof-info");
    let ours = ferrodis_aof(&dir.0, &[]);
    let redis: ServerProcess = start_redis(&["--appendonly", "yes"]);
    for port in [ours.port, redis.port] {
        assert_eq!(info_field(port, "aof_enabled"), "1");
        assert_eq!(info_field(port, "aof_last_write_status"), "ok");
        assert_eq!(info_field(port, "aof_rewrite_in_progress"), "0");
        let before: u64 = info_field(port, "aof_current_size").parse().expect("size");
        RawClient::connect(port).cmd(&["SET", "k", "v"]);
        std::thread::sleep(Duration::from_millis(1100));
        let after: u64 = info_field(port, "aof_current_size").parse().expect("size");
        assert!(after > before, "port {port}: {before} -> {after}");
    }
}

#[test]
fn an_unusable_aof_dir_is_reported_and_the_server_keeps_serving() {
    // `appenddirname` names a regular file: the directory cannot be made.
    let replies: Vec<Vec<String>> = ["ferrodis", "redis"]
        .iter()
        .map(|kind| {
            let dir = TempDir::new("aof-blocked");
            std::fs::write(dir.0.join("blocker"), b"not a directory").expect("write");
            let port = free_port();
            let mut cmd = if *kind == "ferrodis" {
                common::ferrodis_command(port)
            } else {
                common::redis_command(port)
            };
            let mut child = cmd
                .arg("--dir")
                .arg(&dir.0)
                .args(["--appendonly", "no", "--appenddirname", "blocker"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            wait_for_pong(port, &mut child);
            let _server = Server { child, port };
            let mut c = RawClient::connect(port);
            let replies = vec![
                c.text(&["CONFIG", "SET", "appendonly", "yes"]),
                c.text(&["CONFIG", "GET", "appendonly"]),
                c.text(&["BGREWRITEAOF"]),
                c.text(&["SET", "still", "serving"]),
                info_field(port, "aof_enabled"),
            ];
            replies
        })
        .collect();
    assert_eq!(
        replies[0][0],
        "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.\r\n"
    );
    assert_eq!(replies[0], replies[1], "ferrodis and redis-server differ");
}

#[test]
fn the_aof_is_rewritten_automatically_once_it_has_grown_enough() {
    let dir = TempDir::new("aof-auto");
    let ours = ferrodis_aof(
        &dir.0,
        &[
            "--auto-aof-rewrite-min-size",
            "1mb",
            "--auto-aof-rewrite-percentage",
            "100",
        ],
    );
    let mut c = RawClient::connect(ours.port);
    let value = "v".repeat(1000);
    // The same 100 keys over and over: the log grows, the data does not.
    let mut pipeline = Vec::new();
    for i in 0..3000 {
        pipeline.extend(RawClient::encode(&[
            b"SET",
            format!("k{}", i % 100).as_bytes(),
            value.as_bytes(),
        ]));
    }
    c.send_raw(&pipeline);
    for _ in 0..3000 {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(ours.port, "aof_rewrites") == "0" {
        assert!(Instant::now() < deadline, "no automatic rewrite");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_for_rewrite(ours.port);
    let size: u64 = info_field(ours.port, "aof_current_size")
        .parse()
        .expect("size");
    assert!(size < 1 << 20, "the rewritten log is compact: {size} bytes");
    let expected = contents(ours.port);
    shutdown(ours);
    let again = ferrodis_aof(&dir.0, &[]);
    assert_eq!(contents(again.port), expected);
}

/// Sets the file size limit of process `pid` (root may raise it again).
fn set_file_size_limit(pid: u32, bytes: u64) {
    let lim = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit only reads `lim`.
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &lim,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

#[test]
fn a_full_disk_refuses_writes_with_misconf_and_loses_nothing_once_it_has_room() {
    use std::os::unix::process::CommandExt;
    let dir = TempDir::new("aof-full");
    let port = free_port();
    let mut cmd = common::ferrodis_command(port);
    cmd.arg("--dir")
        .arg(&dir.0)
        .args(["--appendonly", "yes", "--appendfsync", "everysec"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // A write past the size limit then fails with EFBIG instead of killing
    // the process with SIGXFSZ: the way a full disk fails a write.
    // SAFETY: only signal() runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn");
    wait_for_pong(port, &mut child);
    let server = Server { child, port };
    let pid = server.child.id();
    set_file_size_limit(pid, 64 * 1024);
    let mut c = RawClient::connect(port);
    let value = "x".repeat(1000);
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let refusal = loop {
        let key = format!("k{}", acked.len());
        let reply = c.text(&["SET", &key, &value]);
        if reply.starts_with("-") {
            break reply;
        }
        assert_eq!(reply, "+OK\r\n");
        acked.push(key);
        assert!(Instant::now() < deadline, "writes never failed");
        std::thread::sleep(Duration::from_millis(1));
    };
    assert_eq!(
        refusal,
        "-MISCONF Errors writing to the AOF file: File too large\r\n"
    );
    assert_eq!(info_field(port, "aof_last_write_status"), "err");
    // Reads go on.
    assert_eq!(c.text(&["EXISTS", &acked[0]]), ":1\r\n");
    // Room again: the buffered writes go out and writes are accepted.
    set_file_size_limit(pid, u64::MAX);
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(port, "aof_last_write_status") != "ok" {
        assert!(Instant::now() < deadline, "the write error did not clear");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(c.text(&["SET", "after", "room"]), "+OK\r\n");
    let expected = contents(port);
    shutdown(server);
    let again = ferrodis_aof(&dir.0, &[]);
    let restored = contents(again.port);
    assert_eq!(restored, expected);
    assert!(
        acked.len() > 10 && restored.len() == acked.len() + 1,
        "{} acknowledged",
        acked.len()
    );
}

#[test]
fn an_old_style_aof_with_an_rdb_preamble_is_migrated_as_redis_7_does() {
    // Redis before 7: one appendonly.aof in `dir`, an RDB preamble followed
    // by commands. Built here from a dump and a tail of commands.
    let redis = start_redis(&[]);
    fill(redis.port);
    assert_eq!(RawClient::connect(redis.port).cmd(&["SAVE"]), b"+OK\r\n");
    let reply = RawClient::connect(redis.port).cmd(&["CONFIG", "GET", "dir"]);
    let redis_dir =
        std::path::PathBuf::from(String::from_utf8_lossy(&bulks(&reply)[1]).into_owned());
    let mut old_style = std::fs::read(redis_dir.join("dump.rdb")).expect("dump");
    drop(redis);
    for cmd in [
        &[&b"SELECT"[..], b"0"][..],
        &[b"SET", b"tail", b"from the tail"],
        &[b"RPUSH", b"l:small", b"pushed"],
        &[b"INCR", b"s:int"],
        &[b"SELECT", b"3"],
        &[b"DEL", b"db3:key"],
    ] {
        old_style.extend(RawClient::encode(cmd));
    }
    let listings: Vec<_> = ["ferrodis", "redis"]
        .iter()
        .map(|kind| {
            let dir = TempDir::new("aof-old-style");
            std::fs::write(dir.0.join("appendonly.aof"), &old_style).expect("write");
            let server = if *kind == "ferrodis" {
                ferrodis_aof(&dir.0, &[])
            } else {
                redis_aof(&dir.0, &[])
            };
            let listing = contents(server.port);
            shutdown(server);
            assert!(
                !dir.0.join("appendonly.aof").exists(),
                "{kind}: the old file moved"
            );
            check_aof(&dir.0);
            (listing, dir)
        })
        .collect();
    assert_eq!(listings[0].0, listings[1].0);
    let ours = &listings[0].0;
    assert!(
        ours.values().any(|v| v.contains("from the tail")),
        "the tail was replayed"
    );
    assert!(!ours.contains_key(&(3, b"db3:key".to_vec())));
    // And it loads again from its new place.
    let again = ferrodis_aof(&listings[0].1 .0, &[]);
    assert_eq!(&contents(again.port), ours);
}
