//! Metadata collectors: what is recorded with each call besides its times and tags.
//!
//! A [`Collector`] takes something before the body runs and adds something after it; both
//! are recorded under the collector's name. Collectors come from `fleche.toml`
//! (`metadata = [...]`, built-ins by name), from scopes ([`meta!`](crate::meta!),
//! [`Meta::off`]) and from the function (`#[fleche(meta = [...])]`), and run only on a miss.
//! The built-ins ([`EnvironmentCollector`], [`GitCollector`], [`ResourcesCollector`]) are
//! ordinary collectors.

mod environment;
mod git;
mod resources;
pub(crate) mod value;

use std::any::Any;
use std::sync::{Arc, LazyLock};

use serde::Serialize;

use crate::error::{unpanicked, warn_once};
use crate::record::Metadata;
// The record's types for the built-ins, named apart from the collectors that take them.
use crate::record::{Environment as EnvironmentFacts, Git as GitFacts, Resources as ResourceFacts};

pub use environment::EnvironmentCollector;
pub(crate) use environment::hostname;
pub use git::{DIRTY_FOR, GitCollector};
pub use resources::ResourcesCollector;
pub use value::{TagValue, Value};

/// What a collector's hooks return: a value, or why it could not be taken (any error; `?`
/// works on `std::io::Error` and the like).
pub type CollectResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Metadata taken with each call: implement it for your own facts, such as the GPU model or
/// the modification time of an input file, and attach it to a function
/// (`#[fleche(meta = [MyCollector])]`) or to a scope (`let _m = fleche::meta!(MyCollector);`).
///
/// On a miss, [`before`](Collector::before) runs just before the function's body and
/// [`after`](Collector::after) just after it; both values are recorded in the call's
/// namespace [`name`](Collector::name), and queries, tables and `fleche-tui` read them there
/// (`.metadata_eq("input", "size", 1024)`). When both are maps (structs), their entries are
/// merged, `after`'s winning; a unit or `None` adds nothing; otherwise `after` is what is
/// recorded. Wrap in [`Unrecorded`] what `after` needs but should not be stored.
///
/// A collector never breaks the call: an error or a panic in a hook (or a value that cannot
/// be recorded) prints a warning and leaves the namespace out of that call's record. A hit
/// runs no collector.
///
/// ```
/// use fleche::meta::{CollectResult, Collector};
///
/// /// The size and modification time of an input file, taken before the call.
/// struct InputFile(&'static str);
///
/// #[derive(serde::Serialize)]
/// struct Facts { size: u64, modified: u64 }
///
/// impl Collector for InputFile {
///     type Before = Facts;
///     type After = ();
///     fn name(&self) -> &str { "input" }
///     fn before(&self) -> CollectResult<Facts> {
///         let m = std::fs::metadata(self.0)?;
///         let modified = m.modified()?.duration_since(std::time::UNIX_EPOCH)?.as_secs();
///         Ok(Facts { size: m.len(), modified })
///     }
///     fn after(&self, _: &Facts) -> CollectResult<()> { Ok(()) }
/// }
///
/// #[fleche::fleche(meta = [InputFile("Cargo.toml")])]
/// fn lines(path: String) -> usize { std::fs::read_to_string(path).unwrap().lines().count() }
///
/// # fn main() -> fleche::Result<()> {
/// let cache = fleche::Cache::memory();
/// let _active = cache.activate();
/// lines("Cargo.toml");
/// let call = lines::query().only()?;
/// assert!(call.metadata().get("input", "size").is_some());
/// assert_eq!(cache.query().metadata("input").count()?, 1);
/// # Ok(())
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a metadata collector",
    label = "not a collector",
    note = "a collector implements `fleche::meta::Collector` (a name, `before` and `after`); see the `fleche::meta` documentation"
)]
pub trait Collector: Send + Sync + 'static {
    /// What [`before`](Collector::before) takes; recorded, and handed to `after`.
    type Before: Serialize + Send + 'static;
    /// What [`after`](Collector::after) adds; recorded.
    type After: Serialize + 'static;

    /// The namespace the values are recorded under. `runtime` and `tags` are fleche's own;
    /// `environment`, `git` and `resources` are the built-ins'.
    fn name(&self) -> &str;

    /// Runs just before the function's body, on a miss.
    fn before(&self) -> CollectResult<Self::Before>;

    /// Runs just after the body returned, with what `before` took.
    fn after(&self, before: &Self::Before) -> CollectResult<Self::After>;
}

/// A value handed from [`Collector::before`] to [`Collector::after`] without being recorded
/// (it serializes as nothing), like a clock reading that only the difference matters of.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Unrecorded<T>(pub T);

impl<T> Serialize for Unrecorded<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

/// A collector ready to be attached to a function or a scope (what the `meta = [...]` list
/// of `#[fleche]` and [`meta!`](crate::meta!) make from each collector).
#[derive(Clone)]
pub struct Attached(Arc<dyn Erased>);

impl Attached {
    /// Wraps a collector.
    pub fn new<C: Collector>(collector: C) -> Attached {
        Attached(Arc::new(collector))
    }

    /// The collector's namespace.
    pub fn name(&self) -> &str {
        self.0.name()
    }
}

impl std::fmt::Debug for Attached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Attached({})", self.name())
    }
}

impl<C: Collector> From<C> for Attached {
    fn from(c: C) -> Attached {
        Attached::new(c)
    }
}

/// The names of the built-in collectors, as `fleche.toml` and [`builtin`] know them.
pub const BUILT_INS: [&str; 3] = ["environment", "git", "resources"];

/// A built-in collector by its name (`"environment"`, `"git"`, `"resources"`).
pub fn builtin(name: &str) -> Option<Attached> {
    static ENVIRONMENT: LazyLock<Attached> = LazyLock::new(|| Attached::new(EnvironmentCollector));
    static GIT: LazyLock<Attached> = LazyLock::new(|| Attached::new(GitCollector));
    static RESOURCES: LazyLock<Attached> = LazyLock::new(|| Attached::new(ResourcesCollector));
    match name {
        "environment" => Some(ENVIRONMENT.clone()),
        "git" => Some(GIT.clone()),
        "resources" => Some(RESOURCES.clone()),
        _ => None,
    }
}

/// Collectors turned on ([`meta!`](crate::meta!), [`Meta::on`]) or off ([`Meta::off`]) for
/// every cached call this thread makes while the guard lives. Scopes nest like
/// [`tags!`](crate::tags!): an inner scope's collector replaces an outer one of the same
/// name, and dropping the guard restores the outer scope.
#[must_use = "collectors apply only while the guard lives: bind it with `let _m = meta!(...)`"]
#[derive(Debug)]
pub struct Meta {
    len: usize,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Meta {
    /// Turns these collectors on for this thread's calls (a built-in named in `fleche.toml`
    /// and one given here with the same name run once, as the latter).
    pub fn on(collectors: impl IntoIterator<Item = Attached>) -> Meta {
        Meta::push(collectors.into_iter().map(|c| {
            (
                Arc::from(c.name()),
                Some(Arc::new(c) as Arc<dyn Any + Send + Sync>),
            )
        }))
    }

    /// Turns collectors off by name for this thread's calls, such as `"resources"` or
    /// `"git"` from `fleche.toml`; a function's own `meta = [...]` still applies.
    pub fn off<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Meta {
        Meta::push(names.into_iter().map(|n| (Arc::from(n.as_ref()), None)))
    }

    fn push(entries: impl IntoIterator<Item = crate::tags::ScopedCollector>) -> Meta {
        Meta {
            len: crate::tags::push_collectors(entries),
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for Meta {
    fn drop(&mut self) {
        crate::tags::restore_collectors(self.len);
    }
}

/// Turns collectors on for every cached call this thread makes while the guard lives.
///
/// ```
/// #[fleche::fleche]
/// fn square(x: i64) -> i64 { x * x }
///
/// # fn main() -> fleche::Result<()> {
/// let cache = fleche::Cache::memory();
/// let _active = cache.activate();
/// {
///     let _m = fleche::meta!(fleche::meta::EnvironmentCollector);
///     square(3);
/// }
/// square(4);
/// assert_eq!(cache.query().metadata("environment").count()?, 1);
/// # Ok(())
/// # }
/// ```
#[macro_export]
macro_rules! meta {
    ($($collector:expr),* $(,)?) => {
        $crate::meta::Meta::on([$($crate::meta::Attached::new($collector)),*])
    };
}

/// The collectors that run for a miss of a function with its own `meta` list: the
/// built-ins of `fleche.toml`, changed by this thread's scopes, then the function's own.
fn effective(function: &[Attached]) -> Vec<Attached> {
    let config = crate::config::current()
        .as_ref()
        .map(|c| *c.metadata())
        .unwrap_or_default();
    let mut out: Vec<Attached> = [
        ("environment", config.environment),
        ("git", config.git),
        ("resources", config.resources),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .filter_map(|(name, _)| builtin(name))
    .collect();
    let mut put = |name: &str, collector: Option<Attached>| {
        out.retain(|c| c.name() != name);
        out.extend(collector);
    };
    crate::tags::with_collectors(|scoped| {
        for (name, c) in scoped {
            put(
                name,
                c.as_ref()
                    .and_then(|c| c.downcast_ref::<Attached>())
                    .cloned(),
            );
        }
    });
    for c in function {
        put(c.name(), Some(c.clone()));
    }
    // Resources last: its `before` runs right before the body and its `after` right after,
    // so the other collectors' work is not counted as the call's.
    if let Some(i) = out.iter().position(|c| c.name() == "resources") {
        let r = out.remove(i);
        out.push(r);
    }
    out
}

/// The collectors of one miss, their `before` taken.
pub(crate) struct Running(Vec<Box<dyn Started>>);

impl Running {
    /// No collector (what is left once they finished).
    pub(crate) fn none() -> Running {
        Running(Vec::new())
    }

    /// Runs every collector's `before` (a failing one is left out with a warning).
    pub(crate) fn start(function: &str, own: &[Attached]) -> Running {
        let collectors = effective(own);
        let mut started = Vec::with_capacity(collectors.len());
        for c in collectors {
            match unpanicked(|| c.0.clone().start()) {
                Ok(Ok(s)) => started.push(s),
                Ok(Err(e)) => warn_collector(function, c.name(), "failed before the call", &e),
                Err(panic) => {
                    warn_collector(function, c.name(), "panicked before the call", &panic);
                }
            }
        }
        Running(started)
    }

    /// Runs every `after`, last started first, and records the namespaces in `md`.
    pub(crate) fn finish(self, function: &str, md: &mut Metadata) {
        for s in self.0.into_iter().rev() {
            // The collector outlives its `finish`, which consumes what `before` took.
            let c = s.collector();
            match unpanicked(|| s.finish(md)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => warn_collector(function, c.name(), "failed after the call", &e),
                Err(panic) => warn_collector(function, c.name(), "panicked after the call", &panic),
            }
        }
    }
}

fn warn_collector(function: &str, name: &str, what: &str, why: &str) {
    warn_once(&format!(
        "{function}: metadata collector `{name}` {what} ({why}); the call's record leaves out namespace `{name}`"
    ));
}

/// A collector without its types, as functions and scopes keep it.
trait Erased: Send + Sync {
    fn name(&self) -> &str;
    fn start(self: Arc<Self>) -> Result<Box<dyn Started>, String>;
}

/// A collector whose `before` ran.
trait Started: Send {
    fn collector(&self) -> Attached;
    fn finish(self: Box<Self>, md: &mut Metadata) -> Result<(), String>;
}

struct StartedWith<C: Collector> {
    collector: Arc<C>,
    before: C::Before,
}

impl<C: Collector> Erased for C {
    fn name(&self) -> &str {
        Collector::name(self)
    }

    fn start(self: Arc<Self>) -> Result<Box<dyn Started>, String> {
        let before = self.before().map_err(|e| e.to_string())?;
        Ok(Box::new(StartedWith {
            collector: self,
            before,
        }))
    }
}

impl<C: Collector> Started for StartedWith<C> {
    fn collector(&self) -> Attached {
        Attached(self.collector.clone())
    }

    fn finish(self: Box<Self>, md: &mut Metadata) -> Result<(), String> {
        let after = self
            .collector
            .after(&self.before)
            .map_err(|e| e.to_string())?;
        record(self.collector.name(), self.before, after, md)
    }
}

/// Puts what a collector took into the record: the built-in namespaces into their typed
/// fields (from whichever hook returned that type), any other into `namespaces`.
fn record<B: Serialize + 'static, A: Serialize + 'static>(
    name: &str,
    before: B,
    after: A,
    md: &mut Metadata,
) -> Result<(), String> {
    let (mut before, mut after) = (Some(before), Some(after));
    let mut typed = |field: &str| -> Result<(), String> {
        match field {
            "environment" => md.environment = Some(take(&mut before, &mut after, name)?),
            "git" => md.git = Some(take(&mut before, &mut after, name)?),
            _ => md.resources = Some(take(&mut before, &mut after, name)?),
        }
        Ok(())
    };
    match name {
        "environment" | "git" | "resources" => typed(name),
        "runtime" | "tags" => Err(format!(
            "`{name}` is fleche's own namespace; give the collector another name"
        )),
        "" => Err("its name is empty; queries and tables find a namespace by its name".into()),
        _ => {
            let b = to_value(before.as_ref().expect("not taken"))?;
            let a = to_value(after.as_ref().expect("not taken"))?;
            match merge(b, a) {
                Value::Null => {}
                v => {
                    md.namespaces.insert(name.to_owned(), v);
                }
            }
            Ok(())
        }
    }
}

/// The value of type `T` that one of the hooks returned, moved out.
fn take<T: 'static, B: 'static, A: 'static>(
    before: &mut Option<B>,
    after: &mut Option<A>,
    name: &str,
) -> Result<T, String> {
    let from_after = (after as &mut dyn Any)
        .downcast_mut::<Option<T>>()
        .and_then(Option::take);
    let from_before = || {
        (before as &mut dyn Any)
            .downcast_mut::<Option<T>>()
            .and_then(Option::take)
    };
    from_after.or_else(from_before).ok_or_else(|| {
        format!(
            "namespace `{name}` belongs to the built-in collector, which records a `{}`; give yours another name",
            std::any::type_name::<T>()
        )
    })
}

/// A serde value as a metadata [`Value`], through the value codec.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, String> {
    let bytes = crate::codec::encode(value).map_err(|e| e.to_string())?;
    crate::codec::decode(&bytes).map_err(|e| e.to_string())
}

/// `before`'s entries then `after`'s, when both are maps; else whichever is not null,
/// `after` first.
fn merge(before: Value, after: Value) -> Value {
    match (before, after) {
        (Value::Map(mut b), Value::Map(a)) => {
            b.extend(a);
            Value::Map(b)
        }
        (b, Value::Null) => b,
        (_, a) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str, Value);
    impl Collector for Fixed {
        type Before = Value;
        type After = ();
        fn name(&self) -> &str {
            self.0
        }
        fn before(&self) -> CollectResult<Value> {
            Ok(self.1.clone())
        }
        fn after(&self, _: &Value) -> CollectResult<()> {
            Ok(())
        }
    }

    fn names(list: &[Attached]) -> Vec<String> {
        list.iter().map(|c| c.name().to_owned()).collect()
    }

    #[test]
    fn scopes_add_replace_and_remove_collectors() {
        let base = names(&effective(&[]));
        {
            let _on = crate::meta!(Fixed("a", Value::from(1)), GitCollector);
            assert!(names(&effective(&[])).contains(&"a".to_owned()));
            {
                let _off = Meta::off(["a", "resources"]);
                let n = names(&effective(&[Attached::new(Fixed("f", Value::Null))]));
                assert!(!n.contains(&"a".to_owned()), "{n:?}");
                assert!(!n.contains(&"resources".to_owned()), "{n:?}");
                assert!(n.contains(&"f".to_owned()));
                assert!(n.contains(&"git".to_owned()));
            }
            assert!(names(&effective(&[])).contains(&"a".to_owned()));
        }
        assert_eq!(names(&effective(&[])), base);
    }

    #[test]
    fn before_and_after_maps_merge() {
        let m = |pairs: &[(&str, i64)]| {
            Value::Map(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                    .collect(),
            )
        };
        assert_eq!(
            merge(m(&[("a", 1), ("b", 1)]), m(&[("b", 2)])),
            m(&[("a", 1), ("b", 2)])
        );
        assert_eq!(merge(m(&[("a", 1)]), Value::Null), m(&[("a", 1)]));
        assert_eq!(merge(Value::Null, Value::from(3)), Value::from(3));
    }

    #[test]
    fn reserved_and_mistyped_names_are_refused() {
        let mut md = Metadata::default();
        assert!(record("tags", 1, (), &mut md).is_err());
        assert!(record("environment", 1, (), &mut md).is_err());
        assert!(md.environment.is_none());
        record("environment", EnvironmentFacts::default(), (), &mut md).unwrap();
        assert!(md.environment.is_some());
        record("mine", Unrecorded(5), 7, &mut md).unwrap();
        assert_eq!(md.namespaces["mine"], Value::from(7));
        assert!(record("", 1, (), &mut md).is_err());
        record("nothing", (), Option::<u8>::None, &mut md).unwrap();
        assert!(!md.namespaces.contains_key("nothing"));
    }
}
