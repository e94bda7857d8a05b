#!/usr/bin/env bash
# kubelet, kubeadm and kubectl at the pinned release, held against upgrades.
set -euo pipefail
: "${K8S_VERSION:?}"
APT_MIRROR="${APT_MIRROR:-https://pkgs.k8s.io}"

minor="${K8S_VERSION#v}"
minor="${minor%.*}"
package_version="${K8S_VERSION#v}-*"
apt_install apt-transport-https ca-certificates curl gpg
keyring=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
if [[ ! -f "$keyring" ]]; then
  run install -d -m 0755 /etc/apt/keyrings
  if check_only; then
    log "would fetch the signing key $APT_MIRROR/core:/stable:/v$minor/deb/Release.key"
  else
    curl -fsSL "$APT_MIRROR/core:/stable:/v$minor/deb/Release.key" | gpg --dearmor -o "$keyring"
    changed "added the Kubernetes apt key"
  fi
fi
echo "deb [signed-by=$keyring] $APT_MIRROR/core:/stable:/v$minor/deb/ /" \
  | write_file /etc/apt/sources.list.d/kubernetes.list 0644 && run apt-get update -q
installed="$(dpkg-query -W -f='${Version}' kubeadm 2>/dev/null || true)"
if [[ "$installed" != "${K8S_VERSION#v}"-* ]]; then
  run apt-mark unhold kubelet kubeadm kubectl
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "kubelet=$package_version" "kubeadm=$package_version" "kubectl=$package_version"
  run apt-mark hold kubelet kubeadm kubectl
  check_only || changed "Kubernetes packages $K8S_VERSION installed (was '${installed:-none}')"
fi
run systemctl enable kubelet
log "kubelet/kubeadm/kubectl at $K8S_VERSION"
