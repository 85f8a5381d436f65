//! Real settings files: every file of `../shared/conformance/settings-files/` (QuickFIX C++,
//! QuickFIX/J, QuickFIX/n, quickfixgo; SOURCES.md says where each comes from)
//! loads when valid, is refused naming its own keys when not, and sets no engine key that is
//! neither read nor refused, except the named lists below.

use std::path::{Path, PathBuf};

use fixring_core::config::{ConfigErrorKind, ConfigWarningKind, Settings};

/// The files that must be refused (SOURCES.md): three invalid for their own engine, and 42,
/// TLS in QuickFIX/n's words without trust roots.
const INVALID: [&str; 4] = [
    "34-user-iceadapter-fix.cfg",
    "35-user-fixperf-acceptor.cfg",
    "40-user-shift-initiator.cfg",
    "42-user-coinbase-prime.cfg",
];

/// The keys naming a data dictionary, or asking for one: the only ones a file that parses
/// may fail on when its dictionaries are read, as the engine starts.
const DICTIONARY_KEYS: [&str; 4] = [
    "UseDataDictionary",
    "DataDictionary",
    "TransportDataDictionary",
    "AppDataDictionary",
];

/// Keys of the valid files that no engine of the four defines: the applications' own
/// (`ValidOrderTypes`…), test keys (`TestLong`…), QuickFIX/n's acceptance-test runner
/// (`Verbose`), and misspellings (`SSLCAFile`, `SSLVerifyCertificates`). QuickFIX/J's SLF4J
/// log keys and its manual's `ScreenLogEvents` are engine keys, accepted as changing nothing
/// here (docs/configuration.md); tests/engine_keys.rs checks every engine's keys.
const NOT_ENGINE_KEYS: [&str; 28] = [
    "AliasName",
    "DefaultMarketPrice",
    "Empty",
    "FixitInterceptHost",
    "FixitInterceptPort",
    "HeartBtDelay",
    "HeartBtDelayCount",
    "HeartBtDelayTime",
    "LogToDB",
    "LogToFile",
    "LogToScreen",
    "LogonType",
    "OnBehalfOfCompID",
    "OnBehalfOfSubID",
    "ResponseMsgDelay",
    "ResponseMsgDelayTime",
    "SSLCAFile",
    "SSLVerifyCertificates",
    "TestBoolFalse",
    "TestBoolTrue",
    "TestDouble",
    "TestDouble2",
    "TestLong",
    "TestLong2",
    "TraceNotAvailable",
    "TraceNotAvailableIntervel",
    "ValidOrderTypes",
    "Verbose",
];

/// Settings that turn a protection off, loaded with a loud warning: (file, key).
const INSECURE: [(&str, &str); 1] =
    [("31-user-primary-md-service.cfg", "SocketInsecureSkipVerify")];

fn directory() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/settings-files");
    assert!(
        dir.join("SOURCES.md").is_file(),
        "the settings files are missing: expected {} (the shared conformance directory beside \
         the project)",
        dir.display()
    );
    dir
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".cfg"))
        .collect();
    names.sort();
    names
}

/// Whether `key` is set in `text` (`Key=` or `Key =` at the start of a line, any case).
fn sets(text: &str, key: &str) -> bool {
    text.lines().any(|line| {
        line.trim_start()
            .split('=')
            .next()
            .is_some_and(|k| line.contains('=') && k.trim().eq_ignore_ascii_case(key))
    })
}

#[test]
fn every_settings_file_loads_or_is_refused_naming_its_own_keys() {
    let dir = directory();
    let names = files(&dir);
    assert_eq!(names.len(), 43, "SOURCES.md lists 43 files: {names:?}");
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap_or_default();
    let mut loaded = 0;
    for name in &names {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        match Settings::load(&path) {
            Ok(settings) => {
                assert!(
                    !INVALID.contains(&name.as_str()),
                    "{name} loads but must be refused"
                );
                assert!(!settings.sessions.is_empty(), "{name}: no sessions");
                loaded += 1;
                for w in &settings.warnings {
                    let allowed = match &w.kind {
                        ConfigWarningKind::UnknownKey => NOT_ENGINE_KEYS.contains(&w.key.as_str()),
                        ConfigWarningKind::Insecure { .. } => {
                            INSECURE.contains(&(name.as_str(), w.key.as_str()))
                        }
                        // The certificates of the TLS samples are not copied (SOURCES.md):
                        // said, as `run` would refuse them.
                        ConfigWarningKind::UnreadableFile { .. } => true,
                        _ => false,
                    };
                    assert!(allowed, "{name}: a key neither read nor refused: {w}");
                }
                // The dictionaries these files name are not here: reading them fails, on
                // the key that names each, with its line.
                let mut settings = settings;
                if let Err(errors) = settings.load_dictionaries() {
                    for e in &errors {
                        assert!(
                            DICTIONARY_KEYS
                                .iter()
                                .any(|key| key.eq_ignore_ascii_case(&e.key)),
                            "{name}: a dictionary error on another key: {e}"
                        );
                        let line = text.lines().nth(e.line.saturating_sub(1)).unwrap_or("");
                        assert!(line.contains(&e.key), "{name}: {e} is not on its line");
                    }
                }
            }
            Err(errors) => {
                assert!(
                    INVALID.contains(&name.as_str()),
                    "{name} is valid and must load:\n{errors}"
                );
                let row = sources
                    .lines()
                    .find(|l| l.contains(name.as_str()))
                    .unwrap_or("");
                for e in &errors {
                    let own = match e.kind {
                        ConfigErrorKind::NoSessions => true,
                        // A missing key is named by SOURCES.md's description of the file.
                        ConfigErrorKind::MissingKey => row.contains(e.key.as_str()),
                        _ => sets(&text, &e.key),
                    };
                    assert!(
                        own,
                        "{name}: the refusal names a key the file does not use: {e}"
                    );
                }
            }
        }
    }
    assert_eq!(loaded, 39, "valid files that load");
}

#[test]
fn file_42_is_refused_for_tls_without_roots_naming_its_keys() {
    let path = directory().join("42-user-coinbase-prime.cfg");
    let errors = Settings::load(&path).expect_err("42 must be refused");
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["ClientCertificateKeyFile", "SSLEnable"], "{errors}");
    assert!(errors.to_string().contains("SSLCACertificate"), "{errors}");
}

#[test]
fn files_31_and_32_trust_the_bundled_roots() {
    let dir = directory();
    for (name, skips) in [
        ("31-user-primary-md-service.cfg", true),
        ("32-user-coinbase-prime-md.cfg", false),
    ] {
        let settings = Settings::load(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let tls = settings.sessions[0]
            .tls
            .clone()
            .unwrap_or_else(|| panic!("{name}: TLS off"));
        assert_eq!(tls.skip_verification, skips, "{name}");
        assert!(tls.system_roots || skips, "{name}: {tls:?}");
    }
}
