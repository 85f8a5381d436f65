//! A counterparty that sends messages back, as QuickFIX's acceptance application does: for
//! counterparties' certification tests and for QuickFIX's acceptance scripts.

use std::collections::{HashMap, HashSet};

use fixring_core::SessionId;
use fixring_core::codec::{FieldWriter, InsufficientSize, Message, Tag};

use crate::application::{Application, Context};

/// PossResend (97): kept from the header of the message sent back.
const POSS_RESEND: Tag = 97;

/// ClOrdID (11).
const CL_ORD_ID: Tag = 11;

/// The MsgTypes sent back: NewOrderSingle, SecurityDefinition, Email.
const REFLECTED: [&[u8]; 3] = [b"D", b"d", b"C"];

/// The header's and trailer's tags, which a message sent back does not carry over (its own
/// header is the session's).
const ENVELOPE: [Tag; 33] = [
    8, 9, 35, 49, 56, 115, 128, 90, 91, 34, 50, 142, 57, 143, 116, 144, 129, 145, 43, 97, 52, 122,
    212, 213, 347, 369, 627, 628, 629, 630, 93, 89, 10,
];

/// Room for one message body sent back; a larger one is not sent back (and logged).
const BODY: usize = 8 * 1024;

/// An application that sends back, on the session they arrived on, every NewOrderSingle (35=D),
/// SecurityDefinition (35=d) and Email (35=C): the body fields in tag order under a header of
/// the session's, PossResend (97) kept. A NewOrderSingle with PossResend=Y whose ClOrdID the
/// session already sent back since its Logon is dropped. Any other application message is
/// answered with a BusinessMessageReject (35=j) for an unsupported message type: RefSeqNum (45),
/// Text (58) "Unsupported Message Type", RefMsgType (372), BusinessRejectReason (380) = 3.
#[derive(Clone, Debug, Default)]
pub struct Reflect {
    /// The ClOrdIDs each session has sent back since its Logon.
    seen: HashMap<SessionId, HashSet<Vec<u8>>>,
}

impl Reflect {
    fn reflection(msg: &Message<'_>, out: &mut [u8]) -> Result<usize, InsufficientSize> {
        let mut fields: Vec<(Tag, &[u8])> = msg
            .fields()
            .filter(|(tag, _)| !ENVELOPE.contains(tag))
            .collect();
        // Stable: repeated tags keep their order.
        fields.sort_by_key(|&(tag, _)| tag);
        let mut body = FieldWriter::new(out);
        if let Some(value) = msg.get(POSS_RESEND) {
            body.field(POSS_RESEND, value)?;
        }
        for (tag, value) in fields {
            body.field(tag, value)?;
        }
        Ok(body.len())
    }

    fn unsupported(msg: &Message<'_>, out: &mut [u8]) -> Result<usize, InsufficientSize> {
        let mut body = FieldWriter::new(out);
        body.field(45, msg.get(34).unwrap_or_default())?;
        body.field(58, b"Unsupported Message Type")?;
        body.field(372, msg.msg_type())?;
        body.field(380, b"3")?;
        Ok(body.len())
    }
}

impl Application for Reflect {
    fn on_logon(&mut self, session: &SessionId) {
        self.seen.remove(session);
    }

    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        let kind = msg.msg_type();
        let mut buf = [0u8; BODY];
        let (msg_type, written) = if REFLECTED.contains(&kind) {
            if kind == b"D" {
                let id = msg.get(CL_ORD_ID).unwrap_or_default().to_vec();
                let resent = msg.get(POSS_RESEND) == Some(b"Y");
                let seen = self.seen.entry(ctx.session_id().clone()).or_default();
                if !seen.insert(id) && resent {
                    return;
                }
            }
            (kind, Self::reflection(msg, &mut buf))
        } else {
            (&b"j"[..], Self::unsupported(msg, &mut buf))
        };
        let sent = match written {
            Ok(len) => ctx.reply(msg_type, &buf[..len]).map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = sent {
            tracing::warn!(session = %ctx.session_id(), %error, "message not sent back");
        }
    }
}
