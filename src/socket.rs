//! A client's TCP socket, read and written with as few system calls as a
//! request/reply exchange allows.
//!
//! tokio's `TcpStream` learns that a socket is drained only from a read that
//! fails with `WouldBlock`, so every request would cost a read, a write and
//! a second, empty read. Here a read that returns less than the buffer had
//! room for proves the kernel queue was empty at that moment; the readiness
//! is cleared at once and the next read waits for the poller. Data arriving
//! later raises a new edge-triggered event, so nothing is missed. Writes are
//! tried directly and wait for the poller only when the kernel buffer is
//! full.
//!
//! The socket is registered for readability only. Registered for both (as
//! tokio's sockets are), every reply the client reads frees send-buffer
//! space and raises a write edge, which wakes a sleeping worker for
//! nothing: about one wasted wake-up per request batch under load. Only a
//! write that finds the buffer full waits for room, through a duplicate of
//! the descriptor registered for writability while it waits, as Redis
//! installs its write handler only while replies are pending.

use bytes::{BufMut, BytesMut};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// A connected client socket registered with the current worker's poller.
pub struct ClientSocket {
    fd: AsyncFd<std::net::TcpStream>,
}

impl ClientSocket {
    /// Registers a non-blocking socket with the calling runtime's poller.
    pub fn new(stream: std::net::TcpStream) -> io::Result<ClientSocket> {
        stream.set_nonblocking(true)?;
        // SAFETY: the TcpStream owns its descriptor, which stays open and
        // the same until the AsyncFd (and the stream inside it) drops.
        // SAFETY: the TcpStream owns its descriptor, which stays open and
        // the same until the AsyncFd (and the stream inside it) drops.
        let fd = unsafe { AsyncFd::register_with_interest(stream, Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(ClientSocket { fd })
    }

    /// Unregisters the socket from this worker's poller, to move it to
    /// another.
    pub fn into_std(self) -> std::net::TcpStream {
        self.fd.into_inner()
    }

    /// Reads what is available into `buf`'s spare capacity (which must not
    /// be empty), waiting if nothing is. `Ok(0)` means the peer closed.
    /// Cancel-safe: data is only taken from the socket inside a poll.
    pub async fn read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            let spare = buf.spare_capacity_mut();
            let room = spare.len();
            let fd = self.fd.get_ref().as_raw_fd();
            // SAFETY: read(2) writes at most `room` bytes into memory we own
            // and may be uninitialised; `n` bytes are initialised after.
            let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), room) };
            if n >= 0 {
                let n = n as usize;
                // SAFETY: the kernel initialised the first `n` bytes.
                unsafe { buf.advance_mut(n) };
                if n < room {
                    // A short read drained the socket (see module docs).
                    guard.clear_ready();
                }
                return Ok(n);
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => guard.clear_ready(),
                io::ErrorKind::Interrupted => {}
                _ => return Err(err),
            }
        }
    }

    /// The socket's descriptor (lent for a blocked client's direct reply).
    pub fn raw_fd(&self) -> i32 {
        self.fd.get_ref().as_raw_fd()
    }

    /// Writes as much of `data` as the kernel takes now, without waiting;
    /// returns how much that was (less than `data.len()` when its buffer is
    /// full, after which [`ClientSocket::writable`] waits for room).
    pub fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < data.len() {
            let mut stream: &std::net::TcpStream = self.fd.get_ref();
            match stream.write(&data[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    }

    /// Waits until the socket has room for writing. Cancel-safe.
    pub async fn writable(&self) -> io::Result<()> {
        // Registered for writability only while waiting (see the module
        // docs).
        let dup = self.fd.get_ref().as_fd().try_clone_to_owned()?;
        // SAFETY: the duplicate is owned by the AsyncFd and stays open
        // until it drops.
        let waiter = unsafe { AsyncFd::register_with_interest(dup, Interest::WRITABLE) }
            .map_err(io::Error::from)?;
        loop {
            let mut guard = waiter.writable().await?;
            // The readiness reported at registration may be stale by now:
            // ask the kernel, and wait for the next event when there is
            // no room.
            let mut probe = libc::pollfd {
                fd: self.fd.get_ref().as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd, zero timeout.
            let ready = unsafe { libc::poll(&mut probe, 1, 0) };
            if ready != 0 {
                return Ok(());
            }
            guard.clear_ready();
        }
    }
}

/// Turns on TCP keepalive probes for a client connection (`tcp-keepalive`):
/// the first after `secs` idle seconds, then every third of that, and the
/// connection is dropped after three unanswered probes, as Redis sets them.
pub fn set_keepalive(socket: &impl AsRawFd, secs: u64) -> io::Result<()> {
    let fd = socket.as_raw_fd();
    let idle = secs.min(i32::MAX as u64) as libc::c_int;
    let options = [
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (idle / 3).max(1)),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3),
    ];
    for (level, name, value) in options {
        // SAFETY: `fd` is an open socket and `value` a live c_int whose size
        // is passed with it.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
