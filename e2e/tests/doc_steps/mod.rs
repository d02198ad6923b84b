//! Commands of a document, for tests that run a guide as written: fenced
//! blocks tagged ```` ```sh step=ID [expect=fail] ````. Untagged blocks
//! (prerequisites the harness performs itself, output shown for reading)
//! are skipped.

use std::collections::BTreeMap;

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
