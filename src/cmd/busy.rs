//! Answering the clients of a worker whose thread runs a long script.
//!
//! A script runs on the thread of the worker its client is on, so that
//! worker's other connections cannot run while it does. Past
//! `busy-reply-threshold` Redis answers every client `-BUSY` from its
//! script's hook, and lets SCRIPT KILL, FUNCTION KILL and SHUTDOWN NOSAVE
//! through; clients on the other worker get that from `admit`, and the
//! [`Responder`] here gives it to those on the script's own worker. The
//! script's hook polls it: it reads the requests of the worker's parked
//! connections (`ClientInfo::parked_on`: waiting for a request with nothing
//! unsent and no state a reply depends on) straight from their sockets and
//! answers them. What it read and did not answer (a partial request, or an
//! `allow_busy` command it leaves to the connection, such as MULTI or
//! HELLO) and replies the socket did not take are handed back
//! (`ClientInfo::handback`) when the script ends; the connection takes them
//! before anything else, so its stream stays in order.

use crate::client::ClientInfo;
use crate::error::CmdError;
use crate::protocol::{Parsed, RequestParser};
use crate::state::Shared;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the hook's polls look at the worker's connections.
const SCAN_EVERY: Duration = Duration::from_millis(1);
/// Input kept for one connection before the responder stops reading it
/// (a client that floods a busy server waits for the script like any
/// other instead of growing a buffer).
const INPUT_LIMIT: usize = 1 << 20;

/// A connection the responder has read from.
struct Parked {
    info: Arc<ClientInfo>,
    /// Read and not yet answered.
    input: Vec<u8>,
    /// Replies not yet written.
    output: Vec<u8>,
    /// Left to the connection from here on.
    done: bool,
}

/// Serves the parked connections of one worker while a long script runs on
/// its thread (see the module documentation).
pub struct Responder {
    /// The worker's index + 1, as `parked_on` holds it.
    worker: usize,
    /// The script's own client.
    own: u64,
    last_scan: Option<Instant>,
    parked: Vec<Parked>,
}

impl Responder {
    /// A responder for worker `worker` (its index) running client `own`'s
    /// script.
    pub fn new(worker: usize, own: u64) -> Responder {
        Responder {
            worker: worker + 1,
            own,
            last_scan: None,
            parked: Vec::new(),
        }
    }

    /// Called by the hook of a script past the busy threshold: answers what
    /// the parked connections sent since the last call (at most one scan
    /// per millisecond).
    pub fn poll(&mut self, server: &Shared) {
        let now = Instant::now();
        if self.last_scan.is_some_and(|t| now - t < SCAN_EVERY) {
            return;
        }
        self.last_scan = Some(now);
        let mut found = Vec::new();
        server.clients.for_each(|c| {
            if c.id != self.own
                && c.parked_on.load(Ordering::Relaxed) == self.worker
                && !c.killed.load(Ordering::Relaxed)
                && c.outbox.queued_frames() == 0
            {
                found.push(c.clone());
            }
        });
        for info in found {
            let at = match self.parked.iter().position(|p| p.info.id == info.id) {
                Some(at) => at,
                None => {
                    self.parked.push(Parked {
                        info,
                        input: Vec::new(),
                        output: Vec::new(),
                        done: false,
                    });
                    self.parked.len() - 1
                }
            };
            serve(server, &mut self.parked[at]);
        }
    }
}

impl Drop for Responder {
    /// The script ended: every connection gets back what is left of its
    /// input and output, and is woken to take it.
    fn drop(&mut self) {
        for p in self.parked.drain(..) {
            if p.input.is_empty() && p.output.is_empty() {
                continue;
            }
            let mut back = p.info.handback.lock();
            back.input.extend_from_slice(&p.input);
            back.output.extend_from_slice(&p.output);
            drop(back);
            p.info.handed_back.store(true, Ordering::Release);
            p.info.outbox.wake();
        }
    }
}

/// Reads what `p`'s socket holds, answers its complete requests and writes
/// the replies, as far as the socket takes them.
fn serve(server: &Shared, p: &mut Parked) {
    if p.done {
        return;
    }
    if !p.output.is_empty() && !write(p) {
        return;
    }
    let fd = p.info.fd as libc::c_int;
    let mut chunk = [0u8; 16 * 1024];
    while p.input.len() < INPUT_LIMIT {
        // SAFETY: `chunk` is a live buffer of the length given; the socket
        // is non-blocking, and its connection cannot run (or close it)
        // while this thread runs the script.
        let n = unsafe { libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len()) };
        match n {
            n if n > 0 => p.input.extend_from_slice(&chunk[..n as usize]),
            // End of input: the connection sees it when it runs.
            0 => {
                p.done = true;
                break;
            }
            _ => {
                if std::io::Error::last_os_error().kind() != std::io::ErrorKind::WouldBlock {
                    p.done = true;
                }
                break;
            }
        }
    }
    let max_bulk = server.hot.proto_max_bulk_len.load(Ordering::Relaxed);
    while !p.done {
        // A fresh parser over a copy: a partial request stays whole in
        // `input`, for the connection's own parser.
        let mut buf = BytesMut::from(&p.input[..]);
        let args = match RequestParser::new().parse(&mut buf, max_bulk) {
            Ok(Parsed::Request(args)) => args,
            Ok(Parsed::Incomplete { .. }) => break,
            Err(_) => {
                // Left for the connection, which answers and closes.
                p.done = true;
                break;
            }
        };
        let used = p.input.len() - buf.len();
        match answer(server, &args, &p.info.resp) {
            Some(reply) => {
                p.input.drain(..used);
                p.output.extend_from_slice(&reply);
            }
            None => p.done = true,
        }
    }
    if !p.output.is_empty() {
        write(p);
    }
}

/// Writes what the socket takes of `p.output`; false if some is left.
fn write(p: &mut Parked) -> bool {
    let fd = p.info.fd as libc::c_int;
    while !p.output.is_empty() {
        // SAFETY: as in `serve`; MSG_NOSIGNAL: a closed peer is an error,
        // not a signal.
        let n = unsafe {
            libc::send(
                fd,
                p.output.as_ptr().cast(),
                p.output.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::WouldBlock {
                p.done = true;
            }
            return false;
        }
        p.output.drain(..n as usize);
    }
    true
}

/// The reply to one request while the script runs, as Redis's
/// `processCommand` gives it then: an unknown command's or bad arity's
/// error, the kill commands and FUNCTION STATS run, SHUTDOWN NOSAVE starts the shutdown, the
/// other `allow_busy` commands are left to the connection (`None`), and
/// everything else gets the BUSY error.
fn answer(
    server: &Shared,
    args: &[Bytes],
    resp: &std::sync::atomic::AtomicUsize,
) -> Option<Vec<u8>> {
    let registry = super::registry();
    let mut out = crate::reply::Reply::with_capacity(resp.load(Ordering::Relaxed) as u8, 256);
    let result = match registry.resolve(args) {
        Err(e) => Err(e),
        Ok(spec) if spec.name == "script|kill" => kill_running(server, false),
        Ok(spec) if spec.name == "function|kill" => kill_running(server, true),
        Ok(spec) if spec.name == "function|stats" => {
            function_stats(server, &mut out);
            Ok(())
        }
        Ok(spec) if spec.name == "shutdown" => {
            let has = |word: &str| {
                args[1..]
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(word.as_bytes()))
            };
            if has("NOSAVE") && !has("SAVE") {
                // Like SHUTDOWN's own path: no reply, the server exits.
                super::server::begin_shutdown(server);
                return None;
            }
            Err(busy_error(server))
        }
        Ok(spec) if spec.has(super::flags::ALLOW_BUSY) => return None,
        Ok(spec) => {
            if let Some(stats) = registry.stats(spec.name) {
                stats.record_rejected();
            }
            Err(busy_error(server))
        }
    };
    server.stats.commands_processed.add(1);
    match result {
        Ok(()) if out.buf.is_empty() => out.ok(),
        Ok(()) => {}
        Err(e) => {
            out.error(e.text());
            server.stats.record_error(&out.last_error_code);
        }
    }
    Some(out.buf)
}

/// The BUSY error of the long command running now.
fn busy_error(server: &Shared) -> CmdError {
    let kind = server
        .keyspace
        .gate()
        .busy()
        .unwrap_or(crate::gate::BusyKind::Eval);
    CmdError::fixed(kind.error())
}

/// SCRIPT KILL (`function`: FUNCTION KILL): asks the running script of
/// that kind to stop, with Redis's errors when there is none, it has
/// written, or it is of the other kind.
pub fn kill_running(server: &Shared, function: bool) -> Result<(), CmdError> {
    let cache = &server.scripts;
    let gate = server.keyspace.gate();
    let not_busy = CmdError::fixed("NOTBUSY No scripts in execution right now.");
    if !cache.running.load(Ordering::SeqCst) || gate.busy().is_none() {
        return Err(not_busy);
    }
    if cache.wrote.load(Ordering::SeqCst) {
        return Err(CmdError::fixed("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."));
    }
    let running_function = cache.running_function.load(Ordering::SeqCst);
    if running_function != function {
        let kind = if running_function {
            crate::gate::BusyKind::Function
        } else {
            crate::gate::BusyKind::Eval
        };
        return Err(CmdError::fixed(kind.error()));
    }
    if !gate.request_kill() {
        return Err(not_busy);
    }
    Ok(())
}

/// FUNCTION STATS: the running function (null for none, or for an EVAL,
/// as in Redis) and the library and function counts.
pub fn function_stats(server: &Shared, out: &mut crate::reply::Reply) {
    let cache = &server.scripts;
    let (libraries, functions) = {
        let registry = cache.functions.lock();
        (registry.libraries.len(), registry.by_function.len())
    };
    out.map(2);
    out.bulk(b"running_script");
    match cache.running_call.lock().as_ref() {
        None => out.null(),
        Some(call) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(&call.name);
            out.bulk(b"command");
            out.array(call.command.len());
            for arg in &call.command {
                out.bulk(arg);
            }
            out.bulk(b"duration_ms");
            out.int(call.started.elapsed().as_millis() as i64);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libraries as i64);
    out.bulk(b"functions_count");
    out.int(functions as i64);
}
