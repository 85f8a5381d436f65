//! Helpers shared by fixring's integration tests: free ports, self-removing temporary
//! directories, bounded child processes, RSA test certificates, the QuickFIX C++ peer, and for
//! the reliability tests a fault-injecting proxy, their common set-up and the process's
//! descriptor and memory counts.
//!
//! Each test crate includes this with `mod common;` and uses a subset of it.
#![allow(
    dead_code,
    reason = "each integration test crate compiles this module and uses only part of it"
)]

pub(crate) mod certs;
pub(crate) mod flood;
pub(crate) mod netns;
pub(crate) mod proxy;
pub(crate) mod quickfix;
pub(crate) mod recorder;
pub(crate) mod rig;
pub(crate) mod vitals;

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// A TCP port on 127.0.0.1 that was free a moment ago: bound to port 0, read, released.
///
/// Another process may take it before the caller binds it; tests accept that small race.
pub(crate) fn free_port() -> u16 {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("cannot bind 127.0.0.1:0 to find a free port: {e}"),
    }
}

/// SendingTime (52) as of now, as a peer stamps it: the engine checks it against its clock.
pub(crate) fn sending_time_now() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut buf = [0u8; fixring::core::UtcTimestamp::FIX_LEN];
    fixring::core::UtcTimestamp::from_unix_millis(millis).write_fix(&mut buf);
    format!("52={}", String::from_utf8_lossy(&buf))
}

/// A fresh directory under the system temporary directory, removed with its contents on drop.
#[derive(Debug)]
pub(crate) struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// The directory's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover directory in /tmp must not fail a test that passed.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Creates `fixring-<name>-<pid>-<n>` under [`std::env::temp_dir`], unique within the run.
pub(crate) fn temp_dir(name: &str) -> TempDir {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("fixring-{name}-{}-{n}", std::process::id()));
    // A stale directory of a crashed run with the same pid is replaced.
    let _ = std::fs::remove_dir_all(&path);
    if let Err(e) = std::fs::create_dir_all(&path) {
        panic!("cannot create temporary directory {}: {e}", path.display());
    }
    TempDir { path }
}

/// What a finished command printed.
#[derive(Debug)]
pub(crate) struct CommandOutput {
    /// Its standard output.
    pub(crate) stdout: String,
    /// Its standard error.
    pub(crate) stderr: String,
}

/// Runs `command` to completion within `timeout` (killing it past that) and returns its output;
/// an error names the program and says why: not installed, failed, or too slow.
pub(crate) fn run_bounded(
    command: &mut Command,
    timeout: Duration,
) -> Result<CommandOutput, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let stdout = child.stdout.take().map(read_to_end_in_thread);
    let stderr = child.stderr.take().map(read_to_end_in_thread);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!(
                    "`{program}` did not finish within {timeout:?}; killed"
                ));
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => break Err(format!("cannot wait for `{program}`: {e}")),
        }
    };
    let output = CommandOutput {
        stdout: stdout.map(join_text).unwrap_or_default(),
        stderr: stderr.map(join_text).unwrap_or_default(),
    };
    let status = status?;
    if status.success() {
        Ok(output)
    } else {
        Err(format!(
            "`{program}` failed ({status}):\n{}{}",
            output.stdout, output.stderr
        ))
    }
}

fn read_to_end_in_thread<R: Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join_text(handle: thread::JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}
