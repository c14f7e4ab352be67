//! What is read back is what was stored: distinct values never share a stored slot, and a
//! value comes back as it went in, bit for bit for floats.

use fleche::{Cache, D, fleche};
use serde::{Deserialize, Serialize};

thread_local! {
    static RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn runs() -> usize {
    RUNS.with(|r| r.get())
}

fn ran() {
    RUNS.with(|r| r.set(r.get() + 1));
}

#[fleche]
fn nested(x: Option<Option<u8>>) -> Option<Option<u8>> {
    ran();
    x
}

#[fleche]
fn unit_option(x: Option<()>) -> String {
    ran();
    format!("{x:?}")
}

#[test]
fn nested_options_have_their_own_call_keys_and_read_back() {
    let cache = Cache::memory();
    let _a = cache.activate();
    assert_ne!(nested::digest(Some(None)), nested::digest(None));
    assert_eq!(nested(None), None);
    assert_eq!(nested(Some(None)), Some(None));
    assert_eq!(runs(), 2);
    // Hits, each with its own stored result.
    assert_eq!(nested(Some(None)), Some(None));
    assert_eq!(nested(None), None);
    assert_eq!(runs(), 2);
    let call = cache.load(nested::digest(Some(None))).unwrap();
    assert_eq!(call.result::<Option<Option<u8>>>().unwrap(), Some(None));
    assert_eq!(
        call.argument::<Option<Option<u8>>>("x").unwrap(),
        Some(None)
    );

    assert_ne!(unit_option::digest(Some(())), unit_option::digest(None));
    assert_eq!(unit_option(None), "None");
    assert_eq!(unit_option(Some(())), "Some(())");
    assert_eq!(unit_option(Some(())), "Some(())");
}

#[fleche]
fn signed(x: f64, negative: bool) -> f64 {
    ran();
    if negative { -x } else { x }
}

#[test]
fn negative_zero_comes_back_negative_after_zero_was_stored() {
    let cache = Cache::memory();
    let _a = cache.activate();
    assert_eq!(signed(0.0, false).to_bits(), 0.0f64.to_bits());
    assert_eq!(signed(0.0, true).to_bits(), (-0.0f64).to_bits());
    // From the store now.
    assert_eq!(signed(0.0, true).to_bits(), (-0.0f64).to_bits());
    assert_eq!(signed(0.0, false).to_bits(), 0.0f64.to_bits());
    let call = cache.load(signed::digest(0.0, true)).unwrap();
    assert_eq!(call.result::<f64>().unwrap().to_bits(), (-0.0f64).to_bits());
    // NaN payloads too.
    let nan = f64::from_bits(0x7ff0_0000_2000_0001);
    assert_eq!(signed(nan, false).to_bits(), nan.to_bits());
    assert_eq!(signed(nan, false).to_bits(), nan.to_bits());
    assert_ne!(signed::digest(f64::NAN, false), signed::digest(nan, false));
}

/// The getting-started class: identified by `val` alone through `CacheKey`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct MyClass {
    val: i64,
}

impl fleche::CacheKey for MyClass {
    fn cache_key(&self) -> fleche::Digest {
        fleche::digest(&self.val)
    }
}

impl MyClass {
    #[fleche]
    fn compute(&self, x: i64) -> i64 {
        self.val + x
    }
}

#[fleche]
fn double(x: i64) -> i64 {
    x * 2
}

#[fleche]
fn square(x: i64) -> i64 {
    x * x
}

#[test]
fn a_receiver_with_its_own_key_does_not_collide_with_its_key_value() {
    let cache = Cache::memory();
    let _a = cache.activate();
    // The plain integer 10 first, then the receiver whose key is digest(10), then 10 again.
    assert_eq!(square(10), 100);
    let obj = MyClass { val: 10 };
    assert_eq!(obj.compute(5), 15);
    assert_eq!(double(10), 20);
    let ten = fleche::digest(&10i64);
    assert_eq!(double(D(ten.to_string())), 20);
    let call = cache.load(obj.compute_digest(5)).unwrap();
    assert_eq!(call.argument::<MyClass>("self").unwrap(), obj);
    let square_call = cache.load(square::digest(10)).unwrap();
    assert_eq!(square_call.argument::<i64>("x").unwrap(), 10);
    // Every stored value digests to the digest it is stored under.
    assert_eq!(
        cache.value_bytes(&ten).unwrap().unwrap(),
        fleche::codec::encode(&10i64).unwrap()
    );
    let receiver_digest = call.argument_digest("self").unwrap();
    assert_eq!(receiver_digest, fleche::digest(&obj));
    // Queries find the call by the receiver's key (as the call key does) and by its value.
    assert_eq!(MyClass::compute_query_with(&obj, 5).count().unwrap(), 1);
    assert_eq!(
        call.record().argument_keys,
        vec![("self".to_owned(), fleche::digest(&10i64))]
    );
    assert_eq!(
        cache
            .query()
            .argument_digest("self", fleche::digest(&obj))
            .count()
            .unwrap(),
        1
    );
    // The call key still comes from the receiver's own key.
    assert_eq!(obj.compute(5), 15);
    assert!(obj.compute_contains(5));
}

/// A value `levels` deep that owns no nested memory.
struct Deep {
    levels: usize,
}

impl Serialize for Deep {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        if self.levels == 0 {
            return s.serialize_u8(0);
        }
        let mut seq = s.serialize_seq(Some(1))?;
        seq.serialize_element(&Deep {
            levels: self.levels - 1,
        })?;
        seq.end()
    }
}

#[fleche]
fn depth_of(d: &Deep) -> usize {
    ran();
    d.levels
}

#[test]
fn an_argument_too_deep_to_digest_runs_uncached() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let before = runs();
    let deep = Deep { levels: 100_000 };
    assert_eq!(depth_of(&deep), 100_000);
    assert_eq!(depth_of(&deep), 100_000);
    assert_eq!(runs() - before, 2);
    assert_eq!(cache.len().unwrap(), 0);
    // A shallow one is cached as usual.
    let shallow = Deep { levels: 3 };
    assert_eq!(depth_of(&shallow), 3);
    assert_eq!(depth_of(&shallow), 3);
    assert_eq!(runs() - before, 3);
}
