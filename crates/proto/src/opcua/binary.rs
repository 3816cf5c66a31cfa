//! OPC UA binary encoding (Part 6, 5.2): a bounded, zero-copy reader of built-in
//! types. Every read returns `None` past the end of the buffer; strings and arrays
//! are cut to bounds; nested structures (variants, diagnostic infos) have a depth
//! limit.
use std::fmt::Write as _;

/// Longest string kept (characters); longer ones are cut.
pub const MAX_STRING: usize = 256;
/// Array elements decoded per array.
pub const MAX_ARRAY: usize = 64;
/// Nesting depth of variants / diagnostic infos / extension objects.
const MAX_DEPTH: u8 = 4;

/// A NodeId (or the node part of an ExpandedNodeId).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeId {
    pub namespace: u16,
    pub id: Identifier,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identifier {
    Numeric(u32),
    String(String),
    Guid([u8; 16]),
    Opaque(String),
}

impl NodeId {
    /// The numeric identifier in namespace 0 (service and type ids).
    pub fn ns0_numeric(&self) -> Option<u32> {
        match self.id {
            Identifier::Numeric(n) if self.namespace == 0 => Some(n),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        self.namespace == 0 && self.id == Identifier::Numeric(0)
    }
}

impl std::fmt::Display for NodeId {
    /// The standard text form: `i=85`, `ns=2;s=Temperature`, `ns=1;g=...`, `ns=1;b=<hex>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace != 0 {
            write!(f, "ns={};", self.namespace)?;
        }
        match &self.id {
            Identifier::Numeric(n) => write!(f, "i={n}"),
            Identifier::String(s) => write!(f, "s={s}"),
            Identifier::Guid(g) => {
                let d1 = u32::from_le_bytes([g[0], g[1], g[2], g[3]]);
                let d2 = u16::from_le_bytes([g[4], g[5]]);
                let d3 = u16::from_le_bytes([g[6], g[7]]);
                write!(f, "g={d1:08x}-{d2:04x}-{d3:04x}-{:02x}{:02x}-", g[8], g[9])?;
                for b in &g[10..16] {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
            Identifier::Opaque(h) => write!(f, "b={h}"),
        }
    }
}

/// A decoded variant scalar (the first element of an array).
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    /// A value not rendered (type name).
    Other(&'static str),
}

impl Scalar {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Scalar::Number(n) => Some(*n),
            _ => None,
        }
    }
}

/// A decoded variant.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Built-in type id (1 Boolean ... 25 DiagnosticInfo).
    pub type_id: u8,
    /// Array length when the variant is an array.
    pub array_len: Option<i32>,
    /// The scalar value, or the first array elements.
    pub values: Vec<Scalar>,
}

/// Name of a built-in type id.
pub fn builtin_name(t: u8) -> &'static str {
    match t {
        0 => "Null",
        1 => "Boolean",
        2 => "SByte",
        3 => "Byte",
        4 => "Int16",
        5 => "UInt16",
        6 => "Int32",
        7 => "UInt32",
        8 => "Int64",
        9 => "UInt64",
        10 => "Float",
        11 => "Double",
        12 => "String",
        13 => "DateTime",
        14 => "Guid",
        15 => "ByteString",
        16 => "XmlElement",
        17 => "NodeId",
        18 => "ExpandedNodeId",
        19 => "StatusCode",
        20 => "QualifiedName",
        21 => "LocalizedText",
        22 => "ExtensionObject",
        23 => "DataValue",
        24 => "Variant",
        25 => "DiagnosticInfo",
        _ => "Unknown",
    }
}

/// Lowercase hex of at most `max` bytes (`...` appended when cut).
pub fn hex(b: &[u8], max: usize) -> String {
    let mut s = String::new();
    for x in b.iter().take(max) {
        let _ = write!(s, "{x:02x}");
    }
    if b.len() > max {
        s.push_str("...");
    }
    s
}

fn text(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_STRING)
        .collect()
}

/// A reader over one message body.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    pub b: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.b.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.bytes(1)?.first().copied()
    }

    pub fn bool(&mut self) -> Option<bool> {
        Some(self.u8()? != 0)
    }

    pub fn u16(&mut self) -> Option<u16> {
        let s = self.bytes(2)?;
        Some(u16::from_le_bytes(s.try_into().ok()?))
    }

    pub fn u32(&mut self) -> Option<u32> {
        let s = self.bytes(4)?;
        Some(u32::from_le_bytes(s.try_into().ok()?))
    }

    pub fn i32(&mut self) -> Option<i32> {
        let s = self.bytes(4)?;
        Some(i32::from_le_bytes(s.try_into().ok()?))
    }

    pub fn i64(&mut self) -> Option<i64> {
        let s = self.bytes(8)?;
        Some(i64::from_le_bytes(s.try_into().ok()?))
    }

    pub fn u64(&mut self) -> Option<u64> {
        let s = self.bytes(8)?;
        Some(u64::from_le_bytes(s.try_into().ok()?))
    }

    pub fn f32(&mut self) -> Option<f32> {
        let s = self.bytes(4)?;
        Some(f32::from_le_bytes(s.try_into().ok()?))
    }

    pub fn f64(&mut self) -> Option<f64> {
        let s = self.bytes(8)?;
        Some(f64::from_le_bytes(s.try_into().ok()?))
    }

    /// A ByteString: `None` past the end, `Some(None)` for a null one.
    pub fn byte_string(&mut self) -> Option<Option<&'a [u8]>> {
        let n = self.i32()?;
        if n < 0 {
            return Some(None);
        }
        Some(Some(self.bytes(usize::try_from(n).ok()?)?))
    }

    /// A String (UTF-8, cut to [`MAX_STRING`] characters); null is `Some(None)`.
    pub fn string(&mut self) -> Option<Option<String>> {
        Some(self.byte_string()?.map(text))
    }

    /// An array length (-1 null, 0 empty).
    pub fn array_len(&mut self) -> Option<i32> {
        self.i32()
    }

    /// An array length as an element count, `None` when `min_size`-byte elements
    /// cannot fit in what is left (so that loops are bounded by the input size).
    pub fn count(&mut self, min_size: usize) -> Option<usize> {
        let n = usize::try_from(self.array_len()?.max(0)).ok()?;
        if n.checked_mul(min_size.max(1))? > self.remaining() {
            return None;
        }
        Some(n)
    }

    /// A String array, at most [`MAX_ARRAY`] kept.
    pub fn strings(&mut self) -> Option<Vec<String>> {
        let n = self.count(4)?;
        let mut v = Vec::new();
        for _ in 0..n {
            let s = self.string()?;
            if v.len() < MAX_ARRAY {
                v.push(s.unwrap_or_default());
            }
        }
        Some(v)
    }

    pub fn node_id(&mut self) -> Option<NodeId> {
        let mask = self.u8()?;
        self.node_id_body(mask & 0x3F)
    }

    fn node_id_body(&mut self, enc: u8) -> Option<NodeId> {
        Some(match enc {
            0x00 => NodeId {
                namespace: 0,
                id: Identifier::Numeric(u32::from(self.u8()?)),
            },
            0x01 => {
                let ns = u16::from(self.u8()?);
                NodeId {
                    namespace: ns,
                    id: Identifier::Numeric(u32::from(self.u16()?)),
                }
            }
            0x02 => {
                let ns = self.u16()?;
                NodeId {
                    namespace: ns,
                    id: Identifier::Numeric(self.u32()?),
                }
            }
            0x03 => {
                let ns = self.u16()?;
                NodeId {
                    namespace: ns,
                    id: Identifier::String(self.string()?.unwrap_or_default()),
                }
            }
            0x04 => {
                let ns = self.u16()?;
                let g: [u8; 16] = self.bytes(16)?.try_into().ok()?;
                NodeId {
                    namespace: ns,
                    id: Identifier::Guid(g),
                }
            }
            0x05 => {
                let ns = self.u16()?;
                let b = self.byte_string()?.unwrap_or_default();
                NodeId {
                    namespace: ns,
                    id: Identifier::Opaque(hex(b, 32)),
                }
            }
            _ => return None,
        })
    }

    /// An ExpandedNodeId (namespace URI and server index skipped).
    pub fn expanded_node_id(&mut self) -> Option<NodeId> {
        let mask = self.u8()?;
        let n = self.node_id_body(mask & 0x3F)?;
        if mask & 0x80 != 0 {
            self.string()?;
        }
        if mask & 0x40 != 0 {
            self.u32()?;
        }
        Some(n)
    }

    /// QualifiedName: (namespace, name).
    pub fn qualified_name(&mut self) -> Option<(u16, String)> {
        let ns = self.u16()?;
        Some((ns, self.string()?.unwrap_or_default()))
    }

    /// LocalizedText: (locale, text).
    pub fn localized_text(&mut self) -> Option<(Option<String>, Option<String>)> {
        let mask = self.u8()?;
        let locale = if mask & 0x01 != 0 {
            self.string()?
        } else {
            None
        };
        let text = if mask & 0x02 != 0 {
            self.string()?
        } else {
            None
        };
        Some((locale, text))
    }

    /// ExtensionObject: (type id, body bytes when binary-encoded).
    pub fn extension_object(&mut self) -> Option<(NodeId, Option<&'a [u8]>)> {
        let ty = self.node_id()?;
        let enc = self.u8()?;
        let body = match enc {
            0 => None,
            1 | 2 => self.byte_string()?,
            _ => return None,
        };
        Some((ty, body))
    }

    /// DiagnosticInfo (skipped; returns whether it was non-empty).
    pub fn diagnostic_info(&mut self) -> Option<bool> {
        self.diag(0)
    }

    fn diag(&mut self, depth: u8) -> Option<bool> {
        let mask = self.u8()?;
        for bit in [0x01u8, 0x02, 0x04, 0x08] {
            if mask & bit != 0 {
                self.i32()?;
            }
        }
        if mask & 0x10 != 0 {
            self.string()?;
        }
        if mask & 0x20 != 0 {
            self.u32()?;
        }
        if mask & 0x40 != 0 {
            if depth >= MAX_DEPTH {
                return None;
            }
            self.diag(depth + 1)?;
        }
        Some(mask != 0)
    }

    /// DiagnosticInfo array (skipped).
    pub fn diagnostic_infos(&mut self) -> Option<()> {
        let n = self.count(1)?;
        for _ in 0..n {
            self.diagnostic_info()?;
        }
        Some(())
    }

    /// StatusCode array, at most [`MAX_ARRAY`] kept.
    pub fn status_codes(&mut self) -> Option<Vec<u32>> {
        let n = self.count(4)?;
        let mut v = Vec::new();
        for _ in 0..n {
            let s = self.u32()?;
            if v.len() < MAX_ARRAY {
                v.push(s);
            }
        }
        Some(v)
    }

    /// A scalar of built-in type `t`.
    fn scalar(&mut self, t: u8, depth: u8) -> Option<Scalar> {
        Some(match t {
            0 => Scalar::Null,
            1 => Scalar::Bool(self.bool()?),
            2 => Scalar::Number(f64::from(self.u8()? as i8)),
            3 => Scalar::Number(f64::from(self.u8()?)),
            4 => Scalar::Number(f64::from(self.u16()? as i16)),
            5 => Scalar::Number(f64::from(self.u16()?)),
            6 => Scalar::Number(f64::from(self.i32()?)),
            7 => Scalar::Number(f64::from(self.u32()?)),
            8 => Scalar::Number(self.i64()? as f64),
            9 => Scalar::Number(self.u64()? as f64),
            10 => Scalar::Number(f64::from(self.f32()?)),
            11 => Scalar::Number(self.f64()?),
            12 | 16 => Scalar::Text(self.string()?.unwrap_or_default()),
            13 => {
                self.i64()?;
                Scalar::Other("DateTime")
            }
            14 => {
                self.bytes(16)?;
                Scalar::Other("Guid")
            }
            15 => Scalar::Text(hex(self.byte_string()?.unwrap_or_default(), 32)),
            17 => Scalar::Text(self.node_id()?.to_string()),
            18 => Scalar::Text(self.expanded_node_id()?.to_string()),
            19 => Scalar::Number(f64::from(self.u32()?)),
            20 => Scalar::Text(self.qualified_name()?.1),
            21 => Scalar::Text(self.localized_text()?.1.unwrap_or_default()),
            22 => {
                self.extension_object()?;
                Scalar::Other("ExtensionObject")
            }
            23 => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.data_value_at(depth + 1)?;
                Scalar::Other("DataValue")
            }
            24 => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.variant_at(depth + 1)?;
                Scalar::Other("Variant")
            }
            25 => {
                self.diagnostic_info()?;
                Scalar::Other("DiagnosticInfo")
            }
            _ => return None,
        })
    }

    pub fn variant(&mut self) -> Option<Variant> {
        self.variant_at(0)
    }

    fn variant_at(&mut self, depth: u8) -> Option<Variant> {
        let mask = self.u8()?;
        let t = mask & 0x3F;
        let mut v = Variant {
            type_id: t,
            array_len: None,
            values: Vec::new(),
        };
        if mask & 0x80 != 0 {
            let save = self.pos;
            let n = self.array_len()?;
            self.pos = save;
            // Null elements take no bytes: nothing to walk.
            let count = if t == 0 {
                self.array_len()?;
                0
            } else {
                self.count(1)?
            };
            v.array_len = Some(n);
            for _ in 0..count {
                let s = self.scalar(t, depth)?;
                if v.values.len() < MAX_ARRAY {
                    v.values.push(s);
                }
            }
            if mask & 0x40 != 0 {
                let d = self.count(4)?;
                for _ in 0..d {
                    self.i32()?;
                }
            }
        } else if t != 0 {
            v.values.push(self.scalar(t, depth)?);
        }
        Some(v)
    }

    /// DataValue: (value, status code).
    pub fn data_value(&mut self) -> Option<(Option<Variant>, Option<u32>)> {
        self.data_value_at(0)
    }

    fn data_value_at(&mut self, depth: u8) -> Option<(Option<Variant>, Option<u32>)> {
        let mask = self.u8()?;
        let value = if mask & 0x01 != 0 {
            Some(self.variant_at(depth)?)
        } else {
            None
        };
        let status = if mask & 0x02 != 0 {
            Some(self.u32()?)
        } else {
            None
        };
        if mask & 0x04 != 0 {
            self.i64()?;
        }
        if mask & 0x10 != 0 {
            self.u16()?;
        }
        if mask & 0x08 != 0 {
            self.i64()?;
        }
        if mask & 0x20 != 0 {
            self.u16()?;
        }
        Some((value, status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids() {
        let mut r = Reader::new(&[0x01, 0x00, 0x77, 0x02]);
        assert_eq!(r.node_id().unwrap().ns0_numeric(), Some(631));
        let mut r = Reader::new(&[0x03, 0x02, 0x00, 0x04, 0, 0, 0, b'T', b'e', b'm', b'p']);
        assert_eq!(r.node_id().unwrap().to_string(), "ns=2;s=Temp");
        let mut r = Reader::new(&[0x00, 85]);
        assert_eq!(r.node_id().unwrap().to_string(), "i=85");
        let mut r = Reader::new(&[0x02, 0x01, 0x00]);
        assert!(r.node_id().is_none());
    }

    #[test]
    fn variants_and_values() {
        // Double 42.5
        let mut b = vec![0x0B];
        b.extend_from_slice(&42.5f64.to_le_bytes());
        let v = Reader::new(&b).variant().unwrap();
        assert_eq!(v.values, vec![Scalar::Number(42.5)]);
        // Int32 array [1, -2]
        let mut b = vec![0x86, 2, 0, 0, 0];
        b.extend_from_slice(&1i32.to_le_bytes());
        b.extend_from_slice(&(-2i32).to_le_bytes());
        let v = Reader::new(&b).variant().unwrap();
        assert_eq!(v.array_len, Some(2));
        assert_eq!(v.values, vec![Scalar::Number(1.0), Scalar::Number(-2.0)]);
        // huge array length on a short buffer
        assert!(Reader::new(&[0x86, 0xff, 0xff, 0xff, 0x7f])
            .variant()
            .is_none());
        // deeply nested variants stop
        let deep = vec![0x18u8; 64];
        assert!(Reader::new(&deep).variant().is_none());
        // DataValue with value and status
        let mut b = vec![0x03, 0x01, 0x01];
        b.extend_from_slice(&0x8034_0000u32.to_le_bytes());
        let (v, s) = Reader::new(&b).data_value().unwrap();
        assert_eq!(v.unwrap().values, vec![Scalar::Bool(true)]);
        assert_eq!(s, Some(0x8034_0000));
    }
}
