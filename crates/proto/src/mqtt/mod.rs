//! MQTT 3.1, 3.1.1 and 5.0 over TCP: fixed header (type, flags, bounded remaining
//! length), CONNECT (protocol, client id, clean session, keep alive, will, user
//! name; the password only as `password_present`), CONNACK, PUBLISH (topic, QoS,
//! retain, dup, packet id, payload length), SUBSCRIBE / SUBACK, UNSUBSCRIBE /
//! UNSUBACK, PUBACK / PUBREC / PUBREL / PUBCOMP, PINGREQ / PINGRESP, DISCONNECT,
//! AUTH, and MQTT 5 properties checked against their declared length.
//!
//! - [`parser`]: pure decoding of packets.
//! - [`state`]: framing (big payloads skipped, never buffered) and pairing.
//! - [`record`]: the event record [`Transaction`].
//!
//! `function_code` is the packet type (1 CONNECT ... 15 AUTH); `function` its name.
//!
//! Anomaly kinds: `bad_remaining_length`, `reserved_packet_type`, `bad_flags`,
//! `truncated_packet`, `bad_property_length`, `unknown_property`, `bad_qos`,
//! `bad_protocol`, `packet_too_large`, `gap`, `truncated`, `not_mqtt`.
use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};

pub mod parser;
pub mod record;
pub mod state;

pub use record::{Connect, Properties, Publish, Reply, Topic, Transaction, Will};
pub use state::MqttParser;

/// Content probe: a CONNECT packet (`0x10`, a valid remaining length) whose
/// protocol name is `MQTT` (level 4 or 5) or `MQIsdp` (level 3).
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    match data.first() {
        None => return Probe::NeedMore,
        Some(0x10) => {}
        Some(_) => return Probe::NoMatch,
    }
    let h = match parser::fixed_header(data, true) {
        Ok(Some(h)) => h,
        Ok(None) => return Probe::NeedMore,
        Err(_) => return Probe::NoMatch,
    };
    if h.remaining < 10 {
        return Probe::NoMatch;
    }
    let body = data.get(h.header_len..).unwrap_or_default();
    const NAMES: [(&[u8], &[u8]); 2] =
        [(b"\x00\x04MQTT", b"\x04\x05"), (b"\x00\x06MQIsdp", b"\x03")];
    let mut need = false;
    for (name, levels) in NAMES {
        let n = body.len().min(name.len());
        if body.get(..n) != name.get(..n) {
            continue;
        }
        match body.get(name.len()) {
            None => need = true,
            Some(l) if levels.contains(l) => return Probe::Match,
            Some(_) => {}
        }
    }
    if need {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(MqttParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "mqtt",
    transports: &[Transport::Tcp],
    ports: &[1883],
    probe,
    new_parser,
};

impl crate::ProtoRecord for Transaction {
    fn function_code(&self) -> Option<u32> {
        Some(u32::from(self.packet_type))
    }
    fn function(&self) -> Option<&str> {
        Some(self.packet_type_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_decisions() {
        use Direction::*;
        let c = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00";
        assert_eq!(probe(ToServer, c), Probe::Match);
        assert_eq!(probe(ToServer, &c[..5]), Probe::NeedMore);
        assert_eq!(probe(ToServer, &c[..1]), Probe::NeedMore);
        let old = b"\x10\x0e\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x00";
        assert_eq!(probe(ToServer, old), Probe::Match);
        assert_eq!(
            probe(ToServer, b"\x10\x0c\x00\x04MQTT\x09\x02\x00\x3c\x00\x00"),
            Probe::NoMatch
        );
        assert_eq!(
            probe(ToServer, b"\x10\x0c\x00\x04HTTP\x04\x02\x00\x3c\x00\x00"),
            Probe::NoMatch
        );
        assert_eq!(probe(ToServer, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(probe(ToServer, &[0x16, 3, 1, 0, 0x80, 1]), Probe::NoMatch);
        assert_eq!(probe(ToClient, &[0x20, 2, 0, 0]), Probe::NoMatch);
    }
}
