//! PROFINET DCP (IEC 61158-6-10): header and blocks, pure and zero-copy.
use std::net::Ipv4Addr;
use thiserror::Error;

/// DCP frame ids.
pub const HELLO: u16 = 0xfefc;
pub const GET_SET: u16 = 0xfefd;
pub const IDENTIFY_REQUEST: u16 = 0xfefe;
pub const IDENTIFY_RESPONSE: u16 = 0xfeff;

/// Service ids.
pub const SERVICE_GET: u8 = 3;
pub const SERVICE_SET: u8 = 4;
pub const SERVICE_IDENTIFY: u8 = 5;
pub const SERVICE_HELLO: u8 = 6;

/// Octets of the DCP header after the frame id.
pub const HEADER_LEN: usize = 10;

/// Why a DCP PDU could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum DcpError {
    #[error("DCP header truncated ({0} octets)")]
    Truncated(usize),
    #[error("DCP data length {declared} exceeds the {present} octets present")]
    Length { declared: u16, present: usize },
    #[error("DCP block truncated")]
    Block,
}

impl DcpError {
    /// Stable anomaly kind.
    pub fn kind(&self) -> &'static str {
        match self {
            DcpError::Truncated(_) => "dcp_truncated",
            DcpError::Length { .. } => "dcp_bad_length",
            DcpError::Block => "dcp_bad_block",
        }
    }
}

/// The DCP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub service_id: u8,
    /// 0 request, 1 response success, 5 response "request not supported".
    pub service_type: u8,
    pub xid: u32,
    /// Response delay (identify request) or reserved.
    pub delay: u16,
    pub data_length: u16,
}

impl Header {
    pub fn is_request(&self) -> bool {
        self.service_type & 0x01 == 0
    }
}

/// Name of a service id.
pub fn service_name(id: u8) -> &'static str {
    match id {
        SERVICE_GET => "get",
        SERVICE_SET => "set",
        SERVICE_IDENTIFY => "identify",
        SERVICE_HELLO => "hello",
        _ => "unknown",
    }
}

/// Name of a service type.
pub fn service_type_name(t: u8) -> &'static str {
    match t {
        0 => "request",
        1 => "success",
        5 => "not_supported",
        _ => "unknown",
    }
}

/// Name of an option/suboption pair.
pub fn option_name(option: u8, sub: u8) -> &'static str {
    match (option, sub) {
        (1, 1) => "mac_address",
        (1, 2) => "ip_parameter",
        (1, 3) => "full_ip_suite",
        (2, 1) => "type_of_station",
        (2, 2) => "name_of_station",
        (2, 3) => "device_id",
        (2, 4) => "device_role",
        (2, 5) => "device_options",
        (2, 6) => "alias_name",
        (2, 7) => "device_instance",
        (2, 8) => "oem_device_id",
        (2, 9) => "standard_gateway",
        (2, 10) => "rsi_properties",
        (3, _) => "dhcp",
        (5, 1) => "start_transaction",
        (5, 2) => "end_transaction",
        (5, 3) => "signal",
        (5, 4) => "response",
        (5, 5) => "factory_reset",
        (5, 6) => "reset_to_factory",
        (6, 1) => "device_initiative",
        (0xff, 0xff) => "all",
        _ => "unknown",
    }
}

/// Names of the device role bits.
pub fn device_roles(bits: u8) -> Vec<&'static str> {
    let mut v = Vec::new();
    for (bit, name) in [
        (0x01, "io_device"),
        (0x02, "io_controller"),
        (0x04, "io_multidevice"),
        (0x08, "pn_supervisor"),
    ] {
        if bits & bit != 0 {
            v.push(name);
        }
    }
    v
}

/// Name of a block error (set responses).
pub fn block_error_name(e: u8) -> &'static str {
    match e {
        0 => "ok",
        1 => "option_not_supported",
        2 => "suboption_not_supported",
        3 => "suboption_not_set",
        4 => "resource_error",
        5 => "set_not_possible",
        6 => "in_operation",
        _ => "unknown",
    }
}

/// One block: option, suboption, block info / qualifier (when the PDU has
/// them) and data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block<'a> {
    pub option: u8,
    pub suboption: u8,
    pub info: Option<u16>,
    pub data: &'a [u8],
}

/// Do blocks of this PDU carry BlockInfo (responses, hello) or BlockQualifier
/// (set requests) after their length?
pub fn has_info(h: &Header) -> bool {
    matches!(
        (h.service_id, h.is_request()),
        (SERVICE_HELLO, _) | (SERVICE_SET, true) | (SERVICE_GET | SERVICE_IDENTIFY, false)
    )
}

/// Reads the header and the block area (cut to DCPDataLength).
pub fn parse(pdu: &[u8]) -> Result<(Header, &[u8]), DcpError> {
    let Some(h) = pdu.get(..HEADER_LEN) else {
        return Err(DcpError::Truncated(pdu.len()));
    };
    let header = Header {
        service_id: h[0],
        service_type: h[1],
        xid: u32::from_be_bytes([h[2], h[3], h[4], h[5]]),
        delay: u16::from_be_bytes([h[6], h[7]]),
        data_length: u16::from_be_bytes([h[8], h[9]]),
    };
    let rest = pdu.get(HEADER_LEN..).unwrap_or_default();
    let blocks = rest
        .get(..usize::from(header.data_length))
        .ok_or(DcpError::Length {
            declared: header.data_length,
            present: rest.len(),
        })?;
    Ok((header, blocks))
}

/// Most blocks read from one PDU.
pub const MAX_BLOCKS: usize = 32;

/// Splits the block area. Get requests list (option, suboption) pairs only.
pub fn blocks<'a>(h: &Header, area: &'a [u8]) -> Result<Vec<Block<'a>>, DcpError> {
    let mut out = Vec::new();
    let mut p = area;
    if h.service_id == SERVICE_GET && h.is_request() {
        while let [o, s, rest @ ..] = p {
            if out.len() >= MAX_BLOCKS {
                break;
            }
            out.push(Block {
                option: *o,
                suboption: *s,
                info: None,
                data: &[],
            });
            p = rest;
        }
        return Ok(out);
    }
    let info = has_info(h);
    while !p.is_empty() && out.len() < MAX_BLOCKS {
        let [o, s, l1, l2, rest @ ..] = p else {
            return Err(DcpError::Block);
        };
        let len = usize::from(u16::from_be_bytes([*l1, *l2]));
        let body = rest.get(..len).ok_or(DcpError::Block)?;
        let (info_v, data) = if info && len >= 2 && *o != 5 {
            (
                Some(u16::from_be_bytes([body[0], body[1]])),
                body.get(2..).unwrap_or_default(),
            )
        } else if info && len >= 2 && *o == 5 && *s != 4 {
            // control blocks of set requests carry a qualifier too
            (
                Some(u16::from_be_bytes([body[0], body[1]])),
                body.get(2..).unwrap_or_default(),
            )
        } else {
            (None, body)
        };
        out.push(Block {
            option: *o,
            suboption: *s,
            info: info_v,
            data,
        });
        let padded = len + (len & 1);
        p = rest.get(padded..).unwrap_or_default();
    }
    Ok(out)
}

/// Device facts gathered from blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceFacts {
    pub name_of_station: Option<String>,
    pub type_of_station: Option<String>,
    pub alias_name: Option<String>,
    pub vendor_id: Option<u16>,
    pub device_id: Option<u16>,
    pub device_role: Option<u8>,
    pub device_instance: Option<(u8, u8)>,
    pub mac: Option<[u8; 6]>,
    pub ip: Option<Ipv4Addr>,
    pub netmask: Option<Ipv4Addr>,
    pub gateway: Option<Ipv4Addr>,
    /// IP block info: 0 not set, 1 set, 2 set by DHCP (bit 7: address conflict).
    pub ip_info: Option<u16>,
    /// Options named by the blocks (what is asked, set, or offered).
    pub options: Vec<&'static str>,
    /// Set response results: (option name, error name).
    pub results: Vec<(&'static str, &'static str)>,
    /// A set stores the values permanently (block qualifier bit 0).
    pub permanent: bool,
}

/// Most characters kept from a DCP string.
pub const MAX_STRING: usize = 240;

/// A DCP string: cut at the first NUL (padding) and at [`MAX_STRING`] octets.
fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let b = b.get(..end.min(MAX_STRING)).unwrap_or_default();
    String::from_utf8_lossy(b)
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect()
}

fn ip(b: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

/// Reads device facts out of blocks.
pub fn facts(blocks: &[Block<'_>]) -> DeviceFacts {
    let mut f = DeviceFacts::default();
    for b in blocks {
        let name = option_name(b.option, b.suboption);
        if !f.options.contains(&name) && f.options.len() < MAX_BLOCKS {
            f.options.push(name);
        }
        if b.option != 5 && b.info.is_some_and(|q| q & 1 != 0) && b.option != 1 {
            // BlockQualifier "permanent" (set requests); IP block info differs.
            f.permanent = true;
        }
        let d = b.data;
        match (b.option, b.suboption) {
            (1, 1) => f.mac = d.get(..6).and_then(|m| m.try_into().ok()),
            (1, 2) | (1, 3) => {
                f.ip = d.get(0..4).and_then(ip);
                f.netmask = d.get(4..8).and_then(ip);
                f.gateway = d.get(8..12).and_then(ip);
                f.ip_info = b.info;
            }
            (2, 1) => f.type_of_station = Some(text(d)),
            (2, 2) => f.name_of_station = Some(text(d)),
            (2, 3) | (2, 8) => {
                if let [a, b2, c, e, ..] = d {
                    if b.suboption == 3 || f.vendor_id.is_none() {
                        f.vendor_id = Some(u16::from_be_bytes([*a, *b2]));
                        f.device_id = Some(u16::from_be_bytes([*c, *e]));
                    }
                }
            }
            (2, 4) => f.device_role = d.first().copied(),
            (2, 6) => f.alias_name = Some(text(d)),
            (2, 7) => {
                if let [hi, lo, ..] = d {
                    f.device_instance = Some((*hi, *lo));
                }
            }
            (5, 4) => {
                if let [o, s, e, ..] = d {
                    if f.results.len() < MAX_BLOCKS {
                        f.results.push((option_name(*o, *s), block_error_name(*e)));
                    }
                }
            }
            _ => {}
        }
    }
    f
}

/// DCP PDU builders (tests and traffic generators).
pub mod enc {
    /// A DCP PDU (after the frame id) with blocks `(option, suboption, info, data)`.
    pub fn pdu(
        service_id: u8,
        service_type: u8,
        xid: u32,
        blocks: &[(u8, u8, Option<u16>, &[u8])],
    ) -> Vec<u8> {
        let mut area = Vec::new();
        for (o, s, info, data) in blocks {
            let len = data.len() + if info.is_some() { 2 } else { 0 };
            area.extend_from_slice(&[*o, *s]);
            area.extend_from_slice(&(len as u16).to_be_bytes());
            if let Some(i) = info {
                area.extend_from_slice(&i.to_be_bytes());
            }
            area.extend_from_slice(data);
            if len % 2 == 1 {
                area.push(0);
            }
        }
        let mut out = vec![service_id, service_type];
        out.extend_from_slice(&xid.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(area.len() as u16).to_be_bytes());
        out.extend(area);
        out
    }

    /// A frame payload: frame id + PDU.
    pub fn frame(frame_id: u16, pdu: &[u8]) -> Vec<u8> {
        let mut out = frame_id.to_be_bytes().to_vec();
        out.extend_from_slice(pdu);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn set_request_and_response_blocks() {
        // profinet-iti-wireshark-bug.pcap frame 3 (Set Req, NameOfStation, End-Trans)
        let set = enc::pdu(
            4,
            0,
            0x0100_0001,
            &[(2, 2, Some(1), b"%n%n%n "), (5, 2, Some(0), &[])],
        );
        let (h, area) = parse(&set).unwrap();
        assert_eq!((h.service_id, h.service_type, h.xid), (4, 0, 0x0100_0001));
        let b = blocks(&h, area).unwrap();
        let f = facts(&b);
        assert_eq!(f.name_of_station.as_deref(), Some("%n%n%n "));
        assert!(f.permanent);
        assert_eq!(f.options, vec!["name_of_station", "end_transaction"]);
        // Set response with two Control/Response blocks
        let resp = hex("04010100000100000010050400030202000005040003050200 00"
            .replace(' ', "")
            .as_str());
        let (h, area) = parse(&resp).unwrap();
        let f = facts(&blocks(&h, area).unwrap());
        assert_eq!(
            f.results,
            vec![("name_of_station", "ok"), ("end_transaction", "ok")]
        );
        // truncated
        assert_eq!(parse(&[4, 0, 0]), Err(DcpError::Truncated(3)));
        assert!(matches!(
            parse(&hex("0400010000010000ff00")),
            Err(DcpError::Length { .. })
        ));
    }
}
