//! `COMMAND` and its subcommands: what the command table tells clients
//! about itself (COMMAND INFO, DOCS, LIST, COUNT, GETKEYS,
//! GETKEYSANDFLAGS), and their bindings.
//!
//! Everything here reads the joined table entry: arity and flags as the
//! dispatcher enforces them, and the rest of Redis's facts (categories,
//! tips, key specs, arguments, versions) from the generated
//! [`super::meta`]. Only bound commands are listed.

use super::facts::{acl, arg_flags, Arg};
use super::flags;
use super::keyspec::{self, Begin, Find, KeyRef, KeySpec};
use super::spec::{bind, container_with_default, CommandSpec, Ctx, Registry};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult, SYNTAX};
use crate::reply::Reply;
use bytes::Bytes;

/// COMMAND's bindings.
pub const COMMANDS: &[CommandSpec] = &[container_with_default(
    "command",
    command_all,
    COMMAND_SUBCOMMANDS,
)];

const COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    bind("command|count", command_count),
    bind("command|docs", command_docs),
    bind("command|getkeys", command_getkeys),
    bind("command|getkeysandflags", command_getkeysandflags),
    bind("command|help", command_help),
    bind("command|info", command_info),
    bind("command|list", command_list),
];

fn write_args(out: &mut Reply, args: &[Arg]) {
    out.array(args.len());
    for a in args {
        let nested = matches!(a.kind, "oneof" | "block");
        let flags = a.flags.count_ones() as usize;
        let fields = 2
            + usize::from(a.display.is_some())
            + usize::from(a.key_spec_index >= 0)
            + usize::from(a.token.is_some())
            + usize::from(a.since.is_some())
            + usize::from(a.deprecated_since.is_some())
            + usize::from(flags > 0)
            + usize::from(nested);
        out.map(fields);
        out.bulk(b"name");
        out.bulk(a.name.as_bytes());
        out.bulk(b"type");
        out.bulk(a.kind.as_bytes());
        if let Some(display) = a.display {
            out.bulk(b"display_text");
            out.bulk(display.as_bytes());
        }
        if a.key_spec_index >= 0 {
            out.bulk(b"key_spec_index");
            out.int(a.key_spec_index as i64);
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
        if flags > 0 {
            out.bulk(b"flags");
            out.set(flags);
            for (i, name) in arg_flags::NAMES.iter().enumerate() {
                if a.flags & (1 << i) != 0 {
                    out.simple(name);
                }
            }
        }
        if nested {
            out.bulk(b"arguments");
            write_args(out, a.args);
        }
    }
}

/// ACL category names in the order Redis reports them.
pub const ACL_CATEGORIES: &[&str] = acl::NAMES;

/// The command's ACL categories (explicit and implied by its flags), in
/// Redis's order.
pub fn acl_categories(spec: &CommandSpec) -> Vec<&'static str> {
    acl::names(spec.facts.acl).collect()
}

/// Writes the command's flags as a set of status strings.
fn write_flags(out: &mut Reply, spec: &CommandSpec) {
    let shown = flags::NAMES.iter().filter(|(bit, _)| spec.has(*bit));
    out.set(shown.clone().count());
    for (_, name) in shown {
        out.simple(name);
    }
}

fn write_key_flags(out: &mut Reply, bits: u16) {
    out.set(bits.count_ones() as usize);
    for f in keyspec::flags::names(bits) {
        out.simple(f);
    }
}

fn write_key_specs(out: &mut Reply, specs: &[KeySpec]) {
    out.set(specs.len());
    for ks in specs {
        out.map(3);
        out.bulk(b"flags");
        write_key_flags(out, ks.flags);
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        match ks.begin {
            Begin::Index(pos) => {
                out.bulk(b"index");
                out.bulk(b"spec");
                out.map(1);
                out.bulk(b"index");
                out.int(pos as i64);
            }
            Begin::Keyword { keyword, startfrom } => {
                out.bulk(b"keyword");
                out.bulk(b"spec");
                out.map(2);
                out.bulk(b"keyword");
                out.bulk(keyword.as_bytes());
                out.bulk(b"startfrom");
                out.int(startfrom as i64);
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
                out.int(lastkey as i64);
                out.bulk(b"keystep");
                out.int(step as i64);
                out.bulk(b"limit");
                out.int(limit as i64);
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
                out.int(keynumidx as i64);
                out.bulk(b"firstkey");
                out.int(firstkey as i64);
                out.bulk(b"keystep");
                out.int(step as i64);
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
    let facts = spec.facts;
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(spec.arity as i64);
    write_flags(out, spec);
    let (first, last, step) = facts.legacy_keys;
    out.int(first as i64);
    out.int(last as i64);
    out.int(step as i64);
    out.set(facts.acl.count_ones() as usize);
    for c in acl::names(facts.acl) {
        out.simple(&format!("@{c}"));
    }
    out.set(facts.tips.len());
    for t in facts.tips {
        out.bulk(t.as_bytes());
    }
    write_key_specs(out, spec.key_specs);
    if spec.subcommands.is_empty() {
        out.set(0);
    } else {
        out.array(spec.subcommands.len());
        for sub in spec.subcommands {
            write_command_info(out, sub);
        }
    }
}

/// `COMMAND` with no subcommand: every top-level command's info.
pub fn command_all(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let registry = ctx.registry;
    ctx.out.array(registry.commands.len());
    for spec in &registry.commands {
        write_command_info(ctx.out, spec);
    }
    Ok(())
}

/// `COMMAND COUNT`
pub fn command_count(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.out.int(ctx.registry.commands.len() as i64);
    Ok(())
}

/// `COMMAND INFO [name ...]`
pub fn command_info(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    if ctx.args.len() == 2 {
        return command_all(ctx, db);
    }
    ctx.out.array(ctx.args.len() - 2);
    for name in &ctx.args[2..] {
        match ctx.registry.lookup_full(name) {
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
    let names: Vec<&str> = ctx
        .registry
        .all()
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
    let facts = spec.facts;
    let since = Some(facts.since).filter(|s| !s.is_empty());
    let fields = 1
        + usize::from(since.is_some())
        + usize::from(!facts.doc_flags.is_empty())
        + usize::from(facts.deprecated_since.is_some())
        + usize::from(!facts.args.is_empty())
        + usize::from(!spec.subcommands.is_empty());
    // Redis's order; summary, complexity, replaced_by and history are
    // prose, which ferrodis does not carry.
    out.map(fields);
    if let Some(since) = since {
        out.bulk(b"since");
        out.bulk(since.as_bytes());
    }
    out.bulk(b"group");
    // The command files name the group `sorted_set`; Redis replies with
    // its enum's spelling, `sorted-set` (every other group is one word).
    let group = match facts.group {
        "sorted_set" => "sorted-set",
        g => g,
    };
    out.bulk(group.as_bytes());
    if !facts.doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        out.set(facts.doc_flags.len());
        for f in facts.doc_flags {
            out.simple(f);
        }
    }
    if let Some(d) = facts.deprecated_since {
        out.bulk(b"deprecated_since");
        out.bulk(d.as_bytes());
    }
    if !facts.args.is_empty() {
        out.bulk(b"arguments");
        write_args(out, facts.args);
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

/// `COMMAND DOCS [name ...]`: every fact of each command but Redis's prose.
pub fn command_docs(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let specs: Vec<&'static CommandSpec> = if ctx.args.len() == 2 {
        ctx.registry.commands.clone()
    } else {
        ctx.args[2..]
            .iter()
            .filter_map(|n| ctx.registry.lookup_full(n))
            .collect()
    };
    ctx.out.map(specs.len());
    for spec in specs {
        ctx.out.bulk(spec.name.as_bytes());
        write_docs(ctx.out, spec);
    }
    Ok(())
}

/// The command a full command line runs, as Redis resolves it for
/// `COMMAND GETKEYS`: with a subcommand when the container has any (an
/// unknown one is no command).
fn command_of(registry: &Registry, args: &[Bytes]) -> Option<&'static CommandSpec> {
    let spec = registry.lookup(&args[0])?;
    match args.get(1) {
        Some(sub) if !spec.subcommands.is_empty() => {
            let sub = sub.to_ascii_lowercase();
            spec.subcommands
                .iter()
                .find(|c| c.short_name().as_bytes() == sub.as_slice())
        }
        _ => Some(spec),
    }
}

/// The keys of a full command line (`args[0]` is the command name) with
/// their flags, found as Redis finds them for `COMMAND GETKEYS`, or Redis's
/// error.
fn keys_of(registry: &Registry, args: &[Bytes]) -> Result<Vec<KeyRef>, CmdError> {
    let spec =
        command_of(registry, args).ok_or(CmdError::fixed("ERR Invalid command specified"))?;
    let specs = spec.key_specs;
    let has_specs = keyspec::has_keys(specs);
    if !has_specs && !spec.facts.has_getkeys {
        return Err(CmdError::fixed("ERR The command has no key arguments"));
    }
    if !spec.arity_ok(args.len()) {
        return Err(CmdError::fixed(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let mut keys = Vec::new();
    // Key specs first, unless their flags depend on the arguments; the
    // command's own finder when they do, or when they do not fit.
    let variable = specs
        .iter()
        .any(|s| s.flags & keyspec::flags::VARIABLE_FLAGS != 0);
    let by_specs = has_specs && !variable && keyspec::keys_with_flags(specs, args, &mut keys);
    if !by_specs {
        keys.clear();
        if let Some(getkeys) = spec.getkeys {
            getkeys(args, &mut keys);
        }
    }
    if keys.is_empty() && !spec.has(flags::NO_MANDATORY_KEYS) {
        return Err(CmdError::fixed(
            "ERR Invalid arguments specified for command",
        ));
    }
    Ok(keys)
}

/// `COMMAND GETKEYS command arg ...`
pub fn command_getkeys(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let keys = keys_of(ctx.registry, &ctx.args[2..])?;
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(&ctx.args[2 + k.pos]);
    }
    Ok(())
}

/// `COMMAND GETKEYSANDFLAGS command arg ...`
pub fn command_getkeysandflags(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let keys = keys_of(ctx.registry, &ctx.args[2..])?;
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.array(2);
        ctx.out.bulk(&ctx.args[2 + k.pos]);
        write_key_flags(ctx.out, k.flags);
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
    fn categories_follow_flags_and_redis_order() {
        let get = crate::cmd::registry()
            .lookup_full(b"GET")
            .expect("get exists");
        assert_eq!(acl_categories(get), ["read", "string", "fast"]);
        let kill = crate::cmd::registry()
            .lookup_full(b"client|KILL")
            .expect("client kill exists");
        assert_eq!(
            acl_categories(kill),
            ["admin", "slow", "dangerous", "connection"]
        );
        assert!(crate::cmd::registry()
            .lookup_full(b"client|nosuch")
            .is_none());
        assert!(crate::cmd::registry().lookup_full(b"nosuch|list").is_none());
    }

    fn line(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn getkeys_follows_redis_fallbacks() {
        let keys = |s: &str| {
            keys_of(crate::cmd::registry(), &line(s))
                .map(|k| k.iter().map(|k| (k.pos, k.flags)).collect::<Vec<_>>())
        };
        use keyspec::flags::*;
        assert_eq!(keys("set a b"), Ok(vec![(1, OW | UPDATE)]));
        assert_eq!(keys("set a b get"), Ok(vec![(1, RW | ACCESS | UPDATE)]));
        assert_eq!(
            keys("lmpop 2 a b left"),
            Ok(vec![(2, RW | ACCESS | DELETE), (3, RW | ACCESS | DELETE)])
        );
        // A count the key spec cannot parse: LMPOP's own finder reads it as C's atoi.
        assert_eq!(keys("lmpop 2abc a b left"), Ok(vec![(2, 0), (3, 0)]));
        assert!(keys("lmpop 0 a left").is_err());
        assert!(keys("client nosuch").is_err());
        assert!(keys("ping").is_err());
    }
}
