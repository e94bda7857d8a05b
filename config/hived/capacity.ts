/** Capacity: whether the VCs fit the physical cells, counted for real and the way HiveD counts. */
import { Findings } from "./decode";
import { Cell, CellTypeInfo, Chain } from "./physical";
import { hivedStartup } from "./startup";
import { Demand } from "./virtual";

/** Guaranteed resources of one virtual cluster. */
export interface VcCapacity {
    vc: string;
    gpus: number;
    cpus: number;
    /** Leaf cells per leaf type (GPUs, or vCPUs on CPU-only SKUs). */
    leafCells: Record<string, number>;
    /** The most leaf cells one pod of the VC can get, per leaf type (it stays inside one of the VC's cells and one node). */
    largestPod: Record<string, number>;
    /** The most GPUs one pod of the VC can get. */
    largestPodGpus: number;
}

// ---- capacity ----------------------------------------------------------------------------

/**
 * Whether HiveD comes up with the VCs' demand (startup.ts replays its startup) and whether the
 * VCs fit the cells that really exist: HiveD's own count can both refuse a config that fits and
 * accept one that does not (uneven pools).
 */
export function checkCapacity(chains: Map<string, Chain>, demand: Demand[], cellTypes: Map<string, CellTypeInfo>,
                              pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>, f: Findings): void {
    const failure = hivedStartup({ chains, demand, cellTypes, pinnedCells });
    for (const chain of chains.values()) {
        const mine = demand.filter(d => d.chain === chain.name);
        const real = realPacking(chain, mine, pinnedCells);
        const path = `virtualClusters (chain ${chain.name})`;
        const hived = failure?.chain === chain.name ? failure : undefined;
        const says = hived && `HiveD ${hived.step === "initCellNums" ? "refuses it" : "crashes"} at startup (${hived.step}: "${hived.panic}")`;
        const nested = nestedPins(mine, pinnedCells);
        if (nested) {
            f.error(path, `pinned cell ${nested.inner} lies inside pinned cell ${nested.outer}, and VCs use both: ${says ?? "HiveD counts the inner one twice"}; pin only one of them`);
        } else if (real && hived) {
            f.error(path, `over-subscribed at level ${real.level}: ${real.needed} needed, ${real.available} left whole there (after pinned cells and the cells given whole above); ${says}: lower the VC cell numbers or add machines`);
        } else if (hived && mine.some(d => d.number < 0)) {
            f.error(path, `${says}: negative cellNumbers make the VCs' demand look smaller than it is; remove them and lower the others`);
        } else if (hived?.step === "initCellNums") {
            f.error(path, `${says}, although the cells exist: HiveD multiplies by the child count of the FIRST cell of each level, and the cells of a level list different numbers of children; put the cell with the most first (the largest pool first), give every cell of a type as many children as its childCellNumber, or use one chain per pool size`);
        } else if (hived) {
            f.error(path, `${says} at level ${hived.level}: ${hived.reason}`);
        } else if (real) {
            const why = mine.some(d => d.number < 0)
                ? "negative cellNumbers hide it from HiveD, which starts and cannot keep the guarantees: remove them and lower the others"
                : "HiveD starts but misses this, because it multiplies by the child count of the first cell of each level (uneven pools): lower the VC cell numbers or add machines";
            f.error(path, `over-subscribed at level ${real.level}: ${real.needed} needed, ${real.available} left whole there (after pinned cells and the cells given whole above); ${why}`);
        }
    }
}

/** Two pinned cells of a chain that VCs use, one inside the other (by HiveD's addresses). */
function nestedPins(demand: Demand[], pinnedCells: Map<string, { cell: Cell }>): { inner: string; outer: string } | undefined {
    const used = demand.filter(d => d.pinned).map(d => pinnedCells.get(d.pinned!)!.cell);
    for (const inner of used) {
        const outer = used.find(o => o !== inner && inner.fullAddress.startsWith(`${o.fullAddress}/`));
        if (outer) {
            return { inner: inner.fullAddress, outer: outer.fullAddress };
        }
    }
    return undefined;
}

interface Shortfall {
    level: number;
    needed: number;
    available: number;
}

/**
 * The real count: pinned cells are removed first, then at each level the VCs' whole cells are
 * taken from the smallest cells that hold no pinned cell, and the children of the rest (but the
 * pinned ones) feed the next level down.
 */
function realPacking(chain: Chain, demand: Demand[],
                     pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>): Shortfall | undefined {
    const taken = new Set<Cell>();
    for (const d of demand) {
        if (d.pinned) {
            taken.add(pinnedCells.get(d.pinned)!.cell);
        }
    }
    const freeLeaves = (c: Cell): number => taken.has(c) ? 0
        : c.children.length === 0 ? c.leaves : c.children.reduce((n, x) => n + freeLeaves(x), 0);
    const wholeCells = new Map<Cell, boolean>();
    const whole = (c: Cell): boolean => wholeCells.get(c)
        ?? wholeCells.set(c, !taken.has(c) && c.children.every(whole)).get(c)!;
    const byLevel = new Map<number, number>();
    for (const d of demand) {
        if (!d.pinned) {
            byLevel.set(d.level, (byLevel.get(d.level) ?? 0) + Math.max(0, d.number));
        }
    }
    let pool = chain.tops.filter(c => !taken.has(c));
    for (let level = chain.topLevel; level >= 1; level--) {
        const needed = byLevel.get(level) ?? 0;
        const candidates = pool.filter(whole);
        if (needed > candidates.length) {
            return { level, needed, available: candidates.length };
        }
        const given = new Set(candidates
            .map(c => ({ c, size: freeLeaves(c) }))
            .sort((a, b) => a.size - b.size)
            .slice(0, needed)
            .map(x => x.c));
        const rest = pool.filter(c => !given.has(c));
        pool = [];
        for (const c of rest) {
            for (const child of c.children) {
                if (!taken.has(child)) {
                    pool.push(child);
                }
            }
        }
    }
    return undefined;
}

/**
 * What each VC is guaranteed, and the largest pod it can place: HiveD places a pod inside one of
 * the VC's cells and inside one node (pkg/algorithm/topology_aware_scheduler.go: a VC cell below
 * the node level is a node of its own), so a VC of single GPUs runs only 1-GPU pods.
 */
export function vcCapacity(demand: Demand[], cellTypes: Map<string, CellTypeInfo>, skuTypes: Map<string, { gpu: number; cpu: number }>,
                           pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>, chains: Map<string, Chain>): VcCapacity[] {
    const leavesOf = (type: string): number => {
        let n = 1;
        for (let t = type; cellTypes.has(t); t = cellTypes.get(t)!.child) {
            n *= cellTypes.get(t)!.childNumber;
        }
        return n;
    };
    const out = new Map<string, VcCapacity>();
    for (const d of demand) {
        const chain = chains.get(d.chain)!;
        const leafType = chain.types[chain.types.length - 1];
        const nodeLevel = chain.topLevel - chain.types.indexOf(chain.nodeType);
        const type = d.pinned ? chain.types[chain.topLevel - d.level] : d.type;
        const leaves = d.pinned ? pinnedCells.get(d.pinned)!.cell.leaves : Math.max(0, d.number) * leavesOf(type);
        const entry = out.get(d.vc) ?? { vc: d.vc, gpus: 0, cpus: 0, leafCells: {}, largestPod: {}, largestPodGpus: 0 };
        const sku = skuTypes.get(leafType) ?? { gpu: 0, cpu: 0 };
        entry.gpus += leaves * sku.gpu;
        entry.cpus += leaves * sku.cpu;
        entry.leafCells[leafType] = (entry.leafCells[leafType] ?? 0) + leaves;
        if (leaves > 0) {
            const pod = leavesOf(d.level >= nodeLevel ? chain.nodeType : type);
            entry.largestPod[leafType] = Math.max(entry.largestPod[leafType] ?? 0, pod);
            entry.largestPodGpus = Math.max(entry.largestPodGpus, pod * sku.gpu);
        }
        out.set(d.vc, entry);
    }
    return [...out.values()];
}

/**
 * Advice on VCs whose GPUs come as single-GPU cells only, on machines with more: HiveD places a
 * pod inside one cell of its VC, so such a VC runs only 1-GPU pods (HiveD's maintainers in
 * microsoft/pai issues 4029 and 4906).
 */
export function checkSingleGpuCells(capacity: VcCapacity[], chains: Map<string, Chain>, cellTypes: Map<string, CellTypeInfo>,
                                    skuTypes: Map<string, { gpu: number; cpu: number }>, f: Findings): void {
    for (const vc of capacity) {
        for (const [leafType, pod] of Object.entries(vc.largestPod)) {
            const chain = [...chains.values()].find(c => c.types[c.types.length - 1] === leafType)!;
            const nodeGpus = chain.types.slice(chain.types.indexOf(chain.nodeType), -1).reduce((n, t) => n * cellTypes.get(t)!.childNumber, 1);
            if (pod === 1 && vc.leafCells[leafType] > 1 && nodeGpus > 1 && (skuTypes.get(leafType)?.gpu ?? 0) > 0) {
                const larger = chain.types.slice(chain.types.indexOf(chain.nodeType), -1);
                f.warn(`virtualClusters.${vc.vc}`, `VC ${vc.vc} has ${vc.leafCells[leafType]} GPUs of type ${leafType}, each a cell of its own: HiveD places a pod inside one cell of its VC, so it can run only 1-GPU pods (microsoft/pai issues 4029, 4906); give it cells of a larger type (${larger.map(t => `${chain.name}.${t}`).join(", ")}) instead`);
            }
        }
    }
}
