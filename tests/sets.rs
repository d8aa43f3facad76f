//! Set commands: differential tests against redis-server 7.0 over RESP2 and
//! RESP3 (replies byte for byte; a reply listing a hash table's members is
//! compared as the same aggregate type with the same members, since both
//! servers list those in their tables' order), property tests for the
//! random commands, and ferrodis-only tests of Redis 7.2's listpack
//! encoding.
//!
//! Redis 7.0 has no listpack sets, so the differential tests run ferrodis
//! with `set-max-listpack-entries 0`, under which its encodings are 7.0's:
//! OBJECT ENCODING is compared too.

mod common;

use common::{
    differential_between, parts, same_members, start_ferrodis, start_redis, Pair, RawClient,
};
use std::collections::{BTreeSet, HashMap};

/// Runs `f` against ferrodis with Redis 7.0's set encodings and redis-server.
fn differential(f: impl Fn(&mut Pair)) -> usize {
    let ours = start_ferrodis(&["--set-max-listpack-entries", "0"]);
    differential_between(&ours, &start_redis(&[]), f)
}

#[test]
fn intset_commands_match_redis_exactly() {
    let n = differential(|p| {
        p.script(
            r#"
            SADD s 3 1 2 2 -5 100000 9999999999
            SADD s 1
            SCARD s
            SMEMBERS s
            OBJECT ENCODING s
            TYPE s
            SISMEMBER s 2
            SISMEMBER s 02
            SISMEMBER s x
            SISMEMBER nosuch 1
            SMISMEMBER s 1 2 4 x
            SMISMEMBER nosuch 1 2
            SREM s 2 4 x
            SREM s
            SREM nosuch 1
            SMEMBERS s
            SMEMBERS nosuch
            SCARD nosuch
            SADD t 1 3 5 7 100000
            SINTER s t
            SINTER s t nosuch
            SINTERCARD 2 s t
            SINTERCARD 2 s t LIMIT 1
            SINTERCARD 2 s t LIMIT 0
            SINTERCARD 1 nosuch
            SUNION s t
            SUNION s nosuch t
            SDIFF s t
            SDIFF t s
            SDIFF s s
            SDIFF nosuch s
            SINTERSTORE d s t
            SMEMBERS d
            OBJECT ENCODING d
            SUNIONSTORE d s t
            SMEMBERS d
            SDIFFSTORE d s t
            SMEMBERS d
            SINTERSTORE d s nosuch
            EXISTS d
            SUNIONSTORE d nosuch
            SDIFFSTORE d s s
            EXISTS d
            SMOVE s t 3
            SMOVE s t 3
            SMOVE s t 1
            SMEMBERS s
            SMEMBERS t
            SMOVE t u 5
            SMEMBERS u
            OBJECT ENCODING u
            SMOVE t t 7
            SMOVE t t 8
            SMOVE nosuch t 1
            SSCAN t 0
            SSCAN t 0 MATCH 1*
            SSCAN t 0 COUNT 2
            SSCAN nosuch 0
            SRANDMEMBER t 100
            SRANDMEMBER t 0
            SRANDMEMBER nosuch
            SRANDMEMBER nosuch 5
            SRANDMEMBER nosuch -5
            SPOP nosuch
            SPOP nosuch 3
            SPOP t 0
            SPOP t 100
            EXISTS t
            SADD one 42
            SPOP one
            EXISTS one
            SADD one 42
            SRANDMEMBER one
            SRANDMEMBER one -3
            SRANDMEMBER one 1
            SPOP one 1
            EXISTS one
            "#,
        );
    });
    assert!(n > 100);
}

#[test]
fn errors_match_redis() {
    differential(|p| {
        p.script(
            r#"
            SET str x
            SADD str a
            SREM str a
            SMEMBERS str
            SISMEMBER str a
            SMISMEMBER str a
            SCARD str
            SPOP str
            SPOP str 2
            SRANDMEMBER str
            SRANDMEMBER str 2
            SINTER str
            SINTER nosuch str
            SINTERCARD 2 nosuch str
            SINTERSTORE d str
            SUNION nosuch str
            SUNIONSTORE d str
            SDIFF str
            SDIFF nosuch str
            SDIFFSTORE d nosuch str
            SSCAN str 0
            SADD s 1 2
            SMOVE str s a
            SMOVE s str a
            SMOVE nosuch str a
            SADD
            SADD s
            SREM s
            SMEMBERS
            SMEMBERS a b
            SISMEMBER s
            SMISMEMBER s
            SCARD
            SMOVE s t
            SPOP
            SPOP s 1 2
            SRANDMEMBER
            SRANDMEMBER s 1 2
            SINTER
            SINTERCARD
            SINTERCARD 1
            SINTERSTORE d
            SUNION
            SDIFF
            SSCAN s
            SPOP s -1
            SPOP s x
            SPOP s 1.5
            SPOP s 99999999999999999999
            SPOP nosuch -1
            SPOP str -1
            SRANDMEMBER s x
            SRANDMEMBER s -9223372036854775808
            SRANDMEMBER nosuch -9223372036854775808
            SRANDMEMBER s 9223372036854775807
            SINTERCARD 0 s
            SINTERCARD -1 s
            SINTERCARD x s
            SINTERCARD 2 s
            SINTERCARD 3 s t
            SINTERCARD 1 s LIMIT
            SINTERCARD 1 s LIMIT -1
            SINTERCARD 1 s LIMIT x
            SINTERCARD 1 s FOO 1
            SINTERCARD 1 s LIMIT 1 LIMIT 2
            SINTERCARD 1 str LIMIT -1
            SSCAN s x
            SSCAN s 0 COUNT 0
            SSCAN s 0 COUNT x
            SSCAN s 0 MATCH
            SSCAN s 0 TYPE string
            SSCAN s 0 FOO bar
            SSCAN nosuch x
            SSCAN nosuch 0 COUNT 0
            SSCAN str 0 COUNT 0
            COMMAND GETKEYS SINTERCARD 2 a b LIMIT 1
            COMMAND GETKEYS SINTERCARD 1 a
            COMMAND GETKEYS SINTERCARD 3 a b
            COMMAND GETKEYS SINTERSTORE d a b
            COMMAND GETKEYS SMOVE a b m
            "#,
        );
    });
}

#[test]
fn string_sets_match_redis_as_collections() {
    differential(|p| {
        p.same(&["SADD", "s", "a", "b", "c", "1", "2"]);
        p.same(&["OBJECT", "ENCODING", "s"]);
        p.same(&["SADD", "i", "1", "2", "3"]);
        p.same(&["SADD", "i", "x"]);
        p.same(&["OBJECT", "ENCODING", "i"]);
        p.same(&["SADD", "t", "b", "c", "d", "3"]);
        for args in [
            &["SMEMBERS", "s"][..],
            &["SMEMBERS", "i"],
            &["SINTER", "s", "t"],
            &["SINTER", "t", "s", "i"],
            &["SUNION", "s", "t", "i"],
            &["SDIFF", "s", "t"],
            &["SDIFF", "s", "i", "t"],
            &["SRANDMEMBER", "s", "100"],
            &["SRANDMEMBER", "s", "5"],
            &["SSCAN", "s", "0", "COUNT", "100"],
            &["SSCAN", "s", "0", "MATCH", "[ab]"],
        ] {
            same_members(p, args);
        }
        p.same(&["SINTERCARD", "3", "s", "t", "i"]);
        p.same(&["SINTERSTORE", "d", "s", "t"]);
        p.same(&["OBJECT", "ENCODING", "d"]);
        same_members(p, &["SMEMBERS", "d"]);
        p.same(&["SUNIONSTORE", "d", "s", "t"]);
        same_members(p, &["SMEMBERS", "d"]);
        p.same(&["SDIFFSTORE", "d", "s", "t"]);
        same_members(p, &["SMEMBERS", "d"]);
        // Integers only in a result from string sets: an intset again.
        p.same(&["SINTERSTORE", "d", "s", "s"]);
        p.same(&["SDIFFSTORE", "d", "s", "t"]);
        p.same(&["SMOVE", "s", "i", "a"]);
        p.same(&["SMOVE", "s", "fresh", "b"]);
        p.same(&["OBJECT", "ENCODING", "fresh"]);
        p.same(&["SMOVE", "s", "fresh2", "1"]);
        p.same(&["OBJECT", "ENCODING", "fresh2"]);
        same_members(p, &["SPOP", "s", "100"]);
        p.same(&["EXISTS", "s"]);
        // Binary-safe members.
        p.same_bytes(&[b"SADD", b"bin", b"\x00\xff", b"", b"a\r\nb"]);
        p.same_bytes(&[b"SISMEMBER", b"bin", b""]);
        p.same_bytes(&[b"SREM", b"bin", b"\x00\xff"]);
        same_members(p, &["SMEMBERS", "bin"]);
    });
}

#[test]
fn encoding_thresholds_match_redis() {
    let ours = start_ferrodis(&[
        "--set-max-listpack-entries",
        "0",
        "--set-max-intset-entries",
        "4",
    ]);
    let redis = start_redis(&["--set-max-intset-entries", "4"]);
    differential_between(&ours, &redis, |p| {
        p.script(
            r#"
            CONFIG GET set-max-intset-entries
            SADD s 1 2 3 4
            OBJECT ENCODING s
            SADD s 5
            OBJECT ENCODING s
            SREM s 5 4
            OBJECT ENCODING s
            SADD b 1 2 3 4 5
            OBJECT ENCODING b
            SADD big 18446744073709551616
            OBJECT ENCODING big
            SADD neg -9223372036854775808 9223372036854775807
            OBJECT ENCODING neg
            SMEMBERS neg
            SADD z 01
            OBJECT ENCODING z
            SADD m 1 2
            SUNIONSTORE u m b
            OBJECT ENCODING u
            SINTERSTORE u b b
            OBJECT ENCODING u
            CONFIG SET set-max-intset-entries 512
            SADD s 6
            OBJECT ENCODING s
            "#,
        );
    });
}

#[test]
fn large_sets_match_redis() {
    differential(|p| {
        let members: Vec<String> = (0..600).map(|i| (i * 7).to_string()).collect();
        let mut args = vec!["SADD", "big"];
        args.extend(members.iter().map(String::as_str));
        p.same(&args);
        p.same(&["OBJECT", "ENCODING", "big"]);
        p.same(&["SCARD", "big"]);
        let half: Vec<String> = (0..300).map(|i| (i * 14).to_string()).collect();
        let mut args = vec!["SADD", "half"];
        args.extend(half.iter().map(String::as_str));
        p.same(&args);
        p.same(&["OBJECT", "ENCODING", "half"]);
        // An intset is iterated in order, so these compare exactly.
        p.same(&["SINTER", "half", "big"]);
        p.same(&["SINTERCARD", "2", "half", "big", "LIMIT", "10"]);
        same_members(p, &["SDIFF", "big", "half"]);
        same_members(p, &["SUNION", "big", "half"]);
        p.same(&["SDIFFSTORE", "d", "big", "half"]);
        p.same(&["OBJECT", "ENCODING", "d"]);
        // A full SSCAN walk returns every member exactly once (here: no
        // writes during the walk).
        let mut cursor = "0".to_string();
        let mut seen = BTreeSet::new();
        loop {
            let reply = p.ours.cmd(&["SSCAN", "big", &cursor, "COUNT", "50"]);
            let (_, items) = parts(&reply);
            cursor = String::from_utf8(items[0].clone()).unwrap();
            for m in &items[1..] {
                assert!(seen.insert(m.clone()), "SSCAN repeated a member");
            }
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 600);
        let reply = p.ours.cmd(&["SPOP", "big", "550"]);
        assert!(reply.starts_with(b"*550\r\n") || reply.starts_with(b"~550\r\n"));
        assert_eq!(p.ours.text(&["SCARD", "big"]), ":50\r\n");
        p.redis.cmd(&["SPOP", "big", "550"]);
        p.same(&["SCARD", "big"]);
    });
}

#[test]
fn resp3_set_replies_match_redis() {
    differential(|p| {
        p.script(
            r#"
            SADD s 1 2 3
            SMEMBERS s
            SINTER s s
            SUNION s
            SDIFF s nosuch
            SMEMBERS nosuch
            SINTER s nosuch
            SPOP nosuch 2
            SPOP s 0
            SRANDMEMBER s 0
            SRANDMEMBER nosuch 2
            SSCAN s 0
            SPOP s 3
            "#,
        );
    });
}

#[test]
fn listpack_encoding_follows_redis_72() {
    let ours = start_ferrodis(&[]);
    let mut c = RawClient::connect(ours.port);
    let enc = |c: &mut RawClient, k: &str| {
        let reply = c.text(&["OBJECT", "ENCODING", k]);
        format!("+{}\r\n", reply.split("\r\n").nth(1).unwrap_or(""))
    };
    assert_eq!(
        c.text(&["CONFIG", "GET", "set-max-listpack-entries"]),
        "*2\r\n$24\r\nset-max-listpack-entries\r\n$3\r\n128\r\n"
    );
    c.cmd(&["SADD", "s", "a", "b"]);
    assert_eq!(enc(&mut c, "s"), "+listpack\r\n");
    // Insertion order.
    assert_eq!(c.text(&["SMEMBERS", "s"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    c.cmd(&["SADD", "i", "1", "2"]);
    assert_eq!(enc(&mut c, "i"), "+intset\r\n");
    c.cmd(&["SADD", "i", "x"]);
    assert_eq!(enc(&mut c, "i"), "+listpack\r\n");
    c.cmd(&["SREM", "i", "x"]);
    assert_eq!(enc(&mut c, "i"), "+listpack\r\n");
    let long = "v".repeat(65);
    c.cmd(&["SADD", "s", &long]);
    assert_eq!(enc(&mut c, "s"), "+hashtable\r\n");
    let many: Vec<String> = (0..129).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "m"];
    args.extend(many.iter().map(String::as_str).take(128));
    c.cmd(&args);
    assert_eq!(enc(&mut c, "m"), "+listpack\r\n");
    c.cmd(&["SADD", "m", "m128"]);
    assert_eq!(enc(&mut c, "m"), "+hashtable\r\n");
    // A size hint above the limit starts a hash table at once.
    let mut args = vec!["SADD", "h"];
    args.extend(std::iter::repeat_n("same", 200));
    c.cmd(&args);
    assert_eq!(enc(&mut c, "h"), "+hashtable\r\n");
    // An intset too long for a listpack becomes a hash table.
    let ints: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    let mut args = vec!["SADD", "n"];
    args.extend(ints.iter().map(String::as_str));
    c.cmd(&args);
    assert_eq!(enc(&mut c, "n"), "+intset\r\n");
    c.cmd(&["SADD", "n", "x"]);
    assert_eq!(enc(&mut c, "n"), "+hashtable\r\n");
    // CONFIG SET takes effect for later additions.
    c.cmd(&["CONFIG", "SET", "set-max-listpack-entries", "2"]);
    c.cmd(&["SADD", "k", "a", "b"]);
    assert_eq!(enc(&mut c, "k"), "+listpack\r\n");
    c.cmd(&["SADD", "k", "c"]);
    assert_eq!(enc(&mut c, "k"), "+hashtable\r\n");
    // Store results and reloads pick the smallest encoding.
    c.cmd(&["CONFIG", "SET", "set-max-listpack-entries", "128"]);
    c.cmd(&["SADD", "x", "a", "1", "b"]);
    c.cmd(&["SADD", "y", "1", "a"]);
    c.cmd(&["SINTERSTORE", "xy", "x", "y"]);
    assert_eq!(enc(&mut c, "xy"), "+listpack\r\n");
    c.cmd(&["SDIFFSTORE", "xd", "x", "y"]);
    assert_eq!(enc(&mut c, "xd"), "+listpack\r\n");
    c.cmd(&["SREM", "x", "a", "b"]);
    assert_eq!(enc(&mut c, "x"), "+listpack\r\n");
    // A restored set is built afresh.
    for (key, expected) in [("x", "intset"), ("m", "hashtable"), ("y", "listpack")] {
        let payload = parts(&c.cmd(&["DUMP", key])).1.remove(0);
        let copy = format!("{key}-copy");
        c.cmd_bytes(&[b"RESTORE", copy.as_bytes(), b"0", &payload]);
        assert_eq!(enc(&mut c, &copy), format!("+{expected}\r\n"));
    }
    assert_eq!(c.text(&["SCARD", "m-copy"]), ":129\r\n");
}

fn members_of(reply: &[u8]) -> Vec<Vec<u8>> {
    parts(reply).1
}

#[test]
fn spop_and_srandmember_properties() {
    let ours = start_ferrodis(&[]);
    let mut c = RawClient::connect(ours.port);
    for (key, prefix) in [("ints", ""), ("strs", "m"), ("big", "b")] {
        let n = if key == "big" { 1000 } else { 100 };
        let members: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
        let mut args = vec!["SADD", key];
        args.extend(members.iter().map(String::as_str));
        c.cmd(&args);
        let all: BTreeSet<Vec<u8>> = members.iter().map(|m| m.as_bytes().to_vec()).collect();
        // Positive counts: distinct members of the set, exactly `count`.
        for count in [1, 5, 30, 40, 99, 100, 200] {
            let got = members_of(&c.cmd(&["SRANDMEMBER", key, &count.to_string()]));
            let distinct: BTreeSet<_> = got.iter().cloned().collect();
            assert_eq!(got.len(), count.min(n), "{key} {count}");
            assert_eq!(distinct.len(), got.len(), "{key} {count} repeats");
            assert!(distinct.is_subset(&all));
        }
        // Negative counts: exactly |count|, repeats allowed (and seen).
        let got = members_of(&c.cmd(&["SRANDMEMBER", key, "-2000"]));
        assert_eq!(got.len(), 2000);
        let distinct: BTreeSet<_> = got.iter().cloned().collect();
        assert!(distinct.len() < 2000 && distinct.is_subset(&all));
        // Rough uniformity of single picks.
        let mut hist: HashMap<Vec<u8>, usize> = HashMap::new();
        for m in members_of(&c.cmd(&["SRANDMEMBER", key, "-100000"])) {
            *hist.entry(m).or_default() += 1;
        }
        assert_eq!(hist.len(), n, "{key}: every member picked");
        let expected = 100_000 / n;
        for (m, k) in &hist {
            assert!(
                *k > expected / 2 && *k < expected * 2,
                "{key}: {m:?} picked {k} times, expected about {expected}"
            );
        }
        // SPOP with counts in each strategy, then the rest.
        let mut popped = BTreeSet::new();
        for count in [1, 3, n / 2, n / 2 - 10] {
            for m in members_of(&c.cmd(&["SPOP", key, &count.to_string()])) {
                assert!(popped.insert(m), "{key}: popped twice");
            }
        }
        let rest = members_of(&c.cmd(&["SMEMBERS", key]));
        assert_eq!(rest.len() + popped.len(), n - 1 + 1);
        for m in rest {
            assert!(popped.insert(m));
        }
        assert_eq!(popped, all);
        c.cmd(&["DEL", key]);
    }
}

#[test]
fn spop_is_logged_as_srem_and_replays() {
    let dir = common::TempDir::new("sets-aof");
    let dir_arg = dir.0.to_str().unwrap().to_string();
    let args = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        &dir_arg,
    ];
    let expected;
    {
        let ours = start_ferrodis(&args);
        let mut c = RawClient::connect(ours.port);
        let members: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
        let mut sadd = vec!["SADD", "s"];
        sadd.extend(members.iter().map(String::as_str));
        c.cmd(&sadd);
        c.cmd(&["SPOP", "s"]);
        c.cmd(&["SPOP", "s", "10"]);
        c.cmd(&["SPOP", "s", "270"]);
        c.cmd(&["SRANDMEMBER", "s", "5"]);
        c.cmd(&["SADD", "gone", "1", "2"]);
        c.cmd(&["SPOP", "gone", "5"]);
        expected = members_of(&c.cmd(&["SMEMBERS", "s"]))
            .into_iter()
            .collect::<BTreeSet<_>>();
        assert_eq!(expected.len(), 19);
        let log = std::fs::read_dir(dir.0.join("appendonlydir"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".incr.aof"))
            .map(|e| std::fs::read(e.path()).unwrap())
            .next()
            .expect("an incremental file");
        let text = String::from_utf8_lossy(&log);
        assert!(!text.contains("SPOP") && !text.contains("SRANDMEMBER"));
        assert!(text.contains("SREM"));
        assert!(text.contains("$3\r\nDEL\r\n$4\r\ngone"));
        c.cmd(&["SHUTDOWN", "NOSAVE"]);
    }
    let ours = start_ferrodis(&args);
    let mut c = RawClient::connect(ours.port);
    let after: BTreeSet<_> = members_of(&c.cmd(&["SMEMBERS", "s"])).into_iter().collect();
    assert_eq!(after, expected);
    assert_eq!(c.text(&["EXISTS", "gone"]), ":0\r\n");
}

#[test]
fn generic_key_commands_on_sets() {
    differential(|p| {
        p.script(
            r#"
            SADD s 1 2 3
            SADD h a b c
            TYPE s
            TYPE h
            COPY s s2
            SMEMBERS s2
            OBJECT ENCODING s2
            COPY h h2
            RENAME s2 s3
            SMEMBERS s3
            MOVE s3 1
            EXISTS s3
            SELECT 1
            SMEMBERS s3
            SELECT 0
            DEL s h2
            EXISTS s h2
            UNLINK h
            "#,
        );
        same_members(p, &["SCAN", "0", "TYPE", "set", "COUNT", "100"]);
        p.same(&["SADD", "d", "5", "6"]);
        let dump = p.ours.cmd(&["DUMP", "d"]);
        let theirs = p.redis.cmd(&["DUMP", "d"]);
        assert_eq!(dump, theirs, "DUMP of an intset");
        p.same(&["SADD", "lp", "x", "y"]);
        // A hash-table set dumped by Redis restores here.
        p.same(&["SADD", "ht", "a", "b", "c", "1"]);
        let payload = parts(&p.redis.cmd(&["DUMP", "ht"])).1.remove(0);
        let restored = p.ours.cmd_bytes(&[b"RESTORE", b"ht2", b"0", &payload]);
        assert_eq!(restored, b"+OK\r\n");
        assert_eq!(p.ours.text(&["SCARD", "ht2"]), ":4\r\n");
        assert_eq!(p.ours.text(&["SISMEMBER", "ht2", "b"]), ":1\r\n");
        // Digests agree with themselves across copies.
        let a = p.ours.cmd(&["DEBUG", "DIGEST-VALUE", "d"]);
        p.ours.cmd(&["COPY", "d", "d2"]);
        assert_eq!(a, p.ours.cmd(&["DEBUG", "DIGEST-VALUE", "d2"]));
    });
}
