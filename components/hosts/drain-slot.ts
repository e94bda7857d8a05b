import { HostConnection } from "./step";
import { runSteps } from "./ssh-from-here";
import { shellQuote } from "./scripts";

/** A worker drained from the master around a change: what its reboots and upgrade resources share. */
export interface DrainedWorkerArgs {
    /** SSH access to the worker (its credentials and bastion serve for the master too: config.ssh). */
    connection: HostConnection;
    /** SSH access to the master, where the node is drained and uncordoned (drain.sh). */
    masterConnection: HostConnection;
    /** The worker's node name (its layout hostname). */
    nodeName: string;
    /** cluster.rebootBatchSize: the most workers drained at once, for reboots and upgrades together. */
    batchSize: number;
    /** Print what each step would do instead of doing it. */
    checkOnly: boolean;
}

/** Seconds between asks for a slot, and the most asks: 6 hours of other workers' drains. */
const slotPollSeconds = 20;
const slotPolls = 1080;

/**
 * Bash functions for a script run from this machine (after sshPreamble): `slot ACTION` runs
 * drain.sh on the master (claim, failed, release); `claim_slot` takes the node's slot, waiting
 * while `batchSize` other workers hold one, and drains the node. Reboots and upgrades share the
 * slots (/var/lib/openpai/reboots/ on the master), so one bound holds for both. `purpose` names
 * the change in drain.sh's messages ("its reboot", "its upgrade").
 */
export function drainSlotFunctions(args: DrainedWorkerArgs, purpose: string): string {
    const name = shellQuote(args.nodeName);
    return `# slot ACTION: the node's drain slot on the master (drain.sh).
slot() {
  local action="$1"
  ${runSteps(args.masterConnection, [{ step: "drain", settings: { NODE_NAME: args.nodeName, REBOOT_BATCH_SIZE: args.batchSize, DRAIN_PURPOSE: purpose } }], args.checkOnly, { DRAIN_ACTION: "action" })}
}
claim_slot() {
  local poll out busy
  for ((poll = 1; ; poll++)); do
    out="$(slot claim)"
    printf '%s\\n' "$out" | grep -v '^busy=' || true
    busy="$(printf '%s\\n' "$out" | sed -n 's/^busy=//p')"
    [[ -z "$busy" ]] && return 0
    if ((poll >= ${slotPolls})); then
      echo "openpai: "${name}" waited $((poll * ${slotPollSeconds} / 60)) minutes for a drain slot (cluster.rebootBatchSize), held by $busy: are their reboots or upgrades stuck? (/var/lib/openpai/reboots/ on the master)" >&2
      return 1
    fi
    ((poll % 15 == 1)) && echo "openpai: "${name}" waits for a drain slot, held by $busy"
    sleep ${slotPollSeconds}
  done
}`;
}
