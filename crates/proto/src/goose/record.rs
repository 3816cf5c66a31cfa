//! The GOOSE event record.
use crate::mms::data::Value;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// Most `allData` values kept in a state-change event.
pub const MAX_VALUES: usize = 16;

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_string(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

pub(crate) fn ser_mac<S: Serializer>(m: &[u8; 6], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&mac_string(m))
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One GOOSE event: a publisher's new state (`kind = state_change`, the first
/// message seen of a publisher and every stNum change) or its summary at the end
/// of the capture (`kind = summary`). Serialised under `goose` in events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// `state_change` or `summary`.
    pub kind: &'static str,
    /// Always `goose` (GOOSE has no request/response function).
    pub function: &'static str,
    #[serde(serialize_with = "ser_mac")]
    pub src_mac: [u8; 6],
    #[serde(serialize_with = "ser_mac")]
    pub dst_mac: [u8; 6],
    pub appid: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gocb_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dat_set: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub st_num: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sq_num: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conf_rev: Option<u32>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub state: Option<Box<State>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Box<Summary>>,
}

/// The message fields of a state-change event.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct State {
    /// Length field of the header.
    pub length: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_allowed_to_live: Option<u64>,
    /// Event time `t` (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_quality: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulation: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nds_com: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_dat_set_entries: Option<u32>,
    /// `allData` members.
    pub data_count: usize,
    /// `allData` members by type.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub data_types: BTreeMap<&'static str, u32>,
    /// The first [`MAX_VALUES`] members.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// The stNum went backwards (possible replay or injection).
    #[serde(skip_serializing_if = "is_false")]
    pub st_num_regression: bool,
}

/// A publisher's counters at the end of the capture.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub frames: u64,
    pub state_changes: u64,
    /// Messages whose sqNum skipped ahead (lost messages).
    pub sq_num_gaps: u64,
    /// Messages whose sqNum went backwards without a state change.
    pub sq_num_regressions: u64,
    /// State changes whose stNum went backwards.
    pub st_num_regressions: u64,
    /// Messages that came later than the previous one's timeAllowedtoLive.
    pub ttl_expired: u64,
    /// Messages with the simulation/test flag set.
    pub simulation_frames: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_st_num: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_st_num: Option<u32>,
}

impl crate::ProtoRecord for Transaction {
    fn function(&self) -> Option<&str> {
        Some(self.function)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn record_stays_small() {
        assert!(std::mem::size_of::<super::Transaction>() <= 200);
    }
}
