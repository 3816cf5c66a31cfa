//! Property tests: the byte handling never panics and always yields valid frames.
use proptest::prelude::*;
use sluice_capture::{LinkType, PcapWriter};
use sluice_synth::app::modbus::{encode, Pdu};
use sluice_synth::frame::{self, rewrite_ipv4, verify_ipv4, Addrs, IpOpts, TcpHeader, L2};
use sluice_synth::replicate::{replicate, Options};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rewrite_and_verify_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..200), a in any::<u32>(), b in any::<u32>(), ihl in 0u8..16, ipv4 in any::<bool>()) {
        if ipv4 && bytes.len() > 14 {
            // An IPv4 EtherType and version with any header length, checksum zeroed so
            // that short headers can pass the header check.
            bytes[12] = 0x08;
            bytes[13] = 0x00;
            bytes[14] = 0x40 | ihl;
            for b in bytes.iter_mut().skip(15) {
                *b = 0;
            }
        }
        let _ = verify_ipv4(&bytes);
        let _ = rewrite_ipv4(&mut bytes, Ipv4Addr::from(a), Ipv4Addr::from(b));
        let _ = verify_ipv4(&bytes);
    }

    #[test]
    fn rewrite_keeps_ipv4_frames_valid(payload in proptest::collection::vec(any::<u8>(), 0..1400), a in any::<u32>(), b in any::<u32>(),
                                       seq in any::<u32>(), fl in any::<u8>(), udp in any::<bool>(), vlan in proptest::option::of(0u16..4096)) {
        let mut buf = Vec::new();
        let l2 = L2 { src: [2; 6], dst: [4; 6], vlan };
        let addrs = Addrs::new(IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b))).unwrap();
        if udp {
            frame::udp_frame(&mut buf, &l2, &addrs, &IpOpts::default(), 1, 2, &payload).unwrap();
        } else {
            let h = TcpHeader { src_port: 3, dst_port: 4, seq, ack: seq ^ 0x5555, flags: fl & 0x3f, window: 100, mss: Some(1460), ..Default::default() };
            frame::tcp_frame(&mut buf, &l2, &addrs, &IpOpts::default(), &h, &payload).unwrap();
        }
        prop_assert_eq!(verify_ipv4(&buf), Some(true));
        prop_assert!(rewrite_ipv4(&mut buf, Ipv4Addr::from(b ^ 1), Ipv4Addr::from(a ^ 2)));
        prop_assert_eq!(verify_ipv4(&buf), Some(true));
    }

    #[test]
    fn ipv6_frames_have_valid_transport_checksums(payload in proptest::collection::vec(any::<u8>(), 0..600), a in any::<u128>(), b in any::<u128>()) {
        let mut buf = Vec::new();
        let (s, d) = (Ipv6Addr::from(a), Ipv6Addr::from(b));
        let addrs = Addrs::new(IpAddr::V6(s), IpAddr::V6(d)).unwrap();
        frame::udp_frame(&mut buf, &L2::new([2; 6], [4; 6]), &addrs, &IpOpts::default(), 9, 10, &payload).unwrap();
        let seg = &buf[54..54 + 8 + payload.len()];
        let mut sum = frame::sum_words(0, &s.octets());
        sum = frame::sum_words(sum, &d.octets());
        sum += 17 + seg.len() as u64;
        prop_assert_eq!(frame::fold(frame::sum_words(sum, seg)), 0);
    }

    #[test]
    fn modbus_encode_is_all_or_nothing(fc in any::<u8>(), addr in any::<u16>(), qty in any::<u16>(), n in 0usize..300, unit in any::<u8>()) {
        let regs = vec![0x1234u16; n];
        let bits = vec![true; n * 8];
        for pdu in [
            Pdu::Read { fc, address: addr, quantity: qty },
            Pdu::ReadRegisters { fc, values: &regs },
            Pdu::ReadBits { fc, bits: &bits },
            Pdu::WriteMultipleRegisters { address: addr, values: &regs },
            Pdu::WriteMultipleCoils { address: addr, values: &bits },
            Pdu::WriteMultipleAck { fc, address: addr, quantity: qty },
            Pdu::Exception { fc, code: unit },
        ] {
            let mut out = vec![0xee];
            match encode(&mut out, 1, unit, &pdu) {
                Ok(()) => {
                    let len = usize::from(u16::from_be_bytes([out[5], out[6]]));
                    prop_assert_eq!(len + 7, out.len());
                    prop_assert!(out.len() - 1 <= 260);
                }
                Err(_) => prop_assert_eq!(out, vec![0xee]),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Arbitrary frames in an input capture: replication never panics and still writes
    /// exactly the packets asked for.
    #[test]
    fn replicate_survives_arbitrary_frames(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 1..20), ipv4 in any::<bool>()) {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("synth-props");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("arb-{}-{}.pcap", std::process::id(), frames.len()));
        let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap(), LinkType::ETHERNET, 65535).unwrap();
        for (i, f) in frames.iter().enumerate() {
            let mut f = f.clone();
            if ipv4 && f.len() > 34 {
                f[12] = 8;
                f[13] = 0;
                f[14] = 0x45;
            }
            w.write(i as i64 * 1000, &f).unwrap();
        }
        w.finish().unwrap();
        let opts = Options { packets: 500, it_share: 0.0, window_ns: 1_000_000, seed: 1 };
        let mut out = Vec::new();
        if let Ok(s) = replicate(std::slice::from_ref(&path), &opts, &mut out) {
            prop_assert_eq!(s.packets, 500);
        }
        let _ = std::fs::remove_file(&path);
    }
}
