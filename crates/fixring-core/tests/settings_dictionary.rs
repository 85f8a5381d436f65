//! The data-dictionary keys: read at parse time, the files loaded when the engine starts,
//! with the settings line and the dictionary's fault in every error.

use std::sync::Arc;

use fixring_core::config::Settings;
use fixring_core::dictionary::ValidationOptions;

const DICTIONARIES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/dictionaries"
);

fn two_sessions(extra: &str) -> Settings {
    let text = format!(
        "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort=9000\nSenderCompID=S\n{extra}\
         [SESSION]\nBeginString=FIX.4.4\nTargetCompID=A\n\
         [SESSION]\nBeginString=FIX.4.4\nTargetCompID=B\n"
    );
    Settings::parse(&text, Some("at.cfg".as_ref())).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn sessions_naming_one_file_share_one_dictionary() {
    let mut settings = two_sessions(&format!(
        "DataDictionary={DICTIONARIES}/FIX44.xml\nValidateUserDefinedFields=N\n\
         AllowUnknownMsgFields=Y\nValidateFieldsOutOfOrder=N\nValidateFieldsHaveValues=N\n\
         ValidateUnorderedGroupFields=N\nRejectInvalidMessage=N\n"
    ));
    assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
    settings
        .load_dictionaries()
        .unwrap_or_else(|e| panic!("{e}"));
    let [a, b] = [&settings.sessions[0], &settings.sessions[1]].map(|s| {
        let loaded = s.dictionary.loaded.as_ref().expect("loaded");
        Arc::clone(&loaded.session)
    });
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(a.version(), "FIX.4.4");
    let config = &settings.sessions[0].dictionary;
    assert_eq!(
        config.options,
        ValidationOptions {
            fields_out_of_order: false,
            fields_have_values: false,
            user_defined_fields: false,
            allow_unknown_msg_fields: true,
            unordered_group_fields: false,
        }
    );
    assert!(!config.reject_invalid_message);
}

#[test]
fn no_dictionary_or_use_data_dictionary_n_validates_nothing() {
    for extra in [
        "",
        "UseDataDictionary=N\nDataDictionary=nowhere/FIX44.xml\n",
        "DataDictionary=nowhere.xml\nValidateIncomingMessage=N\n",
    ] {
        let mut settings = two_sessions(extra);
        settings
            .load_dictionaries()
            .unwrap_or_else(|e| panic!("{extra}: {e}"));
        assert!(
            settings
                .sessions
                .iter()
                .all(|s| s.dictionary.loaded.is_none()),
            "{extra}"
        );
    }
}

#[test]
fn a_missing_or_broken_dictionary_names_the_key_its_line_and_the_fault() {
    let mut missing = two_sessions("DataDictionary=nowhere/FIX44.xml\n");
    let errors = missing.load_dictionaries().expect_err("no such file");
    let text = errors.to_string();
    assert!(text.contains("at.cfg:5: DataDictionary:"), "{text}");
    assert!(text.contains("nowhere/FIX44.xml:0: cannot read"), "{text}");

    let broken = std::env::temp_dir().join(format!("fixring-broken-{}.xml", std::process::id()));
    std::fs::write(
        &broken,
        "<fix major='4' minor='4'>\n<fields>\n<field number='1' name='A'/>\n</fields></fix>\n",
    )
    .expect("temp file");
    let mut settings = two_sessions(&format!("DataDictionary={}\n", broken.display()));
    let text = settings
        .load_dictionaries()
        .expect_err("broken")
        .to_string();
    let _ = std::fs::remove_file(&broken);
    assert!(text.contains("at.cfg:5: DataDictionary:"), "{text}");
    assert!(
        text.contains(".xml:3: <field> without the attribute type"),
        "{text}"
    );

    let mut unnamed = two_sessions("UseDataDictionary=Y\n");
    let text = unnamed
        .load_dictionaries()
        .expect_err("no path")
        .to_string();
    assert!(text.contains("at.cfg:5: UseDataDictionary:"), "{text}");
}

/// An acceptor session of FIXT.1.1 with its transport and application dictionaries, then
/// `extra` (on line 10).
fn fixt_session(extra: &str) -> String {
    format!(
        "[SESSION]\nConnectionType=acceptor\nSocketAcceptPort=9000\nBeginString=FIXT.1.1\n\
         SenderCompID=S\nTargetCompID=T\nDefaultApplVerID=FIX.5.0SP2\n\
         TransportDataDictionary={DICTIONARIES}/FIXT11.xml\n\
         AppDataDictionary={DICTIONARIES}/FIX50SP2.xml\n{extra}"
    )
}

/// The dictionaries of the first session of `text`, loaded; no warnings on the way.
fn loaded(text: &str) -> fixring_core::dictionary::Dictionaries {
    let mut settings = Settings::parse(text, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
    settings
        .load_dictionaries()
        .unwrap_or_else(|e| panic!("{e}"));
    settings
        .sessions
        .swap_remove(0)
        .dictionary
        .loaded
        .expect("loaded")
}

#[test]
fn a_fixt_session_reads_the_transport_and_application_dictionaries() {
    let text = fixt_session("");
    let loaded = loaded(&text);
    assert_eq!(loaded.session.version(), "FIXT.1.1");
    assert_eq!(
        loaded.application.as_ref().map(|a| a.version()),
        Some("FIX.5.0SP2")
    );

    let only_data = text.replace("TransportDataDictionary", "DataDictionary");
    let mut settings = Settings::parse(&only_data, None).unwrap_or_else(|e| panic!("{e}"));
    let text = settings
        .load_dictionaries()
        .expect_err("no transport")
        .to_string();
    assert!(text.contains("TransportDataDictionary"), "{text}");
}

#[test]
fn app_data_dictionary_of_a_version_names_that_versions_dictionary() {
    let text = fixt_session(&format!(
        "AppDataDictionary.FIX.4.4={DICTIONARIES}/FIX44.xml\n"
    ));
    let loaded = loaded(&text);
    let versions: Vec<_> = loaded
        .versions
        .iter()
        .map(|(code, d)| (*code, d.version()))
        .collect();
    assert_eq!(versions, [(6, "FIX.4.4")]);

    let unknown = text.replace("AppDataDictionary.FIX.4.4", "AppDataDictionary.FIX.9.9");
    let text_of = |e: fixring_core::config::ConfigErrors| e.to_string();
    let refused = Settings::parse(&unknown, Some(std::path::Path::new("at.cfg"))).map_err(text_of);
    let message = refused.expect_err("no such version");
    assert!(
        message.contains("at.cfg:10: AppDataDictionary.FIX.9.9:"),
        "{message}"
    );

    let without_default = text.replace("AppDataDictionary=", "Unused=");
    let mut settings = Settings::parse(&without_default, None).unwrap_or_else(|e| panic!("{e}"));
    let message = settings
        .load_dictionaries()
        .expect_err("no AppDataDictionary")
        .to_string();
    assert!(message.contains("AppDataDictionary.FIX.4.4"), "{message}");
}
