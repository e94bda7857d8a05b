#!/usr/bin/env bash
# Waits until the host is ready for package operations: cloud-init done, no apt/dpkg lock held.
set -euo pipefail

if command -v cloud-init >/dev/null 2>&1; then
  log "waiting for cloud-init"
  cloud-init status --wait >/dev/null 2>&1 || true
fi
for lock in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock; do
  tries=120
  while command -v fuser >/dev/null 2>&1 && fuser "$lock" >/dev/null 2>&1; do
    tries=$((tries - 1))
    ((tries > 0)) || fail "$lock is still held after 10 minutes"
    sleep 5
  done
done
log "ready: boot id $(cat /proc/sys/kernel/random/boot_id)"
