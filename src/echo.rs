//! A counterparty that answers every NewOrderSingle with an ExecutionReport.

use fixring_core::codec::{FieldWriter, InsufficientSize, Message, msg_type};

use crate::application::{Application, Context};

/// Body fields copied from the order into its ExecutionReport: ClOrdID, Symbol, Side,
/// OrderQty.
const ECHOED: [u32; 4] = [11, 55, 54, 38];

/// An application that acknowledges every NewOrderSingle (35=D) with an ExecutionReport
/// (35=8, ExecType=New) carrying the same ClOrdID, Symbol, Side and OrderQty.
#[derive(Clone, Debug, Default)]
pub struct Echo {
    exec_id: u64,
}

impl Echo {
    fn execution_report(
        &mut self,
        order: &Message<'_>,
        out: &mut [u8],
    ) -> Result<usize, InsufficientSize> {
        self.exec_id += 1;
        // Each looked up once.
        let echoed = ECHOED.map(|tag| order.get(tag));
        let [cl_ord_id, _, _, order_qty] = echoed;
        let mut body = FieldWriter::new(out);
        body.field(37, cl_ord_id.unwrap_or(b"NONE"))?;
        body.field_u64(17, self.exec_id)?;
        body.field(150, b"0")?;
        body.field(39, b"0")?;
        for (tag, value) in ECHOED.into_iter().zip(echoed) {
            if let Some(value) = value {
                body.field(tag, value)?;
            }
        }
        body.field(151, order_qty.unwrap_or(b"0"))?;
        body.field(14, b"0")?;
        body.field(6, b"0")?;
        Ok(body.len())
    }
}

impl Application for Echo {
    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        if msg.msg_type() != msg_type::NEW_ORDER_SINGLE {
            return;
        }
        let mut buf = [0u8; 512];
        if let Ok(len) = self.execution_report(msg, &mut buf)
            && let Err(error) = ctx.reply(msg_type::EXECUTION_REPORT, &buf[..len])
        {
            tracing::warn!(session = %ctx.session_id(), %error, "execution report not sent");
        }
    }
}
