//! MMS conformance against tshark (`expected/tshark/mms-*.tsv` and the IEC 61850
//! sample): confirmed requests (invoke id, service), responses and errors (invoke
//! id, response service), initiate, conclude and unconfirmed PDU counts. Prints an
//! agreement table; a disagreement fails unless `mms_allowlist.txt` lists it with
//! its evidence.
mod support;
use sluice_proto::{mms, Output, Record};
use std::collections::BTreeMap;
use std::path::Path;

type Bag = BTreeMap<String, usize>;

fn bag<I: IntoIterator<Item = String>>(it: I) -> Bag {
    let mut b = Bag::new();
    for k in it {
        *b.entry(k).or_insert(0) += 1;
    }
    b
}

/// Items of `a` missing from `b` (multiset difference) and how many.
fn missing(a: &Bag, b: &Bag) -> (Vec<String>, usize) {
    let mut v = Vec::new();
    let mut n_missing = 0;
    for (k, n) in a {
        let m = b.get(k).copied().unwrap_or(0);
        if *n > m {
            v.push(format!("{k} x{}", n - m));
            n_missing += n - m;
        }
    }
    (v, n_missing)
}

struct Tsv {
    cols: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Tsv {
    fn read(p: &Path) -> Tsv {
        let text = std::fs::read_to_string(p).expect("tsv");
        let mut lines = text.lines();
        let cols = lines
            .next()
            .unwrap_or_default()
            .split('\t')
            .map(str::to_string)
            .collect();
        let rows = lines
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect();
        Tsv { cols, rows }
    }
    fn col(&self, row: &[String], name: &str) -> String {
        self.cols
            .iter()
            .position(|c| c == name)
            .and_then(|i| row.get(i))
            .cloned()
            .unwrap_or_default()
    }
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// What tshark saw, as comparable bags.
#[derive(Default)]
struct Seen {
    requests: Bag,
    responses: Bag,
    response_services: Bag,
    counts: BTreeMap<&'static str, usize>,
}

const COUNTED: [(&str, &str); 5] = [
    ("initiate-RequestPDU", "initiate_request"),
    ("initiate-ResponsePDU", "initiate_response"),
    ("conclude-RequestPDU", "conclude_request"),
    ("conclude-ResponsePDU", "conclude_response"),
    ("unconfirmed-PDU", "unconfirmed"),
];

fn tshark(p: &Path) -> Seen {
    let t = Tsv::read(p);
    let mut s = Seen::default();
    for r in &t.rows {
        if !t.col(r, "frame.protocols").contains(":mms") {
            continue;
        }
        let info = t.col(r, "_ws.col.Info");
        let ids = split(&t.col(r, "mms.invokeID"));
        let reqs = split(&t.col(r, "mms.confirmedServiceRequest"));
        let resps = split(&t.col(r, "mms.confirmedServiceResponse"));
        let n_req = info.matches("confirmed-RequestPDU").count();
        let n_resp = info.matches("confirmed-ResponsePDU").count()
            + info.matches("confirmed-ErrorPDU").count();
        // invoke ids appear in PDU order; requests and responses rarely share a frame
        let mut ids_it = ids.into_iter();
        if n_req > 0 {
            for svc in reqs.iter().take(n_req) {
                let id = ids_it.next().unwrap_or_default();
                s.requests.extend(bag([format!("{id}/{svc}")]));
            }
        }
        if n_resp > 0 {
            for _ in 0..n_resp {
                let id = ids_it.next().unwrap_or_default();
                *s.responses.entry(id).or_insert(0) += 1;
            }
        }
        let ids2 = split(&t.col(r, "mms.invokeID"));
        for (svc, id) in resps.iter().zip(ids2.iter().skip(n_req)) {
            *s.response_services
                .entry(format!("{id}/{svc}"))
                .or_insert(0) += 1;
        }
        for (token, name) in COUNTED {
            *s.counts.entry(name).or_insert(0) += info.matches(token).count();
        }
    }
    s
}

fn ours(p: &Path) -> Seen {
    let mut s = Seen::default();
    for (_, out) in support::run(&mms::DESC, p) {
        for o in out {
            let Output::Txn(t) = o else { continue };
            let Record::Mms(m) = t.record else { continue };
            let id = m.invoke_id.map(|i| i.to_string()).unwrap_or_default();
            match m.pdu {
                "confirmed" => {
                    if m.request {
                        let svc = m.function_code.map(|f| f.to_string()).unwrap_or_default();
                        *s.requests.entry(format!("{id}/{svc}")).or_insert(0) += 1;
                    }
                    if m.response {
                        *s.responses.entry(id.clone()).or_insert(0) += 1;
                        if let Some(f) = m.function_code {
                            *s.response_services.entry(format!("{id}/{f}")).or_insert(0) += 1;
                        }
                    }
                }
                "initiate" => {
                    *s.counts.entry("initiate_request").or_insert(0) += usize::from(m.request);
                    *s.counts.entry("initiate_response").or_insert(0) += usize::from(m.response);
                }
                "conclude" => {
                    *s.counts.entry("conclude_request").or_insert(0) += usize::from(m.request);
                    *s.counts.entry("conclude_response").or_insert(0) += usize::from(m.response);
                }
                "unconfirmed" => *s.counts.entry("unconfirmed").or_insert(0) += 1,
                _ => {}
            }
        }
    }
    s
}

fn allowlist() -> Vec<(String, String)> {
    let text = include_str!("mms_allowlist.txt");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

#[test]
fn agrees_with_tshark() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let allow = allowlist();
    let mut names: Vec<String> = std::fs::read_dir(data.join("pcaps/iec61850-mms"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    names.sort();
    let mut failures = Vec::new();
    let mut used = Vec::new();
    println!(
        "{:<48} {:<20} {:>7} {:>7} {:>7}",
        "capture", "field", "tshark", "sluice", "agree"
    );
    for name in names {
        let stem = name.trim_end_matches(".pcap").to_string();
        let tsv = data.join("expected/tshark").join(format!("{stem}.tsv"));
        if !tsv.exists() {
            continue;
        }
        let want = tshark(&tsv);
        let got = ours(&data.join("pcaps/iec61850-mms").join(&name));
        let mut check = |field: &str, a: &Bag, b: &Bag, containment: bool| {
            let (miss, n_miss) = missing(a, b);
            let extra = if containment {
                Vec::new()
            } else {
                missing(b, a).0
            };
            let n_a: usize = a.values().sum();
            let n_b: usize = b.values().sum();
            let agree = n_a - n_miss.min(n_a);
            println!("{stem:<48} {field:<20} {n_a:>7} {n_b:>7} {agree:>7}");
            if !miss.is_empty() || !extra.is_empty() {
                let key = (stem.clone(), field.to_string());
                if allow.contains(&key) {
                    used.push(key);
                } else {
                    failures.push(format!("{stem} {field}: missing {miss:?}, extra {extra:?}"));
                }
            }
        };
        check("requests", &want.requests, &got.requests, false);
        check("responses", &want.responses, &got.responses, false);
        check(
            "response_services",
            &want.response_services,
            &got.response_services,
            true,
        );
        for (_, name) in COUNTED {
            let a = bag(std::iter::repeat_n(
                name.to_string(),
                want.counts.get(name).copied().unwrap_or(0),
            ));
            let b = bag(std::iter::repeat_n(
                name.to_string(),
                got.counts.get(name).copied().unwrap_or(0),
            ));
            check(name, &a, &b, false);
        }
    }
    for key in &allow {
        assert!(
            used.contains(key),
            "allowlist entry not needed any more: {key:?}"
        );
    }
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
}
