//! Profinet event records: DCP exchanges and RT summaries / alarms.
use crate::goose::record::{mac_string, ser_mac};
use serde::{Serialize, Serializer};
use std::net::Ipv4Addr;

fn is_false(b: &bool) -> bool {
    !*b
}

fn ser_opt_mac<S: Serializer>(m: &Option<[u8; 6]>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.serialize_str(&mac_string(m)),
        None => s.serialize_none(),
    }
}

/// Device facts of a DCP message (identify filter, set values, or what a device
/// answered).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DcpDevice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_of_station: Option<String>,
    /// DeviceVendorValue ("type of station"), e.g. `S7-300EC`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_of_station: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u16>,
    /// Vendor name from the PI vendor id list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_role: Vec<&'static str>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_mac"
    )]
    pub mac: Option<[u8; 6]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netmask: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    /// Options the message names (asked for, set, or offered).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<&'static str>,
    /// A set stores its values permanently.
    #[serde(skip_serializing_if = "is_false")]
    pub permanent: bool,
}

/// One DCP exchange: an identify request with one device's answer (one event per
/// answering device), a get or set request with its response, a hello, or a
/// request nobody answered. Serialised under `profinet_dcp`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DcpTransaction {
    /// DCP service id (3 get, 4 set, 5 identify, 6 hello).
    pub function_code: u8,
    /// `get`, `set`, `identify`, `hello`.
    pub function: &'static str,
    pub frame_id: u16,
    pub xid: u32,
    /// The station that sent the request (or the hello).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_mac"
    )]
    pub requester: Option<[u8; 6]>,
    /// The device that answered.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_mac"
    )]
    pub responder: Option<[u8; 6]>,
    /// Response status: `success` or `not_supported`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// Identify filter, get options or set values of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<Box<DcpDevice>>,
    /// What the device answered (identify/get response, hello).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<Box<DcpDevice>>,
    /// Set results that are not `ok`: `option:error`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    pub request: bool,
    pub response: bool,
}

impl DcpTransaction {
    /// A set that changes the device's configuration (name, IP, DHCP, factory
    /// reset...), not only transaction control or a signal (flash the LED).
    pub fn is_configuration_change(&self) -> bool {
        self.function_code == super::dcp::SERVICE_SET
            && self.query.as_ref().is_some_and(|q| {
                q.options.iter().any(|o| {
                    !matches!(
                        *o,
                        "start_transaction" | "end_transaction" | "signal" | "response"
                    )
                })
            })
    }
}

impl crate::ProtoRecord for DcpTransaction {
    fn operation(&self) -> crate::Operation {
        use crate::Operation;
        match self.function_code {
            super::dcp::SERVICE_SET if self.is_configuration_change() => Operation::Engineering,
            super::dcp::SERVICE_GET | super::dcp::SERVICE_IDENTIFY => Operation::Read,
            _ => Operation::Other,
        }
    }
    fn function_code(&self) -> Option<u32> {
        Some(u32::from(self.function_code))
    }
    fn function(&self) -> Option<&str> {
        Some(self.function)
    }
}

/// One stream of RT frames from a device (one frame id).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RtStream {
    pub frame_id: u16,
    /// `rt_class_1`, `rt_class_2`, `rt_class_3`, `alarm_high`, `alarm_low`,
    /// `time_sync`, `ptcp_sync`, `ptcp_delay`, `fragmentation`, `reserved`.
    pub class: &'static str,
    #[serde(serialize_with = "ser_mac")]
    pub dst_mac: [u8; 6],
    pub frames: u64,
    /// Octets after the frame id (last frame).
    pub length: usize,
    /// Cyclic frames: data status flags seen.
    #[serde(skip_serializing_if = "is_zero")]
    pub invalid_frames: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub provider_stop_frames: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub station_problem_frames: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub backup_frames: u64,
    /// Alarm frames: notifications (DATA with an alarm block) and ACKs.
    #[serde(skip_serializing_if = "is_zero")]
    pub alarm_notifications: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub alarm_acks: u64,
    /// Alarm ERR PDUs (the alarm channel or the AR was aborted).
    #[serde(skip_serializing_if = "is_zero")]
    pub alarm_errors: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// An alarm notification (process/diagnosis/pull/plug...) from an RT alarm frame.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RtAlarm {
    pub alarm_type: u16,
    /// `diagnosis`, `process`, `pull`, `plug`, ...
    pub alarm: &'static str,
    /// `high` or `low` priority.
    pub priority: &'static str,
    pub api: u32,
    pub slot: u16,
    pub subslot: u16,
    pub module_ident: u32,
    pub submodule_ident: u32,
    pub sequence: u16,
}

/// Profinet RT traffic of one device: `kind = summary` at the end of the capture
/// (frames counted per frame id), or `kind = alarm` for an alarm notification.
/// Serialised under `profinet_rt`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RtRecord {
    /// `summary` or `alarm`.
    pub kind: &'static str,
    /// `rt_summary` or `alarm`.
    pub function: &'static str,
    #[serde(serialize_with = "ser_mac")]
    pub src_mac: [u8; 6],
    pub frames: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<RtStream>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm: Option<Box<RtAlarm>>,
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl crate::ProtoRecord for RtRecord {
    fn function(&self) -> Option<&str> {
        Some(self.function)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn records_stay_small() {
        assert!(std::mem::size_of::<super::DcpTransaction>() <= 200);
        assert!(std::mem::size_of::<super::RtRecord>() <= 200);
    }
}
