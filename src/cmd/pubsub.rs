//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH, SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH and PUBSUB.
//!
//! The registry and the delivery of messages are `crate::pubsub`; here are
//! the commands' replies. Confirmations are pushes (arrays in RESP2) that
//! CLIENT REPLY OFF does not silence, as in Redis. An unsubscribe first
//! moves the messages already queued for the client into its reply, under
//! the registry's lock, so no message of a channel follows the confirmation
//! of leaving it.

use super::flags::NO_KEYS;
use super::spec::{bind, bind_with, container, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult};
use crate::pubsub::{Space, Sub};
use crate::reply::Reply;
use bytes::Bytes;

/// The pub/sub family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("subscribe", subscribe),
    bind("unsubscribe", unsubscribe),
    bind("psubscribe", psubscribe),
    bind("punsubscribe", punsubscribe),
    bind_with("ssubscribe", ssubscribe, NO_KEYS),
    bind_with("sunsubscribe", sunsubscribe, NO_KEYS),
    bind("publish", publish),
    bind_with("spublish", spublish, NO_KEYS),
    container("pubsub", PUBSUB),
];

const PUBSUB: &[CommandSpec] = &[
    bind("pubsub|channels", pubsub_channels),
    bind("pubsub|shardchannels", pubsub_shardchannels),
    bind("pubsub|numsub", pubsub_numsub),
    bind("pubsub|shardnumsub", pubsub_shardnumsub),
    bind("pubsub|numpat", pubsub_numpat),
    bind("pubsub|help", pubsub_help),
];

/// Writes one confirmation: `[kind, name or null, count]`.
fn confirm(out: &mut Reply, kind: &[u8], name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(kind);
    match name {
        Some(name) => out.bulk(name),
        None => out.null(),
    }
    out.int(count as i64);
}

fn subscribe_to(ctx: &mut Ctx<'_>, space: Space, kind: &[u8]) -> CmdResult {
    let who: Sub = ctx.client.info.clone();
    let mut registry = ctx.server.pubsub.lock();
    for name in &ctx.args[1..] {
        let count = registry.subscribe(&who, space, name);
        confirm(ctx.out, kind, Some(name), count);
    }
    ctx.out.keep_pushed();
    Ok(())
}

fn unsubscribe_from(ctx: &mut Ctx<'_>, space: Space, kind: &[u8]) -> CmdResult {
    let id = ctx.client.info.id;
    let mut registry = ctx.server.pubsub.lock();
    // Messages published while still subscribed go out first.
    ctx.client.info.outbox.drain_into(&mut ctx.out.buf);
    let names: Vec<Bytes> = if ctx.args.len() == 1 {
        registry.subscribed(id, space)
    } else {
        ctx.args[1..].to_vec()
    };
    if names.is_empty() {
        // Redis answers an unsubscribe from nothing too.
        confirm(ctx.out, kind, None, registry.count(id, space));
    }
    for name in &names {
        let count = registry.unsubscribe(id, space, name);
        confirm(ctx.out, kind, Some(name), count);
    }
    ctx.out.keep_pushed();
    Ok(())
}

fn subscribe(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    subscribe_to(ctx, Space::Channels, b"subscribe")
}

fn psubscribe(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    subscribe_to(ctx, Space::Patterns, b"psubscribe")
}

fn ssubscribe(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    // Redis refuses it to a client that may not block, which a
    // transaction's commands are (SUBSCRIBE and PSUBSCRIBE are let through
    // inside MULTI for compatibility).
    if ctx.client.in_exec {
        return Err(CmdError::fixed(
            "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        ));
    }
    subscribe_to(ctx, Space::Shard, b"ssubscribe")
}

fn unsubscribe(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    unsubscribe_from(ctx, Space::Channels, b"unsubscribe")
}

fn punsubscribe(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    unsubscribe_from(ctx, Space::Patterns, b"punsubscribe")
}

fn sunsubscribe(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    unsubscribe_from(ctx, Space::Shard, b"sunsubscribe")
}

fn publish_in(ctx: &mut Ctx<'_>, space: Space) -> CmdResult {
    let n = ctx.server.pubsub.publish(space, &ctx.args[1], &ctx.args[2]);
    ctx.out.int(n as i64);
    Ok(())
}

fn publish(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    publish_in(ctx, Space::Channels)
}

fn spublish(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    publish_in(ctx, Space::Shard)
}

/// PUBSUB CHANNELS / SHARDCHANNELS `[pattern]`.
fn list_channels(ctx: &mut Ctx<'_>, space: Space) -> CmdResult {
    if ctx.args.len() > 3 {
        return Err(super::introspect::subcommand_syntax_error(ctx.args));
    }
    let pattern = ctx.args.get(2).map(|p| &p[..]);
    let names = ctx.server.pubsub.lock().channels(space, pattern);
    ctx.out.array(names.len());
    for name in &names {
        ctx.out.bulk(name);
    }
    Ok(())
}

/// PUBSUB NUMSUB / SHARDNUMSUB `[channel ...]`.
fn count_subscribers(ctx: &mut Ctx<'_>, space: Space) -> CmdResult {
    let registry = ctx.server.pubsub.lock();
    let names = &ctx.args[2..];
    ctx.out.array(names.len() * 2);
    for name in names {
        ctx.out.bulk(name);
        ctx.out.int(registry.subscribers(space, name) as i64);
    }
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    list_channels(ctx, Space::Channels)
}

fn pubsub_shardchannels(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    list_channels(ctx, Space::Shard)
}

fn pubsub_numsub(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    count_subscribers(ctx, Space::Channels)
}

fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    count_subscribers(ctx, Space::Shard)
}

fn pubsub_numpat(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    let [_, patterns, _] = ctx.server.pubsub.counts();
    ctx.out.int(patterns as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    super::introspect::write_help(
        ctx.out,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    The channels with subscribers, those matching <pattern> if given.",
            "NUMPAT",
            "    How many patterns have subscribers.",
            "NUMSUB [<channel> ...]",
            "    Each channel's subscriber count (pattern subscriptions not counted).",
            "SHARDCHANNELS [<pattern>]",
            "    The shard channels with subscribers, those matching <pattern> if given.",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Each shard channel's subscriber count.",
        ],
    );
    Ok(())
}
