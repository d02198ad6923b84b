//! The RBAC allowlist against upstream's full platform rendering
//! (`$KUBEFLOW_MANIFESTS/rendered/example.yaml`).

use audit::rbac::{self, Allowlist};
use std::path::PathBuf;

fn load(path: PathBuf) -> Vec<audit::Object> {
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set KUBEFLOW_MANIFESTS)", path.display()));
    audit::parse(&text).unwrap()
}

fn allowlist() -> Allowlist {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rbac-allowlist.yaml");
    Allowlist::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_upstream_wildcard_is_listed_with_a_reason_and_no_entry_is_stale() {
    let roles = rbac::roles(&load(e2e::manifests_dir().join("rendered/example.yaml")));
    assert!(
        roles.len() > 50,
        "expected the full platform, got {} roles",
        roles.len()
    );
    let allow = allowlist();
    assert_eq!(
        allow.unlisted(&roles),
        Vec::<String>::new(),
        "wildcards missing from audit/rbac-allowlist.yaml"
    );
    assert_eq!(
        allow.stale(&roles),
        Vec::<String>::new(),
        "allowlist entries upstream no longer needs"
    );
}

#[test]
fn upstream_is_not_broader_than_itself() {
    // Sanity check of the comparison on real data: identical roles are covered.
    let roles = rbac::roles(&load(e2e::manifests_dir().join("rendered/example.yaml")));
    assert_eq!(
        rbac::broader_than_upstream(&roles, &roles, &allowlist()),
        Vec::<String>::new()
    );
}
