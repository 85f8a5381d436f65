//! A zero-copy view of the fields of one framed FIX message.

use core::fmt;

use super::ascii::{SOH, U64_DIGITS, find_soh, format_u64, parse_u64};
use super::field_index::{FieldIndex, Lookup};
use super::tags::{
    BEGIN_STRING, BODY_LENGTH, CHECK_SUM, MSG_SEQ_NUM, MSG_TYPE, SENDER_COMP_ID, SENDING_TIME,
    TARGET_COMP_ID, Tag,
};

/// A validated view over the bytes of one whole FIX message.
///
/// [`Message::parse`] checks the `tag=value<SOH>` structure once and remembers where the
/// standard header fields the session layer reads on every message are (8, 35, 34, 49, 52,
/// 56), and where the first 32 fields are; lookups of other fields scan the frame. Values are
/// borrowed from the frame: nothing is copied or allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    bytes: &'a [u8],
    begin_string: &'a [u8],
    msg_type: &'a [u8],
    header: HeaderIndex<'a>,
    fields: FieldIndex,
}

/// First occurrences of the header fields read on every message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct HeaderIndex<'a> {
    msg_seq_num: Option<&'a [u8]>,
    sender_comp_id: Option<&'a [u8]>,
    sending_time: Option<&'a [u8]>,
    target_comp_id: Option<&'a [u8]>,
}

impl<'a> HeaderIndex<'a> {
    #[inline]
    fn slot(&mut self, tag: Tag) -> Option<&mut Option<&'a [u8]>> {
        match tag {
            MSG_SEQ_NUM => Some(&mut self.msg_seq_num),
            SENDER_COMP_ID => Some(&mut self.sender_comp_id),
            SENDING_TIME => Some(&mut self.sending_time),
            TARGET_COMP_ID => Some(&mut self.target_comp_id),
            _ => None,
        }
    }

    /// Whether every field is found.
    #[inline]
    fn is_full(&self) -> bool {
        self.msg_seq_num.is_some()
            && self.sender_comp_id.is_some()
            && self.sending_time.is_some()
            && self.target_comp_id.is_some()
    }

    /// `Some(value)` when `tag` is indexed (the value itself may be absent).
    #[inline]
    fn lookup(&self, tag: Tag) -> Option<Option<&'a [u8]>> {
        match tag {
            MSG_SEQ_NUM => Some(self.msg_seq_num),
            SENDER_COMP_ID => Some(self.sender_comp_id),
            SENDING_TIME => Some(self.sending_time),
            TARGET_COMP_ID => Some(self.target_comp_id),
            _ => None,
        }
    }
}

impl<'a> Message<'a> {
    /// Parses a whole message, typically `buf[..len]` after [`super::Decoded::Message`].
    ///
    /// Checks that the frame is a sequence of `tag=value<SOH>` fields with positive integer tags
    /// of at most nine digits and non-empty values, starting with BeginString (8), BodyLength
    /// (9) and MsgType (35) and ending with CheckSum (10). BodyLength and CheckSum values are
    /// the framer's concern and are not checked again.
    pub fn parse(frame: &'a [u8]) -> Result<Self, ParseError> {
        Self::parse_with(frame, Strictness::Strict)
    }

    /// Parses a whole message as [`Message::parse`] does, but lets through what QuickFIX's
    /// parser lets through and its validation then rejects: fields with an empty value, and
    /// tags `0` or negative (`-1=`), after MsgType. A data dictionary's
    /// [`crate::dictionary::Validator`] says what is wrong with them.
    pub fn parse_for_validation(frame: &'a [u8]) -> Result<Self, ParseError> {
        Self::parse_with(frame, Strictness::Tolerant)
    }

    fn parse_with(frame: &'a [u8], strictness: Strictness) -> Result<Self, ParseError> {
        let mut message = Self::empty(frame);
        if strictness == Strictness::Strict && message.index_well_formed().is_some() {
            return Ok(message);
        }
        Self::parse_field_by_field(frame, strictness)
    }

    /// A message over `frame` with nothing found in it yet.
    fn empty(frame: &'a [u8]) -> Self {
        Self {
            bytes: frame,
            begin_string: &[],
            msg_type: &[],
            header: HeaderIndex::default(),
            fields: FieldIndex::new(frame.len()),
        }
    }

    /// What [`Message::parse_with`] makes of `frame`, splitting one field at a time so that a
    /// fault is reported with its field's offset.
    ///
    /// Out of line, so that the one pass inlined beside it has the registers to itself
    /// (about 20 instructions a message less, measured with callgrind).
    #[inline(never)]
    fn parse_field_by_field(frame: &'a [u8], strictness: Strictness) -> Result<Self, ParseError> {
        let mut offset = 0;
        let mut fields = FieldIndex::new(frame.len());
        let begin_string = expect_field(frame, &mut offset, BEGIN_STRING, &mut fields)?;
        expect_field(frame, &mut offset, BODY_LENGTH, &mut fields)?;
        let msg_type = expect_field(frame, &mut offset, MSG_TYPE, &mut fields)?;
        let mut header = HeaderIndex::default();
        let mut last_tag = MSG_TYPE;
        while let Some(rest) = frame.get(offset..).filter(|rest| !rest.is_empty()) {
            let field = match strictness {
                Strictness::Strict => split_field(rest),
                Strictness::Tolerant => split_field_tolerant(rest),
            }
            .map_err(|fault| fault.at(offset))?;
            if let Some(slot) = header.slot(field.tag) {
                slot.get_or_insert(field.value);
            }
            fields.push(
                field.tag,
                field.value_start(offset),
                field.value_end(offset),
            );
            last_tag = field.tag;
            offset += field.len;
        }
        if last_tag != CHECK_SUM {
            return Err(ParseError::MisplacedField {
                expected: CHECK_SUM,
                offset,
            });
        }
        Ok(Self {
            bytes: frame,
            begin_string,
            msg_type,
            header,
            fields,
        })
    }

    /// Fills in this message, made empty over its frame, as [`Message::parse`] would for a
    /// frame with nothing wrong in it, in one pass; `None` as soon as anything is wrong (what
    /// was filled in is then of no use), and the field-by-field parse says what and where.
    /// Frames whose offsets do not fit the index (over 64 KiB) are left to it too, and so are
    /// those of more than 32 fields whose header fields are not all among the first 32.
    ///
    /// The SOHs are looked for over the whole frame, sixteen bytes a step, and each one found
    /// ends a field, whose tag is matched from four bytes at once; the header fields are then
    /// read from the index. Measured with callgrind on `fixring bench` (200-byte orders and
    /// their execution reports, 15 and 19 fields): about 1,180 instructions a message, set-up
    /// and copy of the `Message` included, against 1,520 when each field was split from its
    /// start and its SOH looked for from its value. Inlined into [`Message::parse_with`]: as
    /// a call it measured about 55 instructions a message more.
    #[inline(always)]
    fn index_well_formed(&mut self) -> Option<()> {
        let frame = self.bytes;
        if frame.len() > usize::from(u16::MAX) {
            return None;
        }
        let mut split = Splitter {
            frame,
            fields: &mut self.fields,
            pos: 0,
            count: 0,
            last_tag: 0,
        };
        // Two words a step: LLVM tests both for SOHs in one SSE2 register, and a pair without
        // any is passed over; one word a step measured about 50 instructions a message more.
        let (pairs, rest) = frame.as_chunks::<16>();
        let mut base = 0;
        for pair in pairs {
            // Both halves are always there.
            let sohs =
                |word: Option<&[u8; 8]>| word.map_or(0, |w| soh_bytes(u64::from_le_bytes(*w)));
            let (lo, hi) = (sohs(pair.first_chunk()), sohs(pair.last_chunk()));
            if lo | hi != 0 {
                split.word(base, lo)?;
                split.word(base + 8, hi)?;
            }
            base += 16;
        }
        let (words, tail) = rest.as_chunks::<8>();
        for word in words {
            split.word(base, soh_bytes(u64::from_le_bytes(*word)))?;
            base += 8;
        }
        if !tail.is_empty() {
            // The frame's last eight bytes, shifted down to start at `base`; 0xff bytes past
            // the end.
            let last = u64::from_le_bytes(*frame.last_chunk::<8>()?);
            let shift = 8 * (8 - tail.len() as u32);
            let word = last.wrapping_shr(shift) | !u64::MAX.wrapping_shr(shift);
            split.word(base, soh_bytes(word))?;
        }
        if split.pos != frame.len() || split.last_tag != CHECK_SUM {
            return None;
        }
        let count = split.count;
        self.fields.set_len(count);
        let (tags, spans) = self.fields.recorded();
        let (&[BEGIN_STRING, BODY_LENGTH, MSG_TYPE, ..], &[begin, _, msg_type, ..]) = (tags, spans)
        else {
            return None;
        };
        self.begin_string = frame.get(usize::from(begin.0)..usize::from(begin.1))?;
        self.msg_type = frame.get(usize::from(msg_type.0)..usize::from(msg_type.1))?;
        let value = |(start, end): (u16, u16)| frame.get(usize::from(start)..usize::from(end));
        if let (
            Some(&[MSG_SEQ_NUM, SENDER_COMP_ID, SENDING_TIME, TARGET_COMP_ID]),
            Some(&[a, b, c, d]),
        ) = (tags.get(3..7), spans.get(3..7))
        {
            // The usual header, in tag order right after MsgType: no search.
            self.header = HeaderIndex {
                msg_seq_num: value(a),
                sender_comp_id: value(b),
                sending_time: value(c),
                target_comp_id: value(d),
            };
        } else {
            let mut missing = 4;
            for (&tag, &span) in tags.iter().zip(spans).skip(3) {
                if header_tag(tag)
                    && let Some(slot @ None) = self.header.slot(tag)
                {
                    *slot = value(span);
                    missing -= 1;
                    if missing == 0 {
                        break;
                    }
                }
            }
        }
        // Past the index, a header field might come first: the field-by-field parse finds it.
        (self.fields.is_complete() || self.header.is_full()).then_some(())
    }

    /// BeginString (tag 8), e.g. `b"FIX.4.4"`.
    pub const fn begin_string(&self) -> &'a [u8] {
        self.begin_string
    }

    /// MsgType (tag 35), e.g. `b"D"`; compare with the [`super::msg_type`] constants.
    pub const fn msg_type(&self) -> &'a [u8] {
        self.msg_type
    }

    /// MsgSeqNum (tag 34) as an integer, if present; an error if it is not one.
    pub fn msg_seq_num(&self) -> Result<Option<u64>, ParseError> {
        self.get_u64(MSG_SEQ_NUM)
    }

    /// SenderCompID (tag 49), if present.
    pub const fn sender_comp_id(&self) -> Option<&'a [u8]> {
        self.header.sender_comp_id
    }

    /// TargetCompID (tag 56), if present.
    pub const fn target_comp_id(&self) -> Option<&'a [u8]> {
        self.header.target_comp_id
    }

    /// SendingTime (tag 52) as written on the wire, if present.
    pub const fn sending_time(&self) -> Option<&'a [u8]> {
        self.header.sending_time
    }

    /// The value of the first field with this tag, if any.
    ///
    /// Fields the parse indexed are answered at once. For other tags (past the first 32
    /// fields), rather than splitting every field, this searches for the bytes `<SOH>tag=` (a
    /// validated message's values contain no SOH, so every SOH starts a field), eight
    /// positions per step.
    #[inline]
    pub fn get(&self, tag: Tag) -> Option<&'a [u8]> {
        match tag {
            BEGIN_STRING => return Some(self.begin_string),
            MSG_TYPE => return Some(self.msg_type),
            _ => {}
        }
        if let Some(indexed) = self.header.lookup(tag) {
            return indexed;
        }
        match self.fields.lookup(tag) {
            Lookup::Found { start, end } => return self.bytes.get(start..end),
            Lookup::Absent => return None,
            Lookup::Unknown => {}
        }
        let mut key_buf = [0u8; U64_DIGITS + 2];
        find_value(self.bytes, field_key(&mut key_buf, tag))
    }

    /// The first field with this tag as an unsigned integer, if present.
    ///
    /// A present value that is not a run of ASCII digits fitting a `u64` is an error.
    #[inline]
    pub fn get_u64(&self, tag: Tag) -> Result<Option<u64>, ParseError> {
        self.get(tag)
            .map(|value| parse_u64(value).ok_or(ParseError::BadInteger { tag }))
            .transpose()
    }

    /// Every field as `(tag, value)`, in wire order, BeginString to CheckSum.
    pub fn fields(&self) -> Fields<'a> {
        Fields { rest: self.bytes }
    }

    /// The fields the parse recorded (the first 32 with a positive tag, in wire order): their
    /// tags, and where each one's value starts and ends in [`Message::as_bytes`].
    #[inline]
    pub(crate) fn recorded_fields(&self) -> (&[Tag], &[(u16, u16)]) {
        self.fields.recorded()
    }

    /// The whole message as it was framed.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Iterator over the `(tag, value)` fields of a [`Message`], from [`Message::fields`].
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = (Tag, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // The message was validated, so every field splits; an error ends the iteration.
        // A message parsed for validation may hold empty values and tags 0 or negative
        // (read as 0): tolerant splitting reads every message either parse accepts.
        let field = split_field_tolerant(self.rest).ok()?;
        self.rest = self.rest.get(field.len..).unwrap_or_default();
        Some((field.tag, field.value))
    }
}

/// Splits the field at `offset`, which must carry `expected`, and moves `offset` past it.
fn expect_field<'a>(
    frame: &'a [u8],
    offset: &mut usize,
    expected: Tag,
    fields: &mut FieldIndex,
) -> Result<&'a [u8], ParseError> {
    let misplaced = ParseError::MisplacedField {
        expected,
        offset: *offset,
    };
    let rest = frame.get(*offset..).unwrap_or_default();
    if rest.is_empty() {
        return Err(misplaced);
    }
    let field = split_field(rest).map_err(|fault| fault.at(*offset))?;
    if field.tag != expected {
        return Err(misplaced);
    }
    fields.push(
        field.tag,
        field.value_start(*offset),
        field.value_end(*offset),
    );
    *offset += field.len;
    Ok(field.value)
}

/// Writes `<SOH>tag=` into `buf` and returns it.
fn field_key(buf: &mut [u8; U64_DIGITS + 2], tag: Tag) -> &[u8] {
    let mut digits = [0u8; U64_DIGITS];
    let digits = format_u64(&mut digits, u64::from(tag));
    let len = digits.len() + 2;
    let key = buf.get_mut(..len).unwrap_or_default();
    if let [first, middle @ .., last] = key {
        *first = SOH;
        // A byte loop: `copy_from_slice` of a variable length would call `memcpy`.
        for (dst, &src) in middle.iter_mut().zip(digits) {
            *dst = src;
        }
        *last = b'=';
    }
    key
}

/// The value of the first field whose `<SOH>tag=` key is `key`, in a validated message.
///
/// Each step tests eight positions at once for the key's first three bytes, with no branch
/// per field; only positions passing that test are compared in full.
fn find_value<'a>(bytes: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let &[k0, k1, k2, ..] = key else {
        return None;
    };
    let (s0, s1, s2) = (splat(k0), splat(k1), splat(k2));
    let mut at = 0;
    let mut next = word_at(bytes, 0);
    while at < bytes.len() {
        let word = next;
        next = word_at(bytes, at + 8);
        // The bytes one and two positions further on, for each of the eight positions.
        let plus1 = (word >> 8) | (next << 56);
        let plus2 = (word >> 16) | (next << 48);
        // A byte of `diff` is zero where all three bytes match.
        let diff = (word ^ s0) | (plus1 ^ s1) | (plus2 ^ s2);
        let mut candidates = eq_mask(diff, 0);
        while candidates != 0 {
            let pos = at + (candidates.trailing_zeros() / 8) as usize;
            let rest = bytes.get(pos..).unwrap_or_default();
            if let Some(after) = rest.strip_prefix(key) {
                return after.get(..find_soh(after)?);
            }
            candidates &= candidates - 1;
        }
        at += 8;
    }
    None
}

/// The low seven bits of each byte of a word.
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// `byte` in each of a word's eight bytes.
const fn splat(byte: u8) -> u64 {
    0x0101_0101_0101_0101 * byte as u64
}

/// 0x80 in each byte of `word` equal to the corresponding byte of `splat`, zero elsewhere.
///
/// Exact: adding 0x7f to seven-bit values never carries into the next byte.
#[inline]
fn eq_mask(word: u64, splat: u64) -> u64 {
    let diff = word ^ splat;
    !(((diff & LOW7) + LOW7) | diff) & !LOW7
}

/// Eight bytes of `bytes` from `at` as a little-endian word, zero-padded past the end.
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let rest = bytes.get(at..).unwrap_or_default();
    if let Some(chunk) = rest.first_chunk::<8>() {
        return u64::from_le_bytes(*chunk);
    }
    let mut word = [0u8; 8];
    for (dst, &src) in word.iter_mut().zip(rest) {
        *dst = src;
    }
    u64::from_le_bytes(word)
}

/// One `tag=value<SOH>` field at the start of a byte slice.
struct Field<'a> {
    tag: Tag,
    value: &'a [u8],
    /// Bytes the field occupies, SOH included.
    len: usize,
}

impl Field<'_> {
    /// Where the value starts in the frame, for a field at `offset`.
    #[inline]
    fn value_start(&self, offset: usize) -> usize {
        self.value_end(offset) - self.value.len()
    }

    /// Where the value ends (its SOH) in the frame, for a field at `offset`.
    #[inline]
    fn value_end(&self, offset: usize) -> usize {
        offset + self.len - 1
    }
}

/// Structural faults of a field, before their offset in the message is known.
enum FieldFault {
    Tag,
    Empty(Tag),
    Unterminated(Tag),
}

impl FieldFault {
    fn at(self, offset: usize) -> ParseError {
        match self {
            Self::Tag => ParseError::BadTag { offset },
            Self::Empty(tag) => ParseError::EmptyValue { tag, offset },
            Self::Unterminated(tag) => ParseError::Unterminated { tag, offset },
        }
    }
}

/// Most digits accepted in a tag: nine always fit a `u32` without overflow checks.
const MAX_TAG_DIGITS: usize = 9;

/// Splits the `tag=value<SOH>` field at the start of `bytes`.
///
/// A plain byte loop over the tag's digits: tried against an eight-byte word conversion, it
/// measured more than twice as fast here (tags are one to three digits).
#[inline]
fn split_field(bytes: &[u8]) -> Result<Field<'_>, FieldFault> {
    let mut tag: Tag = 0;
    let mut digits = 0;
    loop {
        match bytes.get(digits) {
            Some(&b @ b'0'..=b'9') if digits < MAX_TAG_DIGITS => {
                tag = tag * 10 + Tag::from(b - b'0');
                digits += 1;
            }
            Some(b'=') if tag != 0 => return split_value(bytes, tag, digits),
            _ => return Err(FieldFault::Tag),
        }
    }
}

/// Splits a frame into fields as its SOHs are found, a word at a time, and records them in
/// the index.
struct Splitter<'a, 'i> {
    frame: &'a [u8],
    fields: &'i mut FieldIndex,
    /// Where the next field starts: just past the last SOH.
    pos: usize,
    /// Fields split so far.
    count: usize,
    /// The tag of the last field split.
    last_tag: Tag,
}

impl Splitter<'_, '_> {
    /// Splits and records the fields that end in the word at `base`, whose SOHs `sohs` flags
    /// as [`soh_bytes`] does; `None` if one is not as [`split_field`] would split it.
    #[inline(always)]
    fn word(&mut self, base: usize, mut sohs: u64) -> Option<()> {
        while sohs != 0 {
            let end = base + (sohs.trailing_zeros() / 8) as usize;
            // Clears the lowest flag only: a flag above it that is not an SOH is a NUL right
            // after an SOH, where a well-formed frame has a tag's first digit; taken for an
            // SOH, it ends a field without a tag, and the split fails as it must.
            sohs &= sohs - 1;
            let (tag, start) = tag_at(self.frame, self.pos)?;
            // The tag and `=` hold no SOH, so `end` is the value's.
            if end <= start {
                return None;
            }
            self.fields.set(self.count, tag, start, end);
            self.count += 1;
            self.last_tag = tag;
            self.pos = end + 1;
        }
        Some(())
    }
}

/// The tag of the field at `pos` of `frame` and where its value starts, if [`split_field`]
/// would read them.
///
/// Tags of up to three digits, nearly all of them, are matched from four bytes at once, two
/// digits first; longer ones go digit by digit.
#[inline(always)]
fn tag_at(frame: &[u8], pos: usize) -> Option<(Tag, usize)> {
    // Against a bound the loop computes once: LLVM then drops the slice's own check.
    if pos > frame.len().checked_sub(4)? {
        return None;
    }
    let word = u32::from_le_bytes(*frame.get(pos..)?.first_chunk::<4>()?);
    let (tag, start) = if digits_then_equals(word, 2) {
        ((word & 0x0f) * 10 + (word >> 8 & 0x0f), pos + 3)
    } else if digits_then_equals(word, 1) {
        (word & 0x0f, pos + 2)
    } else if digits_then_equals(word, 3) {
        let hundreds = (word & 0x0f) * 100;
        (
            hundreds + (word >> 8 & 0x0f) * 10 + (word >> 16 & 0x0f),
            pos + 4,
        )
    } else {
        long_tag(frame, pos)?
    };
    (tag != 0).then_some((tag, start))
}

/// Whether the first `digits` bytes of `word` (read little-endian), one to three, are ASCII
/// digits and the next one is `=`.
///
/// A digit is a byte 0x30..=0x39: high nibble 3, and still 3 once 6 is added to the byte.
#[inline(always)]
const fn digits_then_equals(word: u32, digits: u32) -> bool {
    let ones = 0x0001_0101 & !(u32::MAX << (8 * digits));
    let (high_nibbles, threes) = (ones * 0xf0, ones * 0x30);
    let (equals_byte, equals) = (0xff << (8 * digits), (b'=' as u32) << (8 * digits));
    word & (high_nibbles | equals_byte) == threes | equals
        && word.wrapping_add(ones * 0x06) & high_nibbles == threes
}

/// Whether `tag` is one of those [`HeaderIndex`] holds: a bit test rather than a compare per
/// tag.
#[inline(always)]
fn header_tag(tag: Tag) -> bool {
    const HEADER: u64 =
        1 << MSG_SEQ_NUM | 1 << SENDER_COMP_ID | 1 << SENDING_TIME | 1 << TARGET_COMP_ID;
    HEADER.checked_shr(tag).is_some_and(|bits| bits & 1 != 0)
}

/// A tag of any length at `pos` and where its value starts, as [`split_field`] reads it.
#[cold]
fn long_tag(frame: &[u8], pos: usize) -> Option<(Tag, usize)> {
    let field = split_field(frame.get(pos..)?).ok()?;
    Some((field.tag, pos + field.len - field.value.len() - 1))
}

/// 0x80 in each byte of `word` that is SOH, and in each NUL right after a flagged byte (the
/// subtraction's borrow runs on through NULs): exact up to the first NUL after an SOH.
#[inline(always)]
fn soh_bytes(word: u64) -> u64 {
    let x = word ^ splat(SOH);
    x.wrapping_sub(splat(1)) & !x & !LOW7
}

/// How much [`Message::parse_with`] lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strictness {
    /// Positive tags and non-empty values only.
    Strict,
    /// Tags `0` and negative ones (read as 0) and empty values too, as QuickFIX's parser.
    Tolerant,
}

/// Splits the field at the start of `bytes` as QuickFIX's parser does: a tag of digits,
/// possibly `0` or with a leading `-` (read as 0), then `=`, then a value, possibly empty.
fn split_field_tolerant(bytes: &[u8]) -> Result<Field<'_>, FieldFault> {
    let sign = usize::from(bytes.first() == Some(&b'-'));
    let mut tag: Tag = 0;
    let mut digits = sign;
    loop {
        match bytes.get(digits) {
            Some(&b @ b'0'..=b'9') if digits - sign < MAX_TAG_DIGITS => {
                tag = tag * 10 + Tag::from(b - b'0');
                digits += 1;
            }
            Some(b'=') if digits > sign => break,
            _ => return Err(FieldFault::Tag),
        }
    }
    let tag = if sign == 1 { 0 } else { tag };
    let after = bytes.get(digits + 1..).unwrap_or_default();
    let value_len = find_soh(after).ok_or(FieldFault::Unterminated(tag))?;
    Ok(Field {
        tag,
        value: after.get(..value_len).unwrap_or_default(),
        len: digits + 1 + value_len + 1,
    })
}

/// The rest of a field whose tag of `digits` digits and `=` start `bytes`.
#[inline]
fn split_value(bytes: &[u8], tag: Tag, digits: usize) -> Result<Field<'_>, FieldFault> {
    let after = bytes.get(digits + 1..).unwrap_or_default();
    let value_len = find_soh(after).ok_or(FieldFault::Unterminated(tag))?;
    if value_len == 0 {
        return Err(FieldFault::Empty(tag));
    }
    Ok(Field {
        tag,
        value: after.get(..value_len).unwrap_or_default(),
        len: digits + 1 + value_len + 1,
    })
}

/// Why a frame is not a well-formed FIX message, or a field not the expected type.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// A field does not start with a positive integer tag (fitting a `u32`) followed by `=`.
    BadTag {
        /// Offset of the field in the message.
        offset: usize,
    },
    /// A field has nothing between `=` and SOH.
    EmptyValue {
        /// The field's tag.
        tag: Tag,
        /// Offset of the field in the message.
        offset: usize,
    },
    /// A field's value runs to the end of the frame without an SOH.
    Unterminated {
        /// The field's tag.
        tag: Tag,
        /// Offset of the field in the message.
        offset: usize,
    },
    /// A field required at this place is missing: 8, 9 and 35 first, 10 last.
    MisplacedField {
        /// The tag that should be at this place.
        expected: Tag,
        /// Offset in the message where it should be.
        offset: usize,
    },
    /// A field read as an integer is not a run of digits fitting a `u64`.
    BadInteger {
        /// The field's tag.
        tag: Tag,
    },
}

impl ParseError {
    /// A short statement of what is wrong, without the values.
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::BadTag { .. } => "field does not start with a positive integer tag and '='",
            Self::EmptyValue { .. } => "field has an empty value",
            Self::Unterminated { .. } => "field value is not terminated by SOH",
            Self::MisplacedField { .. } => "required field missing or out of place",
            Self::BadInteger { .. } => "field value is not an unsigned integer",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())?;
        match self {
            Self::BadTag { offset } => write!(f, " at offset {offset}"),
            Self::EmptyValue { tag, offset } | Self::Unterminated { tag, offset } => {
                write!(f, ": tag {tag} at offset {offset}")
            }
            Self::MisplacedField { expected, offset } => {
                write!(f, ": expected tag {expected} at offset {offset}")
            }
            Self::BadInteger { tag } => write!(f, ": tag {tag}"),
        }
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
