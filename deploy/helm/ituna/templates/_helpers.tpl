{{/* The three services: what each runs (the same entry points as the npm scripts), its consumer group and topic. */}}
{{- define "ituna.services" -}}
gateway:
  serviceName: ituna-gateway
  preload: ./gateway/instrument.ts
  main: gateway/server.ts
validation:
  serviceName: ituna-order-validation
  preload: ./workers/validation/instrument.ts
  main: workers/validation/main.ts
  group: ituna-order-validation
  topic: orders.placed
kitchen:
  serviceName: ituna-kitchen
  preload: ./workers/kitchen/instrument.ts
  main: workers/kitchen/main.ts
  group: ituna-kitchen
  topic: kitchen.tickets
{{- end -}}

{{- define "ituna.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ituna.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ituna.labels" -}}
{{ include "ituna.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* Kafka's address and credentials: every service needs them. */}}
{{- define "ituna.kafkaEnv" -}}
- name: KAFKA_BROKERS
  value: {{ required "kafka.brokers is required" .Values.kafka.brokers | quote }}
{{- if .Values.kafka.tls.enabled }}
- name: KAFKA_SSL
  value: "true"
{{- if .Values.kafka.tls.caSecret }}
- name: KAFKA_SSL_CA_FILE
  value: /etc/ituna/kafka-ca/{{ .Values.kafka.tls.caKey }}
{{- end }}
{{- end }}
{{- if ne .Values.kafka.sasl.mechanism "none" }}
- name: KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ required "kafka.sasl.existingSecret is required with a SASL mechanism" .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.usernameKey }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- end -}}
