//! `DbView`: what a command sees of the keyspace while it holds its shard
//! locks: typed accessors, lazy expiry, modification bookkeeping.

use super::access::{lru_clock, AccessPolicy, Entry};
use super::event::{EventList, EventSink, KeyEvent, Own, Recorded};
use super::shard::{shard_of, Shard, ShardDb, SHARD_COUNT};
use super::snapshot::DbSnapshot;
use super::watch::{WatchFlag, Watcher};
use crate::dict::hash_key;
use crate::error::{CmdError, WRONGTYPE};
use crate::types::{HashValue, ListValue, SetValue, StrValue, Value, ZSetValue};
use bytes::Bytes;
use parking_lot::MutexGuard;
use std::sync::Arc;

/// A command's window on the keyspace: the locked shards and the selected
/// database. Dropping it releases the locks.
pub struct DbView<'a> {
    pub(super) guards: [Option<MutexGuard<'a, Shard>>; SHARD_COUNT],
    /// The selected database.
    pub db: usize,
    /// The time the command runs at: a command (and a whole transaction) sees
    /// one consistent clock for expiry.
    pub now_ms: i64,
    /// Changes made (for `save` rules and INFO).
    pub dirty: u64,
    /// Read lookups that found a key.
    pub hits: u64,
    /// Read lookups that found nothing.
    pub misses: u64,
    /// Keys deleted because they had expired.
    pub expired: u64,
    /// Lookups leave access times alone (CLIENT NO-TOUCH).
    pub no_touch: bool,
    /// Expiry is held (CLIENT PAUSE): reads treat keys past their time as
    /// absent without deleting them, so nothing changes during a pause.
    pub hold_expiry: bool,
    /// What access stamps record (from `maxmemory-policy`).
    pub access: AccessPolicy,
    /// Changes are being logged (the AOF is on): effects are collected in
    /// `effects` for `cmd::execute` to append while the locks are held.
    pub logging: bool,
    /// Logged effects of the command (or transaction) so far.
    pub effects: Vec<crate::aof::Effect>,
    /// The running command logged its own effects in place of itself.
    effect_logged: bool,
    /// Hashes of the keys whose LFU counter this command has bumped: Redis
    /// counts one access per key per command, however many times a command
    /// looks the key up.
    lfu_touched: [u64; 4],
    lfu_touched_len: usize,
    /// The event classes someone wants, copied from the sink when the view
    /// locked: events of other classes are not recorded.
    pub(super) event_mask: u32,
    /// The events of the command (or transaction) so far, in order, until
    /// [`DbView::deliver_events`] hands them to the sink.
    pub(super) events: EventList,
    /// Where Redis writes the running command's reply among its events
    /// (see [`DbView::reply_written`]); `None`: after all of them.
    reply_at: Option<usize>,
    /// Keys with blocked clients that a change here may have made
    /// servable, as (db, key), for `DbView::serve_ready`.
    pub(super) ready: Vec<(usize, Box<[u8]>)>,
}

impl DbView<'_> {
    /// A view holding no shard yet.
    pub(super) fn empty(db: usize, now_ms: i64) -> Self {
        DbView {
            guards: Default::default(),
            db,
            now_ms,
            dirty: 0,
            hits: 0,
            misses: 0,
            expired: 0,
            no_touch: false,
            hold_expiry: false,
            access: AccessPolicy::Lru,
            logging: false,
            effects: Vec::new(),
            effect_logged: false,
            lfu_touched: [0; 4],
            lfu_touched_len: 0,
            event_mask: 0,
            events: EventList::default(),
            reply_at: None,
            ready: Vec::new(),
        }
    }
}

impl DbView<'_> {
    /// Hands the events recorded so far to `sink`, in order. Whoever runs
    /// commands on a view calls it before the view (and so its locks) goes:
    /// consumers then see the events of any one key in the order the
    /// changes happened. One branch when nothing was recorded.
    #[inline]
    pub fn deliver_events(&mut self, sink: &EventSink) {
        if !self.events.is_empty() {
            self.hand_over(sink);
        }
    }

    #[cold]
    #[inline(never)]
    fn hand_over(&mut self, sink: &EventSink) {
        sink.deliver_from(&mut self.events.take(), 0, 0, &mut Own::default());
    }

    /// True if events wait to be delivered.
    #[inline]
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// [`DbView::deliver_events`] for the command of client `origin`:
    /// the messages for that client itself go to `own` (see [`Own`]).
    #[inline]
    pub fn deliver_events_from(&mut self, sink: &EventSink, origin: u64, own: &mut Own) {
        if !self.events.is_empty() {
            self.hand_over_from(sink, origin, own);
        }
    }

    #[cold]
    #[inline(never)]
    fn hand_over_from(&mut self, sink: &EventSink, origin: u64, own: &mut Own) {
        let mut events = self.events.take();
        let split = self.reply_at.unwrap_or(events.len());
        sink.deliver_from(&mut events, origin, split, own);
    }

    /// Marks the point among the running command's events where Redis
    /// writes its reply: a client subscribed to the notifications of its
    /// own command receives those recorded from here on after the reply,
    /// the earlier ones before it. A command that never marks replies
    /// after all its events (SET, DEL, ...); RPUSH, HSET, EXPIRE, ... mark
    /// before their own event, where Redis replies before notifying.
    #[inline]
    pub fn reply_written(&mut self) {
        if self.reply_at.is_none() {
            self.reply_at = Some(self.events.len());
        }
    }

    /// Runs `f` (a command inside EXEC or a script) with its reply mark
    /// discarded: the enclosing command's mark is the one that counts.
    #[inline]
    pub fn without_reply_mark<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let outer = self.reply_at;
        let result = f(self);
        self.reply_at = outer;
        result
    }

    /// Records that the running command, a read-only command of a client
    /// in tracking mode, read `key`: client tracking remembers it for that
    /// client when the events are delivered (in order with the changes).
    #[cold]
    pub fn track_read(&mut self, key: &[u8]) {
        self.push_event(key, KeyEvent::TRACKED_READ);
    }

    /// Records that a database was flushed, for client tracking (which
    /// then invalidates every key).
    pub fn flushed(&mut self) {
        self.record(b"", KeyEvent::FLUSHED);
    }
}

/// Debug builds check that no recorded event is dropped undelivered (a
/// view that ran commands without [`DbView::deliver_events`]). Release
/// builds leave the view without a destructor of its own: it is built and
/// dropped for every command.
#[cfg(debug_assertions)]
impl Drop for DbView<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            debug_assert!(self.events.is_empty(), "keyspace events never delivered");
        }
    }
}

macro_rules! typed_accessors {
    ($get:ident, $get_uncounted:ident, $get_mut:ident, $get_or_create:ident, $variant:ident, $ty:ty) => {
        /// The value at `key` if it has this type; `WRONGTYPE` if it has
        /// another; `None` if absent.
        /// Counted as a read lookup (INFO's keyspace hits and misses, the
        /// `keymiss` event), as Redis's `lookupKeyRead` counts the
        /// commands that read a key's value; writers look up through the
        /// mutable form, which is not counted.
        pub fn $get(&mut self, key: &[u8]) -> Result<Option<&$ty>, CmdError> {
            match self.get_counted(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(std::borrow::Borrow::borrow(v))),
                Some(_) => Err(WRONGTYPE),
            }
        }

        /// The typed getter without counting the lookup: for a writer's
        /// look at a key before it changes it (Redis's `lookupKeyWrite`),
        /// and for a second look at a key already counted.
        pub fn $get_uncounted(&mut self, key: &[u8]) -> Result<Option<&$ty>, CmdError> {
            match self.get(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(std::borrow::Borrow::borrow(v))),
                Some(_) => Err(WRONGTYPE),
            }
        }

        /// Mutable form of the typed getter.
        pub fn $get_mut(&mut self, key: &[u8]) -> Result<Option<&mut $ty>, CmdError> {
            match self.get_mut(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(std::borrow::BorrowMut::borrow_mut(v))),
                Some(_) => Err(WRONGTYPE),
            }
        }

        /// The value at `key`, created empty if absent; `WRONGTYPE` if the key
        /// holds another type.
        pub fn $get_or_create(&mut self, key: &[u8]) -> Result<&mut $ty, CmdError> {
            let hash = hash_key(key);
            self.expire_if_needed(hash, key);
            let (db, access, now) = (self.db, self.access, self.now_ms);
            // An existing key counts as accessed (once per command under
            // LFU, where creating it counts as this command's access too).
            let touch = match access {
                AccessPolicy::Lru => true,
                AccessPolicy::Lfu { .. } => {
                    let exists = self.shard(hash).dbs[db].keys.contains(hash, key);
                    self.first_access(hash) && exists
                }
            };
            self.shard(hash).dbs[db].preserve_for_insert(hash);
            let mut created = false;
            let mask = self.event_mask;
            // Borrows the shard and the event list apart, so the entry
            // stays borrowed while a creation is recorded.
            let (value, lru) = match self.guards[shard_of(hash)].as_deref_mut() {
                Some(shard) => shard.dbs[db].keys.get_or_insert_with(hash, key, || {
                    created = true;
                    (Value::$variant(Default::default()), access.new_stamp(now))
                }),
                None => unreachable!("the shard was locked above"),
            };
            if created && mask & KeyEvent::NEW.class != 0 {
                record_new(&mut self.events, db, key);
            }
            if touch {
                *lru = access.touched(*lru, now);
            }
            match value {
                Value::$variant(v) => Ok(std::borrow::BorrowMut::borrow_mut(v)),
                _ => Err(WRONGTYPE),
            }
        }
    };
}

/// Records the creation of `key` in `db` (for accessors that hold a borrow
/// of the shard meanwhile).
#[cold]
#[inline(never)]
fn record_new(events: &mut EventList, db: usize, key: &[u8]) {
    events.push(Recorded {
        db,
        event: KeyEvent::NEW,
        key: key.into(),
    });
}

impl<'a> DbView<'a> {
    #[inline]
    fn shard(&mut self, hash: u64) -> &mut Shard {
        let idx = shard_of(hash);
        match self.guards[idx].as_deref_mut() {
            Some(shard) => shard,
            // The command table's key positions decide what is locked; a key
            // outside them is a bug in the table, not a client error.
            None => panic!("keyspace shard {idx} accessed without its lock"),
        }
    }

    /// Marks `key` (which has waiters) ready to serve (from `modified`).
    #[cold]
    #[inline(never)]
    pub(super) fn mark_ready(&mut self, key: &[u8]) {
        let entry = (self.db, Box::from(key));
        if !self.ready.contains(&entry) {
            self.ready.push(entry);
        }
    }

    /// Shard `idx`, which the view must hold.
    pub(super) fn shard_at(&mut self, idx: usize) -> &mut Shard {
        match self.guards[idx].as_deref_mut() {
            Some(shard) => shard,
            None => panic!("keyspace shard {idx} accessed without its lock"),
        }
    }

    fn locked_shards(&mut self) -> impl Iterator<Item = &mut Shard> + use<'_, 'a> {
        self.guards.iter_mut().filter_map(|g| g.as_deref_mut())
    }

    /// True when every shard is locked (whole-keyspace operations need it).
    pub fn holds_all(&self) -> bool {
        self.guards.iter().all(Option::is_some)
    }

    /// For a read: true if `key`'s time has passed. The key is deleted
    /// then, unless expiry is held (CLIENT PAUSE), when it only counts as
    /// absent.
    fn expired_for_read(&mut self, hash: u64, key: &[u8]) -> bool {
        if self.hold_expiry {
            let (db, now) = (self.db, self.now_ms);
            return self.shard(hash).dbs[db].is_stale(hash, key, now);
        }
        self.expire_if_needed(hash, key)
    }

    /// Deletes `key` if its time has passed; true if it did.
    fn expire_if_needed(&mut self, hash: u64, key: &[u8]) -> bool {
        let (db, now) = (self.db, self.now_ms);
        let shard = self.shard(hash);
        let sdb = &mut shard.dbs[db];
        if sdb.expires.is_empty() {
            return false;
        }
        match sdb.expires.get(hash, key) {
            Some(&when) if when <= now => {
                sdb.remove(hash, key);
                shard.touch_watchers(db, key);
                self.expired += 1;
                if self.logging {
                    self.log_side_effect(crate::aof::command(&[b"DEL", key]));
                }
                self.record(key, KeyEvent::EXPIRED);
                true
            }
            _ => false,
        }
    }

    /// The live value at `key`, its access time updated unless `no_touch`;
    /// `read` for a lookup that changes nothing (see `hold_expiry`).
    fn lookup(&mut self, hash: u64, key: &[u8], read: bool) -> Option<&mut Value> {
        if read {
            if self.expired_for_read(hash, key) {
                return None;
            }
        } else {
            self.expire_if_needed(hash, key);
        }
        let (db, access, now) = (self.db, self.access, self.now_ms);
        let touch = !self.no_touch
            && (access == AccessPolicy::Lru
                || (self.shard(hash).dbs[db].keys.contains(hash, key) && self.first_access(hash)));
        let (value, lru) = self.shard(hash).dbs[db].keys.get_mut_with_aux(hash, key)?;
        if touch {
            *lru = access.touched(*lru, now);
        }
        Some(value)
    }

    /// The live value at `key`.
    pub fn get(&mut self, key: &[u8]) -> Option<&Value> {
        let hash = hash_key(key);
        self.lookup(hash, key, true).map(|v| &*v)
    }

    /// The live entry at `key` without updating its access time (OBJECT,
    /// TYPE-like inspection).
    pub fn peek(&mut self, key: &[u8]) -> Option<Entry<'_>> {
        let hash = hash_key(key);
        if self.expired_for_read(hash, key) {
            return None;
        }
        let db = self.db;
        self.shard(hash).dbs[db]
            .keys
            .get_with_aux(hash, key)
            .map(|(value, lru)| Entry { value, lru })
    }

    /// Sets the access stamp of `key` (RESTORE's IDLETIME and FREQ).
    pub fn set_access_stamp(&mut self, key: &[u8], stamp: u32) {
        let hash = hash_key(key);
        let db = self.db;
        if let Some((_, lru)) = self.shard(hash).dbs[db].keys.get_mut_with_aux(hash, key) {
            *lru = stamp;
        }
    }

    /// Updates the access time of `key` even under CLIENT NO-TOUCH (the
    /// TOUCH command); true if the key exists.
    pub fn touch(&mut self, key: &[u8]) -> bool {
        let hash = hash_key(key);
        if self.expired_for_read(hash, key) {
            return false;
        }
        let (db, access, now) = (self.db, self.access, self.now_ms);
        let first = self.first_access(hash);
        match self.shard(hash).dbs[db].keys.get_mut_with_aux(hash, key) {
            Some((_, lru)) => {
                if first {
                    *lru = access.touched(*lru, now);
                }
                true
            }
            None => false,
        }
    }

    /// True if `key` exists in its shard's dictionary, even if its time has
    /// passed and it was not reclaimed yet (for WATCH bookkeeping).
    pub fn is_stale(&mut self, key: &[u8]) -> bool {
        let hash = hash_key(key);
        let (db, now) = (self.db, self.now_ms);
        self.shard(hash).dbs[db].is_stale(hash, key, now)
    }

    /// The live value at `key`, counting a keyspace hit or miss (for the read
    /// lookups INFO's `keyspace_hits`/`keyspace_misses` count).
    pub fn get_counted(&mut self, key: &[u8]) -> Option<&Value> {
        let hash = hash_key(key);
        let found = self.lookup(hash, key, true).is_some();
        if !self.count_read(key, found) {
            return None;
        }
        let db = self.db;
        self.shard(hash).dbs[db].keys.get(hash, key)
    }

    /// Counts a read lookup of `key` as Redis's `lookupKeyRead` does: a hit,
    /// or a miss with its `keymiss` event. Returns `found`.
    pub fn count_read(&mut self, key: &[u8], found: bool) -> bool {
        if found {
            self.hits += 1;
        } else {
            self.misses += 1;
            self.record(key, KeyEvent::KEYMISS);
        }
        found
    }

    /// Whether `key` exists, counted as a read lookup that leaves the
    /// access time alone (TYPE, EXISTS, TTL: Redis's `LOOKUP_NOTOUCH`).
    pub fn exists_counted(&mut self, key: &[u8]) -> bool {
        let found = self.peek(key).is_some();
        self.count_read(key, found)
    }

    /// The live value at `key`, mutable.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        let hash = hash_key(key);
        let db = self.db;
        self.shard(hash).dbs[db].preserve(hash);
        self.lookup(hash, key, false)
    }

    /// True if `key` exists (and has not expired).
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// True unless this command already counted an access to the key with
    /// hash `hash` (only tracked under LFU, where counting twice matters).
    fn first_access(&mut self, hash: u64) -> bool {
        if self.access == AccessPolicy::Lru {
            return true;
        }
        let seen = &self.lfu_touched[..self.lfu_touched_len];
        if seen.contains(&hash) {
            return false;
        }
        if self.lfu_touched_len < self.lfu_touched.len() {
            self.lfu_touched[self.lfu_touched_len] = hash;
            self.lfu_touched_len += 1;
        }
        true
    }

    /// Starts a new command on this view (inside EXEC, each queued command
    /// counts its own accesses).
    pub fn begin_command(&mut self) {
        self.lfu_touched_len = 0;
        self.effect_logged = false;
    }

    /// Logs `args` as what the running command did, in place of the
    /// command itself (for commands whose replay would not reproduce the
    /// effect: relative expiry times, INCRBYFLOAT, ...). May be called
    /// several times; logs nothing if the command changed nothing.
    pub fn log_effect(&mut self, args: Vec<Bytes>) {
        self.effect_logged = true;
        if self.logging {
            self.effects.push(crate::aof::Effect { db: self.db, args });
        }
    }

    /// Marks the running command as logging its own effects even though it
    /// logged none (its change needs no replay).
    pub fn log_nothing(&mut self) {
        self.effect_logged = true;
    }

    /// Logs `args` as happening before the running command's own effect
    /// (deletion of expired keys and fields it came across).
    pub fn log_side_effect(&mut self, args: Vec<Bytes>) {
        if self.logging {
            self.effects.push(crate::aof::Effect { db: self.db, args });
        }
    }

    /// True (once) if the running command logged its own effects.
    pub fn take_effect_logged(&mut self) -> bool {
        std::mem::take(&mut self.effect_logged)
    }

    /// The access stamp for a value stored at `key`: under LFU an
    /// overwritten key keeps its counter, as in Redis.
    fn overwrite_stamp(&mut self, hash: u64, key: &[u8]) -> u32 {
        let (db, access, now) = (self.db, self.access, self.now_ms);
        match access {
            AccessPolicy::Lru => lru_clock(now),
            AccessPolicy::Lfu { .. } => self.shard(hash).dbs[db]
                .keys
                .get_with_aux(hash, key)
                .map_or_else(|| access.new_stamp(now), |(_, lru)| lru),
        }
    }

    /// Stores `value` at `key`, discarding any previous value and TTL. A
    /// key it replaces that was past its time counts as expired first, as
    /// a write lookup would have found it (MSET does no lookup of its own).
    pub fn set(&mut self, key: &[u8], value: Value) {
        let hash = hash_key(key);
        let lru = self.overwrite_stamp(hash, key);
        let (db, now) = (self.db, self.now_ms);
        let sdb = &mut self.shard(hash).dbs[db];
        sdb.preserve_for_insert(hash);
        let old = sdb.keys.insert_with_aux(hash, key, value, lru);
        let mut stale = false;
        if !sdb.expires.is_empty() {
            stale = old.is_some() && sdb.expires.remove(hash, key).is_some_and(|t| t <= now);
        }
        if stale {
            self.expired_in_place(key);
        }
        if old.is_none() || stale {
            self.created(key);
        }
    }

    /// What [`DbView::expire_if_needed`] does for a key that [`DbView::set`]
    /// has just replaced because it was past its time.
    #[cold]
    #[inline(never)]
    fn expired_in_place(&mut self, key: &[u8]) {
        self.expired += 1;
        if self.logging {
            self.log_side_effect(crate::aof::command(&[b"DEL", key]));
        }
        self.record(key, KeyEvent::EXPIRED);
    }

    /// Stores `value` at `key`, keeping the key's TTL if it exists.
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value) {
        let hash = hash_key(key);
        self.expire_if_needed(hash, key);
        let lru = self.overwrite_stamp(hash, key);
        let db = self.db;
        let sdb = &mut self.shard(hash).dbs[db];
        sdb.preserve_for_insert(hash);
        if sdb.keys.insert_with_aux(hash, key, value, lru).is_none() {
            self.created(key);
        }
    }

    /// Removes `key`; returns its value if it existed (and had not expired).
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let hash = hash_key(key);
        if self.expire_if_needed(hash, key) {
            return None;
        }
        let db = self.db;
        self.shard(hash).dbs[db].remove(hash, key)
    }

    /// Removes `key` even if its time has passed and it was not reclaimed
    /// yet, as Redis's `dbDelete` does where no lookup came first (SORT's
    /// empty STORE): such a key counts as deleted, not expired.
    pub fn remove_even_stale(&mut self, key: &[u8]) -> Option<Value> {
        let hash = hash_key(key);
        let db = self.db;
        self.shard(hash).dbs[db].remove(hash, key)
    }

    /// Removes `key` if it holds an empty container (Redis deletes a
    /// container when its last element goes) and reports the deletion
    /// (see [`DbView::remove_emptied`]). Returns true if removed.
    pub fn remove_if_empty(&mut self, key: &[u8]) -> bool {
        let empty = match self.get(key) {
            Some(Value::Hash(h)) => h.is_empty(),
            Some(Value::List(l)) => l.is_empty(),
            Some(Value::ZSet(z)) => z.is_empty(),
            Some(Value::Set(s)) => s.is_empty(),
            _ => false,
        };
        if empty {
            self.remove_emptied(key);
        }
        empty
    }

    /// Deletes `key`, a container the running command has just emptied,
    /// and reports it: `del`, a further event of the change that emptied
    /// it, which the caller reported first. For callers that already know
    /// it is empty (no lookup to find out).
    pub fn remove_emptied(&mut self, key: &[u8]) {
        self.remove(key);
        self.also(key, KeyEvent::DEL);
    }

    /// The absolute expiry time of `key` in ms, if it is volatile.
    pub fn expire_time(&mut self, key: &[u8]) -> Option<i64> {
        let hash = hash_key(key);
        let db = self.db;
        self.shard(hash).dbs[db].expires.get(hash, key).copied()
    }

    /// Sets the absolute expiry time of an existing `key`.
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        let hash = hash_key(key);
        let db = self.db;
        let sdb = &mut self.shard(hash).dbs[db];
        sdb.preserve(hash);
        if sdb.keys.contains(hash, key) {
            match sdb.expires.get_mut(hash, key) {
                Some(slot) => *slot = when_ms,
                None => sdb.expires.insert_new(hash, key, when_ms),
            }
        }
    }

    /// Removes the TTL of `key`; true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        let hash = hash_key(key);
        let db = self.db;
        let sdb = &mut self.shard(hash).dbs[db];
        sdb.preserve(hash);
        sdb.expires.remove(hash, key).is_some()
    }

    /// Registers `key` as a hash with field TTLs, so active expiry reclaims
    /// its expired fields in the background.
    pub fn track_hash_field_ttls(&mut self, key: &[u8]) {
        let hash = hash_key(key);
        let db = self.db;
        let sdb = &mut self.shard(hash).dbs[db];
        if !sdb.hash_ttl_keys.contains(hash, key) {
            sdb.hash_ttl_keys.insert_new(hash, key, ());
        }
    }

    /// Reports a change to `key` in the current database: `event` says
    /// what happened, in Redis's terms. The one way a command reports a
    /// change, and everything a change drives follows from it: it fails the
    /// transactions watching the key, counts a change (`dirty`: the `save`
    /// rules, INFO, and whether `cmd::execute` logs a write command to the
    /// AOF), and records the event if some consumer wants its class. A
    /// change that is several events (RENAME, an LPOP that empties the
    /// list) reports its first event here and the others of the same key
    /// with [`DbView::also`], in Redis's order; a change to several keys
    /// (RENAME, MOVE, LMOVE) reports each key here.
    #[inline]
    pub fn modified(&mut self, key: &[u8], event: KeyEvent) {
        let hash = hash_key(key);
        let db = self.db;
        let shard = self.shard(hash);
        shard.touch_watchers(db, key);
        if !shard.waiters.is_empty() && shard.waiters.has(db, key) {
            self.mark_ready(key);
        }
        self.dirty += 1;
        self.record(key, event);
    }

    /// Reports a further event of the change to `key` that
    /// [`DbView::modified`] just reported (SET's `expire` after `set`, the
    /// `del` of a list its pop emptied): the watchers were failed and the
    /// change counted already, so this only records the event.
    #[inline]
    pub fn also(&mut self, key: &[u8], event: KeyEvent) {
        self.record(key, event);
    }

    /// Records `event` on `key` in the current database if some consumer
    /// wants its class: one predictable branch when none does.
    #[inline]
    fn record(&mut self, key: &[u8], event: KeyEvent) {
        if self.event_mask & event.class != 0 {
            self.push_event(key, event);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_event(&mut self, key: &[u8], event: KeyEvent) {
        self.events.push(Recorded {
            db: self.db,
            event,
            key: key.into(),
        });
    }

    /// Records that `key` was just created (`new`, before the creating
    /// command's own event, as Redis's `dbAdd` reports it).
    #[inline]
    fn created(&mut self, key: &[u8]) {
        self.record(key, KeyEvent::NEW);
    }

    /// Registers `flag` as watching `key` in the current database.
    pub fn watch(&mut self, key: &[u8], flag: &Arc<WatchFlag>) {
        let expired = self.is_stale(key);
        let db = self.db;
        let list = self
            .shard(hash_key(key))
            .watches
            .entry((db, key.into()))
            .or_default();
        if !list.iter().any(|w| Arc::ptr_eq(&w.flag, flag)) {
            list.push(Watcher {
                flag: flag.clone(),
                expired,
            });
        }
    }

    /// True if `key` in `db`, watched by `flag`, was live at WATCH time and
    /// has expired since (EXEC then fails even if it was not reclaimed).
    pub fn watched_key_expired(&mut self, db: usize, key: &[u8], flag: &Arc<WatchFlag>) -> bool {
        let hash = hash_key(key);
        let now = self.now_ms;
        let shard = self.shard(hash);
        let Some(list) = shard.watches.get(&(db, Box::<[u8]>::from(key))) else {
            return false;
        };
        let was_stale = list.iter().any(|w| Arc::ptr_eq(&w.flag, flag) && w.expired);
        !was_stale && shard.dbs[db].is_stale(hash, key, now)
    }

    /// Removes `flag` from the watchers of `key` in database `db`.
    pub fn unwatch(&mut self, db: usize, key: &[u8], flag: &Arc<WatchFlag>) {
        self.shard(hash_key(key)).unwatch(db, key, flag);
    }

    typed_accessors!(
        get_str,
        get_str_uncounted,
        get_str_mut,
        str_or_create,
        Str,
        StrValue
    );
    typed_accessors!(
        get_hash,
        get_hash_uncounted,
        get_hash_mut,
        hash_or_create,
        Hash,
        HashValue
    );
    typed_accessors!(
        get_list,
        get_list_uncounted,
        get_list_mut,
        list_or_create,
        List,
        ListValue
    );
    typed_accessors!(
        get_zset,
        get_zset_uncounted,
        get_zset_mut,
        zset_or_create,
        ZSet,
        ZSetValue
    );
    typed_accessors!(
        get_set,
        get_set_uncounted,
        get_set_mut,
        set_or_create,
        Set,
        SetValue
    );

    // ----- whole-database operations (the caller holds every shard) -----

    /// Number of keys in database `db` (expired ones not yet reclaimed
    /// included, as in Redis).
    pub fn db_size(&mut self, db: usize) -> usize {
        self.locked_shards().map(|s| s.dbs[db].keys.len()).sum()
    }

    /// Number of volatile keys in database `db`.
    pub fn db_expires(&mut self, db: usize) -> usize {
        self.locked_shards().map(|s| s.dbs[db].expires.len()).sum()
    }

    /// Empties database `db`; returns the number of keys removed and the
    /// removed data, which the caller may drop on another thread.
    pub fn flush_db(&mut self, db: usize) -> (usize, Vec<ShardDb>) {
        let mut removed = 0;
        let mut old = Vec::new();
        let now = self.now_ms;
        for shard in self.locked_shards() {
            shard.touch_all_watchers_in_db(db, None, now);
            // A background save keeps what it has not written yet.
            shard.dbs[db].finish_snapshot_walk();
            let mut taken = std::mem::take(&mut shard.dbs[db]);
            shard.dbs[db].snapshot = taken.snapshot.take();
            removed += taken.keys.len();
            old.push(taken);
        }
        self.dirty += removed as u64;
        (removed, old)
    }

    /// Swaps databases `a` and `b`.
    pub fn swap_db(&mut self, a: usize, b: usize) {
        let now = self.now_ms;
        for shard in self.locked_shards() {
            shard.touch_all_watchers_in_db(a, Some(b), now);
            shard.touch_all_watchers_in_db(b, Some(a), now);
            shard.dbs.swap(a, b);
        }
        self.dirty += 1;
        // Waiters stay with their database number, as in Redis: a key the
        // swap brought in may serve them (the serve checks type and expiry).
        let mut ready = Vec::new();
        for shard in self.locked_shards() {
            for db in [a, b] {
                for key in shard.waiters.keys_in(db) {
                    if shard.dbs[db].keys.get(hash_key(key), key).is_some() {
                        ready.push((db, Box::<[u8]>::from(key)));
                    }
                }
            }
        }
        for entry in ready {
            if !self.ready.contains(&entry) {
                self.ready.push(entry);
            }
        }
    }

    /// One step of SCAN over database `db`: visits buckets from `cursor`
    /// until at least `count` keys were seen (or ten times as many buckets
    /// were visited), calling `f` for every live key. Returns the next cursor.
    /// Keys found past their time are deleted afterwards, in the order seen,
    /// as Redis 7.0's SCAN expires the keys it comes across.
    ///
    /// The cursor packs the shard index in its low bits and the shard's
    /// dictionary cursor above them.
    pub fn scan(
        &mut self,
        db: usize,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(&[u8], &Value),
    ) -> u64 {
        let now = self.now_ms;
        let shard_bits = SHARD_COUNT.trailing_zeros();
        let mut shard_idx = (cursor as usize) & (SHARD_COUNT - 1);
        let mut dict_cursor = cursor >> shard_bits;
        let mut seen = 0usize;
        let mut steps = 0usize;
        let max_steps = count.saturating_mul(10).max(1);
        let mut stale: Vec<Box<[u8]>> = Vec::new();
        let next = loop {
            let shard = self.guards[shard_idx]
                .as_deref()
                .expect("SCAN runs with every shard locked");
            let sdb = &shard.dbs[db];
            dict_cursor = sdb.keys.scan_step(dict_cursor, |k, v| {
                seen += 1;
                let h = hash_key(k);
                let expired = !sdb.expires.is_empty()
                    && sdb.expires.get(h, k).is_some_and(|&when| when <= now);
                if expired {
                    stale.push(k.into());
                } else {
                    f(k, v);
                }
            });
            // Empty shards cost nothing: only count visits that did work.
            if !sdb.keys.is_empty() {
                steps += 1;
            }
            if dict_cursor == 0 {
                shard_idx += 1;
                if shard_idx == SHARD_COUNT {
                    break 0;
                }
            }
            if seen >= count || steps >= max_steps {
                break (dict_cursor << shard_bits) | shard_idx as u64;
            }
        };
        if !stale.is_empty() {
            let saved = std::mem::replace(&mut self.db, db);
            for key in stale {
                self.expired_for_read(hash_key(&key), &key);
            }
            self.db = saved;
        }
        next
    }

    /// Starts a background save of every database at this instant
    /// (`now_ms`): from here on, writes preserve what the save has not
    /// written yet. Needs every shard locked.
    pub fn begin_snapshot(&mut self, compress: bool) {
        debug_assert!(self.holds_all(), "a snapshot starts under every lock");
        let now = self.now_ms;
        for shard in self.locked_shards() {
            for (label, sdb) in shard.dbs.iter_mut().enumerate() {
                sdb.snapshot = (!sdb.keys.is_empty()).then(|| {
                    Box::new(DbSnapshot {
                        label,
                        walked: 0,
                        preserved: vec![0; sdb.keys.bucket_count().div_ceil(64)],
                        out: crate::rdb::encode::Encoder::new(compress),
                        now_ms: now,
                    })
                });
            }
        }
    }

    /// Makes room for about `keys` more keys (and `expires` more TTLs) in
    /// database `db`, spread over the locked shards (loading a dump).
    pub fn reserve(&mut self, db: usize, keys: usize, expires: usize) {
        let shards = self.guards.iter().filter(|g| g.is_some()).count().max(1);
        for shard in self.locked_shards() {
            shard.dbs[db].keys.reserve(keys / shards + 1);
            shard.dbs[db].expires.reserve(expires / shards + 1);
        }
    }

    /// Adds a key loaded from a dump to the selected database, with its
    /// expiry; gives the key back if it exists already.
    /// `hash` must be [`hash_key`] of the key.
    pub fn load(
        &mut self,
        hash: u64,
        key: crate::dict::DictKey,
        value: Value,
        expire_ms: Option<i64>,
    ) -> Result<(), crate::dict::DictKey> {
        let (db, lru) = (self.db, self.access.new_stamp(self.now_ms));
        let field_ttls = matches!(&value, Value::Hash(h) if h.has_field_ttls());
        let sdb = &mut self.shard(hash).dbs[db];
        // Side tables need their own copy of the name, taken only when used.
        let name: Option<Box<[u8]>> =
            (expire_ms.is_some() || field_ttls).then(|| key.as_bytes().into());
        sdb.keys
            .insert_unique_key(hash, key, value, lru)
            .map_err(|(key, _)| key)?;
        if let Some(name) = name {
            if let Some(when) = expire_ms {
                sdb.expires.insert_new(hash, &name, when);
            }
            if field_ttls {
                sdb.hash_ttl_keys.insert_new(hash, &name, ());
            }
        }
        Ok(())
    }

    /// Prefetches what [`DbView::load`] of a key with `hash` into `db` will
    /// read (see [`Dict::prefetch`]).
    #[inline]
    pub fn prefetch_for_load(&mut self, db: usize, hash: u64, depth: u8) {
        self.shard(hash).dbs[db].keys.prefetch(hash, depth);
    }

    /// Drops the background save states of the locked shards.
    pub fn end_snapshot(&mut self) {
        for shard in self.locked_shards() {
            for sdb in shard.dbs.iter_mut() {
                sdb.snapshot = None;
            }
        }
    }

    /// Calls `f` for every live key of database `db`.
    pub fn for_each_key(&mut self, db: usize, mut f: impl FnMut(&[u8], &Value)) {
        self.for_each_entry(db, |k, v, _| f(k, v));
    }

    /// Calls `f` for every live key of database `db` with its expiry time.
    pub fn for_each_entry(&mut self, db: usize, mut f: impl FnMut(&[u8], &Value, Option<i64>)) {
        let now = self.now_ms;
        for shard in self.locked_shards() {
            let sdb = &shard.dbs[db];
            for (k, e) in sdb.keys.iter() {
                let when = if sdb.expires.is_empty() {
                    None
                } else {
                    sdb.expires.get(hash_key(k), k).copied()
                };
                if when.is_none_or(|t| t > now) {
                    f(k, e, when);
                }
            }
        }
    }

    /// True if some hash in the locked shards has fields with TTLs.
    pub fn has_field_ttls(&mut self) -> bool {
        // Every such hash is tracked; tracked names may be stale.
        self.locked_shards().any(|s| {
            s.dbs.iter().any(|d| {
                d.hash_ttl_keys.iter().any(|(k, _)| {
                    matches!(d.keys.get(hash_key(k), k),
                        Some(Value::Hash(h)) if h.has_field_ttls())
                })
            })
        })
    }

    /// A random live key of database `db`.
    pub fn random_key(&mut self, db: usize) -> Option<Vec<u8>> {
        let sizes: Vec<usize> = self
            .guards
            .iter()
            .map(|g| g.as_deref().map_or(0, |s| s.dbs[db].keys.len()))
            .collect();
        let total: usize = sizes.iter().sum();
        // Bounded retries: with many expired-but-unreclaimed keys, give up
        // like Redis does rather than loop forever.
        for _ in 0..100 {
            if total == 0 {
                return None;
            }
            let mut pick = (crate::util::rand_u64() as usize) % total;
            let mut idx = 0;
            while pick >= sizes[idx] {
                pick -= sizes[idx];
                idx += 1;
            }
            let shard = self.guards[idx].as_deref()?;
            let sdb = &shard.dbs[db];
            let (key, _) = sdb.keys.random_entry(crate::util::rand_u64)?;
            let key = key.to_vec();
            if self.get(&key).is_some() {
                return Some(key);
            }
        }
        None
    }
}
