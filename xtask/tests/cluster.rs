//! Real schema validation against a local control plane (`scripts/cluster`):
//! every chart's default scenario installs on its own with `helm install` (then is
//! uninstalled before the next chart, in catalog order, so the CRDs an earlier chart
//! ships are there, as in a real install); then every object version of every
//! scenario passes `kubectl apply --server-side --dry-run=server`, with all CRDs
//! (variant-only ones applied server-side) in place.

mod common;
use common::*;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use xtask::parity::helm_template;
use xtask::upstream::{load_catalog, parse_stream};

/// The local control plane (e2e::ControlPlane: `scripts/cluster`, stopped on
/// drop) with the e2e crate's kubectl and Helm 4 for it.
struct Cluster(e2e::ControlPlane);

impl Cluster {
    fn up() -> Cluster {
        Cluster(e2e::ControlPlane::start())
    }
    fn kubectl(&self) -> Command {
        e2e::kubectl(&self.0)
    }
    fn helm(&self) -> Command {
        e2e::helm4(&self.0)
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write_docs(path: &Path, docs: &[&Value]) {
    let body: Vec<String> = docs
        .iter()
        .map(|d| serde_yaml::to_string(d).unwrap())
        .collect();
    std::fs::write(path, body.join("---\n")).unwrap();
}

/// Run `f` over `items` on 3 threads; collect error strings.
fn parallel<T: Send>(items: Vec<T>, f: impl Fn(T) -> Result<(), String> + Sync) -> Vec<String> {
    let queue = Mutex::new(items);
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| loop {
                let Some(item) = queue.lock().unwrap().pop() else {
                    break;
                };
                if let Err(e) = f(item) {
                    errors.lock().unwrap().push(e);
                }
            });
        }
    });
    errors.into_inner().unwrap()
}

#[test]
fn scenarios_validate_server_side_and_each_chart_installs_on_its_own() {
    helm();
    let work = scratch("cluster-work");
    // Render every scenario.
    let mut scenarios: Vec<(String, String, Vec<Value>)> = Vec::new();
    for c in load_catalog().unwrap().charts {
        let dir = chart_dir(&c.chart);
        for s in c.scenarios.keys() {
            let out = helm_template(
                &c.chart,
                &dir,
                &[dir.join(format!("ci/{s}-values.yaml"))],
                None,
            )
            .unwrap();
            scenarios.push((c.chart.clone(), s.clone(), parse_stream(&out).unwrap()));
        }
    }
    let mut crds: BTreeMap<String, &Value> = BTreeMap::new();
    let mut namespaces = BTreeSet::new();
    for (_, _, docs) in &scenarios {
        for d in docs {
            let name = d["metadata"]["name"].as_str().unwrap().to_string();
            match d["kind"].as_str() {
                Some("CustomResourceDefinition") => {
                    crds.entry(name).or_insert(d);
                }
                Some("Namespace") => {
                    namespaces.insert(name);
                }
                _ => {}
            }
            if let Some(ns) = d["metadata"]["namespace"].as_str() {
                namespaces.insert(ns.to_string());
            }
        }
    }

    let started = std::time::Instant::now();
    let cluster = Cluster::up();
    for ns in &namespaces {
        let out = cluster
            .kubectl()
            .args(["create", "namespace", ns])
            .output()
            .unwrap();
        assert!(
            out.status.success() || text(&out).contains("AlreadyExists"),
            "namespace {ns}: {}",
            text(&out)
        );
    }

    // Each chart on its own, as docs/upgrades.md tells users to install one:
    // `helm install --wait`, so its sequenced custom resources come once its
    // CRDs are served and its webhooks answer on the emulated node side. Webhook
    // certificates made by Helm (this cluster runs no cert-manager to issue
    // upstream's Certificates); then check and uninstall. Any failure is one.
    let mut failures = Vec::new();
    for c in load_catalog().unwrap().charts {
        let dir = chart_dir(&c.chart);
        let out = cluster
            .helm()
            .args(["install", &c.chart])
            .arg(&dir)
            .args([
                "--namespace",
                "default",
                "--take-ownership",
                "--set",
                "global.webhookCertificates=helm",
                "--wait",
                "--timeout",
                "120s",
            ])
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!("{}: helm install failed:\n{}", c.chart, text(&out)));
        } else {
            let status = cluster
                .helm()
                .args(["status", &c.chart, "--namespace", "default"])
                .output()
                .unwrap();
            if !text(&status).contains("STATUS: deployed") {
                failures.push(format!(
                    "{}: release not deployed:\n{}",
                    c.chart,
                    text(&status)
                ));
            }
        }
        let out = cluster
            .helm()
            .args([
                "uninstall",
                &c.chart,
                "--namespace",
                "default",
                "--timeout",
                "60s",
            ])
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{}: helm uninstall failed:\n{}",
                c.chart,
                text(&out)
            ));
        }
    }
    eprintln!(
        "charts installed and uninstalled one by one: {:.0}s",
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // CRDs that no default scenario installed (variant-only ones), server-side
    // (client-side apply's last-applied annotation is too large for big CRDs).
    let present = cluster
        .kubectl()
        .args(["get", "crd", "-o", "name"])
        .output()
        .unwrap();
    let present = String::from_utf8_lossy(&present.stdout).into_owned();
    let missing: Vec<&Value> = crds
        .iter()
        .filter(|(name, _)| {
            !present
                .lines()
                .any(|l| l == format!("customresourcedefinition.apiextensions.k8s.io/{name}"))
        })
        .map(|(_, d)| *d)
        .collect();
    if !missing.is_empty() {
        let crd_file = work.join("crds.yaml");
        write_docs(&crd_file, &missing);
        let out = cluster
            .kubectl()
            .args(["apply", "--server-side", "-f"])
            .arg(&crd_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "applying {} CRDs: {}",
            missing.len(),
            text(&out)
        );
    }
    let out = cluster
        .kubectl()
        .args([
            "wait",
            "--for=condition=Established",
            "crd",
            "--all",
            "--timeout=120s",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "CRDs not established: {}", text(&out));

    // Every object version of every scenario, validated by the API server (built-in
    // schemas, CRD schemas, names); one call per chart with its distinct versions.
    let mut per_chart: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for (chart, _, docs) in &scenarios {
        let list = per_chart.entry(chart.as_str()).or_default();
        for d in docs {
            if d["kind"].as_str() != Some("CustomResourceDefinition") && !list.contains(&d) {
                list.push(d);
            }
        }
    }
    let errors = parallel(per_chart.into_iter().collect(), |(chart, objects)| {
        if objects.is_empty() {
            return Ok(()); // a CRD-only chart: validated when its CRDs were installed
        }
        let f = work.join(format!("{chart}.yaml"));
        write_docs(&f, &objects);
        let out = cluster
            .kubectl()
            .args([
                "apply",
                "--server-side",
                "--force-conflicts",
                "--dry-run=server",
                "-f",
            ])
            .arg(&f)
            .output()
            .unwrap();
        let applied = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("serverside-applied"))
            .count();
        if out.status.success() && applied == objects.len() {
            Ok(())
        } else {
            Err(format!(
                "{chart}: {applied}/{} objects accepted:\n{}",
                objects.len(),
                text(&out)
            ))
        }
    });
    eprintln!(
        "server-side dry-run of every scenario: {:.0}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        errors.is_empty(),
        "server-side dry-run failed:\n{}",
        errors.join("\n")
    );
    std::fs::remove_dir_all(&work).unwrap();
}
