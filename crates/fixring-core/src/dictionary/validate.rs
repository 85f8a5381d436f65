//! Checking a message against its dictionaries, as QuickFIX's `DataDictionary::validate`.

use core::fmt;

use super::last_layout::LastLayout;
use super::{Dictionaries, Dictionary, FieldIdx, GroupDef, HEADER, Layout, TRAILER};
use crate::codec::{Message, Tag, tags};

/// Tags QuickFIX always takes for header fields, whatever the dictionary says.
pub(super) const STANDARD_HEADER: [Tag; 33] = [
    8, 9, 35, 34, 43, 49, 50, 52, 56, 57, 90, 91, 97, 115, 116, 122, 128, 129, 142, 143, 144, 145,
    212, 213, 347, 369, 627, 628, 629, 630, 1128, 1129, 1156,
];

/// Tags QuickFIX always takes for trailer fields.
pub(super) const STANDARD_TRAILER: [Tag; 3] = [10, 89, 93];

/// The first user-defined tag: ValidateUserDefinedFields=N leaves tags from here unchecked.
const USER_MIN: i64 = 5000;

/// Scopes run from 1; the stamps are cleared before the counter could wrap.
const SCOPE_LIMIT: u32 = u32::MAX / 2;

/// Which checks run, from QuickFIX's keys; `Default` is QuickFIX's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidationOptions {
    /// ValidateFieldsOutOfOrder: a header field after the body, or a body field after the
    /// trailer, is rejected (default Y).
    pub fields_out_of_order: bool,
    /// ValidateFieldsHaveValues: a field with an empty value is rejected (default Y).
    pub fields_have_values: bool,
    /// ValidateUserDefinedFields: tags from 5000 on must be defined for the message too
    /// (default Y).
    pub user_defined_fields: bool,
    /// AllowUnknownMsgFields (QuickFIX/J): tags below 5000 that the dictionary or the message
    /// does not define are let through (default N).
    pub allow_unknown_msg_fields: bool,
    /// ValidateUnorderedGroupFields (QuickFIX/J): an entry of a repeating group must start
    /// with the group's first field, and its fields come in the dictionary's order (default
    /// Y).
    pub unordered_group_fields: bool,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        Self {
            fields_out_of_order: true,
            fields_have_values: true,
            user_defined_fields: true,
            allow_unknown_msg_fields: false,
            unordered_group_fields: true,
        }
    }
}

/// Why a message fails validation: a SessionRejectReason (373).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// 0: the dictionary does not define the tag.
    InvalidTagNumber,
    /// 1: a required field is absent.
    RequiredTagMissing,
    /// 2: the tag is defined, but not for this message type.
    TagNotDefinedForMessageType,
    /// 4: the field has an empty value.
    TagSpecifiedWithoutValue,
    /// 5: the value is not one of the field's enumerated values.
    ValueIncorrect,
    /// 6: the value does not have the field type's format.
    IncorrectDataFormat,
    /// 11: the dictionary does not define the MsgType.
    InvalidMsgType,
    /// 13: the field appears twice in the same place.
    TagAppearsMoreThanOnce,
    /// 14: a header field after the body, or a body field after the trailer.
    TagOutOfOrder,
    /// 15: an entry of a repeating group does not start with the group's first field.
    RepeatingGroupFieldsOutOfOrder,
    /// 16: a NumInGroup field's count differs from the entries that follow.
    IncorrectNumInGroupCount,
}

impl RejectKind {
    /// The SessionRejectReason (373) value.
    pub fn code(self) -> u64 {
        match self {
            Self::InvalidTagNumber => 0,
            Self::RequiredTagMissing => 1,
            Self::TagNotDefinedForMessageType => 2,
            Self::TagSpecifiedWithoutValue => 4,
            Self::ValueIncorrect => 5,
            Self::IncorrectDataFormat => 6,
            Self::InvalidMsgType => 11,
            Self::TagAppearsMoreThanOnce => 13,
            Self::TagOutOfOrder => 14,
            Self::RepeatingGroupFieldsOutOfOrder => 15,
            Self::IncorrectNumInGroupCount => 16,
        }
    }

    /// The Text (58) QuickFIX sends with this reason.
    pub fn text(self) -> &'static str {
        match self {
            Self::InvalidTagNumber => "Invalid tag number",
            Self::RequiredTagMissing => "Required tag missing",
            Self::TagNotDefinedForMessageType => "Tag not defined for this message type",
            Self::TagSpecifiedWithoutValue => "Tag specified without a value",
            Self::ValueIncorrect => "Value is incorrect (out of range) for this tag",
            Self::IncorrectDataFormat => "Incorrect data format for value",
            Self::InvalidMsgType => "Invalid MsgType",
            Self::TagAppearsMoreThanOnce => "Tag appears more than once",
            Self::TagOutOfOrder => "Tag specified out of required order",
            Self::RepeatingGroupFieldsOutOfOrder => "Repeating group fields out of order",
            Self::IncorrectNumInGroupCount => "Incorrect NumInGroup count for repeating group",
        }
    }
}

/// A message refused by validation: why, and the field at fault (RefTagID, 371).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rejection {
    /// Why.
    pub kind: RejectKind,
    /// The tag at fault as written on the wire (`0` and `-1` included), when there is one.
    pub tag: Option<i64>,
}

impl Rejection {
    fn at(kind: RejectKind, tag: i64) -> Self {
        Self {
            kind,
            tag: Some(tag),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.text())?;
        match self.tag {
            Some(tag) => write!(f, " ({tag})"),
            None => Ok(()),
        }
    }
}

/// Validates a session's inbound messages against its dictionaries.
///
/// Holds one stamp per dictionary field, allocated once: each place of a message (header,
/// body, trailer, each group entry) gets a fresh scope number, and a field is in a place when
/// its stamp is that place's number. So a message is checked in one pass, without
/// allocating.
#[derive(Debug)]
pub struct Validator {
    dictionaries: Dictionaries,
    options: ValidationOptions,
    stamps: Vec<u32>,
    scope: u32,
    /// The counterparty's DefaultApplVerID (1137 on its Logon): the version of its
    /// FIXT.1.1 application messages that carry no ApplVerID (1128).
    peer_appl_ver_id: Option<u8>,
    /// The last message that passed, whose layout the next one may share.
    last_layout: LastLayout,
}

impl Validator {
    /// A validator for messages of the sessions of `dictionaries`.
    pub fn new(dictionaries: Dictionaries, options: ValidationOptions) -> Self {
        // The application's fields are stamped after the session's.
        let fields = dictionaries.session.fields.len()
            + dictionaries
                .applications()
                .map(|app| app.fields.len())
                .max()
                .unwrap_or(0);
        Self {
            dictionaries,
            options,
            stamps: vec![0; fields],
            scope: 0,
            peer_appl_ver_id: None,
            last_layout: LastLayout::new(),
        }
    }

    /// Records the counterparty's DefaultApplVerID (1137, an ApplVerID code) from its
    /// Logon: its application messages without an ApplVerID (1128) are of that version.
    pub fn set_peer_appl_ver_id(&mut self, appl_ver_id: Option<u8>) {
        self.peer_appl_ver_id = appl_ver_id;
    }

    /// The application version of `msg`, when the session has dictionaries by version:
    /// its ApplVerID (1128), else the counterparty's DefaultApplVerID.
    fn appl_ver_id(&self, msg: &Message<'_>) -> Option<u8> {
        if self.dictionaries.versions.is_empty() {
            return None;
        }
        match msg.get(tags::APPL_VER_ID) {
            Some(code) => core::str::from_utf8(code).ok()?.parse().ok(),
            None => self.peer_appl_ver_id,
        }
    }

    /// The dictionaries messages are checked against.
    pub fn dictionaries(&self) -> &Dictionaries {
        &self.dictionaries
    }

    /// The checks that run.
    pub fn options(&self) -> ValidationOptions {
        self.options
    }

    /// Checks `msg` as QuickFIX does: fields out of order first, then the MsgType, then
    /// required fields (header, trailer, body, group entries), then each field of the
    /// header, the trailer and the body (repeated, empty, format, enumerated value, defined,
    /// defined for the message, group counts), the lowest tag at fault in each.
    ///
    /// A message laid out as the last one that passed (the same MsgType, application
    /// version and tags in the same order, without repeating groups) has only its values
    /// checked.
    pub fn validate(&mut self, msg: &Message<'_>) -> Result<(), Rejection> {
        if self.scope > SCOPE_LIMIT {
            self.stamps.fill(0);
            self.scope = 0;
        }
        let msg_type = msg.msg_type();
        let session = Stamped {
            dict: &self.dictionaries.session,
            base: 0,
        };
        let appl_ver_id = self.appl_ver_id(msg);
        let body_dict = match self.dictionaries.body_for(msg_type, appl_ver_id) {
            app if !std::ptr::eq(app, session.dict) => Stamped {
                dict: app,
                base: session.dict.fields.len(),
            },
            _ => session,
        };
        let have_values = self.options.fields_have_values;
        let same_layout = self.last_layout.has(msg, appl_ver_id);
        if same_layout
            && self
                .last_layout
                .passes(msg, session, body_dict, have_values)
        {
            return Ok(());
        }
        let (recorded_tags, recorded_spans) = msg.recorded_fields();
        let mut walk = Walk {
            bytes: msg.as_bytes(),
            pos: 0,
            recorded_tags,
            recorded_spans,
            recorded: 0,
            stamps: &mut self.stamps,
            scope: self.scope,
            options: self.options,
            structure: None,
            worst: [None; 3],
            group_required: None,
        };
        let header = walk.new_scope();
        let trailer = walk.new_scope();
        let body = walk.new_scope();
        let body_layout = body_dict.dict.message(msg_type);
        let mut place = Place::Header;
        let same_dict = body_dict.base == session.base;
        let layouts = (
            session.dict.layout(HEADER),
            session.dict.layout(TRAILER),
            body_layout.and_then(|id| body_dict.dict.layout(id)),
        );
        while let Some(field) = walk.next_field() {
            let tag = Tag::try_from(field.tag).ok();
            let known = session.known(tag);
            match field_place(tag, known) {
                Place::Header => {
                    if place != Place::Header {
                        walk.structure.get_or_insert(field.tag);
                    }
                    walk.field(session, layouts.0, header, field, known, Place::Header);
                }
                Place::Trailer => {
                    place = Place::Trailer;
                    walk.field(session, layouts.1, trailer, field, known, Place::Trailer);
                }
                Place::Body => {
                    if place == Place::Trailer {
                        walk.structure.get_or_insert(field.tag);
                    }
                    place = Place::Body;
                    let known = if same_dict {
                        known
                    } else {
                        body_dict.known(tag)
                    };
                    walk.field(body_dict, layouts.2, body, field, known, Place::Body);
                }
            }
        }
        self.scope = walk.scope;

        if let Some(tag) = walk.structure.filter(|_| self.options.fields_out_of_order) {
            return Err(Rejection::at(RejectKind::TagOutOfOrder, tag));
        }
        let Some(body_layout) = body_layout.and_then(|id| body_dict.dict.layout(id)) else {
            return Err(Rejection {
                kind: RejectKind::InvalidMsgType,
                tag: None,
            });
        };
        let stamps = &*walk.stamps;
        let missing = |dict: Stamped<'_>, layout: Option<&Layout>, scope: u32| {
            missing_required(dict, layout?, stamps, scope)
        };
        let required = missing(session, session.dict.layout(HEADER), header)
            .or_else(|| missing(session, session.dict.layout(TRAILER), trailer))
            .or_else(|| missing(body_dict, Some(body_layout), body))
            .or(walk.group_required);
        if let Some(tag) = required {
            return Err(Rejection::at(
                RejectKind::RequiredTagMissing,
                i64::from(tag),
            ));
        }
        match walk.worst {
            [Some(rejection), ..] | [None, Some(rejection), _] | [None, None, Some(rejection)] => {
                Err(rejection)
            }
            [None, None, None] => {
                let layout = &mut self.last_layout;
                layout.keep(msg, same_layout, appl_ver_id, session, body_dict);
                Ok(())
            }
        }
    }
}

/// The first required field of `layout` whose stamp is not `scope`, by tag.
fn missing_required(dict: Stamped<'_>, layout: &Layout, stamps: &[u32], scope: u32) -> Option<Tag> {
    layout
        .required
        .iter()
        .find(|&&idx| stamps.get(dict.slot(idx)) != Some(&scope))
        .map(|&idx| dict.dict.tag_of(idx))
}

/// A dictionary, and where its fields' stamps start.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stamped<'d> {
    pub(super) dict: &'d Dictionary,
    base: usize,
}

impl<'d> Stamped<'d> {
    #[inline]
    fn slot(self, idx: FieldIdx) -> usize {
        self.base + usize::from(idx)
    }

    /// The dictionary's field with this tag, if it defines one.
    #[inline(always)]
    pub(super) fn known(self, tag: Option<Tag>) -> Option<Known<'d>> {
        let idx = self.dict.field_idx(tag?)?;
        let def = self.dict.fields.get(usize::from(idx))?;
        Some(Known { idx, def })
    }
}

/// A field the dictionary defines: its index and definition.
#[derive(Clone, Copy, Debug)]
pub(super) struct Known<'d> {
    pub(super) idx: FieldIdx,
    pub(super) def: &'d super::FieldDef,
}

/// Where a field goes: the header's and the trailer's fields are the session dictionary's
/// and QuickFIX's standard ones, every other field is the body's.
#[inline]
pub(super) fn field_place(tag: Option<Tag>, known: Option<Known<'_>>) -> Place {
    if let Some(known) = known {
        return known.def.place;
    }
    match tag {
        Some(tag) if STANDARD_HEADER.contains(&tag) => Place::Header,
        Some(tag) if STANDARD_TRAILER.contains(&tag) => Place::Trailer,
        _ => Place::Body,
    }
}

/// Where a field is, for the order of the checks: header, trailer, body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Place {
    Header = 0,
    Trailer = 1,
    Body = 2,
}

/// One field as written: its tag (`0` or negative ones included) and its value.
#[derive(Clone, Copy, Debug)]
struct WireField<'m> {
    tag: i64,
    value: &'m [u8],
    len: usize,
}

/// One pass over a message's fields.
///
/// The fields the parse recorded are taken from its record, without reading their tags and
/// looking for their ends again; the others (past the first 32, tags 0 or negative) are split
/// from the bytes.
struct Walk<'v, 'm> {
    bytes: &'m [u8],
    /// Where the next field starts.
    pos: usize,
    /// The tags and value spans of the fields the parse recorded, in wire order.
    recorded_tags: &'m [Tag],
    recorded_spans: &'m [(u16, u16)],
    /// How many of them are before `pos`: the fields before it with a positive tag.
    recorded: usize,
    stamps: &'v mut [u32],
    scope: u32,
    options: ValidationOptions,
    /// The first field out of its place (header after body, body after trailer).
    structure: Option<i64>,
    /// The fault with the lowest tag in each [`Place`].
    worst: [Option<Rejection>; 3],
    /// The first required field missing from a group entry.
    group_required: Option<Tag>,
}

impl<'m> Walk<'_, 'm> {
    #[inline(always)]
    fn new_scope(&mut self) -> u32 {
        self.scope += 1;
        self.scope
    }

    /// The field at `pos`.
    #[inline(always)]
    fn peek(&self) -> Option<WireField<'m>> {
        // A field starting with a digit other than 0 has a positive tag: the parse recorded
        // it after the `recorded` before it, if it had room.
        if let (Some(&tag), Some(&(start, end)), Some(b'1'..=b'9')) = (
            self.recorded_tags.get(self.recorded),
            self.recorded_spans.get(self.recorded),
            self.bytes.get(self.pos),
        ) {
            let end = usize::from(end);
            return Some(WireField {
                tag: i64::from(tag),
                value: self.bytes.get(usize::from(start)..end)?,
                len: end + 1 - self.pos,
            });
        }
        split(self.bytes.get(self.pos..)?)
    }

    /// Moves past `field`, the one at `pos`.
    #[inline(always)]
    fn advance(&mut self, field: WireField<'m>) {
        self.pos += field.len;
        if field.tag > 0 {
            self.recorded += 1;
        }
    }

    #[inline(always)]
    fn next_field(&mut self) -> Option<WireField<'m>> {
        let field = self.peek()?;
        self.advance(field);
        Some(field)
    }

    fn offer(&mut self, place: Place, rejection: Rejection) {
        let slot = &mut self.worst[place as usize];
        match slot {
            Some(worst) if worst.tag <= rejection.tag => {}
            _ => *slot = Some(rejection),
        }
    }

    /// Checks one field in `layout` (none for a MsgType the dictionary lacks) at `scope`,
    /// and walks the group it starts.
    #[inline(always)]
    fn field(
        &mut self,
        dict: Stamped<'_>,
        layout: Option<&super::Layout>,
        scope: u32,
        field: WireField<'m>,
        known: Option<Known<'_>>,
        place: Place,
    ) {
        if let Some(rejection) = self.check(dict, layout, scope, field, known, place) {
            self.offer(place, rejection);
        }
        if let Some(known) = known
            && known.def.counter
            && let Some(group) = layout.and_then(|l| l.group(known.def.tag))
        {
            self.counted_group(dict, group, field.tag, field.value, place);
        }
    }

    /// Walks the group the NumInGroup field `tag=count` starts, and checks the count.
    #[inline(never)]
    fn counted_group(
        &mut self,
        dict: Stamped<'_>,
        group: &GroupDef,
        tag: i64,
        count: &[u8],
        place: Place,
    ) {
        let entries = self.group(dict, *group, place);
        if parse_count(count) != Some(entries) {
            self.offer(
                place,
                Rejection::at(RejectKind::IncorrectNumInGroupCount, tag),
            );
        }
    }

    /// The first fault of one field, in QuickFIX's order.
    #[inline(always)]
    fn check(
        &mut self,
        dict: Stamped<'_>,
        layout: Option<&super::Layout>,
        scope: u32,
        field: WireField<'_>,
        known: Option<Known<'_>>,
        place: Place,
    ) -> Option<Rejection> {
        let at = |kind| Some(Rejection::at(kind, field.tag));
        let Some(Known { idx, def }) = known else {
            return self.check_unknown(field);
        };
        if let Some(stamp) = self.stamps.get_mut(dict.slot(idx)) {
            if *stamp == scope {
                return at(RejectKind::TagAppearsMoreThanOnce);
            }
            *stamp = scope;
        }
        if field.value.is_empty() {
            if self.options.fields_have_values {
                return at(RejectKind::TagSpecifiedWithoutValue);
            }
        } else {
            // Most fields are strings, which any value fits: no call for them.
            if def.kind != super::FieldType::String && !def.kind.accepts(field.value) {
                return at(RejectKind::IncorrectDataFormat);
            }
            if !def.allows(field.value) {
                return at(RejectKind::ValueIncorrect);
            }
        }
        if place == Place::Body
            && layout.is_some_and(|layout| !layout.has(idx))
            && self.refuses_undefined(field.tag)
        {
            return at(RejectKind::TagNotDefinedForMessageType);
        }
        None
    }

    /// [`Walk::check`] for a field the dictionary does not define.
    #[inline(never)]
    fn check_unknown(&self, field: WireField<'_>) -> Option<Rejection> {
        if field.value.is_empty() && self.options.fields_have_values {
            return Some(Rejection::at(
                RejectKind::TagSpecifiedWithoutValue,
                field.tag,
            ));
        }
        self.refuses_undefined(field.tag)
            .then(|| Rejection::at(RejectKind::InvalidTagNumber, field.tag))
    }

    /// Whether a field the dictionary, or the message, does not define is refused: a
    /// user-defined one unless those go unchecked, another unless unknown fields are allowed.
    fn refuses_undefined(&self, tag: i64) -> bool {
        if tag >= USER_MIN {
            self.options.user_defined_fields
        } else {
            !self.options.allow_unknown_msg_fields
        }
    }

    /// Walks the entries of `group`, whose NumInGroup field was just read; returns how many
    /// there were. An entry starts at the group's first field, or at a field of the group
    /// already in the current entry; the group ends at a field it does not have.
    fn group(&mut self, dict: Stamped<'_>, group: GroupDef, place: Place) -> usize {
        let Some(layout) = dict.dict.layout(group.layout) else {
            return 0;
        };
        let mut entries = 0;
        let mut entry = None;
        // Where the entry's last field is in the group's order, for ValidateUnorderedGroupFields.
        let mut last = 0;
        while let Some(field) = self.peek() {
            let known = dict
                .known(Tag::try_from(field.tag).ok())
                .filter(|known| layout.has(known.idx));
            let Some(Known { idx, .. }) = known else {
                break;
            };
            let seen = entry.is_some_and(|scope| self.stamps.get(dict.slot(idx)) == Some(&scope));
            if field.tag == i64::from(group.delimiter) || entry.is_none() || seen {
                self.end_entry(dict, layout, entry);
                if field.tag != i64::from(group.delimiter) && self.options.unordered_group_fields {
                    self.offer(
                        place,
                        Rejection::at(RejectKind::RepeatingGroupFieldsOutOfOrder, field.tag),
                    );
                }
                entry = Some(self.new_scope());
                entries += 1;
                last = layout.position(idx, 0).unwrap_or(0);
            } else if self.options.unordered_group_fields {
                // As QuickFIX/J: within an entry, the fields come in the dictionary's order.
                match layout.position(idx, last + 1) {
                    Some(at) => last = at,
                    None => self.offer(
                        place,
                        Rejection::at(RejectKind::RepeatingGroupFieldsOutOfOrder, field.tag),
                    ),
                }
            }
            self.advance(field);
            let scope = entry.unwrap_or_default();
            self.field(dict, Some(layout), scope, field, known, place);
        }
        self.end_entry(dict, layout, entry);
        entries
    }

    fn end_entry(&mut self, dict: Stamped<'_>, layout: &Layout, entry: Option<u32>) {
        if let Some(scope) = entry
            && self.group_required.is_none()
        {
            self.group_required = missing_required(dict, layout, self.stamps, scope);
        }
    }
}

/// Splits `tag=value<SOH>` at the start of `bytes`, accepting what QuickFIX's parser accepts
/// and its validation refuses: tags 0 or negative, empty values.
#[inline(always)]
fn split(bytes: &[u8]) -> Option<WireField<'_>> {
    // The end of the message, answered without a call.
    if bytes.is_empty() {
        return None;
    }
    let (tag, at) = match bytes.first_chunk() {
        Some(word) => match short_tag(*word) {
            Some(short) => short,
            None => long_tag(bytes)?,
        },
        None => long_tag(bytes)?,
    };
    let value = bytes.get(at + 1..)?;
    let end = crate::codec::find_soh(value)?;
    Some(WireField {
        tag,
        value: value.get(..end)?,
        len: at + 1 + end + 1,
    })
}

/// The tag at the start of `word`, the first eight bytes of a field, when it is one to seven
/// digits and an `=`, and where the `=` is; none for any other start, [`long_tag`]'s to read.
/// Byte by byte within the eight: most tags are two to four digits, fewer steps than any
/// trick reading eight at once.
#[inline(always)]
fn short_tag(word: [u8; 8]) -> Option<(i64, usize)> {
    let mut tag = i64::from(digit(word[0])?);
    for (at, &b) in word.iter().enumerate().skip(1) {
        if b == b'=' {
            return Some((tag, at));
        }
        tag = tag * 10 + i64::from(digit(b)?);
    }
    None
}

/// The value of an ASCII digit.
#[inline(always)]
fn digit(b: u8) -> Option<u8> {
    let d = b.wrapping_sub(b'0');
    (d < 10).then_some(d)
}

/// The tag at the start of `bytes`, digits optionally after a `-` up to the tenth byte, and
/// where its `=` is.
#[inline(never)]
fn long_tag(bytes: &[u8]) -> Option<(i64, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let mut at = usize::from(negative);
    let mut tag: i64 = 0;
    loop {
        match *bytes.get(at)? {
            b @ b'0'..=b'9' if at < 10 => tag = tag * 10 + i64::from(b - b'0'),
            b'=' if at > usize::from(negative) => break,
            _ => return None,
        }
        at += 1;
    }
    Some((if negative { -tag } else { tag }, at))
}

/// A NumInGroup value as a count: digits only.
fn parse_count(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 9 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0, |n, &b| n * 10 + usize::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use super::{long_tag, short_tag};

    #[test]
    fn short_tags_read_as_long_ones() {
        let cases: &[&[u8]] = &[
            b"8=FIX.4.4",
            b"35=D\x0149=",
            b"0=x\x01\x01\x01\x01\x01\x01",
            b"1234567=\x01",
            b"12345678=",
            b"=5\x0134=12",
            b"-1=x\x01\x01\x01\x01\x01",
            b"05=x\x01\x01\x01\x01",
            b"3a=x\x01\x01\x01\x01",
            b"3:=xxxxxx",
            b"3/=xxxxxx",
            b"9999=1\x01\x01",
            b"10=123\x01\x01",
            b"55\x01=x\x01\x01\x01\x01",
            b"5==x\x01\x01\x01\x01",
            b"\xb5=x\x01\x01\x01\x01\x01",
        ];
        for &bytes in cases {
            let word = *bytes.first_chunk().expect("eight bytes");
            let short = short_tag(word);
            assert!(
                short.is_none() || short == long_tag(bytes),
                "{:?}: {short:?}",
                String::from_utf8_lossy(bytes)
            );
            let expected_short = bytes.iter().position(|&b| b == b'=').is_some_and(|at| {
                (1..8).contains(&at) && bytes[..at].iter().all(u8::is_ascii_digit)
            });
            assert_eq!(
                short.is_some(),
                expected_short,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(short_tag(*b"1234567="), Some((1_234_567, 7)));
        assert_eq!(short_tag(*b"35=D\x0149="), Some((35, 2)));
    }
}
