//! Keyspace commands compared with Redis, plus property and timing tests
//! for what is not deterministic (SCAN, RANDOMKEY, expiry).

mod common;

use common::{start_ferrodis, RawClient};
use std::collections::HashSet;
use std::time::{Duration, Instant};

#[test]
fn del_unlink_exists_touch_type() {
    let n = common::differential(|p| {
        p.script(
            r#"
            SET a 1
            SET b 2
            RPUSH l x y
            HSET h f v
            EXISTS a
            EXISTS a a a nokey b
            EXISTS nokey
            TOUCH a b nokey a
            TYPE a
            TYPE l
            TYPE h
            TYPE nokey
            DEL a nokey a
            DEL a
            UNLINK b l nokey
            EXISTS a b l h
            DEL
            UNLINK
            EXISTS
            TOUCH
            TYPE
            TYPE a b
            "#,
        );
    });
    assert!(n >= 40, "compared {n}");
}

#[test]
fn unlink_large_values() {
    let n = common::differential(|p| {
        for i in 0..300 {
            p.same(&["RPUSH", "biglist", &i.to_string()]);
            p.same(&["HSET", "bighash", &format!("f{i}"), "v"]);
        }
        p.script(
            r#"
            UNLINK biglist bighash nokey
            EXISTS biglist bighash
            DBSIZE
            "#,
        );
    });
    assert!(n >= 1200, "compared {n}");
}

#[test]
fn expire_family_options_and_errors() {
    let n = common::differential(|p| {
        p.script(
            r#"
            SET k v
            EXPIRE k 100
            TTL k
            EXPIRE k 100 NX
            EXPIRE k 200 XX
            TTL k
            EXPIRE k 100 GT
            EXPIRE k 300 GT
            TTL k
            EXPIRE k 400 LT
            EXPIRE k 250 LT
            TTL k
            PERSIST k
            PERSIST k
            TTL k
            EXPIRE k 100 XX
            EXPIRE k 100 GT
            EXPIRE k 100 LT
            TTL k
            PERSIST k
            EXPIRE k 100 NX
            EXPIRE k 100 nx xx
            EXPIRE k 100 NX GT
            EXPIRE k 100 NX LT
            EXPIRE k 100 GT LT
            EXPIRE k 200 GT GT
            EXPIRE k 100 foo
            EXPIRE k abc
            EXPIRE k 1.5
            EXPIRE k 9223372036854775807
            EXPIRE k -9223372036854775808
            PEXPIRE k 9223372036854775807
            EXPIREAT k 9223372036854775807
            PEXPIREAT k 9223372036854775807
            EXPIRE k 9223372036854775
            PEXPIREAT k 9223372036854775806
            TTL k
            EXPIRETIME k
            PEXPIRETIME k
            EXPIREAT k 4102444800
            EXPIRETIME k
            PEXPIRETIME k
            PEXPIREAT k 4102444800123
            EXPIRETIME k
            PEXPIRETIME k
            EXPIRE nokey 100
            TTL nokey
            PTTL nokey
            EXPIRETIME nokey
            PEXPIRETIME nokey
            PERSIST nokey
            SET k2 v
            TTL k2
            PTTL k2
            EXPIRETIME k2
            PEXPIRETIME k2
            EXPIRE k2 -1
            EXISTS k2
            SET k2 v
            PEXPIRE k2 0
            EXISTS k2
            SET k2 v
            EXPIREAT k2 100
            EXISTS k2
            SET k2 v
            EXPIRE k2 100
            SET k2 w
            TTL k2
            EXPIRE
            EXPIRE k
            TTL
            PTTL a b
            PERSIST
            EXPIRETIME
            "#,
        );
    });
    assert!(n >= 140, "compared {n}");
}

#[test]
fn rename_copy_move() {
    let n = common::differential(|p| {
        p.script(
            r#"
            SET a 1
            EXPIREAT a 4102444800
            RENAME a b
            EXISTS a
            GET b
            EXPIRETIME b
            RENAME b b
            RENAMENX b b
            RENAME nokey x
            RENAMENX nokey x
            SET c 3
            RENAMENX b c
            RENAMENX b d
            RENAME d c
            GET c
            EXPIRETIME c
            RPUSH l 1 2 3
            RENAME l l2
            RPOP l2
            RENAME
            RENAME a
            RENAMENX a b c
            COPY c c
            COPY c c2
            GET c2
            EXPIRETIME c2
            COPY c c2
            COPY c c2 REPLACE
            COPY nokey c2 REPLACE
            COPY l2 l3
            RPOP l3
            RPUSH l3 4
            RPOP l3
            RPOP l2
            RPOP l2
            RPOP l2
            HSET h f v
            COPY h h2
            HGETALL h2
            COPY c c DB 1
            COPY c c DB 0
            COPY c c DB 16
            COPY c c DB -1
            COPY c c DB abc
            COPY c c DB
            COPY c c2 REPLACE foo
            COPY c c2 replace replace
            SELECT 1
            GET c
            EXPIRETIME c
            COPY c c DB 0
            COPY c c DB 0 REPLACE
            SELECT 0
            COPY
            COPY a
            MOVE c 1
            MOVE c 0
            MOVE c 16
            MOVE c -1
            MOVE c abc
            MOVE c 4294967296
            MOVE nokey 1
            SET m 1
            EXPIREAT m 4102444800
            MOVE m 2
            EXISTS m
            SELECT 2
            GET m
            EXPIRETIME m
            SET m2 x
            SELECT 0
            SET m2 y
            MOVE m2 2
            GET m2
            MOVE
            MOVE a
            "#,
        );
    });
    assert!(n >= 140, "compared {n}");
}

#[test]
fn keys_randomkey_dbsize_flush_swapdb() {
    let n = common::differential(|p| {
        p.script(
            r#"
            KEYS *
            RANDOMKEY
            DBSIZE
            SET foo 1
            KEYS *
            KEYS f*
            KEYS x*
            KEYS "f[o]?"
            RANDOMKEY
            DBSIZE
            SELECT 3
            SET bar 2
            DBSIZE
            SWAPDB 0 3
            DBSIZE
            GET bar
            SWAPDB 0 0
            SWAPDB 0 16
            SWAPDB -1 0
            SWAPDB a 0
            SWAPDB 0 a
            SWAPDB 0 1.5
            SWAPDB 4294967296 0
            SWAPDB 0
            SELECT 0
            GET foo
            FLUSHDB foo
            FLUSHDB SYNC ASYNC
            FLUSHALL foo
            FLUSHDB ASYNC
            DBSIZE
            SELECT 3
            DBSIZE
            FLUSHALL async
            DBSIZE
            SET x 1
            FLUSHDB sync
            SET x 1
            FLUSHALL SYNC
            FLUSHALL
            FLUSHDB
            DBSIZE x
            RANDOMKEY x
            KEYS
            KEYS a b
            SELECT 0
            "#,
        );
    });
    assert!(n >= 80, "compared {n}");
}

#[test]
fn object_subcommands() {
    let n = common::differential(|p| {
        p.script(
            r#"
            SET int 123
            SET bigint 12345678
            SET str hello
            SET long "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            RPUSH l a b
            HSET h f v
            OBJECT ENCODING int
            OBJECT ENCODING str
            OBJECT ENCODING long
            OBJECT ENCODING h
            OBJECT ENCODING nokey
            OBJECT REFCOUNT int
            OBJECT REFCOUNT bigint
            OBJECT REFCOUNT str
            OBJECT REFCOUNT nokey
            OBJECT IDLETIME str
            OBJECT IDLETIME nokey
            OBJECT FREQ str
            OBJECT FREQ nokey
            OBJECT HELP
            OBJECT help
            OBJECT
            OBJECT foo
            OBJECT foo bar
            OBJECT ENCODING
            OBJECT ENCODING a b
            OBJECT HELP x
            "#,
        );
    });
    assert!(n >= 50, "compared {n}");
}

#[test]
fn scan_errors_and_small_results() {
    let n = common::differential(|p| {
        p.script(
            r#"
            SCAN 0
            SET only 1
            SCAN 0
            SCAN 0 MATCH o*
            SCAN 0 MATCH x*
            SCAN 0 TYPE string
            SCAN 0 TYPE STRING
            SCAN 0 TYPE list
            SCAN 0 TYPE nosuchtype
            SCAN 0 COUNT 1000
            SCAN 0 COUNT 0
            SCAN 0 COUNT -1
            SCAN 0 COUNT abc
            SCAN 0 COUNT
            SCAN 0 MATCH
            SCAN 0 TYPE
            SCAN 0 FOO bar
            SCAN abc
            SCAN "-"
            SCAN "+"
            SCAN " 0"
            SCAN "0 "
            SCAN 18446744073709551616
            SCAN 1.5
            SCAN
            "#,
        );
    });
    assert!(n >= 40, "compared {n}");
}

/// Runs a full SCAN iteration with `count`, returning every key seen.
fn full_scan(
    c: &mut RawClient,
    count: usize,
    mut between: impl FnMut(&mut RawClient),
) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    let mut rounds = 0;
    loop {
        let reply = c.text(&["SCAN", &cursor, "COUNT", &count.to_string()]);
        let mut lines = reply.lines();
        // "*2", "$n", cursor, "*m", then "$len"/key pairs.
        lines.next();
        lines.next();
        cursor = lines.next().unwrap_or("0").to_string();
        lines.next();
        let rest: Vec<&str> = lines.collect();
        for pair in rest.chunks(2) {
            if pair.len() == 2 {
                keys.push(pair[1].to_string());
            }
        }
        between(c);
        rounds += 1;
        assert!(rounds < 1_000_000, "SCAN does not terminate");
        if cursor == "0" {
            return keys;
        }
    }
}

#[test]
fn scan_returns_every_key_present_throughout() {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    let mut writer = RawClient::connect(server.port);
    for i in 0..2000 {
        c.cmd(&["SET", &format!("stable:{i}"), "v"]);
    }
    // Plain iteration: every key exactly once is not promised, but every key
    // at least once is.
    let seen: HashSet<String> = full_scan(&mut c, 37, |_| {}).into_iter().collect();
    for i in 0..2000 {
        assert!(seen.contains(&format!("stable:{i}")), "missed stable:{i}");
    }
    // Now insert and delete other keys between steps, growing and shrinking
    // the tables while the iteration runs.
    let mut step = 0;
    let seen: HashSet<String> = full_scan(&mut c, 11, |_| {
        step += 1;
        for j in 0..40 {
            writer.cmd(&["SET", &format!("churn:{step}:{j}"), "v"]);
        }
        if step % 3 == 0 {
            for j in 0..40 {
                writer.cmd(&["DEL", &format!("churn:{}:{j}", step - 2)]);
            }
        }
    })
    .into_iter()
    .collect();
    for i in 0..2000 {
        assert!(
            seen.contains(&format!("stable:{i}")),
            "missed stable:{i} under churn"
        );
    }
    // A concurrent writer on another connection inserting and deleting keys
    // the whole time (tables grow and shrink under the iteration).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer_thread = {
        let stop = stop.clone();
        let port = server.port;
        std::thread::spawn(move || {
            let mut w = RawClient::connect(port);
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 200_000 {
                w.cmd(&["SET", &format!("bg:{i}"), "v"]);
                if i >= 500 {
                    w.cmd(&["DEL", &format!("bg:{}", i - 500)]);
                }
                i += 1;
            }
        })
    };
    for round in 0..5 {
        let seen: HashSet<String> = full_scan(&mut c, 5 + round * 20, |_| {})
            .into_iter()
            .collect();
        for i in 0..2000 {
            assert!(
                seen.contains(&format!("stable:{i}")),
                "missed stable:{i} with a concurrent writer"
            );
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = writer_thread.join();
    // Deleting most keys shrinks the tables mid-iteration.
    let mut deleted = false;
    let seen: HashSet<String> = full_scan(&mut c, 50, |w| {
        if !deleted {
            deleted = true;
            w.cmd(&["FLUSHDB"]);
        }
    })
    .into_iter()
    .collect();
    let _ = seen;
    // MATCH and TYPE filter but keep the cursor contract.
    c.cmd(&["RPUSH", "alist", "x"]);
    for i in 0..100 {
        c.cmd(&["SET", &format!("s:{i}"), "v"]);
    }
    let mut cursor = "0".to_string();
    let mut lists = 0;
    loop {
        let reply = c.text(&["SCAN", &cursor, "TYPE", "list", "COUNT", "7"]);
        let lines: Vec<&str> = reply.lines().collect();
        cursor = lines[2].to_string();
        lists += lines.iter().filter(|l| **l == "alist").count();
        assert!(!lines.iter().any(|l| l.starts_with("s:")));
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(lists, 1);
}

#[test]
fn scan_hides_expired_keys_and_keys_too() {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    for i in 0..50 {
        c.cmd(&["SET", &format!("gone:{i}"), "v"]);
        c.cmd(&["PEXPIRE", &format!("gone:{i}"), "30"]);
        c.cmd(&["SET", &format!("kept:{i}"), "v"]);
    }
    std::thread::sleep(Duration::from_millis(60));
    let seen = full_scan(&mut c, 1000, |_| {});
    assert!(
        seen.iter().all(|k| k.starts_with("kept:")),
        "expired key visible"
    );
    assert_eq!(seen.len(), 50);
    let keys = c.text(&["KEYS", "*"]);
    assert!(keys.starts_with("*50\r\n"), "{keys}");
    assert!(!keys.contains("gone:"));
}

#[test]
fn randomkey_properties() {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    assert_eq!(c.cmd(&["RANDOMKEY"]), b"$-1\r\n");
    let mut all = HashSet::new();
    for i in 0..20 {
        let k = format!("rk:{i}");
        c.cmd(&["SET", &k, "v"]);
        all.insert(k);
    }
    let mut seen = HashSet::new();
    for _ in 0..1000 {
        let r = c.text(&["RANDOMKEY"]);
        let key = r.lines().nth(1).unwrap_or_default().to_string();
        assert!(all.contains(&key), "RANDOMKEY returned {key:?}");
        seen.insert(key);
    }
    // With 1000 draws over 20 keys, every key shows up.
    assert_eq!(seen.len(), 20);
    // Expired keys are never returned.
    c.cmd(&["FLUSHALL"]);
    c.cmd(&["SET", "live", "v"]);
    for i in 0..20 {
        c.cmd(&["SET", &format!("dead:{i}"), "v"]);
        c.cmd(&["PEXPIRE", &format!("dead:{i}"), "20"]);
    }
    std::thread::sleep(Duration::from_millis(40));
    for _ in 0..100 {
        let r = c.text(&["RANDOMKEY"]);
        assert!(r.contains("live") || r == "$-1\r\n", "{r}");
    }
}

#[test]
fn expired_keys_are_invisible_with_ms_precision() {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    c.cmd(&["SET", "k", "v"]);
    c.cmd(&["PEXPIRE", "k", "100"]);
    assert_eq!(c.cmd(&["EXISTS", "k"]), b":1\r\n");
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(c.cmd(&["EXISTS", "k"]), b":0\r\n");
    assert_eq!(c.cmd(&["TYPE", "k"]), b"+none\r\n");
    assert_eq!(c.cmd(&["TTL", "k"]), b":-2\r\n");
    assert_eq!(c.cmd(&["GET", "k"]), b"$-1\r\n");
    // PEXPIRE precision: a 250 ms TTL is still there at 150 ms.
    c.cmd(&["SET", "p", "v"]);
    c.cmd(&["PEXPIRE", "p", "250"]);
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(c.cmd(&["EXISTS", "p"]), b":1\r\n");
    let pttl = c.text(&["PTTL", "p"]);
    let ms: i64 = pttl.trim_start_matches(':').trim().parse().unwrap_or(-9);
    assert!((1..=100).contains(&ms), "PTTL {ms}");
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(c.cmd(&["EXISTS", "p"]), b":0\r\n");
}

#[test]
fn active_expiry_reclaims_untouched_keys() {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    let mut batch = Vec::new();
    for i in 0..1000 {
        let k = format!("vol:{i}");
        batch.extend(RawClient::encode(&[b"SET", k.as_bytes(), b"v"]));
        batch.extend(RawClient::encode(&[b"PEXPIRE", k.as_bytes(), b"50"]));
    }
    c.send_raw(&batch);
    for _ in 0..2000 {
        c.read_reply();
    }
    assert_eq!(c.cmd(&["DBSIZE"]), b":1000\r\n");
    let start = Instant::now();
    loop {
        if c.cmd(&["DBSIZE"]) == b":0\r\n" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "active expiry too slow"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn object_freq_counts_accesses_under_lfu() {
    // With lfu-log-factor 0 every access adds one to the counter, so the
    // counts are deterministic and must match Redis's exactly: new keys
    // start at 5, reads, writes and TOUCH count, OBJECT does not, and an
    // overwritten key keeps its counter. (GETSET and SET ... GET are left
    // out: Redis looks the key up twice there and counts two accesses;
    // ferrodis counts one access per key per command.)
    let n = common::differential(|p| {
        p.script(
            r#"
            CONFIG SET maxmemory-policy allkeys-lfu
            CONFIG SET lfu-log-factor 0
            SET s v
            OBJECT FREQ s
            GET s
            GET s
            OBJECT FREQ s
            OBJECT FREQ s
            SET s w
            OBJECT FREQ s
            APPEND s x
            STRLEN s
            OBJECT FREQ s
            TOUCH s
            EXISTS s
            TYPE s
            OBJECT FREQ s
            SET n 100000
            INCR n
            INCRBY n 5
            OBJECT FREQ n
            HSET h f v
            HGET h f
            HSET h g w
            OBJECT FREQ h
            RPUSH l a b c
            LRANGE l 0 -1
            LPOP l
            OBJECT FREQ l
            GETDEL l
            OBJECT FREQ l
            OBJECT IDLETIME s
            SET small 7
            OBJECT REFCOUNT small
            CONFIG SET maxmemory 0
            CONFIG SET maxmemory-policy noeviction
            OBJECT FREQ s
            CONFIG SET lfu-log-factor 10
            "#,
        );
    });
    assert!(n >= 30);
}

#[test]
fn object_idletime_tracks_access_and_no_touch() {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    c.cmd(&["SET", "k", "v"]);
    std::thread::sleep(Duration::from_millis(2100));
    let idle = c.text(&["OBJECT", "IDLETIME", "k"]);
    assert!(idle == ":2\r\n" || idle == ":3\r\n", "{idle}");
    // OBJECT itself does not count as an access.
    assert_eq!(c.text(&["OBJECT", "IDLETIME", "k"]), idle);
    // CLIENT NO-TOUCH reads leave it alone, TOUCH still touches.
    c.cmd(&["CLIENT", "NO-TOUCH", "on"]);
    c.cmd(&["GET", "k"]);
    let after = c.text(&["OBJECT", "IDLETIME", "k"]);
    if after != ":0\r\n" {
        // Only meaningful where CLIENT NO-TOUCH is implemented.
        assert_eq!(after, idle);
        c.cmd(&["TOUCH", "k"]);
        assert_eq!(c.text(&["OBJECT", "IDLETIME", "k"]), ":0\r\n");
        c.cmd(&["CLIENT", "NO-TOUCH", "off"]);
    }
    c.cmd(&["GET", "k"]);
    assert_eq!(c.text(&["OBJECT", "IDLETIME", "k"]), ":0\r\n");
}

#[test]
fn renamed_copied_moved_hashes_keep_field_expiry_reclamation() {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    for (op, args) in [
        ("RENAME", vec!["RENAME", "h", "h2"]),
        ("COPY", vec!["COPY", "h", "h2"]),
        ("MOVE", vec!["MOVE", "h", "1"]),
    ] {
        c.cmd(&["FLUSHALL"]);
        c.cmd(&["HSET", "h", "f", "v"]);
        assert_eq!(
            c.cmd(&["HPEXPIRE", "h", "100", "FIELDS", "1", "f"]),
            b"*1\r\n:1\r\n"
        );
        assert!(!c.text(&args).starts_with('-'), "{op} failed");
        if op == "COPY" {
            c.cmd(&["DEL", "h"]);
        }
        if op == "MOVE" {
            c.cmd(&["SELECT", "1"]);
        }
        // Never read again: only background reclamation can delete it.
        let start = Instant::now();
        while c.cmd(&["DBSIZE"]) != b":0\r\n" {
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "{op}: not reclaimed"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        c.cmd(&["SELECT", "0"]);
    }
}

#[test]
fn rename_move_copy_count_as_accesses() {
    // As in Redis, the lookups of RENAME, MOVE and COPY touch the keys, so
    // every key involved reads as just accessed.
    let ours = start_ferrodis(&[]);
    let redis = common::start_redis(&[]);
    let mut clients: Vec<RawClient> = [ours.port, redis.port]
        .into_iter()
        .map(RawClient::connect)
        .collect();
    for c in clients.iter_mut() {
        c.cmd(&["SET", "a", "v"]);
        c.cmd(&["SET", "b", "v"]);
        c.cmd(&["SET", "c", "v"]);
        c.cmd(&["SET", "untouched", "v"]);
    }
    std::thread::sleep(Duration::from_millis(2200));
    for c in clients.iter_mut() {
        c.cmd(&["RENAME", "a", "a2"]);
        c.cmd(&["MOVE", "b", "1"]);
        c.cmd(&["COPY", "c", "c2"]);
        let idle = |c: &mut RawClient, k: &str| -> i64 {
            let r = c.text(&["OBJECT", "IDLETIME", k]);
            r.trim().trim_start_matches(':').parse().unwrap_or(-1)
        };
        assert!(idle(c, "untouched") >= 2);
        for k in ["a2", "c", "c2"] {
            assert!((0..=1).contains(&idle(c, k)), "{k}");
        }
        c.cmd(&["SELECT", "1"]);
        assert!((0..=1).contains(&idle(c, "b")));
        c.cmd(&["SELECT", "0"]);
    }
}
