//! `doctor`: checks umbrella values for what would fail the render, what is
//! inconsistent, and what is insecure. Every finding names the value to change.

use serde::Serialize;
use serde_yaml::Value;

use crate::catalog::Catalog;
use crate::values::{self, Values};
use crate::variants;

/// bcrypt hash of upstream's demo password `12341234` (common/dex/base config).
pub const DEMO_PASSWORD_HASH: &str = "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The value to change (dotted path).
    pub value: String,
    pub message: String,
    pub fix: String,
}

fn finding(
    severity: Severity,
    value: impl Into<String>,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        severity,
        value: value.into(),
        message: message.into(),
        fix: fix.into(),
    }
}

pub fn check(catalog: &Catalog, values: &Values) -> Vec<Finding> {
    let mut out = Vec::new();
    unknown_keys(catalog, values, &mut out);
    dependencies(catalog, values, &mut out);
    chart_variants(catalog, values, &mut out);
    auth(catalog, values, &mut out);
    istio(catalog, values, &mut out);
    profiles(values, &mut out);
    out.sort_by_key(|f| f.severity);
    out
}

/// A typo such as `katb: {enabled: true}` is silently ignored by Helm.
fn unknown_keys(catalog: &Catalog, values: &Values, out: &mut Vec<Finding>) {
    for key in values.user.keys() {
        let Some(key) = key.as_str() else { continue };
        if catalog.by_key(key).is_some() || ["global", "tags"].contains(&key) {
            continue;
        }
        let hint = match catalog.by_name(key) {
            Some(c) => format!("components are keyed by their umbrella key: use {}", c.key),
            None => "use a component's umbrella key (helm kubeflow components), `global` or `tags`"
                .to_string(),
        };
        out.push(finding(
            Severity::Warning,
            key,
            format!("{key} is not a value of the kubeflow chart; Helm ignores it"),
            hint,
        ));
    }
}

fn dependencies(catalog: &Catalog, values: &Values, out: &mut Vec<Finding>) {
    for c in &catalog.components {
        if !values.enabled(c) {
            continue;
        }
        let gateway = values.gateway_variant(c);
        for (dep, why) in catalog.needs(c, gateway.as_deref()) {
            if !values.present(dep) {
                let instead = match variants::meshed(&c.key) {
                    Some(m) if gateway.is_some() && !c.requires.contains(&dep.name) => format!(
                        "set {}.variant={} (upstream's variant without the gateway)",
                        c.key, m.standalone
                    ),
                    _ => format!("set {}.enabled=false", c.key),
                };
                out.push(finding(
                    Severity::Error,
                    format!("{}.enabled", dep.key),
                    format!("{why}, which is not enabled (the chart refuses to render)"),
                    format!(
                        "helm kubeflow enable {} (or add {:?} to global.externalComponents, or {instead})",
                        dep.name, dep.key
                    ),
                ));
            }
        }
    }
}

/// `<key>.variant`: a name the component chart's schema allows, and the
/// variant rules of the umbrella's checks.yaml (meshed variants need Istio on;
/// `istio.variant` matches `global.istio.mode`; `oauth2Proxy.variant` matches
/// `global.auth.mode`).
fn chart_variants(catalog: &Catalog, values: &Values, out: &mut Vec<Finding>) {
    let istio_on = values.istio_enabled();
    for c in &catalog.components {
        let Some(cv) = variants::chart(&c.name) else {
            continue;
        };
        let path = format!("{}.variant", c.key);
        let variant = values.variant(c);
        let enabled = values.enabled(c);
        if !cv.variants.contains(&variant.as_str()) {
            let (severity, consequence) = if enabled {
                (Severity::Error, "Helm's schema check refuses it")
            } else {
                (
                    Severity::Warning,
                    "ignored while it is disabled, refused by Helm's schema check once enabled",
                )
            };
            out.push(finding(
                severity,
                path,
                format!(
                    "{}.variant={variant} is not a variant of the {} chart ({consequence})",
                    c.key, c.name
                ),
                format!(
                    "set {}.variant to one of {} (default {})",
                    c.key,
                    cv.variants.join(", "),
                    cv.default
                ),
            ));
            continue;
        }
        if !enabled {
            continue;
        }
        if let Some(m) = variants::meshed(&c.key) {
            if !istio_on && m.meshed.contains(&variant.as_str()) {
                out.push(finding(
                    Severity::Error,
                    path.clone(),
                    format!(
                        "{}.variant={variant} renders Istio objects but global.istio.enabled=false (the chart refuses to render)",
                        c.key
                    ),
                    format!(
                        "set {}.variant={} (upstream's variant without the gateway), or global.istio.enabled=true",
                        c.key, m.standalone
                    ),
                ));
            }
        }
        if c.key == "istio" {
            let mode = values.str("global.istio.mode");
            let ambient = variants::is_ambient_istio(&variant);
            let alternatives = variants::istio_alternatives(&variant);
            let (first, rest) = match alternatives.split_first() {
                Some((first, rest)) => (first.to_string(), rest.join(", ")),
                None => (String::new(), String::new()),
            };
            let or_rest = if rest.is_empty() {
                String::new()
            } else {
                format!(" (or {rest})")
            };
            if mode == "ambient" && !ambient {
                out.push(finding(
                    Severity::Error,
                    path.clone(),
                    format!("global.istio.mode=ambient but istio.variant={variant} installs the sidecar data plane (the chart refuses to render)"),
                    format!("set istio.variant={first}{or_rest}, or global.istio.mode=sidecar"),
                ));
            } else if mode == "sidecar" && ambient {
                out.push(finding(
                    Severity::Error,
                    path.clone(),
                    format!("global.istio.mode=sidecar but istio.variant={variant} installs the ambient data plane (the chart refuses to render)"),
                    format!("set global.istio.mode=ambient, or istio.variant={first}{or_rest}"),
                ));
            }
        }
        if c.key == "oauth2Proxy" {
            let mode = values.auth_mode();
            if let Some(want) = variants::oauth2_proxy_variant(&mode) {
                if variant != want {
                    out.push(finding(
                        Severity::Error,
                        path.clone(),
                        format!("global.auth.mode={mode} needs oauth2Proxy.variant={want} (upstream's overlay for it), not {variant} (the chart refuses to render)"),
                        format!("set oauth2Proxy.variant={want}, or choose the global.auth.mode that matches {variant}"),
                    ));
                }
            }
        }
    }
}

fn auth(catalog: &Catalog, values: &Values, out: &mut Vec<Finding>) {
    let mode = values.auth_mode();
    let istio = values.istio_enabled();
    let known = ["dex-oauth2-proxy", "oidc", "m2m-kind", "m2m-eks", "none"];
    if !known.contains(&mode.as_str()) {
        out.push(finding(
            Severity::Error,
            "global.auth.mode",
            format!("unknown auth mode {mode:?}"),
            format!("one of {}", known.join(", ")),
        ));
        return;
    }
    if !istio && mode != "none" {
        out.push(finding(
            Severity::Error,
            "global.auth.mode",
            format!("global.auth.mode={mode} is enforced at the Istio gateway but global.istio.enabled=false"),
            "set global.istio.enabled=true, or global.auth.mode=none for standalone components",
        ));
    }
    if istio && mode == "none" {
        out.push(finding(
            Severity::Error,
            "global.auth.mode",
            "authentication is off while the Kubeflow gateway is exposed: anyone reaching the gateway acts as any user",
            "set global.auth.mode=dex-oauth2-proxy or oidc (or global.istio.enabled=false for standalone components)",
        ));
    }
    for dep in values.auth_needs(catalog) {
        if !values.present(dep) {
            out.push(finding(
                Severity::Error,
                format!("{}.enabled", dep.key),
                format!(
                    "global.auth.mode={mode} needs {}, which is not enabled",
                    dep.name
                ),
                format!(
                    "helm kubeflow enable {} (or choose another global.auth.mode)",
                    dep.name
                ),
            ));
        }
    }
    if mode.starts_with("m2m-") && values.str("global.auth.m2m.issuer").is_empty() {
        out.push(finding(
            Severity::Error,
            "global.auth.m2m.issuer",
            format!("global.auth.mode={mode} needs the cluster's service-account token issuer"),
            "set global.auth.m2m.issuer (presets/cluster-kind.yaml and cluster-eks.yaml show it)",
        ));
    }
    if mode == "oidc" && values.str("global.auth.oidc.issuer").is_empty() {
        out.push(finding(
            Severity::Error,
            "global.auth.oidc.issuer",
            "global.auth.mode=oidc needs the issuer URL",
            "set global.auth.oidc.issuer",
        ));
    }
    let demo_allowed = values.flag("global.auth.allowDemoCredentials");
    if ["dex-oauth2-proxy", "m2m-kind", "m2m-eks"].contains(&mode.as_str()) {
        let hash = values.str("global.auth.dex.passwordHash");
        if hash.is_empty() || hash == DEMO_PASSWORD_HASH {
            let (severity, message) = if demo_allowed {
                (
                    Severity::Warning,
                    "the Dex user logs in with upstream's demo password 12341234; acceptable only for the `full` demo preset",
                )
            } else {
                (Severity::Error, "global.auth.allowDemoCredentials=false but the Dex password is empty or the demo password (the chart refuses to render)")
            };
            out.push(finding(
                severity,
                "global.auth.dex.passwordHash",
                message,
                "set global.auth.dex.passwordHash=$(htpasswd -nbBC 12 '' PASSWORD | tr -d ':\\n') and global.auth.allowDemoCredentials=false",
            ));
        }
    }
    if mode == "oidc"
        && !demo_allowed
        && values.str("global.auth.oidc.clientSecret").is_empty()
        && values.str("global.auth.oidc.existingSecret").is_empty()
    {
        out.push(finding(
            Severity::Error,
            "global.auth.oidc.existingSecret",
            "global.auth.mode=oidc with allowDemoCredentials=false needs a client secret",
            "set global.auth.oidc.existingSecret (or clientSecret)",
        ));
    }
    if mode != "none" && values.str("global.auth.cookieSecret").is_empty() {
        out.push(finding(
            Severity::Info,
            "global.auth.cookieSecret",
            "the oauth2-proxy cookie secret is generated at install and kept by a lookup; helm template and Argo CD cannot look up",
            "for GitOps set global.auth.cookieSecret=$(openssl rand -hex 16)",
        ));
    }
}

fn istio(catalog: &Catalog, values: &Values, out: &mut Vec<Finding>) {
    let knative_enabled = catalog
        .by_name("knative-serving")
        .is_some_and(|c| values.enabled(c));
    let mode = values.str("global.istio.mode");
    if !["sidecar", "ambient"].contains(&mode.as_str()) {
        out.push(finding(
            Severity::Error,
            "global.istio.mode",
            format!("unknown Istio mode {mode:?}"),
            "sidecar or ambient",
        ));
        return;
    }
    if let Some(engine_mode) = values.get("global.kfPost.istio.mode") {
        let engine_mode = engine_mode.as_str().unwrap_or_default();
        if values.istio_enabled() && engine_mode != mode {
            out.push(finding(
                Severity::Warning,
                "global.kfPost.istio.mode",
                format!("the kf-post override says Istio mode {engine_mode:?} but global.istio.mode={mode}"),
                "drop the override and set global.istio.mode only",
            ));
        }
    }
    if mode == "ambient" {
        let inject = values.get("global.kfPost.istio.inject");
        if matches!(inject, Some(Value::Mapping(m)) if !m.is_empty()) {
            out.push(finding(
                Severity::Warning,
                "global.kfPost.istio.inject",
                "sidecar injection overrides have no effect in ambient mode (no sidecars)",
                "remove the inject overrides, or set global.istio.mode=sidecar",
            ));
        }
        if knative_enabled {
            out.push(finding(
                Severity::Warning,
                "global.istio.mode",
                "knative-serving relies on sidecar-only net-istio features; upstream ships no ambient variant of it",
                "set knativeServing.enabled=false (KServe raw deployment mode), or global.istio.mode=sidecar",
            ));
        }
    }
}

fn profiles(values: &Values, out: &mut Vec<Finding>) {
    let Some(list) = values.get("global.profiles") else {
        return;
    };
    let Some(items) = list.as_sequence() else {
        if !list.is_null() {
            out.push(finding(
                Severity::Error,
                "global.profiles",
                format!("expected a list, got {}", values::kind(list)),
                "global.profiles: [{name, owner}]",
            ));
        }
        return;
    };
    let mut seen: Vec<&str> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("global.profiles[{i}]");
        let name = item.get("name").and_then(Value::as_str).unwrap_or("");
        let owner = item.get("owner").and_then(Value::as_str).unwrap_or("");
        if let Err(e) = crate::profiles::check_name(name) {
            out.push(finding(
                Severity::Error,
                format!("{path}.name"),
                e.to_string(),
                "helm kubeflow profile add NAME --owner EMAIL",
            ));
        }
        if !owner.contains('@') {
            out.push(finding(
                Severity::Error,
                format!("{path}.owner"),
                format!("profile {name:?} has no owner email"),
                "set owner to the user's login email",
            ));
        }
        if seen.contains(&name) {
            out.push(finding(
                Severity::Error,
                format!("{path}.name"),
                format!("profile {name:?} is listed twice"),
                "helm kubeflow profile remove NAME, then add it once",
            ));
        }
        seen.push(name);
    }
}

pub fn render_table(findings: &[Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        s.push_str(&format!(
            "{:<8} {}: {}\n         fix: {}\n",
            f.severity.as_str(),
            f.value,
            f.message,
            f.fix
        ));
    }
    s.push_str(&summary(findings));
    s.push('\n');
    s
}

pub fn summary(findings: &[Finding]) -> String {
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    if findings.is_empty() {
        return "doctor: no findings".to_string();
    }
    format!(
        "doctor: {} error(s), {} warning(s), {} info",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::parse_user_values;

    fn run(yaml: &str) -> Vec<Finding> {
        check(
            &Catalog::embedded(),
            &Values::new(parse_user_values(yaml.as_bytes()).unwrap()),
        )
    }

    fn has(findings: &[Finding], severity: Severity, value: &str, text: &str) -> bool {
        findings
            .iter()
            .any(|f| f.severity == severity && f.value == value && f.message.contains(text))
    }

    const GOOD: &str = "global: {auth: {allowDemoCredentials: false, cookieSecret: abc, dex: {passwordHash: '$2y$12$abcdefghijklmnopqrstuv'}}}";

    #[test]
    fn a_clean_production_configuration_has_no_findings() {
        assert_eq!(run(GOOD), vec![]);
    }

    #[test]
    fn each_problem_is_reported_with_severity_and_value() {
        let cases: &[(&str, Severity, &str, &str)] = &[
            ("certManager: {enabled: false}", Severity::Error, "certManager.enabled", "katib requires cert-manager"),
            ("istio: {enabled: false}", Severity::Error, "istio.enabled", "served behind the Kubeflow gateway"),
            ("dex: {enabled: false}", Severity::Error, "dex.enabled", "global.auth.mode=dex-oauth2-proxy needs dex"),
            ("global: {auth: {mode: none}}", Severity::Error, "global.auth.mode", "authentication is off while the Kubeflow gateway is exposed"),
            ("global: {istio: {enabled: false}}", Severity::Error, "global.auth.mode", "global.istio.enabled=false"),
            ("global: {auth: {mode: m2m-kind}}", Severity::Error, "global.auth.m2m.issuer", "service-account token issuer"),
            ("global: {auth: {mode: oidc}}", Severity::Error, "global.auth.oidc.issuer", "issuer URL"),
            ("{}", Severity::Warning, "global.auth.dex.passwordHash", "demo password 12341234"),
            ("global: {auth: {allowDemoCredentials: false, dex: {passwordHash: '$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72'}}}", Severity::Error, "global.auth.dex.passwordHash", "demo password"),
            ("global: {istio: {mode: ambient}, kfPost: {istio: {inject: {katib-ui: true}}}}", Severity::Warning, "global.kfPost.istio.inject", "no effect in ambient mode"),
            ("global: {istio: {mode: ambient}}", Severity::Warning, "global.istio.mode", "knative-serving relies on sidecar-only"),
            ("global: {istio: {mode: cilium}}", Severity::Error, "global.istio.mode", "unknown Istio mode"),
            ("katb: {enabled: true}", Severity::Warning, "katb", "not a value of the kubeflow chart"),
            ("global: {profiles: [{name: a, owner: a@x.io}, {name: a, owner: b@x.io}]}", Severity::Error, "global.profiles[1].name", "listed twice"),
            ("global: {profiles: [{name: Bad_Name, owner: nobody}]}", Severity::Error, "global.profiles[0].owner", "no owner email"),
            ("{}", Severity::Info, "global.auth.cookieSecret", "cannot look up"),
        ];
        for (yaml, severity, value, text) in cases {
            let findings = run(yaml);
            assert!(
                has(&findings, *severity, value, text),
                "{yaml}: want {severity:?} {value} {text:?}, got {findings:#?}"
            );
        }
    }

    #[test]
    fn variant_problems_the_chart_refuses_are_errors_naming_the_value() {
        // (values, severity, value, message part, fix part)
        let cases: &[(&str, Severity, &str, &str, &str)] = &[
            ("katib: {variant: bogus}", Severity::Error, "katib.variant", "katib.variant=bogus is not a variant of the katib chart (Helm's schema check refuses it)", "one of with-kubeflow, standalone"),
            ("tags: {katib: false}\nkatib: {variant: bogus}", Severity::Warning, "katib.variant", "ignored while it is disabled", "(default with-kubeflow)"),
            ("oauth2Proxy: {variant: 7}", Severity::Error, "oauth2Proxy.variant", "oauth2Proxy.variant=7 is not a variant", "m2m-dex-and-kind"),
            ("global: {istio: {enabled: false}, auth: {mode: none}}", Severity::Error, "katib.variant", "katib.variant=with-kubeflow renders Istio objects but global.istio.enabled=false", "set katib.variant=standalone (upstream's variant without the gateway), or global.istio.enabled=true"),
            ("global: {istio: {enabled: false}, auth: {mode: none}}\npipelines: {variant: multi-user}", Severity::Error, "pipelines.variant", "pipelines.variant=multi-user renders Istio objects", "set pipelines.variant=generic"),
            ("global: {istio: {mode: ambient}}", Severity::Error, "istio.variant", "global.istio.mode=ambient but istio.variant=oauth2-proxy installs the sidecar data plane", "set istio.variant=ambient-oauth2-proxy (or "),
            ("istio: {variant: ambient-oauth2-proxy}", Severity::Error, "istio.variant", "global.istio.mode=sidecar but istio.variant=ambient-oauth2-proxy installs the ambient data plane", "set global.istio.mode=ambient, or istio.variant=oauth2-proxy"),
            ("global: {auth: {mode: m2m-kind, m2m: {issuer: https://kubernetes.default.svc}}}", Severity::Error, "oauth2Proxy.variant", "global.auth.mode=m2m-kind needs oauth2Proxy.variant=m2m-dex-and-kind (upstream's overlay for it), not m2m-dex-only", "set oauth2Proxy.variant=m2m-dex-and-kind"),
            ("oauth2Proxy: {variant: m2m-dex-and-eks}", Severity::Error, "oauth2Proxy.variant", "global.auth.mode=dex-oauth2-proxy needs oauth2Proxy.variant=m2m-dex-only", "set oauth2Proxy.variant=m2m-dex-only"),
            ("kubeflowIstioResources: {enabled: false}", Severity::Error, "kubeflowIstioResources.enabled", "katib (variant with-kubeflow) is served behind the Kubeflow gateway", "or set katib.variant=standalone (upstream's variant without the gateway)"),
        ];
        for (yaml, severity, value, text, fix) in cases {
            let findings = run(yaml);
            assert!(
                findings.iter().any(|f| f.severity == *severity
                    && f.value == *value
                    && f.message.contains(text)
                    && f.fix.contains(fix)),
                "{yaml}: want {severity:?} {value} {text:?} / fix {fix:?}, got {findings:#?}"
            );
        }
    }

    /// Every meshed component in its standalone variant, as YAML lines.
    fn all_standalone() -> String {
        variants::MESHED_VARIANTS
            .iter()
            .map(|m| format!("{}: {{variant: {}}}\n", m.key, m.standalone))
            .collect()
    }

    #[test]
    fn matching_variants_are_quiet() {
        let standalone = format!(
            "global: {{istio: {{enabled: false}}, auth: {{mode: none}}}}\n{}",
            all_standalone()
        );
        // (values, a value no finding may name)
        let cases: &[(&str, &str)] = &[
            ("", ".variant"),
            (&standalone, ".variant"),
            (&standalone, ".enabled"),
            ("global: {istio: {mode: ambient}}\nistio: {variant: ambient-oauth2-proxy}", "istio.variant"),
            ("global: {istio: {mode: ambient}}\nistio: {variant: ambient-gke}", "istio.variant"),
            ("global: {istio: {mode: ambient}}\nistio: {enabled: false}", "istio.variant"),
            ("global: {auth: {mode: m2m-kind}}\noauth2Proxy: {variant: m2m-dex-and-kind}", "oauth2Proxy.variant"),
            ("global: {auth: {mode: m2m-eks}}\noauth2Proxy: {enabled: false}", "oauth2Proxy.variant"),
            ("global: {auth: {mode: none}}\noauth2Proxy: {variant: base}", "oauth2Proxy.variant"),
            // Istio on, but katib standalone: katib itself needs no gateway.
            ("tags: {core: false, istio: false, notebooks: false, pipelines: false, serving: false, auth: false}\ncertManager: {enabled: true}\nkubeflowNamespace: {enabled: true}\nkatib: {variant: standalone}", "istio.enabled"),
            ("tags: {core: false, istio: false, notebooks: false, pipelines: false, serving: false, auth: false}\ncertManager: {enabled: true}\nkubeflowNamespace: {enabled: true}\nkatib: {variant: standalone}", "kubeflowIstioResources.enabled"),
        ];
        for (yaml, value) in cases {
            let findings = run(yaml);
            assert!(
                !findings.iter().any(|f| f.value.ends_with(value)),
                "{yaml}: nothing about {value} expected, got {findings:#?}"
            );
        }
    }

    #[test]
    fn external_components_and_disabled_dependents_silence_dependency_errors() {
        let quiet = [
            "certManager: {enabled: false}\nglobal: {externalComponents: [certManager]}",
            "certManager: {enabled: false}\ntags: {katib: false, pipelines: false, serving: false, notebooks: false}\nadmissionWebhook: {enabled: false}",
        ];
        for yaml in quiet {
            let findings = run(yaml);
            assert!(
                !findings.iter().any(|f| f.value == "certManager.enabled"),
                "{yaml}: {findings:#?}"
            );
        }
    }

    #[test]
    fn table_lists_errors_first_and_counts() {
        let text = render_table(&run("certManager: {enabled: false}"));
        assert!(text.starts_with("error    certManager.enabled:"), "{text}");
        assert!(text.trim_end().ends_with("warning(s), 1 info"), "{text}");
    }
}
