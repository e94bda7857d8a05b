#!/usr/bin/env bash
# First step after a driver install: the driver step recorded its boot and closed SSH to new
# sessions until its reboot, so this resource's connection (with a long dial budget) reaches the
# new boot. It checks that the boot changed and that nvidia-smi sees the GPUs.
set -euo pipefail
: "${GPU_COUNT:?}"

marker=/var/lib/openpai/reboot-from-boot
current="$(cat /proc/sys/kernel/random/boot_id)"
if [[ -f "$marker" ]]; then
  if [[ "$(cat "$marker")" == "$current" ]]; then
    fail "still on boot $current after the driver install: the reboot did not happen; reboot the host and run pulumi up again"
  fi
  run rm -f "$marker"
  log "rebooted after the driver install"
fi
seen=0
command -v nvidia-smi >/dev/null 2>&1 && seen="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
((seen >= GPU_COUNT)) || fail "nvidia-smi sees $seen GPUs, the layout says $GPU_COUNT"
log "boot $current, $seen GPUs visible"
