import * as assert from "assert";
import { configWithWorkers, countByType, devConfig, Engine, must, testPrivateKey } from "./harness";

describe("pulumi preview through the real engine", function () {
    this.timeout(20 * 60 * 1000);
    let engine: Engine;
    let key: string;

    before(() => {
        engine = new Engine();
        key = testPrivateKey(engine.dir);
    });
    after(() => engine?.cleanup());

    it("previews the dev stack: expected resources, secrets as secrets, no errors or plugin warnings", () => {
        const stack = engine.stack("dev", devConfig(), { "openpai:sshPrivateKey": key });
        const { result, raw } = stack.preview();
        assert.strictEqual(raw.code, 0, raw.stderr);
        const counts = countByType(result.steps);
        assert.strictEqual(counts["pulumi:pulumi:Stack"], 1);
        assert.strictEqual(counts["openpai:index:Cluster"], 1);
        // Hosts: a master (provision, runtime, upgrade, kubeadm-init, kubeconfig, node; a reset run
        // from here on removal) and two GPU workers (provision and runtime over SSH; their reboots,
        // upgrades and joins run from here, to the worker and the master); per host its SSH host
        // key, read once from here (the stack gives none).
        assert.strictEqual(counts["openpai:hosts:MasterHost"], 1);
        assert.strictEqual(counts["openpai:hosts:WorkerHost"], 2);
        assert.strictEqual(counts["command:remote:Command"], 10);
        const hostKeys = result.steps.filter(s => s.newState?.type === "command:local:Command" && s.urn.endsWith("-hostkey")).length;
        assert.strictEqual(hostKeys, 3);
        // The workers' reboots, upgrades and joins, the master's reset, and the portal's CA and
        // certificate (made with openssl here).
        assert.strictEqual(counts["command:local:Command"] - hostKeys, 9);
        assert.strictEqual(counts["openpai:pai:PortalCertificate"], 1);
        assert.strictEqual(counts["openpai:kubernetes:PodNetwork"], 1);
        // Kubernetes and PAI: the provider on the new cluster's kubeconfig, then every service.
        assert.strictEqual(counts["pulumi:providers:kubernetes"], 1);
        assert.strictEqual(counts["openpai:pai:HivedScheduler"], 1);
        assert.strictEqual(counts["kubernetes:apps/v1:Deployment"] > 0 && counts["kubernetes:apps/v1:DaemonSet"] > 0, true);
        // Admin, database, JWT, job SSH seed, log-manager login and JWT, marketplace database, Grafana admin.
        assert.strictEqual(counts["random:index/randomPassword:RandomPassword"], 8);
        // Everything is new, but the one read: the stack's own last outputs (whether the cluster's
        // certificates are due for renewal).
        const reads = result.steps.filter(s => s.op === "read");
        assert.deepStrictEqual(reads.map(s => s.urn.split("::").pop()), ["openpai-hosts-last-up"]);
        assert.ok(result.steps.every(s => s.op === "create" || s.op === "read"));
        assert.strictEqual(result.config["openpai:sshPrivateKey"], "[secret]");
        assert.ok(!raw.stdout.includes("BEGIN OPENSSH PRIVATE KEY") && !raw.stderr.includes("BEGIN OPENSSH PRIVATE KEY"), "the key leaked");
        const errors = (result.diagnostics ?? []).filter(d => d.severity === "error");
        assert.deepStrictEqual(errors, []);
        assert.doesNotMatch(raw.stderr, /missing|could not find|no resource plugin/i);
        assert.doesNotMatch(raw.stdout + raw.stderr, /warning: using pulumi-\S+ from \$PATH/, "plugins come from the plugin cache, quietly");
    });

    it("refuses bad config with the field path, no stack trace, and nothing planned", () => {
        const config = devConfig();
        const layout = config["openpai:layout"] as { "machine-list": { hostip: string }[] };
        layout["machine-list"][2].hostip = "10.10.0.300";
        const stack = engine.stack("bad", config, { "openpai:sshPrivateKey": key });
        const r = stack.run(["preview"]);
        assert.notStrictEqual(r.code, 0);
        const output = r.stdout + r.stderr;
        assert.match(output, /layout\.machine-list\[2\]\.hostip: must be an IPv4 address/);
        assert.doesNotMatch(output, /\n\s+at .+\.(js|ts):\d+:\d+/);
    });

    for (const workers of [10, 100]) {
        it(`previews a generated stack with ${workers} workers`, () => {
            const stack = engine.stack(`w${workers}`, configWithWorkers(workers), { "openpai:sshPrivateKey": key });
            const { result, raw } = stack.preview();
            assert.strictEqual(raw.code, 0, raw.stderr);
            assert.strictEqual(countByType(result.steps)["openpai:hosts:WorkerHost"], workers);
            // The joins in cluster.joinBatchSize chains (5 by default): worker i's after worker i - 5's.
            const joinUrn = (i: number) => result.steps.find(s => s.urn.endsWith(`::openpai-hosts-pai-worker-${i}-join`))!.urn;
            for (let i = 0; i < workers; i++) {
                const step = result.steps.find(s => s.urn === joinUrn(i))!;
                const waitsFor = (step.newState?.dependencies ?? []).filter(d => d.endsWith("-join"));
                assert.deepStrictEqual(waitsFor, i >= 5 ? [joinUrn(i - 5)] : [], `worker ${i}'s join`);
            }
            must(raw);
        });
    }
});
