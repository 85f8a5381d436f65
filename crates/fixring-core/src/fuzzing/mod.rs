//! Fuzzing harnesses: the checks behind the cargo-fuzz targets in `fuzz/` and the test that
//! replays their corpora.
//!
//! Compiled only with the `fuzzing` feature, which is off by default. Each function takes
//! arbitrary bytes, drives one part of the core with them, and **panics** when an invariant
//! of that part is broken; a panic is what the fuzzer reports as a crash. The core itself
//! must never panic on any input, so every panic raised from inside these functions is a
//! finding, whether it comes from an assertion here or from the code under test.
//!
//! - [`frame_stream`]: the framer and the message parser over an arbitrary byte stream.
//! - [`session_input`]: an acceptor [`crate::connection::Connection`] over an in-memory
//!   socket ([`crate::testing::MemorySocket`]), fed messages, malformed bytes, clock advances
//!   and dropped connections chosen by the input.
//! - [`settings_text`]: the settings-file parser over arbitrary text.
//! - [`dictionary_input`]: the data-dictionary loader, validation and the group walker.

mod dictionary;
mod session;

pub use dictionary::dictionary_input;
pub use session::session_input;

use crate::codec::{Decoded, Framer, Message};
use crate::config::Settings;

/// Frames `data` with [`Framer::decode`] until nothing more can be framed, parsing every
/// framed message with [`Message::parse`] and reading all of its fields.
///
/// Checks that every answer of the framer is consistent with the bytes it was given: a framed
/// message fits in them and starts with `8=`; a discard count is at least one and at most the
/// bytes left, so the loop always ends. The same stream is then framed again with a small
/// maximum message size, where every framed message must fit that limit.
pub fn frame_stream(data: &[u8]) {
    frame_with(Framer::default(), data);
    frame_with(Framer::new(64), data);
}

fn frame_with(framer: Framer, data: &[u8]) {
    let mut rest = data;
    while !rest.is_empty() {
        match framer.decode(rest) {
            Decoded::Message { len } => {
                assert!(len <= rest.len(), "framed {len} bytes of {}", rest.len());
                assert!(
                    len <= framer.max_message_size(),
                    "framed {len} bytes over the limit {}",
                    framer.max_message_size()
                );
                let (frame, tail) = rest.split_at(len);
                assert!(
                    frame.starts_with(b"8="),
                    "a framed message must start with 8="
                );
                read_message(frame);
                rest = tail;
            }
            Decoded::Incomplete => {
                // Whatever is left may only be the start of a message.
                assert!(
                    rest.first() == Some(&b'8'),
                    "incomplete data not starting with 8"
                );
                break;
            }
            Decoded::Invalid { discard, error } => {
                assert!(discard >= 1, "discard of 0 for {error:?}");
                assert!(
                    discard <= rest.len(),
                    "discard {discard} of {} bytes",
                    rest.len()
                );
                assert!(!error.reason().is_empty());
                rest = rest.get(discard..).unwrap_or_default();
            }
        }
    }
}

/// Parses one framed message and reads every field and header accessor.
fn read_message(frame: &[u8]) {
    let Ok(message) = Message::parse(frame) else {
        return;
    };
    assert!(!message.msg_type().is_empty(), "MsgType parsed empty");
    let mut covered = 0;
    for (tag, value) in message.fields() {
        assert!(!value.is_empty(), "empty value for tag {tag}");
        covered += 1;
        let _ = message.get_u64(tag);
    }
    assert!(covered >= 4, "a parsed message has 8, 9, 35 and 10");
    let _ = message.msg_seq_num();
    let _ = (message.sender_comp_id(), message.target_comp_id());
}

/// Parses `data`, read as UTF-8 with invalid sequences replaced, with [`Settings::parse`].
///
/// On failure, every error must name a line of the text (or the line just past its end) and
/// display a non-empty message. On success, every session must have a complete identity and
/// its header line, and an initiator at least one host to connect to.
pub fn settings_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    match Settings::parse(&text, None) {
        Err(errors) => {
            assert!(!errors.is_empty(), "an error result without errors");
            for error in &errors {
                assert!(
                    error.line <= lines + 1,
                    "error on line {} of a {lines}-line text: {error}",
                    error.line
                );
                assert!(
                    !error.kind.to_string().is_empty(),
                    "empty message: {error:?}"
                );
            }
        }
        Ok(settings) => {
            for session in &settings.sessions {
                let id = &session.id;
                assert!(
                    !id.begin_string.is_empty()
                        && !id.sender_comp_id.is_empty()
                        && !id.target_comp_id.is_empty(),
                    "incomplete session identity {id:?}"
                );
                assert!(
                    (1..=lines).contains(&session.line),
                    "session header on line {} of {lines}",
                    session.line
                );
                if let crate::config::Role::Initiator(initiator) = &session.role {
                    assert!(
                        !initiator.hosts.is_empty(),
                        "initiator {id:?} without hosts"
                    );
                }
            }
        }
    }
}
