//! The protocol names Sluice knows (the `network.protocol` values of DESIGN.md).

/// Every protocol name a policy may use without a warning.
pub const KNOWN_PROTOCOLS: &[&str] = &[
    "modbus",
    "dnp3",
    "s7comm",
    "s7commplus",
    "enip",
    "iec104",
    "bacnet",
    "opcua",
    "goose",
    "mms",
    "sv",
    "profinet_dcp",
    "profinet_rt",
    "mqtt",
    "dns",
    "http",
    "tls",
    "ssh",
    "rdp",
    "vnc",
    "smb",
    "telnet",
    "ftp",
    "teamviewer",
    "anydesk",
];

/// The industrial protocols: conduits carrying them have read / read-write access.
pub const ICS_PROTOCOLS: &[&str] = &[
    "modbus",
    "dnp3",
    "s7comm",
    "s7commplus",
    "enip",
    "iec104",
    "bacnet",
    "opcua",
    "goose",
    "mms",
    "sv",
    "profinet_dcp",
    "profinet_rt",
];

/// Whether `name` is one of [`KNOWN_PROTOCOLS`] (ASCII case-insensitive).
pub fn is_known(name: &str) -> bool {
    KNOWN_PROTOCOLS.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// Whether `name` is one of [`ICS_PROTOCOLS`] (ASCII case-insensitive).
pub fn is_ics(name: &str) -> bool {
    ICS_PROTOCOLS.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// The name an operator reads ("Modbus", "EtherNet/IP"); unknown names are returned as given.
pub fn display_name(name: &str) -> &str {
    const NAMES: &[(&str, &str)] = &[
        ("modbus", "Modbus"),
        ("dnp3", "DNP3"),
        ("s7comm", "S7comm"),
        ("s7commplus", "S7comm-plus"),
        ("enip", "EtherNet/IP"),
        ("iec104", "IEC 104"),
        ("bacnet", "BACnet"),
        ("opcua", "OPC UA"),
        ("goose", "GOOSE"),
        ("mms", "MMS"),
        ("sv", "Sampled Values"),
        ("profinet_dcp", "PROFINET DCP"),
        ("profinet_rt", "PROFINET RT"),
        ("mqtt", "MQTT"),
        ("dns", "DNS"),
        ("http", "HTTP"),
        ("tls", "TLS"),
        ("ssh", "SSH"),
        ("rdp", "RDP"),
        ("vnc", "VNC"),
        ("smb", "SMB"),
        ("telnet", "Telnet"),
        ("ftp", "FTP"),
        ("teamviewer", "TeamViewer"),
        ("anydesk", "AnyDesk"),
    ];
    NAMES
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
        .unwrap_or(name)
}
