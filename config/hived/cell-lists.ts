/** The cells and cell lists of HiveD's algorithm, as config/hived/startup.ts replays its startup with them. */
import { Chain } from "./physical";

/** A physical cell as HiveD's algorithm holds it. */
export interface PCell {
    chain: string;
    level: number;
    /** HiveD compares cells by address (pkg/algorithm/cell.go CellEqual). */
    address: string;
    parent?: PCell;
    children: PCell[];
    /** The node a leaf is on. */
    node: string;
    healthy: boolean;
    split: boolean;
    virtual?: VCell;
}

/** A virtual cell bound to a physical one; its children are made as they are bound (none is ever unbound at startup). */
export interface VCell {
    type: string;
    childrenBound: number;
}

/** The preassigned (top) virtual cells of one VC, chain and level, in the config's order; the first `bound` are bound. */
export interface Preassigned {
    runs: { type: string; count: number }[];
    bound: number;
}

/** The type of the next unbound preassigned cell, if any is left. */
export function nextUnbound(list: Preassigned | undefined): string | undefined {
    let skip = list?.bound ?? 0;
    for (const run of list?.runs ?? []) {
        if (skip < run.count) {
            return run.type;
        }
        skip -= run.count;
    }
    return undefined;
}

export type Levels = Map<number, number>;

/**
 * pkg/algorithm/types.go CellList: cells found by address; removing one moves the last into its
 * place (the order decides which cell HiveD picks next). Indexed, as clusters have thousands of cells.
 */
export class CellList {
    readonly items: PCell[] = [];
    private readonly at = new Map<string, number[]>();

    get length(): number {
        return this.items.length;
    }

    push(...cells: PCell[]): void {
        for (const c of cells) {
            this.items.push(c);
            const indexes = this.at.get(c.address);
            if (indexes) {
                indexes.push(this.items.length - 1);
            } else {
                this.at.set(c.address, [this.items.length - 1]);
            }
        }
    }

    contains(c: PCell): boolean {
        return this.at.has(c.address);
    }

    /** False when no cell has c's address (HiveD panics). */
    remove(c: PCell): boolean {
        const indexes = this.at.get(c.address);
        if (!indexes) {
            return false;
        }
        // The first cell of that address: two cells share one only in a config that reuses addresses.
        const index = indexes.length === 1 ? indexes[0] : Math.min(...indexes);
        if (indexes.length === 1) {
            this.at.delete(c.address);
        } else {
            indexes.splice(indexes.indexOf(index), 1);
        }
        const last = this.items.length - 1;
        if (index !== last) {
            const moved = this.items[last];
            const movedIndexes = this.at.get(moved.address)!;
            movedIndexes[movedIndexes.indexOf(last)] = index;
            this.items[index] = moved;
        }
        this.items.pop();
        return true;
    }
}

/** HiveD counts cells in Go int32s, which wrap. */
export const int32 = (n: number) => n | 0;

/** The level of a chain's node cells (the lowest isNodeLevel type). */
export function nodeLevel(chain: Chain): number {
    return chain.topLevel - chain.types.indexOf(chain.nodeType);
}
