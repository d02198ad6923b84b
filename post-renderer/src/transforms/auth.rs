//! `auth`: exposes web apps through the Kubeflow ingress gateway and wires
//! them to the platform's authentication, in upstream's shapes.
//!
//! For each exposed app it generates a `VirtualService` on the Kubeflow gateway
//! (prefix match, optional rewrite, optional `x-forwarded-prefix` header,
//! optional timeout, route to the app's Service) and an `AuthorizationPolicy`
//! (ALLOW from the ingress-gateway principal and/or named principals, optional
//! header conditions as a separate rule, selecting the app's pods). It pushes
//! the user-id header/prefix and secure-cookie settings into the env vars each
//! app reads (names differ per app, so they are configured per app), and can
//! emit the gateway's `RequestAuthentication` for the configured issuer(s).
//!
//! Modes (`mode`):
//! - `dex-oauth2-proxy` (default): issuer `http://dex.auth.svc.cluster.local:5556/dex`.
//! - `oidc`: an external issuer (`issuer` required, `jwksUri` optional).
//! - `m2m-kind`: Dex plus the in-cluster Kubernetes service-account issuers of
//!   upstream's `oauth2-proxy/overlays/m2m-dex-and-kind`.
//! - `m2m-eks`: Dex plus the EKS OIDC issuer (`eks: {region, clusterId}`), as
//!   upstream's `m2m-dex-and-eks`.
//! - `none`: standalone; no Istio objects, only `secureCookies` is pushed (when set).
//!
//! Configuration reference (every field, its type, default and an example):
//! the `auth` section of docs/kf-post.md; schema:
//! post-renderer/schema/postrenderconfig.schema.json.
//!
//! Third-party charts opt in with annotations on their own objects. On a
//! Service: `kf-post.kubeflow.org/expose-prefix` (creates the VirtualService
//! and the AuthorizationPolicy), `…/expose-port`, `…/expose-rewrite`,
//! `…/expose-forwarded-prefix`, `…/expose-timeout`, `…/expose-gateway`,
//! `…/expose-name` (default: the Service name), `…/authz-principals` and
//! `…/authz-service-accounts` (comma-separated; without a prefix they create
//! only the AuthorizationPolicy). On a
//! workload (Deployment, StatefulSet, …): `…/env-userid-header`,
//! `…/env-userid-prefix`, `…/env-secure-cookies`, `…/env-disable-auth` name the
//! env vars to set. An `apps` entry for the same Service replaces what the
//! annotations say (config takes precedence); env names from config win over
//! workload annotations.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value;

use crate::annotations::*;
use crate::builders::{self, map, seq, strings};
use crate::document::Document;
use crate::error::{Error, Result};
use crate::lookup::{self, backing_workloads, exists, find_service};
use crate::names;
use crate::pods;
use crate::transforms::Filter;

const NAME: &str = "auth";
const INGRESS_PRINCIPAL: &str =
    "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
const DEX_ISSUER: &str = "http://dex.auth.svc.cluster.local:5556/dex";
const KIND_JWKS: &str = "http://cluster-jwks-proxy.istio-system.svc.cluster.local/openid/v1/jwks";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "AuthMode")]
pub enum Mode {
    #[default]
    DexOauth2Proxy,
    Oidc,
    M2mKind,
    M2mEks,
    None,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "AuthConfig")]
pub struct Config {
    #[serde(default)]
    pub mode: Mode,
    #[serde(default = "default_gateway")]
    pub gateway: String,
    #[serde(default = "default_principal")]
    pub ingress_principal: String,
    /// Istio trust domain, for principals built from `serviceAccounts`.
    #[serde(default = "default_trust_domain")]
    pub trust_domain: String,
    #[serde(default = "default_userid_header")]
    pub user_id_header: String,
    #[serde(default)]
    pub user_id_prefix: String,
    #[serde(default)]
    pub secure_cookies: Option<bool>,
    #[serde(default)]
    pub request_authentication: bool,
    /// Emit the ingress gateway's oauth2-proxy policies (CUSTOM ext-authz for
    /// requests without a bearer token, DENY for requests without a valid JWT).
    #[serde(default)]
    pub gateway_policies: bool,
    /// Overrides the Dex issuer; required in `oidc` mode.
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub eks: Option<Eks>,
    #[serde(default)]
    pub apps: Vec<App>,
}

impl Default for Config {
    fn default() -> Self {
        serde_yaml::from_str("{}").expect("all fields have defaults")
    }
}

fn default_gateway() -> String {
    "kubeflow/kubeflow-gateway".into()
}
fn default_principal() -> String {
    INGRESS_PRINCIPAL.into()
}
fn default_trust_domain() -> String {
    "cluster.local".into()
}
fn default_userid_header() -> String {
    "kubeflow-userid".into()
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Eks {
    pub region: String,
    pub cluster_id: String,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct App {
    pub name: String,
    pub service: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// URI prefix on the gateway; without it no VirtualService is generated.
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub rewrite: Option<String>,
    #[serde(default)]
    pub forwarded_prefix: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub gateway: Option<String>,
    /// VirtualService name, when it differs from `name`.
    #[serde(default)]
    pub virtual_service_name: Option<String>,
    /// Default: the ingress-gateway principal (unless `serviceAccounts` is set).
    #[serde(default)]
    pub principals: Option<Vec<String>>,
    /// Service accounts (`name` in the app's namespace, or `ns/name`) allowed
    /// to call the app; added to `principals`.
    #[serde(default)]
    pub service_accounts: Vec<String>,
    #[serde(default)]
    pub when: Vec<Condition>,
    #[serde(default = "crate::transforms::yes")]
    pub authorization_policy: bool,
    /// AuthorizationPolicy action; "" leaves it out (Istio's default, ALLOW).
    #[serde(default = "allow")]
    pub action: String,
    #[serde(default)]
    pub selector: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub env: EnvNames,
}

fn allow() -> String {
    "ALLOW".into()
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Condition {
    pub key: String,
    #[serde(default)]
    pub values: Option<Vec<String>>,
    #[serde(default)]
    pub not_values: Option<Vec<String>>,
}

/// Names of the env vars an app reads its auth settings from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvNames {
    #[serde(default)]
    pub user_id_header: Option<String>,
    #[serde(default)]
    pub user_id_prefix: Option<String>,
    #[serde(default)]
    pub secure_cookies: Option<String>,
    #[serde(default)]
    pub disable_auth: Option<String>,
}

impl EnvNames {
    fn or(self, other: EnvNames) -> EnvNames {
        EnvNames {
            user_id_header: self.user_id_header.or(other.user_id_header),
            user_id_prefix: self.user_id_prefix.or(other.user_id_prefix),
            secure_cookies: self.secure_cookies.or(other.secure_cookies),
            disable_auth: self.disable_auth.or(other.disable_auth),
        }
    }

    fn from_annotations(doc: &Document) -> Result<EnvNames> {
        let get = |a: &Annotation| annotation(doc, a, names::env_name);
        Ok(EnvNames {
            user_id_header: get(&ENV_USERID_HEADER)?,
            user_id_prefix: get(&ENV_USERID_PREFIX)?,
            secure_cookies: get(&ENV_SECURE_COOKIES)?,
            disable_auth: get(&ENV_DISABLE_AUTH)?,
        })
    }

    fn check(&self, at: &str) -> Result<()> {
        for (field, name) in [
            ("userIdHeader", &self.user_id_header),
            ("userIdPrefix", &self.user_id_prefix),
            ("secureCookies", &self.secure_cookies),
            ("disableAuth", &self.disable_auth),
        ] {
            if let Some(name) = name {
                names::env_name(name).map_err(|e| Error::Config(format!("{at}.{field}: {e}")))?;
            }
        }
        Ok(())
    }
}

/// The annotation's value, refused (naming the document and the annotation)
/// when `check` rejects it.
fn annotation(
    doc: &Document,
    key: &Annotation,
    check: fn(&str) -> std::result::Result<(), String>,
) -> Result<Option<String>> {
    let Some(value) = doc.annotation(key.key) else {
        return Ok(None);
    };
    check(value).map_err(|message| Error::Field {
        doc: doc.doc_ref(),
        field: format!("metadata.annotations.{}", key.key),
        message,
    })?;
    Ok(Some(value.to_owned()))
}

/// A comma-separated annotation, each item checked.
fn annotation_list(
    doc: &Document,
    key: &Annotation,
    check: fn(&str) -> std::result::Result<(), String>,
) -> Result<Option<Vec<String>>> {
    let Some(value) = annotation(doc, key, |_| Ok(()))? else {
        return Ok(None);
    };
    let items = split_list(&value);
    for item in &items {
        check(item).map_err(|message| Error::Field {
            doc: doc.doc_ref(),
            field: format!("metadata.annotations.{}", key.key),
            message,
        })?;
    }
    Ok(Some(items))
}

impl Filter for Config {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, mut docs: Vec<Document>) -> Result<Vec<Document>> {
        self.check()?;
        let apps = self.apps_with_annotations(&docs)?;
        let mut generated = Vec::new();
        // Env names per workload index: config apps first, then annotations.
        let mut env: BTreeMap<usize, EnvNames> = BTreeMap::new();
        for app in &apps {
            let svc =
                find_service(&docs, &app.service, app.namespace.as_deref()).ok_or_else(|| {
                    Error::Config(format!(
                        "auth.apps[{}]: service {:?} is not in the rendered stream",
                        app.name, app.service
                    ))
                })?;
            if self.mode != Mode::None {
                generated.extend(self.istio_objects(&docs, svc, app)?);
            }
            let workloads = backing_workloads(&docs, svc);
            if workloads.is_empty() && app.env != EnvNames::default() {
                return Err(Error::Config(format!(
                    "auth.apps[{}].env: no workload in the stream matches the selector of \
                     service {:?}, so there is nothing to set the env vars on",
                    app.name, app.service
                )));
            }
            for w in workloads {
                let names = env.remove(&w).unwrap_or_default();
                env.insert(w, names.or(app.env.clone()));
            }
        }
        for (i, doc) in docs.iter().enumerate() {
            let names = EnvNames::from_annotations(doc)?;
            if names != EnvNames::default() {
                let current = env.remove(&i).unwrap_or_default();
                env.insert(i, current.or(names));
            }
        }
        for (w, names) in env {
            self.push_env(&mut docs[w], &names)?;
        }
        if self.request_authentication && self.mode != Mode::None {
            generated.extend(self.request_authentications(&docs));
        }
        if self.gateway_policies && self.mode != Mode::None {
            generated.extend(gateway_policies(&docs));
        }
        docs.extend(generated);
        Ok(docs)
    }
}

impl Config {
    /// The checks that need no stream (also `helm kubeflow validate-config`).
    pub fn check(&self) -> Result<()> {
        let config = |field: String, e: String| Error::Config(format!("auth.{field}: {e}"));
        names::namespaced_name(&self.gateway).map_err(|e| config("gateway".into(), e))?;
        names::token(&self.user_id_header).map_err(|e| config("userIdHeader".into(), e))?;
        names::token(&self.ingress_principal).map_err(|e| config("ingressPrincipal".into(), e))?;
        names::token(&self.trust_domain).map_err(|e| config("trustDomain".into(), e))?;
        for app in &self.apps {
            let at = format!("apps[{}]", app.name);
            let check =
                |field: &str, value: &str, f: fn(&str) -> std::result::Result<(), String>| {
                    f(value).map_err(|e| config(format!("{at}.{field}"), e))
                };
            check("name", &app.name, names::dns_subdomain)?;
            check("service", &app.service, names::dns_label)?;
            let optional = [
                (
                    "namespace",
                    &app.namespace,
                    names::dns_label as fn(&str) -> _,
                ),
                ("prefix", &app.prefix, names::uri_path),
                ("rewrite", &app.rewrite, names::uri_path),
                ("forwardedPrefix", &app.forwarded_prefix, names::uri_path),
                ("timeout", &app.timeout, names::duration),
                ("gateway", &app.gateway, names::namespaced_name),
                (
                    "virtualServiceName",
                    &app.virtual_service_name,
                    names::dns_subdomain,
                ),
            ];
            for (field, value, f) in optional {
                if let Some(value) = value {
                    check(field, value, f)?;
                }
            }
            for p in app.principals.iter().flatten() {
                check("principals", p, names::token)?;
            }
            for sa in &app.service_accounts {
                check("serviceAccounts", sa, names::namespaced_name)?;
            }
            app.env.check(&format!("auth.{at}.env"))?;
        }
        match self.mode {
            Mode::Oidc if self.issuer.is_none() => Err(Error::Config(
                "auth.issuer: required when auth.mode is oidc".into(),
            )),
            Mode::M2mEks if self.eks.is_none() => Err(Error::Config(
                "auth.eks: {region, clusterId} required when auth.mode is m2m-eks".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Config apps plus apps declared by Service annotations; a config entry
    /// for the same Service replaces the annotation-derived one.
    fn apps_with_annotations(&self, docs: &[Document]) -> Result<Vec<App>> {
        let mut apps = self.apps.clone();
        for doc in docs {
            if doc.kind() != Some("Service") || !doc.group().is_empty() {
                continue;
            }
            let prefix = annotation(doc, &EXPOSE_PREFIX, names::uri_path)?;
            let principals = annotation_list(doc, &AUTHZ_PRINCIPALS, names::token)?;
            let service_accounts =
                annotation_list(doc, &AUTHZ_SERVICE_ACCOUNTS, names::namespaced_name)?;
            if prefix.is_none() && principals.is_none() && service_accounts.is_none() {
                continue;
            }
            let service = doc.name().unwrap_or_default().to_owned();
            let namespace = doc.namespace().map(str::to_owned);
            let configured = self.apps.iter().any(|a| {
                a.service == service && (a.namespace.is_none() || a.namespace == namespace)
            });
            if configured {
                continue;
            }
            let port = match annotation(doc, &EXPOSE_PORT, |p| {
                p.parse::<u16>()
                    .map(drop)
                    .map_err(|_| format!("{p:?} is not a port number"))
            })? {
                None => None,
                Some(p) => p.parse::<u16>().ok(),
            };
            apps.push(App {
                name: annotation(doc, &EXPOSE_NAME, names::dns_subdomain)?
                    .unwrap_or_else(|| service.clone()),
                service,
                namespace,
                prefix,
                rewrite: annotation(doc, &EXPOSE_REWRITE, names::uri_path)?,
                forwarded_prefix: annotation(doc, &EXPOSE_FORWARDED_PREFIX, names::uri_path)?,
                timeout: annotation(doc, &EXPOSE_TIMEOUT, names::duration)?,
                port,
                gateway: annotation(doc, &EXPOSE_GATEWAY, names::namespaced_name)?,
                principals,
                service_accounts: service_accounts.unwrap_or_default(),
                authorization_policy: true,
                action: allow(),
                ..App::default()
            });
        }
        Ok(apps)
    }

    /// The app's VirtualService and AuthorizationPolicy, in the Service's
    /// namespace; for a Service without one (the release namespace), without
    /// a namespace too, routing to the Service's short host name.
    fn istio_objects(&self, docs: &[Document], svc: usize, app: &App) -> Result<Vec<Document>> {
        let service = &docs[svc];
        let ns = service
            .namespace()
            .map(str::to_owned)
            .or(app.namespace.clone());
        let ns = ns.as_deref();
        let host = lookup::service_host(service, &app.service, ns)?;
        // The Service's selector is the app's identity: the default for both
        // the policy's pod selector and the generated objects' labels.
        let service_selector = lookup::selector(service).cloned().unwrap_or_default();
        let selector = app
            .selector
            .as_ref()
            .map(builders::string_map)
            .unwrap_or(service_selector.clone());
        let labels = app
            .labels
            .as_ref()
            .map(builders::string_map)
            .unwrap_or(service_selector);
        let metadata = |name: &str| builders::metadata(name, ns, Some(&labels));
        let mut out = Vec::new();
        if let Some(prefix) = &app.prefix {
            let port = match app.port {
                Some(p) => p,
                None => first_port(service)?,
            };
            let mut http = Vec::new();
            if let Some(fp) = &app.forwarded_prefix {
                let add = map([("x-forwarded-prefix", fp.as_str().into())]);
                http.push(("headers", map([("request", map([("add", add)]))])));
            }
            http.push((
                "match",
                seq([map([("uri", map([("prefix", prefix.as_str().into())]))])]),
            ));
            if let Some(rw) = &app.rewrite {
                http.push(("rewrite", map([("uri", rw.as_str().into())])));
            }
            let destination = map([
                ("host", host.as_str().into()),
                ("port", map([("number", port.into())])),
            ]);
            http.push(("route", seq([map([("destination", destination)])])));
            if let Some(t) = &app.timeout {
                http.push(("timeout", t.as_str().into()));
            }
            let gateway = app.gateway.as_deref().unwrap_or(&self.gateway);
            let name = app.virtual_service_name.as_deref().unwrap_or(&app.name);
            let spec = map([
                ("gateways", strings([gateway])),
                ("hosts", strings(["*"])),
                ("http", seq([map(http)])),
            ]);
            let vs = builders::object(
                "networking.istio.io/v1alpha3",
                "VirtualService",
                metadata(name),
                Some(spec),
            );
            if !exists(docs, "VirtualService", ns, name) {
                out.push(Document::generated(
                    vs,
                    NAME,
                    format!("VirtualService {name}: {prefix} on the gateway → {host}:{port}"),
                ));
            }
        }
        if app.authorization_policy {
            // Named service accounts add to the principals; with only service
            // accounts given, the ingress gateway is not allowed implicitly.
            let mut principals = match (&app.principals, app.service_accounts.is_empty()) {
                (Some(p), _) => p.clone(),
                (None, true) => vec![self.ingress_principal.clone()],
                (None, false) => Vec::new(),
            };
            for sa in &app.service_accounts {
                let (sa_ns, sa_name) = match (sa.split_once('/'), ns) {
                    (Some((sa_ns, sa_name)), _) => (sa_ns, sa_name),
                    (None, Some(ns)) => (ns, sa.as_str()),
                    (None, None) => {
                        return Err(Error::Field {
                            doc: service.doc_ref(),
                            field: "metadata.namespace".into(),
                            message: format!(
                                "service account {sa:?} of auth app {:?} needs a namespace for \
                                 its principal, and the Service has none (it goes to the release \
                                 namespace, which kf-post is not told): write it as \
                                 namespace/{sa}",
                                app.name
                            ),
                        })
                    }
                };
                principals.push(format!("{}/ns/{sa_ns}/sa/{sa_name}", self.trust_domain));
            }
            let mut rules = Vec::new();
            if !principals.is_empty() {
                let source = map([("principals", strings(&principals))]);
                rules.push(map([("from", seq([map([("source", source)])]))]));
            }
            if !app.when.is_empty() {
                rules.push(map([("when", seq(app.when.iter().map(condition)))]));
            }
            // No principals and no conditions means "from anywhere": one empty
            // rule (an empty rule list would deny every request).
            if rules.is_empty() {
                rules.push(map([]));
            }
            let mut spec = Vec::new();
            if !app.action.is_empty() {
                spec.push(("action", app.action.as_str().into()));
            }
            spec.push(("rules", seq(rules)));
            spec.push(("selector", builders::match_labels(selector)));
            let ap = builders::object(
                "security.istio.io/v1beta1",
                "AuthorizationPolicy",
                metadata(&app.name),
                Some(map(spec)),
            );
            if !exists(docs, "AuthorizationPolicy", ns, &app.name) {
                out.push(Document::generated(
                    ap,
                    NAME,
                    format!(
                        "AuthorizationPolicy {}: ALLOW from {}",
                        app.name,
                        principals.join(", ")
                    ),
                ));
            }
        }
        Ok(out)
    }

    fn push_env(&self, doc: &mut Document, names: &EnvNames) -> Result<()> {
        let mut wanted: Vec<(&str, String)> = Vec::new();
        if self.mode != Mode::None {
            if let Some(n) = &names.user_id_header {
                wanted.push((n, self.user_id_header.clone()));
            }
            if let Some(n) = &names.user_id_prefix {
                wanted.push((n, self.user_id_prefix.clone()));
            }
            if let Some(n) = &names.disable_auth {
                wanted.push((n, "false".into()));
            }
        }
        if let (Some(n), Some(secure)) = (&names.secure_cookies, self.secure_cookies) {
            wanted.push((n, secure.to_string()));
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let doc_ref = doc.doc_ref();
        let containers_field = pods::field(doc, "spec.containers");
        doc.edit(NAME, |v, changes| {
            let Some(template) = pods::template_mut(v) else {
                return Err(Error::Document {
                    doc: doc_ref.clone(),
                    message: "auth env annotations on an object without a pod template".into(),
                });
            };
            let field = containers_field.unwrap_or_default();
            let containers = template
                .get_mut("spec")
                .and_then(|s| s.get_mut("containers"))
                .and_then(Value::as_sequence_mut)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| Error::Field {
                    doc: doc_ref.clone(),
                    field: field.clone(),
                    message: "no containers to set auth env vars on".into(),
                })?;
            for (name, value) in wanted {
                let mut found = false;
                for c in containers.iter_mut() {
                    let Some(env) = c.get_mut("env").and_then(Value::as_sequence_mut) else {
                        continue;
                    };
                    for e in env.iter_mut() {
                        if e.get("name").and_then(Value::as_str) != Some(name) {
                            continue;
                        }
                        found = true;
                        let Some(m) = e.as_mapping_mut() else {
                            continue;
                        };
                        if m.get("value").and_then(Value::as_str) != Some(value.as_str())
                            || m.contains_key("valueFrom")
                        {
                            m.shift_remove("valueFrom");
                            m.insert("value".into(), value.as_str().into());
                            changes.push(format!("env {name}={value:?}"));
                        }
                    }
                }
                if !found {
                    // Apps read the variable from their main (first) container.
                    let first = containers[0].as_mapping_mut().ok_or_else(|| Error::Field {
                        doc: doc_ref.clone(),
                        field: format!("{field}[0]"),
                        message: "not a mapping".into(),
                    })?;
                    let env = first
                        .entry("env".into())
                        .or_insert(Value::Sequence(Vec::new()));
                    if !env.is_sequence() {
                        *env = Value::Sequence(Vec::new());
                    }
                    if let Value::Sequence(env) = env {
                        env.push(map([
                            ("name", name.into()),
                            ("value", value.as_str().into()),
                        ]));
                    }
                    changes.push(format!("added env {name}={value:?}"));
                }
            }
            Ok(())
        })
    }

    fn request_authentications(&self, docs: &[Document]) -> Vec<Document> {
        let dex = self.issuer.clone().unwrap_or_else(|| DEX_ISSUER.into());
        let mut out = Vec::new();
        let main_name = match self.mode {
            Mode::Oidc => "oidc-jwt",
            _ => "dex-jwt",
        };
        out.push((
            main_name,
            vec![self.jwt_rule(&dex, self.jwks_uri.as_deref(), "email")],
        ));
        match self.mode {
            Mode::M2mKind => out.push((
                "m2m-token-issuer",
                vec![
                    self.jwt_rule(
                        "https://kubernetes.default.svc.cluster.local",
                        Some(KIND_JWKS),
                        "sub",
                    ),
                    self.jwt_rule("https://kubernetes.default.svc", Some(KIND_JWKS), "sub"),
                ],
            )),
            Mode::M2mEks => {
                let eks = self.eks.as_ref().expect("validated");
                let issuer = format!(
                    "https://oidc.eks.{}.amazonaws.com/id/{}",
                    eks.region, eks.cluster_id
                );
                out.push((
                    "m2m-token-issuer",
                    vec![self.jwt_rule(&issuer, None, "sub")],
                ));
            }
            _ => {}
        }
        out.into_iter()
            .filter(|(name, _)| !exists(docs, "RequestAuthentication", Some("istio-system"), name))
            .map(|(name, rules)| {
                let issuers: Vec<String> = rules
                    .iter()
                    .filter_map(|r| r.get("issuer").and_then(Value::as_str).map(str::to_owned))
                    .collect();
                let spec = map([("jwtRules", seq(rules)), ("selector", ingress_gateway())]);
                Document::generated(
                    builders::object(
                        "security.istio.io/v1beta1",
                        "RequestAuthentication",
                        builders::metadata(name, Some("istio-system"), None),
                        Some(spec),
                    ),
                    NAME,
                    format!(
                        "RequestAuthentication {name}: issuer {}",
                        issuers.join(", ")
                    ),
                )
            })
            .collect()
    }

    fn jwt_rule(&self, issuer: &str, jwks: Option<&str>, user_claim: &str) -> Value {
        let mut rule = vec![
            ("forwardOriginalToken", true.into()),
            (
                "fromHeaders",
                seq([map([
                    ("name", "Authorization".into()),
                    ("prefix", "Bearer ".into()),
                ])]),
            ),
            ("issuer", issuer.into()),
        ];
        if let Some(j) = jwks {
            rule.push(("jwksUri", j.into()));
        }
        let claim =
            |claim: &str, header: &str| map([("claim", claim.into()), ("header", header.into())]);
        rule.push((
            "outputClaimToHeaders",
            seq([
                claim(user_claim, &self.user_id_header),
                claim("groups", "kubeflow-groups"),
            ]),
        ));
        map(rule)
    }
}

/// `{matchLabels: {app: istio-ingressgateway}}`: the Kubeflow gateway's pods.
fn ingress_gateway() -> Value {
    builders::match_labels(
        [("app".into(), "istio-ingressgateway".into())]
            .into_iter()
            .collect(),
    )
}

/// The ingress gateway's policies from upstream's oauth2-proxy overlays:
/// browser requests (no bearer token) go through oauth2-proxy, and every
/// request outside the login paths must carry a valid JWT.
fn gateway_policies(docs: &[Document]) -> Vec<Document> {
    let open_paths = || {
        seq([map([(
            "operation",
            map([("notPaths", strings(["/dex/*", "/dex/**", "/oauth2/*"]))]),
        )])])
    };
    let policies = [
        (
            "istio-ingressgateway-oauth2-proxy",
            map([
                ("action", "CUSTOM".into()),
                ("provider", map([("name", "oauth2-proxy".into())])),
                (
                    "rules",
                    seq([map([
                        ("to", open_paths()),
                        (
                            "when",
                            seq([map([
                                ("key", "request.headers[authorization]".into()),
                                ("notValues", strings(["*"])),
                            ])]),
                        ),
                    ])]),
                ),
                ("selector", ingress_gateway()),
            ]),
            "send requests without a bearer token through oauth2-proxy",
        ),
        (
            "istio-ingressgateway-require-jwt",
            map([
                ("action", "DENY".into()),
                (
                    "rules",
                    seq([map([
                        (
                            "from",
                            seq([map([(
                                "source",
                                map([("notRequestPrincipals", strings(["*"]))]),
                            )])]),
                        ),
                        ("to", open_paths()),
                    ])]),
                ),
                ("selector", ingress_gateway()),
            ]),
            "deny requests without a valid JWT outside the login paths",
        ),
    ];
    policies
        .into_iter()
        .filter(|(name, _, _)| !exists(docs, "AuthorizationPolicy", Some("istio-system"), name))
        .map(|(name, spec, why)| {
            Document::generated(
                builders::object(
                    "security.istio.io/v1beta1",
                    "AuthorizationPolicy",
                    builders::metadata(name, Some("istio-system"), None),
                    Some(spec),
                ),
                NAME,
                format!("AuthorizationPolicy istio-system/{name}: {why}"),
            )
        })
        .collect()
}

/// A comma-separated annotation value.
fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn condition(c: &Condition) -> Value {
    let mut m = vec![("key", c.key.as_str().into())];
    if let Some(v) = &c.values {
        m.push(("values", strings(v)));
    }
    if let Some(v) = &c.not_values {
        m.push(("notValues", strings(v)));
    }
    map(m)
}

fn first_port(service: &Document) -> Result<u16> {
    service
        .value()
        .get("spec")
        .and_then(|s| s.get("ports"))
        .and_then(|p| p.get(0))
        .and_then(|p| p.get("port"))
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| Error::Field {
            doc: service.doc_ref(),
            field: "spec.ports[0].port".into(),
            message: "no port to route to; set auth.apps[].port".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::transforms::{run_config, test_docs as docs};

    fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
        path.split(':')
            .try_fold(v, |v, k| match k.parse::<usize>() {
                Ok(i) => v.get(i),
                Err(_) => v.get(k),
            })
    }

    fn run(cfg: &str, stream: &str) -> Result<Vec<Document>> {
        run_config::<Config>(cfg, docs(stream))
    }

    const STREAM: &str = "\
apiVersion: v1
kind: Service
metadata: {name: jwa-service, namespace: kubeflow, labels: {app: jwa, run: jwa}}
spec:
  selector: {app: jwa, kustomize.component: jwa}
  ports: [{name: http, port: 80, targetPort: 5000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: jwa, namespace: kubeflow}
spec:
  template:
    metadata: {labels: {app: jwa, kustomize.component: jwa}}
    spec:
      containers:
      - name: jwa
        env:
        - {name: USERID_HEADER, value: x-user}
        - {name: APP_SECURE_COOKIES, valueFrom: {configMapKeyRef: {name: c, key: k}}}
";

    const APP: &str = "{name: jupyter, service: jwa-service, prefix: /jupyter/, rewrite: /, \
        forwardedPrefix: /jupyter, env: {userIdHeader: USERID_HEADER, \
        secureCookies: APP_SECURE_COOKIES, disableAuth: APP_DISABLE_AUTH}}";

    #[test]
    fn generated_objects() {
        // (config, generated kind, path, expected)
        let cases: &[(String, &str, &str, Option<&str>)] = &[
            (
                format!("apps: [{APP}]"),
                "VirtualService",
                "spec:gateways:0",
                Some("kubeflow/kubeflow-gateway"),
            ),
            (
                format!("apps: [{APP}]"),
                "VirtualService",
                "spec:http:0:match:0:uri:prefix",
                Some("/jupyter/"),
            ),
            (
                format!("apps: [{APP}]"),
                "VirtualService",
                "spec:http:0:rewrite:uri",
                Some("/"),
            ),
            (
                format!("apps: [{APP}]"),
                "VirtualService",
                "spec:http:0:headers:request:add:x-forwarded-prefix",
                Some("/jupyter"),
            ),
            (
                format!("apps: [{APP}]"),
                "VirtualService",
                "spec:http:0:route:0:destination:host",
                Some("jwa-service.kubeflow.svc.cluster.local"),
            ),
            (
                format!("apps: [{APP}]"),
                "VirtualService",
                "spec:http:0:timeout",
                None,
            ),
            (
                format!("apps: [{APP}]"),
                "VirtualService",
                "metadata:labels:run",
                None,
            ),
            (
                format!("apps: [{APP}]"),
                "VirtualService",
                "metadata:labels:app",
                Some("jwa"),
            ),
            (
                format!("{{gateway: kubeflow-gateway, apps: [{APP}]}}"),
                "VirtualService",
                "spec:gateways:0",
                Some("kubeflow-gateway"),
            ),
            (
                format!("apps: [{APP}]"),
                "AuthorizationPolicy",
                "spec:action",
                Some("ALLOW"),
            ),
            (
                format!("apps: [{APP}]"),
                "AuthorizationPolicy",
                "spec:rules:0:from:0:source:principals:0",
                Some(INGRESS_PRINCIPAL),
            ),
            (
                format!("apps: [{APP}]"),
                "AuthorizationPolicy",
                "spec:selector:matchLabels:kustomize.component",
                Some("jwa"),
            ),
            (
                "apps: [{name: p, service: jwa-service, selector: {app: jwa}, principals: [a, b], \
                 when: [{key: \"request.headers[kubeflow-userid]\", notValues: [\"*\"]}]}]"
                    .into(),
                "AuthorizationPolicy",
                "spec:rules:1:when:0:notValues:0",
                Some("*"),
            ),
            (
                "apps: [{name: p, service: jwa-service, selector: {app: jwa}}]".into(),
                "AuthorizationPolicy",
                "spec:selector:matchLabels:kustomize.component",
                None,
            ),
            (
                "{requestAuthentication: true}".into(),
                "RequestAuthentication",
                "spec:jwtRules:0:issuer",
                Some(DEX_ISSUER),
            ),
            (
                "{requestAuthentication: true}".into(),
                "RequestAuthentication",
                "spec:jwtRules:0:outputClaimToHeaders:1:header",
                Some("kubeflow-groups"),
            ),
            (
                "{mode: oidc, issuer: https://idp.example, requestAuthentication: true}".into(),
                "RequestAuthentication",
                "metadata:name",
                Some("oidc-jwt"),
            ),
        ];
        for (cfg, kind, path, want) in cases {
            let out = run(cfg, STREAM).unwrap();
            let doc = out
                .iter()
                .find(|d| d.kind() == Some(kind))
                .unwrap_or_else(|| panic!("{cfg}: no {kind}"));
            let got = at(doc.value(), path).and_then(Value::as_str);
            assert_eq!(got, *want, "{cfg}: {kind} {path}");
        }
    }

    #[test]
    fn gateway_policies_and_action() {
        let out = run("{gatewayPolicies: true}", STREAM).unwrap();
        let names: Vec<&str> = out
            .iter()
            .filter(|d| d.is_generated())
            .map(|d| d.name().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "istio-ingressgateway-oauth2-proxy",
                "istio-ingressgateway-require-jwt"
            ]
        );
        assert_eq!(
            at(out[2].value(), "spec:action").and_then(Value::as_str),
            Some("CUSTOM")
        );
        assert_eq!(
            at(out[3].value(), "spec:rules:0:to:0:operation:notPaths:2").and_then(Value::as_str),
            Some("/oauth2/*")
        );
        assert_eq!(
            run("{mode: none, gatewayPolicies: true}", STREAM)
                .unwrap()
                .len(),
            2
        );
        let out = run(
            "apps: [{name: p, service: jwa-service, action: \"\"}]",
            STREAM,
        )
        .unwrap();
        assert!(at(out[2].value(), "spec:action").is_none());
        let out = run(
            "apps: [{name: p, service: jwa-service, principals: []}]",
            STREAM,
        )
        .unwrap();
        let rules = at(out[2].value(), "spec:rules")
            .unwrap()
            .as_sequence()
            .unwrap();
        assert_eq!(
            rules,
            &vec![Value::Mapping(serde_yaml::Mapping::new())],
            "allow from anywhere"
        );
        // labels stay the Service selector when only the pod selector is overridden
        let out = run(
            "apps: [{name: p, service: jwa-service, selector: {app: jwa}}]",
            STREAM,
        )
        .unwrap();
        assert_eq!(out[2].label("kustomize.component"), Some("jwa"));
    }

    #[test]
    fn service_accounts() {
        // (app extras, expected principals)
        let cases: &[(&str, &[&str])] = &[
            ("", &[INGRESS_PRINCIPAL]),
            (
                "serviceAccounts: [dash, other/ui]",
                &[
                    "cluster.local/ns/kubeflow/sa/dash",
                    "cluster.local/ns/other/sa/ui",
                ],
            ),
            (
                "principals: [p], serviceAccounts: [dash]",
                &["p", "cluster.local/ns/kubeflow/sa/dash"],
            ),
        ];
        for (extra, want) in cases {
            let cfg = format!("apps: [{{name: a, service: jwa-service, {extra}}}]");
            let out = run(&cfg, STREAM).unwrap();
            let got: Vec<&str> = at(out[2].value(), "spec:rules:0:from:0:source:principals")
                .unwrap()
                .as_sequence()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(&got, want, "{cfg}");
        }
        let cfg = "{trustDomain: td.example, apps: [{name: a, service: jwa-service, serviceAccounts: [x]}]}";
        let out = run(cfg, STREAM).unwrap();
        assert_eq!(
            at(out[2].value(), "spec:rules:0:from:0:source:principals:0").and_then(Value::as_str),
            Some("td.example/ns/kubeflow/sa/x")
        );
    }

    #[test]
    fn m2m_issuers() {
        let cases: &[(&str, &[&str])] = &[
            ("{mode: dex-oauth2-proxy, requestAuthentication: true}", &[DEX_ISSUER]),
            (
                "{mode: m2m-kind, requestAuthentication: true}",
                &[
                    DEX_ISSUER,
                    "https://kubernetes.default.svc.cluster.local",
                    "https://kubernetes.default.svc",
                ],
            ),
            (
                "{mode: m2m-eks, eks: {region: eu-west-1, clusterId: ABC}, requestAuthentication: true}",
                &[DEX_ISSUER, "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"],
            ),
            ("{mode: none, requestAuthentication: true}", &[]),
        ];
        for (cfg, want) in cases {
            let out = run(cfg, STREAM).unwrap();
            let issuers: Vec<&str> = out
                .iter()
                .filter(|d| d.kind() == Some("RequestAuthentication"))
                .flat_map(|d| {
                    at(d.value(), "spec:jwtRules")
                        .unwrap()
                        .as_sequence()
                        .unwrap()
                })
                .map(|r| r.get("issuer").unwrap().as_str().unwrap())
                .collect();
            assert_eq!(&issuers, want, "{cfg}");
        }
    }

    #[test]
    fn env_pushed() {
        // (config, env var, expected value in the Deployment)
        let cases: &[(String, &str, Option<&str>)] = &[
            (
                format!("apps: [{APP}]"),
                "USERID_HEADER",
                Some("kubeflow-userid"),
            ),
            (
                format!("{{userIdHeader: x-id, apps: [{APP}]}}"),
                "USERID_HEADER",
                Some("x-id"),
            ),
            (format!("apps: [{APP}]"), "APP_DISABLE_AUTH", Some("false")),
            // secure cookies untouched unless configured
            (format!("apps: [{APP}]"), "APP_SECURE_COOKIES", None),
            (
                format!("{{secureCookies: false, apps: [{APP}]}}"),
                "APP_SECURE_COOKIES",
                Some("false"),
            ),
            (
                format!("{{mode: none, secureCookies: false, apps: [{APP}]}}"),
                "APP_SECURE_COOKIES",
                Some("false"),
            ),
            (
                format!("{{mode: none, apps: [{APP}]}}"),
                "USERID_HEADER",
                Some("x-user"),
            ),
        ];
        for (cfg, var, want) in cases {
            let out = run(cfg, STREAM).unwrap();
            let env = at(out[1].value(), "spec:template:spec:containers:0:env").unwrap();
            let got = env
                .as_sequence()
                .unwrap()
                .iter()
                .find(|e| e.get("name").unwrap().as_str() == Some(var))
                .and_then(|e| e.get("value"))
                .and_then(Value::as_str);
            assert_eq!(got, *want, "{cfg}: {var}");
        }
        let out = run(
            "{mode: none, apps: [{name: a, service: jwa-service, prefix: /a/}]}",
            STREAM,
        )
        .unwrap();
        assert_eq!(out.len(), 2, "mode none generates no Istio objects");
    }

    #[test]
    fn annotations_opt_in_and_precedence() {
        let stream = STREAM
            .replace(
                "labels: {app: jwa, run: jwa}}",
                "labels: {app: jwa, run: jwa}, annotations: {kf-post.kubeflow.org/expose-prefix: /third/, \
                 kf-post.kubeflow.org/expose-port: \"80\", kf-post.kubeflow.org/authz-principals: \"a, b\"}}",
            )
            .replace(
                "metadata: {name: jwa, namespace: kubeflow}",
                "metadata: {name: jwa, namespace: kubeflow, annotations: {kf-post.kubeflow.org/env-userid-header: USERID_HEADER}}",
            );
        let out = run("{}", &stream).unwrap();
        let vs = out
            .iter()
            .find(|d| d.kind() == Some("VirtualService"))
            .unwrap();
        assert_eq!(vs.name(), Some("jwa-service"));
        assert_eq!(
            at(vs.value(), "spec:http:0:match:0:uri:prefix").and_then(Value::as_str),
            Some("/third/")
        );
        let ap = out
            .iter()
            .find(|d| d.kind() == Some("AuthorizationPolicy"))
            .unwrap();
        assert_eq!(
            at(ap.value(), "spec:rules:0:from:0:source:principals:1").and_then(Value::as_str),
            Some("b")
        );
        assert!(out[1]
            .changes()
            .iter()
            .any(|c| c.what.contains("USERID_HEADER=\"kubeflow-userid\"")));
        // A config entry for the same Service wins over its annotations.
        let out = run(&format!("apps: [{APP}]"), &stream).unwrap();
        let vs = out
            .iter()
            .find(|d| d.kind() == Some("VirtualService"))
            .unwrap();
        assert_eq!(vs.name(), Some("jupyter"));
        assert_eq!(
            out.iter()
                .filter(|d| d.kind() == Some("VirtualService"))
                .count(),
            1
        );
        // A bad annotation names the document and the field.
        let bad = stream.replace("expose-port: \"80\"", "expose-port: eighty");
        let err = run("{}", &bad).unwrap_err().to_string();
        assert!(
            err.contains("document 0") && err.contains("expose-port"),
            "{err}"
        );
    }

    #[test]
    fn errors_and_noop() {
        let out = run("{}", STREAM).unwrap();
        assert!(out.iter().all(|d| !d.is_touched()) && out.len() == 2);
        let err = run("apps: [{name: x, service: nope}]", STREAM)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"nope\" is not in the rendered stream"),
            "{err}"
        );
        let orphan = STREAM.replace("{app: jwa, kustomize.component: jwa}}", "{app: gone}}");
        let err = run(&format!("apps: [{APP}]"), &orphan)
            .unwrap_err()
            .to_string();
        assert!(err.contains("auth.apps[jupyter].env"), "{err}");
        let err = run("mode: oidc", STREAM).unwrap_err().to_string();
        assert!(err.contains("auth.issuer"), "{err}");
        let err = run("mode: m2m-eks", STREAM).unwrap_err().to_string();
        assert!(err.contains("auth.eks"), "{err}");
        assert!(serde_yaml::from_str::<Config>("mode: dex").is_err());
        assert!(serde_yaml::from_str::<Config>("apps: [{name: a, service: b, prefx: /}]").is_err());
    }

    #[test]
    fn release_namespace_services_get_namespace_less_objects() {
        // A chart that writes no namespace: Helm (or Argo CD) puts every
        // object in the release namespace, so the generated ones carry none
        // either and route to the short host name, which Istio resolves in
        // that namespace.
        let stream = STREAM.replace(", namespace: kubeflow", "");
        let out = run(&format!("apps: [{APP}]"), &stream).unwrap();
        let generated: Vec<_> = out.iter().filter(|d| d.is_generated()).collect();
        assert_eq!(generated.len(), 2);
        for d in &generated {
            assert_eq!(d.namespace(), None, "{:?}", d.value());
        }
        let vs = generated[0];
        assert_eq!(
            at(vs.value(), "spec:http:0:route:0:destination:host").and_then(Value::as_str),
            Some("jwa-service")
        );
        assert_eq!(
            at(vs.value(), "spec:gateways:0").and_then(Value::as_str),
            Some("kubeflow/kubeflow-gateway")
        );
        // The env vars still reach the namespace-less workload.
        assert!(out[1].is_touched());
        // serviceAccounts need a namespace for the principal: ns/name works,
        // a bare name is refused, naming the Service and what to write.
        let out = run(
            "apps: [{name: a, service: jwa-service, serviceAccounts: [kubeflow/dash]}]",
            &stream,
        )
        .unwrap();
        assert_eq!(
            at(out[2].value(), "spec:rules:0:from:0:source:principals:0").and_then(Value::as_str),
            Some("cluster.local/ns/kubeflow/sa/dash")
        );
        let err = run(
            "apps: [{name: a, service: jwa-service, serviceAccounts: [dash]}]",
            &stream,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("Service/jwa-service: field `metadata.namespace`")
                && err.contains("namespace/dash"),
            "{err}"
        );
        // A namespace in the config still places them explicitly.
        let out = run(
            "apps: [{name: a, service: jwa-service, namespace: team-a, prefix: /a/}]",
            &stream,
        )
        .unwrap();
        assert_eq!(out[2].namespace(), Some("team-a"));
        assert_eq!(
            at(out[2].value(), "spec:http:0:route:0:destination:host").and_then(Value::as_str),
            Some("jwa-service.team-a.svc.cluster.local")
        );
    }

    #[test]
    fn idempotent() {
        let cfg: Config = serde_yaml::from_str(&format!(
            "{{secureCookies: true, requestAuthentication: true, apps: [{APP}]}}"
        ))
        .unwrap();
        let once = cfg.filter(docs(STREAM)).unwrap();
        let mut again = once.clone();
        again.iter_mut().for_each(|d| d.forget_changes());
        let twice = cfg.filter(again).unwrap();
        assert_eq!(once.len(), twice.len());
        assert!(twice.iter().all(|d| !d.is_touched()));
    }
}
