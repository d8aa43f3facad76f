//! Keyspace events against Redis: every writing command ferrodis has, run
//! as the same script against redis-server (7.0.15 by default, collecting
//! its keyspace notifications with `notify-keyspace-events KEAn` and with
//! each class alone) and against ferrodis (`DEBUG KEYEVENTS`): the same
//! events, in the same order, with the same classes and databases, and the
//! same replies. See `common/keyevents.rs` for the script directives.
//!
//! The `post70_` tests compare the hash commands newer than 7.0 and are
//! `#[ignore]`d, like `tests/hashes_post70.rs`:
//!
//! ```text
//! FERRODIS_REDIS_SERVER=/path/to/redis-7.4/src/redis-server \
//!     cargo test --release --test keyevents -- --ignored post70_v74
//! FERRODIS_REDIS_SERVER=/path/to/redis-8.0/src/redis-server \
//!     cargo test --release --test keyevents -- --ignored post70_
//! ```

mod common;

use common::keyevents::EventServers;

#[test]
fn string_commands() {
    let s = EventServers::start();
    let n = s.compare(
        "strings",
        r#"
        DEBUG SET-ACTIVE-EXPIRE 0
        SET s1 v
        SET s1 v2
        SET s1 v3 GET
        SET s1 v4 XX
        SET nokey v XX
        SET s2 v NX
        SET s2 w NX
        SET s3 v EX 100
        SET s4 v PX 100000 GET
        SET s3 w KEEPTTL
        SET s3 w EX 0
        # A time already past: Redis 7.0 sets it, the key expires at its
        # next lookup.
        SET s5 v EXAT 1
        GET s5
        SETNX s6 v
        SETNX s6 w
        SETEX s7 100 v
        PSETEX s8 100000 v
        GETSET s9 v
        GETSET s9 w
        GETDEL s9
        GETDEL s9
        GETEX s7 PERSIST
        GETEX s7 PERSIST
        GETEX s8 EX 200
        GETEX s8
        GETEX s8 PXAT 1
        GETEX nokey EX 10
        MSET m1 a m2 b m1 c
        MSETNX m3 a m1 b
        MSETNX m3 a m4 b
        APPEND a1 x
        APPEND a1 y
        SETRANGE r1 3 abc
        SETRANGE r1 0 ""
        SETRANGE r2 0 ""
        SETRANGE r1 1 z
        INCR i1
        INCRBY i1 5
        DECR i1
        DECRBY i1 2
        INCR i1
        INCRBYFLOAT f1 1.5
        INCRBYFLOAT f1 2
        SET i2 notanumber
        INCR i2
        INCRBYFLOAT i2 1
        HSET h f v
        SET h x NX
        APPEND h x
        SETRANGE h 0 x
        INCR h
        GETDEL h
        "#,
    );
    assert!(n > 60, "{n}");
}

#[test]
fn list_commands() {
    let s = EventServers::start();
    let n = s.compare(
        "lists",
        r#"
        LPUSH l1 a b c
        RPUSH l1 d
        LPUSHX l1 e
        RPUSHX l1 f
        LPUSHX nol a
        RPUSHX nol a
        LPOP l1
        RPOP l1
        LPOP l1 2
        RPOP l1 0
        LPOP nol
        LSET l1 0 z
        LSET l1 99 z
        LINSERT l1 BEFORE z y
        LINSERT l1 AFTER nothere y
        LINSERT nol BEFORE a b
        LREM l1 0 y
        LREM l1 0 nothere
        LTRIM l1 0 -1
        LTRIM nol 0 1
        LTRIM l1 1 0
        RPUSH l2 a b c
        LMOVE l2 l3 LEFT RIGHT
        LMOVE l2 l2 RIGHT LEFT
        RPOPLPUSH l2 l3
        RPOPLPUSH l2 l3
        LMOVE nol l3 LEFT LEFT
        RPUSH one a
        LMOVE one one LEFT RIGHT
        RPUSH l4 a
        LMPOP 2 nol l4 LEFT COUNT 5
        LMPOP 1 nol RIGHT
        RPUSH l5 a b c
        LMPOP 1 l5 RIGHT COUNT 2
        LREM l5 1 a
        RPUSH l6 a
        RPOP l6 3
        SET str x
        LPUSH str a
        LMOVE l3 str LEFT LEFT
        LMOVE str l3 LEFT LEFT
        RPUSH bl a b c d
        BLPOP nol bl 1
        BRPOP bl 1
        RPUSH bm x
        BLMOVE bm bl LEFT RIGHT 1
        BRPOPLPUSH bl bm 1
        BLMPOP 1 2 nol bl RIGHT COUNT 5
        EVAL "redis.call('rpush', KEYS[1], 'a'); redis.call('set', KEYS[2], 'v'); return redis.call('lpop', KEYS[1])" 2 ev1 ev2
        "#,
    );
    assert!(n > 40, "{n}");
}

#[test]
fn hash_commands() {
    let s = EventServers::start();
    let n = s.compare(
        "hashes",
        r#"
        HSET h1 a 1 b 2
        HSET h1 a 3
        HMSET h1 c 4
        HSETNX h1 a 9
        HSETNX h1 d 9
        HSETNX h2 a 1
        HINCRBY h1 n 5
        HINCRBY h3 n 1
        HINCRBYFLOAT h1 f 1.5
        HINCRBYFLOAT h4 f 2
        HSET h1 s notanumber
        HINCRBY h1 s 1
        HINCRBYFLOAT h1 s 1
        HINCRBYFLOAT h1 n inf
        HDEL h1 nothere
        HDEL h1 a b
        HDEL h2 a
        HDEL h3 n x
        HDEL nokey a
        HGET h1 c
        SET str x
        HSET str a 1
        HDEL h4 f
        HSET big f00 v f01 v f02 v f03 v f04 v f05 v f06 v f07 v f08 v f09 v
        HDEL big f00 f01 f02 f03 f04 f05 f06 f07 f08 f09 f10
        "#,
    );
    assert!(n > 25, "{n}");
}

#[test]
fn zset_commands() {
    let s = EventServers::start();
    let n = s.compare(
        "zsets",
        r#"
        ZADD z 1 a 2 b 3 c 4 d 5 e
        ZADD z 1 a
        ZADD z NX 9 a
        ZADD z XX CH 9 a
        ZADD z GT 1 a
        ZADD z INCR 1 a
        ZADD z2 XX 1 a
        ZINCRBY z 2 b
        ZINCRBY z3 2 b
        ZINCRBY z 0 b
        ZADD z INCR 0 b
        ZADD z -inf m
        ZINCRBY z +inf m
        ZREM z nothere
        ZREM z m
        ZREM z3 b
        ZREMRANGEBYSCORE z 100 200
        ZREMRANGEBYSCORE z 9 9
        ZREMRANGEBYRANK z 10 20
        ZREMRANGEBYRANK z 0 0
        ZADD l 0 a 0 b 0 c
        ZREMRANGEBYLEX l [x [z
        ZREMRANGEBYLEX l [a [b
        ZREMRANGEBYLEX l - +
        ZPOPMIN z
        ZPOPMAX z 0
        ZPOPMAX z
        ZPOPMIN nokey
        ZADD p 1 a 2 b
        ZMPOP 2 nokey p MIN COUNT 5
        ZMPOP 1 p MAX
        ZADD a 1 x 2 y
        ZADD b 3 y 4 w
        ZUNIONSTORE u 2 a b
        ZUNIONSTORE u 2 a b WEIGHTS 2 2
        ZINTERSTORE i 2 a b
        ZINTERSTORE i 2 a nokey
        ZINTERSTORE i 2 a nokey
        ZDIFFSTORE d 2 a b
        ZDIFFSTORE d 2 a a
        ZRANGESTORE r a 0 -1
        ZRANGESTORE r a 10 20
        ZRANGESTORE r nokey 0 -1
        ZUNION 2 a b
        ZRANGE a 0 -1
        SET str x
        ZADD str 1 a
        ZREM str a
        ZUNIONSTORE str 1 a
        ZADD big 0 m00 0 m01 0 m02 0 m03 0 m04 0 m05 0 m06 0 m07 0 m08 0 m09
        ZREM big m00 m01 m02 m03 m04 m05 m06 m07 m08 m09 m10
        ZADD t 1 a
        EXPIRE t 100
        ZADD t 2 a
        ZUNIONSTORE t 1 a
        TTL t
        RENAME a a2
        COPY a2 a3
        MOVE a3 1
        ZADD bz 1 a 2 b 3 c
        BZPOPMIN nokey bz 1
        BZPOPMAX bz 1
        BZMPOP 1 1 bz MIN COUNT 3
        "#,
    );
    assert!(n > 40, "{n}");
}

#[test]
fn set_commands() {
    let s = EventServers::start();
    let n = s.compare(
        "sets",
        r#"
        SADD s1 1 2 3
        SADD s1 3
        SADD s1 4 a
        SADD s2 a b
        SREM s1 nothere
        SREM s1 4 x
        SREM nokey a
        SREM s2 a b
        SMOVE s1 s3 1
        SMOVE s1 s3 1
        SMOVE s1 s1 2
        SMOVE nokey s3 1
        SADD s4 only
        SMOVE s4 s3 only
        SADD s5 1
        SMOVE s3 s5 1
        SADD s6 x
        SPOP s6
        SPOP s6
        SADD s6 1 2 3
        SPOP s6 0
        SPOP s6 5
        SPOP nokey 2
        SADD a 1 2 3
        SADD b 2 3 4
        SINTERSTORE d a b
        SINTERSTORE d a b
        SUNIONSTORE d a b
        SDIFFSTORE d a b
        SDIFFSTORE d a a
        SDIFFSTORE d a a
        SINTERSTORE d a nokey
        SET str x
        SUNIONSTORE str a
        SADD str a
        SINTER a b
        SRANDMEMBER a 10
        SMEMBERS a
        EXPIRE a 100
        SINTERSTORE a a b
        TTL a
        MULTI
        SADD m 1
        SREM m 1
        EXEC
        "#,
    );
    assert!(n > 40, "{n}");
}

#[test]
fn keyspace_commands() {
    let s = EventServers::start();
    let n = s.compare(
        "keys",
        r#"
        DEBUG SET-ACTIVE-EXPIRE 0
        SET k1 v
        DEL k1 k1 nokey
        SET k1 v
        UNLINK k1
        SET k2 v
        EXPIRE k2 100
        EXPIRE k2 100 NX
        PEXPIRE k2 100000 XX
        EXPIREAT k2 4000000000 GT
        PEXPIREAT k2 4000000000000 LT
        EXPIRE k2 50 GT
        PERSIST k2
        PERSIST k2
        PERSIST nokey
        EXPIRE nokey 10
        EXPIRE k2 -1
        SET k3 v
        PEXPIREAT k3 1
        SET k4 v
        RENAME k4 k5
        SET k6 v
        RENAME k5 k6
        RENAME k6 k6
        RENAMENX k6 k7
        SET k8 v
        RENAMENX k7 k8
        RENAMENX k8 k8
        RENAME nokey x
        SET e1 v EX 100
        RENAME e1 e2
        COPY e2 e3
        COPY e2 e3
        COPY e2 e3 REPLACE
        COPY e2 e3 DB 1
        COPY nokey e9
        MOVE e2 2
        MOVE e3 1
        MOVE nokey 1
        SELECT 2
        MOVE e2 0
        SELECT 0
        RPUSH list a b
        COPY list list2
        RENAME list2 list3
        HSET hash f v
        MOVE hash 3
        @dump k8
        RESTORE r1 0 $DUMP
        RESTORE r1 0 $DUMP
        RESTORE r1 0 $DUMP REPLACE
        RESTORE r2 100000 $DUMP
        RESTORE r1 1 $DUMP ABSTTL REPLACE
        RESTORE r3 1 $DUMP ABSTTL
        RESTORE r4 4000000000000 $DUMP ABSTTL IDLETIME 10
        SWAPDB 0 1
        SET after-swap v
        SWAPDB 0 1
        SELECT 1
        FLUSHDB
        SET after-flush v
        SELECT 0
        MULTI
        SET t1 v
        INCR t2
        LPUSH t3 a
        RENAME t1 t4
        EXEC
        FLUSHALL
        SET after-flushall v
        "#,
    );
    assert!(n > 50, "{n}");
}

#[test]
fn lazy_and_active_expiry() {
    let s = EventServers::start();
    let n = s.compare(
        "expiry",
        r#"
        DEBUG SET-ACTIVE-EXPIRE 0
        SET x1 v PX 20
        RPUSH x2 a
        PEXPIRE x2 20
        HSET x3 f v
        PEXPIRE x3 20
        SET x4 v PX 20
        SET x5 v PX 20
        SET x6 v PX 20
        SET x7 v PX 20
        SET x8 v PX 20
        SET x9 v PX 20
        SET x10 v PX 20
        SET x11 v PX 20
        SET x12 v PX 20
        SET src v
        SET x13 v PX 20
        SET x14 v PX 20
        SELECT 4
        SET only v PX 20
        SELECT 6
        SET scanned v PX 20
        SET live v
        SELECT 0
        @sleep 60
        GET x1
        LPUSH x2 b
        HGET x3 f
        EXISTS x4
        SET x5 w
        MSET x6 a
        TTL x7
        DEL x8
        INCR x9
        APPEND x10 z
        RENAME x11 x12
        GET x12
        RENAME src x13
        TOUCH x14
        SELECT 4
        RANDOMKEY
        SELECT 6
        KEYS *
        SCAN 0
        SELECT 0
        DEBUG SET-ACTIVE-EXPIRE 1
        SET a1 v PX 20
        @waitdbsize 6
        SELECT 2
        RPUSH a2 x
        PEXPIRE a2 20
        @waitdbsize 0
        "#,
    );
    assert!(n > 30, "{n}");
}

#[test]
fn recording_is_off_until_asked_for() {
    let s = EventServers::start();
    let mut c = common::RawClient::connect(s.ours.port);
    let off = c.text(&["DEBUG", "KEYEVENTS", "GET"]);
    assert!(off.starts_with("-ERR keyevents recording is off"), "{off}");
    assert_eq!(c.text(&["DEBUG", "KEYEVENTS", "ON"]), "+OK\r\n");
    c.cmd(&["SET", "k", "v"]);
    let got = c.text(&["DEBUG", "KEYEVENTS", "GET"]);
    assert_eq!(
        got,
        "*2\r\n*4\r\n:0\r\n$1\r\nn\r\n$3\r\nnew\r\n$1\r\nk\r\n*4\r\n:0\r\n$1\r\n$\r\n$3\r\nset\r\n$1\r\nk\r\n"
    );
    // GET cleared them; OFF stops recording.
    assert_eq!(c.text(&["DEBUG", "KEYEVENTS", "GET"]), "*0\r\n");
    assert_eq!(c.text(&["DEBUG", "KEYEVENTS", "OFF"]), "+OK\r\n");
    c.cmd(&["SET", "k", "w"]);
    assert!(c.text(&["DEBUG", "KEYEVENTS", "GET"]).starts_with("-ERR"));
    assert!(c
        .text(&["DEBUG", "KEYEVENTS", "MAYBE"])
        .starts_with("-ERR syntax"));
    // notify-keyspace-events takes Redis's class characters only.
    let refused = c.text(&["CONFIG", "SET", "notify-keyspace-events", "KEq"]);
    assert!(
        refused.contains("Invalid event class character"),
        "{refused}"
    );
    // DEBUG stays gated by enable-debug-command.
    let locked = common::start_ferrodis(&["--enable-debug-command", "no"]);
    let mut l = common::RawClient::connect(locked.port);
    assert!(l.text(&["DEBUG", "KEYEVENTS", "ON"]).starts_with("-ERR"));
}

// ----- hash commands newer than Redis 7.0 (hand-built servers) -----

#[test]
#[ignore = "needs Redis 7.4 or later: FERRODIS_REDIS_SERVER (see the header)"]
fn post70_v74_field_expiry() {
    let s = EventServers::start();
    let n = s.compare(
        "hash field expiry (7.4)",
        r#"
        DEBUG SET-ACTIVE-EXPIRE 0
        HSET h a 1 b 2 c 3
        HEXPIRE h 100 FIELDS 2 a b
        HEXPIRE h 100 NX FIELDS 1 a
        HPEXPIRE h 100000 XX FIELDS 1 a
        HEXPIREAT h 4000000000 FIELDS 1 c
        HEXPIRE h 100 FIELDS 1 zz
        HEXPIRE nokey 100 FIELDS 1 a
        HPERSIST h FIELDS 2 a zz
        HPERSIST h FIELDS 1 a
        HPEXPIREAT h 1 FIELDS 1 a
        HPEXPIREAT h 1 FIELDS 2 b c
        HSET h2 a 1 b 2
        HPEXPIREAT h2 1 FIELDS 1 a
        HPEXPIRE h2 100000 FIELDS 1 b
        HSET h3 a 1 b 2
        HPEXPIRE h3 20 FIELDS 1 a
        HSET h4 a 1
        HPEXPIRE h4 20 FIELDS 1 a
        @sleep 60
        HGET h3 a
        HGET h4 a
        DEBUG SET-ACTIVE-EXPIRE 1
        SELECT 5
        HSET h5 a 1 b 2
        HPEXPIRE h5 20 FIELDS 2 a b
        @waitdbsize 0
        "#,
    );
    assert!(n > 15, "{n}");
}

#[test]
#[ignore = "needs Redis 8.0 or later: FERRODIS_REDIS_SERVER (see the header)"]
fn post70_v80_hgetdel_hgetex_hsetex() {
    let s = EventServers::start();
    let n = s.compare(
        "HGETDEL HGETEX HSETEX (8.0)",
        r#"
        HSET g a 1 b 2 c 3
        HGETDEL g FIELDS 2 a zz
        HGETDEL g FIELDS 1 zz
        HGETDEL g FIELDS 2 b c
        HGETDEL nokey FIELDS 1 a
        HSET g a 1 b 2
        HGETEX g EX 100 FIELDS 1 a
        HGETEX g PERSIST FIELDS 2 a b
        HGETEX g PERSIST FIELDS 1 b
        HGETEX g PXAT 1 FIELDS 1 a
        HGETEX g FIELDS 1 b
        HGETEX g PXAT 1 FIELDS 1 b
        HSETEX s FIELDS 1 a 1
        HSETEX s FNX FIELDS 1 a 2
        HSETEX s FXX EX 100 FIELDS 1 a 3
        HSETEX s KEEPTTL FIELDS 1 a 4
        HSETEX s FXX FIELDS 1 zz 1
        HSETEX nos FXX FIELDS 1 a 1
        HSETEX s2 PXAT 1 FIELDS 1 a 1
        HSETEX s FIELDS 1 b 1
        HSETEX s PXAT 1 FIELDS 1 a 5
        HSETEX s PXAT 1 FIELDS 1 b 5
        "#,
    );
    assert!(n > 15, "{n}");
}

#[test]
fn bitmap_and_hyperloglog_commands() {
    let s = EventServers::start();
    let n = s.compare(
        "bits",
        r#"
        SETBIT b1 7 1
        SETBIT b1 7 1
        SETBIT b1 7 0
        SETBIT b1 100 0
        SET n 12
        SETBIT n 0 0
        GETBIT b1 7
        BITOP OR d1 b1 n
        BITOP AND d1 nokey1 nokey2
        BITOP AND d2 nokey1 nokey2
        SET d3 x
        BITOP NOT d3 nokey1
        BITFIELD f1 GET u8 0
        BITFIELD f1 SET u8 0 5
        BITFIELD f1 SET u8 0 5
        BITFIELD f1 INCRBY u8 0 0
        BITFIELD f1 OVERFLOW FAIL INCRBY u8 0 300
        BITFIELD f2 OVERFLOW FAIL SET u8 0 300
        BITFIELD_RO f1 GET u8 0
        PFADD h1 a b c
        PFADD h1 a
        PFADD h1
        PFADD h2
        PFCOUNT h1
        PFCOUNT h1
        PFCOUNT h1 h2
        PFMERGE h3 h1 h2
        PFMERGE h3
        PFDEBUG TODENSE h3
        PFDEBUG TODENSE h3
        PFDEBUG GETREG h1
        SET str x
        PFADD str a
        SETBIT str 0 1
        LPUSH l a
        SETBIT l 0 1
        BITOP AND d1 l
        PFMERGE d1 l
        "#,
    );
    assert!(n > 20, "{n}");
}

#[test]
fn sort_commands() {
    let s = EventServers::start();
    let n = s.compare(
        "sort",
        r#"
        DEBUG SET-ACTIVE-EXPIRE 0
        RPUSH l 3 1 2
        MSET w_1 c w_2 b w_3 a
        SORT l
        SORT l STORE d
        SORT l STORE d
        SET d2 x EX 100
        SORT l BY w_* ALPHA GET # GET w_* STORE d2
        TTL d2
        SORT nokey STORE d
        SORT nokey STORE d
        SORT l LIMIT 5 1 STORE d2
        SORT l STORE l
        SORT_RO l BY w_* GET #
        SADD s b a c
        SORT s BY nosort STORE s
        ZADD z 1 a 2 b
        SORT z BY nosort DESC STORE d
        SORT z STORE d
        SET str x
        SORT str STORE d
        SET w_2 x PX 20
        SET d3 v PX 20
        @sleep 60
        SORT l BY w_* ALPHA
        SORT nokey STORE d3
        MULTI
        SORT l STORE m
        SORT nokey STORE m
        EXEC
        "#,
    );
    assert!(n > 20, "{n}");
}

#[test]
fn geo_commands() {
    let s = EventServers::start();
    let n = s.compare(
        "geo",
        r#"
        GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEOADD g 13.361389 38.115556 Palermo
        GEOADD g XX CH 13.4 38.1 Palermo
        GEOADD g NX 1 1 Palermo
        GEOADD g2 XX 1 1 a
        GEOADD g 500 1 bad
        GEORADIUS g 15 37 200 km STORE d1
        GEORADIUS g 15 37 200 km STOREDIST d1
        GEORADIUS g 0 0 1 km STORE d1
        GEORADIUS g 0 0 1 km STORE d1
        GEORADIUSBYMEMBER g Palermo 10 km STORE d2
        GEORADIUS_RO g 15 37 200 km
        GEOSEARCHSTORE d3 g FROMMEMBER Palermo BYRADIUS 500 km
        GEOSEARCHSTORE d3 g FROMMEMBER Palermo BYRADIUS 500 km STOREDIST
        GEOSEARCHSTORE d3 nokey FROMMEMBER Palermo BYRADIUS 500 km
        GEOSEARCHSTORE d3 nokey FROMMEMBER Palermo BYRADIUS 500 km
        GEORADIUS nokey 0 0 1 km STORE d2
        GEOSEARCH g FROMMEMBER Palermo BYRADIUS 500 km
        "#,
    );
    assert!(n > 12, "{n}");
}

/// What one command's key lookups count on a server: INFO's keyspace hits
/// and misses, and the `keymiss` events a subscriber receives.
fn lookup_counts(
    client: &mut common::RawClient,
    subscriber: &mut common::RawClient,
    command: &str,
) -> (i64, i64, usize) {
    let stat = |client: &mut common::RawClient, name: &str| -> i64 {
        let info = client.text(&["INFO", "stats"]);
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("INFO stats has no {name}"))
    };
    let (hits, misses) = (
        stat(client, "keyspace_hits"),
        stat(client, "keyspace_misses"),
    );
    let words: Vec<&str> = command.split(' ').collect();
    client.cmd(&words);
    let (hits, misses) = (
        stat(client, "keyspace_hits") - hits,
        stat(client, "keyspace_misses") - misses,
    );
    // The subscriber's PING reply comes after every message published
    // before it was read.
    subscriber.send_raw(&common::RawClient::encode(&[b"PING"]));
    let mut events = 0;
    loop {
        let reply = subscriber.read_reply();
        if reply.windows(4).any(|w| w == b"pong") {
            break;
        }
        assert!(!reply.is_empty(), "subscriber closed");
        events += 1;
    }
    (hits, misses, events)
}

/// Read lookups count as Redis's `lookupKeyRead` counts them: the reading
/// commands of every type, the write commands that read source keys
/// (SUNIONSTORE, ZUNIONSTORE, COPY, GETDEL ...), and not the lookups of
/// commands that write their key (HSET, APPEND, LMOVE's source, SMOVE).
#[test]
fn read_lookups_count_hits_misses_and_keymiss_as_redis() {
    let commands = [
        "GET s",
        "GET nx",
        "STRLEN nx",
        "GETRANGE s 0 1",
        "MGET s nx",
        "EXISTS s nx",
        "TYPE s",
        "TYPE nx",
        "TTL s",
        "TTL nx",
        "PTTL nx",
        "EXPIRETIME nx",
        "OBJECT ENCODING s",
        "OBJECT ENCODING nx",
        "DUMP nx",
        "TOUCH s nx",
        "GETBIT nx 1",
        "BITCOUNT s",
        "BITPOS nx 1",
        "LCS s nx",
        "HGET h f",
        "HGET nx f",
        "HMGET h f g",
        "HGETALL nx",
        "HLEN h",
        "HEXISTS nx f",
        "HSTRLEN nx f",
        "HKEYS nx",
        "HVALS nx",
        "HRANDFIELD nx",
        "HSCAN nx 0",
        "LRANGE l 0 -1",
        "LRANGE nx 0 -1",
        "LLEN nx",
        "LINDEX nx 0",
        "LPOS nx a",
        "SMEMBERS st",
        "SMEMBERS nx",
        "SISMEMBER nx a",
        "SMISMEMBER nx a",
        "SCARD nx",
        "SRANDMEMBER nx",
        "SINTER st nx",
        "SUNION st nx",
        "SDIFF st nx",
        "SINTERCARD 2 st nx",
        "SSCAN nx 0",
        "ZRANGE z 0 -1",
        "ZRANGE nx 0 -1",
        "ZSCORE nx a",
        "ZMSCORE nx a",
        "ZCARD nx",
        "ZCOUNT nx 0 1",
        "ZRANK nx a",
        "ZRANGEBYSCORE nx 0 1",
        "ZLEXCOUNT nx - +",
        "ZRANDMEMBER nx",
        "ZUNION 2 z nx",
        "ZINTER 2 z nx",
        "ZDIFF 2 z nx",
        "ZINTERCARD 2 z nx",
        "ZSCAN nx 0",
        "PFCOUNT nx nx2",
        "GEOPOS nx a",
        "GEODIST nx a b",
        "SORT nx",
        "SORT l BY nosort GET nx*",
        "SET s2 v",
        "INCR nx2",
        "APPEND nx3 a",
        "HSET nx4 f v",
        "LPUSH nx5 a",
        "SADD nx6 a",
        "ZADD nx7 1 a",
        "SETRANGE nx8 0 a",
        "GETDEL nx",
        "GETEX nx",
        "GETSET nx9 a",
        "HINCRBY nx10 f 1",
        "LPOP nx",
        "RPOPLPUSH nx l",
        "LMOVE nx l LEFT LEFT",
        "SPOP nx",
        "SMOVE nx st a",
        "ZPOPMIN nx",
        "ZINCRBY nx11 1 a",
        "SINTERSTORE d st nx",
        "SUNIONSTORE d st nx",
        "ZUNIONSTORE d 2 z nx",
        "ZRANGESTORE d nx 0 1",
        "SORT nx STORE d",
        "COPY nx d",
        "RENAME s s3",
        "DEL nx",
        "EXPIRE nx 10",
        "BITOP AND d s nx",
        "PFMERGE d nx",
        "GEOSEARCH nx FROMLONLAT 0 0 BYRADIUS 1 km",
    ];
    let ours = common::start_ferrodis(&[]);
    let redis = common::start_redis(&[]);
    let mut clients = [ours.port, redis.port].map(|port| {
        let mut client = common::RawClient::connect(port);
        client.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Em"]);
        let mut subscriber = common::RawClient::connect(port);
        subscriber.cmd(&["SUBSCRIBE", "__keyevent@0__:keymiss"]);
        (client, subscriber)
    });
    for command in commands {
        let [a, b] = &mut clients;
        let counts = [a, b].map(|(client, subscriber)| {
            for setup in [
                "FLUSHALL",
                "SET s v",
                "HSET h f v",
                "RPUSH l a",
                "SADD st a",
            ] {
                client.cmd(&setup.split(' ').collect::<Vec<_>>());
            }
            client.cmd(&["ZADD", "z", "1", "a"]);
            lookup_counts(client, subscriber, command)
        });
        assert_eq!(
            counts[0], counts[1],
            "(hits, misses, keymiss events) of {command:?}: ferrodis, then Redis"
        );
    }
}
