#!/usr/bin/env bash
# Runs on the master for one node: on create, sets its PAI labels; on delete (NODE_REMOVE=1),
# drains it and deletes it from the cluster before the host itself is reset.
set -euo pipefail
: "${NODE_NAME:?}" "${NODE_LABELS:?}"
export KUBECONFIG=/etc/kubernetes/admin.conf

if [[ "${NODE_REMOVE:-0}" == 1 ]]; then
  if check_only || kubectl get node "$NODE_NAME" >/dev/null 2>&1; then
    run kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout=300s
    run kubectl delete node "$NODE_NAME"
    check_only || changed "drained and deleted node $NODE_NAME"
  fi
  exit 0
fi
# shellcheck disable=SC2086 # one argument per label
run kubectl label node "$NODE_NAME" $NODE_LABELS --overwrite
log "node $NODE_NAME labelled: $NODE_LABELS"
