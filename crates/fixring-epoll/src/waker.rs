//! The eventfd that lets another thread interrupt a wait.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Weak};

use fixring_io::Wake;

/// Creates a non-blocking, close-on-exec eventfd.
pub(crate) fn eventfd() -> io::Result<Arc<File>> {
    // Safety: eventfd takes no pointers; the result is checked before use.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // Safety: `fd` is a fresh descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(Arc::new(File::from(owned)))
}

/// Resets the eventfd's counter so that it stops reporting readable.
pub(crate) fn drain(eventfd: &File) {
    let mut counter = [0u8; 8];
    // A failure means the counter was already zero (EAGAIN): nothing to reset.
    let _ = (&*eventfd).read(&mut counter);
}

/// Wakes an [`EpollBackend`](crate::EpollBackend)'s `poll` from any thread.
///
/// Cheap to clone. Once the backend is shut down or dropped, waking does nothing: the waker
/// does not keep the backend's eventfd open.
#[derive(Clone, Debug)]
pub struct EpollWaker {
    eventfd: Weak<File>,
}

impl EpollWaker {
    pub(crate) fn new(eventfd: &Arc<File>) -> Self {
        Self {
            eventfd: Arc::downgrade(eventfd),
        }
    }

    /// A waker of a backend that is shut down: waking it does nothing.
    pub(crate) fn dead() -> Self {
        Self {
            eventfd: Weak::new(),
        }
    }
}

impl Wake for EpollWaker {
    fn wake(&self) {
        if let Some(eventfd) = self.eventfd.upgrade() {
            // EAGAIN means the counter is saturated, so the backend is woken already.
            let _ = (&*eventfd).write(&1u64.to_ne_bytes());
        }
    }
}
