//! Finding related objects in the stream: a Service, the workloads behind
//! it, the container port behind a service port, the Services webhooks
//! call, and whether an object a transform would generate already exists.

use serde_yaml::Value;

use crate::document::Document;
use crate::error::{Error, Result};
use crate::names;
use crate::pods;

/// Index of the core Service `name` (in `namespace` when given). A Service
/// written without a namespace goes to the release namespace, which may be
/// the one asked for: it is found when no Service has that namespace.
pub fn find_service(docs: &[Document], name: &str, namespace: Option<&str>) -> Option<usize> {
    let named = |d: &Document| {
        d.kind() == Some("Service") && d.group().is_empty() && d.name() == Some(name)
    };
    docs.iter()
        .position(|d| named(d) && (namespace.is_none() || d.namespace() == namespace))
        .or_else(|| {
            docs.iter()
                .position(|d| named(d) && d.namespace().is_none())
        })
}

/// The Service's `spec.selector`, when it is a non-empty mapping.
pub fn selector(service: &Document) -> Option<&serde_yaml::Mapping> {
    service
        .value()
        .get("spec")
        .and_then(|s| s.get("selector"))
        .and_then(Value::as_mapping)
        .filter(|m| !m.is_empty())
}

/// Workloads in the Service's namespace (both without one: the release
/// namespace) whose pod labels match its selector.
pub fn backing_workloads(docs: &[Document], svc: usize) -> Vec<usize> {
    let service = &docs[svc];
    let Some(selector) = selector(service) else {
        return Vec::new();
    };
    docs.iter()
        .enumerate()
        .filter(|(_, d)| d.namespace() == service.namespace())
        .filter_map(|(i, d)| {
            let labels = pods::labels(d.value())?;
            selector
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
                .then_some(i)
        })
        .collect()
}

/// The container port a Service port leads to in `workload` (named target
/// ports are looked up in the containers' `ports`).
pub fn target_port(service: &Document, port: i64, workload: &Document) -> Result<Option<u16>> {
    let ports = service
        .value()
        .get("spec")
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_sequence);
    let Some(entry) = ports.and_then(|ps| {
        ps.iter()
            .find(|p| p.get("port").and_then(Value::as_i64) == Some(port))
    }) else {
        return Ok(None);
    };
    let bad = |message: String| Error::Field {
        doc: service.doc_ref(),
        field: format!("spec.ports[port={port}].targetPort"),
        message,
    };
    let target = match entry.get("targetPort") {
        Some(t) => t,
        None => return Ok(u16::try_from(port).ok()),
    };
    match target {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(format!("{n} is not a port number"))),
        Value::String(name) => {
            if let Ok(n) = name.parse::<u16>() {
                return Ok(Some(n));
            }
            let found = pods::template(workload.value())
                .and_then(|t| t.get("spec"))
                .and_then(|s| s.get("containers"))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("ports").and_then(Value::as_sequence))
                .flatten()
                .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
                .and_then(|p| p.get("containerPort").and_then(Value::as_u64))
                .and_then(|n| u16::try_from(n).ok());
            Ok(found)
        }
        other => Err(bad(format!(
            "expected a port number or name, got {}",
            crate::stream::value_kind(other)
        ))),
    }
}

/// The host name Istio objects use for a Service: fully qualified when the
/// namespace is known, else the short name, which Istio resolves in the
/// namespace of the rule — the release namespace, where the Service is too,
/// since both are written without a namespace. Names that are not DNS labels
/// are refused.
pub fn service_host(svc: &Document, service: &str, ns: Option<&str>) -> Result<String> {
    let bad = |field: &str, message: String| Error::Field {
        doc: svc.doc_ref(),
        field: field.into(),
        message,
    };
    names::dns_label(service).map_err(|e| bad("metadata.name", e))?;
    match ns {
        Some(ns) => {
            names::dns_label(ns).map_err(|e| bad("metadata.namespace", e))?;
            Ok(format!("{service}.{ns}.svc.cluster.local"))
        }
        None => Ok(service.to_owned()),
    }
}

/// Whether an object of `kind` named `name` is already in the stream, so a
/// generated one would duplicate it (this keeps kf-post idempotent).
pub fn exists(docs: &[Document], kind: &str, namespace: Option<&str>, name: &str) -> bool {
    docs.iter()
        .any(|d| d.kind() == Some(kind) && d.name() == Some(name) && d.namespace() == namespace)
}

/// A service a webhook (admission or CRD conversion) calls.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WebhookService {
    pub name: String,
    pub namespace: String,
    /// Service port (the API default is 443).
    pub port: i64,
}

/// The `clientConfig.service` entries of one webhook-bearing document:
/// admission webhook configurations and CRDs with a conversion webhook.
/// A service name or namespace that is not a DNS label is an error (the
/// transforms build host names and object names from them).
pub fn webhook_services_of(doc: &Document) -> Result<Vec<WebhookService>> {
    let v = doc.value();
    let configs: Vec<(String, &Value)> = match doc.kind() {
        Some("ValidatingWebhookConfiguration") | Some("MutatingWebhookConfiguration") => v
            .get("webhooks")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, w)| {
                Some((
                    format!("webhooks[{i}].clientConfig"),
                    w.get("clientConfig")?,
                ))
            })
            .collect(),
        Some("CustomResourceDefinition") => v
            .get("spec")
            .and_then(|s| s.get("conversion"))
            .and_then(|c| c.get("webhook"))
            .and_then(|w| w.get("clientConfig"))
            .map(|cc| ("spec.conversion.webhook.clientConfig".to_owned(), cc))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (field, cc) in configs {
        let Some(s) = cc.get("service") else { continue };
        let (Some(name), Some(namespace)) = (
            s.get("name").and_then(Value::as_str),
            s.get("namespace").and_then(Value::as_str),
        ) else {
            continue;
        };
        for (key, value) in [("name", name), ("namespace", namespace)] {
            names::dns_label(value).map_err(|message| Error::Field {
                doc: doc.doc_ref(),
                field: format!("{field}.service.{key}"),
                message,
            })?;
        }
        out.push(WebhookService {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            port: s.get("port").and_then(Value::as_i64).unwrap_or(443),
        });
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Every webhook service of the stream, sorted, without duplicates.
pub fn webhook_services(docs: &[Document]) -> Result<Vec<WebhookService>> {
    let mut all = Vec::new();
    for d in docs {
        all.extend(webhook_services_of(d)?);
    }
    all.sort();
    all.dedup();
    Ok(all)
}
