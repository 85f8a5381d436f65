//! Ring setup, submission and waiting.
//!
//! The ring is set up with `SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG` when the kernel has
//! them (falling back to `COOP_TASKRUN | TASKRUN_FLAG`, then to a plain ring), or with `SQPOLL`
//! when asked. A single-issuer ring is created disabled and enabled on the first submission,
//! so that the thread which drives it, not the one which built it, becomes its issuer; that
//! thread also registers the ring's descriptor (registered rings are per thread), so that
//! every later enter skips the descriptor lookup.
//!
//! With `TASKRUN_FLAG` the kernel raises `IORING_SQ_TASKRUN` in the shared ring when
//! completions wait for this thread to enter: the busy-poll step looks at that flag and at the
//! completion queue in user space, and enters only when one of them (or a queued submission)
//! says there is something to do.
//!
//! Every `io_uring_enter` and `io_uring_register` the ring makes is counted
//! ([`Ring::calls`]); so is how many enters have issued everything queued before them
//! ([`Ring::issued`]), which is what tells a send whose success posts no completion
//! (`SKIP_SUCCESS`) that it is over.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use io_uring::squeue::Entry;
use io_uring::types::{SubmitArgs, Timespec};
use io_uring::{EnterFlags, IoUring, Submitter, cqueue};

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

impl RingMode {
    /// Whether the kernel issues an entry inside the enter that submits it, so that an entry
    /// which cannot wait (`MSG_DONTWAIT`) is over when that enter returns.
    pub(crate) fn issues_inline(self) -> bool {
        self != RingMode::SqPoll
    }
}

/// One completion, copied out of the completion queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cqe {
    pub(crate) user_data: u64,
    pub(crate) result: i32,
    pub(crate) flags: u32,
    /// The operation stays armed (multishot) and will complete again.
    pub(crate) more: bool,
}

/// The ring, the submitter that holds its registered descriptor, and its counters.
pub(crate) struct Ring {
    /// Borrows `uring` (boxed, so it never moves); declared first, so dropped first.
    submitter: Submitter<'static>,
    uring: Box<IoUring>,
    mode: RingMode,
    /// The thread that first used the ring (its issuer), once one has.
    issuer: Option<std::thread::ThreadId>,
    /// The issuer registered the ring's descriptor (a per-thread registration).
    ring_fd_registered: bool,
    in_flight: usize,
    calls: u64,
    issued: u64,
    /// Enters that ran the task work waiting for this thread (`GETEVENTS`).
    task_runs: u64,
}

// Safety: the submitter's pointers and references lead into `uring` (its boxed fields and its
// mappings), which moves with it and is owned by this value alone; nothing in either is tied
// to the thread that created them (the issuer is chosen at the first enter).
unsafe impl Send for Ring {}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("mode", &self.mode)
            .field("issuer", &self.issuer)
            .field("in_flight", &self.in_flight)
            .field("calls", &self.calls)
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
        for (tried, &mode) in attempts.iter().enumerate() {
            let calls = u64::try_from(tried).unwrap_or(0) + 1;
            let mut builder = IoUring::builder();
            builder.setup_cqsize(cq_entries).setup_clamp();
            match mode {
                RingMode::DeferTaskrun => {
                    builder
                        .setup_single_issuer()
                        .setup_defer_taskrun()
                        .setup_taskrun_flag()
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
                    let uring = Box::new(uring);
                    // Safety: the submitter borrows the boxed ring, whose heap address never
                    // changes; the field order drops the submitter before the box, and no
                    // `&mut IoUring` is ever taken while both live (the queues are reached
                    // through the `_shared` accessors).
                    let submitter = unsafe {
                        std::mem::transmute::<Submitter<'_>, Submitter<'static>>(uring.submitter())
                    };
                    return Ok(Self {
                        submitter,
                        uring,
                        mode,
                        issuer: None,
                        ring_fd_registered: false,
                        in_flight: 0,
                        calls,
                        issued: 0,
                        task_runs: 0,
                    });
                }
                Err(e) if is_einval(&e) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// How the ring was set up.
    pub(crate) fn mode(&self) -> RingMode {
        self.mode
    }

    /// Operations submitted whose final completion has not arrived.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The `io_uring_setup`, `io_uring_enter` and `io_uring_register` calls made so far.
    pub(crate) fn calls(&self) -> u64 {
        self.calls
    }

    /// How many enters returned with every entry queued before them issued.
    pub(crate) fn issued(&self) -> u64 {
        self.issued
    }

    /// How many enters have run the task work waiting for this thread.
    pub(crate) fn task_runs(&self) -> u64 {
        self.task_runs
    }

    /// Whether the kernel flags task work waiting for this thread while nothing else is to
    /// be done on the ring: a `DEFER_TASKRUN` ring (whose task work runs only inside this
    /// thread's enters) with nothing queued to submit, nothing in the completion queue and no
    /// overflow.
    pub(crate) fn only_task_work_waits(&self) -> bool {
        if self.mode != RingMode::DeferTaskrun || self.sq_len() > 0 || self.cq_ready() {
            return false;
        }
        // Safety: a transient handle; no other submission queue handle exists.
        let sq = unsafe { self.uring.submission_shared() };
        sq.taskrun() && !sq.cq_overflow()
    }

    /// Counts `n` system calls made on the ring's behalf.
    fn count(&mut self, n: u64) {
        self.calls += n;
    }

    /// Registers a sparse table of `n` fixed files.
    pub(crate) fn register_files_sparse(&mut self, n: u32) -> io::Result<()> {
        self.count(1);
        self.submitter.register_files_sparse(n)
    }

    /// Drops the fixed-file table (closing the files only it still held).
    pub(crate) fn unregister_files(&mut self) -> io::Result<()> {
        self.count(1);
        self.submitter.unregister_files()
    }

    /// Puts `fd` (or nothing, for `-1`) at `offset` of the fixed-file table.
    pub(crate) fn update_file(&mut self, offset: u32, fd: RawFd) -> io::Result<()> {
        self.count(1);
        self.submitter
            .register_files_update(offset, &[fd])
            .map(drop)
    }

    /// Registers a provided-buffer ring.
    ///
    /// # Safety
    ///
    /// The ring memory (`entries` entries at `addr`, page-aligned) must stay valid until the
    /// ring is dropped.
    pub(crate) unsafe fn register_buf_ring(
        &mut self,
        addr: u64,
        entries: u16,
        group: u16,
        flags: u16,
    ) -> io::Result<()> {
        self.count(1);
        // Safety: forwarded from this function's contract.
        unsafe {
            self.submitter
                .register_buf_ring_with_flags(addr, entries, group, flags)
        }
    }

    /// On the first use: enables a ring created disabled, making the calling thread its
    /// single issuer, and registers the ring's descriptor for this thread.
    fn ensure_ready(&mut self) -> io::Result<()> {
        if self.issuer.is_some() {
            return Ok(());
        }
        if self.mode == RingMode::DeferTaskrun {
            self.count(1);
            self.submitter.register_enable_rings()?;
        }
        self.issuer = Some(std::thread::current().id());
        if self.mode != RingMode::SqPoll {
            self.count(1);
            // A kernel without registered rings (before 5.18) enters by descriptor.
            self.ring_fd_registered = self.submitter.register_ring_fd().is_ok();
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
            // Safety: forwarded from this function's contract; no other submission queue
            // handle exists (each is dropped before this one is made).
            let pushed = unsafe { self.uring.submission_shared().push_multiple(entries) };
            match pushed {
                Ok(()) => {
                    self.in_flight += entries.len();
                    return Ok(());
                }
                Err(_) if self.sq_len() == 0 => break,
                Err(_) => self.submit()?,
            }
        }
        Err(io::Error::from_raw_os_error(libc::EBUSY))
    }

    /// Records that an operation ended without a completion (a send whose success was
    /// skipped).
    pub(crate) fn ended_silently(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    fn sq_len(&self) -> usize {
        // Safety: a transient handle; no other submission queue handle exists.
        unsafe { self.uring.submission_shared().len() }
    }

    /// Whether completions wait for this thread to enter (`IORING_SQ_TASKRUN`) or the
    /// completion queue overflowed into the kernel.
    fn kernel_has_work(&self) -> bool {
        // Safety: a transient handle; no other submission queue handle exists.
        let sq = unsafe { self.uring.submission_shared() };
        sq.taskrun() || sq.cq_overflow()
    }

    /// Whether completions overflowed the completion queue into the kernel's list (they
    /// reach the queue at the next enter).
    pub(crate) fn cq_overflowed(&self) -> bool {
        // Safety: a transient handle; no other submission queue handle exists.
        unsafe { self.uring.submission_shared().cq_overflow() }
    }

    /// Whether completions wait in the completion queue.
    fn cq_ready(&self) -> bool {
        // Safety: a transient handle; no other completion queue handle exists.
        unsafe { !self.uring.completion_shared().is_empty() }
    }

    /// Marks the entries queued before an enter as issued, if the enter took them all.
    fn after_enter(&mut self) {
        if self.sq_len() == 0 {
            self.issued += 1;
        }
    }

    /// Submits queued operations without waiting.
    pub(crate) fn submit(&mut self) -> io::Result<()> {
        if self.sq_len() == 0 {
            return Ok(());
        }
        self.ensure_ready()?;
        if self.mode != RingMode::SqPoll || self.sq_need_wakeup() {
            self.count(1);
        }
        let res = self.submitter.submit();
        self.after_enter();
        match res {
            Ok(_) => Ok(()),
            Err(e) if transient(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn sq_need_wakeup(&self) -> bool {
        // Safety: a transient handle; no other submission queue handle exists.
        unsafe { self.uring.submission_shared().need_wakeup() }
    }

    /// The busy-poll step: submits what is queued and runs pending completions without
    /// sleeping, entering the kernel only when there is something to submit or run.
    /// Whether the completion queue may hold something afterwards.
    pub(crate) fn get_events(&mut self) -> io::Result<bool> {
        self.ensure_ready()?;
        let pending = self.sq_len() > 0;
        let needs_enter = match self.mode {
            // The kernel thread submits and completes; enter only to wake it or flush an
            // overflow.
            RingMode::SqPoll => {
                if (pending && self.sq_need_wakeup()) || self.kernel_has_work() {
                    self.count(1);
                    let res = self.submitter.submit();
                    return match res {
                        Ok(_) => Ok(true),
                        Err(e) if transient(&e) => Ok(true),
                        Err(e) => Err(e),
                    };
                }
                return Ok(self.cq_ready());
            }
            // Without the flag the kernel cannot say when task work waits.
            RingMode::Plain => true,
            RingMode::DeferTaskrun | RingMode::CoopTaskrun => pending || self.kernel_has_work(),
        };
        if !needs_enter {
            return Ok(self.cq_ready());
        }
        let to_submit = u32::try_from(self.sq_len()).unwrap_or(u32::MAX);
        self.count(1);
        self.task_runs += 1;
        // Safety: no argument structure is passed (`None`), so the kernel reads no user memory
        // beyond the rings it owns; the flags only ask it to submit and reap.
        let res = unsafe {
            self.submitter
                .enter::<libc::sigset_t>(to_submit, 0, EnterFlags::GETEVENTS.bits(), None)
        };
        self.after_enter();
        match res {
            Ok(_) => Ok(true),
            Err(e) if transient(&e) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Submits and sleeps until one completion arrives or `timeout` passes: one enter.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.ensure_ready()?;
        if self.cq_ready() {
            // Something to reap already: submit without sleeping.
            return self.get_events().map(drop);
        }
        self.count(1);
        self.task_runs += 1;
        let res = match timeout {
            Some(t) => {
                let ts = Timespec::from(t);
                let args = SubmitArgs::new().timespec(&ts);
                self.submitter.submit_with_args(1, &args)
            }
            None => self.submitter.submit_and_wait(1),
        };
        self.after_enter();
        match res {
            Ok(_) => Ok(()),
            Err(e) if transient(&e) || e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Moves every available completion into `into`.
    pub(crate) fn reap(&mut self, into: &mut Vec<Cqe>) {
        // Safety: a transient handle; no other completion queue handle exists.
        let cq = unsafe { self.uring.completion_shared() };
        for cqe in cq {
            let more = cqueue::more(cqe.flags());
            if !more {
                self.in_flight = self.in_flight.saturating_sub(1);
            }
            into.push(Cqe {
                user_data: cqe.user_data(),
                result: cqe.result(),
                flags: cqe.flags(),
                more,
            });
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // The registration holds the ring open; it lives in the issuer's thread, and only
        // that thread can undo it (elsewhere the index would name another ring). Dropped on
        // another thread, the ring is freed when the issuer exits.
        if self.ring_fd_registered && self.issuer == Some(std::thread::current().id()) {
            self.calls += 1;
            let _ = self.submitter.unregister_ring_fd();
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
