//! Every per-object annotation kf-post reads: the one list. Transforms take
//! their keys from here, and the annotation table of docs/kf-post.md is
//! generated from it (`tests/annotations.rs` fails when either drifts).

/// One opt-in annotation (prefix `kf-post.kubeflow.org/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Annotation {
    /// The full key.
    pub key: &'static str,
    /// Which objects it is read on.
    pub on: &'static str,
    /// The values it takes.
    pub values: &'static str,
    /// The transform that reads it.
    pub transform: &'static str,
    pub meaning: &'static str,
}

macro_rules! annotations {
    ($($name:ident: $key:literal, $on:literal, $values:literal, $transform:literal, $meaning:literal;)*) => {
        $(pub const $name: Annotation = Annotation {
            key: concat!("kf-post.kubeflow.org/", $key),
            on: $on,
            values: $values,
            transform: $transform,
            meaning: $meaning,
        };)*
        /// All of them, in the order of the docs.
        pub const ALL: &[Annotation] = &[$($name),*];
    };
}

annotations! {
    LABELS: "labels", "any object", "`skip`", "labels", "leave this object's labels and annotations alone";
    ISTIO_INJECT: "istio-inject", "pod template", "`\"true\"` \\| `\"false\"`", "istio", "inject a sidecar or not (sidecar mode; `istio.inject` wins)";
    DESTINATION_RULE: "destination-rule", "Service", "`\"true\"` \\| `\"false\"`", "istio", "an `ISTIO_MUTUAL` DestinationRule for this Service (sidecar mode)";
    EXPOSE_PREFIX: "expose-prefix", "Service", "URI path (`/mlflow/`)", "auth", "expose the Service on the gateway at this prefix (VirtualService + AuthorizationPolicy)";
    EXPOSE_PORT: "expose-port", "Service", "port number", "auth", "service port to route to (default: the first)";
    EXPOSE_REWRITE: "expose-rewrite", "Service", "URI path", "auth", "rewrite the prefix to this";
    EXPOSE_FORWARDED_PREFIX: "expose-forwarded-prefix", "Service", "URI path", "auth", "`x-forwarded-prefix` request header";
    EXPOSE_TIMEOUT: "expose-timeout", "Service", "duration (`300s`)", "auth", "route timeout";
    EXPOSE_GATEWAY: "expose-gateway", "Service", "`name` \\| `ns/name`", "auth", "gateway (default `auth.gateway`)";
    EXPOSE_NAME: "expose-name", "Service", "object name", "auth", "name of the generated objects (default: the Service's)";
    AUTHZ_PRINCIPALS: "authz-principals", "Service", "comma-separated principals", "auth", "principals allowed to call the Service (default: the ingress gateway)";
    AUTHZ_SERVICE_ACCOUNTS: "authz-service-accounts", "Service", "comma-separated `name` \\| `ns/name`", "auth", "service accounts allowed to call the Service (a bare name needs the Service's namespace)";
    ENV_USERID_HEADER: "env-userid-header", "workload", "env var name", "auth", "env var that gets `auth.userIdHeader`";
    ENV_USERID_PREFIX: "env-userid-prefix", "workload", "env var name", "auth", "env var that gets `auth.userIdPrefix`";
    ENV_SECURE_COOKIES: "env-secure-cookies", "workload", "env var name", "auth", "env var that gets `auth.secureCookies`";
    ENV_DISABLE_AUTH: "env-disable-auth", "workload", "env var name", "auth", "env var set to `false`";
    CERTIFICATES: "certificates", "webhook configuration, CRD", "`\"true\"` \\| `\"false\"`", "certificates", "wire (or never wire) this object to a cert-manager certificate";
    PROFILE_SCOPED: "profile-scoped", "any namespaced object", "`\"true\"` \\| `\"false\"`", "profiles", "one copy per profile, in its namespace";
}

/// The annotation table of docs/kf-post.md.
pub fn markdown_table() -> String {
    let mut s =
        String::from("| annotation | on | values | transform | meaning |\n|---|---|---|---|---|\n");
    for a in ALL {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            a.key, a.on, a.values, a.transform, a.meaning
        ));
    }
    s
}
