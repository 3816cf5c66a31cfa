//! Just enough DER to name an X.509 certificate: the common names of its subject and
//! issuer (RFC 5280 `tbsCertificate`). No validation, no allocation beyond the names.

/// One DER element: (tag, content, total length).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], usize)> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    Some((tag, b.get(hdr..end)?, end))
}

/// The elements of a constructed value.
fn children(mut b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (tag, content, n) = tlv(b)?;
        b = b.get(n..)?;
        Some((tag, content))
    })
}

const CN: &[u8] = &[0x55, 0x04, 0x03];

/// The common name of a DER `Name`.
fn common_name(name: &[u8]) -> Option<String> {
    for (_, rdn) in children(name) {
        for (_, atv) in children(rdn) {
            let mut it = children(atv);
            let (t, oid) = it.next()?;
            if t != 0x06 || oid != CN {
                continue;
            }
            let (vt, v) = it.next()?;
            let s = match vt {
                // BMPString: UTF-16 big endian
                0x1E => {
                    let u: Vec<u16> = v
                        .chunks_exact(2)
                        .map(|p| u16::from_be_bytes([p[0], p[1]]))
                        .collect();
                    String::from_utf16_lossy(&u)
                }
                _ => String::from_utf8_lossy(v).into_owned(),
            };
            return Some(s.chars().filter(|c| !c.is_control()).take(256).collect());
        }
    }
    None
}

/// (subject CN, issuer CN) of a DER certificate, when it decodes.
pub fn names(der: &[u8]) -> (Option<String>, Option<String>) {
    let parse = || -> Option<(Option<String>, Option<String>)> {
        let (t, cert, _) = tlv(der)?;
        if t != 0x30 {
            return None;
        }
        let (t, tbs, _) = tlv(cert)?;
        if t != 0x30 {
            return None;
        }
        let mut it = children(tbs).peekable();
        if it.peek().is_some_and(|(t, _)| *t == 0xA0) {
            it.next();
        }
        let _serial = it.next()?;
        let _alg = it.next()?;
        let (_, issuer) = it.next()?;
        let _validity = it.next()?;
        let (_, subject) = it.next()?;
        Some((common_name(subject), common_name(issuer)))
    };
    parse().unwrap_or((None, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(tag: u8, parts: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = parts.concat();
        let mut v = vec![tag];
        if body.len() < 0x80 {
            v.push(body.len() as u8);
        } else {
            v.push(0x82);
            v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        }
        v.extend(body);
        v
    }

    fn name(cn: &str) -> Vec<u8> {
        let atv = seq(
            0x30,
            &[
                seq(0x06, &[CN.to_vec()]),
                seq(0x0C, &[cn.as_bytes().to_vec()]),
            ],
        );
        seq(0x30, &[seq(0x31, &[atv])])
    }

    #[test]
    fn subject_and_issuer() {
        let tbs = seq(
            0x30,
            &[
                seq(0xA0, &[vec![0x02, 0x01, 0x02]]),
                vec![0x02, 0x01, 0x01],
                seq(0x30, &[vec![0x06, 0x01, 0x2A]]),
                name("Test CA"),
                seq(0x30, &[]),
                name("open62541 server"),
            ],
        );
        let cert = seq(0x30, &[tbs, seq(0x30, &[]), vec![0x03, 0x01, 0x00]]);
        assert_eq!(
            names(&cert),
            (Some("open62541 server".into()), Some("Test CA".into()))
        );
        assert_eq!(names(&[0x30, 0x82, 0xff]), (None, None));
        assert_eq!(names(&[]), (None, None));
    }
}
