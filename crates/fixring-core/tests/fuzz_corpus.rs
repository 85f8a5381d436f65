//! Replays every input of the committed fuzz corpora (`fuzz/corpus/<target>/`) through the
//! harness its cargo-fuzz target runs, so that a finding, once committed, stays fixed.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use fixring_core::fuzzing;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// Runs `harness` on every file of the target's corpus; fails naming each file that panics.
fn replay(target: &str, harness: fn(&[u8])) {
    let dir = corpus_dir(target);
    let dir = dir.canonicalize().unwrap_or(dir);
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());

    let mut failures = Vec::new();
    for path in &files {
        let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| harness(&data))) {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("non-string panic");
            failures.push(format!("{}: {message}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {target} corpus inputs failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn framer_corpus() {
    replay("framer", fuzzing::frame_stream);
}

#[test]
fn session_corpus() {
    replay("session", fuzzing::session_input);
}

#[test]
fn dictionary_corpus() {
    replay("dictionary", fuzzing::dictionary_input);
}

#[test]
fn settings_corpus() {
    replay("settings", fuzzing::settings_text);
}
