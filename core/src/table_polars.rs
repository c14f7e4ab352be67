//! `Table` to a polars `DataFrame` (feature `polars`): every column with a real type, values
//! read in full from the store (only those of the argument and result columns asked for).

mod typed;

use std::ops::Range;

use polars::prelude::{Column, DataFrame, NamedFrom, PolarsResult, Series, TimeUnit, TimeZone};

use crate::cache::Cache;
use crate::call::Call;
use crate::codec::inspect::Item;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::record::metadata_entry;
use crate::table::{Content, Table};

impl Table {
    /// Converts the table to a polars `DataFrame`, one column per table column, with types
    /// taken from the stored values:
    ///
    /// - argument and result columns: `Int64` (`UInt64` when a value needs it), `Float64`,
    ///   `Boolean`, `String` (unit enum variants too), `Binary` (`Vec<u8>`, `serde_bytes`),
    ///   `List` (a `Vec<f64>` is `List(Float64)`), `Struct` with the field names (an enum
    ///   variant with data is a struct with one field per variant); `None` is null.
    ///   Values are read in full, once per distinct value, and only for the columns the table
    ///   has: a large result is read only with [`Table::results`].
    /// - `timestart`, `timestop`: `Datetime` (ns, UTC); `walltime`: `Duration` (ns).
    /// - `key`, `name`, `module`, the environment and git entries: `String`; git's `dirty`:
    ///   `Boolean`; `cpu_user`, `cpu_system`: `Float64` (seconds); `peak_memory_growth`:
    ///   `UInt64` (bytes).
    /// - tags and the namespaces asked for with [`Table::metadata`]: typed by their values
    ///   (a tag that is an integer in every call is `Int64`; mixed types are `String`).
    ///
    /// A column whose values share no type (a function whose return type changed, integers
    /// beyond 64 bits) is a `String` column of the values as text, with one
    /// `tracing` warning naming it; so is a struct field or list element that disagrees.
    /// A value missing from the store or not readable is a null, with a warning.
    ///
    /// ```
    /// # use fleche::fleche;
    /// use polars::prelude::*;
    ///
    /// #[fleche]
    /// fn energy(steps: i64, temperature: f64) -> f64 { temperature * steps as f64 }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let cache = fleche::Cache::memory();
    /// # let _active = cache.activate();
    /// for steps in [10, 20] {
    ///     for temperature in [1.0, 2.0, 3.0] {
    ///         energy(steps, temperature);
    ///     }
    /// }
    /// let frame = energy::query().table().all_arguments().results().to_polars()?;
    /// let mean = frame
    ///     .lazy()
    ///     .group_by([col("steps")])
    ///     .agg([col("result").mean().alias("mean energy")])
    ///     .sort(["steps"], Default::default())
    ///     .collect()?;
    /// println!("{mean}");
    /// assert_eq!(mean.column("mean energy")?.f64()?.get(1), Some(40.0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_polars(&self) -> Result<DataFrame> {
        let err = |e: polars::error::PolarsError| Error::Table {
            detail: e.to_string(),
        };
        let calls: Vec<&Call> = self.calls().collect();
        let columns = self.columns();
        // Value columns read the store and walk every value: each on its own thread, with
        // the caller's `tracing` subscriber, while this thread makes the metadata columns.
        let is_value = |c: &Content| matches!(c, Content::Result | Content::Argument(_));
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let mut made: Vec<Option<PolarsResult<Series>>> = columns.iter().map(|_| None).collect();
        std::thread::scope(|scope| {
            let calls = &calls;
            let spawned: Vec<_> = columns
                .iter()
                .enumerate()
                .filter(|(_, (_, content))| is_value(content))
                .map(|(i, (name, content))| {
                    let dispatch = dispatch.clone();
                    let job = move || {
                        tracing::dispatcher::with_default(&dispatch, || {
                            column(self, calls, name, content)
                        })
                    };
                    (i, scope.spawn(job))
                })
                .collect();
            for (i, (name, content)) in columns.iter().enumerate() {
                if !is_value(content) {
                    made[i] = Some(column(self, calls, name, content));
                }
            }
            for (i, handle) in spawned {
                let series = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                made[i] = Some(series);
            }
        });
        let columns = made
            .into_iter()
            .flatten()
            .map(|series| series.map(Column::from))
            .collect::<PolarsResult<Vec<Column>>>()
            .map_err(err)?;
        DataFrame::new(calls.len(), columns).map_err(err)
    }
}

/// One column of the frame.
fn column(table: &Table, calls: &[&Call], name: &str, content: &Content) -> PolarsResult<Series> {
    Ok(match content {
        Content::Key => Series::new(name.into(), table.index().collect::<Vec<_>>()),
        Content::Name => strings(name, calls.iter().map(|c| Some(c.name()))),
        Content::Module => strings(name, calls.iter().map(|c| Some(c.module()))),
        Content::Layer => strings(name, calls.iter().map(|c| c.layer())),
        Content::Result => {
            let digests: Vec<Option<Digest>> =
                calls.iter().map(|c| Some(c.result_digest())).collect();
            values(name, calls, &digests)?
        }
        Content::Argument(argument) => {
            let digests: Vec<Option<Digest>> = calls
                .iter()
                .map(|c| {
                    c.argument_digests()
                        .iter()
                        .find(|(n, _)| n == argument)
                        .map(|(_, d)| *d)
                })
                .collect();
            values(name, calls, &digests)?
        }
        Content::TimeStart | Content::TimeStop => {
            let ns: Vec<Option<i64>> = calls
                .iter()
                .map(|c| {
                    let md = c.metadata();
                    let t = if *content == Content::TimeStart {
                        md.timestart
                    } else {
                        md.timestop
                    };
                    t.timestamp_nanos_opt()
                })
                .collect();
            Series::new(name.into(), ns).into_datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC))
        }
        Content::WallTime => {
            let ns: Vec<i64> = calls
                .iter()
                .map(|c| (c.metadata().walltime * 1e9).round() as i64)
                .collect();
            Series::new(name.into(), ns).into_duration(TimeUnit::Nanoseconds)
        }
        // Tags and namespaces keep their types through their encoded form: a tag that is
        // an integer in every call is an `Int64` column.
        Content::Tag(key) => encoded_column(
            name,
            calls.iter().map(|c| {
                let value = c.metadata().tags.get(key)?;
                crate::codec::encode(value).ok()
            }),
        )?,
        Content::Namespace(ns, key) => encoded_column(
            name,
            calls.iter().map(|c| {
                let value = c.metadata().get(ns, key)?;
                crate::codec::encode(&value).ok()
            }),
        )?,
        Content::Resources("peak_memory_growth") => Series::new(
            name.into(),
            calls
                .iter()
                .map(|c| c.metadata().resources.as_ref()?.peak_memory_growth)
                .collect::<Vec<_>>(),
        ),
        Content::Resources(key) => Series::new(
            name.into(),
            calls
                .iter()
                .map(|c| {
                    let r = c.metadata().resources.as_ref()?;
                    if *key == "cpu_user" {
                        r.cpu_user
                    } else {
                        r.cpu_system
                    }
                })
                .collect::<Vec<_>>(),
        ),
        Content::Environment(key) => strings(
            name,
            calls
                .iter()
                .map(|c| metadata_entry(c.metadata(), "environment", key)),
        ),
        Content::Git("dirty") => Series::new(
            name.into(),
            calls
                .iter()
                .map(|c| c.metadata().git.as_ref().and_then(|g| g.dirty))
                .collect::<Vec<_>>(),
        ),
        Content::Git(key) => strings(
            name,
            calls
                .iter()
                .map(|c| metadata_entry(c.metadata(), "git", key)),
        ),
    })
}

/// A column of encoded values, typed by what they hold.
fn encoded_column(
    name: &str,
    encoded: impl Iterator<Item = Option<Vec<u8>>>,
) -> PolarsResult<Series> {
    let encoded: Vec<Option<Vec<u8>>> = encoded.collect();
    let items: Vec<Option<Item<'_>>> = encoded
        .iter()
        .map(|b| b.as_deref().and_then(|b| Item::parse(b).ok()))
        .collect();
    typed_column(name, &items)
}

/// A `String` column.
fn strings<S: AsRef<str>>(name: &str, cells: impl Iterator<Item = Option<S>>) -> Series {
    let cells: Vec<Option<S>> = cells.collect();
    let cells: Vec<Option<&str>> = cells.iter().map(|c| c.as_ref().map(S::as_ref)).collect();
    Series::new(name.into(), cells)
}

/// The typed column of the stored values under `digests` (`None`: the call has no such
/// value). Each distinct value is read once, all in one read of the store.
fn values(
    name: &str,
    calls: &[&Call],
    digests: &[Option<Digest>],
) -> polars::error::PolarsResult<Series> {
    let Some(cache) = calls.first().map(|c| c.cache()) else {
        return typed_column(name, &[]);
    };
    // Sorting (digest, row) pairs gives the distinct digests in the order the store reads
    // fastest, and each row's place among them, in one pass.
    let mut order: Vec<(Digest, usize)> = digests
        .iter()
        .enumerate()
        .filter_map(|(row, d)| Some(((*d)?, row)))
        .collect();
    order.sort_unstable();
    let mut distinct: Vec<Digest> = Vec::new();
    let mut slot: Vec<Option<usize>> = vec![None; digests.len()];
    for (digest, row) in &order {
        if distinct.last() != Some(digest) {
            distinct.push(*digest);
        }
        slot[*row] = Some(distinct.len() - 1);
    }
    let (stored, problem) = read_values(cache, &distinct);
    let parsed: Vec<Option<Item<'_>>> = stored
        .spans
        .iter()
        .map(|span| Item::parse(stored.bytes.get(span.clone()?)?).ok())
        .collect();
    let missing = stored.spans.iter().filter(|s| s.is_none()).count();
    let unreadable = parsed.iter().filter(|i| i.is_none()).count() - missing;
    let rows: Vec<Option<Item<'_>>> = slot.iter().map(|s| parsed[(*s)?]).collect();
    if missing + unreadable > 0 {
        tracing::warn!(
            column = name,
            "column `{name}`: {missing} stored values missing and {unreadable} unreadable; \
             they are nulls in the frame{}",
            problem.map(|p| format!(" ({p})")).unwrap_or_default()
        );
    }
    typed_column(name, &rows)
}

/// Values read for a column, side by side in one buffer: the passes over them that find and
/// build the column's type then walk memory in order instead of 100,000 scattered buffers.
struct Stored {
    bytes: Vec<u8>,
    /// Where each value is in `bytes`, in the order asked for; `None` if not stored.
    spans: Vec<Option<Range<usize>>>,
}

/// The full bytes of each value, in the order given, in one read transaction; on a failed
/// read, every value is missing and the error says why.
fn read_values(cache: &Cache, digests: &[Digest]) -> (Stored, Option<String>) {
    let heads = match cache.value_heads(digests, usize::MAX) {
        Ok(heads) => heads,
        Err(e) => {
            let spans = vec![None; digests.len()];
            let stored = Stored {
                bytes: Vec::new(),
                spans,
            };
            return (stored, Some(e.to_string()));
        }
    };
    let total = heads.iter().flatten().map(|h| h.bytes.len()).sum();
    let mut bytes = Vec::with_capacity(total);
    let spans = heads
        .into_iter()
        .map(|head| {
            let head = head?;
            let start = bytes.len();
            bytes.extend_from_slice(&head.bytes);
            Some(start..bytes.len())
        })
        .collect();
    (Stored { bytes, spans }, None)
}

/// [`typed::column`], warning once about the places shown as text.
fn typed_column(name: &str, rows: &[Option<Item<'_>>]) -> polars::error::PolarsResult<Series> {
    let (series, mixed) = typed::column(name, rows)?;
    if !mixed.is_empty() {
        tracing::warn!(
            column = name,
            "column `{name}`: values of different types, shown as text in the frame: {}",
            mixed.join(", ")
        );
    }
    Ok(series)
}
