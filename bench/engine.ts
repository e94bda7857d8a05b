import { spawnSync } from "child_process";
import * as fs from "fs";
import { configWithWorkers, Engine, testPrivateKey, toolchainBin } from "../test/engine/harness";
import { labHosts, labStackConfig } from "../test/hosts/lab-stack";
import { Lab } from "../test/lab/lab";
import { Figure, round } from "./hived";

/** Runs `pulumi <args>` under /usr/bin/time for the peak memory (KiB) of the CLI and its children. */
function timed(engine: Engine, args: string[]): { seconds: number; peakMiB?: number; stdout: string } {
    const started = Date.now();
    const haveTime = fs.existsSync("/usr/bin/time");
    const [cmd, argv] = haveTime ? ["/usr/bin/time", ["-f", "%M", "pulumi", ...args, "--non-interactive"]] : ["pulumi", [...args, "--non-interactive"]];
    const r = spawnSync(cmd, argv, { cwd: engine.project, env: engine.env, encoding: "utf8", maxBuffer: 1 << 30 });
    if (r.status !== 0) {
        throw new Error(`pulumi ${args.join(" ")} failed:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    }
    const kib = haveTime ? Number(r.stderr.trim().split("\n").pop()) : NaN;
    return { seconds: (Date.now() - started) / 1000, peakMiB: Number.isFinite(kib) ? kib / 1024 : undefined, stdout: r.stdout };
}

/** `pulumi preview` of the kubeadm-mode program with n GPU workers: wall time, peak memory, resources. */
export function previewFigures(workerCounts: number[]): Figure[] {
    toolchainBin();
    const engine = new Engine();
    const figures: Figure[] = [];
    const samples: { workers: number; seconds: number; resources: number; peakMiB?: number }[] = [];
    try {
        const key = testPrivateKey(engine.dir);
        for (const workers of workerCounts) {
            const stack = engine.stack(`bench-${workers}`, configWithWorkers(workers), { "openpai:sshPrivateKey": key });
            const run = timed(engine, ["preview", "--json", "--stack", stack.name]);
            const resources = (JSON.parse(run.stdout).steps as unknown[]).length;
            samples.push({ workers, seconds: run.seconds, resources, peakMiB: run.peakMiB });
            figures.push({ name: `preview_${workers}_workers_seconds`, value: round(run.seconds), unit: "s" });
            if (run.peakMiB !== undefined) {
                figures.push({ name: `preview_${workers}_workers_peak_memory`, value: round(run.peakMiB), unit: "MiB" });
            }
            figures.push({ name: `preview_${workers}_workers_resources`, value: resources, unit: "resources" });
        }
        const [small, large] = [samples[0], samples[samples.length - 1]];
        if (large.resources > small.resources) {
            figures.push({ name: "preview_per_resource_overhead", value: round((large.seconds - small.seconds) * 1000 / (large.resources - small.resources)), unit: "ms/resource" });
            if (large.peakMiB !== undefined && small.peakMiB !== undefined) {
                figures.push({ name: "preview_memory_per_resource", value: round((large.peakMiB - small.peakMiB) * 1024 / (large.resources - small.resources)), unit: "KiB/resource" });
            }
        }
        // Linear growth gives 10: above it, something costs more per resource as the stack grows.
        const [hundred, thousand] = [100, 1000].map(n => samples.find(sample => sample.workers === n));
        if (hundred && thousand) {
            figures.push({ name: "preview_1000_to_100_workers_time_ratio", value: round(thousand.seconds / hundred.seconds), unit: "x" });
        }
    } finally {
        engine.cleanup();
    }
    return figures;
}

/** `pulumi up` in check-only mode on the lab's systemd hosts: one master plus n GPU workers. */
export async function hostFigures(workerCounts: number[]): Promise<Figure[]> {
    toolchainBin();
    const figures: Figure[] = [];
    const lab = new Lab();
    const env = lab.up();
    try {
        for (const n of workerCounts) {
            const workers = Array.from({ length: n }, (_, i) => ({ name: `bench-worker-${i}`, address: `10.78.0.${100 + i}` }));
            await lab.start([labHosts.master, ...workers]);
            const engine = new Engine();
            try {
                const config = labStackConfig(env, { workers, gpuWorkers: true, checkOnly: true });
                const stack = engine.stack(`hosts-${n}`, config, { "openpai:sshPrivateKey": lab.privateKey() });
                const run = timed(engine, ["up", "--yes", "--skip-preview", "--stack", stack.name]);
                figures.push({ name: `hosts_up_check_only_master_plus_${n}_workers_seconds`, value: round(run.seconds), unit: "s" });
            } finally {
                engine.cleanup();
            }
        }
    } finally {
        lab.down();
    }
    return figures;
}
