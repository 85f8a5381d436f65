//! Where a parsed message's fields are, recorded while [`super::Message::parse`] splits them,
//! so that looking a tag up scans a small array of tags rather than the frame.
//!
//! Measured with callgrind on `fixring bench` (200-byte orders): a lookup of a body field by
//! scanning the frame took about 600 instructions, and the bench's echo reads six of them per
//! order; the parse already splits every field, and recording each costs a few instructions.

use super::tags::Tag;

/// Fields indexed per message; the fields past them are found by scanning the frame.
const CAPACITY: usize = 32;

/// The first [`CAPACITY`] fields with a positive tag of a message of at most 64 KiB, in wire
/// order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FieldIndex {
    tags: [Tag; CAPACITY],
    /// Where each field's value starts and ends in the frame.
    spans: [(u16, u16); CAPACITY],
    len: u8,
    /// Whether every field of the frame is in the index.
    complete: bool,
}

/// What the index knows of a tag.
pub(super) enum Lookup {
    /// The first field with the tag has its value at `start..end` of the frame.
    Found { start: usize, end: usize },
    /// No field has the tag.
    Absent,
    /// Not in the index, which lacks some of the fields: the frame must be scanned.
    Unknown,
}

impl FieldIndex {
    /// An empty index for a frame of `frame_len` bytes; a frame longer than 64 KiB is not
    /// indexed (its offsets do not fit).
    pub(super) fn new(frame_len: usize) -> Self {
        Self {
            tags: [0; CAPACITY],
            spans: [(0, 0); CAPACITY],
            // Full: every push leaves the index incomplete.
            len: if frame_len > usize::from(u16::MAX) {
                CAPACITY as u8
            } else {
                0
            },
            complete: true,
        }
    }

    /// Records the next field in wire order: `tag`, with its value at `start..end` (within
    /// the frame the index was made for).
    ///
    /// A field with tag 0 (how a tolerant parse reads `0=` and negative tags) is left out,
    /// so that a lookup of 0 scans the frame as it always has.
    #[inline]
    pub(super) fn push(&mut self, tag: Tag, start: usize, end: usize) {
        let at = usize::from(self.len);
        match (self.tags.get_mut(at), self.spans.get_mut(at)) {
            (Some(t), Some(s)) if tag != 0 => {
                *t = tag;
                // Within a frame of at most 64 KiB (see `new`).
                *s = (start as u16, end as u16);
                self.len += 1;
            }
            _ => self.complete = false,
        }
    }

    /// Records field `at` of the frame (counting from 0, in wire order), whose `tag` is
    /// positive, as [`FieldIndex::push`] would, if it fits; once every field has been given,
    /// [`FieldIndex::set_len`] says how many there were. For a frame of at most 64 KiB.
    ///
    /// Apart from `push`, so that a parse can count fields in a register.
    #[inline(always)]
    pub(super) fn set(&mut self, at: usize, tag: Tag, start: usize, end: usize) {
        if let (Some(t), Some(s)) = (self.tags.get_mut(at), self.spans.get_mut(at)) {
            *t = tag;
            *s = (start as u16, end as u16);
        }
    }

    /// Ends a run of [`FieldIndex::set`]: the frame has `fields` fields, all given to `set`.
    #[inline]
    pub(super) fn set_len(&mut self, fields: usize) {
        self.len = fields.min(CAPACITY) as u8;
        self.complete = fields <= CAPACITY;
    }

    /// Whether every field of the frame is in the index.
    #[inline]
    pub(super) fn is_complete(&self) -> bool {
        self.complete
    }

    /// The recorded fields, in wire order: their tags, and where each one's value starts
    /// and ends. Fields with tag 0 are not among them; a frame too long to index has none.
    #[inline]
    pub(super) fn recorded(&self) -> (&[Tag], &[(u16, u16)]) {
        // A long frame's index is "full" of zero tags, which are never recorded.
        let len = if self.tags.first() == Some(&0) {
            0
        } else {
            usize::from(self.len)
        };
        (
            self.tags.get(..len).unwrap_or_default(),
            self.spans.get(..len).unwrap_or_default(),
        )
    }

    /// Where the first field with `tag` has its value.
    #[inline]
    pub(super) fn lookup(&self, tag: Tag) -> Lookup {
        // Never indexed; and a long frame's index is "full" of unused zero tags.
        if tag == 0 {
            return Lookup::Unknown;
        }
        let tags = self.tags.get(..usize::from(self.len)).unwrap_or_default();
        match tags.iter().position(|&t| t == tag) {
            Some(at) => {
                let (start, end) = self.spans.get(at).copied().unwrap_or_default();
                Lookup::Found {
                    start: usize::from(start),
                    end: usize::from(end),
                }
            }
            None if self.complete => Lookup::Absent,
            None => Lookup::Unknown,
        }
    }
}
