//! DNP3 (placeholder until the parser lands).
use crate::{Direction, Output, Parser, Probe, ProtocolDesc, Timestamp, Transport};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {
    pub source: u16,
    pub destination: u16,
    pub function_code: u8,
    pub function: &'static str,
}

struct Stub;
impl Parser for Stub {
    fn parse(&mut self, _: Direction, _: &[u8], _: Timestamp, _: &mut Vec<Output>) {}
    fn gap(&mut self, _: Direction, _: u64, _: Timestamp, _: &mut Vec<Output>) {}
    fn finish(&mut self, _: Timestamp, _: &mut Vec<Output>) {}
}
fn probe(_: Direction, _: &[u8]) -> Probe {
    Probe::NoMatch
}
fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(Stub)
}
pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "dnp3",
    transports: &[Transport::Tcp, Transport::Udp],
    ports: &[20000],
    probe,
    new_parser,
};
