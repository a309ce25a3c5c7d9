{{/*
The operator's RBAC rules, split by scope. Together, in this order, they
are the rules of deploy/cluster-role.yaml (a test compares them); see
docs/operations.md, "RBAC", for why each is needed.
*/}}

{{/* Rules on namespaced objects: cluster-wide, or in watchNamespace. */}}
{{- define "integration-operator.namespacedRules" -}}
- apiGroups: [""]
  resources: [configmaps, secrets]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [create, delete, get, list, patch, update, watch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, delete, get, list, patch, update, watch]
- apiGroups: [""]
  resources: [pods, services]
  verbs: [create, delete, get, list, patch, update, watch]
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [impersonate]
{{ include "integration-operator.leaseRules" . }}
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [create, delete, get, list, patch, update, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [create, delete, get, list, patch, update, watch]
- apiGroups: [monitoring.coreos.com]
  resources: [servicemonitors]
  verbs: [create, delete, get, list, patch, update, watch]
- apiGroups: [monitoring.coreos.com]
  resources: [prometheuses]
  verbs: [get, list, watch]
- apiGroups: [integration.rock8s.com]
  resources: [plugs, sockets, deferredresources, applications, components]
  verbs: [create, delete, get, list, patch, update, watch]
- apiGroups: [integration.rock8s.com]
  resources: ["*/status"]
  verbs: [get, patch, update]
- apiGroups: [integration.rock8s.com]
  resources: ["*/finalizers"]
  verbs: [update]
{{- end }}

{{/* The leader Lease (--leader-elect), in the release namespace. */}}
{{- define "integration-operator.leaseRules" -}}
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create, delete, get, list, patch, update, watch]
{{- end }}

{{/*
Cluster-scoped reads: Namespace labels (validation.namespaceSelector), and
CRDs (to notice the monitoring API being installed or removed).
*/}}
{{- define "integration-operator.clusterRules" -}}
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get]
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list, watch]
{{- end }}
