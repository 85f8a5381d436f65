//! The waker: an eventfd with a read always posted on the ring.

use std::cell::UnsafeCell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use fixring_io::{Completion, Wake};
use io_uring::opcode;
use io_uring::types::Fd;

use crate::UringBackend;
use crate::token::{OpKind, Token};

/// Interrupts [`UringBackend`]'s `poll` from any thread by writing to its eventfd.
#[derive(Clone, Debug)]
pub struct UringWaker {
    fd: Arc<OwnedFd>,
}

impl Wake for UringWaker {
    fn wake(&self) {
        let one = 1u64.to_ne_bytes();
        // Safety: writes 8 bytes from a live local array to an eventfd this waker keeps open.
        // A failure can only mean the counter is saturated, in which case a wake is pending.
        let _ = unsafe { libc::write(self.fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }
}

/// The backend's side of the waker: the eventfd and the buffer its read fills.
#[derive(Debug)]
pub(crate) struct WakeSlot {
    fd: Arc<OwnedFd>,
    buf: Box<UnsafeCell<u64>>,
    armed: bool,
}

// Safety: `buf` is written only by the kernel while the read is armed and never read by the
// backend; moving the owner to another thread moves the only handle to it.
unsafe impl Send for WakeSlot {}

impl WakeSlot {
    /// A new blocking eventfd (its reads go through the ring, never through a syscall).
    pub(crate) fn new() -> io::Result<Self> {
        // Safety: eventfd takes no pointers; the result is checked.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // Safety: a non-negative eventfd result is a new descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self {
            fd: Arc::new(fd),
            buf: Box::new(UnsafeCell::new(0)),
            armed: false,
        })
    }

    /// Whether the eventfd read is in flight.
    pub(crate) fn armed(&self) -> bool {
        self.armed
    }

    /// A waker writing to this eventfd.
    pub(crate) fn waker(&self) -> UringWaker {
        UringWaker {
            fd: Arc::clone(&self.fd),
        }
    }
}

impl UringBackend {
    /// Posts the eventfd read.
    pub(crate) fn arm_wake(&mut self) -> io::Result<()> {
        if self.shut_down || self.waker.armed {
            return Ok(());
        }
        let entry = opcode::Read::new(
            Fd(self.waker.fd.as_raw_fd()),
            self.waker.buf.get().cast::<u8>(),
            8,
        )
        .build()
        .user_data(Token::new(OpKind::Wake, 0, 0).encode());
        // Safety: the 8-byte target is boxed (fixed address) and the eventfd is held by the
        // backend; both live until the backend is dropped, after shutdown waited for this read.
        unsafe { self.ring.push(&[entry])? };
        self.waker.armed = true;
        Ok(())
    }

    /// Handles the completion of the eventfd read: reports the wake and re-arms.
    pub(crate) fn on_wake(&mut self, result: i32, out: &mut Vec<Completion>) {
        self.waker.armed = false;
        if result >= 0 {
            out.push(Completion::Woken);
        }
        if result != -libc::ECANCELED {
            // A refused re-arm is retried by the next flush, which reports the error.
            let _ = self.arm_wake();
        }
    }
}
