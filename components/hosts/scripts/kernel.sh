#!/usr/bin/env bash
# Kernel prerequisites of Kubernetes: overlay and br_netfilter, forwarding sysctls, inotify
# limits for many pods, no swap, and the NFS client the kubelet mounts NFS volumes with (OpenPAI's
# team storage: openpai:storage). Settings persist in /etc and are applied now.
set -euo pipefail

# mount.nfs for the kubelet's NFS volumes (OpenPAI v1.8's storage guide: nfs-common on every worker).
apt_install nfs-common

printf 'overlay\nbr_netfilter\n' | write_file /etc/modules-load.d/kubernetes.conf 0644 || true
for module in overlay br_netfilter; do
  if [[ ! -d "/sys/module/$module" ]]; then
    run modprobe "$module"
    check_only || changed "loaded $module"
  fi
done

# key value required: kubelet and the CNI need the first three; the inotify limits are kubespray's
# (many pods watching files); a host that may not set them (a container) keeps the machine's.
sysctls=(
  "net.bridge.bridge-nf-call-iptables 1 required"
  "net.bridge.bridge-nf-call-ip6tables 1 required"
  "net.ipv4.ip_forward 1 required"
  "fs.inotify.max_user_instances 8192 optional"
  "fs.inotify.max_user_watches 524288 optional"
)
conf=""
for entry in "${sysctls[@]}"; do
  read -r key value _ <<<"$entry"
  conf+="$key = $value"$'\n'
done
printf '%s' "$conf" | write_file /etc/sysctl.d/99-kubernetes.conf 0644 || true
for entry in "${sysctls[@]}"; do
  read -r key value need <<<"$entry"
  current="$(sysctl -n "$key" 2>/dev/null || echo unset)"
  if [[ "$current" == "$value" ]]; then
    continue
  elif [[ "$need" == optional && "$current" =~ ^[0-9]+$ ]] && ((current >= value)); then
    continue
  elif run sysctl -q -w "$key=$value" 2>/dev/null; then
    check_only || changed "$key = $value (was $current)"
  elif [[ "$need" == required ]]; then
    fail "cannot set $key to $value (it is $current)"
  else
    log "warning: $key is $current and cannot be set here (wanted $value)"
  fi
done

if (($(wc -l </proc/swaps) > 1)); then
  run swapoff -a
  check_only || changed "swap turned off"
fi
if grep -Eq '^[^#].*\sswap\s' /etc/fstab 2>/dev/null; then
  run sed -i -E 's|^([^#].*\sswap\s.*)$|# disabled for Kubernetes: \1|' /etc/fstab
  check_only || changed "swap removed from /etc/fstab"
fi
log "kernel prerequisites in place"
