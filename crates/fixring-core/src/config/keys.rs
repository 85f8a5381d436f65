//! The names of the keys: which ones fixring reads, which synonyms of other engines it
//! accepts, and which well-known QuickFIX keys it accepts without using them.
//!
//! Names are compared lower-cased. docs/configuration.md is the human-readable form of
//! these tables.

/// Keys read for every session (lower-cased canonical names).
pub(super) const CONNECTION_TYPE: &str = "connectiontype";
pub(super) const BEGIN_STRING: &str = "beginstring";
pub(super) const SENDER_COMP_ID: &str = "sendercompid";
pub(super) const TARGET_COMP_ID: &str = "targetcompid";
pub(super) const SESSION_QUALIFIER: &str = "sessionqualifier";
pub(super) const ACCEPT_HOST: &str = "socketaccepthost";
pub(super) const ACCEPT_PORT: &str = "socketacceptport";
pub(super) const CONNECT_HOST: &str = "socketconnecthost";
pub(super) const CONNECT_PORT: &str = "socketconnectport";
pub(super) const SOURCE_HOST: &str = "socketconnectsourcehost";
pub(super) const SOURCE_PORT: &str = "socketconnectsourceport";
pub(super) const LOCAL_HOST: &str = "socketlocalhost";
pub(super) const LOCAL_PORT: &str = "socketlocalport";
pub(super) const RECONNECT_INTERVAL: &str = "reconnectinterval";
pub(super) const HOST_SELECTION_POLICY: &str = "hostselectionpolicy";
pub(super) const START_OVER_INTERVAL: &str = "hostselectionpolicyprioritystartoverinterval";
pub(super) const CONNECT_TIMEOUT: &str = "socketconnecttimeout";
pub(super) const NODELAY: &str = "socketnodelay";
pub(super) const SEND_BUFFER_SIZE: &str = "socketsendbuffersize";
pub(super) const RECEIVE_BUFFER_SIZE: &str = "socketreceivebuffersize";
pub(super) const REUSE_ADDRESS: &str = "socketreuseaddress";
pub(super) const KEEP_ALIVE: &str = "socketkeepalive";
pub(super) const HEARTBEAT_INTERVAL: &str = "heartbtint";
pub(super) const LOGON_TIMEOUT: &str = "logontimeout";
pub(super) const LOGOUT_TIMEOUT: &str = "logouttimeout";
pub(super) const RESET_ON_LOGON: &str = "resetonlogon";
pub(super) const CHECK_LATENCY: &str = "checklatency";
pub(super) const MAX_LATENCY: &str = "maxlatency";
pub(super) const PERSIST_MESSAGES: &str = "persistmessages";
pub(super) const MESSAGE_STORE_SIZE: &str = "messagestoresize";
pub(super) const FILE_STORE_PATH: &str = "filestorepath";
pub(super) const USE_SSL: &str = "socketusessl";
pub(super) const CERTIFICATE_FILE: &str = "socketcertificatefile";
pub(super) const PRIVATE_KEY_FILE: &str = "socketprivatekeyfile";
pub(super) const CA_FILE: &str = "socketcafile";
pub(super) const SERVER_NAME: &str = "socketservername";
pub(super) const SERVER_CERTIFICATE_FILE: &str = "servercertificatefile";
pub(super) const SERVER_KEY_FILE: &str = "servercertificatekeyfile";
pub(super) const CLIENT_CERTIFICATE_FILE: &str = "clientcertificatefile";
pub(super) const CLIENT_KEY_FILE: &str = "clientcertificatekeyfile";
pub(super) const AUTHORITIES_FILE: &str = "certificationauthoritiesfile";
pub(super) const TLS_MIN_VERSION: &str = "tlsminversion";
pub(super) const TLS_SYSTEM_ROOTS: &str = "tlssystemroots";
// QuickFIX/n's TLS keys.
pub(super) const SSL_ENABLE: &str = "sslenable";
pub(super) const SSL_CERTIFICATE: &str = "sslcertificate";
pub(super) const SSL_CERTIFICATE_PASSWORD: &str = "sslcertificatepassword";
pub(super) const SSL_CA_CERTIFICATE: &str = "sslcacertificate";
pub(super) const SSL_PROTOCOLS: &str = "sslprotocols";
pub(super) const SSL_VALIDATE_CERTIFICATES: &str = "sslvalidatecertificates";
pub(super) const SSL_REQUIRE_CLIENT_CERTIFICATE: &str = "sslrequireclientcertificate";
pub(super) const SSL_CHECK_REVOCATION: &str = "sslcheckcertificaterevocation";
// quickfixgo's TLS keys beside the Socket… ones.
pub(super) const MINIMUM_TLS_VERSION: &str = "socketminimumtlsversion";
pub(super) const INSECURE_SKIP_VERIFY: &str = "socketinsecureskipverify";
// QuickFIX C++'s TLS details.
pub(super) const SSL_PROTOCOL: &str = "sslprotocol";
pub(super) const SSL_CIPHER_SUITE: &str = "sslciphersuite";
pub(super) const CERTIFICATE_VERIFY_LEVEL: &str = "certificateverifylevel";
// TLS keys of QuickFIX/J (Java key stores, SNI, host name checks) and QuickFIX C++ (CA
// directory, revocation lists): accepted with TLS off, refused with it on (tls.rs).
pub(super) const KEY_STORE: &str = "socketkeystore";
pub(super) const KEY_STORE_PASSWORD: &str = "socketkeystorepassword";
pub(super) const KEY_MANAGER_ALGORITHM: &str = "keymanagerfactoryalgorithm";
pub(super) const KEY_STORE_TYPE: &str = "keystoretype";
pub(super) const TRUST_STORE: &str = "sockettruststore";
pub(super) const TRUST_STORE_PASSWORD: &str = "sockettruststorepassword";
pub(super) const TRUST_MANAGER_ALGORITHM: &str = "trustmanagerfactoryalgorithm";
pub(super) const TRUST_STORE_TYPE: &str = "truststoretype";
pub(super) const USE_SNI: &str = "usesni";
pub(super) const ENDPOINT_IDENTIFICATION: &str = "endpointidentificationalgorithm";
pub(super) const AUTHORITIES_DIRECTORY: &str = "certificationauthoritiesdirectory";
pub(super) const REVOCATION_LIST_FILE: &str = "certificaterevocationlistfile";
pub(super) const REVOCATION_LIST_DIRECTORY: &str = "certificaterevocationlistdirectory";
// QuickFIX/J's dynamic sessions.
pub(super) const ACCEPTOR_TEMPLATE: &str = "acceptortemplate";
pub(super) const ALLOWED_REMOTE_ADDRESSES: &str = "allowedremoteaddresses";
pub(super) const START_TIME: &str = "starttime";
pub(super) const END_TIME: &str = "endtime";
pub(super) const START_DAY: &str = "startday";
pub(super) const END_DAY: &str = "endday";
pub(super) const WEEKDAYS: &str = "weekdays";
pub(super) const TIME_ZONE: &str = "timezone";
pub(super) const USE_LOCAL_TIME: &str = "uselocaltime";
pub(super) const NON_STOP_SESSION: &str = "nonstopsession";
pub(super) const LOGON_TIME: &str = "logontime";
pub(super) const LOGOUT_TIME: &str = "logouttime";
pub(super) const LOGON_DAY: &str = "logonday";
pub(super) const LOGOUT_DAY: &str = "logoutday";

/// Engine keys, read from `[DEFAULT]` only.
pub(super) const EVENT_LOOP_CORES: &str = "eventloopcores";
pub(super) const BUSY_POLL: &str = "busypoll";
pub(super) const TRANSPORT: &str = "transport";
/// QuickFIX C++'s port of its status web page; fixring serves its status page and metrics.
pub(super) const HTTP_ACCEPT_PORT: &str = "httpacceptport";
/// fixring's: the address the status page binds (default the loopback).
pub(super) const HTTP_ACCEPT_HOST: &str = "httpaccepthost";
/// fixring's admission of connections not logged on yet (docs/reliability.md).
pub(super) const MAX_PENDING_CONNECTIONS: &str = "maxpendingconnections";
pub(super) const MAX_PENDING_PER_ADDRESS: &str = "maxpendingconnectionsperaddress";
pub(super) const PRESSURE_LOGON_TIMEOUT: &str = "pressurelogontimeout";

/// The engine keys.
pub(super) const ENGINE: [&str; 8] = [
    EVENT_LOOP_CORES,
    BUSY_POLL,
    TRANSPORT,
    HTTP_ACCEPT_PORT,
    HTTP_ACCEPT_HOST,
    MAX_PENDING_CONNECTIONS,
    MAX_PENDING_PER_ADDRESS,
    PRESSURE_LOGON_TIMEOUT,
];

/// Every session key fixring reads (the TLS keys it refuses with TLS on included).
const SESSION: [&str; 83] = [
    CONNECTION_TYPE,
    BEGIN_STRING,
    SENDER_COMP_ID,
    TARGET_COMP_ID,
    SESSION_QUALIFIER,
    ACCEPT_HOST,
    ACCEPT_PORT,
    CONNECT_HOST,
    CONNECT_PORT,
    SOURCE_HOST,
    SOURCE_PORT,
    LOCAL_HOST,
    LOCAL_PORT,
    RECONNECT_INTERVAL,
    HOST_SELECTION_POLICY,
    START_OVER_INTERVAL,
    CONNECT_TIMEOUT,
    NODELAY,
    SEND_BUFFER_SIZE,
    RECEIVE_BUFFER_SIZE,
    REUSE_ADDRESS,
    KEEP_ALIVE,
    HEARTBEAT_INTERVAL,
    LOGON_TIMEOUT,
    LOGOUT_TIMEOUT,
    RESET_ON_LOGON,
    CHECK_LATENCY,
    MAX_LATENCY,
    PERSIST_MESSAGES,
    MESSAGE_STORE_SIZE,
    FILE_STORE_PATH,
    USE_SSL,
    CERTIFICATE_FILE,
    PRIVATE_KEY_FILE,
    CA_FILE,
    SERVER_NAME,
    SERVER_CERTIFICATE_FILE,
    SERVER_KEY_FILE,
    CLIENT_CERTIFICATE_FILE,
    CLIENT_KEY_FILE,
    AUTHORITIES_FILE,
    TLS_MIN_VERSION,
    TLS_SYSTEM_ROOTS,
    SSL_ENABLE,
    SSL_CERTIFICATE,
    SSL_CERTIFICATE_PASSWORD,
    SSL_CA_CERTIFICATE,
    SSL_PROTOCOLS,
    SSL_VALIDATE_CERTIFICATES,
    SSL_REQUIRE_CLIENT_CERTIFICATE,
    SSL_CHECK_REVOCATION,
    MINIMUM_TLS_VERSION,
    INSECURE_SKIP_VERIFY,
    SSL_PROTOCOL,
    SSL_CIPHER_SUITE,
    CERTIFICATE_VERIFY_LEVEL,
    KEY_STORE,
    KEY_STORE_PASSWORD,
    KEY_MANAGER_ALGORITHM,
    KEY_STORE_TYPE,
    TRUST_STORE,
    TRUST_STORE_PASSWORD,
    TRUST_MANAGER_ALGORITHM,
    TRUST_STORE_TYPE,
    USE_SNI,
    ENDPOINT_IDENTIFICATION,
    AUTHORITIES_DIRECTORY,
    REVOCATION_LIST_FILE,
    REVOCATION_LIST_DIRECTORY,
    ACCEPTOR_TEMPLATE,
    ALLOWED_REMOTE_ADDRESSES,
    START_TIME,
    END_TIME,
    START_DAY,
    END_DAY,
    WEEKDAYS,
    TIME_ZONE,
    USE_LOCAL_TIME,
    NON_STOP_SESSION,
    LOGON_TIME,
    LOGOUT_TIME,
    LOGON_DAY,
    LOGOUT_DAY,
];

/// Names other engines give to a key fixring reads: (synonym, canonical name).
const SYNONYMS: [(&str, &str); 11] = [
    // QuickFIX/J.
    ("sockettcpnodelay", NODELAY),
    ("socketacceptaddress", ACCEPT_HOST),
    // QuickFIX/J's TLS: the name sent as SNI (and checked), client certificates required,
    // the versions offered (`TLSv1.2,TLSv1.3`), the cipher suites (refused with TLS on).
    ("snihostname", SERVER_NAME),
    ("needclientauth", SSL_REQUIRE_CLIENT_CERTIFICATE),
    ("enabledprotocols", SSL_PROTOCOLS),
    ("ciphersuites", SSL_CIPHER_SUITE),
    // quickfixgo's names of QuickFIX/J's dictionary switches.
    (
        "allowunknownmessagefields",
        super::dictionary::ALLOW_UNKNOWN_MSG_FIELDS,
    ),
    (
        "checkuserdefinedfields",
        super::dictionary::VALIDATE_USER_DEFINED_FIELDS,
    ),
    // QuickFIX/n: the name the server's certificate is checked against.
    ("sslservername", SERVER_NAME),
    // QuickFIX C++ up to 1.14 (1.15 renamed them to the Socket… names).
    ("sendbuffersize", SEND_BUFFER_SIZE),
    ("receivebuffersize", RECEIVE_BUFFER_SIZE),
];

/// QuickFIX keys that change nothing in fixring: accepted, not used, no warning.
const NO_EFFECT: [&str; 14] = [
    // QuickFIX C++: the order of fields inside its message objects. fixring hands the
    // application the bytes received and sends the bytes the application wrote.
    "preservemessagefieldsorder",
    // QuickFIX C++ declares it and never reads it: ResetSeqNumFlag (141) goes with
    // ResetOnLogon.
    "sendresetseqnumflag",
    // QuickFIX/J: a description for external tools, unused by the engine.
    "description",
    // QuickFIX/J: how many index entries of its file store stay in memory; what is resent
    // does not change.
    "filestoremaxcachedmsgs",
    // QuickFIX/J: only used with SocketSynchronousWrites=Y, which is refused.
    "socketsynchronouswritetimeout",
    // QuickFIX/J: what its log says of a message for no session (the whole message or its
    // identity); fixring's event for such a connection is its own.
    "logmessagewhensessionnotfound",
    // QuickFIX/J's manual names it, its code reads ScreenLogShowEvents: it changes nothing
    // there either.
    "screenlogevents",
    // QuickFIX/n's own diagnostics file, not the session's messages or events (FileLogPath).
    "debugfilelogpath",
    // QuickFIX/J's SLF4J log: the categories and filters of a log the application picks in
    // its code (SLF4JLogFactory). fixring has no SLF4J log; its logs are FileLogPath and the
    // ScreenLog… keys.
    "slf4jlogeventcategory",
    "slf4jlogerroreventcategory",
    "slf4jlogincomingmessagecategory",
    "slf4jlogoutgoingmessagecategory",
    "slf4jlogprependsessionid",
    "slf4jlogheartbeats",
];

/// QuickFIX keys whose behaviour fixring does not have yet: accepted, warned about, with what
/// the session does instead.
///
/// None today: every key of theirs that fixring accepts, it implements. The table stays for
/// the next QuickFIX key that is accepted before it is implemented.
const NOT_IMPLEMENTED: [(&str, &str); 0] = [];

/// The lower-cased name of `key`, with a synonym mapped onto fixring's name.
pub(super) fn canonical(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    SYNONYMS
        .iter()
        .find(|(synonym, _)| *synonym == lower)
        .map_or(lower, |(_, name)| (*name).to_owned())
}

/// The numbered keys of failover hosts, `SocketConnectHost<n>` and friends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum HostKey {
    /// SocketConnectHost.
    Host,
    /// SocketConnectPort.
    Port,
    /// SocketConnectSourceHost.
    SourceHost,
    /// SocketConnectSourcePort.
    SourcePort,
}

impl HostKey {
    /// How the key is spelled, for messages.
    pub(super) const fn spelling(self) -> &'static str {
        match self {
            Self::Host => "SocketConnectHost",
            Self::Port => "SocketConnectPort",
            Self::SourceHost => "SocketConnectSourceHost",
            Self::SourcePort => "SocketConnectSourcePort",
        }
    }
}

/// `Some((key, n))` for a canonical name `socketconnecthost<n>` etc. with n ≥ 1 written
/// without leading zeros.
pub(super) fn numbered(name: &str) -> Option<(HostKey, usize)> {
    // Longest prefixes first: "socketconnectsource…" also starts with "socketconnect".
    let prefixes = [
        (SOURCE_HOST, HostKey::SourceHost),
        (SOURCE_PORT, HostKey::SourcePort),
        (CONNECT_HOST, HostKey::Host),
        (CONNECT_PORT, HostKey::Port),
    ];
    let (rest, key) = prefixes
        .iter()
        .find_map(|(prefix, key)| name.strip_prefix(prefix).map(|rest| (rest, *key)))?;
    if rest.is_empty() || rest.starts_with('0') || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok().map(|n| (key, n))
}

/// Whether a canonical name is a session key fixring reads (numbered host keys included).
pub(super) fn is_session_key(name: &str) -> bool {
    SESSION.contains(&name)
        || numbered(name).is_some()
        || super::session_keys::is_key(name)
        || super::dictionary::is_key(name)
        || super::log::is_log_key(name)
}

/// Whether a canonical name is a QuickFIX key that changes nothing in fixring.
pub(super) fn has_no_effect(name: &str) -> bool {
    NO_EFFECT.contains(&name)
}

/// What a session does instead of a QuickFIX key fixring does not implement yet.
pub(super) fn not_implemented(name: &str) -> Option<&'static str> {
    NOT_IMPLEMENTED
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, reason)| *reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_keys() {
        assert_eq!(numbered("socketconnecthost2"), Some((HostKey::Host, 2)));
        assert_eq!(
            numbered("socketconnectsourceport10"),
            Some((HostKey::SourcePort, 10))
        );
        assert_eq!(numbered("socketconnecthost"), None);
        assert_eq!(numbered("socketconnecthost0"), None);
        assert_eq!(numbered("socketconnecthost01"), None);
        assert_eq!(numbered("socketconnecthostx"), None);
    }

    #[test]
    fn synonyms_map_onto_one_name() {
        assert_eq!(canonical("SocketTcpNoDelay"), NODELAY);
        assert_eq!(canonical("SendBufferSize"), SEND_BUFFER_SIZE);
        assert_eq!(canonical("HeartBtInt"), HEARTBEAT_INTERVAL);
    }
}
