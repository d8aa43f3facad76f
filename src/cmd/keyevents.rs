//! `DEBUG KEYEVENTS ON|OFF|GET` (ferrodis's own): records the keyspace
//! events of every change, in the order they reach the event sink, for
//! tests that compare them with Redis's keyspace notifications. It is the
//! sink's first consumer; keyspace notifications, blocked-client wake-ups
//! and tracking plug in beside it (see ARCHITECTURE.md, "Keyspace events").

use super::args::is;
use super::Ctx;
use crate::db::{class, DbView};
use crate::error::{CmdError, CmdResult};

/// Runs `DEBUG KEYEVENTS <ON|OFF|GET>`. DEBUG holds every shard, so
/// recording starts and stops between commands: each command's events are
/// recorded whole or not at all.
pub fn debug_keyevents(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    debug_assert!(db.holds_all(), "DEBUG runs under every shard lock");
    let sink = ctx.server.keyspace.events();
    let word = &ctx.args[2];
    if is(word, "ON") {
        sink.start_recording();
        ctx.out.ok();
    } else if is(word, "OFF") {
        sink.stop_recording();
        ctx.out.ok();
    } else if is(word, "GET") {
        let Some(recording) = sink.take_recorded() else {
            return Err(CmdError::fixed(
                "ERR keyevents recording is off (DEBUG KEYEVENTS ON starts it)",
            ));
        };
        if recording.lost > 0 {
            // An incomplete sequence would mislead a comparison.
            return Err(CmdError::new(format!(
                "ERR keyevents recording was full: {} events lost (at most {} are kept between reads)",
                recording.lost,
                crate::db::RECORDING_LIMIT
            )));
        }
        // [db, class, event, key] each, oldest first.
        ctx.out.array(recording.events.len());
        for e in &recording.events {
            ctx.out.array(4);
            ctx.out.int(e.db as i64);
            let ch = class::char_of(e.event.class).unwrap_or(b'?');
            ctx.out.bulk(&[ch]);
            ctx.out.bulk(e.event.name.as_bytes());
            ctx.out.bulk(&e.key);
        }
    } else {
        return Err(crate::error::SYNTAX);
    }
    Ok(())
}
