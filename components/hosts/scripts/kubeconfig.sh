#!/usr/bin/env bash
# Prints the cluster's admin kubeconfig (captured as a secret). Nothing else on stdout.
set -euo pipefail

if [[ -f /etc/kubernetes/admin.conf ]]; then
  cat /etc/kubernetes/admin.conf
else
  log "no /etc/kubernetes/admin.conf (check-only or not initialized)" >&2
fi
