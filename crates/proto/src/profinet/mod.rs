//! PROFINET over Ethernet (ethertype 0x8892): DCP and RT.
//!
//! - [`dcp`]: DCP header and blocks (pure decoding and a builder);
//! - [`rt`]: frame id classes, cyclic APDU status, alarm PDUs;
//! - [`state`]: the [`crate::FrameParser`];
//! - [`record`]: [`DcpTransaction`] (`profinet_dcp` events) and [`RtRecord`]
//!   (`profinet_rt` events);
//! - `vendors.tsv`: PROFINET vendor ids (PI manufacturer id list).
//!
//! # Events
//! DCP (frame ids 0xFEFC-0xFEFF): an identify request and each device's answer are
//! one `profinet_dcp` event per answering device (paired by xid and the
//! requester's MAC); a get or set request and its response are one event; a hello
//! is an event of its own; requests nobody answered are emitted after 30 s or at
//! the end of the capture. `function_code` is the DCP service id (3 get, 4 set,
//! 5 identify, 6 hello). A set that changes name, IP, DHCP or resets the device is
//! an `Engineering` operation. Identify/get responses and hellos reveal the
//! device: an [`crate::Identity`] with its MAC, the IP address it states, its name
//! of station, the vendor (from the vendor id) and the type of station as
//! product.
//!
//! RT (cyclic data 0x0100-0xFBFF, alarms 0xFC01/0xFE01, PTCP, fragments): frames
//! are counted per source MAC and frame id, with cyclic data status flags (invalid
//! data, provider stopped, station problem) and alarm counts, and one
//! `profinet_rt` `summary` event per device is emitted at the end of the capture.
//! An alarm notification (pull, plug, diagnosis...) is a `profinet_rt` event of
//! its own (`kind = alarm`).
//!
//! Anomaly kinds: `truncated`, `dcp_truncated`, `dcp_bad_length`,
//! `dcp_bad_block`, `too_many_devices`.
use crate::{FrameParser, FrameProtocolDesc};

pub mod dcp;
pub mod record;
pub mod rt;
pub mod state;

pub use record::{DcpDevice, DcpTransaction, RtAlarm, RtRecord, RtStream};
pub use state::{vendor_name, ProfinetParser};

fn new_parser() -> Box<dyn FrameParser> {
    Box::new(ProfinetParser::new())
}

pub static DESC: FrameProtocolDesc = FrameProtocolDesc {
    name: "profinet",
    ethertypes: &[0x8892],
    new_parser,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_table_loads() {
        assert_eq!(vendor_name(0x002a), Some("Siemens AG"));
        assert_eq!(vendor_name(0x015a), Some("GE Intelligent Platforms"));
        assert_eq!(vendor_name(0xfffe), None);
    }
}
