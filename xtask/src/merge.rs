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

use similar::{capture_diff_slices, Algorithm, DiffOp};

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
