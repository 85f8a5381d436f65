//! The layout of the last message that passed validation, so that the next one laid out the
//! same only has its values checked.
//!
//! What validation finds, but for the values, follows from the layout alone: the MsgType and
//! the application version (which pick the body's dictionary and layout) and the tags in wire
//! order (places, order, repeated fields, required fields, fields defined or not). A session's
//! orders are mostly laid out alike, so a message with the last one's layout is checked field
//! by field for its values (empty, format, enumerated values) without looking its tags up;
//! a value at fault, or any other layout, goes through the whole walk, which says what is
//! wrong as before. Messages with repeating groups (whose counts are values the layout does
//! not give) or with fields the parse did not record are not kept.
//!
//! What each field is checked for is worked out when a second message in a row has the
//! layout: a layout seen once costs only a comparison and the copy of its tags, so that
//! messages laid out otherwise each time pay little more than the walk.

use super::validate::{Place, Stamped, field_place};
use super::{FieldIdx, FieldType, word_key};
use crate::codec::{Message, Tag};

/// The most fields the parse records, and so the longest layout kept.
const CAPACITY: usize = 32;

/// The layout of the last message that passed.
#[derive(Debug)]
pub(super) struct LastLayout {
    /// None when no layout is kept.
    key: Option<Key>,
    state: State,
    tags: [Tag; CAPACITY],
    /// What each field's value is checked for.
    fields: [Check; CAPACITY],
    len: usize,
}

/// How far a layout is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Seen once: its tags only.
    Seen,
    /// Seen twice in a row: `fields` says what each value is checked for.
    Checked,
    /// Seen twice in a row, and not one that can be kept (a repeating group, a field the
    /// parse did not record).
    Refused,
}

/// What picks the body's dictionary and layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    /// The MsgType as a [`word_key`].
    msg_type: u64,
    appl_ver_id: Option<u8>,
}

/// What a field's value is checked for, besides being empty.
#[derive(Clone, Copy, Debug)]
enum Check {
    /// Nothing: a string without enumerated values, or a field the dictionary lacks.
    Nothing,
    /// The format of its type.
    Format(FieldType),
    /// Its definition's format and enumerated values, from the body's dictionary or the
    /// session's.
    Values { body: bool, idx: FieldIdx },
}

impl LastLayout {
    pub(super) fn new() -> Self {
        Self {
            key: None,
            state: State::Seen,
            tags: [0; CAPACITY],
            fields: [Check::Nothing; CAPACITY],
            len: 0,
        }
    }

    /// Whether `msg` has the kept layout: the same MsgType, application version and
    /// recorded tags.
    #[inline]
    pub(super) fn has(&self, msg: &Message<'_>, appl_ver_id: Option<u8>) -> bool {
        let key = word_key(msg.msg_type()).map(|msg_type| Key {
            msg_type,
            appl_ver_id,
        });
        let (tags, _) = msg.recorded_fields();
        key.is_some() && key == self.key && tags == self.tags.get(..self.len).unwrap_or_default()
    }

    /// Whether `msg`, which [`LastLayout::has`] the kept layout, has values that pass;
    /// `false` says nothing about the message, which must go through the whole walk.
    ///
    /// `session` and `body` are the dictionaries `msg` is checked against, as the walk picks
    /// them; `have_values` is ValidateFieldsHaveValues.
    #[inline]
    pub(super) fn passes(
        &self,
        msg: &Message<'_>,
        session: Stamped<'_>,
        body: Stamped<'_>,
        have_values: bool,
    ) -> bool {
        if self.state != State::Checked {
            return false;
        }
        let (_, spans) = msg.recorded_fields();
        let bytes = msg.as_bytes();
        let mut pos = 0;
        for (&(start, end), check) in spans.iter().zip(&self.fields) {
            // Every field recorded: none the parse left out before this one (see `work_out`).
            if !matches!(bytes.get(pos), Some(b'1'..=b'9')) {
                return false;
            }
            let Some(value) = bytes.get(usize::from(start)..usize::from(end)) else {
                return false;
            };
            pos = usize::from(end) + 1;
            if value.is_empty() {
                if have_values {
                    return false;
                }
                continue;
            }
            let passes = match *check {
                Check::Nothing => true,
                Check::Format(kind) => kind.accepts(value),
                Check::Values { body: in_body, idx } => {
                    let dict = if in_body { body.dict } else { session.dict };
                    dict.fields.get(usize::from(idx)).is_some_and(|def| {
                        (def.kind == FieldType::String || def.kind.accepts(value))
                            && def.allows(value)
                    })
                }
            };
            if !passes {
                return false;
            }
        }
        // And none after the last one recorded.
        pos == bytes.len()
    }

    /// Takes in the layout of `msg`, which just passed validation against `session` and
    /// `body` and [`LastLayout::has`] the kept layout or not (`same`): the first time in a row
    /// its tags, the second what each field is checked for.
    pub(super) fn keep(
        &mut self,
        msg: &Message<'_>,
        same: bool,
        appl_ver_id: Option<u8>,
        session: Stamped<'_>,
        body: Stamped<'_>,
    ) {
        if same {
            if self.state == State::Seen {
                self.state = if self.work_out(msg, session, body) {
                    State::Checked
                } else {
                    State::Refused
                };
            }
            return;
        }
        self.key = word_key(msg.msg_type()).map(|msg_type| Key {
            msg_type,
            appl_ver_id,
        });
        self.state = State::Seen;
        let (tags, _) = msg.recorded_fields();
        // The parse records at most as many fields as are kept.
        for (slot, &tag) in self.tags.iter_mut().zip(tags) {
            *slot = tag;
        }
        self.len = tags.len().min(CAPACITY);
    }

    /// Works out what each field of `msg`, which has the kept layout, is checked for;
    /// `false` when the layout cannot be kept.
    fn work_out(&mut self, msg: &Message<'_>, session: Stamped<'_>, body: Stamped<'_>) -> bool {
        let (tags, spans) = msg.recorded_fields();
        let bytes = msg.as_bytes();
        let mut pos = 0;
        for (at, (&tag, &(_, end))) in tags.iter().zip(spans).enumerate() {
            // A field starting with a digit other than 0 is the next recorded one: the parse
            // leaves out only tags 0 and negative, and leading zeros are not kept either.
            if !matches!(bytes.get(pos), Some(b'1'..=b'9')) {
                return false;
            }
            pos = usize::from(end) + 1;
            let known = session.known(Some(tag));
            let (known, in_body) = match field_place(Some(tag), known) {
                Place::Body if !std::ptr::eq(body.dict, session.dict) => {
                    (body.known(Some(tag)), true)
                }
                place => (known, place == Place::Body),
            };
            if known.is_some_and(|known| known.def.counter) {
                return false;
            }
            let Some(slot) = self.fields.get_mut(at) else {
                return false;
            };
            *slot = match known {
                Some(known) if known.def.enumerated => Check::Values {
                    body: in_body,
                    idx: known.idx,
                },
                Some(known) if known.def.kind != FieldType::String => Check::Format(known.def.kind),
                _ => Check::Nothing,
            };
        }
        // And none after the last one recorded.
        pos == bytes.len()
    }
}
