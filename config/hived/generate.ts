import { Layout, VirtualClusters } from "../schema";
import { quantityToMi, quotaCells, WorkerSku, workerSkus } from "../layout";
import { HivedConfig, PhysicalCellSpec, VirtualClusterSpec } from "./types";

/** CPU and memory that daemons take on every worker before jobs get any. */
export interface NodeReserve {
    cpu: number;
    memoryMi: number;
}

/** The VC that receives whatever the declared quotas leave over, as in OpenPAI. */
export const defaultVc = "default";

export function cellTypeNames(sku: string): { leaf: string; node: string; pool: string } {
    return { leaf: sku, node: `${sku}-NODE`, pool: `${sku}-NODE-POOL` };
}

/**
 * Generates the hived config for a layout the way OpenPAI's generator shapes it: per worker
 * SKU a leaf type `<sku>`, a node type `<sku>-NODE` and one pool `<sku>-NODE-POOL` whose
 * children are the workers (hostname as address). VC quotas become virtual cells; pinned
 * hosts become pinned cells; capacity no VC declares goes to VC `default` unless it is declared.
 */
export function generateHived(layout: Layout, vcs: VirtualClusters | undefined, reserve: NodeReserve): HivedConfig {
    const skus = [...workerSkus(layout).values()];
    const config: HivedConfig = {
        webServerAddress: ":30096",
        waitingPodSchedulingBlockMilliSec: 50,
        physicalCluster: { skuTypes: {}, cellTypes: {}, physicalCells: [] },
        virtualClusters: {},
    };
    const pinnedId = new Map<string, string>();
    for (const [vc, quota] of Object.entries(vcs ?? {})) {
        for (const q of Object.values(quota)) {
            q.pinned.forEach(host => pinnedId.set(host, `${vc}-${host}`));
        }
    }
    for (const sku of skus) {
        const names = cellTypeNames(sku.name);
        config.physicalCluster.skuTypes![names.leaf] = leafResources(sku, reserve);
        config.physicalCluster.cellTypes[names.node] = { childCellType: names.leaf, childCellNumber: sku.cellsPerNode, isNodeLevel: true };
        config.physicalCluster.cellTypes[names.pool] = { childCellType: names.node, childCellNumber: sku.hosts.length };
        config.physicalCluster.physicalCells.push({
            cellType: names.pool,
            cellChildren: sku.hosts.map(host => {
                const cell: PhysicalCellSpec = { cellAddress: host };
                if (pinnedId.has(host)) {
                    cell.pinnedCellId = pinnedId.get(host);
                }
                return cell;
            }),
        });
    }
    const declared = vcs && Object.keys(vcs).length > 0 ? vcs : {};
    const usedLeaves = new Map<string, number>();
    for (const [vc, quota] of Object.entries(declared)) {
        const spec: VirtualClusterSpec = {};
        for (const [skuName, q] of Object.entries(quota)) {
            const sku = skus.find(s => s.name === skuName)!;
            const names = cellTypeNames(skuName);
            if (q.nodes > 0) {
                (spec.virtualCells ??= []).push({ cellType: `${names.pool}.${names.node}`, cellNumber: q.nodes });
            }
            if (q.cells > 0) {
                (spec.virtualCells ??= []).push({ cellType: `${names.pool}.${names.node}.${names.leaf}`, cellNumber: q.cells });
            }
            for (const host of q.pinned) {
                (spec.pinnedCells ??= []).push({ pinnedCellId: pinnedId.get(host)! });
            }
            usedLeaves.set(skuName, (usedLeaves.get(skuName) ?? 0) + quotaCells(q, sku));
        }
        config.virtualClusters[vc] = spec;
    }
    if (!(defaultVc in declared)) {
        const spec: VirtualClusterSpec = {};
        for (const sku of skus) {
            const names = cellTypeNames(sku.name);
            const free = sku.hosts.length * sku.cellsPerNode - (usedLeaves.get(sku.name) ?? 0);
            const nodes = Math.floor(free / sku.cellsPerNode);
            const cells = free % sku.cellsPerNode;
            if (nodes > 0) {
                (spec.virtualCells ??= []).push({ cellType: `${names.pool}.${names.node}`, cellNumber: nodes });
            }
            if (cells > 0) {
                (spec.virtualCells ??= []).push({ cellType: `${names.pool}.${names.node}.${names.leaf}`, cellNumber: cells });
            }
        }
        if (spec.virtualCells) {
            config.virtualClusters[defaultVc] = spec;
        }
    }
    keepChainsReferenced(config, skus);
    return config;
}

/** HiveD crashes on a chain no VC references: a zero-sized reference keeps an unused pool legal. */
function keepChainsReferenced(config: HivedConfig, skus: WorkerSku[]): void {
    const vcNames = Object.keys(config.virtualClusters);
    for (const sku of skus) {
        const { pool, node } = cellTypeNames(sku.name);
        const referenced = Object.values(config.virtualClusters)
            .some(vc => (vc.virtualCells ?? []).some(c => c.cellType.split(".")[0] === pool));
        if (!referenced) {
            const holder = vcNames.includes(defaultVc) ? defaultVc : vcNames[0] ?? defaultVc;
            const spec = (config.virtualClusters[holder] ??= {});
            (spec.virtualCells ??= []).push({ cellType: `${pool}.${node}`, cellNumber: 0 });
        }
    }
}

/**
 * Resources of one leaf cell: the node's allocatable after the daemon reserve and OpenPAI's
 * margin (min(1%, 0.5 CPU) and min(1%, 1 GiB)), divided by the leaves per node.
 */
function leafResources(sku: WorkerSku, reserve: NodeReserve): { gpu: number; cpu: number; memory: number } {
    const vcores = sku.sku.cpu.vcore;
    const memMi = quantityToMi(sku.sku.mem);
    const freeCpu = vcores - reserve.cpu - Math.min(0.01 * vcores, 0.5);
    const freeMi = memMi - reserve.memoryMi - Math.min(0.01 * memMi, 1024);
    if (sku.cellUnit === "vCPU") {
        return { gpu: 0, cpu: 1, memory: Math.max(0, Math.floor(freeMi / vcores)) };
    }
    return {
        gpu: 1,
        cpu: Math.max(0, Math.floor(freeCpu / sku.cellsPerNode)),
        memory: Math.max(0, Math.floor(freeMi / sku.cellsPerNode)),
    };
}
