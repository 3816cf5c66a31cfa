//! IEC 61850-8-1 GOOSE (ethertype 0x88B8).
//!
//! - [`parser`]: pure decoding of the header and the `goosePdu` (the `allData`
//!   values use the MMS `Data` decoder in [`crate::mms::data`]);
//! - [`state`]: the [`crate::FrameParser`]: publishers keyed by source MAC, APPID
//!   and gocbRef;
//! - [`record`]: the event record [`Transaction`];
//! - [`encode`]: a frame builder.
//!
//! # Events
//! GOOSE repeats a publisher's state with a growing sqNum and starts a new state
//! with a new stNum. One `state_change` event is emitted for the first message seen
//! of a publisher and for every stNum change (with the data set values); one
//! `summary` event per publisher at the end of the capture counts its frames,
//! state changes and sequence anomalies. `function` is `goose`; there is no
//! `function_code` (GOOSE has no request/response).
//!
//! Anomaly kinds: `bad_length`, `malformed_goose`, `not_goose_pdu`,
//! `missing_field`, `goose_stnum_regression` (stNum went backwards: possible
//! replay or injection), `goose_sqnum_regression`, `goose_sqnum_repeat`,
//! `goose_sqnum_gap`, `goose_ttl_expired`, `too_many_publishers`.
use crate::{FrameParser, FrameProtocolDesc};

pub mod encode;
pub mod parser;
pub mod record;
pub mod state;

pub use record::{State, Summary, Transaction};
pub use state::GooseParser;

fn new_parser() -> Box<dyn FrameParser> {
    Box::new(GooseParser::new())
}

pub static DESC: FrameProtocolDesc = FrameProtocolDesc {
    name: "goose",
    ethertypes: &[0x88b8],
    new_parser,
};
