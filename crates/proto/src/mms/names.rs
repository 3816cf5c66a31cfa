//! Names of MMS codes (ISO 9506-2). Names are stable `snake_case` strings: they are
//! part of the event contract.

/// Name of a confirmed service (the `ConfirmedServiceRequest` CHOICE tag).
pub fn service_name(n: u32) -> &'static str {
    match n {
        0 => "status",
        1 => "get_name_list",
        2 => "identify",
        3 => "rename",
        4 => "read",
        5 => "write",
        6 => "get_variable_access_attributes",
        7 => "define_named_variable",
        8 => "define_scattered_access",
        9 => "get_scattered_access_attributes",
        10 => "delete_variable_access",
        11 => "define_named_variable_list",
        12 => "get_named_variable_list_attributes",
        13 => "delete_named_variable_list",
        14 => "define_named_type",
        15 => "get_named_type_attributes",
        16 => "delete_named_type",
        17 => "input",
        18 => "output",
        19 => "take_control",
        20 => "relinquish_control",
        21 => "define_semaphore",
        22 => "delete_semaphore",
        23 => "report_semaphore_status",
        24 => "report_pool_semaphore_status",
        25 => "report_semaphore_entry_status",
        26 => "initiate_download_sequence",
        27 => "download_segment",
        28 => "terminate_download_sequence",
        29 => "initiate_upload_sequence",
        30 => "upload_segment",
        31 => "terminate_upload_sequence",
        32 => "request_domain_download",
        33 => "request_domain_upload",
        34 => "load_domain_content",
        35 => "store_domain_content",
        36 => "delete_domain",
        37 => "get_domain_attributes",
        38 => "create_program_invocation",
        39 => "delete_program_invocation",
        40 => "start",
        41 => "stop",
        42 => "resume",
        43 => "reset",
        44 => "kill",
        45 => "get_program_invocation_attributes",
        46 => "obtain_file",
        47 => "define_event_condition",
        48 => "delete_event_condition",
        49 => "get_event_condition_attributes",
        50 => "report_event_condition_status",
        51 => "alter_event_condition_monitoring",
        52 => "trigger_event",
        53 => "define_event_action",
        54 => "delete_event_action",
        55 => "get_event_action_attributes",
        56 => "report_event_action_status",
        57 => "define_event_enrollment",
        58 => "delete_event_enrollment",
        59 => "alter_event_enrollment",
        60 => "report_event_enrollment_status",
        61 => "get_event_enrollment_attributes",
        62 => "acknowledge_event_notification",
        63 => "get_alarm_summary",
        64 => "get_alarm_enrollment_summary",
        65 => "read_journal",
        66 => "write_journal",
        67 => "initialize_journal",
        68 => "report_journal_status",
        69 => "create_journal",
        70 => "delete_journal",
        71 => "get_capability_list",
        72 => "file_open",
        73 => "file_read",
        74 => "file_close",
        75 => "file_rename",
        76 => "file_delete",
        77 => "file_directory",
        _ => "unknown",
    }
}

/// Name of an unconfirmed service.
pub fn unconfirmed_name(n: u32) -> &'static str {
    match n {
        0 => "information_report",
        1 => "unsolicited_status",
        2 => "event_notification",
        _ => "unknown_unconfirmed",
    }
}

/// Name of a basic object class (GetNameList).
pub fn object_class_name(n: i64) -> &'static str {
    match n {
        0 => "named_variable",
        1 => "scattered_access",
        2 => "named_variable_list",
        3 => "named_type",
        4 => "semaphore",
        5 => "event_condition",
        6 => "event_action",
        7 => "event_enrollment",
        8 => "journal",
        9 => "domain",
        10 => "program_invocation",
        11 => "operator_station",
        12 => "data_exchange",
        13 => "access_control_list",
        _ => "unknown",
    }
}

/// Name of a `ServiceError` error class (the CHOICE tag).
pub fn error_class_name(n: u32) -> &'static str {
    match n {
        0 => "vmd_state",
        1 => "application_reference",
        2 => "definition",
        3 => "resource",
        4 => "service",
        5 => "service_preempt",
        6 => "time_resolution",
        7 => "access",
        8 => "initiate",
        9 => "conclude",
        10 => "cancel",
        11 => "file",
        12 => "others",
        _ => "unknown",
    }
}

/// Name of an error code within its class (the common ones; others are `code-N`
/// in the record's numeric field only).
pub fn error_code_name(class: u32, code: i64) -> Option<&'static str> {
    Some(match (class, code) {
        (_, 0) => "other",
        (2, 1) => "object_undefined",
        (2, 2) => "invalid_address",
        (2, 3) => "type_unsupported",
        (2, 4) => "type_inconsistent",
        (2, 5) => "object_exists",
        (2, 6) => "object_attribute_inconsistent",
        (3, 1) => "memory_unavailable",
        (3, 2) => "processor_resource_unavailable",
        (3, 3) => "mass_storage_unavailable",
        (3, 4) => "capability_unavailable",
        (3, 5) => "capability_unknown",
        (4, 1) => "primitives_out_of_sequence",
        (4, 2) => "object_state_conflict",
        (4, 4) => "continuation_invalid",
        (4, 5) => "object_constraint_conflict",
        (7, 1) => "object_access_unsupported",
        (7, 2) => "object_non_existent",
        (7, 3) => "object_access_denied",
        (7, 4) => "object_invalidated",
        (11, 1) => "filename_ambiguous",
        (11, 2) => "file_busy",
        (11, 3) => "filename_syntax_error",
        (11, 4) => "content_type_invalid",
        (11, 5) => "position_invalid",
        (11, 6) => "file_access_denied",
        (11, 7) => "file_non_existent",
        (11, 8) => "duplicate_filename",
        (11, 9) => "insufficient_space_in_filestore",
        _ => return None,
    })
}

/// Name of a reject PDU's problem type (the `rejectReason` CHOICE tag).
pub fn reject_type_name(n: u32) -> &'static str {
    match n {
        1 => "confirmed_request_pdu",
        2 => "confirmed_response_pdu",
        3 => "confirmed_error_pdu",
        4 => "unconfirmed_pdu",
        5 => "pdu_error",
        6 => "cancel_request_pdu",
        7 => "cancel_response_pdu",
        8 => "cancel_error_pdu",
        9 => "conclude_request_pdu",
        10 => "conclude_response_pdu",
        11 => "conclude_error_pdu",
        _ => "unknown",
    }
}

/// Name of a `ServiceSupportOptions` bit (initiate): bit `n` is confirmed service
/// `n` for 0..=77, then the unconfirmed services, conclude and cancel.
pub fn services_supported_name(bit: usize) -> Option<&'static str> {
    Some(match bit {
        0..=77 => service_name(u32::try_from(bit).ok()?),
        78 => "unsolicited_status",
        79 => "information_report",
        80 => "event_notification",
        81 => "attach_to_event_condition",
        82 => "attach_to_semaphore",
        83 => "conclude",
        84 => "cancel",
        _ => return None,
    })
}

/// Name of an ACSE association result.
pub fn acse_result_name(n: i64) -> &'static str {
    match n {
        0 => "accepted",
        1 => "rejected_permanent",
        2 => "rejected_transient",
        _ => "unknown",
    }
}

/// Well-known object identifiers of the OSI upper layers.
pub fn oid_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.0.9506.2.1" => "mms_abstract_syntax",
        "1.0.9506.2.3" => "mms",
        "2.2.1.0.1" => "acse",
        "2.1.1" => "ber",
        "2.2.3.1" => "password",
        "1.3.9999.1.7.1" => "iccp",
        _ => return None,
    })
}
