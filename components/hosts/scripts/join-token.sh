#!/usr/bin/env bash
# Runs on the master for one worker's join. TOKEN_ACTION=create: a fresh bootstrap token, valid 2
# hours at most (as kubespray does per join), and the hash of the cluster CA the worker pins,
# printed as token=... and ca_cert_hash=... to the join script, which keeps the token in memory
# only (worker-join.ts); nothing is written to disk. TOKEN_ACTION=delete, once the join is done
# (or failed): the tokens made for this node's joins are deleted, so none is left on the master.
set -euo pipefail
: "${NODE_NAME:?}"
TOKEN_ACTION="${TOKEN_ACTION:-create}"
export KUBECONFIG=/etc/kubernetes/admin.conf
description="openpai-pulumi: join of $NODE_NAME"

if [[ "$TOKEN_ACTION" == delete ]]; then
  if check_only; then
    log "would delete the join tokens of $NODE_NAME"
    exit 0
  fi
  deleted="$(delete_bootstrap_tokens "$description")"
  ((deleted == 0)) || changed "deleted the join token of $NODE_NAME"
  exit 0
fi
if check_only; then
  log "would create a 2-hour join token for $NODE_NAME"
  echo "token=abcdef.0123456789abcdef"
  echo "ca_cert_hash=sha256:check-only"
  exit 0
fi
echo "token=$(kubeadm token create --ttl 2h --description "$description")"
echo "ca_cert_hash=sha256:$(openssl x509 -pubkey -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der 2>/dev/null | sha256sum | cut -d' ' -f1)"
