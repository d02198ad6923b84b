//! `certificates`: gives webhooks that have no CA wiring a cert-manager
//! certificate, the way upstream's cert-manager overlays do (admission-webhook
//! `overlays/cert-manager`, katib `installs/katib-cert-manager`).
//!
//! A webhook configuration (Validating/Mutating) or a CRD with a conversion
//! webhook is "unwired" when it calls a `clientConfig.service`, has no
//! non-empty `caBundle` and no `cert-manager.io/inject-ca-from*` annotation.
//! For each Service such objects call, this generates a self-signed `Issuer`
//! and a `Certificate` (`commonName`/`dnsNames` `<svc>.<ns>.svc[.cluster.local]`,
//! `isCA: true`, `secretName` = the secret volume the Deployment behind the
//! Service mounts) and annotates the objects with
//! `cert-manager.io/inject-ca-from: <ns>/<certificate>`.
//!
//! Wiring is opt-in per Service, because many webhook servers manage their own
//! `caBundle` at runtime (istiod, Knative's webhooks, the Trainer, JobSet and
//! Spark operators in upstream's platform): cert-manager's cainjector would
//! fight them over the field and admission would fail intermittently. An
//! unwired object is wired when its Service is listed under `services`, when
//! the object carries `kf-post.kubeflow.org/certificates: "true"` (how a
//! third-party chart opts in), or when `allUnwired: true`;
//! `kf-post.kubeflow.org/certificates: "false"` or `exclude` always opts out.
//!
//! A Secret of that name rendered with no data (a placeholder some charts ship
//! for an in-process cert generator) is removed, since Helm would empty the
//! certificate cert-manager writes into it on every upgrade; the Certificate's
//! `--explain` entry says so.
//!
//! Configuration reference (every field, its type, default and an example):
//! the `certificates` section of docs/kf-post.md; schema:
//! post-renderer/schema/postrenderconfig.schema.json.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::builders;
use crate::document::Document;
use crate::error::{Error, Result};
use crate::lookup::{backing_workloads, exists, find_service, webhook_services_of, WebhookService};
use crate::names;
use crate::pods;
use crate::transforms::Filter;

const NAME: &str = "certificates";
const INJECT_CA: &str = "cert-manager.io/inject-ca-from";
const OPT_IN: &str = crate::annotations::CERTIFICATES.key;

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "CertificatesConfig")]
pub struct Config {
    #[serde(default)]
    pub enabled: bool,
    /// Wire every unwired object, not only listed or annotated ones.
    #[serde(default)]
    pub all_unwired: bool,
    /// Names of webhook configurations / CRDs to leave unwired.
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub services: BTreeMap<String, ServiceCert>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceCert {
    #[serde(default)]
    pub certificate: Option<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub secret_name: Option<String>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

/// What one webhook Service gets.
struct Plan {
    service: WebhookService,
    certificate: String,
    issuer: String,
    secret: String,
    labels: Option<Value>,
    notes: Vec<String>,
}

impl Filter for Config {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, mut docs: Vec<Document>) -> Result<Vec<Document>> {
        if !self.enabled {
            return Ok(docs);
        }
        // Which unwired objects call which Service.
        let mut targets: Vec<(usize, WebhookService)> = Vec::new();
        for (i, doc) in docs.iter().enumerate() {
            let services = webhook_services_of(doc)?;
            if services.is_empty()
                || self.exclude.iter().any(|e| Some(e.as_str()) == doc.name())
                || is_wired(doc)
            {
                continue;
            }
            let opted_in = match doc.annotation(OPT_IN) {
                Some("true") => true,
                Some("false") => false,
                None => self.all_unwired || services.iter().any(|s| self.overrides(s).is_some()),
                Some(other) => {
                    return Err(Error::Field {
                        doc: doc.doc_ref(),
                        field: format!("metadata.annotations.{OPT_IN}"),
                        message: format!("expected \"true\" or \"false\", got {other:?}"),
                    })
                }
            };
            if !opted_in {
                continue;
            }
            let mut distinct: Vec<(&str, &str)> = services
                .iter()
                .map(|s| (s.name.as_str(), s.namespace.as_str()))
                .collect();
            distinct.dedup();
            if distinct.len() > 1 {
                return Err(Error::Field {
                    doc: doc.doc_ref(),
                    field: "webhooks[].clientConfig.service".into(),
                    message: format!(
                        "calls {} different services, but cert-manager injects one CA per \
                         object; wire it yourself and list it in certificates.exclude",
                        distinct.len()
                    ),
                });
            }
            targets.push((i, services[0].clone()));
        }
        let mut plans: Vec<Plan> = Vec::new();
        for (_, svc) in &targets {
            if !plans
                .iter()
                .any(|p| p.service.name == svc.name && p.service.namespace == svc.namespace)
            {
                plans.push(self.plan(&docs, svc)?);
            }
        }
        for (i, svc) in &targets {
            let plan = plans
                .iter()
                .find(|p| p.service.name == svc.name && p.service.namespace == svc.namespace)
                .expect("planned above");
            docs[*i].set_annotation(
                NAME,
                INJECT_CA,
                &format!("{}/{}", plan.service.namespace, plan.certificate),
            );
        }
        let mut generated = Vec::new();
        for mut plan in plans {
            let ns = plan.service.namespace.clone();
            // A data-less Secret of the same name would be emptied by Helm on
            // every upgrade, wiping the certificate cert-manager stores in it.
            let before = docs.len();
            docs.retain(|d| !is_placeholder_secret(d, &ns, &plan.secret));
            if docs.len() != before {
                plan.notes.push(format!(
                    "removed the empty placeholder Secret {ns}/{} from the stream \
                     (cert-manager owns it now)",
                    plan.secret
                ));
            }
            if !exists(&docs, "Issuer", Some(&ns), &plan.issuer)
                && !generated.iter().any(|d: &Document| {
                    d.kind() == Some("Issuer")
                        && d.name() == Some(&plan.issuer)
                        && d.namespace() == Some(&ns)
                })
            {
                generated.push(Document::generated(
                    issuer(&plan),
                    NAME,
                    format!(
                        "self-signed Issuer {ns}/{} for webhook certificates",
                        plan.issuer
                    ),
                ));
            }
            if !exists(&docs, "Certificate", Some(&ns), &plan.certificate) {
                let mut why = format!(
                    "Certificate {ns}/{} for webhook service {}, stored in Secret {}",
                    plan.certificate, plan.service.name, plan.secret
                );
                for n in &plan.notes {
                    why.push_str("; ");
                    why.push_str(n);
                }
                generated.push(Document::generated(certificate(&plan), NAME, why));
            }
        }
        docs.extend(generated);
        Ok(docs)
    }
}

impl Config {
    fn overrides(&self, svc: &WebhookService) -> Option<&ServiceCert> {
        self.services
            .get(&format!("{}/{}", svc.namespace, svc.name))
            .or_else(|| self.services.get(&svc.name))
    }

    fn plan(&self, docs: &[Document], svc: &WebhookService) -> Result<Plan> {
        let overrides = self.overrides(svc).cloned().unwrap_or_default();
        let service_doc = find_service(docs, &svc.name, Some(&svc.namespace));
        let mut notes = Vec::new();
        let secret = match overrides.secret_name {
            Some(s) => s,
            None => match mounted_secret(docs, service_doc)? {
                Some(s) => s,
                None => {
                    let s = format!("{}-webhook-cert", svc.name);
                    notes.push(format!(
                        "no workload in the stream behind service {}/{} mounts a secret; \
                         using {s:?}, which the webhook server must mount",
                        svc.namespace, svc.name
                    ));
                    s
                }
            },
        };
        let labels = match overrides.labels {
            Some(l) => Some(Value::Mapping(
                l.into_iter()
                    .map(|(k, v)| (Value::from(k), Value::from(v)))
                    .collect(),
            )),
            None => {
                service_doc.and_then(|i| docs[i].value().get("metadata")?.get("labels").cloned())
            }
        };
        let plan = Plan {
            certificate: overrides.certificate.unwrap_or_else(|| secret.clone()),
            issuer: overrides
                .issuer
                .unwrap_or_else(|| format!("{}-selfsigned-issuer", svc.name)),
            secret,
            labels,
            notes,
            service: svc.clone(),
        };
        for (what, name) in [
            ("certificate", &plan.certificate),
            ("issuer", &plan.issuer),
            ("secretName", &plan.secret),
        ] {
            names::dns_subdomain(name).map_err(|e| {
                Error::Config(format!(
                    "certificates.services.{}.{what} (webhook service {}/{}): {e}",
                    svc.name, svc.namespace, svc.name
                ))
            })?;
        }
        Ok(plan)
    }
}

fn is_wired(doc: &Document) -> bool {
    let annotated = doc
        .value()
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_mapping)
        .is_some_and(|a| {
            a.keys()
                .filter_map(Value::as_str)
                .any(|k| k.starts_with(INJECT_CA) || k == "cert-manager.io/inject-apiserver-ca")
        });
    let has_ca = |cc: Option<&Value>| {
        cc.and_then(|c| c.get("caBundle"))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    let ca = match doc.kind() {
        Some("CustomResourceDefinition") => has_ca(
            doc.value()
                .get("spec")
                .and_then(|s| s.get("conversion"))
                .and_then(|c| c.get("webhook"))
                .and_then(|w| w.get("clientConfig")),
        ),
        _ => doc
            .value()
            .get("webhooks")
            .and_then(Value::as_sequence)
            .is_some_and(|ws| ws.iter().any(|w| has_ca(w.get("clientConfig")))),
    };
    annotated || ca
}

/// The secret volume the workloads behind the Service mount: the only one,
/// or the only one whose volume or secret name mentions a certificate.
fn mounted_secret(docs: &[Document], service: Option<usize>) -> Result<Option<String>> {
    let Some(svc) = service else { return Ok(None) };
    for w in backing_workloads(docs, svc) {
        let volumes: Vec<(String, String)> = pods::template(docs[w].value())
            .and_then(|t| t.get("spec"))
            .and_then(|s| s.get("volumes"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|v| {
                let secret = v.get("secret")?.get("secretName")?.as_str()?;
                let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
                Some((name.to_owned(), secret.to_owned()))
            })
            .collect();
        let chosen: Vec<&(String, String)> = if volumes.len() == 1 {
            volumes.iter().collect()
        } else {
            volumes
                .iter()
                .filter(|(n, s)| {
                    [n, s]
                        .iter()
                        .any(|x| x.contains("cert") || x.contains("tls"))
                })
                .collect()
        };
        match chosen.as_slice() {
            [] if volumes.is_empty() => continue,
            [(_, secret)] => return Ok(Some(secret.clone())),
            _ => {
                return Err(Error::Field {
                    doc: docs[w].doc_ref(),
                    field: "spec.template.spec.volumes".into(),
                    message: format!(
                        "cannot tell which of the secret volumes {:?} holds the webhook \
                         certificate; set certificates.services.<service>.secretName",
                        volumes.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>()
                    ),
                })
            }
        }
    }
    Ok(None)
}

fn is_placeholder_secret(doc: &Document, ns: &str, name: &str) -> bool {
    let empty = |k: &str| {
        doc.value()
            .get(k)
            .is_none_or(|v| v.is_null() || v.as_mapping().is_some_and(Mapping::is_empty))
    };
    doc.kind() == Some("Secret")
        && doc.group().is_empty()
        && doc.name() == Some(name)
        && doc.namespace() == Some(ns)
        && empty("data")
        && empty("stringData")
}

fn object(plan: &Plan, kind: &str, name: &str, spec: Value) -> Value {
    let labels = plan.labels.as_ref().and_then(Value::as_mapping);
    builders::object(
        "cert-manager.io/v1",
        kind,
        builders::metadata(name, Some(&plan.service.namespace), labels),
        Some(spec),
    )
}

fn issuer(plan: &Plan) -> Value {
    let spec = builders::map([("selfSigned", builders::map([]))]);
    object(plan, "Issuer", &plan.issuer, spec)
}

fn certificate(plan: &Plan) -> Value {
    let host = format!("{}.{}.svc", plan.service.name, plan.service.namespace);
    let spec = builders::map([
        ("commonName", host.as_str().into()),
        (
            "dnsNames",
            builders::strings([host.clone(), format!("{host}.cluster.local")]),
        ),
        ("isCA", true.into()),
        (
            "issuerRef",
            builders::map([
                ("kind", "Issuer".into()),
                ("name", plan.issuer.as_str().into()),
            ]),
        ),
        ("secretName", plan.secret.as_str().into()),
    ]);
    object(plan, "Certificate", &plan.certificate, spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::transforms::{run_config, test_docs as docs};

    fn run(cfg: &str, stream: &str) -> Result<Vec<Document>> {
        run_config::<Config>(cfg, docs(stream))
    }

    fn str_at<'a>(d: &'a Document, path: &[&str]) -> Option<&'a str> {
        path.iter()
            .try_fold(d.value(), |v, k| match k.parse::<usize>() {
                Ok(i) => v.get(i),
                Err(_) => v.get(*k),
            })?
            .as_str()
    }

    const STREAM: &str = "\
apiVersion: v1
kind: Service
metadata: {name: hook, namespace: kf, labels: {app: hook}}
spec: {selector: {app: hook}, ports: [{port: 443, targetPort: 4443}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: hook, namespace: kf}
spec:
  template:
    metadata: {labels: {app: hook}}
    spec:
      containers: [{name: c}]
      volumes:
      - {name: config, configMap: {name: cfg}}
      - {name: cert, secret: {secretName: hook-certs}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: m}
webhooks:
- name: a
  clientConfig: {caBundle: \"\", service: {name: hook, namespace: kf, path: /a}}
- name: b
  clientConfig: {service: {name: hook, namespace: kf, path: /b}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: wired}
webhooks:
- name: a
  clientConfig: {caBundle: Zm9v, service: {name: hook, namespace: kf}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
spec:
  conversion:
    strategy: Webhook
    webhook: {clientConfig: {service: {name: hook, namespace: kf, path: /convert}}}
---
apiVersion: v1
kind: Secret
metadata: {name: hook-certs, namespace: kf}
type: Opaque
data: {}
";

    #[test]
    fn wiring() {
        let out = run("{enabled: true, allUnwired: true}", STREAM).unwrap();
        let kinds: Vec<&str> = out.iter().map(|d| d.kind().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "Service",
                "Deployment",
                "MutatingWebhookConfiguration",
                "ValidatingWebhookConfiguration",
                "CustomResourceDefinition",
                "Issuer",
                "Certificate"
            ],
            "placeholder Secret removed, Issuer + Certificate appended"
        );
        // (document, path, expected)
        let cases: &[(usize, &[&str], Option<&str>)] = &[
            (
                2,
                &["metadata", "annotations", INJECT_CA],
                Some("kf/hook-certs"),
            ),
            (3, &["metadata", "annotations"], None),
            (
                4,
                &["metadata", "annotations", INJECT_CA],
                Some("kf/hook-certs"),
            ),
            (5, &["metadata", "name"], Some("hook-selfsigned-issuer")),
            (5, &["metadata", "labels", "app"], Some("hook")),
            (6, &["spec", "secretName"], Some("hook-certs")),
            (6, &["spec", "commonName"], Some("hook.kf.svc")),
            (
                6,
                &["spec", "dnsNames", "1"],
                Some("hook.kf.svc.cluster.local"),
            ),
            (
                6,
                &["spec", "issuerRef", "name"],
                Some("hook-selfsigned-issuer"),
            ),
        ];
        for (idx, path, want) in cases {
            let got = str_at(&out[*idx], path);
            assert_eq!(got, *want, "document {idx} {path:?}");
        }
        assert!(out[6].changes()[0]
            .what
            .contains("removed the empty placeholder Secret kf/hook-certs"));
    }

    #[test]
    fn overrides_and_fallbacks() {
        let cfg = "{enabled: true, services: {kf/hook: {certificate: c, issuer: i, secretName: s, labels: {x: y}}}}";
        let out = run(cfg, STREAM).unwrap();
        let cert = out
            .iter()
            .find(|d| d.kind() == Some("Certificate"))
            .unwrap();
        assert_eq!(cert.name(), Some("c"));
        assert_eq!(str_at(cert, &["spec", "secretName"]), Some("s"));
        assert_eq!(cert.label("x"), Some("y"));
        assert_eq!(
            str_at(&out[2], &["metadata", "annotations", INJECT_CA]),
            Some("kf/c")
        );
        // The placeholder Secret of another name stays.
        assert!(out.iter().any(|d| d.kind() == Some("Secret")));

        // No workload mounts a secret: deterministic name, explained.
        let stream = STREAM.replace(
            "      - {name: cert, secret: {secretName: hook-certs}}\n",
            "",
        );
        let out = run("{enabled: true, allUnwired: true}", &stream).unwrap();
        let cert = out
            .iter()
            .find(|d| d.kind() == Some("Certificate"))
            .unwrap();
        assert_eq!(
            str_at(cert, &["spec", "secretName"]),
            Some("hook-webhook-cert")
        );
        assert!(cert.changes()[0].what.contains("mounts a secret"));

        // Excluded objects are left alone.
        let out = run(
            "{enabled: true, allUnwired: true, exclude: [m, things.example.com]}",
            STREAM,
        )
        .unwrap();
        assert!(out.iter().all(|d| d.kind() != Some("Certificate")));
    }

    #[test]
    fn opt_in() {
        // (config, annotation on the MutatingWebhookConfiguration, wired?)
        let cases: &[(&str, Option<&str>, bool)] = &[
            ("enabled: true", None, false),
            ("{enabled: true, services: {hook: {}}}", None, true),
            ("{enabled: true, services: {other/hook: {}}}", None, false),
            ("enabled: true", Some("\"true\""), true),
            (
                "{enabled: true, allUnwired: true}",
                Some("\"false\""),
                false,
            ),
            (
                "{enabled: false, allUnwired: true}",
                Some("\"true\""),
                false,
            ),
        ];
        for (cfg, ann, wired) in cases {
            let stream = match ann {
                Some(a) => STREAM.replace(
                    "metadata: {name: m}",
                    &format!("metadata: {{name: m, annotations: {{{OPT_IN}: {a}}}}}"),
                ),
                None => STREAM.to_owned(),
            };
            let out = run(cfg, &stream).unwrap();
            let got = out[2].annotation(INJECT_CA).is_some();
            assert_eq!(got, *wired, "{cfg} / {ann:?}");
        }
        let bad = STREAM.replace(
            "metadata: {name: m}",
            &format!("metadata: {{name: m, annotations: {{{OPT_IN}: maybe}}}}"),
        );
        let err = run("enabled: true", &bad).unwrap_err().to_string();
        assert!(err.contains("document 2") && err.contains(OPT_IN), "{err}");
    }

    #[test]
    fn errors() {
        let two = STREAM.replace(
            "  clientConfig: {service: {name: hook, namespace: kf, path: /b}}",
            "  clientConfig: {service: {name: other, namespace: kf, path: /b}}",
        );
        let err = run("{enabled: true, allUnwired: true}", &two)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("document 2") && err.contains("2 different services"),
            "{err}"
        );
        let ambiguous = STREAM.replace(
            "      - {name: config, configMap: {name: cfg}}",
            "      - {name: tls, secret: {secretName: other-tls}}",
        );
        let err = run("{enabled: true, allUnwired: true}", &ambiguous)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("document 1") && err.contains("spec.template.spec.volumes"),
            "{err}"
        );
        assert!(serde_yaml::from_str::<Config>("{enabled: true, service: {}}").is_err());
    }

    #[test]
    fn noop_and_idempotent() {
        let out = run("{}", STREAM).unwrap();
        assert_eq!(out.len(), 6);
        assert!(out.iter().all(|d| !d.is_touched()));
        let cfg: Config = serde_yaml::from_str("{enabled: true, allUnwired: true}").unwrap();
        let mut once = cfg.filter(docs(STREAM)).unwrap();
        once.iter_mut().for_each(|d| d.forget_changes());
        let twice = cfg.filter(once.clone()).unwrap();
        assert_eq!(once.len(), twice.len());
        assert!(twice.iter().all(|d| !d.is_touched()));
    }
}
