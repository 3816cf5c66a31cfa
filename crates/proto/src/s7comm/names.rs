//! Names of S7comm codes (snake_case, stable: they appear in events and rules).
//! The numbers are the protocol's published values (Siemens S7 communication as
//! documented by the community dissectors); the names are ours.

/// ROSCTR (message type) name.
pub fn rosctr_name(r: u8) -> &'static str {
    match r {
        1 => "job",
        2 => "ack",
        3 => "ack_data",
        7 => "userdata",
        _ => "unknown",
    }
}

/// Parameter function of a job / ack-data.
pub fn function_name(f: u8) -> &'static str {
    match f {
        0x00 => "cpu_services",
        0x04 => "read_var",
        0x05 => "write_var",
        0x1A => "request_download",
        0x1B => "download_block",
        0x1C => "download_ended",
        0x1D => "start_upload",
        0x1E => "upload",
        0x1F => "end_upload",
        0x28 => "pi_service",
        0x29 => "plc_stop",
        0xF0 => "setup_communication",
        _ => "unknown",
    }
}

/// Userdata function group (low nibble of the type/group byte).
pub fn group_name(g: u8) -> &'static str {
    match g {
        0x0 => "mode_transition",
        0x1 => "programmer_commands",
        0x2 => "cyclic_data",
        0x3 => "block_functions",
        0x4 => "cpu_functions",
        0x5 => "security",
        0x6 => "pbc",
        0x7 => "time_functions",
        0xF => "nc_programming",
        _ => "unknown",
    }
}

/// Userdata type (high nibble of the type/group byte).
pub fn userdata_type_name(t: u8) -> &'static str {
    match t {
        0x0 => "push",
        0x4 => "request",
        0x8 => "response",
        0x3 => "nc_push",
        0x7 => "nc_request",
        0xB => "nc_response",
        _ => "unknown",
    }
}

/// Userdata subfunction name within its group.
pub fn subfunction_name(group: u8, sub: u8) -> &'static str {
    match (group, sub) {
        (0x0, 0) => "mode_stop",
        (0x0, 1) => "mode_warm_restart",
        (0x0, 2) => "mode_run",
        (0x0, 3) => "mode_hot_restart",
        (0x0, 4) => "mode_hold",
        (0x0, 6) => "mode_cold_restart",
        (0x0, 9) => "mode_run_redundant",
        (0x0, 11) => "mode_link_up",
        (0x0, 12) => "mode_update",
        (0x1, 1) => "block_status",
        (0x1, 2) => "variable_status",
        (0x1, 3) => "output_istack",
        (0x1, 4) => "output_bstack",
        (0x1, 5) => "output_lstack",
        (0x1, 6) => "time_measurement",
        (0x1, 7) => "force_selection",
        (0x1, 8) => "modify_variable",
        (0x1, 9) => "force",
        (0x1, 10) => "breakpoint",
        (0x1, 11) => "exit_hold",
        (0x1, 12) => "memory_reset",
        (0x1, 13) => "disable_job",
        (0x1, 14) => "enable_job",
        (0x1, 15) => "delete_job",
        (0x1, 16) => "read_job_list",
        (0x1, 17) => "read_job",
        (0x1, 18) => "replace_job",
        (0x1, 19) => "block_status_v2",
        (0x1, 22) => "flash_led",
        (0x2, 1) => "cyclic_transfer",
        (0x2, 4) => "cyclic_unsubscribe",
        (0x2, 5) => "change_driven_transfer",
        (0x2, 7) => "change_driven_transfer_modify",
        (0x2, 8) => "rdrec",
        (0x3, 1) => "list_blocks",
        (0x3, 2) => "list_blocks_of_type",
        (0x3, 3) => "get_block_info",
        (0x4, 1) => "read_szl",
        (0x4, 2) => "message_service",
        (0x4, 3) => "diagnostic_message",
        (0x4, 5) => "alarm8_indication",
        (0x4, 6) => "notify_indication",
        (0x4, 7) => "alarm8_lock",
        (0x4, 8) => "alarm8_unlock",
        (0x4, 9) => "scan_indication",
        (0x4, 11) => "alarm_ack",
        (0x4, 12) => "alarm_ack_indication",
        (0x4, 13) => "alarm_lock_indication",
        (0x4, 14) => "alarm_unlock_indication",
        (0x4, 17) => "alarm_sq_indication",
        (0x4, 18) => "alarm_s_indication",
        (0x4, 19) => "alarm_query",
        (0x4, 22) => "notify8_indication",
        (0x5, 1) => "plc_password",
        (0x5, 2) => "clear_password",
        (0x7, 1) => "read_clock",
        (0x7, 2) => "set_clock",
        (0x7, 3) => "read_clock_following",
        (0x7, 4) => "set_clock_utc",
        (0xF, 1) => "nc_request_download",
        (0xF, 2) => "nc_download_block",
        (0xF, 3) => "nc_continue_download",
        (0xF, 4) => "nc_download_ended",
        (0xF, 6) => "nc_start_upload",
        (0xF, 7) => "nc_upload",
        (0xF, 8) => "nc_continue_upload",
        _ => "unknown",
    }
}

/// Error class of an ack / ack-data header.
pub fn error_class_name(c: u8) -> &'static str {
    match c {
        0x00 => "no_error",
        0x81 => "application_relationship",
        0x82 => "object_definition",
        0x83 => "no_resources",
        0x84 => "service_processing",
        0x85 => "supplies",
        0x87 => "access",
        _ => "unknown",
    }
}

/// Return code of a data item.
pub fn return_code_name(r: u8) -> &'static str {
    match r {
        0x00 => "reserved",
        0x01 => "hardware_error",
        0x03 => "access_denied",
        0x05 => "invalid_address",
        0x06 => "data_type_not_supported",
        0x07 => "data_type_inconsistent",
        0x0A => "object_does_not_exist",
        0xFF => "success",
        _ => "unknown",
    }
}

/// Transport size of a request item (the variable's type).
pub fn transport_size_name(t: u8) -> &'static str {
    match t {
        0x01 => "bit",
        0x02 => "byte",
        0x03 => "char",
        0x04 => "word",
        0x05 => "int",
        0x06 => "dword",
        0x07 => "dint",
        0x08 => "real",
        0x09 => "date",
        0x0A => "tod",
        0x0B => "time",
        0x0C => "s5time",
        0x0F => "date_and_time",
        0x1C => "counter",
        0x1D => "timer",
        0x1E => "iec_timer",
        0x1F => "iec_counter",
        0x20 => "hs_counter",
        _ => "unknown",
    }
}

/// Bytes one element of a request item's transport size takes.
pub fn element_size(t: u8) -> Option<usize> {
    Some(match t {
        0x01..=0x03 => 1,
        0x04 | 0x05 | 0x09 | 0x0C | 0x1C | 0x1D => 2,
        0x06..=0x08 | 0x0A | 0x0B => 4,
        0x0F => 8,
        _ => return None,
    })
}

/// Memory area of an S7ANY item: (code letter(s) used in addresses, name).
pub fn area_name(a: u8) -> &'static str {
    match a {
        0x01 => "data_record",
        0x03 => "sysinfo_200",
        0x05 => "sysflags_200",
        0x06 => "analog_inputs_200",
        0x07 => "analog_outputs_200",
        0x1C => "counters",
        0x1D => "timers",
        0x1E => "iec_counters_200",
        0x1F => "iec_timers_200",
        0x80 => "peripheral",
        0x81 => "inputs",
        0x82 => "outputs",
        0x83 => "flags",
        0x84 => "data_blocks",
        0x85 => "instance_data_blocks",
        0x86 => "local_data",
        0x87 => "previous_local_data",
        _ => "unknown",
    }
}

/// Syntax id of a request item.
pub fn syntax_name(s: u8) -> &'static str {
    match s {
        0x10 => "s7any",
        0x13 => "pbc_r_id",
        0x15 => "alarm_lockfree",
        0x16 => "alarm_ind",
        0x19 => "alarm_ack",
        0x1A => "alarm_queryreq",
        0x1C => "notify_ind",
        0x82 => "nck",
        0x83 => "nck_m",
        0x84 => "nck_i",
        0xA2 => "driveesany",
        0xB0 => "dbread",
        0xB2 => "1200sym",
        _ => "unknown",
    }
}

/// Transport size of a data item (how its length is counted).
pub fn data_transport_size_name(t: u8) -> &'static str {
    match t {
        0x00 => "null",
        0x03 => "bit",
        0x04 => "byte_word_dword",
        0x05 => "integer",
        0x06 => "dinteger",
        0x07 => "real",
        0x09 => "octet_string",
        _ => "unknown",
    }
}

/// Block type of a file name / block list (`08` OB, `0A` DB, ...).
pub fn block_type_name(t: &[u8]) -> &'static str {
    match t {
        b"08" => "OB",
        b"09" => "CMOD",
        b"0A" => "DB",
        b"0B" => "SDB",
        b"0C" => "FC",
        b"0D" => "SFC",
        b"0E" => "FB",
        b"0F" => "SFB",
        _ => "unknown",
    }
}

/// Destination file system of a block file name.
pub fn filesystem_name(f: u8) -> &'static str {
    match f {
        b'P' => "passive",
        b'A' => "active",
        b'B' => "active_and_passive",
        _ => "unknown",
    }
}

/// What a program invocation (PI) service does.
pub fn pi_service_action(name: &str, params: &[String]) -> &'static str {
    match name {
        "P_PROGRAM" => {
            if params.iter().any(|p| p.trim() == "C") {
                "cold_start"
            } else {
                "hot_start"
            }
        }
        "_INSE" => "block_insert",
        "_DELE" => "block_delete",
        "_MODU" => "copy_ram_to_rom",
        "_GARB" => "compress_memory",
        "_N_LOGIN_" => "login",
        "_N_LOGOUT" => "logout",
        "_N_CANCEL" => "cancel_alarm",
        "_N_DASAVE" => "save_data",
        "_N_F_DELE" => "file_delete",
        "_N_F_OPEN" | "_N_F_OPER" => "file_open",
        "_N_F_CLOS" => "file_close",
        "_N_F_COPY" => "file_copy",
        "_N_F_PROT" => "file_protect",
        "_N_F_RENA" => "file_rename",
        "_N_F_XFER" => "file_transfer",
        "_N_SELECT" => "program_select",
        _ if name.starts_with("_N_") => "nc_service",
        _ => "unknown",
    }
}

/// Name of an SZL partial list (by the low byte of the SZL id).
pub fn szl_name(id: u16) -> &'static str {
    match id & 0xFF {
        0x00 => "szl_ids",
        0x11 => "module_identification",
        0x12 => "cpu_characteristics",
        0x13 => "user_memory_areas",
        0x14 => "system_areas",
        0x15 => "block_types",
        0x16 => "priority_classes",
        0x17 => "permitted_sdbs",
        0x18 => "max_s7300_io",
        0x19 => "module_leds",
        0x1C => "component_identification",
        0x21 => "interrupt_assignment",
        0x22 => "interrupt_status",
        0x23 => "priority_class_status",
        0x24 => "modes",
        0x25 => "process_image_partitions",
        0x31 => "communication_capabilities",
        0x32 => "communication_status",
        0x33 => "device_logon_list",
        0x37 => "ethernet_details",
        0x71 => "h_cpu_group",
        0x74 => "module_led_status",
        0x75 => "switched_dp_slaves",
        0x81 => "start_information",
        0x82 => "start_events",
        0x90 => "dp_master_systems",
        0x91 => "module_status",
        0x92 | 0x94 => "rack_station_status",
        0x95 => "dp_master_systems_ext",
        0x96 => "module_status_pn_dp",
        0xA0 => "diagnostic_buffer",
        0xB1..=0xB3 => "module_diagnostics",
        0xB4 => "dp_slave_diagnostics",
        _ => "unknown",
    }
}

/// Index names of SZL 0x0011 (module identification) records.
pub fn szl_module_index_name(i: u16) -> &'static str {
    match i {
        0x0001 => "module",
        0x0006 => "basic_hardware",
        0x0007 => "basic_firmware",
        0x0081 => "firmware_extension",
        _ => "unknown",
    }
}

/// Index names of SZL 0x001C (component identification) records.
pub fn szl_component_index_name(i: u16) -> &'static str {
    match i {
        0x0001 => "automation_system_name",
        0x0002 => "module_name",
        0x0003 => "plant_designation",
        0x0004 => "copyright",
        0x0005 => "serial_number",
        0x0007 => "module_type_name",
        0x0008 => "memory_card_serial_number",
        0x0009 => "manufacturer_and_profile",
        0x000A => "oem_id",
        0x000B => "location",
        _ => "unknown",
    }
}

/// CPU mode of an SZL 0x0424 record (low nibble of the bzu-id byte).
pub fn cpu_mode_name(m: u8) -> &'static str {
    match m & 0x0F {
        0x1 => "stop_update",
        0x2 => "stop_memory_reset",
        0x3 => "stop_self_initialization",
        0x4 => "stop",
        0x5 => "startup_complete_restart",
        0x7 => "startup_restart",
        0x8 => "run",
        0xA => "hold",
        0xD => "defect",
        _ => "unknown",
    }
}
