//! RDB snapshots: saving the keyspace to `dbfilename` and loading it back at
//! start-up.
//!
//! A save writes a temporary file in `dir`, fsyncs it, renames it over the
//! dump and fsyncs the directory, so a crash at any moment leaves either the
//! previous dump or the new one, never a damaged file.

use crate::db::DbView;
use crate::rdb::decode::{self, Limits};
use crate::rdb::encode::Encoder;
use crate::rdb::{crc64, opcodes};
use crate::server::Shared;
use parking_lot::Mutex;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

/// Encoded bytes are written to the file in pieces of about this size.
const WRITE_CHUNK: usize = 1 << 20;

/// Persistence state shared by the commands, INFO and the periodic task.
pub struct Persistence {
    /// Unix seconds of the last successful save (or of start-up).
    pub last_save_unix: AtomicI64,
    /// The change counter (`Stats::dirty`) at the start of the last
    /// successful save.
    pub dirty_at_save: AtomicU64,
    /// Successful saves since start-up.
    pub saves: AtomicU64,
    /// Whether the last save succeeded.
    pub last_save_ok: AtomicBool,
    /// Keys loaded, and keys skipped as expired, by the last load.
    pub loaded_keys: AtomicU64,
    /// See `loaded_keys`.
    pub loaded_expired: AtomicU64,
    /// Held for the whole of a save: one at a time.
    saving: Mutex<()>,
}

impl Persistence {
    /// State for a server started at `now_unix`.
    pub fn new(now_unix: i64) -> Persistence {
        Persistence {
            last_save_unix: AtomicI64::new(now_unix),
            dirty_at_save: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            last_save_ok: AtomicBool::new(true),
            loaded_keys: AtomicU64::new(0),
            loaded_expired: AtomicU64::new(0),
            saving: Mutex::new(()),
        }
    }

    /// Changes since the last successful save.
    pub fn changes_since_save(&self, shared: &Shared) -> u64 {
        shared
            .stats
            .dirty
            .get()
            .saturating_sub(self.dirty_at_save.load(Ordering::Relaxed))
    }
}

/// The dump file's path (`dbfilename`, relative to `dir`, which is the
/// process's working directory).
pub fn dump_path(shared: &Shared) -> PathBuf {
    let config = shared.config.read();
    PathBuf::from(config.get("dbfilename").unwrap_or("dump.rdb"))
}

/// The encoding thresholds loaded values are built with.
pub fn limits(shared: &Shared) -> Limits {
    Limits {
        hash: shared.hot.hash_limits(),
        list: shared.hot.list_limits(),
    }
}

/// Saves every database, locking the whole keyspace for the duration (SAVE,
/// SHUTDOWN). Logs and records the outcome.
pub fn save(shared: &Shared) -> std::io::Result<()> {
    let mut view = shared.keyspace.lock_all(0, crate::util::now_ms());
    save_locked(shared, &mut view)
}

/// [`save`] with the keyspace already locked by `view`.
pub fn save_locked(shared: &Shared, view: &mut DbView<'_>) -> std::io::Result<()> {
    let _one_at_a_time = shared.persistence.saving.lock();
    let started = Instant::now();
    let dirty_before = shared.stats.dirty.get();
    let path = dump_path(shared);
    let result = write_dump(shared, view, &path);
    let p = &shared.persistence;
    match &result {
        Ok(()) => {
            p.dirty_at_save.store(dirty_before, Ordering::Relaxed);
            p.last_save_unix
                .store(crate::util::now_ms() / 1000, Ordering::Relaxed);
            p.saves.fetch_add(1, Ordering::Relaxed);
            p.last_save_ok.store(true, Ordering::Relaxed);
            crate::notice!("DB saved on disk");
            crate::verbose!("Save took {:.3} seconds", started.elapsed().as_secs_f64());
        }
        Err(e) => {
            p.last_save_ok.store(false, Ordering::Relaxed);
            crate::warning!("Failed saving the DB: {e}");
        }
    }
    result
}

fn write_dump(shared: &Shared, view: &mut DbView<'_>, path: &Path) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let written = File::create(&tmp).and_then(|file| write_rdb(shared, view, file));
    let result = written
        .and_then(|()| std::fs::rename(&tmp, path))
        .and_then(|()| std::fs::File::open(dir)?.sync_all());
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

use std::fs::File;

/// Writes the whole RDB stream to `file` and fsyncs it.
fn write_rdb(shared: &Shared, view: &mut DbView<'_>, mut file: File) -> std::io::Result<()> {
    let (compress, checksum) = {
        let config = shared.config.read();
        (config.flag("rdbcompression"), config.flag("rdbchecksum"))
    };
    let mut enc = Encoder::new(compress);
    let version = if view.has_field_ttls() {
        crate::rdb::VERSION_FIELD_TTLS
    } else {
        crate::rdb::VERSION
    };
    enc.header(version);
    enc.aux(
        "redis-ver",
        crate::cmd::connection::REDIS_COMPAT_VERSION.as_bytes(),
    );
    enc.aux("redis-bits", b"64");
    let mut text = Vec::new();
    crate::reply::push_i64(&mut text, crate::util::now_ms() / 1000);
    enc.aux("ctime", &text);
    text.clear();
    let used = crate::cmd::server::memory_figures().allocated;
    crate::reply::push_i64(&mut text, used as i64);
    enc.aux("used-mem", &text);
    enc.aux("aof-base", b"0");
    let mut crc = 0u64;
    let mut failure: Option<std::io::Error> = None;
    let mut drain = |enc: &mut Encoder, crc: &mut u64, failure: &mut Option<std::io::Error>| {
        if failure.is_none() {
            *crc = crc64::crc64(*crc, &enc.buf);
            if let Err(e) = file.write_all(&enc.buf) {
                *failure = Some(e);
            }
        }
        enc.buf.clear();
    };
    for db in 0..shared.keyspace.num_dbs() {
        let keys = view.db_size(db);
        if keys == 0 {
            continue;
        }
        let expires = view.db_expires(db);
        enc.select_db(db, keys, expires);
        view.for_each_entry(db, |key, value, expire| {
            enc.key_value(key, value, expire);
            if enc.buf.len() >= WRITE_CHUNK {
                drain(&mut enc, &mut crc, &mut failure);
            }
        });
    }
    enc.buf.push(opcodes::EOF);
    drain(&mut enc, &mut crc, &mut failure);
    if let Some(e) = failure {
        return Err(e);
    }
    let stored = if checksum { crc } else { 0 };
    file.write_all(&stored.to_le_bytes())?;
    file.sync_all()
}

/// Loads the dump file, if there is one, into the (empty) keyspace. An
/// unreadable or corrupt file is an error: the server must not start with
/// part of its data.
pub fn load_at_startup(shared: &Shared) -> Result<(), String> {
    let path = dump_path(shared);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(format!(
                "Fatal error loading the DB, check server logs. Exiting. ({e})"
            ))
        }
    };
    let started = Instant::now();
    let size = file
        .metadata()
        .map_err(|e| format!("Can't stat the RDB file {}: {e}", path.display()))?
        .len();
    let now = crate::util::now_ms();
    let limits = limits(shared);
    let mut view = shared.keyspace.lock_all(0, now);
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let loaded = decode::load_file(reader, size, shared.keyspace.num_dbs(), limits, now, |k| {
        view.db = k.db;
        if view.exists(&k.key) {
            return Err(crate::rdb::RdbError(format!(
                "RDB has duplicated key '{}' in DB {}",
                String::from_utf8_lossy(&k.key),
                k.db
            )));
        }
        let field_ttls = matches!(&k.value, crate::types::Value::Hash(h) if h.has_field_ttls());
        view.set(&k.key, k.value);
        if let Some(when) = k.expire_ms {
            view.set_expire(&k.key, when);
        }
        if field_ttls {
            view.track_hash_field_ttls(&k.key);
        }
        Ok(())
    });
    drop(view);
    let info = loaded.map_err(|e| {
        format!(
            "Fatal error loading the DB ({}): {e}. Exiting.",
            path.display()
        )
    })?;
    if let Some((_, ver)) = info.aux.iter().find(|(name, _)| name == b"redis-ver") {
        crate::notice!(
            "Loading RDB produced by version {}",
            String::from_utf8_lossy(ver)
        );
    }
    crate::notice!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        info.loaded,
        info.expired_skipped
    );
    crate::notice!(
        "DB loaded from disk: {:.3} seconds",
        started.elapsed().as_secs_f64()
    );
    let p = &shared.persistence;
    p.loaded_keys.store(info.loaded, Ordering::Relaxed);
    p.loaded_expired
        .store(info.expired_skipped, Ordering::Relaxed);
    Ok(())
}
