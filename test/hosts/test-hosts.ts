import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../engine/harness";

/** Network-namespace hosts with real sshd (scripts/test-hosts.sh), in a directory of their own. */
export class TestHosts {
    readonly env: NodeJS.ProcessEnv;

    constructor(readonly dir: string) {
        this.env = { ...process.env, OPENPAI_TEST_HOSTS_DIR: dir };
    }

    private script(args: string[]): string {
        return execFileSync("bash", [path.join(projectRoot, "scripts", "test-hosts.sh"), ...args],
            { env: this.env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    }

    /** Starts hosts 1..n; returns their names (also their hostnames) and addresses. */
    up(n: number): { name: string; address: string }[] {
        return this.script(["up", String(n)]).trim().split("\n").map(line => {
            const [name, address] = line.split(" ");
            return { name, address };
        });
    }

    stop(i: number): void {
        this.script(["stop", String(i)]);
    }

    start(i: number): void {
        this.script(["start", String(i)]);
    }

    down(): void {
        this.script(["down"]);
    }

    privateKey(): string {
        return fs.readFileSync(path.join(this.dir, "id_ed25519"), "utf8");
    }
}

/**
 * A kubeadm-mode stack config in check-only mode on test hosts: the first host is the master,
 * the others 8-GPU workers (their checks only report that the GPUs are missing).
 */
export function checkOnlyStackConfig(hosts: { name: string; address: string }[], clusterName: string): Record<string, unknown> {
    return {
        "openpai:cluster": { name: clusterName, mode: "kubeadm", checkOnly: true },
        "openpai:ssh": { user: "root", dialAttempts: 3 },
        "openpai:layout": {
            "machine-sku": {
                "master-machine": { mem: "1Gi", cpu: { vcore: 1 } },
                "gpu-machine": { mem: "1Gi", cpu: { vcore: 1 }, "computing-device": { type: "nvidia.com/gpu", model: "A100", count: 8 } },
            },
            "machine-list": hosts.map((h, i) => ({
                hostname: h.name, hostip: h.address, "machine-type": i === 0 ? "master-machine" : "gpu-machine",
                ...(i === 0 ? { "pai-master": true } : { "pai-worker": true }),
            })),
        },
    };
}
