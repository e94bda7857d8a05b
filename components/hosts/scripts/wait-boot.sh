#!/usr/bin/env bash
# After a driver install: the driver step closed SSH to new sessions until its reboot, so this
# step's connection (with a long dial budget) reaches the new boot; it checks the boot changed
# and that nvidia-smi sees the GPUs.
set -euo pipefail
: "${REBOOTED:?}" "${PREVIOUS_BOOT_ID:?}" "${GPU_COUNT:?}"

current="$(cat /proc/sys/kernel/random/boot_id)"
if [[ "$REBOOTED" == true && "$current" == "$PREVIOUS_BOOT_ID" ]]; then
  fail "still on boot $current after the driver install: the reboot did not happen; reboot the host and run pulumi up again"
fi
seen=0
command -v nvidia-smi >/dev/null 2>&1 && seen="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
((seen >= GPU_COUNT)) || fail "nvidia-smi sees $seen GPUs, the layout says $GPU_COUNT"
log "boot $current, $seen GPUs visible"
