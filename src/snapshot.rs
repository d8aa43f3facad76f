//! RDB snapshots: saving the keyspace to `dbfilename` and loading it back at
//! start-up.
//!
//! A save writes a temporary file in `dir`, fsyncs it, renames it over the
//! dump and fsyncs the directory, so a crash at any moment leaves either the
//! previous dump or the new one, never a damaged file.

use crate::db::DbView;
use crate::rdb::decode::{self, Limits, LoadEvent};
use crate::rdb::encode::Encoder;
use crate::rdb::{crc64, opcodes};
use crate::state::Shared;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Keys decoded at start-up are handed to the inserting thread in batches
/// of this many (measured: 1024 loaded 2M keys in 0.79-0.83 s, 4096 in
/// 0.72-0.77 s, 8192 in 0.71-0.75 s, 16384 in 0.80-0.86 s).
const LOAD_BATCH: usize = 8192;

/// Encoded bytes are written to the file in pieces of about this size.
const WRITE_CHUNK: usize = 1 << 20;

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
        zset: shared.hot.zset_limits(),
        set: shared.hot.set_limits(),
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
    // A background save still running holds an older snapshot: it must not
    // be renamed over this one (SHUTDOWN saves even while one runs).
    if shared.persistence.bgsave_in_progress.load(Ordering::SeqCst) {
        shared
            .persistence
            .bgsave_cancelled
            .store(true, Ordering::SeqCst);
    }
    let started = Instant::now();
    let dirty_before = shared.stats.dirty.get();
    let path = dump_path(shared);
    let result = write_dump(shared, view, &path);
    record_outcome(shared, &result, dirty_before);
    crate::verbose!("Save took {:.3} seconds", started.elapsed().as_secs_f64());
    result
}

/// Records a finished save in the persistence state and the log.
fn record_outcome(shared: &Shared, result: &std::io::Result<()>, dirty_before: u64) {
    let p = &shared.persistence;
    p.last_attempt_ms
        .store(crate::util::now_ms(), Ordering::Relaxed);
    match result {
        Ok(()) => {
            p.dirty_at_save.store(dirty_before, Ordering::Relaxed);
            p.last_save_unix
                .store(crate::util::now_ms() / 1000, Ordering::Relaxed);
            p.saves.fetch_add(1, Ordering::Relaxed);
            p.last_save_ok.store(true, Ordering::Relaxed);
            crate::notice!("DB saved on disk");
        }
        Err(e) => {
            p.last_save_ok.store(false, Ordering::Relaxed);
            crate::warning!("Failed saving the DB: {e}");
        }
    }
    p.refresh_write_refusal(shared);
}

fn write_dump(shared: &Shared, view: &mut DbView<'_>, path: &Path) -> std::io::Result<()> {
    write_atomically(
        path,
        "temp",
        |file| write_rdb(shared, view, file, false),
        |tmp| std::fs::rename(tmp, path),
    )
}

/// Writes a new version of `path` through a temporary file in the same
/// directory, fsynced and renamed over it by `rename`, then fsyncs the
/// directory.
pub(crate) fn write_atomically(
    path: &Path,
    tag: &str,
    write: impl FnOnce(File) -> std::io::Result<()>,
    rename: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!("{tag}-{}.rdb", std::process::id()));
    let result = File::create(&tmp)
        .and_then(write)
        .and_then(|()| rename(&tmp))
        .and_then(|()| File::open(dir)?.sync_all());
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The file header, auxiliary fields and function libraries.
pub(crate) fn write_preamble(shared: &Shared, enc: &mut Encoder, version: u16, aof_base: bool) {
    enc.header(version);
    enc.aux("redis-ver", crate::util::REDIS_COMPAT_VERSION.as_bytes());
    enc.aux("redis-bits", b"64");
    let mut text = Vec::new();
    crate::reply::push_i64(&mut text, crate::util::now_ms() / 1000);
    enc.aux("ctime", &text);
    text.clear();
    let used = crate::util::memory::memory_figures().allocated;
    crate::reply::push_i64(&mut text, used as i64);
    enc.aux("used-mem", &text);
    enc.aux("aof-base", if aof_base { b"1" } else { b"0" });
    // After the auxiliary fields, before the keys, as Redis writes them.
    for library in shared.scripts.functions.lock().libraries.values() {
        enc.function_library(&library.code);
    }
}

use std::fs::File;

/// `rdbcompression` and `rdbchecksum`.
pub(crate) fn save_options(shared: &Shared) -> (bool, bool) {
    let config = shared.config.read();
    (config.flag("rdbcompression"), config.flag("rdbchecksum"))
}

/// The RDB version a save of what `view` holds must say.
pub(crate) fn rdb_version(view: &mut DbView<'_>) -> u16 {
    if view.has_field_ttls() {
        crate::rdb::VERSION_FIELD_TTLS
    } else {
        crate::rdb::VERSION
    }
}

/// A file being written in RDB format, keeping the running CRC-64 of the
/// bytes written so far.
struct RdbFile {
    out: std::io::BufWriter<File>,
    crc: u64,
}

impl RdbFile {
    fn new(file: File) -> RdbFile {
        RdbFile {
            out: std::io::BufWriter::with_capacity(WRITE_CHUNK, file),
            crc: 0,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.crc = crc64::crc64(self.crc, bytes);
        self.out.write_all(bytes)
    }

    /// Writes the end marker and the checksum (0 when `checksum` is off)
    /// and fsyncs the file.
    fn finish(mut self, checksum: bool) -> std::io::Result<()> {
        self.write(&[opcodes::EOF])?;
        let stored = if checksum { self.crc } else { 0 };
        self.out.write_all(&stored.to_le_bytes())?;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }
}

/// Writes the whole RDB stream of the locked keyspace to `file` and fsyncs
/// it (`aof_base`: as the base of the append-only file).
pub(crate) fn write_rdb(
    shared: &Shared,
    view: &mut DbView<'_>,
    file: File,
    aof_base: bool,
) -> std::io::Result<()> {
    let (compress, checksum) = save_options(shared);
    let mut enc = Encoder::new(compress);
    write_preamble(shared, &mut enc, rdb_version(view), aof_base);
    let mut rdb = RdbFile::new(file);
    // The walk's callback cannot return an error: keep the first one.
    let mut failure: Option<std::io::Error> = None;
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
                if failure.is_none() {
                    failure = rdb.write(&enc.buf).err();
                }
                enc.buf.clear();
            }
        });
    }
    if let Some(e) = failure {
        return Err(e);
    }
    rdb.write(&enc.buf)?;
    rdb.finish(checksum)
}

/// Buckets a background save serialises per shard lock it takes: short
/// enough that a command waiting for the shard barely notices.
const STEP_BUCKETS: usize = 256;

/// Why BGSAVE could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BgsaveRefused {
    /// A background save is running already.
    InProgress,
    /// An AOF rewrite is using the snapshot machinery.
    RewriteRunning,
}

/// Starts a background save (BGSAVE) of the keyspace as it is now; `view`
/// must hold every shard. The instant is taken here: from this point writes
/// preserve what the saver has not written yet (see
/// [`DbView::begin_snapshot`]), and a thread writes the file while clients
/// go on.
pub fn bgsave_locked(shared: &Arc<Shared>, view: &mut DbView<'_>) -> Result<(), BgsaveRefused> {
    let p = &shared.persistence;
    if shared.aof.rewrite_in_progress.load(Ordering::SeqCst) {
        return Err(BgsaveRefused::RewriteRunning);
    }
    if p.bgsave_in_progress.swap(true, Ordering::SeqCst) {
        return Err(BgsaveRefused::InProgress);
    }
    p.bgsave_scheduled.store(false, Ordering::Relaxed);
    p.bgsave_cancelled.store(false, Ordering::SeqCst);
    let (compress, checksum) = save_options(shared);
    let version = rdb_version(view);
    let sizes = db_sizes(shared, view);
    let dirty_before = shared.stats.dirty.get();
    view.begin_snapshot(compress);
    p.bgsave_started_ms
        .store(crate::util::now_ms(), Ordering::Relaxed);
    crate::notice!("Background saving started");
    let worker = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("ferrodis-bgsave".into())
        .spawn(move || {
            let started = Instant::now();
            let path = dump_path(&worker);
            let p = &worker.persistence;
            let result = write_atomically(
                &path,
                "temp-bgsave",
                |file| {
                    write_background(&worker, file, version, (compress, checksum), &sizes, false)
                },
                |tmp| {
                    let _no_foreground_save = p.saving.lock();
                    if p.bgsave_cancelled.load(Ordering::SeqCst) {
                        return Err(std::io::Error::other("superseded by a foreground save"));
                    }
                    std::fs::rename(tmp, &path)
                },
            );
            if result.is_err() {
                worker.keyspace.abort_snapshot();
            }
            if !p.bgsave_cancelled.swap(false, Ordering::SeqCst) {
                record_outcome(&worker, &result, dirty_before);
            }
            p.last_bgsave_secs
                .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
            p.bgsave_started_ms.store(0, Ordering::Relaxed);
            p.bgsave_in_progress.store(false, Ordering::SeqCst);
            match result {
                Ok(()) => crate::notice!("Background saving terminated with success"),
                Err(_) => crate::warning!("Background saving error"),
            }
        });
    if spawned.is_err() {
        // The save states were installed under the locks `view` still holds.
        view.end_snapshot();
        p.bgsave_in_progress.store(false, Ordering::SeqCst);
        crate::warning!("Can't save in background: no thread");
    }
    Ok(())
}

/// The saver thread: the preamble, then every shard's databases as the
/// walk hands them over, then the end marker and checksum.
/// Keys and keys with a TTL of each database, for the RESIZEDB hints a
/// background save writes (so that loading its file sizes the tables up
/// front, as for SAVE's).
pub(crate) fn db_sizes(shared: &Shared, view: &mut DbView<'_>) -> Vec<(usize, usize)> {
    (0..shared.keyspace.num_dbs())
        .map(|db| (view.db_size(db), view.db_expires(db)))
        .collect()
}

pub(crate) fn write_background(
    shared: &Shared,
    file: File,
    version: u16,
    (compress, checksum): (bool, bool),
    sizes: &[(usize, usize)],
    aof_base: bool,
) -> std::io::Result<()> {
    let mut head = Encoder::new(compress);
    write_preamble(shared, &mut head, version, aof_base);
    let mut rdb = RdbFile::new(file);
    rdb.write(&head.buf)?;
    let mut current_db = None;
    let mut announced = vec![false; sizes.len()];
    for shard in 0..crate::db::SHARD_COUNT {
        while let Some(chunk) = shared.keyspace.snapshot_step(shard, STEP_BUCKETS) {
            if chunk.bytes.is_empty() {
                continue;
            }
            if current_db != Some(chunk.db) {
                head.buf.clear();
                match announced.get_mut(chunk.db) {
                    // The first time a database appears: its sizes too.
                    Some(seen @ false) => {
                        *seen = true;
                        let (keys, expires) = sizes[chunk.db];
                        head.select_db(chunk.db, keys, expires);
                    }
                    _ => head.select(chunk.db),
                }
                rdb.write(&head.buf)?;
                current_db = Some(chunk.db);
            }
            rdb.write(&chunk.bytes)?;
        }
    }
    rdb.finish(checksum)
}

/// The periodic task's part: starts a scheduled BGSAVE, or one that a
/// `save` rule calls for (after a failed save, only once 5 s have passed).
pub fn cron(shared: &Arc<Shared>) {
    let p = &shared.persistence;
    p.refresh_write_refusal(shared);
    if p.bgsave_in_progress.load(Ordering::Relaxed)
        || shared.aof.rewrite_in_progress.load(Ordering::Relaxed)
    {
        return;
    }
    let now_ms = crate::util::now_ms();
    let due = if p.bgsave_scheduled.load(Ordering::Relaxed) {
        true
    } else {
        let changes = p.changes_since_save(shared);
        let since = now_ms / 1000 - p.last_save_unix.load(Ordering::Relaxed);
        let retry_ok = p.last_save_ok.load(Ordering::Relaxed)
            || now_ms - p.last_attempt_ms.load(Ordering::Relaxed) >= 5_000;
        let rules = shared.config.read().save_rules();
        match rules
            .iter()
            .find(|&&(secs, min_changes)| changes >= min_changes && since >= secs as i64)
        {
            Some(&(secs, _)) if retry_ok && changes > 0 => {
                crate::notice!("{changes} changes in {secs} seconds. Saving...");
                true
            }
            _ => false,
        }
    };
    if due {
        let mut view = shared.keyspace.lock_all(0, now_ms);
        let _ = bgsave_locked(shared, &mut view);
    }
}

/// A dump file opened at start-up, to be loaded by [`DumpFile::load`].
pub struct DumpFile {
    file: File,
    path: PathBuf,
    size: u64,
}

/// Opens the dump file, if there is one, and marks the server as loading
/// (so that clients accepted from now on get LOADING until it is loaded).
pub fn open_dump(shared: &Shared) -> Result<Option<DumpFile>, String> {
    let path = dump_path(shared);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "Fatal error loading the DB ({}): {e}. Exiting.",
                path.display()
            ))
        }
    };
    let size = file
        .metadata()
        .map_err(|e| format!("Can't stat the RDB file {}: {e}", path.display()))?
        .len();
    shared.persistence.begin_loading(size);
    Ok(Some(DumpFile { file, path, size }))
}

impl DumpFile {
    /// Loads the file into the (empty) keyspace and ends the loading state.
    /// An unreadable or corrupt file is an error: the server must not
    /// start with part of its data.
    pub fn load(self, shared: &Shared) -> Result<(), String> {
        let DumpFile { file, path, size } = self;
        let result = load_rdb(shared, file, &path, size, false).map(|consumed| {
            // Redis ignores what follows the end marker too; say so.
            if consumed < size {
                crate::warning!(
                    "{} bytes after the end of the RDB data in {} were ignored",
                    size - consumed,
                    path.display()
                );
            }
        });
        shared.persistence.loading.store(false, Ordering::SeqCst);
        result
    }
}

/// Loads an RDB stream of `size` bytes from `file` into the keyspace;
/// returns how many bytes the stream took (an old-style AOF has commands
/// after it). `aof_base`: the file is the base of the append-only file,
/// whose keys are all kept, expired or not (the log that follows may still
/// touch them; they expire once the load is over).
pub(crate) fn load_rdb(
    shared: &Shared,
    file: File,
    path: &Path,
    size: u64,
    aof_base: bool,
) -> Result<u64, String> {
    let started = Instant::now();
    let now = crate::util::now_ms();
    let expired_before = if aof_base { i64::MIN } else { now };
    let limits = limits(shared);
    let num_dbs = shared.keyspace.num_dbs();
    let p = &shared.persistence;
    let delay_us = shared.config.read().int("key-load-delay").max(0) as u64;
    // Two stages on two cores: this thread decodes the file, another
    // inserts what it decoded, in batches, locking the keyspace per batch
    // (so INFO and the like answer meanwhile; other commands get LOADING).
    let (batches, inserter_input) = std::sync::mpsc::sync_channel::<Vec<LoadEvent>>(8);
    // Batches sent and not yet taken by the inserter: while it has little
    // queued, the decoder leaves hashes for it to build (balancing the two).
    let queued = std::sync::atomic::AtomicUsize::new(0);
    let queued = &queued;
    let loaded = std::thread::scope(|scope| {
        let inserter = scope.spawn(move || -> Result<(), String> {
            for batch in inserter_input {
                queued.fetch_sub(1, Ordering::Relaxed);
                let mut view = shared.keyspace.lock_all(0, now);
                // Inserting is bound by cache misses in the tables: fetch
                // the whole batch's buckets, then the nodes they start with
                // (which hold the keys), in two sweeps.
                for depth in 0..2 {
                    for event in &batch {
                        if let LoadEvent::Key(k) = event {
                            view.prefetch_for_load(k.db, k.hash, depth);
                        }
                    }
                }
                for event in batch {
                    match event {
                        LoadEvent::Resize { db, keys, expires } => {
                            // A hint only: capped so a hostile header cannot
                            // make the tables huge.
                            let cap = (size / 16) as usize;
                            view.reserve(db, (keys as usize).min(cap), (expires as usize).min(cap));
                        }
                        // Linked by the decoding side.
                        LoadEvent::Library(_) => {}
                        LoadEvent::Key(k) => {
                            view.db = k.db;
                            let value = k.value.into_value(limits).map_err(|e| {
                                format!(
                                    "key '{}' in database {}: {e}",
                                    String::from_utf8_lossy(k.key.as_bytes()),
                                    k.db
                                )
                            })?;
                            let Some(value) = value else { continue };
                            if let Err(key) = view.load(k.hash, k.key, value, k.expire_ms) {
                                return Err(format!(
                                    "RDB has duplicated key '{}' in DB {}",
                                    String::from_utf8_lossy(key.as_bytes()),
                                    k.db
                                ));
                            }
                            if delay_us > 0 {
                                drop(view);
                                std::thread::sleep(std::time::Duration::from_micros(delay_us));
                                view = shared.keyspace.lock_all(0, now);
                            }
                        }
                    }
                }
            }
            Ok(())
        });
        let batch_size = if delay_us > 0 { 1 } else { LOAD_BATCH };
        let mut batch = Vec::with_capacity(batch_size);
        let mut keys = 0u64;
        let mut last_report = Instant::now();
        let decoded = decode::load_file(
            file,
            size,
            num_dbs,
            limits,
            expired_before,
            &p.loading_loaded_bytes,
            || queued.load(Ordering::Relaxed) < 2,
            |event| {
                if let LoadEvent::Library(code) = event {
                    // A file replaces a library of the same name (DEBUG
                    // RELOAD reads back what is loaded).
                    let cache = &shared.scripts;
                    let library = crate::script::compile_library(cache, code.into(), true)
                        .map_err(|e| {
                            crate::rdb::RdbError::new(format!("Failed loading library, {e}"))
                        })?;
                    return cache.functions.lock().link(library, true).map_err(|e| {
                        crate::rdb::RdbError::new(format!("Failed loading library, {e}"))
                    });
                }
                keys += u64::from(matches!(event, LoadEvent::Key(_)));
                batch.push(event);
                if batch.len() >= batch_size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                    // A closed channel means the inserter stopped on an error,
                    // which its result reports.
                    queued.fetch_add(1, Ordering::Relaxed);
                    let _ = batches.send(full);
                    if last_report.elapsed() >= std::time::Duration::from_secs(1) {
                        last_report = Instant::now();
                        let read = p.loading_loaded_bytes.load(Ordering::Relaxed);
                        crate::notice!(
                            "Loading RDB: {:.1}% of {size} bytes, {keys} keys, {:.0} keys/s",
                            read as f64 * 100.0 / size.max(1) as f64,
                            keys as f64 / started.elapsed().as_secs_f64()
                        );
                    }
                }
                Ok(())
            },
        );
        if !batch.is_empty() {
            queued.fetch_add(1, Ordering::Relaxed);
            let _ = batches.send(batch);
        }
        drop(batches);
        let inserted = inserter
            .join()
            .unwrap_or_else(|_| Err("the loading thread panicked".into()));
        match (decoded, inserted) {
            (Err(e), _) => Err(e.to_string()),
            (Ok(_), Err(e)) => Err(e),
            (Ok(info), Ok(())) => Ok(info),
        }
    });
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
    if !aof_base {
        crate::notice!(
            "DB loaded from disk: {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
    }
    p.loaded_keys.store(info.loaded, Ordering::Relaxed);
    p.loaded_expired
        .store(info.expired_skipped, Ordering::Relaxed);
    Ok(info.consumed)
}
