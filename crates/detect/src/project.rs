//! A record's JSON cut down to the paths the rules read. Rules test a few fields of a
//! record (`cip.service`, `function`, ...); building the whole record as a
//! `serde_json::Value` for that (every IEC 104 object, every CIP path segment, each in
//! a map) was half of the detector's time on the benchmark capture. [`PathTree::project`]
//! runs the record's `Serialize` and keeps only the keys on those paths: at any of them,
//! [`crate::fields::leaves`] finds the same values as in the whole JSON.

use hashbrown::HashMap;
use serde::ser::{self, Serialize};
use serde_json::{Map, Value};

/// The record paths some rule reads, as a tree of keys.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PathTree {
    /// A path ends here: the whole value below is kept.
    whole: bool,
    children: HashMap<String, PathTree>,
}

type Full = serde_json::value::Serializer;

impl PathTree {
    /// Adds a dotted path split into keys (arrays on the way need no key).
    pub fn add(&mut self, path: &[String]) {
        let mut node = self;
        for k in path {
            node = node.children.entry(k.clone()).or_default();
        }
        node.whole = true;
    }

    /// No path at all.
    pub fn is_empty(&self) -> bool {
        !self.whole && self.children.is_empty()
    }

    /// The JSON of `value` with only what lies on the paths (`Null` when nothing does).
    pub fn project<T: Serialize + ?Sized>(&self, value: &T) -> Value {
        self.below(value).ok().flatten().unwrap_or(Value::Null)
    }

    /// The subtree under `key`, if a path goes through it.
    fn child(&self, key: &str) -> Option<&PathTree> {
        self.children.get(key)
    }

    /// `value` under this node: whole, or projected further.
    fn below<T: Serialize + ?Sized>(&self, value: &T) -> Result<Option<Value>, serde_json::Error> {
        if self.whole {
            value.serialize(Full {}).map(Some)
        } else {
            value.serialize(Project(self))
        }
    }

    /// A value built whole (an enum variant with data), cut down to this node.
    fn prune(&self, v: Value) -> Option<Value> {
        if self.whole {
            return Some(v);
        }
        match v {
            Value::Array(items) => {
                let kept: Vec<Value> = items.into_iter().filter_map(|x| self.prune(x)).collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            Value::Object(m) => {
                let kept: Map<String, Value> = m
                    .into_iter()
                    .filter_map(|(k, x)| {
                        let c = self.child(&k)?;
                        Some((k, c.prune(x)?))
                    })
                    .collect();
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            _ => None,
        }
    }
}

/// Serializes into the projection at one node (never a `whole` one). `None`: nothing of
/// the value lies on a path (a scalar where a path goes on, or keys no path names).
struct Project<'t>(&'t PathTree);

/// Sequences: arrays are searched element by element, so elements keep the same node.
struct Seq<'t> {
    node: &'t PathTree,
    items: Vec<Value>,
}

/// Maps and structs: only keys with a subtree are kept.
struct Obj<'t> {
    node: &'t PathTree,
    out: Map<String, Value>,
    /// The subtree of the key just given to `serialize_key`.
    pending: Option<(String, &'t PathTree)>,
}

/// Tuple and struct variants are built whole, then cut down (rare in records).
struct Variant<'t, C> {
    node: &'t PathTree,
    inner: C,
}

impl<'t> Obj<'t> {
    fn new(node: &'t PathTree) -> Self {
        Obj {
            node,
            out: Map::new(),
            pending: None,
        }
    }

    fn put<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        if let Some(c) = self.node.child(key) {
            if let Some(v) = c.below(value)? {
                self.out.insert(key.to_owned(), v);
            }
        }
        Ok(())
    }

    fn finish(self) -> Option<Value> {
        (!self.out.is_empty()).then_some(Value::Object(self.out))
    }
}

macro_rules! nothing {
    ($($f:ident($t:ty)),* $(,)?) => {
        $(fn $f(self, _: $t) -> Result<Self::Ok, Self::Error> { Ok(None) })*
    };
}

impl<'t> ser::Serializer for Project<'t> {
    type Ok = Option<Value>;
    type Error = serde_json::Error;
    type SerializeSeq = Seq<'t>;
    type SerializeTuple = Seq<'t>;
    type SerializeTupleStruct = Seq<'t>;
    type SerializeTupleVariant = Variant<'t, <Full as ser::Serializer>::SerializeTupleVariant>;
    type SerializeMap = Obj<'t>;
    type SerializeStruct = Obj<'t>;
    type SerializeStructVariant = Variant<'t, <Full as ser::Serializer>::SerializeStructVariant>;

    nothing!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_none(self) -> Result<Self::Ok, Self::Error> {
        Ok(None)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, Self::Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Self::Ok, Self::Error> {
        Ok(None)
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Self::Ok, Self::Error> {
        Ok(None)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Self::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Self::Error> {
        // `{"Variant": value}`, as serde_json writes it.
        let mut o = Obj::new(self.0);
        o.put(variant, value)?;
        Ok(o.finish())
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Ok(Seq {
            node: self.0,
            items: Vec::with_capacity(len.unwrap_or(0).min(16)),
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Self::Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Ok(Variant {
            node: self.0,
            inner: ser::Serializer::serialize_tuple_variant(Full {}, name, index, variant, len)?,
        })
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Ok(Obj::new(self.0))
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        Ok(Obj::new(self.0))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Ok(Variant {
            node: self.0,
            inner: ser::Serializer::serialize_struct_variant(Full {}, name, index, variant, len)?,
        })
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = Option<Value>;
    type Error = serde_json::Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        if let Some(v) = value.serialize(Project(self.node))? {
            self.items.push(v);
        }
        Ok(())
    }

    fn end(self) -> Result<Self::Ok, Self::Error> {
        Ok((!self.items.is_empty()).then_some(Value::Array(self.items)))
    }
}

/// Tuples and tuple structs are sequences too.
macro_rules! as_seq {
    ($($tr:ident :: $f:ident),*) => {$(
        impl ser::$tr for Seq<'_> {
            type Ok = Option<Value>;
            type Error = serde_json::Error;

            fn $f<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
                ser::SerializeSeq::serialize_element(self, value)
            }

            fn end(self) -> Result<Self::Ok, Self::Error> {
                ser::SerializeSeq::end(self)
            }
        }
    )*};
}

as_seq!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

impl ser::SerializeMap for Obj<'_> {
    type Ok = Option<Value>;
    type Error = serde_json::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Self::Error> {
        // serde_json's own rules for map keys (strings, numbers, chars, bools).
        self.pending = match key.serialize(Full {})? {
            Value::String(s) => self.node.child(&s).map(|c| (s, c)),
            Value::Number(n) => {
                let s = n.to_string();
                self.node.child(&s).map(|c| (s, c))
            }
            Value::Bool(b) => {
                let s = b.to_string();
                self.node.child(&s).map(|c| (s, c))
            }
            _ => None,
        };
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        if let Some((k, c)) = self.pending.take() {
            if let Some(v) = c.below(value)? {
                self.out.insert(k, v);
            }
        }
        Ok(())
    }

    fn end(self) -> Result<Self::Ok, Self::Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for Obj<'_> {
    type Ok = Option<Value>;
    type Error = serde_json::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.put(key, value)
    }

    fn end(self) -> Result<Self::Ok, Self::Error> {
        Ok(self.finish())
    }
}

impl<C> ser::SerializeTupleVariant for Variant<'_, C>
where
    C: ser::SerializeTupleVariant<Ok = Value, Error = serde_json::Error>,
{
    type Ok = Option<Value>;
    type Error = serde_json::Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.inner.serialize_field(value)
    }

    fn end(self) -> Result<Self::Ok, Self::Error> {
        Ok(self.node.prune(self.inner.end()?))
    }
}

impl<C> ser::SerializeStructVariant for Variant<'_, C>
where
    C: ser::SerializeStructVariant<Ok = Value, Error = serde_json::Error>,
{
    type Ok = Option<Value>;
    type Error = serde_json::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.inner.serialize_field(key, value)
    }

    fn end(self) -> Result<Self::Ok, Self::Error> {
        Ok(self.node.prune(self.inner.end()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::leaves;
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn path(s: &str) -> Vec<String> {
        s.split('.').map(str::to_string).collect()
    }

    fn found(v: &Value, p: &[String]) -> Vec<Value> {
        let mut out = Vec::new();
        leaves(v, p, &mut out);
        out.into_iter().cloned().collect()
    }

    #[test]
    fn only_the_keys_on_the_paths_are_kept() {
        let v = json!({
            "cip": {"service": 5, "service_name": "reset", "path": [{"class": 1}, {"class": 2}]},
            "objects": [{"ioa": 1, "value": 0.5}, {"ioa": 2, "value": 1.5}, 7],
            "function": "write",
            "unit_id": 3,
        });
        let mut t = PathTree::default();
        t.add(&path("cip.service"));
        t.add(&path("objects.value"));
        assert_eq!(
            t.project(&v),
            json!({"cip": {"service": 5}, "objects": [{"value": 0.5}, {"value": 1.5}]})
        );
        // A path that ends on an object keeps all of it.
        let mut t = PathTree::default();
        t.add(&path("cip"));
        assert_eq!(t.project(&v), json!({"cip": v["cip"].clone()}));
        // Nothing on the paths, or no paths: nothing.
        let mut t = PathTree::default();
        t.add(&path("user"));
        assert_eq!(t.project(&v), Value::Null);
        assert!(PathTree::default().is_empty());
        assert_eq!(PathTree::default().project(&v), Value::Null);
        // The empty path is the whole record.
        let mut t = PathTree::default();
        t.add(&[]);
        assert_eq!(t.project(&v), v);
    }

    #[test]
    fn enum_variants_and_map_keys_as_serde_json_writes_them() {
        #[derive(serde::Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, u8),
            Struct { a: u8, b: u8 },
        }
        #[derive(serde::Serialize)]
        struct R {
            e: Vec<E>,
            m: BTreeMap<u16, &'static str>,
            flag: BTreeMap<bool, u8>,
        }
        let r = R {
            e: vec![E::Unit, E::New(1), E::Tuple(2, 3), E::Struct { a: 4, b: 5 }],
            m: BTreeMap::from([(7, "seven"), (8, "eight")]),
            flag: BTreeMap::from([(true, 1)]),
        };
        let whole = serde_json::to_value(&r).unwrap();
        let paths = [
            "e",
            "e.New",
            "e.Tuple",
            "e.Struct.a",
            "e.Unit",
            "m.7",
            "flag.true",
        ];
        for p in paths {
            let mut t = PathTree::default();
            t.add(&path(p));
            let cut = t.project(&r);
            assert_eq!(found(&cut, &path(p)), found(&whole, &path(p)), "{p}");
            // (A unit variant is a string, not a key: nothing under "e.Unit".)
            assert_eq!(found(&cut, &path(p)).is_empty(), p == "e.Unit", "{p}");
        }
        let mut t = PathTree::default();
        t.add(&path("e.Struct.a"));
        assert_eq!(t.project(&r), json!({"e": [{"Struct": {"a": 4}}]}));
    }

    fn value() -> impl Strategy<Value = Value> {
        let key = prop::sample::select(vec!["a", "b", "c", "7"]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            "[a-c]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(key.clone(), inner, 0..5).prop_map(|m| {
                    Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
    }

    fn paths() -> impl Strategy<Value = Vec<Vec<String>>> {
        let key = prop::sample::select(vec!["a", "b", "c", "7"]).prop_map(str::to_string);
        prop::collection::vec(prop::collection::vec(key, 0..4), 1..4)
    }

    proptest! {
        /// At every path of the tree the projection holds what the whole JSON holds.
        #[test]
        fn leaves_at_every_path_are_those_of_the_whole(v in value(), ps in paths()) {
            let mut t = PathTree::default();
            for p in &ps {
                t.add(p);
            }
            let cut = t.project(&v);
            for p in &ps {
                prop_assert_eq!(found(&cut, p), found(&v, p), "path {:?}", p);
            }
        }
    }
}
