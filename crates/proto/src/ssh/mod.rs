//! ssh (placeholder until the parser lands: never matches).
use crate::{Direction, Output, Parser, Probe, ProtoRecord, ProtocolDesc, Timestamp, Transport};
use serde::Serialize;

/// One ssh transaction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {}

impl ProtoRecord for Transaction {}

struct Placeholder;

impl Parser for Placeholder {
    fn parse(&mut self, _: Direction, _: &[u8], _: Timestamp, _: &mut Vec<Output>) {}
    fn gap(&mut self, _: Direction, _: u64, _: Timestamp, _: &mut Vec<Output>) {}
    fn finish(&mut self, _: Timestamp, _: &mut Vec<Output>) {}
}

fn probe(_: Direction, _: &[u8]) -> Probe {
    Probe::NoMatch
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(Placeholder)
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "ssh",
    transports: &[Transport::Tcp],
    ports: &[22],
    probe,
    new_parser,
};
