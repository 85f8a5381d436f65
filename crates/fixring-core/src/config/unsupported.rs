//! Keys of the other engines whose behaviour fixring does not have: each is refused, with
//! what it asks for and what fixring does instead, unless its value asks for what fixring
//! does anyway (`DisableHeartBeatCheck=N`, `SocketConnectProtocol=TCP`).
//!
//! Names are lower-cased. docs/configuration.md ("Refused") is the human-readable form of
//! these tables.

/// A key refused unless its value is `accepts` (compared ignoring case).
struct Refusal {
    name: &'static str,
    /// The value that asks for what fixring does, if one does.
    accepts: Option<&'static str>,
    reason: &'static str,
}

const fn refuse(name: &'static str, reason: &'static str) -> Refusal {
    Refusal {
        name,
        accepts: None,
        reason,
    }
}

const fn unless(name: &'static str, accepts: &'static str, reason: &'static str) -> Refusal {
    Refusal {
        name,
        accepts: Some(accepts),
        reason,
    }
}

const SILENCE: &str = "fixring's silence timers are fixed, as QuickFIX C++'s: a TestRequest \
                       once the peer is silent for HeartBtInt plus 20%";
const NO_PROXY: &str = "fixring connects directly: it has no SOCKS or HTTP proxy";
const NO_BLOCKING: &str = "a timeout of QuickFIX/n's blocking sockets; fixring's sockets never \
                           block, and a silent peer is found by the heartbeat timers: 0 (none) \
                           or no key";
const NO_PIPE: &str = "fixring connects over TCP only: QuickFIX/J's in-process VM_PIPE has no \
                       equivalent";

/// The keys refused one by one.
const REFUSED: [Refusal; 47] = [
    // QuickFIX/J's session.
    refuse("testrequestdelaymultiplier", SILENCE),
    refuse("heartbeattimeoutmultiplier", SILENCE),
    unless(
        "disconnectonerror",
        "N",
        "Y disconnects on every session-level error; fixring rejects the message and stays \
         connected (ResetOnError=Y logs out and resets on a garbled one)",
    ),
    unless(
        "closedresendinterval",
        "N",
        "Y asks for a gap up to its last missing MsgSeqNum; fixring asks for everything from \
         the gap on (EndSeqNo 0), or in chunks with ResendRequestChunkSize",
    ),
    unless(
        "disableheartbeatcheck",
        "N",
        "Y never disconnects a silent peer; fixring always sends a silent peer a TestRequest \
         and disconnects it if it stays silent",
    ),
    unless(
        "enablenextexpectedmsgseqnum",
        "N",
        "Y sends NextExpectedMsgSeqNum (789) in the Logon and synchronises on the peer's; \
         fixring's Logon does not carry it",
    ),
    unless(
        "rejectgarbledmessage",
        "N",
        "Y answers a garbled message with a Reject; fixring ignores it, as the FIX \
         specification says (ResetOnError=Y resets on it)",
    ),
    unless(
        "rejectmessageonunhandledexception",
        "N",
        "Y answers a message the application failed on with a Reject; fixring has no such \
         path: the application decides what to send",
    ),
    unless(
        "forceresendwhencorruptedstore",
        "N",
        "Y resends Heartbeats for messages the store cannot read; fixring gap-fills what its \
         store does not have and reports it (fix.session.messages_not_resent)",
    ),
    unless(
        "maxscheduledwriterequests",
        "0",
        "a number of queued writes past which QuickFIX/J disconnects; fixring has no such \
         limit: 0 (none) or no key",
    ),
    unless(
        "validatechecksum",
        "Y",
        "N reads messages whose CheckSum is wrong; fixring turns that check off only with \
         BodyLength's: ValidateLengthAndChecksum=N",
    ),
    unless(
        "allowposdup",
        "N",
        "Y keeps the PossDupFlag (43) and OrigSendingTime (122) an application message \
         carries when it is sent; fixring has no such switch",
    ),
    unless(
        "continueinitializationonerror",
        "N",
        "Y starts the sessions that have no error; fixring refuses the whole file when any \
         session has one",
    ),
    // QuickFIX/J's connections.
    unless("socketconnectprotocol", "TCP", NO_PIPE),
    unless("socketacceptprotocol", "TCP", NO_PIPE),
    unless(
        "dynamicsession",
        "N",
        "Y leaves an initiator session unconnected until the application creates it; \
         fixring connects every configured initiator session when it starts",
    ),
    unless(
        "reversednsenabled",
        "N",
        "Y looks up a host name for a SocketConnectHost given as an address; fixring \
         connects to the address as given",
    ),
    unless(
        "socketoobinline",
        "N",
        "Y sets SO_OOBINLINE; fixring does not (FIX sends no urgent data)",
    ),
    refuse(
        "socketlinger",
        "fixring does not set SO_LINGER: a closed socket sends what is queued in the \
         background, the kernel's default",
    ),
    refuse(
        "sockettrafficclass",
        "fixring does not set the IP type of service (IP_TOS)",
    ),
    unless(
        "socketsynchronouswrites",
        "N",
        "Y writes each message synchronously; fixring's event loop (io_uring or epoll) \
         queues the writes and never blocks on them",
    ),
    unless(
        "filestoresync",
        "N",
        "Y syncs the file store to the device on every write; fixring's file store does not \
         sync: it survives the process, not the machine",
    ),
    // Proxies (QuickFIX/J, quickfixgo, QuickFIX/n).
    refuse("proxytype", NO_PROXY),
    refuse("proxyversion", NO_PROXY),
    refuse("proxyhost", NO_PROXY),
    refuse("proxyport", NO_PROXY),
    refuse("proxyuser", NO_PROXY),
    refuse("proxypassword", NO_PROXY),
    refuse("proxydomain", NO_PROXY),
    refuse("proxyworkstation", NO_PROXY),
    unless("usetcpproxy", "N", NO_PROXY),
    unless(
        "socketignoreproxy",
        "Y",
        "N lets QuickFIX/n connect through the system's proxy; fixring connects directly: \
         it has no proxy",
    ),
    // QuickFIX/n.
    unless(
        "allowunknownfieldvalues",
        "N",
        "Y accepts values of enumerated fields the dictionary does not list; fixring \
         rejects them (373=5)",
    ),
    unless(
        "resendsessionlevelrejects",
        "N",
        "Y resends session-level Rejects (35=3) asked for by a ResendRequest; fixring \
         gap-fills them, as every admin message",
    ),
    unless(
        "ignorepossdupresendrequests",
        "N",
        "Y ignores a ResendRequest marked PossDupFlag=Y; fixring answers every ResendRequest",
    ),
    unless("socketsendtimeout", "0", NO_BLOCKING),
    unless("socketreceivetimeout", "0", NO_BLOCKING),
    // quickfixgo.
    refuse(
        "sockettimeout",
        "bounds quickfixgo's TLS handshake; fixring has no separate handshake timeout",
    ),
    unless(
        "heartbtintoverride",
        "N",
        "Y makes an acceptor keep its own HeartBtInt instead of the peer's; fixring's \
         acceptor uses the one in the peer's Logon, as QuickFIX",
    ),
    unless(
        "dynamicsessions",
        "N",
        "Y accepts a Logon of any identity; fixring's dynamic sessions are QuickFIX/J's: \
         AcceptorTemplate=Y, whose identity fields may be *",
    ),
    unless(
        "dynamicqualifier",
        "N",
        "Y tells dynamic sessions apart by a qualifier; fixring's dynamic sessions \
         (AcceptorTemplate) have none",
    ),
    unless(
        "enableresetseqtime",
        "N",
        "Y resets the sequence numbers every day at ResetSeqTime, logged on or not; fixring \
         resets them when a new session period starts (StartTime, EndTime)",
    ),
    refuse(
        "resetseqtime",
        "a daily reset of the sequence numbers inside a session; fixring resets them when a \
         new session period starts (StartTime, EndTime)",
    ),
    // quickfixgo's TLS material written in the settings; they turn TLS on there, so they are
    // refused with TLS off too.
    refuse("socketprivatekeybytes", IN_FILES),
    refuse("socketcertificatebytes", IN_FILES),
    refuse("socketcabytes", IN_FILES),
    // QuickFIX/J's Logon fields; LogonTag<n> below.
    refuse("logontag", LOGON_TAG),
];

const IN_FILES: &str = "fixring reads TLS certificates and keys from PEM files: write it to a \
                        file and name it with SocketCertificateFile, SocketPrivateKeyFile or \
                        SocketCAFile";

const LOGON_TAG: &str = "fields the settings add to our Logon; fixring's Logon carries only \
                         the session's own fields";

const NO_DATABASE_STORE: &str = "fixring has no database store: FileStorePath keeps the \
                                 sequence numbers and sent messages in files";
const NO_DATABASE_LOG: &str = "fixring has no database log: FileLogPath writes the logs to files";

/// Families of keys refused by the start of their name, longest first: the database stores
/// and logs of QuickFIX C++ (MySQL, PostgreSQL, ODBC), QuickFIX/J (JDBC, JNDI, Sleepycat) and
/// quickfixgo (SQL, MongoDB).
const FAMILIES: [(&str, &str); 15] = [
    ("mysqlstore", NO_DATABASE_STORE),
    ("postgresqlstore", NO_DATABASE_STORE),
    ("odbcstore", NO_DATABASE_STORE),
    ("jdbcstore", NO_DATABASE_STORE),
    ("sqlstore", NO_DATABASE_STORE),
    ("mongostore", NO_DATABASE_STORE),
    ("sleepycat", NO_DATABASE_STORE),
    ("mysqllog", NO_DATABASE_LOG),
    ("postgresqllog", NO_DATABASE_LOG),
    ("odbclog", NO_DATABASE_LOG),
    ("jdbclog", NO_DATABASE_LOG),
    ("sqllog", NO_DATABASE_LOG),
    ("mongolog", NO_DATABASE_LOG),
    (
        "jdbc",
        "fixring has no database store or log: FileStorePath and FileLogPath keep them in \
         files",
    ),
    (
        "jndi",
        "fixring has no database store or log: FileStorePath and FileLogPath keep them in \
         files",
    ),
];

/// What fixring makes of one of these keys with its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The value asks for what fixring does: accepted, changing nothing.
    Accepted,
    /// Refused, for this reason.
    Refused(&'static str),
}

/// The verdict on a canonical name with this value, or `None` when it is not one of these
/// keys.
pub(super) fn judge(name: &str, value: &str) -> Option<Verdict> {
    if let Some(refusal) = REFUSED.iter().find(|r| r.name == name) {
        let accepted = refusal
            .accepts
            .is_some_and(|v| v.eq_ignore_ascii_case(value.trim()));
        return Some(if accepted {
            Verdict::Accepted
        } else {
            Verdict::Refused(refusal.reason)
        });
    }
    if name
        .strip_prefix("logontag")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(Verdict::Refused(LOGON_TAG));
    }
    FAMILIES
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, reason)| Verdict::Refused(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_fixring_has_is_accepted() {
        assert_eq!(judge("disableheartbeatcheck", "n"), Some(Verdict::Accepted));
        assert!(matches!(
            judge("disableheartbeatcheck", "Y"),
            Some(Verdict::Refused(_))
        ));
        assert_eq!(
            judge("socketconnectprotocol", "tcp"),
            Some(Verdict::Accepted)
        );
        assert!(matches!(
            judge("socketconnectprotocol", "VM_PIPE"),
            Some(Verdict::Refused(_))
        ));
        assert_eq!(
            judge("testrequestdelaymultiplier", "0.5"),
            Some(Verdict::Refused(SILENCE))
        );
    }

    #[test]
    fn families_and_numbered_logon_tags() {
        let refused = |reason| Some(Verdict::Refused(reason));
        assert_eq!(judge("jdbcurl", "x"), refused(FAMILIES[13].1));
        assert_eq!(
            judge("jdbcstoremessagestablename", "x"),
            refused(NO_DATABASE_STORE)
        );
        assert_eq!(judge("mysqllogdatabase", "x"), refused(NO_DATABASE_LOG));
        assert_eq!(judge("logontag", "553=user"), refused(LOGON_TAG));
        assert_eq!(judge("logontag2", "554=pw"), refused(LOGON_TAG));
        assert_eq!(judge("logontagx", "554=pw"), None);
        assert_eq!(judge("heartbtint", "30"), None);
    }
}
