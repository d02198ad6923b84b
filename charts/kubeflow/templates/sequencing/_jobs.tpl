{{/*
The sequencing Jobs: files/sequencing.sh says what each does and why
(docs/upgrades.md#sequencing).
*/}}

{{- define "kubeflow.sequencing.enabled" -}}
{{- if eq ((.Values.global.sequencing).mode | default "hooks") "hooks" }}true{{ end -}}
{{- end }}

{{- define "kubeflow.sequencing.name" -}}
{{- printf "%s-sequencing" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "kubeflow.sequencing.labels" -}}
app.kubernetes.io/name: kubeflow-sequencing
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/part-of: kubeflow
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end }}

{{- define "kubeflow.sequencing.image" -}}
{{- $image := .Values.global.sequencing.image -}}
{{- with .Values.global.imageRegistry -}}
{{- $parts := splitList "/" $image -}}
{{- $image = printf "%s/%s" (trimSuffix "/" .) (join "/" (rest $parts)) -}}
{{- end -}}
{{- $image -}}
{{- end }}

{{/*
A sequencing Job running `sequencing.sh <job>`:
(dict "root" $ "job" "wait" "hook" "post-install,..." "weight" "-10").
*/}}
{{- define "kubeflow.sequencing.job" -}}
{{- $root := .root -}}
{{- $s := $root.Values.global.sequencing -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-%s" (include "kubeflow.sequencing.name" $root) .job | trunc 63 | trimSuffix "-" }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "kubeflow.sequencing.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .job }}
  annotations:
    helm.sh/hook: {{ .hook }}
    helm.sh/hook-weight: {{ .weight | quote }}
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 2
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels:
        {{- include "kubeflow.sequencing.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .job }}
    spec:
      serviceAccountName: {{ include "kubeflow.sequencing.name" $root }}
      restartPolicy: Never
      {{- with $root.Values.global.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: {{ .job }}
          image: {{ include "kubeflow.sequencing.image" $root }}
          command: ["/bin/bash", "-c"]
          args:
            - {{ $root.Files.Get "files/sequencing.sh" | quote }}
            - sequencing.sh
            - {{ .job }}
          env:
            - {name: RELEASE, value: {{ $root.Release.Name | quote }}}
            - {name: RELEASE_NAMESPACE, value: {{ $root.Release.Namespace | quote }}}
            - {name: REVISION, value: {{ $root.Release.Revision | quote }}}
            - {name: TIMEOUT_SECONDS, value: {{ $s.waitTimeoutSeconds | quote }}}
            - {name: RESOURCES, value: {{ include "kubeflow.sequencedResources" $root | fromYamlArray | join " " | quote }}}
            - {name: HOME, value: /tmp}
          resources:
            {{- toYaml $s.resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
      volumes:
        - {name: tmp, emptyDir: {}}
{{- end }}
