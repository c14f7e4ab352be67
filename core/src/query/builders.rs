//! `Query`'s builder methods, declared once in one list: it becomes `Query`'s own methods
//! here and the forwarding methods of the typed query `#[fleche]` generates for a function
//! (see `typed.rs`), so a builder cannot be on one and missing from the other.

use std::cmp::Ordering;
use std::sync::Arc;

use super::Query;
use super::field::{compare_options, field_value};
use super::filter::{Filter, ValueMatch};

/// The builders, handed to the macro `$render` after the tokens `$args`. Typed queries expand
/// the list in the user's crate, so paths in signatures are absolute (`$crate::..`,
/// `::core::..`); a body is compiled only here, as `Query`'s own method, and may use this
/// module's imports. A generic parameter (one at most) is written in brackets,
/// `fn argument[V: Bound](..)`, so that a renderer can pass it on. Not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __query_builders {
    ($render:path, $args:tt) => {
        $render! {
            $args

            // ---- which cache ---------------------------------------------------------------

            /// Runs this query on `cache` instead of the active one.
            fn on(self, cache: &$crate::Cache) {
                let mut query = self;
                query.cache = Some(cache.clone());
                query
            }

            // ---- filters -------------------------------------------------------------------

            /// Calls of functions with this name (indexed).
            fn name(self, name: impl ::core::convert::Into<::std::string::String>) {
                self.with_filter(Filter::Name(name.into()))
            }

            /// Calls of functions whose name matches a pattern with `*` (any text) and `?` (one
            /// character), like `"long_*"`. Indexed when the pattern starts with literal text.
            fn name_like(self, pattern: impl ::core::convert::Into<::std::string::String>) {
                self.with_filter(Filter::NameLike(pattern.into()))
            }

            /// Calls of functions defined in this module, as recorded: the `module_path!()` of
            /// the function (`"my_crate::physics"`), or `"__main__"` in a notebook (indexed).
            fn module(self, module: impl ::core::convert::Into<::std::string::String>) {
                self.with_filter(Filter::Module(module.into()))
            }

            /// Calls of functions whose module matches a `*`/`?` pattern, like `"my_crate::*"`.
            fn module_like(self, pattern: impl ::core::convert::Into<::std::string::String>) {
                self.with_filter(Filter::ModuleLike(pattern.into()))
            }

            /// Calls of functions declared with `#[fleche(version = ...)]` equal to this.
            fn version(self, version: impl ::core::convert::Into<::std::string::String>) {
                self.with_filter(Filter::Version(Some(version.into())))
            }

            /// Calls of functions declared without a `version`.
            fn unversioned(self) {
                self.with_filter(Filter::Version(None))
            }

            /// Calls made by the code with this token digest (see [`Call::code`](crate::Call::code)).
            fn code(self, code: $crate::Digest) {
                self.with_filter(Filter::Code(Some(code)))
            }

            /// Only calls of the function's current definition: same `version` and, when the
            /// code is part of the key (the default), the same code digest. Without it, a
            /// function's query returns the calls of every version and every edit of its body.
            ///
            /// Only a function's own query (`f::query()`, `T::m_query()`) knows its current
            /// code; on another query this is reported as an error when the query runs.
            fn current_only(self) {
                let mut query = self;
                match query.function {
                    Some(f) => {
                        query.filters.push(Filter::Version(f.version.map(str::to_owned)));
                        if let Some(code) = f.code.and_then(|c| c.parse().ok()) {
                            query.filters.push(Filter::Code(Some(code)));
                        }
                    }
                    None => query.problems.push(
                        "current_only() needs a function's own query, like `f::query().current_only()`; use `.version(..)` and `.code(..)` on other queries".into(),
                    ),
                }
                query
            }

            /// Calls with an argument `name` equal to `value`, compared by value digest across
            /// functions: `argument("x", 100)` finds `f(100)` and `g(x = 100i64)` alike, as
            /// integer digests do not depend on width. `None` and `()` are values like any
            /// other (indexed).
            fn argument[V: $crate::__private::serde::Serialize](self, name: &str, value: V) {
                let mut query = self;
                match $crate::digest::try_digest(&value) {
                    Ok(d) => query.argument_digest(name, d),
                    Err(e) => {
                        query.problems.push(format!(
                            "the value given for argument `{name}` has no digest: {e}"
                        ));
                        query
                    }
                }
            }

            /// Calls whose argument `name` has this value digest (indexed).
            fn argument_digest(self, name: &str, digest: $crate::Digest) {
                self.with_filter(Filter::Argument(name.to_owned(), ValueMatch::Digest(digest)))
            }

            /// Calls whose argument `name` is the stored value with this digest prefix (at
            /// least 4 hex characters, resolved when the query runs; indexed).
            fn argument_prefix(
                self,
                name: &str,
                prefix: impl ::core::convert::Into<::std::string::String>
            ) {
                self.with_filter(Filter::Argument(
                    name.to_owned(),
                    ValueMatch::Prefix(prefix.into()),
                ))
            }

            /// Calls that have an argument called `name`, whatever its value (indexed).
            fn has_argument(self, name: &str) {
                self.with_filter(Filter::HasArgument(name.to_owned()))
            }

            /// Calls tagged `key = value` (see [`tags!`](crate::tags!); indexed), compared by
            /// value: `tag("temperature", 300)` finds the integer 300 (and the float 300.0),
            /// not the text `"300"`.
            fn tag(self, key: &str, value: impl ::core::convert::Into<$crate::TagValue>) {
                self.with_filter(Filter::Tag(key.to_owned(), Some(value.into())))
            }

            /// Calls carrying the tag `key`, whatever its value (indexed).
            fn has_tag(self, key: &str) {
                self.with_filter(Filter::Tag(key.to_owned(), None))
            }

            /// Calls that carry the metadata namespace `namespace` at all: `"tags"` (at least
            /// one tag), `"environment"`, `"git"`, `"resources"` or your own collector's name
            /// (when that collector ran), or `"runtime"` (always). The counterpart of
            /// Python's `metadata={"tags": {}}`.
            fn metadata(self, namespace: &str) {
                self.with_filter(Filter::Namespace(namespace.to_owned()))
            }

            /// Calls whose metadata namespace has the entry `key` (like `("git", "branch")`).
            fn metadata_key(self, namespace: &str, key: &str) {
                self.with_filter(Filter::MetaKey(namespace.to_owned(), key.to_owned()))
            }

            /// Calls whose metadata entry `namespace.key` equals `value`, compared by value
            /// with the entry's type (like `("tags", "temperature", 300)`,
            /// `("git", "dirty", false)` or `("gpu", "model", "A100")`): numbers by their
            /// numeric value, text only with text, so `300` does not match the text `"300"`.
            fn metadata_eq[V: $crate::__private::serde::Serialize](
                self,
                namespace: &str,
                key: &str,
                value: V
            ) {
                let mut query = self;
                match $crate::meta::to_value(&value) {
                    Ok(v) => query.with_filter(Filter::MetaEq(
                        namespace.to_owned(),
                        key.to_owned(),
                        v,
                    )),
                    Err(e) => {
                        query.problems.push(format!(
                            "the value given for metadata `{namespace}.{key}` cannot be compared: {e}"
                        ));
                        query
                    }
                }
            }

            /// Calls whose result equals `value` (by value digest; indexed).
            fn result[V: $crate::__private::serde::Serialize](self, value: V) {
                let mut query = self;
                match $crate::digest::try_digest(&value) {
                    Ok(d) => query.result_digest(d),
                    Err(e) => {
                        query
                            .problems
                            .push(format!("the value given for the result has no digest: {e}"));
                        query
                    }
                }
            }

            /// Calls whose result has this value digest (indexed).
            fn result_digest(self, digest: $crate::Digest) {
                self.with_filter(Filter::Result(ValueMatch::Digest(digest)))
            }

            /// Calls that started at or after `time` (indexed). Accepts `DateTime<Utc>`,
            /// `DateTime<Local>` and `SystemTime`.
            fn started_after(
                self,
                time: impl ::core::convert::Into<
                    $crate::__private::DateTime<$crate::__private::Utc>,
                >
            ) {
                self.with_filter(Filter::StartedAfter(time.into()))
            }

            /// Calls that started before `time` (exclusive; indexed).
            fn started_before(
                self,
                time: impl ::core::convert::Into<
                    $crate::__private::DateTime<$crate::__private::Utc>,
                >
            ) {
                self.with_filter(Filter::StartedBefore(time.into()))
            }

            /// Only calls with one of these keys (indexed).
            fn among(self, keys: impl ::core::iter::IntoIterator<Item = $crate::Digest>) {
                let mut keys: Vec<$crate::Digest> = keys.into_iter().collect();
                keys.sort_unstable();
                keys.dedup();
                self.with_filter(Filter::Keys(Arc::new(keys)))
            }

            // ---- pipeline ------------------------------------------------------------------

            /// At most the first `n` calls.
            fn take(self, n: usize) {
                self.with_op(format!("take({n})"), move |mut calls| {
                    calls.truncate(n);
                    Ok(calls)
                })
            }

            /// All but the first `n` calls.
            fn skip(self, n: usize) {
                self.with_op(format!("skip({n})"), move |calls| {
                    Ok(calls.into_iter().skip(n).collect())
                })
            }

            /// Only the calls for which `keep` returns true. `keep` runs on every matched call
            /// at every run; capture what it needs with `move`.
            fn filter(
                self,
                keep: impl ::core::ops::Fn(&$crate::Call) -> bool
                    + ::core::marker::Send
                    + ::core::marker::Sync
                    + 'static
            ) {
                self.with_op("filter(..)".into(), move |mut calls| {
                    calls.retain(|c| keep(c));
                    Ok(calls)
                })
            }

            /// Sorts by a field of the record, ascending; calls without the field go last.
            /// Stable, so earlier orders break ties.
            fn sort_by(self, field: $crate::Field) {
                let label = format!("sort_by({field:?})");
                self.with_op(label, move |mut calls| {
                    calls.sort_by(|a, b| {
                        compare_options(field_value(a, &field), field_value(b, &field))
                    });
                    Ok(calls)
                })
            }

            /// Sorts by the value of argument `name` decoded as `T`, ascending (reads that
            /// argument of every call). Calls without it go last; a value that does not decode
            /// as `T` is an error when the query runs.
            fn sort_by_argument[
                T: $crate::__private::serde::de::DeserializeOwned
                    + ::core::cmp::PartialOrd
                    + 'static
            ](self, name: &str) {
                let name = name.to_owned();
                self.with_op(format!("sort_by_argument({name})"), move |calls| {
                    let mut keyed = Vec::with_capacity(calls.len());
                    for call in calls {
                        let value = if call.argument_digests().iter().any(|(n, _)| *n == name) {
                            Some(call.argument::<T>(&name)?)
                        } else {
                            None
                        };
                        keyed.push((value, call));
                    }
                    keyed.sort_by(|(a, _), (b, _)| match (a, b) {
                        (Some(a), Some(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        (None, None) => Ordering::Equal,
                    });
                    Ok(keyed.into_iter().map(|(_, c)| c).collect())
                })
            }

            /// Sorts by a key computed from each call, ascending.
            fn sort_by_key[K: ::core::cmp::Ord](
                self,
                key: impl ::core::ops::Fn(&$crate::Call) -> K
                    + ::core::marker::Send
                    + ::core::marker::Sync
                    + 'static
            ) {
                self.with_op("sort_by_key(..)".into(), move |mut calls| {
                    calls.sort_by_cached_key(|c| key(c));
                    Ok(calls)
                })
            }

            /// Reverses the order (newest first, after the default order).
            fn reverse(self) {
                self.with_op("reverse()".into(), |mut calls| {
                    calls.reverse();
                    Ok(calls)
                })
            }
        }
    };
}

/// Renders the list as `Query`'s own methods.
macro_rules! own_builders {
    ({}
        $(
            $(#[$attr:meta])*
            fn $name:ident $([$generic:ident : $($bound:tt)+])? ($self:ident $(, $arg:ident : $ty:ty)*)
            $body:block
        )*
    ) => {
        $(
            $(#[$attr])*
            pub fn $name $(<$generic: $($bound)+>)? ($self $(, $arg: $ty)*) -> Query $body
        )*
    };
}

impl Query {
    crate::__query_builders!(own_builders, {});
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every builder of `Query` (a `pub fn` taking `self` by value and returning the query)
    /// must come from the list, or typed queries would silently lack it. This reads the
    /// crate's sources and fails on any builder written outside the list.
    #[test]
    fn every_builder_of_query_is_in_the_shared_list() {
        let mut outside = Vec::new();
        collect_builders(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut outside,
        );
        assert!(
            outside.is_empty(),
            "these `Query` builders are written outside the list in query/builders.rs, so typed queries (`f::query()`) lack them; move them into `__query_builders!`: {outside:?}"
        );
    }

    /// Fails on a builder added to `impl Query` by hand, so the check above can fail.
    #[test]
    fn a_builder_outside_the_list_is_found() {
        let file: syn::File = syn::parse_quote! {
            impl Query {
                pub fn newest(self) -> Query { self }
                pub fn count(&self) -> usize { 0 }
                fn with_filter(self, f: Filter) -> Query { self }
            }
        };
        let mut found = Vec::new();
        builders_in(&file.items, "test.rs", &mut found);
        assert_eq!(found, ["test.rs: newest"]);
    }

    fn collect_builders(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect_builders(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let file = syn::parse_file(&text)
                    .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
                builders_in(&file.items, &path.display().to_string(), found);
            }
        }
    }

    fn builders_in(items: &[syn::Item], file: &str, found: &mut Vec<String>) {
        let is_query = |ty: &syn::Type| {
            matches!(ty, syn::Type::Path(p)
                if p.path.segments.last().is_some_and(|s| s.ident == "Query" || s.ident == "Self"))
        };
        for item in items {
            match item {
                syn::Item::Impl(block) if block.trait_.is_none() && is_query(&block.self_ty) => {
                    for item in &block.items {
                        let syn::ImplItem::Fn(f) = item else { continue };
                        let by_value = matches!(
                            f.sig.inputs.first(),
                            Some(syn::FnArg::Receiver(r)) if r.reference.is_none()
                        );
                        let returns_query = matches!(
                            &f.sig.output,
                            syn::ReturnType::Type(_, ty) if is_query(ty)
                        );
                        if matches!(f.vis, syn::Visibility::Public(_)) && by_value && returns_query
                        {
                            found.push(format!("{file}: {}", f.sig.ident));
                        }
                    }
                }
                syn::Item::Mod(m) => {
                    if let Some((_, items)) = &m.content {
                        builders_in(items, file, found);
                    }
                }
                _ => {}
            }
        }
    }
}
