#!/usr/bin/env bash
# NVIDIA container toolkit as containerd's DEFAULT runtime: OpenPAI selects GPUs with
# NVIDIA_VISIBLE_DEVICES, without a RuntimeClass.
set -euo pipefail

apt_install nvidia-container-toolkit
if ! grep -q 'default_runtime_name = "nvidia"' /etc/containerd/config.toml 2>/dev/null; then
  run nvidia-ctk runtime configure --runtime=containerd --set-as-default
  run systemctl restart containerd
  check_only || changed "nvidia is containerd's default runtime"
fi
# Job containers are unprivileged: let them select devices through the environment.
if [[ -f /etc/nvidia-container-runtime/config.toml ]] && grep -q 'accept-nvidia-visible-devices-envvar-when-unprivileged = false' /etc/nvidia-container-runtime/config.toml; then
  run sed -i 's/accept-nvidia-visible-devices-envvar-when-unprivileged = false/accept-nvidia-visible-devices-envvar-when-unprivileged = true/' /etc/nvidia-container-runtime/config.toml
fi
log "NVIDIA container toolkit ready"
