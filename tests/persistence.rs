//! RDB persistence: dump files and DUMP payloads exchanged with Debian's
//! redis-server in both directions, redis-check-rdb on ferrodis's files,
//! restarts, corrupt files, and RESTORE's errors compared with Redis.

mod common;

use common::dataset::{bulks, contents, fill};
use common::{start_ferrodis, start_redis, Pair, RawClient, ServerProcess, TempDir};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn save(port: u16) {
    assert_eq!(RawClient::connect(port).cmd(&["SAVE"]), b"+OK\r\n");
}

/// The directory a test server was started in, from CONFIG GET dir.
fn dir_of(port: u16) -> std::path::PathBuf {
    let reply = RawClient::connect(port).cmd(&["CONFIG", "GET", "dir"]);
    std::path::PathBuf::from(String::from_utf8_lossy(&bulks(&reply)[1]).into_owned())
}

fn copy_dump(from: &Path, to: &TempDir) {
    std::fs::copy(from.join("dump.rdb"), to.0.join("dump.rdb")).expect("copy dump.rdb");
}

/// Checks the dump in `dir` with redis-check-rdb, then loads a copy into a
/// fresh redis-server and compares its contents with `expected`.
fn assert_redis_accepts(dir: &Path, expected: &BTreeMap<(usize, Vec<u8>), String>) {
    let check = Command::new("redis-check-rdb")
        .arg(dir.join("dump.rdb"))
        .output()
        .expect("redis-check-rdb (Debian's redis-tools) must be installed");
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && report.contains("RDB looks OK!"),
        "{report}"
    );
    let copy = TempDir::new("redis-load");
    copy_dump(dir, &copy);
    let redis = start_redis(&["--dir", copy.0.to_str().expect("utf-8 path")]);
    assert_eq!(&contents(redis.port), expected);
}

fn start_ferrodis_in(dir: &TempDir) -> ServerProcess {
    start_ferrodis(&["--dir", dir.0.to_str().expect("utf-8 path")])
}

#[test]
fn a_dump_written_by_redis_loads_into_ferrodis_with_every_key_and_ttl() {
    let redis = start_redis(&[]);
    fill(redis.port);
    save(redis.port);
    let expected = contents(redis.port);
    assert!(
        expected.len() >= 14,
        "the fixture filled {} keys",
        expected.len()
    );

    let dir = TempDir::new("ferrodis-load");
    copy_dump(&dir_of(redis.port), &dir);
    let ours = start_ferrodis_in(&dir);
    assert_eq!(contents(ours.port), expected);
    let info = RawClient::connect(ours.port).text(&["INFO", "persistence"]);
    assert!(
        info.contains(&format!("rdb_last_load_keys_loaded:{}\r\n", expected.len())),
        "{info}"
    );
}

#[test]
fn a_dump_written_by_ferrodis_passes_redis_check_rdb_and_loads_into_redis() {
    let ours = start_ferrodis(&[]);
    fill(ours.port);
    let expected = contents(ours.port);
    save(ours.port);
    assert_redis_accepts(&dir_of(ours.port), &expected);
}

#[test]
fn uncompressed_and_unchecksummed_dumps_pass_redis_check_rdb_and_load_into_redis() {
    let ours = start_ferrodis(&["--rdbcompression", "no", "--rdbchecksum", "no"]);
    fill(ours.port);
    let expected = contents(ours.port);
    save(ours.port);
    assert_redis_accepts(&dir_of(ours.port), &expected);
}

#[test]
fn dump_payloads_restore_across_both_servers() {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    fill(ours.port);
    fill(redis.port);
    for (from, to) in [(&redis, &ours), (&ours, &redis)] {
        let mut src = RawClient::connect(from.port);
        let mut dst = RawClient::connect(to.port);
        for ((db, key), _) in contents(from.port) {
            src.cmd(&["SELECT", &db.to_string()]);
            dst.cmd(&["SELECT", &db.to_string()]);
            let payload = bulks(&src.cmd_bytes(&[b"DUMP", &key])).remove(0);
            let reply = dst.cmd_bytes(&[b"RESTORE", &key, b"0", &payload, b"REPLACE"]);
            assert_eq!(
                reply,
                b"+OK\r\n",
                "RESTORE of {}",
                String::from_utf8_lossy(&key)
            );
        }
        // TTLs are not part of a payload: clear them on the source side.
        for ((db, key), _) in contents(from.port) {
            src.cmd(&["SELECT", &db.to_string()]);
            src.cmd_bytes(&[b"PERSIST", &key]);
        }
        assert_eq!(contents(to.port), contents(from.port));
    }
}

#[test]
fn dump_and_restore_replies_match_redis() {
    common::differential(|p: &mut Pair| {
        p.script(
            "
            SET s value
            DUMP nosuchkey
            RESTORE s 0 garbage
            RESTORE fresh 0 garbage
            RESTORE fresh -1 garbage
            RESTORE fresh notanumber garbage
            RESTORE fresh 0 garbage BADOPTION
            RESTORE fresh 0 garbage IDLETIME -1
            RESTORE fresh 0 garbage IDLETIME
            RESTORE fresh 0 garbage FREQ 256
            RESTORE fresh 0 garbage FREQ 5 IDLETIME 5
            RESTORE fresh 0 garbage IDLETIME x
            RESTORE
            DUMP
            ",
        );
        // A payload from one server with a flipped byte: checksum error.
        let payload = bulks(&p.same(&["DUMP", "s"])).remove(0);
        let mut bad = payload.clone();
        bad[1] ^= 0xFF;
        p.same_bytes(&[b"RESTORE", b"x", b"0", &bad]);
        p.same_bytes(&[b"RESTORE", b"x", b"0", &payload[..payload.len() - 1]]);
        p.same_bytes(&[b"RESTORE", b"x", b"0", &payload]);
        p.same_bytes(&[b"RESTORE", b"x", b"0", &payload]);
        p.same_bytes(&[b"RESTORE", b"x", b"0", &payload, b"REPLACE", b"ABSTTL"]);
        p.same(&["GET", "x"]);
        // A TTL already in the past deletes the replaced key.
        p.same_bytes(&[b"RESTORE", b"x", b"1", &payload, b"REPLACE", b"ABSTTL"]);
        p.same(&["EXISTS", "x"]);
        p.same_bytes(&[b"RESTORE", b"y", b"100000", &payload]);
        p.same(&["TTL", "y"]);
    });
}

#[test]
fn a_restart_after_shutdown_save_keeps_the_data_and_field_ttls() {
    let dir = TempDir::new("ferrodis-restart");
    let before;
    {
        let ours = start_ferrodis_in(&dir);
        fill(ours.port);
        let mut c = RawClient::connect(ours.port);
        c.cmd(&["HSET", "h:fttl", "a", "1", "b", "2"]);
        assert_eq!(
            c.cmd(&["HPEXPIREAT", "h:fttl", "4102444800000", "FIELDS", "1", "a"]),
            b"*1\r\n:1\r\n"
        );
        before = contents(ours.port);
        assert!(
            c.cmd(&["SHUTDOWN", "SAVE"]).is_empty(),
            "SHUTDOWN closes without a reply"
        );
        let mut ours = ours;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while ours.is_running() {
            assert!(std::time::Instant::now() < deadline, "server did not exit");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let ours = start_ferrodis_in(&dir);
    assert_eq!(contents(ours.port), before);
    let mut c = RawClient::connect(ours.port);
    assert_eq!(
        c.cmd(&["HPEXPIRETIME", "h:fttl", "FIELDS", "2", "a", "b"]),
        b"*2\r\n:4102444800000\r\n:-1\r\n"
    );
    assert_eq!(
        c.text(&["OBJECT", "ENCODING", "h:fttl"]),
        "$10\r\nlistpackex\r\n"
    );
}

#[test]
fn a_corrupt_or_truncated_dump_stops_start_up_with_an_error() {
    let ours = start_ferrodis(&[]);
    fill(ours.port);
    save(ours.port);
    let good = std::fs::read(dir_of(ours.port).join("dump.rdb")).expect("read dump");
    drop(ours);
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    for (what, bytes) in [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("flipped byte", flipped),
        ("not an RDB file", b"hello world, this is no dump".to_vec()),
    ] {
        let dir = TempDir::new("ferrodis-corrupt");
        std::fs::write(dir.0.join("dump.rdb"), &bytes).expect("write dump");
        let out = Command::new(common::ferrodis_bin())
            .args(["--port", "0", "--dir", dir.0.to_str().expect("utf-8 path")])
            .output()
            .expect("run ferrodis-server");
        assert!(!out.status.success(), "{what}: the server started");
        let log = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            log.contains("dump.rdb"),
            "{what}: the error names the file: {log}"
        );
    }
}

/// Polls INFO until no background save runs; panics after 60 s.
fn wait_for_bgsave(port: u16) {
    let mut c = RawClient::connect(port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let info = c.text(&["INFO", "persistence"]);
        if info.contains("rdb_bgsave_in_progress:0") {
            assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "BGSAVE did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn bgsave_writes_a_dump_that_redis_check_rdb_and_redis_accept() {
    let ours = start_ferrodis(&[]);
    fill(ours.port);
    let expected = contents(ours.port);
    let mut c = RawClient::connect(ours.port);
    assert_eq!(c.text(&["BGSAVE"]), "+Background saving started\r\n");
    wait_for_bgsave(ours.port);
    assert_eq!(c.text(&["BGSAVE", "now"]), "-ERR syntax error\r\n");
    assert_redis_accepts(&dir_of(ours.port), &expected);
    // Inside EXEC it is only scheduled; the periodic task then starts it.
    assert_eq!(c.cmd(&["MULTI"]), b"+OK\r\n");
    c.cmd(&["BGSAVE"]);
    assert_eq!(c.text(&["EXEC"]), "*1\r\n+Background saving scheduled\r\n");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !c.text(&["INFO", "persistence"]).contains("rdb_saves:2") {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduled BGSAVE never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn bgsave_captures_one_instant_while_clients_keep_writing() {
    // Counters whose sum transactions keep constant, plus bulk keys that
    // writers overwrite, delete and expire while the save runs. The dump
    // must hold exactly the data of the instant BGSAVE started: every
    // counter at 1000, every bulk key with its first value, no new key.
    const COUNTERS: usize = 200;
    const BULK: usize = 150_000;
    let ours = start_ferrodis(&[]);
    let mut c = RawClient::connect(ours.port);
    let mut pipeline = Vec::new();
    for i in 0..COUNTERS {
        pipeline.extend(RawClient::encode(&[
            b"SET",
            format!("c:{i}").as_bytes(),
            b"1000",
        ]));
    }
    for i in 0..BULK {
        let value = format!("original value of bulk key number {i:08}");
        pipeline.extend(RawClient::encode(&[
            b"SET",
            format!("bulk:{i}").as_bytes(),
            value.as_bytes(),
        ]));
    }
    c.send_raw(&pipeline);
    for _ in 0..COUNTERS + BULK {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
    assert_eq!(c.text(&["BGSAVE"]), "+Background saving started\r\n");
    let mut writes_during_save = 0;
    let mut seed = 0x9e37_79b9_u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for round in 0.. {
        let (x, y) = (next(COUNTERS), next(COUNTERS));
        let b = next(BULK);
        let mut batch = Vec::new();
        batch.extend(RawClient::encode(&[b"MULTI"]));
        batch.extend(RawClient::encode(&[
            b"DECRBY",
            format!("c:{x}").as_bytes(),
            b"7",
        ]));
        batch.extend(RawClient::encode(&[
            b"INCRBY",
            format!("c:{y}").as_bytes(),
            b"7",
        ]));
        batch.extend(RawClient::encode(&[b"EXEC"]));
        let bulk_key = format!("bulk:{b}");
        batch.extend(match round % 4 {
            0 => RawClient::encode(&[b"SET", bulk_key.as_bytes(), b"changed"]),
            1 => RawClient::encode(&[b"DEL", bulk_key.as_bytes()]),
            2 => RawClient::encode(&[b"PEXPIRE", bulk_key.as_bytes(), b"1"]),
            _ => RawClient::encode(&[b"SET", format!("new:{round}").as_bytes(), b"x"]),
        });
        c.send_raw(&batch);
        for _ in 0..5 {
            let reply = c.read_reply();
            assert!(
                !reply.starts_with(b"-"),
                "{}",
                String::from_utf8_lossy(&reply)
            );
        }
        let saving = c
            .text(&["INFO", "persistence"])
            .contains("rdb_bgsave_in_progress:1");
        if !saving {
            break;
        }
        writes_during_save += 1;
    }
    wait_for_bgsave(ours.port);
    assert!(
        writes_during_save > 10,
        "only {writes_during_save} write rounds overlapped the save"
    );

    let copy = TempDir::new("ferrodis-pit");
    copy_dump(&dir_of(ours.port), &copy);
    let loaded = start_ferrodis_in(&copy);
    let mut l = RawClient::connect(loaded.port);
    assert_eq!(l.text(&["DBSIZE"]), format!(":{}\r\n", COUNTERS + BULK));
    for i in 0..COUNTERS {
        assert_eq!(
            l.text(&["GET", &format!("c:{i}")]),
            "$4\r\n1000\r\n",
            "counter {i}"
        );
    }
    for start in (0..BULK).step_by(1000) {
        let keys: Vec<String> = (start..start + 1000).map(|i| format!("bulk:{i}")).collect();
        let mut args: Vec<&str> = vec!["MGET"];
        args.extend(keys.iter().map(String::as_str));
        let values = bulks(&l.cmd(&args));
        for (i, v) in (start..).zip(values) {
            assert_eq!(
                v,
                format!("original value of bulk key number {i:08}").into_bytes()
            );
        }
    }
    assert_eq!(
        l.text(&["PERSIST", "bulk:1"]),
        ":0\r\n",
        "no TTL was set at the instant"
    );
}

#[test]
fn clients_get_loading_while_the_dump_loads_and_info_shows_progress() {
    let source = start_ferrodis(&[]);
    let mut c = RawClient::connect(source.port);
    for i in 0..300 {
        c.cmd(&["SET", &format!("k{i}"), "v"]);
    }
    save(source.port);
    let dir = TempDir::new("ferrodis-loading");
    copy_dump(&dir_of(source.port), &dir);
    let size = std::fs::metadata(dir.0.join("dump.rdb"))
        .expect("dump")
        .len();
    let port = common::free_port();
    // 10 ms per key: the load takes about 3 s.
    let child = common::ferrodis_command(port)
        .args([
            "--key-load-delay",
            "10000",
            "--dir",
            dir.0.to_str().expect("utf-8 path"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn ferrodis-server");
    // Stopped however the test ends.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _child = KillOnDrop(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut l = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            drop(s);
            break RawClient::connect(port);
        }
        assert!(std::time::Instant::now() < deadline, "never listened");
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert_eq!(
        l.text(&["PING"]),
        "-LOADING Redis is loading the dataset in memory\r\n"
    );
    assert_eq!(
        l.text(&["GET", "k1"]),
        "-LOADING Redis is loading the dataset in memory\r\n"
    );
    let info = l.text(&["INFO", "persistence"]);
    assert!(info.contains("loading:1\r\n"), "{info}");
    assert!(
        info.contains(&format!("loading_total_bytes:{size}\r\n")),
        "{info}"
    );
    while l.text(&["PING"]) != "+PONG\r\n" {
        assert!(std::time::Instant::now() < deadline + std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(l.text(&["DBSIZE"]), ":300\r\n");
    assert!(l.text(&["INFO", "persistence"]).contains("loading:0\r\n"));
}

#[test]
fn a_failed_background_save_refuses_writes_with_misconf_as_redis_does() {
    let dirs = [
        TempDir::new("ferrodis-misconf"),
        TempDir::new("redis-misconf"),
    ];
    let ours = start_ferrodis(&[
        "--save",
        "3600 1",
        "--dir",
        dirs[0].0.to_str().expect("path"),
    ]);
    let redis = start_redis(&[
        "--save",
        "3600 1",
        "--dir",
        dirs[1].0.to_str().expect("path"),
    ]);
    let mut p = Pair::connect(&ours, &redis, 2);
    p.same(&["SET", "k", "v"]);
    // A transaction queued before the failure, executed after it: EXEC
    // counts as a write and is refused, discarding the transaction.
    let mut queued = Pair::connect(&ours, &redis, 3);
    queued.same(&["MULTI"]);
    queued.same(&["SET", "k", "queued"]);
    queued.same(&["GET", "k"]);
    // The directory vanishes under the running servers: saving fails.
    for d in &dirs {
        std::fs::remove_dir_all(&d.0).expect("remove dir");
    }
    p.same(&["BGSAVE"]);
    for port in [ours.port, redis.port] {
        let mut c = RawClient::connect(port);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !c
            .text(&["INFO", "persistence"])
            .contains("rdb_last_bgsave_status:err")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the save did not fail"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    queued.same(&["EXEC"]);
    queued.same(&["EXEC"]);
    p.same(&["SET", "k", "other"]);
    p.same(&["PING"]);
    p.same(&["GET", "k"]);
    p.same(&["MULTI"]);
    p.same(&["SET", "k", "again"]);
    p.same(&["EXEC"]);
    p.same(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]);
    // ferrodis re-reads the setting on its next periodic tick.
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.same(&["SET", "k", "finally"]);
    p.same(&["GET", "k"]);
}
