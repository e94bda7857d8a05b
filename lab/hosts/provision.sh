#!/usr/bin/env bash
# What a real machine (an Ubuntu cloud image on a real server) already has when the project
# first reaches it over SSH, written into a lab host's own layer before it boots: its name and
# address, its own machine id and SSH host keys, the `ubuntu` sudo user with the lab's key, and
# the few things a systemd-nspawn host lacks compared with a real kernel's machine.
# Nothing of the project's provisioning (containerd, Kubernetes, sysctls, apt proxy) is here:
# the project's own scripts do that over SSH. Source it after lib/common.sh.
# shellcheck disable=SC2154 # lab_state, lab_cache come from common.sh; lab_bridge_* from
# services/machine.sh, lab_apt_repo_port from services/services.sh

lab_host_user=ubuntu

# lab_host_file ROOT PATH MODE < CONTENT: writes ROOT/PATH when its content differs and adds
# PATH to lab_host_written (the caller prints one line per host).
lab_host_file() {
  local root="$1" path="$2" mode="$3" tmp
  tmp="$(mktemp)"
  cat >"$tmp"
  if [[ -f "$root/$path" ]] && cmp -s "$tmp" "$root/$path"; then
    rm -f "$tmp"
    return
  fi
  install -D -m "$mode" "$tmp" "$root/$path"
  rm -f "$tmp"
  lab_host_written+=("$path")
}

# The identity a provisioned machine has: hostname, /etc/hosts, a static address on the lab
# network (a real lab's DHCP or netplan does this), its own machine id and SSH host keys.
lab_host_identity() {
  local root="$1" upper="$2" name="$3" address="$4"
  lab_host_file "$root" etc/hostname 0644 <<<"$name"
  lab_host_file "$root" etc/hosts 0644 <<HOSTS
127.0.0.1 localhost
$address $name
::1 localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
HOSTS
  # Sorts before nspawn's 80-container-host0.network, which would give host0 a 169.254 address.
  lab_host_file "$root" etc/systemd/network/10-lab-host0.network 0644 <<NETWORK
# lab: the host's fixed address on the lab network; the only way out is the lab's services.
[Match]
Name=host0

[Network]
Address=$address/$lab_bridge_prefix
Gateway=$lab_bridge_address
LinkLocalAddressing=no
IPv6AcceptRA=no
NETWORK
  # The lab's DNS (services.sh): its hosts by name, nothing outside.
  lab_host_file "$root" etc/resolv.conf 0644 <<<"nameserver $lab_bridge_address"
  if [[ ! -s "$upper/etc/machine-id" ]]; then
    lab_host_file "$root" etc/machine-id 0444 <<<"$(tr -d '-' </proc/sys/kernel/random/uuid)"
  fi
  # The rootfs's host keys are shared by every host made from it: each host makes its own once.
  if [[ ! -f "$upper/etc/ssh/ssh_host_ed25519_key" ]]; then
    rm -f "$root"/etc/ssh/ssh_host_*
    ssh-keygen -q -A -f "$root" >/dev/null
    lab_host_written+=("etc/ssh/ssh_host_*")
  fi
}

# A cloud image's login: the `ubuntu` user with NOPASSWD sudo and an authorized key, no root
# login, no passwords over SSH.
lab_host_login() {
  local root="$1" public_key="$2" home
  home="/home/$lab_host_user"
  if ! chroot "$root" getent passwd "$lab_host_user" >/dev/null; then
    chroot "$root" useradd --create-home --shell /bin/bash --groups sudo,adm "$lab_host_user"
    # '*': no password to log in with, yet not a locked account (sshd refuses locked ones).
    chroot "$root" usermod --password '*' "$lab_host_user"
    lab_host_written+=("user $lab_host_user")
  fi
  lab_host_file "$root" etc/sudoers.d/90-cloud-init-users 0440 <<<"$lab_host_user ALL=(ALL) NOPASSWD:ALL"
  lab_host_file "$root" etc/ssh/sshd_config.d/60-cloudimg-settings.conf 0644 <<SSHD
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
SSHD
  lab_host_file "$root" "${home#/}/.ssh/authorized_keys" 0600 <"$public_key"
  chroot "$root" chown -R "$lab_host_user:$lab_host_user" "$home/.ssh"
  chmod 0700 "$root$home/.ssh"
}

# What systemd-nspawn takes away from a host that a real machine has.
lab_host_machine_parts() {
  local root="$1" kernel config
  kernel="$(uname -r)"
  # 1. Writable cgroup v1 controllers: nspawn mounts them read-only inside the host, and
  # containerd/runc/kubelet must create cgroups there. Runs before every ordinary service.
  lab_host_file "$root" usr/local/sbin/lab-cgroup-rw 0755 <<'SCRIPT'
#!/bin/sh
# lab: a real machine's cgroup v1 controllers are writable; systemd-nspawn mounts them read-only.
findmnt -rn -t cgroup -o TARGET,OPTIONS | while read -r target options; do
  case ",$options," in
    *,ro,*) mount -o remount,bind,rw "$target" ;;
  esac
done
SCRIPT
  lab_host_file "$root" etc/systemd/system/lab-cgroup-rw.service 0644 <<'UNIT'
# lab: what a real machine already has (writable cgroup controllers), before containerd/kubelet.
[Unit]
Description=Lab: writable cgroup v1 controllers
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target containerd.service kubelet.service
ConditionPathIsMountPoint=/sys/fs/cgroup/memory

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/lab-cgroup-rw

[Install]
WantedBy=sysinit.target
UNIT
  # 2. A modules directory for the running kernel: `modprobe overlay` succeeds on a real
  # machine. When the machine has none (a kernel without loadable modules), describe the
  # built-in ones that Kubernetes setups load, so modprobe finds them built in.
  if [[ ! -d "/lib/modules/$kernel" && ! -f "$root/lib/modules/$kernel/modules.builtin" ]]; then
    config="$(zcat /proc/config.gz 2>/dev/null || true)"
    lab_host_file "$root" "lib/modules/$kernel/modules.builtin" 0644 < <(lab_builtin_modules "$config")
    # No loadable modules at all: empty lists, so depmod has nothing to warn about.
    touch "$root/lib/modules/$kernel/modules.order" "$root/lib/modules/$kernel/modules.builtin.modinfo"
    chroot "$root" depmod "$kernel"
  fi
  # 3. Kernel-wide sysctls belong to the machine: a host shares its kernel and sees /proc/sys
  # read-only but for its own network namespace (net.*). The distribution's sysctl.d files that
  # set kernel-wide keys (pid_max, protected links) would make `sysctl --system` fail there,
  # while a real machine applies them at boot: mask those files, as an admin may.
  local file
  for file in "$root"/usr/lib/sysctl.d/*.conf; do
    [[ -f "$file" ]] || continue
    if grep -Ev '^[[:space:]]*([#;]|$)' "$file" | grep -Evq '^[[:space:]]*-?net\.'; then
      if [[ ! -L "$root/etc/sysctl.d/${file##*/}" ]]; then
        mkdir -p "$root/etc/sysctl.d"
        ln -sfn /dev/null "$root/etc/sysctl.d/${file##*/}"
        lab_host_written+=("etc/sysctl.d/${file##*/} (masked)")
      fi
    fi
  done
  # 4. systemd-networkd applies the address above (a real machine has its network configured).
  local unit
  for unit in lab-cgroup-rw.service systemd-networkd.service; do
    if ! systemctl --root="$root" --quiet is-enabled "$unit" 2>/dev/null; then
      systemctl --root="$root" --quiet enable "$unit" 2>/dev/null
      lab_host_written+=("enabled $unit")
    fi
  done
}

# lab_builtin_modules CONFIG: modules.builtin lines for the modules Kubernetes hosts modprobe
# that CONFIG (the kernel's .config) has built in (=y).
lab_builtin_modules() {
  local config="$1" entry
  for entry in OVERLAY_FS:kernel/fs/overlayfs/overlay.ko BRIDGE:kernel/net/bridge/bridge.ko \
    BRIDGE_NETFILTER:kernel/net/bridge/br_netfilter.ko VETH:kernel/drivers/net/veth.ko \
    VXLAN:kernel/drivers/net/vxlan/vxlan.ko NF_CONNTRACK:kernel/net/netfilter/nf_conntrack.ko \
    NF_NAT:kernel/net/netfilter/nf_nat.ko NF_TABLES:kernel/net/netfilter/nf_tables.ko \
    IP_NF_IPTABLES:kernel/net/ipv4/netfilter/ip_tables.ko IP_NF_FILTER:kernel/net/ipv4/netfilter/iptable_filter.ko \
    IP_NF_NAT:kernel/net/ipv4/netfilter/iptable_nat.ko IP_SET:kernel/net/netfilter/ipset/ip_set.ko \
    IP_VS:kernel/net/netfilter/ipvs/ip_vs.ko FUSE_FS:kernel/fs/fuse/fuse.ko; do
    grep -qx "CONFIG_${entry%%:*}=y" <<<"$config" && echo "${entry#*:}"
  done
  return 0
}

# The containerd 2 flavour: the lab apt repository's containerd2/ suite among the host's apt
# sources, signed by the lab's key, as an Ubuntu 24.04 host's own archive offers containerd 2.2.
# The project's containerd step then installs 2.x with the same `apt-get install containerd`.
lab_host_containerd2_source() {
  local root="$1" key="$lab_cache/apt-repo/containerd2/Release.key"
  [[ -f "$key" ]] || lab_die "no containerd 2.x package in the lab's apt repository ($key is missing): run lab.sh build"
  lab_host_file "$root" etc/apt/keyrings/openpai-lab.asc 0644 <"$key"
  lab_host_file "$root" etc/apt/sources.list.d/openpai-lab-containerd2.list 0644 \
    <<<"deb [signed-by=/etc/apt/keyrings/openpai-lab.asc] http://$lab_bridge_address:$lab_apt_repo_port/containerd2/ /"
}

# lab_host_provision NAME ADDRESS MERGED UPPER PUBLIC_KEY FLAVOUR: brings a host's tree to what the
# lab's machines have (FLAVOUR: "" for Debian's containerd, containerd2); prints one line naming
# what it wrote.
lab_host_provision() {
  local name="$1" address="$2" root="$3" upper="$4" public_key="$5" flavour="$6"
  lab_host_written=()
  lab_host_identity "$root" "$upper" "$name" "$address"
  lab_host_login "$root" "$public_key"
  lab_host_machine_parts "$root"
  [[ "$flavour" != containerd2 ]] || lab_host_containerd2_source "$root"
  if ((${#lab_host_written[@]})); then
    lab_changed "$name: wrote ${lab_host_written[*]}"
  fi
}
