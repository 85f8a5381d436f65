//! Socket creation and the per-socket options of `SocketOptions`.

use std::io;
use std::net::SocketAddr;

use fixring_core::config::SocketOptions;
use socket2::{Domain, Protocol, Socket, Type};

/// A non-blocking, close-on-exec TCP socket for `addr`'s family.
pub(crate) fn tcp(addr: SocketAddr) -> io::Result<Socket> {
    Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )
}

/// Applies TCP_NODELAY, SO_SNDBUF and SO_RCVBUF (the buffer sizes only when set).
pub(crate) fn apply(socket: &Socket, options: &SocketOptions) -> io::Result<()> {
    socket.set_tcp_nodelay(options.nodelay)?;
    if let Some(size) = options.send_buffer_size {
        socket.set_send_buffer_size(size)?;
    }
    if let Some(size) = options.receive_buffer_size {
        socket.set_recv_buffer_size(size)?;
    }
    Ok(())
}
