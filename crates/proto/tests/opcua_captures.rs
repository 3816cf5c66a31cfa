//! The OPC UA parser on real captures: values checked against tshark and the ICSNPP
//! Zeek logs by hand (open62541 client and server on ::1 port 4840).
mod support;

use sluice_proto::opcua::{self, Transaction, Value};
use sluice_proto::{Identity, Operation, Output, ProtoRecord, Record, Side};

fn run(rel: &str) -> Option<(Vec<Transaction>, Vec<Identity>, Vec<String>)> {
    let p = support::pcap(rel)?;
    let (mut t, mut i, mut a) = (Vec::new(), Vec::new(), Vec::new());
    for (_, out) in support::run(&opcua::DESC, &p) {
        for o in out {
            match o {
                Output::Txn(x) => {
                    if let Record::Opcua(b) = x.record {
                        t.push(*b);
                    }
                }
                Output::Identity(x) => i.push(x),
                Output::Anomaly(x) => a.push(format!("{}: {}", x.kind, x.message)),
            }
        }
    }
    Some((t, i, a))
}

#[test]
fn open62541_main_loop() {
    let Some((t, ids, anomalies)) = run("opcua/opcua-icsnpp-open62541-mainloop.pcap") else {
        return;
    };
    assert!(anomalies.is_empty(), "{anomalies:?}");
    assert_eq!(t.len(), 35);
    // HEL (56 bytes) to opc.tcp://localhost:4840, buffers 65535, answered by ACK.
    let hel = &t[0];
    assert_eq!(hel.function(), Some("hello"));
    assert_eq!(hel.function_code(), Some(0x48454C));
    assert_eq!(
        hel.endpoint_url.as_deref(),
        Some("opc.tcp://localhost:4840")
    );
    assert_eq!(hel.hello.as_deref().unwrap().receive_buffer_size, 65535);
    assert!(hel.response);
    // OPN: policy #None, mode None, channel 3 then 4.
    let opn: Vec<_> = t.iter().filter(|x| x.message_type == "OPN").collect();
    assert_eq!(opn.len(), 2);
    let c = opn[0].channel.as_deref().unwrap();
    assert!(c.security_none && opn[0].is_insecure_channel());
    assert_eq!(c.security_mode, Some("None"));
    assert_eq!(c.sender_certificate_length, None);
    assert_eq!(opn[0].secure_channel_id, Some(3));
    assert_eq!(opn[1].secure_channel_id, Some(4));
    // CreateSession and ActivateSession (user1 / username token, password never kept).
    let cs = t.iter().find(|x| x.function_code == 461).unwrap();
    assert_eq!(cs.function(), Some("create_session"));
    let s = cs.session.as_deref().unwrap();
    assert_eq!(
        s.client.as_ref().unwrap().application_uri.as_deref(),
        Some("urn:unconfigured:application")
    );
    let act = t.iter().find(|x| x.function_code == 467).unwrap();
    let s = act.session.as_deref().unwrap();
    assert_eq!(s.user_token, Some("username"));
    assert_eq!(s.user_name.as_deref(), Some("user1"));
    assert!(s.password_present);
    let json = serde_json::to_string(&Record::Opcua(Box::new(act.clone()))).unwrap();
    assert!(!json.contains("\"password\""), "{json}");
    // Read and Write of ns=1;s=the.answer: BadNodeIdUnknown; writes of Int32 1 and 2.
    let rd = t.iter().find(|x| x.function_code == 631).unwrap();
    assert_eq!(rd.nodes[0].node_id, "ns=1;s=the.answer");
    assert_eq!(rd.nodes[0].status, Some("BadNodeIdUnknown"));
    assert_eq!(rd.operation(), Operation::Read);
    let writes: Vec<_> = t.iter().filter(|x| x.function_code == 673).collect();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0].nodes[0].value, Some(Value::Number(1.0)));
    assert_eq!(writes[0].nodes[0].value_type, Some("Int32"));
    assert_eq!(
        writes[1].written(),
        vec![("ns=1;s=the.answer".to_string(), 2.0)]
    );
    assert_eq!(writes[0].operation(), Operation::Write);
    // Publish answered with BadNoSubscription (10 of them, status 0x80790000).
    let bad = t
        .iter()
        .filter(|x| x.status_name == Some("BadNoSubscription"))
        .count();
    assert_eq!(bad, 10);
    // AddNodes is engineering.
    let add = t.iter().find(|x| x.function_code == 488).unwrap();
    assert_eq!(add.operation(), Operation::Engineering);
    // Identities: the server's application from GetEndpoints / CreateSession, the
    // client's from CreateSession.
    let server = ids.iter().find(|i| i.side == Some(Side::Server)).unwrap();
    assert_eq!(server.source, "opcua.application");
    assert_eq!(
        server.product.as_deref(),
        Some("open62541-based OPC UA Application")
    );
    assert_eq!(server.model.as_deref(), Some("http://open62541.org"));
    assert!(ids.iter().any(|i| i.side == Some(Side::Client)
        && i.name.as_deref() == Some("urn:unconfigured:application")));
}

#[test]
fn mid_stream_start_still_decodes() {
    // The same session without HEL / ACK / OPN: the first answer has no request
    // in the capture; the MSG bodies still decode (their encoding ids are known).
    let Some((t, _, anomalies)) = run("opcua/opcua-icsnpp-open62541-no-handshake.pcapng") else {
        return;
    };
    assert_eq!(anomalies.len(), 1, "{anomalies:?}");
    assert!(anomalies[0].starts_with("unexpected_response"));
    assert!(t.iter().all(|x| !x.encrypted));
    assert!(t.iter().any(|x| x.function_code == 673 && x.response));
}

#[test]
fn reversed_roles_are_reported() {
    // opcua-icsnpp-pending-overflow.pcap: 12 flows where the client sends a
    // GetEndpointsResponse and the server a CreateMonitoredItemsRequest.
    let Some((t, _, anomalies)) = run("opcua/opcua-icsnpp-pending-overflow.pcap") else {
        return;
    };
    assert_eq!(t.len(), 24);
    assert_eq!(
        anomalies
            .iter()
            .filter(|a| a.starts_with("unexpected_response"))
            .count(),
        12
    );
    assert_eq!(
        t.iter()
            .filter(|x| x.function_code == 751 && x.request && !x.response)
            .count(),
        12
    );
}
