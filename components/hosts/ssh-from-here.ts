import * as pulumi from "@pulumi/pulumi";
import { knownHostsName } from "../../config/known-hosts";
import { asRoot, renderSteps, shellQuote, StepPart } from "./scripts";
import { BastionConnection, HostConnection, KnownHost, SshCredentials } from "./step";

/** Exit code of on_host when a host or the bastion shows another SSH host key than its known one. */
export const hostKeyRefusedExit = 4;

/**
 * Bash defining `on_host HOST PORT USER COMMAND`: ssh from the machine that runs Pulumi to a
 * cluster host, with the stack's SSH credentials from the environment (sshEnvironment): the key,
 * or an askpass program for the password, in a private temp dir removed on exit; through the
 * bastion when one is set. Used where a step must reach two hosts in one run (a worker's join) or
 * must tolerate a dead host (a reset on removal), which a remote.Command cannot.
 *
 * Host keys are checked strictly against the known ones from the environment, the same keys the
 * command provider checks, for the bastion too: ssh runs with a config file of its own (-F), which
 * the bastion's ssh (the ProxyCommand) reads as well, and which leaves out the user's ~/.ssh/config
 * as the command provider does. A host showing another key gets nothing (ssh stops before
 * authenticating), and on_host names it and says what to do (exit hostKeyRefusedExit).
 * The bastion's host, port and user reach the ProxyCommand as single-quoted words, '%' doubled
 * (ssh expands %-tokens, then a shell runs the line): no value can add a command.
 */
export const sshPreamble = `dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
[[ "$dir" =~ ^[A-Za-z0-9/._-]+$ ]] || { echo "openpai: the temporary directory $dir has characters ssh's config cannot take: set TMPDIR to a plain path" >&2; exit 1; }
printf '%s\\n' "\${OPENPAI_SSH_KNOWN_HOSTS:-}" >"$dir/known_hosts"
{
  echo "Host *"
  printf '  %s\\n' "ConnectTimeout 15" "ConnectionAttempts 3" "StrictHostKeyChecking yes" "UserKnownHostsFile $dir/known_hosts" \\
    "GlobalKnownHostsFile /dev/null" "CheckHostIP no" "UpdateHostKeys no" "LogLevel ERROR"
  if [[ -n "\${OPENPAI_SSH_KEY:-}" ]]; then echo "  IdentityFile $dir/key"; fi
} >"$dir/config"
if [[ -n "\${OPENPAI_SSH_KEY:-}" ]]; then
  printf '%s\\n' "$OPENPAI_SSH_KEY" >"$dir/key"; chmod 600 "$dir/key"
fi
if [[ -n "\${OPENPAI_SSH_PASSWORD:-}" ]]; then
  cat >"$dir/askpass" <<'OPENPAI_ASKPASS_EOF'
#!/bin/sh
printf '%s\\n' "$OPENPAI_SSH_PASSWORD"
OPENPAI_ASKPASS_EOF
  chmod 700 "$dir/askpass"
  export SSH_ASKPASS="$dir/askpass" SSH_ASKPASS_REQUIRE=force
fi
# proxy_word VALUE: VALUE as one word of a ProxyCommand line.
proxy_word() { local value="\${1//%/%%}"; printf "'%s'" "\${value//\\'/\\'\\\\\\'\\'}"; }
# reach_options HOST PORT: sets reach, ssh's options to reach HOST:PORT (through the bastion when
# one is set), ssh's own messages going to $dir/ssh.log and $dir/bastion.log.
reach_options() {
  reach=(-F "$dir/config" -E "$dir/ssh.log" -p "$2")
  if [[ -n "\${OPENPAI_SSH_BASTION_HOST:-}" ]]; then
    reach+=(-o "ProxyCommand=ssh -F $(proxy_word "$dir/config") -E $(proxy_word "$dir/bastion.log") -W $(proxy_word "[$1]:$2") -p $(proxy_word "$OPENPAI_SSH_BASTION_PORT") -l $(proxy_word "$OPENPAI_SSH_BASTION_USER") -- $(proxy_word "$OPENPAI_SSH_BASTION_HOST")")
  fi
  : >"$dir/ssh.log"; : >"$dir/bastion.log"
}
# key_refused HOST PORT: whether the last ssh refused HOST or the bastion for its host key; if so,
# names it, with the key it showed and the known one (with its note: whose key, what to do).
key_refused() {
  local log name known offered expected
  for log in bastion ssh; do
    grep -q 'Host key verification failed' "$dir/$log.log" || continue
    if [[ "$log" == bastion ]]; then set -- "$OPENPAI_SSH_BASTION_HOST" "$OPENPAI_SSH_BASTION_PORT"; fi
    if [[ "$2" == 22 ]]; then name="\${1,,}"; else name="[\${1,,}]:$2"; fi
    offered="$(sed -nE 's/^The fingerprint for the (.*) key sent by the remote host is$/\\1 /p' "$dir/$log.log")$(grep -o '^SHA256:[A-Za-z0-9+/=]*' "$dir/$log.log" || true)"
    known="$(awk -v name="$name" '$1 == name { $1 = ""; sub(/^ /, ""); print; exit }' "$dir/known_hosts")"
    expected="$(printf '%s\n' "$known" | ssh-keygen -l -f - 2>/dev/null | awk '{ type = $NF; gsub(/[()]/, "", type); print type, $2 }' || true)"
    echo "openpai: the SSH host key of $name is not the expected one: it offered \${offered:-another key}, expected \${expected:-none} ($(cut -d' ' -f3- <<<"$known")). Refused before sending anything. If the host was not reinstalled, another machine may be answering at its address" >&2
    return 0
  done
  return 1
}
on_host() {
  local host="$1" port="$2" user="$3" rc=0; shift 3
  reach_options "$host" "$port"
  ssh "\${reach[@]}" -l "$user" -- "$host" "$@" || rc=$?
  if ((rc == 255)) && key_refused "$host" "$port"; then
    return ${hostKeyRefusedExit}
  fi
  cat "$dir/bastion.log" "$dir/ssh.log" >&2
  return "$rc"
}`;

/** known_hosts lines of hosts: `<name> <type> <base64> <note>`, the name as ssh looks it up (lowercase). */
function knownHostsText(hosts: KnownHost[]): pulumi.Output<string> {
    return pulumi.all(hosts.map(h => pulumi.output(h.hostKey).apply(key => `${knownHostsName(h.host.toLowerCase(), h.port)} ${key}`)))
        .apply(lines => lines.join("\n"));
}

/**
 * The environment sshPreamble reads: the credentials (secret), the bastion, and the known host
 * keys of `hosts` and of the bastion.
 */
export function sshEnvironment(credentials: SshCredentials, bastion: BastionConnection | undefined, hosts: KnownHost[]): Record<string, pulumi.Input<string>> {
    return {
        OPENPAI_SSH_KNOWN_HOSTS: knownHostsText([...hosts, ...(bastion ? [bastion] : [])]),
        ...(bastion ? { OPENPAI_SSH_BASTION_HOST: bastion.host, OPENPAI_SSH_BASTION_PORT: String(bastion.port), OPENPAI_SSH_BASTION_USER: bastion.user } : {}),
        ...(credentials.privateKey ? { OPENPAI_SSH_KEY: pulumi.secret(credentials.privateKey) } : {}),
        ...(credentials.password ? { OPENPAI_SSH_PASSWORD: pulumi.secret(credentials.password) } : {}),
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
