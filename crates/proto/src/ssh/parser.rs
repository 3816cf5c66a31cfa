//! Pure decoding of the cleartext part of SSH (RFC 4253): the identification line
//! (`SSH-protoversion-softwareversion SP comments`), binary packet framing before
//! keys are in use, and the KEXINIT message with its name-lists.
use thiserror::Error;

/// Longest identification line (RFC 4253 §4.2: 255 characters with CR LF).
pub const MAX_LINE: usize = 255;
/// Largest binary packet accepted before encryption (`packet_length`).
pub const MAX_PACKET: usize = 64 * 1024;
/// Names kept per name-list.
pub const MAX_NAMES: usize = 64;

pub const MSG_DISCONNECT: u8 = 1;
pub const MSG_KEXINIT: u8 = 20;
pub const MSG_NEWKEYS: u8 = 21;

/// A decoding problem; [`Error::kind`] is the anomaly kind.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error("identification line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("malformed identification line")]
    BadBanner,
    #[error("binary packet length {0} out of range")]
    BadPacketLength(usize),
    #[error("padding length {padding} does not fit a {len}-byte packet")]
    BadPadding { padding: usize, len: usize },
    #[error("KEXINIT truncated")]
    TruncatedKexinit,
}

impl Error {
    pub fn kind(&self) -> &'static str {
        match self {
            Error::LineTooLong => "banner_too_long",
            Error::BadBanner => "bad_banner",
            Error::BadPacketLength(_) => "bad_packet_length",
            Error::BadPadding { .. } => "bad_padding",
            Error::TruncatedKexinit => "truncated_kexinit",
        }
    }
}

/// An identification line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Banner<'a> {
    pub proto_version: &'a [u8],
    pub software: &'a [u8],
    pub comments: Option<&'a [u8]>,
}

/// Decodes an identification line (without its line ending).
pub fn banner(line: &[u8]) -> Result<Banner<'_>, Error> {
    let rest = line.strip_prefix(b"SSH-").ok_or(Error::BadBanner)?;
    let dash = rest
        .iter()
        .position(|&b| b == b'-')
        .ok_or(Error::BadBanner)?;
    let proto_version = rest.get(..dash).ok_or(Error::BadBanner)?;
    let after = rest.get(dash + 1..).unwrap_or_default();
    let (software, comments) = match after.iter().position(|&b| b == b' ') {
        Some(sp) => (
            after.get(..sp).unwrap_or_default(),
            after.get(sp + 1..).filter(|c| !c.is_empty()),
        ),
        None => (after, None),
    };
    if proto_version.is_empty() || software.is_empty() {
        return Err(Error::BadBanner);
    }
    Ok(Banner {
        proto_version,
        software,
        comments,
    })
}

/// Length of the binary packet at the start of `b` (4 + packet_length), checked;
/// `Ok(None)` when the length field is incomplete.
pub fn packet_len(b: &[u8]) -> Result<Option<usize>, Error> {
    let Some(l) = b.get(..4) else {
        return Ok(None);
    };
    let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
    if !(5..=MAX_PACKET).contains(&n) {
        return Err(Error::BadPacketLength(n));
    }
    Ok(Some(4 + n))
}

/// The payload of a whole unencrypted packet (`packet` = length field + rest).
pub fn payload(packet: &[u8]) -> Result<&[u8], Error> {
    let len = packet.len().saturating_sub(4);
    let padding = usize::from(*packet.get(4).ok_or(Error::BadPacketLength(len))?);
    let end = packet
        .len()
        .checked_sub(padding)
        .filter(|e| *e >= 5)
        .ok_or(Error::BadPadding { padding, len })?;
    packet.get(5..end).ok_or(Error::BadPadding { padding, len })
}

/// A KEXINIT message's name-lists (as raw comma-separated text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KexInit<'a> {
    pub cookie: &'a [u8],
    pub kex: &'a [u8],
    pub host_key: &'a [u8],
    pub enc_c2s: &'a [u8],
    pub enc_s2c: &'a [u8],
    pub mac_c2s: &'a [u8],
    pub mac_s2c: &'a [u8],
    pub comp_c2s: &'a [u8],
    pub comp_s2c: &'a [u8],
    pub lang_c2s: &'a [u8],
    pub lang_s2c: &'a [u8],
    pub first_kex_follows: bool,
}

/// Decodes a KEXINIT payload (starting with the message code 20).
pub fn kexinit(p: &[u8]) -> Result<KexInit<'_>, Error> {
    let mut pos = 1usize;
    let cookie = p.get(pos..pos + 16).ok_or(Error::TruncatedKexinit)?;
    pos += 16;
    let mut lists = [&b""[..]; 10];
    for l in &mut lists {
        let n = p.get(pos..pos + 4).ok_or(Error::TruncatedKexinit)?;
        let n = u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize;
        pos += 4;
        *l = p
            .get(pos..pos.checked_add(n).ok_or(Error::TruncatedKexinit)?)
            .ok_or(Error::TruncatedKexinit)?;
        pos += n;
    }
    let first_kex_follows = p.get(pos).is_some_and(|&b| b != 0);
    let [kex, host_key, enc_c2s, enc_s2c, mac_c2s, mac_s2c, comp_c2s, comp_s2c, lang_c2s, lang_s2c] =
        lists;
    Ok(KexInit {
        cookie,
        kex,
        host_key,
        enc_c2s,
        enc_s2c,
        mac_c2s,
        mac_s2c,
        comp_c2s,
        comp_s2c,
        lang_c2s,
        lang_s2c,
        first_kex_follows,
    })
}

/// The names of a name-list.
pub fn names(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&b| b == b',').filter(|n| !n.is_empty())
}

/// RFC 4253 §7.1 negotiation: the first client algorithm the server also lists.
pub fn negotiate<'a>(client: &'a [u8], server: &[u8]) -> Option<&'a [u8]> {
    names(client).find(|c| names(server).any(|s| s == *c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners() {
        let b = banner(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u5").unwrap();
        assert_eq!(b.proto_version, b"2.0");
        assert_eq!(b.software, b"OpenSSH_9.2p1");
        assert_eq!(b.comments, Some(&b"Debian-2+deb12u5"[..]));
        let b = banner(b"SSH-1.99-Cisco-1.25").unwrap();
        assert_eq!(
            (b.proto_version, b.software),
            (&b"1.99"[..], &b"Cisco-1.25"[..])
        );
        assert!(banner(b"SSH-2.0").is_err());
        assert!(banner(b"HTTP/1.1 200").is_err());
    }

    #[test]
    fn packets() {
        assert_eq!(packet_len(&[0, 0, 0, 12]).unwrap(), Some(16));
        assert!(packet_len(&[0, 0, 0, 1]).is_err());
        assert!(packet_len(&[0xff, 0, 0, 1]).is_err());
        assert_eq!(packet_len(&[0, 0]).unwrap(), None);
        let p = [0, 0, 0, 6, 4, 21, 0, 0, 0, 0];
        assert_eq!(payload(&p).unwrap(), &[21]);
        assert!(payload(&[0, 0, 0, 6, 9, 21, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(b"a,b,c", b"c,b"), Some(&b"b"[..]));
        assert_eq!(negotiate(b"a", b"b"), None);
        let mut k = vec![20u8];
        k.extend_from_slice(&[0; 16]);
        for l in [
            &b"kx"[..],
            b"hk",
            b"e1",
            b"e2",
            b"m1",
            b"m2",
            b"none",
            b"none",
            b"",
            b"",
        ] {
            k.extend_from_slice(&(l.len() as u32).to_be_bytes());
            k.extend_from_slice(l);
        }
        k.extend_from_slice(&[1, 0, 0, 0, 0]);
        let ki = kexinit(&k).unwrap();
        assert_eq!(ki.kex, b"kx");
        assert_eq!(ki.comp_s2c, b"none");
        assert!(ki.first_kex_follows);
        assert!(kexinit(&k[..30]).is_err());
    }
}
