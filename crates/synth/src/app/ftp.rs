//! FTP control channel (RFC 959, RFC 2428): commands, single and multi-line replies,
//! PORT / PASV host-port encodings.
use std::net::Ipv4Addr;

/// `VERB[ arg]\r\n`.
pub fn command(buf: &mut Vec<u8>, verb: &str, arg: Option<&str>) {
    buf.extend_from_slice(verb.as_bytes());
    if let Some(a) = arg {
        buf.push(b' ');
        buf.extend_from_slice(a.as_bytes());
    }
    buf.extend_from_slice(b"\r\n");
}

/// `NNN text\r\n`.
pub fn reply(buf: &mut Vec<u8>, code: u16, text: &str) {
    buf.extend_from_slice(format!("{code} {text}\r\n").as_bytes());
}

/// `NNN-first\r\n`, ` line\r\n`..., `NNN last\r\n` (at least one line is needed for
/// the first and one for the last; with one line this is a single-line reply).
pub fn multiline_reply(buf: &mut Vec<u8>, code: u16, lines: &[&str]) {
    match lines {
        [] => reply(buf, code, ""),
        [one] => reply(buf, code, one),
        [first, middle @ .., last] => {
            buf.extend_from_slice(format!("{code}-{first}\r\n").as_bytes());
            for l in middle {
                buf.extend_from_slice(format!(" {l}\r\n").as_bytes());
            }
            reply(buf, code, last);
        }
    }
}

/// `h1,h2,h3,h4,p1,p2` for PORT and the PASV reply.
pub fn host_port(ip: Ipv4Addr, port: u16) -> String {
    let o = ip.octets();
    format!(
        "{},{},{},{},{},{}",
        o[0],
        o[1],
        o[2],
        o[3],
        port >> 8,
        port & 0xff
    )
}

/// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
pub fn pasv_reply(buf: &mut Vec<u8>, ip: Ipv4Addr, port: u16) {
    reply(
        buf,
        227,
        &format!("Entering Passive Mode ({}).", host_port(ip, port)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_exact() {
        let mut b = Vec::new();
        command(&mut b, "USER", Some("op"));
        assert_eq!(b, b"USER op\r\n");
        b.clear();
        multiline_reply(&mut b, 211, &["Features:", "EPSV", "End"]);
        assert_eq!(b, b"211-Features:\r\n EPSV\r\n211 End\r\n");
        assert_eq!(
            host_port(Ipv4Addr::new(10, 0, 0, 1), 50000),
            "10,0,0,1,195,80"
        );
        b.clear();
        pasv_reply(&mut b, Ipv4Addr::new(10, 0, 0, 1), 2000);
        assert_eq!(b, b"227 Entering Passive Mode (10,0,0,1,7,208).\r\n");
    }
}
