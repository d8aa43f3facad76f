//! One client connection: read requests, run them, write replies back.
//!
//! The loop reads whatever the socket has, runs every complete request in
//! the buffer in order (pipelining), and writes all their replies with one
//! write. Replies are written earlier only when the output grows large.

use crate::client::ClientInfo;
use crate::cmd::admit::{admit, Admission, Caller, Rejection, Wait};
use crate::cmd::client::{ClientState, Queued};
use crate::cmd::{self, Ctx};
use crate::protocol::{Parsed, RequestParser, BIG_ARG};
use crate::reply::Reply;
use crate::socket::ClientSocket;
use crate::state::Shared;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Replies are flushed mid-batch once the output buffer exceeds this.
const FLUSH_THRESHOLD: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// A connection's state between requests: the client, its unparsed input,
/// the parser and the reply buffer. It travels with the connection when the
/// connection moves to another worker (see the server's `Workers`).
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
                    // A held request (CLIENT PAUSE, another command's long
                    // hold on every shard) waits here without blocking the
                    // worker; the replies so far go out first.
                    while let Dispatched::Held(wait) = dispatch(shared, client, &args, out) {
                        if !out.buf.is_empty()
                            && flush(shared, socket, out, client.aof_offset).await.is_err()
                        {
                            return Served::Closed;
                        }
                        tokio::select! {
                            _ = held(shared, wait) => {}
                            _ = info.kill_notify.notified() => return Served::Closed,
                        }
                        client.clock_us = 0;
                    }
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
            if let Some(worker) = client.move_to.take().or_else(&handoff) {
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
            line = cmd::monitor::next_monitor_line(&mut client.monitor) => {
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

/// Waits out a held request's reason (or part of it: the caller asks again).
async fn held(shared: &Shared, wait: Wait) {
    match wait {
        Wait::Pause(d) => tokio::time::sleep(d).await,
        Wait::Exclusive => shared.keyspace.gate().changed().await,
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

/// What [`dispatch`] did with a request.
pub enum Dispatched {
    /// It ran (or was queued, or refused) and its reply is written.
    Done,
    /// Nothing happened yet: hold the request, wait, then dispatch it again.
    Held(Wait),
}

/// Runs (or, inside MULTI, queues) one request and writes its reply, unless
/// [`admit`] says to hold it.
pub fn dispatch(
    shared: &Shared,
    client: &mut ClientState,
    args: &[Bytes],
    out: &mut Reply,
) -> Dispatched {
    let errors_before = out.errors;
    let reply_start = out.buf.len();
    match run_request(shared, client, args, out) {
        Dispatched::Done => {}
        held => return held,
    }
    shared.stats.commands_processed.add(1);
    if out.errors > errors_before {
        shared.stats.record_error(&out.last_error_code);
    }
    // CLIENT REPLY OFF / SKIP: the command ran, its reply is dropped.
    let skip_this = std::mem::take(&mut client.reply_skip);
    if client.reply_off || skip_this {
        out.buf.truncate(reply_start);
    }
    if std::mem::take(&mut client.reply_skip_next) {
        client.reply_skip = true;
    }
    Dispatched::Done
}

fn run_request(
    shared: &Shared,
    client: &mut ClientState,
    args: &[Bytes],
    out: &mut Reply,
) -> Dispatched {
    let spec = match admit(shared, client, args, Caller::Client) {
        Admission::Run(spec) => spec,
        Admission::Queue(spec) => {
            note_command(client, spec);
            if let Some(multi) = client.multi.as_mut() {
                multi.queue.push(Queued {
                    spec,
                    args: args.to_vec(),
                });
            }
            out.simple("QUEUED");
            return Dispatched::Done;
        }
        Admission::Wait(wait) => return Dispatched::Held(wait),
        Admission::Reject(rejection) => {
            reject(shared, client, rejection, out);
            return Dispatched::Done;
        }
    };
    note_command(client, spec);
    let mut ctx = Ctx {
        server: shared,
        client,
        args,
        out,
    };
    match cmd::execute(spec, &mut ctx, None) {
        cmd::Executed::Ran { .. } => Dispatched::Done,
        // A long command closed the gate while this one was locking.
        cmd::Executed::Blocked => Dispatched::Held(Wait::Exclusive),
    }
}

/// CLIENT LIST's `cmd` and the client's command count.
fn note_command(client: &mut ClientState, spec: &'static cmd::CommandSpec) {
    *client.info.last_cmd.lock() = spec.name;
    client.info.commands.fetch_add(1, Ordering::Relaxed);
}

/// Writes a refusal as Redis's `rejectCommand` does: the open transaction
/// is marked failed, and a refused EXEC discards it with an EXECABORT.
fn reject(shared: &Shared, client: &mut ClientState, rejection: Rejection, out: &mut Reply) {
    if rejection.close {
        client.close_after_reply = true;
        return;
    }
    if let Some(stats) = rejection
        .spec
        .and_then(|s| cmd::Registry::get().stats(s.name))
    {
        stats.record_rejected();
    }
    if rejection.aborts_exec {
        crate::cmd::transactions::abort_exec(shared, client, &rejection.error, out);
        return;
    }
    if let Some(multi) = client.multi.as_mut() {
        multi.failed = true;
    }
    out.error(&rejection.error);
}
