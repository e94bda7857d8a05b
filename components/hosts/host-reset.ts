import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { shellQuote } from "./scripts";
import { helpersVariable, runSteps, sshEnvironment, sshPreamble } from "./ssh-from-here";
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
 * (ssh exits 255) is skipped with a note, so removing a dead host completes. Needs $helpers.
 */
export function resetFromHere(args: HostResetArgs): string {
    return `${runSteps(args.connection, [{ step: "kubeadm-reset", settings: { NODE_NAME: args.nodeName } }], args.checkOnly)}
rc=$?
if ((rc == 255)); then
  echo ${shellQuote(`openpai: ${args.connection.host} is unreachable: its node was deleted, the host itself was not reset; run 'sudo kubeadm reset -f' there if it comes back`)} >&2
  exit 0
fi
exit $rc`;
}

/**
 * `kubeadm reset` of the master when it leaves the cluster. Run from this machine with ssh rather
 * than as a remote.Command delete, because the host may be dead. Nothing runs on create.
 */
export function hostReset(name: string, args: HostResetArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    return new command.local.Command(name, {
        interpreter: ["/bin/bash", "-c"],
        delete: `set -uo pipefail\n${sshPreamble}\n${helpersVariable()}\n${resetFromHere(args)}\n`,
        environment: sshEnvironment(args.connection),
        logging: "stdoutAndStderr",
    }, opts);
}
