//! Sorted set commands: differential tests against redis-server 7.0 over
//! RESP2 and RESP3 (every command, option and error), in both encodings
//! (listpack and the large one), plus property tests for the random
//! replies.

mod common;

use common::{both_zset_encodings as both_encodings, differential};

#[test]
fn zadd_and_reads_match_redis() {
    differential(|p| {
        both_encodings(
            p,
            r#"
            ZADD z 1 a 2 b 3 c
            ZADD z 1.5 a 2 b 10 d
            OBJECT ENCODING z
            ZSCORE z a
            ZSCORE z nosuch
            ZSCORE nokey a
            ZMSCORE z a nosuch d
            ZMSCORE nokey a b
            ZCARD z
            ZCARD nokey
            ZRANK z a
            ZRANK z d
            ZRANK z nosuch
            ZREVRANK z a
            ZREVRANK z d
            ZREVRANK nokey a
            ZADD z NX 100 a 5 e
            ZADD z XX 100 a 5 f
            ZADD z XX CH 100 a 5 f
            ZADD z GT 50 a
            ZADD z GT CH 150 a
            ZADD z LT CH 200 a
            ZADD z LT CH 1 a
            ZADD z XX GT CH 2 a 3 b
            ZADD z INCR 5 a
            ZADD z INCR NX 5 a
            ZADD z INCR XX 5 nosuch
            ZADD z INCR GT -1 a
            ZADD z CH INCR 1 a
            ZADD nokey XX 1 a
            EXISTS nokey
            ZADD nokey XX INCR 1 a
            ZINCRBY z 2.5 b
            ZINCRBY z -2.5 newone
            ZINCRBY z inf c
            ZINCRBY z -inf c
            ZINCRBY z 1 c
            ZADD z -inf ninf +inf pinf 0 zero -0 negzero
            ZSCORE z negzero
            ZRANGE z 0 -1 WITHSCORES
            ZADD z 0.1 p1 1e20 p2 1.7976931348623157e308 p3 5e-324 p4 123456789012345678 p5
            ZRANGE z 0 -1 WITHSCORES
            ZADD z 0x10 hex
            ZSCORE z hex
            ZADD z 1e400 x
            ZADD z 1e-400 x
            ZADD z nan x
            ZADD z " 1" x
            ZADD z "1 " x
            ZADD z "" x
            ZADD z abc x
            ZADD z 1
            ZADD z 1 a 2
            ZADD z NX XX 1 a
            ZADD z NX GT 1 a
            ZADD z GT LT 1 a
            ZADD z INCR 1 a 2 b
            ZADD z NX
            ZINCRBY z abc a
            ZINCRBY z nan a
            SET str x
            ZADD str 1 a
            ZSCORE str a
            ZMSCORE str a
            ZCARD str
            ZRANK str a
            ZINCRBY str 1 a
            "#,
        );
    });
}

#[test]
fn ranges_match_redis() {
    differential(|p| {
        both_encodings(
            p,
            r#"
            ZADD z 1 a 2 b 3 c 4 d 5 e 5 f 6 g -1 h
            ZRANGE z 0 -1
            ZRANGE z 0 -1 WITHSCORES
            ZRANGE z 2 4 withscores
            ZRANGE z -3 -1
            ZRANGE z -100 100
            ZRANGE z 5 2
            ZRANGE z 100 200
            ZRANGE z 0 -1 REV
            ZRANGE z 0 2 REV WITHSCORES
            ZREVRANGE z 0 -1
            ZREVRANGE z 1 3 WITHSCORES
            ZRANGE z 2 5 BYSCORE
            ZRANGE z (2 5 BYSCORE WITHSCORES
            ZRANGE z 2 (5 BYSCORE
            ZRANGE z (2 (5 BYSCORE
            ZRANGE z -inf +inf BYSCORE
            ZRANGE z 5 2 BYSCORE REV
            ZRANGE z +inf -inf BYSCORE REV WITHSCORES
            ZRANGE z -inf +inf BYSCORE LIMIT 1 3
            ZRANGE z -inf +inf BYSCORE LIMIT 1 -1
            ZRANGE z -inf +inf BYSCORE LIMIT -1 3
            ZRANGE z -inf +inf BYSCORE LIMIT 0 0
            ZRANGE z -inf +inf BYSCORE LIMIT 100 3
            ZRANGE z +inf -inf BYSCORE REV LIMIT 2 2
            ZRANGEBYSCORE z 2 5
            ZRANGEBYSCORE z 2 5 WITHSCORES LIMIT 1 2
            ZRANGEBYSCORE z "" ""
            ZRANGEBYSCORE z ( (
            ZRANGEBYSCORE z " 2" 5
            ZRANGEBYSCORE z 2 5x
            ZRANGEBYSCORE z nan 5
            ZRANGEBYSCORE z 5 2
            ZRANGEBYSCORE z (5 5
            ZRANGEBYSCORE z 2 5 LIMIT 1
            ZRANGEBYSCORE z 2 5 LIMIT a b
            ZRANGEBYSCORE z 2 5 REV
            ZREVRANGEBYSCORE z 5 2
            ZREVRANGEBYSCORE z 5 2 WITHSCORES
            ZREVRANGEBYSCORE z (5 (2 LIMIT 0 1
            ZREVRANGEBYSCORE z 2 5
            ZCOUNT z 2 5
            ZCOUNT z (2 (5
            ZCOUNT z -inf +inf
            ZCOUNT z 5 2
            ZCOUNT nokey 1 2
            ZCOUNT z a b
            ZRANGE z 0 1 LIMIT 0 1
            ZRANGE z a b
            ZRANGE z 0 1 BYLEX
            ZRANGE z [a [b BYLEX WITHSCORES
            ZRANGE z 0 1 BYSCORE BYLEX
            ZRANGE z 0 1 REV REV
            ZRANGE z 0 1 foo
            ZRANGE nokey 0 -1
            ZRANGE nokey 0 1 BYSCORE
            ZREVRANGE z 0 1 REV
            ZREVRANGE z 0 1 LIMIT 0 1
            ZRANGEBYSCORE z 0 1 BYSCORE
            "#,
        );
    });
}

#[test]
fn lex_ranges_match_redis() {
    differential(|p| {
        both_encodings(
            p,
            r#"
            ZADD l 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 aa 0 ""
            ZRANGEBYLEX l - +
            ZRANGEBYLEX l [b [e
            ZRANGEBYLEX l (b (e
            ZRANGEBYLEX l [b (e
            ZRANGEBYLEX l - [c
            ZRANGEBYLEX l (c +
            ZRANGEBYLEX l + -
            ZRANGEBYLEX l - -
            ZRANGEBYLEX l + +
            ZRANGEBYLEX l [e [b
            ZRANGEBYLEX l [ [
            ZRANGEBYLEX l ( +
            ZRANGEBYLEX l - + LIMIT 2 3
            ZRANGEBYLEX l - + LIMIT 2 -1
            ZRANGEBYLEX l - + LIMIT -2 3
            ZRANGEBYLEX l - + WITHSCORES
            ZRANGEBYLEX l a b
            ZRANGEBYLEX l [a b
            ZRANGEBYLEX l +a -
            ZREVRANGEBYLEX l + -
            ZREVRANGEBYLEX l [e [b
            ZREVRANGEBYLEX l (e (b LIMIT 1 2
            ZREVRANGEBYLEX l - +
            ZRANGE l [b [e BYLEX
            ZRANGE l [e [b BYLEX REV
            ZRANGE l - + BYLEX REV LIMIT 1 2
            ZLEXCOUNT l - +
            ZLEXCOUNT l [b (e
            ZLEXCOUNT l + -
            ZLEXCOUNT nokey - +
            ZLEXCOUNT l a b
            ZREMRANGEBYLEX l [b (d
            ZRANGE l 0 -1
            ZREMRANGEBYLEX l a b
            ZREMRANGEBYLEX l - +
            EXISTS l
            ZREMRANGEBYLEX nokey - +
            "#,
        );
    });
}

#[test]
fn removals_match_redis() {
    differential(|p| {
        both_encodings(
            p,
            r#"
            ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g
            ZREM z a nosuch
            ZREM z nosuch
            ZREM nokey a
            ZRANGE z 0 -1
            ZREMRANGEBYRANK z 0 0
            ZREMRANGEBYRANK z -2 -1
            ZREMRANGEBYRANK z 5 1
            ZREMRANGEBYRANK z 100 200
            ZREMRANGEBYRANK z a 1
            ZRANGE z 0 -1 WITHSCORES
            ZREMRANGEBYSCORE z (2 4
            ZREMRANGEBYSCORE z 10 20
            ZREMRANGEBYSCORE z a 1
            ZRANGE z 0 -1 WITHSCORES
            ZREMRANGEBYSCORE z -inf +inf
            EXISTS z
            ZADD z 1 a 2 b
            ZREM z a b c
            EXISTS z
            ZREMRANGEBYRANK nokey 0 -1
            ZREMRANGEBYSCORE nokey 0 1
            SET str x
            ZREM str a
            ZREMRANGEBYRANK str 0 1
            ZREMRANGEBYSCORE str 0 1
            ZREMRANGEBYLEX str - +
            "#,
        );
    });
}

#[test]
fn pops_match_redis() {
    differential(|p| {
        both_encodings(
            p,
            r#"
            ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g
            ZPOPMIN z
            ZPOPMAX z
            ZPOPMIN z 2
            ZPOPMAX z 2
            ZPOPMIN z 0
            ZPOPMIN z -1
            ZPOPMIN z a
            ZPOPMIN z 1 2
            ZPOPMAX z 10
            EXISTS z
            ZPOPMIN nokey
            ZPOPMIN nokey 2
            ZADD z 1 a 2 b 3 c 4 d 5 e
            ZADD y 10 x
            ZMPOP 1 z MIN
            ZMPOP 1 z MAX COUNT 2
            ZMPOP 2 nokey z MIN COUNT 10
            EXISTS z
            ZMPOP 2 nokey z MIN
            ZMPOP 2 nokey y MAX
            ZMPOP 0 z MIN
            ZMPOP -1 z MIN
            ZMPOP a z MIN
            ZMPOP 1 z
            ZMPOP 1 z FOO
            ZMPOP 2 z MIN
            ZMPOP 1 z MIN COUNT 0
            ZMPOP 1 z MIN COUNT -1
            ZMPOP 1 z MIN COUNT a
            ZMPOP 1 z MIN COUNT 1 COUNT 1
            ZMPOP 1 z MIN COUNT
            SET str x
            ZPOPMIN str
            ZMPOP 1 str MIN
            ZMPOP 2 nokey str MIN
            "#,
        );
    });
}

#[test]
fn set_operations_match_redis() {
    differential(|p| {
        both_encodings(
            p,
            r#"
            ZADD a 1 x 2 y 3 z
            ZADD b 10 y 20 z 30 w
            ZADD c 100 z
            ZUNION 2 a b
            ZUNION 2 a b WITHSCORES
            ZUNION 3 a b c WITHSCORES
            ZUNION 2 a b WEIGHTS 2 3 WITHSCORES
            ZUNION 2 a b AGGREGATE MIN WITHSCORES
            ZUNION 2 a b AGGREGATE MAX WITHSCORES
            ZUNION 2 a nokey WITHSCORES
            ZUNION 2 a b WEIGHTS 1 WITHSCORES
            ZUNION 2 a b WEIGHTS 1 a
            ZUNION 2 a b AGGREGATE FOO
            ZUNION 2 a b AGGREGATE
            ZUNION 0 a
            ZUNION -1 a
            ZUNION a a
            ZUNION 3 a b
            ZUNION 2 a b FOO
            ZINTER 2 a b
            ZINTER 2 a b WITHSCORES
            ZINTER 3 a b c WITHSCORES
            ZINTER 2 a b WEIGHTS 2 0.5 AGGREGATE MAX WITHSCORES
            ZINTER 2 a nokey
            ZINTER 2 a a WITHSCORES
            ZDIFF 2 a b
            ZDIFF 2 a b WITHSCORES
            ZDIFF 3 b a c WITHSCORES
            ZDIFF 1 a WITHSCORES
            ZDIFF 2 nokey a
            ZDIFF 2 a b WEIGHTS 1 1
            ZDIFF 2 a b AGGREGATE SUM
            ZUNIONSTORE dst 2 a b
            ZRANGE dst 0 -1 WITHSCORES
            OBJECT ENCODING dst
            ZUNIONSTORE dst 2 a b WEIGHTS 1 2 AGGREGATE MAX
            ZRANGE dst 0 -1 WITHSCORES
            ZUNIONSTORE dst 2 a b WITHSCORES
            ZINTERSTORE dst 2 a b
            ZRANGE dst 0 -1 WITHSCORES
            ZINTERSTORE dst 2 a c
            ZINTERSTORE dst 2 a nokey
            EXISTS dst
            ZDIFFSTORE dst 2 b a
            ZRANGE dst 0 -1 WITHSCORES
            ZDIFFSTORE dst 2 a a
            EXISTS dst
            ZDIFFSTORE a 2 a b
            ZRANGE a 0 -1 WITHSCORES
            ZINTERCARD 2 a b
            ZINTERCARD 2 b c
            ZINTERCARD 2 b c LIMIT 0
            ZINTERCARD 2 b b LIMIT 1
            ZINTERCARD 2 b b LIMIT 5
            ZINTERCARD 2 b b LIMIT -1
            ZINTERCARD 2 b b LIMIT a
            ZINTERCARD 2 b b WITHSCORES
            ZINTERCARD 0 b
            ZINTERCARD 3 b c
            ZADD inf1 +inf m
            ZADD inf2 -inf m
            ZUNION 2 inf1 inf2 WITHSCORES
            ZINTER 2 inf1 inf2 WITHSCORES
            ZUNION 2 inf1 inf2 WEIGHTS 0 0 WITHSCORES
            ZUNION 1 inf1 WEIGHTS 0 WITHSCORES
            ZUNION 1 inf1 WEIGHTS nan
            ZUNION 1 inf1 WEIGHTS inf WITHSCORES
            SET str x
            ZUNION 2 a str
            ZINTER 2 str a
            ZUNIONSTORE dst 1 str
            ZINTERCARD 1 str
            ZRANGESTORE dst a 0 -1
            ZRANGE dst 0 -1 WITHSCORES
            ZRANGESTORE dst b 1 2 REV
            ZRANGE dst 0 -1 WITHSCORES
            ZRANGESTORE dst b 15 +inf BYSCORE LIMIT 0 1
            ZRANGE dst 0 -1 WITHSCORES
            ZRANGESTORE dst b [a [z BYLEX
            ZRANGESTORE dst nokey 0 -1
            EXISTS dst
            ZRANGESTORE dst b 0 -1 WITHSCORES
            ZRANGESTORE dst str 0 -1
            ZRANGESTORE dst2 b 5 1
            EXISTS dst2
            "#,
        );
    });
}

#[test]
fn random_members_and_scan() {
    differential(|p| {
        both_encodings(
            p,
            r#"
            ZADD z 1 a 2 b 3 c
            ZRANDMEMBER nokey
            ZRANDMEMBER nokey 5
            ZRANDMEMBER nokey -5 WITHSCORES
            ZRANDMEMBER z 0
            ZRANDMEMBER z 3
            ZRANDMEMBER z 10 WITHSCORES
            ZRANDMEMBER z 1 FOO
            ZRANDMEMBER z 1 WITHSCORES FOO
            ZRANDMEMBER z a
            ZRANDMEMBER z -9223372036854775808
            ZRANDMEMBER z -9223372036854775807 WITHSCORES
            ZRANDMEMBER z 9223372036854775807 WITHSCORES
            ZSCAN nokey 0
            ZSCAN z 0 MATCH a*
            ZSCAN z 0 COUNT 0
            ZSCAN z 0 COUNT a
            ZSCAN z 0 FOO bar
            ZSCAN z abc
            SET str x
            ZRANDMEMBER str
            ZSCAN str 0
            "#,
        );
        // A packed set is scanned in one call, in order (a large one in
        // its hash order in Redis, which is not compared).
        p.script("ZADD s 1 a 2 b 3 c\nZSCAN s 0\nZSCAN s 0 MATCH b COUNT 1");
        // Random picks: shapes and membership.
        p.same(&["ZADD", "r", "1", "a", "2", "b", "3", "c", "4", "d"]);
        for args in [
            &["ZRANDMEMBER", "r", "2"][..],
            &["ZRANDMEMBER", "r", "-7"],
            &["ZRANDMEMBER", "r", "-3", "WITHSCORES"],
            &["ZRANDMEMBER", "r", "3", "WITHSCORES"],
        ] {
            let (ours, theirs) = p.both(args);
            assert_eq!(ours.len(), theirs.len(), "{args:?}");
            assert_eq!(ours[..4], theirs[..4], "{args:?}");
        }
    });
}

#[test]
fn large_sets_cross_the_thresholds_like_redis() {
    differential(|p| {
        let mut args = vec!["ZADD".to_string(), "big".to_string()];
        for i in 0..300 {
            args.push(((i * 37) % 101).to_string());
            args.push(format!("m{i}"));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        p.same(&refs[..2 + 2 * 128]);
        p.same(&["OBJECT", "ENCODING", "big"]);
        p.same(&refs);
        p.same(&["OBJECT", "ENCODING", "big"]);
        p.script(
            r#"
            ZCARD big
            ZRANGE big 0 -1 WITHSCORES
            ZRANGE big 0 -1 REV
            ZRANGE big 100 150 WITHSCORES
            ZRANGE big -150 -100 REV WITHSCORES
            ZRANGE big 10 50 BYSCORE LIMIT 5 20 WITHSCORES
            ZRANGE big 50 10 BYSCORE REV LIMIT 5 20 WITHSCORES
            ZCOUNT big 10 (50
            ZRANK big m0
            ZRANK big m299
            ZREVRANK big m150
            ZSCORE big m77
            ZREM big m1 m2 m3 m200
            ZREMRANGEBYRANK big 10 40
            ZREMRANGEBYSCORE big 90 95
            ZRANGE big 0 -1 WITHSCORES
            ZPOPMIN big 5
            ZPOPMAX big 5
            ZUNIONSTORE u 1 big
            OBJECT ENCODING u
            ZRANGESTORE s big 0 9
            OBJECT ENCODING s
            ZRANGESTORE s big 0 200
            OBJECT ENCODING s
            ZADD long 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
            OBJECT ENCODING long
            ZADD short 1 a
            ZADD short 2 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
            OBJECT ENCODING short
            ZREM short aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
            OBJECT ENCODING short
            CONFIG SET zset-max-ziplist-entries 4
            CONFIG GET zset-max-listpack-entries
            ZADD four 1 a 2 b 3 c 4 d
            OBJECT ENCODING four
            ZADD four 5 e
            OBJECT ENCODING four
            CONFIG SET zset-max-listpack-entries 128
            CONFIG SET zset-max-listpack-value 2
            ZADD val 1 abc
            OBJECT ENCODING val
            CONFIG SET zset-max-listpack-value 64
            TYPE big
            "#,
        );
        // The large set's scan visits every member exactly once.
        let mut cursor = "0".to_string();
        let mut seen = std::collections::BTreeSet::new();
        loop {
            let reply = p.ours.cmd(&["ZSCAN", "big", &cursor, "COUNT", "7"]);
            let text = String::from_utf8_lossy(&reply).to_string();
            let lines: Vec<&str> = text.split("\r\n").collect();
            cursor = lines[2].to_string();
            for pair in lines[4..].chunks(4) {
                if pair.len() == 4 {
                    assert!(seen.insert(pair[1].to_string()), "{} twice", pair[1]);
                }
            }
            if cursor == "0" {
                break;
            }
        }
        let card = p.ours.cmd(&["ZCARD", "big"]);
        assert_eq!(format!(":{}\r\n", seen.len()).as_bytes(), &card[..]);
    });
}

/// Runs one ZSCAN call on `c`; returns the next cursor and the members.
fn zscan_once(c: &mut common::RawClient, key: &str, cursor: &str) -> (String, Vec<String>) {
    let reply = c.cmd(&["ZSCAN", key, cursor, "COUNT", "10"]);
    let text = String::from_utf8_lossy(&reply).to_string();
    let lines: Vec<&str> = text.split("\r\n").collect();
    let members = lines[4..]
        .chunks(4)
        .filter(|pair| pair.len() == 4)
        .map(|pair| pair[1].to_string())
        .collect();
    (lines[2].to_string(), members)
}

/// Redis's SCAN guarantee on a large sorted set: every member present
/// from the start to the end of a full iteration is returned, while
/// between calls members are removed (shrinking the member index to an
/// eighth),
/// added (growing it) and the stayers' scores change (moving them in
/// the order). Checked on both servers, the same way.
#[test]
fn zscan_returns_members_present_throughout_under_changes() {
    differential(|p| {
        for (grow, seed) in [(false, 1u64), (true, 2), (false, 3), (true, 4)] {
            for c in [&mut p.ours, &mut p.redis] {
                c.cmd(&["DEL", "zs"]);
                let mut rng = seed;
                let mut next = move || {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng
                };
                let n = 3000;
                let mut args = vec!["ZADD".to_string(), "zs".to_string()];
                for i in 0..n {
                    args.push(i.to_string());
                    args.push(format!("m{i}"));
                }
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                c.cmd(&refs);
                let (mut movers, mut fresh) = ((n / 10..n).collect::<Vec<_>>(), n);
                let mut seen = std::collections::HashSet::new();
                let mut cursor = "0".to_string();
                loop {
                    let (next_cursor, members) = zscan_once(c, "zs", &cursor);
                    seen.extend(members);
                    cursor = next_cursor;
                    if cursor == "0" {
                        break;
                    }
                    for _ in 0..next() % 40 {
                        if grow {
                            c.cmd(&["ZADD", "zs", "5", &format!("m{fresh}")]);
                            fresh += 1;
                        } else if !movers.is_empty() {
                            let i = movers.swap_remove((next() as usize) % movers.len());
                            c.cmd(&["ZREM", "zs", &format!("m{i}")]);
                        }
                    }
                    let stayer = format!("m{}", next() % (n / 10));
                    let by = format!("{}", next() % 5000);
                    c.cmd(&["ZINCRBY", "zs", &by, &stayer]);
                    if !grow && !movers.is_empty() && next() % 2 == 0 {
                        let i = movers.swap_remove((next() as usize) % movers.len());
                        c.cmd(&["ZREM", "zs", &format!("m{i}")]);
                    }
                }
                for i in 0..n / 10 {
                    assert!(seen.contains(&format!("m{i}")), "m{i} missed (grow {grow})");
                }
            }
        }
    });
}

#[test]
fn generic_key_commands_on_zsets() {
    differential(|p| {
        both_encodings(
            p,
            r#"
            ZADD z 1 a 2 b 3 c
            TYPE z
            SCAN 0 TYPE zset
            COPY z z2
            ZRANGE z2 0 -1 WITHSCORES
            RENAME z2 z3
            ZRANGE z3 0 -1 WITHSCORES
            MOVE z3 1
            SELECT 1
            ZRANGE z3 0 -1 WITHSCORES
            OBJECT ENCODING z3
            SELECT 0
            DEL z
            EXISTS z
            "#,
        );
    });
}

#[test]
fn dump_and_restore_exchange_with_redis() {
    differential(|p| {
        for entries in ["128", "0"] {
            p.same(&["FLUSHALL"]);
            p.same(&["CONFIG", "SET", "zset-max-listpack-entries", entries]);
            p.same(&[
                "ZADD", "z", "1", "a", "2.5", "b", "-inf", "c", "1e300", "d", "3", "e",
            ]);
            let ours = p.ours.cmd(&["DUMP", "z"]);
            let theirs = p.redis.cmd(&["DUMP", "z"]);
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "DUMP payloads differ (max entries {entries})"
            );
            // Each server restores the other's payload.
            let payload = bulk_of(&theirs);
            let r = p
                .ours
                .cmd_bytes(&[b"RESTORE", b"fromredis", b"0", &payload]);
            assert_eq!(r, b"+OK\r\n");
            let payload = bulk_of(&ours);
            let r = p
                .redis
                .cmd_bytes(&[b"RESTORE", b"fromredis", b"0", &payload]);
            assert_eq!(r, b"+OK\r\n");
            p.script(
                r#"
                ZRANGE fromredis 0 -1 WITHSCORES
                OBJECT ENCODING fromredis
                "#,
            );
        }
        p.same(&["CONFIG", "SET", "zset-max-listpack-entries", "128"]);
    });
}

fn bulk_of(reply: &[u8]) -> Vec<u8> {
    let end = reply.iter().position(|&b| b == b'\r').expect("header");
    let n: usize = std::str::from_utf8(&reply[1..end])
        .unwrap()
        .parse()
        .unwrap();
    reply[end + 2..end + 2 + n].to_vec()
}

#[test]
fn key_positions_match_redis() {
    differential(|p| {
        p.script(
            r#"
            COMMAND GETKEYS ZUNIONSTORE dst 2 a b WEIGHTS 1 2
            COMMAND GETKEYS ZINTERSTORE dst 1 a
            COMMAND GETKEYS ZDIFFSTORE dst 3 a b c
            COMMAND GETKEYS ZUNION 2 a b WITHSCORES
            COMMAND GETKEYS ZINTER 1 a
            COMMAND GETKEYS ZDIFF 2 a b
            COMMAND GETKEYS ZINTERCARD 2 a b LIMIT 1
            COMMAND GETKEYS ZMPOP 2 a b MIN COUNT 2
            COMMAND GETKEYS ZRANGESTORE dst src 0 -1
            COMMAND GETKEYS ZADD z 1 a
            COMMAND GETKEYS ZUNIONSTORE dst 5 a b
            COMMAND GETKEYS ZUNION 0 a
            COMMAND GETKEYSANDFLAGS ZUNIONSTORE dst 2 a b
            COMMAND GETKEYSANDFLAGS ZRANGESTORE dst src 0 -1
            COMMAND GETKEYSANDFLAGS ZMPOP 1 a MAX
            COMMAND GETKEYSANDFLAGS ZINTERCARD 2 a b
            "#,
        );
        // The commands run on keys spread over every shard.
        p.script(
            r#"
            ZADD k1 1 a 2 b
            ZADD k2 3 b 4 c
            ZADD k3 5 c 6 a
            ZUNIONSTORE k4 3 k1 k2 k3
            ZRANGE k4 0 -1 WITHSCORES
            ZINTERSTORE k5 2 k1 k3
            ZDIFFSTORE k6 3 k1 k2 k3
            ZRANGESTORE k7 k4 0 1
            ZINTERCARD 3 k1 k2 k3
            ZMPOP 3 nokey k7 k6 MAX COUNT 3
            ZRANGE k7 0 -1
            "#,
        );
    });
}

#[test]
fn transactions_and_wrong_arity_match_redis() {
    differential(|p| {
        p.script(
            r#"
            MULTI
            ZADD z 1 a 2 b
            ZINCRBY z 1 a
            ZPOPMIN z
            ZRANGE z 0 -1 WITHSCORES
            EXEC
            ZADD
            ZADD z
            ZSCORE z
            ZRANGE z 0
            ZUNIONSTORE dst
            ZMPOP 1
            ZRANDMEMBER
            ZSCAN z
            ZRANK z
            ZINTERCARD
            "#,
        );
    });
}

#[test]
fn huge_negative_zrandmember_count_is_bounded() {
    let (_server, mut other) = common::assert_huge_random_count_is_bounded(
        &["ZADD", "z", "1", common::BIG_ELEMENT],
        "ZRANDMEMBER",
        "z",
    );
    assert_eq!(other.cmd(&["ZCARD", "z"]), b":1\r\n");
}

#[test]
fn plain_sets_are_inputs_with_score_one() {
    differential(|p| {
        both_encodings(
            p,
            r#"
            SADD s x y 1 2
            SADD ints 1 2 3
            ZADD z 5 x 7 q 9 1
            ZUNION 2 s z WITHSCORES
            ZUNION 2 s ints WEIGHTS 2 3 WITHSCORES
            ZINTER 2 s z WITHSCORES
            ZINTER 2 z s AGGREGATE MAX WITHSCORES
            ZDIFF 2 z s WITHSCORES
            ZDIFF 2 s z WITHSCORES
            ZINTERCARD 2 s z
            ZUNIONSTORE dst 3 s ints z
            ZRANGE dst 0 -1 WITHSCORES
            OBJECT ENCODING dst
            ZINTERSTORE dst 2 ints s
            ZRANGE dst 0 -1 WITHSCORES
            ZDIFFSTORE dst 2 ints s
            ZRANGE dst 0 -1 WITHSCORES
            ZRANGE s 0 -1
            ZADD s 1 a
            ZPOPMIN s
            "#,
        );
    });
}
