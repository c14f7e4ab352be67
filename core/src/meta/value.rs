//! Typed metadata values: what a tag holds ([`TagValue`]) and what a collector records
//! ([`Value`]), compared by value so that a query for `300` finds the integer 300 and not the
//! text `"300"`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// The value of a tag: an integer, a float, a boolean or text, kept with its type.
///
/// `tags!(temperature = 300)` stores the integer 300; `.tag("temperature", 300)` finds it,
/// `.tag("temperature", "300")` does not. Numbers compare by value whatever their type
/// (`300` equals `300.0`). Records written before tags were typed hold text tags; they read
/// as [`TagValue::Text`]. [`Display`](fmt::Display) gives the text a table cell or the
/// browser's `tag:key=value` filter sees.
#[derive(Clone)]
pub enum TagValue {
    /// An integer (any width up to 64 bits; a `u64` above `i64::MAX` is stored as a float).
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Text.
    Text(String),
}

impl TagValue {
    /// The text, if this is a text tag.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            TagValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a general metadata [`Value`].
    pub fn to_value(&self) -> Value {
        match self {
            TagValue::Int(i) => Value::Int(*i),
            TagValue::Float(f) => Value::Float(*f),
            TagValue::Bool(b) => Value::Bool(*b),
            TagValue::Text(s) => Value::Text(s.clone()),
        }
    }
}

/// Equal by value: numbers by their numeric value (`Int(300) == Float(300.0)`), text and
/// booleans only with their own kind.
impl PartialEq for TagValue {
    fn eq(&self, other: &TagValue) -> bool {
        scalar_eq(self.as_scalar(), other.as_scalar())
    }
}

impl PartialEq<str> for TagValue {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for TagValue {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<String> for TagValue {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == Some(other.as_str())
    }
}

/// As a literal: `300`, `0.5`, `true`, `"text"` (so a map of tags prints as before tags were
/// typed when they are text).
impl fmt::Debug for TagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagValue::Int(i) => write!(f, "{i}"),
            TagValue::Float(x) => write!(f, "{x:?}"),
            TagValue::Bool(b) => write!(f, "{b}"),
            TagValue::Text(s) => write!(f, "{s:?}"),
        }
    }
}

impl fmt::Display for TagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagValue::Int(i) => write!(f, "{i}"),
            TagValue::Float(x) => write!(f, "{x}"),
            TagValue::Bool(b) => write!(f, "{b}"),
            TagValue::Text(s) => f.write_str(s),
        }
    }
}

macro_rules! tag_from {
    ($variant:ident: $($t:ty),*) => {
        $(impl From<$t> for TagValue {
            fn from(v: $t) -> TagValue {
                TagValue::$variant(v.into())
            }
        })*
    };
}
tag_from!(Int: i8, i16, i32, i64, u8, u16, u32);
tag_from!(Float: f32, f64);
tag_from!(Bool: bool);
tag_from!(Text: String, &str, &String, char);

impl From<u64> for TagValue {
    fn from(v: u64) -> TagValue {
        i64::try_from(v).map_or(TagValue::Float(v as f64), TagValue::Int)
    }
}

impl From<usize> for TagValue {
    fn from(v: usize) -> TagValue {
        TagValue::from(v as u64)
    }
}

impl From<isize> for TagValue {
    fn from(v: isize) -> TagValue {
        TagValue::Int(v as i64)
    }
}

impl From<&TagValue> for TagValue {
    fn from(v: &TagValue) -> TagValue {
        v.clone()
    }
}

impl Serialize for TagValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TagValue::Int(i) => s.serialize_i64(*i),
            TagValue::Float(f) => s.serialize_f64(*f),
            TagValue::Bool(b) => s.serialize_bool(*b),
            TagValue::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for TagValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TagValue, D::Error> {
        Ok(match TagRef::deserialize(d)? {
            TagRef::Int(i) => TagValue::Int(i),
            TagRef::Float(f) => TagValue::Float(f),
            TagRef::Bool(b) => TagValue::Bool(b),
            TagRef::Text(t) => TagValue::Text(t.into_owned()),
        })
    }
}

/// A tag value read in place: text borrowed from the stored record when it can be.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TagRef<'a> {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(std::borrow::Cow<'a, str>),
}

impl TagRef<'_> {
    pub(crate) fn to_owned_value(&self) -> TagValue {
        match self {
            TagRef::Int(i) => TagValue::Int(*i),
            TagRef::Float(f) => TagValue::Float(*f),
            TagRef::Bool(b) => TagValue::Bool(*b),
            TagRef::Text(t) => TagValue::Text(t.to_string()),
        }
    }

    pub(crate) fn matches(&self, v: &TagValue) -> bool {
        scalar_eq(self.as_scalar(), v.as_scalar())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for TagRef<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TagRef<'a>, D::Error> {
        struct Scalar;
        impl<'de> Visitor<'de> for Scalar {
            type Value = TagRef<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tag value (text, an integer, a float or a boolean)")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(TagRef::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(TagRef::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(v).map_or(TagRef::Float(v as f64), TagRef::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(TagRef::Float(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TagRef::Text(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TagRef::Text(v.to_owned().into()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(TagRef::Text(v.into()))
            }
        }
        d.deserialize_any(Scalar)
    }
}

/// A scalar seen the same way from a tag, a tag read in place or a general value.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(&'a str),
    Other,
}

trait AsScalar {
    fn as_scalar(&self) -> Scalar<'_>;
}

impl AsScalar for TagValue {
    fn as_scalar(&self) -> Scalar<'_> {
        match self {
            TagValue::Int(i) => Scalar::Int(*i),
            TagValue::Float(f) => Scalar::Float(*f),
            TagValue::Bool(b) => Scalar::Bool(*b),
            TagValue::Text(t) => Scalar::Text(t),
        }
    }
}

impl AsScalar for TagRef<'_> {
    fn as_scalar(&self) -> Scalar<'_> {
        match self {
            TagRef::Int(i) => Scalar::Int(*i),
            TagRef::Float(f) => Scalar::Float(*f),
            TagRef::Bool(b) => Scalar::Bool(*b),
            TagRef::Text(t) => Scalar::Text(t),
        }
    }
}

impl AsScalar for Value {
    fn as_scalar(&self) -> Scalar<'_> {
        match self {
            Value::Int(i) => Scalar::Int(*i),
            Value::Float(f) => Scalar::Float(*f),
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Text(t) => Scalar::Text(t),
            _ => Scalar::Other,
        }
    }
}

/// Numbers by value (an integer and a float are equal when the float is that integer),
/// other scalars only with their own kind. `Other` (lists, maps, null) is never equal here.
fn scalar_eq(a: Scalar<'_>, b: Scalar<'_>) -> bool {
    match (a, b) {
        (Scalar::Int(x), Scalar::Int(y)) => x == y,
        (Scalar::Float(x), Scalar::Float(y)) => x == y,
        (Scalar::Int(i), Scalar::Float(f)) | (Scalar::Float(f), Scalar::Int(i)) => {
            f.fract() == 0.0 && f == i as f64 && (f as i64) == i
        }
        (Scalar::Bool(x), Scalar::Bool(y)) => x == y,
        (Scalar::Text(x), Scalar::Text(y)) => x == y,
        _ => false,
    }
}

/// A metadata value as a collector records it: the serde data model without Rust types,
/// like JSON, so that queries, tables and the browser can read it without the collector's
/// types.
///
/// Integers are kept up to 64 bits (a `u64` above `i64::MAX` becomes a float), byte strings
/// become lists of integers, map keys become text. Equality is by value, numbers compared
/// numerically (see [`TagValue`]).
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// `None`, `()` or a unit struct.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text.
    Text(String),
    /// A sequence, tuple or byte string.
    List(Vec<Value>),
    /// A map or struct, by key.
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// Entry `key` of a map value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(key),
            _ => None,
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The same value as a tag, if it is a scalar a tag can hold.
    pub fn to_tag(&self) -> Option<TagValue> {
        Some(match self {
            Value::Int(i) => TagValue::Int(*i),
            Value::Float(f) => TagValue::Float(*f),
            Value::Bool(b) => TagValue::Bool(*b),
            Value::Text(t) => TagValue::Text(t.clone()),
            _ => return None,
        })
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (a, b) => scalar_eq(a.as_scalar(), b.as_scalar()),
        }
    }
}

/// Compact text: scalars as themselves, lists as `[a, b]`, maps as `{k: v}`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl From<TagValue> for Value {
    fn from(v: TagValue) -> Value {
        v.to_value()
    }
}

macro_rules! value_from_tag {
    ($($t:ty),*) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value {
                TagValue::from(v).to_value()
            }
        })*
    };
}
value_from_tag!(
    i8, i16, i32, i64, u8, u16, u32, u64, usize, isize, f32, f64, bool, String, &str, char
);

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Text(t) => s.serialize_str(t),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metadata value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::Text(v))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
                Ok(Value::List(
                    v.iter().map(|b| Value::Int((*b).into())).collect(),
                ))
            }
            fn visit_none<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(v) = seq.next_element()? {
                    items.push(v);
                }
                Ok(Value::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<Value, Value>()? {
                    let key = match k {
                        Value::Text(s) => s,
                        other => other.to_string(),
                    };
                    out.insert(key, v);
                }
                Ok(Value::Map(out))
            }
        }
        d.deserialize_any(Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value_and_text_only_with_text() {
        assert_eq!(TagValue::from(300), TagValue::from(300u64));
        assert_eq!(TagValue::from(300), TagValue::from(300.0));
        assert_ne!(TagValue::from(300), TagValue::from("300"));
        assert_ne!(TagValue::from(300), TagValue::from(300.5));
        assert_ne!(TagValue::from(true), TagValue::from(1));
        assert_eq!(TagValue::from("a"), "a");
        assert_ne!(TagValue::from(1), "1");
        assert_eq!(Value::from(2.0), Value::from(2));
        assert_ne!(Value::Null, Value::from(0));
    }

    #[test]
    fn text_is_what_a_table_shows() {
        let shown: Vec<String> = [
            TagValue::from(300),
            TagValue::from(0.1),
            TagValue::from(300.0),
            TagValue::from(false),
            TagValue::from("x y"),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(shown, ["300", "0.1", "300", "false", "x y"]);
        assert_eq!(
            format!(
                "{:?}",
                [
                    TagValue::from(300),
                    TagValue::from(3.0),
                    TagValue::from("a")
                ]
            ),
            r#"[300, 3.0, "a"]"#
        );
        let v = Value::Map(BTreeMap::from([
            (
                "a".to_owned(),
                Value::List(vec![Value::from(1), Value::Null]),
            ),
            ("b".to_owned(), Value::from("t")),
        ]));
        assert_eq!(v.to_string(), "{a: [1, null], b: t}");
    }

    #[test]
    fn values_round_trip_through_the_codec() {
        let v = Value::Map(BTreeMap::from([
            ("n".to_owned(), Value::from(-3)),
            ("x".to_owned(), Value::from(0.25)),
            ("ok".to_owned(), Value::from(true)),
            (
                "l".to_owned(),
                Value::List(vec![Value::from("a"), Value::Null]),
            ),
        ]));
        let bytes = crate::codec::encode(&v).unwrap();
        let back: Value = crate::codec::decode(&bytes).unwrap();
        assert_eq!(back, v);
        for t in [
            TagValue::from(7),
            TagValue::from(-1.5),
            TagValue::from(true),
            TagValue::from("s"),
        ] {
            let back: TagValue = crate::codec::decode(&crate::codec::encode(&t).unwrap()).unwrap();
            assert_eq!(back.to_string(), t.to_string());
            assert_eq!(back, t);
        }
    }
}
