//! The shape of Redis's command facts, as `tools/gen_command_meta.py`
//! generates them into `cmd::meta`: one [`CommandFacts`] per command and
//! subcommand, with everything Redis knows about a command's interface
//! (arity, flags, ACL categories, key specs, tips, arguments, versions).
//!
//! Facts are data only: no summary, complexity or other sentence of Redis's
//! documentation is carried, so `COMMAND DOCS` reports everything but those.

use super::keyspec::KeySpec;

/// ACL categories, one bit each, in the order Redis reports them.
pub mod acl {
    /// `@keyspace`
    pub const KEYSPACE: u32 = 1 << 0;
    /// `@read`
    pub const READ: u32 = 1 << 1;
    /// `@write`
    pub const WRITE: u32 = 1 << 2;
    /// `@set`
    pub const SET: u32 = 1 << 3;
    /// `@sortedset`
    pub const SORTEDSET: u32 = 1 << 4;
    /// `@list`
    pub const LIST: u32 = 1 << 5;
    /// `@hash`
    pub const HASH: u32 = 1 << 6;
    /// `@string`
    pub const STRING: u32 = 1 << 7;
    /// `@bitmap`
    pub const BITMAP: u32 = 1 << 8;
    /// `@hyperloglog`
    pub const HYPERLOGLOG: u32 = 1 << 9;
    /// `@geo`
    pub const GEO: u32 = 1 << 10;
    /// `@stream`
    pub const STREAM: u32 = 1 << 11;
    /// `@pubsub`
    pub const PUBSUB: u32 = 1 << 12;
    /// `@admin`
    pub const ADMIN: u32 = 1 << 13;
    /// `@fast`
    pub const FAST: u32 = 1 << 14;
    /// `@slow`
    pub const SLOW: u32 = 1 << 15;
    /// `@blocking`
    pub const BLOCKING: u32 = 1 << 16;
    /// `@dangerous`
    pub const DANGEROUS: u32 = 1 << 17;
    /// `@connection`
    pub const CONNECTION: u32 = 1 << 18;
    /// `@transaction`
    pub const TRANSACTION: u32 = 1 << 19;
    /// `@scripting`
    pub const SCRIPTING: u32 = 1 << 20;

    /// Category names; bit `i` is `NAMES[i]`.
    pub const NAMES: &[&str] = &[
        "keyspace",
        "read",
        "write",
        "set",
        "sortedset",
        "list",
        "hash",
        "string",
        "bitmap",
        "hyperloglog",
        "geo",
        "stream",
        "pubsub",
        "admin",
        "fast",
        "slow",
        "blocking",
        "dangerous",
        "connection",
        "transaction",
        "scripting",
    ];

    /// The names of the categories in `bits`, in Redis's order.
    pub fn names(bits: u32) -> impl Iterator<Item = &'static str> {
        NAMES
            .iter()
            .enumerate()
            .filter(move |(i, _)| bits & (1 << i) != 0)
            .map(|(_, n)| *n)
    }

    /// The bit of the category called `name` (lower case).
    pub fn by_name(name: &[u8]) -> Option<u32> {
        NAMES
            .iter()
            .position(|n| n.as_bytes() == name)
            .map(|i| 1 << i)
    }
}

/// Argument flags (`COMMAND DOCS`), one bit each, in Redis's order.
pub mod arg_flags {
    /// The argument may be left out.
    pub const OPTIONAL: u8 = 1 << 0;
    /// The argument may repeat.
    pub const MULTIPLE: u8 = 1 << 1;
    /// Each repetition repeats the token too.
    pub const MULTIPLE_TOKEN: u8 = 1 << 2;

    /// Flag names; bit `i` is `NAMES[i]`.
    pub const NAMES: &[&str] = &["optional", "multiple", "multiple_token"];
}

/// Everything Redis's command table says about one command or subcommand.
#[derive(Debug)]
pub struct CommandFacts {
    /// Full lower-case name (`hset`, `client|kill`).
    pub name: &'static str,
    /// The Redis release whose facts these are (`7.0`, or the later release
    /// that introduced the command).
    pub release: &'static str,
    /// Argument count including the name; negative means "at least -arity".
    pub arity: i32,
    /// Redis's command flags, as bits of [`super::flags`] (movablekeys
    /// included, as Redis derives it from the key specs).
    pub flags: u32,
    /// ACL categories (explicit and implied by the flags), bits of [`acl`].
    pub acl: u32,
    /// First key, last key and step, as `COMMAND INFO` reports them
    /// (derived from the key specs the way Redis does).
    pub legacy_keys: (i32, i32, i32),
    /// Key specs.
    pub key_specs: &'static [KeySpec],
    /// Command tips (`request_policy:all_shards`, ...).
    pub tips: &'static [&'static str],
    /// Whether Redis has a getkeys function for the command (its keys can
    /// also be found by parsing the arguments).
    pub has_getkeys: bool,
    /// Version that introduced the command.
    pub since: &'static str,
    /// Documentation group.
    pub group: &'static str,
    /// Documentation flags (`deprecated`, `syscmd`).
    pub doc_flags: &'static [&'static str],
    /// Version that deprecated the command.
    pub deprecated_since: Option<&'static str>,
    /// Versions of the command's history entries (their sentences are prose
    /// and are not carried, so `COMMAND DOCS` leaves history out).
    pub history: &'static [&'static str],
    /// Full names of the subcommands Redis has (for containers).
    pub subcommands: &'static [&'static str],
    /// The command's arguments.
    pub args: &'static [Arg],
}

/// One argument of a command, as `COMMAND DOCS` reports it.
#[derive(Debug)]
pub struct Arg {
    /// Name.
    pub name: &'static str,
    /// Type (`key`, `string`, `integer`, `pure-token`, `oneof`, `block`...).
    pub kind: &'static str,
    /// Display name (reported by releases from 7.2 on, for plain arguments).
    pub display: Option<&'static str>,
    /// Index of the key spec for key arguments, else -1.
    pub key_spec_index: i32,
    /// The keyword introducing the argument.
    pub token: Option<&'static str>,
    /// Version that added the argument.
    pub since: Option<&'static str>,
    /// Version that deprecated the argument.
    pub deprecated_since: Option<&'static str>,
    /// Bits of [`arg_flags`].
    pub flags: u8,
    /// Members of a `oneof` or `block`.
    pub args: &'static [Arg],
}

/// True if `a` and `b` are the same string; usable in constants.
const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `a < b` in byte order; usable in constants.
const fn str_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// The facts of the command called `name` (full lower-case name) in
/// `table` (sorted by name), if Redis has it; usable in constants, so a
/// binding is joined at compile time.
pub const fn find_in(table: &'static [CommandFacts], name: &str) -> Option<&'static CommandFacts> {
    let (mut lo, mut hi) = (0, table.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        let here = table[mid].name;
        if str_eq(here, name) {
            return Some(&table[mid]);
        }
        if str_less(here, name) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    None
}

/// The facts of `name` in `table`; a binding that names no generated entry stops the
/// build (the constant evaluating it panics with the name).
pub const fn expect_in(
    table: &'static [CommandFacts],
    name: &'static str,
) -> &'static CommandFacts {
    match find_in(table, name) {
        Some(f) => f,
        None => panic!("{}", name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(name: &str) -> Option<&'static CommandFacts> {
        find_in(crate::cmd::meta::COMMAND_FACTS, name)
    }

    fn expect(name: &'static str) -> &'static CommandFacts {
        expect_in(crate::cmd::meta::COMMAND_FACTS, name)
    }

    #[test]
    fn table_is_sorted_and_found() {
        let table = crate::cmd::meta::COMMAND_FACTS;
        assert!(table.windows(2).all(|w| w[0].name < w[1].name));
        assert!(table.iter().all(|f| find_in(table, f.name).is_some()));
        assert_eq!(find("get").map(|f| f.group), Some("string"));
        assert!(find("client|kill").is_some());
        assert!(find("nosuchcommand").is_none());
        assert!(find("").is_none());
        assert!(find("zzzz").is_none());
        // Redis 7.0 has 388 commands and subcommands; every one is here.
        assert!(table.iter().filter(|f| f.release == "7.0").count() >= 388);
    }

    #[test]
    fn derived_facts_follow_redis_rules() {
        let lmpop = expect("lmpop");
        assert!(lmpop.flags & super::super::flags::MOVABLE_KEYS != 0);
        assert_eq!(lmpop.legacy_keys, (0, 0, 0));
        let get = expect("get");
        assert!(get.flags & super::super::flags::MOVABLE_KEYS == 0);
        assert_eq!(get.legacy_keys, (1, 1, 1));
        assert_eq!(
            acl::names(get.acl).collect::<Vec<_>>(),
            ["read", "string", "fast"]
        );
        assert_eq!(expect("mset").legacy_keys, (1, -1, 2));
        // Two consecutive ranges merge (RENAME's source and destination).
        assert_eq!(expect("rename").legacy_keys, (1, 2, 1));
        assert!(expect("client").subcommands.contains(&"client|kill"));
        assert_eq!(acl::by_name(b"hash"), Some(acl::HASH));
        assert_eq!(acl::by_name(b"nosuch"), None);
    }
}
