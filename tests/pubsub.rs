//! Pub/sub against Redis: every reply, confirmation and message byte for
//! byte over RESP2 and RESP3 (subscribed mode's restrictions and PING,
//! CLIENT REPLY OFF, MULTI, RESET, PUBSUB introspection, CLIENT LIST and
//! INFO), and ferrodis's own guarantees: one global order of messages for
//! every subscriber whichever worker published them, no message of a
//! channel after the confirmation of leaving it, and subscriptions dropped
//! with the connection. (The output-limit disconnect of a subscriber that
//! stops reading is in `tests/output_limits.rs`.)

mod common;

use common::{start_ferrodis, start_redis, Pair, RawClient, ServerProcess};
use std::time::{Duration, Instant};

/// Sends `args` to both sides and compares the next `n` replies of each.
fn same_n(p: &mut Pair, args: &[&str], n: usize) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let encoded = RawClient::encode(&args);
    p.ours.send_raw(&encoded);
    p.redis.send_raw(&encoded);
    read_same(p, n, &format!("{args:?}"));
}

/// Reads `n` replies from each side and compares them.
fn read_same(p: &mut Pair, n: usize, what: &str) {
    for i in 0..n {
        let (ours, theirs) = (p.ours.read_reply(), p.redis.read_reply());
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{what}: reply {i} differs from Redis's"
        );
        p.compared += 1;
    }
}

fn servers() -> (ServerProcess, ServerProcess) {
    (start_ferrodis(&[]), start_redis(&[]))
}

#[test]
fn subscribed_mode_replies_and_messages_match_redis() {
    let (ours, redis) = servers();
    let mut compared = 0;
    for resp in [2, 3] {
        let mut sub = Pair::connect(&ours, &redis, resp);
        let mut publ = Pair::connect(&ours, &redis, 2);
        publ.same(&["FLUSHALL"]);
        same_n(&mut sub, &["SUBSCRIBE", "c1", "c2", "c1"], 3);
        publ.same(&["PUBLISH", "c1", "hello"]);
        read_same(&mut sub, 1, "message");
        // PING's subscribed-mode shape (RESP2), and the refusals.
        sub.same(&["PING"]);
        sub.same(&["PING", "x"]);
        sub.same(&["GET", "k"]);
        same_n(&mut sub, &["PSUBSCRIBE", "c*", "?1", "c*"], 3);
        // Two patterns and a channel: three deliveries to one client (the
        // patterns in Redis's hash-table order, which is random).
        publ.same(&["PUBLISH", "c1", "m2"]);
        let mut ours: Vec<Vec<u8>> = (0..3).map(|_| sub.ours.read_reply()).collect();
        let mut theirs: Vec<Vec<u8>> = (0..3).map(|_| sub.redis.read_reply()).collect();
        assert_eq!(ours[0], theirs[0], "the channel's message comes first");
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs);
        publ.same(&["PUBLISH", "nobody", "m"]);
        publ.same(&["PUBSUB", "NUMSUB", "c1", "c2", "zz"]);
        publ.same(&["PUBSUB", "NUMSUB"]);
        publ.same(&["PUBSUB", "NUMPAT"]);
        publ.same(&["PUBSUB", "CHANNELS", "c2"]);
        publ.same(&["PUBSUB", "CHANNELS", "x*"]);
        publ.same(&["PUBSUB", "CHANNELS", "a", "b"]);
        publ.same(&["PUBSUB", "SHARDCHANNELS"]);
        publ.same(&["PUBSUB", "SHARDNUMSUB", "c1"]);
        publ.same(&["PUBSUB", "NOSUCH"]);
        publ.same(&["PUBLISH", "c1"]);
        same_n(&mut sub, &["UNSUBSCRIBE", "c2", "zz"], 2);
        same_n(&mut sub, &["PUNSUBSCRIBE", "?1"], 1);
        same_n(&mut sub, &["PUNSUBSCRIBE"], 1);
        same_n(&mut sub, &["PUNSUBSCRIBE"], 1);
        same_n(&mut sub, &["UNSUBSCRIBE"], 1);
        same_n(&mut sub, &["UNSUBSCRIBE"], 1);
        sub.same(&["PING"]);
        // Shard channels: no patterns, their own count.
        same_n(&mut sub, &["SSUBSCRIBE", "s1", "s2"], 2);
        same_n(&mut sub, &["SUBSCRIBE", "s1"], 1);
        publ.same(&["SPUBLISH", "s1", "shard"]);
        read_same(&mut sub, 1, "smessage");
        publ.same(&["PUBLISH", "s1", "plain"]);
        read_same(&mut sub, 1, "message");
        publ.same(&["PUBSUB", "SHARDNUMSUB", "s1", "s2", "s3"]);
        publ.same(&["PUBSUB", "SHARDCHANNELS", "s[12]"]);
        same_n(&mut sub, &["SUNSUBSCRIBE", "s2"], 1);
        same_n(&mut sub, &["SUNSUBSCRIBE"], 1);
        same_n(&mut sub, &["SUNSUBSCRIBE"], 1);
        same_n(&mut sub, &["UNSUBSCRIBE"], 1);
        // Confirmations and messages are not silenced by CLIENT REPLY OFF.
        sub.ours
            .send_raw(&RawClient::encode(&[b"CLIENT", b"REPLY", b"OFF"]));
        sub.redis
            .send_raw(&RawClient::encode(&[b"CLIENT", b"REPLY", b"OFF"]));
        same_n(&mut sub, &["SUBSCRIBE", "q"], 1);
        publ.same(&["PUBLISH", "q", "quiet"]);
        read_same(&mut sub, 1, "message under CLIENT REPLY OFF");
        same_n(&mut sub, &["UNSUBSCRIBE"], 1);
        same_n(&mut sub, &["CLIENT", "REPLY", "ON"], 1);
        // Inside MULTI: SUBSCRIBE runs, SSUBSCRIBE is refused.
        sub.same(&["MULTI"]);
        sub.same(&["SSUBSCRIBE", "t"]);
        sub.same(&["SUBSCRIBE", "t"]);
        sub.same(&["EXEC"]);
        publ.same(&["PUBSUB", "NUMSUB", "t"]);
        // RESET leaves pub/sub mode without confirmations.
        sub.same(&["RESET"]);
        sub.same(&["PING"]);
        publ.same(&["PUBSUB", "NUMSUB", "t"]);
        publ.same(&["PUBLISH", "t", "gone"]);
        compared += sub.compared + publ.compared;
    }
    assert!(compared > 100, "{compared}");
}

#[test]
fn resp3_pushes_interleave_with_ordinary_replies() {
    let (ours, redis) = servers();
    let mut sub = Pair::connect(&ours, &redis, 3);
    let mut publ = Pair::connect(&ours, &redis, 2);
    same_n(&mut sub, &["SUBSCRIBE", "news"], 1);
    // Any command runs in RESP3's subscribed mode.
    sub.same(&["SET", "k", "v"]);
    sub.same(&["GET", "k"]);
    publ.same(&["PUBLISH", "news", "one"]);
    read_same(&mut sub, 1, "push");
    let (info, theirs) = sub.both(&["CLIENT", "INFO"]);
    for line in [info, theirs] {
        let line = String::from_utf8_lossy(&line).into_owned();
        assert!(
            line.contains(" flags=P ") && line.contains(" sub=1 psub=0 ssub=0 "),
            "{line}"
        );
    }
    // Back to RESP2 while subscribed: the restrictions apply again.
    sub.both(&["HELLO", "2"]);
    sub.same(&["GET", "k"]);
    sub.same(&["PING"]);
    publ.same(&["PUBLISH", "news", "two"]);
    read_same(&mut sub, 1, "RESP2 message");
}

/// The fields of a client's CLIENT LIST line that pub/sub sets.
fn pubsub_fields(c: &mut RawClient, id: &str) -> String {
    let list = c.text(&["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.starts_with(&format!("id={id} ")))
        .unwrap_or_else(|| panic!("client {id} not listed: {list}"))
        .to_string();
    line.split(' ')
        .filter(|kv| {
            ["flags=", "sub=", "psub=", "ssub=", "cmd="]
                .iter()
                .any(|p| kv.starts_with(p))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn client_list_info_and_client_kill_type_pubsub_match_redis() {
    let (ours, redis) = servers();
    for server in [&ours, &redis] {
        let mut admin = RawClient::connect(server.port);
        let mut sub = RawClient::connect(server.port);
        let id = sub.text(&["CLIENT", "ID"]);
        let id = id.trim_start_matches(':').trim_end().to_string();
        sub.cmd(&["SUBSCRIBE", "a"]);
        sub.send_raw(&RawClient::encode(&[b"PSUBSCRIBE", b"p*", b"q*"]));
        sub.read_reply();
        sub.read_reply();
        sub.cmd(&["SSUBSCRIBE", "s"]);
        assert_eq!(
            pubsub_fields(&mut admin, &id),
            "flags=P sub=1 psub=2 ssub=1 cmd=ssubscribe",
            "port {}",
            server.port
        );
        let info = admin.text(&["INFO", "stats"]);
        for want in [
            "pubsub_channels:1",
            "pubsub_patterns:2",
            "pubsubshard_channels:1",
        ] {
            assert!(info.contains(want), "{want} in {info}");
        }
        assert!(admin
            .text(&["CLIENT", "LIST", "TYPE", "pubsub"])
            .contains(&format!("id={id} ")));
        assert_eq!(admin.text(&["CLIENT", "KILL", "TYPE", "pubsub"]), ":1\r\n");
        // The closed connection's subscriptions are gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        while admin.text(&["PUBSUB", "NUMSUB", "a"]) != "*2\r\n$1\r\na\r\n:0\r\n" {
            assert!(
                Instant::now() < deadline,
                "subscriptions outlived the client"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(admin.text(&["PUBSUB", "NUMPAT"]), ":0\r\n");
        assert_eq!(admin.text(&["PUBLISH", "s", "x"]), ":0\r\n");
        assert_eq!(admin.text(&["SPUBLISH", "s", "x"]), ":0\r\n");
    }
}

/// The (channel, payload) of a RESP2 message or pmessage.
fn message_of(raw: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let parts: Vec<&str> = text.split("\r\n").collect();
    match parts.get(2).copied() {
        Some("message") => (parts[4].to_string(), parts[6].to_string()),
        Some("pmessage") => (parts[6].to_string(), parts[8].to_string()),
        _ => panic!("not a message: {text}"),
    }
}

#[test]
fn every_subscriber_sees_one_order_whichever_worker_published() {
    let server = start_ferrodis(&["--notify-keyspace-events", "E$"]);
    const PER_PUBLISHER: usize = 3000;
    const BATCH: usize = 50;
    let mut subs: Vec<RawClient> = (0..4)
        .map(|i| {
            let mut c = RawClient::connect(server.port);
            c.cmd(&["DEBUG", "WORKER", &(i % 2).to_string()]);
            c.cmd(&["SUBSCRIBE", "c"]);
            c.cmd(&["PSUBSCRIBE", "__keyevent@0__:*"]);
            c
        })
        .collect();
    // One publisher on each worker: PUBLISHes on one, SETs (keyspace
    // notifications) on the other, pipelined, at the same time.
    let publishers: Vec<_> = (0..2)
        .map(|w| {
            let port = server.port;
            std::thread::spawn(move || {
                let mut c = RawClient::connect(port);
                c.cmd(&["DEBUG", "WORKER", &w.to_string()]);
                for start in (0..PER_PUBLISHER).step_by(BATCH) {
                    let mut batch = Vec::new();
                    for i in start..start + BATCH {
                        let n = i.to_string();
                        let args: [&[u8]; 3] = if w == 0 {
                            [b"PUBLISH", b"c", n.as_bytes()]
                        } else {
                            [b"SET", n.as_bytes(), b"v"]
                        };
                        batch.extend(RawClient::encode(&args));
                    }
                    c.send_raw(&batch);
                    for _ in 0..BATCH {
                        c.read_reply();
                    }
                }
            })
        })
        .collect();
    publishers
        .into_iter()
        .for_each(|t| t.join().expect("publisher"));
    let sequences: Vec<Vec<(String, String)>> = subs
        .iter_mut()
        .map(|s| {
            (0..2 * PER_PUBLISHER)
                .map(|_| message_of(&s.read_reply()))
                .collect()
        })
        .collect();
    for (i, seq) in sequences.iter().enumerate() {
        assert_eq!(seq, &sequences[0], "subscriber {i} saw another order");
    }
    // Each publisher's messages in the order it sent them, and the two
    // streams actually interleaved.
    let published: Vec<&String> = sequences[0]
        .iter()
        .filter(|(c, _)| c == "c")
        .map(|(_, m)| m)
        .collect();
    let expected: Vec<String> = (0..PER_PUBLISHER).map(|i| i.to_string()).collect();
    assert_eq!(published, expected.iter().collect::<Vec<_>>());
    let set: Vec<&String> = sequences[0]
        .iter()
        .filter(|(c, _)| c == "__keyevent@0__:set")
        .map(|(_, m)| m)
        .collect();
    assert_eq!(set, expected.iter().collect::<Vec<_>>());
}

#[test]
fn no_message_of_a_channel_follows_the_confirmation_of_leaving_it() {
    let server = start_ferrodis(&[]);
    for round in 0..20 {
        let mut sub = RawClient::connect(server.port);
        sub.cmd(&["DEBUG", "WORKER", "1"]);
        sub.cmd(&["SUBSCRIBE", "flood"]);
        let port = server.port;
        let flood = std::thread::spawn(move || {
            let mut c = RawClient::connect(port);
            c.cmd(&["DEBUG", "WORKER", "0"]);
            let mut batch = Vec::new();
            for _ in 0..200 {
                batch.extend(RawClient::encode(&[b"PUBLISH", b"flood", b"m"]));
            }
            for _ in 0..5 {
                c.send_raw(&batch);
                for _ in 0..200 {
                    c.read_reply();
                }
            }
        });
        std::thread::sleep(Duration::from_millis(round % 5));
        sub.send_raw(&RawClient::encode(&[b"UNSUBSCRIBE", b"flood"]));
        sub.send_raw(&RawClient::encode(&[b"PING"]));
        loop {
            let raw = sub.read_reply();
            if raw.starts_with(b"*3\r\n$11\r\nunsubscribe") {
                break;
            }
            assert!(raw.starts_with(b"*3\r\n$7\r\nmessage"), "{raw:?}");
        }
        // Out of pub/sub mode, the next reply is PING's plain PONG.
        assert_eq!(sub.read_reply(), b"+PONG\r\n", "round {round}");
        flood.join().expect("flood");
    }
}
