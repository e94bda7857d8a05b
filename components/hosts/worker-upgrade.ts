import * as pulumi from "@pulumi/pulumi";
import { LocalCommand } from "./commands";
import { DrainedWorkerArgs, drainSlotFunctions } from "./drain-slot";
import { shellQuote, StepPart } from "./scripts";
import { runSteps, sshEnvironment, sshPreamble } from "./ssh-from-here";

export interface WorkerUpgradeArgs extends DrainedWorkerArgs {
    /** The worker's kube-upgrade step (host-steps.ts kubeUpgradePart). */
    upgrade: StepPart;
}

/**
 * The create script: the worker's kube-upgrade step asked first (UPGRADE_PLAN=1) whether its node
 * runs another release than the cluster's. When it does not (a new host, or one at the release),
 * that is all. Otherwise the node takes a drain slot on the master and is drained, the step
 * upgrades it (kubeadm upgrade node, kubelet and kubectl, kubelet Ready at the new version), and
 * the node is uncordoned and its slot freed. An upgrade that fails marks the slot failed: the node
 * stays cordoned and no other worker is drained until it is fixed.
 */
export function upgradeScript(args: WorkerUpgradeArgs): string {
    const { connection: worker, nodeName, checkOnly } = args;
    const name = shellQuote(nodeName);
    return `set -euo pipefail
${sshPreamble}
# upgrade PLAN: the kube-upgrade step on the worker, deciding only when PLAN is 1.
upgrade() {
  local plan="$1"
  ${runSteps(worker, [args.upgrade], checkOnly, { UPGRADE_PLAN: "plan" })}
}
${drainSlotFunctions(args, "its upgrade")}
plan="$(upgrade 1)"
printf '%s\\n' "$plan" | grep -v '^upgrade-needed=' || true
needed="$(printf '%s\\n' "$plan" | sed -n 's/^upgrade-needed=//p')"
if [[ -z "$needed" ]]; then
  echo "openpai: "${name}": no upgrade needed"
  exit 0
fi
echo "openpai: "${name}" upgrades from $needed"
claim_slot
set +e
upgrade 0
rc=$?
set -e
if ((rc != 0)); then
  echo "openpai: the upgrade of "${name}" failed (exit $rc): it stays cordoned" >&2
  slot failed
  exit "$rc"
fi
slot release
echo "openpai: "${name}" upgraded ($needed)"
`;
}

/**
 * A worker's upgrade: one resource, run from this machine over SSH to the worker and the master
 * (steps kube-upgrade; drain), after the control plane's upgrade. It runs again when the
 * cluster's Kubernetes release changes.
 */
export function workerUpgrade(name: string, args: WorkerUpgradeArgs, opts: pulumi.CustomResourceOptions): LocalCommand {
    return new LocalCommand(name, {
        create: upgradeScript(args),
        environment: sshEnvironment(args.connection, args.connection.proxy, [args.connection, args.masterConnection]),
    }, opts);
}
