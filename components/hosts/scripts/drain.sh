#!/usr/bin/env bash
# On the master, around a worker's reboot or upgrade (drain-slot.ts; DRAIN_PURPOSE says which, for
# the messages), with one slot file per worker in /var/lib/openpai/reboots/ so that at most
# REBOOT_BATCH_SIZE workers are drained at once (cluster.rebootBatchSize), whichever up runs them:
# DRAIN_ACTION=claim: takes a slot and drains the node (kubectl drain cordons it first). Prints
#   "busy=<nodes>" and changes nothing while the slots are taken; fails when a slot is held by a
#   node whose reboot failed (it stays cordoned until its next up succeeds). A host that is not a
#   node of the cluster (a new worker) needs no slot.
# DRAIN_ACTION=failed: marks the node's slot failed (its reboot did not come back).
# DRAIN_ACTION=release: uncordons the node, unless it was cordoned before the drain (an admin's
#   or alert-handler's cordon stays), and frees the slot.
set -euo pipefail
: "${NODE_NAME:?}" "${DRAIN_ACTION:?}"
purpose="${DRAIN_PURPOSE:-its reboot}"
export KUBECONFIG=/etc/kubernetes/admin.conf
slots="${OPENPAI_STATE_DIR:-/var/lib/openpai}/reboots"
slot="$slots/$NODE_NAME"

if check_only; then
  log "would $DRAIN_ACTION node $NODE_NAME's drain slot for $purpose (draining it on claim)"
  exit 0
fi
mkdir -p "$slots"
case "$DRAIN_ACTION" in
  claim)
    : "${REBOOT_BATCH_SIZE:?}"
    case "$(node_registration "$KUBECONFIG" "$NODE_NAME" 120)" in
      absent)
        log "$NODE_NAME is not a node of the cluster: nothing to drain"
        exit 0
        ;;
      unreachable) fail "the API server does not answer: cannot drain $NODE_NAME before $purpose" ;;
    esac
    exec 9>"$slots.lock"
    flock 9
    if [[ -f "$slot" ]]; then
      log "$NODE_NAME holds a drain slot since $(sed -n 's/^since=//p' "$slot"): going on with its drain"
      sed -i '/^failed=/d' "$slot"
    else
      holders=()
      for other in "$slots"/*; do
        [[ -f "$other" ]] || continue
        if grep -q '^failed=' "$other"; then
          fail "the reboot or upgrade of ${other##*/} failed ($(sed -n 's/^failed=//p' "$other")) and it stays cordoned: fix that host, then pulumi up (its next up frees the slot); no other worker is drained meanwhile"
        fi
        holders+=("${other##*/}")
      done
      if ((${#holders[@]} >= REBOOT_BATCH_SIZE)); then
        echo "busy=${holders[*]}"
        exit 0
      fi
      printf 'since=%s\ncordoned_before=%s\n' "$(date -u +%FT%TZ)" \
        "$(kubectl get node "$NODE_NAME" -o jsonpath='{.spec.unschedulable}')" >"$slot"
    fi
    flock -u 9
    kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --force --timeout=600s >/dev/null \
      || fail "could not drain $NODE_NAME in 10 minutes (a PodDisruptionBudget? kubectl get pods -A --field-selector spec.nodeName=$NODE_NAME): it stays cordoned; pulumi up again once it can be drained"
    changed "cordoned and drained $NODE_NAME for $purpose"
    ;;
  failed)
    [[ -f "$slot" ]] && echo "failed=$(date -u +%FT%TZ)" >>"$slot"
    log "$NODE_NAME's drain slot marked failed"
    ;;
  release)
    [[ -f "$slot" ]] || { log "$NODE_NAME holds no drain slot"; exit 0; }
    if grep -qx 'cordoned_before=true' "$slot"; then
      log "$NODE_NAME was cordoned before its drain: it stays cordoned"
    else
      kubectl uncordon "$NODE_NAME" >/dev/null
      changed "uncordoned $NODE_NAME"
    fi
    rm -f "$slot"
    ;;
  *) fail "DRAIN_ACTION must be claim, failed or release" ;;
esac
