//! SMB over NetBIOS session service / direct TCP: SMB2/3 (header, command, status,
//! message-id pairing, session and tree ids, compound chains, async interim
//! responses) with NEGOTIATE (dialects), SESSION_SETUP (NTLMSSP user / domain /
//! workstation or Kerberos; never hashes or responses), TREE_CONNECT (share), CREATE
//! (file, disposition, action), CLOSE, READ / WRITE (offset, length), IOCTL (FSCTL),
//! SET_INFO (delete, rename), LOGOFF; SMB1 NEGOTIATE / SESSION_SETUP_ANDX /
//! TREE_CONNECT_ANDX / NT_CREATE_ANDX and the command + status of everything else;
//! encrypted SMB3 (transform header) is recognised and counted as such.
//!
//! One event per request paired with its final response (interim STATUS_PENDING
//! responses are skipped); server-initiated messages (oplock breaks) are their own.
//! Identities: the server's NetBIOS name and OS version from the NTLM CHALLENGE
//! (`smb.ntlm`), the client's workstation name from the AUTHENTICATE.
//!
//! Anomaly kinds: `bad_netbios`, `bad_header`, `truncated_pdu`, `unexpected_response`,
//! `unanswered_request`, `not_smb`.
use crate::{Direction, Parser, Probe, ProtoRecord, ProtocolDesc, Transport};
use serde::Serialize;

pub mod names;
pub mod ntlm;
pub mod state;

pub use state::SmbParser;

/// Longest string kept from the wire (characters).
pub const MAX_STR: usize = 256;
/// Most dialects kept.
pub const MAX_DIALECTS: usize = 32;

/// Authentication details of a SESSION_SETUP.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Auth {
    /// `ntlmssp` or `kerberos`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<&'static str>,
    /// NTLMSSP message of the request: `negotiate` or `authenticate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntlm_message: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    /// From the server's CHALLENGE: NetBIOS computer name, DNS domain, OS version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_os_version: Option<String>,
    /// SESSION_SETUP response flags: guest / null session.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub guest: bool,
}

/// File-level details (CREATE, READ, WRITE, CLOSE, IOCTL, SET_INFO...).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct File {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub delete_on_close: bool,
    /// SET_INFO marked the file for deletion.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub delete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rename_to: Option<String>,
    /// End of file from the CREATE response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// READ / WRITE length requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Bytes read or written according to the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ioctl_code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ioctl: Option<&'static str>,
}

/// One SMB event record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transaction {
    /// `smb1`, `smb2` or `smb3_encrypted` (transform header: opaque).
    pub version: &'static str,
    pub command: u16,
    pub command_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_name: Option<&'static str>,
    pub message_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_id: Option<u32>,
    /// Part of a compound (related or chained) request.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub compound: bool,
    /// The response went through an async STATUS_PENDING first.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub r#async: bool,
    /// Dialects the client offered (NEGOTIATE request).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dialects: Vec<String>,
    /// Dialect the server selected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_required: Option<bool>,
    /// User of the session (NTLM AUTHENTICATE), repeated on later commands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// SESSION_SETUP outcome (absent while more processing is required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<Box<Auth>>,
    /// Share path (TREE_CONNECT), or the share of the tree id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Box<File>>,
    /// A request seen without its response (or the reverse).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unpaired: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Transaction {
    pub fn new(version: &'static str, command: u16, command_name: &'static str) -> Self {
        Transaction {
            version,
            command,
            command_name,
            status: None,
            status_name: None,
            message_id: 0,
            session_id: None,
            tree_id: None,
            compound: false,
            r#async: false,
            dialects: Vec::new(),
            dialect: None,
            signing_required: None,
            user: None,
            login_success: None,
            auth: None,
            share: None,
            share_type: None,
            file: None,
            unpaired: false,
            truncated: false,
        }
    }

    pub(crate) fn file_mut(&mut self) -> &mut File {
        self.file.get_or_insert_with(Box::default)
    }

    pub(crate) fn auth_mut(&mut self) -> &mut Auth {
        self.auth.get_or_insert_with(Box::default)
    }
}

impl ProtoRecord for Transaction {
    fn function_code(&self) -> Option<u32> {
        Some(u32::from(self.command))
    }
    fn function(&self) -> Option<&str> {
        Some(self.command_name)
    }
}

/// Content probe: a NetBIOS session message carrying an SMB1 / SMB2 / SMB3 header, or
/// a NetBIOS session request (port 139).
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    match data.first() {
        None => return Probe::NeedMore,
        Some(0x00) => {}
        Some(0x81) => {
            return match data.get(4) {
                None => Probe::NeedMore,
                Some(0x20) => Probe::Match,
                _ => Probe::NoMatch,
            }
        }
        _ => return Probe::NoMatch,
    }
    let Some(h) = data.get(4..8) else {
        return Probe::NeedMore;
    };
    let len = data
        .get(1..4)
        .map_or(0, |b| u32::from_be_bytes([0, b[0], b[1], b[2]]));
    if len >= 32 && matches!(h, [0xFC..=0xFF, b'S', b'M', b'B']) {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(SmbParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "smb",
    transports: &[Transport::Tcp],
    ports: &[445, 139],
    probe,
    new_parser,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_decisions() {
        let d = Direction::ToServer;
        assert_eq!(
            probe(d, &[0, 0, 0, 0x60, 0xFE, b'S', b'M', b'B']),
            Probe::Match
        );
        assert_eq!(
            probe(d, &[0, 0, 0, 0x60, 0xFF, b'S', b'M', b'B']),
            Probe::Match
        );
        assert_eq!(probe(d, &[0, 0, 0, 0x60]), Probe::NeedMore);
        assert_eq!(probe(d, &[0, 1, 0, 6, 0, 0, 0, 0]), Probe::NoMatch);
        assert_eq!(probe(d, b"GET / HTTP/1.1"), Probe::NoMatch);
        assert_eq!(probe(d, &[3, 0, 0, 22, 17, 0xE0]), Probe::NoMatch);
    }
}
