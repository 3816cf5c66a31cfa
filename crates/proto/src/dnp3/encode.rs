//! Builders for DNP3 traffic: link frames with CRCs, transport segmentation, and
//! application fragments with object headers.  Used by traffic generators and by
//! the round-trip tests.
//!
//! ```
//! use sluice_proto::dnp3::encode::{self, Fragment};
//! // READ class 1, 2, 3, 0 from master 1 to outstation 10, application sequence 0.
//! let frag = encode::read_class0123(0);
//! let bytes = encode::frames(true, 10, 1, 0, &frag);
//! assert_eq!(&bytes[..2], &[0x05, 0x64]);
//! // DIRECT OPERATE of a latch-on CROB on index 3.
//! let frag = Fragment::request(5, 1).crob(3, encode::CrobSpec::latch_on()).build();
//! assert_eq!(frag[1], 5);
//! ```
use super::link::{crc, MAX_USER_DATA, START};
use thiserror::Error;

/// Why a frame cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("{0} octets of user data exceed the 250 a link frame carries")]
    TooLong(usize),
}

/// One link frame: header and user data with their CRCs.
pub fn link_frame(
    control: u8,
    destination: u16,
    source: u16,
    user: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    if user.len() > MAX_USER_DATA {
        return Err(EncodeError::TooLong(user.len()));
    }
    // user.len() <= 250, so the length octet fits.
    let length = u8::try_from(user.len() + 5).map_err(|_| EncodeError::TooLong(user.len()))?;
    let mut f = Vec::with_capacity(10 + user.len() + 2 * user.len().div_ceil(16));
    f.extend_from_slice(&START);
    f.push(length);
    f.push(control);
    f.extend_from_slice(&destination.to_le_bytes());
    f.extend_from_slice(&source.to_le_bytes());
    let hc = crc(&f);
    f.extend_from_slice(&hc.to_le_bytes());
    for block in user.chunks(16) {
        f.extend_from_slice(block);
        f.extend_from_slice(&crc(block).to_le_bytes());
    }
    Ok(f)
}

/// A link-layer-only frame (no user data), e.g. request link status:
/// `link_only(0xC9, 10, 1)` from a master (DIR, PRM, function 9).
pub fn link_only(control: u8, destination: u16, source: u16) -> Vec<u8> {
    link_frame(control, destination, source, &[]).unwrap_or_default()
}

/// An application fragment cut into transport segments of at most 249 octets, each
/// in an unconfirmed-user-data link frame (`from_master` sets the DIR bit).
/// `transport_seq` numbers the first segment.
pub fn frames(
    from_master: bool,
    destination: u16,
    source: u16,
    transport_seq: u8,
    fragment: &[u8],
) -> Vec<u8> {
    let control = if from_master { 0xC4 } else { 0x44 };
    let chunks: Vec<&[u8]> = if fragment.is_empty() {
        vec![&[][..]]
    } else {
        fragment.chunks(MAX_USER_DATA - 1).collect()
    };
    let last = chunks.len().saturating_sub(1);
    let mut out = Vec::new();
    let mut seq = transport_seq & 0x3F;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let mut th = seq;
        if i == 0 {
            th |= 0x40;
        }
        if i == last {
            th |= 0x80;
        }
        let mut user = Vec::with_capacity(chunk.len() + 1);
        user.push(th);
        user.extend_from_slice(chunk);
        out.extend(link_frame(control, destination, source, &user).unwrap_or_default());
        seq = (seq + 1) & 0x3F;
    }
    out
}

/// Parameters of a control relay output block (g12v1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrobSpec {
    /// Control code: op type in bits 0-3, queue 0x10, clear 0x20, trip/close in 6-7.
    pub control_code: u8,
    pub count: u8,
    pub on_time_ms: u32,
    pub off_time_ms: u32,
    pub status: u8,
}

impl CrobSpec {
    pub fn latch_on() -> CrobSpec {
        CrobSpec {
            control_code: 0x03,
            count: 1,
            on_time_ms: 0,
            off_time_ms: 0,
            status: 0,
        }
    }
    pub fn latch_off() -> CrobSpec {
        CrobSpec {
            control_code: 0x04,
            ..CrobSpec::latch_on()
        }
    }
    pub fn pulse_on(on_time_ms: u32, off_time_ms: u32) -> CrobSpec {
        CrobSpec {
            control_code: 0x01,
            count: 1,
            on_time_ms,
            off_time_ms,
            status: 0,
        }
    }
    /// Trip (0x81) or close (0x41) with a pulse.
    pub fn trip_close(close: bool) -> CrobSpec {
        CrobSpec {
            control_code: if close { 0x41 } else { 0x81 },
            ..CrobSpec::pulse_on(1000, 0)
        }
    }
}

/// Builder of one application fragment (single, FIR and FIN set).
#[derive(Clone, Debug)]
pub struct Fragment {
    buf: Vec<u8>,
}

impl Fragment {
    /// A request with function `fc` and application sequence `seq`.
    pub fn request(fc: u8, seq: u8) -> Fragment {
        Fragment {
            buf: vec![0xC0 | (seq & 0x0F), fc],
        }
    }
    /// A response (129), unsolicited response (130, sets UNS and CON) or
    /// authenticate response (131) with internal indications `iin`.
    pub fn response(fc: u8, seq: u8, iin: u16) -> Fragment {
        let mut control = 0xC0 | (seq & 0x0F);
        if fc == 130 {
            control |= 0x30;
        }
        let mut buf = vec![control, fc];
        buf.extend_from_slice(&iin.to_be_bytes());
        Fragment { buf }
    }
    /// Replace the application control octet (FIR/FIN/CON/UNS/SEQ).
    pub fn control(mut self, control: u8) -> Fragment {
        if let Some(c) = self.buf.first_mut() {
            *c = control;
        }
        self
    }
    /// Header without range: all points (qualifier 0x06).
    pub fn all(mut self, group: u8, variation: u8) -> Fragment {
        self.buf.extend_from_slice(&[group, variation, 0x06]);
        self
    }
    /// Header with an 8-bit start-stop range (qualifier 0x00); object data follows
    /// with [`raw`](Self::raw).
    pub fn range8(mut self, group: u8, variation: u8, start: u8, stop: u8) -> Fragment {
        self.buf
            .extend_from_slice(&[group, variation, 0x00, start, stop]);
        self
    }
    /// Header with a 16-bit start-stop range (qualifier 0x01).
    pub fn range16(mut self, group: u8, variation: u8, start: u16, stop: u16) -> Fragment {
        self.buf.extend_from_slice(&[group, variation, 0x01]);
        self.buf.extend_from_slice(&start.to_le_bytes());
        self.buf.extend_from_slice(&stop.to_le_bytes());
        self
    }
    /// Header with an 8-bit count (qualifier 0x07).
    pub fn count8(mut self, group: u8, variation: u8, count: u8) -> Fragment {
        self.buf.extend_from_slice(&[group, variation, 0x07, count]);
        self
    }
    /// Header with a 16-bit count and 16-bit index prefixes (qualifier 0x28).
    pub fn indexed16(mut self, group: u8, variation: u8, count: u16) -> Fragment {
        self.buf.extend_from_slice(&[group, variation, 0x28]);
        self.buf.extend_from_slice(&count.to_le_bytes());
        self
    }
    /// Raw octets (object data, prefixes).
    pub fn raw(mut self, bytes: &[u8]) -> Fragment {
        self.buf.extend_from_slice(bytes);
        self
    }
    /// One CROB on `index` (g12v1, qualifier 0x28, count 1).
    pub fn crob(self, index: u16, c: CrobSpec) -> Fragment {
        let mut obj = Vec::with_capacity(13);
        obj.extend_from_slice(&index.to_le_bytes());
        obj.push(c.control_code);
        obj.push(c.count);
        obj.extend_from_slice(&c.on_time_ms.to_le_bytes());
        obj.extend_from_slice(&c.off_time_ms.to_le_bytes());
        obj.push(c.status);
        self.indexed16(12, 1, 1).raw(&obj)
    }
    /// One 32-bit analog output block (g41v1) on `index`.
    pub fn analog_output_i32(self, index: u16, value: i32) -> Fragment {
        let mut obj = index.to_le_bytes().to_vec();
        obj.extend_from_slice(&value.to_le_bytes());
        obj.push(0);
        self.indexed16(41, 1, 1).raw(&obj)
    }
    /// One 16-bit analog output block (g41v2) on `index`.
    pub fn analog_output_i16(self, index: u16, value: i16) -> Fragment {
        let mut obj = index.to_le_bytes().to_vec();
        obj.extend_from_slice(&value.to_le_bytes());
        obj.push(0);
        self.indexed16(41, 2, 1).raw(&obj)
    }
    /// One single-precision analog output block (g41v3) on `index`.
    pub fn analog_output_f32(self, index: u16, value: f32) -> Fragment {
        let mut obj = index.to_le_bytes().to_vec();
        obj.extend_from_slice(&value.to_le_bytes());
        obj.push(0);
        self.indexed16(41, 3, 1).raw(&obj)
    }
    /// One double-precision analog output block (g41v4) on `index`.
    pub fn analog_output_f64(self, index: u16, value: f64) -> Fragment {
        let mut obj = index.to_le_bytes().to_vec();
        obj.extend_from_slice(&value.to_le_bytes());
        obj.push(0);
        self.indexed16(41, 4, 1).raw(&obj)
    }
    /// One device attribute (g0, variation `attribute`) with a visible string value,
    /// qualifier 0x00 index 0: what outstations answer to a g0 read.
    pub fn attribute_string(self, attribute: u8, value: &str) -> Fragment {
        let bytes = value.as_bytes();
        let len = bytes.len().min(255);
        let mut obj = vec![1u8, u8::try_from(len).unwrap_or(u8::MAX)];
        obj.extend_from_slice(bytes.get(..len).unwrap_or_default());
        self.range8(0, attribute, 0, 0).raw(&obj)
    }
    /// The fragment's octets.
    pub fn build(self) -> Vec<u8> {
        self.buf
    }
}

/// READ of class 1, 2, 3 then class 0 (an integrity poll).
pub fn read_class0123(seq: u8) -> Vec<u8> {
    Fragment::request(1, seq)
        .all(60, 2)
        .all(60, 3)
        .all(60, 4)
        .all(60, 1)
        .build()
}

/// DIRECT OPERATE of one CROB.
pub fn direct_operate_crob(seq: u8, index: u16, c: CrobSpec) -> Vec<u8> {
    Fragment::request(5, seq).crob(index, c).build()
}

/// DIRECT OPERATE of one 16-bit analog output block (g41v2).
pub fn direct_operate_analog_i16(seq: u8, index: u16, value: i16) -> Vec<u8> {
    Fragment::request(5, seq)
        .analog_output_i16(index, value)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_real_read_frame() {
        // dnp3-zeek-read.pcap frame 4: READ class 0123, seq 8, transport seq 7, 3 -> 2.
        let frag = read_class0123(8);
        let bytes = frames(true, 2, 3, 7, &frag);
        let real = [
            0x05, 0x64, 0x14, 0xc4, 0x02, 0x00, 0x03, 0x00, 0x45, 0x03, 0xc7, 0xc8, 0x01, 0x3c,
            0x02, 0x06, 0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06, 0x3c, 0x01, 0x06, 0x42, 0xac,
        ];
        assert_eq!(bytes, real);
    }

    #[test]
    fn rebuilds_real_link_only_frame() {
        assert_eq!(
            link_only(0x49, 100, 1),
            vec![0x05, 0x64, 0x05, 0x49, 0x64, 0x00, 0x01, 0x00, 0x7e, 0x5f]
        );
    }

    #[test]
    fn too_long() {
        assert_eq!(
            link_frame(0xC4, 1, 2, &[0; 251]).unwrap_err(),
            EncodeError::TooLong(251)
        );
    }
}
