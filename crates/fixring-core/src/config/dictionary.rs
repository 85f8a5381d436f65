//! The data-dictionary keys: which dictionaries a session validates its messages with, and
//! which checks run, with QuickFIX's names and defaults.
//!
//! Parsing only records the paths; the files are read when the engine starts
//! ([`super::Settings::load_dictionaries`]), so a settings file whose dictionaries are
//! elsewhere still parses, and a missing or broken dictionary stops start-up with the
//! settings line and the dictionary's own file and line.

use std::path::{Path, PathBuf};

use super::error::{ConfigError, ConfigErrorKind, ConfigErrors, Report};
use super::parse::View;
use super::session::flag;
use super::session_keys::appl_ver_id_of;
use crate::dictionary::{Dictionaries, DictionaryCache, ValidationOptions};

const USE_DATA_DICTIONARY: &str = "usedatadictionary";
const DATA_DICTIONARY: &str = "datadictionary";
const TRANSPORT_DATA_DICTIONARY: &str = "transportdatadictionary";
const APP_DATA_DICTIONARY: &str = "appdatadictionary";
/// QuickFIX/J's `AppDataDictionary.<version>`, e.g. `AppDataDictionary.FIX.4.4`.
const APP_DATA_DICTIONARY_OF: &str = "appdatadictionary.";
const VALIDATE_FIELDS_OUT_OF_ORDER: &str = "validatefieldsoutoforder";
const VALIDATE_FIELDS_HAVE_VALUES: &str = "validatefieldshavevalues";
pub(super) const VALIDATE_USER_DEFINED_FIELDS: &str = "validateuserdefinedfields";
pub(super) const ALLOW_UNKNOWN_MSG_FIELDS: &str = "allowunknownmsgfields";
const VALIDATE_UNORDERED_GROUP_FIELDS: &str = "validateunorderedgroupfields";
const REJECT_INVALID_MESSAGE: &str = "rejectinvalidmessage";
const VALIDATE_INCOMING_MESSAGE: &str = "validateincomingmessage";

/// Every key this module reads (lower-cased).
const KEYS: [&str; 11] = [
    USE_DATA_DICTIONARY,
    DATA_DICTIONARY,
    TRANSPORT_DATA_DICTIONARY,
    APP_DATA_DICTIONARY,
    VALIDATE_FIELDS_OUT_OF_ORDER,
    VALIDATE_FIELDS_HAVE_VALUES,
    VALIDATE_USER_DEFINED_FIELDS,
    ALLOW_UNKNOWN_MSG_FIELDS,
    VALIDATE_UNORDERED_GROUP_FIELDS,
    REJECT_INVALID_MESSAGE,
    VALIDATE_INCOMING_MESSAGE,
];

/// Whether a canonical name is one of this module's keys.
pub(super) fn is_key(name: &str) -> bool {
    KEYS.contains(&name) || name.starts_with(APP_DATA_DICTIONARY_OF)
}

/// A dictionary file a key names, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DictionaryPath {
    /// The path as written (read relative to the working directory, as QuickFIX reads it).
    pub path: PathBuf,
    /// The key as written, e.g. `DataDictionary`.
    pub key: String,
    /// The line of the key in the settings file.
    pub line: usize,
}

/// How a session validates what it receives.
#[derive(Clone, Debug, PartialEq)]
pub struct DictionaryConfig {
    /// UseDataDictionary: `Some(true)` or `Some(false)` as written; `None` when absent, which
    /// validates when a dictionary is named.
    pub use_data_dictionary: Option<(bool, usize)>,
    /// DataDictionary: the FIX.4.x dictionary.
    pub data_dictionary: Option<DictionaryPath>,
    /// TransportDataDictionary: FIXT.1.1's session-level dictionary.
    pub transport_data_dictionary: Option<DictionaryPath>,
    /// AppDataDictionary: FIXT.1.1's application dictionary (DefaultApplVerID's version).
    pub app_data_dictionary: Option<DictionaryPath>,
    /// `AppDataDictionary.<version>` (QuickFIX/J): FIXT.1.1's application dictionary for
    /// messages of another ApplVerID, by its code (`6` for `AppDataDictionary.FIX.4.4`).
    pub app_data_dictionaries: Vec<(u8, DictionaryPath)>,
    /// The checks: ValidateFieldsOutOfOrder, ValidateFieldsHaveValues,
    /// ValidateUserDefinedFields, AllowUnknownMsgFields, ValidateUnorderedGroupFields.
    pub options: ValidationOptions,
    /// ValidateIncomingMessage (QuickFIX/J): with N nothing received is validated
    /// (default Y).
    pub validate_incoming_message: bool,
    /// RejectInvalidMessage (QuickFIX/J): with N a message that fails validation is
    /// delivered all the same, the failure only reported (default Y).
    pub reject_invalid_message: bool,
    /// The dictionaries once loaded by [`super::Settings::load_dictionaries`]; `None` before,
    /// or when the session does not validate.
    pub loaded: Option<Dictionaries>,
}

impl Default for DictionaryConfig {
    fn default() -> Self {
        Self {
            use_data_dictionary: None,
            data_dictionary: None,
            transport_data_dictionary: None,
            app_data_dictionary: None,
            app_data_dictionaries: Vec::new(),
            options: ValidationOptions::default(),
            validate_incoming_message: true,
            reject_invalid_message: true,
            loaded: None,
        }
    }
}

impl DictionaryConfig {
    /// Whether the session validates messages: UseDataDictionary is not N, a dictionary is
    /// named, and ValidateIncomingMessage is not N.
    pub fn validates(&self) -> bool {
        let named = self.data_dictionary.is_some() || self.transport_data_dictionary.is_some();
        let wanted = self.use_data_dictionary.map_or(named, |(use_it, _)| use_it);
        wanted && self.validate_incoming_message
    }

    /// Loads the dictionaries of a session of `begin_string` through `cache`; errors name the
    /// settings file (`file`), the key's line and the dictionary's own fault.
    pub(super) fn load(
        &mut self,
        begin_string: &str,
        file: Option<&Path>,
        cache: &mut DictionaryCache,
    ) -> Result<(), ConfigError> {
        if !self.validates() {
            self.loaded = None;
            return Ok(());
        }
        if self.loaded.is_some() {
            return Ok(());
        }
        let error = |line: usize, key: &str, value: String, reason: String| ConfigError {
            file: file.map(Path::to_path_buf),
            line,
            key: key.to_owned(),
            kind: ConfigErrorKind::InvalidValue { value, reason },
        };
        let mut open = |named: &DictionaryPath| {
            cache.load(&named.path).map_err(|e| {
                error(
                    named.line,
                    &named.key,
                    named.path.display().to_string(),
                    e.to_string(),
                )
            })
        };
        let fixt = begin_string == "FIXT.1.1";
        let session_key = if fixt {
            &self.transport_data_dictionary
        } else {
            &self.data_dictionary
        };
        let Some(session_path) = session_key else {
            let (line, key) = match self.use_data_dictionary {
                Some((_, line)) => (line, "UseDataDictionary"),
                None => (
                    self.data_dictionary.as_ref().map_or(0, |d| d.line),
                    "DataDictionary",
                ),
            };
            let needed = if fixt {
                "a FIXT.1.1 session validates with TransportDataDictionary (and \
                 AppDataDictionary), which is not set"
            } else {
                "validation needs DataDictionary, which is not set"
            };
            // QuickFIX/J falls back on the dictionary of its own jar that the version names.
            let bundled = format!("{}.xml", begin_string.replace('.', ""));
            let reason = format!(
                "{needed} (QuickFIX/J would read the {bundled} in its jar; fixring ships no \
                 dictionary: name the file, QuickFIX's {bundled} for instance)"
            );
            return Err(error(line, key, "Y".to_owned(), reason));
        };
        let session = open(session_path)?;
        let application = match (&self.app_data_dictionary, fixt) {
            (Some(app), true) => Some(open(app)?),
            _ => None,
        };
        let mut versions = Vec::new();
        if fixt {
            for (code, named) in &self.app_data_dictionaries {
                versions.push((*code, open(named)?));
            }
        }
        if application.is_none()
            && let Some((_, named)) = self.app_data_dictionaries.first()
        {
            let reason = "AppDataDictionary.<version> names the dictionaries of other \
                          versions: the session's own, for its DefaultApplVerID, is \
                          AppDataDictionary, which is not set";
            return Err(error(
                named.line,
                &named.key,
                named.path.display().to_string(),
                reason.to_owned(),
            ));
        }
        self.loaded = Some(Dictionaries {
            session,
            application,
            versions,
        });
        Ok(())
    }
}

impl super::Settings {
    /// Reads the data dictionaries every validating session names, each file once, and
    /// keeps them in the sessions' [`DictionaryConfig::loaded`]: the engine does this as it
    /// starts, `fixring check-config` too. A file missing or broken is an error naming the
    /// settings line and what is wrong with the dictionary (its file and line). Sessions
    /// already loaded keep what they have.
    pub fn load_dictionaries(&mut self) -> Result<(), ConfigErrors> {
        let mut cache = DictionaryCache::default();
        let mut errors = Vec::new();
        for session in &mut self.sessions {
            let begin_string = session.id.begin_string.clone();
            if let Err(error) =
                session
                    .dictionary
                    .load(&begin_string, self.path.as_deref(), &mut cache)
            {
                errors.push(error);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors::new(errors, self.warnings.clone()))
        }
    }
}

/// Reads the session's dictionary keys; errors go to `report`.
pub(super) fn read_dictionary(view: &View<'_, '_>, report: &mut Report) -> DictionaryConfig {
    let mut config = DictionaryConfig::default();
    if let Some(entry) = view.get(USE_DATA_DICTIONARY)
        && let Some(use_it) = flag(view, USE_DATA_DICTIONARY, report)
    {
        config.use_data_dictionary = Some((use_it, entry.line));
    }
    let path = |name: &str| {
        view.get(name)
            .filter(|e| !e.value.trim().is_empty())
            .map(|e| DictionaryPath {
                path: PathBuf::from(e.value.trim()),
                key: e.key.to_owned(),
                line: e.line,
            })
    };
    config.data_dictionary = path(DATA_DICTIONARY);
    config.transport_data_dictionary = path(TRANSPORT_DATA_DICTIONARY);
    config.app_data_dictionary = path(APP_DATA_DICTIONARY);
    for entry in view.prefixed(APP_DATA_DICTIONARY_OF) {
        let version = entry.key.get(APP_DATA_DICTIONARY_OF.len()..).unwrap_or("");
        match appl_ver_id_of(version) {
            Some(code) if !entry.value.trim().is_empty() => {
                config.app_data_dictionaries.push((
                    code,
                    DictionaryPath {
                        path: PathBuf::from(entry.value.trim()),
                        key: entry.key.to_owned(),
                        line: entry.line,
                    },
                ));
            }
            Some(_) => {}
            None => report.error(
                entry.line,
                entry.key,
                ConfigErrorKind::InvalidValue {
                    value: entry.value.to_owned(),
                    reason: format!(
                        "`{version}` is not a FIX version: the key names one as a \
                         BeginString, such as AppDataDictionary.FIX.4.4"
                    ),
                },
            ),
        }
    }
    let options = &mut config.options;
    let flags: [(&str, &mut bool); 5] = [
        (
            VALIDATE_FIELDS_OUT_OF_ORDER,
            &mut options.fields_out_of_order,
        ),
        (VALIDATE_FIELDS_HAVE_VALUES, &mut options.fields_have_values),
        (
            VALIDATE_USER_DEFINED_FIELDS,
            &mut options.user_defined_fields,
        ),
        (
            ALLOW_UNKNOWN_MSG_FIELDS,
            &mut options.allow_unknown_msg_fields,
        ),
        (
            VALIDATE_UNORDERED_GROUP_FIELDS,
            &mut options.unordered_group_fields,
        ),
    ];
    for (name, field) in flags {
        if let Some(value) = flag(view, name, report) {
            *field = value;
        }
    }
    if let Some(value) = flag(view, REJECT_INVALID_MESSAGE, report) {
        config.reject_invalid_message = value;
    }
    if let Some(value) = flag(view, VALIDATE_INCOMING_MESSAGE, report) {
        config.validate_incoming_message = value;
    }
    config
}
