//! Checks for names and values kf-post copies from the input into objects
//! it generates (host names, object names, URI prefixes, durations). Each
//! returns the reason a value is refused, for an error naming the document
//! and field: a generated object the API server or Istio would refuse, or
//! read differently, must never be written.

/// An RFC 1123 DNS label: namespaces, Service names (as host names).
pub fn dns_label(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-';
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a DNS label (lowercase letters, digits and '-', at most 63, \
             starting and ending with a letter or digit)"
        ))
    }
}

/// An RFC 1123 DNS subdomain: names of most objects.
pub fn dns_subdomain(s: &str) -> Result<(), String> {
    let ok = !s.is_empty() && s.len() <= 253 && s.split('.').all(|label| dns_label(label).is_ok());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid object name (a DNS subdomain: lowercase letters, digits, \
             '-' and '.', at most 253)"
        ))
    }
}

/// `name` or `namespace/name` (a gateway, a service account).
pub fn namespaced_name(s: &str) -> Result<(), String> {
    let (ns, name) = match s.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, s),
    };
    ns.map_or(Ok(()), dns_label)
        .and_then(|()| dns_subdomain(name))
        .map_err(|e| format!("{s:?} is not `name` or `namespace/name`: {e}"))
}

/// A URI path (prefix or rewrite): starts with `/`, no spaces.
pub fn uri_path(s: &str) -> Result<(), String> {
    if s.starts_with('/') && !s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a URI path (it must start with '/' and contain no spaces)"
        ))
    }
}

/// A duration as Istio reads it: one or more `<number><unit>`, units `h`,
/// `m`, `s`, `ms`, `us`, `ns` (e.g. `300s`, `1m30s`, `0.5s`).
pub fn duration(s: &str) -> Result<(), String> {
    let bad = || Err(format!("{s:?} is not a duration (e.g. 300s, 1m30s, 500ms)"));
    let mut rest = s;
    if rest.is_empty() {
        return bad();
    }
    while !rest.is_empty() {
        let number = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (n, tail) = rest.split_at(number);
        if n.is_empty() || n.parse::<f64>().is_err() {
            return bad();
        }
        let unit = ["ms", "us", "ns", "h", "m", "s"]
            .into_iter()
            .find(|u| tail.starts_with(u));
        let Some(unit) = unit else { return bad() };
        rest = &tail[unit.len()..];
    }
    Ok(())
}

/// A container environment variable name (what Kubernetes accepts: printable
/// ASCII without `=`, not empty).
pub fn env_name(s: &str) -> Result<(), String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b'=') {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not an environment variable name (printable characters, no '=' or spaces)"
        ))
    }
}

/// A value for an HTTP header or an Istio principal: not empty, no spaces
/// or control characters.
pub fn token(s: &str) -> Result<(), String> {
    if !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(())
    } else {
        Err(format!("{s:?} must be non-empty, without spaces"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_and_refused() {
        type Check = fn(&str) -> Result<(), String>;
        // (check, accepted, refused)
        let cases: &[(Check, &[&str], &[&str])] = &[
            (
                dns_label,
                &["a", "team-a", "x1"],
                &["", "A", "a}b: c", "-a", "a-", "a.b", &"a".repeat(64)],
            ),
            (
                dns_subdomain,
                &["a", "a.b", "my-app.v1"],
                &["", "a..b", "A", "a b", "a}b"],
            ),
            (
                namespaced_name,
                &["gw", "kubeflow/kubeflow-gateway"],
                &["", "a/b/c", "Kubeflow/gw", "/gw"],
            ),
            (
                uri_path,
                &["/", "/mlflow/", "/a/b"],
                &["", "mlflow", "/a b", "/a\tb"],
            ),
            (
                duration,
                &["300s", "1m30s", "0.5s", "500ms", "1h"],
                &["", "s", "300", "5 s", "1d", "1.2.3s"],
            ),
            (env_name, &["USERID_HEADER", "a.b"], &["", "A=B", "A B"]),
            (token, &["cluster.local/ns/a/sa/b", "*"], &["", "a b"]),
        ];
        for (check, good, bad) in cases {
            for s in *good {
                assert_eq!(check(s), Ok(()), "{s:?}");
            }
            for s in *bad {
                assert!(check(s).is_err(), "{s:?} accepted");
            }
        }
    }
}
