//! Chart template tests: each values switch, rendered with real Helm, changes exactly
//! what a user expects; defaults render upstream (expectations derived from the
//! upstream snapshot, not hard-coded copies of it).

mod common;
use common::*;
use serde_yaml::Value;
use xtask::template::parse_image;
use xtask::upstream::ResKey;

fn y(s: &str) -> Value {
    serde_yaml::from_str(s).unwrap()
}

fn upstream(dir: &str) -> Vec<Value> {
    snapshot().scenario_docs(&[dir.to_string()]).unwrap()
}

const KATIB: &str = "applications/katib/upstream/installs/katib-with-kubeflow";

fn image_of(docs: &[Value], kind: &str, name: &str) -> String {
    containers(pod_spec(find(docs, kind, name)).unwrap())[0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

type Check = fn(&[Value]) -> Result<(), String>;

fn ensure(cond: bool, msg: impl Into<String>) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg.into())
    }
}

fn check_global_registry(docs: &[Value]) -> Result<(), String> {
    let up = upstream(KATIB);
    let mut n = 0;
    for u in &up {
        let Some(upod) = pod_spec(u) else { continue };
        let ours = find(
            docs,
            u["kind"].as_str().unwrap(),
            u["metadata"]["name"].as_str().unwrap(),
        );
        for (uc, oc) in containers(upod)
            .into_iter()
            .zip(containers(pod_spec(ours).unwrap()))
        {
            let img = parse_image(uc["image"].as_str().unwrap());
            let s = |k: &str| img.get(k).and_then(Value::as_str).unwrap().to_string();
            let mut want = format!("reg.example.com/{}", s("repository"));
            if !s("tag").is_empty() {
                want += &format!(":{}", s("tag"));
            }
            ensure(
                oc["image"].as_str() == Some(want.as_str()),
                format!("{:?} != {want}", oc["image"]),
            )?;
            n += 1;
        }
    }
    ensure(n >= 4, format!("only {n} containers checked"))
}

fn check_tag_digest(docs: &[Value]) -> Result<(), String> {
    let up_img = image_of(&upstream(KATIB), "Deployment", "katib-controller");
    let repo = up_img.rsplit_once(':').unwrap().0;
    let got = image_of(docs, "Deployment", "katib-controller");
    ensure(
        got == format!("{repo}:v9@sha256:0123"),
        format!("image {got}"),
    )?;
    // Other images untouched.
    ensure(
        image_of(docs, "Deployment", "katib-ui")
            == image_of(&upstream(KATIB), "Deployment", "katib-ui"),
        "katib-ui image changed",
    )
}

fn check_pull_policy_and_resources(docs: &[Value]) -> Result<(), String> {
    let ui = containers(pod_spec(find(docs, "Deployment", "katib-ui")).unwrap())[0];
    ensure(
        ui["imagePullPolicy"].as_str() == Some("Always"),
        format!("ui pull policy {:?}", ui["imagePullPolicy"]),
    )?;
    let db = containers(pod_spec(find(docs, "Deployment", "katib-db-manager")).unwrap())[0];
    ensure(
        db["resources"] == y("{limits: {memory: 1Gi}, requests: {cpu: 50m}}"),
        format!("resources {:?}", db["resources"]),
    )?;
    let ctl = containers(pod_spec(find(docs, "Deployment", "katib-controller")).unwrap())[0];
    ensure(
        ctl.get("imagePullPolicy").is_none(),
        "pull policy leaked to another container",
    )
}

fn check_scheduling(docs: &[Value]) -> Result<(), String> {
    let d = find(docs, "Deployment", "katib-controller");
    ensure(d["spec"]["replicas"].as_i64() == Some(3), "replicas")?;
    let pod = pod_spec(d).unwrap();
    ensure(pod["nodeSelector"] == y("{pool: ml}"), "nodeSelector")?;
    ensure(
        pod["tolerations"] == y("[{key: gpu, operator: Exists}]"),
        "tolerations",
    )?;
    ensure(pod["affinity"]["nodeAffinity"].is_mapping(), "affinity")?;
    let ui = pod_spec(find(docs, "Deployment", "katib-ui")).unwrap();
    ensure(
        ui.get("nodeSelector").is_none(),
        "nodeSelector leaked to katib-ui",
    )
}

fn check_pull_secrets(docs: &[Value]) -> Result<(), String> {
    let pods: Vec<_> = docs.iter().filter_map(pod_spec).collect();
    ensure(!pods.is_empty(), "no pods")?;
    for p in pods {
        ensure(
            p["imagePullSecrets"] == y("[{name: regcred}]"),
            format!("{:?}", p["imagePullSecrets"]),
        )?;
    }
    Ok(())
}

fn check_pvc(docs: &[Value]) -> Result<(), String> {
    let pvc = find(docs, "PersistentVolumeClaim", "katib-mysql");
    ensure(
        pvc["spec"]["resources"]["requests"]["storage"].as_str() == Some("20Gi"),
        "size",
    )?;
    ensure(
        pvc["spec"]["storageClassName"].as_str() == Some("fast"),
        "storageClass",
    )?;
    ensure(
        pvc["metadata"]["annotations"]["helm.sh/resource-policy"].as_str() == Some("keep"),
        "keep",
    )
}

fn check_common_labels(docs: &[Value]) -> Result<(), String> {
    for d in docs {
        let k = ResKey::of(d).unwrap();
        ensure(
            d["metadata"]["labels"]["team"].as_str() == Some("ml"),
            format!("{k} lacks commonLabels"),
        )?;
    }
    // Existing labels kept.
    let c = find(docs, "Deployment", "katib-controller");
    ensure(
        c["metadata"]["labels"]["katib.kubeflow.org/component"].as_str() == Some("controller"),
        "upstream label lost",
    )
}

fn check_helm_labels(docs: &[Value]) -> Result<(), String> {
    let chart: Value = serde_yaml::from_str(
        &std::fs::read_to_string(chart_dir("katib").join("Chart.yaml")).unwrap(),
    )
    .unwrap();
    let want = format!("katib-{}", chart["version"].as_str().unwrap());
    let mut n = 0;
    for d in docs {
        let k = ResKey::of(d).unwrap();
        if k.kind == "CustomResourceDefinition" {
            continue;
        }
        let l = &d["metadata"]["labels"];
        ensure(
            l["helm.sh/chart"].as_str() == Some(want.as_str()),
            format!("{k}: helm.sh/chart {:?}", l["helm.sh/chart"]),
        )?;
        ensure(
            l["app.kubernetes.io/managed-by"].as_str() == Some("Helm"),
            format!("{k}: managed-by"),
        )?;
        ensure(
            l["app.kubernetes.io/instance"].as_str() == Some("katib"),
            format!("{k}: instance"),
        )?;
        n += 1;
    }
    ensure(n > 10, "too few objects")
}

fn check_upstream_labels_win(docs: &[Value]) -> Result<(), String> {
    let c = find(docs, "Deployment", "katib-controller");
    ensure(
        c["metadata"]["labels"]["katib.kubeflow.org/component"].as_str() == Some("controller"),
        "upstream label overridden",
    )?;
    ensure(
        c["metadata"]["labels"]["team"].as_str() == Some("ml"),
        "commonLabels not added",
    )
}

fn check_kfpost(docs: &[Value]) -> Result<(), String> {
    let c = find(docs, "PostRenderConfig", "katib");
    ensure(
        c["apiVersion"].as_str() == Some("kf-post.kubeflow.org/v1alpha1"),
        "apiVersion",
    )?;
    ensure(
        c["spec"] == y("{namespace: {target: ml}}"),
        format!("spec {:?}", c["spec"]),
    )
}

fn check_defaults(docs: &[Value]) -> Result<(), String> {
    ensure(
        !docs
            .iter()
            .any(|d| d["kind"].as_str() == Some("PostRenderConfig")),
        "kfPost {} must emit nothing",
    )?;
    let keys = |ds: &[Value]| {
        ds.iter()
            .map(|d| ResKey::of(d).unwrap())
            .collect::<std::collections::BTreeSet<_>>()
    };
    ensure(
        keys(docs) == keys(&upstream(KATIB)),
        "default variant objects differ from upstream with-kubeflow",
    )
}

fn check_variant(docs: &[Value]) -> Result<(), String> {
    let keys = |ds: &[Value]| {
        ds.iter()
            .map(|d| ResKey::of(d).unwrap())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let want = keys(&upstream(
        "applications/katib/upstream/installs/katib-standalone-postgres",
    ));
    ensure(
        keys(docs) == want,
        "standalone-postgres objects differ from upstream",
    )?;
    ensure(
        docs.iter()
            .any(|d| d["metadata"]["name"].as_str() == Some("katib-postgres")),
        "no postgres",
    )
}

fn check_optional_replicas(docs: &[Value]) -> Result<(), String> {
    ensure(
        find(docs, "Deployment", "activator")["spec"]["replicas"].as_i64() == Some(2),
        "activator replicas",
    )?;
    let up = upstream("common/knative/knative-serving/overlays/gateways");
    ensure(
        find(&up, "Deployment", "activator")["spec"]
            .get("replicas")
            .is_none(),
        "upstream activator has replicas: test premise",
    )?;
    ensure(
        find(docs, "Deployment", "controller")["spec"]
            .get("replicas")
            .is_none(),
        "replicas leaked",
    )
}

fn check_knative_default(docs: &[Value]) -> Result<(), String> {
    ensure(
        find(docs, "Deployment", "activator")["spec"]
            .get("replicas")
            .is_none(),
        "replicas rendered though upstream has none",
    )
}

fn crds(docs: &[Value]) -> Vec<&Value> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some("CustomResourceDefinition"))
        .collect()
}

fn keep_policy(d: &Value) -> Option<&str> {
    d["metadata"]["annotations"]["helm.sh/resource-policy"].as_str()
}

fn check_crds_default(docs: &[Value]) -> Result<(), String> {
    let crds = crds(docs);
    ensure(
        crds.len() == 3,
        format!("{} katib CRDs rendered, want 3", crds.len()),
    )?;
    for c in crds {
        let name = c["metadata"]["name"].as_str().unwrap_or_default();
        ensure(
            keep_policy(c) == Some("keep"),
            format!("{name}: no keep policy"),
        )?;
        let mut copy = c.clone();
        let n = xtask::crd::strip_crd_descriptions(&mut copy);
        ensure(n == 0, format!("{name}: {n} schema descriptions rendered"))?;
    }
    Ok(())
}

fn check_crds_not_installed(docs: &[Value]) -> Result<(), String> {
    ensure(crds(docs).is_empty(), "CRDs rendered with install false")?;
    find(docs, "Deployment", "katib-controller");
    Ok(())
}

fn check_crds_not_kept(docs: &[Value]) -> Result<(), String> {
    let crds = crds(docs);
    ensure(!crds.is_empty(), "no CRDs rendered")?;
    for c in crds {
        ensure(
            keep_policy(c).is_none(),
            format!("{:?} kept", c["metadata"]["name"]),
        )?;
    }
    Ok(())
}

/// EventType has a *property* named `description` (spec.description): it stays,
/// only the schemas' own descriptions go.
fn check_description_property_kept(docs: &[Value]) -> Result<(), String> {
    let et = find(
        docs,
        "CustomResourceDefinition",
        "eventtypes.eventing.knative.dev",
    );
    for v in et["spec"]["versions"].as_sequence().into_iter().flatten() {
        let spec = &v["schema"]["openAPIV3Schema"]["properties"]["spec"];
        ensure(
            spec["properties"]["description"] == y("{type: string}"),
            format!(
                "{:?}: property description is {:?}",
                v["name"], spec["properties"]["description"]
            ),
        )?;
        ensure(
            spec.get("description").is_none(),
            "schema description rendered",
        )?;
    }
    Ok(())
}

fn container<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    containers(pod_spec(find(docs, "Deployment", name)).unwrap())[0]
}

fn check_env_merge(docs: &[Value]) -> Result<(), String> {
    let up = container(&upstream(KATIB), "katib-controller")["env"].clone();
    let env = container(docs, "katib-controller")["env"].clone();
    let names: Vec<&str> = env
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    let up_names: Vec<&str> = up
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    ensure(
        up_names.contains(&"KATIB_CORE_NAMESPACE"),
        "premise: upstream env",
    )?;
    // Same name replaced in place, the new one appended.
    let mut want = up_names.clone();
    want.push("EXTRA");
    ensure(names == want, format!("env names {names:?}, want {want:?}"))?;
    let core = env
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str() == Some("KATIB_CORE_NAMESPACE"))
        .unwrap();
    ensure(
        *core == y("{name: KATIB_CORE_NAMESPACE, value: other}"),
        format!("replaced entry {core:?}"),
    )?;
    ensure(
        container(docs, "katib-ui")["env"] == container(&upstream(KATIB), "katib-ui")["env"],
        "env leaked to katib-ui",
    )
}

fn check_security_context_merge(docs: &[Value]) -> Result<(), String> {
    let up = upstream(KATIB);
    let mut want = container(&up, "katib-mysql")["securityContext"].clone();
    ensure(
        want["runAsUser"].as_i64() == Some(999),
        "premise: upstream runAsUser",
    )?;
    want["runAsUser"] = 1001.into();
    let got = &container(docs, "katib-mysql")["securityContext"];
    ensure(
        *got == want,
        format!("securityContext {got:?}, want {want:?}"),
    )?;
    let mut want =
        pod_spec(find(&up, "Deployment", "katib-mysql")).unwrap()["securityContext"].clone();
    want["fsGroup"] = 1001.into();
    let got = &pod_spec(find(docs, "Deployment", "katib-mysql")).unwrap()["securityContext"];
    ensure(
        *got == want,
        format!("pod securityContext {got:?}, want {want:?}"),
    )
}

fn check_pod_knobs(docs: &[Value]) -> Result<(), String> {
    let d = find(docs, "Deployment", "katib-controller");
    let meta = &d["spec"]["template"]["metadata"];
    let up = find(&upstream(KATIB), "Deployment", "katib-controller")["spec"]["template"]
        ["metadata"]
        .clone();
    ensure(
        meta["annotations"]["a.example/x"].as_str() == Some("1"),
        "podAnnotations",
    )?;
    ensure(
        meta["annotations"]["prometheus.io/port"] == up["annotations"]["prometheus.io/port"],
        "upstream annotation overridden",
    )?;
    ensure(meta["labels"]["team"].as_str() == Some("ml"), "podLabels")?;
    for (k, v) in up["labels"].as_mapping().unwrap() {
        ensure(
            meta["labels"][k] == *v,
            format!("upstream label {k:?} lost"),
        )?;
    }
    let pod = pod_spec(d).unwrap();
    ensure(
        pod["priorityClassName"].as_str() == Some("high"),
        "priorityClassName",
    )?;
    ensure(
        pod["topologySpreadConstraints"][0]["topologyKey"].as_str() == Some("zone"),
        "topologySpreadConstraints",
    )?;
    ensure(
        pod_spec(find(docs, "Deployment", "katib-ui"))
            .unwrap()
            .get("priorityClassName")
            .is_none(),
        "priorityClassName leaked",
    )
}

fn check_sa_annotations(docs: &[Value]) -> Result<(), String> {
    let sa = find(docs, "ServiceAccount", "katib-controller");
    ensure(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].as_str()
            == Some("arn:aws:iam::1:role/k"),
        format!("ServiceAccount {:?}", sa["metadata"]),
    )?;
    ensure(
        find(docs, "ServiceAccount", "katib-ui")["metadata"]
            .get("annotations")
            .is_none(),
        "annotation leaked to katib-ui's ServiceAccount",
    )
}

fn replicas(docs: &[Value], name: &str) -> Option<i64> {
    find(docs, "Deployment", name)["spec"]["replicas"].as_i64()
}

fn check_leader_election_default(docs: &[Value]) -> Result<(), String> {
    let up = upstream("applications/katib/upstream/installs/katib-leader-election");
    let want = replicas(&up, "katib-controller");
    ensure(want == Some(2), "premise: leader-election runs 2")?;
    ensure(
        replicas(docs, "katib-controller") == want,
        "leader-election replicas",
    )?;
    let default = render("katib", "{}").unwrap();
    ensure(
        replicas(&default, "katib-controller") == replicas(&upstream(KATIB), "katib-controller"),
        "default variant replicas",
    )
}

fn check_leader_election_set(docs: &[Value]) -> Result<(), String> {
    ensure(
        replicas(docs, "katib-controller") == Some(3),
        "set replicas ignored",
    )
}

fn check_gateway_service(docs: &[Value]) -> Result<(), String> {
    let svc = find(docs, "Service", "istio-ingressgateway");
    ensure(
        svc["spec"]["type"].as_str() == Some("LoadBalancer"),
        format!("type {:?}", svc["spec"]["type"]),
    )?;
    ensure(
        svc["spec"]["loadBalancerSourceRanges"] == y("[10.0.0.0/8]"),
        "loadBalancerSourceRanges",
    )?;
    ensure(
        svc["metadata"]["annotations"]["lb.example/x"].as_str() == Some("internal"),
        "annotations",
    )?;
    let default = render("istio", "{}").unwrap();
    let up = upstream("common/istio/istio-install/overlays/oauth2-proxy");
    ensure(
        find(&default, "Service", "istio-ingressgateway")["spec"]
            == find(&up, "Service", "istio-ingressgateway")["spec"],
        "default Service differs from upstream",
    )
}

fn check_chart_resources(docs: &[Value]) -> Result<(), String> {
    let got = &container(docs, "training-operator")["resources"];
    ensure(
        *got == y("{limits: {cpu: '2', memory: 4Gi}}"),
        format!("resources {got:?}"),
    )
}

/// Chart-level `resources` is merged over the main part's upstream resources.
fn check_chart_resources_merge(docs: &[Value]) -> Result<(), String> {
    let up = upstream("applications/pvcviewer-controller/upstream/base");
    let mut want = container(&up, "pvcviewer-controller-manager")["resources"].clone();
    ensure(want["requests"].is_mapping(), "premise: upstream requests")?;
    want["limits"]["memory"] = "1Gi".into();
    let got = &container(docs, "pvcviewer-controller-manager")["resources"];
    ensure(*got == want, format!("resources {got:?}, want {want:?}"))
}

#[test]
fn values_switches_change_what_they_should() {
    let cases: &[(&str, &str, &str, Check)] = &[
        ("defaults", "katib", "{}", check_defaults),
        ("global registry", "katib", "global: {imageRegistry: reg.example.com}", check_global_registry),
        (
            "tag and digest",
            "katib",
            "controller: {image: {tag: v9, digest: 'sha256:0123'}}",
            check_tag_digest,
        ),
        (
            "pull policy, resources",
            "katib",
            "ui: {image: {pullPolicy: Always}}\ndbManager: {resources: {limits: {memory: 1Gi}, requests: {cpu: 50m}}}",
            check_pull_policy_and_resources,
        ),
        (
            "replicas, scheduling",
            "katib",
            "controller:\n    replicas: 3\n    nodeSelector: {pool: ml}\n    tolerations: [{key: gpu, operator: Exists}]\n    affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: pool, operator: In, values: [ml]}]}]}}}",
            check_scheduling,
        ),
        ("pull secrets", "katib", "global: {imagePullSecrets: [{name: regcred}]}", check_pull_secrets),
        ("pvc", "katib", "mysql: {persistence: {size: 20Gi, storageClass: fast}}", check_pvc),
        ("common labels", "katib", "commonLabels: {team: ml}", check_common_labels),
        ("helm labels", "katib", "helmLabels: true", check_helm_labels),
        (
            "commonLabels never override upstream labels",
            "katib",
            "commonLabels: {katib.kubeflow.org/component: other, team: ml}",
            check_upstream_labels_win,
        ),
        ("kfPost", "katib", "kfPost: {namespace: {target: ml}}", check_kfpost),
        ("variant", "katib", "variant: standalone-postgres", check_variant),
        ("replicas absent upstream", "knative-serving", "activator: {replicas: 2}", check_optional_replicas),
        ("replicas absent upstream, default", "knative-serving", "{}", check_knative_default),
        ("CRDs by default", "katib", "{}", check_crds_default),
        ("crds.install false", "katib", "crds: {install: false}", check_crds_not_installed),
        ("global.crds.install false", "katib", "global: {crds: {install: false}}", check_crds_not_installed),
        ("global.crds.install true does not override the chart", "katib", "crds: {install: false}\nglobal: {crds: {install: true}}", check_crds_not_installed),
        ("crds.keep false", "katib", "crds: {keep: false}", check_crds_not_kept),
        ("crds.keep false drops upstream's own keep", "cert-manager", "crds: {keep: false}", check_crds_not_kept),
        ("a property named description stays", "knative-eventing", "{}", check_description_property_kept),
        ("env merged by name", "katib", "controller: {env: [{name: KATIB_CORE_NAMESPACE, value: other}, {name: EXTRA, value: x}]}", check_env_merge),
        ("securityContext merged", "katib", "mysql: {securityContext: {runAsUser: 1001}, podSecurityContext: {fsGroup: 1001}}", check_security_context_merge),
        ("pod metadata, priority, spread", "katib", "controller:\n  podAnnotations: {a.example/x: '1', prometheus.io/port: '9'}\n  podLabels: {team: ml}\n  priorityClassName: high\n  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]", check_pod_knobs),
        ("serviceAccount annotations", "katib", "controller: {serviceAccount: {annotations: {eks.amazonaws.com/role-arn: 'arn:aws:iam::1:role/k'}}}", check_sa_annotations),
        ("variants' replicas: null is the variant's", "katib", "variant: leader-election", check_leader_election_default),
        ("variants' replicas: set wins", "katib", "variant: leader-election\ncontroller: {replicas: 3}", check_leader_election_set),
        ("ingress gateway Service", "istio", "ingressGateway: {service: {type: LoadBalancer, annotations: {lb.example/x: internal}, loadBalancerSourceRanges: [10.0.0.0/8]}}", check_gateway_service),
        ("chart-level resources", "training-operator", "resources: {limits: {cpu: '2', memory: 4Gi}}", check_chart_resources),
        ("chart-level resources merge", "pvcviewer-controller", "resources: {limits: {memory: 1Gi}}", check_chart_resources_merge),
        ("umbrella passes enabled and globals", "katib", "enabled: true\nglobal: {imageRegistry: '', other: {x: 1}}", check_defaults),
    ];
    let mut failures = Vec::new();
    for (name, chart, values, check) in cases {
        match render(chart, values) {
            Ok(docs) => {
                if let Err(e) = check(&docs) {
                    failures.push(format!("{name}: {e}"));
                }
            }
            Err(e) => failures.push(format!("{name}: helm template failed: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn schema_rejects_typos_and_unknown_variants() {
    let cases = [
        ("replica: 3", "replica"),
        ("variant: nope", "variant"),
        ("controller: {image: {tagg: x}}", "tagg"),
        ("ui: {replicas: two}", "replicas"),
        ("workloads: {katibController: {replicas: 2}}", "workloads"),
        (
            "containers: {katibController: {resources: {}}}",
            "containers",
        ),
        ("persistence: {katibMysql: {size: 1Gi}}", "persistence"),
        ("ui: {persistence: {size: 1Gi}}", "persistence"),
        ("controller: {service: {type: LoadBalancer}}", "service"),
        (
            "controller: {containers: {noSuchContainer: {resources: {}}}}",
            "containers",
        ),
        ("crds: {instal: false}", "instal"),
        ("crds: {install: 'no'}", "install"),
    ];
    for (values, field) in cases {
        let err = render("katib", values).expect_err(values);
        assert!(
            err.contains("schema") && err.contains(field),
            "{values}: {err}"
        );
    }
}

#[test]
fn go_template_text_in_upstream_content_stays_literal() {
    let cases = [
        ("pipelines", "applications/pipeline/overlays"),
        ("kserve", "applications/kserve/kserve"),
        (
            "knative-serving",
            "common/knative/knative-serving/overlays/gateways",
        ),
        ("istio", "common/istio/istio-install/overlays/oauth2-proxy"),
    ];
    for (chart, dir) in cases {
        let up = upstream(dir);
        let docs = render(chart, "{}").unwrap();
        let with_braces: Vec<_> = up
            .iter()
            .filter(|d| serde_yaml::to_string(d).unwrap().contains("{{"))
            .collect();
        assert!(
            !with_braces.is_empty(),
            "{chart}: upstream has no {{{{ text; test premise broken"
        );
        for u in with_braces {
            let k = ResKey::of(u).unwrap();
            let ours = docs
                .iter()
                .find(|d| ResKey::of(d).unwrap() == k)
                .unwrap_or_else(|| panic!("{chart}: {k} missing"));
            // Only Helm's own annotation may differ; everything else, including every
            // `{{ … }}` string, is byte-equal.
            assert_eq!(
                xtask::parity::normalise(ours.clone()),
                xtask::parity::normalise(u.clone()),
                "{chart}: {k} differs from upstream"
            );
        }
    }
}

/// `data`/`stringData` value of a rendered Secret, decoded.
fn secret_value(docs: &[Value], name: &str, key: &str) -> String {
    let s = find(docs, "Secret", name);
    if let Some(v) = s["stringData"].get(key) {
        return v.as_str().unwrap().to_string();
    }
    use base64::Engine;
    let b64 = s["data"][key].as_str().unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn credentials_follow_their_mode_and_values() {
    // demo (default): upstream's values, objects equal upstream.
    let demo = render("katib", "{}").unwrap();
    assert_eq!(
        secret_value(&demo, "katib-mysql-secrets", "MYSQL_ROOT_PASSWORD"),
        "test"
    );
    // An explicit value wins in either mode.
    let given = render("katib", "credentials: {mysqlRootPassword: s3cret}").unwrap();
    assert_eq!(
        secret_value(&given, "katib-mysql-secrets", "MYSQL_ROOT_PASSWORD"),
        "s3cret"
    );
    // generate: a fresh random value per render without a cluster (helm template
    // cannot look up the live Secret), never the demo one.
    let gen = |values: &str| {
        let docs = render("katib", values).unwrap();
        secret_value(&docs, "katib-mysql-secrets", "MYSQL_ROOT_PASSWORD")
    };
    let (a, b) = (
        gen("credentials: {mode: generate}"),
        gen("global: {credentials: {mode: generate}}"),
    );
    for v in [&a, &b] {
        assert!(
            v.len() == 32 && v.chars().all(|c| c.is_ascii_alphanumeric()),
            "{v}"
        );
    }
    assert_ne!(a, b);
    // The chart's mode overrides the global one.
    let demo_again = gen("credentials: {mode: demo}\nglobal: {credentials: {mode: generate}}");
    assert_eq!(demo_again, "test");
    // generate refuses the demo value and asks for what it cannot generate.
    for (chart, values, want) in [
        (
            "katib",
            "credentials: {mode: generate, mysqlRootPassword: test}",
            "credentials.mysqlRootPassword is upstream's public demo value",
        ),
        ("dex", "credentials: {mode: generate}", "set credentials."),
        (
            "oauth2-proxy",
            "credentials: {mode: generate}",
            "set credentials.oidcClientSecret (or global.credentials.oidcClientSecret)",
        ),
        ("katib", "credentials: {mode: random}", "mode"),
        (
            "katib",
            "credentials: {mysqlRootPasword: x}",
            "mysqlRootPasword",
        ),
    ] {
        let err = render(chart, values).expect_err(values);
        assert!(
            err.contains(want),
            "{chart} {values}: want {want:?} in {err}"
        );
    }
    // A value several charts share comes from global.credentials.
    let shared =
        "credentials: {mode: generate}\nglobal: {credentials: {oidcClientSecret: shared-1}}";
    let proxy = render("oauth2-proxy", shared).unwrap();
    assert_eq!(
        secret_value(&proxy, "oauth2-proxy-h675gf55ht", "client-secret"),
        "shared-1"
    );
    let cookie = secret_value(&proxy, "oauth2-proxy-h675gf55ht", "cookie-secret");
    assert_eq!(
        cookie.len(),
        32,
        "cookie secret must be 16, 24 or 32 bytes: {cookie}"
    );
    let dex = render(
        "dex",
        "credentials: {userPasswordHash: '$2y$12$abc'}\nglobal: {credentials: {oidcClientSecret: shared-1}}",
    )
    .unwrap();
    assert_eq!(
        secret_value(&dex, "dex-oidc-client", "OIDC_CLIENT_SECRET"),
        "shared-1"
    );
    assert_eq!(
        secret_value(&dex, "dex-passwords", "DEX_USER_PASSWORD"),
        "$2y$12$abc"
    );
}

#[test]
fn pipelines_mysql_uses_its_password_only_when_it_is_not_upstreams_empty_one() {
    let env_names = |values: &str| -> Vec<String> {
        let docs = render("pipelines", values).unwrap();
        containers(pod_spec(find(&docs, "Deployment", "mysql")).unwrap())[0]["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(env_names("{}"), ["MYSQL_ALLOW_EMPTY_PASSWORD"]);
    for values in [
        "credentials: {mysqlPassword: pw}",
        "credentials: {mode: generate}",
    ] {
        assert_eq!(env_names(values), ["MYSQL_ROOT_PASSWORD"], "{values}");
    }
    let docs = render("pipelines", "credentials: {mysqlPassword: pw}").unwrap();
    let env = &containers(pod_spec(find(&docs, "Deployment", "mysql")).unwrap())[0]["env"][0];
    assert_eq!(env["valueFrom"]["secretKeyRef"]["name"], "mysql-secret");
    assert_eq!(env["valueFrom"]["secretKeyRef"]["key"], "password");
    assert_eq!(secret_value(&docs, "mysql-secret", "password"), "pw");
}

#[test]
fn settings_replace_their_literal_in_configmap_payloads() {
    let config = |values: &str| -> String {
        let docs = render("dex", values).unwrap();
        find(&docs, "ConfigMap", "dex")["data"]["config.yaml"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let up = upstream("common/dex/overlays/oauth2-proxy");
    let upstream_config = find(&up, "ConfigMap", "dex")["data"]["config.yaml"].clone();
    assert_eq!(config("{}"), upstream_config.as_str().unwrap());
    let admin = config("settings: {staticUserEmail: admin@corp.example}");
    assert!(admin.contains("- email: admin@corp.example"), "{admin}");
    assert!(!admin.contains("user@example.com"), "{admin}");
    let err = render("dex", "settings: {staticUserEmail: ''}").expect_err("empty e-mail");
    assert!(err.contains("staticUserEmail"), "{err}");
}

/// A setting that is a whole field (oauth2-proxy's `FORCE_HTTPS`, which feeds
/// `cookie_secure`) stays a string, follows the `global` value it names when
/// that is set, and is upstream's literal otherwise.
#[test]
fn whole_field_settings_render_strings_and_follow_their_global() {
    let force_https = |values: &str| -> serde_yaml::Value {
        let docs = render("oauth2-proxy", values).unwrap();
        find(&docs, "ConfigMap", "oauth2-proxy-parameters-74659b6648")["data"]["FORCE_HTTPS"]
            .clone()
    };
    // (values, FORCE_HTTPS)
    let cases = [
        ("{}", "false"),
        ("global: {gateway: {tls: {enabled: false}}}", "false"),
        ("global: {gateway: {tls: {enabled: true}}}", "true"),
        ("settings: {cookieSecure: 'true'}", "true"),
    ];
    for (values, want) in cases {
        assert_eq!(
            force_https(values),
            serde_yaml::Value::String(want.into()),
            "{values}"
        );
    }
    let up = upstream("common/oauth2-proxy/overlays/m2m-dex-only");
    assert_eq!(
        force_https("{}"),
        find(&up, "ConfigMap", "oauth2-proxy-parameters-74659b6648")["data"]["FORCE_HTTPS"]
    );
}

// Catalog-declared values that set fields of upstream objects (xtask/src/fields.rs).

/// `env` entry `name` of container `container` of workload `kind`/`workload`.
fn env_of<'a>(docs: &'a [Value], workload: &str, container: &str, name: &str) -> &'a Value {
    containers(pod_spec(find(docs, "Deployment", workload)).unwrap())
        .into_iter()
        .find(|c| c["name"] == container)
        .unwrap_or_else(|| panic!("{workload} has no container {container}"))["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{workload}/{container} has no env {name}"))
}

fn has(docs: &[Value], kind: &str, name: &str) -> bool {
    docs.iter()
        .any(|d| d["kind"] == kind && d["metadata"]["name"] == name)
}

fn payload(docs: &[Value], configmap: &str, key: &str) -> Value {
    let text = find(docs, "ConfigMap", configmap)["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("ConfigMap {configmap} has no {key}"));
    serde_yaml::from_str(text).unwrap()
}

const PIPELINES: &str = "applications/pipeline/overlays";

/// What belongs only to the in-cluster MySQL and SeaweedFS.
const IN_CLUSTER_STORES: &[(&str, &str)] = &[
    ("Deployment", "mysql"),
    ("Service", "mysql"),
    ("PersistentVolumeClaim", "mysql-pv-claim"),
    ("ServiceAccount", "mysql"),
    ("DestinationRule", "ml-pipeline-mysql"),
    ("AuthorizationPolicy", "mysql"),
    ("Deployment", "seaweedfs"),
    ("Service", "seaweedfs"),
    ("PersistentVolumeClaim", "seaweedfs-pvc"),
    ("ServiceAccount", "seaweedfs"),
    ("DestinationRule", "ml-pipeline-seaweedfs"),
    ("NetworkPolicy", "seaweedfs"),
    ("AuthorizationPolicy", "seaweedfs-service"),
];

const EXTERNAL_STORES: &str = "
externalDatabase: {host: db.example.com, port: 3307, user: kfp, existingSecret: kfp-db, existingSecretPasswordKey: pw,
                   pipelineDatabase: kfp_pipelines, metadataDatabase: kfp_mlmd, cacheDatabase: kfp_cache}
externalObjectStore: {host: s3.example.com, port: 443, secure: true, region: eu-west-1, bucket: my-bucket,
                      existingSecret: kfp-s3, accessKeyKey: AWS_ACCESS_KEY_ID, secretKeyKey: AWS_SECRET_ACCESS_KEY}
";

#[test]
fn pipelines_external_mysql_and_s3_replace_the_in_cluster_ones() {
    let up = upstream(PIPELINES);
    for (kind, name) in IN_CLUSTER_STORES {
        assert!(has(&up, kind, name), "upstream has no {kind}/{name}");
    }
    let defaults = render("pipelines", "{}").unwrap();
    for (kind, name) in IN_CLUSTER_STORES {
        assert!(has(&defaults, kind, name), "defaults lack {kind}/{name}");
    }
    let docs = render("pipelines", EXTERNAL_STORES).unwrap();
    for (kind, name) in IN_CLUSTER_STORES {
        assert!(
            !has(&docs, kind, name),
            "{kind}/{name} rendered with external stores"
        );
    }
    let install = &find(&docs, "ConfigMap", "pipeline-install-config")["data"];
    for (key, want) in [
        ("dbHost", "db.example.com"),
        ("mysqlHost", "db.example.com"),
        ("dbPort", "3307"),
        ("mysqlPort", "3307"),
        ("pipelineDb", "kfp_pipelines"),
        ("mlmdDb", "kfp_mlmd"),
        ("cacheDb", "kfp_cache"),
        ("bucketName", "my-bucket"),
    ] {
        assert_eq!(install[key], want, "pipeline-install-config {key}");
    }
    assert_eq!(secret_value(&docs, "mysql-secret", "username"), "kfp");
    // Every reader of the database password reads the user's Secret.
    for (workload, container, env) in [
        ("ml-pipeline", "ml-pipeline-api-server", "DBCONFIG_PASSWORD"),
        (
            "ml-pipeline",
            "ml-pipeline-api-server",
            "DBCONFIG_MYSQLCONFIG_PASSWORD",
        ),
        ("cache-server", "server", "DBCONFIG_PASSWORD"),
        ("metadata-grpc-deployment", "container", "DBCONFIG_PASSWORD"),
    ] {
        let r = &env_of(&docs, workload, container, env)["valueFrom"]["secretKeyRef"];
        assert_eq!(
            (r["name"].as_str(), r["key"].as_str()),
            (Some("kfp-db"), Some("pw")),
            "{workload} {env}"
        );
    }
    // Every reader of the object store keys reads the user's Secret.
    for (workload, container, env, key) in [
        (
            "ml-pipeline",
            "ml-pipeline-api-server",
            "OBJECTSTORECONFIG_ACCESSKEY",
            "AWS_ACCESS_KEY_ID",
        ),
        (
            "ml-pipeline",
            "ml-pipeline-api-server",
            "OBJECTSTORECONFIG_SECRETACCESSKEY",
            "AWS_SECRET_ACCESS_KEY",
        ),
        (
            "ml-pipeline-ui",
            "ml-pipeline-ui",
            "MINIO_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
        ),
        (
            "ml-pipeline-ui",
            "ml-pipeline-ui",
            "MINIO_SECRET_KEY",
            "AWS_SECRET_ACCESS_KEY",
        ),
        (
            "kubeflow-pipelines-profile-controller",
            "profile-controller",
            "AWS_ACCESS_KEY_ID",
            "AWS_ACCESS_KEY_ID",
        ),
        (
            "kubeflow-pipelines-profile-controller",
            "profile-controller",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SECRET_ACCESS_KEY",
        ),
    ] {
        let r = &env_of(&docs, workload, container, env)["valueFrom"]["secretKeyRef"];
        assert_eq!(
            (r["name"].as_str(), r["key"].as_str()),
            (Some("kfp-s3"), Some(key)),
            "{workload} {env}"
        );
    }
    for (env, want) in [
        ("OBJECTSTORECONFIG_HOST", "s3.example.com"),
        ("OBJECTSTORECONFIG_PORT", "443"),
        ("OBJECTSTORECONFIG_SECURE", "true"),
    ] {
        assert_eq!(
            env_of(&docs, "ml-pipeline", "ml-pipeline-api-server", env)["value"],
            want,
            "{env}"
        );
    }
    // The UI reads s3:// artifacts with the AWS_* settings (absent upstream).
    for (env, want) in [
        ("AWS_S3_ENDPOINT", "s3.example.com"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_SSL", "true"),
        ("AWS_ACCESS_KEY_ID", "$(MINIO_ACCESS_KEY)"),
        ("AWS_SECRET_ACCESS_KEY", "$(MINIO_SECRET_KEY)"),
    ] {
        assert_eq!(
            env_of(&docs, "ml-pipeline-ui", "ml-pipeline-ui", env)["value"],
            want,
            "{env}"
        );
        let ui = containers(pod_spec(find(&defaults, "Deployment", "ml-pipeline-ui")).unwrap())[0];
        assert!(
            !ui["env"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|e| e["name"] == env),
            "{env} rendered by default"
        );
    }
    let pc = |env| {
        env_of(
            &docs,
            "kubeflow-pipelines-profile-controller",
            "profile-controller",
            env,
        )["value"]
            .clone()
    };
    assert_eq!(pc("S3_ENDPOINT_URL"), "https://s3.example.com:443");
    assert_eq!(pc("AWS_REGION"), "eu-west-1");
    // Argo's artifact repository.
    let repo = payload(&docs, "workflow-controller-configmap", "artifactRepository");
    let s3 = &repo["s3"];
    assert_eq!(s3["endpoint"], "s3.example.com:443");
    assert_eq!(s3["bucket"], "my-bucket");
    assert_eq!(s3["insecure"], false);
    assert_eq!(s3["region"], "eu-west-1");
    assert_eq!(
        s3["accessKeySecret"],
        y("{name: kfp-s3, key: AWS_ACCESS_KEY_ID}")
    );
    assert_eq!(
        s3["secretKeySecret"],
        y("{name: kfp-s3, key: AWS_SECRET_ACCESS_KEY}")
    );
    // Upstream's key layout stays.
    let up_repo = payload(&up, "workflow-controller-configmap", "artifactRepository");
    assert_eq!(s3["keyFormat"], up_repo["s3"]["keyFormat"]);
    assert_eq!(repo["archiveLogs"], up_repo["archiveLogs"]);
    // What the profile controller writes into every profile namespace.
    let code = find(
        &docs,
        "ConfigMap",
        "kubeflow-pipelines-profile-controller-code-c55f957kgf",
    )["data"]["sync.py"]
        .as_str()
        .unwrap();
    for want in [
        "S3_BUCKET_NAME = 'my-bucket'",
        "\"endpoint\": f\"s3.example.com:443\",",
        "\"insecure\": False,",
        "\"defaultPipelineRoot\": f\"s3://{S3_BUCKET_NAME}/private-artifacts/",
        "endpoint=\"s3.example.com:443\", disableSSL=False, region=\"eu-west-1\", credentials=dict(fromEnv=False",
        "attachments[\"Secret.v1\"].get(f\"{namespace}/mlpipeline-minio-artifact\") or dict(",
    ] {
        assert!(code.contains(want), "sync.py lacks {want:?}");
    }
    for gone in ["seaweedfs.kubeflow:9000", "{object_store_host}.kubeflow"] {
        assert!(
            !code.contains(&format!("\"endpoint\": f\"{gone}")),
            "sync.py still points at {gone}"
        );
    }
}

#[test]
fn pipelines_launcher_in_kubeflow_uses_the_external_object_store() {
    // Variant generic runs pipelines in namespace kubeflow, with this launcher config.
    let values = format!("variant: generic\n{EXTERNAL_STORES}");
    let docs = render("pipelines", &values).unwrap();
    let data = &find(&docs, "ConfigMap", "kfp-launcher")["data"];
    assert_eq!(data["defaultPipelineRoot"], "s3://my-bucket/v2/artifacts");
    let providers: Value = serde_yaml::from_str(data["providers"].as_str().unwrap()).unwrap();
    assert_eq!(
        providers,
        y("s3: {default: {endpoint: 's3.example.com:443', disableSSL: false, region: eu-west-1,
              credentials: {fromEnv: false, secretRef: {secretName: kfp-s3, accessKeyKey: AWS_ACCESS_KEY_ID, secretKeyKey: AWS_SECRET_ACCESS_KEY}}}}")
    );
    let defaults = render("pipelines", "variant: generic").unwrap();
    let data = &find(&defaults, "ConfigMap", "kfp-launcher")["data"];
    assert_eq!(*data, y("{defaultPipelineRoot: ''}"));
}

#[test]
fn pipelines_object_store_pod_identity_renders_no_keys() {
    let docs = render(
        "pipelines",
        "externalObjectStore: {host: s3.amazonaws.com, region: us-west-2, bucket: b, podIdentity: true}",
    )
    .unwrap();
    let s3 = &payload(&docs, "workflow-controller-configmap", "artifactRepository")["s3"];
    assert_eq!(s3["useSDKCreds"], true);
    assert!(
        s3["accessKeySecret"].is_null() && s3["secretKeySecret"].is_null(),
        "{s3:?}"
    );
    for key in ["accesskey", "secretkey"] {
        assert_eq!(
            secret_value(&docs, "mlpipeline-minio-artifact", key),
            "",
            "{key}"
        );
    }
    let code = find(
        &docs,
        "ConfigMap",
        "kubeflow-pipelines-profile-controller-code-c55f957kgf",
    )["data"]["sync.py"]
        .as_str()
        .unwrap();
    assert!(
        code.contains("credentials=dict(fromEnv=True"),
        "launcher credentials"
    );
    // The database stays in-cluster: only the object store was replaced.
    assert!(has(&docs, "Deployment", "mysql") && !has(&docs, "Deployment", "seaweedfs"));
}

#[test]
fn katib_external_db_is_filled_from_values() {
    let err = render("katib", "variant: external-db").expect_err("no host");
    assert!(err.contains("externalDatabase.host"), "{err}");
    let docs = render(
        "katib",
        "variant: external-db\nexternalDatabase: {host: db.example.com, port: 3307, user: katib, password: pw, database: katibdb}",
    )
    .unwrap();
    let secret = "katib-mysql-secrets-th9dkf48dg";
    for (key, want) in [
        ("KATIB_MYSQL_DB_HOST", "db.example.com"),
        ("KATIB_MYSQL_DB_PORT", "3307"),
        ("DB_USER", "katib"),
        ("DB_PASSWORD", "pw"),
        ("KATIB_MYSQL_DB_DATABASE", "katibdb"),
    ] {
        assert_eq!(secret_value(&docs, secret, key), want, "{key}");
    }
    let r = &env_of(&docs, "katib-db-manager", "katib-db-manager", "DB_PASSWORD")["valueFrom"]
        ["secretKeyRef"];
    assert_eq!(r["name"], secret);
    let docs = render(
        "katib",
        "variant: external-db\nexternalDatabase: {host: db.example.com, existingSecret: katib-db}",
    )
    .unwrap();
    let r = &env_of(&docs, "katib-db-manager", "katib-db-manager", "DB_PASSWORD")["valueFrom"]
        ["secretKeyRef"];
    assert_eq!(
        (r["name"].as_str(), r["key"].as_str()),
        (Some("katib-db"), Some("DB_PASSWORD"))
    );
}

#[test]
fn app_settings_land_in_their_objects() {
    // Notebook culling.
    let nb = "notebook-controller-config-fhm9f7tdt5";
    let data = |docs: &[Value], key: &str| find(docs, "ConfigMap", nb)["data"][key].clone();
    let defaults = render("notebook-controller", "{}").unwrap();
    let up = upstream("applications/jupyter/notebook-controller/upstream/overlays/kubeflow");
    for key in ["ENABLE_CULLING", "CULL_IDLE_TIME", "IDLENESS_CHECK_PERIOD"] {
        assert_eq!(data(&defaults, key), data(&up, key), "{key} default");
    }
    let docs = render(
        "notebook-controller",
        "culling: {enabled: true, idleTime: 60, checkPeriod: 5}",
    )
    .unwrap();
    for (key, want) in [
        ("ENABLE_CULLING", "true"),
        ("CULL_IDLE_TIME", "60"),
        ("IDLENESS_CHECK_PERIOD", "5"),
    ] {
        assert_eq!(data(&docs, key), want, "{key}");
    }
    // Jupyter spawner defaults: upstream's text untouched unless set.
    let cm = "jupyter-web-app-config-9c2fbg2gdc";
    let key = "spawner_ui_config.yaml";
    let up = upstream("applications/jupyter/jupyter-web-app/upstream/overlays/istio");
    let defaults = render("jupyter-web-app", "{}").unwrap();
    assert_eq!(
        find(&defaults, "ConfigMap", cm)["data"][key],
        find(&up, "ConfigMap", cm)["data"][key]
    );
    let docs = render(
        "jupyter-web-app",
        "spawner: {images: [reg/a:1, reg/b:2], defaultImage: reg/b:2, cpu: '2', memory: 4Gi, workspaceSize: 20Gi, storageClass: fast}",
    )
    .unwrap();
    let d = &payload(&docs, cm, key)["spawnerFormDefaults"];
    assert_eq!(d["image"]["options"], y("[reg/a:1, reg/b:2]"));
    assert_eq!(d["image"]["value"], "reg/b:2");
    assert_eq!(d["cpu"]["value"], "2");
    assert_eq!(d["memory"]["value"], "4Gi");
    let pvc = &d["workspaceVolume"]["value"]["newPvc"]["spec"];
    assert_eq!(pvc["resources"]["requests"]["storage"], "20Gi");
    assert_eq!(pvc["storageClassName"], "fast");
    // The rest of the form stays upstream's.
    let u = &payload(&up, cm, key)["spawnerFormDefaults"];
    assert_eq!(d["gpus"], u["gpus"]);
    assert_eq!(d["imageGroupOne"], u["imageGroupOne"]);
    // Katib's suggestion / early-stopping / metrics-collector resources.
    let docs = render(
        "katib",
        "config: {suggestionResources: {limits: {memory: 2Gi}}, earlyStoppingResources: {requests: {cpu: 10m}}, metricsCollectorResources: {limits: {cpu: 500m}}}",
    )
    .unwrap();
    let rt = &payload(&docs, "katib-config", "katib-config.yaml")["runtime"];
    let up_rt = &payload(&upstream(KATIB), "katib-config", "katib-config.yaml")["runtime"];
    for (list, want) in [
        ("suggestions", "{limits: {memory: 2Gi}}"),
        ("earlyStoppings", "{requests: {cpu: 10m}}"),
        ("metricsCollectors", "{limits: {cpu: 500m}}"),
    ] {
        let items = rt[list].as_sequence().unwrap();
        assert_eq!(
            items.len(),
            up_rt[list].as_sequence().unwrap().len(),
            "{list}"
        );
        for item in items {
            assert_eq!(item["resources"], y(want), "{list}");
        }
    }
    assert_eq!(
        rt["suggestions"][0]["image"],
        up_rt["suggestions"][0]["image"]
    );
}
