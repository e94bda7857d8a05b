#!/usr/bin/env bash
# Makes the host ready for package operations: cloud-init done, no apt/dpkg lock held, and the
# lab's apt settings (proxy, hosts reached directly, lock timeout) in place.
set -euo pipefail
APT_PROXY="${APT_PROXY:-}"
APT_DIRECT_HOSTS="${APT_DIRECT_HOSTS:-}"

if command -v cloud-init >/dev/null 2>&1; then
  log "waiting for cloud-init"
  cloud-init status --wait >/dev/null 2>&1 || true
fi
# Held locks mean cloud-init or unattended-upgrades is installing: wait for it (10 minutes).
for lock in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock; do
  tries=120
  while command -v fuser >/dev/null 2>&1 && fuser "$lock" >/dev/null 2>&1; do
    tries=$((tries - 1))
    ((tries > 0)) || fail "$lock is still held after 10 minutes"
    sleep 5
  done
done

settings="// Written by openpai-pulumi (cluster.aptProxy, cluster.aptMirror): do not edit.
DPkg::Lock::Timeout \"600\";"
if [[ -n "$APT_PROXY" ]]; then
  settings+="
Acquire::http::Proxy \"$APT_PROXY\";
Acquire::https::Proxy \"$APT_PROXY\";"
  for host in $APT_DIRECT_HOSTS; do
    settings+="
Acquire::http::Proxy::${host%%:*} \"DIRECT\";
Acquire::https::Proxy::${host%%:*} \"DIRECT\";"
  done
fi
printf '%s\n' "$settings" | write_file /etc/apt/apt.conf.d/90openpai 0644 || true
log "ready: boot id $(cat /proc/sys/kernel/random/boot_id), apt proxy ${APT_PROXY:-none}"
