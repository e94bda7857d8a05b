#!/usr/bin/env bash
# After a driver install: succeeds once the host runs a new boot (the SSH provider keeps
# redialing while it reboots), then checks that nvidia-smi sees the GPUs.
set -euo pipefail
: "${REBOOTED:?}" "${PREVIOUS_BOOT_ID:?}" "${GPU_COUNT:?}"

current="$(cat /proc/sys/kernel/random/boot_id)"
if [[ "$REBOOTED" == true && "$current" == "$PREVIOUS_BOOT_ID" ]]; then
  fail "still on boot $current after the driver install: the reboot did not happen"
fi
seen=0
command -v nvidia-smi >/dev/null 2>&1 && seen="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
((seen >= GPU_COUNT)) || fail "nvidia-smi sees $seen GPUs, the layout says $GPU_COUNT"
log "boot $current, $seen GPUs visible"
