//! Turns one upstream object into Helm template text with values injected only at
//! the user customisation points (images, pull policy/secrets, resources, replicas,
//! scheduling, PVC size/class, common labels). Everything else stays literal:
//! `{{`/`}}` in upstream content is escaped so Helm prints it verbatim.
//!
//! How: the object is edited in place, putting sentinel tokens where an expression
//! goes, serialised with serde_yaml, escaped, and each sentinel line is then rewritten
//! into its template expression (indentation is known only after serialisation).

use crate::fields::{self, FieldSpec, ValueSpec};
use crate::gateway::GatewaySpec;
use crate::parts::{main_container, pod_path, Parts};
use crate::sequencing::SequencedKinds;
use crate::upstream::{CredentialEnvSpec, CredentialSpec};
use crate::values::{camel, ValuesTree};
use crate::webhook_certs::{self, WebhookCert, WebhookCerts};
use anyhow::{bail, Result};
use kf_post::yaml11::is_non_string;
use serde_yaml::{Mapping, Value};

/// What replaces a sentinel.
enum Sub {
    /// The token, inline in its line, becomes this expression.
    Inline(String),
    /// `key: TOKEN` becomes `key:` followed by `toYaml <expr>` indented below the key.
    Block(String),
    /// A `TOKEN: null` line becomes `key: <value>` rendered only when `cond` holds;
    /// `cond` is a `with`/`if` action, `value` may use `.` (with) and `block` says
    /// whether the value is a YAML block (toYaml) or a scalar.
    Optional {
        cond: String,
        key: &'static str,
        value: String,
        block: bool,
    },
    /// A `TOKEN: null` line becomes the chart's extra labels (`commonLabels`, and
    /// Helm's labels with `helmLabels`) minus the keys upstream already sets here, so
    /// a key is never duplicated and upstream labels (selectors) always win.
    LabelEntries(Vec<String>),
    /// A `TOKEN: null` line becomes `labels:` with the chart's extra labels, if any.
    LabelsMap { sequencing: Option<String> },
    /// A `TOKEN: null` line becomes the entries the chart's helper `helper`
    /// renders with `args`, inside the mapping the line is in; with `map`, under a
    /// new `map:` key (left out when the helper renders nothing).
    HelperEntries {
        helper: &'static str,
        args: String,
        map: Option<&'static str>,
    },
    /// A `- TOKEN: null` list item (a `TOKEN: null` mapping entry) becomes the list
    /// items (mapping entries) `text`, YAML unindented, rendered only when `cond`
    /// (an `if` action) holds (crate::fields).
    OptionalItem { cond: String, text: String },
    /// A `- TOKEN: null` env list item opens the guard of upstream's env entry
    /// `name`: the user's entry of that name (from the list `env`) in its place,
    /// else (up to the `End` item after it) upstream's.
    EnvItem { env: String, name: String },
    /// A `TOKEN: null` line becomes `key:` with the block `expr` (piped to
    /// `nindent`) when `cond` holds, else `key: otherwise` (upstream's empty value).
    Either {
        cond: String,
        key: &'static str,
        expr: String,
        otherwise: &'static str,
    },
    /// A `- TOKEN: null` list item closes an `EnvItem` guard.
    End,
    /// A `- TOKEN: null` list item becomes the user's env entries (list `env`)
    /// whose names upstream's list (`names`) does not have.
    EnvAppend { env: String, names: Vec<String> },
    /// A `TOKEN: null` line becomes `key:` with upstream's mapping, or with the
    /// mapping `expr` merged over it key by key when `expr` is not empty.
    Merged {
        key: &'static str,
        expr: String,
        upstream: Value,
    },
    /// A `- TOKEN: null` list item becomes `upstream` while the credential named
    /// `credential` is upstream's demo value, `replacement` otherwise.
    CredentialEnv {
        credential: String,
        global: String,
        upstream: Value,
        replacement: Value,
    },
}

pub struct Injector<'a> {
    pub chart: &'a str,
    pub values: &'a mut ValuesTree,
    /// Which part each workload, PVC, ServiceAccount and Service belongs to.
    parts: &'a Parts,
    /// The scenarios whose upstream this object is.
    scenarios: &'a [String],
    credentials: &'a [CredentialSpec],
    credential_env: &'a [CredentialEnvSpec],
    /// Catalog-declared fields and their values (crate::fields).
    fields: (&'a [FieldSpec], &'a [ValueSpec]),
    subs: Vec<Sub>,
    /// Render objects of these kinds as sequenced (crate::sequencing).
    sequenced: Option<&'a SequencedKinds>,
    /// The sequencing labels' helper arguments for an object without labels,
    /// rendered by `common_labels`' mapping.
    sequencing_labels: Option<String>,
    /// The chart's webhook certificates (crate::webhook_certs).
    webhook_certs: Option<&'a WebhookCerts>,
    /// The Kubeflow gateway served from values (crate::gateway).
    gateway: Option<&'a GatewaySpec>,
}

impl<'a> Injector<'a> {
    pub fn new(
        chart: &'a str,
        values: &'a mut ValuesTree,
        parts: &'a Parts,
        scenarios: &'a [String],
    ) -> Self {
        Injector {
            chart,
            values,
            parts,
            scenarios,
            credentials: &[],
            credential_env: &[],
            fields: (&[], &[]),
            sequenced: None,
            sequencing_labels: None,
            webhook_certs: None,
            gateway: None,
            subs: Vec::new(),
        }
    }

    /// Render these Secret keys (and env entries) from the chart's credentials values.
    pub fn with_credentials(
        mut self,
        credentials: &'a [CredentialSpec],
        credential_env: &'a [CredentialEnvSpec],
    ) -> Self {
        self.credentials = credentials;
        self.credential_env = credential_env;
        self
    }

    /// Render the chart's webhook certificates both ways (crate::webhook_certs).
    pub fn with_webhook_certs(mut self, certs: &'a WebhookCerts) -> Self {
        self.webhook_certs = Some(certs);
        self
    }

    /// Render the Kubeflow gateway from values (crate::gateway).
    pub fn with_gateway(mut self, gateway: Option<&'a GatewaySpec>) -> Self {
        self.gateway = gateway;
        self
    }

    /// Make objects of these kinds sequenced (crate::sequencing).
    pub fn with_sequencing(mut self, sequenced: &'a SequencedKinds) -> Self {
        self.sequenced = Some(sequenced);
        self
    }

    /// Set these fields from the chart's declared values (crate::fields).
    pub fn with_fields(mut self, fields: &'a [FieldSpec], values: &'a [ValueSpec]) -> Self {
        self.fields = (fields, values);
        self
    }

    fn token(&mut self, sub: Sub) -> String {
        self.subs.push(sub);
        format!("{TOKEN_PREFIX}{}__", self.subs.len() - 1)
    }

    /// Render one object as template text (without header).
    pub fn render(mut self, doc: &Value) -> Result<String> {
        let mut doc = doc.clone();
        let kind = doc
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = meta_str(&doc, "name");
        let namespace = meta_str(&doc, "namespace");
        let place = if namespace.is_empty() {
            format!("{kind} {name}")
        } else {
            format!("{kind} {namespace}/{name}")
        };

        let replaced = self.webhook_certs.is_some_and(|c| c.replaced(&doc));
        if let Some(cert) = self.webhook_certs.and_then(|c| c.injected_into(&doc)) {
            self.injected_ca(&mut doc, cert)?;
        }
        // Webhook certificates are never sequenced: the pods that mount their
        // Secrets are regular objects (`--wait` waits for them; Argo CD's wave
        // would wait for their health), so they must come with them.
        if !replaced && self.sequenced.is_some_and(|s| s.contains(&doc)) {
            self.sequencing(&mut doc)?;
        }
        self.common_labels(&mut doc)?;
        if kind == "Secret" {
            self.secret_credentials(&mut doc, &name, &namespace, &place)?;
        }
        let (fields, values) = self.fields;
        let chart = self.chart;
        fields::apply(
            chart, fields, values, &mut doc, &kind, &name, &place, &mut self,
        )?;
        if let Some(gateway) = self.gateway {
            gateway.apply(chart, &mut doc, &mut self)?;
        }
        if kind == "CustomResourceDefinition" {
            // `crds.keep`: disabling the component or uninstalling never deletes a
            // CRD, and so never the custom resources stored under it.
            let cond = "{{- if $.Values.crds.keep }}".to_string();
            let meta = mapping_at(&mut doc, &["metadata"])?;
            let t = match meta.get_mut("annotations") {
                Some(Value::Mapping(a)) => {
                    // Upstream's own (cert-manager's) gives way to crds.keep.
                    a.remove("helm.sh/resource-policy");
                    let t = self.token(Sub::Optional {
                        cond,
                        key: "helm.sh/resource-policy",
                        value: "keep".into(),
                        block: false,
                    });
                    a.insert(Value::String(t), Value::Null);
                    None
                }
                _ => Some(self.token(Sub::Optional {
                    cond,
                    key: "annotations",
                    value: "(dict \"helm.sh/resource-policy\" \"keep\")".into(),
                    block: true,
                })),
            };
            if let Some(t) = t {
                let meta = mapping_at(&mut doc, &["metadata"])?;
                meta.remove("annotations");
                meta.insert(Value::String(t), Value::Null);
            }
        }
        if kind == "Namespace" {
            // Uninstalling a chart must not delete a namespace (and everything other
            // charts or users put in it).
            set_annotation(&mut doc, "helm.sh/resource-policy", "keep")?;
        }
        if kind == "PersistentVolumeClaim" {
            set_annotation(&mut doc, "helm.sh/resource-policy", "keep")?;
            let part = self.part_of(self.parts.pvc(&name), &place)?;
            self.values.object(&part, &place);
            let spec = mapping_at(&mut doc, &["spec"])?;
            self.pvc(spec, &part, &place)?;
        }
        if kind == "ServiceAccount" {
            let parts = self.parts.service_account(&namespace, &name).to_vec();
            if !parts.is_empty() {
                let maps: Vec<String> = parts
                    .iter()
                    .map(|p| {
                        self.claim(
                            p,
                            "serviceAccount.annotations",
                            Value::Mapping(Mapping::new()),
                        );
                        format!("$.Values.{p}.serviceAccount.annotations")
                    })
                    .collect();
                self.extra_entries(&mut doc, &["metadata"], "annotations", &maps)?;
            }
        }
        if kind == "Service" {
            if let Some(part) = self.parts.service(&name).map(str::to_string) {
                self.values.object(&part, &place);
                self.service(&mut doc, &part)?;
            }
        }
        if let Some(path) = pod_path(&kind) {
            let part = self.part_of(self.parts.workload(&name), &place)?;
            self.values.object(&part, &place);
            self.workload(&mut doc, &kind, &part, path)?;
            let pod = mapping_at(&mut doc, path)?;
            self.containers(pod, &part, &name, &place)?;
            if kind == "StatefulSet" {
                if let Some(Value::Sequence(vcts)) = doc
                    .get_mut("spec")
                    .and_then(|s| s.get_mut("volumeClaimTemplates"))
                {
                    for vct in vcts.iter_mut() {
                        let vname = meta_str(vct, "name");
                        let vplace = format!("volumeClaimTemplate {vname} of {place}");
                        let spec = mapping_at(vct, &["spec"])?;
                        self.pvc(spec, &part, &vplace)?;
                    }
                }
            }
        }
        let text = escape_braces(&to_yaml(&doc)?);
        let body = self.expand(&text)?;
        Ok(if replaced {
            // An Issuer or Certificate that webhookCertificates=helm replaces.
            format!(
                "{{{{- if eq (include \"{}.webhookCertificates\" $) \"cert-manager\" }}}}\n{body}{{{{- end }}}}\n",
                self.chart
            )
        } else {
            body
        })
    }

    /// An object cainjector fills from `cert`: the annotation only with
    /// cert-manager, the CA bundle of each webhook set by the chart with helm.
    fn injected_ca(&mut self, doc: &mut Value, cert: &WebhookCert) -> Result<()> {
        let mode = |m: &str| {
            format!(
                "{{{{- if eq (include \"{}.webhookCertificates\" $) \"{m}\" }}}}",
                self.chart
            )
        };
        let (cert_manager, helm) = (mode("cert-manager"), mode("helm"));
        let annotations = mapping_at(doc, &["metadata", "annotations"])?;
        let from = annotations
            .remove("cert-manager.io/inject-ca-from")
            .unwrap_or(Value::Null);
        let t = self.token(Sub::Optional {
            cond: cert_manager,
            key: "cert-manager.io/inject-ca-from",
            value: format!("{:?}", from.as_str().unwrap_or_default()),
            block: false,
        });
        annotations.insert(Value::String(t), Value::Null);
        let data = cert.data_expr(self.chart);
        for client_config in webhook_certs::client_configs(doc) {
            match client_config.get("caBundle") {
                None => {
                    let t = self.token(Sub::Optional {
                        cond: helm.clone(),
                        key: "caBundle",
                        value: format!("{{{{ {data}.ca }}}}"),
                        block: false,
                    });
                    client_config.insert(Value::String(t), Value::Null);
                }
                // Upstream's empty placeholder stays empty with cert-manager.
                Some(Value::String(empty)) if empty.is_empty() => {
                    let t = self.token(Sub::Inline(format!(
                        "{}{{{{ {data}.ca }}}}{{{{- else }}}}\"\"{{{{- end }}}}",
                        helm.replacen("{{- if", "{{ if", 1)
                    )));
                    client_config.insert("caBundle".into(), Value::String(t));
                }
                Some(_) => bail!(
                    "a webhook clientConfig has both a caBundle and cert-manager.io/inject-ca-from"
                ),
            }
        }
        Ok(())
    }

    /// The chart's `sequencing` annotations and `sequencingLabels` on an object of
    /// a sequenced kind. Runs before `common_labels`, which then keeps the labels
    /// mapping this may create.
    fn sequencing(&mut self, doc: &mut Value) -> Result<()> {
        let own = self.sequenced.is_some_and(|s| s.own(doc, self.chart));
        let args = format!("(list $ {} {own})", SequencedKinds::recreatable(doc));
        let entries = |helper, map| Sub::HelperEntries {
            helper,
            args: args.clone(),
            map,
        };
        let meta = mapping_at(doc, &["metadata"])?;
        // Annotations: entries in upstream's mapping, or a mapping of their own
        // (left out in modes that add none).
        if has_entries(meta, "annotations")? {
            let t = self.token(entries("sequencing", None));
            mapping_at(doc, &["metadata", "annotations"])?.insert(Value::String(t), Value::Null);
        } else {
            meta.remove("annotations");
            let t = self.token(entries("sequencing", Some("annotations")));
            meta.insert(Value::String(t), Value::Null);
        }
        // Labels: entries in upstream's mapping, or, with none, part of the
        // mapping `common_labels` renders when there is anything to put in it.
        let meta = mapping_at(doc, &["metadata"])?;
        if has_entries(meta, "labels")? {
            let t = self.token(entries("sequencingLabels", None));
            mapping_at(doc, &["metadata", "labels"])?.insert(Value::String(t), Value::Null);
        } else {
            self.sequencing_labels = Some(args);
        }
        Ok(())
    }

    fn common_labels(&mut self, doc: &mut Value) -> Result<()> {
        let meta = mapping_at(doc, &["metadata"])?;
        match meta.get_mut("labels") {
            Some(Value::Mapping(labels)) if !labels.is_empty() => {
                let keys = labels
                    .keys()
                    .filter_map(Value::as_str)
                    .filter(|k| !k.starts_with(TOKEN_PREFIX))
                    .map(str::to_string)
                    .collect();
                let t = self.token(Sub::LabelEntries(keys));
                labels.insert(Value::String(t), Value::Null);
            }
            _ => {
                let sequencing = self.sequencing_labels.take();
                let t = self.token(Sub::LabelsMap { sequencing });
                meta.insert(Value::String(t), Value::Null);
            }
        }
        Ok(())
    }

    /// Secret keys declared as credentials become the chart's `credential` helper,
    /// which returns upstream's value in `demo` mode (so defaults equal upstream).
    fn secret_credentials(
        &mut self,
        doc: &mut Value,
        name: &str,
        namespace: &str,
        place: &str,
    ) -> Result<()> {
        let chart = self.chart;
        let generated = self.credentials.iter().any(|c| {
            c.secret == name
                && c.generate
                && ["data", "stringData"]
                    .iter()
                    .any(|f| doc.get(*f).and_then(|m| m.get(&c.key)).is_some())
        });
        if generated {
            // A generated value lives only in this Secret: keep it on uninstall, like
            // the database volumes it unlocks, so a reinstall (which adopts it: same
            // release annotations) looks it up instead of generating a new one.
            let meta = mapping_at(doc, &["metadata"])?;
            if meta.contains_key("annotations") {
                bail!("{place}: upstream annotations on a Secret with generated credentials are not supported");
            }
            let t = self.token(Sub::Optional {
                cond: format!(
                    "{{{{- if eq (include \"{chart}.credentialMode\" $) \"generate\" }}}}"
                ),
                key: "annotations",
                value: "(dict \"helm.sh/resource-policy\" \"keep\")".into(),
                block: true,
            });
            meta.insert(Value::String(t), Value::Null);
        }
        for field in ["data", "stringData"] {
            let Some(Value::Mapping(entries)) = doc.get_mut(field) else {
                continue;
            };
            for (k, v) in entries.iter_mut() {
                let Some(key) = k.as_str() else { continue };
                let Some(spec) = self
                    .credentials
                    .iter()
                    .find(|c| c.secret == name && c.key == key)
                else {
                    continue;
                };
                let Some(demo) = v.as_str() else {
                    bail!("{place}: {field}.{key} is not a string");
                };
                let expr = format!(
                    "{{{{ include \"{chart}.credential\" (dict \"root\" $ \"value\" {value:?} \"global\" {global:?} \"secret\" {name:?} \"namespace\" {namespace:?} \"key\" {key:?} \"demo\" {demo:?} \"base64\" {base64} \"generate\" {generate}) }}}}",
                    value = spec.value,
                    global = spec.global,
                    base64 = field == "data",
                    generate = spec.generate,
                );
                let t = self.token(Sub::Inline(expr));
                *v = Value::String(t);
            }
        }
        Ok(())
    }

    /// An env entry upstream uses instead of a credential (see `CredentialEnvSpec`).
    fn credential_env(&mut self, workload: &str, c: &mut Mapping, place: &str) -> Result<()> {
        let cname = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let specs: Vec<CredentialEnvSpec> = self
            .credential_env
            .iter()
            .filter(|e| e.workload == workload && e.container == cname)
            .cloned()
            .collect();
        for spec in specs {
            if !spec.scenarios.is_empty() {
                let inside = self.scenarios.iter().filter(|s| spec.scenarios.contains(s));
                match inside.count() {
                    0 => continue,
                    n if n == self.scenarios.len() => {}
                    _ => bail!(
                        "{place}: credentialEnv {} of scenarios {:?} matches one version of the object shared with scenarios {:?}",
                        spec.replaces,
                        spec.scenarios,
                        self.scenarios
                    ),
                }
            }
            let cred = self
                .credentials
                .iter()
                .find(|c| c.value == spec.credential)
                .expect("validated when the catalogue loads");
            let Some(Value::Sequence(env)) = c.get_mut("env") else {
                bail!("{place}: container {cname:?} has no env list for credentialEnv");
            };
            let Some(item) = env
                .iter_mut()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(spec.replaces.as_str()))
            else {
                bail!(
                    "{place}: container {cname:?} has no env {:?}",
                    spec.replaces
                );
            };
            let replacement: Value = serde_yaml::from_str(&format!(
                "{{name: {:?}, valueFrom: {{secretKeyRef: {{name: {:?}, key: {:?}}}}}}}",
                spec.env, cred.secret, cred.key
            ))?;
            let t = self.token(Sub::CredentialEnv {
                credential: cred.value.clone(),
                global: cred.global.clone(),
                upstream: item.clone(),
                replacement,
            });
            let mut m = Mapping::new();
            m.insert(Value::String(t), Value::Null);
            *item = Value::Mapping(m);
        }
        Ok(())
    }

    fn part_of(&self, part: Option<&str>, place: &str) -> Result<String> {
        part.map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("{place} has no part (crate::parts)"))
    }

    /// Record upstream's value of `part.path` for this object's scenarios.
    fn claim(&mut self, part: &str, path: &str, upstream: Value) {
        self.values.claim(part, path, upstream, self.scenarios);
    }

    /// The template expression of `part.path`: the value, or, when scenarios
    /// disagree on its default (null), this object's upstream value `up` in place
    /// of null.
    fn val(&self, part: &str, path: &str, up: &Value) -> String {
        let e = format!("$.Values.{part}.{path}");
        if self.values.varies(part, path) && !up.is_null() {
            format!("(ternary {} {e} (kindIs \"invalid\" {e}))", literal(up))
        } else {
            e
        }
    }

    /// `field` of `m` becomes `part.path` (upstream's value as its default):
    /// rendered as a block or scalar where upstream has it, only when set where not.
    fn field(
        &mut self,
        m: &mut Mapping,
        field: &'static str,
        part: &str,
        path: &str,
        empty: Value,
        block: bool,
    ) {
        let up = m.get(field).cloned();
        self.claim(part, path, up.clone().unwrap_or_else(|| empty.clone()));
        let expr = self.val(part, path, up.as_ref().unwrap_or(&Value::Null));
        self.set(m, field, up.is_some(), &expr, block);
    }

    /// `field` of `m` from the template expression `expr`.
    fn set(
        &mut self,
        m: &mut Mapping,
        field: &'static str,
        upstream: bool,
        expr: &str,
        block: bool,
    ) {
        if upstream {
            let sub = if block {
                Sub::Block(expr.to_string())
            } else {
                Sub::Inline(format!("{{{{ {expr} | quote }}}}"))
            };
            let t = self.token(sub);
            m.insert(field.into(), Value::String(t));
        } else {
            let t = self.token(Sub::Optional {
                cond: format!("{{{{- with {expr} }}}}"),
                key: field,
                value: if block {
                    ".".into()
                } else {
                    "{{ . | quote }}".into()
                },
                block,
            });
            m.insert(Value::String(t), Value::Null);
        }
    }

    /// A mapping merged key by key over upstream's (`securityContext`): default {}.
    fn merged(&mut self, m: &mut Mapping, field: &'static str, part: &str, path: &str) {
        self.claim(part, path, Value::Mapping(Mapping::new()));
        let expr = format!("$.Values.{part}.{path}");
        match m.remove(field) {
            Some(upstream) => {
                let t = self.token(Sub::Merged {
                    key: field,
                    expr,
                    upstream,
                });
                m.insert(Value::String(t), Value::Null);
            }
            None => self.set(m, field, false, &expr, true),
        }
    }

    /// Extra entries (the mappings `maps`, merged, minus the keys upstream sets)
    /// in the mapping `key` of the mapping at `path`.
    fn extra_entries(
        &mut self,
        doc: &mut Value,
        path: &[&str],
        key: &'static str,
        maps: &[String],
    ) -> Result<()> {
        let m = mapping_at(doc, path)?;
        let upstream: Vec<String> = match m.get(key) {
            Some(Value::Mapping(a)) => a
                .keys()
                .filter_map(Value::as_str)
                .filter(|k| !k.starts_with(TOKEN_PREFIX))
                .map(|k| format!("{k:?}"))
                .collect(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => bail!("{} is not a mapping", [path, &[key]].concat().join(".")),
        };
        let args = format!(
            "(list (list {}) (list {}))",
            maps.join(" "),
            upstream.join(" ")
        );
        if matches!(m.get(key), Some(Value::Null) | Some(Value::Mapping(_)) if !has_entries(m, key)?)
            && m.contains_key(key)
        {
            // Upstream's explicit `key: null` / `key: {}` stays when nothing is added.
            let otherwise = if m.get(key) == Some(&Value::Null) {
                "null"
            } else {
                "{}"
            };
            let t = self.token(Sub::Either {
                cond: format!(
                    "{{{{- with include \"{}.extraEntries\" {args} }}}}",
                    self.chart
                ),
                key,
                expr: ".".into(),
                otherwise,
            });
            m.remove(key);
            m.insert(Value::String(t), Value::Null);
            return Ok(());
        }
        let inside = matches!(m.get(key), Some(Value::Mapping(a)) if !a.is_empty());
        let t = self.token(Sub::HelperEntries {
            helper: "extraEntries",
            args,
            map: if inside { None } else { Some(key) },
        });
        if inside {
            if let Some(Value::Mapping(a)) = m.get_mut(key) {
                a.insert(Value::String(t), Value::Null);
            }
        } else {
            m.remove(key);
            m.insert(Value::String(t), Value::Null);
        }
        Ok(())
    }

    fn pvc(&mut self, spec: &mut Mapping, part: &str, place: &str) -> Result<()> {
        let Some(size) = spec
            .get("resources")
            .and_then(|r| r.get("requests"))
            .and_then(|r| r.get("storage"))
            .cloned()
        else {
            bail!("{place}: spec.resources.requests.storage is missing; a PVC needs a size");
        };
        self.claim(part, "persistence.size", size.clone());
        let t = self.token(Sub::Inline(format!(
            "{{{{ {} | quote }}}}",
            self.val(part, "persistence.size", &size)
        )));
        mapping_at_mapping(spec, &["resources", "requests"])?
            .insert("storage".into(), Value::String(t));
        self.field(
            spec,
            "storageClassName",
            part,
            "persistence.storageClass",
            Value::String(String::new()),
            false,
        );
        Ok(())
    }

    /// The user-facing Service of a part: type, annotations, loadBalancerSourceRanges.
    fn service(&mut self, doc: &mut Value, part: &str) -> Result<()> {
        self.claim(part, "service.annotations", Value::Mapping(Mapping::new()));
        self.extra_entries(
            doc,
            &["metadata"],
            "annotations",
            &[format!("$.Values.{part}.service.annotations")],
        )?;
        let spec = mapping_at(doc, &["spec"])?;
        self.field(
            spec,
            "type",
            part,
            "service.type",
            Value::String(String::new()),
            false,
        );
        self.field(
            spec,
            "loadBalancerSourceRanges",
            part,
            "service.loadBalancerSourceRanges",
            Value::Sequence(Vec::new()),
            true,
        );
        Ok(())
    }

    /// Replicas, scheduling, pod metadata and pod securityContext of a workload.
    fn workload(
        &mut self,
        doc: &mut Value,
        kind: &str,
        part: &str,
        pod_path: &[&str],
    ) -> Result<()> {
        if matches!(kind, "Deployment" | "StatefulSet" | "ReplicaSet") {
            let spec = mapping_at(doc, &["spec"])?;
            let replicas = spec.get("replicas").cloned();
            self.claim(part, "replicas", replicas.clone().unwrap_or(Value::Null));
            let expr = self.val(part, "replicas", replicas.as_ref().unwrap_or(&Value::Null));
            if replicas.is_some() {
                let t = self.token(Sub::Inline(format!("{{{{ {expr} }}}}")));
                spec.insert("replicas".into(), Value::String(t));
            } else {
                // Absent upstream (e.g. scaled by an HPA): rendered only when set.
                let t = self.token(Sub::Optional {
                    cond: format!("{{{{- if not (kindIs \"invalid\" {expr}) }}}}"),
                    key: "replicas",
                    value: format!("{{{{ {expr} }}}}"),
                    block: false,
                });
                spec.insert(Value::String(t), Value::Null);
            }
        }
        let workload = meta_str(doc, "name");
        let template = &pod_path[..pod_path.len() - 1];
        if mapping_at(doc, template)?.get("metadata").is_some() {
            let meta = [template, &["metadata"]].concat();
            for (field, path) in [("labels", "podLabels"), ("annotations", "podAnnotations")] {
                self.claim(part, path, Value::Mapping(Mapping::new()));
                self.extra_entries(doc, &meta, field, &[format!("$.Values.{part}.{path}")])?;
            }
        }
        let pod = mapping_at(doc, pod_path)?;
        for (field, empty) in SCHEDULING {
            self.field(pod, field, part, field, empty(), true);
        }
        self.field(
            pod,
            "priorityClassName",
            part,
            "priorityClassName",
            Value::String(String::new()),
            false,
        );
        self.merged(pod, "securityContext", part, "podSecurityContext");
        if self.parts.own_service_account(&workload).is_some() {
            self.own_service_account(pod, part, &workload);
        }
        if !pod.contains_key("imagePullSecrets") {
            let t = self.token(Sub::Optional {
                cond: "{{- with $.Values.global.imagePullSecrets }}".into(),
                key: "imagePullSecrets",
                value: ".".into(),
                block: true,
            });
            pod.insert(Value::String(t), Value::Null);
        }
        Ok(())
    }

    /// Pods that run as `default` run as the part's own ServiceAccount (named like
    /// the workload, or `serviceAccount.name`) when `serviceAccount.create` or
    /// `.annotations` is set, or as the existing `serviceAccount.name`.
    fn own_service_account(&mut self, pod: &mut Mapping, part: &str, workload: &str) {
        self.claim(part, "serviceAccount.create", Value::Bool(false));
        self.claim(part, "serviceAccount.name", Value::String(String::new()));
        self.claim(
            part,
            "serviceAccount.annotations",
            Value::Mapping(Mapping::new()),
        );
        let sa = format!("$.Values.{part}.serviceAccount");
        let cond = format!("or {sa}.create {sa}.annotations {sa}.name");
        let name = format!("{{{{ default {workload:?} {sa}.name | quote }}}}");
        // Upstream may say `default` explicitly (also in the deprecated alias).
        let explicit = ["serviceAccountName", "serviceAccount"]
            .into_iter()
            .filter(|k| pod.contains_key(*k))
            .collect::<Vec<_>>();
        for key in &explicit {
            let t = self.token(Sub::Inline(format!(
                "{{{{ if {cond} }}}}{name}{{{{ else }}}}default{{{{ end }}}}"
            )));
            pod.insert((*key).into(), Value::String(t));
        }
        if explicit.is_empty() {
            let t = self.token(Sub::Optional {
                cond: format!("{{{{- if {cond} }}}}"),
                key: "serviceAccountName",
                value: name,
                block: false,
            });
            pod.insert(Value::String(t), Value::Null);
        }
    }

    /// Image, resources, env and securityContext of every container: the main
    /// one's under `<part>`, the others' under `<part>.containers.<container>`.
    fn containers(
        &mut self,
        pod: &mut Mapping,
        part: &str,
        workload: &str,
        place: &str,
    ) -> Result<()> {
        let names: Vec<String> = pod
            .get("containers")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .map(|c| {
                c.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let main = main_container(self.parts.container(part), workload, &refs);
        let sized_by_chart = self.values.main.as_deref() == Some(part);
        let mut seen = std::collections::HashSet::new();
        for field in ["initContainers", "containers"] {
            let Some(Value::Sequence(list)) = pod.get_mut(field) else {
                continue;
            };
            for (i, c) in list.iter_mut().enumerate() {
                let Value::Mapping(c) = c else {
                    bail!("{place}: {field} entry is not a mapping")
                };
                let cname = c
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let Some(image) = c.get("image").and_then(Value::as_str).map(str::to_string) else {
                    bail!("{place}: {field} {cname:?} has no image");
                };
                let is_main = field == "containers" && main == Some(i);
                let pfx = if is_main {
                    String::new()
                } else {
                    format!("containers.{}.", camel(&cname))
                };
                if !seen.insert(pfx.clone()) {
                    bail!("{place}: two containers have the values key {pfx:?}");
                }
                self.env(c, part, &pfx, place)?;
                self.credential_env(workload, c, place)?;
                let policy = c.get("imagePullPolicy").cloned();
                let mut img = parse_image(&image);
                img.insert(
                    "pullPolicy".into(),
                    policy.clone().unwrap_or(Value::String(String::new())),
                );
                let mut varies = false;
                for (k, v) in &img {
                    let k = k.as_str().unwrap_or_default();
                    self.claim(part, &format!("{pfx}image.{k}"), v.clone());
                    varies |=
                        k != "pullPolicy" && self.values.varies(part, &format!("{pfx}image.{k}"));
                }
                let base = format!("$.Values.{part}.{pfx}image");
                let fallback = if varies {
                    let entries = ["registry", "repository", "tag", "digest"]
                        .iter()
                        .map(|k| format!("{k:?} {}", literal(&img[*k])))
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!(" (dict {entries})")
                } else {
                    String::new()
                };
                let t = self.token(Sub::Inline(format!(
                    "{{{{ include \"{}.image\" (list $.Values.global {base}{fallback}) | quote }}}}",
                    self.chart
                )));
                c.insert("image".into(), Value::String(t));
                let pull = format!("{pfx}image.pullPolicy");
                let expr = self.val(part, &pull, policy.as_ref().unwrap_or(&Value::Null));
                self.set(c, "imagePullPolicy", policy.is_some(), &expr, false);
                let resources = c.get("resources").cloned();
                let path = format!("{pfx}resources");
                self.claim(
                    part,
                    &path,
                    resources.clone().unwrap_or(Value::Mapping(Mapping::new())),
                );
                let mut expr = self.val(part, &path, resources.as_ref().unwrap_or(&Value::Null));
                if is_main && sized_by_chart {
                    // Chart-level `resources` (KEP 831's `<chart>.resources.limits`)
                    // merged over the part's, as Helm merges values into defaults.
                    expr = format!(
                        "(mergeOverwrite (deepCopy ({expr} | default dict)) $.Values.resources)"
                    );
                }
                self.set(c, "resources", resources.is_some(), &expr, true);
                self.merged(c, "securityContext", part, &format!("{pfx}securityContext"));
            }
        }
        Ok(())
    }

    /// Env of a container: each upstream entry replaceable by name, extra
    /// entries appended (`<part>.<pfx>env`).
    fn env(&mut self, c: &mut Mapping, part: &str, pfx: &str, place: &str) -> Result<()> {
        let path = format!("{pfx}env");
        self.claim(part, &path, Value::Sequence(Vec::new()));
        let env = format!("$.Values.{part}.{path}");
        if matches!(c.get("env"), Some(Value::Sequence(items)) if items.is_empty()) {
            // Upstream's `env: []` stays when nothing is added.
            let t = self.token(Sub::Either {
                cond: format!("{{{{- with {env} }}}}"),
                key: "env",
                expr: "toYaml .".into(),
                otherwise: "[]",
            });
            c.remove("env");
            c.insert(Value::String(t), Value::Null);
            return Ok(());
        }
        let Some(Value::Sequence(items)) = c.get_mut("env") else {
            if c.contains_key("env") {
                bail!("{place}: env is not a list");
            }
            self.set(c, "env", false, &env, true);
            return Ok(());
        };
        let mut out = Vec::with_capacity(items.len() * 3 + 1);
        let mut names = Vec::new();
        let item = |t: String| {
            let mut m = Mapping::new();
            m.insert(Value::String(t), Value::Null);
            Value::Mapping(m)
        };
        for e in std::mem::take(items) {
            // An entry an earlier step templated whole (a catalog `fields`
            // `add:`, rendered only when its value is set) stays as it is.
            if is_token_item(&e) {
                out.push(e);
                continue;
            }
            let Some(name) = e.get("name").and_then(Value::as_str).map(str::to_string) else {
                bail!("{place}: an env entry has no name");
            };
            out.push(item(self.token(Sub::EnvItem {
                env: env.clone(),
                name: name.clone(),
            })));
            out.push(e);
            out.push(item(self.token(Sub::End)));
            names.push(name);
        }
        out.push(item(self.token(Sub::EnvAppend { env, names })));
        if let Some(Value::Sequence(items)) = c.get_mut("env") {
            *items = out;
        }
        Ok(())
    }

    fn expand(&self, text: &str) -> Result<String> {
        let mut out = String::with_capacity(text.len() + 256);
        for line in text.lines() {
            let Some(start) = line.find(TOKEN_PREFIX) else {
                out.push_str(line);
                out.push('\n');
                continue;
            };
            let rest = &line[start + 6..];
            let end = rest
                .find("__")
                .ok_or_else(|| anyhow::anyhow!("malformed sentinel in {line:?}"))?;
            let n: usize = rest[..end].parse()?;
            let token = &line[start..start + 6 + end + 2];
            let indent = line.len() - line.trim_start_matches(' ').len();
            // Column of the key on this line (after any `- ` list markers).
            let col = line.len() - line.trim_start_matches([' ', '-']).len();
            let whole_line = line.trim_start() == format!("{token}: null");
            let list_item = line.trim_start() == format!("- {token}: null");
            match &self.subs[n] {
                Sub::Inline(expr) => out.push_str(&line.replace(token, expr)),
                Sub::Block(expr) => out.push_str(&line.replace(
                    &format!(" {token}"),
                    &format!(" {{{{- toYaml {expr} | nindent {} }}}}", col + 2),
                )),
                Sub::Optional {
                    cond,
                    key,
                    value,
                    block,
                } => {
                    if !whole_line || line.trim_start().starts_with('-') {
                        bail!("sentinel line {line:?} is not a plain mapping entry");
                    }
                    let pad = " ".repeat(indent);
                    let value = if *block {
                        format!("{{{{- toYaml {value} | nindent {} }}}}", indent + 2)
                    } else {
                        value.clone()
                    };
                    out.push_str(&format!("{cond}\n{pad}{key}: {value}\n{{{{- end }}}}"));
                }
                Sub::LabelEntries(keys) => {
                    if !whole_line {
                        bail!("sentinel line {line:?} is not a plain mapping entry");
                    }
                    let keys = go_strings(keys);
                    out.push_str(&format!(
                        "{{{{- with include \"{}.labels\" (list $ (list {keys})) }}}}{{{{- . | nindent {indent} }}}}{{{{- end }}}}",
                        self.chart
                    ));
                }
                Sub::EnvItem { env, name } => {
                    if !list_item {
                        bail!("sentinel line {line:?} is not a list item");
                    }
                    out.push_str(&format!(
                        "{{{{- with index (include \"{}.envByName\" {env} | fromJson) {name:?} }}}}\n{}- {{{{- toYaml . | nindent {} }}}}\n{{{{- else }}}}",
                        self.chart,
                        " ".repeat(indent),
                        indent + 2
                    ));
                }
                Sub::Either {
                    cond,
                    key,
                    expr,
                    otherwise,
                } => {
                    if !whole_line {
                        bail!("sentinel line {line:?} is not a plain mapping entry");
                    }
                    let pad = " ".repeat(indent);
                    out.push_str(&format!(
                        "{cond}\n{pad}{key}: {{{{- {expr} | nindent {} }}}}\n{{{{- else }}}}\n{pad}{key}: {otherwise}\n{{{{- end }}}}",
                        indent + 2
                    ));
                }
                Sub::End => {
                    if !list_item {
                        bail!("sentinel line {line:?} is not a list item");
                    }
                    out.push_str("{{- end }}");
                }
                Sub::EnvAppend { env, names } => {
                    if !list_item {
                        bail!("sentinel line {line:?} is not a list item");
                    }
                    let names = go_strings(names);
                    out.push_str(&format!(
                        "{{{{- range {env} }}}}{{{{- if not (has .name (list {names})) }}}}\n{}- {{{{- toYaml . | nindent {} }}}}\n{{{{- end }}}}{{{{- end }}}}",
                        " ".repeat(indent),
                        indent + 2
                    ));
                }
                Sub::Merged {
                    key,
                    expr,
                    upstream,
                } => {
                    if !whole_line || line.trim_start().starts_with('-') {
                        bail!("sentinel line {line:?} is not a plain mapping entry");
                    }
                    let pad = " ".repeat(indent);
                    let body = escape_braces(&to_yaml(upstream)?)
                        .lines()
                        .map(|l| format!("{pad}  {l}"))
                        .collect::<Vec<_>>()
                        .join("\n");
                    out.push_str(&format!(
                        "{{{{- if {expr} }}}}\n{pad}{key}: {{{{- toYaml (mergeOverwrite {} (deepCopy {expr})) | nindent {} }}}}\n{{{{- else }}}}\n{pad}{key}:\n{body}\n{{{{- end }}}}",
                        literal(upstream),
                        indent + 2
                    ));
                }
                Sub::CredentialEnv {
                    credential,
                    global,
                    upstream,
                    replacement,
                } => {
                    if !list_item {
                        bail!("sentinel line {line:?} is not a list item");
                    }
                    let item = |v: &Value| -> Result<String> {
                        let text = escape_braces(&to_yaml(&Value::Sequence(vec![v.clone()]))?);
                        Ok(text
                            .lines()
                            .map(|l| format!("{}{l}", " ".repeat(indent)))
                            .collect::<Vec<_>>()
                            .join("\n"))
                    };
                    out.push_str(&format!(
                        "{{{{- if eq (include \"{}.credentialIsDemo\" (list $ {credential:?} {global:?})) \"true\" }}}}\n{}\n{{{{- else }}}}\n{}\n{{{{- end }}}}",
                        self.chart,
                        item(upstream)?,
                        item(replacement)?
                    ));
                }
                Sub::OptionalItem { cond, text } => {
                    if !list_item && !whole_line {
                        bail!("sentinel line {line:?} is not a list item or mapping entry");
                    }
                    let pad = " ".repeat(indent);
                    let item: Vec<String> = text.lines().map(|l| format!("{pad}{l}")).collect();
                    out.push_str(&format!("{cond}\n{}\n{{{{- end }}}}", item.join("\n")));
                }
                Sub::HelperEntries { helper, args, map } => {
                    if !whole_line {
                        bail!("sentinel line {line:?} is not a plain mapping entry");
                    }
                    let include = format!("include \"{}.{helper}\" {args}", self.chart);
                    match map {
                        None => out.push_str(&format!(
                            "{{{{- with {include} }}}}{{{{- . | nindent {indent} }}}}{{{{- end }}}}"
                        )),
                        Some(key) => out.push_str(&format!(
                            "{{{{- with {include} }}}}\n{}{key}: {{{{- . | nindent {} }}}}\n{{{{- end }}}}",
                            " ".repeat(indent),
                            indent + 2
                        )),
                    }
                }
                Sub::LabelsMap { sequencing } => {
                    if !whole_line {
                        bail!("sentinel line {line:?} is not a plain mapping entry");
                    }
                    let pad = " ".repeat(indent);
                    let chart = self.chart;
                    let labels = match sequencing {
                        None => format!("include \"{chart}.labels\" (list $ (list))"),
                        Some(args) => format!(
                            "(list (include \"{chart}.labels\" (list $ (list))) (include \"{chart}.sequencingLabels\" {args}) | compact | join \"\\n\")"
                        ),
                    };
                    out.push_str(&format!(
                        "{{{{- with {labels} }}}}\n{pad}labels: {{{{- . | nindent {} }}}}\n{{{{- end }}}}",
                        indent + 2
                    ));
                }
            }
            out.push('\n');
        }
        Ok(out)
    }
}

impl fields::Tokens for Injector<'_> {
    fn inline(&mut self, expr: String) -> String {
        self.token(Sub::Inline(expr))
    }
    fn optional_item(&mut self, cond: String, text: String) -> String {
        self.token(Sub::OptionalItem { cond, text })
    }
    fn existing(&self, text: &str) -> Option<String> {
        let n: usize = text
            .strip_prefix(TOKEN_PREFIX)?
            .strip_suffix("__")?
            .parse()
            .ok()?;
        match self.subs.get(n) {
            Some(Sub::Inline(e)) => Some(e.clone()),
            _ => None,
        }
    }
}

type Empty = fn() -> Value;
const SCHEDULING: &[(&str, Empty)] = &[
    ("nodeSelector", || Value::Mapping(Mapping::new())),
    ("tolerations", || Value::Sequence(Vec::new())),
    ("affinity", || Value::Mapping(Mapping::new())),
    ("topologySpreadConstraints", || Value::Sequence(Vec::new())),
];

/// `v` as a template literal (a string, number, boolean, or `fromJson` of a
/// collection).
fn literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "nil".into(),
        other => {
            let json = serde_json::to_string(other).unwrap_or_default();
            format!("(fromJson {json:?})")
        }
    }
}

fn meta_str(doc: &Value, field: &str) -> String {
    doc.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Whether `meta.key` is a non-empty mapping (absent and null are not; any
/// other value is an error).
fn has_entries(meta: &Mapping, key: &str) -> Result<bool> {
    match meta.get(key) {
        Some(Value::Mapping(m)) => Ok(!m.is_empty()),
        None | Some(Value::Null) => Ok(false),
        Some(_) => bail!("metadata.{key} is not a mapping"),
    }
}

fn mapping_at<'v>(doc: &'v mut Value, path: &[&str]) -> Result<&'v mut Mapping> {
    let mut cur = doc;
    for p in path {
        cur = cur
            .get_mut(*p)
            .ok_or_else(|| anyhow::anyhow!("field {} is missing", path.join(".")))?;
    }
    match cur {
        Value::Mapping(m) => Ok(m),
        _ => bail!("field {} is not a mapping", path.join(".")),
    }
}

fn mapping_at_mapping<'v>(m: &'v mut Mapping, path: &[&str]) -> Result<&'v mut Mapping> {
    let (first, rest) = path.split_first().expect("non-empty path");
    let v = m
        .get_mut(*first)
        .ok_or_else(|| anyhow::anyhow!("field {} is missing", path.join(".")))?;
    if rest.is_empty() {
        match v {
            Value::Mapping(m) => Ok(m),
            _ => bail!("field {} is not a mapping", path.join(".")),
        }
    } else {
        mapping_at(v, rest)
    }
}

pub fn set_annotation(doc: &mut Value, key: &str, value: &str) -> Result<()> {
    let meta = mapping_at(doc, &["metadata"])?;
    let ann = meta
        .entry("annotations".into())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    match ann {
        Value::Mapping(a) => {
            a.insert(key.into(), value.into());
            Ok(())
        }
        Value::Null => {
            let mut a = Mapping::new();
            a.insert(key.into(), value.into());
            *ann = Value::Mapping(a);
            Ok(())
        }
        _ => bail!("metadata.annotations is not a mapping"),
    }
}

/// Split an image reference into registry / repository / tag / digest such that
/// `registry/repository:tag@digest` (omitting empty parts) gives it back unchanged.
pub fn parse_image(image: &str) -> Mapping {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, d),
        None => (image, ""),
    };
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], &rest[slash + i + 1..]),
        None => (rest, ""),
    };
    let (registry, repository) = match name.split_once('/') {
        Some((first, more))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, more)
        }
        _ => ("", name),
    };
    let mut m = Mapping::new();
    m.insert("registry".into(), registry.into());
    m.insert("repository".into(), repository.into());
    m.insert("tag".into(), tag.into());
    m.insert("digest".into(), digest.into());
    m
}

/// Start of the sentinels [`Injector::token`] makes (`__KFS_<n>__`), which
/// [`Injector::expand`] replaces by template text.
const TOKEN_PREFIX: &str = "__KFS_";

/// Space-separated Go string literals of `items`: the arguments of a
/// template's `list`.
pub fn go_strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    items
        .into_iter()
        .map(|s| format!("{:?}", s.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `- TOKEN: null` list item made by [`Injector::token`].
fn is_token_item(v: &Value) -> bool {
    matches!(v, Value::Mapping(m) if m.len() == 1
        && m.iter().all(|(k, v)| v.is_null()
            && k.as_str().is_some_and(|k| k.starts_with(TOKEN_PREFIX) && k.ends_with("__"))))
}

fn token(s: &str, table: &mut Vec<String>) -> Value {
    table.push(s.to_string());
    Value::String(format!("__KFQ_{}__", table.len() - 1))
}

fn protect(v: &Value, table: &mut Vec<String>) -> Value {
    match v {
        Value::String(s) if is_non_string(s) => token(s, table),
        Value::Mapping(m) => {
            let mut out = Mapping::new();
            for (k, v) in m {
                let k = match k {
                    Value::String(s) if is_non_string(s) => token(s, table),
                    other => other.clone(),
                };
                out.insert(k, protect(v, table));
            }
            Value::Mapping(out)
        }
        Value::Sequence(xs) => Value::Sequence(xs.iter().map(|x| protect(x, table)).collect()),
        other => other.clone(),
    }
}

/// serde_yaml serialisation that also quotes YAML-1.1-ambiguous strings, so Helm and
/// kubectl read every string back as the string upstream meant.
pub fn to_yaml(doc: &Value) -> Result<String> {
    let mut table = Vec::new();
    let protected = protect(doc, &mut table);
    let mut text = serde_yaml::to_string(&protected)?;
    for (i, s) in table.iter().enumerate().rev() {
        text = text.replace(
            &format!("__KFQ_{i}__"),
            &format!("'{}'", s.replace('\'', "''")),
        );
    }
    Ok(text)
}

/// Make `{{` and `}}` print literally when the text is evaluated as a Go template.
pub fn escape_braces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("{{") {
            out.push_str("{{\"{{\"}}");
            rest = r;
        } else if let Some(r) = rest.strip_prefix("}}") {
            out.push_str("{{\"}}\"}}");
            rest = r;
        } else {
            let c = rest.chars().next().expect("non-empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_round_trip() {
        let cases = [
            ("nginx", "", "nginx", "", ""),
            ("nginx:1.25", "", "nginx", "1.25", ""),
            ("kubeflow/katib:v1", "", "kubeflow/katib", "v1", ""),
            (
                "ghcr.io/kubeflow/katib/ui:v0.19.0",
                "ghcr.io",
                "kubeflow/katib/ui",
                "v0.19.0",
                "",
            ),
            ("localhost:5000/a/b:t", "localhost:5000", "a/b", "t", ""),
            ("gcr.io/x/y@sha256:abc", "gcr.io", "x/y", "", "sha256:abc"),
            (
                "quay.io/x:1.0@sha256:def",
                "quay.io",
                "x",
                "1.0",
                "sha256:def",
            ),
        ];
        for (image, reg, repo, tag, digest) in cases {
            let m = parse_image(image);
            let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap().to_string();
            assert_eq!(
                (s("registry"), s("repository"), s("tag"), s("digest")),
                (reg.into(), repo.into(), tag.into(), digest.into()),
                "{image}"
            );
            let mut back = String::new();
            if !reg.is_empty() {
                back += &format!("{reg}/");
            }
            back += repo;
            if !tag.is_empty() {
                back += &format!(":{tag}");
            }
            if !digest.is_empty() {
                back += &format!("@{digest}");
            }
            assert_eq!(back, image);
        }
    }

    #[test]
    fn yaml11_non_strings_are_quoted() {
        // The rule set is kf_post::yaml11's (tested there); here: it is applied to
        // keys and values, and the text reads back as the same strings.
        let doc: Value =
            serde_yaml::from_str("{a: 'on', 'yes': [n, 'x'], t: '2001-12-14', k: plain}").unwrap();
        let text = to_yaml(&doc).unwrap();
        assert_eq!(
            text,
            "a: 'on'\n'yes':\n- 'n'\n- x\nt: '2001-12-14'\nk: plain\n"
        );
        assert_eq!(serde_yaml::from_str::<Value>(&text).unwrap(), doc);
    }

    #[test]
    fn braces_are_escaped_once() {
        let cases = [
            ("plain", "plain"),
            ("{{ .Values.x }}", "{{\"{{\"}} .Values.x {{\"}}\"}}"),
            ("a}}}b", "a{{\"}}\"}}}b"),
            ("{{{", "{{\"{{\"}}{"),
        ];
        for (input, want) in cases {
            assert_eq!(escape_braces(input), want, "{input}");
        }
    }
}
