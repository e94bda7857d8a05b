#!/usr/bin/env bash
# The lab's machines: Debian 12 systemd hosts booted with systemd-nspawn on the lab bridge, each
# with its own name, address, sshd, disk and cgroup, reached as `ubuntu` with the lab's key.
# Per host, in $lab_state/hosts/NAME: an overlay on the shared rootfs (upper = the host's disk,
# kept by `host stop`), plain directories for /var/lib/containerd and /var/lib/kubelet (the
# overlayfs snapshotter cannot run on an overlay root; kubelet wants a real filesystem for its
# stats), the console log and the pid of the shell running systemd-nspawn. Source it after lib/common.sh,
# lib/rootfs.sh, services/machine.sh, services/services.sh and hosts/provision.sh.
# shellcheck disable=SC2154 # lab_state comes from common.sh; lab_bridge* from services/machine.sh

# Like a minimal cloud image. No containerd and no Kubernetes: the project installs those.
lab_host_packages=(systemd systemd-sysv dbus openssh-server sudo iproute2 iputils-ping ca-certificates
  procps curl gnupg kmod iptables less openssl psmisc netbase)
lab_cgroup_parent=openpai-lab

lab_host_dir() { echo "$lab_state/hosts/$1"; }
lab_key_path() { echo "$lab_state/ssh/id_ed25519"; }

# The lab's SSH key, made once per state directory.
lab_key() {
  local key
  key="$(lab_key_path)"
  if [[ ! -f "$key" ]]; then
    mkdir -p "$(dirname "$key")"
    chmod 0700 "$(dirname "$key")"
    ssh-keygen -q -t ed25519 -N '' -C openpai-lab -f "$key"
    lab_changed "generated the lab's SSH key $key"
  fi
  echo "$key"
}

lab_host_names() {
  local dir
  for dir in "$lab_state"/hosts/*/; do
    [[ -f "$dir/address" ]] && basename "$dir"
  done
  return 0
}

lab_host_address() { cat "$(lab_host_dir "$1")/address" 2>/dev/null; }

# lab_host_pid NAME: the pid of the shell that runs the host's systemd-nspawn (lab_host_boot) when
# the host runs.
lab_host_pid() {
  local file pid
  file="$(lab_host_dir "$1")/pid"
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  lab_pid_alive "$pid" && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qx -- "--machine=$1" || return 1
  echo "$pid"
}

# Every cgroup hierarchy of the machine (v1 controllers, the named systemd one, v2).
lab_cgroup_mounts() { findmnt -rn -t cgroup,cgroup2 -o TARGET; }

# A cgroup of its own per host in every hierarchy, entered before systemd-nspawn starts: nspawn
# makes none on a machine whose init is not systemd, and two hosts sharing one would have their
# systemd and containerd create the same cgroups (each host's cgroup namespace starts there).
lab_host_cgroups_make() {
  local name="$1" mount dir controllers
  for mount in $(lab_cgroup_mounts); do
    dir="$mount/$lab_cgroup_parent/$name"
    mkdir -p "$dir"
    if [[ -f "$mount/cpuset.cpus" ]]; then
      # cpuset v1 cgroups start empty and accept no process until given cpus and memory nodes.
      [[ -n "$(cat "$mount/$lab_cgroup_parent/cpuset.cpus")" ]] || cat "$mount/cpuset.cpus" >"$mount/$lab_cgroup_parent/cpuset.cpus"
      [[ -n "$(cat "$mount/$lab_cgroup_parent/cpuset.mems")" ]] || cat "$mount/cpuset.mems" >"$mount/$lab_cgroup_parent/cpuset.mems"
      [[ -n "$(cat "$dir/cpuset.cpus")" ]] || cat "$mount/cpuset.cpus" >"$dir/cpuset.cpus"
      [[ -n "$(cat "$dir/cpuset.mems")" ]] || cat "$mount/cpuset.mems" >"$dir/cpuset.mems"
    fi
    if [[ -f "$mount/cgroup.subtree_control" && -n "$(cat "$mount/cgroup.controllers")" ]]; then
      # cgroup v2 with controllers (not tried on this machine, whose v2 tree has none): hand
      # them down to the host, whose systemd delegates them further.
      controllers="$(sed 's/\([^ ]*\)/+\1/g' "$mount/cgroup.controllers")"
      echo "$controllers" >"$mount/cgroup.subtree_control" || true
      echo "$controllers" >"$mount/$lab_cgroup_parent/cgroup.subtree_control" || true
    fi
  done
}

lab_host_cgroup_pids() {
  local name="$1" mount dir
  for mount in $(lab_cgroup_mounts); do
    dir="$mount/$lab_cgroup_parent/$name"
    [[ -d "$dir" ]] && find "$dir" -name cgroup.procs -exec cat {} +
  done | sort -un
}

# lab_host_thaw NAME: thaws every frozen cgroup of the host. runc freezes a container's cgroup
# while it sets it up: a process in a frozen cgroup cannot die, not even of SIGKILL.
lab_host_thaw() {
  local name="$1" mount
  for mount in $(lab_cgroup_mounts); do
    [[ -d "$mount/$lab_cgroup_parent/$name" ]] || continue
    while read -r file; do
      if [[ "$file" == */freezer.state ]] && grep -q FROZEN "$file" 2>/dev/null; then
        echo THAWED >"$file" 2>/dev/null || true
      elif [[ "$file" == */cgroup.freeze ]] && grep -q 1 "$file" 2>/dev/null; then
        echo 0 >"$file" 2>/dev/null || true
      fi
    done < <(find "$mount/$lab_cgroup_parent/$name" \( -name freezer.state -o -name cgroup.freeze \) 2>/dev/null)
  done
}

# Pulls the plug: every process of the host dies at once (systemd, sshd, containerd, the
# containers inside), with no shutdown, as when a machine loses power.
lab_host_kill() {
  local name="$1" mount pids tries=300
  for mount in $(lab_cgroup_mounts); do
    [[ -f "$mount/$lab_cgroup_parent/$name/cgroup.kill" ]] && echo 1 >"$mount/$lab_cgroup_parent/$name/cgroup.kill"
  done
  while pids="$(lab_host_cgroup_pids "$name")" && [[ -n "$pids" ]]; do
    # shellcheck disable=SC2086 # one argument per pid
    kill -KILL $pids 2>/dev/null || true
    lab_host_thaw "$name"
    tries=$((tries - 1))
    ((tries > 0)) || lab_die "processes of $name survive SIGKILL for 30 s: $pids"
    sleep 0.1
  done
}

lab_host_cgroups_remove() {
  local name="$1" mount dir tries
  for mount in $(lab_cgroup_mounts); do
    dir="$mount/$lab_cgroup_parent/$name"
    tries=50
    # The kernel frees a cgroup a moment after its last process dies.
    while [[ -d "$dir" ]]; do
      find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d "$dir" ]] || break
      tries=$((tries - 1))
      ((tries > 0)) || lab_die "cannot remove cgroup $dir"
      sleep 0.1
    done
    rmdir "$mount/$lab_cgroup_parent" 2>/dev/null || true
  done
}

lab_host_unmount() {
  local merged
  merged="$(lab_host_dir "$1")/merged"
  if mountpoint -q "$merged"; then
    umount "$merged" 2>/dev/null || { sleep 1; umount "$merged"; }
  fi
}

lab_host_mount() {
  local name="$1" rootfs="$2" dir
  dir="$(lab_host_dir "$name")"
  mountpoint -q "$dir/merged" && return
  mount -t overlay "openpai-lab-$name" -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/work" "$dir/merged"
}

lab_host_validate() {
  local name="$1" address="${2:-}"
  [[ "$name" =~ ^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$ ]] || lab_die "host name '$name': lowercase letters, digits and '-', at most 32"
  if [[ -n "$address" ]]; then
    if ! [[ "$address" =~ ^10\.78\.0\.([0-9]+)$ ]] || ((BASH_REMATCH[1] < 2 || BASH_REMATCH[1] > 254)); then
      lab_die "address '$address': the lab network is 10.78.0.2-254 (hosts from 10.78.0.10 by convention)"
    fi
  fi
}

lab_ssh_options() {
  printf '%s\n' -i "$(lab_key_path)" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
}

lab_host_ssh() {
  local name="$1" address options
  shift
  address="$(lab_host_address "$name")" || lab_die "no host $name"
  lab_host_pid "$name" >/dev/null || lab_die "$name is stopped: lab.sh host start $name $address"
  mapfile -t options < <(lab_ssh_options)
  [[ -t 0 && $# -eq 0 ]] && options+=(-t)
  exec ssh "${options[@]}" "$lab_host_user@$address" "$@"
}

# Waits until the host's sshd lets the lab's user in.
lab_host_wait_ssh() {
  local name="$1" address="$2" pid="$3" options deadline=$((SECONDS + 120))
  mapfile -t options < <(lab_ssh_options)
  until ssh "${options[@]}" -o ConnectTimeout=2 "$lab_host_user@$address" true 2>/dev/null; do
    lab_pid_alive "$pid" || lab_die "$name stopped while booting: $(tail -n 20 "$(lab_host_dir "$name")/console.log")"
    ((SECONDS < deadline)) || lab_die "$name: no SSH on $address after 120 s; console: $(lab_host_dir "$name")/console.log"
    sleep 0.3
  done
}

# lab_host_flavour NAME REQUESTED: the host's flavour ("" = Debian's containerd, containerd2):
# the one it was made with (its disk has that containerd), REQUESTED for a new host; a request for
# another one is refused.
lab_host_flavour() {
  local name="$1" requested="$2" file made
  file="$(lab_host_dir "$name")/flavour"
  if [[ -f "$(lab_host_dir "$name")/address" ]]; then
    made="$(cat "$file" 2>/dev/null || true)"
    if [[ -n "$requested" && "$requested" != "$made" ]]; then
      lab_die "$name was made with ${made:-Debian 12 containerd}, not $requested: lab.sh host rm $name first"
    fi
    echo "$made"
  else
    echo "$requested"
  fi
}

# lab_host_boot NAME ADDRESS [FLAVOUR]: launches the host unless it runs (lab_host_ready waits for
# it). FLAVOUR containerd2 offers containerd 2.x in its apt sources (provision.sh).
lab_host_boot() {
  local name="$1" address="$2" dir pid rootfs other key flavour
  lab_host_validate "$name" "$address"
  ip link show "$lab_bridge" >/dev/null 2>&1 || lab_die "bridge $lab_bridge is missing: run lab.sh up first"
  dir="$(lab_host_dir "$name")"
  flavour="$(lab_host_flavour "$name" "${3:-}")"
  if pid="$(lab_host_pid "$name")"; then
    [[ "$(lab_host_address "$name")" == "$address" ]] || lab_die "$name runs at $(lab_host_address "$name"), not $address"
    [[ -f "$dir/booting" ]] || lab_log "$name already runs (pid $pid)"
    return
  fi
  for other in $(lab_host_names); do
    [[ "$other" != "$name" && "$(lab_host_address "$other")" == "$address" ]] && lab_die "$address belongs to host $other"
  done
  # A host stays on the rootfs it was made from while that exists: its disk is a layer on it.
  rootfs="$(cat "$dir/rootfs" 2>/dev/null || true)"
  [[ -n "$rootfs" && -f "$rootfs.done" ]] || rootfs="$(lab_rootfs host "${lab_host_packages[@]}")"
  key="$(lab_key)"
  mkdir -p "$dir/upper" "$dir/work" "$dir/merged" "$dir/containerd" "$dir/kubelet"
  date +%s >"$dir/booting"
  echo "$rootfs" >"$dir/rootfs"
  echo "$address" >"$dir/address"
  echo "$flavour" >"$dir/flavour"
  # Leftovers of a host that died with the machine (processes, cgroups) go first, and the bridge
  # end of its veth, which the kernel may still be tearing down after a host was killed.
  lab_host_kill "$name"
  lab_host_cgroups_remove "$name"
  if ip link show "vb-$name" >/dev/null 2>&1; then
    ip link delete "vb-$name" 2>/dev/null || true
    lab_changed "removed the leftover veth vb-$name"
  fi
  lab_host_mount "$name" "$rootfs"
  lab_host_provision "$name" "$address" "$dir/merged" "$dir/upper" "$key.pub" "$flavour"
  lab_dns_add "$name" "$address"
  lab_host_cgroups_make "$name"

  local nspawn=(systemd-nspawn --directory="$dir/merged" --boot --machine="$name" --hostname="$name"
    --register=no --keep-unit --network-bridge="$lab_bridge" --resolv-conf=off --timezone=off
    --link-journal=no --console=read-only --capability=all
    # runc creates a session keyring per container; containerd and kubelet load eBPF programs.
    --system-call-filter='@keyring bpf'
    --bind=/dev/kmsg --bind="$dir/containerd:/var/lib/containerd" --bind="$dir/kubelet:/var/lib/kubelet")
  # What a real machine has: its kernel's modules directory and /dev/fuse (OpenPAI's jobs ask for it).
  [[ -d "/lib/modules/$(uname -r)" ]] && nspawn+=(--bind-ro="/lib/modules/$(uname -r)")
  [[ -c /dev/fuse ]] && nspawn+=(--bind=/dev/fuse)
  local cgroups=()
  mapfile -t cgroups < <(lab_cgroup_mounts | sed "s|\$|/$lab_cgroup_parent/$name|")
  printf '=== boot %s\n' "$(date -Is)" >>"$dir/console.log"
  # The shell enters the host's cgroups, then runs systemd-nspawn, again each time the host reboots
  # (`systemctl reboot` in it: nspawn exits 133), as a machine's firmware boots it again; the bridge
  # end of the old veth goes first. Any other exit is a power-off.
  # shellcheck disable=SC2016 # expanded by that shell
  LAB_HOST_CGROUPS="${cgroups[*]}" LAB_HOST_VETH="vb-$name" setsid bash -c '
    for cgroup in $LAB_HOST_CGROUPS; do echo $$ >"$cgroup/cgroup.procs"; done
    while :; do
      rc=0
      "$@" || rc=$?
      ((rc == 133)) || exit "$rc"
      ip link delete "$LAB_HOST_VETH" 2>/dev/null || true
      printf "=== reboot %s\n" "$(date -Is)"
    done' lab-host "${nspawn[@]}" \
    >>"$dir/console.log" 2>&1 </dev/null 9>&- &
  echo $! >"$dir/pid"
}

# lab_host_ready NAME ADDRESS: waits until the host's sshd lets the lab's user in, then prints
# "NAME ADDRESS".
lab_host_ready() {
  local name="$1" address="$2" dir pid started tries=50
  dir="$(lab_host_dir "$name")"
  # Just launched, the pid may not have run bash yet.
  until pid="$(lab_host_pid "$name")"; do
    tries=$((tries - 1))
    if ((tries == 0)) || ! lab_pid_alive "$(cat "$dir/pid" 2>/dev/null || echo none)"; then
      lab_die "$name is not running: $(tail -n 20 "$dir/console.log" 2>/dev/null)"
    fi
    sleep 0.1
  done
  lab_host_wait_ssh "$name" "$address" "$pid"
  if [[ -f "$dir/booting" ]]; then
    started="$(cat "$dir/booting")"
    rm -f "$dir/booting"
    lab_changed "$name booted at $address (pid $pid) in $(($(date +%s) - started)) s"
  fi
  echo "$name $address"
}

lab_host_stop() {
  local name="$1" dir pid tries=100
  lab_host_validate "$name"
  dir="$(lab_host_dir "$name")"
  [[ -d "$dir" ]] || lab_die "no host $name"
  if pid="$(lab_host_pid "$name")"; then
    lab_host_kill "$name"
    while lab_host_pid "$name" >/dev/null; do
      tries=$((tries - 1))
      ((tries > 0)) || lab_die "systemd-nspawn of $name (pid $pid) does not exit"
      sleep 0.1
    done
    lab_changed "$name powered off (its disk stays in $dir)"
  else
    lab_host_kill "$name"
  fi
  rm -f "$dir/pid"
  lab_host_cgroups_remove "$name"
  lab_host_unmount "$name"
}

lab_host_rm() {
  local name="$1" dir
  lab_host_validate "$name"
  dir="$(lab_host_dir "$name")"
  [[ -d "$dir" ]] || { lab_log "no host $name: nothing to remove"; return; }
  lab_host_stop "$name"
  findmnt -rn -o TARGET | grep -q "^$dir/" && lab_die "something is still mounted under $dir"
  rm -rf --one-file-system "$dir"
  lab_changed "removed host $name and its disk"
}

# lab_host_memory NAME: the host's memory as kubelet counts it (usage less inactive file pages).
lab_host_memory() {
  local name="$1" dir usage inactive
  dir="/sys/fs/cgroup/memory/$lab_cgroup_parent/$name"
  if [[ -f "$dir/memory.usage_in_bytes" ]]; then
    usage="$(cat "$dir/memory.usage_in_bytes")"
    inactive="$(awk '$1 == "total_inactive_file" {print $2}' "$dir/memory.stat")"
  elif [[ -f "/sys/fs/cgroup/$lab_cgroup_parent/$name/memory.current" ]]; then
    dir="/sys/fs/cgroup/$lab_cgroup_parent/$name"
    usage="$(cat "$dir/memory.current")"
    inactive="$(awk '$1 == "inactive_file" {print $2}' "$dir/memory.stat")"
  else
    echo "?"
    return
  fi
  echo "$(((usage - ${inactive:-0}) / 1048576)) MiB (cgroup usage $((usage / 1048576)) MiB)"
}

lab_host_list() {
  local name state
  for name in $(lab_host_names); do
    state=stopped
    lab_host_pid "$name" >/dev/null && state=running
    printf '%s %s %s\n' "$name" "$(lab_host_address "$name")" "$state"
  done
}

lab_hosts_status() {
  local name pid
  for name in $(lab_host_names); do
    if pid="$(lab_host_pid "$name")"; then
      printf '%-12s %-11s running (pid %s), memory %s\n' "$name" "$(lab_host_address "$name")" "$pid" "$(lab_host_memory "$name")"
    else
      printf '%-12s %-11s stopped\n' "$name" "$(lab_host_address "$name")"
    fi
  done
}

lab_hosts_down() {
  local name
  for name in $(lab_host_names); do
    lab_host_stop "$name"
  done
}
