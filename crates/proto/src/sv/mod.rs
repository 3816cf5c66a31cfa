//! sv (placeholder until the parser lands).
use crate::{FrameParser, FrameProtocolDesc, L2Frame, Output, ProtoRecord, Timestamp};
use serde::Serialize;

/// One sv message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {}

impl ProtoRecord for Transaction {}

struct Placeholder;

impl FrameParser for Placeholder {
    fn frame(&mut self, _: &L2Frame<'_>, _: &mut Vec<Output>) {}
    fn finish(&mut self, _: Timestamp, _: &mut Vec<Output>) {}
}

fn new_parser() -> Box<dyn FrameParser> {
    Box::new(Placeholder)
}

pub static DESC: FrameProtocolDesc = FrameProtocolDesc {
    name: "sv",
    ethertypes: &[0x88ba],
    new_parser,
};
