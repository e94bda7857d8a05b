import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { must, projectRoot } from "../engine/harness";
import { exampleJob, frameworkName, jobPods, jobReaches, jobStatus } from "../services/jobs";
import { gpuNodes, PaiLab, waitFor } from "../services/pai-lab";
import { fourGpuJobInFourCellVc, wholeNodeJobFitsARealServer } from "./cell-sizing";
import { setTimeout as sleep } from "timers/promises";

const allGpuNodes = gpuNodes.map(g => g.name);

/** What happened, for the closing note: one line per observation, printed at the end. */
const journal: string[] = [];
function note(text: string): void {
    journal.push(`${new Date().toISOString().slice(11, 19)} ${text}`);
}

/**
 * HiveD's guarantees end to end (issue "HiveD's scheduling guarantees"): jobs of examples/jobs/
 * submitted through rest-server with the generated admin credentials, scheduled by the real
 * HiveD and per-VC schedulers onto simulated 8-GPU nodes. vc1 is guaranteed 2 nodes, default the
 * other 2 (and the CPU workers).
 */
describe("HiveD scheduling guarantees, end to end", function () {
    this.timeout(60 * 60 * 1000);
    const pai = new PaiLab();
    let token = "";

    const submit = async (file: string, name: string, change?: (job: any) => void, as = token) => {
        const r = await pai.rest("POST", "/api/v2/jobs", { token: as, yaml: exampleJob(file, name, change) });
        assert.strictEqual(r.status, 202, `${name}: ${r.status} ${JSON.stringify(r.body)}`);
        note(`submitted ${name} (${file})`);
    };
    const stop = async (name: string) => {
        const r = await pai.rest("PUT", `/api/v2/jobs/admin~${name}/executionType`, { token, json: { value: "STOP" } });
        assert.ok(r.status < 300, `stop ${name}: ${r.status} ${JSON.stringify(r.body)}`);
        await jobReaches(pai, token, "admin", name, ["STOPPED"]);
        note(`stopped ${name}`);
    };
    const running = async (name: string) => {
        await jobReaches(pai, token, "admin", name, ["RUNNING"]);
        const pods = jobPods(pai, "admin", name);
        note(`${name} RUNNING on ${pods.map(p => `${p.node}[GPU ${p.leafCells}]`).join(", ")}`);
        return pods;
    };
    /** The job stays WAITING for `ms` (no pod of it bound meanwhile). */
    const staysWaiting = async (name: string, ms = 30000) => {
        const until = Date.now() + ms;
        while (Date.now() < until) {
            assert.strictEqual((await jobStatus(pai, token, "admin", name)).jobStatus.state, "WAITING", `${name} left WAITING`);
            assert.ok(jobPods(pai, "admin", name).every(p => !p.node), `${name} has a pod bound`);
            await sleep(5000);
        }
        note(`${name} still WAITING after ${ms / 1000} s, no pod bound`);
    };

    before(async () => {
        // The quick start's VCs (vc1: 2 GPU nodes, default the rest) and groups (vision: vc1, nlp: default).
        await pai.up();
        token = await pai.login("admin", pai.adminPassword());
    });

    after(async () => {
        process.stdout.write(`\nWhat happened:\n${journal.join("\n")}\n`);
        await pai.down();
    });

    it("the example jobs ask for whole SKUs, as the portal sizes them (src/webportal/src/app/job-submission/models/job-task-role.js)", async () => {
        const skus = (await pai.rest("GET", "/api/v2/cluster/sku-types?vc=vc1", { token })).body as Record<string, { gpu: number; cpu: number; memory: number }>;
        note(`vc1's SKUs: ${JSON.stringify(skus)}`);
        for (const file of ["gpu-vc1.yaml", "vc1-full.yaml", "prod-vc1.yaml", "oppo.yaml", "gang.yaml", "incremental.yaml"]) {
            const job = yaml.load(exampleJob(file, file)) as any;
            for (const [role, spec] of Object.entries<any>(job.extras.hivedScheduler.taskRoles)) {
                const sku = skus[spec.skuType];
                assert.deepStrictEqual(job.taskRoles[role].resourcePerInstance,
                    { gpu: spec.skuNum * sku.gpu, cpu: spec.skuNum * sku.cpu, memoryMB: spec.skuNum * sku.memory }, `${file} ${role}`);
            }
        }
    });

    it("VC safety: a vc1 job runs on vc1's cells while default is busy, and waits when vc1 is full instead of taking default's", async () => {
        await submit("vc1-full.yaml", "default-busy", job => {
            job.defaults.virtualCluster = "default";
        });
        const busy = await running("default-busy");
        assert.strictEqual(new Set(busy.map(p => p.node)).size, 2, "default's job holds its 2 nodes");
        await submit("gpu-vc1.yaml", "safety-a");
        const [a] = await running("safety-a");
        assert.ok(allGpuNodes.includes(a.node) && !busy.some(p => p.node === a.node), `safety-a on ${a.node}, a node default's job does not hold`);
        await stop("default-busy");
        // vc1 is now full (safety-a + a 2-node job waiting for its second node) while default is idle.
        await submit("vc1-full.yaml", "safety-b");
        await staysWaiting("safety-b");
        await stop("safety-a");
        const b = await running("safety-b");
        assert.strictEqual(new Set(b.map(p => p.node)).size, 2);
        await stop("safety-b");
    });

    it("priority: a prod job preempts a running lower-priority job of its VC, which runs again when cells free up", async () => {
        await submit("vc1-full.yaml", "low");
        const before = await running("low");
        await submit("prod-vc1.yaml", "high");
        const [high] = await running("high");
        assert.ok(before.some(p => p.node === high.node), "prod took a node the test-priority job held");
        const low = await jobStatus(pai, token, "admin", "low");
        note(`low after preemption: ${low.jobStatus.state}, retries ${low.jobStatus.retries}`);
        assert.strictEqual(low.jobStatus.state, "WAITING", "the preempted job waits for cells again");
        const events = pai.json<{ items: any[] }>(["get", "events", "-n", "default", "--field-selector", "reason=Preempted"]).items;
        note(`Preempted events: ${events.map(e => `${e.involvedObject.name}: ${e.message}`).join("; ")}`);
        await stop("high");
        await running("low");
        await stop("low");
    });

    it("opportunistic: an oppo job runs on another VC's idle cells and is preempted when that VC's own job needs them", async () => {
        await submit("vc1-full.yaml", "vc1-owner");
        await running("vc1-owner");
        await submit("oppo.yaml", "explorer");
        const [explorer] = await running("explorer");
        assert.ok(!jobPods(pai, "admin", "vc1-owner").some(p => p.node === explorer.node),
            `the oppo job of vc1 runs on ${explorer.node}, outside vc1's busy cells: another VC's idle ones`);
        await submit("vc1-full.yaml", "default-owner", job => {
            job.defaults.virtualCluster = "default";
        });
        const owner = await running("default-owner");
        assert.ok(owner.some(p => p.node === explorer.node), "default's own job took the node the oppo job used");
        const after = await jobStatus(pai, token, "admin", "explorer");
        note(`explorer after default's job came: ${after.jobStatus.state}`);
        assert.strictEqual(after.jobStatus.state, "WAITING", "the oppo job was preempted");
        for (const name of ["vc1-owner", "default-owner", "explorer"]) {
            await stop(name);
        }
    });

    it("gang: a 2-task-role job of two whole nodes starts no pod until both nodes are free, then all together", async () => {
        await submit("prod-vc1.yaml", "blocker", job => {
            job.extras.hivedScheduler.jobPriorityClass = "test";
        });
        await running("blocker");
        await submit("gang.yaml", "gang");
        await staysWaiting("gang");
        await stop("blocker");
        const pods = await running("gang");
        assert.strictEqual(new Set(pods.map(p => p.node)).size, 2, "one node per task role");
        const started = pai.json<{ items: any[] }>(["get", "pods", "-n", "default", "-l", `FC_FRAMEWORK_NAME=${frameworkName("admin", "gang")}`]).items
            .map(p => Date.parse(p.status.startTime));
        note(`gang pods started ${Math.abs(started[0] - started[1]) / 1000} s apart`);
        assert.ok(Math.abs(started[0] - started[1]) < 30000, "both pods started together");
        await stop("gang");
    });

    it("incremental (gangAllocation: false): the same job starts its tasks as cells free up; a job over its VC's quota is refused, saying why", async () => {
        await submit("prod-vc1.yaml", "blocker2", job => {
            job.extras.hivedScheduler.jobPriorityClass = "test";
        });
        await running("blocker2");
        await submit("incremental.yaml", "incremental");
        const first = await waitFor("one task of the incremental job running", () => {
            const pods = jobPods(pai, "admin", "incremental");
            return pods.filter(p => p.node && p.phase === "Running").length === 1 ? pods : undefined;
        });
        note(`incremental: ${first.map(p => `${p.name.split("-").slice(1).join("-")} ${p.node || "waiting"}`).join(", ")} while blocker2 holds a node`);
        await stop("blocker2");
        const all = await running("incremental");
        assert.strictEqual(all.filter(p => p.node).length, 2);
        await stop("incremental");
        const over = await pai.rest("POST", "/api/v2/jobs", { token, yaml: exampleJob("vc1-full.yaml", "too-big", job => {
            job.taskRoles.train.instances = 3;
        }) });
        note(`over quota: ${over.status} ${JSON.stringify(over.body)}`);
        assert.strictEqual(over.status, 400);
        assert.match(over.body.message, /exceeds maximum 16 SKUs in VC vc1/);
    });

    it("VC access as code: a user of a group without vc1 is refused submitting to vc1, one of a group with it is not", async () => {
        for (const [user, group] of [["alice", "vision"], ["bob", "nlp"]]) {
            await pai.ensureUser(token, user, `${user}-password`, ["default", group]);
        }
        const bob = await pai.login("bob", "bob-password");
        const refused = await pai.rest("POST", "/api/v2/jobs", { token: bob, yaml: exampleJob("gpu-vc1.yaml", "bob-vc1") });
        note(`bob -> vc1: ${refused.status} ${JSON.stringify(refused.body)}`);
        assert.strictEqual(refused.status, 403);
        assert.strictEqual(refused.body.code, "ForbiddenUserError");
        assert.match(refused.body.message, /User bob is not allowed to do operation in vc1/);
        const alice = await pai.login("alice", "alice-password");
        const accepted = await pai.rest("POST", "/api/v2/jobs", { token: alice, yaml: exampleJob("gpu-vc1.yaml", "alice-vc1") });
        assert.strictEqual(accepted.status, 202, JSON.stringify(accepted.body));
    });

    it("docs/operating.md: every command block runs as written, in order, as an admin would", () => {
        const doc = fs.readFileSync(path.join(projectRoot, "docs", "operating.md"), "utf8");
        const blocks = [...doc.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map(m => m[1]);
        assert.ok(blocks.length >= 6, `only ${blocks.length} command blocks`);
        must(pai.engine.pulumi(["stack", "select", pai.pai.name]));
        const r = spawnSync("bash", ["-euo", "pipefail", "-c", blocks.join("\n")], {
            cwd: pai.engine.project, env: pai.engine.env, encoding: "utf8", maxBuffer: 1 << 26,
        });
        note(`operating.md walk-through: exit ${r.status}, ${blocks.length} blocks`);
        assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /"username":"carol"/, "the user the doc creates exists");
        assert.match(r.stdout, /hello-cpu/);
    });

    it("a whole-node job sized as the portal sizes it fits a simulated node that reports what a real 512 GiB server does", async () => {
        await wholeNodeJobFitsARealServer(pai, token, note);
    });

    it("a VC with cells: 4 of the 8-GPU SKU runs a 4-GPU job (one 4-GPU cell, not four single GPUs)", async () => {
        await fourGpuJobInFourCellVc(pai, token, note);
    });
});
