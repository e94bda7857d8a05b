import * as crypto from "crypto";
import type { ConfigIssue } from "./errors";
import type { DevBoxConfig, Layout, SshConfig } from "./schema";

/*
 * SSH host keys the stack config gives (openpai:ssh.hostKeys and openpai:ssh.knownHosts), read
 * the way OpenSSH reads authorized_keys and known_hosts lines (sshd(8), "SSH_KNOWN_HOSTS FILE
 * FORMAT"): the keys that both the command provider (golang.org/x/crypto/ssh) and ssh verify.
 */

/** Host key types, in the order a host's key is chosen when several are known (OpenSSH's preference). */
export const hostKeyTypes = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

/** A host's public key: `<type> <base64>`, the first two fields of an authorized_keys line. */
export interface PublicKey {
    type: string;
    base64: string;
}

/** Reads `<type> <base64> [comment]`, or says what is wrong with it. */
export function parsePublicKey(text: string): PublicKey | string {
    const [type = "", base64 = ""] = text.trim().split(/\s+/);
    if (!hostKeyTypes.includes(type)) {
        return `'${type.slice(0, 40)}' is not a host key type: give the key as '<type> <base64>' (ssh-keyscan prints '<host> <type> <base64>'), type one of ${hostKeyTypes.join(", ")}`;
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
        return `the ${type} key is not base64: give the key as '<type> <base64>'`;
    }
    // The key's data starts with its own type, as a length-prefixed string (RFC 4253, section 6.6).
    const blob = Buffer.from(base64, "base64");
    if (blob.length < 4 + type.length || blob.readUInt32BE(0) !== type.length || blob.toString("latin1", 4, 4 + type.length) !== type) {
        return `the data after '${type}' is not an ${type} key: copy the whole line again (ssh-keyscan, or /etc/ssh/ssh_host_*_key.pub on the host)`;
    }
    return { type, base64 };
}

/** A known_hosts text read into its key lines, with the problems of the lines that do not read. */
export interface KnownHosts {
    /** Keys of the lines that name hosts literally (most lines: ssh-keyscan's), by name. */
    byName: Map<string, PublicKey[]>;
    /** Lines with wildcards, negations or hashed names, each with its test. */
    patterned: { key: PublicKey; matches: (name: string) => boolean }[];
    problems: string[];
}

/** A test of OpenSSH's host patterns: `*` and `?` wildcards; a line matches when a pattern does and no `!pattern` does. */
function patternTest(patterns: string[]): (name: string) => boolean {
    const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
    const positive = patterns.filter(p => !p.startsWith("!")).map(glob);
    const negative = patterns.filter(p => p.startsWith("!")).map(p => glob(p.slice(1)));
    return name => positive.some(re => re.test(name)) && !negative.some(re => re.test(name));
}

/** Reads a known_hosts text: `<hosts> <type> <base64> [comment]` lines; blank lines and `#` comments skipped. */
export function parseKnownHosts(text: string): KnownHosts {
    const known: KnownHosts = { byName: new Map(), patterned: [], problems: [] };
    text.split("\n").forEach((raw, i) => {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
            return;
        }
        const [hosts, ...rest] = line.split(/\s+/);
        if (hosts.startsWith("@")) {
            known.problems.push(`line ${i + 1}: ${hosts.slice(0, 20)} lines are not supported (the command provider checks a host's own key): list each host's key instead`);
            return;
        }
        const key = parsePublicKey(rest.join(" "));
        if (typeof key === "string") {
            known.problems.push(`line ${i + 1}: ${key}`);
            return;
        }
        const hashed = /^\|1\|([A-Za-z0-9+/]+={0,2})\|([A-Za-z0-9+/]+={0,2})$/.exec(hosts);
        const patterns = hosts.toLowerCase().split(",");
        if (hashed) {
            const [salt, hash] = [Buffer.from(hashed[1], "base64"), hashed[2]];
            known.patterned.push({ key, matches: name => crypto.createHmac("sha1", salt).update(name).digest("base64") === hash });
        } else if (hosts.startsWith("|")) {
            known.problems.push(`line ${i + 1}: a hashed host name must be |1|<salt>|<hash> (ssh-keygen -H)`);
        } else if (patterns.some(p => /[*?!]/.test(p))) {
            known.patterned.push({ key, matches: patternTest(patterns) });
        } else {
            for (const name of patterns) {
                known.byName.set(name, [...(known.byName.get(name) ?? []), key]);
            }
        }
    });
    return known;
}

/** The name ssh looks a host up by in known_hosts: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
    return port === 22 ? host : `[${host}]:${port}`;
}

/** The key to check a host by among those known for it: the most preferred type (hostKeyTypes). */
function preferred(keys: PublicKey[]): PublicKey | undefined {
    return [...keys].sort((a, b) => hostKeyTypes.indexOf(a.type) - hostKeyTypes.indexOf(b.type))[0];
}

/** A host's key from the stack config and the setting it came from. */
export interface ConfiguredHostKey {
    /** `<type> <base64>`. */
    key: string;
    /** The setting that gave it, for messages: `openpai:ssh.hostKeys` or `openpai:ssh.knownHosts`. */
    setting: string;
}

/** Looks up the key the stack config gives for a host (configuredHostKeys). */
export type HostKeyLookup = (host: string, port: number, names?: string[]) => ConfiguredHostKey | undefined;

/**
 * The keys the stack config gives, by host reached at `host`:`port` and also called `names` (its
 * layout hostname): `ssh.hostKeys` by any of its names or its address, else the known_hosts lines
 * of `ssh.knownHosts` naming it (several keys: the preferred type). Undefined when neither knows it.
 */
export function configuredHostKeys(ssh: SshConfig): HostKeyLookup {
    const knownHosts = parseKnownHosts(ssh.knownHosts ?? "");
    return (host, port, names = []) => {
        const given = [...names, host].map(name => ssh.hostKeys?.[name]).find(key => key !== undefined);
        if (given !== undefined) {
            const key = parsePublicKey(given) as PublicKey;
            return { key: `${key.type} ${key.base64}`, setting: "openpai:ssh.hostKeys" };
        }
        const lookedUp = [host, ...names].map(name => knownHostsName(name.toLowerCase(), port));
        const key = preferred([
            ...lookedUp.flatMap(name => knownHosts.byName.get(name) ?? []),
            ...knownHosts.patterned.filter(line => lookedUp.some(line.matches)).map(line => line.key),
        ]);
        return key && { key: `${key.type} ${key.base64}`, setting: "openpai:ssh.knownHosts" };
    };
}

/** `ssh.hostKeys` names hosts of the stack: the layout's hostnames and addresses, the bastion's and the dev box's host. */
export function checkHostKeyNames(config: { ssh: SshConfig; layout: Layout; devBox?: DevBoxConfig }): ConfigIssue[] {
    const { ssh, layout, devBox } = config;
    const known = new Set([...layout["machine-list"].flatMap(m => [m.hostname, m.hostip]), ssh.bastion?.host, devBox?.host]);
    return Object.keys(ssh.hostKeys ?? {}).filter(name => !known.has(name)).map(name => ({
        path: `ssh.hostKeys.${name}`,
        message: `names no host of this stack: use a layout hostname or hostip, the bastion's host or the dev box's host`,
    }));
}
