//! The record layout of the protocol, frame and engine targets: `[ctl][len: u16 LE][bytes]`
//! repeated. A record whose length runs past the end takes what is left, so every byte
//! string is a valid input and truncation never stops the parser early.

/// One record: its control byte and its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub ctl: u8,
    pub data: &'a [u8],
}

/// Iterator over the records of an input.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let (&ctl, tail) = self.rest.split_first()?;
        let (len, tail) = match tail {
            [a, b, t @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), t),
            _ => (tail.len(), tail),
        };
        let (data, rest) = tail.split_at(len.min(tail.len()));
        self.rest = rest;
        Some(Record { ctl, data })
    }
}

/// The records of `data`.
pub fn records(data: &[u8]) -> Records<'_> {
    Records { rest: data }
}

/// Appends a record (bytes past 65,535 go into further records with the same `ctl`).
pub fn push_record(out: &mut Vec<u8>, ctl: u8, data: &[u8]) {
    let mut chunks = data.chunks(usize::from(u16::MAX)).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[ctl, 0, 0]);
    }
    for c in chunks {
        out.push(ctl);
        out.extend_from_slice(&(c.len() as u16).to_le_bytes());
        out.extend_from_slice(c);
    }
}

/// Control byte of a stream record: bit 0 the direction (`to_client`).
pub fn stream_ctl(to_client: bool) -> u8 {
    u8::from(to_client)
}

/// Appends a reassembly-target segment (payload cut to 255 bytes).
pub fn push_segment(out: &mut Vec<u8>, seq: u32, flags: u8, payload: &[u8]) {
    let p = payload.get(..payload.len().min(255)).unwrap_or_default();
    out.extend_from_slice(&seq.to_le_bytes());
    out.push(flags);
    out.push(p.len() as u8);
    out.extend_from_slice(p);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_tolerate_truncation() {
        let mut v = Vec::new();
        push_record(&mut v, 1, b"abc");
        push_record(&mut v, 2, b"");
        push_record(&mut v, 3, b"defgh");
        let r: Vec<_> = records(&v).collect();
        assert_eq!(
            r,
            vec![
                Record {
                    ctl: 1,
                    data: b"abc"
                },
                Record { ctl: 2, data: b"" },
                Record {
                    ctl: 3,
                    data: b"defgh"
                },
            ]
        );
        // cut inside the last record: it keeps what is there
        let r: Vec<_> = records(&v[..v.len() - 2]).collect();
        assert_eq!(r[2].data, b"def");
        // a lone control byte and a one-byte length
        assert_eq!(
            records(&[7]).collect::<Vec<_>>(),
            vec![Record { ctl: 7, data: b"" }]
        );
        assert_eq!(
            records(&[7, 9]).collect::<Vec<_>>(),
            vec![Record {
                ctl: 7,
                data: &[9][..]
            }]
        );
    }

    #[test]
    fn long_payloads_split_into_records() {
        let big = vec![0x55u8; 70_000];
        let mut v = Vec::new();
        push_record(&mut v, 1, &big);
        let r: Vec<_> = records(&v).collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].data.len() + r[1].data.len(), 70_000);
    }
}
