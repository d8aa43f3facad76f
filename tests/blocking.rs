//! Blocking commands (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN,
//! BZPOPMAX, BZMPOP): replies compared with Redis byte for byte over RESP2
//! and RESP3, served and timed out; and Redis's guarantees: FIFO among
//! blocked clients (on either worker), pushes inside MULTI served after
//! EXEC, CLIENT UNBLOCK, disconnects, INFO and CLIENT LIST, the AOF.

mod common;

use common::{differential, start_ferrodis, start_redis, Pair, RawClient, TempDir};
use std::time::{Duration, Instant};

/// Sends `args` without reading the reply.
fn send(client: &mut RawClient, args: &[&str]) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    client.send_raw(&RawClient::encode(&args));
}

/// Sends `args` to both servers of `p` without reading the replies.
fn send_both(p: &mut Pair, args: &[&str]) {
    send(&mut p.ours, args);
    send(&mut p.redis, args);
}

/// Reads one reply from each server of `p` and compares them.
fn read_same(p: &mut Pair, what: &str) {
    let ours = p.ours.read_reply();
    let theirs = p.redis.read_reply();
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs),
        "served reply differs from Redis for {what}"
    );
}

/// Waits until `client`'s server reports `n` blocked clients.
fn wait_blocked(client: &mut RawClient, n: usize) {
    let want = format!("blocked_clients:{n}\r");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = String::from_utf8_lossy(&client.cmd(&["INFO", "clients"])).into_owned();
        if info.contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {want}: {info}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn immediate_pops_errors_timeouts_and_multi() {
    differential(|p| {
        p.script(
            r#"
            RPUSH l a b c d e
            BLPOP nol l 0
            BRPOP l nol 0
            BLMPOP 0 2 nol l LEFT COUNT 2
            BLMPOP 0 1 l RIGHT COUNT 10
            EXISTS l
            BLPOP l 0.01
            BRPOP l 0.001
            BLMPOP 0.01 1 l LEFT
            BLMOVE l m LEFT RIGHT 0.01
            BRPOPLPUSH l m 0.01
            RPUSH src 1 2 3
            BLMOVE src dst LEFT RIGHT 0
            BRPOPLPUSH src dst 0
            LRANGE dst 0 -1
            BLPOP l -1
            BLPOP l abc
            BLPOP l inf
            BLPOP l -inf
            BLPOP l nan
            BLPOP l 1e400
            BLPOP l 0x10
            BLPOP l ""
            BLPOP l " 1"
            BLMPOP x 1 l LEFT
            BLMPOP -1 1 l LEFT
            BLMPOP 0 0 l LEFT
            BLMPOP 0 1 l MIDDLE
            BLMPOP 0 1 l LEFT COUNT 0
            BLMPOP 0 1 l LEFT COUNT 1 COUNT 2
            BLMPOP 0 5 l LEFT
            BLMOVE l m UP RIGHT 0
            BLMOVE l m LEFT RIGHT -1
            BLPOP l
            ZADD z 1 a 2 b 3 c 4 d
            BZPOPMIN noz z 0
            BZPOPMAX z 0
            BZMPOP 0 2 noz z MIN COUNT 10
            BZPOPMIN z 0.01
            BZMPOP 0.01 1 z MAX
            BZPOPMIN z -1
            BZPOPMIN z x
            BZMPOP 0 1 z MIDDLE
            BZMPOP 0 0 z MIN
            BZMPOP 0 1 z MIN COUNT -1
            SET s str
            BLPOP nol s l 0
            BRPOP s 0
            BLMPOP 0 1 s LEFT
            BLMOVE s m LEFT LEFT 0
            RPUSH l2 x
            BLMOVE l2 s LEFT LEFT 0
            BZPOPMIN s 0
            BZMPOP 0 1 s MIN
            MULTI
            BLPOP nol 0
            BRPOPLPUSH nol m 0
            BLMOVE nol m LEFT LEFT 0
            BLMPOP 0 1 nol LEFT
            BZPOPMIN noz 0
            BZMPOP 0 1 noz MAX
            RPUSH nol a
            BLPOP nol 0
            EXEC
            "#,
        );
    });
}

#[test]
fn served_replies_match_redis() {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    for resp in [2, 3] {
        let mut blocked = Pair::connect(&ours, &redis, resp);
        let mut pusher = Pair::connect(&ours, &redis, 2);
        pusher.same(&["FLUSHALL"]);
        let cases: &[(&[&str], &[&[&str]])] = &[
            (&["BLPOP", "a", "b", "0"], &[&["RPUSH", "b", "x", "y"]]),
            (&["BRPOP", "a", "b", "0"], &[&["RPUSH", "a", "1", "2"]]),
            (
                &["BLMPOP", "0", "2", "c", "d", "RIGHT", "COUNT", "5"],
                &[&["RPUSH", "d", "1", "2", "3"]],
            ),
            (
                &["BLMOVE", "e", "f", "RIGHT", "LEFT", "0"],
                &[&["RPUSH", "e", "1", "2"], &["LRANGE", "f", "0", "-1"]],
            ),
            (
                &["BRPOPLPUSH", "g", "h", "0"],
                &[&["LPUSH", "g", "x"], &["LRANGE", "h", "0", "-1"]],
            ),
            // A destination of another type: WRONGTYPE, nothing moves.
            (
                &["BLMOVE", "i", "str", "LEFT", "LEFT", "0"],
                &[&["SET", "str", "v"], &["RPUSH", "i", "x"], &["LLEN", "i"]],
            ),
            (
                &["BZPOPMIN", "z1", "z2", "0"],
                &[&["ZADD", "z2", "1.5", "m", "2", "n"]],
            ),
            (
                &["BZPOPMAX", "z3", "0"],
                &[&["ZADD", "z3", "1", "a", "2", "b"]],
            ),
            (
                &["BZMPOP", "0", "1", "z4", "MAX", "COUNT", "2"],
                &[&["ZADD", "z4", "1", "a", "2", "b", "3", "c"]],
            ),
            // The key becomes a string: the client stays blocked (7.0),
            // and is served once it is a list again.
            (
                &["BLPOP", "k", "0"],
                &[&["SET", "k", "v"], &["DEL", "k"], &["RPUSH", "k", "after"]],
            ),
            // A list waiter is not served by a sorted set.
            (
                &["BLPOP", "mixed", "0"],
                &[
                    &["ZADD", "mixed", "1", "a"],
                    &["DEL", "mixed"],
                    &["LPUSH", "mixed", "l"],
                ],
            ),
            // A push and a pop inside MULTI leave nothing to serve; the
            // next push serves.
            (
                &["BLPOP", "tx", "0"],
                &[
                    &["MULTI"],
                    &["RPUSH", "tx", "1"],
                    &["LPOP", "tx"],
                    &["EXEC"],
                    &["RPUSH", "tx", "2"],
                ],
            ),
            // SWAPDB brings a list into the blocked client's database.
            (
                &["BLPOP", "sw", "0"],
                &[
                    &["SELECT", "1"],
                    &["RPUSH", "sw", "moved"],
                    &["SWAPDB", "0", "1"],
                    &["SELECT", "0"],
                ],
            ),
            // A swap bringing a key of another type serves nobody; a later
            // swap bringing a list does.
            (
                &["BZPOPMIN", "sw2", "0"],
                &[
                    &["SELECT", "2"],
                    &["RPUSH", "sw2", "l"],
                    &["SWAPDB", "0", "2"],
                    &["SELECT", "3"],
                    &["ZADD", "sw2", "1", "z"],
                    &["SWAPDB", "2", "3"],
                    &["SWAPDB", "0", "2"],
                    &["SELECT", "0"],
                ],
            ),
            // RENAME, MOVE, COPY and stores create the key: served.
            (
                &["BLPOP", "rn", "0"],
                &[&["RPUSH", "rnsrc", "a", "b"], &["RENAME", "rnsrc", "rn"]],
            ),
            (
                &["BRPOP", "mv", "0"],
                &[
                    &["SELECT", "1"],
                    &["RPUSH", "mv", "a"],
                    &["MOVE", "mv", "0"],
                    &["SELECT", "0"],
                ],
            ),
            (
                &["BLMPOP", "0", "1", "cp", "LEFT", "COUNT", "3"],
                &[&["RPUSH", "cpsrc", "a", "b"], &["COPY", "cpsrc", "cp"]],
            ),
            (
                &["BLPOP", "so", "0"],
                &[
                    &["RPUSH", "sosrc", "3", "1", "2"],
                    &["SORT", "sosrc", "STORE", "so"],
                ],
            ),
            (
                &["BZPOPMAX", "zs", "0"],
                &[
                    &["ZADD", "za", "1", "a", "2", "b"],
                    &["ZUNIONSTORE", "zs", "1", "za"],
                ],
            ),
            (
                &["BZMPOP", "0", "1", "geo", "MIN"],
                &[&["GEOADD", "geo", "13.36", "38.11", "palermo"]],
            ),
            // Deleted, then recreated as the wrong type, then renamed over
            // by a list: served by the rename.
            (
                &["BLPOP", "dl", "0"],
                &[
                    &["MULTI"],
                    &["RPUSH", "dl", "x"],
                    &["DEL", "dl"],
                    &["EXEC"],
                    &["SET", "dl", "str"],
                    &["RPUSH", "dlsrc", "y"],
                    &["RENAME", "dlsrc", "dl"],
                ],
            ),
            // A push then a type change inside MULTI: nothing to serve
            // after EXEC; the client stays blocked until a list comes.
            (
                &["BLPOP", "tc", "0"],
                &[
                    &["MULTI"],
                    &["RPUSH", "tc", "x"],
                    &["SET", "tc", "str"],
                    &["EXEC"],
                    &["DEL", "tc"],
                    &["RPUSH", "tc", "late"],
                ],
            ),
        ];
        for (block, pushes) in cases {
            send_both(&mut blocked, block);
            wait_blocked(&mut pusher.ours, 1);
            wait_blocked(&mut pusher.redis, 1);
            for push in *pushes {
                pusher.same(push);
            }
            read_same(&mut blocked, &block.join(" "));
            pusher.same(&["FLUSHALL"]);
        }
        // Timed out while blocked: BLMOVE's reply is the null array too.
        for block in [
            &["BLMOVE", "none", "x", "LEFT", "LEFT", "0.05"][..],
            &["BRPOPLPUSH", "none", "x", "0.05"],
            &["BLPOP", "none", "0.05"],
            &["BZMPOP", "0.05", "1", "none", "MIN"],
        ] {
            send_both(&mut blocked, block);
            read_same(&mut blocked, &block.join(" "));
        }
        // A blocked client's pipelined commands run after it is served.
        let mut pipelined = RawClient::encode(&[b"BLPOP", b"p", b"0"]);
        pipelined.extend(RawClient::encode(&[b"LLEN", b"p"]));
        blocked.ours.send_raw(&pipelined);
        blocked.redis.send_raw(&pipelined);
        wait_blocked(&mut pusher.ours, 1);
        wait_blocked(&mut pusher.redis, 1);
        pusher.same(&["RPUSH", "p", "1", "2"]);
        read_same(&mut blocked, "BLPOP p 0");
        read_same(&mut blocked, "LLEN p");
    }
}

#[test]
fn clients_are_served_in_the_order_they_blocked_on_either_worker() {
    let server = start_ferrodis(&[]);
    let mut control = RawClient::connect(server.port);
    let mut waiters: Vec<RawClient> = (0..6)
        .map(|i| {
            let mut c = RawClient::connect(server.port);
            // Alternate workers (ignored when there is only one).
            c.cmd(&["DEBUG", "WORKER", &(i % 2).to_string()]);
            c
        })
        .collect();
    for (i, c) in waiters.iter_mut().enumerate() {
        // Keys in different orders and shards: the FIFO is per key.
        send(c, &["BRPOP", &format!("other{i}"), "q", "0"]);
        wait_blocked(&mut control, i + 1);
    }
    assert!(control.text(&["CLIENT", "LIST"]).contains("flags=b db=0"));
    control.cmd(&["RPUSH", "q", "1", "2", "3", "4", "5", "6"]);
    for (i, c) in waiters.iter_mut().enumerate() {
        // BRPOP pops from the tail: the first blocked gets 6.
        let want = format!("*2\r\n$1\r\nq\r\n$1\r\n{}\r\n", 6 - i);
        assert_eq!(String::from_utf8_lossy(&c.read_reply()), want, "waiter {i}");
    }
    wait_blocked(&mut control, 0);
    assert_eq!(control.text(&["EXISTS", "q"]), ":0\r\n");
}

#[test]
fn the_longest_waiting_client_wins_against_a_concurrent_pop() {
    // A popper on the other worker hammers the key while clients block on
    // it: every pushed element goes to a blocked client before any LPOP
    // can see it.
    let server = start_ferrodis(&[]);
    let mut control = RawClient::connect(server.port);
    let mut popper = RawClient::connect(server.port);
    popper.cmd(&["DEBUG", "WORKER", "1"]);
    for round in 0..20 {
        let mut waiter = RawClient::connect(server.port);
        send(&mut waiter, &["BLPOP", "race", "0"]);
        wait_blocked(&mut control, 1);
        let mut batch = Vec::new();
        for _ in 0..20 {
            batch.extend(RawClient::encode(&[b"LPOP", b"race"]));
        }
        popper.send_raw(&batch);
        control.cmd(&["RPUSH", "race", &format!("v{round}")]);
        assert_eq!(
            String::from_utf8_lossy(&waiter.read_reply()),
            format!(
                "*2\r\n$4\r\nrace\r\n${}\r\nv{round}\r\n",
                1 + round.to_string().len()
            )
        );
        for _ in 0..20 {
            assert_eq!(popper.read_reply(), b"$-1\r\n");
        }
    }
}

#[test]
fn a_push_inside_multi_serves_after_exec() {
    let server = start_ferrodis(&[]);
    let mut control = RawClient::connect(server.port);
    let mut waiter = RawClient::connect(server.port);
    send(&mut waiter, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut control, 1);
    control.cmd(&["MULTI"]);
    control.cmd(&["RPUSH", "src", "a", "b"]);
    control.cmd(&["LLEN", "src"]);
    assert_eq!(
        control.text(&["EXEC"]),
        "*2\r\n:2\r\n:2\r\n",
        "nothing is served inside the transaction"
    );
    assert_eq!(waiter.read_reply(), b"$1\r\na\r\n");
    assert_eq!(
        control.text(&["LRANGE", "dst", "0", "-1"]),
        "*1\r\n$1\r\na\r\n"
    );
    assert_eq!(
        control.text(&["LRANGE", "src", "0", "-1"]),
        "*1\r\n$1\r\nb\r\n"
    );
}

#[test]
fn timeouts_have_sub_second_precision_and_ignore_the_timeout_directive() {
    let server = start_ferrodis(&["--timeout", "1"]);
    let mut c = RawClient::connect(server.port);
    let start = Instant::now();
    assert_eq!(c.cmd(&["BLPOP", "nokey", "0.2"]), b"*-1\r\n");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(195) && took < Duration::from_millis(900),
        "{took:?}"
    );
    // Blocked longer than `timeout` without being closed.
    assert_eq!(c.cmd(&["BLPOP", "nokey", "2.5"]), b"*-1\r\n");
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn client_unblock_and_disconnects() {
    let server = start_ferrodis(&[]);
    let mut control = RawClient::connect(server.port);
    let mut waiter = RawClient::connect(server.port);
    let id = String::from_utf8_lossy(&waiter.cmd(&["CLIENT", "ID"]))
        .trim_start_matches(':')
        .trim()
        .to_string();
    assert_eq!(control.text(&["CLIENT", "UNBLOCK", &id]), ":0\r\n");
    send(&mut waiter, &["BLPOP", "u", "0"]);
    wait_blocked(&mut control, 1);
    assert!(control
        .text(&["INFO", "clients"])
        .contains("clients_in_timeout_table:0\r"));
    assert_eq!(control.text(&["CLIENT", "UNBLOCK", &id]), ":1\r\n");
    assert_eq!(waiter.read_reply(), b"*-1\r\n");
    send(&mut waiter, &["BZPOPMIN", "u", "100"]);
    wait_blocked(&mut control, 1);
    assert!(control
        .text(&["INFO", "clients"])
        .contains("clients_in_timeout_table:1\r"));
    assert_eq!(control.text(&["CLIENT", "UNBLOCK", &id, "ERROR"]), ":1\r\n");
    assert_eq!(
        waiter.read_reply(),
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    wait_blocked(&mut control, 0);
    // A client that disconnects while blocked leaves no waiter behind.
    send(&mut waiter, &["BLPOP", "gone", "0"]);
    wait_blocked(&mut control, 1);
    drop(waiter);
    wait_blocked(&mut control, 0);
    control.cmd(&["RPUSH", "gone", "x"]);
    assert_eq!(control.text(&["LLEN", "gone"]), ":1\r\n");
}

#[test]
fn served_pops_reach_the_aof_as_their_effects() {
    let dir = TempDir::new("blocking-aof");
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let args = ["--appendonly", "yes", "--dir", &dir_arg];
    {
        let server = start_ferrodis(&args);
        let mut control = RawClient::connect(server.port);
        let mut a = RawClient::connect(server.port);
        let mut b = RawClient::connect(server.port);
        send(&mut a, &["BLMOVE", "s", "d", "LEFT", "RIGHT", "0"]);
        wait_blocked(&mut control, 1);
        send(&mut b, &["BZPOPMAX", "z", "0"]);
        wait_blocked(&mut control, 2);
        control.cmd(&["RPUSH", "s", "1", "2"]);
        control.cmd(&["ZADD", "z", "1", "x", "2", "y"]);
        assert_eq!(a.read_reply(), b"$1\r\n1\r\n");
        b.read_reply();
        // everysec writes within a millisecond or so.
        std::thread::sleep(Duration::from_millis(300));
        let aof = std::fs::read_dir(dir.0.join("appendonlydir"))
            .expect("aof dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".incr.aof"))
            .map(|e| std::fs::read(e.path()).expect("read"))
            .next()
            .expect("an incremental file");
        let text = String::from_utf8_lossy(&aof);
        assert!(
            text.contains("$5\r\nLMOVE\r\n$1\r\ns\r\n$1\r\nd\r\n$4\r\nLEFT\r\n$5\r\nRIGHT\r\n"),
            "{text}"
        );
        assert!(text.contains("$7\r\nZPOPMAX\r\n$1\r\nz\r\n"), "{text}");
        assert!(
            !text.contains("BLMOVE") && !text.contains("BZPOPMAX"),
            "{text}"
        );
    }
    let server = start_ferrodis(&args);
    let mut c = RawClient::connect(server.port);
    assert_eq!(c.text(&["LRANGE", "d", "0", "-1"]), "*1\r\n$1\r\n1\r\n");
    assert_eq!(c.text(&["LRANGE", "s", "0", "-1"]), "*1\r\n$1\r\n2\r\n");
    assert_eq!(c.text(&["ZRANGE", "z", "0", "-1"]), "*1\r\n$1\r\nx\r\n");
}

#[test]
fn wait_answers_and_blocks_like_redis() {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    for resp in [2, 3] {
        let mut p = Pair::connect(&ours, &redis, resp);
        p.script(
            r#"
            WAIT 0 0
            WAIT -1 10
            WAIT 1 abc
            WAIT x 1
            WAIT 1 -1
            WAIT 1 1.5
            WAIT 1 99999999999999999999
            WAIT 1 20
            MULTI
            WAIT 1 0
            EXEC
            "#,
        );
        // Timeout 0 waits until CLIENT UNBLOCK (as a timeout: the count,
        // or the error).
        let mut control = Pair::connect(&ours, &redis, 2);
        for how in ["TIMEOUT", "ERROR"] {
            let ids = (
                p.ours.text(&["CLIENT", "ID"]),
                p.redis.text(&["CLIENT", "ID"]),
            );
            send_both(&mut p, &["WAIT", "1", "0"]);
            wait_blocked(&mut control.ours, 1);
            wait_blocked(&mut control.redis, 1);
            let id = |s: &str| s.trim_start_matches(':').trim().to_string();
            assert_eq!(
                control.ours.text(&["CLIENT", "UNBLOCK", &id(&ids.0), how]),
                ":1\r\n"
            );
            assert_eq!(
                control.redis.text(&["CLIENT", "UNBLOCK", &id(&ids.1), how]),
                ":1\r\n"
            );
            read_same(&mut p, &format!("WAIT unblocked with {how}"));
        }
    }
}

#[test]
fn killed_blocked_clients_and_failed_calls() {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    let mut control = Pair::connect(&ours, &redis, 2);
    let mut w = Pair::connect(&ours, &redis, 2);
    control.same(&["CONFIG", "RESETSTAT"]);
    let id = |s: String| s.trim_start_matches(':').trim().to_string();
    let ids = (
        id(w.ours.text(&["CLIENT", "ID"])),
        id(w.redis.text(&["CLIENT", "ID"])),
    );
    // CLIENT UNBLOCK ERROR and a served WRONGTYPE fail the call.
    send_both(&mut w, &["BLPOP", "k", "0"]);
    wait_blocked(&mut control.ours, 1);
    wait_blocked(&mut control.redis, 1);
    control.ours.cmd(&["CLIENT", "UNBLOCK", &ids.0, "ERROR"]);
    control.redis.cmd(&["CLIENT", "UNBLOCK", &ids.1, "ERROR"]);
    read_same(&mut w, "BLPOP unblocked with an error");
    send_both(&mut w, &["BLMOVE", "src", "str", "LEFT", "LEFT", "0"]);
    wait_blocked(&mut control.ours, 1);
    wait_blocked(&mut control.redis, 1);
    control.same(&["SET", "str", "x"]);
    control.same(&["RPUSH", "src", "a"]);
    read_same(&mut w, "BLMOVE to a string");
    for section in ["commandstats", "errorstats"] {
        // The lines of the two commands and the errors, without timings.
        let pick = |info: String| {
            info.lines()
                .filter(|l| {
                    l.contains("blpop") || l.contains("blmove") || l.starts_with("errorstat")
                })
                .map(|l| {
                    l.split(',')
                        .filter(|field| !field.starts_with("usec"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(
            pick(control.ours.text(&["INFO", section])),
            pick(control.redis.text(&["INFO", section])),
            "{section}"
        );
    }
    // CLIENT KILL of a blocked client: gone from the counts and the FIFO.
    send_both(&mut w, &["BRPOP", "killed", "0"]);
    wait_blocked(&mut control.ours, 1);
    wait_blocked(&mut control.redis, 1);
    assert_eq!(
        control.ours.text(&["CLIENT", "KILL", "ID", &ids.0]),
        ":1\r\n"
    );
    assert_eq!(
        control.redis.text(&["CLIENT", "KILL", "ID", &ids.1]),
        ":1\r\n"
    );
    wait_blocked(&mut control.ours, 0);
    wait_blocked(&mut control.redis, 0);
    control.same(&["RPUSH", "killed", "x"]);
    control.same(&["LLEN", "killed"]);
}

#[test]
fn a_long_hold_on_every_shard_does_not_stall_a_blocked_clients_worker() {
    let server = start_ferrodis(&["--busy-reply-threshold", "5000"]);
    let place = |worker: usize| {
        let mut c = RawClient::connect(server.port);
        let want = format!(":{worker}\r\n");
        assert_eq!(c.text(&["DEBUG", "WORKER", &worker.to_string()]), want);
        c
    };
    let (mut holder, mut waiter, mut other) = (place(0), place(1), place(1));
    send(&mut waiter, &["BLPOP", "held", "0.3"]);
    wait_blocked(&mut other, 1);
    send(&mut holder, &["DEBUG", "HOLD-SHARDS", "2000"]);
    std::thread::sleep(Duration::from_millis(50));
    // The timeout is answered during the hold, and the waiter's worker
    // goes on answering: removing the waiter does not wait for the shard.
    let start = Instant::now();
    assert_eq!(waiter.read_reply(), b"*-1\r\n");
    assert!(start.elapsed() < Duration::from_millis(1000));
    let start = Instant::now();
    assert_eq!(other.cmd(&["HELLO", "2"])[..4], *b"*14\r");
    assert!(start.elapsed() < Duration::from_millis(300));
    assert!(other
        .text(&["INFO", "clients"])
        .contains("blocked_clients:0\r"));
    assert_eq!(holder.read_reply(), b"+OK\r\n");
    // After the hold the stale entry is gone or skipped: the push stays.
    assert_eq!(other.cmd(&["RPUSH", "held", "x"]), b":1\r\n");
    assert_eq!(other.cmd(&["LLEN", "held"]), b":1\r\n");
}

#[test]
fn blocked_commands_reach_the_slow_log_once_answered() {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    let mut control = Pair::connect(&ours, &redis, 2);
    let mut w = Pair::connect(&ours, &redis, 2);
    control.same(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    control.same(&["SLOWLOG", "RESET"]);
    // The BLPOP entries' arguments, newest first (ids, times and peers
    // differ; how often `wait_blocked` polled INFO depends on timing).
    let args = |c: &mut RawClient| {
        let log = c.text(&["SLOWLOG", "GET", "-1"]);
        log.split("*6\r\n")
            .skip(1)
            // An entry whose arguments are six also holds "*6\r\n": the
            // pieces that split off are not entries and parse as none.
            .filter_map(|e| {
                let lines: Vec<&str> = e.split("\r\n").collect();
                let n: usize = lines.get(3)?.strip_prefix('*')?.parse().ok()?;
                let words: Option<Vec<&str>> =
                    (0..n).map(|i| lines.get(5 + 2 * i).copied()).collect();
                Some(words?.join(" "))
            })
            .filter(|e| e.starts_with("BLPOP"))
            .collect::<Vec<_>>()
    };
    send_both(&mut w, &["BLPOP", "l", "0"]);
    wait_blocked(&mut control.ours, 1);
    wait_blocked(&mut control.redis, 1);
    // Not logged while blocked.
    assert_eq!(args(&mut control.ours), args(&mut control.redis));
    control.same(&["RPUSH", "l", "x"]);
    read_same(&mut w, "BLPOP served");
    // A timeout is not logged at all.
    send_both(&mut w, &["BLPOP", "l", "0.02"]);
    read_same(&mut w, "BLPOP timed out");
    let (ours, theirs) = (args(&mut control.ours), args(&mut control.redis));
    assert_eq!(ours, theirs);
    assert!(ours.iter().any(|e| e == "BLPOP l 0"), "{ours:?}");
}
