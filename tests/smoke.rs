//! End-to-end smoke test: the hash lesson's commands, compared with Redis.

mod common;

#[test]
fn seed_hash_commands_match_redis() {
    let n = common::differential(|p| {
        p.script(
            r#"
            HSET user:1000 username alice
            HSET user:1000 email alice@example.com
            HGETALL user:1000
            HGET user:1000 username
            HDEL user:1000 username
            HGETALL user:1000
            HMSET my_hash key1 "foo" key2 "bar"
            HSET my_hash key1 "xyzzy"
            HDEL my_hash key2
            DEL my_hash
            HGETALL my_hash
            HSET
            HSET k f
            NOSUCHCOMMAND a b
            RPUSH dwemthys_array k1 k2
            LPOP dwemthys_array
            HGET dwemthys_array x
            "#,
        );
    });
    assert!(n >= 30, "compared {n} replies");
}
