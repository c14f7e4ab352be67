//! One call as a tree: its metadata, arguments and result, with values read only when their
//! node is opened; the tree's keys (opening, siblings, levels, copying) and its drawing.

use crossterm::event::{KeyCode, KeyEvent};
use fleche::Digest;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::action::{Action, Effect, Reply};
use crate::calls::Calls;
use crate::draw::{Theme, fit};
use crate::input;
use crate::layout::{keep_visible, step, tree_height};
use crate::times::{time, wall};
use crate::tree::{Body, NoValues, NodeId, Tree, Unread, ValueStore};
use crate::value::{human_size, plural};

/// The tree's keys, as the help lists them.
pub const KEYS: &[(&str, &str)] = &[
    ("j k ↓ ↑", "move"),
    ("l → h ←", "open / first child; close / parent"),
    ("Space Enter", "open or close"),
    ("H J K", "parent, next, previous sibling"),
    ("e c", "open, close all siblings"),
    ("E", "open everything below"),
    ("1-9", "show down to that level"),
    ("yy yp yd yk", "copy value, path, digest, call key"),
    ("q Esc Backspace", "back to the calls"),
];

/// The keys the hint line shows.
pub const HINTS: &[(&str, &str)] = &[
    ("l/h", "open/close"),
    ("e/c", "siblings"),
    ("1-9", "level"),
    ("yy/yp/yd", "copy value/path/digest"),
    ("?", "help"),
    ("q", "back"),
];

/// One call opened as a tree.
#[derive(Debug, Clone)]
pub struct CallView {
    /// The call.
    pub key: Digest,
    /// `name(short key)`.
    pub title: String,
    /// Its tree.
    pub tree: Tree,
    /// Selected row of the tree.
    pub selected: usize,
    /// First row shown.
    pub offset: usize,
    /// Rows the tree gets on the screen.
    height: usize,
    /// Whether `y` was pressed and the next key says what to copy.
    yank_pending: bool,
}

impl CallView {
    /// Row `row` of the calls as a tree, with its headings open and its result selected, for
    /// a terminal `rows` high. What the row does not keep (result, stop time, resources,
    /// details) comes from the call's record, read again from `store`; a record gone or
    /// unreadable meanwhile is said in the tree, which then shows what the row holds.
    pub fn open(
        calls: &Calls,
        row: u32,
        local_time: bool,
        rows: u16,
        store: &dyn ValueStore,
    ) -> CallView {
        let row = &calls.rows[row as usize];
        let (record, trouble) = match store.record(&row.key) {
            Ok(Some(r)) => (Some(r), None),
            Ok(None) => (None, Some("no longer in the cache".to_owned())),
            Err(e) => (None, Some(format!("cannot be read: {e}"))),
        };
        let md = record.as_ref().map(|r| &r.metadata);
        let short = &row.key.to_string()[..8];
        let title = format!("{}({short})", calls.text(row.name));
        let mut t = Tree::new();
        let call = t.add(None, "call", Body::Text(title.clone()));
        let line = |t: &mut Tree, parent, label: &str, text: String| {
            t.add(Some(parent), label, Body::Text(text));
        };
        line(&mut t, call, "key", row.key.to_string());
        if let Some(trouble) = &trouble {
            line(&mut t, call, "record", trouble.clone());
        }
        line(&mut t, call, "function", calls.text(row.name).to_owned());
        line(&mut t, call, "module", calls.text(row.module).to_owned());
        if calls.layers.len() > 1 {
            line(&mut t, call, "layer", calls.layer_name(row).to_owned());
        }
        if let Some(v) = record.as_ref().and_then(|r| r.version.as_deref()) {
            line(&mut t, call, "version", v.to_owned());
        }
        if let Some(c) = record.as_ref().and_then(|r| r.code) {
            line(&mut t, call, "code", c.to_string());
        }
        line(&mut t, call, "started", time(row.start(), local_time));
        if let Some(md) = md {
            line(&mut t, call, "stopped", time(md.timestop, local_time));
        }
        line(&mut t, call, "wall time", wall(row.wall));
        if let Some(r) = md.and_then(|m| m.resources.as_ref())
            && (r.cpu_user.is_some() || r.cpu_system.is_some() || r.peak_memory_growth.is_some())
        {
            let cpu = |s: Option<f64>| s.map_or_else(|| "?".to_owned(), wall);
            line(&mut t, call, "cpu user", cpu(r.cpu_user));
            line(&mut t, call, "cpu system", cpu(r.cpu_system));
            if let Some(bytes) = r.peak_memory_growth {
                line(
                    &mut t,
                    call,
                    "peak memory",
                    format!("+{}", crate::value::human_size(bytes)),
                );
            }
        }
        let row_tags = calls.tags(row);
        if !row_tags.is_empty() {
            let tags = t.add(
                Some(call),
                "tags",
                Body::Text(plural(row_tags.len(), "tag")),
            );
            for tag in row_tags {
                line(
                    &mut t,
                    tags,
                    calls.text(tag.key),
                    calls.text(tag.value).to_owned(),
                );
            }
        }
        if let Some(env) = md.and_then(|m| m.environment.as_ref()) {
            let e = t.add(Some(call), "environment", Body::Text(String::new()));
            line(&mut t, e, "host", env.hostname.clone());
            line(&mut t, e, "user", env.user.clone());
            line(&mut t, e, "directory", env.cwd.clone());
            line(&mut t, e, "fleche", env.fleche_version.clone());
        }
        if let Some(git) = md.and_then(|m| m.git.as_ref()) {
            let g = t.add(Some(call), "git", Body::Text(String::new()));
            let unknown = || "?".to_owned();
            line(
                &mut t,
                g,
                "commit",
                git.commit.clone().unwrap_or_else(unknown),
            );
            line(
                &mut t,
                g,
                "branch",
                git.branch.clone().unwrap_or_else(unknown),
            );
            line(
                &mut t,
                g,
                "dirty",
                git.dirty.map_or_else(unknown, |d| d.to_string()),
            );
        }
        // One node per namespace of the user's own collectors, a line per entry.
        for (namespace, value) in md.iter().flat_map(|m| &m.namespaces) {
            match value {
                fleche::Value::Map(entries) => {
                    // Closed, the line shows the entries inline; opened, one per line.
                    let n = t.add(Some(call), namespace, Body::Text(value.to_string()));
                    for (k, v) in entries {
                        line(&mut t, n, k, v.to_string());
                    }
                }
                other => line(&mut t, call, namespace, other.to_string()),
            }
        }
        let args = t.add(
            None,
            "arguments",
            Body::Text(plural(calls.args_of(row).len(), "argument")),
        );
        for &a in calls.args_of(row) {
            let digest = calls.arg_digest(a);
            let id = t.add(
                Some(args),
                calls.text(calls.args[a as usize].name),
                Body::Unread(Unread {
                    digest,
                    hint: format!("digest {}", &digest.to_string()[..8]),
                    summary: calls.arg_summary(a).map(|v| calls.text(v).to_owned()),
                    type_name: None,
                }),
            );
            t.set_digest(id, digest);
        }
        let result = match &record {
            Some(r) => {
                let result = t.add(
                    None,
                    "result",
                    Body::Unread(Unread {
                        digest: r.result,
                        hint: format!(
                            "{} · {}",
                            calls.text(row.result_type),
                            human_size(r.result_size)
                        ),
                        summary: None,
                        type_name: Some(calls.text(row.result_type).to_owned()),
                    }),
                );
                t.set_digest(result, r.result);
                result
            }
            None => t.add(
                None,
                "result",
                Body::Text(format!(
                    "{} · {} (the record {})",
                    calls.text(row.result_type),
                    human_size(row.result_size),
                    trouble.as_deref().unwrap_or_default()
                )),
            ),
        };
        // Open the headings (no values are read by that) and select the result.
        t.expand(call, &NoValues);
        t.expand(args, &NoValues);
        t.refresh();
        let selected = t.rows().iter().position(|&n| n == result).unwrap_or(0);
        let height = tree_height(rows);
        let offset = keep_visible(selected, 0, height.max(1), t.rows().len());
        CallView {
            key: row.key,
            title,
            tree: t,
            selected,
            offset,
            height,
            yank_pending: false,
        }
    }

    /// The terminal's new height.
    pub fn resize(&mut self, rows: u16) {
        self.height = tree_height(rows);
        self.offset = keep_visible(
            self.selected,
            self.offset,
            self.height,
            self.tree.rows().len(),
        );
    }

    /// Applies an action to the tree; values are read from `store` as nodes open.
    pub fn update(&mut self, action: Action, store: &dyn ValueStore) -> Reply {
        let height = self.height.max(1);
        let yank = std::mem::take(&mut self.yank_pending);
        let rows = self.tree.rows().len();
        let Some(&node) = self.tree.rows().get(self.selected) else {
            return Reply::Done;
        };
        let tree = &mut self.tree;
        if yank {
            let (what, text) = match action {
                Action::YankValue => ("value", tree.value_text(node)),
                Action::YankPath => ("path", tree.path(node)),
                Action::YankDigest => match tree.digest(node) {
                    Some(d) => ("digest", d.to_string()),
                    None => ("call key", self.key.to_string()),
                },
                Action::YankKey => ("call key", self.key.to_string()),
                _ => return Reply::Done,
            };
            return Reply::Effect(Effect::Yank(text, what.to_owned()));
        }
        let mut select = None;
        match action {
            Action::Move(d) => self.selected = step(self.selected, d, rows),
            Action::Page(d) => self.selected = step(self.selected, d * height as isize, rows),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = rows.saturating_sub(1),
            Action::Back => return Reply::Close,
            Action::Help => return Reply::Help,
            Action::Open | Action::Toggle => tree.toggle(node, store),
            Action::Right => {
                if tree.node(node).expanded {
                    select = tree.children(node).first().copied();
                } else {
                    tree.expand(node, store);
                }
            }
            Action::Left => {
                if tree.node(node).expanded {
                    tree.collapse(node);
                } else {
                    select = tree.node(node).parent;
                }
            }
            Action::Parent => select = tree.node(node).parent,
            Action::Sibling(d) => {
                let sibs: Vec<NodeId> = match tree.node(node).parent {
                    Some(p) => tree.children(p).to_vec(),
                    None => tree
                        .rows()
                        .iter()
                        .copied()
                        .filter(|&n| tree.node(n).parent.is_none())
                        .collect(),
                };
                if let Some(i) = sibs.iter().position(|&n| n == node) {
                    let j = step(i, d, sibs.len());
                    select = sibs.get(j).copied();
                }
            }
            Action::ExpandSiblings => tree.expand_siblings(node, store),
            Action::CollapseSiblings => tree.collapse_siblings(node),
            Action::ExpandDeep => tree.expand_deep(node, store),
            // The selection moves to the nearest ancestor still visible (below).
            Action::Level(level) => tree.collapse_to_level(level, store),
            Action::YankValue => {
                self.yank_pending = true;
                return Reply::Say("y: value   p: path   d: digest   k: call key".into());
            }
            Action::YankPath => return Reply::Effect(Effect::Yank(tree.path(node), "path".into())),
            Action::YankDigest => {
                let d = tree.digest(node).unwrap_or(self.key);
                return Reply::Effect(Effect::Yank(d.to_string(), "digest".into()));
            }
            Action::YankKey => {
                return Reply::Effect(Effect::Yank(self.key.to_string(), "call key".into()));
            }
            Action::Click(_, y) if y >= 1 && ((y - 1) as usize) < height => {
                let i = self.offset + (y - 1) as usize;
                if i < rows {
                    if i == self.selected {
                        tree.toggle(node, store);
                    } else {
                        self.selected = i;
                    }
                }
            }
            _ => {}
        }
        tree.refresh();
        // Keep the selected node selected when rows above it appear or vanish.
        let target = select.unwrap_or_else(|| match action {
            Action::Move(_)
            | Action::Page(_)
            | Action::Top
            | Action::Bottom
            | Action::Click(..) => tree.rows().get(self.selected).copied().unwrap_or(node),
            _ => node,
        });
        let mut t = Some(target);
        while let Some(id) = t {
            if let Some(i) = tree.rows().iter().position(|&n| n == id) {
                self.selected = i;
                break;
            }
            t = tree.node(id).parent;
        }
        let rows = tree.rows().len();
        self.selected = self.selected.min(rows.saturating_sub(1));
        self.offset = keep_visible(self.selected, self.offset, height, rows);
        Reply::Done
    }

    /// The tree's keys (after `y`, the key that says what to copy).
    pub fn key(&self, key: &KeyEvent) -> Option<Action> {
        if self.yank_pending {
            return Some(match key.code {
                KeyCode::Char('y') => Action::YankValue,
                KeyCode::Char('p') => Action::YankPath,
                KeyCode::Char('d') => Action::YankDigest,
                KeyCode::Char('k') => Action::YankKey,
                _ => Action::Say("nothing copied".into()),
            });
        }
        if let Some(action) = input::movement(key) {
            return Some(action);
        }
        match key.code {
            KeyCode::Char('l') | KeyCode::Right => Some(Action::Right),
            KeyCode::Char('h') | KeyCode::Left => Some(Action::Left),
            KeyCode::Char(' ') | KeyCode::Enter => Some(Action::Toggle),
            KeyCode::Char('H') => Some(Action::Parent),
            KeyCode::Char('J') => Some(Action::Sibling(1)),
            KeyCode::Char('K') => Some(Action::Sibling(-1)),
            KeyCode::Char('e') => Some(Action::ExpandSiblings),
            KeyCode::Char('c') => Some(Action::CollapseSiblings),
            KeyCode::Char('E') => Some(Action::ExpandDeep),
            KeyCode::Char(c @ '1'..='9') => Some(Action::Level((c as u8 - b'0') as usize)),
            KeyCode::Char('y') => Some(Action::YankValue),
            KeyCode::Char('q') | KeyCode::Esc | KeyCode::Backspace => Some(Action::Back),
            _ => None,
        }
    }

    /// Whether `y` was pressed and the next key says what to copy.
    pub fn yank_pending(&self) -> bool {
        self.yank_pending
    }

    /// The status line: the call, the selected node's path and digest.
    pub fn status(&self) -> String {
        let node = self.tree.rows().get(self.selected).copied();
        let path = node.map(|n| self.tree.path(n)).unwrap_or_default();
        let digest = node
            .and_then(|n| self.tree.digest(n))
            .map(|d| format!(" · digest {}", &d.to_string()[..12]))
            .unwrap_or_default();
        format!(" {} · {path}{digest}", self.title)
    }

    /// Draws the visible rows of the tree.
    pub fn draw(&self, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
        let tree = &self.tree;
        let height = self.height.min(area.height as usize);
        let rows = tree.rows();
        let end = (self.offset + height).min(rows.len());
        let mut lines = Vec::with_capacity(height);
        for (i, &id) in rows[self.offset.min(end)..end].iter().enumerate() {
            let node = tree.node(id);
            let indent = "  ".repeat(node.depth);
            let marker = if !tree.has_children(id) {
                "  "
            } else if node.expanded {
                "▾ "
            } else {
                "▸ "
            };
            let label_len = node.label.chars().count();
            let used = indent.len() + 2 + label_len + 2;
            let room = (area.width as usize).saturating_sub(used + 1);
            let text = tree.describe(id, room);
            let text = fit(&text, room, false);
            let value_style = match &node.body {
                Body::Error(_) => theme.alert(),
                Body::More { .. } => theme.dim(),
                Body::Unread(u) if u.summary.is_none() => theme.dim(),
                _ => Style::new(),
            };
            let mut spans = vec![Span::raw(indent), Span::styled(marker, theme.dim())];
            if !node.label.is_empty() {
                spans.push(Span::styled(node.label.clone(), theme.label()));
                spans.push(Span::raw(": "));
            }
            spans.push(Span::styled(text, value_style));
            let selected = self.offset + i == self.selected;
            if selected {
                // One style across the row, so it reads on the highlight.
                for span in &mut spans {
                    span.style = Style::new();
                }
            }
            let mut line = Line::from(spans);
            if selected {
                line = line.style(theme.selected());
            }
            lines.push(line);
        }
        frame.render_widget(Paragraph::new(lines), area);
    }
}
