#!/usr/bin/env bash
# Runs on the master for one worker's join: a fresh bootstrap token, valid 2 hours (as kubespray
# does per join), and the hash of the cluster CA the worker pins. Printed as token=... and
# ca_cert_hash=... to the join script, which keeps the token in memory only (worker-join.ts);
# nothing is written to disk.
set -euo pipefail
: "${NODE_NAME:?}"
export KUBECONFIG=/etc/kubernetes/admin.conf

if check_only; then
  log "would create a 2-hour join token for $NODE_NAME"
  echo "token=abcdef.0123456789abcdef"
  echo "ca_cert_hash=sha256:check-only"
  exit 0
fi
echo "token=$(kubeadm token create --ttl 2h --description "openpai-pulumi: join of $NODE_NAME")"
echo "ca_cert_hash=sha256:$(openssl x509 -pubkey -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der 2>/dev/null | sha256sum | cut -d' ' -f1)"
