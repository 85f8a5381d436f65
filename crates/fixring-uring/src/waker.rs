//! The waker's eventfd read, always posted on the ring.

use std::cell::UnsafeCell;
use std::io;
use std::os::fd::AsRawFd;

use fixring_io::{Completion, EventFd, Mode, Waker};
use io_uring::opcode;
use io_uring::types::Fd;

use crate::UringBackend;
use crate::token::{OpKind, Token};

/// The backend's side of the waker: the eventfd and the buffer its read fills.
#[derive(Debug)]
pub(crate) struct WakeSlot {
    eventfd: EventFd,
    buf: Box<UnsafeCell<u64>>,
    armed: bool,
}

// Safety: `buf` is written only by the kernel while the read is armed and never read by the
// backend; moving the owner to another thread moves the only handle to it.
unsafe impl Send for WakeSlot {}

impl WakeSlot {
    /// A new blocking eventfd (its reads go through the ring, never through a syscall).
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Self {
            eventfd: EventFd::new(Mode::Blocking)?,
            buf: Box::new(UnsafeCell::new(0)),
            armed: false,
        })
    }

    /// Whether the eventfd read is in flight.
    pub(crate) fn armed(&self) -> bool {
        self.armed
    }

    /// A waker writing to this eventfd.
    pub(crate) fn waker(&self) -> Waker {
        self.eventfd.waker()
    }
}

impl UringBackend {
    /// Posts the eventfd read.
    pub(crate) fn arm_wake(&mut self) -> io::Result<()> {
        if self.shut_down || self.waker.armed {
            return Ok(());
        }
        let entry = opcode::Read::new(
            Fd(self.waker.eventfd.as_raw_fd()),
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
