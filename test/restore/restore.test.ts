import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { must, projectRoot } from "../engine/harness";
import { exampleJob, jobReaches } from "../services/jobs";
import { PaiLab, waitFor } from "../services/pai-lab";

const master = { name: "pai-master", address: "10.78.0.10" };
const workers = ["pai-worker-1", "pai-worker-2"];
const stackFile = path.join(projectRoot, "Pulumi.quickstart.yaml");

/**
 * A lost master, brought back from a backup (issue 22; docs/operating.md "Backup and restore"):
 * `openpai backup` of the quick start's master, the master's host removed and a new one started
 * at its address, `openpai restore` and `pulumi up`. Users, groups, jobs and their attempt history
 * come back (and what was made after the backup does not), the workers are nodes of the rebuilt
 * master without joining again, and a new job runs. Runs last of the lab tiers: it rebuilds the
 * master they share.
 */
describe("backup and restore of the master (on the lab)", function () {
    this.timeout(60 * 60 * 1000);
    const pai = new PaiLab();
    const run = Date.now().toString(36);
    let tmp: string;
    let keyFile: string;
    let admin: string;
    let ssh: string[];

    function openpai(args: string[]): { code: number; out: string; ms: number } {
        const started = Date.now();
        const r = spawnSync(process.execPath, [path.join(projectRoot, "bin", "openpai.js"), ...args], { encoding: "utf8", cwd: projectRoot, env: pai.engine.env });
        process.stdout.write(`${r.stdout}${r.stderr}`);
        return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, ms: Date.now() - started };
    }

    /** A known_hosts file with the master's SSH host key, read from its disk as an admin reads it on the console. */
    function knownHosts(): string {
        const file = path.join(tmp, "known_hosts");
        const [type, key] = pai.lab.readHostFile(master, "etc/ssh/ssh_host_ed25519_key.pub").split(" ");
        fs.writeFileSync(file, `${master.address} ${type} ${key}\n`);
        return file;
    }

    /** A token of the user that rest-server accepts (it keeps tokens as Secrets: a restarted one may not know a fresh one yet). */
    function acceptedToken(username: string, password: string): Promise<string> {
        return waitFor(`a token of ${username} that rest-server accepts`, async () => {
            const token = await pai.login(username, password);
            return (await pai.rest("GET", `/api/v2/users/${username}`, { token })).status === 200 ? token : undefined;
        }, 10 * 60 * 1000);
    }
    const adminToken = () => acceptedToken("admin", pai.adminPassword());

    before(async () => {
        await pai.up();
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-restore-"));
        keyFile = path.join(tmp, "backup.key");
        fs.writeFileSync(keyFile, execFileSync("openssl", ["rand", "-base64", "32"]), { mode: 0o600 });
        // The admin's ssh: the lab's key, and a known_hosts file of its own, strict.
        ssh = ["--identity", pai.lab.env().sshKey, "--ssh-option", `UserKnownHostsFile=${knownHosts()}`];
        admin = await adminToken();
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("backup, a new master host at the same address, restore, up: users, groups, jobs and history back; the workers stay its nodes; a new job runs", async () => {
        const timings: Record<string, number> = {};
        // What the backup must bring back: a user, a group, a job that failed once and was retried.
        const user = `restore${run}`;
        const password = `Restore-${run}-pw`;
        const group = `restore_team_${run}`;
        await pai.ensureUser(admin, user, password, ["default"]);
        const madeGroup = await pai.rest("POST", "/api/v2/groups", { token: admin, json: { groupname: group, description: "made before the backup", externalName: "", extension: { acls: { virtualClusters: ["default"], admin: false } } } });
        assert.strictEqual(madeGroup.status, 201, JSON.stringify(madeGroup.body));
        const userToken = await acceptedToken(user, password);
        const job = `before-backup-${run}`;
        const jobYaml = exampleJob("hello-cpu.yaml", job, j => {
            j.taskRoles.main.commands = ["echo attempt $FC_FRAMEWORK_ATTEMPT_ID", "exit 3"];
            j.jobRetryCount = 1;
        });
        assert.strictEqual((await pai.rest("POST", "/api/v2/jobs", { token: userToken, yaml: jobYaml })).status, 202);
        await jobReaches(pai, userToken, user, job, ["FAILED"], 15 * 60 * 1000);
        const attemptsBefore = await waitFor("both attempts in the history", async () => {
            const r = await pai.rest("GET", `/api/v2/jobs/${user}~${job}/job-attempts`, { token: userToken });
            return r.status === 200 && r.body.length === 2 ? r.body : undefined;
        }, 3 * 60 * 1000);
        const jobsBefore = (await pai.rest("GET", "/api/v2/jobs", { token: admin })).body as { name: string; username: string; state: string }[];
        const workerUids = Object.fromEntries(workers.map(w => [w, pai.json(["get", "node", w]).metadata.uid as string]));
        const workerKubelets = Object.fromEntries(workers.map(w => [w, pai.lab.readHostFile({ name: w, address: "" }, "etc/kubernetes/kubelet.conf")]));

        const backupFile = path.join(tmp, "master.backup");
        const taken = openpai(["backup", "--key-file", keyFile, ...ssh, stackFile, backupFile]);
        assert.strictEqual(taken.code, 0, taken.out);
        timings.backup = taken.ms;
        assert.match(taken.out, /\[backup\] changed: backed up pai-master: etcd snapshot \d+ bytes, database dump [1-9]\d* bytes/);
        assert.doesNotMatch(fs.readFileSync(backupFile).toString("latin1"), /BEGIN RSA PRIVATE KEY|BEGIN PRIVATE KEY|CREATE TABLE/, "the backup is not encrypted");

        // Made after the backup: gone once it is restored.
        const later = `after${run}`;
        await pai.ensureUser(admin, later, `After-${run}-pw`, ["default"]);

        // The master is lost: its host and disk removed, a new one started at its address.
        let started = Date.now();
        execFileSync("bash", [path.join(projectRoot, "lab", "lab.sh"), "host", "rm", master.name], { stdio: ["ignore", "inherit", "inherit"] });
        await pai.lab.start([master]);
        timings.new_host = Date.now() - started;
        assert.ok(pai.lab.hosts().find(h => h.name === master.name)?.running, "the new master host runs");
        assert.throws(() => pai.lab.readHostFile(master, "etc/kubernetes/admin.conf"), /ENOENT/, "the new host is blank");

        // A restore onto it (its new SSH host key checked as before), and the up that accepts
        // that key (docs/operating.md).
        knownHosts();
        const staged = openpai(["restore", "--key-file", keyFile, ...ssh, stackFile, backupFile]);
        assert.strictEqual(staged.code, 0, staged.out);
        assert.match(staged.out, /\[restore\] changed: staged the backup of pai-master/);
        const urn = must(pai.pai.run(["stack", "--show-urns"])).stdout.split("\n").map(l => /(urn:pulumi:\S+openpai-hosts-pai-master-hostkey)\b/.exec(l)?.[1]).find(Boolean);
        assert.ok(urn, "the master's hostkey resource");
        started = Date.now();
        const up = pai.pai.run(["up", "--yes", "--skip-preview", "--replace", urn!]);
        timings.up = Date.now() - started;
        assert.strictEqual(up.code, 0, `${up.stdout.slice(-6000)}\n${up.stderr.slice(-3000)}`);
        // What the steps printed, as the state keeps it (pulumi up shows it only for failures).
        const resources = JSON.parse(must(pai.pai.run(["stack", "export"])).stdout).deployment.resources as { urn: string; outputs?: { stdout?: string } }[];
        const printed = (name: string) => resources.find(r => r.urn.endsWith(`::openpai-hosts-${name}`))?.outputs?.stdout ?? "";
        const init = printed("pai-master-kubeadm-init");
        process.stdout.write(init.split("\n").filter(l => l.includes("restor")).join("\n") + "\n");
        assert.match(init, /\[kubeadm-init\] changed: restored etcd's data from the backup's snapshot/);
        assert.match(init, /\[kubeadm-init\] changed: the restored cluster runs/);
        for (const w of workers) {
            assert.match(printed(`${w}-join`), new RegExp(`already joined as ${w}`), `${w}'s join step`);
        }

        // The workers are nodes of the rebuilt master: the same Node objects, not joined again.
        await waitFor("every node Ready", () => {
            const nodes = pai.json<{ items: any[] }>(["get", "nodes"]).items;
            const ready = (name: string) => nodes.find(n => n.metadata.name === name)?.status.conditions.find((c: any) => c.type === "Ready")?.status === "True";
            return [master.name, ...workers].every(ready) || undefined;
        }, 10 * 60 * 1000);
        for (const w of workers) {
            assert.strictEqual(pai.json(["get", "node", w]).metadata.uid, workerUids[w], `${w} is another Node object`);
            assert.strictEqual(pai.lab.readHostFile({ name: w, address: "" }, "etc/kubernetes/kubelet.conf"), workerKubelets[w], `${w}'s kubelet config changed`);
        }
        assert.ok(!fs.existsSync(path.join(pai.lab.env().hostsDir, master.name, "merged", "var/lib/openpai/restore/etcd")), "the snapshot stays on the master");

        // Every workload of the snapshot runs again (the new master pulls its images first).
        started = Date.now();
        for (const namespace of ["kube-system", "default"]) {
            for (const workload of pai.kubectl(["-n", namespace, "get", "daemonset,deployment,statefulset", "-o", "name"]).split("\n").filter(Boolean)) {
                pai.kubectl(["-n", namespace, "rollout", "status", workload, "--timeout=15m"]);
            }
        }
        timings.services_back = Date.now() - started;

        // Users, groups, jobs and their history, as at the backup.
        await waitFor("the portal", async () => (await pai.fetch("/rest-server/api/v2/info")).status === 200 || undefined, 10 * 60 * 1000);
        admin = await adminToken();
        const back = await acceptedToken(user, password);
        const groups = (await pai.rest("GET", "/api/v2/groups", { token: admin })).body as { groupname: string }[];
        assert.ok(groups.some(g => g.groupname === group), `group ${group} is not back`);
        const users = ((await pai.rest("GET", "/api/v2/users", { token: admin })).body as { username: string }[]).map(u => u.username);
        assert.ok(users.includes(user) && !users.includes(later), `users ${users.join(", ")}: ${user} is not back, or ${later}, made after the backup, is there`);
        const jobsAfter = await waitFor("the job list", async () => {
            const r = await pai.rest("GET", "/api/v2/jobs", { token: admin });
            return r.status === 200 && Array.isArray(r.body) ? r.body as typeof jobsBefore : undefined;
        });
        for (const j of jobsBefore) {
            const found = jobsAfter.find(a => a.name === j.name && a.username === j.username);
            assert.ok(found, `job ${j.username}~${j.name} is not back`);
            assert.strictEqual(found.state, j.state, `job ${j.name}`);
        }
        assert.match(pai.kubectl(["-n", "default", "logs", "daemonset/postgresql"]), /openpai restore: OpenPAI's database loaded from the backup/);
        const attemptsAfter = await pai.rest("GET", `/api/v2/jobs/${user}~${job}/job-attempts`, { token: back });
        assert.strictEqual(attemptsAfter.status, 200, JSON.stringify(attemptsAfter.body));
        assert.deepStrictEqual(attemptsAfter.body.map((a: any) => [a.attemptIndex, a.state]), attemptsBefore.map((a: any) => [a.attemptIndex, a.state]));

        // And the rebuilt master runs new work.
        const next = `after-restore-${run}`;
        const nextYaml = exampleJob("hello-cpu.yaml", next, j => (j.taskRoles.main.commands = ["echo restored"]));
        assert.strictEqual((await pai.rest("POST", "/api/v2/jobs", { token: back, yaml: nextYaml })).status, 202);
        await jobReaches(pai, back, user, next, ["SUCCEEDED"], 15 * 60 * 1000);
        process.stdout.write(`restore timings (s): ${Object.entries(timings).map(([k, v]) => `${k} ${Math.round(v / 1000)}`).join(", ")}\n`);
    });
});
