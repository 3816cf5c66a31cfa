//! The EtherNet/IP parser on real captures: values checked against tshark by hand
//! (frame numbers are those of `tshark -r <capture>`).
mod support;

use sluice_proto::enip::{self, Transaction};
use sluice_proto::{Direction, Operation, Output, ProtoRecord, Record, Side};

fn run(rel: &str) -> Option<Vec<(support::Flow, Vec<Output>)>> {
    let p = support::pcap(rel)?;
    Some(support::run(&enip::DESC, &p))
}

fn txns(res: &[(support::Flow, Vec<Output>)]) -> Vec<(Direction, Transaction)> {
    res.iter()
        .flat_map(|(_, out)| out.iter())
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Enip(tx) => Some((t.dir, (**tx).clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn anomalies(res: &[(support::Flow, Vec<Output>)]) -> Vec<String> {
    res.iter()
        .flat_map(|(_, out)| out.iter())
        .filter_map(|o| match o {
            Output::Anomaly(a) => Some(format!("{}: {}", a.kind, a.message)),
            _ => None,
        })
        .collect()
}

#[test]
fn list_identity_over_tcp() {
    // enip-sv-list-identity-udp.pcap frames 4 (request) and 6 (reply).
    let Some(res) = run("enip-cip/enip-sv-list-identity-udp.pcap") else {
        return;
    };
    let t = txns(&res);
    assert_eq!(t.len(), 1);
    let (dir, tx) = &t[0];
    assert_eq!(*dir, Direction::ToServer);
    assert!(tx.is_list_identity() && tx.request && tx.response);
    assert_eq!(tx.function(), Some("list_identity"));
    assert_eq!(tx.function_code(), Some(0x63));
    assert_eq!(tx.sender_context, [0, 0, 0, 0, 0xc1, 0xde, 0xbe, 0xd1]);
    assert_eq!(tx.response_length, Some(51));
    let i = &tx.identity[0];
    assert_eq!(i.vendor_id, 1);
    assert_eq!(i.vendor_name, Some("Rockwell Automation/Allen-Bradley"));
    assert_eq!(i.device_type_name, "communications_adapter");
    assert_eq!(i.product_code, 58);
    assert_eq!(i.revision, "4.3");
    assert_eq!(i.serial_number, "0x00524d8e");
    assert_eq!(i.product_name, "1756-ENBT/A");
    assert_eq!(i.socket_address.as_deref(), Some("10.1.1.164"));
    assert_eq!(i.socket_port, Some(44818));
    let ids: Vec<_> = res
        .iter()
        .flat_map(|(_, o)| o.iter())
        .filter_map(|o| match o {
            Output::Identity(i) => Some(i.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].source, "enip.list_identity");
    assert_eq!(ids[0].address, Some("10.1.1.164".parse().unwrap()));
    assert_eq!(ids[0].side, Some(Side::Server));
    assert_eq!(ids[0].product.as_deref(), Some("1756-ENBT/A"));
    assert_eq!(ids[0].firmware.as_deref(), Some("4.3"));
    assert!(anomalies(&res).is_empty());
}

#[test]
fn start_plc_is_engineering() {
    // enip-iti-cip-start-plc.pcap frame 1: SendUnitData, connection 0xff954022,
    // sequence 231, Start (0x06) to class 0x8e instance 1; no reply in the capture.
    let Some(res) = run("enip-cip/enip-iti-cip-start-plc.pcap") else {
        return;
    };
    let t = txns(&res);
    assert_eq!(t.len(), 1);
    let tx = &t[0].1;
    assert_eq!(tx.function_code, 0x70);
    assert_eq!(tx.connection_id, Some(0xff95_4022));
    assert_eq!(tx.sequence, Some(231));
    assert_eq!(tx.cip_service, Some(0x06));
    let c = tx.cip.as_deref().unwrap();
    assert_eq!(c.service_name, "start");
    assert_eq!((c.class, c.instance), (Some(0x8e), Some(1)));
    assert!(tx.request && !tx.response);
    assert_eq!(tx.operation(), Operation::Engineering);
    assert!(tx.is_start_stop() && !tx.is_reset());
}

#[test]
fn cpppo_tag_reads_and_writes() {
    // stacks/enip.pcap frame 39: Unconnected_Send (route port 1 link 0) of Write_Tag
    // 'SCADA' member 0x033a, INT x1 = 0x4d36.
    let Some(res) = run("stacks/enip.pcap") else {
        return;
    };
    assert!(anomalies(&res).is_empty(), "{:?}", anomalies(&res));
    let t = txns(&res);
    let w = t
        .iter()
        .map(|(_, tx)| tx)
        .find(|tx| tx.cip_service == Some(0x4D))
        .expect("a write");
    let c = w.cip.as_deref().unwrap();
    assert_eq!(c.service_name, "write_tag");
    assert_eq!(c.tag.as_deref(), Some("SCADA[826]"));
    assert_eq!(c.route_path.as_deref(), Some("port 1 link 0"));
    assert_eq!(c.data_type_name, Some("int"));
    assert_eq!(w.written(), vec![("SCADA[826]".to_string(), 19766.0)]);
    assert_eq!(w.operation(), Operation::Write);
    assert_eq!(c.status, Some(0));
    // Every request was answered (tshark: 1083 SendRRData pairs, 10 sessions).
    let rr: Vec<_> = t
        .iter()
        .filter(|(_, tx)| tx.function_code == 0x6F)
        .collect();
    assert_eq!(rr.len(), 1083);
    assert!(rr.iter().all(|(_, tx)| tx.request && tx.response));
    let reads = rr
        .iter()
        .filter(|(_, tx)| tx.operation() == Operation::Read)
        .count();
    assert!(reads > 800, "{reads}");
    // Read of an element past the end: general status 0xff, extended 0x2105.
    let err = rr
        .iter()
        .find(|(_, tx)| tx.cip.as_deref().is_some_and(|c| c.status == Some(0xFF)))
        .expect("an error reply");
    assert_eq!(err.1.cip.as_deref().unwrap().extended_status, Some(0x2105));
    // ListServices: one "Communications" item with capability 0x20.
    let ls = t
        .iter()
        .find(|(_, tx)| tx.function_code == 0x04)
        .expect("list services");
    assert_eq!(ls.1.services[0].name, "Communications");
    assert_eq!(ls.1.services[0].capability_flags, 0x20);
    // ListIdentity: a 1756-L61/B stating 0.0.0.0: the identity names the replying side.
    let ids: Vec<_> = res
        .iter()
        .flat_map(|(_, o)| o.iter())
        .filter_map(|o| match o {
            Output::Identity(i) => Some(i.clone()),
            _ => None,
        })
        .collect();
    assert!(!ids.is_empty());
    assert_eq!(ids[0].product.as_deref(), Some("1756-L61/B LOGIX5561"));
    assert_eq!(ids[0].address, None);
    assert_eq!(ids[0].side, Some(Side::Server));
    assert_eq!(ids[0].firmware.as_deref(), Some("20.11"));
}

#[test]
fn implicit_io_summaries() {
    // enip-icsnpp-cip-example.pcap: UDP 2222 between 192.168.1.24 and .22, 24
    // connections; 0x004b0603 carries 31 packets of 6 bytes (tshark frame 377 is
    // its first, sequence 4166875).
    let Some(res) = run("enip-cip/enip-icsnpp-cip-example.pcap") else {
        return;
    };
    let t = txns(&res);
    let io: Vec<_> = t.iter().filter(|(_, tx)| tx.io.is_some()).collect();
    assert_eq!(io.len(), 24);
    let c = io
        .iter()
        .find(|(_, tx)| tx.connection_id == Some(0x004b_0603))
        .unwrap();
    let s = c.1.io.as_deref().unwrap();
    assert_eq!((s.packets, s.bytes, s.first_sequence), (31, 186, 4_166_875));
    assert_eq!(s.lost, 0);
    assert_eq!(c.1.function(), Some("implicit_io"));
    // Connected explicit messages: every request but the last has its reply.
    let sud: Vec<_> = t
        .iter()
        .filter(|(_, tx)| tx.function_code == 0x70)
        .collect();
    assert_eq!(sud.iter().filter(|(_, tx)| tx.response).count(), 133);
    assert_eq!(sud.len(), 134);
}

#[test]
fn routed_identity_object() {
    // enip-quickdraw-reboot-or-restart.pcap: Unconnected_Send of Get_Attributes_All
    // to the Identity object behind the adapter (8 times).
    let Some(res) = run("enip-cip/enip-quickdraw-reboot-or-restart.pcap") else {
        return;
    };
    let ids: Vec<_> = res
        .iter()
        .flat_map(|(_, o)| o.iter())
        .filter_map(|o| match o {
            Output::Identity(i) => Some(i.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 8);
    assert!(ids.iter().all(|i| i.source == "enip.routed_identity"));
    assert_eq!(
        ids[0].vendor.as_deref(),
        Some("Rockwell Automation/Allen-Bradley")
    );
}

#[test]
fn large_capture_pairs_connected_messages() {
    // enip-iti-ethernetip-cip-large.pcap: four sessions picked up mid-stream with
    // several class 3 connections each; replies carry the T->O connection ids.
    let Some(res) = run("enip-cip/enip-iti-ethernetip-cip-large.pcap") else {
        return;
    };
    let t = txns(&res);
    let paired = t.iter().filter(|(_, tx)| tx.request && tx.response).count();
    assert_eq!(paired, 4399);
    // The only anomaly: one reply whose request precedes the capture.
    let a = anomalies(&res);
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(a[0].starts_with("unexpected_response"));
    // Read_Modify_Write_Tag on symbols is a write.
    let rmw = t
        .iter()
        .find(|(_, tx)| {
            tx.cip.as_deref().is_some_and(|c| {
                c.services
                    .iter()
                    .any(|s| s.service_name == "read_modify_write_tag")
            })
        })
        .unwrap();
    assert_eq!(rmw.1.operation(), Operation::Write);
}

#[test]
fn negative_capture_has_no_enip() {
    let Some(res) = run("enip-cip/enip-quickdraw-software-download-failure.pcap") else {
        return;
    };
    assert!(txns(&res).is_empty());
}
