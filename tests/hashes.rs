//! Hash commands: differential tests against redis-server 7.0 for the 7.0
//! family, property tests for random and order-dependent replies, and
//! integration tests (ferrodis only) for Redis 7.4 field expiration and
//! Redis 8.0's HGETDEL/HGETEX/HSETEX. Those newer commands are compared with
//! a Redis that has them in `hashes_post70.rs`.

mod common;

use common::{differential, start_ferrodis, start_redis, tokens, Pair, RawClient, Token};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Splits a reply made only of aggregate headers and bulk strings into its
/// bulk strings (nulls become `None`), ignoring the aggregate structure.
fn bulks(reply: &[u8]) -> Vec<Option<Vec<u8>>> {
    tokens(reply)
        .into_iter()
        .filter_map(|token| match token {
            Token::Bulk(payload) => Some(payload.map(<[u8]>::to_vec)),
            Token::Line(b'_', _) => Some(None),
            Token::Line(..) => None,
        })
        .collect()
}

fn strings(reply: &[u8]) -> Vec<String> {
    bulks(reply)
        .into_iter()
        .map(|b| String::from_utf8(b.expect("not null")).unwrap())
        .collect()
}

fn int(reply: &[u8]) -> i64 {
    let s = std::str::from_utf8(reply).unwrap();
    assert!(s.starts_with(':'), "not an integer reply: {s:?}");
    s[1..].trim_end().parse().unwrap()
}

#[test]
fn basic_commands_match_redis() {
    differential(|p| {
        p.script(
            r#"
            HSET h a 1 b 2 c 3
            HSET h a 10 d 4
            HGET h a
            HGET h nosuch
            HGET nokey a
            HMGET h a nosuch b
            HMGET nokey a b
            HGETALL h
            HGETALL nokey
            HKEYS h
            HVALS h
            HKEYS nokey
            HVALS nokey
            HLEN h
            HLEN nokey
            HEXISTS h a
            HEXISTS h nosuch
            HEXISTS nokey a
            HSTRLEN h a
            HSTRLEN h nosuch
            HSTRLEN nokey a
            HSETNX h a 99
            HSETNX h e 5
            HSETNX newkey f v
            HGETALL newkey
            HMSET h x 1 y 2
            HDEL h a b nosuch
            HDEL h a
            HDEL nokey a
            HGETALL h
            HDEL newkey f
            EXISTS newkey
            HSET h "" ""
            HGET h ""
            HSET bin "\x00\xff" "\r\n"
            HGETALL bin
            HSET h ünïcode ✓
            HGET h ünïcode
            HSTRLEN h ünïcode
            "#,
        );
    });
}

#[test]
fn arity_and_wrong_type_match_redis() {
    differential(|p| {
        p.script(
            r#"
            SET s v
            HSET s f v
            HSETNX s f v
            HMSET s f v
            HGET s f
            HMGET s f
            HGETALL s
            HDEL s f
            HLEN s
            HEXISTS s f
            HKEYS s
            HVALS s
            HINCRBY s f 1
            HINCRBYFLOAT s f 1
            HSTRLEN s f
            HRANDFIELD s
            HRANDFIELD s 2
            HRANDFIELD s -2 WITHVALUES
            HSCAN s 0
            HSET
            HSET k
            HSET k f
            HSET k f v g
            HMSET k f v g
            HMSET k f
            HSETNX k f
            HSETNX k f v x
            HGET k
            HGET k f x
            HMGET k
            HGETALL
            HGETALL k x
            HDEL k
            HLEN
            HLEN k x
            HEXISTS k
            HKEYS
            HVALS k x
            HINCRBY k f
            HINCRBYFLOAT k f
            HSTRLEN k
            HRANDFIELD
            HSCAN k
            EXISTS k
            "#,
        );
    });
}

#[test]
fn hincrby_matches_redis() {
    differential(|p| {
        p.script(
            r#"
            HINCRBY h n 5
            HINCRBY h n -10
            HINCRBY h n 0
            HGET h n
            HSET h big 9223372036854775807 small -9223372036854775808 s abc sp " 1" f 1.5 e ""
            HINCRBY h big 1
            HINCRBY h big 0
            HINCRBY h big -1
            HINCRBY h small -1
            HINCRBY h small 1
            HINCRBY h s 1
            HINCRBY h sp 1
            HINCRBY h f 1
            HINCRBY h e 1
            HINCRBY h n x
            HINCRBY h n 1.5
            HINCRBY h n 9223372036854775808
            HINCRBY h n ""
            HINCRBY h n " 1"
            HINCRBY h n +1
            HINCRBY h n 007
            HINCRBY nokey2 n x
            EXISTS nokey2
            HSET h z 0010
            HINCRBY h z 1
            HSET h lead -0
            HINCRBY h lead 1
            HGETALL h
            "#,
        );
    });
}

#[test]
fn hincrbyfloat_matches_redis() {
    // Values exactly representable in binary: the temporary f64 arithmetic
    // (until the shared long-double helper lands) formats them as Redis does.
    differential(|p| {
        p.script(
            r#"
            HINCRBYFLOAT h x 1.5
            HINCRBYFLOAT h x 0.25
            HINCRBYFLOAT h x -1.75
            HINCRBYFLOAT h x -0.5
            HINCRBYFLOAT h x 1e3
            HINCRBYFLOAT h x 5.0e-1
            HINCRBYFLOAT h i 3
            HSET h n 10
            HINCRBYFLOAT h n 2.5
            HSET h s abc sp " 1" e ""
            HINCRBYFLOAT h s 1
            HINCRBYFLOAT h sp 1
            HINCRBYFLOAT h e 1
            HINCRBYFLOAT h x abc
            HINCRBYFLOAT h x ""
            HINCRBYFLOAT h x " 1"
            HINCRBYFLOAT h x inf
            HINCRBYFLOAT h x -inf
            HINCRBYFLOAT h x nan
            HINCRBYFLOAT nokey3 x inf
            EXISTS nokey3
            HSET h inf inf
            HINCRBYFLOAT h inf 1
            HGETALL h
            "#,
        );
    });
}

#[test]
fn hincrbyfloat_long_double_precision_matches_redis() {
    differential(|p| {
        p.script(
            r#"
            HSET h x 10.5
            HINCRBYFLOAT h x 0.1
            HINCRBYFLOAT h x 3.0e3
            HINCRBYFLOAT h y 1.1
            HINCRBYFLOAT h y 2.2
            "#,
        );
    });
}

#[test]
fn hrandfield_errors_and_shapes_match_redis() {
    differential(|p| {
        p.script(
            r#"
            HRANDFIELD nokey
            HRANDFIELD nokey 5
            HRANDFIELD nokey -5 WITHVALUES
            HRANDFIELD nokey 0
            HSET one f v
            HRANDFIELD one
            HRANDFIELD one 1
            HRANDFIELD one -3
            HRANDFIELD one 1 WITHVALUES
            HRANDFIELD one -2 WITHVALUES
            HRANDFIELD one 5 WITHVALUES
            HRANDFIELD one 0
            HRANDFIELD one 0 WITHVALUES
            HRANDFIELD one x
            HRANDFIELD one 1 x
            HRANDFIELD one 1 WITHVALUES x
            HRANDFIELD one -9223372036854775808
            HRANDFIELD one 9223372036854775808
            HRANDFIELD one -9223372036854770000 WITHVALUES
            HRANDFIELD one 9223372036854770000 WITHVALUES
            HRANDFIELD one 4611686018427387904 withvalues
            HRANDFIELD nokey 4611686018427387904 withvalues
            HSET three a 1 b 2 c 3
            HRANDFIELD three 3
            HRANDFIELD three 10 WITHVALUES
            "#,
        );
    });
}

/// Checks HRANDFIELD's properties against a hash of `n` fields f<i> → v<i>.
fn check_hrandfield(c: &mut RawClient, key: &str, n: usize, resp3: bool) {
    let all: BTreeSet<String> = (0..n).map(|i| format!("f{i}")).collect();
    for _ in 0..20 {
        let f = strings(&c.cmd(&["HRANDFIELD", key]));
        assert!(all.contains(&f[0]));
    }
    for count in [1, 2, n / 2, n - 1, n, n + 5] {
        let got = strings(&c.cmd(&["HRANDFIELD", key, &count.to_string()]));
        let distinct: BTreeSet<_> = got.iter().cloned().collect();
        assert_eq!(got.len(), count.min(n), "count {count}");
        assert_eq!(distinct.len(), got.len(), "duplicates for count {count}");
        assert!(distinct.is_subset(&all));
    }
    // Negative counts: exactly |count| picks, repetitions allowed, and over
    // many picks every field shows up.
    let picks = (n * 30).to_string();
    let got = strings(&c.cmd(&["HRANDFIELD", key, &format!("-{picks}")]));
    assert_eq!(got.len(), n * 30);
    let distinct: BTreeSet<_> = got.into_iter().collect();
    assert_eq!(distinct, all);
    // WITHVALUES: values belong to their fields; RESP3 nests pairs.
    for count in ["3", "-7", "1000"] {
        let raw = c.cmd(&["HRANDFIELD", key, count, "WITHVALUES"]);
        let want = count.parse::<i64>().unwrap().unsigned_abs() as usize;
        let want = if count.starts_with('-') {
            want
        } else {
            want.min(n)
        };
        let text = String::from_utf8_lossy(&raw).into_owned();
        if resp3 {
            assert!(text.starts_with(&format!("*{want}\r\n*2\r\n")), "{text}");
        } else {
            assert!(text.starts_with(&format!("*{}\r\n$", want * 2)), "{text}");
        }
        let flat = strings(&raw);
        assert_eq!(flat.len(), want * 2);
        for pair in flat.chunks(2) {
            assert_eq!(pair[1], pair[0].replacen('f', "v", 1));
        }
    }
}

#[test]
fn hrandfield_properties_both_encodings() {
    let server = start_ferrodis(&[]);
    for resp3 in [false, true] {
        let mut c = RawClient::connect(server.port);
        if resp3 {
            c.cmd(&["HELLO", "3"]);
        }
        c.cmd(&["FLUSHALL"]);
        for (key, n) in [("small", 10), ("large", 300)] {
            for i in 0..n {
                c.cmd(&["HSET", key, &format!("f{i}"), &format!("v{i}")]);
            }
            check_hrandfield(&mut c, key, n, resp3);
        }
    }
}

#[test]
fn hscan_listpack_matches_redis() {
    differential(|p| {
        p.script(
            r#"
            HSCAN nokey 0
            HSCAN nokey 0 COUNT 0
            HSCAN nokey x
            HSET h a 1 b 2 c 3 ab 4
            HSCAN h 0
            HSCAN h 7
            HSCAN h 0 COUNT 1
            HSCAN h 0 MATCH a*
            HSCAN h 0 MATCH * COUNT 100
            HSCAN h 0 match ?b count 2
            HSCAN h 0 COUNT 0
            HSCAN h 0 COUNT -1
            HSCAN h 0 COUNT x
            HSCAN h 0 COUNT
            HSCAN h 0 MATCH
            HSCAN h 0 TYPE string
            HSCAN h 0 foo bar
            HSCAN h x
            HSCAN h " 0"
            HSCAN h -1
            HSCAN h +0
            HSCAN h 18446744073709551616
            HSCAN h ""
            "#,
        );
    });
}

#[test]
fn hscan_hashtable_returns_every_field() {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    let n = 1000;
    for i in 0..n {
        c.cmd(&["HSET", "big", &format!("f{i}"), &format!("v{i}")]);
    }
    for count in ["1", "10", "100"] {
        let mut seen = BTreeMap::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let reply = c.cmd(&["HSCAN", "big", &cursor, "COUNT", count]);
            let items = strings(&reply);
            cursor = items[0].clone();
            for pair in items[1..].chunks(2) {
                seen.insert(pair[0].clone(), pair[1].clone());
            }
            calls += 1;
            if cursor == "0" {
                break;
            }
            assert!(calls < 10_000);
        }
        assert_eq!(seen.len(), n);
        assert_eq!(seen["f7"], "v7");
        if count == "1" {
            assert!(calls > 10, "COUNT 1 should take many calls");
        }
    }
    // MATCH filters a hashtable scan too.
    let mut matched = BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let items = strings(&c.cmd(&["HSCAN", "big", &cursor, "MATCH", "f1?"]));
        cursor = items[0].clone();
        for pair in items[1..].chunks(2) {
            matched.insert(pair[0].clone());
        }
        if cursor == "0" {
            break;
        }
    }
    let want: BTreeSet<String> = (10..20).map(|i| format!("f{i}")).collect();
    assert_eq!(matched, want);
}

/// Compares a large (hashtable) hash between the servers, ignoring order.
fn same_contents(p: &mut Pair, key: &str) {
    let (ours, theirs) = p.both(&["HGETALL", key]);
    let to_map = |r: &[u8]| {
        let s = strings(r);
        s.chunks(2)
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(to_map(&ours), to_map(&theirs));
    let (ours, theirs) = p.both(&["HKEYS", key]);
    assert_eq!(
        strings(&ours).into_iter().collect::<BTreeSet<_>>(),
        strings(&theirs).into_iter().collect::<BTreeSet<_>>()
    );
    p.same(&["HLEN", key]);
}

#[test]
fn conversion_to_hashtable_keeps_data() {
    let ours = start_ferrodis(&[
        "--hash-max-listpack-entries",
        "8",
        "--hash-max-listpack-value",
        "16",
    ]);
    let redis = start_redis(&[
        "--hash-max-listpack-entries",
        "8",
        "--hash-max-listpack-value",
        "16",
    ]);
    for resp in [2, 3] {
        let mut p = Pair::connect(&ours, &redis, resp);
        p.same(&["FLUSHALL"]);
        // Past the entry limit.
        for i in 0..20 {
            p.same(&["HSET", "many", &format!("f{i}"), &i.to_string()]);
        }
        same_contents(&mut p, "many");
        p.same(&["HINCRBY", "many", "f3", "7"]);
        p.same(&["HINCRBYFLOAT", "many", "f4", "0.5"]);
        p.same(&["HDEL", "many", "f0", "f1", "nosuch"]);
        p.same(&["HSETNX", "many", "f2", "x"]);
        p.same(&["HMGET", "many", "f2", "f3", "f4", "f0"]);
        p.same(&["HSTRLEN", "many", "f4"]);
        same_contents(&mut p, "many");
        // Past the value limit, via value, field and increments.
        p.same(&["HSET", "longval", "a", "1", "b", "a-value-longer-than-16"]);
        same_contents(&mut p, "longval");
        p.same(&["HSET", "longfield", "a-field-longer-than-16", "1"]);
        same_contents(&mut p, "longfield");
        p.same(&["HSET", "incr", "n", "9999999999999999"]);
        p.same(&["HINCRBY", "incr", "n", "9000000000000000000"]);
        same_contents(&mut p, "incr");
        // Deleting every field of a hashtable hash deletes the key.
        let fields: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
        let mut del = vec!["HDEL", "many"];
        del.extend(fields.iter().map(String::as_str));
        p.same(&del);
        p.same(&["EXISTS", "many"]);
    }
}

#[test]
fn field_expiration_commands() {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    c.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    // Per-field codes: -2 no field, 1 set, 0 condition not met.
    assert_eq!(
        c.text(&["HEXPIRE", "h", "100", "FIELDS", "2", "a", "nosuch"]),
        "*2\r\n:1\r\n:-2\r\n"
    );
    assert_eq!(
        c.text(&["HEXPIRE", "h", "100", "NX", "FIELDS", "2", "a", "b"]),
        "*2\r\n:0\r\n:1\r\n"
    );
    assert_eq!(
        c.text(&["HEXPIRE", "h", "200", "XX", "FIELDS", "2", "a", "c"]),
        "*2\r\n:1\r\n:0\r\n"
    );
    assert_eq!(
        c.text(&["HEXPIRE", "h", "50", "GT", "FIELDS", "2", "a", "c"]),
        "*2\r\n:0\r\n:0\r\n"
    );
    assert_eq!(
        c.text(&["HEXPIRE", "h", "50", "LT", "FIELDS", "2", "a", "c"]),
        "*2\r\n:1\r\n:1\r\n"
    );
    assert_eq!(
        c.text(&["HEXPIRE", "h", "60", "GT", "FIELDS", "1", "a"]),
        "*1\r\n:1\r\n"
    );
    let ttl = strings_ints(&c.cmd(&["HTTL", "h", "FIELDS", "4", "a", "b", "c", "nosuch"]));
    assert_eq!(ttl[0], 60);
    assert_eq!(ttl[1], 100);
    assert_eq!(ttl[2], 50);
    assert_eq!(ttl[3], -2);
    let pttl = strings_ints(&c.cmd(&["HPTTL", "h", "FIELDS", "1", "a"]));
    assert!(pttl[0] > 59_000 && pttl[0] <= 60_000, "{pttl:?}");
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let et = strings_ints(&c.cmd(&["HEXPIRETIME", "h", "FIELDS", "1", "a"]));
    assert!((et[0] - (now_s + 60)).abs() <= 2, "{et:?}");
    assert_eq!(
        c.text(&["HPEXPIREAT", "h", "4000000000000", "FIELDS", "1", "b"]),
        "*1\r\n:1\r\n"
    );
    assert_eq!(
        c.text(&["HPEXPIRETIME", "h", "FIELDS", "1", "b"]),
        "*1\r\n:4000000000000\r\n"
    );
    assert_eq!(
        c.text(&["HEXPIRETIME", "h", "FIELDS", "1", "b"]),
        "*1\r\n:4000000000\r\n"
    );
    assert_eq!(
        c.text(&["HEXPIREAT", "h", "4000000001", "FIELDS", "1", "b"]),
        "*1\r\n:1\r\n"
    );
    assert_eq!(
        c.text(&["HPEXPIRETIME", "h", "FIELDS", "1", "b"]),
        "*1\r\n:4000000001000\r\n"
    );
    // HPERSIST: 1 removed, -1 no TTL, -2 no field.
    c.cmd(&["HSET", "h", "d", "4"]);
    assert_eq!(
        c.text(&["HPERSIST", "h", "FIELDS", "3", "a", "d", "nosuch"]),
        "*3\r\n:1\r\n:-1\r\n:-2\r\n"
    );
    assert_eq!(
        c.text(&["HTTL", "h", "FIELDS", "2", "a", "d"]),
        "*2\r\n:-1\r\n:-1\r\n"
    );
    // HSET clears a TTL, HINCRBY keeps it.
    c.cmd(&["HPEXPIRE", "h", "100000", "FIELDS", "2", "b", "c"]);
    c.cmd(&["HSET", "h", "b", "20"]);
    c.cmd(&["HINCRBY", "h", "c", "1"]);
    assert_eq!(
        strings_ints(&c.cmd(&["HTTL", "h", "FIELDS", "1", "b"])),
        vec![-1]
    );
    assert!(strings_ints(&c.cmd(&["HTTL", "h", "FIELDS", "1", "c"]))[0] > 0);
    // A time in the past deletes the field (code 2); the last one deletes the key.
    assert_eq!(
        c.text(&["HEXPIRE", "h", "0", "FIELDS", "2", "a", "nosuch"]),
        "*2\r\n:2\r\n:-2\r\n"
    );
    assert_eq!(c.text(&["HEXISTS", "h", "a"]), ":0\r\n");
    c.cmd(&["HSET", "one", "f", "v"]);
    assert_eq!(
        c.text(&["HPEXPIREAT", "one", "1", "FIELDS", "1", "f"]),
        "*1\r\n:2\r\n"
    );
    assert_eq!(c.text(&["EXISTS", "one"]), ":0\r\n");
    // Missing keys.
    assert_eq!(
        c.text(&["HEXPIRE", "nokey", "10", "FIELDS", "2", "a", "b"]),
        "*2\r\n:-2\r\n:-2\r\n"
    );
    assert_eq!(
        c.text(&["HTTL", "nokey", "FIELDS", "1", "a"]),
        "*1\r\n:-2\r\n"
    );
    assert_eq!(
        c.text(&["HPERSIST", "nokey", "FIELDS", "1", "a"]),
        "*1\r\n:-2\r\n"
    );
    assert_eq!(c.text(&["EXISTS", "nokey"]), ":0\r\n");
}

fn strings_ints(reply: &[u8]) -> Vec<i64> {
    let text = String::from_utf8_lossy(reply);
    text.split("\r\n")
        .filter(|l| l.starts_with(':'))
        .map(|l| l[1..].parse().unwrap())
        .collect()
}

#[test]
fn field_expiration_errors() {
    let server = start_ferrodis(&[]);
    let mut c = RawClient::connect(server.port);
    c.cmd(&["HSET", "h", "a", "1"]);
    c.cmd(&["SET", "s", "v"]);
    let cases: &[(&[&str], &str)] = &[
        (&["HEXPIRE", "s", "10", "FIELDS", "1", "a"], "-WRONGTYPE"),
        (&["HTTL", "s", "FIELDS", "1", "a"], "-WRONGTYPE"),
        (&["HPERSIST", "s", "FIELDS", "1", "a"], "-WRONGTYPE"),
        (
            &["HEXPIRE", "h", "x", "FIELDS", "1", "a"],
            "-ERR value is not an integer or out of range",
        ),
        (
            &["HEXPIRE", "h", "-1", "FIELDS", "1", "a"],
            "-ERR invalid expire time, must be >= 0",
        ),
        (
            &["HEXPIRE", "h", "281474976710656", "FIELDS", "1", "a"],
            "-ERR invalid expire time in 'hexpire' command",
        ),
        (
            &["HPEXPIRE", "h", "281474976710655", "FIELDS", "1", "a"],
            "-ERR invalid expire time in 'hpexpire' command",
        ),
        (
            &["HPEXPIREAT", "h", "281474976710656", "FIELDS", "1", "a"],
            "-ERR invalid expire time in 'hpexpireat' command",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELD", "1", "a"],
            "-ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HEXPIRE", "h", "10", "NX", "XX", "FIELDS", "1", "a"],
            "-ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "0", "a"],
            "-ERR Parameter `numFields` should be greater than 0",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "x", "a"],
            "-ERR Parameter `numFields` should be greater than 0",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "2", "a"],
            "-ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "1", "a", "b"],
            "-ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HTTL", "h", "FIELDS", "0", "a"],
            "-ERR Number of fields must be a positive integer",
        ),
        (
            &["HTTL", "h", "FIELDS", "-1", "a"],
            "-ERR Number of fields must be a positive integer",
        ),
        (
            &["HTTL", "h", "FIELDS", "2", "a"],
            "-ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HTTL", "h", "XFIELDS", "1", "a"],
            "-ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HPERSIST", "h", "FIELDS", "3", "a"],
            "-ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "1"],
            "-ERR wrong number of arguments for 'hexpire' command",
        ),
        (
            &["HTTL", "h", "FIELDS", "1"],
            "-ERR wrong number of arguments for 'httl' command",
        ),
        (
            &["HGETDEL", "h", "FIELDS", "2", "a"],
            "-ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HGETDEL", "h", "FIELDS", "0", "a"],
            "-ERR Number of fields must be a positive integer",
        ),
        (
            &["HGETEX", "h", "EX", "10", "PX", "10", "FIELDS", "1", "a"],
            "-ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HGETEX", "h", "BAD", "FIELDS", "1", "a"],
            "-ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HGETEX", "h", "EX", "x", "FIELDS", "1", "a"],
            "-ERR value is not an integer or out of range",
        ),
        (
            &["HGETEX", "h", "EX", "-1", "FIELDS", "1", "a"],
            "-ERR invalid expire time, must be >= 0",
        ),
        (
            &["HSETEX", "h", "FNX", "FXX", "FIELDS", "1", "a", "v"],
            "-ERR Only one of FXX or FNX arguments can be specified",
        ),
        (
            &["HSETEX", "h", "EX", "1", "KEEPTTL", "FIELDS", "1", "a", "v"],
            "-ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
        ),
        (
            &["HSETEX", "h", "FIELDS", "2", "a", "v"],
            "-ERR wrong number of arguments for 'hsetex' command",
        ),
        (
            &["HSETEX", "h", "FIELDS", "1", "a"],
            "-ERR wrong number of arguments for 'hsetex' command",
        ),
        (
            &["HSETEX", "h", "FIELDS", "1", "a", "v", "x"],
            "-ERR wrong number of arguments for 'hsetex' command",
        ),
        (&["HSETEX", "s", "FIELDS", "1", "a", "v"], "-WRONGTYPE"),
    ];
    for (args, want) in cases {
        let got = c.text(args);
        assert!(
            got.starts_with(want),
            "{args:?}: got {got:?}, want {want:?}"
        );
    }
    // Nothing was changed by the failed commands.
    assert_eq!(c.text(&["HGETALL", "h"]), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(c.text(&["HTTL", "h", "FIELDS", "1", "a"]), "*1\r\n:-1\r\n");
}

#[test]
fn expired_fields_are_invisible_and_reclaimed() {
    // A slow active-expiry rate, so the lazy path is what hides the fields.
    let server = start_ferrodis(&["--hz", "1"]);
    let mut c = RawClient::connect(server.port);
    c.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(
        c.text(&["HPEXPIRE", "h", "50", "FIELDS", "2", "a", "b"]),
        "*2\r\n:1\r\n:1\r\n"
    );
    assert_eq!(c.text(&["HLEN", "h"]), ":3\r\n");
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(c.text(&["HGET", "h", "a"]), "$-1\r\n");
    assert_eq!(
        c.text(&["HMGET", "h", "a", "b", "c"]),
        "*3\r\n$-1\r\n$-1\r\n$1\r\n3\r\n"
    );
    assert_eq!(c.text(&["HLEN", "h"]), ":1\r\n");
    assert_eq!(c.text(&["HEXISTS", "h", "b"]), ":0\r\n");
    assert_eq!(c.text(&["HGETALL", "h"]), "*2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    assert_eq!(c.text(&["HTTL", "h", "FIELDS", "1", "a"]), "*1\r\n:-2\r\n");
    // Incrementing an expired field starts from zero.
    c.cmd(&["HSET", "h", "n", "10"]);
    c.cmd(&["HPEXPIRE", "h", "30", "FIELDS", "1", "n"]);
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(c.text(&["HINCRBY", "h", "n", "1"]), ":1\r\n");
    // When the last field expires the key goes.
    c.cmd(&["HSET", "gone", "x", "1"]);
    c.cmd(&["HPEXPIRE", "gone", "30", "FIELDS", "1", "x"]);
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(c.text(&["HLEN", "gone"]), ":0\r\n");
    assert_eq!(c.text(&["EXISTS", "gone"]), ":0\r\n");
}

#[test]
fn active_expiry_reclaims_fields_in_background() {
    let server = start_ferrodis(&["--hz", "100"]);
    let mut c = RawClient::connect(server.port);
    for k in 0..50 {
        let key = format!("h{k}");
        c.cmd(&["HSET", &key, "keep", "1", "tmp", "2"]);
        c.cmd(&["HPEXPIRE", &key, "400", "FIELDS", "1", "tmp"]);
        let only = format!("only{k}");
        c.cmd(&["HSET", &only, "tmp", "1"]);
        c.cmd(&["HPEXPIRE", &only, "400", "FIELDS", "1", "tmp"]);
    }
    assert_eq!(int(&c.cmd(&["DBSIZE"])), 100);
    // Only background reclamation can delete the keys: nothing touches them.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while int(&c.cmd(&["DBSIZE"])) > 50 {
        assert!(std::time::Instant::now() < deadline, "fields not reclaimed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        c.text(&["HGETALL", "h7"]),
        "*2\r\n$4\r\nkeep\r\n$1\r\n1\r\n"
    );
}

#[test]
fn hgetdel_hgetex_hsetex() {
    let server = start_ferrodis(&[]);
    for resp3 in [false, true] {
        let mut c = RawClient::connect(server.port);
        let null = if resp3 {
            c.cmd(&["HELLO", "3"]);
            "_\r\n"
        } else {
            "$-1\r\n"
        };
        c.cmd(&["FLUSHALL"]);
        c.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(
            c.text(&["HGETDEL", "h", "FIELDS", "2", "a", "nosuch"]),
            format!("*2\r\n$1\r\n1\r\n{null}")
        );
        assert_eq!(c.text(&["HEXISTS", "h", "a"]), ":0\r\n");
        assert_eq!(
            c.text(&["HGETDEL", "nokey", "FIELDS", "1", "a"]),
            format!("*1\r\n{null}")
        );
        assert_eq!(
            c.text(&["HGETDEL", "h", "FIELDS", "2", "b", "c"]),
            "*2\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(c.text(&["EXISTS", "h"]), ":0\r\n");

        // HGETEX: get values and set, change or remove TTLs.
        c.cmd(&["HSET", "h", "a", "1", "b", "2"]);
        assert_eq!(
            c.text(&["HGETEX", "h", "FIELDS", "1", "a"]),
            "*1\r\n$1\r\n1\r\n"
        );
        assert_eq!(
            c.text(&["HGETEX", "h", "EX", "100", "FIELDS", "2", "a", "nosuch"]),
            format!("*2\r\n$1\r\n1\r\n{null}")
        );
        assert_eq!(
            strings_ints(&c.cmd(&["HTTL", "h", "FIELDS", "1", "a"])),
            vec![100]
        );
        c.cmd(&["HGETEX", "h", "PX", "5000", "FIELDS", "1", "b"]);
        assert!(strings_ints(&c.cmd(&["HPTTL", "h", "FIELDS", "1", "b"]))[0] > 4000);
        c.cmd(&["HGETEX", "h", "EXAT", "4000000000", "FIELDS", "1", "b"]);
        assert_eq!(
            c.text(&["HEXPIRETIME", "h", "FIELDS", "1", "b"]),
            "*1\r\n:4000000000\r\n"
        );
        c.cmd(&["HGETEX", "h", "PXAT", "4000000000123", "FIELDS", "1", "b"]);
        assert_eq!(
            c.text(&["HPEXPIRETIME", "h", "FIELDS", "1", "b"]),
            "*1\r\n:4000000000123\r\n"
        );
        c.cmd(&["HGETEX", "h", "PERSIST", "FIELDS", "2", "a", "b"]);
        assert_eq!(
            c.text(&["HTTL", "h", "FIELDS", "2", "a", "b"]),
            "*2\r\n:-1\r\n:-1\r\n"
        );
        // A time in the past returns the values and deletes the fields.
        assert_eq!(
            c.text(&["HGETEX", "h", "PXAT", "1", "FIELDS", "2", "a", "b"]),
            "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
        );
        assert_eq!(c.text(&["EXISTS", "h"]), ":0\r\n");

        // HSETEX: FNX / FXX conditions apply to all fields at once.
        assert_eq!(
            c.text(&["HSETEX", "h", "FXX", "FIELDS", "1", "a", "1"]),
            ":0\r\n"
        );
        assert_eq!(c.text(&["EXISTS", "h"]), ":0\r\n");
        assert_eq!(
            c.text(&["HSETEX", "h", "FNX", "EX", "100", "FIELDS", "2", "a", "1", "b", "2"]),
            ":1\r\n"
        );
        assert_eq!(
            strings_ints(&c.cmd(&["HTTL", "h", "FIELDS", "2", "a", "b"])),
            vec![100, 100]
        );
        assert_eq!(
            c.text(&["HSETEX", "h", "FNX", "FIELDS", "2", "a", "x", "c", "3"]),
            ":0\r\n"
        );
        assert_eq!(c.text(&["HGET", "h", "a"]), "$1\r\n1\r\n");
        assert_eq!(
            c.text(&["HSETEX", "h", "FXX", "KEEPTTL", "FIELDS", "1", "a", "10"]),
            ":1\r\n"
        );
        assert_eq!(c.text(&["HGET", "h", "a"]), "$2\r\n10\r\n");
        assert_eq!(
            strings_ints(&c.cmd(&["HTTL", "h", "FIELDS", "1", "a"])),
            vec![100]
        );
        assert_eq!(
            c.text(&["HSETEX", "h", "FXX", "FIELDS", "2", "a", "11", "zz", "1"]),
            ":0\r\n"
        );
        // No expiry option: TTLs are cleared, as HSET does.
        assert_eq!(c.text(&["HSETEX", "h", "FIELDS", "1", "a", "12"]), ":1\r\n");
        assert_eq!(
            strings_ints(&c.cmd(&["HTTL", "h", "FIELDS", "2", "a", "b"])),
            vec![-1, 100]
        );
        assert_eq!(
            c.text(&["HSETEX", "h", "PX", "40", "FIELDS", "1", "t", "v"]),
            ":1\r\n"
        );
        assert_eq!(c.text(&["HGET", "h", "t"]), "$1\r\nv\r\n");
        std::thread::sleep(Duration::from_millis(90));
        assert_eq!(c.text(&["HGET", "h", "t"]), null);
    }
}

#[test]
fn huge_negative_hrandfield_count_is_bounded() {
    let (_server, mut other) = common::assert_huge_random_count_is_bounded(
        &["HSET", "h", common::BIG_ELEMENT, "v"],
        "HRANDFIELD",
        "h",
    );
    assert_eq!(other.cmd(&["HLEN", "h"]), b":1\r\n");
}
