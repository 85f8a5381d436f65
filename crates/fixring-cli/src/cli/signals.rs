//! SIGINT and SIGTERM, received synchronously by the main thread.

use std::io;

/// The stop signals, blocked in every thread and awaited with `sigwait`.
pub(crate) struct StopSignals {
    set: libc::sigset_t,
}

impl StopSignals {
    /// Blocks SIGINT and SIGTERM in this thread and in every thread it spawns from now on.
    pub(crate) fn block() -> io::Result<Self> {
        // Safety: `set` is a plain C struct that sigemptyset initialises before any other use;
        // the calls only read and write that local value and this thread's signal mask.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            Ok(Self { set })
        }
    }

    /// Waits up to `timeout` for one of the signals; `None` when none came.
    pub(crate) fn wait_timeout(&self, timeout: std::time::Duration) -> Option<i32> {
        let spec = libc::timespec {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::from(timeout.subsec_nanos()),
        };
        // Safety: `self.set` was initialised by `block`; a null info pointer is allowed; `spec`
        // is a valid timespec that outlives the call.
        let signal = unsafe { libc::sigtimedwait(&self.set, std::ptr::null_mut(), &spec) };
        (signal > 0).then_some(signal)
    }

    /// Waits for one of the signals and returns its number.
    pub(crate) fn wait(&self) -> i32 {
        let mut signal = 0;
        // Safety: `self.set` was initialised by `block`, and `signal` is a valid place for
        // sigwait to write the received signal number.
        let rc = unsafe { libc::sigwait(&self.set, &mut signal) };
        if rc == 0 { signal } else { libc::SIGTERM }
    }
}
