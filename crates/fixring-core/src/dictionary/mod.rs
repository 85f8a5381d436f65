//! QuickFIX's XML data dictionaries, and validation of messages against them.
//!
//! A [`Dictionary`] is loaded once at start-up from one of QuickFIX's files (`FIX44.xml`,
//! `FIXT11.xml`, `FIX50SP2.xml`, …) with [`Dictionary::load`] or [`Dictionary::parse`]: the
//! fields with their number, name, type and enumerated values; the header, the trailer and
//! every message with their required and optional fields; repeating groups nested to any
//! depth; components expanded where they are used. Errors name the file, the line and what
//! is wrong.
//!
//! A [`Validator`] checks each inbound message as QuickFIX's `DataDictionary::validate` does
//! and says why it is refused with a [`Rejection`] (QuickFIX's SessionRejectReason and Text).
//! It walks the message once, allocates nothing, and is shared by the sessions that name the
//! same file through an `Arc`.

mod groups;
mod last_layout;
mod load;
mod validate;
mod value;

use std::collections::HashMap;
use std::sync::Arc;

pub use groups::{Entries, Entry, Group};
pub use load::{DictionaryError, DictionaryErrorKind};
pub use validate::{RejectKind, Rejection, ValidationOptions, Validator};
pub use value::FieldType;

use crate::codec::Tag;

/// Index of a field in [`Dictionary::fields`].
type FieldIdx = u16;

/// Index of a [`Layout`] in [`Dictionary::layouts`].
type LayoutId = u32;

/// The layout of the header.
const HEADER: LayoutId = 0;
/// The layout of the trailer.
const TRAILER: LayoutId = 1;

/// One of QuickFIX's data dictionaries, loaded.
#[derive(Debug)]
pub struct Dictionary {
    /// `FIX.4.4`, `FIXT.1.1`, `FIX.5.0SP2`: from the file's `type`, `major`, `minor` and
    /// `servicepack`.
    version: String,
    fields: Vec<FieldDef>,
    /// Field index plus one by tag, 0 for tags the dictionary does not define.
    by_tag: Vec<FieldIdx>,
    layouts: Vec<Layout>,
    /// Message layouts by MsgType, sorted by MsgType.
    messages: Vec<MessageDef>,
    /// The layout plus one of each one-character MsgType, by its byte; 0 for none.
    by_char: [LayoutId; 128],
}

/// A field the dictionary defines.
#[derive(Debug)]
pub struct FieldDef {
    tag: Tag,
    name: String,
    kind: FieldType,
    /// The enumerated values.
    values: Values,
    /// Whether `values` lists any: read before them, in one load, for the many fields
    /// without.
    enumerated: bool,
    /// Whether the field belongs in the header, the trailer or the body.
    place: validate::Place,
    /// Whether some group counts its entries with this field (whatever its type says:
    /// FIX42.xml gives NoTradingSessions the type INT).
    counter: bool,
}

impl FieldDef {
    /// The tag number.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The name, e.g. `ClOrdID`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type, e.g. [`FieldType::Float`] for a PRICE.
    pub fn kind(&self) -> FieldType {
        self.kind
    }

    /// Whether `value` is one of the field's enumerated values, or the field has none. A
    /// multiple-value type's value is checked word by word.
    #[inline]
    pub fn allows(&self, value: &[u8]) -> bool {
        if !self.enumerated {
            return true;
        }
        let single = !self.kind.is_multiple_value();
        match (&self.values, value) {
            (Values::Any, _) => true,
            // One character, a bit, be the others one character (Side) or not (MsgType).
            (Values::Chars(bits) | Values::Words { chars: bits, .. }, [b]) if single => {
                has_char(bits, *b)
            }
            (Values::Chars(_), _) if single => false,
            (values, _) => self.allows_words(values, value),
        }
    }

    /// [`FieldDef::allows`] for what one bit per byte does not answer.
    #[inline(never)]
    fn allows_words(&self, values: &Values, value: &[u8]) -> bool {
        if self.kind.is_multiple_value() {
            value
                .split(|&b| b == b' ')
                .all(|word| values.contains(word))
        } else {
            values.contains(value)
        }
    }
}

/// A field's enumerated values, kept for a quick answer: one bit per byte when every value
/// is one character (the CHAR fields: Side, OrdType…), else sorted lists.
#[derive(Debug)]
enum Values {
    /// Any value.
    Any,
    /// One-character values, a bit per byte.
    Chars([u64; 4]),
    /// Values of several lengths (MsgType, SecurityType…): the one-character ones a bit per
    /// byte, those of two to seven bytes as [`word_key`]s, sorted, compared as integers; the
    /// longer ones sorted.
    Words {
        chars: [u64; 4],
        short: Vec<u64>,
        long: Vec<Box<[u8]>>,
    },
}

impl Values {
    fn new(mut values: Vec<Box<[u8]>>) -> Self {
        if values.is_empty() {
            return Self::Any;
        }
        let mut chars = [0u64; 4];
        for value in &values {
            if let [b] = **value {
                chars[usize::from(b / 64)] |= 1 << (b % 64);
            }
        }
        if values.iter().all(|v| v.len() == 1) {
            return Self::Chars(chars);
        }
        values.retain(|v| v.len() != 1);
        let mut short: Vec<u64> = values.iter().filter_map(|v| word_key(v)).collect();
        short.sort_unstable();
        short.dedup();
        values.retain(|v| word_key(v).is_none());
        values.sort();
        values.dedup();
        Self::Words {
            chars,
            short,
            long: values,
        }
    }

    #[inline]
    fn contains(&self, value: &[u8]) -> bool {
        match self {
            Self::Any => true,
            Self::Chars(bits) => match value {
                [b] => has_char(bits, *b),
                _ => false,
            },
            Self::Words { chars, short, long } => match (value, word_key(value)) {
                ([b], _) => has_char(chars, *b),
                (_, Some(key)) => short.binary_search(&key).is_ok(),
                (_, None) => long
                    .binary_search_by(|word| word.as_ref().cmp(value))
                    .is_ok(),
            },
        }
    }
}

/// Whether the bit of byte `b` is set.
#[inline]
fn has_char(bits: &[u64; 4], b: u8) -> bool {
    bits[usize::from(b / 64)] & (1 << (b % 64)) != 0
}

/// A word of up to seven bytes as one integer: its bytes, and its length in the top byte (so
/// that `A` and `A\0` differ); none for a longer word.
#[inline]
fn word_key(word: &[u8]) -> Option<u64> {
    if word.len() > 7 {
        return None;
    }
    let mut key = (word.len() as u64) << 56;
    for (i, &b) in word.iter().enumerate() {
        key |= u64::from(b) << (8 * i);
    }
    Some(key)
}

/// A message, the header, the trailer or one entry of a repeating group: which fields
/// belong, which are required, which start a group.
#[derive(Debug)]
struct Layout {
    /// Bit per field index: the field belongs here (not inside one of its groups).
    members: Vec<u64>,
    /// Required fields, sorted by tag.
    required: Vec<FieldIdx>,
    /// The groups that start here.
    groups: Vec<GroupDef>,
    /// The fields in the order the dictionary lists them (a group's first is its delimiter).
    order: Vec<FieldIdx>,
}

impl Layout {
    fn new(field_count: usize) -> Self {
        Self {
            members: vec![0; field_count.div_ceil(64)],
            required: Vec::new(),
            groups: Vec::new(),
            order: Vec::new(),
        }
    }

    #[inline]
    fn has(&self, idx: FieldIdx) -> bool {
        let idx = usize::from(idx);
        self.members
            .get(idx / 64)
            .is_some_and(|word| word & (1 << (idx % 64)) != 0)
    }

    /// Where `idx` is in the dictionary's order, looking from `from` on: an entry's fields
    /// come in that order, so the look is short.
    #[inline]
    fn position(&self, idx: FieldIdx, from: usize) -> Option<usize> {
        let rest = self.order.get(from..)?;
        rest.iter().position(|&i| i == idx).map(|at| from + at)
    }

    #[inline]
    fn group(&self, counter: Tag) -> Option<&GroupDef> {
        self.groups.iter().find(|g| g.counter == counter)
    }
}

/// A repeating group: its NumInGroup field, the field each entry starts with, the entries'
/// layout.
#[derive(Clone, Copy, Debug)]
struct GroupDef {
    counter: Tag,
    delimiter: Tag,
    layout: LayoutId,
}

/// A message of the dictionary.
#[derive(Debug)]
struct MessageDef {
    msg_type: Box<[u8]>,
    name: String,
    layout: LayoutId,
}

impl Dictionary {
    /// Reads and loads the dictionary at `path`.
    pub fn load(path: &std::path::Path) -> Result<Self, DictionaryError> {
        load::load(path)
    }

    /// Loads a dictionary from the text of a file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, DictionaryError> {
        load::parse(text, origin)
    }

    /// The version the file describes: a BeginString (`FIX.4.4`, `FIXT.1.1`) or, for FIX 5
    /// application dictionaries, the ApplVerID's version (`FIX.5.0SP2`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The field with this tag, if the dictionary defines it.
    #[inline]
    pub fn field(&self, tag: Tag) -> Option<&FieldDef> {
        self.field_idx(tag)
            .and_then(|idx| self.fields.get(usize::from(idx)))
    }

    /// Every field the dictionary defines, by tag.
    pub fn fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter()
    }

    /// Whether the dictionary defines this MsgType.
    #[inline]
    pub fn has_msg_type(&self, msg_type: &[u8]) -> bool {
        self.message(msg_type).is_some()
    }

    /// The name of the message with this MsgType, e.g. `NewOrderSingle` for `D`.
    pub fn message_name(&self, msg_type: &[u8]) -> Option<&str> {
        self.messages
            .binary_search_by(|m| m.msg_type.as_ref().cmp(msg_type))
            .ok()
            .and_then(|i| self.messages.get(i))
            .map(|m| m.name.as_str())
    }

    /// Whether `tag` belongs in the header.
    pub fn is_header_field(&self, tag: Tag) -> bool {
        self.in_layout(HEADER, tag)
    }

    /// Whether `tag` belongs in the trailer.
    pub fn is_trailer_field(&self, tag: Tag) -> bool {
        self.in_layout(TRAILER, tag)
    }

    /// Whether `tag` belongs in the body of `msg_type`, outside its repeating groups.
    pub fn is_message_field(&self, msg_type: &[u8], tag: Tag) -> bool {
        self.message(msg_type)
            .is_some_and(|layout| self.in_layout(layout, tag))
    }

    /// The required fields of the body of `msg_type`, outside its groups, by tag.
    pub fn required_fields(&self, msg_type: &[u8]) -> impl Iterator<Item = Tag> + '_ {
        let layout = self.message(msg_type).and_then(|id| self.layout(id));
        layout
            .into_iter()
            .flat_map(|layout| layout.required.iter())
            .filter_map(|&idx| self.fields.get(usize::from(idx)).map(|f| f.tag))
    }

    #[inline]
    fn field_idx(&self, tag: Tag) -> Option<FieldIdx> {
        let slot = *self.by_tag.get(usize::try_from(tag).ok()?)?;
        slot.checked_sub(1)
    }

    #[inline]
    fn layout(&self, id: LayoutId) -> Option<&Layout> {
        self.layouts.get(id as usize)
    }

    fn in_layout(&self, id: LayoutId, tag: Tag) -> bool {
        match (self.layout(id), self.field_idx(tag)) {
            (Some(layout), Some(idx)) => layout.has(idx),
            _ => false,
        }
    }

    #[inline]
    fn message(&self, msg_type: &[u8]) -> Option<LayoutId> {
        if let [b] = msg_type {
            let slot = *self.by_char.get(usize::from(*b))?;
            return slot.checked_sub(1);
        }
        let i = self
            .messages
            .binary_search_by(|m| m.msg_type.as_ref().cmp(msg_type))
            .ok()?;
        self.messages.get(i).map(|m| m.layout)
    }

    #[inline]
    fn tag_of(&self, idx: FieldIdx) -> Tag {
        self.fields.get(usize::from(idx)).map_or(0, |f| f.tag)
    }
}

/// The dictionaries a session validates with: one for FIX.4.x (header, trailer and
/// messages); for FIXT.1.1 the transport's and the application's.
#[derive(Clone, Debug)]
pub struct Dictionaries {
    /// The session's: `DataDictionary`, or `TransportDataDictionary` for FIXT.1.1.
    pub session: Arc<Dictionary>,
    /// FIXT.1.1's `AppDataDictionary`, for application messages of the session's
    /// DefaultApplVerID, and of any version `versions` lacks; none for FIX.4.x.
    pub application: Option<Arc<Dictionary>>,
    /// FIXT.1.1's `AppDataDictionary.<version>` (QuickFIX/J): the application dictionary of
    /// each other ApplVerID code (`6` for `AppDataDictionary.FIX.4.4`), for messages whose
    /// ApplVerID (1128), or else the counterparty's DefaultApplVerID (1137 on its Logon),
    /// names that version.
    pub versions: Vec<(u8, Arc<Dictionary>)>,
}

impl Dictionaries {
    /// The dictionary for the bodies of messages of `msg_type`: the application's, for a
    /// FIXT.1.1 application message, else the session's. Its [`Dictionary::group`] reads
    /// the message's repeating groups.
    pub fn body(&self, msg_type: &[u8]) -> &Dictionary {
        self.body_for(msg_type, None)
    }

    /// [`Dictionaries::body`] for a message of the application version `appl_ver_id` (an
    /// ApplVerID code): that version's dictionary when one is named, else the application's.
    pub fn body_for(&self, msg_type: &[u8], appl_ver_id: Option<u8>) -> &Dictionary {
        match &self.application {
            Some(app) if !self.session.has_msg_type(msg_type) => appl_ver_id
                .and_then(|code| self.versions.iter().find(|(c, _)| *c == code))
                .map_or(app, |(_, dictionary)| dictionary),
            _ => &self.session,
        }
    }

    /// The application dictionaries: `application`, then each of `versions`.
    pub fn applications(&self) -> impl Iterator<Item = &Arc<Dictionary>> {
        self.application
            .iter()
            .chain(self.versions.iter().map(|(_, dictionary)| dictionary))
    }
}

/// The same dictionaries: the same loaded files, not equal contents.
impl PartialEq for Dictionaries {
    fn eq(&self, other: &Self) -> bool {
        let same = |a: &Option<Arc<_>>, b: &Option<Arc<_>>| match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        let same_versions = self.versions.len() == other.versions.len()
            && self
                .versions
                .iter()
                .zip(&other.versions)
                .all(|((a, da), (b, db))| a == b && Arc::ptr_eq(da, db));
        Arc::ptr_eq(&self.session, &other.session)
            && same(&self.application, &other.application)
            && same_versions
    }
}

/// Dictionaries already loaded, by path: sessions naming the same file share one.
#[derive(Debug, Default)]
pub struct DictionaryCache {
    loaded: HashMap<std::path::PathBuf, Arc<Dictionary>>,
}

impl DictionaryCache {
    /// The dictionary at `path`, loaded on first use.
    pub fn load(&mut self, path: &std::path::Path) -> Result<Arc<Dictionary>, DictionaryError> {
        if let Some(dictionary) = self.loaded.get(path) {
            return Ok(Arc::clone(dictionary));
        }
        let dictionary = Arc::new(Dictionary::load(path)?);
        self.loaded
            .insert(path.to_path_buf(), Arc::clone(&dictionary));
        Ok(dictionary)
    }
}

#[cfg(test)]
mod tests;
