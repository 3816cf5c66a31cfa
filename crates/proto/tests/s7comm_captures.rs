//! The S7comm parser on real captures (`../shared/data/pcaps/s7comm/`, `stacks/`),
//! with values checked against tshark 4.0 (frame numbers given).
mod support;

use sluice_proto::s7comm::{Transaction, DESC};
use sluice_proto::{Direction, Identity, Operation, Output, ProtoRecord, Record, Txn};

struct Run {
    txns: Vec<(Txn, Transaction)>,
    anomalies: Vec<(&'static str, String)>,
    identities: Vec<Identity>,
}

fn run(rel: &str) -> Option<Run> {
    let path = support::pcap(rel)?;
    let mut r = Run {
        txns: Vec::new(),
        anomalies: Vec::new(),
        identities: Vec::new(),
    };
    for (_, outs) in support::run(&DESC, &path) {
        for o in outs {
            match o {
                Output::Txn(t) => {
                    if let Record::S7comm(x) = &t.record {
                        let x = (**x).clone();
                        r.txns.push((t, x));
                    }
                }
                Output::Anomaly(a) => r.anomalies.push((a.kind, a.message)),
                Output::Identity(i) => r.identities.push(i),
            }
        }
    }
    Some(r)
}

fn by_function<'a>(r: &'a Run, f: &str) -> Vec<&'a Transaction> {
    r.txns
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.function == f)
        .collect()
}

#[test]
fn snap7_identity_szl_and_dangerous_functions() {
    let Some(r) = run("s7comm/s7comm-icsnpp-snap7.pcap") else {
        return;
    };
    assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
    // frame 4: SZL 0x0011 (order number 6ES7 315-2EH14-0AB0, firmware
    // Ausbg 0x5603 Ausbe 0x0207 = V3.2.7); frames 6+8: SZL 0x001C reassembled
    // (station S7300/ET200M station_1, CPU 315-2 PN/DP, S C-B1U393142011)
    let model = r.identities.iter().find(|i| i.model.is_some()).unwrap();
    assert_eq!(model.source, "s7comm.szl");
    assert_eq!(model.vendor.as_deref(), Some("Siemens"));
    assert_eq!(model.model.as_deref(), Some("6ES7 315-2EH14-0AB0"));
    assert_eq!(model.firmware.as_deref(), Some("V3.2.7"));
    let comp = r.identities.iter().find(|i| i.serial.is_some()).unwrap();
    assert_eq!(comp.product.as_deref(), Some("CPU 315-2 PN/DP"));
    assert_eq!(comp.serial.as_deref(), Some("S C-B1U393142011"));
    assert_eq!(comp.name.as_deref(), Some("S7300/ET200M station_1"));
    // the SZL 0x001C transaction of the last data unit carries the whole list
    let szl: Vec<_> = by_function(&r, "read_szl");
    let comp_txn = szl
        .iter()
        .find(|t| {
            t.szl
                .as_ref()
                .is_some_and(|s| s.id == 0x001C && !s.entries.is_empty())
        })
        .unwrap();
    assert_eq!(comp_txn.szl.as_ref().unwrap().record_count, Some(10));
    assert_eq!(comp_txn.pdu_ref, 0x0300);
    assert!(szl.iter().any(|t| t.more_data && t.pdu_ref == 0x0200));
    let modes = szl
        .iter()
        .find(|t| t.szl.as_ref().is_some_and(|s| s.id == 0x0424))
        .unwrap();
    assert_eq!(modes.szl.as_ref().unwrap().cpu_mode, Some("run"));

    // frames 57/58: PLC stop
    let stop = by_function(&r, "plc_stop");
    assert_eq!(stop.len(), 1);
    assert!(stop[0].is_cpu_stop());
    assert_eq!(stop[0].operation(), Operation::Engineering);
    assert_eq!(stop[0].function_code(), Some(0x29));
    assert_eq!(stop[0].pi.as_ref().unwrap().service, "P_PROGRAM");
    // frames 59-64: PI services _MODU("EP"), _GARB(), P_PROGRAM("C ")
    let pi = by_function(&r, "pi_service");
    let actions: Vec<_> = pi.iter().map(|t| t.pi.as_ref().unwrap().action).collect();
    assert_eq!(
        actions,
        ["copy_ram_to_rom", "compress_memory", "cold_start"]
    );
    assert!(pi[2].is_cpu_start());
    assert!(!pi[0].is_cpu_stop() && !pi[0].is_block_delete());

    // frames 45-48: read clock 2016-02-08 14:51:37.916, set clock 23:08:10.000
    let rc = by_function(&r, "read_clock");
    assert_eq!(rc[0].clock.as_deref(), Some("2016-02-08T14:51:37.916"));
    assert_eq!(rc[0].function_code, 0x1701);
    assert_eq!(rc[0].operation(), Operation::Read);
    let sc = by_function(&r, "set_clock");
    assert_eq!(sc[0].clock.as_deref(), Some("2016-02-08T23:08:10.000"));
    assert_eq!(sc[0].operation(), Operation::Write);

    // frames 53/54: write var of 5 items, the timer and counter items refused (0x03)
    let w = by_function(&r, "write_var");
    let multi = w.iter().find(|t| t.items.len() == 5).unwrap();
    let addrs: Vec<_> = multi
        .items
        .iter()
        .map(|i| i.address.clone().unwrap())
        .collect();
    assert_eq!(addrs, ["MW0", "IB0", "QB0", "T0", "C0"]);
    let rcs: Vec<_> = multi.items.iter().map(|i| i.return_code.unwrap()).collect();
    assert_eq!(rcs, [0xff, 0xff, 0xff, 0x03, 0x03]);
    assert_eq!(multi.items[0].values[..2], [44510.0, 44510.0]); // 0xADDE
    let written = multi.written();
    assert_eq!(written[0], ("MW0".to_string(), 44510.0));
    assert_eq!(written[1], ("MW2".to_string(), 44510.0));
    assert!(written.iter().any(|(a, v)| a == "IB0" && *v == 170.0)); // 0xAA
    assert!(written.iter().any(|(a, v)| a == "T0" && *v == 61374.0)); // 0xEFBE
    assert_eq!(multi.operation(), Operation::Write);

    // frames 17-22: start upload / upload / end upload of SDB0, upload id 7, 216 bytes
    let su = by_function(&r, "start_upload");
    let b = su[0].block.as_ref().unwrap();
    assert_eq!(
        (b.block_type, b.number, b.upload_id, b.block_length),
        ("SDB", Some(0), Some(7), Some(216))
    );
    assert_eq!(by_function(&r, "upload")[0].data_length, Some(216));
    // frame 44: the start upload of OB0 is refused with an Ack, error 0xd20c
    let refused = su
        .iter()
        .find(|t| t.block.as_ref().unwrap().block_type == "OB")
        .unwrap();
    assert_eq!(
        (refused.error_class, refused.error_code),
        (Some(0xd2), Some(0x0c))
    );

    // every job and userdata request was answered
    assert!(r
        .txns
        .iter()
        .all(|(t, x)| t.ts_end.is_some() && x.request && x.response));
}

#[test]
fn block_download_to_s7_300() {
    let Some(r) = run("s7comm/s7comm-iti-downloading-block-db1.pcap") else {
        return;
    };
    // frame 43: request download of _0A00001P (DB1), load memory 500, MC7 400
    let rd = by_function(&r, "request_download");
    assert_eq!(rd.len(), 1);
    assert!(rd[0].is_download());
    let b = rd[0].block.as_ref().unwrap();
    assert_eq!(b.filename.as_deref(), Some("_0A00001P"));
    assert_eq!(
        (b.block_type, b.number, b.filesystem),
        ("DB", Some(1), Some("passive"))
    );
    assert_eq!((b.load_length, b.mc7_length), (Some(500), Some(400)));
    // frames 46-54: the PLC sends the download block jobs; the PG answers with data
    let db: Vec<_> = r
        .txns
        .iter()
        .filter(|(_, t)| t.function == "download_block")
        .collect();
    assert_eq!(db.len(), 3);
    assert!(db
        .iter()
        .all(|(t, x)| t.dir == Direction::ToClient && x.is_download()));
    let lens: Vec<_> = db.iter().map(|(_, t)| t.data_length.unwrap()).collect();
    assert_eq!(lens, [222, 222, 56]);
    assert!(db[0].1.more_data && !db[2].1.more_data);
    // frames 55/57: download ended; 58/59: PI _INSE(DB1)
    assert_eq!(by_function(&r, "download_ended").len(), 1);
    let ins = by_function(&r, "pi_service");
    assert_eq!(ins[0].pi.as_ref().unwrap().params, ["DB1"]);
    assert!(ins[0].is_download());
    // COTP connect: TSAP 0x0100 -> 0x0102 (PG, rack 0 slot 2)
    let c = by_function(&r, "cotp_connect");
    let ci = c[0].cotp.as_ref().unwrap();
    assert_eq!(
        (ci.connection_type, ci.rack, ci.slot),
        (Some("pg"), Some(0), Some(2))
    );
    assert_eq!(ci.tpdu_size, Some(1024));
    // block list and get block info (error 0xd209: block not found)
    let info = by_function(&r, "get_block_info");
    assert_eq!(info[0].param_error, Some(0xd209));
    let lt = by_function(&r, "list_blocks_of_type");
    assert_eq!(lt[0].blocks[0].number, Some(1));
}

#[test]
fn password_attempt_is_recorded_without_the_password() {
    let Some(r) = run("s7comm/s7comm-gymgit-step7-s300-auth-password.pcap") else {
        return;
    };
    // frame 3: security / PLC password, 8 bytes 21 3a 1b 1d 6e 68 1b 1d
    let pw = by_function(&r, "plc_password");
    let req = pw.iter().find(|t| t.request).unwrap();
    assert!(req.is_password_attempt());
    assert_eq!(req.function_code, 0x1501);
    for (_, t) in &r.txns {
        let json = serde_json::to_string(t).unwrap();
        assert!(
            !json.contains("213a1b1d") && !json.contains("[33,58"),
            "{json}"
        );
    }
}

#[test]
fn libnodave_var_service() {
    let Some(r) = run("s7comm/s7comm-iti-varservice-libnodave.pcap") else {
        return;
    };
    assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
    // frames 15-22: four 4-byte writes to MB0, MB4, MB8, MB12
    let w = by_function(&r, "write_var");
    assert_eq!(w.len(), 4);
    assert_eq!(
        w[0].written(),
        [
            ("MB0".to_string(), 169.0),
            ("MB1".to_string(), 16.0),
            ("MB2".to_string(), 0.0),
            ("MB3".to_string(), 1.0)
        ]
    );
    assert_eq!(w[3].items[0].values, [63.0, 140.0, 204.0, 205.0]); // 3f 8c cc cd
                                                                   // frames 11/12: read of DB1.DBB0, 64 bytes (values bounded to 16)
    let rd = by_function(&r, "read_var");
    assert_eq!(rd[0].items[0].address.as_deref(), Some("DB1.DBB0"));
    assert_eq!(rd[0].items[0].count, Some(64));
    assert!(rd[0].truncated);
    assert_eq!(rd[0].operation(), Operation::Read);
}

#[test]
fn vartab_pushes_and_programmer_commands() {
    let Some(r) = run("s7comm/s7comm-gymgit-step7-s300-rw-vartab.pcap") else {
        return;
    };
    // frames 7, 15, 20, 24: pushes (PDU reference 0) are transactions of their own
    let pushes: Vec<_> = r.txns.iter().filter(|(_, t)| t.pdu_ref == 0).collect();
    assert_eq!(pushes.len(), 4);
    assert!(pushes
        .iter()
        .all(|(t, x)| t.dir == Direction::ToClient && !x.request && t.ts_end.is_none()));
    let modify = by_function(&r, "modify_variable");
    assert_eq!(modify[0].function_code, 0x1108);
    assert_eq!(modify[0].operation(), Operation::Write);
}

#[test]
fn python_snap7_stack() {
    let Some(r) = run("stacks/s7comm.pcap") else {
        return;
    };
    // tshark: 1440 read var and 91 write var jobs, all answered; 11 setups
    assert_eq!(by_function(&r, "read_var").len(), 1440);
    assert_eq!(by_function(&r, "write_var").len(), 91);
    assert_eq!(by_function(&r, "setup_communication").len(), 11);
    assert_eq!(by_function(&r, "cotp_connect").len(), 11);
    assert!(r
        .txns
        .iter()
        .filter(|(_, t)| t.rosctr == 1)
        .all(|(t, _)| t.ts_end.is_some()));
    // 15 read var jobs without items (python-snap7 client, tshark "Malformed
    // Packet"), answered anyway with one item
    let k: Vec<_> = r.anomalies.iter().map(|a| a.0).collect();
    assert_eq!(k.iter().filter(|&&k| k == "truncated_item").count(), 15);
    assert_eq!(
        k.iter().filter(|&&k| k == "item_count_mismatch").count(),
        15
    );
    assert_eq!(k.len(), 30);
    // frame 411/412: read of DB2.DBB12 answered 0c 0d 0e 0f ... (values 12..15)
    let rd = by_function(&r, "read_var");
    assert!(rd.iter().any(|t| t.items.len() == 1
        && t.items[0].address.as_deref() == Some("DB2.DBB12")
        && t.items[0].values == [12.0, 13.0, 14.0, 15.0]));
    // error responses: object does not exist (0x0a) and invalid address (0x05)
    assert!(rd
        .iter()
        .any(|t| t.items.iter().any(|i| i.return_code == Some(0x0a))));
    assert!(rd
        .iter()
        .any(|t| t.items.iter().any(|i| i.return_code == Some(0x05))));
    // every write has values to check against an envelope
    assert!(by_function(&r, "write_var")
        .iter()
        .all(|t| !t.written().is_empty()));
}

#[test]
fn every_capture_parses_without_giving_up() {
    let Some(data) = support::shared_data() else {
        return;
    };
    for entry in std::fs::read_dir(data.join("pcaps/s7comm")).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("s7comm-") {
            continue;
        }
        let r = run(&format!("s7comm/{name}")).unwrap();
        let gave_up = r.anomalies.iter().any(|a| a.0 == "not_s7comm");
        if name.contains("1200-hmi") {
            // S7comm-plus despite its name: the S7comm parser refuses it
            assert!(gave_up, "{name}: {:?}", r.anomalies);
            continue;
        }
        assert!(!gave_up, "{name}: {:?}", r.anomalies);
        assert!(!r.txns.is_empty(), "{name}");
        for (_, t) in &r.txns {
            assert!(t.function_code().is_some() && t.function().is_some());
        }
    }
}
