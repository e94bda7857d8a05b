import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { asRoot, inlineStep, shellQuote } from "./scripts";
import { HostConnection, renderedStep } from "./step";

export interface HostResetArgs {
    /** SSH access to the host. */
    connection: HostConnection;
    /** The node name the host joined as: a host that joined again under another name is not reset. */
    nodeName: string;
    /** Print what the reset would do instead of doing it. */
    checkOnly: boolean;
}

/**
 * `kubeadm reset` of a host when it leaves the cluster (deleted after its node was drained). Run
 * from this machine with ssh rather than as a remote.Command delete, because the host may be
 * dead: then the reset is skipped with a note, so removing a dead worker completes. Nothing runs
 * on create.
 */
export function hostReset(name: string, args: HostResetArgs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const { connection } = args;
    const script = renderedStep("kubeadm-reset", args.checkOnly, { NODE_NAME: args.nodeName })
        .apply(r => inlineStep(`"\${ssh[@]}" ${shellQuote(asRoot(connection.user))}`, r));
    const proxy = connection.proxy;
    return new command.local.Command(name, {
        interpreter: ["/bin/bash", "-c"],
        delete: pulumi.interpolate`set -uo pipefail
dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
options=(-o BatchMode=no -o ConnectTimeout=15 -o ConnectionAttempts=3 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
if [[ -n "\${OPENPAI_SSH_KEY:-}" ]]; then
  printf '%s\\n' "$OPENPAI_SSH_KEY" >"$dir/key"; chmod 600 "$dir/key"; options+=(-i "$dir/key")
fi
if [[ -n "\${OPENPAI_SSH_PASSWORD:-}" ]]; then
  printf '#!/bin/sh\\nprintf "%s\\\\n" "$OPENPAI_SSH_PASSWORD"\\n' >"$dir/askpass"; chmod 700 "$dir/askpass"
  export SSH_ASKPASS="$dir/askpass" SSH_ASKPASS_REQUIRE=force
fi
if [[ -n "\${OPENPAI_SSH_PROXY:-}" ]]; then
  options+=(-o "ProxyCommand=ssh \${options[*]} -W %h:%p $OPENPAI_SSH_PROXY")
fi
ssh=(ssh "\${options[@]}" -p "$OPENPAI_SSH_PORT" "$OPENPAI_SSH_USER@$OPENPAI_SSH_HOST")
${script}
rc=$?
if ((rc == 255)); then
  echo "openpai: $OPENPAI_SSH_HOST is unreachable: its node was deleted, the host itself was not reset; run 'sudo kubeadm reset -f' there if it comes back" >&2
  exit 0
fi
exit $rc
`,
        environment: {
            OPENPAI_SSH_HOST: connection.host,
            OPENPAI_SSH_PORT: String(connection.port),
            OPENPAI_SSH_USER: connection.user,
            OPENPAI_SSH_PROXY: proxy ? `-p ${proxy.port} ${proxy.user}@${proxy.host}` : "",
            ...(connection.privateKey ? { OPENPAI_SSH_KEY: pulumi.secret(connection.privateKey) } : {}),
            ...(connection.password ? { OPENPAI_SSH_PASSWORD: pulumi.secret(connection.password) } : {}),
        },
        logging: "stdoutAndStderr",
    }, opts);
}
