//! List commands, compared with Redis byte for byte over RESP2 and RESP3.

mod common;

use common::differential;

#[test]
fn push_pop_and_counts() {
    differential(|p| {
        p.script(
            r#"
            RPUSH l a b c
            LPUSH l z y
            LRANGE l 0 -1
            LPUSHX nol a
            RPUSHX nol a
            LPUSHX l x1 x2
            RPUSHX l w
            LLEN l
            LLEN nol
            LPOP l
            RPOP l
            LPOP l 2
            RPOP l 2
            LPOP l 0
            LPOP l -1
            LPOP l abc
            LPOP nol
            LPOP nol 2
            LPOP nol 0
            RPOP l 100
            EXISTS l
            LPOP l 1 2
            OBJECT ENCODING l
            SET s v
            LPUSH s a
            LPOP s
            LLEN s
            RPUSH
            LPUSH l
            "#,
        );
    });
}

#[test]
fn ranges_index_set_insert() {
    differential(|p| {
        p.script(
            r#"
            RPUSH l 0 1 2 3 4 5 6 7 8 9
            LRANGE l 0 2
            LRANGE l -3 -1
            LRANGE l -100 100
            LRANGE l 5 2
            LRANGE l 20 30
            LRANGE l 0 a
            LRANGE nol 0 -1
            LINDEX l 0
            LINDEX l -1
            LINDEX l 10
            LINDEX l x
            LINDEX nol x
            LSET l 0 zero
            LSET l -1 nine
            LSET l 10 x
            LSET l x y
            LSET nol 0 x
            LINSERT l BEFORE 5 four-and-a-half
            LINSERT l AFTER 5 five-and-a-half
            LINSERT l AFTER 55 x
            LINSERT l MIDDLE 5 x
            LINSERT nol BEFORE 5 x
            LRANGE l 0 -1
            SET s v
            LRANGE s 0 1
            LINDEX s 0
            LSET s 0 x
            LINSERT s BEFORE a b
            "#,
        );
    });
}

#[test]
fn rem_trim_pos() {
    differential(|p| {
        p.script(
            r#"
            RPUSH l a b a c a b a
            LREM l 2 a
            LRANGE l 0 -1
            LREM l -1 b
            LRANGE l 0 -1
            LREM l 0 a
            LRANGE l 0 -1
            LREM l 0 zzz
            LREM l x a
            LREM nol 1 a
            RPUSH t 0 1 2 3 4 5 6 7 8 9
            LTRIM t 2 -3
            LRANGE t 0 -1
            LTRIM t -100 100
            LTRIM t 5 1
            EXISTS t
            LTRIM nol 0 1
            LTRIM t a 1
            RPUSH p a b c a b c a
            LPOS p a
            LPOS p a RANK 2
            LPOS p a RANK -1
            LPOS p a RANK -2 COUNT 2
            LPOS p a COUNT 0
            LPOS p a COUNT 2 MAXLEN 4
            LPOS p zz
            LPOS p zz COUNT 1
            LPOS p a RANK 0
            LPOS p a COUNT -1
            LPOS p a MAXLEN -1
            LPOS p a RANK -9223372036854775808
            LPOS p a RANK x
            LPOS p a COUNT x
            LPOS p a FOO 1
            LPOS p a RANK
            LPOS nol a
            LPOS nol a COUNT 1
            "#,
        );
    });
}

#[test]
fn moves_and_lmpop() {
    differential(|p| {
        p.script(
            r#"
            RPUSH a 1 2 3
            LMOVE a b LEFT RIGHT
            LMOVE a b RIGHT LEFT
            LRANGE b 0 -1
            LMOVE a a LEFT RIGHT
            LRANGE a 0 -1
            LMOVE a b UP LEFT
            LMOVE nol b LEFT LEFT
            RPOPLPUSH a b
            RPOPLPUSH a b
            EXISTS a
            SET s v
            LMOVE b s LEFT LEFT
            LRANGE b 0 -1
            RPOPLPUSH s b
            RPUSH x 1 2 3 4 5
            LMPOP 2 nol x LEFT
            LMPOP 2 nol x RIGHT COUNT 2
            LMPOP 1 x LEFT COUNT 10
            LMPOP 1 x LEFT
            LMPOP 0 x LEFT
            LMPOP -1 x LEFT
            LMPOP 1 x LEFT COUNT 0
            LMPOP 1 x LEFT COUNT -1
            LMPOP 1 x MIDDLE
            LMPOP 3 x LEFT
            LMPOP 1 x LEFT COUNT 1 COUNT 1
            LMPOP 2 s x LEFT
            LMPOP 9223372036854775807 x LEFT
            "#,
        );
    });
}

#[test]
fn long_lists_across_many_nodes() {
    differential(|p| {
        p.same(&["CONFIG", "SET", "list-max-listpack-size", "4"]);
        let mut state = 42u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for i in 0..300 {
            let v = (i % 17).to_string();
            p.same(&["RPUSH", "big", &v]);
        }
        for _ in 0..300 {
            let v = next(17).to_string();
            let idx = (next(400) as i64 - 200).to_string();
            match next(6) {
                0 => p.same(&["LINSERT", "big", "BEFORE", &v, "ins"]),
                1 => p.same(&["LREM", "big", &(next(5) as i64 - 2).to_string(), &v]),
                2 => p.same(&["LSET", "big", &idx, "set"]),
                3 => p.same(&["LINDEX", "big", &idx]),
                4 => p.same(&["LPUSH", "big", &v]),
                _ => p.same(&["LRANGE", "big", &idx, &(next(300)).to_string()]),
            };
            p.same(&["LLEN", "big"]);
        }
        p.same(&["LRANGE", "big", "0", "-1"]);
        p.same(&["LTRIM", "big", "50", "-50"]);
        p.same(&["LRANGE", "big", "0", "-1"]);
        p.same(&["CONFIG", "SET", "list-max-listpack-size", "-2"]);
    });
}
