//! Client-side caching (CLIENT TRACKING) against Redis: the options and
//! their errors, CLIENT CACHING / GETREDIR / TRACKINGINFO, and the
//! invalidation messages every kind of change sends (RESP3 pushes to the
//! tracker or to a redirect client, BCAST prefixes, NOLOOP, OPTIN/OPTOUT,
//! flushes, expiry, transactions, the table's key limit), compared byte for
//! byte as each client reads them; then what only ferrodis can show: a
//! write on one worker invalidating a reader on the other, INFO, CLIENT
//! LIST, and a server nobody tracks on recording nothing.

mod common;

use common::{split_words, start_ferrodis, start_redis, RawClient, ServerProcess};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Named connections to one server, and their ids.
struct Side {
    clients: HashMap<String, RawClient>,
    ids: HashMap<String, String>,
    port: u16,
}

impl Side {
    fn client(&mut self, name: &str) -> &mut RawClient {
        if !self.clients.contains_key(name) {
            let mut c = RawClient::connect(self.port);
            let id = String::from_utf8_lossy(&c.cmd(&["CLIENT", "ID"]))
                .trim_start_matches(':')
                .trim()
                .to_string();
            self.ids.insert(name.to_string(), id);
            self.clients.insert(name.to_string(), c);
        }
        self.clients.get_mut(name).expect("just added")
    }

    /// `$name` in an argument stands for that client's id.
    fn expand(&mut self, word: &[u8]) -> Vec<u8> {
        match word.strip_prefix(b"$") {
            Some(name) if !name.is_empty() => {
                let name = String::from_utf8_lossy(name).into_owned();
                self.client(&name);
                self.ids[&name].clone().into_bytes()
            }
            _ => word.to_vec(),
        }
    }

    /// A reply with the client ids it holds written as `$name` (ids
    /// differ between the servers): HELLO's id, TRACKINGINFO's and
    /// GETREDIR's redirect, a broken redirect's push, CLIENT ID.
    fn normalize(&self, reply: &[u8], command: &[Vec<u8>]) -> String {
        let mut text = String::from_utf8_lossy(reply).into_owned();
        let whole = command.len() >= 2
            && command[0].eq_ignore_ascii_case(b"client")
            && (command[1].eq_ignore_ascii_case(b"getredir")
                || command[1].eq_ignore_ascii_case(b"id"));
        for (name, id) in &self.ids {
            for before in ["id\r\n", "redirect\r\n", "tracking-redir-broken\r\n"] {
                text = text.replace(
                    &format!("{before}:{id}\r\n"),
                    &format!("{before}:${name}\r\n"),
                );
            }
            if whole && text == format!(":{id}\r\n") {
                text = format!(":${name}\r\n");
            }
        }
        text
    }
}

/// Reads what `c` has been sent: a PING's reply comes after every message
/// queued before it, so everything before `+PONG` is the messages.
fn messages(c: &mut RawClient) -> Vec<u8> {
    c.send_raw(&RawClient::encode(&[b"PING"]));
    let mut got = Vec::new();
    loop {
        let reply = c.read_reply();
        assert!(!reply.is_empty(), "connection closed");
        if reply == b"+PONG\r\n" {
            return got;
        }
        got.extend_from_slice(&reply);
    }
}

/// Runs a script on both servers: each line is `<client> <command ...>`,
/// `<client> ~` (read the messages it has been sent, up to a PING's
/// reply), `<client> <` (read one reply or message), `<client> 2 <command
/// ...>` (a command Redis answers twice), `<client> 0 <command ...>` (one
/// it does not answer), or `sleep <ms>`; every reply is compared byte for
/// byte.
fn run_script(ours: &ServerProcess, redis: &ServerProcess, script: &str) -> usize {
    let mut sides = [ours.port, redis.port].map(|port| Side {
        clients: HashMap::new(),
        ids: HashMap::new(),
        port,
    });
    let mut compared = 0;
    for line in script.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = split_words(line);
        let name = String::from_utf8_lossy(&words[0]).into_owned();
        if name == "sleep" {
            let ms: u64 = String::from_utf8_lossy(&words[1]).parse().expect("ms");
            std::thread::sleep(Duration::from_millis(ms));
            continue;
        }
        let started = Instant::now();
        let replies: Vec<String> = sides
            .iter_mut()
            .map(|side| {
                if words[1] == b"~" {
                    let got = messages(side.client(&name));
                    return side.normalize(&got, &[]);
                }
                if words[1] == b"<" {
                    let got = side.client(&name).read_reply();
                    assert!(!got.is_empty(), "nothing to read at `{line}`");
                    return side.normalize(&got, &[]);
                }
                let (count, args) = match &words[1][..] {
                    b"2" => (2, &words[2..]),
                    b"0" => (0, &words[2..]),
                    _ => (1, &words[1..]),
                };
                let args: Vec<Vec<u8>> = args.iter().map(|w| side.expand(w)).collect();
                let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
                let c = side.client(&name);
                c.send_raw(&RawClient::encode(&refs));
                let got: Vec<u8> = (0..count).flat_map(|_| c.read_reply()).collect();
                side.normalize(&got, &args)
            })
            .collect();
        assert_eq!(replies[0], replies[1], "differs from Redis at `{line}`");
        // A reply that never came (a read timing out on both servers)
        // would compare equal: it must not go unnoticed.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "waited for nothing at `{line}`"
        );
        compared += 1;
    }
    compared
}

fn servers() -> (ServerProcess, ServerProcess) {
    let debug = ["--enable-debug-command", "yes"];
    (start_ferrodis(&debug), start_redis(&debug))
}

/// [`run_script`] on fresh servers.
fn compare(script: &str) -> usize {
    let (ours, redis) = servers();
    run_script(&ours, &redis, script)
}

#[test]
fn options_errors_and_introspection_match_redis() {
    let n = compare(
        r#"
        t CLIENT TRACKINGINFO
        t CLIENT GETREDIR
        t CLIENT CACHING yes
        t CLIENT TRACKING
        t CLIENT TRACKING maybe
        t CLIENT TRACKING on foo
        t CLIENT TRACKING on redirect
        t CLIENT TRACKING on redirect abc
        t CLIENT TRACKING on redirect 999999
        t CLIENT TRACKING on redirect 0
        t CLIENT TRACKING on redirect -1
        t CLIENT TRACKING on redirect $r redirect $r
        t CLIENT TRACKING off redirect 999999
        t CLIENT TRACKING maybe bcast
        t CLIENT TRACKING on prefix a
        t CLIENT TRACKING on bcast optin
        t CLIENT TRACKING on bcast optout
        t CLIENT TRACKING on optin optout
        t CLIENT TRACKING on bcast prefix FOOBAR prefix FOO
        t CLIENT TRACKING on bcast prefix FOO prefix FOOBAR
        t CLIENT TRACKINGINFO
        t CLIENT TRACKING on optin redirect $r noloop
        t CLIENT TRACKINGINFO
        t CLIENT GETREDIR
        t CLIENT CACHING no
        t CLIENT CACHING yes
        t CLIENT TRACKINGINFO
        t CLIENT CACHING maybe
        t CLIENT TRACKING on optout
        t CLIENT TRACKING on bcast
        t CLIENT TRACKING on
        t CLIENT TRACKINGINFO
        t CLIENT TRACKING off
        t CLIENT TRACKING on optout
        t CLIENT CACHING yes
        t CLIENT CACHING no
        t CLIENT TRACKINGINFO
        t CLIENT TRACKING off
        t CLIENT TRACKINGINFO
        t CLIENT GETREDIR
        t CLIENT TRACKING on bcast prefix foo prefix bar
        t CLIENT TRACKINGINFO
        t CLIENT TRACKING on bcast prefix fo
        t CLIENT TRACKING on bcast prefix barb
        t CLIENT TRACKING on bcast prefix baz prefix "" 
        t CLIENT TRACKING on bcast prefix baz
        t CLIENT TRACKINGINFO
        t CLIENT TRACKING on bcast
        t CLIENT TRACKINGINFO
        t CLIENT TRACKING off
        # Redis 7.0.15 answers a clash between two given prefixes, the
        # first not the first given, with the error and then OK.
        t 2 CLIENT TRACKING on bcast prefix a prefix b prefix bc
        t CLIENT TRACKINGINFO
        t CLIENT TRACKING off
        t CLIENT TRACKING on bcast
        t CLIENT TRACKINGINFO
        t CLIENT TRACKING off
        t CLIENT CACHING
        t CLIENT CACHING yes no
        t CLIENT GETREDIR x
        t CLIENT TRACKINGINFO x
        t CONFIG GET tracking-table-max-keys
        t CONFIG SET tracking-table-max-keys -1
        t CONFIG SET tracking-table-max-keys 10
        t CONFIG GET tracking-table-max-keys
        t CONFIG SET tracking-table-max-keys 1000000
        t HELLO 3
        t CLIENT TRACKINGINFO
        t CLIENT TRACKING on optin
        t CLIENT CACHING yes
        t CLIENT TRACKINGINFO
        t RESET
        t CLIENT TRACKINGINFO
        "#,
    );
    assert!(n > 60, "{n}");
}

#[test]
fn resp3_invalidations_match_redis() {
    compare(
        r#"
        t HELLO 3
        t CLIENT TRACKING on
        w SET a 1
        w SET b 1
        t GET a
        t MGET b c d
        t ~
        w INCR a
        t ~
        # Invalidated once: the key is no longer remembered.
        w INCR a
        t ~
        w DEL b c
        t ~
        t HSET h f 1
        t HGET h f
        # The tracker's own change: its invalidation follows the reply.
        t HDEL h f
        t ~
        t GET a
        t LRANGE l 0 -1
        t SMEMBERS s
        t ZRANGE z 0 -1
        t STRLEN a
        t EXISTS x y
        w LPUSH l x
        w SADD s m
        w ZADD z 1 m
        w APPEND a tail
        w RENAME x y
        w SET x 1
        w MSET x 2 y 3
        t ~
        t GET a
        w EXPIRE a 100
        t ~
        t GET a
        w PERSIST a
        t GET a
        w RENAME a a2
        t ~
        # Read-only commands that fail still remember their keys.
        t LLEN a2
        w SET a2 x
        t ~
        # A transaction: the invalidations come after EXEC's reply.
        t MSET m1 1 m2 2
        t GET m1
        t MULTI
        t INCR m1
        t GET m2
        t EXEC
        t ~
        # Keys read inside the transaction are remembered from there on.
        t MULTI
        t SET n1 x
        t GET n1
        t EXEC
        w SET n1 y
        t ~
        # Pipelined own writes: each invalidation follows its own reply.
        t GET p1
        t GET p2
        t ~
        t FLUSHDB
        t ~
        t GET f
        w FLUSHALL
        t ~
        t GET f
        t MULTI
        t FLUSHDB
        t EXEC
        t ~
        w SET f 1
        t ~
        "#,
    );
}

#[test]
fn noloop_optin_optout_and_expiry_match_redis() {
    compare(
        r#"
        t HELLO 3
        t CLIENT TRACKING on noloop
        t MGET k1 k2
        t SET k1 x
        w SET k2 y
        t ~
        t CLIENT TRACKING off
        t CLIENT TRACKING on optin
        t GET o1
        t CLIENT CACHING yes
        t GET o2
        t GET o3
        w MSET o1 1 o2 2 o3 3
        t ~
        t CLIENT CACHING yes
        t MULTI
        t GET o4
        t GET o5
        t EXEC
        t GET o6
        w MSET o4 1 o5 1 o6 1
        t ~
        t CLIENT CACHING yes
        t CLIENT ID
        t GET o7
        w SET o7 1
        t ~
        t CLIENT TRACKING off
        t CLIENT TRACKING on optout
        t GET q1
        t CLIENT CACHING no
        t GET q2
        t GET q3
        w MSET q1 1 q2 2 q3 3
        t ~
        t CLIENT TRACKING off
        t CLIENT TRACKING on
        t DEBUG SET-ACTIVE-EXPIRE 0
        t MULTI
        t MSET x 1 y 2
        t PEXPIRE y 50
        t GET y
        t EXEC
        t ~
        sleep 80
        # Lazy expiry: the invalidation follows MGET's reply.
        t MGET x y
        t ~
        t DEBUG SET-ACTIVE-EXPIRE 1
        t SET e v PX 50
        t GET e
        sleep 300
        t ~
        t CLIENT TRACKING off
        t CLIENT TRACKING on noloop
        t GET pf
        t PFADD pf a b c
        t ~
        t PFCOUNT pf
        w PFCOUNT pf
        t ~
        "#,
    );
}

#[test]
fn bcast_and_redirects_match_redis() {
    compare(
        r#"
        r HELLO 3
        t CLIENT TRACKING on bcast redirect $r prefix a: prefix b:
        w MULTI
        w INCR a:1
        w INCR b:2
        w INCR b:1
        w INCR c:1
        w INCR a:1
        w EXEC
        r ~
        t CLIENT TRACKING on bcast redirect $r prefix c:
        w INCR c:9
        w SET other 1
        r ~
        t CLIENT TRACKING off
        t CLIENT TRACKING on bcast redirect $r noloop
        w SET z1 1
        t SET z2 1
        w MSET z3 1 z4 1
        r ~
        t SET zz 1 PX 50
        sleep 300
        r ~
        t MULTI
        t SET lz v PX 1
        t SET lz2 v
        t DEBUG SLEEP 0.01
        t GET lz
        t EXEC
        r ~
        w FLUSHALL
        r ~
        t CLIENT TRACKING off
        # Default mode redirected, and two trackers to one client.
        t CLIENT TRACKING on redirect $r
        u CLIENT TRACKING on redirect $r
        w MSET k1 1 k2 2
        t GET k1
        u GET k2
        w INCR k1
        w INCR k2
        r ~
        # A RESP2 tracker redirected to a RESP3 client.
        t HELLO 2
        t GET k1
        w INCR k1
        r ~
        t FLUSHDB
        r ~
        # Switching to BCAST drops what was read before.
        t CLIENT TRACKING off
        t HELLO 3
        t CLIENT TRACKING on
        t GET s1
        t CLIENT TRACKING off
        t CLIENT TRACKING on bcast
        w INCR s1
        t ~
        t CLIENT TRACKING off
        # RESP2 without redirect: nothing can be sent.
        v CLIENT TRACKING on
        v GET q
        w SET q 1
        v PING
        v CLIENT TRACKING on bcast
        v CLIENT TRACKING off
        v CLIENT TRACKING on bcast
        w SET q 2
        v PING
        "#,
    );
}

#[test]
fn broken_redirect_and_reply_off_match_redis() {
    compare(
        r#"
        t HELLO 3
        t CLIENT TRACKING on redirect $gone
        t GET k
        gone QUIT
        w SET k 1
        t ~
        t CLIENT TRACKINGINFO
        t GET k
        w SET k 2
        t ~
        t CLIENT TRACKING off
        s HELLO 3
        s CLIENT TRACKING on
        s GET foo
        s 0 CLIENT REPLY OFF
        w SET foo 1
        s <
        s CLIENT REPLY ON
        s PING
        t HELLO 3
        t CLIENT TRACKING on redirect $gone2
        t GET bar
        t 0 CLIENT REPLY OFF
        gone2 QUIT
        w SET bar 1
        t <
        t CLIENT REPLY ON
        t PING
        "#,
    );
}

/// Waits until `f` holds, for up to five seconds.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn info_field(c: &mut RawClient, name: &str) -> String {
    let info = c.text(&["INFO", "everything"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .to_string()
}

#[test]
fn info_counts_and_client_list_flags() {
    let (ours, redis) = servers();
    for port in [ours.port, redis.port] {
        let mut t = RawClient::connect(port);
        let mut b = RawClient::connect(port);
        let mut w = RawClient::connect(port);
        let r_id = String::from_utf8_lossy(&w.cmd(&["CLIENT", "ID"]))[1..]
            .trim()
            .to_string();
        assert_eq!(
            t.cmd(&["CLIENT", "TRACKING", "on", "redirect", &r_id]),
            b"+OK\r\n"
        );
        t.cmd(&["MGET", "k1", "k2", "k3"]);
        t.cmd(&["GET", "k1"]);
        b.cmd(&[
            "CLIENT", "TRACKING", "on", "bcast", "prefix", "p:", "prefix", "q:",
        ]);
        let figures = |c: &mut RawClient| {
            [
                "tracking_clients",
                "tracking_total_keys",
                "tracking_total_items",
                "tracking_total_prefixes",
            ]
            .map(|f| info_field(c, f))
        };
        assert_eq!(figures(&mut w), ["2", "3", "3", "2"], "port {port}");
        let list = w.text(&["CLIENT", "LIST"]);
        let line_of = |id: &str| {
            list.lines()
                .find(|l| l.starts_with(&format!("id={id} ")))
                .expect("listed")
                .to_string()
        };
        let t_id = String::from_utf8_lossy(&t.cmd(&["CLIENT", "ID"]))[1..]
            .trim()
            .to_string();
        let b_id = String::from_utf8_lossy(&b.cmd(&["CLIENT", "ID"]))[1..]
            .trim()
            .to_string();
        assert!(line_of(&t_id).contains(" flags=t "), "{list}");
        assert!(
            line_of(&t_id).contains(&format!(" redir={r_id} ")),
            "{list}"
        );
        assert!(line_of(&b_id).contains(" flags=tB "), "{list}");
        assert!(line_of(&b_id).contains(" redir=0 "), "{list}");
        assert!(line_of(&r_id).contains(" redir=-1 "), "{list}");
        // The redirect client goes: the tracker's redirect is broken.
        drop(w);
        let mut w = RawClient::connect(port);
        w.cmd(&["SET", "k1", "x"]);
        eventually("the broken redirect shows", || {
            w.text(&["CLIENT", "LIST"])
                .lines()
                .any(|l| l.starts_with(&format!("id={t_id} ")) && l.contains(" flags=tR "))
        });
        assert_eq!(info_field(&mut w, "tracking_total_keys"), "2");
        w.cmd(&["FLUSHALL"]);
        assert_eq!(info_field(&mut w, "tracking_total_keys"), "0");
        b.cmd(&["CLIENT", "TRACKING", "off"]);
        assert_eq!(info_field(&mut w, "tracking_total_prefixes"), "0");
        assert_eq!(info_field(&mut w, "tracking_clients"), "1");
        drop(t);
        eventually("a closed tracker stops counting", || {
            info_field(&mut w, "tracking_clients") == "0"
        });
    }
}

#[test]
fn the_key_limit_invalidates_as_redis_does() {
    let (ours, redis) = servers();
    for port in [ours.port, redis.port] {
        let mut r = RawClient::connect(port);
        r.cmd(&["HELLO", "3"]);
        let r_id = String::from_utf8_lossy(&r.cmd(&["CLIENT", "ID"]))
            .trim_start_matches(':')
            .trim()
            .to_string();
        let mut t = RawClient::connect(port);
        t.cmd(&["CLIENT", "TRACKING", "on", "redirect", &r_id]);
        for i in 0..250 {
            t.cmd(&["GET", &format!("key{i}")]);
        }
        t.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1"]);
        // The next commands (or the periodic task) evict all but one key,
        // each with its invalidation; no more than that.
        let mut seen = 0;
        while seen < 249 {
            let reply = r.read_reply();
            assert!(reply.starts_with(b">2\r\n$10\r\ninvalidate\r\n*1\r\n"));
            seen += 1;
        }
        assert_eq!(r.cmd(&["PING"]), b"+PONG\r\n", "port {port}");
        assert_eq!(info_field(&mut t, "tracking_total_keys"), "1");
        t.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1000000"]);
    }
}

#[test]
fn the_key_limit_applies_before_a_queued_command() {
    // Redis's regression test for #11715: the limit lowered while a
    // tracker sits in MULTI; its next command (queued) evicts first, and
    // the invalidation comes before QUEUED.
    let (ours, redis) = servers();
    for port in [ours.port, redis.port] {
        let mut a = RawClient::connect(port);
        let mut t = RawClient::connect(port);
        a.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "2"]);
        a.cmd(&["DEBUG", "PAUSE-CRON", "1"]);
        t.cmd(&["HELLO", "3"]);
        t.cmd(&["CLIENT", "TRACKING", "on"]);
        t.cmd(&["MGET", "1{tag}", "2{tag}"]);
        t.cmd(&["MULTI"]);
        a.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1"]);
        t.send_raw(&RawClient::encode(&[b"PING"]));
        t.send_raw(&RawClient::encode(&[b"EXEC"]));
        let push = String::from_utf8_lossy(&t.read_reply()).into_owned();
        assert!(
            push.starts_with(">2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\n")
                && push.ends_with("{tag}\r\n"),
            "port {port}: {push:?}"
        );
        assert_eq!(t.read_reply(), b"+QUEUED\r\n", "port {port}");
        assert_eq!(t.read_reply(), b"*1\r\n+PONG\r\n", "port {port}");
        a.cmd(&["DEBUG", "PAUSE-CRON", "0"]);
        a.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1000000"]);
    }
}

#[test]
fn a_write_on_one_worker_invalidates_a_reader_on_the_other() {
    let ours = start_ferrodis(&["--enable-debug-command", "yes"]);
    let mut reader = RawClient::connect(ours.port);
    let mut writer = RawClient::connect(ours.port);
    reader.cmd(&["DEBUG", "WORKER", "0"]);
    writer.cmd(&["DEBUG", "WORKER", "1"]);
    assert_eq!(reader.cmd(&["DEBUG", "WORKER"]), b":0\r\n");
    assert_eq!(writer.cmd(&["DEBUG", "WORKER"]), b":1\r\n");
    reader.cmd(&["HELLO", "3"]);
    reader.cmd(&["CLIENT", "TRACKING", "on"]);
    for round in 0..200 {
        let key = format!("k{}", round % 7);
        reader.cmd(&["GET", &key]);
        writer.cmd(&["SET", &key, &round.to_string()]);
        let push = reader.read_reply();
        assert_eq!(
            push,
            format!(
                ">2\r\n$10\r\ninvalidate\r\n*1\r\n${}\r\n{key}\r\n",
                key.len()
            )
            .into_bytes()
        );
    }
    // Nothing more is pending.
    assert_eq!(messages(&mut reader), b"");
}

#[test]
fn nobody_tracking_records_nothing() {
    let ours = start_ferrodis(&[]);
    let mut t = RawClient::connect(ours.port);
    let mut w = RawClient::connect(ours.port);
    t.cmd(&["HELLO", "3"]);
    t.cmd(&["CLIENT", "TRACKING", "on"]);
    t.cmd(&["MGET", "a", "b"]);
    assert_eq!(info_field(&mut w, "tracking_total_keys"), "2");
    t.cmd(&["CLIENT", "TRACKING", "off"]);
    // The last tracker gone, the table empties (Redis keeps the stale ids
    // until their keys change; nobody is left to tell).
    assert_eq!(info_field(&mut w, "tracking_total_keys"), "0");
    t.cmd(&["CLIENT", "TRACKING", "on"]);
    w.cmd(&["SET", "a", "1"]);
    assert_eq!(messages(&mut t), b"", "a key read before is forgotten");
}

#[test]
fn resp2_redirects_to_a_subscriber_match_redis() {
    compare(
        r#"
        r SUBSCRIBE __redis__:invalidate
        t CLIENT TRACKING on redirect $r
        w SET k 1
        t GET k
        w SET k 2
        r <
        t MGET k a
        w SET a 1
        w DEL k a
        r <
        r <
        t GET k
        w FLUSHALL
        r <
        # A RESP3 tracker: its null, RESP3's, inside the RESP2 message.
        t HELLO 3
        t GET k
        w FLUSHDB
        r <
        t CLIENT TRACKING off
        t CLIENT TRACKING on bcast redirect $r prefix p:
        w MSET p:1 1 p:2 2 q 1
        r <
        t CLIENT TRACKING off
        # Not subscribed: a RESP2 redirect client hears nothing.
        t CLIENT TRACKING on redirect $n
        t GET z
        w SET z 1
        n PING
        n SUBSCRIBE x
        w SET z 2
        t GET z
        w SET z 3
        n <
        r UNSUBSCRIBE
        t CLIENT TRACKING on redirect $r
        t GET z
        w SET z 4
        r PING
        "#,
    );
}
