//! The `/` filter: fzf-style terms (`fuzzy`, `'exact`, `^prefix`, `suffix$`, `!not`) over
//! function names, tags and argument values, and field forms `fn:`, `mod:`, `tag:KEY[=VALUE]`,
//! `arg:NAME[=VALUE]`. All terms must hold. Each distinct string is matched once per query
//! (most ruled out by a byte scan before the matcher runs), then every call is checked by
//! table look-ups in the order calls are stored, which keeps a keystroke at a million calls
//! within a few frames.

use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use crate::calls::{Calls, Hot, Tag};
use crate::strings::{Sym, byte_mask, used};

/// Which fields a term without a `field:` prefix searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Function names, tags and argument values.
    #[default]
    All,
    /// Function names only.
    Functions,
    /// Tags only.
    Tags,
    /// Argument values only.
    Arguments,
}

impl Scope {
    /// The next scope in the cycle.
    pub fn next(self) -> Scope {
        match self {
            Scope::All => Scope::Functions,
            Scope::Functions => Scope::Tags,
            Scope::Tags => Scope::Arguments,
            Scope::Arguments => Scope::All,
        }
    }

    /// For the status line.
    pub fn label(self) -> &'static str {
        match self {
            Scope::All => "names, tags, arguments",
            Scope::Functions => "function names",
            Scope::Tags => "tags",
            Scope::Arguments => "argument values",
        }
    }

    fn bits(self) -> u16 {
        match self {
            Scope::All => used::NAME | used::TAG | used::ARG,
            Scope::Functions => used::NAME,
            Scope::Tags => used::TAG,
            Scope::Arguments => used::ARG,
        }
    }
}

#[derive(Debug, Clone)]
enum Test {
    /// A plain term over the scope's fields.
    Plain(Atom),
    /// `fn:NAME`.
    Function(Atom),
    /// `mod:NAME`.
    Module(Atom),
    /// `tag:KEY`.
    TagKey(String),
    /// `tag:KEY=VALUE`.
    Tag(String, Atom),
    /// `arg:NAME`.
    ArgName(String),
    /// `arg:NAME=VALUE`.
    Arg(String, Atom),
}

#[derive(Debug, Clone)]
struct Term {
    negate: bool,
    test: Test,
    /// The term as typed.
    raw: String,
}

impl Term {
    /// Whether every call this term lets through, `before` let through too: the same term,
    /// or a plain, `fn:` or `mod:` term typed further (a fuzzy, exact-substring or prefix
    /// needle that grew at its end).
    fn within(&self, before: &Term) -> bool {
        if self.raw == before.raw {
            return true;
        }
        let atom = |t: &Term| match &t.test {
            Test::Plain(a) => Some((0, a.kind)),
            Test::Function(a) => Some((1, a.kind)),
            Test::Module(a) => Some((2, a.kind)),
            _ => None,
        };
        let grows = matches!(
            atom(self),
            Some((_, AtomKind::Fuzzy | AtomKind::Substring | AtomKind::Prefix))
        );
        grows
            && !self.negate
            && !before.negate
            && atom(self) == atom(before)
            && self.raw.starts_with(&before.raw)
    }
}

/// A parsed filter.
#[derive(Debug, Clone, Default)]
pub struct Query {
    terms: Vec<Term>,
}

impl Query {
    /// Parses filter text. Never fails: incomplete terms (`fn:` while typing) are ignored.
    pub fn parse(text: &str) -> Query {
        let terms = split(text).iter().filter_map(|t| parse_term(t)).collect();
        Query { terms }
    }

    /// Whether the query lets every call through.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether every call this query lets through, `before` let through too (the same terms,
    /// the last ones typed further, more terms after them), so that filtering what `before`
    /// showed is enough: typing a filter narrows what is shown at each key.
    pub fn narrows(&self, before: &Query) -> bool {
        before.terms.len() <= self.terms.len()
            && self
                .terms
                .iter()
                .zip(&before.terms)
                .all(|(new, old)| new.within(old))
    }

    /// Whether a term needs argument summaries (so results may grow as they are read).
    pub fn uses_arguments(&self, scope: Scope) -> bool {
        self.terms.iter().any(|t| match t.test {
            Test::Arg(..) => true,
            Test::Plain(_) => scope.bits() & used::ARG != 0,
            _ => false,
        })
    }

    /// The rows of `order` (indices into `calls.rows`) that pass, in the same order.
    pub fn apply(&self, calls: &Calls, scope: Scope, order: &[u32]) -> Vec<u32> {
        if self.terms.is_empty() {
            return order.to_vec();
        }
        let passing = self.test(calls, scope).passing();
        order.iter().copied().filter(|&r| passing.has(r)).collect()
    }

    /// The query made concrete for these calls: each distinct string matched once, so that
    /// rows are then tested by table look-ups.
    pub fn test<'a>(&'a self, calls: &'a Calls, scope: Scope) -> RowTest<'a> {
        let mut matcher = Matcher::new(Config::DEFAULT);
        let compiled = self
            .terms
            .iter()
            .map(|t| Compiled::new(t, calls, scope, &mut matcher))
            .collect();
        RowTest { compiled, calls }
    }
}

/// A [`Query`] made concrete for one set of calls (see [`Query::test`]).
pub struct RowTest<'a> {
    compiled: Vec<Compiled<'a>>,
    calls: &'a Calls,
}

impl RowTest<'_> {
    /// Whether the row (an index into `calls.rows`) passes.
    pub fn passes(&self, row: u32) -> bool {
        let hot = &self.calls.hot()[row as usize];
        self.compiled.iter().all(|c| c.test(hot, self.calls))
    }

    /// Every row that passes. Rows are tested in the order they are stored, not in the
    /// table's order, from their filter columns ([`crate::calls::Hot`]): those and the
    /// arguments are then read one after another rather than from all over memory, several
    /// times faster at a million calls.
    pub fn passing(&self) -> RowSet {
        let hot = self.calls.hot();
        let mut words = vec![0u64; hot.len().div_ceil(64)];
        for (w, chunk) in words.iter_mut().zip(hot.chunks(64)) {
            for (bit, row) in chunk.iter().enumerate() {
                if self.compiled.iter().all(|c| c.test(row, self.calls)) {
                    *w |= 1 << bit;
                }
            }
        }
        RowSet { words }
    }
}

/// A set of rows (indices into `calls.rows`), one bit each.
#[derive(Debug)]
pub struct RowSet {
    words: Vec<u64>,
}

impl RowSet {
    /// No rows, with room for rows `0..n`.
    pub fn new(n: usize) -> RowSet {
        RowSet {
            words: vec![0; n.div_ceil(64)],
        }
    }

    /// Puts row `r` in the set (a row past the room made is left out).
    pub fn insert(&mut self, r: u32) {
        let r = r as usize;
        if let Some(w) = self.words.get_mut(r / 64) {
            *w |= 1 << (r % 64);
        }
    }

    /// How many rows are in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Whether row `r` is in the set.
    pub fn has(&self, r: u32) -> bool {
        let r = r as usize;
        self.words
            .get(r / 64)
            .is_some_and(|w| w >> (r % 64) & 1 == 1)
    }
}

/// A term made concrete for one set of strings: which strings it hits (and for a plain term
/// over arguments, which arguments' `name=summary`).
struct Compiled<'a> {
    term: &'a Term,
    hits: Vec<bool>,
    arg_hits: Vec<bool>,
    /// For the terms on tags: whether each distinct set of tags passes.
    set_hits: Vec<bool>,
    key: Option<Sym>,
    scope: u16,
}

impl<'a> Compiled<'a> {
    fn new(term: &'a Term, calls: &Calls, scope: Scope, matcher: &mut Matcher) -> Self {
        let strings = &calls.strings;
        let (atom, bits, key) = match &term.test {
            Test::Plain(a) => (Some(a), scope.bits(), None),
            Test::Function(a) => (Some(a), used::NAME, None),
            Test::Module(a) => (Some(a), used::MODULE, None),
            Test::Tag(k, a) => (Some(a), used::TAG_VALUE, Some(k)),
            Test::Arg(k, a) => (Some(a), used::ARG_VALUE, Some(k)),
            Test::TagKey(k) | Test::ArgName(k) => (None, 0, Some(k)),
        };
        let mut hits = Vec::new();
        let mut arg_hits = Vec::new();
        if let Some(atom) = atom {
            hits = vec![false; strings.len()];
            let mut buf = Vec::new();
            let quick = Quick::of(atom);
            for (id, hit) in hits.iter_mut().enumerate() {
                let id = id as Sym;
                if strings.used(id) & bits & !used::ARG != 0
                    && quick.may_hold(strings.mask(id))
                    && quick.may_match(&[strings.bytes(id)])
                {
                    *hit = atom.score(strings.utf32(id, &mut buf), matcher).is_some();
                }
            }
            if bits & used::ARG != 0 {
                arg_hits = vec![false; calls.args.len()];
                let mut pair = String::new();
                for (id, hit) in arg_hits.iter_mut().enumerate() {
                    let arg = &calls.args[id];
                    if arg.mask == 0 || !quick.may_hold(arg.mask) {
                        continue;
                    }
                    let Some(summary) = calls.arg_summary(id as u32) else {
                        continue;
                    };
                    let name = arg.name;
                    let parts = [strings.bytes(name), b"=", strings.bytes(summary)];
                    if quick.may_match(&parts) {
                        pair.clear();
                        pair.push_str(strings.text(name));
                        pair.push('=');
                        pair.push_str(strings.text(summary));
                        let text = Utf32Str::new(&pair, &mut buf);
                        *hit = atom.score(text, matcher).is_some();
                    }
                }
            }
        }
        let mut compiled = Compiled {
            term,
            hits,
            arg_hits,
            set_hits: Vec::new(),
            key: key.and_then(|k| strings.get(k)),
            scope: scope.bits(),
        };
        compiled.set_hits = calls
            .tag_set_list
            .iter()
            .map(|set| compiled.tags_pass(set))
            .collect();
        compiled
    }

    /// Whether a set of tags passes the part of the term about tags.
    fn tags_pass(&self, tags: &[Tag]) -> bool {
        match &self.term.test {
            Test::Plain(_) => tags.iter().any(|t| self.hit(t.pair)),
            Test::TagKey(_) => tags.iter().any(|t| Some(t.key) == self.key),
            Test::Tag(..) => tags
                .iter()
                .any(|t| Some(t.key) == self.key && self.hit(t.value)),
            _ => false,
        }
    }

    fn hit(&self, s: Sym) -> bool {
        self.hits.get(s as usize).copied().unwrap_or(false)
    }

    fn test(&self, row: &Hot, calls: &Calls) -> bool {
        let args = || {
            calls
                .hot_args(row)
                .iter()
                .map(|&a| (a, &calls.args[a as usize]))
        };
        let arg_hit = |a: u32| self.arg_hits.get(a as usize).copied().unwrap_or(false);
        let tags = || self.set_hits[row.tag_set as usize];
        let found = match &self.term.test {
            Test::Plain(_) => {
                (self.scope & used::NAME != 0 && self.hit(row.name))
                    || (self.scope & used::TAG != 0 && tags())
                    || (self.scope & used::ARG != 0
                        && calls.hot_args(row).iter().any(|&a| arg_hit(a)))
            }
            Test::Function(_) => self.hit(row.name),
            Test::Module(_) => self.hit(row.module),
            Test::TagKey(_) | Test::Tag(..) => tags(),
            Test::ArgName(_) => args().any(|(_, a)| Some(a.name) == self.key),
            Test::Arg(..) => args().any(|(id, a)| {
                Some(a.name) == self.key && calls.arg_summary(id).is_some_and(|v| self.hit(v))
            }),
        };
        found != self.term.negate
    }
}

/// A byte scan that rules out most strings before the matcher runs: every kind of match
/// (fuzzy, exact, substring, prefix, suffix) needs the needle's characters in the string in
/// order, whatever the case. Only for ASCII needles and strings; any other string goes to
/// the matcher. Of a million argument values, a term usually leaves a handful to match.
struct Quick {
    /// The needle in lower case; `None` when it is not ASCII (nothing is ruled out).
    needle: Option<Vec<u8>>,
    /// Its [`byte_mask`].
    mask: u64,
}

impl Quick {
    fn of(atom: &Atom) -> Quick {
        let needle = match atom.needle_text() {
            Utf32Str::Ascii(bytes) => Some(bytes.to_ascii_lowercase()),
            Utf32Str::Unicode(_) => None,
        };
        let mask = needle.as_deref().map_or(0, byte_mask);
        Quick { needle, mask }
    }

    /// False only when a text with this [`byte_mask`] cannot match: it lacks a byte of the
    /// needle (a text with a byte that is not ASCII is never ruled out).
    fn may_hold(&self, mask: u64) -> bool {
        mask & (1 << 63) != 0 || self.mask & !mask == 0
    }

    /// False only when the text made of these parts cannot match.
    fn may_match(&self, parts: &[&[u8]]) -> bool {
        let Some(needle) = &self.needle else {
            return true;
        };
        let mut want = needle.iter();
        let Some(mut next) = want.next() else {
            return true;
        };
        for &b in parts.iter().copied().flatten() {
            if !b.is_ascii() {
                return true;
            }
            if b.to_ascii_lowercase() == *next {
                match want.next() {
                    Some(n) => next = n,
                    None => return true,
                }
            }
        }
        false
    }
}

/// Splits on whitespace not escaped as `\ `.
fn split(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&' ') {
            cur.push(' ');
            chars.next();
        } else if c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Escapes spaces so that `text` stays one term.
pub fn escape(text: &str) -> String {
    text.replace(' ', "\\ ")
}

fn fzf(text: &str) -> Option<(Atom, bool)> {
    let mut atom = Atom::parse(text, CaseMatching::Smart, Normalization::Smart);
    let negative = atom.negative;
    atom.negative = false;
    if atom.needle_text().is_empty() {
        return None;
    }
    Some((atom, negative))
}

/// A value in `tag:K=V` or `arg:N=V`: equality unless it carries an fzf marker (`'`, `^`,
/// `$`, `!`) or `~` for fuzzy.
fn value_atom(text: &str) -> Option<(Atom, bool)> {
    if let Some(rest) = text.strip_prefix('~') {
        let atom = Atom::new(
            rest,
            CaseMatching::Smart,
            Normalization::Smart,
            AtomKind::Fuzzy,
            false,
        );
        return (!rest.is_empty()).then_some((atom, false));
    }
    let marked = text.starts_with(['\'', '^', '!']) || (text.ends_with('$') && text.len() > 1);
    if marked {
        return fzf(text);
    }
    let atom = Atom::new(
        text,
        CaseMatching::Smart,
        Normalization::Smart,
        AtomKind::Exact,
        false,
    );
    Some((atom, false))
}

fn parse_term(raw: &str) -> Option<Term> {
    const FIELDS: [&str; 4] = ["fn:", "mod:", "tag:", "arg:"];
    let (mut negate, body) = match raw.strip_prefix('!') {
        Some(rest) if FIELDS.iter().any(|f| rest.starts_with(f)) => (true, rest),
        _ => (false, raw),
    };
    let keyed =
        |rest: &str, only_key: fn(String) -> Test, with: fn(String, Atom) -> Test| match rest
            .split_once('=')
        {
            Some((k, v)) if !k.is_empty() => {
                value_atom(v).map(|(a, neg)| (with(k.to_owned(), a), neg))
            }
            None if !rest.is_empty() => Some((only_key(rest.to_owned()), false)),
            _ => None,
        };
    let (test, neg) = if let Some(rest) = body.strip_prefix("fn:") {
        fzf(rest).map(|(a, n)| (Test::Function(a), n))?
    } else if let Some(rest) = body.strip_prefix("mod:") {
        fzf(rest).map(|(a, n)| (Test::Module(a), n))?
    } else if let Some(rest) = body.strip_prefix("tag:") {
        keyed(rest, Test::TagKey, Test::Tag)?
    } else if let Some(rest) = body.strip_prefix("arg:") {
        keyed(rest, Test::ArgName, Test::Arg)?
    } else {
        fzf(body).map(|(a, n)| (Test::Plain(a), n))?
    };
    negate ^= neg;
    Some(Term {
        negate,
        test,
        raw: raw.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::rows;

    fn names(q: &str, scope: Scope) -> Vec<String> {
        let calls = rows();
        let order: Vec<u32> = (0..calls.len() as u32).collect();
        Query::parse(q)
            .apply(&calls, scope, &order)
            .iter()
            .map(|&r| {
                let row = &calls.rows[r as usize];
                let args: Vec<String> = calls
                    .args_of(row)
                    .iter()
                    .filter_map(|&a| calls.arg_summary(a))
                    .map(|v| calls.text(v).to_owned())
                    .collect();
                format!("{}({})", calls.text(row.name), args.join(","))
            })
            .collect()
    }

    #[test]
    fn fuzzy_and_fzf_markers() {
        assert_eq!(
            names("lrc", Scope::All),
            [
                "long_running_calculation(2)",
                "long_running_calculation(100)"
            ]
        );
        assert_eq!(names("^fib", Scope::All), ["fib(20)"]);
        assert_eq!(names("tion$", Scope::Functions).len(), 3);
        assert_eq!(
            names("'calc !long", Scope::All),
            ["another_calculation(1,2)"]
        );
        assert!(names("zzzz", Scope::All).is_empty());
        assert_eq!(names("", Scope::All).len(), 5);
    }

    #[test]
    fn field_forms() {
        assert_eq!(names("fn:fib", Scope::All), ["fib(20)"]);
        assert_eq!(
            names("tag:project", Scope::All),
            ["another_calculation(1,2)"]
        );
        assert_eq!(
            names("tag:project=my_project", Scope::All),
            ["another_calculation(1,2)"]
        );
        assert!(names("tag:project=my", Scope::All).is_empty());
        assert_eq!(names("tag:project=^my", Scope::All).len(), 1);
        assert_eq!(
            names("arg:x=100", Scope::All),
            ["long_running_calculation(100)"]
        );
        assert_eq!(names("arg:x=~10", Scope::All).len(), 1);
        assert_eq!(names("arg:x=!100", Scope::All).len(), 4);
        assert_eq!(names("!tag:project fn:calc", Scope::All).len(), 2);
        assert_eq!(names("fn:!long", Scope::All).len(), 3);
        assert_eq!(names("mod:__main__ arg:n", Scope::All), ["fib(20)"]);
        assert_eq!(names("fn:", Scope::All).len(), 5);
    }

    #[test]
    fn scope_limits_plain_terms() {
        assert_eq!(names("100", Scope::All), ["long_running_calculation(100)"]);
        assert!(names("100", Scope::Functions).is_empty());
        assert_eq!(names("testing", Scope::Tags).len(), 1);
        assert!(names("testing", Scope::Arguments).is_empty());
    }

    #[test]
    fn the_byte_scan_never_rules_out_a_match() {
        let texts = [
            "relax_structure",
            "Relax",
            "x=1234",
            "label=sample-07",
            "project=alloys",
            "fit spectrum",
            "ÉTÉ=12",
            "",
            "a-b_c.d/e",
        ];
        let needles = [
            "r",
            "re",
            "RE",
            "rlx",
            "'relax",
            "^Rel",
            "ure$",
            "1234",
            "x=12",
            "=",
            "7",
            "fit\\ spec",
            "été",
            "ete",
            "e",
            "zz",
            "a-b",
            "_c.",
            "e$",
            "!q",
        ];
        let mut matcher = Matcher::new(Config::DEFAULT);
        let mut buf = Vec::new();
        let mut ruled_out = 0;
        for needle in needles {
            let Some((atom, _)) = fzf(needle) else {
                continue;
            };
            let quick = Quick::of(&atom);
            for text in texts {
                let matches = atom
                    .score(Utf32Str::new(text, &mut buf), &mut matcher)
                    .is_some();
                let kept = quick.may_hold(byte_mask(text.as_bytes()))
                    && quick.may_match(&[text.as_bytes()]);
                assert!(
                    kept || !matches,
                    "{needle:?} matches {text:?} but was ruled out"
                );
                ruled_out += usize::from(!kept);
            }
        }
        assert!(
            ruled_out > 50,
            "the scan rules out most pairs ({ruled_out})"
        );
    }

    #[test]
    fn a_filter_typed_further_narrows() {
        let narrows = |new: &str, old: &str| Query::parse(new).narrows(&Query::parse(old));
        for (new, old) in [
            ("rel", "re"),
            ("re lax", "re"),
            ("re", "re"),
            ("fn:relax", "fn:rel"),
            ("mod:etl", "mod:e"),
            ("'rel", "'re"),
            ("^rel", "^re"),
            ("fn:rel tag:x=1", "fn:rel"),
            ("tag:x=1 fn:r", "tag:x=1"),
        ] {
            assert!(narrows(new, old), "{new:?} after {old:?}");
        }
        for (new, old) in [
            ("re", "rel"),
            ("!rel", "!re"),
            ("rel$", "rel"),
            ("tag:proje", "tag:proj"),
            ("arg:x=12", "arg:x=1"),
            ("lax re", "re"),
            ("fn:rel", "rel"),
            ("re", "re lax"),
        ] {
            assert!(!narrows(new, old), "{new:?} after {old:?}");
        }
    }

    #[test]
    fn escaped_spaces_stay_in_one_term() {
        assert_eq!(split(r"tag:a=b\ c fn:x"), ["tag:a=b c", "fn:x"]);
        assert_eq!(escape("b c"), r"b\ c");
    }
}
