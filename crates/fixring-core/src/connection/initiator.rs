//! An initiator's connection schedule: when to connect, to which host, and when to give up.

use core::fmt;
use core::time::Duration;

use super::hosts::HostSelector;
use super::state::{ConnectionState, Lifecycle, StateKind, TransitionError};
use crate::config::{ConnectionType, HostConfig, InitiatorConfig};
use crate::timer::{TimerName, TimerTable};
use crate::{ErrorCode, Instant};

/// The timers of an [`InitiatorSchedule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The next connection attempt is due (`ReconnectInterval` after a failure or a loss).
    Reconnect,
    /// The attempt under way has run out of time (`SocketConnectTimeout`).
    ConnectTimeout,
}

impl TimerName for Timer {
    const ALL: &'static [Self] = &[Self::Reconnect, Self::ConnectTimeout];

    fn index(self) -> usize {
        self as usize
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Reconnect => "reconnect",
            Self::ConnectTimeout => "connect_timeout",
        }
    }
}

/// What the engine must do for an initiator, returned by [`InitiatorSchedule::poll_action`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Open a socket to `host` (binding its source address if set) and, for a TLS session,
    /// run the handshake. Report the outcome with [`InitiatorSchedule::handle_connected`] or
    /// [`InitiatorSchedule::handle_connect_failed`].
    Connect {
        /// The index of `host` in `InitiatorConfig::hosts`.
        host_index: usize,
        /// The host to connect to.
        host: &'a HostConfig,
        /// When the attempt times out; the schedule's [`InitiatorSchedule::poll_timeout`]
        /// includes it.
        timeout_at: Instant,
    },
    /// Cancel the attempt to `host_index` and close its socket: it timed out or the engine is
    /// stopping. A completion that still arrives for it is refused with a [`TransitionError`].
    AbortConnect {
        /// The index of the host whose attempt is abandoned.
        host_index: usize,
    },
}

/// Why an [`InitiatorSchedule`] could not be built.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleError {
    /// `InitiatorConfig::hosts` is empty: there is nowhere to connect to.
    NoHosts,
}

impl ScheduleError {
    /// The interface error code this maps onto: [`ErrorCode::ConfigError`].
    pub const fn code(self) -> ErrorCode {
        ErrorCode::ConfigError
    }
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoHosts => f.write_str("initiator has no SocketConnectHost to connect to"),
        }
    }
}

impl std::error::Error for ScheduleError {}

/// What an initiator has done so far, for the reliability figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Connection attempts begun.
    pub attempts: u64,
    /// Attempts that connected.
    pub successes: u64,
    /// Attempts that failed, timeouts included.
    pub failures: u64,
    /// Of the failures, attempts that ran out of time.
    pub timeouts: u64,
    /// Established connections that were lost.
    pub losses: u64,
}

/// The sans-IO schedule of one initiator session's connections.
///
/// It owns the session's [`Lifecycle`] (with [`ConnectionType::Initiator`]), a
/// [`HostSelector`] and two timers, and tells the engine what to do through
/// [`InitiatorSchedule::poll_action`]:
///
/// - [`InitiatorSchedule::start`] makes the first attempt due at once, to host 0.
/// - An attempt that neither connects nor fails within `connect_timeout` is a failure: the
///   schedule asks for [`Action::AbortConnect`].
/// - After a failure or a loss it waits `reconnect_interval`, then attempts again on the host
///   the selection policy picks. A failure whose code is not transient
///   ([`ErrorCode::is_transient`]) is not retried.
/// - [`InitiatorSchedule::stop`] cancels everything and returns to `stopped`.
///
/// The engine calls [`InitiatorSchedule::handle_timeout`] (or just `poll_action`) once
/// [`InitiatorSchedule::poll_timeout`] has passed.
#[derive(Clone, Debug)]
pub struct InitiatorSchedule {
    hosts: Vec<HostConfig>,
    reconnect_interval: Duration,
    connect_timeout: Duration,
    lifecycle: Lifecycle,
    selector: HostSelector,
    timers: TimerTable<Timer, 2>,
    abort: Option<usize>,
    connect_ready: bool,
    counters: Counters,
}

impl InitiatorSchedule {
    /// A stopped schedule for `config`.
    pub fn new(config: &InitiatorConfig) -> Result<Self, ScheduleError> {
        if config.hosts.is_empty() {
            return Err(ScheduleError::NoHosts);
        }
        Ok(Self {
            hosts: config.hosts.clone(),
            reconnect_interval: config.reconnect_interval,
            connect_timeout: config.connect_timeout,
            lifecycle: Lifecycle::new(ConnectionType::Initiator),
            selector: HostSelector::new(
                config.host_selection,
                config.hosts.len(),
                config.priority_start_over_interval,
            ),
            timers: TimerTable::new(),
            abort: None,
            connect_ready: false,
            counters: Counters::default(),
        })
    }

    /// The current connection state.
    pub fn state(&self) -> &ConnectionState {
        self.lifecycle.state()
    }

    /// What has happened so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// How long an attempt may take (`SocketConnectTimeout`).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The host of the current or last attempt.
    pub fn current_host(&self) -> Option<usize> {
        self.selector.current()
    }

    /// The deadline of `timer`, if armed.
    pub fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    /// Starts the initiator at `now`: the first attempt, to host 0, is due at once.
    ///
    /// Returns `false`, doing nothing, when the schedule is already running.
    pub fn start(&mut self, now: Instant) -> bool {
        if !self.lifecycle.state().is_stopped() {
            return false;
        }
        self.selector.reset();
        self.begin_attempt(now);
        true
    }

    /// The earliest instant at which [`InitiatorSchedule::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Handles every timer that has expired at `now`, in deadline order. A connect timeout
    /// fails the attempt as of its deadline (queuing [`Action::AbortConnect`] if its connect
    /// was handed out); a due
    /// reconnect begins a new attempt at `now` (queuing [`Action::Connect`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((timer, deadline)) = self.timers.poll_expired(now) {
            match timer {
                Timer::ConnectTimeout => {
                    let handed_out = self.handed_out_attempt();
                    if self
                        .disconnect(deadline, ErrorCode::ConnectionRefused, true)
                        .is_ok()
                    {
                        self.counters.timeouts += 1;
                        if handed_out.is_some() {
                            self.abort = handed_out;
                        }
                    }
                }
                Timer::Reconnect => self.begin_attempt(now),
            }
        }
    }

    /// Whether [`InitiatorSchedule::poll_action`] has anything to do at `now`: an action
    /// queued, or a timer expired.
    pub fn is_due(&self, now: Instant) -> bool {
        self.abort.is_some()
            || self.connect_ready
            || self.timers.next_deadline().is_some_and(|d| d <= now)
    }

    /// The next thing the engine must do at `now`, after handling the timers that have
    /// expired (as [`InitiatorSchedule::handle_timeout`] does). An abort comes before a new
    /// connect.
    pub fn poll_action(&mut self, now: Instant) -> Option<Action<'_>> {
        self.handle_timeout(now);
        if let Some(host_index) = self.abort.take() {
            return Some(Action::AbortConnect { host_index });
        }
        if !self.connect_ready {
            return None;
        }
        self.connect_ready = false;
        let ConnectionState::Pending { host_index, .. } = *self.lifecycle.state() else {
            return None;
        };
        let timeout_at = self.timers.get(Timer::ConnectTimeout)?;
        let host = self.hosts.get(host_index)?;
        Some(Action::Connect {
            host_index,
            host,
            timeout_at,
        })
    }

    /// The attempt under way connected at `now` (TCP up and, for TLS, the handshake done).
    ///
    /// Fails when no attempt is pending, e.g. for an attempt already timed out: the engine
    /// then closes that socket.
    pub fn handle_connected(&mut self, now: Instant) -> Result<(), TransitionError> {
        self.lifecycle.connected(now)?;
        self.timers.stop(Timer::ConnectTimeout);
        self.connect_ready = false;
        self.selector.connected();
        self.counters.successes += 1;
        Ok(())
    }

    /// The attempt under way failed at `now` with `code` (usually
    /// [`ErrorCode::ConnectionRefused`] or [`ErrorCode::SslHandshakeFailed`]).
    ///
    /// Reports are read by the state they arrive in: in `connected` this is a loss without an
    /// answer, as [`InitiatorSchedule::handle_unanswered`]. In `stopped` or `disconnected` there is nothing to
    /// fail and the report is refused.
    pub fn handle_connect_failed(
        &mut self,
        now: Instant,
        code: ErrorCode,
    ) -> Result<(), TransitionError> {
        self.disconnect(now, code, true)
    }

    /// The established connection was lost at `now` with `code` (usually
    /// [`ErrorCode::ConnectionLost`]).
    ///
    /// In `pending` (a socket that closed before it was reported connected) this is a failed
    /// attempt, as [`InitiatorSchedule::handle_connect_failed`]. In `stopped` or
    /// `disconnected` the report is refused.
    pub fn handle_lost(&mut self, now: Instant, code: ErrorCode) -> Result<(), TransitionError> {
        self.disconnect(now, code, false)
    }

    /// The connection was lost at `now` with `code` without its host answering: the Logon
    /// exchange never completed, or the logged-on peer went silent. The lifecycle records a
    /// loss, as [`InitiatorSchedule::handle_lost`]; for the choice of the next host it is a
    /// failure of this one, as after [`InitiatorSchedule::handle_connect_failed`], so a dead
    /// link is not tried first again.
    pub fn handle_unanswered(
        &mut self,
        now: Instant,
        code: ErrorCode,
    ) -> Result<(), TransitionError> {
        self.disconnect(now, code, true)
    }

    /// Stops the initiator: timers and queued connects are dropped, and an attempt under way
    /// is aborted ([`Action::AbortConnect`], only if its connect was handed out). An established connection is the engine's to
    /// log out and close.
    pub fn stop(&mut self) -> Result<(), TransitionError> {
        let handed_out = self.handed_out_attempt();
        self.lifecycle.stop()?;
        self.timers.stop_all();
        self.connect_ready = false;
        if handed_out.is_some() {
            self.abort = handed_out;
        }
        Ok(())
    }

    /// Holds a disconnected initiator outside its session's schedule: the reconnect due is
    /// dropped, and no attempt is made until [`InitiatorSchedule::resume`]. Returns whether
    /// a reconnect was due.
    pub fn pause(&mut self) -> bool {
        let due = self.timers.is_armed(Timer::Reconnect);
        self.timers.stop(Timer::Reconnect);
        due
    }

    /// The schedule's window opened: a disconnected initiator attempts again at once.
    pub fn resume(&mut self, now: Instant) {
        if self.lifecycle.state().is_disconnected() {
            self.begin_attempt(now);
        }
    }

    /// The host of the pending attempt if its [`Action::Connect`] has been handed to the
    /// engine: only then is there a socket to abort. The abort slot is always empty at that
    /// point, as `poll_action` hands out an abort before the next connect.
    fn handed_out_attempt(&self) -> Option<usize> {
        match *self.lifecycle.state() {
            ConnectionState::Pending { host_index, .. } if !self.connect_ready => Some(host_index),
            _ => None,
        }
    }

    fn begin_attempt(&mut self, now: Instant) {
        if !self.lifecycle.can_transition(StateKind::Pending) {
            return;
        }
        let host_index = self.selector.next_host(now);
        if self.lifecycle.begin_connect(now, host_index).is_ok() {
            self.timers.stop(Timer::Reconnect);
            self.timers
                .set(Timer::ConnectTimeout, now + self.connect_timeout);
            self.connect_ready = true;
            self.counters.attempts += 1;
        }
    }

    /// Moves to `disconnected`: a failed attempt from `pending`, a loss from `connected`.
    /// The host failed (for its selection) when `failed` or when the attempt never
    /// connected.
    fn disconnect(
        &mut self,
        now: Instant,
        code: ErrorCode,
        failed: bool,
    ) -> Result<(), TransitionError> {
        let was_pending = self.lifecycle.state().is_pending();
        self.lifecycle.disconnected(now, code)?;
        if was_pending {
            self.timers.stop(Timer::ConnectTimeout);
            self.connect_ready = false;
            self.counters.failures += 1;
        } else {
            self.counters.losses += 1;
        }
        if was_pending || failed {
            self.selector.failed(now);
        } else {
            self.selector.lost();
        }
        self.schedule_reconnect(now, code);
        Ok(())
    }

    fn schedule_reconnect(&mut self, now: Instant, code: ErrorCode) {
        if code.is_transient() {
            self.timers
                .set(Timer::Reconnect, now + self.reconnect_interval);
        }
    }
}
