//! Configuration: redis.conf syntax, `--directive value` flags, CONFIG GET/SET.
//!
//! Every directive is one row of [`DIRECTIVES`]: its name, kind (which decides
//! how values are validated and normalised), default and whether CONFIG SET
//! may change it at run time. Values are kept normalised as text, the form
//! CONFIG GET returns; typed accessors parse them.

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
    /// Any text.
    Text,
    /// `save` rules: pairs of seconds and changes, or empty.
    SaveRules,
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
    }
}

const fn boolean(name: &'static str, default: &'static str, mutable: bool) -> Directive {
    Directive {
        name,
        kind: Kind::Bool,
        default,
        mutable,
    }
}

const fn text(name: &'static str, default: &'static str, mutable: bool) -> Directive {
    Directive {
        name,
        kind: Kind::Text,
        default,
        mutable,
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
    }
}

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
    boolean("daemonize", "no", false),
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
    },
    mem("client-query-buffer-limit", "1073741824", true),
    mem("maxmemory", "0", true),
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
    text("notify-keyspace-events", "", true),
    int("lfu-log-factor", 0, i32::MAX as i64, "10", true),
    int("lfu-decay-time", 0, i32::MAX as i64, "1", true),
    int("io-threads", 1, 128, "1", false),
    boolean("io-threads-do-reads", "no", false),
    int("latency-monitor-threshold", 0, i64::MAX, "0", true),
    boolean("activedefrag", "no", true),
    boolean("always-show-logo", "no", false),
    boolean("set-proc-title", "yes", false),
    boolean("enable-debug-command", "yes", false),
    one_of(
        "enable-protected-configs",
        &["no", "yes", "local"],
        "no",
        false,
    ),
    boolean("enable-module-command", "no", false),
    text("unixsocket", "", false),
    one_of(
        "supervised",
        &["upstart", "systemd", "auto", "no"],
        "no",
        false,
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
    int("min-replicas-to-write", 0, i32::MAX as i64, "0", true),
    boolean("replica-read-only", "yes", true),
    int("set-max-intset-entries", 0, i64::MAX, "512", true),
    int("zset-max-listpack-entries", 0, i64::MAX, "128", true),
    int("zset-max-listpack-value", 0, i64::MAX, "64", true),
    mem("stream-node-max-bytes", "4096", true),
    int("zset-max-ziplist-entries", 0, i64::MAX, "128", true),
    int("zset-max-ziplist-value", 0, i64::MAX, "64", true),
    boolean("cluster-enabled", "no", false),
    text("cluster-config-file", "nodes.conf", false),
    boolean("repl-diskless-sync", "yes", true),
    boolean("replica-serve-stale-data", "yes", true),
    boolean("slave-serve-stale-data", "yes", true),
    boolean("slave-read-only", "yes", true),
    boolean("replica-lazy-flush", "no", true),
    text("replicaof", "", true),
    text("masterauth", "", true),
    text("masteruser", "", true),
    mem("repl-backlog-size", "1048576", true),
    int("repl-timeout", 1, i32::MAX as i64, "60", true),
    int("min-slaves-to-write", 0, i32::MAX as i64, "0", true),
    boolean("latency-tracking", "yes", true),
    int("tracking-table-max-keys", 0, i64::MAX, "1000000", true),
    boolean("jemalloc-bg-thread", "yes", true),
    int("acllog-max-len", 0, i64::MAX, "128", true),
    mem("maxmemory-clients", "0", true),
    boolean("activerehashing", "yes", true),
    mem("hll-sparse-max-bytes", "3000", true),
    text(
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        true,
    ),
    boolean("crash-log-enabled", "yes", true),
    boolean("crash-memcheck-enabled", "yes", true),
    boolean("syslog-enabled", "no", false),
    int("shutdown-timeout", 0, i32::MAX as i64, "10", true),
    one_of(
        "shutdown-on-sigterm",
        &["default", "save", "nosave", "now", "force"],
        "default",
        true,
    ),
    one_of(
        "shutdown-on-sigint",
        &["default", "save", "nosave", "now", "force"],
        "default",
        true,
    ),
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
                    parse_memory(value)
                } else {
                    value.parse::<i64>().ok()
                };
                let Some(n) = n else {
                    return Err("argument couldn't be parsed into an integer".into());
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
            Kind::Text => Ok(value.to_string()),
            Kind::SaveRules => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                if parts.len() % 2 != 0 || parts.iter().any(|p| p.parse::<u64>().is_err()) {
                    return Err("Invalid save parameters".into());
                }
                Ok(parts.join(" "))
            }
        }
    }

    /// Sets a directive; `Err` holds Redis's reason text.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let d = directive(name)
            .ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        let normalised = Self::normalise(d, value)?;
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
            // `save` takes its pairs as separate words; `save ""` disables.
            Kind::SaveRules | Kind::Text if d.name == "save" || d.name == "bind" => rest.join(" "),
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
        if matches!(name, "save" | "bind") && !value.is_empty() {
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
}
