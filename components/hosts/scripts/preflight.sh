#!/usr/bin/env bash
# Read-only checks from OpenPAI's requirement.sh and kubespray's, against the layout's SKU.
# Prints one JSON line of facts last; in apply mode it then fails if any requirement is unmet,
# after naming every one of them. On a host that is already a node it skips what provisioning
# itself changes (ports in use by the node's own services), so day-2 runs pass.
set -euo pipefail
: "${EXPECTED_HOSTNAME:?}" "${SKU_MEM_MB:?}" "${SKU_VCORE:?}" "${GPU_COUNT:?}" "${ROLE:?}"
REGISTRY_MIRRORS="${REGISTRY_MIRRORS:-}"
# How a GPU worker gets its driver (cluster.nvidiaDriver); empty on hosts without GPUs.
NVIDIA_DRIVER="${NVIDIA_DRIVER:-}"
POD_NETWORK_OVERLAY="${POD_NETWORK_OVERLAY:-subnet}"
POD_NETWORK_ENCAPSULATION="${POD_NETWORK_ENCAPSULATION:-ipip}"

problems=()
warn() { log "warning: $*"; }
os="$(distribution)"
host="$(hostname)"
cgroup="$(stat -fc %T /sys/fs/cgroup 2>/dev/null || echo unknown)"
mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
vcpus="$(nproc)"
swap_devices=$(($(wc -l </proc/swaps) - 1))
provisioned=false
[[ -f /etc/kubernetes/kubelet.conf ]] && provisioned=true
secure_boot="unknown"
command -v mokutil >/dev/null 2>&1 && secure_boot="$(mokutil --sb-state 2>/dev/null | grep -q enabled && echo enabled || echo disabled)"
nouveau="$(grep -q '^nouveau ' /proc/modules 2>/dev/null && echo loaded || echo absent)"
# NVIDIA display (0300) and 3D (0302) controllers only: not their audio functions or NVSwitches.
gpus_pci="$(pci_count 0x10de 0x0300 0x0302)"
gpus_smi=0
command -v nvidia-smi >/dev/null 2>&1 && gpus_smi="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
ntp="unknown"
command -v timedatectl >/dev/null 2>&1 && ntp="$(timedatectl show -p NTPSynchronized --value 2>/dev/null || echo unknown)"
busy_ports=()
if [[ "$provisioned" == false ]]; then
  for port in 6443 10250 10257 10259 2379 2380; do
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then busy_ports+=("$port"); fi
  done
fi
reachable=()
unreachable=()
# One word per mirror, never a glob ([::1] is one) or code: the address goes to bash -c as arguments.
read -ra targets <<<"${REGISTRY_MIRRORS:-https://registry.k8s.io https://registry-1.docker.io}"
for target in "${targets[@]}"; do
  hostport="${target#*://}"
  hostport="${hostport%%/*}"
  port=443
  [[ "$target" == http://* ]] && port=80
  if [[ "$hostport" =~ ^\[([0-9A-Fa-f:.]+)\](:([0-9]+))?$ || "$hostport" =~ ^([^:]+)(:([0-9]+))?$ ]]; then
    address="${BASH_REMATCH[1]}"
    port="${BASH_REMATCH[3]:-$port}"
  else
    address="$hostport"
  fi
  # shellcheck disable=SC2016 # $1 and $2 expand in that bash, from its arguments
  if timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' check-registry "$address" "$port" 2>/dev/null; then reachable+=("$target"); else unreachable+=("$target"); fi
done
# An active host firewall (read-only): what would drop the cluster's traffic between nodes unless
# its rules let it through. The rules themselves are not judged: a firewall opened for the cluster
# is a valid setup, so this is a warning that names what must pass, not a refusal.
firewalls=()
if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q '^Status: active'; then firewalls+=("ufw is active"); fi
if command -v firewall-cmd >/dev/null 2>&1 && [[ "$(firewall-cmd --state 2>/dev/null || true)" == running ]]; then firewalls+=("firewalld is running"); fi
iptables_input="$(iptables -S INPUT 2>/dev/null || true)"
if grep -qE '^-P INPUT DROP$|^-A INPUT -j (DROP|REJECT)( --reject-with [a-z0-9-]+)?$' <<<"$iptables_input"; then
  firewalls+=("iptables' INPUT chain drops or rejects by default")
fi
# nftables chains on the input hook with policy drop (iptables-nft's own INPUT chain is named above).
if command -v nft >/dev/null 2>&1; then
  while read -r chain; do
    [[ -n "$chain" && ! ("$chain" =~ ^ip6?\ filter\ INPUT$ && -n "$iptables_input") ]] || continue
    firewalls+=("nftables chain '$chain' drops by default")
  done < <(nft list chains 2>/dev/null | awk '$1 == "table" { table = $2 " " $3 } $1 == "chain" { chain = $2 } /hook input/ && /policy drop/ { print table " " chain }')
fi
# What the cluster needs through it, on this host.
case "$POD_NETWORK_OVERLAY/$POD_NETWORK_ENCAPSULATION" in
  none/*) tunnel="" ;;
  */fou) tunnel=", UDP 5555 (kube-router's IP-in-IP in UDP, cluster.podNetworkEncapsulation: fou)" ;;
  full/*) tunnel=", IP protocol 4 (IP-in-IP, cluster.podNetworkOverlay: full)" ;;
  *) tunnel=", IP protocol 4 (IP-in-IP between nodes of different subnets)" ;;
esac
needed="from the other nodes: TCP 10250 (kubelet), TCP 179 (kube-router's BGP)$tunnel; the pod network's traffic (cluster.podCidr) forwarded"
[[ "$ROLE" == master ]] && needed="$needed; TCP 6443 (the API server) from every node, the machine running Pulumi and kubectl's users; TCP 80 and 443 (the portal) from its users"
if ((${#firewalls[@]} > 0)); then
  printf -v found '%s; ' "${firewalls[@]}"
  warn "a host firewall may block the cluster (${found%; }): it must let through, $needed. Open them to the cluster's addresses, or turn the firewall off (docs/networks.md)"
fi

case "$os" in
  "ubuntu 22.04" | "ubuntu 24.04" | "debian 12") ;;
  *) problems+=("OS is '$os': Ubuntu 22.04 or 24.04 (or Debian 12) is supported") ;;
esac
[[ "$host" == "$EXPECTED_HOSTNAME" ]] || problems+=("hostname is '$host' but the layout says '$EXPECTED_HOSTNAME' (it is the Kubernetes node name)")
[[ "$host" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || problems+=("hostname '$host' is not lowercase RFC 1123")
[[ "$cgroup" == cgroup2fs ]] || warn "cgroup v1 ($cgroup on /sys/fs/cgroup): kubelet v1.34 still runs on it, v1.35 refuses it by default; boot with cgroup v2"
# The HiveD cells assume every worker reports at least 97% of its layout memory as MemTotal
# (config/sizing.ts memTotalPercent); a host reporting less would refuse whole-node jobs.
((mem_mb >= SKU_MEM_MB * 97 / 100)) || problems+=("MemTotal is ${mem_mb} MiB, under 97% of the layout SKU's ${SKU_MEM_MB} MiB that the HiveD cells assume: declare mem as at most $((mem_mb * 100 / 97))Mi")
((vcpus >= SKU_VCORE)) || problems+=("$vcpus vCPUs, the layout SKU says $SKU_VCORE")
((${#busy_ports[@]} == 0)) || problems+=("ports in use: ${busy_ports[*]} (another Kubernetes or etcd on this host?)")
case "$ROLE" in
  master) ((mem_mb >= 40000)) || warn "OpenPAI asks for 40000 MB on the master, this host has $mem_mb MB" ;;
  worker) ((mem_mb >= 16000)) || warn "OpenPAI asks for 16000 MB on a worker, this host has $mem_mb MB" ;;
esac
if ((GPU_COUNT > 0)); then
  ((gpus_pci >= GPU_COUNT || gpus_smi >= GPU_COUNT)) || problems+=("the PCI bus shows $gpus_pci NVIDIA GPUs, nvidia-smi $gpus_smi; the layout says $GPU_COUNT")
  [[ "$secure_boot" != enabled ]] || warn "Secure Boot is on: the driver step installs Ubuntu's signed modules; unsigned DKMS builds would not load"
  [[ "$NVIDIA_DRIVER" != install || "$os" == ubuntu\ * ]] \
    || problems+=("cluster.nvidiaDriver is 'install' but this host runs '$os': only Ubuntu's archive has the signed server driver packages the driver step installs; install the driver yourself and set openpai:cluster.nvidiaDriver to 'verify'")
fi
((swap_devices == 0)) || log "swap is on: the kernel step turns it off"
[[ "$ntp" != no ]] || warn "the clock is not NTP-synchronized: certificates and job times need NTP (install chrony)"
((${#unreachable[@]} == 0)) || warn "registry not reachable: ${unreachable[*]} (set cluster.registryMirrors for hosts without internet)"

for p in "${problems[@]}"; do
  if check_only; then log "would fail: $p"; else log "error: $p" >&2; fi
done
printf '{"hostname":"%s","role":"%s","os":"%s","cgroup":"%s","memMb":%d,"vcpus":%d,"swapDevices":%d,"secureBoot":"%s","nouveau":"%s","gpusPci":%d,"gpusNvidiaSmi":%d,"ntpSynchronized":"%s","provisioned":%s,"busyPorts":"%s","reachableRegistries":"%s","hostFirewalls":%d,"problems":%d}\n' \
  "$host" "$ROLE" "$os" "$cgroup" "$mem_mb" "$vcpus" "$swap_devices" "$secure_boot" "$nouveau" "$gpus_pci" "$gpus_smi" "$ntp" \
  "$provisioned" "${busy_ports[*]:-}" "${reachable[*]:-}" "${#firewalls[@]}" "${#problems[@]}"
if ((${#problems[@]} > 0)) && ! check_only; then
  exit 1
fi
