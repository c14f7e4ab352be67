//! Tags: `key = value` labels recorded with every call made while they are in scope.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::thread::LocalKey;

/// The tag scopes alive on a thread, oldest first, each with the id its guard removes.
#[derive(Debug, Default)]
struct Scopes {
    scopes: Vec<(u64, Vec<(String, String)>)>,
    next_id: u64,
}

type ScopesKey = LocalKey<RefCell<Scopes>>;

/// This thread's scopes. Under evcxr every cell has its own copy of fleche, so the thread-local
/// is the first copy's (see `process.rs`): a guard kept in a notebook variable tags the calls of
/// later cells too.
fn scopes() -> &'static ScopesKey {
    thread_local! {
        static SCOPES: RefCell<Scopes> = RefCell::new(Scopes::default());
    }
    static SHARED: OnceLock<&'static ScopesKey> = OnceLock::new();
    SHARED.get_or_init(|| crate::process::shared("tags::SCOPES", &SCOPES))
}

/// The tags in scope on this thread.
pub fn current() -> BTreeMap<String, String> {
    scopes().with(|s| {
        let mut tags = BTreeMap::new();
        for (_, scope) in &s.borrow().scopes {
            for (k, v) in scope {
                tags.insert(k.clone(), v.clone());
            }
        }
        tags
    })
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
    pub fn push<K: Into<String>, V: ToString>(tags: impl IntoIterator<Item = (K, V)>) -> Tags {
        let scope = tags
            .into_iter()
            .map(|(k, v)| (k.into(), v.to_string()))
            .collect();
        let id = scopes().with(|s| {
            let mut s = s.borrow_mut();
            let id = s.next_id;
            s.next_id += 1;
            s.scopes.push((id, scope));
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
        let _ = scopes().try_with(|s| s.borrow_mut().scopes.retain(|(id, _)| *id != self.id));
    }
}

/// Tags every cached call made while the returned guard lives (on this thread).
///
/// ```
/// let _t = fleche::tags!(project = "alloys", temperature = 300);
/// assert_eq!(fleche::tags::current()["temperature"], "300");
/// ```
#[macro_export]
macro_rules! tags {
    ($($key:ident = $value:expr),* $(,)?) => {
        $crate::tags::Tags::push([$((stringify!($key), ::std::string::ToString::to_string(&$value))),*])
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
                assert_eq!(t["stage"], "2");
                assert_eq!(t["extra"], "x");
            }
            let t = current();
            assert_eq!(t["stage"], "1");
            assert!(!t.contains_key("extra"));
        }
        assert!(current().is_empty());
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
