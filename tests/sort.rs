//! SORT and SORT_RO: differential tests against redis-server 7.0 over RESP2
//! and RESP3, replies compared byte for byte — lists, sets and sorted sets;
//! numeric weights as libc's strtod reads them, ALPHA (C-string collation,
//! binary with STORE); BY and GET patterns (keys, hash fields, `#`,
//! constants); LIMIT's clamping; no-sort orders; STORE (destinations in any
//! shard, TTLs, empty results, WATCH); ties ordered by Redis's partial
//! quicksort; errors and wrong types; COMMAND GETKEYS.
//!
//! A set that is not sorted comes in its hash table's order, which is each
//! server's own: those replies are compared as collections.

mod common;

use common::{differential, differential_between, same_members, start_ferrodis, start_redis, Pair};

/// Every option, on a list of numbers in several spellings.
#[test]
fn numeric_and_alpha_sorts_of_a_list_match_redis() {
    differential(|p| {
        p.script(
            r##"
            RPUSH l 3 1 2 10 -5 2.5 1e2 0x10 " 7" -inf +inf 007 -0 0 1.0
            SORT l
            SORT l ASC
            SORT l DESC
            SORT l ALPHA
            SORT l ALPHA DESC
            SORT l alpha desc asc
            SORT l LIMIT 0 3
            SORT l LIMIT 2 100
            SORT l LIMIT -5 2
            SORT l LIMIT 5 -1
            SORT l LIMIT 5 -100
            SORT l LIMIT 100 1
            SORT l LIMIT 14 1
            SORT l LIMIT 15 1
            SORT l LIMIT 0 0
            SORT l LIMIT 3 0
            SORT l LIMIT 9223372036854775807 9223372036854775807
            SORT l LIMIT -9223372036854775808 9223372036854775807
            SORT l LIMIT 1 2 LIMIT 3 4
            SORT l DESC LIMIT 1 2 ALPHA
            SORT_RO l
            SORT_RO l DESC LIMIT 1 3 ALPHA
            SORT nosuch
            SORT nosuch ALPHA DESC LIMIT 0 5
            SORT_RO nosuch
            "##,
        );
    });
}

/// Each spelling alone with a valid number: what strtod reads and refuses.
///
/// Redis does not clear `errno` before its strtod, so after a range error
/// (a weight such as `1e400`) every later SORT whose weights are not
/// integers fails too, until something clears it; ZADD's score parser does.
/// ferrodis checks each weight on its own, so the test clears Redis's
/// `errno` that way after each spelling.
#[test]
fn weights_are_read_as_strtod_reads_them() {
    let spellings: &[&[u8]] = &[
        b"",
        b" ",
        b"1 ",
        b" 1",
        b"\t2",
        b"+5",
        b"-0",
        b"abc",
        b"1abc",
        b"nan",
        b"-nan",
        b"NaN",
        b"inf",
        b"-Infinity",
        b"infinity",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b"4.9e-324",
        b"2.2250738585072014e-308",
        b"2.2250738585072011e-308",
        b"1e308",
        b"0x1p-1074",
        b"0x1.8p1",
        b"0X10",
        b"0x",
        b"1e",
        b"1e+",
        b".5",
        b"5.",
        b".",
        b"-",
        b"1\x002",
        b"\x00",
        b"\x00abc",
        b"9223372036854775807",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"18446744073709551616",
        b"00012",
        b"1_000",
        b"\xff",
        b"1,5",
    ];
    differential(|p| {
        for s in spellings {
            p.same(&["DEL", "l", "w"]);
            p.same_bytes(&[b"RPUSH", b"l", b"1", s, b"-3"]);
            p.same(&["SORT", "l"]);
            p.same(&["SORT", "l", "DESC", "LIMIT", "1", "1"]);
            // The same weight through BY.
            p.same(&["DEL", "l"]);
            p.same(&["RPUSH", "l", "a", "b"]);
            p.same(&["SET", "w_a", "0.5"]);
            p.same_bytes(&[b"SET", b"w_b", s]);
            p.same(&["SORT", "l", "BY", "w_*"]);
            p.same(&["SORT", "l", "BY", "w_*", "STORE", "d"]);
            p.same(&["LRANGE", "d", "0", "-1"]);
            p.same(&["ZADD", "clears-errno", "0.5", "m"]);
        }
    });
}

#[test]
fn by_patterns_and_get_patterns_match_redis() {
    differential(|p| {
        p.script(
            r##"
            RPUSH l a b c d e f
            MSET w_a 3 w_b 1 w_c 2 w_d 10 w_f -1
            HSET o_a f 30 g x
            HSET o_b f 10
            HSET o_c f 20 g y
            HSET o_d f 5
            RPUSH w_e not-a-string
            SORT l BY w_*
            SORT l BY w_* DESC
            SORT l BY w_* ALPHA
            SORT l BY w_* ALPHA DESC
            SORT l BY w_* LIMIT 1 2
            SORT l BY w_* LIMIT 1 2 DESC
            SORT l BY o_*->f
            SORT l BY o_*->f DESC LIMIT 0 3
            SORT l BY o_*->g ALPHA
            SORT l BY o_*->nosuch
            SORT l BY o_*-> ALPHA
            SORT l BY w_*->f
            SORT l BY o_*
            SORT l GET #
            SORT l GET # GET w_* GET o_*->f GET o_*->g
            SORT l BY w_* GET # GET w_*
            SORT l BY w_* GET w_* GET # LIMIT 2 3
            SORT l GET constant
            SORT l GET nosuch_*
            SORT l GET o_*->
            SORT l GET w_*->f
            SORT l GET "#x"
            SORT l GET *
            SORT l GET o_*->f->g
            SORT l ALPHA GET #
            SORT_RO l BY w_* GET # GET o_*->f
            SET a 5
            SET b 4
            SET c 6
            SORT l BY * ALPHA
            SORT l BY * GET *
            SORT l BY nosuch_* ALPHA
            SORT l BY nosuch_*
            SORT l BY w_*x
            SET w_ax 2
            SORT l BY w_*x GET w_*x
            "##,
        );
    });
}

/// A constant BY pattern (no `*` before any NUL) turns sorting off.
#[test]
fn no_sort_keeps_lists_and_sorted_sets_in_their_order() {
    differential(|p| {
        p.script(
            r##"
            RPUSH l 5 3 4 1 2 x
            SORT l BY nosort
            SORT l BY nosort DESC
            SORT l BY nosort LIMIT 0 3
            SORT l BY nosort LIMIT 2 3 DESC
            SORT l BY nosort LIMIT -10 100
            SORT l BY nosort LIMIT 5 10
            SORT l BY nosort LIMIT 6 10
            SORT l BY nosort LIMIT 1 0
            SORT l BY nosort GET # GET w_*
            SORT l BY nosort ALPHA
            SORT l BY "#"
            SORT l BY w_* BY nosort
            SORT l BY nosort BY w_*
            SORT l BY nosort STORE d
            LRANGE d 0 -1
            SORT l BY nosort DESC LIMIT 1 2 STORE d
            LRANGE d 0 -1
            ZADD z 1 a 5 b 2 c 10 d 3 e -inf min +inf max
            SORT z BY nosort
            SORT z BY nosort DESC
            SORT z BY nosort ASC LIMIT 0 1
            SORT z BY nosort DESC LIMIT 0 1
            SORT z BY nosort LIMIT 0 2
            SORT z BY nosort DESC LIMIT 0 2
            SORT z BY nosort LIMIT 5 10
            SORT z BY nosort LIMIT -10 100
            SORT z BY nosort DESC LIMIT 3 2
            SORT z BY nosort LIMIT 7 1
            SORT z BY nosort GET # GET w_*
            SORT_RO z BY nosort DESC LIMIT 1 3
            SORT z BY nosort DESC STORE d
            LRANGE d 0 -1
            MULTI
            SORT z BY nosort ASC
            SORT z BY nosort DESC
            EXEC
            "##,
        );
        // Ranges straddling a large list's node boundaries.
        let items: Vec<String> = (0..300).map(|i| format!("e{i}")).collect();
        let mut push = vec!["RPUSH", "big"];
        push.extend(items.iter().map(String::as_str));
        p.same(&push);
        for (from, count) in [(0, 300), (100, 150), (250, 100), (127, 3), (299, 5)] {
            for order in ["ASC", "DESC"] {
                let (from, count) = (from.to_string(), count.to_string());
                p.same(&["SORT", "big", "BY", "nosort", order, "LIMIT", &from, &count]);
            }
        }
        let mut zadd = vec!["ZADD".to_string(), "bigz".to_string()];
        for i in 0..300 {
            zadd.push(((i * 7919) % 300).to_string());
            zadd.push(format!("m{i}"));
        }
        let zadd: Vec<&str> = zadd.iter().map(String::as_str).collect();
        p.same(&zadd);
        for (from, count) in [(0, 300), (100, 150), (250, 100), (299, 5)] {
            for order in ["ASC", "DESC"] {
                let (from, count) = (from.to_string(), count.to_string());
                p.same(&[
                    "SORT", "bigz", "BY", "nosort", order, "LIMIT", &from, &count,
                ]);
            }
        }
    });
}

#[test]
fn sets_and_sorted_sets_sort_like_redis() {
    differential(|p| {
        p.script(
            r##"
            SADD si 5 3 -1 100 42 0
            SORT si
            SORT si DESC LIMIT 1 3
            SORT si ALPHA
            SORT si BY nosort
            SORT si BY nosort LIMIT 2 2
            SORT si BY nosort DESC
            SORT si BY nosort STORE d
            LRANGE d 0 -1
            SADD ss b a c aa "b a" ""
            SORT ss ALPHA
            SORT ss ALPHA DESC LIMIT 1 3
            SORT ss
            SORT ss BY nosort STORE d
            LRANGE d 0 -1
            SORT ss BY nosort DESC STORE d
            LRANGE d 0 -1
            SORT ss BY nosort DESC LIMIT 1 2 STORE d
            LRANGE d 0 -1
            SORT ss BY nosort GET # GET w_* STORE d
            LRANGE d 0 -1
            MSET w_a 4 w_b 3 w_c 2 w_aa 1 "w_b a" 0 w_ 9
            SORT ss BY w_*
            SORT ss BY w_* DESC LIMIT 0 2
            SORT ss BY w_* GET # GET w_*
            ZADD z 1 a 5 b 2 c 10 d 3 e
            SORT z ALPHA
            SORT z ALPHA DESC
            SORT z
            SORT z BY w_* ALPHA
            SORT z BY w_*
            ZADD zn 1 10 2 9 3 -8 4 7.5
            SORT zn
            SORT zn DESC LIMIT 1 2
            SORT zn ALPHA
            "##,
        );
        same_members(p, &["SORT", "ss", "BY", "nosort"]);
        same_members(p, &["SORT", "ss", "BY", "nosort", "DESC"]);
        same_members(p, &["SORT", "ss", "BY", "nosort", "GET", "#"]);
        same_members(p, &["SORT_RO", "ss", "BY", "nosort"]);
    });
}

/// Redis converts a sorted set it sorts to its skiplist encoding, even
/// for SORT_RO.
#[test]
fn sorting_a_sorted_set_converts_it_as_redis_does() {
    differential(|p| {
        p.script(
            r##"
            ZADD z 1 a 2 b
            OBJECT ENCODING z
            SORT_RO z BY nosort
            OBJECT ENCODING z
            ZADD z2 1 a
            SORT z2 ALPHA LIMIT 0 0
            OBJECT ENCODING z2
            ZRANGE z2 0 -1 WITHSCORES
            SORT z2 ALPHA STORE z3
            OBJECT ENCODING z3
            TYPE z3
            "##,
        );
    });
}

/// Ties: binary comparison of elements for numeric ties, a C string's
/// bytes up to its NUL for ALPHA (binary with STORE), missing BY values
/// first, and Redis's partial quicksort's order when BY meets a LIMIT.
#[test]
fn ties_are_broken_as_redis_breaks_them() {
    differential(|p| {
        p.script(
            r##"
            RPUSH l b a "a\x00b" "a\x00a" a "\xff" "\x80a" B "" "\x00" aa
            SORT l ALPHA
            SORT l ALPHA DESC
            SORT l ALPHA LIMIT 1 4
            SORT l ALPHA STORE d
            LRANGE d 0 -1
            SORT l ALPHA DESC STORE d
            LRANGE d 0 -1
            SET "w_a\x00b" "x\x00b"
            SET "w_a\x00a" "x\x00a"
            SET w_b x
            SORT l BY w_* ALPHA
            SORT l BY w_* ALPHA STORE d
            LRANGE d 0 -1
            SORT l BY w_* ALPHA LIMIT 0 3
            SORT l BY w_* ALPHA DESC LIMIT 2 3
            SORT l BY w_*
            RPUSH n 3 b 1 a 2 c a
            MSET w_3 1 w_b 1 w_1 0 w_a 1 w_2 0 w_c 1
            SORT n BY w_*
            SORT n BY w_* DESC
            SORT n BY w_* LIMIT 1 3
            SORT n BY w_* DESC LIMIT 2 3
            "##,
        );
        // Long lists of equal weights: Redis's partial quicksort moves
        // them around; its full sort (glibc's merge sort) keeps them in
        // place.
        let mut seed = 12345u64;
        for n in [6usize, 7, 8, 39, 41, 64, 200] {
            let mut push = vec!["RPUSH".to_string(), format!("t{n}")];
            for i in 0..n {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                push.push(format!("e{i}"));
                let group = (seed >> 33) % 4;
                if group > 0 {
                    p.same(&["SET", &format!("g{n}_e{i}"), &format!("v{group}")]);
                }
            }
            let push: Vec<&str> = push.iter().map(String::as_str).collect();
            p.same(&push);
            let key = format!("t{n}");
            let by = format!("g{n}_*");
            for (from, count) in [
                ("0", "5"),
                ("2", "3"),
                ("5", "100"),
                ("0", "-1"),
                ("1", "0"),
            ] {
                for order in ["ASC", "DESC"] {
                    p.same(&[
                        "SORT", &key, "BY", &by, "ALPHA", order, "LIMIT", from, count,
                    ]);
                    p.same(&[
                        "SORT", &key, "BY", "none_*", "ALPHA", order, "LIMIT", from, count,
                    ]);
                    p.same(&["SORT", &key, "BY", &by, order, "LIMIT", from, count]);
                }
            }
            p.same(&["SORT", &key, "BY", &by, "ALPHA"]);
            p.same(&["SORT", &key, "BY", "none_*", "ALPHA", "DESC"]);
        }
    });
}

#[test]
fn store_replaces_or_deletes_its_destination_in_any_shard() {
    differential(|p| {
        p.script(
            r##"
            RPUSH l 3 1 2
            MSET w_1 c w_2 b w_3 a
            SET d x EX 1000
            SORT l STORE d
            TYPE d
            TTL d
            LRANGE d 0 -1
            OBJECT ENCODING d
            SORT l BY w_* ALPHA GET # GET w_* GET nosuch_* STORE d
            LRANGE d 0 -1
            SORT l LIMIT 1 1 STORE d STORE e
            EXISTS d
            LRANGE e 0 -1
            SORT l LIMIT 5 1 STORE e
            EXISTS e
            SORT nosuch STORE d
            EXISTS d
            SORT nosuch STORE d
            SORT l STORE l
            LRANGE l 0 -1
            SORT l BY w_* ALPHA STORE w_1
            LRANGE w_1 0 -1
            SORT l BY w_* ALPHA
            HSET h f v
            SORT l STORE h
            TYPE h
            SORT l GET # GET # STORE d
            LLEN d
            SORT l LIMIT 0 0 GET # STORE d
            EXISTS d
            "##,
        );
        for i in 0..48 {
            let dst = format!("dst{i}");
            p.same(&[
                "SORT", "l", "BY", "w_*", "ALPHA", "GET", "w_*", "STORE", &dst,
            ]);
            p.same(&["LRANGE", &dst, "0", "-1"]);
        }
        p.same(&["DBSIZE"]);
        // A long result, across several list nodes.
        let items: Vec<String> = (0..1000).map(|i| ((i * 7) % 1000).to_string()).collect();
        let mut push = vec!["RPUSH", "long"];
        push.extend(items.iter().map(String::as_str));
        p.same(&push);
        p.same(&["SORT", "long", "DESC", "STORE", "long2"]);
        p.same(&["LRANGE", "long2", "0", "-1"]);
        p.same(&["LLEN", "long2"]);
    });
}

#[test]
fn errors_and_wrong_types_match_redis() {
    differential(|p| {
        p.script(
            r##"
            SET str 1
            HSET h f 1
            RPUSH l 1 x 2
            SORT str
            SORT h
            SORT_RO str
            SORT str STORE d
            EXISTS d
            SORT str LIMIT 0 x
            SORT str foo
            SORT l
            SORT l STORE d
            EXISTS d
            SORT l DESC LIMIT 0 1
            SORT l BY nosort
            SORT l BY w_* GET #
            SORT l LIMIT
            SORT l LIMIT 0
            SORT l LIMIT x 1
            SORT l LIMIT 1 x
            SORT l LIMIT 1.5 1
            SORT l LIMIT 99999999999999999999 1
            SORT l BY
            SORT l GET
            SORT l STORE
            SORT l ASC DESC ALPHA BY x GET # junk
            SORT l ALPHAX
            SORT_RO l STORE d
            SORT_RO l BY nosort STORE d
            SORT_RO l STORE
            SORT l junk LIMIT x y
            SORT l LIMIT x y junk
            SORT
            SORT_RO
            SET w_1 1
            SET w_x nope
            SET w_2 2
            SORT l BY w_*
            SORT l BY w_* STORE d
            EXISTS d
            SORT l BY w_* ALPHA
            "##,
        );
    });
}

#[test]
fn expired_pattern_keys_read_as_missing() {
    differential(|p| {
        p.script(
            r##"
            RPUSH l a b c
            MSET w_a 3 w_b 2 w_c 1
            PEXPIRE w_b 1
            HSET o_c f 0
            PEXPIRE o_c 1
            "##,
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        p.script(
            r##"
            SORT l BY w_* GET # GET w_* GET o_*->f
            DBSIZE
            "##,
        );
    });
}

#[test]
fn command_getkeys_follows_redis() {
    differential(|p| {
        p.script(
            r##"
            COMMAND GETKEYS sort abc store def
            COMMAND GETKEYS sort_ro abc
            COMMAND GETKEYS sort abc store invalid store stillbad store def
            COMMAND GETKEYS sort abc by w_* get o_*->f
            COMMAND GETKEYS sort abc limit 0 1 store d
            COMMAND GETKEYS sort abc get store store d
            COMMAND GETKEYS sort abc store by store d
            COMMAND GETKEYS sort abc store
            COMMAND GETKEYSANDFLAGS sort abc store def
            COMMAND GETKEYSANDFLAGS sort_ro abc by x
            "##,
        );
    });
}

#[test]
fn transactions_and_watch_see_sort_like_redis() {
    let (ours, redis) = (start_ferrodis(&[]), start_redis(&[]));
    differential_between(&ours, &redis, |p| {
        let mut other = Pair::connect(&ours, &redis, 2);
        p.script("RPUSH l 2 1\nSET d x");
        // A stored result touches the destination.
        p.same(&["WATCH", "d"]);
        other.same(&["SORT", "l", "STORE", "d"]);
        p.script("MULTI\nPING\nEXEC");
        // So does an empty one that deletes it.
        p.same(&["WATCH", "d"]);
        other.same(&["SORT", "nosuch", "STORE", "d"]);
        p.script("MULTI\nPING\nEXEC");
        // An empty result with no destination to delete touches nothing,
        // nor does a plain SORT of the watched key.
        p.same(&["WATCH", "d", "l"]);
        other.same(&["SORT", "nosuch", "STORE", "d"]);
        other.same(&["SORT", "l", "BY", "w_*"]);
        p.script("MULTI\nPING\nEXEC");
        p.script(
            r##"
            MULTI
            SORT l STORE d
            SORT d DESC
            SORT_RO l BY nosort GET #
            SORT l LIMIT x y
            EXEC
            "##,
        );
        p.same(&["INFO", "keyspace"]);
    });
}

/// Keyspace hits and misses: the sorted key and every pattern lookup count.
#[test]
fn pattern_lookups_count_hits_and_misses_as_redis_does() {
    differential(|p| {
        p.script("RPUSH l a b c\nMSET w_a 1 w_b 2\nHSET o_a f 1");
        for cmd in [
            &["SORT", "l"][..],
            &["SORT", "nosuch"],
            &[
                "SORT", "l", "BY", "w_*", "GET", "#", "GET", "o_*->f", "GET", "x",
            ],
            &["SORT", "l", "BY", "nosort", "GET", "w_*"],
        ] {
            p.same(&["CONFIG", "RESETSTAT"]);
            p.same(cmd);
            let (ours, theirs) = p.both(&["INFO", "stats"]);
            let pick = |info: &[u8]| {
                String::from_utf8_lossy(info)
                    .lines()
                    .filter(|l| l.starts_with("keyspace_"))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            };
            assert_eq!(pick(&ours), pick(&theirs), "{cmd:?}");
        }
    });
}

/// A SORT whose patterns read keys in every shard sees them all at one
/// instant: MSETs on the other worker (atomic themselves) flip every
/// weight between two orders, and each SORT returns one of the two, never
/// a mix.
#[test]
fn pattern_reads_are_atomic_under_concurrent_writes() {
    let server = start_ferrodis(&[]);
    let names: Vec<String> = (0..40).map(|i| format!("e{i}")).collect();
    let mut c = common::RawClient::connect(server.port);
    let mut push = vec!["RPUSH".to_string(), "l".to_string()];
    push.extend(names.iter().cloned());
    let push: Vec<&str> = push.iter().map(String::as_str).collect();
    c.cmd(&push);
    // Order 0: weights ascending with the index; order 1: descending.
    let mset = |flip: bool| -> Vec<String> {
        let mut m = vec!["MSET".to_string()];
        for (i, name) in names.iter().enumerate() {
            m.push(format!("w_{name}"));
            m.push(if flip { 100 - i } else { i }.to_string());
        }
        m
    };
    let (up, down) = (mset(false), mset(true));
    c.cmd(&up.iter().map(String::as_str).collect::<Vec<_>>());
    let port = server.port;
    let writer = std::thread::spawn(move || {
        let mut w = common::RawClient::connect(port);
        // The other worker thread, so the two really run at once.
        assert_eq!(w.text(&["DEBUG", "WORKER", "1"]), ":1\r\n");
        for i in 0..3000 {
            let m = if i % 2 == 0 { &down } else { &up };
            w.cmd(&m.iter().map(String::as_str).collect::<Vec<_>>());
        }
    });
    let ascending: Vec<&str> = names.iter().map(String::as_str).collect();
    let descending: Vec<&str> = ascending.iter().rev().copied().collect();
    let expect = |order: &[&str]| {
        let mut reply = format!("*{}\r\n", order.len());
        for e in order {
            reply.push_str(&format!("${}\r\n{e}\r\n", e.len()));
        }
        reply
    };
    assert_eq!(c.text(&["DEBUG", "WORKER", "0"]), ":0\r\n");
    let (a, d) = (expect(&ascending), expect(&descending));
    for _ in 0..1500 {
        let got = c.text(&["SORT", "l", "BY", "w_*"]);
        assert!(got == a || got == d, "a mixed order: {got:?}");
    }
    writer.join().expect("writer");
}
