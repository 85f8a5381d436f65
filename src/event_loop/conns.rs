//! Who each of the loop's live sockets belongs to.

use fixring_io::ConnId;

/// The owner of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Owner {
    /// Accepted; the router holds it until its Logon.
    Router,
    /// The socket of session slot `.0` (connecting, or connected).
    Slot(usize),
}

/// Live sockets by the backend's connection number. Everything else about a socket lives
/// with its owner: its link in the router or in the slot's connection.
#[derive(Default)]
pub(super) struct Owners {
    entries: Vec<Option<Owner>>,
}

impl Owners {
    pub(super) fn insert(&mut self, conn: ConnId, owner: Owner) {
        let index = conn.0 as usize;
        if self.entries.len() <= index {
            self.entries.resize(index + 1, None);
        }
        self.entries[index] = Some(owner);
    }

    pub(super) fn remove(&mut self, conn: ConnId) -> Option<Owner> {
        self.entries.get_mut(conn.0 as usize)?.take()
    }

    pub(super) fn get(&self, conn: ConnId) -> Option<Owner> {
        self.entries.get(conn.0 as usize).copied().flatten()
    }
}
