//! Seeded random command sequences over every family, sent to ferrodis and
//! to redis-server, replies compared byte for byte over RESP2 and RESP3.
//!
//! The generator mixes valid commands with wrong types (a small key pool
//! shared by all types), bad numbers, wrong arity and transactions. Replies
//! whose content is legitimately different between two correct servers
//! (random choices, SCAN cursors, time-dependent TTLs, hash-table iteration
//! order) are left out; hashes stay small enough to keep their listpack
//! (insertion) order. Sets run with Redis 7.0's encodings
//! (`set-max-listpack-entries 0`); the replies that list a set's members are
//! compared with the members sorted (a hash table's order is its own in each
//! server), and random set commands only with counts whose result is
//! certain (0, the whole set, errors). A third generator drives SORT and
//! SORT_RO over lists, an intset and a sorted set, with weight strings and
//! hashes and STORE destinations (see `sort_command` for what it avoids).
//! certain (0, the whole set, errors). Geo commands run over the same
//! sorted sets (whatever their scores), searches with every option.
//!
//! `FERRODIS_DIFF_SEEDS` (default 60) and `FERRODIS_DIFF_STEPS` (default 400)
//! scale the run; a failure prints the seed and the whole sequence so far.

mod common;

use common::rng::XorShiftStar as Rng;
use common::{start_ferrodis, start_redis, Pair};

const KEYS: &[&str] = &["k1", "k2", "k3", "k4", "{t}a", "{t}b"];
const FIELDS: &[&str] = &["f1", "f2", "f3", "name", "age", ""];
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "10",
    "42",
    "007",
    "3.5",
    "-2.25",
    "1e3",
    "abc",
    "",
    "hello world",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "inf",
    "  5",
    "x\r\ny",
];
const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "-2",
    "3",
    "5",
    "100",
    "-100",
    "9223372036854775807",
    "abc",
    "1.5",
];
const FLOATS: &[&str] = &[
    "0", "1.5", "-0.25", "10", "1e2", "abc", "inf", "3.0e-3", "-5",
];
const MEMBERS: &[&str] = &["1", "2", "3", "-7", "100", "a", "b", "07", ""];
const INDEXES: &[&str] = &["0", "1", "-1", "2", "-2", "5", "-10", "100", "x"];

fn key(r: &mut Rng) -> String {
    r.pick(KEYS).to_string()
}

fn words(r: &mut Rng, pool: &[&str], min: usize, max: usize) -> Vec<String> {
    let n = min + r.below(max - min + 1);
    (0..n).map(|_| r.pick(pool).to_string()).collect()
}

const LONGITUDES: &[&str] = &[
    "13.361389",
    "15.087269",
    "0",
    "-0",
    "180",
    "-180",
    "-73.9857",
    "1e-3",
    "200",
    "abc",
];
const LATITUDES: &[&str] = &[
    "38.115556",
    "37.502669",
    "0",
    "85.05112878",
    "-85.05112878",
    "40.7484",
    "-33.5",
    "86",
    "x",
];
const RADII: &[&str] = &[
    "0", "1", "100", "200", "5000", "20000", "1e6", "-1", "inf", "x",
];
const GEO_UNITS: &[&str] = &["m", "km", "KM", "mi", "ft", "parsec"];

/// The optional words of a geo search: WITHs, order, COUNT [ANY], and the
/// command's own store options (`stores`, each one or two words).
fn geo_options(r: &mut Rng, c: &mut Vec<String>, stores: &[&str]) {
    let mut pool = vec!["WITHDIST", "WITHCOORD", "WITHHASH", "ASC", "DESC", "ANY"];
    pool.extend_from_slice(stores);
    for w in words(r, &pool, 0, 3) {
        c.extend(w.split(' ').map(String::from));
    }
    if r.chance(40) {
        c.extend([
            "COUNT".into(),
            r.pick(&["1", "2", "3", "10", "0", "-1", "x"]).into(),
        ]);
        if r.chance(30) {
            c.push("ANY".into());
        }
    }
}

/// One random command.
fn command(r: &mut Rng) -> Vec<String> {
    let k = key(r);
    let v = r.pick(VALUES).to_string();
    let mut c: Vec<String> = match r.below(88) {
        // strings and numbers
        0 => vec!["GET".into(), k],
        1 => {
            let mut c = vec!["SET".into(), k, v];
            for opt in words(r, &["NX", "XX", "GET", "KEEPTTL", "EX", "PX"], 0, 2) {
                c.push(opt.clone());
                if opt == "EX" || opt == "PX" {
                    c.push(r.pick(&["1000", "100000", "0", "-5", "abc"]).into());
                }
            }
            c
        }
        2 => vec!["SETNX".into(), k, v],
        3 => vec![
            "SETEX".into(),
            k,
            r.pick(&["1000", "0", "-1", "x"]).into(),
            v,
        ],
        4 => vec!["GETSET".into(), k, v],
        5 => vec!["GETDEL".into(), k],
        6 => {
            let mut c = vec!["MGET".into()];
            c.extend(words(r, KEYS, 1, 3));
            c
        }
        7 => {
            let mut c = vec![r.pick(&["MSET", "MSETNX"]).into()];
            for _ in 0..1 + r.below(2) {
                c.push(key(r));
                c.push(r.pick(VALUES).into());
            }
            c
        }
        8 => vec!["APPEND".into(), k, v],
        9 => vec!["STRLEN".into(), k],
        10 => vec![
            r.pick(&["GETRANGE", "SUBSTR"]).into(),
            k,
            r.pick(INDEXES).into(),
            r.pick(INDEXES).into(),
        ],
        11 => vec![
            "SETRANGE".into(),
            k,
            r.pick(&["0", "1", "3", "-1", "x"]).into(),
            v,
        ],
        12 => vec![r.pick(&["INCR", "DECR"]).into(), k],
        13 => vec![r.pick(&["INCRBY", "DECRBY"]).into(), k, r.pick(INTS).into()],
        14 => vec!["INCRBYFLOAT".into(), k, r.pick(FLOATS).into()],
        15 => {
            let mut c = vec!["LCS".into(), key(r), key(r)];
            c.extend(words(r, &["LEN", "IDX", "WITHMATCHLEN"], 0, 1));
            c
        }
        16 => vec!["GETEX".into(), k],
        // hashes
        17 | 18 => {
            let mut c = vec![r.pick(&["HSET", "HMSET"]).into(), k];
            for _ in 0..1 + r.below(3) {
                c.push(r.pick(FIELDS).into());
                c.push(r.pick(VALUES).into());
            }
            c
        }
        19 => vec!["HSETNX".into(), k, r.pick(FIELDS).into(), v],
        20 => vec!["HGET".into(), k, r.pick(FIELDS).into()],
        21 => {
            let mut c = vec!["HMGET".into(), k];
            c.extend(words(r, FIELDS, 1, 3));
            c
        }
        22 => vec![r.pick(&["HGETALL", "HKEYS", "HVALS", "HLEN"]).into(), k],
        23 => {
            let mut c = vec!["HDEL".into(), k];
            c.extend(words(r, FIELDS, 1, 3));
            c
        }
        24 => vec!["HEXISTS".into(), k, r.pick(FIELDS).into()],
        25 => vec![
            "HINCRBY".into(),
            k,
            r.pick(FIELDS).into(),
            r.pick(INTS).into(),
        ],
        26 => vec![
            "HINCRBYFLOAT".into(),
            k,
            r.pick(FIELDS).into(),
            r.pick(FLOATS).into(),
        ],
        27 => vec!["HSTRLEN".into(), k, r.pick(FIELDS).into()],
        // lists
        28 | 29 => {
            let mut c = vec![r.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]).into(), k];
            c.extend(words(r, VALUES, 1, 4));
            c
        }
        30 => {
            let mut c = vec![r.pick(&["LPOP", "RPOP"]).into(), k];
            if r.chance(40) {
                c.push(r.pick(&["0", "1", "2", "10", "-1", "x"]).into());
            }
            c
        }
        31 => vec!["LLEN".into(), k],
        32 | 33 => vec![
            "LRANGE".into(),
            k,
            r.pick(INDEXES).into(),
            r.pick(INDEXES).into(),
        ],
        34 => vec!["LINDEX".into(), k, r.pick(INDEXES).into()],
        35 => vec!["LSET".into(), k, r.pick(INDEXES).into(), v],
        36 => vec![
            "LINSERT".into(),
            k,
            r.pick(&["BEFORE", "AFTER", "MIDDLE"]).into(),
            r.pick(VALUES).into(),
            v,
        ],
        37 => vec![
            "LREM".into(),
            k,
            r.pick(&["0", "1", "-1", "2", "x"]).into(),
            v,
        ],
        38 => vec![
            "LTRIM".into(),
            k,
            r.pick(INDEXES).into(),
            r.pick(INDEXES).into(),
        ],
        39 => {
            let mut c = vec!["LPOS".into(), k, v];
            for opt in words(r, &["RANK", "COUNT", "MAXLEN"], 0, 2) {
                c.push(opt);
                c.push(r.pick(&["0", "1", "-1", "2", "x"]).into());
            }
            c
        }
        40 => vec![
            "LMOVE".into(),
            k,
            key(r),
            r.pick(&["LEFT", "RIGHT"]).into(),
            r.pick(&["LEFT", "RIGHT", "UP"]).into(),
        ],
        41 => vec!["RPOPLPUSH".into(), k, key(r)],
        42 => {
            let n = 1 + r.below(2);
            let mut c = vec!["LMPOP".into(), n.to_string()];
            c.extend((0..n).map(|_| key(r)));
            c.push(r.pick(&["LEFT", "RIGHT"]).into());
            if r.chance(50) {
                c.push("COUNT".into());
                c.push(r.pick(&["1", "3", "0", "x"]).into());
            }
            c
        }
        // keys
        43 => {
            let mut c = vec![r.pick(&["DEL", "UNLINK", "EXISTS", "TOUCH"]).into()];
            c.extend(words(r, KEYS, 1, 3));
            c
        }
        44 | 45 => vec!["TYPE".into(), k],
        46 => vec!["OBJECT".into(), "ENCODING".into(), k],
        47 => {
            let mut c = vec![r.pick(&["EXPIRE", "PEXPIRE"]).into(), k];
            c.push(
                r.pick(&["100000", "0", "-1", "x", "9999999999999999"])
                    .into(),
            );
            c.extend(words(r, &["NX", "XX", "GT", "LT"], 0, 1));
            c
        }
        48 => vec![
            r.pick(&["EXPIREAT", "PEXPIREAT"]).into(),
            k,
            r.pick(&["4102444800", "4102444800000", "1", "0"]).into(),
        ],
        49 => vec!["PERSIST".into(), k],
        50 => vec![r.pick(&["RENAME", "RENAMENX"]).into(), k, key(r)],
        51 => {
            let mut c = vec!["COPY".into(), k, key(r)];
            c.extend(words(r, &["REPLACE"], 0, 1));
            c
        }
        52 => vec!["MOVE".into(), k, r.pick(&["0", "1", "99", "x"]).into()],
        53 => vec!["SELECT".into(), r.pick(&["0", "1", "0", "77", "x"]).into()],
        54 => vec![
            "SWAPDB".into(),
            r.pick(&["0", "1"]).into(),
            r.pick(&["1", "0", "x"]).into(),
        ],
        55 => vec!["DBSIZE".into()],
        56 => vec!["FLUSHDB".into()],
        // transactions
        57 => vec!["MULTI".into()],
        58 | 59 => vec!["EXEC".into()],
        60 => vec!["DISCARD".into()],
        61 => vec!["WATCH".into(), k],
        62 => vec!["UNWATCH".into()],
        // sets
        64 | 65 => {
            let mut c = vec![r.pick(&["SADD", "SREM", "SMISMEMBER"]).into(), k];
            c.extend(words(r, MEMBERS, 1, 4));
            c
        }
        66 => vec![
            r.pick(&["SISMEMBER", "SCARD", "SMEMBERS"]).into(),
            k,
            r.pick(MEMBERS).into(),
        ],
        67 => vec!["SMOVE".into(), k, key(r), r.pick(MEMBERS).into()],
        68 => vec![
            r.pick(&["SPOP", "SRANDMEMBER"]).into(),
            k,
            r.pick(&["0", "100", "1.5", "x", "-9223372036854775808"])
                .into(),
        ],
        69 => {
            let name = r.pick(&[
                "SINTER",
                "SUNION",
                "SDIFF",
                "SINTERSTORE",
                "SUNIONSTORE",
                "SDIFFSTORE",
            ]);
            let mut c = vec![name.into(), k];
            c.extend(words(r, KEYS, 0, 3));
            c
        }
        70 => {
            let mut c = vec!["SINTERCARD".into(), r.pick(&["1", "2", "0", "x"]).into()];
            c.extend(words(r, KEYS, 1, 2));
            if r.chance(50) {
                c.push("LIMIT".into());
                c.push(r.pick(&["0", "1", "-1", "x"]).into());
            }
            c
        }
        71 => vec![
            "SSCAN".into(),
            k,
            r.pick(&["0", "x"]).into(),
            "COUNT".into(),
            r.pick(&["1000", "0"]).into(),
        ],
        // sorted sets (small ones: every reply is deterministic)
        72 | 73 => {
            let mut c = vec!["ZADD".into(), k];
            c.extend(words(r, &["NX", "XX", "GT", "LT", "CH", "INCR"], 0, 2));
            for _ in 0..1 + r.below(3) {
                c.push(r.pick(FLOATS).into());
                c.push(r.pick(FIELDS).into());
            }
            c
        }
        74 => vec![
            "ZINCRBY".into(),
            k,
            r.pick(FLOATS).into(),
            r.pick(FIELDS).into(),
        ],
        75 => vec![
            r.pick(&["ZSCORE", "ZRANK", "ZREVRANK", "ZREM"]).into(),
            k,
            r.pick(FIELDS).into(),
        ],
        76 => {
            let mut c = vec!["ZRANGE".into(), k];
            let by = r.below(3);
            let (lo, hi): (&[&str], &[&str]) = match by {
                0 => (INDEXES, INDEXES),
                1 => (
                    &["-inf", "(1", "0", "1.5", "x"],
                    &["+inf", "(10", "10", "0"],
                ),
                _ => (&["-", "[a", "(f1", "x"], &["+", "[z", "(f2"]),
            };
            c.push(r.pick(lo).into());
            c.push(r.pick(hi).into());
            c.extend(words(r, &["BYSCORE", "BYLEX", "REV", "WITHSCORES"], 0, 2));
            if r.chance(3) {
                c.extend([
                    "LIMIT".into(),
                    r.pick(INDEXES).into(),
                    r.pick(INDEXES).into(),
                ]);
            }
            c
        }
        77 => vec![
            r.pick(&[
                "ZCOUNT",
                "ZREMRANGEBYSCORE",
                "ZRANGEBYSCORE",
                "ZREVRANGEBYSCORE",
            ])
            .into(),
            k,
            r.pick(&["-inf", "(1", "0", "1.5", "x", ""]).into(),
            r.pick(&["+inf", "(10", "10", "0"]).into(),
        ],
        78 => vec![
            r.pick(&["ZLEXCOUNT", "ZREMRANGEBYLEX", "ZRANGEBYLEX"])
                .into(),
            k,
            r.pick(&["-", "[a", "(f1", "x", "+"]).into(),
            r.pick(&["+", "[z", "(f2", "-"]).into(),
        ],
        79 => vec![
            r.pick(&["ZREMRANGEBYRANK", "ZREVRANGE"]).into(),
            k,
            r.pick(INDEXES).into(),
            r.pick(INDEXES).into(),
        ],
        80 => {
            let mut c = vec![r.pick(&["ZPOPMIN", "ZPOPMAX"]).into(), k];
            c.extend(words(r, &["1", "2", "0", "-1", "x"], 0, 1));
            c
        }
        81 => {
            let n = 1 + r.below(2);
            let mut c = vec![
                r.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]).into(),
                k,
            ];
            c.push(n.to_string());
            c.extend(words(r, KEYS, n, n));
            if r.chance(3) {
                c.push("AGGREGATE".into());
                c.push(r.pick(&["SUM", "MIN", "MAX", "X"]).into());
            }
            c
        }
        82 => {
            let n = 1 + r.below(2);
            let mut c = vec![r.pick(&["ZUNION", "ZINTER", "ZDIFF", "ZINTERCARD"]).into()];
            c.push(n.to_string());
            c.extend(words(r, KEYS, n, n));
            c.extend(words(r, &["WITHSCORES"], 0, 1));
            c
        }
        83 => {
            let mut c: Vec<String> =
                vec![r.pick(&["ZCARD", "ZMSCORE", "ZRANGESTORE", "ZMPOP"]).into()];
            match c[0].as_str() {
                "ZCARD" => c.push(k),
                "ZMSCORE" => {
                    c.push(k);
                    c.extend(words(r, FIELDS, 1, 3));
                }
                "ZRANGESTORE" => {
                    c.extend([k, key(r), r.pick(INDEXES).into(), r.pick(INDEXES).into()])
                }
                _ => c.extend(["2".into(), k, key(r), r.pick(&["MIN", "MAX"]).into()]),
            }
            c
        }
        84 => {
            let mut c = vec!["GEOADD".into(), k];
            c.extend(words(r, &["NX", "XX", "CH"], 0, 2));
            for _ in 0..1 + r.below(2) {
                c.extend([r.pick(LONGITUDES).into(), r.pick(LATITUDES).into()]);
                c.push(r.pick(MEMBERS).into());
            }
            c
        }
        85 => {
            let mut c = vec![r.pick(&["GEOPOS", "GEOHASH", "GEODIST"]).into(), k];
            c.extend(words(r, MEMBERS, 2, 2));
            if c[0] == "GEODIST" {
                c.extend(words(r, GEO_UNITS, 0, 1));
            } else {
                c.extend(words(r, MEMBERS, 0, 2));
            }
            c
        }
        86 => {
            let mut c: Vec<String> = if r.chance(30) {
                vec!["GEOSEARCHSTORE".into(), key(r), k]
            } else {
                vec!["GEOSEARCH".into(), k]
            };
            if r.chance(50) {
                c.extend(["FROMMEMBER".into(), r.pick(MEMBERS).into()]);
            } else {
                c.extend(["FROMLONLAT".into(), r.pick(LONGITUDES).into()]);
                c.push(r.pick(LATITUDES).into());
            }
            if r.chance(50) {
                c.extend(["BYRADIUS".into(), r.pick(RADII).into()]);
            } else {
                c.extend(["BYBOX".into(), r.pick(RADII).into(), r.pick(RADII).into()]);
            }
            c.push(r.pick(GEO_UNITS).into());
            geo_options(r, &mut c, &["STOREDIST"]);
            c
        }
        87 => {
            let name = r.pick(&[
                "GEORADIUS",
                "GEORADIUS_RO",
                "GEORADIUSBYMEMBER",
                "GEORADIUSBYMEMBER_RO",
            ]);
            let mut c = vec![name.into(), k];
            if name.starts_with("GEORADIUSBYMEMBER") {
                c.push(r.pick(MEMBERS).into());
            } else {
                c.extend([r.pick(LONGITUDES).into(), r.pick(LATITUDES).into()]);
            }
            c.extend([r.pick(RADII).into(), r.pick(GEO_UNITS).into()]);
            let store = [format!("STORE {}", key(r)), format!("STOREDIST {}", key(r))];
            geo_options(r, &mut c, &[&store[0], &store[1]]);
            c
        }
        _ => vec!["PING".into()],
    };
    // Sometimes break the command: wrong arity or a junk argument.
    if r.chance(6) && c.len() > 1 {
        c.pop();
    } else if r.chance(4) {
        c.push("junk".into());
    }
    // A random set command without its count would pick at random.
    if (c[0] == "SPOP" || c[0] == "SRANDMEMBER") && c.len() == 2 {
        c.push("100".into());
    }
    c
}

/// Commands whose reply lists a set's members in its table's order.
const UNORDERED: &[&str] = &[
    "SMEMBERS",
    "SINTER",
    "SUNION",
    "SDIFF",
    "SPOP",
    "SRANDMEMBER",
    "SSCAN",
];

/// `reply` with its lines sorted when `c` lists members in table order
/// (a set's members are the lines of a bulk-string reply).
fn normalized(c: &[String], reply: Vec<u8>) -> Vec<u8> {
    if !UNORDERED.contains(&c[0].as_str()) || reply.first() == Some(&b'-') {
        return reply;
    }
    let mut items: Vec<&[u8]> = Vec::new();
    let mut rest = &reply[..];
    while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = &rest[..at];
        rest = &rest[at + 2..];
        if line.first() == Some(&b'$') {
            let n: usize = std::str::from_utf8(&line[1..]).map_or(0, |t| t.parse().unwrap_or(0));
            items.push(&rest[..n]);
            rest = &rest[(n + 2).min(rest.len())..];
        } else {
            items.push(line);
        }
    }
    items.sort();
    items.join(&b"\n"[..])
}

fn run_seed(pair: &mut Pair, seed: u64, steps: usize) {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    compare_sequence(pair, seed, &mut r, steps, command, normalized);
    // Leave no transaction open for the next seed.
    pair.ours.cmd(&["DISCARD"]);
    pair.redis.cmd(&["DISCARD"]);
}

/// Sends `steps` commands of `generate` to both servers, comparing the
/// replies after `normalize`; a difference fails with the seed and the
/// whole sequence so far.
fn compare_sequence(
    pair: &mut Pair,
    seed: u64,
    r: &mut Rng,
    steps: usize,
    generate: fn(&mut Rng) -> Vec<String>,
    normalize: fn(&[String], Vec<u8>) -> Vec<u8>,
) {
    let mut history: Vec<String> = Vec::new();
    for _ in 0..steps {
        let c = generate(r);
        history.push(c.join(" "));
        let refs: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
        let ours = normalize(&c, pair.ours.cmd_bytes(&refs));
        let theirs = normalize(&c, pair.redis.cmd_bytes(&refs));
        pair.compared += 1;
        if ours != theirs {
            panic!(
                "seed {seed}: reply differs from Redis for `{}`\nferrodis: {:?}\nredis:    {:?}\nsequence:\n{}",
                c.join(" "),
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                history.join("\n")
            );
        }
    }
}

/// A reply compared as it is.
fn as_is(_: &[String], reply: Vec<u8>) -> Vec<u8> {
    reply
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_sequences_match_redis() {
    let seeds = env_or("FERRODIS_DIFF_SEEDS", 60) as u64;
    let steps = env_or("FERRODIS_DIFF_STEPS", 400);
    let ours = start_ferrodis(&["--set-max-listpack-entries", "0"]);
    let redis = start_redis(&[]);
    let mut total = 0;
    for resp in [2u8, 3] {
        for seed in 0..seeds {
            let mut pair = Pair::connect(&ours, &redis, resp);
            pair.same(&["FLUSHALL"]);
            run_seed(&mut pair, seed * 2 + resp as u64, steps);
            total += pair.compared;
        }
    }
    println!("differential: {total} commands compared over RESP2 and RESP3 ({seeds} seeds x {steps} steps each)");
    assert!(total >= (2 * seeds as usize) * steps);
}

// ----- bitmaps, BITFIELD and HyperLogLog -----

/// One random bitmap, BITFIELD or HyperLogLog command, or a string or list
/// command that gives the small key pool other values and types.
fn bits_command(r: &mut Rng) -> Vec<String> {
    const OFFSETS: &[&str] = &[
        "0",
        "1",
        "7",
        "8",
        "63",
        "100",
        "-1",
        "x",
        "#3",
        "4294967296",
    ];
    const RANGES: &[&str] = &["0", "1", "-1", "-3", "2", "10", "-100", "x"];
    const TYPES: &[&str] = &["u8", "i8", "u1", "i64", "u63", "i5", "u64", "x3"];
    let k = key(r);
    let mut c: Vec<String> = match r.below(20) {
        0 => vec![
            "SETBIT".into(),
            k,
            r.pick(OFFSETS).into(),
            r.pick(&["0", "1", "2"]).into(),
        ],
        1 => vec!["GETBIT".into(), k, r.pick(OFFSETS).into()],
        2 | 3 => {
            let mut c = vec!["BITCOUNT".into(), k];
            c.extend(words(r, RANGES, 0, 2));
            c.extend(words(r, &["BIT", "BYTE", "bit"], 0, 1));
            c
        }
        4 | 5 => {
            let mut c = vec!["BITPOS".into(), k, r.pick(&["0", "1", "2"]).into()];
            c.extend(words(r, RANGES, 0, 2));
            c.extend(words(r, &["BIT", "BYTE"], 0, 1));
            c
        }
        6 => {
            let mut c = vec![
                "BITOP".into(),
                r.pick(&["AND", "OR", "XOR", "NOT", "x"]).into(),
            ];
            c.extend(words(r, KEYS, 2, 3));
            c
        }
        7 | 8 => {
            let mut c = vec![r.pick(&["BITFIELD", "BITFIELD", "BITFIELD_RO"]).into(), k];
            for _ in 0..r.below(4) {
                match r.below(4) {
                    0 => c.extend(["GET".into(), r.pick(TYPES).into(), r.pick(OFFSETS).into()]),
                    1 | 2 => c.extend([
                        r.pick(&["SET", "INCRBY"]).into(),
                        r.pick(TYPES).into(),
                        r.pick(OFFSETS).into(),
                        r.pick(INTS).into(),
                    ]),
                    _ => c.extend([
                        "OVERFLOW".into(),
                        r.pick(&["WRAP", "SAT", "FAIL", "x"]).into(),
                    ]),
                }
            }
            c
        }
        9 | 10 => {
            let mut c = vec!["PFADD".into(), k];
            c.extend(words(r, VALUES, 0, 4));
            c
        }
        11 => {
            let mut c = vec!["PFCOUNT".into()];
            c.extend(words(r, KEYS, 1, 3));
            c
        }
        12 => {
            let mut c = vec!["PFMERGE".into(), k];
            c.extend(words(r, KEYS, 0, 2));
            c
        }
        13 => vec![
            "PFDEBUG".into(),
            r.pick(&["ENCODING", "DECODE", "TODENSE", "x"]).into(),
            k,
        ],
        14 => vec!["SET".into(), k, r.pick(VALUES).into()],
        15 => vec!["GET".into(), k],
        16 => vec!["APPEND".into(), k, r.pick(VALUES).into()],
        17 => vec!["LPUSH".into(), k, "x".into()],
        18 => vec!["DEL".into(), k],
        _ => vec!["STRLEN".into(), k],
    };
    if r.chance(5) && c.len() > 1 {
        c.pop();
    }
    c
}

#[test]
fn random_bitmap_and_hyperloglog_sequences_match_redis() {
    random_runs(0xff51_afd7_ed55_8ccd, bits_command);
}

// ----- SORT -----

/// Elements of the sorted lists: numbers in several spellings, words,
/// the empty string, a NUL byte (C-string collation stops there).
const SORT_ELEMENTS: &[&str] = &[
    "1", "2", "10", "-3", "2.5", "007", "1e2", "0x1f", " 4", "a", "b", "ab", "B", "", "x y",
    "a\0b", "a\0c", "\u{ff}",
];
/// Weights: numbers, ties, and words that fail a numeric sort. (No range
/// errors: Redis leaves a strtod range error in `errno` for later SORTs.)
const SORT_WEIGHTS: &[&str] = &["1", "2", "-1", "0.5", "2", "abc", "", "10", "b", "a\0z"];
const SORT_LIMITS: &[&str] = &["0", "1", "2", "-1", "3", "100", "-5", "x"];
const SORT_DESTINATIONS: &[&str] = &["d1", "d2", "{t}d", "l2", "w_a"];

/// One random SORT or SORT_RO over lists (`l1`, `l2`), an intset (`s1`),
/// a sorted set (`z1`) and other types (`k`), or a command that changes
/// them, their weights (`w_*` strings, `o_*` hashes) or a destination.
/// Sets of strings are left out (Redis lists them in its hash table's
/// order), and a sorted set is never sorted ALPHA BY a pattern (Redis reads
/// it in hash-table order, so equal weights have no fixed order there).
fn sort_command(r: &mut Rng) -> Vec<String> {
    let element = |r: &mut Rng| r.pick(SORT_ELEMENTS).to_string();
    match r.below(14) {
        0 | 1 => {
            let mut c = vec![
                r.pick(&["RPUSH", "LPUSH"]).into(),
                r.pick(&["l1", "l2"]).into(),
            ];
            c.extend((0..1 + r.below(4)).map(|_| element(r)));
            c
        }
        2 => {
            let mut c = vec![r.pick(&["SADD", "SREM"]).into(), "s1".into()];
            c.extend(words(r, &["1", "-5", "30", "7", "100", "0"], 1, 3));
            c
        }
        3 => {
            let member = r.pick(&["a", "b", "c", "10", "2", "x y", ""]);
            vec![
                "ZADD".into(),
                "z1".into(),
                r.pick(FLOATS).into(),
                member.into(),
            ]
        }
        4 => vec![
            "SET".into(),
            format!("w_{}", element(r)),
            r.pick(SORT_WEIGHTS).into(),
        ],
        5 => vec![
            "HSET".into(),
            format!("o_{}", element(r)),
            r.pick(&["f", "g"]).into(),
            r.pick(SORT_WEIGHTS).into(),
        ],
        6 => vec![
            "DEL".into(),
            r.pick(&["l1", "l2", "s1", "z1", "d1", "w_a", "o_b", "w_1"])
                .into(),
        ],
        7 => match r.below(3) {
            0 => vec!["SET".into(), "k".into(), "v".into()],
            1 => vec!["HSET".into(), "k".into(), "f".into(), "1".into()],
            _ => vec![
                "LRANGE".into(),
                r.pick(SORT_DESTINATIONS).into(),
                "0".into(),
                "-1".into(),
            ],
        },
        8 => vec!["TYPE".into(), r.pick(SORT_DESTINATIONS).into()],
        _ => {
            let readonly = r.chance(25);
            let source = r.pick(&["l1", "l2", "l1", "s1", "z1", "k", "nosuch"]);
            let mut c: Vec<String> = vec![
                if readonly { "SORT_RO" } else { "SORT" }.into(),
                source.into(),
            ];
            let mut alpha = false;
            let mut by_pattern = false;
            for _ in 0..r.below(5) {
                match r.below(8) {
                    0 => c.push(r.pick(&["ASC", "DESC", "desc"]).into()),
                    1 => {
                        c.push("ALPHA".into());
                        alpha = true;
                    }
                    2 => {
                        c.push("LIMIT".into());
                        c.push(r.pick(SORT_LIMITS).into());
                        c.push(r.pick(SORT_LIMITS).into());
                    }
                    3 | 4 => {
                        let pattern = r.pick(&["w_*", "o_*->f", "nosort", "*", "w_*x", "o_*->"]);
                        by_pattern |= pattern.contains('*');
                        c.push("BY".into());
                        c.push(pattern.into());
                    }
                    5 | 6 => {
                        c.push("GET".into());
                        c.push(
                            r.pick(&["#", "w_*", "o_*->f", "o_*->g", "const", "*"])
                                .into(),
                        );
                    }
                    _ => {
                        if readonly || r.chance(50) {
                            c.push(r.pick(&["STORE", "junk"]).into());
                        } else {
                            c.push("STORE".into());
                            c.push(r.pick(SORT_DESTINATIONS).into());
                        }
                    }
                }
            }
            if source == "z1" && alpha && by_pattern {
                c.push("BY".into());
                c.push("nosort".into());
            }
            c
        }
    }
}

#[test]
fn random_sort_sequences_match_redis() {
    random_runs(0xc4ce_b9fe_1a85_ec53, sort_command);
}

/// Runs `generate`'s sequences (compared as they are) against fresh
/// servers, `FERRODIS_DIFF_SEEDS` seeds per protocol, each seed's
/// generator salted with `salt`.
fn random_runs(salt: u64, generate: fn(&mut Rng) -> Vec<String>) {
    let seeds = env_or("FERRODIS_DIFF_SEEDS", 60) as u64;
    let steps = env_or("FERRODIS_DIFF_STEPS", 400);
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    for resp in [2u8, 3] {
        for seed in 0..seeds {
            let mut pair = Pair::connect(&ours, &redis, resp);
            pair.same(&["FLUSHALL"]);
            let mut r = Rng((seed * 2 + resp as u64).wrapping_mul(salt) | 1);
            compare_sequence(&mut pair, seed, &mut r, steps, generate, as_is);
        }
    }
}
