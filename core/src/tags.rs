//! Scopes of this thread: `key = value` tags and the metadata collectors turned on or off
//! by a guard, recorded with every call made while they are in scope.
//!
//! Both live in one thread-local behind small functions (`current`, push and restore), so
//! that whatever carries the scope across notebook cells carries tags and collectors alike.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::LocalKey;

pub use crate::meta::value::TagValue;

/// A collector a scope turned on (`Some`, the collector behind a type the metadata module
/// knows) or off (`None`), by namespace name.
pub(crate) type ScopedCollector = (Arc<str>, Option<Arc<dyn Any + Send + Sync>>);

#[derive(Default)]
struct Scope {
    /// The tag scopes alive, oldest first, each with the id its guard removes.
    tags: Vec<(u64, Vec<(String, TagValue)>)>,
    next_tags_id: u64,
    /// In the order the guards were made; a later entry for a name wins.
    collectors: Vec<ScopedCollector>,
}

type ScopeKey = LocalKey<RefCell<Scope>>;

/// This thread's scopes. Under evcxr every cell has its own copy of fleche, so the thread-local
/// is the first copy's (see `process.rs`): a guard kept in a notebook variable applies to the
/// calls of later cells too.
fn scope() -> &'static ScopeKey {
    thread_local! {
        static SCOPE: RefCell<Scope> = RefCell::new(Scope::default());
    }
    crate::process::shared_static!("tags::SCOPE", ScopeKey, &SCOPE)
}

/// The tags in scope on this thread.
pub fn current() -> BTreeMap<String, TagValue> {
    scope().with(|s| {
        let mut tags = BTreeMap::new();
        for (_, entries) in &s.borrow().tags {
            for (k, v) in entries {
                tags.insert(k.clone(), v.clone());
            }
        }
        tags
    })
}

/// Runs `f` on the collectors turned on or off by the scopes of this thread.
pub(crate) fn with_collectors<R>(f: impl FnOnce(&[ScopedCollector]) -> R) -> R {
    scope().with(|s| f(&s.borrow().collectors))
}

/// Adds collector entries to this thread's scope; returns how many there were before, for
/// [`restore_collectors`].
pub(crate) fn push_collectors(entries: impl IntoIterator<Item = ScopedCollector>) -> usize {
    scope().with(|s| {
        let mut s = s.borrow_mut();
        let before = s.collectors.len();
        s.collectors.extend(entries);
        before
    })
}

/// Leaves a collector scope: back to the `len` entries there were when it began.
pub(crate) fn restore_collectors(len: usize) {
    let _ = scope().try_with(|s| s.borrow_mut().collectors.truncate(len));
}

/// Tags in scope until dropped; made by [`tags!`](crate::tags!). Nested scopes merge and an
/// inner value for the same key wins. Dropping a guard removes exactly its own tags, also when
/// guards are dropped out of order (a notebook variable reassigned with new tags drops the old
/// guard after the new one was made): the newest living guard's value for a key applies.
#[must_use = "tags apply only while the guard lives: bind it with `let _t = tags!(...)`"]
#[derive(Debug)]
pub struct Tags {
    id: u64,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Tags {
    /// Adds tags to this thread's scope.
    pub fn push<K: Into<String>, V: Into<TagValue>>(
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Tags {
        let entries = tags
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let id = scope().with(|s| {
            let mut s = s.borrow_mut();
            let id = s.next_tags_id;
            s.next_tags_id += 1;
            s.tags.push((id, entries));
            id
        });
        Tags {
            id,
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for Tags {
    fn drop(&mut self) {
        // `try_with`: a guard dropped while its thread shuts down has nothing left to restore.
        let _ = scope().try_with(|s| s.borrow_mut().tags.retain(|(id, _)| *id != self.id));
    }
}

/// Wraps a value given to [`tags!`](crate::tags!) to pick how it becomes a [`TagValue`]:
/// by its type when it has one (integers, floats, booleans, text), else as its text.
#[doc(hidden)]
pub struct TagArg<'a, T: ?Sized>(pub &'a T);

/// The typed conversion, preferred by method resolution (its `self` is one reference
/// closer to the `&&TagArg` the macro calls on).
#[doc(hidden)]
pub trait TagByType {
    fn tag_value(&self) -> TagValue;
}

impl<T: Into<TagValue> + Clone> TagByType for &TagArg<'_, T> {
    fn tag_value(&self) -> TagValue {
        self.0.clone().into()
    }
}

/// The fallback for any other `Display` type: its text.
#[doc(hidden)]
pub trait TagByText {
    fn tag_value(&self) -> TagValue;
}

impl<T: std::fmt::Display + ?Sized> TagByText for TagArg<'_, T> {
    fn tag_value(&self) -> TagValue {
        TagValue::Text(self.0.to_string())
    }
}

/// Tags every cached call made while the returned guard lives (on this thread).
///
/// A value keeps its type: integers, floats, booleans and text are stored as such, so a
/// query compares them by value; any other `Display` value is stored as its text.
///
/// ```
/// use fleche::tags::TagValue;
/// let _t = fleche::tags!(project = "alloys", temperature = 300, relaxed = true);
/// let tags = fleche::tags::current();
/// assert_eq!(tags["project"], "alloys");
/// assert_eq!(tags["temperature"], TagValue::Int(300));
/// assert_eq!(tags["relaxed"].to_string(), "true");
/// ```
#[macro_export]
macro_rules! tags {
    ($($key:ident = $value:expr),* $(,)?) => {
        $crate::tags::Tags::push([$((stringify!($key), {
            #[allow(unused_imports)]
            use $crate::tags::{TagByText as _, TagByType as _};
            (&&$crate::tags::TagArg(&$value)).tag_value()
        })),*])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_scopes_merge_and_restore() {
        {
            let _outer = crate::tags!(project = "p", stage = 1);
            {
                let _inner = crate::tags!(stage = 2, extra = "x");
                let t = current();
                assert_eq!(t["project"], "p");
                assert_eq!(t["stage"], TagValue::Int(2));
                assert_eq!(t["extra"], "x");
            }
            let t = current();
            assert_eq!(t["stage"], TagValue::Int(1));
            assert!(!t.contains_key("extra"));
        }
        assert!(current().is_empty());
    }

    #[test]
    fn values_keep_their_type_and_other_types_become_text() {
        let path = std::path::Path::new("/data/in.csv");
        let name = String::from("n");
        let _t = crate::tags!(
            i = 300,
            u = 7u64,
            f = 0.5,
            b = false,
            s = "text",
            owned = name,
            shown = path.display(),
            c = 'c'
        );
        let t = current();
        assert!(matches!(t["i"], TagValue::Int(300)));
        assert!(matches!(t["u"], TagValue::Int(7)));
        assert!(matches!(t["f"], TagValue::Float(x) if x == 0.5));
        assert!(matches!(t["b"], TagValue::Bool(false)));
        assert_eq!(t["s"], "text");
        assert_eq!(t["owned"], "n");
        assert_eq!(t["shown"], "/data/in.csv");
        assert_eq!(t["c"], "c");
    }

    #[test]
    fn a_guard_dropped_out_of_order_removes_only_its_own_tags() {
        let first = crate::tags!(session = "s1", user = "ada");
        let second = crate::tags!(session = "s2");
        drop(first);
        let t = current();
        assert_eq!(t["session"], "s2", "the living guard's value stays");
        assert!(
            !t.contains_key("user"),
            "the dropped guard's own key is gone"
        );
        drop(second);
        assert!(current().is_empty());
    }
}
