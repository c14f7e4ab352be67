//! Tags: `key = value` labels recorded with every call made while they are in scope.

use std::cell::RefCell;
use std::collections::BTreeMap;

thread_local! {
    static TAGS: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
}

/// The tags in scope on this thread.
pub fn current() -> BTreeMap<String, String> {
    TAGS.with(|t| t.borrow().clone())
}

/// Tags in scope until dropped; made by [`tags!`](crate::tags!). Nested scopes merge, an
/// inner value for the same key wins, and leaving a scope restores the outer tags.
#[must_use = "tags apply only while the guard lives: bind it with `let _t = tags!(...)`"]
#[derive(Debug)]
pub struct Tags {
    previous: BTreeMap<String, String>,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Tags {
    /// Adds tags to this thread's scope.
    pub fn push<K: Into<String>, V: ToString>(tags: impl IntoIterator<Item = (K, V)>) -> Tags {
        let previous = TAGS.with(|t| {
            let mut t = t.borrow_mut();
            let previous = t.clone();
            for (k, v) in tags {
                t.insert(k.into(), v.to_string());
            }
            previous
        });
        Tags {
            previous,
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for Tags {
    fn drop(&mut self) {
        let previous = std::mem::take(&mut self.previous);
        TAGS.with(|t| *t.borrow_mut() = previous);
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
}
