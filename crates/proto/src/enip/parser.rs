//! Zero-copy decoding of the EtherNet/IP encapsulation layer: the 24-byte header,
//! Common Packet Format (CPF) items, ListIdentity / ListServices items, socket
//! address items, and the implicit (class 0/1) I/O datagrams of UDP port 2222.
use super::names;
use std::net::{IpAddr, Ipv4Addr};
use thiserror::Error;

/// Length of the encapsulation header.
pub const HEADER_LEN: usize = 24;
/// Largest encapsulation message (header + the largest length field).
pub const MAX_MESSAGE: usize = HEADER_LEN + 65535;
/// CPF items decoded per message.
pub const MAX_ITEMS: usize = 16;

/// Decoding errors (each has a stable anomaly kind).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum EnipError {
    #[error("message shorter than its header ({0} bytes)")]
    Short(usize),
    #[error("unknown encapsulation command 0x{0:04x}")]
    UnknownCommand(u16),
    #[error("options field 0x{0:08x} is not zero")]
    BadOptions(u32),
    #[error("length {declared} does not match the {actual} bytes after the header")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("{0} truncated")]
    Truncated(&'static str),
    #[error("CPF item count {0} is implausible")]
    BadItemCount(u16),
}

impl EnipError {
    /// Stable anomaly kind.
    pub fn kind(&self) -> &'static str {
        match self {
            EnipError::Short(_) | EnipError::Truncated(_) => "truncated",
            EnipError::UnknownCommand(_) => "unknown_command",
            EnipError::BadOptions(_) => "bad_options",
            EnipError::LengthMismatch { .. } => "bad_length",
            EnipError::BadItemCount(_) => "bad_item_count",
        }
    }
}

pub(crate) fn u16le(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

pub(crate) fn u32le(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    let a: [u8; 4] = s.try_into().ok()?;
    Some(u32::from_le_bytes(a))
}

fn u16be(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

/// The encapsulation header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub command: u16,
    /// Bytes of command-specific data after the header.
    pub length: u16,
    pub session_handle: u32,
    pub status: u32,
    /// The 8 bytes of sender context, as they appear on the wire.
    pub sender_context: [u8; 8],
    pub options: u32,
}

impl Header {
    /// Decodes the first 24 bytes (no validation).
    pub fn parse(b: &[u8]) -> Option<Header> {
        let ctx = b.get(12..20)?;
        Some(Header {
            command: u16le(b, 0)?,
            length: u16le(b, 2)?,
            session_handle: u32le(b, 4)?,
            status: u32le(b, 8)?,
            sender_context: ctx.try_into().ok()?,
            options: u32le(b, 20)?,
        })
    }

    /// Whole message length (header + data).
    pub fn message_len(&self) -> usize {
        HEADER_LEN + usize::from(self.length)
    }

    /// Sender context as a number (wire bytes read little endian).
    pub fn context(&self) -> u64 {
        u64::from_le_bytes(self.sender_context)
    }
}

/// Is this a plausible header (known command, zero options, sane status)?
pub fn check_header(h: &Header) -> Result<(), EnipError> {
    if !names::is_known_command(h.command) {
        return Err(EnipError::UnknownCommand(h.command));
    }
    if h.options != 0 {
        return Err(EnipError::BadOptions(h.options));
    }
    Ok(())
}

/// A plausible header start at `b` for resynchronisation and probing: known command,
/// zero options, a status that is one of the small defined values, and command
/// specific constraints that hold for every message of that command.
pub fn plausible(b: &[u8]) -> Option<bool> {
    let h = Header::parse(b)?;
    if check_header(&h).is_err() || h.status > 0xFF {
        return Some(false);
    }
    let ok = match h.command {
        // RegisterSession carries protocol version 1 and option flags 0.
        0x0065 => h.length == 4,
        0x0066 => h.length == 0,
        // Requests are empty, replies carry at least an item count.
        0x0004 | 0x0063 | 0x0064 => h.length == 0 || h.length >= 2,
        // Interface handle + timeout + item count at least.
        0x006F | 0x0070 => h.length >= 8 || h.status != 0,
        _ => true,
    };
    Some(ok)
}

/// One CPF item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    pub type_id: u16,
    pub data: &'a [u8],
}

/// Decoded Common Packet Format: at most [`MAX_ITEMS`] items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cpf<'a> {
    pub items: Vec<Item<'a>>,
    /// More items were present than decoded.
    pub truncated: bool,
}

impl<'a> Cpf<'a> {
    /// Parses `count, (type, length, data)*` from `b`.
    pub fn parse(b: &'a [u8]) -> Result<Cpf<'a>, EnipError> {
        let count = u16le(b, 0).ok_or(EnipError::Truncated("CPF item count"))?;
        let mut pos = 2usize;
        let mut cpf = Cpf::default();
        for _ in 0..count {
            if cpf.items.len() >= MAX_ITEMS {
                cpf.truncated = true;
                break;
            }
            let ty = u16le(b, pos).ok_or(EnipError::Truncated("CPF item header"))?;
            let len = u16le(b, pos + 2).ok_or(EnipError::Truncated("CPF item header"))?;
            let start = pos + 4;
            let end = start + usize::from(len);
            let data = b.get(start..end).ok_or(EnipError::Truncated("CPF item"))?;
            cpf.items.push(Item { type_id: ty, data });
            pos = end;
        }
        Ok(cpf)
    }

    pub fn find(&self, ty: u16) -> Option<&Item<'a>> {
        self.items.iter().find(|i| i.type_id == ty)
    }
}

/// SendRRData / SendUnitData command-specific data: interface handle, timeout, CPF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encapsulated<'a> {
    pub interface_handle: u32,
    pub timeout: u16,
    pub cpf: Cpf<'a>,
}

pub fn parse_encapsulated(data: &[u8]) -> Result<Encapsulated<'_>, EnipError> {
    let interface_handle = u32le(data, 0).ok_or(EnipError::Truncated("interface handle"))?;
    let timeout = u16le(data, 4).ok_or(EnipError::Truncated("timeout"))?;
    let rest = data.get(6..).unwrap_or_default();
    Ok(Encapsulated {
        interface_handle,
        timeout,
        cpf: Cpf::parse(rest)?,
    })
}

/// A socket address (`sin_family`, `sin_port`, `sin_addr` big endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockAddr {
    pub family: u16,
    pub port: u16,
    pub addr: Ipv4Addr,
}

impl SockAddr {
    pub fn parse(b: &[u8]) -> Option<SockAddr> {
        let a = b.get(4..8)?;
        Some(SockAddr {
            family: u16be(b, 0)?,
            port: u16be(b, 2)?,
            addr: Ipv4Addr::new(*a.first()?, *a.get(1)?, *a.get(2)?, *a.get(3)?),
        })
    }

    /// The address when it names a host (not 0.0.0.0, broadcast or multicast).
    pub fn host(&self) -> Option<IpAddr> {
        let a = self.addr;
        (!a.is_unspecified() && !a.is_broadcast() && !a.is_multicast()).then_some(IpAddr::V4(a))
    }
}

/// A CIP Identity item (ListIdentity reply, type 0x0C) or the Identity object's
/// Get_Attributes_All reply (no version or socket address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityItem {
    pub encapsulation_version: Option<u16>,
    pub socket: Option<SockAddr>,
    pub vendor_id: u16,
    pub device_type: u16,
    pub product_code: u16,
    pub revision_major: u8,
    pub revision_minor: u8,
    pub status: u16,
    pub serial_number: u32,
    pub product_name: String,
    pub state: Option<u8>,
    /// The item was shorter than its fields (partial decode).
    pub truncated: bool,
}

/// Longest product name kept.
pub const MAX_NAME: usize = 64;

fn short_string(b: &[u8], at: usize) -> (String, bool) {
    let Some(&len) = b.get(at) else {
        return (String::new(), true);
    };
    let start = at + 1;
    let want = usize::from(len);
    let avail = b.get(start..).unwrap_or_default();
    let take = want.min(avail.len()).min(MAX_NAME);
    let s = avail.get(..take).unwrap_or_default();
    let text: String = String::from_utf8_lossy(s)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    (text, avail.len() < want)
}

impl IdentityItem {
    /// Identity attributes 1-7 (and 8, state, when present) starting at `b`.
    fn attributes(b: &[u8]) -> Option<IdentityItem> {
        let (product_name, short) = short_string(b, 14);
        let name_end = 15 + usize::from(b.get(14).copied().unwrap_or(0));
        Some(IdentityItem {
            encapsulation_version: None,
            socket: None,
            vendor_id: u16le(b, 0)?,
            device_type: u16le(b, 2)?,
            product_code: u16le(b, 4)?,
            revision_major: *b.get(6)?,
            revision_minor: *b.get(7)?,
            status: u16le(b, 8)?,
            serial_number: u32le(b, 10)?,
            product_name,
            state: b.get(name_end).copied(),
            truncated: short,
        })
    }

    /// The CIP Identity item of a ListIdentity reply.
    pub fn parse_list_identity(b: &[u8]) -> Option<IdentityItem> {
        let version = u16le(b, 0)?;
        let socket = SockAddr::parse(b.get(2..18)?);
        let mut id = IdentityItem::attributes(b.get(18..)?)?;
        id.encapsulation_version = Some(version);
        id.socket = socket;
        if id.state.is_none() {
            id.truncated = true;
        }
        Some(id)
    }

    /// The Identity object's Get_Attributes_All reply data.
    pub fn parse_attributes_all(b: &[u8]) -> Option<IdentityItem> {
        IdentityItem::attributes(b)
    }
}

/// A ListServices reply item (type 0x100).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceItem {
    pub type_id: u16,
    pub version: u16,
    pub capability_flags: u16,
    pub name: String,
}

impl ServiceItem {
    pub fn parse(item: &Item<'_>) -> Option<ServiceItem> {
        let b = item.data;
        let raw = b.get(4..).unwrap_or_default();
        let raw = raw.get(..raw.len().min(16)).unwrap_or_default();
        let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
        let name = String::from_utf8_lossy(raw.get(..end).unwrap_or_default())
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        Some(ServiceItem {
            type_id: item.type_id,
            version: u16le(b, 0)?,
            capability_flags: u16le(b, 2)?,
            name,
        })
    }
}

/// An implicit I/O datagram (UDP 2222): sequenced address item + connected data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoPacket<'a> {
    pub connection_id: u32,
    pub sequence: u32,
    /// The connected data item (CIP sequence count, run/idle header, data).
    pub data: &'a [u8],
}

/// Is this datagram implicit I/O (CPF starting with a sequenced address item)?
pub fn looks_like_io(b: &[u8]) -> bool {
    matches!(
        (u16le(b, 0), u16le(b, 2), u16le(b, 4)),
        (Some(1..=4), Some(0x8002), Some(8))
    )
}

/// Decodes an implicit I/O datagram.
pub fn parse_io(b: &[u8]) -> Result<IoPacket<'_>, EnipError> {
    let cpf = Cpf::parse(b)?;
    if cpf.items.is_empty() {
        return Err(EnipError::BadItemCount(0));
    }
    let addr = cpf
        .find(0x8002)
        .ok_or(EnipError::Truncated("sequenced address item"))?;
    let data = cpf.find(0x00B1).map(|i| i.data).unwrap_or_default();
    Ok(IoPacket {
        connection_id: u32le(addr.data, 0).ok_or(EnipError::Truncated("connection id"))?,
        sequence: u32le(addr.data, 4).ok_or(EnipError::Truncated("sequence number"))?,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn header_and_identity() {
        // ListIdentity reply of a 1756-ENBT/A (enip-sv-list-identity-udp.pcap frame 6,
        // values checked with tshark).
        let m = hex(
            "63003300000000000000000000000000c1debed10000000001000c002d0001000002af12\
             0a0101a4000000000000000001000c003a00040330008e4d52000b313735362d454e42542f4103",
        );
        let h = Header::parse(&m).unwrap();
        assert_eq!(h.command, 0x63);
        assert_eq!(h.message_len(), m.len());
        let cpf = Cpf::parse(&m[HEADER_LEN..]).unwrap();
        assert_eq!(cpf.items.len(), 1);
        let id = IdentityItem::parse_list_identity(cpf.items[0].data).unwrap();
        assert_eq!(id.vendor_id, 1);
        assert_eq!(id.device_type, 12);
        assert_eq!(id.product_code, 58);
        assert_eq!((id.revision_major, id.revision_minor), (4, 3));
        assert_eq!(id.serial_number, 0x0052_4d8e);
        assert_eq!(id.status, 0x0030);
        assert_eq!(h.context(), 0xd1be_dec1_0000_0000);
        assert_eq!(id.product_name, "1756-ENBT/A");
        assert_eq!(id.state, Some(3));
        let s = id.socket.unwrap();
        assert_eq!(s.port, 44818);
        assert_eq!(s.addr, Ipv4Addr::new(10, 1, 1, 164));
    }

    #[test]
    fn io_datagram() {
        // enip-icsnpp-cip-example.pcap frame 377 (UDP 2222).
        let b = hex("02000280080003064b00db943f00b1000600a587e80f0300");
        assert!(looks_like_io(&b));
        let io = parse_io(&b).unwrap();
        assert_eq!(io.connection_id, 0x004b0603);
        assert_eq!(io.sequence, 4_166_875);
        assert_eq!(io.data.len(), 6);
    }
}
