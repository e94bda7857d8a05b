import * as assert from "assert";
import { must } from "../engine/harness";
import { labHosts } from "../hosts/lab-stack";
import { exampleJob, frameworkName, jobPods, jobReaches } from "./jobs";
import { gpuNodes, PaiLab, waitFor } from "./pai-lab";
import { setTimeout as sleep } from "timers/promises";

const vc1Nodes = gpuNodes.slice(0, 2).map(g => g.name);

/**
 * The PAI platform for real (issue "PAI services that start for real"): every core service from
 * the stand-in images built from the upstream sources, on a kubeadm cluster of the lab's systemd
 * hosts; jobs submitted through pylon and rest-server, scheduled by HiveD.
 */
describe("OpenPAI services running for real on the lab", function () {
    this.timeout(60 * 60 * 1000);
    const pai = new PaiLab();
    let token = "";

    before(async () => {
        await pai.up();
    });

    after(async () => {
        for (const [name, ms] of Object.entries(pai.timings)) {
            process.stdout.write(`${JSON.stringify({ name, value: Math.round(ms / 100) / 10, unit: "s" })}\n`);
        }
        await pai.down();
    });

    it("every PAI pod on the real nodes is Ready, with no container restarted", () => {
        const realNodes = new Set([labHosts.master.name, ...labHosts.workers.map(w => w.name)]);
        const pods = pai.json<{ items: any[] }>(["get", "pods", "-A", "-l", "app.kubernetes.io/part-of=openpai"]).items
            .filter(p => realNodes.has(p.spec.nodeName));
        const report = pods.map(p => `${p.metadata.namespace}/${p.metadata.name} on ${p.spec.nodeName}: ${p.status.phase}, `
            + (p.status.containerStatuses ?? []).map((c: any) => `${c.name} ready=${c.ready} restarts=${c.restartCount}`).join(", "));
        process.stdout.write(`${report.join("\n")}\n`);
        for (const app of ["frameworkcontroller", "hivedscheduler-hs", "hivedscheduler-ds-default", "hivedscheduler-ds-vc1", "postgresql",
            "database-controller", "rest-server", "webportal", "log-manager", "pylon", "prometheus", "alertmanager", "node-exporter",
            "job-exporter", "watchdog", "fuse-device-plugin"]) {
            assert.ok(pods.some(p => p.metadata.labels.app === app), `no ${app} pod on a real node`);
        }
        for (const p of pods) {
            const statuses = p.status.containerStatuses ?? [];
            assert.ok(statuses.length > 0 && statuses.every((c: any) => c.ready), `${p.metadata.name} is not Ready: ${JSON.stringify(p.status.conditions)}`);
            assert.ok(statuses.every((c: any) => c.restartCount === 0), `${p.metadata.name} restarted: ${report.find(r => r.includes(p.metadata.name))}`);
        }
    });

    it("through pylon over HTTPS: the portal page loads; the admin logs in with the generated password; a wrong one is refused", async () => {
        const page = await pai.fetch("/");
        assert.strictEqual(page.status, 200);
        assert.match(page.text, /<html|<!DOCTYPE html/i);
        token = await pai.login("admin", pai.adminPassword());
        const wrong = await pai.rest("POST", "/api/v1/authn/basic/login", { json: { username: "admin", password: "not-the-password" } });
        assert.ok(wrong.status >= 400 && wrong.status < 500, `a wrong password got ${wrong.status}`);
    });

    it("a GPU job submitted to vc1 becomes a Framework whose pod HiveD binds to one of vc1's nodes; it goes WAITING to RUNNING and is listed", async () => {
        const submit = await pai.rest("POST", "/api/v2/jobs", { token, yaml: exampleJob("gpu-vc1.yaml", "svc-gpu") });
        assert.strictEqual(submit.status, 202, JSON.stringify(submit.body));
        const framework = pai.json(["get", "frameworks.frameworkcontroller.microsoft.com", "-n", "default", frameworkName("admin", "svc-gpu")]);
        assert.strictEqual(framework.metadata.labels.virtualCluster, "vc1");
        const running = await jobReaches(pai, token, "admin", "svc-gpu", ["RUNNING"]);
        assert.ok(running.jobStatus.state === "RUNNING");
        const [pod] = jobPods(pai, "admin", "svc-gpu");
        assert.ok(vc1Nodes.includes(pod.node), `bound to ${pod.node}, not a node of vc1 (${vc1Nodes.join(", ")})`);
        assert.strictEqual(pod.bindInfo?.node, pod.node, "HiveD's binding annotation names the node");
        assert.strictEqual(pod.bindInfo?.leafCellIsolation.length, 1, "one GPU cell");
        const list = await pai.rest("GET", "/api/v2/jobs?username=admin", { token });
        assert.ok((list.body as any[]).some(j => j.name === "svc-gpu"), "GET /api/v2/jobs lists it");
    });

    it("a CPU job on a real worker runs through the runtime to SUCCEEDED, with its exit code and its log", async () => {
        const submit = await pai.rest("POST", "/api/v2/jobs", { token, yaml: exampleJob("hello-cpu.yaml", "svc-hello") });
        assert.strictEqual(submit.status, 202, JSON.stringify(submit.body));
        const done = await jobReaches(pai, token, "admin", "svc-hello", ["SUCCEEDED", "FAILED"], 10 * 60 * 1000);
        assert.strictEqual(done.jobStatus.state, "SUCCEEDED", JSON.stringify(done.jobStatus));
        // src/rest-server/src/models/v2/job/k8s.js: the attempt's and each task's exit code.
        assert.strictEqual(done.jobStatus.appExitCode, 0);
        const task = done.taskRoles.main.taskStatuses[0];
        assert.strictEqual(task.containerExitCode, 0);
        assert.ok(labHosts.workers.some(w => w.name === task.containerNodeName), `ran on ${task.containerNodeName}, not a real worker`);
        const logs = await pai.rest("GET", "/api/v2/jobs/admin~svc-hello/attempts/0/taskRoles/main/taskIndex/0/attempts/0/logs", { token });
        assert.strictEqual(logs.status, 200, JSON.stringify(logs.body));
        const stdout = logs.body.locations.find((l: any) => l.name === "stdout") ?? logs.body.locations[0];
        const text = (await pai.fetch(stdout.uri)).text;
        assert.match(text, /hello from/);
    });

    it("the database holds the jobs, and they survive a rest-server restart", async () => {
        // psql inside the database pod: the host needs no PostgreSQL client. Table and columns of
        // src/database-controller/sdk/index.js (Sequelize pluralizes "framework").
        const rows = pai.kubectl(["exec", "-n", "default", "daemonset/postgresql", "--", "psql", "-U", "root", "-d", "openpai", "-Atc",
            `SELECT "jobName", state, "appExitCode" FROM frameworks WHERE "userName" = 'admin' ORDER BY "jobName"`]);
        assert.match(rows, /^svc-hello\|SUCCEEDED\|0$/m, `the database's frameworks:\n${rows}`);
        assert.match(rows, /^svc-gpu\|RUNNING\|$/m, `the database's frameworks:\n${rows}`);
        pai.kubectl(["delete", "pod", "-n", "default", "-l", "app=rest-server", "--wait=true"]);
        pai.kubectl(["rollout", "status", "daemonset/rest-server", "-n", "default", "--timeout=300s"]);
        await waitFor("rest-server back", async () => (await pai.rest("GET", "/api/v2/info")).status === 200 || undefined);
        const list = await pai.rest("GET", "/api/v2/jobs?username=admin", { token });
        assert.deepStrictEqual(["svc-gpu", "svc-hello"].filter(n => (list.body as any[]).some(j => j.name === n)), ["svc-gpu", "svc-hello"]);
    });

    it("a VC quota change rolls HiveD, and a job waiting for cells runs after it", async () => {
        // vc1 has 2 nodes (16 GPUs), one taken by svc-gpu: a 2-node job waits.
        const big = exampleJob("gpu-vc1.yaml", "svc-big", job => {
            job.taskRoles.train.instances = 2;
            job.taskRoles.train.resourcePerInstance = { gpu: 8, cpu: 56, memoryMB: 506488 };
        });
        assert.strictEqual((await pai.rest("POST", "/api/v2/jobs", { token, yaml: big })).status, 202);
        await sleep(20000);
        assert.strictEqual((await jobReaches(pai, token, "admin", "svc-big", ["WAITING"])).jobStatus.state, "WAITING");
        const before = pai.json<{ items: any[] }>(["get", "pods", "-n", "default", "-l", "app=hivedscheduler-hs"]).items[0].metadata.uid;
        pai.pai.writeConfig({ "openpai:virtualClusters": { vc1: { "gpu-machine": 4 } } });
        const preview = must(pai.pai.run(["preview", "--diff"]));
        assert.match(preview.stdout, /hivedscheduler-config/);
        must(pai.pai.run(["up", "--yes", "--skip-preview"]));
        // The StatefulSet controller replaces the pod; an up may return before it has.
        await waitFor("HiveD to roll", () => {
            const pods = pai.json<{ items: any[] }>(["get", "pods", "-n", "default", "-l", "app=hivedscheduler-hs"]).items;
            return pods.length === 1 && pods[0].metadata.uid !== before && pods[0].status.containerStatuses?.[0]?.ready;
        });
        const running = await jobReaches(pai, token, "admin", "svc-big", ["RUNNING"]);
        assert.strictEqual(running.jobStatus.state, "RUNNING");
    });
});
