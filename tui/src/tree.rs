//! The value tree of the call view: call metadata, arguments and result as expandable nodes.
//! A stored value is read only when its node is first opened, and then only its first
//! megabyte ([`HEAD_BYTES`]); a container shows its children a page at a time, and paging past
//! what was read reads more. So a 100 MB result opens at the cost of its first page.
//!
//! Values are inspected with `fleche::codec::inspect`, through [`fleche::codec::Prefix`] for
//! the items a partial read cuts short.

use std::sync::Arc;

use fleche::codec::Prefix;
use fleche::codec::inspect::Kind;
use fleche::record::CallRecord;
use fleche::{Digest, ValueHead};

use crate::value::{self, expandable, kind_name};
pub use crate::value::{group, human_size};

/// Children shown per page of a large container; the rest sit behind a "more" row.
pub const PAGE: usize = 200;
/// At most this many nodes are opened by one "expand everything below" key press.
pub const EXPAND_BUDGET: usize = 5_000;
/// Bytes of a stored value read when its node is first opened; paging past them reads four
/// times as many, up to the whole value.
pub const HEAD_BYTES: usize = 1 << 20;

/// Index of a node in its [`Tree`].
pub type NodeId = usize;

/// Where the call view reads what it shows from (the cache, or maps in tests): a call's
/// record when the call is opened (rows keep only what the table needs), stored values as
/// their nodes open.
pub trait ValueStore {
    /// The size of the value stored under `digest` and at most its first `max_bytes` bytes,
    /// `None` if absent; errors as text.
    fn value_head(&self, digest: &Digest, max_bytes: usize) -> Result<Option<ValueHead>, String>;

    /// The record of call `key`, `None` if it is not stored (any more); a record that does
    /// not decode is an error, as text.
    fn record(&self, key: &Digest) -> Result<Option<CallRecord>, String>;
}

impl ValueStore for fleche::Cache {
    fn value_head(&self, digest: &Digest, max_bytes: usize) -> Result<Option<ValueHead>, String> {
        fleche::Cache::value_head(self, digest, max_bytes).map_err(|e| e.to_string())
    }

    fn record(&self, key: &Digest) -> Result<Option<CallRecord>, String> {
        let found = self.records_of(&[*key]).map_err(|e| e.to_string())?;
        match found.into_iter().next() {
            None => Ok(None),
            Some(paged) => paged.record.map(Some).map_err(|e| e.reason),
        }
    }
}

/// A store with no values, for opening nodes that need none (headings).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoValues;

impl ValueStore for NoValues {
    fn value_head(&self, _: &Digest, _: usize) -> Result<Option<ValueHead>, String> {
        Ok(None)
    }

    fn record(&self, _: &Digest) -> Result<Option<CallRecord>, String> {
        Ok(None)
    }
}

/// The bytes read of one stored value.
#[derive(Debug)]
pub struct Value {
    /// Its size and first bytes (maybe all of them).
    pub head: ValueHead,
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
    /// The Rust type of the value, when the call record names it (results).
    pub type_name: Option<String>,
}

/// One item of a read value.
#[derive(Debug, Clone)]
pub struct Part {
    /// The bytes read of the value it belongs to.
    pub value: Arc<Value>,
    /// Offset of the item in the value.
    pub at: usize,
    /// Its encoded length, when the bytes read hold all of it (else it is cut).
    pub len: Option<usize>,
    /// Its encoded size as stored, when known.
    pub size: Option<u64>,
    /// Its kind, as shown when open: `map`, `f64[]`.
    pub kind: String,
    /// How many children or characters, when worth saying: `3 fields`.
    pub shape: Option<String>,
    /// The Rust type, for the root of a result.
    pub type_name: Option<String>,
}

impl Part {
    /// The item, read again from the value's bytes (cheap for a cut item: its head only).
    fn item(&self) -> Option<Prefix<'_>> {
        let bytes = self.value.head.bytes.get(self.at..)?;
        match self.len {
            Some(len) => Prefix::read(bytes.get(..len)?, false).ok(),
            None => fleche::codec::Cut::read(bytes).map(Prefix::Cut),
        }
    }

    /// Its one-line summary. Drawn for every visible row, so it never walks the item: a
    /// whole one goes straight to the inspector's summary, bounded by the width.
    fn summary(&self, width: usize) -> String {
        let bytes = &self.value.head.bytes[self.at.min(self.value.head.bytes.len())..];
        match self.len {
            Some(len) => fleche::codec::inspect::summary(&bytes[..len.min(bytes.len())], width),
            None => self
                .item()
                .map(|item| value::summary(&item, width))
                .unwrap_or_default(),
        }
    }
}

/// What a node shows.
#[derive(Debug, Clone)]
pub enum Body {
    /// A heading (`call`, `arguments`), a fixed line of metadata, or a typed-array element.
    Text(String),
    /// A stored value, read when the node is opened.
    Unread(Unread),
    /// An item inside a read value.
    Item(Part),
    /// "… N more": opening it shows the next page of its parent's children.
    More {
        /// How many children are not shown yet.
        remaining: usize,
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
    /// How many children of a read item are listed (the next page starts there).
    listed: usize,
}

/// The tree of one call: nodes, roots, and the rows currently visible.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    nodes: Vec<Node>,
    roots: Vec<NodeId>,
    rows: Vec<NodeId>,
}

/// One child found while listing a page, before it becomes a node.
enum Found {
    Node(String, Body, bool),
    Error(String, String),
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree::default()
    }

    /// Adds a root or a child of `parent` and returns it. An item node can be opened if it
    /// has children; a stored value, until it is read and found to have none.
    pub fn add(&mut self, parent: Option<NodeId>, label: impl Into<String>, body: Body) -> NodeId {
        let children = match &body {
            Body::Unread(_) => Children::Unlisted,
            _ => Children::Leaf,
        };
        self.push(parent, label.into(), body, children)
    }

    fn push(
        &mut self,
        parent: Option<NodeId>,
        label: String,
        body: Body,
        children: Children,
    ) -> NodeId {
        let id = self.nodes.len();
        let depth = parent.map_or(0, |p| self.nodes[p].depth + 1);
        self.nodes.push(Node {
            label,
            parent,
            depth,
            expanded: false,
            body,
            digest: None,
            children,
            listed: 0,
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
                if let Children::Listed(c) = &mut self.nodes[parent].children {
                    c.retain(|&x| x != id);
                }
                self.next_page(parent, store);
            }
            return;
        }
        if let Body::Unread(unread) = &self.nodes[id].body {
            let unread = unread.clone();
            match read(&unread, store) {
                Ok((part, open)) => {
                    self.nodes[id].body = Body::Item(part);
                    if open {
                        self.nodes[id].children = Children::Unlisted;
                    }
                }
                Err(e) => {
                    self.nodes[id].body = Body::Error(e);
                    self.nodes[id].children = Children::Leaf;
                }
            }
        }
        if matches!(self.nodes[id].children, Children::Unlisted) {
            self.nodes[id].children = Children::Listed(Vec::new());
            self.next_page(id, store);
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
                if matches!(self.nodes[c].body, Body::Item(_)) && self.has_children(c) {
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

    /// Lists the next page of a read item's children, and a "more" row if some are left.
    /// When the bytes read end before the page does, reads more of the value first.
    fn next_page(&mut self, id: NodeId, store: &dyn ValueStore) {
        let Body::Item(part) = &self.nodes[id].body else {
            return;
        };
        let mut part = part.clone();
        let from = self.nodes[id].listed;
        let (found, total) = loop {
            let Some(item) = part.item() else {
                return;
            };
            let (found, total, short) = page(&part.value, untag(item), from);
            if !short || part.value.head.is_whole() {
                break (found, total);
            }
            match grow(&part, store) {
                // A store that gives no more bytes than before has no more to give.
                Ok((bigger, _)) if read_len(&bigger) > read_len(&part) => part = bigger,
                Ok(_) => break (found, total),
                Err(e) => break (vec![Found::Error(String::new(), e)], from),
            }
        };
        self.nodes[id].body = Body::Item(part);
        let mut listed = from;
        for f in found {
            match f {
                Found::Node(label, body, open) => {
                    let children = if open {
                        Children::Unlisted
                    } else {
                        Children::Leaf
                    };
                    self.push(Some(id), label, body, children);
                    listed += 1;
                }
                Found::Error(label, e) => {
                    self.add(Some(id), label, Body::Error(e));
                    // Nothing after a child that cannot be read is shown.
                    self.nodes[id].listed = total;
                    return;
                }
            }
        }
        self.nodes[id].listed = listed;
        if listed < total {
            self.add(
                Some(id),
                "",
                Body::More {
                    remaining: total - listed,
                },
            );
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
            if let Body::Item(part) = &self.nodes[i].body {
                return Some(part.value.digest);
            }
            n = self.nodes[i].parent;
        }
        None
    }

    /// The full text of a node's value, for yanking (bounded to 1 MB of text).
    pub fn value_text(&self, id: NodeId) -> String {
        const MAX: usize = 1 << 20;
        match &self.nodes[id].body {
            Body::Text(t) | Body::Error(t) => t.clone(),
            Body::Unread(u) => u.summary.clone().unwrap_or_else(|| u.digest.to_string()),
            Body::Item(part) => match part.item() {
                Some(item) => match item.kind() {
                    Kind::Text(text) => text.chars().take(MAX).collect(),
                    _ => value::summary(&item, MAX),
                },
                None => String::new(),
            },
            Body::More { .. } => String::new(),
        }
    }

    /// One line describing a node's value, at most about `width` characters: a summary when
    /// closed, its kind and size when open (and the Rust type of a result).
    pub fn describe(&self, id: NodeId, width: usize) -> String {
        let node = &self.nodes[id];
        match &node.body {
            Body::Text(t) => value::escape(t),
            Body::Error(e) => format!("<{e}>"),
            Body::More { remaining } => format!("… {} more (l to show)", group(*remaining as u64)),
            Body::Unread(u) => match &u.summary {
                Some(s) => format!("{s}  · {}", u.hint),
                None => format!("{} · not read (l to open)", u.hint),
            },
            // An open container describes itself; an open scalar still shows its value.
            Body::Item(part) if node.expanded && part.shape.is_some() => {
                let mut s = String::new();
                if let Some(t) = &part.type_name {
                    s.push_str(t);
                    s.push_str(" · ");
                }
                s.push_str(&part.kind);
                if let Some(shape) = &part.shape {
                    s.push_str(&format!(" ({shape})"));
                }
                if let Some(size) = part.size {
                    s.push_str(" · ");
                    s.push_str(&human_size(size));
                }
                s
            }
            Body::Item(part)
                if part
                    .type_name
                    .as_deref()
                    .is_some_and(fleche::display::is_option_type) =>
            {
                // An `Option` is stored as its value or as null: the recorded type tells them
                // apart from a plain value.
                if part.kind == "null" {
                    "None".to_owned()
                } else {
                    format!("Some({})", part.summary(width.saturating_sub(6).max(8)))
                }
            }
            Body::Item(part) => {
                let mut s = part.summary(width.max(8));
                // A cut container's summary ends with its count already: `… (1000 items)]`.
                let counted = ["item)]", "items)]", "entry)}", "entries)}"];
                if let Some(shape) = part
                    .shape
                    .as_ref()
                    .filter(|_| !counted.iter().any(|c| s.ends_with(c)))
                {
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

/// The node for an item of a read value, and whether it can be opened.
fn part(value: &Arc<Value>, item: &Prefix<'_>) -> (Part, bool) {
    let raw = item.raw();
    // The item's bytes lie inside the value's: its offset is the distance between them.
    let at = raw.as_ptr() as usize - value.head.bytes.as_ptr() as usize;
    let (len, size) = match item {
        Prefix::Whole(_) => (Some(raw.len()), Some(raw.len() as u64)),
        Prefix::Cut(_) if at == 0 => (None, Some(value.head.size)),
        Prefix::Cut(cut) => (None, cut.stored_len()),
    };
    let mut kind = String::new();
    let mut inner = *item;
    while let kind_now @ (Kind::Tag(_) | Kind::Some) = inner.kind() {
        kind.push_str(&format!("{} · ", kind_name(&kind_now)));
        match first_child(&inner) {
            Some(child) if kind.len() < 256 => inner = child,
            _ => break,
        }
    }
    kind.push_str(&kind_name(&inner.kind()));
    let part = Part {
        value: Arc::clone(value),
        at,
        len,
        size,
        kind,
        shape: value::shape(&inner),
        type_name: None,
    };
    (part, expandable(&inner.kind()))
}

fn first_child<'a>(item: &Prefix<'a>) -> Option<Prefix<'a>> {
    match item {
        Prefix::Whole(item) => item.children().next()?.ok().map(|c| Prefix::Whole(c.value)),
        Prefix::Cut(cut) => cut.children().next().map(|c| c.value),
    }
}

/// The item under any tags that are not typed arrays (bounded: tags may nest deeply).
fn untag(mut item: Prefix<'_>) -> Prefix<'_> {
    for _ in 0..64 {
        match item.kind() {
            Kind::Tag(_) | Kind::Some => match first_child(&item) {
                Some(child) => item = child,
                None => return item,
            },
            _ => return item,
        }
    }
    item
}

/// Children `from..from + PAGE` of an item, how many it has in all, and whether the bytes
/// read ended before the page did.
fn page(value: &Arc<Value>, item: Prefix<'_>, from: usize) -> (Vec<Found>, usize, bool) {
    let mut found = Vec::new();
    let node = |label: String, child: &Prefix<'_>| {
        let (part, open) = part(value, child);
        Found::Node(label, Body::Item(part), open)
    };
    let element = |i: usize, text: String| Found::Node(format!("[{i}]"), Body::Text(text), false);
    let label = |i: usize, key: Option<&fleche::codec::inspect::Item<'_>>| match key {
        Some(key) => value::key_text(key, false),
        None => format!("[{i}]"),
    };
    let total = match item.kind() {
        Kind::Array { len } | Kind::Map { len } | Kind::TypedArray { len, .. } => len,
        _ => 0,
    };
    let stop = total.min(from.saturating_add(PAGE));
    match (item, item.kind()) {
        (Prefix::Whole(item), Kind::TypedArray { elem, .. }) => {
            for (i, child) in item.children().enumerate().take(stop).skip(from) {
                let text = match child {
                    Ok(c) => value::number(&c.value.kind(), elem),
                    Err(e) => e.to_string(),
                };
                found.push(element(i, text));
            }
        }
        (Prefix::Cut(cut), Kind::TypedArray { elem, .. }) => {
            for i in from..stop {
                match cut.element(i) {
                    Some(kind) => found.push(element(i, value::number(&kind, elem))),
                    None => return (found, total, true),
                }
            }
        }
        (Prefix::Whole(item), _) => {
            for (i, child) in item.children().enumerate().take(stop).skip(from) {
                match child {
                    Ok(c) => found.push(node(label(i, c.key.as_ref()), &Prefix::Whole(c.value))),
                    Err(e) => {
                        found.push(Found::Error(format!("[{i}]"), e.to_string()));
                        break;
                    }
                }
            }
        }
        (Prefix::Cut(cut), _) => {
            let mut i = from;
            let mut last_short = false;
            for c in cut.children().skip(from).take(stop - from) {
                last_short = matches!(c.value, Prefix::Cut(cut) if cut.raw().len() < SHOWN);
                found.push(node(label(i, c.key.as_ref()), &c.value));
                i += 1;
            }
            return (found, total, i < stop || last_short);
        }
    }
    (found, total, false)
}

/// Reads a stored value's first bytes: the root part, and whether it can be opened. Reads
/// more while the bytes read end before the value's head does, or too soon after it.
fn read(unread: &Unread, store: &dyn ValueStore) -> Result<(Part, bool), String> {
    let digest = unread.digest;
    let mut max = HEAD_BYTES;
    let mut got = 0;
    loop {
        let head = store
            .value_head(&digest, max)?
            .ok_or_else(|| format!("value {digest} is not in the cache"))?;
        let value = Arc::new(Value { head, digest });
        let more = !value.head.is_whole() && value.head.bytes.len() > got;
        got = value.head.bytes.len();
        match value.head.item_at(0) {
            Ok(item) => {
                let (mut part, open) = part(&value, &item);
                part.type_name.clone_from(&unread.type_name);
                if !(more && short(&part)) {
                    return Ok((part, open));
                }
            }
            Err(e) if !more => return Err(e.to_string()),
            Err(_) => {}
        }
        max = max.saturating_mul(4);
    }
}

/// A cut item shows at least this many of its bytes: one cut right after its head would
/// show next to nothing.
const SHOWN: usize = 4096;

/// Whether a part is cut within its first [`SHOWN`] bytes.
fn short(part: &Part) -> bool {
    part.len.is_none() && read_len(part) < SHOWN
}

/// How many bytes of a part were read.
fn read_len(part: &Part) -> usize {
    part.value.head.bytes.len().saturating_sub(part.at)
}

/// The part read again with four times as many bytes of its value (up to all of them).
fn grow(part: &Part, store: &dyn ValueStore) -> Result<(Part, bool), String> {
    let digest = part.value.digest;
    let more = part
        .value
        .head
        .bytes
        .len()
        .saturating_mul(4)
        .max(HEAD_BYTES);
    let head = store
        .value_head(&digest, more)?
        .ok_or_else(|| format!("value {digest} is no longer in the cache"))?;
    let value = Arc::new(Value { head, digest });
    let item = value.head.item_at(part.at).map_err(|e| e.to_string())?;
    let (mut bigger, open) = self::part(&value, &item);
    bigger.type_name.clone_from(&part.type_name);
    Ok((bigger, open))
}

/// Whether a recorded type name is an `Option`, short (`Option<String>`) or in full.
fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::collections::HashMap;

    /// Values by digest; counts reads and the bytes they copied.
    struct Map(HashMap<Digest, Vec<u8>>, Cell<usize>, Cell<usize>);
    impl ValueStore for Map {
        fn value_head(&self, d: &Digest, max: usize) -> Result<Option<ValueHead>, String> {
            self.1.set(self.1.get() + 1);
            Ok(self.0.get(d).map(|all| {
                let bytes = all[..all.len().min(max)].to_vec();
                self.2.set(self.2.get() + bytes.len());
                ValueHead {
                    size: all.len() as u64,
                    bytes,
                }
            }))
        }

        fn record(&self, _: &Digest) -> Result<Option<CallRecord>, String> {
            Ok(None)
        }
    }

    fn enc<T: serde::Serialize>(v: &T) -> Vec<u8> {
        fleche::codec::encode(v).unwrap()
    }

    fn tree_of(bytes: Vec<u8>) -> (Tree, Map, NodeId) {
        let d = Digest::from_bytes([9; 32]);
        let store = Map(HashMap::from([(d, bytes)]), Cell::new(0), Cell::new(0));
        let mut t = Tree::new();
        let r = t.add(
            None,
            "result",
            Body::Unread(Unread {
                digest: d,
                hint: "T".into(),
                summary: None,
                type_name: None,
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
        assert_eq!(t.rows().len(), 1 + PAGE + 1);
        let more = *t.rows().last().unwrap();
        assert!(t.describe(more, 40).contains("800 more"));
        t.expand(more, &store);
        t.refresh();
        assert_eq!(t.rows().len(), 1 + 2 * PAGE + 1);
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
        assert_eq!(store.2.get(), HEAD_BYTES, "only the head is read");
        assert_eq!(t.rows().len(), 1 + PAGE + 1);
        assert_eq!(t.describe(r, 80), "f64[] (12,500,000 items) · 100.0 MB");
        assert_eq!(t.describe(t.rows()[1], 80), "0.0");
        assert!(
            t.describe(*t.rows().last().unwrap(), 80)
                .contains("12,499,800 more")
        );
        t.collapse(r);
        assert_eq!(
            t.describe(r, 44),
            "[0.0, 0.0, 0.0, 0.0, … (12500000 items)]"
        );
        // An array of two million CBOR items: only the first page is walked.
        let v: Vec<Option<u32>> = (0..2_000_000).map(|i| (i % 2 == 0).then_some(i)).collect();
        let (mut t, store, r) = tree_of(enc(&v));
        t.expand(r, &store);
        t.refresh();
        assert_eq!(t.rows().len(), 1 + PAGE + 1);
        let d = t.describe(r, 80);
        assert!(d.starts_with("array (2,000,000 items)"), "{d}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn paging_past_the_bytes_read_reads_more() {
        #[derive(serde::Serialize)]
        struct Big {
            name: String,
            data: Vec<f64>,
        }
        let big = Big {
            name: "big".into(),
            data: (0..1_000_000).map(f64::from).collect(),
        };
        let (mut t, store, r) = tree_of(enc(&big));
        t.expand(r, &store);
        t.refresh();
        assert_eq!(store.1.get(), 1);
        let data = t.rows()[2];
        assert_eq!(t.node(data).label, "data");
        assert!(
            t.describe(data, 40).starts_with("[0.0, 1.0, 2.0"),
            "{}",
            t.describe(data, 40)
        );
        t.expand(data, &store);
        assert_eq!(t.describe(data, 80), "f64[] (1,000,000 items) · 8.0 MB");
        assert_eq!(t.describe(t.children(data)[7], 80), "7.0");
        // Page to the end of the first megabyte, and past it.
        let mut pages = 1;
        while store.1.get() == 1 {
            let more = *t.children(data).last().unwrap();
            t.expand(more, &store);
            pages += 1;
        }
        assert_eq!(pages, HEAD_BYTES / 8 / PAGE + 1);
        assert_eq!(store.2.get(), HEAD_BYTES * 5);
        let last = *t.children(data).iter().rev().nth(1).unwrap();
        assert_eq!(t.path(last), format!("result.data[{}]", pages * PAGE - 1));
        assert_eq!(t.describe(last, 80), format!("{}.0", pages * PAGE - 1));

        // A page whose children are not all read reads more before it shows.
        let pair = (vec!["0123456789"; 200_000], 5u8);
        let (mut t, store, r) = tree_of(enc(&pair));
        t.expand(r, &store);
        t.refresh();
        assert_eq!(store.1.get(), 2);
        assert_eq!(t.rows().len(), 3);
        assert_eq!(t.describe(t.rows()[2], 80), "5");
    }

    #[test]
    fn an_option_result_shows_some_or_none() {
        let typed = |bytes: Vec<u8>, type_name: &str| {
            let (mut t, store, r) = tree_of(bytes);
            if let Body::Unread(u) = &mut t.nodes[r].body {
                u.type_name = Some(type_name.into());
            }
            t.expand(r, &store);
            t.refresh();
            t.describe(r, 80)
        };
        assert_eq!(typed(enc(&Some("sine")), "Option<&str>"), "Some(\"sine\")");
        assert_eq!(typed(enc(&"sine"), "&str"), "\"sine\"");
        assert_eq!(typed(enc(&None::<String>), "Option<String>"), "None");
        assert_eq!(
            typed(enc(&Some(3u8)), "core::option::Option<u8>"),
            "Some(3)"
        );
        // An open container still says its type, `Option` included.
        assert_eq!(
            typed(enc(&Some(vec!["a", "b"])), "Option<Vec<&str>>"),
            "Option<Vec<&str>> · array (2 items) · 5 B"
        );
        // Without a recorded type, a stored `Some` cannot be told from its value.
        let (mut t, store, r) = tree_of(enc(&Some("sine")));
        t.expand(r, &store);
        assert_eq!(t.describe(r, 80), "\"sine\"");
    }

    #[test]
    fn results_show_their_type_and_damage_shows_in_place() {
        let (mut t, store, r) = tree_of(enc(&vec![(1u8, 'x'); 3]));
        if let Body::Unread(u) = &mut t.nodes[r].body {
            u.type_name = Some("Vec<(u8, char)>".into());
        }
        t.expand(r, &store);
        assert_eq!(
            t.describe(r, 80),
            "Vec<(u8, char)> · array (3 items) · 13 B"
        );
        let (mut t, store, r) = tree_of(vec![0x82, 0x01]);
        t.expand(r, &store);
        t.refresh();
        assert!(
            t.describe(r, 80).starts_with("<cannot decode value"),
            "{}",
            t.describe(r, 80)
        );
        assert!(!t.has_children(r));
    }
}
