import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { ConfigError, parseStackConfig } from "../../config";
import { configuredHostKeys, parseKnownHosts, parsePublicKey } from "../../config/known-hosts";
import { scanScript } from "../../components/hosts/host-key";
import { hostKeyRefusedExit, sshPreamble } from "../../components/hosts/ssh-from-here";
import { layout, rawStack } from "./helpers";

/** Public host keys (made with ssh-keygen for these tests; no private half is kept). */
const ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHIa5Pn2udTGQiMnN1J8zRGGDsb9XCDntsw+IJdNQbw1";
const ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGrLiY+BTU4Eu9H/sxtnyThEDi54SVrzN47lLeUjSebBQ/MfPKxaVLW3JLt8/hiQX/4t2PeoIX6j+dFgaLuYwwk=";
const rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC+uPBfA8uX6o+H0bBTThPEAaNKi4Nky2xR9fLnBh7jWM3XAGjkhmr+V+xypJ0Me4IpjDmYB/gmLeW2qg36NCO9XGKNgWzX1FmxOUPM6BkI+xonAcyUZPC6QFhLct7Y4cKwkrQbZH+COqhSkvkQaVBb7RQplsN69+v+xuWbc4Y6iw==";
/** `ssh-keygen -H` of the line `10.0.0.10 <ed25519>`. */
const hashedMaster = `|1|Xv3sDLIgGqW/0ws4c7+YU8EVFFg=|GpMXfYqd5yEKEJfDEOLRs+fyhQY= ${ed25519}`;

function issues(ssh: unknown, devBox?: unknown): { path: string; message: string }[] {
    try {
        parseStackConfig(rawStack({ layout: layout(2), ssh, ...(devBox ? { devBox } : {}) }));
        return [];
    } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.issues;
    }
}

describe("known SSH host keys in the stack config", () => {
    it("read a key as ssh-keygen and ssh-keyscan write it, refusing what is not one", () => {
        assert.deepStrictEqual(parsePublicKey(`${ed25519} root@pai-master`), { type: "ssh-ed25519", base64: ed25519.split(" ")[1] });
        assert.strictEqual(typeof parsePublicKey(ecdsa), "object");
        assert.strictEqual(typeof parsePublicKey(rsa), "object");
        assert.match(parsePublicKey(`10.0.0.10 ${ed25519}`) as string, /'10.0.0.10' is not a host key type: .*ssh-keyscan prints '<host> <type> <base64>'/);
        assert.match(parsePublicKey("ssh-ed25519 not*base64") as string, /not base64/);
        assert.match(parsePublicKey(`ssh-ed25519 ${ecdsa.split(" ")[1]}`) as string, /is not an ssh-ed25519 key/, "the data names its own type");
        assert.match(parsePublicKey("ssh-dss AAAAB3NzaC1kc3M=") as string, /not a host key type/);
    });

    it("read known_hosts text: plain, [host]:port, hashed and wildcard names, line by line problems", () => {
        const text = `# made by ssh-keyscan\n10.0.0.10,pai-master ${ed25519}\n[10.0.1.1]:2222 ${ecdsa}\n\n${hashedMaster}\n10.0.9.* ${rsa}\n@cert-authority * ${ed25519}\nnot-a-line\n`;
        const known = parseKnownHosts(text);
        assert.deepStrictEqual([...known.byName.keys()], ["10.0.0.10", "pai-master", "[10.0.1.1]:2222"]);
        assert.strictEqual(known.patterned.length, 2);
        assert.ok(known.patterned[0].matches("10.0.0.10") && !known.patterned[0].matches("10.0.0.11"), "hashed names match by HMAC-SHA1");
        assert.ok(known.patterned[1].matches("10.0.9.7") && !known.patterned[1].matches("10.0.19.7"), "wildcards");
        assert.deepStrictEqual(known.problems.map(p => p.replace(/:.*/, "")), ["line 7", "line 8"]);
        assert.match(known.problems[0], /@cert-authority lines are not supported/);
        assert.ok(parseKnownHosts(`*,!10.0.0.10 ${rsa}`).patterned[0].matches("10.0.0.11"));
        assert.ok(!parseKnownHosts(`*,!10.0.0.10 ${rsa}`).patterned[0].matches("10.0.0.10"), "a negated pattern excludes");
    });

    it("find a host's key: hostKeys by hostname or address first, then known_hosts by address or hostname, the preferred type", () => {
        const lookup = configuredHostKeys({
            user: "ubuntu", port: 22, dialAttempts: 30,
            hostKeys: { "pai-worker-0": ecdsa, "10.0.1.2": rsa },
            knownHosts: `10.0.0.10 ${rsa}\n10.0.0.10 ${ed25519}\npai-worker-0 ${ed25519}\n[10.0.0.10]:2222 ${ecdsa}\n${hashedMaster}\n`,
        });
        assert.deepStrictEqual(lookup("10.0.1.1", 22, ["pai-worker-0"]), { key: ecdsa, setting: "openpai:ssh.hostKeys" });
        assert.deepStrictEqual(lookup("10.0.1.2", 22, ["pai-worker-1"]), { key: rsa, setting: "openpai:ssh.hostKeys" });
        assert.deepStrictEqual(lookup("10.0.0.10", 22, ["pai-master"]), { key: ed25519, setting: "openpai:ssh.knownHosts" }, "ed25519 before RSA");
        assert.deepStrictEqual(lookup("10.0.0.10", 2222, ["pai-master"]), { key: ecdsa, setting: "openpai:ssh.knownHosts" }, "another port: [host]:port");
        assert.strictEqual(lookup("10.0.1.3", 22, ["pai-worker-2"]), undefined, "unknown: trusted on first use");
    });

    it("validate: every key and line read, hostKeys naming hosts of the stack (bastion and dev box too)", () => {
        assert.deepStrictEqual(issues({ hostKeys: { "pai-master": ed25519, "10.0.1.1": rsa, "jump.lab": ecdsa, "10.0.0.2": ed25519 }, knownHosts: hashedMaster,
            bastion: { host: "jump.lab" } }, { host: "10.0.0.2" }), []);
        const found = issues({ hostKeys: { "pai-worker-1": `10.0.1.2 ${ed25519}` }, knownHosts: `${ed25519}\n` });
        assert.deepStrictEqual(found.map(i => i.path).sort(), ["ssh.hostKeys.pai-worker-1", "ssh.knownHosts"]);
        assert.match(found.find(i => i.path === "ssh.knownHosts")!.message, /^line 1: '[^']*' is not a host key type/);
        assert.deepStrictEqual(issues({ hostKeys: { "pai-wroker-0": ed25519 } }), [{ path: "ssh.hostKeys.pai-wroker-0",
            message: "names no host of this stack: use a layout hostname or hostip, the bastion's host or the dev box's host" }]);
    });
});

/** Runs bash with the ssh preamble, then `script`, in `env`; a stand-in `ssh` may come first on PATH. */
function withPreamble(script: string, env: Record<string, string>, bin?: string) {
    return spawnSync("bash", ["-c", `set -euo pipefail\n${sshPreamble}\n${script}`], {
        encoding: "utf8", env: { ...process.env, ...env, ...(bin ? { PATH: `${bin}:${process.env.PATH}` } : {}) },
    });
}

describe("ssh from the machine running Pulumi", () => {
    const hostLine = `10.0.1.1 ${ed25519} pai-worker-0 (10.0.1.1:22): key kept since the first up; if the host was reinstalled, accept its new key with pulumi up --replace 'urn:x'`;

    it("checks host keys strictly against the known ones only (ssh -G: the options ssh would use)", () => {
        const r = withPreamble(`reach_options 10.0.1.1 22\nssh -G "\${reach[@]}" -l ubuntu -- 10.0.1.1; cat "$dir/known_hosts"`,
            { OPENPAI_SSH_KNOWN_HOSTS: hostLine, OPENPAI_SSH_KEY: "KEY" });
        assert.strictEqual(r.status, 0, r.stderr);
        const options = new Map(r.stdout.split("\n").map(line => [line.split(" ")[0], line.slice(line.indexOf(" ") + 1)]));
        assert.strictEqual(options.get("stricthostkeychecking"), "true");
        assert.match(options.get("userknownhostsfile")!, /^\/\S+\/known_hosts$/);
        assert.strictEqual(options.get("globalknownhostsfile"), "/dev/null");
        assert.strictEqual(options.get("updatehostkeys"), "false");
        assert.match(options.get("identityfile")!, /^\/\S+\/key$/);
        assert.ok(r.stdout.includes(`\n${hostLine}\n`), "the known_hosts file holds the known keys");
    });

    it("passes hostile bastion values to the bastion's ssh as words, never as commands (real ssh runs the ProxyCommand)", () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-jump-"));
        const marker = path.join(bin, "injected");
        // A stand-in for the bastion's ssh only: the ProxyCommand's ssh records its arguments; the
        // first ssh, on_host's, is the real one (it expands %-tokens and runs the ProxyCommand in a shell).
        fs.writeFileSync(path.join(bin, "ssh"), `#!/usr/bin/env bash
for arg; do [[ "$arg" == -W ]] && { printf '%s\\n' "$@" >"${bin}/jump-args"; exit 1; }; done
exec /usr/bin/ssh "$@"
`, { mode: 0o755 });
        const cases = [
            { user: `u$(touch ${marker})`, host: "jump.lab" },
            { user: "ubuntu", host: `jump|touch ${marker} #` },
            { user: `u\`touch ${marker}\`;touch ${marker}`, host: `jump;touch ${marker}` },
            { user: "it's%h", host: `'$(touch ${marker})'%%` },
        ];
        try {
            for (const { user, host } of cases) {
                fs.rmSync(path.join(bin, "jump-args"), { force: true });
                const r = withPreamble("on_host 10.0.1.1 22 ubuntu true", { OPENPAI_SSH_BASTION_HOST: host, OPENPAI_SSH_BASTION_USER: user, OPENPAI_SSH_BASTION_PORT: "22" }, bin);
                assert.strictEqual(r.status, 255, r.stderr);
                assert.ok(!fs.existsSync(marker), `bastion ${user}@${host} ran a command here`);
                const args = fs.readFileSync(path.join(bin, "jump-args"), "utf8").split("\n").slice(0, -1);
                assert.deepStrictEqual(args.slice(4), ["-W", "[10.0.1.1]:22", "-p", "22", "-l", user, "--", host]);
                assert.deepStrictEqual([args[0], args[2]], ["-F", "-E"], "the bastion's ssh reads the same config (strict, the known keys)");
            }
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    it("names a host whose key changed, with the known key's note, and exits hostKeyRefusedExit", () => {
        // A stand-in for ssh refusing the host's key, as OpenSSH logs it (-E).
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-ssh-"));
        fs.writeFileSync(path.join(bin, "ssh"), `#!/usr/bin/env bash
while [[ "$1" != -E ]]; do shift; done
printf '%s\\n' 'The fingerprint for the ED25519 key sent by the remote host is' 'SHA256:new+fingerprint.' 'Host key verification failed.' >"$2"
exit 255
`, { mode: 0o755 });
        try {
            const r = withPreamble(`rc=0; on_host 10.0.1.1 22 ubuntu true || rc=$?; echo "rc=$rc"`, { OPENPAI_SSH_KNOWN_HOSTS: hostLine }, bin);
            assert.match(r.stdout, new RegExp(`rc=${hostKeyRefusedExit}`));
            assert.match(r.stderr, /^openpai: the SSH host key of 10\.0\.1\.1 is not the expected one: it offered ED25519 SHA256:new\+fingerprint, expected ED25519 SHA256:\S+ \(pai-worker-0 \(10\.0\.1\.1:22\): key kept since the first up; if the host was reinstalled, accept its new key with pulumi up --replace 'urn:x'\)\. Refused before sending anything/);
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });
});

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise(resolve => server.close(resolve));
    return port;
}

/**
 * The real thing: OpenSSH's sshd on 127.0.0.1, reached by the scan and by on_host. sshd runs as
 * root only (it needs its privilege separation directory), so elsewhere this part is skipped.
 */
describe("ssh from here against a real sshd", function () {
    this.timeout(60000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-sshd-"));
    const file = (name: string) => path.join(dir, name);
    let port = 0;
    let sshd: ChildProcess | undefined;
    const keygen = (name: string, type = "ed25519") => {
        fs.rmSync(file(name), { force: true });
        fs.rmSync(`${file(name)}.pub`, { force: true });
        assert.strictEqual(spawnSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "", "-f", file(name)]).status, 0);
    };
    const startSshd = async () => {
        sshd?.kill();
        fs.writeFileSync(file("sshd.log"), "");
        sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", file("sshd_config")], { stdio: ["ignore", "ignore", fs.openSync(file("sshd.log"), "a")] });
        for (let i = 0; i < 50 && !fs.readFileSync(file("sshd.log"), "utf8").includes("Server listening"); i++) {
            await sleep(100);
        }
    };
    const client = () => fs.readFileSync(file("client"), "utf8");

    before(async function () {
        if (process.getuid?.() !== 0 || !fs.existsSync("/usr/sbin/sshd")) {
            this.skip();
        }
        fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
        keygen("client");
        keygen("host_ed25519");
        keygen("host_ecdsa", "ecdsa");
        port = await freePort();
        fs.copyFileSync(file("client.pub"), file("authorized_keys"));
        fs.writeFileSync(file("sshd_config"), [`Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${file("host_ed25519")}`, `HostKey ${file("host_ecdsa")}`,
            `AuthorizedKeysFile ${file("authorized_keys")}`, "UsePAM no", "StrictModes no", "PermitRootLogin prohibit-password", "LogLevel VERBOSE",
            `PidFile ${file("sshd.pid")}`].join("\n"));
        await startSshd();
    });
    after(() => {
        sshd?.kill();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("records the key the host shows, sending nothing but the user name; on_host then runs; a new key is refused before login", async () => {
        const scan = spawnSync("bash", ["-c", scanScript({ label: "pai-worker-0", host: "127.0.0.1", port, user: "root", dialAttempts: 3 })], { encoding: "utf8" });
        assert.strictEqual(scan.status, 0, scan.stderr);
        const recorded = scan.stdout.trim();
        assert.strictEqual(recorded, fs.readFileSync(file("host_ed25519.pub"), "utf8").trim(), "the ed25519 key, as the command provider's ssh prefers it");
        assert.match(scan.stderr, /openpai: recorded the SSH host key of pai-worker-0, 127\.0\.0\.1:\d+ \(trust on first use\): 256 SHA256:/);
        assert.doesNotMatch(fs.readFileSync(file("sshd.log"), "utf8"), /Accepted|Failed (publickey|password)/, "the scan logged in, or tried to");

        const known = { OPENPAI_SSH_KNOWN_HOSTS: `[127.0.0.1]:${port} ${recorded} pai-worker-0 (127.0.0.1:${port}): note`, OPENPAI_SSH_KEY: client() };
        const marker = file("ran");
        const run = () => withPreamble(`rc=0; echo 'touch ${marker}' | on_host 127.0.0.1 ${port} root 'bash -s' || rc=$?; echo "rc=$rc"`, known);
        const ok = run();
        assert.match(ok.stdout, /rc=0/, ok.stderr);
        assert.ok(fs.existsSync(marker), "on_host ran the script");
        fs.rmSync(marker);

        keygen("host_ed25519");
        keygen("host_ecdsa", "ecdsa");
        await startSshd();
        const refused = run();
        assert.match(refused.stdout, new RegExp(`rc=${hostKeyRefusedExit}`), refused.stderr);
        assert.match(refused.stderr, new RegExp(`openpai: the SSH host key of \\[127\\.0\\.0\\.1\\]:${port} is not the expected one: it offered ED25519 SHA256:\\S+, expected ED25519 SHA256:\\S+ \\(pai-worker-0 \\(127\\.0\\.0\\.1:${port}\\): note\\)\\. Refused before sending anything`));
        assert.ok(!fs.existsSync(marker), "the script ran on a host with a changed key");
        const log = fs.readFileSync(file("sshd.log"), "utf8");
        assert.match(log, /Connection closed by 127\.0\.0\.1 port \d+ \[preauth\]/);
        assert.doesNotMatch(log, /Accepted|Failed publickey|Postponed/, "nothing authenticated with the new key");
    });
});
