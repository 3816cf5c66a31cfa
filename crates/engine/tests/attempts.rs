//! Connection attempts end when they are proven over: a reset before any payload ends
//! the flow record at once (a stray packet afterwards is absorbed, not reported twice);
//! a SYN nobody answers ends after the 5 s attempt timeout, also on a quiet link
//! (`Engine::advance`); an answered connection keeps the long idle timeout.
use sluice_engine::event::{Body, Event};
use sluice_engine::{Engine, EngineConfig};

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * SEC;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// An Ethernet/IPv4/TCP frame without payload.
fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: u8) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&1000u32.to_be_bytes());
    let ack = if flags & ACK != 0 { 1001u32 } else { 0 };
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f
}

fn feed(e: &mut Engine, ts: i64, frame: &[u8]) {
    e.packet(ts, 1, frame, frame.len() as u32);
}

/// The flow records emitted so far: (client port, end reason).
fn flows(e: &mut Engine) -> Vec<(u16, String)> {
    e.take_events()
        .filter_map(|ev: Event| match &ev.body {
            Body::Flow(f) => Some((
                ev.src.map_or(0, |s| s.port),
                f.end_reason.as_str().to_string(),
            )),
            _ => None,
        })
        .collect()
}

const C: [u8; 4] = [10, 10, 2, 99];
const S: [u8; 4] = [10, 10, 1, 10];

#[test]
fn a_refused_attempt_is_reported_at_its_reset_once() {
    let mut e = Engine::new(EngineConfig::default());
    feed(&mut e, T0, &tcp(C, 40_000, S, 502, SYN));
    assert!(flows(&mut e).is_empty());
    feed(&mut e, T0 + 1_000, &tcp(S, 502, C, 40_000, RST | ACK));
    assert_eq!(flows(&mut e), [(40_000, "rst".to_string())]);
    // A stray reset of the same attempt: counted in the table, not a second record.
    feed(&mut e, T0 + 2_000, &tcp(S, 502, C, 40_000, RST | ACK));
    e.finish();
    assert!(flows(&mut e).is_empty());
}

#[test]
fn an_unanswered_attempt_ends_after_five_seconds_on_a_quiet_link() {
    let mut e = Engine::new(EngineConfig::default());
    feed(&mut e, T0, &tcp(C, 40_001, S, 502, SYN));
    // An answered connection that carries nothing yet.
    feed(&mut e, T0, &tcp(C, 40_002, S, 102, SYN));
    feed(&mut e, T0 + 1_000, &tcp(S, 102, C, 40_002, SYN | ACK));
    e.advance(T0 + 3 * SEC);
    assert!(flows(&mut e).is_empty());
    e.advance(T0 + 7 * SEC);
    assert_eq!(flows(&mut e), [(40_001, "idle_timeout".to_string())]);
    e.advance(T0 + 60 * SEC);
    assert!(flows(&mut e).is_empty());
    // The clock only moves forward.
    e.advance(T0);
    e.finish();
    assert_eq!(flows(&mut e), [(40_002, "end_of_capture".to_string())]);
}
