//! SORT and SORT_RO, with Redis 7.0's semantics (its `sort.c`): lists, sets
//! and sorted sets; numeric weights (the element, or what a BY pattern
//! names) or ALPHA; LIMIT, ASC/DESC, GET patterns and STORE.
//!
//! The choices that make replies byte-identical to Redis's:
//!
//! * **Weights** are read by libc's `strtod` as Redis reads them
//!   (`util::cstrtod`); a missing BY key weighs 0, an unreadable weight
//!   fails the whole command after every weight was looked up. (Redis does
//!   not clear `errno` before its strtod, so a range error makes its later
//!   SORTs of non-integer weights fail until something clears `errno`;
//!   each weight is checked on its own here.)
//! * **Order.** Numeric ties fall back to comparing the elements as binary
//!   strings. ALPHA compares with `strcoll` unless the result is stored;
//!   under the C and C.UTF-8 locales (what a Redis started from this
//!   environment collates by) that is `strcmp`, so bytes up to the first
//!   NUL; stored results compare binary-safe. A missing ALPHA BY value
//!   sorts first. Redis sorts with glibc's `qsort`, a stable merge sort
//!   here, except when BY and a LIMIT that leaves elements out meet: then
//!   its own partial quicksort (Bentley and McIlroy's, which skips the
//!   partitions outside the range), which orders ties differently; that
//!   algorithm is `util::pqsort`, so ties come out in
//!   Redis's order for lists (sets and sorted sets are read in hash-table
//!   order by Redis, so their ties have no fixed order there).
//! * **No sorting.** A BY pattern without `*` (before any NUL) turns
//!   sorting off: lists and sorted sets come in their own order (reversed
//!   by DESC) with LIMIT applied while reading; a set comes in its
//!   iteration order, except with STORE, where Redis sorts it ALPHA so the
//!   stored result is deterministic. Sorting a sorted set converts it to
//!   the tree (`skiplist`) encoding, as Redis converts it, SORT_RO too.
//! * **Patterns.** `#` is the element; a pattern without `*` names nothing
//!   (GET gives nil, or an empty string when stored); otherwise the first
//!   `*` is replaced by the element, and a `->` after it (with something
//!   after the arrow) reads that field of a hash; anything but a string
//!   (or a hash, with `->`) reads as missing.
//!
//! Locking: the key, the destination SORT's own parser takes (which may
//! differ from what Redis's getkeys reports for odd spellings), and every
//! shard when a BY or GET pattern builds key names from the elements, so
//! the command reads all of them atomically ([`sort_lock_keys`]).
//!
//! STORE replaces the destination with a list and reports `sortstore`, or
//! deletes it (`del`) when the result is empty; it is logged as its
//! effect (DEL of an existing destination, then RPUSH of the result), since
//! a replay may read sets and sorted sets in another order.

use super::args::{self, is};
use super::keyspec::{flags as key_flags, KeyRef, Reach};
use super::spec::{bind, CommandSpec, Ctx};
use crate::db::{DbView, KeyEvent};
use crate::error::{CmdError, CmdResult, SYNTAX, WRONGTYPE};
use crate::types::set::Member;
use crate::types::{ListValue, Value};
use crate::util::cstrtod::sort_weight;
use crate::util::pqsort::partial_sort;
use bytes::Bytes;
use std::cmp::Ordering;

/// The SORT family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("sort", sort)
        .with_getkeys(sort_keys)
        .with_lock_keys(sort_lock_keys),
    bind("sort_ro", sort_ro)
        .with_getkeys(sort_ro_keys)
        .with_lock_keys(sort_ro_lock_keys),
];

/// Elements an RPUSH effect of a stored result carries.
const RPUSH_BATCH: usize = 1024;

/// Items written between two checks of the reply against the output limit.
const LIMIT_CHECK_EVERY: usize = 1024;

// ----- options and patterns -----

/// SORT's options, parsed left to right as Redis parses them.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    offset: i64,
    count: i64,
    /// The last BY pattern.
    by: Option<&'a [u8]>,
    /// Some BY pattern had no `*`: nothing is sorted and no weight is read
    /// (it stays so whatever BY follows, as in Redis).
    dont_sort: bool,
    gets: Vec<Pattern<'a>>,
    /// Index of the last STORE destination.
    store: Option<usize>,
}

impl<'a> Options<'a> {
    /// Parses `args[2..]`; SORT_RO (`readonly`) knows no STORE.
    fn parse(args: &'a [Bytes], readonly: bool) -> Result<Self, CmdError> {
        let mut o = Options {
            desc: false,
            alpha: false,
            offset: 0,
            count: -1,
            by: None,
            dont_sort: false,
            gets: Vec::new(),
            store: None,
        };
        let mut j = 2;
        while j < args.len() {
            let word = &args[j];
            let left = args.len() - j - 1;
            if is(word, "asc") {
                o.desc = false;
            } else if is(word, "desc") {
                o.desc = true;
            } else if is(word, "alpha") {
                o.alpha = true;
            } else if is(word, "limit") && left >= 2 {
                o.offset = args::int(&args[j + 1])?;
                o.count = args::int(&args[j + 2])?;
                j += 2;
            } else if !readonly && is(word, "store") && left >= 1 {
                o.store = Some(j + 1);
                j += 1;
            } else if is(word, "by") && left >= 1 {
                let pattern = &args[j + 1][..];
                if star(pattern).is_none() {
                    o.dont_sort = true;
                }
                o.by = Some(pattern);
                j += 1;
            } else if is(word, "get") && left >= 1 {
                o.gets.push(Pattern::parse(&args[j + 1]));
                j += 1;
            } else {
                return Err(SYNTAX);
            }
            j += 1;
        }
        Ok(o)
    }

    /// True if running may read keys the arguments do not name.
    fn reads_patterns(&self) -> bool {
        (!self.dont_sort && self.by.is_some())
            || self.gets.iter().any(|g| matches!(g, Pattern::Keyed { .. }))
    }
}

/// Where the first `*` of a pattern is, as C's `strchr` finds it (the
/// pattern ends at its first NUL).
fn star(pattern: &[u8]) -> Option<usize> {
    pattern
        .iter()
        .position(|&b| b == b'*' || b == 0)
        .filter(|&i| pattern[i] == b'*')
}

/// A BY or GET pattern, split once.
#[derive(Clone, Copy)]
enum Pattern<'p> {
    /// `#`: the element itself.
    Element,
    /// No `*`: names nothing.
    Constant,
    /// `prefix*suffix`, or `prefix*suffix->field` for a hash field.
    Keyed {
        prefix: &'p [u8],
        suffix: &'p [u8],
        field: Option<&'p [u8]>,
    },
}

impl<'p> Pattern<'p> {
    fn parse(pattern: &'p [u8]) -> Self {
        if pattern.first() == Some(&b'#') && pattern.get(1).is_none_or(|&b| b == 0) {
            return Pattern::Element;
        }
        let Some(at) = star(pattern) else {
            return Pattern::Constant;
        };
        let (prefix, rest) = (&pattern[..at], &pattern[at + 1..]);
        // The arrow is searched for as C's strstr does (up to a NUL) and
        // counts only with a field after it; the field runs to the end.
        let text = &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())];
        let arrow = text
            .windows(2)
            .position(|w| w == b"->")
            .filter(|&f| rest.get(f + 2).is_some_and(|&b| b != 0));
        match arrow {
            Some(f) => Pattern::Keyed {
                prefix,
                suffix: &rest[..f],
                field: Some(&rest[f + 2..]),
            },
            None => Pattern::Keyed {
                prefix,
                suffix: rest,
                field: None,
            },
        }
    }
}

/// Scratch buffers for pattern lookups.
#[derive(Default)]
struct Lookup {
    key: Vec<u8>,
    value: Vec<u8>,
}

impl Lookup {
    /// The value `pattern` names for `element`, left in `self.value`; false
    /// if it names nothing. Keys are read as Redis's `lookupKeyRead` reads
    /// them (expiring, counting a hit or miss).
    fn fetch(&mut self, db: &mut DbView<'_>, pattern: &Pattern<'_>, element: &[u8]) -> bool {
        self.value.clear();
        let (prefix, suffix, field) = match *pattern {
            Pattern::Element => {
                self.value.extend_from_slice(element);
                return true;
            }
            Pattern::Constant => return false,
            Pattern::Keyed {
                prefix,
                suffix,
                field,
            } => (prefix, suffix, field),
        };
        self.key.clear();
        self.key.extend_from_slice(prefix);
        self.key.extend_from_slice(element);
        self.key.extend_from_slice(suffix);
        let key = &self.key[..];
        let Some(field) = field else {
            return match db.get_counted(key) {
                Some(Value::Str(s)) => {
                    self.value.extend_from_slice(&s.as_bytes());
                    true
                }
                _ => false,
            };
        };
        if !matches!(db.get_counted(key), Some(Value::Hash(_))) {
            return false;
        }
        // Expired fields are reclaimed first, as every hash read does.
        match super::hashes::live_hash_uncounted(db, key) {
            Ok(Some(hash)) => match hash.get(field) {
                Some(v) => {
                    self.value.extend_from_slice(v);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }
}

// ----- key finders -----

/// Redis's getkeys function for SORT (what COMMAND GETKEYS reports): the
/// key, and the word after the last STORE, skipping LIMIT's two arguments
/// and GET's and BY's one (a STORE's own argument is not skipped).
fn sort_keys(args: &[Bytes], keys: &mut Vec<KeyRef>) {
    keys.push(KeyRef {
        pos: 1,
        flags: key_flags::RO | key_flags::ACCESS,
    });
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let word = &args[i];
        if is(word, "limit") {
            i += 2;
        } else if is(word, "get") || is(word, "by") {
            i += 1;
        } else if is(word, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store.map(|pos| KeyRef {
        pos,
        flags: key_flags::OW | key_flags::UPDATE,
    }));
}

/// Redis's getkeys function for SORT_RO: the key.
fn sort_ro_keys(_args: &[Bytes], keys: &mut Vec<KeyRef>) {
    keys.push(KeyRef {
        pos: 1,
        flags: key_flags::RO | key_flags::ACCESS,
    });
}

/// What a SORT call touches: the destination its parser takes, and any key
/// when a pattern builds key names (a call its parser refuses touches
/// nothing).
fn lock_keys(args: &[Bytes], keys: &mut Vec<KeyRef>, readonly: bool) -> Reach {
    let Ok(options) = Options::parse(args, readonly) else {
        return Reach::Listed;
    };
    keys.extend(options.store.map(|pos| KeyRef { pos, flags: 0 }));
    if options.reads_patterns() {
        Reach::Anywhere
    } else {
        Reach::Listed
    }
}

fn sort_lock_keys(args: &[Bytes], keys: &mut Vec<KeyRef>) -> Reach {
    lock_keys(args, keys, false)
}

fn sort_ro_lock_keys(args: &[Bytes], keys: &mut Vec<KeyRef>) -> Reach {
    lock_keys(args, keys, true)
}

// ----- the command -----

/// One element to sort: its bytes (a span of [`Elements::bytes`]) and what
/// it sorts by.
#[derive(Clone, Copy)]
struct Item {
    at: usize,
    len: usize,
    /// The numeric weight (0 when the BY key is missing).
    score: f64,
    /// The ALPHA BY value, a span of the BY buffer; `None` if missing.
    by: Option<(usize, usize)>,
}

/// The elements to sort, copied out of the value (pattern lookups need the
/// keyspace while they are read) into one buffer.
#[derive(Default)]
struct Elements {
    bytes: Vec<u8>,
    items: Vec<Item>,
}

impl Elements {
    fn push(&mut self, element: &[u8]) {
        self.items.push(Item {
            at: self.bytes.len(),
            len: element.len(),
            score: 0.0,
            by: None,
        });
        self.bytes.extend_from_slice(element);
    }

    fn push_member(&mut self, member: Member<'_>) {
        match member {
            Member::Str(s) => self.push(s),
            Member::Int(n) => {
                let at = self.bytes.len();
                crate::reply::push_i64(&mut self.bytes, n);
                self.items.push(Item {
                    at,
                    len: self.bytes.len() - at,
                    score: 0.0,
                    by: None,
                });
            }
        }
    }

    fn of(&self, item: &Item) -> &[u8] {
        &self.bytes[item.at..item.at + item.len]
    }
}

/// The bytes C's string functions see: up to the first NUL.
fn c_str(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(nul) => &s[..nul],
        None => s,
    }
}

/// The type of the value being sorted (a missing key sorts as an empty
/// list, as in Redis).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    List,
    Set,
    ZSet,
}

fn sort(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    sort_generic(ctx, db, false)
}

fn sort_ro(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    sort_generic(ctx, db, true)
}

fn sort_generic(ctx: &mut Ctx<'_>, db: &mut DbView<'_>, readonly: bool) -> CmdResult {
    let args = ctx.args;
    let mut o = Options::parse(args, readonly)?;
    let key = &args[1];
    let (source, len) = match db.get_counted(key) {
        None => (Source::List, 0),
        Some(Value::List(l)) => (Source::List, l.len()),
        Some(Value::Set(s)) => (Source::Set, s.len()),
        Some(Value::ZSet(z)) => (Source::ZSet, z.len()),
        Some(_) => return Err(WRONGTYPE),
    };
    let store = o.store.map(|i| &args[i]);
    // A set read in its own order would store (or replicate, or give a
    // script) an arbitrary order: Redis sorts it ALPHA instead.
    if o.dont_sort && source == Source::Set && (store.is_some() || ctx.client.in_script) {
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }
    if source == Source::ZSet {
        if let Some(z) = db.get_zset_mut(key)? {
            z.convert_to_tree();
        }
    }

    // LIMIT, clamped as Redis clamps it; `end < start` selects nothing.
    let n = len as i64;
    let mut start = o.offset.max(0).min(n);
    let count = o.count.max(-1).min(n);
    let mut end = if count < 0 { n - 1 } else { start + count - 1 };
    if start >= n {
        start = n - 1;
        end = n - 2;
    }
    end = end.min(n - 1);

    let mut elements = Elements::default();
    load(db, key, source, &o, start, end, &mut elements);
    if o.dont_sort && source != Source::Set {
        // Only the selected range was read.
        end -= start;
        start = 0;
    }

    let mut unreadable = false;
    if !o.dont_sort {
        let by = o.by.map(Pattern::parse);
        let mut lookup = Lookup::default();
        let mut by_values = Vec::new();
        let mut scratch = Vec::new();
        for i in 0..elements.items.len() {
            let item = elements.items[i];
            let element = elements.of(&item);
            let weight: &[u8] = match &by {
                Some(pattern) => {
                    if !lookup.fetch(db, pattern, element) {
                        continue;
                    }
                    &lookup.value
                }
                None => element,
            };
            if o.alpha {
                if by.is_some() {
                    let at = by_values.len();
                    by_values.extend_from_slice(weight);
                    elements.items[i].by = Some((at, by_values.len()));
                }
            } else {
                match sort_weight(weight, &mut scratch) {
                    Some(score) => elements.items[i].score = score,
                    None => unreadable = true,
                }
            }
        }
        // An unreadable weight fails the command: the order is never seen.
        if !unreadable {
            let stored = store.is_some();
            let bytes = &elements.bytes;
            let elem = |it: &Item| &bytes[it.at..it.at + it.len];
            let cmp = |a: &Item, b: &Item| -> Ordering {
                let order = if !o.alpha {
                    a.score
                        .partial_cmp(&b.score)
                        .unwrap_or(Ordering::Equal)
                        .then_with(|| elem(a).cmp(elem(b)))
                } else if by.is_some() {
                    match (a.by, b.by) {
                        (None, None) => Ordering::Equal,
                        (None, Some(_)) => Ordering::Less,
                        (Some(_), None) => Ordering::Greater,
                        (Some((a0, a1)), Some((b0, b1))) => {
                            let (x, y) = (&by_values[a0..a1], &by_values[b0..b1]);
                            if stored {
                                x.cmp(y)
                            } else {
                                c_str(x).cmp(c_str(y))
                            }
                        }
                    }
                } else if stored {
                    elem(a).cmp(elem(b))
                } else {
                    c_str(elem(a)).cmp(c_str(elem(b)))
                };
                if o.desc {
                    order.reverse()
                } else {
                    order
                }
            };
            let items = &mut elements.items;
            if by.is_some() && (start != 0 || end != items.len() as i64 - 1) {
                partial_sort(items, start, end, cmp);
            } else {
                items.sort_by(cmp);
            }
        }
    }

    let selected = (end - start + 1).max(0) as usize;
    let from = start.max(0) as usize;
    let output_len = selected * o.gets.len().max(1);
    if unreadable {
        return Err(CmdError::fixed(
            "ERR One or more scores can't be converted into double",
        ));
    }
    let chosen = &elements.items[from..from + selected];
    let mut lookup = Lookup::default();
    match store {
        None => {
            let mark = ctx.out.mark();
            ctx.out.array(output_len);
            for (i, item) in chosen.iter().enumerate() {
                let element = elements.of(item);
                if o.gets.is_empty() {
                    ctx.out.bulk(element);
                }
                for get in &o.gets {
                    if lookup.fetch(db, get, element) {
                        ctx.out.bulk(&lookup.value);
                    } else {
                        ctx.out.null();
                    }
                }
                if i % LIMIT_CHECK_EVERY == LIMIT_CHECK_EVERY - 1 {
                    if let Some(e) = ctx.past_output_limit(mark) {
                        return Err(e);
                    }
                }
            }
        }
        Some(dst) => {
            let limits = ctx.server.hot.list_limits();
            let mut list = ListValue::new();
            for item in chosen {
                let element = elements.of(item);
                if o.gets.is_empty() {
                    list.push_back(element, limits);
                }
                for get in &o.gets {
                    lookup.fetch(db, get, element);
                    list.push_back(&lookup.value, limits);
                }
            }
            store_result(db, dst, list);
            ctx.out.int(output_len as i64);
        }
    }
    Ok(())
}

/// Reads the elements of the value at `key` into `out`: with sorting off,
/// a list's or sorted set's range `start..=end` in the requested direction;
/// otherwise every element, in the value's own order.
fn load(
    db: &mut DbView<'_>,
    key: &[u8],
    source: Source,
    o: &Options<'_>,
    start: i64,
    end: i64,
    out: &mut Elements,
) {
    let ranged = o.dont_sort && source != Source::Set;
    let (first, count) = if ranged {
        (start.max(0) as usize, (end - start + 1).max(0) as usize)
    } else {
        (0, usize::MAX)
    };
    if count == 0 {
        return;
    }
    match db.get(key) {
        Some(Value::List(list)) => {
            let len = list.len();
            if !ranged {
                list.iter().for_each(|e| out.push(e));
            } else if o.desc {
                // Ranks counted from the tail.
                let (lo, hi) = (len - first - count, len - 1 - first);
                let at = out.items.len();
                list.range(lo, hi).for_each(|e| out.push(e));
                out.items[at..].reverse();
            } else {
                list.range(first, first + count - 1)
                    .for_each(|e| out.push(e));
            }
        }
        Some(Value::Set(set)) => set.iter().for_each(|m| out.push_member(m)),
        Some(Value::ZSet(zset)) => {
            let from = if ranged && o.desc {
                zset.len() - 1 - first
            } else {
                first
            };
            let mut left = count;
            zset.walk(from, ranged && o.desc, |m, _| {
                out.push(m);
                left -= 1;
                left > 0
            });
        }
        _ => {}
    }
}

/// Replaces `dst` with the sorted result, or deletes it when the result is
/// empty, logging the effect.
fn store_result(db: &mut DbView<'_>, dst: &Bytes, list: ListValue) {
    if list.is_empty() {
        // Redis deletes without looking the key up: one past its time is
        // deleted (`del`), not expired.
        if db.remove_even_stale(dst).is_some() {
            db.modified(dst, KeyEvent::DEL);
            db.log_effect(crate::aof::command(&[b"DEL", dst]));
        }
        return;
    }
    // Looked up as Redis's setKey does (a key past its time expires here).
    let existed = db.exists(dst);
    if db.logging {
        if existed {
            db.log_effect(crate::aof::command(&[b"DEL", dst]));
        }
        let mut elements = list.iter().peekable();
        while elements.peek().is_some() {
            let mut effect = Vec::with_capacity(RPUSH_BATCH + 2);
            effect.push(Bytes::from_static(b"RPUSH"));
            effect.push(dst.clone());
            effect.extend(
                elements
                    .by_ref()
                    .take(RPUSH_BATCH)
                    .map(Bytes::copy_from_slice),
            );
            db.log_effect(effect);
        }
    }
    db.set(dst, Value::List(Box::new(list)));
    db.modified(dst, KeyEvent::SORTSTORE);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|w| Bytes::from(w.to_string())).collect()
    }

    #[test]
    fn getkeys_follow_redis() {
        let keys = |s: &str| {
            let mut out = Vec::new();
            sort_keys(&line(s), &mut out);
            out.iter().map(|k| k.pos).collect::<Vec<_>>()
        };
        assert_eq!(keys("sort abc store def"), [1, 3]);
        assert_eq!(
            keys("sort abc store invalid store stillbad store def"),
            [1, 7]
        );
        assert_eq!(keys("sort abc limit store x store"), [1]);
        assert_eq!(keys("sort abc get store store d"), [1, 5]);
        assert_eq!(keys("sort abc store"), [1]);
    }

    #[test]
    fn locking_follows_the_parser() {
        let lock = |s: &str, ro: bool| {
            let mut out = Vec::new();
            let reach = lock_keys(&line(s), &mut out, ro);
            (reach, out.iter().map(|k| k.pos).collect::<Vec<_>>())
        };
        assert_eq!(lock("sort k", false), (Reach::Listed, vec![]));
        assert_eq!(lock("sort k store d", false), (Reach::Listed, vec![3]));
        // Redis's getkeys says "by" is the destination here; SORT stores
        // into "d".
        assert_eq!(
            lock("sort k store by store d", false),
            (Reach::Listed, vec![5])
        );
        assert_eq!(
            lock("sort k by nosort get #", false),
            (Reach::Listed, vec![])
        );
        assert_eq!(
            lock("sort k by w_* store d", false),
            (Reach::Anywhere, vec![5])
        );
        assert_eq!(lock("sort k get o_*->f", false), (Reach::Anywhere, vec![]));
        assert_eq!(
            lock("sort k by nosort by w_*", false),
            (Reach::Listed, vec![])
        );
        assert_eq!(lock("sort k by w_*", true), (Reach::Anywhere, vec![]));
        // Refused calls touch nothing.
        assert_eq!(
            lock("sort k by w_* limit 0 x", false),
            (Reach::Listed, vec![])
        );
        assert_eq!(
            lock("sort_ro k store d by w_*", true),
            (Reach::Listed, vec![])
        );
    }

    #[test]
    fn patterns_split_as_redis_reads_them() {
        let keyed = |p: &'static str| match Pattern::parse(p.as_bytes()) {
            Pattern::Keyed {
                prefix,
                suffix,
                field,
            } => Some((prefix.to_vec(), suffix.to_vec(), field.map(<[u8]>::to_vec))),
            _ => None,
        };
        assert!(matches!(Pattern::parse(b"#"), Pattern::Element));
        assert!(matches!(Pattern::parse(b"#\0x"), Pattern::Element));
        assert!(matches!(Pattern::parse(b"nosort"), Pattern::Constant));
        assert!(matches!(Pattern::parse(b"a\0*"), Pattern::Constant));
        assert_eq!(keyed("w_*"), Some((b"w_".to_vec(), vec![], None)));
        assert_eq!(
            keyed("o_*x->f->g"),
            Some((b"o_".to_vec(), b"x".to_vec(), Some(b"f->g".to_vec())))
        );
        // An arrow with nothing after it is part of the key name.
        assert_eq!(keyed("x:*->"), Some((b"x:".to_vec(), b"->".to_vec(), None)));
        // An arrow before the star does not count.
        assert_eq!(keyed("a->*"), Some((b"a->".to_vec(), vec![], None)));
    }
}
