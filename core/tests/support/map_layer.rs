//! A layer kept in a map, for tests of stacks with a layer that is not a cache file: it keeps
//! no index of start times and cannot count its calls, so browsers list it by its records.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use fleche::Digest;
use fleche::layer::{Layer, StoredCall};

/// A layer kept in a map, as a shared database would keep it: counts what it is asked.
#[derive(Default)]
pub struct MapLayer {
    pub calls: Mutex<HashMap<Digest, StoredCall>>,
    pub lookups: AtomicU64,
    pub wants: bool,
}

impl Layer for MapLayer {
    fn describe(&self) -> String {
        "a map".into()
    }
    fn wants_new_calls(&self) -> bool {
        self.wants
    }
    fn result_of(&self, key: &Digest) -> fleche::Result<Option<(Digest, Vec<u8>)>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let calls = self.calls.lock().unwrap();
        Ok(calls
            .get(key)
            .and_then(|c| Some((c.result, c.result_bytes()?.to_vec()))))
    }
    fn calls(&self, keys: &[Digest]) -> fleche::Result<Vec<StoredCall>> {
        let calls = self.calls.lock().unwrap();
        Ok(keys.iter().filter_map(|k| calls.get(k).cloned()).collect())
    }
    fn value(&self, digest: &Digest) -> fleche::Result<Option<Vec<u8>>> {
        let calls = self.calls.lock().unwrap();
        Ok(calls
            .values()
            .flat_map(|c| &c.values)
            .find(|(d, _)| d == digest)
            .map(|(_, b)| b.clone()))
    }
    fn store(&self, calls: &[StoredCall]) -> fleche::Result<()> {
        let mut map = self.calls.lock().unwrap();
        for call in calls {
            map.insert(call.key, call.clone());
        }
        Ok(())
    }
    fn records_after(
        &self,
        after: Option<Digest>,
        limit: usize,
    ) -> fleche::Result<Vec<(Digest, Vec<u8>)>> {
        let calls = self.calls.lock().unwrap();
        let mut keys: Vec<Digest> = calls
            .keys()
            .filter(|k| after.is_none_or(|a| **k > a))
            .copied()
            .collect();
        keys.sort();
        Ok(keys
            .into_iter()
            .take(limit)
            .map(|k| (k, calls[&k].record.clone()))
            .collect())
    }
}
