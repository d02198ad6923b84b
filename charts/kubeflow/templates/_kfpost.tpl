{{/*
Pieces of the kf-post config (templates/kf-post-config.yaml), one per
transform, each derived from global.* only.
*/}}

{{/* istio: the mesh mode for the platform namespace and profile namespaces. */}}
{{- define "kubeflow.kfPost.istio" -}}
{{- $g := .Values.global -}}
{{- if $g.istio.enabled }}
mode: {{ $g.istio.mode }}
namespaces:
  - {{ $g.namespace }}
  {{- range $g.profiles }}
  - {{ .name }}
  {{- end }}
{{- else }}
mode: "off"
{{- end }}
{{- end }}
