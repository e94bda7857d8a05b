#!/usr/bin/env bash
# containerd with the systemd cgroup driver, kubeadm's pause image and registry mirrors in
# certs.d (hosts without internet pull through cluster.registryMirrors), held against upgrades.
# Whatever containerd the distribution offers: Debian 12's 1.6, Ubuntu 22.04's 1.7 (config
# `version = 2`), Ubuntu 24.04's 2.2 (`version = 3`); the config is checked by that containerd
# before it is written (lib-containerd.sh's containerd_config_write).
set -euo pipefail
REGISTRY_MIRRORS="${REGISTRY_MIRRORS:-}"
mirrored_registries=(docker.io registry.k8s.io nvcr.io ghcr.io quay.io)

# The program's validator lets only plain URLs through. A control character (a newline could end
# a line of hosts.toml and add settings) stops the step all the same; quotes and backslashes are
# escaped (toml_string).
if [[ "$REGISTRY_MIRRORS" == *[[:cntrl:]]* ]]; then
  log "error: cluster.registryMirrors has a control character" >&2
  exit 1
fi
# toml_string VALUE: VALUE as a TOML basic string (no control characters in VALUE).
toml_string() {
  local value="${1//\\/\\\\}"
  printf '"%s"' "${value//\"/\\\"}"
}

apt_install containerd
restart=false
if ! check_only || command -v containerd >/dev/null 2>&1; then
  containerd_config_write && restart=true
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
    echo "server = $(toml_string "$upstream")"
    for mirror in "${mirrors[@]}"; do
      printf '\n[host.%s]\n  capabilities = ["pull", "resolve"]\n' "$(toml_string "$mirror")"
    done
  } | write_file "$file" 0644 || true
done
hold containerd runc
if [[ "$restart" == true ]]; then
  run systemctl restart containerd
fi
run systemctl enable --now containerd
log "containerd configured (mirrors: ${REGISTRY_MIRRORS:-none})"
