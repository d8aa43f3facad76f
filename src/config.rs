//! Configuration: redis.conf syntax, `--directive value` flags, CONFIG GET/SET.
//!
//! Every directive is one row of [`DIRECTIVES`]: its name, kind (which decides
//! how values are validated and normalised), default and whether CONFIG SET
//! may change it at run time. Values are kept normalised as text, the form
//! CONFIG GET returns; typed accessors parse them.
//!
//! A directive that is accepted is enforced: one whose feature ferrodis does
//! not have yet is wrapped in `until_supported` and takes only its default
//! (so config files, CONFIG SET and CONFIG REWRITE of defaults keep working);
//! anything else is refused with a reason naming the directive.

use std::collections::BTreeMap;

/// How a directive's value is validated.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// An integer in `min..=max`; memory units (`1gb`) accepted when `memory`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
        /// Accepts `k`, `kb`, `m`, `mb`, `g`, `gb` suffixes.
        memory: bool,
    },
    /// `yes` or `no`.
    Bool,
    /// One of the listed words.
    Enum(&'static [&'static str]),
    /// A combination of the listed words, the first of which means none of
    /// the others (`shutdown-on-sigterm nosave force`).
    Flags(&'static [&'static str]),
    /// Any text.
    Text,
    /// `save` rules: pairs of seconds and changes, or empty.
    SaveRules,
    /// `client-output-buffer-limit`: groups of class, hard limit, soft limit
    /// and soft seconds; a value names only the classes it changes.
    OutputLimits,
    /// `notify-keyspace-events`: class characters, kept as given (CONFIG GET
    /// shows Redis's normalised form, which can drop `n` beside `A`, so the
    /// given text is what keeps every class).
    EventClasses,
}

/// One configuration directive.
#[derive(Debug)]
pub struct Directive {
    /// Name, lower case.
    pub name: &'static str,
    /// Validation rule.
    pub kind: Kind,
    /// Default value, normalised.
    pub default: &'static str,
    /// True if CONFIG SET may change it.
    pub mutable: bool,
    /// For a directive whose feature ferrodis does not have yet, the missing
    /// feature: only the default value (which leaves the feature off) is
    /// accepted, so no value is taken that would silently do nothing.
    pub pending: Option<&'static str>,
}

const fn int(
    name: &'static str,
    min: i64,
    max: i64,
    default: &'static str,
    mutable: bool,
) -> Directive {
    Directive {
        name,
        kind: Kind::Int {
            min,
            max,
            memory: false,
        },
        default,
        mutable,
        pending: None,
    }
}

const fn mem(name: &'static str, default: &'static str, mutable: bool) -> Directive {
    Directive {
        name,
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
            memory: true,
        },
        default,
        mutable,
        pending: None,
    }
}

const fn boolean(name: &'static str, default: &'static str, mutable: bool) -> Directive {
    Directive {
        name,
        kind: Kind::Bool,
        default,
        mutable,
        pending: None,
    }
}

const fn text(name: &'static str, default: &'static str, mutable: bool) -> Directive {
    Directive {
        name,
        kind: Kind::Text,
        default,
        mutable,
        pending: None,
    }
}

const fn one_of(
    name: &'static str,
    words: &'static [&'static str],
    default: &'static str,
    mutable: bool,
) -> Directive {
    Directive {
        name,
        kind: Kind::Enum(words),
        default,
        mutable,
        pending: None,
    }
}

/// `d`, accepted only at its default until `feature` is implemented.
const fn until_supported(feature: &'static str, d: Directive) -> Directive {
    Directive {
        pending: Some(feature),
        ..d
    }
}

/// The words of `shutdown-on-sigterm` and `shutdown-on-sigint`.
const SHUTDOWN_FLAGS: &[&str] = &["default", "save", "nosave", "now", "force"];

/// Every directive ferrodis understands.
pub static DIRECTIVES: &[Directive] = &[
    int("port", 0, 65535, "6379", false),
    text("bind", "* -::*", false),
    text("dir", "", true),
    int("databases", 1, i32::MAX as i64, "16", false),
    int("maxclients", 1, u32::MAX as i64, "10000", true),
    int("timeout", 0, i32::MAX as i64, "0", true),
    int("tcp-keepalive", 0, i32::MAX as i64, "300", true),
    int("tcp-backlog", 0, i32::MAX as i64, "511", false),
    one_of(
        "loglevel",
        &["debug", "verbose", "notice", "warning"],
        "notice",
        true,
    ),
    text("logfile", "", false),
    until_supported(
        "running in the background",
        boolean("daemonize", "no", false),
    ),
    int("hz", 1, 500, "10", true),
    // ferrodis's own: see src/idle_poll.rs.
    int("idle-poll-usec", 0, 10_000, "100", true),
    int("hash-max-listpack-entries", 0, i64::MAX, "512", true),
    int("hash-max-listpack-value", 0, i64::MAX, "64", true),
    int("hash-max-ziplist-entries", 0, i64::MAX, "512", true),
    int("hash-max-ziplist-value", 0, i64::MAX, "64", true),
    int(
        "list-max-listpack-size",
        i32::MIN as i64,
        i32::MAX as i64,
        "-2",
        true,
    ),
    int(
        "list-max-ziplist-size",
        i32::MIN as i64,
        i32::MAX as i64,
        "-2",
        true,
    ),
    int("list-compress-depth", 0, i32::MAX as i64, "0", true),
    Directive {
        name: "save",
        kind: Kind::SaveRules,
        default: "3600 1 300 100 60 10000",
        mutable: true,
        pending: None,
    },
    boolean("appendonly", "no", true),
    one_of(
        "appendfsync",
        &["everysec", "always", "no"],
        "everysec",
        true,
    ),
    text("appendfilename", "appendonly.aof", false),
    text("appenddirname", "appendonlydir", false),
    text("dbfilename", "dump.rdb", true),
    boolean("rdbcompression", "yes", true),
    boolean("rdbchecksum", "yes", false),
    boolean("stop-writes-on-bgsave-error", "yes", true),
    // Redis's testing knob: microseconds to sleep after loading each key.
    int(
        "key-load-delay",
        i32::MIN as i64,
        i32::MAX as i64,
        "0",
        true,
    ),
    // Capped below 4 GiB (Redis allows more): a list keeps each element in a
    // listpack node, whose length is 32 bits.
    Directive {
        name: "proto-max-bulk-len",
        kind: Kind::Int {
            min: 0,
            max: (u32::MAX - 4096) as i64,
            memory: true,
        },
        default: "536870912",
        mutable: true,
        pending: None,
    },
    mem("client-query-buffer-limit", "1073741824", true),
    until_supported("a memory limit with eviction", mem("maxmemory", "0", true)),
    one_of(
        "maxmemory-policy",
        &[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ],
        "noeviction",
        true,
    ),
    int("maxmemory-samples", 1, 64, "5", true),
    text("requirepass", "", true),
    boolean("protected-mode", "yes", true),
    text("pidfile", "", false),
    boolean("lazyfree-lazy-user-del", "no", true),
    boolean("lazyfree-lazy-user-flush", "no", true),
    boolean("lazyfree-lazy-expire", "no", true),
    boolean("lazyfree-lazy-eviction", "no", true),
    boolean("lazyfree-lazy-server-del", "no", true),
    int("active-expire-effort", 1, 10, "1", true),
    int("slowlog-log-slower-than", -1, i64::MAX, "10000", true),
    int("slowlog-max-len", 0, i64::MAX, "128", true),
    Directive {
        kind: Kind::EventClasses,
        ..text("notify-keyspace-events", "", true)
    },
    int("lfu-log-factor", 0, i32::MAX as i64, "10", true),
    int("lfu-decay-time", 0, i32::MAX as i64, "1", true),
    // ferrodis's connection workers are its own design (one per core).
    until_supported(
        "a configurable number of I/O threads",
        int("io-threads", 1, 128, "1", false),
    ),
    boolean("io-threads-do-reads", "no", false),
    until_supported(
        "the latency monitor",
        int("latency-monitor-threshold", 0, i64::MAX, "0", true),
    ),
    until_supported(
        "active defragmentation",
        boolean("activedefrag", "no", true),
    ),
    until_supported("a start-up logo", boolean("always-show-logo", "no", false)),
    boolean("set-proc-title", "yes", false),
    one_of(
        "enable-debug-command",
        &["no", "yes", "local"],
        "yes",
        false,
    ),
    one_of(
        "enable-protected-configs",
        &["no", "yes", "local"],
        "no",
        false,
    ),
    until_supported(
        "loading modules",
        one_of(
            "enable-module-command",
            &["no", "yes", "local"],
            "no",
            false,
        ),
    ),
    until_supported("listening on a unix socket", text("unixsocket", "", false)),
    until_supported(
        "notifying a supervisor",
        one_of(
            "supervised",
            &["upstart", "systemd", "auto", "no"],
            "no",
            false,
        ),
    ),
    int("lua-time-limit", 0, i64::MAX, "5000", true),
    int("busy-reply-threshold", 0, i64::MAX, "5000", true),
    boolean("aof-use-rdb-preamble", "yes", true),
    boolean("aof-load-truncated", "yes", true),
    int(
        "auto-aof-rewrite-percentage",
        0,
        i32::MAX as i64,
        "100",
        true,
    ),
    mem("auto-aof-rewrite-min-size", "67108864", true),
    until_supported(
        "replication",
        int("min-replicas-to-write", 0, i32::MAX as i64, "0", true),
    ),
    boolean("replica-read-only", "yes", true),
    int("set-max-intset-entries", 0, i64::MAX, "512", true),
    // Redis 7.2's packed small sets (ferrodis packs them as 7.2 does).
    int("set-max-listpack-entries", 0, i64::MAX, "128", true),
    int("set-max-listpack-value", 0, i64::MAX, "64", true),
    int("zset-max-listpack-entries", 0, i64::MAX, "128", true),
    int("zset-max-listpack-value", 0, i64::MAX, "64", true),
    mem("stream-node-max-bytes", "4096", true),
    int("zset-max-ziplist-entries", 0, i64::MAX, "128", true),
    int("zset-max-ziplist-value", 0, i64::MAX, "64", true),
    until_supported("cluster mode", boolean("cluster-enabled", "no", false)),
    text("cluster-config-file", "nodes.conf", false),
    boolean("repl-diskless-sync", "yes", true),
    boolean("replica-serve-stale-data", "yes", true),
    boolean("slave-serve-stale-data", "yes", true),
    boolean("slave-read-only", "yes", true),
    boolean("replica-lazy-flush", "no", true),
    until_supported("replication", text("replicaof", "", false)),
    text("masterauth", "", true),
    text("masteruser", "", true),
    mem("repl-backlog-size", "1048576", true),
    int("repl-timeout", 1, i32::MAX as i64, "60", true),
    until_supported(
        "replication",
        int("min-slaves-to-write", 0, i32::MAX as i64, "0", true),
    ),
    boolean("latency-tracking", "yes", true),
    int("tracking-table-max-keys", 0, i64::MAX, "1000000", true),
    boolean("jemalloc-bg-thread", "yes", true),
    int("acllog-max-len", 0, i64::MAX, "128", true),
    until_supported("client eviction", mem("maxmemory-clients", "0", true)),
    boolean("activerehashing", "yes", true),
    mem("hll-sparse-max-bytes", "3000", true),
    Directive {
        name: "client-output-buffer-limit",
        kind: Kind::OutputLimits,
        default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        mutable: true,
        pending: None,
    },
    boolean("crash-log-enabled", "yes", true),
    boolean("crash-memcheck-enabled", "yes", true),
    until_supported("logging to syslog", boolean("syslog-enabled", "no", false)),
    int("shutdown-timeout", 0, i32::MAX as i64, "10", true),
    Directive {
        name: "shutdown-on-sigterm",
        kind: Kind::Flags(SHUTDOWN_FLAGS),
        default: "default",
        mutable: true,
        pending: None,
    },
    Directive {
        name: "shutdown-on-sigint",
        kind: Kind::Flags(SHUTDOWN_FLAGS),
        default: "default",
        mutable: true,
        pending: None,
    },
    boolean("rdb-del-sync-files", "no", true),
    int("stream-node-max-entries", 0, i64::MAX, "100", true),
];

/// Directives CONFIG SET changes only as `enable-protected-configs` allows.
pub const PROTECTED: &[&str] = &["dir", "dbfilename"];

/// Old names Redis still accepts.
const ALIASES: &[(&str, &str)] = &[
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("slave-serve-stale-data", "replica-serve-stale-data"),
    ("slave-read-only", "replica-read-only"),
    ("min-slaves-to-write", "min-replicas-to-write"),
    ("lua-time-limit", "busy-reply-threshold"),
];

/// The directive named `name` (case-insensitive).
pub fn directive(name: &str) -> Option<&'static Directive> {
    let lower = name.to_ascii_lowercase();
    DIRECTIVES.iter().find(|d| d.name == lower)
}

/// The current name of a directive that has an old alias.
pub fn canonical(name: &'static str) -> &'static str {
    ALIASES
        .iter()
        .find(|(old, _)| *old == name)
        .map_or(name, |(_, new)| new)
}

/// Parses `1gb`, `64mb`, `100k`, plain bytes.
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let (digits, mul): (&str, i64) = [
        ("gb", 1 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, mul)| lower.strip_suffix(suffix).map(|d| (d, *mul)))
    .unwrap_or((lower.as_str(), 1));
    let n: i64 = digits.parse().ok()?;
    n.checked_mul(mul)
}

/// The live configuration.
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    /// The config file the server was started with (CONFIG REWRITE, INFO).
    pub file: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let mut values = BTreeMap::new();
        for d in DIRECTIVES {
            values.insert(d.name, d.default.to_string());
        }
        Config { values, file: None }
    }
}

impl Config {
    /// Validates and normalises `value` for directive `d`.
    fn normalise(d: &Directive, value: &str) -> Result<String, String> {
        match d.kind {
            Kind::Int { min, max, memory } => {
                let n = if memory {
                    // Redis's memtoull refuses any minus sign.
                    parse_memory(value).filter(|_| !value.contains('-'))
                } else {
                    value.parse::<i64>().ok()
                };
                let Some(n) = n else {
                    return Err(if memory {
                        "argument must be a memory value"
                    } else {
                        "argument couldn't be parsed into an integer"
                    }
                    .into());
                };
                if n < min || n > max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Ok(n.to_string())
            }
            Kind::Bool => match value.to_ascii_lowercase().as_str() {
                "yes" => Ok("yes".into()),
                "no" => Ok("no".into()),
                _ => Err("argument must be 'yes' or 'no'".into()),
            },
            Kind::Enum(words) => {
                let lower = value.to_ascii_lowercase();
                if words.contains(&lower.as_str()) {
                    Ok(lower)
                } else {
                    Err(format!(
                        "argument(s) must be one of the following: {}",
                        words.join(", ")
                    ))
                }
            }
            Kind::Flags(words) => {
                let lower = value.to_ascii_lowercase();
                let given: Vec<&str> = lower.split_whitespace().collect();
                if given.is_empty() || given.iter().any(|w| !words.contains(w)) {
                    return Err(format!(
                        "argument(s) must be one of the following: {}",
                        words.join(", ")
                    ));
                }
                if given.contains(&"save") && given.contains(&"nosave") {
                    return Err(
                        "shutdown options SAVE and NOSAVE can't be used simultaneously".into(),
                    );
                }
                // Normalised as Redis prints it: in the list's order, the
                // first word only when no other is given.
                let set: Vec<&str> = words[1..]
                    .iter()
                    .copied()
                    .filter(|w| given.contains(w))
                    .collect();
                Ok(if set.is_empty() {
                    words[0].to_string()
                } else {
                    set.join(" ")
                })
            }
            Kind::Text => Ok(value.to_string()),
            Kind::EventClasses => {
                if value.bytes().all(|c| b"Ag$lshzxeKEtmdn".contains(&c)) {
                    Ok(value.to_string())
                } else {
                    Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
                }
            }
            Kind::SaveRules => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                if parts.len() % 2 != 0 || parts.iter().any(|p| p.parse::<u64>().is_err()) {
                    return Err("Invalid save parameters".into());
                }
                Ok(parts.join(" "))
            }
            // Needs the current value: see `Config::set`.
            Kind::OutputLimits => Ok(value.to_string()),
        }
    }

    /// Sets a directive; `Err` holds Redis's reason text.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let d = directive(name)
            .ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        let normalised = match d.kind {
            Kind::OutputLimits => {
                merge_output_limits(self.get(d.name).unwrap_or(d.default), value)?
            }
            _ => Self::normalise(d, value)?,
        };
        if let Some(feature) = d.pending {
            if normalised != d.default {
                return Err(not_supported(d, feature));
            }
        }
        self.values.insert(canonical(d.name), normalised.clone());
        // Keep old aliases answering with the same value.
        for (old, new) in ALIASES {
            if *new == canonical(d.name) {
                self.values.insert(old, normalised.clone());
            }
        }
        Ok(())
    }

    /// The normalised text of a directive.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// An integer directive.
    pub fn int(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// A yes/no directive.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name) == Some("yes")
    }

    /// All (name, value) pairs, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// Applies a configuration file's text (redis.conf syntax). The error
    /// names the line, as redis-server does.
    pub fn apply_file_text(&mut self, text: &str) -> Result<(), String> {
        for (lineno, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let args = crate::protocol::split_args(trimmed.as_bytes()).ok_or_else(|| {
                fatal(
                    lineno + 1,
                    trimmed,
                    "Unbalanced quotes in configuration line",
                )
            })?;
            let args: Vec<String> = args
                .into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect();
            self.apply_directive(&args)
                .map_err(|why| fatal(lineno + 1, trimmed, &why))?;
        }
        Ok(())
    }

    /// Applies one directive given as words (`["port", "6380"]`).
    pub fn apply_directive(&mut self, words: &[String]) -> Result<(), String> {
        let Some((name, rest)) = words.split_first() else {
            return Ok(());
        };
        let d = directive(name)
            .ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        let value = match d.kind {
            // `save` takes its pairs as separate words (`save ""` disables),
            // `bind` its addresses, `client-output-buffer-limit` its groups.
            Kind::SaveRules | Kind::OutputLimits | Kind::Flags(_) => rest.join(" "),
            Kind::Text if d.name == "bind" || d.name == "replicaof" => rest.join(" "),
            _ => {
                if rest.len() != 1 {
                    return Err("wrong number of arguments".into());
                }
                rest[0].clone()
            }
        };
        self.set(name, &value)
    }

    /// Builds the configuration from the command line: an optional config
    /// file as the first argument, then `--directive value...` flags.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config::default();
        let mut rest = args;
        if let Some(first) = args.first() {
            if !first.starts_with("--") {
                let text = std::fs::read_to_string(first)
                    .map_err(|e| format!("Fatal error, can't open config file '{first}': {e}"))?;
                config.apply_file_text(&text)?;
                config.file = Some(
                    std::fs::canonicalize(first)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| first.clone()),
                );
                rest = &args[1..];
            }
        }
        // Group `--name v1 v2 ...` into directive lines, as redis-server does.
        let mut words: Vec<String> = Vec::new();
        let mut lines = Vec::new();
        for arg in rest {
            if let Some(name) = arg.strip_prefix("--") {
                if !words.is_empty() {
                    lines.push(std::mem::take(&mut words));
                }
                words.push(name.to_string());
            } else if words.is_empty() {
                return Err(format!(
                    "Invalid argument '{arg}': directives are given as --name value"
                ));
            } else {
                words.push(arg.clone());
            }
        }
        if !words.is_empty() {
            lines.push(words);
        }
        for (i, line) in lines.iter().enumerate() {
            let shown = line.join(" ");
            config
                .apply_directive(line)
                .map_err(|why| fatal(i + 1, &shown, &why))?;
        }
        Ok(config)
    }

    /// The text of a config file rewritten to hold the running values (CONFIG
    /// REWRITE): lines of `original` naming a directive get its current value,
    /// other lines stay, and directives changed from their default that the
    /// file does not mention are appended.
    pub fn rewrite_text(&self, original: &str) -> String {
        let mut out = String::new();
        let mut written: Vec<&'static str> = Vec::new();
        for line in original.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            let known = (!line.trim_start().starts_with('#'))
                .then(|| directive(name))
                .flatten();
            match known {
                Some(d) if !written.contains(&d.name) => {
                    written.push(d.name);
                    out.push_str(&self.directive_line(d.name));
                }
                // A repeated directive: its value is already written.
                Some(_) => continue,
                None => out.push_str(line),
            }
            out.push('\n');
        }
        for d in DIRECTIVES {
            let value = self.get(d.name).unwrap_or(d.default);
            let is_alias = ALIASES.iter().any(|(old, _)| *old == d.name);
            if !written.contains(&d.name) && !is_alias && value != d.default {
                out.push_str(&self.directive_line(d.name));
                out.push('\n');
            }
        }
        out
    }

    /// `name value` in config-file syntax, quoting the value when needed.
    fn directive_line(&self, name: &'static str) -> String {
        let value = self.get(name).unwrap_or("");
        let words = directive(name).is_some_and(|d| matches!(d.kind, Kind::Flags(_)));
        if (words || matches!(name, "save" | "bind" | "client-output-buffer-limit"))
            && !value.is_empty()
        {
            return format!("{name} {value}");
        }
        let plain = !value.is_empty()
            && value
                .bytes()
                .all(|c| c.is_ascii_graphic() && c != b'"' && c != b'\'');
        if plain {
            format!("{name} {value}")
        } else {
            format!("{name} {value:?}")
        }
    }

    /// `save` rules as (seconds, changes) pairs.
    pub fn save_rules(&self) -> Vec<(u64, u64)> {
        let nums: Vec<u64> = self
            .get("save")
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        nums.chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0], c[1]))
            .collect()
    }
}

/// Whether a protected action (CONFIG SET of a protected directive, DEBUG)
/// is allowed by its `no` / `yes` / `local` setting, for a client that is
/// local or not.
pub fn protected_action_allowed(setting: Option<&str>, local: bool) -> bool {
    match setting {
        Some("yes") => true,
        Some("local") => local,
        _ => false,
    }
}

/// The reason a non-default value of a not-yet-supported directive is
/// refused; it names the directive, for the start-up error and CONFIG SET.
fn not_supported(d: &Directive, feature: &str) -> String {
    let default = if d.default.is_empty() {
        "\"\"".to_string()
    } else {
        format!("'{}'", d.default)
    };
    format!(
        "{feature} is not supported yet: {} accepts only its default, {default}",
        d.name
    )
}

/// Output buffer limits of the three client classes, in Redis's order.
const OUTPUT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Applies a `client-output-buffer-limit` value (groups of `class hard soft
/// seconds`, memory units allowed) to `current`, the normalised limits of
/// all classes; classes the value does not name keep their limits. All
/// groups are checked before any is applied, as in Redis.
fn merge_output_limits(current: &str, value: &str) -> Result<String, String> {
    let mut limits = output_limits_of(current);
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut updates = Vec::new();
    for group in words.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = redis_memory_value(group[1]);
        let soft = redis_memory_value(group[2]);
        let seconds = redis_seconds_value(group[3]);
        let (Some(hard), Some(soft), Some(seconds)) = (hard, soft, seconds) else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        updates.push((class, [hard, soft, seconds]));
    }
    for (class, limit) in updates {
        limits[class] = limit;
    }
    Ok(OUTPUT_CLASSES
        .iter()
        .zip(&limits)
        .map(|(class, [hard, soft, seconds])| format!("{class} {hard} {soft} {seconds}"))
        .collect::<Vec<_>>()
        .join(" "))
}

/// The (hard, soft, seconds) limits of normal, replica and pubsub clients
/// in a normalised `client-output-buffer-limit` value.
pub fn output_limits_of(normalised: &str) -> [[u64; 3]; 3] {
    let mut limits = [[0u64; 3]; 3];
    for group in normalised.split_whitespace().collect::<Vec<_>>().chunks(4) {
        if let Some(i) = OUTPUT_CLASSES.iter().position(|c| *c == group[0]) {
            for (slot, n) in limits[i].iter_mut().zip(&group[1..]) {
                *slot = n.parse().unwrap_or(0);
            }
        }
    }
    limits
}

/// A memory size as Redis's `memtoull` reads it: digits (none reads as 0)
/// and an optional unit; no sign; a number too large saturates and the
/// unit's product wraps, as there.
fn redis_memory_value(s: &str) -> Option<u64> {
    let digits_end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    let n = if digits.is_empty() {
        0
    } else {
        digits.parse::<u64>().unwrap_or(u64::MAX)
    };
    Some(n.wrapping_mul(mul))
}

/// Soft-limit seconds as Redis reads them: `strtoll` (leading blanks and a
/// sign allowed, nothing after the digits) stored in a C `int`, and
/// refused when negative there.
fn redis_seconds_value(s: &str) -> Option<u64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // strtoll saturates; the C int keeps the low 32 bits.
    let magnitude = if digits.is_empty() {
        0
    } else {
        digits.parse::<i64>().unwrap_or(i64::MAX)
    };
    let value = if negative {
        magnitude.checked_neg().unwrap_or(i64::MIN)
    } else {
        magnitude
    };
    let as_int = value as i32;
    (as_int >= 0).then_some(as_int as u64)
}

fn fatal(line: usize, text: &str, why: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR (ferrodis {}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{why}",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_flags() {
        let c = Config::from_args(&["--port".into(), "6380".into(), "--save".into(), "".into()])
            .unwrap();
        assert_eq!(c.int("port"), 6380);
        assert_eq!(c.int("hash-max-listpack-entries"), 512);
        assert!(c.save_rules().is_empty());
        let c = Config::default();
        assert_eq!(c.save_rules(), vec![(3600, 1), (300, 100), (60, 10000)]);
    }

    #[test]
    fn bad_values_name_the_directive_and_line() {
        let err = Config::from_args(&["--port".into(), "abc".into()]).unwrap_err();
        assert!(err.contains("'port abc'"), "{err}");
        assert!(err.contains("couldn't be parsed into an integer"), "{err}");
        let mut c = Config::default();
        let err = c
            .apply_file_text("# comment\nport 1\nnosuch 2\n")
            .unwrap_err();
        assert!(err.contains("at line 3"), "{err}");
        assert!(err.contains("Bad directive"), "{err}");
    }

    #[test]
    fn memory_units_and_aliases() {
        let mut c = Config::default();
        c.set("proto-max-bulk-len", "1mb").unwrap();
        assert_eq!(c.int("proto-max-bulk-len"), 1 << 20);
        c.set("hash-max-ziplist-entries", "7").unwrap();
        assert_eq!(c.int("hash-max-listpack-entries"), 7);
        assert_eq!(c.int("hash-max-ziplist-entries"), 7);
        assert!(c.set("appendfsync", "sometimes").is_err());
    }

    #[test]
    fn pending_directives_take_only_their_default() {
        let mut c = Config::default();
        for (name, value) in [("maxmemory", "0"), ("maxmemory", "0mb"), ("unixsocket", "")] {
            assert_eq!(c.set(name, value), Ok(()), "{name} {value}");
        }
        let err = c.set("maxmemory", "1gb").unwrap_err();
        assert!(err.contains("not supported yet"), "{err}");
        assert!(
            err.contains("maxmemory accepts only its default, '0'"),
            "{err}"
        );
        assert_eq!(c.get("maxmemory"), Some("0"));
        assert_eq!(c.set("notify-keyspace-events", "KEA"), Ok(()));
        let err = c.set("notify-keyspace-events", "KEq").unwrap_err();
        assert!(err.starts_with("Invalid event class character"), "{err}");
        // The old alias is refused like the directive itself.
        assert!(c.set("min-slaves-to-write", "1").is_err());
        assert_eq!(c.set("min-slaves-to-write", "0"), Ok(()));
    }

    #[test]
    fn output_limits_merge_per_class() {
        let default = directive("client-output-buffer-limit").unwrap().default;
        let merged = merge_output_limits(default, "pubsub 1mb 2k 3").unwrap();
        assert_eq!(
            merged,
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2000 3"
        );
        let merged = merge_output_limits(&merged, "REPLICA 1 2 3 normal 4 5 6").unwrap();
        assert_eq!(merged, "normal 4 5 6 slave 1 2 3 pubsub 1048576 2000 3");
        assert_eq!(merge_output_limits(default, "").unwrap(), default);
        for bad in [
            "normal 0 0",
            "master 0 0 0",
            "normal -1 0 0",
            "normal +1 0 0",
            "normal 0 0 1x",
            "normal 0 0 2147483648",
        ] {
            assert!(merge_output_limits(default, bad).is_err(), "{bad}");
        }
        // Redis's readings of odd numbers: a unit alone is 0, a huge size
        // saturates, seconds wrap to a C int and may carry a sign.
        let odd = merge_output_limits(default, "normal mb 99999999999999999999 +5").unwrap();
        assert!(odd.starts_with("normal 0 18446744073709551615 5 "), "{odd}");
        let odd = merge_output_limits(default, "normal 0 0 4294967296").unwrap();
        assert!(odd.starts_with("normal 0 0 0 "), "{odd}");
        // Redis's own spelling of the defaults is the default, and other
        // values are accepted.
        let mut c = Config::default();
        c.apply_file_text(
            "client-output-buffer-limit normal 0 0 0\n\
             client-output-buffer-limit replica 256mb 64mb 60\n\
             client-output-buffer-limit pubsub 32mb 8mb 60\n",
        )
        .unwrap();
        assert_eq!(c.get("client-output-buffer-limit"), Some(default));
        c.apply_file_text("client-output-buffer-limit normal 1mb 512kb 10\n")
            .unwrap();
        assert_eq!(
            output_limits_of(c.get("client-output-buffer-limit").unwrap())[0],
            [1 << 20, 512 << 10, 10]
        );
        let err = c
            .apply_file_text("client-output-buffer-limit pubsub 0 0\n")
            .unwrap_err();
        assert!(err.contains("at line 1"), "{err}");
        assert!(err.contains("Wrong number of arguments"), "{err}");
    }
}
