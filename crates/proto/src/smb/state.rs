//! Framing (NetBIOS session service, 4-byte header with a 24-bit length), SMB1/SMB2
//! message decoding and request/response pairing for one flow.
//!
//! Each direction buffers at most one message head ([`MAX_HEAD`] bytes); the rest of a
//! longer message (READ / WRITE data) is skipped without buffering. Requests wait in
//! a bounded queue ([`MAX_PENDING`]) keyed by message id; an interim STATUS_PENDING
//! response leaves the request waiting for its final response. File ids, tree ids and
//! session users are remembered (bounded) to name the file, share and user of later
//! commands.
use super::names;
use super::ntlm;
use super::{Transaction, MAX_DIALECTS, MAX_STR};
use crate::{Anomaly, Direction, Identity, Output, Parser, Record, Side, Timestamp, Txn};
use std::collections::VecDeque;

/// Bytes of one message decoded (longer messages are cut there).
pub const MAX_HEAD: usize = 8192;
/// Requests waiting for a response.
pub const MAX_PENDING: usize = 256;
/// File ids remembered.
pub const MAX_FILES: usize = 512;
/// Tree ids / sessions remembered.
pub const MAX_TREES: usize = 64;
/// Consecutive bad frames before giving up.
pub const MAX_BAD: u32 = 3;

const STATUS_PENDING: u32 = 0x0000_0103;
const STATUS_MORE_PROCESSING: u32 = 0xC000_0016;
const SMB1_KEY: u64 = 1 << 63;

#[derive(Default)]
struct Half {
    buf: Vec<u8>,
    skip: usize,
    encrypted_seen: bool,
}

struct Pending {
    key: u64,
    ts: Timestamp,
    tx: Transaction,
}

/// The SMB parser of one flow.
pub struct SmbParser {
    halves: [Half; 2],
    pending: VecDeque<Pending>,
    files: VecDeque<([u8; 16], String)>,
    trees: VecDeque<(u32, String, Option<&'static str>)>,
    users: VecDeque<(u64, String)>,
    smb1_dialects: Vec<String>,
    server_identity: bool,
    client_identity: bool,
    bad: u32,
    disabled: bool,
}

impl Default for SmbParser {
    fn default() -> Self {
        Self::new()
    }
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

fn file_id(b: &[u8], at: usize) -> Option<[u8; 16]> {
    let s = b.get(at..at.checked_add(16)?)?;
    let mut a = [0u8; 16];
    a.copy_from_slice(s);
    Some(a)
}

/// UTF-16LE slice at (offset, length) relative to `b`.
fn utf16_at(b: &[u8], off: usize, len: usize) -> Option<String> {
    let s = b.get(off..off.checked_add(len)?)?;
    Some(ntlm::decode(s, true))
}

/// NUL-terminated string starting at `at` (UTF-16LE or bytes); returns it and the
/// position after the terminator.
fn zstring(b: &[u8], at: usize, unicode: bool) -> (String, usize) {
    let rest = b.get(at..).unwrap_or_default();
    if unicode {
        let end = rest
            .chunks_exact(2)
            .position(|c| c == [0, 0])
            .map_or(rest.len() & !1, |i| i * 2);
        let s = ntlm::decode(rest.get(..end).unwrap_or_default(), true);
        (s, at + end + 2)
    } else {
        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        let s = ntlm::decode(rest.get(..end.min(MAX_STR)).unwrap_or_default(), false);
        (s, at + end + 1)
    }
}

fn anomaly(out: &mut Vec<Output>, ts: Timestamp, dir: Direction, kind: &'static str, m: String) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: "smb",
        kind,
        message: m,
        dir,
    }));
}

fn emit(
    out: &mut Vec<Output>,
    ts: Timestamp,
    end: Option<Timestamp>,
    dir: Direction,
    tx: Transaction,
) {
    out.push(Output::Txn(Txn {
        ts,
        ts_end: end,
        dir,
        record: Record::Smb(Box::new(tx)),
    }));
}

/// Per-chain context of an SMB2 compound request.
#[derive(Default)]
struct Chain {
    create_name: Option<String>,
}

impl SmbParser {
    pub fn new() -> Self {
        SmbParser {
            halves: [Half::default(), Half::default()],
            pending: VecDeque::new(),
            files: VecDeque::new(),
            trees: VecDeque::new(),
            users: VecDeque::new(),
            smb1_dialects: Vec::new(),
            server_identity: false,
            client_identity: false,
            bad: 0,
            disabled: false,
        }
    }

    /// Requests waiting for their response.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn file_name(&self, id: &[u8; 16]) -> Option<String> {
        self.files
            .iter()
            .rev()
            .find(|(f, _)| f == id)
            .map(|(_, n)| n.clone())
    }

    fn annotate(&self, tx: &mut Transaction) {
        if tx.share.is_none() {
            if let Some(t) = tx.tree_id {
                if let Some((_, s, ty)) = self.trees.iter().rev().find(|(id, _, _)| *id == t) {
                    tx.share = Some(s.clone());
                    tx.share_type = *ty;
                }
            }
        }
        if tx.user.is_none() {
            if let Some(sid) = tx.session_id {
                if let Some((_, u)) = self.users.iter().rev().find(|(id, _)| *id == sid) {
                    tx.user = Some(u.clone());
                }
            }
        }
    }

    fn add_user(&mut self, sid: u64, user: String) {
        if self.users.len() >= MAX_TREES {
            self.users.pop_front();
        }
        self.users.push_back((sid, user));
    }

    fn push_pending(&mut self, key: u64, ts: Timestamp, tx: Transaction, out: &mut Vec<Output>) {
        if let Some(i) = self.pending.iter().position(|p| p.key == key) {
            if let Some(old) = self.pending.remove(i) {
                anomaly(
                    out,
                    ts,
                    Direction::ToServer,
                    "unanswered_request",
                    format!(
                        "{} request (message id {}) unanswered when its id was reused",
                        old.tx.command_name, old.tx.message_id
                    ),
                );
                let mut t = old.tx;
                t.unpaired = true;
                emit(out, old.ts, None, Direction::ToServer, t);
            }
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                anomaly(
                    out,
                    ts,
                    Direction::ToServer,
                    "unanswered_request",
                    format!("more than {MAX_PENDING} requests waiting"),
                );
                let mut t = old.tx;
                t.unpaired = true;
                emit(out, old.ts, None, Direction::ToServer, t);
            }
        }
        self.pending.push_back(Pending { key, ts, tx });
    }

    fn identities(&mut self, n: &ntlm::Ntlm, out: &mut Vec<Output>) {
        if n.message_type == 2 && !self.server_identity {
            let name = n.nb_computer.clone().or_else(|| n.dns_computer.clone());
            if name.is_some() || n.version.is_some() {
                self.server_identity = true;
                out.push(Output::Identity(Identity {
                    side: Some(Side::Server),
                    source: "smb.ntlm",
                    name,
                    firmware: n.version.map(|(a, b, c)| format!("{a}.{b}.{c}")),
                    ..Identity::default()
                }));
            }
        }
        if n.message_type == 3 && !self.client_identity {
            if let Some(w) = n.workstation.clone() {
                self.client_identity = true;
                out.push(Output::Identity(Identity {
                    side: Some(Side::Client),
                    source: "smb.ntlm",
                    name: Some(w),
                    ..Identity::default()
                }));
            }
        }
    }

    fn security_blob(&mut self, tx: &mut Transaction, blob: &[u8], out: &mut Vec<Output>) {
        let mech = ntlm::mechanism(blob);
        if mech.is_none() {
            return;
        }
        let n = ntlm::parse(blob);
        let a = tx.auth_mut();
        a.mechanism = a.mechanism.or(mech);
        if let Some(n) = &n {
            match n.message_type {
                1 => a.ntlm_message = Some("negotiate"),
                2 => {
                    a.server_name = n.nb_computer.clone().or_else(|| n.dns_computer.clone());
                    a.server_domain = n.dns_domain.clone().or_else(|| n.nb_domain.clone());
                    a.server_os_version = n.version.map(|(x, y, z)| format!("{x}.{y}.{z}"));
                }
                3 => {
                    a.ntlm_message = Some("authenticate");
                    a.domain = n.domain.clone();
                    a.workstation = n.workstation.clone();
                    a.anonymous = n.anonymous;
                    tx.user = n.user.clone();
                }
                _ => {}
            }
            self.identities(n, out);
        }
    }

    // ---------------------------------------------------------------- SMB2

    fn smb2(
        &mut self,
        dir: Direction,
        m: &[u8],
        truncated: bool,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let mut o = 0usize;
        let mut chain = Chain::default();
        let mut first = true;
        while let Some(h) = m.get(o..) {
            if h.len() < 64
                || h.get(..4) != Some(&[0xFE, b'S', b'M', b'B'][..])
                || le16(h, 4) != Some(64)
            {
                if first {
                    anomaly(out, ts, dir, "bad_header", "SMB2 header malformed".into());
                } else {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "truncated_pdu",
                        "compound chain points outside the message".into(),
                    );
                }
                break;
            }
            let status = le32(h, 8).unwrap_or(0);
            let cmd = le16(h, 12).unwrap_or(0);
            let flags = le32(h, 16).unwrap_or(0);
            let next = le32(h, 20).unwrap_or(0) as usize;
            let mid = le64(h, 24).unwrap_or(0);
            let is_async = flags & 2 != 0;
            let tree = if is_async { None } else { le32(h, 36) };
            let session = le64(h, 40).unwrap_or(0);
            let related = flags & 4 != 0;
            let end = if next > 0 { next.min(h.len()) } else { h.len() };
            let msg = h.get(..end).unwrap_or(h);
            let mut tx = Transaction::new("smb2", cmd, names::smb2_command(cmd));
            tx.message_id = mid;
            tx.session_id = Some(session);
            tx.tree_id = tree;
            tx.compound = next > 0 || !first;
            tx.truncated = truncated;
            let response = flags & 1 != 0;
            match (dir, response) {
                (Direction::ToServer, false) => {
                    self.smb2_request(&mut tx, msg, related, &mut chain, out);
                    self.annotate(&mut tx);
                    if cmd == 12 {
                        emit(out, ts, None, dir, tx);
                    } else {
                        self.push_pending(mid, ts, tx, out);
                    }
                }
                (Direction::ToClient, true) => {
                    self.smb2_response(tx, msg, status, is_async, ts, out)
                }
                _ => anomaly(
                    out,
                    ts,
                    dir,
                    "bad_header",
                    format!(
                        "SMB2 {} with the wrong direction flag",
                        names::smb2_command(cmd)
                    ),
                ),
            }
            first = false;
            if next == 0 || next < 64 {
                break;
            }
            o = o.saturating_add(next);
        }
    }

    fn smb2_request(
        &mut self,
        tx: &mut Transaction,
        b: &[u8],
        related: bool,
        chain: &mut Chain,
        out: &mut Vec<Output>,
    ) {
        let lookup = |s: &Self, chain: &Chain, at: usize| -> Option<String> {
            let id = file_id(b, at)?;
            if id == [0xff; 16] && related {
                chain.create_name.clone()
            } else {
                s.file_name(&id)
            }
        };
        match tx.command {
            0 => {
                let n = usize::from(le16(b, 66).unwrap_or(0));
                tx.truncated |= n > MAX_DIALECTS;
                for i in 0..n.min(MAX_DIALECTS) {
                    let Some(d) = le16(b, 100 + 2 * i) else { break };
                    tx.dialects.push(names::dialect(d).to_string());
                }
            }
            1 => {
                let off = usize::from(le16(b, 76).unwrap_or(0));
                let len = usize::from(le16(b, 78).unwrap_or(0));
                if let Some(blob) = b.get(off..off.saturating_add(len)) {
                    self.security_blob(tx, blob, out);
                }
            }
            3 => {
                let off = usize::from(le16(b, 68).unwrap_or(0));
                let len = usize::from(le16(b, 70).unwrap_or(0));
                tx.share = utf16_at(b, off, len);
            }
            5 => {
                let off = usize::from(le16(b, 108).unwrap_or(0));
                let len = usize::from(le16(b, 110).unwrap_or(0));
                let name = if len == 0 {
                    Some(String::new())
                } else {
                    utf16_at(b, off, len)
                };
                chain.create_name = name.clone();
                let f = tx.file_mut();
                f.name = name;
                f.disposition = le32(b, 100).map(names::disposition);
                f.delete_on_close = le32(b, 104).unwrap_or(0) & 0x1000 != 0;
            }
            6 | 7 | 10 | 14 | 15 => {
                if let Some(name) = lookup(self, chain, 72) {
                    tx.file_mut().name = Some(name);
                }
            }
            8 | 9 => {
                let name = lookup(self, chain, 80);
                let f = tx.file_mut();
                f.name = name;
                f.length = le32(b, 68);
                f.offset = le64(b, 72);
            }
            11 => {
                let code = le32(b, 68);
                let name = lookup(self, chain, 72);
                let f = tx.file_mut();
                f.ioctl_code = code;
                f.ioctl = code.map(names::fsctl);
                f.name = name;
                // FSCTL_PIPE_WAIT names the pipe in its input buffer.
                if code == Some(0x0011_0018) {
                    let off = le32(b, 88).unwrap_or(0) as usize;
                    let len = le32(b, 92).unwrap_or(0) as usize;
                    let input = b.get(off..off.saturating_add(len)).unwrap_or_default();
                    let n = le32(input, 8).unwrap_or(0) as usize;
                    if let Some(pipe) = utf16_at(input, 14, n) {
                        f.name = Some(pipe);
                    }
                }
            }
            16 => {
                if let Some(name) = lookup(self, chain, 88) {
                    tx.file_mut().name = Some(name);
                }
            }
            17 => {
                let name = lookup(self, chain, 80);
                let info_type = b.get(66).copied().unwrap_or(0);
                let class = b.get(67).copied().unwrap_or(0);
                let len = le32(b, 68).unwrap_or(0) as usize;
                let off = usize::from(le16(b, 72).unwrap_or(0));
                let buf = b.get(off..off.saturating_add(len)).unwrap_or_default();
                if name.is_none() && info_type != 1 {
                    return;
                }
                let f = tx.file_mut();
                f.name = name;
                if info_type == 1 {
                    match class {
                        13 => f.delete = buf.first().is_some_and(|&d| d != 0),
                        64 => f.delete = le32(buf, 0).is_some_and(|v| v & 1 != 0),
                        10 => {
                            let n = le32(buf, 16).unwrap_or(0) as usize;
                            f.rename_to = utf16_at(buf, 20, n);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn smb2_response(
        &mut self,
        mut resp: Transaction,
        b: &[u8],
        status: u32,
        is_async: bool,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let dir = Direction::ToClient;
        let mid = resp.message_id;
        if mid == u64::MAX && resp.command == 18 {
            resp.status = Some(status);
            resp.status_name = Some(names::status(status));
            self.annotate(&mut resp);
            emit(out, ts, None, dir, resp);
            return;
        }
        let idx = self.pending.iter().position(|p| p.key == mid);
        if status == STATUS_PENDING && is_async {
            if let Some(p) = idx.and_then(|i| self.pending.get_mut(i)) {
                p.tx.r#async = true;
            }
            return;
        }
        let (start, mut tx, first) = match idx.and_then(|i| self.pending.remove(i)) {
            Some(p) if p.tx.command == resp.command => (p.ts, p.tx, Direction::ToServer),
            Some(p) => {
                anomaly(
                    out,
                    ts,
                    dir,
                    "unexpected_response",
                    format!(
                        "{} response to a {} request (message id {mid})",
                        resp.command_name, p.tx.command_name
                    ),
                );
                let mut t = p.tx;
                t.unpaired = true;
                emit(out, p.ts, None, Direction::ToServer, t);
                resp.unpaired = true;
                (ts, resp.clone(), dir)
            }
            None => {
                anomaly(
                    out,
                    ts,
                    dir,
                    "unexpected_response",
                    format!(
                        "{} response without a request (message id {mid})",
                        resp.command_name
                    ),
                );
                resp.unpaired = true;
                (ts, resp.clone(), dir)
            }
        };
        tx.status = Some(status);
        tx.status_name = Some(names::status(status));
        tx.r#async |= is_async;
        if resp.tree_id.is_some() {
            tx.tree_id = resp.tree_id;
        }
        if tx.session_id == Some(0) {
            tx.session_id = resp.session_id;
        }
        tx.truncated |= resp.truncated;
        let ok = status == 0;
        match tx.command {
            0 => {
                if let Some(mode) = le16(b, 66) {
                    tx.signing_required = Some(mode & 2 != 0);
                }
                tx.dialect = le16(b, 68).map(|d| names::dialect(d).to_string());
                let off = usize::from(le16(b, 120).unwrap_or(0));
                let len = usize::from(le16(b, 122).unwrap_or(0));
                if let Some(blob) = b.get(off..off.saturating_add(len)) {
                    if let Some(m) = ntlm::mechanism(blob) {
                        tx.auth_mut().mechanism = Some(m);
                    }
                }
            }
            1 => {
                let flags = le16(b, 66).unwrap_or(0);
                let off = usize::from(le16(b, 68).unwrap_or(0));
                let len = usize::from(le16(b, 70).unwrap_or(0));
                if let Some(blob) = b.get(off..off.saturating_add(len)) {
                    self.security_blob(&mut tx, blob, out);
                }
                if ok && flags & 3 != 0 {
                    tx.auth_mut().guest = true;
                }
                tx.login_success = match status {
                    0 => Some(true),
                    STATUS_MORE_PROCESSING => None,
                    _ => Some(false),
                };
                if ok {
                    if let (Some(sid), Some(u)) = (tx.session_id, tx.user.clone()) {
                        self.add_user(sid, u);
                    }
                }
            }
            3 if ok => {
                tx.share_type = b.get(66).copied().map(names::share_type);
                if let (Some(t), Some(s)) = (tx.tree_id, tx.share.clone()) {
                    if self.trees.len() >= MAX_TREES {
                        self.trees.pop_front();
                    }
                    self.trees.push_back((t, s, tx.share_type));
                }
            }
            5 if ok => {
                let action = le32(b, 68);
                let size = le64(b, 112);
                let id = file_id(b, 128);
                let f = tx.file_mut();
                f.action = action.map(names::create_action);
                f.size = size;
                if let (Some(id), Some(name)) = (id, f.name.clone()) {
                    if self.files.len() >= MAX_FILES {
                        self.files.pop_front();
                    }
                    self.files.push_back((id, name));
                }
            }
            6 => {
                if let Some(name) = tx.file.as_ref().and_then(|f| f.name.clone()) {
                    if let Some(i) = self.files.iter().position(|(_, n)| *n == name) {
                        self.files.remove(i);
                    }
                }
            }
            8 | 9 if ok => tx.file_mut().data_length = le32(b, 68),
            _ => {}
        }
        self.annotate(&mut tx);
        emit(out, start, Some(ts), first, tx);
    }

    // ---------------------------------------------------------------- SMB1

    fn smb1(
        &mut self,
        dir: Direction,
        m: &[u8],
        truncated: bool,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        if m.len() < 35 {
            anomaly(
                out,
                ts,
                dir,
                "bad_header",
                "SMB1 message shorter than its header".into(),
            );
            return;
        }
        let cmd = m.get(4).copied().unwrap_or(0);
        let status = le32(m, 5).unwrap_or(0);
        let reply = m.get(9).is_some_and(|f| f & 0x80 != 0);
        let flags2 = le16(m, 10).unwrap_or(0);
        let unicode = flags2 & 0x8000 != 0;
        let tid = le16(m, 24).unwrap_or(0);
        let pid = le16(m, 26).unwrap_or(0);
        let uid = le16(m, 28).unwrap_or(0);
        let mid = le16(m, 30).unwrap_or(0);
        let wc = usize::from(m.get(32).copied().unwrap_or(0));
        let words = m.get(33..33 + 2 * wc).unwrap_or_default();
        let bstart = 35 + 2 * wc;
        let bc = usize::from(le16(m, 33 + 2 * wc).unwrap_or(0));
        let bytes = m
            .get(bstart..bstart.saturating_add(bc))
            .unwrap_or_else(|| m.get(bstart..).unwrap_or_default());
        let key = SMB1_KEY | (u64::from(pid) << 16) | u64::from(mid);
        let mut tx = Transaction::new("smb1", u16::from(cmd), names::smb1_command(cmd));
        tx.message_id = u64::from(mid);
        tx.session_id = Some(u64::from(uid));
        tx.tree_id = Some(u32::from(tid));
        tx.truncated = truncated;
        if !reply {
            if dir != Direction::ToServer {
                anomaly(
                    out,
                    ts,
                    dir,
                    "bad_header",
                    "SMB1 request sent by the server".into(),
                );
                return;
            }
            match cmd {
                0x72 => {
                    let list: Vec<String> = bytes
                        .split(|&c| c == 0)
                        .filter_map(|d| d.strip_prefix(&[2u8][..]))
                        .take(MAX_DIALECTS)
                        .map(|d| String::from_utf8_lossy(d).into_owned())
                        .collect();
                    self.smb1_dialects = list.clone();
                    tx.dialects = list;
                }
                0x73 => {
                    if ntlm::mechanism(m).is_some() {
                        self.security_blob(&mut tx, m, out);
                    } else if wc == 13 {
                        // Non-extended security: account name and domain follow the
                        // two password fields (never kept).
                        let oem = usize::from(le16(words, 14).unwrap_or(0));
                        let uni = usize::from(le16(words, 16).unwrap_or(0));
                        let mut pos = bstart + oem + uni;
                        if unicode && pos % 2 == 1 {
                            pos += 1;
                        }
                        let (user, next) = zstring(m, pos, unicode);
                        let (domain, _) = zstring(m, next, unicode);
                        if !user.is_empty() {
                            tx.user = Some(user);
                        }
                        if !domain.is_empty() {
                            tx.auth_mut().domain = Some(domain);
                        }
                    }
                }
                0x75 => {
                    let pw = usize::from(le16(words, 6).unwrap_or(0));
                    let mut pos = bstart + pw;
                    if unicode && pos % 2 == 1 {
                        pos += 1;
                    }
                    let (path, _) = zstring(m, pos, unicode);
                    tx.share = Some(path);
                }
                0xA2 => {
                    let nlen = usize::from(le16(words, 5).unwrap_or(0));
                    let disp = le32(words, 35);
                    let opts = le32(words, 39).unwrap_or(0);
                    let mut pos = bstart;
                    if unicode && pos % 2 == 1 {
                        pos += 1;
                    }
                    let raw = m.get(pos..pos.saturating_add(nlen)).unwrap_or_default();
                    let name = ntlm::decode(raw, unicode)
                        .trim_end_matches('\0')
                        .to_string();
                    let f = tx.file_mut();
                    f.name = Some(name);
                    f.disposition = disp.map(names::disposition);
                    f.delete_on_close = opts & 0x1000 != 0;
                }
                _ => {}
            }
            self.annotate(&mut tx);
            self.push_pending(key, ts, tx, out);
            return;
        }
        let idx = self.pending.iter().position(|p| p.key == key);
        let (start, mut tx, first) = match idx.and_then(|i| self.pending.remove(i)) {
            Some(p) => (p.ts, p.tx, Direction::ToServer),
            None => {
                anomaly(
                    out,
                    ts,
                    dir,
                    "unexpected_response",
                    format!("SMB1 {} response without a request", tx.command_name),
                );
                tx.unpaired = true;
                (ts, tx, dir)
            }
        };
        tx.status = Some(status);
        tx.status_name = Some(names::status(status));
        tx.session_id = Some(u64::from(uid));
        tx.tree_id = Some(u32::from(tid));
        let ok = status == 0;
        match cmd {
            0x72 => {
                if let Some(i) = le16(words, 0) {
                    tx.dialect = self.smb1_dialects.get(usize::from(i)).cloned();
                }
                if let Some(mode) = words.get(2) {
                    tx.signing_required = Some(mode & 0x08 != 0);
                }
            }
            0x73 => {
                if ntlm::mechanism(m).is_some() {
                    self.security_blob(&mut tx, m, out);
                }
                tx.login_success = match status {
                    0 => Some(true),
                    STATUS_MORE_PROCESSING => None,
                    _ => Some(false),
                };
                if ok {
                    if let Some(u) = tx.user.clone() {
                        self.add_user(u64::from(uid), u);
                    }
                }
            }
            0x75 if ok => {
                if let Some(s) = tx.share.clone() {
                    if self.trees.len() >= MAX_TREES {
                        self.trees.pop_front();
                    }
                    self.trees.push_back((u32::from(tid), s, None));
                }
            }
            _ => {}
        }
        self.annotate(&mut tx);
        emit(out, start, Some(ts), first, tx);
    }

    fn transform(&mut self, dir: Direction, m: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let idx = usize::from(dir == Direction::ToClient);
        if self.halves[idx].encrypted_seen {
            return;
        }
        self.halves[idx].encrypted_seen = true;
        let mut tx = Transaction::new("smb3_encrypted", 0xFFFF, "ENCRYPTED");
        tx.session_id = le64(m, 44);
        self.annotate(&mut tx);
        emit(out, ts, None, dir, tx);
    }

    fn message(
        &mut self,
        dir: Direction,
        m: &[u8],
        truncated: bool,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        match m.get(..4) {
            Some([0xFE, b'S', b'M', b'B']) => self.smb2(dir, m, truncated, ts, out),
            Some([0xFF, b'S', b'M', b'B']) => self.smb1(dir, m, truncated, ts, out),
            Some([0xFD, b'S', b'M', b'B']) => self.transform(dir, m, ts, out),
            Some([0xFC, b'S', b'M', b'B']) => {}
            _ => {
                anomaly(
                    out,
                    ts,
                    dir,
                    "bad_header",
                    "NetBIOS message without an SMB header".into(),
                );
                self.bad(dir, ts, out);
                return;
            }
        }
        self.bad = 0;
    }

    fn bad(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.bad += 1;
        if self.bad >= MAX_BAD {
            self.disabled = true;
            self.halves = [Half::default(), Half::default()];
            anomaly(
                out,
                ts,
                dir,
                "not_smb",
                format!(
                    "{} malformed frames: no longer parsing this flow as SMB",
                    self.bad
                ),
            );
        }
    }

    /// One framing decision at the start of `b`: bytes consumed (0 = need more) and
    /// bytes of the current message still to skip beyond `b`.
    fn step(
        &mut self,
        dir: Direction,
        b: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> (usize, usize) {
        let Some(h) = b.get(..4) else { return (0, 0) };
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        match h[0] {
            0x00 => {
                let head = len.min(MAX_HEAD);
                let Some(m) = b.get(4..4 + head) else {
                    return (0, 0);
                };
                self.message(dir, m, len > MAX_HEAD, ts, out);
                let total = 4 + len;
                let have = b.len().min(total);
                (have, total - have)
            }
            0x81..=0x85 => {
                let total = 4 + len;
                let have = b.len().min(total);
                (have, total - have)
            }
            t => {
                anomaly(
                    out,
                    ts,
                    dir,
                    "bad_netbios",
                    format!("NetBIOS session packet type {t:#04x}"),
                );
                self.bad(dir, ts, out);
                (1, 0)
            }
        }
    }
}

impl Parser for SmbParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled {
            return;
        }
        let idx = usize::from(dir == Direction::ToClient);
        let mut data = data;
        let h = &mut self.halves[idx];
        if h.skip > 0 {
            let n = h.skip.min(data.len());
            h.skip -= n;
            data = data.get(n..).unwrap_or_default();
        }
        if data.is_empty() {
            return;
        }
        h.buf.extend_from_slice(data);
        let buf = std::mem::take(&mut h.buf);
        let mut pos = 0;
        while !self.disabled && pos < buf.len() {
            let (used, skip) = self.step(dir, buf.get(pos..).unwrap_or_default(), ts, out);
            if used == 0 {
                break;
            }
            pos += used;
            if skip > 0 {
                self.halves[idx].skip = skip;
                break;
            }
        }
        if self.disabled {
            return;
        }
        let mut buf = buf;
        buf.drain(..pos.min(buf.len()));
        self.halves[idx].buf = buf;
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        let idx = usize::from(dir == Direction::ToClient);
        self.halves[idx].buf.clear();
        self.halves[idx].skip = 0;
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        let _ = ts;
        while let Some(p) = self.pending.pop_front() {
            let mut t = p.tx;
            t.unpaired = true;
            emit(out, p.ts, None, Direction::ToServer, t);
        }
        self.halves = [Half::default(), Half::default()];
    }
}
