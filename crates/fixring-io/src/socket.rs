//! Socket creation and the session's socket options (`SocketNodelay`, `SocketSendBufferSize`,
//! `SocketReceiveBufferSize`, `SocketReuseAddress`).

use std::io;
use std::net::SocketAddr;

use fixring_core::config::SocketOptions;
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::Mode;

/// How many connections a listener's kernel queue holds before the loop accepts them: as
/// many as `net.core.somaxconn` allows (the kernel lowers a larger value to it; 4096 by
/// default). A connection that finds the queue full has its SYN dropped and waits a second
/// for the retransmission, so the queue is as long as it may be: a burst of connections (a
/// flood's retries come in waves) then leaves room for a counterparty's.
const LISTEN_BACKLOG: i32 = i32::MAX;

/// A close-on-exec TCP socket for `addr`'s family.
fn tcp(addr: SocketAddr, mode: Mode) -> io::Result<Socket> {
    let ty = match mode {
        Mode::Blocking => Type::STREAM,
        Mode::NonBlocking => Type::STREAM.nonblocking(),
    };
    Socket::new(Domain::for_address(addr), ty.cloexec(), Some(Protocol::TCP))
}

/// Applies TCP_NODELAY, SO_KEEPALIVE (when set), SO_SNDBUF and SO_RCVBUF (the buffer sizes
/// only when set) to `sock`.
pub fn apply(sock: SockRef<'_>, options: &SocketOptions) -> io::Result<()> {
    sock.set_tcp_nodelay(options.nodelay)?;
    if options.keep_alive {
        sock.set_keepalive(true)?;
    }
    if let Some(size) = options.send_buffer_size {
        sock.set_send_buffer_size(size)?;
    }
    if let Some(size) = options.receive_buffer_size {
        sock.set_recv_buffer_size(size)?;
    }
    Ok(())
}

/// The system calls [`apply`] makes for `options`, for a backend that counts its own.
pub fn apply_calls(options: &SocketOptions) -> u64 {
    1 + u64::from(options.keep_alive)
        + u64::from(options.send_buffer_size.is_some())
        + u64::from(options.receive_buffer_size.is_some())
}

/// The system calls [`listener`] makes for `addr` and `options`.
pub fn listener_calls(addr: SocketAddr, options: &SocketOptions) -> u64 {
    // socket, SO_REUSEADDR, bind, listen, the options, and IPV6_V6ONLY on `[::]`.
    4 + apply_calls(options) + u64::from(addr.is_ipv6() && addr.ip().is_unspecified())
}

/// The system calls [`outbound`] makes for `source` and `options`.
pub fn outbound_calls(source: Option<SocketAddr>, options: &SocketOptions) -> u64 {
    // socket, the options, and SO_REUSEADDR and bind with a source.
    1 + apply_calls(options) + if source.is_some() { 2 } else { 0 }
}

/// A socket bound to `addr` and listening, with `options` applied (SO_REUSEADDR before bind).
///
/// The buffer sizes are set on the listener too: accepted sockets inherit them before the
/// handshake, which is when the TCP window scale is chosen.
pub fn listener(addr: SocketAddr, options: &SocketOptions, mode: Mode) -> io::Result<Socket> {
    let sock = tcp(addr, mode)?;
    sock.set_reuse_address(options.reuse_address)?;
    // `[::]` means every interface of both families, whatever net.ipv6.bindv6only says.
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        sock.set_only_v6(false)?;
    }
    apply(SockRef::from(&sock), options)?;
    sock.bind(&addr.into())?;
    sock.listen(LISTEN_BACKLOG)?;
    Ok(sock)
}

/// A socket ready to connect to `addr`, bound to `source` when given (SO_REUSEADDR per
/// `options` first), with `options` applied.
pub fn outbound(
    addr: SocketAddr,
    source: Option<SocketAddr>,
    options: &SocketOptions,
    mode: Mode,
) -> io::Result<Socket> {
    let sock = tcp(addr, mode)?;
    apply(SockRef::from(&sock), options)?;
    if let Some(source) = source {
        sock.set_reuse_address(options.reuse_address)?;
        sock.bind(&source.into())?;
    }
    Ok(sock)
}

/// Whether the peer of the connected socket `fd` has closed its side (or the connection
/// failed), whether or not bytes it sent before are still unread: one `poll` that does not
/// wait. For the rare moment a peer logs on again on a new socket while the close of its old
/// one has not been reported yet.
pub fn peer_closed(fd: std::os::fd::RawFd) -> bool {
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // Safety: one valid `pollfd` for the duration of the call, which does not wait.
    let ready = unsafe { libc::poll(&raw mut pollfd, 1, 0) };
    ready > 0 && pollfd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
}
