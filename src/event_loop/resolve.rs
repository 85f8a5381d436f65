//! Host names to socket addresses.

use std::net::{SocketAddr, ToSocketAddrs};

use fixring_core::config::HostConfig;

/// The first address `host:port` resolves to.
pub(super) fn resolve(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} has no address"),
        )
    })
}

/// The source address to bind before connecting, if one is configured.
pub(super) fn source_addr(host: &HostConfig) -> std::io::Result<Option<SocketAddr>> {
    match (&host.source_host, host.source_port) {
        (None, None) => Ok(None),
        (Some(source), port) => resolve(source, port.unwrap_or(0)).map(Some),
        (None, Some(port)) => Ok(Some(SocketAddr::from(([0, 0, 0, 0], port)))),
    }
}
