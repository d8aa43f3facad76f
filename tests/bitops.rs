//! Bitmap commands and BITFIELD: differential tests against redis-server
//! 7.0 over RESP2 and RESP3 (replies byte for byte, errors included), a
//! seeded random comparison of BITCOUNT / BITPOS ranges, and the limits.

mod common;

use common::rng::Rng;
use common::{differential, Pair};

#[test]
fn setbit_and_getbit_match_redis() {
    differential(|p| {
        p.script(
            r##"
            SETBIT k 7 1
            SETBIT k 7 1
            SETBIT k 7 0
            GET k
            SETBIT k 100 1
            STRLEN k
            GETBIT k 100
            GETBIT k 101
            GETBIT k 999999
            GETBIT nokey 3
            SETBIT k 0 2
            SETBIT k 0 -1
            SETBIT k 0 x
            SETBIT k -1 1
            SETBIT k x 1
            SETBIT k 4294967296 x
            SETBIT k 4294967296 1
            GETBIT k -1
            GETBIT k 4294967296
            GETBIT k "#1"
            SETBIT k "#1" 1
            SETBIT k 01 1
            SETBIT k " 1" 1
            SET n 12
            GETBIT n 2
            GETBIT n 3
            SETBIT n 0 1
            GET n
            OBJECT ENCODING n
            SET e ""
            SETBIT e 0 1
            GET e
            SET small abc
            SETBIT small 0 0
            OBJECT ENCODING small
            LPUSH l a
            SETBIT l 0 1
            GETBIT l 0
            SETBIT l x 1
            SETBIT fresh 0 0
            GET fresh
            OBJECT ENCODING fresh
            SETBIT
            GETBIT k
            "##,
        );
    });
}

#[test]
fn bitcount_matches_redis() {
    differential(|p| {
        p.script(
            r##"
            SET s foobar
            BITCOUNT s
            BITCOUNT s 0 0
            BITCOUNT s 1 1
            BITCOUNT s 1 -2
            BITCOUNT s -3 -1
            BITCOUNT s -1 -3
            BITCOUNT s 100 200
            BITCOUNT s -100 -50
            BITCOUNT s 5 30 BIT
            BITCOUNT s 0 -1 bit
            BITCOUNT s 0 -1 BYTE
            BITCOUNT s 7 7 BIT
            BITCOUNT s 1 0 BIT
            BITCOUNT s -5 -1 BIT
            BITCOUNT s 0 1 WORD
            BITCOUNT s -1 -3 WORD
            BITCOUNT s 0
            BITCOUNT s 0 1 BIT extra
            BITCOUNT s a 1
            BITCOUNT s 0 b
            BITCOUNT nokey
            BITCOUNT nokey 0
            BITCOUNT nokey a b c d e
            SET n -1234567
            BITCOUNT n
            BITCOUNT n 1 2 BIT
            SET e ""
            BITCOUNT e
            BITCOUNT e 0 -1 BIT
            LPUSH l a
            BITCOUNT l
            BITCOUNT l 0 1 x
            BITCOUNT s "0" "-1" "bit\x00x"
            BITCOUNT s -9223372036854775808 9223372036854775807
            BITCOUNT s -9223372036854775808 -9223372036854775808 BIT
            BITCOUNT s 9223372036854775807 9223372036854775807 BIT
            "##,
        );
    });
}

#[test]
fn bitpos_matches_redis() {
    differential(|p| {
        p.script(
            r##"
            SET s "\xff\xf0\x00"
            BITPOS s 0
            BITPOS s 1
            BITPOS s 1 2
            BITPOS s 0 2
            BITPOS s 0 0 1
            BITPOS s 0 0 0
            BITPOS s 1 2 -1
            BITPOS s 1 -1
            BITPOS s 1 1 1 BYTE
            BITPOS s 0 7 15 BIT
            BITPOS s 0 0 7 BIT
            BITPOS s 1 13 23 BIT
            BITPOS s 1 20 23 bit
            BITPOS s 0 4 5 BIT
            BITPOS s 0 12 12 BIT
            BITPOS s 1 3 1
            BITPOS s 1 0 1 WORD
            BITPOS s 2
            BITPOS s -1
            BITPOS s x
            BITPOS s 1 a
            BITPOS s 1 0 b
            BITPOS s 1 0 1 BIT extra
            BITPOS nokey 0
            BITPOS nokey 1
            BITPOS nokey 1 a b
            BITPOS nokey 2
            SET ones "\xff\xff\xff"
            BITPOS ones 0
            BITPOS ones 0 0
            BITPOS ones 0 0 -1
            BITPOS ones 0 0 -1 BIT
            BITPOS ones 0 1 BIT
            BITPOS ones 1 100
            SET zeros "\x00\x00"
            BITPOS zeros 1
            BITPOS zeros 0
            BITPOS zeros 1 0 -1 BIT
            SET e ""
            BITPOS e 0
            BITPOS e 1
            BITPOS e 0 0 -1
            SET n 255
            BITPOS n 1
            BITPOS n 0 1
            LPUSH l a
            BITPOS l 1
            BITPOS l 3
            BITPOS s 1 -9223372036854775808 9223372036854775807 BIT
            "##,
        );
    });
}

#[test]
fn bitop_matches_redis() {
    differential(|p| {
        p.script(
            r##"
            SET a "\x01\x02\xff"
            SET b "\xf0"
            SET c 123
            BITOP AND d a b
            GET d
            BITOP OR d a b c
            GET d
            OBJECT ENCODING d
            BITOP XOR d a b nokey
            GET d
            BITOP NOT d a
            GET d
            BITOP NOT d nokey
            EXISTS d
            BITOP NOT d a b
            BITOP AND a a
            GET a
            BITOP and d a
            BITOP "and\x00x" d a
            BITOP NAND d a b
            BITOP AND d nokey1 nokey2
            SET e ""
            BITOP OR d e e
            EXISTS d
            SET d x EX 100
            BITOP OR d a
            TTL d
            LPUSH l a
            BITOP AND d a l
            BITOP AND l a
            TYPE l
            BITOP AND d
            BITOP NOT d
            SET long "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            BITOP AND d long a
            GET d
            BITOP XOR d long long
            GET d
            "##,
        );
    });
}

#[test]
fn bitfield_matches_redis() {
    differential(|p| {
        p.script(
            r##"
            BITFIELD f SET i8 0 -100 GET i8 0 INCRBY i8 0 -100 GET u8 0
            BITFIELD f SET u2 100 1 OVERFLOW SAT INCRBY u2 100 100 OVERFLOW FAIL INCRBY u2 100 1
            BITFIELD f GET u2 100 GET i64 0 GET u63 1 GET i1 7 GET u1 7
            BITFIELD f SET i64 0 -9223372036854775808 INCRBY i64 0 -1 OVERFLOW SAT INCRBY i64 0 -1
            BITFIELD f OVERFLOW WRAP INCRBY i64 0 9223372036854775807 INCRBY i64 0 9223372036854775807
            BITFIELD f OVERFLOW SAT SET u8 0 -1 SET i8 0 200 SET u8 0 256 SET i4 0 -9
            BITFIELD f OVERFLOW FAIL SET u8 0 -1 SET i8 0 200 SET u8 0 255
            BITFIELD f OVERFLOW WRAP SET u8 0 -1 SET i8 0 200 SET u4 0 17
            BITFIELD f SET u8 "#2" 255 GET u8 "#2" GET u8 16 GET u4 "#4"
            BITFIELD f INCRBY u63 0 1 INCRBY u63 0 -2 OVERFLOW SAT INCRBY u63 0 -5
            BITFIELD f OVERFLOW sat INCRBY i3 0 3 INCRBY i3 0 3 INCRBY i3 0 -20
            BITFIELD f
            BITFIELD nokey
            BITFIELD nokey GET u8 0
            EXISTS nokey
            BITFIELD nokey OVERFLOW FAIL
            EXISTS nokey
            BITFIELD g OVERFLOW FAIL SET u8 0 300
            EXISTS g
            GET g
            BITFIELD f GET u64 0
            BITFIELD f GET i65 0
            BITFIELD f GET i0 0
            BITFIELD f GET x8 0
            BITFIELD f GET I8 0
            BITFIELD f GET u08 0
            BITFIELD f GET "u8\x00junk" 0
            BITFIELD f GET u8 -1
            BITFIELD f GET u8 "#-1"
            BITFIELD f GET u8 4294967296
            BITFIELD f GET u8 "#536870912"
            BITFIELD f GET u8 "#9223372036854775807"
            BITFIELD f SET u8 0
            BITFIELD f SET u8 0 x
            BITFIELD f INCRBY u8 0 1.5
            BITFIELD f GET u8
            BITFIELD f OVERFLOW
            BITFIELD f OVERFLOW BAD GET u8 0
            BITFIELD f FOO u8 0
            BITFIELD f get u8 0 GET u8 0 foo
            BITFIELD f GET u65 0 SET x 0 0
            BITFIELD f "GET\x00x" u8 0
            BITFIELD_RO f GET u8 0 GET i16 3
            BITFIELD_RO f
            BITFIELD_RO nokey GET u8 0
            BITFIELD_RO f SET u8 0 1
            BITFIELD_RO f INCRBY u8 0 1
            BITFIELD_RO f OVERFLOW FAIL GET u8 0
            BITFIELD_RO f GET u65 0 SET u8 0 1
            LPUSH l a
            BITFIELD l GET u8 0
            BITFIELD l SET u8 0 1
            BITFIELD l
            BITFIELD_RO l GET u8 0
            BITFIELD l GET u99 0
            SET n 1234
            BITFIELD n GET u8 0 SET u8 0 48
            GET n
            OBJECT ENCODING n
            BITFIELD big SET u8 4294967296 1
            BITFIELD big GET u8 4294967296
            EXISTS big
            BITFIELD
            "##,
        );
    });
}

/// Random strings, ranges and units for BITCOUNT and BITPOS, and random
/// BITFIELD operations, compared reply by reply.
#[test]
fn random_ranges_and_fields_match_redis() {
    differential(|p: &mut Pair| {
        let mut rng = Rng(0x5eed_b175);
        for round in 0..60 {
            let len = rng.below(40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| match rng.below(4) {
                    0 => 0,
                    1 => 0xff,
                    _ => rng.next() as u8,
                })
                .collect();
            p.same_bytes(&[b"SET", b"r", &bytes]);
            for _ in 0..20 {
                let span = (len as i64 * 8 + 20).max(1) as u64;
                let start = (rng.below(span * 2) - span as i64).to_string();
                let end = (rng.below(span * 2) - span as i64).to_string();
                let unit = ["BIT", "BYTE"][rng.below(2) as usize];
                let bit = rng.below(2).to_string();
                p.same(&["BITCOUNT", "r", &start, &end, unit]);
                p.same(&["BITPOS", "r", &bit, &start, &end, unit]);
                p.same(&["BITPOS", "r", &bit, &start]);
            }
            let mut args: Vec<String> = vec!["BITFIELD".into(), format!("bf{round}")];
            for _ in 0..8 {
                let signed = rng.below(2) == 0;
                let bits = if signed {
                    1 + rng.below(64)
                } else {
                    1 + rng.below(63)
                };
                let ty = format!("{}{bits}", if signed { "i" } else { "u" });
                let offset = rng.below(200).to_string();
                let value = match rng.below(3) {
                    0 => (rng.below(512) - 256).to_string(),
                    1 => (rng.next() as i64).to_string(),
                    _ => rng.below(1 << 20).to_string(),
                };
                match rng.below(4) {
                    0 => args.extend(["GET".into(), ty, offset]),
                    1 => args.extend(["SET".into(), ty, offset, value]),
                    2 => args.extend(["INCRBY".into(), ty, offset, value]),
                    _ => args.extend([
                        "OVERFLOW".into(),
                        ["WRAP", "SAT", "FAIL"][rng.below(3) as usize].into(),
                    ]),
                }
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            p.same(&refs);
            p.same(&["GET", &args[1]]);
        }
    });
}

/// SETBIT's offset limit follows `proto-max-bulk-len`, as Redis 7.0's
/// does.
#[test]
fn offsets_are_bounded_by_proto_max_bulk_len() {
    differential(|p| {
        p.script(
            r##"
            CONFIG SET proto-max-bulk-len 1mb
            SETBIT k 8388607 1
            STRLEN k
            SETBIT k 8388608 1
            GETBIT k 8388608
            BITFIELD k SET u8 8388600 1
            BITFIELD k SET u8 8388608 1
            BITFIELD k GET u8 "#1048576"
            CONFIG SET proto-max-bulk-len 512mb
            "##,
        );
    });
}

/// BITFIELD's key flags depend on its operations, as Redis's key finder
/// decides them.
#[test]
fn bitfield_key_flags_match_redis() {
    differential(|p| {
        p.script(
            r##"
            COMMAND GETKEYSANDFLAGS BITFIELD k GET u8 0
            COMMAND GETKEYSANDFLAGS BITFIELD k OVERFLOW SAT GET u8 0
            COMMAND GETKEYSANDFLAGS BITFIELD k GET u8 0 SET u8 0 1
            COMMAND GETKEYSANDFLAGS BITFIELD k INCRBY u8 0 1
            COMMAND GETKEYSANDFLAGS BITFIELD k GET u8
            COMMAND GETKEYSANDFLAGS BITFIELD k
            COMMAND GETKEYSANDFLAGS BITFIELD_RO k GET u8 0
            COMMAND GETKEYS BITOP AND d a b c
            COMMAND GETKEYSANDFLAGS PFMERGE d a b
            COMMAND GETKEYSANDFLAGS PFCOUNT a b
            COMMAND GETKEYSANDFLAGS PFDEBUG GETREG a
            "##,
        );
    });
}
