#!/usr/bin/env bash
# NVIDIA container toolkit from NVIDIA's repository at the pinned version, held, with nvidia as
# containerd's DEFAULT runtime: OpenPAI selects GPUs with NVIDIA_VISIBLE_DEVICES, without a
# RuntimeClass, and job containers are unprivileged.
set -euo pipefail
: "${NVIDIA_TOOLKIT_VERSION:?}" "${K8S_VERSION:?}"

keyring=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
source_line="deb [signed-by=$keyring] https://nvidia.github.io/libnvidia-container/stable/deb/\$(ARCH) /"
if [[ ! -f "$keyring" ]]; then
  if check_only; then
    log "would fetch NVIDIA's signing key https://nvidia.github.io/libnvidia-container/gpgkey"
  else
    curl -fsSL --retry 3 https://nvidia.github.io/libnvidia-container/gpgkey | gpg --batch --yes --dearmor -o "$keyring"
    changed "added NVIDIA's container toolkit key"
  fi
fi
if echo "$source_line" | write_file /etc/apt/sources.list.d/nvidia-container-toolkit.list 0644; then
  # shellcheck disable=SC2034 # read by lib.sh's apt_update: the new source needs a fresh update
  apt_updated=0
fi
toolkit=(nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1)
apt_install "${toolkit[@]/%/=$NVIDIA_TOOLKIT_VERSION}"
hold "${toolkit[@]}"
if ! check_only || command -v nvidia-ctk >/dev/null 2>&1; then
  if containerd_config_write; then
    run systemctl restart containerd
  fi
fi
runtime_config=/etc/nvidia-container-runtime/config.toml
if [[ -f "$runtime_config" ]] && grep -q 'accept-nvidia-visible-devices-envvar-when-unprivileged = false' "$runtime_config"; then
  run sed -i 's/accept-nvidia-visible-devices-envvar-when-unprivileged = false/accept-nvidia-visible-devices-envvar-when-unprivileged = true/' "$runtime_config"
  check_only || changed "unprivileged containers may select GPUs with NVIDIA_VISIBLE_DEVICES"
fi
log "NVIDIA container toolkit $NVIDIA_TOOLKIT_VERSION ready"
