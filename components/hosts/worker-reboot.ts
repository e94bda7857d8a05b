import * as pulumi from "@pulumi/pulumi";
import { LocalCommand } from "./commands";
import { DrainedWorkerArgs, drainSlotFunctions } from "./drain-slot";
import { shellQuote, StepPart } from "./scripts";
import { runSteps, sshEnvironment, sshPreamble } from "./ssh-from-here";

export interface WorkerRebootArgs extends DrainedWorkerArgs {
    /** The steps that may ask for a reboot (the NVIDIA driver), run before the reboot step. */
    steps: StepPart[];
    /** cluster.workerRebootRevision ("" when unset). */
    rebootRevision: string;
    /** GPUs the layout gives the worker: nvidia-smi must see them after the boot. */
    gpus: number;
    /** SSH port, closed to new sessions between the reboot's scheduling and the reboot. */
    sshPort: number;
}

/** Seconds between dials of the rebooting worker, and the most dials: a GPU server's POST takes minutes. */
const bootDialSeconds = 10;
const bootDials = 90;

/**
 * The create script: the worker's steps asked first what they would do (REBOOT_PLAN=1). When none
 * needs a reboot they run, and that is all. Otherwise, from the master, the node takes a drain slot
 * (drain-slot.ts: waiting while `batchSize` other workers hold one) and is drained; the steps run
 * and the worker reboots; the worker is dialled until its new boot answers and nvidia-smi sees its GPUs;
 * then the node is uncordoned and its slot freed. A reboot that does not come back marks the slot
 * failed: the node stays cordoned and no other worker is drained until it is fixed.
 * Each remote script is written once, in a function (a check-only run carries the helpers in each):
 * the whole text is one argument of bash, which the kernel caps at 128 KiB.
 */
export function rebootScript(args: WorkerRebootArgs): string {
    const { connection: worker, nodeName, checkOnly } = args;
    const reboot: StepPart = { step: "reboot", settings: { REBOOT_REVISION: args.rebootRevision, SSH_PORT: args.sshPort } };
    const name = shellQuote(nodeName);
    return `set -euo pipefail
${sshPreamble}
# worker_steps PLAN: the steps on the worker, deciding only when PLAN is 1.
worker_steps() {
  local plan="$1"
  ${runSteps(worker, [...args.steps, reboot], checkOnly, { REBOOT_PLAN: "plan" })}
}
${drainSlotFunctions(args, "its reboot")}
wait_boot() {
  ${runSteps(worker, [{ step: "wait-boot", settings: { GPU_COUNT: checkOnly ? 0 : args.gpus } }], checkOnly)}
}
plan="$(worker_steps 1)"
printf '%s\n' "$plan" | grep -v '^reboot-needed=' || true
reasons="$(printf '%s\n' "$plan" | sed -n 's/^reboot-needed=//p' | paste -sd ';' -)"
if [[ -z "$reasons" ]]; then
  worker_steps 0
  wait_boot
  exit 0
fi
echo "openpai: "${name}" must reboot: $reasons"
claim_slot
set +e
worker_steps 0
rc=$?
if ((rc == 0)); then
  for ((dial = 1; dial <= ${bootDials}; dial++)); do
    sleep ${bootDialSeconds}
    wait_boot
    rc=$?
    ((rc == 255)) || break
  done
fi
if ((rc != 0)); then
  echo "openpai: "${name}" did not come back from its reboot (exit $rc): it stays cordoned" >&2
  slot failed
  exit "$rc"
fi
set -e
slot release
`;
}

/**
 * A worker's reboots: one resource, run from this machine over SSH to the worker and the master
 * (steps nvidia-driver, reboot, wait-boot; drain), which a remote.Command, bound to one host,
 * cannot be. It runs again when its steps' settings change (a driver branch, a reboot revision).
 */
export function workerReboot(name: string, args: WorkerRebootArgs, opts: pulumi.CustomResourceOptions): LocalCommand {
    return new LocalCommand(name, {
        create: rebootScript(args),
        environment: sshEnvironment(args.connection, args.connection.proxy, [args.connection, args.masterConnection]),
    }, opts);
}
