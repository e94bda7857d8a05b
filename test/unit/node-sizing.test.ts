import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import {
    clusterWorkerPods, estimatedNode, generateHived, memTotalPercent, parseStackConfig, quantityToMi, readStackFile, workerSizing,
} from "../../config";
import { renderStep } from "../../components/hosts/scripts";
import { layout, projectRoot, rawStack } from "./helpers";

/** Requests of every pod besides the job's on a kubeadm-mode worker (all services on). */
function besideJob(stack: ReturnType<typeof parseStackConfig>): { cpu: number; memoryMi: number } {
    const sizing = workerSizing(stack);
    return { cpu: sizing.daemons.cpu + clusterWorkerPods.kubeRouter.cpu + clusterWorkerPods.coreDns.cpu,
        memoryMi: sizing.daemons.memoryMi + clusterWorkerPods.kubeRouter.memoryMi + clusterWorkerPods.coreDns.memoryMi };
}

/** What a whole-node job asks as the portal sizes it: the SKU's cell times its GPUs (src/webportal/src/app/job-submission/models/job-task-role.js). */
function wholeNodeJob(stack: ReturnType<typeof parseStackConfig>, measured?: Map<string, { cpu: number; memoryMi: number }>): { cpu: number; memoryMi: number } {
    const sku = generateHived(stack.layout, stack.virtualClusters, workerSizing(stack, measured)).physicalCluster.skuTypes!["gpu-machine"];
    return { cpu: 8 * sku.cpu, memoryMi: 8 * quantityToMi(sku.memory) };
}

describe("GPU cells fit what the kubelet of a real worker accepts", () => {
    const stack = parseStackConfig(rawStack({ layout: layout(1) }));

    it("a whole-node job fits the least host the preflight accepts, and a real 512 GiB server (MemTotal about 503 GiB)", () => {
        const job = wholeNodeJob(stack);
        const others = besideJob(stack);
        const least = estimatedNode(stack.layout["machine-sku"]["gpu-machine"], "100Mi").allocatable;
        assert.deepStrictEqual(least, { cpu: 64, memoryMi: Math.floor(512 * 1024 * 0.97) - 100 });
        // What the audit measured on such a server: 503 GiB of MemTotal, 100 MiB of eviction threshold.
        const real = { cpu: 64, memoryMi: 503 * 1024 - 100 };
        for (const node of [least, real]) {
            assert.ok(job.memoryMi + others.memoryMi <= node.memoryMi, `${job.memoryMi} + ${others.memoryMi} MiB > ${node.memoryMi}`);
            assert.ok(job.cpu + others.cpu <= node.cpu);
        }
        // Before: 8 x 65334 Mi, sized from the declared 512 GiB, did not fit the real server.
        assert.ok(8 * 65334 + others.memoryMi > real.memoryMi);
    });

    it("in existing mode, a whole-node job fits the node whose allocatable was read", () => {
        const existing = parseStackConfig(rawStack({ layout: layout(1), cluster: { mode: "existing", kubeconfigPath: "kubeconfig" } }));
        const offered = { cpu: 63.75, memoryMi: 503 * 1024 - 100 - 250 };
        const job = wholeNodeJob(existing, new Map([["gpu-machine", offered]]));
        const daemons = workerSizing(existing).daemons;
        assert.ok(job.memoryMi + daemons.memoryMi <= offered.memoryMi);
        assert.ok(job.memoryMi + daemons.memoryMi > offered.memoryMi - 1100, "and uses the node but OpenPAI's 1 GiB margin");
    });

    it("the preflight refuses a worker reporting less MemTotal than the cells assume (components/hosts/scripts/preflight.sh)", () => {
        const script = fs.readFileSync(path.join(projectRoot, "components", "hosts", "scripts", "preflight.sh"), "utf8");
        assert.match(script, new RegExp(`\\(\\(mem_mb >= SKU_MEM_MB \\* ${memTotalPercent} / 100\\)\\)`));
        const memTotalMi = Math.floor(Number(/^MemTotal:\s+([0-9]+)/m.exec(fs.readFileSync("/proc/meminfo", "utf8"))![1]) / 1024);
        const run = (declaredMi: number) => spawnSync("bash", ["-s"], {
            encoding: "utf8",
            input: renderStep("preflight", true, { EXPECTED_HOSTNAME: "no-such-host", SKU_MEM_MB: declaredMi, SKU_VCORE: 1, GPU_COUNT: 0, ROLE: "worker", REGISTRY_MIRRORS: "http://127.0.0.1:9" }),
        }).stdout;
        // This machine as a host: declared so that its MemTotal is just at the floor, then just under it.
        const atFloor = Math.floor(memTotalMi * 100 / memTotalPercent);
        assert.doesNotMatch(run(atFloor), /would fail: MemTotal/);
        assert.match(run(atFloor + 100), new RegExp(`would fail: MemTotal is ${memTotalMi} MiB, under ${memTotalPercent}% of the layout SKU's ${atFloor + 100} MiB that the HiveD cells assume: declare mem as at most ${atFloor}Mi`));
    });

    it("openpai nodes registers simulated nodes the way such a server reports itself (--declared: as the layout says)", () => {
        const nodes = (...flags: string[]) => {
            const r = spawnSync(process.execPath, [path.join(projectRoot, "bin", "openpai.js"), "nodes", ...flags, path.join(projectRoot, "Pulumi.dev.yaml")], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, r.stderr);
            return r.stdout.split("---\n").find(doc => /name: pai-worker-0\n/.test(doc))!;
        };
        assert.match(nodes(), /capacity:\n {4}cpu: '64'\n {4}memory: 508559Mi[\s\S]*allocatable:\n {4}cpu: '64'\n {4}memory: 508459Mi/);
        assert.match(nodes("--declared"), /capacity:\n {4}cpu: '64'\n {4}memory: 512Gi[\s\S]*allocatable:\n {4}cpu: '64'\n {4}memory: 512Gi/);
        assert.match(nodes(), /nodeInfo:\n {4}kubeletVersion: v1\.34\.3\n {4}kubeProxyVersion: v1\.34\.3\n/, "their kubelet reports the cluster's release (kubeadm upgrade parses it)");
    });

    it("the example jobs ask for whole SKUs of the quick start's gpu-machine (examples/jobs, as the portal sizes them)", () => {
        const quickstart = parseStackConfig(readStackFile(path.join(projectRoot, "scripts", "quickstart.stack.yaml")), "quickstart", { requireSecrets: false });
        const sku = generateHived(quickstart.layout, quickstart.virtualClusters, workerSizing(quickstart)).physicalCluster.skuTypes!["gpu-machine"];
        const dir = path.join(projectRoot, "examples", "jobs");
        const files = fs.readdirSync(dir).filter(f => f.endsWith(".yaml"));
        let checked = 0;
        for (const file of files) {
            const job = yaml.load(fs.readFileSync(path.join(dir, file), "utf8")) as any;
            for (const [role, spec] of Object.entries<any>(job.extras?.hivedScheduler?.taskRoles ?? {})) {
                if (spec.skuType === "gpu-machine") {
                    assert.deepStrictEqual(job.taskRoles[role].resourcePerInstance,
                        { gpu: spec.skuNum * sku.gpu!, cpu: spec.skuNum * sku.cpu, memoryMB: spec.skuNum * quantityToMi(sku.memory) }, `${file} ${role}`);
                    checked++;
                }
            }
        }
        assert.ok(checked >= 6, `${checked} task roles checked`);
    });
});
