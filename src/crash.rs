//! The panic policy: a bug is a crash with a report, never a server that
//! goes on.
//!
//! A panicking handler would otherwise unwind out of the middle of a
//! command: whatever it had changed stays visible to other clients, the
//! change is never logged to the AOF (which is appended after the handler
//! returns), and per-client bookkeeping leaks. Memory and log would have
//! diverged, and the next restart would load a different dataset than the
//! one clients saw. So the server's panic hook ([`install`]) writes a bug
//! report to the log, in the layout of Redis's (`=== REDIS BUG REPORT
//! START`, the panic message and where it was raised, the backtrace, the
//! command that was running), and aborts the process, on whichever thread
//! panicked (a connection worker, the lazy-free thread, the saver, the AOF
//! writer). Restart then loads what the persistence files hold, exactly as
//! after a kill.
//!
//! [`CommandScope`] records the command a thread is running (its name, its
//! argument count and the client's id; never argument values, which may be
//! private data) so the report can name it.

use std::cell::Cell;

/// What the current thread is running: client id, command name, argument
/// count (name included).
#[derive(Clone, Copy)]
struct Running {
    client: u64,
    command: &'static str,
    argc: usize,
}

thread_local! {
    static RUNNING: Cell<Option<Running>> = const { Cell::new(None) };
}

/// Marks the thread as running a command until dropped, so a panic's bug
/// report can name it. Nested scopes (a command of EXEC) restore the outer
/// one on drop.
pub struct CommandScope {
    outer: Option<Running>,
}

impl CommandScope {
    /// Enters `command` (with `argc` arguments) for client `client`.
    #[inline]
    pub fn enter(client: u64, command: &'static str, argc: usize) -> CommandScope {
        let running = Running {
            client,
            command,
            argc,
        };
        CommandScope {
            outer: RUNNING.with(|r| r.replace(Some(running))),
        }
    }
}

impl Drop for CommandScope {
    #[inline]
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.outer));
    }
}

/// Installs the panic hook: bug report to the log, then abort.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let message = panic_message(info);
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "unknown".into());
        let thread = std::thread::current();
        let report = bug_report(
            &message,
            &location,
            thread.name().unwrap_or("unnamed"),
            RUNNING.with(Cell::get),
            &std::backtrace::Backtrace::force_capture().to_string(),
        );
        for line in report.lines() {
            crate::log::log_always(crate::log::Level::Warning, line);
        }
        crate::log::flush();
        std::process::abort();
    }));
}

fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    if let Some(s) = info.payload().downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = info.payload().downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// The report's lines, Redis's section markers included.
fn bug_report(
    message: &str,
    location: &str,
    thread: &str,
    running: Option<Running>,
    backtrace: &str,
) -> String {
    let mut out = String::new();
    out.push_str("=== REDIS BUG REPORT START: Cut & paste starting from here ===\n");
    out.push_str("------------------------------------------------\n");
    out.push_str("!!! Software Failure. Press left mouse button to continue\n");
    out.push_str(&format!("Guru Meditation: {message} #{location}\n"));
    out.push_str(&format!(
        "ferrodis version {}, thread '{thread}'\n",
        env!("CARGO_PKG_VERSION")
    ));
    out.push_str("\n------ STACK TRACE ------\n");
    out.push_str(backtrace);
    out.push_str("\n------ CURRENT CLIENT INFO ------\n");
    match running {
        Some(r) => {
            out.push_str(&format!("client id={} cmd={}\n", r.client, r.command));
            out.push_str(&format!("argc: '{}'\n", r.argc));
        }
        None => out.push_str("no command running on this thread\n"),
    }
    out.push_str("\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n");
    out.push_str("The server aborts instead of going on with a half-applied command.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_the_command_and_has_redis_markers() {
        let _scope = CommandScope::enter(7, "debug", 2);
        let report = bug_report(
            "boom",
            "src/x.rs:1",
            "worker-0",
            RUNNING.with(Cell::get),
            "frame 0",
        );
        assert!(report.contains("=== REDIS BUG REPORT START"));
        assert!(report.contains("Guru Meditation: boom #src/x.rs:1"));
        assert!(report.contains("------ STACK TRACE ------\nframe 0"));
        assert!(report.contains("client id=7 cmd=debug\nargc: '2'"));
        assert!(report.contains("=== REDIS BUG REPORT END."));
    }

    #[test]
    fn scopes_nest_and_restore() {
        assert!(RUNNING.with(Cell::get).is_none());
        {
            let _exec = CommandScope::enter(1, "exec", 1);
            {
                let _set = CommandScope::enter(1, "set", 3);
                assert_eq!(RUNNING.with(Cell::get).map(|r| r.command), Some("set"));
            }
            assert_eq!(RUNNING.with(Cell::get).map(|r| r.command), Some("exec"));
        }
        assert!(RUNNING.with(Cell::get).is_none());
    }
}
