{{/*
The chart's name: nameOverride (the original chart's value) or the chart
name.
*/}}
{{- define "integration-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object: fullnameOverride, else the release name when it
already contains the chart name, else "<release>-<name>". With the release
`integration-operator` it is `integration-operator`, as in deploy/.
*/}}
{{- define "integration-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "integration-operator.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "integration-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "integration-operator.labels" -}}
helm.sh/chart: {{ include "integration-operator.chart" . }}
{{ include "integration-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Pods' labels the Deployment and the metrics Service select. */}}
{{- define "integration-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "integration-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "integration-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "integration-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The values that the original chart (rock8s/integration-operator 1.2.0)
named differently win when an existing values file sets them: see the
chart README, "Values of the original chart".
*/}}
{{- define "integration-operator.replicas" -}}
{{- $config := .Values.config | default dict }}
{{- if hasKey $config "replicas" }}{{ $config.replicas | int }}{{ else }}{{ .Values.replicas | int }}{{ end }}
{{- end }}

{{- define "integration-operator.concurrency" -}}
{{- $config := .Values.config | default dict }}
{{- if hasKey $config "maxConcurrentReconciles" }}{{ $config.maxConcurrentReconciles }}{{ else if .Values.concurrency }}{{ .Values.concurrency }}{{ end }}
{{- end }}

{{- define "integration-operator.pullPolicy" -}}
{{- $config := .Values.config | default dict }}
{{- $config.imagePullPolicy | default .Values.image.pullPolicy }}
{{- end }}

{{/* config.debug: true is the original's --zap-devel: debug level, text lines. */}}
{{- define "integration-operator.logLevel" -}}
{{- $config := .Values.config | default dict }}
{{- if $config.debug }}debug{{ else }}{{ .Values.logging.level }}{{ end }}
{{- end }}

{{- define "integration-operator.logFormat" -}}
{{- $config := .Values.config | default dict }}
{{- if $config.debug }}text{{ else }}{{ .Values.logging.format }}{{ end }}
{{- end }}

{{/*
Container resources: the original's
config.resourceBindingOperator.resources (enabled "false" means none,
"defaults" or "custom" its requests and limits), else `resources`.
*/}}
{{- define "integration-operator.resources" -}}
{{- $config := .Values.config | default dict }}
{{- $rbo := $config.resourceBindingOperator | default dict }}
{{- $original := $rbo.resources | default dict }}
{{- if not $original }}
{{- toYaml .Values.resources }}
{{- else if eq (toString $original.enabled) "false" }}
{{- toYaml dict }}
{{- else }}
{{- toYaml (pick $original "requests" "limits") }}
{{- end }}
{{- end }}

{{/*
The Deployment strategy: the original's config.updateStrategy (a type),
else `updateStrategy`.
*/}}
{{- define "integration-operator.strategy" -}}
{{- $config := .Values.config | default dict }}
{{- if $config.updateStrategy }}
{{- toYaml (dict "type" $config.updateStrategy) }}
{{- else }}
{{- toYaml .Values.updateStrategy }}
{{- end }}
{{- end }}
