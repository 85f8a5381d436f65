//! Which of an initiator's hosts the next connection attempt goes to.
//!
//! An initiator lists its hosts as `SocketConnectHost`/`SocketConnectPort` (index 0, the
//! primary) followed by `SocketConnectHost1..N`. `HostSelectionPolicy` chooses among them.
//!
//! # Round robin
//!
//! The first attempt goes to host 0 and every later attempt to the next host, wrapping around,
//! whatever happened to the previous one. This is QuickFIX C++'s default rotation. (QuickFIX/J
//! also rotates on every attempt but starts again from host 0 after each successful logon; we
//! keep the plain rotation the blueprint describes.)
//!
//! # Priority
//!
//! QuickFIX C++'s `PRIORITY` policy (`HostDetailsProvider`) goes back to host 0 when the last
//! attempt is older than `HostSelectionPolicyPriorityStartOverInterval`, and otherwise moves to
//! the next host; QuickFIX/J has no such policy. That rule never leaves host 0 when the
//! interval is no longer than `ReconnectInterval`. We keep its intent, stay on host 0
//! whenever possible and fail over only when a host fails, with these exact rules, which work
//! for every interval (0 included):
//!
//! 1. The first attempt goes to host 0.
//! 2. After host `i` failed, the next attempt goes to host `i + 1`, wrapping to 0 after the
//!    last host. A host fails when its attempt fails (refused, timed out, TLS handshake
//!    failed), when its connection ends before the Logon exchange completed, and when its
//!    logged-on connection is dropped because the peer went silent: a dead link or a hung
//!    peer is not tried first again. A failure of host 0 starts the failover clock: host 0
//!    was abandoned at that instant.
//! 3. After a logged-on connection to host `i` is lost otherwise (the peer closed it or
//!    logged out), the next attempt goes to host `i` again: it was answering a moment ago.
//! 4. Start over: when rule 3 would pick a host other than 0 and the start-over interval has
//!    passed since host 0 was abandoned (the failover clock, compared with the time of the
//!    new attempt), the attempt goes to host 0 instead.
//! 5. A successful connection to host 0 stops the failover clock.
//!
//! With a single host every attempt goes to host 0.

use core::time::Duration;

use crate::Instant;
use crate::config::HostSelectionPolicy;

/// How the previous attempt ended, as far as host selection cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// No attempt has been made yet.
    None,
    /// The attempt on `current` is under way or its connection is up.
    InProgress,
    /// The host `current` failed: its attempt failed, or its connection stopped answering.
    Failed,
    /// The connection to `current` was established and then lost, the host still answering.
    Lost,
}

/// Chooses the host of each connection attempt of one initiator session.
///
/// Call [`HostSelector::next_host`] when an attempt begins, then report how it went with
/// [`HostSelector::connected`], [`HostSelector::failed`] or [`HostSelector::lost`]; see the
/// module's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSelector {
    policy: HostSelectionPolicy,
    host_count: usize,
    start_over_interval: Duration,
    current: usize,
    outcome: Outcome,
    primary_abandoned_at: Option<Instant>,
}

impl HostSelector {
    /// A selector over `host_count` hosts. A count of 0 is treated as 1: callers check for an
    /// empty host list before they build a selector.
    pub fn new(
        policy: HostSelectionPolicy,
        host_count: usize,
        start_over_interval: Duration,
    ) -> Self {
        Self {
            policy,
            host_count: host_count.max(1),
            start_over_interval,
            current: 0,
            outcome: Outcome::None,
            primary_abandoned_at: None,
        }
    }

    /// Forgets every previous attempt: the next attempt goes to host 0.
    pub fn reset(&mut self) {
        self.current = 0;
        self.outcome = Outcome::None;
        self.primary_abandoned_at = None;
    }

    /// The host of the current or last attempt, if any attempt has been made.
    pub fn current(&self) -> Option<usize> {
        (self.outcome != Outcome::None).then_some(self.current)
    }

    /// When host 0 was last abandoned under the priority policy, if the failover clock runs.
    pub fn primary_abandoned_at(&self) -> Option<Instant> {
        self.primary_abandoned_at
    }

    /// Chooses the host of an attempt that begins at `now` and records it as current.
    pub fn next_host(&mut self, now: Instant) -> usize {
        let next = match (self.policy, self.outcome) {
            (_, Outcome::None) => 0,
            (HostSelectionPolicy::RoundRobin, _) => self.successor(),
            (HostSelectionPolicy::Priority, Outcome::Lost) => {
                if self.current != 0 && self.start_over_due(now) {
                    0
                } else {
                    self.current
                }
            }
            (HostSelectionPolicy::Priority, _) => self.successor(),
        };
        self.current = next;
        self.outcome = Outcome::InProgress;
        next
    }

    /// The attempt on the current host succeeded.
    pub fn connected(&mut self) {
        if self.current == 0 {
            self.primary_abandoned_at = None;
        }
        self.outcome = Outcome::InProgress;
    }

    /// The current host failed at `now`: its attempt failed, or its connection ended without
    /// an answer (before the Logon exchange completed, or the peer silent).
    pub fn failed(&mut self, now: Instant) {
        if self.current == 0 && self.policy == HostSelectionPolicy::Priority {
            self.primary_abandoned_at = Some(now);
        }
        self.outcome = Outcome::Failed;
    }

    /// The logged-on connection to the current host was lost while the host still answered
    /// (the peer closed it or logged out).
    pub fn lost(&mut self) {
        self.outcome = Outcome::Lost;
    }

    fn successor(&self) -> usize {
        let next = self.current.saturating_add(1);
        if next >= self.host_count { 0 } else { next }
    }

    fn start_over_due(&self, now: Instant) -> bool {
        self.primary_abandoned_at
            .is_some_and(|since| now.saturating_duration_since(since) >= self.start_over_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Instant {
        Instant::from_secs(s)
    }

    #[test]
    fn a_single_host_is_always_chosen() {
        for policy in [
            HostSelectionPolicy::RoundRobin,
            HostSelectionPolicy::Priority,
        ] {
            let mut hosts = HostSelector::new(policy, 1, Duration::from_secs(1));
            for t in 0..5 {
                assert_eq!(hosts.next_host(secs(t * 10)), 0);
                hosts.failed(secs(t * 10));
            }
        }
    }

    #[test]
    fn an_empty_list_behaves_like_one_host() {
        let mut hosts = HostSelector::new(HostSelectionPolicy::RoundRobin, 0, Duration::ZERO);
        assert_eq!(hosts.next_host(secs(0)), 0);
        hosts.failed(secs(0));
        assert_eq!(hosts.next_host(secs(1)), 0);
    }

    #[test]
    fn priority_stays_on_the_primary_after_a_loss() {
        let mut hosts =
            HostSelector::new(HostSelectionPolicy::Priority, 3, Duration::from_secs(120));
        assert_eq!(hosts.next_host(secs(0)), 0);
        hosts.connected();
        hosts.lost();
        assert_eq!(hosts.next_host(secs(530)), 0);
        assert_eq!(hosts.primary_abandoned_at(), None);
    }

    #[test]
    fn priority_fails_over_whatever_the_start_over_interval() {
        for interval in [0, 1, 30] {
            let mut hosts = HostSelector::new(
                HostSelectionPolicy::Priority,
                3,
                Duration::from_secs(interval),
            );
            let mut tried = Vec::new();
            for t in 0..4 {
                tried.push(hosts.next_host(secs(t * 30)));
                hosts.failed(secs(t * 30));
            }
            assert_eq!(tried, [0, 1, 2, 0], "start-over interval {interval} s");
        }
    }

    #[test]
    fn priority_starts_over_when_a_failover_connection_is_lost() {
        let mut hosts = HostSelector::new(HostSelectionPolicy::Priority, 3, Duration::ZERO);
        assert_eq!(hosts.next_host(secs(0)), 0);
        hosts.failed(secs(0));
        assert_eq!(hosts.next_host(secs(1)), 1);
        hosts.connected();
        hosts.lost();
        assert_eq!(hosts.next_host(secs(2)), 0);
    }

    #[test]
    fn reset_starts_again_from_the_primary() {
        let mut hosts = HostSelector::new(HostSelectionPolicy::RoundRobin, 3, Duration::ZERO);
        hosts.next_host(secs(0));
        hosts.next_host(secs(1));
        assert_eq!(hosts.current(), Some(1));
        hosts.reset();
        assert_eq!(hosts.current(), None);
        assert_eq!(hosts.next_host(secs(2)), 0);
    }
}
