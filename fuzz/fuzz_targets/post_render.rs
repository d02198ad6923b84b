//! Parse + transform with the engine's public entry point, twice: with the
//! input's own (in-stream) configuration and with every transform switched on.
//! Beyond "no panic, no hang, no OOM" (libFuzzer's checks), every run is held to
//! the engine's output guarantee, `kf_post::check_output_guarantee` (an accepted
//! input's output parses again: Helm applies whatever kf-post prints), the same
//! check `post-renderer/tests/fuzz_replay.rs` replays the corpus with.
#![no_main]

use kf_post::{check_output_guarantee, post_render, Options};
use libfuzzer_sys::fuzz_target;

const EVERYTHING_ON: &str = include_str!("../everything-on.yaml");

fn check_output(input: &[u8], options: &Options) {
    if let Err(broken) = check_output_guarantee(input, options) {
        panic!("{broken}");
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
