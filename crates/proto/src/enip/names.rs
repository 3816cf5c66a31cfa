//! Names of EtherNet/IP encapsulation commands and statuses, CPF items, CIP services,
//! classes, general and extended statuses, device types, data types and vendors.
//!
//! Names are `snake_case` and stable: they are part of the event contract. Numbers
//! and meanings come from the CIP specification (ODVA, Vol. 1 and Vol. 2), the
//! Logix tag services from Rockwell's "Logix 5000 Controllers Data Access" manual.
use std::sync::OnceLock;

/// Encapsulation command name.
pub fn command_name(cmd: u16) -> &'static str {
    match cmd {
        0x0000 => "nop",
        0x0004 => "list_services",
        0x0063 => "list_identity",
        0x0064 => "list_interfaces",
        0x0065 => "register_session",
        0x0066 => "unregister_session",
        0x006F => "send_rr_data",
        0x0070 => "send_unit_data",
        0x0072 => "indicate_status",
        0x0073 => "cancel",
        0x00C8 => "start_dtls",
        _ => "unknown",
    }
}

/// Commands defined by the specification (the probe and the framer accept these).
pub fn is_known_command(cmd: u16) -> bool {
    command_name(cmd) != "unknown"
}

/// Encapsulation status name.
pub fn encap_status_name(status: u32) -> &'static str {
    match status {
        0x0000 => "success",
        0x0001 => "invalid_command",
        0x0002 => "no_memory_resources",
        0x0003 => "incorrect_data",
        0x0064 => "invalid_session_handle",
        0x0065 => "invalid_length",
        0x0069 => "unsupported_protocol_revision",
        0x006A => "encapsulated_cip_not_allowed",
        _ => "unknown",
    }
}

/// Common Packet Format item type name.
pub fn cpf_item_name(ty: u16) -> &'static str {
    match ty {
        0x0000 => "null_address",
        0x000C => "cip_identity",
        0x0086 => "cip_security_information",
        0x0087 => "enip_capability",
        0x0088 => "enip_usage",
        0x00A1 => "connected_address",
        0x00B1 => "connected_data",
        0x00B2 => "unconnected_data",
        0x0100 => "list_services_response",
        0x8000 => "sockaddr_info_o_t",
        0x8001 => "sockaddr_info_t_o",
        0x8002 => "sequenced_address",
        0x8003 => "unconnected_message_over_udp",
        _ => "unknown",
    }
}

/// Class of the Connection Manager object (Forward_Open, Unconnected_Send, ...).
pub const CLASS_CONNECTION_MANAGER: u32 = 0x06;
/// Class of the Identity object.
pub const CLASS_IDENTITY: u32 = 0x01;
/// Class of the Logix Symbol object.
pub const CLASS_SYMBOL: u32 = 0x6B;
/// Class of the Logix Template object.
pub const CLASS_TEMPLATE: u32 = 0x6C;
/// Class of the PCCC object.
pub const CLASS_PCCC: u32 = 0x67;

/// Which object-specific service table applies to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceContext {
    /// Connection Manager (class 6).
    ConnectionManager,
    /// A Logix tag: a symbolic path or the Symbol / Template class.
    Tag,
    /// PCCC object (class 0x67).
    Pccc,
    Other,
}

impl ServiceContext {
    pub fn of(class: Option<u32>, symbolic: bool) -> ServiceContext {
        match class {
            Some(CLASS_CONNECTION_MANAGER) => ServiceContext::ConnectionManager,
            Some(CLASS_PCCC) => ServiceContext::Pccc,
            Some(CLASS_SYMBOL | CLASS_TEMPLATE) => ServiceContext::Tag,
            _ if symbolic => ServiceContext::Tag,
            _ => ServiceContext::Other,
        }
    }
}

/// CIP service name (without the response bit). Services 0x4B..=0x63 are object
/// specific, so their name depends on the target: the Connection Manager's, the Logix
/// tag services on symbolic paths, or `class_specific`.
pub fn service_name(service: u8, ctx: ServiceContext) -> &'static str {
    let s = service & 0x7F;
    match s {
        0x01 => "get_attributes_all",
        0x02 => "set_attributes_all",
        0x03 => "get_attribute_list",
        0x04 => "set_attribute_list",
        0x05 => "reset",
        0x06 => "start",
        0x07 => "stop",
        0x08 => "create",
        0x09 => "delete",
        0x0A => "multiple_service_packet",
        0x0D => "apply_attributes",
        0x0E => "get_attribute_single",
        0x10 => "set_attribute_single",
        0x11 => "find_next_object_instance",
        0x14 => "error_response",
        0x15 => "restore",
        0x16 => "save",
        0x17 => "nop",
        0x18 => "get_member",
        0x19 => "set_member",
        0x1A => "insert_member",
        0x1B => "remove_member",
        0x1C => "group_sync",
        0x4B..=0x63 => match (ctx, s) {
            (ServiceContext::ConnectionManager, 0x4E) => "forward_close",
            (ServiceContext::ConnectionManager, 0x52) => "unconnected_send",
            (ServiceContext::ConnectionManager, 0x54) => "forward_open",
            (ServiceContext::ConnectionManager, 0x56) => "get_connection_data",
            (ServiceContext::ConnectionManager, 0x57) => "search_connection_data",
            (ServiceContext::ConnectionManager, 0x5A) => "get_connection_owner",
            (ServiceContext::ConnectionManager, 0x5B) => "large_forward_open",
            (ServiceContext::Tag, 0x4C) => "read_tag",
            (ServiceContext::Tag, 0x4D) => "write_tag",
            (ServiceContext::Tag, 0x4E) => "read_modify_write_tag",
            (ServiceContext::Tag, 0x52) => "read_tag_fragmented",
            (ServiceContext::Tag, 0x53) => "write_tag_fragmented",
            (ServiceContext::Tag, 0x55) => "get_instance_attribute_list",
            (ServiceContext::Pccc, 0x4B) => "execute_pccc",
            _ => "class_specific",
        },
        0x00 | 0x0B | 0x0C | 0x0F | 0x12 | 0x13 | 0x1D..=0x31 => "reserved",
        _ => "unknown",
    }
}

/// General status name.
pub fn general_status_name(status: u8) -> &'static str {
    const NAMES: [&str; 45] = [
        "success",
        "connection_failure",
        "resource_unavailable",
        "invalid_parameter_value",
        "path_segment_error",
        "path_destination_unknown",
        "partial_transfer",
        "connection_lost",
        "service_not_supported",
        "invalid_attribute_value",
        "attribute_list_error",
        "already_in_requested_mode",
        "object_state_conflict",
        "object_already_exists",
        "attribute_not_settable",
        "privilege_violation",
        "device_state_conflict",
        "reply_data_too_large",
        "fragmentation_of_primitive_value",
        "not_enough_data",
        "attribute_not_supported",
        "too_much_data",
        "object_does_not_exist",
        "service_fragmentation_sequence_not_in_progress",
        "no_stored_attribute_data",
        "store_operation_failure",
        "routing_failure_request_too_large",
        "routing_failure_response_too_large",
        "missing_attribute_list_entry_data",
        "invalid_attribute_value_list",
        "embedded_service_error",
        "vendor_specific_error",
        "invalid_parameter",
        "write_once_value_already_written",
        "invalid_reply_received",
        "buffer_overflow",
        "message_format_error",
        "key_failure_in_path",
        "path_size_invalid",
        "unexpected_attribute_in_list",
        "invalid_member_id",
        "member_not_settable",
        "group_2_only_server_general_failure",
        "unknown_modbus_error",
        "attribute_not_gettable",
    ];
    NAMES
        .get(usize::from(status))
        .copied()
        .unwrap_or(if status >= 0xD0 {
            "object_class_specific"
        } else {
            "reserved"
        })
}

/// Connection Manager extended status name (general status 0x01), the common ones.
pub fn cm_extended_status_name(ext: u16) -> Option<&'static str> {
    Some(match ext {
        0x0100 => "connection_in_use_or_duplicate_forward_open",
        0x0103 => "transport_class_and_trigger_not_supported",
        0x0106 => "ownership_conflict",
        0x0107 => "target_connection_not_found",
        0x0108 => "invalid_network_connection_parameter",
        0x0109 => "invalid_connection_size",
        0x0110 => "target_for_connection_not_configured",
        0x0111 => "rpi_not_supported",
        0x0112 => "rpi_value_not_acceptable",
        0x0113 => "out_of_connections",
        0x0114 => "vendor_id_or_product_code_mismatch",
        0x0115 => "device_type_mismatch",
        0x0116 => "revision_mismatch",
        0x0117 => "invalid_produced_or_consumed_application_path",
        0x0118 => "invalid_or_inconsistent_configuration_application_path",
        0x0119 => "non_listen_only_connection_not_opened",
        0x011A => "target_object_out_of_connections",
        0x011B => "rpi_smaller_than_production_inhibit_time",
        0x011C => "transport_class_not_supported",
        0x011D => "production_trigger_not_supported",
        0x011E => "direction_not_supported",
        0x0127 => "invalid_o_t_size",
        0x0128 => "invalid_t_o_size",
        0x0203 => "connection_timed_out",
        0x0204 => "unconnected_request_timed_out",
        0x0205 => "parameter_error_in_unconnected_request",
        0x0206 => "message_too_large_for_unconnected_send",
        0x0207 => "unconnected_acknowledged_without_reply",
        0x0301 => "no_buffer_memory_available",
        0x0302 => "network_bandwidth_not_available",
        0x0303 => "no_consumed_connection_id_filter_available",
        0x0311 => "port_not_available",
        0x0312 => "link_address_not_valid",
        0x0315 => "invalid_segment_in_connection_path",
        0x0316 => "forward_close_connection_path_mismatch",
        0x0318 => "link_address_to_self_invalid",
        0x0319 => "secondary_resources_unavailable",
        0x031A => "rack_connection_already_established",
        0x031B => "module_connection_already_established",
        0x031C => "miscellaneous",
        0x0800 => "network_link_offline",
        _ => return None,
    })
}

/// Class name of the public CIP objects (and the two documented Logix ones).
pub fn class_name(class: u32) -> Option<&'static str> {
    Some(match class {
        0x01 => "identity",
        0x02 => "message_router",
        0x03 => "devicenet",
        0x04 => "assembly",
        0x05 => "connection",
        0x06 => "connection_manager",
        0x07 => "register",
        0x08 => "discrete_input_point",
        0x09 => "discrete_output_point",
        0x0A => "analog_input_point",
        0x0B => "analog_output_point",
        0x0E => "presence_sensing",
        0x0F => "parameter",
        0x10 => "parameter_group",
        0x12 => "group",
        0x1D => "discrete_input_group",
        0x1E => "discrete_output_group",
        0x1F => "discrete_group",
        0x20 => "analog_input_group",
        0x21 => "analog_output_group",
        0x22 => "analog_group",
        0x23 => "position_sensor",
        0x24 => "position_controller_supervisor",
        0x25 => "position_controller",
        0x26 => "block_sequencer",
        0x27 => "command_block",
        0x28 => "motor_data",
        0x29 => "control_supervisor",
        0x2A => "ac_dc_drive",
        0x2B => "acknowledge_handler",
        0x2C => "overload",
        0x2D => "softstart",
        0x2E => "selection",
        0x30 => "s_device_supervisor",
        0x37 => "file",
        0x39 => "safety_supervisor",
        0x3A => "safety_validator",
        0x41 => "event_log",
        0x42 => "motion_device_axis",
        0x43 => "time_sync",
        0x44 => "modbus",
        0x45 => "originator_connection_list",
        0x46 => "modbus_serial_link",
        0x47 => "device_level_ring",
        0x48 => "qos",
        0x4D => "target_connection_list",
        0x4E => "base_energy",
        0x4F => "electrical_energy",
        0x50 => "non_electrical_energy",
        0x51 => "base_switch",
        0x52 => "snmp",
        0x53 => "power_management",
        0x54 => "rstp_bridge",
        0x55 => "rstp_port",
        0x56 => "prp_hsr_protocol",
        0x57 => "prp_hsr_nodes_table",
        0x5D => "cip_security",
        0x5E => "enip_security",
        0x5F => "certificate_management",
        0x60 => "authority",
        0x61 => "password_authenticator",
        0x62 => "certificate_authenticator",
        0x67 => "pccc",
        0x6B => "symbol",
        0x6C => "template",
        0xF0 => "controlnet",
        0xF1 => "controlnet_keeper",
        0xF2 => "controlnet_scheduling",
        0xF3 => "connection_configuration",
        0xF4 => "port",
        0xF5 => "tcp_ip_interface",
        0xF6 => "ethernet_link",
        0xF7 => "componet",
        0xF8 => "componet_repeater",
        0xF9 => "hart_master_port",
        0x109 => "lldp_management",
        0x10A => "lldp_data_table",
        _ => return None,
    })
}

/// Identity object device type name.
pub fn device_type_name(ty: u16) -> &'static str {
    match ty {
        0x00 => "generic_device_deprecated",
        0x02 => "ac_drive",
        0x03 => "motor_overload",
        0x04 => "limit_switch",
        0x05 => "inductive_proximity_switch",
        0x06 => "photoelectric_sensor",
        0x07 => "general_purpose_discrete_io",
        0x09 => "resolver",
        0x0C => "communications_adapter",
        0x0E => "programmable_logic_controller",
        0x10 => "position_controller",
        0x13 => "dc_drive",
        0x15 => "contactor",
        0x16 => "motor_starter",
        0x17 => "soft_start",
        0x18 => "human_machine_interface",
        0x1A => "mass_flow_controller",
        0x1B => "pneumatic_valve",
        0x1C => "vacuum_pressure_gauge",
        0x1D => "process_control_value",
        0x1E => "residual_gas_analyzer",
        0x1F => "dc_power_generator",
        0x20 => "rf_power_generator",
        0x21 => "turbomolecular_vacuum_pump",
        0x22 => "encoder",
        0x23 => "safety_discrete_io",
        0x24 => "fluid_flow_controller",
        0x25 => "cip_motion_drive",
        0x26 => "componet_repeater",
        0x27 => "mass_flow_controller_enhanced",
        0x28 => "cip_modbus_device",
        0x29 => "cip_modbus_translator",
        0x2A => "safety_analog_io",
        0x2B => "generic_device_keyable",
        0x2C => "managed_ethernet_switch",
        0x2D => "cip_motion_safety_drive",
        0x2E => "safety_drive",
        0x2F => "cip_motion_encoder",
        0x30 => "cip_motion_converter",
        0x31 => "cip_motion_io",
        0x32 => "controlnet_physical_layer_component",
        0x33 => "circuit_breaker",
        0x34 => "hart_device",
        0x35 => "cip_hart_translator",
        0xC8 => "embedded_component",
        _ => "unknown",
    }
}

/// Elementary data type name (Logix tag services and CIP elementary types).
pub fn data_type_name(ty: u16) -> &'static str {
    match ty {
        0xA0 => "struct",
        0xC1 => "bool",
        0xC2 => "sint",
        0xC3 => "int",
        0xC4 => "dint",
        0xC5 => "lint",
        0xC6 => "usint",
        0xC7 => "uint",
        0xC8 => "udint",
        0xC9 => "ulint",
        0xCA => "real",
        0xCB => "lreal",
        0xCC => "stime",
        0xCD => "date",
        0xCE => "time_of_day",
        0xCF => "date_and_time",
        0xD0 => "string",
        0xD1 => "byte",
        0xD2 => "word",
        0xD3 => "dword",
        0xD4 => "lword",
        0xDA => "short_string",
        0xDB => "time",
        0xDC => "epath",
        _ => "unknown",
    }
}

/// Size in bytes of one element of a fixed-size elementary data type.
pub fn data_type_size(ty: u16) -> Option<usize> {
    Some(match ty {
        0xC1 | 0xC2 | 0xC6 | 0xD1 => 1,
        0xC3 | 0xC7 | 0xD2 => 2,
        0xC4 | 0xC8 | 0xCA | 0xD3 | 0xCC | 0xCD | 0xCE => 4,
        0xC5 | 0xC9 | 0xCB | 0xD4 | 0xCF => 8,
        _ => return None,
    })
}

/// Connection type of network connection parameters (bits 14-13 / 30-29).
pub fn connection_type_name(t: u8) -> &'static str {
    match t {
        0 => "null",
        1 => "multicast",
        2 => "point_to_point",
        _ => "reserved",
    }
}

/// Production trigger of the transport class/trigger byte (bits 6-4).
pub fn trigger_name(t: u8) -> &'static str {
    match t {
        0 => "cyclic",
        1 => "change_of_state",
        2 => "application_object",
        _ => "reserved",
    }
}

/// Port name of a port segment.
pub fn port_name(port: u16) -> Option<&'static str> {
    match port {
        1 => Some("backplane"),
        2 => Some("a"),
        3 => Some("b"),
        _ => None,
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

/// ODVA vendor name of a vendor id (from `vendors.tsv`).
pub fn vendor_name(id: u16) -> Option<&'static str> {
    let t = vendor_table();
    t.binary_search_by_key(&id, |&(i, _)| i)
        .ok()
        .and_then(|i| t.get(i))
        .map(|&(_, n)| n)
        .filter(|n| *n != "Reserved")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_load() {
        assert_eq!(vendor_name(1), Some("Rockwell Automation/Allen-Bradley"));
        assert_eq!(vendor_name(47), Some("Omron Corporation"));
        assert_eq!(vendor_name(243), Some("Schneider Automation, Inc."));
        assert_eq!(vendor_name(0), None);
        assert!(vendor_table().len() > 1000);
    }

    #[test]
    fn services_depend_on_target() {
        use ServiceContext::*;
        assert_eq!(service_name(0x52, ConnectionManager), "unconnected_send");
        assert_eq!(service_name(0x52, Tag), "read_tag_fragmented");
        assert_eq!(service_name(0xCC, Tag), "read_tag");
        assert_eq!(service_name(0x4C, Other), "class_specific");
        assert_eq!(service_name(0x0E, Other), "get_attribute_single");
        assert_eq!(general_status_name(0x1E), "embedded_service_error");
        assert_eq!(general_status_name(0xFF), "object_class_specific");
        assert_eq!(command_name(0x6F), "send_rr_data");
    }
}
