//! Every real capture in ../shared/data/pcaps reads to its end with the packets tshark sees.
mod common;

use common::{captures_under, epoch_ns, gzip, read_all, read_bytes, shared_data, temp_path};
use sluice_capture::{CaptureReader, Format, LinkType, MergedReader};
use std::collections::HashMap;
use std::path::Path;

/// What tshark 4.0 reported for a capture (`expected/tshark/<name>.tsv`): per packet the
/// epoch timestamp and the frame (wire) length.
fn tshark_rows(data: &Path, capture: &Path) -> Option<Vec<(i64, u32)>> {
    let stem = capture.file_stem()?.to_str()?;
    let text =
        std::fs::read_to_string(data.join("expected/tshark").join(format!("{stem}.tsv"))).ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split('\t').collect();
    let ts_col = header.iter().position(|h| *h == "frame.time_epoch")?;
    let len_col = header.iter().position(|h| *h == "frame.len")?;
    let mut rows = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        rows.push((
            epoch_ns(cols[ts_col]),
            cols[len_col].parse().expect("frame.len"),
        ));
    }
    Some(rows)
}

/// Packet counts from the PROVENANCE.md capture table, by local path.
fn provenance_counts(data: &Path) -> HashMap<String, usize> {
    let text = std::fs::read_to_string(data.join("PROVENANCE.md")).unwrap_or_default();
    let mut counts = HashMap::new();
    let mut packets_col = None;
    for line in text.lines() {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        if cols.get(1) == Some(&"local path") {
            packets_col = cols.iter().position(|c| *c == "packets");
            continue;
        }
        let (Some(pc), Some(path)) = (packets_col, cols.get(1)) else {
            continue;
        };
        if let (Some(p), Some(n)) = (
            path.strip_prefix("`pcaps/")
                .and_then(|p| p.strip_suffix('`')),
            cols.get(pc).and_then(|n| n.parse().ok()),
        ) {
            counts.insert(p.to_string(), n);
        }
    }
    counts
}

/// Verified with `tshark -r F -T fields -e frame.time_epoch` (count, first, last) for the
/// captures no tsv covers, and for a few chosen for their format.
const VERIFIED: &[(&str, usize, &str, &str)] = &[
    (
        "stacks/bacnet.pcap",
        3628,
        "1795633539.783870000",
        "1795633545.438295000",
    ),
    (
        "stacks/dnp3.pcap",
        4152,
        "1795633598.315550000",
        "1795633750.362771000",
    ),
    (
        "stacks/enip.pcap",
        2956,
        "1795633381.800554000",
        "1795633407.638734000",
    ),
    (
        "stacks/iec104.pcap",
        10681,
        "1795633410.007505000",
        "1795633471.152616000",
    ),
    (
        "stacks/modbus.pcap",
        3302,
        "1795633372.137297000",
        "1795633373.421146000",
    ),
    (
        "stacks/s7comm.pcap",
        3261,
        "1795633376.047025000",
        "1795633377.350555000",
    ),
    // pcapng, two interfaces (nanosecond and microsecond if_tsresol).
    (
        "profinet/profinet-icsnpp-io-cm.pcapng",
        960,
        "1287088627.587076000",
        "1689619037.794768654",
    ),
    // pcapng, BSD loopback (link type 0).
    (
        "opcua/opcua-icsnpp-open62541-no-handshake.pcapng",
        113,
        "1579702060.738055000",
        "1579702062.289860000",
    ),
    // pcap, BSD loopback.
    (
        "opcua/opcua-icsnpp-open62541-mainloop.pcap",
        154,
        "1579702050.363511000",
        "1579702062.289860000",
    ),
    // pcap written big endian (magic a1b2c3d4 in file order).
    (
        "smb/smb-zeek-smb1-dcerpc-dssetup.pcap",
        9,
        "1073392738.144777000",
        "1073392738.243616000",
    ),
    (
        "modbus/modbus-iti-modbustcp-large.pcap",
        15387,
        "1352718180.264365000",
        "1352718265.222877000",
    ),
];

#[test]
fn every_real_capture_matches_tshark() {
    let Some(data) = shared_data() else { return };
    let pcaps = data.join("pcaps");
    let counts = provenance_counts(&data);
    let files = captures_under(&pcaps);
    assert!(
        files.len() >= 100,
        "expected the shared corpus, found {} files",
        files.len()
    );
    let (mut by_tsv, mut by_table, mut by_verified) = (0, 0, 0);
    for f in &files {
        let rel = f
            .strip_prefix(&pcaps)
            .expect("under pcaps")
            .to_string_lossy()
            .replace('\\', "/");
        let mut r = CaptureReader::open(f).unwrap_or_else(|e| panic!("{e}"));
        let (pkts, err) = read_all(&mut r);
        if let Some(e) = err {
            panic!("{rel}: {e}");
        }
        assert_eq!(
            r.bytes_read(),
            r.total_bytes().expect("file size"),
            "{rel}: read to the end"
        );
        let mut checked = false;
        if let Some(rows) = tshark_rows(&data, f) {
            assert_eq!(pkts.len(), rows.len(), "{rel}: packet count vs tshark tsv");
            for (i, (p, (ts, len))) in pkts.iter().zip(&rows).enumerate() {
                assert_eq!(p.ts, *ts, "{rel}: packet {} timestamp", i + 1);
                assert_eq!(p.orig_len, *len, "{rel}: packet {} frame length", i + 1);
                assert!(
                    p.data.len() as u32 <= p.orig_len,
                    "{rel}: caplen <= wire length"
                );
            }
            by_tsv += 1;
            checked = true;
        }
        if let Some(&n) = counts.get(&rel) {
            assert_eq!(pkts.len(), n, "{rel}: packet count vs PROVENANCE.md");
            by_table += 1;
            checked = true;
        }
        if let Some((_, n, first, last)) = VERIFIED.iter().find(|v| v.0 == rel) {
            assert_eq!(pkts.len(), *n, "{rel}: count");
            assert_eq!(
                pkts.first().map(|p| p.ts),
                Some(epoch_ns(first)),
                "{rel}: first"
            );
            assert_eq!(
                pkts.last().map(|p| p.ts),
                Some(epoch_ns(last)),
                "{rel}: last"
            );
            by_verified += 1;
            checked = true;
        }
        assert!(checked, "{rel}: no expected packet count anywhere");
    }
    println!(
        "{} captures: {by_tsv} checked packet by packet against tshark, {by_table} against PROVENANCE.md, {by_verified} against hard-coded values",
        files.len()
    );
    assert_eq!(
        by_verified,
        VERIFIED.len(),
        "every hard-coded capture was found"
    );
}

#[test]
fn formats_and_link_types_of_real_captures() {
    let Some(data) = shared_data() else { return };
    let p = data.join("pcaps");
    let open = |rel: &str| CaptureReader::open(&p.join(rel)).unwrap_or_else(|e| panic!("{e}"));

    let mut r = open("smb/smb-zeek-smb1-dcerpc-dssetup.pcap");
    assert_eq!(
        r.format(),
        Format::Pcap {
            nanosecond: false,
            big_endian: true
        }
    );
    assert_eq!(r.interfaces()[0].snaplen, 2000);
    let first = r.next_packet().expect("read").expect("a packet");
    assert_eq!(first.linktype, LinkType::ETHERNET);

    for rel in [
        "opcua/opcua-icsnpp-open62541-mainloop.pcap",
        "opcua/opcua-icsnpp-open62541-no-handshake.pcapng",
    ] {
        let mut r = open(rel);
        let pkt = r.next_packet().expect("read").expect("a packet");
        assert_eq!(pkt.linktype, LinkType::NULL, "{rel}");
        // BSD loopback header: address family 2 (IPv4) or 24/28/30 (IPv6), host order.
        let af = u32::from_le_bytes(pkt.data[..4].try_into().expect("4 bytes"));
        assert!(matches!(af, 2 | 24 | 28 | 30), "{rel}: family {af}");
    }
    assert_eq!(open("tls/tls-sv-alpn.pcap").linktype(), Some(LinkType::RAW));
    assert_eq!(
        open("s7comm/s7commplus-icsnpp-s7comm-plus.pcap").linktype(),
        Some(LinkType::LINUX_SLL)
    );

    // Two interfaces: interface 0 in nanoseconds, interface 1 in microseconds.
    let mut r = open("profinet/profinet-icsnpp-io-cm-connect.pcapng");
    assert_eq!(r.format(), Format::PcapNg);
    let mut per_iface = [0usize; 2];
    let mut nano_ts = None;
    while let Some(p) = r.next_packet().expect("read") {
        per_iface[p.interface as usize] += 1;
        if p.interface == 0 && p.ts % 1000 != 0 {
            nano_ts.get_or_insert(p.ts);
        }
    }
    assert_eq!(
        per_iface,
        [54, 274],
        "capinfos: 54 packets on if 0, 274 on if 1"
    );
    assert_eq!(r.interfaces().len(), 2);
    assert_eq!(
        (r.interfaces()[0].tsresol, r.interfaces()[1].tsresol),
        (9, 6)
    );
    assert!(nano_ts.is_some(), "nanosecond timestamps survive");
}

#[test]
fn gzip_of_real_captures_reads_the_same() {
    let Some(data) = shared_data() else { return };
    let p = data.join("pcaps");
    for rel in [
        "profinet/profinet-icsnpp-io-cm.pcapng",
        "modbus/modbus-iti-modbustcp-large.pcap",
        "smb/smb-zeek-smb1-dcerpc-dssetup.pcap",
    ] {
        let raw = std::fs::read(p.join(rel)).expect("read capture");
        let (plain, err) = read_bytes(rel, &raw).expect("open");
        assert!(err.is_none());
        let gz = gzip(&raw);
        let path = temp_path(&format!("{}.gz", rel.replace('/', "_")));
        std::fs::write(&path, &gz).expect("write temp");
        let mut r = CaptureReader::open(&path).expect("open gz");
        assert!(r.is_gzip());
        let (unzipped, err) = read_all(&mut r);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(unzipped, plain, "{rel}");
        assert_eq!(r.total_bytes(), Some(gz.len() as u64));
        assert_eq!(
            r.bytes_read(),
            gz.len() as u64,
            "all compressed bytes consumed"
        );
        assert_eq!(
            r.position(),
            raw.len() as u64,
            "decompressed position at the end"
        );
        std::fs::remove_file(&path).ok();
    }
}

#[test]
fn truncating_a_real_capture_at_every_offset() {
    let Some(data) = shared_data() else { return };
    let raw = std::fs::read(data.join("pcaps/dnp3/dnp3-openics-read.pcap")).expect("read");
    // Record boundaries, from the length fields.
    let mut bounds = vec![24usize];
    while let Some(&b) = bounds.last() {
        if b >= raw.len() {
            break;
        }
        let caplen = u32::from_le_bytes(raw[b + 8..b + 12].try_into().expect("4")) as usize;
        bounds.push(b + 16 + caplen);
    }
    assert_eq!(bounds.len() - 1, 8);
    for cut in 0..raw.len() {
        let res = read_bytes("cut.pcap", &raw[..cut]);
        if cut < 24 {
            assert!(res.is_err(), "cut {cut}: header error at open");
            continue;
        }
        let (pkts, err) = res.expect("header is whole");
        let whole = bounds.iter().filter(|&&b| b <= cut).count() - 1;
        assert_eq!(pkts.len(), whole, "cut {cut}");
        if bounds.contains(&cut) {
            assert!(
                err.is_none(),
                "cut {cut} on a record boundary is a clean end"
            );
        } else {
            let e = err.expect("truncation error");
            assert_eq!(
                e.offset, bounds[whole] as u64,
                "cut {cut}: offset of the cut record"
            );
            assert!(e.to_string().contains("truncated packet record"), "{e}");
        }
    }
}

#[test]
fn merging_real_captures_interleaves_by_time() {
    let Some(data) = shared_data() else { return };
    let p = data.join("pcaps");
    // Three excerpts of one 2008 session, published as separate files.
    let files = [
        p.join("iec61850-mms/mms-iti-start-request.pcap"),
        p.join("iec61850-mms/mms-iti-take-control.pcap"),
        p.join("iec61850-mms/mms-iti-initiate-download-sequence.pcap"),
    ];
    let mut m = MergedReader::open(&files).expect("open");
    let mut prev = i64::MIN;
    let mut per_file = [0usize; 3];
    let mut order = Vec::new();
    while let Some((i, pkt)) = m.next_packet().expect("merge") {
        assert!(pkt.ts >= prev, "merged output is in time order");
        prev = pkt.ts;
        per_file[i] += 1;
        if order.last() != Some(&i) {
            order.push(i);
        }
    }
    assert_eq!(per_file, [24, 24, 24]);
    // take-control (1227729893.7) < start-request (1227729894.24) < initiate-download (1227729894.80)
    assert_eq!(order, vec![1, 0, 2]);
    assert_eq!(m.bytes_read(), m.total_bytes().expect("files"));
}
