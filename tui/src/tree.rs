//! The value tree of the call view: call metadata, arguments and result as expandable nodes.
//! A stored value is read only when its node is first opened, and a container shows its
//! children a page at a time, so a 100 MB result opens at the cost of its first page.

use std::sync::Arc;

use fleche::Digest;

use crate::cbor::{self, Head};

/// Children shown per page of a large container; the rest sit behind a "more" row.
pub const PAGE: u64 = 200;
/// At most this many nodes are opened by one "expand everything below" key press.
pub const EXPAND_BUDGET: usize = 5_000;

/// Index of a node in its [`Tree`].
pub type NodeId = usize;

/// Where the tree reads stored values from (the cache, or a map in tests).
pub trait ValueStore {
    /// The encoded bytes stored under `digest`, `None` if absent; errors as text.
    fn value(&self, digest: &Digest) -> Result<Option<Vec<u8>>, String>;
}

impl ValueStore for fleche::Cache {
    fn value(&self, digest: &Digest) -> Result<Option<Vec<u8>>, String> {
        self.value_bytes(digest).map_err(|e| e.to_string())
    }
}

/// A store with no values, for opening nodes that need none (headings).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoValues;

impl ValueStore for NoValues {
    fn value(&self, _: &Digest) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
}

/// One stored value that has been read.
#[derive(Debug)]
pub struct Value {
    /// Its encoded bytes.
    pub bytes: Vec<u8>,
    /// Its digest.
    pub digest: Digest,
}

/// A stored value not read yet.
#[derive(Debug, Clone)]
pub struct Unread {
    /// Its digest.
    pub digest: Digest,
    /// What is known without reading it (type and size), for display.
    pub hint: String,
    /// A summary computed earlier (for filtering), if any.
    pub summary: Option<String>,
}

/// What a node shows.
#[derive(Debug, Clone)]
pub enum Body {
    /// A heading (`call`, `arguments`) or a fixed line of metadata.
    Text(String),
    /// A stored value, read when the node is opened.
    Unread(Unread),
    /// A CBOR item inside a read value; `end` is known once a sibling walk skipped it.
    Item {
        /// The whole value it belongs to.
        value: Arc<Value>,
        /// Offset of the item.
        at: usize,
        /// Offset after it, when known.
        end: Option<usize>,
    },
    /// "… N more": opening it shows the next page of its parent's children.
    More {
        /// How many children are not shown yet, if known.
        remaining: Option<u64>,
    },
    /// Something could not be read or decoded; shown in place.
    Error(String),
}

#[derive(Debug, Clone)]
enum Children {
    /// Nothing to expand.
    Leaf,
    /// Not listed yet.
    Unlisted,
    /// Listed (maybe only the first pages).
    Listed(Vec<NodeId>),
}

/// Where the next page of a container's children starts.
#[derive(Debug, Clone, Copy)]
enum Cursor {
    /// CBOR array or map: byte offset and index of the next child.
    Items { pos: usize, index: u64 },
    /// Typed array: index of the next element.
    Elems { index: u64 },
}

/// A node of the tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Field name, `[index]`, argument name or heading.
    pub label: String,
    /// Parent node.
    pub parent: Option<NodeId>,
    /// Nesting depth (roots are 0).
    pub depth: usize,
    /// Whether its children are shown.
    pub expanded: bool,
    /// What it shows.
    pub body: Body,
    /// For the roots of stored values: the digest to yank.
    pub digest: Option<Digest>,
    children: Children,
    cursor: Option<Cursor>,
}

/// The tree of one call: nodes, roots, and the rows currently visible.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    nodes: Vec<Node>,
    roots: Vec<NodeId>,
    rows: Vec<NodeId>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree::default()
    }

    /// Adds a root or a child of `parent` and returns it.
    pub fn add(&mut self, parent: Option<NodeId>, label: impl Into<String>, body: Body) -> NodeId {
        let id = self.nodes.len();
        let depth = parent.map_or(0, |p| self.nodes[p].depth + 1);
        let children = match &body {
            Body::Text(_) | Body::Error(_) | Body::More { .. } => Children::Leaf,
            Body::Unread(_) => Children::Unlisted,
            Body::Item { value, at, .. } => {
                if expandable(&value.bytes, *at) {
                    Children::Unlisted
                } else {
                    Children::Leaf
                }
            }
        };
        self.nodes.push(Node {
            label: label.into(),
            parent,
            depth,
            expanded: false,
            body,
            digest: None,
            children,
            cursor: None,
        });
        match parent {
            Some(p) => match &mut self.nodes[p].children {
                Children::Listed(c) => c.push(id),
                other => *other = Children::Listed(vec![id]),
            },
            None => self.roots.push(id),
        }
        id
    }

    /// Marks a node as the root of the stored value `digest` (for yanking).
    pub fn set_digest(&mut self, id: NodeId, digest: Digest) {
        self.nodes[id].digest = Some(digest);
    }

    /// A node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Number of nodes created so far.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the tree has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The visible rows, top to bottom.
    pub fn rows(&self) -> &[NodeId] {
        &self.rows
    }

    /// Whether the node can be expanded (or is).
    pub fn has_children(&self, id: NodeId) -> bool {
        !matches!(self.nodes[id].children, Children::Leaf)
    }

    /// The listed children of a node.
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        match &self.nodes[id].children {
            Children::Listed(c) => c,
            _ => &[],
        }
    }

    fn siblings(&self, id: NodeId) -> &[NodeId] {
        match self.nodes[id].parent {
            Some(p) => self.children(p),
            None => &self.roots,
        }
    }

    /// Recomputes the visible rows after nodes were opened or closed.
    pub fn refresh(&mut self) {
        let mut rows = Vec::new();
        let mut stack: Vec<NodeId> = self.roots.iter().rev().copied().collect();
        while let Some(id) = stack.pop() {
            rows.push(id);
            if self.nodes[id].expanded {
                stack.extend(self.children(id).iter().rev());
            }
        }
        self.rows = rows;
    }

    /// Opens a node: reads its value if needed, lists its first page of children. Opening a
    /// "more" row lists the next page of its parent instead.
    pub fn expand(&mut self, id: NodeId, store: &dyn ValueStore) {
        if let Body::More { .. } = self.nodes[id].body {
            if let Some(parent) = self.nodes[id].parent {
                self.next_page(parent, Some(id));
            }
            return;
        }
        if let Body::Unread(unread) = &self.nodes[id].body {
            let digest = unread.digest;
            self.nodes[id].body = match store.value(&digest) {
                Ok(Some(bytes)) => {
                    let leaf = !expandable(&bytes, 0);
                    let body = Body::Item {
                        end: Some(bytes.len()),
                        value: Arc::new(Value { bytes, digest }),
                        at: 0,
                    };
                    if leaf {
                        self.nodes[id].children = Children::Leaf;
                    }
                    body
                }
                Ok(None) => {
                    self.nodes[id].children = Children::Leaf;
                    Body::Error(format!("value {digest} is not in the cache"))
                }
                Err(e) => {
                    self.nodes[id].children = Children::Leaf;
                    Body::Error(e)
                }
            };
        }
        if matches!(self.nodes[id].children, Children::Unlisted) {
            self.list(id);
        }
        if self.has_children(id) {
            self.nodes[id].expanded = true;
        }
    }

    /// Closes a node (its children stay listed, so reopening is free).
    pub fn collapse(&mut self, id: NodeId) {
        self.nodes[id].expanded = false;
    }

    /// Opens a closed node, closes an open one.
    pub fn toggle(&mut self, id: NodeId, store: &dyn ValueStore) {
        if self.nodes[id].expanded {
            self.collapse(id);
        } else {
            self.expand(id, store);
        }
    }

    /// Opens every sibling of `id` (and `id`) that is already read; unread values stay closed
    /// so that one key press never reads many stored values.
    pub fn expand_siblings(&mut self, id: NodeId, store: &dyn ValueStore) {
        for s in self.siblings(id).to_vec() {
            if !matches!(self.nodes[s].body, Body::Unread(_) | Body::More { .. }) {
                self.expand(s, store);
            }
        }
        if matches!(self.nodes[id].body, Body::Unread(_)) {
            self.expand(id, store);
        }
    }

    /// Closes `id` and every sibling.
    pub fn collapse_siblings(&mut self, id: NodeId) {
        for s in self.siblings(id).to_vec() {
            self.nodes[s].expanded = false;
        }
    }

    /// Opens `id` and everything below it that is already read, up to [`EXPAND_BUDGET`] nodes.
    pub fn expand_deep(&mut self, id: NodeId, store: &dyn ValueStore) {
        self.expand(id, store);
        let mut stack = vec![id];
        let start = self.nodes.len();
        while let Some(n) = stack.pop() {
            if self.nodes.len() - start > EXPAND_BUDGET {
                break;
            }
            for c in self.children(n).to_vec() {
                if matches!(self.nodes[c].body, Body::Item { .. }) && self.has_children(c) {
                    self.expand(c, store);
                    stack.push(c);
                }
            }
        }
    }

    /// Shows the tree down to `level` (1 = roots only): nodes above it open (if read),
    /// nodes at or below it closed.
    pub fn collapse_to_level(&mut self, level: usize, store: &dyn ValueStore) {
        let mut stack: Vec<NodeId> = self.roots.clone();
        while let Some(n) = stack.pop() {
            if self.nodes[n].depth + 1 >= level {
                self.nodes[n].expanded = false;
                continue;
            }
            let readable = !matches!(self.nodes[n].body, Body::Unread(_) | Body::More { .. });
            if readable || self.nodes[n].expanded {
                self.expand(n, store);
            }
            if self.nodes[n].expanded {
                stack.extend(self.children(n).iter().copied());
            }
        }
    }

    /// Lists the first page of children of a read node.
    fn list(&mut self, id: NodeId) {
        let Body::Item { value, at, .. } = &self.nodes[id].body else {
            self.nodes[id].children = Children::Leaf;
            return;
        };
        let (value, at) = (Arc::clone(value), *at);
        let bytes = &value.bytes;
        let at = untag(bytes, at);
        let Ok(item) = cbor::head(bytes, at) else {
            self.nodes[id].children = Children::Leaf;
            return;
        };
        self.nodes[id].children = Children::Listed(Vec::new());
        self.nodes[id].cursor = Some(match cbor::typed_array(bytes, &item) {
            Some(_) => Cursor::Elems { index: 0 },
            None => Cursor::Items {
                pos: item.content,
                index: 0,
            },
        });
        self.next_page(id, None);
    }

    /// Lists the next page of `id`'s children, replacing the "more" row `more` if given.
    fn next_page(&mut self, id: NodeId, more: Option<NodeId>) {
        if let (Some(m), Children::Listed(c)) = (more, &mut self.nodes[id].children) {
            c.retain(|&x| x != m);
        }
        let Some(cursor) = self.nodes[id].cursor.take() else {
            return;
        };
        let Body::Item { value, at, .. } = &self.nodes[id].body else {
            return;
        };
        let value = Arc::clone(value);
        let bytes = &value.bytes;
        let at = untag(bytes, *at);
        let Ok(item) = cbor::head(bytes, at) else {
            return;
        };
        match cursor {
            Cursor::Elems { index } => {
                let Some(ta) = cbor::typed_array(bytes, &item) else {
                    return;
                };
                let stop = ta.len.min(index + PAGE);
                for i in index..stop {
                    let text = ta.nth(bytes, i).unwrap_or_default();
                    self.add(Some(id), format!("[{i}]"), Body::Text(text));
                }
                if stop < ta.len {
                    self.nodes[id].cursor = Some(Cursor::Elems { index: stop });
                    self.add(
                        Some(id),
                        "",
                        Body::More {
                            remaining: Some(ta.len - stop),
                        },
                    );
                }
            }
            Cursor::Items { mut pos, index } => {
                let (count, is_map) = match item.head {
                    Head::Array(n) => (n, false),
                    Head::Map(n) => (n, true),
                    _ => return,
                };
                let stop = index + PAGE;
                let mut i = index;
                loop {
                    if count.is_some_and(|n| i >= n) {
                        return;
                    }
                    if count.is_none() {
                        match cbor::head(bytes, pos) {
                            Ok(h) if h.head == Head::Break => return,
                            Ok(_) => {}
                            Err(e) => {
                                self.add(Some(id), format!("[{i}]"), Body::Error(e.0));
                                return;
                            }
                        }
                    }
                    if i >= stop {
                        self.nodes[id].cursor = Some(Cursor::Items { pos, index: i });
                        self.add(
                            Some(id),
                            "",
                            Body::More {
                                remaining: count.map(|n| n - i),
                            },
                        );
                        return;
                    }
                    let label = if is_map {
                        match map_key(bytes, pos) {
                            Ok((label, next)) => {
                                pos = next;
                                label
                            }
                            Err(e) => {
                                self.add(Some(id), format!("[{i}]"), Body::Error(e.0));
                                return;
                            }
                        }
                    } else {
                        format!("[{i}]")
                    };
                    // The last child of a definite container needs no skip (nothing follows
                    // it), which keeps deeply nested values linear to open.
                    let last = count.is_some_and(|n| i + 1 == n);
                    if last {
                        let body = Body::Item {
                            value: Arc::clone(&value),
                            at: pos,
                            end: None,
                        };
                        self.add(Some(id), label, body);
                        return;
                    }
                    match cbor::skip(bytes, pos) {
                        Ok(end) => {
                            let body = Body::Item {
                                value: Arc::clone(&value),
                                at: pos,
                                end: Some(end),
                            };
                            self.add(Some(id), label, body);
                            pos = end;
                        }
                        Err(e) => {
                            self.add(Some(id), label, Body::Error(e.0));
                            return;
                        }
                    }
                    i += 1;
                }
            }
        }
    }

    /// The path of a node from its value's root: `result.points[3].x`.
    pub fn path(&self, id: NodeId) -> String {
        let mut parts = Vec::new();
        let mut n = Some(id);
        while let Some(i) = n {
            let node = &self.nodes[i];
            if node.parent.is_none() && node.label == "arguments" {
                break;
            }
            parts.push(node.label.clone());
            n = node.parent;
        }
        let mut out = String::new();
        for p in parts.iter().rev() {
            if p.starts_with('[') {
                out.push_str(p);
            } else if is_ident(p) {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(p);
            } else {
                out.push_str(&format!("[{p:?}]"));
            }
        }
        out
    }

    /// The digest of the stored value a node belongs to (its own or its nearest ancestor's).
    pub fn digest(&self, id: NodeId) -> Option<Digest> {
        let mut n = Some(id);
        while let Some(i) = n {
            if let Some(d) = self.nodes[i].digest {
                return Some(d);
            }
            if let Body::Item { value, .. } = &self.nodes[i].body {
                return Some(value.digest);
            }
            n = self.nodes[i].parent;
        }
        None
    }

    /// The full text of a node's value, for yanking (bounded to 1 MB of text).
    pub fn value_text(&self, id: NodeId) -> String {
        match &self.nodes[id].body {
            Body::Text(t) | Body::Error(t) => t.clone(),
            Body::Unread(u) => u.summary.clone().unwrap_or_else(|| u.digest.to_string()),
            Body::Item { value, at, .. } => {
                let bytes = &value.bytes;
                if let Ok(item) = cbor::head(bytes, *at)
                    && let Head::Text(_) = item.head
                    && let Ok((b, _, _)) = cbor::string_bytes(bytes, &item, 1 << 20)
                {
                    return String::from_utf8_lossy(&b).into_owned();
                }
                cbor::summary(bytes, *at, 1 << 20)
            }
            Body::More { .. } => String::new(),
        }
    }

    /// One line describing a node's value, at most `width` characters: a summary when closed,
    /// its kind and size when open.
    pub fn describe(&self, id: NodeId, width: usize) -> String {
        let node = &self.nodes[id];
        match &node.body {
            Body::Text(t) => {
                let mut s = String::new();
                cbor::escape_text(t, &mut s);
                s
            }
            Body::Error(e) => format!("<{e}>"),
            Body::More { remaining } => match remaining {
                Some(n) => format!("… {} more (l to show)", group(*n)),
                None => "… more (l to show)".to_owned(),
            },
            Body::Unread(u) => match &u.summary {
                Some(s) => format!("{s}  · {}", u.hint),
                None => format!("{} · not read (l to open)", u.hint),
            },
            Body::Item { value, at, end } => {
                let bytes = &value.bytes;
                let size = end.map(|e| e.saturating_sub(*at));
                let inner = untag(bytes, *at);
                let shape = shape(bytes, inner);
                if node.expanded {
                    let mut s = cbor::kind_name(bytes, *at);
                    if let Some(shape) = shape {
                        s.push_str(&format!(" ({shape})"));
                    }
                    if let Some(size) = size {
                        s.push_str(&format!(" · {}", human_size(size as u64)));
                    }
                    s
                } else {
                    let mut s = cbor::summary(bytes, *at, width.max(8));
                    if let Some(shape) = shape {
                        let extra = format!("  ({shape})");
                        if s.chars().count() + extra.chars().count() <= width + 16 {
                            s.push_str(&extra);
                        }
                    }
                    s
                }
            }
        }
    }
}

/// The item under any non-typed-array tags (bounded, so a chain of tags cannot loop).
fn untag(bytes: &[u8], mut at: usize) -> usize {
    for _ in 0..64 {
        match cbor::head(bytes, at) {
            Ok(item) if matches!(item.head, Head::Tag(_)) => {
                if cbor::typed_array(bytes, &item).is_some() {
                    return at;
                }
                at = item.content;
            }
            _ => return at,
        }
    }
    at
}

/// Whether the item at `at` has children to show.
fn expandable(bytes: &[u8], at: usize) -> bool {
    let at = untag(bytes, at);
    match cbor::head(bytes, at) {
        Ok(item) => match item.head {
            Head::Array(n) | Head::Map(n) => n != Some(0),
            Head::Tag(_) => cbor::typed_array(bytes, &item).is_some_and(|t| t.len > 0),
            _ => false,
        },
        Err(_) => false,
    }
}

/// "3 fields", "1,000 items".
fn shape(bytes: &[u8], at: usize) -> Option<String> {
    let item = cbor::head(bytes, at).ok()?;
    match item.head {
        Head::Array(Some(n)) => Some(plural(n, "item")),
        Head::Map(Some(n)) => Some(plural(n, "field")),
        Head::Tag(_) => cbor::typed_array(bytes, &item).map(|t| plural(t.len, "item")),
        Head::Text(Some(n)) if n > 60 => Some(format!("{} chars", group(n))),
        _ => None,
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{} {what}s", group(n))
    }
}

/// Reads a map key at `pos`: its label and the offset of the value after it.
fn map_key(bytes: &[u8], pos: usize) -> Result<(String, usize), cbor::CborError> {
    match cbor::key_label(bytes, pos)? {
        (label, Some(end)) => Ok((label, end)),
        (_, None) => {
            let end = cbor::skip(bytes, pos)?;
            Ok((cbor::summary(bytes, pos, 40), end))
        }
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// 1234567 -> "1,234,567".
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count for people: `812 B`, `3.4 kB`, `100.0 MB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 999.95 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<Digest, Vec<u8>>, std::cell::Cell<usize>);
    impl ValueStore for Map {
        fn value(&self, d: &Digest) -> Result<Option<Vec<u8>>, String> {
            self.1.set(self.1.get() + 1);
            Ok(self.0.get(d).cloned())
        }
    }

    fn enc<T: serde::Serialize>(v: &T) -> Vec<u8> {
        fleche::codec::encode(v).unwrap()
    }

    fn tree_of(bytes: Vec<u8>) -> (Tree, Map, NodeId) {
        let d = Digest::from_bytes([9; 32]);
        let store = Map(HashMap::from([(d, bytes)]), std::cell::Cell::new(0));
        let mut t = Tree::new();
        let r = t.add(
            None,
            "result",
            Body::Unread(Unread {
                digest: d,
                hint: "T".into(),
                summary: None,
            }),
        );
        t.set_digest(r, d);
        t.refresh();
        (t, store, r)
    }

    #[test]
    fn values_are_read_only_when_opened_and_paged() {
        let v: Vec<u32> = (0..1000).collect();
        let (mut t, store, r) = tree_of(enc(&v));
        assert_eq!(store.1.get(), 0);
        t.expand(r, &store);
        assert_eq!(store.1.get(), 1);
        t.refresh();
        // the root, a page of children and a "more" row
        assert_eq!(t.rows().len(), 1 + PAGE as usize + 1);
        let more = *t.rows().last().unwrap();
        assert!(t.describe(more, 40).contains("800 more"));
        t.expand(more, &store);
        t.refresh();
        assert_eq!(t.rows().len(), 1 + 2 * PAGE as usize + 1);
        assert_eq!(t.path(t.rows()[5]), "result[4]");
        assert_eq!(store.1.get(), 1);
    }

    #[test]
    fn maps_show_field_names_and_paths() {
        #[derive(serde::Serialize)]
        struct Inner {
            value: f64,
        }
        #[derive(serde::Serialize)]
        struct Outer {
            name: String,
            inner: Inner,
        }
        let (mut t, store, r) = tree_of(enc(&Outer {
            name: "n".into(),
            inner: Inner { value: 2.5 },
        }));
        t.expand_deep(r, &store);
        t.refresh();
        let labels: Vec<_> = t.rows().iter().map(|&i| t.node(i).label.clone()).collect();
        assert_eq!(labels, ["result", "name", "inner", "value"]);
        assert_eq!(t.path(t.rows()[3]), "result.inner.value");
        assert_eq!(t.value_text(t.rows()[1]), "n");
        assert_eq!(t.describe(t.rows()[3], 20), "2.5");
        t.collapse_to_level(2, &store);
        t.refresh();
        assert_eq!(t.rows().len(), 3);
    }

    #[test]
    fn a_100_mb_result_opens_at_the_cost_of_its_first_page() {
        // A typed f64 array (RFC 8746 tag 86) of 100,000,000 bytes.
        let n: u32 = 100_000_000;
        let mut bytes = vec![0xd8, 86, 0x5a];
        bytes.extend_from_slice(&n.to_be_bytes());
        bytes.resize(bytes.len() + n as usize, 0);
        let (mut t, store, r) = tree_of(bytes);
        let started = std::time::Instant::now();
        t.expand(r, &store);
        t.refresh();
        assert_eq!(t.rows().len(), 1 + PAGE as usize + 1);
        assert_eq!(t.describe(r, 80), "f64[] (12,500,000 items) · 100.0 MB");
        assert_eq!(t.describe(t.rows()[1], 80), "0.0");
        assert!(
            t.describe(*t.rows().last().unwrap(), 80)
                .contains("12,499,800 more")
        );
        // An array of two million CBOR items: only the first page is walked.
        let v: Vec<Option<u32>> = (0..2_000_000).map(|i| (i % 2 == 0).then_some(i)).collect();
        let (mut t, store, r) = tree_of(enc(&v));
        t.expand(r, &store);
        t.refresh();
        assert_eq!(t.rows().len(), 1 + PAGE as usize + 1);
        let d = t.describe(r, 80);
        assert!(d.starts_with("array (2,000,000 items)"), "{d}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn sizes_and_counts_read_nicely() {
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(100_000_000), "100.0 MB");
    }
}
