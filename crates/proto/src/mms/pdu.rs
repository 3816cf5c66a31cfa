//! MMS PDUs (ISO 9506-2, BER): the PDU CHOICE, confirmed service requests and
//! responses, unconfirmed services (IEC 61850 reports), errors, rejects, initiate.
//!
//! Pure decoding: [`decode`] splits a PDU; [`apply_request`], [`apply_response`]
//! and [`unconfirmed`] fill a [`Transaction`] from a service element.
use super::ber::{self, BerError, Class, Tlv};
use super::data::{self, Budget};
use super::names;
use super::record::{
    InitiateParams, Reject, Report, ServiceError, Transaction, MAX_NAMES, MAX_VALUES,
};
use thiserror::Error;

/// Why an MMS PDU could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum PduError {
    #[error("MMS PDU: {0}")]
    Ber(#[from] BerError),
    #[error("MMS PDU tag 0x{0:02x} unknown")]
    Unknown(u8),
}

/// One MMS PDU, split into its header fields and its service element.
#[derive(Clone, Debug, PartialEq)]
pub enum Pdu<'a> {
    ConfirmedRequest {
        invoke_id: Option<u32>,
        service: Option<Tlv<'a>>,
    },
    ConfirmedResponse {
        invoke_id: Option<u32>,
        service: Option<Tlv<'a>>,
    },
    ConfirmedError {
        invoke_id: Option<u32>,
        error: Option<ServiceError>,
    },
    Unconfirmed {
        service: Option<Tlv<'a>>,
    },
    Reject {
        invoke_id: Option<u32>,
        reject: Reject,
    },
    CancelRequest(Option<u32>),
    CancelResponse(Option<u32>),
    CancelError {
        invoke_id: Option<u32>,
        error: Option<ServiceError>,
    },
    InitiateRequest(InitiateParams),
    InitiateResponse(InitiateParams),
    InitiateError(Option<ServiceError>),
    ConcludeRequest,
    ConcludeResponse,
    ConcludeError(Option<ServiceError>),
}

/// Could `first` start an MMS PDU (the tags of the `MMSpdu` CHOICE)?
pub fn is_mms_tag(first: u8) -> bool {
    matches!(first, 0xa0..=0xa4 | 0x85 | 0x86 | 0xa7..=0xaa | 0x8b | 0x8c | 0xad)
}

/// Splits one MMS PDU.
pub fn decode(b: &[u8]) -> Result<Pdu<'_>, PduError> {
    let (top, _) = ber::read(b)?;
    let first = b.first().copied().unwrap_or(0);
    if top.class != Class::Context {
        return Err(PduError::Unknown(first));
    }
    Ok(match (top.tag, top.constructed) {
        (0, true) | (1, true) => {
            let mut invoke_id = None;
            let mut service = None;
            for c in top.children() {
                if c.is_univ(2) && invoke_id.is_none() {
                    invoke_id = ber::u32_of(c.value);
                } else if c.class == Class::Context && service.is_none() {
                    service = Some(c);
                }
            }
            if top.tag == 0 {
                Pdu::ConfirmedRequest { invoke_id, service }
            } else {
                Pdu::ConfirmedResponse { invoke_id, service }
            }
        }
        (2, true) => {
            let mut invoke_id = None;
            let mut error = None;
            for c in top.children() {
                if c.is_ctx(0) {
                    invoke_id = ber::u32_of(c.value);
                } else if c.is_ctx(2) {
                    error = service_error(&c);
                }
            }
            Pdu::ConfirmedError { invoke_id, error }
        }
        (3, true) => Pdu::Unconfirmed {
            service: top.children().find(|c| c.class == Class::Context),
        },
        (4, true) => {
            let mut invoke_id = None;
            let mut reject = Reject {
                problem: "unknown",
                code: -1,
            };
            for c in top.children() {
                if c.is_ctx(0) {
                    invoke_id = ber::u32_of(c.value);
                } else if c.class == Class::Context {
                    reject = Reject {
                        problem: names::reject_type_name(c.tag),
                        code: ber::int(c.value).unwrap_or(-1),
                    };
                }
            }
            Pdu::Reject { invoke_id, reject }
        }
        (5, false) => Pdu::CancelRequest(ber::u32_of(top.value)),
        (6, false) => Pdu::CancelResponse(ber::u32_of(top.value)),
        (7, true) => {
            let mut invoke_id = None;
            let mut error = None;
            for c in top.children() {
                if c.is_ctx(0) {
                    invoke_id = ber::u32_of(c.value);
                } else if c.is_ctx(1) {
                    error = service_error(&c);
                }
            }
            Pdu::CancelError { invoke_id, error }
        }
        (8, true) => Pdu::InitiateRequest(initiate_params(&top)),
        (9, true) => Pdu::InitiateResponse(initiate_params(&top)),
        (10, true) => Pdu::InitiateError(service_error(&top)),
        (11, _) => Pdu::ConcludeRequest,
        (12, _) => Pdu::ConcludeResponse,
        (13, true) => Pdu::ConcludeError(service_error(&top)),
        _ => return Err(PduError::Unknown(first)),
    })
}

/// `ServiceError ::= SEQUENCE { errorClass [0] CHOICE, additionalCode [1],
/// additionalDescription [2], ... }` (the element's children).
pub fn service_error(t: &Tlv<'_>) -> Option<ServiceError> {
    let mut e = None::<ServiceError>;
    let mut additional_code = None;
    let mut description = None;
    for c in t.children() {
        if c.is_ctx(0) {
            if let Some(class) = c.inner() {
                let code = ber::int(class.value).unwrap_or(-1);
                e = Some(ServiceError {
                    class: names::error_class_name(class.tag),
                    class_code: class.tag,
                    code,
                    code_name: names::error_code_name(class.tag, code),
                    additional_code: None,
                    description: None,
                });
            }
        } else if c.is_ctx(1) {
            additional_code = ber::int(c.value);
        } else if c.is_ctx(2) {
            description = Some(ber::string(c.value));
        }
    }
    e.map(|e| ServiceError {
        additional_code,
        description,
        ..e
    })
}

fn initiate_params(t: &Tlv<'_>) -> InitiateParams {
    let mut p = InitiateParams::default();
    for c in t.children() {
        match (c.class, c.tag) {
            (Class::Context, 0) => p.local_detail = ber::int(c.value),
            (Class::Context, 1) => p.max_serv_outstanding_calling = ber::int(c.value),
            (Class::Context, 2) => p.max_serv_outstanding_called = ber::int(c.value),
            (Class::Context, 3) => p.data_structure_nesting_level = ber::int(c.value),
            (Class::Context, 4) => {
                for d in c.children() {
                    match d.tag {
                        0 => p.version = ber::int(d.value),
                        1 => p.parameter_cbb = Some(data::bits(d.value)),
                        2 => {
                            p.services_supported = data::set_bits(d.value, 128)
                                .into_iter()
                                .filter_map(names::services_supported_name)
                                .collect();
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    p
}

/// `ObjectName`: `vmd-specific [0]`, `domain-specific [1] { domainId, itemId }`
/// (rendered `domain/item`), `aa-specific [2]`.
pub fn object_name(t: &Tlv<'_>) -> Option<String> {
    if t.class != Class::Context {
        return None;
    }
    match (t.tag, t.constructed) {
        (0, false) | (2, false) => Some(ber::string(t.value)),
        (1, true) => {
            let mut parts = t.children().filter(|c| c.is_univ(26) || c.is_univ(22));
            let domain = parts.next().map(|d| ber::string(d.value))?;
            let item = parts
                .next()
                .map(|i| ber::string(i.value))
                .unwrap_or_default();
            Some(format!("{domain}/{item}"))
        }
        _ => None,
    }
}

/// An explicitly tagged `ObjectName` (`[n] ObjectName`).
fn explicit_name(t: &Tlv<'_>) -> Option<String> {
    t.inner().as_ref().and_then(object_name)
}

/// `VariableAccessSpecification`: `listOfVariable [0]` or `variableListName [1]`.
fn variable_access(t: &Tlv<'_>, tx: &mut Transaction) {
    if t.is_ctx(0) && t.constructed {
        list_of_variable(t, tx);
    } else if t.is_ctx(1) {
        if let Some(n) = explicit_name(t) {
            tx.details_mut().variable_list = Some(n);
        }
    }
}

/// `SEQUENCE OF SEQUENCE { variableSpecification, alternateAccess [5] }`.
fn list_of_variable(t: &Tlv<'_>, tx: &mut Transaction) {
    for item in t.children() {
        if tx.variables.len() >= MAX_NAMES {
            tx.truncated = true;
            break;
        }
        let Some(spec) = item.children().next() else {
            continue;
        };
        // variableSpecification: name [0] ObjectName | address [1] | ...
        let name = if spec.is_ctx(0) {
            explicit_name(&spec)
        } else if spec.is_ctx(1) {
            Some(format!("address:{}", ber::hex(spec.value, 16)))
        } else {
            None
        };
        if let Some(n) = name {
            tx.push_variable(n);
        }
    }
}

/// Decodes `Data` items of a list into the transaction's values.
fn push_values<'a>(items: impl Iterator<Item = Tlv<'a>>, access: bool, tx: &mut Transaction) {
    let mut budget = Budget::new(MAX_VALUES.saturating_sub(tx.values.len()));
    for item in items {
        let v = if access {
            data::decode_access_result(&item, &mut budget)
        } else {
            data::decode(&item, &mut budget)
        };
        match v {
            Some(v) => tx.values.push(v),
            None => break,
        }
    }
    if budget.truncated {
        tx.truncated = true;
    }
}

/// `FileName ::= SEQUENCE OF GraphicString`, joined with `/`.
fn file_name(t: &Tlv<'_>) -> String {
    t.children()
        .map(|c| ber::string(c.value))
        .collect::<Vec<_>>()
        .join("/")
}

fn push_file(t: &Tlv<'_>, tx: &mut Transaction) {
    let d = tx.details_mut();
    if d.files.len() < MAX_NAMES {
        d.files.push(file_name(t));
    }
}

fn identifiers(t: &Tlv<'_>, tx: &mut Transaction) {
    let mut cut = false;
    let d = tx.details_mut();
    for c in t.children() {
        if d.identifiers.len() >= MAX_NAMES {
            cut = true;
            break;
        }
        d.identifiers.push(ber::string(c.value));
    }
    if cut {
        tx.truncated = true;
    }
}

/// A printable identifier from a primitive element.
fn ident(t: &Tlv<'_>) -> Option<String> {
    if t.constructed || t.value.is_empty() {
        None
    } else {
        Some(ber::string(t.value))
    }
}

/// Fills `tx` from a confirmed service request element.
pub fn apply_request(service: &Tlv<'_>, tx: &mut Transaction) {
    let n = service.tag;
    tx.function_code = Some(n);
    tx.function = names::service_name(n);
    let kids = || service.children();
    match n {
        0 => {}
        1 => {
            // getNameList { objectClass [0], objectScope [1], continueAfter [2] }
            for c in kids() {
                if c.is_ctx(0) {
                    if let Some(cls) = c.inner() {
                        if cls.is_ctx(0) {
                            tx.object_class = ber::int(cls.value).map(names::object_class_name);
                        }
                    }
                } else if c.is_ctx(1) {
                    if let Some(scope) = c.inner() {
                        match scope.tag {
                            0 => tx.object = Some("vmd".into()),
                            1 => tx.object = ident(&scope),
                            2 => tx.object = Some("association".into()),
                            _ => {}
                        }
                    }
                } else if c.is_ctx(2) {
                    tx.details_mut().continue_after = ident(&c);
                }
            }
        }
        2 => {}
        3 => {
            // rename { extendedObjectClass [0], currentName [1], newIdentifier [2] }
            for c in kids() {
                if c.is_ctx(1) {
                    tx.object = explicit_name(&c);
                } else if c.is_ctx(2) {
                    if let Some(new) = ident(&c) {
                        tx.details_mut().identifiers.push(new);
                    }
                }
            }
        }
        4 => {
            // read { specificationWithResult [0], variableAccessSpecification [1] }
            if let Some(spec) = kids().find(|c| c.is_ctx(1)) {
                if let Some(inner) = spec.inner() {
                    variable_access(&inner, tx);
                }
            }
        }
        5 => {
            // write { variableAccessSpecification, listOfData [0] }
            let mut it = kids();
            if let Some(spec) = it.next() {
                variable_access(&spec, tx);
            }
            if let Some(list) = it.next() {
                push_values(list.children(), false, tx);
            }
        }
        6 => {
            // getVariableAccessAttributes: name [0] ObjectName | address [1]
            if service.constructed {
                if let Some(c) = kids().next() {
                    if c.is_ctx(0) {
                        if let Some(n) = explicit_name(&c) {
                            tx.push_variable(n);
                        }
                    } else if c.is_ctx(1) {
                        tx.push_variable(format!("address:{}", ber::hex(c.value, 16)));
                    }
                }
            }
        }
        11 => {
            // defineNamedVariableList { variableListName, listOfVariable [0] }
            let mut it = kids();
            if let Some(name) = it.next() {
                tx.details_mut().variable_list = object_name(&name);
            }
            if let Some(list) = it.next() {
                list_of_variable(&list, tx);
            }
        }
        12 => {
            // getNamedVariableListAttributes: ObjectName (explicit or not)
            let name = object_name(service).or_else(|| explicit_name(service));
            tx.details_mut().variable_list = name;
        }
        13 => {
            // deleteNamedVariableList { scopeOfDelete [0], listOfVariableListName [1], domainName [2] }
            for c in kids() {
                if c.is_ctx(1) {
                    for name in c.children() {
                        if let Some(n) = object_name(&name) {
                            tx.push_variable(n);
                        }
                    }
                } else if c.is_ctx(2) {
                    tx.object = ident(&c);
                }
            }
        }
        19 | 20 => {
            // takeControl / relinquishControl { semaphoreName [0], namedToken [1], ... }
            for c in kids() {
                if c.is_ctx(0) {
                    tx.object = explicit_name(&c);
                } else if c.is_ctx(1) {
                    tx.details_mut().identifiers.push(ber::string(c.value));
                }
            }
        }
        26 | 32 | 34 => {
            // initiateDownloadSequence / requestDomainDownload / loadDomainContent
            // { domainName [0], listOfCapabilities [1], sharable [2], fileName [4] }
            for c in kids() {
                match c.tag {
                    0 => tx.object = ident(&c),
                    1 => identifiers(&c, tx),
                    4 => push_file(&c, tx),
                    _ => {}
                }
            }
        }
        27 | 29 | 36 | 37 | 39 | 45 => {
            // downloadSegment / initiateUploadSequence / deleteDomain /
            // getDomainAttributes / deleteProgramInvocation /
            // getProgramInvocationAttributes: an Identifier.
            tx.object = ident(service);
        }
        28 => {
            // terminateDownloadSequence { domainName [0], discard [1] ServiceError }
            for c in kids() {
                if c.is_ctx(0) {
                    tx.object = ident(&c);
                } else if c.is_ctx(1) {
                    tx.details_mut().error = service_error(&c);
                }
            }
        }
        30 | 31 | 73 | 74 => {
            // uploadSegment / terminateUploadSequence / fileRead / fileClose: an id
            tx.details_mut().handle = ber::int(service.value);
        }
        33 | 35 => {
            // requestDomainUpload / storeDomainContent { domainName [0], fileName [1] }
            for c in kids() {
                if c.is_ctx(0) {
                    tx.object = ident(&c);
                } else if c.is_ctx(1) {
                    push_file(&c, tx);
                }
            }
        }
        38 => {
            // createProgramInvocation { programInvocationName [0], listOfDomainName [1], ... }
            for c in kids() {
                if c.is_ctx(0) {
                    tx.object = ident(&c);
                } else if c.is_ctx(1) {
                    identifiers(&c, tx);
                }
            }
        }
        40..=44 => {
            // start/stop/resume/reset/kill { programInvocationName [0], executionArgument }
            for c in kids() {
                if c.is_ctx(0) {
                    tx.object = ident(&c);
                } else if c.is_ctx(1) {
                    tx.details_mut().argument = Some(ber::string(c.value));
                } else if c.is_univ(8) {
                    tx.details_mut().argument = Some("external".into());
                }
            }
        }
        46 => {
            // obtainFile { sourceFileServer [0], sourceFile [1], destinationFile [2] }
            for c in kids() {
                if c.is_ctx(1) || c.is_ctx(2) {
                    push_file(&c, tx);
                }
            }
        }
        72 => {
            // fileOpen { fileName [0], initialPosition [1] }
            for c in kids() {
                if c.is_ctx(0) {
                    push_file(&c, tx);
                } else if c.is_ctx(1) {
                    tx.details_mut().handle = ber::int(c.value);
                }
            }
        }
        75 => {
            // fileRename { currentFileName [0], newFileName [1] }
            for c in kids() {
                push_file(&c, tx);
            }
        }
        76 => push_file(service, tx),
        77 => {
            // fileDirectory { fileSpecification [0], continueAfter [1] }
            for c in kids() {
                if c.is_ctx(0) {
                    push_file(&c, tx);
                } else if c.is_ctx(1) {
                    tx.details_mut().continue_after = Some(file_name(&c));
                }
            }
        }
        _ => {
            // Most other services name their object first: `[0] ObjectName` or an
            // Identifier.
            if service.constructed {
                if let Some(c) = kids().next() {
                    tx.object = explicit_name(&c)
                        .or_else(|| object_name(&c))
                        .or_else(|| ident(&c));
                }
            } else {
                tx.object = ident(service);
            }
        }
    }
}

/// Fills `tx` from a confirmed service response element.
pub fn apply_response(service: &Tlv<'_>, tx: &mut Transaction) {
    let n = service.tag;
    if tx.function_code.is_none() {
        tx.function_code = Some(n);
        tx.function = names::service_name(n);
    }
    let kids = || service.children();
    match n {
        0 => {
            // status { vmdLogicalStatus [0], vmdPhysicalStatus [1], localDetail [2] }
            for c in kids() {
                if c.is_ctx(0) {
                    tx.details_mut().logical_status = ber::int(c.value);
                } else if c.is_ctx(1) {
                    tx.details_mut().physical_status = ber::int(c.value);
                }
            }
        }
        1 => {
            // getNameList { listOfIdentifier [0], moreFollows [1] DEFAULT TRUE }
            let mut more = None;
            for c in kids() {
                if c.is_ctx(0) {
                    identifiers(&c, tx);
                } else if c.is_ctx(1) {
                    more = ber::boolean(c.value);
                }
            }
            tx.details_mut().more_follows = Some(more.unwrap_or(true));
        }
        2 => {
            // identify { vendorName [0], modelName [1], revision [2], ... }
            for c in kids() {
                let s = Some(ber::string(c.value));
                match c.tag {
                    0 => tx.details_mut().vendor = s,
                    1 => tx.details_mut().model = s,
                    2 => tx.details_mut().revision = s,
                    _ => {}
                }
            }
        }
        4 => {
            // read { variableAccessSpecification [0], listOfAccessResult [1] }
            for c in kids() {
                if c.is_ctx(0) && tx.variables.is_empty() {
                    if let Some(inner) = c.inner() {
                        variable_access(&inner, tx);
                    }
                } else if c.is_ctx(1) {
                    push_values(c.children(), true, tx);
                }
            }
        }
        5 => {
            // write: SEQUENCE OF CHOICE { failure [0] DataAccessError, success [1] }
            let mut results = Vec::new();
            for c in kids().take(MAX_NAMES) {
                results.push(if c.is_ctx(0) {
                    data::data_access_error(ber::int(c.value).unwrap_or(-1))
                } else {
                    "success"
                });
            }
            tx.details_mut().results = results;
        }
        12 => {
            // getNamedVariableListAttributes { mmsDeletable [0], listOfVariable [1] }
            if let Some(list) = kids().find(|c| c.is_ctx(1)) {
                if tx.variables.is_empty() {
                    list_of_variable(&list, tx);
                }
            }
        }
        19 => {
            // takeControl: noResult [0] | namedToken [1]
            if let Some(c) = kids().find(|c| c.is_ctx(1)) {
                tx.details_mut().identifiers.push(ber::string(c.value));
            }
        }
        27 | 30 | 73 => {
            // downloadSegment / uploadSegment / fileRead
            // { loadData / fileData [0], moreFollows [1] DEFAULT TRUE }
            let mut more = None;
            for c in kids() {
                if c.is_ctx(0) || c.is_univ(8) {
                    tx.details_mut().data_length = Some(c.value.len());
                } else if c.is_ctx(1) {
                    more = ber::boolean(c.value);
                }
            }
            tx.details_mut().more_follows = Some(more.unwrap_or(true));
        }
        29 => {
            // initiateUploadSequence { ulsmID [0], listOfCapabilities [1] }
            for c in kids() {
                if c.is_ctx(0) {
                    tx.details_mut().handle = ber::int(c.value);
                } else if c.is_ctx(1) {
                    identifiers(&c, tx);
                }
            }
        }
        37 => {
            // getDomainAttributes { ..., listOfProgramInvocations [4], ... }
            if let Some(c) = kids().find(|c| c.is_ctx(4)) {
                identifiers(&c, tx);
            }
        }
        72 => {
            // fileOpen { frsmID [0], fileAttributes [1] }
            if let Some(c) = kids().find(|c| c.is_ctx(0)) {
                tx.details_mut().handle = ber::int(c.value);
            }
        }
        77 => {
            // fileDirectory { listOfDirectoryEntry [0], moreFollows [1] DEFAULT FALSE }
            let mut more = None;
            for c in kids() {
                if c.is_ctx(0) {
                    for entry in c.children() {
                        if let Some(name) = entry.children().find(|e| e.is_ctx(0)) {
                            push_file(&name, tx);
                        }
                    }
                } else if c.is_ctx(1) {
                    more = ber::boolean(c.value);
                }
            }
            tx.details_mut().more_follows = Some(more.unwrap_or(false));
        }
        _ => {}
    }
}

/// IEC 61850 reason-for-inclusion bit names.
fn reason_name(bit: usize) -> Option<&'static str> {
    Some(match bit {
        1 => "data_change",
        2 => "quality_change",
        3 => "data_update",
        4 => "integrity",
        5 => "general_interrogation",
        6 => "application_trigger",
        _ => return None,
    })
}

/// A transaction for an unconfirmed service element.
pub fn unconfirmed(service: &Tlv<'_>) -> Transaction {
    let mut tx = Transaction::new("unconfirmed", names::unconfirmed_name(service.tag));
    if service.tag == 0 {
        // informationReport { variableAccessSpecification, listOfAccessResult [0] }
        let mut it = service.children();
        if let Some(spec) = it.next() {
            variable_access(&spec, &mut tx);
        }
        if let Some(results) = it.next() {
            let is_rpt = tx.variables.is_empty()
                && tx.details().and_then(|d| d.variable_list.as_deref()) == Some("RPT");
            if is_rpt {
                iec61850_report(&results, &mut tx);
            } else {
                push_values(results.children(), true, &mut tx);
            }
        }
    } else if let Some(c) = service.children().next() {
        tx.object = explicit_name(&c).or_else(|| object_name(&c));
    }
    tx
}

/// The contents of `t` when it has context tag `tag`.
fn field<'a>(t: Option<&Tlv<'a>>, tag: u32) -> Option<&'a [u8]> {
    t.filter(|t| t.is_ctx(tag)).map(|t| t.value)
}

/// IEC 61850-8-1 report: RptID, OptFlds, then the optional fields the bits ask
/// for, the inclusion bit string, data references, values and reasons.
fn iec61850_report(results: &Tlv<'_>, tx: &mut Transaction) {
    let items: Vec<Tlv<'_>> = results.children().take(4 * MAX_VALUES + 16).collect();
    let mut r = Report::default();
    let mut it = items.iter().peekable();
    if let Some(v) = field(it.peek().copied(), 10) {
        r.rpt_id = Some(ber::string(v));
        it.next();
    }
    let Some(opt) = field(it.peek().copied(), 4) else {
        tx.details_mut().report = Some(r);
        return;
    };
    it.next();
    r.opt_flds = Some(data::bits(opt));
    let has = |n| data::bit(opt, n);
    if has(1) {
        r.seq_num = field(it.next(), 6).and_then(ber::uint);
    }
    if has(2) {
        r.time_of_entry = field(it.next(), 12).and_then(data::binary_time);
    }
    if has(4) {
        r.dataset = field(it.next(), 10).map(ber::string);
    }
    if has(6) {
        r.buffer_overflow = field(it.next(), 3).and_then(ber::boolean);
    }
    if has(7) {
        r.entry_id = field(it.next(), 9).map(|v| ber::hex(v, 16));
    }
    if has(8) {
        r.conf_rev = field(it.next(), 6).and_then(ber::uint);
    }
    if has(9) {
        r.sub_seq_num = field(it.next(), 6).and_then(ber::uint);
        r.more_segments_follow = field(it.next(), 3).and_then(ber::boolean);
    }
    let Some(inclusion) = field(it.next(), 4) else {
        tx.details_mut().report = Some(r);
        return;
    };
    r.entries = data::count_set(inclusion);
    if has(5) {
        for _ in 0..r.entries {
            match it.next() {
                Some(t) if t.is_ctx(10) => tx.push_variable(ber::string(t.value)),
                _ => break,
            }
        }
    }
    let values: Vec<Tlv<'_>> = it.by_ref().take(r.entries).copied().collect();
    push_values(values.into_iter(), true, tx);
    if has(3) {
        for t in it.take(r.entries) {
            if t.is_ctx(4) {
                for b in data::set_bits(t.value, 8) {
                    if let Some(n) = reason_name(b) {
                        if !r.reasons.contains(&n) {
                            r.reasons.push(n);
                        }
                    }
                }
            }
        }
    }
    tx.details_mut().report = Some(r);
}

/// Encoders of MMS PDUs (tests and traffic generators).
pub mod enc {
    use super::super::ber::enc::{ctx, tlv, uint};
    use super::super::data::{enc as denc, Value};

    /// `domain/item` or a VMD-specific name as an `ObjectName`.
    pub fn object_name(name: &str) -> Vec<u8> {
        match name.split_once('/') {
            Some((d, i)) => {
                let mut b = tlv(0x1a, None, d.as_bytes());
                b.extend(tlv(0x1a, None, i.as_bytes()));
                ctx(1, true, &b)
            }
            None => ctx(0, false, name.as_bytes()),
        }
    }

    fn list_of_variable(names: &[&str]) -> Vec<u8> {
        let items: Vec<u8> = names
            .iter()
            .flat_map(|n| tlv(0x30, None, &ctx(0, true, &object_name(n))))
            .collect();
        ctx(0, true, &items)
    }

    /// A confirmed request with a service element `service` (tag, contents).
    pub fn confirmed_request(invoke: u32, service: &[u8]) -> Vec<u8> {
        let mut b = tlv(0x02, None, &uint(u64::from(invoke)));
        b.extend_from_slice(service);
        ctx(0, true, &b)
    }

    /// A confirmed response.
    pub fn confirmed_response(invoke: u32, service: &[u8]) -> Vec<u8> {
        let mut b = tlv(0x02, None, &uint(u64::from(invoke)));
        b.extend_from_slice(service);
        ctx(1, true, &b)
    }

    /// A confirmed error (class tag, code).
    pub fn confirmed_error(invoke: u32, class: u32, code: u8) -> Vec<u8> {
        let mut b = ctx(0, false, &uint(u64::from(invoke)));
        b.extend(ctx(2, true, &ctx(0, true, &ctx(class, false, &[code]))));
        ctx(2, true, &b)
    }

    /// Read request service element.
    pub fn read(names: &[&str]) -> Vec<u8> {
        ctx(4, true, &ctx(1, true, &list_of_variable(names)))
    }

    /// Read response service element.
    pub fn read_response(values: &[Value]) -> Vec<u8> {
        let items: Vec<u8> = values.iter().flat_map(denc::data).collect();
        ctx(4, true, &ctx(1, true, &items))
    }

    /// Write request service element.
    pub fn write(names: &[&str], values: &[Value]) -> Vec<u8> {
        let mut b = list_of_variable(names);
        let items: Vec<u8> = values.iter().flat_map(denc::data).collect();
        b.extend(ctx(0, true, &items));
        ctx(5, true, &b)
    }

    /// Write response service element (all successes).
    pub fn write_response(n: usize) -> Vec<u8> {
        let items: Vec<u8> = (0..n).flat_map(|_| ctx(1, false, &[])).collect();
        ctx(5, true, &items)
    }

    /// GetNameList request (basic object class, domain scope).
    pub fn get_name_list(class: u8, domain: Option<&str>) -> Vec<u8> {
        let mut b = ctx(0, true, &ctx(0, false, &[class]));
        b.extend(ctx(
            1,
            true,
            &match domain {
                Some(d) => ctx(1, false, d.as_bytes()),
                None => ctx(0, false, &[]),
            },
        ));
        ctx(1, true, &b)
    }

    /// A service whose request is one Identifier (e.g. 39 deleteProgramInvocation).
    pub fn identifier_service(n: u32, id: &str) -> Vec<u8> {
        ctx(n, false, id.as_bytes())
    }

    /// Identify response.
    pub fn identify_response(vendor: &str, model: &str, revision: &str) -> Vec<u8> {
        let mut b = ctx(0, false, vendor.as_bytes());
        b.extend(ctx(1, false, model.as_bytes()));
        b.extend(ctx(2, false, revision.as_bytes()));
        ctx(2, true, &b)
    }

    /// Initiate request / response (`response = true`).
    pub fn initiate(response: bool) -> Vec<u8> {
        let mut detail = ctx(0, false, &[1]);
        detail.extend(ctx(1, false, &[0x03, 0x05, 0xf1, 0x00]));
        detail.extend(ctx(
            2,
            false,
            &[0x03, 0xee, 0x1c, 0, 0, 0x04, 0, 0, 0, 0x01, 0x01, 0x18],
        ));
        let mut b = ctx(0, false, &[0, 0, 0xfd, 0xe8]);
        b.extend(ctx(1, false, &[5]));
        b.extend(ctx(2, false, &[5]));
        b.extend(ctx(3, false, &[5]));
        b.extend(ctx(4, true, &detail));
        ctx(if response { 9 } else { 8 }, true, &b)
    }

    /// An IEC 61850 report (RptID, OptFlds with sequence number and data set,
    /// inclusion, values).
    pub fn report(rpt_id: &str, dataset: &str, seq: u64, values: &[Value]) -> Vec<u8> {
        let mut items = ctx(10, false, rpt_id.as_bytes());
        items.extend(ctx(4, false, &[0x06, 0x48, 0x00])); // bits 1 and 4
        items.extend(ctx(6, false, &uint(seq)));
        items.extend(ctx(10, false, dataset.as_bytes()));
        let bits: String = values.iter().map(|_| '1').collect();
        items.extend(ctx(4, false, &denc::bit_string(&bits)));
        for v in values {
            items.extend(denc::data(v));
        }
        let mut b = ctx(1, true, &ctx(0, false, b"RPT"));
        b.extend(ctx(0, true, &items));
        ctx(3, true, &ctx(0, true, &b))
    }
}
