//! The FIX codec: framing, a zero-copy message view, and an allocation-free encoder.
//!
//! # Contract
//!
//! - **Framing** ([`Framer::decode`]): a message is `8=FIX.x.y<SOH>` (or `8=FIXT.1.1<SOH>`),
//!   `9=<BodyLength><SOH>`, BodyLength bytes of fields, then `10=NNN<SOH>`. BodyLength counts
//!   from the byte after the BodyLength SOH through the SOH before `10=`; CheckSum is the sum
//!   of every byte before `10=`, modulo 256, as three digits. The framer looks only at the start
//!   of the buffer it is given, reads nothing past it, keeps no state, and answers a whole
//!   message's length, "incomplete", or an error with a count of bytes to discard that always
//!   makes progress and re-synchronises on the next `8=FIX`. Messages longer than the
//!   configured maximum are refused as soon as BodyLength is read.
//! - **Parsing** ([`Message::parse`]): validates the `tag=value<SOH>` structure of one framed
//!   message once; lookups borrow values from the frame.
//! - **Timestamps** ([`parse_utc_timestamp`]): a `UTCTimestamp` value read into a
//!   [`crate::UtcTimestamp`], or a [`TimestampError`] saying what is wrong with it.
//! - **Encoding** ([`encode()`], [`FieldWriter`]): writes into a caller-owned `&mut [u8]` and
//!   returns the length written, or [`InsufficientSize`] with the length needed.
//!
//! Nothing in this module allocates, and none of it panics on any input.
//!
//! ```
//! use fixring_core::UtcTimestamp;
//! use fixring_core::codec::{Decoded, FieldWriter, Framer, Header, Message, encode, msg_type, tags};
//!
//! let mut body_buf = [0u8; 64];
//! let mut body = FieldWriter::new(&mut body_buf);
//! body.field_u64(tags::HEART_BT_INT, 30)?;
//! let header = Header {
//!     begin_string: "FIX.4.4",
//!     msg_type: msg_type::LOGON,
//!     sender_comp_id: "CLIENT",
//!     target_comp_id: "SERVER",
//!     msg_seq_num: 1,
//!     sending_time: UtcTimestamp::from_unix_millis(0),
//!     poss_dup: false,
//!     orig_sending_time: None,
//!     ..Header::default()
//! };
//! let mut wire = [0u8; 256];
//! let written = encode(&header, body.as_bytes(), &mut wire)?;
//!
//! let Decoded::Message { len } = Framer::default().decode(&wire[..written]) else {
//!     panic!("not framed");
//! };
//! let message = Message::parse(&wire[..len])?;
//! assert_eq!(message.msg_type(), msg_type::LOGON);
//! assert_eq!(message.get_u64(tags::HEART_BT_INT)?, Some(30));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ascii;
mod encode;
mod field_index;
mod frame;
mod message;
pub mod msg_type;
pub mod tags;
mod timestamp;
mod writer;

pub(crate) use ascii::find_soh;
pub use ascii::parse_u64;
pub(crate) use encode::encode_stamped;
pub use encode::{Header, encode};
pub use frame::{DEFAULT_MAX_MESSAGE_SIZE, DecodeError, Decoded, Framer};
pub use message::{Fields, Message, ParseError};
pub use tags::Tag;
pub(crate) use timestamp::TimestampWriter;
pub use timestamp::{TimestampError, TimestampReader, parse_utc_timestamp};
pub use writer::{FieldWriter, InsufficientSize};

#[cfg(test)]
mod test_util;
