#!/usr/bin/env bash
# Reboots a worker when something asks for it: a driver step that installed a new driver (it wrote
# why in /var/lib/openpai/reboot-wanted), or cluster.workerRebootRevision set to a value this host,
# already a node of the cluster, has not rebooted for (kept in /var/lib/openpai/reboot-revision; a
# host that is not a node yet records it without rebooting: it has nothing running to restart).
# REBOOT_PLAN=1 decides only: prints "reboot-needed=<why>" lines, changes nothing. The worker's
# reboots resource (worker-reboot.ts) has drained the node before the real run.
# The reboot is scheduled first, then SSH is closed to new sessions until it happens (a host whose
# timer could not be set keeps its SSH open and the step fails, saying so); the boot it ran in is
# kept in /var/lib/openpai/reboot-from-boot, which wait-boot compares with the next one.
set -euo pipefail
: "${SSH_PORT:?}"
REBOOT_REVISION="${REBOOT_REVISION:-}"
# Where the host keeps its state, and its kubelet's kubeconfig (a node has one): the unit tests' fakes replace them.
state="${OPENPAI_STATE_DIR:-/var/lib/openpai}"
kubelet_kubeconfig="${KUBELET_KUBECONFIG:-/etc/kubernetes/kubelet.conf}"
[[ "$REBOOT_REVISION" =~ ^[A-Za-z0-9._:-]{0,64}$ ]] \
  || { log "error: cluster.workerRebootRevision must be letters, digits and . _ : - (64 at most)" >&2; exit 1; }

reasons=()
if [[ -s "$state/reboot-wanted" ]]; then
  reasons+=("$(head -n 1 "$state/reboot-wanted")")
fi
recorded="$(cat "$state/reboot-revision" 2>/dev/null || true)"
revision_due=0
if [[ -n "$REBOOT_REVISION" && "$REBOOT_REVISION" != "$recorded" ]]; then
  if [[ -f "$kubelet_kubeconfig" ]]; then
    revision_due=1
    reasons+=("cluster.workerRebootRevision is '$REBOOT_REVISION', this host last rebooted for '${recorded:-none}'")
  elif [[ "${REBOOT_PLAN:-0}" != 1 ]]; then
    printf '%s\n' "$REBOOT_REVISION" | write_file "$state/reboot-revision" 0644 || true
    log "not a node yet: recorded workerRebootRevision '$REBOOT_REVISION' without a reboot"
  fi
fi

if [[ "${REBOOT_PLAN:-0}" == 1 ]]; then
  for reason in ${reasons[@]+"${reasons[@]}"}; do
    echo "reboot-needed=$reason"
  done
  exit 0
fi
if ((${#reasons[@]} == 0)); then
  log "no reboot needed"
  exit 0
fi
if check_only; then
  log "would reboot: ${reasons[*]}"
  exit 0
fi
if [[ -f "$state/reboot-from-boot" && "$(cat "$state/reboot-from-boot")" == "$(boot_identity)" ]]; then
  log "a reboot is already scheduled in this boot"
  exit 0
fi
mkdir -p "$state"
systemd-run --on-active=5 --timer-property=AccuracySec=1s /bin/systemctl reboot >/dev/null \
  || fail "could not schedule a reboot (systemd-run): reboot this host by hand, then pulumi up"
boot_identity >"$state/reboot-from-boot"
((revision_due == 0)) || printf '%s\n' "$REBOOT_REVISION" >"$state/reboot-revision"
rm -f "$state/reboot-wanted"
# New SSH connections are dropped until the reboot (the rule is not persistent), so wait-boot,
# dialling from the machine that runs Pulumi, cannot reach this boot.
if command -v iptables >/dev/null 2>&1; then
  iptables -I INPUT -p tcp --dport "$SSH_PORT" -m conntrack --ctstate NEW -j DROP
else
  systemctl stop ssh.socket ssh.service 2>/dev/null || true
fi
changed "rebooting in 5 s: ${reasons[*]}"
