import * as pulumi from "@pulumi/pulumi";
import { LocalCommand } from "./commands";
import { resetFromHere } from "./host-reset";
import { runSteps, sshEnvironment, sshPreamble } from "./ssh-from-here";
import { HostConnection } from "./step";

export interface WorkerJoinArgs {
    /** SSH access to the worker (its credentials and bastion serve for the master too: config.ssh). */
    connection: HostConnection;
    /** SSH access to the master, where the token is made and the node labelled, drained and deleted. */
    masterConnection: HostConnection;
    /** The worker's node name (its layout hostname). */
    nodeName: string;
    /** The worker's node IP (its layout hostip). */
    nodeIp: string;
    /** Its node labels in kubectl syntax (host-steps.ts nodeLabelArgs). */
    nodeLabels: string;
    /** host:port of the API server. */
    apiEndpoint: string;
    /** Print what each step would do instead of doing it. */
    checkOnly: boolean;
}

/**
 * The join's create script: a fresh 2-hour token and the CA's hash from the master, `kubeadm join`
 * on the worker with them, then, from the master, the token deleted (also when the join failed)
 * and the node labelled and Ready. The token passes through this script's memory and pipes only:
 * never in the state, the logs or a file here. A worker (or master) showing another SSH host key
 * than its known one gets nothing: the script stops there, naming it.
 */
export function joinScript(args: WorkerJoinArgs): string {
    const { connection, masterConnection: master, nodeName, checkOnly } = args;
    const deleteToken = { step: "join-token" as const, settings: { NODE_NAME: nodeName, TOKEN_ACTION: "delete" } };
    return `set -euo pipefail
${sshPreamble}
out="$(${runSteps(master, [{ step: "join-token", settings: { NODE_NAME: nodeName } }], checkOnly)}
)"
printf '%s\\n' "$out" | grep -v '^token=' || true
token="$(printf '%s\\n' "$out" | sed -n 's/^token=//p')"
ca_cert_hash="$(printf '%s\\n' "$out" | sed -n 's/^ca_cert_hash=//p')"
[[ -n "$token" && -n "$ca_cert_hash" ]] || { echo "openpai: the master made no join token for ${nodeName}" >&2; exit 1; }
set +e
${runSteps(connection, [{ step: "kubeadm-join", settings: { API_ENDPOINT: args.apiEndpoint, EXPECTED_HOSTNAME: nodeName, NODE_IP: args.nodeIp } }], checkOnly, { JOIN_TOKEN: "token", CA_CERT_HASH: "ca_cert_hash" })}
joined=$?
if ((joined != 0)); then
  ${runSteps(master, [deleteToken], checkOnly)}
  exit "$joined"
fi
set -e
${runSteps(master, [deleteToken, { step: "node", settings: { NODE_NAME: nodeName, NODE_LABELS: args.nodeLabels, NODE_WAIT_READY: 1 } }], checkOnly)}
`;
}

/**
 * The join's delete script: the node drained and deleted from the master, then the host reset,
 * skipped with a note when the host is dead, so removing a dead worker completes.
 */
export function leaveScript(args: WorkerJoinArgs): string {
    const { connection, masterConnection: master, nodeName, checkOnly } = args;
    return `set -euo pipefail
${sshPreamble}
${runSteps(master, [{ step: "node", settings: { NODE_NAME: nodeName, NODE_LABELS: args.nodeLabels, NODE_REMOVE: 1 } }], checkOnly)}
set +e
${resetFromHere({ connection, nodeName, checkOnly })}
`;
}

/**
 * For each of `workers` joins, in layout order, the index of the earlier join it waits for, so
 * that at most `batchSize` run at once (cluster.joinBatchSize): join i waits for join
 * i - batchSize, which makes `batchSize` chains, each starting its next join as soon as its last
 * is done (no wait for the slowest of a batch). Each join talks to the master over one SSH
 * session at a time, so the master sees at most `batchSize` new sessions at once. A removal
 * (`destroy`, or the layout losing workers) goes in the same chains, in reverse: its drains too.
 */
export function joinPredecessors(workers: number, batchSize: number): (number | undefined)[] {
    return Array.from({ length: workers }, (_, i) => i >= batchSize ? i - batchSize : undefined);
}

/**
 * A worker's membership in the cluster: one resource, run from this machine over SSH to both the
 * master and the worker (steps join-token, kubeadm-join and node; on delete node and
 * kubeadm-reset), which a remote.Command, bound to one host, cannot be. Replaced (`pulumi up
 * --replace`), it leaves before it joins again: the other order would join first (a no-op on a
 * joined host), then drain and reset the worker, leaving the state saying it is joined.
 */
export function workerJoin(name: string, args: WorkerJoinArgs, opts: pulumi.CustomResourceOptions): LocalCommand {
    return new LocalCommand(name, {
        create: joinScript(args),
        delete: leaveScript(args),
        environment: sshEnvironment(args.connection, args.connection.proxy, [args.connection, args.masterConnection]),
    }, { ...opts, deleteBeforeReplace: true });
}
