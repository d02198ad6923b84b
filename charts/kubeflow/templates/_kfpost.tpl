{{/*
Pieces of the kf-post config (templates/kf-post-config.yaml), one per
transform, each derived from global.* only. A transform left out keeps its
default, which changes nothing.
*/}}

{{/*
istio: the data-plane mode of the platform and profile namespaces. The
component charts already carry upstream's per-workload webhook port
exclusions, so the transform's own (for charts without them) stays off.
*/}}
{{- define "kubeflow.kfPost.istio" -}}
{{- $g := .Values.global -}}
{{- if $g.istio.enabled }}
mode: {{ $g.istio.mode }}
excludeWebhookPorts: false
namespaces:
  - {{ $g.namespace }}
  {{- range $g.profiles }}
  - {{ .name }}
  {{- end }}
{{- else }}
mode: "off"
{{- end }}
{{- end }}

{{/* security: `upstream` is the transform's no-op default. */}}
{{- define "kubeflow.kfPost.security" -}}
{{- if eq .Values.global.security.preset "hardened" }}
preset: hardened
{{- end }}
{{- end }}

{{/* images: registry mirrors (global.imageRegistry is applied by the charts). */}}
{{- define "kubeflow.kfPost.images" -}}
{{- with .Values.global.imageMirrors }}
mirrors:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
helm4: Helm 4 applies server-side; aggregated ClusterRoles (kubeflow-admin/
edit/view) and CRD status fields belong to controllers, so the release must
not claim them or every install/upgrade conflicts. Safe under Helm 3 too.
*/}}
{{- define "kubeflow.kfPost.helm4" -}}
dropAggregatedRules: true
dropStatus: true
{{- end }}
