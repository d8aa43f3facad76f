//! CONFIG: reading and changing the running configuration (the directive
//! table itself lives in `crate::config`).

use super::args;
use super::introspect::write_help;
use super::spec::{bind, container, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult, SYNTAX};

/// CONFIG's bindings.
pub const COMMANDS: &[CommandSpec] = &[container("config", CONFIG_SUBCOMMANDS)];

const CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    bind("config|get", config_get),
    bind("config|set", config_set),
    bind("config|resetstat", config_resetstat),
    bind("config|rewrite", config_rewrite),
    bind("config|help", config_help),
];

fn config_get(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let config = ctx.server.config.read();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for arg in &ctx.args[2..] {
        let pattern = arg.to_ascii_lowercase();
        let is_glob = pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
        for (name, value) in config.iter() {
            let hit = if is_glob {
                crate::util::glob::glob_match(&pattern, name.as_bytes())
            } else {
                name.as_bytes() == pattern.as_slice()
            };
            // An exact name is echoed as the client spelled it, as Redis does.
            let shown = if is_glob {
                name.to_string()
            } else {
                args::lossy(arg)
            };
            if hit && !pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                let name = shown;
                let value = if name.eq_ignore_ascii_case("dir") {
                    // The working directory is the truth (set at start-up
                    // and by CONFIG SET dir).
                    std::env::current_dir()
                        .map(|d| d.display().to_string())
                        .unwrap_or_else(|_| value.to_string())
                } else if name.eq_ignore_ascii_case("notify-keyspace-events") {
                    // Shown as Redis prints its flags.
                    crate::db::class::format(crate::db::class::parse(value.as_bytes()).unwrap_or(0))
                } else {
                    value.to_string()
                };
                pairs.push((name, value));
            }
        }
    }
    drop(config);
    ctx.out.map(pairs.len());
    for (name, value) in pairs {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    if ctx.args.len() % 2 != 0 {
        return Err(SYNTAX);
    }
    let pairs: Vec<(String, String)> = ctx.args[2..]
        .chunks(2)
        .map(|p| (args::lossy(&p[0]), args::lossy(&p[1])))
        .collect();
    // Validate everything before changing anything: all or nothing.
    let mut seen: Vec<&'static str> = Vec::new();
    for (name, _) in &pairs {
        let Some(d) = crate::config::directive(name) else {
            return Err(CmdError::new(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            )));
        };
        let failed = |why: &str| {
            CmdError::new(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
            ))
        };
        if !d.mutable {
            return Err(failed("can't set immutable config"));
        }
        if crate::config::PROTECTED.contains(&d.name) {
            let allowed = crate::config::protected_action_allowed(
                ctx.server.config.read().get("enable-protected-configs"),
                ctx.client.info.addr.ip().is_loopback(),
            );
            if !allowed {
                return Err(failed("can't set protected config"));
            }
        }
        let canonical = crate::config::canonical(d.name);
        if seen.contains(&canonical) {
            return Err(failed("duplicate parameter"));
        }
        seen.push(canonical);
    }
    let mut config = ctx.server.config.write();
    let mut updated = config.clone();
    for (name, value) in &pairs {
        // A rejected value is reported under the directive's own lower-case
        // name (as looked up, so an old alias stays the alias), as in Redis.
        let shown = crate::config::directive(name).map_or(name.as_str(), |d| d.name);
        let failed = |why: &str| {
            CmdError::new(format!(
                "ERR CONFIG SET failed (possibly related to argument '{shown}') - {why}"
            ))
        };
        updated.set(name, value).map_err(|why| failed(&why))?;
        if name.eq_ignore_ascii_case("dir") {
            // The only setting applied outside the config itself; done
            // last among the checks so a failure leaves everything as it was.
            std::env::set_current_dir(value)
                .map_err(|e| failed(&crate::util::os_error_text(&e)))?;
        }
    }
    *config = updated;
    ctx.server.refresh_hot(&config);
    crate::log::set_level(config.get("loglevel").unwrap_or("notice"));
    drop(config);
    let touches_aof = pairs.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("appendonly") || name.eq_ignore_ascii_case("appendfsync")
    });
    if touches_aof {
        if let Err(why) = crate::aof::rewrite::config_changed(&ctx.server.arc(), ctx.client.in_exec)
        {
            // As in Redis, the setting goes back to what it was.
            let mut config = ctx.server.config.write();
            let _ = config.set("appendonly", "no");
            return Err(CmdError::new(format!(
                "ERR CONFIG SET failed (possibly related to argument 'appendonly') - {why}"
            )));
        }
    }
    ctx.out.ok();
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    ctx.server.stats.reset();
    for (_, s) in ctx.registry.all_stats() {
        s.reset();
    }
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let config = ctx.server.config.read();
    let Some(path) = config.file.clone() else {
        return Err(CmdError::fixed(
            "ERR The server is running without a config file",
        ));
    };
    let text = config.rewrite_text(&std::fs::read_to_string(&path).unwrap_or_default());
    drop(config);
    std::fs::write(&path, text)
        .map_err(|e| CmdError::new(format!("ERR Rewriting config file: {e}")))?;
    ctx.out.ok();
    Ok(())
}

fn config_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    write_help(
        ctx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Values of the directives matching the glob-style pattern(s).",
            "SET <directive> <value> [<directive> <value> ...]",
            "    Change directives, all or none of them.",
            "RESETSTAT",
            "    Reset the statistics INFO reports.",
            "REWRITE",
            "    Write the running configuration back to the config file.",
        ],
    );
    Ok(())
}
