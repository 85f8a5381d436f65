//! The loop's table of live connections and who owns each.

use std::net::SocketAddr;

use fixring_core::Instant;
use fixring_io::ConnId;

use super::tls::TlsLink;

/// Who a connection belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Owner {
    /// Accepted on listener `listener`; its Logon has not arrived yet and must by `deadline`.
    Unrouted { listener: usize, deadline: Instant },
    /// The connection of session slot `.0` (connecting, or connected).
    Slot(usize),
}

struct Entry {
    owner: Owner,
    peer: Option<SocketAddr>,
    tls: Option<Box<TlsLink>>,
}

/// Live connections, indexed by the backend's connection number.
#[derive(Default)]
pub(super) struct ConnTable {
    entries: Vec<Option<Entry>>,
}

impl ConnTable {
    pub(super) fn insert(&mut self, conn: ConnId, owner: Owner, peer: Option<SocketAddr>) {
        let index = conn.0 as usize;
        if self.entries.len() <= index {
            self.entries.resize_with(index + 1, || None);
        }
        self.entries[index] = Some(Entry {
            owner,
            peer,
            tls: None,
        });
    }

    /// Gives the connection a TLS state; its bytes are then ciphertext.
    pub(super) fn set_tls(&mut self, conn: ConnId, link: TlsLink) {
        if let Some(Some(entry)) = self.entries.get_mut(conn.0 as usize) {
            entry.tls = Some(Box::new(link));
        }
    }

    /// The connection's TLS state, if it has one.
    pub(super) fn tls_mut(&mut self, conn: ConnId) -> Option<&mut TlsLink> {
        self.entries
            .get_mut(conn.0 as usize)?
            .as_mut()?
            .tls
            .as_deref_mut()
    }

    /// Whether the connection runs TLS.
    pub(super) fn is_tls(&self, conn: ConnId) -> bool {
        self.entry(conn).is_some_and(|e| e.tls.is_some())
    }

    pub(super) fn remove(&mut self, conn: ConnId) {
        if let Some(entry) = self.entries.get_mut(conn.0 as usize) {
            *entry = None;
        }
    }

    pub(super) fn owner(&self, conn: ConnId) -> Option<Owner> {
        self.entry(conn).map(|e| e.owner)
    }

    pub(super) fn set_owner(&mut self, conn: ConnId, owner: Owner) {
        if let Some(Some(entry)) = self.entries.get_mut(conn.0 as usize) {
            entry.owner = owner;
        }
    }

    pub(super) fn peer(&self, conn: ConnId) -> Option<SocketAddr> {
        self.entry(conn).and_then(|e| e.peer)
    }

    pub(super) fn set_peer(&mut self, conn: ConnId, peer: SocketAddr) {
        if let Some(Some(entry)) = self.entries.get_mut(conn.0 as usize) {
            entry.peer = Some(peer);
        }
    }

    /// Accepted connections still waiting for their Logon.
    pub(super) fn unrouted(&self) -> Vec<ConnId> {
        self.unrouted_deadlines()
            .into_iter()
            .map(|(conn, _)| conn)
            .collect()
    }

    /// Accepted connections still waiting for their Logon, with their deadlines.
    pub(super) fn unrouted_deadlines(&self) -> Vec<(ConnId, Instant)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| match entry {
                Some(Entry {
                    owner: Owner::Unrouted { deadline, .. },
                    ..
                }) => Some((ConnId(index as u32), *deadline)),
                _ => None,
            })
            .collect()
    }

    fn entry(&self, conn: ConnId) -> Option<&Entry> {
        self.entries.get(conn.0 as usize).and_then(Option::as_ref)
    }
}
