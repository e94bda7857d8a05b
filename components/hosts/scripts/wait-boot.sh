#!/usr/bin/env bash
# After the reboot step: the reboot step recorded its boot and closed SSH to new sessions until
# the reboot, so the first session that gets in is the new boot's. Checks that the boot changed and
# that nvidia-smi sees the layout's GPUs (GPU_COUNT; 0 on a CPU worker).
set -euo pipefail
: "${GPU_COUNT:?}"

marker="${OPENPAI_STATE_DIR:-/var/lib/openpai}/reboot-from-boot"
current="$(boot_identity)"
if [[ -f "$marker" ]]; then
  if [[ "$(cat "$marker")" == "$current" ]]; then
    fail "still on boot $current, in which a reboot was scheduled: the reboot did not happen; reboot the host and run pulumi up again"
  fi
  run rm -f "$marker"
  check_only || changed "rebooted (now boot $current)"
fi
((GPU_COUNT == 0)) && exit 0
seen=0
command -v nvidia-smi >/dev/null 2>&1 && seen="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
((seen >= GPU_COUNT)) || fail "nvidia-smi sees $seen GPUs, the layout says $GPU_COUNT"
log "boot $current, $seen GPUs visible"
