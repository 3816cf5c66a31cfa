//! Names of BACnet/IP BVLC functions, network layer messages, APDU types, services,
//! reasons, error classes, enumerations and vendors (ANSI/ASHRAE 135, Annex J).
//!
//! Services, BVLC functions and PDU types are `snake_case` (they are event
//! `function` names, uniform across protocols); object types, properties and
//! error codes keep the standard's hyphenated identifiers (`analog-input`,
//! `present-value`), as Zeek and Wireshark print them.
use super::tables;
use std::sync::OnceLock;

pub fn bvlc_function_name(f: u8) -> &'static str {
    match f {
        0x00 => "bvlc_result",
        0x01 => "write_broadcast_distribution_table",
        0x02 => "read_broadcast_distribution_table",
        0x03 => "read_broadcast_distribution_table_ack",
        0x04 => "forwarded_npdu",
        0x05 => "register_foreign_device",
        0x06 => "read_foreign_device_table",
        0x07 => "read_foreign_device_table_ack",
        0x08 => "delete_foreign_device_table_entry",
        0x09 => "distribute_broadcast_to_network",
        0x0A => "original_unicast_npdu",
        0x0B => "original_broadcast_npdu",
        0x0C => "secure_bvll",
        _ => "unknown",
    }
}

/// BVLC-Result code name.
pub fn result_name(code: u16) -> &'static str {
    match code {
        0x0000 => "successful_completion",
        0x0010 => "write_broadcast_distribution_table_nak",
        0x0020 => "read_broadcast_distribution_table_nak",
        0x0030 => "register_foreign_device_nak",
        0x0040 => "read_foreign_device_table_nak",
        0x0050 => "delete_foreign_device_table_entry_nak",
        0x0060 => "distribute_broadcast_to_network_nak",
        _ => "unknown",
    }
}

pub fn network_message_name(t: u8) -> &'static str {
    match t {
        0x00 => "who_is_router_to_network",
        0x01 => "i_am_router_to_network",
        0x02 => "i_could_be_router_to_network",
        0x03 => "reject_message_to_network",
        0x04 => "router_busy_to_network",
        0x05 => "router_available_to_network",
        0x06 => "initialize_routing_table",
        0x07 => "initialize_routing_table_ack",
        0x08 => "establish_connection_to_network",
        0x09 => "disconnect_connection_to_network",
        0x0A => "challenge_request",
        0x0B => "security_payload",
        0x0C => "security_response",
        0x0D => "request_key_update",
        0x0E => "update_key_set",
        0x0F => "update_distribution_key",
        0x10 => "request_master_key",
        0x11 => "set_master_key",
        0x12 => "what_is_network_number",
        0x13 => "network_number_is",
        0x80..=0xFF => "proprietary",
        _ => "reserved",
    }
}

pub fn pdu_type_name(t: u8) -> &'static str {
    match t {
        0 => "confirmed_request",
        1 => "unconfirmed_request",
        2 => "simple_ack",
        3 => "complex_ack",
        4 => "segment_ack",
        5 => "error",
        6 => "reject",
        7 => "abort",
        _ => "reserved",
    }
}

pub fn confirmed_service_name(s: u8) -> &'static str {
    const N: [&str; 34] = [
        "acknowledge_alarm",
        "confirmed_cov_notification",
        "confirmed_event_notification",
        "get_alarm_summary",
        "get_enrollment_summary",
        "subscribe_cov",
        "atomic_read_file",
        "atomic_write_file",
        "add_list_element",
        "remove_list_element",
        "create_object",
        "delete_object",
        "read_property",
        "read_property_conditional",
        "read_property_multiple",
        "write_property",
        "write_property_multiple",
        "device_communication_control",
        "confirmed_private_transfer",
        "confirmed_text_message",
        "reinitialize_device",
        "vt_open",
        "vt_close",
        "vt_data",
        "authenticate",
        "request_key",
        "read_range",
        "life_safety_operation",
        "subscribe_cov_property",
        "get_event_information",
        "subscribe_cov_property_multiple",
        "confirmed_cov_notification_multiple",
        "confirmed_audit_notification",
        "audit_log_query",
    ];
    N.get(usize::from(s)).copied().unwrap_or("unknown")
}

pub fn unconfirmed_service_name(s: u8) -> &'static str {
    const N: [&str; 15] = [
        "i_am",
        "i_have",
        "unconfirmed_cov_notification",
        "unconfirmed_event_notification",
        "unconfirmed_private_transfer",
        "unconfirmed_text_message",
        "time_synchronization",
        "who_has",
        "who_is",
        "utc_time_synchronization",
        "write_group",
        "unconfirmed_cov_notification_multiple",
        "unconfirmed_audit_notification",
        "who_am_i",
        "you_are",
    ];
    N.get(usize::from(s)).copied().unwrap_or("unknown")
}

pub fn reject_reason_name(r: u8) -> &'static str {
    match r {
        0 => "other",
        1 => "buffer-overflow",
        2 => "inconsistent-parameters",
        3 => "invalid-parameter-data-type",
        4 => "invalid-tag",
        5 => "missing-required-parameter",
        6 => "parameter-out-of-range",
        7 => "too-many-arguments",
        8 => "undefined-enumeration",
        9 => "unrecognized-service",
        10 => "invalid-data-encoding",
        64..=255 => "proprietary",
        _ => "reserved",
    }
}

pub fn abort_reason_name(r: u8) -> &'static str {
    match r {
        0 => "other",
        1 => "buffer-overflow",
        2 => "invalid-apdu-in-this-state",
        3 => "preempted-by-higher-priority-task",
        4 => "segmentation-not-supported",
        5 => "security-error",
        6 => "insufficient-security",
        7 => "window-size-out-of-range",
        8 => "application-exceeded-reply-time",
        9 => "out-of-resources",
        10 => "tsm-timeout",
        11 => "apdu-too-long",
        64..=255 => "proprietary",
        _ => "reserved",
    }
}

pub fn error_class_name(c: u32) -> &'static str {
    match c {
        0 => "device",
        1 => "object",
        2 => "property",
        3 => "resources",
        4 => "security",
        5 => "services",
        6 => "vt",
        7 => "communication",
        64.. => "proprietary",
        _ => "reserved",
    }
}

fn lookup(table: &'static [(u32, &'static str)], v: u32) -> Option<&'static str> {
    table
        .binary_search_by_key(&v, |&(k, _)| k)
        .ok()
        .and_then(|i| table.get(i))
        .map(|&(_, n)| n)
}

pub fn error_code_name(c: u32) -> &'static str {
    lookup(tables::ERROR_CODES, c).unwrap_or(if c >= 256 { "proprietary" } else { "reserved" })
}

pub fn object_type_name(t: u16) -> &'static str {
    tables::OBJECT_TYPES
        .get(usize::from(t))
        .copied()
        .unwrap_or(if t >= 128 { "proprietary" } else { "reserved" })
}

pub fn property_name(p: u32) -> &'static str {
    lookup(tables::PROPERTIES, p).unwrap_or(if (512..=4_194_303).contains(&p) {
        "proprietary"
    } else {
        "unknown"
    })
}

pub fn segmentation_name(s: u32) -> &'static str {
    match s {
        0 => "segmented-both",
        1 => "segmented-transmit",
        2 => "segmented-receive",
        3 => "no-segmentation",
        _ => "unknown",
    }
}

pub fn reinitialize_state_name(s: u32) -> &'static str {
    match s {
        0 => "coldstart",
        1 => "warmstart",
        2 => "start-backup",
        3 => "end-backup",
        4 => "start-restore",
        5 => "end-restore",
        6 => "abort-restore",
        7 => "activate-changes",
        _ => "unknown",
    }
}

pub fn enable_disable_name(s: u32) -> &'static str {
    match s {
        0 => "enable",
        1 => "disable",
        2 => "disable-initiation",
        _ => "unknown",
    }
}

const VENDORS_TSV: &str = include_str!("vendors.tsv");

fn vendor_table() -> &'static [(u16, &'static str)] {
    static TABLE: OnceLock<Vec<(u16, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut v: Vec<(u16, &'static str)> = VENDORS_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (id, name) = l.split_once('\t')?;
                Some((id.trim().parse().ok()?, name.trim()))
            })
            .collect();
        v.sort_by_key(|&(id, _)| id);
        v
    })
}

/// ASHRAE vendor name of a vendor identifier (from `vendors.tsv`; ids the list
/// marks reserved have none).
pub fn vendor_name(id: u16) -> Option<&'static str> {
    let t = vendor_table();
    t.binary_search_by_key(&id, |&(i, _)| i)
        .ok()
        .and_then(|i| t.get(i))
        .map(|&(_, n)| n)
        .filter(|n| !n.starts_with("Reserved"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(vendor_name(0), Some("ASHRAE"));
        assert!(vendor_table().len() > 1000);
        assert_eq!(object_type_name(8), "device");
        assert_eq!(object_type_name(999), "proprietary");
        assert_eq!(property_name(85), "present-value");
        assert_eq!(property_name(73), "number-of-apdu-retries");
        assert_eq!(property_name(600), "proprietary");
        assert_eq!(error_code_name(26), "password-failure");
        assert_eq!(confirmed_service_name(12), "read_property");
        assert_eq!(unconfirmed_service_name(8), "who_is");
        assert_eq!(confirmed_service_name(200), "unknown");
    }
}
