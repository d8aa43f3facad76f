//! DEBUG: the test and diagnosis hooks (SLEEP, OBJECT, DIGEST, PROTOCOL,
//! the stand-ins for long scripts and panics, ...), behind
//! `enable-debug-command`.

use super::args;
use super::flags::*;
use super::introspect::write_help;
use super::spec::{bind_with, CommandSpec, Ctx};
use crate::db::DbView;
use crate::error::{CmdError, CmdResult, NO_SUCH_KEY};
use std::sync::atomic::Ordering;

/// DEBUG's binding (it may hold every shard, so it enters through the
/// exclusive gate).
pub const COMMANDS: &[CommandSpec] = &[bind_with("debug", debug, EXCLUSIVE)];

fn debug(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    // `enable-debug-command` is checked by admission (cmd::admit).
    let sub = ctx.args[1].to_ascii_lowercase();
    let argc = ctx.args.len();
    match (sub.as_slice(), argc) {
        (b"help", 2) => {
            write_help(
                ctx.out,
                "DEBUG",
                &[
                    "SLEEP <seconds>",
                    "    Stop serving keyspace commands for the given time (fractions allowed).",
                    "SET-ACTIVE-EXPIRE <0|1>",
                    "    Turn the periodic expiry of keys off or on.",
                    "OBJECT <key>",
                    "    Internal details of a key's value.",
                    "CHANGE-REPL-ID",
                    "    Accepted for compatibility; does nothing.",
                    "QUICKLIST-PACKED-THRESHOLD <size>",
                    "    Accepted for compatibility.",
                    "LISTPACK <key>",
                    "    Accepted for compatibility.",
                    "RELOAD",
                    "    Needs persistence, which this server does not have yet.",
                    "DIGEST",
                    "    A digest of the whole dataset (equal data, equal digest).",
                    "DIGEST-VALUE <key> [<key> ...]",
                    "    A digest of each key's value.",
                    "PROTOCOL <type>",
                    "    A sample reply of a RESP type (string, integer, double, bignum, null,",
                    "    array, set, map, attrib, push, verbatim, true, false).",
                    "POPULATE <count> [<prefix>] [<size>]",
                    "    Create <count> string keys <prefix>:<n> (prefix 'key') holding 'value:<n>',",
                    "    cut or zero-padded to <size> bytes when given. Existing keys are kept.",
                    "PAUSE-CRON <0|1>",
                    "    Stop or restart the periodic task (expiry, timeouts).",
                    "LOG <message>",
                    "    Write the message to the server log.",
                    "HOLD-SHARDS <milliseconds>",
                    "    Hold every shard that long, busy like a long script: past",
                    "    busy-reply-threshold other clients get BUSY; SHUTDOWN NOSAVE ends it.",
                    "WORKER [<index>]",
                    "    The connection worker this connection runs on; with <index>, move",
                    "    there once the reply is written (tests place connections with it).",
                    "PANIC",
                    "    Crash the server as a bug would: bug report in the log, then abort.",
                    "ASSERT",
                    "    Crash the server through a failed assertion.",
                    "KEYEVENTS <ON|OFF|GET>",
                    "    Record every keyspace event from now on (ON), stop (OFF), or return and",
                    "    clear what was recorded (GET): [db, class, event, key] each.",
                ],
            );
        }
        (b"sleep", 3) => {
            let secs = args::float(&ctx.args[2])?;
            // Like Redis, the whole keyspace stays unavailable meanwhile: this
            // handler holds every shard (the command is ALL_SHARDS).
            let dur = std::time::Duration::from_secs_f64(secs.clamp(0.0, 1e6));
            std::thread::sleep(dur);
            ctx.out.ok();
        }
        (b"set-active-expire", 3) => {
            let on = args::int(&ctx.args[2])? != 0;
            ctx.server.active_expire.store(on, Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"object", 3) => {
            let key = ctx.args[2].clone();
            let Some(v) = db.get(&key) else {
                return Err(NO_SUCH_KEY);
            };
            let text = format!(
                "Value at:0x0 refcount:1 encoding:{} serializedlength:{} lru:0 lru_seconds_idle:0",
                v.encoding_name(),
                v.heap_bytes()
            );
            ctx.out.simple(&text);
        }
        (b"change-repl-id", 2) | (b"quicklist-packed-threshold", 3) => ctx.out.ok(),
        (b"protocol", 3) => debug_protocol(ctx)?,
        (b"populate", 3..=5) => {
            let positive = |a: &[u8]| -> Result<u64, CmdError> {
                crate::protocol::parse_i64(a)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or(crate::error::NOT_POSITIVE)
            };
            let count = positive(&ctx.args[2])?;
            let size = match ctx.args.get(4) {
                Some(a) => positive(a)? as usize,
                None => 0,
            };
            let prefix = ctx.args.get(3).map_or(&b"key"[..], |p| &p[..]).to_vec();
            for j in 0..count {
                let mut key = prefix.clone();
                key.extend_from_slice(format!(":{j}").as_bytes());
                if db.exists(&key) {
                    continue;
                }
                let mut value = format!("value:{j}").into_bytes();
                if size > 0 {
                    // Exactly `size` bytes: the text, cut or zero-padded.
                    value.resize(size, 0);
                }
                db.set(
                    &key,
                    crate::types::Value::Str(crate::types::StrValue::from_bytes(&value)),
                );
                // Redis reports only the key's creation (`new`).
                db.modified(&key, crate::db::KeyEvent::NONE);
            }
            ctx.out.ok();
        }
        (b"pause-cron", 3) => {
            let on = args::int(&ctx.args[2])? != 0;
            ctx.server.cron_paused.store(on, Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"set-skip-checksum-validation", 3)
        | (b"set-disable-deny-scripts", 3)
        | (b"replybuffer", 4) => {
            // Switches for machinery ferrodis does not have: accepted.
            args::int(&ctx.args[ctx.args.len() - 1])?;
            ctx.out.ok();
        }
        (b"hold-shards", 3) => {
            let ms = args::int(&ctx.args[2])?.max(0) as u64;
            let responder = super::busy::Responder::new(ctx.client.worker.0, ctx.client.info.id);
            if hold_shards(ctx.server, std::time::Duration::from_millis(ms), responder) {
                ctx.out.ok();
            } else {
                // Ended by SHUTDOWN NOSAVE: the server exits, nothing replies.
                ctx.client.close_after_reply = true;
            }
        }
        (b"worker", 2) => ctx.out.int(ctx.client.worker.0 as i64),
        (b"worker", 3) => {
            let to = args::int(&ctx.args[2])?;
            let (here, count) = ctx.client.worker;
            let Some(to) = usize::try_from(to).ok().filter(|&w| w < count) else {
                return Err(CmdError::new(format!(
                    "ERR there are {count} workers, numbered from 0"
                )));
            };
            if to != here {
                ctx.client.move_to = Some(to);
            }
            ctx.out.int(to as i64);
        }
        (b"panic", 2) => {
            // The panic hook writes the bug report and aborts (crash.rs).
            panic!(
                "DEBUG PANIC called at Unix time {}",
                crate::util::now_ms() / 1000
            );
        }
        (b"assert", 2) => {
            let one = ctx.args.len() - 1;
            assert_eq!(one, 2, "DEBUG ASSERT: 1 == 2 is false");
        }
        (b"keyevents", 3) => super::keyevents::debug_keyevents(ctx, db)?,
        (b"log", 3) => {
            crate::warning!("DEBUG LOG: {}", args::lossy(&ctx.args[2]));
            ctx.out.ok();
        }
        (b"digest", 2) => {
            let mut total = [0u64; 3];
            for index in 0..ctx.server.keyspace.num_dbs() {
                let mut keys = Vec::new();
                db.for_each_key(index, |k, v| keys.push((k.to_vec(), value_digest(v))));
                let saved = db.db;
                db.db = index;
                for (key, value) in keys {
                    let expire = db.expire_time(&key).unwrap_or(-1);
                    for (i, t) in total.iter_mut().enumerate() {
                        let mut h = Fnv::new(i as u64 ^ index as u64);
                        h.write(&key);
                        h.write_u64(value[i]);
                        h.write_u64(expire as u64);
                        // XOR: the key order does not matter.
                        *t ^= h.finish();
                    }
                }
                db.db = saved;
            }
            ctx.out.simple(&digest_hex(total));
        }
        (b"digest-value", _) => {
            let keys: Vec<bytes::Bytes> = ctx.args[2..].to_vec();
            ctx.out.array(keys.len());
            for key in keys {
                let d = db.get(&key).map_or([0; 3], value_digest);
                ctx.out.simple(&digest_hex(d));
            }
        }
        (b"listpack", 3) | (b"quicklist", 3) => {
            let key = ctx.args[2].clone();
            if db.get(&key).is_none() {
                return Err(NO_SUCH_KEY);
            }
            ctx.out.simple("Listpack structure printed on stdout");
        }
        (b"reload", _) | (b"loadaof", _) => {
            return Err(CmdError::fixed(
                "ERR DEBUG RELOAD needs persistence, which is not available",
            ));
        }
        _ => {
            return Err(CmdError::new(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                args::lossy(&ctx.args[1])
            )));
        }
    }
    Ok(())
}

/// `DEBUG HOLD-SHARDS`: the stand-in for a long script that the BUSY
/// machinery is tested with. DEBUG enters through the exclusive gate, so
/// this runs holding every shard; it keeps its core busy as a script would,
/// declares the gate busy past `busy-reply-threshold` (as a script's hook
/// will), answers the clients of its own worker then (as the hook does),
/// and stops early on a kill request or a shutdown. False if a shutdown
/// ended it.
fn hold_shards(
    server: &crate::state::Shared,
    hold: std::time::Duration,
    mut responder: super::busy::Responder,
) -> bool {
    let start = std::time::Instant::now();
    let threshold = std::time::Duration::from_millis(
        server.config.read().int("busy-reply-threshold").max(0) as u64,
    );
    let gate = server.keyspace.gate();
    while start.elapsed() < hold {
        if start.elapsed() >= threshold {
            gate.declare_busy(crate::gate::BusyKind::Eval);
            responder.poll(server);
        }
        if server.shutting_down.load(Ordering::Relaxed) {
            return false;
        }
        if gate.kill_requested() {
            break;
        }
        std::hint::spin_loop();
    }
    true
}

/// `DEBUG PROTOCOL <type>`: one sample reply of each RESP type, so
/// clients (and tests) can check how every type is encoded.
fn debug_protocol(ctx: &mut Ctx<'_>) -> CmdResult {
    let name = ctx.args[2].to_ascii_lowercase();
    let out = &mut *ctx.out;
    match name.as_slice() {
        b"string" => out.bulk(b"Hello World"),
        b"integer" => out.int(12345),
        // Redis's sample value, deliberately not pi.
        #[allow(clippy::approx_constant)]
        b"double" => out.double(3.141),
        b"bignum" => {
            let n = b"1234567999999999999999999999999999999";
            if out.is_resp3() {
                out.raw(b"(");
                out.raw(n);
                out.raw(b"\r\n");
            } else {
                out.bulk(n);
            }
        }
        b"null" => out.null(),
        b"array" | b"set" | b"map" => {
            match name.as_slice() {
                b"array" => out.array(3),
                b"set" => out.set(3),
                _ => out.map(3),
            }
            for j in 0..3 {
                out.int(j);
                if name.as_slice() == b"map" {
                    out.bool(j == 1);
                }
            }
        }
        b"attrib" => {
            if out.is_resp3() {
                out.raw(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n");
            }
            out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !out.is_resp3() {
                return Err(CmdError::fixed("ERR RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        b"true" => out.bool(true),
        b"false" => out.bool(false),
        b"verbatim" => out.verbatim("txt", b"This is a verbatim\nstring"),
        _ => {
            return Err(CmdError::fixed(
                "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

/// FNV-1a, seeded: a stable hash for DEBUG DIGEST (the same data gives the
/// same digest in every run).
struct Fnv(u64);

impl Fnv {
    fn new(seed: u64) -> Self {
        Fnv(0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn write(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // Length-terminate so ("ab","c") and ("a","bc") differ.
        self.write_len(data.len());
    }

    fn write_len(&mut self, n: usize) {
        for b in (n as u64).to_le_bytes() {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.write_len(n as usize);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Three independent 64-bit digests of a value's type and content.
fn value_digest(v: &crate::types::Value) -> [u64; 3] {
    use crate::types::Value;
    let mut out = [0u64; 3];
    for (i, o) in out.iter_mut().enumerate() {
        let mut h = Fnv::new(i as u64 + 17);
        h.write(v.type_name().as_bytes());
        match v {
            Value::Str(s) => h.write(&s.as_bytes()),
            Value::List(l) => l.iter().for_each(|item| h.write(item)),
            Value::Set(set) => {
                // Member order is an encoding detail: combine order-free.
                let mut acc = 0u64;
                for m in set.iter() {
                    let mut e = Fnv::new(i as u64);
                    e.write(&m.bytes());
                    acc ^= e.finish();
                }
                h.write_u64(acc);
            }
            Value::Hash(hv) => {
                // Field order is an encoding detail: combine order-free.
                let mut acc = 0u64;
                for (f, val) in hv.iter() {
                    let mut e = Fnv::new(i as u64);
                    e.write(f);
                    e.write(val);
                    acc ^= e.finish();
                }
                h.write_u64(acc);
            }
            Value::ZSet(z) => z.walk(0, false, |m, s| {
                h.write(m);
                h.write(crate::util::numfmt::format_double(s).as_bytes());
                true
            }),
        }
        *o = h.finish();
    }
    out
}

/// 40 hex digits, like Redis's SHA1-sized digests; all zeros for nothing.
fn digest_hex(d: [u64; 3]) -> String {
    let hex = format!("{:016x}{:016x}{:016x}", d[0], d[1], d[2]);
    hex[..40].to_string()
}
