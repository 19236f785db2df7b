//! trail's RFC 8785 (JCS) canonicalization against an implementation written by others
//! (`serde_json_canonicalizer`, which formats numbers with `ryu-js`, the ECMAScript algorithm
//! the RFC adopts), on generated JSON: nested objects and arrays, keys and strings of any
//! Unicode (control characters, astral planes, characters whose UTF-16 order differs from their
//! code point order), integers up to ±2^53 and finite doubles of every magnitude. A record's
//! hash is over these bytes, so any difference would make trail's logs unverifiable by others.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

const MAX_SAFE: i64 = (1 << 53) - 1;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,8}",
        "\\PC{0,12}",
        // Control characters, quotes, backslashes, DEL, and code points around the surrogates.
        proptest::collection::vec(
            prop_oneof![
                (0u32..0x20),
                Just(0x22),
                Just(0x5c),
                Just(0x7f),
                (0xd7f0u32..0xd800),
                (0xe000u32..0xe010),
                (0xff00u32..0x1_0000),
                (0x1_0000u32..0x1_0100),
                (0x10_fff0u32..0x11_0000)
            ],
            0..10
        )
        .prop_map(|cps| cps.into_iter().filter_map(char::from_u32).collect()),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-MAX_SAFE..=MAX_SAFE).prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        (-1e-6f64..1e-6).prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        (1e20f64..1e22).prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        (0u32..200).prop_map(|n| Value::Number(Number::from_f64(f64::from(n) / 100.0).unwrap())),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((text(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn trails_jcs_matches_an_independent_implementation(v in json()) {
        let ours = trail_core::jcs::to_vec(&v).unwrap();
        let theirs = serde_json_canonicalizer::to_vec(&v).unwrap();
        prop_assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "value {}",
            v
        );
    }
}
