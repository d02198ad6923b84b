//! Kustomize variables upstream never resolved: `$(NAME)` (NAME upper-case letters,
//! digits, underscores) left in an upstream object, such as JobSet's CRD annotation
//! `cert-manager.io/inject-ca-from: $(CERTIFICATE_NAMESPACE)/$(CERTIFICATE_NAME)`.
//!
//! The rule: every string of every upstream object is searched for `$(NAME)` (CRD
//! schema descriptions excepted: they are documentation and the charts strip them).
//! Kubernetes itself expands `$(NAME)` in a container's `command`, `args` and
//! `env[].value` from the container's environment, so there it is legitimate when the
//! container defines NAME in `env` or has `envFrom` (which may define it); shell
//! command substitution `$(cmd ...)` never matches (lower case, spaces). Any other
//! occurrence fails the sync naming chart, object and field, unless the chart
//! declares it under `variables:` in `catalog/components.yaml` with a reason, to be
//! resolved (`resolve: {NAME: value}`), removed (`remove: true`), or kept as upstream
//! has it (neither; e.g. pod templates inside a ConfigMap's text, expanded by
//! Kubernetes in the pods they become).

use crate::upstream::VariableSpec;
use crate::yaml::{field_mut, key_text};
use anyhow::{bail, Result};
use serde_yaml::{Mapping, Value};
use std::collections::BTreeSet;

/// `$(NAME)` occurrences in `text`: the NAMEs, in order.
pub fn names(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("$(") {
        let after = &rest[i + 2..];
        let len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        if len > 0
            && after[len..].starts_with(')')
            && !name.starts_with(|c: char| c.is_ascii_digit())
        {
            out.push(name);
        }
        rest = after;
    }
    out
}

/// One unresolved variable: the field (path of keys / list indexes) and NAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub field: Vec<String>,
    pub name: String,
}

impl Finding {
    pub fn field_path(&self) -> String {
        self.field.join(".")
    }
}

const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// Unresolved variables of one object (see the module comment for the rule).
pub fn find(doc: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let skip_descriptions =
        doc.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition");
    let doc = if skip_descriptions {
        crate::crd::stripped(doc)
    } else {
        doc.clone()
    };
    walk(&doc, &mut Vec::new(), None, &mut out);
    out
}

/// `env`: while inside a container's command/args/env values, the names Kubernetes
/// expands there (`None` outside; `Some(None)` when `envFrom` may define any name).
fn walk(
    v: &Value,
    path: &mut Vec<String>,
    env: Option<&Option<BTreeSet<String>>>,
    out: &mut Vec<Finding>,
) {
    match v {
        Value::String(s) => {
            for name in names(s) {
                let expanded = match env {
                    Some(None) => true,
                    Some(Some(names)) => names.contains(name),
                    None => false,
                };
                if !expanded {
                    out.push(Finding {
                        field: path.clone(),
                        name: name.to_string(),
                    });
                }
            }
        }
        Value::Sequence(items) => {
            let containers = path
                .last()
                .is_some_and(|k| CONTAINER_LISTS.contains(&k.as_str()));
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                match item {
                    Value::Mapping(c) if containers && c.contains_key("image") => {
                        container(c, path, out)
                    }
                    _ => walk(item, path, env, out),
                }
                path.pop();
            }
        }
        Value::Mapping(m) => {
            for (k, x) in m {
                path.push(key_text(k));
                walk(x, path, env, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn container(c: &Mapping, path: &mut Vec<String>, out: &mut Vec<Finding>) {
    let env_names: Option<BTreeSet<String>> = if c.contains_key("envFrom") {
        None
    } else {
        Some(
            c.get("env")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
                .collect(),
        )
    };
    for (k, x) in c {
        let key = key_text(k);
        path.push(key.clone());
        match (key.as_str(), x) {
            ("command" | "args", _) => walk(x, path, Some(&env_names), out),
            ("env", Value::Sequence(items)) => {
                for (i, e) in items.iter().enumerate() {
                    path.push(i.to_string());
                    if let Value::Mapping(e) = e {
                        for (ek, ev) in e {
                            path.push(key_text(ek));
                            let expands = ek.as_str() == Some("value");
                            walk(ev, path, expands.then_some(&env_names), out);
                            path.pop();
                        }
                    }
                    path.pop();
                }
            }
            _ => walk(x, path, None, out),
        }
        path.pop();
    }
}

/// Apply the declarations matching this object (kind/name) and fail on any unresolved
/// variable left undeclared. Returns the indexes of the declarations used.
pub fn resolve(specs: &[VariableSpec], doc: &mut Value, place: &str) -> Result<BTreeSet<usize>> {
    let kind = doc
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = doc
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut used = BTreeSet::new();
    for finding in find(doc) {
        let Some((i, spec)) = specs
            .iter()
            .enumerate()
            .find(|(_, s)| s.kind == kind && s.name == name && s.field == finding.field)
        else {
            bail!(
                "{place}: field {} holds the unresolved kustomize variable $({}) (upstream never substituted it); resolve, remove or keep it with a reason under `variables:` of this chart in catalog/components.yaml",
                finding.field_path(),
                finding.name
            );
        };
        used.insert(i);
        if spec.remove || spec.resolve.contains_key(&finding.name) {
            continue;
        }
        if !spec.resolve.is_empty() {
            bail!(
                "{place}: field {}: $({}) is not among the variables its declaration resolves",
                finding.field_path(),
                finding.name
            );
        }
    }
    for &i in &used {
        let spec = &specs[i];
        if spec.remove {
            remove_field(doc, &spec.field);
        } else if !spec.resolve.is_empty() {
            if let Some(Value::String(text)) = field_mut(doc, &spec.field) {
                for (var, value) in &spec.resolve {
                    *text = text.replace(&format!("$({var})"), value);
                }
            }
        }
    }
    Ok(used)
}

fn remove_field(doc: &mut Value, field: &[String]) {
    let Some((last, parent)) = field.split_last() else {
        return;
    };
    if let Some(Value::Mapping(m)) = field_mut(doc, parent) {
        m.remove(last.as_str());
        // An annotations/labels map left empty goes too, as kustomize would emit it.
        if m.is_empty() {
            if let Some((plast, pparent)) = parent.split_last() {
                if let Some(Value::Mapping(pm)) = field_mut(doc, pparent) {
                    pm.remove(plast.as_str());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::test_yaml as y;

    #[test]
    fn names_match_only_upper_case_variables() {
        let cases: &[(&str, &[&str])] = &[
            (
                "$(CERTIFICATE_NAMESPACE)/$(CERTIFICATE_NAME)",
                &["CERTIFICATE_NAMESPACE", "CERTIFICATE_NAME"],
            ),
            ("--ns=$(POD_NAMESPACE)", &["POD_NAMESPACE"]),
            ("echo $(date +%s) $(hostname)", &[]),
            ("$(A B)", &[]),
            ("$(1X)", &[]),
            ("$(X1_Y)", &["X1_Y"]),
            ("${HOME} $HOME $(", &[]),
            ("$(ABC", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(names(text), *want, "{text}");
        }
    }

    #[test]
    fn container_expansions_are_legit_everything_else_is_found() {
        // (object, expected findings as "field=NAME")
        let cases: &[(&str, &[&str])] = &[
            (
                "kind: CustomResourceDefinition\nmetadata: {name: j, annotations: {cert-manager.io/inject-ca-from: $(NS)/$(NAME)}}",
                &["metadata.annotations.cert-manager.io/inject-ca-from=NS", "metadata.annotations.cert-manager.io/inject-ca-from=NAME"],
            ),
            // CRD schema descriptions are documentation.
            (
                "kind: CustomResourceDefinition\nmetadata: {name: j}\nspec: {versions: [{schema: {openAPIV3Schema: {description: 'Variable references $(VAR_NAME) are expanded'}}}]}",
                &[],
            ),
            // Defined in env: Kubernetes expands it in args, command and env values.
            (
                "kind: Deployment\nspec: {template: {spec: {containers: [{name: c, image: i, env: [{name: POD_NAMESPACE}, {name: URL, value: 'http://$(POD_NAMESPACE)'}], args: ['--ns=$(POD_NAMESPACE)'], command: [sh, -c, 'x $(POD_NAMESPACE)']}]}}}",
                &[],
            ),
            // Not defined: Kubernetes leaves it literal.
            (
                "kind: Deployment\nspec: {template: {spec: {initContainers: [{name: c, image: i, args: ['--db=$(DB_HOST)']}]}}}",
                &["spec.template.spec.initContainers.0.args.0=DB_HOST"],
            ),
            // envFrom may define any name.
            (
                "kind: Deployment\nspec: {template: {spec: {containers: [{name: c, image: i, envFrom: [{configMapRef: {name: m}}], args: ['$(DB_HOST)']}]}}}",
                &[],
            ),
            // Outside command/args/env values, even in a container: found.
            (
                "kind: Pod\nspec: {containers: [{name: c, image: i, env: [{name: X}], workingDir: '$(X)'}]}",
                &["spec.containers.0.workingDir=X"],
            ),
            // Text in a ConfigMap (e.g. a pod template inside it) is not structure.
            (
                "kind: ConfigMap\nmetadata: {name: inj}\ndata: {config: 'args: [--domain, $(POD_NAMESPACE).svc]'}",
                &["data.config=POD_NAMESPACE"],
            ),
            // Shell command substitution never matches.
            (
                "kind: ConfigMap\nmetadata: {name: s}\ndata: {run.sh: 'TS=$(date +%s); N=$(cat /etc/hostname)'}",
                &[],
            ),
        ];
        for (doc, want) in cases {
            let got: Vec<String> = find(&y(doc))
                .iter()
                .map(|f| format!("{}={}", f.field_path(), f.name))
                .collect();
            assert_eq!(got, *want, "{doc}");
        }
    }

    fn spec(yaml: &str) -> VariableSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn declarations_resolve_remove_keep_or_the_object_fails() {
        let jobset = "kind: CustomResourceDefinition\nmetadata: {name: j, annotations: {cert-manager.io/inject-ca-from: $(NS)/$(NAME), other: x}}";
        let field = "field: [metadata, annotations, cert-manager.io/inject-ca-from]";
        // (declaration, Ok(object after) | Err(message part))
        let cases: &[(&str, Result<&str, &str>)] = &[
            (
                &format!("{{kind: CustomResourceDefinition, name: j, {field}, resolve: {{NS: kubeflow, NAME: cert}}, reason: r}}"),
                Ok("kind: CustomResourceDefinition\nmetadata: {name: j, annotations: {cert-manager.io/inject-ca-from: kubeflow/cert, other: x}}"),
            ),
            (
                &format!("{{kind: CustomResourceDefinition, name: j, {field}, remove: true, reason: r}}"),
                Ok("kind: CustomResourceDefinition\nmetadata: {name: j, annotations: {other: x}}"),
            ),
            (
                &format!("{{kind: CustomResourceDefinition, name: j, {field}, reason: r}}"),
                Ok(jobset),
            ),
            (
                &format!("{{kind: CustomResourceDefinition, name: j, {field}, resolve: {{NS: kubeflow}}, reason: r}}"),
                Err("$(NAME) is not among the variables its declaration resolves"),
            ),
            (
                &format!("{{kind: CustomResourceDefinition, name: other, {field}, remove: true, reason: r}}"),
                Err("field metadata.annotations.cert-manager.io/inject-ca-from holds the unresolved kustomize variable $(NS)"),
            ),
        ];
        for (decl, want) in cases {
            let specs = vec![spec(decl)];
            let mut doc = y(jobset);
            match (
                resolve(&specs, &mut doc, "chart t: CustomResourceDefinition/j"),
                want,
            ) {
                (Ok(used), Ok(after)) => {
                    assert_eq!(used, BTreeSet::from([0]), "{decl}");
                    assert_eq!(doc, y(after), "{decl}");
                }
                (Err(e), Err(part)) => {
                    let e = format!("{e:#}");
                    assert!(
                        e.contains(part) && e.contains("chart t: CustomResourceDefinition/j"),
                        "{decl}: {e}"
                    );
                }
                (got, _) => panic!("{decl}: got {got:?}"),
            }
        }
        // An object with nothing unresolved uses no declaration.
        let mut clean = y("kind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}");
        assert!(resolve(&[], &mut clean, "x").unwrap().is_empty());
    }
}
