import * as assert from "assert";
import { validateHived, validateHivedText, HivedReport, FindingSource } from "../../config/hived";

/** A small valid config: one chain of two 4-GPU nodes, used as the base of every case. */
function base(): any {
    return {
        physicalCluster: {
            skuTypes: { GPU: { gpu: 1, cpu: 4, memory: "8192Mi" } },
            cellTypes: {
                "GPU-NODE": { childCellType: "GPU", childCellNumber: 4, isNodeLevel: true },
                "GPU-NODE-POOL": { childCellType: "GPU-NODE", childCellNumber: 2 },
            },
            physicalCells: [{ cellType: "GPU-NODE-POOL", cellChildren: [{ cellAddress: "w0" }, { cellAddress: "w1" }] }],
        },
        virtualClusters: {
            default: { virtualCells: [{ cellType: "GPU-NODE-POOL.GPU-NODE", cellNumber: 1 }] },
            vc1: { virtualCells: [{ cellType: "GPU-NODE-POOL.GPU-NODE.GPU", cellNumber: 1 }] },
        },
    };
}

function expectError(report: HivedReport, path: string, text: RegExp, source: FindingSource = "hived"): void {
    const hit = report.errors.find(e => e.path === path && text.test(e.message) && e.source === source);
    assert.ok(hit, `expected a ${source} error at ${path} matching ${text}, got:\n${JSON.stringify(report.errors, null, 1)}`);
}

function expectWarning(report: HivedReport, path: string, text: RegExp): void {
    assert.deepStrictEqual(report.errors, [], "no errors expected");
    const hit = report.warnings.find(w => w.path === path && text.test(w.message) && w.source === "advice");
    assert.ok(hit, `expected a warning at ${path} matching ${text}, got:\n${JSON.stringify(report.warnings, null, 1)}`);
}

describe("hived validator", () => {
    it("accepts a valid config without warnings and computes VC capacity", () => {
        const report = validateHived(base(), { hostnames: ["w0", "w1"] });
        assert.deepStrictEqual(report.errors, []);
        assert.deepStrictEqual(report.warnings, []);
        assert.deepStrictEqual(report.capacity, [
            { vc: "default", gpus: 4, cpus: 16, leafCells: { GPU: 4 }, largestPod: { GPU: 4 }, largestPodGpus: 4 },
            { vc: "vc1", gpus: 1, cpus: 4, leafCells: { GPU: 1 }, largestPod: { GPU: 1 }, largestPodGpus: 1 },
        ]);
    });

    it("rejects a document that is not a mapping", () => {
        expectError(validateHived(["a"]), "", /must be a YAML mapping/);
    });

    describe("rejects every HiveD startup failure", () => {
        it("1: wrong YAML types", () => {
            const c = base();
            c.virtualClusters.vc1.virtualCells[0].cellNumber = "two";
            c.physicalCluster.cellTypes["GPU-NODE"].isNodeLevel = 3;
            const r = validateHived(c);
            expectError(r, "virtualClusters.vc1.virtualCells[0].cellNumber", /whole number/);
            expectError(r, "physicalCluster.cellTypes.GPU-NODE.isNodeLevel", /true or false/);
            const list = base();
            list.physicalCluster.physicalCells[0].cellChildren = { a: 1 };
            expectError(validateHived(list), "physicalCluster.physicalCells[0].cellChildren", /must be a list/);
            const big = base();
            big.virtualClusters.vc1.virtualCells[0].cellNumber = 2 ** 31;
            expectError(validateHived(big), "virtualClusters.vc1.virtualCells[0].cellNumber", /int32/);
        });
        it("2: a top-level cell whose type is unknown or a leaf", () => {
            const c = base();
            c.physicalCluster.physicalCells.push({ cellType: "GPU-RACK" }, { cellType: "GPU" });
            const r = validateHived(c);
            expectError(r, "physicalCluster.physicalCells[1].cellType", /unknown cell type 'GPU-RACK'/);
            expectError(r, "physicalCluster.physicalCells[2].cellType", /leaf type/);
        });
        it("3: a cycle in cellTypes, even unused", () => {
            const c = base();
            c.physicalCluster.cellTypes.A = { childCellType: "B", childCellNumber: 1 };
            c.physicalCluster.cellTypes.B = { childCellType: "A", childCellNumber: 1 };
            expectError(validateHived(c), "physicalCluster.cellTypes.A.childCellType", /cycle A -> B -> A/);
        });
        it("4: a missing or empty childCellType, or a leaf declared as its own child", () => {
            const c = base();
            c.physicalCluster.cellTypes.X = { childCellNumber: 2 };
            c.physicalCluster.cellTypes.Y = { childCellType: "", childCellNumber: 2 };
            c.physicalCluster.cellTypes.GPU = { childCellType: "GPU", childCellNumber: 1 };
            const r = validateHived(c);
            expectError(r, "physicalCluster.cellTypes.X.childCellType", /no childCellType/);
            expectError(r, "physicalCluster.cellTypes.Y.childCellType", /no childCellType/);
            expectError(r, "physicalCluster.cellTypes.GPU.childCellType", /its own child/);
        });
        it("5: a top-level cell with no node-level type at or below it", () => {
            const c = base();
            delete c.physicalCluster.cellTypes["GPU-NODE"].isNodeLevel;
            expectError(validateHived(c), "physicalCluster.physicalCells[0].cellType", /top cell must be node-level or above/);
        });
        it("6: a leaf address that is not an int32", () => {
            const c = base();
            c.physicalCluster.physicalCells[0].cellChildren[0].cellChildren = [
                { cellAddress: 0 }, { cellAddress: "gpu1" }, { cellAddress: 2 }, { cellAddress: "99999999999" }];
            const r = validateHived(c);
            expectError(r, "physicalCluster.physicalCells[0].cellChildren[0].cellChildren[1].cellAddress", /must be integers/);
            expectError(r, "physicalCluster.physicalCells[0].cellChildren[0].cellChildren[3].cellAddress", /must be integers/);
            assert.strictEqual(r.errors.length, 2);
        });
        it("7: a VC cell type whose last segment is unknown or empty", () => {
            const c = base();
            c.virtualClusters.vc1.virtualCells.push({ cellType: "GPU-NODE-POOL.GPU-NODEX", cellNumber: 1 }, { cellType: "", cellNumber: 1 });
            const r = validateHived(c);
            expectError(r, "virtualClusters.vc1.virtualCells[1].cellType", /unknown cell type 'GPU-NODEX'/);
            expectError(r, "virtualClusters.vc1.virtualCells[2].cellType", /is empty/);
        });
        it("8: a VC pinnedCellId that no physical cell defines", () => {
            const c = base();
            c.virtualClusters.vc1.pinnedCells = [{ pinnedCellId: "nope" }];
            expectError(validateHived(c), "virtualClusters.vc1.pinnedCells[0].pinnedCellId", /no physical cell has pinnedCellId 'nope'/);
        });
        it("9: a VC chain that is not a top-level physical cell type", () => {
            for (const chain of ["RACK", "GPU", "GPU-NODE"]) {
                const c = base();
                c.virtualClusters.vc1.virtualCells[0].cellType = `${chain}.GPU`;
                expectError(validateHived(c), "virtualClusters.vc1.virtualCells[0].cellType", new RegExp(`'${chain}' is not the cellType of any top-level`));
            }
        });
        it("10: over-subscription per chain and level", () => {
            const c = base();
            c.virtualClusters.default.virtualCells[0].cellNumber = 2;
            expectError(validateHived(c), "virtualClusters (chain GPU-NODE-POOL)", /Insufficient physical cells at chain GPU-NODE-POOL level 1: 1 needed, 0 available/);
            const top = base();
            top.virtualClusters.vc1.virtualCells = [{ cellType: "GPU-NODE-POOL", cellNumber: 2 }];
            expectError(validateHived(top), "virtualClusters (chain GPU-NODE-POOL)", /level 3: 2 needed, 1 available/);
        });
        it("11: childCellNumber missing or 0", () => {
            const c = base();
            delete c.physicalCluster.cellTypes["GPU-NODE"].childCellNumber;
            c.physicalCluster.cellTypes["GPU-NODE-POOL"].childCellNumber = 0;
            const r = validateHived(c);
            expectError(r, "physicalCluster.cellTypes.GPU-NODE.childCellNumber", /missing .*index out of range/);
            expectError(r, "physicalCluster.cellTypes.GPU-NODE-POOL.childCellNumber", /at least 1, not 0/);
        });
        it("12: the same pinned cell used by two VCs, or twice in one", () => {
            const c = base();
            c.physicalCluster.physicalCells[0].cellChildren[1].pinnedCellId = "p1";
            c.virtualClusters.default.virtualCells[0].cellNumber = 0;
            c.virtualClusters.vc1.virtualCells[0].cellNumber = 0;
            c.virtualClusters.default.pinnedCells = [{ pinnedCellId: "p1" }];
            c.virtualClusters.vc1.pinnedCells = [{ pinnedCellId: "p1" }];
            expectError(validateHived(c), "virtualClusters.vc1.pinnedCells[0].pinnedCellId", /already used by VC default/);
            delete c.virtualClusters.vc1.pinnedCells;
            c.virtualClusters.default.pinnedCells.push({ pinnedCellId: "p1" });
            expectError(validateHived(c), "virtualClusters.default.pinnedCells[1].pinnedCellId", /already used by this VC/);
        });
        it("13: a physical chain that no VC references, or no virtualClusters at all", () => {
            const c = base();
            c.physicalCluster.cellTypes["CPU-NODE"] = { childCellType: "CPU", childCellNumber: 8, isNodeLevel: true };
            c.physicalCluster.physicalCells.push({ cellType: "CPU-NODE", cellAddress: "c0" });
            c.physicalCluster.skuTypes.CPU = { cpu: 1, memory: "1024Mi" };
            expectError(validateHived(c), "virtualClusters", /no VC references chain 'CPU-NODE'/);
            c.virtualClusters.vc1.virtualCells.push({ cellType: "CPU-NODE", cellNumber: 0 });
            const referencedByZero = validateHived(c);
            assert.deepStrictEqual(referencedByZero.errors, []);
            assert.deepStrictEqual(referencedByZero.warnings, [], "a zero reference that is the chain's only reference is required, not a mistake");
            const none = base();
            delete none.virtualClusters;
            expectError(validateHived(none), "virtualClusters", /no VC references chain 'GPU-NODE-POOL'/);
        });
        it("13 does not apply to a chain referenced only through a VC's pinned cells", () => {
            const c = base();
            c.physicalCluster.cellTypes["CPU-NODE"] = { childCellType: "CPU", childCellNumber: 8, isNodeLevel: true };
            c.physicalCluster.physicalCells.push({ cellType: "CPU-NODE", cellAddress: "c0", pinnedCellId: "cpu-pin" });
            c.physicalCluster.skuTypes.CPU = { cpu: 1, memory: "1024Mi" };
            c.virtualClusters.cpu = { pinnedCells: [{ pinnedCellId: "cpu-pin" }] };
            const r = validateHived(c, { hostnames: ["w0", "w1", "c0"] });
            assert.deepStrictEqual([...r.errors, ...r.warnings], []);
            assert.deepStrictEqual(r.capacity.find(x => x.vc === "cpu"), { vc: "cpu", gpus: 0, cpus: 8, leafCells: { CPU: 8 }, largestPod: { CPU: 8 }, largestPodGpus: 0 });
        });
        it("14: a negative cellNumber that hides an over-subscription", () => {
            const c = base();
            c.virtualClusters.default.virtualCells[0].cellNumber = 2;
            c.virtualClusters.vc1.virtualCells = [{ cellType: "GPU-NODE-POOL.GPU-NODE.GPU", cellNumber: -4 },
                { cellType: "GPU-NODE-POOL.GPU-NODE.GPU", cellNumber: 4 }];
            expectError(validateHived(c), "virtualClusters (chain GPU-NODE-POOL)", /negative cellNumbers/);
        });
    });

    describe("warns about configs HiveD accepts but that are wrong", () => {
        it("cellChildren count different from childCellNumber", () => {
            const c = base();
            c.physicalCluster.physicalCells[0].cellChildren.push({ cellAddress: "w2" });
            expectWarning(validateHived(c), "physicalCluster.physicalCells[0].cellChildren", /3 children listed .* childCellNumber 2/);
        });
        it("duplicate node names and duplicate leaf indexes", () => {
            const c = base();
            c.physicalCluster.physicalCells[0].cellChildren[1].cellAddress = "w0";
            c.physicalCluster.physicalCells[0].cellChildren[0].cellChildren = [{ cellAddress: 0 }, { cellAddress: 0 }, { cellAddress: 1 }, { cellAddress: 2 }];
            const r = validateHived(c);
            expectWarning(r, "physicalCluster.physicalCells[0].cellChildren[1].cellAddress", /node 'w0' appears twice/);
            expectWarning(r, "physicalCluster.physicalCells[0].cellChildren[0].cellChildren[1].cellAddress", /leaf index 0 appears twice/);
        });
        it("duplicate pinnedCellId on physical cells, and pinned cells no VC uses", () => {
            const c = base();
            c.physicalCluster.physicalCells[0].cellChildren[0].pinnedCellId = "p";
            c.physicalCluster.physicalCells[0].cellChildren[1].pinnedCellId = "p";
            const r = validateHived(c);
            expectWarning(r, "physicalCluster.physicalCells[0].cellChildren[1].pinnedCellId", /also set on .*HiveD keeps only the last one/);
            expectWarning(r, "physicalCluster.physicalCells[0].cellChildren[1].pinnedCellId", /used by no VC/);
        });
        it("unknown and misplaced keys, with the likely meaning", () => {
            const c = base();
            c.virtualClusters.vc1.virtualCells[0].pinnedCells = [];
            c.virtualClusters.vc1.reservedCells = [];
            c.physicalCluster.physicalCells[0].cellChildren[0].reservationId = "r";
            c.physicalCluster.celltypes = {};
            const r = validateHived(c);
            expectWarning(r, "virtualClusters.vc1.virtualCells[0].pinnedCells", /directly under the virtual cluster/);
            expectWarning(r, "virtualClusters.vc1.reservedCells", /renamed to pinnedCells/);
            expectWarning(r, "physicalCluster.physicalCells[0].cellChildren[0].reservationId", /renamed to pinnedCellId/);
            expectWarning(r, "physicalCluster.celltypes", /silently ignored/);
        });
        it("a middle segment from another chain", () => {
            const c = base();
            c.virtualClusters.vc1.virtualCells[0].cellType = "GPU-NODE-POOL.CPU-NODE.GPU";
            expectWarning(validateHived(c), "virtualClusters.vc1.virtualCells[0].cellType", /segment 'CPU-NODE' is not a type of chain/);
        });
        it("cellNumber 0 that no chain needs, a second zero reference, negative or missing", () => {
            const c = base();
            c.virtualClusters.vc1.virtualCells[0].cellNumber = 0;
            expectWarning(validateHived(c), "virtualClusters.vc1.virtualCells[0].cellNumber", /cellNumber 0: .* referenced elsewhere/);
            const twice = base();
            twice.virtualClusters.default.virtualCells[0].cellNumber = 0;
            twice.virtualClusters.vc1.virtualCells[0].cellNumber = 0;
            expectWarning(validateHived(twice), "virtualClusters.vc1.virtualCells[0].cellNumber", /already has a zero reference/);
            assert.strictEqual(validateHived(twice).warnings.length, 1, "the first zero reference keeps the chain legal");
            delete c.virtualClusters.vc1.virtualCells[0].cellNumber;
            expectWarning(validateHived(c), "virtualClusters.vc1.virtualCells[0].cellNumber", /is missing: HiveD reads 0/);
            c.virtualClusters.vc1.virtualCells[0].cellNumber = -1;
            expectWarning(validateHived(c), "virtualClusters.vc1.virtualCells[0].cellNumber", /negative cellNumber -1/);
        });
        it("VC names that are not DNS-1123 labels", () => {
            const c = base();
            c.virtualClusters.VC_One = c.virtualClusters.vc1;
            delete c.virtualClusters.vc1;
            expectWarning(validateHived(c), "virtualClusters.VC_One", /not a lowercase DNS-1123 label/);
        });
        it("node names that are not layout hostnames, and nodes without addresses", () => {
            expectWarning(validateHived(base(), { hostnames: ["w0"] }), "physicalCluster.physicalCells[0].cellChildren[1]", /'w1' is not a hostname in the layout/);
            const c = base();
            c.physicalCluster.physicalCells[0].cellChildren = [];
            expectWarning(validateHived(c), "physicalCluster.physicalCells[0].cellChildren[0].cellAddress", /no cellAddress: HiveD names them by index/);
        });
        it("no skuTypes entry for a leaf type (rest-server refuses its jobs)", () => {
            const c = base();
            c.physicalCluster.skuTypes = { OTHER: { gpu: 1, cpu: 1, memory: "1Mi" } };
            expectWarning(validateHived(c), "physicalCluster.skuTypes.GPU", /no entry for leaf type 'GPU'/);
        });
        it("skuTypes values rest-server reads, but not as meant", () => {
            const c = base();
            c.physicalCluster.skuTypes.GPU = { gpu: 1, cpu: "four", memory: "8GB" };
            const r = validateHived(c);
            expectWarning(r, "physicalCluster.skuTypes.GPU.cpu", /reads string "four" as 0/);
            expectWarning(r, "physicalCluster.skuTypes.GPU.memory", /'8GB': .* reads this as 8 bytes/);
            c.physicalCluster.skuTypes.GPU = { gpu: 1, cpu: 4, memory: "65334" };
            expectWarning(validateHived(c), "physicalCluster.skuTypes.GPU.memory", /read .* as 65334 bytes .* write '65334Mi'/);
            c.physicalCluster.skuTypes.GPU = { gpu: 1, cpu: 4, memory: "0Mi" };
            expectWarning(validateHived(c), "physicalCluster.skuTypes.GPU.memory", /no memory/);
        });
        it("several isNodeLevel types in one chain", () => {
            const c = base();
            c.physicalCluster.cellTypes["GPU-NODE-POOL"].isNodeLevel = true;
            expectWarning(validateHived(c), "physicalCluster.cellTypes.GPU-NODE-POOL.isNodeLevel", /several isNodeLevel types/);
        });
    });

    describe("rejects what OpenPAI v1.8.0's rest-server crashes on at startup (src/rest-server/src/config/vc.js)", () => {
        it("physicalCluster.skuTypes missing, empty or not a mapping: \"Cannot find skuTypes in hivedscheduler config.\"", () => {
            for (const skuTypes of [undefined, {}, ["GPU"]]) {
                const c = base();
                c.physicalCluster.skuTypes = skuTypes;
                const r = validateHived(c);
                expectError(r, "physicalCluster.skuTypes", /Cannot find skuTypes in hivedscheduler config/, "rest-server");
                assert.ok(r.errors.every(e => e.source === "rest-server"), "HiveD itself ignores skuTypes");
            }
        });
        it("an entry that is not a mapping", () => {
            const c = base();
            c.physicalCluster.skuTypes.GPU = null;
            expectError(validateHived(c), "physicalCluster.skuTypes.GPU", /not a mapping .* crashes at startup/, "rest-server");
        });
        it("memory missing or not a string (k8sUtils.js convertMemoryMb calls memoryStr.replace)", () => {
            const c = base();
            c.physicalCluster.skuTypes.GPU.memory = 65334;
            expectError(validateHived(c), "physicalCluster.skuTypes.GPU.memory", /is number 65334, not a string: .*"memoryStr.replace is not a function".*'65334Mi'/, "rest-server");
            delete c.physicalCluster.skuTypes.GPU.memory;
            expectError(validateHived(c), "physicalCluster.skuTypes.GPU.memory", /is missing: .*rest-server crashes at startup/, "rest-server");
        });
        it("a key repeated in one mapping (js-yaml 3 safeLoad throws; HiveD keeps the last value)", () => {
            const text = "physicalCluster:\n  skuTypes: {GPU: {gpu: 1, cpu: 4, memory: 8192Mi}}\n  cellTypes:\n"
                + "    GPU-NODE: {childCellType: GPU, childCellNumber: 4, isNodeLevel: true}\n"
                + "    GPU-NODE: {childCellType: GPU, childCellNumber: 4, isNodeLevel: true}\n"
                + "  physicalCells: [{cellType: GPU-NODE, cellAddress: w0}]\n"
                + "virtualClusters: {default: {virtualCells: [{cellType: GPU-NODE, cellNumber: 1}]}}\n";
            const r = validateHivedText(text);
            expectError(r, "(line 5)", /repeated .* rest-server crashes at startup .*duplicated mapping key/, "rest-server");
            assert.strictEqual(r.errors.length, 1, "HiveD itself loads it");
        });
        it("YAML that does not parse fails both", () => {
            expectError(validateHivedText("physicalCluster: [\n"), "", /not valid YAML/, "hived");
        });
    });

    it("never blames HiveD for what only rest-server reads", () => {
        const c = base();
        c.physicalCluster.skuTypes = { GPU: { memory: 1 }, X: "nope" };
        for (const e of validateHived(c).errors) {
            assert.strictEqual(e.source, "rest-server");
            assert.doesNotMatch(e.message, /HiveD (fails|crashes)/);
        }
    });

    it("reports every problem at once", () => {
        const c = base();
        c.physicalCluster.cellTypes["GPU-NODE"].childCellNumber = 0;
        c.virtualClusters.vc1.pinnedCells = [{ pinnedCellId: "x" }];
        c.virtualClusters.vc1.virtualCells[0].cellType = "NOPE.GPU";
        assert.ok(validateHived(c).errors.length >= 3);
    });

    it("refuses a tree too large to expand instead of hanging", () => {
        const c = base();
        c.physicalCluster.cellTypes["GPU-NODE"].childCellNumber = 100000;
        c.physicalCluster.cellTypes["GPU-NODE-POOL"].childCellNumber = 100000;
        c.physicalCluster.physicalCells[0].cellChildren = [];
        const started = Date.now();
        expectError(validateHived(c), "physicalCluster.physicalCells[0].cellType", /expands to 10000000000 leaf cells/);
        assert.ok(Date.now() - started < 2000);
    });
});
