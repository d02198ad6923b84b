//! Syntax check of YAML text without building values. Used for the CRD schema
//! blocks the stream reader keeps as text, so malformed YAML inside them is
//! still refused instead of being handed on to Helm.
//!
//! Two steps: a line-based recogniser for the plain block style that
//! kustomize and controller-gen write (indented mappings and sequences, plain
//! or single-line quoted scalars, `|`/`>` block scalars, `[]`/`{}`) accepts
//! text it can prove valid, ~10x faster than a parser; anything else, or
//! anything it is unsure about, goes to libyaml's parser (the one serde_yaml
//! uses), whose events are discarded. The recogniser only ever says "valid"
//! or "don't know", never "invalid", so it cannot change which texts are
//! refused (see the differential test).

use std::collections::HashSet;

use unsafe_libyaml::{
    yaml_event_delete, yaml_event_t, yaml_parser_delete, yaml_parser_initialize, yaml_parser_parse,
    yaml_parser_set_input_string, yaml_parser_t, YAML_ALIAS_EVENT, YAML_MAPPING_END_EVENT,
    YAML_MAPPING_START_EVENT, YAML_SCALAR_EVENT, YAML_SEQUENCE_END_EVENT,
    YAML_SEQUENCE_START_EVENT, YAML_STREAM_END_EVENT,
};

/// Duplicate-key tracking over libyaml events: one frame per open
/// collection; a mapping frame knows whether the next node is a key.
#[derive(Default)]
struct Keys {
    frames: Vec<Option<(bool, HashSet<Vec<u8>>)>>,
}

impl Keys {
    /// A scalar node; true if it repeats a key of its mapping.
    fn scalar(&mut self, value: &[u8]) -> bool {
        let dup = match self.frames.last_mut() {
            Some(Some((true, keys))) => !keys.insert(value.to_vec()),
            _ => false,
        };
        self.node_done();
        dup
    }

    /// A node ended: in a mapping, keys and values alternate.
    fn node_done(&mut self) {
        if let Some(Some((expect_key, _))) = self.frames.last_mut() {
            *expect_key = !*expect_key;
        }
    }

    fn start(&mut self, mapping: bool) {
        self.frames.push(mapping.then(|| (true, HashSet::new())));
    }

    fn end(&mut self) {
        self.frames.pop();
        self.node_done();
    }
}

/// A syntax error: 0-based line and column within the text, and libyaml's
/// description.
#[derive(Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub problem: String,
}

/// Check that `text` is syntactically valid YAML.
pub fn check(text: &str) -> Result<(), SyntaxError> {
    match recognise(text) {
        Recognised::Valid => Ok(()),
        Recognised::Duplicate(e) => Err(e),
        Recognised::Unknown => check_with_libyaml(text),
    }
}

/// What the line-based recogniser found.
#[derive(Debug, PartialEq, Eq)]
pub enum Recognised {
    Valid,
    /// Valid syntax, but a mapping repeats a key (serde_yaml and the API
    /// server refuse that too).
    Duplicate(SyntaxError),
    /// Not in the recognised subset: ask libyaml.
    Unknown,
}

/// Whether `text` is in the block-style subset recognised here (and so
/// certainly valid YAML without duplicate keys). `false` means "not
/// recognised" or "duplicate key", never "invalid syntax".
pub fn surely_valid(text: &str) -> bool {
    recognise(text) == Recognised::Valid
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
}

/// A scalar that may continue on the next lines: plain, or a quoted one not
/// closed yet; with the indent its continuation lines must exceed.
#[derive(Clone, Copy)]
enum Cont {
    Plain(usize),
    Quoted(u8, usize),
}

/// Run the line-based recogniser over `text`.
pub fn recognise(text: &str) -> Recognised {
    match recognise_lines(text) {
        Ok(()) => Recognised::Valid,
        Err(Some(e)) => Recognised::Duplicate(e),
        Err(None) => Recognised::Unknown,
    }
}

/// `Err(None)`: not recognised; `Err(Some(_))`: a duplicate key.
fn recognise_lines(text: &str) -> Result<(), Option<SyntaxError>> {
    // Open block collections, innermost last: (indent, kind, keys so far).
    let mut stack: Vec<(usize, Kind, Vec<&str>)> = Vec::new();
    // The previous structural line ended in `key:` / `-` with no value: its
    // indent, and whether a sequence may follow at the same indent (only
    // after a mapping key).
    let mut pending: Option<(usize, bool)> = None;
    // Inside a `|`/`>` block scalar: the parent's indent and, once seen, the
    // content indent.
    let mut scalar: Option<(usize, Option<usize>)> = None;
    let mut cont: Option<Cont> = None;
    for (line_no, line) in text.split('\n').enumerate() {
        if line.bytes().any(|b| b == b'\t' || b == b'\r' || b < 0x20) {
            return Err(None);
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = &line[indent..];
        if let Some((parent, content_indent)) = scalar {
            if content.is_empty() {
                // A leading blank line with spaces can change the detected
                // indentation; leave that to libyaml.
                if content_indent.is_none() && indent > 0 {
                    return Err(None);
                }
                continue;
            }
            match content_indent {
                None if indent > parent => {
                    scalar = Some((parent, Some(indent)));
                    continue;
                }
                Some(m) if indent >= m => continue,
                _ if indent > parent => return Err(None),
                _ => scalar = None,
            }
        }
        match cont {
            _ if content.is_empty() => continue,
            Some(Cont::Plain(parent)) => {
                if content.starts_with('#') {
                    cont = None; // a comment ends a plain scalar
                    continue;
                }
                if indent > parent && plain_continuation_ok(content) {
                    continue;
                }
                cont = None;
            }
            Some(Cont::Quoted(q, parent)) => {
                if indent <= parent {
                    return Err(None);
                }
                match quoted(content, q) {
                    Quoted::Open => continue,
                    Quoted::Closed => {
                        cont = None;
                        continue;
                    }
                    Quoted::Bad => return Err(None),
                }
            }
            None => {}
        }
        if content.starts_with('#') {
            continue;
        }
        let (item, rest) = match content.strip_prefix("- ") {
            Some(rest) => (true, rest),
            None if content == "-" => (true, ""),
            None => (false, content),
        };
        // Attach the line to its parent collection.
        let kind = if item { Kind::Seq } else { Kind::Map };
        match pending.take() {
            Some((p, same)) if indent > p || (same && item && indent == p) => {
                stack.push((indent, kind, Vec::new()))
            }
            _ if stack.is_empty() => stack.push((indent, kind, Vec::new())), // the root
            _ => {
                while stack.last().is_some_and(|&(i, _, _)| i > indent) {
                    stack.pop();
                }
                // A sequence indented like its mapping key ends with the key.
                if !item
                    && stack
                        .last()
                        .is_some_and(|&(i, k, _)| (i, k) == (indent, Kind::Seq))
                {
                    stack.pop();
                }
                // Less indented than the root, or not aligned with a parent.
                if !stack
                    .last()
                    .is_some_and(|&(i, k, _)| (i, k) == (indent, kind))
                {
                    return Err(None);
                }
            }
        }
        // The value part and the indent its continuation must exceed.
        let (value, parent, may_be_empty) = if item {
            if rest.starts_with("- ") || rest == "-" {
                return Err(None);
            }
            match split_key(rest) {
                // `- key: …` opens a mapping at the column of `key`.
                Some((key, value)) => {
                    if !plain_ok(key) {
                        return Err(None);
                    }
                    stack.push((indent + 2, Kind::Map, vec![key]));
                    (value, indent + 2, true)
                }
                None if rest.is_empty() => {
                    pending = Some((indent, false));
                    continue;
                }
                None => (rest, indent, false),
            }
        } else {
            let Some((key, value)) = split_key(rest) else {
                return Err(None);
            };
            if !plain_ok(key) {
                return Err(None);
            }
            let keys = &mut stack.last_mut().expect("attached above").2;
            if keys.contains(&key) {
                return Err(Some(SyntaxError {
                    line: line_no,
                    column: indent,
                    problem: format!("duplicate key `{key}`"),
                }));
            }
            keys.push(key);
            (value, indent, true)
        };
        match value_kind(value) {
            Value::Empty if may_be_empty => pending = Some((parent, true)),
            Value::Empty | Value::Invalid => return Err(None),
            Value::Complete => {}
            Value::Plain => cont = Some(Cont::Plain(parent)),
            Value::Open(q) => cont = Some(Cont::Quoted(q, parent)),
            Value::BlockScalar(n) => scalar = Some((parent, n.map(|n| parent + n))),
        }
    }
    // An unclosed quoted scalar at the end is an error.
    match cont {
        Some(Cont::Quoted(..)) => Err(None),
        _ => Ok(()),
    }
}

enum Value {
    Empty,
    /// `[]`, `{}`, a quoted scalar closed on this line.
    Complete,
    Plain,
    /// A quoted scalar (quote character) that continues on the next lines.
    Open(u8),
    /// `|`/`>` with its explicit indentation indicator, if any.
    BlockScalar(Option<usize>),
    Invalid,
}

/// The indentation indicator of a `|2-`/`>-1`-style block scalar header.
fn block_header_indent(v: &str) -> Option<usize> {
    let rest = v.strip_prefix(['|', '>'])?;
    let digits = rest.trim_matches(['-', '+']);
    let chomping = rest.len() - digits.len();
    let n = digits
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=9).contains(n) && digits.len() == 1)?;
    (chomping <= 1).then_some(n)
}

/// `key: value` / `key:` → (key, value).
fn split_key(s: &str) -> Option<(&str, &str)> {
    if let Some(key) = s.strip_suffix(':') {
        if !key.contains(": ") {
            return Some((key, ""));
        }
    }
    s.split_once(": ")
}

fn value_kind(v: &str) -> Value {
    match v.trim_end_matches(' ') {
        "" => Value::Empty,
        "[]" | "{}" => Value::Complete,
        "|" | "|-" | "|+" | ">" | ">-" | ">+" => Value::BlockScalar(None),
        v if block_header_indent(v).is_some() => Value::BlockScalar(block_header_indent(v)),
        v if v.starts_with('\'') || v.starts_with('"') => {
            let q = v.as_bytes()[0];
            match quoted(&v[1..], q) {
                Quoted::Closed => Value::Complete,
                Quoted::Open => Value::Open(q),
                Quoted::Bad => Value::Invalid,
            }
        }
        v if plain_ok(v) => Value::Plain,
        _ => Value::Invalid,
    }
}

/// A plain scalar (or a line of one) that cannot be mistaken for anything
/// else.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let first_ok = first.is_alphanumeric()
        || "_/.$(+=<^~\\".contains(first)
        || (first == '-' && s[1..].starts_with(|c: char| c.is_alphanumeric()));
    first_ok && !s.contains(": ") && !s.contains(" #") && !s.ends_with(':') && !s.ends_with(' ')
}

/// A continuation line of a multi-line plain scalar: any first character
/// (indicators only matter at the start of the scalar), but nothing that
/// starts a mapping value or a comment.
fn plain_continuation_ok(s: &str) -> bool {
    !s.starts_with('#')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.ends_with(' ')
}

enum Quoted {
    /// The closing quote ends the line.
    Closed,
    /// No closing quote on this line.
    Open,
    /// Text after the closing quote, or an escape this check does not know.
    Bad,
}

/// One line of a quoted scalar's text after the opening quote (or a
/// continuation line), quoted with `q`.
fn quoted(line: &str, q: u8) -> Quoted {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match (q, b[i]) {
            (b'\'', b'\'') if b.get(i + 1) == Some(&b'\'') => i += 1,
            (b'"', b'\\') => match b.get(i + 1) {
                // A trailing backslash escapes the line break.
                None => return Quoted::Open,
                Some(
                    b'\\' | b'"' | b'/' | b'n' | b't' | b'r' | b'0' | b'a' | b'b' | b'e' | b'f'
                    | b'v' | b' ',
                ) => i += 1,
                Some(_) => return Quoted::Bad,
            },
            (_, c) if c == q => {
                return if line[i + 1..].trim_end_matches(' ').is_empty() {
                    Quoted::Closed
                } else {
                    Quoted::Bad
                };
            }
            _ => {}
        }
        i += 1;
    }
    Quoted::Open
}

/// Check with libyaml's parser.
pub fn check_with_libyaml(text: &str) -> Result<(), SyntaxError> {
    // SAFETY: the parser is initialised before use and deleted on every
    // path; `text` outlives the parser; each event is deleted after it is
    // inspected; the problem string is a static C string owned by libyaml.
    unsafe {
        let mut parser = std::mem::MaybeUninit::<yaml_parser_t>::uninit();
        if !yaml_parser_initialize(parser.as_mut_ptr()).ok {
            return Err(SyntaxError {
                line: 0,
                column: 0,
                problem: "cannot initialise the YAML parser".into(),
            });
        }
        let parser = parser.as_mut_ptr();
        yaml_parser_set_input_string(parser, text.as_ptr(), text.len() as u64);
        let mut event = std::mem::MaybeUninit::<yaml_event_t>::uninit();
        let mut keys = Keys::default();
        let result = loop {
            if !yaml_parser_parse(parser, event.as_mut_ptr()).ok {
                // The parser is initialised and not aliased here.
                let state = &*parser;
                let mark = state.problem_mark;
                let problem = state.problem;
                let problem = if problem.is_null() {
                    "syntax error".to_owned()
                } else {
                    std::ffi::CStr::from_ptr(problem.cast())
                        .to_string_lossy()
                        .into_owned()
                };
                break Err(SyntaxError {
                    line: mark.line as usize,
                    column: mark.column as usize,
                    problem,
                });
            }
            let ev = &*event.as_ptr();
            let done = ev.type_ == YAML_STREAM_END_EVENT;
            let duplicate = match ev.type_ {
                YAML_SCALAR_EVENT => {
                    let scalar = ev.data.scalar;
                    let key = std::slice::from_raw_parts(scalar.value, scalar.length as usize);
                    let dup = keys.scalar(key);
                    dup.then(|| (ev.start_mark, String::from_utf8_lossy(key).into_owned()))
                }
                YAML_ALIAS_EVENT => {
                    keys.node_done();
                    None
                }
                YAML_MAPPING_START_EVENT => {
                    keys.start(true);
                    None
                }
                YAML_SEQUENCE_START_EVENT => {
                    keys.start(false);
                    None
                }
                YAML_MAPPING_END_EVENT | YAML_SEQUENCE_END_EVENT => {
                    keys.end();
                    None
                }
                _ => None,
            };
            yaml_event_delete(event.as_mut_ptr());
            if let Some((mark, key)) = duplicate {
                break Err(SyntaxError {
                    line: mark.line as usize,
                    column: mark.column as usize,
                    problem: format!("duplicate key `{key}`"),
                });
            }
            if done {
                break Ok(());
            }
        };
        yaml_parser_delete(parser);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recogniser_accepts_the_usual_block_style() {
        let cases = [
            ("  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        description: |-\n          Text: with # anything [\n\n          more\n        properties:\n          a:\n            enum:\n            - x\n            - 'it''s'\n            type: string\n        required: []\n        type: object\n    served: true\n  - additionalPrinterColumns:\n    - jsonPath: .spec.containers[*].name\n      name: C\n      type: \"str\\\"ing\"\n    name: v2\n", true),
            // Not recognised (libyaml decides): comments after values,
            // anchors, flow collections, multi-line scalars, bad alignment.
            ("a: b # c\n", false),
            ("a: &x b\n", false),
            ("a: [b]\n", false),
            ("a: b\n  c\n\n  d\ne: 'x\n  y'' z'\nf: \"p\\\n  q\"\n", true),
            ("a: b\n# c\n  d\n", false),
            ("a: |2-\n     x\n    y\nb: 1\n", true),
            ("a: |2-\n     x\n y\n", false),
            ("a: 'x\ny'\n", false),
            ("a:\n    b: 1\n  c: 2\n", false),
            ("  a: 1\nb: 2\n", false),
            ("a: \"x\n", false),
        ];
        for (text, want) in cases {
            assert_eq!(surely_valid(text), want, "{text:?}");
            if want {
                assert_eq!(check_with_libyaml(text), Ok(()), "{text:?}");
            }
        }
    }

    /// The recogniser must never accept what libyaml refuses: mutate real
    /// CRD schema blocks line by line and compare.
    #[test]
    fn recogniser_never_accepts_what_libyaml_refuses() {
        let base = "  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        description: |-\n          Some text.\n        properties:\n          spec:\n            properties:\n              replicas:\n                format: int32\n                type: integer\n              selector:\n                x-kubernetes-map-type: atomic\n            required:\n            - replicas\n            type: object\n        type: object\n    served: true\n    storage: true\n    subresources:\n      status: {}\n";
        let lines: Vec<&str> = base.lines().collect();
        let edits: [fn(&str) -> String; 20] = [
            |l| format!(" {l}"),
            |l| l.strip_prefix(' ').unwrap_or(l).to_owned(),
            |l| format!("{l}:"),
            |l| format!("{l} x: y"),
            |l| format!("{l} ["),
            |l| format!("{l} '"),
            |l| format!("{l}\""),
            |l| l.replace(": ", ":"),
            |l| l.replace("- ", "-- "),
            |l| format!("  {l}"),
            |l| format!("{l}\n   more text"),
            |l| format!("{l}\n# comment\n   more text"),
            |l| format!("{l} 'open\n   text'"),
            |l| format!("{l} 'open\n text' x"),
            |l| format!("{l} \"a\\q\""),
            |l| format!("{l}\n\n      x: y"),
            |l| format!("{l}\n      - x"),
            |l| format!("{l}\n      'x"),
            |l| format!("{l} |2-\n   x\n  y"),
            |l| format!("{l} |1\n  x"),
        ];
        let mut recognised = 0;
        for i in 0..lines.len() {
            for edit in &edits {
                let mut mutated: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                mutated[i] = edit(lines[i]);
                let text = mutated.join("\n") + "\n";
                if surely_valid(&text) {
                    recognised += 1;
                    assert_eq!(
                        check_with_libyaml(&text),
                        Ok(()),
                        "recognised but invalid:\n{text}"
                    );
                }
            }
        }
        assert!(
            recognised > 20,
            "the test should exercise accepted mutations too ({recognised})"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_by_both_paths() {
        // (text, recogniser handles it)
        let cases = [
            ("a:\n  b: 1\n  c: 2\n  b: 3\n", true),
            ("- x: 1\n  x: 2\n", true),
            ("a: [1]\nb:\n  c: 1\n  c: 2\n", false),
            ("a: {b: 1, b: 2}\n", false),
        ];
        for (text, fast) in cases {
            let e = check(text).unwrap_err();
            assert!(e.problem.starts_with("duplicate key `"), "{text:?}: {e:?}");
            assert_eq!(
                check_with_libyaml(text).unwrap_err().problem,
                e.problem,
                "{text:?}"
            );
            assert_eq!(
                matches!(recognise(text), Recognised::Duplicate(_)),
                fast,
                "{text:?}"
            );
        }
        // Same key in different mappings is fine.
        let fine = "l:\n- a: 1\n- a: 2\nb:\n  a: 3\n";
        assert_eq!(recognise(fine), Recognised::Valid);
        assert_eq!(check_with_libyaml(fine), Ok(()));
    }

    #[test]
    fn accepts_valid_and_locates_errors() {
        // (text, expected error (line, column, problem prefix) or None)
        type Expected<'a> = Option<(usize, usize, &'a str)>;
        let cases: &[(&str, Expected)] = &[
            ("  versions:\n  - name: v1\n    served: true\n", None),
            ("a: |\n  x: [\n  y\n", None),
            (
                "  versions:\n  - name: v1\n    served: true\n       - broken: [\n",
                Some((3, 15, "mapping values are not allowed")),
            ),
            (
                "a: [b, c\n",
                Some((1, 0, "did not find expected ',' or ']'")),
            ),
            (
                "a: b\n c: d\n",
                Some((1, 2, "mapping values are not allowed")),
            ),
            (
                "a: \"unterminated\n",
                Some((1, 0, "found unexpected end of stream")),
            ),
        ];
        for (text, want) in cases {
            let got = check(text).err().map(|e| (e.line, e.column, e.problem));
            assert_eq!(
                check_with_libyaml(text).is_ok(),
                check(text).is_ok(),
                "{text:?}"
            );
            match (got, want) {
                (None, None) => {}
                (Some((l, c, p)), Some((wl, wc, wp))) => {
                    assert!(
                        (l, c) == (*wl, *wc) && p.starts_with(wp),
                        "{text:?}: got {l}:{c} {p}"
                    );
                }
                (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
