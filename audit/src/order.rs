//! Ordering audit (issue 14): objects of a rendered release that a fresh
//! cluster rejects because they are applied together with what admits them.
//!
//! Helm applies every regular object of a release at once. An object that a
//! `failurePolicy: Fail` admission webhook of the same release intercepts is
//! rejected (`failed calling webhook … no endpoints available for service …`)
//! until the webhook's Pods are Ready; a custom resource whose CRD is in the
//! same release cannot even be built by Helm (`resource mapping not found …
//! ensure CRDs are installed first`); a resource of an aggregated API
//! (APIService) is unknown until its server answers. Such an object must be
//! sequenced after what it depends on: as a Helm
//! `post-install,post-upgrade,post-rollback` hook (created after the regular objects, with `--wait` after they are
//! Ready), or in a later Argo CD sync wave.
//!
//! The webhook matcher follows the API server (k8s.io/apiserver
//! `admission/plugin/webhook`: `predicates/rules`, `predicates/namespace`,
//! `predicates/object`, and `generic` for matchPolicy).

use crate::pss::pod_template;
use crate::selector::{self, Labels};
use crate::stream::{at, seq_at, str_at, Object};
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::fmt;

/// How the release's objects are sequenced when applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequencing {
    /// `helm install|upgrade`: pre hooks, then every regular object at once,
    /// then post hooks, each hook group in `helm.sh/hook-weight` order.
    Helm,
    /// Argo CD: PreSync, Sync and PostSync phases, each in
    /// `argocd.argoproj.io/sync-wave` order (Helm hooks mapped to phases).
    ArgoCd,
}

impl Sequencing {
    pub fn parse(s: &str) -> Result<Sequencing, String> {
        match s {
            "helm" => Ok(Sequencing::Helm),
            "argocd" => Ok(Sequencing::ArgoCd),
            other => Err(format!("sequencing {other:?} is not helm or argocd")),
        }
    }

    /// Argo CD when any object carries an Argo CD wave or hook annotation
    /// (what `global.sequencing.mode: argocd` renders), otherwise Helm.
    pub fn detect(objects: &[Object]) -> Sequencing {
        let argo = objects.iter().any(|o| {
            [ARGO_WAVE, ARGO_HOOK]
                .iter()
                .any(|a| annotation(o, a).is_some())
        });
        if argo {
            Sequencing::ArgoCd
        } else {
            Sequencing::Helm
        }
    }

    /// The operations that apply objects: Helm installs, upgrades and
    /// rollbacks (an upgrade can enable a component, creating its webhook and
    /// the objects it intercepts in one go, and a rollback can bring them back
    /// the same way); Argo CD syncs.
    fn events(self) -> &'static [&'static str] {
        match self {
            Sequencing::Helm => &["install", "upgrade", "rollback"],
            Sequencing::ArgoCd => &["sync"],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Namespace of namespaced objects that name none (`helm -n`).
    pub release_namespace: String,
    /// `None`: [`Sequencing::detect`].
    pub sequencing: Option<Sequencing>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            release_namespace: "default".into(),
            sequencing: None,
        }
    }
}

const HELM_HOOK: &str = "helm.sh/hook";
const HELM_WEIGHT: &str = "helm.sh/hook-weight";
const ARGO_WAVE: &str = "argocd.argoproj.io/sync-wave";
const ARGO_HOOK: &str = "argocd.argoproj.io/hook";

fn annotation<'a>(o: &'a Object, key: &str) -> Option<&'a str> {
    str_at(&o.value, &["metadata", "annotations", key])
}

/// Where an object is applied within one install, upgrade or sync: phases in
/// order, then weights (waves) within a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Step {
    phase: Phase,
    weight: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Before,
    Regular,
    After,
}

fn int_annotation(o: &Object, key: &str) -> Result<Option<i64>, String> {
    annotation(o, key)
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| format!("annotation {key}: {v:?} is not an integer"))
        })
        .transpose()
}

/// The step of `o` in `event`, or `None` when `event` does not apply it (a
/// hook of other events).
fn step(o: &Object, seq: Sequencing, event: &str) -> Result<Option<Step>, String> {
    let helm_hooks: Option<Vec<&str>> =
        annotation(o, HELM_HOOK).map(|h| h.split(',').map(str::trim).collect());
    let helm_weight = || int_annotation(o, HELM_WEIGHT).map(Option::unwrap_or_default);
    match seq {
        Sequencing::Helm => {
            let Some(hooks) = helm_hooks else {
                return Ok(Some(Step {
                    phase: Phase::Regular,
                    weight: 0,
                }));
            };
            // A hook of both phases is first created in the earlier one.
            let phase = if hooks.contains(&format!("pre-{event}").as_str()) {
                Phase::Before
            } else if hooks.contains(&format!("post-{event}").as_str()) {
                Phase::After
            } else {
                return Ok(None);
            };
            Ok(Some(Step {
                phase,
                weight: helm_weight()?,
            }))
        }
        Sequencing::ArgoCd => {
            let wave = int_annotation(o, ARGO_WAVE)?;
            let phase = if let Some(hooks) = annotation(o, ARGO_HOOK) {
                let hooks: Vec<&str> = hooks.split(',').map(str::trim).collect();
                if hooks.contains(&"PreSync") {
                    Phase::Before
                } else if hooks.contains(&"Sync") {
                    Phase::Regular
                } else if hooks.contains(&"PostSync") {
                    Phase::After
                } else {
                    // Skip, SyncFail, PostDelete: not applied by a sync.
                    return Ok(None);
                }
            } else if let Some(hooks) = &helm_hooks {
                // Argo CD maps Helm hooks to phases and hook weights to waves.
                if hooks.iter().any(|h| h.starts_with("pre-")) {
                    Phase::Before
                } else if hooks.contains(&"post-install") || hooks.contains(&"post-upgrade") {
                    Phase::After
                } else {
                    return Ok(None);
                }
            } else {
                Phase::Regular
            };
            let weight = match wave {
                Some(w) => w,
                None if helm_hooks.is_some() => helm_weight()?,
                None => 0,
            };
            Ok(Some(Step { phase, weight }))
        }
    }
}

fn describe_step(s: Step, seq: Sequencing, event: &str) -> String {
    match (seq, s.phase) {
        (Sequencing::Helm, Phase::Regular) => "regular".into(),
        (Sequencing::Helm, Phase::Before) => format!("pre-{event} hook weight {}", s.weight),
        (Sequencing::Helm, Phase::After) => format!("post-{event} hook weight {}", s.weight),
        (Sequencing::ArgoCd, Phase::Regular) => format!("sync-wave {}", s.weight),
        (Sequencing::ArgoCd, Phase::Before) => format!("PreSync wave {}", s.weight),
        (Sequencing::ArgoCd, Phase::After) => format!("PostSync wave {}", s.weight),
    }
}

/// Scope of a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
    /// A kind neither built in nor defined by a CRD of the stream (kustomize
    /// writes a namespace into cluster-scoped custom resources too, so the
    /// object does not tell): every rule scope and namespaceSelector matches.
    Unknown,
}

/// One admission request, as the API server matches webhooks against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub group: String,
    pub version: String,
    pub resource: String,
    /// `""` for the main resource, e.g. `status` for `pods/status`.
    pub subresource: String,
    pub operation: String,
    pub scope: Scope,
    /// The object's namespace (`None` for cluster-scoped objects).
    pub namespace: Option<String>,
    pub labels: Labels,
}

/// Built-in kinds: (group, kind, resource, namespaced).
const BUILT_IN: &[(&str, &str, &str, bool)] = &[
    ("", "ConfigMap", "configmaps", true),
    ("", "Endpoints", "endpoints", true),
    ("", "Event", "events", true),
    ("", "LimitRange", "limitranges", true),
    ("", "Namespace", "namespaces", false),
    ("", "Node", "nodes", false),
    ("", "PersistentVolume", "persistentvolumes", false),
    ("", "PersistentVolumeClaim", "persistentvolumeclaims", true),
    ("", "Pod", "pods", true),
    ("", "PodTemplate", "podtemplates", true),
    ("", "ReplicationController", "replicationcontrollers", true),
    ("", "ResourceQuota", "resourcequotas", true),
    ("", "Secret", "secrets", true),
    ("", "Service", "services", true),
    ("", "ServiceAccount", "serviceaccounts", true),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicy",
        "mutatingadmissionpolicies",
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
        "mutatingadmissionpolicybindings",
        false,
    ),
    (
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
    ("apiregistration.k8s.io", "APIService", "apiservices", false),
    ("apps", "ControllerRevision", "controllerrevisions", true),
    ("apps", "DaemonSet", "daemonsets", true),
    ("apps", "Deployment", "deployments", true),
    ("apps", "ReplicaSet", "replicasets", true),
    ("apps", "StatefulSet", "statefulsets", true),
    (
        "autoscaling",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    ("batch", "CronJob", "cronjobs", true),
    ("batch", "Job", "jobs", true),
    (
        "certificates.k8s.io",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        false,
    ),
    ("coordination.k8s.io", "Lease", "leases", true),
    ("discovery.k8s.io", "EndpointSlice", "endpointslices", true),
    ("networking.k8s.io", "Ingress", "ingresses", true),
    ("networking.k8s.io", "IngressClass", "ingressclasses", false),
    (
        "networking.k8s.io",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    ("node.k8s.io", "RuntimeClass", "runtimeclasses", false),
    (
        "policy",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    ("rbac.authorization.k8s.io", "Role", "roles", true),
    (
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    (
        "scheduling.k8s.io",
        "PriorityClass",
        "priorityclasses",
        false,
    ),
    ("storage.k8s.io", "CSIDriver", "csidrivers", false),
    ("storage.k8s.io", "StorageClass", "storageclasses", false),
    (
        "storage.k8s.io",
        "VolumeAttachment",
        "volumeattachments",
        false,
    ),
];

fn built_in(
    group: &str,
    kind: &str,
) -> Option<&'static (&'static str, &'static str, &'static str, bool)> {
    BUILT_IN
        .iter()
        .find(|(g, k, _, _)| *g == group && *k == kind)
}

/// Objects the API server never sends to admission webhooks (so that a broken
/// webhook can always be reconfigured or removed).
const NEVER_INTERCEPTED: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
];

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
fn group_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// The resource name of a kind whose plural the stream does not give: the
/// API machinery's `UnsafeGuessKindToResource` (lower case; `s` → `ses`,
/// `y` → `ies`, else `+s`; `endpoints` unchanged), except that a vowel before
/// a final `y` keeps it (`Gateway` → `gateways`, as CRD authors write it).
pub fn guess_resource(kind: &str) -> String {
    let singular = kind.to_lowercase();
    let vowel_y = ["ay", "ey", "oy", "uy"]
        .iter()
        .any(|s| singular.ends_with(s));
    if singular.ends_with("endpoints") {
        singular
    } else if singular.ends_with('s') {
        singular + "es"
    } else if let Some(stem) = singular.strip_suffix('y').filter(|_| !vowel_y) {
        format!("{stem}ies")
    } else {
        singular + "s"
    }
}

/// A CustomResourceDefinition of the stream.
struct Crd<'a> {
    object: &'a Object,
    resource: &'a str,
    namespaced: bool,
}

fn crds(objects: &[Object]) -> Result<BTreeMap<(&str, &str), Crd<'_>>, String> {
    let mut out = BTreeMap::new();
    for o in objects.iter().filter(|o| {
        o.kind() == "CustomResourceDefinition"
            && group_version(o.api_version()).0 == "apiextensions.k8s.io"
    }) {
        let field = |path: &[&str]| {
            str_at(&o.value, path)
                .ok_or_else(|| format!("{}: {} is missing", doc_id(o), path.join(".")))
        };
        let group = field(&["spec", "group"])?;
        let kind = field(&["spec", "names", "kind"])?;
        let resource = field(&["spec", "names", "plural"])?;
        let namespaced = match field(&["spec", "scope"])? {
            "Namespaced" => true,
            "Cluster" => false,
            other => {
                return Err(format!(
                    "{}: spec.scope: {other:?} is not Namespaced or Cluster",
                    doc_id(o)
                ))
            }
        };
        out.insert(
            (group, kind),
            Crd {
                object: o,
                resource,
                namespaced,
            },
        );
    }
    Ok(out)
}

/// Names a document in messages: `document 3 (Service kubeflow/web)`.
fn doc_id(o: &Object) -> String {
    match o.namespace() {
        Some(ns) => format!("document {} ({} {ns}/{})", o.index, o.kind(), o.name()),
        None => format!("document {} ({} {})", o.index, o.kind(), o.name()),
    }
}

/// The CREATE request of an object of the stream.
fn create_request(o: &Object, crds: &BTreeMap<(&str, &str), Crd>, release_ns: &str) -> Request {
    let (group, version) = group_version(o.api_version());
    let (resource, scope) = match built_in(group, o.kind()) {
        Some((_, _, resource, namespaced)) => (resource.to_string(), scope_of(*namespaced)),
        None => match crds.get(&(group, o.kind())) {
            Some(crd) => (crd.resource.to_string(), scope_of(crd.namespaced)),
            None => (guess_resource(o.kind()), Scope::Unknown),
        },
    };
    let mut labels = selector::labels(at(&o.value, &["metadata", "labels"]));
    if group.is_empty() && o.kind() == "Namespace" {
        // Defaulted by the API server before admission.
        labels.insert("kubernetes.io/metadata.name".into(), o.name().into());
    }
    Request {
        group: group.into(),
        version: version.into(),
        resource,
        subresource: String::new(),
        operation: "CREATE".into(),
        namespace: match scope {
            Scope::Namespaced => Some(o.namespace().unwrap_or(release_ns).to_string()),
            Scope::Cluster => None,
            Scope::Unknown => o.namespace().map(str::to_string),
        },
        scope,
        labels,
    }
}

fn scope_of(namespaced: bool) -> Scope {
    if namespaced {
        Scope::Namespaced
    } else {
        Scope::Cluster
    }
}

fn strings<'a>(v: &'a Value, field: &str) -> Vec<&'a str> {
    seq_at(v, &[field])
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

fn exact_or_wildcard(items: &[&str], requested: &str) -> bool {
    items.iter().any(|i| *i == "*" || *i == requested)
}

/// One rule of a webhook (`RuleWithOperations`) against a request. With
/// `exact` false (matchPolicy Equivalent) the API server also sends requests
/// for other versions of the resource, converted: any version matches.
pub fn rule_matches(rule: &Value, req: &Request, exact: bool) -> bool {
    let namespaces = req.group.is_empty() && req.resource == "namespaces";
    let scope = match str_at(rule, &["scope"]).unwrap_or("*") {
        "*" => true,
        _ if req.scope == Scope::Unknown => true,
        // A Namespace is cluster-scoped, whatever the request path says.
        "Namespaced" => !namespaces && req.scope == Scope::Namespaced,
        "Cluster" => namespaces || req.scope == Scope::Cluster,
        _ => false,
    };
    let resource = strings(rule, "resources").iter().any(|r| {
        let (res, sub) = r.split_once('/').unwrap_or((r, ""));
        (res == "*" || res == req.resource) && (sub == "*" || sub == req.subresource)
    });
    scope
        && exact_or_wildcard(&strings(rule, "operations"), &req.operation)
        && exact_or_wildcard(&strings(rule, "apiGroups"), &req.group)
        && (!exact || exact_or_wildcard(&strings(rule, "apiVersions"), &req.version))
        && resource
}

/// An admission webhook whose failure rejects the request, served by a
/// Service of the stream.
pub struct Webhook<'a> {
    pub configuration: &'a Object,
    pub name: &'a str,
    pub spec: &'a Value,
    exact: bool,
    /// The configuration, its Service and the workloads behind the Service.
    dependencies: Vec<&'a Object>,
}

impl Webhook<'_> {
    /// Whether the API server calls this webhook for `req`; `ns_labels` are
    /// the labels of every Namespace of the stream.
    pub fn intercepts(&self, req: &Request, ns_labels: &BTreeMap<String, Labels>) -> bool {
        let rules = seq_at(self.spec, &["rules"]);
        if !rules.iter().any(|r| rule_matches(r, req, self.exact)) {
            return false;
        }
        let namespaces = req.group.is_empty() && req.resource == "namespaces";
        let namespace_labels = if namespaces && req.subresource.is_empty() {
            // A Namespace being created is matched on its own labels.
            Some(req.labels.clone())
        } else if req.scope == Scope::Unknown {
            None
        } else {
            req.namespace
                .as_deref()
                .map(|ns| selector::labels_of_namespace(ns_labels, ns))
        };
        // Cluster-scoped objects (other than Namespaces) are never exempted by
        // a namespaceSelector; nor, conservatively, objects of unknown scope.
        let namespace_ok = namespace_labels
            .is_none_or(|labels| selector::matches(self.spec.get("namespaceSelector"), &labels));
        namespace_ok && selector::matches(self.spec.get("objectSelector"), &req.labels)
    }

    fn id(&self) -> String {
        format!(
            "webhook {}/{} ({})",
            self.configuration.name(),
            self.name,
            self.configuration.kind()
        )
    }
}

fn namespace_of<'a>(o: &'a Object, release_ns: &'a str) -> &'a str {
    o.namespace().unwrap_or(release_ns)
}

/// The workloads whose Pods a Service selects.
fn backing_workloads<'a>(
    objects: &'a [Object],
    service: &Object,
    release_ns: &str,
) -> Vec<&'a Object> {
    let ns = namespace_of(service, release_ns);
    let service_selector = selector::labels(at(&service.value, &["spec", "selector"]));
    objects
        .iter()
        .filter(|o| namespace_of(o, release_ns) == ns)
        .filter(|o| {
            pod_template(o).is_some_and(|(meta, _)| {
                selector::service_matches(
                    &service_selector,
                    &selector::labels(meta.and_then(|m| m.get("labels"))),
                )
            })
        })
        .collect()
}

/// The Service of the stream named by a `clientConfig.service` or
/// `spec.service` reference.
fn service<'a>(objects: &'a [Object], reference: &Value, release_ns: &str) -> Option<&'a Object> {
    let name = str_at(reference, &["name"])?;
    let ns = str_at(reference, &["namespace"])?;
    objects
        .iter()
        .find(|o| o.kind() == "Service" && o.name() == name && namespace_of(o, release_ns) == ns)
}

/// Every webhook of the stream that rejects requests while its server is not
/// Ready: failurePolicy Fail (the default of admissionregistration.k8s.io/v1)
/// and served by a Service of the stream.
pub fn webhooks<'a>(objects: &'a [Object], release_ns: &str) -> Result<Vec<Webhook<'a>>, String> {
    let mut out = Vec::new();
    for o in objects.iter().filter(|o| {
        matches!(
            o.kind(),
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
        ) && group_version(o.api_version()).0 == "admissionregistration.k8s.io"
    }) {
        let v1beta1 = group_version(o.api_version()).1 == "v1beta1";
        for (i, spec) in seq_at(&o.value, &["webhooks"]).iter().enumerate() {
            let err =
                |field: &str, msg: String| format!("{}: webhooks[{i}].{field}: {msg}", doc_id(o));
            let choice = |field: &str, default: &'a str, allowed: &[&str]| {
                let value = str_at(spec, &[field]).unwrap_or(default);
                if allowed.contains(&value) {
                    Ok(value)
                } else {
                    Err(err(
                        field,
                        format!("{value:?} is not {}", allowed.join(" or ")),
                    ))
                }
            };
            let failure = choice(
                "failurePolicy",
                if v1beta1 { "Ignore" } else { "Fail" },
                &["Fail", "Ignore"],
            )?;
            let match_policy = choice(
                "matchPolicy",
                if v1beta1 { "Exact" } else { "Equivalent" },
                &["Exact", "Equivalent"],
            )?;
            for field in ["namespaceSelector", "objectSelector"] {
                selector::check(spec.get(field)).map_err(|e| err(field, e))?;
            }
            for (r, rule) in seq_at(spec, &["rules"]).iter().enumerate() {
                if let Some(scope) = str_at(rule, &["scope"]) {
                    if !["*", "Cluster", "Namespaced"].contains(&scope) {
                        return Err(err(
                            &format!("rules[{r}].scope"),
                            format!("{scope:?} is not *, Cluster or Namespaced"),
                        ));
                    }
                }
            }
            let Some(svc) = at(spec, &["clientConfig", "service"])
                .and_then(|reference| service(objects, reference, release_ns))
            else {
                continue;
            };
            if failure != "Fail" {
                continue;
            }
            let mut dependencies = vec![o, svc];
            dependencies.extend(backing_workloads(objects, svc, release_ns));
            out.push(Webhook {
                configuration: o,
                name: str_at(spec, &["name"]).unwrap_or(""),
                spec,
                exact: match_policy == "Exact",
                dependencies,
            });
        }
    }
    Ok(out)
}

/// One object applied before something it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Index of the document in the stream.
    pub index: usize,
    /// `Kind namespace/name` (or `Kind name` when cluster-scoped).
    pub object: String,
    /// `webhook <configuration>/<webhook> (<Kind>)`, `CRD <name>` or `APIService <name>`.
    pub cause: String,
    pub reason: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "document {} {}: {}: {}",
            self.index, self.object, self.cause, self.reason
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Objects at least one webhook of [`webhooks`] intercepts.
    pub intercepted: usize,
    /// Webhooks that intercept at least one object.
    pub webhooks: usize,
    /// Custom resources whose CRD is in the stream.
    pub custom_resources: usize,
    pub violations: Vec<Violation>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for v in &self.violations {
            writeln!(f, "{v}")?;
        }
        writeln!(
            f,
            "order: {} objects intercepted by {} webhooks, {} custom resources, {} violations",
            self.intercepted,
            self.webhooks,
            self.custom_resources,
            self.violations.len()
        )
    }
}

fn object_id(o: &Object, req: &Request) -> String {
    match &req.namespace {
        Some(ns) => format!("{} {ns}/{}", o.kind(), o.name()),
        None => format!("{} {}", o.kind(), o.name()),
    }
}

fn dependency_id(o: &Object, release_ns: &str) -> String {
    let namespaced = built_in(group_version(o.api_version()).0, o.kind())
        .map_or(o.namespace().is_some(), |(_, _, _, namespaced)| *namespaced);
    if namespaced {
        format!("{} {}/{}", o.kind(), namespace_of(o, release_ns), o.name())
    } else {
        format!("{} {}", o.kind(), o.name())
    }
}

/// Why `o` is not applied after every one of `dependencies`, or `None` when it
/// is or when no install, upgrade, rollback or sync applies it at all (test
/// and delete hooks, Argo CD `Skip`).
fn not_after(
    o: &Object,
    dependencies: &[&Object],
    seq: Sequencing,
    release_ns: &str,
) -> Result<Option<String>, String> {
    let with_id = |e: String| format!("{}: {e}", doc_id(o));
    let steps = seq
        .events()
        .iter()
        .map(|event| step(o, seq, event).map_err(with_id))
        .collect::<Result<Vec<_>, _>>()?;
    if steps.iter().all(Option::is_none) {
        return Ok(None);
    }
    // Problem text → events it occurs in, so identical install, upgrade and
    // rollback findings are reported once.
    let mut problems: Vec<(String, Vec<&str>)> = Vec::new();
    for (&event, own) in seq.events().iter().zip(steps) {
        let problem = match own {
            None => format!(
                "not applied (hook {:?})",
                annotation(o, HELM_HOOK)
                    .or(annotation(o, ARGO_HOOK))
                    .unwrap_or("")
            ),
            Some(own) => {
                let mut before = Vec::new();
                for dep in dependencies {
                    let dep_step =
                        step(dep, seq, event).map_err(|e| format!("{}: {e}", doc_id(dep)))?;
                    if let Some(d) = dep_step.filter(|d| own <= *d) {
                        before.push(format!(
                            "{} ({})",
                            dependency_id(dep, release_ns),
                            describe_step(d, seq, event)
                        ));
                    }
                }
                if before.is_empty() {
                    continue;
                }
                format!(
                    "{} is not after {}",
                    describe_step(own, seq, event),
                    before.join(", ")
                )
            }
        };
        match problems.iter_mut().find(|(p, _)| *p == problem) {
            Some((_, events)) => events.push(event),
            None => problems.push((problem, vec![event])),
        }
    }
    if problems.is_empty() {
        return Ok(None);
    }
    let text = problems
        .into_iter()
        .map(|(p, events)| match seq {
            Sequencing::Helm => format!("on {}: {p}", join_words(&events)),
            Sequencing::ArgoCd => p,
        })
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Some(text))
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// APIServices of the stream served by a Service of the stream, with their
/// dependencies (the APIService, the Service and its workloads), by
/// `group/version`.
fn api_services<'a>(
    objects: &'a [Object],
    release_ns: &str,
) -> BTreeMap<String, (&'a Object, Vec<&'a Object>)> {
    let mut out = BTreeMap::new();
    for o in objects.iter().filter(|o| o.kind() == "APIService") {
        let (Some(group), Some(version)) = (
            str_at(&o.value, &["spec", "group"]),
            str_at(&o.value, &["spec", "version"]),
        ) else {
            continue;
        };
        let Some(svc) = at(&o.value, &["spec", "service"])
            .and_then(|reference| service(objects, reference, release_ns))
        else {
            continue;
        };
        let mut dependencies = vec![o, svc];
        dependencies.extend(backing_workloads(objects, svc, release_ns));
        let gv = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        out.insert(gv, (o, dependencies));
    }
    out
}

/// Runs the ordering audit over a rendered release.
pub fn audit(objects: &[Object], options: &Options) -> Result<Report, String> {
    let release_ns = options.release_namespace.as_str();
    let seq = options
        .sequencing
        .unwrap_or_else(|| Sequencing::detect(objects));
    let crds = crds(objects)?;
    let webhooks = webhooks(objects, release_ns)?;
    let api_services = api_services(objects, release_ns);
    let ns_labels = selector::namespace_labels(objects);
    let mut violations = Vec::new();
    let mut intercepted = 0;
    let mut used_webhooks = vec![false; webhooks.len()];
    let mut custom_resources = 0;
    for o in objects {
        let req = create_request(o, &crds, release_ns);
        let violation = |cause: String, reason: String| Violation {
            index: o.index,
            object: object_id(o, &req),
            cause,
            reason,
        };
        if !NEVER_INTERCEPTED.contains(&o.kind()) {
            let mut hit = false;
            for (w, used) in webhooks.iter().zip(used_webhooks.iter_mut()) {
                if !w.intercepts(&req, &ns_labels) {
                    continue;
                }
                hit = true;
                *used = true;
                if let Some(reason) = not_after(o, &w.dependencies, seq, release_ns)? {
                    violations.push(violation(w.id(), reason));
                }
            }
            intercepted += usize::from(hit);
        }
        if let Some(crd) = crds.get(&(req.group.as_str(), o.kind())) {
            custom_resources += 1;
            if let Some(reason) = not_after(o, &[crd.object], seq, release_ns)? {
                violations.push(violation(format!("CRD {}", crd.object.name()), reason));
            }
        }
        if let Some((api, dependencies)) = api_services.get(o.api_version()) {
            if let Some(reason) = not_after(o, dependencies, seq, release_ns)? {
                violations.push(violation(format!("APIService {}", api.name()), reason));
            }
        }
    }
    Ok(Report {
        intercepted,
        webhooks: used_webhooks.iter().filter(|u| **u).count(),
        custom_resources,
        violations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    fn request(resource: &str, subresource: &str, scope: Scope) -> Request {
        Request {
            group: "apps".into(),
            version: "v1".into(),
            resource: resource.into(),
            subresource: subresource.into(),
            operation: "CREATE".into(),
            scope,
            namespace: (scope == Scope::Namespaced).then(|| "team".into()),
            labels: Labels::new(),
        }
    }

    const RULE: &str =
        "{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}";

    /// Each case replaces fields of RULE; `req` is a CREATE of `apps/v1
    /// deployments` in namespace `team` unless the case says otherwise.
    #[test]
    fn rule_matching_follows_the_api_server() {
        use Scope::*;
        type Case<'a> = (&'a str, &'a str, (&'a str, &'a str, Scope), bool, bool);
        let cases: &[Case] = &[
            // (what, rule fields, (resource, subresource, scope), exact, want)
            (
                "plain match",
                "{}",
                ("deployments", "", Namespaced),
                true,
                true,
            ),
            (
                "operation UPDATE only",
                "{operations: [UPDATE]}",
                ("deployments", "", Namespaced),
                true,
                false,
            ),
            (
                "operation *",
                "{operations: ['*']}",
                ("deployments", "", Namespaced),
                true,
                true,
            ),
            (
                "operations empty",
                "{operations: []}",
                ("deployments", "", Namespaced),
                true,
                false,
            ),
            (
                "other group",
                "{apiGroups: [batch]}",
                ("deployments", "", Namespaced),
                true,
                false,
            ),
            (
                "group *",
                "{apiGroups: ['*']}",
                ("deployments", "", Namespaced),
                true,
                true,
            ),
            (
                "core group is not apps",
                "{apiGroups: ['']}",
                ("deployments", "", Namespaced),
                true,
                false,
            ),
            (
                "other version, Exact",
                "{apiVersions: [v1beta1]}",
                ("deployments", "", Namespaced),
                true,
                false,
            ),
            (
                "other version, Equivalent",
                "{apiVersions: [v1beta1]}",
                ("deployments", "", Namespaced),
                false,
                true,
            ),
            (
                "version *",
                "{apiVersions: ['*']}",
                ("deployments", "", Namespaced),
                true,
                true,
            ),
            (
                "other resource",
                "{resources: [statefulsets]}",
                ("deployments", "", Namespaced),
                true,
                false,
            ),
            (
                "resource *",
                "{resources: ['*']}",
                ("deployments", "", Namespaced),
                true,
                true,
            ),
            (
                "resource */*",
                "{resources: ['*/*']}",
                ("deployments", "", Namespaced),
                true,
                true,
            ),
            (
                "subresource rule, main resource",
                "{resources: [deployments/status]}",
                ("deployments", "", Namespaced),
                true,
                false,
            ),
            (
                "subresource rule, subresource",
                "{resources: [deployments/status]}",
                ("deployments", "status", Namespaced),
                true,
                true,
            ),
            (
                "main rule, subresource",
                "{resources: [deployments]}",
                ("deployments", "status", Namespaced),
                true,
                false,
            ),
            (
                "* does not cover subresources",
                "{resources: ['*']}",
                ("deployments", "status", Namespaced),
                true,
                false,
            ),
            (
                "*/* covers subresources",
                "{resources: ['*/*']}",
                ("deployments", "scale", Namespaced),
                true,
                true,
            ),
            (
                "*/status",
                "{resources: ['*/status']}",
                ("deployments", "status", Namespaced),
                true,
                true,
            ),
            (
                "*/status, main resource",
                "{resources: ['*/status']}",
                ("deployments", "", Namespaced),
                true,
                false,
            ),
            (
                "deployments/* covers the main resource",
                "{resources: ['deployments/*']}",
                ("deployments", "", Namespaced),
                true,
                true,
            ),
            (
                "scope Namespaced, namespaced",
                "{scope: Namespaced}",
                ("deployments", "", Namespaced),
                true,
                true,
            ),
            (
                "scope Namespaced, cluster-scoped",
                "{scope: Namespaced}",
                ("deployments", "", Cluster),
                true,
                false,
            ),
            (
                "scope Cluster, namespaced",
                "{scope: Cluster}",
                ("deployments", "", Namespaced),
                true,
                false,
            ),
            (
                "scope Cluster, cluster-scoped",
                "{scope: Cluster}",
                ("deployments", "", Cluster),
                true,
                true,
            ),
            (
                "scope *, cluster-scoped",
                "{scope: '*'}",
                ("deployments", "", Cluster),
                true,
                true,
            ),
            (
                "scope unset, cluster-scoped",
                "{}",
                ("deployments", "", Cluster),
                true,
                true,
            ),
            (
                "scope Namespaced, unknown scope",
                "{scope: Namespaced}",
                ("deployments", "", Unknown),
                true,
                true,
            ),
            (
                "scope Cluster, unknown scope",
                "{scope: Cluster}",
                ("deployments", "", Unknown),
                true,
                true,
            ),
        ];
        for (what, fields, (resource, sub, scope), exact, want) in cases {
            let mut rule = yaml(RULE);
            for (k, v) in yaml(fields).as_mapping().unwrap() {
                rule[k.as_str().unwrap()] = v.clone();
            }
            let req = request(resource, sub, *scope);
            assert_eq!(rule_matches(&rule, &req, *exact), *want, "{what}");
        }
    }

    #[test]
    fn namespaces_are_cluster_scoped_for_rule_scopes() {
        let mut req = request("namespaces", "", Scope::Cluster);
        req.group = String::new();
        let rule = |scope: &str| {
            yaml(&format!(
                "{{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [namespaces], scope: {scope}}}"
            ))
        };
        assert!(rule_matches(&rule("Cluster"), &req, true));
        assert!(!rule_matches(&rule("Namespaced"), &req, true));
    }

    #[test]
    fn resource_names_guessed_by_english_plurals() {
        for (kind, want) in [
            ("Certificate", "certificates"),
            ("AuthorizationPolicy", "authorizationpolicies"),
            ("Gateway", "gateways"),
            ("Ingress", "ingresses"),
            ("Endpoints", "endpoints"),
            ("Key", "keys"),
            ("Proxy", "proxies"),
        ] {
            assert_eq!(guess_resource(kind), want, "{kind}");
        }
    }

    /// The objects of a stream, with the release namespace `rel`.
    fn requests(stream: &str) -> Vec<Request> {
        let objects = crate::parse(stream).unwrap();
        let crds = crds(&objects).unwrap();
        objects
            .iter()
            .map(|o| create_request(o, &crds, "rel"))
            .collect()
    }

    #[test]
    fn requests_take_resource_and_scope_from_built_ins_crds_or_a_guess() {
        let reqs = requests(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: team}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {name: team, labels: {x: y}}\n---\n\
             apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: mice.zoo.io}\n\
             spec: {group: zoo.io, scope: Cluster, names: {kind: Mouse, plural: mice}}\n---\n\
             apiVersion: zoo.io/v2\nkind: Mouse\nmetadata: {name: m, namespace: kustomize-wrote-it}\n---\n\
             apiVersion: other.io/v1\nkind: Policy\nmetadata: {name: p, namespace: team}\n",
        );
        let got: Vec<(&str, &str, &str, Scope, Option<&str>)> = reqs
            .iter()
            .map(|r| {
                (
                    r.group.as_str(),
                    r.version.as_str(),
                    r.resource.as_str(),
                    r.scope,
                    r.namespace.as_deref(),
                )
            })
            .collect();
        use Scope::*;
        assert_eq!(
            got,
            [
                ("", "v1", "configmaps", Namespaced, Some("rel")),
                ("apps", "v1", "deployments", Namespaced, Some("team")),
                (
                    "rbac.authorization.k8s.io",
                    "v1",
                    "clusterroles",
                    Cluster,
                    None
                ),
                ("", "v1", "namespaces", Cluster, None),
                (
                    "apiextensions.k8s.io",
                    "v1",
                    "customresourcedefinitions",
                    Cluster,
                    None
                ),
                ("zoo.io", "v2", "mice", Cluster, None),
                ("other.io", "v1", "policies", Unknown, Some("team")),
            ]
        );
        assert_eq!(
            reqs[3].labels,
            Labels::from([
                ("kubernetes.io/metadata.name".into(), "team".into()),
                ("x".into(), "y".into())
            ]),
            "a Namespace carries the automatic name label"
        );
    }

    /// A webhook served by Service `hook/svc`; `extra` is YAML appended to
    /// the webhook (selectors, policies).
    fn webhook_stream(api_version: &str, extra: &str) -> String {
        format!(
            "apiVersion: admissionregistration.k8s.io/{api_version}\nkind: ValidatingWebhookConfiguration\nmetadata: {{name: cfg}}\n\
             webhooks:\n- name: w.zoo.io\n  clientConfig: {{service: {{name: svc, namespace: hook}}}}\n  \
             rules: [{{apiGroups: ['*'], apiVersions: ['*'], operations: [CREATE], resources: ['*']}}]\n{extra}\
             ---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: hook}}\nspec: {{selector: {{app: hook}}}}\n\
             ---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: server, namespace: hook}}\n\
             spec: {{template: {{metadata: {{labels: {{app: hook}}}}, spec: {{containers: []}}}}}}\n\
             ---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: unrelated, namespace: hook}}\n\
             spec: {{template: {{metadata: {{labels: {{app: other}}}}, spec: {{containers: []}}}}}}\n\
             ---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: labelled, labels: {{team: a}}}}\n"
        )
    }

    /// Which of the probe objects the webhook of `webhook_stream(v, extra)`
    /// intercepts, by name.
    fn intercepted(api_version: &str, extra: &str) -> Vec<String> {
        const PROBES: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: in-labelled, namespace: labelled, labels: {app: x, tier: web}}\n\
            ---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: in-unlisted, namespace: unlisted}\n\
            ---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: in-release}\n\
            ---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cluster-scoped, labels: {app: x}}\n\
            ---\napiVersion: v1\nkind: Namespace\nmetadata: {name: new-ns, labels: {team: a}}\n";
        let hooks = crate::parse(&webhook_stream(api_version, extra)).unwrap();
        let all = crate::parse(&format!(
            "{}---\n{PROBES}",
            webhook_stream(api_version, extra)
        ))
        .unwrap();
        let ws = webhooks(&all, "rel").unwrap();
        let ns_labels = selector::namespace_labels(&all);
        let crds = crds(&all).unwrap();
        all[hooks.len()..]
            .iter()
            .filter(|o| {
                let req = create_request(o, &crds, "rel");
                ws.iter().any(|w| w.intercepts(&req, &ns_labels))
            })
            .map(|o| o.name().to_string())
            .collect()
    }

    #[test]
    fn selectors_and_policies_decide_interception() {
        const ALL: &[&str] = &[
            "in-labelled",
            "in-unlisted",
            "in-release",
            "cluster-scoped",
            "new-ns",
        ];
        let cases: &[(&str, &str, &str, &[&str])] = &[
            ("failurePolicy unset is Fail in v1", "v1", "", ALL),
            ("failurePolicy Fail", "v1", "  failurePolicy: Fail\n", ALL),
            ("failurePolicy Ignore", "v1", "  failurePolicy: Ignore\n", &[]),
            ("failurePolicy unset is Ignore in v1beta1", "v1beta1", "", &[]),
            ("v1beta1 with Fail", "v1beta1", "  failurePolicy: Fail\n", ALL),
            (
                "namespaceSelector from the Namespace's labels; cluster-scoped never exempted; a new Namespace by its own labels",
                "v1",
                "  namespaceSelector: {matchLabels: {team: a}}\n",
                &["in-labelled", "cluster-scoped", "new-ns"],
            ),
            (
                "automatic kubernetes.io/metadata.name of a namespace not in the stream",
                "v1",
                "  namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [unlisted, rel]}]}\n",
                &["in-unlisted", "in-release", "cluster-scoped"],
            ),
            (
                "namespaceSelector NotIn",
                "v1",
                "  namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [a]}]}\n",
                &["in-unlisted", "in-release", "cluster-scoped"],
            ),
            (
                "namespaceSelector DoesNotExist",
                "v1",
                "  namespaceSelector: {matchExpressions: [{key: team, operator: DoesNotExist}]}\n",
                &["in-unlisted", "in-release", "cluster-scoped"],
            ),
            (
                "objectSelector matchLabels",
                "v1",
                "  objectSelector: {matchLabels: {app: x}}\n",
                &["in-labelled", "cluster-scoped"],
            ),
            (
                "objectSelector In",
                "v1",
                "  objectSelector: {matchExpressions: [{key: tier, operator: In, values: [web, db]}]}\n",
                &["in-labelled"],
            ),
            (
                "objectSelector NotIn",
                "v1",
                "  objectSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [web]}]}\n",
                &["in-unlisted", "in-release", "cluster-scoped", "new-ns"],
            ),
            (
                "objectSelector Exists",
                "v1",
                "  objectSelector: {matchExpressions: [{key: app, operator: Exists}]}\n",
                &["in-labelled", "cluster-scoped"],
            ),
            (
                "objectSelector DoesNotExist",
                "v1",
                "  objectSelector: {matchExpressions: [{key: app, operator: DoesNotExist}]}\n",
                &["in-unlisted", "in-release", "new-ns"],
            ),
            (
                "objectSelector sees the Namespace's automatic label",
                "v1",
                "  objectSelector: {matchLabels: {kubernetes.io/metadata.name: new-ns}}\n",
                &["new-ns"],
            ),
        ];
        for (what, version, extra, want) in cases {
            assert_eq!(intercepted(version, extra), *want, "{what}");
        }
    }

    #[test]
    fn only_webhooks_served_by_the_release_count() {
        let stream = webhook_stream("v1", "");
        let objects = crate::parse(&stream).unwrap();
        let ws = webhooks(&objects, "rel").unwrap();
        assert_eq!(ws.len(), 1);
        let deps: Vec<String> = ws[0]
            .dependencies
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        assert_eq!(
            deps,
            ["cfg", "svc", "server"],
            "the Service's workload, not the unrelated one"
        );
        let elsewhere = stream.replace("namespace: hook}}", "namespace: elsewhere}}");
        assert!(webhooks(&crate::parse(&elsewhere).unwrap(), "rel")
            .unwrap()
            .is_empty());
        let url = stream.replace(
            "clientConfig: {service: {name: svc, namespace: hook}}",
            "clientConfig: {url: 'https://x.example'}",
        );
        assert!(webhooks(&crate::parse(&url).unwrap(), "rel")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn invalid_webhooks_are_errors_naming_the_field() {
        let cases = [
            ("  failurePolicy: Sometimes\n", "document 0 (ValidatingWebhookConfiguration cfg): webhooks[0].failurePolicy: \"Sometimes\" is not Fail or Ignore"),
            ("  matchPolicy: Loose\n", "webhooks[0].matchPolicy: \"Loose\" is not Exact or Equivalent"),
            ("  objectSelector: {matchExpressions: [{key: a, operator: Near}]}\n", "webhooks[0].objectSelector: matchExpressions[0].operator"),
            ("  namespaceSelector: {matchExpressions: [{key: a, operator: In}]}\n", "webhooks[0].namespaceSelector: matchExpressions[0].values"),
        ];
        for (extra, want) in cases {
            let objects = crate::parse(&webhook_stream("v1", extra)).unwrap();
            let err = webhooks(&objects, "rel").err().unwrap_or_default();
            assert!(err.contains(want), "{extra}: {err}");
        }
        let objects = crate::parse(
            &webhook_stream("v1", "")
                .replace("resources: ['*']}]", "resources: ['*'], scope: Global}]"),
        )
        .unwrap();
        let err = webhooks(&objects, "rel").err().unwrap_or_default();
        assert!(
            err.contains("webhooks[0].rules[0].scope: \"Global\""),
            "{err}"
        );
    }

    fn annotated(annotations: &str) -> Object {
        crate::parse(&format!(
            "kind: ConfigMap\nmetadata: {{name: x, annotations: {annotations}}}\n"
        ))
        .unwrap()
        .remove(0)
    }

    #[test]
    fn steps_of_helm_hooks_and_argo_waves() {
        use Phase::*;
        let s = |phase, weight| Some(Step { phase, weight });
        let cases: &[(&str, Sequencing, &str, Option<Step>)] = &[
            ("{}", Sequencing::Helm, "install", s(Regular, 0)),
            (
                "{helm.sh/hook: post-install}",
                Sequencing::Helm,
                "install",
                s(After, 0),
            ),
            (
                "{helm.sh/hook: post-install}",
                Sequencing::Helm,
                "upgrade",
                None,
            ),
            (
                "{helm.sh/hook: 'post-install, post-upgrade', helm.sh/hook-weight: '-3'}",
                Sequencing::Helm,
                "upgrade",
                s(After, -3),
            ),
            (
                "{helm.sh/hook: 'pre-install,post-install'}",
                Sequencing::Helm,
                "install",
                s(Before, 0),
            ),
            ("{helm.sh/hook: test}", Sequencing::Helm, "install", None),
            (
                "{argocd.argoproj.io/sync-wave: '2'}",
                Sequencing::Helm,
                "install",
                s(Regular, 0),
            ),
            ("{}", Sequencing::ArgoCd, "sync", s(Regular, 0)),
            (
                "{argocd.argoproj.io/sync-wave: '2'}",
                Sequencing::ArgoCd,
                "sync",
                s(Regular, 2),
            ),
            (
                "{argocd.argoproj.io/sync-wave: '-1'}",
                Sequencing::ArgoCd,
                "sync",
                s(Regular, -1),
            ),
            (
                "{argocd.argoproj.io/hook: PostSync}",
                Sequencing::ArgoCd,
                "sync",
                s(After, 0),
            ),
            (
                "{argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/sync-wave: '5'}",
                Sequencing::ArgoCd,
                "sync",
                s(Before, 5),
            ),
            (
                "{argocd.argoproj.io/hook: Skip}",
                Sequencing::ArgoCd,
                "sync",
                None,
            ),
            (
                "{helm.sh/hook: 'post-install,post-upgrade', helm.sh/hook-weight: '4'}",
                Sequencing::ArgoCd,
                "sync",
                s(After, 4),
            ),
        ];
        for (annotations, seq, event, want) in cases {
            assert_eq!(
                step(&annotated(annotations), *seq, event).unwrap(),
                *want,
                "{annotations} {seq:?} {event}"
            );
        }
        let bad = annotated("{helm.sh/hook: post-install, helm.sh/hook-weight: heavy}");
        assert!(step(&bad, Sequencing::Helm, "install")
            .unwrap_err()
            .contains("helm.sh/hook-weight: \"heavy\" is not an integer"));
        let bad = annotated("{argocd.argoproj.io/sync-wave: first}");
        assert!(step(&bad, Sequencing::ArgoCd, "sync").is_err());
    }

    /// Violations of `object` (annotations) against a dependency (annotations)
    /// under `seq`: the reason, or `None`.
    fn order_of(object: &str, dependency: &str, seq: Sequencing) -> Option<String> {
        let (o, d) = (annotated(object), annotated(dependency));
        not_after(&o, &[&d], seq, "rel").unwrap()
    }

    #[test]
    fn sequenced_after_means_a_later_phase_or_weight() {
        use Sequencing::*;
        const POST: &str = "{helm.sh/hook: 'post-install,post-upgrade,post-rollback'}";
        let cases: &[(&str, &str, Sequencing, Option<&str>)] = &[
            (
                "{}",
                "{}",
                Helm,
                Some("on install, upgrade and rollback: regular is not after ConfigMap rel/x (regular)"),
            ),
            (POST, "{}", Helm, None),
            ("{helm.sh/hook: test}", "{}", Helm, None),
            ("{helm.sh/hook: pre-delete}", "{}", Helm, None),
            ("{argocd.argoproj.io/hook: Skip}", "{}", ArgoCd, None),
            (
                "{helm.sh/hook: post-install}",
                "{}",
                Helm,
                Some("on upgrade and rollback: not applied (hook \"post-install\")"),
            ),
            (
                "{helm.sh/hook: 'post-install,post-upgrade'}",
                "{}",
                Helm,
                Some("on rollback: not applied (hook \"post-install,post-upgrade\")"),
            ),
            (
                "{helm.sh/hook: post-upgrade}",
                "{}",
                Helm,
                Some("on install and rollback: not applied"),
            ),
            (
                "{helm.sh/hook: 'pre-install,pre-upgrade'}",
                "{}",
                Helm,
                Some("on install: pre-install hook weight 0 is not after ConfigMap rel/x (regular); on upgrade: pre-upgrade"),
            ),
            (
                POST,
                POST,
                Helm,
                Some("on install: post-install hook weight 0 is not after ConfigMap rel/x (post-install hook weight 0)"),
            ),
            (
                "{helm.sh/hook: 'post-install,post-upgrade,post-rollback', helm.sh/hook-weight: '1'}",
                POST,
                Helm,
                None,
            ),
            (
                "{helm.sh/hook: 'post-install,post-upgrade,post-rollback', helm.sh/hook-weight: '1'}",
                "{helm.sh/hook: 'post-install,post-upgrade,post-rollback', helm.sh/hook-weight: '1'}",
                Helm,
                Some("on install: post-install hook weight 1 is not after"),
            ),
            (
                "{}",
                "{helm.sh/hook: post-install}",
                Helm,
                Some(
                    "on install: regular is not after ConfigMap rel/x (post-install hook weight 0)",
                ),
            ),
            (
                "{}",
                "{helm.sh/hook: 'pre-install,pre-upgrade'}",
                Helm,
                None,
            ),
            (
                "{}",
                "{}",
                ArgoCd,
                Some("sync-wave 0 is not after ConfigMap rel/x (sync-wave 0)"),
            ),
            ("{argocd.argoproj.io/sync-wave: '1'}", "{}", ArgoCd, None),
            (
                "{argocd.argoproj.io/sync-wave: '1'}",
                "{argocd.argoproj.io/sync-wave: '1'}",
                ArgoCd,
                Some("sync-wave 1 is not after"),
            ),
            ("{}", "{argocd.argoproj.io/sync-wave: '-1'}", ArgoCd, None),
            (
                "{argocd.argoproj.io/hook: PostSync}",
                "{argocd.argoproj.io/sync-wave: '9'}",
                ArgoCd,
                None,
            ),
        ];
        for (object, dependency, seq, want) in cases {
            let got = order_of(object, dependency, *seq);
            match (&got, want) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!(g.starts_with(w), "{object} after {dependency}: {g}"),
                _ => panic!("{object} after {dependency} ({seq:?}): got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn sequencing_is_detected_from_argo_annotations() {
        let argo = crate::parse(
            "kind: A\n---\nkind: B\nmetadata: {annotations: {argocd.argoproj.io/sync-wave: '1'}}\n",
        )
        .unwrap();
        assert_eq!(Sequencing::detect(&argo), Sequencing::ArgoCd);
        let helm = crate::parse("kind: A\nmetadata: {annotations: {helm.sh/hook: post-install}}\n")
            .unwrap();
        assert_eq!(Sequencing::detect(&helm), Sequencing::Helm);
    }

    fn run(stream: &str) -> Report {
        audit(&crate::parse(stream).unwrap(), &Options::default()).unwrap()
    }

    #[test]
    fn custom_resources_come_after_their_crd() {
        const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: mice.zoo.io}\n\
            spec: {group: zoo.io, scope: Namespaced, names: {kind: Mouse, plural: mice}}\n---\n";
        let regular = run(&format!("{CRD}apiVersion: zoo.io/v1\nkind: Mouse\nmetadata: {{name: m}}\n---\napiVersion: other.io/v1\nkind: Mouse\nmetadata: {{name: not-this-group}}\n"));
        assert_eq!(regular.custom_resources, 1);
        assert_eq!(
            regular.violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["document 1 Mouse default/m: CRD mice.zoo.io: on install, upgrade and rollback: regular is not after CustomResourceDefinition mice.zoo.io (regular)"]
        );
        let hooked = run(&format!("{CRD}apiVersion: zoo.io/v1\nkind: Mouse\nmetadata: {{name: m, annotations: {{helm.sh/hook: 'post-install,post-upgrade,post-rollback'}}}}\n"));
        assert_eq!((hooked.custom_resources, hooked.violations.len()), (1, 0));
        let bad = audit(
            &crate::parse(&CRD.replace("Namespaced", "Galactic")).unwrap(),
            &Options::default(),
        );
        assert!(bad.unwrap_err().contains(
            "document 0 (CustomResourceDefinition mice.zoo.io): spec.scope: \"Galactic\""
        ));
    }

    #[test]
    fn aggregated_api_resources_come_after_their_apiservice() {
        const API: &str = "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1.metrics.zoo.io}\n\
            spec: {group: metrics.zoo.io, version: v1, service: {name: api, namespace: zoo}}\n---\n\
            apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: zoo}\nspec: {selector: {app: api}}\n---\n";
        let report = run(&format!(
            "{API}apiVersion: metrics.zoo.io/v1\nkind: Reading\nmetadata: {{name: r}}\n"
        ));
        assert_eq!(report.violations.len(), 1, "{report}");
        assert!(report.violations[0].cause == "APIService v1.metrics.zoo.io");
        let other_version = run(&format!(
            "{API}apiVersion: metrics.zoo.io/v2\nkind: Reading\nmetadata: {{name: r}}\n"
        ));
        assert!(other_version.violations.is_empty());
    }

    #[test]
    fn webhook_configurations_are_never_intercepted() {
        // A webhook on every resource: its Service and Deployment are
        // intercepted (a deadlock no sequencing can fix), its configuration
        // is not.
        let report = run(&webhook_stream("v1", ""));
        let objects: Vec<&str> = report
            .violations
            .iter()
            .map(|v| v.object.as_str())
            .collect();
        assert_eq!(
            objects,
            [
                "Service hook/svc",
                "Deployment hook/server",
                "Deployment hook/unrelated",
                "Namespace labelled"
            ]
        );
        assert_eq!((report.intercepted, report.webhooks), (4, 1));
    }
}
