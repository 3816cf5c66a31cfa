//! Names of S7comm-plus codes (snake_case). The numbers are the protocol's values
//! as published by the community analyses of S7comm-plus; the names are ours.

/// Opcode name.
pub fn opcode_name(op: u8) -> &'static str {
    match op {
        0x31 => "request",
        0x32 => "response",
        0x33 => "notification",
        0x02 => "response2",
        _ => "unknown",
    }
}

/// Function code name.
pub fn function_name(f: u16) -> &'static str {
    match f {
        0x04B1 => "error",
        0x04BB => "explore",
        0x04CA => "create_object",
        0x04D4 => "delete_object",
        0x04F2 => "set_variable",
        0x04FC => "get_variable",
        0x0506 => "add_link",
        0x051A => "remove_link",
        0x0524 => "get_link",
        0x0542 => "set_multi_variables",
        0x054C => "get_multi_variables",
        0x0556 => "begin_sequence",
        0x0560 => "end_sequence",
        0x056B => "invoke",
        0x057C => "set_var_sub_streamed",
        0x0586 => "get_var_sub_streamed",
        0x0590 => "get_variables_address",
        0x059A => "abort",
        0x05A9 => "error2",
        0x05B3 => "init_ssl",
        _ => "unknown",
    }
}
