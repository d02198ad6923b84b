//! Parse + transform with the engine's public entry point, twice: with the
//! input's own (in-stream) configuration and with every transform switched on.
//! Beyond "no panic, no hang, no OOM" (libFuzzer's checks), a successful run
//! must print a stream that parses again: Helm applies whatever kf-post prints.
#![no_main]

use kf_post::{post_render, Options};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

const EVERYTHING_ON: &str = include_str!("../everything-on.yaml");

fn check_output(input: &[u8], options: &Options) {
    let Ok(out) = post_render(input, options) else {
        return;
    };
    let text = std::str::from_utf8(&out.stream).expect("output is not UTF-8");
    for doc in serde_yaml::Deserializer::from_str(text) {
        if let Err(e) = serde_yaml::Value::deserialize(doc) {
            panic!("accepted input produced unparsable output: {e}\n--- output ---\n{text}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let everything_on = Options {
        config_yaml: Some(EVERYTHING_ON.to_string()),
        explain: true,
    };
    // A config the engine rejects would make the second run test nothing.
    static CONFIG_OK: std::sync::Once = std::sync::Once::new();
    CONFIG_OK.call_once(|| {
        if let Err(e) = post_render(b"", &everything_on) {
            panic!("fuzz/everything-on.yaml is rejected by the engine: {e}");
        }
    });
    check_output(data, &Options::default());
    check_output(data, &everything_on);
});
