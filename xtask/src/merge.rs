//! One template per upstream object (issue 17): the template texts of an object's
//! versions (one per group of scenarios with equal upstream) merged into one, where
//! only what differs is guarded by `variant`.
//!
//! The merge is on lines of template text: the lines common to every version (in
//! order, found by diffing) stay unconditional; each stretch between two common
//! lines where the versions differ becomes `{{- if has $.Values.variant (list …) }}`
//! … `{{- else if … }}` … `{{- end }}`, one branch per distinct stretch. Rendering
//! any scenario therefore yields exactly its own version's text (the `{{-` guards
//! trim only the newline before them). Lines are grouped first so that a template
//! action spanning lines (`{{- with … }}` … `{{- end }}` from the value
//! injection) is one unit that is kept or guarded whole, never split across guards.
//!
//! Which objects of the scenarios are one upstream object is [`one_object_groups`]'s
//! rule: the same group, kind and [`identity_name`], never two in one scenario.

use crate::upstream::ResKey;
use indexmap::IndexMap;
use similar::{capture_diff_slices, Algorithm, DiffOp};
use std::collections::BTreeSet;

/// kustomize's name-hash alphabet: hex digits with 0, 1, 3, a and e replaced by g,
/// h, k, m and t (sigs.k8s.io/kustomize/api/hasher `encode`).
const KUSTOMIZE_HASH_CHARS: &str = "2456789bcdfghkmt";

/// The name an object keeps across scenarios: a ConfigMap's or Secret's name
/// without the content-hash suffix kustomize's generators append (`-` and ten
/// characters of its alphabet), which changes whenever a variant changes the data
/// (or generates what another variant lists under its plain name). Other kinds
/// are never renamed by kustomize, so their name is the identity.
pub fn identity_name<'a>(kind: &str, name: &'a str) -> &'a str {
    if !matches!(kind, "ConfigMap" | "Secret") {
        return name;
    }
    match name.rsplit_once('-') {
        Some((stem, hash))
            if !stem.is_empty()
                && hash.len() == 10
                && hash.chars().all(|c| KUSTOMIZE_HASH_CHARS.contains(c)) =>
        {
            stem
        }
        _ => name,
    }
}

/// The objects of a chart (key, the scenarios that have it), grouped into upstream
/// objects, one template each, in first-seen order. Keys are one object when they
/// share group, kind and [`identity_name`] and no scenario has two of them: an
/// overlay moved it to another namespace or a generator renamed it. If some
/// scenario has two such keys they are distinct objects there, so each stays its
/// own. Rendering is unaffected either way: each scenario gets its own version
/// back from [`merge`]; the rule only decides how many templates there are.
pub fn one_object_groups<'a>(objects: &[(&'a ResKey, BTreeSet<&'a str>)]) -> Vec<Vec<&'a ResKey>> {
    let mut by_identity: IndexMap<(&str, &str, &str), Vec<usize>> = IndexMap::new();
    for (i, (key, _)) in objects.iter().enumerate() {
        by_identity
            .entry((&key.group, &key.kind, identity_name(&key.kind, &key.name)))
            .or_default()
            .push(i);
    }
    let mut groups = Vec::new();
    for members in by_identity.values() {
        let disjoint = members.iter().enumerate().all(|(n, &a)| {
            members[n + 1..]
                .iter()
                .all(|&b| objects[a].1.is_disjoint(&objects[b].1))
        });
        if disjoint {
            groups.push(members.iter().map(|&i| objects[i].0).collect());
        } else {
            groups.extend(members.iter().map(|&i| vec![objects[i].0]));
        }
    }
    groups
}

/// Nesting change of one line: template actions it opens minus those it closes.
fn depth_change(line: &str) -> i64 {
    let count =
        |pats: &[&str]| -> i64 { pats.iter().map(|p| line.matches(p).count() as i64).sum() };
    count(&[
        "{{- if ",
        "{{ if ",
        "{{- with ",
        "{{ with ",
        "{{- range ",
        "{{ range ",
    ]) - count(&["{{- end", "{{ end"])
}

/// The text as units: single lines, or the lines of a template action that spans
/// several (until its nesting is balanced again). Each unit ends with `\n`.
pub fn units(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for line in text.split_inclusive('\n') {
        cur.push_str(line);
        depth += depth_change(line);
        if depth <= 0 {
            out.push(std::mem::take(&mut cur));
            depth = 0;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Indexes, in `b`, of the units of `common` (a subsequence of `b`).
fn embed(common: &[String], b: &[String]) -> Vec<usize> {
    let mut pos = Vec::with_capacity(common.len());
    for op in capture_diff_slices(Algorithm::Myers, common, b) {
        if let DiffOp::Equal {
            old_index: _,
            new_index,
            len,
        } = op
        {
            pos.extend(new_index..new_index + len);
        }
    }
    pos
}

/// Units common to `a` and `b`, in order.
fn common_units(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, a, b) {
        if let DiffOp::Equal { old_index, len, .. } = op {
            out.extend_from_slice(&a[old_index..old_index + len]);
        }
    }
    out
}

/// `{{- <keyword> <variant_condition> }}` (`if`, `else if`).
pub fn variant_guard(keyword: &str, scenarios: &[String]) -> String {
    format!("{{{{- {keyword} {} }}}}", variant_condition(scenarios))
}

/// The template condition "the chart's `variant` is one of `scenarios`".
pub fn variant_condition(scenarios: &[String]) -> String {
    let list = crate::template::go_strings(scenarios);
    format!("has $.Values.variant (list {list})")
}

/// Merge the versions (scenarios, template text) of one object into one text.
pub fn merge(versions: &[(Vec<String>, String)]) -> String {
    if versions.len() == 1 {
        return versions[0].1.clone();
    }
    let units: Vec<Vec<String>> = versions.iter().map(|(_, t)| units(t)).collect();
    let mut common = units[0].clone();
    for u in &units[1..] {
        common = common_units(&common, u);
    }
    let positions: Vec<Vec<usize>> = units.iter().map(|u| embed(&common, u)).collect();
    let mut out = String::new();
    for k in 0..=common.len() {
        // The stretch of each version between common unit k-1 and common unit k.
        let gaps: Vec<&[String]> = units
            .iter()
            .zip(&positions)
            .map(|(u, p)| {
                let start = if k == 0 { 0 } else { p[k - 1] + 1 };
                let end = if k == common.len() { u.len() } else { p[k] };
                &u[start..end]
            })
            .collect();
        if gaps.iter().all(|g| *g == gaps[0]) {
            gaps[0].iter().for_each(|l| out.push_str(l));
        } else {
            // One branch per distinct non-empty stretch, with every scenario that has it.
            let mut branches: Vec<(Vec<String>, &[String])> = Vec::new();
            for (g, (scenarios, _)) in gaps.iter().zip(versions) {
                if g.is_empty() {
                    continue;
                }
                match branches.iter_mut().find(|(_, b)| b == g) {
                    Some((s, _)) => s.extend(scenarios.iter().cloned()),
                    None => branches.push((scenarios.clone(), g)),
                }
            }
            for (i, (scenarios, lines)) in branches.iter().enumerate() {
                out.push_str(&variant_guard(
                    if i == 0 { "if" } else { "else if" },
                    scenarios,
                ));
                out.push('\n');
                lines.iter().for_each(|l| out.push_str(l));
            }
            out.push_str("{{- end }}\n");
        }
        if k < common.len() {
            out.push_str(&common[k]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_names() {
        // (kind, name, identity)
        let cases = [
            (
                "ConfigMap",
                "notebook-controller-config-fhm9f7tdt5",
                "notebook-controller-config",
            ),
            (
                "Secret",
                "katib-mysql-secrets-th9dkf48dg",
                "katib-mysql-secrets",
            ),
            ("ConfigMap", "katib-config", "katib-config"),
            // Not kustomize's hash: a character outside its alphabet (a, e, 0, 1, 3), or not ten.
            ("ConfigMap", "cfg-abcdefghkm", "cfg-abcdefghkm"),
            ("ConfigMap", "cfg-fhm9f7tdt", "cfg-fhm9f7tdt"),
            ("ConfigMap", "cfg-fhm9f7tdt55", "cfg-fhm9f7tdt55"),
            ("ConfigMap", "-fhm9f7tdt5", "-fhm9f7tdt5"),
            // Only generated kinds are renamed by kustomize.
            ("Deployment", "web-fhm9f7tdt5", "web-fhm9f7tdt5"),
        ];
        for (kind, name, want) in cases {
            assert_eq!(identity_name(kind, name), want, "{kind} {name}");
        }
    }

    #[test]
    fn one_object_per_identity_never_two_in_a_scenario() {
        let key = |kind: &str, ns: &str, name: &str| ResKey {
            group: String::new(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        };
        let set = |s: &[&'static str]| s.iter().copied().collect::<BTreeSet<&str>>();
        // (objects: key and scenarios, groups as indexes into objects)
        type Case = (Vec<(ResKey, BTreeSet<&'static str>)>, Vec<Vec<usize>>);
        let cases: Vec<Case> = vec![
            // A generated ConfigMap whose data one variant changes: one object.
            (
                vec![
                    (key("ConfigMap", "ns", "cfg-fhm9f7tdt5"), set(&["a", "b"])),
                    (key("ConfigMap", "ns", "cfg-h659mh255b"), set(&["c"])),
                ],
                vec![vec![0, 1]],
            ),
            // Renamed and moved to another namespace; a plain name and a generated one.
            (
                vec![
                    (
                        key("ConfigMap", "kserve", "web-config-ftgtkc6mg6"),
                        set(&["base"]),
                    ),
                    (
                        key("ConfigMap", "kubeflow", "web-config"),
                        set(&["kubeflow"]),
                    ),
                    (
                        key("Secret", "kubeflow", "db-th9dkf48dg"),
                        set(&["external"]),
                    ),
                    (key("Secret", "kubeflow", "db"), set(&["base", "kubeflow"])),
                ],
                vec![vec![0, 1], vec![2, 3]],
            ),
            // Moved to another namespace by an overlay: one object.
            (
                vec![
                    (key("Service", "a-system", "svc"), set(&["a"])),
                    (key("Service", "kubeflow", "svc"), set(&["b"])),
                ],
                vec![vec![0, 1]],
            ),
            // Two in one scenario are two objects, even if a third is disjoint.
            (
                vec![
                    (key("ConfigMap", "ns", "cfg-fhm9f7tdt5"), set(&["a"])),
                    (key("ConfigMap", "ns", "cfg-h659mh255b"), set(&["a", "b"])),
                    (key("ConfigMap", "ns", "cfg"), set(&["c"])),
                ],
                vec![vec![0], vec![1], vec![2]],
            ),
            // Another kind, or a name that only looks alike, is another object.
            (
                vec![
                    (key("Role", "ns", "r"), set(&["a"])),
                    (key("ClusterRole", "", "r"), set(&["b"])),
                    (key("Deployment", "ns", "web-fhm9f7tdt5"), set(&["a"])),
                    (key("Deployment", "ns", "web"), set(&["b"])),
                ],
                vec![vec![0], vec![1], vec![2], vec![3]],
            ),
        ];
        for (objects, want) in cases {
            let input: Vec<(&ResKey, BTreeSet<&str>)> =
                objects.iter().map(|(k, s)| (k, s.clone())).collect();
            let want: Vec<Vec<&ResKey>> = want
                .iter()
                .map(|g| g.iter().map(|&i| &objects[i].0).collect())
                .collect();
            assert_eq!(one_object_groups(&input), want);
        }
    }

    fn v(scenarios: &[&str], text: &str) -> (Vec<String>, String) {
        (
            scenarios.iter().map(|s| s.to_string()).collect(),
            text.to_string(),
        )
    }

    #[test]
    fn multi_line_actions_are_one_unit() {
        let text = "a: 1\n{{- with $.Values.x }}\nb: {{ . }}\n{{- end }}\nc: {{- with include \"l\" $ }}{{ . }}{{- end }}\nd: 2\n";
        assert_eq!(
            units(text),
            vec![
                "a: 1\n",
                "{{- with $.Values.x }}\nb: {{ . }}\n{{- end }}\n",
                "c: {{- with include \"l\" $ }}{{ . }}{{- end }}\n",
                "d: 2\n"
            ]
        );
    }

    #[test]
    fn only_what_differs_is_guarded() {
        // (versions, merged)
        type Versions = Vec<(Vec<String>, String)>;
        let cases: Vec<(Versions, &str)> = vec![
            (vec![v(&["a", "b"], "x: 1\ny: 2\n")], "x: 1\ny: 2\n"),
            (
                vec![v(&["a"], "x: 1\ny: 2\nz: 3\n"), v(&["b", "c"], "x: 1\ny: 9\nz: 3\n")],
                "x: 1\n{{- if has $.Values.variant (list \"a\") }}\ny: 2\n{{- else if has $.Values.variant (list \"b\" \"c\") }}\ny: 9\n{{- end }}\nz: 3\n",
            ),
            // A line only some versions have; three versions, two sharing a stretch.
            (
                vec![v(&["a"], "x: 1\nextra: e\nz: 3\n"), v(&["b"], "x: 1\nz: 3\n"), v(&["c"], "x: 1\nextra: e\nz: 3\n")],
                "x: 1\n{{- if has $.Values.variant (list \"a\" \"c\") }}\nextra: e\n{{- end }}\nz: 3\n",
            ),
            // Differences at the start and the end.
            (
                vec![v(&["a"], "k: A\nm: 1\n"), v(&["b"], "m: 1\nn: B\n")],
                "{{- if has $.Values.variant (list \"a\") }}\nk: A\n{{- end }}\nm: 1\n{{- if has $.Values.variant (list \"b\") }}\nn: B\n{{- end }}\n",
            ),
        ];
        for (versions, want) in cases {
            assert_eq!(merge(&versions), want);
        }
    }

    /// What a scenario renders from the merged text is its own version: evaluate the
    /// guards the way Go templates do (`{{-` trims the newline before it).
    #[test]
    fn each_scenario_gets_its_own_version_back() {
        let versions = vec![
            v(&["a"], "metadata:\n  name: n\n  labels:\n    x: '1'\nspec:\n  replicas: 1\n  template: t\n"),
            v(&["b"], "metadata:\n  name: n\nspec:\n  replicas: 2\n  template: t\n  extra: e\n"),
            v(&["c"], "metadata:\n  name: n\n  labels:\n    x: '1'\nspec:\n  replicas: 3\n  template: t\n"),
        ];
        let merged = merge(&versions);
        for (scenarios, text) in &versions {
            assert_eq!(
                &render(&merged, &scenarios[0]),
                text,
                "{scenarios:?}:\n{merged}"
            );
        }
    }

    /// A tiny evaluator of the guards `merge` writes (nothing else is templated here).
    fn render(text: &str, scenario: &str) -> String {
        let mut out = String::new();
        // (taking this branch, a branch of this chain was taken)
        let mut stack: Vec<(bool, bool)> = Vec::new();
        for line in text.split_inclusive('\n') {
            let active = stack.iter().all(|(t, _)| *t);
            let has = |l: &str| l.contains(&format!("{scenario:?}"));
            if line.starts_with("{{- if has") {
                let t = has(line);
                stack.push((t, t));
            } else if line.starts_with("{{- else if has") {
                let (_, taken) = stack.pop().unwrap();
                let t = !taken && has(line);
                stack.push((t, taken || t));
            } else if line.starts_with("{{- end }}") {
                stack.pop();
            } else if active {
                out.push_str(line);
            }
        }
        out
    }
}
