//! Tables of calls: one row per call, indexed by the shortest unambiguous key prefix.
//!
//! Building a table reads call records only; argument and result columns read exactly the
//! values they show. Cells are rendered when shown, so a table of 100,000 calls is cheap.

use std::collections::{BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::sync::Arc;

use chrono::{DateTime, Local, Utc};

use crate::batch::Summary;
use crate::cache::{Cache, MIN_PREFIX};
use crate::call::Call;
use crate::digest::Digest;
use crate::digest::shortest_prefixes;
use crate::display::{escape_html, evcxr_emit, result_summary, value_summary};
use crate::error::Result;
use crate::query::{Found, Query};
use crate::record::{ENVIRONMENT_KEYS, GIT_KEYS, RESOURCE_KEYS, metadata_entry};
use crate::store::Store;

/// Rows shown by `Display`, Markdown, HTML and notebooks unless changed with
/// [`Table::max_rows`]; CSV always has every row.
pub const DEFAULT_MAX_ROWS: usize = 40;

/// Widest cell in plain text before it is cut with `…`.
const MAX_CELL_CHARS: usize = 48;

/// A table of calls, as [`Query::table`](crate::Query::table) and
/// [`Cache::table`](crate::Cache::table) make it.
///
/// The index (column `key`) is each call key cut to its shortest prefix, at least 4 hex
/// characters, that no other call in the cache shares, so it can be passed to
/// [`Cache::load`](crate::Cache::load). Columns: `name`, `module`, then `result` and the
/// argument columns when asked for ([`Table::results`], [`Table::arguments`]), then the
/// metadata flattened: `timestart` and `timestop` (local time), `walltime` (seconds), the
/// resources (`cpu_user`, `cpu_system` in seconds, `peak_memory_growth` in bytes), one
/// column per tag key (its value as text: `300`, `0.5`, `true`), and the environment and
/// git entries, each when any call has them; then a column per key of the namespaces asked
/// for with [`Table::metadata`]. A cell is empty where a call has no such entry. An argument
/// whose name is already a column is shown as `a_<name>`; a tag whose key is a fixed column
/// as `t_<key>`; a namespace key that is already a column as `<namespace>.<key>`.
///
/// Show it with `Display` (aligned text), [`Table::to_markdown`], [`Table::to_csv`],
/// [`Table::to_html`], or as the value of a notebook cell ([`Table::evcxr_display`]). Keep
/// some rows with [`Table::filter`], [`Table::without`] and [`Table::where_eq`]. With the
/// `polars` feature, `Table::to_polars` gives a polars `DataFrame` whose columns have the
/// stored values' types (integers, floats, lists, structs, UTC datetimes), for analyses such
/// as the mean result per argument value; its documentation shows one.
///
/// ```
/// # use fleche::fleche;
/// #[fleche]
/// fn square(x: i64) -> i64 { x * x }
/// # fn main() {
/// let cache = fleche::Cache::memory();
/// let _active = cache.activate();
/// square(2);
/// square(3);
/// let table = square::query().table().arguments(["x"]).results();
/// assert_eq!(table.len(), 2);
/// assert_eq!(table.rows().next().unwrap().get("result"), Some("4"));
/// println!("{table}");
/// # }
/// ```
#[derive(Clone)]
pub struct Table {
    /// The call of each row. The columns a table adds (`index`, `extras`) are kept beside
    /// it rather than in a struct per row, so that a table is made from a query's calls as
    /// they are (a million rows would otherwise take a second copy of every call).
    calls: Vec<Call>,
    /// The shortened key of each row (the index column).
    index: Vec<Index>,
    /// Extra columns (result, arguments), in order.
    extras: Vec<Extra>,
    tags: Vec<String>,
    /// Whether the calls come from a stack: a `layer` column says which layer each is from.
    layers: bool,
    /// Whether rows of one function come from different definitions (see [`Definitions`]).
    definitions: Option<Definitions>,
    environment: bool,
    git: bool,
    resources: bool,
    /// Columns of namespaces asked for: (namespace, key).
    namespaces: Vec<(String, String)>,
    /// Errors and notices shown under the table.
    notes: Vec<String>,
    max_rows: usize,
}

#[derive(Clone)]
struct Extra {
    header: String,
    content: Content,
    /// One cell per row.
    cells: Vec<String>,
}

/// What a column holds, so that a conversion (`to_polars`) can read each column's values in
/// full and with their types rather than from the rendered cells.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "polars"), allow(dead_code))]
pub(crate) enum Content {
    Key,
    Name,
    Module,
    Version,
    Result,
    Argument(String),
    TimeStart,
    TimeStop,
    WallTime,
    /// The stack layer the call came from.
    Layer,
    Tag(String),
    Resources(&'static str),
    Environment(&'static str),
    Git(&'static str),
    /// A key of a namespace asked for with [`Table::metadata`].
    Namespace(String, String),
}

const FIXED: [&str; 8] = [
    "key",
    "name",
    "module",
    "layer",
    "version",
    "timestart",
    "timestop",
    "walltime",
];

/// The `version` column, shown when calls of one function in the table were made by different
/// definitions of it (another `version`, or an edited body when the code is part of the key):
/// otherwise two rows with the same arguments and different results would look alike.
#[derive(Clone)]
struct Definitions {
    /// The function's current definition (version, code digest), when the table comes from
    /// its own query; rows of other definitions are then marked `(older)`.
    current: Option<(Option<String>, Option<Digest>)>,
}

impl Definitions {
    /// `version` and the code digest's first 8 hex digits, e.g. `v2 3f9a1c2e`, marked
    /// `(older)` when it is not the current definition.
    fn cell(&self, call: &Call) -> String {
        let mut out = String::new();
        if let Some(v) = call.version() {
            out.push_str(v);
        }
        if let Some(code) = call.code() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&code.to_string()[..8]);
        }
        if let Some((version, code)) = &self.current {
            let current =
                call.version() == version.as_deref() && (code.is_none() || call.code() == *code);
            if !current {
                out.push_str(" (older)");
            }
        }
        out
    }
}

impl Cache {
    /// A table of every call in this cache (see [`Table`]); no argument or result is read.
    pub fn table(&self) -> Table {
        self.query().table()
    }
}

impl Query {
    /// A table of the matching calls (see [`Table`]). A failure to run the query is shown
    /// in the table; use [`Query::try_table`] to get it as an error.
    pub fn table(&self) -> Table {
        self.try_table()
            .unwrap_or_else(|e| Table::failed(e.to_string()))
    }

    /// A table of the matching calls, or why the query could not run.
    pub fn try_table(&self) -> Result<Table> {
        let found = self.run()?;
        let mut table = Table::build(found)?;
        if let (Some(definitions), Some(function)) = (&mut table.definitions, self.function()) {
            definitions.current =
                Some((function.version.map(str::to_owned), function.code_digest()));
        }
        Ok(table)
    }

    /// Shows the query's table in a Jupyter notebook (evcxr calls this for a cell's value).
    pub fn evcxr_display(&self) {
        self.table().evcxr_display();
    }
}

/// Shows the query's table (see [`Table`]).
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.table(), f)
    }
}

impl Table {
    /// A table of the calls a query found. What the query learnt while reading them (their
    /// key order, what they show as a whole) spares going through them again.
    pub(crate) fn build(found: Found) -> Result<Table> {
        let Found {
            cache,
            calls,
            all_keys,
            by_key,
            summary,
        } = found;
        let sorted: Vec<u32> = by_key.unwrap_or_else(|| {
            // By the keys' first 8 bytes, then (rarely needed) whole keys.
            let mut sorted: Vec<(u64, u32)> = calls
                .iter()
                .enumerate()
                .map(|(i, c)| (first_bytes(&c.key()), i as u32))
                .collect();
            sorted.sort_unstable_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| calls[a.1 as usize].key().cmp(&calls[b.1 as usize].key()))
            });
            sorted.into_iter().map(|(_, i)| i).collect()
        });
        let keys: Vec<Digest> = sorted.iter().map(|&i| calls[i as usize].key()).collect();
        let lengths = match (&all_keys, cache.layers.is_some()) {
            (Some(all), _) => shortest_prefixes(all, &keys, MIN_PREFIX),
            // A stack's prefixes must tell apart the keys of every layer.
            (None, true) => shortest_prefixes(
                &cache.union_of(|store| store.all_call_keys())?,
                &keys,
                MIN_PREFIX,
            ),
            (None, false) => cache.store.call_prefix_lengths(&keys, MIN_PREFIX)?,
        };
        let layers = calls.iter().any(|c| c.layer().is_some());
        let mut length_of = vec![MIN_PREFIX; calls.len()];
        for (&i, len) in sorted.iter().zip(lengths) {
            length_of[i as usize] = len;
        }
        let summary = summary.unwrap_or_else(|| summarize(&calls));
        let tags: Vec<String> = summary.tag_keys.into_iter().collect();
        let (environment, git, resources) = (summary.environment, summary.git, summary.resources);
        let definitions = summary
            .definitions_differ
            .then_some(Definitions { current: None });
        let index = (calls.iter().zip(length_of))
            .map(|(call, len)| Index::of(&call.key(), len))
            .collect();
        Ok(Table {
            calls,
            index,
            extras: Vec::new(),
            tags,
            layers,
            definitions,
            environment,
            git,
            resources,
            namespaces: Vec::new(),
            notes: Vec::new(),
            max_rows: DEFAULT_MAX_ROWS,
        })
    }

    /// An empty table that shows why it could not be made.
    pub(crate) fn failed(error: String) -> Table {
        Table {
            calls: Vec::new(),
            index: Vec::new(),
            extras: Vec::new(),
            tags: Vec::new(),
            layers: false,
            definitions: None,
            environment: false,
            git: false,
            resources: false,
            namespaces: Vec::new(),
            notes: vec![format!("error: {error}")],
            max_rows: DEFAULT_MAX_ROWS,
        }
    }

    /// Adds a column per named argument, reading only those values. A call without that
    /// argument has an empty cell; a value that cannot be read shows the error in its cell.
    pub fn arguments<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Table {
        for name in names {
            let name = name.as_ref();
            let header = if self.column_names().iter().any(|c| c == name) || name == "result" {
                format!("a_{name}")
            } else {
                name.to_owned()
            };
            let digests: Vec<Option<Digest>> = (self.calls.iter())
                .map(|call| {
                    call.read_record(
                        |view| {
                            view.arguments
                                .iter()
                                .find(|(n, _)| *n == name)
                                .map(|(_, d)| d)
                        },
                        |record| {
                            (record.arguments.iter())
                                .find(|(n, _)| n == name)
                                .map(|(_, d)| *d)
                        },
                    )
                })
                .collect();
            let field = format!("argument `{name}`");
            let cells = value_cells(&self.calls, &digests, &field, |_, bytes| {
                value_summary(bytes)
            });
            self.extras.push(Extra {
                header,
                content: Content::Argument(name.to_owned()),
                cells,
            });
        }
        self
    }

    /// Adds a column for every argument any call has, in order of first appearance.
    pub fn all_arguments(self) -> Table {
        let mut names: Vec<String> = Vec::new();
        for call in &self.calls {
            for (n, _) in call.argument_digests() {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        self.arguments(names)
    }

    /// Adds the `result` column, reading every shown call's result.
    pub fn results(mut self) -> Table {
        let header = if self.extras.iter().any(|e| e.header == "result") {
            "r_result".to_owned()
        } else {
            "result".to_owned()
        };
        let digests: Vec<Option<Digest>> = (self.calls.iter())
            .map(|call| Some(call.read_record(|view| view.result, |record| record.result)))
            .collect();
        let cells = value_cells(&self.calls, &digests, "result", |call, bytes| {
            call.read_record(
                |view| result_summary(bytes, view.result_type),
                |record| result_summary(bytes, &record.result_type),
            )
        });
        self.extras.insert(
            0,
            Extra {
                header,
                content: Content::Result,
                cells,
            },
        );
        self
    }

    /// Adds a column per key of each of these metadata namespaces, such as your own
    /// collector's (`.metadata(["gpu"])`), in the order the keys first appear; a call without
    /// the key has an empty cell. Namespaces the table already shows (`tags`, `resources`,
    /// `environment`, `git`, `runtime`) add nothing; an unknown one adds a note.
    pub fn metadata<S: AsRef<str>>(mut self, namespaces: impl IntoIterator<Item = S>) -> Table {
        for ns in namespaces {
            let ns = ns.as_ref();
            if crate::record::BUILT_IN_NAMESPACES.contains(&ns) {
                continue;
            }
            let mut keys: Vec<String> = Vec::new();
            let mut seen = false;
            for call in &self.calls {
                let md = call.metadata();
                if let Some(value) = md.namespaces.get(ns) {
                    seen = true;
                    if let crate::meta::Value::Map(m) = value {
                        for k in m.keys() {
                            if !keys.contains(k) {
                                keys.push(k.clone());
                            }
                        }
                    }
                }
            }
            if !seen {
                self.notes.push(format!(
                    "no call has metadata namespace `{ns}` (namespaces are named after their collectors)"
                ));
            }
            for k in keys {
                if !self.namespaces.contains(&(ns.to_owned(), k.clone())) {
                    self.namespaces.push((ns.to_owned(), k));
                }
            }
        }
        self
    }

    /// How many rows `Display`, Markdown, HTML and notebooks show before a
    /// "N more rows" line (default [`DEFAULT_MAX_ROWS`]); `usize::MAX` shows all.
    pub fn max_rows(mut self, n: usize) -> Table {
        self.max_rows = n;
        self
    }

    /// The first `n` rows.
    pub fn head(mut self, n: usize) -> Table {
        self.calls.truncate(n);
        self.index.truncate(n);
        for extra in &mut self.extras {
            extra.cells.truncate(n);
        }
        self
    }

    /// Keeps the rows for which `keep` returns true; see [`Row::get`].
    ///
    /// ```
    /// # let table = fleche::Cache::memory().table();
    /// let no_fib = table.filter(|row| row.get("name") != Some("fib"));
    /// ```
    pub fn filter(mut self, keep: impl Fn(&Row) -> bool) -> Table {
        let kept: Vec<bool> = self.rows().map(|row| keep(&row)).collect();
        self.keep_rows(&kept);
        self
    }

    /// Keeps row `i` where `kept[i]`, in every column.
    fn keep_rows(&mut self, kept: &[bool]) {
        fn keep<T>(column: &mut Vec<T>, kept: &[bool]) {
            let mut flags = kept.iter();
            column.retain(|_| flags.next() == Some(&true));
        }
        keep(&mut self.calls, kept);
        keep(&mut self.index, kept);
        for extra in &mut self.extras {
            keep(&mut extra.cells, kept);
        }
    }

    /// Drops the rows whose `column` shows `value` (the seed's
    /// `table().query('name != "fib"')`). An unknown column keeps every row and adds a note
    /// under the table.
    pub fn without(self, column: &str, value: &str) -> Table {
        let table = self.note_unknown(column);
        table.filter(|row| row.get(column) != Some(value))
    }

    /// Keeps only the rows whose `column` shows `value`. An unknown column keeps no row and
    /// adds a note under the table.
    pub fn where_eq(self, column: &str, value: &str) -> Table {
        let table = self.note_unknown(column);
        table.filter(|row| row.get(column) == Some(value))
    }

    fn note_unknown(mut self, column: &str) -> Table {
        let columns = self.column_names();
        if !columns.iter().any(|c| c == column) {
            self.notes.push(format!(
                "no column `{column}`; the columns are: {}",
                columns.join(", ")
            ));
        }
        self
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The column names, starting with the index column `key`.
    pub fn column_names(&self) -> Vec<String> {
        self.columns().into_iter().map(|(name, _)| name).collect()
    }

    /// The columns in order: each name with what it holds.
    pub(crate) fn columns(&self) -> Vec<(String, Content)> {
        let mut out: Vec<(String, Content)> = vec![
            ("key".into(), Content::Key),
            ("name".into(), Content::Name),
            ("module".into(), Content::Module),
        ];
        if self.layers {
            out.push(("layer".into(), Content::Layer));
        }
        if self.definitions.is_some() {
            out.push(("version".into(), Content::Version));
        }
        out.extend(
            self.extras
                .iter()
                .map(|e| (e.header.clone(), e.content.clone())),
        );
        out.push(("timestart".into(), Content::TimeStart));
        out.push(("timestop".into(), Content::TimeStop));
        out.push(("walltime".into(), Content::WallTime));
        if self.resources {
            out.extend(RESOURCE_KEYS.map(|k| (k.to_owned(), Content::Resources(k))));
        }
        for t in &self.tags {
            let clash = FIXED.contains(&t.as_str())
                || (self.layers && t == "layer")
                || t == "result"
                || self.extras.iter().any(|e| e.header == *t);
            let name = if clash { format!("t_{t}") } else { t.clone() };
            out.push((name, Content::Tag(t.clone())));
        }
        if self.environment {
            out.extend(ENVIRONMENT_KEYS.map(|k| (k.to_owned(), Content::Environment(k))));
        }
        if self.git {
            out.extend(GIT_KEYS.map(|k| (k.to_owned(), Content::Git(k))));
        }
        for (ns, k) in &self.namespaces {
            let name = if out.iter().any(|(c, _)| c == k) {
                format!("{ns}.{k}")
            } else {
                k.clone()
            };
            out.push((name, Content::Namespace(ns.clone(), k.clone())));
        }
        out
    }

    /// The rows, rendered.
    pub fn rows(&self) -> impl Iterator<Item = Row> + '_ {
        let columns: Arc<[String]> = self.column_names().into();
        (0..self.len()).map(move |row| Row {
            index: self.index[row].as_str().to_owned(),
            key: self.calls[row].key(),
            columns: columns.clone(),
            cells: self.cells(row),
        })
    }

    /// The lazy calls behind the rows, in row order.
    pub fn calls(&self) -> impl Iterator<Item = &Call> + '_ {
        self.calls.iter()
    }

    /// The shortened keys (the index column), in row order.
    pub fn index(&self) -> impl Iterator<Item = &str> + '_ {
        self.index.iter().map(Index::as_str)
    }

    /// Errors and notices shown under the table (a query that failed, an unknown column).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The `version` cell of a call: its definition when the table has that column.
    #[cfg_attr(not(feature = "polars"), allow(dead_code))]
    pub(crate) fn version_cell(&self, call: &Call) -> String {
        self.definitions
            .as_ref()
            .map(|d| d.cell(call))
            .unwrap_or_default()
    }

    /// The cells of row `row`, in column order, `key` first.
    fn cells(&self, row: usize) -> Vec<String> {
        let c = &self.calls[row];
        let md = c.metadata();
        let mut out = Vec::with_capacity(6 + self.extras.len() + self.tags.len());
        out.push(self.index[row].as_str().to_owned());
        out.push(c.name().to_owned());
        out.push(c.module().to_owned());
        if self.layers {
            out.push(c.layer().unwrap_or_default().to_owned());
        }
        if let Some(definitions) = &self.definitions {
            out.push(definitions.cell(c));
        }
        out.extend(self.extras.iter().map(|e| e.cells[row].clone()));
        out.push(local_time(md.timestart));
        out.push(local_time(md.timestop));
        out.push(format!("{:.6}", md.walltime));
        if self.resources {
            let r = md.resources.as_ref();
            let seconds = |s: Option<f64>| s.map(|s| format!("{s:.6}")).unwrap_or_default();
            out.push(seconds(r.and_then(|r| r.cpu_user)));
            out.push(seconds(r.and_then(|r| r.cpu_system)));
            out.push(
                r.and_then(|r| r.peak_memory_growth)
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
            );
        }
        for t in &self.tags {
            out.push(md.tags.get(t).map(ToString::to_string).unwrap_or_default());
        }
        if self.environment {
            for k in ENVIRONMENT_KEYS {
                out.push(metadata_entry(md, "environment", k).unwrap_or_default());
            }
        }
        if self.git {
            for k in GIT_KEYS {
                out.push(metadata_entry(md, "git", k).unwrap_or_default());
            }
        }
        for (ns, k) in &self.namespaces {
            out.push(metadata_entry(md, ns, k).unwrap_or_default());
        }
        out
    }

    /// The rows to show and how many are left out.
    fn shown(&self) -> (Vec<Vec<String>>, usize) {
        let n = self.len().min(self.max_rows);
        let rows = (0..n).map(|row| self.cells(row)).collect();
        (rows, self.len() - n)
    }

    fn footer(&self, hidden: usize) -> Vec<String> {
        let mut out = Vec::new();
        if self.is_empty() && self.notes.is_empty() {
            out.push("no calls".to_owned());
        }
        if hidden > 0 {
            out.push(format!(
                "{hidden} more row{} ({} in all; `.max_rows(n)` shows more)",
                if hidden == 1 { "" } else { "s" },
                self.len()
            ));
        }
        out.extend(self.notes.iter().cloned());
        out
    }

    /// The table as GitHub-flavoured Markdown (cut after `max_rows` rows).
    pub fn to_markdown(&self) -> String {
        let (rows, hidden) = self.shown();
        let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = String::new();
        let header = self.column_names();
        let _ = writeln!(
            out,
            "| {} |",
            header
                .iter()
                .map(|h| esc(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
        for row in rows {
            let _ = writeln!(
                out,
                "| {} |",
                row.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        for line in self.footer(hidden) {
            let _ = writeln!(out, "\n{line}");
        }
        out
    }

    /// The table as CSV (RFC 4180), with every row and a header line.
    pub fn to_csv(&self) -> String {
        fn field(s: &str) -> String {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        }
        let mut out = String::new();
        let header = self.column_names();
        let _ = writeln!(
            out,
            "{}",
            header
                .iter()
                .map(|h| field(h))
                .collect::<Vec<_>>()
                .join(",")
        );
        for row in 0..self.len() {
            let cells = self.cells(row);
            let _ = writeln!(
                out,
                "{}",
                cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(",")
            );
        }
        out
    }

    /// The table as an HTML `<table>` (cut after `max_rows` rows), every cell escaped.
    pub fn to_html(&self) -> String {
        let (rows, hidden) = self.shown();
        let mut out = String::from("<table class=\"fleche-table\">\n<thead><tr>");
        for h in self.column_names() {
            let _ = write!(out, "<th>{}</th>", escape_html(&h));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let tag = if i == 0 { "th" } else { "td" };
                let _ = write!(out, "<{tag}>{}</{tag}>", escape_html(cell));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        for line in self.footer(hidden) {
            let _ = writeln!(out, "<p>{}</p>", escape_html(&line));
        }
        out
    }

    /// Shows the table as the value of a Jupyter cell (evcxr calls this): HTML for the
    /// notebook and aligned text for plain viewers, in one write to stdout.
    pub fn evcxr_display(&self) {
        evcxr_emit(&self.to_html(), &self.to_string());
    }
}

/// Aligned plain text, cut after `max_rows` rows with an "N more rows" line.
impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rows, hidden) = self.shown();
        let header = self.column_names();
        let cut = |s: &str| -> String {
            let one_line = s.replace('\n', " ");
            if one_line.chars().count() > MAX_CELL_CHARS {
                let mut t: String = one_line.chars().take(MAX_CELL_CHARS - 1).collect();
                t.push('…');
                t
            } else {
                one_line
            }
        };
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| cut(c)).collect())
            .collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            let mut s = String::new();
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                if i > 0 {
                    s.push_str("  ");
                }
                let _ = write!(s, "{c:<w$}");
            }
            s.trim_end().to_owned()
        };
        writeln!(f, "{}", line(&header))?;
        for row in &rows {
            writeln!(f, "{}", line(row))?;
        }
        for note in self.footer(hidden) {
            writeln!(f, "{note}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One rendered row of a [`Table`], as [`Table::filter`] and [`Table::rows`] give it.
#[derive(Debug, Clone)]
pub struct Row {
    index: String,
    key: Digest,
    columns: Arc<[String]>,
    cells: Vec<String>,
}

impl Row {
    /// The cell of `column` as shown, or `None` if it is empty or there is no such column.
    pub fn get(&self, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c == column)?;
        Some(self.cells[i].as_str()).filter(|s| !s.is_empty())
    }

    /// The full call key.
    pub fn key(&self) -> Digest {
        self.key
    }

    /// The shortened key shown in the index column.
    pub fn index(&self) -> &str {
        &self.index
    }

    /// Every cell, in column order (`key` first).
    pub fn cells(&self) -> &[String] {
        &self.cells
    }
}

/// The cells of a column showing, for each row, the value `digests` names there (empty where
/// it names none), as `summarise` puts it. The distinct values of the calls of one cache file
/// are read in one read transaction, not one per cell (several times faster for a column of
/// 100,000 values); calls read through a stack ask it value by value, layer by layer.
fn value_cells(
    calls: &[Call],
    digests: &[Option<Digest>],
    field: &str,
    summarise: impl Fn(&Call, &[u8]) -> String,
) -> Vec<String> {
    let mut wanted: HashMap<usize, (Arc<Store>, Vec<Digest>)> = HashMap::new();
    for (call, digest) in calls.iter().zip(digests) {
        let cache = call.cache();
        if let (Some(d), None) = (digest, &cache.layers) {
            let store = &cache.store;
            let entry = wanted.entry(store.id());
            entry
                .or_insert_with(|| (store.clone(), Vec::new()))
                .1
                .push(*d);
        }
    }
    // What each store holds under each of its digests (sorted), or why it could not be read.
    type Stored = Result<Option<Vec<u8>>, String>;
    let read: HashMap<usize, (Vec<Digest>, Vec<Stored>)> = (wanted.into_iter())
        .map(|(id, (store, mut list))| {
            list.sort_unstable();
            list.dedup();
            let found = match store.values(&list) {
                Ok(found) => found
                    .into_iter()
                    .map(|f| f.map_err(|e| e.to_string()))
                    .collect(),
                Err(e) => vec![Err(e.to_string()); list.len()],
            };
            (id, (list, found))
        })
        .collect();
    let stored = |store: usize, digest: Digest| {
        let (list, found) = &read[&store];
        let place = list
            .binary_search(&digest)
            .expect("every digest wanted was read");
        found[place]
            .as_ref()
            .map(Option::as_deref)
            .map_err(String::as_str)
    };
    let cell = |call: &Call, digest: Digest, found: Result<Option<&[u8]>, &str>| match found {
        Ok(Some(bytes)) => summarise(call, bytes),
        Ok(None) => format!("<error: {}>", call.missing(digest, field)),
        Err(e) => format!("<error: {e}>"),
    };
    (calls.iter().zip(digests))
        .map(|(call, digest)| {
            let Some(d) = *digest else {
                return String::new();
            };
            let cache = call.cache();
            match &cache.layers {
                None => cell(call, d, stored(cache.store.id(), d)),
                Some(_) => match cache.value_bytes(&d) {
                    Ok(bytes) => cell(call, d, Ok(bytes.as_deref())),
                    Err(e) => cell(call, d, Err(&e.to_string())),
                },
            }
        })
        .collect()
}

/// What a table shows of `calls` as a whole (see [`Summary`]), when the query did not gather
/// it while reading them. Calls read together share their definitions and tag key lists, so
/// each of those is looked at once, not once per call.
fn summarize(calls: &[Call]) -> Summary {
    type Definition<'a> = (Option<&'a str>, Option<Digest>);
    let mut tags: BTreeSet<&str> = BTreeSet::new();
    let mut definitions: HashMap<(&str, &str), Definition<'_>> = HashMap::new();
    let mut out = Summary::default();
    let mut seen_functions: foldhash::HashSet<(usize, u32)> = foldhash::HashSet::default();
    let mut seen_tags: foldhash::HashSet<(usize, u32)> = foldhash::HashSet::default();
    for c in calls {
        let ids = c.shared_ids();
        if ids.is_none_or(|(read, function, _)| seen_functions.insert((read, function))) {
            let definition = (c.version(), c.code());
            out.definitions_differ |= *definitions
                .entry((c.module(), c.name()))
                .or_insert(definition)
                != definition;
        }
        if ids.is_none_or(|(read, _, keys)| keys != 0 && seen_tags.insert((read, keys))) {
            tags.extend(c.tag_keys());
        }
        let (e, g, r) = c.built_in_namespaces();
        out.environment |= e;
        out.git |= g;
        out.resources |= r;
    }
    out.tag_keys = tags.into_iter().map(str::to_owned).collect();
    out
}

/// A key's first 8 bytes as a number, which orders keys as their bytes do.
fn first_bytes(d: &Digest) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&d.as_bytes()[..8]);
    u64::from_be_bytes(first)
}

/// A row's index: a call key's first hex characters, kept in the row itself when there are
/// few (always, but for keys that share a long prefix), so a table of many calls does not
/// allocate one string per row.
#[derive(Clone)]
enum Index {
    Short { len: u8, hex: [u8; SHORT_INDEX] },
    Long(Box<str>),
}

/// Hex characters an [`Index`] holds in place.
const SHORT_INDEX: usize = 22;

impl Index {
    fn of(d: &Digest, len: usize) -> Index {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let len = len.min(Digest::HEX_LEN);
        let nibble = |i: usize| {
            let b = d.as_bytes()[i / 2];
            HEX[usize::from(if i.is_multiple_of(2) {
                b >> 4
            } else {
                b & 0x0f
            })]
        };
        if len <= SHORT_INDEX {
            let mut hex = [0u8; SHORT_INDEX];
            for (i, h) in hex.iter_mut().enumerate().take(len) {
                *h = nibble(i);
            }
            Index::Short {
                len: len as u8,
                hex,
            }
        } else {
            Index::Long((0..len).map(|i| nibble(i) as char).collect())
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Index::Short { len, hex } => {
                std::str::from_utf8(&hex[..usize::from(*len)]).expect("hex digits are ASCII")
            }
            Index::Long(s) => s,
        }
    }
}

fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}
