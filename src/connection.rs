//! One client connection: read requests, run them, write replies back.
//!
//! The loop reads whatever the socket has, runs every complete request in
//! the buffer in order (pipelining), and writes all their replies with one
//! write. Replies are written earlier only when the output grows large.

use crate::client::{ClientInfo, ClientState, Queued};
use crate::cmd::{self, flags, Ctx};
use crate::protocol::{Parsed, RequestParser, BIG_ARG};
use crate::reply::Reply;
use crate::server::Shared;
use crate::socket::ClientSocket;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Replies are flushed mid-batch once the output buffer exceeds this.
const FLUSH_THRESHOLD: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// A connection's state between requests: the client, its unparsed input,
/// the parser and the reply buffer. It travels with the connection when the
/// connection moves to another worker (see [`crate::server::Workers`]).
pub struct Session {
    /// The client's state.
    pub client: ClientState,
    inbuf: BytesMut,
    parser: RequestParser,
    out: Reply,
    /// How much to read next.
    want: usize,
}

impl Session {
    /// A new connection's session.
    pub fn new(shared: &Shared, info: Arc<ClientInfo>) -> Session {
        let mut client = ClientState::new(info);
        // With `requirepass` set, a new connection starts unauthenticated.
        client.authenticated = shared
            .config
            .read()
            .get("requirepass")
            .is_none_or(str::is_empty);
        Session {
            client,
            inbuf: BytesMut::with_capacity(READ_CHUNK),
            parser: RequestParser::new(),
            out: Reply::new(2),
            want: READ_CHUNK,
        }
    }

    /// Releases what the connection held in the server (WATCHed keys, ...)
    /// once it has closed.
    pub fn finish(&mut self, shared: &Shared) {
        crate::cmd::transactions::forget_client(shared, &mut self.client);
    }
}

/// Why [`serve`] returned.
pub enum Served {
    /// The connection closed, was killed or broke the protocol.
    Closed,
    /// The connection should continue on worker `.0`; every reply so far
    /// has been written.
    Move(usize),
}

/// Serves a connection until it closes, or until `handoff` (asked before
/// each wait for input) names another worker to continue on.
pub async fn serve(
    shared: &Shared,
    socket: &ClientSocket,
    session: &mut Session,
    handoff: impl Fn() -> Option<usize>,
) -> Served {
    let Session {
        client,
        inbuf,
        parser,
        out,
        want,
    } = session;
    let info = client.info.clone();
    loop {
        // Run every complete request already buffered.
        loop {
            let max_bulk = shared.hot.proto_max_bulk_len.load(Ordering::Relaxed);
            match parser.parse(inbuf, max_bulk) {
                Ok(Parsed::Request(args)) => {
                    // CLIENT PAUSE: hold the command (replies so far go out).
                    while let Some(wait) = cmd::connection::pause_wait(shared, client, &args) {
                        if !out.buf.is_empty()
                            && flush(shared, socket, out, client.aof_offset).await.is_err()
                        {
                            return Served::Closed;
                        }
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = info.kill_notify.notified() => return Served::Closed,
                        }
                        client.clock_us = 0;
                    }
                    dispatch(shared, client, &args, out);
                    parser.recycle(args);
                    if client.close_after_reply {
                        let _ = flush(shared, socket, out, client.aof_offset).await;
                        return Served::Closed;
                    }
                    if out.buf.len() >= FLUSH_THRESHOLD {
                        if flush(shared, socket, out, client.aof_offset).await.is_err() {
                            return Served::Closed;
                        }
                        // The write may have waited for a slow reader.
                        client.clock_us = 0;
                    }
                }
                Ok(Parsed::Incomplete { hint }) => {
                    // Grow towards a large argument in steps bounded by what
                    // has actually arrived, so a length header alone cannot
                    // make us allocate.
                    *want = if hint >= BIG_ARG {
                        hint.min(inbuf.len().max(READ_CHUNK) * 2)
                    } else {
                        READ_CHUNK
                    };
                    break;
                }
                Err(e) => {
                    out.error_bytes(&e.reply_bytes());
                    shared.stats.record_error("ERR");
                    crate::verbose!("Protocol error from client id={}: {}", info.id, e.0);
                    let _ = flush(shared, socket, out, client.aof_offset).await;
                    return Served::Closed;
                }
            }
        }
        if !out.buf.is_empty() && flush(shared, socket, out, client.aof_offset).await.is_err() {
            return Served::Closed;
        }
        if inbuf.len() > shared.hot.query_buffer_limit.load(Ordering::Relaxed) {
            crate::warning!(
                "Closing client id={} that reached max query buffer length",
                info.id
            );
            return Served::Closed;
        }
        if client.monitor.is_none() {
            if let Some(worker) = handoff() {
                return Served::Move(worker);
            }
        }
        inbuf.reserve(*want);
        let timeout = if client.monitor.is_some() {
            0
        } else {
            shared.hot.timeout_secs.load(Ordering::Relaxed)
        };
        let read = tokio::select! {
            r = socket.read_buf(inbuf) => r,
            line = cmd::server::next_monitor_line(&mut client.monitor) => {
                if let Some(line) = line {
                    out.buf.extend_from_slice(&line);
                    if flush(shared, socket, out, client.aof_offset).await.is_err() {
                        return Served::Closed;
                    }
                }
                continue;
            }
            _ = info.kill_notify.notified() => return Served::Closed,
            _ = idle_timer(timeout) => return Served::Closed,
        };
        match read {
            Ok(0) | Err(_) => return Served::Closed,
            Ok(n) => {
                crate::idle_poll::note_activity();
                // Like Redis, the last interaction is the last read, not
                // each command (saves a clock read per command). The same
                // reading starts the clock cursor of the commands that follow.
                client.clock_us = crate::util::now_us();
                info.last_interaction_ms
                    .store(client.clock_us.div_euclid(1000), Ordering::Relaxed);
                shared.stats.net_input_bytes.add(n as u64);
                if info.killed.load(Ordering::Acquire) {
                    return Served::Closed;
                }
            }
        }
    }
}

async fn idle_timer(secs: u64) {
    if secs == 0 {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

/// Writes the buffered replies; under `appendfsync always`, only once the
/// log is on disk up to `aof_offset`.
async fn flush(
    shared: &Shared,
    socket: &ClientSocket,
    out: &mut Reply,
    aof_offset: u64,
) -> std::io::Result<()> {
    if shared.aof.must_wait(aof_offset) {
        // Let the other connections with requests ready run theirs first,
        // so that one fsync covers all of them, then make the log durable.
        tokio::task::yield_now().await;
        shared.aof.make_durable(aof_offset);
    }
    shared.stats.net_output_bytes.add(out.buf.len() as u64);
    let result = socket.write_all(&out.buf).await;
    out.buf.clear();
    if out.buf.capacity() > 4 * FLUSH_THRESHOLD {
        out.buf.shrink_to(FLUSH_THRESHOLD);
    }
    result
}

/// Runs (or, inside MULTI, queues) one request and writes its reply.
pub fn dispatch(shared: &Shared, client: &mut ClientState, args: &[Bytes], out: &mut Reply) {
    shared.stats.commands_processed.add(1);
    let errors_before = out.errors;
    let reply_start = out.buf.len();
    let skip_this = std::mem::take(&mut client.reply_skip);
    run_request(shared, client, args, out);
    if out.errors > errors_before {
        shared.stats.record_error(&out.last_error_code);
    }
    // CLIENT REPLY OFF / SKIP: the command ran, its reply is dropped.
    if client.reply_off || skip_this {
        out.buf.truncate(reply_start);
    }
    if std::mem::take(&mut client.reply_skip_next) {
        client.reply_skip = true;
    }
}

/// LOADING while the dataset loads (for commands not allowed then), and
/// MISCONF for writes (and PING, as Redis does) after a failed save.
fn persistence_refusal(
    shared: &Shared,
    client: &ClientState,
    spec: &cmd::CommandSpec,
) -> Option<std::borrow::Cow<'static, str>> {
    let p = &shared.persistence;
    if p.loading.load(Ordering::Relaxed) && !spec.has(flags::LOADING) {
        return Some("LOADING Redis is loading the dataset in memory".into());
    }
    let rdb_failed = p.writes_refused.load(Ordering::Relaxed);
    let aof_failed = shared.aof.is_logging() && !shared.aof.last_write_ok.load(Ordering::Relaxed);
    if rdb_failed || aof_failed {
        let queued_write = spec.name == "exec"
            && client
                .multi
                .as_ref()
                .is_some_and(|m| m.queue.iter().any(|q| q.spec.has(flags::WRITE)));
        if spec.has(flags::WRITE) || spec.name == "ping" || queued_write {
            return Some(if rdb_failed {
                MISCONF.into()
            } else {
                format!(
                    "MISCONF Errors writing to the AOF file: {}",
                    shared.aof.last_write_error.lock()
                )
                .into()
            });
        }
    }
    None
}

/// Redis's MISCONF reply text.
const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

fn run_request(shared: &Shared, client: &mut ClientState, args: &[Bytes], out: &mut Reply) {
    let spec = match cmd::resolve_cached(args, &mut client.last_command) {
        Ok(spec) => spec,
        Err(e) => {
            if args[0].eq_ignore_ascii_case(b"exec") {
                // A rejected EXEC ends the transaction and says why.
                crate::cmd::transactions::abort_exec(shared, client, e.text(), out);
                return;
            }
            if let Some(multi) = client.multi.as_mut() {
                multi.failed = true;
            }
            if let Some(stats) = cmd::Registry::get()
                .lookup(&args[0])
                .and_then(|s| cmd::Registry::get().stats(s.name))
            {
                stats.record_rejected();
            }
            out.error(e.text());
            return;
        }
    };
    if !client.authenticated && !spec.has(flags::NO_AUTH) {
        out.error("NOAUTH Authentication required.");
        return;
    }
    if let Some(refusal) = persistence_refusal(shared, client, spec) {
        if let Some(multi) = client.multi.as_mut() {
            multi.failed = true;
        }
        out.error(&refusal);
        return;
    }
    *client.info.last_cmd.lock() = spec.name;
    client.info.commands.fetch_add(1, Ordering::Relaxed);
    if let Some(multi) = client.multi.as_mut() {
        if !spec.has(flags::TX_CONTROL) {
            if spec.has(flags::NO_MULTI) {
                multi.failed = true;
                out.error("ERR Command not allowed inside a transaction");
                return;
            }
            multi.queue.push(Queued {
                spec,
                args: args.to_vec(),
            });
            out.simple("QUEUED");
            return;
        }
    }
    let mut ctx = Ctx {
        server: shared,
        client,
        args,
        out,
    };
    cmd::execute(spec, &mut ctx, None);
}
