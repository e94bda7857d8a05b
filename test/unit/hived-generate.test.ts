import * as assert from "assert";
import { generateHived, parseStackConfig, validateHived, workerReserve } from "../../config";
import { layout, rawStack } from "./helpers";

function stack(values: Record<string, unknown>) {
    return parseStackConfig(rawStack(values));
}

function generated(values: Record<string, unknown>) {
    const s = stack(values);
    const config = generateHived(s.layout, s.virtualClusters, workerReserve(s.services));
    const report = validateHived(config, { hostnames: s.layout["machine-list"].map(m => m.hostname) });
    return { config, report };
}

describe("hived generator", () => {
    it("shapes the config like OpenPAI: <sku>, <sku>-NODE, <sku>-NODE-POOL, hostnames as addresses", () => {
        const { config, report } = generated({ layout: layout(2) });
        assert.deepStrictEqual(report.errors, []);
        assert.deepStrictEqual(report.warnings, []);
        assert.deepStrictEqual(config.physicalCluster.cellTypes, {
            "gpu-machine-NODE": { childCellType: "gpu-machine", childCellNumber: 8, isNodeLevel: true },
            "gpu-machine-NODE-POOL": { childCellType: "gpu-machine-NODE", childCellNumber: 2 },
        });
        assert.deepStrictEqual(config.physicalCluster.physicalCells, [{
            cellType: "gpu-machine-NODE-POOL",
            cellChildren: [{ cellAddress: "pai-worker-0" }, { cellAddress: "pai-worker-1" }],
        }]);
        assert.deepStrictEqual(config.virtualClusters, {
            default: { virtualCells: [{ cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE", cellNumber: 2 }] },
        });
        assert.strictEqual(config.webServerAddress, ":30096");
    });

    it("sizes a GPU cell from the node minus the daemon reserve and OpenPAI's margin", () => {
        const { config } = generated({ layout: layout(1) });
        // 64 vCPU - 0.36 daemons - 0.5 margin = 63.14 -> 7 per GPU; 512 GiB - 592 Mi - 1 GiB -> 65334 Mi per GPU,
        // written as a quantity string like OpenPAI's template (rest-server calls .replace on it).
        assert.deepStrictEqual(config.physicalCluster.skuTypes!["gpu-machine"], { gpu: 1, cpu: 7, memory: "65334Mi" });
        const lean = stack({ layout: layout(1), services: { nodeExporter: false, jobExporter: false } });
        assert.ok(workerReserve(lean.services).cpu < workerReserve(stack({ layout: layout(1) }).services).cpu);
    });

    it("cuts CPU-only SKUs into one leaf per whole vCPU left to jobs, shaped like OpenPAI's {cpu: 1, memory}", () => {
        const l = layout(1);
        l["machine-sku"]["cpu-machine"] = { mem: "64Gi", cpu: { vcore: 32 } };
        l["machine-list"].push({ hostname: "cpu-0", hostip: "10.9.0.1", "machine-type": "cpu-machine", "pai-worker": true });
        const { config, report } = generated({ layout: l });
        assert.deepStrictEqual(report.errors, []);
        // 32 vCPU - 0.36 daemons - 0.32 margin = 31.32 -> 31 cells; (64 GiB - 592 Mi - 655 Mi) / 31.32 -> 2052 Mi each
        // (contrib/kubespray/script/openpai_generator.py: cpu = int(free), memory = free memory / free cpu).
        assert.deepStrictEqual(config.physicalCluster.cellTypes["cpu-machine-NODE"], { childCellType: "cpu-machine", childCellNumber: 31, isNodeLevel: true });
        assert.deepStrictEqual(config.physicalCluster.skuTypes!["cpu-machine"], { cpu: 1, memory: "2052Mi" });
        const defaultVc = report.capacity.find(c => c.vc === "default")!;
        assert.deepStrictEqual(defaultVc.leafCells, { "gpu-machine": 8, "cpu-machine": 31 });
        assert.strictEqual(defaultVc.gpus, 8);
    });

    it("splits a pool between VCs by nodes and cells, and gives the rest to default", () => {
        const { config, report } = generated({ layout: layout(4), virtualClusters: {
            vc1: { "gpu-machine": 1 },
            vc2: { "gpu-machine": { cells: 4 } },
        } });
        assert.deepStrictEqual(report.errors, []);
        assert.deepStrictEqual(config.virtualClusters.vc2.virtualCells, [{ cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE.gpu-machine", cellNumber: 4 }]);
        assert.deepStrictEqual(config.virtualClusters.default.virtualCells, [
            { cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE", cellNumber: 2 },
            { cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE.gpu-machine", cellNumber: 4 },
        ]);
        const gpus = Object.fromEntries(report.capacity.map(c => [c.vc, c.gpus]));
        assert.deepStrictEqual(gpus, { vc1: 8, vc2: 4, default: 20 });
    });

    it("pins nodes to a VC with pinned cells", () => {
        const { config, report } = generated({ layout: layout(3), virtualClusters: {
            default: { "gpu-machine": 1 },
            research: { "gpu-machine": { pinned: ["pai-worker-2"], nodes: 1 } },
        } });
        assert.deepStrictEqual(report.errors, []);
        assert.deepStrictEqual(report.warnings, []);
        assert.strictEqual(config.physicalCluster.physicalCells[0].cellChildren![2].pinnedCellId, "research-pai-worker-2");
        assert.deepStrictEqual(config.virtualClusters.research.pinnedCells, [{ pinnedCellId: "research-pai-worker-2" }]);
        assert.strictEqual(report.capacity.find(c => c.vc === "research")!.gpus, 16);
    });

    it("generates one chain per SKU for multi-SKU layouts", () => {
        const l = layout(2);
        l["machine-sku"]["v100-machine"] = { mem: "256Gi", cpu: { vcore: 32 }, "computing-device": { type: "nvidia.com/gpu", model: "V100", count: 4 } };
        l["machine-list"].push({ hostname: "v100-0", hostip: "10.9.0.1", "machine-type": "v100-machine", "pai-worker": true });
        const { config, report } = generated({ layout: l, virtualClusters: { default: { "gpu-machine": 2 }, old: { "v100-machine": 1 } } });
        assert.deepStrictEqual(report.errors, []);
        assert.deepStrictEqual(config.physicalCluster.physicalCells.map(c => c.cellType), ["gpu-machine-NODE-POOL", "v100-machine-NODE-POOL"]);
        assert.deepStrictEqual(report.capacity.map(c => [c.vc, c.gpus]), [["default", 16], ["old", 4]]);
    });

    it("keeps a pool no VC asks for legal with a zero reference", () => {
        const l = layout(1);
        l["machine-sku"]["v100-machine"] = { mem: "256Gi", cpu: { vcore: 32 }, "computing-device": { type: "nvidia.com/gpu", count: 4 } };
        l["machine-list"].push({ hostname: "v100-0", hostip: "10.9.0.1", "machine-type": "v100-machine", "pai-worker": true });
        const { config, report } = generated({ layout: l, virtualClusters: { default: { "gpu-machine": 1 } } });
        assert.deepStrictEqual(report.errors, []);
        assert.deepStrictEqual(config.virtualClusters.default.virtualCells![1], { cellType: "v100-machine-NODE-POOL.v100-machine-NODE", cellNumber: 0 });
        assert.deepStrictEqual(report.warnings, [], "the only reference to its chain is not a mistake");
    });

    it("emits no zero reference for a pool that pinned cells reference", () => {
        const { config, report } = generated({ layout: layout(2), virtualClusters: {
            research: { "gpu-machine": { pinned: ["pai-worker-0"] } },
            prod: { "gpu-machine": { pinned: ["pai-worker-1"] } },
        } });
        assert.deepStrictEqual([...report.errors, ...report.warnings], []);
        assert.deepStrictEqual(config.virtualClusters, {
            research: { pinnedCells: [{ pinnedCellId: "research-pai-worker-0" }] },
            prod: { pinnedCells: [{ pinnedCellId: "prod-pai-worker-1" }] },
        });
    });

    it("generates configs the validator accepts for large clusters", () => {
        const vcs: Record<string, unknown> = {};
        for (let i = 0; i < 20; i++) {
            vcs[`vc${i}`] = { "gpu-machine": 40 };
        }
        const { report } = generated({ layout: layout(1000), virtualClusters: vcs });
        assert.deepStrictEqual(report.errors, []);
        assert.strictEqual(report.capacity.reduce((n, c) => n + c.gpus, 0), 8000);
    });
});
