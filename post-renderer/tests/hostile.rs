//! Hostile-input catalogue for the `kf-post` binary (issue 9): broken, malicious
//! and unusual inputs, each with the outcome a user must see — either a faithful
//! pass-through, or a clear error naming the document/field with a non-zero exit
//! and nothing on stdout (a post-renderer's partial output would be applied to the
//! cluster by Helm). Timeouts are hang guards, not performance assertions.

use serde_yaml::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const KF_POST: &str = env!("CARGO_BIN_EXE_kf-post");

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/hostile")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the user must observe.
enum Expect {
    /// Exit 0; the output documents equal the input documents (parsed), minus
    /// any `PostRenderConfig` document, which is consumed.
    PassThrough,
    /// Like `PassThrough`, and every input document's text appears byte for byte
    /// in the output (untouched documents are emitted raw).
    Verbatim,
    /// Like `PassThrough`, and no string is written as a plain scalar that a
    /// YAML 1.1 reader (Helm, kubectl: sigs.k8s.io/yaml) takes for a boolean or
    /// number (`n`, `yes`, `off`, `1_000`, …).
    Yaml11Safe,
    /// Non-zero exit (not a signal), empty stdout, and stderr containing every
    /// needle (case-insensitive; `a|b` accepts either).
    Error(&'static [&'static str]),
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    args: Vec<&'static str>,
    expect: Expect,
}

struct Run {
    /// Killed by the hang guard.
    timed_out: bool,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

/// Runs `cmd` with `input` on stdin; kills it after `timeout`.
fn run_with(mut cmd: Command, input: Vec<u8>, timeout: Duration) -> Run {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kf-post");
    let mut stdin = child.stdin.take().unwrap();
    // The child may stop reading early (an error): a broken pipe is expected then.
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        out.read_to_end(&mut buf).map(|_| buf).unwrap_or_default()
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        err.read_to_end(&mut buf).map(|_| buf).unwrap_or_default()
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        thread::sleep(Duration::from_millis(5));
    };
    writer.join().unwrap();
    Run {
        timed_out,
        code: status.code(),
        stdout: out_reader.join().unwrap(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// The documents of a stream, read by the engine's one stream reader,
/// without the `PostRenderConfig` documents (consumed by kf-post).
fn documents(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let docs = kf_post::stream::read_values(bytes).map_err(|e| e.to_string())?;
    Ok(docs
        .into_iter()
        .filter(|v| v.get("kind").and_then(Value::as_str) != Some("PostRenderConfig"))
        .collect())
}

/// The text of each document of a well-formed input, as read.
fn document_texts(input: &[u8]) -> Vec<String> {
    kf_post::stream::parse(input, kf_post::stream::ParseOptions::default())
        .expect("a well-formed input")
        .documents
        .iter()
        .map(|d| d.raw().to_owned())
        .collect()
}

/// Checks one case; returns a description of every way it went wrong.
fn check(case: &Case, run: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    if run.timed_out {
        problems.push(format!(
            "hang guard: killed after {:.0}s",
            run.elapsed.as_secs_f64()
        ));
        return problems;
    }
    match &case.expect {
        Expect::PassThrough | Expect::Verbatim | Expect::Yaml11Safe => {
            if run.code != Some(0) {
                problems.push(format!(
                    "exit {:?}, want 0; stderr: {}",
                    run.code,
                    run.stderr.trim()
                ));
                return problems;
            }
            let want = documents(&case.input).expect("case input must parse for a pass-through");
            // A rewritten document gains the transform's change; its data must not change.
            let comparable = |docs: Vec<Value>| -> Vec<Value> {
                if matches!(case.expect, Expect::Yaml11Safe) {
                    docs.into_iter()
                        .map(|d| d.get("data").cloned().unwrap_or(Value::Null))
                        .collect()
                } else {
                    docs
                }
            };
            match documents(&run.stdout).map(comparable) {
                Ok(got) if got == comparable(want.clone()) => {}
                Ok(got) => problems.push(format!(
                    "output differs from input: {} documents, want {}; first output document: {:?}",
                    got.len(),
                    want.len(),
                    got.first()
                )),
                Err(e) => problems.push(format!("output does not parse: {e}")),
            }
            if matches!(case.expect, Expect::Yaml11Safe) {
                let out = String::from_utf8_lossy(&run.stdout);
                for line in out.lines() {
                    let value = line
                        .rsplit_once(": ")
                        .map(|(_, v)| v)
                        .unwrap_or(line)
                        .trim();
                    if kf_post::yaml11::is_non_string(value) {
                        problems.push(format!(
                            "plain scalar read as non-string by YAML 1.1: {line:?}"
                        ));
                    }
                }
            }
            if matches!(case.expect, Expect::Verbatim) {
                let out = String::from_utf8_lossy(&run.stdout);
                for doc in document_texts(&case.input) {
                    if !out.contains(&doc) {
                        problems.push(format!("document not emitted byte for byte: {doc:?}"));
                    }
                }
            }
        }
        Expect::Error(needles) => {
            match run.code {
                Some(0) => problems.push("exit 0, want an error".into()),
                None => problems.push("killed by a signal (crash), want a clean error".into()),
                Some(_) => {}
            }
            if !run.stdout.is_empty() {
                problems.push(format!(
                    "partial output on error ({} bytes): {:?}",
                    run.stdout.len(),
                    String::from_utf8_lossy(&run.stdout[..run.stdout.len().min(120)])
                ));
            }
            let stderr = run.stderr.to_lowercase();
            for needle in *needles {
                if !needle
                    .split('|')
                    .any(|n| stderr.contains(&n.to_lowercase()))
                {
                    problems.push(format!("stderr lacks {needle:?}: {}", run.stderr.trim()));
                }
            }
        }
    }
    problems
}

const CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: kubeflow\ndata:\n  k: v\n";

fn cm_with_value(value: &str) -> Vec<u8> {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: {value}\n")
        .into_bytes()
}

fn with_config(config: &str) -> Vec<u8> {
    let mut v = fixture(config);
    v.extend_from_slice(b"---\n");
    v.extend_from_slice(CM.as_bytes());
    v
}

/// Billion laughs: 9 levels of 9 aliases expand to 9^9 (387 million) strings.
fn alias_bomb() -> Vec<u8> {
    let mut s = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a0: &a0 lol\n",
    );
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        s += &format!("  a{i}: &a{i} [{refs}]\n");
    }
    s.into_bytes()
}

fn deep_flow(depth: usize) -> Vec<u8> {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nx: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    )
    .into_bytes()
}

fn deep_block(depth: usize) -> Vec<u8> {
    let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nx:\n");
    for i in 1..depth {
        s += &format!("{}k:\n", " ".repeat(i));
    }
    s += &format!("{}leaf: 1\n", " ".repeat(depth));
    s.into_bytes()
}

fn cases() -> Vec<Case> {
    let helm = fixture("helm-stream.yaml");
    let crlf = String::from_utf8(helm.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(&helm);
    let mut invalid_utf8 = cm_with_value("ok");
    invalid_utf8.extend_from_slice(b"  bad: \xff\xfe latin-1 \xe9t\xe9\n");
    let mut utf8_in_comment = b"# caf\xe9\n".to_vec();
    utf8_in_comment.extend_from_slice(CM.as_bytes());
    let utf16: Vec<u8> = std::iter::once(0xfeffu16)
        .chain(CM.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    let large = format!("\"{}\"", "x".repeat(1 << 20));
    let huge = format!("\"{}\"", "x".repeat(64 << 20));
    let error_in_third = format!("{CM}---\n{CM}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n---\n{CM}");
    // In-stream configs of sibling charts are merged; two different values
    // for one setting must be refused, naming both documents.
    let conflict = |preset: &str| {
        format!("apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nmetadata: {{name: c-{preset}}}\nspec: {{security: {{preset: {preset}}}}}\n")
    };
    let two_configs = format!(
        "{}---\n{}---\n{CM}",
        conflict("hardened"),
        conflict("upstream")
    )
    .into_bytes();
    let b = |s: &str| s.as_bytes().to_vec();
    // Inputs that opt into a transform with a name, namespace or value the
    // generated objects cannot carry: a clear error, never a panic.
    let opt_in = |spec: &str, doc: &str| {
        b(&format!(
            "apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nmetadata: {{name: t}}\nspec: {spec}\n---\n{doc}"
        ))
    };
    let service = |name: &str, namespace: &str, annotations: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n{namespace}  annotations: {{{annotations}}}\nspec:\n  selector: {{app: a}}\n  ports: [{{port: 80}}]\n"
        )
    };
    let exposed = |name: &str, extra: &str| {
        opt_in(
            "{}",
            &service(
                name,
                "  namespace: team-a\n",
                &format!("kf-post.kubeflow.org/expose-prefix: /a/{extra}"),
            ),
        )
    };
    let deployment = |annotations: &str, pod_annotations: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  annotations: {{{annotations}}}\nspec:\n  template:\n    metadata:\n      labels: {{app: a}}\n      annotations: {{{pod_annotations}}}\n    spec:\n      containers: [{{name: c, image: i}}]\n"
        )
    };
    let webhook = |service: &str| {
        format!(
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: v\n  annotations: {{kf-post.kubeflow.org/certificates: 'true'}}\nwebhooks:\n- name: v.example.com\n  clientConfig: {{service: {{name: '{service}', namespace: team-a}}}}\n"
        )
    };
    let c = |name, input, expect| Case {
        name,
        input,
        args: vec![],
        expect,
    };
    vec![
        c("empty stream", vec![], Expect::PassThrough),
        c("only comments", b("# Source: nothing\n# another comment\n"), Expect::PassThrough),
        c("only separators", b("---\n---\n---\n"), Expect::PassThrough),
        c("100k empty documents", b(&"---\n".repeat(100_000)), Expect::PassThrough),
        c("helm stream with Source comments", helm.clone(), Expect::Verbatim),
        c("windows line endings (CRLF)", crlf, Expect::PassThrough),
        c("UTF-8 byte order mark", bom, Expect::PassThrough),
        c("no trailing newline", b(CM.trim_end()), Expect::PassThrough),
        c("document end markers", b(&format!("{CM}...\n---\n{CM}...\n")), Expect::PassThrough),
        c("unicode names and values", b("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n    note: \"Größe 🚀 日本語\"\ndata:\n  ключ: значение\n"), Expect::Verbatim),
        c("tab inside a scalar", b("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: \"a\\tb\"\n  j: a\tb\n"), Expect::PassThrough),
        // serde_yaml cannot represent it, so a faithful pass-through is impossible;
        // the user must be told where it is.
        c("integer beyond 64 bits", cm_with_value("123456789012345678901234567890"), Expect::Error(&["document 0", "data.k"])),
        c("custom YAML tag", cm_with_value("!custom tagged"), Expect::PassThrough),
        c("small anchors and aliases", b("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: &l {app: x}\n  annotations: *l\n"), Expect::PassThrough),
        c("merge key", b("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  base: &b {x: '1'}\n  more:\n    <<: *b\n    y: '2'\n"), Expect::Verbatim),
        c("unknown kind", b("apiVersion: widgets.example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  anything: [1, 2]\n"), Expect::Verbatim),
        c("nesting 50 levels", deep_block(50), Expect::PassThrough),
        c("large scalar (1 MiB)", cm_with_value(&large), Expect::PassThrough),
        // Larger than any object the API server stores (etcd's request limit is
        // 1.5 MiB by default): refused with the size, instead of buffered.
        c("huge scalar (64 MiB)", cm_with_value(&huge), Expect::Error(&["document 0", "bytes"])),
        c("invalid UTF-8 in a value", invalid_utf8, Expect::Error(&["utf-8|utf8"])),
        c("invalid UTF-8 in a comment", utf8_in_comment, Expect::Error(&["utf-8|utf8"])),
        c("UTF-16 encoded stream", utf16, Expect::Error(&["utf-8|utf8|utf-16|encoding"])),
        c("NUL byte in a scalar", b("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: a\0b\n"), Expect::Error(&["document 0"])),
        c("control character (BEL)", b("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: a\x07b\n"), Expect::Error(&["document 0"])),
        // Found by fuzzing: comments never reach the YAML parser, Helm's refuses them.
        c("control character in the # Source: comment", b(&format!("{CM}---\n# Source: c/templates\x0fcm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n")), Expect::Error(&["document 1", "U+000F", "line 9"])),
        c("C1 control character (U+009B)", cm_with_value("\"a\u{9b}b\""), Expect::Error(&["document 0", "U+009B"])),
        c("lone surrogate escape", cm_with_value("\"\\ud800\""), Expect::Error(&["document 0"])),
        c("tab indentation", b(&format!("{CM}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: c\n")), Expect::Error(&["document 1"])),
        c("duplicate key in metadata", b("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"), Expect::Error(&["document 0", "name"])),
        c("duplicate top-level kind", b("apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata:\n  name: a\n"), Expect::Error(&["document 0", "kind"])),
        c("alias bomb (billion laughs)", alias_bomb(), Expect::Error(&["document 0"])),
        c("deep flow nesting (100k)", deep_flow(100_000), Expect::Error(&["document 0"])),
        c("deep block nesting (5k)", deep_block(5_000), Expect::Error(&["document 0"])),
        c("scalar document", b(&format!("{CM}---\njust a string\n")), Expect::Error(&["document 1"])),
        c("sequence document", b("- a\n- b\n"), Expect::Error(&["document 0"])),
        // Found by the fuzz target: a YAML tag on `metadata` while the namespace
        // transform sets a namespace panicked (exit 101) instead of refusing it.
        c("tagged metadata mapping", b("apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nmetadata: {name: t}\nspec: {namespace: {default: kubeflow}}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: !custom\n  name: sa\n"), Expect::Error(&["document 1", "metadata"])),
        // Found by the fuzz target after the syntax check of opaque CRD blocks:
        // duplicate keys are not a syntax error for libyaml, but every reader refuses them.
        c("CRD with a duplicate key in spec.versions", b("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  versions:\n  - name: v1\n    served: true\n    served: false\n"), Expect::Error(&["document 0", "served"])),
        // A transform changes this document, so the engine re-serialises it; the
        // API server rejects `data: {a: n}` ("cannot unmarshal bool").
        c("YAML 1.1 booleans in a rewritten document", b("apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nmetadata: {name: t}\nspec: {labels: {labels: {x: '1'}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: 'n'\n  b: 'y'\n  c: 'yes'\n  d: 'off'\n  e: 'NO'\n  f: '1_000'\n"), Expect::Yaml11Safe),
        // Found by the fuzz target: CRD `spec.versions` is kept as opaque text, so
        // invalid YAML inside it must still be refused, not handed on to Helm.
        c("CRD with invalid YAML in spec.versions", b("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  versions:\n  - name: v1\n    served: true\n       - broken: [\n"), Expect::Error(&["document 0"])),
        c("missing kind", b("apiVersion: v1\nmetadata:\n  name: c\n"), Expect::Error(&["document 0", "kind"])),
        c("kind is not a string", b("apiVersion: v1\nkind: [ConfigMap]\nmetadata:\n  name: c\n"), Expect::Error(&["document 0", "kind"])),
        c("metadata is not a mapping", b("apiVersion: v1\nkind: ConfigMap\nmetadata: c\n"), Expect::Error(&["document 0", "metadata"])),
        c("syntax error in document 2 of 4", b(&error_in_third), Expect::Error(&["document 2"])),
        c("config: wrong type", with_config("config-wrong-type.yaml"), Expect::Error(&["config", "labels"])),
        c("config: unknown key", with_config("config-unknown-key.yaml"), Expect::Error(&["config", "lables"])),
        c("config: unknown nested key", with_config("config-unknown-nested-key.yaml"), Expect::Error(&["config", "presett"])),
        c("config: spec is a sequence", with_config("config-spec-sequence.yaml"), Expect::Error(&["config", "spec"])),
        c("config: unknown apiVersion", with_config("config-bad-version.yaml"), Expect::Error(&["config", "v9|apiversion"])),
        c("config: two conflicting config documents", two_configs, Expect::Error(&["document 0", "document 1", "preset"])),
        c("config: empty spec is consumed", with_config("config-empty.yaml"), Expect::PassThrough),
        c("opt-in: Service name that is not a host name", exposed("'a}b: c'", ""), Expect::Error(&["document 1", "Service/a}b: c", "field `metadata.name`", "not a DNS label"])),
        c("opt-in: Service namespace that is not a DNS label", opt_in("{}", &service("web", "  namespace: Team A\n", "kf-post.kubeflow.org/expose-prefix: /a/")), Expect::Error(&["document 1", "Service/web", "metadata.namespace"])),
        c("opt-in: expose-prefix not a path", opt_in("{}", &service("web", "", "kf-post.kubeflow.org/expose-prefix: 'a}b'")), Expect::Error(&["document 1", "Service/web", "expose-prefix", "URI path"])),
        c("opt-in: expose-timeout not a duration", exposed("web", ", kf-post.kubeflow.org/expose-timeout: forever"), Expect::Error(&["document 1", "expose-timeout", "duration"])),
        c("opt-in: expose-gateway not ns/name", exposed("web", ", kf-post.kubeflow.org/expose-gateway: 'a/b/c'"), Expect::Error(&["document 1", "expose-gateway"])),
        c("opt-in: expose-name not an object name", exposed("web", ", kf-post.kubeflow.org/expose-name: 'Web App'"), Expect::Error(&["document 1", "expose-name"])),
        c("opt-in: expose-port out of range", exposed("web", ", kf-post.kubeflow.org/expose-port: '99999'"), Expect::Error(&["document 1", "expose-port", "port number"])),
        c("opt-in: expose-rewrite with a space", exposed("web", ", kf-post.kubeflow.org/expose-rewrite: '/a b'"), Expect::Error(&["document 1", "expose-rewrite"])),
        c("opt-in: authz-service-accounts not names", opt_in("{}", &service("web", "  namespace: team-a\n", "kf-post.kubeflow.org/authz-service-accounts: 'a}b'")), Expect::Error(&["document 1", "authz-service-accounts"])),
        c("opt-in: service account without namespace, Service without namespace", opt_in("{}", &service("web", "", "kf-post.kubeflow.org/authz-service-accounts: ui")), Expect::Error(&["document 1", "Service/web", "metadata.namespace", "namespace/ui"])),
        c("opt-in: env var name with '='", opt_in("{}", &deployment("kf-post.kubeflow.org/env-userid-header: 'A=B'", "")), Expect::Error(&["document 1", "Deployment/d", "env-userid-header"])),
        c("opt-in: destination-rule neither true nor false", opt_in("{istio: {mode: sidecar}}", &service("web", "  namespace: team-a\n", "kf-post.kubeflow.org/destination-rule: 'yes'")), Expect::Error(&["document 1", "destination-rule", "expected"])),
        c("opt-in: destination-rule on a Service named 'a}b'", opt_in("{istio: {mode: sidecar}}", &service("'a}b'", "  namespace: team-a\n", "kf-post.kubeflow.org/destination-rule: 'true'")), Expect::Error(&["document 1", "metadata.name"])),
        c("opt-in: istio-inject neither true nor false", opt_in("{istio: {mode: sidecar}}", &deployment("", "kf-post.kubeflow.org/istio-inject: maybe")), Expect::Error(&["document 1", "Deployment/d", "spec.template.metadata.annotations.kf-post.kubeflow.org/istio-inject"])),
        c("opt-in: webhook calling a Service named 'a}b'", opt_in("{certificates: {enabled: true}}", &webhook("a}b")), Expect::Error(&["document 1", "ValidatingWebhookConfiguration/v", "webhooks[0].clientConfig.service.name"])),
        c("opt-in: profile-scoped neither true nor false", opt_in("{profiles: {profiles: [{name: team-a, owner: a@example.com}]}}", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {kf-post.kubeflow.org/profile-scoped: 'yes'}\n"), Expect::Error(&["document 1", "ConfigMap/c", "profile-scoped"])),
        c("config: auth app prefix not a path", opt_in("{auth: {apps: [{name: web, service: web, prefix: 'a}b'}]}}", &service("web", "", "")), Expect::Error(&["config", "auth.apps[web].prefix"])),
        c("config: namespace.default not a DNS label", opt_in("{namespace: {default: 'Team A'}}", &service("web", "", "")), Expect::Error(&["config", "namespace.default"])),
        Case { name: "unknown command-line flag", input: helm, args: vec!["--bogus-flag"], expect: Expect::Error(&["--bogus-flag"]) },
    ]
}

#[test]
fn catalogue() {
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "the catalogue must hold at least 30 cases"
    );
    let mut failures = Vec::new();
    for case in &cases {
        let mut cmd = Command::new(KF_POST);
        cmd.args(&case.args);
        let run = run_with(cmd, case.input.clone(), Duration::from_secs(120));
        let problems = check(case, &run);
        println!(
            "{:<40} {:>8.2}s  {}",
            case.name,
            run.elapsed.as_secs_f64(),
            if problems.is_empty() {
                "ok".to_string()
            } else {
                problems.join(" / ")
            }
        );
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.name, problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// ~200 MB of Helm-like documents: handled as a stream within bounded memory, every
/// document emitted unchanged. Prints the time and peak RSS measured by GNU time.
/// Runs the release build, the binary Helm runs (the debug build needs about ten
/// times as long for the same stream).
#[test]
fn stream_of_200_mb() {
    let mut doc = String::from("---\n# Source: kubeflow/charts/x/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-NNNNNNN\n  namespace: kubeflow\ndata:\n");
    for i in 0..30 {
        doc += &format!("  key{i}: \"{}\"\n", "v".repeat(60));
    }
    let mut input = Vec::with_capacity(210 << 20);
    let mut n = 0usize;
    while input.len() < 200 << 20 {
        input.extend_from_slice(doc.replace("NNNNNNN", &format!("{n:07}")).as_bytes());
        n += 1;
    }
    let rss_file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-200mb.rss");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%M", "-o"])
        .arg(&rss_file)
        .arg(e2e::kf_post_bin());
    let size = input.len();
    let strip = |b: &[u8]| -> Vec<u8> {
        b.split_inclusive(|c| *c == b'\n')
            .filter(|l| *l != b"---\n")
            .flatten()
            .copied()
            .collect()
    };
    let want = strip(&input);
    let run = run_with(cmd, input, Duration::from_secs(900));
    assert!(!run.timed_out, "hang guard: killed after {:?}", run.elapsed);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let rss_kib: u64 = std::fs::read_to_string(&rss_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    println!(
        "200 MB stream: {n} documents, {size} bytes, {:.1}s, peak RSS {} MiB ({:.2}x input)",
        run.elapsed.as_secs_f64(),
        rss_kib / 1024,
        (rss_kib * 1024) as f64 / size as f64
    );
    assert!(
        strip(&run.stdout) == want,
        "output differs from input ({} vs {} bytes)",
        run.stdout.len(),
        size
    );
    // Hang/blow-up guard, not a performance target: a copy per stage of the
    // pipeline is expected, unbounded growth (e.g. quadratic buffering) is not.
    assert!(
        rss_kib * 1024 < 16 * size as u64,
        "peak RSS {rss_kib} KiB for {size} bytes of input"
    );
}
