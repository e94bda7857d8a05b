import { Layout, Machine, MachineSku, SkuQuota } from "./schema";
import { podResources, WorkerSizing } from "./sizing";

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
 * What a node of this SKU leaves to jobs: what it offers to pods (config/sizing.ts: allocatable,
 * read or estimated, minus the other pods on it) minus the PAI daemons' requests and OpenPAI's
 * margin, min(1%, 0.5 CPU) and min(1%, 1 GiB) of the declared size (contrib/kubespray/script/openpai_generator.py).
 */
export function nodeFree(name: string, sku: MachineSku, sizing: WorkerSizing): NodeFree {
    const vcores = sku.cpu.vcore;
    const memMi = quantityToMi(sku.mem);
    const pods = podResources(name, sku, sizing);
    return {
        cpu: pods.cpu - sizing.daemons.cpu - Math.min(0.01 * vcores, 0.5),
        memoryMi: pods.memoryMi - sizing.daemons.memoryMi - Math.min(0.01 * memMi, 1024),
    };
}

/**
 * GPUs per cell at each level between a GPU and the node, smallest first: the SKU's
 * `computing-device.cellSizes`, else the doublings from 2 that divide the count (8 GPUs: [2, 4],
 * pairs and halves of the machine, as HiveD's own examples cut a DGX-1 by PCIe switch and CPU socket).
 */
export function gpuCellSizes(count: number, configured?: number[]): number[] {
    if (configured) {
        return configured;
    }
    const sizes: number[] = [];
    for (let n = 2; n < count && count % n === 0; n *= 2) {
        sizes.push(n);
    }
    return sizes;
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
    /** GPUs per cell at each level between a GPU and the node, smallest first; [] on CPU-only SKUs. */
    cellSizes: number[];
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
export function workerSkus(layout: Layout, sizing: WorkerSizing): Map<string, WorkerSku> {
    const out = new Map<string, WorkerSku>();
    for (const worker of workersOf(layout)) {
        const name = worker["machine-type"];
        let entry = out.get(name);
        if (!entry) {
            const sku = layout["machine-sku"][name];
            const device = sku["computing-device"];
            const free = nodeFree(name, sku, sizing);
            entry = {
                name, sku, hosts: [], free,
                cellsPerNode: device?.count ?? Math.max(0, Math.floor(free.cpu)),
                cellUnit: device ? "GPU" : "vCPU",
                cellSizes: device ? gpuCellSizes(device.count, device.cellSizes) : [],
            };
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
