//! The stored format is frozen: these tests pin the encoded bytes of a known value and of a
//! known call record. If one fails, the change breaks every existing cache file: make it a
//! decision (a new format version and a migration), not an accident. See docs/format.md.
//! Format version 2 added the `Some` mark (tag 61932) pinned by `EXACT`; the value and record
//! bytes below were unchanged by it. Format version 3 added typed tags, `resources` and the
//! collectors' `namespaces` (pinned by `RECORD_V3`). Format version 5 stores call records in
//! a binary layout of their own (`CallRecord::encode`, `core/src/record/layout.rs`) instead
//! of the value codec's CBOR: `RECORD`, `RECORD_V3` and `RECORD_ALL` pin it. Format version 6
//! stores wall and CPU times as whole nanoseconds or microseconds where they read back bit
//! for bit (the three records changed there and in their first byte), and pins the tables of
//! a file in `a_call_is_stored_in_known_tables_and_entries`. Format version 7 changed call
//! keys only (their first byte, pinned in `function.rs`); records and tables are as in 6.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use fleche::{CallRecord, Digest, Metadata, codec};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(serde::Serialize)]
struct Point {
    x: f64,
    label: String,
    samples: Vec<f64>,
    raw: Vec<u8>,
}

#[test]
fn a_value_encodes_to_known_bytes() {
    let p = Point {
        x: 1.5,
        label: "a".into(),
        samples: vec![0.5, -2.0],
        raw: vec![1, 2, 3],
    };
    assert_eq!(hex(&codec::encode(&p).unwrap()), VALUE);
}

/// Format version 2: options keep their nesting, floats their bits.
#[derive(serde::Serialize)]
struct Exact {
    maybe: Option<Option<u8>>,
    unit: Option<()>,
    plain: Option<u8>,
    zero: f64,
    nan: f64,
}

#[test]
fn options_and_floats_encode_to_known_bytes() {
    let e = Exact {
        maybe: Some(None),
        unit: Some(()),
        plain: Some(5),
        zero: -0.0,
        nan: f64::from_bits(0x7ff0_0000_2000_0000),
    };
    assert_eq!(hex(&codec::encode(&e).unwrap()), EXACT);
}

/// The record both record goldens start from.
fn known_record() -> CallRecord {
    CallRecord {
        name: "relax".into(),
        module: "alloys".into(),
        version: Some("2".into()),
        code: Some(Digest::from_bytes([0xab; 32])),
        arguments: vec![("temperature".into(), Digest::from_bytes([7; 32]))],
        argument_keys: Vec::new(),
        result: Digest::from_bytes([9; 32]),
        result_type: "f64".into(),
        result_size: 9,
        metadata: Metadata {
            timestart: Utc.timestamp_opt(1_800_000_000, 5).unwrap(),
            timestop: Utc.timestamp_opt(1_800_000_002, 0).unwrap(),
            walltime: 2.0,
            tags: BTreeMap::from([("project".to_owned(), "alloys".into())]),
            ..Default::default()
        },
    }
}

/// The record encodes to `expected` and decodes back to itself.
fn pinned(record: &CallRecord, expected: &str) {
    let bytes = record.encode().unwrap();
    assert_eq!(hex(&bytes), expected);
    let back = CallRecord::decode(&bytes).unwrap();
    assert_eq!(&back, record);
}

#[test]
fn a_call_record_encodes_to_known_bytes() {
    pinned(&known_record(), RECORD);
}

#[test]
fn a_format_3_call_record_encodes_to_known_bytes() {
    use fleche::record::Resources;
    use fleche::{TagValue, Value};
    let mut record = known_record();
    let md = &mut record.metadata;
    md.tags = BTreeMap::from([
        ("t".to_owned(), TagValue::Int(300)),
        ("r".to_owned(), TagValue::Float(0.5)),
        ("b".to_owned(), TagValue::Bool(true)),
        ("s".to_owned(), TagValue::from("x")),
    ]);
    md.resources = Some(Resources {
        cpu_user: Some(1.5),
        cpu_system: Some(0.25),
        peak_memory_growth: Some(4096),
    });
    md.namespaces = BTreeMap::from([(
        "gpu".to_owned(),
        Value::Map(BTreeMap::from([("model".to_owned(), Value::from("A100"))])),
    )]);
    pinned(&record, RECORD_V3);
}

/// Every optional part of a record: argument keys, environment, git (a missing branch) and
/// resources with a missing entry.
#[test]
fn a_call_record_with_every_part_encodes_to_known_bytes() {
    use fleche::record::{Environment, Git, Resources};
    let mut record = known_record();
    record.version = None;
    record.argument_keys = vec![("self".into(), Digest::from_bytes([3; 32]))];
    let md = &mut record.metadata;
    md.environment = Some(Environment {
        hostname: "h".into(),
        user: "u".into(),
        cwd: "/w".into(),
        program: "/p".into(),
        fleche_version: "0.1.0".into(),
        rustc_version: "rustc 1.95.0".into(),
    });
    md.git = Some(Git {
        commit: Some("abc".into()),
        branch: None,
        dirty: Some(false),
    });
    md.resources = Some(Resources {
        cpu_user: None,
        cpu_system: Some(0.25),
        peak_memory_growth: Some(300),
    });
    pinned(&record, RECORD_ALL);
}

const RECORD_ALL: &str = "063e0572656c617806616c6c6f7973abababababababababababababababababababababababababababababababab010b74656d70657261747572650707070707070707070707070707070707070707070707070707070707070707010473656c660303030303030303030303030303030303030303030303030303030303030303090909090909090909090909090909090909090909090909090909090909090903663634098a80a0bbd29df1fa31f6cfacf30e81a4e803010770726f6a6563740006616c6c6f797301680175022f77022f7005302e312e300c727573746320312e39352e30050361626306c1843dac02";

const RECORD_V3: &str = "06630572656c617806616c6c6f79730132abababababababababababababababababababababababababababababababab010b74656d70657261747572650707070707070707070707070707070707070707070707070707070707070707090909090909090909090909090909090909090909090909090909090909090903663634098a80a0bbd29df1fa31f6cfacf30e81a4e80304016204017202000000000000e03f0173000178017401d80407819bee02c1843d802001036770750ca1656d6f64656c6441313030";
const EXACT: &str =
    "a5656d61796265d9f1ecf664756e6974d9f1ecf665706c61696e05647a65726ff98000636e616efa7f800001";
const VALUE: &str = "a46178f93e00656c6162656c61616773616d706c6573d85650000000000000e03f00000000000000c06372617743010203";
const RECORD: &str = "06030572656c617806616c6c6f79730132abababababababababababababababababababababababababababababababab010b74656d70657261747572650707070707070707070707070707070707070707070707070707070707070707090909090909090909090909090909090909090909090909090909090909090903663634098a80a0bbd29df1fa31f6cfacf30e81a4e803010770726f6a6563740006616c6c6f7973";

/// Format version 6 pins the tables of a cache file (unchanged in format 7, whose call keys
/// start with their function's cluster): which there are, their key and value types, and the
/// entries one call writes. The indexes hold the first 8 bytes of call keys and
/// value digests, read as a big-endian `u64`; the call entry is the record's checksum (XXH3-64
/// of the record bytes) and the record, which alone holds the result digest.
#[test]
fn a_call_is_stored_in_known_tables_and_entries() {
    use redb::{
        MultimapTableDefinition as Multimap, MultimapTableHandle, ReadableDatabase, ReadableTable,
        TableDefinition as Table, TableHandle,
    };
    type Key = [u8; 32];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("golden.redb");
    let key = Digest::from_bytes([0x5a; 32]);
    let record = known_record();
    {
        let cache = fleche::Cache::open(&path).unwrap();
        cache
            .insert_records(&[(key, record.clone())], &[(record.result, vec![0xf6])])
            .unwrap();
    }
    let mut builder = redb::Builder::new();
    builder.set_concurrency_mode(redb::ConcurrencyMode::MultiWriter);
    let db = builder.open_read_only(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let mut tables: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_owned())
        .chain(
            txn.list_multimap_tables()
                .unwrap()
                .map(|t| t.name().to_owned()),
        )
        .collect();
    tables.sort();
    assert_eq!(
        tables,
        [
            "calls",
            "calls_by_argument",
            "calls_by_function",
            "calls_by_result",
            "calls_by_tag",
            "calls_by_time",
            "fleche_format",
            "values"
        ]
    );
    let version = txn
        .open_table(Table::<&str, u64>::new("fleche_format"))
        .unwrap();
    assert_eq!(version.get("version").unwrap().unwrap().value(), 7);

    let calls = txn
        .open_table(Table::<Key, (u64, &[u8])>::new("calls"))
        .unwrap();
    let entry = calls.get(key.as_bytes()).unwrap().unwrap();
    let (sum, bytes) = entry.value();
    assert_eq!(hex(bytes), RECORD);
    assert_eq!(sum, 0x86f4_e57b_e692_1fe7, "{sum:#x}");
    assert_eq!(sum, xxhash_rust::xxh3::xxh3_64(bytes));

    let prefix = 0x5a5a_5a5a_5a5a_5a5a_u64;
    let values =
        |v: redb::MultimapValue<'_, u64>| -> Vec<u64> { v.map(|x| x.unwrap().value()).collect() };
    let by_function = txn
        .open_multimap_table(Multimap::<(&str, &str), u64>::new("calls_by_function"))
        .unwrap();
    assert_eq!(
        values(by_function.get(("relax", "alloys")).unwrap()),
        [prefix]
    );
    let by_tag = txn
        .open_multimap_table(Multimap::<&str, u64>::new("calls_by_tag"))
        .unwrap();
    assert_eq!(values(by_tag.get("project\0alloys").unwrap()), [prefix]);
    // Plain tables: every entry's key says it all.
    let by_argument = txn
        .open_table(Table::<(&str, u64, u64), ()>::new("calls_by_argument"))
        .unwrap();
    let arguments: Vec<(String, u64, u64)> = by_argument
        .iter()
        .unwrap()
        .map(|e| {
            let key = e.unwrap().0;
            let (n, v, c) = key.value();
            (n.to_owned(), v, c)
        })
        .collect();
    assert_eq!(
        arguments,
        [("temperature".to_owned(), 0x0707_0707_0707_0707, prefix)]
    );
    let by_result = txn
        .open_table(Table::<(u64, u64), ()>::new("calls_by_result"))
        .unwrap();
    let results: Vec<(u64, u64)> = by_result
        .iter()
        .unwrap()
        .map(|e| e.unwrap().0.value())
        .collect();
    assert_eq!(results, [(0x0909_0909_0909_0909, prefix)]);
    let by_time = txn
        .open_table(Table::<(i64, u64), ()>::new("calls_by_time"))
        .unwrap();
    let times: Vec<(i64, u64)> = by_time
        .iter()
        .unwrap()
        .map(|e| e.unwrap().0.value())
        .collect();
    assert_eq!(times, [(1_800_000_000_000_000_005, prefix)]);
}
