//! Socket creation and the session's socket options.

use std::io;
use std::net::SocketAddr;

use fixring_core::config::SocketOptions;
use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// How many connections a listener's kernel queue holds before the loop accepts them.
const LISTEN_BACKLOG: i32 = 1024;

/// Applies TCP_NODELAY, SO_SNDBUF and SO_RCVBUF to `sock`.
pub(crate) fn apply(sock: SockRef<'_>, options: &SocketOptions) -> io::Result<()> {
    sock.set_tcp_nodelay(options.nodelay)?;
    if let Some(size) = options.send_buffer_size {
        sock.set_send_buffer_size(size)?;
    }
    if let Some(size) = options.receive_buffer_size {
        sock.set_recv_buffer_size(size)?;
    }
    Ok(())
}

fn tcp_socket(addr: SocketAddr) -> io::Result<Socket> {
    Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
}

/// A socket bound to `addr` and listening, with `options` applied (SO_REUSEADDR before bind).
pub(crate) fn listener(addr: SocketAddr, options: &SocketOptions) -> io::Result<Socket> {
    let sock = tcp_socket(addr)?;
    sock.set_reuse_address(options.reuse_address)?;
    apply(SockRef::from(&sock), options)?;
    sock.bind(&addr.into())?;
    sock.listen(LISTEN_BACKLOG)?;
    Ok(sock)
}

/// A socket ready to connect to `addr`, bound to `source` when given, with `options` applied.
pub(crate) fn outbound(
    addr: SocketAddr,
    source: Option<SocketAddr>,
    options: &SocketOptions,
) -> io::Result<Socket> {
    let sock = tcp_socket(addr)?;
    apply(SockRef::from(&sock), options)?;
    if let Some(source) = source {
        sock.set_reuse_address(options.reuse_address)?;
        sock.bind(&source.into())?;
    }
    Ok(sock)
}
