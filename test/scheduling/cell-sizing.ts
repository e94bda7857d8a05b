import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import { must } from "../engine/harness";
import { quantity } from "../../components/kubernetes/node-resources";
import { exampleJob, jobPods, jobReaches, JobPod } from "../services/jobs";
import { PaiLab, waitFor } from "../services/pai-lab";

/**
 * Scheduling-tier checks of how the hived config is cut (config/sizing.ts, config/hived/generate.ts):
 * GPU cells that fit what a real server's kubelet accepts, and cell quotas that fit multi-GPU jobs.
 */

/** One SKU as rest-server sizes jobs with it (GET /api/v2/cluster/sku-types). */
interface Sku {
    gpu: number;
    cpu: number;
    memory: number;
}

async function skuOf(pai: PaiLab, token: string, vc: string): Promise<Sku> {
    const skus = (await pai.rest("GET", `/api/v2/cluster/sku-types?vc=${vc}`, { token })).body as Record<string, Sku>;
    return skus["gpu-machine"];
}

async function runJob(pai: PaiLab, token: string, file: string, name: string, change: (job: any) => void): Promise<JobPod[]> {
    const r = await pai.rest("POST", "/api/v2/jobs", { token, yaml: exampleJob(file, name, change) });
    assert.strictEqual(r.status, 202, `${name}: ${r.status} ${JSON.stringify(r.body)}`);
    await jobReaches(pai, token, "admin", name, ["RUNNING"]);
    return jobPods(pai, "admin", name);
}

async function stopJob(pai: PaiLab, token: string, name: string): Promise<void> {
    const r = await pai.rest("PUT", `/api/v2/jobs/admin~${name}/executionType`, { token, json: { value: "STOP" } });
    assert.ok(r.status < 300, `stop ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    await jobReaches(pai, token, "admin", name, ["STOPPED"]);
}

/** MiB a pod asks for, as kube-scheduler counts it: its containers, or its largest init container if more. */
function podMemoryMi(pod: any): number {
    const mi = (c: any) => quantity(c.resources?.requests?.memory ?? "0") / 2 ** 20;
    const containers = (pod.spec.containers ?? []).reduce((n: number, c: any) => n + mi(c), 0);
    return Math.max(containers, ...(pod.spec.initContainers ?? []).map(mi));
}

/**
 * A whole-node job sized as the portal sizes it (8 x the SKU) runs on a simulated node registered
 * the way a real 512 GiB server reports itself (`openpai nodes`: MemTotal at the floor the cells
 * assume, allocatable less kubelet's eviction threshold): kube-scheduler admits it beside every
 * pod already on that node.
 */
export async function wholeNodeJobFitsARealServer(pai: PaiLab, token: string, note: (text: string) => void): Promise<void> {
    const sku = await skuOf(pai, token, "vc1");
    const [pod] = await runJob(pai, token, "vc1-full.yaml", "whole-node", job => {
        job.taskRoles.train.instances = 1;
    });
    const node = pai.json<any>(["get", "node", pod.node]);
    const allocatableMi = quantity(node.status.allocatable.memory) / 2 ** 20;
    assert.ok(allocatableMi < 512 * 1024 * 0.98, `${pod.node} reports ${allocatableMi} MiB allocatable, as a real 512 GiB server does, not the 512 GiB the layout declares`);
    const onNode = pai.json<{ items: any[] }>(["get", "pods", "-A", "--field-selector", `spec.nodeName=${pod.node},status.phase!=Succeeded,status.phase!=Failed`]).items;
    const job = onNode.find(p => p.metadata.name === pod.name)!;
    assert.ok(podMemoryMi(job) >= 8 * sku.memory, `the job's pod asks the whole SKU x 8 (${8 * sku.memory} MiB), not ${podMemoryMi(job)}`);
    const requested = onNode.reduce((n, p) => n + podMemoryMi(p), 0);
    note(`whole-node job on ${pod.node}: the pods there ask ${Math.round(requested)} MiB of ${allocatableMi} MiB allocatable; the job ${podMemoryMi(job)} MiB (8 x ${sku.memory}); sized from the declared 512 GiB it would have asked 8 x 65334 = 522672 MiB`);
    assert.ok(requested <= allocatableMi);
    assert.ok(8 * 65334 > allocatableMi, "the old sizing would not have fit this node");
    await stopJob(pai, token, "whole-node");
}

/**
 * A VC whose quota is `cells: 4` of the 8-GPU SKU holds one 4-GPU cell, so a 4-GPU job runs in it
 * (with four 1-GPU cells it would wait forever: microsoft/pai issues 4029, 4906). The VC change
 * is an up that rolls HiveD; PaiLab.reset puts the quick start's VCs back for the next tier.
 */
export async function fourGpuJobInFourCellVc(pai: PaiLab, token: string, note: (text: string) => void): Promise<void> {
    const hivedPod = () => pai.json<{ items: any[] }>(["get", "pods", "-n", "default", "-l", "app=hivedscheduler-hs"]).items;
    const before = hivedPod()[0].metadata.uid;
    const current = (yaml.load(fs.readFileSync(pai.pai.configFile, "utf8")) as { config: Record<string, object> }).config["openpai:virtualClusters"];
    pai.pai.writeConfig({ "openpai:virtualClusters": { ...current, quad: { "gpu-machine": { cells: 4 } } } });
    assert.match(must(pai.pai.run(["preview", "--diff"])).stdout, /hivedscheduler-config/);
    must(pai.pai.run(["up", "--yes", "--skip-preview"]));
    await waitFor("HiveD to roll", () => {
        const pods = hivedPod();
        return pods.length === 1 && pods[0].metadata.uid !== before && pods[0].status.containerStatuses?.[0]?.ready;
    });
    const sku = await waitFor("VC quad in rest-server", () => skuOf(pai, token, "quad"));
    const [pod] = await runJob(pai, token, "gpu-vc1.yaml", "quad-four", job => {
        job.defaults.virtualCluster = "quad";
        job.taskRoles.train.resourcePerInstance = { gpu: 4 * sku.gpu, cpu: 4 * sku.cpu, memoryMB: 4 * sku.memory };
        job.extras.hivedScheduler.taskRoles.train.skuNum = 4;
    });
    const gpus = (pod.leafCells ?? "").split(",").filter(Boolean);
    note(`4-GPU job of VC quad (cells: 4) on ${pod.node}, GPUs ${gpus.join(",")}`);
    assert.strictEqual(gpus.length, 4, `the pod got 4 GPUs of one node, not ${pod.leafCells}`);
    await stopJob(pai, token, "quad-four");
}
