//! The BACnet/IP parser on real captures: values checked against tshark by hand
//! (frame numbers are those of `tshark -r <capture>`).
mod support;

use sluice_proto::bacnet::{self, Transaction, Value};
use sluice_proto::{Identity, Operation, Output, ProtoRecord, Record};

fn run(rel: &str) -> Option<(Vec<Transaction>, Vec<Identity>, Vec<String>)> {
    let p = support::pcap(rel)?;
    let (mut t, mut i, mut a) = (Vec::new(), Vec::new(), Vec::new());
    for (_, out) in support::run(&bacnet::DESC, &p) {
        for o in out {
            match o {
                Output::Txn(x) => {
                    if let Record::Bacnet(b) = x.record {
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
fn device_identity_from_read_property() {
    // bacnet-iti-bacnet-test.pcap frames 3-20: ReadProperty of device,4194303
    // (answered as device,500): vendor-name JCI, firmware-revision 5.1.0.4400,
    // object-name KBRNAE, model-name MS-NAE4510-2. Frames 21-26: Read-BDT and
    // Register-Foreign-Device, both NAKed (BVLC-Result 0x0020, 0x0030).
    let Some((t, ids, anomalies)) = run("bacnet/bacnet-iti-bacnet-test.pcap") else {
        return;
    };
    assert!(anomalies.is_empty(), "{anomalies:?}");
    let rp: Vec<_> = t.iter().filter(|x| x.function == "read_property").collect();
    assert_eq!(rp.len(), 9);
    assert!(rp
        .iter()
        .all(|x| x.request && x.response && x.invoke_id == Some(1)));
    let oid = rp[0].detail.as_deref().unwrap();
    assert_eq!(oid.object.unwrap().instance, 4_194_303);
    let Value::ObjectId(o) = &oid.properties[0].values[0] else {
        panic!()
    };
    assert_eq!((o.type_name, o.instance), ("device", 500));
    let last = ids.last().unwrap();
    assert_eq!(last.source, "bacnet.device");
    assert_eq!(last.vendor.as_deref(), Some("JCI"));
    assert_eq!(last.model.as_deref(), Some("MS-NAE4510-2"));
    assert_eq!(last.firmware.as_deref(), Some("5.1.0.4400"));
    assert_eq!(last.name.as_deref(), Some("KBRNAE"));
    let bdt = t.iter().find(|x| x.function_code == 256 + 2).unwrap();
    assert_eq!(bdt.result_code, Some(0x20));
    assert_eq!(bdt.result, Some("read_broadcast_distribution_table_nak"));
    let rfd = t.iter().find(|x| x.function_code == 256 + 5).unwrap();
    assert_eq!(rfd.result_code, Some(0x30));
    assert!(rfd.request && rfd.response);
}

#[test]
fn bacpypes_writes_and_reads() {
    // stacks/bacnet.pcap frame 17: WriteProperty analog-value,3 present-value
    // REAL 25.8 priority 8, answered by a SimpleACK (frame 18).
    let Some((t, ids, anomalies)) = run("stacks/bacnet.pcap") else {
        return;
    };
    assert!(anomalies.is_empty(), "{anomalies:?}");
    let w = t.iter().find(|x| x.function == "write_property").unwrap();
    assert_eq!(w.invoke_id, Some(7));
    assert_eq!(w.response_pdu_type, Some("simple_ack"));
    let p = &w.detail.as_deref().unwrap().properties[0];
    assert_eq!(p.priority, Some(8));
    assert_eq!(p.property_name, "present-value");
    let written = w.written();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].0, "analog-value,3.present-value");
    assert!((written[0].1 - 25.8).abs() < 1e-5);
    assert_eq!(w.operation(), Operation::Write);
    assert_eq!(w.function_code(), Some(15));
    // Every confirmed request is answered.
    let confirmed: Vec<_> = t
        .iter()
        .filter(|x| x.pdu_type == Some("confirmed_request"))
        .collect();
    assert!(confirmed.iter().all(|x| x.response));
    // Error answers: unknown-property for priority-array of an analog input.
    let e = t
        .iter()
        .find(|x| x.response_pdu_type == Some("error"))
        .unwrap();
    assert_eq!(e.error_class, Some("property"));
    assert_eq!(e.error_code, Some("unknown-property"));
    // I-Am of device 1001, vendor 999 (reserved: no vendor name).
    let i_am = t.iter().find(|x| x.function == "i_am").unwrap();
    let d = i_am.detail.as_deref().unwrap();
    assert_eq!(d.device.unwrap().instance, 1001);
    assert_eq!(d.vendor_id, Some(999));
    assert_eq!(d.max_apdu, Some(1024));
    assert!(ids.iter().any(|i| i.source == "bacnet.i_am"
        && i.vendor.as_deref() == Some("vendor 999")
        && i.name.as_deref() == Some("device 1001")));
    assert!(ids
        .iter()
        .any(|i| i.source == "bacnet.device" && i.vendor.as_deref() == Some("BACpypes")));
    // ReadPropertyMultiple ACK values.
    let rpm = t
        .iter()
        .find(|x| x.function == "read_property_multiple" && x.response)
        .unwrap();
    assert!(!rpm.detail.as_deref().unwrap().properties.is_empty());
    assert_eq!(rpm.operation(), Operation::Read);
}

#[test]
fn services_of_the_error_reject_abort_capture() {
    // bacnet-icsnpp-error-reject-abort.pcap: frame 19 ReinitializeDevice coldstart
    // (no password), a DeviceCommunicationControl disable for 60 minutes with a
    // password, frame 29 I-Am device,101 vendor 1337, frame 43 Error
    // password-failure, frame 44 Reject unrecognized-service.
    let Some((t, ids, _)) = run("bacnet/bacnet-icsnpp-error-reject-abort.pcap") else {
        return;
    };
    let reinit = t
        .iter()
        .find(|x| x.is_reinitialize() && x.invoke_id == Some(1))
        .unwrap();
    let d = reinit.detail.as_deref().unwrap();
    assert_eq!(d.reinitialize_state, Some("coldstart"));
    assert!(!d.password_present);
    assert_eq!(reinit.operation(), Operation::Engineering);
    let dcc = t.iter().find(|x| x.is_communication_control()).unwrap();
    let d = dcc.detail.as_deref().unwrap();
    assert_eq!(d.duration_minutes, Some(60));
    assert_eq!(d.enable_disable, Some("disable"));
    assert!(d.password_present);
    // The password itself is nowhere in the record.
    let json = serde_json::to_string(&Record::Bacnet(Box::new(dcc.clone()))).unwrap();
    assert!(!json.contains("filister"), "{json}");
    let err = t
        .iter()
        .find(|x| x.response_pdu_type == Some("error"))
        .unwrap();
    assert_eq!(err.error_code, Some("password-failure"));
    assert_eq!(err.function, "reinitialize_device");
    let rej = t.iter().find(|x| x.function == "reject").unwrap();
    assert_eq!(rej.reason, Some("unrecognized-service"));
    assert_eq!(rej.function_code, 768 + 6);
    let i = ids.iter().find(|i| i.source == "bacnet.i_am").unwrap();
    assert_eq!(i.vendor.as_deref(), Some("Xxter bv"));
    assert_eq!(i.name.as_deref(), Some("device 101"));
    let who = t.iter().find(|x| x.function == "who_is").unwrap();
    assert_eq!(who.function_code, 8);
    assert_eq!(who.bvlc_function, "original_broadcast_npdu");
}

#[test]
fn wrong_bvlc_lengths_are_decoded_whole() {
    // bacnet-icsnpp-example.pcap frames 572-573: BVLC length 17 on 25- and 13-byte
    // datagrams (ReinitializeDevice with a password, Error password-failure).
    let Some((t, _, anomalies)) = run("bacnet/bacnet-icsnpp-example.pcap") else {
        return;
    };
    assert_eq!(anomalies.len(), 240);
    assert!(anomalies.iter().all(|a| a.starts_with("bad_length")));
    let r: Vec<_> = t.iter().filter(|x| x.is_reinitialize()).collect();
    assert_eq!(r.len(), 120);
    assert!(r
        .iter()
        .all(|x| x.detail.as_deref().unwrap().password_present));
    assert_eq!(
        r.iter()
            .filter(|x| x.error_code == Some("password-failure"))
            .count(),
        90
    );
    assert_eq!(t.iter().filter(|x| x.function == "i_am").count(), 210);
}
