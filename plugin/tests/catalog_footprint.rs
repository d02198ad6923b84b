//! The catalog's footprints are computed, not invented: this test re-derives
//! every component's CPU / memory / storage from upstream's rendered manifests
//! (`$KUBEFLOW_MANIFESTS/rendered/<upstream.rendered>`) and fails, printing the
//! right numbers, when `catalog/components.yaml` drifts from them.
//!
//! Method: for each Deployment / StatefulSet / DaemonSet (one node),
//! replicas (default 1) x the containers' resource requests, plus the Istio
//! sidecar's requests (from the rendered `istio-sidecar-injector` values) for
//! pods Istio injects (namespace labelled `istio-injection=enabled`, unless the
//! pod says `sidecar.istio.io/inject: "false"`; or the pod asks for it), plus
//! PersistentVolumeClaim and volumeClaimTemplate sizes.

use std::collections::BTreeSet;
use std::path::PathBuf;

use helm_kubeflow::catalog::{Catalog, Footprint};
use serde_yaml::Value;

fn manifests_dir() -> PathBuf {
    let dir = e2e::manifests_dir();
    assert!(
        dir.join("rendered").is_dir(),
        "upstream manifests not found at {} (set KUBEFLOW_MANIFESTS)",
        dir.display()
    );
    dir.join("rendered")
}

/// example.yaml (12 MB) is read by several tests: parse it once.
fn docs(file: &str) -> Vec<Value> {
    static EXAMPLE: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    if file == "example.yaml" {
        return EXAMPLE.get_or_init(|| parse(file)).clone();
    }
    parse(file)
}

/// Only the kinds the footprint (and the platform facts) look at are kept,
/// read without parsing CRD schemas: they make up most of the bytes and
/// debug-build YAML parsing is slow.
fn parse(file: &str) -> Vec<Value> {
    const KINDS: [&str; 6] = [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "PersistentVolumeClaim",
        "Namespace",
        "ConfigMap",
    ];
    let path = manifests_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The tests' one stream reader keeps CRD schemas unparsed (text only).
    e2e::umbrella::docs(&text)
        .into_iter()
        .filter(|doc| KINDS.contains(&doc.kind.as_str()))
        .map(|doc| serde_yaml::from_str(&doc.text).unwrap_or_else(|e| panic!("{file}: {e}")))
        .collect()
}

/// A Kubernetes quantity in base units (cores, bytes).
fn quantity(v: &Value) -> f64 {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("quantity {other:?}"),
    };
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let n: f64 = num.parse().unwrap_or_else(|_| panic!("quantity {s}"));
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("quantity suffix {other} in {s}"),
    };
    n * mult
}

struct Platform {
    injected_namespaces: BTreeSet<String>,
    sidecar_cpu: f64,
    sidecar_memory: f64,
}

/// Namespaces with injection on and the sidecar's requests, from the whole platform.
fn platform() -> Platform {
    let mut injected_namespaces = BTreeSet::new();
    let mut sidecar = None;
    for d in docs("example.yaml") {
        let kind = d["kind"].as_str().unwrap_or_default();
        if kind == "Namespace"
            && d["metadata"]["labels"]["istio-injection"].as_str() == Some("enabled")
        {
            injected_namespaces.insert(d["metadata"]["name"].as_str().unwrap().to_string());
        }
        if kind == "ConfigMap" && d["metadata"]["name"].as_str() == Some("istio-sidecar-injector") {
            let values: serde_json::Value =
                serde_json::from_str(d["data"]["values"].as_str().unwrap()).unwrap();
            let req = &values["global"]["proxy"]["resources"]["requests"];
            let q =
                |v: &serde_json::Value| quantity(&Value::String(v.as_str().unwrap().to_string()));
            sidecar = Some((q(&req["cpu"]), q(&req["memory"])));
        }
    }
    let (sidecar_cpu, sidecar_memory) =
        sidecar.expect("istio-sidecar-injector ConfigMap in example.yaml");
    assert!(!injected_namespaces.is_empty());
    Platform {
        injected_namespaces,
        sidecar_cpu,
        sidecar_memory,
    }
}

fn footprint(file: &str, p: &Platform) -> Footprint {
    let (mut cpu, mut mem, mut storage) = (0.0, 0.0, 0.0);
    for d in docs(file) {
        match d["kind"].as_str().unwrap_or_default() {
            "PersistentVolumeClaim" => {
                storage += quantity(&d["spec"]["resources"]["requests"]["storage"])
            }
            "Deployment" | "StatefulSet" | "DaemonSet" => {
                let replicas = d["spec"]["replicas"].as_f64().unwrap_or(1.0);
                let pod = &d["spec"]["template"];
                for c in pod["spec"]["containers"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                {
                    let req = &c["resources"]["requests"];
                    if !req["cpu"].is_null() {
                        cpu += replicas * quantity(&req["cpu"]);
                    }
                    if !req["memory"].is_null() {
                        mem += replicas * quantity(&req["memory"]);
                    }
                }
                let ask = pod["metadata"]["labels"]["sidecar.istio.io/inject"]
                    .as_str()
                    .or_else(|| pod["metadata"]["annotations"]["sidecar.istio.io/inject"].as_str());
                let ns = d["metadata"]["namespace"].as_str().unwrap_or_default();
                let injected = match ask {
                    Some(v) => v == "true",
                    None => p.injected_namespaces.contains(ns),
                };
                if injected {
                    cpu += replicas * p.sidecar_cpu;
                    mem += replicas * p.sidecar_memory;
                }
                for t in d["spec"]["volumeClaimTemplates"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                {
                    storage += replicas * quantity(&t["spec"]["resources"]["requests"]["storage"]);
                }
            }
            _ => {}
        }
    }
    Footprint {
        cpu_millicores: (cpu * 1000.0).round() as u64,
        memory_mib: (mem / (1024.0 * 1024.0)).round() as u64,
        storage_gib: (storage / (1024.0 * 1024.0 * 1024.0)).round() as u64,
    }
}

#[test]
fn catalog_footprints_are_the_sums_of_upstream_requests() {
    let catalog = Catalog::embedded();
    let p = platform();
    let mut drift = Vec::new();
    for c in &catalog.components {
        let computed = footprint(&c.upstream.rendered, &p);
        if computed != c.footprint {
            drift.push(format!(
                "{}: footprint: {{cpuMillicores: {}, memoryMiB: {}, storageGiB: {}}} (catalog says {:?})",
                c.chart, computed.cpu_millicores, computed.memory_mib, computed.storage_gib, c.footprint
            ));
        }
    }
    assert!(
        drift.is_empty(),
        "catalog/components.yaml footprints drifted from upstream:\n{}",
        drift.join("\n")
    );
}

/// The default components are exactly upstream's `example`: their footprints
/// add up to the whole platform's, which is also sanity-checked against
/// upstream's published sizing (about 4.4 CPU, 12.3 GiB, 65 GB, measured on a
/// running cluster, so requests must come out lower but the same order).
#[test]
fn default_components_add_up_to_upstreams_example() {
    let catalog = Catalog::embedded();
    let total = catalog.default_footprint();
    assert_eq!(total, footprint("example.yaml", &platform()));
    assert!((2000..=4400).contains(&total.cpu_millicores), "{total:?}");
    assert!((6 * 1024..=12_600).contains(&total.memory_mib), "{total:?}");
    assert!(
        (40..=61).contains(&total.storage_gib),
        "{total:?} (65 GB = 60.5 GiB)"
    );
}

/// Every rendered file the catalog points at is in the snapshot's index.
#[test]
fn catalog_overlays_match_the_snapshot_index() {
    let index = std::fs::read_to_string(manifests_dir().join("../index.tsv")).unwrap();
    for c in &Catalog::embedded().components {
        let line = format!("{}\t{}\t", c.upstream.rendered, c.upstream.overlay);
        assert!(
            index.lines().any(|l| l.starts_with(&line)),
            "{}: {line:?} not in index.tsv",
            c.chart
        );
    }
}
