#!/usr/bin/env bash
# Read-only checks from OpenPAI's requirement.sh and kubespray's, against the layout's SKU.
# Prints one JSON line of facts last; in apply mode it then fails if any requirement is unmet,
# after naming every one of them.
set -euo pipefail
: "${EXPECTED_HOSTNAME:?}" "${SKU_MEM_MB:?}" "${SKU_VCORE:?}" "${GPU_COUNT:?}" "${ROLE:?}"

problems=()
os="$(. /etc/os-release 2>/dev/null && echo "${ID:-unknown} ${VERSION_ID:-}")"
host="$(hostname)"
cgroup="$(stat -fc %T /sys/fs/cgroup 2>/dev/null || echo unknown)"
mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
vcpus="$(nproc)"
swap_devices=$(( $(wc -l </proc/swaps) - 1 ))
secure_boot="unknown"
command -v mokutil >/dev/null 2>&1 && secure_boot="$(mokutil --sb-state 2>/dev/null | grep -q enabled && echo enabled || echo disabled)"
nouveau="$(grep -q '^nouveau ' /proc/modules 2>/dev/null && echo loaded || echo absent)"
gpus_lspci=0
command -v lspci >/dev/null 2>&1 && gpus_lspci="$(lspci 2>/dev/null | grep -ci 'nvidia' || true)"
gpus_smi=0
command -v nvidia-smi >/dev/null 2>&1 && gpus_smi="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
ntp="unknown"
command -v timedatectl >/dev/null 2>&1 && ntp="$(timedatectl show -p NTPSynchronized --value 2>/dev/null || echo unknown)"
busy_ports=()
for port in 6443 10250 10257 10259 2379 2380; do
  if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then busy_ports+=("$port"); fi
done
registries=()
for registry in registry.k8s.io registry-1.docker.io nvcr.io; do
  if timeout 5 bash -c "exec 3<>/dev/tcp/$registry/443" 2>/dev/null; then registries+=("$registry"); fi
done

[[ "$os" == ubuntu* ]] || problems+=("OS is '$os': Ubuntu 22.04 or 24.04 is supported")
[[ "$host" == "$EXPECTED_HOSTNAME" ]] || problems+=("hostname is '$host' but the layout says '$EXPECTED_HOSTNAME' (it is the Kubernetes node name)")
[[ "$host" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || problems+=("hostname '$host' is not lowercase RFC 1123")
[[ "$cgroup" == cgroup2fs ]] || problems+=("cgroup v2 is not mounted on /sys/fs/cgroup (found $cgroup)")
((mem_mb >= SKU_MEM_MB * 95 / 100)) || problems+=("RAM is ${mem_mb} MB, the layout SKU says ${SKU_MEM_MB} MB")
((vcpus >= SKU_VCORE)) || problems+=("$vcpus vCPUs, the layout SKU says $SKU_VCORE")
((${#busy_ports[@]} == 0)) || problems+=("ports in use: ${busy_ports[*]}")
if ((GPU_COUNT > 0)); then
  ((gpus_lspci >= GPU_COUNT || gpus_smi >= GPU_COUNT)) || problems+=("lspci sees $gpus_lspci NVIDIA devices, nvidia-smi $gpus_smi; the layout says $GPU_COUNT")
  [[ "$secure_boot" != enabled ]] || problems+=("Secure Boot is on: the NVIDIA driver modules will not load unsigned")
fi
((swap_devices == 0)) || log "swap is on: the kernel step turns it off"
[[ "$ntp" != no ]] || log "warning: the clock is not NTP-synchronized"
((${#registries[@]} > 0)) || log "warning: no default registry reachable: set cluster.registryMirrors"

for p in "${problems[@]}"; do
  if check_only; then log "would fail: $p"; else log "error: $p" >&2; fi
done
printf '{"hostname":"%s","role":"%s","os":"%s","cgroup":"%s","memMb":%d,"vcpus":%d,"swapDevices":%d,"secureBoot":"%s","nouveau":"%s","gpusLspci":%d,"gpusNvidiaSmi":%d,"ntpSynchronized":"%s","busyPorts":"%s","reachableRegistries":"%s","problems":%d}\n' \
  "$host" "$ROLE" "$os" "$cgroup" "$mem_mb" "$vcpus" "$swap_devices" "$secure_boot" "$nouveau" "$gpus_lspci" "$gpus_smi" "$ntp" \
  "${busy_ports[*]:-}" "${registries[*]:-}" "${#problems[@]}"
if ((${#problems[@]} > 0)) && ! check_only; then
  exit 1
fi
