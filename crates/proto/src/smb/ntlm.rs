//! NTLMSSP messages (MS-NLMP 2.2.1) found inside SPNEGO security blobs: user, domain,
//! workstation, and the server's names and OS version from the CHALLENGE. Challenge
//! and response values (hashes) are never extracted.

/// `NTLMSSP\0`.
pub const SIGNATURE: &[u8] = b"NTLMSSP\0";
/// Kerberos OIDs (1.2.840.113554.1.2.2 and the Microsoft 1.2.840.48018.1.2.2), DER.
const KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const MS_KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// Longest name kept (characters).
const MAX_NAME: usize = 256;

/// What an NTLMSSP message tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ntlm {
    /// 1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE.
    pub message_type: u32,
    pub user: Option<String>,
    pub domain: Option<String>,
    pub workstation: Option<String>,
    /// AUTHENTICATE with an empty user and empty NT response.
    pub anonymous: bool,
    /// CHALLENGE target info: NetBIOS and DNS computer / domain names.
    pub nb_computer: Option<String>,
    pub nb_domain: Option<String>,
    pub dns_computer: Option<String>,
    pub dns_domain: Option<String>,
    /// Version structure (major, minor, build) when present.
    pub version: Option<(u8, u8, u16)>,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// UTF-16LE (or OEM bytes) to a bounded string.
pub fn decode(b: &[u8], unicode: bool) -> String {
    if unicode {
        let units = b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take(MAX_NAME);
        char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    } else {
        String::from_utf8_lossy(b.get(..MAX_NAME.min(b.len())).unwrap_or_default()).into_owned()
    }
}

/// A (len, maxlen, offset) security buffer field at `at`.
fn field(msg: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(le16(msg, at)?);
    let off = le32(msg, at + 4)? as usize;
    msg.get(off..off.checked_add(len)?)
}

fn string(msg: &[u8], at: usize, unicode: bool) -> Option<String> {
    field(msg, at)
        .map(|b| decode(b, unicode))
        .filter(|s| !s.is_empty())
}

/// Authentication mechanism seen in a security blob.
pub fn mechanism(blob: &[u8]) -> Option<&'static str> {
    if find(blob, SIGNATURE).is_some() {
        Some("ntlmssp")
    } else if find(blob, KRB5_OID).is_some() || find(blob, MS_KRB5_OID).is_some() {
        Some("kerberos")
    } else {
        None
    }
}

/// Finds and decodes the NTLMSSP message inside `blob`.
pub fn parse(blob: &[u8]) -> Option<Ntlm> {
    let at = find(blob, SIGNATURE)?;
    let msg = blob.get(at..)?;
    let ty = le32(msg, 8)?;
    let mut n = Ntlm {
        message_type: ty,
        ..Ntlm::default()
    };
    match ty {
        1 => {
            let flags = le32(msg, 12).unwrap_or(0);
            // Domain / workstation are OEM strings, present only when flagged.
            if flags & 0x1000 != 0 {
                n.domain = string(msg, 16, false);
            }
            if flags & 0x2000 != 0 {
                n.workstation = string(msg, 24, false);
            }
            if flags & 0x0200_0000 != 0 {
                n.version = version(msg, 32);
            }
        }
        2 => {
            let flags = le32(msg, 20).unwrap_or(0);
            let unicode = flags & 1 != 0;
            if let Some(info) = field(msg, 40) {
                let mut p = 0usize;
                while let (Some(id), Some(len)) = (le16(info, p), le16(info, p + 2)) {
                    if id == 0 {
                        break;
                    }
                    let v = info
                        .get(p + 4..p + 4 + usize::from(len))
                        .unwrap_or_default();
                    let s = Some(decode(v, true)).filter(|s| !s.is_empty());
                    match id {
                        1 => n.nb_computer = s,
                        2 => n.nb_domain = s,
                        3 => n.dns_computer = s,
                        4 => n.dns_domain = s,
                        _ => {}
                    }
                    p += 4 + usize::from(len);
                }
            }
            n.domain = string(msg, 12, unicode);
            if flags & 0x0200_0000 != 0 {
                n.version = version(msg, 48);
            }
        }
        3 => {
            let flags = le32(msg, 60).unwrap_or(1);
            let unicode = flags & 1 != 0;
            n.domain = string(msg, 28, unicode);
            n.user = string(msg, 36, unicode);
            n.workstation = string(msg, 44, unicode);
            let nt_len = le16(msg, 20).unwrap_or(0);
            n.anonymous = n.user.is_none() && nt_len == 0;
            if flags & 0x0200_0000 != 0 {
                n.version = version(msg, 64);
            }
        }
        _ => return None,
    }
    Some(n)
}

fn version(msg: &[u8], at: usize) -> Option<(u8, u8, u16)> {
    let major = *msg.get(at)?;
    let minor = *msg.get(at + 1)?;
    let build = le16(msg, at + 2)?;
    (major != 0).then_some((major, minor, build))
}

/// NTLMSSP message type name.
pub fn message_name(t: u32) -> &'static str {
    match t {
        1 => "negotiate",
        2 => "challenge",
        3 => "authenticate",
        _ => "unknown",
    }
}
