//! Proves the QuickFIX peer harness before it is trusted to judge fixring: QuickFIX talks to
//! itself over loopback, plain and TLS (RSA certificates made at test time). The initiator sends
//! 1000 NewOrderSingles one at a time and prints the round-trip percentiles
//! (`cargo test --test quickfix_selftest -- --nocapture` shows them).

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::certs::rsa_pki;
use common::quickfix::{PeerSettings, PeerTls, QuickFixPeer};
use common::{free_port, temp_dir};

const ORDERS: usize = 1000;
const STEP: Duration = Duration::from_secs(10);
const RUN: Duration = Duration::from_secs(60);

/// The two tests measure latency: they run one after the other, not side by side.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn quickfix_talks_to_itself_over_tcp() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let port = free_port();
    let acceptor = PeerSettings::acceptor(port, "ACC", "INIT");
    let initiator = PeerSettings::initiator(port, "INIT", "ACC");
    if let Err(e) = round_trips("tcp", &acceptor, &initiator) {
        panic!("{e}");
    }
}

#[test]
fn quickfix_talks_to_itself_over_tls() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = temp_dir("quickfix-selftest-pki");
    let pki = match rsa_pki(dir.path()) {
        Ok(pki) => pki,
        Err(e) => panic!("making RSA test certificates: {e}"),
    };
    let port = free_port();
    let mut acceptor = PeerSettings::acceptor(port, "ACC", "INIT");
    acceptor.tls = Some(PeerTls::server(&pki));
    let mut initiator = PeerSettings::initiator(port, "INIT", "ACC");
    initiator.tls = Some(PeerTls::client(&pki));
    if let Err(e) = round_trips("tls", &acceptor, &initiator) {
        panic!("{e}");
    }
}

/// Logs on, runs the closed loop of orders, logs out, and checks every step on both sides.
fn round_trips(
    transport: &str,
    acceptor_settings: &PeerSettings,
    initiator_settings: &PeerSettings,
) -> Result<(), String> {
    let mut acceptor = QuickFixPeer::spawn(acceptor_settings, &[])?;
    let orders = ORDERS.to_string();
    let mut initiator = QuickFixPeer::spawn(initiator_settings, &["--orders", &orders])?;

    acceptor.wait_for_line("LOGON FIX.4.4:ACC->INIT", STEP)?;
    initiator.wait_for_line("LOGON FIX.4.4:INIT->ACC", STEP)?;
    let rtt = initiator.wait_for_line("RTT ", RUN)?;
    println!("QuickFIX <-> QuickFIX over {transport}, closed loop: {rtt}");

    let count = rtt_value(&rtt, "count")?;
    if count != ORDERS as u64 {
        return Err(format!("expected count={ORDERS} in `{rtt}`"));
    }
    let (p50, p99, max) = (
        rtt_value(&rtt, "p50_ns")?,
        rtt_value(&rtt, "p99_ns")?,
        rtt_value(&rtt, "max_ns")?,
    );
    if p50 == 0 || p50 > p99 || p99 > max {
        return Err(format!("percentiles out of order in `{rtt}`"));
    }

    // The initiator logs out by itself after its orders; the acceptor answers and stays up.
    initiator.wait_for_line("STOPPED", STEP)?;
    acceptor.wait_for_line("LOGOUT FIX.4.4:ACC->INIT", STEP)?;
    initiator.stop()?;
    acceptor.stop()?;

    expect_count(&acceptor, "APP_IN D C", ORDERS)?;
    expect_count(&initiator, "APP_IN 8 C", ORDERS)?;
    expect_count(&acceptor, "ADMIN_IN 5 ", 1)?;
    expect_count(&initiator, "ADMIN_IN 5 ", 1)?;
    Ok(())
}

/// The number after `key=` in an `RTT` line.
fn rtt_value(line: &str, key: &str) -> Result<u64, String> {
    line.split_whitespace()
        .filter_map(|part| part.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| format!("no numeric {key}= in `{line}`"))
}

fn expect_count(peer: &QuickFixPeer, prefix: &str, expected: usize) -> Result<(), String> {
    let count = peer.seen().iter().filter(|l| l.starts_with(prefix)).count();
    if count == expected {
        Ok(())
    } else {
        Err(format!(
            "expected {expected} lines starting with `{prefix}`, saw {count}"
        ))
    }
}
