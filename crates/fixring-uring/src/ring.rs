//! Ring setup, submission and waiting.
//!
//! The ring is set up with `SINGLE_ISSUER | DEFER_TASKRUN` when the kernel has them (falling
//! back to `COOP_TASKRUN`, then to a plain ring), or with `SQPOLL` when asked. A
//! single-issuer ring is created disabled and enabled on the first submission, so that the
//! thread which drives it, not the one which built it, becomes its issuer.

use std::io;
use std::time::Duration;

use io_uring::squeue::Entry;
use io_uring::types::{SubmitArgs, Timespec};
use io_uring::{IoUring, cqueue};

use fixring_io::BackendError;

/// How the ring was set up.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingMode {
    /// `SINGLE_ISSUER | DEFER_TASKRUN`: completions run when the loop enters the kernel.
    DeferTaskrun,
    /// `COOP_TASKRUN | TASKRUN_FLAG`: the kernel's fallback before `DEFER_TASKRUN` (Linux 6.1).
    CoopTaskrun,
    /// A ring with no setup flags.
    Plain,
    /// `SQPOLL`: a kernel thread polls the submission queue.
    SqPoll,
}

/// One completion, copied out of the completion queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cqe {
    pub(crate) user_data: u64,
    pub(crate) result: i32,
    /// The operation stays armed (multishot) and will complete again.
    pub(crate) more: bool,
}

/// The ring and the count of operations whose last completion has not arrived.
pub(crate) struct Ring {
    uring: IoUring,
    mode: RingMode,
    enabled: bool,
    in_flight: usize,
    /// System calls on the ring: its set-up, registrations and every `io_uring_enter`.
    calls: u64,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("mode", &self.mode)
            .field("enabled", &self.enabled)
            .field("in_flight", &self.in_flight)
            .finish()
    }
}

/// How long the SQPOLL thread spins before it sleeps, in milliseconds.
const SQPOLL_IDLE_MS: u32 = 1000;
/// How often a push submits to make room before it gives up with `EBUSY`.
const PUSH_ATTEMPTS: usize = 4;

fn is_einval(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

impl Ring {
    /// Sets up a ring of `entries` submissions and `cq_entries` completions.
    pub(crate) fn new(entries: u32, cq_entries: u32, sqpoll: bool) -> io::Result<Self> {
        let attempts: &[RingMode] = if sqpoll {
            &[RingMode::SqPoll, RingMode::Plain]
        } else {
            &[
                RingMode::DeferTaskrun,
                RingMode::CoopTaskrun,
                RingMode::Plain,
            ]
        };
        let mut last = io::Error::from_raw_os_error(libc::EINVAL);
        for &mode in attempts {
            let mut builder = IoUring::builder();
            builder.setup_cqsize(cq_entries).setup_clamp();
            match mode {
                RingMode::DeferTaskrun => {
                    builder
                        .setup_single_issuer()
                        .setup_defer_taskrun()
                        .setup_r_disabled();
                }
                RingMode::CoopTaskrun => {
                    builder.setup_coop_taskrun().setup_taskrun_flag();
                }
                RingMode::SqPoll => {
                    builder.setup_sqpoll(SQPOLL_IDLE_MS);
                }
                RingMode::Plain => {}
            }
            match builder.build(entries) {
                Ok(uring) => {
                    if !uring.params().is_feature_ext_arg() {
                        return Err(BackendError::KernelTooOld(
                            "io_uring's IORING_FEAT_EXT_ARG (Linux 5.11)",
                        )
                        .into());
                    }
                    return Ok(Self {
                        uring,
                        mode,
                        enabled: mode != RingMode::DeferTaskrun,
                        in_flight: 0,
                        calls: 1,
                    });
                }
                Err(e) if is_einval(&e) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// System calls made on the ring so far.
    pub(crate) fn calls(&self) -> u64 {
        self.calls
    }

    /// How the ring was set up.
    pub(crate) fn mode(&self) -> RingMode {
        self.mode
    }

    /// Operations submitted whose final completion has not arrived.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Registers the buffer slab.
    ///
    /// # Safety
    ///
    /// The memory each iovec names must stay valid until the ring is dropped.
    pub(crate) unsafe fn register_buffers(&self, iovecs: &[libc::iovec]) -> io::Result<()> {
        // Safety: forwarded from this function's contract.
        unsafe { self.uring.submitter().register_buffers(iovecs) }
    }

    /// Enables a ring created disabled, making the calling thread its single issuer.
    fn ensure_enabled(&mut self) -> io::Result<()> {
        if !self.enabled {
            self.calls += 1;
            self.uring.submitter().register_enable_rings()?;
            self.enabled = true;
        }
        Ok(())
    }

    /// Queues operations, submitting first when the queue lacks room; linked entries go in
    /// together.
    ///
    /// # Safety
    ///
    /// Every buffer, address and descriptor the entries name must stay valid, and not be
    /// accessed against the operation's use, until the operation's final completion.
    pub(crate) unsafe fn push(&mut self, entries: &[Entry]) -> io::Result<()> {
        for _ in 0..PUSH_ATTEMPTS {
            // Safety: forwarded from this function's contract.
            let pushed = unsafe { self.uring.submission().push_multiple(entries) };
            match pushed {
                Ok(()) => {
                    self.in_flight += entries.len();
                    return Ok(());
                }
                Err(_) if self.uring.submission().is_empty() => break,
                Err(_) => self.submit()?,
            }
        }
        Err(io::Error::from_raw_os_error(libc::EBUSY))
    }

    /// Submits queued operations without waiting.
    pub(crate) fn submit(&mut self) -> io::Result<()> {
        if self.uring.submission().is_empty() {
            return Ok(());
        }
        self.ensure_enabled()?;
        self.calls += 1;
        match self.uring.submit() {
            Ok(_) => Ok(()),
            Err(e) if transient(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Submits queued operations and runs pending completions without sleeping: the busy-poll
    /// step. A `DEFER_TASKRUN` ring posts completions only on an enter with `GETEVENTS`.
    pub(crate) fn get_events(&mut self) -> io::Result<()> {
        self.ensure_enabled()?;
        if self.mode == RingMode::SqPoll {
            // The kernel thread submits and completes; this enters only when the thread
            // sleeps or the completion queue overflowed.
            self.calls += u64::from(self.uring.submission().need_wakeup());
            return match self.uring.submit() {
                Ok(_) => Ok(()),
                Err(e) if transient(&e) => Ok(()),
                Err(e) => Err(e),
            };
        }
        let to_submit = u32::try_from(self.uring.submission().len()).unwrap_or(u32::MAX);
        self.calls += 1;
        // Safety: no argument structure is passed (`None`), so the kernel reads no user memory
        // beyond the rings it owns; the flags only ask it to submit and reap.
        let res = unsafe {
            self.uring.submitter().enter::<libc::sigset_t>(
                to_submit,
                0,
                io_uring::EnterFlags::GETEVENTS.bits(),
                None,
            )
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) if transient(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Submits and sleeps until one completion arrives or `timeout` passes.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.ensure_enabled()?;
        self.calls += 1;
        let res = match timeout {
            Some(t) => {
                let ts = Timespec::from(t);
                let args = SubmitArgs::new().timespec(&ts);
                self.uring.submitter().submit_with_args(1, &args)
            }
            None => self.uring.submitter().submit_and_wait(1),
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) if transient(&e) || e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Moves every available completion into `into`.
    pub(crate) fn reap(&mut self, into: &mut Vec<Cqe>) {
        for cqe in self.uring.completion() {
            let more = cqueue::more(cqe.flags());
            if !more {
                self.in_flight = self.in_flight.saturating_sub(1);
            }
            into.push(Cqe {
                user_data: cqe.user_data(),
                result: cqe.result(),
                more,
            });
        }
    }
}

/// An error from a negative completion result.
pub(crate) fn from_result(res: i32) -> io::Error {
    io::Error::from_raw_os_error(res.saturating_neg())
}

/// Errors of an enter that only mean "try again": a signal, or a completion queue that must
/// be drained first.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINTR) | Some(libc::EBUSY) | Some(libc::EAGAIN)
    )
}
