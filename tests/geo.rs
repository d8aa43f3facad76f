//! Geo commands: differential tests against redis-server 7.0 over RESP2
//! and RESP3 (every command, option and error, both sorted-set encodings),
//! searches over seeded random points everywhere on the map, stores into
//! keys of other shards and key positions (keyspace events: tests/keyevents.rs).

mod common;

use common::rng::Rng;
use common::{both_zset_encodings as both_encodings, differential};

const SICILY: &str = "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 13.583333 37.316667 Agrigento 12.758489 38.788135 edge1 17.241510 38.788135 edge2";

/// Runs `script` after adding the Sicily points, in both encodings, over
/// both protocols.
fn on_sicily(script: &str) {
    differential(|p| both_encodings(p, &format!("{SICILY}\n{script}")));
}

#[test]
fn geoadd_and_the_point_reads_match_redis() {
    differential(|p| {
        both_encodings(
            p,
            r#"
            GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
            GEOADD Sicily 13.361389 38.115556 Palermo
            GEOADD Sicily CH 13.361390 38.115556 Palermo 1 1 new
            GEOADD Sicily NX 0 0 Palermo 2 2 other
            GEOADD Sicily XX 0 0 Palermo 3 3 absent
            GEOADD Sicily XX CH 0.5 0.5 Palermo
            GEOADD Sicily CH XX 0.5 0.5 Palermo
            GEOADD Sicily NX CH 4 4 x4
            GEOADD nokey XX 1 1 a
            EXISTS nokey
            GEOADD Sicily NX XX 1 1 a
            GEOADD Sicily 1 1
            GEOADD Sicily 1 1 a 2
            GEOADD Sicily CH 1 1
            GEOADD Sicily GT 1 1 a
            GEOADD Sicily INCR 1 1 a
            GEOADD Sicily abc 1 a
            GEOADD Sicily 1 abc a
            GEOADD Sicily "" 1 a
            GEOADD Sicily 1 nan a
            GEOADD Sicily 181 1 a
            GEOADD Sicily -180.0001 1 a
            GEOADD Sicily 1 85.06 a
            GEOADD Sicily 1 -85.06 a
            GEOADD Sicily 1e400 1 a
            GEOADD Sicily inf 1 a
            GEOADD Sicily 1 1 ok 500 1 bad
            ZCARD Sicily
            GEOADD Sicily 180 85.05112878 ne -180 -85.05112878 sw 0 0 zero -0 -0 negzero
            GEOADD Sicily 0x10 1 hex " 1" 1 space
            GEOADD Sicily 179.99999999 0.00000001 far 1.5e1 3.75e1 sci
            ZRANGE Sicily 0 -1 WITHSCORES
            OBJECT ENCODING Sicily
            GEOPOS Sicily Palermo Catania ne sw zero negzero far sci nosuch
            GEOPOS Sicily
            GEOPOS nokey a b
            GEOHASH Sicily Palermo Catania ne sw zero far sci nosuch
            GEOHASH Sicily
            GEOHASH nokey a
            GEODIST Sicily Palermo Catania
            GEODIST Sicily Palermo Catania m
            GEODIST Sicily Palermo Catania KM
            GEODIST Sicily Palermo Catania mi
            GEODIST Sicily Palermo Catania Ft
            GEODIST Sicily Palermo Catania parsec
            GEODIST Sicily Palermo Catania km extra
            GEODIST Sicily Palermo Palermo
            GEODIST Sicily ne sw
            GEODIST Sicily zero far km
            GEODIST Sicily Palermo nosuch
            GEODIST Sicily nosuch Palermo
            GEODIST nokey a b
            GEODIST nokey a b parsec
            ZADD Sicily -1 neg 1e20 huge 0.5 half 4503599627370495 top 4503599627370496 past inf pinf -inf ninf
            GEOPOS Sicily neg huge half top past pinf ninf
            GEOHASH Sicily neg huge half top past pinf ninf
            GEODIST Sicily neg huge
            GEODIST Sicily pinf ninf km
            SET str x
            GEOADD str 1 1 a
            GEOADD str 1 1000 a
            GEOPOS str a
            GEOHASH str a
            GEODIST str a b
            GEODIST str a b parsec
            "#,
        );
    });
}

#[test]
fn searches_match_redis() {
    on_sicily(
        r#"
            GEORADIUS Sicily 15 37 200 km
            GEORADIUS Sicily 15 37 200 km WITHDIST
            GEORADIUS Sicily 15 37 200 km WITHCOORD
            GEORADIUS Sicily 15 37 200 km WITHHASH
            GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH
            GEORADIUS Sicily 15 37 200 km withhash withcoord withdist ASC
            GEORADIUS Sicily 15 37 200 km DESC
            GEORADIUS Sicily 15 37 200 km ASC DESC
            GEORADIUS Sicily 15 37 200 km COUNT 1
            GEORADIUS Sicily 15 37 200 km COUNT 2 DESC
            GEORADIUS Sicily 15 37 200 km COUNT 10
            GEORADIUS Sicily 15 37 200 km COUNT 1 ANY
            GEORADIUS Sicily 15 37 200 km COUNT 2 ANY ASC
            GEORADIUS Sicily 15 37 200 km ANY COUNT 3 DESC WITHDIST
            GEORADIUS Sicily 15 37 200 m
            GEORADIUS Sicily 15 37 200 mi WITHDIST
            GEORADIUS Sicily 15 37 200000 ft WITHDIST
            GEORADIUS Sicily 15 37 0 km
            GEORADIUS Sicily 13.361389 38.115556 0 km
            GEORADIUS Sicily 15 37 inf km
            GEORADIUS Sicily 15 37 20000 km WITHDIST
            GEORADIUS Sicily 15 37 1e10 km WITHDIST
            GEORADIUS Sicily -165 -37 20000 km WITHDIST
            GEORADIUS_RO Sicily 15 37 200 km WITHDIST WITHCOORD ASC COUNT 2
            GEORADIUSBYMEMBER Sicily Agrigento 100 km
            GEORADIUSBYMEMBER Sicily Agrigento 100 km WITHDIST WITHCOORD WITHHASH DESC
            GEORADIUSBYMEMBER Sicily Palermo 0 km WITHDIST
            GEORADIUSBYMEMBER_RO Sicily Agrigento 200 km COUNT 2 WITHDIST
            GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHDIST WITHCOORD WITHHASH
            GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km DESC
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHDIST
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 100 400 km ASC WITHDIST
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 100 km ASC WITHDIST
            GEOSEARCH Sicily FROMMEMBER Catania BYBOX 1 1 m WITHCOORD
            GEOSEARCH Sicily FROMMEMBER Catania BYBOX 0 0 m WITHCOORD
            GEOSEARCH Sicily FROMMEMBER Catania BYBOX 500 500 mi COUNT 3
            GEOSEARCH Sicily FROMMEMBER Catania BYBOX 500 500 mi COUNT 3 ANY
            GEOSEARCH Sicily FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 10 km
            GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 10 km BYRADIUS 1000 km
            GEOSEARCH Sicily FROMLONLAT 1 1 FROMLONLAT 15 37 BYRADIUS 200 km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX inf inf km
            GEOSEARCH Sicily FROMLONLAT 15 -37 BYBOX 20000 20000 km WITHDIST
            geosearch Sicily frommember Palermo byradius 200 KM count 2 desc withdist
            "#,
    );
}

#[test]
fn search_errors_match_redis() {
    on_sicily(
        r#"
            GEORADIUS Sicily 15 37 200 km FOO
            GEORADIUS Sicily 15 37 200 km COUNT
            GEORADIUS Sicily 15 37 200 km COUNT 0
            GEORADIUS Sicily 15 37 200 km COUNT -1
            GEORADIUS Sicily 15 37 200 km COUNT x
            GEORADIUS Sicily 15 37 200 km ANY
            GEORADIUS Sicily 15 37 200 km STORE
            GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST
            GEORADIUS Sicily 15 37 200 km STOREDIST dst WITHCOORD
            GEORADIUS Sicily 15 37 200 km WITHHASH STORE dst
            GEORADIUS Sicily 15 37 -1 km
            GEORADIUS Sicily 15 37 x km
            GEORADIUS Sicily 15 37 nan km
            GEORADIUS Sicily 15 37 200 parsec
            GEORADIUS Sicily 15 37 x parsec
            GEORADIUS Sicily 200 37 200 km
            GEORADIUS Sicily 15 90 x parsec
            GEORADIUS Sicily x 37 200 km
            GEORADIUS Sicily 15 37 200 km FROMMEMBER Palermo
            GEORADIUS Sicily 15 37 200 km BYRADIUS 1 km
            GEORADIUS nokey 15 37 200 km
            GEORADIUS nokey 15 37 200 parsec
            GEORADIUS nokey 1500 37 200 km
            GEORADIUS nokey 15 37 200 km COUNT 0
            GEORADIUS nokey 15 37 200 km WITHDIST
            GEORADIUS_RO Sicily 15 37 200 km STORE dst
            GEORADIUS_RO Sicily 15 37 200 km STOREDIST dst
            GEORADIUSBYMEMBER Sicily nosuch 100 km
            GEORADIUSBYMEMBER Sicily nosuch x parsec
            GEORADIUSBYMEMBER Sicily Palermo x km
            GEORADIUSBYMEMBER Sicily Palermo 10 parsec
            GEORADIUSBYMEMBER Sicily Palermo 10 km FOO
            GEORADIUSBYMEMBER nokey nosuch x parsec
            GEORADIUSBYMEMBER nokey nosuch x parsec FOO
            GEORADIUSBYMEMBER nokey nosuch x parsec ANY
            GEORADIUSBYMEMBER nokey nosuch 1 km STORE dst WITHDIST
            GEORADIUSBYMEMBER_RO Sicily Palermo 10 km STORE dst
            GEOSEARCH Sicily
            GEOSEARCH Sicily FROMLONLAT 15 37
            GEOSEARCH Sicily BYRADIUS 10 km
            geosearch Sicily BYRADIUS 10 km
            GeoSearch Sicily FROMMEMBER Palermo
            GEOSEARCH Sicily FROMMEMBER nosuch BYRADIUS 10 km
            GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 10 km
            GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 10 km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km BYBOX 1 1 km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 10 km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 x km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x x km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 -1 parsec
            GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 parsec
            GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1
            GEOSEARCH Sicily FROMLONLAT 15 BYRADIUS 1 km
            GEOSEARCH Sicily FROMLONLAT 15 100 BYRADIUS 1 km
            GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km STORE dst
            GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km STOREDIST
            GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km ANY
            GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km COUNT 0
            GEOSEARCH Sicily FROMMEMBER
            GEOSEARCH nokey FROMMEMBER nosuch BYRADIUS 1 km
            GEOSEARCH nokey FROMMEMBER nosuch BYRADIUS 1 parsec
            GEOSEARCH nokey FROMMEMBER nosuch
            GEOSEARCH nokey BYRADIUS 1 km
            GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 1 km WITHDIST
            GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 1 km STORE x
            GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 1 km STOREDIST x
            GEOSEARCHSTORE dst Sicily BYRADIUS 1 km
            GEOSEARCHSTORE dst nokey FROMMEMBER x BYRADIUS 1 km WITHHASH
            SET str x
            GEORADIUS str 15 37 200 km
            GEORADIUS str 1500 37 200 km
            GEORADIUSBYMEMBER str a 1 km
            GEORADIUS_RO str 15 37 200 km
            GEORADIUSBYMEMBER_RO str a x parsec
            GEOSEARCH str FROMMEMBER a BYRADIUS 1 km
            GEOSEARCH str FOO
            GEOSEARCHSTORE dst str FROMMEMBER a BYRADIUS 1 km
            GEOSEARCHSTORE str Sicily FROMMEMBER Palermo BYRADIUS 1 km
            TYPE str
            GEORADIUS Sicily 15 37 200 km STORE str
            TYPE str
            "#,
    );
}

#[test]
fn stores_match_redis() {
    on_sicily(
        r#"
            GEORADIUS Sicily 15 37 200 km STORE d1
            ZRANGE d1 0 -1 WITHSCORES
            OBJECT ENCODING d1
            GEORADIUS Sicily 15 37 200 km STOREDIST d2
            ZRANGE d2 0 -1 WITHSCORES
            GEORADIUS Sicily 15 37 200 mi STOREDIST d2 COUNT 1 DESC
            ZRANGE d2 0 -1 WITHSCORES
            GEORADIUS Sicily 15 37 200 km STORE d3 STOREDIST d4
            EXISTS d3 d4
            ZRANGE d4 0 -1 WITHSCORES
            GEORADIUS Sicily 15 37 200 km STOREDIST d5 STORE d6
            EXISTS d5 d6
            GEORADIUS Sicily 15 37 200 km STORE d7 STORE d8
            EXISTS d7 d8
            GEORADIUSBYMEMBER Sicily Palermo 200 km STORE d9 COUNT 2 ANY
            ZRANGE d9 0 -1 WITHSCORES
            GEORADIUSBYMEMBER Sicily Palermo 200 km STOREDIST d9
            ZRANGE d9 0 -1 WITHSCORES
            GEOSEARCHSTORE d10 Sicily FROMLONLAT 15 37 BYBOX 400 400 km
            ZRANGE d10 0 -1 WITHSCORES
            GEOSEARCHSTORE d10 Sicily FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST COUNT 2
            ZRANGE d10 0 -1 WITHSCORES
            GEOSEARCHSTORE d10 Sicily FROMLONLAT 15 37 BYRADIUS 1 m
            EXISTS d10
            GEOSEARCHSTORE d11 nokey FROMLONLAT 15 37 BYRADIUS 1 m
            SET d12 x
            EXPIRE d12 100
            GEOSEARCHSTORE d12 Sicily FROMMEMBER Palermo BYRADIUS 500 km
            TTL d12
            TYPE d12
            GEORADIUS nokey 15 37 200 km STORE d12
            EXISTS d12
            GEORADIUS Sicily 0 0 1 km STORE d1
            EXISTS d1
            GEOSEARCHSTORE Sicily Sicily FROMMEMBER Palermo BYRADIUS 100 km
            ZRANGE Sicily 0 -1 WITHSCORES
            "#,
    );
}

/// Random points over the whole map (poles and the antimeridian
/// included), searched with every shape, unit and order from random
/// centres and members.
#[test]
fn random_searches_match_redis() {
    differential(|p| {
        for entries in ["128", "0"] {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            p.same(&["FLUSHALL"]);
            p.same(&["CONFIG", "SET", "zset-max-listpack-entries", entries]);
            let coord = |rng: &mut Rng, span: f64| (rng.below(2_000_001) as f64 / 1e6 - 1.0) * span;
            let mut add = vec!["GEOADD".to_string(), "pts".to_string()];
            for i in 0..400 {
                // Half everywhere, half clustered, some on the same spot.
                let (lon, lat) = match i % 4 {
                    0 | 1 => (coord(&mut rng, 180.0), coord(&mut rng, 85.0)),
                    2 => (10.0 + coord(&mut rng, 0.5), 45.0 + coord(&mut rng, 0.5)),
                    _ => (179.9 + coord(&mut rng, 0.09), -84.9 + coord(&mut rng, 0.1)),
                };
                add.extend([format!("{lon}"), format!("{lat}"), format!("m{i}")]);
            }
            add.extend(["1", "1", "dup1", "1", "1", "dup2", "1", "1", "dup0"].map(String::from));
            let refs: Vec<&str> = add.iter().map(String::as_str).collect();
            p.same(&refs);
            let units = ["m", "km", "mi", "ft"];
            for _ in 0..300 {
                let unit = units[rng.below(4) as usize];
                let scale = match unit {
                    "m" => 1000.0,
                    "ft" => 3000.0,
                    _ => 1.0,
                };
                let size = format!("{}", (rng.below(5000) as f64 + 0.5) * scale);
                let size2 = format!("{}", (rng.below(3000) as f64 + 0.25) * scale);
                let mut cmd: Vec<String> = vec!["GEOSEARCH".into(), "pts".into()];
                if rng.below(3) == 0 {
                    cmd.extend(["FROMMEMBER".into(), format!("m{}", rng.below(400))]);
                } else {
                    let (lon, lat) = if rng.below(2) == 0 {
                        (coord(&mut rng, 180.0), coord(&mut rng, 85.0))
                    } else {
                        (10.0 + coord(&mut rng, 1.0), 45.0 + coord(&mut rng, 1.0))
                    };
                    cmd.extend(["FROMLONLAT".into(), format!("{lon}"), format!("{lat}")]);
                }
                if rng.below(2) == 0 {
                    cmd.extend(["BYRADIUS".into(), size, unit.into()]);
                } else {
                    cmd.extend(["BYBOX".into(), size, size2, unit.into()]);
                }
                match rng.below(4) {
                    0 => cmd.push("ASC".into()),
                    1 => cmd.push("DESC".into()),
                    _ => {}
                }
                if rng.below(3) == 0 {
                    cmd.extend(["COUNT".into(), format!("{}", 1 + rng.below(20))]);
                    if rng.below(3) == 0 {
                        cmd.push("ANY".into());
                    }
                }
                cmd.extend(["WITHDIST".into(), "WITHCOORD".into(), "WITHHASH".into()]);
                let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
                p.same(&refs);
            }
        }
        p.same(&["CONFIG", "SET", "zset-max-listpack-entries", "128"]);
    });
}

#[test]
fn key_positions_and_stores_across_shards_match_redis() {
    differential(|p| {
        p.script(
            r#"
            COMMAND GETKEYS GEORADIUS src 0 0 1 km STORE dst
            COMMAND GETKEYS GEORADIUS src 0 0 1 km STOREDIST dst
            COMMAND GETKEYS GEORADIUS src 0 0 1 km STORE a STORE b
            COMMAND GETKEYS GEORADIUS src 0 0 1 km STORE a STOREDIST b
            COMMAND GETKEYS GEORADIUS src 0 0 1 km
            COMMAND GETKEYS GEORADIUSBYMEMBER src m 1 km STORE dst
            COMMAND GETKEYS GEORADIUS_RO src 0 0 1 km
            COMMAND GETKEYS GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 km
            COMMAND GETKEYS GEOSEARCH src FROMMEMBER m BYRADIUS 1 km
            COMMAND GETKEYS GEOADD k 1 1 m
            COMMAND GETKEYSANDFLAGS GEORADIUS src 0 0 1 km STORE dst
            COMMAND GETKEYSANDFLAGS GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 km
            GEOADD k1 1 1 a 1.1 1.1 b 1.2 1.2 c
            GEORADIUS k1 1 1 100 km STORE k2
            GEORADIUS k1 1 1 100 km STORE k3 STORE k4
            GEORADIUS k1 1 1 100 km STORE k5 STOREDIST k6
            GEORADIUSBYMEMBER k1 a 100 km STORE k7 STORE k8 STORE k9
            GEOSEARCHSTORE k10 k1 FROMMEMBER a BYRADIUS 100 km
            GEOSEARCHSTORE k11 k10 FROMMEMBER b BYRADIUS 10 km STOREDIST
            EXISTS k1 k2 k3 k4 k5 k6 k7 k8 k9 k10 k11
            DBSIZE
            ZRANGE k11 0 -1 WITHSCORES
            MULTI
            GEOADD k12 2 2 x
            GEORADIUS k12 2 2 1 km STORE k13
            GEOSEARCH k13 FROMLONLAT 2 2 BYRADIUS 1 km WITHDIST
            EXEC
            GEOADD
            GEOADD k
            GEOADD k 1 1
            GEOPOS
            GEODIST k a
            GEOHASH
            GEORADIUS k 1 1 1
            GEORADIUSBYMEMBER k a 1
            GEOSEARCH k
            GEOSEARCHSTORE k k2
            "#,
        );
    });
}

/// Equal distances: a full sort keeps the order found, COUNT below the
/// number found orders ties as Redis's partial quicksort leaves them.
#[test]
fn ties_order_like_redis() {
    differential(|p| {
        for entries in ["128", "0"] {
            p.same(&["FLUSHALL"]);
            p.same(&["CONFIG", "SET", "zset-max-listpack-entries", entries]);
            let mut add = vec!["GEOADD".to_string(), "t".to_string()];
            for i in 0..90 {
                let lon = ["1", "1.001", "0.999", "1.002"][i % 4];
                add.extend([lon.to_string(), "1".to_string(), format!("m{i}")]);
            }
            let refs: Vec<&str> = add.iter().map(String::as_str).collect();
            p.same(&refs);
            for count in [1, 2, 3, 5, 6, 7, 8, 20, 41, 45, 61, 89, 90, 100] {
                let count = count.to_string();
                for order in ["ASC", "DESC"] {
                    p.same(&[
                        "GEORADIUS",
                        "t",
                        "1",
                        "1",
                        "100",
                        "km",
                        "COUNT",
                        &count,
                        order,
                    ]);
                }
                p.same(&[
                    "GEOSEARCH",
                    "t",
                    "FROMLONLAT",
                    "1",
                    "1",
                    "BYBOX",
                    "100",
                    "100",
                    "km",
                    "COUNT",
                    &count,
                ]);
            }
            p.same(&["GEORADIUS", "t", "1", "1", "100", "km", "ASC"]);
            p.same(&["GEORADIUS", "t", "1", "1", "100", "km", "DESC"]);
        }
        p.same(&["CONFIG", "SET", "zset-max-listpack-entries", "128"]);
    });
}

/// Each read of a source key counts one keyspace hit or miss, as Redis's
/// read lookup does (GEOADD and the destinations of stores count none).
#[test]
fn reads_count_keyspace_hits_and_misses_like_redis() {
    differential(|p| {
        p.script(
            r#"
            GEOADD g 1 1 a 2 2 b
            SET s x
            CONFIG RESETSTAT
            GEOPOS g a
            GEOPOS nokey a
            GEODIST g a b
            GEODIST nokey a b
            GEOHASH g a
            GEOHASH s a
            GEORADIUS g 1 1 500 km
            GEORADIUS nokey 1 1 5 km
            GEOSEARCH g FROMMEMBER a BYRADIUS 1 km
            GEOSEARCHSTORE d g FROMMEMBER a BYRADIUS 1000 km
            GEORADIUSBYMEMBER g a 1 km STORE d2
            GEOADD g 3 3 c
            "#,
        );
        let stats = |p: &mut common::Pair| {
            let (ours, theirs) = p.both(&["INFO", "stats"]);
            let pick = |raw: Vec<u8>| {
                String::from_utf8_lossy(&raw)
                    .lines()
                    .filter(|l| l.starts_with("keyspace_hits") || l.starts_with("keyspace_misses"))
                    .map(String::from)
                    .collect::<Vec<_>>()
            };
            (pick(ours), pick(theirs))
        };
        let (ours, theirs) = stats(p);
        assert_eq!(ours, theirs);
        assert_eq!(ours.len(), 2);
    });
}
