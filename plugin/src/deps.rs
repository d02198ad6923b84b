//! `enable` / `disable`: switch components in the user values and resolve
//! dependencies the way the umbrella chart's checks demand, so the printed
//! values pass `helm upgrade` instead of failing its render-time checks.

use crate::catalog::{Catalog, Component};
use crate::error::{Error, Result};
use crate::values::Values;
use crate::variants;

/// What happened, one line per decision, for `--explain`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Explain {
    pub lines: Vec<String>,
}

impl Explain {
    fn say(&mut self, line: String) {
        self.lines.push(line);
    }
}

/// Switches `targets` on, then every missing hard requirement (transitively),
/// the gateway trio for components served behind the gateway (Istio on and a
/// meshed variant), and what the auth mode needs. With Istio off, a component
/// whose variant is a default that renders Istio objects gets upstream's
/// standalone variant instead. Recommendations are only mentioned.
pub fn enable(catalog: &Catalog, values: &mut Values, targets: &[&Component]) -> Result<Explain> {
    let mut explain = Explain::default();
    let mut queue: Vec<&Component> = Vec::new();
    for c in targets {
        if values.enabled(c) {
            explain.say(format!(
                "{}: already enabled ({})",
                c.chart,
                values.enabled_source(c)
            ));
        } else {
            values.set_enabled(c, true)?;
            explain.say(format!(
                "{}: enabled ({}.enabled=true, requested)",
                c.chart, c.key
            ));
        }
        fit_variant(values, c, &mut explain)?;
        queue.push(c);
    }
    resolve(catalog, values, &mut queue, &mut explain)?;
    let mode = values.auth_mode();
    for dep in values.auth_needs(catalog) {
        if !values.present(dep) {
            values.set_enabled(dep, true)?;
            explain.say(format!(
                "{}: enabled ({}.enabled=true) because global.auth.mode={mode} needs it",
                dep.chart, dep.key
            ));
            fit_variant(values, dep, &mut explain)?;
            queue.push(dep);
        }
    }
    resolve(catalog, values, &mut queue, &mut explain)?;
    for c in targets {
        for rec in &c.recommends {
            let r = catalog
                .by_name(rec)
                .expect("catalog validated: recommends are known");
            if !values.present(r) {
                explain.say(format!(
                    "hint: {} works best with {} (not enabled): helm kubeflow enable {}",
                    c.chart, r.chart, r.chart
                ));
            }
        }
    }
    Ok(explain)
}

/// Enables what the queued components need, transitively.
fn resolve<'a>(
    catalog: &'a Catalog,
    values: &mut Values,
    queue: &mut Vec<&'a Component>,
    explain: &mut Explain,
) -> Result<()> {
    while let Some(c) = queue.pop() {
        let gateway = values.gateway_variant(c);
        for (dep, why) in catalog.needs(c, gateway.as_deref()) {
            if !values.present(dep) {
                values.set_enabled(dep, true)?;
                explain.say(format!(
                    "{}: enabled ({}.enabled=true) because {why}",
                    dep.chart, dep.key
                ));
                fit_variant(values, dep, explain)?;
                queue.push(dep);
            }
        }
    }
    Ok(())
}

/// Makes an enabled component's variant agree with `global.istio.enabled`, as
/// the chart's checks.yaml demands: with Istio off a meshed variant fails the
/// render, so a default one is replaced by upstream's standalone variant and
/// one the user chose is an error naming the value to set. With Istio on, a
/// standalone variant is explained (it needs no gateway).
fn fit_variant(values: &mut Values, c: &Component, explain: &mut Explain) -> Result<()> {
    let Some(m) = variants::meshed(&c.key) else {
        return Ok(());
    };
    let variant = values.variant(c);
    let meshed = m.meshed.contains(&variant.as_str());
    if values.istio_enabled() {
        if !meshed {
            explain.say(format!(
                "{}: variant {variant} runs without the Kubeflow gateway, so it needs no Istio",
                c.chart
            ));
        }
        return Ok(());
    }
    if !meshed {
        return Ok(());
    }
    if values.variant_is_set(c) {
        return Err(Error::new(format!(
            "{key}.variant={variant} renders Istio objects but global.istio.enabled=false: set {key}.variant={} (upstream's variant without the gateway), or global.istio.enabled=true",
            m.standalone,
            key = c.key
        )));
    }
    values.set_variant(c, m.standalone)?;
    explain.say(format!(
        "{}: variant {} ({}.variant={}, upstream's variant without the gateway) because global.istio.enabled=false and the default variant {variant} renders Istio objects",
        c.chart, m.standalone, c.key, m.standalone
    ));
    Ok(())
}

/// Who needs `target` in the current values (enabled components only).
fn dependents<'a>(
    catalog: &'a Catalog,
    values: &Values,
    target: &Component,
) -> Vec<(&'a Component, String)> {
    let mut out = Vec::new();
    for c in &catalog.components {
        if c.chart == target.chart || !values.enabled(c) {
            continue;
        }
        let gateway = values.gateway_variant(c);
        for (dep, why) in catalog.needs(c, gateway.as_deref()) {
            if dep.chart == target.chart {
                out.push((c, why));
            }
        }
    }
    out
}

/// Switches `targets` off. A component still needed by an enabled one is an
/// error naming who needs it, unless `cascade` (then those go too,
/// transitively). Needs of the auth mode cannot be cascaded away.
pub fn disable(
    catalog: &Catalog,
    values: &mut Values,
    targets: &[&Component],
    cascade: bool,
) -> Result<Explain> {
    let mut explain = Explain::default();
    for c in targets {
        if !values.enabled(c) {
            explain.say(format!(
                "{}: already disabled ({})",
                c.chart,
                values.enabled_source(c)
            ));
        } else {
            values.set_enabled(c, false)?;
            explain.say(format!(
                "{}: disabled ({}.enabled=false, requested)",
                c.chart, c.key
            ));
        }
    }
    let mut queue: Vec<&Component> = targets.to_vec();
    while let Some(c) = queue.pop() {
        if values.present(c) {
            // Still provided outside the release (global.externalComponents).
            continue;
        }
        if values
            .auth_needs(catalog)
            .iter()
            .any(|n| n.chart == c.chart)
        {
            return Err(Error::new(format!(
                "cannot disable {}: global.auth.mode={} needs it; choose another global.auth.mode (e.g. oidc or none) first",
                c.chart,
                values.auth_mode()
            )));
        }
        let needed_by = dependents(catalog, values, c);
        if needed_by.is_empty() {
            continue;
        }
        if !cascade {
            let who: Vec<String> = needed_by
                .iter()
                .map(|(d, why)| format!("{} ({why})", d.chart))
                .collect();
            let names: Vec<&str> = needed_by.iter().map(|(d, _)| d.chart.as_str()).collect();
            return Err(Error::new(format!(
                "cannot disable {}: still needed by {}; disable them too (helm kubeflow disable {} {}) or pass --cascade",
                c.chart,
                who.join(", "),
                c.chart,
                names.join(" ")
            )));
        }
        for (d, why) in needed_by {
            values.set_enabled(d, false)?;
            explain.say(format!(
                "{}: disabled ({}.enabled=false, --cascade) because {why}",
                d.chart, d.key
            ));
            queue.push(d);
        }
    }
    Ok(explain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::parse_user_values;

    fn run_enable(yaml: &str, names: &[&str]) -> (Values, Explain) {
        let catalog = Catalog::embedded();
        let mut values = Values::new(parse_user_values(yaml.as_bytes()).unwrap());
        let targets: Vec<&Component> = names.iter().map(|n| catalog.lookup(n).unwrap()).collect();
        let explain = enable(&catalog, &mut values, &targets).unwrap();
        (values, explain)
    }

    fn on(values: &Values, name: &str) -> bool {
        values.enabled(Catalog::embedded().by_name(name).unwrap())
    }

    #[test]
    fn enable_switches_on_missing_requirements_with_reasons() {
        // A minimal install: everything tagged off, then ask for katib.
        let all_off = "tags: {core: false, istio: false, auth: false, notebooks: false, pipelines: false, katib: false, training: false, serving: false, spark: false}";
        let (values, explain) = run_enable(all_off, &["katib"]);
        for name in [
            "katib",
            "cert-manager",
            "kubeflow-namespace",
            "istio-crds",
            "istio",
            "kubeflow-istio-resources",
            "dex",
            "oauth2-proxy",
        ] {
            assert!(
                on(&values, name),
                "{name} should be on: {:?}",
                explain.lines
            );
        }
        for name in ["pipelines", "profiles", "kserve"] {
            assert!(!on(&values, name), "{name} should stay off");
        }
        let text = explain.lines.join("\n");
        assert!(text.contains("cert-manager: enabled (cert-manager.enabled=true) because katib requires cert-manager"), "{text}");
        assert!(text.contains("istio-crds: enabled (istio-crds.enabled=true) because istio requires istio-crds")
            || text.contains("istio-crds: enabled (istio-crds.enabled=true) because katib (variant with-kubeflow) is served behind the Kubeflow gateway"), "{text}");
        assert!(
            text.contains("because global.auth.mode=dex-oauth2-proxy needs it"),
            "{text}"
        );
        assert!(
            text.contains("hint: katib works best with centraldashboard"),
            "{text}"
        );
    }

    #[test]
    fn enable_without_istio_needs_no_gateway_or_auth() {
        let yaml = "global: {istio: {enabled: false}, auth: {mode: none}}\ntags: {core: false, istio: false, auth: false, notebooks: false}";
        let (values, _) = run_enable(yaml, &["jupyter-web-app"]);
        assert!(on(&values, "notebook-controller") && on(&values, "kubeflow-namespace"));
        assert!(!on(&values, "istio") && !on(&values, "dex"));
    }

    fn variant(values: &Values, name: &str) -> String {
        values.variant(Catalog::embedded().by_name(name).unwrap())
    }

    /// Findings of `doctor` that the chart would refuse to render for: a
    /// missing component or a variant mismatch.
    fn render_errors(values: &Values) -> Vec<crate::doctor::Finding> {
        crate::doctor::check(&Catalog::embedded(), values)
            .into_iter()
            .filter(|f| {
                f.severity == crate::doctor::Severity::Error
                    && (f.value.ends_with(".enabled") || f.value.ends_with(".variant"))
            })
            .collect()
    }

    #[test]
    fn enable_takes_the_variant_into_account() {
        let all_off = "tags: {core: false, istio: false, auth: false, notebooks: false, pipelines: false, katib: false, training: false, serving: false, spark: false}";
        let no_istio = "global: {istio: {enabled: false}, auth: {mode: none}}\ntags: {core: false, istio: false, auth: false, notebooks: false, pipelines: false, katib: false, training: false, serving: false, spark: false}";
        // (values, targets, on, off, (component, variant), explain lines wanted, lines refused)
        type Case<'a> = (
            String,
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
            &'a [(&'a str, &'a str)],
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: Vec<Case> = vec![
            // Meshed (default) variant with Istio on: the gateway trio.
            (all_off.to_string(), &["katib"], &["istio-crds", "istio", "kubeflow-istio-resources"], &[], &[("katib", "with-kubeflow")],
             &["because katib (variant with-kubeflow) is served behind the Kubeflow gateway"], &[]),
            // Standalone variant with Istio on: katib needs no gateway (the
            // auth mode still needs dex and oauth2-proxy, which need istio).
            (format!("{all_off}\nkatib: {{variant: standalone}}"), &["katib"], &["katib", "cert-manager", "kubeflow-namespace"], &["profiles"], &[("katib", "standalone")],
             &["katib: variant standalone runs without the Kubeflow gateway, so it needs no Istio"], &["because katib (variant"]),
            // Istio off: default meshed variants become upstream's standalone ones.
            (no_istio.to_string(), &["jupyter-web-app"], &["jupyter-web-app", "notebook-controller"], &["istio", "kubeflow-istio-resources", "dex", "oauth2-proxy"], &[("jupyter-web-app", "base")],
             &["jupyter-web-app: variant base (jupyter-web-app.variant=base, upstream's variant without the gateway) because global.istio.enabled=false and the default variant istio renders Istio objects"], &[]),
            (no_istio.to_string(), &["pipelines"], &["pipelines", "profiles", "cert-manager"], &["istio", "kubeflow-istio-resources"], &[("pipelines", "generic"), ("profiles", "standalone")],
             &["profiles: variant standalone (profiles.variant=standalone"], &[]),
            (no_istio.to_string(), &["katib"], &["katib"], &["istio"], &[("katib", "standalone")], &[], &[]),
        ];
        for (yaml, targets, want_on, want_off, want_variants, want_lines, refused_lines) in cases {
            let (values, explain) = run_enable(&yaml, targets);
            let text = explain.lines.join("\n");
            for name in want_on {
                assert!(
                    on(&values, name),
                    "{yaml} / {targets:?}: {name} should be on\n{text}"
                );
            }
            for name in want_off {
                assert!(
                    !on(&values, name),
                    "{yaml} / {targets:?}: {name} should stay off\n{text}"
                );
            }
            for (name, want) in want_variants {
                assert_eq!(
                    &variant(&values, name),
                    want,
                    "{yaml} / {targets:?}\n{text}"
                );
            }
            for line in want_lines {
                assert!(
                    text.contains(line),
                    "{yaml} / {targets:?}: want {line:?}\n{text}"
                );
            }
            for line in refused_lines {
                assert!(
                    !text.contains(line),
                    "{yaml} / {targets:?}: unexpected {line:?}\n{text}"
                );
            }
            // What enable prints passes the chart's dependency and variant checks.
            assert_eq!(
                render_errors(&values),
                vec![],
                "{yaml} / {targets:?}\n{text}"
            );
        }
    }

    #[test]
    fn enable_refuses_a_chosen_meshed_variant_without_istio() {
        let catalog = Catalog::embedded();
        let yaml = "global: {istio: {enabled: false}, auth: {mode: none}}\nkatib: {enabled: false, variant: with-kubeflow}";
        let mut values = Values::new(parse_user_values(yaml.as_bytes()).unwrap());
        let err = enable(&catalog, &mut values, &[catalog.lookup("katib").unwrap()])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "katib.variant=with-kubeflow renders Istio objects but global.istio.enabled=false: set katib.variant=standalone (upstream's variant without the gateway), or global.istio.enabled=true");
    }

    #[test]
    fn disable_of_the_gateway_ignores_standalone_components() {
        let standalone: String = variants::MESHED_VARIANTS
            .iter()
            .map(|m| format!("{}: {{variant: {}}}\n", m.key, m.standalone))
            .collect();
        // No component is served behind the gateway: the gateway resources can go.
        let (values, _) = run_disable(&standalone, &["kubeflow-istio-resources"], false).unwrap();
        assert!(!on(&values, "kubeflow-istio-resources"));
        // Only katib meshed: it is the one named.
        let one = standalone.replace(
            "katib: {variant: standalone}",
            "katib: {variant: with-kubeflow}",
        );
        let err = run_disable(&one, &["kubeflow-istio-resources"], false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("still needed by katib (katib (variant with-kubeflow) is served behind the Kubeflow gateway"), "{err}");
        assert!(!err.contains("pipelines"), "{err}");
    }

    #[test]
    fn enable_of_an_enabled_component_changes_nothing() {
        let (values, explain) = run_enable("", &["katib"]);
        assert_eq!(explain.lines[0], "katib: already enabled (tags.katib)");
        assert!(values.user.is_empty(), "{:?}", values.user);
    }

    #[test]
    fn external_components_satisfy_requirements() {
        let yaml = "cert-manager: {enabled: false}\nglobal: {externalComponents: [cert-manager]}";
        let (values, _) = run_enable(yaml, &["katib"]);
        assert!(!on(&values, "cert-manager"));
    }

    fn run_disable(yaml: &str, names: &[&str], cascade: bool) -> Result<(Values, Explain)> {
        let catalog = Catalog::embedded();
        let mut values = Values::new(parse_user_values(yaml.as_bytes()).unwrap());
        let targets: Vec<&Component> = names.iter().map(|n| catalog.lookup(n).unwrap()).collect();
        let explain = disable(&catalog, &mut values, &targets, cascade)?;
        Ok((values, explain))
    }

    #[test]
    fn disable_refuses_when_needed_and_names_who() {
        let cases: [(&str, &[&str], &str); 3] = [
            ("", &["notebook-controller"], "cannot disable notebook-controller: still needed by jupyter-web-app (jupyter-web-app requires notebook-controller)"),
            ("", &["dex"], "global.auth.mode=dex-oauth2-proxy needs it"),
            ("", &["kubeflow-istio-resources"], "centraldashboard (centraldashboard (variant oauth2-proxy) is served behind the Kubeflow gateway"),
        ];
        for (yaml, names, want) in cases {
            let err = run_disable(yaml, names, false).unwrap_err().to_string();
            assert!(err.contains(want), "{names:?}: {err}");
        }
    }

    #[test]
    fn disable_with_cascade_takes_dependents_transitively() {
        let (values, explain) = run_disable("", &["kserve"], true).unwrap();
        assert!(!on(&values, "kserve") && !on(&values, "models-web-app"));
        assert!(
            on(&values, "knative-serving"),
            "recommends are not cascaded"
        );
        assert!(explain.lines.iter().any(|l| l == "models-web-app: disabled (models-web-app.enabled=false, --cascade) because models-web-app requires kserve"));

        let (values, _) = run_disable("", &["profiles"], true).unwrap();
        for name in [
            "pipelines",
            "centraldashboard",
            "user-namespace",
            "profiles",
        ] {
            assert!(!on(&values, name), "{name}");
        }
        assert!(on(&values, "katib"));
    }

    #[test]
    fn disable_of_a_leaf_is_plain() {
        let (values, explain) = run_disable("", &["katib"], false).unwrap();
        assert!(!on(&values, "katib"));
        assert_eq!(
            explain.lines,
            ["katib: disabled (katib.enabled=false, requested)"]
        );
    }
}
