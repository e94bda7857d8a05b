import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { hivedForStack, parseStackConfig } from "../../config";
import { paiContext } from "../../components/pai/context";
import { paiFile } from "../../components/pai/files";
import { paiServices } from "../../components/pai/service";
import { kubeRouterManifests } from "../../components/kubernetes/kube-router";
import { K8sObject } from "../../components/pai/objects";
import { policies } from "../../policy/policies";
import { layout, rawStack } from "./helpers";
import { openPaiFile, upstreamHas, upstreamTarball } from "./upstream-source";

const python = spawnSync("python3", ["--version"]).status === 0;

function temporary(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function write(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
}

/** A running container as containerd keeps it: its task directory (OCI spec, init.pid). */
function task(tasks: string, id: string, notes: Record<string, string>, env: string[], cgroupsPath: string, pid: number): void {
    write(path.join(tasks, id, "config.json"), JSON.stringify({ process: { env }, annotations: notes, linux: { cgroupsPath } }));
    write(path.join(tasks, id, "init.pid"), String(pid));
}

describe("job-exporter on containerd: files/docker-on-containerd.py answers job-exporter's own parsers (src/job-exporter/src)", () => {
    const dir = temporary("docker-shim-");
    const jobId = "a".repeat(64);
    const serviceId = "b".repeat(64);
    const podUid = "11111111-2222-3333-4444-555555555555";
    const scope = (id: string) => `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid.replace(/-/g, "_")}.slice/cri-containerd-${id}.scope`;

    before(function () {
        if (!python || !upstreamTarball("pai-v1.8.0-src.tar.gz")) {
            this.skip();
        }
        for (const file of ["docker_stats.py", "docker_inspect.py", "utils.py"]) {
            write(path.join(dir, "upstream", file), openPaiFile(`src/job-exporter/src/${file}`)!);
        }
        write(path.join(dir, "bin", "docker"), paiFile("docker-on-containerd.py"));
        const tasks = path.join(dir, "tasks");
        const notes = (container: string, pod: string, type = "container") => ({
            "io.kubernetes.cri.container-type": type, "io.kubernetes.cri.container-name": container, "io.kubernetes.cri.sandbox-name": pod,
            "io.kubernetes.cri.sandbox-namespace": "default", "io.kubernetes.cri.sandbox-uid": podUid,
        });
        // A job's task (the env rest-server and FrameworkController give it), a PAI service, a pod's sandbox.
        task(tasks, jobId, notes("app", "0123abcd-worker-1"), ["PAI_JOB_NAME=alice~train", "PAI_USER_NAME=alice", "PAI_CURRENT_TASK_ROLE_NAME=worker",
            "FC_TASK_INDEX=1", "NVIDIA_VISIBLE_DEVICES=0,1", "FC_FRAMEWORK_ATTEMPT_INSTANCE_UID=0_attempt", "PAI_VIRTUAL_CLUSTER=vc1"],
        `kubepods-burstable-pod${podUid.replace(/-/g, "_")}.slice:cri-containerd:${jobId}`, 4242);
        task(tasks, serviceId, notes("rest-server", "rest-server-x1"), ["PATH=/bin"], `/kubepods/burstable/pod${podUid}/${serviceId}`, 4343);
        task(tasks, "c".repeat(64), notes("", "0123abcd-worker-1", "sandbox"), [], `kubepods-burstable-pod${podUid.replace(/-/g, "_")}.slice:cri-containerd:${"c".repeat(64)}`, 4444);
        write(path.join(dir, "containerd.sock"), "");
        // cgroup v2 for the job (systemd driver), and a v1 tree for the service (cgroupfs driver).
        const v2 = path.join(dir, "v2");
        write(path.join(v2, "cgroup.controllers"), "cpu memory io\n");
        write(path.join(v2, scope(jobId), "cpu.stat"), "usage_usec 1000000\nuser_usec 900000\n");
        write(path.join(v2, scope(jobId), "memory.current"), String(300 * 2 ** 20));
        write(path.join(v2, scope(jobId), "memory.stat"), `anon ${200 * 2 ** 20}\ninactive_file ${100 * 2 ** 20}\n`);
        write(path.join(v2, scope(jobId), "memory.max"), String(2 * 2 ** 30));
        write(path.join(v2, scope(jobId), "io.stat"), "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2\n259:0 rbytes=4096 wbytes=0\n");
        const v1 = path.join(dir, "v1");
        write(path.join(v1, "cpu,cpuacct", `kubepods/burstable/pod${podUid}/${serviceId}`, "cpuacct.usage"), "5000000000");
        write(path.join(v1, "memory", `kubepods/burstable/pod${podUid}/${serviceId}`, "memory.usage_in_bytes"), String(64 * 2 ** 20));
        write(path.join(v1, "memory", `kubepods/burstable/pod${podUid}/${serviceId}`, "memory.stat"), `total_inactive_file ${16 * 2 ** 20}\n`);
        write(path.join(v1, "memory", `kubepods/burstable/pod${podUid}/${serviceId}`, "memory.limit_in_bytes"), "9223372036854771712");
        write(path.join(v1, "blkio", `kubepods/burstable/pod${podUid}/${serviceId}`, "blkio.throttle.io_service_bytes"), "8:0 Read 100\n8:0 Write 50\n8:0 Total 150\nTotal 150\n");
        write(path.join(dir, "pods", `default_0123abcd-worker-1_${podUid}`, "app", "0.log"), "2024-01-01T00:00:00Z stdout F first\n2024-01-01T00:00:01Z stdout F USER COMMAND END\n");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /**
     * Runs the stand-in under `cgroups` with job-exporter's parsers at hand; during its 1 s sample
     * the job's CPU time grows by 0.5 s (the sleep is replaced, so the test does not depend on the clock).
     */
    function harness(cgroups: string, commands: string): any {
        const script = `
import importlib.machinery, importlib.util, json, os, sys
sys.path.insert(0, ${JSON.stringify(path.join(dir, "upstream"))})
import docker_stats, docker_inspect, utils, io, contextlib
loader = importlib.machinery.SourceFileLoader("shim", ${JSON.stringify(path.join(dir, "bin", "docker"))})
spec = importlib.util.spec_from_loader("shim", loader)
shim = importlib.util.module_from_spec(spec)
loader.exec_module(shim)
def bump(seconds):
    stat = os.path.join(shim.CGROUPS, ${JSON.stringify(scope(jobId))}, "cpu.stat")
    if os.path.exists(stat):
        open(stat, "w").write("usage_usec 1500000\\n")
    v1 = os.path.join(shim.CGROUPS, "cpu,cpuacct", ${JSON.stringify(`kubepods/burstable/pod${podUid}/${serviceId}`)}, "cpuacct.usage")
    if os.path.exists(v1):
        open(v1, "w").write("5250000000")
shim.time.sleep = bump
shim.time.time = iter([100.0, 101.0]).__next__
def run(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        shim.main(list(argv))
    return out.getvalue()
${commands}
`;
        const r = spawnSync("python3", ["-c", script], {
            encoding: "utf8",
            env: { ...process.env, CONTAINERD_TASKS: path.join(dir, "tasks"), CONTAINERD_SOCKET: path.join(dir, "containerd.sock"), HOST_CGROUPS: cgroups, POD_LOGS: path.join(dir, "pods") },
        });
        assert.strictEqual(r.status, 0, r.stderr);
        return JSON.parse(r.stdout);
    }

    it("docker stats (cgroup v2, systemd driver): CPU %, memory without inactive page cache, block I/O, as docker_stats.parse_docker_stats reads them", () => {
        const stats = harness(path.join(dir, "v2"), "print(json.dumps(docker_stats.parse_docker_stats(run('stats', '--no-stream', '--format', 'table ...'))))");
        const job = stats[jobId.slice(0, 12)];
        assert.strictEqual(job.name, `k8s_app_0123abcd-worker-1_default_${podUid}_0`);
        assert.strictEqual(job.CPUPerc, 50, "0.5 s of CPU in 1 s");
        assert.deepStrictEqual(job.MemUsage_Limit, { usage: 200 * 2 ** 20, limit: 2 * 2 ** 30 });
        assert.deepStrictEqual(job.BlockIO, { in: 8192, out: 8192 });
        assert.deepStrictEqual(job.NetIO, { in: 0, out: 0 });
        assert.ok(Math.abs(job.MemPerc - 9.77) < 0.01, String(job.MemPerc));
        assert.ok(stats["c".repeat(12)].name.startsWith("k8s_POD_"), "the sandbox has the name job-exporter skips");
    });

    it("docker stats (cgroup v1, cgroupfs driver): an unlimited container's limit is the machine's memory", () => {
        const stats = harness(path.join(dir, "v1"), "print(json.dumps(docker_stats.parse_docker_stats(run('stats', '--no-stream'))))");
        const service = stats[serviceId.slice(0, 12)];
        assert.strictEqual(service.CPUPerc, 25);
        assert.strictEqual(service.MemUsage_Limit.usage, 48 * 2 ** 20);
        const memTotal = Number(/MemTotal:\s+(\d+)/.exec(fs.readFileSync("/proc/meminfo", "utf8"))![1]) * 1024;
        assert.strictEqual(service.MemUsage_Limit.limit, memTotal);
        assert.deepStrictEqual(service.BlockIO, { in: 100, out: 50 });
        assert.match(service.name, /^k8s_rest-server_/, "job-exporter counts it as PAI service rest-server");
    });

    it("docker inspect: the task's labels and host process, as docker_inspect.parse_docker_inspect reads them", () => {
        const info = harness(path.join(dir, "v2"), `r = docker_inspect.parse_docker_inspect(run('inspect', '${jobId.slice(0, 12)}'), utils.GpuVendor.NVIDIA)
print(json.dumps(r.__dict__))`);
        assert.deepStrictEqual(info, { username: "alice", job_name: "alice~train", role_name: "worker", task_index: "1", gpu_ids: "0,1",
            job_instance_id: "0_attempt", virtual_cluster: "vc1", pid: 4242 });
    });

    it("docker logs --tail and docker info; anything else is refused", () => {
        const out = harness(path.join(dir, "v2"), `print(json.dumps([run('logs', '--tail', '1', '${jobId.slice(0, 12)}'), run('info')]))`);
        assert.strictEqual(out[0], "USER COMMAND END\n");
        assert.match(out[1], /3 running containers/);
        const refused = spawnSync("python3", [path.join(dir, "bin", "docker"), "run", "x"], { encoding: "utf8" });
        assert.strictEqual(refused.status, 1);
        assert.match(refused.stderr, /not one of the commands job-exporter runs/);
    });
});

describe("certificate check: files/certificate-expiry.py", () => {
    it("writes each certificate's notAfter (UTCTime and GeneralizedTime) and marks one it cannot read", function () {
        if (!python || spawnSync("openssl", ["version"]).status !== 0) {
            this.skip();
        }
        const dir = temporary("certs-");
        try {
            for (const [name, days] of [["soon", 20], ["far", 20000]] as const) {
                const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", String(days),
                    "-subj", `/CN=${name}`, "-keyout", path.join(dir, `${name}.key`), "-out", path.join(dir, `${name}.crt`)], { encoding: "utf8" });
                assert.strictEqual(r.status, 0, r.stderr);
            }
            write(path.join(dir, "check.py"), paiFile("certificate-expiry.py"));
            const r = spawnSync("python3", [path.join(dir, "check.py"), path.join(dir, "out.prom"), `soon.crt=${dir}/soon.crt`, `etcd/far.crt=${dir}/far.crt`, `gone.crt=${dir}/gone.crt`], { encoding: "utf8" });
            assert.strictEqual(r.status, 0, r.stderr);
            const out = fs.readFileSync(path.join(dir, "out.prom"), "utf8");
            const expiry = (name: string) => Number(new RegExp(`openpai_certificate_not_after_seconds\\{certificate="${name}"\\} (\\d+)`).exec(out)![1]);
            const openssl = (name: string) => Date.parse(spawnSync("openssl", ["x509", "-noout", "-enddate", "-in", path.join(dir, `${name}.crt`)], { encoding: "utf8" }).stdout.replace("notAfter=", "")) / 1000;
            assert.strictEqual(expiry("soon.crt"), openssl("soon"));
            assert.strictEqual(expiry("etcd/far.crt"), openssl("far"), "a date past 2049 is a GeneralizedTime");
            assert.match(out, /openpai_certificate_check_success\{certificate="gone.crt"\} 0/);
            assert.ok(!fs.existsSync(path.join(dir, "out.prom.tmp")));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("job attempt history: files/job-history.js with database-controller's Snapshot (src/database-controller/src/common/framework.js)", () => {
    const dir = temporary("job-history-");

    before(function () {
        const framework = openPaiFile("src/database-controller/src/common/framework.js");
        if (!framework) {
            this.skip();
        }
        // database-controller's own framework.js; its modules (lodash, the informer, the SDK) as small stand-ins.
        write(path.join(dir, "common", "framework.js"), framework!);
        write(path.join(dir, "common", "init.js"), "");
        write(path.join(dir, "common", "logger.js"), "module.exports = { info: (m) => global.log.push(m), error: (m, done) => { global.log.push('ERROR ' + m); done && done(); } };");
        write(path.join(dir, "common", "k8s.js"), "module.exports = { getFrameworkInformer: () => global.informer };");
        write(path.join(dir, "node_modules", "lodash", "index.js"), "module.exports = { cloneDeep: (v) => JSON.parse(JSON.stringify(v)) };");
        write(path.join(dir, "node_modules", "js-yaml", "index.js"), "module.exports = {};");
        write(path.join(dir, "node_modules", "json-merge-patch", "index.js"), "module.exports = {};");
        write(path.join(dir, "node_modules", "module-alias", "index.js"), `const Module = require('module');
module.exports = { addAlias(alias, target) {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) { return resolve.call(this, request.startsWith(alias + '/') ? target + request.slice(alias.length) : request, ...rest); };
} };`);
        write(path.join(dir, "node_modules", "openpaidbsdk", "index.js"), `class Table {
  constructor(name) { this.name = name; }
  async findOrCreate({ where, defaults }) {
    const rows = global.rows[this.name];
    if (rows.some((r) => r.uid === where.uid)) return [null, false];
    rows.push(Object.assign({ uid: where.uid }, defaults));
    return [null, true];
  }
}
module.exports = class { constructor() { this.FrameworkHistory = new Table('framework_history'); this.TaskHistory = new Table('task_history'); } };`);
        write(path.join(dir, "job-history.js"), paiFile("job-history.js"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("records a retried job's completed attempt (its task statuses unzipped, as rest-server reads them) and a retried task's, once each; not a job's last attempt", () => {
        const zipped = (statuses: unknown) => zlib.gzipSync(Buffer.from(JSON.stringify(statuses))).toString("base64");
        const task = (attempt: number, state: string) => ({ name: "f1-worker-0", index: 0, instanceUID: "0_task-uid", state,
            attemptStatus: { id: attempt, podUID: `pod-${attempt}` }, retryPolicyStatus: { retryDelaySec: null, totalRetriedCount: attempt, accountableRetriedCount: attempt } });
        const framework = (name: string, attempt: number, state: string, tasks: unknown[] = []) => ({
            metadata: { name, labels: { userName: "alice" }, annotations: { jobName: name } },
            status: { state, attemptStatus: { id: attempt, taskRoleStatusesCompressed: zipped([{ name: "worker", taskStatuses: tasks }]) },
                retryPolicyStatus: { retryDelaySec: null, totalRetriedCount: attempt, accountableRetriedCount: attempt } },
        });
        const events = [
            ["add", framework("f1", 0, "AttemptRunning", [task(0, "TaskAttemptRunning")])],
            ["update", framework("f1", 0, "AttemptRunning", [task(0, "TaskAttemptCompleted")])],
            ["update", framework("f1", 0, "AttemptRunning", [task(1, "TaskAttemptRunning")])],
            ["update", framework("f1", 0, "AttemptCompleted", [task(1, "TaskCompleted")])],
            ["update", framework("f1", 1, "AttemptCreationPending")],
            ["update", framework("f1", 1, "AttemptCreationPending")],
            ["add", framework("f2", 0, "AttemptCompleted")],
            ["update", framework("f2", 0, "Completed")],
        ];
        const driver = `
const { EventEmitter } = require('events');
global.log = []; global.rows = { framework_history: [], task_history: [] };
global.informer = Object.assign(new EventEmitter(), { start() {} });
process.env.DATABASE_CONTROLLER_DIR = ${JSON.stringify(dir)};
require(${JSON.stringify(path.join(dir, "job-history.js"))});
for (const [type, object] of ${JSON.stringify(events)}) global.informer.emit(type, object);
setTimeout(() => console.log(JSON.stringify({ rows: global.rows, log: global.log })), 200);
`;
        const r = spawnSync(process.execPath, ["-e", driver], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        const { rows, log } = JSON.parse(r.stdout);
        assert.deepStrictEqual(rows.framework_history.map((h: any) => [h.frameworkName, h.attemptIndex, h.historyType]), [["f1", 0, "retry"]]);
        const snapshot = JSON.parse(rows.framework_history[0].snapshot);
        // rest-server renders history rows by convertState, which reads AttemptCompleted as RUNNING:
        // the attempt is kept as Completed, read by its exit code.
        upstreamHas("src/rest-server/src/models/v2/utils/frameworkConverter.js", /const state = convertState\(\s*framework\.status\.state,/);
        assert.strictEqual(snapshot.status.state, "Completed");
        assert.strictEqual(snapshot.status.attemptStatus.id, 0);
        assert.strictEqual(snapshot.status.attemptStatus.taskRoleStatusesCompressed, null);
        assert.strictEqual(snapshot.status.attemptStatus.taskRoleStatuses[0].taskStatuses[0].state, "TaskCompleted");
        assert.strictEqual(rows.framework_history[0].uid, require("crypto").createHash("md5").update("f1+0+retry").digest("hex"), "keyed as fluentd keyed it");
        assert.deepStrictEqual(rows.task_history.map((h: any) => [h.frameworkName, h.taskroleName, h.taskIndex, h.taskAttemptIndex, h.podUid]), [["f1", "worker", 0, 0, "pod-0"]]);
        assert.strictEqual(JSON.parse(rows.task_history[0].snapshot).status.state, "TaskAttemptCompleted", "rest-server's convertToTaskDetail reads status.state and status.attemptStatus");
        assert.ok(log.includes("job-history: framework f1 attempt 0 recorded"), log.join("\n"));
    });

    it("reads the rows rest-server reads (src/rest-server/src/models/v2/job-attempt.js, task.js) and writes the columns of database-controller's SDK", function () {
        const attempts = openPaiFile("src/rest-server/src/models/v2/job-attempt.js");
        if (!attempts) {
            this.skip();
        }
        assert.ok(attempts!.includes("where: { frameworkName: encodedFrameworkName },"));
        assert.ok(openPaiFile("src/rest-server/src/models/v2/task.js")!.includes("{ taskUid: taskUid },"));
        const sdk = openPaiFile("src/database-controller/sdk/index.js")!;
        for (const column of ["frameworkName", "attemptIndex", "historyType", "taskroleName", "taskName", "taskIndex", "taskUid", "taskAttemptIndex", "podUid", "snapshot"]) {
            assert.match(sdk, new RegExp(`\\b${column}:`), column);
            assert.ok(paiFile("job-history.js").includes(`${column}:`), `job-history.js writes ${column}`);
        }
    });
});

describe("policy pack on a kubeadm cluster with storage, alerts and every monitoring service", () => {
    it("passes every object: the new host paths and the certificate check are on the allow list with their reasons", () => {
        const config = parseStackConfig(rawStack({
            layout: layout(2), groups: [{ name: "vision", virtualClusters: ["default"] }],
            storage: [{ name: "team", nfs: { server: "10.0.0.5", path: "/x" }, groups: ["vision"] }],
            alerts: { webhooks: [{ url: "https://hooks.example.com/x" }] }, services: { marketplace: true },
        }));
        const ctx = paiContext(config, hivedForStack(config).config);
        const objects: K8sObject[] = [...Object.values(paiServices).flatMap(s => s.manifests(ctx)), ...kubeRouterManifests()];
        assert.ok(objects.some(o => o.kind === "CronJob"), "the certificate check is declared");
        const tokenOf = (o: K8sObject) => `kubernetes:${o.apiVersion.includes("/") ? o.apiVersion : `core/${o.apiVersion}`}:${o.kind}`;
        const configOf = (policy: any) => Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {}).map(([k, v]: [string, any]) => [k, v.default]));
        for (const policy of policies.filter(p => "validateResource" in p)) {
            for (const object of objects) {
                const violations: string[] = [];
                (policy as any).validateResource({ type: tokenOf(object), props: object, getConfig: () => configOf(policy), notApplicable: () => undefined }, (m: string) => violations.push(m));
                assert.deepStrictEqual(violations, [], `${policy.name} on ${object.kind}/${object.metadata.name}`);
            }
        }
    });
});
