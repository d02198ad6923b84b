//! Commands of a document, for tests that run a guide as written: fenced
//! blocks tagged ```` ```sh step=ID [expect=fail] ````. Untagged blocks
//! (prerequisites the harness performs itself, output shown for reading)
//! are skipped.

use std::collections::BTreeMap;
use std::process::Command;

/// One tagged block.
#[derive(Debug, Clone)]
pub struct Step {
    pub expect_fail: bool,
    pub script: String,
}

/// Every tagged block of `doc` by its `step=` id, in a map; an unknown
/// attribute, a missing id, an unclosed block or a repeated id is an error
/// naming the line.
pub fn parse(doc: &str) -> Result<BTreeMap<String, Step>, String> {
    let mut steps = BTreeMap::new();
    let mut lines = doc.lines().enumerate();
    while let Some((no, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```sh ") else {
            continue;
        };
        let mut id = None;
        let mut expect_fail = false;
        for word in info.split_whitespace() {
            match word.split_once('=') {
                Some(("step", v)) => id = Some(v.to_string()),
                Some(("expect", "fail")) => expect_fail = true,
                _ => return Err(format!("line {}: unknown block attribute {word:?}", no + 1)),
            }
        }
        let id = id.ok_or_else(|| format!("line {}: sh block attributes without step=", no + 1))?;
        let mut script = String::new();
        loop {
            match lines.next() {
                Some((_, "```")) => break,
                Some((_, l)) => {
                    script.push_str(l);
                    script.push('\n');
                }
                None => return Err(format!("line {}: block step={id} is not closed", no + 1)),
            }
        }
        let step = Step {
            expect_fail,
            script,
        };
        if steps.insert(id.clone(), step).is_some() {
            return Err(format!("line {}: step={id} appears twice", no + 1));
        }
    }
    Ok(steps)
}

impl Step {
    /// Runs the block with `bash -euo pipefail -c` through `bash` (a
    /// `Command::new("bash")` carrying the caller's environment and working
    /// directory), checks its exit status against `expect=fail`, and returns
    /// (stdout, stderr). `what` names the block in failures (`guide step=x`).
    pub fn run(&self, mut bash: Command, what: &str) -> (String, String) {
        bash.args(["-euo", "pipefail", "-c", &self.script]);
        let out = bash.output().expect("run bash");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.success(),
            !self.expect_fail,
            "{what} {}\n--- script\n{}--- stdout\n{stdout}\n--- stderr\n{stderr}",
            if self.expect_fail {
                "was expected to fail but succeeded"
            } else {
                "failed"
            },
            self.script
        );
        (stdout, stderr)
    }
}

#[test]
fn step_blocks_parse_with_their_attributes_and_errors() {
    let ok = "text\n```sh\nnot a step\n```\n```sh step=a\necho 1\necho 2\n```\n```sh step=b expect=fail\nfalse\n```\n";
    let steps = parse(ok).unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps["a"].script, "echo 1\necho 2\n");
    assert!(!steps["a"].expect_fail);
    assert!(steps["b"].expect_fail);
    for (doc, error) in [
        (
            "```sh step=a\nx\n```\n```sh step=a\ny\n```\n",
            "line 4: step=a appears twice",
        ),
        ("```sh step=a\nx\n", "line 1: block step=a is not closed"),
        (
            "```sh step=a expect=maybe\nx\n```\n",
            "line 1: unknown block attribute \"expect=maybe\"",
        ),
        (
            "```sh title=x\nx\n```\n",
            "line 1: unknown block attribute \"title=x\"",
        ),
    ] {
        assert_eq!(parse(doc).unwrap_err(), error, "{doc}");
    }
}
