//! End-to-end properties of the engine over the real upstream platform
//! (`$KUBEFLOW_MANIFESTS/rendered/example.yaml`, 683 documents, 12 MB) and of
//! the `kf-post` binary's contract with Helm (nothing on stdout on error).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use kf_post::stream::{parse, ParseOptions};
use kf_post::{post_render, Options};

fn example() -> Vec<u8> {
    let base = e2e::manifests_dir();
    let path = base.join("rendered/example.yaml");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set KUBEFLOW_MANIFESTS to the upstream snapshot)",
            path.display()
        )
    })
}

fn all_transforms() -> Options {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/all-transforms.yaml");
    Options {
        config_yaml: Some(std::fs::read_to_string(path).unwrap()),
        explain: true,
    }
}

#[test]
fn without_config_the_platform_passes_through_byte_identical() {
    let input = example();
    let out = post_render(&input, &Options::default()).unwrap();
    // Only the separators are normalised to `---\n`; every document's text
    // is identical.
    let docs_in = parse(&input, ParseOptions::default()).unwrap();
    let docs_out = parse(&out.stream, ParseOptions::default()).unwrap();
    assert_eq!(docs_in.documents.len(), 683);
    assert_eq!(docs_out.documents.len(), 683);
    for (a, b) in docs_in.documents.iter().zip(&docs_out.documents) {
        assert_eq!(a.raw(), b.raw(), "document {}", a.index);
        assert_eq!(a.leading_comments(), b.leading_comments());
    }
}

#[test]
fn all_transforms_are_deterministic_idempotent_and_keep_crd_schemas() {
    let input = example();
    let options = all_transforms();
    let once = post_render(&input, &options).unwrap();
    let again = post_render(&input, &options).unwrap();
    assert!(once.stream == again.stream, "same input, same output");
    let twice = post_render(&once.stream, &options).unwrap();
    if twice.stream != once.stream {
        // Show the first differing document rather than 12 MB of bytes.
        let a = parse(&once.stream, ParseOptions::default()).unwrap();
        let b = parse(&twice.stream, ParseOptions::default()).unwrap();
        let diff = a
            .documents
            .iter()
            .zip(&b.documents)
            .find(|(x, y)| x.raw() != y.raw());
        panic!(
            "running twice differs from running once: {:?}\n{}",
            diff.map(|(x, y)| (x.raw(), y.raw())),
            twice.explain
        );
    }
    assert!(
        twice.explain.contains(" 0 changed, 0 generated, 0 removed"),
        "{}",
        twice.explain
    );

    // The CRD schemas, kept as text, are intact: compare every CRD's
    // spec.versions fully parsed before and after.
    let full = ParseOptions { full_crds: true };
    let before = parse(&input, full).unwrap();
    let after = parse(&once.stream, full).unwrap();
    let versions = |s: &kf_post::stream::Stream| -> Vec<(String, serde_yaml::Value)> {
        s.documents
            .iter()
            .filter(|d| d.kind() == Some("CustomResourceDefinition"))
            .map(|d| {
                (
                    d.name().unwrap().to_owned(),
                    d.value()["spec"]["versions"].clone(),
                )
            })
            .collect()
    };
    let (b, a) = (versions(&before), versions(&after));
    assert_eq!(b.len(), 74);
    assert_eq!(b, a);
    // The labels transform reached every object, CRDs included.
    assert!(after
        .documents
        .iter()
        .all(|d| d.label("example.com/platform") == Some("kubeflow")));
}

#[test]
fn upstream_crd_schemas_take_the_fast_syntax_check() {
    // Every CRD schema block of the platform is in the block-style subset the
    // recogniser proves valid (the speed of kf-post depends on it), and
    // libyaml agrees that each is valid.
    let input = example();
    let stream = parse(&input, ParseOptions::default()).unwrap();
    // 70 of the 74 CRDs are kept as text; the rest contain text that looks
    // like a YAML anchor and are parsed fully.
    assert_eq!(stream.opaque.len(), 70);
    for block in &stream.opaque {
        assert!(
            kf_post::validate::surely_valid(block),
            "not recognised:\n{}",
            &block[..block.len().min(300)]
        );
        assert_eq!(kf_post::validate::check_with_libyaml(block), Ok(()));
    }
}

fn kf_post(args: &[&str], input: &[u8]) -> (i32, Vec<u8>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kf-post"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_contract() {
    let good = b"---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";
    let bad = [
        &good[..],
        b"---\n# Source: c/templates/x.yaml\napiVersion: v1\nkind: [\n",
    ]
    .concat();
    let dir = std::env::temp_dir().join(format!("kf-post-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        "apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nspec: {labels: {labels: {a: b}}}\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    // (args, input, exit code, stdout contains, stderr contains)
    type Case<'a> = (Vec<&'a str>, &'a [u8], i32, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], good, 0, "kind: ConfigMap", ""),
        (vec!["--config", config], good, 0, "a: b", ""),
        (
            vec!["--config", config, "--explain"],
            good,
            0,
            "a: b",
            "ConfigMap/a:\n  labels: set metadata.labels.a=b",
        ),
        (
            vec![],
            &bad,
            1,
            "",
            "kf-post: document 1 (c/templates/x.yaml): invalid YAML at input line 10",
        ),
        (
            vec!["--config", "/nonexistent.yaml"],
            good,
            1,
            "",
            "kf-post: config: cannot read /nonexistent.yaml",
        ),
        (
            vec!["--config"],
            good,
            1,
            "",
            "--config needs a file argument",
        ),
        (
            vec!["--frobnicate"],
            good,
            1,
            "",
            "unknown argument \"--frobnicate\"",
        ),
        (vec!["--version"], b"", 0, "kf-post 0.1.0", ""),
        (vec!["--help"], b"", 0, "--post-renderer kf-post", ""),
    ];
    for (args, input, code, stdout, stderr) in cases {
        let (got_code, got_out, got_err) = kf_post(&args, input);
        let got_out = String::from_utf8(got_out).unwrap();
        assert_eq!(got_code, code, "{args:?}: stderr {got_err}");
        if code != 0 {
            assert!(got_out.is_empty(), "{args:?}: partial output {got_out:?}");
        }
        assert!(got_out.contains(stdout), "{args:?}: stdout {got_out}");
        assert!(got_err.contains(stderr), "{args:?}: stderr {got_err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
