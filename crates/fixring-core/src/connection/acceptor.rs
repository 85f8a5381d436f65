//! An acceptor's mapping of an incoming Logon to one of its configured sessions.

use core::fmt;

use crate::SessionId;
use crate::codec::{Message, tags};

/// The identity fields of a Logon as the peer wrote them: the router's key.
///
/// The Sub and Location IDs are empty when the Logon has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogonIdentity<'a> {
    /// BeginString (8).
    pub begin_string: &'a [u8],
    /// SenderCompID (49): the peer's CompID.
    pub sender_comp_id: &'a [u8],
    /// SenderSubID (50).
    pub sender_sub_id: &'a [u8],
    /// SenderLocationID (142).
    pub sender_location_id: &'a [u8],
    /// TargetCompID (56): the CompID the peer takes to be ours.
    pub target_comp_id: &'a [u8],
    /// TargetSubID (57).
    pub target_sub_id: &'a [u8],
    /// TargetLocationID (143).
    pub target_location_id: &'a [u8],
}

impl<'a> LogonIdentity<'a> {
    /// The identity fields of `logon`.
    pub fn of(logon: &Message<'a>) -> Self {
        Self {
            begin_string: logon.begin_string(),
            sender_comp_id: logon.sender_comp_id().unwrap_or_default(),
            sender_sub_id: logon.get(tags::SENDER_SUB_ID).unwrap_or_default(),
            sender_location_id: logon.get(tags::SENDER_LOCATION_ID).unwrap_or_default(),
            target_comp_id: logon.target_comp_id().unwrap_or_default(),
            target_sub_id: logon.get(tags::TARGET_SUB_ID).unwrap_or_default(),
            target_location_id: logon.get(tags::TARGET_LOCATION_ID).unwrap_or_default(),
        }
    }

    /// The identity of the session this Logon is for, seen from our side (its SenderCompID
    /// is our TargetCompID…), with no qualifier.
    pub fn session_id(&self) -> SessionId {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        SessionId {
            begin_string: text(self.begin_string),
            sender_comp_id: text(self.target_comp_id),
            sender_sub_id: text(self.target_sub_id),
            sender_location_id: text(self.target_location_id),
            target_comp_id: text(self.sender_comp_id),
            target_sub_id: text(self.sender_sub_id),
            target_location_id: text(self.sender_location_id),
            qualifier: String::new(),
        }
    }

    /// A Logon with BeginString and CompIDs only.
    pub fn comp_ids(
        begin_string: &'a [u8],
        sender_comp_id: &'a [u8],
        target_comp_id: &'a [u8],
    ) -> Self {
        Self {
            begin_string,
            sender_comp_id,
            target_comp_id,
            ..Self::default()
        }
    }
}

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
    /// Sessions have these CompIDs, but a Sub or Location ID each is configured with
    /// differs from the Logon's; the one named is the first of them.
    IdentityMismatch {
        /// The first session with the Logon's BeginString and CompIDs.
        session: SessionId,
        /// The Logon's field that differs from that session's: SenderSubID (50),
        /// SenderLocationID (142), TargetSubID (57) or TargetLocationID (143).
        tag: crate::codec::Tag,
        /// Its value in the Logon, empty when absent.
        received: String,
    },
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
            Self::IdentityMismatch {
                session,
                tag,
                received,
            } => write!(
                f,
                "unknown session: acceptor session {session} does not match the Logon's \
                 {tag}={received:?}"
            ),
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
    /// Whether a Logon is addressed to this session by its BeginString and CompIDs: its
    /// TargetCompID is our SenderCompID and its SenderCompID our TargetCompID.
    fn matches_comp_ids(&self, logon: &LogonIdentity<'_>) -> bool {
        self.id.begin_string.as_bytes() == logon.begin_string
            && self.id.sender_comp_id.as_bytes() == logon.target_comp_id
            && self.id.target_comp_id.as_bytes() == logon.sender_comp_id
    }

    /// `Ok(n)` when the Logon is addressed to this session, `n` being how many Sub and
    /// Location IDs it is configured with (each of which the Logon carries, reversed: its
    /// SenderSubID is our TargetSubID…); those not configured are not compared, as
    /// QuickFIX C++ has none. `Err(tag)` names the first of the Logon's fields that differs.
    fn matches(&self, logon: &LogonIdentity<'_>) -> Result<usize, crate::codec::Tag> {
        let pairs = [
            (
                tags::SENDER_SUB_ID,
                &self.id.target_sub_id,
                logon.sender_sub_id,
            ),
            (
                tags::SENDER_LOCATION_ID,
                &self.id.target_location_id,
                logon.sender_location_id,
            ),
            (
                tags::TARGET_SUB_ID,
                &self.id.sender_sub_id,
                logon.target_sub_id,
            ),
            (
                tags::TARGET_LOCATION_ID,
                &self.id.sender_location_id,
                logon.target_location_id,
            ),
        ];
        let mut configured = 0;
        for (tag, ours, theirs) in pairs {
            if ours.is_empty() {
                continue;
            }
            if ours.as_bytes() != theirs {
                return Err(tag);
            }
            configured += 1;
        }
        Ok(configured)
    }
}

/// Maps the Logon of an accepted connection to one of the acceptor's configured sessions and
/// tracks which of them are logged on.
///
/// Sessions are known by their own identity ([`SessionId::sender_comp_id`] is ours). A
/// Logon is for the sessions with its BeginString and CompIDs whose configured Sub and
/// Location IDs it carries (QuickFIX/J and QuickFIX/n make them part of the identity), the
/// ones that name the most of them first: two sessions differing only by TargetSubID are two
/// sessions. When several are still left (they differ by qualifier), a Logon goes to the
/// first of them that is free. Routing compares bytes and allocates only to describe a
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
    /// TargetCompID (56) `target_comp_id`, and no Sub or Location IDs, to a free session, and
    /// marks it logged on; see [`LogonRouter::route_logon`].
    #[expect(
        clippy::result_large_err,
        reason = "a refusal names the session; it is rare and on the Logon path only"
    )]
    pub fn route(
        &mut self,
        begin_string: &[u8],
        sender_comp_id: &[u8],
        target_comp_id: &[u8],
    ) -> Result<SessionIndex, RouteRefusal> {
        self.route_logon(&LogonIdentity::comp_ids(
            begin_string,
            sender_comp_id,
            target_comp_id,
        ))
    }

    /// Maps a Logon to a free session it is addressed to, and marks it logged on.
    #[expect(
        clippy::result_large_err,
        reason = "a refusal names the session; it is rare and on the Logon path only"
    )]
    pub fn route_logon(&mut self, logon: &LogonIdentity<'_>) -> Result<SessionIndex, RouteRefusal> {
        let Some(best) = self.best_match(logon) else {
            return Err(self.refusal(logon));
        };
        let mut first_match = None;
        for (index, entry) in self.sessions.iter_mut().enumerate() {
            if entry.matches_comp_ids(logon) && entry.matches(logon) == Ok(best) {
                if !entry.logged_on {
                    entry.logged_on = true;
                    return Ok(SessionIndex(index));
                }
                first_match.get_or_insert(index);
            }
        }
        match first_match.and_then(|index| self.sessions.get(index)) {
            Some(entry) => Err(RouteRefusal::AlreadyLoggedOn(entry.id.clone())),
            None => Err(self.refusal(logon)),
        }
    }

    /// The logged-on sessions a Logon is addressed to: those [`LogonRouter::route_logon`]
    /// refused it for as already logged on.
    pub fn logged_on_matches<'a>(
        &'a self,
        logon: &'a LogonIdentity<'a>,
    ) -> impl Iterator<Item = SessionIndex> + 'a {
        let best = self.best_match(logon);
        self.sessions
            .iter()
            .enumerate()
            .filter(move |(_, entry)| {
                entry.logged_on
                    && entry.matches_comp_ids(logon)
                    && best.is_some_and(|best| entry.matches(logon) == Ok(best))
            })
            .map(|(index, _)| SessionIndex(index))
    }

    /// How many Sub and Location IDs the sessions a Logon is addressed to are configured
    /// with, at most: those sessions are the Logon's. `None` when it is addressed to none.
    fn best_match(&self, logon: &LogonIdentity<'_>) -> Option<usize> {
        self.sessions
            .iter()
            .filter(|entry| entry.matches_comp_ids(logon))
            .filter_map(|entry| entry.matches(logon).ok())
            .max()
    }

    /// Why a Logon addressed to no session is refused.
    fn refusal(&self, logon: &LogonIdentity<'_>) -> RouteRefusal {
        let lossy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let mismatch = self.sessions.iter().find_map(|entry| {
            if !entry.matches_comp_ids(logon) {
                return None;
            }
            let tag = entry.matches(logon).err()?;
            let received = match tag {
                tags::SENDER_SUB_ID => logon.sender_sub_id,
                tags::SENDER_LOCATION_ID => logon.sender_location_id,
                tags::TARGET_SUB_ID => logon.target_sub_id,
                _ => logon.target_location_id,
            };
            Some(RouteRefusal::IdentityMismatch {
                session: entry.id.clone(),
                tag,
                received: lossy(received),
            })
        });
        mismatch.unwrap_or_else(|| RouteRefusal::UnknownSession {
            begin_string: lossy(logon.begin_string),
            sender: lossy(logon.sender_comp_id),
            target: lossy(logon.target_comp_id),
        })
    }

    /// Marks the session free again once its connection has ended. Returns whether it was
    /// logged on (`false` too for an index out of range).
    pub fn release(&mut self, index: SessionIndex) -> bool {
        self.sessions
            .get_mut(index.0)
            .is_some_and(|entry| core::mem::replace(&mut entry.logged_on, false))
    }

    /// Adds session `id`, logged on (a template made it for a Logon); returns its index.
    pub fn add_logged_on(&mut self, id: SessionId) -> SessionIndex {
        self.sessions.push(Entry {
            id,
            logged_on: true,
        });
        SessionIndex(self.sessions.len() - 1)
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
