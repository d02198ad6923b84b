//! The YAML 1.1 scalar rules of the project, in one place: which plain
//! scalars a YAML 1.1 reader takes for something other than a string
//! ([`is_non_string`]), and quoting them in serde_yaml's output
//! ([`quote_ambiguous`]). The chart generator (xtask) and the tests use the
//! same rules.
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
    is_non_string(scalar)
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

/// Whether a YAML 1.1 reader may resolve the plain (unquoted) scalar `s`
/// to something other than a string, so that a string with this text must
/// be quoted. The rules:
///
/// - go-yaml v2 (behind sigs.k8s.io/yaml: Helm, kubectl, the API server):
///   booleans `y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|
///   on|On|ON|off|Off|OFF`; nulls `~|null|Null|NULL`; `.inf`, `.nan` in their
///   spellings, signed; the merge key `<<`; integers in any base Go's
///   `ParseInt(s, 0, 64)` accepts (`12`, `-3`, `017`, `0o17`, `0x1F`,
///   `0b101`) after removing every `_` (`1_000`); floats
///   `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, also after
///   removing `_`.
/// - other YAML 1.1 readers (the spec's types): its looser floats
///   `[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?` (`1.21.1`, `.`),
///   sexagesimal numbers (`1:20`, `1:20:30.5`), timestamps (`2001-12-14`,
///   `2001-12-14T21:59:43Z`) and the value key `=`.
///
/// The empty scalar is left out: serde_yaml always quotes an empty string,
/// and an empty plain value in its output is a mapping or sequence opener.
pub fn is_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN", "<<", "=",
    ];
    WORDS.contains(&s) || is_number(s) || is_spec_float(s) || is_sexagesimal(s) || is_timestamp(s)
}

/// The YAML 1.1 spec's float: `[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?`.
fn is_spec_float(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let Some((int, rest)) = body.split_once('.') else {
        return false;
    };
    let int_ok = int.is_empty()
        || (int.starts_with(|c: char| c.is_ascii_digit())
            && int.chars().all(|c| c.is_ascii_digit() || c == '_'));
    let (fraction, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        e.strip_prefix(['+', '-'])
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
    });
    int_ok && fraction.chars().all(|c| c.is_ascii_digit() || c == '.') && exponent_ok
}

/// An integer or float as go-yaml v2 reads it (underscores removed first).
fn is_number(s: &str) -> bool {
    let plain = s.replace('_', "");
    let body = plain.strip_prefix(['+', '-']).unwrap_or(&plain);
    let digits = |b: &str, radix: u32| !b.is_empty() && b.chars().all(|c| c.is_digit(radix));
    let prefixed = |p: [&str; 2], radix| {
        p.iter()
            .any(|p| body.strip_prefix(p).is_some_and(|b| digits(b, radix)))
    };
    digits(body, 10)
        || prefixed(["0x", "0X"], 16)
        || prefixed(["0o", "0O"], 8)
        || prefixed(["0b", "0B"], 2)
        || is_float(body)
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(body: &str) -> bool {
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let all_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => !frac.is_empty() && all_digits(frac),
        Some((int, frac)) => !int.is_empty() && all_digits(int) && all_digits(frac),
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

/// `[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?`
fn is_sexagesimal(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (body, frac) = match body.split_once('.') {
        Some((b, f)) => (b, Some(f)),
        None => (body, None),
    };
    let mut parts = body.split(':');
    let head = parts.next().unwrap_or_default();
    let sixty: Vec<&str> = parts.collect();
    head.starts_with(|c: char| c.is_ascii_digit())
        && head.chars().all(|c| c.is_ascii_digit() || c == '_')
        && !sixty.is_empty()
        && sixty.iter().all(|p| {
            let b = p.as_bytes();
            matches!(b, [d] if d.is_ascii_digit())
                || matches!(b, [a, d] if (b'0'..=b'5').contains(a) && d.is_ascii_digit())
        })
        && frac.is_none_or(|f| f.chars().all(|c| c.is_ascii_digit() || c == '_'))
}

/// `YYYY-M(M)-D(D)`, alone or followed by a time (`T`, `t` or a space).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| {
        b.len() >= from + n && b[from..from + n].iter().all(u8::is_ascii_digit)
    };
    if !(digits(0, 4) && b.get(4) == Some(&b'-')) {
        return false;
    }
    // The `-` after a one- or two-digit month.
    let rest = match (digits(5, 2), digits(5, 1)) {
        (true, _) => 7,
        (false, true) => 6,
        _ => return false,
    };
    if b.get(rest) != Some(&b'-') {
        return false;
    }
    let day_end = if digits(rest + 1, 2) {
        rest + 3
    } else if digits(rest + 1, 1) {
        rest + 2
    } else {
        return false;
    };
    match b.get(day_end) {
        None => true,
        Some(b'T' | b't' | b' ' | b'\t') => digits(day_end + 1, 1),
        Some(_) => false,
    }
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
            "y",
            "No",
            "OFF",
            "~",
            "null",
            "<<",
            "1_000",
            "0x1F",
            "0o17",
            "017",
            "09",
            "1:20",
            "-1.5e3",
            "+12",
            ".5",
            "5.",
            "1e3",
            ".inf",
            "-.Inf",
            "0b11",
            "1:20:30.5",
            "2001-12-14",
            "2001-1-4",
            "1970-01-01T00:00:00Z",
            "2001-12-14 21:59:43.10 -5",
            "1.21.1",
            "1.2.3",
            ".",
            "1.5e+3",
        ];
        let strings = [
            "yesno",
            "v1.2",
            "abc",
            "",
            "-",
            "1-2-3z",
            "n/a",
            "on-call",
            "online",
            "a:b",
            "10:",
            "2001-x",
            "0b",
            "0x",
            "nginx:1.25",
            "1e",
            "_",
            "1:60",
            "12-14",
            "2001-12-14x",
            "0b12",
            "e3",
            "1.2.3a",
            "1.2e3x",
            "47c2487f",
        ];
        for s in non_strings {
            assert!(is_non_string(s), "{s}");
        }
        for s in strings {
            assert!(!is_non_string(s), "{s}");
        }
    }
}
