//! Upgrades across Kubeflow releases: every immutable field that the supported
//! older release (`KUBEFLOW_MANIFESTS_PREVIOUS`, default the 1.11.0 snapshot)
//! has otherwise than this one, in an object of a chart's scenario, is kept as
//! the older release had it by a `keepImmutable:` declaration
//! (xtask/src/immutable.rs); without one, `helm upgrade` from that release would
//! fail on the object. A declaration that keeps nothing that changed is stale.

mod common;
use common::*;
use std::collections::BTreeSet;
use xtask::immutable::changes;
use xtask::upstream::{load_catalog, parse_stream, repo_root, Source};

fn previous() -> Source {
    let dir = match std::env::var_os("KUBEFLOW_MANIFESTS_PREVIOUS") {
        Some(p) => repo_root().join(p),
        None => repo_root().join("../shared/upstream/kubeflow-manifests-v1.11.0"),
    };
    Source::snapshot(&dir).expect("previous release snapshot (KUBEFLOW_MANIFESTS_PREVIOUS)")
}

#[test]
fn immutable_fields_changed_since_the_previous_release_are_kept() {
    let (old, new) = (previous(), snapshot());
    let catalog = load_catalog().unwrap();
    let mut missing = Vec::new();
    let mut needed = BTreeSet::new();
    for chart in &catalog.charts {
        for scenario in chart.scenarios.values() {
            for dir in &scenario.dirs {
                // A dir the older release does not have (a layout change) has no
                // object in common to compare.
                let Ok(old_text) = old.render(dir) else {
                    continue;
                };
                let old_docs = parse_stream(&old_text).unwrap();
                let new_docs = parse_stream(&new.render(dir).unwrap()).unwrap();
                for c in changes(&old_docs, &new_docs) {
                    let kept = chart
                        .keep_immutable
                        .iter()
                        .position(|k| k.kind == c.kind && k.name == c.name && k.field == c.field);
                    match kept {
                        Some(i) if c.old.as_ref() == Some(&chart.keep_immutable[i].value) => {
                            needed.insert((chart.chart.clone(), i));
                        }
                        _ => missing.push(format!(
                            "{}: {}/{}/{} {} (in {dir}): {} -> {}",
                            chart.chart,
                            c.kind,
                            c.namespace,
                            c.name,
                            c.field,
                            serde_json::to_string(&c.old).unwrap(),
                            serde_json::to_string(&c.new).unwrap()
                        )),
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "immutable fields the previous release has otherwise, not kept by a keepImmutable declaration with the old value:\n{}",
        missing.join("\n")
    );
    for chart in &catalog.charts {
        for (i, k) in chart.keep_immutable.iter().enumerate() {
            assert!(
                needed.contains(&(chart.chart.clone(), i)),
                "{}: keepImmutable {} {} {} keeps nothing the previous release has otherwise",
                chart.chart,
                k.kind,
                k.name,
                k.field
            );
        }
    }
}
