//! Replays every input the fuzzer kept on stable, in `cargo test`: the corpus
//! (`fuzz/corpus/post_render/`, committed) and any local crash artifacts
//! (`fuzz/artifacts/post_render/`, git-ignored, present after a fuzz run that
//! found one). Each goes through the engine with the fuzz target's two option
//! sets, default and `fuzz/everything-on.yaml` with `--explain`, and is held to
//! the one check the fuzz target makes, `kf_post::check_output_guarantee`; a
//! panic is caught here and reported with the file, as a broken guarantee is.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use kf_post::{check_output_guarantee, post_render, Options};

const EVERYTHING_ON: &str = include_str!("../../fuzz/everything-on.yaml");

/// The files of `dir`, sorted; none if it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[test]
fn every_fuzz_input_keeps_the_output_guarantee() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus = files_in(&fuzz.join("corpus/post_render"));
    assert!(
        !corpus.is_empty(),
        "no fuzz corpus in {}",
        fuzz.join("corpus/post_render").display()
    );
    let inputs = corpus
        .into_iter()
        .chain(files_in(&fuzz.join("artifacts/post_render")));

    let everything_on = Options {
        config_yaml: Some(EVERYTHING_ON.to_owned()),
        explain: true,
    };
    // A config the engine rejects would make the second run test nothing.
    if let Err(e) = post_render(b"", &everything_on) {
        panic!("fuzz/everything-on.yaml is rejected by the engine: {e}");
    }
    let option_sets = [
        ("default options", Options::default()),
        ("fuzz/everything-on.yaml --explain", everything_on),
    ];

    let mut replayed = 0;
    let mut failures = Vec::new();
    for path in inputs {
        let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (label, options) in &option_sets {
            let outcome =
                panic::catch_unwind(AssertUnwindSafe(|| check_output_guarantee(&input, options)));
            let problem = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(broken)) => broken,
                Err(payload) => format!("kf-post panicked: {}", panic_message(&*payload)),
            };
            let file = path.strip_prefix(&fuzz).unwrap_or(&path).display();
            failures.push(format!("fuzz/{file} with {label}: {problem}"));
        }
        replayed += 1;
    }
    assert!(
        failures.is_empty(),
        "{} run(s) of {replayed} fuzz inputs break the engine's output guarantee:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
