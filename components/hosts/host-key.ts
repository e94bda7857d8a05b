import * as pulumi from "@pulumi/pulumi";
import { ConfiguredHostKey } from "../../config/known-hosts";
import { LocalCommand } from "./commands";
import { shellQuote } from "./scripts";
import { hostKeyRefusedExit, sshEnvironment, sshPreamble } from "./ssh-from-here";
import { BastionConnection } from "./step";

export interface HostKeyArgs {
    /** The host in messages: its layout hostname, "the bastion" or "the dev box", and its address. */
    label: string;
    /** Its address and SSH port. */
    host: string;
    port: number;
    /** The SSH user (the scan names it, as every login would, and sends nothing else). */
    user: string;
    /** Its key as the stack config gives it, if it does; else the key it shows on the first up is kept. */
    configured?: ConfiguredHostKey;
    /** Scan attempts, with pauses (the host may still be booting). */
    dialAttempts: number;
    /** The bastion the host is reached through (its key known), with the credentials to log in there. */
    bastion?: BastionConnection;
}

/**
 * The script that reads a host's SSH host key once, from this machine: ssh with an empty
 * known_hosts file that takes the first key (accept-new) and no authentication but `none`, so
 * nothing but the user name reaches the host; through the bastion, whose own key is checked. It
 * prints `<type> <base64>` (the key the host's ssh prefers, as the command provider would get).
 */
export function scanScript(args: HostKeyArgs): string {
    const { host, port, user, label } = args;
    const where = shellQuote(`${label}, ${host}:${port}`);
    return `set -euo pipefail
${sshPreamble}
for ((attempt = 1; ; attempt++)); do
  reach_options ${shellQuote(host)} ${port}
  : >"$dir/scanned"
  ssh "\${reach[@]}" -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$dir/scanned" -o HashKnownHosts=no \\
    -o BatchMode=yes -o PreferredAuthentications=none -l ${shellQuote(user)} -- ${shellQuote(host)} true || true
  [[ -s "$dir/scanned" ]] && break
  if key_refused ${shellQuote(host)} ${port}; then exit ${hostKeyRefusedExit}; fi
  if ((attempt >= ${args.dialAttempts})); then
    cat "$dir/bastion.log" "$dir/ssh.log" >&2
    echo "openpai: could not read the SSH host key of "${where}" after ${args.dialAttempts} attempts" >&2
    exit 1
  fi
  sleep $((attempt < 5 ? attempt : 5))
done
echo "openpai: recorded the SSH host key of "${where}" (trust on first use): $(ssh-keygen -l -f "$dir/scanned" | head -n 1)" >&2
awk 'NR == 1 { print $2, $3 }' "$dir/scanned"
`;
}

/**
 * A host's SSH host key, as the connections to it carry it (`<type> <base64> <note>`, step.ts):
 * the one the stack config gives, else the one a `<name>` resource reads on the first up and keeps
 * in the state (trust on first use: one small resource per host whose key the config does not
 * give; it never runs again, so a later key is compared with it). The note names the host and
 * what to do when its key changed; it is part of every connection, so its wording is kept stable.
 */
export function hostKey(name: string, args: HostKeyArgs, opts: pulumi.CustomResourceOptions): pulumi.Input<string> {
    const { label, host, port, configured } = args;
    if (configured) {
        return `${configured.key} ${label} (${host}:${port}): key from ${configured.setting}; if the host was reinstalled, give its new key there`;
    }
    // Read once: a change of the program (its script, the bastion's key or credentials) neither
    // shows as a change nor reads the key again, and any update keeps the key it read.
    const scan = new LocalCommand(name, {
        create: scanScript(args),
        update: `printf '%s\\n' "$PULUMI_COMMAND_STDOUT"`,
        environment: sshEnvironment(args.bastion ?? {}, args.bastion, []),
    }, { ...opts, ignoreChanges: ["create", "update", "environment"] });
    return pulumi.all([scan.stdout, scan.urn]).apply(([key, urn]) =>
        `${key} ${label} (${host}:${port}): key kept since the first up; if the host was reinstalled, accept its new key with pulumi up --replace '${urn}', or give it in openpai:ssh.hostKeys`);
}
