#!/usr/bin/env bash
# NVIDIA driver on a GPU worker: skipped when the configured branch is loaded; nouveau
# blacklisted; prints reboot=true when the new driver needs a reboot (the next step waits).
set -euo pipefail
: "${DRIVER_BRANCH:?}"
# The boot this step ran in: wait-boot compares against it after a reboot.
echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"

loaded="$(cat /sys/module/nvidia/version 2>/dev/null || true)"
if [[ "$loaded" == "$DRIVER_BRANCH".* ]]; then
  log "driver $loaded loaded: nothing to do"
  echo "reboot=false"
  exit 0
fi
printf 'blacklist nouveau\noptions nouveau modeset=0\n' | write_file /etc/modprobe.d/blacklist-nouveau.conf 0644 \
  && run update-initramfs -u
run apt-get update -q
apt_install "nvidia-driver-${DRIVER_BRANCH}-server" "nvidia-utils-${DRIVER_BRANCH}-server"
if check_only; then
  log "found driver '${loaded:-none}'; would install branch $DRIVER_BRANCH and reboot"
  echo "reboot=false"
else
  log "driver branch $DRIVER_BRANCH installed (was '${loaded:-none}'): rebooting"
  echo "reboot=true"
  # Reboot after this session returns its output; wait-boot waits for the new boot id.
  nohup sh -c 'sleep 3; systemctl reboot' >/dev/null 2>&1 &
fi
