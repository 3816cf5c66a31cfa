//! Names of SMB2 commands, SMB1 commands, NT status codes, dialects, create
//! dispositions and FSCTL codes (MS-SMB2, MS-CIFS, MS-ERREF, MS-FSCC).

/// SMB2 command name.
pub fn smb2_command(c: u16) -> &'static str {
    match c {
        0 => "NEGOTIATE",
        1 => "SESSION_SETUP",
        2 => "LOGOFF",
        3 => "TREE_CONNECT",
        4 => "TREE_DISCONNECT",
        5 => "CREATE",
        6 => "CLOSE",
        7 => "FLUSH",
        8 => "READ",
        9 => "WRITE",
        10 => "LOCK",
        11 => "IOCTL",
        12 => "CANCEL",
        13 => "ECHO",
        14 => "QUERY_DIRECTORY",
        15 => "CHANGE_NOTIFY",
        16 => "QUERY_INFO",
        17 => "SET_INFO",
        18 => "OPLOCK_BREAK",
        _ => "UNKNOWN",
    }
}

/// SMB1 command name (the common ones).
pub fn smb1_command(c: u8) -> &'static str {
    match c {
        0x04 => "CLOSE",
        0x06 => "DELETE",
        0x07 => "RENAME",
        0x24 => "LOCKING_ANDX",
        0x25 => "TRANSACTION",
        0x2B => "ECHO",
        0x2D => "OPEN_ANDX",
        0x2E => "READ_ANDX",
        0x2F => "WRITE_ANDX",
        0x32 => "TRANSACTION2",
        0x34 => "FIND_CLOSE2",
        0x70 => "TREE_CONNECT",
        0x71 => "TREE_DISCONNECT",
        0x72 => "NEGOTIATE",
        0x73 => "SESSION_SETUP_ANDX",
        0x74 => "LOGOFF_ANDX",
        0x75 => "TREE_CONNECT_ANDX",
        0xA0 => "NT_TRANSACT",
        0xA2 => "NT_CREATE_ANDX",
        0xA4 => "NT_CANCEL",
        _ => "UNKNOWN",
    }
}

/// NT status name (a subset of MS-ERREF 2.3.1).
pub fn status(s: u32) -> &'static str {
    match s {
        0x0000_0000 => "STATUS_SUCCESS",
        0x0000_0103 => "STATUS_PENDING",
        0x0000_010C => "STATUS_NOTIFY_ENUM_DIR",
        0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
        0x8000_0006 => "STATUS_NO_MORE_FILES",
        0xC000_000D => "STATUS_INVALID_PARAMETER",
        0xC000_000F => "STATUS_NO_SUCH_FILE",
        0xC000_0010 => "STATUS_INVALID_DEVICE_REQUEST",
        0xC000_0011 => "STATUS_END_OF_FILE",
        0xC000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        0xC000_0022 => "STATUS_ACCESS_DENIED",
        0xC000_0023 => "STATUS_BUFFER_TOO_SMALL",
        0xC000_0033 => "STATUS_OBJECT_NAME_INVALID",
        0xC000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xC000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        0xC000_003A => "STATUS_OBJECT_PATH_NOT_FOUND",
        0xC000_0043 => "STATUS_SHARING_VIOLATION",
        0xC000_0056 => "STATUS_DELETE_PENDING",
        0xC000_005E => "STATUS_NO_LOGON_SERVERS",
        0xC000_0064 => "STATUS_NO_SUCH_USER",
        0xC000_006A => "STATUS_WRONG_PASSWORD",
        0xC000_006D => "STATUS_LOGON_FAILURE",
        0xC000_006E => "STATUS_ACCOUNT_RESTRICTION",
        0xC000_006F => "STATUS_INVALID_LOGON_HOURS",
        0xC000_0070 => "STATUS_INVALID_WORKSTATION",
        0xC000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xC000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xC000_009A => "STATUS_INSUFFICIENT_RESOURCES",
        0xC000_00BA => "STATUS_FILE_IS_A_DIRECTORY",
        0xC000_00BB => "STATUS_NOT_SUPPORTED",
        0xC000_00C9 => "STATUS_NETWORK_NAME_DELETED",
        0xC000_00CC => "STATUS_BAD_NETWORK_NAME",
        0xC000_0101 => "STATUS_DIRECTORY_NOT_EMPTY",
        0xC000_0120 => "STATUS_CANCELLED",
        0xC000_0128 => "STATUS_FILE_CLOSED",
        0xC000_015B => "STATUS_LOGON_TYPE_NOT_GRANTED",
        0xC000_019C => "STATUS_FS_DRIVER_REQUIRED",
        0xC000_0193 => "STATUS_ACCOUNT_EXPIRED",
        0xC000_0203 => "STATUS_USER_SESSION_DELETED",
        0xC000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
        0xC000_0225 => "STATUS_NOT_FOUND",
        0xC000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        _ => "UNKNOWN",
    }
}

/// SMB2 dialect name.
pub fn dialect(d: u16) -> &'static str {
    match d {
        0x0202 => "2.0.2",
        0x0210 => "2.1",
        0x0222 => "2.2.2",
        0x0224 => "2.2.4",
        0x0300 => "3.0",
        0x0302 => "3.0.2",
        0x0310 => "3.1.0",
        0x0311 => "3.1.1",
        0x02FF => "2.???",
        _ => "unknown",
    }
}

/// CREATE disposition name.
pub fn disposition(d: u32) -> &'static str {
    match d {
        0 => "FILE_SUPERSEDE",
        1 => "FILE_OPEN",
        2 => "FILE_CREATE",
        3 => "FILE_OPEN_IF",
        4 => "FILE_OVERWRITE",
        5 => "FILE_OVERWRITE_IF",
        _ => "unknown",
    }
}

/// CREATE response action name.
pub fn create_action(a: u32) -> &'static str {
    match a {
        0 => "FILE_SUPERSEDED",
        1 => "FILE_OPENED",
        2 => "FILE_CREATED",
        3 => "FILE_OVERWRITTEN",
        _ => "unknown",
    }
}

/// Share type of a TREE_CONNECT response.
pub fn share_type(t: u8) -> &'static str {
    match t {
        1 => "DISK",
        2 => "PIPE",
        3 => "PRINT",
        _ => "unknown",
    }
}

/// FSCTL / IOCTL code name (MS-FSCC 2.3, MS-SMB2 2.2.31).
pub fn fsctl(c: u32) -> &'static str {
    match c {
        0x0006_0194 => "FSCTL_DFS_GET_REFERRALS",
        0x0006_01B0 => "FSCTL_DFS_GET_REFERRALS_EX",
        0x0009_00A4 => "FSCTL_SET_REPARSE_POINT",
        0x0011_0018 => "FSCTL_PIPE_WAIT",
        0x0011_400C => "FSCTL_PIPE_PEEK",
        0x0011_C017 => "FSCTL_PIPE_TRANSCEIVE",
        0x0014_0078 => "FSCTL_SRV_REQUEST_RESUME_KEY",
        0x0014_01D4 => "FSCTL_LMR_REQUEST_RESILIENCY",
        0x0014_01FC => "FSCTL_QUERY_NETWORK_INTERFACE_INFO",
        0x0014_0204 => "FSCTL_VALIDATE_NEGOTIATE_INFO",
        0x0014_4064 => "FSCTL_SRV_ENUMERATE_SNAPSHOTS",
        0x0014_40F2 => "FSCTL_SRV_COPYCHUNK",
        0x0014_80F2 => "FSCTL_SRV_COPYCHUNK_WRITE",
        0x0014_C0D4 => "FSCTL_SRV_READ_HASH",
        _ => "unknown",
    }
}
