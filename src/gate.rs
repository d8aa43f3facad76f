//! The exclusive gate: how a command that holds every shard for a long
//! time (a script, `DEBUG SLEEP`) coexists with the worker threads.
//!
//! Redis is single-threaded, so a long script simply stops everything
//! else; past `busy-reply-threshold` it starts answering other clients
//! with `-BUSY` between slices of the script, so that `SCRIPT KILL`,
//! `FUNCTION KILL` and `SHUTDOWN NOSAVE` can reach it. In ferrodis the
//! long command runs on one worker while the other worker keeps serving
//! its own connections; if that worker tried to lock a shard the long
//! command holds, its whole OS thread would block on the mutex and none of
//! its clients could be answered, not even with BUSY.
//!
//! So a long command enters through this gate before it locks anything
//! ([`ExclusiveGate::try_enter`]), and everything else checks the gate
//! before locking:
//!
//! * While the gate is **held**, a connection's command that is not
//!   `allow_busy` does not lock: its connection waits asynchronously
//!   ([`ExclusiveGate::changed`]) for the gate to open, its worker serving
//!   other connections meanwhile. (A command that checked the gate just
//!   before it closed and then finds a shard taken gives its locks back
//!   and waits the same way: see `Keyspace::try_lock_into`.)
//! * Once the holder has run past `busy-reply-threshold` it declares the
//!   gate **busy** ([`ExclusiveGate::declare_busy`]); waiting connections
//!   wake up and, like new requests, get the BUSY error for the holder's
//!   kind. `allow_busy` commands still run: they lock nothing the holder
//!   has, and a kill request ([`ExclusiveGate::request_kill`]) is a flag
//!   the holder polls.
//! * The periodic task does not expire keys or start saves while the gate
//!   is held, so the accept loop beside it stays responsive.
//!
//! Connections of the holder's own worker wait until the holder ends, as
//! every Redis client does before the threshold; scripting (the next
//! family) will answer them too from the script's periodic hook (see
//! ARCHITECTURE.md, "Long commands and BUSY").

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// How long a waiter spins for the gate to open before it sleeps.
const SPIN_BEFORE_WAITING: Duration = Duration::from_micros(30);

const OPEN: u8 = 0;
const HELD: u8 = 1;
const BUSY: u8 = 2;

/// What the holder of a busy gate is, which decides the BUSY text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusyKind {
    /// An EVAL script (or the debug stand-in for one).
    Eval,
    /// A function (FCALL).
    Function,
}

impl BusyKind {
    /// Redis's error for commands refused while this kind runs.
    pub fn error(self) -> &'static str {
        match self {
            BusyKind::Eval => {
                "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
            }
            BusyKind::Function => {
                "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
            }
        }
    }
}

/// The gate in front of the keyspace's shard locks; one per keyspace.
pub struct ExclusiveGate {
    state: AtomicU8,
    kind: AtomicU8,
    kill: AtomicBool,
    changed: Notify,
}

impl Default for ExclusiveGate {
    fn default() -> Self {
        ExclusiveGate {
            state: AtomicU8::new(OPEN),
            kind: AtomicU8::new(0),
            kill: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }
}

impl ExclusiveGate {
    /// True while a long command holds (or is about to hold) every shard.
    #[inline]
    pub fn is_held(&self) -> bool {
        self.state.load(Ordering::SeqCst) != OPEN
    }

    /// The holder's kind once it has declared the gate busy.
    pub fn busy(&self) -> Option<BusyKind> {
        if self.state.load(Ordering::SeqCst) != BUSY {
            return None;
        }
        Some(match self.kind.load(Ordering::Relaxed) {
            1 => BusyKind::Function,
            _ => BusyKind::Eval,
        })
    }

    /// Closes the gate for the caller, who then locks every shard; false if
    /// another long command holds it.
    pub fn try_enter(&self) -> bool {
        let entered = self
            .state
            .compare_exchange(OPEN, HELD, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if entered {
            self.kill.store(false, Ordering::SeqCst);
        }
        entered
    }

    /// The holder has run past `busy-reply-threshold`: waiting and new
    /// requests get the BUSY error for `kind` from now on.
    pub fn declare_busy(&self, kind: BusyKind) {
        let code = match kind {
            BusyKind::Eval => 0,
            BusyKind::Function => 1,
        };
        self.kind.store(code, Ordering::Relaxed);
        if self
            .state
            .compare_exchange(HELD, BUSY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            self.changed.notify_waiters();
        }
    }

    /// Asks a busy holder to stop (SCRIPT KILL and the like); false if the
    /// gate is not busy.
    pub fn request_kill(&self) -> bool {
        if self.busy().is_none() {
            return false;
        }
        self.kill.store(true, Ordering::SeqCst);
        true
    }

    /// True once a kill was requested; the holder polls it.
    pub fn kill_requested(&self) -> bool {
        self.kill.load(Ordering::SeqCst)
    }

    /// Opens the gate (the holder has released every shard).
    pub fn leave(&self) {
        self.kill.store(false, Ordering::SeqCst);
        self.state.store(OPEN, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Resolves when the gate opens or turns busy, or after a short while
    /// (callers re-check what they wait for).
    pub async fn changed(&self) {
        // Most holds are short (a script of a few commands): spinning a
        // moment on this worker is cheaper than the cross-thread wake-up
        // that waiting for the notification costs.
        let start = std::time::Instant::now();
        let mut spins = 0u32;
        while self.state.load(Ordering::SeqCst) != OPEN {
            std::hint::spin_loop();
            spins += 1;
            if spins % 64 == 0 && start.elapsed() >= SPIN_BEFORE_WAITING {
                break;
            }
        }
        if self.state.load(Ordering::SeqCst) == OPEN {
            return;
        }
        let notified = self.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.state.load(Ordering::SeqCst) != OPEN {
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_busy_only_while_held() {
        let gate = ExclusiveGate::default();
        assert!(!gate.is_held());
        assert!(gate.try_enter());
        assert!(!gate.try_enter(), "a second holder must wait");
        assert!(gate.is_held());
        assert_eq!(gate.busy(), None);
        assert!(!gate.request_kill(), "nothing to kill before BUSY");
        gate.declare_busy(BusyKind::Function);
        assert_eq!(gate.busy(), Some(BusyKind::Function));
        assert!(gate.request_kill());
        assert!(gate.kill_requested());
        gate.leave();
        assert!(!gate.is_held());
        assert_eq!(gate.busy(), None);
        assert!(!gate.kill_requested());
        gate.declare_busy(BusyKind::Eval);
        assert_eq!(gate.busy(), None, "an open gate cannot turn busy");
    }

    #[test]
    fn waiters_wake_when_the_gate_opens() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let gate = std::sync::Arc::new(ExclusiveGate::default());
        assert!(gate.try_enter());
        let opener = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                gate.leave();
            })
        };
        rt.block_on(async {
            let start = std::time::Instant::now();
            while gate.is_held() {
                gate.changed().await;
                assert!(start.elapsed() < Duration::from_secs(5));
            }
        });
        opener.join().expect("opener");
    }
}
