/** Capacity: whether the VCs fit the physical cells, counted for real and the way HiveD counts. */
import { Findings } from "./decode";
import { Cell, CellTypeInfo, Chain } from "./physical";
import { Demand } from "./virtual";

/** Guaranteed resources of one virtual cluster. */
export interface VcCapacity {
    vc: string;
    gpus: number;
    cpus: number;
    /** Leaf cells per leaf type (GPUs, or vCPUs on CPU-only SKUs). */
    leafCells: Record<string, number>;
}

// ---- capacity ----------------------------------------------------------------------------

export function checkCapacity(chains: Map<string, Chain>, demand: Demand[],
                       pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>, f: Findings): void {
    for (const chain of chains.values()) {
        const mine = demand.filter(d => d.chain === chain.name);
        const hived = hivedArithmetic(chain, mine, false);
        const withoutNegatives = hivedArithmetic(chain, mine, true);
        const real = realPacking(chain, mine, pinnedCells);
        const path = `virtualClusters (chain ${chain.name})`;
        if (real && hived) {
            f.error(path, `over-subscribed at level ${real.level}: ${real.needed} needed, ${real.available} available (HiveD: "Insufficient physical cells at chain ${chain.name} level ${hived.level}: ${hived.needed} needed, ${hived.available} available"): lower the VC cell numbers or add machines`);
        } else if (hived) {
            f.error(path, `HiveD refuses this at startup: "Insufficient physical cells at chain ${chain.name} level ${hived.level}: ${hived.needed} needed, ${hived.available} available", although the cells exist: HiveD multiplies by the child count of the FIRST cell of each level, and the pools are uneven; put the largest pool first, make pools equal, or use one chain per pool size`);
        } else if (withoutNegatives) {
            f.error(path, `over-subscribed at level ${withoutNegatives.level} (${withoutNegatives.needed} needed, ${withoutNegatives.available} available) once negative cellNumbers are ignored: HiveD crashes on this; remove the negative cellNumbers and lower the others`);
        } else if (real) {
            f.error(path, `over-subscribed at level ${real.level}: ${real.needed} needed, only ${real.available} exist; HiveD misses this because it multiplies by the child count of the first cell of each level (uneven pools): lower the VC cell numbers or add machines`);
        }
    }
}

interface Shortfall {
    level: number;
    needed: number;
    available: number;
}

/** HiveD's own computation: top-down, using the first cell's child count at every level. */
function hivedArithmetic(chain: Chain, demand: Demand[], ignoreNegatives: boolean): Shortfall | undefined {
    const byLevel = new Map<number, number>();
    for (const d of demand) {
        const n = ignoreNegatives ? Math.max(0, d.number) : d.number;
        byLevel.set(d.level, (byLevel.get(d.level) ?? 0) + n);
    }
    let available = chain.tops.length;
    let first: Cell | undefined = chain.tops[0];
    for (let level = chain.topLevel; level >= 1; level--) {
        const needed = byLevel.get(level) ?? 0;
        const left = available - needed;
        if (left < 0) {
            return { level, needed, available };
        }
        available = left * (first?.children.length ?? 0);
        first = first?.children[0];
    }
    return undefined;
}

/**
 * The real count: pinned cells are removed first, then at each level the VCs' whole cells are
 * taken from the smallest free cells, and the children of the rest feed the next level down.
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
    const byLevel = new Map<number, number>();
    for (const d of demand) {
        if (!d.pinned) {
            byLevel.set(d.level, (byLevel.get(d.level) ?? 0) + Math.max(0, d.number));
        }
    }
    let pool = chain.tops.filter(c => !taken.has(c));
    for (let level = chain.topLevel; level >= 1; level--) {
        const needed = byLevel.get(level) ?? 0;
        if (needed > pool.length) {
            return { level, needed, available: pool.length };
        }
        const rest = needed === 0 ? pool : pool
            .map(c => ({ c, size: freeLeaves(c) }))
            .sort((a, b) => a.size - b.size)
            .slice(needed)
            .map(x => x.c);
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

export function vcCapacity(demand: Demand[], cellTypes: Map<string, CellTypeInfo>, skuTypes: Map<string, { gpu: number; cpu: number }>,
                    pinnedCells: Map<string, { cell: Cell; chain: string; path: string }>, chains: Map<string, Chain>): VcCapacity[] {
    const out = new Map<string, VcCapacity>();
    for (const d of demand) {
        const chain = chains.get(d.chain)!;
        const leafType = chain.types[chain.types.length - 1];
        let leaves: number;
        if (d.pinned) {
            leaves = pinnedCells.get(d.pinned)!.cell.leaves;
        } else {
            leaves = Math.max(0, d.number);
            for (let t = d.type; cellTypes.has(t); t = cellTypes.get(t)!.child) {
                leaves *= cellTypes.get(t)!.childNumber;
            }
        }
        const entry = out.get(d.vc) ?? { vc: d.vc, gpus: 0, cpus: 0, leafCells: {} };
        const sku = skuTypes.get(leafType) ?? { gpu: 0, cpu: 0 };
        entry.gpus += leaves * sku.gpu;
        entry.cpus += leaves * sku.cpu;
        entry.leafCells[leafType] = (entry.leafCells[leafType] ?? 0) + leaves;
        out.set(d.vc, entry);
    }
    return [...out.values()];
}
