//! Client-side caching's commands: CLIENT TRACKING, CLIENT CACHING, CLIENT
//! GETREDIR, CLIENT TRACKINGINFO (bound in the CLIENT container of
//! `connection.rs`), and what the command path does for a tracking client:
//! the keys its read-only commands read are recorded for the tracking
//! table (`db::Tracking`), which turns later changes into invalidations.

use super::args;
use super::flags::{PUBSUB, READONLY};
use super::spec::{ClientState, CommandSpec, Ctx};
use crate::db::{flag, DbView, PrefixClash};
use crate::error::{CmdError, CmdResult, SYNTAX};
use crate::state::Shared;
use bytes::Bytes;

/// The mode bits a connection keeps its own copy of.
const MODE: u32 = flag::ON | flag::BCAST | flag::OPTIN | flag::OPTOUT | flag::NOLOOP;

/// A prefix as Redis's `%s` prints it: up to its first NUL byte.
fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Redis's texts for overlapping BCAST prefixes.
fn clash_error(clash: &PrefixClash) -> String {
    match clash {
        PrefixClash::Existing { new, existing } => format!(
            "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
            c_string(new),
            c_string(existing)
        ),
        PrefixClash::Given { first, second, .. } => format!(
            "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
            c_string(first),
            c_string(second)
        ),
    }
}

/// `CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
/// [OPTOUT] [NOLOOP]`, with Redis 7.0's checks in its order.
pub fn client_tracking(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let argc = ctx.args.len();
    let mut redirect: i64 = 0;
    let mut options = 0;
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut j = 3;
    while j < argc {
        let more = argc - 1 - j;
        let opt = &ctx.args[j];
        if args::is(opt, "REDIRECT") && more > 0 {
            j += 1;
            if redirect != 0 {
                return Err(CmdError::fixed(
                    "ERR A client can only redirect to a single other client",
                ));
            }
            redirect = args::int(&ctx.args[j])?;
            let exists = u64::try_from(redirect)
                .ok()
                .and_then(|id| ctx.server.clients.get(id))
                .is_some();
            if !exists {
                return Err(CmdError::fixed(
                    "ERR The client ID you want redirect to does not exist",
                ));
            }
        } else if args::is(opt, "BCAST") {
            options |= flag::BCAST;
        } else if args::is(opt, "OPTIN") {
            options |= flag::OPTIN;
        } else if args::is(opt, "OPTOUT") {
            options |= flag::OPTOUT;
        } else if args::is(opt, "NOLOOP") {
            options |= flag::NOLOOP;
        } else if args::is(opt, "PREFIX") && more > 0 {
            j += 1;
            prefixes.push(&ctx.args[j]);
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    let tracker = ctx.client.info.tracker.clone();
    let tracking = ctx.server.keyspace.events().tracking();
    if args::is(&ctx.args[2], "ON") {
        let current = tracker.flags();
        if options & flag::BCAST == 0 && !prefixes.is_empty() {
            return Err(CmdError::fixed(
                "ERR PREFIX option requires BCAST mode to be enabled",
            ));
        }
        if current & flag::ON != 0 && (current ^ options) & flag::BCAST != 0 {
            return Err(CmdError::fixed(
                "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        if options & flag::BCAST != 0 && options & (flag::OPTIN | flag::OPTOUT) != 0 {
            return Err(CmdError::fixed(
                "ERR OPTIN and OPTOUT are not compatible with BCAST",
            ));
        }
        if options & flag::OPTIN != 0 && options & flag::OPTOUT != 0 {
            return Err(CmdError::fixed(
                "ERR You can't specify both OPTIN mode and OPTOUT mode",
            ));
        }
        if (options & flag::OPTIN != 0 && current & flag::OPTOUT != 0)
            || (options & flag::OPTOUT != 0 && current & flag::OPTIN != 0)
        {
            return Err(CmdError::fixed(
                "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        if options & flag::BCAST != 0 {
            match tracking.prefix_clash(&tracker, &prefixes) {
                None => {}
                // Redis 7.0.15 answers an overlap between two prefixes
                // given, the first of them not the first given, with the
                // error and then goes on: tracking is enabled and OK
                // follows (two replies).
                Some(clash @ PrefixClash::Given { at, .. }) if at > 0 => {
                    ctx.out.error(&clash_error(&clash));
                }
                Some(clash) => return Err(CmdError::new(clash_error(&clash))),
            }
        }
        tracking.enable(&tracker, redirect as u64, options, &prefixes);
    } else if args::is(&ctx.args[2], "OFF") {
        tracking.disable(&tracker);
        ctx.client.caching = false;
    } else {
        return Err(SYNTAX);
    }
    ctx.server.keyspace.events().refresh_wanted();
    ctx.client.tracking = tracker.flags() & MODE;
    ctx.out.ok();
    Ok(())
}

/// `CLIENT CACHING YES|NO`: the next command (or transaction) is cached
/// in OPTIN mode, or not in OPTOUT mode.
pub fn client_caching(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let mode = ctx.client.tracking;
    if mode & flag::ON == 0 {
        return Err(CmdError::fixed(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    }
    let opt = &ctx.args[2];
    if args::is(opt, "YES") {
        if mode & flag::OPTIN == 0 {
            return Err(CmdError::fixed(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if args::is(opt, "NO") {
        if mode & flag::OPTOUT == 0 {
            return Err(CmdError::fixed(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(SYNTAX);
    }
    ctx.client.caching = true;
    ctx.out.ok();
    Ok(())
}

/// The redirect of a tracking client (0: none), -1 when not tracking.
fn redirect_of(ctx: &Ctx<'_>) -> i64 {
    let tracker = &ctx.client.info.tracker;
    if tracker.flags() & flag::ON != 0 {
        tracker.redirect() as i64
    } else {
        -1
    }
}

/// `CLIENT GETREDIR`
pub fn client_getredir(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let redirect = redirect_of(ctx);
    ctx.out.int(redirect);
    Ok(())
}

/// `CLIENT TRACKINGINFO`: flags (a set), redirect, prefixes.
pub fn client_trackinginfo(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let tracker = ctx.client.info.tracker.clone();
    let flags = tracker.flags();
    let caching = ctx.client.caching;
    let mut names = vec![if flags & flag::ON != 0 { "on" } else { "off" }];
    if flags & flag::BCAST != 0 {
        names.push("bcast");
    }
    if flags & flag::OPTIN != 0 {
        names.push("optin");
        if caching {
            names.push("caching-yes");
        }
    }
    if flags & flag::OPTOUT != 0 {
        names.push("optout");
        if caching {
            names.push("caching-no");
        }
    }
    if flags & flag::NOLOOP != 0 {
        names.push("noloop");
    }
    if flags & flag::BROKEN_REDIR != 0 {
        names.push("broken_redirect");
    }
    let redirect = redirect_of(ctx);
    let prefixes = tracker.prefixes();
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(names.len());
    for name in names {
        out.bulk(name.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(redirect);
    out.bulk(b"prefixes");
    out.array(prefixes.len());
    for p in &prefixes {
        out.bulk(p);
    }
    Ok(())
}

/// Turns tracking off for a client that closes or RESETs.
pub fn forget(server: &Shared, client: &mut ClientState) {
    let tracker = &client.info.tracker;
    if tracker.flags() & flag::ON != 0 {
        let events = server.keyspace.events();
        events.tracking().disable(tracker);
        events.refresh_wanted();
    }
    client.tracking = 0;
    client.caching = false;
}

/// After a command of a tracking client: a read-only command's keys are
/// recorded to be remembered for it (Redis's `trackingRememberKeys`: not
/// in BCAST mode, not in OPTIN mode without CLIENT CACHING YES nor in
/// OPTOUT mode after CLIENT CACHING NO; the keys the command's key finder
/// reports, or its legacy key range).
#[cold]
pub fn remember_reads(
    spec: &CommandSpec,
    client: &ClientState,
    args: &[Bytes],
    view: &mut DbView<'_>,
) {
    // A read-only script's own keys are remembered only for the reads it
    // makes (see `remember_keys`), as Redis skips the `_RO` script commands.
    let script = matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro");
    if !spec.has(READONLY) || spec.has(PUBSUB) || script {
        return;
    }
    remember_keys(spec, client, args, view);
}

/// Remembers the keys of `spec` run with `args` for `client`, whatever the
/// command's flags: a script that runs a read-only command has its caller
/// track the keys the script declared (the EVAL's keys), as in Redis.
#[cold]
pub fn remember_keys(
    spec: &CommandSpec,
    client: &ClientState,
    args: &[Bytes],
    view: &mut DbView<'_>,
) {
    let mode = client.tracking;
    if mode & flag::BCAST != 0 {
        return;
    }
    let (optin, optout) = (mode & flag::OPTIN != 0, mode & flag::OPTOUT != 0);
    if (optin && !client.caching) || (optout && client.caching) {
        return;
    }
    if let Some(getkeys) = spec.getkeys {
        let mut keys = Vec::new();
        getkeys(args, &mut keys);
        for k in keys {
            if let Some(key) = args.get(k.pos) {
                view.track_read(key);
            }
        }
        return;
    }
    let (first, last, step) = spec.facts.legacy_keys;
    if first <= 0 || step <= 0 {
        return;
    }
    let argc = args.len() as i64;
    let last = if last < 0 {
        argc + last as i64
    } else {
        last as i64
    };
    // Past the arguments given (a variadic command called short): no keys,
    // as Redis's legacy range gives.
    let positions = (first as i64..=last).step_by(step as usize);
    if positions.clone().any(|i| i >= argc) {
        return;
    }
    for i in positions {
        view.track_read(&args[i as usize]);
    }
}
