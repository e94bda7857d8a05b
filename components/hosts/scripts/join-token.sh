#!/usr/bin/env bash
# Runs on the master for one worker: a fresh bootstrap token for its join, valid 2 hours (as
# kubespray does per join). Printed as token=... on stdout, which the program keeps secret and
# out of the logs; nothing is written to disk.
set -euo pipefail
: "${NODE_NAME:?}"
export KUBECONFIG=/etc/kubernetes/admin.conf

if check_only; then
  log "would create a 2-hour join token for $NODE_NAME"
  echo "token=abcdef.0123456789abcdef"
  exit 0
fi
echo "token=$(kubeadm token create --ttl 2h --description "openpai-pulumi: join of $NODE_NAME")"
