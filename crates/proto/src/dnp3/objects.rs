//! DNP3 object library: size of each group/variation and decoding of point values.
//!
//! Sizes and layouts follow IEEE 1815-2012 (and the obsolete variations a passive
//! monitor still meets).  Decoding never panics: every read goes through [`Reader`].
use super::names;
use serde::{Serialize, Serializer};
use std::fmt;

/// How the objects of a group/variation are laid out after an object header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Bit-packed points: 1 or 2 bits per point, only with a range and no prefix.
    Packed(u8),
    /// Every object has this many octets.
    Fixed(usize),
    /// Device attribute (group 0): data type octet, length octet, value.
    Attribute,
    /// Only known from an object size prefix (files, authentication, data sets...).
    Prefixed,
}

/// Width and type of a numeric value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Num {
    U16,
    U32,
    I16,
    I32,
    F32,
    F64,
}

/// The octet that comes before a numeric value, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lead {
    None,
    Flags,
    Status,
}

/// How to turn an object's octets into a [`Point`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Known size, not decoded.
    Skip,
    /// One bit per point (packed).
    Bit,
    /// Two bits per point (packed double-bit input).
    DoubleBit,
    /// Flags octet whose bit 7 is the state, then optional time.
    BinaryFlags { abs_time: bool, rel_time: bool },
    /// Flags octet whose bits 6-7 are the double-bit state, then optional time.
    DoubleBitFlags { abs_time: bool, rel_time: bool },
    /// Binary output command event: status octet (bit 7 = commanded state), time.
    BinaryCommandEvent { abs_time: bool },
    /// Control relay output block (g12v1) or pattern control block (g12v2).
    Crob,
    /// A number, optionally led by a flags or status octet, optionally followed by
    /// a 48-bit time and, for analog output blocks, a trailing status octet.
    Numeric {
        lead: Lead,
        num: Num,
        abs_time: bool,
        trailing_status: bool,
    },
    /// 48-bit absolute time (g50v1, g50v3, g51): the value is milliseconds since epoch.
    Time,
    /// Time delay (g52): the value is the delay in milliseconds; `scale` converts.
    Delay { scale: i64 },
    /// File control (g70).
    File,
    /// Device attribute (g0).
    Attribute,
    /// Octet string / virtual terminal data (g110-g113), shown as text.
    Text,
}

/// What the object library knows about a group/variation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    /// `None` when the variation has no defined size (e.g. variation 0, "any").
    pub size: Option<Size>,
    pub kind: Kind,
    /// Short description, e.g. `crob` or `analog input 32-bit with flag`.
    pub desc: &'static str,
}

const fn d(size: Size, kind: Kind, desc: &'static str) -> Desc {
    Desc {
        size: Some(size),
        kind,
        desc,
    }
}

const fn bin(abs_time: bool, rel_time: bool) -> Kind {
    Kind::BinaryFlags { abs_time, rel_time }
}

const fn dbl(abs_time: bool, rel_time: bool) -> Kind {
    Kind::DoubleBitFlags { abs_time, rel_time }
}

const fn num(lead: Lead, num: Num, abs_time: bool) -> Kind {
    Kind::Numeric {
        lead,
        num,
        abs_time,
        trailing_status: false,
    }
}

const fn aob(num: Num) -> Kind {
    Kind::Numeric {
        lead: Lead::None,
        num,
        abs_time: false,
        trailing_status: true,
    }
}

/// Octets of a numeric value.
const fn width(n: Num) -> usize {
    match n {
        Num::U16 | Num::I16 => 2,
        Num::U32 | Num::I32 | Num::F32 => 4,
        Num::F64 => 8,
    }
}

/// A numeric object: size computed from its parts.
const fn n(lead: Lead, n: Num, abs_time: bool, desc: &'static str) -> Desc {
    let lead_len = match lead {
        Lead::None => 0,
        _ => 1,
    };
    let time_len = if abs_time { 6 } else { 0 };
    d(
        Size::Fixed(lead_len + width(n) + time_len),
        num(lead, n, abs_time),
        desc,
    )
}

/// Description of a group, for variations the table does not list.
pub fn group_desc(group: u8) -> &'static str {
    match group {
        0 => "device attribute",
        1 => "binary input",
        2 => "binary input event",
        3 => "double-bit input",
        4 => "double-bit input event",
        10 => "binary output",
        11 => "binary output event",
        12 => "binary output command",
        13 => "binary output command event",
        20 => "counter",
        21 => "frozen counter",
        22 => "counter event",
        23 => "frozen counter event",
        30 => "analog input",
        31 => "frozen analog input",
        32 => "analog input event",
        33 => "frozen analog input event",
        34 => "analog input deadband",
        40 => "analog output status",
        41 => "analog output block",
        42 => "analog output event",
        43 => "analog output command event",
        50 => "time and date",
        51 => "common time of occurrence",
        52 => "time delay",
        60 => "class data",
        70 => "file control",
        80 => "internal indications",
        81 => "storage object",
        82 => "device profile",
        83 => "private registration object",
        85 => "data set prototype",
        86 => "data set descriptor",
        87 => "data set present value",
        88 => "data set snapshot",
        90 => "application identifier",
        91 => "status of requested operation",
        100 => "floating point",
        101 => "bcd integer",
        102 => "unsigned integer",
        110 => "octet string",
        111 => "octet string event",
        112 => "virtual terminal output block",
        113 => "virtual terminal event data",
        120 => "authentication",
        121 => "security statistic",
        122 => "security statistic event",
        _ => "unknown",
    }
}

/// The object library entry of `group`/`variation`.
pub fn describe(group: u8, variation: u8) -> Desc {
    use Lead::{Flags, Status};
    use Num::*;
    use Size::{Fixed, Packed, Prefixed};
    let none = Lead::None;
    match (group, variation) {
        (0, v) => Desc {
            size: Some(Size::Attribute),
            kind: Kind::Attribute,
            desc: names::attribute_name(v).unwrap_or("device attribute"),
        },
        (1, 1) => d(Packed(1), Kind::Bit, "binary input packed"),
        (1, 2) => d(Fixed(1), bin(false, false), "binary input with flags"),
        (2, 1) => d(Fixed(1), bin(false, false), "binary input event"),
        (2, 2) => d(Fixed(7), bin(true, false), "binary input event with time"),
        (2, 3) => d(
            Fixed(3),
            bin(false, true),
            "binary input event with relative time",
        ),
        (3, 1) => d(Packed(2), Kind::DoubleBit, "double-bit input packed"),
        (3, 2) => d(Fixed(1), dbl(false, false), "double-bit input with flags"),
        (4, 1) => d(Fixed(1), dbl(false, false), "double-bit input event"),
        (4, 2) => d(
            Fixed(7),
            dbl(true, false),
            "double-bit input event with time",
        ),
        (4, 3) => d(
            Fixed(3),
            dbl(false, true),
            "double-bit input event with relative time",
        ),
        (10, 1) => d(Packed(1), Kind::Bit, "binary output packed"),
        (10, 2) => d(Fixed(1), bin(false, false), "binary output status"),
        (11, 1) => d(Fixed(1), bin(false, false), "binary output event"),
        (11, 2) => d(Fixed(7), bin(true, false), "binary output event with time"),
        (12, 1) => d(Fixed(11), Kind::Crob, "crob"),
        (12, 2) => d(Fixed(11), Kind::Crob, "pattern control block"),
        (12, 3) => d(Packed(1), Kind::Bit, "pattern mask"),
        (13, 1) => d(
            Fixed(1),
            Kind::BinaryCommandEvent { abs_time: false },
            "binary output command event",
        ),
        (13, 2) => d(
            Fixed(7),
            Kind::BinaryCommandEvent { abs_time: true },
            "binary output command event with time",
        ),
        (20, 1) => n(Flags, U32, false, "counter 32-bit with flag"),
        (20, 2) => n(Flags, U16, false, "counter 16-bit with flag"),
        (20, 3) => n(Flags, U32, false, "delta counter 32-bit with flag"),
        (20, 4) => n(Flags, U16, false, "delta counter 16-bit with flag"),
        (20, 5) => n(none, U32, false, "counter 32-bit"),
        (20, 6) => n(none, U16, false, "counter 16-bit"),
        (20, 7) => n(none, U32, false, "delta counter 32-bit"),
        (20, 8) => n(none, U16, false, "delta counter 16-bit"),
        (21, 1) => n(Flags, U32, false, "frozen counter 32-bit with flag"),
        (21, 2) => n(Flags, U16, false, "frozen counter 16-bit with flag"),
        (21, 3) => n(Flags, U32, false, "frozen delta counter 32-bit with flag"),
        (21, 4) => n(Flags, U16, false, "frozen delta counter 16-bit with flag"),
        (21, 5) => n(Flags, U32, true, "frozen counter 32-bit with flag and time"),
        (21, 6) => n(Flags, U16, true, "frozen counter 16-bit with flag and time"),
        (21, 7) => n(Flags, U32, true, "frozen delta counter 32-bit with time"),
        (21, 8) => n(Flags, U16, true, "frozen delta counter 16-bit with time"),
        (21, 9) => n(none, U32, false, "frozen counter 32-bit"),
        (21, 10) => n(none, U16, false, "frozen counter 16-bit"),
        (21, 11) => n(none, U32, false, "frozen delta counter 32-bit"),
        (21, 12) => n(none, U16, false, "frozen delta counter 16-bit"),
        (22, 1) => n(Flags, U32, false, "counter event 32-bit"),
        (22, 2) => n(Flags, U16, false, "counter event 16-bit"),
        (22, 3) => n(Flags, U32, false, "delta counter event 32-bit"),
        (22, 4) => n(Flags, U16, false, "delta counter event 16-bit"),
        (22, 5) => n(Flags, U32, true, "counter event 32-bit with time"),
        (22, 6) => n(Flags, U16, true, "counter event 16-bit with time"),
        (22, 7) => n(Flags, U32, true, "delta counter event 32-bit with time"),
        (22, 8) => n(Flags, U16, true, "delta counter event 16-bit with time"),
        (23, 1) => n(Flags, U32, false, "frozen counter event 32-bit"),
        (23, 2) => n(Flags, U16, false, "frozen counter event 16-bit"),
        (23, 3) => n(Flags, U32, false, "frozen delta counter event 32-bit"),
        (23, 4) => n(Flags, U16, false, "frozen delta counter event 16-bit"),
        (23, 5) => n(Flags, U32, true, "frozen counter event 32-bit with time"),
        (23, 6) => n(Flags, U16, true, "frozen counter event 16-bit with time"),
        (23, 7) => n(
            Flags,
            U32,
            true,
            "frozen delta counter event 32-bit with time",
        ),
        (23, 8) => n(
            Flags,
            U16,
            true,
            "frozen delta counter event 16-bit with time",
        ),
        (30, 1) => n(Flags, I32, false, "analog input 32-bit with flag"),
        (30, 2) => n(Flags, I16, false, "analog input 16-bit with flag"),
        (30, 3) => n(none, I32, false, "analog input 32-bit"),
        (30, 4) => n(none, I16, false, "analog input 16-bit"),
        (30, 5) => n(Flags, F32, false, "analog input float with flag"),
        (30, 6) => n(Flags, F64, false, "analog input double with flag"),
        (31, 1) => n(Flags, I32, false, "frozen analog input 32-bit with flag"),
        (31, 2) => n(Flags, I16, false, "frozen analog input 16-bit with flag"),
        (31, 3) => n(Flags, I32, true, "frozen analog input 32-bit with time"),
        (31, 4) => n(Flags, I16, true, "frozen analog input 16-bit with time"),
        (31, 5) => n(none, I32, false, "frozen analog input 32-bit"),
        (31, 6) => n(none, I16, false, "frozen analog input 16-bit"),
        (31, 7) => n(Flags, F32, false, "frozen analog input float with flag"),
        (31, 8) => n(Flags, F64, false, "frozen analog input double with flag"),
        (32, 1) => n(Flags, I32, false, "analog input event 32-bit"),
        (32, 2) => n(Flags, I16, false, "analog input event 16-bit"),
        (32, 3) => n(Flags, I32, true, "analog input event 32-bit with time"),
        (32, 4) => n(Flags, I16, true, "analog input event 16-bit with time"),
        (32, 5) => n(Flags, F32, false, "analog input event float"),
        (32, 6) => n(Flags, F64, false, "analog input event double"),
        (32, 7) => n(Flags, F32, true, "analog input event float with time"),
        (32, 8) => n(Flags, F64, true, "analog input event double with time"),
        (33, 1) => n(Flags, I32, false, "frozen analog event 32-bit"),
        (33, 2) => n(Flags, I16, false, "frozen analog event 16-bit"),
        (33, 3) => n(Flags, I32, true, "frozen analog event 32-bit with time"),
        (33, 4) => n(Flags, I16, true, "frozen analog event 16-bit with time"),
        (33, 5) => n(Flags, F32, false, "frozen analog event float"),
        (33, 6) => n(Flags, F64, false, "frozen analog event double"),
        (33, 7) => n(Flags, F32, true, "frozen analog event float with time"),
        (33, 8) => n(Flags, F64, true, "frozen analog event double with time"),
        (34, 1) => n(none, U16, false, "analog input deadband 16-bit"),
        (34, 2) => n(none, U32, false, "analog input deadband 32-bit"),
        (34, 3) => n(none, F32, false, "analog input deadband float"),
        (40, 1) => n(Flags, I32, false, "analog output status 32-bit"),
        (40, 2) => n(Flags, I16, false, "analog output status 16-bit"),
        (40, 3) => n(Flags, F32, false, "analog output status float"),
        (40, 4) => n(Flags, F64, false, "analog output status double"),
        (41, 1) => d(Fixed(5), aob(I32), "analog output block 32-bit"),
        (41, 2) => d(Fixed(3), aob(I16), "analog output block 16-bit"),
        (41, 3) => d(Fixed(5), aob(F32), "analog output block float"),
        (41, 4) => d(Fixed(9), aob(F64), "analog output block double"),
        (42, 1) => n(Flags, I32, false, "analog output event 32-bit"),
        (42, 2) => n(Flags, I16, false, "analog output event 16-bit"),
        (42, 3) => n(Flags, I32, true, "analog output event 32-bit with time"),
        (42, 4) => n(Flags, I16, true, "analog output event 16-bit with time"),
        (42, 5) => n(Flags, F32, false, "analog output event float"),
        (42, 6) => n(Flags, F64, false, "analog output event double"),
        (42, 7) => n(Flags, F32, true, "analog output event float with time"),
        (42, 8) => n(Flags, F64, true, "analog output event double with time"),
        (43, 1) => n(Status, I32, false, "analog command event 32-bit"),
        (43, 2) => n(Status, I16, false, "analog command event 16-bit"),
        (43, 3) => n(Status, I32, true, "analog command event 32-bit with time"),
        (43, 4) => n(Status, I16, true, "analog command event 16-bit with time"),
        (43, 5) => n(Status, F32, false, "analog command event float"),
        (43, 6) => n(Status, F64, false, "analog command event double"),
        (43, 7) => n(Status, F32, true, "analog command event float with time"),
        (43, 8) => n(Status, F64, true, "analog command event double with time"),
        (50, 1) => d(Fixed(6), Kind::Time, "time and date"),
        (50, 2) => d(Fixed(10), Kind::Time, "time and date with interval"),
        (50, 3) => d(Fixed(6), Kind::Time, "time and date at last recorded time"),
        (50, 4) => d(Fixed(11), Kind::Time, "indexed time and date"),
        (51, 1) => d(Fixed(6), Kind::Time, "cto synchronized"),
        (51, 2) => d(Fixed(6), Kind::Time, "cto unsynchronized"),
        (52, 1) => d(Fixed(2), Kind::Delay { scale: 1000 }, "time delay coarse"),
        (52, 2) => d(Fixed(2), Kind::Delay { scale: 1 }, "time delay fine"),
        (60, 1) => d(Fixed(0), Kind::Skip, "class 0 data"),
        (60, 2) => d(Fixed(0), Kind::Skip, "class 1 data"),
        (60, 3) => d(Fixed(0), Kind::Skip, "class 2 data"),
        (60, 4) => d(Fixed(0), Kind::Skip, "class 3 data"),
        (70, 1) => d(Prefixed, Kind::Skip, "file identifier"),
        (70, 2) => d(Prefixed, Kind::File, "file authentication"),
        (70, 3) => d(Prefixed, Kind::File, "file command"),
        (70, 4) => d(Prefixed, Kind::File, "file command status"),
        (70, 5) => d(Prefixed, Kind::File, "file transport"),
        (70, 6) => d(Prefixed, Kind::File, "file transport status"),
        (70, 7) => d(Prefixed, Kind::File, "file descriptor"),
        (70, 8) => d(Prefixed, Kind::File, "file specification string"),
        (80, 1) => d(Packed(1), Kind::Bit, "internal indications"),
        (81, 1) => d(Fixed(3), Kind::Skip, "storage object"),
        (82, 1) => d(Prefixed, Kind::Skip, "device profile"),
        (83, 1) => d(Prefixed, Kind::Skip, "private registration object"),
        (83, 2) => d(
            Prefixed,
            Kind::Skip,
            "private registration object descriptor",
        ),
        (85, 1) => d(Prefixed, Kind::Skip, "data set prototype"),
        (86, 1) => d(Prefixed, Kind::Skip, "data set descriptor"),
        (86, 2) => d(Fixed(1), Kind::Skip, "data set descriptor characteristics"),
        (86, 3) => d(
            Prefixed,
            Kind::Skip,
            "data set descriptor point index attributes",
        ),
        (87, 1) => d(Prefixed, Kind::Skip, "data set present value"),
        (88, 1) => d(Prefixed, Kind::Skip, "data set snapshot"),
        (90, 1) => d(Prefixed, Kind::Skip, "application identifier"),
        (91, 1) => d(Prefixed, Kind::Skip, "status of requested operation"),
        (100, 1) => d(Fixed(7), Kind::Skip, "short floating point"),
        (100, 2) => d(Fixed(9), Kind::Skip, "long floating point"),
        (100, 3) => d(Fixed(11), Kind::Skip, "extended floating point"),
        (101, 1) => d(Fixed(2), Kind::Skip, "small bcd"),
        (101, 2) => d(Fixed(4), Kind::Skip, "medium bcd"),
        (101, 3) => d(Fixed(8), Kind::Skip, "large bcd"),
        (102, 1) => d(Fixed(1), Kind::Skip, "unsigned integer 8-bit"),
        (110, v) => d(Fixed(usize::from(v)), Kind::Text, "octet string"),
        (111, v) => d(Fixed(usize::from(v)), Kind::Text, "octet string event"),
        (112, v) => d(
            Fixed(usize::from(v)),
            Kind::Text,
            "virtual terminal output block",
        ),
        (113, v) => d(
            Fixed(usize::from(v)),
            Kind::Text,
            "virtual terminal event data",
        ),
        (120, _) => d(Prefixed, Kind::Skip, "authentication"),
        (121, 1) => d(Fixed(7), Kind::Skip, "security statistic"),
        (122, 1) => d(Fixed(7), Kind::Skip, "security statistic event"),
        (122, 2) => d(Fixed(13), Kind::Skip, "security statistic event with time"),
        (g, _) => Desc {
            size: None,
            kind: Kind::Skip,
            desc: group_desc(g),
        },
    }
}

/// Name of an object header, e.g. `g12v1 crob`; formats without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectName {
    pub group: u8,
    pub variation: u8,
    pub desc: &'static str,
}

impl ObjectName {
    pub fn new(group: u8, variation: u8) -> ObjectName {
        let desc = if variation == 0 && group != 0 {
            group_desc(group)
        } else {
            describe(group, variation).desc
        };
        ObjectName {
            group,
            variation,
            desc,
        }
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "g{}v{} {}", self.group, self.variation, self.desc)
    }
}

impl Serialize for ObjectName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A decoded point value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Value {
    /// The value as a number (booleans are 0 / 1, text has none).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Text(_) => None,
        }
    }
}

/// Control relay output block details (g12v1 / g12v2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Crob {
    pub control_code: u8,
    /// `nul`, `pulse_on`, `pulse_off`, `latch_on`, `latch_off`.
    pub op_type: &'static str,
    /// Trip/close code: `nul`, `close`, `trip`.
    pub tcc: &'static str,
    pub queue: bool,
    pub clear: bool,
    pub count: u8,
    pub on_time_ms: u32,
    pub off_time_ms: u32,
}

impl Crob {
    /// The state the command asks for: close / on = true, trip / off = false.
    pub fn commanded_state(&self) -> Option<bool> {
        match (self.tcc, self.op_type) {
            ("close", _) => Some(true),
            ("trip", _) => Some(false),
            (_, "pulse_on" | "latch_on") => Some(true),
            (_, "pulse_off" | "latch_off") => Some(false),
            _ => None,
        }
    }
}

/// File control object details (g70).  Passwords are never kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FileObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_key: Option<u32>,
    /// Operational mode of a file command: 0 null, 1 read, 2 write, 3 append.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_block_size: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_block: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_len: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_type: Option<u16>,
    /// File status code (g70v4 / g70v6): 0 success, 1 permission denied, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
}

/// One decoded point (object instance).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    pub group: u8,
    pub variation: u8,
    /// Point index (from the range or the index prefix; position for count ranges).
    pub index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u8>,
    /// Absolute time stamp of the object, milliseconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    /// Control status (CROB, analog output block, command events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crob: Option<Box<Crob>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Box<FileObject>>,
}

impl Point {
    /// A point with only its address filled in.
    pub fn new(group: u8, variation: u8, index: u32) -> Point {
        Point {
            group,
            variation,
            index,
            value: None,
            flags: None,
            time: None,
            status: None,
            crob: None,
            file: None,
        }
    }
}

/// Little-endian cursor over an object's octets; every read is bounds checked.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    /// The next `n` octets without consuming them.
    pub fn peek(&self, n: usize) -> Option<&'a [u8]> {
        self.buf.get(self.pos..self.pos.checked_add(n)?)
    }
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.arr().map(u16::from_le_bytes)
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.arr().map(u32::from_le_bytes)
    }
    /// 48-bit unsigned (DNP3 time).
    pub fn u48(&mut self) -> Option<u64> {
        let b: [u8; 6] = self.arr()?;
        let mut v = [0u8; 8];
        v.get_mut(..6)?.copy_from_slice(&b);
        Some(u64::from_le_bytes(v))
    }
    pub fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        s
    }
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    fn num(&mut self, n: Num) -> Option<Value> {
        Some(match n {
            Num::U16 => Value::Int(i64::from(self.u16()?)),
            Num::U32 => Value::Int(i64::from(self.u32()?)),
            Num::I16 => Value::Int(i64::from(i16::from_le_bytes(self.arr()?))),
            Num::I32 => Value::Int(i64::from(i32::from_le_bytes(self.arr()?))),
            Num::F32 => Value::Float(f64::from(f32::from_le_bytes(self.arr()?))),
            Num::F64 => Value::Float(f64::from_le_bytes(self.arr()?)),
        })
    }
}

/// Text from octets: lossy UTF-8, trailing NULs removed.
pub fn text(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |p| p.saturating_add(1));
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
}

/// Decode one object's octets (exactly the object, prefixes removed) into `p`.
/// Returns `None` when the octets are too short for the layout.
pub fn decode(kind: Kind, variation: u8, obj: &[u8], p: &mut Point) -> Option<()> {
    let mut r = Reader::new(obj);
    match kind {
        Kind::Skip | Kind::Bit | Kind::DoubleBit => {}
        Kind::BinaryFlags { abs_time, .. } => {
            let flags = r.u8()?;
            p.flags = Some(flags);
            p.value = Some(Value::Bool(flags & 0x80 != 0));
            if abs_time {
                p.time = Some(r.u48()?);
            }
        }
        Kind::DoubleBitFlags { abs_time, .. } => {
            let flags = r.u8()?;
            p.flags = Some(flags);
            p.value = Some(Value::Int(i64::from(flags >> 6)));
            if abs_time {
                p.time = Some(r.u48()?);
            }
        }
        Kind::BinaryCommandEvent { abs_time } => {
            let st = r.u8()?;
            p.value = Some(Value::Bool(st & 0x80 != 0));
            p.status = Some(st & 0x7F);
            if abs_time {
                p.time = Some(r.u48()?);
            }
        }
        Kind::Crob => {
            let code = r.u8()?;
            let count = r.u8()?;
            let on = r.u32()?;
            let off = r.u32()?;
            let status = r.u8()?;
            let crob = Crob {
                control_code: code,
                op_type: names::crob_op_name(code & 0x0F),
                tcc: names::crob_tcc_name(code >> 6),
                queue: code & 0x10 != 0,
                clear: code & 0x20 != 0,
                count,
                on_time_ms: on,
                off_time_ms: off,
            };
            p.value = crob.commanded_state().map(Value::Bool);
            p.status = Some(status & 0x7F);
            p.crob = Some(Box::new(crob));
        }
        Kind::Numeric {
            lead,
            num,
            abs_time,
            trailing_status,
        } => {
            match lead {
                Lead::None => {}
                Lead::Flags => p.flags = Some(r.u8()?),
                Lead::Status => p.status = Some(r.u8()?),
            }
            p.value = Some(r.num(num)?);
            if abs_time {
                p.time = Some(r.u48()?);
            }
            if trailing_status {
                p.status = Some(r.u8()?);
            }
        }
        Kind::Time => {
            let t = r.u48()?;
            p.value = Some(Value::Int(i64::try_from(t).unwrap_or(i64::MAX)));
            p.time = Some(t);
        }
        Kind::Delay { scale } => {
            p.value = Some(Value::Int(i64::from(r.u16()?).saturating_mul(scale)));
        }
        Kind::File => p.file = Some(Box::new(decode_file(variation, &mut r)?)),
        Kind::Attribute => p.value = decode_attribute(&mut r)?,
        Kind::Text => p.value = Some(Value::Text(text(r.rest()))),
    }
    Some(())
}

/// A string at `offset`/`size` inside a g70 object (offsets count from the object's
/// first octet).
fn sub_text(obj_start: &[u8], offset: u16, size: u16) -> Option<String> {
    let start = usize::from(offset);
    let end = start.checked_add(usize::from(size))?;
    obj_start.get(start..end).map(text)
}

fn decode_file(variation: u8, r: &mut Reader<'_>) -> Option<FileObject> {
    let whole = r.buf;
    let mut f = FileObject::default();
    match variation {
        2 => {
            let name_off = r.u16()?;
            let name_len = r.u16()?;
            let _pw_off = r.u16()?;
            let _pw_len = r.u16()?;
            f.auth_key = Some(r.u32()?);
            f.user_name = sub_text(whole, name_off, name_len);
        }
        3 => {
            let name_off = r.u16()?;
            let name_len = r.u16()?;
            f.created = Some(r.u48()?);
            f.permissions = Some(r.u16()?);
            f.auth_key = Some(r.u32()?);
            f.size = Some(r.u32()?);
            f.mode = Some(r.u16()?);
            f.max_block_size = Some(r.u16()?);
            f.request_id = Some(r.u16()?);
            f.name = sub_text(whole, name_off, name_len);
        }
        4 => {
            f.handle = Some(r.u32()?);
            f.size = Some(r.u32()?);
            f.max_block_size = Some(r.u16()?);
            f.request_id = Some(r.u16()?);
            f.status = Some(r.u8()?);
        }
        5 => {
            f.handle = Some(r.u32()?);
            let block = r.u32()?;
            f.block = Some(block & 0x7FFF_FFFF);
            f.last_block = Some(block & 0x8000_0000 != 0);
            f.data_len = Some(r.remaining());
        }
        6 => {
            f.handle = Some(r.u32()?);
            let block = r.u32()?;
            f.block = Some(block & 0x7FFF_FFFF);
            f.last_block = Some(block & 0x8000_0000 != 0);
            f.status = Some(r.u8()?);
        }
        7 => {
            let name_off = r.u16()?;
            let name_len = r.u16()?;
            f.file_type = Some(r.u16()?);
            f.size = Some(r.u32()?);
            f.created = Some(r.u48()?);
            f.permissions = Some(r.u16()?);
            f.request_id = Some(r.u16()?);
            f.name = sub_text(whole, name_off, name_len);
        }
        8 => f.name = Some(text(r.rest())),
        _ => {}
    }
    Some(f)
}

/// Unsigned little-endian integer of 1..=8 octets.
fn le_uint(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let mut v = [0u8; 8];
    v.get_mut(..b.len())?.copy_from_slice(b);
    Some(u64::from_le_bytes(v))
}

/// Value of a device attribute: data type code, length, value.
fn decode_attribute(r: &mut Reader<'_>) -> Option<Option<Value>> {
    let ty = r.u8()?;
    let len = r.u8()?;
    let b = r.take(usize::from(len))?;
    Some(match ty {
        // VSTR: visible string.
        1 => Some(Value::Text(text(b))),
        // UINT
        2 => le_uint(b).map(|u| match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(u as f64),
        }),
        // INT: sign-extend from the transmitted width.
        3 => le_uint(b).map(|u| {
            let shift = 64 - 8 * b.len() as u32;
            Value::Int(((u << shift) as i64) >> shift)
        }),
        // FLT: IEEE-754 single or double.
        4 => match b.len() {
            4 => b
                .try_into()
                .ok()
                .map(|a| Value::Float(f64::from(f32::from_le_bytes(a)))),
            8 => b
                .try_into()
                .ok()
                .map(|a| Value::Float(f64::from_le_bytes(a))),
            _ => None,
        },
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_common_objects() {
        assert_eq!(describe(12, 1).size, Some(Size::Fixed(11)));
        assert_eq!(describe(30, 1).size, Some(Size::Fixed(5)));
        assert_eq!(describe(30, 6).size, Some(Size::Fixed(9)));
        assert_eq!(describe(32, 8).size, Some(Size::Fixed(15)));
        assert_eq!(describe(21, 5).size, Some(Size::Fixed(11)));
        assert_eq!(describe(41, 2).size, Some(Size::Fixed(3)));
        assert_eq!(describe(43, 8).size, Some(Size::Fixed(15)));
        assert_eq!(describe(2, 2).size, Some(Size::Fixed(7)));
        assert_eq!(describe(1, 1).size, Some(Size::Packed(1)));
        assert_eq!(describe(3, 1).size, Some(Size::Packed(2)));
        assert_eq!(describe(1, 0).size, None);
        assert_eq!(describe(200, 1).size, None);
        assert_eq!(ObjectName::new(12, 1).to_string(), "g12v1 crob");
        assert_eq!(ObjectName::new(60, 2).to_string(), "g60v2 class 1 data");
        assert_eq!(ObjectName::new(1, 0).to_string(), "g1v0 binary input");
        assert_eq!(
            ObjectName::new(0, 252).to_string(),
            "g0v252 manufacturer_name"
        );
    }

    #[test]
    fn crob_decodes() {
        // dnp3-zeek-select-operate.pcap: latch on, count 1, on/off 100 ms, status 0.
        let obj = [0x03, 0x01, 0x64, 0, 0, 0, 0x64, 0, 0, 0, 0x00];
        let mut p = Point::new(12, 1, 1);
        decode(describe(12, 1).kind, 1, &obj, &mut p).unwrap();
        let c = p.crob.clone().unwrap();
        assert_eq!(c.op_type, "latch_on");
        assert_eq!(c.tcc, "nul");
        assert_eq!((c.count, c.on_time_ms, c.off_time_ms), (1, 100, 100));
        assert_eq!(p.value, Some(Value::Bool(true)));
        assert_eq!(p.status, Some(0));
        // Trip beats the operation type.
        let obj = [0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x04];
        decode(Kind::Crob, 1, &obj, &mut p).unwrap();
        assert_eq!(p.value, Some(Value::Bool(false)));
        assert_eq!(p.status, Some(4));
        assert!(decode(Kind::Crob, 1, &obj[..10], &mut p).is_none());
    }

    #[test]
    fn analog_values() {
        let mut p = Point::new(30, 1, 0);
        // flags 0x01, value -11989 (zeek read.pcap shows 18446744073709539627 unsigned)
        decode(
            describe(30, 1).kind,
            1,
            &[0x01, 0x2b, 0xd1, 0xff, 0xff],
            &mut p,
        )
        .unwrap();
        assert_eq!(p.value, Some(Value::Int(-11989)));
        assert_eq!(p.flags, Some(1));
        let mut p = Point::new(41, 3, 0);
        let mut obj = 12.5f32.to_le_bytes().to_vec();
        obj.push(0);
        decode(describe(41, 3).kind, 3, &obj, &mut p).unwrap();
        assert_eq!(p.value, Some(Value::Float(12.5)));
        assert_eq!(p.status, Some(0));
    }

    #[test]
    fn attributes() {
        let mut p = Point::new(0, 252, 0);
        decode(Kind::Attribute, 252, b"\x01\x05ACME\0", &mut p).unwrap();
        assert_eq!(p.value, Some(Value::Text("ACME".into())));
        decode(Kind::Attribute, 240, b"\x02\x02\x00\x08", &mut p).unwrap();
        assert_eq!(p.value, Some(Value::Int(2048)));
        decode(Kind::Attribute, 1, b"\x03\x01\xff", &mut p).unwrap();
        assert_eq!(p.value, Some(Value::Int(-1)));
        assert!(decode(Kind::Attribute, 1, b"\x01\x09abc", &mut p).is_none());
    }
}
