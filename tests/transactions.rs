//! MULTI / EXEC / DISCARD / WATCH / UNWATCH compared with Redis, including
//! WATCH across clients, expiry and whole-database commands.

mod common;

use common::{start_ferrodis, start_redis, Pair, RawClient};
use std::time::Duration;

/// Starts both servers and runs `f` with two sessions per server (`a`, `b`)
/// over RESP2 and then RESP3.
fn two_clients(f: impl Fn(&mut Pair, &mut Pair)) -> usize {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    let mut total = 0;
    for resp in [2, 3] {
        let mut a = Pair::connect(&ours, &redis, resp);
        let mut b = Pair::connect(&ours, &redis, resp);
        a.same(&["FLUSHALL"]);
        f(&mut a, &mut b);
        total += a.compared + b.compared;
    }
    total
}

#[test]
fn multi_exec_discard_basics() {
    let n = common::differential(|p| {
        p.script(
            r#"
            EXEC
            DISCARD
            MULTI
            SET a 1
            GET a
            RPUSH l x
            EXEC
            MULTI
            EXEC
            MULTI
            MULTI
            SET b 2
            EXEC
            MULTI
            SET c 3
            DISCARD
            EXISTS c
            MULTI x
            EXEC x
            DISCARD x
            "#,
        );
    });
    assert!(n >= 40, "compared {n}");
}

#[test]
fn queue_time_errors_abort_exec() {
    let n = common::differential(|p| {
        p.script(
            r#"
            MULTI
            SET a 1
            NOSUCHCOMMAND x
            SET b 2
            EXEC
            EXISTS a b
            MULTI
            SET a
            EXEC
            MULTI
            GET
            DISCARD
            EXISTS a
            MULTI
            OBJECT nosuchsub k
            EXEC
            MULTI
            EXPIRE a
            EXEC
            "#,
        );
    });
    assert!(n >= 25, "compared {n}");
}

#[test]
fn run_time_errors_do_not_stop_exec() {
    let n = common::differential(|p| {
        p.script(
            r#"
            SET s v
            MULTI
            LPOP s
            SET t 1
            HGET s f
            EXPIRE t abc
            RENAME nokey x
            GET t
            EXEC
            GET t
            "#,
        );
    });
    assert!(n >= 20, "compared {n}");
}

#[test]
fn select_and_keyspace_commands_inside_multi() {
    let n = common::differential(|p| {
        p.script(
            r#"
            MULTI
            SELECT 2
            SET a 1
            SELECT 0
            SET a 0
            DBSIZE
            SWAPDB 0 2
            GET a
            EXEC
            GET a
            SELECT 2
            GET a
            SELECT 0
            MULTI
            SELECT 3
            EXEC
            SET here 1
            SELECT 0
            EXISTS here
            SELECT 3
            EXISTS here
            SELECT 0
            MULTI
            KEYS *
            FLUSHALL
            DBSIZE
            EXEC
            "#,
        );
    });
    assert!(n >= 40, "compared {n}");
}

#[test]
fn watch_rules_in_one_session() {
    let n = common::differential(|p| {
        p.script(
            r#"
            WATCH
            WATCH a
            MULTI
            WATCH a
            SET a 1
            EXEC
            WATCH a
            SET a 2
            MULTI
            GET a
            EXEC
            WATCH a
            UNWATCH
            SET a 3
            MULTI
            GET a
            EXEC
            WATCH a b c
            MULTI
            UNWATCH
            EXEC
            WATCH a
            MULTI
            DISCARD
            SET a 5
            MULTI
            GET a
            EXEC
            WATCH nokey
            MULTI
            GET nokey
            EXEC
            WATCH a
            EXPIRE a 100
            MULTI
            PING
            EXEC
            WATCH a
            PERSIST a
            MULTI
            PING
            EXEC
            WATCH a
            PERSIST a
            MULTI
            PING
            EXEC
            WATCH a
            DEL nokey
            MULTI
            PING
            EXEC
            UNWATCH x
            "#,
        );
    });
    assert!(n >= 60, "compared {n}");
}

#[test]
fn watch_fails_exec_when_another_client_writes() {
    let n = two_clients(|a, b| {
        a.same(&["SET", "k", "1"]);
        a.same(&["WATCH", "k"]);
        b.same(&["SET", "k", "2"]);
        a.same(&["MULTI"]);
        a.same(&["SET", "k", "3"]);
        a.same(&["EXEC"]);
        a.same(&["GET", "k"]);
        // A write to another key does not matter.
        a.same(&["WATCH", "k"]);
        b.same(&["SET", "other", "2"]);
        a.same(&["MULTI"]);
        a.same(&["SET", "k", "4"]);
        a.same(&["EXEC"]);
        // Writes in another database to the same name do not matter.
        a.same(&["WATCH", "k"]);
        b.same(&["SELECT", "1"]);
        b.same(&["SET", "k", "x"]);
        b.same(&["SELECT", "0"]);
        a.same(&["MULTI"]);
        a.same(&["SET", "k", "5"]);
        a.same(&["EXEC"]);
        // Deletion, rename, expire, copy, move by another client all count.
        for write in [
            vec!["DEL", "k"],
            vec!["RENAME", "k", "k2"],
            vec!["EXPIRE", "k", "100"],
            vec!["COPY", "src", "k", "REPLACE"],
            vec!["MOVE", "k", "2"],
            vec!["FLUSHDB"],
            vec!["FLUSHALL"],
            vec!["SWAPDB", "0", "1"],
            vec!["HSET", "k", "f", "v"],
        ] {
            a.same(&["FLUSHALL"]);
            a.same(&["SET", "k", "1"]);
            a.same(&["SET", "src", "s"]);
            a.same(&["WATCH", "k"]);
            b.same(&write);
            a.same(&["MULTI"]);
            a.same(&["PING"]);
            a.same(&["EXEC"]);
        }
        // FLUSHDB on a database without the watched key does not fail EXEC.
        a.same(&["FLUSHALL"]);
        a.same(&["SET", "k", "1"]);
        a.same(&["WATCH", "k"]);
        b.same(&["SELECT", "5"]);
        b.same(&["FLUSHDB"]);
        b.same(&["SELECT", "0"]);
        a.same(&["MULTI"]);
        a.same(&["PING"]);
        a.same(&["EXEC"]);
        // Watching a missing key that another client creates fails EXEC.
        a.same(&["WATCH", "fresh"]);
        b.same(&["SET", "fresh", "1"]);
        a.same(&["MULTI"]);
        a.same(&["PING"]);
        a.same(&["EXEC"]);
        // FLUSHALL of an empty keyspace touches no watched key.
        a.same(&["FLUSHALL"]);
        a.same(&["WATCH", "nokey"]);
        b.same(&["FLUSHALL"]);
        a.same(&["MULTI"]);
        a.same(&["PING"]);
        a.same(&["EXEC"]);
    });
    assert!(n >= 150, "compared {n}");
}

#[test]
fn watched_key_expiring_fails_exec() {
    for (ours, theirs) in [(start_ferrodis(&[]), start_redis(&[]))] {
        for port in [ours.port, theirs.port] {
            let mut c = RawClient::connect(port);
            c.cmd(&["SET", "k", "v"]);
            c.cmd(&["PEXPIRE", "k", "50"]);
            c.cmd(&["WATCH", "k"]);
            std::thread::sleep(Duration::from_millis(120));
            c.cmd(&["MULTI"]);
            c.cmd(&["PING"]);
            assert_eq!(c.cmd(&["EXEC"]), b"*-1\r\n", "port {port}");
            // A key that never existed and still does not stays unchanged.
            c.cmd(&["WATCH", "never"]);
            c.cmd(&["MULTI"]);
            c.cmd(&["PING"]);
            assert_eq!(c.cmd(&["EXEC"]), b"*1\r\n+PONG\r\n", "port {port}");
        }
    }
}

#[test]
fn exec_replies_in_resp3() {
    let n = common::differential(|p| {
        p.script(
            r#"
            HSET h f v
            MULTI
            HGETALL h
            GET nokey
            EXISTS h
            OBJECT ENCODING nokey
            EXEC
            WATCH h
            HSET h f w
            MULTI
            HGETALL h
            EXEC
            "#,
        );
    });
    assert!(n >= 20, "compared {n}");
}

#[test]
fn pipelined_multi_exec_like_client_libraries() {
    // redis-py and others send MULTI ... EXEC in one write.
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    for port in [ours.port, redis.port] {
        let mut c = RawClient::connect(port);
        let mut batch = Vec::new();
        for args in [
            &[&b"MULTI"[..]][..],
            &[b"SET", b"p", b"1"],
            &[b"GET", b"p"],
            &[b"EXEC"],
        ] {
            batch.extend(RawClient::encode(args));
        }
        c.send_raw(&batch);
        let replies: Vec<Vec<u8>> = (0..4).map(|_| c.read_reply()).collect();
        assert_eq!(replies[0], b"+OK\r\n");
        assert_eq!(replies[1], b"+QUEUED\r\n");
        assert_eq!(replies[2], b"+QUEUED\r\n");
        assert_eq!(replies[3], b"*2\r\n+OK\r\n$1\r\n1\r\n");
    }
}

#[test]
fn redis_py_pipeline_transaction() {
    let server = start_ferrodis(&[]);
    let script = format!(
        r#"
import redis, sys
r = redis.Redis(port={port})
p = r.pipeline(transaction=True)
p.set('a', 1).get('a').exists('a', 'a').expire('a', 100).ttl('a')
res = p.execute()
assert res == [True, b'1', 2, True, 100], res
with r.pipeline() as pipe:
    pipe.watch('a')
    r.set('a', 'changed')
    pipe.multi()
    pipe.set('a', 'mine')
    try:
        pipe.execute()
        sys.exit('watch did not fail')
    except redis.WatchError:
        pass
assert r.get('a') == b'changed'
print('ok')
"#,
        port = server.port
    );
    // redis-py 8 lives in .deps/py, installed by scripts/test.sh.
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".deps/py/bin/python");
    assert!(
        python.exists(),
        "{} not found: run scripts/test.sh, which installs redis-py 8",
        python.display()
    );
    let o = std::process::Command::new(python)
        .arg("-c")
        .arg(&script)
        .output()
        .expect("run python");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
