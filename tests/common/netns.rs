//! Network namespaces joined to the root namespace by real links, for tests of what an engine
//! does when a link dies: each [`Netns`] is a namespace with a veth pair to the root
//! namespace, a /30 of its own, a way to run code inside it, and a way to make its link go
//! dead without a word.
//!
//! The tests that use this need root and iproute2's `ip netns`; without them [`Netns::new`]
//! panics and says so, rather than letting the test pass untried.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use super::{CommandOutput, run_bounded};

/// Where `ip netns` keeps a named namespace: a file that holds it open (iproute2's
/// `NETNS_RUN_DIR`).
const NETNS_RUN_DIR: &str = "/var/run/netns";

/// The namespaces' addresses come from 198.18.0.0/15, set aside for benchmarking network
/// devices (RFC 2544), one /30 each.
const FIRST_SUBNET: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 0);

/// The /30s of 198.18.0.0/15.
const SUBNETS: u32 = 1 << 15;

/// How many /30s [`free_subnet`] looks at before it gives up.
const SUBNET_TRIES: u32 = 256;

/// /30s a process may take before reaching those of a process whose pid is one greater.
const SUBNETS_PER_PROCESS: u32 = 16;

/// The retries of a closed TCP connection's unacknowledged data, set per namespace.
const ORPHAN_RETRIES: &str = "/proc/sys/net/ipv4/tcp_orphan_retries";

/// How long one `ip` command may take.
const IP_TIMEOUT: Duration = Duration::from_secs(10);

/// The namespace's end of the veth pair, as named inside it.
const INNER_LINK: &str = "veth0";

/// A network namespace joined to the root namespace by a veth pair: `.1` of its /30 on the
/// root side, `.2` inside. Dropping it deletes the pair and the namespace's name; the
/// namespace itself ends with the last thread or socket inside.
#[derive(Debug)]
pub(crate) struct Netns {
    name: String,
    /// The root namespace's end of the veth pair.
    link: String,
    addr: Ipv4Addr,
}

impl Netns {
    /// A fresh namespace `fixring-<pid>-<n>` with its link up (loopback too); panics, saying
    /// why, when namespaces cannot be made here (not root, no `ip`, no kernel support).
    pub(crate) fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        // One at a time within the process, so that two do not pick the same free /30.
        static CREATING: Mutex<()> = Mutex::new(());
        let _alone = CREATING.lock().unwrap_or_else(PoisonError::into_inner);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let index = free_subnet(pid, n);
        let (name, outer) = (format!("fixring-{pid}-{n}"), format!("fxr{pid}-{n}"));
        // What a crashed run with the same pid left is replaced.
        let _ = ip(&format!("link del {outer}"));
        let _ = ip(&format!("netns del {name}"));
        if let Err(e) = ip(&format!("netns add {name}")) {
            panic!(
                "cannot create network namespace {name}; these tests need root and \
                 iproute2's `ip netns`: {e}"
            );
        }
        let network = subnet(index).to_bits();
        let netns = Self {
            name,
            link: outer,
            addr: Ipv4Addr::from_bits(network + 2),
        };
        let (name, outer, addr) = (&netns.name, &netns.link, netns.addr);
        let root_side = Ipv4Addr::from_bits(network + 1);
        // A fixed address for the inner end, so that the root side can know it for good.
        let [_, _, hi, lo] = index.to_be_bytes();
        let mac = format!("02:66:78:00:{hi:02x}:{lo:02x}");
        let steps = [
            format!("link add {outer} type veth peer name {INNER_LINK} address {mac} netns {name}"),
            format!("addr add {root_side}/30 dev {outer}"),
            format!("link set {outer} up"),
            format!("-n {name} addr add {addr}/30 dev {INNER_LINK}"),
            format!("-n {name} link set {INNER_LINK} up"),
            format!("-n {name} link set lo up"),
            // A dead link drops what it is given. Resolving the address again would fail
            // within seconds and answer a connect with "no route to host"; a permanent
            // neighbour entry keeps the silence complete.
            format!("neigh replace {addr} lladdr {mac} dev {outer} nud permanent"),
        ];
        for step in &steps {
            if let Err(e) = ip(step) {
                panic!("setting up network namespace {name}: {e}");
            }
        }
        // A connection closed inside after its link went dead is left retransmitting into
        // it, and holds the namespace for over two minutes at the default of 8 retries; one
        // retry lets it go within seconds of the next.
        if let Err(e) = netns.run_inside(|| std::fs::write(ORPHAN_RETRIES, "1")) {
            panic!("cannot set {ORPHAN_RETRIES} in {name}: {e}");
        }
        netns
    }

    /// The address inside the namespace, reachable from the root namespace over the link.
    pub(crate) fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Makes the link go dead in silence: its inner end goes down while the root side keeps
    /// its route and its neighbour entry, so whatever is sent to the namespace is dropped by
    /// the veth — segments of open connections and the SYNs of new ones alike — and nothing
    /// comes back, not a reset nor an ICMP error. A connect runs into its timeout.
    pub(crate) fn go_silent(&self) {
        if let Err(e) = ip(&format!("-n {} link set {INNER_LINK} down", self.name)) {
            panic!("cannot take the link of {} down: {e}", self.name);
        }
    }

    /// Runs `f` on a thread inside the namespace and returns what it returns. Threads that
    /// `f` spawns are born inside too and stay there: an engine started by `f` listens and
    /// connects from the namespace.
    pub(crate) fn run_inside<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let file = File::open(self.path())
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.path().display()));
        thread::scope(|scope| {
            let inside = scope.spawn(|| {
                // Safety: `file` is an open namespace file for the whole call, and
                // CLONE_NEWNET moves only the calling thread, which runs nothing but `f`.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                if rc != 0 {
                    panic!(
                        "setns into {}: {}",
                        self.name,
                        std::io::Error::last_os_error()
                    );
                }
                f()
            });
            inside
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// How many threads of this process are inside the namespace.
    pub(crate) fn threads_inside(&self) -> usize {
        let identity = |path: &Path| std::fs::metadata(path).map(|m| (m.dev(), m.ino())).ok();
        let Some(ours) = identity(&self.path()) else {
            return 0;
        };
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(Result::ok)
                    .filter(|task| identity(&task.path().join("ns/net")) == Some(ours))
                    .count()
            })
            .unwrap_or(0)
    }

    fn path(&self) -> PathBuf {
        Path::new(NETNS_RUN_DIR).join(&self.name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the root end deletes the pair at once, even while a socket inside still
        // holds the namespace. A leftover must not fail a test that passed, nor hide why one
        // failed: it is only reported.
        let steps = [
            format!("link del {}", self.link),
            format!("netns del {}", self.name),
        ];
        for step in &steps {
            if let Err(e) = ip(step) {
                eprintln!("cleaning up network namespace {}: {e}", self.name);
            }
        }
    }
}

/// The index of a /30 that no interface of the root namespace uses, picked from the pid so
/// that test binaries running side by side keep apart.
fn free_subnet(pid: u32, n: u32) -> u32 {
    let first = pid.wrapping_mul(SUBNETS_PER_PROCESS).wrapping_add(n);
    (0..SUBNET_TRIES)
        .map(|step| first.wrapping_add(step) % SUBNETS)
        .find(|&index| {
            let taken = format!("{}/30", subnet(index));
            ip(&format!("-4 -o addr show to {taken}")).is_ok_and(|o| o.stdout.is_empty())
        })
        .unwrap_or_else(|| panic!("no free /30 in {FIRST_SUBNET}/15 after {SUBNET_TRIES} tries"))
}

/// The network address of the /30 numbered `index`.
fn subnet(index: u32) -> Ipv4Addr {
    Ipv4Addr::from_bits(FIRST_SUBNET.to_bits() + index * 4)
}

/// Runs `ip` with the words of `args`.
fn ip(args: &str) -> Result<CommandOutput, String> {
    run_bounded(Command::new("ip").args(args.split_whitespace()), IP_TIMEOUT)
}
