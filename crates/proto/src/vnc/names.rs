//! Names of RFB security types and VeNCrypt subtypes (RFC 6143 section 7.2 and the
//! IANA "Remote Framebuffer Security Types" registry).

/// Security type name.
pub fn security_type(t: u32) -> &'static str {
    match t {
        0 => "Invalid",
        1 => "None",
        2 => "VNC Authentication",
        5 => "RA2",
        6 => "RA2ne",
        16 => "Tight",
        17 => "Ultra",
        18 => "TLS",
        19 => "VeNCrypt",
        20 => "SASL",
        21 => "MD5 hash authentication",
        22 => "xvp",
        30 => "Apple Remote Desktop",
        _ => "unknown",
    }
}

/// VeNCrypt subtype name.
pub fn vencrypt_subtype(t: u32) -> &'static str {
    match t {
        0 => "Invalid",
        1 => "None",
        2 => "VNC Authentication",
        256 => "Plain",
        257 => "TLSNone",
        258 => "TLSVnc",
        259 => "TLSPlain",
        260 => "X509None",
        261 => "X509Vnc",
        262 => "X509Plain",
        263 => "TLSSASL",
        264 => "X509SASL",
        _ => "unknown",
    }
}
