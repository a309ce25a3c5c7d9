#!/usr/bin/env bash
# kubectl as a strict second client against the emulator. Needs KUBECONFIG and HOME set to
# scratch locations (the test harness does that). Every step is bounded by a timeout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
k() { kubectl --request-timeout=20s "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }
# has PATTERN CMD...: CMD's output contains PATTERN (no pipes: pipefail + grep -q races).
has() { local pat="$1"; shift; local out; out="$("$@")"; grep -q -- "$pat" <<<"$out"; }

step "create namespace"
k create namespace demo
has '^Active$' k get namespace demo -o jsonpath='{.status.phase}' || fail "namespace not Active"
k get serviceaccount default -n demo >/dev/null

step "apply -f (client-side, validation on), twice"
k apply -f "$here/manifests.yaml" --validate=strict
has "configmap/settings unchanged" k apply -f "$here/manifests.yaml" --validate=strict || fail "second apply not unchanged"

step "wait --for=condition on the CRD"
k wait --for=condition=Established crd/gizmos.emu.example.com --timeout=20s
k apply -f "$here/gizmo.yaml" --validate=strict

step "an unknown kind is reported as such (kubectl parses /openapi/v2 on the way)"
if k apply -f "$here/unknown.yaml" 2>err.txt; then fail "unknown kind accepted"; fi
grep -q 'no matches for kind "Nothing" in version "nope.example.com/v1"' err.txt || fail "unexpected error: $(cat err.txt)"

step "validation rejects an unknown field of a custom resource"
if k apply -f "$here/gizmo-bad.yaml" --validate=strict 2>err.txt; then fail "unknown field accepted"; fi
grep -q 'unknown field' err.txt || fail "unexpected error: $(cat err.txt)"

step "apply --server-side"
k apply --server-side --field-manager=ssa-test -f "$here/ssa.yaml"
has '"manager": "ssa-test"' k get configmap ssa -n demo -o json --show-managed-fields || fail "no managedFields entry"

step "get -o yaml / -o json / -l"
has 'mode: fast' k get configmap settings -n demo -o yaml || fail "yaml"
has '"replicas": 2' k get deployment web -n demo -o json || fail "json"
[ "$(k get configmaps -n demo -l tier=web -o name)" = "configmap/settings" ] || fail "label selector"

step "patch --type merge|json|strategic"
k patch configmap settings -n demo --type merge -p '{"data":{"merge":"1"}}'
k patch configmap settings -n demo --type json -p '[{"op":"add","path":"/data/json","value":"1"}]'
k patch deployment web -n demo --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}'
[ "$(k get deployment web -n demo -o jsonpath='{.spec.template.spec.containers[*].name}')" = "web sidecar" ] || fail "strategic merge"
has '^11$' k get configmap settings -n demo -o jsonpath='{.data.merge}{.data.json}' || fail "merge/json patch"

step "patch --subresource=status plays the workload controllers"
k patch deployment web -n demo --subresource=status --type=merge -p '{"status":{"replicas":2,"readyReplicas":2}}'
has '^2$' k get deployment web -n demo -o jsonpath='{.status.readyReplicas}' || fail "deployment status"
k apply -f "$here/sts.yaml"
k patch statefulset api -n demo --subresource=status --type=merge -p '{"status":{"replicas":1,"readyReplicas":1,"currentRevision":"api-1"}}'
has '^api-1$' k get statefulset api -n demo -o jsonpath='{.status.currentRevision}' || fail "statefulset status"

step "merge patch --field-manager is recorded in managedFields"
k patch deployment web -n demo --type=merge --field-manager=scaler -p '{"spec":{"replicas":3}}'
has '^Update$' k get deployment web -n demo --show-managed-fields -o jsonpath='{.metadata.managedFields[?(@.manager=="scaler")].operation}' || fail "no Update entry for scaler"

step "StatefulSet fields outside the mutable ones are immutable"
if k patch statefulset api -n demo --type=merge -p '{"spec":{"serviceName":"other"}}' 2>err.txt; then fail "serviceName changed"; fi
grep -q "spec: Forbidden: updates to statefulset spec for fields other than 'replicas'" err.txt || fail "unexpected error: $(cat err.txt)"
k patch statefulset api -n demo --type=merge -p '{"spec":{"replicas":2}}'

step "explain a CRD kind"
has 'size' k explain gizmos.spec || fail "explain"

step "get prints the server's columns (a CRD's printer columns; -o wide adds priority 1)"
has '^NAME  *SIZE  *AGE$' k get gizmos -n demo || fail "gizmo columns: $(k get gizmos -n demo)"
has '^g1  *2  *[0-9]' k get gizmos -n demo || fail "gizmo row"
has '^NAME  *SIZE  *DETAIL  *AGE$' k get gizmos -n demo -o wide || fail "wide columns"
has '^NAME  *READY  *UP-TO-DATE  *AVAILABLE  *AGE$' k get deployments -n demo || fail "deployment columns"

step "auth can-i --as a service account"
k create serviceaccount bot -n demo
[ "$(k auth can-i list configmaps -n demo --as system:serviceaccount:demo:bot || true)" = "no" ] || fail "can-i before binding"
k create rolebinding bot-view -n demo --clusterrole=view --serviceaccount=demo:bot
[ "$(k auth can-i list configmaps -n demo --as system:serviceaccount:demo:bot)" = "yes" ] || fail "can-i after binding"
k get configmaps -n demo --as system:serviceaccount:demo:bot >/dev/null
token="$(k create token bot -n demo)"
k get configmaps -n demo --token "$token" >/dev/null
if k delete configmap settings -n demo --as system:serviceaccount:demo:bot 2>err.txt; then fail "view may delete"; fi
grep -q 'forbidden' err.txt || fail "unexpected error: $(cat err.txt)"

step "get events shows an events.k8s.io Event"
k create -f "$here/event.yaml"
has 'plug-coupled' k get events -n demo || fail "get events"
has '^coupled to socket mongo$' k get events -n demo -o jsonpath='{.items[*].message}' || fail "message from note"
has 'Plug/express' k events -n demo || fail "kubectl events"

step "delete waits for finalizers"
k patch configmap settings -n demo --type merge -p '{"metadata":{"finalizers":["emu.example.com/hold"]}}'
k delete configmap settings -n demo --timeout=30s &
deleter=$!
k wait --for=jsonpath='{.metadata.deletionTimestamp}' configmap/settings -n demo --timeout=20s >/dev/null 2>&1 || true
kill -0 "$deleter" 2>/dev/null || fail "delete returned while a finalizer was set"
k patch configmap settings -n demo --type merge -p '{"metadata":{"finalizers":null}}'
wait "$deleter" || fail "delete did not finish"
if k get configmap settings -n demo 2>/dev/null; then fail "still there"; fi

step "delete namespace"
k delete namespace demo --timeout=30s
echo "kubectl script: all steps passed"
