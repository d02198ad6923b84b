//! Pod Security Standards evaluator (Kubernetes v1.35 definitions of `baseline` and
//! `restricted`, https://kubernetes.io/docs/concepts/security/pod-security-standards/).
//!
//! Each rule is one function over a Pod spec; the levels are cumulative, so a Pod
//! passes `restricted` only when it passes every baseline and every restricted rule.

use crate::stream::{at, seq_at, str_at, Object};
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The highest Pod Security level a Pod satisfies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        })
    }
}

/// One failed control. `level` is the profile the control belongs to: a
/// `Baseline` violation also fails `restricted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub level: Level,
    pub rule: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}: {}", self.level, self.rule, self.detail)
    }
}

/// The evaluation of one Pod template.
#[derive(Debug, Clone)]
pub struct Workload {
    pub index: usize,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub violations: Vec<Violation>,
}

impl Workload {
    /// The highest level passed.
    pub fn level(&self) -> Level {
        if self.violations.iter().any(|v| v.level == Level::Baseline) {
            Level::Privileged
        } else if self.violations.is_empty() {
            Level::Restricted
        } else {
            Level::Baseline
        }
    }
}

/// Pod metadata and spec of an object that creates Pods, or `None`.
pub fn pod_template(obj: &Object) -> Option<(Option<&Value>, &Value)> {
    let v = &obj.value;
    let template = match obj.kind() {
        "Pod" => return Some((v.get("metadata"), v.get("spec")?)),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => at(v, &["spec", "template"])?,
        "CronJob" => at(v, &["spec", "jobTemplate", "spec", "template"])?,
        _ => return None,
    };
    Some((template.get("metadata"), template.get("spec")?))
}

/// Evaluates every Pod template of the stream.
pub fn evaluate(objects: &[Object]) -> Vec<Workload> {
    objects
        .iter()
        .filter_map(|obj| {
            let (meta, spec) = pod_template(obj)?;
            Some(Workload {
                index: obj.index,
                kind: obj.kind().to_string(),
                name: obj.name().to_string(),
                namespace: obj.namespace().map(str::to_string),
                violations: check_pod(meta, spec),
            })
        })
        .collect()
}

/// `pod-security.kubernetes.io/enforce` level of every Namespace in the stream.
pub fn namespace_enforce(objects: &[Object]) -> BTreeMap<String, Level> {
    objects
        .iter()
        .filter(|o| o.kind() == "Namespace")
        .filter_map(|o| {
            let label = str_at(
                &o.value,
                &["metadata", "labels", "pod-security.kubernetes.io/enforce"],
            )?;
            Some((o.name().to_string(), Level::parse(label)?))
        })
        .collect()
}

type Rule = fn(&Pod) -> Vec<String>;

/// Every control, in the order of the Kubernetes documentation.
pub const RULES: &[(Level, &str, Rule)] = &[
    (Level::Baseline, "hostProcess", host_process),
    (Level::Baseline, "hostNamespaces", host_namespaces),
    (Level::Baseline, "privileged", privileged),
    (Level::Baseline, "capabilities", baseline_capabilities),
    (Level::Baseline, "hostPathVolumes", host_path_volumes),
    (Level::Baseline, "hostPorts", host_ports),
    (Level::Baseline, "hostProbes", host_probes),
    (Level::Baseline, "appArmor", app_armor),
    (Level::Baseline, "seLinux", se_linux),
    (Level::Baseline, "procMount", proc_mount),
    (Level::Baseline, "seccomp", baseline_seccomp),
    (Level::Baseline, "sysctls", sysctls),
    (Level::Restricted, "volumeTypes", volume_types),
    (
        Level::Restricted,
        "allowPrivilegeEscalation",
        privilege_escalation,
    ),
    (Level::Restricted, "runAsNonRoot", run_as_non_root),
    (Level::Restricted, "runAsUser", run_as_user),
    (Level::Restricted, "seccomp", restricted_seccomp),
    (Level::Restricted, "capabilities", restricted_capabilities),
];

pub fn check_pod(meta: Option<&Value>, spec: &Value) -> Vec<Violation> {
    let pod = Pod { meta, spec };
    RULES
        .iter()
        .flat_map(|(level, rule, check)| {
            check(&pod).into_iter().map(|detail| Violation {
                level: *level,
                rule,
                detail,
            })
        })
        .collect()
}

pub struct Pod<'a> {
    meta: Option<&'a Value>,
    spec: &'a Value,
}

impl<'a> Pod<'a> {
    /// All containers, init containers and ephemeral containers, with a label
    /// naming them in violations.
    fn containers(&self) -> Vec<(String, &'a Value)> {
        ["containers", "initContainers", "ephemeralContainers"]
            .iter()
            .flat_map(|field| {
                seq_at(self.spec, &[field]).iter().map(move |c| {
                    let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
                    (format!("container {name}"), c)
                })
            })
            .collect()
    }
    fn pod_sc(&self, path: &[&str]) -> Option<&'a Value> {
        let mut full = vec!["securityContext"];
        full.extend_from_slice(path);
        at(self.spec, &full)
    }
    /// Pod-level and container-level values of one securityContext field.
    fn all_sc(&self, path: &[&str]) -> Vec<(String, &'a Value)> {
        let mut out: Vec<(String, &Value)> = self
            .pod_sc(path)
            .map(|v| ("pod".to_string(), v))
            .into_iter()
            .collect();
        let mut full = vec!["securityContext"];
        full.extend_from_slice(path);
        for (who, c) in self.containers() {
            if let Some(v) = at(c, &full) {
                out.push((who, v));
            }
        }
        out
    }
    /// Windows Pods are exempt from the Linux-only restricted controls.
    fn is_windows(&self) -> bool {
        str_at(self.spec, &["os", "name"]) == Some("windows")
    }
}

fn is_true(v: Option<&Value>) -> bool {
    v.and_then(Value::as_bool) == Some(true)
}

fn host_process(pod: &Pod) -> Vec<String> {
    pod.all_sc(&["windowsOptions", "hostProcess"])
        .into_iter()
        .filter(|(_, v)| v.as_bool() == Some(true))
        .map(|(who, _)| format!("{who}: windowsOptions.hostProcess=true"))
        .collect()
}

fn host_namespaces(pod: &Pod) -> Vec<String> {
    ["hostNetwork", "hostPID", "hostIPC"]
        .iter()
        .filter(|f| is_true(pod.spec.get(**f)))
        .map(|f| format!("{f}=true"))
        .collect()
}

fn privileged(pod: &Pod) -> Vec<String> {
    pod.containers()
        .into_iter()
        .filter(|(_, c)| is_true(at(c, &["securityContext", "privileged"])))
        .map(|(who, _)| format!("{who}: privileged=true"))
        .collect()
}

const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn added_caps(c: &Value) -> Vec<&str> {
    seq_at(c, &["securityContext", "capabilities", "add"])
        .iter()
        .map(|v| v.as_str().unwrap_or("<non-string>"))
        .collect()
}

fn baseline_capabilities(pod: &Pod) -> Vec<String> {
    pod.containers()
        .into_iter()
        .flat_map(|(who, c)| {
            added_caps(c)
                .into_iter()
                .filter(|cap| !BASELINE_CAPS.contains(cap))
                .map(move |cap| format!("{who}: adds {cap}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn volumes<'a>(pod: &Pod<'a>) -> impl Iterator<Item = (&'a str, &'a Value)> {
    seq_at(pod.spec, &["volumes"])
        .iter()
        .map(|v| (v.get("name").and_then(Value::as_str).unwrap_or("?"), v))
}

fn host_path_volumes(pod: &Pod) -> Vec<String> {
    volumes(pod)
        .filter(|(_, v)| v.get("hostPath").is_some())
        .map(|(name, _)| format!("volume {name}: hostPath"))
        .collect()
}

fn host_ports(pod: &Pod) -> Vec<String> {
    pod.containers()
        .into_iter()
        .flat_map(|(who, c)| {
            seq_at(c, &["ports"])
                .iter()
                .filter_map(|p| p.get("hostPort"))
                .filter(|hp| hp.as_u64() != Some(0))
                .map(|hp| format!("{who}: hostPort {}", scalar(hp)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Probes and lifecycle handlers may not target another host (v1.34+).
fn host_probes(pod: &Pod) -> Vec<String> {
    let handlers: &[&[&str]] = &[
        &["livenessProbe"],
        &["readinessProbe"],
        &["startupProbe"],
        &["lifecycle", "postStart"],
        &["lifecycle", "preStop"],
    ];
    let mut out = Vec::new();
    for (who, c) in pod.containers() {
        for path in handlers {
            for kind in ["httpGet", "tcpSocket"] {
                let mut full = path.to_vec();
                full.extend([kind, "host"]);
                if let Some(host) = at(c, &full).and_then(Value::as_str) {
                    if !host.is_empty() {
                        out.push(format!("{who}: {}.{kind}.host={host}", path.join(".")));
                    }
                }
            }
        }
    }
    out
}

fn app_armor(pod: &Pod) -> Vec<String> {
    let mut out: Vec<String> = pod
        .all_sc(&["appArmorProfile", "type"])
        .into_iter()
        .filter(|(_, t)| !matches!(t.as_str(), Some("RuntimeDefault" | "Localhost")))
        .map(|(who, t)| format!("{who}: appArmorProfile.type={}", scalar(t)))
        .collect();
    let annotations = pod
        .meta
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_mapping);
    for (k, v) in annotations.into_iter().flatten() {
        let key = k.as_str().unwrap_or("");
        if key.starts_with("container.apparmor.security.beta.kubernetes.io/") {
            let val = v.as_str().unwrap_or("");
            if val != "runtime/default" && !val.starts_with("localhost/") {
                out.push(format!("annotation {key}={val}"));
            }
        }
    }
    out
}

fn se_linux(pod: &Pod) -> Vec<String> {
    const TYPES: &[&str] = &[
        "",
        "container_t",
        "container_init_t",
        "container_kvm_t",
        "container_engine_t",
    ];
    let mut out = Vec::new();
    for (who, opts) in pod.all_sc(&["seLinuxOptions"]) {
        if let Some(t) = opts.get("type") {
            if !t.as_str().is_some_and(|t| TYPES.contains(&t)) {
                out.push(format!("{who}: seLinuxOptions.type={}", scalar(t)));
            }
        }
        for field in ["user", "role"] {
            if let Some(v) = opts.get(field) {
                if v.as_str() != Some("") {
                    out.push(format!("{who}: seLinuxOptions.{field}={}", scalar(v)));
                }
            }
        }
    }
    out
}

/// `Unmasked` is allowed for Pods in a user namespace (`hostUsers: false`), which
/// the API server requires for it anyway (checked against v1.35 admission).
fn proc_mount(pod: &Pod) -> Vec<String> {
    if pod.spec.get("hostUsers").and_then(Value::as_bool) == Some(false) {
        return vec![];
    }
    pod.containers()
        .into_iter()
        .filter_map(|(who, c)| {
            let pm = at(c, &["securityContext", "procMount"])?;
            (pm.as_str() != Some("Default")).then(|| format!("{who}: procMount={}", scalar(pm)))
        })
        .collect()
}

fn baseline_seccomp(pod: &Pod) -> Vec<String> {
    pod.all_sc(&["seccompProfile", "type"])
        .into_iter()
        .filter(|(_, t)| t.as_str() == Some("Unconfined"))
        .map(|(who, _)| format!("{who}: seccompProfile.type=Unconfined"))
        .collect()
}

const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

fn sysctls(pod: &Pod) -> Vec<String> {
    pod.pod_sc(&["sysctls"])
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
            (!SAFE_SYSCTLS.contains(&name)).then(|| format!("sysctl {name}"))
        })
        .collect()
}

const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

fn volume_types(pod: &Pod) -> Vec<String> {
    volumes(pod)
        .flat_map(|(name, v)| {
            v.as_mapping()
                .into_iter()
                .flatten()
                .filter_map(|(k, _)| k.as_str())
                .filter(|k| *k != "name" && !RESTRICTED_VOLUMES.contains(k))
                .map(move |k| format!("volume {name}: {k}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn privilege_escalation(pod: &Pod) -> Vec<String> {
    if pod.is_windows() {
        return vec![];
    }
    pod.containers()
        .into_iter()
        .filter(|(_, c)| {
            at(c, &["securityContext", "allowPrivilegeEscalation"]).and_then(Value::as_bool)
                != Some(false)
        })
        .map(|(who, _)| format!("{who}: allowPrivilegeEscalation != false"))
        .collect()
}

fn run_as_non_root(pod: &Pod) -> Vec<String> {
    let pod_level = pod.pod_sc(&["runAsNonRoot"]).and_then(Value::as_bool);
    let mut out = Vec::new();
    if pod_level == Some(false) {
        out.push("pod: runAsNonRoot=false".to_string());
    }
    for (who, c) in pod.containers() {
        match at(c, &["securityContext", "runAsNonRoot"]).and_then(Value::as_bool) {
            Some(false) => out.push(format!("{who}: runAsNonRoot=false")),
            Some(true) => {}
            // Inherits the pod-level value, which is either true or reported above.
            None if pod_level.is_some() => {}
            None => out.push(format!("{who}: runAsNonRoot not set (pod or container)")),
        }
    }
    out
}

fn run_as_user(pod: &Pod) -> Vec<String> {
    pod.all_sc(&["runAsUser"])
        .into_iter()
        .filter(|(_, u)| u.as_i64() == Some(0))
        .map(|(who, _)| format!("{who}: runAsUser=0"))
        .collect()
}

fn restricted_seccomp(pod: &Pod) -> Vec<String> {
    if pod.is_windows() {
        return vec![];
    }
    let ok = |t: Option<&Value>| {
        matches!(
            t.and_then(Value::as_str),
            Some("RuntimeDefault" | "Localhost")
        )
    };
    let pod_type = pod.pod_sc(&["seccompProfile", "type"]);
    let mut out = Vec::new();
    if let Some(t) = pod_type.filter(|t| !ok(Some(t))) {
        out.push(format!("pod: seccompProfile.type={}", scalar(t)));
    }
    for (who, c) in pod.containers() {
        match at(c, &["securityContext", "seccompProfile", "type"]) {
            Some(t) if !ok(Some(t)) => {
                out.push(format!("{who}: seccompProfile.type={}", scalar(t)))
            }
            Some(_) => {}
            // Inherits the pod-level profile, which is either valid or reported above.
            None if pod_type.is_some() => {}
            None => out.push(format!("{who}: seccompProfile not set (pod or container)")),
        }
    }
    out
}

fn restricted_capabilities(pod: &Pod) -> Vec<String> {
    if pod.is_windows() {
        return vec![];
    }
    let mut out = Vec::new();
    for (who, c) in pod.containers() {
        let drops_all = seq_at(c, &["securityContext", "capabilities", "drop"])
            .iter()
            .any(|d| d.as_str() == Some("ALL"));
        if !drops_all {
            out.push(format!("{who}: capabilities.drop lacks ALL"));
        }
        for cap in added_caps(c) {
            if cap != "NET_BIND_SERVICE" {
                out.push(format!("{who}: adds {cap}"));
            }
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".into(),
        _ => serde_yaml::to_string(v)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The table `kf-audit pss` prints.
pub fn report(objects: &[Object]) -> String {
    let enforce = namespace_enforce(objects);
    let rows: Vec<Vec<String>> = evaluate(objects)
        .iter()
        .map(|w| {
            let ns = w.namespace.clone().unwrap_or_else(|| "(release)".into());
            let ns_level = enforce
                .get(&ns)
                .map(Level::to_string)
                .unwrap_or_else(|| "-".into());
            let violations = w
                .violations
                .iter()
                .map(Violation::to_string)
                .collect::<Vec<_>>();
            vec![
                format!("{}/{}", w.kind, w.name),
                ns,
                w.level().to_string(),
                ns_level,
                if violations.is_empty() {
                    "-".into()
                } else {
                    violations.join("; ")
                },
            ]
        })
        .collect();
    crate::table::render(
        &[
            "workload",
            "namespace",
            "level passed",
            "ns enforce",
            "violations",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Pod that passes `restricted`; each case patches one field into it.
    const GOOD: &str = r#"
securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
containers:
- name: app
  image: x
  ports: [{containerPort: 8080}]
  securityContext:
    allowPrivilegeEscalation: false
    capabilities: {drop: [ALL]}
volumes:
- {name: cfg, configMap: {name: c}}
"#;

    fn eval(patch: &str, meta: &str) -> Vec<(Level, &'static str)> {
        let mut spec: Value = serde_yaml::from_str(GOOD).unwrap();
        let patch: Value = serde_yaml::from_str(patch).unwrap();
        merge(&mut spec, patch);
        let meta: Value = serde_yaml::from_str(meta).unwrap();
        check_pod(Some(&meta), &spec)
            .into_iter()
            .map(|v| (v.level, v.rule))
            .collect()
    }

    /// Deep-merges mappings; sequences in the patch replace the original's
    /// containers element by element so a case can patch container 0.
    fn merge(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Mapping(b), Value::Mapping(p)) => {
                for (k, v) in p {
                    match b.get_mut(&k) {
                        Some(existing) => merge(existing, v),
                        None => {
                            b.insert(k, v);
                        }
                    }
                }
            }
            (Value::Sequence(b), Value::Sequence(p)) => {
                for (i, v) in p.into_iter().enumerate() {
                    match b.get_mut(i) {
                        Some(existing) => merge(existing, v),
                        None => b.push(v),
                    }
                }
            }
            (b, p) => *b = p,
        }
    }

    use Level::{Baseline as B, Restricted as R};

    /// (pod spec patch, pod metadata, expected violations)
    type Case<'a> = (&'a str, &'a str, &'a [(Level, &'a str)]);

    #[test]
    fn one_case_per_rule() {
        let cases: &[Case] = &[
            ("{}", "{}", &[]),
            ("securityContext: {windowsOptions: {hostProcess: true}}", "{}", &[(B, "hostProcess")]),
            ("containers: [{securityContext: {windowsOptions: {hostProcess: true}}}]", "{}", &[(B, "hostProcess")]),
            ("hostNetwork: true", "{}", &[(B, "hostNamespaces")]),
            ("{hostPID: true, hostIPC: false}", "{}", &[(B, "hostNamespaces")]),
            ("containers: [{securityContext: {privileged: true}}]", "{}", &[(B, "privileged")]),
            ("containers: [{securityContext: {privileged: false}}]", "{}", &[]),
            ("containers: [{securityContext: {capabilities: {add: [NET_ADMIN]}}}]", "{}", &[(B, "capabilities"), (R, "capabilities")]),
            ("containers: [{securityContext: {capabilities: {add: [CHOWN]}}}]", "{}", &[(R, "capabilities")]),
            ("containers: [{securityContext: {capabilities: {add: [NET_BIND_SERVICE]}}}]", "{}", &[]),
            ("containers: [{securityContext: {capabilities: {drop: [NET_RAW]}}}]", "{}", &[(R, "capabilities")]),
            ("volumes: [{}, {name: h, hostPath: {path: /}}]", "{}", &[(B, "hostPathVolumes"), (R, "volumeTypes")]),
            ("containers: [{ports: [{containerPort: 80, hostPort: 80}]}]", "{}", &[(B, "hostPorts")]),
            ("containers: [{ports: [{containerPort: 80, hostPort: 0}]}]", "{}", &[]),
            ("containers: [{livenessProbe: {httpGet: {host: 10.0.0.1, port: 80}}}]", "{}", &[(B, "hostProbes")]),
            ("containers: [{lifecycle: {preStop: {tcpSocket: {host: evil, port: 1}}}}]", "{}", &[(B, "hostProbes")]),
            ("containers: [{readinessProbe: {httpGet: {host: '', port: 80}}}]", "{}", &[]),
            ("securityContext: {appArmorProfile: {type: Unconfined}}", "{}", &[(B, "appArmor")]),
            ("containers: [{securityContext: {appArmorProfile: {type: Localhost}}}]", "{}", &[]),
            ("{}", "annotations: {container.apparmor.security.beta.kubernetes.io/app: unconfined}", &[(B, "appArmor")]),
            ("{}", "annotations: {container.apparmor.security.beta.kubernetes.io/app: runtime/default}", &[]),
            ("securityContext: {seLinuxOptions: {type: spc_t}}", "{}", &[(B, "seLinux")]),
            ("containers: [{securityContext: {seLinuxOptions: {type: container_t, level: 's0:c1'}}}]", "{}", &[]),
            ("containers: [{securityContext: {seLinuxOptions: {user: system_u}}}]", "{}", &[(B, "seLinux")]),
            ("containers: [{securityContext: {procMount: Unmasked}}]", "{}", &[(B, "procMount")]),
            ("{hostUsers: false, containers: [{securityContext: {procMount: Unmasked}}]}", "{}", &[]),
            ("containers: [{securityContext: {procMount: Default}}]", "{}", &[]),
            ("securityContext: {seccompProfile: {type: Unconfined}}", "{}", &[(B, "seccomp"), (R, "seccomp")]),
            ("containers: [{securityContext: {seccompProfile: {type: Unconfined}}}]", "{}", &[(B, "seccomp"), (R, "seccomp")]),
            ("securityContext: {sysctls: [{name: net.ipv4.tcp_syncookies, value: '1'}, {name: kernel.msgmax, value: '1'}]}", "{}", &[(B, "sysctls")]),
            ("volumes: [{name: n, nfs: {server: s, path: /}}]", "{}", &[(R, "volumeTypes")]),
            ("volumes: [{name: p, persistentVolumeClaim: {claimName: c}}, {name: e, emptyDir: {}}, {name: pr, projected: {}}]", "{}", &[]),
            ("containers: [{securityContext: {allowPrivilegeEscalation: true}}]", "{}", &[(R, "allowPrivilegeEscalation")]),
            ("initContainers: [{name: init, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]", "{}", &[]),
            ("initContainers: [{name: init}]", "{}", &[(R, "allowPrivilegeEscalation"), (R, "capabilities")]),
            ("securityContext: {runAsNonRoot: false}", "{}", &[(R, "runAsNonRoot")]),
            ("containers: [{securityContext: {runAsNonRoot: false}}]", "{}", &[(R, "runAsNonRoot")]),
            ("securityContext: {runAsUser: 0}", "{}", &[(R, "runAsUser")]),
            ("containers: [{securityContext: {runAsUser: 1000}}]", "{}", &[]),
            ("containers: [{securityContext: {seccompProfile: {type: Localhost, localhostProfile: p.json}}}]", "{}", &[]),
            // Windows Pods are exempt from the Linux-only restricted controls.
            ("{os: {name: windows}, containers: [{securityContext: {allowPrivilegeEscalation: true, capabilities: {drop: []}}}]}", "{}", &[]),
        ];
        for (patch, meta, want) in cases {
            assert_eq!(&eval(patch, meta), want, "patch {patch} meta {meta}");
        }
    }

    #[test]
    fn defaults_need_explicit_restricted_settings() {
        // An empty securityContext is the default Pod: baseline, not restricted.
        let spec: Value = serde_yaml::from_str("containers: [{name: a, image: x}]").unwrap();
        let rules: Vec<_> = check_pod(None, &spec).iter().map(|v| v.rule).collect();
        assert_eq!(
            rules,
            [
                "allowPrivilegeEscalation",
                "runAsNonRoot",
                "seccomp",
                "capabilities"
            ]
        );
    }

    #[test]
    fn container_level_settings_suffice_without_pod_level() {
        let spec: Value = serde_yaml::from_str(
            "containers: [{name: a, securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]",
        )
        .unwrap();
        assert_eq!(check_pod(None, &spec), vec![]);
    }

    #[test]
    fn finds_pod_templates_of_every_workload_kind() {
        let stream = r#"
kind: Deployment
metadata: {name: d, namespace: kubeflow}
spec: {template: {spec: {hostNetwork: true, containers: [{name: a}]}}}
---
kind: CronJob
metadata: {name: c}
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: a}]}}}}}
---
kind: Pod
metadata: {name: p}
spec: {containers: [{name: a}]}
---
kind: ConfigMap
metadata: {name: not-a-workload}
---
kind: Namespace
metadata: {name: kubeflow, labels: {pod-security.kubernetes.io/enforce: restricted}}
"#;
        let objects = crate::parse(stream).unwrap();
        let w = evaluate(&objects);
        let got: Vec<_> = w
            .iter()
            .map(|w| (w.kind.as_str(), w.name.as_str(), w.level()))
            .collect();
        assert_eq!(
            got,
            [
                ("Deployment", "d", Level::Privileged),
                ("CronJob", "c", Level::Baseline),
                ("Pod", "p", Level::Baseline)
            ]
        );
        assert_eq!(
            namespace_enforce(&objects).get("kubeflow"),
            Some(&Level::Restricted)
        );
        let table = report(&objects);
        assert!(
            table.contains("| Deployment/d | kubeflow  | privileged   | restricted"),
            "{table}"
        );
        assert!(
            table.contains("baseline/hostNamespaces: hostNetwork=true"),
            "{table}"
        );
    }
}
