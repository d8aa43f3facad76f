#!/usr/bin/env python3
"""Generates src/cmd/meta.rs, the facts of every Redis command ferrodis knows
about: name, arity, flags, ACL categories (explicit and implied), legacy key
range, key specs, tips, whether Redis has a getkeys function, version, group,
documentation flags, history versions, subcommands and arguments.

The facts come from the command JSON files of Redis source trees: every
command of the base release (7.0), plus, for the commands listed in LATER,
the release that introduced them. Only facts are taken; summaries,
complexities, key-spec notes, `replaced_by` texts and the sentences of
history entries are prose and are left out.

Usage:
  tools/gen_command_meta.py /work/ref/commands-7.0.15/src/commands \\
      7.4=/work/ref/commands-7.4.1/src/commands \\
      8.0=/work/ref/commands-8.0.2/src/commands > src/cmd/meta.rs
"""
import glob
import json
import os
import sys

BASE_RELEASE = "7.0"

# Commands ferrodis implements that Redis 7.0 lacks, by the release whose
# facts they take (later issues add theirs here).
LATER = {
    "7.4": ["client|setinfo", "client|no-touch", "hexpire", "hpexpire", "hexpireat", "hpexpireat",
            "httl", "hpttl", "hexpiretime", "hpexpiretime", "hpersist"],
    "8.0": ["hgetdel", "hgetex", "hsetex"],
}

# Command flags in the JSON, each a constant of `cmd::flags`.
COMMAND_FLAGS = ["WRITE", "READONLY", "DENYOOM", "ADMIN", "PUBSUB", "NOSCRIPT",
                 "BLOCKING", "LOADING", "STALE", "SKIP_MONITOR", "SKIP_SLOWLOG",
                 "ASKING", "FAST", "NO_AUTH", "MAY_REPLICATE", "SENTINEL",
                 "ONLY_SENTINEL", "NO_MANDATORY_KEYS", "PROTECTED",
                 "NO_ASYNC_LOADING", "NO_MULTI", "ALLOW_BUSY",
                 "TOUCHES_ARBITRARY_KEYS"]

# Key-spec flags, each a constant of `cmd::keyspec::flags`.
KEY_FLAGS = ["RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE",
             "NOT_KEY", "INCOMPLETE", "VARIABLE_FLAGS"]

# ACL categories, each a constant of `cmd::facts::acl`.
ACL = ["KEYSPACE", "READ", "WRITE", "SET", "SORTEDSET", "LIST", "HASH", "STRING",
       "BITMAP", "HYPERLOGLOG", "GEO", "STREAM", "PUBSUB", "ADMIN", "FAST", "SLOW",
       "BLOCKING", "DANGEROUS", "CONNECTION", "TRANSACTION", "SCRIPTING"]

ARG_FLAGS = ["optional", "multiple", "multiple_token"]


def rs(s):
    return json.dumps(s)


def strs(xs):
    return "&[" + ", ".join(rs(x) for x in xs) + "]"


def opt(v):
    return "None" if v is None else "Some(%s)" % rs(v)


def bits(prefix, names, known):
    for n in names:
        if n not in known:
            sys.exit("unknown flag %s" % n)
    chosen = [prefix + n for n in known if n in names]
    return " | ".join(chosen) if chosen else "0"


def args_rs(args, with_display):
    """Argument facts (names, types, display names, tokens, versions,
    flags), nested."""
    out = []
    for a in args:
        nested = a["type"] in ("oneof", "block")
        # Redis 7.2 on reports a display name for every plain argument.
        display = a.get("display", a["name"]) if with_display and not nested else None
        out.append("Arg { name: %s, kind: %s, display: %s, key_spec_index: %d, token: %s, since: %s, deprecated_since: %s, flags: %s, args: %s }" % (
            rs(a["name"].lower()), rs(a["type"]), opt(display), a.get("key_spec_index", -1),
            opt(a["token"].upper() if "token" in a else None),
            opt(a.get("since")), opt(a.get("deprecated_since")),
            bits("G::", [f.upper() for f in ARG_FLAGS if a.get(f)], [f.upper() for f in ARG_FLAGS]),
            args_rs(a.get("arguments", []), with_display)))
    return "&[" + ", ".join(out) + "]"


def simple(s):
    return "index" in s["begin_search"] and "range" in s["find_keys"]


def legacy_range(specs):
    """(first, last, step) as COMMAND INFO reports them, and whether the
    command is `movablekeys`: Redis's derivation from the key specs."""
    if not specs:
        return (0, 0, 0), False
    if len(specs) == 1 and simple(specs[0]):
        s = specs[0]
        pos = s["begin_search"]["index"]["pos"]
        r = s["find_keys"]["range"]
        last = r["lastkey"] + pos if r["lastkey"] >= 0 else r["lastkey"]
        return (pos, last, r["step"]), "INCOMPLETE" in s.get("flags", [])
    movable = False
    first, last, prev_last = None, 0, 0
    as_unsigned = lambda v: v % (1 << 32)
    for s in specs:
        if not simple(s):
            movable = True
            continue
        pos = s["begin_search"]["index"]["pos"]
        r = s["find_keys"]["range"]
        if r["step"] != 1 or (prev_last and prev_last != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in s.get("flags", []):
            movable = True
        first = pos if first is None else min(first, pos)
        abs_last = r["lastkey"] + pos if r["lastkey"] >= 0 else r["lastkey"]
        # Compared as unsigned, so a negative (from the end) last key wins.
        last = max(last, abs_last, key=as_unsigned)
        prev_last = last
    if first is None:
        return (0, 0, 0), True
    return (first, last, 1), movable


def key_spec_rs(ks):
    flags = bits("K::", ks.get("flags", []), KEY_FLAGS)
    bs = ks["begin_search"]
    if "index" in bs:
        begin = "Begin::Index(%d)" % bs["index"]["pos"]
    elif "keyword" in bs:
        begin = "Begin::Keyword { keyword: %s, startfrom: %d }" % (
            rs(bs["keyword"]["keyword"]), bs["keyword"]["startfrom"])
    else:
        begin = "Begin::Unknown"
    fk = ks["find_keys"]
    if "range" in fk:
        r = fk["range"]
        find = "Find::Range { lastkey: %d, step: %d, limit: %d }" % (
            r["lastkey"], r["step"], r["limit"])
    elif "keynum" in fk:
        k = fk["keynum"]
        find = "Find::Keynum { keynumidx: %d, firstkey: %d, step: %d }" % (
            k["keynumidx"], k["firstkey"], k["step"])
    else:
        find = "Find::Unknown"
    return "KeySpec { flags: %s, begin: %s, find: %s }" % (flags, begin, find)


def acl_bits(c):
    """Explicit categories plus those Redis implies from the flags."""
    cats = {a.upper() for a in c.get("acl_categories", [])}
    fl = set(c.get("command_flags", []))
    if "WRITE" in fl:
        cats.add("WRITE")
    if "READONLY" in fl and "SCRIPTING" not in cats:
        cats.add("READ")
    if "ADMIN" in fl:
        cats |= {"ADMIN", "DANGEROUS"}
    if "PUBSUB" in fl:
        cats.add("PUBSUB")
    if "FAST" in fl:
        cats.add("FAST")
    if "BLOCKING" in fl:
        cats.add("BLOCKING")
    if "FAST" not in cats:
        cats.add("SLOW")
    return bits("A::", sorted(cats), ACL)


def load(root):
    """Every command of one release's JSON files, by full lower-case name."""
    found = {}
    for path in glob.glob(os.path.join(root, "*.json")):
        with open(path) as f:
            doc = json.load(f)
        for name, c in doc.items():
            full = name.lower()
            if "container" in c:
                full = c["container"].lower() + "|" + full
            found[full] = c
    if not found:
        sys.exit("no command JSON files in %s" % root)
    return found


def entry(full, c, release, subcommands):
    specs = c.get("key_specs", [])
    (first, last, step), movable = legacy_range(specs)
    flags = bits("F::", c.get("command_flags", []), COMMAND_FLAGS)
    if movable:
        flags = "F::MOVABLE_KEYS" if flags == "0" else flags + " | F::MOVABLE_KEYS"
    with_display = release != BASE_RELEASE
    return "\n".join([
        "    CommandFacts {",
        "        name: %s," % rs(full),
        "        release: %s," % rs(release),
        "        arity: %d," % c["arity"],
        "        flags: %s," % flags,
        "        acl: %s," % acl_bits(c),
        "        legacy_keys: (%d, %d, %d)," % (first, last, step),
        "        key_specs: &[%s]," % ", ".join(key_spec_rs(ks) for ks in specs),
        "        tips: %s," % strs([t.lower() for t in c.get("command_tips", [])]),
        "        has_getkeys: %s," % ("true" if "get_keys_function" in c else "false"),
        "        since: %s," % rs(c.get("since", "")),
        "        group: %s," % rs(c["group"]),
        "        doc_flags: %s," % strs([d.lower() for d in c.get("doc_flags", [])]),
        "        deprecated_since: %s," % opt(c.get("deprecated_since")),
        "        history: %s," % strs([h[0] for h in c.get("history", [])]),
        "        subcommands: %s," % strs(subcommands),
        "        args: %s," % args_rs(c.get("arguments", []), with_display),
        "    },",
    ])


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    commands = {full: (c, BASE_RELEASE) for full, c in load(argv[1]).items()}
    for spec in argv[2:]:
        release, _, root = spec.partition("=")
        if release not in LATER:
            sys.exit("no commands are taken from release %s" % release)
        later = load(root)
        for full in LATER[release]:
            if full in commands:
                sys.exit("%s is already a %s command" % (full, commands[full][1]))
            if full not in later:
                sys.exit("%s is not in %s" % (full, root))
            commands[full] = (later[full], release)
    missing = [n for r, names in LATER.items() for n in names if n not in commands]
    if missing:
        sys.exit("no JSON given for %s" % ", ".join(missing))
    subs = {}
    for full in commands:
        if "|" in full:
            subs.setdefault(full.split("|")[0], []).append(full)
    print("//! The facts of every Redis command ferrodis knows about: Redis 7.0's")
    print("//! commands, and the later ones ferrodis implements with the facts of")
    print("//! the release that introduced them. Generated by")
    print("//! `tools/gen_command_meta.py` from Redis's command JSON files (facts")
    print("//! only, no prose); do not edit by hand.")
    print()
    print("use super::facts::{acl as A, arg_flags as G, Arg, CommandFacts};")
    print("use super::flags as F;")
    print("use super::keyspec::{flags as K, Begin, Find, KeySpec};")
    print()
    print("/// Every command and subcommand, sorted by full name.")
    print("pub const COMMAND_FACTS: &[CommandFacts] = &[")
    for full in sorted(commands):
        c, release = commands[full]
        print(entry(full, c, release, sorted(subs.get(full, []))))
    print("];")


main(sys.argv)
