//! Which sessions and listeners each event loop owns.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::OnceLock;

use fixring_core::config::{Admission, Role, SessionConfig, Settings, SocketOptions};
use fixring_io::BackendOptions;

use crate::EngineError;

/// Buffer size of a loop with TLS sessions: a full TLS record (16 KiB of plaintext, up to
/// 2 KiB of expansion and a 5-byte header) and room to spare.
const TLS_BUFFER_SIZE: usize = 32 * 1024;

/// A listening address and the acceptor sessions behind it.
#[derive(Clone, Debug)]
pub(crate) struct ListenerPlan {
    pub(crate) addr: SocketAddr,
    pub(crate) options: SocketOptions,
    /// Indexes into [`LoopPlan::sessions`].
    pub(crate) slots: Vec<usize>,
    /// Indexes into [`LoopPlan::templates`].
    pub(crate) templates: Vec<usize>,
}

/// What one event loop owns.
#[derive(Clone, Debug)]
pub(crate) struct LoopPlan {
    /// The core to pin the loop's thread to.
    pub(crate) core: Option<usize>,
    pub(crate) sessions: Vec<SessionConfig>,
    /// Templates of dynamic sessions (AcceptorTemplate=Y): a Logon that fits one makes a
    /// session of the loop.
    pub(crate) templates: Vec<SessionConfig>,
    pub(crate) listeners: Vec<ListenerPlan>,
    pub(crate) backend: BackendOptions,
    /// How its acceptors admit sockets before their Logon, as configured.
    pub(crate) admission: Admission,
    /// The cores of every loop (`EventLoopCores`), which its handshake thread keeps off
    /// where the process has another.
    pub(crate) loop_cores: Vec<usize>,
}

impl LoopPlan {
    /// Spreads the sessions of `settings` over one loop per configured core (one unpinned loop
    /// when no cores are set). Every acceptor session of one port lives on the same loop, as
    /// its socket is only mapped to a session by its Logon; ports and initiators are dealt out
    /// in turn.
    pub(crate) fn split(
        settings: &Settings,
        backend: BackendOptions,
    ) -> Result<Vec<Self>, EngineError> {
        let cores = &settings.engine.event_loop_cores;
        let mut plans: Vec<Self> = if cores.is_empty() {
            vec![Self::empty(None, backend, settings.engine.admission)]
        } else {
            cores
                .iter()
                .map(|&core| Self {
                    loop_cores: cores.clone(),
                    ..Self::empty(Some(core), backend, settings.engine.admission)
                })
                .collect()
        };
        let loops = plans.len();
        let mut next = 0;
        let mut ports: Vec<(SocketAddr, usize)> = Vec::new();
        for config in &settings.sessions {
            match &config.role {
                Role::Initiator(_) => {
                    plans[next % loops].sessions.push(config.clone());
                    next += 1;
                }
                Role::Acceptor(acceptor) => {
                    let addr = match &acceptor.accept_host {
                        Some(host) => resolve(host, acceptor.accept_port).map_err(|source| {
                            EngineError::AcceptHost {
                                session: config.id.to_string(),
                                host: host.clone(),
                                source,
                            }
                        })?,
                        None => SocketAddr::new(every_interface(), acceptor.accept_port),
                    };
                    let owner = match ports.iter().find(|(a, _)| a.port() == addr.port()) {
                        Some(&(_, owner)) => owner,
                        None => {
                            let owner = next % loops;
                            next += 1;
                            ports.push((addr, owner));
                            plans[owner].listeners.push(ListenerPlan {
                                addr,
                                options: config.socket,
                                slots: Vec::new(),
                                templates: Vec::new(),
                            });
                            owner
                        }
                    };
                    let plan = &mut plans[owner];
                    let Some(listener) = plan
                        .listeners
                        .iter_mut()
                        .find(|l| l.addr.port() == addr.port())
                    else {
                        continue;
                    };
                    if config.template {
                        listener.templates.push(plan.templates.len());
                        plan.templates.push(config.clone());
                    } else {
                        listener.slots.push(plan.sessions.len());
                        plan.sessions.push(config.clone());
                    }
                }
            }
        }
        plans.retain(|plan| {
            !plan.listeners.is_empty() || !plan.sessions.is_empty() || plan.core.is_none()
        });
        for plan in &mut plans {
            // A TLS record can carry 16 KiB of plaintext plus its overhead: the receive buffer
            // of a TLS loop must hold a whole one.
            if plan.configs().any(|s| s.tls.is_some()) {
                plan.backend.buffer_size = plan.backend.buffer_size.max(TLS_BUFFER_SIZE);
            }
        }
        Ok(plans)
    }

    /// Every session configuration of the loop: its sessions, then its templates.
    pub(crate) fn configs(&self) -> impl Iterator<Item = &SessionConfig> {
        self.sessions.iter().chain(&self.templates)
    }

    fn empty(core: Option<usize>, backend: BackendOptions, admission: Admission) -> Self {
        Self {
            core,
            sessions: Vec::new(),
            templates: Vec::new(),
            listeners: Vec::new(),
            backend,
            admission,
            loop_cores: Vec::new(),
        }
    }

    /// The admission of the loop's acceptors: MaxPendingConnections, but never so many that
    /// the sockets waiting for their Logon could fill the backend's connection table and
    /// leave no room for the sessions' own sockets and a new socket's accept. Brought down to
    /// what fits, with a warning.
    pub(crate) fn admission(&self) -> Admission {
        let mut admission = self.admission;
        let table = self.backend.max_connections as usize;
        let room = table.saturating_sub(self.sessions.len() + 1).max(1);
        if admission.max_pending > room {
            tracing::warn!(
                configured = admission.max_pending,
                used = room,
                "MaxPendingConnections is more than an event loop's {table} connections hold \
                 beside its {} sessions; {room} is used",
                self.sessions.len()
            );
            admission.max_pending = room;
        }
        admission
    }
}

/// `SocketAcceptHost`: an IP address, or a name resolved now, when the engine starts (its
/// first address).
fn resolve(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "the name has no address"))
}

/// Every interface: `[::]`, dual-stack (the listener takes IPv4 too, as mapped addresses),
/// where the kernel has IPv6; `0.0.0.0` where it has not.
fn every_interface() -> IpAddr {
    static HAS_IPV6: OnceLock<bool> = OnceLock::new();
    let ipv6 =
        *HAS_IPV6.get_or_init(|| std::net::TcpListener::bind((Ipv6Addr::UNSPECIFIED, 0)).is_ok());
    if ipv6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}
