import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { Engine, must, projectEntries, projectRoot, scriptBinDir, Stack } from "../engine/harness";
import { labHosts, labStackConfig } from "../hosts/lab-stack";
import { Lab, LabEnv } from "../lab/lab";
import { setTimeout as sleep } from "timers/promises";

/** Simulated 8-GPU workers (kwok nodes on the lab cluster's API server), for HiveD to schedule onto. */
export const gpuNodes = ["gpu-0", "gpu-1", "gpu-2", "gpu-3"].map((name, i) => ({ name, address: `10.78.1.${10 + i}` }));
const portal = `http://${labHosts.master.address}`;

export interface PaiStackOptions {
    /** openpai:virtualClusters (default: vc1 gets two GPU nodes, default the rest). */
    virtualClusters?: Record<string, unknown>;
    /** openpai:groups. */
    groups?: Record<string, unknown>[];
}

/**
 * OpenPAI for real on the lab: a kubeadm cluster of the lab's hosts (one stack, platform off),
 * kwok adding simulated 8-GPU nodes to its API server, and the PAI platform deployed onto that
 * cluster in existing mode (a second stack) with the stand-in images from the lab's registry.
 * Core services and CPU jobs run on the real nodes; GPU jobs are bound by HiveD to the simulated ones.
 */
export class PaiLab {
    readonly lab = new Lab();
    env!: LabEnv;
    engine!: Engine;
    cluster!: Stack;
    pai!: Stack;
    kubeconfig = "";
    private kwok?: ChildProcess;
    readonly timings: Record<string, number> = {};

    async up(options: PaiStackOptions = {}): Promise<void> {
        let started = Date.now();
        this.env = this.lab.up();
        await this.lab.start([labHosts.master, ...labHosts.workers]);
        // examples/: the operating guide submits the example jobs from the project directory.
        this.engine = new Engine({ dir: projectRoot, entries: [...projectEntries, "examples"] });
        this.cluster = this.engine.stack("cluster", labStackConfig(this.env, { devBox: false }), { "openpai:sshPrivateKey": this.lab.privateKey() });
        must(this.cluster.run(["up", "--yes", "--skip-preview"]));
        this.timings.cluster_up = Date.now() - started;
        this.kubeconfig = path.join(this.engine.dir, "kubeconfig");
        fs.writeFileSync(this.kubeconfig, must(this.cluster.run(["stack", "output", "kubeconfig", "--show-secrets"])).stdout, { mode: 0o600 });
        this.startKwok();
        started = Date.now();
        this.pai = this.engine.stack("pai", this.paiConfig(options), { "openpai:kubeconfig": fs.readFileSync(this.kubeconfig, "utf8") });
        this.registerGpuNodes();
        must(this.pai.run(["up", "--yes", "--skip-preview"]));
        this.timings.pai_up = Date.now() - started;
    }

    /** The PAI stack's config: existing mode on the lab cluster, real CPU workers and simulated GPU ones. */
    paiConfig(options: PaiStackOptions = {}): Record<string, unknown> {
        const { master, workers } = labHosts;
        return {
            "openpai:cluster": { name: "lab", mode: "existing" },
            "openpai:layout": {
                "machine-sku": {
                    "master-machine": { mem: "2Gi", cpu: { vcore: 2 } },
                    "cpu-machine": { mem: "4Gi", cpu: { vcore: 2 } },
                    "gpu-machine": { mem: "512Gi", cpu: { vcore: 64 }, "computing-device": { type: "nvidia.com/gpu", model: "A100", count: 8 } },
                },
                "machine-list": [
                    { hostname: master.name, hostip: master.address, "machine-type": "master-machine", "pai-master": true },
                    ...workers.map(w => ({ hostname: w.name, hostip: w.address, "machine-type": "cpu-machine", "pai-worker": true })),
                    ...gpuNodes.map(g => ({ hostname: g.name, hostip: g.address, "machine-type": "gpu-machine", "pai-worker": true })),
                ],
            },
            "openpai:virtualClusters": options.virtualClusters ?? { vc1: { "gpu-machine": 2 } },
            ...(options.groups ? { "openpai:groups": options.groups } : {}),
            // Grafana cannot be rebuilt here (lab/pai-images/README.md): everything else runs.
            // The lab master has 2 cores: OpenPAI's CPU requests add up to about 2.5 of them. Its
            // disk is this machine's, which may be fuller than OpenPAI's 80% safety margin.
            "openpai:services": { grafana: false, cpuRequestScale: 0.25, databaseMaxDiskUsagePercent: 99 },
        };
    }

    /** kwok marks the simulated nodes Ready and the pods bound to them Running. */
    private startKwok(): void {
        const bin = scriptBinDir("kube-binaries.sh");
        const stages = fs.readdirSync(path.join(bin, "..", "kwok-stages")).map(f => path.join(bin, "..", "kwok-stages", f)).join(",");
        const log = fs.openSync(path.join(this.engine.dir, "kwok.log"), "a");
        this.kwok = spawn(path.join(bin, "kwok"), ["--kubeconfig", this.kubeconfig,
            "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake", "--cidr", "10.250.0.0/16", "--config", stages,
            // Leases, renewed well inside the real controller-manager's 50 s grace period: the
            // lease stage's status heartbeat comes only every 10 minutes.
            "--node-lease-duration-seconds", "40"],
        { stdio: ["ignore", log, log], detached: true });
    }

    /** The simulated GPU nodes as `openpai nodes` describes the layout's machines. */
    private registerGpuNodes(): void {
        const r = spawnSync(process.execPath, [path.join(projectRoot, "bin", "openpai.js"), "nodes", this.pai.configFile], { encoding: "utf8" });
        const docs = r.stdout.split(/^---$/m).map(d => yaml.load(d) as { metadata: { name: string } });
        const fake = docs.filter(d => gpuNodes.some(g => g.name === d.metadata.name));
        this.kubectl(["apply", "-f", "-"], fake.map(d => yaml.dump(d)).join("---\n"));
        this.kubectl(["wait", "--for=condition=Ready", ...gpuNodes.map(g => `node/${g.name}`), "--timeout=120s"]);
    }

    kubectl(args: string[], input?: string): string {
        const r = spawnSync(path.join(scriptBinDir("kube-binaries.sh"), "kubectl"), ["--kubeconfig", this.kubeconfig, ...args], { encoding: "utf8", input });
        if (r.status !== 0) {
            throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
        }
        return r.stdout;
    }

    json<T = any>(args: string[]): T {
        return JSON.parse(this.kubectl([...args, "-o", "json"]));
    }

    adminPassword(): string {
        return must(this.pai.run(["stack", "output", "adminPassword", "--show-secrets"])).stdout.trim();
    }

    /** A call to rest-server through pylon, as the portal makes it. */
    async rest(method: string, route: string, options: { token?: string; json?: unknown; yaml?: string } = {}): Promise<{ status: number; body: any }> {
        const headers: Record<string, string> = {};
        if (options.token) {
            headers.Authorization = `Bearer ${options.token}`;
        }
        let body: string | undefined;
        if (options.json !== undefined) {
            headers["Content-Type"] = "application/json";
            body = JSON.stringify(options.json);
        } else if (options.yaml !== undefined) {
            headers["Content-Type"] = "text/yaml";
            body = options.yaml;
        }
        const res = await fetch(`${portal}/rest-server${route}`, { method, headers, body });
        const text = await res.text();
        let parsed: unknown = text;
        try {
            parsed = JSON.parse(text);
        } catch {
            // not JSON: keep the text
        }
        return { status: res.status, body: parsed };
    }

    async login(username: string, password: string): Promise<string> {
        const r = await this.rest("POST", "/api/v1/authn/basic/login", { json: { username, password, expiration: 3600 } });
        if (r.status !== 200 || !r.body.token) {
            throw new Error(`login of ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
        }
        return r.body.token;
    }

    async down(): Promise<void> {
        if (this.kwok?.pid) {
            try {
                process.kill(-this.kwok.pid);
            } catch {
                // already gone
            }
        }
        try {
            this.lab.down();
        } finally {
            this.engine?.cleanup();
        }
    }
}

/** Polls `check` every 3 s until it returns a value or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5 * 60 * 1000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value !== undefined && value !== false) {
                return value;
            }
        } catch (err) {
            last = err;
        }
        await sleep(3000);
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}
