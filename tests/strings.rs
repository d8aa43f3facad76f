//! String and number commands, compared with Redis byte for byte over RESP2
//! and RESP3.

mod common;

use common::differential;

#[test]
fn set_get_and_options() {
    differential(|p| {
        p.script(
            r#"
            SET k v
            GET k
            SET k v2 NX
            SET k v3 XX
            GET k
            SET k v4 GET
            SET nokey v GET
            SET k v NX XX
            SET k v XX NX
            SET k v EX 10 PX 100
            SET k v EX 10 KEEPTTL
            SET k v KEEPTTL EX 10
            SET k v EX 10 EX 20
            SET k v EX
            SET k v EX 0
            SET k v EX -1
            SET k v EX abc
            SET k v PX 9223372036854775807
            SET k v EX 9223372036854775807
            SET k v EXAT 1
            SET k v PXAT 0
            SET k v FOO
            SET k v nx get
            SET k 12345
            OBJECT ENCODING k
            SET k 0123
            OBJECT ENCODING k
            SET k "a string of forty-five characters exactly!!!"
            OBJECT ENCODING k
            SET k "a string of forty-four characters exactly!!"
            OBJECT ENCODING k
            TTL k
            SET k v EX 100
            TTL k
            SET k v2 KEEPTTL
            TTL k
            SET k v3
            TTL k
            HSET h f v
            SET h v GET
            GET h
            SETNX k x
            SETNX fresh x
            SETEX k 0 v
            SETEX k abc v
            SETEX k 100 v
            TTL k
            PSETEX k -5 v
            PSETEX k 100000 v
            GETSET k new
            GETSET missing new
            GETSET h x
            GETDEL k
            GETDEL k
            GETDEL h
            "#,
        );
    });
}

#[test]
fn getex_mget_mset() {
    differential(|p| {
        p.script(
            r#"
            SET k v
            GETEX k
            GETEX k EX 100
            TTL k
            GETEX k PERSIST
            TTL k
            GETEX k PX 100000
            GETEX k EX 1 PX 1
            GETEX k PERSIST EX 1
            GETEX k KEEPTTL
            GETEX k NX
            GETEX k EX 0
            GETEX nokey EX 0
            GETEX k EXAT 1
            EXISTS k
            HSET h f v
            GETEX h
            MSET a 1 b 2 c 3
            MGET a b c h nokey
            MSET a 1 b
            MSETNX a 9 z 9
            MSETNX y 9 z 9
            MGET y z
            "#,
        );
    });
}

#[test]
fn append_strlen_ranges() {
    differential(|p| {
        p.script(
            r#"
            APPEND k 123
            OBJECT ENCODING k
            APPEND k 45
            OBJECT ENCODING k
            GET k
            STRLEN k
            STRLEN nokey
            SET n 12345
            STRLEN n
            GETRANGE n 1 2
            SET s "Hello World"
            GETRANGE s 0 4
            GETRANGE s -5 -1
            GETRANGE s -1 -5
            GETRANGE s 5 100
            GETRANGE s 100 200
            GETRANGE s -100 -90
            GETRANGE s 0 -100
            GETRANGE nokey 0 1
            GETRANGE s a 1
            SUBSTR s 0 2
            SETRANGE s 6 Redis
            GET s
            SETRANGE s -1 x
            SETRANGE s 20 x
            GET s
            SETRANGE new 3 abc
            GET new
            OBJECT ENCODING new
            SETRANGE empty 5 ""
            EXISTS empty
            SETRANGE s 0 ""
            SETRANGE s 536870912 x
            SETRANGE s 536870911 x
            APPEND h x
            HSET h f v
            APPEND h x
            SETRANGE h 0 x
            GETRANGE h 0 1
            STRLEN h
            "#,
        );
    });
}

#[test]
fn counters() {
    differential(|p| {
        p.script(
            r#"
            INCR c
            INCR c
            INCRBY c 10
            INCRBY c -20
            DECR c
            DECRBY c 5
            DECRBY c -9223372036854775808
            INCRBY c abc
            INCRBY c 1.5
            SET c 9223372036854775807
            INCR c
            SET c -9223372036854775808
            DECR c
            SET c " 1"
            INCR c
            SET c 1abc
            INCR c
            SET c 007
            INCR c
            SET c 10
            EXPIRE c 100
            INCR c
            TTL c
            OBJECT ENCODING c
            HSET h f v
            INCR h
            INCRBYFLOAT f 10.5
            INCRBYFLOAT f 0.1
            INCRBYFLOAT f -5e3
            INCRBYFLOAT f 1.23
            OBJECT ENCODING f
            SET f 3
            INCRBYFLOAT f 0
            OBJECT ENCODING f
            INCRBYFLOAT f abc
            INCRBYFLOAT f inf
            INCRBYFLOAT f " 1"
            SET f 1e4932
            INCRBYFLOAT f 1e4932
            SET f abc
            INCRBYFLOAT f 1
            INCRBYFLOAT h 1
            INCRBYFLOAT g 0.0000000000000000001
            INCRBYFLOAT g -0.0000000000000000001
            "#,
        );
    });
}

#[test]
fn lcs() {
    differential(|p| {
        p.script(
            r#"
            MSET a ohmytext b mynewtext
            LCS a b
            LCS a b LEN
            LCS a b IDX
            LCS a b IDX MINMATCHLEN 4
            LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN
            LCS a b IDX WITHMATCHLEN
            LCS a b LEN IDX
            LCS a b MINMATCHLEN
            LCS a b MINMATCHLEN x
            LCS a b FOO
            LCS a nokey
            LCS nokey1 nokey2 IDX
            HSET h f v
            LCS a h
            MSET x "ATCGGTACCA" y "TTCGGACAGTA"
            LCS x y IDX WITHMATCHLEN
            LCS x y
            "#,
        );
    });
}

#[test]
fn wrong_arity_and_binary_values() {
    differential(|p| {
        p.script(
            r#"
            GET
            SET k
            SETNX k
            SETEX k 10
            MGET
            MSET k
            INCRBY k
            LCS a
            SET bin "a\x00b\r\nc"
            GET bin
            STRLEN bin
            GETRANGE bin 1 3
            "#,
        );
    });
}
