//! The values a generated chart exposes: collected while templating, then written
//! as `values.yaml` (helm-docs `# --` comments), `values.schema.json` and the README
//! values table, all from the same model so they cannot drift.

use crate::upstream::CredentialSpec;
use indexmap::IndexMap;
use serde_json::json;
use serde_yaml::Value;

/// `kebab-case.name_x` -> `kebabCaseNameX`; values keys must be valid template paths.
pub fn camel(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let lower = part.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut cs = lower.chars();
            if let Some(f) = cs.next() {
                out.push(f.to_ascii_uppercase());
                out.extend(cs);
            }
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'x');
    }
    out
}

/// One value of a part (a leaf of the values tree): the upstream value of each
/// group of scenarios that has it.
pub struct Leaf {
    pub upstream: Vec<(Vec<String>, Value)>,
}

impl Leaf {
    /// Upstream's value when every scenario agrees, else null ("the selected
    /// variant's upstream value").
    pub fn default(&self) -> Value {
        if self.varies() {
            Value::Null
        } else {
            self.upstream[0].1.clone()
        }
    }
    pub fn varies(&self) -> bool {
        self.upstream.iter().any(|(_, v)| *v != self.upstream[0].1)
    }
}

/// The values of one part: what it covers (for the docs) and its leaves by dotted path.
#[derive(Default)]
pub struct Part {
    pub objects: Vec<String>,
    pub leaves: IndexMap<String, Leaf>,
}

/// The generated values: one entry per part (crate::parts), plus chart-level
/// `resources` when the chart has a main part.
#[derive(Default)]
pub struct ValuesTree {
    pub parts: IndexMap<String, Part>,
    pub main: Option<String>,
}

impl ValuesTree {
    /// Record that `object` belongs to `part`.
    pub fn object(&mut self, part: &str, object: &str) {
        let p = self.parts.entry(part.to_string()).or_default();
        if !p.objects.iter().any(|o| o == object) {
            p.objects.push(object.to_string());
        }
    }

    /// Record upstream's value of `part.path` in `scenarios`.
    pub fn claim(&mut self, part: &str, path: &str, value: Value, scenarios: &[String]) {
        let leaf = self
            .parts
            .entry(part.to_string())
            .or_default()
            .leaves
            .entry(path.to_string())
            .or_insert_with(|| Leaf {
                upstream: Vec::new(),
            });
        match leaf.upstream.iter_mut().find(|(_, v)| *v == value) {
            Some((s, _)) => {
                for x in scenarios {
                    if !s.contains(x) {
                        s.push(x.clone());
                    }
                }
            }
            None => leaf.upstream.push((scenarios.to_vec(), value)),
        }
    }

    /// Whether scenarios disagree on `part.path` (its default is then null and
    /// templates fall back to their own upstream value).
    pub fn varies(&self, part: &str, path: &str) -> bool {
        self.parts
            .get(part)
            .and_then(|p| p.leaves.get(path))
            .is_some_and(Leaf::varies)
    }
}

/// Fixed top-level values every generated chart has.
pub struct Fixed<'a> {
    pub chart: &'a str,
    /// Scenario names, default first.
    pub scenarios: Vec<&'a str>,
    /// Credential keys of the chart's Secrets (`credentials:` values).
    pub credentials: &'a [CredentialSpec],
    /// Values declared in the catalog (`crate::fields`).
    pub chart_values: &'a [crate::fields::ValueSpec],
    /// The chart has CRDs (`crds.install`, `crds.keep`).
    pub crds: bool,
    /// The chart has webhook certificates (`webhookCertificates`).
    pub webhook_certificates: bool,
    /// `global.gateway.*`, when the chart renders the Kubeflow gateway
    /// (crate::gateway).
    pub gateway: &'a [crate::fields::ValueSpec],
}

const WEBHOOK_CERTIFICATES_DOC: &str = "How the webhook serving certificates are made: `cert-manager` (upstream: a self-signed Issuer and a Certificate; cert-manager must already run, with its CRDs), or `helm` (the chart renders the Secret, generated on first install and kept on upgrades, and sets the CA bundle on the webhooks; needed to install cert-manager in the same release). Empty: `global.webhookCertificates`, else `cert-manager`";

const CRDS_INSTALL_DOC: &str = "Render this chart's CustomResourceDefinitions with the release (installed and upgraded by Helm; schema descriptions stripped to fit Helm's 1 MiB release limit). `false`: you apply them yourself, e.g. the full ones from the repository's `crds/<chart>/`. `global.crds.install: false` turns them off for every chart";
const CRDS_KEEP_DOC: &str = "Annotate the CRDs `helm.sh/resource-policy: keep`, so disabling the component or uninstalling the release never deletes a CRD (which would delete every custom resource of it)";

const CREDENTIALS_MODE_DOC: &str = "How Secret keys holding credentials are filled when their value below is empty: `demo` renders upstream's published demo credentials (objects equal upstream); `generate` never uses them: it generates the keys that can be generated (random, created once and kept on every upgrade by looking up the live Secret) and fails the render naming each value you must set. Empty: `global.credentials.mode`, else `demo`";

/// The README/values description of one credential value.
fn credential_doc(c: &CredentialSpec) -> String {
    let global = if c.global.is_empty() {
        String::new()
    } else {
        format!(
            " `global.credentials.{}` sets it for every chart that shares it.",
            c.global
        )
    };
    let generate = if c.generate {
        "generated once in `generate` mode"
    } else {
        "required in `generate` mode"
    };
    format!(
        "{} (Secret `{}`, key `{}`). Empty: upstream's demo value in `demo` mode, {generate}.{global}",
        c.description, c.secret, c.key
    )
}

/// Credential specs with distinct values keys, in declaration order.
fn credential_values(credentials: &[CredentialSpec]) -> Vec<&CredentialSpec> {
    let mut seen = std::collections::HashSet::new();
    credentials
        .iter()
        .filter(|c| seen.insert(c.value.as_str()))
        .collect()
}

/// One documented leaf of the values file, for the README table.
pub struct Doc {
    pub key: String,
    pub kind: &'static str,
    pub default: String,
    pub description: String,
}

/// README type, description and JSON schema of the leaf at dotted `path` of a part.
fn leaf_spec(path: &str) -> (&'static str, &'static str, serde_json::Value) {
    let strings = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let field = path.rsplit('.').next().unwrap_or(path);
    let parent = path
        .rsplit('.')
        .nth(1)
        .filter(|p| ["image", "persistence", "service", "serviceAccount"].contains(p));
    match (parent, field) {
        (None, "replicas") => ("int", "Replicas", json!({"type": ["integer", "null"], "minimum": 0})),
        (Some("image"), "registry") => ("string", "Image registry (replaced by `global.imageRegistry` when that is set)", json!({"type": "string"})),
        (Some("image"), "repository") => ("string", "Image repository", json!({"type": "string"})),
        (Some("image"), "tag") => ("string", "Image tag", json!({"type": "string"})),
        (Some("image"), "digest") => ("string", "Image digest (appended as `@digest`)", json!({"type": "string"})),
        (Some("image"), "pullPolicy") => ("string", "imagePullPolicy (empty: unset)", json!({"type": "string", "enum": ["", "Always", "IfNotPresent", "Never"]})),
        (None, "resources") => ("object", "Container resources (requests/limits); what you set is merged into upstream's (set a key to null to drop it)", json!({"type": "object"})),
        (None, "env") => ("list", "Extra container env, merged by name over upstream's (same name: replaces it in place; new names: appended)", json!({"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}})),
        (None, "securityContext") => ("object", "Container securityContext, merged key by key over upstream's", json!({"type": "object"})),
        (None, "podSecurityContext") => ("object", "Pod securityContext, merged key by key over upstream's", json!({"type": "object"})),
        (None, "podAnnotations") => ("object", "Extra pod annotations (keys upstream sets are kept)", strings),
        (None, "podLabels") => ("object", "Extra pod labels (keys upstream sets are kept: selectors depend on them)", strings),
        (None, "nodeSelector") => ("object", "Pod nodeSelector", json!({"type": "object"})),
        (None, "tolerations") => ("list", "Pod tolerations", json!({"type": "array"})),
        (None, "affinity") => ("object", "Pod affinity", json!({"type": "object"})),
        (None, "topologySpreadConstraints") => ("list", "Pod topologySpreadConstraints", json!({"type": "array"})),
        (None, "priorityClassName") => ("string", "Pod priorityClassName (empty: unset)", json!({"type": "string"})),
        (Some("serviceAccount"), "create") => ("bool", "Render an own ServiceAccount for this part's pods, which upstream runs as the namespace's `default` (that has no binding, so the new one needs none); also when `annotations` is set. Named `name`, else like the workload", json!({"type": "boolean"})),
        (Some("serviceAccount"), "name") => ("string", "Name of the ServiceAccount the pods run as instead of `default`: the one created (`create`/`annotations`), else an existing one. Empty: named like the workload", json!({"type": "string"})),
        (Some("serviceAccount"), "annotations") => ("object", "Extra annotations of the pods' ServiceAccount, e.g. `eks.amazonaws.com/role-arn` (EKS IRSA) or `iam.gke.io/gcp-service-account` (GKE Workload Identity); keys upstream sets are kept", strings),
        (Some("persistence"), "size") => ("string", "Requested storage size", json!({"type": "string"})),
        (Some("persistence"), "storageClass") => ("string", "storageClassName (empty: unset, the cluster default)", json!({"type": "string"})),
        (Some("service"), "type") => ("string", "Service type (empty: unset, ClusterIP)", json!({"type": "string", "enum": ["", "ClusterIP", "NodePort", "LoadBalancer"]})),
        (Some("service"), "annotations") => ("object", "Extra Service annotations (e.g. a cloud load balancer's); keys upstream sets are kept", strings),
        (Some("service"), "loadBalancerSourceRanges") => ("list", "Service loadBalancerSourceRanges (CIDRs allowed to reach a LoadBalancer)", json!({"type": "array", "items": {"type": "string"}})),
        _ => ("object", "", json!({})),
    }
}

/// Sort rank of a path segment: the order fields appear in within a part.
fn rank(seg: &str) -> usize {
    const ORDER: &[&str] = &[
        "replicas",
        "image",
        "registry",
        "repository",
        "tag",
        "digest",
        "pullPolicy",
        "resources",
        "env",
        "securityContext",
        "podAnnotations",
        "podLabels",
        "podSecurityContext",
        "nodeSelector",
        "tolerations",
        "affinity",
        "topologySpreadConstraints",
        "priorityClassName",
        "serviceAccount",
        "create",
        "name",
        "annotations",
        "persistence",
        "size",
        "storageClass",
        "service",
        "type",
        "loadBalancerSourceRanges",
        "containers",
    ];
    ORDER.iter().position(|o| *o == seg).unwrap_or(ORDER.len())
}

/// A part's leaves as a tree (paths split at `.`), children in `rank` order
/// (unknown segments, i.e. container keys, in first-seen order).
enum Node<'a> {
    Leaf(&'a str, &'a Leaf),
    Map(Vec<(String, Node<'a>)>),
}

fn tree(leaves: &IndexMap<String, Leaf>) -> Node<'_> {
    fn insert<'a>(
        node: &mut Vec<(String, Node<'a>)>,
        segs: &[&str],
        path: &'a str,
        leaf: &'a Leaf,
    ) {
        let (first, rest) = segs.split_first().expect("non-empty path");
        if rest.is_empty() {
            node.push((first.to_string(), Node::Leaf(path, leaf)));
            return;
        }
        let i = match node.iter().position(|(k, _)| k == first) {
            Some(i) => i,
            None => {
                node.push((first.to_string(), Node::Map(Vec::new())));
                node.len() - 1
            }
        };
        if let Node::Map(m) = &mut node[i].1 {
            insert(m, rest, path, leaf);
        }
    }
    fn sort(node: &mut Node) {
        if let Node::Map(m) = node {
            m.sort_by_key(|(k, _)| rank(k));
            for (_, n) in m.iter_mut() {
                sort(n);
            }
        }
    }
    let mut root = Vec::new();
    for (path, leaf) in leaves {
        let segs: Vec<&str> = path.split('.').collect();
        insert(&mut root, &segs, path, leaf);
    }
    let mut root = Node::Map(root);
    sort(&mut root);
    root
}

/// Description of a leaf: its field's, with the container it is of and, when
/// scenarios disagree, each scenario's upstream value.
fn leaf_description(path: &str, leaf: &Leaf) -> String {
    let (_, doc, _) = leaf_spec(path);
    let mut d = match path.strip_prefix("containers.") {
        Some(rest) => format!(
            "Container `{}`: {doc}",
            rest.split('.').next().unwrap_or_default()
        ),
        None => doc.to_string(),
    };
    if !leaf.varies() && leaf.default().is_null() {
        d.push_str(" (null: not set, as upstream)");
    }
    if leaf.varies() {
        let each = leaf
            .upstream
            .iter()
            .map(|(s, v)| {
                format!(
                    "{}: `{}`",
                    s.iter()
                        .map(|x| format!("`{x}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    inline(v)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        d.push_str(&format!(
            ". Null: the selected variant's upstream value ({each})"
        ));
    }
    d
}

pub fn inline(v: &Value) -> String {
    let s = serde_yaml::to_string(v).unwrap_or_default();
    let s = s.trim_end();
    if s.contains('\n') {
        serde_json::to_string(&yaml_to_json(v)).unwrap_or_default()
    } else {
        s.to_string()
    }
}

fn yaml_to_json(v: &Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Append `key: value` to `out` at `indent`, block style for non-empty collections.
pub fn emit(out: &mut String, indent: usize, key: &str, v: &Value) {
    let pad = " ".repeat(indent);
    let empty = matches!(v, Value::Mapping(m) if m.is_empty())
        || matches!(v, Value::Sequence(s) if s.is_empty());
    if matches!(v, Value::Mapping(_) | Value::Sequence(_)) && !empty {
        out.push_str(&format!("{pad}{key}:\n"));
        let body = serde_yaml::to_string(v).unwrap_or_default();
        let inner = if matches!(v, Value::Sequence(_)) {
            indent
        } else {
            indent + 2
        };
        for l in body.lines() {
            out.push_str(&format!("{}{l}\n", " ".repeat(inner)));
        }
    } else {
        out.push_str(&format!("{pad}{key}: {}\n", inline(v)));
    }
}

impl ValuesTree {
    pub fn values_yaml(&self, fixed: &Fixed, header: &str) -> (String, Vec<Doc>) {
        let mut out = format!("{header}\n");
        let mut docs = Vec::new();
        let names = &fixed.scenarios;
        let default = names[0];
        let variant_desc = format!(
            "Upstream scenario rendered: one of {}. Each reproduces the upstream kustomize overlay of that name (see README)",
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        );
        out.push_str(&format!("# -- {variant_desc}\nvariant: {default}\n"));
        docs.push(Doc {
            key: "variant".into(),
            kind: "string",
            default: default.into(),
            description: variant_desc,
        });
        let cl = "Labels added to every templated object (off by default so objects equal upstream; e.g. `app.kubernetes.io/managed-by: Helm`)";
        out.push_str(&format!("# -- {cl}\ncommonLabels: {{}}\n"));
        docs.push(Doc {
            key: "commonLabels".into(),
            kind: "object",
            default: "{}".into(),
            description: cl.into(),
        });
        let hl = "Add Helm's labels (`helm.sh/chart`, `app.kubernetes.io/managed-by`, `app.kubernetes.io/instance`) to every templated object; off by default so objects equal upstream. Neither these nor `commonLabels` override a label upstream sets";
        out.push_str(&format!("# -- {hl}\nhelmLabels: false\n"));
        docs.push(Doc {
            key: "helmLabels".into(),
            kind: "bool",
            default: "false".into(),
            description: hl.into(),
        });
        let kp = format!(
            "kf-post engine configuration (`spec` of a `PostRenderConfig` named `{}` emitted into the rendered stream and consumed by kf-post); empty emits nothing",
            fixed.chart
        );
        out.push_str(&format!("# -- {kp}\nkfPost: {{}}\n"));
        docs.push(Doc {
            key: "kfPost".into(),
            kind: "object",
            default: "{}".into(),
            description: kp,
        });
        out.push_str("global:\n");
        let gr = "Registry replacing the registry of every image of this chart";
        out.push_str(&format!("  # -- {gr}\n  imageRegistry: \"\"\n"));
        docs.push(Doc {
            key: "global.imageRegistry".into(),
            kind: "string",
            default: "\"\"".into(),
            description: gr.into(),
        });
        let gp = "Pull secrets (`[{name: ...}]`) added to every pod that has none upstream";
        out.push_str(&format!("  # -- {gp}\n  imagePullSecrets: []\n"));
        docs.push(Doc {
            key: "global.imagePullSecrets".into(),
            kind: "list",
            default: "[]".into(),
            description: gp.into(),
        });
        crate::fields::values_yaml_under(fixed.gateway, "global", 2, &mut out, &mut docs);
        if fixed.crds {
            out.push_str(&format!(
                "crds:\n  # -- {CRDS_INSTALL_DOC}\n  install: true\n  # -- {CRDS_KEEP_DOC}\n  keep: true\n"
            ));
            for (key, d) in [("install", CRDS_INSTALL_DOC), ("keep", CRDS_KEEP_DOC)] {
                docs.push(Doc {
                    key: format!("crds.{key}"),
                    kind: "bool",
                    default: "true".into(),
                    description: d.into(),
                });
            }
        }
        if fixed.webhook_certificates {
            out.push_str(&format!(
                "# -- {WEBHOOK_CERTIFICATES_DOC}\nwebhookCertificates: \"\"\n"
            ));
            docs.push(Doc {
                key: "webhookCertificates".into(),
                kind: "string",
                default: "\"\"".into(),
                description: WEBHOOK_CERTIFICATES_DOC.into(),
            });
        }
        if !fixed.credentials.is_empty() {
            out.push_str(&format!(
                "credentials:\n  # -- {CREDENTIALS_MODE_DOC}\n  mode: \"\"\n"
            ));
            docs.push(Doc {
                key: "credentials.mode".into(),
                kind: "string",
                default: "\"\"".into(),
                description: CREDENTIALS_MODE_DOC.into(),
            });
            for c in credential_values(fixed.credentials) {
                let description = credential_doc(c);
                out.push_str(&format!("  # -- {description}\n  {}: \"\"\n", c.value));
                docs.push(Doc {
                    key: format!("credentials.{}", c.value),
                    kind: "string",
                    default: "\"\"".into(),
                    description,
                });
            }
        }
        crate::fields::values_yaml(fixed.chart_values, &mut out, &mut docs);
        if let Some(main) = &self.main {
            let d = format!("Resources of the main container of `{main}` (the chart's main part), merged over `{main}.resources`");
            out.push_str(&format!("# -- {d}\nresources: {{}}\n"));
            docs.push(Doc {
                key: "resources".into(),
                kind: "object",
                default: "{}".into(),
                description: d,
            });
        }
        fn walk(out: &mut String, docs: &mut Vec<Doc>, node: &Node, indent: usize, prefix: &str) {
            let Node::Map(children) = node else { return };
            for (key, child) in children {
                let pad = " ".repeat(indent);
                match child {
                    Node::Leaf(path, leaf) => {
                        let description = leaf_description(path, leaf);
                        out.push_str(&format!("{pad}# -- {description}\n"));
                        let v = leaf.default();
                        emit(out, indent, key, &v);
                        docs.push(Doc {
                            key: format!("{prefix}{key}"),
                            kind: leaf_spec(path).0,
                            default: inline(&v),
                            description,
                        });
                    }
                    Node::Map(_) => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        walk(out, docs, child, indent + 2, &format!("{prefix}{key}."));
                    }
                }
            }
        }
        for (key, part) in &self.parts {
            out.push_str(&format!("# {key}: {}\n{key}:\n", part.objects.join(", ")));
            walk(
                &mut out,
                &mut docs,
                &tree(&part.leaves),
                2,
                &format!("{key}."),
            );
        }
        (out, docs)
    }

    pub fn schema(&self, fixed: &Fixed, comment: &str) -> serde_json::Value {
        let names = &fixed.scenarios;
        let mut props = serde_json::Map::new();
        props.insert(
            "enabled".into(),
            json!({"type": "boolean", "description": "Set by the umbrella chart's condition"}),
        );
        props.insert("variant".into(), json!({"type": "string", "enum": names}));
        props.insert(
            "commonLabels".into(),
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
        );
        props.insert("helmLabels".into(), json!({"type": "boolean"}));
        props.insert("kfPost".into(), json!({"type": "object"}));
        props.insert(
            "global".into(),
            json!({
                "type": "object", "additionalProperties": true,
                "properties": {
                    "imageRegistry": {"type": "string"},
                    "crds": {"type": "object", "properties": {"install": {"type": "boolean"}}},
                    "imagePullSecrets": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}},
                    "credentials": {
                        "type": "object",
                        "properties": {"mode": {"type": "string", "enum": ["", "demo", "generate"]}},
                        "additionalProperties": {"type": "string"}
                    }
                }
            }),
        );
        if !fixed.gateway.is_empty() {
            let mut declared = serde_json::Map::new();
            crate::fields::schema(fixed.gateway, &mut declared);
            props["global"]["properties"]["gateway"] =
                declared["global"]["properties"]["gateway"].take();
        }
        if fixed.webhook_certificates {
            props.insert(
                "webhookCertificates".into(),
                json!({"type": "string", "enum": ["", "cert-manager", "helm"], "description": WEBHOOK_CERTIFICATES_DOC}),
            );
        }
        if fixed.crds {
            props.insert(
                "crds".into(),
                json!({"type": "object", "additionalProperties": false, "properties": {
                    "install": {"type": "boolean", "description": CRDS_INSTALL_DOC},
                    "keep": {"type": "boolean", "description": CRDS_KEEP_DOC}
                }}),
            );
        }
        if !fixed.credentials.is_empty() {
            let mut cp = serde_json::Map::new();
            cp.insert(
                "mode".into(),
                json!({"type": "string", "enum": ["", "demo", "generate"], "description": CREDENTIALS_MODE_DOC}),
            );
            for c in credential_values(fixed.credentials) {
                cp.insert(
                    c.value.clone(),
                    json!({"type": "string", "description": credential_doc(c)}),
                );
            }
            props.insert(
                "credentials".into(),
                json!({"type": "object", "additionalProperties": false, "properties": cp}),
            );
        }
        crate::fields::schema(fixed.chart_values, &mut props);
        if self.main.is_some() {
            props.insert("resources".into(), json!({"type": "object"}));
        }
        fn node_schema(node: &Node) -> serde_json::Value {
            match node {
                Node::Leaf(path, leaf) => {
                    let (_, _, mut schema) = leaf_spec(path);
                    if leaf.varies() {
                        // Null: the variant's upstream value.
                        if let Some(t) = schema.get("type").cloned() {
                            let mut types: Vec<serde_json::Value> = match t {
                                serde_json::Value::Array(a) => a,
                                other => vec![other],
                            };
                            if !types.contains(&json!("null")) {
                                types.push(json!("null"));
                            }
                            schema["type"] = json!(types);
                        }
                        if let Some(serde_json::Value::Array(e)) = schema.get_mut("enum") {
                            e.push(serde_json::Value::Null);
                        }
                    }
                    schema
                }
                Node::Map(children) => {
                    let p: serde_json::Map<String, serde_json::Value> = children
                        .iter()
                        .map(|(k, n)| (k.clone(), node_schema(n)))
                        .collect();
                    json!({"type": "object", "additionalProperties": false, "properties": p})
                }
            }
        }
        for (key, part) in &self.parts {
            let mut schema = node_schema(&tree(&part.leaves));
            schema["description"] = json!(part.objects.join(", "));
            props.insert(key.clone(), schema);
        }
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$comment": comment,
            "title": format!("{} values", fixed.chart),
            "type": "object",
            "additionalProperties": false,
            "properties": props
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_keys() {
        for (i, o) in [
            ("katib-controller", "katibController"),
            ("ml-pipeline-ui", "mlPipelineUi"),
            ("a.b_c", "aBC"),
            ("3scale", "x3scale"),
            ("Already", "already"),
        ] {
            assert_eq!(camel(i), o);
        }
    }

    #[test]
    fn variants_that_disagree_get_a_null_default() {
        let mut t = ValuesTree::default();
        let sc = |s: &str| vec![s.to_string()];
        t.claim("controller", "replicas", 1.into(), &sc("a"));
        t.claim("controller", "replicas", 1.into(), &sc("b"));
        t.claim("controller", "image.tag", "v1".into(), &sc("a"));
        t.claim("controller", "replicas", 2.into(), &sc("leader-election"));
        assert!(t.varies("controller", "replicas"));
        assert!(!t.varies("controller", "image.tag"));
        let p = &t.parts["controller"];
        assert_eq!(p.leaves["replicas"].default(), Value::Null);
        assert_eq!(p.leaves["image.tag"].default(), Value::from("v1"));
        assert_eq!(
            leaf_description("replicas", &p.leaves["replicas"]),
            "Replicas. Null: the selected variant's upstream value (`a`, `b`: `1`; `leader-election`: `2`)"
        );
        let fixed = Fixed {
            chart: "c",
            scenarios: vec!["a", "b", "leader-election"],
            credentials: &[],
            chart_values: &[],
            crds: false,
            webhook_certificates: false,
            gateway: &[],
        };
        let (yaml, docs) = t.values_yaml(&fixed, "# h");
        assert!(yaml.contains("controller:\n  # -- Replicas"), "{yaml}");
        assert!(yaml.contains("  replicas: null\n"), "{yaml}");
        assert!(
            yaml.contains("  image:\n    # -- Image tag\n    tag: v1\n"),
            "{yaml}"
        );
        assert!(docs.iter().any(|d| d.key == "controller.image.tag"));
        let schema = t.schema(&fixed, "c");
        let ctl = &schema["properties"]["controller"];
        assert_eq!(ctl["additionalProperties"], json!(false));
        assert_eq!(
            ctl["properties"]["replicas"]["type"],
            json!(["integer", "null"])
        );
        assert_eq!(
            ctl["properties"]["image"]["properties"]["tag"]["type"],
            json!("string")
        );
    }
}
