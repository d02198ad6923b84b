//! Baseline for scripts/bench-kf-post: what a plain serde_yaml parse + emit
//! of every document costs (no CRD shortcut, no transforms). Like any engine
//! whose transforms see the whole stream, it holds every parsed document
//! before writing.
//! `cargo run --release -p kf-post --example roundtrip < stream.yaml`

use std::io::{Read, Write};

use serde::Deserialize;

fn main() {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .expect("UTF-8 stdin");
    let values: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&input)
        .map(|doc| serde_yaml::Value::deserialize(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect();
    let mut out = String::with_capacity(input.len());
    for value in &values {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(value).expect("serialisable"));
    }
    std::io::stdout().write_all(out.as_bytes()).expect("stdout");
}
