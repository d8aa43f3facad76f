//! `COMMAND` and its subcommands: what the command table tells clients
//! about itself (COMMAND INFO, DOCS, LIST, COUNT, GETKEYS).
//!
//! Arity, flags and legacy key positions come from ferrodis's own table, so
//! what COMMAND INFO reports is what the dispatcher enforces. ACL categories,
//! tips and key specs, which the table does not model, come from
//! [`super::meta`], the interface facts of Redis 7.0's commands.

use super::flags;
use super::{CommandSpec, Ctx, KeySpec, Registry};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult, SYNTAX};
use crate::reply::Reply;

/// Where a key spec starts looking for keys.
#[derive(Debug, Clone, Copy)]
pub enum Begin {
    /// At a fixed argument index.
    Index(i64),
    /// After the first `keyword` found searching from `startfrom`
    /// (negative: from the end, backwards).
    Keyword {
        /// The keyword.
        keyword: &'static str,
        /// Where the search starts.
        startfrom: i64,
    },
    /// Not describable (the command's own parser knows).
    Unknown,
}

/// How a key spec finds its keys once it has begun.
#[derive(Debug, Clone, Copy)]
pub enum Find {
    /// A run of keys: `lastkey` relative to the start (negative: from the
    /// end), every `step`, at most `limit`-th of the rest when `lastkey` is -1.
    Range {
        /// Last key, relative.
        lastkey: i64,
        /// Distance between keys.
        step: i64,
        /// Divisor limiting the run (0: none).
        limit: i64,
    },
    /// A count argument, then that many keys.
    Keynum {
        /// Index of the count, relative to the start.
        keynumidx: i64,
        /// First key, relative to the start.
        firstkey: i64,
        /// Distance between keys.
        step: i64,
    },
    /// Not describable.
    Unknown,
}

/// One key spec of a command, as COMMAND INFO reports it.
#[derive(Debug)]
pub struct KeySpecMeta {
    /// Access flags (`RO`, `RW`, `access`, `update`, ...), in Redis's order.
    pub flags: &'static [&'static str],
    /// Begin-search rule.
    pub begin: Begin,
    /// Find-keys rule.
    pub find: Find,
}

/// Interface facts of one Redis command that the command table does not
/// model itself.
#[derive(Debug)]
pub struct CommandMeta {
    /// Full lower-case name (`client|kill`).
    pub name: &'static str,
    /// Whether Redis flags the command `movablekeys`.
    pub movable_keys: bool,
    /// Version that introduced the command.
    pub since: &'static str,
    /// Documentation group.
    pub group: &'static str,
    /// ACL categories listed explicitly (the implicit ones follow from flags).
    pub acl: &'static [&'static str],
    /// Command tips (`request_policy:all_shards`, ...).
    pub tips: &'static [&'static str],
    /// Key specs.
    pub key_specs: &'static [KeySpecMeta],
    /// Documentation flags (`deprecated`, `syscmd`).
    pub doc_flags: &'static [&'static str],
    /// Version that deprecated the command.
    pub deprecated_since: Option<&'static str>,
    /// The command's arguments.
    pub arguments: &'static [ArgMeta],
}

/// One argument of a command, as COMMAND DOCS reports it.
#[derive(Debug)]
pub struct ArgMeta {
    /// Name.
    pub name: &'static str,
    /// Type (`key`, `string`, `integer`, `pure-token`, `oneof`, `block`...).
    pub kind: &'static str,
    /// Index of the key spec for key arguments, else -1.
    pub key_spec_index: i64,
    /// The keyword introducing the argument.
    pub token: Option<&'static str>,
    /// Version that added the argument.
    pub since: Option<&'static str>,
    /// Version that deprecated the argument.
    pub deprecated_since: Option<&'static str>,
    /// `optional`, `multiple`, `multiple_token`.
    pub flags: &'static [&'static str],
    /// Members of a `oneof` or `block`.
    pub args: &'static [ArgMeta],
}

fn write_args(out: &mut Reply, args: &[ArgMeta]) {
    out.array(args.len());
    for a in args {
        let nested = matches!(a.kind, "oneof" | "block");
        let fields = 2
            + usize::from(a.key_spec_index >= 0)
            + usize::from(a.token.is_some())
            + usize::from(a.since.is_some())
            + usize::from(a.deprecated_since.is_some())
            + usize::from(!a.flags.is_empty())
            + usize::from(nested);
        out.map(fields);
        out.bulk(b"name");
        out.bulk(a.name.as_bytes());
        out.bulk(b"type");
        out.bulk(a.kind.as_bytes());
        if a.key_spec_index >= 0 {
            out.bulk(b"key_spec_index");
            out.int(a.key_spec_index);
        }
        for (field, value) in [
            ("token", a.token),
            ("since", a.since),
            ("deprecated_since", a.deprecated_since),
        ] {
            if let Some(v) = value {
                out.bulk(field.as_bytes());
                out.bulk(v.as_bytes());
            }
        }
        if !a.flags.is_empty() {
            out.bulk(b"flags");
            out.set(a.flags.len());
            for f in a.flags {
                out.simple(f);
            }
        }
        if nested {
            out.bulk(b"arguments");
            write_args(out, a.args);
        }
    }
}

/// ACL categories in the order Redis reports them.
pub const ACL_CATEGORIES: &[&str] = &[
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

/// Redis's facts about the command named `name` (full name), if Redis has it.
pub fn meta(name: &str) -> Option<&'static CommandMeta> {
    let table = super::meta::COMMAND_META;
    table
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &table[i])
}

/// The command's ACL categories, in Redis's order: the explicit ones from
/// Redis's facts (or the group's, for commands Redis lacks) plus those
/// implied by the flags.
pub fn acl_categories(spec: &CommandSpec) -> Vec<&'static str> {
    let mut has: Vec<&'static str> = match meta(spec.name) {
        Some(m) => m.acl.to_vec(),
        None => match spec.group {
            super::Group::Generic => vec!["keyspace"],
            super::Group::String => vec!["string"],
            super::Group::List => vec!["list"],
            super::Group::Hash => vec!["hash"],
            super::Group::Transactions => vec!["transaction"],
            super::Group::Connection => vec!["connection"],
            super::Group::Server => vec![],
        },
    };
    if spec.has(flags::WRITE) {
        has.push("write");
    }
    if spec.has(flags::READONLY) && !has.contains(&"scripting") {
        has.push("read");
    }
    if spec.has(flags::ADMIN) {
        has.push("admin");
        has.push("dangerous");
    }
    if spec.has(flags::PUBSUB) {
        has.push("pubsub");
    }
    if spec.has(flags::FAST) {
        has.push("fast");
    }
    if spec.has(flags::BLOCKING) {
        has.push("blocking");
    }
    if !has.contains(&"fast") {
        has.push("slow");
    }
    ACL_CATEGORIES
        .iter()
        .copied()
        .filter(|c| has.contains(c))
        .collect()
}

/// True if the command's keys cannot be found from a fixed range alone.
fn movable_keys(spec: &CommandSpec) -> bool {
    match meta(spec.name) {
        Some(m) => m.movable_keys,
        None => matches!(spec.keys, KeySpec::Numkeys { .. }),
    }
}

/// Writes the command's flags as a set of status strings.
fn write_flags(out: &mut Reply, spec: &CommandSpec) {
    let mut names: Vec<&str> = flags::NAMES
        .iter()
        // Redis hides may_replicate.
        .filter(|(bit, name)| spec.has(*bit) && *name != "may_replicate")
        .map(|(_, name)| *name)
        .collect();
    if movable_keys(spec) {
        // movablekeys sits between no_multi and allow_busy.
        let at = names
            .iter()
            .position(|n| *n == "allow_busy")
            .unwrap_or(names.len());
        names.insert(at, "movablekeys");
    }
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
}

fn write_key_specs(out: &mut Reply, specs: &[KeySpecMeta]) {
    out.set(specs.len());
    for ks in specs {
        out.map(3);
        out.bulk(b"flags");
        out.set(ks.flags.len());
        for f in ks.flags {
            out.simple(f);
        }
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        match ks.begin {
            Begin::Index(pos) => {
                out.bulk(b"index");
                out.bulk(b"spec");
                out.map(1);
                out.bulk(b"index");
                out.int(pos);
            }
            Begin::Keyword { keyword, startfrom } => {
                out.bulk(b"keyword");
                out.bulk(b"spec");
                out.map(2);
                out.bulk(b"keyword");
                out.bulk(keyword.as_bytes());
                out.bulk(b"startfrom");
                out.int(startfrom);
            }
            Begin::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        match ks.find {
            Find::Range {
                lastkey,
                step,
                limit,
            } => {
                out.bulk(b"range");
                out.bulk(b"spec");
                out.map(3);
                out.bulk(b"lastkey");
                out.int(lastkey);
                out.bulk(b"keystep");
                out.int(step);
                out.bulk(b"limit");
                out.int(limit);
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                out.bulk(b"keynum");
                out.bulk(b"spec");
                out.map(3);
                out.bulk(b"keynumidx");
                out.int(keynumidx);
                out.bulk(b"firstkey");
                out.int(firstkey);
                out.bulk(b"keystep");
                out.int(step);
            }
            Find::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
    }
}

/// Writes the 10-element COMMAND INFO entry of `spec`.
pub fn write_command_info(out: &mut Reply, spec: &CommandSpec) {
    let m = meta(spec.name);
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(spec.arity as i64);
    write_flags(out, spec);
    let (first, last, step) = spec.keys.legacy_range();
    out.int(first);
    out.int(last);
    out.int(step);
    let cats = acl_categories(spec);
    out.set(cats.len());
    for c in cats {
        out.simple(&format!("@{c}"));
    }
    let tips = m.map_or(&[][..], |m| m.tips);
    out.set(tips.len());
    for t in tips {
        out.bulk(t.as_bytes());
    }
    write_key_specs(out, m.map_or(&[][..], |m| m.key_specs));
    if spec.subcommands.is_empty() {
        out.set(0);
    } else {
        out.array(spec.subcommands.len());
        for sub in spec.subcommands {
            write_command_info(out, sub);
        }
    }
}

/// Looks up a command or `container|subcommand` by name, case-insensitively.
pub fn lookup_full(name: &[u8]) -> Option<&'static CommandSpec> {
    let registry = Registry::get();
    let lower = name.to_ascii_lowercase();
    match lower.iter().position(|&c| c == b'|') {
        None => registry.lookup(&lower),
        Some(bar) => {
            let container = registry.lookup(&lower[..bar])?;
            container
                .subcommands
                .iter()
                .find(|s| s.name.as_bytes() == lower.as_slice())
        }
    }
}

/// Every command and subcommand, containers before their subcommands.
fn all_commands() -> impl Iterator<Item = &'static CommandSpec> {
    Registry::get()
        .commands
        .iter()
        .flat_map(|c| std::iter::once(*c).chain(c.subcommands.iter()))
}

/// `COMMAND` with no subcommand: every top-level command's info.
pub fn command_all(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let registry = Registry::get();
    ctx.out.array(registry.commands.len());
    for spec in &registry.commands {
        write_command_info(ctx.out, spec);
    }
    Ok(())
}

/// `COMMAND COUNT`
pub fn command_count(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.int(Registry::get().commands.len() as i64);
    Ok(())
}

/// `COMMAND INFO [name ...]`
pub fn command_info(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    if ctx.args.len() == 2 {
        return command_all(ctx, db);
    }
    ctx.out.array(ctx.args.len() - 2);
    for name in &ctx.args[2..] {
        match lookup_full(name) {
            Some(spec) => write_command_info(ctx.out, spec),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// `COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]`
pub fn command_list(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    enum Filter<'a> {
        All,
        Module,
        AclCat(&'a [u8]),
        Pattern(&'a [u8]),
    }
    let mut filter = Filter::All;
    let mut i = 2;
    while i < ctx.args.len() {
        let more = ctx.args.len() - 1 - i;
        if !(super::args::is(&ctx.args[i], "FILTERBY") && more == 2) {
            return Err(SYNTAX);
        }
        let arg = &ctx.args[i + 2][..];
        filter = if super::args::is(&ctx.args[i + 1], "MODULE") {
            Filter::Module
        } else if super::args::is(&ctx.args[i + 1], "ACLCAT") {
            Filter::AclCat(arg)
        } else if super::args::is(&ctx.args[i + 1], "PATTERN") {
            Filter::Pattern(arg)
        } else {
            return Err(SYNTAX);
        };
        i += 3;
    }
    let names: Vec<&str> = all_commands()
        .filter(|spec| match filter {
            Filter::All => true,
            // No modules: nothing belongs to any.
            Filter::Module => false,
            Filter::AclCat(cat) => {
                let cat = cat.to_ascii_lowercase();
                acl_categories(spec)
                    .iter()
                    .any(|c| c.as_bytes() == cat.as_slice())
            }
            Filter::Pattern(p) => {
                crate::util::glob::glob_match_nocase(p, spec.name.as_bytes(), true)
            }
        })
        .map(|spec| spec.name)
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

fn write_docs(out: &mut Reply, spec: &CommandSpec) {
    let m = meta(spec.name);
    let group = m.map_or(spec.group.name(), |m| m.group);
    let since = m.map(|m| m.since).filter(|s| !s.is_empty());
    let doc_flags = m.map_or(&[][..], |m| m.doc_flags);
    let deprecated = m.and_then(|m| m.deprecated_since);
    let arguments = m.map_or(&[][..], |m| m.arguments);
    let fields = 1
        + usize::from(since.is_some())
        + usize::from(!doc_flags.is_empty())
        + usize::from(deprecated.is_some())
        + usize::from(!arguments.is_empty())
        + usize::from(!spec.subcommands.is_empty());
    // Redis's order; summary, complexity and history are prose, which
    // ferrodis does not carry.
    out.map(fields);
    if let Some(since) = since {
        out.bulk(b"since");
        out.bulk(since.as_bytes());
    }
    out.bulk(b"group");
    out.bulk(group.as_bytes());
    if !doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        out.set(doc_flags.len());
        for f in doc_flags {
            out.simple(f);
        }
    }
    if let Some(d) = deprecated {
        out.bulk(b"deprecated_since");
        out.bulk(d.as_bytes());
    }
    if !arguments.is_empty() {
        out.bulk(b"arguments");
        write_args(out, arguments);
    }
    if !spec.subcommands.is_empty() {
        out.bulk(b"subcommands");
        out.map(spec.subcommands.len());
        for sub in spec.subcommands {
            out.bulk(sub.name.as_bytes());
            write_docs(out, sub);
        }
    }
}

/// `COMMAND DOCS [name ...]`: version and group of each command (ferrodis
/// carries no prose documentation).
pub fn command_docs(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let specs: Vec<&'static CommandSpec> = if ctx.args.len() == 2 {
        Registry::get().commands.clone()
    } else {
        ctx.args[2..]
            .iter()
            .filter_map(|n| lookup_full(n))
            .collect()
    };
    ctx.out.map(specs.len());
    for spec in specs {
        ctx.out.bulk(spec.name.as_bytes());
        write_docs(ctx.out, spec);
    }
    Ok(())
}

/// The key indexes of a full command line (`args[0]` is the command name),
/// or Redis's COMMAND GETKEYS error.
fn keys_of(args: &[bytes::Bytes]) -> Result<(&'static CommandSpec, Vec<usize>), CmdError> {
    let mut spec = Registry::get()
        .lookup(&args[0])
        .ok_or(CmdError::fixed("ERR Invalid command specified"))?;
    if !spec.subcommands.is_empty() {
        if let Some(sub) = args.get(1).and_then(|s| {
            let s = s.to_ascii_lowercase();
            spec.subcommands
                .iter()
                .find(|c| c.short_name().as_bytes() == s.as_slice())
        }) {
            spec = sub;
        }
    }
    if matches!(spec.keys, KeySpec::None) {
        return Err(CmdError::fixed("ERR The command has no key arguments"));
    }
    if !spec.arity_ok(args.len()) {
        return Err(CmdError::fixed(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys = spec.keys.key_indexes(args);
    if keys.is_empty() {
        return Err(CmdError::fixed(
            "ERR Invalid arguments specified for command",
        ));
    }
    Ok((spec, keys))
}

/// `COMMAND GETKEYS command arg ...`
pub fn command_getkeys(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let (_, keys) = keys_of(&ctx.args[2..])?;
    ctx.out.array(keys.len());
    for i in keys {
        ctx.out.bulk(&ctx.args[2 + i]);
    }
    Ok(())
}

/// `COMMAND GETKEYSANDFLAGS command arg ...`
pub fn command_getkeysandflags(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let (spec, keys) = keys_of(&ctx.args[2..])?;
    let specs = meta(spec.name).map_or(&[][..], |m| m.key_specs);
    ctx.out.array(keys.len());
    for i in keys {
        // The key spec that covers argument `i`: the last one whose fixed
        // start index is at or before it (LMOVE's source and destination
        // have different flags), else the first.
        let covering = specs
            .iter()
            .rev()
            .find(|ks| matches!(ks.begin, Begin::Index(n) if n >= 0 && n as usize <= i))
            .or(specs.first());
        let mut flags = covering.map_or(&[][..], |ks| ks.flags);
        if flags.contains(&"variable_flags") && spec.name == "set" {
            // SET only reads the old value with GET; otherwise it overwrites.
            let with_get = ctx.args[2..]
                .iter()
                .skip(3)
                .any(|a| a.eq_ignore_ascii_case(b"GET"));
            flags = if with_get {
                &["RW", "access", "update"]
            } else {
                &["OW", "update"]
            };
        }
        ctx.out.array(2);
        ctx.out.bulk(&ctx.args[2 + i]);
        ctx.out.set(flags.len());
        for f in flags {
            ctx.out.simple(f);
        }
    }
    Ok(())
}

/// `COMMAND HELP`
pub fn command_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Details of every command.",
            "COUNT",
            "    Number of commands.",
            "LIST [FILTERBY (MODULE <name>|ACLCAT <category>|PATTERN <pattern>)]",
            "    Names of the commands, optionally filtered.",
            "INFO [<command-name> ...]",
            "    Details of the named commands (all when none is named).",
            "DOCS [<command-name> ...]",
            "    Documentation facts of the named commands (all when none is named).",
            "GETKEYS <full-command>",
            "    The key arguments of a full command line.",
            "GETKEYSANDFLAGS <full-command>",
            "    The key arguments of a full command line, with their access flags.",
        ],
    );
    Ok(())
}

/// Redis's error for a subcommand given the wrong number of arguments
/// where the subcommand's own parser checks them (`'get'. Try SLOWLOG HELP.`).
pub fn subcommand_syntax_error(args: &[bytes::Bytes]) -> CmdError {
    let sub = args.get(1).map(|a| &a[..a.len().min(128)]).unwrap_or(b"");
    CmdError::new(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(sub),
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    ))
}

/// Writes a `HELP` reply in Redis's layout: a header line, the lines given,
/// and the closing `HELP` entry.
pub fn write_help(out: &mut Reply, command: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Print this help.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_table_is_sorted_and_found() {
        let table = super::super::meta::COMMAND_META;
        assert!(table.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(meta("get").map(|m| m.group), Some("string"));
        assert!(meta("client|kill").is_some());
        assert!(meta("nosuchcommand").is_none());
        assert!(meta("lmpop").is_some_and(|m| m.movable_keys));
        assert!(meta("get").is_some_and(|m| !m.movable_keys));
    }

    #[test]
    fn categories_follow_flags_and_redis_order() {
        let get = lookup_full(b"GET").expect("get exists");
        assert_eq!(acl_categories(get), ["read", "string", "fast"]);
        let kill = lookup_full(b"client|KILL").expect("client kill exists");
        assert_eq!(
            acl_categories(kill),
            ["admin", "slow", "dangerous", "connection"]
        );
        assert!(lookup_full(b"client|nosuch").is_none());
        assert!(lookup_full(b"nosuch|list").is_none());
    }
}
