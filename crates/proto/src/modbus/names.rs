//! Names of Modbus function codes, exception codes, diagnostics sub-functions,
//! MEI types, device identification objects and UMAS (function 90) codes.
//!
//! Names are `snake_case` and stable: they are part of the event contract.

/// Name of every function code byte (0..=255). Public codes get their specification
/// name, the user-defined ranges (65-72, 100-110) `user-defined-NN`, the rest
/// `unknown-NN`. Function 90 is Schneider Electric's UMAS.
static FUNCTION_NAMES: [&str; 256] = [
    "unknown-0",
    "read_coils",
    "read_discrete_inputs",
    "read_holding_registers",
    "read_input_registers",
    "write_single_coil",
    "write_single_register",
    "read_exception_status",
    "diagnostics",
    "unknown-9",
    "unknown-10",
    "get_comm_event_counter",
    "get_comm_event_log",
    "unknown-13",
    "unknown-14",
    "write_multiple_coils",
    "write_multiple_registers",
    "report_server_id",
    "unknown-18",
    "unknown-19",
    "read_file_record",
    "write_file_record",
    "mask_write_register",
    "read_write_multiple_registers",
    "read_fifo_queue",
    "unknown-25",
    "unknown-26",
    "unknown-27",
    "unknown-28",
    "unknown-29",
    "unknown-30",
    "unknown-31",
    "unknown-32",
    "unknown-33",
    "unknown-34",
    "unknown-35",
    "unknown-36",
    "unknown-37",
    "unknown-38",
    "unknown-39",
    "unknown-40",
    "unknown-41",
    "unknown-42",
    "encapsulated_interface_transport",
    "unknown-44",
    "unknown-45",
    "unknown-46",
    "unknown-47",
    "unknown-48",
    "unknown-49",
    "unknown-50",
    "unknown-51",
    "unknown-52",
    "unknown-53",
    "unknown-54",
    "unknown-55",
    "unknown-56",
    "unknown-57",
    "unknown-58",
    "unknown-59",
    "unknown-60",
    "unknown-61",
    "unknown-62",
    "unknown-63",
    "unknown-64",
    "user-defined-65",
    "user-defined-66",
    "user-defined-67",
    "user-defined-68",
    "user-defined-69",
    "user-defined-70",
    "user-defined-71",
    "user-defined-72",
    "unknown-73",
    "unknown-74",
    "unknown-75",
    "unknown-76",
    "unknown-77",
    "unknown-78",
    "unknown-79",
    "unknown-80",
    "unknown-81",
    "unknown-82",
    "unknown-83",
    "unknown-84",
    "unknown-85",
    "unknown-86",
    "unknown-87",
    "unknown-88",
    "unknown-89",
    "umas",
    "unknown-91",
    "unknown-92",
    "unknown-93",
    "unknown-94",
    "unknown-95",
    "unknown-96",
    "unknown-97",
    "unknown-98",
    "unknown-99",
    "user-defined-100",
    "user-defined-101",
    "user-defined-102",
    "user-defined-103",
    "user-defined-104",
    "user-defined-105",
    "user-defined-106",
    "user-defined-107",
    "user-defined-108",
    "user-defined-109",
    "user-defined-110",
    "unknown-111",
    "unknown-112",
    "unknown-113",
    "unknown-114",
    "unknown-115",
    "unknown-116",
    "unknown-117",
    "unknown-118",
    "unknown-119",
    "unknown-120",
    "unknown-121",
    "unknown-122",
    "unknown-123",
    "unknown-124",
    "unknown-125",
    "unknown-126",
    "unknown-127",
    "unknown-128",
    "unknown-129",
    "unknown-130",
    "unknown-131",
    "unknown-132",
    "unknown-133",
    "unknown-134",
    "unknown-135",
    "unknown-136",
    "unknown-137",
    "unknown-138",
    "unknown-139",
    "unknown-140",
    "unknown-141",
    "unknown-142",
    "unknown-143",
    "unknown-144",
    "unknown-145",
    "unknown-146",
    "unknown-147",
    "unknown-148",
    "unknown-149",
    "unknown-150",
    "unknown-151",
    "unknown-152",
    "unknown-153",
    "unknown-154",
    "unknown-155",
    "unknown-156",
    "unknown-157",
    "unknown-158",
    "unknown-159",
    "unknown-160",
    "unknown-161",
    "unknown-162",
    "unknown-163",
    "unknown-164",
    "unknown-165",
    "unknown-166",
    "unknown-167",
    "unknown-168",
    "unknown-169",
    "unknown-170",
    "unknown-171",
    "unknown-172",
    "unknown-173",
    "unknown-174",
    "unknown-175",
    "unknown-176",
    "unknown-177",
    "unknown-178",
    "unknown-179",
    "unknown-180",
    "unknown-181",
    "unknown-182",
    "unknown-183",
    "unknown-184",
    "unknown-185",
    "unknown-186",
    "unknown-187",
    "unknown-188",
    "unknown-189",
    "unknown-190",
    "unknown-191",
    "unknown-192",
    "unknown-193",
    "unknown-194",
    "unknown-195",
    "unknown-196",
    "unknown-197",
    "unknown-198",
    "unknown-199",
    "unknown-200",
    "unknown-201",
    "unknown-202",
    "unknown-203",
    "unknown-204",
    "unknown-205",
    "unknown-206",
    "unknown-207",
    "unknown-208",
    "unknown-209",
    "unknown-210",
    "unknown-211",
    "unknown-212",
    "unknown-213",
    "unknown-214",
    "unknown-215",
    "unknown-216",
    "unknown-217",
    "unknown-218",
    "unknown-219",
    "unknown-220",
    "unknown-221",
    "unknown-222",
    "unknown-223",
    "unknown-224",
    "unknown-225",
    "unknown-226",
    "unknown-227",
    "unknown-228",
    "unknown-229",
    "unknown-230",
    "unknown-231",
    "unknown-232",
    "unknown-233",
    "unknown-234",
    "unknown-235",
    "unknown-236",
    "unknown-237",
    "unknown-238",
    "unknown-239",
    "unknown-240",
    "unknown-241",
    "unknown-242",
    "unknown-243",
    "unknown-244",
    "unknown-245",
    "unknown-246",
    "unknown-247",
    "unknown-248",
    "unknown-249",
    "unknown-250",
    "unknown-251",
    "unknown-252",
    "unknown-253",
    "unknown-254",
    "unknown-255",
];

/// Name of a function code (the exception bit is not stripped: pass `fc & 0x7f`
/// for an exception response).
pub fn function_name(fc: u8) -> &'static str {
    FUNCTION_NAMES[usize::from(fc)]
}

/// Whether the code is one of the public function codes the specification defines.
pub fn is_public_function(fc: u8) -> bool {
    matches!(
        fc,
        1..=8 | 11 | 12 | 15 | 16 | 17 | 20..=24 | 43
    )
}

/// Whether the code falls in a user-defined range (65-72, 100-110).
pub fn is_user_defined_function(fc: u8) -> bool {
    matches!(fc, 65..=72 | 100..=110)
}

/// Name of an exception code.
pub fn exception_name(code: u8) -> &'static str {
    match code {
        0x01 => "illegal_function",
        0x02 => "illegal_data_address",
        0x03 => "illegal_data_value",
        0x04 => "server_device_failure",
        0x05 => "acknowledge",
        0x06 => "server_device_busy",
        0x07 => "negative_acknowledge",
        0x08 => "memory_parity_error",
        0x0A => "gateway_path_unavailable",
        0x0B => "gateway_target_device_failed_to_respond",
        _ => "unknown",
    }
}

/// Name of a diagnostics (function 8) sub-function.
pub fn diagnostic_name(sub: u16) -> &'static str {
    match sub {
        0x00 => "return_query_data",
        0x01 => "restart_communications_option",
        0x02 => "return_diagnostic_register",
        0x03 => "change_ascii_input_delimiter",
        0x04 => "force_listen_only_mode",
        0x0A => "clear_counters_and_diagnostic_register",
        0x0B => "return_bus_message_count",
        0x0C => "return_bus_communication_error_count",
        0x0D => "return_bus_exception_error_count",
        0x0E => "return_server_message_count",
        0x0F => "return_server_no_response_count",
        0x10 => "return_server_nak_count",
        0x11 => "return_server_busy_count",
        0x12 => "return_bus_character_overrun_count",
        0x13 => "return_iop_overrun_count",
        0x14 => "clear_overrun_counter_and_flag",
        0x15 => "get_clear_modbus_plus_statistics",
        _ => "unknown",
    }
}

/// Name of a MEI type (function 43).
pub fn mei_name(mei: u8) -> &'static str {
    match mei {
        0x0D => "canopen_general_reference",
        0x0E => "read_device_identification",
        _ => "unknown",
    }
}

/// Name of a Read Device Identification object id.
pub fn device_object_name(id: u8) -> &'static str {
    match id {
        0x00 => "VendorName",
        0x01 => "ProductCode",
        0x02 => "MajorMinorRevision",
        0x03 => "VendorUrl",
        0x04 => "ProductName",
        0x05 => "ModelName",
        0x06 => "UserApplicationName",
        0x07..=0x7F => "Reserved",
        _ => "Private",
    }
}

/// Name of a UMAS (function 90) function code, the third byte of a UMAS request.
pub fn umas_name(code: u8) -> &'static str {
    match code {
        0x01 => "init_comm",
        0x02 => "read_id",
        0x03 => "read_project_info",
        0x04 => "read_plc_info",
        0x06 => "read_card_info",
        0x0A => "repeat",
        0x10 => "take_plc_reservation",
        0x11 => "release_plc_reservation",
        0x12 => "keep_alive",
        0x20 => "read_memory_block",
        0x22 => "read_variables",
        0x23 => "write_variables",
        0x24 => "read_coils_registers",
        0x25 => "write_coils_registers",
        0x30 => "initialize_upload",
        0x31 => "upload_block",
        0x32 => "end_strategy_upload",
        0x33 => "initialize_download",
        0x34 => "download_block",
        0x35 => "end_strategy_download",
        0x39 => "read_ethernet_master_data",
        0x40 => "start_plc",
        0x41 => "stop_plc",
        0x50 => "monitor_plc",
        0x58 => "check_plc",
        0x70 => "read_io_object",
        0x71 => "write_io_object",
        0x73 => "get_status_module",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names() {
        assert_eq!(function_name(3), "read_holding_registers");
        assert_eq!(function_name(23), "read_write_multiple_registers");
        assert_eq!(function_name(43), "encapsulated_interface_transport");
        assert_eq!(function_name(0), "unknown-0");
        assert_eq!(function_name(29), "unknown-29");
        assert_eq!(function_name(65), "user-defined-65");
        assert_eq!(function_name(110), "user-defined-110");
        assert_eq!(function_name(156), "unknown-156");
        assert_eq!(function_name(255), "unknown-255");
        for fc in 0..=255u8 {
            let n = function_name(fc);
            if !is_public_function(fc) && fc != 90 {
                assert!(n.ends_with(&format!("-{fc}")), "{fc} {n}");
            }
        }
    }

    #[test]
    fn other_names() {
        assert_eq!(exception_name(2), "illegal_data_address");
        assert_eq!(
            exception_name(0x0B),
            "gateway_target_device_failed_to_respond"
        );
        assert_eq!(exception_name(0x09), "unknown");
        assert_eq!(diagnostic_name(4), "force_listen_only_mode");
        assert_eq!(diagnostic_name(0x14), "clear_overrun_counter_and_flag");
        assert_eq!(device_object_name(0), "VendorName");
        assert_eq!(device_object_name(6), "UserApplicationName");
        assert_eq!(device_object_name(0x80), "Private");
        assert_eq!(umas_name(0x41), "stop_plc");
    }
}
