//! Key specs, Redis 7's model of where a command's keys are, and key
//! extraction from them.
//!
//! A key spec begins at a fixed index or after a keyword (searched from
//! `startfrom`: forwards when positive, backwards from the end when
//! negative), then finds its keys as a range (`lastkey` relative to the
//! beginning or, negative, from the end; every `step`; `limit` splits what
//! is left when `lastkey` is -1) or as a count argument followed by that
//! many keys (`keynum`). Flags say how the keys are accessed.
//!
//! Two extractions share one search ([`KeySpec::search`]):
//! * [`keys_with_flags`] follows Redis's `COMMAND GETKEYS` rules exactly:
//!   any spec that does not fit the arguments, or is marked INCOMPLETE,
//!   makes the whole extraction fail.
//! * [`KeyPositions`] is what the dispatcher locks by, for every command: it
//!   never allocates, and takes what each spec finds, clamped to the
//!   arguments, so it is a superset of the keys any valid call touches (a
//!   call that does not fit is refused by its handler before it touches a
//!   key).
//!
//! Commands whose keys come from data or need parsing (Redis's getkeys
//! functions: SORT's BY/GET patterns, MIGRATE's KEYS, GEORADIUS's STORE)
//! bind a [`GetKeys`] function beside their handler; see
//! `CommandSpec::with_getkeys` (in `cmd::spec`). A command whose handler
//! may touch more than that function reports (SORT: the destination its own
//! parser takes, and any key its patterns build) also binds a [`LockKeys`]
//! finder for locking (`CommandSpec::with_lock_keys`).

use bytes::Bytes;

/// Key-spec flags, one bit each, in the order Redis reports them.
pub mod flags {
    /// Read-only access.
    pub const RO: u16 = 1 << 0;
    /// Read-write access.
    pub const RW: u16 = 1 << 1;
    /// Overwrite: the old value is not read.
    pub const OW: u16 = 1 << 2;
    /// Removal.
    pub const RM: u16 = 1 << 3;
    /// The value is returned, copied or used.
    pub const ACCESS: u16 = 1 << 4;
    /// The value is updated.
    pub const UPDATE: u16 = 1 << 5;
    /// Data is added.
    pub const INSERT: u16 = 1 << 6;
    /// Data is deleted.
    pub const DELETE: u16 = 1 << 7;
    /// Not a key (a channel, say), though placed like one.
    pub const NOT_KEY: u16 = 1 << 8;
    /// The spec may miss keys.
    pub const INCOMPLETE: u16 = 1 << 9;
    /// The flags depend on the arguments.
    pub const VARIABLE_FLAGS: u16 = 1 << 10;

    /// Flag names; bit `i` is `NAMES[i]`.
    pub const NAMES: &[&str] = &[
        "RO",
        "RW",
        "OW",
        "RM",
        "access",
        "update",
        "insert",
        "delete",
        "not_key",
        "incomplete",
        "variable_flags",
    ];

    /// The names of the flags in `bits`, in Redis's order.
    pub fn names(bits: u16) -> impl Iterator<Item = &'static str> {
        NAMES
            .iter()
            .enumerate()
            .filter(move |(i, _)| bits & (1 << i) != 0)
            .map(|(_, n)| *n)
    }
}

/// Where a key spec starts looking for keys.
#[derive(Debug, Clone, Copy)]
pub enum Begin {
    /// At a fixed argument index.
    Index(i32),
    /// After the first `keyword` found searching from `startfrom`
    /// (negative: from the end, backwards).
    Keyword {
        /// The keyword (matched case-insensitively).
        keyword: &'static str,
        /// Where the search starts.
        startfrom: i32,
    },
    /// Not describable: the keys derive from data (SORT's patterns).
    Unknown,
}

/// How a key spec finds its keys once it has begun.
#[derive(Debug, Clone, Copy)]
pub enum Find {
    /// A run of keys: `lastkey` relative to the beginning (negative: from
    /// the end), every `step`; with `lastkey` -1 and a `limit`, only the
    /// first 1/`limit` of the remaining arguments.
    Range {
        /// Last key, relative.
        lastkey: i32,
        /// Distance between keys.
        step: i32,
        /// Divisor limiting the run (0: none).
        limit: i32,
    },
    /// A count argument, then that many keys.
    Keynum {
        /// Index of the count, relative to the beginning.
        keynumidx: i32,
        /// First key, relative to the beginning.
        firstkey: i32,
        /// Distance between keys.
        step: i32,
    },
    /// Not describable.
    Unknown,
}

/// One key spec of a command.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// Bits of [`flags`].
    pub flags: u16,
    /// Begin-search rule.
    pub begin: Begin,
    /// Find-keys rule.
    pub find: Find,
}

/// What one key spec finds in a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Keys at `first`, `first + step`, ... up to `last` (inclusive).
    Run {
        /// First key index.
        first: usize,
        /// Last key index (inclusive).
        last: usize,
        /// Distance between keys (at least 1).
        step: usize,
    },
    /// The spec's keyword is absent, or (clamped) nothing is left: no keys.
    Nothing,
    /// The spec does not fit the arguments (count unparsable, keys beyond
    /// the end) or cannot be followed (unknown begin or find).
    Invalid,
}

/// A key found in a command line: its index and its spec's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    /// Index in the arguments (0 is the command name).
    pub pos: usize,
    /// Bits of [`flags`].
    pub flags: u16,
}

/// A command's own key finder, for keys that come from data or need
/// parsing, or flags that depend on the arguments (Redis's getkeys
/// functions). It appends the keys of `args` (the whole command line) to
/// `keys`; appending nothing means the arguments name no valid keys.
pub type GetKeys = fn(args: &[Bytes], keys: &mut Vec<KeyRef>);

/// What a command's own lock finder ([`LockKeys`]) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The call touches only the keys appended (and its key specs' keys).
    Listed,
    /// The call may touch keys its arguments do not name (SORT's BY and
    /// GET patterns name keys built from the data): lock every shard.
    Anywhere,
}

/// A command's own lock finder, for commands whose handler may touch keys
/// that Redis's getkeys function does not report: it appends the keys of
/// `args` the call touches, or says the call may touch any key. Locking
/// uses it in place of the command's [`GetKeys`].
pub type LockKeys = fn(args: &[Bytes], keys: &mut Vec<KeyRef>) -> Reach;

impl KeySpec {
    /// Follows the spec over `args` (the whole command line). `clamp` cuts
    /// a run that goes past the end down to the arguments there are, instead
    /// of calling it invalid.
    #[inline]
    pub fn search(&self, args: &[Bytes], clamp: bool) -> Found {
        let argc = args.len() as i64;
        let mut first = match self.begin {
            Begin::Index(pos) => pos as i64,
            Begin::Keyword { keyword, startfrom } => {
                match find_keyword(args, keyword.as_bytes(), startfrom as i64) {
                    Some(after) => after,
                    None => return Found::Nothing,
                }
            }
            Begin::Unknown => return Found::Invalid,
        };
        let (last, step) = match self.find {
            Find::Range {
                lastkey,
                step,
                limit,
            } => {
                let lastkey = lastkey as i64;
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + (argc - first) / limit as i64 + lastkey
                };
                (last, step)
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                let at = first + keynumidx as i64;
                let count = usize::try_from(at)
                    .ok()
                    .and_then(|at| args.get(at))
                    .and_then(|a| crate::protocol::parse_i64(a))
                    .filter(|&n| n >= 0);
                let Some(count) = count else {
                    return if clamp {
                        Found::Nothing
                    } else {
                        Found::Invalid
                    };
                };
                first += firstkey as i64;
                (first.saturating_add(count) - 1, step)
            }
            Find::Unknown => return Found::Invalid,
        };
        if step <= 0 || first < 1 {
            return Found::Invalid;
        }
        let last = if clamp { last.min(argc - 1) } else { last };
        if last >= argc || last < first || first >= argc {
            return if clamp {
                Found::Nothing
            } else {
                Found::Invalid
            };
        }
        Found::Run {
            first: first as usize,
            last: last as usize,
            step: step as usize,
        }
    }

    /// True if following the spec finds every key it describes (it is not
    /// INCOMPLETE and both its rules are known).
    pub const fn is_complete(&self) -> bool {
        self.flags & flags::INCOMPLETE == 0
            && !matches!(self.begin, Begin::Unknown)
            && !matches!(self.find, Find::Unknown)
    }
}

/// Index just after the first `keyword` in `args`, searched from
/// `startfrom` forwards (positive) or from `argc + startfrom` backwards
/// (negative), never at index 0 and, as in Redis, not at the search's
/// far end (the last argument forwards, index 1 backwards).
fn find_keyword(args: &[Bytes], keyword: &[u8], startfrom: i64) -> Option<i64> {
    let argc = args.len() as i64;
    let (start, end) = if startfrom > 0 {
        (startfrom, argc - 1)
    } else {
        (argc + startfrom, 1)
    };
    let dir = if start <= end { 1 } else { -1 };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            break;
        }
        if args[i as usize].eq_ignore_ascii_case(keyword) {
            return Some(i + 1);
        }
        i += dir;
    }
    None
}

/// True if every spec of `specs` is complete (see [`KeySpec::is_complete`]).
pub const fn all_complete(specs: &[KeySpec]) -> bool {
    let mut i = 0;
    while i < specs.len() {
        if !specs[i].is_complete() {
            return false;
        }
        i += 1;
    }
    true
}

/// True if some spec describes real keys (is not NOT_KEY).
pub fn has_keys(specs: &[KeySpec]) -> bool {
    specs.iter().any(|s| s.flags & flags::NOT_KEY == 0)
}

/// Redis's key extraction from key specs (as for `COMMAND GETKEYS`): the
/// keys of every spec in order, NOT_KEY specs skipped. Returns false, with
/// `out` emptied, if a spec does not fit `args` or is INCOMPLETE.
pub fn keys_with_flags(specs: &[KeySpec], args: &[Bytes], out: &mut Vec<KeyRef>) -> bool {
    out.clear();
    for spec in specs {
        if spec.flags & flags::NOT_KEY != 0 {
            continue;
        }
        match spec.search(args, false) {
            Found::Nothing => continue,
            Found::Invalid => {
                out.clear();
                return false;
            }
            Found::Run { first, last, step } => {
                out.extend((first..=last).step_by(step).map(|pos| KeyRef {
                    pos,
                    flags: spec.flags,
                }));
            }
        }
        if spec.flags & flags::INCOMPLETE != 0 {
            out.clear();
            return false;
        }
    }
    true
}

/// The key indexes the dispatcher locks by: every spec's keys clamped to
/// the arguments (see the module documentation). Allocation-free.
pub struct KeyPositions<'a> {
    specs: std::slice::Iter<'a, KeySpec>,
    args: &'a [Bytes],
    next: usize,
    last: usize,
    step: usize,
}

impl<'a> KeyPositions<'a> {
    /// The positions of `specs`' keys in `args` (the whole command line).
    #[inline]
    pub fn new(specs: &'a [KeySpec], args: &'a [Bytes]) -> Self {
        KeyPositions {
            specs: specs.iter(),
            args,
            next: 1,
            last: 0,
            step: 1,
        }
    }
}

impl Iterator for KeyPositions<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.next <= self.last {
                let pos = self.next;
                self.next += self.step;
                return Some(pos);
            }
            let spec = self.specs.next()?;
            if spec.flags & flags::NOT_KEY != 0 {
                continue;
            }
            if let Found::Run { first, last, step } = spec.search(self.args, true) {
                self.next = first;
                self.last = last;
                self.step = step;
            }
        }
    }
}

/// C's `atoi`: leading white space, an optional sign, then digits up to
/// the first non-digit (0 if none); saturating instead of overflowing.
fn atoi(arg: &[u8]) -> i64 {
    let mut rest = arg;
    while let [b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c', tail @ ..] = rest {
        rest = tail;
    }
    let negative = rest.first() == Some(&b'-');
    if let [b'-' | b'+', tail @ ..] = rest {
        rest = tail;
    }
    let mut n: i64 = 0;
    for &c in rest.iter().take_while(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    if negative {
        -n
    } else {
        n
    }
}

/// The shared key finder of Redis's count-then-keys commands (LMPOP,
/// ZUNIONSTORE, ...), used when their key specs do not fit: the count at
/// `count_at` read as C's `atoi` reads it, that many keys from `first_key`
/// every `step`, then the destination at `store_at` if there is one; none
/// if the count is below 1 or more than the arguments hold. Flags are left
/// empty, as Redis leaves them.
pub fn count_then_keys(
    args: &[Bytes],
    store_at: Option<usize>,
    count_at: usize,
    first_key: usize,
    step: usize,
    keys: &mut Vec<KeyRef>,
) {
    let Some(count) = args.get(count_at).map(|a| atoi(a)) else {
        return;
    };
    let room = (args.len().saturating_sub(first_key) / step.max(1)) as i64;
    if count < 1 || count > room {
        return;
    }
    let at = (0..count as usize).map(|i| first_key + i * step);
    keys.extend(at.chain(store_at).map(|pos| KeyRef { pos, flags: 0 }));
}

#[cfg(test)]
mod tests {
    use super::flags::*;
    use super::*;

    fn line(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    const fn range(pos: i32, lastkey: i32, step: i32, limit: i32) -> KeySpec {
        KeySpec {
            flags: RW,
            begin: Begin::Index(pos),
            find: Find::Range {
                lastkey,
                step,
                limit,
            },
        }
    }

    fn exact(specs: &[KeySpec], s: &str) -> Option<Vec<usize>> {
        let mut out = Vec::new();
        keys_with_flags(specs, &line(s), &mut out).then(|| out.iter().map(|k| k.pos).collect())
    }

    fn locked(specs: &[KeySpec], s: &str) -> Vec<usize> {
        KeyPositions::new(specs, &line(s)).collect()
    }

    #[test]
    fn ranges() {
        let one = [range(1, 0, 1, 0)];
        assert_eq!(exact(&one, "get k"), Some(vec![1]));
        assert_eq!(locked(&one, "get k"), [1]);
        // Missing key: invalid for GETKEYS, nothing to lock.
        assert_eq!(exact(&one, "get"), None);
        assert!(locked(&one, "get").is_empty());
        let all = [range(1, -1, 1, 0)];
        assert_eq!(exact(&all, "del a b c"), Some(vec![1, 2, 3]));
        let pairs = [range(1, -1, 2, 0)];
        assert_eq!(exact(&pairs, "mset a 1 b 2"), Some(vec![1, 3]));
        assert_eq!(locked(&pairs, "mset a 1 b"), [1, 3]);
        // All but the last (BLPOP's timeout).
        let but_last = [range(1, -2, 1, 0)];
        assert_eq!(exact(&but_last, "blpop a b 0"), Some(vec![1, 2]));
        // Two specs in a row (LMOVE).
        let two = [range(1, 0, 1, 0), range(2, 0, 1, 0)];
        assert_eq!(exact(&two, "lmove a b left right"), Some(vec![1, 2]));
        assert_eq!(locked(&two, "lmove a b left right"), [1, 2]);
        // Fixed run longer than the line: clamped for locking only.
        let three = [range(1, 2, 1, 0)];
        assert_eq!(exact(&three, "x a b"), None);
        assert_eq!(locked(&three, "x a b"), [1, 2]);
    }

    #[test]
    fn keyword_and_limit() {
        // XREAD ... STREAMS k1 k2 id1 id2: keyword from the start, half the rest.
        let streams = [KeySpec {
            flags: RO,
            begin: Begin::Keyword {
                keyword: "STREAMS",
                startfrom: 1,
            },
            find: Find::Range {
                lastkey: -1,
                step: 1,
                limit: 2,
            },
        }];
        assert_eq!(
            exact(&streams, "xread count 2 streams a b 0 0"),
            Some(vec![4, 5])
        );
        assert_eq!(exact(&streams, "xread count 2 nostreams a"), Some(vec![]));
        // The keyword last: nothing after it.
        assert_eq!(exact(&streams, "xread count 2 streams"), Some(vec![]));
        // Searched backwards from the end (GEORADIUS ... STORE k).
        let store = [KeySpec {
            flags: OW,
            begin: Begin::Keyword {
                keyword: "STORE",
                startfrom: -2,
            },
            find: Find::Range {
                lastkey: 0,
                step: 1,
                limit: 0,
            },
        }];
        assert_eq!(
            exact(&store, "georadius k 0 0 1 m store dst"),
            Some(vec![7])
        );
        assert_eq!(
            exact(&store, "georadius k 0 0 1 m STORE dst"),
            Some(vec![7])
        );
        assert_eq!(exact(&store, "georadius k 0 0 1 m"), Some(vec![]));
    }

    #[test]
    fn keynum() {
        // ZUNIONSTORE dst numkeys k...: a range then a keynum spec.
        let specs = [
            range(1, 0, 1, 0),
            KeySpec {
                flags: RO,
                begin: Begin::Index(2),
                find: Find::Keynum {
                    keynumidx: 0,
                    firstkey: 1,
                    step: 1,
                },
            },
        ];
        assert_eq!(
            exact(&specs, "zunionstore d 2 a b weights 1 2"),
            Some(vec![1, 3, 4])
        );
        assert_eq!(locked(&specs, "zunionstore d 2 a b"), [1, 3, 4]);
        for bad in ["0", "-1", "x", "3"] {
            let cmd = format!("zunionstore d {bad} a b");
            assert_eq!(exact(&specs, &cmd), None, "{cmd}");
        }
        // Locking keeps what fits: the destination, and clamped keys.
        assert_eq!(locked(&specs, "zunionstore d x a b"), [1]);
        assert_eq!(locked(&specs, "zunionstore d 5 a b"), [1, 3, 4]);
    }

    #[test]
    fn incomplete_unknown_and_not_key() {
        let incomplete = [KeySpec {
            flags: RW | INCOMPLETE,
            ..range(1, 0, 1, 0)
        }];
        assert_eq!(exact(&incomplete, "x a"), None);
        assert_eq!(locked(&incomplete, "x a"), [1]);
        let unknown = [
            range(1, 0, 1, 0),
            KeySpec {
                flags: RO,
                begin: Begin::Unknown,
                find: Find::Unknown,
            },
        ];
        assert_eq!(exact(&unknown, "sort k by p"), None);
        assert_eq!(locked(&unknown, "sort k by p"), [1]);
        assert!(!all_complete(&unknown));
        assert!(all_complete(&[range(1, 0, 1, 0)]));
        let channel = [KeySpec {
            flags: NOT_KEY,
            ..range(1, 0, 1, 0)
        }];
        assert_eq!(exact(&channel, "spublish c m"), Some(vec![]));
        assert!(locked(&channel, "spublish c m").is_empty());
        assert!(!has_keys(&channel));
    }

    #[test]
    fn count_then_keys_reads_counts_as_atoi() {
        let keys = |s: &str, store: Option<usize>| {
            let mut out = Vec::new();
            count_then_keys(&line(s), store, 2, 3, 1, &mut out);
            out.iter().map(|k| k.pos).collect::<Vec<_>>()
        };
        assert_eq!(keys("zunionstore d 2abc a b", Some(1)), [3, 4, 1]);
        assert_eq!(keys("zunionstore d +1 a b", Some(1)), [3, 1]);
        assert!(keys("zunionstore d 3 a b", Some(1)).is_empty());
        assert!(keys("zunionstore d x a b", Some(1)).is_empty());
        assert!(keys("zunionstore d -1 a b", None).is_empty());
        assert!(keys("zunionstore d", None).is_empty());
        assert_eq!(atoi(b"99999999999999999999999"), i64::MAX);
    }

    #[test]
    fn flag_names_in_redis_order() {
        let names: Vec<_> = flags::names(RW | ACCESS | UPDATE | VARIABLE_FLAGS).collect();
        assert_eq!(names, ["RW", "access", "update", "variable_flags"]);
    }
}
