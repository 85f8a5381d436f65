//! 1,000 sessions logged on to one acceptor loop, on each backend, with the memory each idle
//! session costs.

mod common;

use std::time::{Duration, Instant};

use common::free_port;
use common::recorder::Recorder;
use fixring::Engine;
use fixring::core::config::Settings;

const SESSIONS: usize = 1_000;
/// The target for one idle session, receive and send buffers included.
const MEMORY_PER_SESSION: u64 = 64 * 1024;

/// Resident memory of this process, from /proc/self/status.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Two thousand sockets need more descriptors than the usual soft limit of 1,024.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // Safety: getrlimit and setrlimit only read and write the local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < 8_192 {
            limit.rlim_cur = limit.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn settings(text: String) -> Settings {
    Settings::parse(&text, None).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_thousand_sessions_on_one_acceptor_loop() {
    raise_fd_limit();
    for transport in ["uring", "epoll"] {
        let port = free_port();
        let mut acceptor = format!(
            "[DEFAULT]\nTransport={transport}\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
             SenderCompID=ACC\nSocketAcceptPort={port}\nSocketAcceptHost=127.0.0.1\nHeartBtInt=60\n\
             BusyPoll=park\n"
        );
        let mut initiator = format!(
            "[DEFAULT]\nTransport={transport}\nConnectionType=initiator\nBeginString=FIX.4.4\n\
             TargetCompID=ACC\nSocketConnectHost=127.0.0.1\nSocketConnectPort={port}\nHeartBtInt=60\n\
             ReconnectInterval=1\nBusyPoll=park\n"
        );
        for n in 0..SESSIONS {
            acceptor.push_str(&format!("[SESSION]\nTargetCompID=C{n}\n"));
            initiator.push_str(&format!("[SESSION]\nSenderCompID=C{n}\n"));
        }
        let before = rss_bytes();
        let acceptor_app = Recorder::new();
        let mut acceptor_engine = Engine::new(settings(acceptor), acceptor_app.clone());
        acceptor_engine.start().expect("acceptor starts");
        let mut initiator_engine = Engine::new(settings(initiator), Recorder::new());
        let began = Instant::now();
        initiator_engine.start().expect("initiator starts");
        acceptor_app.expect_events(
            "fix.connection.established",
            SESSIONS,
            Duration::from_secs(60),
        );
        let took = began.elapsed();
        // Idle for a moment, then measure.
        std::thread::sleep(Duration::from_millis(200));
        let after = rss_bytes();
        // Both ends live in this process: each session appears twice.
        let per_session = after.saturating_sub(before) / (2 * SESSIONS as u64);
        eprintln!(
            "{transport}: {SESSIONS} sessions logged on to one acceptor loop in {took:?}; \
             resident memory {} KiB -> {} KiB, {} bytes per idle session (per side)",
            before / 1024,
            after / 1024,
            per_session
        );
        assert_eq!(acceptor_engine.backends().len(), 1, "one acceptor loop");
        assert!(
            per_session <= MEMORY_PER_SESSION,
            "{per_session} bytes per session"
        );
        initiator_engine.stop();
        initiator_engine.wait().expect("initiator stops");
        acceptor_engine.stop();
        acceptor_engine.wait().expect("acceptor stops");
        assert_eq!(acceptor_app.count("fix.session.logout"), SESSIONS);
    }
}
