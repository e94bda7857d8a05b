import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { must, projectRoot } from "../engine/harness";
import { labHosts } from "../hosts/lab-stack";
import { exampleJob, jobPods, jobReaches } from "../services/jobs";
import { PaiLab, waitFor } from "../services/pai-lab";
import { clusterDashboard, jobDashboard } from "../../components/pai/manifests/dashboards";
import { SmtpSink, WebhookReceiver } from "./receivers";

const bridge = "10.78.0.1";
const [worker1, worker2] = labHosts.workers;
/**
 * How long NodeNotReady may take to reach a receiver, by the rules' own numbers: the node
 * controller's grace period (50 s), watchdog's round (30 s), a scrape (30 s), a rule evaluation
 * (30 s), the rule's `for` (2 min) and Alertmanager's group_wait (30 s), plus a minute of slack for
 * a busy two-core machine.
 */
const nodeDownBudgetMs = (50 + 30 + 30 + 30 + 120 + 30 + 60) * 1000;
/** And its resolution once the node is Ready again: watchdog, a scrape, an evaluation, group_interval (2 min), slack. */
const resolveBudgetMs = (30 + 30 + 30 + 120 + 60) * 1000;

function labSh(...args: string[]): string {
    return execFileSync("bash", [path.join(projectRoot, "lab", "lab.sh"), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 5 * 60 * 1000 }).trim();
}

/**
 * What an OpenPAI admin relies on (issue 21), on the quick start: team storage for jobs granted
 * by group, alerts that reach a webhook and a mailbox when a worker dies, the job metrics the
 * portal's job page and Grafana's dashboards read, and the attempt history of a retried job.
 */
describe("what an admin relies on: storage, alerts, job metrics, attempt history (on the lab)", function () {
    this.timeout(90 * 60 * 1000);
    const pai = new PaiLab();
    const webhook = new WebhookReceiver();
    const smtpPassword = crypto.randomBytes(12).toString("base64url");
    const smtp = new SmtpSink("openpai", smtpPassword);
    const run = crypto.randomBytes(3).toString("hex");
    const timings: { test: string; seconds: number }[] = [];
    let admin = "";
    let alice = "";
    let bob = "";
    let nfs = { server: "", path: "", pseudo: "" };
    const scratchDir = "/srv/team-scratch";

    /** Prometheus' query API through pylon, as the portal's pages call it (a user's login). */
    async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
        const r = await pai.fetch(`/prometheus/api/v1/query?query=${encodeURIComponent(promql)}`, { headers: { Authorization: `Bearer ${admin}` } });
        assert.strictEqual(r.status, 200, `${promql}: ${r.text.slice(0, 300)}`);
        return JSON.parse(r.text).data.result;
    }

    /** A CPU job of examples/jobs/hello-cpu.yaml with these commands (and changes) in VC default. */
    function cpuJob(name: string, commands: string[], changes: (job: any) => void = () => undefined): string {
        return exampleJob("hello-cpu.yaml", name, job => {
            job.taskRoles.main.commands = commands;
            changes(job);
        });
    }

    const scratchJob = (name: string, commands: string[]) => cpuJob(name, commands, job => {
        job.extras.storages = [{ name: "team-scratch" }];
        // The claim's volume lives on one worker: HiveD takes the nodes the volume allows.
        job.extras.hivedScheduler.ignoreK8sSuggestedNodes = false;
    });

    before(async () => {
        await pai.up();
        await webhook.start(bridge);
        await smtp.start(bridge);
        const [server, exported, pseudo] = labSh("nfs", "up").split(" ");
        nfs = { server, path: exported, pseudo };
        // The admin's own claim for `existingClaim`: a volume of one worker's disk. The lab's kernel
        // has no NFS client, so this is the storage jobs can write to and read from here.
        pai.lab.ssh(worker1, `sudo install -d -m 1777 ${scratchDir}`);
        pai.kubectl(["apply", "-f", "-"], JSON.stringify({
            apiVersion: "v1", kind: "List", items: [
                {
                    apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "lab-team-scratch", labels: { "lab-storage": "team-scratch" } },
                    spec: {
                        capacity: { storage: "1Gi" }, accessModes: ["ReadWriteMany"], persistentVolumeReclaimPolicy: "Retain", storageClassName: "",
                        local: { path: scratchDir },
                        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [worker1.name] }] }] } },
                    },
                },
                {
                    apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "team-scratch", namespace: "default" },
                    spec: { accessModes: ["ReadWriteMany"], storageClassName: "", volumeName: "lab-team-scratch", resources: { requests: { storage: "1Gi" } } },
                },
            ],
        }));
        pai.pai.writeConfig({
            "openpai:storage": [
                { name: "team-nfs", nfs: { server: nfs.server, path: nfs.path, mountOptions: ["nfsvers=3", "port=2049", "mountport=20048"] }, groups: ["vision"] },
                { name: "team-scratch", existingClaim: true, groups: ["vision"] },
            ],
            "openpai:alerts": {
                email: { to: ["ops@lab.test"], from: "openpai@lab.test", smarthost: `${bridge}:${smtp.port}`, username: "openpai", requireTls: false },
                webhooks: [{ url: `http://${bridge}:${webhook.port}/alerts` }],
                // Longer than kubeadm's certificates last: the certificate alert fires at once.
                certificateWarningDays: 400,
            },
        });
        must(pai.pai.run(["config", "set", "--secret", "openpai:alertSmtpPassword"], smtpPassword));
        const started = Date.now();
        must(pai.pai.run(["up", "--yes", "--skip-preview"]));
        pai.timings.admin_up = Date.now() - started;
        // rest-server restarted for the groups: wait until it takes an admin's fresh token (a token it
        // just issued can be refused while it settles; each refusal and its log are printed).
        admin = await waitFor("rest-server to accept an admin's token", async () => {
            const token = await pai.login("admin", pai.adminPassword());
            const me = await pai.rest("GET", "/api/v2/users/admin", { token });
            if (me.status !== 200) {
                const log = pai.kubectl(["logs", "-n", "default", "daemonset/rest-server", "--tail=15"]);
                process.stdout.write(`      rest-server refused a fresh admin token: ${me.status} ${JSON.stringify(me.body)}; its log:\n${log}\n`);
                return undefined;
            }
            return token;
        }, 5 * 60 * 1000);
        await pai.ensureUser(admin, "alice", "alice-password", ["default", "vision"]);
        await pai.ensureUser(admin, "bob", "bob-password", ["default", "nlp"]);
        alice = await pai.login("alice", "alice-password");
        bob = await pai.login("bob", "bob-password");
    });

    afterEach(function () {
        const test = this.currentTest!;
        timings.push({ test: test.title, seconds: Math.round((test.duration ?? 0) / 100) / 10 });
        process.stdout.write(`      ${JSON.stringify({ name: test.title.slice(0, 60), value: timings[timings.length - 1].seconds, unit: "s" })}\n`);
    });

    after(async () => {
        // Whatever failed: the worker runs and is Ready again, and nothing of this tier is left running.
        const listed = pai.lab.hosts().find(h => h.name === worker2.name);
        if (listed && !listed.running) {
            await pai.lab.start([listed]);
        }
        await waitFor(`${worker2.name} Ready`, () => pai.json(["get", "node", worker2.name]).status.conditions
            .some((c: any) => c.type === "Ready" && c.status === "True") || undefined, 10 * 60 * 1000).catch(err => process.stdout.write(`${err}\n`));
        webhook.stop();
        smtp.stop();
        labSh("nfs", "down");
        // The admin's own claim of this tier (the next tier's reset takes the storage out of the config).
        pai.kubectl(["delete", "pvc", "-n", "default", "team-scratch", "--ignore-not-found", "--wait=false"]);
        pai.kubectl(["delete", "pv", "lab-team-scratch", "--ignore-not-found", "--wait=false"]);
        for (const [name, ms] of Object.entries(pai.timings)) {
            process.stdout.write(`${JSON.stringify({ name, value: Math.round(ms / 100) / 10, unit: "s" })}\n`);
        }
        await pai.down();
    });

    it("storage: the NFS export's volume and claim are bound, rest-server lists them to group A only, the workers have the NFS client and reach the export", async () => {
        const pv = pai.json(["get", "pv", "pai-storage-team-nfs"]);
        assert.deepStrictEqual(pv.spec.nfs, { server: nfs.server, path: nfs.path });
        assert.strictEqual(pv.status.phase, "Bound");
        const vision = await pai.rest("GET", "/api/v2/groups/vision", { token: admin });
        assert.deepStrictEqual(vision.body.extension.acls.storageConfigs, ["team-nfs", "team-scratch"], "group-sync wrote the grant into the existing group");
        const names = async (token: string) => ((await pai.rest("GET", "/api/v2/storages", { token })).body.storages as { name: string }[]).map(s => s.name).sort();
        assert.deepStrictEqual(await names(alice), ["team-nfs", "team-scratch"]);
        assert.deepStrictEqual(await names(bob), []);
        const detail = await pai.rest("GET", "/api/v2/storages/team-nfs", { token: alice });
        assert.deepStrictEqual([detail.body.type, detail.body.data], ["nfs", { server: nfs.server, path: nfs.path }]);
        assert.strictEqual((await pai.rest("GET", "/api/v2/storages/team-nfs", { token: bob })).status, 403);
        for (const worker of labHosts.workers) {
            assert.match(pai.lab.ssh(worker, "dpkg-query -W -f='${Status}' nfs-common"), /install ok installed/, `${worker.name}: nfs-common`);
            assert.match(pai.lab.ssh(worker, `/usr/sbin/showmount -e ${nfs.server}`), new RegExp(`^${nfs.path} `, "m"), `${worker.name} reaches the export`);
        }
        // A file written over NFS from a worker, by a user-space client (libnfs): the export works.
        const token = `written-over-nfs-${run}`;
        pai.lab.ssh(worker1, "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnfs-utils >/dev/null");
        pai.lab.ssh(worker1, `echo ${token} > /tmp/nfs-${run} && nfs-cp /tmp/nfs-${run} 'nfs://${nfs.server}${nfs.path}/from-worker-${run}.txt?mountport=20048'`);
        assert.strictEqual(fs.readFileSync(path.join(nfs.path, `from-worker-${run}.txt`), "utf8").trim(), token);
    });

    it("a job of group B naming the storage is refused with rest-server's message", async () => {
        const r = await pai.rest("POST", "/api/v2/jobs", { token: bob, yaml: scratchJob(`bob-storage-${run}`, ["ls /mnt/team-scratch"]) });
        assert.strictEqual(r.status, 404, JSON.stringify(r.body));
        assert.deepStrictEqual(r.body, { code: "NoStorageError", message: "Storage team-scratch is not found." });
    });

    it("a job of group A writes a file to its team storage, a second job of group A reads it back", async () => {
        const token = `team-scratch-${run}`;
        const write = await pai.rest("POST", "/api/v2/jobs", { token: alice, yaml: scratchJob(`write-${run}`, [`echo ${token} > /mnt/team-scratch/${run}.txt`, `ls -l /mnt/team-scratch/${run}.txt`]) });
        assert.strictEqual(write.status, 202, JSON.stringify(write.body));
        const written = await jobReaches(pai, alice, "alice", `write-${run}`, ["SUCCEEDED", "FAILED"], 10 * 60 * 1000);
        assert.strictEqual(written.jobStatus.state, "SUCCEEDED", JSON.stringify(written.jobStatus));
        const read = await pai.rest("POST", "/api/v2/jobs", { token: alice, yaml: scratchJob(`read-${run}`, [`grep -x ${token} /mnt/team-scratch/${run}.txt`]) });
        assert.strictEqual(read.status, 202, JSON.stringify(read.body));
        const done = await jobReaches(pai, alice, "alice", `read-${run}`, ["SUCCEEDED", "FAILED"], 10 * 60 * 1000);
        assert.strictEqual(done.jobStatus.state, "SUCCEEDED", `the second job did not find the file: ${JSON.stringify(done.jobStatus)}`);
        assert.strictEqual(pai.lab.ssh(worker1, `cat ${scratchDir}/${run}.txt`).trim(), token);
    });

    it("a job mounting the NFS storage: where the kernel has an NFS client it writes there, else the kubelet's mount fails for that reason (said, not faked)", async () => {
        const kernelHasNfs = /\bnfs4?\b/.test(pai.lab.ssh(worker1, "cat /proc/filesystems"));
        const name = `nfs-${run}`;
        const token = `over-nfs-${run}`;
        const job = cpuJob(name, [`echo ${token} > /mnt/team-nfs/${name}.txt`], j => (j.extras.storages = [{ name: "team-nfs" }]));
        assert.strictEqual((await pai.rest("POST", "/api/v2/jobs", { token: alice, yaml: job })).status, 202);
        if (kernelHasNfs) {
            const done = await jobReaches(pai, alice, "alice", name, ["SUCCEEDED", "FAILED"], 10 * 60 * 1000);
            assert.strictEqual(done.jobStatus.state, "SUCCEEDED", JSON.stringify(done.jobStatus));
            assert.strictEqual(fs.readFileSync(path.join(nfs.path, `${name}.txt`), "utf8").trim(), token);
            return;
        }
        const event = await waitFor("the kubelet's NFS mount to fail", () => {
            const [pod] = jobPods(pai, "alice", name);
            const events = pod ? pai.json<{ items: any[] }>(["get", "events", "-n", "default", "--field-selector", `involvedObject.name=${pod.name}`]).items : [];
            return events.find(e => e.reason === "FailedMount")?.message as string | undefined;
        }, 5 * 60 * 1000);
        process.stdout.write(`      this kernel has no NFS client (no nfs in /proc/filesystems); the kubelet says: ${event.slice(0, 400)}\n`);
        assert.match(event, /nfs/i);
        await pai.rest("PUT", `/api/v2/jobs/alice~${name}/executionType`, { token: alice, json: { value: "STOP" } });
    });

    it("job metrics on containerd: job-exporter's task series for a running job's CPU and memory, the job and cluster dashboards' queries answer", async () => {
        const name = `metrics-${run}`;
        const job = cpuJob(name, ["(while :; do :; done) &", "x=$(head -c 80000000 /dev/zero | tr '\\0' a); sleep 900"]);
        assert.strictEqual((await pai.rest("POST", "/api/v2/jobs", { token: admin, yaml: job })).status, 202);
        await jobReaches(pai, admin, "admin", name, ["RUNNING"], 10 * 60 * 1000);
        const jobName = `admin~${name}`;
        const cpu = await waitFor("task_cpu_percent of the job", async () => {
            const r = await query(`task_cpu_percent{job_name="${jobName}"}`);
            return r.length > 0 && Number(r[0].value[1]) > 20 ? r[0] : undefined;
        }, 5 * 60 * 1000);
        assert.deepStrictEqual([cpu.metric.username, cpu.metric.role_name, cpu.metric.task_index, cpu.metric.virtual_cluster], ["admin", "main", "0", "default"]);
        const memory = await waitFor("task_mem_usage_byte of the job", async () => {
            const r = await query(`task_mem_usage_byte{job_name="${jobName}"}`);
            return r.length > 0 && Number(r[0].value[1]) > 60e6 ? r[0] : undefined;
        }, 5 * 60 * 1000);
        process.stdout.write(`      ${jobName}: CPU ${Number(cpu.value[1]).toFixed(0)}%, memory ${(Number(memory.value[1]) / 2 ** 20).toFixed(0)} MiB on ${cpu.metric.host_ip}\n`);
        // Every query of the two dashboards, as Grafana would send it (Grafana itself cannot run here).
        const report: string[] = [];
        const answers = async (dashboard: { uid: string; panels: any[] }, substitute: (q: string) => string) => {
            const result: Record<string, number> = {};
            for (const panel of dashboard.panels) {
                let series = 0;
                for (const target of panel.targets) {
                    series += (await query(substitute(target.expr))).length;
                }
                result[panel.title] = series;
                report.push(`${dashboard.uid} / ${panel.title}: ${series} series`);
            }
            return result;
        };
        // Disk I/O is a rate: it answers once job-exporter's series has two samples. The last
        // answers stay for the assertions below, which name a panel still empty.
        let jobPanels: Record<string, number> = {};
        await waitFor("the job dashboard's CPU, memory and disk panels", async () => {
            report.length = 0;
            jobPanels = await answers(jobDashboard(), q => q.replaceAll("$job", jobName));
            return ["CPU", "Memory", "Disk I/O"].every(panel => jobPanels[panel] > 0) || undefined;
        }, 4 * 60 * 1000).catch(() => undefined);
        const clusterPanels = await answers(clusterDashboard(), q => q.replaceAll("$node", ".*"));
        process.stdout.write(`      ${report.join("\n      ")}\n`);
        for (const panel of ["CPU", "Memory", "Disk I/O"]) {
            assert.ok(jobPanels[panel] > 0, `the job dashboard's ${panel} panel has no data`);
        }
        // No GPU on the lab's real nodes: their GPU panels stay empty (the simulated GPU nodes run nothing).
        const empty = ["GPU use", "GPU memory use"];
        // The lab's hosts boot from an overlay root, which node-exporter leaves out by default (its
        // fs-types-exclude); a server's root (ext4, xfs) is reported.
        const rootType = pai.lab.ssh(worker1, "findmnt -n -o FSTYPE /").trim();
        if (rootType === "overlay") {
            process.stdout.write("      Root disk use: empty here, the lab hosts' root is an overlay (node-exporter excludes overlay)\n");
            empty.push("Root disk use");
        }
        for (const [panel, series] of Object.entries(clusterPanels).filter(([p]) => !empty.includes(p))) {
            assert.ok(series > 0, `the cluster dashboard's ${panel} panel has no data`);
        }
        const gpus = await query("sum(k8s_node_gpu_total)");
        assert.strictEqual(Number(gpus[0].value[1]), 32, "the four simulated 8-GPU nodes");
        await pai.rest("PUT", `/api/v2/jobs/${jobName}/executionType`, { token: admin, json: { value: "STOP" } });
    });

    it("a job that failed and was retried shows both attempts in its attempt history", async () => {
        const name = `retried-${run}`;
        const job = cpuJob(name, ["echo attempt $FC_FRAMEWORK_ATTEMPT_ID", "exit 3"], j => (j.jobRetryCount = 1));
        assert.strictEqual((await pai.rest("POST", "/api/v2/jobs", { token: admin, yaml: job })).status, 202);
        const done = await jobReaches(pai, admin, "admin", name, ["FAILED", "SUCCEEDED"], 15 * 60 * 1000);
        assert.strictEqual(done.jobStatus.state, "FAILED");
        assert.strictEqual(done.jobStatus.retries, 1, JSON.stringify(done.jobStatus));
        const attempts = await waitFor("both attempts in the history", async () => {
            const r = await pai.rest("GET", `/api/v2/jobs/admin~${name}/job-attempts`, { token: admin });
            return r.status === 200 && r.body.length === 2 ? r.body : undefined;
        }, 3 * 60 * 1000);
        assert.deepStrictEqual(attempts.map((a: any) => [a.attemptIndex, a.isLatest, a.state]), [[1, true, "FAILED"], [0, false, "FAILED"]]);
        const first = await pai.rest("GET", `/api/v2/jobs/admin~${name}/job-attempts/0`, { token: admin });
        assert.strictEqual(first.status, 200, JSON.stringify(first.body));
        assert.strictEqual(first.body.attemptIndex, 0);
    });

    it("the master's certificates: their expiry times in Prometheus, and CertificateExpiresSoon (warning at 400 days) reaches the webhook", async () => {
        const since = Date.now();
        pai.kubectl(["create", "job", "-n", "default", `certificate-expiry-${run}`, "--from=cronjob/certificate-expiry"]);
        const series = await waitFor("the certificates' expiry series", async () => {
            const r = await query("openpai_certificate_not_after_seconds");
            return r.length >= 10 ? r : undefined;
        }, 5 * 60 * 1000);
        const apiserver = series.find(s => s.metric.certificate === "apiserver.crt")!;
        const days = (Number(apiserver.value[1]) * 1000 - Date.now()) / 86400000;
        assert.ok(days > 300 && days < 366, `apiserver.crt expires in ${days} days`);
        const alert = await waitFor("CertificateExpiresSoon at the webhook", () => webhook.find("CertificateExpiresSoon", "firing", { certificate: "apiserver.crt" }), 6 * 60 * 1000);
        process.stdout.write(`      CertificateExpiresSoon reached the webhook ${Math.round((alert.at - since) / 1000)} s after the check ran: ${alert.body.annotations.summary}\n`);
    });

    it("alert-handler cordons the node a GPU ECC alert names (its cordon-nodes action)", async () => {
        const node = "gpu-3";
        const ends = new Date(Date.now() + 3 * 60 * 1000).toISOString();
        const posted = await pai.fetch("/alert-manager/api/v2/alerts", {
            method: "POST", headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" },
            body: JSON.stringify([{ labels: { alertname: "GpuDoubleEccError", node_name: node, host_ip: "10.78.1.13", minor_number: "0", type: "double", severity: "critical" },
                annotations: { summary: `a test alert of ${run}` }, endsAt: ends }]),
        });
        assert.strictEqual(posted.status, 200, posted.text);
        try {
            await waitFor(`${node} cordoned`, () => pai.json(["get", "node", node]).spec.unschedulable === true || undefined, 3 * 60 * 1000);
            // The admins' receiver is notified by its own aggregation group, flushed at about the same
            // time as alert-handler's, not before it: a CI run saw the cordon first.
            await waitFor("the admins told too (the webhook)", () => webhook.find("GpuDoubleEccError", "firing", { node_name: node }), 2 * 60 * 1000);
        } finally {
            pai.kubectl(["uncordon", node]);
        }
    });

    it("a worker stopped with lab.sh host stop: NodeNotReady reaches the webhook and the mailbox within the rules' time, and resolves once it is back", async () => {
        for (const job of (await pai.rest("GET", "/api/v2/jobs?username=admin", { token: admin })).body.filter((j: any) => ["RUNNING", "WAITING"].includes(j.state))) {
            await pai.rest("PUT", `/api/v2/jobs/admin~${job.name}/executionType`, { token: admin, json: { value: "STOP" } });
        }
        const stopped = Date.now();
        pai.lab.stop(worker2);
        const fired = await waitFor("NodeNotReady at the webhook", () => webhook.find("NodeNotReady", "firing", { host_ip: worker2.address }, stopped), nodeDownBudgetMs);
        const firedAfter = Math.round((fired.at - stopped) / 1000);
        assert.strictEqual(fired.body.labels.node_name, worker2.name);
        const mail = await waitFor("NodeNotReady in the mailbox", () => smtp.mails.find(m => m.at >= stopped && m.body.data.includes("NodeNotReady") && m.body.data.includes(worker2.address)),
            nodeDownBudgetMs - (Date.now() - stopped) + 60000);
        assert.strictEqual(mail.body.user, "openpai", "Alertmanager logged in with the secret password");
        assert.deepStrictEqual(mail.body.to, ["ops@lab.test"]);
        assert.deepStrictEqual(smtp.refusedLogins, []);
        process.stdout.write(`      NodeNotReady: webhook ${firedAfter} s, mail ${Math.round((mail.at - stopped) / 1000)} s after the stop (budget ${nodeDownBudgetMs / 1000} s)\n`);

        const restarted = Date.now();
        // As `lab.sh host list` has it (the quick start chose its address and kind).
        await pai.lab.start([pai.lab.hosts().find(h => h.name === worker2.name)!]);
        await waitFor(`${worker2.name} Ready`, () => pai.json(["get", "node", worker2.name]).status.conditions.some((c: any) => c.type === "Ready" && c.status === "True") || undefined, 10 * 60 * 1000);
        const ready = Date.now();
        const resolved = await waitFor("NodeNotReady resolved at the webhook", () => webhook.find("NodeNotReady", "resolved", { host_ip: worker2.address }, ready), resolveBudgetMs);
        process.stdout.write(`      ${worker2.name} Ready ${Math.round((ready - restarted) / 1000)} s after its start; resolved at the webhook ${Math.round((resolved.at - ready) / 1000)} s later (budget ${resolveBudgetMs / 1000} s)\n`);
        // The next tier finds the worker as it was: every PAI pod on it Ready again.
        await waitFor(`PAI pods on ${worker2.name} Ready`, () => pai.json<{ items: any[] }>(["get", "pods", "-A", "-l", "app.kubernetes.io/part-of=openpai", "--field-selector", `spec.nodeName=${worker2.name}`]).items
            .every(p => (p.status.containerStatuses ?? []).length > 0 && p.status.containerStatuses.every((c: any) => c.ready)) || undefined, 10 * 60 * 1000);
    });
});
