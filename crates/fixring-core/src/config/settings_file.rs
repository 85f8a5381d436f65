//! The QuickFIX settings format, line by line: sections, `Key=Value` pairs and comments.
//!
//! This layer knows nothing of what keys mean: it splits the text into a `[DEFAULT]` list of
//! entries and one list per `[SESSION]`, keeping the line of everything for messages.

use super::error::{ConfigErrorKind, Report};
use super::keys;

/// One `Key=Value` line.
#[derive(Debug)]
pub(super) struct Entry<'a> {
    /// The key as written (trimmed).
    pub(super) key: &'a str,
    /// The key lower-cased, with synonyms of other engines mapped onto one name.
    pub(super) name: String,
    /// The value (trimmed).
    pub(super) value: &'a str,
    /// The 1-based line.
    pub(super) line: usize,
}

/// A `[SESSION]` section.
#[derive(Debug)]
pub(super) struct Section<'a> {
    /// The line of the `[SESSION]` header.
    pub(super) line: usize,
    /// Its entries in file order.
    pub(super) entries: Vec<Entry<'a>>,
}

/// A settings file split into sections.
#[derive(Debug, Default)]
pub(super) struct SettingsFile<'a> {
    /// Every `[DEFAULT]` entry (several `[DEFAULT]` sections are merged in order).
    pub(super) defaults: Vec<Entry<'a>>,
    /// The sessions in file order.
    pub(super) sessions: Vec<Section<'a>>,
}

/// Where the lines being read go.
enum Current {
    Nowhere,
    Default,
    Session,
}

impl<'a> SettingsFile<'a> {
    /// Splits `text`, reporting every line that is not part of the format.
    pub(super) fn split(text: &'a str, report: &mut Report) -> Self {
        let mut file = Self::default();
        let mut current = Current::Nowhere;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if let Some(inner) = trimmed.strip_prefix('[') {
                let Some(name) = inner.strip_suffix(']') else {
                    report.error(line, trimmed, syntax("a section header ends with ']'"));
                    current = Current::Nowhere;
                    continue;
                };
                let name = name.trim();
                if name.eq_ignore_ascii_case("DEFAULT") {
                    current = Current::Default;
                } else if name.eq_ignore_ascii_case("SESSION") {
                    file.sessions.push(Section {
                        line,
                        entries: Vec::new(),
                    });
                    current = Current::Session;
                } else {
                    report.error(
                        line,
                        trimmed,
                        syntax("unknown section, expected [DEFAULT] or [SESSION]"),
                    );
                    current = Current::Nowhere;
                }
                continue;
            }
            let Some((key, value)) = trimmed.split_once('=') else {
                report.error(line, trimmed, syntax("expected Key=Value"));
                continue;
            };
            let key = key.trim();
            if key.is_empty() {
                report.error(line, trimmed, syntax("the key before '=' is empty"));
                continue;
            }
            let entry = Entry {
                key,
                name: keys::canonical(key),
                value: value.trim(),
                line,
            };
            match current {
                Current::Default => file.defaults.push(entry),
                Current::Session => {
                    if let Some(section) = file.sessions.last_mut() {
                        section.entries.push(entry);
                    }
                }
                Current::Nowhere => report.error(
                    line,
                    key,
                    syntax("a key must follow [DEFAULT] or [SESSION]"),
                ),
            }
        }
        file
    }
}

fn syntax(reason: &'static str) -> ConfigErrorKind {
    ConfigErrorKind::Syntax { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sections_and_trims() {
        let mut report = Report::new(None);
        let text = "# c\n[default]\n  A = 1 \n\n[Session]\nB=x=y\n[SESSION]\n";
        let file = SettingsFile::split(text, &mut report);
        assert!(report.errors.is_empty());
        assert_eq!(file.defaults.len(), 1);
        assert_eq!(file.defaults[0].key, "A");
        assert_eq!(file.defaults[0].value, "1");
        assert_eq!(file.sessions.len(), 2);
        assert_eq!(file.sessions[0].line, 5);
        assert_eq!(file.sessions[0].entries[0].value, "x=y");
    }

    #[test]
    fn reports_bad_lines() {
        let mut report = Report::new(None);
        SettingsFile::split("A=1\n[DEFAULT\n[OTHER]\n[DEFAULT]\njunk\n=3\n", &mut report);
        let lines: Vec<usize> = report.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2, 3, 5, 6]);
    }
}
