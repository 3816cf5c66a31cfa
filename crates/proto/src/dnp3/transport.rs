//! DNP3 transport function: reassembly of application fragments from link frames.
//!
//! Every link frame's user data starts with one transport octet: FIN (0x80),
//! FIR (0x40) and a 6-bit sequence number.  A fragment is the concatenation of the
//! segments from FIR to FIN with consecutive sequence numbers, per sender/receiver.
use super::app::Issue;
use crate::Direction;

/// Largest application fragment reassembled; larger ones are dropped with
/// `fragment_too_large`.
pub const MAX_FRAGMENT: usize = 2048;
/// Reassembly contexts kept per flow (distinct direction/source/destination).
pub const MAX_CONTEXTS: usize = 8;

/// The transport header octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportHeader(pub u8);

impl TransportHeader {
    pub fn fin(self) -> bool {
        self.0 & 0x80 != 0
    }
    pub fn fir(self) -> bool {
        self.0 & 0x40 != 0
    }
    pub fn seq(self) -> u8 {
        self.0 & 0x3F
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No fragment in progress.
    Idle,
    /// Segments of a fragment are being collected.
    Active,
    /// The fragment in progress was dropped: ignore segments up to its FIN.
    Discarding,
}

/// Who sends to whom: the reassembly key.
pub type Key = (Direction, u16, u16);

#[derive(Debug)]
struct Context {
    key: Key,
    buf: Vec<u8>,
    state: State,
    next_seq: u8,
    last_seq: Option<u8>,
}

/// Transport reassembly state of one flow.
#[derive(Debug, Default)]
pub struct Reassembler {
    contexts: Vec<Context>,
}

fn report(issues: &mut Vec<Issue>, kind: &'static str, message: String) {
    issues.push(Issue { kind, message });
}

impl Reassembler {
    /// Feed the user data of one link frame.  Returns a complete application
    /// fragment when this segment finishes one (borrowed from `user` for
    /// single-segment fragments, from the reassembly buffer otherwise).
    pub fn push<'a>(
        &'a mut self,
        key: Key,
        user: &'a [u8],
        issues: &mut Vec<Issue>,
    ) -> Option<&'a [u8]> {
        let (&th, payload) = user.split_first()?;
        let th = TransportHeader(th);
        let idx = match self.contexts.iter().position(|c| c.key == key) {
            Some(i) => i,
            None => {
                if self.contexts.len() >= MAX_CONTEXTS {
                    self.contexts.remove(0);
                }
                self.contexts.push(Context {
                    key,
                    buf: Vec::new(),
                    state: State::Idle,
                    next_seq: 0,
                    last_seq: None,
                });
                self.contexts.len() - 1
            }
        };
        let ctx = self.contexts.get_mut(idx)?;
        let seq = th.seq();
        if th.fir() {
            if ctx.state == State::Active {
                report(
                    issues,
                    "transport_incomplete",
                    format!(
                        "transport segment with FIR (seq {seq}) before the FIN of the previous fragment ({} octets dropped)",
                        ctx.buf.len()
                    ),
                );
            }
            ctx.buf.clear();
            ctx.last_seq = Some(seq);
            ctx.next_seq = (seq + 1) & 0x3F;
            if th.fin() {
                ctx.state = State::Idle;
                return Some(payload);
            }
            ctx.buf.extend_from_slice(payload);
            ctx.state = State::Active;
            return None;
        }
        match ctx.state {
            State::Idle => {
                if ctx.last_seq == Some(seq) {
                    // Retransmitted final segment: already handled.
                    return None;
                }
                report(
                    issues,
                    "transport_no_fir",
                    format!("transport segment seq {seq} without a first segment: ignored"),
                );
                ctx.state = if th.fin() {
                    State::Idle
                } else {
                    State::Discarding
                };
                ctx.last_seq = Some(seq);
                None
            }
            State::Discarding => {
                if th.fin() {
                    ctx.state = State::Idle;
                }
                ctx.last_seq = Some(seq);
                None
            }
            State::Active => {
                if ctx.last_seq == Some(seq) {
                    // Link-layer retry of the previous segment.
                    return None;
                }
                let drop_kind = if seq != ctx.next_seq {
                    Some((
                        "transport_sequence",
                        format!(
                            "transport sequence {seq} where {} was expected: fragment dropped",
                            ctx.next_seq
                        ),
                    ))
                } else if ctx.buf.len() + payload.len() > MAX_FRAGMENT {
                    Some((
                        "fragment_too_large",
                        format!("application fragment larger than {MAX_FRAGMENT} octets: dropped"),
                    ))
                } else {
                    None
                };
                ctx.last_seq = Some(seq);
                if let Some((kind, message)) = drop_kind {
                    report(issues, kind, message);
                    ctx.buf.clear();
                    ctx.state = if th.fin() {
                        State::Idle
                    } else {
                        State::Discarding
                    };
                    return None;
                }
                ctx.buf.extend_from_slice(payload);
                ctx.next_seq = (seq + 1) & 0x3F;
                if th.fin() {
                    ctx.state = State::Idle;
                    return Some(&ctx.buf);
                }
                None
            }
        }
    }

    /// Forget every fragment in progress in `dir` (after a gap).
    pub fn reset(&mut self, dir: Direction) {
        self.contexts.retain(|c| c.key.0 != dir);
    }

    /// Number of octets held in fragments in progress.
    pub fn buffered(&self) -> usize {
        self.contexts
            .iter()
            .filter(|c| c.state == State::Active)
            .map(|c| c.buf.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: Key = (Direction::ToClient, 10, 1);

    #[test]
    fn single_segment_is_borrowed() {
        let mut r = Reassembler::default();
        let mut issues = Vec::new();
        let user = [0xc0, 0xc1, 0x81, 0x00, 0x00];
        let frag = r.push(K, &user, &mut issues).unwrap();
        assert_eq!(frag, &user[1..]);
        assert!(issues.is_empty());
    }

    #[test]
    fn multi_segment_with_short_last() {
        // Like stacks/dnp3.pcap: three 249-octet segments then one of 2 octets.
        let mut r = Reassembler::default();
        let mut issues = Vec::new();
        let mut expected = Vec::new();
        for (i, th) in [0x41u8, 0x02, 0x03].iter().enumerate() {
            let mut user = vec![*th];
            user.extend(std::iter::repeat_n(i as u8, 249));
            expected.extend_from_slice(&user[1..]);
            assert!(r.push(K, &user, &mut issues).is_none());
        }
        let last = [0x84, 0xaa, 0xbb];
        expected.extend_from_slice(&last[1..]);
        let frag = r.push(K, &last, &mut issues).unwrap().to_vec();
        assert_eq!(frag, expected);
        assert!(issues.is_empty());
    }

    #[test]
    fn sequence_errors_and_limits() {
        let mut r = Reassembler::default();
        let mut issues = Vec::new();
        assert!(r.push(K, &[0x41, 1, 2], &mut issues).is_none());
        // duplicate of seq 1: ignored
        assert!(r.push(K, &[0x41 & 0x3f, 1, 2], &mut issues).is_none());
        assert!(issues.is_empty());
        // seq 5 instead of 2
        assert!(r.push(K, &[0x85, 3], &mut issues).is_none());
        assert_eq!(issues[0].kind, "transport_sequence");
        // middle segment without FIR: reported once, then discarded up to FIN
        assert!(r.push(K, &[0x07, 3], &mut issues).is_none());
        assert!(r.push(K, &[0x88, 3], &mut issues).is_none());
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[1].kind, "transport_no_fir");
        // too large
        issues.clear();
        let mut seg = vec![0x40u8];
        seg.extend(std::iter::repeat_n(0u8, 249));
        assert!(r.push(K, &seg, &mut issues).is_none());
        for s in 1..=9u8 {
            seg[0] = s;
            assert!(r.push(K, &seg, &mut issues).is_none());
        }
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].kind, "fragment_too_large");
        assert_eq!(r.buffered(), 0);
    }
}
