//! Argument parsing and dispatch, independent of how the plugin is hosted:
//! stdin is read lazily (only commands that are pipes touch it, so
//! `helm kubeflow components` never blocks on a terminal), and the result is
//! bytes for stdout / stderr, so nothing is written before a command succeeds.

use crate::catalog::{Catalog, Component};
use crate::error::{Error, Result};
use crate::values::{parse_user_values, Values};
use crate::{components, deps, doctor, presets, profiles};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub const HELP: &str = "\
helm kubeflow: the Kubeflow component catalog, values helpers and the kf-post engine (WASM)

The plugin runs in Helm's WASM sandbox: it reads stdin and writes stdout, so
commands are pipes.

Commands:
  components [-o table|yaml|json|mermaid|markdown]
                                           the catalog: dependencies, namespaces, footprint
  enable COMPONENT... [--explain]          values on stdin -> values with COMPONENT(s) and
                                           what they need switched on
  disable COMPONENT... [--cascade] [--explain]
                                           values on stdin -> values with COMPONENT(s) off;
                                           refuses while others need them unless --cascade
  preset [NAME]                            print a preset's values (no NAME: list presets)
  profile add NAME --owner EMAIL [--cpu Q] [--memory Q]
  profile remove NAME                      values on stdin -> values with global.profiles edited
  doctor [-o table|json]                   values on stdin -> findings (exit 1 on errors)
  render [--explain]                       post-render a manifest stream on stdin with the kf-post
                                           engine; its PostRenderConfig document travels in the stream
  validate-config [-]                      check a PostRenderConfig on stdin against its schema
                                           (post-renderer/schema/postrenderconfig.schema.json) and
                                           the engine's checks; exit 1 naming the field if bad
  version, help

COMPONENT is a chart name (katib, jupyter-web-app) or umbrella key (jupyter-web-app).

Examples:
  helm get values kubeflow -o yaml | helm kubeflow enable katib --explain \\
    | helm upgrade kubeflow charts/kubeflow --reuse-values -f - --post-renderer kf-post
  helm kubeflow preset production > values.yaml
  helm get values kubeflow -o yaml | helm kubeflow doctor
  helm template kubeflow charts/kubeflow | helm kubeflow render > manifests.yaml
  helm kubeflow validate-config < kf-post.yaml
";

/// What a successful command produced. `failure` is set when the command
/// printed its result but must still exit non-zero (doctor with errors).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub failure: Option<String>,
}

impl Outcome {
    fn out(text: impl Into<Vec<u8>>) -> Outcome {
        Outcome {
            stdout: text.into(),
            ..Outcome::default()
        }
    }
}

/// Flags a command accepts; anything else is an error (never ignored).
struct Args {
    positional: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(raw: &[String], booleans: &[&str], valued: &[&str]) -> Result<Args> {
        let mut positional = Vec::new();
        let mut flags = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            let a = &raw[i];
            if let Some(flag) = a
                .strip_prefix("--")
                .or_else(|| a.strip_prefix('-').filter(|f| f.len() == 1))
            {
                let (name, inline) = match flag.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (flag.to_string(), None),
                };
                let name = if name == "o" {
                    "output".to_string()
                } else {
                    name
                };
                if booleans.contains(&name.as_str()) {
                    if inline.is_some() {
                        return Err(Error::new(format!("--{name} takes no value")));
                    }
                    flags.push((name, None));
                } else if valued.contains(&name.as_str()) {
                    let v = match inline {
                        Some(v) => v,
                        None => {
                            i += 1;
                            raw.get(i)
                                .cloned()
                                .ok_or_else(|| Error::new(format!("--{name} needs a value")))?
                        }
                    };
                    flags.push((name, Some(v)));
                } else {
                    let mut known: Vec<String> = booleans
                        .iter()
                        .chain(valued)
                        .map(|f| format!("--{f}"))
                        .collect();
                    known.sort();
                    return Err(Error::new(format!(
                        "unknown flag {a}; this command accepts: {}",
                        if known.is_empty() {
                            "no flags".to_string()
                        } else {
                            known.join(", ")
                        }
                    )));
                }
            } else {
                positional.push(a.clone());
            }
            i += 1;
        }
        Ok(Args { positional, flags })
    }

    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| n == name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

fn components_named<'a>(
    catalog: &'a Catalog,
    words: &[String],
    verb: &str,
) -> Result<Vec<&'a Component>> {
    if words.is_empty() {
        return Err(Error::new(format!(
            "{verb}: name at least one component (helm kubeflow components lists them)"
        )));
    }
    words.iter().map(|w| catalog.lookup(w)).collect()
}

fn read_values(stdin: &mut dyn FnMut() -> Result<Vec<u8>>) -> Result<Values> {
    Ok(Values::new(parse_user_values(&stdin()?)?))
}

fn no_positionals(args: &Args, command: &str) -> Result<()> {
    match args.positional.first() {
        Some(extra) => Err(Error::new(format!(
            "{command}: unexpected argument {extra:?}"
        ))),
        None => Ok(()),
    }
}

/// Runs one command line (`extraArgs` as Helm passes them).
pub fn run(argv: &[String], stdin: &mut dyn FnMut() -> Result<Vec<u8>>) -> Result<Outcome> {
    let catalog = Catalog::embedded();
    let Some((command, rest)) = argv.split_first() else {
        return Ok(Outcome::out(HELP));
    };
    match command.as_str() {
        "help" | "--help" | "-h" => Ok(Outcome::out(HELP)),
        "version" | "--version" => {
            no_positionals(&Args::parse(rest, &[], &[])?, "version")?;
            Ok(Outcome::out(format!(
                "helm-kubeflow {VERSION} (kubeflow 26.03, engine kf-post {VERSION})\n"
            )))
        }
        "components" => {
            let args = Args::parse(rest, &[], &["output"])?;
            no_positionals(&args, "components")?;
            let format = components::Format::parse(args.value("output").unwrap_or("table"))?;
            Ok(Outcome::out(components::render(&catalog, format)?))
        }
        "enable" | "disable" => {
            let args = Args::parse(rest, &["explain", "cascade"], &[])?;
            if command == "enable" && args.has("cascade") {
                return Err(Error::new("enable: --cascade only applies to disable"));
            }
            let targets = components_named(&catalog, &args.positional, command)?;
            let mut values = read_values(stdin)?;
            let explain = if command == "enable" {
                deps::enable(&catalog, &mut values, &targets)?
            } else {
                deps::disable(&catalog, &mut values, &targets, args.has("cascade"))?
            };
            let mut outcome = Outcome::out(values.to_yaml()?);
            if args.has("explain") {
                outcome.stderr = explain.lines.iter().map(|l| format!("{l}\n")).collect();
            }
            Ok(outcome)
        }
        "preset" => {
            let args = Args::parse(rest, &[], &[])?;
            match args.positional.as_slice() {
                [] => Ok(Outcome::out(
                    presets::names()
                        .iter()
                        .map(|n| format!("{n}\n"))
                        .collect::<String>(),
                )),
                [name] => Ok(Outcome::out(presets::get(name)?)),
                [_, extra, ..] => Err(Error::new(format!("preset: unexpected argument {extra:?}"))),
            }
        }
        "profile" => {
            let args = Args::parse(rest, &[], &["owner", "cpu", "memory"])?;
            let mut values;
            match args.positional.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                ["add", name] => {
                    let owner = args.value("owner").ok_or_else(|| Error::new("profile add: --owner EMAIL is required"))?;
                    values = read_values(stdin)?;
                    profiles::add(
                        &mut values,
                        &profiles::NewProfile {
                            name: name.to_string(),
                            owner: owner.to_string(),
                            cpu: args.value("cpu").map(str::to_string),
                            memory: args.value("memory").map(str::to_string),
                        },
                    )?;
                }
                ["remove", name] => {
                    if !args.flags.is_empty() {
                        return Err(Error::new("profile remove: takes no flags"));
                    }
                    values = read_values(stdin)?;
                    profiles::remove(&mut values, name)?;
                }
                _ => return Err(Error::new("usage: profile add NAME --owner EMAIL [--cpu Q] [--memory Q] | profile remove NAME")),
            }
            Ok(Outcome::out(values.to_yaml()?))
        }
        "doctor" => {
            let args = Args::parse(rest, &[], &["output"])?;
            no_positionals(&args, "doctor")?;
            let json = match args.value("output").unwrap_or("table") {
                "table" => false,
                "json" => true,
                other => {
                    return Err(Error::new(format!(
                        "--output {other:?}: expected table or json"
                    )))
                }
            };
            let values = read_values(stdin)?;
            let findings = doctor::check(&catalog, &values);
            let stdout = if json {
                serde_json::to_string_pretty(&findings)
                    .map_err(|e| Error::new(format!("serializing findings: {e}")))?
                    + "\n"
            } else {
                doctor::render_table(&findings)
            };
            let errors = findings
                .iter()
                .filter(|f| f.severity == doctor::Severity::Error)
                .count();
            Ok(Outcome {
                stdout: stdout.into_bytes(),
                stderr: String::new(),
                failure: (errors > 0).then(|| format!("doctor: {errors} error(s) in the values")),
            })
        }
        "render" => {
            let args = Args::parse(rest, &["explain"], &[])?;
            no_positionals(&args, "render")?;
            let input = stdin()?;
            let out = kf_post::post_render(
                &input,
                &kf_post::Options {
                    config_yaml: None,
                    explain: args.has("explain"),
                },
            )
            .map_err(|e| Error::new(format!("render: {e}")))?;
            Ok(Outcome {
                stdout: out.stream,
                stderr: out.explain,
                failure: None,
            })
        }
        "validate-config" => {
            let args = Args::parse(rest, &[], &[])?;
            match args.positional.as_slice() {
                [] => {}
                [dash] if dash == "-" => {}
                [file, ..] => {
                    return Err(Error::new(format!(
                        "validate-config: the WASM sandbox cannot open {file:?}; \
                         pipe it in: helm kubeflow validate-config < {file}"
                    )))
                }
            }
            let input = stdin()?;
            let text = std::str::from_utf8(&input)
                .map_err(|e| Error::new(format!("validate-config: config is not UTF-8: {e}")))?;
            kf_post::config::validate(text)
                .map_err(|e| Error::new(format!("validate-config: {e}")))?;
            Ok(Outcome::out("valid PostRenderConfig\n"))
        }
        other => Err(Error::new(format!(
            "unknown command {other:?}; run `helm kubeflow help`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(args: &[&str], stdin: &str) -> Result<Outcome> {
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let input = stdin.as_bytes().to_vec();
        run(&argv, &mut || Ok(input.clone()))
    }

    fn stdout(o: &Outcome) -> &str {
        std::str::from_utf8(&o.stdout).unwrap()
    }

    #[test]
    fn commands_that_are_not_pipes_never_read_stdin() {
        for args in [
            &["components"][..],
            &["version"],
            &["help"],
            &["preset"],
            &["preset", "full"],
            &[],
        ] {
            let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let out = run(&argv, &mut || panic!("{args:?} read stdin")).unwrap();
            assert!(!out.stdout.is_empty(), "{args:?}");
        }
    }

    #[test]
    fn enable_prints_values_and_explains_on_stderr() {
        let out = run_with(
            &["enable", "model-registry", "--explain"],
            "katib: {enabled: true}\n",
        )
        .unwrap();
        assert_eq!(
            stdout(&out),
            "katib:\n  enabled: true\nmodel-registry:\n  enabled: true\n"
        );
        assert_eq!(
            out.stderr,
            "model-registry: enabled (model-registry.enabled=true, requested)\n"
        );
        let quiet = run_with(&["enable", "model-registry"], "").unwrap();
        assert_eq!(quiet.stderr, "");
    }

    #[test]
    fn profile_and_disable_pipe_values_through() {
        let out = run_with(
            &["profile", "add", "team-a", "--owner=a@x.io", "--cpu", "4"],
            "",
        )
        .unwrap();
        assert_eq!(stdout(&out), "global:\n  profiles:\n  - name: team-a\n    owner: a@x.io\n    resourceQuota:\n      cpu: '4'\n");
        let out = run_with(&["profile", "remove", "team-a"], stdout(&out)).unwrap();
        assert_eq!(stdout(&out), "global:\n  profiles: []\n");
        let out = run_with(&["disable", "kserve", "--cascade"], "").unwrap();
        assert_eq!(
            stdout(&out),
            "kserve:\n  enabled: false\nmodels-web-app:\n  enabled: false\n"
        );
    }

    #[test]
    fn doctor_prints_findings_and_fails_on_errors() {
        let out = run_with(&["doctor"], "cert-manager: {enabled: false}").unwrap();
        assert!(stdout(&out).starts_with("error    cert-manager.enabled"));
        // One error per default component that requires cert-manager.
        let needing = Catalog::embedded()
            .components
            .iter()
            .filter(|c| c.default && c.requires.contains(&"cert-manager".to_string()))
            .count();
        assert!(needing > 0);
        assert_eq!(
            out.failure,
            Some(format!("doctor: {needing} error(s) in the values"))
        );
        // (values, -o json: severity and value of the first finding, failure)
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            ("", "warning", "dex.credentials.userPasswordHash", None),
            (
                "global: {credentials: {mode: generate}}",
                "error",
                "dex.credentials.userPasswordHash",
                Some("doctor: 3 error(s) in the values"),
            ),
            (
                "global: {auth: {mode: oidc}}\ndex: {enabled: false}",
                "error",
                "global.auth.oidc.issuerUrl",
                Some("doctor: 5 error(s) in the values"),
            ),
            (
                "global: {auth: {allowDemoCredentials: false}}",
                "warning",
                "dex.credentials.userPasswordHash",
                None,
            ),
        ];
        for (yaml, severity, value, failure) in cases {
            let out = run_with(&["doctor", "-o", "json"], yaml).unwrap();
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(json[0]["severity"], *severity, "{yaml}: {json:#}");
            assert_eq!(json[0]["value"], *value, "{yaml}: {json:#}");
            assert_eq!(out.failure.as_deref(), *failure, "{yaml}: {json:#}");
        }
    }

    #[test]
    fn validate_config_reads_stdin_and_names_the_bad_field() {
        let good = "apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nspec: {security: {preset: hardened}}\n";
        assert_eq!(
            stdout(&run_with(&["validate-config"], good).unwrap()),
            "valid PostRenderConfig\n"
        );
        assert_eq!(
            stdout(&run_with(&["validate-config", "-"], good).unwrap()),
            "valid PostRenderConfig\n"
        );
        // (arguments, stdin, error)
        let cases: &[(&[&str], &str, &str)] = &[
            (
                &["validate-config"],
                &good.replace("hardened", "hardend"),
                "validate-config: config: spec.security.preset: unknown variant `hardend`",
            ),
            (
                &["validate-config"],
                "kind: ConfigMap\n",
                "apiVersion must be kf-post.kubeflow.org/v1alpha1",
            ),
            (
                &["validate-config", "kf-post.yaml"],
                good,
                "pipe it in: helm kubeflow validate-config < kf-post.yaml",
            ),
        ];
        for (args, input, want) in cases {
            let err = run_with(args, input).unwrap_err().to_string();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn bad_command_lines_are_errors_naming_the_problem() {
        let cases: &[(&[&str], &str)] = &[
            (&["frobnicate"], "unknown command \"frobnicate\""),
            (&["enable"], "enable: name at least one component"),
            (&["enable", "katb"], "unknown component \"katb\""),
            (
                &["enable", "katib", "--cascade"],
                "--cascade only applies to disable",
            ),
            (&["components", "--output"], "--output needs a value"),
            (
                &["components", "--format", "x"],
                "unknown flag --format; this command accepts: --output",
            ),
            (
                &["components", "-o", "xml"],
                "expected table, yaml, json, mermaid or markdown",
            ),
            (&["profile", "add", "a"], "--owner EMAIL is required"),
            (&["profile", "list"], "usage: profile add"),
            (
                &["doctor", "extra"],
                "doctor: unexpected argument \"extra\"",
            ),
            (&["preset", "nope"], "unknown preset \"nope\""),
            (
                &["version", "--explain"],
                "unknown flag --explain; this command accepts: no flags",
            ),
        ];
        for (args, want) in cases {
            let err = run_with(args, "").unwrap_err().to_string();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn malformed_values_are_reported_before_anything_is_printed() {
        let err = run_with(&["enable", "katib"], "katib: [")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("values on stdin: invalid YAML"), "{err}");
    }
}
