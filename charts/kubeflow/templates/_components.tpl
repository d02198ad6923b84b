{{/*
Component table of the umbrella: umbrella key -> group tags (the same tags as
Chart.yaml's dependencies; e2e/tests/umbrella_chart.rs checks they agree).
*/}}
{{- define "kubeflow.componentTags" -}}
certManager: [core]
istioCrds: [istio]
istio: [istio]
clusterLocalGateway: [serving]
oauth2Proxy: [auth]
dex: [auth]
knativeServing: [serving]
knativeEventing: [eventing]
kubeflowNamespace: [core]
kubeflowRoles: [core]
kubeflowIstioResources: [istio]
pipelines: [pipelines]
katib: [katib]
centraldashboard: [core]
admissionWebhook: [core]
jupyterWebApp: [notebooks]
notebookController: [notebooks]
profiles: [core]
pvcviewerController: [notebooks]
volumesWebApp: [notebooks]
tensorboardController: [notebooks]
tensorboardsWebApp: [notebooks]
trainer: [training]
trainingOperator: [trainingOperator]
userNamespace: [core]
kserve: [serving]
modelsWebApp: [serving]
sparkOperator: [spark]
modelRegistry: [modelRegistry]
{{- end }}

{{/*
Hard requirements: a component does not work without these (upstream's
platform variants: namespace, cert-manager-issued webhook certificates, CRDs
and controllers it talks to). Gateway and auth requirements depend on
global.istio / global.auth and are in kubeflow.gatewayApps / checks.yaml.
*/}}
{{- define "kubeflow.requires" -}}
istio: [istioCrds]
clusterLocalGateway: [istio]
kubeflowIstioResources: [istio]
knativeServing: [istio]
oauth2Proxy: [istio]
pipelines: [certManager, kubeflowNamespace, profiles]
katib: [certManager, kubeflowNamespace]
centraldashboard: [kubeflowNamespace, profiles]
admissionWebhook: [certManager, kubeflowNamespace]
jupyterWebApp: [kubeflowNamespace, notebookController]
notebookController: [kubeflowNamespace]
profiles: [kubeflowNamespace, kubeflowRoles]
pvcviewerController: [certManager, kubeflowNamespace]
volumesWebApp: [kubeflowNamespace]
tensorboardController: [kubeflowNamespace]
tensorboardsWebApp: [kubeflowNamespace, tensorboardController]
trainingOperator: [kubeflowNamespace]
userNamespace: [profiles]
kserve: [certManager, kubeflowNamespace]
modelsWebApp: [kserve]
sparkOperator: [kubeflowNamespace]
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
jupyterWebApp: {meshed: [istio], standalone: base}
katib: {meshed: [with-kubeflow], standalone: standalone}
modelsWebApp: {meshed: [kubeflow], standalone: base}
pipelines: {meshed: [kubeflow, multi-user], standalone: generic}
profiles: {meshed: [pss, kubeflow], standalone: standalone}
tensorboardsWebApp: {meshed: [istio], standalone: base}
volumesWebApp: {meshed: [istio], standalone: base}
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
