//! Differential tests for the hash commands Redis added after 7.0: field
//! expiration from Redis 7.4 (HEXPIRE HPEXPIRE HEXPIREAT HPEXPIREAT HTTL
//! HPTTL HEXPIRETIME HPEXPIRETIME HPERSIST) and Redis 8.0's HGETDEL HGETEX
//! HSETEX, replies compared byte for byte over RESP2 and RESP3.
//!
//! Every test here is `#[ignore]`d: the default suite compares with Debian's
//! redis-server 7.0.15, which has none of these commands, so they only run
//! when asked for, against a server that has them:
//!
//! ```text
//! FERRODIS_REDIS_SERVER=/path/to/redis-7.4/src/redis-server \
//!     cargo test --release --test hashes_post70 -- --ignored v74_
//! FERRODIS_REDIS_SERVER=/path/to/redis-8.0/src/redis-server \
//!     cargo test --release --test hashes_post70 -- --ignored
//! ```
//!
//! Tests named `v74_` need Redis 7.4 or later, `v80_` Redis 8.0 or later. A
//! test run against a server that lacks a command it compares fails, naming
//! the server and the command; it never passes without comparing.

mod common;

use common::{
    differential_between, redis_server_bin, start_ferrodis, start_redis, Pair, RawClient,
    ServerProcess,
};

/// The Redis 7.4 field-expiration commands.
const V74: &[&str] = &[
    "hexpire",
    "hpexpire",
    "hexpireat",
    "hpexpireat",
    "httl",
    "hpttl",
    "hexpiretime",
    "hpexpiretime",
    "hpersist",
];

/// Redis 8.0's hash commands.
const V80: &[&str] = &["hgetdel", "hgetex", "hsetex"];

/// Panics unless the Redis under comparison knows every command of `needed`.
fn require_commands(redis: &ServerProcess, needed: &[&str]) {
    let mut c = RawClient::connect(redis.port);
    let info = c.text(&["INFO", "server"]);
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("unknown")
        .to_string();
    for name in needed {
        // A known command is described by an array; an unknown one is a
        // null, whose form differs between versions.
        let reply = c.text(&["COMMAND", "INFO", name]);
        assert!(
            reply.starts_with("*1\r\n*") && !reply.starts_with("*1\r\n*-"),
            "{} (redis_version {version}) has no {name}: point FERRODIS_REDIS_SERVER \
             at a redis-server that has it (see this file's header)",
            redis_server_bin()
        );
    }
}

/// Starts both servers, checks the Redis has `needed`, and runs `f` over
/// RESP2 and RESP3 (flushing both before each). Returns the number of
/// replies compared, which must be positive.
fn post70_differential(needed: &[&str], f: impl Fn(&mut Pair)) -> usize {
    post70_differential_with(&[], needed, f)
}

/// [`post70_differential`] with both servers started with `extra`
/// directives.
fn post70_differential_with(extra: &[&str], needed: &[&str], f: impl Fn(&mut Pair)) -> usize {
    let ours = start_ferrodis(extra);
    let redis = start_redis(extra);
    require_commands(&redis, needed);
    let total = differential_between(&ours, &redis, f);
    assert!(total > 2, "nothing was compared");
    eprintln!("{total} replies identical");
    total
}

/// Small listpack limits, so a few fields or a short value convert a hash.
const SMALL_LISTPACKS: &[&str] = &[
    "--hash-max-listpack-entries",
    "4",
    "--hash-max-listpack-value",
    "8",
];

/// Runs `script` with `$K` replaced by `key`.
fn script_on(p: &mut Pair, key: &str, script: &str) {
    p.script(&script.replace("$K", key));
}

/// Makes `key` a hash too large for the listpack encoding (the default
/// limit is 128 entries), so scripts run on both encodings.
fn make_large(p: &mut Pair, key: &str) {
    let pad: Vec<String> = (0..200).map(|i| format!("pad{i}")).collect();
    let mut args = vec!["HSET", key];
    for f in &pad {
        args.push(f);
        args.push("x");
    }
    p.same(&args);
}

/// Conditions, per-field codes and read-back on the hash at `$K`.
const CONDITIONS: &str = r#"
    HSET $K a 1 b 2 c 3 d 4
    OBJECT ENCODING $K
    HEXPIRE $K 100 FIELDS 2 a nosuch
    OBJECT ENCODING $K
    HTTL $K FIELDS 4 a b nosuch d
    HEXPIRE $K 200 NX FIELDS 2 a b
    HTTL $K FIELDS 2 a b
    HEXPIRE $K 300 XX FIELDS 3 a b c
    HEXPIRE $K 50 GT FIELDS 2 a c
    HEXPIRE $K 500 GT FIELDS 2 a c
    HEXPIRE $K 400 LT FIELDS 3 a c d
    HTTL $K FIELDS 4 a b c d
    HEXPIRE $K 400 lt FIELDS 1 a
    HEXPIRE $K 400 nx fields 1 a
    HEXPIRE $K 40 Gt FiElDs 1 a
    HPEXPIREAT $K 4000000000000 FIELDS 1 a
    HPEXPIRETIME $K FIELDS 3 a a nosuch
    HEXPIRETIME $K FIELDS 2 a nosuch
    HEXPIREAT $K 4000000000 GT FIELDS 1 a
    HPEXPIREAT $K 4000000000000 LT FIELDS 1 a
    HPEXPIREAT $K 4000000000000 GT FIELDS 1 a
    HPEXPIREAT $K 4000000000001 GT FIELDS 1 a
    HEXPIRETIME $K FIELDS 1 a
    HPEXPIRETIME $K FIELDS 1 a
    HPEXPIREAT $K 3999999999999 LT FIELDS 1 a
    HPEXPIRETIME $K FIELDS 1 a
    HEXPIREAT $K 4000000005 FIELDS 3 a a nosuch
    HEXPIRETIME $K FIELDS 2 a a
    HPEXPIRE $K 100000 XX FIELDS 1 d
    HPEXPIRE $K 50000 GT FIELDS 1 d
    HTTL $K FIELDS 1 d
    HPERSIST $K FIELDS 4 a b nosuch d
    HPERSIST $K FIELDS 2 a a
    HTTL $K FIELDS 4 a b c d
    HEXPIRE $K 100 XX FIELDS 1 a
    HEXPIRE $K 100 GT FIELDS 1 a
    HEXPIRE $K 100 LT FIELDS 1 a
    HTTL $K FIELDS 1 a
    HMGET $K a b c d
    HLEN $K
    HEXISTS $K a
    HSTRLEN $K a
    TYPE $K
    "#;

/// How other hash commands treat field TTLs.
const OTHER_COMMANDS: &str = r#"
    HSET $K a 1 b 2 c 3 n 10 f 1.5 keep v
    HEXPIRE $K 100 FIELDS 6 a b c n f keep
    HSET $K a 10
    HMSET $K b 20
    HSETNX $K c 30
    HINCRBY $K n 5
    HINCRBYFLOAT $K f 0.25
    HTTL $K FIELDS 6 a b c n f keep
    HDEL $K keep
    HSET $K keep again
    HTTL $K FIELDS 1 keep
    HEXPIREAT $K 4000000000 FIELDS 1 c
    RENAME $K $K-renamed
    HEXPIRETIME $K-renamed FIELDS 2 c a
    COPY $K-renamed $K
    HEXPIRETIME $K FIELDS 2 c a
    PERSIST $K
    HEXPIRETIME $K FIELDS 1 c
    EXPIRE $K 1000
    HEXPIRETIME $K FIELDS 1 c
    TTL $K
    HMGET $K a b c n f keep
    MOVE $K-renamed 1
    SELECT 1
    HEXPIRETIME $K-renamed FIELDS 2 c a
    SWAPDB 0 1
    SELECT 0
    HEXPIRETIME $K-renamed FIELDS 2 c a
    HPERSIST $K-renamed FIELDS 1 c
    DEL $K-renamed
    "#;

/// Past times delete fields (code 2), and the last one the key.
const PAST_TIMES: &str = r#"
    HSET $K a 1 b 2 c 3 d 4
    HEXPIRE $K 0 FIELDS 2 a nosuch
    HPEXPIRE $K 0 FIELDS 1 b
    HEXISTS $K a
    HEXISTS $K b
    HPEXPIREAT $K 1 XX FIELDS 1 c
    HPEXPIREAT $K 1 NX FIELDS 1 c
    HEXPIREAT $K 1 LT FIELDS 1 d
    HEXPIREAT $K 1 GT FIELDS 1 d
    HMGET $K a b c d
    HEXPIRE $K 0 FIELDS 2 d d
    EXISTS $K
    HTTL $K FIELDS 1 d
    "#;

#[test]
#[ignore = "needs Redis 7.4+: FERRODIS_REDIS_SERVER, see the file header"]
fn v74_conditions_and_codes_match_redis() {
    post70_differential(V74, |p| {
        script_on(p, "small", CONDITIONS);
        make_large(p, "large");
        script_on(p, "large", CONDITIONS);
    });
}

#[test]
#[ignore = "needs Redis 7.4+: FERRODIS_REDIS_SERVER, see the file header"]
fn v74_other_commands_and_ttls_match_redis() {
    post70_differential(V74, |p| {
        script_on(p, "small", OTHER_COMMANDS);
        make_large(p, "large");
        script_on(p, "large", OTHER_COMMANDS);
    });
}

#[test]
#[ignore = "needs Redis 7.4+: FERRODIS_REDIS_SERVER, see the file header"]
fn v74_past_times_match_redis() {
    post70_differential(V74, |p| {
        script_on(p, "small", PAST_TIMES);
        make_large(p, "large");
        script_on(p, "large", PAST_TIMES);
        p.script(
            r#"
            HSET one f v
            HPEXPIREAT one 1 FIELDS 1 f
            EXISTS one
            HSET one f v
            HEXPIRE one 0 NX FIELDS 1 f
            EXISTS one
            "#,
        );
    });
}

#[test]
#[ignore = "needs Redis 7.4+: FERRODIS_REDIS_SERVER, see the file header"]
fn v74_time_limits_and_bad_times_match_redis() {
    post70_differential(V74, |p| {
        p.script(
            r#"
            HSET h a 1
            HEXPIRE h 70368744177 FIELDS 1 a
            HEXPIRE h 70368744178 FIELDS 1 a
            HEXPIREAT h 70368744177 FIELDS 1 a
            HEXPIRETIME h FIELDS 1 a
            HPEXPIRETIME h FIELDS 1 a
            HEXPIREAT h 70368744178 FIELDS 1 a
            HPEXPIREAT h 70368744177663 FIELDS 1 a
            HPEXPIRETIME h FIELDS 1 a
            HEXPIRETIME h FIELDS 1 a
            HPEXPIREAT h 70368744177664 FIELDS 1 a
            HPEXPIRE h 70368744177663 FIELDS 1 a
            HPEXPIRE h 68000000000000 FIELDS 1 a
            HPEXPIRE h 69000000000000 FIELDS 1 a
            HEXPIRE h 68000000000 FIELDS 1 a
            HEXPIRE h 69000000000 FIELDS 1 a
            HPEXPIREAT h 70000000000000 FIELDS 1 a
            HEXPIREAT h 281474976710 FIELDS 1 a
            HPEXPIREAT h 281474976710655 FIELDS 1 a
            HPEXPIREAT h 281474976710656 FIELDS 1 a
            HPEXPIRE h 9223372036854775807 FIELDS 1 a
            HEXPIRE h 9223372036854775807 FIELDS 1 a
            HEXPIREAT h 9223372036854775807 FIELDS 1 a
            HEXPIRE h 9223372036854775808 FIELDS 1 a
            HEXPIRE h -1 FIELDS 1 a
            HPEXPIREAT h -1 FIELDS 1 a
            HEXPIRE h -9223372036854775808 FIELDS 1 a
            HPEXPIRE h 1.5 FIELDS 1 a
            HEXPIRE h "" FIELDS 1 a
            HEXPIRE h " 1" FIELDS 1 a
            HEXPIRE h +1 FIELDS 1 a
            HEXPIRE h 01 FIELDS 1 a
            HEXPIRE h 1e3 FIELDS 1 a
            HEXPIRE h x NX FIELDS 1 a
            HEXPIRE h -1 BAD FIELDS 1 a
            HEXPIRE nokey 281474976711 FIELDS 1 a
            HEXPIRE nokey -1 FIELDS 1 a
            HPEXPIRETIME h FIELDS 1 a
            "#,
        );
    });
}

#[test]
#[ignore = "needs Redis 7.4+: FERRODIS_REDIS_SERVER, see the file header"]
fn v74_argument_errors_match_redis() {
    post70_differential(V74, |p| {
        p.script("HSET h a 1 b 2\nSET s v");
        // The expire-setting commands.
        for cmd in ["HEXPIRE", "HPEXPIRE", "HEXPIREAT", "HPEXPIREAT"] {
            p.script(&format!(
                r#"
                {cmd} h 10 FIELDS 0 a
                {cmd} h 10 FIELDS -1 a
                {cmd} h 10 FIELDS x a
                {cmd} h 10 FIELDS "" a
                {cmd} h 10 FIELDS 2 a
                {cmd} h 10 FIELDS 1 a b
                {cmd} h 10 FIELDS 99999999999999999999 a
                {cmd} h 10 FIELDS 9223372036854775807 a
                {cmd} h 10 FIELD 1 a
                {cmd} h 10 NX XX FIELDS 1 a
                {cmd} h 10 BAD FIELDS 1 a
                {cmd} h 10 NX FIELDS 0 a
                {cmd} h 10 GT FIELDS 2 a
                {cmd} h 10 LT FIELDS 1
                {cmd} h 10 1 FIELDS a
                {cmd} h 10 FIELDS 1
                {cmd} h 10 FIELDS
                {cmd} h 10
                {cmd} h
                {cmd}
                {cmd} nokey 10 FIELDS 0 a
                {cmd} nokey 10 FIELDS 2 a
                {cmd} nokey 10 NX FIELDS 2 a b
                {cmd} nokey 0 FIELDS 1 a
                {cmd} s 10 FIELDS 1 a
                {cmd} s x FIELDS 1 a
                {cmd} s 10 FIELDS 0 a
                {cmd} s 10 FIELD 1 a
                EXISTS nokey
                HGETALL h
                "#
            ));
        }
        // The queries and HPERSIST.
        for cmd in ["HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME", "HPERSIST"] {
            p.script(&format!(
                r#"
                {cmd} h FIELDS 0 a
                {cmd} h FIELDS -1 a
                {cmd} h FIELDS x a
                {cmd} h FIELDS 2 a
                {cmd} h FIELDS 1 a b
                {cmd} h FIELDS 99999999999999999999 a
                {cmd} h XFIELDS 1 a
                {cmd} h 1 FIELDS a
                {cmd} h fields 2 a nosuch
                {cmd} h FIELDS 1
                {cmd} h FIELDS
                {cmd} h
                {cmd}
                {cmd} nokey FIELDS 3 a b c
                {cmd} nokey FIELDS 0 a
                {cmd} s FIELDS 1 a
                {cmd} s FIELDS 0 a
                {cmd} s XFIELDS 1 a
                EXISTS nokey
                "#
            ));
        }
    });
}

#[test]
#[ignore = "needs Redis 7.4+: FERRODIS_REDIS_SERVER, see the file header"]
fn v74_encodings_and_conversion_match_redis() {
    post70_differential_with(SMALL_LISTPACKS, V74, |p| {
        p.script(
            r#"
            HSET h a 1 b 2
            OBJECT ENCODING h
            HEXPIRE h 100 FIELDS 1 a
            OBJECT ENCODING h
            HPERSIST h FIELDS 1 a
            OBJECT ENCODING h
            HEXPIRE h 100 FIELDS 1 b
            HSET h c 3 d 4 e 5
            OBJECT ENCODING h
            HTTL h FIELDS 5 a b c d e
            HEXPIRE h 200 FIELDS 2 a e
            HTTL h FIELDS 5 a b c d e
            HSET v a 1
            HEXPIRE v 100 FIELDS 1 a
            HSET v long 123456789
            OBJECT ENCODING v
            HTTL v FIELDS 2 a long
            HSET w a 1
            HEXPIRE w 100 FIELDS 1 a
            HINCRBYFLOAT w a 0.123456789
            OBJECT ENCODING w
            HTTL w FIELDS 1 a
            HEXPIRE h 0 FIELDS 5 a b c d e
            EXISTS h
            HEXPIRE v 0 FIELDS 2 a long
            EXISTS v
            "#,
        );
    });
}

#[test]
#[ignore = "needs Redis 7.4+: FERRODIS_REDIS_SERVER, see the file header"]
fn v74_field_order_matches_redis() {
    // A small hash with TTLs lists its fields by expiry time, then those
    // without one; every reply that lists fields shows that order.
    post70_differential(V74, |p| {
        p.script(
            r#"
            HSET h a 1 b 2 c 3 d 4
            HPEXPIREAT h 4000000000000 FIELDS 2 a c
            HGETALL h
            HPEXPIREAT h 3000000000000 FIELDS 1 d
            HKEYS h
            HSET h e 5
            HVALS h
            HPERSIST h FIELDS 1 a
            HGETALL h
            HPEXPIREAT h 3500000000000 FIELDS 1 e
            HSCAN h 0
            HSET h c 33
            HINCRBY h d 1
            HSET h a 11
            HGETALL h
            HPEXPIREAT h 3000000000000 FIELDS 3 a b c
            HGETALL h
            HPEXPIREAT h 3000000000000 FIELDS 1 d
            HGETALL h
            HPEXPIREAT h 3000000000000 GT FIELDS 1 e
            HEXPIREAT h 3000000000 LT FIELDS 1 e
            HGETALL h
            HEXPIRE h 0 FIELDS 1 c
            HPERSIST h FIELDS 2 d e
            HGETALL h
            HSET p a 1 b 2
            HEXPIRE p 100 FIELDS 1 nosuch
            OBJECT ENCODING p
            HSET q a 1 b 2
            HEXPIRE q 100 XX FIELDS 1 a
            OBJECT ENCODING q
            HSET r a 1 b 2
            HPERSIST r FIELDS 1 a
            OBJECT ENCODING r
            "#,
        );
    });
}

#[test]
#[ignore = "needs Redis 8.0+: FERRODIS_REDIS_SERVER, see the file header"]
fn v80_field_order_matches_redis() {
    let mut needed = V74.to_vec();
    needed.extend_from_slice(V80);
    post70_differential(&needed, |p| {
        p.script(
            r#"
            HSET h a 1 b 2 c 3
            HGETEX h PXAT 4000000000000 FIELDS 2 b a
            HGETALL h
            HSETEX h PXAT 3000000000000 FIELDS 2 n 1 c 3
            HGETALL h
            HSETEX h KEEPTTL FIELDS 2 a 10 z 26
            HGETALL h
            HSETEX h FIELDS 1 n 2
            HGETALL h
            HGETEX h PERSIST FIELDS 2 c z
            HGETALL h
            HGETDEL h FIELDS 1 b
            HGETALL h
            HSET p a 1 b 2
            HGETEX p PERSIST FIELDS 1 a
            OBJECT ENCODING p
            HSET q a 1 b 2
            HGETEX q FIELDS 1 a
            OBJECT ENCODING q
            HSET r a 1 b 2
            HSETEX r PX 0 FIELDS 1 a 1
            OBJECT ENCODING r
            HGETALL r
            HSET s a 1 b 2
            HSETEX s KEEPTTL FIELDS 1 a 1
            OBJECT ENCODING s
            "#,
        );
    });
}

/// The payload of a bulk-string reply.
fn bulk_payload(reply: &[u8]) -> &[u8] {
    let header_end = reply
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("reply line");
    assert_eq!(reply[0], b'$', "not a bulk string: {reply:?}");
    &reply[header_end + 2..reply.len() - 2]
}

#[test]
#[ignore = "needs Redis 7.4+: FERRODIS_REDIS_SERVER, see the file header"]
fn v74_dump_and_restore_match_redis() {
    post70_differential(V74, |p| {
        p.script(
            r#"
            HSET h a 1 b 2 c 3
            HPEXPIREAT h 4000000000000 FIELDS 2 a c
            "#,
        );
        // Redis 7.4's listpack-with-TTLs layout, byte for byte, and back.
        // (Only where LZF has a single natural encoding: ferrodis's LZF
        // output is valid but not always liblzf's bytes. And after HPERSIST
        // Redis's dump keeps the earlier minimum TTL in its header, a hint
        // ferrodis writes as 0.)
        let dump = p.same(&["DUMP", "h"]);
        let payload = bulk_payload(&dump).to_vec();
        p.same_bytes(&[b"RESTORE", b"copy", b"0", &payload]);
        p.script(
            r#"
            HPEXPIRETIME copy FIELDS 3 a b c
            HGETALL copy
            OBJECT ENCODING copy
            HPERSIST h FIELDS 2 a c
            OBJECT ENCODING h
            HGETALL h
            "#,
        );
    });
}

#[test]
#[ignore = "needs Redis 7.4+: FERRODIS_REDIS_SERVER, see the file header"]
fn v74_in_transactions_match_redis() {
    post70_differential(V74, |p| {
        p.script(
            r#"
            HSET h a 1 b 2
            MULTI
            HEXPIRE h 100 FIELDS 2 a nosuch
            HTTL h FIELDS 2 a b
            HPEXPIREAT h 4000000000000 NX FIELDS 1 b
            HPEXPIRETIME h FIELDS 1 b
            HPERSIST h FIELDS 1 a
            HEXPIRE h 0 FIELDS 1 b
            HEXPIRE h 10 FIELDS 0 a
            HGETALL h
            EXEC
            MULTI
            HEXPIRE h 10 FIELDS 1
            HTTL h FIELDS 1 a
            EXEC
            "#,
        );
    });
}

#[test]
#[ignore = "needs Redis 7.4+: FERRODIS_REDIS_SERVER, see the file header"]
fn v74_lazily_expired_fields_match_redis() {
    // Active expiry off in both, so what is compared is how each command
    // treats a field whose time has passed but that nothing reclaimed yet.
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&["--enable-debug-command", "yes"]);
    require_commands(&redis, V74);
    let mut total = 0;
    for resp in [2, 3] {
        let mut p = Pair::connect(&ours, &redis, resp);
        p.same(&["FLUSHALL"]);
        p.same(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        p.script("HSET h a 1 b 2 c 3\nHPEXPIRE h 20 FIELDS 2 a b");
        std::thread::sleep(std::time::Duration::from_millis(60));
        p.script(
            r#"
            HGET h a
            HMGET h a b c
            HEXISTS h a
            HSTRLEN h b
            HTTL h FIELDS 3 a b c
            HPEXPIRETIME h FIELDS 1 a
            HPERSIST h FIELDS 1 a
            HEXPIRE h 100 FIELDS 1 b
            HGETALL h
            HKEYS h
            HVALS h
            HINCRBY h a 1
            HGETALL h
            HSCAN h 0
            HRANDFIELD h 5 WITHVALUES
            "#,
        );
        // A hash whose every field has passed its time, untouched since.
        p.script("HSET gone x 1 y 2\nHPEXPIRE gone 20 FIELDS 2 x y");
        std::thread::sleep(std::time::Duration::from_millis(60));
        p.script(
            r#"
            HRANDFIELD gone
            HSCAN gone 0
            HGETALL gone
            EXISTS gone
            "#,
        );
        p.same(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
        total += p.compared;
    }
    eprintln!("{total} replies identical");
}

#[test]
#[ignore = "needs Redis 8.0+: FERRODIS_REDIS_SERVER, see the file header"]
fn v80_hgetdel_matches_redis() {
    post70_differential(V80, |p| {
        let script = r#"
            HSET $K a 1 b 2 c 3
            HGETDEL $K FIELDS 2 a nosuch
            HGETDEL $K FIELDS 1 a
            HGETDEL $K FIELDS 2 b b
            HMGET $K a b c
            HGETDEL $K fields 1 c
            EXISTS $K
            HGETDEL $K FIELDS 2 x y
            HSET $K a 1 b 2
            HEXPIRE $K 100 FIELDS 1 a
            HGETDEL $K FIELDS 1 a
            HTTL $K FIELDS 2 a b
            HSET $K a 1
            HTTL $K FIELDS 1 a
            "#;
        script_on(p, "small", script);
        make_large(p, "large");
        script_on(p, "large", script);
        p.script(
            r#"
            SET s v
            HSET h a 1
            HGETDEL h FIELDS 0 a
            HGETDEL h FIELDS -1 a
            HGETDEL h FIELDS x a
            HGETDEL h FIELDS 2 a
            HGETDEL h FIELDS 1 a b
            HGETDEL h FIELDS 99999999999999999999 a
            HGETDEL h FIELD 1 a
            HGETDEL h 1 FIELDS a
            HGETDEL h FIELDS 1
            HGETDEL h FIELDS
            HGETDEL h
            HGETDEL nokey FIELDS 2 a b
            HGETDEL nokey FIELDS 0 a
            HGETDEL s FIELDS 1 a
            HGETDEL s FIELDS 0 a
            HGETDEL s FIELD 1 a
            HGET h a
            MULTI
            HGETDEL h FIELDS 1 a
            HGETDEL h FIELDS 1 a
            EXEC
            EXISTS h
            "#,
        );
    });
}

#[test]
#[ignore = "needs Redis 8.0+: FERRODIS_REDIS_SERVER, see the file header"]
fn v80_hgetex_matches_redis() {
    post70_differential(V80, |p| {
        let script = r#"
            HSET $K a 1 b 2 c 3
            HGETEX $K FIELDS 2 a nosuch
            HTTL $K FIELDS 1 a
            HGETEX $K EX 100 FIELDS 2 a nosuch
            HTTL $K FIELDS 2 a b
            HGETEX $K PX 100000 FIELDS 1 b
            HTTL $K FIELDS 1 b
            HGETEX $K EXAT 4000000000 FIELDS 1 c
            HEXPIRETIME $K FIELDS 2 c nosuch
            HGETEX $K PXAT 4000000000123 FIELDS 1 c
            HPEXPIRETIME $K FIELDS 1 c
            HGETEX $K ex 200 fields 2 c c
            HTTL $K FIELDS 1 c
            HGETEX $K PERSIST FIELDS 3 a b nosuch
            HTTL $K FIELDS 3 a b c
            HGETEX $K persist FIELDS 1 c
            HGETEX $K PERSIST FIELDS 1 c
            HTTL $K FIELDS 3 a b c
            HGETEX $K EX 0 FIELDS 1 a
            HEXISTS $K a
            HGETEX $K PXAT 1 FIELDS 3 b nosuch b
            HGETEX $K EXAT 1 FIELDS 1 c
            EXISTS $K
            HGETEX $K EX 10 FIELDS 1 a
            EXISTS $K
            "#;
        script_on(p, "small", script);
        make_large(p, "large");
        script_on(p, "large", script);
        p.script(
            r#"
            SET s v
            HSET h a 1
            HGETEX h EX 10 PX 10 FIELDS 1 a
            HGETEX h PERSIST EX 10 FIELDS 1 a
            HGETEX h BAD FIELDS 1 a
            HGETEX h KEEPTTL FIELDS 1 a
            HGETEX h EX x FIELDS 1 a
            HGETEX h EX FIELDS 1 a
            HGETEX h EX -1 FIELDS 1 a
            HGETEX h EX 70368744178 FIELDS 1 a
            HGETEX h EXAT 70368744178 FIELDS 1 a
            HGETEX h PX 70368744177663 FIELDS 1 a
            HGETEX h PXAT 70368744177664 FIELDS 1 a
            HGETEX h EXAT 70368744177 FIELDS 1 a
            HPEXPIRETIME h FIELDS 1 a
            HGETEX h PXAT 70368744177663 FIELDS 1 a
            HPEXPIRETIME h FIELDS 1 a
            HGETEX h PERSIST 10 FIELDS 1 a
            HGETEX h PERSIST FIELDS 1
            HGETEX h FIELDS 0 a
            HGETEX h FIELDS -1 a
            HGETEX h FIELDS x a
            HGETEX h FIELDS 2 a
            HGETEX h FIELDS 1 a b
            HGETEX h EX 10 FIELDS 0 a
            HGETEX h EX 10 FIELDS 2 a
            HGETEX h FIELD 1 a
            HGETEX h FIELDS 1
            HGETEX h
            HGETEX nokey EX 10 FIELDS 2 a b
            HGETEX nokey EX x FIELDS 1 a
            HGETEX nokey FIELDS 0 a
            EXISTS nokey
            HGETEX s FIELDS 1 a
            HGETEX s BAD FIELDS 1 a
            HGETEX s EX x FIELDS 1 a
            HGETALL h
            "#,
        );
    });
}

#[test]
#[ignore = "needs Redis 8.0+: FERRODIS_REDIS_SERVER, see the file header"]
fn v80_hsetex_matches_redis() {
    post70_differential(V80, |p| {
        let script = r#"
            HSETEX $K FIELDS 1 a v
            HSETEX $K FNX FIELDS 1 a v
            HSETEX $K FNX FIELDS 2 b 1 c 2
            HSETEX $K FXX FIELDS 2 a 1 zz 2
            HSETEX $K FXX FIELDS 2 a 10 b 20
            HMGET $K a b c zz
            HSETEX $K EX 100 FIELDS 1 a 1
            HTTL $K FIELDS 1 a
            HSETEX $K KEEPTTL FIELDS 1 a 2
            HTTL $K FIELDS 1 a
            HSETEX $K FIELDS 1 a 3
            HTTL $K FIELDS 1 a
            HSETEX $K PX 100000 FXX FIELDS 1 a 4
            HTTL $K FIELDS 1 a
            HSETEX $K EXAT 4000000000 FNX FIELDS 1 n 1
            HSETEX $K FXX PXAT 4000000000123 FIELDS 2 a 1 n 2
            HPEXPIRETIME $K FIELDS 3 a n b
            HSETEX $K fnx keepttl fields 2 d 1 d 2
            HGET $K d
            HTTL $K FIELDS 1 d
            HSETEX $K KEEPTTL FXX FIELDS 1 n 3
            HPEXPIRETIME $K FIELDS 1 n
            HSETEX $K PX 0 FIELDS 1 a 5
            HEXISTS $K a
            HSETEX $K EXAT 1 FIELDS 2 b 1 new 1
            HMGET $K a b new c
            HSETEX $K FIELDS 1 FIELDS v
            HGET $K FIELDS
            "#;
        script_on(p, "small", script);
        make_large(p, "large");
        script_on(p, "large", script);
        p.script(
            r#"
            HSETEX nokey FXX FIELDS 1 a 1
            EXISTS nokey
            HSETEX gone PXAT 1 FIELDS 1 a 1
            EXISTS gone
            HSETEX gone EX 0 FNX FIELDS 2 a 1 b 2
            EXISTS gone
            HSETEX x FIELDS 1 a v
            HSETEX x FNX FXX FIELDS 1 a v
            HSETEX x FNX FNX FIELDS 1 a v
            HSETEX x FXX FXX FIELDS 1 a v
            HSETEX x EX 1 KEEPTTL FIELDS 1 a v
            HSETEX x KEEPTTL EX 1 FIELDS 1 a v
            HSETEX x EX 1 EX 2 FIELDS 1 a v
            HSETEX x PX 1 EXAT 2 FIELDS 1 a v
            HSETEX x KEEPTTL KEEPTTL FIELDS 1 a v
            HSETEX x EX x FIELDS 1 a v
            HSETEX x EX FIELDS 1 a v
            HSETEX x EX -1 FIELDS 1 a v
            HSETEX x EX 70368744178 FIELDS 1 a v
            HSETEX x EXAT 70368744178 FIELDS 1 a v
            HSETEX x PX 70368744177663 FIELDS 1 a v
            HSETEX x PXAT 70368744177664 FIELDS 1 a v
            HSETEX x EXAT 70368744177 FIELDS 1 a v
            HPEXPIRETIME x FIELDS 1 a
            HSETEX x PXAT 70368744177663 FIELDS 1 a v
            HPEXPIRETIME x FIELDS 1 a
            HSETEX x BAD FIELDS 1 a v
            HSETEX x PERSIST FIELDS 1 a v
            HSETEX x a b c d
            HSETEX x FIELDS 2 a v
            HSETEX x FIELDS 0 a v
            HSETEX x FIELDS -1 a v
            HSETEX x FIELDS x a v
            HSETEX x FIELDS "" a v
            HSETEX x FIELDS 3000000000 a v
            HSETEX x FIELDS 1 a v b
            HSETEX x FIELDS 1 a v b w
            HSETEX x FIELDS 2 a v b
            HSETEX x EX 10 FIELDS 1 a
            HSETEX x FNX FIELDS 1 a v EX
            HSETEX x FIELDS 1 a
            HSETEX x FIELDS
            HSETEX x
            HGETALL x
            SET s v
            HSETEX s FIELDS 1 a v
            HSETEX s FXX FIELDS 1 a v
            HSETEX s FIELDS 2 a v
            HSETEX s EX x FIELDS 1 a v
            HSETEX s BAD FIELDS 1 a v
            HSETEX s FIELDS 0 a v
            HSETEX s FNX FXX FIELDS 1 a v
            GET s
            MULTI
            HSETEX t EX 100 FIELDS 1 a 1
            HSETEX t FNX FIELDS 1 a 2
            HSETEX t FIELDS 2 a v
            HTTL t FIELDS 1 a
            EXEC
            "#,
        );
    });
}

#[test]
#[ignore = "needs Redis 8.0+: FERRODIS_REDIS_SERVER, see the file header"]
fn v80_encodings_and_conversion_match_redis() {
    let mut needed = V74.to_vec();
    needed.extend_from_slice(V80);
    post70_differential_with(SMALL_LISTPACKS, &needed, |p| {
        p.script(
            r#"
            HSETEX w EX 100 FIELDS 1 f 123456789012
            OBJECT ENCODING w
            HTTL w FIELDS 1 f
            HSETEX x PX 100000 FIELDS 2 a 1 b 2
            OBJECT ENCODING x
            HSETEX x KEEPTTL FIELDS 3 c 3 d 4 e 5
            OBJECT ENCODING x
            HTTL x FIELDS 5 a b c d e
            HGETEX x PERSIST FIELDS 5 a b c d e
            HTTL x FIELDS 5 a b c d e
            HGETEX x EX 100 FIELDS 2 a b
            HGETDEL x FIELDS 4 a c d e
            HTTL x FIELDS 2 a b
            HGETEX x PX 0 FIELDS 1 b
            EXISTS x
            HSET y a 1
            HGETEX y EX 100 FIELDS 1 a
            OBJECT ENCODING y
            HSETEX y FIELDS 1 a 123456789012
            OBJECT ENCODING y
            HTTL y FIELDS 1 a
            "#,
        );
    });
}

#[test]
#[ignore = "needs Redis 8.0+: FERRODIS_REDIS_SERVER, see the file header"]
fn v80_commands_and_field_ttls_together_match_redis() {
    let mut needed = V74.to_vec();
    needed.extend_from_slice(V80);
    post70_differential(&needed, |p| {
        p.script(
            r#"
            HSETEX h EX 100 FIELDS 3 a 1 b 2 c 3
            HEXPIRE h 50 LT FIELDS 2 a b
            HGETEX h PERSIST FIELDS 1 a
            HTTL h FIELDS 3 a b c
            HPERSIST h FIELDS 1 b
            HGETDEL h FIELDS 1 c
            HTTL h FIELDS 3 a b c
            HSETEX h FXX KEEPTTL FIELDS 2 a 10 b 20
            HGETEX h PXAT 4000000000000 FIELDS 2 a b
            HPEXPIRETIME h FIELDS 2 a b
            HEXPIREAT h 4000000000 GT FIELDS 2 a b
            HPEXPIRETIME h FIELDS 2 a b
            HGETDEL h FIELDS 2 a b
            EXISTS h
            "#,
        );
    });
}
