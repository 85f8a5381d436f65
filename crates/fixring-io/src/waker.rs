//! The waker: an eventfd the backend waits on and any thread writes to.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Weak};

use crate::{Mode, Wake};

/// The backend's side of its waker: a close-on-exec eventfd, closed when this is dropped.
#[derive(Debug)]
pub struct EventFd {
    fd: Arc<OwnedFd>,
}

impl EventFd {
    /// A new eventfd with a zero counter, blocking or not by `mode` (a backend that reads it
    /// through io_uring wants it blocking, one that waits for its readiness non-blocking).
    pub fn new(mode: Mode) -> io::Result<Self> {
        let flags = match mode {
            Mode::Blocking => libc::EFD_CLOEXEC,
            Mode::NonBlocking => libc::EFD_CLOEXEC | libc::EFD_NONBLOCK,
        };
        // Safety: eventfd takes no pointers; the result is checked before use.
        let raw = unsafe { libc::eventfd(0, flags) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // Safety: a non-negative eventfd result is a new descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self { fd: Arc::new(fd) })
    }

    /// A waker writing to this eventfd.
    pub fn waker(&self) -> Waker {
        Waker {
            fd: Arc::downgrade(&self.fd),
        }
    }

    /// Resets the counter of a non-blocking eventfd so that it stops reporting readable.
    pub fn drain(&self) {
        let mut counter = [0u8; 8];
        // Safety: reads at most 8 bytes into a live local array from a descriptor this value
        // keeps open. A failure means the counter was already zero (EAGAIN): nothing to reset.
        let _ = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                counter.as_mut_ptr().cast(),
                counter.len(),
            )
        };
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Interrupts a backend's `poll` from any thread by writing to the backend's [`EventFd`].
///
/// Cheap to clone. Once the backend has dropped its eventfd (shut down, or dropped itself),
/// waking does nothing: a waker does not keep the descriptor open.
#[derive(Clone, Debug)]
pub struct Waker {
    fd: Weak<OwnedFd>,
}

impl Waker {
    /// A waker of a backend that is shut down: waking it does nothing.
    pub fn dead() -> Self {
        Self { fd: Weak::new() }
    }
}

impl Wake for Waker {
    fn wake(&self) {
        let Some(fd) = self.fd.upgrade() else {
            return;
        };
        let one = 1u64.to_ne_bytes();
        // Safety: writes 8 bytes from a live local array to an eventfd kept open by `fd` for
        // the call. A failure can only mean the counter is saturated: a wake is pending.
        let _ = unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }
}
