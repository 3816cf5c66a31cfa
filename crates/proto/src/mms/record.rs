//! The MMS event record ([`Transaction`]) and its parts.
use super::data::Value;
use serde::Serialize;

/// Most variable names, identifiers or file names kept per transaction.
pub const MAX_NAMES: usize = 64;
/// Most values kept per transaction (counting structure members).
pub const MAX_VALUES: usize = 64;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One MMS exchange: a confirmed request with its response or error, an initiate
/// or conclude with its answer, an unconfirmed PDU (information report), a reject,
/// or an association release/abort. Serialised under `mms` in events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// `confirmed`, `unconfirmed`, `initiate`, `conclude`, `cancel`, `reject`,
    /// `release` (ACSE release) or `abort` (ACSE, presentation or session abort).
    pub pdu: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_id: Option<u32>,
    /// Confirmed service number (`ConfirmedServiceRequest` tag); absent for
    /// other PDUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_code: Option<u32>,
    /// Service name (`read`, `get_name_list`, `information_report`, `initiate`...).
    pub function: &'static str,
    /// Variables named: `domain/item` (e.g. `LD0/LLN0$ST$Mod`) or a VMD-specific
    /// name; IEC 61850 report data references.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<String>,
    /// Values written (write request), read (read response) or reported.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
    /// The object the service names: domain, program invocation, semaphore,
    /// named variable list, journal, file; the domain scope of GetNameList.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// GetNameList object class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_class: Option<&'static str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<Details>>,
    /// The request (or first PDU) was seen.
    pub request: bool,
    /// The response (or error) was seen.
    pub response: bool,
    /// Some names or values were left out (bounds).
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

/// Less common parts of a transaction.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Details {
    /// A named variable list (read/write/report through a list, list services).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable_list: Option<String>,
    /// Names returned (GetNameList, GetDomainAttributes program invocations,
    /// FileDirectory) or capabilities (domain services).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_follows: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continue_after: Option<String>,
    /// File names (file services, domain load/store).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Per-variable write results: `success` or a DataAccessError name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<&'static str>,
    /// FRSM / ULSM id, upload segment, file position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<i64>,
    /// Octets of segment or file data carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_length: Option<usize>,
    /// Program invocation execution argument (start/resume).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argument: Option<String>,
    /// Identify response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Status response: VMD logical and physical status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logical_status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject: Option<Reject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiate: Option<Initiate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub association: Option<Association>,
}

/// A confirmed-error, initiate-error, conclude-error or cancel-error.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServiceError {
    /// Error class name (`access`, `definition`, `file`...).
    pub class: &'static str,
    pub class_code: u32,
    pub code: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A reject PDU.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Reject {
    /// Which PDU type was rejected (`confirmed_request_pdu`, `pdu_error`...).
    pub problem: &'static str,
    pub code: i64,
}

/// IEC 61850 report content of an information report on `RPT`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpt_id: Option<String>,
    /// Optional fields as bits (`0101000000`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_flds: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq_num: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_of_entry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer_overflow: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conf_rev: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_seq_num: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_segments_follow: Option<bool>,
    /// Data set members included (bits set in the inclusion bit string).
    pub entries: usize,
    /// Reasons for inclusion seen (`data_change`, `integrity`...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<&'static str>,
}

/// Initiate parameters of one side.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InitiateParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_detail: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_serv_outstanding_calling: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_serv_outstanding_called: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_structure_nesting_level: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Parameter CBB bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_cbb: Option<String>,
    /// Services the side supports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services_supported: Vec<&'static str>,
}

/// Initiate request (`proposed`) and response (`negotiated`) parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Initiate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed: Option<InitiateParams>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<InitiateParams>,
}

/// What the OSI upper layers (session, presentation, ACSE) said about the
/// association.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Association {
    /// ACSE application context name (OID), e.g. `1.0.9506.2.3` (MMS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calling_ap_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calling_ae_qualifier: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called_ap_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called_ae_qualifier: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responding_ap_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responding_ae_qualifier: Option<i64>,
    /// ACSE result (`accepted`, `rejected_permanent`...), or `refused` when the
    /// session connection was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<i64>,
    /// Authentication mechanism (OID; `2.2.3.1` is a password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_mechanism: Option<String>,
    /// An authentication value was sent. The value itself is never stored.
    #[serde(skip_serializing_if = "is_false")]
    pub password_present: bool,
    /// Presentation contexts proposed: `id:abstract-syntax-oid`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub presentation_contexts: Vec<String>,
    /// Release request/response reason, abort source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<i64>,
}

impl Transaction {
    /// A record for a PDU kind and service.
    pub fn new(pdu: &'static str, function: &'static str) -> Transaction {
        Transaction {
            pdu,
            function,
            ..Transaction::default()
        }
    }

    /// The details part, created on first use.
    pub fn details_mut(&mut self) -> &mut Details {
        self.details.get_or_insert_with(Box::default)
    }

    pub fn details(&self) -> Option<&Details> {
        self.details.as_deref()
    }

    /// Adds a variable name within [`MAX_NAMES`].
    pub fn push_variable(&mut self, name: String) {
        if self.variables.len() < MAX_NAMES {
            self.variables.push(name);
        } else {
            self.truncated = true;
        }
    }

    /// The service modifies process data (MMS write).
    pub fn is_write(&self) -> bool {
        self.function_code == Some(5)
    }

    /// Program, domain or file operations that change what the device runs or
    /// stores: download/upload, domain delete, program invocation create/delete/
    /// start/stop/resume/reset/kill, file rename/delete/obtain.
    pub fn is_engineering(&self) -> bool {
        matches!(self.function_code, Some(26..=36 | 38..=44 | 46 | 75 | 76))
    }

    /// Every numeric value the write request writes, with its variable name. A
    /// structure member is named `name[i]` (nested: `name[i][j]`). Writes through
    /// a named variable list use the list name.
    pub fn written(&self) -> Vec<(String, f64)> {
        if !self.is_write() || !self.request {
            return Vec::new();
        }
        let list = self.details().and_then(|d| d.variable_list.clone());
        let mut out = Vec::new();
        for (i, v) in self.values.iter().enumerate() {
            let name = match (self.variables.get(i), &list) {
                (Some(n), _) => n.clone(),
                (None, Some(l)) => format!("{l}[{i}]"),
                (None, None) => format!("[{i}]"),
            };
            flatten(&name, v, 0, &mut out);
        }
        out
    }
}

fn flatten(name: &str, v: &Value, depth: usize, out: &mut Vec<(String, f64)>) {
    if out.len() >= MAX_VALUES || depth > super::data::MAX_DEPTH {
        return;
    }
    match v {
        Value::Structure(items) | Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{name}[{i}]"), item, depth + 1, out);
            }
        }
        other => {
            if let Some(x) = other.as_f64() {
                out.push((name.to_string(), x));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_flattens_structures() {
        let mut tx = Transaction::new("confirmed", "write");
        tx.function_code = Some(5);
        tx.request = true;
        tx.variables = vec!["LD0/CSWI1$CO$Pos$Oper".into(), "LD0/GGIO1$SP$x".into()];
        tx.values = vec![
            Value::Structure(vec![
                Value::Boolean(true),
                Value::Structure(vec![Value::Integer(3), Value::OctetString("00".into())]),
                Value::Unsigned(7),
            ]),
            Value::Float(1.5),
        ];
        assert_eq!(
            tx.written(),
            vec![
                ("LD0/CSWI1$CO$Pos$Oper[0]".to_string(), 1.0),
                ("LD0/CSWI1$CO$Pos$Oper[1][0]".to_string(), 3.0),
                ("LD0/CSWI1$CO$Pos$Oper[2]".to_string(), 7.0),
                ("LD0/GGIO1$SP$x".to_string(), 1.5),
            ]
        );
        tx.function_code = Some(4);
        assert!(tx.written().is_empty());
        assert!(std::mem::size_of::<Transaction>() <= 200);
    }
}
