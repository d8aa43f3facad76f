//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//! The values are strings in Redis's own layout ([`crate::types::hyperloglog`]),
//! checked before every use.

use super::spec::{bind, CommandSpec, Ctx};
use crate::aof;
use crate::db::{DbView, KeyEvent};
use crate::error::{CmdError, CmdResult, WRONGTYPE};
use crate::types::hyperloglog::{self as hll, Union};
use crate::types::{StrValue, Value};

/// The HyperLogLog family's command table.
pub const COMMANDS: &[CommandSpec] = &[
    bind("pfadd", pfadd),
    bind("pfcount", pfcount),
    bind("pfmerge", pfmerge),
    bind("pfdebug", pfdebug),
    bind("pfselftest", pfselftest),
];

/// A string that is not a HyperLogLog.
const NOT_HLL: CmdError = CmdError::fixed("WRONGTYPE Key is not a valid HyperLogLog string value.");
/// A HyperLogLog whose registers do not add up.
const CORRUPT: CmdError = CmdError::fixed("INVALIDOBJ Corrupted HLL object detected");

/// `hll-sparse-max-bytes`.
fn sparse_max(ctx: &Ctx<'_>) -> usize {
    ctx.server
        .hot
        .hll_sparse_max_bytes
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// Checks a value as Redis's `isHLLObjectOrReply`: WRONGTYPE for another
/// type, the HyperLogLog error for a string that is not one (an integer
/// never is).
fn check(value: &Value) -> Result<&[u8], CmdError> {
    match value {
        Value::Str(s) => {
            // An integer is never a HyperLogLog.
            let Some(bytes) = s.stored_bytes() else {
                return Err(NOT_HLL);
            };
            if hll::is_valid(bytes) {
                Ok(bytes)
            } else {
                Err(NOT_HLL)
            }
        }
        _ => Err(WRONGTYPE),
    }
}

/// The bytes of the (checked) HyperLogLog at `key`, made raw for
/// in-place change, as Redis unshares the value before writing it.
fn writable<'v>(db: &'v mut DbView<'_>, key: &[u8]) -> Result<&'v mut Vec<u8>, CmdError> {
    Ok(db.get_str_mut(key)?.ok_or(WRONGTYPE)?.make_growable())
}

/// PFADD key [element ...]
fn pfadd(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[1];
    let max = sparse_max(ctx);
    let mut updated = false;
    match db.get_mut(key) {
        None => {
            db.set(key, Value::Str(StrValue::growable(hll::new_sparse())));
            updated = true;
        }
        Some(v) => {
            check(v)?;
        }
    }
    let s = writable(db, key)?;
    for element in &ctx.args[2..] {
        // A corrupt value is reported; what was changed before stays, as
        // in Redis, and is neither counted nor logged.
        updated |= hll::add(s, element, max).map_err(|_| CORRUPT)?;
    }
    if updated {
        hll::invalidate(s);
        db.modified(key, KeyEvent::PFADD);
    }
    ctx.out.int(updated as i64);
    Ok(())
}

/// PFCOUNT key [key ...]: one key answers from (and refreshes) its cached
/// cardinality; several answer for their union and change nothing.
fn pfcount(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    if ctx.args.len() > 2 {
        let mut union = Union::default();
        for key in &ctx.args[1..] {
            let Some(v) = db.get_counted(key) else {
                continue;
            };
            union.merge(check(v)?).map_err(|_| CORRUPT)?;
        }
        ctx.out.int(union.count() as i64);
        return Ok(());
    }
    let key = &ctx.args[1];
    let Some(v) = db.get_counted(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    check(v)?;
    let s = writable(db, key)?;
    if let Some(card) = hll::cached(s) {
        ctx.out.int(card as i64);
        return Ok(());
    }
    let card = hll::count(s).map_err(|_| CORRUPT)?;
    hll::set_cached(s, card);
    // The cache is part of the value: Redis counts the change and
    // propagates the PFCOUNT, though it reports no event.
    db.modified(key, KeyEvent::NONE);
    db.log_effect(aof::command(&[b"PFCOUNT", key]));
    ctx.out.int(card as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]: the destination is one of the
/// sources.
fn pfmerge(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let mut union = Union::default();
    let mut dense = false;
    for key in &ctx.args[1..] {
        let Some(v) = db.get_counted(key) else {
            continue;
        };
        let s = check(v)?;
        dense |= s[4] == hll::DENSE;
        union.merge(s).map_err(|_| CORRUPT)?;
    }
    let key = &ctx.args[1];
    if !db.exists(key) {
        db.set(key, Value::Str(StrValue::growable(hll::new_sparse())));
    }
    let max = sparse_max(ctx);
    let s = writable(db, key)?;
    if dense {
        *s = hll::to_dense(s).map_err(|_| CORRUPT)?;
    }
    for (i, &value) in union.registers().iter().enumerate() {
        if value != 0 {
            // The destination merged cleanly above; Redis ignores
            // failures here too.
            let _ = hll::set_register(s, i, value, max);
        }
    }
    hll::invalidate(s);
    db.modified(key, KeyEvent::PFADD);
    ctx.out.ok();
    Ok(())
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
fn pfdebug(ctx: &mut Ctx<'_>, db: &mut DbView<'_>) -> CmdResult {
    let key = &ctx.args[2];
    let Some(v) = db.get_mut(key) else {
        return Err(CmdError::fixed("ERR The specified key does not exist"));
    };
    check(v)?;
    let s = writable(db, key)?;
    let sub = &ctx.args[1];
    let name = sub
        .iter()
        .position(|&b| b == 0)
        .map_or(&sub[..], |end| &sub[..end]);
    let is = |word: &str| super::args::is(name, word);
    if is("getreg") || is("todense") {
        let converted = s[4] == hll::SPARSE;
        if converted {
            *s = hll::to_dense(s).map_err(|_| CORRUPT)?;
        }
        if is("getreg") {
            ctx.out.array(hll::REGISTERS);
            for r in hll::dense_registers(s) {
                ctx.out.int(i64::from(r));
            }
        } else {
            ctx.out.int(converted as i64);
        }
        if converted {
            // The encoding changed: counted so the command is logged.
            db.modified(key, KeyEvent::NONE);
        }
    } else if is("decode") {
        if s[4] != hll::SPARSE {
            return Err(CmdError::fixed("ERR HLL encoding is not sparse"));
        }
        ctx.out.bulk(hll::decode(s).as_bytes());
    } else if is("encoding") {
        ctx.out.simple(if s[4] == hll::DENSE {
            "dense"
        } else {
            "sparse"
        });
    } else {
        return Err(CmdError::new(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(name)
        )));
    }
    Ok(())
}

/// PFSELFTEST
fn pfselftest(ctx: &mut Ctx<'_>, _db: &mut DbView<'_>) -> CmdResult {
    hll::self_test(sparse_max(ctx), crate::util::rand_u64)
        .map_err(|failure| CmdError::new(format!("ERR {failure}")))?;
    ctx.out.ok();
    Ok(())
}
