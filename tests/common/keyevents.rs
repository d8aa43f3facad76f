//! Keyspace events compared with Redis: the same script runs against
//! redis-server, whose keyspace notifications a PSUBSCRIBE connection
//! collects, and against ferrodis, whose events `DEBUG KEYEVENTS` records
//! and whose notifications a subscriber collects the same way; the
//! sequences of (database, event, key) must be identical, and so must the
//! replies. Each script runs on Redis once with every class on
//! (`KEAn`) and once per class (`E` plus its character), so ferrodis's
//! class of every event is checked too.
//!
//! A script is one command per line (words as [`super::split_words`]
//! splits them), plus directives: `@sleep <ms>`, `@waitdbsize <n>` (polls
//! DBSIZE, which reclaims nothing, until it is `n`: active expiry has run),
//! `@dump <key>` (keeps the key's DUMP payload; a later word `$DUMP` stands
//! for it).

use super::{split_words, start_ferrodis, start_redis, Piece, RawClient, ServerProcess};
use std::time::{Duration, Instant};

/// One event: database, event name, key.
pub type Event = (i64, String, Vec<u8>);

/// One event as ferrodis records it: database, class character, event
/// name, key.
pub type ClassedEvent = (i64, char, String, Vec<u8>);

/// Each command of a script with its raw reply.
pub type Replies = Vec<(String, Vec<u8>)>;

/// The classes ferrodis's commands report today, by character.
pub const CLASSES: &[char] = &['g', '$', 'l', 's', 'h', 'x', 'n'];

/// A parsed RESP reply (only what the event collectors need).
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    /// A bulk or simple string.
    Bytes(Vec<u8>),
    /// An integer.
    Int(i64),
    /// An array (or push).
    Array(Vec<Resp>),
    /// An error, a null or anything else.
    Other(Vec<u8>),
}

/// Parses one raw reply as [`RawClient::read_reply`] returns it.
pub fn parse(raw: &[u8]) -> Resp {
    fn line(raw: &[u8], at: &mut usize) -> Vec<u8> {
        let end = raw[*at..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a complete line")
            + *at;
        let l = raw[*at..end].to_vec();
        *at = end + 2;
        l
    }
    fn one(raw: &[u8], at: &mut usize) -> Resp {
        let l = line(raw, at);
        let n = || -> i64 {
            std::str::from_utf8(&l[1..])
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(-1)
        };
        match l[0] {
            b'+' => Resp::Bytes(l[1..].to_vec()),
            b':' => Resp::Int(n()),
            b'$' if n() >= 0 => {
                let len = n() as usize;
                let data = raw[*at..*at + len].to_vec();
                *at += len + 2;
                Resp::Bytes(data)
            }
            b'*' | b'>' if n() >= 0 => Resp::Array((0..n()).map(|_| one(raw, at)).collect()),
            _ => Resp::Other(l),
        }
    }
    one(raw, &mut 0)
}

/// ferrodis and redis-server started for event comparisons: DEBUG enabled,
/// a fast periodic task (active expiry), Redis notifying every class.
pub struct EventServers {
    /// ferrodis.
    pub ours: ServerProcess,
    /// redis-server ([`super::redis_server_bin`]).
    pub redis: ServerProcess,
}

impl EventServers {
    /// Starts both servers.
    pub fn start() -> EventServers {
        let common = ["--enable-debug-command", "yes", "--hz", "100"];
        EventServers {
            ours: start_ferrodis(&common),
            redis: start_redis(&common),
        }
    }

    /// Runs `script` on both servers and asserts identical replies and
    /// identical events (all of them, and each class's). Returns the number
    /// of events compared.
    pub fn compare(&self, name: &str, script: &str) -> usize {
        let (our_replies, ours) = ferrodis_events(&self.ours, script);
        let (redis_replies, theirs) = redis_events(&self.redis, script, "KEAn");
        assert_eq!(our_replies.len(), redis_replies.len());
        for (i, (o, r)) in our_replies.iter().zip(&redis_replies).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(&o.1),
                String::from_utf8_lossy(&r.1),
                "{name}: reply {i} to {:?} differs from Redis's",
                o.0
            );
        }
        // `KEAn` leaves out `keymiss` (class `m`), compared on its own below.
        let plain: Vec<Event> = ours
            .iter()
            .filter(|(_, c, _, _)| *c != 'm')
            .map(|(db, _, e, k)| (*db, e.clone(), k.clone()))
            .collect();
        assert_eq!(
            show(&plain),
            show(&theirs),
            "{name}: events differ from Redis's (left: ferrodis)"
        );
        // The notifications a subscriber of ferrodis receives are Redis's.
        let (_, notified) = redis_events(&self.ours, script, "KEAn");
        assert_eq!(
            show(&notified),
            show(&theirs),
            "{name}: notifications differ from Redis's (left: ferrodis)"
        );
        for &class in CLASSES {
            let (_, theirs) = redis_events(&self.redis, script, &format!("E{class}"));
            let (_, notified) = redis_events(&self.ours, script, &format!("E{class}"));
            assert_eq!(
                show(&notified),
                show(&theirs),
                "{name}: notifications of class '{class}' differ from Redis's (left: ferrodis)"
            );
            let ours: Vec<Event> = ours
                .iter()
                .filter(|(_, c, _, _)| *c == class)
                .map(|(db, _, e, k)| (*db, e.clone(), k.clone()))
                .collect();
            assert_eq!(
                show(&ours),
                show(&theirs),
                "{name}: events of class '{class}' differ from Redis's (left: ferrodis)"
            );
        }
        // A client subscribed to its own commands' notifications gets them
        // where Redis writes them: before or after each reply, as each
        // command's code orders them.
        let ours = own_notifications(&self.ours, script);
        let theirs = own_notifications(&self.redis, script);
        let misordered: Vec<String> = ours
            .iter()
            .zip(&theirs)
            .filter(|((_, o), (_, r))| o != r)
            .map(|((command, o), (_, r))| {
                format!("{command}\n  ferrodis: {o:?}\n  Redis:    {r:?}")
            })
            .collect();
        let pushes = |r: &[(String, Vec<Piece>)]| {
            r.iter()
                .flat_map(|(_, p)| p)
                .filter(|p| matches!(p, Piece::Push(_)))
                .count()
        };
        assert_eq!(pushes(&ours), pushes(&theirs), "{name}: own notifications");
        assert!(pushes(&ours) > 0, "{name}: no own notification arrived");
        assert!(
            misordered.is_empty(),
            "{name}: own notifications and reply in another order than Redis's:\n{}",
            misordered.join("\n")
        );
        assert!(!plain.is_empty(), "{name}: the script reported no events");
        eprintln!(
            "{name}: {} events and {} replies identical",
            plain.len(),
            our_replies.len()
        );
        plain.len()
    }
}

/// Events as readable lines, for assertion messages.
fn show(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|(db, e, k)| format!("{db} {e} {}", String::from_utf8_lossy(k)))
        .collect()
}

/// Runs `script` on `c`, returning each command with its raw reply.
fn run_script(c: &mut RawClient, script: &str) -> Replies {
    let mut replies = Vec::new();
    let mut dump: Vec<u8> = Vec::new();
    for line in script.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = split_words(line);
        match words[0].as_slice() {
            b"@sleep" => {
                let ms: u64 = String::from_utf8_lossy(&words[1]).parse().expect("ms");
                std::thread::sleep(Duration::from_millis(ms));
            }
            b"@waitdbsize" => {
                let want = format!(":{}\r\n", String::from_utf8_lossy(&words[1]));
                let deadline = Instant::now() + Duration::from_secs(10);
                while c.text(&["DBSIZE"]) != want {
                    assert!(Instant::now() < deadline, "DBSIZE never became {want:?}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            b"@dump" => {
                let reply = c.cmd_bytes(&[b"DUMP", &words[1]]);
                match parse(&reply) {
                    Resp::Bytes(payload) => dump = payload,
                    other => panic!("DUMP gave {other:?}"),
                }
            }
            _ => {
                let args: Vec<&[u8]> = words
                    .iter()
                    .map(|w| if w == b"$DUMP" { &dump[..] } else { &w[..] })
                    .collect();
                replies.push((line.to_string(), c.cmd_bytes(&args)));
            }
        }
    }
    replies
}

/// Runs `script` on a fresh ferrodis dataset with `DEBUG KEYEVENTS`
/// recording: the replies and the events as (db, class, event, key).
fn ferrodis_events(server: &ServerProcess, script: &str) -> (Replies, Vec<ClassedEvent>) {
    let mut admin = RawClient::connect(server.port);
    admin.cmd(&["FLUSHALL"]);
    admin.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    assert_eq!(admin.text(&["DEBUG", "KEYEVENTS", "ON"]), "+OK\r\n");
    let mut c = RawClient::connect(server.port);
    let replies = run_script(&mut c, script);
    let raw = admin.cmd(&["DEBUG", "KEYEVENTS", "GET"]);
    admin.cmd(&["DEBUG", "KEYEVENTS", "OFF"]);
    let Resp::Array(items) = parse(&raw) else {
        panic!("DEBUG KEYEVENTS GET: {}", String::from_utf8_lossy(&raw));
    };
    let events = items
        .into_iter()
        .map(|item| match item {
            Resp::Array(parts) => match parts.as_slice() {
                [Resp::Int(db), Resp::Bytes(class), Resp::Bytes(event), Resp::Bytes(key)] => (
                    *db,
                    char::from(class[0]),
                    String::from_utf8_lossy(event).into_owned(),
                    key.clone(),
                ),
                other => panic!("bad event {other:?}"),
            },
            other => panic!("bad event {other:?}"),
        })
        .collect();
    (replies, events)
}

/// Runs `script` on a fresh Redis dataset with `notify-keyspace-events`
/// set to `classes`: the replies and the key-event notifications received.
fn redis_events(server: &ServerProcess, script: &str, classes: &str) -> (Replies, Vec<Event>) {
    let mut admin = RawClient::connect(server.port);
    admin.cmd(&["FLUSHALL"]);
    admin.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    let set = admin.text(&["CONFIG", "SET", "notify-keyspace-events", classes]);
    assert_eq!(
        set, "+OK\r\n",
        "CONFIG SET notify-keyspace-events {classes}"
    );
    let mut sub = RawClient::connect(server.port);
    sub.cmd(&["PSUBSCRIBE", "__keyevent@*__:*"]);
    let mut c = RawClient::connect(server.port);
    let replies = run_script(&mut c, script);
    // A message published after the script arrives after every
    // notification the script caused.
    const DONE: &str = "__keyevent@99__:end-of-script";
    admin.cmd(&["PUBLISH", DONE, "x"]);
    let mut events = Vec::new();
    loop {
        let raw = sub.read_reply();
        assert!(!raw.is_empty(), "the subscriber connection closed");
        let Resp::Array(parts) = parse(&raw) else {
            panic!("not a message: {}", String::from_utf8_lossy(&raw));
        };
        let [Resp::Bytes(kind), _, Resp::Bytes(channel), Resp::Bytes(key)] = parts.as_slice()
        else {
            panic!("not a pmessage: {parts:?}");
        };
        assert_eq!(kind, b"pmessage");
        let channel = String::from_utf8_lossy(channel).into_owned();
        if channel == DONE {
            break;
        }
        let rest = channel
            .strip_prefix("__keyevent@")
            .expect("a keyevent channel");
        let (db, event) = rest.split_once("__:").expect("db and event");
        events.push((db.parse().expect("db"), event.to_string(), key.clone()));
    }
    admin.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    (replies, events)
}

/// Runs `script` (up to a `DEBUG SET-ACTIVE-EXPIRE 1`, after which active
/// expiry's notifications would arrive at any time) on a RESP3 client
/// subscribed to every notification (`KEAn`), its own included: for each
/// command, what the connection received up to the reply of a PING sent
/// right after it, pushes and reply lines in their order.
fn own_notifications(server: &ServerProcess, script: &str) -> Vec<(String, Vec<Piece>)> {
    let mut admin = RawClient::connect(server.port);
    admin.cmd(&["FLUSHALL"]);
    admin.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    admin.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEAn"]);
    let mut c = RawClient::connect(server.port);
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    let mut dump: Vec<u8> = Vec::new();
    let mut received = Vec::new();
    let mut in_multi = false;
    for line in script.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.eq_ignore_ascii_case("DEBUG SET-ACTIVE-EXPIRE 1") {
            break;
        }
        let words = split_words(line);
        match words[0].as_slice() {
            b"@sleep" => {
                let ms: u64 = String::from_utf8_lossy(&words[1]).parse().expect("ms");
                std::thread::sleep(Duration::from_millis(ms));
                continue;
            }
            b"@waitdbsize" => break,
            b"@dump" => {
                match parse(&admin.cmd_bytes(&[b"DUMP", &words[1]])) {
                    Resp::Bytes(payload) => dump = payload,
                    other => panic!("DUMP gave {other:?}"),
                }
                continue;
            }
            _ => {}
        }
        let args: Vec<&[u8]> = words
            .iter()
            .map(|w| if w == b"$DUMP" { &dump[..] } else { &w[..] })
            .collect();
        // Inside MULTI a PING would be queued: MULTI and the queued
        // commands get one reply each and run nothing.
        let command = words[0].to_ascii_uppercase();
        if command == b"MULTI" || in_multi {
            in_multi = command != b"EXEC" && command != b"DISCARD";
        }
        let mut bytes = RawClient::encode(&args);
        let mut pieces = Vec::new();
        if in_multi {
            c.send_raw(&bytes);
            assert!(c.read_pieces(&mut pieces), "{line}: the connection closed");
            received.push((line.to_string(), pieces));
            continue;
        }
        bytes.extend_from_slice(&RawClient::encode(&[b"PING"]));
        c.send_raw(&bytes);
        while pieces.last() != Some(&Piece::Line("+PONG\r\n".into())) {
            assert!(c.read_pieces(&mut pieces), "{line}: the connection closed");
        }
        pieces.pop();
        // Redis writes a command's notifications inside its own reply when
        // it wrote the reply's header first (ZPOPMIN, ZMPOP, EXEC's queued
        // commands), where a RESP3 reader takes them for elements;
        // ferrodis writes those after the reply, as compared here.
        let first = pieces.iter().position(|p| matches!(p, Piece::Line(_)));
        let last = pieces.iter().rposition(|p| matches!(p, Piece::Line(_)));
        if let (Some(first), Some(last)) = (first, last) {
            let (mut reply, inner): (Vec<Piece>, Vec<Piece>) = pieces
                .drain(first..=last)
                .partition(|p| matches!(p, Piece::Line(_)));
            reply.extend(inner);
            pieces.splice(first..first, reply);
        }
        received.push((line.to_string(), pieces));
    }
    admin.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    received
}
