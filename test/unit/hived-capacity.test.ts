import * as assert from "assert";
import { validateHived } from "../../config/hived";
import { HivedLoader, hivedLoader } from "./hived-loader";

/** A node cell: its name, and the GPUs it lists (none: HiveD makes its type's childCellNumber). */
function node(name: string, listed?: number, pinnedCellId?: string): Record<string, unknown> {
    return {
        cellAddress: name,
        ...(listed !== undefined ? { cellChildren: Array.from({ length: listed }, (_, i) => ({ cellAddress: String(i) })) } : {}),
        ...(pinnedCellId ? { pinnedCellId } : {}),
    };
}

/**
 * One chain P of pools (type childCellNumber 2) of nodes N (4 GPUs G), with the given pools and VCs;
 * a pool is its nodes, optionally with a pinnedCellId.
 */
function cluster(pools: (Record<string, unknown>[] | { nodes: Record<string, unknown>[]; pin: string })[], vcs: Record<string, unknown>): any {
    return {
        physicalCluster: {
            skuTypes: { G: { gpu: 1, cpu: 4, memory: "8192Mi" } },
            cellTypes: {
                N: { childCellType: "G", childCellNumber: 4, isNodeLevel: true },
                P: { childCellType: "N", childCellNumber: 2 },
            },
            physicalCells: pools.map(p => Array.isArray(p)
                ? { cellType: "P", cellChildren: p }
                : { cellType: "P", pinnedCellId: p.pin, cellChildren: p.nodes }),
        },
        virtualClusters: vcs,
    };
}

const cells = (cellType: string, cellNumber: number) => ({ virtualCells: [{ cellType, cellNumber }] });
const pinned = (...ids: string[]) => ({ pinnedCells: ids.map(pinnedCellId => ({ pinnedCellId })) });
const nodes = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => node(`${prefix}w${i}`));

interface Case {
    name: string;
    config: any;
    /** What HiveD v0.3.4 says: ok, or its panic. */
    hived: "ok" | RegExp;
    /** The validator's error on the chain, or none. */
    ours?: RegExp;
}

/**
 * HiveD's VC assignment check and what follows it at startup (config/hived/startup.ts says the rule
 * and names the files), rule by rule: configs HiveD takes and configs it refuses or crashes on.
 */
const cases: Case[] = [
    {
        name: "initCellNums counts by the first cell of a level: pools of 1 and 3 nodes, 4 nodes asked, are refused although they exist",
        config: cluster([nodes("a", 1), nodes("b", 3)], { v: cells("P.N", 4) }),
        hived: /Insufficient physical cells at chain P level 2: 4 needed, 2 available/,
        ours: /refuses it at startup \(initCellNums: .*4 needed, 2 available.*although the cells exist.*largest pool first/,
    },
    {
        name: "pools of 3 and 1 nodes, 4 nodes asked: both counts fit",
        config: cluster([nodes("a", 3), nodes("b", 1)], { v: cells("P.N", 4) }),
        hived: "ok",
    },
    {
        name: "pools of 3 and 1 nodes, 6 nodes asked: HiveD counts 6 and starts, over-subscribed",
        config: cluster([nodes("a", 3), nodes("b", 1)], { v: cells("P.N", 6) }),
        hived: "ok",
        ours: /over-subscribed at level 2: 6 needed, 4 left whole there.*HiveD starts but misses this/,
    },
    {
        name: "pools of 1 and 3 nodes, 2 nodes asked: HiveD counts 2 nodes of 4 and crashes as it marks them unhealthy",
        config: cluster([nodes("a", 1), nodes("b", 3)], { v: cells("P.N", 2) }),
        hived: /invalid memory address or nil pointer dereference/,
        ours: /crashes at startup \(initBadNodes: .*nil pointer dereference.*HiveD counts 2 cells at this level .* and there are 4/,
    },
    {
        name: "a node listing fewer GPUs than its type, first: HiveD counts 2 x 2 GPUs, 6 asked",
        config: cluster([[node("w0", 2), node("w1", 4)]], { v: cells("P.N.G", 6) }),
        hived: /Insufficient physical cells at chain P level 1: 6 needed, 4 available/,
        ours: /6 needed, 4 available/,
    },
    {
        name: "a node listing fewer GPUs than its type, last: HiveD counts 2 x 4 GPUs, 6 asked, and 6 exist",
        config: cluster([[node("w0", 4), node("w1", 2)]], { v: cells("P.N.G", 6) }),
        hived: "ok",
    },
    {
        name: "... and 8 asked: HiveD counts 8 and starts, over-subscribed",
        config: cluster([[node("w0", 4), node("w1", 2)]], { v: cells("P.N.G", 8) }),
        hived: "ok",
        ours: /over-subscribed at level 1: 8 needed, 6 left whole there/,
    },
    {
        name: "a pinned cell takes its share at its own level: a pinned GPU beside both nodes asked",
        config: cluster([[node("w0", undefined), { cellAddress: "w1", cellChildren: [{ cellAddress: "0", pinnedCellId: "g" }, { cellAddress: "1" }, { cellAddress: "2" }, { cellAddress: "3" }] }]],
            { a: cells("P.N", 2), b: pinned("g") }),
        hived: /Insufficient physical cells at chain P level 1: 1 needed, 0 available/,
        ours: /2 needed, 1 left whole there.*Insufficient physical cells at chain P level 1: 1 needed, 0 available/,
    },
    {
        name: "a pinned cell splits every cell above it: a pinned GPU in each of two pools, a whole pool asked",
        config: cluster([[node("a0", 4), { cellAddress: "a1", cellChildren: [{ cellAddress: "0", pinnedCellId: "ga" }] }],
            [node("b0", 4), { cellAddress: "b1", cellChildren: [{ cellAddress: "0", pinnedCellId: "gb" }] }]],
        { a: cells("P", 1), b: pinned("ga", "gb") }),
        hived: /index out of range \[0\] with length 0/,
        ours: /over-subscribed at level 3: 1 needed, 0 left whole there.*initPinnedCells: "runtime error: index out of range/,
    },
    {
        name: "a pinned node, and the other node of its pool asked",
        config: cluster([[node("w0", undefined, "n0"), node("w1")]], { a: cells("P.N", 1), b: pinned("n0") }),
        hived: "ok",
    },
    {
        name: "pinned cells one inside the other, both used",
        config: cluster([{ nodes: [node("w0", undefined, "n0"), node("w1")], pin: "pool" }, nodes("b", 2)], { a: pinned("pool"), b: pinned("n0") }),
        hived: /Cell not not found in list when removing/,
        ours: /pinned cell 0\/w0 lies inside pinned cell 0, and VCs use both: HiveD crashes at startup \(initPinnedCells: "Cell not not found in list when removing: 0"\); pin only one of them/,
    },
    {
        name: "a pinned node listing more GPUs than its type",
        config: cluster([[node("w0", 5, "n0"), node("w1")]], { a: cells("P.N", 1), b: pinned("n0") }),
        hived: /invalid memory address or nil pointer dereference/,
        ours: /cell 0\/w0 lists more children than its type's childCellNumber \(4\)/,
    },
    {
        name: "several pools of one chain given whole, by nodes and by GPUs at once",
        config: cluster([nodes("a", 2), nodes("b", 2), nodes("c", 2)], {
            a: cells("P", 1), b: cells("P.N", 2), c: { virtualCells: [{ cellType: "P.N.G", cellNumber: 7 }, { cellType: "P.N.G", cellNumber: 0 }] },
        }),
        hived: "ok",
    },
    {
        name: "negative cellNumbers hiding an over-subscription: HiveD starts",
        config: cluster([nodes("a", 2)], { a: cells("P.N", 2), b: { virtualCells: [{ cellType: "P.N.G", cellNumber: -4 }, { cellType: "P.N.G", cellNumber: 4 }] } }),
        hived: "ok",
        ours: /over-subscribed at level 1: 4 needed, 0 left whole there.*negative cellNumbers hide it from HiveD/,
    },
];

/** A seeded generator of small hand-written configs: uneven pools, listed children, pinned cells anywhere, two chains. */
function randomConfigs(count: number, seed: number): any[] {
    let state = seed;
    const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    const between = (a: number, b: number) => a + Math.floor(random() * (b - a + 1));
    const out = [];
    for (let k = 0; k < count; k++) {
        const gpus = between(1, 4);
        const perPool = between(1, 3);
        const deep = random() < 0.4;
        const cellTypes: Record<string, unknown> = {
            N: { childCellType: "G", childCellNumber: gpus, isNodeLevel: true },
            P: { childCellType: "N", childCellNumber: perPool },
            C: { childCellType: "X", childCellNumber: between(1, 3), isNodeLevel: true },
        };
        if (deep) {
            cellTypes.R = { childCellType: "P", childCellNumber: between(1, 2) };
        }
        const pins: string[] = [];
        const maybePin = (c: Record<string, unknown>) => {
            if (random() < 0.1) {
                c.pinnedCellId = `pin${pins.length}`;
                pins.push(c.pinnedCellId as string);
            }
            return c;
        };
        let nodeId = 0;
        const makeNode = () => {
            const c = maybePin({ cellAddress: `w${nodeId++}` });
            if (random() < 0.4) {
                c.cellChildren = Array.from({ length: between(1, gpus + 1) }, (_, i) => maybePin({ cellAddress: String(i) }));
            }
            return c;
        };
        const makePool = () => maybePin({ cellChildren: Array.from({ length: between(1, perPool + 1) }, makeNode) });
        const makeTop = deep ? () => maybePin({ cellChildren: Array.from({ length: between(1, 3) }, makePool) }) : makePool;
        const top = deep ? "R" : "P";
        const physicalCells: Record<string, unknown>[] = Array.from({ length: between(1, 3) }, () => ({ ...makeTop(), cellType: top }));
        const cpuNodes = random() < 0.3 ? between(1, 2) : 0;
        for (let i = 0; i < cpuNodes; i++) {
            physicalCells.push(maybePin({ cellType: "C", cellAddress: `c${i}` }));
        }
        const types = deep ? ["R", "R.P", "R.P.N", "R.P.N.G"] : ["P", "P.N", "P.N.G"];
        const virtualClusters: Record<string, any> = {};
        const used = new Set<string>();
        for (let v = between(1, 3) - 1; v >= 0; v--) {
            const spec: any = { virtualCells: [] };
            for (let n = between(0, 3); n > 0; n--) {
                spec.virtualCells.push({ cellType: types[between(0, types.length - 1)], cellNumber: random() < 0.05 ? -between(1, 3) : between(0, 4) });
            }
            if (cpuNodes && random() < 0.5) {
                spec.virtualCells.push({ cellType: random() < 0.5 ? "C" : "C.X", cellNumber: between(0, 3) });
            }
            for (const id of pins) {
                if (!used.has(id) && random() < 0.6) {
                    used.add(id);
                    (spec.pinnedCells ??= []).push({ pinnedCellId: id });
                }
            }
            if (v === 0) {
                spec.virtualCells.push({ cellType: top, cellNumber: 0 }, ...(cpuNodes ? [{ cellType: "C", cellNumber: 0 }] : []));
            }
            virtualClusters[`vc${v}`] = spec;
        }
        out.push({ physicalCluster: { skuTypes: { G: { gpu: 1, cpu: 1, memory: "1Mi" }, X: { cpu: 1, memory: "1Mi" } }, cellTypes, physicalCells }, virtualClusters });
    }
    return out;
}

describe("HiveD's startup with a config: the validator's replay, held against HiveD v0.3.4's own loader", function () {
    // The loader's first build on a machine takes minutes (test/hived-loader/build.sh).
    this.timeout(20 * 60 * 1000);
    let loader: HivedLoader | undefined;
    before(() => {
        const found = hivedLoader();
        if (typeof found === "string") {
            process.stdout.write(`      (HiveD's own loader not run: ${found}; only the validator is checked)\n`);
        } else {
            loader = found;
        }
    });

    for (const c of cases) {
        it(c.name, () => {
            const report = validateHived(c.config);
            const errors = report.errors.filter(e => e.path === "virtualClusters (chain P)");
            assert.deepStrictEqual(report.errors.filter(e => !errors.includes(e)), [], "no other errors");
            if (c.ours) {
                assert.strictEqual(errors.length, 1, JSON.stringify(report.errors, null, 1));
                assert.match(errors[0].message, c.ours);
            } else {
                assert.deepStrictEqual(errors, []);
            }
            if (loader) {
                const { verdict } = loader.load(c.config);
                if (c.hived === "ok") {
                    assert.strictEqual(verdict, "ok");
                } else {
                    assert.match(verdict, c.hived);
                    // The validator quotes HiveD's own message.
                    assert.ok(errors[0].message.includes(verdict.replace(/^(refused|crashed): /, "")), `${errors[0].message} quotes ${verdict}`);
                }
            }
        });
    }

    it("agrees with HiveD on 150 random hand-written configs: HiveD starts exactly when the validator finds no HiveD error but over-subscription", function () {
        if (!loader) {
            this.skip();
        }
        const tally = { ok: 0, refused: 0, overSubscribedButStarts: 0 };
        for (const config of randomConfigs(150, 20260419)) {
            const errors = validateHived(structuredClone(config)).errors.filter(e => e.source === "hived");
            const { verdict } = loader!.load(config);
            const startsAnyway = errors.length > 0 && errors.every(e => /HiveD starts|hide it from HiveD/.test(e.message));
            assert.strictEqual(verdict === "ok", errors.length === 0 || startsAnyway, `HiveD: ${verdict}; validator: ${JSON.stringify(errors)}\n${JSON.stringify(config)}`);
            tally[verdict !== "ok" ? "refused" : startsAnyway ? "overSubscribedButStarts" : "ok"]++;
        }
        process.stdout.write(`      HiveD started with ${tally.ok} configs, ${tally.overSubscribedButStarts} of them over-subscribed (the validator refuses those), and refused or crashed on ${tally.refused}\n`);
        assert.ok(tally.ok >= 10 && tally.refused >= 10, "the generator covers both sides");
    });
});
