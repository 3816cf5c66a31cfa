//! DNS messages over UDP: a recursive query and its answer.
use super::AppError;
use std::net::IpAddr;

/// Record types.
pub mod rtype {
    pub const A: u16 = 1;
    pub const AAAA: u16 = 28;
}

fn name(buf: &mut Vec<u8>, name: &str) -> Result<(), AppError> {
    let bad = || AppError::BadName(name.to_string());
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() || trimmed.len() > 253 {
        return Err(bad());
    }
    for label in trimmed.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad());
        }
        buf.push(label.len() as u8);
        buf.extend_from_slice(label.as_bytes());
    }
    buf.push(0);
    Ok(())
}

fn header(buf: &mut Vec<u8>, id: u16, flags: u16, qd: u16, an: u16) {
    buf.extend_from_slice(&id.to_be_bytes());
    buf.extend_from_slice(&flags.to_be_bytes());
    for v in [qd, an, 0, 0] {
        buf.extend_from_slice(&v.to_be_bytes());
    }
}

/// A standard query with recursion desired.
pub fn query(buf: &mut Vec<u8>, id: u16, qname: &str, qtype: u16) -> Result<(), AppError> {
    let start = buf.len();
    header(buf, id, 0x0100, 1, 0);
    if let Err(e) = name(buf, qname) {
        buf.truncate(start);
        return Err(e);
    }
    buf.extend_from_slice(&qtype.to_be_bytes());
    buf.extend_from_slice(&1u16.to_be_bytes());
    Ok(())
}

/// The answer to [`query`]: the question again and one record per address of the
/// queried type (addresses of the other family are skipped), names compressed.
pub fn response(
    buf: &mut Vec<u8>,
    id: u16,
    qname: &str,
    qtype: u16,
    answers: &[IpAddr],
    ttl: u32,
) -> Result<(), AppError> {
    let start = buf.len();
    let fitting: Vec<&IpAddr> = answers
        .iter()
        .filter(|a| {
            matches!(
                (a, qtype),
                (IpAddr::V4(_), rtype::A) | (IpAddr::V6(_), rtype::AAAA)
            )
        })
        .collect();
    let an = u16::try_from(fitting.len()).map_err(|_| AppError::OutOfRange {
        what: "answer count",
        value: fitting.len(),
        min: 0,
        max: 0xffff,
    })?;
    let rcode = if fitting.is_empty() && answers.is_empty() {
        3
    } else {
        0
    };
    header(buf, id, 0x8180 | rcode, 1, an);
    if let Err(e) = name(buf, qname) {
        buf.truncate(start);
        return Err(e);
    }
    buf.extend_from_slice(&qtype.to_be_bytes());
    buf.extend_from_slice(&1u16.to_be_bytes());
    for a in fitting {
        buf.extend_from_slice(&[0xc0, 0x0c]); // pointer to the question's name
        buf.extend_from_slice(&qtype.to_be_bytes());
        buf.extend_from_slice(&1u16.to_be_bytes());
        buf.extend_from_slice(&ttl.to_be_bytes());
        match a {
            IpAddr::V4(v4) => {
                buf.extend_from_slice(&4u16.to_be_bytes());
                buf.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                buf.extend_from_slice(&16u16.to_be_bytes());
                buf.extend_from_slice(&v6.octets());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_answer_bytes() {
        let mut b = Vec::new();
        query(&mut b, 0xabcd, "example.com", rtype::A).unwrap();
        let mut expect = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7];
        expect.extend_from_slice(b"example");
        expect.push(3);
        expect.extend_from_slice(b"com");
        expect.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(b, expect);
        b.clear();
        response(
            &mut b,
            1,
            "example.com.",
            rtype::A,
            &["203.0.113.7".parse().unwrap()],
            300,
        )
        .unwrap();
        assert_eq!(&b[2..8], &[0x81, 0x80, 0, 1, 0, 1]);
        assert_eq!(
            &b[b.len() - 16..],
            &[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 203, 0, 113, 7]
        );
        b.clear();
        assert!(query(&mut b, 1, "a..b", rtype::A).is_err());
        assert!(query(&mut b, 1, &"x".repeat(64), rtype::A).is_err());
        assert!(b.is_empty());
    }
}
