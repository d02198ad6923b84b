//! Reading and writing multi-document YAML streams as Helm and kustomize
//! produce them.
//!
//! Reading splits on `---` lines (and `...` end markers), keeps the comment
//! lines before each body (Helm's `# Source:`) separately, and parses each body
//! with serde_yaml. Writing emits every untouched document as its original
//! text and re-serialises only the documents a transform changed.
//!
//! Speed: 94% of the bytes of a rendered Kubeflow platform are the OpenAPI
//! schemas in `CustomResourceDefinition.spec.versions`, which no transform
//! reads. Those blocks are cut out textually before parsing and spliced back
//! verbatim on output; in the parsed value `spec.versions` holds a
//! placeholder string `__kf_post_opaque_<n>__` naming block `n` of
//! [`Stream::opaque`]. Library users that need CRD schemas parse with
//! [`ParseOptions::full_crds`].

use serde_yaml::Value;

use crate::document::Document;
use crate::error::{DocRef, Error, Result};
use crate::limits;

/// Placeholder standing in for block `n` of [`Stream::opaque`]: a plain
/// scalar, so serde_yaml writes it back unquoted on one line.
pub fn opaque_placeholder(n: usize) -> String {
    format!("__kf_post_opaque_{n}__")
}

/// How to parse a stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    /// Parse CRD `spec.versions` (the schemas) instead of keeping them opaque.
    pub full_crds: bool,
}

/// A parsed stream.
#[derive(Debug, Default)]
pub struct Stream<'a> {
    pub documents: Vec<Document>,
    /// Documents that held only comments or whitespace (Helm emits one per
    /// template that rendered to nothing). They carry no object, so they are
    /// not written back; `--explain` reports how many there were.
    pub empty_documents: usize,
    /// CRD `spec.versions` blocks kept as text (slices of the input, so
    /// they cost no copy), referenced by placeholders.
    pub opaque: Vec<&'a str>,
}

/// One chunk of input between separators.
struct Chunk<'a> {
    bytes: &'a [u8],
    /// 1-based input line of the chunk's first line.
    first_line: usize,
}

/// Split the input into chunks at `---` separator lines and `...` end markers.
fn split_chunks(input: &[u8]) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut pos = 0;
    let mut line_no = 1;
    while pos < input.len() {
        let end = match memchr::memchr(b'\n', &input[pos..]) {
            Some(n) => pos + n + 1,
            None => input.len(),
        };
        let line = trim_eol(&input[pos..end]);
        if let Some(rest) = separator_rest(line) {
            chunks.push(Chunk {
                bytes: &input[start..pos],
                first_line: start_line,
            });
            // Content after `--- ` (other than a comment) belongs to the next
            // document; keep it as that document's first line.
            let rest_trimmed = trim_ascii_start(rest);
            if rest_trimmed.is_empty() || rest_trimmed.starts_with(b"#") {
                start = end;
                start_line = line_no + 1;
            } else {
                start = pos + line.len() - rest_trimmed.len();
                start_line = line_no;
            }
        }
        pos = end;
        line_no += 1;
    }
    chunks.push(Chunk {
        bytes: &input[start..],
        first_line: start_line,
    });
    chunks
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_ascii_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| **b == b' ' || **b == b'\t').count();
    &s[n..]
}

/// `Some(rest of line)` if `line` is a `---` separator or `...` end marker.
fn separator_rest(line: &[u8]) -> Option<&[u8]> {
    for marker in [&b"---"[..], &b"..."[..]] {
        if let Some(rest) = line.strip_prefix(marker) {
            if rest.is_empty() || rest[0] == b' ' || rest[0] == b'\t' {
                return Some(rest);
            }
        }
    }
    None
}

/// Length of the leading run of blank and comment lines.
fn leading_comment_len(text: &str) -> usize {
    let mut len = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            len += line.len();
        } else {
            break;
        }
    }
    len
}

/// Parse a whole stream into documents.
pub fn parse(input: &[u8], options: ParseOptions) -> Result<Stream<'_>> {
    if input.len() > limits::MAX_INPUT_BYTES {
        return Err(Error::Input(format!(
            "input is {} bytes, more than the limit of {} bytes",
            input.len(),
            limits::MAX_INPUT_BYTES
        )));
    }
    if input.starts_with(&[0xff, 0xfe])
        || input.starts_with(&[0xfe, 0xff])
        || input.get(1) == Some(&0)
        || input.first() == Some(&0)
    {
        return Err(Error::Input(
            "the stream looks UTF-16/UTF-32 encoded; kf-post reads UTF-8 (convert with iconv)"
                .into(),
        ));
    }
    let input = input.strip_prefix("\u{feff}".as_bytes()).unwrap_or(input);
    let mut stream = Stream::default();
    for chunk in split_chunks(input) {
        let index = stream.documents.len();
        let at = |message: String| Error::Document {
            doc: DocRef {
                index,
                ..DocRef::default()
            },
            message,
        };
        if let Some(off) = chunk.bytes.iter().position(|&b| b == 0) {
            let line = chunk.first_line + count_lines(&chunk.bytes[..off]);
            return Err(at(format!("NUL byte at input line {line}")));
        }
        let text = std::str::from_utf8(chunk.bytes).map_err(|e| {
            let line = chunk.first_line + count_lines(&chunk.bytes[..e.valid_up_to()]);
            at(format!("invalid UTF-8 at input line {line}"))
        })?;
        // Checked here for the whole document: comments (Helm's `# Source:`) are
        // kept aside and never reach the YAML parser, yet Helm's parser refuses
        // them too, so passing one through would hand Helm a stream it cannot read.
        if let Some(off) = first_non_printable(chunk.bytes) {
            let line = chunk.first_line + count_lines(&chunk.bytes[..off]);
            let c = text[off..]
                .chars()
                .next()
                .expect("offset on a char boundary");
            return Err(at(format!(
                "control character U+{:04X} at input line {line} (YAML allows none, not even in comments)",
                c as u32
            )));
        }
        let comments_len = leading_comment_len(text);
        if comments_len == text.len() {
            // Whitespace alone (before the first `---`, after the last `...`)
            // is not a document; comments alone are Helm's empty templates.
            if !text.trim().is_empty() {
                stream.empty_documents += 1;
            }
            continue;
        }
        let (leading, body) = text.split_at(comments_len);
        let body_line = chunk.first_line + count_lines(leading.as_bytes());
        let doc = parse_document(index, leading, body, body_line, options, &mut stream.opaque)?;
        stream.documents.push(doc);
    }
    Ok(stream)
}

/// Offset of the first character outside YAML's printable set (tab, LF, CR,
/// U+0020–U+007E, U+0085, U+00A0–U+D7FF, U+E000–U+FFFD, U+10000+) in UTF-8 text.
/// Byte-wise: in UTF-8 the only excluded non-ASCII characters are the C1
/// controls (C2 80–C2 9F, but C2 85 is NEL) and U+FFFE/U+FFFF (EF BF BE/BF).
fn first_non_printable(bytes: &[u8]) -> Option<usize> {
    bytes.iter().enumerate().position(|(i, &b)| match b {
        b'\t' | b'\n' | b'\r' => false,
        0..=0x1f | 0x7f => true,
        0xc2 => matches!(bytes.get(i + 1), Some(&n) if (0x80..=0x9f).contains(&n) && n != 0x85),
        0xef => bytes.get(i + 1) == Some(&0xbf) && matches!(bytes.get(i + 2), Some(0xbe | 0xbf)),
        _ => false,
    })
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Parse one document body. `body_line` is its 1-based line in the input,
/// used to turn serde_yaml's positions into input positions. A CRD schema
/// block kept as text is appended to `opaque`.
fn parse_document<'a>(
    index: usize,
    leading_comments: &str,
    body: &'a str,
    body_line: usize,
    options: ParseOptions,
    opaque: &mut Vec<&'a str>,
) -> Result<Document> {
    let source = leading_comments
        .lines()
        .find_map(|l| l.trim().strip_prefix("# Source:").map(str::trim))
        .map(str::to_owned);
    let early_ref = || DocRef {
        index,
        source: source.clone(),
        kind: None,
        name: None,
    };
    if body.len() > limits::MAX_DOCUMENT_BYTES {
        return Err(Error::Document {
            doc: early_ref(),
            message: format!(
                "document is {} bytes, more than the limit of {} bytes",
                body.len(),
                limits::MAX_DOCUMENT_BYTES
            ),
        });
    }
    let yaml_error = |e: serde_yaml::Error| {
        let position = match e.location() {
            Some(loc) => format!(
                " at input line {} column {}",
                body_line + loc.line() - 1,
                loc.column()
            ),
            None => String::new(),
        };
        // serde_yaml appends its own (document-relative) position; keep only
        // the message and give the input position instead.
        let message = e.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        Error::Document {
            doc: early_ref(),
            message: format!("invalid YAML{position}: {message}"),
        }
    };

    if body.contains("__kf_post_opaque_") {
        return Err(Error::Document {
            doc: early_ref(),
            message: "contains `__kf_post_opaque_`, which kf-post reserves for its own use".into(),
        });
    }
    // libyaml's scanner is quadratic in the depth of flow collections
    // (`[[[[…`), so a hostile document would hang the parser long before the
    // depth limit below applies; refuse such nesting before parsing.
    if let Some(line) = flow_depth_exceeded(body) {
        return Err(Error::Document {
            doc: early_ref(),
            message: format!(
                "flow collections nested deeper than {} levels (input line {})",
                limits::MAX_DEPTH,
                body_line + line
            ),
        });
    }
    let mut value = None;
    if !options.full_crds {
        if let Some((start, end)) = crd_versions_block(body) {
            let mut reduced = String::with_capacity(body.len() - (end - start) + 64);
            reduced.push_str(&body[..start]);
            reduced.push_str("  versions: ");
            reduced.push_str(&opaque_placeholder(opaque.len()));
            reduced.push('\n');
            reduced.push_str(&body[end..]);
            // If the rest refers to an anchor defined inside the cut block it
            // no longer parses; parse the whole document instead.
            if let Ok(v) = serde_yaml::from_str::<Value>(&reduced) {
                // The block is written back as it is; still refuse it if it
                // is not valid YAML.
                let block = &body[start..end];
                if let Err(e) = crate::validate::check(block) {
                    let line = body_line + count_lines(&body.as_bytes()[..start]) + e.line;
                    return Err(Error::Document {
                        doc: early_ref(),
                        message: format!(
                            "invalid YAML at input line {line} column {} (in spec.versions): {}",
                            e.column + 1,
                            e.problem
                        ),
                    });
                }
                value = Some(v);
                opaque.push(block);
            }
        }
    }
    let value = match value {
        Some(v) => v,
        None => serde_yaml::from_str::<Value>(body).map_err(yaml_error)?,
    };
    check_shape(index, &source, &value)?;
    Ok(Document::parsed(index, leading_comments, body, value))
}

/// The 0-based line where the running depth of `[`/`{` (outside quoted
/// scalars in flow context) first exceeds the depth limit, if it does. Cheap
/// for ordinary documents: skipped unless there are more openers than the
/// limit at all.
fn flow_depth_exceeded(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    if memchr::memchr2_iter(b'[', b'{', bytes)
        .take(limits::MAX_DEPTH + 1)
        .count()
        <= limits::MAX_DEPTH
    {
        return None;
    }
    let (mut depth, mut line, mut quote) = (0usize, 0usize, None::<u8>);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match (quote, b) {
            (_, b'\n') => line += 1,
            (Some(b'"'), b'\\') => i += 1,
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') if depth > 0 => quote = Some(b),
            (None, b'[' | b'{') => {
                depth += 1;
                if depth > limits::MAX_DEPTH {
                    return Some(line);
                }
            }
            (None, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Byte range of a CRD's `  versions:` block under a top-level `spec:`, when
/// it can be cut out and spliced back safely (block style, no aliases).
fn crd_versions_block(body: &str) -> Option<(usize, usize)> {
    if !has_line(body, "kind: CustomResourceDefinition") {
        return None;
    }
    let spec = find_line(body, 0, "spec:")?;
    let mut pos = spec + body[spec..].find('\n')? + 1;
    let mut start = None;
    while pos < body.len() {
        let end =
            memchr::memchr(b'\n', &body.as_bytes()[pos..]).map_or(body.len(), |n| pos + n + 1);
        let line = body[pos..end].trim_end_matches(['\n', '\r']);
        match start {
            None => {
                if !line.starts_with(' ') && !line.trim().is_empty() {
                    return None; // left `spec:` without finding `versions:`
                }
                if line.trim_end() == "  versions:" {
                    start = Some(pos);
                }
            }
            // Lines indented 3+ are inside the block: decide from the first
            // bytes, without scanning the (often long) rest of the line.
            Some(_) if line.starts_with("   ") => {}
            Some(s) => {
                let indent = line.len() - line.trim_start_matches(' ').len();
                let t = line.trim_start();
                let inside = t.is_empty()
                    || t.starts_with('#')
                    || indent > 2
                    || (indent == 2 && t.starts_with("- "))
                    || (indent == 2 && t == "-");
                if !inside {
                    return checked_block(body, s, pos);
                }
            }
        }
        pos = end;
    }
    start.and_then(|s| checked_block(body, s, body.len()))
}

/// Accept the block only if it cannot use an alias to an anchor outside it
/// (re-serialisation would drop the anchor). Without any anchor in the
/// document there can be no alias; with anchors, reject a block containing
/// anything that looks like an alias.
fn checked_block(body: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    if !has_anchor(body) {
        return Some((start, end));
    }
    let block = &body[start..end];
    let has_alias = ["- *", ": *", "[*", ", *"]
        .iter()
        .any(|p| block.contains(p));
    (!has_alias).then_some((start, end))
}

/// Whether `body` may define an anchor: `&name` where a node can start.
/// (False positives, e.g. `a &b` in prose, only cost a full parse.)
fn has_anchor(body: &str) -> bool {
    let bytes = body.as_bytes();
    memchr::memchr_iter(b'&', bytes).any(|i| {
        let before = if i == 0 { b' ' } else { bytes[i - 1] };
        let after = bytes.get(i + 1).copied().unwrap_or(b' ');
        matches!(before, b' ' | b'\t' | b'\n' | b'[' | b'{' | b',')
            && !matches!(
                after,
                b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']' | b'{' | b'}'
            )
    })
}

fn has_line(body: &str, line: &str) -> bool {
    find_line(body, 0, line).is_some()
}

/// Byte offset of the first line from `from` that equals `line` (ignoring a
/// trailing `\r` and spaces).
fn find_line(body: &str, from: usize, line: &str) -> Option<usize> {
    let mut search = from;
    while let Some(n) = body[search..].find(line) {
        let at = search + n;
        let line_start = at == 0 || body.as_bytes()[at - 1] == b'\n';
        let rest = &body[at + line.len()..];
        let line_end = rest
            .split('\n')
            .next()
            .is_some_and(|r| r.trim_end().is_empty());
        if line_start && line_end {
            return Some(at);
        }
        search = at + line.len();
    }
    None
}

/// Every document must be a Kubernetes-shaped object.
fn check_shape(index: usize, source: &Option<String>, value: &Value) -> Result<()> {
    let doc = |kind: Option<&str>, name: Option<&str>| DocRef {
        index,
        source: source.clone(),
        kind: kind.map(str::to_owned),
        name: name.map(str::to_owned),
    };
    let Value::Mapping(map) = value else {
        return Err(Error::Document {
            doc: doc(None, None),
            message: format!(
                "expected a mapping (a Kubernetes object), found {}",
                value_kind(value)
            ),
        });
    };
    let kind = map.get("kind").and_then(Value::as_str);
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str);
    for field in ["apiVersion", "kind"] {
        match map.get(field) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(other) => {
                return Err(Error::Field {
                    doc: doc(kind, name),
                    field: field.into(),
                    message: format!("expected a non-empty string, found {}", value_kind(other)),
                })
            }
            None => {
                return Err(Error::Field {
                    doc: doc(kind, name),
                    field: field.into(),
                    message: "missing".into(),
                })
            }
        }
    }
    // Transforms edit metadata, its labels and annotations in place: they
    // must be plain mappings (`is_mapping` would also accept a tagged one,
    // which an edit would replace).
    if let Some(meta) = map.get("metadata") {
        if !matches!(meta, Value::Mapping(_)) {
            return Err(Error::Field {
                doc: doc(kind, name),
                field: "metadata".into(),
                message: format!("expected a mapping, found {}", value_kind(meta)),
            });
        }
        for field in ["labels", "annotations"] {
            match meta.get(field) {
                None | Some(Value::Null | Value::Mapping(_)) => {}
                Some(other) => {
                    return Err(Error::Field {
                        doc: doc(kind, name),
                        field: format!("metadata.{field}"),
                        message: format!("expected a mapping, found {}", value_kind(other)),
                    })
                }
            }
        }
    }
    let mut nodes = 0;
    let depth = measure(value, 1, &mut nodes);
    if depth > limits::MAX_DEPTH {
        return Err(Error::Document {
            doc: doc(kind, name),
            message: format!(
                "nesting depth {depth} exceeds the limit of {}",
                limits::MAX_DEPTH
            ),
        });
    }
    if nodes > limits::MAX_NODES {
        return Err(Error::Document {
            doc: doc(kind, name),
            message: format!(
                "document expands to more than {} nodes (alias expansion?)",
                limits::MAX_NODES
            ),
        });
    }
    Ok(())
}

/// Depth of `value`, adding its node count to `nodes`. Stops descending once
/// a limit is exceeded, so a hostile document costs no more than the limits.
fn measure(value: &Value, depth: usize, nodes: &mut usize) -> usize {
    *nodes += 1;
    if depth > limits::MAX_DEPTH || *nodes > limits::MAX_NODES {
        return depth;
    }
    match value {
        Value::Mapping(m) => m
            .iter()
            .map(|(k, v)| measure(k, depth + 1, nodes).max(measure(v, depth + 1, nodes)))
            .max()
            .unwrap_or(depth),
        Value::Sequence(s) => s
            .iter()
            .map(|v| measure(v, depth + 1, nodes))
            .max()
            .unwrap_or(depth),
        Value::Tagged(t) => measure(&t.value, depth + 1, nodes),
        _ => depth,
    }
}

pub(crate) fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Append one document body as it will be written to `out`; `opaque` is
/// the stream's table of CRD schema blocks.
fn write_body(doc: &Document, opaque: &[&str], out: &mut Vec<u8>) -> Result<()> {
    if !doc.is_touched() && !doc.is_generated() {
        out.extend_from_slice(doc.raw().as_bytes());
        if !doc.raw().ends_with('\n') {
            out.push(b'\n');
        }
        return Ok(());
    }
    let text = serde_yaml::to_string(doc.value()).map_err(|e| Error::Document {
        doc: doc.doc_ref(),
        message: format!("cannot serialise: {e}"),
    })?;
    let text = crate::yaml11::quote_ambiguous(text);
    let Some(n) = doc
        .value()
        .get("spec")
        .and_then(|s| s.get("versions"))
        .and_then(Value::as_str)
        .and_then(|s| s.strip_prefix("__kf_post_opaque_"))
        .and_then(|s| s.strip_suffix("__"))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n < opaque.len())
    else {
        out.extend_from_slice(text.as_bytes());
        return Ok(());
    };
    let line = format!("  versions: {}\n", opaque_placeholder(n));
    let Some(at) = text.find(&line) else {
        return Err(Error::Field {
            doc: doc.doc_ref(),
            field: "spec.versions".into(),
            message: "the CRD schemas, which kf-post keeps as text, are no longer at their \
                      place under a top-level `spec`; a transform moved them (a bug)"
                .into(),
        });
    };
    let block = opaque[n];
    out.extend_from_slice(&text.as_bytes()[..at]);
    out.extend_from_slice(block.as_bytes());
    if !block.ends_with('\n') {
        out.push(b'\n');
    }
    out.extend_from_slice(&text.as_bytes()[at + line.len()..]);
    Ok(())
}

/// The values of a stream's documents (CRD schemas parsed too), read with
/// every check kf-post makes (limits, duplicate keys, encodings): the one
/// stream reader for tests and tools that need to look inside manifests.
pub fn read_values(input: &[u8]) -> Result<Vec<Value>> {
    let stream = parse(input, ParseOptions { full_crds: true })?;
    Ok(stream
        .documents
        .into_iter()
        .map(Document::into_value)
        .collect())
}

/// Write documents as a stream: `---`, the leading comments, the body.
/// Takes the documents by value and frees each once written, so the peak
/// memory is not input + parsed documents + output at once.
pub fn emit(docs: Vec<Document>, opaque: &[&str]) -> Result<Vec<u8>> {
    // A touched CRD's `raw` still holds its schemas, so this covers them.
    let mut out = Vec::with_capacity(docs.iter().map(|d| d.raw().len() + 64).sum());
    for doc in docs {
        out.extend_from_slice(b"---\n");
        out.extend_from_slice(doc.leading_comments().as_bytes());
        write_body(&doc, opaque, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Stream<'_>> {
        parse(s.as_bytes(), ParseOptions::default())
    }

    fn err(s: &[u8]) -> String {
        parse(s, ParseOptions::default())
            .expect_err("input should be rejected")
            .to_string()
    }

    #[test]
    fn splits_like_helm_and_kustomize_write() {
        // (input, expected (source, kind, name) per document, empty documents)
        type Expected<'a> = &'a [(Option<&'a str>, &'a str, &'a str)];
        let cases: &[(&str, Expected, usize)] = &[
            (
                "apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\napiVersion: v1\nkind: B\nmetadata: {name: b}\n",
                &[(None, "A", "a"), (None, "B", "b")],
                0,
            ),
            (
                "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\n# Source: c/templates/empty.yaml\n---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n",
                &[(Some("c/templates/a.yaml"), "A", "a"), (Some("c/templates/b.yaml"), "B", "b")],
                1,
            ),
            (
                "\u{feff}apiVersion: v1\r\nkind: A\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: B\r\nmetadata:\r\n  name: b\r\n",
                &[(None, "A", "a"), (None, "B", "b")],
                0,
            ),
            (
                "apiVersion: v1\nkind: A\nmetadata: {name: a}\n...\n---\napiVersion: v1\nkind: B\nmetadata: {name: b}\n...\n",
                &[(None, "A", "a"), (None, "B", "b")],
                0,
            ),
            (
                "--- # first\napiVersion: v1\nkind: A\nmetadata: {name: a}\n",
                &[(None, "A", "a")],
                0,
            ),
        ];
        for (input, expected, empty) in cases {
            let s = parse_str(input).unwrap();
            let got: Vec<_> = s
                .documents
                .iter()
                .map(|d| (d.source(), d.kind().unwrap(), d.name().unwrap()))
                .collect();
            assert_eq!(&got, expected, "input {input:?}");
            assert_eq!(s.empty_documents, *empty, "empty documents in {input:?}");
            for (i, d) in s.documents.iter().enumerate() {
                assert_eq!(d.index, i);
            }
        }
    }

    #[test]
    fn untouched_documents_are_byte_identical() {
        let input = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a # trailing comment\ndata:\n  z: '1'\n  a: \"x\"   # odd spacing kept\n---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n";
        let s = parse_str(input).unwrap();
        assert_eq!(
            String::from_utf8(emit(s.documents.clone(), &s.opaque).unwrap()).unwrap(),
            input
        );
    }

    #[test]
    fn touched_documents_keep_key_order_and_comments() {
        let input = "---\n# Source: c/templates/a.yaml\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: a\n  annotations:\n    postrenderer.helm.sh/postrender-filename: c/templates/a.yaml\ndata:\n  z: '1'\n  a: x\n";
        let mut s = parse_str(input).unwrap();
        s.documents[0].set_label("test", "x", "y");
        let out = String::from_utf8(emit(s.documents.clone(), &s.opaque).unwrap()).unwrap();
        assert_eq!(
            out,
            "---\n# Source: c/templates/a.yaml\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: a\n  annotations:\n    postrenderer.helm.sh/postrender-filename: c/templates/a.yaml\n  labels:\n    x: 'y'\ndata:\n  z: '1'\n  a: x\n"
        );
    }

    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: foos.example.com\nspec:\n  group: example.com\n  names:\n    kind: Foo\n    plural: foos\n  scope: Namespaced\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        description: |\n          A foo.\n\n          # not a comment: block scalar text\n        type: object\n    served: true\n    storage: true\n  preserveUnknownFields: false\nstatus:\n  acceptedNames: {kind: '', plural: ''}\n";

    #[test]
    fn crd_schemas_stay_opaque_and_are_spliced_back() {
        let s = parse_str(CRD).unwrap();
        let d = &s.documents[0];
        assert_eq!(
            d.value()["spec"]["versions"].as_str(),
            Some("__kf_post_opaque_0__")
        );
        assert_eq!(d.value()["spec"]["scope"].as_str(), Some("Namespaced"));
        assert_eq!(
            d.value()["spec"]["preserveUnknownFields"].as_bool(),
            Some(false)
        );
        // Untouched: byte-identical.
        assert_eq!(
            String::from_utf8(emit(s.documents.clone(), &s.opaque).unwrap()).unwrap(),
            format!("---\n{CRD}")
        );
        // Touched: the schemas come back in place and parse to the original.
        let mut s = s;
        s.documents[0].set_label("test", "a", "b");
        let out = emit(s.documents.clone(), &s.opaque).unwrap();
        let reparsed = parse(&out, ParseOptions { full_crds: true }).unwrap();
        let mut want: Value = serde_yaml::from_str(CRD).unwrap();
        want["metadata"]["labels"] = serde_yaml::from_str("{a: b}").unwrap();
        assert_eq!(*reparsed.documents[0].value(), want);
        // Full parse when asked for.
        let full = parse(CRD.as_bytes(), ParseOptions { full_crds: true }).unwrap();
        assert!(full.documents[0].value()["spec"]["versions"].is_sequence());
    }

    #[test]
    fn invalid_yaml_inside_crd_schemas_is_refused() {
        let crd = CRD.replace(
            "    served: true\n",
            "    served: true\n       - broken: [\n",
        );
        let e = parse_str(&format!(
            "apiVersion: v1\nkind: A\nmetadata: {{name: a}}\n---\n{crd}"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("document 1: invalid YAML at input line 25 column 16 (in spec.versions): mapping values are not allowed"),
            "{e}"
        );
    }

    #[test]
    fn alias_lookalikes_in_schemas_keep_them_opaque() {
        let crd = CRD.replace("    served: true", "    additionalPrinterColumns:\n    - jsonPath: .spec.containers[*].name\n      description: 'Examples: *.foo.com, a & b'\n    served: true");
        let d = &parse_str(&crd).unwrap().documents[0];
        assert_eq!(
            d.value()["spec"]["versions"].as_str(),
            Some("__kf_post_opaque_0__")
        );
    }

    #[test]
    fn crd_with_aliases_is_parsed_fully() {
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x\nx-common: &s {type: string}\nspec:\n  versions:\n  - name: v1\n    schema: *s\n";
        let d = &parse_str(crd).unwrap().documents[0];
        assert!(d.value()["spec"]["versions"].is_sequence());
    }

    #[test]
    fn bad_input_names_the_document() {
        let deep = format!(
            "apiVersion: v1\nkind: A\nmetadata: {{name: deep}}\ndata: {}{}\n",
            "[".repeat(200),
            "]".repeat(200)
        );
        let bomb = "apiVersion: v1\nkind: A\nmetadata: {name: bomb}\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n";
        // Few aliases to a big anchor: under serde_yaml's jump limit, over ours.
        let wide_bomb = format!(
            "apiVersion: v1\nkind: A\nmetadata: {{name: wide}}\na: &a [{}]\nb: [{}]\n",
            vec!["x"; 30_000].join(","),
            vec!["*a"; 90].join(",")
        );
        let ok =
            "apiVersion: v1\nkind: A\nmetadata: {name: ok}\n---\n# Source: c/templates/x.yaml\n";
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (format!("{ok}apiVersion: v1\nkind: [\n").into_bytes(), "document 1 (c/templates/x.yaml): invalid YAML at input line 8 column 1: did not find expected node content"),
            (format!("{ok}- a\n- b\n").into_bytes(), "document 1 (c/templates/x.yaml): expected a mapping (a Kubernetes object), found a sequence"),
            (format!("{ok}just text\n").into_bytes(), "document 1 (c/templates/x.yaml): expected a mapping"),
            (format!("{ok}kind: A\nmetadata: {{name: n}}\n").into_bytes(), "document 1 (c/templates/x.yaml) A/n: field `apiVersion`: missing"),
            (format!("{ok}apiVersion: v1\nmetadata: {{name: n}}\n").into_bytes(), "document 1 (c/templates/x.yaml): field `kind`: missing"),
            (format!("{ok}apiVersion: v1\nkind: 3\n").into_bytes(), "field `kind`: expected a non-empty string, found a number"),
            (format!("{ok}apiVersion: v1\nkind: A\nmetadata: [x]\n").into_bytes(), "field `metadata`: expected a mapping"),
            (format!("{ok}apiVersion: v1\nkind: A\nmetadata: !custom\n  name: n\n").into_bytes(), "document 1 (c/templates/x.yaml) A/n: field `metadata`: expected a mapping, found a tagged value"),
            (format!("{ok}apiVersion: v1\nkind: A\nmetadata:\n  name: n\n  labels: [a]\n").into_bytes(), "A/n: field `metadata.labels`: expected a mapping, found a sequence"),
            ([ok.as_bytes(), b"apiVersion: v1\nkind: \xff\n"].concat(), "document 1: invalid UTF-8 at input line 7"),
            ([ok.as_bytes(), b"apiVersion: v1\nkind: A\x00\n"].concat(), "document 1: NUL byte at input line 7"),
            (b"\xff\xfea\x00p\x00".to_vec(), "input: the stream looks UTF-16/UTF-32 encoded; kf-post reads UTF-8"),
            (b"a\x00p\x00i\x00".to_vec(), "input: the stream looks UTF-16"),
            (deep.into_bytes(), "document 0: flow collections nested deeper than 64 levels (input line 4)"),
            (bomb.as_bytes().to_vec(), "document 0: invalid YAML: repetition limit exceeded"),
            (wide_bomb.into_bytes(), "document 0 A/wide: document expands to more than 2000000 nodes"),
        ];
        for (input, want) in cases {
            let got = err(&input);
            assert!(
                got.contains(want),
                "for {:?}\n got: {got}\nwant: {want}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    #[test]
    fn characters_yaml_forbids_are_refused_even_in_comments() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"# Source: a\x0fb.yaml\napiVersion: v1\nkind: A\n", Some("document 0: control character U+000F at input line 1")),
            (b"apiVersion: v1\nkind: A # c\x07\n", Some("control character U+0007 at input line 2")),
            (b"apiVersion: v1\nkind: A\nx: \"\xc2\x9b\"\n", Some("control character U+009B at input line 3")),
            (b"apiVersion: v1\nkind: A\nx: \"\xef\xbf\xbe\"\n", Some("control character U+FFFE")),
            (b"apiVersion: v1\nkind: A\nx: \"\xc2\x85\ttab \xc2\xa0 \xef\xbf\xbd \xf0\x9f\x98\x80\"\r\n", None),
        ];
        for (input, want) in cases {
            match (parse_str(std::str::from_utf8(input).unwrap()), want) {
                (Ok(_), None) => {}
                (Err(e), Some(w)) => assert!(e.to_string().contains(w), "{e}"),
                (got, _) => panic!(
                    "{:?}: {:?}",
                    String::from_utf8_lossy(input),
                    got.map(|_| ())
                ),
            }
        }
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        let cases = [
            (
                format!(
                    "apiVersion: v1\nkind: A\nmetadata: {{name: n}}\ndata: {}\n",
                    "[".repeat(100_000)
                ),
                Some("flow collections nested deeper than 64 levels (input line 4)"),
            ),
            (
                format!(
                    "apiVersion: v1\nkind: A\nmetadata: {{name: n}}\ndata: [{}]\n",
                    "'[',".repeat(100)
                ),
                None,
            ),
            (
                format!(
                    "apiVersion: v1\nkind: A\nmetadata: {{name: n}}\ndata: [{}]\n",
                    vec!["[a]"; 100].join(", ")
                ),
                None,
            ),
        ];
        for (input, want) in cases {
            let got = parse_str(&input).err().map(|e| e.to_string());
            match want {
                Some(w) => assert!(got.as_deref().is_some_and(|g| g.contains(w)), "{got:?}"),
                None => assert!(got.is_none(), "{got:?}"),
            }
        }
    }

    #[test]
    fn depth_limit_is_enforced_below_serde_yaml_limit() {
        // Block nesting: not caught by the flow pre-check, parsed, then
        // measured.
        let mut nested = String::from("apiVersion: v1\nkind: A\nmetadata: {name: n}\n");
        for level in 0..limits::MAX_DEPTH + 5 {
            nested.push_str(&format!("{}k:\n", "  ".repeat(level)));
        }
        assert!(
            err(nested.as_bytes()).contains("nesting depth 65 exceeds the limit of 64"),
            "{}",
            err(nested.as_bytes())
        );
    }

    #[test]
    fn size_limits_are_enforced() {
        let big = format!(
            "apiVersion: v1\nkind: A\nmetadata: {{name: n}}\ndata: {{k: '{}'}}\n",
            "x".repeat(limits::MAX_DOCUMENT_BYTES)
        );
        assert!(err(big.as_bytes()).contains("more than the limit"));
    }
}
