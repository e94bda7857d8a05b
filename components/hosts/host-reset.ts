import * as pulumi from "@pulumi/pulumi";
import { LocalCommand } from "./commands";
import { notProvisionedExit, shellQuote } from "./scripts";
import { hostKeyRefusedExit, runSteps, sshEnvironment, sshPreamble } from "./ssh-from-here";
import { HostConnection } from "./step";

export interface HostResetArgs {
    /** SSH access to the host. */
    connection: HostConnection;
    /** The node name the host joined as: a host that joined again under another name is not reset. */
    nodeName: string;
    /** Print what the reset would do instead of doing it. */
    checkOnly: boolean;
}

/**
 * Bash that runs `kubeadm reset` on a host leaving the cluster, from this machine: a dead host
 * (ssh exits 255), one without this stack's helpers (wiped or reinstalled: nothing of ours to
 * reset), or one showing another SSH host key (reinstalled, or not the host: nothing is sent to
 * it), is skipped with a note, so removing it completes.
 */
export function resetFromHere(args: HostResetArgs): string {
    return `${runSteps(args.connection, [{ step: "kubeadm-reset", settings: { NODE_NAME: args.nodeName } }], args.checkOnly)}
rc=$?
if ((rc == 255)); then
  echo ${shellQuote(`openpai: ${args.connection.host} is unreachable: its node was deleted, the host itself was not reset; run 'sudo kubeadm reset -f' there if it comes back`)} >&2
  exit 0
fi
if ((rc == ${hostKeyRefusedExit})); then
  echo ${shellQuote(`openpai: ${args.connection.host} was not reset (its SSH host key is not the known one, above): its node was deleted; if it is the same machine, run 'sudo kubeadm reset -f' there`)} >&2
  exit 0
fi
if ((rc == ${notProvisionedExit})); then
  echo ${shellQuote(`openpai: ${args.connection.host} was not provisioned by this stack (or was reinstalled): its node was deleted, nothing to reset there`)} >&2
  exit 0
fi
exit $rc`;
}

/**
 * `kubeadm reset` of the master when it leaves the cluster. Run from this machine with ssh rather
 * than as a remote.Command delete, because the host may be dead. Nothing runs on create; replaced,
 * the reset runs before the new one is created, as every replaced host command's delete does.
 */
export function hostReset(name: string, args: HostResetArgs, opts: pulumi.CustomResourceOptions): LocalCommand {
    return new LocalCommand(name, {
        delete: `set -uo pipefail\n${sshPreamble}\n${resetFromHere(args)}\n`,
        environment: sshEnvironment(args.connection, args.connection.proxy, [args.connection]),
    }, { ...opts, deleteBeforeReplace: true });
}
