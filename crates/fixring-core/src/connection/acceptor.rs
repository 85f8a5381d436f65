//! An acceptor's mapping of an incoming Logon to one of its configured sessions.

use core::fmt;

use crate::SessionId;

/// The position of a session in the list a [`LogonRouter`] was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionIndex(pub usize);

/// Why a Logon was not mapped to a session; the engine refuses it and closes the socket.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteRefusal {
    /// No configured acceptor session has this identity.
    UnknownSession {
        /// BeginString (8) of the Logon.
        begin_string: String,
        /// SenderCompID (49) of the Logon: the peer's CompID.
        sender: String,
        /// TargetCompID (56) of the Logon: the CompID the peer takes to be ours.
        target: String,
    },
    /// Every configured session with this identity is already logged on; the one named is
    /// the first of them.
    AlreadyLoggedOn(SessionId),
}

impl fmt::Display for RouteRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownSession {
                begin_string,
                sender,
                target,
            } => write!(
                f,
                "unknown session: no acceptor session {begin_string}:{target}->{sender} \
                 for a Logon from SenderCompID={sender} to TargetCompID={target}"
            ),
            Self::AlreadyLoggedOn(id) => write!(f, "session {id} is already logged on"),
        }
    }
}

impl std::error::Error for RouteRefusal {}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    id: SessionId,
    logged_on: bool,
}

impl Entry {
    /// Whether a Logon with these header fields is addressed to this session: same
    /// BeginString, its TargetCompID is our SenderCompID and its SenderCompID our
    /// TargetCompID.
    fn matches(&self, begin_string: &[u8], sender_comp_id: &[u8], target_comp_id: &[u8]) -> bool {
        self.id.begin_string.as_bytes() == begin_string
            && self.id.sender_comp_id.as_bytes() == target_comp_id
            && self.id.target_comp_id.as_bytes() == sender_comp_id
    }
}

/// Maps the Logon of an accepted connection to one of the acceptor's configured sessions and
/// tracks which of them are logged on.
///
/// Sessions are known by their own identity ([`SessionId::sender_comp_id`] is ours). When
/// several sessions share BeginString and CompIDs (they differ by qualifier), a Logon goes to
/// the first of them that is free. Routing compares bytes and allocates only to describe a
/// refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogonRouter {
    sessions: Vec<Entry>,
}

impl LogonRouter {
    /// A router over `sessions`, none logged on; [`SessionIndex`] `i` is the `i`-th of them.
    pub fn new(sessions: impl IntoIterator<Item = SessionId>) -> Self {
        Self {
            sessions: sessions
                .into_iter()
                .map(|id| Entry {
                    id,
                    logged_on: false,
                })
                .collect(),
        }
    }

    /// Maps a Logon with BeginString `begin_string`, SenderCompID (49) `sender_comp_id` and
    /// TargetCompID (56) `target_comp_id` to a free session, and marks it logged on.
    pub fn route(
        &mut self,
        begin_string: &[u8],
        sender_comp_id: &[u8],
        target_comp_id: &[u8],
    ) -> Result<SessionIndex, RouteRefusal> {
        let mut first_match = None;
        for (index, entry) in self.sessions.iter_mut().enumerate() {
            if !entry.matches(begin_string, sender_comp_id, target_comp_id) {
                continue;
            }
            if !entry.logged_on {
                entry.logged_on = true;
                return Ok(SessionIndex(index));
            }
            first_match.get_or_insert(index);
        }
        match first_match.and_then(|index| self.sessions.get(index)) {
            Some(entry) => Err(RouteRefusal::AlreadyLoggedOn(entry.id.clone())),
            None => Err(RouteRefusal::UnknownSession {
                begin_string: String::from_utf8_lossy(begin_string).into_owned(),
                sender: String::from_utf8_lossy(sender_comp_id).into_owned(),
                target: String::from_utf8_lossy(target_comp_id).into_owned(),
            }),
        }
    }

    /// The logged-on sessions a Logon with these header fields is addressed to: those
    /// [`LogonRouter::route`] refused it for as already logged on.
    pub fn logged_on_matches<'a>(
        &'a self,
        begin_string: &'a [u8],
        sender_comp_id: &'a [u8],
        target_comp_id: &'a [u8],
    ) -> impl Iterator<Item = SessionIndex> + 'a {
        self.sessions
            .iter()
            .enumerate()
            .filter(move |(_, entry)| {
                entry.logged_on && entry.matches(begin_string, sender_comp_id, target_comp_id)
            })
            .map(|(index, _)| SessionIndex(index))
    }

    /// Marks the session free again once its connection has ended. Returns whether it was
    /// logged on (`false` too for an index out of range).
    pub fn release(&mut self, index: SessionIndex) -> bool {
        self.sessions
            .get_mut(index.0)
            .is_some_and(|entry| core::mem::replace(&mut entry.logged_on, false))
    }

    /// Whether the session at `index` is logged on.
    pub fn is_logged_on(&self, index: SessionIndex) -> bool {
        self.sessions
            .get(index.0)
            .is_some_and(|entry| entry.logged_on)
    }

    /// The identity of the session at `index`.
    pub fn session(&self, index: SessionIndex) -> Option<&SessionId> {
        self.sessions.get(index.0).map(|entry| &entry.id)
    }

    /// How many sessions the router knows.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether the router knows no session.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// How many sessions are logged on.
    pub fn logged_on_count(&self) -> usize {
        self.sessions.iter().filter(|entry| entry.logged_on).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_well() {
        let unknown = RouteRefusal::UnknownSession {
            begin_string: "FIX.4.4".into(),
            sender: "THEM".into(),
            target: "US".into(),
        };
        assert_eq!(
            unknown.to_string(),
            "unknown session: no acceptor session FIX.4.4:US->THEM \
             for a Logon from SenderCompID=THEM to TargetCompID=US"
        );
        let taken = RouteRefusal::AlreadyLoggedOn(SessionId::new("FIX.4.4", "US", "THEM"));
        assert_eq!(
            taken.to_string(),
            "session FIX.4.4:US->THEM is already logged on"
        );
    }

    #[test]
    fn non_utf8_identities_are_described_lossily() {
        let mut router = LogonRouter::new([SessionId::new("FIX.4.4", "US", "THEM")]);
        let err = router.route(b"FIX.4.4", b"TH\xffEM", b"US").unwrap_err();
        assert!(
            matches!(err, RouteRefusal::UnknownSession { ref sender, .. } if sender == "TH\u{fffd}EM")
        );
    }

    #[test]
    fn release_out_of_range_is_harmless() {
        let mut router = LogonRouter::new([]);
        assert!(router.is_empty());
        assert!(!router.release(SessionIndex(3)));
        assert!(!router.is_logged_on(SessionIndex(3)));
        assert_eq!(router.session(SessionIndex(0)), None);
    }
}
