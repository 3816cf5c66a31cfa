//! TeamViewer recognition on byte streams built after the public DPI signatures the
//! module documents (magic 17 24 / 11 30 + command byte; DynGate HTTP).
mod remote_support;
mod support;
use remote_support::{assert_chunk_invariant, feed_chunked, records};
use sluice_proto::teamviewer::DESC;
use sluice_proto::Direction::{self, ToClient, ToServer};

fn msg(magic: [u8; 2], cmd: u8, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![magic[0], magic[1], cmd];
    m.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    m.extend_from_slice(payload);
    m
}

#[test]
fn handshake_commands_and_framing_loss() {
    let mut client = msg([0x17, 0x24], 0x0a, &[1; 32]);
    client.extend(msg([0x11, 0x30], 0x1f, &[2; 7]));
    client.extend_from_slice(&[0x99; 40]);
    let steps: Vec<(Direction, Vec<u8>)> = vec![
        (ToServer, client),
        (ToClient, msg([0x17, 0x24], 0x0a, &[3; 32])),
    ];
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["kind"], "handshake");
    assert_eq!(recs[0]["detected_by"], "content");
    assert_eq!(recs[0]["client_command"], 10);
    assert_eq!(recs[0]["server_command"], 10);
    assert_eq!(recs[1]["client_commands"], serde_json::json!([10, 31]));
    assert_eq!(recs[1]["server_commands"], serde_json::json!([10]));
    assert_eq!(recs[1]["client_messages"], 2);
    assert_eq!(recs[1]["framing_lost"], true);
    assert_chunk_invariant(&DESC, &steps);
}

#[test]
fn dyngate_http() {
    let steps = vec![(
        ToServer,
        b"GET /din.aspx?s=00000000&id=0&client=DynGate&p=10000001 HTTP/1.1\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0; DynGate)\r\n\r\n".to_vec(),
    )];
    let recs = records(&feed_chunked(&DESC, &steps, 0));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["detected_by"], "http");
    assert!(recs[0]["http_request"]
        .as_str()
        .unwrap()
        .starts_with("GET /din.aspx"));
}
