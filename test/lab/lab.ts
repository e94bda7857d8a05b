import { execFile, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../engine/harness";

/** A lab host: its name (= hostname and node name) and address on the lab bridge. */
export interface LabHost {
    name: string;
    address: string;
    /** Offer containerd 2.x in its apt sources (`lab.sh host start ... --containerd 2`); default: Debian 12's 1.6. Kept by the host once made. */
    containerd?: 2;
}

/** What `lab.sh env` reports: where the lab's services answer, and how to log in to its hosts. */
export interface LabEnv {
    registry: string;
    aptRepo: string;
    /** Fingerprint of the key the apt repository signs with (a test key: cluster.aptMirrorKeyFingerprint). */
    aptKeyFingerprint: string;
    aptProxy: string;
    sshUser: string;
    sshKey: string;
    /** Where the hosts' disks are: `<hostsDir>/<name>/merged` is a running host's root filesystem. */
    hostsDir: string;
}

const labScript = path.join(projectRoot, "lab", "lab.sh");

/**
 * The local lab (lab/lab.sh) for tests: systemd hosts on a private bridge, the registry, the
 * apt repository and the apt proxy. Logs of the lab go to the test's stderr.
 */
export class Lab {
    private run(args: string[], timeoutMs = 30 * 60 * 1000): string {
        return execFileSync("bash", [labScript, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: timeoutMs, maxBuffer: 1 << 26 });
    }

    /** Builds what the lab serves (cached: seconds when warm), then starts its services. */
    up(): LabEnv {
        this.run(["build"], 80 * 60 * 1000);
        this.run(["up"]);
        return this.env();
    }

    env(): LabEnv {
        const vars = Object.fromEntries(this.run(["env"]).trim().split("\n").map(line => line.split("=", 2) as [string, string]));
        return {
            registry: vars.LAB_REGISTRY, aptRepo: vars.LAB_APT_REPO, aptKeyFingerprint: vars.LAB_APT_KEY_FINGERPRINT, aptProxy: vars.LAB_APT_PROXY,
            sshUser: vars.LAB_SSH_USER, sshKey: vars.LAB_SSH_KEY, hostsDir: vars.LAB_HOSTS_DIR,
        };
    }

    /** Boots hosts in parallel; resolves when each answers over SSH. */
    async start(hosts: LabHost[]): Promise<void> {
        await Promise.all(hosts.map(host => new Promise<void>((resolve, reject) =>
            execFile("bash", [labScript, "host", "start", host.name, host.address, ...(host.containerd ? ["--containerd", String(host.containerd)] : [])], { timeout: 10 * 60 * 1000 },
                (err, _stdout, stderr) => err ? reject(new Error(`lab host start ${host.name}: ${err.message}\n${stderr}`)) : resolve()))));
    }

    /** The lab's hosts, running or stopped (`lab.sh host list`); none when the lab is down. */
    hosts(): (LabHost & { running: boolean })[] {
        const r = spawnSync("bash", [labScript, "host", "list"], { encoding: "utf8" });
        return (r.status === 0 ? r.stdout : "").split("\n").filter(Boolean).map(line => {
            const [name, address, state] = line.split(/\s+/);
            return { name, address, running: state === "running" };
        });
    }

    /** Pulls a host's plug; its disk stays for `start`. */
    stop(host: LabHost): void {
        this.run(["host", "stop", host.name]);
    }

    /** Runs a command on a host as the sudo user; returns its stdout (throws on failure). */
    ssh(host: LabHost, command: string): string {
        return this.run(["host", "ssh", host.name, command], 10 * 60 * 1000);
    }

    /** A file of a running host, read from its root filesystem here: no login to it, nothing in its logs. */
    readHostFile(host: LabHost, file: string): string {
        return fs.readFileSync(path.join(this.env().hostsDir, host.name, "merged", file), "utf8");
    }

    /** Memory each running host uses, from `lab.sh status` (MiB by host name). */
    memory(): Record<string, number> {
        const out: Record<string, number> = {};
        for (const line of this.run(["status"]).split("\n")) {
            const m = /^(\S+)\s+\S+\s+running .*memory (\d+) MiB/.exec(line);
            if (m) {
                out[m[1]] = Number(m[2]);
            }
        }
        return out;
    }

    /** Stops every host and service and removes the lab's state (the caches stay). */
    down(): void {
        this.run(["down"]);
    }

    privateKey(): string {
        return fs.readFileSync(this.env().sshKey, "utf8");
    }
}
