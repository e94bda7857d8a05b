import { Layout, Machine, MachineSku, SkuQuota } from "./schema";

/** CPU and memory that daemons take on every worker before jobs get any. */
export interface NodeReserve {
    cpu: number;
    memoryMi: number;
}

/** What a worker of a SKU leaves to jobs. */
export interface NodeFree {
    /** vCPUs (fractional). */
    cpu: number;
    memoryMi: number;
}

/**
 * What a node of this SKU leaves to jobs: its size minus the daemons' requests and OpenPAI's
 * margin, min(1%, 0.5 CPU) and min(1%, 1 GiB) (contrib/kubespray/script/openpai_generator.py).
 */
export function nodeFree(sku: MachineSku, reserve: NodeReserve): NodeFree {
    const vcores = sku.cpu.vcore;
    const memMi = quantityToMi(sku.mem);
    return {
        cpu: vcores - reserve.cpu - Math.min(0.01 * vcores, 0.5),
        memoryMi: memMi - reserve.memoryMi - Math.min(0.01 * memMi, 1024),
    };
}

/** The worker machines of one SKU and how HiveD will cut each of them into cells. */
export interface WorkerSku {
    name: string;
    sku: MachineSku;
    /** Worker hostnames in layout order (the hived node addresses). */
    hosts: string[];
    /** Leaf cells per node: GPUs, or the whole vCPUs left to jobs on a CPU-only SKU (as OpenPAI cuts it). */
    cellsPerNode: number;
    /** What one node leaves to jobs. */
    free: NodeFree;
    /** What one leaf cell is, for messages and capacity tables. */
    cellUnit: "GPU" | "vCPU";
}

/** Leaf cells a VC quota takes from a SKU: whole and pinned nodes, plus single cells. */
export function quotaCells(quota: SkuQuota, sku: WorkerSku): number {
    return (quota.nodes + quota.pinned.length) * sku.cellsPerNode + quota.cells;
}

export function masterOf(layout: Layout): Machine {
    return layout["machine-list"].find(m => m["pai-master"])!;
}

export function workersOf(layout: Layout): Machine[] {
    return layout["machine-list"].filter(m => m["pai-worker"] && !m["pai-master"]);
}

/** Worker SKUs in first-seen layout order, so generated configs are stable. */
export function workerSkus(layout: Layout, reserve: NodeReserve): Map<string, WorkerSku> {
    const out = new Map<string, WorkerSku>();
    for (const worker of workersOf(layout)) {
        const name = worker["machine-type"];
        let entry = out.get(name);
        if (!entry) {
            const sku = layout["machine-sku"][name];
            const gpus = sku["computing-device"]?.count;
            const free = nodeFree(sku, reserve);
            entry = { name, sku, hosts: [], free, cellsPerNode: gpus ?? Math.max(0, Math.floor(free.cpu)), cellUnit: gpus ? "GPU" : "vCPU" };
            out.set(name, entry);
        }
        entry.hosts.push(worker.hostname);
    }
    return out;
}

const binaryUnits: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };
const decimalUnits: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

/** Converts a Kubernetes memory quantity (as validated by the layout schema) to MiB. */
export function quantityToMi(quantity: string): number {
    const match = /^([0-9.]+)([A-Za-z]*)$/.exec(quantity)!;
    const unit = match[2];
    const bytes = Number(match[1]) * (binaryUnits[unit] ?? decimalUnits[unit] ?? 1);
    return Math.floor(bytes / 2 ** 20);
}
