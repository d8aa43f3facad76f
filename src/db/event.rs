//! Keyspace events: what a change did, in Redis's terms (the notification
//! class and the event name of Redis's keyspace notifications), and the sink
//! that hands the events of a command to whoever wants them.
//!
//! Every change a command makes is reported once, through
//! [`DbView::modified`](super::DbView::modified) with its [`KeyEvent`]; the
//! view adds the events it causes itself (`new` when a key is created,
//! `expired` when a lookup finds a key past its time), and active expiry
//! reports `expired` and `hexpired`. The events of a command (or of a whole
//! transaction, or of one active-expiry pass over a shard) reach the
//! [`EventSink`] in the order they happened, while the shard locks of the
//! keys involved are still held, so every consumer sees one global order in
//! which the changes to any one key appear as they happened.
//!
//! Recording costs nothing unless a consumer wants events of some class:
//! the view copies [`EventSink::wanted`] when it locks and records only
//! events whose class is in it. The consumers are the recorder of `DEBUG
//! KEYEVENTS` and client tracking ([`Tracking`], which wants every change
//! while some client tracks); keyspace notifications (pub/sub) plug in
//! here too.

use super::tracking::{Track, Tracking};
use crate::pubsub::{PubSub, Space};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// Redis 7.0's notification classes (its `NOTIFY_*` bits, same values), as
/// `notify-keyspace-events` names them by one character each.
pub mod class {
    /// `K`: publish on `__keyspace@<db>__:<key>` channels (a channel
    /// selector, not a class of events).
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>` channels (a channel
    /// selector).
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: a key (or hash field) expired.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: a key was evicted under `maxmemory`.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: a read found no key (left out of `A`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// A key loaded from a dump (Redis reports it to modules only; it has
    /// no character).
    pub const LOADED: u32 = 1 << 12;
    /// `d`: module events.
    pub const MODULE: u32 = 1 << 13;
    /// `n`: a key was created (left out of `A`).
    pub const NEW: u32 = 1 << 14;
    /// `A`: every class except `m` and `n`.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

    /// A change Redis notifies no one of (PFCOUNT's cached cardinality,
    /// DEBUG POPULATE): only client tracking hears of it. Not a Redis bit.
    pub const UNNOTIFIED: u32 = 1 << 16;
    /// Client tracking's own entries in a command's events: a read to
    /// remember, a flushed database. Not a Redis bit.
    pub const TRACKING: u32 = 1 << 17;
    /// The classes of changes: what client tracking invalidates on.
    pub const CHANGES: u32 = ALL | NEW | UNNOTIFIED;
    /// What keyspace notifications (and the `DEBUG KEYEVENTS` recorder)
    /// may see: Redis's classes.
    pub const NOTIFIED: u32 = ALL | NEW | KEY_MISS | LOADED | KEYSPACE | KEYEVENT;

    /// The character of each class, in the order Redis writes them.
    pub const CHARS: &[(u32, u8)] = &[
        (GENERIC, b'g'),
        (STRING, b'$'),
        (LIST, b'l'),
        (SET, b's'),
        (HASH, b'h'),
        (ZSET, b'z'),
        (EXPIRED, b'x'),
        (EVICTED, b'e'),
        (STREAM, b't'),
        (MODULE, b'd'),
        (NEW, b'n'),
        (KEYSPACE, b'K'),
        (KEYEVENT, b'E'),
        (KEY_MISS, b'm'),
    ];

    /// The character of a single class bit, if it has one.
    pub fn char_of(class: u32) -> Option<u8> {
        CHARS.iter().find(|&&(c, _)| c == class).map(|&(_, ch)| ch)
    }

    /// Parses a `notify-keyspace-events` value into class bits; `None` for
    /// a character that names no class.
    pub fn parse(text: &[u8]) -> Option<u32> {
        text.iter().try_fold(0, |acc, &ch| {
            if ch == b'A' {
                return Some(acc | ALL);
            }
            CHARS
                .iter()
                .find(|&&(_, c)| c == ch)
                .map(|&(bit, _)| acc | bit)
        })
    }

    /// Writes class bits back as Redis does: `A` for all of `ALL` (Redis
    /// then leaves `n` out), else each class; the selectors and `m` last.
    pub fn format(flags: u32) -> String {
        let mut out = String::new();
        let tail = [KEYSPACE, KEYEVENT, KEY_MISS];
        if flags & ALL == ALL {
            out.push('A');
        } else {
            for &(bit, ch) in CHARS.iter().filter(|(bit, _)| !tail.contains(bit)) {
                if flags & bit != 0 {
                    out.push(ch as char);
                }
            }
        }
        for bit in tail {
            if flags & bit != 0 {
                out.push(char_of(bit).map_or('?', char::from));
            }
        }
        out
    }
}

/// One kind of keyspace event: its notification class and Redis's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    /// The class bit (one of [`class`]; [`class::UNNOTIFIED`] for a change
    /// Redis reports to no one).
    pub class: u32,
    /// The event name, as Redis publishes it.
    pub name: &'static str,
}

impl KeyEvent {
    const fn new(class: u32, name: &'static str) -> Self {
        KeyEvent { class, name }
    }

    /// A change Redis notifies no one of (DEBUG POPULATE's keys): it still
    /// fails WATCH, counts as a change and invalidates tracked keys.
    pub const NONE: KeyEvent = KeyEvent::new(class::UNNOTIFIED, "");
    /// A tracking client's read-only command read the key (recorded by
    /// the command layer, for client tracking only).
    pub const TRACKED_READ: KeyEvent = KeyEvent::new(class::TRACKING, "tracked-read");
    /// A database was flushed (FLUSHDB, FLUSHALL; for client tracking
    /// only, which invalidates every key).
    pub const FLUSHED: KeyEvent = KeyEvent::new(class::TRACKING, "flushed");

    // ----- keys -----
    /// A key was created (before the creating command's own event).
    pub const NEW: KeyEvent = KeyEvent::new(class::NEW, "new");
    /// A read lookup found no key (class `m`).
    pub const KEYMISS: KeyEvent = KeyEvent::new(class::KEY_MISS, "keymiss");
    /// A key was found past its time and deleted, lazily or actively.
    pub const EXPIRED: KeyEvent = KeyEvent::new(class::EXPIRED, "expired");
    /// A key was deleted (DEL, UNLINK, GETDEL, a container emptied, an
    /// expiry time already past).
    pub const DEL: KeyEvent = KeyEvent::new(class::GENERIC, "del");
    /// An expiry time was set.
    pub const EXPIRE: KeyEvent = KeyEvent::new(class::GENERIC, "expire");
    /// An expiry time was removed.
    pub const PERSIST: KeyEvent = KeyEvent::new(class::GENERIC, "persist");
    /// RENAME's source key.
    pub const RENAME_FROM: KeyEvent = KeyEvent::new(class::GENERIC, "rename_from");
    /// RENAME's destination key.
    pub const RENAME_TO: KeyEvent = KeyEvent::new(class::GENERIC, "rename_to");
    /// MOVE's key in the source database.
    pub const MOVE_FROM: KeyEvent = KeyEvent::new(class::GENERIC, "move_from");
    /// MOVE's key in the destination database.
    pub const MOVE_TO: KeyEvent = KeyEvent::new(class::GENERIC, "move_to");
    /// COPY's destination key.
    pub const COPY_TO: KeyEvent = KeyEvent::new(class::GENERIC, "copy_to");
    /// RESTORE's key.
    pub const RESTORE: KeyEvent = KeyEvent::new(class::GENERIC, "restore");

    // ----- strings -----
    /// SET and its variants, MSET, GETSET.
    pub const SET: KeyEvent = KeyEvent::new(class::STRING, "set");
    /// SETRANGE.
    pub const SETRANGE: KeyEvent = KeyEvent::new(class::STRING, "setrange");
    /// INCR, DECR, INCRBY, DECRBY.
    pub const INCRBY: KeyEvent = KeyEvent::new(class::STRING, "incrby");
    /// INCRBYFLOAT.
    pub const INCRBYFLOAT: KeyEvent = KeyEvent::new(class::STRING, "incrbyfloat");
    /// APPEND.
    pub const APPEND: KeyEvent = KeyEvent::new(class::STRING, "append");

    // ----- lists -----
    /// An element pushed at the head (LPUSH, LPUSHX, LMOVE … LEFT).
    pub const LPUSH: KeyEvent = KeyEvent::new(class::LIST, "lpush");
    /// An element pushed at the tail.
    pub const RPUSH: KeyEvent = KeyEvent::new(class::LIST, "rpush");
    /// Elements popped from the head (LPOP, LMPOP LEFT, LMOVE LEFT …).
    pub const LPOP: KeyEvent = KeyEvent::new(class::LIST, "lpop");
    /// Elements popped from the tail.
    pub const RPOP: KeyEvent = KeyEvent::new(class::LIST, "rpop");
    /// LINSERT.
    pub const LINSERT: KeyEvent = KeyEvent::new(class::LIST, "linsert");
    /// LSET.
    pub const LSET: KeyEvent = KeyEvent::new(class::LIST, "lset");
    /// LTRIM (even when it removed nothing).
    pub const LTRIM: KeyEvent = KeyEvent::new(class::LIST, "ltrim");
    /// LREM.
    pub const LREM: KeyEvent = KeyEvent::new(class::LIST, "lrem");

    // ----- hashes -----
    /// HSET, HMSET, HSETNX, HSETEX.
    pub const HSET: KeyEvent = KeyEvent::new(class::HASH, "hset");
    /// HINCRBY.
    pub const HINCRBY: KeyEvent = KeyEvent::new(class::HASH, "hincrby");
    /// HINCRBYFLOAT.
    pub const HINCRBYFLOAT: KeyEvent = KeyEvent::new(class::HASH, "hincrbyfloat");
    /// Fields deleted (HDEL, HGETDEL, a field expiry time already past).
    pub const HDEL: KeyEvent = KeyEvent::new(class::HASH, "hdel");
    /// Field expiry times set (HEXPIRE family, HGETEX, HSETEX).
    pub const HEXPIRE: KeyEvent = KeyEvent::new(class::HASH, "hexpire");
    /// Field expiry times removed (HPERSIST, HGETEX PERSIST).
    pub const HPERSIST: KeyEvent = KeyEvent::new(class::HASH, "hpersist");
    /// Fields found past their time and deleted (Redis 7.4 reports it in
    /// the hash class, not `x`).
    pub const HEXPIRED: KeyEvent = KeyEvent::new(class::HASH, "hexpired");

    // ----- sorted sets -----
    /// ZADD (without INCR) adding or updating members.
    pub const ZADD: KeyEvent = KeyEvent::new(class::ZSET, "zadd");
    /// ZINCRBY, ZADD INCR.
    pub const ZINCR: KeyEvent = KeyEvent::new(class::ZSET, "zincr");
    /// ZREM.
    pub const ZREM: KeyEvent = KeyEvent::new(class::ZSET, "zrem");
    /// ZREMRANGEBYSCORE.
    pub const ZREMRANGEBYSCORE: KeyEvent = KeyEvent::new(class::ZSET, "zremrangebyscore");
    /// ZREMRANGEBYRANK.
    pub const ZREMRANGEBYRANK: KeyEvent = KeyEvent::new(class::ZSET, "zremrangebyrank");
    /// ZREMRANGEBYLEX.
    pub const ZREMRANGEBYLEX: KeyEvent = KeyEvent::new(class::ZSET, "zremrangebylex");
    /// ZPOPMIN, ZMPOP MIN.
    pub const ZPOPMIN: KeyEvent = KeyEvent::new(class::ZSET, "zpopmin");
    /// ZPOPMAX, ZMPOP MAX.
    pub const ZPOPMAX: KeyEvent = KeyEvent::new(class::ZSET, "zpopmax");
    /// ZUNIONSTORE.
    pub const ZUNIONSTORE: KeyEvent = KeyEvent::new(class::ZSET, "zunionstore");
    /// ZINTERSTORE.
    pub const ZINTERSTORE: KeyEvent = KeyEvent::new(class::ZSET, "zinterstore");
    /// ZDIFFSTORE.
    pub const ZDIFFSTORE: KeyEvent = KeyEvent::new(class::ZSET, "zdiffstore");
    /// ZRANGESTORE.
    pub const ZRANGESTORE: KeyEvent = KeyEvent::new(class::ZSET, "zrangestore");
    /// GEORADIUS / GEORADIUSBYMEMBER with STORE or STOREDIST storing a
    /// result (GEOADD reports `zadd`).
    pub const GEORADIUSSTORE: KeyEvent = KeyEvent::new(class::ZSET, "georadiusstore");
    /// GEOSEARCHSTORE storing a result.
    pub const GEOSEARCHSTORE: KeyEvent = KeyEvent::new(class::ZSET, "geosearchstore");
    // ----- bitmaps and HyperLogLog (string class) -----
    /// SETBIT, and BITFIELD when it changed a field.
    pub const SETBIT: KeyEvent = KeyEvent::new(class::STRING, "setbit");
    /// PFADD that changed a register, and PFMERGE (Redis reports a merge
    /// as an add).
    pub const PFADD: KeyEvent = KeyEvent::new(class::STRING, "pfadd");

    // ----- sets -----
    /// SADD, and SMOVE's destination when the member was added.
    pub const SADD: KeyEvent = KeyEvent::new(class::SET, "sadd");
    /// SREM, and SMOVE's source.
    pub const SREM: KeyEvent = KeyEvent::new(class::SET, "srem");
    /// SPOP (with or without a count).
    pub const SPOP: KeyEvent = KeyEvent::new(class::SET, "spop");
    /// SINTERSTORE's destination.
    pub const SINTERSTORE: KeyEvent = KeyEvent::new(class::SET, "sinterstore");
    /// SUNIONSTORE's destination.
    pub const SUNIONSTORE: KeyEvent = KeyEvent::new(class::SET, "sunionstore");
    /// SDIFFSTORE's destination.
    pub const SDIFFSTORE: KeyEvent = KeyEvent::new(class::SET, "sdiffstore");
    /// SORT ... STORE's destination (a list, hence the list class).
    pub const SORTSTORE: KeyEvent = KeyEvent::new(class::LIST, "sortstore");
}

/// An event that happened: where, what, to which key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The database.
    pub db: usize,
    /// The event.
    pub event: KeyEvent,
    /// The key.
    pub key: Box<[u8]>,
}

/// A command's (or transaction's) events, in order. A view holds one and
/// is built and dropped for every command, so an empty list is one null
/// pointer, and dropping it is one test: what to free is freed out of line.
#[derive(Default)]
pub struct EventList(
    #[allow(clippy::box_collection)] std::mem::ManuallyDrop<Option<Box<Vec<Recorded>>>>,
);

impl EventList {
    /// True if no event was recorded.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The number of events recorded.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |events| events.len())
    }

    /// Appends an event (recording is the rare path: callers keep it out
    /// of line).
    pub fn push(&mut self, event: Recorded) {
        self.0.get_or_insert_default().push(event);
    }

    /// Takes the events out, leaving the list empty.
    pub fn take(&mut self) -> Vec<Recorded> {
        self.0.take().map(|events| *events).unwrap_or_default()
    }

    #[cold]
    #[inline(never)]
    fn release(&mut self) {
        drop(self.0.take());
    }
}

impl Drop for EventList {
    #[inline]
    fn drop(&mut self) {
        // `ManuallyDrop` keeps the compiler from inlining the vector's
        // destructor here; `release` leaves nothing behind to leak.
        if self.0.is_some() {
            self.release();
        }
    }
}

/// Where the events of every command go (one per keyspace).
#[derive(Default)]
pub struct EventSink {
    /// The classes some consumer wants (the union of theirs); a view copies
    /// it when it locks.
    wanted: AtomicU32,
    /// `DEBUG KEYEVENTS`'s recording, while it is on.
    recorder: Mutex<Option<Recording>>,
    /// Client tracking: the table of tracked keys and its clients.
    tracking: Tracking,
    /// `notify-keyspace-events`: the classes published as keyspace
    /// notifications, with the `K`/`E` channel selectors.
    notify: AtomicU32,
    /// Where notifications are published.
    pubsub: OnceLock<Arc<PubSub>>,
}

/// Most events a recording keeps between two reads; past it, events are
/// counted as lost instead (a forgotten recording must not grow without
/// bound).
pub const RECORDING_LIMIT: usize = 1 << 20;

/// What `DEBUG KEYEVENTS` recorded since it last read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// The events, oldest first.
    pub events: Vec<Recorded>,
    /// Events not kept because the recording was full.
    pub lost: u64,
}

impl EventSink {
    /// The classes some consumer wants; 0 when none does.
    #[inline]
    pub fn wanted(&self) -> u32 {
        self.wanted.load(Ordering::Relaxed)
    }

    /// Client tracking's state (its table, trackers and prefixes).
    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    /// Recomputes what the consumers want, after client tracking turned on
    /// for a first client or off for the last one. Call it with the
    /// tracking change made, before the command that made it replies.
    pub fn refresh_wanted(&self) {
        let recorder = self.recorder.lock();
        self.update_wanted(recorder.is_some());
    }

    /// [`EventSink::deliver`] for the events of client `origin`'s command
    /// (0: no client's): the messages for that client itself go to `own`,
    /// the notifications of the first `split` events to `own.before`.
    pub fn deliver_from(
        &self,
        events: &mut Vec<Recorded>,
        origin: u64,
        split: usize,
        own: &mut Own,
    ) {
        if self.tracking.active() {
            let tracked = events.iter().filter_map(|r| {
                let what = if r.event.class & class::TRACKING != 0 {
                    if r.event == KeyEvent::FLUSHED {
                        Track::Flushed
                    } else {
                        Track::Read
                    }
                } else if r.event.class & class::CHANGES != 0 {
                    let by_client = r.event != KeyEvent::EXPIRED && r.event.class != class::EVICTED;
                    Track::Changed { by_client }
                } else {
                    return None;
                };
                Some((what, &r.key[..]))
            });
            self.tracking.deliver(tracked, origin, &mut own.tracking);
        }
        let to_origin = (origin != 0).then_some((origin, split, own));
        self.publish_and_record(events, to_origin);
    }

    /// Hands over `events` (in the order they happened) and leaves the
    /// vector empty. Called with the shard locks of their keys held, so
    /// notifications are published in one global order.
    pub fn deliver(&self, events: &mut Vec<Recorded>) {
        self.publish_and_record(events, None);
    }

    fn publish_and_record(&self, events: &mut Vec<Recorded>, own: Option<(u64, usize, &mut Own)>) {
        let notify = self.notify.load(Ordering::Relaxed);
        if notify & (class::KEYSPACE | class::KEYEVENT) != 0 {
            if let Some(pubsub) = self.pubsub.get() {
                publish_notifications(pubsub, notify, events, own);
            }
        }
        if let Some(rec) = self.recorder.lock().as_mut() {
            // Only what notifications would see.
            events.retain(|r| r.event.class & class::NOTIFIED != 0);
            let room = RECORDING_LIMIT.saturating_sub(rec.events.len());
            let lost = events.len().saturating_sub(room);
            events.truncate(events.len() - lost);
            rec.events.append(events);
            rec.lost += lost as u64;
        }
        events.clear();
    }

    /// Starts (or restarts) recording every event. Call with every shard
    /// locked, so that each command sees recording either on or off.
    pub fn start_recording(&self) {
        let mut recorder = self.recorder.lock();
        *recorder = Some(Recording::default());
        self.update_wanted(true);
    }

    /// Stops recording and drops what was recorded.
    pub fn stop_recording(&self) {
        let mut recorder = self.recorder.lock();
        *recorder = None;
        self.update_wanted(false);
    }

    /// Where keyspace notifications are published (set once, at start-up).
    pub fn attach(&self, pubsub: Arc<PubSub>) {
        let _ = self.pubsub.set(pubsub);
    }

    /// Sets the classes published as notifications (`notify-keyspace-events`
    /// as class bits).
    pub fn set_notify(&self, flags: u32) {
        let recorder = self.recorder.lock();
        self.notify.store(flags, Ordering::Relaxed);
        self.update_wanted(recorder.is_some());
    }

    /// Recomputes the union of what the consumers want (the recorder's lock
    /// held, so that the two setters do not race).
    fn update_wanted(&self, recording: bool) {
        let notify = self.notify.load(Ordering::Relaxed);
        // Without a channel selector Redis publishes nothing.
        let published = if notify & (class::KEYSPACE | class::KEYEVENT) != 0 {
            notify
        } else {
            0
        };
        let mut wanted = if recording { u32::MAX } else { published };
        // Client tracking hears of every change while some client tracks.
        if self.tracking.active() {
            wanted |= class::CHANGES | class::TRACKING;
        }
        self.wanted.store(wanted, Ordering::Relaxed);
    }

    /// What was recorded since recording started or since the last call
    /// (`None` if recording is off).
    pub fn take_recorded(&self) -> Option<Recording> {
        self.recorder.lock().as_mut().map(std::mem::take)
    }
}

/// Publishes `events` of the classes in `notify` as Redis's keyspace
/// notifications: `__keyspace@<db>__:<key>` with the event name, then
/// `__keyevent@<db>__:<event>` with the key, as the `K` and `E` selectors
/// ask. One registry lock for the whole batch.
fn publish_notifications(
    pubsub: &PubSub,
    notify: u32,
    events: &[Recorded],
    mut own: Option<(u64, usize, &mut Own)>,
) {
    let mut registry = None;
    let mut channel = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if e.event.class & notify == 0 {
            continue;
        }
        let registry = registry.get_or_insert_with(|| pubsub.lock());
        let db = e.db.to_string();
        let name = e.event.name.as_bytes();
        for (selector, kind, suffix, message) in [
            (class::KEYSPACE, "__keyspace@", &e.key[..], name),
            (class::KEYEVENT, "__keyevent@", name, &e.key[..]),
        ] {
            if notify & selector == 0 {
                continue;
            }
            channel.clear();
            channel.extend_from_slice(kind.as_bytes());
            channel.extend_from_slice(db.as_bytes());
            channel.extend_from_slice(b"__:");
            channel.extend_from_slice(suffix);
            let to_self = own.as_mut().map(|(id, split, own)| {
                let part = if i < *split {
                    &mut own.before
                } else {
                    &mut own.after
                };
                (*id, part)
            });
            registry.publish_from(Space::Channels, &channel, message, to_self);
        }
    }
}

/// The messages a command's events cause for the client that ran it,
/// placed around its reply by the dispatcher as Redis writes them.
#[derive(Default)]
pub struct Own {
    /// Keyspace notifications Redis writes before the reply.
    pub before: Vec<u8>,
    /// Keyspace notifications Redis writes after the reply.
    pub after: Vec<u8>,
    /// Client tracking's invalidations, which follow the reply and the
    /// notifications (Redis sends them once the command is done).
    pub tracking: Vec<u8>,
}

impl Own {
    /// True if none of the three holds anything.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty() && self.tracking.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::class::*;
    use super::*;

    #[test]
    fn classes_have_redis_bits_and_characters() {
        // Redis 7.0's values: the bits are part of its module API.
        assert_eq!((KEYSPACE, KEYEVENT, GENERIC, STRING), (1, 2, 4, 8));
        assert_eq!((EXPIRED, KEY_MISS, NEW), (256, 2048, 16384));
        assert_eq!(parse(b"KEA"), Some(KEYSPACE | KEYEVENT | ALL));
        assert_eq!(parse(b"KEAn").map(|f| f & NEW), Some(NEW));
        assert_eq!(
            parse(b"g$lshzxetdnKEm"),
            Some(ALL | NEW | KEY_MISS | KEYSPACE | KEYEVENT)
        );
        assert_eq!(parse(b"q"), None);
        assert_eq!(parse(b""), Some(0));
        assert_eq!(format(parse(b"Elh").unwrap()), "lhE");
        assert_eq!(format(parse(b"mAK").unwrap()), "AKm");
        assert_eq!(format(parse(b"KEAn").unwrap()), "AKE");
        for &(bit, ch) in CHARS {
            assert_eq!(bit.count_ones(), 1);
            assert_eq!(parse(&[ch]), Some(bit));
            assert_eq!(char_of(bit), Some(ch));
        }
        assert_eq!(char_of(LOADED), None);
    }

    #[test]
    fn the_sink_records_only_while_on() {
        let sink = EventSink::default();
        assert_eq!(sink.wanted(), 0);
        let event = |k: &[u8]| Recorded {
            db: 0,
            event: KeyEvent::SET,
            key: k.into(),
        };
        let mut batch = vec![event(b"a")];
        sink.deliver(&mut batch);
        assert!(batch.is_empty());
        assert_eq!(sink.take_recorded(), None);
        sink.start_recording();
        assert_ne!(sink.wanted() & STRING, 0);
        let mut batch = vec![event(b"b"), event(b"c")];
        sink.deliver(&mut batch);
        let got = sink.take_recorded().expect("recording");
        assert_eq!((got.events, got.lost), (vec![event(b"b"), event(b"c")], 0));
        assert_eq!(sink.take_recorded(), Some(Recording::default()));
        // A full recording counts what it cannot keep.
        let mut many = vec![event(b"x"); RECORDING_LIMIT + 3];
        sink.deliver(&mut many);
        let mut more = vec![event(b"y")];
        sink.deliver(&mut more);
        let got = sink.take_recorded().expect("recording");
        assert_eq!((got.events.len(), got.lost), (RECORDING_LIMIT, 4));
        sink.stop_recording();
        assert_eq!(sink.wanted(), 0);
        assert_eq!(sink.take_recorded(), None);
    }
}
