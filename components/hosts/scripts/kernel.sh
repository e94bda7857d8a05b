#!/usr/bin/env bash
# Kernel prerequisites of Kubernetes: overlay and br_netfilter, forwarding sysctls, no swap.
set -euo pipefail

if printf 'overlay\nbr_netfilter\n' | write_file /etc/modules-load.d/kubernetes.conf 0644; then
  run modprobe overlay
  run modprobe br_netfilter
fi
if printf 'net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n' \
  | write_file /etc/sysctl.d/99-kubernetes.conf 0644; then
  run sysctl --system
fi
if (($(wc -l </proc/swaps) > 1)); then
  run swapoff -a
  check_only || changed "swap turned off"
fi
if grep -Eq '^[^#].*\sswap\s' /etc/fstab 2>/dev/null; then
  run sed -i -E 's|^([^#].*\sswap\s.*)$|# disabled for Kubernetes: \1|' /etc/fstab
  check_only || changed "swap removed from /etc/fstab"
fi
log "kernel prerequisites in place"
