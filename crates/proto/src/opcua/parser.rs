//! Zero-copy decoding of OPC UA Connection Protocol and Secure Conversation framing
//! (Part 6, 7.1 and 6.7): the 8-byte message header, HEL / ACK / ERR / RHE bodies
//! and the secure conversation headers of OPN / MSG / CLO.
use super::binary::Reader;

/// Length of the message header.
pub const HEADER_LEN: usize = 8;

/// The message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub message_type: [u8; 3],
    /// `F` final, `C` intermediate, `A` abort.
    pub chunk: u8,
    /// Whole message size including the header.
    pub size: u32,
}

pub const TYPES: [&[u8; 3]; 7] = [b"HEL", b"ACK", b"ERR", b"RHE", b"OPN", b"MSG", b"CLO"];

impl Header {
    pub fn parse(b: &[u8]) -> Option<Header> {
        let t = b.get(..3)?;
        Some(Header {
            message_type: [*t.first()?, *t.get(1)?, *t.get(2)?],
            chunk: *b.get(3)?,
            size: u32::from_le_bytes(b.get(4..8)?.try_into().ok()?),
        })
    }

    pub fn type_str(&self) -> &'static str {
        match &self.message_type {
            b"HEL" => "HEL",
            b"ACK" => "ACK",
            b"ERR" => "ERR",
            b"RHE" => "RHE",
            b"OPN" => "OPN",
            b"MSG" => "MSG",
            b"CLO" => "CLO",
            _ => "???",
        }
    }

    /// The secure conversation messages (carrying a channel id).
    pub fn is_secure(&self) -> bool {
        matches!(&self.message_type, b"OPN" | b"MSG" | b"CLO")
    }
}

/// Is this a valid header (known type, chunk type, minimal size for the type)?
pub fn valid(h: &Header) -> bool {
    if !TYPES.contains(&&h.message_type) {
        return false;
    }
    let chunk_ok = match &h.message_type {
        b"OPN" | b"MSG" | b"CLO" => matches!(h.chunk, b'F' | b'C' | b'A'),
        _ => h.chunk == b'F',
    };
    let min = match &h.message_type {
        b"HEL" => 32,
        b"ACK" => 28,
        b"ERR" => 16,
        b"RHE" => 16,
        b"OPN" => 24,
        _ => 24,
    };
    chunk_ok && h.size >= min
}

/// HEL / ACK body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub protocol_version: u32,
    pub receive_buffer_size: u32,
    pub send_buffer_size: u32,
    pub max_message_size: u32,
    pub max_chunk_count: u32,
    /// HEL only.
    pub endpoint_url: Option<String>,
}

pub fn parse_hello(body: &[u8], with_url: bool) -> Option<Hello> {
    let mut r = Reader::new(body);
    Some(Hello {
        protocol_version: r.u32()?,
        receive_buffer_size: r.u32()?,
        send_buffer_size: r.u32()?,
        max_message_size: r.u32()?,
        max_chunk_count: r.u32()?,
        endpoint_url: if with_url { r.string()? } else { None },
    })
}

/// ERR body: (error code, reason).
pub fn parse_error(body: &[u8]) -> Option<(u32, Option<String>)> {
    let mut r = Reader::new(body);
    let code = r.u32()?;
    let reason = r.string().flatten();
    Some((code, reason))
}

/// RHE body: (server URI, endpoint URL).
pub fn parse_reverse_hello(body: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let mut r = Reader::new(body);
    Some((r.string()?, r.string()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello() {
        // opcua-icsnpp-open62541-mainloop.pcap: HEL of 56 bytes to opc.tcp://localhost:4840
        let mut m = b"HELF".to_vec();
        m.extend_from_slice(&56u32.to_le_bytes());
        for v in [0u32, 65535, 65535, 0, 0] {
            m.extend_from_slice(&v.to_le_bytes());
        }
        let url = b"opc.tcp://localhost:4840";
        m.extend_from_slice(&(url.len() as i32).to_le_bytes());
        m.extend_from_slice(url);
        assert_eq!(m.len(), 56);
        let h = Header::parse(&m).unwrap();
        assert!(valid(&h));
        let hel = parse_hello(&m[HEADER_LEN..], true).unwrap();
        assert_eq!(hel.receive_buffer_size, 65535);
        assert_eq!(
            hel.endpoint_url.as_deref(),
            Some("opc.tcp://localhost:4840")
        );
        assert!(!valid(&Header::parse(b"HELX\x38\0\0\0").unwrap()));
        assert!(!valid(&Header::parse(b"GET / HT").unwrap()));
    }
}
