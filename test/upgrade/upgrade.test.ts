import * as assert from "assert";
import { must } from "../engine/harness";
import { exampleJob, jobReaches, jobStatus } from "../services/jobs";
import { PaiLab, waitFor } from "../services/pai-lab";

const master = { name: "pai-master", address: "10.78.0.10" };
/** The quick start's real nodes (its kwok nodes are simulated: no kubelet to upgrade). */
const nodes = [master.name, "pai-worker-1", "pai-worker-2"];
/** The lab's two Kubernetes minors (scripts/toolchain.versions, lab/versions UPGRADE_KUBERNETES_VERSION). */
const from = "v1.34.3";
const to = "v1.35.4";

/**
 * A Kubernetes upgrade by changing openpai:cluster.kubernetesVersion (issue 22; docs/operating.md
 * "Upgrading Kubernetes"), on the quick start with OpenPAI up and a job running: a two-minor jump
 * is refused by the preview before anything runs; the next minor upgrades the control plane
 * (kubeadm upgrade apply), then each worker drained, upgraded and uncordoned. Every real node is
 * Ready at the new release, the job finished (or was retried and finished), logins and new jobs
 * work, and the next up changes nothing. Runs last of the lab tiers: the quick start stays at the
 * new release until its teardown.
 */
describe("Kubernetes upgrade of the quick start by kubernetesVersion (on the lab)", function () {
    this.timeout(60 * 60 * 1000);
    const pai = new PaiLab();
    const run = Date.now().toString(36);

    const kubeletVersions = () => Object.fromEntries(pai.json<{ items: any[] }>(["get", "nodes"]).items
        .filter(n => nodes.includes(n.metadata.name))
        .map(n => [n.metadata.name, `${n.status.nodeInfo.kubeletVersion} ${n.status.conditions.find((c: any) => c.type === "Ready")?.status}`]));
    const setVersion = (version: string) => must(pai.pai.run(["config", "set", "--path", "openpai:cluster.kubernetesVersion", version]));

    before(() => pai.up());
    after(() => pai.down());

    it("refuses a two-minor jump in the preview, before any host step runs", () => {
        assert.deepStrictEqual(kubeletVersions(), Object.fromEntries(nodes.map(n => [n, `${from} True`])), "the quick start starts at the older minor");
        setVersion("v1.36.1");
        try {
            const refused = pai.pai.run(["up", "--yes"]);
            const out = `${refused.stdout}\n${refused.stderr}`;
            assert.notStrictEqual(refused.code, 0, "the up is refused");
            assert.match(out, /kubeadm upgrades one minor at a time\. Set v1\.35\.x, then v1\.36\.1, with a pulumi up after each/);
            assert.doesNotMatch(out, /\bat .*\.js:\d+/, "no stack trace");
        } finally {
            setVersion(from);
        }
        assert.deepStrictEqual(kubeletVersions(), Object.fromEntries(nodes.map(n => [n, `${from} True`])), "every node as it was");
        assert.match(pai.lab.readHostFile(master, "etc/apt/sources.list.d/kubernetes.list"), /core:\/stable:\/v1\.34\/deb\//, "the master's apt source untouched");
    });

    it(`upgrades ${from} to ${to}: the control plane, then each worker drained; every node Ready at ${to}; the job finished; logins, new jobs; the next up changes nothing`, async () => {
        const timings: Record<string, number> = {};
        const admin = await pai.login("admin", pai.adminPassword());
        const user = `upgrade${run}`;
        const password = `Upgrade-${run}-pw`;
        await pai.ensureUser(admin, user, password, ["default"]);
        const token = await pai.login(user, password);
        // A job running when the upgrade starts: on a worker that is drained, it is retried.
        const job = `across-upgrade-${run}`;
        const jobYaml = exampleJob("hello-cpu.yaml", job, j => {
            j.taskRoles.main.commands = ["echo attempt $FC_FRAMEWORK_ATTEMPT_ID", "sleep 240", "echo done"];
            j.jobRetryCount = 3;
        });
        assert.strictEqual((await pai.rest("POST", "/api/v2/jobs", { token, yaml: jobYaml })).status, 202);
        await jobReaches(pai, token, user, job, ["RUNNING"], 10 * 60 * 1000);

        setVersion(to);
        let started = Date.now();
        const up = pai.pai.run(["up", "--yes", "--skip-preview"]);
        timings.up = Date.now() - started;
        assert.strictEqual(up.code, 0, `${up.stdout.slice(-8000)}\n${up.stderr.slice(-3000)}`);
        // The up names each node's upgrade as it goes (the resources carry the hostnames) ...
        for (const name of nodes) {
            assert.match(up.stdout, new RegExp(`openpai-hosts-${name}-upgrade\\s.*updat`), `the up output names ${name}'s upgrade`);
        }
        // ... and their steps say what they did, the control plane first, each worker drained.
        const resources = JSON.parse(must(pai.pai.run(["stack", "export"])).stdout).deployment.resources as { urn: string; outputs?: { stdout?: string } }[];
        const printed = (name: string) => resources.find(r => r.urn.endsWith(`::openpai-hosts-${name}`))?.outputs?.stdout ?? "";
        const plane = printed(`${master.name}-upgrade`);
        process.stdout.write(plane.split("\n").filter(l => l.includes("changed:")).join("\n") + "\n");
        assert.match(plane, /\[kube-upgrade\] changed: control plane upgraded to v1\.35\.4 \(kubeadm upgrade apply\)/);
        assert.match(plane, new RegExp(`\\[kube-upgrade\\] changed: ${master.name} upgraded from v1\\.34\\.3 to v1\\.35\\.4: Ready`));
        for (const worker of nodes.slice(1)) {
            const out = printed(`${worker}-upgrade`);
            process.stdout.write(out.split("\n").filter(l => /changed:|openpai:/.test(l)).join("\n") + "\n");
            const drained = out.indexOf(`[drain] changed: cordoned and drained ${worker} for its upgrade`);
            const upgraded = out.indexOf(`[kube-upgrade] changed: ${worker} upgraded from v1.34.3 to v1.35.4: Ready`);
            const uncordoned = out.indexOf(`[drain] changed: uncordoned ${worker}`);
            assert.ok(drained >= 0 && upgraded > drained && uncordoned > upgraded, `${worker}: drained, upgraded, uncordoned, in that order:\n${out}`);
        }

        // Every real node at the new release and Ready, schedulable again; the control plane's own
        // components at the new release too.
        assert.deepStrictEqual(kubeletVersions(), Object.fromEntries(nodes.map(n => [n, `${to} True`])));
        for (const name of nodes) {
            assert.notStrictEqual(pai.json<any>(["get", "node", name]).spec.unschedulable, true, `${name} is uncordoned`);
        }
        const images = pai.kubectl(["-n", "kube-system", "get", "pods", "-o", "jsonpath={.items[*].spec.containers[*].image}"]).split(" ");
        for (const component of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"]) {
            assert.ok(images.includes(`registry.k8s.io/${component}:${to}`) && !images.some(i => i === `registry.k8s.io/${component}:${from}`),
                `${component} runs ${to}: ${images.join(" ")}`);
        }
        assert.ok(images.includes("registry.k8s.io/etcd:3.6.6-0") && images.includes("registry.k8s.io/coredns/coredns:v1.13.1"), `kubeadm's etcd and CoreDNS of ${to}: ${images.join(" ")}`);
        assert.match(pai.lab.readHostFile(master, "etc/apt/sources.list.d/kubernetes.list"), /core:\/stable:\/v1\.35\/deb\//);
        assert.match(pai.lab.ssh({ name: "pai-worker-1", address: "10.78.0.11" }, "apt-mark showhold"), /^kubeadm\nkubectl\nkubelet$/m, "the packages are held again");

        // OpenPAI serves logins and runs work; the job running across the upgrade finished.
        started = Date.now();
        await waitFor("the portal", async () => (await pai.fetch("/rest-server/api/v2/info")).status === 200 || undefined, 10 * 60 * 1000);
        const again = await waitFor("a login", async () => (await pai.login(user, password).catch(() => undefined)), 5 * 60 * 1000);
        const finished = await jobReaches(pai, again, user, job, ["SUCCEEDED"], 20 * 60 * 1000);
        const attempts = (await jobStatus(pai, again, user, job)).jobStatus.retries;
        process.stdout.write(`the job across the upgrade: ${finished.jobStatus.state} after ${attempts} retries\n`);
        const next = `after-upgrade-${run}`;
        assert.strictEqual((await pai.rest("POST", "/api/v2/jobs", { token: again, yaml: exampleJob("hello-cpu.yaml", next, j => (j.taskRoles.main.commands = [`echo on ${to}`])) })).status, 202);
        await jobReaches(pai, again, user, next, ["SUCCEEDED"], 15 * 60 * 1000);
        timings.after = Date.now() - started;

        started = Date.now();
        must(pai.pai.run(["up", "--yes", "--skip-preview", "--expect-no-changes"]));
        timings.next_up = Date.now() - started;
        process.stdout.write(`upgrade timings (s): ${Object.entries(timings).map(([k, v]) => `${k} ${Math.round(v / 1000)}`).join(", ")}\n`);
    });
});
