//! HyperLogLog: differential tests against redis-server 7.0 over RESP2 and
//! RESP3. The values themselves are compared (GET returns the same bytes
//! after the same commands: sparse opcodes, promotion to dense at
//! `hll-sparse-max-bytes`, the cached cardinality), values built on one
//! server are loaded into the other (SET of a GET, RESTORE of a DUMP) and
//! must count, add and merge identically, and corrupted values get the
//! same errors.

mod common;

use common::rng::Rng;
use common::{differential, start_ferrodis, start_redis, Pair, RawClient};

/// The payload of a bulk-string reply.
fn bulk(reply: &[u8]) -> Vec<u8> {
    assert_eq!(reply[0], b'$', "not a bulk reply");
    common::dataset::bulks(reply).remove(0)
}

/// Adds `n` elements named `prefix<i>` in batches of `batch`, comparing
/// every reply.
fn add_many(p: &mut Pair, key: &str, prefix: &str, n: usize, batch: usize) {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    for chunk in names.chunks(batch) {
        let mut args = vec!["PFADD", key];
        args.extend(chunk.iter().map(String::as_str));
        p.same(&args);
    }
}

#[test]
fn basic_commands_match_redis() {
    differential(|p| {
        p.script(
            r#"
            PFADD h
            GET h
            PFCOUNT h
            PFADD h a b c d e f g
            PFADD h a
            PFADD h ""
            PFADD h ""
            GET h
            PFCOUNT h
            GET h
            PFCOUNT h
            PFDEBUG ENCODING h
            PFDEBUG DECODE h
            PFCOUNT nokey
            PFCOUNT nokey1 nokey2
            PFADD h2 x y z a
            PFCOUNT h h2
            PFCOUNT h h2 nokey
            GET h2
            PFMERGE m h h2
            GET m
            PFCOUNT m
            PFMERGE m
            PFMERGE new
            GET new
            PFMERGE h h2
            GET h
            SET s notanhll
            PFADD s a
            PFCOUNT s
            PFCOUNT h s
            PFMERGE h s
            PFMERGE s h
            PFDEBUG ENCODING s
            SET n 123
            PFADD n a
            PFCOUNT n
            LPUSH l a
            PFADD l a
            PFCOUNT l
            PFCOUNT h l
            PFMERGE l h
            PFMERGE h l
            PFDEBUG GETREG l
            PFDEBUG ENCODING nokey
            PFDEBUG FOO nokey
            PFDEBUG FOO h
            PFDEBUG "ENCODING\x00x" h
            PFDEBUG TODENSE h
            PFDEBUG TODENSE h
            PFDEBUG ENCODING h
            PFDEBUG DECODE h
            GET h
            PFCOUNT h
            PFADD h more
            PFCOUNT h
            PFSELFTEST
            PFADD
            PFCOUNT
            PFMERGE
            PFDEBUG GETREG
            PFSELFTEST x
            "#,
        );
        p.same(&["PFDEBUG", "GETREG", "h2"]);
        p.same(&["GET", "h2"]);
        p.same(&["PFDEBUG", "ENCODING", "h2"]);
    });
}

/// Growth through the sparse encoding up to the promotion, at the default
/// threshold and at others set with CONFIG SET, and on to large counts:
/// every reply and the value's bytes identical.
#[test]
fn sparse_growth_and_promotion_match_redis() {
    differential(|p| {
        for (max, n) in [("3000", 3000), ("200", 400), ("0", 20), ("10000", 2000)] {
            p.same(&["CONFIG", "SET", "hll-sparse-max-bytes", max]);
            let key = format!("h{max}");
            for step in 0..10 {
                add_many(p, &key, &format!("{step}-e"), n / 10, 7);
                p.same(&["PFDEBUG", "ENCODING", &key]);
                p.same(&["GET", &key]);
                p.same(&["PFCOUNT", &key]);
                p.same(&["GET", &key]);
            }
        }
        p.same(&["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]);
        add_many(p, "big", "x", 100_000, 500);
        p.same(&["PFCOUNT", "big"]);
        p.same(&["GET", "big"]);
        p.same(&["PFCOUNT", "big", "h3000", "h200"]);
        p.same(&["PFMERGE", "u", "h3000", "h200", "h0", "h10000"]);
        p.same(&["GET", "u"]);
        p.same(&["PFCOUNT", "u"]);
        p.same(&["PFMERGE", "u2", "h200", "h10000"]);
        p.same(&["PFDEBUG", "ENCODING", "u2"]);
        p.same(&["GET", "u2"]);
        p.same(&["PFMERGE", "big", "u2"]);
        p.same(&["PFCOUNT", "big"]);
        // Several keys count their union and leave every value as it was.
        let before = p.same(&["GET", "h200"]);
        p.same(&["PFCOUNT", "h200", "big"]);
        assert_eq!(p.same(&["GET", "h200"]), before);
    });
}

/// Values built on one server, loaded into the other with SET and with
/// RESTORE, count, add and merge the same there.
#[test]
fn values_move_between_servers_both_ways() {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    for resp in [2u8, 3] {
        let mut p = Pair::connect(&ours, &redis, resp);
        p.same(&["FLUSHALL"]);
        for (name, n) in [("small", 50usize), ("mid", 900), ("dense", 20_000)] {
            for (from_redis, tag) in [(true, "r"), (false, "f")] {
                let key = format!("{name}-{tag}");
                let mut builder = if from_redis {
                    RawClient::connect(redis.port)
                } else {
                    RawClient::connect(ours.port)
                };
                for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
                    let mut args = vec![b"PFADD".to_vec(), key.clone().into_bytes()];
                    args.extend(chunk.iter().map(|i| format!("{tag}{i}").into_bytes()));
                    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
                    builder.cmd_bytes(&refs);
                }
                let value = bulk(&builder.cmd(&["GET", &key]));
                // SET of the GET into both servers.
                let copy = format!("{key}-copy");
                p.same_bytes(&[b"SET", copy.as_bytes(), &value]);
                p.same(&["OBJECT", "ENCODING", &copy]);
                p.same(&["PFCOUNT", &copy]);
                p.same(&["OBJECT", "ENCODING", &copy]);
                p.same(&["GET", &copy]);
                p.same(&["PFADD", &copy, "one", "two", "three"]);
                p.same(&["PFCOUNT", &copy]);
                p.same(&["GET", &copy]);
                // RESTORE of the builder's DUMP into both.
                let dump = bulk(&builder.cmd(&["DUMP", &key]));
                let restored = format!("{key}-restored");
                p.same_bytes(&[b"RESTORE", restored.as_bytes(), b"0", &dump]);
                p.same(&["PFCOUNT", &restored]);
                p.same(&["PFMERGE", "merged", &restored, &copy]);
                p.same(&["PFCOUNT", "merged"]);
                p.same(&["GET", "merged"]);
            }
        }
        p.same(&["PFCOUNT", "small-r-copy", "mid-f-copy", "dense-r-copy"]);
    }
}

/// Corrupted values: the same errors (or the same answers, where Redis
/// does not notice), never a crash.
#[test]
fn corrupted_values_get_redis_errors() {
    differential(|p| {
        p.same(&["PFADD", "sparse", "a", "b", "c", "d", "e", "f"]);
        let sparse = bulk(&p.same(&["GET", "sparse"]));
        p.same(&["PFADD", "densesrc", "a"]);
        p.same(&["PFDEBUG", "TODENSE", "densesrc"]);
        let dense = bulk(&p.same(&["GET", "densesrc"]));
        let mut cases: Vec<Vec<u8>> = Vec::new();
        let mut tail = sparse.clone();
        tail.extend_from_slice(b"hello");
        cases.push(tail);
        let mut magic = sparse.clone();
        magic[0] = b'h';
        cases.push(magic);
        let mut encoding = sparse.clone();
        encoding[4] = 2;
        cases.push(encoding);
        cases.push(dense[..dense.len() - 1].to_vec());
        let mut long = dense.clone();
        long.push(0);
        cases.push(long);
        cases.push(sparse[..15].to_vec());
        cases.push(sparse[..16].to_vec());
        // Sparse opcodes covering too many registers (XZERO and ZERO runs
        // past the end, a VAL past the end).
        let mut header = sparse[..16].to_vec();
        header[15] |= 0x80;
        let mut xzeros = header.clone();
        for _ in 0..4 {
            xzeros.extend_from_slice(&[0x7f, 0xff]);
        }
        cases.push(xzeros);
        let mut zeros = header.clone();
        zeros.extend(std::iter::repeat_n(0x3f, 300));
        zeros.push(0x80);
        cases.push(zeros);
        let mut vals = header.clone();
        vals.extend_from_slice(&[0x7f, 0xfe, 0x83]);
        cases.push(vals);
        // Fewer registers than 16384.
        let mut short = header.clone();
        short.extend_from_slice(&[0x7f, 0xf0]);
        cases.push(short);
        // A valid cache on a corrupt body is answered from the cache.
        let mut cached = sparse.clone();
        cached.extend_from_slice(b"zz");
        cached[15] &= 0x7f;
        cases.push(cached);
        // Random damage to valid values.
        let mut rng = Rng(0xc0ff_ee11);
        for _ in 0..40 {
            let mut v = if rng.next() % 2 == 0 {
                sparse.clone()
            } else {
                dense.clone()
            };
            for _ in 0..1 + rng.next() % 4 {
                let at = 16 + (rng.next() as usize) % (v.len() - 16);
                v[at] = rng.next() as u8;
            }
            v[15] |= 0x80;
            cases.push(v);
        }
        for (i, v) in cases.iter().enumerate() {
            let key = format!("bad{i}");
            p.same_bytes(&[b"SET", key.as_bytes(), v]);
            p.same(&["PFCOUNT", &key]);
            p.same(&["PFCOUNT", &key, "sparse"]);
            p.same(&["PFDEBUG", "ENCODING", &key]);
            p.same(&["PFDEBUG", "DECODE", &key]);
            p.same(&["PFMERGE", "target", &key]);
            p.same(&["PFADD", &key, "x", "y", "z"]);
            p.same(&["PFDEBUG", "GETREG", &key]);
            p.same(&["PFCOUNT", &key]);
        }
    });
}

/// `hll-sparse-max-bytes` takes memory values as Redis's CONFIG SET does.
#[test]
fn sparse_limit_config_matches_redis() {
    differential(|p| {
        p.script(
            r#"
            CONFIG SET hll-sparse-max-bytes -1
            CONFIG SET hll-sparse-max-bytes 1kb
            CONFIG GET hll-sparse-max-bytes
            CONFIG SET hll-sparse-max-bytes x
            CONFIG SET hll-sparse-max-bytes 3000
            CONFIG GET hll-sparse-max-bytes
            "#,
        );
    });
}
