//! Webhook serving certificates made by Helm instead of cert-manager
//! (docs/charts.md#webhook-certificates).
//!
//! Upstream gives each webhook server a self-signed cert-manager `Issuer` and a
//! `Certificate` whose Secret the server's pod mounts, and cainjector copies the
//! CA into the webhook configurations (`cert-manager.io/inject-ca-from`). In one
//! Helm release that cannot work with `helm install --wait`: the Certificate is a
//! custom resource, so it is sequenced after the release's regular objects
//! (crate::sequencing), while the pod that mounts its Secret is a regular object
//! Helm waits for — it never starts. With `webhookCertificates: helm` (what the
//! umbrella sets) the chart renders the Secret itself, generated on first install
//! and looked up on every upgrade, and sets the CA bundle on the webhooks; with
//! `cert-manager` (the default: upstream's objects) it renders upstream's.

use serde_yaml::{Mapping, Value};

/// One upstream webhook certificate: a `Certificate` issued by a self-signed
/// `Issuer` of the same namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookCert {
    pub namespace: String,
    pub certificate: String,
    pub issuer: String,
    pub secret: String,
    pub common_name: String,
    pub dns_names: Vec<String>,
    /// The chart scenarios (`variant`s) that have the Certificate.
    pub scenarios: Vec<String>,
}

/// The webhook certificates of one chart.
#[derive(Debug, Default, Clone)]
pub struct WebhookCerts {
    pub certs: Vec<WebhookCert>,
}

const INJECT_CA: &str = "cert-manager.io/inject-ca-from";

fn meta<'v>(doc: &'v Value, key: &str) -> &'v str {
    doc.get("metadata")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn is_cert_manager(doc: &Value, kind: &str) -> bool {
    doc.get("kind").and_then(Value::as_str) == Some(kind)
        && doc
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("cert-manager.io/"))
}

impl WebhookCerts {
    /// Find them among every version of every object of a chart, each with the
    /// scenarios that have it.
    pub fn of<'v>(objects: impl Iterator<Item = (&'v Value, &'v [String])> + Clone) -> Self {
        let self_signed: Vec<(String, String)> = objects
            .clone()
            .map(|(d, _)| d)
            .filter(|d| is_cert_manager(d, "Issuer"))
            .filter(|d| d.get("spec").and_then(|s| s.get("selfSigned")).is_some())
            .map(|d| {
                (
                    meta(d, "namespace").to_string(),
                    meta(d, "name").to_string(),
                )
            })
            .collect();
        let mut certs: Vec<WebhookCert> = Vec::new();
        for (doc, scenarios) in objects.filter(|(d, _)| is_cert_manager(d, "Certificate")) {
            let Some(spec) = doc.get("spec") else {
                continue;
            };
            let issuer_ref = spec.get("issuerRef");
            let issuer_kind = issuer_ref
                .and_then(|r| r.get("kind"))
                .and_then(Value::as_str)
                .unwrap_or("Issuer");
            let issuer = issuer_ref
                .and_then(|r| r.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let namespace = meta(doc, "namespace").to_string();
            if issuer_kind != "Issuer" || !self_signed.contains(&(namespace.clone(), issuer.into()))
            {
                continue;
            }
            let str_at = |k: &str| spec.get(k).and_then(Value::as_str).map(str::to_string);
            let (Some(secret), dns_names) = (
                str_at("secretName"),
                spec.get("dnsNames")
                    .and_then(Value::as_sequence)
                    .map(|s| {
                        s.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            ) else {
                continue;
            };
            let Some(common_name) = str_at("commonName").or_else(|| dns_names.first().cloned())
            else {
                continue;
            };
            let cert = WebhookCert {
                namespace,
                certificate: meta(doc, "name").to_string(),
                issuer: issuer.to_string(),
                secret,
                common_name,
                dns_names,
                scenarios: scenarios.to_vec(),
            };
            // Versions that differ only in scenarios are one certificate; versions
            // that differ otherwise are not supported (one Secret per name).
            match certs
                .iter_mut()
                .find(|c| c.namespace == cert.namespace && c.certificate == cert.certificate)
            {
                Some(c)
                    if WebhookCert {
                        scenarios: c.scenarios.clone(),
                        ..cert.clone()
                    } == *c =>
                {
                    c.scenarios.extend(cert.scenarios);
                }
                Some(c) => {
                    c.scenarios.clear();
                }
                None => certs.push(cert),
            }
        }
        // A certificate whose scenarios disagree on it stays upstream's.
        certs.retain(|c| !c.scenarios.is_empty());
        WebhookCerts { certs }
    }

    /// Whether `doc` is one of the Issuers or Certificates that
    /// `webhookCertificates: helm` replaces.
    pub fn replaced(&self, doc: &Value) -> bool {
        let (ns, name) = (meta(doc, "namespace"), meta(doc, "name"));
        self.certs.iter().any(|c| {
            c.namespace == ns
                && ((is_cert_manager(doc, "Issuer") && c.issuer == name)
                    || (is_cert_manager(doc, "Certificate") && c.certificate == name))
        })
    }

    /// The certificate whose CA cainjector would put into `doc`.
    pub fn injected_into(&self, doc: &Value) -> Option<&WebhookCert> {
        let from = doc
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(INJECT_CA))
            .and_then(Value::as_str)?;
        self.certs
            .iter()
            .find(|c| format!("{}/{}", c.namespace, c.certificate) == from)
    }

    /// A certificate whose Secret upstream also renders in a scenario that has
    /// the Certificate (the generated one would clash with it).
    pub fn secret_clash<'v>(
        &self,
        mut objects: impl Iterator<Item = (&'v Value, &'v [String])>,
    ) -> Option<&WebhookCert> {
        objects.find_map(|(d, scenarios)| {
            (d.get("kind").and_then(Value::as_str) == Some("Secret"))
                .then(|| {
                    self.certs.iter().find(|c| {
                        c.namespace == meta(d, "namespace")
                            && c.secret == meta(d, "name")
                            && c.scenarios.iter().any(|s| scenarios.contains(s))
                    })
                })
                .flatten()
        })
    }
}

impl WebhookCert {
    /// The helper call returning this certificate's PEM data (`ca`, `crt`, `key`,
    /// base64) as YAML.
    pub fn data_expr(&self, chart: &str) -> String {
        let dns = crate::template::go_strings(&self.dns_names);
        format!(
            "(include \"{chart}.webhookCertificateData\" (dict \"root\" $ \"namespace\" {:?} \"secret\" {:?} \"commonName\" {:?} \"dnsNames\" (list {dns})) | fromYaml)",
            self.namespace, self.secret, self.common_name
        )
    }

    /// The Secret `webhookCertificates: helm` renders in place of the Certificate,
    /// in the scenarios that have it (`guard`: a condition on `variant`, or empty).
    pub fn secret_template(&self, chart: &str, header: &str, guard: &str) -> String {
        let data = self.data_expr(chart);
        let helm = format!("eq (include \"{chart}.webhookCertificates\" $) \"helm\"");
        let cond = if guard.is_empty() {
            helm
        } else {
            format!("and ({helm}) ({guard})")
        };
        format!(
            "{{{{- /* {header} */}}}}\n{{{{- if {cond} }}}}\n{{{{- $cert := {data} }}}}\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    {{{{- include \"{chart}.labels\" (list $ (list)) | nindent 4 }}}}\ndata:\n  ca.crt: {{{{ $cert.ca }}}}\n  tls.crt: {{{{ $cert.crt }}}}\n  tls.key: {{{{ $cert.key }}}}\n{{{{- end }}}}\n",
            name = self.secret,
            ns = self.namespace,
        )
    }
}

/// The clientConfig mappings of `doc` whose CA bundle the injected CA fills:
/// every webhook of a webhook configuration, a CRD's conversion webhook.
pub fn client_configs(doc: &mut Value) -> Vec<&mut Mapping> {
    let kind = doc
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match kind.as_str() {
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => doc
            .get_mut("webhooks")
            .and_then(Value::as_sequence_mut)
            .map(|hooks| {
                hooks
                    .iter_mut()
                    .filter_map(|h| h.get_mut("clientConfig").and_then(Value::as_mapping_mut))
                    .collect()
            })
            .unwrap_or_default(),
        "CustomResourceDefinition" => doc
            .get_mut("spec")
            .and_then(|s| s.get_mut("conversion"))
            .and_then(|c| c.get_mut("webhook"))
            .and_then(|w| w.get_mut("clientConfig"))
            .and_then(Value::as_mapping_mut)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The chart's helpers for webhook certificates.
pub fn helpers(chart: &str) -> String {
    format!(
        r#"
{{{{/*
How this chart's webhook serving certificates are made (docs/charts.md#webhook-certificates):
`cert-manager` (upstream: a self-signed Issuer and a Certificate, the CA injected by
cainjector) or `helm` (the chart renders the Secret, generated on first install
and kept on upgrades, and sets the CA bundle on the webhooks).
*/}}}}
{{{{- define "{chart}.webhookCertificates" -}}}}
{{{{- .Values.webhookCertificates | default ((.Values.global).webhookCertificates) | default "cert-manager" -}}}}
{{{{- end }}}}

{{{{/*
The serving certificate kept in Secret namespace/secret, as YAML {{ca, crt, key}}
(base64 PEM): the live Secret's when it has all three, else generated (10 years,
own CA). Generated once per render and shared by every template through
.Values.__webhookCertificates, so the Secret and the CA bundles agree.
(dict "root" $ "namespace" "..." "secret" "..." "commonName" "..." "dnsNames" (list ...))
*/}}}}
{{{{- define "{chart}.webhookCertificateData" -}}}}
{{{{- $root := .root -}}}}
{{{{- $cache := $root.Values.__webhookCertificates | default dict -}}}}
{{{{- $_ := set $root.Values "__webhookCertificates" $cache -}}}}
{{{{- $key := printf "%s/%s" .namespace .secret -}}}}
{{{{- if not (hasKey $cache $key) -}}}}
{{{{- $live := (lookup "v1" "Secret" .namespace .secret).data | default dict -}}}}
{{{{- if and (index $live "ca.crt") (index $live "tls.crt") (index $live "tls.key") -}}}}
{{{{- $_ := set $cache $key (dict "ca" (index $live "ca.crt") "crt" (index $live "tls.crt") "key" (index $live "tls.key")) -}}}}
{{{{- else -}}}}
{{{{- $ca := genCA (printf "%s-ca" .secret) 3650 -}}}}
{{{{- $cert := genSignedCert .commonName nil .dnsNames 3650 $ca -}}}}
{{{{- $_ := set $cache $key (dict "ca" ($ca.Cert | b64enc) "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc)) -}}}}
{{{{- end -}}}}
{{{{- end -}}}}
{{{{- toYaml (index $cache $key) -}}}}
{{{{- end }}}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(s: &str) -> Vec<Value> {
        crate::upstream::parse_stream(s).unwrap()
    }

    fn everywhere(d: &[Value]) -> impl Iterator<Item = (&Value, &[String])> + Clone {
        d.iter().map(|x| (x, ALL.as_slice()))
    }

    static ALL: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["base".to_string()]);

    const UPSTREAM: &str = "apiVersion: cert-manager.io/v1\nkind: Issuer\nmetadata: {name: self, namespace: kubeflow}\nspec: {selfSigned: {}}\n---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: serving-cert, namespace: kubeflow}\nspec: {commonName: svc.kubeflow.svc, dnsNames: [svc.kubeflow.svc, svc.kubeflow.svc.cluster.local], issuerRef: {kind: Issuer, name: self}, secretName: svc-cert}\n---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: other, namespace: kubeflow}\nspec: {dnsNames: [o.kubeflow.svc], issuerRef: {kind: ClusterIssuer, name: self}, secretName: o}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: v, annotations: {cert-manager.io/inject-ca-from: kubeflow/serving-cert}}\nwebhooks: [{name: a, clientConfig: {service: {name: svc, namespace: kubeflow}}}, {name: b, clientConfig: {service: {name: svc, namespace: kubeflow}}}]";

    #[test]
    fn finds_self_signed_certificates_only() {
        let d = docs(UPSTREAM);
        let certs = WebhookCerts::of(everywhere(&d));
        assert_eq!(certs.certs.len(), 1, "{certs:?}");
        let c = &certs.certs[0];
        assert_eq!(
            (c.certificate.as_str(), c.secret.as_str(), c.issuer.as_str()),
            ("serving-cert", "svc-cert", "self")
        );
        assert_eq!(c.dns_names.len(), 2);
        let replaced: Vec<bool> = d.iter().map(|x| certs.replaced(x)).collect();
        assert_eq!(replaced, [true, true, false, false]);
        assert_eq!(
            certs.injected_into(&d[3]).map(|c| c.certificate.as_str()),
            Some("serving-cert")
        );
        assert!(certs.injected_into(&d[1]).is_none());
    }

    #[test]
    fn client_configs_of_every_webhook_and_conversion() {
        let mut d = docs(UPSTREAM);
        assert_eq!(client_configs(&mut d[3]).len(), 2);
        let mut crd: Value = serde_yaml::from_str("kind: CustomResourceDefinition\nspec: {conversion: {strategy: Webhook, webhook: {clientConfig: {service: {name: s}}}}}").unwrap();
        assert_eq!(client_configs(&mut crd).len(), 1);
        assert!(client_configs(&mut d[0]).is_empty());
    }

    #[test]
    fn secret_clash_is_found() {
        let d = docs(UPSTREAM);
        let certs = WebhookCerts::of(everywhere(&d));
        let s: Value =
            serde_yaml::from_str("kind: Secret\nmetadata: {name: svc-cert, namespace: kubeflow}")
                .unwrap();
        assert!(certs
            .secret_clash([(&s, ALL.as_slice())].into_iter())
            .is_some());
        let other = vec!["other".to_string()];
        assert!(certs
            .secret_clash([(&s, other.as_slice())].into_iter())
            .is_none());
        assert!(certs.secret_clash(everywhere(&d)).is_none());
    }
}
