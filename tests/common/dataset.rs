//! A dataset of every type and encoding both servers hold, and a
//! comparable listing of a server's whole contents.

use super::RawClient;
use std::collections::BTreeMap;

/// The elements of a flat RESP2 array of bulk strings (or one bulk).
pub fn bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    let line = |at: &mut usize| -> Vec<u8> {
        let end = reply[*at..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("line end")
            + *at;
        let l = reply[*at..end].to_vec();
        *at = end + 2;
        l
    };
    let head = line(&mut at);
    let count = match head[0] {
        b'*' => std::str::from_utf8(&head[1..])
            .expect("count")
            .parse::<i64>()
            .expect("count"),
        b'$' => {
            at = 0;
            1
        }
        _ => panic!("not an array: {}", String::from_utf8_lossy(reply)),
    };
    for _ in 0..count.max(0) {
        let h = line(&mut at);
        assert_eq!(
            h[0],
            b'$',
            "expected a bulk in {}",
            String::from_utf8_lossy(reply)
        );
        let n: usize = std::str::from_utf8(&h[1..])
            .expect("len")
            .parse()
            .expect("len");
        out.push(reply[at..at + n].to_vec());
        at += n + 2;
    }
    out
}

/// Every key of databases 0..16 with its type, contents (hash fields
/// sorted) and absolute expiry, in a form two servers can be compared by.
pub fn contents(port: u16) -> BTreeMap<(usize, Vec<u8>), String> {
    let mut c = RawClient::connect(port);
    let mut all = BTreeMap::new();
    for db in 0..16 {
        assert_eq!(c.cmd(&["SELECT", &db.to_string()]), b"+OK\r\n");
        for key in bulks(&c.cmd(&["KEYS", "*"])) {
            let k: &[u8] = &key;
            let kind = c.cmd_bytes(&[b"TYPE", k]);
            let body = match &kind[..] {
                b"+string\r\n" => c.cmd_bytes(&[b"GET", k]),
                b"+list\r\n" => c.cmd_bytes(&[b"LRANGE", k, b"0", b"-1"]),
                b"+hash\r\n" => {
                    let flat = bulks(&c.cmd_bytes(&[b"HGETALL", k]));
                    let mut pairs: Vec<_> = flat.chunks(2).map(|p| p.to_vec()).collect();
                    pairs.sort();
                    format!("{pairs:?}").into_bytes()
                }
                b"+zset\r\n" => c.cmd_bytes(&[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]),
                b"+set\r\n" => {
                    let mut members = bulks(&c.cmd_bytes(&[b"SMEMBERS", k]));
                    members.sort();
                    format!("{members:?}").into_bytes()
                }
                other => panic!("unexpected type {}", String::from_utf8_lossy(other)),
            };
            let expiry = c.cmd_bytes(&[b"PEXPIRETIME", k]);
            all.insert(
                (db, key.clone()),
                format!(
                    "{} {} {}",
                    String::from_utf8_lossy(&kind).trim(),
                    String::from_utf8_lossy(&body),
                    String::from_utf8_lossy(&expiry).trim()
                ),
            );
        }
    }
    all
}

/// Fills a server with every type and encoding both servers hold.
pub fn fill(port: u16) {
    let mut c = RawClient::connect(port);
    let far = "4102444800000"; // 2100-01-01, in ms
    let long_text = "compressible ".repeat(200);
    let mut script: Vec<Vec<Vec<u8>>> = vec![
        vec![b"SET".to_vec(), b"s:int".to_vec(), b"12345".to_vec()],
        vec![b"SET".to_vec(), b"s:neg".to_vec(), b"-9000000000".to_vec()],
        vec![
            b"SET".to_vec(),
            b"s:big".to_vec(),
            b"9223372036854775807".to_vec(),
        ],
        vec![b"SET".to_vec(), b"s:short".to_vec(), b"hello".to_vec()],
        vec![
            b"SET".to_vec(),
            b"s:long".to_vec(),
            long_text.clone().into_bytes(),
        ],
        vec![b"SET".to_vec(), b"s:bin".to_vec(), (0u8..=255).collect()],
        vec![b"SET".to_vec(), b"s:empty".to_vec(), Vec::new()],
        vec![b"SET".to_vec(), b"s:lead0".to_vec(), b"007".to_vec()],
        vec![
            b"SET".to_vec(),
            b"s:ttl".to_vec(),
            b"v".to_vec(),
            b"PXAT".to_vec(),
            far.into(),
        ],
        vec![
            b"RPUSH".to_vec(),
            b"l:small".to_vec(),
            b"a".to_vec(),
            b"1".to_vec(),
            b"-5000".to_vec(),
            Vec::new(),
        ],
        vec![
            b"HSET".to_vec(),
            b"h:small".to_vec(),
            b"f1".to_vec(),
            b"v1".to_vec(),
            b"n".to_vec(),
            b"42".to_vec(),
        ],
        vec![b"SELECT".to_vec(), b"3".to_vec()],
        vec![b"SET".to_vec(), b"db3:key".to_vec(), b"in three".to_vec()],
        vec![
            b"HSET".to_vec(),
            b"h:ttl".to_vec(),
            b"f".to_vec(),
            b"v".to_vec(),
        ],
        vec![b"PEXPIREAT".to_vec(), b"h:ttl".to_vec(), far.into()],
        vec![b"SELECT".to_vec(), b"0".to_vec()],
    ];
    // A list of many nodes, with integers, long and compressible elements.
    let mut big_list = vec![b"RPUSH".to_vec(), b"l:big".to_vec()];
    for i in 0..3000 {
        big_list.push(match i % 3 {
            0 => i.to_string().into_bytes(),
            1 => format!("element-{i}").into_bytes(),
            _ => long_text.as_bytes()[..100 + i % 50].to_vec(),
        });
    }
    script.push(big_list);
    // A hash table: past hash-max-listpack-entries, and one with a long value.
    let mut big_hash = vec![b"HSET".to_vec(), b"h:big".to_vec()];
    for i in 0..700 {
        big_hash.push(format!("field:{i}").into_bytes());
        big_hash.push(format!("{}", i * 7).into_bytes());
    }
    script.push(big_hash);
    script.push(vec![
        b"HSET".to_vec(),
        b"h:longval".to_vec(),
        b"f".to_vec(),
        long_text.into_bytes(),
    ]);
    // Sorted sets: a listpack with awkward scores, a skiplist past
    // zset-max-listpack-entries, one with a long member, one with a TTL.
    let words = |w: &[&str]| w.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
    script.push(words(&[
        "ZADD",
        "z:small",
        "1",
        "a",
        "-inf",
        "b",
        "+inf",
        "c",
        "1.5",
        "d",
        "0.1",
        "e",
        "-7",
        "f",
        "1e300",
        "g",
        "123456789012",
        "h",
    ]));
    let mut big_zset = words(&["ZADD", "z:big"]);
    for i in 0..400 {
        big_zset.push(format!("{}", (i % 97) as f64 / 3.0).into_bytes());
        big_zset.push(format!("member:{i}").into_bytes());
    }
    script.push(big_zset);
    script.push(words(&["ZADD", "z:long", "2", &"m".repeat(100)]));
    script.push(words(&["ZADD", "z:ttl", "1", "x"]));
    script.push(words(&["PEXPIREAT", "z:ttl", far]));
    // Sets: a small intset (16- and 64-bit members), a small set of strings
    // (a listpack in ferrodis, a hash table in Redis 7.0), a set with a TTL,
    // an intset too long for its encoding and a large set of strings.
    script.push(vec![
        b"SADD".to_vec(),
        b"set:ints".to_vec(),
        b"3".to_vec(),
        b"-1".to_vec(),
        b"9223372036854775807".to_vec(),
    ]);
    script.push(vec![
        b"SADD".to_vec(),
        b"set:strs".to_vec(),
        b"a".to_vec(),
        b"1".to_vec(),
        Vec::new(),
        (0u8..=255).collect(),
    ]);
    script.push(vec![b"SADD".to_vec(), b"set:ttl".to_vec(), b"x".to_vec()]);
    script.push(vec![b"PEXPIREAT".to_vec(), b"set:ttl".to_vec(), far.into()]);
    let mut big_ints = vec![b"SADD".to_vec(), b"set:bigints".to_vec()];
    big_ints.extend((0..700).map(|i| (i * 3).to_string().into_bytes()));
    script.push(big_ints);
    let mut big_strs = vec![b"SADD".to_vec(), b"set:big".to_vec()];
    big_strs.extend((0..1000).map(|i| format!("member:{i}").into_bytes()));
    script.push(big_strs);
    for cmd in script {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
        let reply = c.cmd_bytes(&args);
        assert!(
            !reply.starts_with(b"-"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
    }
}
