#!/usr/bin/env bash
# NVIDIA container toolkit from NVIDIA's repository (or cluster.nvidiaRepositoryMirror, a mirror of
# it) at the pinned version, signed by the pinned key, held, with nvidia as containerd's DEFAULT
# runtime: OpenPAI selects GPUs with NVIDIA_VISIBLE_DEVICES, without a RuntimeClass, and job
# containers are unprivileged.
set -euo pipefail
: "${NVIDIA_TOOLKIT_VERSION:?}" "${K8S_VERSION:?}"
NVIDIA_REPOSITORY="${NVIDIA_REPOSITORY:-https://nvidia.github.io/libnvidia-container}"
# NVIDIA's libnvidia-container signing key, the one https://nvidia.github.io/libnvidia-container/gpgkey
# serves (the fingerprint other installers of the toolkit pin too: Puppet's apt::key for
# nvidia-docker, shell installers checking `gpg --show-keys`); a re-signing mirror's key is
# cluster.nvidiaRepositoryMirrorKeyFingerprint.
NVIDIA_KEY_FINGERPRINT="${NVIDIA_KEY_FINGERPRINT:-C95B321B61E88C1809C4F759DDCAE044F796ECB0}"
require_plain_url "$NVIDIA_REPOSITORY" cluster.nvidiaRepositoryMirror
require_fingerprint "$NVIDIA_KEY_FINGERPRINT" cluster.nvidiaRepositoryMirrorKeyFingerprint

apt_install ca-certificates gpg
keyring=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
signing_key "${NVIDIA_REPOSITORY%/}/gpgkey" "$keyring" "$NVIDIA_KEY_FINGERPRINT" "openpai:cluster.nvidiaRepositoryMirrorKeyFingerprint"
source_line="deb [signed-by=$keyring] ${NVIDIA_REPOSITORY%/}/stable/deb/\$(ARCH) /"
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
