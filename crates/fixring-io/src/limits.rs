//! The process's descriptor limit: raised to what it may be at start-up, since every
//! connection, and every socket waiting for one, holds a descriptor.

use std::io;

/// What [`raise_nofile`] did to the soft `RLIMIT_NOFILE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NofileLimit {
    /// The soft limit was already the hard one.
    Unchanged(u64),
    /// The soft limit went from `from` up to the hard limit `to`.
    Raised {
        /// The soft limit before.
        from: u64,
        /// The hard limit, now the soft one too.
        to: u64,
    },
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit.
pub fn raise_nofile() -> io::Result<NofileLimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // Safety: `limit` is a valid, writable rlimit for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur >= limit.rlim_max {
        return Ok(NofileLimit::Unchanged(limit.rlim_cur));
    }
    let from = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    // Safety: `limit` is a valid rlimit for the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(NofileLimit::Raised {
        from,
        to: limit.rlim_max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        raise_nofile().expect("raise");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // Safety: as above.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(limit.rlim_cur, limit.rlim_max);
        assert!(matches!(
            raise_nofile(),
            Ok(NofileLimit::Unchanged(n)) if n == limit.rlim_max
        ));
    }
}
