//! Syntax check of YAML text without building values: runs libyaml's parser
//! (the one serde_yaml uses) over the text and discards every event. Used for
//! the CRD schema blocks the stream reader keeps as text, so malformed YAML
//! inside them is still refused instead of being handed on to Helm.

use unsafe_libyaml::{
    yaml_event_delete, yaml_event_t, yaml_parser_delete, yaml_parser_initialize, yaml_parser_parse,
    yaml_parser_set_input_string, yaml_parser_t, YAML_STREAM_END_EVENT,
};

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
            let done = (*event.as_ptr()).type_ == YAML_STREAM_END_EVENT;
            yaml_event_delete(event.as_mut_ptr());
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
