//! Copying calls between caches: a query's calls ([`Query::copy_to`]) or a whole cache
//! ([`Cache::transfer`]), with their values, keys, metadata and tags.

use crate::cache::{Cache, Copied};
use crate::call::Call;
use crate::digest::Digest;
use crate::error::Result;

use super::Query;

impl Query {
    /// Copies the matching calls, with their argument and result values, into `other`
    /// (memory or file; the source may be read-only). Keys, metadata and tags are kept, as
    /// the records are copied byte for byte (calls of a format-6 file opened read-only get
    /// their format-7 keys, whose first byte names their function's cluster). Calls `other`
    /// already has are left as they are, so copying again is a no-op and writes nothing.
    ///
    /// ```
    /// # use fleche::fleche;
    /// #[fleche]
    /// fn double(x: i64) -> i64 { x * 2 }
    /// # fn main() -> fleche::Result<()> {
    /// let here = fleche::Cache::memory();
    /// let there = fleche::Cache::memory();
    /// {
    ///     let _active = here.activate();
    ///     double(1);
    ///     double(2);
    /// }
    /// assert_eq!(here.query().argument("x", 2).copy_to(&there)?.calls_copied, 1);
    /// assert_eq!(here.query().argument("x", 2).copy_to(&there)?.calls_copied, 0);
    /// assert_eq!(there.load(double::digest(2))?.result::<i64>()?, 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn copy_to(&self, other: &Cache) -> Result<Copied> {
        self.copy_to_with_progress(other, &mut |_, _| {})
    }

    /// [`Query::copy_to`], calling `progress(calls done, calls in all)` as it goes.
    pub fn copy_to_with_progress(
        &self,
        other: &Cache,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Copied> {
        let found = self.run()?;
        let keys: Vec<Digest> = found.calls.iter().map(Call::key).collect();
        found.cache.copy_keys_to(&keys, other, progress)
    }
}

impl Cache {
    /// Copies calls from `from` into this cache: the calls of `query` (a query on `from`),
    /// or every call when `None`. See [`Query::copy_to`]; `from` may be read-only.
    pub fn transfer(&self, from: &Cache, query: Option<&Query>) -> Result<Copied> {
        self.transfer_with_progress(from, query, &mut |_, _| {})
    }

    /// [`Cache::transfer`], calling `progress(calls done, calls in all)` as it goes.
    pub fn transfer_with_progress(
        &self,
        from: &Cache,
        query: Option<&Query>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Copied> {
        match query {
            Some(query) => query.copy_to_with_progress(self, progress),
            None => {
                let keys = from.store.all_call_keys()?;
                from.copy_keys_to(&keys, self, progress)
            }
        }
    }
}
