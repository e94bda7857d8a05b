#!/usr/bin/env bash
# The admin's dev box: kubectl at the cluster's release and the kubeconfig in ~/.kube/config.
set -euo pipefail
: "${K8S_VERSION:?}"
KUBECONFIG_CONTENT="${KUBECONFIG_CONTENT:-}"

current="$(kubectl version --client -o json 2>/dev/null | grep -o '"gitVersion": *"[^"]*"' | cut -d'"' -f4 || true)"
if [[ "$current" != "$K8S_VERSION" ]]; then
  if check_only; then
    log "would install kubectl $K8S_VERSION (found '${current:-none}')"
  else
    curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/$K8S_VERSION/bin/linux/amd64/kubectl"
    chmod 0755 /usr/local/bin/kubectl
    changed "kubectl $K8S_VERSION installed"
  fi
fi
if [[ -n "$KUBECONFIG_CONTENT" ]]; then
  printf '%s\n' "$KUBECONFIG_CONTENT" | write_file "$HOME/.kube/config" 0600 || log "kubeconfig up to date"
fi
log "dev box ready"
