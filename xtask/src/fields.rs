//! Catalog-declared chart values that set structured fields of named upstream
//! objects (`chartValues`, `fields`, `renderedUnless` in catalog/components.yaml):
//! an env var of a container, a ConfigMap or Secret key, a key inside a YAML
//! payload, or a literal inside a text payload; and objects left out when a value
//! is set (the in-cluster MySQL when an external database is given).
//!
//! A field with `when` keeps upstream's content unless that value is set, so
//! defaults render upstream; a field without `when` is always rendered from its
//! value, whose declared default the sync checks against upstream's content.

use crate::template::escape_braces;
use crate::values::Doc;
use crate::yaml::field_mut;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::json;
use serde_yaml::{Mapping, Value};

/// One value of the chart's values file, declared in the catalog.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ValueSpec {
    /// Dotted path under the chart's values (camelCase keys).
    pub path: String,
    #[serde(rename = "type")]
    pub kind: ValueType,
    pub default: Value,
    pub description: String,
    /// Extra JSON-schema keywords (`minimum`, `pattern`, `items`, …).
    #[serde(default)]
    pub schema: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    String,
    Integer,
    Boolean,
    Object,
    Array,
}

impl ValueType {
    fn json(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Boolean => "boolean",
            ValueType::Object => "object",
            ValueType::Array => "array",
        }
    }
    fn doc(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "int",
            ValueType::Boolean => "bool",
            ValueType::Object => "object",
            ValueType::Array => "list",
        }
    }
}

/// How the declared content is put into the field.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Payload {
    /// The field itself is replaced (a scalar).
    #[default]
    None,
    /// The field is a YAML document; `within` is the path of the key inside it.
    Yaml,
    /// The field is text; `literal` inside `text` (each once) is replaced.
    Text,
}

/// One field of one upstream object set from values.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The object: every variant's version of kind/name that has the field.
    pub kind: String,
    pub name: String,
    /// Path of the field: mapping keys, list indexes, or `name=<x>` (the list
    /// item whose `name` is x: containers, env).
    pub field: Vec<String>,
    /// What to put there: `{a.b}` is the value `a.b` (typed when it is the whole
    /// of `set`), `{!a.b}` its negation; other text around placeholders makes a
    /// string. Exclusive with `literal`.
    #[serde(default)]
    pub set: String,
    /// A list item appended to the list at `field` when `when` is set (an env
    /// entry upstream does not have); its string leaves may hold placeholders as
    /// in `set`. Exclusive with `set` and `literal`.
    #[serde(default)]
    pub add: Option<Value>,
    /// A fixed YAML scalar (null included) put there instead (with `when`).
    #[serde(default, deserialize_with = "present")]
    pub literal: Option<Value>,
    /// The value that switches the field from upstream's content to `set`.
    /// Empty: always `set` (its value's default must reproduce upstream).
    #[serde(default)]
    pub when: String,
    #[serde(default)]
    pub payload: Payload,
    /// Payload `yaml`: the key path inside the document (`*`: every list item).
    #[serde(default)]
    pub within: Vec<String>,
    /// Payload `text`: the text around `replaces` (each occurs once); empty:
    /// `replaces` itself occurs once.
    #[serde(default)]
    pub text: String,
    /// Payload `text`: the literal replaced. Without `when`, the value's
    /// default must be it (the field is always rendered from the value).
    #[serde(default)]
    pub replaces: String,
    /// Dotted path under `global` whose value, when non-empty, wins over `set`
    /// (one umbrella value that several objects or charts follow).
    #[serde(default)]
    pub global: String,
    /// The render fails naming the value when it is empty.
    #[serde(default)]
    pub required: bool,
    /// Base64-encode (a Secret's `data`).
    #[serde(default)]
    pub base64: bool,
    /// Payload `yaml`: the strings at `within` are image references, which
    /// follow `global.imageRegistry` as container images do (the
    /// `<chart>.image` rule). Exclusive with `set`, `literal`, `add` and `when`.
    #[serde(default)]
    pub image: bool,
}

/// Objects not rendered when `value` is set (truthy).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct UnlessSpec {
    pub value: String,
    /// `Kind/name` of each object (every namespace and variant).
    pub objects: Vec<String>,
    pub reason: String,
}

/// `literal: null` is a literal (null), an absent `literal` is none.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn values_expr(path: &str) -> String {
    format!("$.Values.{path}")
}

/// The template expression of `set` (or `literal`), and whether it is typed
/// (one whole placeholder) rather than a string.
fn set_expr(f: &FieldSpec) -> Result<(String, bool)> {
    if let Some(lit) = &f.literal {
        return Ok((
            match lit {
                Value::Null => "nil".into(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                Value::String(s) => serde_json::to_string(s)?,
                _ => bail!("literal must be a scalar"),
            },
            true,
        ));
    }
    let mut fmt = String::new();
    let mut args = Vec::new();
    let mut rest = f.set.as_str();
    while let Some(i) = rest.find('{') {
        fmt.push_str(&rest[..i].replace('%', "%%"));
        let j = rest[i..]
            .find('}')
            .with_context(|| format!("unclosed placeholder in set {:?}", f.set))?;
        let name = &rest[i + 1..i + j];
        args.push(match (name.strip_prefix('!'), name.split_once('?')) {
            (Some(p), _) => format!("(not {})", values_expr(p)),
            (None, None) if name.contains('|') => {
                let (p, fallback) = name.split_once('|').expect("contains |");
                format!(
                    "(default {} {})",
                    serde_json::to_string(fallback)?,
                    values_expr(p)
                )
            }
            (None, Some((p, choice))) => {
                let (yes, no) = choice
                    .split_once(':')
                    .with_context(|| format!("{{{name}}}: a choice is {{value?yes:no}}"))?;
                format!(
                    "(ternary {} {} {})",
                    serde_json::to_string(yes)?,
                    serde_json::to_string(no)?,
                    values_expr(p)
                )
            }
            (None, None) => values_expr(name),
        });
        fmt.push_str("%v");
        rest = &rest[i + j + 1..];
    }
    fmt.push_str(&rest.replace('%', "%%"));
    if args.is_empty() {
        bail!("set {:?} names no value", f.set);
    }
    if fmt == "%v" {
        return Ok((args.remove(0), true));
    }
    Ok((
        format!(
            "(printf {} {})",
            serde_json::to_string(&fmt)?,
            args.join(" ")
        ),
        false,
    ))
}

/// The values a `set` names.
fn set_values(f: &FieldSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = f.set.as_str();
    while let (Some(i), Some(j)) = (rest.find('{'), rest.find('}')) {
        if j < i {
            break;
        }
        let name = rest[i + 1..j].trim_start_matches('!');
        let name = name.split_once('?').map_or(name, |(p, _)| p);
        out.push(name.split_once('|').map_or(name, |(p, _)| p).to_string());
        rest = &rest[j + 1..];
    }
    out
}

/// A field entry that is only its `set` (an `add` item's string leaf).
fn bare(set: &str) -> FieldSpec {
    FieldSpec {
        kind: String::new(),
        name: String::new(),
        field: Vec::new(),
        set: set.to_string(),
        add: None,
        literal: None,
        when: String::new(),
        payload: Payload::None,
        within: Vec::new(),
        text: String::new(),
        replaces: String::new(),
        global: String::new(),
        required: false,
        base64: false,
        image: false,
    }
}

/// The values the string leaves of an `add` item name.
fn leaf_values(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => set_values(&bare(s)),
        Value::Mapping(m) => m.values().flat_map(leaf_values).collect(),
        _ => Vec::new(),
    }
}

/// Check the declarations of one chart against each other.
pub fn validate(
    chart: &str,
    values: &[ValueSpec],
    fields: &[FieldSpec],
    unless: &[UnlessSpec],
) -> Result<()> {
    let declared = |p: &str| values.iter().any(|v| v.path == p);
    for v in values {
        let ok = v.path.split('.').all(|k| {
            k.starts_with(|c: char| c.is_ascii_lowercase())
                && k.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if !ok {
            bail!(
                "chart {chart}: chartValues path {:?} must be dotted camelCase keys",
                v.path
            );
        }
        let ty_ok = match (v.kind, &v.default) {
            (ValueType::String, Value::String(_)) => true,
            (ValueType::Integer, Value::Number(n)) => n.is_i64(),
            (ValueType::Boolean, Value::Bool(_)) => true,
            (ValueType::Object, Value::Mapping(_)) => true,
            (ValueType::Array, Value::Sequence(_)) => true,
            _ => false,
        };
        if !ty_ok {
            bail!(
                "chart {chart}: chartValues {}: default {:?} is not a {}",
                v.path,
                v.default,
                v.kind.json()
            );
        }
    }
    for f in fields {
        let place = format!("chart {chart}: fields entry for {} {}", f.kind, f.name);
        let given = [
            !f.set.is_empty(),
            f.literal.is_some(),
            f.add.is_some(),
            f.image,
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            bail!("{place}: exactly one of set, literal, add and image");
        }
        if f.image && (f.payload != Payload::Yaml || !f.when.is_empty()) {
            bail!("{place}: image needs payload yaml (and no when: global.imageRegistry is it)");
        }
        if f.add.is_some() && (f.when.is_empty() || f.payload != Payload::None) {
            bail!("{place}: add needs when (and no payload)");
        }
        if f.literal.is_some() && f.when.is_empty() {
            bail!("{place}: a literal needs when");
        }
        let mut named = set_values(f);
        if let Some(item) = &f.add {
            named.extend(leaf_values(item));
        }
        for p in named.iter().chain(std::iter::once(&f.when)) {
            if !p.is_empty() && !declared(p) {
                bail!("{place}: {p:?} is not declared in chartValues");
            }
        }
        match f.payload {
            Payload::Yaml if f.within.is_empty() || (f.when.is_empty() && !f.image) => {
                bail!("{place}: payload yaml needs within and when")
            }
            Payload::Text if f.replaces.is_empty() => {
                bail!("{place}: payload text needs replaces")
            }
            _ => {}
        }
        if !f.global.is_empty() && (f.set.is_empty() || f.payload == Payload::Yaml) {
            bail!("{place}: global needs set (and no payload yaml)");
        }
        if f.within.last().is_some_and(|k| k == "*") {
            bail!("{place}: within cannot end with *");
        }
    }
    for u in unless {
        if !declared(&u.value) {
            bail!(
                "chart {chart}: renderedUnless {:?} is not declared in chartValues",
                u.value
            );
        }
    }
    Ok(())
}

/// The `if` condition of a template of `kind`/`name` that `unless` leaves out.
pub fn unless_condition(unless: &[UnlessSpec], kind: &str, name: &str) -> Option<String> {
    let id = format!("{kind}/{name}");
    let values: Vec<String> = unless
        .iter()
        .filter(|u| u.objects.contains(&id))
        .map(|u| values_expr(&u.value))
        .collect();
    match values.len() {
        0 => None,
        1 => Some(format!("{{{{- if not {} }}}}", values[0])),
        _ => Some(format!("{{{{- if not (or {}) }}}}", values.join(" "))),
    }
}

/// Every `renderedUnless` object is one of `objects` (`Kind/name`).
pub fn check_unless_objects(chart: &str, unless: &[UnlessSpec], objects: &[String]) -> Result<()> {
    for u in unless {
        if let Some(o) = u.objects.iter().find(|o| !objects.contains(o)) {
            bail!(
                "chart {chart}: renderedUnless {} names {o}, which no scenario has",
                u.value
            );
        }
    }
    Ok(())
}

/// Scalar as the text a Helm `toString` of it gives.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A YAML flow scalar that reads back as `v` (JSON is YAML), braces escaped.
fn literal_yaml(v: &Value) -> Result<String> {
    Ok(escape_braces(&serde_json::to_string(v)?))
}

/// Where the edits' template expressions go: the chart's template sentinels.
pub trait Tokens {
    /// A sentinel that renders as `expr` where it stands.
    fn inline(&mut self, expr: String) -> String;
    /// A sentinel list item that renders as the item `text` when `cond` holds.
    fn optional_item(&mut self, cond: String, text: String) -> String;
    /// The expression a sentinel already in a field stands for (a credential).
    fn existing(&self, text: &str) -> Option<String>;
}

/// Apply the `fields` entries of this object (`kind`/`name`) to `doc`.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    chart: &str,
    fields: &[FieldSpec],
    values: &[ValueSpec],
    doc: &mut Value,
    kind: &str,
    name: &str,
    place: &str,
    tokens: &mut dyn Tokens,
) -> Result<()> {
    let ctx = |f: &FieldSpec| {
        format!(
            "{place}: field {} (fields: set {:?})",
            f.field.join("."),
            f.set
        )
    };
    let mine: Vec<&FieldSpec> = fields
        .iter()
        .filter(|f| f.kind == kind && f.name == name)
        .collect();
    // Payload-yaml edits of one field combine into one expression.
    let mut yaml_groups: Vec<(Vec<String>, Vec<&FieldSpec>)> = Vec::new();
    for f in mine {
        if let Some(item) = &f.add {
            let cond = format!("{{{{- if {} }}}}", values_expr(&f.when));
            match field_mut(doc, &f.field) {
                Some(Value::Sequence(list)) => {
                    let name = item.get("name");
                    if name.is_some() && list.iter().any(|i| i.get("name") == name) {
                        bail!("{}: upstream already has the item {name:?}", ctx(f));
                    }
                    let text =
                        added(&Value::Sequence(vec![item.clone()])).with_context(|| ctx(f))?;
                    let mut m = Mapping::new();
                    m.insert(Value::String(tokens.optional_item(cond, text)), Value::Null);
                    list.push(Value::Mapping(m));
                }
                Some(Value::Mapping(map)) => {
                    let Value::Mapping(entries) = item else {
                        bail!("{}: add to a mapping takes a mapping", ctx(f));
                    };
                    if let Some(k) = entries.keys().find(|k| map.contains_key(*k)) {
                        bail!("{}: upstream already has the key {k:?}", ctx(f));
                    }
                    let text = added(item).with_context(|| ctx(f))?;
                    map.insert(Value::String(tokens.optional_item(cond, text)), Value::Null);
                }
                _ => bail!("{}: not a list or mapping", ctx(f)),
            }
            continue;
        }
        let Some(cur) = field_mut(doc, &f.field) else {
            // A variant's version of the object without the field.
            continue;
        };
        if f.image {
            if !matches!(cur, Value::String(_)) {
                bail!("{}: not a string", ctx(f));
            }
            match yaml_groups.iter_mut().find(|(p, _)| *p == f.field) {
                Some((_, g)) => g.push(f),
                None => yaml_groups.push((f.field.clone(), vec![f])),
            }
            continue;
        }
        let (expr, typed) = set_expr(f).with_context(|| ctx(f))?;
        let expr = if f.required {
            let p = set_values(f).remove(0);
            format!("(required \"{chart}: set {p} ({kind} {name} needs it)\" {expr})")
        } else {
            expr
        };
        let expr = if f.global.is_empty() {
            expr
        } else {
            let keys = crate::template::go_strings(f.global.split('.'));
            format!("dig {keys} \"\" ($.Values.global | default dict) | default {expr}")
        };
        // Without `when` the field always renders its value: its declared
        // default must be what upstream has there.
        let default_is = |want: Option<String>| -> Result<()> {
            let p = set_values(f).remove(0);
            let v = values.iter().find(|v| v.path == p).expect("validated");
            if !typed || scalar_text(&v.default) != want {
                bail!(
                    "{}: without when, the default of {p} ({:?}) must be upstream's {want:?}",
                    ctx(f),
                    v.default
                );
            }
            Ok(())
        };
        match f.payload {
            Payload::Yaml => {
                if !matches!(cur, Value::String(_)) {
                    bail!("{}: not a string", ctx(f));
                }
                match yaml_groups.iter_mut().find(|(p, _)| *p == f.field) {
                    Some((_, g)) => g.push(f),
                    None => yaml_groups.push((f.field.clone(), vec![f])),
                }
            }
            Payload::Text => {
                let Value::String(text) = cur else {
                    bail!("{}: not a string", ctx(f));
                };
                let around = if f.text.is_empty() {
                    &f.replaces
                } else {
                    &f.text
                };
                if text.matches(around.as_str()).count() != 1
                    || around.matches(f.replaces.as_str()).count() != 1
                {
                    bail!(
                        "{}: must contain {around:?} once, with {:?} once in it",
                        ctx(f),
                        f.replaces
                    );
                }
                let token = if f.when.is_empty() {
                    default_is(Some(f.replaces.clone()))?;
                    tokens.inline(format!("{{{{ {expr} }}}}"))
                } else {
                    tokens.inline(format!(
                        "{{{{ if {} }}}}{{{{ {expr} }}}}{{{{ else }}}}{}{{{{ end }}}}",
                        values_expr(&f.when),
                        escape_braces(&f.replaces)
                    ))
                };
                let replaced = around.replace(&f.replaces, &token);
                *text = text.replace(around.as_str(), &replaced);
            }
            Payload::None => {
                let up = cur.clone();
                let upstream_text =
                    scalar_text(&up).with_context(|| format!("{}: not a scalar", ctx(f)))?;
                let rendered = if f.base64 {
                    format!("{{{{ {expr} | toString | b64enc | quote }}}}")
                } else if matches!(up, Value::String(_)) {
                    format!("{{{{ {expr} | toString | quote }}}}")
                } else {
                    format!("{{{{ {expr} }}}}")
                };
                let expr = if f.when.is_empty() {
                    default_is(if f.base64 {
                        base64_decode(&upstream_text)
                    } else {
                        Some(upstream_text.clone())
                    })?;
                    rendered
                } else {
                    let before = match up.as_str().and_then(|s| tokens.existing(s)) {
                        Some(e) => e,
                        None => literal_yaml(&up)?,
                    };
                    format!(
                        "{{{{ if {} }}}}{rendered}{{{{ else }}}}{before}{{{{ end }}}}",
                        values_expr(&f.when)
                    )
                };
                *cur = Value::String(tokens.inline(expr));
            }
        }
    }
    for (path, group) in yaml_groups {
        let cur = field_mut(doc, &path).expect("found above");
        let text = cur.as_str().expect("checked above").to_string();
        let parsed: Value = serde_yaml::from_str(&text)
            .with_context(|| format!("{place}: {} is not YAML", path.join(".")))?;
        for f in &group {
            check_within(&parsed, &f.within)
                .with_context(|| format!("{place}: {}", path.join(".")))?;
        }
        let when = |f: &FieldSpec| {
            if f.image {
                IMAGE_REGISTRY.to_string()
            } else {
                values_expr(&f.when)
            }
        };
        let mut whens: Vec<String> = group.iter().map(|f| when(f)).collect();
        whens.dedup();
        let cond = if whens.len() == 1 {
            whens[0].clone()
        } else {
            format!("(or {})", whens.join(" "))
        };
        let lit = serde_json::to_string(&text)?;
        let mut sets = String::new();
        for f in &group {
            let keys = f
                .within
                .iter()
                .map(|k| serde_json::to_string(k).expect("string"))
                .collect::<Vec<_>>()
                .join(" ");
            let edit = if f.image {
                // Each upstream reference split as container images are
                // (`<chart>.image` takes the parts).
                let mut refs = Vec::new();
                strings_at(&parsed, &f.within, &mut refs);
                if refs.is_empty() {
                    bail!(
                        "{place}: {} has no image reference at {}",
                        path.join("."),
                        f.within.join(".")
                    );
                }
                refs.dedup();
                let table = refs
                    .iter()
                    .map(|r| {
                        let parts = crate::template::parse_image(r)
                            .iter()
                            .flat_map(|(k, v)| {
                                [k, v].map(|x| x.as_str().unwrap_or_default().to_string())
                            })
                            .collect::<Vec<_>>();
                        format!(
                            "{} (dict {})",
                            crate::template::go_strings([r]),
                            crate::template::go_strings(parts)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("include \"{chart}.imagesIn\" (list $c (list {keys}) $.Values.global (dict {table}))")
            } else {
                let (expr, _) = set_expr(f)?;
                format!("include \"{chart}.setIn\" (list $c (list {keys}) {expr})")
            };
            sets.push_str(&format!(
                "{{{{- if {} }}}}{{{{- $_ := {edit} }}}}{{{{- end }}}}",
                when(f)
            ));
        }
        let expr = format!(
            "{{{{ if {cond} }}}}{{{{- $c := {lit} | fromYaml }}}}{sets}{{{{ toYaml $c | toJson }}}}{{{{- else }}}}{{{{ {lit} | toJson }}}}{{{{- end }}}}"
        );
        *cur = Value::String(tokens.inline(expr));
    }
    Ok(())
}

/// The YAML text (unindented) of added list items or mapping entries, whose
/// string leaves with placeholders become their (quoted) template expressions.
fn added(item: &Value) -> Result<String> {
    fn mark(v: &Value, exprs: &mut Vec<String>) -> Result<Value> {
        Ok(match v {
            Value::String(s) if s.contains('{') => {
                let f = bare(s);
                let (e, _) = set_expr(&f)?;
                exprs.push(format!("{{{{ {e} | toString | quote }}}}"));
                Value::String(format!("__KFA_{}__", exprs.len() - 1))
            }
            Value::Mapping(m) => {
                let mut out = Mapping::new();
                for (k, v) in m {
                    out.insert(k.clone(), mark(v, exprs)?);
                }
                Value::Mapping(out)
            }
            Value::Sequence(xs) => {
                Value::Sequence(xs.iter().map(|x| mark(x, exprs)).collect::<Result<_>>()?)
            }
            other => other.clone(),
        })
    }
    let mut exprs = Vec::new();
    let marked = mark(item, &mut exprs)?;
    let mut text = escape_braces(&crate::template::to_yaml(&marked)?);
    for (i, e) in exprs.iter().enumerate().rev() {
        text = text.replace(&format!("__KFA_{i}__"), e);
    }
    Ok(text)
}

fn base64_decode(s: &str) -> Option<String> {
    // Upstream's Secret data is base64; the declared default is the decoded text.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = A.iter().position(|a| *a == c)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The condition of `image` fields: a mirror is set.
const IMAGE_REGISTRY: &str = "(dig \"imageRegistry\" \"\" ($.Values.global | default dict))";

/// The strings at `within` in `doc` (`*`: every list item), in order.
fn strings_at(doc: &Value, within: &[String], out: &mut Vec<String>) {
    let Some((first, rest)) = within.split_first() else {
        if let Value::String(s) = doc {
            out.push(s.clone());
        }
        return;
    };
    match (doc, first.as_str()) {
        (Value::Sequence(items), "*") => items.iter().for_each(|i| strings_at(i, rest, out)),
        (Value::Mapping(m), k) => {
            if let Some(v) = m.get(k) {
                strings_at(v, rest, out)
            }
        }
        _ => {}
    }
}

/// The key path exists in the payload (`*` over every list item), but for its
/// last key (which may be new: a setting upstream leaves to the default).
fn check_within(doc: &Value, within: &[String]) -> Result<()> {
    let Some((first, rest)) = within.split_first() else {
        return Ok(());
    };
    if rest.is_empty() {
        return match doc {
            Value::Mapping(_) => Ok(()),
            _ => bail!("the parent of {first} is not a mapping"),
        };
    }
    match (doc, first.as_str()) {
        (Value::Sequence(items), "*") => items.iter().try_for_each(|i| check_within(i, rest)),
        (Value::Mapping(m), k) => match m.get(k) {
            Some(v) => check_within(v, rest),
            None => bail!("no key {k}"),
        },
        _ => bail!("{first} does not match"),
    }
}

/// The chart helpers payload edits use: `setIn` (set `path` (keys; `*` for
/// each list item) in the dict `obj` to `value`, creating mappings on the way)
/// when `fields` set payload keys, `imagesIn` when they mirror images.
pub fn helpers(chart: &str, fields: &[FieldSpec]) -> String {
    let yaml = |image: bool| {
        fields
            .iter()
            .any(|f| f.payload == Payload::Yaml && f.image == image)
    };
    let mut out = String::new();
    if yaml(false) {
        out.push_str(&format!(
            r#"{{{{- /*
Set a key inside a parsed payload, from (list <dict> <list of keys> <value>):
`*` walks every item of a list; missing mappings are created.
*/}}}}
{{{{- define "{chart}.setIn" -}}}}
{{{{- $obj := index . 0 -}}}}
{{{{- $path := index . 1 -}}}}
{{{{- $v := index . 2 -}}}}
{{{{- $k := first $path -}}}}
{{{{- $rest := rest $path -}}}}
{{{{- if eq $k "*" -}}}}
{{{{- range $obj }}}}{{{{- $_ := include "{chart}.setIn" (list . $rest $v) }}}}{{{{- end -}}}}
{{{{- else if not $rest -}}}}
{{{{- $_ := set $obj $k $v -}}}}
{{{{- else -}}}}
{{{{- if kindIs "invalid" (index $obj $k) }}}}{{{{- $_ := set $obj $k dict }}}}{{{{- end -}}}}
{{{{- $_ := include "{chart}.setIn" (list (index $obj $k) $rest $v) -}}}}
{{{{- end -}}}}
{{{{- end -}}}}
"#
        ));
    }
    if yaml(true) {
        out.push_str(&format!(
            r#"{{{{- /*
Mirror image references inside a parsed payload, from (list <dict> <list of keys>
$.Values.global <dict: upstream reference -> its registry/repository/tag/digest>):
`*` walks every item of a list; a reference in the dict is rendered by
{chart}.image (global.imageRegistry replaces its registry), anything else is kept.
*/}}}}
{{{{- define "{chart}.imagesIn" -}}}}
{{{{- $obj := index . 0 -}}}}
{{{{- $path := index . 1 -}}}}
{{{{- $g := index . 2 -}}}}
{{{{- $refs := index . 3 -}}}}
{{{{- $k := first $path -}}}}
{{{{- $rest := rest $path -}}}}
{{{{- if eq $k "*" -}}}}
{{{{- range $obj }}}}{{{{- $_ := include "{chart}.imagesIn" (list . $rest $g $refs) }}}}{{{{- end -}}}}
{{{{- else if not (hasKey $obj $k) -}}}}
{{{{- else if not $rest -}}}}
{{{{- $ref := index $obj $k | toString -}}}}
{{{{- if hasKey $refs $ref }}}}{{{{- $_ := set $obj $k (include "{chart}.image" (list $g (index $refs $ref))) -}}}}{{{{- end -}}}}
{{{{- else -}}}}
{{{{- $_ := include "{chart}.imagesIn" (list (index $obj $k) $rest $g $refs) -}}}}
{{{{- end -}}}}
{{{{- end -}}}}
"#
        ));
    }
    out
}

/// A nested mapping of the declared values' defaults.
fn tree(values: &[ValueSpec]) -> Mapping {
    let mut root = Mapping::new();
    for v in values {
        let mut cur = &mut root;
        let keys: Vec<&str> = v.path.split('.').collect();
        for k in &keys[..keys.len() - 1] {
            cur = cur
                .entry(Value::String(k.to_string()))
                .or_insert_with(|| Value::Mapping(Mapping::new()))
                .as_mapping_mut()
                .expect("validated: a value path is never the prefix of another");
        }
        cur.insert(
            Value::String(keys[keys.len() - 1].into()),
            v.default.clone(),
        );
    }
    root
}

/// values.yaml text (with `# --` docs) and README rows of the declared values.
pub fn values_yaml(values: &[ValueSpec], out: &mut String, docs: &mut Vec<Doc>) {
    values_yaml_under(values, "", 0, out, docs)
}

/// The same for the declared values under `prefix` (`global`: a chart's
/// global section), at `indent`; values elsewhere are left out.
pub fn values_yaml_under(
    values: &[ValueSpec],
    prefix: &str,
    indent: usize,
    out: &mut String,
    docs: &mut Vec<Doc>,
) {
    fn walk(
        m: &Mapping,
        prefix: &str,
        indent: usize,
        values: &[ValueSpec],
        out: &mut String,
        docs: &mut Vec<Doc>,
    ) {
        for (k, v) in m {
            let k = k.as_str().unwrap_or_default();
            let path = if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            };
            let pad = " ".repeat(indent);
            match values.iter().find(|s| s.path == path) {
                Some(spec) => {
                    out.push_str(&format!("{pad}# -- {}\n", spec.description));
                    crate::values::emit(out, indent, k, v);
                    docs.push(Doc {
                        key: path,
                        kind: spec.kind.doc(),
                        default: crate::values::inline(v),
                        description: spec.description.clone(),
                    });
                }
                None => {
                    out.push_str(&format!("{pad}{k}:\n"));
                    walk(
                        v.as_mapping().expect("inner node"),
                        &path,
                        indent + 2,
                        values,
                        out,
                        docs,
                    );
                }
            }
        }
    }
    let root = tree(values);
    let mut at = &root;
    for k in prefix.split('.').filter(|k| !k.is_empty()) {
        match at.get(k).and_then(Value::as_mapping) {
            Some(m) => at = m,
            None => return,
        }
    }
    walk(at, prefix, indent, values, out, docs);
}

/// Schema properties of the declared values (nested objects closed).
pub fn schema(values: &[ValueSpec], props: &mut serde_json::Map<String, serde_json::Value>) {
    fn walk(
        m: &Mapping,
        prefix: &str,
        values: &[ValueSpec],
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut props = serde_json::Map::new();
        for (k, v) in m {
            let k = k.as_str().unwrap_or_default();
            let path = if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            };
            let s = match values.iter().find(|s| s.path == path) {
                Some(spec) => {
                    let mut s = json!({"type": spec.kind.json(), "description": spec.description});
                    if let (Some(extra), Some(obj)) = (&spec.schema, s.as_object_mut()) {
                        if let Some(e) = extra.as_object() {
                            obj.extend(e.clone());
                        }
                    }
                    s
                }
                None => json!({
                    "type": "object", "additionalProperties": false,
                    "properties": walk(v.as_mapping().expect("inner node"), &path, values)
                }),
            };
            props.insert(k.to_string(), s);
        }
        props
    }
    props.extend(walk(&tree(values), "", values));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(yaml: &str) -> FieldSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn set_expressions() {
        for (set, want, typed) in [
            ("{a.b}", "$.Values.a.b", true),
            ("{!a.secure}", "(not $.Values.a.secure)", true),
            (
                "{a.host}:{a.port}",
                "(printf \"%v:%v\" $.Values.a.host $.Values.a.port)",
                false,
            ),
            ("s3://{b}/x%", "(printf \"s3://%v/x%%\" $.Values.b)", false),
            ("{a|x}", "(default \"x\" $.Values.a)", true),
            (
                "{s?https:http}://{h}",
                "(printf \"%v://%v\" (ternary \"https\" \"http\" $.Values.s) $.Values.h)",
                false,
            ),
        ] {
            let f = field(&format!("{{kind: K, name: n, field: [x], set: {set:?}}}"));
            assert_eq!(set_expr(&f).unwrap(), (want.to_string(), typed), "{set}");
        }
        let f = field("{kind: K, name: n, field: [x], literal: null, when: a}");
        assert_eq!(set_expr(&f).unwrap().0, "nil");
    }

    #[test]
    fn fields_resolve_by_name_index_and_key() {
        let mut doc: Value = serde_yaml::from_str(
            "spec: {containers: [{name: a, env: [{name: X, value: '1'}, {name: Y, value: '2'}]}]}",
        )
        .unwrap();
        for (path, want) in [
            ("spec.containers.name=a.env.name=Y.value", Some("2")),
            ("spec.containers.0.env.0.value", Some("1")),
            ("spec.containers.name=b.env", None),
            ("spec.nope", None),
        ] {
            let p: Vec<String> = path.split('.').map(String::from).collect();
            assert_eq!(
                field_mut(&mut doc, &p).and_then(|v| v.as_str().map(String::from)),
                want.map(String::from),
                "{path}"
            );
        }
    }

    #[test]
    fn declarations_are_checked() {
        let v: Vec<ValueSpec> = serde_yaml::from_str(
            "[{path: db.host, type: string, default: '', description: d}, {path: db.port, type: integer, default: 3306, description: d}]",
        )
        .unwrap();
        let ok = field("{kind: K, name: n, field: [x], set: '{db.host}:{db.port}', when: db.host}");
        assert!(validate("c", &v, &[ok], &[]).is_ok());
        for (bad, msg) in [
            (
                "{kind: K, name: n, field: [x], set: '{db.user}', when: db.host}",
                "not declared",
            ),
            ("{kind: K, name: n, field: [x], literal: 1}", "needs when"),
            (
                "{kind: K, name: n, field: [x], set: '{db.host}', payload: yaml, when: db.host}",
                "needs within",
            ),
            (
                "{kind: K, name: n, field: [x], set: '{db.host}', literal: 1, when: db.host}",
                "exactly one",
            ),
            (
                "{kind: K, name: n, field: [x], set: '{db.host}', payload: yaml, within: [a], when: db.host, global: a.b}",
                "global needs set",
            ),
        ] {
            let e = validate("c", &v, &[field(bad)], &[])
                .unwrap_err()
                .to_string();
            assert!(e.contains(msg), "{bad}: {e}");
        }
        let bad: Vec<ValueSpec> =
            serde_yaml::from_str("[{path: a.b, type: integer, default: x, description: d}]")
                .unwrap();
        assert!(validate("c", &bad, &[], &[]).is_err());
    }

    /// Sentinels as in the chart templates: `T<n>`, expression kept.
    #[derive(Default)]
    struct Recorder(Vec<String>);
    impl Tokens for Recorder {
        fn inline(&mut self, expr: String) -> String {
            self.0.push(expr);
            format!("T{}", self.0.len() - 1)
        }
        fn optional_item(&mut self, cond: String, text: String) -> String {
            self.0.push(format!("{cond}|{text}"));
            format!("T{}", self.0.len() - 1)
        }
        fn existing(&self, text: &str) -> Option<String> {
            (text == "CRED").then(|| "{{ cred }}".to_string())
        }
    }

    #[test]
    fn edits_keep_upstream_unless_set() {
        let v: Vec<ValueSpec> = serde_yaml::from_str(
            "[{path: db.host, type: string, default: '', description: d}, {path: on, type: boolean, default: false, description: d}, {path: res, type: object, default: {}, description: d}, {path: s.email, type: string, default: user@x, description: d}]",
        )
        .unwrap();
        // One declaration applied to ConfigMap `c`: the edited document and the
        // recorded template text.
        let run = |f: FieldSpec, doc: &str| -> (Result<()>, Value, Recorder) {
            let mut d: Value = serde_yaml::from_str(doc).unwrap();
            let mut t = Recorder::default();
            let r = apply("chart", &[f], &v, &mut d, "ConfigMap", "c", "p", &mut t);
            (r, d, t)
        };
        let cases = [
            (
                "{kind: ConfigMap, name: c, field: [data, dbHost], set: '{db.host}', when: db.host}",
                "data: {dbHost: mysql}",
                "data:\n  dbHost: T0\n",
                "{{ if $.Values.db.host }}{{ $.Values.db.host | toString | quote }}{{ else }}\"mysql\"{{ end }}",
            ),
            (
                "{kind: ConfigMap, name: c, field: [data, ON], set: '{on}'}",
                "data: {ON: 'false'}",
                "data:\n  ON: T0\n",
                "{{ $.Values.on | toString | quote }}",
            ),
            (
                "{kind: ConfigMap, name: c, field: [data, password], set: '{db.host}', when: db.host, base64: true}",
                "data: {password: CRED}",
                "data:\n  password: T0\n",
                "{{ if $.Values.db.host }}{{ $.Values.db.host | toString | b64enc | quote }}{{ else }}{{ cred }}{{ end }}",
            ),
            (
                "{kind: ConfigMap, name: c, field: [data, py], payload: text, text: \"B = 'mlpipeline'\", replaces: mlpipeline, set: '{db.host}', when: db.host}",
                "data: {py: \"x\\nB = 'mlpipeline'\\n\"}",
                "data:\n  py: |\n    x\n    B = 'T0'\n",
                "{{ if $.Values.db.host }}{{ $.Values.db.host }}{{ else }}mlpipeline{{ end }}",
            ),
            (
                "{kind: ConfigMap, name: c, field: [data, c.yaml], payload: yaml, within: [a, '*', resources], set: '{res}', when: res}",
                "data: {c.yaml: \"a:\\n- k: x\\n\"}",
                "data:\n  c.yaml: T0\n",
                "{{ if $.Values.res }}{{- $c := \"a:\\n- k: x\\n\" | fromYaml }}{{- if $.Values.res }}{{- $_ := include \"chart.setIn\" (list $c (list \"a\" \"*\" \"resources\") $.Values.res) }}{{- end }}{{ toYaml $c | toJson }}{{- else }}{{ \"a:\\n- k: x\\n\" | toJson }}{{- end }}",
            ),
            // No `when`: always the value (its default is upstream's literal),
            // and a `global` value wins when set.
            (
                "{kind: ConfigMap, name: c, field: [data, cfg], payload: text, replaces: user@x, set: '{s.email}', global: auth.email}",
                "data: {cfg: \"users:\\n- email: user@x\\n\"}",
                "data:\n  cfg: |\n    users:\n    - email: T0\n",
                "{{ dig \"auth\" \"email\" \"\" ($.Values.global | default dict) | default $.Values.s.email }}",
            ),
            (
                "{kind: ConfigMap, name: c, field: [data, X], set: '{s.email}', global: auth.email}",
                "data: {X: user@x}",
                "data:\n  X: T0\n",
                "{{ dig \"auth\" \"email\" \"\" ($.Values.global | default dict) | default $.Values.s.email | toString | quote }}",
            ),
        ];
        for (f, doc, want_doc, want) in cases {
            let (r, d, t) = run(field(f), doc);
            r.unwrap();
            assert_eq!(t.0, vec![want.to_string()], "{f}");
            assert_eq!(serde_yaml::to_string(&d).unwrap(), want_doc, "{f}");
        }
        // An added list item: rendered only when set, placeholders quoted.
        let f = field("{kind: ConfigMap, name: c, field: [env], when: db.host, add: {name: B, value: '{db.host}:1', raw: $(A)}}");
        let (r, d, t) = run(f, "env: [{name: A, value: x}]");
        r.unwrap();
        assert_eq!(t.0, vec!["{{- if $.Values.db.host }}|- name: B\n  value: {{ (printf \"%v:1\" $.Values.db.host) | toString | quote }}\n  raw: $(A)\n".to_string()]);
        assert_eq!(
            serde_yaml::to_string(&d).unwrap(),
            "env:\n- name: A\n  value: x\n- T0: null\n"
        );
        let refused = [
            // A default that does not reproduce upstream.
            ("{kind: ConfigMap, name: c, field: [data, ON], set: '{on}'}", "data: {ON: 'true'}"),
            // A payload key path upstream's document does not have.
            ("{kind: ConfigMap, name: c, field: [data, y], payload: yaml, within: [b, c], set: '{res}', when: res}", "data: {y: 'a: 1'}"),
            // An added item upstream already has.
            ("{kind: ConfigMap, name: c, field: [env], when: db.host, add: {name: A, value: y}}", "env: [{name: A, value: x}]"),
            // A text literal without when whose value's default is not upstream's.
            ("{kind: ConfigMap, name: c, field: [data, y], payload: text, replaces: other, set: '{s.email}'}", "data: {y: 'other'}"),
            // A text literal that is not there once.
            ("{kind: ConfigMap, name: c, field: [data, y], payload: text, text: 'q', replaces: q, set: '{db.host}', when: db.host}", "data: {y: 'qq'}"),
        ];
        for (f, doc) in refused {
            assert!(run(field(f), doc).0.is_err(), "{f}");
        }
    }

    #[test]
    fn image_fields_mirror_each_reference_only_with_a_registry() {
        let f = field("{kind: ConfigMap, name: c, field: [data, c.yaml], payload: yaml, within: [a, '*', image], image: true}");
        assert!(validate("c", &[], std::slice::from_ref(&f), &[]).is_ok());
        let mut d: Value = serde_yaml::from_str(
            "data: {c.yaml: \"a:\\n- image: ghcr.io/x/y:1\\n- image: busybox\\n\"}",
        )
        .unwrap();
        let mut t = Recorder::default();
        apply("chart", &[f], &[], &mut d, "ConfigMap", "c", "p", &mut t).unwrap();
        let lit = r#""a:\n- image: ghcr.io/x/y:1\n- image: busybox\n""#;
        let reg = r#"(dig "imageRegistry" "" ($.Values.global | default dict))"#;
        let refs = r#"(dict "ghcr.io/x/y:1" (dict "registry" "ghcr.io" "repository" "x/y" "tag" "1" "digest" "") "busybox" (dict "registry" "" "repository" "busybox" "tag" "" "digest" ""))"#;
        assert_eq!(
            t.0,
            vec![format!(
                "{{{{ if {reg} }}}}{{{{- $c := {lit} | fromYaml }}}}{{{{- if {reg} }}}}{{{{- $_ := include \"chart.imagesIn\" (list $c (list \"a\" \"*\" \"image\") $.Values.global {refs}) }}}}{{{{- end }}}}{{{{ toYaml $c | toJson }}}}{{{{- else }}}}{{{{ {lit} | toJson }}}}{{{{- end }}}}"
            )]
        );
        for bad in [
            "{kind: K, name: n, field: [x], payload: yaml, within: [a], image: true, when: on}",
            "{kind: K, name: n, field: [x], within: [a], image: true}",
        ] {
            let e = validate("c", &[], &[field(bad)], &[])
                .unwrap_err()
                .to_string();
            assert!(e.contains("image needs payload yaml"), "{bad}: {e}");
        }
        // No reference at the path: refused, not silently nothing.
        let f = field("{kind: ConfigMap, name: c, field: [data, c.yaml], payload: yaml, within: [a, '*', image], image: true}");
        let mut d: Value = serde_yaml::from_str("data: {c.yaml: \"a:\\n- kind: x\\n\"}").unwrap();
        let e = apply(
            "chart",
            &[f],
            &[],
            &mut d,
            "ConfigMap",
            "c",
            "p",
            &mut Recorder::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no image reference"), "{e}");
    }

    #[test]
    fn unless_guards_only_the_named_objects() {
        let u: Vec<UnlessSpec> = serde_yaml::from_str(
            "[{value: db.host, objects: [Deployment/mysql, Service/mysql], reason: r}, {value: s3.host, objects: [Service/mysql], reason: r}]",
        )
        .unwrap();
        for (kind, name, want) in [
            (
                "Deployment",
                "mysql",
                Some("{{- if not $.Values.db.host }}"),
            ),
            (
                "Service",
                "mysql",
                Some("{{- if not (or $.Values.db.host $.Values.s3.host) }}"),
            ),
            ("Deployment", "ml-pipeline", None),
            ("ConfigMap", "mysql", None),
        ] {
            assert_eq!(
                unless_condition(&u, kind, name).as_deref(),
                want,
                "{kind}/{name}"
            );
        }
        let objects = vec!["Deployment/mysql".to_string()];
        let e = check_unless_objects("c", &u, &objects)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Service/mysql"), "{e}");
    }

    #[test]
    fn declared_values_are_documented_and_typed() {
        let v: Vec<ValueSpec> = serde_yaml::from_str(
            "[{path: db.host, type: string, default: '', description: Host, schema: {pattern: '^[a-z]*$'}}, {path: db.port, type: integer, default: 3306, description: Port}, {path: on, type: boolean, default: false, description: On}]",
        )
        .unwrap();
        let (mut out, mut docs) = (String::new(), Vec::new());
        values_yaml(&v, &mut out, &mut docs);
        assert_eq!(
            out,
            "db:\n  # -- Host\n  host: ''\n  # -- Port\n  port: 3306\n# -- On\non: false\n"
        );
        let keys: Vec<(&str, &str)> = docs.iter().map(|d| (d.key.as_str(), d.kind)).collect();
        assert_eq!(
            keys,
            [("db.host", "string"), ("db.port", "int"), ("on", "bool")]
        );
        let mut props = serde_json::Map::new();
        schema(&v, &mut props);
        assert_eq!(props["db"]["additionalProperties"], false);
        assert_eq!(props["db"]["properties"]["host"]["pattern"], "^[a-z]*$");
        assert_eq!(props["db"]["properties"]["port"]["type"], "integer");
        assert_eq!(props["on"]["type"], "boolean");
    }

    #[test]
    fn base64_of_upstream_secret_data() {
        for (enc, dec) in [("", ""), ("cm9vdA==", "root"), ("bXlzcWw=", "mysql")] {
            assert_eq!(base64_decode(enc).as_deref(), Some(dec));
        }
    }
}
