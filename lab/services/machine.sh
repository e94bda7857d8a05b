#!/usr/bin/env bash
# What the machine itself needs before the lab runs: the private bridge the hosts sit on, a
# firewall table that keeps the hosts on that bridge, the sysctls kubelet insists on (it cannot
# set them from inside a host, where /proc/sys is read-only) and shared mount propagation.
# Every change is recorded under $lab_state/machine so `lab.sh down` puts the machine back.
# Source it after lib/common.sh.
# shellcheck disable=SC2154 # lab_state comes from common.sh

# The lab network contract (lab/README.md): hosts at 10.78.0.10 and up.
lab_bridge=opailab0
lab_bridge_address=10.78.0.1
lab_bridge_prefix=24
lab_nft_table=openpai_lab
# kubelet refuses to start when these differ from what it wants and it cannot write them.
# fs.inotify.max_user_instances: kernel-wide (the kernel step's 8192 cannot be set from a host),
# and all hosts' root shares it: about 17 per Kubernetes host (kubelet 7, systemd 5, ...), so the
# default 128 runs out near 7 nodes and kubelets on the later ones fail to start.
lab_kubelet_sysctls=(vm.overcommit_memory=1 kernel.panic=10 kernel.panic_on_oops=1 fs.inotify.max_user_instances=8192)
# kubelet wants these too; they are the kernel defaults, so the lab only checks them.
lab_kubelet_sysctls_checked=(vm.panic_on_oom=0 kernel.keys.root_maxkeys=1000000 kernel.keys.root_maxbytes=25000000)

lab_machine_dir() { echo "$lab_state/machine"; }

lab_bridge_up() {
  if ! ip link show "$lab_bridge" >/dev/null 2>&1; then
    ip link add "$lab_bridge" type bridge
    lab_changed "created bridge $lab_bridge"
  fi
  if ! ip -4 addr show dev "$lab_bridge" | grep -q "inet $lab_bridge_address/$lab_bridge_prefix"; then
    ip addr add "$lab_bridge_address/$lab_bridge_prefix" dev "$lab_bridge"
    lab_changed "address $lab_bridge_address/$lab_bridge_prefix on $lab_bridge"
  fi
  if ! ip link show "$lab_bridge" | grep -q '[<,]UP[,>]'; then
    ip link set "$lab_bridge" up
    lab_changed "$lab_bridge up"
  fi
}

# A lab behind a firewall: nothing is routed between the bridge and the outside (the machine
# does no NAT for it either), and from the bridge only the lab's own address answers. Kept in a
# table of its own so the machine's other rules are untouched and `down` removes it whole.
lab_firewall_up() {
  if nft list table inet "$lab_nft_table" >/dev/null 2>&1; then
    return
  fi
  nft -f - <<RULES
table inet $lab_nft_table {
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "$lab_bridge" oifname != "$lab_bridge" drop
    oifname "$lab_bridge" iifname != "$lab_bridge" drop
  }
  chain input {
    type filter hook input priority -10; policy accept;
    iifname "$lab_bridge" ip daddr != { $lab_bridge_address, 255.255.255.255 } drop
  }
}
RULES
  lab_changed "firewall table inet $lab_nft_table: the bridge reaches only $lab_bridge_address"
}

lab_sysctls_up() {
  local saved dir setting key want have
  dir="$(lab_machine_dir)"
  saved="$dir/sysctl.saved"
  mkdir -p "$dir"
  for setting in "${lab_kubelet_sysctls[@]}"; do
    key="${setting%%=*}"
    want="${setting#*=}"
    have="$(sysctl -n "$key")"
    [[ "$have" == "$want" ]] && continue
    # Only the first change of a key is saved: that is the machine's own value.
    grep -q "^$key=" "$saved" 2>/dev/null || echo "$key=$have" >>"$saved"
    sysctl -q -w "$key=$want"
    lab_changed "sysctl $key=$want (was $have; restored by down)"
  done
  for setting in "${lab_kubelet_sysctls_checked[@]}"; do
    key="${setting%%=*}"
    have="$(sysctl -n "$key" 2>/dev/null || echo missing)"
    [[ "$have" == "${setting#*=}" ]] || lab_log "warning: $key is $have, kubelet inside the hosts wants ${setting#*=}"
  done
}

# kubelet's Bidirectional mounts need shared propagation; a machine whose / is private (a
# container, this kind of VM) gets it for the lab's lifetime.
lab_propagation_up() {
  local dir
  dir="$(lab_machine_dir)"
  if [[ "$(findmnt -no PROPAGATION /)" == private ]]; then
    mkdir -p "$dir"
    echo private >"$dir/propagation.saved"
    mount --make-rshared /
    lab_changed "mount --make-rshared / (was private; restored by down)"
  fi
}

lab_machine_up() {
  command -v nft >/dev/null || lab_die "nft is missing: apt-get install nftables"
  lab_bridge_up
  lab_firewall_up
  lab_sysctls_up
  lab_propagation_up
}

lab_machine_down() {
  local dir line
  dir="$(lab_machine_dir)"
  if ip link show "$lab_bridge" >/dev/null 2>&1; then
    ip link del "$lab_bridge"
    lab_changed "deleted bridge $lab_bridge"
  fi
  if nft list table inet "$lab_nft_table" >/dev/null 2>&1; then
    nft delete table inet "$lab_nft_table"
    lab_changed "deleted firewall table inet $lab_nft_table"
  fi
  if [[ -f "$dir/sysctl.saved" ]]; then
    while IFS= read -r line; do
      [[ -n "$line" ]] || continue
      sysctl -q -w "$line"
      lab_changed "sysctl $line restored"
    done <"$dir/sysctl.saved"
    rm -f "$dir/sysctl.saved"
  fi
  if [[ -f "$dir/propagation.saved" ]]; then
    mount --make-rprivate /
    rm -f "$dir/propagation.saved"
    lab_changed "mount --make-rprivate / restored"
  fi
}

lab_machine_status() {
  local state=absent
  ip link show "$lab_bridge" >/dev/null 2>&1 && state="$lab_bridge_address/$lab_bridge_prefix"
  printf '%-12s %s\n' bridge "$lab_bridge $state"
}
