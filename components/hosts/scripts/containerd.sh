#!/usr/bin/env bash
# containerd with the systemd cgroup driver, kubeadm's pause image and registry mirrors in
# certs.d (hosts without internet pull through cluster.registryMirrors), held against upgrades.
set -euo pipefail
REGISTRY_MIRRORS="${REGISTRY_MIRRORS:-}"
mirrored_registries=(docker.io registry.k8s.io nvcr.io ghcr.io quay.io)

apt_install containerd
restart=false
if ! check_only || command -v containerd >/dev/null 2>&1; then
  containerd_config | write_file /etc/containerd/config.toml 0644 && restart=true
fi
read -ra mirrors <<<"$REGISTRY_MIRRORS"
for registry in "${mirrored_registries[@]}"; do
  file="/etc/containerd/certs.d/$registry/hosts.toml"
  if ((${#mirrors[@]} == 0)); then
    if [[ -f "$file" ]]; then
      run rm -f "$file"
      check_only || changed "removed the mirrors of $registry"
    fi
    continue
  fi
  upstream="https://$registry"
  [[ "$registry" == docker.io ]] && upstream="https://registry-1.docker.io"
  {
    echo "server = \"$upstream\""
    for mirror in "${mirrors[@]}"; do
      printf '\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n' "$mirror"
    done
  } | write_file "$file" 0644 || true
done
hold containerd runc
if [[ "$restart" == true ]]; then
  run systemctl restart containerd
fi
run systemctl enable --now containerd
log "containerd configured (mirrors: ${REGISTRY_MIRRORS:-none})"
