//! A `serde` serializer that writes a protocol record as compact JSON straight into a
//! byte buffer, byte-identical to `serde_json::to_writer`: strings that need no escape
//! (nearly all: field names, function names, addresses) are found in one pass the
//! compiler vectorises and copied whole (`json::push_str`), where serde_json looks
//! every byte up in its escape table and writes each run through `io::Write`. What it
//! does not write exactly as serde_json does (128-bit integers, map keys other than
//! strings, integers and unit variants) is refused with [`Unsupported`], and the caller
//! writes that record with serde_json instead. Floats are written by serde_json itself.
//! The engine fuzz target checks every event it makes against serde_json.
use crate::json::push_str;
use serde::ser::{self, Serialize};

/// A record this writer leaves to serde_json (or a record's own serialisation error).
#[derive(Debug)]
pub(crate) struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("left to serde_json")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        Unsupported
    }
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

/// Appends the JSON of `v` to `out`; on `Err` `out` holds a partial value, which the
/// caller truncates.
pub(crate) fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result {
    v.serialize(Json(out))
}

struct Json<'a>(&'a mut Vec<u8>);

/// Integer methods that widen their value and hand it to `$via`.
macro_rules! ints {
    ($via:ident: $($method:ident($t:ty)),*) => {$(
        fn $method(self, v: $t) -> Result {
            self.$via(v.into())
        }
    )*};
}

/// `{"variant":[` or `{"variant":{` opening a tuple or struct variant.
macro_rules! variant_opener {
    ($method:ident, $open:literal, $close:literal) => {
        fn $method(
            self,
            _name: &'static str,
            _i: u32,
            variant: &'static str,
            _len: usize,
        ) -> Result<Compound<'a>> {
            Ok(self.variant(variant, $open, $close))
        }
    };
}

/// An array or object being written; `close` ends it (`]`, `}`, and for enum variants
/// the object around them as well).
pub(crate) struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    close: &'static [u8],
}

impl Compound<'_> {
    #[inline]
    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result {
        self.comma();
        push_str(self.out, key);
        self.out.push(b':');
        value.serialize(Json(self.out))
    }

    #[inline]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.comma();
        value.serialize(Json(self.out))
    }

    #[inline]
    fn finish(self) -> Result {
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl<'a> Json<'a> {
    fn open(self, open: &[u8], close: &'static [u8]) -> Compound<'a> {
        self.0.extend_from_slice(open);
        Compound {
            out: self.0,
            first: true,
            close,
        }
    }

    /// `{"variant":` before the value of an enum variant.
    fn variant(self, variant: &str, open: &[u8], close: &'static [u8]) -> Compound<'a> {
        self.0.push(b'{');
        push_str(self.0, variant);
        self.0.push(b':');
        self.open(open, close)
    }

    fn int(self, v: i64) -> Result {
        if v < 0 {
            self.0.push(b'-');
        }
        crate::json::push_u64(self.0, v.unsigned_abs());
        Ok(())
    }

    fn float<F: Serialize>(self, v: F) -> Result {
        serde_json::to_writer(&mut *self.0, &v).map_err(|_| Unsupported)
    }
}

impl<'a> ser::Serializer for Json<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result {
        self.0.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    ints!(int: serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64));
    fn serialize_i128(self, _v: i128) -> Result {
        Err(Unsupported)
    }
    ints!(serialize_u64: serialize_u8(u8), serialize_u16(u16), serialize_u32(u32));
    fn serialize_u64(self, v: u64) -> Result {
        crate::json::push_u64(self.0, v);
        Ok(())
    }
    fn serialize_u128(self, _v: u128) -> Result {
        Err(Unsupported)
    }
    fn serialize_f32(self, v: f32) -> Result {
        self.float(v)
    }
    fn serialize_f64(self, v: f64) -> Result {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result {
        push_str(self.0, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result {
        push_str(self.0, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result {
        let mut seq = self.open(b"[", b"]");
        for b in v {
            seq.comma();
            crate::json::push_u64(seq.out, u64::from(*b));
        }
        seq.finish()
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.0.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _i: u32, variant: &'static str) -> Result {
        push_str(self.0, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, v: &T) -> Result {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        v: &T,
    ) -> Result {
        let mut obj = self.open(b"{", b"}");
        obj.field(variant, v)?;
        obj.finish()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>> {
        Ok(self.open(b"[", b"]"))
    }
    variant_opener!(serialize_tuple_variant, b"[", b"]}");
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>> {
        Ok(self.open(b"{", b"}"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>> {
        Ok(self.open(b"{", b"}"))
    }
    variant_opener!(serialize_struct_variant, b"{", b"}}");
}

/// Sequences, tuples and the tuple forms share one writer.
macro_rules! elements {
    ($($tr:ident :: $method:ident),*) => {$(
        impl ser::$tr for Compound<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
                self.element(v)
            }
            fn end(self) -> Result {
                self.finish()
            }
        }
    )*};
}
elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Structs and struct variants share one writer.
macro_rules! fields {
    ($($tr:ident),*) => {$(
        impl ser::$tr for Compound<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result {
                self.field(key, v)
            }
            fn end(self) -> Result {
                self.finish()
            }
        }
    )*};
}
fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.comma();
        key.serialize(Key(self.out))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
        self.out.push(b':');
        v.serialize(Json(self.out))
    }
    fn end(self) -> Result {
        self.finish()
    }
}

/// A map key: a string as it is, an integer or a unit variant quoted (as serde_json
/// writes them); anything else is left to serde_json.
struct Key<'a>(&'a mut Vec<u8>);

impl Key<'_> {
    fn quoted(self, v: i128) -> Result {
        self.0.push(b'"');
        if v < 0 {
            self.0.push(b'-');
        }
        crate::json::push_u64(
            self.0,
            u64::try_from(v.unsigned_abs()).map_err(|_| Unsupported)?,
        );
        self.0.push(b'"');
        Ok(())
    }
}

/// Key kinds serde_json writes otherwise than this writer would, or refuses.
macro_rules! refused {
    ($($method:ident($($t:ty),*)),*) => {$(
        fn $method(self, $(_: $t),*) -> Result {
            Err(Unsupported)
        }
    )*};
}

impl ser::Serializer for Key<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result {
        push_str(self.0, v);
        Ok(())
    }
    fn serialize_unit_variant(self, _name: &'static str, _i: u32, variant: &'static str) -> Result {
        push_str(self.0, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, v: &T) -> Result {
        v.serialize(self)
    }
    ints!(quoted: serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64));
    refused!(
        serialize_bool(bool),
        serialize_i128(i128),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str)
    );
    fn serialize_some<T: Serialize + ?Sized>(self, _v: &T) -> Result {
        Err(Unsupported)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result {
        Err(Unsupported)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Unsupported)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    /// Ours, falling back to serde_json where ours refuses (as the event writer does).
    fn ours<T: Serialize>(v: &T) -> String {
        let mut out = Vec::new();
        if write(&mut out, v).is_err() {
            out.clear();
            serde_json::to_writer(&mut out, v).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    fn refused<T: Serialize>(v: &T) -> bool {
        write(&mut Vec::new(), v).is_err()
    }

    #[derive(Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(i32, String),
        Struct { a: Option<u16>, b: Vec<bool> },
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Wrap(u32);

    #[derive(Serialize)]
    struct Pair(i8, char);

    #[derive(Serialize)]
    struct Rec<'a> {
        #[serde(rename = "function")]
        f: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        none: Option<u8>,
        unit: (),
        unit_struct: Unit,
        wrap: Wrap,
        pair: Pair,
        #[serde(with = "serde_bytes_like")]
        bytes: Vec<u8>,
        floats: Vec<f64>,
        f32: f32,
        variants: Vec<E>,
        by_name: BTreeMap<String, i64>,
        by_number: BTreeMap<u16, &'a str>,
        by_signed: BTreeMap<i64, u8>,
        empty_seq: Vec<u8>,
        empty_map: BTreeMap<String, u8>,
        tuple: (u64, i64, &'a str),
    }

    /// `serialize_bytes` (what `serde_bytes` calls), without the crate.
    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn every_shape_a_record_takes_writes_as_serde_json_does() {
        let r = Rec {
            f: "read \"holding\" \\ registers\n\u{1}é漢🦀",
            skipped: None,
            none: None,
            unit: (),
            unit_struct: Unit,
            wrap: Wrap(7),
            pair: Pair(-128, '"'),
            bytes: vec![0, 1, 255],
            floats: vec![0.0, -0.0, 1.5, 1e21, 1e-7, f64::NAN, f64::INFINITY, 3.0],
            f32: 0.1,
            variants: vec![
                E::Unit,
                E::New(3),
                E::Tuple(-1, "t".into()),
                E::Struct {
                    a: Some(65535),
                    b: vec![true, false],
                },
                E::Struct { a: None, b: vec![] },
            ],
            by_name: [("a\"b".to_string(), i64::MIN), ("".into(), i64::MAX)]
                .into_iter()
                .collect(),
            by_number: [(0, "zero"), (65535, "max")].into_iter().collect(),
            by_signed: [(-5, 1), (5, 2)].into_iter().collect(),
            empty_seq: vec![],
            empty_map: BTreeMap::new(),
            tuple: (u64::MAX, i64::MIN, ""),
        };
        assert!(!refused(&r), "a record of these shapes is written by ours");
        assert_eq!(ours(&r), serde_json::to_string(&r).unwrap());
    }

    #[test]
    fn what_serde_json_writes_otherwise_is_refused() {
        assert!(refused(&u128::MAX));
        assert!(refused(
            &[(true, 1u8)].into_iter().collect::<BTreeMap<_, _>>()
        ));
        assert!(refused(
            &[((1u8, 2u8), 1u8)].into_iter().collect::<BTreeMap<_, _>>()
        ));
        // And the fallback gives serde_json's output (or its error) for them.
        assert_eq!(ours(&u128::MAX), serde_json::to_string(&u128::MAX).unwrap());
    }

    proptest! {
        /// Any string, any map of strings to numbers and lists: byte for byte serde_json.
        #[test]
        fn strings_and_nested_values_as_serde_json(
            s in any::<String>(),
            m in proptest::collection::btree_map(any::<String>(), proptest::collection::vec(any::<i64>(), 0..4), 0..6),
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
            prop_assert_eq!(ours(&m), serde_json::to_string(&m).unwrap());
            let text = String::from_utf8_lossy(&bytes).into_owned();
            prop_assert_eq!(ours(&text), serde_json::to_string(&text).unwrap());
        }
    }
}
