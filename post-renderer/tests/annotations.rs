//! The annotation table of docs/kf-post.md is generated from the one list in
//! `src/annotations.rs`, and the transforms read no annotation outside it.
//! Regenerate the table with
//! `KF_POST_WRITE_DOCS=1 cargo test -p kf-post --test annotations`.

use std::path::{Path, PathBuf};

const BEGIN: &str =
    "<!-- annotations: generated from post-renderer/src/annotations.rs (tests/annotations.rs) -->\n";
const END: &str = "<!-- end of annotations -->\n";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn docs_table_is_generated_from_the_list() {
    let path = root().join("docs/kf-post.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find(BEGIN).expect("table start marker") + BEGIN.len();
    let end = start + doc[start..].find(END).expect("table end marker");
    let table = kf_post::annotations::markdown_table();
    if std::env::var_os("KF_POST_WRITE_DOCS").is_some() {
        let updated = format!("{}{table}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        doc[start..end] == table,
        "the annotation table of docs/kf-post.md is not the one generated from \
         src/annotations.rs; regenerate it with \
         KF_POST_WRITE_DOCS=1 cargo test -p kf-post --test annotations\n\
         want:\n{table}"
    );
}

/// Annotation keys written as literals in the engine's code (comments and
/// test modules aside): there must be none outside src/annotations.rs.
#[test]
fn transforms_read_only_listed_annotations() {
    let mut stray = Vec::new();
    let mut files = vec![];
    for dir in ["src", "src/transforms"] {
        for e in std::fs::read_dir(root().join("post-renderer").join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    for file in files {
        if file.ends_with("annotations.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for (at, _) in line.match_indices("kf-post.kubeflow.org/") {
                let rest = &line[at + "kf-post.kubeflow.org/".len()..];
                if !rest.starts_with("v1alpha1") {
                    stray.push(format!("{}:{}: {line}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        stray.is_empty(),
        "annotation keys outside src/annotations.rs (add them to the list):\n{}",
        stray.join("\n")
    );
    let keys: Vec<&str> = kf_post::annotations::ALL.iter().map(|a| a.key).collect();
    assert!(
        keys.contains(&"kf-post.kubeflow.org/authz-service-accounts"),
        "{keys:?}"
    );
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "listed twice: {keys:?}");
}
