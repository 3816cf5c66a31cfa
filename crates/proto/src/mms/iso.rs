//! The OSI stack under MMS: TPKT (RFC 1006), COTP (ISO 8073 class 0), the ISO 8327
//! session layer, the ISO 8823 presentation layer and ACSE (ISO 8650).
//!
//! Pure, zero-copy decoding of one unit at a time; [`super::state`] does the
//! framing, reassembly and pairing.
use super::ber::{self, Class, Iter, Tlv};
use super::names;
use super::record::Association;
use thiserror::Error;

/// TPKT header length.
pub const TPKT_HEADER: usize = 4;
/// Smallest TPKT that can hold a COTP header (length indicator and type).
pub const TPKT_MIN: usize = 6;

/// What is wrong with an ISO layer unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum IsoError {
    #[error("TPKT version {0} is not 3")]
    TpktVersion(u8),
    #[error("TPKT length {0} too small")]
    TpktLength(u16),
    #[error("COTP length indicator {li} does not fit the {len}-octet TPDU")]
    CotpLength { li: u8, len: usize },
    #[error("COTP TPDU type 0x{0:02x} unknown")]
    CotpType(u8),
    #[error("session SPDU truncated")]
    SpduTruncated,
    #[error("presentation PPDU malformed")]
    Ppdu,
    #[error("ACSE APDU malformed")]
    Acse,
}

impl IsoError {
    /// Stable anomaly kind.
    pub fn kind(&self) -> &'static str {
        match self {
            IsoError::TpktVersion(_) | IsoError::TpktLength(_) => "bad_tpkt",
            IsoError::CotpLength { .. } | IsoError::CotpType(_) => "bad_cotp",
            IsoError::SpduTruncated => "bad_spdu",
            IsoError::Ppdu => "bad_ppdu",
            IsoError::Acse => "bad_acse",
        }
    }
}

/// Checks a TPKT header: `Ok(None)` when fewer than four octets are there,
/// `Ok(Some(total length))` otherwise.
pub fn tpkt_len(data: &[u8]) -> Result<Option<usize>, IsoError> {
    let Some(&v) = data.first() else {
        return Ok(None);
    };
    if v != 3 {
        return Err(IsoError::TpktVersion(v));
    }
    let Some(h) = data.get(..TPKT_HEADER) else {
        return Ok(None);
    };
    let len = u16::from_be_bytes([h[2], h[3]]);
    if usize::from(len) < TPKT_MIN {
        return Err(IsoError::TpktLength(len));
    }
    Ok(Some(usize::from(len)))
}

/// A COTP TPDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cotp<'a> {
    /// Data: `eot` marks the last TPDU of a TSDU.
    Data {
        eot: bool,
        payload: &'a [u8],
    },
    ConnectRequest {
        calling_tsap: &'a [u8],
        called_tsap: &'a [u8],
    },
    ConnectConfirm {
        calling_tsap: &'a [u8],
        called_tsap: &'a [u8],
    },
    DisconnectRequest {
        reason: u8,
    },
    DisconnectConfirm,
    Error {
        cause: u8,
    },
    /// Expedited data, acknowledgements, reject: not used by class 0.
    Other(u8),
}

/// Decodes the COTP TPDU inside a TPKT (the octets after the TPKT header).
pub fn cotp(tpdu: &[u8]) -> Result<Cotp<'_>, IsoError> {
    let li = *tpdu.first().ok_or(IsoError::CotpLength { li: 0, len: 0 })?;
    let bad = IsoError::CotpLength {
        li,
        len: tpdu.len(),
    };
    if li == 0 || li == 0xff || usize::from(li) >= tpdu.len() {
        return Err(bad);
    }
    let header = tpdu.get(1..=usize::from(li)).ok_or(bad)?;
    let rest = tpdu.get(1 + usize::from(li)..).unwrap_or_default();
    let code = header.first().copied().unwrap_or(0);
    match code & 0xf0 {
        0xf0 => {
            // Class 0/1: one octet (EOT + number); classes 2-4: DST-REF first.
            let nr = if li >= 4 {
                header.get(3)
            } else {
                header.get(1)
            };
            let nr = nr.ok_or(bad)?;
            Ok(Cotp::Data {
                eot: nr & 0x80 != 0,
                payload: rest,
            })
        }
        0xe0 | 0xd0 => {
            // DST-REF(2) SRC-REF(2) class(1) then parameters.
            let params = header.get(6..).unwrap_or_default();
            let mut calling: &[u8] = &[];
            let mut called: &[u8] = &[];
            let mut p = params;
            while let [code, len, tail @ ..] = p {
                let Some(v) = tail.get(..usize::from(*len)) else {
                    break;
                };
                match code {
                    0xc1 => calling = v,
                    0xc2 => called = v,
                    _ => {}
                }
                p = tail.get(usize::from(*len)..).unwrap_or_default();
            }
            if code & 0xf0 == 0xe0 {
                Ok(Cotp::ConnectRequest {
                    calling_tsap: calling,
                    called_tsap: called,
                })
            } else {
                Ok(Cotp::ConnectConfirm {
                    calling_tsap: calling,
                    called_tsap: called,
                })
            }
        }
        0x80 => Ok(Cotp::DisconnectRequest {
            reason: header.get(5).copied().unwrap_or(0),
        }),
        0xc0 => Ok(Cotp::DisconnectConfirm),
        0x70 => Ok(Cotp::Error {
            cause: header.get(3).copied().unwrap_or(0),
        }),
        0x10 | 0x20 | 0x50 | 0x60 => Ok(Cotp::Other(code)),
        _ => Err(IsoError::CotpType(code)),
    }
}

/// Session SPDU kinds (ISO 8327-1 SI codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Connect,
    Accept,
    Refuse,
    Finish,
    Disconnect,
    NotFinished,
    Abort,
    AbortAccept,
    /// Give tokens + data transfer (category 0 + 2 concatenation).
    Data,
    /// Give tokens alone.
    GiveTokens,
    TypedData,
    Expedited,
    Other(u8),
}

/// SPDU identifier codes.
pub mod si {
    pub const GIVE_TOKENS_OR_DATA: u8 = 1;
    pub const EXPEDITED: u8 = 5;
    pub const NOT_FINISHED: u8 = 8;
    pub const FINISH: u8 = 9;
    pub const DISCONNECT: u8 = 10;
    pub const REFUSE: u8 = 12;
    pub const CONNECT: u8 = 13;
    pub const ACCEPT: u8 = 14;
    pub const ABORT: u8 = 25;
    pub const ABORT_ACCEPT: u8 = 26;
    pub const TYPED_DATA: u8 = 33;
}

/// One session unit: its kind and the presentation octets it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session<'a> {
    pub kind: SessionKind,
    pub user_data: Option<&'a [u8]>,
    /// Refuse reason code (first octet of the Reason Code parameter).
    pub reason: Option<u8>,
}

/// A session length indicator: one octet, or 0xFF and two octets.
fn session_li(data: &[u8]) -> Result<(usize, usize), IsoError> {
    match data {
        [0xff, a, b, ..] => Ok((usize::from(u16::from_be_bytes([*a, *b])), 3)),
        [0xff, ..] | [] => Err(IsoError::SpduTruncated),
        [n, ..] => Ok((usize::from(*n), 1)),
    }
}

/// One SPDU header: (SI, parameter octets, octets after the parameters).
fn spdu(data: &[u8]) -> Result<(u8, &[u8], &[u8]), IsoError> {
    let si = *data.first().ok_or(IsoError::SpduTruncated)?;
    let (li, n) = session_li(data.get(1..).unwrap_or_default())?;
    let start = 1 + n;
    let params = data.get(start..start + li).ok_or(IsoError::SpduTruncated)?;
    Ok((si, params, data.get(start + li..).unwrap_or_default()))
}

/// Iterates the (code, value) parameter units of an SPDU's parameter field.
fn params(mut p: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let code = *p.first()?;
        let (len, n) = session_li(p.get(1..)?).ok()?;
        let v = p.get(1 + n..1 + n + len)?;
        p = p.get(1 + n + len..).unwrap_or_default();
        Some((code, v))
    })
}

/// Finds the User Data (193) or Extended User Data (194) parameter, looking inside
/// parameter groups too.
fn user_data(p: &[u8]) -> Option<&[u8]> {
    params(p).find_map(|(code, v)| match code {
        193 | 194 => Some(v),
        _ => None,
    })
}

/// Decodes the session layer of one TSDU.
pub fn session(tsdu: &[u8]) -> Result<Session<'_>, IsoError> {
    let (code, p, rest) = spdu(tsdu)?;
    let with_user = |kind| Session {
        kind,
        user_data: user_data(p).or(if rest.is_empty() { None } else { Some(rest) }),
        reason: None,
    };
    Ok(match code {
        si::GIVE_TOKENS_OR_DATA => {
            if rest.first() == Some(&si::GIVE_TOKENS_OR_DATA) {
                let (_, _, user) = spdu(rest)?;
                Session {
                    kind: SessionKind::Data,
                    user_data: Some(user),
                    reason: None,
                }
            } else if rest.is_empty() {
                Session {
                    kind: SessionKind::GiveTokens,
                    user_data: None,
                    reason: None,
                }
            } else {
                // A data transfer SPDU without the give tokens in front.
                Session {
                    kind: SessionKind::Data,
                    user_data: Some(rest),
                    reason: None,
                }
            }
        }
        si::CONNECT => with_user(SessionKind::Connect),
        si::ACCEPT => with_user(SessionKind::Accept),
        si::REFUSE => Session {
            reason: params(p)
                .find(|(c, _)| *c == 50)
                .and_then(|(_, v)| v.first().copied()),
            ..with_user(SessionKind::Refuse)
        },
        si::FINISH => with_user(SessionKind::Finish),
        si::DISCONNECT => with_user(SessionKind::Disconnect),
        si::NOT_FINISHED => with_user(SessionKind::NotFinished),
        si::ABORT => with_user(SessionKind::Abort),
        si::ABORT_ACCEPT => with_user(SessionKind::AbortAccept),
        si::EXPEDITED => with_user(SessionKind::Expedited),
        si::TYPED_DATA => Session {
            kind: SessionKind::TypedData,
            user_data: Some(rest),
            reason: None,
        },
        other => Session {
            kind: SessionKind::Other(other),
            user_data: None,
            reason: None,
        },
    })
}

/// Presentation PPDU kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresentationKind {
    /// CP-type (connect).
    Connect,
    /// CPA-type (accept).
    Accept,
    /// CPR-type (refuse).
    Refuse,
    /// User data (fully or simply encoded).
    Data,
    /// ARU / ARP (abort).
    Abort,
}

/// One presentation data value: its context id and the single ASN.1 value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdv<'a> {
    pub context: Option<i64>,
    pub value: &'a [u8],
}

/// Most presentation data values or contexts read from one PPDU.
pub const MAX_PDVS: usize = 8;

/// A decoded PPDU.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Presentation<'a> {
    pub kind: Option<PresentationKind>,
    /// Contexts defined (connect): `id:abstract-syntax`.
    pub contexts: Vec<String>,
    pub values: Vec<Pdv<'a>>,
    /// Provider abort reason / refuse reason.
    pub reason: Option<i64>,
}

/// The data values of fully-encoded user data (`[APPLICATION 1]` contents).
fn fully_encoded<'a>(contents: &'a [u8], out: &mut Vec<Pdv<'a>>) {
    for pdv in Iter::new(contents).filter(|t| t.is_univ(16)).take(MAX_PDVS) {
        let mut context = None;
        for c in pdv.children() {
            match (c.class, c.tag) {
                (Class::Universal, 2) => context = ber::int(c.value),
                // single-ASN1-type [0] or octet-aligned [1]
                (Class::Context, 0) | (Class::Context, 1) => {
                    out.push(Pdv {
                        context,
                        value: c.value,
                    });
                }
                _ => {}
            }
        }
    }
}

/// User data of a PPDU: fully encoded `[APPLICATION 1]` or simply encoded
/// `[APPLICATION 0]` (one value, no context).
fn user_data_ppdu<'a>(t: &Tlv<'a>, out: &mut Vec<Pdv<'a>>) -> bool {
    match (t.class, t.tag) {
        (Class::Application, 1) => {
            fully_encoded(t.value, out);
            true
        }
        (Class::Application, 0) => {
            out.push(Pdv {
                context: None,
                value: t.value,
            });
            true
        }
        _ => false,
    }
}

/// Decodes the presentation layer of a session unit's user data. `kind` tells
/// which PPDU the session unit carries.
pub fn presentation(data: &[u8], session: SessionKind) -> Result<Presentation<'_>, IsoError> {
    let (top, _) = ber::read(data).map_err(|_| IsoError::Ppdu)?;
    let mut p = Presentation::default();
    match session {
        SessionKind::Connect | SessionKind::Accept => {
            // CP-type / CPA-type: SET { mode-selector [0], normal-mode-parameters [2] }
            if !(top.class == Class::Universal && top.tag == 17) {
                return Err(IsoError::Ppdu);
            }
            p.kind = Some(if session == SessionKind::Connect {
                PresentationKind::Connect
            } else {
                PresentationKind::Accept
            });
            if let Some(normal) = top.children().find(|c| c.is_ctx(2)) {
                for c in normal.children() {
                    if c.is_ctx(4) {
                        for def in c.children().take(MAX_PDVS) {
                            let mut id = None;
                            let mut syntax = None;
                            for f in def.children() {
                                if f.is_univ(2) {
                                    id = ber::int(f.value);
                                } else if f.is_univ(6) && syntax.is_none() {
                                    syntax = ber::oid(f.value);
                                }
                            }
                            if let (Some(id), Some(s)) = (id, syntax) {
                                let name = names::oid_name(&s).unwrap_or("");
                                p.contexts.push(if name.is_empty() {
                                    format!("{id}:{s}")
                                } else {
                                    format!("{id}:{name}")
                                });
                            }
                        }
                    } else {
                        user_data_ppdu(&c, &mut p.values);
                    }
                }
            }
        }
        SessionKind::Refuse => {
            p.kind = Some(PresentationKind::Refuse);
            for c in top.children() {
                if c.is_ctx(10) {
                    p.reason = ber::int(c.value);
                } else {
                    user_data_ppdu(&c, &mut p.values);
                }
            }
        }
        SessionKind::Abort => {
            p.kind = Some(PresentationKind::Abort);
            for c in top.children() {
                if c.is_ctx(0) && !c.constructed {
                    p.reason = ber::int(c.value);
                } else {
                    user_data_ppdu(&c, &mut p.values);
                }
            }
        }
        _ => {
            p.kind = Some(PresentationKind::Data);
            if !user_data_ppdu(&top, &mut p.values) {
                return Err(IsoError::Ppdu);
            }
        }
    }
    Ok(p)
}

/// ACSE APDU kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcseKind {
    Aarq,
    Aare,
    Rlrq,
    Rlre,
    Abrt,
}

/// A decoded ACSE APDU: the association facts and the MMS PDU it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Acse<'a> {
    pub kind: AcseKind,
    pub association: Association,
    pub user: Option<&'a [u8]>,
}

/// Is this the first octet of an ACSE APDU (`[APPLICATION 0..4]` constructed)?
pub fn is_acse(first: u8) -> bool {
    (0x60..=0x64).contains(&first)
}

fn ap_title(t: &Tlv<'_>) -> Option<String> {
    let inner = t.inner()?;
    if inner.is_univ(6) {
        ber::oid(inner.value)
    } else {
        Some(ber::hex(inner.value, 32))
    }
}

fn ae_qualifier(t: &Tlv<'_>) -> Option<i64> {
    let inner = t.inner()?;
    ber::int(inner.value)
}

/// The MMS PDU inside ACSE user-information (`[30] { EXTERNAL { ..., [0] } }`).
fn acse_user<'a>(t: &Tlv<'a>) -> Option<&'a [u8]> {
    let ext = t.children().find(|c| c.is_univ(8))?;
    ext.children()
        .find(|c| c.class == Class::Context && (c.tag == 0 || c.tag == 1))
        .map(|c| c.value)
}

/// Decodes an ACSE APDU.
pub fn acse(data: &[u8]) -> Result<Acse<'_>, IsoError> {
    let (top, _) = ber::read(data).map_err(|_| IsoError::Acse)?;
    if top.class != Class::Application {
        return Err(IsoError::Acse);
    }
    let kind = match top.tag {
        0 => AcseKind::Aarq,
        1 => AcseKind::Aare,
        2 => AcseKind::Rlrq,
        3 => AcseKind::Rlre,
        4 => AcseKind::Abrt,
        _ => return Err(IsoError::Acse),
    };
    let mut a = Association::default();
    let mut user = None;
    for c in top.children() {
        if c.class != Class::Context {
            continue;
        }
        if c.tag == 30 {
            user = acse_user(&c);
            continue;
        }
        match (kind, c.tag) {
            (AcseKind::Aarq | AcseKind::Aare, 1) => {
                a.application_context = c.inner().and_then(|o| ber::oid(o.value));
            }
            (AcseKind::Aarq, 2) => a.called_ap_title = ap_title(&c),
            (AcseKind::Aarq, 3) => a.called_ae_qualifier = ae_qualifier(&c),
            (AcseKind::Aarq, 6) => a.calling_ap_title = ap_title(&c),
            (AcseKind::Aarq, 7) => a.calling_ae_qualifier = ae_qualifier(&c),
            (AcseKind::Aarq, 11) => a.authentication_mechanism = ber::oid(c.value),
            (AcseKind::Aarq, 12) => a.password_present = true,
            (AcseKind::Aare, 2) => {
                a.result = c
                    .inner()
                    .and_then(|r| ber::int(r.value))
                    .map(names::acse_result_name);
            }
            (AcseKind::Aare, 3) => {
                a.diagnostic = c
                    .inner()
                    .and_then(|d| d.inner())
                    .and_then(|d| ber::int(d.value));
            }
            (AcseKind::Aare, 4) => a.responding_ap_title = ap_title(&c),
            (AcseKind::Aare, 5) => a.responding_ae_qualifier = ae_qualifier(&c),
            (AcseKind::Aare, 9) => a.authentication_mechanism = ber::oid(c.value),
            (AcseKind::Rlrq | AcseKind::Rlre | AcseKind::Abrt, 0) => {
                a.reason = ber::int(c.value);
            }
            _ => {}
        }
    }
    Ok(Acse {
        kind,
        association: a,
        user,
    })
}

/// Builders of the OSI upper layers (tests and traffic generators).
pub mod enc {
    use super::super::ber::enc::{ctx, len, tlv};

    /// TPKT + COTP DT (class 0, EOT) around `payload`.
    pub fn tpkt_dt(payload: &[u8], eot: bool) -> Vec<u8> {
        let total = 4 + 3 + payload.len();
        let mut out = vec![3, 0, (total >> 8) as u8, total as u8, 2, 0xf0];
        out.push(if eot { 0x80 } else { 0 });
        out.extend_from_slice(payload);
        out
    }

    /// TPKT + COTP CR (`cr = true`) or CC.
    pub fn tpkt_connect(cr: bool) -> Vec<u8> {
        let cotp = [
            0x0e,
            if cr { 0xe0 } else { 0xd0 },
            0,
            0,
            0,
            1,
            0,
            0xc1,
            2,
            0,
            1,
            0xc2,
            2,
            0,
            1,
        ];
        let total = 4 + cotp.len();
        let mut out = vec![3, 0, 0, total as u8];
        out.extend_from_slice(&cotp);
        out
    }

    /// Presentation fully-encoded data with one PDV of context `ctx_id`.
    pub fn fully_encoded(ctx_id: u8, value: &[u8]) -> Vec<u8> {
        let mut pdv = vec![0x02, 0x01, ctx_id];
        pdv.extend(ctx(0, true, value));
        tlv(0x61, None, &tlv(0x30, None, &pdv))
    }

    /// Session give-tokens + data transfer around presentation data.
    pub fn session_data(ppdu: &[u8]) -> Vec<u8> {
        let mut out = vec![1, 0, 1, 0];
        out.extend_from_slice(ppdu);
        out
    }

    /// A session SPDU (`si`) whose user data parameter holds `ppdu`.
    pub fn session_with_user(si: u8, ppdu: &[u8]) -> Vec<u8> {
        let mut p = vec![193];
        len_session(ppdu.len(), &mut p);
        p.extend_from_slice(ppdu);
        let mut out = vec![si];
        len_session(p.len(), &mut out);
        out.extend_from_slice(&p);
        out
    }

    fn len_session(n: usize, out: &mut Vec<u8>) {
        if n < 255 {
            out.push(n as u8);
        } else {
            out.extend_from_slice(&[0xff, (n >> 8) as u8, n as u8]);
        }
    }

    /// CP-type with ACSE (context 1) and MMS (context 3) contexts and user data.
    pub fn cp(user: &[u8]) -> Vec<u8> {
        let acse = [0x52, 0x01, 0x00, 0x01];
        let mms = [0x28, 0xca, 0x22, 0x02, 0x01];
        let ber = [0x51, 0x01];
        let def = |id: u8, oid: &[u8]| {
            let mut b = vec![0x02, 0x01, id];
            b.extend(tlv(0x06, None, oid));
            b.extend(tlv(0x30, None, &tlv(0x06, None, &ber)));
            tlv(0x30, None, &b)
        };
        let mut list = def(1, &acse);
        list.extend(def(3, &mms));
        let mut normal = ctx(4, true, &list);
        normal.extend_from_slice(user);
        let mut set = ctx(0, true, &[0x80, 0x01, 0x01]);
        set.extend(ctx(2, true, &normal));
        tlv(0x31, None, &set)
    }

    /// CPA-type with user data.
    pub fn cpa(user: &[u8]) -> Vec<u8> {
        let mut set = ctx(0, true, &[0x80, 0x01, 0x01]);
        set.extend(ctx(2, true, user));
        tlv(0x31, None, &set)
    }

    /// AARQ (with calling AP title 1.1.1.999.1, AE qualifier 12) around an MMS PDU;
    /// `password` adds a password authentication value.
    pub fn aarq(mms: &[u8], password: Option<&[u8]>) -> Vec<u8> {
        let mut b = ctx(1, true, &tlv(0x06, None, &[0x28, 0xca, 0x22, 0x02, 0x03]));
        b.extend(ctx(
            6,
            true,
            &tlv(0x06, None, &[0x29, 0x01, 0x87, 0x67, 0x01]),
        ));
        b.extend(ctx(7, true, &[0x02, 0x01, 0x0c]));
        if let Some(pw) = password {
            b.extend(ctx(10, false, &[0x06, 0x80]));
            b.extend(ctx(11, false, &[0x52, 0x03, 0x01]));
            b.extend(ctx(12, true, &ctx(0, false, pw)));
        }
        b.extend(user_information(mms));
        tlv(0x60, None, &b)
    }

    /// AARE (result `result`) around an MMS PDU.
    pub fn aare(mms: &[u8], result: u8) -> Vec<u8> {
        let mut b = ctx(1, true, &tlv(0x06, None, &[0x28, 0xca, 0x22, 0x02, 0x03]));
        b.extend(ctx(2, true, &[0x02, 0x01, result]));
        b.extend(ctx(3, true, &ctx(1, true, &[0x02, 0x01, 0x00])));
        b.extend(user_information(mms));
        tlv(0x61, None, &b)
    }

    fn user_information(mms: &[u8]) -> Vec<u8> {
        let mut ext = tlv(0x06, None, &[0x51, 0x01]);
        ext.extend_from_slice(&[0x02, 0x01, 0x03]);
        ext.extend(ctx(0, true, mms));
        let mut out = vec![0xbe];
        let e = tlv(0x28, None, &ext);
        len(e.len(), &mut out);
        out.extend(e);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn real_connect_walks_down_to_the_initiate_request() {
        // mms-iti-piccolo.pcap frame 1 (client -> server 102).
        let b = hex("030000bf02f0800db60506130100160102140200023302000134020001c1a031819da003800101a28195810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510161623060020101a05b6059a107060528ca220203a20706052901876701a30302010ca606060429018767a70302010cbe33283106025101020103a028a826800300ff0081010a82010a830105a416800101810305f100820c03ee1c000004000000010118");
        assert_eq!(tpkt_len(&b), Ok(Some(0xbf)));
        let Cotp::Data { eot, payload } = cotp(&b[4..]).unwrap() else {
            panic!("not DT");
        };
        assert!(eot);
        let s = session(payload).unwrap();
        assert_eq!(s.kind, SessionKind::Connect);
        let p = presentation(s.user_data.unwrap(), s.kind).unwrap();
        assert_eq!(p.kind, Some(PresentationKind::Connect));
        assert_eq!(p.contexts, vec!["1:acse", "3:mms_abstract_syntax"]);
        assert_eq!(p.values.len(), 1);
        assert_eq!(p.values[0].context, Some(1));
        let a = acse(p.values[0].value).unwrap();
        assert_eq!(a.kind, AcseKind::Aarq);
        assert_eq!(
            a.association.application_context.as_deref(),
            Some("1.0.9506.2.3")
        );
        assert_eq!(
            a.association.called_ap_title.as_deref(),
            Some("1.1.1.999.1")
        );
        assert_eq!(a.association.called_ae_qualifier, Some(12));
        assert_eq!(a.association.calling_ap_title.as_deref(), Some("1.1.1.999"));
        assert_eq!(a.association.calling_ae_qualifier, Some(12));
        assert_eq!(a.user.unwrap()[0], 0xa8);
    }

    #[test]
    fn data_transfer_and_cotp_variants() {
        // mms-iti-piccolo.pcap frame 3: identify request in give tokens + data.
        let b = hex("0300001b02f08001000100610e300c020103a007a0050201018200");
        let Cotp::Data { payload, .. } = cotp(&b[4..]).unwrap() else {
            panic!()
        };
        let s = session(payload).unwrap();
        assert_eq!(s.kind, SessionKind::Data);
        let p = presentation(s.user_data.unwrap(), s.kind).unwrap();
        assert_eq!(
            p.values,
            vec![Pdv {
                context: Some(3),
                value: &hex("a0050201018200")[..]
            }]
        );
        // CR with TSAPs
        let cr = hex("030000160ee00000000100c1020001c2020001c0010a");
        assert!(matches!(
            cotp(&cr[4..]),
            Ok(Cotp::ConnectRequest {
                calling_tsap: [0, 1],
                called_tsap: [0, 1]
            })
        ));
        assert_eq!(tpkt_len(&[3, 0, 0, 2]), Err(IsoError::TpktLength(2)));
        assert_eq!(tpkt_len(&[3, 0]), Ok(None));
        assert!(cotp(&[0x00, 0x0f, 0x80]).is_err());
        assert!(cotp(&[0x02, 0xf0]).is_err());
    }

    #[test]
    fn encoders_round_trip() {
        let mms = [0xa8, 0x00];
        let aarq = enc::aarq(&mms, Some(b"secret"));
        let ppdu = enc::cp(&enc::fully_encoded(1, &aarq));
        let spdu = enc::session_with_user(si::CONNECT, &ppdu);
        let s = session(&spdu).unwrap();
        let p = presentation(s.user_data.unwrap(), s.kind).unwrap();
        let a = acse(p.values[0].value).unwrap();
        assert!(a.association.password_present);
        assert_eq!(
            a.association.authentication_mechanism.as_deref(),
            Some("2.2.3.1")
        );
        assert_eq!(a.user, Some(&mms[..]));
        let aare = enc::aare(&[0xa9, 0x00], 1);
        let a = acse(&aare).unwrap();
        assert_eq!(a.association.result, Some("rejected_permanent"));
        assert_eq!(a.association.diagnostic, Some(0));
    }
}
