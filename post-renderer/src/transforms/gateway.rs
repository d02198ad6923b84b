//! `gateway`: the hosts and TLS of the Kubeflow Istio `Gateway`
//! (`kubeflow/kubeflow-gateway`, rendered by the kubeflow-istio-resources
//! chart with one plain-HTTP server on port 80 for every host).
//!
//! - `hosts` replaces the hosts of the Gateway's HTTP server(s);
//! - `tls.enabled` adds an HTTPS server on port 443 (`tls.mode: SIMPLE`,
//!   `credentialName`: a `kubernetes.io/tls` Secret). Istio's ingress gateway
//!   reads that Secret in its own namespace (`tls.namespace`, default
//!   `istio-system`), not in the Gateway's;
//! - `tls.certManager` has cert-manager issue that Secret: a `Certificate`
//!   in `tls.namespace` for the hosts, from the named `Issuer` (in that
//!   namespace) or `ClusterIssuer`;
//! - `httpsRedirect` (default: on with TLS) makes the HTTP server answer
//!   every request with a redirect to HTTPS (`tls.httpsRedirect: true`).
//!
//! An empty section changes nothing. Anything else asks for the Gateway: it
//! must be in the stream, with an HTTP server (an error names what is
//! missing). Running the transform on its own output changes nothing.
//!
//! Configuration reference: the `gateway` section of docs/kf-post.md; schema:
//! post-renderer/schema/postrenderconfig.schema.json.

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::builders::{self, map, strings};
use crate::document::Document;
use crate::error::{Error, Result};
use crate::lookup::exists;
use crate::names;
use crate::transforms::Filter;

const NAME: &str = "gateway";
const HTTPS_PORT: u64 = 443;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "GatewayConfig")]
pub struct Config {
    /// The Istio Gateway to configure, `namespace/name`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Hosts the gateway serves (`kubeflow.example.com`, `*.example.com`,
    /// optionally `namespace/` first); empty: as rendered (upstream: `*`).
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub tls: Tls,
    /// Redirect HTTP requests to HTTPS; unset: on when `tls.enabled`.
    #[serde(default)]
    pub https_redirect: Option<bool>,
}

impl Default for Config {
    fn default() -> Self {
        serde_yaml::from_str("{}").expect("all fields have defaults")
    }
}

fn default_name() -> String {
    "kubeflow/kubeflow-gateway".into()
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "GatewayTls")]
pub struct Tls {
    /// Serve HTTPS on port 443.
    #[serde(default)]
    pub enabled: bool,
    /// The `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`) in `namespace`;
    /// default with `certManager`: `<gateway name>-tls`, else required.
    #[serde(default)]
    pub secret_name: Option<String>,
    /// Namespace of the ingress gateway pods, where Istio reads the Secret.
    #[serde(default = "default_tls_namespace")]
    pub namespace: String,
    /// Have cert-manager issue the Secret.
    #[serde(default)]
    pub cert_manager: Option<CertManager>,
}

impl Default for Tls {
    fn default() -> Self {
        serde_yaml::from_str("{}").expect("all fields have defaults")
    }
}

fn default_tls_namespace() -> String {
    "istio-system".into()
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "GatewayCertManager")]
pub struct CertManager {
    /// The issuer's name (an `Issuer` must be in `tls.namespace`).
    pub issuer_name: String,
    #[serde(default)]
    pub issuer_kind: IssuerKind,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "IssuerKind")]
pub enum IssuerKind {
    #[default]
    ClusterIssuer,
    Issuer,
}

impl IssuerKind {
    fn as_str(self) -> &'static str {
        match self {
            IssuerKind::ClusterIssuer => "ClusterIssuer",
            IssuerKind::Issuer => "Issuer",
        }
    }
}

impl Config {
    /// Whether the section asks for anything (an empty one changes nothing).
    fn is_active(&self) -> bool {
        !self.hosts.is_empty()
            || self.tls.enabled
            || self.tls.secret_name.is_some()
            || self.tls.cert_manager.is_some()
            || self.https_redirect == Some(true)
    }

    fn redirect(&self) -> bool {
        self.https_redirect.unwrap_or(self.tls.enabled)
    }

    fn gateway(&self) -> (&str, &str) {
        self.name.split_once('/').unwrap_or(("", &self.name))
    }

    /// The Secret holding the certificate (with TLS on; checked by `check`).
    fn secret(&self) -> String {
        self.tls
            .secret_name
            .clone()
            .unwrap_or_else(|| format!("{}-tls", self.gateway().1))
    }

    /// The checks that need no stream (also `helm kubeflow validate-config`).
    pub fn check(&self) -> Result<()> {
        let config = |field: &str, e: String| Error::Config(format!("gateway.{field}: {e}"));
        names::namespaced_name(&self.name).map_err(|e| config("name", e))?;
        if !self.name.contains('/') {
            return Err(config(
                "name",
                format!("{:?} needs its namespace: `namespace/name`", self.name),
            ));
        }
        for (i, host) in self.hosts.iter().enumerate() {
            gateway_host(host).map_err(|e| config(&format!("hosts[{i}]"), e))?;
        }
        let tls = &self.tls;
        if !tls.enabled {
            let set = match (&tls.secret_name, &tls.cert_manager) {
                (Some(_), _) => Some("secretName"),
                (None, Some(_)) => Some("certManager"),
                (None, None) => None,
            };
            if let Some(field) = set {
                return Err(config(
                    &format!("tls.{field}"),
                    "is set but gateway.tls.enabled is false: turn TLS on, or leave it out".into(),
                ));
            }
            if self.https_redirect == Some(true) {
                return Err(config(
                    "httpsRedirect",
                    "redirects to HTTPS, which needs gateway.tls.enabled: true (TLS terminated \
                     in front of the gateway reaches it as plain HTTP, and would loop)"
                        .into(),
                ));
            }
            return Ok(());
        }
        names::dns_label(&tls.namespace).map_err(|e| config("tls.namespace", e))?;
        if tls.secret_name.is_none() && tls.cert_manager.is_none() {
            return Err(config(
                "tls.secretName",
                format!(
                    "required: the kubernetes.io/tls Secret in {} that holds the certificate, \
                     or set gateway.tls.certManager to have cert-manager issue it",
                    tls.namespace
                ),
            ));
        }
        names::dns_subdomain(&self.secret()).map_err(|e| config("tls.secretName", e))?;
        if let Some(cm) = &tls.cert_manager {
            names::dns_subdomain(&cm.issuer_name)
                .map_err(|e| config("tls.certManager.issuerName", e))?;
        }
        Ok(())
    }
}

/// A host of an Istio Gateway server: `[namespace/]host`, the namespace `*`,
/// `.` or a DNS label, the host `*`, `*.<domain>` or a DNS name.
fn gateway_host(s: &str) -> std::result::Result<(), String> {
    let (ns, host) = s.split_once('/').unwrap_or(("*", s));
    let ns_ok = ns == "*" || ns == "." || names::dns_label(ns).is_ok();
    let domain = host.strip_prefix("*.").unwrap_or(host);
    let host_ok = host == "*" || names::dns_subdomain(domain).is_ok();
    if ns_ok && host_ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a gateway host (`kubeflow.example.com`, `*.example.com` or `*`, \
             lowercase, optionally `namespace/` first)"
        ))
    }
}

/// The DNS name a certificate needs for a gateway host (`ns/` dropped);
/// `*` alone names no host.
fn dns_name(host: &str) -> Option<&str> {
    let name = host.split_once('/').map_or(host, |(_, h)| h);
    (name != "*").then_some(name)
}

impl Filter for Config {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, mut docs: Vec<Document>) -> Result<Vec<Document>> {
        if !self.is_active() {
            return Ok(docs);
        }
        self.check()?;
        let (ns, name) = self.gateway();
        let Some(at) = docs.iter().position(|d| {
            d.kind() == Some("Gateway")
                && d.group() == "networking.istio.io"
                && d.name() == Some(name)
                && d.namespace().is_none_or(|n| n == ns)
        }) else {
            return Err(Error::Config(format!(
                "gateway: the Istio Gateway {ns}/{name} is not in the stream; gateway.hosts and \
                 gateway.tls configure the Gateway the same release renders (for Kubeflow's, \
                 the kubeflow-istio-resources chart). Helm 3 hands post-renderers no hooks, and \
                 charts that sequence custom resources make the Gateway one: use Helm 4"
            )));
        };
        let hosts = self.rewrite_servers(&mut docs[at])?;
        if let Some(cm) = self.tls.cert_manager.as_ref().filter(|_| self.tls.enabled) {
            self.certificate(&mut docs, at, cm, &hosts)?;
        }
        Ok(docs)
    }
}

impl Config {
    /// Set the hosts and redirect of the HTTP server(s) and add the HTTPS
    /// server; returns the hosts the Gateway serves.
    fn rewrite_servers(&self, doc: &mut Document) -> Result<Vec<String>> {
        let doc_ref = doc.doc_ref();
        let field_error = |field: &str, message: String| Error::Field {
            doc: doc_ref.clone(),
            field: field.into(),
            message,
        };
        let servers = doc
            .value()
            .get("spec")
            .and_then(|s| s.get("servers"))
            .and_then(Value::as_sequence)
            .ok_or_else(|| field_error("spec.servers", "expected a list of servers".into()))?;
        let http: Vec<usize> = servers
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.get("port")
                    .and_then(|p| p.get("protocol"))
                    .and_then(Value::as_str)
                    .is_some_and(|p| p.eq_ignore_ascii_case("HTTP"))
            })
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = http.first() else {
            return Err(field_error(
                "spec.servers",
                "has no HTTP server (port.protocol: HTTP) to take the hosts and TLS from".into(),
            ));
        };
        let hosts: Vec<String> = if self.hosts.is_empty() {
            servers[first]
                .get("hosts")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        } else {
            self.hosts.clone()
        };
        let https = self.tls.enabled.then(|| self.https_server(&hosts));
        let redirect = self.redirect();
        let set_hosts = !self.hosts.is_empty();
        doc.edit(NAME, |value, changes| {
            let servers = value["spec"]["servers"]
                .as_sequence_mut()
                .expect("checked above");
            for &i in &http {
                let server = servers[i].as_mapping_mut().ok_or_else(|| {
                    field_error(&format!("spec.servers[{i}]"), "expected a mapping".into())
                })?;
                if set_hosts && server.get("hosts") != Some(&strings(&hosts)) {
                    server.insert("hosts".into(), strings(&hosts));
                    changes.push(format!("set spec.servers[{i}].hosts={hosts:?}"));
                }
                let tls = server.get("tls").and_then(|t| t.get("httpsRedirect"));
                if redirect && tls != Some(&Value::Bool(true)) {
                    let tls = crate::document::mapping_entry_in(server, "tls");
                    tls.insert("httpsRedirect".into(), true.into());
                    changes.push(format!(
                        "set spec.servers[{i}].tls.httpsRedirect=true (HTTP answers with a \
                         redirect to HTTPS)"
                    ));
                }
            }
            if let Some(https) = https {
                let on_443 = servers.iter().position(|s| {
                    s.get("port")
                        .and_then(|p| p.get("number"))
                        .and_then(Value::as_u64)
                        == Some(HTTPS_PORT)
                });
                let what = format!(
                    "HTTPS server on port {HTTPS_PORT} for {hosts:?}, certificate from Secret \
                     {}/{}",
                    self.tls.namespace,
                    self.secret()
                );
                match on_443 {
                    Some(i) if servers[i] == https => {}
                    Some(i) => {
                        servers[i] = https;
                        changes.push(format!("replaced spec.servers[{i}] with the {what}"));
                    }
                    None => {
                        servers.push(https);
                        changes.push(format!("added spec.servers[{}]: {what}", servers.len() - 1));
                    }
                }
            }
            Ok::<(), Error>(())
        })?;
        Ok(hosts)
    }

    fn https_server(&self, hosts: &[String]) -> Value {
        map([
            ("hosts", strings(hosts)),
            (
                "port",
                map([
                    ("name", "https".into()),
                    ("number", HTTPS_PORT.into()),
                    ("protocol", "HTTPS".into()),
                ]),
            ),
            (
                "tls",
                map([
                    ("mode", "SIMPLE".into()),
                    ("credentialName", self.secret().into()),
                ]),
            ),
        ])
    }

    /// A cert-manager `Certificate` for the hosts, stored in the Secret the
    /// HTTPS server reads (unless the stream has it already).
    fn certificate(
        &self,
        docs: &mut Vec<Document>,
        gateway: usize,
        cm: &CertManager,
        hosts: &[String],
    ) -> Result<()> {
        let secret = self.secret();
        let ns = self.tls.namespace.as_str();
        if exists(docs, "Certificate", Some(ns), &secret) {
            return Ok(());
        }
        let dns_names: Vec<&str> = hosts.iter().filter_map(|h| dns_name(h)).collect();
        if dns_names.len() != hosts.len() || dns_names.is_empty() {
            return Err(Error::Field {
                doc: docs[gateway].doc_ref(),
                field: "spec.servers[].hosts".into(),
                message: format!(
                    "gateway.tls.certManager needs the host names to certify, but the gateway \
                     serves {hosts:?}: set gateway.hosts (e.g. [kubeflow.example.com])"
                ),
            });
        }
        let mut deduped: Vec<&str> = Vec::new();
        for n in dns_names {
            if !deduped.contains(&n) {
                deduped.push(n);
            }
        }
        let spec = map([
            ("secretName", secret.as_str().into()),
            ("dnsNames", strings(&deduped)),
            (
                "issuerRef",
                map([
                    ("group", "cert-manager.io".into()),
                    ("kind", cm.issuer_kind.as_str().into()),
                    ("name", cm.issuer_name.as_str().into()),
                ]),
            ),
        ]);
        let (annotations, labels) = sequencing_of(&docs[gateway]);
        let mut metadata = builders::metadata(&secret, Some(ns), Some(&labels));
        if !annotations.is_empty() {
            metadata.insert("annotations".into(), Value::Mapping(annotations));
        }
        let certificate =
            builders::object("cert-manager.io/v1", "Certificate", metadata, Some(spec));
        docs.push(Document::generated(
            certificate,
            NAME,
            format!(
                "Certificate {ns}/{secret} for {deduped:?} from {} {}, stored in Secret \
                 {ns}/{secret} (the gateway's HTTPS credentialName)",
                cm.issuer_kind.as_str(),
                cm.issuer_name
            ),
        ));
        Ok(())
    }
}

/// The Gateway's ordering metadata, for the Certificate: both are custom
/// resources whose CRDs (and, for the Certificate, cert-manager's webhook)
/// may come with the same release, which charts order with Helm hooks or
/// Argo CD sync waves (docs/upgrades.md#sequencing); the Certificate is
/// applied, and pruned, together with the Gateway.
fn sequencing_of(gateway: &Document) -> (Mapping, Mapping) {
    let meta = |key: &str, keep: fn(&str) -> bool| -> Mapping {
        gateway
            .value()
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.as_str().is_some_and(keep))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    (
        meta("annotations", |k| {
            k.starts_with("helm.sh/hook")
                || k == "argocd.argoproj.io/sync-wave"
                || k == "argocd.argoproj.io/sync-options"
        }),
        meta("labels", |k| k.starts_with("helm.kubeflow.org/")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::transforms::test_docs as docs;

    /// Upstream's kubeflow-gateway (kubeflow-istio-resources).
    const GATEWAY: &str = "\
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: kubeflow-gateway
  namespace: kubeflow
spec:
  selector:
    istio: ingressgateway
  servers:
  - hosts:
    - '*'
    port:
      name: http
      number: 80
      protocol: HTTP
";

    fn run(cfg: &str, stream: &str) -> Result<Vec<Document>> {
        serde_yaml::from_str::<Config>(cfg)
            .unwrap()
            .filter(docs(stream))
    }

    fn yaml(v: &Value) -> String {
        serde_yaml::to_string(v).unwrap()
    }

    #[test]
    fn servers() {
        // (config, spec.servers afterwards)
        let cases: &[(&str, &str)] = &[
            (
                "{hosts: [kubeflow.example.com]}",
                "[{hosts: [kubeflow.example.com], port: {name: http, number: 80, protocol: HTTP}}]",
            ),
            (
                "{tls: {enabled: true, secretName: kf-tls}}",
                "[{hosts: ['*'], port: {name: http, number: 80, protocol: HTTP}, tls: {httpsRedirect: true}},
                  {hosts: ['*'], port: {name: https, number: 443, protocol: HTTPS}, tls: {mode: SIMPLE, credentialName: kf-tls}}]",
            ),
            (
                "{hosts: [a.example.com, b.example.com], httpsRedirect: false, tls: {enabled: true, secretName: kf-tls}}",
                "[{hosts: [a.example.com, b.example.com], port: {name: http, number: 80, protocol: HTTP}},
                  {hosts: [a.example.com, b.example.com], port: {name: https, number: 443, protocol: HTTPS}, tls: {mode: SIMPLE, credentialName: kf-tls}}]",
            ),
            (
                "{hosts: [kf.example.com], tls: {enabled: true, certManager: {issuerName: letsencrypt}}}",
                "[{hosts: [kf.example.com], port: {name: http, number: 80, protocol: HTTP}, tls: {httpsRedirect: true}},
                  {hosts: [kf.example.com], port: {name: https, number: 443, protocol: HTTPS}, tls: {mode: SIMPLE, credentialName: kubeflow-gateway-tls}}]",
            ),
        ];
        for (cfg, want) in cases {
            let out = run(cfg, GATEWAY).unwrap();
            let want: Value = serde_yaml::from_str(want).unwrap();
            assert_eq!(
                yaml(&out[0].value()["spec"]["servers"]),
                yaml(&want),
                "{cfg}"
            );
            assert!(out[0].is_touched(), "{cfg}");
            // The rest of the Gateway is as rendered.
            assert_eq!(
                out[0].value()["spec"]["selector"]["istio"],
                "ingressgateway"
            );
        }
    }

    #[test]
    fn certificate() {
        // (config, certificate namespace/name, dnsNames, issuerRef kind)
        let cases: &[(&str, &str, &[&str], &str)] = &[
            (
                "{hosts: [kf.example.com, '*.kf.example.com', kf.example.com], tls: {enabled: true, certManager: {issuerName: letsencrypt}}}",
                "istio-system/kubeflow-gateway-tls",
                &["kf.example.com", "*.kf.example.com"],
                "ClusterIssuer",
            ),
            (
                "{hosts: [kubeflow/kf.example.com], tls: {enabled: true, secretName: mine, namespace: ingress, certManager: {issuerName: ca, issuerKind: Issuer}}}",
                "ingress/mine",
                &["kf.example.com"],
                "Issuer",
            ),
        ];
        for (cfg, at, dns, kind) in cases {
            let out = run(cfg, GATEWAY).unwrap();
            assert_eq!(out.len(), 2, "{cfg}");
            let cert = &out[1];
            assert!(cert.is_generated());
            assert_eq!(cert.api_version(), Some("cert-manager.io/v1"));
            assert_eq!(cert.kind(), Some("Certificate"));
            let (ns, name) = at.split_once('/').unwrap();
            assert_eq!(
                (cert.namespace(), cert.name()),
                (Some(ns), Some(name)),
                "{cfg}"
            );
            let spec = &cert.value()["spec"];
            assert_eq!(spec["secretName"], name, "{cfg}");
            assert_eq!(spec["dnsNames"], strings(*dns), "{cfg}");
            assert_eq!(spec["issuerRef"]["kind"], *kind, "{cfg}");
            assert_eq!(spec["issuerRef"]["group"], "cert-manager.io", "{cfg}");
            // The HTTPS server reads the Secret the Certificate fills.
            let https = &out[0].value()["spec"]["servers"][1];
            assert_eq!(https["tls"]["credentialName"], name, "{cfg}");
        }
        // Applied when the Gateway is (Helm hook or Argo CD wave), nothing else copied.
        let sequenced = GATEWAY.replace(
            "  namespace: kubeflow\n",
            "  namespace: kubeflow\n  annotations: {helm.sh/hook: post-install, helm.sh/hook-weight: '0', \
             argocd.argoproj.io/sync-wave: '1', team: ml}\n  labels: {helm.kubeflow.org/revision: '2', app: gw}\n",
        );
        let out = run(
            "{hosts: [kf.example.com], tls: {enabled: true, certManager: {issuerName: le}}}",
            &sequenced,
        )
        .unwrap();
        let meta: Value = serde_yaml::from_str(
            "{labels: {helm.kubeflow.org/revision: '2'}, name: kubeflow-gateway-tls, namespace: istio-system,
              annotations: {helm.sh/hook: post-install, helm.sh/hook-weight: '0', argocd.argoproj.io/sync-wave: '1'}}",
        )
        .unwrap();
        assert_eq!(out[1].value()["metadata"], meta);
        assert!(run(
            "{hosts: [kf.example.com], tls: {enabled: true, certManager: {issuerName: le}}}",
            GATEWAY
        )
        .unwrap()[1]
            .value()["metadata"]
            .get("annotations")
            .is_none());
        // An existing Secret: no Certificate.
        let out = run(
            "{hosts: [kf.example.com], tls: {enabled: true, secretName: kf-tls}}",
            GATEWAY,
        )
        .unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn errors() {
        // (config, stream, message part)
        let no_http = GATEWAY.replace("protocol: HTTP", "protocol: TCP");
        let cases: &[(&str, &str, &str)] = &[
            ("{hosts: [kf.example.com]}", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
             "the Istio Gateway kubeflow/kubeflow-gateway is not in the stream"),
            ("{hosts: [kf.example.com]}", &no_http, "document 0 Gateway/kubeflow-gateway: field `spec.servers`: has no HTTP server"),
            ("{tls: {enabled: true}}", GATEWAY, "gateway.tls.secretName: required: the kubernetes.io/tls Secret in istio-system"),
            ("{tls: {secretName: kf-tls}}", GATEWAY, "gateway.tls.secretName: is set but gateway.tls.enabled is false"),
            ("{tls: {certManager: {issuerName: x}}}", GATEWAY, "gateway.tls.certManager: is set but gateway.tls.enabled is false"),
            ("{httpsRedirect: true}", GATEWAY, "gateway.httpsRedirect: redirects to HTTPS, which needs gateway.tls.enabled: true"),
            ("{hosts: [Kubeflow.Example.com]}", GATEWAY, "gateway.hosts[0]: \"Kubeflow.Example.com\" is not a gateway host"),
            ("{hosts: ['https://kf.example.com']}", GATEWAY, "gateway.hosts[0]"),
            ("{name: kubeflow-gateway, hosts: [kf.example.com]}", GATEWAY, "gateway.name: \"kubeflow-gateway\" needs its namespace"),
            ("{tls: {enabled: true, secretName: 'a b'}}", GATEWAY, "gateway.tls.secretName: \"a b\" is not a valid object name"),
            ("{tls: {enabled: true, certManager: {issuerName: letsencrypt}}}", GATEWAY,
             "document 0 Gateway/kubeflow-gateway: field `spec.servers[].hosts`: gateway.tls.certManager needs the host names to certify, but the gateway serves [\"*\"]: set gateway.hosts"),
        ];
        for (cfg, stream, want) in cases {
            let got = run(cfg, stream).unwrap_err().to_string();
            assert!(got.contains(want), "{cfg}:\n got: {got}\nwant: {want}");
        }
        assert!(serde_yaml::from_str::<Config>(
            "{tls: {certManager: {issuerName: x, issuerKind: issuer}}}"
        )
        .is_err());
        assert!(serde_yaml::from_str::<Config>("{host: [a]}").is_err());
    }

    #[test]
    fn noop_and_idempotent() {
        // Nothing asked: nothing looked up, nothing changed (no Gateway needed).
        for cfg in ["{}", "{httpsRedirect: false}"] {
            let out = run(
                cfg,
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
            )
            .unwrap();
            assert!(out.iter().all(|d| !d.is_touched()), "{cfg}");
            let out = run(cfg, GATEWAY).unwrap();
            assert!(out.iter().all(|d| !d.is_touched()), "{cfg}");
        }
        // Hosts equal to the rendered ones change nothing.
        let out = run("{hosts: ['*']}", GATEWAY).unwrap();
        assert!(!out[0].is_touched());
        let cfg: Config = serde_yaml::from_str(
            "{hosts: [kf.example.com], tls: {enabled: true, certManager: {issuerName: le}}}",
        )
        .unwrap();
        let mut once = cfg.filter(docs(GATEWAY)).unwrap();
        once.iter_mut().for_each(|d| d.forget_changes());
        let twice = cfg.filter(once.clone()).unwrap();
        assert_eq!(twice.len(), 2);
        assert!(twice.iter().all(|d| !d.is_touched()));
    }

    #[test]
    fn explained() {
        let out = run(
            "{hosts: [kf.example.com], tls: {enabled: true, certManager: {issuerName: le}}}",
            GATEWAY,
        )
        .unwrap();
        let what: Vec<&str> = out[0].changes().iter().map(|c| c.what.as_str()).collect();
        assert_eq!(what.len(), 3, "{what:?}");
        assert!(what[0].contains("hosts=[\"kf.example.com\"]"), "{what:?}");
        assert!(what[1].contains("httpsRedirect=true"), "{what:?}");
        assert!(
            what[2].contains("added spec.servers[1]: HTTPS server on port 443")
                && what[2].contains("Secret istio-system/kubeflow-gateway-tls"),
            "{what:?}"
        );
        assert!(out[1].changes()[0].what.contains("from ClusterIssuer le"));
    }
}
