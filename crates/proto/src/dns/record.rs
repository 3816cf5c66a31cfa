//! The DNS event record: one query with its response.
use super::names;
use super::parser::{Message, RawRecord, Rdata};
use serde::Serialize;

/// Entries kept per section.
pub const MAX_RECORDS: usize = 64;
/// Characters kept of a TXT string or of hex RDATA.
pub const MAX_TEXT: usize = 256;

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_in(c: &u16) -> bool {
    *c == 1
}

/// One question.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Question {
    pub name: String,
    #[serde(rename = "type")]
    pub qtype: u16,
    pub type_name: &'static str,
    /// Class, when not IN (1).
    #[serde(skip_serializing_if = "is_in")]
    pub class: u16,
}

/// SOA data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Soa {
    pub mname: String,
    pub rname: String,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

/// SRV data (the target is in `data`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
}

/// One resource record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: u16,
    pub type_name: &'static str,
    /// Class, when not IN (1).
    #[serde(skip_serializing_if = "is_in")]
    pub class: u16,
    pub ttl: u32,
    /// Address (A, AAAA), name (NS, CNAME, PTR, DNAME, MX exchange, SRV target) or
    /// hex of other RDATA (cut at 256 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// MX preference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preference: Option<u16>,
    /// TXT strings (each cut at 256 characters, at most 16).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txt: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soa: Option<Box<Soa>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srv: Option<Srv>,
    /// Dynamic update (opcode 5) meaning of a prerequisite or update record:
    /// `name_in_use`, `name_not_in_use`, `rrset_exists`, `rrset_exists_value`,
    /// `rrset_does_not_exist`, `add`, `delete_rrset`, `delete_all_rrsets`, `delete_rr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
}

/// EDNS(0) parameters (RFC 6891 §6.1.3) of a message's OPT pseudo-record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Edns {
    /// Largest UDP payload the sender reassembles (the OPT record's class).
    pub udp_size: u16,
    /// Upper 8 bits of the 12-bit response code (the OPT TTL's first octet).
    pub extended_rcode: u8,
    pub version: u8,
    /// DNSSEC OK: the sender understands DNSSEC records.
    #[serde(rename = "do")]
    pub dnssec_ok: bool,
}

impl Edns {
    /// The first OPT record of the additional section.
    pub fn of(m: &Message<'_>) -> Option<Edns> {
        let r = m.additionals.iter().find(|r| r.rtype == OPT)?;
        Some(Edns {
            udp_size: r.class,
            extended_rcode: (r.ttl >> 24) as u8,
            version: (r.ttl >> 16) as u8,
            dnssec_ok: r.ttl & 0x8000 != 0,
        })
    }
}

/// OPT pseudo-record type.
const OPT: u16 = 41;

/// One DNS transaction: a query and its response (either may be missing).
///
/// For a dynamic update (opcode 5) `questions` holds the zone, `answers` the
/// prerequisites and `authorities` the updates (RFC 2136 §2), each with its `action`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {
    pub id: u16,
    pub opcode: u8,
    pub opcode_name: &'static str,
    /// First question's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qtype: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qtype_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<Question>,
    /// A query was seen.
    pub request: bool,
    /// A response was seen.
    pub response: bool,
    /// Recursion desired (from the query, else the response).
    pub rd: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aa: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tc: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ra: Option<bool>,
    /// Response code; with EDNS the 12-bit code (extended rcode << 4 | header rcode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<Answer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<Answer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additionals: Vec<Answer>,
    /// EDNS of the query (its OPT record is also listed in `additionals`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edns: Option<Edns>,
    /// EDNS of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_edns: Option<Edns>,
    /// Some list was cut at [`MAX_RECORDS`] or the message could not be fully decoded.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

/// Text of a TXT string: lossy UTF-8, cut at [`MAX_TEXT`] characters.
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).chars().take(MAX_TEXT).collect()
}

fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::new();
    for &x in b.iter().take(MAX_TEXT / 2) {
        s.push(char::from(D[usize::from(x >> 4)]));
        s.push(char::from(D[usize::from(x & 15)]));
    }
    if b.len() > MAX_TEXT / 2 {
        s.push_str("...");
    }
    s
}

/// Dynamic update action of a record of the prerequisite or update section.
fn update_action(r: &RawRecord<'_>, zone_class: u16, section: u8) -> &'static str {
    let empty = matches!(r.rdata, Rdata::Empty);
    match (section, r.class, r.rtype) {
        (1, 255, 255) if empty => "name_in_use",
        (1, 254, 255) if empty => "name_not_in_use",
        (1, 255, _) => "rrset_exists",
        (1, 254, _) => "rrset_does_not_exist",
        (1, _, _) => "rrset_exists_value",
        (_, 255, 255) => "delete_all_rrsets",
        (_, 255, _) => "delete_rrset",
        (_, 254, _) => "delete_rr",
        (_, c, _) if c == zone_class => "add",
        _ => "unknown",
    }
}

impl Answer {
    fn from_raw(r: &RawRecord<'_>, action: Option<&'static str>) -> Answer {
        let mut a = Answer {
            name: r.name.clone(),
            rtype: r.rtype,
            type_name: names::type_name(r.rtype),
            class: r.class,
            ttl: r.ttl,
            data: None,
            preference: None,
            txt: None,
            soa: None,
            srv: None,
            action,
        };
        match &r.rdata {
            Rdata::A(ip) => a.data = Some(ip.to_string()),
            Rdata::Aaaa(ip) => a.data = Some(ip.to_string()),
            Rdata::Name(n) => a.data = Some(n.clone()),
            Rdata::Mx {
                preference,
                exchange,
            } => {
                a.preference = Some(*preference);
                a.data = Some(exchange.clone());
            }
            Rdata::Txt { strings, .. } => a.txt = Some(strings.iter().map(|s| text(s)).collect()),
            Rdata::Soa(s) => {
                a.soa = Some(Box::new(Soa {
                    mname: s.mname.clone(),
                    rname: s.rname.clone(),
                    serial: s.serial,
                    refresh: s.refresh,
                    retry: s.retry,
                    expire: s.expire,
                    minimum: s.minimum,
                }))
            }
            Rdata::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                a.srv = Some(Srv {
                    priority: *priority,
                    weight: *weight,
                    port: *port,
                });
                a.data = Some(target.clone());
            }
            Rdata::Empty => {}
            Rdata::Other(b) => a.data = Some(hex(b)),
        }
        a
    }
}

impl Transaction {
    /// A transaction from its first message (query or lone response).
    pub fn from_message(m: &Message<'_>) -> Transaction {
        let h = m.header;
        let first = m.questions.first();
        let mut t = Transaction {
            id: h.id,
            opcode: h.opcode(),
            opcode_name: names::opcode_name(h.opcode()),
            query: first.map(|q| q.name.clone()),
            qtype: first.map(|q| q.qtype),
            qtype_name: first.map(|q| names::type_name(q.qtype)),
            questions: m
                .questions
                .iter()
                .map(|q| Question {
                    name: q.name.clone(),
                    qtype: q.qtype,
                    type_name: names::type_name(q.qtype),
                    class: q.qclass,
                })
                .collect(),
            request: !h.qr(),
            response: false,
            rd: h.rd(),
            aa: None,
            tc: None,
            ra: None,
            rcode: None,
            rcode_name: None,
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
            edns: None,
            response_edns: None,
            truncated: m.capped || m.error.is_some(),
        };
        if h.qr() {
            t.apply_response(m);
        } else {
            t.edns = Edns::of(m);
            if h.opcode() == 5 {
                // An update request carries its prerequisites and updates.
                t.set_records(m);
            }
        }
        t
    }

    fn set_records(&mut self, m: &Message<'_>) {
        let update = m.header.opcode() == 5;
        let zone_class = m.questions.first().map_or(1, |q| q.qclass);
        let conv = |rs: &[RawRecord<'_>], section: u8| -> Vec<Answer> {
            rs.iter()
                .map(|r| {
                    let action =
                        (update && section < 3).then(|| update_action(r, zone_class, section));
                    Answer::from_raw(r, action)
                })
                .collect()
        };
        self.answers = conv(&m.answers, 1);
        self.authorities = conv(&m.authorities, 2);
        self.additionals = conv(&m.additionals, 3);
    }

    /// Fills the response fields from a response message.
    pub fn apply_response(&mut self, m: &Message<'_>) {
        let h = m.header;
        self.response = true;
        self.aa = Some(h.aa());
        self.tc = Some(h.tc());
        self.ra = Some(h.ra());
        self.response_edns = Edns::of(m);
        let ext = self
            .response_edns
            .map_or(0, |e| u16::from(e.extended_rcode));
        let rcode = ext << 4 | u16::from(h.rcode());
        self.rcode = Some(rcode);
        self.rcode_name = Some(names::rcode_name(rcode));
        if self.questions.is_empty() && !m.questions.is_empty() {
            let first = m.questions.first();
            self.query = first.map(|q| q.name.clone());
            self.qtype = first.map(|q| q.qtype);
            self.qtype_name = first.map(|q| names::type_name(q.qtype));
            self.questions = m
                .questions
                .iter()
                .map(|q| Question {
                    name: q.name.clone(),
                    qtype: q.qtype,
                    type_name: names::type_name(q.qtype),
                    class: q.qclass,
                })
                .collect();
        }
        // An update response normally echoes nothing; keep the request's records then.
        let has_records =
            !(m.answers.is_empty() && m.authorities.is_empty() && m.additionals.is_empty());
        if has_records || h.opcode() != 5 {
            self.set_records(m);
        }
        self.truncated |= m.capped || m.error.is_some();
    }

    /// Answers rendered like Zeek's `answers` column: the data of each answer
    /// record (`TXT <len> <string>` for each TXT string).
    pub fn answer_strings(&self) -> Vec<String> {
        self.answers
            .iter()
            .filter_map(|a| {
                if let Some(t) = &a.txt {
                    Some(
                        t.iter()
                            .map(|s| format!("TXT {} {}", s.len(), s))
                            .collect::<Vec<_>>()
                            .join(" "),
                    )
                } else {
                    a.data.clone()
                }
            })
            .collect()
    }
}
