#!/usr/bin/env bash
# NVIDIA driver on a GPU worker, the way Ubuntu documents it for servers
# (documentation.ubuntu.com/server, "NVIDIA drivers installation"). NVIDIA_DRIVER=install:
# ubuntu-drivers (from ubuntu-drivers-common) in GPGPU mode, the signed prebuilt kernel modules
# linux-modules-nvidia-<branch>-server[-open]-<kernel flavour> (they load under Secure Boot; never
# DKMS, never the desktop metapackage), nvidia-utils, the fabric manager and NSCQ on NVSwitch
# systems, nouveau blacklisted, persistence mode, packages held. A new driver needs a reboot: the
# step writes why in /var/lib/openpai/reboot-wanted and the reboot step after it reboots.
# REBOOT_PLAN=1: decides only, changing nothing but apt's lists: prints "reboot-needed=<why>" when
# the driver it would install needs a reboot (the worker's reboots resource drains the node first).
# NVIDIA_DRIVER=verify: hosts whose driver the admin installed (OpenPAI's guides assume it): the
# loaded driver must be of the branch and nvidia-smi must work; nothing is installed.
# NVIDIA_KERNEL_MODULES: open (NVIDIA's default since branch 560; Blackwell needs them) or
# proprietary (GPUs before Turing: V100, P100).
set -euo pipefail
: "${DRIVER_BRANCH:?}" "${NVIDIA_DRIVER:?}"
NVIDIA_KERNEL_MODULES="${NVIDIA_KERNEL_MODULES:-open}"
# What the decisions read, replaceable by the unit tests' fakes.
NVIDIA_PROC_VERSION="${NVIDIA_PROC_VERSION:-/proc/driver/nvidia/version}"

# The program validates both; they become package names, so they are checked again here.
[[ "$DRIVER_BRANCH" =~ ^[0-9]{3}$ ]] || { log "error: cluster.nvidiaDriverBranch must be three digits such as 580" >&2; exit 1; }
case "$NVIDIA_KERNEL_MODULES" in
  open) open_suffix=-open ;;
  proprietary) open_suffix="" ;;
  *) log "error: cluster.nvidiaKernelModules must be 'open' or 'proprietary'" >&2; exit 1 ;;
esac

# loaded_driver: "<version> open|proprietary" of the loaded NVIDIA kernel module, empty when none
# is loaded. The open modules name themselves "Open Kernel Module" in the driver's version file.
loaded_driver() {
  local text version
  text="$(cat "$NVIDIA_PROC_VERSION" 2>/dev/null || true)"
  [[ "$text" =~ [[:space:]]([0-9]{3}\.[0-9]+(\.[0-9]+)?)[[:space:]] ]] || return 0
  version="${BASH_REMATCH[1]}"
  if [[ "$text" == *"Open Kernel Module"* ]]; then echo "$version open"; else echo "$version proprietary"; fi
}

# kernel_flavour: the flavour whose linux-image metapackage keeps the running kernel up to date
# (generic, generic-hwe-24.04, aws, azure, gcp, nvidia, ...): the modules metapackage of the same
# flavour follows each kernel upgrade. Read from the installed linux-image-<flavour>* metapackages,
# the one depending on the running kernel first; empty when none is installed (a kernel installed
# by hand), when only the running kernel's own modules package can be named.
kernel_flavour() {
  local release suffix candidates=() package status depends matching=()
  release="$(uname -r)"
  suffix="${release#*-*-}"
  [[ "$suffix" != "$release" && -n "$suffix" ]] || return 0
  while read -r package status; do
    [[ "$status" == installed ]] && candidates+=("$package")
  done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "linux-image-$suffix" "linux-image-$suffix-*" 2>/dev/null || true)
  for package in "${candidates[@]}"; do
    depends="$(dpkg-query -W -f='${Depends}' "$package" 2>/dev/null || true)"
    [[ "$depends" == *"linux-image-$release"* || "$depends" == *"linux-image-unsigned-$release"* ]] && matching+=("$package")
  done
  if ((${#matching[@]} == 1)); then
    echo "${matching[0]#linux-image-}"
  elif ((${#candidates[@]} == 1)); then
    echo "${candidates[0]#linux-image-}"
  fi
}

# modules_package BRANCH: the signed prebuilt modules package for the running kernel: its
# flavour's metapackage, or the running kernel's own package when no metapackage is installed.
modules_package() {
  local flavour
  flavour="$(kernel_flavour)"
  echo "linux-modules-nvidia-$1-server$open_suffix-${flavour:-$(uname -r)}"
}

# in_archive PACKAGE: whether apt knows PACKAGE (from the lists of the last apt-get update).
in_archive() {
  apt-cache show --no-all-versions "$1" >/dev/null 2>&1
}

# branch_installed_by PACKAGE BRANCH: the branch PACKAGE really installs. Ubuntu turns a retired
# branch's packages into "transitional" packages that depend on a newer branch's (570 -> 580):
# the loaded driver is then of that branch, and comparing it with the asked one would reboot the
# host on every run. Follows the Depends of transitional packages named like PACKAGE (4 at most).
branch_installed_by() {
  local package="$1" branch="$2" info prefix suffix dependency next
  for _ in 1 2 3 4; do
    info="$(apt-cache show --no-all-versions "$package" 2>/dev/null)" || break
    grep -Eqi '^Description(-[A-Za-z_]+)?:.*transitional' <<<"$info" || break
    prefix="${package%%"$branch"*}"
    suffix="${package#*"$branch"}"
    next=""
    while read -r dependency; do
      dependency="${dependency%% *}"
      if [[ "$dependency" == "$prefix"[0-9][0-9][0-9]"$suffix" ]]; then
        next="$dependency"
        break
      fi
    done < <(sed -n 's/^Depends: //p' <<<"$info" | tr ',|' '\n' | sed 's/^ *//')
    [[ -n "$next" ]] || break
    branch="${next#"$prefix"}"
    branch="${branch%"$suffix"}"
    package="$next"
  done
  echo "$branch"
}

loaded="$(loaded_driver)"
if [[ "$NVIDIA_DRIVER" == verify ]]; then
  [[ "${REBOOT_PLAN:-0}" == 1 ]] && exit 0
  [[ "$loaded" == "$DRIVER_BRANCH".* ]] || fail "cluster.nvidiaDriver is 'verify' but the loaded NVIDIA driver is '${loaded:-none}', not branch $DRIVER_BRANCH: install it, or set nvidiaDriver to 'install'"
  nvidia-smi -L >/dev/null 2>&1 || fail "nvidia-smi does not work on this host"
  log "driver ${loaded:-none} verified"
  exit 0
fi

os="$(distribution)"
if [[ "$os" != ubuntu\ * ]]; then
  fail "cluster.nvidiaDriver is 'install' but this host runs '$os': only Ubuntu's archive has the signed server driver packages the step installs. Install the driver yourself (your distribution's or NVIDIA's packages), then set openpai:cluster.nvidiaDriver to 'verify'"
  exit 0
fi

apt_update
requested_modules="$(modules_package "$DRIVER_BRANCH")"
if ! in_archive "$requested_modules"; then
  fail "Ubuntu's archive has no $requested_modules (the signed modules of branch $DRIVER_BRANCH${open_suffix:+, open,} for kernel $(uname -r)): set cluster.nvidiaDriverBranch to a branch it has (apt-cache search 'linux-modules-nvidia-.*-server'), or upgrade the kernel (apt full-upgrade, reboot); with nvidiaDriver 'verify' the step checks a driver you install"
  exit 0
fi
branch="$(branch_installed_by "$requested_modules" "$DRIVER_BRANCH")"
[[ "$branch" == "$DRIVER_BRANCH" ]] \
  || log "$requested_modules is a transitional package: branch $DRIVER_BRANCH installs branch $branch, which the step installs and compares"
packages=("nvidia-headless-no-dkms-$branch-server$open_suffix" "$(modules_package "$branch")" "nvidia-utils-$branch-server")
# NVSwitch (bridge class 0680) systems need the fabric manager and NSCQ, or CUDA sees no GPU.
if (($(pci_count 0x10de 0x0680) > 0)); then
  packages+=("nvidia-fabricmanager-$branch" "libnvidia-nscq-$branch")
fi
log "packages for branch $branch ($NVIDIA_KERNEL_MODULES kernel modules): ${packages[*]}"

if [[ "${REBOOT_PLAN:-0}" == 1 ]]; then
  [[ "$loaded" == "$branch".*" $NVIDIA_KERNEL_MODULES" ]] \
    || echo "reboot-needed=NVIDIA driver branch $branch ($NVIDIA_KERNEL_MODULES kernel modules) to install, '${loaded:-none}' loaded"
  exit 0
fi
if [[ "$loaded" == "$branch".*" $NVIDIA_KERNEL_MODULES" ]]; then
  log "driver $loaded loaded"
  apt_install "${packages[@]}"
  hold "${packages[@]}"
  run systemctl enable --now nvidia-persistenced 2>/dev/null || true
  exit 0
fi
printf 'blacklist nouveau\noptions nouveau modeset=0\n' | write_file /etc/modprobe.d/blacklist-nouveau.conf 0644 \
  && run update-initramfs -u
apt_install ubuntu-drivers-common
# The driver packages this step held for another branch or module kind would keep ubuntu-drivers'
# apt from replacing them (the container toolkit's holds stay).
held="$(apt-mark showhold | grep -E '^(nvidia-headless-no-dkms-|linux-modules-nvidia-|nvidia-utils-|nvidia-fabricmanager-|libnvidia-nscq-)' || true)"
if [[ -n "$held" ]]; then
  # shellcheck disable=SC2086 # one argument per package
  run apt-mark unhold $held >/dev/null
  check_only || changed "unheld ${held//$'\n'/ } (the step holds the branch it installs)"
fi
run ubuntu-drivers install --gpgpu "nvidia:$branch-server$open_suffix"
apt_install "${packages[@]}"
hold "${packages[@]}"
run systemctl enable nvidia-persistenced 2>/dev/null || true
if [[ " ${packages[*]} " == *" nvidia-fabricmanager-"* ]]; then
  run systemctl enable nvidia-fabricmanager
fi
if check_only; then
  log "found driver '${loaded:-none}'; would install branch $branch ($NVIDIA_KERNEL_MODULES kernel modules) and reboot"
  exit 0
fi
log "driver branch $branch ($NVIDIA_KERNEL_MODULES kernel modules) installed (was '${loaded:-none}'): the host must reboot"
printf 'NVIDIA driver branch %s (%s kernel modules) installed, %s loaded\n' "$branch" "$NVIDIA_KERNEL_MODULES" "${loaded:-none}" \
  | write_file /var/lib/openpai/reboot-wanted 0644 || true
