//! The QuickFIX C++ 1.15.1 peer (`tests/peer/quickfix_peer.cpp`) as a child process: built once
//! per test run, configured through a settings file, followed line by line on its stdout.
//!
//! Every wait is bounded; a peer that outlives its test is killed (only that child, by its
//! handle) when the [`QuickFixPeer`] drops.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::certs::Pki;
use super::{TempDir, run_bounded, temp_dir};

/// How long [`QuickFixPeer::spawn`] waits for the peer's `READY` line.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`QuickFixPeer::stop`] waits for the peer to exit after `quit`.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a compile of the peer may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(180);

/// Which side of the FIX session the peer plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerRole {
    /// Listens (`SocketAcceptor`, or `ThreadedSSLSocketAcceptor` with TLS).
    Acceptor,
    /// Connects (`SocketInitiator`, or `SSLSocketInitiator` with TLS).
    Initiator,
}

/// The peer's TLS material. QuickFIX reads it from `[DEFAULT]` only, and only RSA keys load.
#[derive(Debug, Clone)]
pub(crate) struct PeerTls {
    /// Its own certificate (PEM).
    pub(crate) cert: PathBuf,
    /// Its own private key (PEM).
    pub(crate) key: PathBuf,
    /// CA certificates to verify the other side with; `None` verifies nothing.
    pub(crate) ca: Option<PathBuf>,
    /// `CertificateVerifyLevel`: 0 none, 1 require, 2 optional (ignored without `ca`).
    pub(crate) verify_level: u8,
}

impl PeerTls {
    /// The server side of `pki`, requiring a client certificate signed by its CA.
    pub(crate) fn server(pki: &Pki) -> Self {
        Self {
            cert: pki.server_cert.clone(),
            key: pki.server_key.clone(),
            ca: Some(pki.ca_cert.clone()),
            verify_level: 1,
        }
    }

    /// The client side of `pki`, checking the server's chain against its CA.
    pub(crate) fn client(pki: &Pki) -> Self {
        Self {
            cert: pki.client_cert.clone(),
            key: pki.client_key.clone(),
            ca: Some(pki.ca_cert.clone()),
            verify_level: 1,
        }
    }
}

/// One FIX.4.4 session of the peer, rendered into a QuickFIX settings file.
#[derive(Debug, Clone)]
pub(crate) struct PeerSettings {
    /// Acceptor or initiator.
    pub(crate) role: PeerRole,
    /// `SocketAcceptPort` of an acceptor, `SocketConnectPort` (on 127.0.0.1) of an initiator.
    pub(crate) port: u16,
    /// The peer's own CompID.
    pub(crate) sender_comp_id: String,
    /// The other side's CompID.
    pub(crate) target_comp_id: String,
    /// `HeartBtInt` in seconds.
    pub(crate) heart_bt_int: u32,
    /// `ReconnectInterval` in seconds (initiator).
    pub(crate) reconnect_interval: u32,
    /// `ResetOnLogon`: both sides start at sequence number 1.
    pub(crate) reset_on_logon: bool,
    /// TLS, or plain TCP when `None`.
    pub(crate) tls: Option<PeerTls>,
    /// More `[DEFAULT]` keys, written last (e.g. `("LogonTimeout", "2")`); with `StartTime`
    /// (and `EndTime`) they replace the always-open schedule.
    pub(crate) extra: Vec<(String, String)>,
}

impl PeerSettings {
    /// An acceptor listening on `port` as `sender` for `target`.
    pub(crate) fn acceptor(port: u16, sender: &str, target: &str) -> Self {
        Self::new(PeerRole::Acceptor, port, sender, target)
    }

    /// An initiator connecting to 127.0.0.1:`port` as `sender` to `target`.
    pub(crate) fn initiator(port: u16, sender: &str, target: &str) -> Self {
        Self::new(PeerRole::Initiator, port, sender, target)
    }

    fn new(role: PeerRole, port: u16, sender: &str, target: &str) -> Self {
        Self {
            role,
            port,
            sender_comp_id: sender.to_owned(),
            target_comp_id: target.to_owned(),
            heart_bt_int: 30,
            reconnect_interval: 1,
            reset_on_logon: true,
            tls: None,
            extra: Vec::new(),
        }
    }

    /// The settings file's text.
    pub(crate) fn render(&self) -> String {
        let mut s = String::from("[DEFAULT]\n");
        let mut key = |k: &str, v: &dyn std::fmt::Display| {
            let _ = writeln!(s, "{k}={v}");
        };
        match self.role {
            PeerRole::Acceptor => {
                key("ConnectionType", &"acceptor");
                key("SocketAcceptPort", &self.port);
            }
            PeerRole::Initiator => {
                key("ConnectionType", &"initiator");
                key("SocketConnectHost", &"127.0.0.1");
                key("SocketConnectPort", &self.port);
                key("ReconnectInterval", &self.reconnect_interval);
            }
        }
        // Always open, unless `extra` gives a schedule of its own.
        if !self.extra.iter().any(|(k, _)| k == "StartTime") {
            key("StartTime", &"00:00:00");
            key("EndTime", &"00:00:00");
        }
        key("UseDataDictionary", &"N");
        key("SocketNodelay", &"Y");
        key("HeartBtInt", &self.heart_bt_int);
        key("ResetOnLogon", &if self.reset_on_logon { "Y" } else { "N" });
        if let Some(tls) = &self.tls {
            let (cert, private_key) = match self.role {
                PeerRole::Acceptor => ("ServerCertificateFile", "ServerCertificateKeyFile"),
                PeerRole::Initiator => ("ClientCertificateFile", "ClientCertificateKeyFile"),
            };
            key(cert, &tls.cert.display());
            key(private_key, &tls.key.display());
            if let Some(ca) = &tls.ca {
                key("CertificationAuthoritiesFile", &ca.display());
            }
            key("CertificateVerifyLevel", &tls.verify_level);
        }
        for (k, v) in &self.extra {
            key(k, v);
        }
        s.push_str("\n[SESSION]\nBeginString=FIX.4.4\n");
        let _ = writeln!(s, "SenderCompID={}", self.sender_comp_id);
        let _ = writeln!(s, "TargetCompID={}", self.target_comp_id);
        s
    }
}

/// A running QuickFIX peer process.
#[derive(Debug)]
pub(crate) struct QuickFixPeer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    cursor: usize,
    stderr: Arc<Mutex<String>>,
    _dir: TempDir,
}

impl QuickFixPeer {
    /// Builds the peer (once per test run; again only when the source is newer than the
    /// binary) and returns the binary's path, or an error naming the missing package.
    pub(crate) fn binary() -> Result<PathBuf, String> {
        static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        BINARY.get_or_init(build).clone()
    }

    /// Writes `settings` to a file, starts the peer with `args` (e.g. `["--orders", "1000"]`)
    /// and waits for its `READY` line (an acceptor is then listening).
    pub(crate) fn spawn(settings: &PeerSettings, args: &[&str]) -> Result<Self, String> {
        let binary = Self::binary()?;
        let dir = temp_dir("quickfix-peer");
        let path = dir.path().join("peer.cfg");
        std::fs::write(&path, settings.render())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        let role = match settings.role {
            PeerRole::Acceptor => "acceptor",
            PeerRole::Initiator => "initiator",
        };
        let transport = if settings.tls.is_some() {
            "ssl"
        } else {
            "plain"
        };
        let name = format!(
            "QuickFIX {role} {}->{} ({transport})",
            settings.sender_comp_id, settings.target_comp_id
        );
        let mut child = Command::new(&binary)
            .args([role, transport])
            .arg(&path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    if let Ok(mut text) = sink.lock() {
                        text.push_str(&String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])));
                    }
                }
            });
        }
        let mut peer = Self {
            name,
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            cursor: 0,
            stderr,
            _dir: dir,
        };
        // Lines printed before READY stay unconsumed for `wait_for_line`.
        let ready = peer.find(0, READY_TIMEOUT, |l| l == "READY" || l.starts_with("ERROR"))?;
        if peer.seen.get(ready).is_some_and(|l| l == "READY") {
            Ok(peer)
        } else {
            Err(peer.diagnose("failed to start"))
        }
    }

    /// Waits up to `timeout` for the next line starting with `prefix` and returns it. Lines
    /// are consumed in order: a line passed over is not matched by a later call. On timeout
    /// or exit the error lists the lines seen and the peer's stderr.
    pub(crate) fn wait_for_line(
        &mut self,
        prefix: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        let found = self.find(self.cursor, timeout, |l| l.starts_with(prefix))?;
        self.cursor = found + 1;
        Ok(self.seen.get(found).cloned().unwrap_or_default())
    }

    /// Every line the peer printed so far (all of them after [`stop`](Self::stop)).
    pub(crate) fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Asks the peer to log out and exit (`quit`, then end of stdin) and waits up to 5 s; kills
    /// it past that. Ok only when it exited on its own with status 0.
    pub(crate) fn stop(&mut self) -> Result<(), String> {
        if let Some(mut stdin) = self.stdin.take() {
            // It may have exited already (an initiator after `--orders`): nothing to tell.
            let _ = stdin.write_all(b"quit\n").and_then(|()| stdin.flush());
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        let outcome = loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => break Ok(()),
                Ok(Some(status)) => break Err(format!("exited with {status}")),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break Err(format!(
                        "did not exit within {STOP_TIMEOUT:?} of `quit`; killed"
                    ));
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(e) => break Err(format!("cannot wait for it: {e}")),
            }
        };
        self.drain();
        outcome.map_err(|why| self.diagnose(&why))
    }

    /// Scans `seen[from..]`, then new lines, for one matching `pred`; returns its index.
    fn find(
        &mut self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<usize, String> {
        if let Some(i) = self.seen.iter().skip(from).position(|l| pred(l)) {
            return Ok(from + i);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let matched = pred(&line);
                    self.seen.push(line);
                    if matched {
                        return Ok(self.seen.len() - 1);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.diagnose(&format!("no expected line within {timeout:?}")));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.child.wait();
                    return Err(self.diagnose("closed its stdout before the expected line"));
                }
            }
        }
    }

    /// Collects the lines still in flight after the process exited (bounded).
    fn drain(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(line);
        }
    }

    fn diagnose(&mut self, why: &str) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => format!("exited: {status}"),
            Ok(None) => "still running".to_owned(),
            Err(e) => format!("status unknown: {e}"),
        };
        let mut text = format!("{}: {why} ({status})\n", self.name);
        let skip = self.seen.len().saturating_sub(60);
        let _ = writeln!(
            text,
            "--- stdout ({} lines, last {}):",
            self.seen.len(),
            self.seen.len() - skip
        );
        for line in self.seen.iter().skip(skip) {
            let _ = writeln!(text, "{line}");
        }
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let _ = write!(text, "--- stderr:\n{stderr}");
        text
    }
}

impl Drop for QuickFixPeer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Compiles the peer into the test target directory, to a temporary name then renamed, so
/// concurrent test binaries never run a half-written file.
fn build() -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/quickfix_peer.cpp");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("quickfix-peer");
    let binary = dir.join("quickfix_peer");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let source_time =
        modified(&source).ok_or_else(|| format!("missing peer source {}", source.display()))?;
    if modified(&binary).is_some_and(|built: SystemTime| built >= source_time) {
        return Ok(binary);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let partial = dir.join(format!("quickfix_peer.{}.partial", std::process::id()));
    let started = Instant::now();
    let compiled = run_bounded(
        Command::new("g++")
            .args([
                "-std=c++11",
                "-O2",
                "-DHAVE_SSL=1",
                "-Wall",
                "-Wno-deprecated",
                "-o",
            ])
            .arg(&partial)
            .arg(&source)
            .args(["-lquickfix", "-lssl", "-lcrypto", "-lpthread"]),
        BUILD_TIMEOUT,
    );
    if let Err(e) = compiled {
        let _ = std::fs::remove_file(&partial);
        return Err(format!(
            "building the QuickFIX peer failed{}\n{e}",
            missing_package(&e)
        ));
    }
    std::fs::rename(&partial, &binary)
        .map_err(|e| format!("moving the peer to {}: {e}", binary.display()))?;
    eprintln!("built the QuickFIX peer in {:.1?}", started.elapsed());
    Ok(binary)
}

/// Which Debian package a failed compile most likely lacks, as a hint to append.
fn missing_package(error: &str) -> &'static str {
    let missing = |header: &str, library: &str| {
        (error.contains(header) && error.contains("No such file")) || error.contains(library)
    };
    if error.starts_with("cannot run `g++`") {
        ": g++ is not installed (apt-get install g++, or run scripts/test)"
    } else if missing("openssl/", "cannot find -lssl") || error.contains("cannot find -lcrypto") {
        ": OpenSSL headers are not installed (apt-get install libssl-dev, or run scripts/test)"
    } else if missing("quickfix/", "cannot find -lquickfix") {
        ": QuickFIX C++ is not installed (apt-get install libquickfix-dev, or run scripts/test)"
    } else {
        ""
    }
}
