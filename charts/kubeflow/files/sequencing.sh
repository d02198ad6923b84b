#!/usr/bin/env bash
# The sequencing Jobs of the kubeflow chart (docs/upgrades.md#sequencing), run
# by templates/sequencing/jobs.yaml in the registry.k8s.io/kubectl image (which
# has bash, kubectl and jq) as `sequencing.sh wait|prune|uninstall`.
#
# Objects the API server cannot take in the same apply as the rest of the
# release (custom resources whose CRD comes with it, objects its own admission
# webhooks guard) are Helm hooks. Every such object carries the labels
#   helm.kubeflow.org/sequenced-by: <release>
#   helm.kubeflow.org/revision: <revision that last applied it>
#
#   wait       until every CustomResourceDefinition of the release is Established
#              and every failurePolicy-Fail admission or conversion webhook it
#              registers has a CA bundle and a ready endpoint (weight -10, before
#              the sequenced objects); fails after $TIMEOUT_SECONDS naming what
#              is not ready.
#   prune      Helm does not track hooks: delete the release's sequenced objects
#              that the revision now deployed did not apply (a component turned
#              off, a profile removed, a rollback to before they existed).
#   uninstall  delete every sequenced object of the release (pre-delete hook).
# Objects annotated helm.sh/resource-policy: keep are never deleted.
#
# Environment: RELEASE, RELEASE_NAMESPACE, REVISION, TIMEOUT_SECONDS, and
# RESOURCES: the kinds that can be sequenced, as "plural.group" words.
set -euo pipefail

dir="$(mktemp -d)"

# What is not ready yet, one line each; empty when everything is.
pending() {
  kubectl get customresourcedefinitions -o json >"$dir/crds"
  kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o json >"$dir/webhooks"
  kubectl get endpointslices --all-namespaces -o json >"$dir/endpoints"
  jq -r -n --arg release "$RELEASE" --arg ns "$RELEASE_NAMESPACE" \
    --slurpfile crds "$dir/crds" --slurpfile webhooks "$dir/webhooks" --slurpfile endpoints "$dir/endpoints" '
    def ours: (.metadata.annotations // {}) as $a
      | $a["meta.helm.sh/release-name"] == $release and $a["meta.helm.sh/release-namespace"] == $ns;
    # Services with at least one ready endpoint, as "namespace/name".
    [$endpoints[0].items[]
      | select(any(.endpoints[]?; .conditions.ready != false))
      | "\(.metadata.namespace)/\(.metadata.labels["kubernetes.io/service-name"])"] as $ready
    | def unanswered($what; $cc):
        if ($cc.service | not) then empty
        elif (($cc.caBundle // "") == "") then "\($what): no CA bundle yet"
        elif ($ready | index("\($cc.service.namespace)/\($cc.service.name)") | not)
          then "\($what): service \($cc.service.namespace)/\($cc.service.name) has no ready endpoint"
        else empty end;
      ($crds[0].items[] | select(ours)
        | (select(any(.status.conditions[]?; .type == "Established" and .status == "True") | not)
            | "CustomResourceDefinition \(.metadata.name): not Established"),
          (select(.spec.conversion.strategy == "Webhook")
            | unanswered("CustomResourceDefinition \(.metadata.name) conversion"; .spec.conversion.webhook.clientConfig))),
      ($webhooks[0].items[] | select(ours) | .kind as $kind | .metadata.name as $config
        | .webhooks[]? | select((.failurePolicy // "Fail") == "Fail")
        | unanswered("\($kind) \($config) webhook \(.name)"; .clientConfig))'
}

wait_ready() {
  local deadline=$((SECONDS + TIMEOUT_SECONDS)) waiting
  while :; do
    waiting="$(pending)"
    if [[ -z "$waiting" ]]; then
      echo "sequencing: the CRDs and webhooks of release $RELEASE are ready"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "sequencing: after ${TIMEOUT_SECONDS}s these are still not ready (global.sequencing.waitTimeoutSeconds):" >&2
      printf '  %s\n' "$waiting" >&2
      return 1
    fi
    sleep 2
  done
}

# delete_sequenced SELECTOR WHY: deletes the objects of every kind in
# $RESOURCES that the cluster serves and SELECTOR matches, except kept ones.
delete_sequenced() {
  local selector="$1" why="$2" served kind kinds=""
  served="$(kubectl api-resources --verbs=list,delete -o name)"
  for kind in $RESOURCES; do
    if grep -qxF "$kind" <<<"$served"; then kinds+="${kinds:+,}$kind"; fi
  done
  [[ -n "$kinds" ]] || return 0
  kubectl get "$kinds" --all-namespaces -l "$selector" -o json |
    jq -r '.items[]
      | select((.metadata.annotations // {})["helm.sh/resource-policy"] != "keep")
      | (.apiVersion | split("/")) as $gv
      | [("\(.kind).\(if ($gv | length) == 2 then $gv[0] else "" end)" | rtrimstr(".")),
         .metadata.namespace // "", .metadata.name] | join("\u001f")' |
    # A non-whitespace separator: read would merge the tabs around the empty
    # namespace of a cluster-scoped object.
    while IFS=$'\x1f' read -r kind namespace name; do
      kubectl delete "$kind" "$name" ${namespace:+--namespace "$namespace"} --ignore-not-found --wait=false
      echo "sequencing: deleted $kind ${namespace:+$namespace/}$name ($why)"
    done
}

case "${1:-}" in
  wait) wait_ready ;;
  prune)
    delete_sequenced "helm.kubeflow.org/sequenced-by=$RELEASE,helm.kubeflow.org/revision,helm.kubeflow.org/revision!=$REVISION" \
      "revision $REVISION does not render it"
    ;;
  uninstall) delete_sequenced "helm.kubeflow.org/sequenced-by=$RELEASE" "release $RELEASE is uninstalled" ;;
  *)
    echo "usage: sequencing.sh wait|prune|uninstall" >&2
    exit 2
    ;;
esac
