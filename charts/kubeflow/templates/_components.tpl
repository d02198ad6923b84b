{{/*
Component table of the umbrella: umbrella key -> group tags (the same tags as
Chart.yaml's dependencies; e2e/tests/umbrella_chart.rs checks they agree).
*/}}
{{- define "kubeflow.componentTags" -}}
cert-manager: [core]
istio-crds: [istio]
istio: [istio]
cluster-local-gateway: [serving]
oauth2-proxy: [auth]
dex: [auth]
knative-serving: [serving]
knative-eventing: [eventing]
kubeflow-namespace: [core]
kubeflow-roles: [core]
kubeflow-istio-resources: [istio]
pipelines: [pipelines]
katib: [katib]
centraldashboard: [core]
admission-webhook: [core]
jupyter-web-app: [notebooks]
notebook-controller: [notebooks]
profiles: [core]
pvcviewer-controller: [notebooks]
volumes-web-app: [notebooks]
tensorboard-controller: [notebooks]
tensorboards-web-app: [notebooks]
trainer: [training]
training-operator: [training-operator]
user-namespace: [core]
kserve: [serving]
models-web-app: [serving]
spark-operator: [spark]
model-registry: [model-registry]
{{- end }}

{{/*
Hard requirements: a component does not work without these (upstream's
platform variants: namespace, cert-manager-issued webhook certificates, CRDs
and controllers it talks to). Gateway and auth requirements depend on
global.istio / global.auth and are in kubeflow.gatewayApps / checks.yaml.
*/}}
{{- define "kubeflow.requires" -}}
istio: [istio-crds]
cluster-local-gateway: [istio]
kubeflow-istio-resources: [istio]
knative-serving: [istio]
oauth2-proxy: [istio]
pipelines: [cert-manager, kubeflow-namespace, profiles]
katib: [cert-manager, kubeflow-namespace]
centraldashboard: [kubeflow-namespace, profiles]
admission-webhook: [cert-manager, kubeflow-namespace]
jupyter-web-app: [kubeflow-namespace, notebook-controller]
notebook-controller: [kubeflow-namespace]
profiles: [kubeflow-namespace, kubeflow-roles]
pvcviewer-controller: [cert-manager, kubeflow-namespace]
volumes-web-app: [kubeflow-namespace]
tensorboard-controller: [kubeflow-namespace]
tensorboards-web-app: [kubeflow-namespace, tensorboard-controller]
training-operator: [kubeflow-namespace]
user-namespace: [profiles]
kserve: [cert-manager, kubeflow-namespace]
models-web-app: [kserve]
spark-operator: [kubeflow-namespace]
{{- end }}

{{/*
Component chart variants (`<key>.variant`) that render Istio objects
(VirtualService, AuthorizationPolicy, …), and the variant upstream offers
without them. Measured over the generated charts; e2e/tests/umbrella_chart.rs
re-checks it against every chart variant.
*/}}
{{- define "kubeflow.meshedVariants" -}}
centraldashboard: {meshed: [oauth2-proxy, istio, kserve], standalone: base}
dex: {meshed: [oauth2-proxy, istio], standalone: base}
jupyter-web-app: {meshed: [istio], standalone: base}
katib: {meshed: [with-kubeflow], standalone: standalone}
models-web-app: {meshed: [kubeflow], standalone: base}
pipelines: {meshed: [kubeflow, multi-user], standalone: generic}
profiles: {meshed: [pss, kubeflow], standalone: standalone}
tensorboards-web-app: {meshed: [istio], standalone: base}
volumes-web-app: {meshed: [istio], standalone: base}
{{- end }}

{{/* oauth2-proxy chart variant each global.auth.mode needs (upstream overlays). */}}
{{- define "kubeflow.oauth2ProxyVariant" -}}
dex-oauth2-proxy: m2m-dex-only
m2m-kind: m2m-dex-and-kind
m2m-eks: m2m-dex-and-eks
oidc: m2m-dex-only
{{- end }}

{{/*
"true" when the component is installed by this release: `<key>.enabled` if
set, otherwise Helm's tag rule (any listed tag true -> on; only false tags ->
off; no tag set -> on). Argument: (list $ "key").
*/}}
{{- define "kubeflow.enabled" -}}
{{- $root := index . 0 -}}
{{- $key := index . 1 -}}
{{- $v := index $root.Values $key | default dict -}}
{{- if hasKey $v "enabled" -}}
{{- ternary "true" "false" (eq (toString $v.enabled) "true") -}}
{{- else -}}
{{- $tags := index (include "kubeflow.componentTags" $root | fromYaml) $key -}}
{{- $hasTrue := false -}}{{- $hasFalse := false -}}
{{- range $tags -}}
{{- if hasKey ($root.Values.tags | default dict) . -}}
{{- if eq (toString (index $root.Values.tags .)) "true" }}{{ $hasTrue = true }}{{ else }}{{ $hasFalse = true }}{{ end -}}
{{- end -}}
{{- end -}}
{{- ternary "false" "true" (and $hasFalse (not $hasTrue)) -}}
{{- end -}}
{{- end }}

{{/* "true" when enabled here or declared in global.externalComponents. (list $ "key") */}}
{{- define "kubeflow.present" -}}
{{- $root := index . 0 -}}
{{- $key := index . 1 -}}
{{- if or (has $key ($root.Values.global.externalComponents | default list)) (eq (include "kubeflow.enabled" .) "true") -}}
true
{{- else -}}
false
{{- end -}}
{{- end }}
