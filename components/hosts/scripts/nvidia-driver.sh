#!/usr/bin/env bash
# NVIDIA driver on a GPU worker. NVIDIA_DRIVER=install: Ubuntu's signed server driver of the
# branch (ubuntu-drivers, works with Secure Boot), nouveau blacklisted, fabric manager on NVSwitch
# systems, persistence mode, packages held; when a new driver needs a reboot it records the boot it
# ran in (/var/lib/openpai/reboot-from-boot), closes SSH to new sessions and reboots: the host's
# next resource starts with wait-boot, which dials until the new boot answers.
# NVIDIA_DRIVER=verify: hosts whose driver the admin installed (OpenPAI's guides assume it): the
# loaded driver must be of the branch and nvidia-smi must work; nothing is installed.
set -euo pipefail
: "${DRIVER_BRANCH:?}" "${NVIDIA_DRIVER:?}" "${SSH_PORT:?}"

loaded="$(cat /sys/module/nvidia/version 2>/dev/null || true)"
if [[ "$NVIDIA_DRIVER" == verify ]]; then
  [[ "$loaded" == "$DRIVER_BRANCH".* ]] || fail "cluster.nvidiaDriver is 'verify' but the loaded NVIDIA driver is '${loaded:-none}', not branch $DRIVER_BRANCH: install it, or set nvidiaDriver to 'install'"
  nvidia-smi -L >/dev/null 2>&1 || fail "nvidia-smi does not work on this host"
  log "driver $loaded verified"
  exit 0
fi
packages=("nvidia-driver-${DRIVER_BRANCH}-server" "nvidia-utils-${DRIVER_BRANCH}-server")
# NVSwitch (bridge class 0680) systems need the fabric manager, or CUDA sees no GPU.
if (($(pci_count 0x10de 0x0680) > 0)); then
  packages+=("nvidia-fabricmanager-${DRIVER_BRANCH}" "libnvidia-nscq-${DRIVER_BRANCH}")
fi
if [[ "$loaded" == "$DRIVER_BRANCH".* ]]; then
  log "driver $loaded loaded"
  apt_install "${packages[@]}"
  hold "${packages[@]}"
  run systemctl enable --now nvidia-persistenced 2>/dev/null || true
  exit 0
fi
printf 'blacklist nouveau\noptions nouveau modeset=0\n' | write_file /etc/modprobe.d/blacklist-nouveau.conf 0644 \
  && run update-initramfs -u
if command -v ubuntu-drivers >/dev/null 2>&1; then
  apt_update
  run ubuntu-drivers install --gpgpu "nvidia:${DRIVER_BRANCH}-server"
fi
apt_install "${packages[@]}"
hold "${packages[@]}"
run systemctl enable nvidia-persistenced 2>/dev/null || true
if [[ " ${packages[*]} " == *" nvidia-fabricmanager-"* ]]; then
  run systemctl enable nvidia-fabricmanager
fi
if check_only; then
  log "found driver '${loaded:-none}'; would install branch $DRIVER_BRANCH and reboot"
  exit 0
fi
log "driver branch $DRIVER_BRANCH installed (was '${loaded:-none}'): rebooting"
mkdir -p /var/lib/openpai
cat /proc/sys/kernel/random/boot_id >/var/lib/openpai/reboot-from-boot
# The reboot is scheduled first: a host whose timer could not be set keeps its SSH open (the step
# fails, saying so). Then new SSH connections are dropped until the reboot (the rule is not
# persistent), so the wait-boot step cannot reach this boot: it dials until the new boot answers.
systemd-run --on-active=5 --timer-property=AccuracySec=1s /bin/systemctl reboot >/dev/null \
  || fail "could not schedule the reboot the new driver needs (systemd-run): reboot this host by hand, then pulumi up"
if command -v iptables >/dev/null 2>&1; then
  iptables -I INPUT -p tcp --dport "$SSH_PORT" -m conntrack --ctstate NEW -j DROP
else
  systemctl stop ssh.socket ssh.service 2>/dev/null || true
fi
