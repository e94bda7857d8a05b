import * as assert from "assert";
import { generateHived, parseStackConfig, validateHived, workerSizing } from "../../config";
import { layout, rawStack } from "./helpers";

function stack(values: Record<string, unknown>) {
    return parseStackConfig(rawStack(values));
}

function generated(values: Record<string, unknown>) {
    const s = stack(values);
    const config = generateHived(s.layout, s.virtualClusters, workerSizing(s));
    const report = validateHived(config, { hostnames: s.layout["machine-list"].map(m => m.hostname) });
    return { config, report };
}

describe("hived generator", () => {
    it("shapes the config like OpenPAI: <sku>, <sku>-NODE, <sku>-NODE-POOL, hostnames as addresses, with GPU pairs and halves between GPU and node", () => {
        const { config, report } = generated({ layout: layout(2) });
        assert.deepStrictEqual(report.errors, []);
        assert.deepStrictEqual(report.warnings, []);
        assert.deepStrictEqual(config.physicalCluster.cellTypes, {
            "gpu-machine-2GPU": { childCellType: "gpu-machine", childCellNumber: 2 },
            "gpu-machine-4GPU": { childCellType: "gpu-machine-2GPU", childCellNumber: 2 },
            "gpu-machine-NODE": { childCellType: "gpu-machine-4GPU", childCellNumber: 2, isNodeLevel: true },
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

    it("sizes a GPU cell from what the kubelet of the least accepted host offers, minus every pod on a worker and OpenPAI's margin", () => {
        const { config } = generated({ layout: layout(1) });
        // 512 GiB declared: MemTotal at least 97% = 508559 Mi; kubelet's 100Mi eviction threshold; kube-router
        // 250Mi and CoreDNS 70Mi; the PAI daemons 624Mi; OpenPAI's margin 1 GiB: 506491 Mi / 8 = 63311 Mi.
        // CPU: 64 - 0.35 - 0.37 - 0.5 = 62.78 -> 7 per GPU. Written as a quantity string like OpenPAI's
        // template (rest-server calls .replace on it).
        assert.deepStrictEqual(config.physicalCluster.skuTypes!["gpu-machine"], { gpu: 1, cpu: 7, memory: "63311Mi" });
        const lean = stack({ layout: layout(1), services: { nodeExporter: false, jobExporter: false } });
        assert.ok(workerSizing(lean).daemons.cpu < workerSizing(stack({ layout: layout(1) })).daemons.cpu);
    });

    it("takes kubelet's memory eviction threshold from cluster.kubeletEvictionHard: a quantity, a percentage, or none when only other signals are set", () => {
        const memory = (evictionHard?: Record<string, string>) => generated({ layout: layout(1), cluster: { kubeletEvictionHard: evictionHard } })
            .config.physicalCluster.skuTypes!["gpu-machine"].memory;
        assert.strictEqual(memory({ "memory.available": "100Mi" }), "63311Mi");
        // 1 GiB instead of 100 MiB: 924 MiB less over 8 cells.
        assert.strictEqual(memory({ "memory.available": "1Gi" }), "63195Mi");
        // 1% of the 508559 Mi capacity: 5086 MiB.
        assert.strictEqual(memory({ "memory.available": "1%" }), "62688Mi");
        // kubelet v1.34 merges no defaults into a set evictionHard: no memory threshold at all.
        assert.strictEqual(memory({ "nodefs.available": "1Gi" }), "63323Mi");
    });

    it("sizes cells from what the cluster's nodes report when it was read (existing mode)", () => {
        const s = stack({ layout: layout(1), cluster: { mode: "existing", kubeconfigPath: "kubeconfig" } });
        // A real 512 GiB server: MemTotal 503 GiB, allocatable 100 MiB less, kube-proxy and a CNI pod of 250 MiB on it.
        const measured = new Map([["gpu-machine", { cpu: 63.75, memoryMi: 503 * 1024 - 100 - 250 }]]);
        const config = generateHived(s.layout, s.virtualClusters, workerSizing(s, measured));
        // (515072 - 350 - 624 - 1024) / 8 = 64134 Mi; (63.75 - 0.37 - 0.5) / 8 -> 7 CPUs.
        assert.deepStrictEqual(config.physicalCluster.skuTypes!["gpu-machine"], { gpu: 1, cpu: 7, memory: "64134Mi" });
    });

    it("cuts CPU-only SKUs into one leaf per whole vCPU left to jobs, shaped like OpenPAI's {cpu: 1, memory}", () => {
        const l = layout(1);
        l["machine-sku"]["cpu-machine"] = { mem: "64Gi", cpu: { vcore: 32 } };
        l["machine-list"].push({ hostname: "cpu-0", hostip: "10.9.0.1", "machine-type": "cpu-machine", "pai-worker": true });
        const { config, report } = generated({ layout: l });
        assert.deepStrictEqual(report.errors, []);
        // 32 vCPU - 0.35 other pods - 0.37 daemons - 0.32 margin = 30.96 -> 30 cells; (63569 Mi - 100 - 320 - 624 - 655)
        // / 30.96 -> 1998 Mi each (contrib/kubespray/script/openpai_generator.py: cpu = int(free), memory = free memory / free cpu).
        assert.deepStrictEqual(config.physicalCluster.cellTypes["cpu-machine-NODE"], { childCellType: "cpu-machine", childCellNumber: 30, isNodeLevel: true });
        assert.deepStrictEqual(config.physicalCluster.skuTypes!["cpu-machine"], { cpu: 1, memory: "1998Mi" });
        const defaultVc = report.capacity.find(c => c.vc === "default")!;
        assert.deepStrictEqual(defaultVc.leafCells, { "gpu-machine": 8, "cpu-machine": 30 });
        assert.strictEqual(defaultVc.gpus, 8);
    });

    it("gives a VC's cells as the fewest, largest cells (cells: 4 is one 4-GPU cell), and the rest to default the same way", () => {
        const { config, report } = generated({ layout: layout(4), virtualClusters: {
            vc1: { "gpu-machine": 1 },
            vc2: { "gpu-machine": { cells: 4 } },
            vc3: { "gpu-machine": { cells: 7 } },
        } });
        assert.deepStrictEqual([...report.errors, ...report.warnings], []);
        assert.deepStrictEqual(config.virtualClusters.vc2.virtualCells, [{ cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE.gpu-machine-4GPU", cellNumber: 1 }]);
        assert.deepStrictEqual(config.virtualClusters.vc3.virtualCells, [
            { cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE.gpu-machine-4GPU", cellNumber: 1 },
            { cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE.gpu-machine-2GPU", cellNumber: 1 },
            { cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE.gpu-machine", cellNumber: 1 },
        ]);
        assert.deepStrictEqual(config.virtualClusters.default.virtualCells, [
            { cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE", cellNumber: 1 },
            { cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE.gpu-machine-4GPU", cellNumber: 1 },
            { cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE.gpu-machine", cellNumber: 1 },
        ]);
        const summary = Object.fromEntries(report.capacity.map(c => [c.vc, [c.gpus, c.largestPodGpus]]));
        assert.deepStrictEqual(summary, { vc1: [8, 8], vc2: [4, 4], vc3: [7, 4], default: [13, 8] });
    });

    it("follows a SKU's cellSizes, and warns when a VC's GPUs can only be 1-GPU pods", () => {
        const withSizes = (cellSizes: number[]) => {
            const l = layout(1);
            l["machine-sku"]["gpu-machine"]["computing-device"].cellSizes = cellSizes;
            return generated({ layout: l, virtualClusters: { vc1: { "gpu-machine": { cells: 4 } } } });
        };
        const quads = withSizes([4]);
        assert.deepStrictEqual(quads.config.physicalCluster.cellTypes["gpu-machine-NODE"], { childCellType: "gpu-machine-4GPU", childCellNumber: 2, isNodeLevel: true });
        assert.deepStrictEqual(quads.config.virtualClusters.vc1.virtualCells, [{ cellType: "gpu-machine-NODE-POOL.gpu-machine-NODE.gpu-machine-4GPU", cellNumber: 1 }]);
        assert.deepStrictEqual(quads.report.warnings, []);
        const flat = withSizes([]);
        assert.deepStrictEqual(flat.config.physicalCluster.cellTypes["gpu-machine-NODE"], { childCellType: "gpu-machine", childCellNumber: 8, isNodeLevel: true });
        assert.deepStrictEqual(flat.report.capacity.find(c => c.vc === "vc1")!.largestPod, { "gpu-machine": 1 });
        assert.deepStrictEqual(flat.report.warnings.map(w => w.path), ["virtualClusters.vc1", "virtualClusters.default"]);
        assert.match(flat.report.warnings[0].message, /VC vc1 has 4 GPUs of type gpu-machine, each a cell of its own: .* only 1-GPU pods \(microsoft\/pai issues 4029, 4906\)/);
    });

    it("refuses cellSizes that do not divide each other and the GPU count", () => {
        const l = layout(1);
        l["machine-sku"]["gpu-machine"]["computing-device"].cellSizes = [3, 4];
        assert.throws(() => stack({ layout: l }), /layout.machine-sku.gpu-machine.computing-device.cellSizes\[0\]: 3 must divide the next size, 4/);
        l["machine-sku"]["gpu-machine"]["computing-device"].cellSizes = [8];
        assert.throws(() => stack({ layout: l }), /cellSizes\[0\]: 8 must divide the GPU count, 8, and be smaller/);
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
