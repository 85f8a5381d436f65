//! The SendingTime accuracy keys, `CheckLatency` and `MaxLatency`: QuickFIX's defaults, read
//! from `[DEFAULT]` or a session, and their errors with line and key.

use std::time::Duration;

use fixring_core::config::{ConfigErrorKind, Settings};

const ACCEPTOR: &str = "[DEFAULT]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
                        SenderCompID=S\nSocketAcceptPort=9000\n";

/// `(check_latency, max_latency)` of the one session of `ACCEPTOR` with `keys` added to its
/// `[DEFAULT]` and `session_keys` to its `[SESSION]`.
fn latency(keys: &str, session_keys: &str) -> (bool, Duration) {
    let text = format!("{ACCEPTOR}{keys}[SESSION]\nTargetCompID=T\n{session_keys}");
    let settings = Settings::parse(&text, None).unwrap_or_else(|e| panic!("{e}"));
    let session = &settings.sessions[0];
    (session.check_latency, session.max_latency)
}

#[test]
fn check_latency_and_max_latency_default_as_quickfix() {
    assert_eq!(latency("", ""), (true, Duration::from_secs(120)));
    assert_eq!(
        latency("CheckLatency=N\n", ""),
        (false, Duration::from_secs(120))
    );
    assert_eq!(
        latency("MaxLatency=5\n", ""),
        (true, Duration::from_secs(5))
    );
    assert_eq!(
        latency(
            "CheckLatency=N\nMaxLatency=5\n",
            "checklatency=y\nMAXLATENCY=30\n"
        ),
        (true, Duration::from_secs(30))
    );
}

#[test]
fn bad_latency_values_are_errors_with_their_line() {
    for (keys, key, bool_error) in [
        ("CheckLatency=yes\n", "CheckLatency", true),
        ("MaxLatency=two\n", "MaxLatency", false),
        ("MaxLatency=0\n", "MaxLatency", false),
        ("MaxLatency=-1\n", "MaxLatency", false),
    ] {
        let text = format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\n{keys}");
        let errors = Settings::parse(&text, None).expect_err(keys);
        let [error] = &errors.iter().collect::<Vec<_>>()[..] else {
            panic!("one error for {keys}: {errors}");
        };
        assert_eq!((error.line, error.key.as_str()), (8, key), "{error}");
        let kind_is_bool = matches!(error.kind, ConfigErrorKind::InvalidBool { .. });
        assert_eq!(kind_is_bool, bool_error, "{error}");
    }
}
