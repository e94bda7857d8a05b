import { spawn } from "child_process";
import * as fs from "fs";
import { Writable } from "stream";
import { ConfigError, masterOf, parseStackConfig, readStackFile, StackConfig } from "../config";
import { shellQuote, standaloneScript, StepName } from "../components/hosts/scripts";
import { paiNamespace } from "../components/pai/context";
import { postgresUid } from "../components/pai/manifests/postgresql";
import { Io, parseFlags, UsageError } from "./args";
import { BackupFileError, decryptFile, readKeyFile, writeEncrypted } from "./backup-file";

/** The CLI's lines for `openpai --help`. */
export const backupCommands: [string, string][] = [
    ["backup --key-file K [--identity F] [--ssh-option O]... <Pulumi.stack.yaml> <backup-file>",
        "take the master's etcd snapshot, its CAs and OpenPAI's database over SSH into an encrypted file here"],
    ["restore --key-file K [--identity F] [--ssh-option O]... <Pulumi.stack.yaml> <backup-file>",
        "stage a backup on a master rebuilt at its address; the next pulumi up restores it (docs/operating.md)"],
];

/** How the CLI reaches the master: the admin's own ssh, with the stack's user, port and bastion. */
export interface SshOptions {
    /** A private key file for ssh -i (else ssh's own defaults and agent). */
    identity?: string;
    /** More `-o` options for ssh (host key files, ...). */
    options: string[];
}

/** The ssh command line that runs `script` as root on the stack's master. */
export function masterSshArgs(stack: StackConfig, script: string, ssh: SshOptions): string[] {
    const master = masterOf(stack.layout);
    const { user, port, bastion } = stack.ssh;
    const args = ["-o", "BatchMode=yes", "-p", String(port)];
    if (ssh.identity) {
        args.push("-i", ssh.identity, "-o", "IdentitiesOnly=yes");
    }
    if (bastion) {
        const host = bastion.host.includes(":") ? `[${bastion.host}]` : bastion.host;
        args.push("-J", `${bastion.user ?? user}@${host}:${bastion.port}`);
    }
    for (const option of ssh.options) {
        args.push("-o", option);
    }
    // sshd hands the command to the user's shell: one quoted word for bash -c.
    const remote = `${user === "root" ? "" : "sudo -n "}bash -c ${shellQuote(script)}`;
    return [...args, "-l", user, "--", master.hostip, remote];
}

/** The settings of the backup and restore scripts for this stack's master. */
export function masterScript(step: Extract<StepName, "backup" | "restore">, stack: StackConfig): string {
    const master = masterOf(stack.layout);
    return standaloneScript(step, step === "backup"
        ? { EXPECTED_HOSTNAME: master.hostname, MASTER_IP: master.hostip, PAI_NAMESPACE: paiNamespace }
        : { EXPECTED_HOSTNAME: master.hostname, MASTER_IP: master.hostip, POSTGRES_UID: postgresUid });
}

/** Passes text through to `err` line by line (chunks of a stream split lines anywhere). */
function lineWriter(err: (text: string) => void): { write: (chunk: Buffer) => void; end: () => void } {
    let pending = "";
    return {
        write: chunk => {
            pending += chunk.toString("utf8");
            const lines = pending.split("\n");
            pending = lines.pop()!;
            lines.forEach(line => err(line));
        },
        end: () => {
            if (pending) {
                err(pending);
            }
        },
    };
}

/** Why an ssh run to the master failed, for the user. */
function remoteFailure(stack: StackConfig, what: string, code: number | null): Error {
    const master = masterOf(stack.layout);
    return new BackupFileError(code === 255
        ? `ssh to the master ${master.hostname} (${stack.ssh.user}@${master.hostip}:${stack.ssh.port}) failed (above): check that ssh reaches it with this user and key (--identity), and knows its host key`
        : `${what} failed on ${master.hostname} (exit ${code ?? "by a signal"}): see above`);
}

/** Takes a backup of the master into `file`, encrypted as it arrives. */
async function backup(stack: StackConfig, file: string, secret: Buffer, ssh: SshOptions, io: Io): Promise<number> {
    if (fs.existsSync(file) || fs.existsSync(`${file}.partial`)) {
        throw new BackupFileError(`${file} (or ${file}.partial) is there already: name a new file; a backup never overwrites one`);
    }
    const child = spawn("ssh", masterSshArgs(stack, masterScript("backup", stack), ssh), { stdio: ["ignore", "pipe", "pipe"] });
    const log = lineWriter(io.err);
    child.stderr.on("data", log.write);
    const exited = new Promise<number | null>(resolve => child.on("close", code => resolve(code)));
    let written: number | undefined;
    let streamError: unknown;
    try {
        written = await writeEncrypted(child.stdout, file, secret);
    } catch (err) {
        streamError = err;
    }
    const code = await exited;
    log.end();
    if (code !== 0) {
        fs.rmSync(file, { force: true });
        throw remoteFailure(stack, "the backup", code);
    }
    if (streamError) {
        throw streamError;
    }
    io.out(`wrote ${file}: ${written} bytes, encrypted (AES-256-GCM) with the key of the key file; keep the key apart from the backups`);
    return 0;
}

/** Stages a backup on the (rebuilt) master, once the whole file is known to be intact. */
async function restore(stack: StackConfig, file: string, secret: Buffer, ssh: SshOptions, io: Io): Promise<number> {
    await decryptFile(file, secret);
    const child = spawn("ssh", masterSshArgs(stack, masterScript("restore", stack), ssh), { stdio: ["pipe", "pipe", "pipe"] });
    const log = lineWriter(io.err);
    const out = lineWriter(io.out);
    child.stderr.on("data", log.write);
    child.stdout.on("data", out.write);
    const exited = new Promise<number | null>(resolve => child.on("close", code => resolve(code)));
    let streamError: unknown;
    try {
        await decryptFile(file, secret, child.stdin as Writable);
    } catch (err) {
        // A script that stops reading (it refused the host) closes the pipe: its exit says why.
        streamError = err;
    }
    const code = await exited;
    log.end();
    out.end();
    if (code !== 0) {
        throw remoteFailure(stack, "staging the backup", code);
    }
    if (streamError) {
        throw streamError;
    }
    io.out(`staged ${file} on ${masterOf(stack.layout).hostname}: run pulumi up (with --replace of the master's hostkey resource when the rebuilt master has a new SSH host key; docs/operating.md "Backup and restore")`);
    return 0;
}

/** `openpai backup ...` and `openpai restore ...`. */
export async function backupCommand(command: "backup" | "restore", args: string[], io: Io): Promise<number> {
    const { flags, lists, positional } = parseFlags(args, ["--key-file", "--identity"], [], ["--ssh-option"]);
    if (positional.length !== 2) {
        throw new UsageError(`${command} takes a stack file and a backup file`);
    }
    if (typeof flags["--key-file"] !== "string") {
        throw new UsageError(`${command} needs --key-file: the file holding the backup's key (make one with 'openssl rand -base64 32 > backup.key; chmod 600 backup.key')`);
    }
    const [stackFile, file] = positional;
    const stack = parseStackConfig(readStackFile(stackFile), stackFile, { requireSecrets: false });
    if (stack.cluster.mode !== "kubeadm") {
        throw new ConfigError(stackFile, [{ path: "openpai:cluster.mode", message: `is '${stack.cluster.mode}': openpai ${command} works on the master this stack made with kubeadm; back up an existing cluster the way its provider does` }]);
    }
    const secret = readKeyFile(flags["--key-file"]);
    const ssh: SshOptions = { identity: typeof flags["--identity"] === "string" ? flags["--identity"] : undefined, options: lists["--ssh-option"] ?? [] };
    return command === "backup" ? backup(stack, file, secret, ssh, io) : restore(stack, file, secret, ssh, io);
}
