//! A connection's own state as commands see and change it: the selected
//! database, authentication, MULTI, WATCH, CLIENT REPLY, MONITOR, and the
//! per-command caches. It is owned by the connection's task (no locks) and
//! travels with the connection between workers.

use crate::client::ClientInfo;
use crate::db::WatchFlag;
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A queued command inside MULTI.
pub struct Queued {
    /// The resolved command.
    pub spec: &'static super::CommandSpec,
    /// Its arguments.
    pub args: Vec<Bytes>,
}

/// State of an open MULTI.
#[derive(Default)]
pub struct MultiState {
    /// Commands queued so far.
    pub queue: Vec<Queued>,
    /// Set when a command failed to queue (EXEC then aborts with EXECABORT).
    pub failed: bool,
}

/// State owned by one connection's task.
pub struct ClientState {
    /// Shared view of this client.
    pub info: Arc<ClientInfo>,
    /// Selected database.
    pub db: usize,
    /// Authenticated (always true without `requirepass`).
    pub authenticated: bool,
    /// Open transaction, if any.
    pub multi: Option<MultiState>,
    /// True while EXEC runs the queued commands.
    pub in_exec: bool,
    /// Keys under WATCH, as (db, key).
    pub watched: Vec<(usize, Box<[u8]>)>,
    /// Set when a watched key changes.
    pub watch_flag: Arc<WatchFlag>,
    /// Close after writing the pending replies (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// CLIENT REPLY OFF: replies are dropped.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP was just run: the next command's reply is dropped.
    pub reply_skip_next: bool,
    /// The reply of the command being run is dropped (after SKIP).
    pub reply_skip: bool,
    /// In MONITOR mode: command lines arrive through the client's outbound
    /// queue (see `Shared::monitors`).
    pub monitor: bool,
    /// The clock (Unix µs) as last read for this client: after its last
    /// read from the socket or the end of its last command. A command
    /// starts at this time and reads the clock once, when it ends, so
    /// back-to-back pipelined commands cost one clock read each, not two.
    /// 0 means "read the clock".
    pub clock_us: i64,
    /// The last command resolved for this client, so a repeated command
    /// name skips the table lookup (see [`crate::cmd::resolve_cached`]).
    pub last_command: Option<super::ResolvedCommand>,
    /// The AOF offset this client's replies wait for under `appendfsync
    /// always`: just past its last logged change (or past the changes its
    /// last reads saw).
    pub aof_offset: u64,
    /// The connection worker it runs on, and how many there are.
    pub worker: (usize, usize),
    /// DEBUG WORKER: the worker to move to once the replies are written.
    pub move_to: Option<usize>,
}

impl ClientState {
    /// State for a new connection.
    pub fn new(info: Arc<ClientInfo>) -> Self {
        ClientState {
            info,
            db: 0,
            authenticated: true,
            multi: None,
            in_exec: false,
            watched: Vec::new(),
            watch_flag: Arc::new(WatchFlag::default()),
            close_after_reply: false,
            reply_off: false,
            reply_skip_next: false,
            reply_skip: false,
            monitor: false,
            clock_us: 0,
            last_command: None,
            aof_offset: 0,
            worker: (0, 1),
            move_to: None,
        }
    }

    /// Selects database `db`.
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }
}
