//! Names of DNP3 codes: application functions, link functions, IIN bits.
//!
//! Names are stable `snake_case` strings: they are part of the event contract.

/// Name of an application-layer function code (IEEE 1815-2012, table 4-1).
pub fn function_name(fc: u8) -> &'static str {
    match fc {
        0 => "confirm",
        1 => "read",
        2 => "write",
        3 => "select",
        4 => "operate",
        5 => "direct_operate",
        6 => "direct_operate_no_ack",
        7 => "immediate_freeze",
        8 => "immediate_freeze_no_ack",
        9 => "freeze_clear",
        10 => "freeze_clear_no_ack",
        11 => "freeze_at_time",
        12 => "freeze_at_time_no_ack",
        13 => "cold_restart",
        14 => "warm_restart",
        15 => "initialize_data",
        16 => "initialize_application",
        17 => "start_application",
        18 => "stop_application",
        19 => "save_configuration",
        20 => "enable_unsolicited",
        21 => "disable_unsolicited",
        22 => "assign_class",
        23 => "delay_measure",
        24 => "record_current_time",
        25 => "open_file",
        26 => "close_file",
        27 => "delete_file",
        28 => "get_file_info",
        29 => "authenticate_file",
        30 => "abort_file",
        31 => "activate_config",
        32 => "authenticate_request",
        33 => "authenticate_request_no_ack",
        129 => "response",
        130 => "unsolicited_response",
        131 => "authenticate_response",
        _ => "unknown",
    }
}

/// True for the function codes IEEE 1815 defines (requests 0-33, responses 129-131).
pub fn is_known_function(fc: u8) -> bool {
    fc <= 33 || (129..=131).contains(&fc)
}

/// True for the response function codes (response, unsolicited response,
/// authenticate response).
pub fn is_response_function(fc: u8) -> bool {
    (129..=131).contains(&fc)
}

/// Name of a link-layer function; `primary` is the PRM bit of the control byte.
pub fn link_function_name(primary: bool, func: u8) -> &'static str {
    if primary {
        match func {
            0 => "reset_link_states",
            1 => "reset_user_process",
            2 => "test_link_states",
            3 => "confirmed_user_data",
            4 => "unconfirmed_user_data",
            9 => "request_link_status",
            _ => "link_reserved",
        }
    } else {
        match func {
            0 => "ack",
            1 => "nack",
            11 => "link_status",
            14 => "link_not_functioning",
            15 => "link_not_supported",
            _ => "link_reserved",
        }
    }
}

/// IIN bit names, indexed by bit number of the 16-bit IIN value as transmitted
/// (`iin = IIN1 << 8 | IIN2`): bits 8..15 are IIN1.0..IIN1.7, bits 0..7 IIN2.0..IIN2.7.
const IIN_NAMES: [(u16, &str); 16] = [
    (0x0100, "all_stations"),
    (0x0200, "class_1_events"),
    (0x0400, "class_2_events"),
    (0x0800, "class_3_events"),
    (0x1000, "need_time"),
    (0x2000, "local_control"),
    (0x4000, "device_trouble"),
    (0x8000, "device_restart"),
    (0x0001, "no_func_code_support"),
    (0x0002, "object_unknown"),
    (0x0004, "parameter_error"),
    (0x0008, "event_buffer_overflow"),
    (0x0010, "already_executing"),
    (0x0020, "config_corrupt"),
    (0x0040, "reserved_2"),
    (0x0080, "reserved_1"),
];

/// Names of the IIN bits set in `iin` (`IIN1 << 8 | IIN2`), IIN1 first.
pub fn iin_flag_names(iin: u16) -> impl Iterator<Item = &'static str> + Clone {
    IIN_NAMES
        .iter()
        .filter(move |(mask, _)| iin & mask != 0)
        .map(|(_, name)| *name)
}

/// Names of the IIN bits set in `iin`, collected.
pub fn iin_flags(iin: u16) -> Vec<&'static str> {
    iin_flag_names(iin).collect()
}

/// Name of a CROB operation type (low nibble of the control code).
pub fn crob_op_name(op: u8) -> &'static str {
    match op {
        0 => "nul",
        1 => "pulse_on",
        2 => "pulse_off",
        3 => "latch_on",
        4 => "latch_off",
        _ => "undefined",
    }
}

/// Name of a CROB trip/close code (two high bits of the control code).
pub fn crob_tcc_name(tcc: u8) -> &'static str {
    match tcc {
        0 => "nul",
        1 => "close",
        2 => "trip",
        _ => "reserved",
    }
}

/// Name of a control status code (CROB / analog output block status).
pub fn control_status_name(status: u8) -> &'static str {
    match status {
        0 => "success",
        1 => "timeout",
        2 => "no_select",
        3 => "format_error",
        4 => "not_supported",
        5 => "already_active",
        6 => "hardware_error",
        7 => "local",
        8 => "too_many_objs",
        9 => "not_authorized",
        10 => "automation_inhibit",
        11 => "processing_limited",
        12 => "out_of_range",
        13 => "downstream_local",
        14 => "already_complete",
        15 => "blocked",
        16 => "canceled",
        17 => "blocked_other_master",
        18 => "downstream_fail",
        126 => "non_participating",
        _ => "undefined",
    }
}

/// Name of a g0 device attribute variation, when it is one of the well-known ones.
pub fn attribute_name(variation: u8) -> Option<&'static str> {
    Some(match variation {
        209 => "secure_authentication_version",
        210 => "number_of_security_statistics",
        211 => "user_specific_attributes",
        212 => "master_data_set_prototypes",
        213 => "outstation_data_set_prototypes",
        214 => "master_data_sets",
        215 => "outstation_data_sets",
        216 => "max_binary_outputs_per_request",
        217 => "local_timing_accuracy",
        218 => "duration_of_time_accuracy",
        219 => "analog_output_events_supported",
        220 => "max_analog_output_index",
        221 => "number_of_analog_outputs",
        222 => "binary_output_events_supported",
        223 => "max_binary_output_index",
        224 => "number_of_binary_outputs",
        225 => "frozen_counter_events_supported",
        226 => "frozen_counters_supported",
        227 => "counter_events_supported",
        228 => "max_counter_index",
        229 => "number_of_counters",
        230 => "frozen_analog_inputs_supported",
        231 => "analog_input_events_supported",
        232 => "max_analog_input_index",
        233 => "number_of_analog_inputs",
        234 => "double_bit_input_events_supported",
        235 => "max_double_bit_input_index",
        236 => "number_of_double_bit_inputs",
        237 => "binary_input_events_supported",
        238 => "max_binary_input_index",
        239 => "number_of_binary_inputs",
        240 => "max_transmit_fragment_size",
        241 => "max_receive_fragment_size",
        242 => "software_version",
        243 => "hardware_version",
        245 => "location",
        246 => "device_id",
        247 => "device_name",
        248 => "serial_number",
        249 => "subset_and_conformance",
        250 => "product_name_and_model",
        252 => "manufacturer_name",
        254 => "all_attributes",
        255 => "attribute_list",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iin_names_follow_wire_order() {
        // 0x9002: IIN1 = 0x90 (device_restart, need_time), IIN2 = 0x02 (object_unknown).
        assert_eq!(
            iin_flags(0x9002),
            vec!["need_time", "device_restart", "object_unknown"]
        );
        assert!(iin_flags(0).is_empty());
    }

    #[test]
    fn function_names() {
        assert_eq!(function_name(5), "direct_operate");
        assert_eq!(function_name(129), "response");
        assert_eq!(function_name(200), "unknown");
        assert!(is_known_function(33));
        assert!(!is_known_function(34));
        assert!(is_response_function(130));
    }
}
