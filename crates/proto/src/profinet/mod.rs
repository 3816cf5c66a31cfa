//! Profinet DCP and RT (placeholder until the parser lands).
use crate::{FrameParser, FrameProtocolDesc, L2Frame, Output, ProtoRecord, Timestamp};
use serde::Serialize;

/// One Profinet DCP exchange.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DcpTransaction {}

impl ProtoRecord for DcpTransaction {}

/// Profinet RT/IO frames counted per device.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RtRecord {}

impl ProtoRecord for RtRecord {}

struct Placeholder;

impl FrameParser for Placeholder {
    fn frame(&mut self, _: &L2Frame<'_>, _: &mut Vec<Output>) {}
    fn finish(&mut self, _: Timestamp, _: &mut Vec<Output>) {}
}

fn new_parser() -> Box<dyn FrameParser> {
    Box::new(Placeholder)
}

pub static DESC: FrameProtocolDesc = FrameProtocolDesc {
    name: "profinet",
    ethertypes: &[0x8892],
    new_parser,
};
