//! MsgType (tag 35) values the engine knows by name.

/// Logon (`A`): opens a session.
pub const LOGON: &[u8] = b"A";
/// Heartbeat (`0`): keeps an idle session alive, or answers a TestRequest.
pub const HEARTBEAT: &[u8] = b"0";
/// TestRequest (`1`): asks the peer for a Heartbeat.
pub const TEST_REQUEST: &[u8] = b"1";
/// ResendRequest (`2`): asks the peer to resend a range of messages.
pub const RESEND_REQUEST: &[u8] = b"2";
/// Reject (`3`): a session-level rejection of a message.
pub const REJECT: &[u8] = b"3";
/// SequenceReset (`4`): moves the peer's expected sequence number forward.
pub const SEQUENCE_RESET: &[u8] = b"4";
/// Logout (`5`): closes a session.
pub const LOGOUT: &[u8] = b"5";
/// NewOrderSingle (`D`): an application message, used in tests and benchmarks.
pub const NEW_ORDER_SINGLE: &[u8] = b"D";
/// ExecutionReport (`8`): an application message, used in tests and benchmarks.
pub const EXECUTION_REPORT: &[u8] = b"8";
/// BusinessMessageReject: an application message refused for a reason of the business layer.
pub const BUSINESS_MESSAGE_REJECT: &[u8] = b"j";

/// Whether `msg_type` is a session-level (administrative) message: Heartbeat, TestRequest,
/// ResendRequest, Reject, SequenceReset, Logout or Logon.
pub const fn is_admin(msg_type: &[u8]) -> bool {
    matches!(msg_type, [b'0'..=b'5' | b'A'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_message_types() {
        for admin in [
            LOGON,
            HEARTBEAT,
            TEST_REQUEST,
            RESEND_REQUEST,
            REJECT,
            SEQUENCE_RESET,
            LOGOUT,
        ] {
            assert!(is_admin(admin));
        }
        for app in [NEW_ORDER_SINGLE, EXECUTION_REPORT, b"AE", b"", b"6", b"00"] {
            assert!(!is_admin(app));
        }
    }
}
