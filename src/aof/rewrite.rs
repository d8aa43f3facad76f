//! BGREWRITEAOF: replacing the log by a compact base without stopping
//! clients, and turning the AOF on and off at run time.
//!
//! 1. A new incremental file is created and added to the manifest (so a
//!    crash from here on still loads everything: old base, old
//!    incremental files, new one).
//! 2. Under every shard lock, for one instant: the keyspace snapshot starts
//!    (the same copy-on-write walk BGSAVE uses, see `db::DbSnapshot`) and
//!    the log switches to the new incremental file. Everything logged
//!    before the instant is in the snapshot; everything after, in the new
//!    file.
//! 3. A thread writes the snapshot as the new base (RDB, or commands with
//!    `aof-use-rdb-preamble no`), fsyncs and renames it, then persists the
//!    manifest that lists the new base and the new incremental file, and
//!    deletes the files it replaced.

use super::manifest::{sync_dir, AofDir, FileEntry, Manifest};
use super::{encode_command, AofState};
use crate::db::SHARD_COUNT;
use crate::state::Shared;
use crate::types::Value;
use crate::util::io_error;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// What BGREWRITEAOF did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewriteStart {
    /// The rewrite runs.
    Started,
    /// It starts once the running background save ends (or after EXEC).
    Scheduled,
    /// One runs already.
    InProgress,
    /// It could not start (see the log).
    Failed,
}

/// BGREWRITEAOF: starts a rewrite now, or schedules one.
pub fn request(shared: &Arc<Shared>, in_exec: bool) -> RewriteStart {
    let aof = &shared.aof;
    if aof.rewrite_in_progress.load(Ordering::SeqCst) {
        return RewriteStart::InProgress;
    }
    if in_exec || shared.persistence.bgsave_in_progress.load(Ordering::SeqCst) {
        aof.rewrite_scheduled.store(true, Ordering::Relaxed);
        aof.rewrite_failures.store(0, Ordering::Relaxed);
        return RewriteStart::Scheduled;
    }
    match start(shared) {
        Ok(true) => RewriteStart::Started,
        Ok(false) => {
            aof.rewrite_scheduled.store(true, Ordering::Relaxed);
            RewriteStart::Scheduled
        }
        Err(e) => {
            crate::warning!("Can't rewrite append only file in background: {e}");
            RewriteStart::Failed
        }
    }
}

/// Applies `appendonly` and `appendfsync` after CONFIG SET; an error if the
/// AOF could not be turned on (the caller turns the setting back off).
pub fn config_changed(shared: &Arc<Shared>, in_exec: bool) -> Result<(), &'static str> {
    let (wanted, policy) = {
        let config = shared.config.read();
        (
            config.flag("appendonly"),
            super::FsyncPolicy::parse(config.get("appendfsync").unwrap_or("everysec")),
        )
    };
    let aof = &shared.aof;
    aof.set_policy(policy);
    match (wanted, aof.state()) {
        (true, AofState::Off) => {
            if aof.rewrite_in_progress.load(Ordering::SeqCst) {
                // A rewrite started while the AOF was off writes no log:
                // the one that turns it on follows it.
                aof.rewrite_scheduled.store(true, Ordering::Relaxed);
            } else if in_exec || shared.persistence.bgsave_in_progress.load(Ordering::SeqCst) {
                crate::warning!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
                aof.rewrite_scheduled.store(true, Ordering::Relaxed);
            } else if request(shared, false) == RewriteStart::Failed {
                crate::warning!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
                return Err("Unable to turn on AOF. Check server logs.");
            }
        }
        (false, AofState::On | AofState::WaitRewrite) => {
            aof.stop();
            crate::notice!("Background append only file rewriting stopped");
        }
        _ => {}
    }
    Ok(())
}

/// The periodic task's part: a scheduled rewrite, or one that
/// `auto-aof-rewrite-percentage` calls for.
pub fn cron(shared: &Arc<Shared>) {
    let aof = &shared.aof;
    if aof.rewrite_in_progress.load(Ordering::Relaxed)
        || shared
            .persistence
            .bgsave_in_progress
            .load(Ordering::Relaxed)
    {
        return;
    }
    let failures = aof.rewrite_failures.load(Ordering::Relaxed);
    let since_last_ms = crate::util::now_ms() - aof.rewrite_failed_ms.load(Ordering::Relaxed);
    // After failures, retry at most every few seconds.
    if failures > 0 && since_last_ms < 5_000 {
        return;
    }
    let due = if aof.rewrite_scheduled.load(Ordering::Relaxed) {
        true
    } else if aof.state() == AofState::On {
        let (percentage, min_size) = {
            let config = shared.config.read();
            (
                config.int("auto-aof-rewrite-percentage"),
                config.int("auto-aof-rewrite-min-size").max(0) as u64,
            )
        };
        let current = aof.current_size.load(Ordering::Relaxed);
        let base = aof.base_size.load(Ordering::Relaxed).max(1);
        let growth = (current * 100 / base) as i64 - 100;
        if percentage > 0 && current > min_size && growth >= percentage {
            crate::notice!("Starting automatic rewriting of AOF on {growth}% growth");
            true
        } else {
            false
        }
    } else {
        false
    };
    if due {
        if let Err(e) = start(shared) {
            crate::warning!("Can't rewrite append only file in background: {e}");
        }
    }
}

/// The directory as configured, with its manifest as last persisted.
fn current_dir(shared: &Shared) -> Result<AofDir, String> {
    if let Some(dir) = shared.aof.files.lock().clone() {
        return Ok(dir);
    }
    AofDir::from_config(&shared.config.read())
}

/// Where the log goes after the rewrite's instant.
enum NewLog {
    /// The AOF is on: a new incremental file, already in the manifest.
    Incr(FileEntry),
    /// The AOF is being turned on: a temporary incremental file, renamed
    /// into the manifest when the base is done.
    Temp,
    /// The AOF is off: a base alone.
    None,
}

/// Starts a rewrite. `Ok(false)`: a background save runs (try later).
fn start(shared: &Arc<Shared>) -> Result<bool, String> {
    let aof = &shared.aof;
    if aof.rewrite_in_progress.swap(true, Ordering::SeqCst) {
        return Ok(true);
    }
    let started = start_locked(shared);
    if !matches!(started, Ok(true)) {
        aof.rewrite_in_progress.store(false, Ordering::SeqCst);
    }
    if started.is_err() {
        aof.rewrite_failed();
    }
    started
}

fn start_locked(shared: &Arc<Shared>) -> Result<bool, String> {
    let aof = &shared.aof;
    let mut dir = current_dir(shared)?;
    dir.create().map_err(|e| {
        io_error(
            &format!("Can't open or create append-only dir {}", dir.dir.display()),
            &e,
        )
    })?;
    let turning_on = aof.state() == AofState::Off && shared.config.read().flag("appendonly");
    let (new_log, file) = match aof.state() {
        AofState::On => {
            let entry = dir.new_incr();
            let file = create_truncated(&dir, &entry.name)?;
            let mut manifest = dir.manifest.clone();
            manifest.incrs.push(entry.clone());
            dir.persist(manifest)
                .map_err(|e| io_error("Can't persist the AOF manifest", &e))?;
            *aof.files.lock() = Some(dir.clone());
            crate::notice!(
                "Creating AOF incr file {} on background rewrite",
                entry.name
            );
            (NewLog::Incr(entry), Some(file))
        }
        _ if turning_on => {
            let file = create_truncated(&dir, &dir.temp_incr_name())?;
            (NewLog::Temp, Some(file))
        }
        _ => (NewLog::None, None),
    };
    let preamble = shared.config.read().flag("aof-use-rdb-preamble");
    let options = crate::snapshot::save_options(shared);
    let (version, sizes);
    {
        // The instant: snapshot and log switch under every shard lock.
        let mut view = shared.keyspace.lock_all(0, crate::util::now_ms());
        if shared.persistence.bgsave_in_progress.load(Ordering::SeqCst) {
            return Ok(false);
        }
        version = crate::snapshot::rdb_version(&mut view);
        sizes = crate::snapshot::db_sizes(shared, &mut view);
        view.begin_snapshot(options.0);
        match (&new_log, file) {
            (NewLog::Incr(_), Some(file)) => aof.rotate(file),
            (NewLog::Temp, Some(file)) => aof
                .start(shared.clone(), |s| &s.aof, AofState::WaitRewrite, file, 0)
                .map_err(|e| {
                    view.end_snapshot();
                    io_error("Can't start the AOF writer", &e)
                })?,
            _ => {}
        }
    }
    aof.rewrite_scheduled.store(false, Ordering::Relaxed);
    aof.rewrite_started_ms
        .store(crate::util::now_ms(), Ordering::Relaxed);
    crate::notice!("Background append only file rewriting started");
    let worker = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("ferrodis-aofrw".into())
        .spawn(move || {
            let started = Instant::now();
            let result = finish(
                &worker,
                &new_log,
                |file| {
                    if preamble {
                        crate::snapshot::write_background(
                            &worker, file, version, options, &sizes, true,
                        )
                    } else {
                        write_commands_background(&worker, file)
                    }
                },
                preamble,
            );
            let aof = &worker.aof;
            aof.last_rewrite_secs
                .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
            match result {
                Ok(()) => {
                    aof.rewrites.fetch_add(1, Ordering::Relaxed);
                    aof.rewrite_failures.store(0, Ordering::Relaxed);
                    aof.last_rewrite_ok.store(true, Ordering::Relaxed);
                    crate::notice!("Background AOF rewrite terminated with success");
                    crate::notice!("Background AOF rewrite finished successfully");
                }
                Err(e) => {
                    worker.keyspace.abort_snapshot();
                    aof.rewrite_failed();
                    crate::warning!("Background AOF rewrite failed: {e}");
                    if matches!(new_log, NewLog::Temp) && aof.state() == AofState::WaitRewrite {
                        // Turning the AOF on failed: off again, retried by
                        // the periodic task.
                        aof.stop();
                        aof.rewrite_scheduled.store(true, Ordering::Relaxed);
                        if let Ok(dir) = current_dir(&worker) {
                            let _ = std::fs::remove_file(dir.path(&dir.temp_incr_name()));
                        }
                    }
                }
            }
            aof.rewrite_started_ms.store(0, Ordering::Relaxed);
            aof.rewrite_in_progress.store(false, Ordering::SeqCst);
        });
    if spawned.is_err() {
        shared.keyspace.abort_snapshot();
        return Err("no thread for the rewrite".into());
    }
    Ok(true)
}

fn create_truncated(dir: &AofDir, name: &str) -> Result<File, String> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.path(name))
        .map_err(|e| io_error(&format!("Can't open the append-only file {name}"), &e))
}

/// Writes the new base through a temporary file, then installs it: rename,
/// manifest, deletion of the replaced files.
fn finish(
    shared: &Shared,
    new_log: &NewLog,
    write: impl FnOnce(File) -> std::io::Result<()>,
    preamble: bool,
) -> Result<(), String> {
    let aof = &shared.aof;
    let mut dir = current_dir(shared)?;
    let base = dir.new_base(preamble);
    let base_path = dir.path(&base.name);
    crate::snapshot::write_atomically(&base_path, "temp-rewriteaof-bg", write, |tmp| {
        // The AOF may have been turned off while the base was written.
        if matches!(new_log, NewLog::Temp) && aof.state() != AofState::WaitRewrite {
            return Err(std::io::Error::other(
                "the AOF was turned off during the rewrite",
            ));
        }
        std::fs::rename(tmp, &base_path)
    })
    .map_err(|e| io_error("Write error writing append only file on disk", &e))?;
    let old = dir.manifest.clone();
    let incrs = match new_log {
        NewLog::Incr(first) => old
            .incrs
            .iter()
            .filter(|e| e.seq >= first.seq)
            .cloned()
            .collect(),
        NewLog::Temp => {
            let entry = dir.new_incr();
            std::fs::rename(dir.path(&dir.temp_incr_name()), dir.path(&entry.name))
                .map_err(|e| io_error("Can't rename the temp incr AOF", &e))?;
            vec![entry]
        }
        NewLog::None => Vec::new(),
    };
    let manifest = Manifest {
        base: Some(base),
        history: Vec::new(),
        incrs,
    };
    dir.persist(manifest.clone())
        .map_err(|e| io_error("Can't persist the AOF manifest", &e))?;
    if matches!(new_log, NewLog::Temp) {
        aof.set_state(AofState::On);
    }
    *aof.files.lock() = Some(dir.clone());
    // The replaced files are no longer listed: delete them.
    for e in old.base.iter().chain(&old.history).chain(&old.incrs) {
        let kept = manifest.load_order().any(|m| m.name == e.name);
        if !kept {
            let _ = std::fs::remove_file(dir.path(&e.name));
        }
    }
    let _ = sync_dir(&dir.dir);
    let size = dir.total_size().unwrap_or(0);
    aof.current_size.store(size, Ordering::Relaxed);
    aof.base_size.store(size, Ordering::Relaxed);
    Ok(())
}

/// Writes a base from the keyspace as it is now (a first start with an
/// empty dataset): RDB, or commands without the preamble.
pub fn write_base_now(shared: &Shared, dir: &AofDir) -> std::io::Result<FileEntry> {
    let preamble = shared.config.read().flag("aof-use-rdb-preamble");
    let base = dir.new_base(preamble);
    let base_path = dir.path(&base.name);
    let mut view = shared.keyspace.lock_all(0, crate::util::now_ms());
    let write = |mut file: File| {
        if preamble {
            crate::snapshot::write_rdb(shared, &mut view, file, true)
        } else {
            let mut out = Vec::new();
            for db in 0..shared.keyspace.num_dbs() {
                if view.db_size(db) == 0 {
                    continue;
                }
                super::encode_select(&mut out, db);
                view.for_each_entry(db, |key, value, expire| {
                    value_commands(&mut out, key, value, expire);
                });
            }
            file.write_all(&out)?;
            file.sync_all()
        }
    };
    crate::snapshot::write_atomically(&base_path, "temp-rewriteaof", write, |tmp| {
        std::fs::rename(tmp, &base_path)
    })?;
    Ok(base)
}

/// Elements or pairs per command when a value is written as commands.
const ITEMS_PER_COMMAND: usize = 64;

/// The commands that rebuild `key` with `value` and its expiry time.
pub fn value_commands(out: &mut Vec<u8>, key: &[u8], value: &Value, expire_ms: Option<i64>) {
    match value {
        Value::Str(s) => encode_command(out, &[b"SET".as_slice(), key, &s.as_bytes()]),
        Value::List(list) => {
            let items: Vec<&[u8]> = list.iter().collect();
            for part in items.chunks(ITEMS_PER_COMMAND) {
                let mut args: Vec<&[u8]> = vec![b"RPUSH", key];
                args.extend_from_slice(part);
                encode_command(out, &args);
            }
        }
        Value::ZSet(z) => {
            let pairs = z.pairs();
            for part in pairs.chunks(ITEMS_PER_COMMAND) {
                let scores: Vec<String> = part
                    .iter()
                    .map(|(_, s)| crate::util::numfmt::format_double(*s))
                    .collect();
                let mut args: Vec<&[u8]> = vec![b"ZADD", key];
                for ((m, _), s) in part.iter().zip(&scores) {
                    args.push(s.as_bytes());
                    args.push(m);
                }
                encode_command(out, &args);
            }
        }
        Value::Set(set) => {
            let members: Vec<Vec<u8>> = set.iter().map(|m| m.to_vec()).collect();
            for part in members.chunks(ITEMS_PER_COMMAND) {
                let mut args: Vec<&[u8]> = vec![b"SADD", key];
                args.extend(part.iter().map(Vec::as_slice));
                encode_command(out, &args);
            }
        }
        Value::Hash(hash) => {
            let pairs: Vec<(&[u8], &[u8])> = hash.iter().collect();
            for part in pairs.chunks(ITEMS_PER_COMMAND) {
                let mut args: Vec<&[u8]> = vec![b"HMSET", key];
                for (f, v) in part {
                    args.push(f);
                    args.push(v);
                }
                encode_command(out, &args);
            }
            for (field, _) in &pairs {
                if let Some(when) = hash.field_expire_time(field) {
                    let when = when.to_string();
                    encode_command(
                        out,
                        &[
                            b"HPEXPIREAT".as_slice(),
                            key,
                            when.as_bytes(),
                            b"FIELDS",
                            b"1",
                            field,
                        ],
                    );
                }
            }
        }
    }
    if let Some(when) = expire_ms {
        let when = when.to_string();
        encode_command(out, &[b"PEXPIREAT".as_slice(), key, when.as_bytes()]);
    }
}

/// The rewrite's saver without the RDB preamble: the snapshot's RDB
/// records, re-read and written as commands.
fn write_commands_background(shared: &Shared, file: File) -> std::io::Result<()> {
    use crate::rdb::decode::Decoder;
    let limits = crate::snapshot::limits(shared);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut commands = Vec::new();
    let mut current_db = None;
    for shard in 0..SHARD_COUNT {
        while let Some(chunk) = shared.keyspace.snapshot_step(shard, 256) {
            if chunk.bytes.is_empty() {
                continue;
            }
            if current_db != Some(chunk.db) {
                super::encode_select(&mut commands, chunk.db);
                current_db = Some(chunk.db);
            }
            let mut d = Decoder::new(&chunk.bytes[..], chunk.bytes.len() as u64);
            let bad = |e: crate::rdb::RdbError| std::io::Error::other(e.0);
            while d.remaining() > 0 {
                let mut t = d.byte().map_err(bad)?;
                let mut expire = None;
                if t == crate::rdb::opcodes::EXPIRETIME_MS {
                    expire = Some(d.ms_time().map_err(bad)?);
                    t = d.byte().map_err(bad)?;
                }
                let key = d.string().map_err(bad)?;
                if let Some(value) = d.value(t, limits, i64::MIN).map_err(bad)? {
                    value_commands(&mut commands, &key, &value, expire);
                }
            }
            out.write_all(&commands)?;
            commands.clear();
        }
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}
