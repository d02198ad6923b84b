//! The Kubeflow Istio gateway served from values (catalog `gatewayServers`,
//! docs/values.md#gateway-hosts-and-tls): the chart that renders the Gateway
//! renders its hosts, an HTTPS server, the HTTP-to-HTTPS redirect and a
//! cert-manager `Certificate` for its Secret from `global.gateway.*` (the same
//! names the umbrella sets, which Helm hands every subchart).
//!
//! The Gateway and the Certificate are custom resources, sequenced like every
//! other (crate::sequencing: Helm hooks), so this must be chart templates: Helm 3
//! never post-renders hooks. With the defaults the Gateway renders upstream's
//! servers (the sync checks upstream has one plain-HTTP server for `*`).

use anyhow::{bail, Result};
use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::fields::{Tokens, ValueSpec};

/// `gatewayServers` of a catalog component.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewaySpec {
    /// The Istio Gateway (in the chart's rendered objects).
    pub name: String,
    /// Where the ingress gateway pods run: Istio reads the HTTPS server's
    /// Secret there, so the Certificate stores it there.
    pub secret_namespace: String,
}

const HOST_PATTERN: &str = r"^(([*.]|[a-z0-9]([-a-z0-9]*[a-z0-9])?)/)?(\*|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$";

impl GatewaySpec {
    /// The values (under `global.gateway`), documented and typed.
    pub fn values(&self) -> Vec<ValueSpec> {
        let (gw, ns) = (&self.name, &self.secret_namespace);
        let spec = |path: &str, kind: &str, default: Value, description: String, schema| {
            let mut m = Mapping::new();
            m.insert("path".into(), format!("global.gateway.{path}").into());
            m.insert("type".into(), kind.into());
            m.insert("default".into(), default);
            m.insert("description".into(), description.into());
            let mut v: ValueSpec = serde_yaml::from_value(Value::Mapping(m)).expect("well-formed");
            v.schema = schema;
            v
        };
        vec![
            spec(
                "hosts",
                "array",
                Value::Sequence(vec!["*".into()]),
                format!("Hosts the Kubeflow gateway (`Gateway` `{gw}`) serves, e.g. `[kubeflow.example.com]` (optionally `namespace/` first); `[\"*\"]` (upstream): any host"),
                Some(serde_json::json!({"minItems": 1, "items": {"type": "string", "pattern": HOST_PATTERN}})),
            ),
            spec(
                "tls.enabled",
                "boolean",
                false.into(),
                "Serve HTTPS on port 443 of the ingress gateway (`tls.mode: SIMPLE`) with the certificate in `tls.secretName`, or one cert-manager issues (`tls.certManager.issuerName`). oauth2-proxy's session cookie follows it (`cookie_secure`)".into(),
                None,
            ),
            spec(
                "tls.secretName",
                "string",
                "".into(),
                format!("`kubernetes.io/tls` Secret (`tls.crt`, `tls.key`) holding the gateway's certificate, in `{ns}` (where Istio's ingress gateway reads it). Empty: `{gw}-tls` with `tls.certManager`, required without"),
                None,
            ),
            spec(
                "tls.certManager.issuerName",
                "string",
                "".into(),
                format!("Have cert-manager issue the certificate: a `Certificate` in `{ns}` for `hosts` (host names then, not `*`) from this issuer, stored in `tls.secretName`. Empty: bring your own Secret"),
                None,
            ),
            spec(
                "tls.certManager.issuerKind",
                "string",
                "ClusterIssuer".into(),
                format!("`ClusterIssuer` or `Issuer` (an `Issuer` must be in `{ns}`)"),
                Some(serde_json::json!({"enum": ["ClusterIssuer", "Issuer"]})),
            ),
            spec(
                "httpsRedirect",
                "boolean",
                Value::Null,
                "Answer plain-HTTP requests with a redirect to HTTPS. `null`: on when `tls.enabled`; `true` needs `tls.enabled`".into(),
                Some(serde_json::json!({"type": ["boolean", "null"]})),
            ),
        ]
    }

    /// Whether `doc` is this Gateway.
    fn is_gateway(&self, doc: &Value) -> bool {
        doc.get("kind").and_then(Value::as_str) == Some("Gateway")
            && doc
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("networking.istio.io/"))
            && doc
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                == Some(self.name.as_str())
    }

    /// Whether `doc` is the Certificate `certificate` builds.
    fn is_certificate(&self, doc: &Value) -> bool {
        doc.get("kind").and_then(Value::as_str) == Some("Certificate")
            && doc
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                == Some(self.default_secret().as_str())
    }

    fn default_secret(&self) -> String {
        format!("{}-tls", self.name)
    }

    /// The Certificate object (its name and spec become template expressions
    /// when rendered, `apply`).
    pub fn certificate(&self) -> Value {
        serde_yaml::to_value(serde_json::json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": self.default_secret(), "namespace": self.secret_namespace},
            "spec": {},
        }))
        .expect("JSON is YAML")
    }

    /// The condition the Certificate's template file renders under.
    pub fn certificate_condition(&self, chart: &str) -> String {
        format!(
            "{{{{- $gw := include \"{chart}.gateway\" $ | fromJson }}}}\n{{{{- if and $gw.tls $gw.issuerName }}}}"
        )
    }

    /// Make the Gateway's servers, and the Certificate's name and spec,
    /// template expressions of the chart's gateway helpers.
    pub fn apply(&self, chart: &str, doc: &mut Value, tokens: &mut dyn Tokens) -> Result<()> {
        if self.is_gateway(doc) {
            let Some(servers) = doc.get_mut("spec").and_then(|s| s.get_mut("servers")) else {
                bail!("Gateway {}: no spec.servers", self.name);
            };
            check_upstream_servers(servers)
                .map_err(|e| anyhow::anyhow!("Gateway {}: spec.servers: {e}", self.name))?;
            // A Go string literal inside the action: braces in it are text.
            let json = serde_json::to_string(&serde_json::to_string(servers)?)?;
            let expr = format!(
                "{{{{ include \"{chart}.gatewayServers\" (list $ (fromJsonArray {json})) }}}}"
            );
            *servers = Value::String(tokens.inline(expr));
        } else if self.is_certificate(doc) {
            let name = tokens.inline(format!(
                "{{{{ (include \"{chart}.gateway\" $ | fromJson).secretName | quote }}}}"
            ));
            let spec = tokens.inline(format!(
                "{{{{ include \"{chart}.gatewayCertificateSpec\" $ }}}}"
            ));
            doc["metadata"]["name"] = Value::String(name);
            doc["spec"] = Value::String(spec);
        }
        Ok(())
    }

    /// The chart helpers: the checked values as one dict, the servers, the
    /// Certificate's spec.
    pub fn helpers(&self, chart: &str) -> String {
        let (gw, ns) = (&self.name, &self.secret_namespace);
        format!(
            r#"{{{{/*
global.gateway.* as one dict (JSON): the hosts, whether HTTPS is served and
HTTP redirects, the Secret, the issuer and the DNS names to certify
(docs/values.md#gateway-hosts-and-tls). Inconsistent values fail, naming them.
*/}}}}
{{{{- define "{chart}.gateway" -}}}}
{{{{- $gw := (.Values.global).gateway | default dict -}}}}
{{{{- $tls := $gw.tls | default dict -}}}}
{{{{- $cm := $tls.certManager | default dict -}}}}
{{{{- $hosts := $gw.hosts | default (list "*") -}}}}
{{{{- $on := eq (toString $tls.enabled) "true" -}}}}
{{{{- $redirect := toString $gw.httpsRedirect -}}}}
{{{{- if $on -}}}}
{{{{- if not (or $tls.secretName $cm.issuerName) -}}}}
{{{{- fail "{chart}: global.gateway.tls.enabled=true needs the certificate: set global.gateway.tls.secretName (a kubernetes.io/tls Secret in {ns}) or global.gateway.tls.certManager.issuerName (cert-manager issues it)" -}}}}
{{{{- end -}}}}
{{{{- else -}}}}
{{{{- if or $tls.secretName $cm.issuerName -}}}}
{{{{- fail "{chart}: global.gateway.tls.secretName / certManager.issuerName are set but global.gateway.tls.enabled=false: set global.gateway.tls.enabled=true, or leave them empty" -}}}}
{{{{- end -}}}}
{{{{- if eq $redirect "true" -}}}}
{{{{- fail "{chart}: global.gateway.httpsRedirect=true redirects to HTTPS, which needs global.gateway.tls.enabled=true (TLS terminated in front of the gateway reaches it as plain HTTP, and would loop)" -}}}}
{{{{- end -}}}}
{{{{- end -}}}}
{{{{- $dnsNames := list -}}}}
{{{{- range $hosts -}}}}
{{{{- $name := regexReplaceAll "^[^/]*/" . "" -}}}}
{{{{- if and $on $cm.issuerName (eq $name "*") -}}}}
{{{{- fail (printf "{chart}: global.gateway.tls.certManager needs the host names to certify: set global.gateway.hosts (e.g. {{kubeflow.example.com}}); it is %s" (toJson $hosts)) -}}}}
{{{{- end -}}}}
{{{{- $dnsNames = append $dnsNames $name -}}}}
{{{{- end -}}}}
{{{{- $redirectOn := ternary $on (eq $redirect "true") (kindIs "invalid" $gw.httpsRedirect) -}}}}
{{{{- toJson (dict "hosts" $hosts "tls" $on "redirect" $redirectOn "secretName" ($tls.secretName | default "{gw}-tls") "issuerName" ($cm.issuerName | default "") "issuerKind" ($cm.issuerKind | default "ClusterIssuer") "dnsNames" (uniq $dnsNames)) -}}}}
{{{{- end -}}}}

{{{{/*
The Gateway's servers (JSON) from (list $ <upstream's servers>): the HTTP
servers serve the hosts (and redirect), an HTTPS server on 443 reads the
Secret.
*/}}}}
{{{{- define "{chart}.gatewayServers" -}}}}
{{{{- $gw := include "{chart}.gateway" (index . 0) | fromJson -}}}}
{{{{- $servers := list -}}}}
{{{{- range index . 1 -}}}}
{{{{- $s := deepCopy . -}}}}
{{{{- if eq (lower (toString .port.protocol)) "http" -}}}}
{{{{- $_ := set $s "hosts" $gw.hosts -}}}}
{{{{- if $gw.redirect -}}}}
{{{{- $_ := set $s "tls" (dict "httpsRedirect" true) -}}}}
{{{{- end -}}}}
{{{{- end -}}}}
{{{{- $servers = append $servers $s -}}}}
{{{{- end -}}}}
{{{{- if $gw.tls -}}}}
{{{{- $servers = append $servers (dict "hosts" $gw.hosts "port" (dict "name" "https" "number" 443 "protocol" "HTTPS") "tls" (dict "mode" "SIMPLE" "credentialName" $gw.secretName)) -}}}}
{{{{- end -}}}}
{{{{- toJson $servers -}}}}
{{{{- end -}}}}

{{{{/* The gateway Certificate's spec (JSON): cert-manager issues the Secret. */}}}}
{{{{- define "{chart}.gatewayCertificateSpec" -}}}}
{{{{- $gw := include "{chart}.gateway" . | fromJson -}}}}
{{{{- toJson (dict "secretName" $gw.secretName "dnsNames" $gw.dnsNames "issuerRef" (dict "group" "cert-manager.io" "kind" $gw.issuerKind "name" $gw.issuerName)) -}}}}
{{{{- end -}}}}
"#
        )
    }
}

/// Upstream's servers, which the defaults must reproduce: HTTP servers serve
/// `*` without TLS settings, none listens on 443.
fn check_upstream_servers(servers: &Value) -> Result<()> {
    let Some(list) = servers.as_sequence() else {
        bail!("not a list");
    };
    let mut http = 0;
    for s in list {
        let port = s.get("port");
        if port.and_then(|p| p.get("number")).and_then(Value::as_u64) == Some(443) {
            bail!("upstream already listens on 443");
        }
        let protocol = port.and_then(|p| p.get("protocol")).and_then(Value::as_str);
        if protocol.is_some_and(|p| p.eq_ignore_ascii_case("http")) {
            http += 1;
            if s.get("hosts") != Some(&Value::Sequence(vec!["*".into()])) || s.get("tls").is_some()
            {
                bail!("an HTTP server that does not serve `*` without tls (the default global.gateway.hosts would change it)");
            }
        }
    }
    if http == 0 {
        bail!("no HTTP server to take the hosts from");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_servers_must_be_what_the_defaults_render() {
        for (servers, ok) in [
            (
                "[{hosts: ['*'], port: {name: http, number: 80, protocol: HTTP}}]",
                true,
            ),
            (
                "[{hosts: [a.example], port: {number: 80, protocol: HTTP}}]",
                false,
            ),
            (
                "[{hosts: ['*'], port: {number: 80, protocol: HTTP}, tls: {httpsRedirect: true}}]",
                false,
            ),
            (
                "[{hosts: ['*'], port: {number: 443, protocol: HTTPS}}]",
                false,
            ),
            ("[]", false),
        ] {
            let v: Value = serde_yaml::from_str(servers).unwrap();
            assert_eq!(check_upstream_servers(&v).is_ok(), ok, "{servers}");
        }
    }

    #[test]
    fn values_are_under_global_gateway_and_typed() {
        let g = GatewaySpec {
            name: "kubeflow-gateway".into(),
            secret_namespace: "istio-system".into(),
        };
        let v = g.values();
        let paths: Vec<&str> = v.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "global.gateway.hosts",
                "global.gateway.tls.enabled",
                "global.gateway.tls.secretName",
                "global.gateway.tls.certManager.issuerName",
                "global.gateway.tls.certManager.issuerKind",
                "global.gateway.httpsRedirect"
            ]
        );
        let mut props = serde_json::Map::new();
        crate::fields::schema(&v, &mut props);
        let gw = &props["global"]["properties"]["gateway"];
        assert_eq!(
            gw["properties"]["httpsRedirect"]["type"],
            serde_json::json!(["boolean", "null"])
        );
        assert_eq!(gw["properties"]["hosts"]["items"]["pattern"], HOST_PATTERN);
    }
}
