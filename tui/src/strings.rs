//! Interned strings: every name, tag and argument summary a browser shows, once each in
//! one arena of text, with what each is used as and which bytes it holds, so a filter
//! matches each distinct string once per keystroke and rules most out without reading them.

use nucleo_matcher::Utf32Str;

/// Index of an interned string.
pub type Sym = u32;
/// Where a string is used, as bits, so a filter term only matches the strings it concerns.
pub mod used {
    /// A function name.
    pub const NAME: u16 = 1;
    /// A module path.
    pub const MODULE: u16 = 2;
    /// A whole tag, `key=value`.
    pub const TAG: u16 = 4;
    /// A tag value.
    pub const TAG_VALUE: u16 = 8;
    /// An argument name (plain filter terms match `name=summary` of each argument).
    pub const ARG: u16 = 16;
    /// An argument value summary.
    pub const ARG_VALUE: u16 = 32;
    /// Anything else (tag keys, argument names, result types).
    pub const OTHER: u16 = 64;
    /// Uses a table column sorts on (argument values are not among them, and are most of
    /// the strings of a large cache).
    pub const SORTED: u16 = NAME | MODULE | TAG | OTHER;
}

/// Interned strings, one after another in one arena.
#[derive(Debug, Default, Clone)]
pub struct Strings {
    text: String,
    /// Where each string ends in `text`.
    ends: Vec<usize>,
    used: Vec<u16>,
    /// Which bytes each string holds ([`byte_mask`]), so a filter rules most strings out
    /// without reading them.
    masks: Vec<u64>,
    /// The ids, found by their text's hash.
    ids: hashbrown::HashTable<Sym>,
    hasher: foldhash::fast::RandomState,
    /// The strings with a [`used::SORTED`] use.
    sorted_on: Vec<Sym>,
}

/// The bytes of a text as 64 bits, whatever their case: one bit for each letter and digit,
/// the other ASCII bytes sharing the rest, and the top bit for any byte that is not ASCII.
/// A text can match a filter term only if its mask has every bit of the term's.
pub fn byte_mask(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |m, &b| m | byte_bit(b))
}

/// The bit of one byte in a [`byte_mask`].
pub fn byte_bit(b: u8) -> u64 {
    let b = b.to_ascii_lowercase();
    let bit = match b {
        b'a'..=b'z' => b - b'a',
        b'0'..=b'9' => 26 + b - b'0',
        0x80.. => 63,
        _ => 36 + b % 27,
    };
    1 << bit
}

/// String `id` of an arena.
#[inline]
fn span<'a>(text: &'a str, ends: &[usize], id: Sym) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &text[start..ends[id]]
}

impl Strings {
    /// The bytes it holds on the heap (for the browser's memory breakdown).
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.ends.capacity() * size_of::<usize>()
            + self.used.capacity() * size_of::<u16>()
            + self.masks.capacity() * size_of::<u64>()
            + self.ids.capacity() * (size_of::<Sym>() + 1)
    }

    /// The strings with a [`used::SORTED`] use, which table columns sort on.
    pub fn sorted_on(&self) -> &[Sym] {
        &self.sorted_on
    }

    /// The id of `s`, interning it; `use_bits` records how it is used.
    pub fn intern(&mut self, s: &str, use_bits: u16) -> Sym {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(s);
        let (text, ends) = (&self.text, &self.ends);
        if let Some(&id) = self.ids.find(hash, |&id| span(text, ends, id) == s) {
            let used = &mut self.used[id as usize];
            if *used & used::SORTED == 0 && use_bits & used::SORTED != 0 {
                self.sorted_on.push(id);
            }
            *used |= use_bits;
            return id;
        }
        let id = self.ends.len() as Sym;
        if self.text.len() + s.len() > self.text.capacity() {
            self.text
                .reserve_exact(s.len().max(self.text.capacity() / 4));
        }
        self.text.push_str(s);
        grow(&mut self.ends);
        self.ends.push(self.text.len());
        grow(&mut self.used);
        self.used.push(use_bits);
        grow(&mut self.masks);
        self.masks.push(byte_mask(s.as_bytes()));
        let (text, ends, hasher) = (&self.text, &self.ends, &self.hasher);
        self.ids
            .insert_unique(hash, id, |&id| hasher.hash_one(span(text, ends, id)));
        if use_bits & used::SORTED != 0 {
            self.sorted_on.push(id);
        }
        id
    }

    /// Makes room for `n` more strings.
    pub fn reserve(&mut self, n: usize) {
        use std::hash::BuildHasher;
        let (text, ends, hasher) = (&self.text, &self.ends, &self.hasher);
        self.ids
            .reserve(n, |&id| hasher.hash_one(span(text, ends, id)));
        self.ends.reserve(n);
        self.used.reserve(n);
        self.masks.reserve(n);
    }

    /// The id of `s` if interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        use std::hash::BuildHasher;
        let (text, ends) = (&self.text, &self.ends);
        self.ids
            .find(self.hasher.hash_one(s), |&id| span(text, ends, id) == s)
            .copied()
    }

    /// The text of a string.
    pub fn text(&self, id: Sym) -> &str {
        span(&self.text, &self.ends, id)
    }

    /// The bytes of a string's text (what a byte scan needs, without the checks that a
    /// `&str` is cut at character boundaries).
    pub fn bytes(&self, id: Sym) -> &[u8] {
        let id = id as usize;
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.text.as_bytes()[start..self.ends[id]]
    }

    /// The matcher form of a string: its bytes when it is ASCII (almost always), else its
    /// characters, written into `buf`.
    pub fn utf32<'a>(&'a self, id: Sym, buf: &'a mut Vec<char>) -> Utf32Str<'a> {
        Utf32Str::new(self.text(id), buf)
    }

    /// Which bytes a string holds, as [`byte_mask`] gives them.
    pub fn mask(&self, id: Sym) -> u64 {
        self.masks[id as usize]
    }

    /// The [`byte_mask`] of `name=value`.
    pub fn pair_mask(&self, name: Sym, value: Sym) -> u64 {
        self.mask(name) | byte_bit(b'=') | self.mask(value)
    }

    /// How a string is used.
    pub fn used(&self, id: Sym) -> u16 {
        self.used[id as usize]
    }

    /// How many strings a column sorts on.
    pub fn sorted_len(&self) -> usize {
        self.sorted_on.len()
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Makes room for one more element, growing by a quarter rather than doubling: the lists of
/// a million calls are tens of megabytes, and a doubling just past a million would leave
/// half of one empty.
pub(crate) fn grow<T>(list: &mut Vec<T>) {
    grow_by(list, 1);
}

/// Makes room for `n` more elements, growing by at least a quarter (see [`grow`]).
pub(crate) fn grow_by<T>(list: &mut Vec<T>, n: usize) {
    if list.capacity() - list.len() < n {
        list.reserve_exact(n.max(list.capacity() / 4).max(64));
    }
}
