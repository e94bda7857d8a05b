#!/usr/bin/env bash
# The admin's dev box, run as the SSH user (kubectl comes from the kube-packages step): the
# cluster's kubeconfig in ~/.kube/config, readable by that user only.
set -euo pipefail
KUBECONFIG_CONTENT="${KUBECONFIG_CONTENT:-}"

command -v kubectl >/dev/null 2>&1 || check_only || fail "kubectl is not installed (the kube-packages step installs it)"
if [[ -n "$KUBECONFIG_CONTENT" ]]; then
  printf '%s\n' "$KUBECONFIG_CONTENT" | write_file "$HOME/.kube/config" 0600 || log "kubeconfig up to date"
fi
log "dev box ready: kubectl $(kubectl version --client -o json 2>/dev/null | grep -o '"gitVersion": *"[^"]*"' | cut -d'"' -f4 || echo '?')"
