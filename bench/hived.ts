import { generateHived, parseStackConfig, RawConfigValue, validateHived, workerSizing } from "../config";

/** One figure of the benchmark output: a JSON line on stdout. */
export interface Figure {
    name: string;
    value: number;
    unit: string;
}

/** A layout of `workers` 8-GPU workers and `vcs` VCs sharing them evenly. */
function stackOf(workers: number, vcs: number): Record<string, RawConfigValue> {
    const machines: Record<string, unknown>[] = [{ hostname: "master", hostip: "10.255.255.254", "machine-type": "cpu", "pai-master": true }];
    for (let i = 0; i < workers; i++) {
        machines.push({ hostname: `w${i}`, hostip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, "machine-type": "gpu", "pai-worker": true });
    }
    const virtualClusters: Record<string, Record<string, number>> = {};
    for (let v = 0; v < vcs; v++) {
        virtualClusters[`vc${v}`] = { gpu: Math.floor(workers / vcs) };
    }
    const layout = {
        "machine-sku": { cpu: { mem: "64Gi", cpu: { vcore: 16 } }, gpu: { mem: "512Gi", cpu: { vcore: 64 }, "computing-device": { type: "nvidia.com/gpu", count: 8 } } },
        "machine-list": machines,
    };
    return {
        layout: { value: layout, secret: false },
        virtualClusters: { value: virtualClusters, secret: false },
        sshPrivateKey: { value: undefined, secret: true },
    };
}

/** Median wall time of parse + generate + validate, in milliseconds. */
function time(workers: number, vcs: number, runs: number): number {
    const raw = stackOf(workers, vcs);
    const samples: number[] = [];
    for (let r = 0; r < runs; r++) {
        const started = process.hrtime.bigint();
        const stack = parseStackConfig(raw);
        const config = generateHived(stack.layout, stack.virtualClusters, workerSizing(stack));
        const report = validateHived(config, { hostnames: stack.layout["machine-list"].map(m => m.hostname) });
        if (report.errors.length > 0) {
            throw new Error(`benchmark config invalid: ${report.errors[0].message}`);
        }
        samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)];
}

export function hivedFigures(): Figure[] {
    time(1000, 20, 3);
    const figures: Figure[] = [];
    const perNode: number[] = [];
    // 4,999 workers and a master: the layout's limit (config/schema.ts, 5,000 machines).
    for (const workers of [100, 1000, 4999]) {
        const ms = time(workers, 20, workers > 1000 ? 5 : 11);
        figures.push({ name: `hived_generate_validate_${workers}_nodes_8gpu_20vc`, value: round(ms), unit: "ms" });
        perNode.push(ms / workers);
    }
    figures.push({ name: "hived_ms_per_node_1000", value: round(perNode[1], 4), unit: "ms/node" });
    figures.push({ name: "hived_ms_per_node_4999", value: round(perNode[2], 4), unit: "ms/node" });
    return figures;
}

export function round(x: number, digits = 2): number {
    return Math.round(x * 10 ** digits) / 10 ** digits;
}
