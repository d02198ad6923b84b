//! `profile add` / `profile remove`: edit the umbrella's `global.profiles`
//! list (`[{name, owner, resourceQuota: {cpu, memory}}]`).

use serde_yaml::{Mapping, Value};

use crate::error::{Error, Result};
use crate::values::{self, Values};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NewProfile {
    pub name: String,
    pub owner: String,
    pub cpu: Option<String>,
    pub memory: Option<String>,
}

/// A profile name becomes a namespace: an RFC 1123 label.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::new(format!(
            "profile name {name:?}: must be a DNS label (lowercase letters, digits, '-', at most 63 characters, no leading/trailing '-')"
        )))
    }
}

fn check_owner(owner: &str) -> Result<()> {
    let mut parts = owner.split('@');
    let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if local.is_empty()
        || !domain.contains('.')
        || parts.next().is_some()
        || owner.contains(char::is_whitespace)
    {
        return Err(Error::new(format!(
            "--owner {owner:?}: expected an email address (the user's login identity)"
        )));
    }
    Ok(())
}

/// A Kubernetes quantity: digits with an optional decimal part and suffix.
fn check_quantity(flag: &str, q: &str) -> Result<()> {
    let digits = q.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &q[digits.len()..];
    let number_ok = !digits.is_empty() && digits.parse::<f64>().is_ok() && !digits.starts_with('-');
    let suffix_ok = ["", "m", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti"].contains(&suffix);
    if number_ok && suffix_ok {
        Ok(())
    } else {
        Err(Error::new(format!(
            "{flag} {q:?}: not a Kubernetes quantity (e.g. 8, 500m, 16Gi)"
        )))
    }
}

fn profiles_mut(values: &mut Values) -> Result<&mut Vec<Value>> {
    if values::lookup(&values.user, "global.profiles").is_none() {
        // Start from the chart's list (empty by default) so we never drop entries.
        let base = values
            .get("global.profiles")
            .cloned()
            .unwrap_or(Value::Sequence(Vec::new()));
        values::set(&mut values.user, "global.profiles", base)?;
    }
    let global = values
        .user
        .get_mut("global")
        .and_then(Value::as_mapping_mut)
        .expect("set above");
    let list = global.get_mut("profiles").expect("set above");
    if list.is_null() {
        *list = Value::Sequence(Vec::new());
    }
    let kind = values::kind(list);
    list.as_sequence_mut().ok_or_else(|| {
        Error::new(format!(
            "values: global.profiles is {kind}, expected a list"
        ))
    })
}

fn name_of(item: &Value) -> Option<&str> {
    item.as_mapping()?.get("name")?.as_str()
}

pub fn add(values: &mut Values, p: &NewProfile) -> Result<()> {
    check_name(&p.name)?;
    check_owner(&p.owner)?;
    if let Some(cpu) = &p.cpu {
        check_quantity("--cpu", cpu)?;
    }
    if let Some(memory) = &p.memory {
        check_quantity("--memory", memory)?;
    }
    let list = profiles_mut(values)?;
    if list.iter().any(|i| name_of(i) == Some(p.name.as_str())) {
        return Err(Error::new(format!(
            "profile {:?} already exists in global.profiles; remove it first to change it",
            p.name
        )));
    }
    let mut item = Mapping::new();
    item.insert("name".into(), p.name.clone().into());
    item.insert("owner".into(), p.owner.clone().into());
    if p.cpu.is_some() || p.memory.is_some() {
        let mut quota = Mapping::new();
        if let Some(cpu) = &p.cpu {
            quota.insert("cpu".into(), cpu.clone().into());
        }
        if let Some(memory) = &p.memory {
            quota.insert("memory".into(), memory.clone().into());
        }
        item.insert("resourceQuota".into(), Value::Mapping(quota));
    }
    list.push(Value::Mapping(item));
    Ok(())
}

pub fn remove(values: &mut Values, name: &str) -> Result<()> {
    let list = profiles_mut(values)?;
    let before = list.len();
    list.retain(|i| name_of(i) != Some(name));
    if list.len() == before {
        let known: Vec<&str> = list.iter().filter_map(name_of).collect();
        return Err(Error::new(format!(
            "profile {name:?} is not in global.profiles (present: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::parse_user_values;

    fn vals(yaml: &str) -> Values {
        Values::new(parse_user_values(yaml.as_bytes()).unwrap())
    }

    fn profile(name: &str, owner: &str, cpu: Option<&str>, memory: Option<&str>) -> NewProfile {
        NewProfile {
            name: name.into(),
            owner: owner.into(),
            cpu: cpu.map(Into::into),
            memory: memory.map(Into::into),
        }
    }

    #[test]
    fn add_appends_with_optional_quota_and_keeps_other_values() {
        let mut v = vals("katib: {enabled: true}\nglobal: {profiles: [{name: a, owner: a@x.io}]}");
        add(
            &mut v,
            &profile("team-b", "bob@example.com", Some("8"), Some("16Gi")),
        )
        .unwrap();
        add(&mut v, &profile("team-c", "carol@example.com", None, None)).unwrap();
        let want = "katib:\n  enabled: true\nglobal:\n  profiles:\n  - name: a\n    owner: a@x.io\n  - name: team-b\n    owner: bob@example.com\n    resourceQuota:\n      cpu: '8'\n      memory: 16Gi\n  - name: team-c\n    owner: carol@example.com\n";
        assert_eq!(v.to_yaml().unwrap(), want);
    }

    #[test]
    fn add_rejects_bad_input_with_the_flag_named() {
        let cases = [
            (
                profile("Team_A", "a@x.io", None, None),
                "profile name \"Team_A\": must be a DNS label",
            ),
            (
                profile("a", "alice", None, None),
                "--owner \"alice\": expected an email address",
            ),
            (
                profile("a", "a@x.io", Some("lots"), None),
                "--cpu \"lots\": not a Kubernetes quantity",
            ),
            (
                profile("a", "a@x.io", None, Some("16GB")),
                "--memory \"16GB\": not a Kubernetes quantity",
            ),
            (
                profile("dup", "a@x.io", None, None),
                "profile \"dup\" already exists",
            ),
        ];
        for (p, want) in cases {
            let mut v = vals("global: {profiles: [{name: dup, owner: d@x.io}]}");
            let err = add(&mut v, &p).unwrap_err().to_string();
            assert!(err.contains(want), "{p:?}: {err}");
        }
    }

    #[test]
    fn remove_drops_only_the_named_profile() {
        let mut v =
            vals("global: {profiles: [{name: a, owner: a@x.io}, {name: b, owner: b@x.io}]}");
        remove(&mut v, "a").unwrap();
        assert_eq!(
            v.to_yaml().unwrap(),
            "global:\n  profiles:\n  - name: b\n    owner: b@x.io\n"
        );
        let err = remove(&mut v, "zzz").unwrap_err().to_string();
        assert_eq!(
            err,
            "profile \"zzz\" is not in global.profiles (present: b)"
        );
    }

    #[test]
    fn profiles_must_be_a_list() {
        let mut v = vals("global: {profiles: oops}");
        let err = add(&mut v, &profile("a", "a@x.io", None, None))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "values: global.profiles is a string, expected a list");
    }
}
