//! Typed polars columns from encoded values: one walk over a column's stored items finds the
//! polars type they agree on (through the codec's inspection API, without the Rust types),
//! a second walk builds the column in full.

use polars::chunked_array::builder::get_list_builder;
use polars::prelude::{
    BooleanChunked, DataType, IntoSeries, ListBuilderTrait, NamedFrom, PlSmallStr, PolarsResult,
    Series, StructChunked,
};

use crate::codec::inspect::{Item, Kind, summary};

/// The type a column's values agree on so far.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    /// Only nulls (or nothing) seen.
    Unknown,
    Bool,
    /// Integers, with the range seen: it decides between Int64 and UInt64.
    Int {
        min: i128,
        max: i128,
    },
    Float,
    Text,
    Bytes,
    /// Only empty sequences seen: an empty `Vec<u8>` is one too, so bytes may still come.
    EmptyList,
    List(Box<Shape>),
    /// Maps with text keys (structs, enum variants with data): fields in order of first
    /// appearance; a row without a field has a null there.
    Struct(Vec<(String, Shape)>),
    /// Values that share no polars type, shown as text; says why.
    Mixed(String),
}

impl Shape {
    fn describe(&self) -> &'static str {
        match self {
            Shape::Unknown => "null",
            Shape::Bool => "bool",
            Shape::Int { .. } => "integer",
            Shape::Float => "float",
            Shape::Text => "text",
            Shape::Bytes => "bytes",
            Shape::EmptyList | Shape::List(_) => "list",
            Shape::Struct(_) => "struct",
            Shape::Mixed(_) => "mixed",
        }
    }

    /// Widens this shape to take in `other`, or gives up on a common type.
    fn meet(&mut self, other: Shape) {
        let this = std::mem::replace(self, Shape::Unknown);
        *self = match (this, other) {
            (Shape::Unknown, o) | (o, Shape::Unknown) => o,
            (m @ Shape::Mixed(_), _) | (_, m @ Shape::Mixed(_)) => m,
            (Shape::Int { min, max }, Shape::Int { min: lo, max: hi }) => Shape::Int {
                min: min.min(lo),
                max: max.max(hi),
            },
            (Shape::EmptyList, o @ (Shape::List(_) | Shape::Bytes | Shape::EmptyList))
            | (o @ (Shape::List(_) | Shape::Bytes), Shape::EmptyList) => o,
            (Shape::List(mut a), Shape::List(b)) => {
                a.meet(*b);
                Shape::List(a)
            }
            (Shape::Struct(mut a), Shape::Struct(b)) => {
                for (name, shape) in b {
                    match a.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, s)) => s.meet(shape),
                        None => a.push((name, shape)),
                    }
                }
                Shape::Struct(a)
            }
            (a, b) if a == b => a,
            (a, b) => Shape::Mixed(format!("{} and {} values", a.describe(), b.describe())),
        };
    }

    /// Takes in one stored item (already resolved by [`present`]).
    fn absorb(&mut self, item: Item<'_>) {
        if matches!(self, Shape::Mixed(_)) {
            return;
        }
        match item.kind() {
            Kind::Bool(_) => self.meet(Shape::Bool),
            Kind::Int(v) => self.meet(Shape::Int { min: v, max: v }),
            Kind::Float(_) => self.meet(Shape::Float),
            Kind::Text(_) => self.meet(Shape::Text),
            Kind::Bytes { .. } => self.meet(Shape::Bytes),
            Kind::Array { len: 0 } | Kind::TypedArray { len: 0, .. } => {
                self.meet(Shape::EmptyList);
            }
            Kind::Array { .. } | Kind::TypedArray { .. } => {
                self.meet(Shape::List(Box::new(Shape::Unknown)));
                if let Shape::List(inner) = self {
                    for child in item.children().flatten() {
                        if let Some(value) = present(child.value) {
                            inner.absorb(value);
                        }
                    }
                }
            }
            Kind::Map { .. } => {
                self.meet(Shape::Struct(Vec::new()));
                let Shape::Struct(fields) = self else {
                    return;
                };
                for child in item.children().flatten() {
                    let Some(name) = child.key.and_then(|k| k.as_str()) else {
                        *self = Shape::Mixed("maps with keys that are not text".into());
                        return;
                    };
                    let i = match fields.iter().position(|(n, _)| n == name) {
                        Some(i) => i,
                        None => {
                            fields.push((name.to_owned(), Shape::Unknown));
                            fields.len() - 1
                        }
                    };
                    if let Some(value) = present(child.value) {
                        fields[i].1.absorb(value);
                    }
                }
            }
            Kind::BigInt { .. } => self.meet(Shape::Mixed("integers beyond 128 bits".into())),
            Kind::Tag(tag) => self.meet(Shape::Mixed(format!("values under CBOR tag {tag}"))),
            _ => self.meet(Shape::Mixed("values with no polars type".into())),
        }
    }
}

/// The item a stored value stands for: `None` for null. A kind added to the codec later
/// that wraps one item (such as a marked `Some`) stands for that item.
fn present(item: Item<'_>) -> Option<Item<'_>> {
    match item.kind() {
        Kind::Null | Kind::Undefined => None,
        Kind::Bool(_)
        | Kind::Int(_)
        | Kind::BigInt { .. }
        | Kind::Float(_)
        | Kind::Simple(_)
        | Kind::Text(_)
        | Kind::Bytes { .. }
        | Kind::Array { .. }
        | Kind::Map { .. }
        | Kind::TypedArray { .. }
        | Kind::Tag(_) => Some(item),
        // Kinds the codec adds later; the codec's marked `Some` wraps one item.
        #[allow(unreachable_patterns)]
        _ => match item.children().next() {
            Some(Ok(child)) => present(child.value),
            _ => Some(item),
        },
    }
}

/// A column of `rows` (`None` is a null) with the one polars type they agree on, and the
/// places (`column` or `column.field`) shown as text because their values do not agree.
pub(super) fn column(name: &str, rows: &[Option<Item<'_>>]) -> PolarsResult<(Series, Vec<String>)> {
    let rows: Vec<Option<Item<'_>>> = rows.iter().map(|r| r.and_then(present)).collect();
    let mut shape = Shape::Unknown;
    for item in rows.iter().flatten() {
        shape.absorb(*item);
    }
    let mut mixed = Vec::new();
    let series = build(name, name, &shape, &rows, &mut mixed)?;
    Ok((series, mixed))
}

/// Builds the column of `shape` from resolved items; `path` names it in `mixed`.
fn build(
    name: &str,
    path: &str,
    shape: &Shape,
    rows: &[Option<Item<'_>>],
    mixed: &mut Vec<String>,
) -> PolarsResult<Series> {
    let name = PlSmallStr::from(name);
    Ok(match shape {
        Shape::Unknown => Series::full_null(name, rows.len(), &DataType::Null),
        Shape::Bool => Series::new(
            name,
            each(rows, |k| match k {
                Kind::Bool(b) => Some(b),
                _ => None,
            }),
        ),
        Shape::Int { min, max } => {
            if i64::try_from(*min).is_ok() && i64::try_from(*max).is_ok() {
                Series::new(
                    name,
                    each(rows, |k| match k {
                        Kind::Int(v) => i64::try_from(v).ok(),
                        _ => None,
                    }),
                )
            } else if *min >= 0 && u64::try_from(*max).is_ok() {
                Series::new(
                    name,
                    each(rows, |k| match k {
                        Kind::Int(v) => u64::try_from(v).ok(),
                        _ => None,
                    }),
                )
            } else {
                mixed.push(format!("{path} (integers beyond 64 bits)"));
                text(name, rows)
            }
        }
        Shape::Float => Series::new(
            name,
            each(rows, |k| match k {
                Kind::Float(v) => Some(v),
                _ => None,
            }),
        ),
        Shape::Text => Series::new(
            name,
            each(rows, |k| match k {
                Kind::Text(s) => Some(s),
                _ => None,
            }),
        ),
        Shape::Bytes => {
            let bytes: Vec<Option<&[u8]>> = rows
                .iter()
                .map(|r| {
                    r.and_then(|item| match item.kind() {
                        Kind::Bytes { .. } => item.as_bytes(),
                        _ => Some(&[][..]),
                    })
                })
                .collect();
            Series::new(name, bytes)
        }
        Shape::EmptyList | Shape::List(_) => {
            let inner_shape = match shape {
                Shape::List(inner) => inner,
                _ => &Box::new(Shape::Unknown),
            };
            let mut flat = Vec::new();
            let mut lengths = Vec::with_capacity(rows.len());
            for row in rows {
                lengths.push(row.map(|item| {
                    let before = flat.len();
                    flat.extend(item.children().flatten().map(|c| present(c.value)));
                    flat.len() - before
                }));
            }
            let inner = build("", &format!("{path}[]"), inner_shape, &flat, mixed)?;
            let mut list = get_list_builder(inner.dtype(), flat.len(), rows.len(), name);
            let mut offset = 0;
            for length in lengths {
                match length {
                    Some(n) => {
                        list.append_series(&inner.slice(offset as i64, n))?;
                        offset += n;
                    }
                    None => list.append_null(),
                }
            }
            list.finish().into_series()
        }
        Shape::Struct(fields) if fields.is_empty() => {
            mixed.push(format!("{path} (maps that are always empty)"));
            text(name, rows)
        }
        Shape::Struct(fields) => {
            let mut columns: Vec<Vec<Option<Item<'_>>>> =
                vec![vec![None; rows.len()]; fields.len()];
            for (r, row) in rows.iter().enumerate() {
                let Some(item) = row else { continue };
                for child in item.children().flatten() {
                    let key = child.key.and_then(|k| k.as_str());
                    if let Some(i) = fields.iter().position(|(n, _)| Some(n.as_str()) == key) {
                        columns[i][r] = present(child.value);
                    }
                }
            }
            let series = fields
                .iter()
                .zip(&columns)
                .map(|((field, shape), values)| {
                    build(field, &format!("{path}.{field}"), shape, values, mixed)
                })
                .collect::<PolarsResult<Vec<Series>>>()?;
            // One chunk: polars sets the validity of a struct's rows on a single chunk.
            let ca = StructChunked::from_series(name, rows.len(), series.iter())?
                .rechunk()
                .into_owned();
            if rows.iter().all(Option::is_some) {
                ca.into_series()
            } else {
                // A null row is a null struct, not a struct of nulls.
                let present: BooleanChunked = rows.iter().map(Option::is_some).collect();
                let present = present.rechunk();
                let validity = present.downcast_iter().next().map(|a| a.values().clone());
                ca.with_outer_validity(validity).into_series()
            }
        }
        Shape::Mixed(why) => {
            mixed.push(format!("{path} ({why})"));
            text(name, rows)
        }
    })
}

/// One value per row from its kind (`None` where the row is null).
fn each<'a, T>(rows: &[Option<Item<'a>>], value: impl Fn(Kind<'a>) -> Option<T>) -> Vec<Option<T>> {
    rows.iter()
        .map(|r| r.and_then(|item| value(item.kind())))
        .collect()
}

/// The rows as text, in full: strings as they are, anything else as the codec renders it.
fn text(name: PlSmallStr, rows: &[Option<Item<'_>>]) -> Series {
    let cells: Vec<Option<String>> = rows
        .iter()
        .map(|r| {
            r.map(|item| match item.kind() {
                Kind::Text(s) => s.to_owned(),
                Kind::Bool(b) => b.to_string(),
                // Typed-array elements have no encoding of their own to render.
                Kind::Int(v) => v.to_string(),
                Kind::Float(v) => format!("{v:?}"),
                _ => summary(item.raw(), usize::MAX),
            })
        })
        .collect();
    Series::new(name, cells)
}
