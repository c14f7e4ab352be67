//! The stored format is frozen: these tests pin the encoded bytes of a known value and of a
//! known call record. If one fails, the change breaks every existing cache file: make it a
//! decision (a new format version and a migration), not an accident. See docs/format.md.
//! Format version 2 added the `Some` mark (tag 61932) pinned by `EXACT`; the value and record
//! bytes below were unchanged by it. Format version 3 added typed tags, `resources` and the
//! collectors' `namespaces` (pinned by `RECORD_V3`); a record with none of them (`RECORD`)
//! encodes as in format 2.

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
    let bytes = codec::encode(record).unwrap();
    assert_eq!(hex(&bytes), expected);
    let back: CallRecord = codec::decode(&bytes).unwrap();
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

const RECORD_V3: &str = "a9646e616d656572656c6178666d6f64756c6566616c6c6f79736776657273696f6e613264636f64655820abababababababababababababababababababababababababababababababab69617267756d656e747381826b74656d70657261747572655820070707070707070707070707070707070707070707070707070707070707070766726573756c74582009090909090909090909090909090909090909090909090909090909090909096b726573756c745f74797065636636346b726573756c745f73697a6509686d65746164617461a66974696d6573746172741b18fae27693b400056874696d6573746f701b18fae2770ae994006877616c6c74696d65f940006474616773a46162f56172f9380061736178617419012c697265736f7572636573a3686370755f75736572f93e006a6370755f73797374656df93400727065616b5f6d656d6f72795f67726f7774681910006a6e616d65737061636573a163677075a1656d6f64656c6441313030";
const EXACT: &str =
    "a5656d61796265d9f1ecf664756e6974d9f1ecf665706c61696e05647a65726ff98000636e616efa7f800001";
const VALUE: &str = "a46178f93e00656c6162656c61616773616d706c6573d85650000000000000e03f00000000000000c06372617743010203";
const RECORD: &str = "a9646e616d656572656c6178666d6f64756c6566616c6c6f79736776657273696f6e613264636f64655820abababababababababababababababababababababababababababababababab69617267756d656e747381826b74656d70657261747572655820070707070707070707070707070707070707070707070707070707070707070766726573756c74582009090909090909090909090909090909090909090909090909090909090909096b726573756c745f74797065636636346b726573756c745f73697a6509686d65746164617461a46974696d6573746172741b18fae27693b400056874696d6573746f701b18fae2770ae994006877616c6c74696d65f940006474616773a16770726f6a65637466616c6c6f7973";
