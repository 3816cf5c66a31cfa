//! PROFINET RT frame ids, cyclic data status and alarm (RTA) PDUs.
use super::record::RtAlarm;

/// Class of a frame id.
pub fn class(frame_id: u16) -> &'static str {
    match frame_id {
        0x0000..=0x00ff => "time_sync",
        0x0100..=0x7fff => "rt_class_3",
        0x8000..=0xbfff => "rt_class_2",
        0xc000..=0xfbff => "rt_class_1",
        0xfc01 => "alarm_high",
        0xfe01 => "alarm_low",
        0xfefc..=0xfeff => "dcp",
        0xff00..=0xff3f => "ptcp_sync",
        0xff40..=0xff43 => "ptcp_delay",
        0xff80..=0xff8f => "fragmentation",
        _ => "reserved",
    }
}

/// Is this a cyclic (RT class 1-3) frame id?
pub fn is_cyclic(frame_id: u16) -> bool {
    (0x0100..=0xfbff).contains(&frame_id)
}

/// The APDU status closing a cyclic frame: cycle counter, data status,
/// transfer status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApduStatus {
    pub cycle_counter: u16,
    pub data_status: u8,
    pub transfer_status: u8,
}

impl ApduStatus {
    /// The last four octets of a cyclic frame's data.
    pub fn parse(data: &[u8]) -> Option<ApduStatus> {
        let n = data.len();
        let t = data.get(n.checked_sub(4)?..)?;
        Some(ApduStatus {
            cycle_counter: u16::from_be_bytes([t[0], t[1]]),
            data_status: t[2],
            transfer_status: t[3],
        })
    }
    /// State bit: primary (true) or backup.
    pub fn primary(&self) -> bool {
        self.data_status & 0x01 != 0
    }
    pub fn data_valid(&self) -> bool {
        self.data_status & 0x04 != 0
    }
    /// Provider state: run (true) or stop.
    pub fn run(&self) -> bool {
        self.data_status & 0x10 != 0
    }
    /// Station problem indicator: normal (true) or problem.
    pub fn station_ok(&self) -> bool {
        self.data_status & 0x20 != 0
    }
}

/// Name of an alarm type.
pub fn alarm_name(t: u16) -> &'static str {
    match t {
        0x0001 => "diagnosis",
        0x0002 => "process",
        0x0003 => "pull",
        0x0004 => "plug",
        0x0005 => "status",
        0x0006 => "update",
        0x0007 => "redundancy",
        0x0008 => "controlled_by_supervisor",
        0x0009 => "released",
        0x000a => "plug_wrong_submodule",
        0x000b => "return_of_submodule",
        0x000c => "diagnosis_disappears",
        0x000d => "multicast_communication_mismatch",
        0x000e => "port_data_change",
        0x000f => "sync_data_changed",
        0x0010 => "isochronous_mode_problem",
        0x0011 => "network_component_problem",
        0x0012 => "time_data_changed",
        0x0013 => "dynamic_frame_packing_problem",
        0x0014 => "mrpd_problem",
        0x0016 => "upload_and_retrieval",
        0x001f => "pull_module",
        _ => "unknown",
    }
}

/// RTA PDU types (low nibble of PDUType).
pub const RTA_DATA: u8 = 1;
pub const RTA_ACK: u8 = 3;
pub const RTA_ERR: u8 = 4;

/// What an alarm frame (after the frame id) carries: its PDU type and, for a DATA
/// PDU with an alarm notification block, the alarm.
pub fn alarm(data: &[u8], frame_id: u16) -> (Option<u8>, Option<RtAlarm>) {
    // AlarmDstEndpoint(2) AlarmSrcEndpoint(2) PDUType(1) AddFlags(1)
    // SendSeqNum(2) AckSeqNum(2) VarPartLen(2)
    let Some(h) = data.get(..12) else {
        return (None, None);
    };
    let pdu_type = h[4] & 0x0f;
    let var_len = usize::from(u16::from_be_bytes([h[10], h[11]]));
    if pdu_type != RTA_DATA || var_len == 0 {
        return (Some(pdu_type), None);
    }
    let Some(b) = data.get(12..12 + var_len.min(data.len().saturating_sub(12))) else {
        return (Some(pdu_type), None);
    };
    // BlockType(2) BlockLength(2) Version(2) AlarmType(2) API(4) Slot(2)
    // Subslot(2) ModuleIdent(4) SubmoduleIdent(4) AlarmSpecifier(2)
    let Some(a) = b.get(..26) else {
        return (Some(pdu_type), None);
    };
    let block_type = u16::from_be_bytes([a[0], a[1]]);
    if block_type != 0x0001 && block_type != 0x0002 {
        return (Some(pdu_type), None);
    }
    let u16_at = |i: usize| u16::from_be_bytes([a[i], a[i + 1]]);
    let u32_at = |i: usize| u32::from_be_bytes([a[i], a[i + 1], a[i + 2], a[i + 3]]);
    let alarm_type = u16_at(6);
    (
        Some(pdu_type),
        Some(RtAlarm {
            alarm_type,
            alarm: alarm_name(alarm_type),
            priority: if frame_id == 0xfc01 || block_type == 0x0001 {
                "high"
            } else {
                "low"
            },
            api: u32_at(8),
            slot: u16_at(12),
            subslot: u16_at(14),
            module_ident: u32_at(16),
            submodule_ident: u32_at(20),
            sequence: u16_at(24) & 0x07ff,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_status() {
        assert_eq!(class(0xc002), "rt_class_1");
        assert_eq!(class(0x8001), "rt_class_2");
        assert_eq!(class(0xff40), "ptcp_delay");
        assert_eq!(class(0xfe01), "alarm_low");
        assert_eq!(class(0xff8d), "fragmentation");
        // mixed-1 frame 486: cycle 8192, data status 0x15 (valid, primary, problem, run)
        let s = ApduStatus::parse(&[0xaa, 0x20, 0x00, 0x15, 0x00]).unwrap();
        assert_eq!(s.cycle_counter, 0x2000);
        assert!(s.primary() && s.data_valid() && s.run() && !s.station_ok());
        assert!(ApduStatus::parse(&[1, 2, 3]).is_none());
    }

    #[test]
    fn alarm_notification() {
        let mut f = vec![0, 1, 0, 2, 0x11, 0, 0, 5, 0, 0, 0, 26];
        f.extend_from_slice(&[0x00, 0x02, 0x00, 0x18, 1, 0, 0x00, 0x03]);
        f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0x80, 0x01]);
        f.extend_from_slice(&[0, 0, 0, 0x20, 0, 0, 0, 0x01, 0x08, 0x05]);
        let (t, a) = alarm(&f, 0xfe01);
        assert_eq!(t, Some(RTA_DATA));
        let a = a.unwrap();
        assert_eq!(
            (a.alarm, a.priority, a.slot, a.subslot, a.sequence),
            ("pull", "low", 1, 0x8001, 5)
        );
        assert_eq!(alarm(&f[..5], 0xfe01), (None, None));
    }
}
