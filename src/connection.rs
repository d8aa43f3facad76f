//! One client connection: read requests, run them, write replies back.
//!
//! The loop reads whatever the socket has, runs every complete request in
//! the buffer in order (pipelining), and writes all their replies with one
//! write. Replies are written earlier only when the output grows large.
//! Frames other threads queue for the client (its [`crate::outbox`]) are
//! written after the replies produced before they were taken.
//!
//! When the socket cannot take everything, what happens depends on the
//! client's output limits (`client-output-buffer-limit`): with a limit for
//! its class the connection keeps the rest, goes on reading and running
//! requests, and the limit closes a client that does not read, as in
//! Redis; without one it waits for room before reading more, so a client
//! that does not read holds at most a batch of replies.

use crate::client::{ClientInfo, Closing};
use crate::cmd::admit::{admit, Admission, Caller, Rejection, Wait};
use crate::cmd::spec::{BlockedWait, ClientState, Queued};
use crate::cmd::{self, Ctx};
use crate::db::unblock;
use crate::outbox::FIXED_BUFFER;
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
/// Initial capacity of the reply buffer (see [`Reply::new`]).
const REPLY_CHUNK: usize = 16 * 1024;

/// A connection's state between requests: the client, its unparsed input,
/// the parser and the reply buffer. It travels with the connection when the
/// connection moves to another worker (see the server's `Workers`).
pub struct Session {
    /// The client's state.
    pub client: ClientState,
    inbuf: BytesMut,
    parser: RequestParser,
    out: Reply,
    output: Output,
    /// How much to read next.
    want: usize,
}

/// The reply buffer's bookkeeping between writes.
struct Output {
    /// Bytes at the start of the reply buffer already written.
    sent: usize,
    /// Flush mid-batch once the reply buffer holds this much (more while
    /// a write is incomplete, so that each request does not retry it).
    flush_at: usize,
    /// An unsent byte count is published in the client's outbox.
    published: bool,
    /// A wake-up (a queued frame) arrived while a write waited for room;
    /// it is raised again once the write is done.
    rewake: bool,
}

impl Output {
    fn new() -> Output {
        Output {
            sent: 0,
            flush_at: FLUSH_THRESHOLD,
            published: false,
            rewake: false,
        }
    }
}

impl Session {
    /// A new connection's session.
    pub fn new(shared: &Shared, info: Arc<ClientInfo>) -> Session {
        // CLIENT LIST's tot-mem: the structures and the buffers as allocated.
        info.base_mem.store(
            std::mem::size_of::<Session>()
                + std::mem::size_of::<ClientInfo>()
                + READ_CHUNK
                + REPLY_CHUNK,
            Ordering::Relaxed,
        );
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
            output: Output::new(),
            want: READ_CHUNK,
        }
    }

    /// Releases what the connection held in the server (WATCHed keys, its
    /// place among the monitors, its subscriptions, its queued frames) once
    /// it has closed.
    pub fn finish(&mut self, shared: &Shared) {
        crate::cmd::transactions::forget_client(shared, &mut self.client);
        crate::cmd::tracking::forget(shared, &mut self.client);
        shared.monitors.remove(self.client.info.id);
        if self.client.info.subscribed() {
            shared.pubsub.forget(self.client.info.id);
        }
        self.client.info.outbox.close();
        self.client.info.outbox.set_unsent(0);
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
        output,
        want,
    } = session;
    let info = client.info.clone();
    // Not parked once this returns, whatever the way out.
    let _unpark = Unpark(&info);
    loop {
        info.parked_on.store(0, Ordering::Relaxed);
        if info.handed_back.load(Ordering::Acquire) {
            take_handback(&info, inbuf, out);
        }
        // CLIENT LIST's `qbuf` while this batch runs: what was buffered,
        // the running request included, as Redis shows it.
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        // Run every complete request already buffered.
        loop {
            let max_bulk = shared.hot.proto_max_bulk_len.load(Ordering::Relaxed);
            match parser.parse(inbuf, max_bulk) {
                Ok(Parsed::Request(args)) => {
                    // A held request (CLIENT PAUSE, another command's long
                    // hold on every shard) waits here without blocking the
                    // worker; the replies so far go out first. A client held
                    // by a pause keeps its place in the pause's queue until
                    // its request has run.
                    let mut ticket = None;
                    while let Dispatched::Held(wait) = dispatch(shared, client, &args, out) {
                        if wait == Wait::Pause && ticket.is_none() {
                            ticket = Some(shared.pause.ticket());
                            info.paused.store(true, Ordering::Relaxed);
                            // The held request has left the query buffer.
                            info.qbuf.store(inbuf.len(), Ordering::Relaxed);
                        }
                        if out.buf.len() > output.sent
                            && Flush::new(shared, socket, &info, client.aof_offset)
                                .run(out, output, Drain::AsLimitsAllow)
                                .await
                                .is_err()
                        {
                            return Served::Closed;
                        }
                        tokio::select! {
                            _ = held(shared, wait, ticket.as_ref()) => {}
                            w = socket.writable(), if out.buf.len() > output.sent => {
                                if w.is_err() {
                                    return Served::Closed;
                                }
                            }
                            _ = info.outbox.woken() => {
                                if info.killed.load(Ordering::Acquire) {
                                    return Served::Closed;
                                }
                                info.outbox.drain_into(&mut out.buf);
                            }
                        }
                        client.clock_us = 0;
                    }
                    if ticket.take().is_some() {
                        info.paused.store(false, Ordering::Relaxed);
                    }
                    parser.recycle(args);
                    if let Some(blocked) = client.blocked.take() {
                        // Nothing more of this client runs until its
                        // blocking command is answered; the replies so far
                        // go out first.
                        if out.buf.len() > output.sent
                            && Flush::new(shared, socket, &info, client.aof_offset)
                                .run(out, output, Drain::AsLimitsAllow)
                                .await
                                .is_err()
                        {
                            finish_blocked(shared, &info, &blocked);
                            return Served::Closed;
                        }
                        // With nothing unsent, the writer that serves it may
                        // write the reply itself (not under appendfsync
                        // always, where replies wait for the log).
                        let lend = out.buf.len() == output.sent
                            && shared.aof.policy() != crate::aof::FsyncPolicy::Always;
                        let answered =
                            wait_blocked(shared, socket, &info, inbuf, &blocked, out, lend).await;
                        finish_blocked(shared, &info, &blocked);
                        let Some(answer) = answered else {
                            return Served::Closed;
                        };
                        note_unblocked(shared, &info, &blocked, answer);
                        // A served reply may show changes logged by the writer.
                        if shared.aof.policy() == crate::aof::FsyncPolicy::Always {
                            client.aof_offset = client.aof_offset.max(shared.aof.appended());
                        }
                        client.clock_us = 0;
                    }
                    if client.close_after_reply {
                        let _ = Flush::new(shared, socket, &info, client.aof_offset)
                            .run(out, output, Drain::All)
                            .await;
                        return Served::Closed;
                    }
                    if out.buf.len() >= output.flush_at {
                        if Flush::new(shared, socket, &info, client.aof_offset)
                            .run(out, output, Drain::AsLimitsAllow)
                            .await
                            .is_err()
                        {
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
                    let _ = Flush::new(shared, socket, &info, client.aof_offset)
                        .run(out, output, Drain::All)
                        .await;
                    return Served::Closed;
                }
            }
        }
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        if out.buf.len() > output.sent
            && Flush::new(shared, socket, &info, client.aof_offset)
                .run(out, output, Drain::AsLimitsAllow)
                .await
                .is_err()
        {
            return Served::Closed;
        }
        if inbuf.len() > shared.hot.query_buffer_limit.load(Ordering::Relaxed) {
            crate::warning!(
                "Closing client id={} that reached max query buffer length",
                info.id
            );
            return Served::Closed;
        }
        let unsent = out.buf.len() > output.sent;
        if !client.monitor && !unsent {
            if let Some(worker) = client.move_to.take().or_else(&handoff) {
                return Served::Move(worker);
            }
        }
        inbuf.reserve(*want);
        let timeout = if client.monitor {
            0
        } else {
            shared.hot.timeout_secs.load(Ordering::Relaxed)
        };
        // Waiting for a request with no state a reply depends on: a long
        // script on this worker's thread may answer it (`cmd::busy`).
        if !unsent
            && inbuf.is_empty()
            && !parser.in_progress()
            && client.multi.is_none()
            && !(client.reply_off || client.reply_skip || client.reply_skip_next || client.monitor)
            && !info.subscribed()
        {
            info.parked_on.store(client.worker.0 + 1, Ordering::Relaxed);
        }
        let read = tokio::select! {
            r = socket.read_buf(inbuf) => r,
            // Output kept while the client's limits allow: write more of
            // it once there is room (at the top of the loop).
            w = socket.writable(), if unsent => {
                if w.is_err() {
                    return Served::Closed;
                }
                continue;
            }
            _ = info.outbox.woken() => {
                if info.killed.load(Ordering::Acquire) {
                    return Served::Closed;
                }
                // Queued frames go after the replies written or kept so far.
                info.outbox.drain_into(&mut out.buf);
                continue;
            }
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
                // Frames queued before this input arrived (an invalidation
                // of a write this client saw answered) go before the
                // replies to it, as Redis has them in its buffer already.
                if info.outbox.queued_frames() > 0 {
                    info.outbox.drain_into(&mut out.buf);
                }
            }
        }
    }
}

/// Clears `parked_on` when [`serve`] returns.
struct Unpark<'a>(&'a ClientInfo);

impl Drop for Unpark<'_> {
    fn drop(&mut self) {
        self.0.parked_on.store(0, Ordering::Relaxed);
    }
}

/// Takes what a long script's responder left for this connection: its
/// unanswered input goes before what arrived since, its unwritten replies
/// after the output so far.
#[cold]
fn take_handback(info: &ClientInfo, inbuf: &mut BytesMut, out: &mut Reply) {
    let mut back = info.handback.lock();
    info.handed_back.store(false, Ordering::Relaxed);
    if !back.input.is_empty() {
        let arrived = inbuf.split();
        inbuf.extend_from_slice(&back.input);
        inbuf.extend_from_slice(&arrived);
        back.input.clear();
    }
    out.buf.append(&mut back.output);
}

/// How a blocked command was answered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A writer served it; `true` if the reply is an error (a BLMOVE whose
    /// destination holds another type).
    Served(bool),
    /// Its timeout passed.
    TimedOut,
    /// CLIENT UNBLOCK ended it (either way).
    Unblocked,
}

/// The statistics of an answered blocked command, as Redis 7.0 updates
/// them on unblock: a served command goes to the slow log with its
/// arguments (and counts a failed call if its reply is an error); one
/// ended by CLIENT UNBLOCK counts a failed call, TIMEOUT or ERROR alike,
/// and goes to the slow log without arguments (Redis has freed them by
/// then); a timeout changes nothing.
fn note_unblocked(shared: &Shared, info: &ClientInfo, blocked: &BlockedWait, answer: Answer) {
    let Some(spec) = blocked.spec else {
        return;
    };
    let (failed, args) = match answer {
        Answer::TimedOut => return,
        Answer::Served(failed) => (failed, &blocked.args[..]),
        Answer::Unblocked => (true, &[][..]),
    };
    if failed {
        if let Some(stats) = cmd::registry().stats(spec.name) {
            stats.record_failed();
        }
    }
    cmd::slowlog::slowlog_record_args(shared, info, spec, args, blocked.run_us);
}

/// Waits until the blocked command is answered: served by a writer (its
/// reply arrives through the outbox), timed out, or unblocked by CLIENT
/// UNBLOCK, writing the reply into `out`. Input that arrives meanwhile is
/// kept for later. `None` if the client closed or was killed.
async fn wait_blocked(
    shared: &Shared,
    socket: &ClientSocket,
    info: &ClientInfo,
    inbuf: &mut BytesMut,
    blocked: &BlockedWait,
    out: &mut Reply,
    lend: bool,
) -> Option<Answer> {
    let waiter = &blocked.waiter;
    // Where the answer starts (what the outbox held before it comes first).
    let start = out.buf.len();
    let _loan = lend.then(|| SocketLoan::new(&info.outbox, socket.raw_fd()));
    let deadline = blocked.deadline_ms;
    let mut timer_live = deadline > 0;
    let sleep = tokio::time::sleep(Duration::from_millis(
        deadline.saturating_sub(crate::util::now_ms()).max(0) as u64,
    ));
    tokio::pin!(sleep);
    loop {
        if waiter.is_delivered() {
            info.outbox.take_back_socket();
            info.outbox.drain_into(&mut out.buf);
            let direct = info.outbox.take_direct_written();
            shared.stats.net_output_bytes.add(direct as u64);
            // An error reply is never written directly (see push_reply).
            let failed = direct == 0 && out.buf.get(start) == Some(&b'-');
            if failed {
                let code = out.buf[start + 1..]
                    .split(|&b| b == b' ' || b == b'\r')
                    .next()
                    .unwrap_or_default();
                shared.stats.record_error(&String::from_utf8_lossy(code));
            }
            return Some(Answer::Served(failed));
        }
        tokio::select! {
            _ = info.outbox.woken() => {
                if info.killed.load(Ordering::Acquire) {
                    waiter.claim();
                    return None;
                }
                if info.outbox.queued_frames() > 0 {
                    // Frames queued now (pushes) go out before the reply,
                    // through this connection: no more direct write.
                    info.outbox.take_back_socket();
                    info.outbox.drain_into(&mut out.buf);
                }
                let how = waiter.unblock.load(Ordering::Acquire);
                if how != unblock::NONE && waiter.claim() {
                    if how == unblock::ERROR {
                        out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
                        shared.stats.record_error("UNBLOCKED");
                    } else {
                        crate::db::timeout_reply(waiter, out);
                    }
                    return Some(Answer::Unblocked);
                }
            }
            _ = &mut sleep, if timer_live => {
                timer_live = false;
                if waiter.claim() {
                    crate::db::timeout_reply(waiter, out);
                    return Some(Answer::TimedOut);
                }
                // A writer took it: its reply is on the way.
            }
            r = socket.read_buf(inbuf) => match r {
                Ok(0) | Err(_) => {
                    waiter.claim();
                    return None;
                }
                Ok(n) => {
                    shared.stats.net_input_bytes.add(n as u64);
                    // The client is not idle while blocked, as in Redis.
                    info.last_interaction_ms.store(crate::util::now_ms(), Ordering::Relaxed);
                }
            },
        }
    }
}

/// A socket lent to the outbox for a direct reply while its client is
/// blocked; taken back when dropped, on every way out of the wait.
struct SocketLoan<'a>(&'a crate::outbox::Outbox);

impl<'a> SocketLoan<'a> {
    fn new(outbox: &'a crate::outbox::Outbox, fd: i32) -> SocketLoan<'a> {
        outbox.lend_socket(fd);
        SocketLoan(outbox)
    }
}

impl Drop for SocketLoan<'_> {
    fn drop(&mut self) {
        self.0.take_back_socket();
    }
}

/// Takes an answered (or abandoned) waiter out of its keys' FIFOs and the
/// blocked-client counts.
fn finish_blocked(shared: &Shared, info: &ClientInfo, blocked: &BlockedWait) {
    let waiter = &blocked.waiter;
    // Nobody may serve it any more: claimed by now unless the connection
    // failed before it waited.
    waiter.claim();
    let keyspace = &shared.keyspace;
    keyspace.remove_waiter(waiter, crate::util::now_ms());
    waiter.release_counts(keyspace.blocking());
    *info.blocked.lock() = None;
}

/// Waits out a held request's reason (or part of it: the caller asks again).
async fn held(shared: &Shared, wait: Wait, ticket: Option<&crate::pause::Ticket<'_>>) {
    match (wait, ticket) {
        (Wait::Pause, Some(ticket)) => shared.pause.wait(ticket).await,
        (Wait::Pause, None) => tokio::time::sleep(Duration::from_millis(20)).await,
        (Wait::Exclusive, _) => shared.keyspace.gate().changed().await,
    }
}

async fn idle_timer(secs: u64) {
    if secs == 0 {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

/// How far a [`Flush`] goes when the socket cannot take everything.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drain {
    /// Keep the rest while the client's class has an output limit (the
    /// connection goes on; the limit closes a client that does not read);
    /// wait for room otherwise.
    AsLimitsAllow,
    /// Wait for room until everything is written (before closing).
    All,
}

/// One write of the reply buffer, with what it needs of the connection.
struct Flush<'a> {
    shared: &'a Shared,
    socket: &'a ClientSocket,
    info: &'a ClientInfo,
    /// Under `appendfsync always`, the log must be on disk up to here first.
    aof_offset: u64,
}

impl<'a> Flush<'a> {
    fn new(
        shared: &'a Shared,
        socket: &'a ClientSocket,
        info: &'a ClientInfo,
        aof_offset: u64,
    ) -> Flush<'a> {
        Flush {
            shared,
            socket,
            info,
            aof_offset,
        }
    }

    /// Writes the unsent replies (see [`Drain`]). `Err` means the
    /// connection must close: the write failed or the output limits
    /// closed the client.
    async fn run(&mut self, out: &mut Reply, output: &mut Output, drain: Drain) -> Result<(), ()> {
        if out.buf.len() - output.sent > FIXED_BUFFER {
            // Large output counts against the client's limits before it is
            // written, as Redis checks replies when it adds them.
            self.publish(out, output);
            if self.over_limits() {
                return Err(());
            }
        }
        if self.shared.aof.must_wait(self.aof_offset) {
            // Let the other connections with requests ready run theirs
            // first, so that one fsync covers all of them, then make the
            // log durable.
            tokio::task::yield_now().await;
            self.shared.aof.make_durable(self.aof_offset);
        }
        self.write_some(out, output)?;
        if out.buf.len() > output.sent {
            let limited = !self
                .shared
                .hot
                .output_limits
                .get(self.info.class())
                .is_off();
            self.publish(out, output);
            if limited && drain == Drain::AsLimitsAllow {
                output.flush_at = out.buf.len() + FLUSH_THRESHOLD;
                return if self.over_limits() { Err(()) } else { Ok(()) };
            }
            while out.buf.len() > output.sent {
                tokio::select! {
                    w = self.socket.writable() => w.map_err(drop)?,
                    _ = self.info.outbox.woken() => {
                        if self.info.killed.load(Ordering::Acquire) {
                            return Err(());
                        }
                        output.rewake = true;
                    }
                }
                self.write_some(out, output)?;
                self.publish(out, output);
            }
        }
        out.buf.clear();
        output.sent = 0;
        if out.buf.capacity() > 4 * FLUSH_THRESHOLD {
            out.buf.shrink_to(FLUSH_THRESHOLD);
        }
        output.flush_at = FLUSH_THRESHOLD;
        if output.published {
            self.info.outbox.written_all();
            output.published = false;
        }
        if std::mem::take(&mut output.rewake) {
            self.info.outbox.wake();
        }
        Ok(())
    }

    /// Writes what the socket takes of the unsent bytes.
    fn write_some(&self, out: &mut Reply, output: &mut Output) -> Result<(), ()> {
        let n = self
            .socket
            .try_write(&out.buf[output.sent..])
            .map_err(drop)?;
        self.shared.stats.net_output_bytes.add(n as u64);
        output.sent += n;
        // Reclaim the written front of a large buffer now and then.
        if output.sent > 4 * FLUSH_THRESHOLD && output.sent * 2 > out.buf.len() {
            out.buf.drain(..output.sent);
            output.sent = 0;
        }
        Ok(())
    }

    /// Publishes the unsent byte count (CLIENT LIST, the limits).
    fn publish(&self, out: &Reply, output: &mut Output) {
        self.info.outbox.set_unsent(out.buf.len() - output.sent);
        output.published = true;
    }

    fn over_limits(&self) -> bool {
        self.info
            .enforce_output_limits(&self.shared.hot.output_limits, Closing::Scheduled)
    }
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
    if shared.keyspace.events().tracking().active() {
        limit_tracking(shared, client, out);
    }
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
    // Pub/sub pushes the command wrote are not silenced.
    let pushed_to = std::mem::take(&mut out.pushed_to);
    let skip_this = std::mem::take(&mut client.reply_skip);
    if client.reply_off || skip_this {
        out.buf.truncate(reply_start.max(pushed_to));
    }
    if std::mem::take(&mut client.reply_skip_next) {
        client.reply_skip = true;
    }
    if !client.own.is_empty() {
        place_own_messages(client, out, reply_start);
    }
    if client.tracking != 0 && client.caching {
        end_caching_choice(client, args);
    }
    Dispatched::Done
}

/// After a command that caused messages for its own client: keyspace
/// notifications Redis writes before the reply go in front of it, the
/// others after it, then tracking's invalidations (Redis sends those once
/// the command is done). None is silenced by CLIENT REPLY OFF, as Redis's
/// pushes are not.
#[cold]
fn place_own_messages(client: &mut ClientState, out: &mut Reply, reply_start: usize) {
    let own = &mut client.own;
    if !own.before.is_empty() {
        let at = reply_start.min(out.buf.len());
        out.buf.splice(at..at, own.before.drain(..));
    }
    out.buf.append(&mut own.after);
    out.buf.append(&mut own.tracking);
}

/// Before a command while some client tracks: the tracking table is kept
/// within `tracking-table-max-keys` (Redis's `processCommand` does it
/// too); invalidations for this client go out before the reply.
#[cold]
fn limit_tracking(shared: &Shared, client: &mut ClientState, out: &mut Reply) {
    let max = shared.hot.tracking_max_keys.load(Ordering::Relaxed);
    let tracking = shared.keyspace.events().tracking();
    tracking.limit_keys(max, client.info.id, &mut client.own.tracking);
    out.buf.append(&mut client.own.tracking);
}

/// After a tracking client's command: CLIENT CACHING's choice lapses
/// unless the command was a CLIENT subcommand or a transaction is open
/// (Redis's `resetClient`).
#[cold]
fn end_caching_choice(client: &mut ClientState, args: &[Bytes]) {
    if client.multi.is_none() && !args[0].eq_ignore_ascii_case(b"client") {
        client.caching = false;
    }
}

fn run_request(
    shared: &Shared,
    client: &mut ClientState,
    args: &[Bytes],
    out: &mut Reply,
) -> Dispatched {
    let spec = match admit(shared, cmd::registry(), client, args, Caller::Client) {
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
        registry: cmd::registry(),
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
    if let Some(stats) = rejection.spec.and_then(|s| cmd::registry().stats(s.name)) {
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
