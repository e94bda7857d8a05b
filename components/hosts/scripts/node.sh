#!/usr/bin/env bash
# Runs on the master for one node: on create, sets its PAI labels (NODE_LABELS, kubectl syntax:
# key=value sets, key- removes) and, for a worker (NODE_WAIT_READY=1), waits until the node is
# Ready, so what comes next (PAI's daemons, jobs) finds it usable. On delete (NODE_REMOVE=1): drains it and deletes it before the
# host itself is reset; a node whose kubelet is gone (host dead) cannot be drained and is deleted
# right away.
set -euo pipefail
: "${NODE_NAME:?}" "${NODE_LABELS:?}"
export KUBECONFIG=/etc/kubernetes/admin.conf

if [[ "${NODE_REMOVE:-0}" == 1 ]]; then
  if check_only; then
    log "would drain and delete node $NODE_NAME"
    exit 0
  fi
  if ! kubectl get node "$NODE_NAME" >/dev/null 2>&1; then
    log "node $NODE_NAME is not in the cluster"
    exit 0
  fi
  ready="$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')"
  if [[ "$ready" == True ]]; then
    kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --force --timeout=300s
  else
    log "node $NODE_NAME is not Ready (Ready=$ready): its kubelet cannot evict pods, deleting it without a drain"
  fi
  kubectl delete node "$NODE_NAME" --wait=true
  # What is still bound to it (DaemonSet pods, pods of a dead kubelet) is stale once the host is
  # reset; left, it would be reattached, init containers not rerun, if the node joins again soon.
  kubectl delete pods --all-namespaces --field-selector "spec.nodeName=$NODE_NAME" --force --grace-period=0 --wait=false >/dev/null 2>&1 || true
  changed "drained and deleted node $NODE_NAME"
  exit 0
fi
# kubeadm join returns once the kubelet has its certificate; the kubelet registers its node just
# after, seconds later on a loaded host (ten workers joining at once on two cores): wait for it.
if ! check_only; then
  for ((waited = 0; waited < 120; waited += 2)); do
    kubectl get node "$NODE_NAME" >/dev/null 2>&1 && break
    sleep 2
  done
fi
# shellcheck disable=SC2086 # one argument per label
run kubectl label node "$NODE_NAME" $NODE_LABELS --overwrite >/dev/null
log "node $NODE_NAME labelled: $NODE_LABELS"
if [[ "${NODE_WAIT_READY:-0}" == 1 ]]; then
  run kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=300s >/dev/null \
    || fail "node $NODE_NAME is not Ready after 5 minutes: kubectl describe node $NODE_NAME (kubelet, CNI?)"
  log "node $NODE_NAME is Ready"
fi
