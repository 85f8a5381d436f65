//! The session keys beyond the connection and the Sub/Location IDs, as settings files write
//! them in each engine's dialect: defaults, spellings, and a `FILE:LINE: Key:` error for
//! every bad value.

use std::path::Path;

use fixring_core::TimestampPrecision;
use fixring_core::config::{SessionRules, Settings};

const ACCEPTOR: &str = "[DEFAULT]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
                        SenderCompID=S\nSocketAcceptPort=9000\n";

fn rules(session: &str) -> SessionRules {
    let text = format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\n{session}");
    let settings = Settings::parse(&text, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
    settings.sessions[0].rules
}

/// Every error of a session's keys, as printed.
fn errors(session: &str) -> String {
    let text = format!("{ACCEPTOR}[SESSION]\nTargetCompID=T\n{session}");
    match Settings::parse(&text, Some(Path::new("t.cfg"))) {
        Ok(settings) => panic!("expected errors, parsed {settings:?}"),
        Err(errors) => errors.to_string(),
    }
}

#[test]
fn defaults_are_quickfix_s() {
    let rules = rules("");
    assert_eq!(rules, SessionRules::default());
    assert!(!rules.reset_on_logout && !rules.reset_on_disconnect && !rules.reset_on_error);
    assert!(!rules.refresh_on_logon && !rules.send_redundant_resend_requests);
    assert_eq!(rules.resend_request_chunk_size, 0);
    assert!(!rules.enable_last_msg_seq_num_processed);
    assert!(rules.requires_orig_sending_time && rules.check_comp_id);
    assert!(rules.validate_length_and_checksum);
    assert!(!rules.send_logout_before_timeout_disconnect && !rules.cme_enhanced_resend);
    assert!(rules.validate_sequence_numbers);
    assert_eq!(rules.timestamp_precision, TimestampPrecision::Millis);
}

#[test]
fn every_key_is_read_in_any_case() {
    let rules = rules(
        "resetonlogout=Y\nRESETONDISCONNECT=y\nResetOnError=Y\nRefreshOnLogon=Y\n\
         SendRedundantResendRequests=Y\nResendRequestChunkSize=100\n\
         EnableLastMsgSeqNumProcessed=Y\nRequiresOrigSendingTime=N\n\
         SendLogoutBeforeDisconnectFromTimeout=Y\nTimeStampPrecision=NANOS\n\
         CheckCompID=N\nValidateLengthAndChecksum=N\nDefaultApplVerID=FIX.5.0SP1\n\
         CmeEnhancedResend=Y\nValidateSequenceNumbers=N\n",
    );
    let expected = SessionRules {
        reset_on_logout: true,
        reset_on_disconnect: true,
        reset_on_error: true,
        refresh_on_logon: true,
        send_redundant_resend_requests: true,
        resend_request_chunk_size: 100,
        enable_last_msg_seq_num_processed: true,
        requires_orig_sending_time: false,
        send_logout_before_timeout_disconnect: true,
        timestamp_precision: TimestampPrecision::Nanos,
        check_comp_id: false,
        validate_length_and_checksum: false,
        default_appl_ver_id: Some(8),
        cme_enhanced_resend: true,
        validate_sequence_numbers: false,
    };
    assert_eq!(rules, expected);
}

#[test]
fn each_dialect_spells_precision_and_chunks_its_own_way() {
    let precision = |line: &str| rules(line).timestamp_precision;
    // QuickFIX C++: digits; QuickFIX/J and quickfixgo: names; QuickFIX/n: its enum.
    assert_eq!(
        precision("TimestampPrecision=6\n"),
        TimestampPrecision::Micros
    );
    assert_eq!(
        precision("TimestampPrecision=0\n"),
        TimestampPrecision::Seconds
    );
    assert_eq!(
        precision("TimeStampPrecision=MILLIS\n"),
        TimestampPrecision::Millis
    );
    assert_eq!(
        precision("TimeStampPrecision=Nanosecond\n"),
        TimestampPrecision::Nanos
    );
    assert_eq!(
        precision("MillisecondsInTimeStamp=N\n"),
        TimestampPrecision::Seconds
    );
    // TimestampPrecision wins over MillisecondsInTimeStamp, as in QuickFIX C++.
    assert_eq!(
        precision("TimestampPrecision=9\nMillisecondsInTimeStamp=N\n"),
        TimestampPrecision::Nanos
    );
    let chunk = |line: &str| rules(line).resend_request_chunk_size;
    assert_eq!(chunk("MaxMessagesInResendRequest=2500\n"), 2500);
    assert_eq!(chunk("ResendRequestChunkSize=5\n"), 5);
}

#[test]
fn bad_values_name_file_line_and_key() {
    let printed = errors(
        "ResetOnLogout=maybe\nTimestampPrecision=4\nResendRequestChunkSize=-1\n\
         CheckCompID=1\nMillisecondsInTimeStamp=yes\n",
    );
    for (line, key) in [
        (8, "ResetOnLogout"),
        (9, "TimestampPrecision"),
        (10, "ResendRequestChunkSize"),
        (11, "CheckCompID"),
        (12, "MillisecondsInTimeStamp"),
    ] {
        assert!(
            printed.contains(&format!("t.cfg:{line}: {key}:")),
            "{printed}"
        );
    }
    assert!(printed.contains("0, 3, 6 or 9"), "{printed}");
}

/// FINRA's server file, and QuickFIX/n's: sessions differing only by TargetSubID are two
/// sessions, and each identity part is read from `[DEFAULT]` or the session.
#[test]
fn sub_and_location_ids_make_sessions_distinct() {
    let text = format!(
        "{ACCEPTOR}SenderSubID=GW\nSenderLocationID=NY\n\
         [SESSION]\nTargetCompID=T\nTargetSubID=DESK1\n\
         [SESSION]\nTargetCompID=T\nTargetSubID=DESK2\nTargetLocationID=LDN\n"
    );
    let settings = Settings::parse(&text, None).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<String> = settings.sessions.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(
        ids,
        ["FIX.4.4:S/GW/NY->T/DESK1", "FIX.4.4:S/GW/NY->T/DESK2/LDN"]
    );
    let second = &settings.sessions[1].id;
    assert_eq!(
        (
            second.sender_sub_id.as_str(),
            second.sender_location_id.as_str(),
            second.target_sub_id.as_str(),
            second.target_location_id.as_str()
        ),
        ("GW", "NY", "DESK2", "LDN")
    );
    // The same TargetSubID twice is still a duplicate.
    let twice = format!(
        "{ACCEPTOR}[SESSION]\nTargetCompID=T\nTargetSubID=D\n\
         [SESSION]\nTargetCompID=T\nTargetSubID=D\n"
    );
    assert!(Settings::parse(&twice, None).is_err());
}

/// The real files that set these keys load, and none of them leaves a warning for them.
#[test]
fn the_conformance_files_with_sub_ids_load() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/settings-files");
    for name in ["26-user-wizcom-finra-server.cfg", "12-qfn-at-42-misc.cfg"] {
        let path = dir.join(name);
        if !path.exists() {
            eprintln!("{} is not here; skipped", path.display());
            continue;
        }
        let settings = Settings::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!settings.sessions.is_empty(), "{name}");
    }
}
