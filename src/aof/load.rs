//! Start-up with `appendonly yes`: load the files the manifest lists (an RDB
//! or command base, then the incremental files), then open the last
//! incremental file for appending.
//!
//! Commands are replayed with the clock stopped at the epoch, so nothing
//! expires while the log is replayed, as in Redis: every later command in
//! the log saw the keys that were alive when it ran, and the deletion of a
//! key or field that expired is itself in the log. Keys whose time has
//! passed expire once the load is over.
//!
//! A last command cut short (a crash in the middle of a write) is dropped
//! and the file truncated before it when `aof-load-truncated` is yes; any
//! other damage stops start-up with an error naming the file and offset:
//! the server never starts with part of its data.

use super::manifest::{AofDir, FileEntry};
use super::AofState;
use crate::client::ClientInfo;
use crate::cmd::spec::ClientState;
use crate::cmd::{self, Ctx};
use crate::reply::Reply;
use crate::state::Shared;
use crate::util::io_error;
use bytes::Bytes;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// The AOF found at start-up, to be loaded by [`AofStartup::load`].
pub struct AofStartup {
    dir: AofDir,
}

/// Reads the manifest and marks the server as loading if there is data to
/// load (clients accepted from now on get LOADING until it is loaded).
pub fn prepare(shared: &Shared) -> Result<AofStartup, String> {
    let mut dir = AofDir::from_config(&shared.config.read())?;
    upgrade_old_style(&mut dir)?;
    let total = dir.total_size().map_err(|e| {
        io_error(
            "Fatal error: a file the AOF manifest lists can't be read",
            &e,
        )
    })?;
    // Loading lasts until the log is open for appending, even with nothing
    // to load: a write accepted before that would not be logged.
    shared.persistence.begin_loading(total);
    Ok(AofStartup { dir })
}

/// Redis before 7 kept the AOF in one file, `appendfilename` in `dir`
/// (possibly an RDB preamble followed by commands). Such a file becomes the
/// base of a new manifest and moves into the AOF directory, as Redis 7
/// does: the manifest first, then the move, so that a crash in between is
/// repaired by the next start.
fn upgrade_old_style(dir: &mut AofDir) -> Result<(), String> {
    let old = std::path::PathBuf::from(&dir.stem);
    if !old.is_file() {
        return Ok(());
    }
    let m = &dir.manifest;
    let only_that_base = m.incrs.is_empty()
        && m.base.as_ref().is_some_and(|b| b.name == dir.stem)
        && !dir.path(&dir.stem).exists();
    if !(m.is_empty() || only_that_base) {
        return Ok(());
    }
    dir.create()
        .map_err(|e| io_error("Can't create the AOF directory", &e))?;
    let manifest = super::manifest::Manifest {
        base: Some(FileEntry {
            name: dir.stem.clone(),
            seq: 1,
            kind: super::manifest::FileKind::Base,
        }),
        ..Default::default()
    };
    dir.persist(manifest)
        .map_err(|e| io_error("Can't persist the AOF manifest", &e))?;
    std::fs::rename(&old, dir.path(&dir.stem))
        .map_err(|e| io_error("Can't move the old-style AOF into the AOF directory", &e))?;
    let _ = super::manifest::sync_dir(&dir.dir);
    crate::notice!(
        "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).",
        dir.stem,
        dir.dir.display()
    );
    Ok(())
}

impl AofStartup {
    /// Loads every file, then opens the log for appending and starts its
    /// writer.
    pub fn load(mut self, shared: &Arc<Shared>) -> Result<(), String> {
        let started = Instant::now();
        let loaded = if self.dir.manifest.is_empty() {
            Ok(false)
        } else {
            load_files(shared, &self.dir).map(|()| true)
        };
        let opened = loaded.and_then(|loaded| {
            if loaded {
                crate::notice!(
                    "DB loaded from append only file: {:.3} seconds",
                    started.elapsed().as_secs_f64()
                );
            }
            open_for_append(shared, &mut self.dir)
        });
        // Only now may clients write: every change from here on is logged.
        shared.persistence.loading.store(false, Ordering::SeqCst);
        opened
    }
}

/// Opens the last incremental file for appending (creating a base from the
/// empty dataset and a first incremental file on a first start), persists
/// the manifest and starts the writer.
fn open_for_append(shared: &Arc<Shared>, dir: &mut AofDir) -> Result<(), String> {
    dir.create().map_err(|e| {
        io_error(
            &format!("Can't open or create append-only dir {}", dir.dir.display()),
            &e,
        )
    })?;
    let mut manifest = dir.manifest.clone();
    if manifest.is_empty() {
        let base = super::rewrite::write_base_now(shared, dir)
            .map_err(|e| io_error("Can't create the AOF base file", &e))?;
        crate::notice!("Creating AOF base file {} on server start", base.name);
        shared.aof.base_size.store(
            std::fs::metadata(dir.path(&base.name)).map_or(0, |m| m.len()),
            Ordering::Relaxed,
        );
        manifest.base = Some(base);
    }
    let existing = !manifest.incrs.is_empty();
    let incr = match manifest.incrs.last() {
        Some(last) => last.clone(),
        None => {
            let entry = dir.new_incr();
            manifest.incrs.push(entry.clone());
            entry
        }
    };
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.path(&incr.name))
        .map_err(|e| {
            io_error(
                &format!("Can't open the append-only file {}", incr.name),
                &e,
            )
        })?;
    dir.persist(manifest)
        .map_err(|e| io_error("Can't persist the AOF manifest", &e))?;
    let size = file.metadata().map_or(0, |m| m.len());
    shared
        .aof
        .current_size
        .store(dir.total_size().unwrap_or(size), Ordering::Relaxed);
    if existing {
        crate::notice!("Opening AOF incr file {} on server start", incr.name);
    } else {
        crate::notice!("Creating AOF incr file {} on server start", incr.name);
    }
    *shared.aof.files.lock() = Some(dir.clone());
    shared
        .aof
        .start(shared.clone(), |s| &s.aof, AofState::On, file, size)
        .map_err(|e| io_error("Can't start the AOF writer", &e))
}

/// Loads the base and incremental files in order.
fn load_files(shared: &Shared, dir: &AofDir) -> Result<(), String> {
    let files: Vec<&FileEntry> = dir.manifest.load_order().collect();
    let mut done_bytes = 0u64;
    let mut base_size = 0;
    for (i, entry) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let path = dir.path(&entry.name);
        let started = Instant::now();
        let mut file = File::open(&path).map_err(|e| {
            io_error(
                &format!(
                    "Fatal error: can't open the append log file {} for reading",
                    entry.name
                ),
                &e,
            )
        })?;
        let size = file.metadata().map_or(0, |m| m.len());
        let is_base = entry.kind == super::manifest::FileKind::Base;
        if is_base {
            base_size = size;
        }
        if size > 0 {
            let read_err = |e: std::io::Error| {
                io_error(&format!("Can't read the AOF file {}", entry.name), &e)
            };
            let mut head = [0u8; 5];
            let rdb = file.read_exact(&mut head).is_ok() && &head == b"REDIS";
            file.rewind().map_err(read_err)?;
            let tail_from = if rdb {
                crate::notice!("Reading RDB base file on AOF loading...");
                let rdb_file = file.try_clone().map_err(read_err)?;
                crate::snapshot::load_rdb(shared, rdb_file, &path, size, true).map_err(|e| {
                    format!(
                        "Error reading the RDB base file {}, AOF loading aborted: {e}",
                        entry.name
                    )
                })?
            } else {
                0
            };
            if tail_from < size {
                // Commands, or (an old-style AOF) the commands after its RDB
                // preamble.
                if tail_from > 0 {
                    crate::notice!("Reading the remaining AOF tail...");
                }
                file.seek(std::io::SeekFrom::Start(tail_from))
                    .map_err(read_err)?;
                let file_info = ReplayFile {
                    path: &path,
                    entry,
                    size,
                    from: tail_from,
                    last,
                };
                replay(shared, file, &file_info, done_bytes)?;
            }
        }
        done_bytes += size;
        shared
            .persistence
            .loading_loaded_bytes
            .store(done_bytes, Ordering::Relaxed);
        let kind = if is_base { "base" } else { "incr" };
        crate::notice!(
            "DB loaded from {kind} file {}: {:.3} seconds",
            entry.name,
            started.elapsed().as_secs_f64()
        );
    }
    shared.aof.base_size.store(base_size, Ordering::Relaxed);
    Ok(())
}

/// Why reading the next command stopped.
enum ReadStop {
    /// The file ended between commands.
    End,
    /// The file ended inside a command.
    Truncated,
    /// Not the AOF format.
    Format,
    /// The operating system failed.
    Io(std::io::Error),
}

/// Reads commands from an AOF file, counting the offset.
struct CommandReader {
    input: BufReader<File>,
    offset: u64,
    size: u64,
    line: Vec<u8>,
}

impl CommandReader {
    /// One header line (`*3`, `$5`) without its CRLF; `None` at end of file.
    fn header_line(&mut self) -> Result<Option<&[u8]>, ReadStop> {
        self.line.clear();
        // A header is short; a longer "line" is not the format.
        let n = (&mut self.input)
            .take(128)
            .read_until(b'\n', &mut self.line)
            .map_err(ReadStop::Io)?;
        self.offset += n as u64;
        if n == 0 {
            return Ok(None);
        }
        if self.line.last() != Some(&b'\n') {
            return Err(if n < 128 {
                ReadStop::Truncated
            } else {
                ReadStop::Format
            });
        }
        let end = self.line.len() - 1;
        let end = if self.line.get(end.wrapping_sub(1)) == Some(&b'\r') {
            end - 1
        } else {
            end
        };
        Ok(Some(&self.line[..end]))
    }

    fn number(line: &[u8]) -> Result<u64, ReadStop> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(ReadStop::Format)
    }

    /// The next command; `Err(End)` at a clean end of file.
    fn next(&mut self) -> Result<Vec<Bytes>, ReadStop> {
        let argc = loop {
            match self.header_line()? {
                None => return Err(ReadStop::End),
                Some([b'#', ..]) => continue,
                Some([b'*', rest @ ..]) => {
                    let argc = Self::number(rest)?;
                    if argc == 0 {
                        return Err(ReadStop::Format);
                    }
                    break argc;
                }
                Some(_) => return Err(ReadStop::Format),
            }
        };
        let remaining = self.size.saturating_sub(self.offset);
        // Every argument takes at least 6 bytes ("$0\r\n\r\n").
        let mut args = Vec::with_capacity(argc.min(remaining / 6 + 1).min(1024) as usize);
        for _ in 0..argc {
            let len = match self.header_line()? {
                None => return Err(ReadStop::Truncated),
                Some([b'$', rest @ ..]) => Self::number(rest)?,
                Some(_) => return Err(ReadStop::Format),
            };
            // Never allocate for more than the file still holds.
            if len + 2 > self.size.saturating_sub(self.offset) {
                return Err(ReadStop::Truncated);
            }
            let mut arg = vec![0u8; len as usize + 2];
            self.input
                .read_exact(&mut arg)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => ReadStop::Truncated,
                    _ => ReadStop::Io(e),
                })?;
            self.offset += len + 2;
            if &arg[len as usize..] != b"\r\n" {
                return Err(ReadStop::Format);
            }
            arg.truncate(len as usize);
            args.push(Bytes::from(arg));
        }
        Ok(args)
    }
}

/// A file (or the part of one) to replay.
struct ReplayFile<'a> {
    path: &'a std::path::Path,
    entry: &'a FileEntry,
    size: u64,
    /// Where the commands start (after an RDB preamble, in an old-style
    /// AOF).
    from: u64,
    /// The last file of the manifest: the only one whose end may be cut.
    last: bool,
}

/// Replays the commands of one file, from `file`'s current position.
fn replay(
    shared: &Shared,
    file: File,
    what: &ReplayFile<'_>,
    done_bytes: u64,
) -> Result<(), String> {
    let (path, name, last_file) = (what.path, &what.entry.name, what.last);
    let mut reader = CommandReader {
        input: BufReader::with_capacity(1 << 20, file),
        offset: what.from,
        size: what.size,
        line: Vec::new(),
    };
    let addr = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let mut client = ClientState::new(Arc::new(ClientInfo::new(0, addr, addr, -1)));
    let mut out = Reply::new(2);
    // Offsets after the last complete command, and before an open MULTI.
    let mut valid_up_to = what.from;
    let mut before_multi = what.from;
    let mut queue: Option<Vec<Vec<Bytes>>> = None;
    let mut commands = 0u64;
    let (started, mut last_report) = (Instant::now(), Instant::now());
    let stop = loop {
        let args = match reader.next() {
            Ok(args) => args,
            Err(stop) => break stop,
        };
        commands += 1;
        if commands % 1024 == 0 {
            let p = &shared.persistence;
            let read = done_bytes + reader.offset;
            p.loading_loaded_bytes.store(read, Ordering::Relaxed);
            if last_report.elapsed() >= std::time::Duration::from_secs(1) {
                last_report = Instant::now();
                let total = p.loading_total_bytes.load(Ordering::Relaxed).max(1);
                crate::notice!(
                    "Loading AOF {name}: {:.1}% of {total} bytes, {commands} commands, {:.0} commands/s",
                    read as f64 * 100.0 / total as f64,
                    commands as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
        if args[0].eq_ignore_ascii_case(b"multi") {
            before_multi = valid_up_to;
            queue = Some(Vec::new());
        } else if args[0].eq_ignore_ascii_case(b"exec") {
            for queued in queue.take().unwrap_or_default() {
                run_command(shared, &mut client, &mut out, &queued, name)?;
            }
        } else if let Some(queue) = queue.as_mut() {
            queue.push(args);
        } else {
            run_command(shared, &mut client, &mut out, &args, name)?;
        }
        valid_up_to = reader.offset;
    };
    let truncated_at = match stop {
        ReadStop::End if queue.is_none() => return Ok(()),
        ReadStop::End => {
            crate::warning!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
            before_multi
        }
        ReadStop::Truncated => {
            if queue.is_some() {
                before_multi
            } else {
                valid_up_to
            }
        }
        ReadStop::Format => {
            return Err(format!(
                "Bad file format reading the append only file {name} (at offset {}): make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
                valid_up_to
            ))
        }
        ReadStop::Io(e) => {
            return Err(io_error(
                &format!("Unrecoverable error reading the append only file {name}"),
                &e,
            ))
        }
    };
    let allowed = shared.config.read().flag("aof-load-truncated");
    if !last_file {
        return Err(format!(
            "Fatal error: the truncated file is not the last file ({name}, cut at offset {truncated_at})"
        ));
    }
    if !allowed {
        return Err(format!("Unexpected end of file reading the append only file {name} (after offset {truncated_at}). You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."));
    }
    crate::warning!("!!! Warning: short read while loading the AOF file {name}!!!");
    crate::warning!("!!! Truncating the AOF {name} at offset {truncated_at} !!!");
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(truncated_at).and_then(|()| f.sync_all()))
        .map_err(|e| io_error(&format!("Error truncating the AOF file {name}"), &e))?;
    crate::warning!("AOF {name} loaded anyway because aof-load-truncated is enabled");
    Ok(())
}

/// Runs one logged command against the keyspace, with the clock stopped
/// (see the module comment) and the reply thrown away.
fn run_command(
    shared: &Shared,
    client: &mut ClientState,
    out: &mut Reply,
    args: &[Bytes],
    file: &str,
) -> Result<(), String> {
    let cmd::admit::Admission::Run(spec) = cmd::admit::admit(
        shared,
        cmd::registry(),
        client,
        args,
        cmd::admit::Caller::Replay,
    ) else {
        return Err(format!(
            "Unknown command '{}' reading the append only file {file}",
            String::from_utf8_lossy(&args[0])
        ));
    };
    // Time stands still during the replay: nothing expires.
    let frozen_ms = 0;
    let mut view = cmd::lock_for(spec, args, &shared.keyspace, client.db, frozen_ms);
    let mut ctx = Ctx {
        server: shared,
        client,
        args,
        out,
        registry: cmd::registry(),
    };
    let _ = (spec.handler)(&mut ctx, &mut view);
    view.deliver_events(shared.keyspace.events());
    drop(view);
    out.buf.clear();
    Ok(())
}
