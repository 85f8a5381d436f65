//! Where a session stands on its current connection, with what each state needs to know.

use super::{CloseReason, SessionState};

/// The session's state on its current connection, carrying what only some states have: why
/// the connection must close, whether its Logon exchange completed, whether a TestRequest of
/// ours awaits an answer. [`SessionState`] is derived from it.
///
/// Transitions consume the state and return the next one; what a state knows of the Logon
/// exchange and of a pending close goes along with it (see [`State::into_parts`]).
#[derive(Debug)]
pub(super) enum State {
    /// No connection.
    Disconnected,
    /// Connected; the Logon exchange has not completed. `sent` tells whether our Logon is out.
    AwaitingLogon { sent: bool },
    /// Logged on: application messages flow.
    ///
    /// `then_close` is set only when a Logon completed while our Logout refusing an earlier
    /// one was still waiting to be written: the connection closes, for that reason, once
    /// everything queued is out.
    Active {
        test_request_outstanding: bool,
        then_close: Option<CloseReason>,
    },
    /// A Logout of ours is queued or out. With `then_close` (a violation, the answer to the
    /// peer's Logout, a refused Logon) the connection closes for that reason once everything
    /// queued is written; without it (a local Logout) the peer's answer is awaited.
    LoggingOut {
        logon: Logon,
        then_close: Option<CloseReason>,
    },
    /// The connection must be closed, for `reason`.
    Closing { reason: CloseReason, logon: Logon },
}

/// What a connection's Logon exchange came to, for the states that follow either way.
#[derive(Clone, Copy, Debug)]
pub(super) enum Logon {
    /// It did not complete (the peer's Logon was refused, or never came).
    Incomplete,
    /// It completed; `test_request_outstanding` tells whether a TestRequest of ours is
    /// unanswered (its timer may still run while the connection closes).
    Completed { test_request_outstanding: bool },
}

impl State {
    /// The public view of the state.
    pub(super) fn public(&self) -> SessionState {
        match self {
            Self::Disconnected => SessionState::Disconnected,
            Self::AwaitingLogon { sent } => SessionState::AwaitingLogon { sent: *sent },
            Self::Active { .. } => SessionState::Active,
            Self::LoggingOut { .. } => SessionState::LoggingOut,
            Self::Closing { .. } => SessionState::Closing,
        }
    }

    /// Whether the connection is up and not closing: the peer's messages are read.
    pub(super) fn is_open(&self) -> bool {
        !matches!(self, Self::Disconnected | Self::Closing { .. })
    }

    /// Whether the current connection completed the Logon exchange (and still counts as
    /// logged on while it closes).
    pub(super) fn is_logon_completed(&self) -> bool {
        match self {
            Self::Active { .. } => true,
            Self::LoggingOut { logon, .. } | Self::Closing { logon, .. } => {
                matches!(logon, Logon::Completed { .. })
            }
            Self::Disconnected | Self::AwaitingLogon { .. } => false,
        }
    }

    /// Whether a TestRequest of ours is unanswered.
    pub(super) fn is_test_request_outstanding(&self) -> bool {
        match self {
            Self::Active {
                test_request_outstanding,
                ..
            }
            | Self::LoggingOut {
                logon:
                    Logon::Completed {
                        test_request_outstanding,
                    },
                ..
            }
            | Self::Closing {
                logon:
                    Logon::Completed {
                        test_request_outstanding,
                    },
                ..
            } => *test_request_outstanding,
            _ => false,
        }
    }

    /// Records whether a TestRequest of ours is unanswered, in the states that keep track.
    pub(super) fn set_test_request_outstanding(&mut self, outstanding: bool) {
        if let Self::Active {
            test_request_outstanding,
            ..
        }
        | Self::LoggingOut {
            logon: Logon::Completed {
                test_request_outstanding,
            },
            ..
        }
        | Self::Closing {
            logon: Logon::Completed {
                test_request_outstanding,
            },
            ..
        } = self
        {
            *test_request_outstanding = outstanding;
        }
    }

    /// Why the connection must close, once it is closing.
    pub(super) fn closing_reason(&self) -> Option<&CloseReason> {
        match self {
            Self::Closing { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// Why the connection must close, whether it is closing already or will once its
    /// Logout is written.
    pub(super) fn close_reason(&self) -> Option<&CloseReason> {
        match self {
            Self::Active { then_close, .. } | Self::LoggingOut { then_close, .. } => {
                then_close.as_ref()
            }
            Self::Closing { reason, .. } => Some(reason),
            Self::Disconnected | Self::AwaitingLogon { .. } => None,
        }
    }

    /// The Logon exchange completed.
    pub(super) fn logged_on(self) -> Self {
        let (_, then_close) = self.into_parts();
        Self::Active {
            test_request_outstanding: false,
            then_close,
        }
    }

    /// We sent a Logout of our own accord; the peer's answer is awaited.
    pub(super) fn logging_out(self) -> Self {
        let (logon, then_close) = self.into_parts();
        Self::LoggingOut { logon, then_close }
    }

    /// A Logout goes out, and then the connection closes: for the reason already decided,
    /// if any, or else for `reason`.
    pub(super) fn logging_out_then_close(self, reason: CloseReason) -> Self {
        let (logon, then_close) = self.into_parts();
        Self::LoggingOut {
            logon,
            then_close: Some(then_close.unwrap_or(reason)),
        }
    }

    /// The peer logged out: our answer goes out, and then the connection closes for `reason`.
    pub(super) fn answering_logout(self, reason: CloseReason) -> Self {
        let (logon, _) = self.into_parts();
        Self::LoggingOut {
            logon,
            then_close: Some(reason),
        }
    }

    /// The connection must close now: for the reason already decided, if any, or else for
    /// `reason`.
    pub(super) fn closing(self, reason: CloseReason) -> Self {
        let (logon, then_close) = self.into_parts();
        Self::Closing {
            reason: then_close.unwrap_or(reason),
            logon,
        }
    }

    /// Whether the state waits for everything queued to be written, then closes.
    pub(super) fn closes_when_flushed(&self) -> bool {
        matches!(
            self,
            Self::Active {
                then_close: Some(_),
                ..
            } | Self::LoggingOut {
                then_close: Some(_),
                ..
            }
        )
    }

    /// Everything queued has been written: a state waiting for that to close now closes.
    pub(super) fn flushed(self) -> Self {
        match self {
            Self::Active {
                test_request_outstanding,
                then_close: Some(reason),
            } => Self::Closing {
                reason,
                logon: Logon::Completed {
                    test_request_outstanding,
                },
            },
            Self::LoggingOut {
                logon,
                then_close: Some(reason),
            } => Self::Closing { reason, logon },
            state => state,
        }
    }

    /// What the state carries on to the next one: how the Logon exchange went, and why the
    /// connection must close, if that is decided.
    fn into_parts(self) -> (Logon, Option<CloseReason>) {
        match self {
            Self::Disconnected | Self::AwaitingLogon { .. } => (Logon::Incomplete, None),
            Self::Active {
                test_request_outstanding,
                then_close,
            } => (
                Logon::Completed {
                    test_request_outstanding,
                },
                then_close,
            ),
            Self::LoggingOut { logon, then_close } => (logon, then_close),
            Self::Closing { reason, logon } => (logon, Some(reason)),
        }
    }
}
