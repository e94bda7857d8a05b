import * as assert from "assert";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { renderSteps } from "../../components/hosts/scripts";
import { Engine, must, PreviewStep, projectEntries, projectRoot, Stack } from "../engine/harness";
import { Lab, LabEnv, LabHost } from "../lab/lab";
import { labHosts, labStackConfig } from "./lab-stack";

const { master, workers, devBox } = labHosts;
const [worker1, worker2] = workers;
const testImage = "docker.io/library/busybox:1.35.0";

/** Waits without an event loop: the tests here run synchronously, as the commands they drive. */
function pauseSeconds(seconds: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

function changed(steps: PreviewStep[]): string[] {
    return steps.filter(s => s.op !== "same" && s.op !== "read").map(s => `${s.op} ${s.urn.split("::").pop()}`).sort();
}

/**
 * kubeadm mode for real (not check-only) on systemd hosts of the local lab: Kubernetes packages
 * through the lab's apt repository (cluster.aptMirror), Debian's through its apt proxy
 * (cluster.aptProxy), every image through its registry (cluster.registryMirrors), as the sudo
 * user `ubuntu`. Each test builds on the cluster the ones before left.
 */
describe("kubeadm mode on real systemd hosts (the local lab)", function () {
    this.timeout(60 * 60 * 1000);
    const lab = new Lab();
    let env: LabEnv;
    let engine: Engine;
    let stack: Stack;
    const timings: Record<string, number> = {};
    const memoryMiB: Record<string, number> = {};
    const outputs: string[] = [];
    const testStarted = Date.now();

    const up = (extra: string[] = []) => {
        const r = stack.run(["up", "--yes", "--skip-preview", ...extra]);
        outputs.push(r.stdout, r.stderr);
        return r;
    };
    const kubectl = (args: string) => lab.ssh(master, `sudo kubectl --kubeconfig /etc/kubernetes/admin.conf ${args}`);
    const readyNodes = () => kubectl("get nodes --no-headers").trim().split("\n")
        .map(line => line.split(/\s+/)).filter(f => f[1] === "Ready").map(f => f[0]).sort();
    const scriptsDir = () => path.join(engine.project, "components", "hosts", "scripts");
    const withWorkers = (list: LabHost[]) => labStackConfig(env, { workers: list });

    before(async () => {
        const started = Date.now();
        env = lab.up();
        await lab.start([master, ...workers, devBox]);
        timings.lab_up_4_hosts = Date.now() - started;
        engine = new Engine({ dir: projectRoot, entries: projectEntries, copies: ["index.ts", "components"] });
        stack = engine.stack("lab", labStackConfig(env), { "openpai:sshPrivateKey": lab.privateKey() });
    });

    after(() => {
        for (const [name, ms] of Object.entries(timings)) {
            process.stdout.write(`${JSON.stringify({ name, value: Math.round(ms / 100) / 10, unit: "s" })}\n`);
        }
        for (const [host, mib] of Object.entries(memoryMiB)) {
            process.stdout.write(`${JSON.stringify({ name: `memory_${host}`, value: mib, unit: "MiB" })}\n`);
        }
        try {
            lab.down();
        } finally {
            engine?.cleanup();
        }
    });

    it("pulumi up gives 3 Ready nodes, the pod network Running, a schedulable master and OpenPAI's labels", () => {
        const r = up();
        timings.first_up = r.ms;
        assert.strictEqual(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.deepStrictEqual(readyNodes(), [master.name, ...workers.map(w => w.name)].sort());
        // A node is Ready once kube-router's init container wrote the CNI config; its main container
        // may still be starting (phase Pending) for a few seconds.
        kubectl("-n kube-system wait --for=condition=Ready pod -l k8s-app=kube-router --timeout=120s");
        const routers = kubectl("-n kube-system get pods -l k8s-app=kube-router -o jsonpath='{range .items[*]}{.spec.nodeName} {.status.phase}{\"\\n\"}{end}'");
        assert.deepStrictEqual(routers.trim().split("\n").sort(), [master.name, ...workers.map(w => w.name)].sort().map(n => `${n} Running`));
        assert.strictEqual(kubectl(`get node ${master.name} -o jsonpath='{.spec.taints}'`).trim(), "", "the master keeps no taint");
        assert.strictEqual(kubectl(`get node ${master.name} -o jsonpath='{.metadata.labels.pai-master}'`).trim(), "true");
        for (const w of workers) {
            assert.strictEqual(kubectl(`get node ${w.name} -o jsonpath='{.metadata.labels.pai-worker}'`).trim(), "true");
            assert.strictEqual(kubectl(`get node ${w.name} -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}'`).trim(), w.address, "kubelet node-ip is the layout's hostip");
        }
        Object.assign(memoryMiB, lab.memory());
    });

    it("pods reach each other across nodes and on the master; CoreDNS resolves a Service", () => {
        const pod = (name: string, node: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${node}}
  containers:
  - {name: c, image: ${testImage}, command: [sh, -c, 'echo hello from ${node} > /tmp/index.html && httpd -f -p 8080 -h /tmp']}
---
`;
        const manifest = pod("net-master", master.name) + pod("net-w1", worker1.name) + pod("net-w2", worker2.name)
            + "apiVersion: v1\nkind: Service\nmetadata: {name: echo}\nspec: {selector: {app: net-w2}, ports: [{port: 80, targetPort: 8080}]}\n";
        lab.ssh(master, `cat > /tmp/net.yaml <<'EOF'\n${manifest}EOF`);
        kubectl("apply -f /tmp/net.yaml");
        kubectl("wait --for=condition=Ready pod/net-master pod/net-w1 pod/net-w2 --timeout=300s");
        assert.strictEqual(kubectl("get pod net-master -o jsonpath='{.spec.nodeName}'").trim(), master.name, "a pod runs on the master");
        const ip = (p: string) => kubectl(`get pod ${p} -o jsonpath='{.status.podIP}'`).trim();
        assert.match(kubectl(`exec net-w1 -- wget -qO- http://${ip("net-w2")}:8080/`), new RegExp(`hello from ${worker2.name}`));
        assert.match(kubectl(`exec net-w1 -- wget -qO- http://${ip("net-master")}:8080/`), new RegExp(`hello from ${master.name}`));
        const clusterIp = kubectl("get service echo -o jsonpath='{.spec.clusterIP}'").trim();
        assert.match(kubectl("exec net-w1 -- nslookup echo.default.svc.cluster.local"), new RegExp(`Name:\\s+echo\\.default\\.svc\\.cluster\\.local\\s+Address: ${clusterIp.replace(/\./g, "\\.")}\\b`),
            "the Service name resolves to its ClusterIP");
        assert.match(kubectl("exec net-master -- wget -qO- http://echo/"), new RegExp(`hello from ${worker2.name}`));
        kubectl("delete -f /tmp/net.yaml --wait=false");
    });

    it("the workers run containerd 1.6 (Debian 12's) and 2.2 (the lab's containerd 2 flavour) side by side; each one's config passes that containerd's own `config dump` check", () => {
        const pause = `registry.k8s.io/pause:${/^PAUSE_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(projectRoot, "lab", "versions"), "utf8"))![1]}`;
        // The check the containerd step runs before it writes the config, here on the file in place.
        const check = `${renderSteps([], false)}\ncontainerd --config /etc/containerd/config.toml config dump | containerd_config_problems ${pause} 0 && echo "config checked"\n`;
        for (const w of workers) {
            const runtime = kubectl(`get node ${w.name} -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}'`).trim();
            assert.match(runtime, w.containerd === 2 ? /^containerd:\/\/2\.2\.\d+$/ : /^containerd:\/\/1\.6\./, `${w.name}'s runtime`);
            const configVersion = lab.ssh(w, "sudo containerd --config /etc/containerd/config.toml config dump | grep '^version = '").trim();
            assert.strictEqual(configVersion, w.containerd === 2 ? "version = 3" : "version = 2", `${w.name}'s config format`);
            lab.ssh(w, `cat > /tmp/openpai-containerd-check.sh <<'OPENPAI_CHECK_EOF'\n${check}OPENPAI_CHECK_EOF`);
            assert.match(lab.ssh(w, "sudo bash /tmp/openpai-containerd-check.sh"), /^config checked$/m, `${w.name}'s /etc/containerd/config.toml`);
        }
    });

    it("the dev box gets kubectl and the kubeconfig: kubectl there lists the 3 nodes Ready", () => {
        const out = lab.ssh(devBox, "kubectl get nodes --no-headers");
        const ready = out.trim().split("\n").map(l => l.split(/\s+/)).filter(f => f[1] === "Ready").map(f => f[0]).sort();
        assert.deepStrictEqual(ready, [master.name, ...workers.map(w => w.name)].sort());
        assert.match(lab.ssh(devBox, "stat -c %a .kube/config"), /^600/);
    });

    it("a second pulumi up changes nothing", () => {
        const r = up(["--expect-no-changes"]);
        timings.no_change_up = r.ms;
        assert.strictEqual(r.code, 0, `${r.stdout}\n${r.stderr}`);
    });

    it("editing one script previews as an update of exactly the resource running it on every host", () => {
        fs.appendFileSync(path.join(scriptsDir(), "kernel.sh"), "log \"kernel step revised\"\n");
        const { result, raw } = stack.preview();
        assert.strictEqual(raw.code, 0, raw.stderr);
        assert.deepStrictEqual(changed(result.steps), [master, ...workers].map(h => `update openpai-hosts-${h.name}-provision`).sort());
        must(up());
    });

    it("a skipped Kubernetes minor or a downgrade is refused by the up's preview before anything runs, naming the way (components/hosts/upgrade-path.ts)", () => {
        const refusals: [string, RegExp][] = [
            ["v1.36.1", /kubeadm upgrades one minor at a time\. Set v1\.35\.x, then v1\.36\.1, with a pulumi up after each/],
            ["v1.33.7", /Kubernetes is never downgraded in place \(kubeadm upgrades only forward\)\. Set it back to v1\.34\.3/],
        ];
        for (const [version, message] of refusals) {
            stack.writeConfig({ "openpai:cluster": { ...(labStackConfig(env)["openpai:cluster"] as object), kubernetesVersion: version } });
            const r = stack.run(["up", "--yes"]);
            outputs.push(r.stdout, r.stderr);
            assert.notStrictEqual(r.code, 0, `${version} is refused`);
            assert.match(r.stdout + r.stderr, message);
            assert.doesNotMatch(r.stdout, /\b(updating|creating|deleting)\b/, `nothing ran for ${version}`);
            assert.doesNotMatch(r.stdout + r.stderr, /\bat .*\.js:\d+/, "no stack trace");
        }
        stack.writeConfig(labStackConfig(env));
        must(up(["--expect-no-changes"]));
        assert.deepStrictEqual(readyNodes(), [master.name, ...workers.map(w => w.name)].sort());
    });

    it("removing a worker drains it, deletes its node and resets the host; adding it back joins it", () => {
        stack.writeConfig(withWorkers([worker1]));
        const removed = up();
        assert.strictEqual(removed.code, 0, `${removed.stdout}\n${removed.stderr}`);
        assert.deepStrictEqual(readyNodes(), [master.name, worker1.name].sort());
        assert.match(lab.ssh(worker2, "test -e /etc/kubernetes/kubelet.conf && echo joined || echo reset"), /^reset/);
        stack.writeConfig(withWorkers(workers));
        const added = up();
        timings.worker_join_up = added.ms;
        assert.strictEqual(added.code, 0, `${added.stdout}\n${added.stderr}`);
        assert.deepStrictEqual(readyNodes(), [master.name, ...workers.map(w => w.name)].sort());
    });

    it("removing a worker whose host is dead completes", () => {
        lab.stop(worker2);
        stack.writeConfig(withWorkers([worker1]));
        const r = up();
        assert.strictEqual(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.ok(!kubectl("get nodes --no-headers").includes(worker2.name));
    });

    it("a host stopped in the middle of an up fails alone; the next up converges", async () => {
        await lab.start([worker2]);
        stack.writeConfig(withWorkers(workers));
        // worker 2 comes back with its disk: its kubelet registers the node again and its steps
        // are created anew. Two resources change on worker 1 (kernel.sh runs in provision,
        // containerd.sh in runtime), which goes down after the first.
        let stopped = false;
        fs.appendFileSync(path.join(scriptsDir(), "kernel.sh"), "log \"kernel step revised again\"\n");
        fs.appendFileSync(path.join(scriptsDir(), "containerd.sh"), "log \"containerd step revised\"\n");
        const failed = await stack.runWatching(["up", "--yes", "--skip-preview", "--continue-on-error"], line => {
            if (!stopped && /openpai-hosts-pai-worker-1-provision updated/.test(line)) {
                stopped = true;
                lab.stop(worker1);
            }
        });
        outputs.push(failed.stdout, failed.stderr);
        assert.ok(stopped, `worker 1's provision never ran:\n${failed.stdout}`);
        assert.notStrictEqual(failed.code, 0, "the run with a host down fails");
        assert.ok(readyNodes().includes(worker2.name), "the other worker joined meanwhile");
        await lab.start([worker1]);
        const converged = up();
        assert.strictEqual(converged.code, 0, `${converged.stdout}\n${converged.stderr}`);
        must(up(["--expect-no-changes"]));
        assert.deepStrictEqual(readyNodes(), [master.name, ...workers.map(w => w.name)].sort());
    });

    it("a host whose SSH host key changed after the first up: the next up stops before sending anything to it, naming it; its new key accepted as the message says", () => {
        // worker 1 "reinstalled": new host keys, sshd restarted (lab.ssh does not check keys), with
        // its log in a file of its own (-E), read here from the host's disk: no login adds to it,
        // and no journald pace decides what a read finds.
        const sshdLog = "/var/log/openpai-host-key-test.log";
        const logDropIn = "/etc/systemd/system/ssh.service.d/openpai-host-key-test.conf";
        lab.ssh(worker1, `sudo rm -f /etc/ssh/ssh_host_* && sudo ssh-keygen -q -A && sudo mkdir -p ${path.dirname(logDropIn)}`
            + ` && printf '[Service]\\nExecStart=\\nExecStart=/usr/sbin/sshd -D -E ${sshdLog}\\n' | sudo tee ${logDropIn} >/dev/null`
            + " && sudo systemctl daemon-reload && sudo systemctl restart ssh");
        const marker = "/tmp/openpai-host-key-test";
        const hasMarker = (host: LabHost) => lab.ssh(host, `test -e ${marker} && echo yes || echo no`).trim() === "yes";
        for (const host of [master, ...workers]) {
            lab.ssh(host, `rm -f ${marker}`);
        }
        // A change on every host: the kernel step, which leaves a marker where it runs.
        fs.appendFileSync(path.join(scriptsDir(), "kernel.sh"), `touch ${marker}\n`);
        const logLines = () => lab.readHostFile(worker1, sshdLog).split("\n");
        const logStart = logLines().length - 1;
        const refused = up(["--continue-on-error"]);
        // What worker 1's sshd logged during the up (sshd writes a line as it happens; a few
        // seconds for the last connection's close to land).
        const preauthClose = /Connection (closed|reset) by \S+ port \d+ \[preauth\]/;
        let sshd = logLines().slice(logStart).join("\n");
        for (let read = 1; read < 10 && !preauthClose.test(sshd); read++) {
            pauseSeconds(1);
            sshd = logLines().slice(logStart).join("\n");
        }
        assert.notStrictEqual(refused.code, 0, "the up with a changed host key fails");
        const output = refused.stdout + refused.stderr;
        assert.match(output, new RegExp(`the SSH host key of ${worker1.address.replace(/\./g, "\\.")}:22 is not the expected one: it offered \\S+ SHA256:\\S+, expected \\S+ SHA256:\\S+ \\(${worker1.name} \\(${worker1.address.replace(/\./g, "\\.")}:22\\): key kept since the first up`));
        // Nothing logged in to worker 1 during that up: its sshd saw connections closed before authentication only.
        assert.match(sshd, preauthClose, `worker 1's sshd log during the up:\n${sshd}`);
        assert.doesNotMatch(sshd, /Accepted |Failed (publickey|password)|Postponed/, `something authenticated on worker 1:\n${sshd}`);
        assert.ok(!hasMarker(worker1), "the changed step ran on the host with the changed key");
        assert.ok(hasMarker(master) && hasMarker(worker2), "the other hosts took the change");

        // The message's way to accept a reinstalled host's key.
        const replace = /pulumi up --replace '(urn:[^']+)'/.exec(output)?.[1];
        assert.ok(replace?.endsWith(`::openpai-hosts-${worker1.name}-hostkey`), `the message names the resource that keeps the key: ${replace}`);
        must(up(["--replace", replace!]));
        assert.ok(hasMarker(worker1), "with its new key accepted the host takes the change");
        must(up(["--expect-no-changes"]));
        assert.deepStrictEqual(readyNodes(), [master.name, ...workers.map(w => w.name)].sort());
        lab.ssh(worker1, `sudo rm -f ${logDropIn} ${sshdLog} && sudo systemctl daemon-reload && sudo systemctl restart ssh`);
    });

    it("a lost marker resets no live node: the master's and a worker's markers deleted, the next up asks the cluster and writes them again; a replaced join leaves before it joins", () => {
        const marker = "/etc/openpai/node-name";
        const clusterIdentity = () => kubectl(`get namespace kube-system -o jsonpath='{.metadata.uid}' && echo && sudo kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.uid} {end}'`);
        const before = clusterIdentity();
        const etcdMember = () => lab.ssh(master, "sudo ls -i /var/lib/etcd/member/snap/db");
        const etcdBefore = etcdMember();
        // A reset deletes the kubelet's client certificate: a worker kept as it was still has it.
        const kubeletCertificate = () => lab.ssh(worker2, "sudo openssl x509 -noout -serial -in /var/lib/kubelet/pki/kubelet-client-current.pem").trim();
        const kubeletBefore = kubeletCertificate();
        lab.ssh(master, `sudo rm ${marker}`);
        lab.ssh(worker2, `sudo rm ${marker}`);
        // The init and join steps run again when their scripts change (a comment is enough).
        for (const script of ["kubeadm-init.sh", "kubeadm-join.sh"]) {
            fs.appendFileSync(path.join(scriptsDir(), script), "# run again\n");
        }
        // The steps' own lines do not reach up's output: what they did shows in the cluster.
        const kept = must(up());
        assert.match(kept.stdout, /~\s+\S+ openpai-hosts-pai-master-kubeadm-init updated/, "the init step ran again");
        for (const host of [master, worker2]) {
            assert.strictEqual(lab.ssh(host, `cat ${marker}`).trim(), host.name, `${host.name}'s marker written again`);
        }
        assert.strictEqual(clusterIdentity(), before, "the same cluster and nodes (kube-system's and every node's uid)");
        assert.strictEqual(etcdMember(), etcdBefore, "etcd's database file is the same file");
        assert.strictEqual(kubeletCertificate(), kubeletBefore, "worker 2's kubelet keeps its client certificate");
        must(up(["--expect-no-changes"]));

        // Replaced, worker 1's join drains and resets it first, then joins it again.
        const urn = JSON.parse(must(stack.run(["stack", "export"])).stdout).deployment.resources
            .map((r: { urn: string }) => r.urn).find((u: string) => u.endsWith(`::openpai-hosts-${worker1.name}-join`));
        assert.ok(urn, "worker 1's join is in the state");
        const nodeUid = (name: string) => kubectl(`get node ${name} -o jsonpath='{.metadata.uid}'`).trim();
        const uidBefore = nodeUid(worker1.name);
        must(up(["--replace", urn]));
        // Deleted, then joined again: a new node object, Ready (the other order would end with it deleted).
        assert.deepStrictEqual(readyNodes(), [master.name, ...workers.map(w => w.name)].sort());
        assert.notStrictEqual(nodeUid(worker1.name), uidBefore, "worker 1 left and joined again");
        assert.strictEqual(lab.ssh(worker1, `cat ${marker}`).trim(), worker1.name);
        must(up(["--expect-no-changes"]));
    });

    it("certificates: their expiry is a stack output; with the renewal threshold over a year the next up renews them and refreshes the kubeconfig, which the API server takes", async () => {
        const stackOutputs = () => JSON.parse(must(stack.run(["stack", "output", "--json", "--show-secrets"])).stdout);
        const before = stackOutputs().certificates;
        const daysLeft = (Date.parse(before.validUntil) - Date.now()) / (24 * 3600 * 1000);
        assert.ok(daysLeft > 364 && daysLeft < 366, `kubeadm's year: ${before.validUntil}`);
        assert.deepStrictEqual([before.renewalDays, before.renewedFor], [30, ""]);

        stack.writeConfig(labStackConfig(env, { cluster: { certificateRenewalDays: 400 } }));
        const apiServerExpiry = () => lab.ssh(master, "sudo openssl x509 -noout -enddate -in /etc/kubernetes/pki/apiserver.crt").trim();
        const apiServerBefore = apiServerExpiry();
        const renewal = must(up());
        assert.doesNotMatch(renewal.stdout, /\d+ replaced/, "the renewal replaced something");
        assert.notStrictEqual(apiServerExpiry(), apiServerBefore, "the API server's certificate was renewed");
        const after = stackOutputs();
        assert.ok(Date.parse(after.certificates.validUntil) > Date.parse(before.validUntil), `new expiry ${after.certificates.validUntil} after ${before.validUntil}`);
        assert.strictEqual(after.certificates.renewedFor, before.validUntil);
        // The kubeconfig output carries the renewed client certificate, and the API server takes it.
        const kubeconfig = yaml.load(after.kubeconfig) as any;
        const user = kubeconfig.users[0].user;
        const certificate = new X509Certificate(Buffer.from(user["client-certificate-data"], "base64"));
        assert.strictEqual(new Date(certificate.validTo).toISOString(), after.certificates.validUntil);
        const status = await new Promise<number>((resolve, reject) => https.get(`${kubeconfig.clusters[0].cluster.server}/api/v1/nodes`, {
            ca: Buffer.from(kubeconfig.clusters[0].cluster["certificate-authority-data"], "base64"),
            cert: Buffer.from(user["client-certificate-data"], "base64"), key: Buffer.from(user["client-key-data"], "base64"),
        }, res => { res.resume(); resolve(res.statusCode ?? 0); }).on("error", reject));
        assert.strictEqual(status, 200, "the renewed kubeconfig lists the nodes");
        assert.deepStrictEqual(readyNodes(), [master.name, ...workers.map(w => w.name)].sort());

        // Back to 30 days: nothing is due, and the renewal's setting stays as it was.
        stack.writeConfig(labStackConfig(env));
        must(up(["--expect-no-changes"]));
    });

    it("a reboot the program schedules (cluster.workerRebootRevision): each worker drained before it, one at a time, uncordoned once its new boot answers; the next up changes nothing", async () => {
        // The lab reboots a host as a machine's firmware would: systemd-nspawn exits 133 on the
        // host's `systemctl reboot` and lab.sh starts it again, writing "=== reboot" to its console log.
        const reboots = (host: LabHost) => (fs.readFileSync(path.join(env.hostsDir, host.name, "console.log"), "utf8").match(/^=== reboot /gm) ?? []).length;
        const rebootsBefore = workers.map(reboots);
        // A bare pod on each worker: only a drain removes it (--force), and nothing brings it back.
        for (const w of workers) {
            kubectl(`run reboot-probe-${w.name} --image=${testImage} --restart=Never --overrides='{"spec":{"nodeName":"${w.name}","terminationGracePeriodSeconds":1}}' -- sleep 3600`);
        }
        for (const w of workers) {
            kubectl(`wait --for=condition=Ready pod/reboot-probe-${w.name} --timeout=180s`);
        }
        interface Sample { at: number; cordoned: string[]; probes: string[]; reboots: number[] }
        const samples: Sample[] = [];
        const sample = () => {
            const nodes = JSON.parse(kubectl("get nodes -o json")).items as any[];
            const pods = JSON.parse(kubectl("get pods -o json")).items as any[];
            samples.push({ at: Date.now(), cordoned: nodes.filter(n => n.spec.unschedulable).map(n => n.metadata.name).sort(),
                probes: pods.map(p => p.metadata.name).filter((n: string) => n.startsWith("reboot-probe-")), reboots: workers.map(reboots) });
        };
        stack.writeConfig(labStackConfig(env, { cluster: { workerRebootRevision: "r1" } }));
        const started = Date.now();
        const sampler = setInterval(sample, 2000);
        let run;
        try {
            run = await stack.runWatching(["up", "--yes", "--skip-preview"], () => undefined);
        } finally {
            clearInterval(sampler);
        }
        outputs.push(run.stdout, run.stderr);
        assert.strictEqual(run.code, 0, `${run.stdout}\n${run.stderr}`);
        timings.reboot_two_workers_up = Date.now() - started;
        sample();
        assert.deepStrictEqual(workers.map(reboots), rebootsBefore.map(n => n + 1), "each worker rebooted once");
        const rebootedAt = workers.map((_, i) => samples.findIndex(x => x.reboots[i] > rebootsBefore[i]));
        workers.forEach((w, i) => {
            const drainedAt = samples.findIndex(x => x.cordoned.includes(w.name));
            const goneAt = samples.findIndex(x => !x.probes.includes(`reboot-probe-${w.name}`));
            assert.ok(drainedAt >= 0 && drainedAt < rebootedAt[i], `${w.name} cordoned (sample ${drainedAt}) before its reboot (sample ${rebootedAt[i]})`);
            assert.ok(goneAt >= 0 && goneAt <= rebootedAt[i], `${w.name}'s pod evicted (sample ${goneAt}) by its reboot (sample ${rebootedAt[i]})`);
            assert.ok(samples.slice(rebootedAt[i]).some(x => !x.cordoned.includes(w.name)), `${w.name} uncordoned after its reboot`);
            process.stdout.write(`      ${w.name}: cordoned at ${Math.round((samples[drainedAt].at - started) / 1000)} s, rebooted by ${Math.round((samples[rebootedAt[i]].at - started) / 1000)} s\n`);
        });
        assert.ok(samples.every(x => x.cordoned.filter(n => n !== master.name).length <= 1), "one worker drained at a time (rebootBatchSize 1)");
        assert.deepStrictEqual(samples[samples.length - 1].cordoned, [], "every node schedulable again");
        assert.deepStrictEqual(readyNodes(), [master.name, ...workers.map(w => w.name)].sort());
        assert.strictEqual(lab.ssh(master, "sudo ls -A /var/lib/openpai/reboots").trim(), "", "no reboot slot left held");
        for (const w of workers) {
            assert.strictEqual(lab.ssh(w, "sudo cat /var/lib/openpai/reboot-revision").trim(), "r1");
        }
        must(up(["--expect-no-changes"]));
        assert.deepStrictEqual(workers.map(reboots), rebootsBefore.map(n => n + 1), "and reboots nothing");
    });

    it("no join token left on the master; no token, certificate key, private key or kubeconfig in plain text in the state or the output", () => {
        const exported = must(stack.run(["stack", "export"])).stdout;
        const revealed = must(stack.run(["stack", "export", "--show-secrets"])).stdout;
        // Every join deleted its token once done, and init's own was deleted after init.
        const tokens = lab.ssh(master, "sudo kubeadm token list --kubeconfig /etc/kubernetes/admin.conf");
        assert.doesNotMatch(tokens, /openpai-pulumi|default bootstrap token/, `tokens left on the master:\n${tokens}`);
        assert.match(kubectl("-n kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token -o name"), /^\s*$/, "no bootstrap token Secret at all");
        // Nothing shaped like a bootstrap token in the state (even as a secret) or an up's output,
        // but the check-only step's placeholder in the join script's text.
        const tokenShaped = [...`${revealed}\n${outputs.join("\n")}`.matchAll(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g)].map(m => m[0]).filter(t => t !== "abcdef.0123456789abcdef");
        assert.deepStrictEqual(tokenShaped, [], "a join token is in the state");
        // A stretch from the middle of the key: its start is the same in every PEM key.
        const kubeconfigKey = /client-key-data: \S{100}(\S{40})/.exec(revealed)?.[1];
        assert.ok(kubeconfigKey, "the kubeconfig reaches the program");
        const privateKeyLine = lab.privateKey().split("\n").find(l => l.length > 40)!;
        const text = exported + outputs.join("\n");
        for (const [what, secret] of [["the kubeconfig's client key", kubeconfigKey!], ["the SSH private key", privateKeyLine]] as const) {
            assert.ok(!text.includes(secret), `${what} is in plain text in the state or an up's output`);
        }
        // The init passes --skip-certificate-key-print; what must never show is a key itself, and
        // without --upload-certs kubeadm stores no control-plane certificates in the cluster.
        assert.doesNotMatch(text, /Using certificate key|--certificate-key\s+[0-9a-f]{64}/);
        assert.match(kubectl("-n kube-system get secret kubeadm-certs --ignore-not-found -o name"), /^\s*$/, "no uploaded control-plane certificates");
        assert.match(lab.ssh(worker1, "sudo ls /etc/openpai"), /^node-name\s*$/, "the join config with its token was removed");
        // pulumi-kubernetes's copies of the kubeconfig went to the test's own TMPDIR, none to the machine's.
        const kubeconfigCopies = (dir: string) => fs.readdirSync(dir).filter(f => /^kubeconfig\d+$/.test(f) && fs.statSync(path.join(dir, f)).mtimeMs >= testStarted);
        assert.ok(kubeconfigCopies(path.join(engine.dir, "tmp")).length > 0, "the provider wrote its kubeconfig to TMPDIR");
        assert.deepStrictEqual(kubeconfigCopies(os.tmpdir()), [], "a kubeconfig copy outside the test's folder");
    });

    it("pulumi destroy drains the workers and resets every host", () => {
        const r = stack.run(["destroy", "--yes", "--skip-preview"]);
        if (r.code !== 0) {
            // What held it up, from the master, before the after hook tears the lab down.
            const held = lab.ssh(master, "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes,pods -A -o wide 2>&1; "
                + "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system logs --tail=40 -l component=kube-controller-manager 2>&1 || true");
            assert.fail(`pulumi destroy failed:\n${r.stdout}\n${r.stderr}\nthe cluster then:\n${held}`);
        }
        timings.destroy = r.ms;
        for (const host of [master, ...workers]) {
            assert.match(lab.ssh(host, "test -e /etc/kubernetes/kubelet.conf && echo joined || echo reset"), /^reset/, `${host.name} reset`);
        }
    });
});
