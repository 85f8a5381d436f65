//! A thin wrapper over one epoll instance: registration by token and a timed wait.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use fixring_io::BackendError;
use fixring_io::slots::SlotKey;

/// Readable (data, end of stream or error pending).
pub(crate) const READ: u32 = libc::EPOLLIN as u32;
/// Writable (room in the socket's send buffer, or a connect finished).
pub(crate) const WRITE: u32 = libc::EPOLLOUT as u32;
/// Error or hang-up, reported whatever the interest.
const FAILED: u32 = (libc::EPOLLERR | libc::EPOLLHUP) as u32;

/// Events gathered by one wait at most.
const BATCH: usize = 256;

/// What a readiness event refers to, packed into epoll's 64-bit user data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// The waker's eventfd.
    Waker,
    /// A listener, by index.
    Listener(u32),
    /// A connection slot, by index and generation (so a stale event never reaches a reused
    /// slot).
    Conn { index: u32, generation: u32 },
}

impl Token {
    /// Packed as a [`SlotKey`] with the kind: 0 the waker, 1 a listener, 2 a connection.
    fn encode(self) -> u64 {
        match self {
            Self::Waker => 0,
            Self::Listener(index) => SlotKey::new(index, 0).pack(1),
            Self::Conn { index, generation } => SlotKey::new(index, generation).pack(2),
        }
    }

    fn decode(data: u64) -> Self {
        match SlotKey::unpack(data) {
            (1, key) => Self::Listener(key.index),
            (2, key) => Self::Conn {
                index: key.index,
                generation: key.generation,
            },
            _ => Self::Waker,
        }
    }
}

/// One readiness event.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready {
    /// What it refers to.
    pub(crate) token: Token,
    /// The raw epoll event bits.
    events: u32,
}

impl Ready {
    /// Readable, or failed (a read then reports why).
    pub(crate) fn readable(&self) -> bool {
        self.events & (READ | FAILED) != 0
    }

    /// Failed: an error or a hang-up.
    pub(crate) fn failed(&self) -> bool {
        self.events & FAILED != 0
    }

    /// Writable, or failed (a write or `SO_ERROR` then reports why).
    pub(crate) fn writable(&self) -> bool {
        self.events & (WRITE | FAILED) != 0
    }
}

/// An epoll instance and the buffer its events land in.
#[derive(Debug)]
pub(crate) struct Poller {
    /// `None` once closed.
    epoll: Option<OwnedFd>,
    events: Vec<libc::epoll_event>,
    /// Whether `epoll_pwait2` (microsecond timeouts, Linux 5.11) is usable here.
    pwait2: bool,
    /// The epoll system calls made (create, ctl, wait).
    pub(crate) calls: u64,
}

impl Poller {
    /// Creates an epoll instance (close-on-exec).
    pub(crate) fn new() -> io::Result<Self> {
        // Safety: epoll_create1 takes no pointers; the result is checked before use.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // Safety: `fd` is a fresh descriptor that nothing else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self {
            epoll: Some(epoll),
            events: vec![libc::epoll_event { events: 0, u64: 0 }; BATCH],
            pwait2: true,
            calls: 1,
        })
    }

    /// Whether the epoll instance is still open.
    pub(crate) fn is_open(&self) -> bool {
        self.epoll.is_some()
    }

    /// Closes the epoll instance; later calls fail with [`BackendError::ShutDown`].
    pub(crate) fn close(&mut self) {
        self.epoll = None;
    }

    fn raw(&self) -> io::Result<RawFd> {
        match &self.epoll {
            Some(fd) => Ok(fd.as_raw_fd()),
            None => Err(BackendError::ShutDown.into()),
        }
    }

    /// Registers `fd` (level-triggered) for `interest`.
    pub(crate) fn add(&mut self, fd: RawFd, token: Token, interest: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, interest)
    }

    /// Changes the interest of a registered `fd`.
    pub(crate) fn modify(&mut self, fd: RawFd, token: Token, interest: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, interest)
    }

    /// Removes `fd`; errors are ignored since closing the descriptor removes it anyway.
    pub(crate) fn delete(&mut self, fd: RawFd) {
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, Token::Waker, 0);
    }

    fn ctl(&mut self, op: libc::c_int, fd: RawFd, token: Token, interest: u32) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: interest,
            u64: token.encode(),
        };
        let epoll = self.raw()?;
        self.calls += 1;
        // Safety: `event` is a valid epoll_event that outlives the call; the kernel copies it.
        let rc = unsafe { libc::epoll_ctl(epoll, op, fd, &mut event) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Waits up to `timeout` (forever when `None`, not at all when zero) and appends the events
    /// to `out`. An interrupted wait returns with nothing.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Ready>,
    ) -> io::Result<()> {
        let n = match timeout {
            Some(t) if !t.is_zero() && self.pwait2 => match self.wait_pwait2(t) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    // Kernel before 5.11 or a seccomp filter: milliseconds it is, from now on.
                    self.pwait2 = false;
                    self.wait_ms(Some(t))
                }
                other => other,
            },
            _ => self.wait_ms(timeout),
        };
        let n = match n {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        out.extend(self.events.iter().take(n).map(|event| {
            // Copies out of the (packed on x86_64) struct; no reference to a field is taken.
            let (events, data) = (event.events, event.u64);
            Ready {
                token: Token::decode(data),
                events,
            }
        }));
        Ok(())
    }

    fn wait_ms(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        let ms = match timeout {
            None => -1,
            // Rounded up, so that a wait never ends before its deadline.
            Some(t) => {
                let ms = t.as_micros().div_ceil(1000);
                libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
            }
        };
        let epoll = self.raw()?;
        let max = libc::c_int::try_from(self.events.len()).unwrap_or(libc::c_int::MAX);
        self.calls += 1;
        // Safety: the buffer holds `max` events and stays borrowed mutably for the call.
        let rc = unsafe { libc::epoll_wait(epoll, self.events.as_mut_ptr(), max, ms) };
        usize::try_from(rc).map_err(|_| io::Error::last_os_error())
    }

    fn wait_pwait2(&mut self, timeout: Duration) -> io::Result<usize> {
        // `c_long` is 32 bits on 32-bit targets, where the conversion is not trivially total.
        #[allow(clippy::unnecessary_fallible_conversions)]
        let ts = libc::timespec {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::try_from(timeout.subsec_nanos()).unwrap_or(0),
        };
        let epoll = self.raw()?;
        let max = libc::c_int::try_from(self.events.len()).unwrap_or(libc::c_int::MAX);
        self.calls += 1;
        // Safety: the event buffer holds `max` events and is borrowed mutably for the call;
        // `ts` outlives it; a null signal mask means "leave the mask alone".
        let rc = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                epoll,
                self.events.as_mut_ptr(),
                max,
                &ts as *const libc::timespec,
                std::ptr::null::<libc::sigset_t>(),
                0usize,
            )
        };
        usize::try_from(rc).map_err(|_| io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn tokens_round_trip() {
        for token in [
            Token::Waker,
            Token::Listener(7),
            Token::Conn {
                index: u32::MAX,
                generation: 0xff_ffff,
            },
            Token::Conn {
                index: 0,
                generation: 1,
            },
        ] {
            assert_eq!(Token::decode(token.encode()), token);
        }
    }
}
