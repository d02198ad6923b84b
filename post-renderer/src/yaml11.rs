//! Make re-serialised documents read the same under YAML 1.1.
//!
//! serde_yaml writes YAML 1.2: it quotes strings that 1.2 would read as
//! something else (`true`, `null`, `12`), but leaves `y`, `no`, `off`,
//! `1_000` or `1:20` plain. Helm, kubectl and the API server read manifests
//! with YAML 1.1 parsers (go-yaml v2 via sigs.k8s.io/yaml), where those are
//! booleans and numbers: `data: {a: n}` becomes `false` and the API server
//! refuses the ConfigMap. This pass quotes such plain scalars (keys and
//! values) in serde_yaml's output. Quoting a string that did not need it
//! changes nothing, so the check errs on the side of quoting.

/// Quote plain scalars of serde_yaml output that YAML 1.1 reads as non-strings.
pub fn quote_ambiguous(text: String) -> String {
    // Nothing to do in the common case: no line holds a candidate.
    if !text.lines().any(line_needs_work) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 64);
    // Inside a `|`/`>` block scalar: the indent of the line that opened it.
    let mut block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let indent = body.len() - body.trim_start_matches(' ').len();
        if let Some(parent) = block {
            if body.trim().is_empty() || indent > parent {
                out.push_str(line);
                continue;
            }
            block = None;
        }
        let (fixed, opens_block) = fix_line(body, indent);
        if opens_block {
            block = Some(indent);
        }
        out.push_str(&fixed);
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn line_needs_work(line: &str) -> bool {
    let t = line.trim_start().trim_start_matches("- ");
    let (key, value) = match t.split_once(": ") {
        Some((k, v)) => (k, v),
        None => (t.strip_suffix(':').unwrap_or(t), ""),
    };
    needs_quotes(key) || needs_quotes(value)
}

/// A plain scalar serde_yaml wrote as a string (YAML 1.2) that YAML 1.1 would
/// read as something else. Real booleans and numbers are written in forms
/// both versions agree on, and are left alone.
fn needs_quotes(scalar: &str) -> bool {
    let digits = scalar.strip_prefix('-').unwrap_or(scalar);
    let canonical_int = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    // The common cases, without asking the parser: real ints and booleans.
    if canonical_int || scalar == "true" || scalar == "false" {
        return false;
    }
    yaml11_non_string(scalar)
        && matches!(
            serde_yaml::from_str::<serde_yaml::Value>(scalar),
            Ok(serde_yaml::Value::String(_))
        )
}

/// The line with ambiguous plain key/value quoted; and whether the line
/// opens a block scalar.
fn fix_line(line: &str, indent: usize) -> (String, bool) {
    let mut out = String::from(&line[..indent]);
    let mut rest = &line[indent..];
    while let Some(r) = rest.strip_prefix("- ") {
        out.push_str("- ");
        rest = r;
    }
    let (key, value) = match plain_key(rest) {
        Some((k, v)) => (Some(k), v),
        None => (None, rest),
    };
    if let Some(k) = key {
        out.push_str(&quote_if_needed(k));
        out.push(':');
        if !value.is_empty() {
            out.push(' ');
        }
    }
    let opens_block = value.starts_with('|') || value.starts_with('>');
    out.push_str(&quote_if_needed(value));
    (out, opens_block)
}

/// `key: value` / `key:` with a plain (unquoted) key.
fn plain_key(s: &str) -> Option<(&str, &str)> {
    if s.starts_with(['\'', '"', '?', '[', '{']) {
        return None;
    }
    if let Some((k, v)) = s.split_once(": ") {
        return Some((k, v));
    }
    s.strip_suffix(':').map(|k| (k, ""))
}

fn quote_if_needed(scalar: &str) -> String {
    if needs_quotes(scalar) {
        format!("'{scalar}'")
    } else {
        scalar.to_owned()
    }
}

/// Whether a plain scalar is a bool, null or number under YAML 1.1
/// (generously: anything number-like counts).
pub fn yaml11_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN", "<<", "=",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits.contains(|c: char| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "_:.xXoO+-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_scalars_are_quoted_and_nothing_else_changes() {
        let value: serde_yaml::Value = serde_yaml::from_str(
            "data:\n  a: 'n'\n  b: 'y'\n  c: 'yes'\n  d: 'off'\n  e: 'NO'\n  f: '1_000'\n  g: '1:20'\n  h: '0b101'\n  i: 'plain'\n  j: 'true'\n  'y': key\n  k: \"x\\nn\\n\"\n  l: ['on', 'x']\n  m: 3\n  o: false\n  p: 'v1.2'\n",
        )
        .unwrap();
        let out = quote_ambiguous(serde_yaml::to_string(&value).unwrap());
        // (line expected in the output)
        for want in [
            "  a: 'n'",
            "  b: 'y'",
            "  c: 'yes'",
            "  d: 'off'",
            "  e: 'NO'",
            "  f: '1_000'",
            "  g: '1:20'",
            "  h: '0b101'",
            "  i: plain",
            "  'y': key",
            "    n",
            "  - 'on'",
            "  - x",
            "  m: 3",
            "  o: false",
        ] {
            assert!(out.lines().any(|l| l == want), "missing {want:?} in\n{out}");
        }
        // Reads back to the same value.
        assert_eq!(
            serde_yaml::from_str::<serde_yaml::Value>(&out).unwrap(),
            value
        );
    }

    #[test]
    fn yaml11_classification() {
        let non_strings = [
            "y", "No", "OFF", "~", "1_000", "0x1F", "0o17", "017", "1:20", "-1.5e3", "+12", ".5",
            ".inf", "0b11",
        ];
        let strings = ["yesno", "v1.2", "abc", "", "-", "1-2-3z", "n/a", "on-call"];
        for s in non_strings {
            assert!(yaml11_non_string(s), "{s}");
        }
        for s in strings {
            assert!(!yaml11_non_string(s), "{s}");
        }
    }
}
