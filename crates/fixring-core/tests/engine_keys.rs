//! Every settings key the four engines define is either read by fixring, accepted as changing
//! nothing here, or refused with `FILE:LINE: Key: …` and a reason: none is ever answered
//! with "unknown key".

use fixring_core::config::{ConfigErrorKind, ConfigWarningKind, Settings};
use fixring_core::tls::TlsVersion;

// The names come from each engine's public source and manual: QuickFIX C++ `SessionSettings.h`
// and `SessionFactory.cpp` (1.15), QuickFIX/J `Session`, `Initiator`, `Acceptor`,
// `NetworkingOptions`, `SSLSupport`, the store and log factories, `JdbcSetting` and its user
// manual's configuration page, QuickFIX/n `SessionSettings.cs`, quickfixgo
// `config/configuration.go` and its release notes.

/// QuickFIX C++.
const QUICKFIX_CPP: &[&str] = &[
    "BeginString",
    "SenderCompID",
    "TargetCompID",
    "SessionQualifier",
    "DefaultApplVerID",
    "ConnectionType",
    "UseDataDictionary",
    "SendResetSeqNumFlag",
    "SendRedundantResendRequests",
    "DataDictionary",
    "TransportDataDictionary",
    "AppDataDictionary",
    "AppDataDictionary.FIX.4.4",
    "UseLocalTime",
    "StartTime",
    "EndTime",
    "StartDay",
    "EndDay",
    "LogonTime",
    "LogoutTime",
    "LogonDay",
    "LogoutDay",
    "CheckCompID",
    "CheckLatency",
    "MaxLatency",
    "HeartBtInt",
    "SocketAcceptPort",
    "SocketReuseAddress",
    "SocketConnectHost",
    "SocketConnectPort",
    "SocketConnectHost1",
    "SocketConnectPort1",
    "SocketConnectSourceHost",
    "SocketConnectSourcePort",
    "SocketNodelay",
    "SocketSendBufferSize",
    "SocketReceiveBufferSize",
    "SendBufferSize",
    "ReceiveBufferSize",
    "ReconnectInterval",
    "ValidateLengthAndChecksum",
    "ValidateFieldsOutOfOrder",
    "ValidateFieldsHaveValues",
    "ValidateUserDefinedFields",
    "AllowUnknownMsgFields",
    "PreserveMessageFieldsOrder",
    "LogonTimeout",
    "LogoutTimeout",
    "FileStorePath",
    "MySQLStoreUseConnectionPool",
    "MySQLStoreDatabase",
    "MySQLStoreUser",
    "MySQLStorePassword",
    "MySQLStoreHost",
    "MySQLStorePort",
    "PostgreSQLStoreUseConnectionPool",
    "PostgreSQLStoreDatabase",
    "PostgreSQLStoreUser",
    "PostgreSQLStorePassword",
    "PostgreSQLStoreHost",
    "PostgreSQLStorePort",
    "OdbcStoreUser",
    "OdbcStorePassword",
    "OdbcStoreConnectionString",
    "FileLogPath",
    "FileLogBackupPath",
    "ScreenLogShowIncoming",
    "ScreenLogShowOutgoing",
    "ScreenLogShowEvents",
    "MySQLLogUseConnectionPool",
    "MySQLLogDatabase",
    "MySQLLogUser",
    "MySQLLogPassword",
    "MySQLLogHost",
    "MySQLLogPort",
    "MySQLLogIncomingTable",
    "MySQLLogOutgoingTable",
    "MySQLLogEventTable",
    "PostgreSQLLogUseConnectionPool",
    "PostgreSQLLogDatabase",
    "PostgreSQLLogUser",
    "PostgreSQLLogPassword",
    "PostgreSQLLogHost",
    "PostgreSQLLogPort",
    "PostgreSQLLogIncomingTable",
    "PostgreSQLLogOutgoingTable",
    "PostgreSQLLogEventTable",
    "OdbcLogUser",
    "OdbcLogPassword",
    "OdbcLogConnectionString",
    "OdbcLogIncomingTable",
    "OdbcLogOutgoingTable",
    "OdbcLogEventTable",
    "ResetOnLogon",
    "ResetOnLogout",
    "ResetOnDisconnect",
    "RefreshOnLogon",
    "MillisecondsInTimeStamp",
    "TimestampPrecision",
    "HttpAcceptPort",
    "PersistMessages",
    "ServerCertificateFile",
    "ServerCertificateKeyFile",
    "ClientCertificateFile",
    "ClientCertificateKeyFile",
    "CertificationAuthoritiesFile",
    "CertificationAuthoritiesDirectory",
    "CertificateRevocationListFile",
    "CertificateRevocationListDirectory",
    "CertificateVerifyLevel",
    "SSLProtocol",
    "SSLCipherSuite",
];

/// QuickFIX/J.
const QUICKFIX_J: &[&str] = &[
    // Session identity and role.
    "BeginString",
    "SenderCompID",
    "SenderSubID",
    "SenderLocationID",
    "TargetCompID",
    "TargetSubID",
    "TargetLocationID",
    "SessionQualifier",
    "DefaultApplVerID",
    "ConnectionType",
    // Session.
    "HeartBtInt",
    "CheckLatency",
    "CheckCompID",
    "MaxLatency",
    "TestRequestDelayMultiplier",
    "HeartBeatTimeoutMultiplier",
    "NonStopSession",
    "StartDay",
    "EndDay",
    "TimeZone",
    "StartTime",
    "EndTime",
    "Weekdays",
    "UseDataDictionary",
    "DataDictionary",
    "TransportDataDictionary",
    "AppDataDictionary",
    "AppDataDictionary.FIX.4.4",
    "ValidateFieldsOutOfOrder",
    "ValidateUnorderedGroupFields",
    "ValidateFieldsHaveValues",
    "ValidateIncomingMessage",
    "LogonTimeout",
    "LogoutTimeout",
    "LogonTag",
    "LogonTag1",
    "ResetOnLogout",
    "ValidateSequenceNumbers",
    "ResetOnDisconnect",
    "ResetOnError",
    "DisconnectOnError",
    "TimeStampPrecision",
    "ValidateUserDefinedFields",
    "ResetOnLogon",
    "Description",
    "RefreshOnLogon",
    "SendRedundantResendRequests",
    "PersistMessages",
    "ClosedResendInterval",
    "AllowUnknownMsgFields",
    "DisableHeartBeatCheck",
    "EnableLastMsgSeqNumProcessed",
    "EnableNextExpectedMsgSeqNum",
    "RejectGarbledMessage",
    "RejectInvalidMessage",
    "RejectMessageOnUnhandledException",
    "RequiresOrigSendingTime",
    "ForceResendWhenCorruptedStore",
    "AllowedRemoteAddresses",
    "LogMessageWhenSessionNotFound",
    "ResendRequestChunkSize",
    "MaxScheduledWriteRequests",
    "ValidateChecksum",
    "AllowPosDup",
    "ContinueInitializationOnError",
    // Initiator.
    "ReconnectInterval",
    "SocketConnectProtocol",
    "SocketConnectHost",
    "SocketConnectPort",
    "SocketConnectHost1",
    "SocketConnectPort1",
    "SocketConnectTimeout",
    "SocketLocalHost",
    "SocketLocalPort",
    "ProxyType",
    "ProxyVersion",
    "ProxyHost",
    "ProxyPort",
    "ProxyUser",
    "ProxyPassword",
    "ProxyDomain",
    "ProxyWorkstation",
    "DynamicSession",
    "ReverseDNSEnabled",
    // Acceptor.
    "SocketAcceptProtocol",
    "SocketAcceptPort",
    "SocketAcceptAddress",
    "AcceptorTemplate",
    // TLS.
    "SocketUseSSL",
    "SocketKeyStore",
    "SocketKeyStorePassword",
    "KeyManagerFactoryAlgorithm",
    "KeyStoreType",
    "SocketTrustStore",
    "SocketTrustStorePassword",
    "TrustManagerFactoryAlgorithm",
    "TrustStoreType",
    "NeedClientAuth",
    "EnabledProtocols",
    "CipherSuites",
    "UseSNI",
    "SNIHostName",
    "EndpointIdentificationAlgorithm",
    // Socket options.
    "SocketKeepAlive",
    "SocketOobInline",
    "SocketReceiveBufferSize",
    "SocketReuseAddress",
    "SocketSendBufferSize",
    "SocketLinger",
    "SocketTcpNoDelay",
    "SocketTrafficClass",
    "SocketSynchronousWrites",
    "SocketSynchronousWriteTimeout",
    // Stores.
    "FileStorePath",
    "FileStoreSync",
    "FileStoreMaxCachedMsgs",
    "JdbcDriver",
    "JdbcURL",
    "JdbcUser",
    "JdbcPassword",
    "JdbcStoreMessagesTableName",
    "JdbcStoreSessionsTableName",
    "JdbcDataSourceName",
    "JndiContextFactory",
    "JndiProviderURL",
    "JdbcLogHeartBeats",
    "JdbcLogOutgoingTable",
    "JdbcLogIncomingTable",
    "JdbcLogEventTable",
    "JdbcSessionIdDefaultPropertyValue",
    "JdbcMaxActiveConnection",
    "JdbcMaxActiveTime",
    "JdbcMaxConnectionLifeTime",
    "JdbcSimultaneousBuildThrottle",
    "JdbcMinIdleConnection",
    "JdbcConnectionTimeout",
    "JdbcConnectionIdleTimeout",
    "JdbcConnectionKeepaliveTime",
    "JdbcConnectionTestQuery",
    "SleepycatDatabaseDir",
    "SleepycatSequenceDbName",
    "SleepycatMessageDbName",
    // Logs.
    "FileLogPath",
    "FileIncludeMilliseconds",
    "FileIncludeTimeStampForMessages",
    "FileLogHeartbeats",
    "ScreenLogShowIncoming",
    "ScreenLogShowOutgoing",
    "ScreenLogShowEvents",
    "ScreenLogShowHeartBeats",
    "ScreenIncludeMilliseconds",
    "SLF4JLogEventCategory",
    "SLF4JLogErrorEventCategory",
    "SLF4JLogIncomingMessageCategory",
    "SLF4JLogOutgoingMessageCategory",
    "SLF4JLogPrependSessionID",
    "SLF4JLogHeartbeats",
];

/// QuickFIX/n.
const QUICKFIX_N: &[&str] = &[
    "BeginString",
    "SenderCompID",
    "SenderSubID",
    "SenderLocationID",
    "TargetCompID",
    "TargetSubID",
    "TargetLocationID",
    "SessionQualifier",
    "DefaultApplVerID",
    "ConnectionType",
    "UseDataDictionary",
    "NonStopSession",
    "UseLocalTime",
    "TimeZone",
    "StartDay",
    "EndDay",
    "Weekdays",
    "StartTime",
    "EndTime",
    "HeartBtInt",
    "SocketAcceptHost",
    "SocketAcceptPort",
    "SocketConnectHost",
    "SocketConnectPort",
    "ReconnectInterval",
    "FileLogPath",
    "DebugFileLogPath",
    "FileStorePath",
    "RefreshOnLogon",
    "ResetOnLogon",
    "ResetOnLogout",
    "ResetOnDisconnect",
    "ValidateFieldsOutOfOrder",
    "ValidateFieldsHaveValues",
    "ValidateUserDefinedFields",
    "ValidateLengthAndChecksum",
    "AllowUnknownFieldValues",
    "AllowUnknownMsgFields",
    "DataDictionary",
    "TransportDataDictionary",
    "AppDataDictionary",
    "PersistMessages",
    "LogonTimeout",
    "LogoutTimeout",
    "SendRedundantResendRequests",
    "ResendSessionLevelRejects",
    "MillisecondsInTimeStamp",
    "TimestampPrecision",
    "EnableLastMsgSeqNumProcessed",
    "MaxMessagesInResendRequest",
    "SendLogoutBeforeDisconnectFromTimeout",
    "SocketNodelay",
    "SocketSendBufferSize",
    "SocketReceiveBufferSize",
    "SocketSendTimeout",
    "SocketReceiveTimeout",
    "IgnorePossDupResendRequests",
    "RequiresOrigSendingTime",
    "CheckLatency",
    "MaxLatency",
    "SocketIgnoreProxy",
    "ScreenLogShowIncoming",
    "ScreenLogShowOutgoing",
    "ScreenLogShowEvents",
    "SSLEnable",
    "SSLServerName",
    "SSLProtocols",
    "SSLValidateCertificates",
    "SSLCheckCertificateRevocation",
    "SSLCertificate",
    "SSLCertificatePassword",
    "SSLRequireClientCertificate",
    "SSLCACertificate",
];

/// quickfixgo.
const QUICKFIX_GO: &[&str] = &[
    "BeginString",
    "SenderCompID",
    "SenderSubID",
    "SenderLocationID",
    "TargetCompID",
    "TargetSubID",
    "TargetLocationID",
    "SessionQualifier",
    "SocketAcceptHost",
    "SocketAcceptPort",
    "SocketConnectHost",
    "SocketConnectPort",
    "SocketPrivateKeyFile",
    "SocketCertificateFile",
    "SocketCAFile",
    "SocketInsecureSkipVerify",
    "SocketServerName",
    "SocketMinimumTLSVersion",
    "SocketTimeout",
    "SocketUseSSL",
    "ProxyType",
    "ProxyHost",
    "ProxyPort",
    "ProxyUser",
    "ProxyPassword",
    "UseTCPProxy",
    "DefaultApplVerID",
    "StartTime",
    "EndTime",
    "StartDay",
    "EndDay",
    "TimeZone",
    "DataDictionary",
    "TransportDataDictionary",
    "AppDataDictionary",
    "ResetOnLogon",
    "RefreshOnLogon",
    "ResetOnLogout",
    "ResetOnDisconnect",
    "ReconnectInterval",
    "LogoutTimeout",
    "LogonTimeout",
    "HeartBtInt",
    "HeartBtIntOverride",
    "FileLogPath",
    "FileStorePath",
    "SQLStoreDriver",
    "SQLStoreDataSourceName",
    "SQLStoreConnMaxLifetime",
    "MongoStoreConnection",
    "MongoStoreDatabase",
    "MongoStoreReplicaSet",
    "ValidateFieldsOutOfOrder",
    "ResendRequestChunkSize",
    "EnableLastMsgSeqNumProcessed",
    "CheckLatency",
    "TimeStampPrecision",
    "MaxLatency",
    "PersistMessages",
    "RejectInvalidMessage",
    "AllowUnknownMessageFields",
    "CheckUserDefinedFields",
    "DynamicSessions",
    "DynamicQualifier",
    "SocketPrivateKeyBytes",
    "SocketCertificateBytes",
    "SocketCABytes",
    "EnableResetSeqTime",
    "ResetSeqTime",
];

/// Keys of the whole engine: written in `[DEFAULT]`.
const IN_DEFAULT: &[&str] = &["HttpAcceptPort"];

/// Keys that only an acceptor has: written in an acceptor's section.
const ACCEPTOR: &[&str] = &[
    "SocketAcceptPort",
    "SocketAcceptHost",
    "SocketAcceptAddress",
    "SocketAcceptProtocol",
    "AcceptorTemplate",
    "AllowedRemoteAddresses",
    "DynamicSessions",
    "DynamicQualifier",
    "NeedClientAuth",
    "SSLRequireClientCertificate",
    "ServerCertificateFile",
    "ServerCertificateKeyFile",
];

/// Keys that need another to mean anything, and the settings written before them.
const COMPANIONS: &[(&str, &str)] = &[
    ("StartTime", "EndTime=17:00:00\n"),
    ("EndTime", "StartTime=08:00:00\n"),
    (
        "StartDay",
        "StartTime=08:00:00\nEndTime=17:00:00\nEndDay=Friday\n",
    ),
    (
        "EndDay",
        "StartTime=08:00:00\nEndTime=17:00:00\nStartDay=Monday\n",
    ),
    ("Weekdays", "StartTime=08:00:00\nEndTime=17:00:00\n"),
    ("TimeZone", "StartTime=08:00:00\nEndTime=17:00:00\n"),
    ("UseLocalTime", "StartTime=08:00:00\nEndTime=17:00:00\n"),
    ("LogonTime", "StartTime=08:00:00\nEndTime=17:00:00\n"),
    ("LogoutTime", "StartTime=08:00:00\nEndTime=17:00:00\n"),
    (
        "LogonDay",
        "StartTime=08:00:00\nEndTime=17:00:00\nStartDay=Monday\nEndDay=Friday\nLogoutDay=Friday\n",
    ),
    (
        "LogoutDay",
        "StartTime=08:00:00\nEndTime=17:00:00\nStartDay=Monday\nEndDay=Friday\nLogonDay=Monday\n",
    ),
    ("SocketConnectHost1", "SocketConnectPort1=9001\n"),
    ("SocketConnectPort1", "SocketConnectHost1=127.0.0.2\n"),
];

/// A plausible value of each key whose value is not a Y/N flag.
const VALUES: &[(&str, &str)] = &[
    ("BeginString", "FIX.4.4"),
    ("SenderCompID", "ME"),
    ("TargetCompID", "YOU"),
    ("SenderSubID", "DESK"),
    ("SenderLocationID", "LDN"),
    ("TargetSubID", "BOOK"),
    ("TargetLocationID", "NYC"),
    ("SessionQualifier", "Q1"),
    ("DefaultApplVerID", "FIX.5.0SP2"),
    ("ConnectionType", "initiator"),
    ("DataDictionary", "FIX44.xml"),
    ("TransportDataDictionary", "FIXT11.xml"),
    ("AppDataDictionary", "FIX50SP2.xml"),
    ("AppDataDictionary.FIX.4.4", "FIX44.xml"),
    ("StartTime", "08:00:00"),
    ("EndTime", "17:00:00"),
    ("StartDay", "Monday"),
    ("EndDay", "Friday"),
    ("LogonTime", "08:30:00"),
    ("LogoutTime", "16:30:00"),
    ("LogonDay", "Monday"),
    ("LogoutDay", "Friday"),
    ("Weekdays", "Mon,Tue,Wed"),
    ("TimeZone", "Europe/London"),
    ("MaxLatency", "120"),
    ("HeartBtInt", "30"),
    ("HeartBtIntOverride", "Y"),
    ("SocketAcceptPort", "9000"),
    ("SocketAcceptHost", "127.0.0.1"),
    ("SocketAcceptAddress", "127.0.0.1"),
    ("SocketConnectHost", "127.0.0.1"),
    ("SocketConnectPort", "9000"),
    ("SocketConnectHost1", "127.0.0.2"),
    ("SocketConnectPort1", "9001"),
    ("SocketConnectSourceHost", "127.0.0.1"),
    ("SocketConnectSourcePort", "40000"),
    ("SocketLocalHost", "127.0.0.1"),
    ("SocketLocalPort", "40000"),
    ("SocketConnectTimeout", "10"),
    ("SocketSendBufferSize", "65536"),
    ("SocketReceiveBufferSize", "65536"),
    ("SendBufferSize", "65536"),
    ("ReceiveBufferSize", "65536"),
    ("ReconnectInterval", "30"),
    ("LogonTimeout", "10"),
    ("LogoutTimeout", "2"),
    ("FileStorePath", "store"),
    ("FileLogPath", "log"),
    ("FileLogBackupPath", "log/backup"),
    ("DebugFileLogPath", "log/debug"),
    ("TimestampPrecision", "6"),
    ("TimeStampPrecision", "MICROS"),
    ("HttpAcceptPort", "8088"),
    ("SocketCertificateFile", "cert.pem"),
    ("SocketPrivateKeyFile", "key.pem"),
    ("SocketCAFile", "ca.pem"),
    ("SocketServerName", "fix.example"),
    ("SSLServerName", "fix.example"),
    ("SocketMinimumTLSVersion", "TLS12"),
    ("SocketTimeout", "10s"),
    ("ServerCertificateFile", "cert.pem"),
    ("ServerCertificateKeyFile", "key.pem"),
    ("ClientCertificateFile", "cert.pem"),
    ("ClientCertificateKeyFile", "key.pem"),
    ("CertificationAuthoritiesFile", "ca.pem"),
    ("CertificationAuthoritiesDirectory", "ca"),
    ("CertificateRevocationListFile", "crl.pem"),
    ("CertificateRevocationListDirectory", "crl"),
    ("CertificateVerifyLevel", "1"),
    ("SSLProtocol", "all"),
    ("SSLCipherSuite", "HIGH"),
    ("SSLProtocols", "Tls12"),
    ("SSLCertificate", "me.pfx"),
    ("SSLCertificatePassword", "secret"),
    ("SSLCACertificate", "ca.cer"),
    ("AllowedRemoteAddresses", "127.0.0.1"),
    ("ResendRequestChunkSize", "100"),
    ("MaxMessagesInResendRequest", "100"),
    ("TestRequestDelayMultiplier", "0.5"),
    ("HeartBeatTimeoutMultiplier", "1.4"),
    ("LogonTag", "553=user"),
    ("LogonTag1", "554=password"),
    ("Description", "a session"),
    ("MaxScheduledWriteRequests", "100"),
    ("SocketConnectProtocol", "TCP"),
    ("SocketAcceptProtocol", "TCP"),
    ("ProxyType", "socks"),
    ("ProxyVersion", "5"),
    ("ProxyHost", "proxy.example"),
    ("ProxyPort", "1080"),
    ("ProxyUser", "user"),
    ("ProxyPassword", "secret"),
    ("ProxyDomain", "CORP"),
    ("ProxyWorkstation", "PC1"),
    ("SocketKeyStore", "keystore.jks"),
    ("SocketKeyStorePassword", "secret"),
    ("KeyManagerFactoryAlgorithm", "SunX509"),
    ("KeyStoreType", "JKS"),
    ("SocketTrustStore", "truststore.jks"),
    ("SocketTrustStorePassword", "secret"),
    ("TrustManagerFactoryAlgorithm", "PKIX"),
    ("TrustStoreType", "JKS"),
    ("EnabledProtocols", "TLSv1.2"),
    ("CipherSuites", "TLS_AES_128_GCM_SHA256"),
    ("SNIHostName", "fix.example"),
    ("EndpointIdentificationAlgorithm", "HTTPS"),
    ("SocketLinger", "0"),
    ("SocketTrafficClass", "IPTOS_LOWDELAY"),
    ("SocketSynchronousWriteTimeout", "30000"),
    ("FileStoreMaxCachedMsgs", "10000"),
    ("SocketSendTimeout", "1000"),
    ("SocketReceiveTimeout", "1000"),
    ("SQLStoreDriver", "mysql"),
    ("SQLStoreDataSourceName", "fix@/quickfix"),
    ("SQLStoreConnMaxLifetime", "1h"),
    ("MongoStoreConnection", "mongodb://localhost:27017"),
    ("MongoStoreDatabase", "quickfix"),
    ("MongoStoreReplicaSet", "rs0"),
    ("DynamicQualifier", "Y"),
    ("ResetSeqTime", "17:00:00"),
    ("SocketPrivateKeyBytes", "-----BEGIN PRIVATE KEY-----"),
    ("SocketCertificateBytes", "-----BEGIN CERTIFICATE-----"),
    ("SocketCABytes", "-----BEGIN CERTIFICATE-----"),
    ("SLF4JLogEventCategory", "quickfixj.event"),
    ("SLF4JLogErrorEventCategory", "quickfixj.errorEvent"),
    ("SLF4JLogIncomingMessageCategory", "quickfixj.msg.incoming"),
    ("SLF4JLogOutgoingMessageCategory", "quickfixj.msg.outgoing"),
];

/// The value of `key`: its plausible value, else a database or table name for those keys,
/// else a flag.
fn value(key: &str) -> &'static str {
    if let Some((_, value)) = VALUES.iter().find(|(k, _)| *k == key) {
        return value;
    }
    let lower = key.to_ascii_lowercase();
    let is_database = ["mysql", "postgresql", "odbc", "jdbc", "jndi"]
        .iter()
        .any(|prefix| lower.starts_with(prefix));
    if is_database && !lower.ends_with("connectionpool") && !lower.ends_with("heartbeats") {
        "quickfix"
    } else {
        "Y"
    }
}

/// A settings file that sets `key` once, in `[DEFAULT]` or in a session of the role it
/// belongs to, and the line it is on.
fn file_setting(key: &str) -> (String, usize) {
    let is_acceptor = ACCEPTOR.contains(&key);
    let role = if is_acceptor {
        "ConnectionType=acceptor\nSocketAcceptPort=9000\n"
    } else {
        "ConnectionType=initiator\nSocketConnectHost=127.0.0.1\nSocketConnectPort=9000\n"
    };
    let companions = COMPANIONS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, settings)| settings);
    let setting = format!("{companions}{key}={}\n", value(key));
    let session = format!(
        "[SESSION]\n{role}BeginString=FIX.4.4\nSenderCompID=ME\nTargetCompID=YOU\nHeartBtInt=30\n"
    );
    if IN_DEFAULT.contains(&key) {
        (format!("[DEFAULT]\n{setting}{session}"), 2)
    } else {
        let line = session.lines().count() + companions.lines().count() + 1;
        (format!("{session}{setting}"), line)
    }
}

/// What fixring answers for `key`, or `None` when it is read, accepted or refused as it must.
fn unknown(key: &str) -> Option<String> {
    let (text, line) = file_setting(key);
    let is_unknown = |w: &fixring_core::config::ConfigWarning| {
        w.line == line && matches!(w.kind, ConfigWarningKind::UnknownKey)
    };
    match Settings::parse(&text, None) {
        Ok(settings) => settings
            .warnings
            .iter()
            .find(|w| is_unknown(w))
            .map(ToString::to_string),
        Err(errors) => {
            if let Some(w) = errors.warnings().iter().find(|w| is_unknown(w)) {
                return Some(w.to_string());
            }
            // Refused: an error on the key's own line, naming it, with a reason.
            let prefix = format!("<settings>:{line}: {key}: ");
            let refused = errors.iter().any(|e| {
                let message = e.to_string();
                message.starts_with(&prefix) && message.len() > prefix.len()
            });
            (!refused).then(|| format!("refused, but not on its own line: {errors}"))
        }
    }
}

fn check(engine: &str, keys: &[&str]) {
    let failures: Vec<String> = keys
        .iter()
        .filter_map(|key| unknown(key).map(|answer| format!("{key}: {answer}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{engine}: {} of {} keys are unknown to fixring:\n{}",
        failures.len(),
        keys.len(),
        failures.join("\n")
    );
}

#[test]
fn quickfix_cpp_keys_are_read_accepted_or_refused() {
    check("QuickFIX C++", QUICKFIX_CPP);
}

#[test]
fn quickfix_j_keys_are_read_accepted_or_refused() {
    check("QuickFIX/J", QUICKFIX_J);
}

#[test]
fn quickfix_n_keys_are_read_accepted_or_refused() {
    check("QuickFIX/n", QUICKFIX_N);
}

#[test]
fn quickfix_go_keys_are_read_accepted_or_refused() {
    check("quickfixgo", QUICKFIX_GO);
}

#[test]
fn a_key_no_engine_defines_is_still_unknown() {
    assert!(unknown("NoEngineDefinesThisKey").is_some());
}

const INITIATOR: &str = "[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\n\
                         SenderCompID=ME\nTargetCompID=YOU\nHeartBtInt=30\n\
                         SocketConnectHost=127.0.0.1\nSocketConnectPort=9000\n";
const ACCEPTOR_SESSION: &str = "[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
                                SenderCompID=ME\nTargetCompID=YOU\nSocketAcceptPort=9000\n";

#[test]
fn a_refused_key_says_why_on_its_line_without_repeating_its_value() {
    let text = format!("{INITIATOR}JdbcPassword=hunter2\n");
    let errors = Settings::parse(&text, Some("s.cfg".as_ref())).expect_err("refused");
    let message = errors.to_string();
    assert!(
        message.starts_with("s.cfg:9: JdbcPassword: not supported: fixring has no database"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(
        errors
            .iter()
            .all(|e| matches!(e.kind, ConfigErrorKind::Unsupported { .. }))
    );
}

#[test]
fn a_refused_key_of_default_is_reported_once() {
    let text = format!("[DEFAULT]\nProxyHost=proxy.example\n{INITIATOR}{INITIATOR}");
    let text = text.replacen("TargetCompID=YOU", "TargetCompID=OTHER", 1);
    let errors = Settings::parse(&text, None).expect_err("refused");
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2], "{errors}");
}

#[test]
fn a_value_asking_for_what_fixring_does_loads_and_another_is_refused() {
    for setting in [
        "DisableHeartBeatCheck=N",
        "SocketConnectProtocol=tcp",
        "FileStoreSync=N",
        "MaxScheduledWriteRequests=0",
        "ValidateChecksum=Y",
        "SocketIgnoreProxy=Y",
        "HeartBtIntOverride=N",
    ] {
        let settings = Settings::parse(&format!("{INITIATOR}{setting}\n"), None)
            .unwrap_or_else(|e| panic!("{setting}: {e}"));
        assert!(settings.warnings.is_empty(), "{setting}");
    }
    for setting in [
        "DisableHeartBeatCheck=Y",
        "SocketConnectProtocol=VM_PIPE",
        "FileStoreSync=Y",
        "MaxScheduledWriteRequests=100",
        "ValidateChecksum=N",
        "SocketIgnoreProxy=N",
        "HeartBtIntOverride=Y",
        "TestRequestDelayMultiplier=0.5",
        "LogonTag2=554=secret",
    ] {
        let errors = Settings::parse(&format!("{INITIATOR}{setting}\n"), None).expect_err(setting);
        let key = setting.split('=').next().unwrap_or_default();
        assert!(
            errors.iter().all(|e| e.line == 9 && e.key == key),
            "{setting}: {errors}"
        );
    }
}

#[test]
fn java_key_stores_are_refused_with_tls_on_and_change_nothing_with_it_off() {
    let stores = "SocketKeyStore=ks.jks\nSocketKeyStorePassword=hunter2\n\
                  SocketTrustStore=ts.jks\n";
    assert!(Settings::parse(&format!("{INITIATOR}{stores}"), None).is_ok());
    let text = format!("{INITIATOR}SocketUseSSL=Y\n{stores}");
    let errors = Settings::parse(&text, None).expect_err("refused with TLS on");
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "SocketKeyStore",
            "SocketKeyStorePassword",
            "SocketTrustStore"
        ],
        "{errors}"
    );
    assert!(!errors.to_string().contains("hunter2"), "{errors}");
    assert!(errors.to_string().contains("PEM"), "{errors}");
}

#[test]
fn other_engines_names_of_keys_fixring_reads() {
    let text = format!(
        "{INITIATOR}SocketUseSSL=Y\nSocketCAFile=ca.pem\nEnabledProtocols=TLSv1.3\n\
         SNIHostName=fix.example\nUseSNI=Y\nEndpointIdentificationAlgorithm=HTTPS\n\
         AllowUnknownMessageFields=Y\nCheckUserDefinedFields=N\n"
    );
    let settings = Settings::parse(&text, None).unwrap_or_else(|e| panic!("{e}"));
    let session = &settings.sessions[0];
    let tls = session.tls.as_ref().expect("TLS on");
    assert_eq!(tls.only_version, Some(TlsVersion::Tls13));
    assert_eq!(tls.server_name.as_deref(), Some("fix.example"));
    assert!(session.dictionary.options.allow_unknown_msg_fields);
    assert!(!session.dictionary.options.user_defined_fields);

    let acceptor = |need: &str| {
        let text = format!(
            "{ACCEPTOR_SESSION}SocketUseSSL=Y\nSocketCertificateFile=c.pem\n\
             SocketPrivateKeyFile=k.pem\nSocketCAFile=ca.pem\nNeedClientAuth={need}\n"
        );
        let settings = Settings::parse(&text, None).unwrap_or_else(|e| panic!("{e}"));
        settings.sessions[0].tls.clone().expect("TLS on").ca_file
    };
    assert!(acceptor("Y").is_some(), "client certificates verified");
    assert!(acceptor("N").is_none(), "none asked for");

    for setting in [
        "UseSNI=N",
        "EndpointIdentificationAlgorithm=",
        "EnabledProtocols=TLSv1",
    ] {
        let text = format!("{INITIATOR}SocketUseSSL=Y\nSocketCAFile=ca.pem\n{setting}\n");
        let errors = Settings::parse(&text, None).expect_err(setting);
        let key = setting.split('=').next().unwrap_or_default();
        assert!(errors.iter().any(|e| e.key == key), "{setting}: {errors}");
    }
}

/// The words written as code in docs/configuration.md: `Key`, each key of `A, B`, and the
/// start of a family written `Prefix…`.
fn documented() -> (Vec<String>, Vec<String>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut words = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with("```")) {
        let code = line.split('`').skip(1).step_by(2);
        for part in code.flat_map(|c| c.split([',', ' ', '=', '[', ']'])) {
            words.push(part.trim().to_owned());
        }
    }
    let families = words
        .iter()
        .filter_map(|w| w.strip_suffix('…').filter(|p| !p.is_empty()))
        .map(str::to_owned)
        .collect();
    (words, families)
}

#[test]
fn docs_name_every_key_of_the_four_engines() {
    let (words, families) = documented();
    let mut missing = Vec::new();
    for key in [QUICKFIX_CPP, QUICKFIX_J, QUICKFIX_N, QUICKFIX_GO].concat() {
        let unnumbered = key.trim_end_matches(|c: char| c.is_ascii_digit());
        let is_named = words
            .iter()
            .any(|w| w == key || w == unnumbered || *w == format!("{unnumbered}<n>"))
            || families.iter().any(|f| key.starts_with(f.as_str()))
            || key.starts_with("AppDataDictionary.");
        if !is_named && !missing.contains(&key) {
            missing.push(key);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not name: {missing:?}"
    );
}
