//! `fixring check-config` as a user runs it: a valid file and a broken one.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Writes `text` to a file of a directory unique to this test process and file name; the
/// test removes it with [`remove_settings`].
fn write_settings(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "fixring-cli-check-config-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

fn remove_settings(path: &std::path::Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn check_config(path: &PathBuf) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fixring"))
        .arg("check-config")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("running fixring: {e}"))
}

#[test]
fn a_valid_file_prints_its_sessions() {
    let path = write_settings(
        "valid.cfg",
        "[DEFAULT]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=A\n\
         BusyPoll=spin\nFavouriteColour=blue\n\
         [SESSION]\nTargetCompID=B\nSocketConnectHost=primary\nSocketConnectPort=9001\n\
         SocketConnectHost1=backup\nSocketConnectPort1=9002\nHostSelectionPolicy=PRIORITY\n\
         FileStorePath=store\nStartTime=17:00:00 America/New_York\nEndTime=16:58:00\n\
         TimeZone=America/New_York\nStartDay=Sun\nEndDay=fri\n",
    );
    let output = check_config(&path);
    remove_settings(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("FIX.4.4:A->B"), "{stdout}");
    assert!(stdout.contains("primary:9001"), "{stdout}");
    assert!(stdout.contains("backup:9002"), "{stdout}");
    assert!(stdout.contains("PRIORITY"), "{stdout}");
    assert!(stdout.contains("spin"), "{stdout}");
    assert!(
        stdout.contains(
            "schedule:    weekly Sunday 17:00:00 America/New_York - Friday 16:58:00 \
             America/New_York, new sequence numbers at each start"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("store:       up to 16777216 bytes kept for resending, files in store"),
        "{stdout}"
    );
    assert!(
        stderr.contains(":6: FavouriteColour: unknown key, ignored"),
        "{stderr}"
    );
}

#[test]
fn session_keys_and_identity_parts_are_described() {
    let path = write_settings(
        "rules.cfg",
        "[DEFAULT]\nConnectionType=acceptor\nBeginString=FIX.4.2\nSenderCompID=A\n\
         SocketAcceptPort=9001\nResetOnLogout=Y\nTimestampPrecision=6\n\
         [SESSION]\nTargetCompID=B\nTargetSubID=DESK1\nResendRequestChunkSize=50\n\
         [SESSION]\nTargetCompID=B\nTargetSubID=DESK2\nCheckCompID=N\n",
    );
    let output = check_config(&path);
    remove_settings(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("FIX.4.2:A->B/DESK1"), "{stdout}");
    assert!(stdout.contains("FIX.4.2:A->B/DESK2"), "{stdout}");
    assert!(
        stdout.contains("identity:    TargetSubID DESK1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ResetOnLogout Y, ResetOnDisconnect N"),
        "{stdout}"
    );
    assert!(
        stdout.contains("TimestampPrecision 6 (microseconds)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ResendRequestChunkSize 50 messages"),
        "{stdout}"
    );
    assert!(stdout.contains("CheckCompID N"), "{stdout}");
    assert!(stderr.is_empty(), "no key is unknown or ignored: {stderr}");
}

#[test]
fn a_broken_file_exits_2_with_every_error() {
    let path = write_settings(
        "broken.cfg",
        "[DEFAULT]\nConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=A\n\
         [SESSION]\nTargetCompID=B\nSocketAcceptPort=99999\nHeartBtInt=often\n",
    );
    let output = check_config(&path);
    remove_settings(&path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let file = path.display().to_string();
    assert!(
        stderr.contains(&format!("{file}:7: SocketAcceptPort:")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{file}:8: HeartBtInt:")),
        "{stderr}"
    );
}

/// `run` and `check-config` say the same about a file: its warnings, and its errors after
/// them, even when there are errors.
#[test]
fn run_and_check_config_print_the_same_warnings_and_errors() {
    let path = write_settings(
        "warned.cfg",
        "[DEFAULT]\nConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=A\n\
         FavouriteColour=blue\n[SESSION]\nTargetCompID=B\nSocketAcceptPort=99999\n",
    );
    let checked = check_config(&path);
    let run = Command::new(env!("CARGO_BIN_EXE_fixring"))
        .arg("run")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("running fixring: {e}"));
    remove_settings(&path);
    let file = path.display().to_string();
    for (command, output) in [("check-config", &checked), ("run", &run)] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        let warning = stderr.find(&format!("{file}:5: FavouriteColour: unknown key, ignored"));
        let error = stderr.find(&format!("{file}:8: SocketAcceptPort:"));
        assert!(
            warning.is_some() && error.is_some() && warning < error,
            "{command}: {stderr}"
        );
    }
    assert_eq!(
        checked.stderr, run.stderr,
        "the same words from both commands"
    );
}

#[test]
fn an_acceptor_s_allow_list_is_described() {
    let path = write_settings(
        "allowed.cfg",
        "[DEFAULT]\nConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=A\n\
         SocketAcceptPort=9000\n[SESSION]\nTargetCompID=B\nAllowedRemoteAddresses=10.0.0.1,::1\n\
         [SESSION]\nTargetCompID=C\n",
    );
    let output = check_config(&path);
    remove_settings(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("  allowed:     AllowedRemoteAddresses 10.0.0.1, ::1\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  allowed:     any address (no AllowedRemoteAddresses)\n"),
        "{stdout}"
    );
}

#[test]
fn a_template_of_dynamic_sessions_is_described_and_an_initiator_s_refused() {
    let path = write_settings(
        "template.cfg",
        "[DEFAULT]\nBeginString=FIX.4.4\nSenderCompID=A\nTargetCompID=*\n\
         [SESSION]\nConnectionType=acceptor\nSocketAcceptPort=9000\nAcceptorTemplate=Y\n",
    );
    let output = check_config(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("  template:    AcceptorTemplate=Y: a Logon for no configured session that fits FIX.4.4:A->*"),
        "{stdout}"
    );
    std::fs::write(
        &path,
        "[DEFAULT]\nBeginString=FIX.4.4\nSenderCompID=A\nTargetCompID=B\n\
         [SESSION]\nConnectionType=initiator\nSocketConnectHost=127.0.0.1\n\
         SocketConnectPort=9000\nAcceptorTemplate=Y\n",
    )
    .expect("rewrite");
    let output = check_config(&path);
    remove_settings(&path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(":9: AcceptorTemplate: "), "{stderr}");
}
