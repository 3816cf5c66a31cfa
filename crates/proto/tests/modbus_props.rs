//! Property tests: the Modbus parser never panics on arbitrary bytes in arbitrary
//! chunkings, its output does not depend on chunking, and encoded requests and
//! responses decode back to what was encoded.
mod modbus_support;

use modbus_support::*;
use proptest::prelude::*;
use sluice_proto::modbus::encode::{self, FileRead, FileWrite, Request, Response};
use sluice_proto::modbus::{parser, probe, ModbusParser, Transaction};
use sluice_proto::{Direction, Output, Parser};

fn dir_of(b: bool) -> Direction {
    if b {
        Direction::ToServer
    } else {
        Direction::ToClient
    }
}

/// Feeds `(dir, bytes)` steps, each split in chunks of `chunk` bytes (0 = whole).
fn feed(steps: &[(Direction, Vec<u8>)], chunk: usize) -> Vec<Output> {
    let mut p = ModbusParser::new();
    let mut out = Vec::new();
    for (dir, data) in steps {
        if chunk == 0 {
            p.parse(*dir, data, 7, &mut out);
        } else {
            for c in data.chunks(chunk) {
                p.parse(*dir, c, 7, &mut out);
            }
        }
    }
    p.finish(8, &mut out);
    out
}

/// A well-formed frame, a frame with a random PDU, or raw noise.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (any::<u16>(), any::<u8>(), 1u16..10, 0u16..=125).prop_map(|(t, u, a, q)| {
            encode::request(
                t % 4,
                u % 3,
                &Request::ReadHoldingRegisters {
                    address: a,
                    quantity: q,
                },
            )
            .unwrap()
        }),
        (any::<u16>(), prop::collection::vec(any::<u16>(), 0..20)).prop_map(|(t, v)| {
            encode::response(t % 4, 1, &Response::ReadHoldingRegisters { values: &v }).unwrap()
        }),
        (
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(t, u, fc, d)| encode::frame(
                t % 4,
                u,
                &[&[fc][..], &d[..]].concat()
            )
            .unwrap()),
        prop::collection::vec(any::<u8>(), 0..30),
        Just(vec![0, 0, 0, 0, 0, 0]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_arbitrary_bytes(
        steps in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..600), 0usize..5, any::<bool>()), 0..12)
    ) {
        let mut p = ModbusParser::new();
        let mut out = Vec::new();
        for (d, data, chunk, gap) in &steps {
            let dir = dir_of(*d);
            if *gap {
                p.gap(dir, 10, 0, &mut out);
            }
            for c in data.chunks(chunk + 1) {
                p.parse(dir, c, 0, &mut out);
            }
        }
        p.finish(0, &mut out);
        let _ = probe(Direction::ToServer, steps.first().map(|s| &s.1[..]).unwrap_or(&[]));
        let _ = probe(Direction::ToClient, steps.first().map(|s| &s.1[..]).unwrap_or(&[]));
    }

    #[test]
    fn pure_decoders_never_panic(pdu in prop::collection::vec(any::<u8>(), 0..300), dir in any::<bool>()) {
        if let Ok(d) = parser::decode_request(&pdu) {
            let mut t = Transaction::new(0, 0, pdu.first().copied().unwrap_or(0));
            let _ = d.issue.map(|i| i.kind());
            let _ = format!("{:?}", d.pdu);
            let _ = t.written();
            t.request = true;
        }
        if let Ok(d) = parser::decode_response(&pdu) {
            let _ = format!("{:?}", d.pdu);
        }
        let _ = parser::plausible_start(dir_of(dir), &pdu);
        let _ = parser::resync_start(dir_of(dir), &pdu, true);
    }

    #[test]
    fn output_does_not_depend_on_chunking(
        pieces in prop::collection::vec((any::<bool>(), piece()), 0..16),
        chunk in 1usize..20,
    ) {
        let steps: Vec<(Direction, Vec<u8>)> = pieces.into_iter().map(|(d, b)| (dir_of(d), b)).collect();
        let whole = feed(&steps, 0);
        prop_assert_eq!(&whole, &feed(&steps, 1));
        prop_assert_eq!(&whole, &feed(&steps, chunk));
    }

    #[test]
    fn request_round_trip(r in request_strategy(), tid in any::<u16>(), unit in any::<u8>()) {
        let frame = r.encode(tid, unit);
        let out = feed(&[(Direction::ToServer, frame)], 0);
        prop_assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
        let t = txns(&out);
        prop_assert_eq!(t.len(), 1);
        let m = t[0].1;
        prop_assert_eq!((m.transaction_id, m.unit_id), (tid, unit));
        prop_assert!(m.request && !m.response);
        check_request(&r.owned, m);
    }

    #[test]
    fn read_response_round_trip(values in prop::collection::vec(any::<u16>(), 1..=125), addr in any::<u16>(), tid in any::<u16>()) {
        let q = values.len() as u16;
        let steps = [
            (Direction::ToServer, encode::request(tid, 1, &Request::ReadInputRegisters { address: addr, quantity: q }).unwrap()),
            (Direction::ToClient, encode::response(tid, 1, &Response::ReadInputRegisters { values: &values }).unwrap()),
        ];
        let out = feed(&steps, 0);
        prop_assert!(anomalies(&out).is_empty());
        let m = txns(&out)[0].1;
        prop_assert_eq!(m.values.as_ref(), Some(&values));
        prop_assert_eq!((m.address, m.quantity), (Some(addr), Some(q)));
    }

    #[test]
    fn coil_response_round_trip(bits in prop::collection::vec(any::<bool>(), 1..=2000), tid in any::<u16>()) {
        let q = bits.len() as u16;
        let steps = [
            (Direction::ToServer, encode::request(tid, 1, &Request::ReadCoils { address: 0, quantity: q }).unwrap()),
            (Direction::ToClient, encode::response(tid, 1, &Response::ReadCoils { bits: &bits }).unwrap()),
        ];
        let out = feed(&steps, 0);
        prop_assert!(anomalies(&out).is_empty());
        let want: Vec<u16> = bits.iter().map(|&b| u16::from(b)).collect();
        prop_assert_eq!(txns(&out)[0].1.values.as_ref(), Some(&want));
    }
}

/// An owned request for the round trip.
#[derive(Clone, Debug)]
enum Owned {
    Read(u8, u16, u16),
    Coil(u16, bool),
    Register(u16, u16),
    Coils(u16, Vec<bool>),
    Registers(u16, Vec<u16>),
    Diag(u16, Vec<u8>),
    Mask(u16, u16, u16),
    ReadWrite(u16, u16, u16, Vec<u16>),
    Fifo(u16),
    DevId(u8, u8),
    FileRead(Vec<(u16, u16, u16)>),
    FileWrite(u16, u16, Vec<u16>),
    Simple(u8),
}

impl Owned {
    fn as_request(&self) -> Request<'_> {
        match self {
            Owned::Read(1, a, q) => Request::ReadCoils {
                address: *a,
                quantity: *q,
            },
            Owned::Read(2, a, q) => Request::ReadDiscreteInputs {
                address: *a,
                quantity: *q,
            },
            Owned::Read(3, a, q) => Request::ReadHoldingRegisters {
                address: *a,
                quantity: *q,
            },
            Owned::Read(_, a, q) => Request::ReadInputRegisters {
                address: *a,
                quantity: *q,
            },
            Owned::Coil(a, v) => Request::WriteSingleCoil {
                address: *a,
                value: *v,
            },
            Owned::Register(a, v) => Request::WriteSingleRegister {
                address: *a,
                value: *v,
            },
            Owned::Coils(a, v) => Request::WriteMultipleCoils {
                address: *a,
                values: v,
            },
            Owned::Registers(a, v) => Request::WriteMultipleRegisters {
                address: *a,
                values: v,
            },
            Owned::Diag(s, d) => Request::Diagnostics {
                sub_function: *s,
                data: d,
            },
            Owned::Mask(a, and, or) => Request::MaskWriteRegister {
                address: *a,
                and_mask: *and,
                or_mask: *or,
            },
            Owned::ReadWrite(ra, rq, wa, v) => Request::ReadWriteMultipleRegisters {
                read_address: *ra,
                read_quantity: *rq,
                write_address: *wa,
                values: v,
            },
            Owned::Fifo(a) => Request::ReadFifoQueue { address: *a },
            Owned::DevId(c, o) => Request::ReadDeviceIdentification {
                read_code: *c,
                object_id: *o,
            },
            Owned::FileRead(_) => unreachable!("built separately"),
            Owned::FileWrite(..) => unreachable!("built separately"),
            Owned::Simple(7) => Request::ReadExceptionStatus,
            Owned::Simple(11) => Request::GetCommEventCounter,
            Owned::Simple(12) => Request::GetCommEventLog,
            Owned::Simple(_) => Request::ReportServerId,
        }
    }
}

/// A generated request with the file records it may need.
#[derive(Clone, Debug)]
struct Req {
    owned: Owned,
    reads: Vec<FileRead>,
    writes: Vec<(u16, u16, Vec<u16>)>,
}

impl Req {
    fn encode(&self, tid: u16, unit: u8) -> Vec<u8> {
        let fw: Vec<FileWrite<'_>> = self
            .writes
            .iter()
            .map(|(f, r, v)| FileWrite {
                file_number: *f,
                record_number: *r,
                values: v,
            })
            .collect();
        let r = match &self.owned {
            Owned::FileRead(_) => Request::ReadFileRecord {
                records: &self.reads,
            },
            Owned::FileWrite(..) => Request::WriteFileRecord { records: &fw },
            o => o.as_request(),
        };
        encode::request(tid, unit, &r).unwrap()
    }
}

fn request_strategy() -> impl Strategy<Value = Req> {
    let owned = prop_oneof![
        (1u8..=4, any::<u16>(), any::<u16>()).prop_map(|(f, a, q)| Owned::Read(f, a, q)),
        (any::<u16>(), any::<bool>()).prop_map(|(a, v)| Owned::Coil(a, v)),
        (any::<u16>(), any::<u16>()).prop_map(|(a, v)| Owned::Register(a, v)),
        (any::<u16>(), prop::collection::vec(any::<bool>(), 1..=1968))
            .prop_map(|(a, v)| Owned::Coils(a, v)),
        (any::<u16>(), prop::collection::vec(any::<u16>(), 1..=123))
            .prop_map(|(a, v)| Owned::Registers(a, v)),
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..=40))
            .prop_map(|(s, d)| Owned::Diag(s, d)),
        (any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(a, b, c)| Owned::Mask(a, b, c)),
        (
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            prop::collection::vec(any::<u16>(), 1..=121)
        )
            .prop_map(|(a, b, c, v)| Owned::ReadWrite(a, b, c, v)),
        any::<u16>().prop_map(Owned::Fifo),
        (1u8..=4, any::<u8>()).prop_map(|(c, o)| Owned::DevId(c, o)),
        prop::collection::vec((any::<u16>(), any::<u16>(), any::<u16>()), 1..=35)
            .prop_map(Owned::FileRead),
        (
            any::<u16>(),
            any::<u16>(),
            prop::collection::vec(any::<u16>(), 0..=100)
        )
            .prop_map(|(f, r, v)| Owned::FileWrite(f, r, v)),
        prop_oneof![Just(7u8), Just(11u8), Just(12u8), Just(17u8)].prop_map(Owned::Simple),
    ];
    owned.prop_map(|o| {
        let reads = match &o {
            Owned::FileRead(v) => v
                .iter()
                .map(|&(f, r, l)| FileRead {
                    file_number: f,
                    record_number: r,
                    record_length: l,
                })
                .collect(),
            _ => Vec::new(),
        };
        let writes = match &o {
            Owned::FileWrite(f, r, v) => vec![(*f, *r, v.clone())],
            _ => Vec::new(),
        };
        Req {
            owned: o,
            reads,
            writes,
        }
    })
}

fn check_request(o: &Owned, m: &Transaction) {
    match o {
        Owned::Read(f, a, q) => {
            assert_eq!(
                (m.function_code, m.address, m.quantity),
                (*f, Some(*a), Some(*q))
            );
        }
        Owned::Coil(a, v) => {
            assert_eq!(
                (m.function_code, m.address, m.values.clone()),
                (5, Some(*a), Some(vec![u16::from(*v)]))
            );
            assert_eq!(m.written().len(), 1);
        }
        Owned::Register(a, v) => {
            assert_eq!((m.address, m.values.clone()), (Some(*a), Some(vec![*v])))
        }
        Owned::Coils(a, v) => {
            assert_eq!(
                (m.function_code, m.address, m.quantity),
                (15, Some(*a), Some(v.len() as u16))
            );
            let want: Vec<u16> = v.iter().map(|&b| u16::from(b)).collect();
            assert_eq!(m.values.as_ref(), Some(&want));
        }
        Owned::Registers(a, v) => {
            assert_eq!(
                (m.function_code, m.address, m.quantity),
                (16, Some(*a), Some(v.len() as u16))
            );
            assert_eq!(m.values.as_ref(), Some(v));
            let w = m.written();
            let room = usize::from(u16::MAX - *a) + 1;
            assert_eq!(w.len(), v.len().min(room));
        }
        Owned::Diag(s, d) => {
            assert_eq!((m.function_code, m.sub_function), (8, Some(*s)));
            let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(m.data.as_deref(), Some(hex.as_str()));
        }
        Owned::Mask(a, and, or) => assert_eq!(
            (m.address, m.and_mask, m.or_mask),
            (Some(*a), Some(*and), Some(*or))
        ),
        Owned::ReadWrite(ra, rq, wa, v) => {
            assert_eq!(
                (m.read_address, m.read_quantity, m.write_address),
                (Some(*ra), Some(*rq), Some(*wa))
            );
            assert_eq!(
                (m.write_quantity, m.write_values.as_ref()),
                (Some(v.len() as u16), Some(v))
            );
        }
        Owned::Fifo(a) => assert_eq!((m.function_code, m.address), (24, Some(*a))),
        Owned::DevId(c, o) => {
            let id = m.device_id.as_ref().unwrap();
            assert_eq!(
                (m.mei_type, id.read_code, id.object_id),
                (Some(14), *c, Some(*o))
            );
        }
        Owned::FileRead(v) => {
            let recs = m.file_records.as_ref().unwrap();
            assert_eq!(recs.len(), v.len());
            for (r, &(f, n, l)) in recs.iter().zip(v) {
                assert_eq!(
                    (
                        r.reference_type,
                        r.file_number,
                        r.record_number,
                        r.record_length
                    ),
                    (6, Some(f), Some(n), Some(l))
                );
            }
        }
        Owned::FileWrite(f, r, v) => {
            let rec = &m.file_records.as_ref().unwrap()[0];
            assert_eq!(
                (rec.file_number, rec.record_number, &rec.values),
                (Some(*f), Some(*r), v)
            );
            assert!(m.is_write());
        }
        Owned::Simple(f) => assert_eq!(m.function_code, *f),
    }
}

/// Real captures give the same output whole and byte by byte.
#[test]
fn captures_chunking_invariance() {
    let Some(dir) = data_dir() else { return };
    let mut caps: Vec<_> = std::fs::read_dir(dir.join("pcaps/modbus"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    caps.push(dir.join("pcaps/stacks/modbus.pcap"));
    caps.sort();
    for path in caps {
        let segs = read_pcap(&path);
        let chunk = if std::fs::metadata(&path).unwrap().len() > 400_000 {
            5
        } else {
            1
        };
        for f in flows(&segs, 502) {
            assert_eq!(
                run_flow(&f, 0),
                run_flow(&f, chunk),
                "{} {:?}",
                path.display(),
                f.client
            );
        }
    }
}
