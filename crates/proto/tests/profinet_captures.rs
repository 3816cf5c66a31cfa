//! Profinet DCP and RT on real captures (values checked with `tshark -V`).
mod support;
use sluice_proto::profinet::{self, DcpTransaction, RtRecord};
use sluice_proto::{L2Frame, Operation, Output, ProtoRecord, Record};
use std::net::{IpAddr, Ipv4Addr};

pub fn run(path: &std::path::Path) -> Vec<Output> {
    let mut p = (profinet::DESC.new_parser)();
    let mut out = Vec::new();
    let mut last = 0;
    for (ts, src, dst, vlan, payload) in support::l2_frames(path, 0x8892) {
        last = ts;
        p.frame(
            &L2Frame {
                ts,
                src_mac: src,
                dst_mac: dst,
                vlan,
                ethertype: 0x8892,
                payload: &payload,
            },
            &mut out,
        );
    }
    p.finish(last, &mut out);
    out
}

fn dcp(out: &[Output]) -> Vec<(i64, Option<i64>, DcpTransaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::ProfinetDcp(d) => Some((t.ts, t.ts_end, (**d).clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn rt(out: &[Output]) -> Vec<RtRecord> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::ProfinetRt(r) => Some((**r).clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[test]
fn identify_all_and_set_name_of_station() {
    // profinet-iti-wireshark-bug.pcap: Ident Req (All) / Ident Ok from an S7-300,
    // then Set Req NameOfStation (permanent) / Set Ok.
    let Some(p) = support::pcap("profinet/profinet-iti-wireshark-bug.pcap") else {
        return;
    };
    let out = run(&p);
    let d = dcp(&out);
    assert_eq!(d.len(), 2, "{d:#?}");
    let (ts, end, ident) = &d[0];
    assert_eq!(
        (*ts, *end),
        (1_200_565_398_895_639_000, Some(1_200_565_398_896_662_000))
    );
    assert_eq!(
        (ident.function_code, ident.function, ident.xid),
        (5, "identify", 0x0100_0001)
    );
    assert_eq!(ident.status, Some("success"));
    assert_eq!(ident.query.as_ref().unwrap().options, vec!["all"]);
    let dev = ident.device.as_ref().unwrap();
    assert_eq!(dev.type_of_station.as_deref(), Some("S7-300EC"));
    assert_eq!(dev.name_of_station.as_deref(), Some("%n%n%n "));
    assert_eq!((dev.vendor_id, dev.device_id), (Some(0x002a), Some(0x0101)));
    assert_eq!(dev.vendor, Some("Siemens AG"));
    assert_eq!(dev.device_role, vec!["io_controller"]);
    assert_eq!(dev.ip, Some(Ipv4Addr::new(192, 168, 0, 11)));
    assert_eq!(dev.netmask, Some(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!(ident.operation(), Operation::Read);
    let json = serde_json::to_value(ident).unwrap();
    assert_eq!(json["requester"], "00:80:c8:38:a4:8b");
    assert_eq!(json["responder"], "00:02:e3:17:c7:50");
    let (_, _, set) = &d[1];
    assert_eq!(
        (set.function_code, set.function, set.frame_id),
        (4, "set", 0xfefd)
    );
    assert!(set.request && set.response);
    let q = set.query.as_ref().unwrap();
    assert_eq!(q.name_of_station.as_deref(), Some("%n%n%n "));
    assert!(q.permanent);
    assert!(set.errors.is_empty());
    assert_eq!(set.operation(), Operation::Engineering);
    // identity of the S7 (name, vendor, product, its stated IP)
    let id = out
        .iter()
        .find_map(|o| match o {
            Output::Identity(i) => Some(i.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(id.mac, Some([0x00, 0x02, 0xe3, 0x17, 0xc7, 0x50]));
    assert_eq!(id.address, Some(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 11))));
    assert_eq!(id.vendor.as_deref(), Some("Siemens AG"));
    assert_eq!(id.product.as_deref(), Some("S7-300EC"));
    assert_eq!(id.source, "profinet_dcp.identify");
}

#[test]
fn versamax_identify_rt_counts_and_alarm_errors() {
    let Some(p) = support::pcap("profinet/profinet-icsnpp-io-cm-mixed-1.pcap") else {
        return;
    };
    let out = run(&p);
    let d = dcp(&out);
    // 18 identify requests on the wire, each captured twice: 9 requests
    assert_eq!(d.len(), 9, "{d:#?}");
    let answered: Vec<_> = d.iter().filter(|x| x.2.response).collect();
    assert_eq!(answered.len(), 1);
    let dev = answered[0].2.device.as_ref().unwrap();
    assert_eq!(dev.name_of_station.as_deref(), Some("versamax-pns11"));
    assert_eq!(dev.type_of_station.as_deref(), Some("IC200PNS001"));
    assert_eq!((dev.vendor_id, dev.device_id), (Some(0x015a), Some(0x0003)));
    assert_eq!(dev.device_role, vec!["io_device"]);
    assert_eq!(dev.ip, Some(Ipv4Addr::new(192, 168, 1, 2)));
    // RT: tshark counts 56 x 0xc000 from 00:a0:45:6d:d3:43, 46 x 0xc002 from
    // 00:09:91:43:e0:67 (station problem flagged), 41 PTCP delay requests, 2 alarms
    let r = rt(&out);
    let find = |mac: &str| {
        r.iter()
            .find(|x| serde_json::to_value(x).unwrap()["src_mac"] == mac)
            .unwrap()
            .clone()
    };
    let ctrl = find("00:a0:45:6d:d3:43");
    assert_eq!(ctrl.kind, "summary");
    let s = &ctrl.streams[0];
    assert_eq!(
        (s.frame_id, s.class, s.frames, s.length),
        (0xc000, "rt_class_1", 56, 44)
    );
    assert_eq!(s.station_problem_frames, 0);
    let dev = find("00:09:91:43:e0:67");
    let s = &dev.streams[0];
    assert_eq!(
        (s.frame_id, s.frames, s.station_problem_frames),
        (0xc002, 46, 46)
    );
    let alarm = dev.streams.iter().find(|s| s.frame_id == 0xfe01).unwrap();
    assert_eq!((alarm.class, alarm.alarm_errors), ("alarm_low", 1));
    let ptcp = find("00:09:91:43:e0:68");
    assert_eq!(
        (ptcp.streams[0].class, ptcp.streams[0].frames),
        ("ptcp_delay", 41)
    );
}

#[test]
fn unanswered_identify_requests() {
    let Some(p) = support::pcap("profinet/profinet-iti-rt-dcp.pcap") else {
        return;
    };
    let out = run(&p);
    let d = dcp(&out);
    assert_eq!(d.len(), 14);
    assert!(d
        .iter()
        .all(|x| x.2.request && !x.2.response && x.1.is_none()));
    let first = &d[0].2;
    assert_eq!(first.xid, 0x0300_bf9a);
    assert_eq!(
        first.query.as_ref().unwrap().name_of_station.as_deref(),
        Some("switch3")
    );
    assert!(!out.iter().any(|o| matches!(o, Output::Identity(_))));
}
