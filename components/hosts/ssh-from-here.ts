import * as pulumi from "@pulumi/pulumi";
import { asRoot, renderSteps, shellQuote, StepPart } from "./scripts";
import { HostConnection } from "./step";

/**
 * Bash defining `on_host HOST PORT USER COMMAND`: ssh from the machine that runs Pulumi to a
 * cluster host, with the stack's SSH credentials from the environment (sshEnvironment): the key,
 * or an askpass program for the password, in a private temp dir removed on exit; through the
 * bastion when one is set. Used where a step must reach two hosts in one run (a worker's join) or
 * must tolerate a dead host (a reset on removal), which a remote.Command cannot.
 */
export const sshPreamble = `dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
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
on_host() { local host="$1" port="$2" user="$3"; shift 3; ssh "\${options[@]}" -p "$port" "$user@$host" "$@"; }`;

/** The environment sshPreamble reads: the credentials (secret) and the bastion of a connection. */
export function sshEnvironment(connection: HostConnection): Record<string, pulumi.Input<string>> {
    const proxy = connection.proxy;
    return {
        OPENPAI_SSH_PROXY: proxy ? `-p ${proxy.port} ${proxy.user}@${proxy.host}` : "",
        ...(connection.privateKey ? { OPENPAI_SSH_KEY: pulumi.secret(connection.privateKey) } : {}),
        ...(connection.password ? { OPENPAI_SSH_PASSWORD: pulumi.secret(connection.password) } : {}),
    };
}

/** Bash that runs, as root on `connection`'s host, the script on its stdin (through on_host). */
function onHost(connection: HostConnection): string {
    return `on_host ${shellQuote(connection.host)} ${connection.port} ${shellQuote(connection.user)} ${shellQuote(asRoot(connection.user))}`;
}

/**
 * Bash that runs step scripts as root on `connection`'s host, with the helpers its first resource
 * keeps there. `pass` exports values of this script's variables there (name there: variable
 * here), through the pipe only (a join token).
 */
export function runSteps(connection: HostConnection, parts: StepPart[], checkOnly: boolean, pass: Record<string, string> = {}): string {
    const exports = Object.entries(pass).map(([name, variable]) => `printf 'export ${name}=%q\\n' "$${variable}"; `).join("");
    return `{ ${exports}cat; } <<'OPENPAI_STEP_EOF' | ${onHost(connection)}\n${renderSteps(parts, checkOnly, "installed")}\nOPENPAI_STEP_EOF`;
}
