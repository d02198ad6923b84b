//! `doctor`: checks umbrella values for what would fail the render, what is
//! inconsistent, and what is insecure. Every finding names the value to change.

use serde::Serialize;
use serde_yaml::Value;

use crate::catalog::Catalog;
use crate::values::{self, Values};
use crate::variants;

/// bcrypt hash of upstream's demo password `12341234` (common/dex/base config).
pub const DEMO_PASSWORD_HASH: &str = "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72";

/// Upstream's demo OIDC client secret (Dex and oauth2-proxy, common/dex and
/// common/oauth2-proxy base Secrets).
pub const DEMO_OIDC_CLIENT_SECRET: &str = "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok";

/// Dex's static user upstream ships (charts/dex/values.yaml `settings.staticUserEmail`).
pub const DEMO_USER_EMAIL: &str = "user@example.com";

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
    credentials(catalog, values, &mut out);
    unknown_global_keys(values, &mut out);
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
                    Some(m) if gateway.is_some() && !c.requires.contains(&dep.chart) => format!(
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
                        dep.chart, dep.key
                    ),
                ));
            }
        }
    }
}

/// `<key>.variant`: a name the component chart's schema allows, and the
/// variant rules of the umbrella's checks.yaml (meshed variants need Istio on;
/// `istio.variant` matches `global.istio.mode`; `oauth2-proxy.variant` matches
/// `global.auth.mode`).
fn chart_variants(catalog: &Catalog, values: &Values, out: &mut Vec<Finding>) {
    let istio_on = values.istio_enabled();
    for c in &catalog.components {
        let Some(cv) = variants::chart(&c.chart) else {
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
                    c.key, c.chart
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
        if c.key == "oauth2-proxy" {
            let mode = values.auth_mode();
            if let Some(want) = variants::oauth2_proxy_variant(&mode) {
                if variant != want {
                    out.push(finding(
                        Severity::Error,
                        path.clone(),
                        format!("global.auth.mode={mode} needs oauth2-proxy.variant={want} (upstream's overlay for it), not {variant} (the chart refuses to render)"),
                        format!("set oauth2-proxy.variant={want}, or choose the global.auth.mode that matches {variant}"),
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
                    "global.auth.mode={mode} needs {}, which is not enabled (the chart refuses to render)",
                    dep.chart
                ),
                format!(
                    "helm kubeflow enable {} (or add {:?} to global.externalComponents, or choose another global.auth.mode)",
                    dep.chart, dep.key
                ),
            ));
        }
    }
    oidc(&mode, values, out);
}

/// `global.auth.oidc.*` (docs/umbrella.md#oidc): every endpoint and `prompt`
/// is required in `oidc` mode, which is for an external provider. oauth2-proxy
/// takes each field whenever it is set, whatever the mode.
fn oidc(mode: &str, values: &Values, out: &mut Vec<Finding>) {
    for field in OIDC_FIELDS {
        let path = format!("global.auth.oidc.{field}");
        let v = values.str(&path);
        if mode == "oidc" && v.is_empty() {
            out.push(finding(
                Severity::Error,
                path.clone(),
                format!("global.auth.mode=oidc needs your provider's global.auth.oidc.{field} (the in-cluster Dex's is used otherwise; the chart refuses to render)"),
                format!("set global.auth.oidc.{field} (docs/umbrella.md#oidc)"),
            ));
        }
        if v.contains(['"', '\\', '\n', '\r']) {
            out.push(finding(
                Severity::Error,
                path.clone(),
                format!("global.auth.oidc.{field} contains a quote, backslash or newline, which breaks oauth2-proxy's TOML config"),
                format!("set global.auth.oidc.{field} to a plain URL or word"),
            ));
        }
    }
    if mode == "oidc"
        && values
            .str("global.auth.oidc.issuerUrl")
            .starts_with("http://dex.auth.svc")
    {
        out.push(finding(
            Severity::Error,
            "global.auth.oidc.issuerUrl",
            "global.auth.mode=oidc is for an external provider, but global.auth.oidc.issuerUrl is the in-cluster Dex (the chart refuses to render)",
            "use global.auth.mode=dex-oauth2-proxy, or set global.auth.oidc.issuerUrl to your provider's issuer",
        ));
    }
    if mode != "oidc" && mode != "none" {
        let set: Vec<&str> = OIDC_FIELDS
            .iter()
            .chain(["providerName"].iter())
            .copied()
            .filter(|f| !values.str(&format!("global.auth.oidc.{f}")).is_empty())
            .collect();
        if let Some(first) = set.first() {
            out.push(finding(
                Severity::Warning,
                format!("global.auth.oidc.{first}"),
                format!(
                    "global.auth.oidc.{{{}}} set with global.auth.mode={mode}: oauth2-proxy uses them instead of the in-cluster Dex's endpoints",
                    set.join(",")
                ),
                "set global.auth.mode=oidc (and dex.enabled=false) for an external provider, or remove global.auth.oidc",
            ));
        }
    }
}

/// The fields `global.auth.mode=oidc` requires (checks.yaml).
pub const OIDC_FIELDS: [&str; 5] = ["issuerUrl", "loginUrl", "redeemUrl", "jwksUrl", "prompt"];

/// Component charts with a `credentials` block (`<chart>.credential` helper).
pub const CREDENTIAL_CHARTS: [&str; 5] = [
    "dex",
    "oauth2-proxy",
    "katib",
    "pipelines",
    "model-registry",
];

/// Credentials `generate` mode generates (and keeps by lookup), by chart.
const GENERATED: [(&str, &[&str]); 4] = [
    ("oauth2-proxy", &["cookieSecret"]),
    ("katib", &["mysqlRootPassword", "postgresPassword"]),
    (
        "pipelines",
        &[
            "mysqlPassword",
            "objectStoreAccessKey",
            "objectStoreSecretKey",
        ],
    ),
    ("model-registry", &["mysqlRootPassword", "postgresPassword"]),
];

/// Credentials (docs/umbrella.md#credentials): each chart's mode is
/// `<key>.credentials.mode`, else `global.credentials.mode`, else `demo`.
fn credentials(catalog: &Catalog, values: &Values, out: &mut Vec<Finding>) {
    let enabled = |name: &str| catalog.by_name(name).filter(|c| values.enabled(c));
    let mut global_mode_used = false;
    for name in CREDENTIAL_CHARTS {
        let Some(c) = enabled(name) else { continue };
        let (mode, from) = values.credential_mode(&c.key);
        if mode == "demo" || mode == "generate" {
            continue;
        }
        if from == "global.credentials.mode" {
            global_mode_used = true;
            continue;
        }
        out.push(finding(
            Severity::Error,
            from,
            format!("{name}: credentials.mode must be demo or generate, not {mode:?} (the chart refuses to render)"),
            format!("set {}.credentials.mode=generate (or demo), or remove it to follow global.credentials.mode", c.key),
        ));
    }
    let global_mode = values.str("global.credentials.mode");
    if !global_mode.is_empty() && global_mode != "demo" && global_mode != "generate" {
        out.push(finding(
            if global_mode_used { Severity::Error } else { Severity::Warning },
            "global.credentials.mode",
            if global_mode_used {
                format!("unknown credentials mode {global_mode:?} (the component charts refuse to render)")
            } else {
                format!("unknown credentials mode {global_mode:?} (no enabled chart with credentials reads it yet)")
            },
            "set global.credentials.mode=generate (production) or demo",
        ));
    }

    let dex = enabled("dex");
    let proxy = enabled("oauth2-proxy");
    if let Some(dex) = dex {
        let (mode, _) = values.credential_mode(&dex.key);
        let hash = values.str("dex.credentials.userPasswordHash");
        let email = values.str("dex.settings.staticUserEmail");
        let email = if email.is_empty() {
            DEMO_USER_EMAIL.to_string()
        } else {
            email
        };
        let fix =
            "set dex.credentials.userPasswordHash=$(htpasswd -nbBC 12 '' PASSWORD | tr -d ':\\n')";
        if mode == "demo" && (hash.is_empty() || hash == DEMO_PASSWORD_HASH) {
            out.push(finding(
                Severity::Warning,
                "dex.credentials.userPasswordHash",
                format!("the Dex user {email} logs in with upstream's public demo password 12341234 (credentials.mode=demo); acceptable only for the demo presets"),
                format!("{fix}, or global.credentials.mode=generate (presets/production.yaml)"),
            ));
        }
        if mode == "generate" && hash.is_empty() {
            out.push(finding(
                Severity::Error,
                "dex.credentials.userPasswordHash",
                "dex: credentials.mode=generate never uses upstream's demo password, and the Dex password hash cannot be generated (the chart refuses to render)",
                fix,
            ));
        }
        if mode == "generate" && hash == DEMO_PASSWORD_HASH {
            out.push(finding(
                Severity::Error,
                "dex.credentials.userPasswordHash",
                "dex: credentials.userPasswordHash is upstream's public demo value (password 12341234), which credentials.mode=generate refuses (the chart refuses to render)",
                fix,
            ));
        }
        if global_mode == "generate" && email == DEMO_USER_EMAIL {
            out.push(finding(
                Severity::Error,
                "dex.settings.staticUserEmail",
                format!("global.credentials.mode=generate renders no demo user, but dex.settings.staticUserEmail is upstream's demo user {DEMO_USER_EMAIL} (the chart refuses to render)"),
                "set dex.settings.staticUserEmail to your administrator's e-mail (with dex.credentials.userPasswordHash)",
            ));
        }
    }

    // The OIDC client secret Dex and oauth2-proxy share: required in generate
    // mode, never upstream's demo value there, and the same in both charts.
    let mut missing = Vec::new();
    let mut effective = Vec::new();
    for c in [dex, proxy].into_iter().flatten() {
        let (mode, _) = values.credential_mode(&c.key);
        let own = format!("{}.credentials.oidcClientSecret", c.key);
        let (given, from) = match values.str(&own) {
            s if !s.is_empty() => (s, own.clone()),
            _ => (
                values.str("global.credentials.oidcClientSecret"),
                "global.credentials.oidcClientSecret".to_string(),
            ),
        };
        if mode == "generate" && given.is_empty() {
            missing.push(c.chart.as_str());
        }
        if mode == "generate" && given == DEMO_OIDC_CLIENT_SECRET {
            out.push(finding(
                Severity::Error,
                from,
                format!("{}: the OIDC client secret is upstream's public demo value, which credentials.mode=generate refuses (the chart refuses to render)", c.chart),
                "set global.credentials.oidcClientSecret=$(openssl rand -hex 32)",
            ));
        }
        let value = match (given.is_empty(), mode == "demo") {
            (false, _) => Some(given),
            (true, true) => Some(DEMO_OIDC_CLIENT_SECRET.to_string()),
            (true, false) => None,
        };
        effective.push((c, own, value));
    }
    if !missing.is_empty() {
        out.push(finding(
            Severity::Error,
            "global.credentials.oidcClientSecret",
            format!(
                "{} in credentials.mode=generate need the OIDC client secret Dex and oauth2-proxy share; it cannot be generated (the chart refuses to render)",
                missing.join(" and ")
            ),
            "set global.credentials.oidcClientSecret=$(openssl rand -hex 32) (or the chart's own <key>.credentials.oidcClientSecret)",
        ));
    }
    if let [(_, _, Some(a)), (_, own, Some(b))] = effective.as_slice() {
        if a != b {
            out.push(finding(
                Severity::Warning,
                own.clone(),
                "Dex and oauth2-proxy get different OIDC client secrets: logins fail",
                "set only global.credentials.oidcClientSecret (not dex./oauth2-proxy.credentials.oidcClientSecret)",
            ));
        }
    }

    // Generated values cannot be looked up by `helm template` (Argo CD).
    let mut generated = Vec::new();
    for (name, keys) in GENERATED {
        let Some(c) = enabled(name) else { continue };
        if values.credential_mode(&c.key).0 != "generate" {
            continue;
        }
        for k in keys {
            let path = format!("{}.credentials.{k}", c.key);
            if values.str(&path).is_empty() {
                generated.push(path);
            }
        }
    }
    if let Some(first) = generated.first() {
        out.push(finding(
            Severity::Info,
            first.clone(),
            format!(
                "generated at install and kept by a lookup of the live Secret: {}; helm template and Argo CD cannot look up, so every render changes them",
                generated.join(", ")
            ),
            "for GitOps set them explicitly (e.g. $(openssl rand -hex 16)); docs/umbrella.md#credentials",
        ));
    }
}

/// Keys under `global.auth` / `global.credentials` that are not values of
/// the chart (Helm ignores them), with where an older design's value went.
fn unknown_global_keys(values: &Values, out: &mut Vec<Finding>) {
    fn walk(user: &serde_yaml::Mapping, path: &str, values: &Values, out: &mut Vec<Finding>) {
        for (k, v) in user {
            let Some(k) = k.as_str() else { continue };
            let p = format!("{path}.{k}");
            match values.default(&p) {
                Some(Value::Mapping(_)) => {
                    if let Value::Mapping(m) = v {
                        walk(m, &p, values, out);
                    }
                }
                Some(_) => {}
                None => {
                    let hint = match p.as_str() {
                        "global.auth.allowDemoCredentials" => "use global.credentials.mode (demo or generate)",
                        "global.auth.dex" => "use dex.credentials.userPasswordHash and dex.settings.staticUserEmail",
                        "global.auth.oidc.issuer" => "use global.auth.oidc.issuerUrl",
                        "global.auth.oidc.clientSecret" | "global.auth.oidc.existingSecret" => {
                            "use global.credentials.oidcClientSecret (there is no existingSecret switch)"
                        }
                        "global.auth.cookieSecret" => "use oauth2-proxy.credentials.cookieSecret",
                        "global.auth.m2m" => "m2m modes take no issuer value: set global.auth.mode and oauth2-proxy.variant (presets/cluster-*.yaml)",
                        _ => "see charts/kubeflow/values.yaml for the values under global",
                    };
                    out.push(finding(
                        Severity::Warning,
                        p.clone(),
                        format!("{p} is not a value of the kubeflow chart; Helm ignores it"),
                        hint,
                    ));
                }
            }
        }
    }
    for path in ["global.auth", "global.credentials"] {
        if let Some(Value::Mapping(m)) = values::lookup(&values.user, path) {
            walk(m, path, values, out);
        }
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
                "set knative-serving.enabled=false (KServe raw deployment mode), or global.istio.mode=sidecar",
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

    const HASH: &str = "$2y$12$abcdefghijklmnopqrstuv";

    /// Production: generate mode with the three values it cannot generate, and
    /// the generated ones set explicitly (no lookup needed).
    fn good() -> String {
        format!(
            "global: {{credentials: {{mode: generate, oidcClientSecret: s3cret}}}}\n\
             dex: {{settings: {{staticUserEmail: admin@your.org}}, credentials: {{userPasswordHash: '{HASH}'}}}}\n\
             oauth2-proxy: {{credentials: {{cookieSecret: c}}}}\n\
             katib: {{credentials: {{mysqlRootPassword: a, postgresPassword: b}}}}\n\
             pipelines: {{credentials: {{mysqlPassword: a, objectStoreAccessKey: b, objectStoreSecretKey: c}}}}\n"
        )
    }

    #[test]
    fn a_clean_production_configuration_has_no_findings() {
        assert_eq!(run(&good()), vec![]);
    }

    #[test]
    fn the_production_preset_needs_the_three_values_it_cannot_generate() {
        let preset = crate::presets::get("production").unwrap();
        let errors = |yaml: &str| {
            run(yaml)
                .into_iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.value)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            errors(preset),
            [
                "dex.credentials.userPasswordHash",
                "dex.settings.staticUserEmail",
                "global.credentials.oidcClientSecret"
            ]
        );
        // The install line of presets/production.yaml.
        let mut user = parse_user_values(preset.as_bytes()).unwrap();
        for (path, v) in [
            ("dex.settings.staticUserEmail", "admin@your.org"),
            ("dex.credentials.userPasswordHash", HASH),
            ("global.credentials.oidcClientSecret", "s3cret"),
        ] {
            values::set(&mut user, path, Value::from(v)).unwrap();
        }
        let given = serde_yaml::to_string(&user).unwrap();
        let findings = run(&given);
        assert_eq!(errors(&given), Vec::<String>::new(), "{findings:#?}");
        // Only the note that generated values need a lookup.
        assert!(
            findings.iter().all(|f| f.severity == Severity::Info),
            "{findings:#?}"
        );
    }

    #[test]
    fn each_problem_is_reported_with_severity_and_value() {
        let generate = "global: {credentials: {mode: generate}}";
        let cases: Vec<(String, Severity, &str, &str)> = vec![
            ("cert-manager: {enabled: false}".into(), Severity::Error, "cert-manager.enabled", "katib requires cert-manager"),
            ("istio: {enabled: false}".into(), Severity::Error, "istio.enabled", "served behind the Kubeflow gateway"),
            ("dex: {enabled: false}".into(), Severity::Error, "dex.enabled", "global.auth.mode=dex-oauth2-proxy needs dex"),
            ("global: {auth: {mode: oidc}}\noauth2-proxy: {enabled: false}".into(), Severity::Error, "oauth2-proxy.enabled", "global.auth.mode=oidc needs oauth2-proxy"),
            ("global: {auth: {mode: none}}".into(), Severity::Error, "global.auth.mode", "authentication is off while the Kubeflow gateway is exposed"),
            ("global: {istio: {enabled: false}}".into(), Severity::Error, "global.auth.mode", "global.istio.enabled=false"),
            ("global: {auth: {mode: bogus}}".into(), Severity::Error, "global.auth.mode", "unknown auth mode"),
            // OIDC: every endpoint and prompt, and not the in-cluster Dex.
            ("global: {auth: {mode: oidc}}".into(), Severity::Error, "global.auth.oidc.issuerUrl", "needs your provider's global.auth.oidc.issuerUrl"),
            ("global: {auth: {mode: oidc}}".into(), Severity::Error, "global.auth.oidc.prompt", "needs your provider's global.auth.oidc.prompt"),
            (format!("global: {{auth: {{mode: oidc, oidc: {OIDC_COMPLETE}}}}}").replace("https://idp.example.com/token", "''"), Severity::Error, "global.auth.oidc.redeemUrl", "global.auth.oidc.redeemUrl"),
            (format!("global: {{auth: {{mode: oidc, oidc: {OIDC_COMPLETE}}}}}").replace("https://idp.example.com/realm", "http://dex.auth.svc.cluster.local:5556/dex"), Severity::Error, "global.auth.oidc.issuerUrl", "is the in-cluster Dex"),
            (format!("global: {{auth: {{mode: oidc, oidc: {OIDC_COMPLETE}}}}}").replace("prompt: login", "prompt: 'lo\"gin'"), Severity::Error, "global.auth.oidc.prompt", "quote, backslash or newline"),
            ("global: {auth: {oidc: {issuerUrl: https://idp.example.com}}}".into(), Severity::Warning, "global.auth.oidc.issuerUrl", "instead of the in-cluster Dex's endpoints"),
            // Credentials, demo mode.
            ("{}".into(), Severity::Warning, "dex.credentials.userPasswordHash", "upstream's public demo password 12341234"),
            (format!("dex: {{credentials: {{userPasswordHash: '{DEMO_PASSWORD_HASH}'}}}}"), Severity::Warning, "dex.credentials.userPasswordHash", "demo password 12341234"),
            ("dex: {settings: {staticUserEmail: me@x.io}}".into(), Severity::Warning, "dex.credentials.userPasswordHash", "Dex user me@x.io"),
            ("dex: {credentials: {oidcClientSecret: a}}".into(), Severity::Warning, "oauth2-proxy.credentials.oidcClientSecret", "different OIDC client secrets"),
            // Credentials, generate mode: what the charts refuse.
            (generate.into(), Severity::Error, "dex.credentials.userPasswordHash", "cannot be generated"),
            (format!("{generate}\ndex: {{credentials: {{userPasswordHash: '{DEMO_PASSWORD_HASH}'}}}}"), Severity::Error, "dex.credentials.userPasswordHash", "upstream's public demo value"),
            (generate.into(), Severity::Error, "global.credentials.oidcClientSecret", "dex and oauth2-proxy in credentials.mode=generate need the OIDC client secret"),
            ("dex: {enabled: false}\nglobal: {externalComponents: [dex], credentials: {mode: generate}}".into(), Severity::Error, "global.credentials.oidcClientSecret", "oauth2-proxy in credentials.mode=generate"),
            ("oauth2-proxy: {credentials: {mode: generate}}".into(), Severity::Error, "global.credentials.oidcClientSecret", "oauth2-proxy in credentials.mode=generate"),
            (format!("global: {{credentials: {{mode: generate, oidcClientSecret: {DEMO_OIDC_CLIENT_SECRET}}}}}"), Severity::Error, "global.credentials.oidcClientSecret", "upstream's public demo value"),
            (format!("{generate}\noauth2-proxy: {{credentials: {{oidcClientSecret: {DEMO_OIDC_CLIENT_SECRET}}}}}"), Severity::Error, "oauth2-proxy.credentials.oidcClientSecret", "upstream's public demo value"),
            (generate.into(), Severity::Error, "dex.settings.staticUserEmail", "upstream's demo user user@example.com"),
            (format!("{generate}\ndex: {{settings: {{staticUserEmail: user@example.com}}}}"), Severity::Error, "dex.settings.staticUserEmail", "upstream's demo user"),
            (generate.into(), Severity::Info, "oauth2-proxy.credentials.cookieSecret", "helm template and Argo CD cannot look up"),
            ("global: {credentials: {mode: random}}".into(), Severity::Error, "global.credentials.mode", "unknown credentials mode \"random\""),
            ("katib: {credentials: {mode: random}}".into(), Severity::Error, "katib.credentials.mode", "katib: credentials.mode must be demo or generate"),
            ("tags: {auth: false, katib: false, pipelines: false}\nglobal: {auth: {mode: none}, credentials: {mode: random}}".into(), Severity::Warning, "global.credentials.mode", "no enabled chart"),
            // Values of the chart's earlier design.
            ("global: {auth: {allowDemoCredentials: false}}".into(), Severity::Warning, "global.auth.allowDemoCredentials", "not a value of the kubeflow chart"),
            ("global: {auth: {dex: {passwordHash: x}}}".into(), Severity::Warning, "global.auth.dex", "Helm ignores it"),
            ("global: {auth: {oidc: {issuer: x}}}".into(), Severity::Warning, "global.auth.oidc.issuer", "not a value"),
            ("global: {credentials: {cookieSecret: x}}".into(), Severity::Warning, "global.credentials.cookieSecret", "not a value"),
            // Istio, keys, profiles.
            ("global: {istio: {mode: ambient}, kfPost: {istio: {inject: {katib-ui: true}}}}".into(), Severity::Warning, "global.kfPost.istio.inject", "no effect in ambient mode"),
            ("global: {istio: {mode: ambient}}".into(), Severity::Warning, "global.istio.mode", "knative-serving relies on sidecar-only"),
            ("global: {istio: {mode: cilium}}".into(), Severity::Error, "global.istio.mode", "unknown Istio mode"),
            ("katb: {enabled: true}".into(), Severity::Warning, "katb", "not a value of the kubeflow chart"),
            ("global: {profiles: [{name: a, owner: a@x.io}, {name: a, owner: b@x.io}]}".into(), Severity::Error, "global.profiles[1].name", "listed twice"),
            ("global: {profiles: [{name: Bad_Name, owner: nobody}]}".into(), Severity::Error, "global.profiles[0].owner", "no owner email"),
        ];
        for (yaml, severity, value, text) in &cases {
            let findings = run(yaml);
            assert!(
                has(&findings, *severity, value, text),
                "{yaml}: want {severity:?} {value} {text:?}, got {findings:#?}"
            );
        }
    }

    const OIDC_COMPLETE: &str = "{issuerUrl: https://idp.example.com/realm, loginUrl: https://idp.example.com/auth, redeemUrl: https://idp.example.com/token, jwksUrl: https://idp.example.com/certs, prompt: login}";

    #[test]
    fn fine_credentials_and_oidc_values_are_quiet() {
        // (values, a value no finding may name)
        let cases: Vec<(String, &str)> = vec![
            // Demo mode with a password of one's own.
            (format!("dex: {{credentials: {{userPasswordHash: '{HASH}'}}}}"), "dex."),
            // Generate mode, but Dex runs outside the release.
            ("global: {externalComponents: [dex], credentials: {mode: generate, oidcClientSecret: s}}\ndex: {enabled: false}".into(), "dex."),
            // The chart's own secret instead of the global one.
            ("global: {credentials: {mode: generate}}\ndex: {credentials: {oidcClientSecret: s}}\noauth2-proxy: {credentials: {oidcClientSecret: s}}".into(), "oidcClientSecret"),
            // A per-chart demo mode under a global generate.
            ("global: {credentials: {mode: generate, oidcClientSecret: s}}\ndex: {credentials: {mode: demo}, settings: {staticUserEmail: a@x.io}}".into(), "oidcClientSecret"),
            // oidc mode, complete, no Dex.
            (format!("global: {{auth: {{mode: oidc, oidc: {OIDC_COMPLETE}}}}}\ndex: {{enabled: false}}"), "global.auth.oidc"),
            (format!("global: {{auth: {{mode: oidc, oidc: {OIDC_COMPLETE}}}}}\ndex: {{enabled: false}}"), "dex."),
            // Known values under global.auth / global.credentials.
            (format!("global: {{auth: {{mode: oidc, oidc: {OIDC_COMPLETE}}}, credentials: {{mode: demo, oidcClientSecret: s}}}}"), "global.credentials"),
        ];
        for (yaml, value) in &cases {
            let findings = run(yaml);
            assert!(
                !findings.iter().any(|f| f.value.contains(value)),
                "{yaml}: nothing about {value} expected, got {findings:#?}"
            );
        }
    }

    #[test]
    fn constants_match_the_charts() {
        let dex: Value =
            serde_yaml::from_str(include_str!("../../charts/dex/values.yaml")).unwrap();
        assert_eq!(
            dex["settings"]["staticUserEmail"].as_str(),
            Some(DEMO_USER_EMAIL)
        );
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts");
        let mut with_credentials = Vec::new();
        for entry in std::fs::read_dir(&root).unwrap() {
            let dir = entry.unwrap().path();
            let Ok(text) = std::fs::read_to_string(dir.join("values.yaml")) else {
                continue;
            };
            let v: Value = serde_yaml::from_str(&text).unwrap();
            if dir.file_name().unwrap() != "kubeflow" && v.get("credentials").is_some() {
                with_credentials.push(dir.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
        with_credentials.sort();
        let mut want: Vec<String> = CREDENTIAL_CHARTS.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(with_credentials, want);
        for (chart, keys) in GENERATED {
            let v: Value = serde_yaml::from_str(
                &std::fs::read_to_string(root.join(chart).join("values.yaml")).unwrap(),
            )
            .unwrap();
            for k in keys {
                assert!(
                    v["credentials"].get(k).is_some(),
                    "{chart}: credentials.{k}"
                );
            }
        }
        let secrets = [
            (
                "dex",
                "secret-dex-passwords.yaml",
                DEMO_PASSWORD_HASH.to_string(),
            ),
            (
                "dex",
                "secret-dex-oidc-client.yaml",
                b64(DEMO_OIDC_CLIENT_SECRET),
            ),
            (
                "oauth2-proxy",
                "secret-oauth2-proxy-h675gf55ht.yaml",
                b64(DEMO_OIDC_CLIENT_SECRET),
            ),
        ];
        for (chart, file, demo) in secrets {
            let text =
                std::fs::read_to_string(root.join(chart).join("templates/config").join(file))
                    .unwrap();
            assert!(
                text.contains(&format!("\"demo\" \"{demo}\"")),
                "{chart}/{file}"
            );
        }
    }

    fn b64(s: &str) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in s.as_bytes().chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn variant_problems_the_chart_refuses_are_errors_naming_the_value() {
        // (values, severity, value, message part, fix part)
        let cases: &[(&str, Severity, &str, &str, &str)] = &[
            ("katib: {variant: bogus}", Severity::Error, "katib.variant", "katib.variant=bogus is not a variant of the katib chart (Helm's schema check refuses it)", "one of with-kubeflow, standalone"),
            ("tags: {katib: false}\nkatib: {variant: bogus}", Severity::Warning, "katib.variant", "ignored while it is disabled", "(default with-kubeflow)"),
            ("oauth2-proxy: {variant: 7}", Severity::Error, "oauth2-proxy.variant", "oauth2-proxy.variant=7 is not a variant", "m2m-dex-and-kind"),
            ("global: {istio: {enabled: false}, auth: {mode: none}}", Severity::Error, "katib.variant", "katib.variant=with-kubeflow renders Istio objects but global.istio.enabled=false", "set katib.variant=standalone (upstream's variant without the gateway), or global.istio.enabled=true"),
            ("global: {istio: {enabled: false}, auth: {mode: none}}\npipelines: {variant: multi-user}", Severity::Error, "pipelines.variant", "pipelines.variant=multi-user renders Istio objects", "set pipelines.variant=generic"),
            ("global: {istio: {mode: ambient}}", Severity::Error, "istio.variant", "global.istio.mode=ambient but istio.variant=oauth2-proxy installs the sidecar data plane", "set istio.variant=ambient-oauth2-proxy (or "),
            ("istio: {variant: ambient-oauth2-proxy}", Severity::Error, "istio.variant", "global.istio.mode=sidecar but istio.variant=ambient-oauth2-proxy installs the ambient data plane", "set global.istio.mode=ambient, or istio.variant=oauth2-proxy"),
            ("global: {auth: {mode: m2m-kind}}", Severity::Error, "oauth2-proxy.variant", "global.auth.mode=m2m-kind needs oauth2-proxy.variant=m2m-dex-and-kind (upstream's overlay for it), not m2m-dex-only", "set oauth2-proxy.variant=m2m-dex-and-kind"),
            ("oauth2-proxy: {variant: m2m-dex-and-eks}", Severity::Error, "oauth2-proxy.variant", "global.auth.mode=dex-oauth2-proxy needs oauth2-proxy.variant=m2m-dex-only", "set oauth2-proxy.variant=m2m-dex-only"),
            ("kubeflow-istio-resources: {enabled: false}", Severity::Error, "kubeflow-istio-resources.enabled", "katib (variant with-kubeflow) is served behind the Kubeflow gateway", "or set katib.variant=standalone (upstream's variant without the gateway)"),
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
            ("global: {auth: {mode: m2m-kind}}\noauth2-proxy: {variant: m2m-dex-and-kind}", "oauth2-proxy.variant"),
            ("global: {auth: {mode: m2m-eks}}\noauth2-proxy: {enabled: false}", "oauth2-proxy.variant"),
            ("global: {auth: {mode: none}}\noauth2-proxy: {variant: base}", "oauth2-proxy.variant"),
            // Istio on, but katib standalone: katib itself needs no gateway.
            ("tags: {core: false, istio: false, notebooks: false, pipelines: false, serving: false, auth: false}\ncert-manager: {enabled: true}\nkubeflow-namespace: {enabled: true}\nkatib: {variant: standalone}", "istio.enabled"),
            ("tags: {core: false, istio: false, notebooks: false, pipelines: false, serving: false, auth: false}\ncert-manager: {enabled: true}\nkubeflow-namespace: {enabled: true}\nkatib: {variant: standalone}", "kubeflow-istio-resources.enabled"),
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
            "cert-manager: {enabled: false}\nglobal: {externalComponents: [cert-manager]}",
            "cert-manager: {enabled: false}\ntags: {katib: false, pipelines: false, serving: false, notebooks: false}\nadmission-webhook: {enabled: false}",
        ];
        for yaml in quiet {
            let findings = run(yaml);
            assert!(
                !findings.iter().any(|f| f.value == "cert-manager.enabled"),
                "{yaml}: {findings:#?}"
            );
        }
    }

    #[test]
    fn table_lists_errors_first_and_counts() {
        let text = render_table(&run("cert-manager: {enabled: false}"));
        assert!(text.starts_with("error    cert-manager.enabled:"), "{text}");
        assert!(text.trim_end().ends_with("warning(s), 0 info"), "{text}");
    }
}
