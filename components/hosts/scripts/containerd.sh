#!/usr/bin/env bash
# containerd with the systemd cgroup driver and registry mirrors in certs.d.
set -euo pipefail
REGISTRY_MIRRORS="${REGISTRY_MIRRORS:-}"

apt_install containerd
restart=false
if ! check_only || [[ -x /usr/bin/containerd ]]; then
  config="$( (containerd config default 2>/dev/null || true) | sed -e 's/SystemdCgroup = false/SystemdCgroup = true/' \
    -e "s|config_path = \"\"|config_path = \"/etc/containerd/certs.d\"|")"
  printf '%s\n' "$config" | write_file /etc/containerd/config.toml 0644 && restart=true
fi
for registry in docker.io registry.k8s.io nvcr.io; do
  [[ -n "$REGISTRY_MIRRORS" ]] || break
  {
    echo "server = \"https://$registry\""
    for mirror in $REGISTRY_MIRRORS; do
      printf '\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n' "$mirror"
    done
  } | write_file "/etc/containerd/certs.d/$registry/hosts.toml" 0644 && restart=true
done
if [[ "$restart" == true ]]; then
  run systemctl restart containerd
fi
run systemctl enable --now containerd
log "containerd configured (mirrors: ${REGISTRY_MIRRORS:-none})"
