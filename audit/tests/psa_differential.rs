//! Differential test of the PSS evaluator against the real PodSecurity admission
//! plugin of kube-apiserver v1.35: every Pod template of the `cluster-gke` and
//! `full+hardened` renderings (which include privileged istio-cni and ztunnel) and a
//! set of hand-written Pods, one per control, are created with `--dry-run=server`
//! in a namespace enforcing `restricted` and in one enforcing `baseline`. The
//! evaluator must predict admission exactly: admitted under `restricted` iff it
//! says `restricted`, admitted under `baseline` iff it says at least `baseline`.

use e2e::umbrella as umbrella_common;

use audit::pss::{self, Level};
use serde_yaml::{Mapping, Value};

/// Pod specs, each breaking (or, for the last ones, satisfying) one control.
const SPECS: &[&str] = &[
    "{hostNetwork: true, containers: [{name: c, image: x}]}",
    "{hostPID: true, containers: [{name: c, image: x}]}",
    "{containers: [{name: c, image: x, securityContext: {privileged: true}}]}",
    "{containers: [{name: c, image: x, securityContext: {capabilities: {add: [NET_ADMIN]}}}]}",
    "{containers: [{name: c, image: x, securityContext: {capabilities: {add: [CHOWN]}}}]}",
    "{volumes: [{name: h, hostPath: {path: /tmp}}], containers: [{name: c, image: x}]}",
    "{containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080}]}]}",
    "{containers: [{name: c, image: x, livenessProbe: {httpGet: {host: 10.0.0.1, port: 80}}}]}",
    "{securityContext: {appArmorProfile: {type: Unconfined}}, containers: [{name: c, image: x}]}",
    "{securityContext: {seLinuxOptions: {type: spc_t}}, containers: [{name: c, image: x}]}",
    "{hostUsers: false, containers: [{name: c, image: x, securityContext: {procMount: Unmasked}}]}",
    "{securityContext: {seccompProfile: {type: Unconfined}}, containers: [{name: c, image: x}]}",
    "{securityContext: {sysctls: [{name: kernel.msgmax, value: '65536'}]}, containers: [{name: c, image: x}]}",
    "{securityContext: {sysctls: [{name: net.ipv4.tcp_syncookies, value: '1'}]}, containers: [{name: c, image: x}]}",
    "{containers: [{name: c, image: x}]}",
    "{securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}, volumes: [{name: n, nfs: {server: s, path: /}}], containers: [{name: c, image: x, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]}",
    "{securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}, containers: [{name: c, image: x, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsUser: 0}}]}",
    "{securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}, containers: [{name: c, image: x, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}}]}",
    "{securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}, initContainers: [{name: i, image: x}], containers: [{name: c, image: x, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]}",
    "{containers: [{name: c, image: x, securityContext: {runAsNonRoot: true, seccompProfile: {type: Localhost, localhostProfile: p.json}, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]}",
];

fn kf_post(stream: &str) -> String {
    e2e::kf_post_pipe(stream, &[]).0
}

/// A probe Pod from a template; fields that other admission plugins check
/// against objects that do not exist here are dropped.
fn probe(name: &str, meta: Option<&Value>, spec: &Value) -> Value {
    let mut spec = spec.clone();
    if let Some(m) = spec.as_mapping_mut() {
        for field in [
            "serviceAccountName",
            "serviceAccount",
            "priorityClassName",
            "runtimeClassName",
            "nodeName",
        ] {
            m.remove(field);
        }
    }
    let mut metadata = Mapping::new();
    metadata.insert("name".into(), name.into());
    if let Some(a) = meta.and_then(|m| m.get("annotations")) {
        metadata.insert("annotations".into(), a.clone());
    }
    let mut pod = Mapping::new();
    pod.insert("apiVersion".into(), "v1".into());
    pod.insert("kind".into(), "Pod".into());
    pod.insert("metadata".into(), Value::Mapping(metadata));
    pod.insert("spec".into(), spec);
    Value::Mapping(pod)
}

/// Names of the probes the API server rejected in namespace `ns`.
fn rejected(cp: &e2e::ControlPlane, ns: &str, pods: &[(String, Value)]) -> Vec<String> {
    // JSON, not serde_yaml's YAML: kubectl reads YAML 1.1 (plain `n` is a boolean).
    let file = cp.dir().join(format!("probes-{ns}.json"));
    let items: Vec<&Value> = pods.iter().map(|(_, p)| p).collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    std::fs::write(&file, serde_json::to_string(&list).unwrap()).unwrap();
    let out = e2e::kubectl(cp)
        .args(["create", "--dry-run=server", "-n", ns, "-f"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut names = Vec::new();
    // Warnings (e.g. deprecated AppArmor annotations) are not rejections.
    for line in stderr.lines().filter(|l| l.starts_with("Error")) {
        assert!(
            line.contains("violates PodSecurity"),
            "rejected for another reason: {line}"
        );
        let name = line
            .split("pods \"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap();
        names.push(name.to_string());
    }
    names
}

#[test]
fn evaluator_predicts_pod_security_admission() {
    let cp = e2e::ControlPlane::start();
    for (ns, level) in [
        ("psa-restricted", "restricted"),
        ("psa-baseline", "baseline"),
    ] {
        e2e::run_ok(e2e::kubectl(&cp).args(["create", "namespace", ns]));
        e2e::run_ok(e2e::kubectl(&cp).args([
            "label",
            "namespace",
            ns,
            &format!("pod-security.kubernetes.io/enforce={level}"),
        ]));
    }
    // (probe name, what it is, evaluator level, pod)
    let mut probes: Vec<(String, String, Level, Value)> = Vec::new();
    for (i, spec) in SPECS.iter().enumerate() {
        let spec: Value = serde_yaml::from_str(spec).unwrap();
        let name = format!("spec-{i}");
        let level = pss::evaluate(
            &audit::parse(&serde_yaml::to_string(&probe(&name, None, &spec)).unwrap()).unwrap(),
        )[0]
        .level();
        probes.push((
            name.clone(),
            SPECS[i].to_string(),
            level,
            probe(&name, None, &spec),
        ));
    }
    for (preset, extra) in [
        ("cluster-gke", vec![]),
        ("full", vec!["--set", "global.security.preset=hardened"]),
    ] {
        let file = umbrella_common::preset(preset).display().to_string();
        let mut args = vec!["-n", "kubeflow", "-f", &file];
        args.extend(extra);
        let objects = audit::parse(&kf_post(&umbrella_common::template(&args).unwrap())).unwrap();
        for w in pss::evaluate(&objects) {
            let obj = objects.iter().find(|o| o.index == w.index).unwrap();
            let (meta, spec) = pss::pod_template(obj).unwrap();
            let name = format!("{preset}-{}", probes.len());
            probes.push((
                name.clone(),
                format!("{preset} {}/{}", w.kind, w.name),
                w.level(),
                probe(&name, meta, spec),
            ));
        }
    }
    let pods: Vec<(String, Value)> = probes
        .iter()
        .map(|(n, _, _, p)| (n.clone(), p.clone()))
        .collect();
    let denied_restricted = rejected(&cp, "psa-restricted", &pods);
    let denied_baseline = rejected(&cp, "psa-baseline", &pods);
    let mut mismatches = Vec::new();
    for (name, what, level, _) in &probes {
        let admitted_restricted = !denied_restricted.contains(name);
        let admitted_baseline = !denied_baseline.contains(name);
        if admitted_restricted != (*level == Level::Restricted)
            || admitted_baseline != (*level >= Level::Baseline)
        {
            mismatches.push(format!("{what}: evaluator says {level}, admission restricted={admitted_restricted} baseline={admitted_baseline}"));
        }
    }
    let privileged = probes.iter().filter(|p| p.2 == Level::Privileged).count();
    println!("{} probes, {} denied under restricted, {} under baseline, {privileged} privileged by the evaluator", probes.len(), denied_restricted.len(), denied_baseline.len());
    assert!(
        mismatches.is_empty(),
        "evaluator and admission disagree:\n{}",
        mismatches.join("\n")
    );
    assert!(
        privileged >= 2 && denied_restricted.len() > privileged,
        "the probes must exercise both levels"
    );
}
