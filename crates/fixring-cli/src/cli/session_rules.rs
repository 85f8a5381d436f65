//! The lines of `check-config` that describe a session's identity parts and its session
//! keys beyond the connection: resets, resend requests, header fields, input checks.

use std::fmt::Write as _;

use fixring_core::TimestampPrecision;
use fixring_core::config::SessionConfig;

use super::check_config::yes_no;

/// Appends the identity, resets, resends, header, checks and validation lines of `session`.
pub(super) fn describe(out: &mut String, session: &SessionConfig) {
    let id = &session.id;
    let parts: Vec<String> = [
        ("SenderSubID", &id.sender_sub_id),
        ("SenderLocationID", &id.sender_location_id),
        ("TargetSubID", &id.target_sub_id),
        ("TargetLocationID", &id.target_location_id),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(key, value)| format!("{key} {value}"))
    .collect();
    let identity = if parts.is_empty() {
        "CompIDs only (no Sub or Location IDs)".to_owned()
    } else {
        parts.join(", ")
    };
    let _ = writeln!(out, "  identity:    {identity}");
    let rules = &session.rules;
    let _ = writeln!(
        out,
        "  resets:      ResetOnLogout {}, ResetOnDisconnect {}, ResetOnError {}, \
         RefreshOnLogon {}",
        yes_no(rules.reset_on_logout),
        yes_no(rules.reset_on_disconnect),
        yes_no(rules.reset_on_error),
        yes_no(rules.refresh_on_logon)
    );
    let chunk = match rules.resend_request_chunk_size {
        0 => "0 (a gap asked for at once)".to_owned(),
        n => format!("{n} messages per ResendRequest"),
    };
    let _ = writeln!(
        out,
        "  resends:     SendRedundantResendRequests {}, ResendRequestChunkSize {chunk}, \
         CmeEnhancedResend {}",
        yes_no(rules.send_redundant_resend_requests),
        yes_no(rules.cme_enhanced_resend)
    );
    let precision = match rules.timestamp_precision {
        TimestampPrecision::Seconds => "0 (seconds)",
        TimestampPrecision::Millis => "3 (milliseconds)",
        TimestampPrecision::Micros => "6 (microseconds)",
        TimestampPrecision::Nanos => "9 (nanoseconds)",
    };
    let old_fix = matches!(id.begin_string.as_str(), "FIX.4.0" | "FIX.4.1");
    let _ = writeln!(
        out,
        "  header:      TimestampPrecision {precision}{}, EnableLastMsgSeqNumProcessed {}",
        if old_fix {
            ", seconds before FIX.4.2"
        } else {
            ""
        },
        yes_no(rules.enable_last_msg_seq_num_processed)
    );
    if let Some(code) = rules.default_appl_ver_id {
        let _ = writeln!(
            out,
            "  logon:       DefaultApplVerID {code} (1137, on a FIXT.1.1 Logon)"
        );
    }
    let latency = if session.check_latency {
        format!("Y (MaxLatency {} s)", session.max_latency.as_secs())
    } else {
        "N".to_owned()
    };
    let _ = writeln!(
        out,
        "  checks:      CheckCompID {}, CheckLatency {latency}, RequiresOrigSendingTime {}, \
         ValidateLengthAndChecksum {}, ValidateSequenceNumbers {}, \
         SendLogoutBeforeDisconnectFromTimeout {}",
        yes_no(rules.check_comp_id),
        yes_no(rules.requires_orig_sending_time),
        yes_no(rules.validate_length_and_checksum),
        yes_no(rules.validate_sequence_numbers),
        yes_no(rules.send_logout_before_timeout_disconnect)
    );
    describe_dictionary(out, &session.dictionary);
}

/// The `validation:` line: the dictionaries loaded and the checks that run.
fn describe_dictionary(out: &mut String, config: &fixring_core::config::DictionaryConfig) {
    let Some(loaded) = config.loaded.as_ref().filter(|_| config.validates()) else {
        let _ = writeln!(out, "  validation:  none (no data dictionary)");
        return;
    };
    let mut versions = loaded.session.version().to_owned();
    if let Some(app) = &loaded.application {
        versions.push_str(" + ");
        versions.push_str(app.version());
    }
    for ((_, app), (_, named)) in loaded.versions.iter().zip(&config.app_data_dictionaries) {
        let _ = write!(versions, " ({} for {})", app.version(), named.key);
    }
    let o = config.options;
    let _ = writeln!(
        out,
        "  validation:  {versions}, ValidateFieldsOutOfOrder {}, ValidateFieldsHaveValues {}, \
         ValidateUserDefinedFields {}, AllowUnknownMsgFields {}, ValidateUnorderedGroupFields {}, \
         RejectInvalidMessage {}",
        yes_no(o.fields_out_of_order),
        yes_no(o.fields_have_values),
        yes_no(o.user_defined_fields),
        yes_no(o.allow_unknown_msg_fields),
        yes_no(o.unordered_group_fields),
        yes_no(config.reject_invalid_message)
    );
}
