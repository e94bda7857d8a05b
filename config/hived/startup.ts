/**
 * HiveD v0.3.4's startup with a config, replayed step by step: whether the scheduler comes up,
 * and if not, where it stops. Ported from pkg/algorithm/hived_algorithm.go (NewHivedAlgorithm:
 * initCellNums, initPinnedCells, initBadNodes) and pkg/algorithm/config.go (the cells they work
 * on); test/unit/hived-loader.test.ts holds it against HiveD's own code.
 *
 * The rule, in our words. HiveD counts cells per chain and level, and it counts them its own way:
 * the number of cells at a level is the number of top-level cells times, level by level, the
 * children the FIRST cell of each level lists (not the type's childCellNumber, not the real count).
 * 1. initCellNums, the VC assignment check: from the top level down, what the VCs ask for at a
 *    level (virtual cells of that level's types, and 1 per pinned cell at its own level) must not
 *    exceed what is left there; what is left multiplies by the first cell's child count on the way
 *    down. Else: "Illegal initial VC assignment: Insufficient physical cells at chain C level L".
 * 2. initPinnedCells: each pinned cell a VC uses leaves the pool of whole free cells, and so do
 *    its ancestors (they are split) and, by the same first-cell arithmetic, its descendants. After
 *    each one, every VC's own demand at each level touched must still fit what is left there, or
 *    HiveD indexes an empty list ("index out of range"). A pinned cell inside another one a VC
 *    uses breaks the free cell list ("Cell not found in list when removing").
 * 3. initBadNodes: every node starts unhealthy until Kubernetes reports it. Each cell that turns
 *    unhealthy counts against the healthy cells of its level; when a VC's demand at a level
 *    exceeds the healthy count, HiveD binds the VC's virtual cells to unhealthy ones ("doomed bad
 *    cells"). When the real number of cells at a level exceeds HiveD's count (a first cell with
 *    fewer children than the others), the healthy count goes below zero, HiveD runs out of
 *    virtual cells to bind and dereferences nil. Inside a bound cell, a physical cell with more
 *    children than its type has no virtual cell to bind to: nil again.
 * HiveD walks maps (VCs, chains, pinned cells) in Go's random order; the replay walks them in the
 * config's order and, with pinned cells, in reverse too, and reports a failure either order meets.
 */
import { CellList, int32, Levels, nextUnbound, nodeLevel, PCell, Preassigned } from "./cell-lists";
import { Cell, CellTypeInfo, Chain } from "./physical";
import { Demand } from "./virtual";

/** Where HiveD's startup stops with a config. */
export interface StartupFailure {
    /** The HiveD step that fails. */
    step: "initCellNums" | "initPinnedCells" | "initBadNodes";
    /** What HiveD prints: its panic message (or the Go runtime error behind the crash). */
    panic: string;
    /** Why, in terms of the config. */
    reason: string;
    chain: string;
    level: number;
    /** HiveD's count of cells at that level when it fails, and what was asked for there. */
    available?: number;
    needed?: number;
}

export interface StartupInput {
    chains: Map<string, Chain>;
    demand: Demand[];
    cellTypes: Map<string, CellTypeInfo>;
    /** Pinned cell id -> the physical cell HiveD keeps for it (the last one defined). */
    pinnedCells: Map<string, { cell: Cell; chain: string }>;
}

/**
 * Replays HiveD's startup in the config's order, and in reverse where the order can matter (the
 * order pinned cells are taken out in); the first failure found, if any. The order VCs get
 * unhealthy cells in does not decide a crash: once HiveD's healthy count is below zero, every VC
 * of the chain runs out of virtual cells to bind.
 */
export function hivedStartup(input: StartupInput): StartupFailure | undefined {
    return new Replay(input, false).run()
        ?? (input.demand.some(d => d.pinned) ? new Replay(input, true).run() : undefined);
}

/** A HiveD panic, carried out of the replay. */
class Panic extends Error {
    constructor(readonly failure: StartupFailure) {
        super(failure.panic);
    }
}

class Replay {
    private readonly full = new Map<string, Map<number, PCell[]>>();
    private readonly free = new Map<string, Map<number, CellList>>();
    private readonly badFree = new Map<string, Map<number, CellList>>();
    private readonly totalLeft = new Map<string, Levels>();
    /** HiveD's count of cells per chain and level before any is allocated. */
    private readonly counted = new Map<string, Levels>();
    private readonly allVcFree = new Map<string, Levels>();
    private readonly vcFree = new Map<string, Map<string, Levels>>();
    private readonly preassigned = new Map<string, Map<string, Map<number, Preassigned>>>();
    /** VC -> the pinned cells it uses, with the chain's type at each one's level. */
    private readonly pinned = new Map<string, { cell: PCell; type: string }[]>();
    private readonly physicalOf = new Map<Cell, PCell>();
    /** The step being replayed, for the failure it may meet. */
    private step: StartupFailure["step"] = "initCellNums";

    constructor(private readonly input: StartupInput, private readonly reversed: boolean) {}

    run(): StartupFailure | undefined {
        try {
            this.buildPhysical();
            this.buildVirtual();
            this.initCellNums();
            this.initPinnedCells();
            this.initBadNodes();
            return undefined;
        } catch (err) {
            if (err instanceof Panic) {
                return err.failure;
            }
            throw err;
        }
    }

    private order<T>(items: T[]): T[] {
        return this.reversed ? [...items].reverse() : items;
    }

    // ---- pkg/algorithm/config.go: the cells ------------------------------------------------

    private buildPhysical(): void {
        for (const chain of this.input.chains.values()) {
            const full = new Map<number, PCell[]>();
            const free = new Map<number, CellList>();
            for (let l = 1; l <= chain.topLevel; l++) {
                free.set(l, new CellList());
                full.set(l, []);
            }
            this.full.set(chain.name, full);
            this.free.set(chain.name, free);
            const nodes = nodeLevel(chain);
            // A leaf's node is the last segment of its node-level cell's address (config.go buildChildCell).
            const build = (cell: Cell, parent: PCell | undefined, node: string): PCell => {
                const own: PCell = { chain: chain.name, level: cell.level, address: cell.fullAddress, parent, children: [], node, healthy: true, split: false };
                if (cell.level === nodes) {
                    node = cell.fullAddress.split("/").pop()!;
                }
                own.node = node;
                full.get(cell.level)!.push(own);
                if (cell.pinned) {
                    this.physicalOf.set(cell, own);
                }
                own.children = cell.children.map(child => build(child, own, node));
                return own;
            };
            for (const top of chain.tops) {
                free.get(chain.topLevel)!.push(build(top, undefined, ""));
            }
        }
    }

    private buildVirtual(): void {
        const byVc = new Map<string, Demand[]>();
        for (const d of this.input.demand) {
            (byVc.get(d.vc) ?? byVc.set(d.vc, []).get(d.vc)!).push(d);
        }
        for (const [vc, demands] of this.order([...byVc])) {
            const free = new Map<string, Levels>();
            const pre = new Map<string, Map<number, Preassigned>>();
            this.vcFree.set(vc, free);
            this.preassigned.set(vc, pre);
            for (const d of demands) {
                const levels = free.get(d.chain) ?? free.set(d.chain, new Map()).get(d.chain)!;
                if (d.pinned) {
                    levels.set(d.level, int32((levels.get(d.level) ?? 0) + 1));
                    const chain = this.input.chains.get(d.chain)!;
                    const target = this.physicalOf.get(this.input.pinnedCells.get(d.pinned)!.cell)!;
                    (this.pinned.get(vc) ?? this.pinned.set(vc, []).get(vc)!).push({ cell: target, type: chain.types[chain.topLevel - target.level] });
                } else {
                    levels.set(d.level, int32((levels.get(d.level) ?? 0) + d.number));
                    const lists = pre.get(d.chain) ?? pre.set(d.chain, new Map()).get(d.chain)!;
                    const list = lists.get(d.level) ?? lists.set(d.level, { runs: [], bound: 0 }).get(d.level)!;
                    list.runs.push({ type: d.type, count: Math.max(0, d.number) });
                }
            }
        }
    }

    // ---- hived_algorithm.go initCellNums: the VC assignment check ---------------------------

    private initCellNums(): void {
        for (const chains of this.vcFree.values()) {
            for (const [chain, levels] of chains) {
                const all = this.allVcFree.get(chain) ?? this.allVcFree.set(chain, new Map()).get(chain)!;
                for (const [level, n] of levels) {
                    all.set(level, int32((all.get(level) ?? 0) + n));
                }
            }
        }
        for (const [chain, demand] of this.allVcFree) {
            const full = this.full.get(chain)!;
            const top = full.size;
            let available = full.get(top)!.length;
            const total: Levels = new Map([[top, available]]);
            this.totalLeft.set(chain, total);
            this.badFree.set(chain, new Map());
            for (let l = top; l >= 1; l--) {
                const needed = demand.get(l) ?? 0;
                const left = int32(available - needed);
                if (left < 0) {
                    throw new Panic({
                        step: "initCellNums", chain, level: l, needed, available,
                        panic: `Illegal initial VC assignment: Insufficient physical cells at chain ${chain} level ${l}: ${needed} needed, ${available} available`,
                        reason: "the VCs ask for more cells than HiveD counts at this level",
                    });
                }
                if (l > 1) {
                    const childNum = full.get(l)![0].children.length;
                    available = Math.imul(left, childNum);
                    total.set(l - 1, Math.imul(total.get(l)!, childNum));
                }
            }
            this.counted.set(chain, new Map(total));
        }
    }

    // ---- hived_algorithm.go initPinnedCells -------------------------------------------------

    private initPinnedCells(): void {
        this.step = "initPinnedCells";
        for (const [vc, cells] of this.order([...this.pinned])) {
            for (const { cell, type } of this.order(cells)) {
                this.allocatePreassignedCell(cell, vc, false);
                cell.virtual = { type, childrenBound: 0 };
            }
        }
    }

    // ---- hived_algorithm.go initBadNodes ----------------------------------------------------

    private initBadNodes(): void {
        this.step = "initBadNodes";
        const badNodes = new Set<string>();
        const chains = this.order([...this.full.keys()]);
        // setBadNode: the leaves on a node, chain by chain, in each chain's order.
        const leavesOn = new Map<string, PCell[]>();
        for (const chain of chains) {
            for (const leaf of this.full.get(chain)!.get(1)!) {
                (leavesOn.get(leaf.node) ?? leavesOn.set(leaf.node, []).get(leaf.node)!).push(leaf);
            }
        }
        const nodesOf = (c: PCell): string[] => c.children.length === 0 || c.level === nodeLevel(this.input.chains.get(c.chain)!)
            ? [c.node] : c.children.flatMap(nodesOf);
        for (const chain of chains) {
            const full = this.full.get(chain)!;
            for (const top of full.get(full.size)!) {
                for (const node of nodesOf(top)) {
                    if (!badNodes.has(node)) {
                        badNodes.add(node);
                        leavesOn.get(node)?.forEach(leaf => this.setBadCell(leaf));
                    }
                }
            }
        }
    }

    private setBadCell(c: PCell): void {
        if (!c.healthy) {
            return;
        }
        c.healthy = false;
        if (c.parent) {
            this.setBadCell(c.parent);
        }
        if (this.inFreeCellList(c)) {
            this.addBadFreeCell(c);
        } else if (!c.virtual && !c.split) {
            this.bindToUnboundChild(c, "setBadCell");
        }
    }

    /** Binds c to an unbound virtual child of its parent's virtual cell (setBadCell, allocateBadCell). */
    private bindToUnboundChild(c: PCell, where: string): void {
        const parent = c.parent?.virtual;
        const info = parent && this.input.cellTypes.get(parent.type);
        if (!parent || !info || parent.childrenBound >= info.childNumber) {
            throw new Panic({
                step: "initBadNodes", chain: c.chain, level: c.level,
                panic: `runtime error: invalid memory address or nil pointer dereference (${where})`,
                reason: `cell ${c.parent?.address} lists more children than its type's childCellNumber (${info?.childNumber ?? 0}): a cell HiveD binds (a pinned cell, or one it gives a VC) has one virtual child per childCellNumber, and binding one more crashes it when the node turns unhealthy at startup. List at most childCellNumber children, or raise it`,
            });
        }
        parent.childrenBound++;
        c.virtual = { type: info.child, childrenBound: 0 };
    }

    private inFreeCellList(c: PCell): boolean {
        for (let cell: PCell = c; ; cell = cell.parent!) {
            if (cell.virtual || cell.split) {
                return false;
            }
            if (!cell.parent || cell.parent.split) {
                return true;
            }
        }
    }

    private addBadFreeCell(c: PCell): void {
        const bad = this.list(this.badFree, c.chain, c.level);
        bad.push(c);
        if ((this.allVcFree.get(c.chain)!.get(c.level) ?? 0) > this.totalLeft.get(c.chain)!.get(c.level)! - bad.length) {
            this.tryBindDoomedBadCell(c.chain, c.level);
        }
    }

    private tryBindDoomedBadCell(chain: string, l: number): void {
        for (const [vc, chains] of this.vcFree) {
            const free = chains.get(chain);
            if (!free) {
                continue;
            }
            const bad = this.list(this.badFree, chain, l);
            while ((free.get(l) ?? 0) > this.totalLeft.get(chain)!.get(l)! - bad.length) {
                const healthy = this.totalLeft.get(chain)!.get(l)! - bad.length;
                if (bad.length === 0) {
                    throw new Panic({
                        step: this.step, chain, level: l, needed: free.get(l) ?? 0, available: healthy,
                        panic: "runtime error: index out of range [0] with length 0 (tryBindDoomedBadCell)",
                        reason: `VC ${vc} asks for ${free.get(l) ?? 0} whole cells at this level, and HiveD counts ${healthy} left once the pinned cells the VCs use are taken out (each takes its own cell, splits every cell above it and, by HiveD's count, takes the first cell's share below it): ask for fewer whole cells here, or pin cells inside fewer of them`,
                    });
                }
                const pc = bad.items[0];
                const list = this.preassigned.get(vc)!.get(chain)?.get(l);
                const type = nextUnbound(list);
                if (type === undefined) {
                    throw new Panic({
                        step: this.step, chain, level: l, needed: free.get(l) ?? 0, available: healthy,
                        panic: "runtime error: invalid memory address or nil pointer dereference (tryBindDoomedBadCell)",
                        reason: `HiveD counts ${this.counted.get(chain)!.get(l)} cells at this level (the first cell's children times the cells above), and there are ${this.full.get(chain)!.get(l)!.length}: every node starts unhealthy until Kubernetes reports it, and as they turn unhealthy HiveD's count of healthy cells here goes below zero. Put the cell with the most children first at each level (the largest pool first), or give every cell of a type the same number of children`,
                    });
                }
                list!.bound++;
                pc.virtual = { type, childrenBound: 0 };
                this.allocatePreassignedCell(pc, vc, true);
            }
        }
    }

    private allocatePreassignedCell(c: PCell, vc: string, doomedBad: boolean): void {
        const { chain, level } = c;
        const total = this.totalLeft.get(chain)!;
        const vcLevels = this.vcFree.get(vc)!.get(chain)!;
        vcLevels.set(level, int32((vcLevels.get(level) ?? 0) - 1));
        const all = this.allVcFree.get(chain)!;
        all.set(level, int32((all.get(level) ?? 0) - 1));
        total.set(level, int32(total.get(level)! - 1));
        const splitLevelUpTo = this.removeCellFromFreeList(c);
        let parent = c.parent;
        for (let l = level + 1; l <= splitLevelUpTo; l++) {
            total.set(l, int32(total.get(l)! - 1));
            if (!parent!.healthy) {
                this.remove(this.list(this.badFree, chain, l), parent!);
            } else {
                this.tryBindDoomedBadCell(chain, l);
            }
            parent = parent!.parent;
        }
        if (!c.healthy) {
            this.allocateBadCell(c);
        } else {
            this.tryBindDoomedBadCell(chain, level);
        }
        let numToReduce = c.children.length;
        for (let l = level - 1; l >= 1; l--) {
            total.set(l, int32(total.get(l)! - numToReduce));
            if (!doomedBad) {
                this.tryBindDoomedBadCell(chain, l);
            }
            numToReduce = Math.imul(numToReduce, this.full.get(chain)!.get(l)![0].children.length);
        }
    }

    private allocateBadCell(c: PCell): void {
        const bad = this.list(this.badFree, c.chain, c.level);
        if (bad.contains(c)) {
            this.remove(bad, c);
        }
        if (!c.virtual) {
            this.bindToUnboundChild(c, "allocateBadCell");
        }
        for (const child of c.children) {
            if (!child.healthy) {
                this.allocateBadCell(child);
            }
        }
    }

    private removeCellFromFreeList(c: PCell): number {
        for (let cell = c; ;) {
            const parent = cell.parent;
            let terminate = false;
            if (parent) {
                if (parent.split) {
                    terminate = true;
                } else {
                    this.list(this.free, cell.chain, cell.level).push(...parent.children);
                    parent.split = true;
                }
            } else {
                terminate = true;
            }
            this.remove(this.list(this.free, cell.chain, cell.level), cell);
            if (terminate) {
                return cell.level;
            }
            cell = parent!;
        }
    }

    private list(lists: Map<string, Map<number, CellList>>, chain: string, level: number): CellList {
        const levels = lists.get(chain);
        if (!levels) {
            throw new Panic({
                step: this.step, chain, level, panic: "assignment to entry in nil map",
                reason: `no VC references chain ${chain}`,
            });
        }
        return levels.get(level) ?? levels.set(level, new CellList()).get(level)!;
    }

    private remove(list: CellList, c: PCell): void {
        if (!list.remove(c)) {
            throw new Panic({
                step: this.step, chain: c.chain, level: c.level,
                panic: `Cell not not found in list when removing: ${c.address}`,
                reason: `HiveD lost cell ${c.address} from its cell lists: give every cell its own address`,
            });
        }
    }
}
