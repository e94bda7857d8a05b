import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { hivedForStack, parseStackConfig, RawConfigValue } from "../../config";
import { paiContext } from "../../components/pai/context";
import { paiLabel, paiLabelValue } from "../../components/pai/objects";
import { paiServices } from "../../components/pai/service";
import { hivedConfigHashAnnotation } from "../../components/pai/manifests/hivedscheduler";
import { Engine, must, PreviewStep, projectRoot, quickstartConfig, Stack } from "../engine/harness";
import { kubeBinaries, LocalCluster } from "./local-cluster";

/** The quick-start stack's config, pointed at this test's cluster. */
function localConfig(kubeconfig: string): Record<string, any> {
    const config = quickstartConfig();
    config["openpai:cluster"].kubeconfigPath = kubeconfig;
    return config;
}

/** The objects the program should have created, from the same pure builders. */
function expectedObjects(config: Record<string, any>) {
    const raw: Record<string, RawConfigValue> = {};
    for (const [k, v] of Object.entries(config)) {
        raw[k.replace("openpai:", "")] = { value: v, secret: false };
    }
    const stack = parseStackConfig(raw);
    const ctx = paiContext(stack, hivedForStack(stack).config);
    return Object.values(paiServices).flatMap(s => s.manifests(ctx));
}

function changedSteps(steps: PreviewStep[]): string[] {
    return steps.filter(s => s.op !== "same").map(s => `${s.op} ${s.urn.split("::").pop()}`).sort();
}

describe("PAI on a local simulated GPU cluster (real API server, pulumi up)", function () {
    this.timeout(30 * 60 * 1000);
    let engine: Engine;
    let cluster: LocalCluster;
    let stack: Stack;
    let config: Record<string, any>;
    const timings: Record<string, number> = {};

    before(() => {
        engine = new Engine();
        cluster = new LocalCluster(path.join(engine.dir, "cluster"), 26443, 22379);
        const bootstrap = path.join(engine.dir, "Pulumi.bootstrap.yaml");
        fs.copyFileSync(path.join(projectRoot, "scripts", "quickstart-simulated.stack.yaml"), bootstrap);
        cluster.up(bootstrap);
        config = localConfig(cluster.kubeconfig);
        stack = engine.stack("cluster", config);
    });

    after(() => {
        for (const [name, ms] of Object.entries(timings)) {
            process.stdout.write(`${JSON.stringify({ name, value: ms / 1000, unit: "s" })}\n`);
        }
        try {
            cluster?.down();
        } finally {
            engine?.cleanup();
        }
    });

    it("pulumi up succeeds", () => {
        const r = must(stack.run(["up", "--yes", "--skip-preview"]));
        timings.cluster_up_dev_stack = r.ms;
    });

    it("created every expected object (checked with kubectl)", () => {
        const missing: string[] = [];
        for (const object of expectedObjects(config)) {
            const ns = object.metadata.namespace ? ["-n", object.metadata.namespace] : [];
            const kind = object.kind === "CustomResourceDefinition" ? "crd" : object.kind.toLowerCase();
            try {
                cluster.kubectl(["get", kind, object.metadata.name, ...ns, "-o", "name"]);
            } catch {
                missing.push(`${object.kind}/${object.metadata.name}`);
            }
        }
        assert.deepStrictEqual(missing, []);
        for (const secret of ["pai-secret", "job-ssh-secret", "pai-database", "rest-server-secrets"]) {
            cluster.kubectl(["get", "secret", secret, "-o", "name"]);
        }
        const pods = cluster.json(["get", "pods", "-A", "-l", `${paiLabel}=${paiLabelValue}`]).items;
        assert.ok(pods.length > 10, `${pods.length} PAI pods`);
        const notRunning = pods.filter((p: any) => p.status.phase !== "Running").map((p: any) => p.metadata.name);
        assert.deepStrictEqual(notRunning, []);
        const labels = cluster.json(["get", "node", "pai-worker-0"]).metadata.labels;
        assert.strictEqual(labels["pai-worker"], "true");
    });

    it("a second pulumi up changes nothing", () => {
        const r = must(stack.run(["up", "--yes", "--skip-preview", "--expect-no-changes"]));
        timings.cluster_up_no_change = r.ms;
    });

    it("a VC quota edit previews as the hived ConfigMap and the roll of the two that read it at start (HiveD, rest-server) only, and applies", () => {
        config["openpai:virtualClusters"] = { default: { "gpu-machine": 2 }, vc1: { "gpu-machine": 0 } };
        stack.writeConfig(config);
        const { result, raw } = stack.preview();
        assert.strictEqual(raw.code, 0, raw.stderr);
        assert.deepStrictEqual(changedSteps(result.steps), [
            "update openpai-pai-hived-scheduler-default-configmap-hivedscheduler-config",
            "update openpai-pai-hived-scheduler-default-statefulset-hivedscheduler-hs",
            "update openpai-pai-rest-server-default-daemonset-rest-server",
        ]);
        const before = cluster.json(["get", "statefulset", "hivedscheduler-hs"]).spec.template.metadata.annotations[hivedConfigHashAnnotation];
        const r = must(stack.run(["up", "--yes", "--skip-preview"]));
        timings.cluster_up_vc_change = r.ms;
        const after = cluster.json(["get", "statefulset", "hivedscheduler-hs"]).spec.template.metadata.annotations[hivedConfigHashAnnotation];
        assert.notStrictEqual(after, before);
        const hived = yaml.load(cluster.json(["get", "configmap", "hivedscheduler-config"]).data["hivedscheduler.yaml"]) as any;
        assert.deepStrictEqual(hived.virtualClusters.default.virtualCells[0].cellNumber, 2);
    });

    it("adding a worker labels its node and changes the hived config", () => {
        cluster.kubectl(["apply", "-f", "-"], yaml.dump({
            apiVersion: "v1", kind: "Node",
            metadata: { name: "pai-worker-2", annotations: { "kwok.x-k8s.io/node": "fake" }, labels: { type: "kwok" } },
            status: { capacity: { cpu: "64", memory: "512Gi", pods: "110", "nvidia.com/gpu": "8" }, allocatable: { cpu: "64", memory: "512Gi", pods: "110", "nvidia.com/gpu": "8" } },
        }));
        config["openpai:layout"]["machine-list"].push({ hostname: "pai-worker-2", hostip: "127.0.1.3", "machine-type": "gpu-machine", "pai-worker": true });
        stack.writeConfig(config);
        must(stack.run(["up", "--yes", "--skip-preview"]));
        assert.strictEqual(cluster.json(["get", "node", "pai-worker-2"]).metadata.labels["pai-worker"], "true");
        const hived = cluster.json(["get", "configmap", "hivedscheduler-config"]).data["hivedscheduler.yaml"];
        assert.match(hived, /cellAddress: pai-worker-2/);
    });

    it("the per-VC scheduler config is accepted by the real kube-scheduler", async () => {
        const data = cluster.json(["get", "configmap", "hivedscheduler-ds-default-config"]).data["scheduler.yaml"];
        const accepted = await runScheduler(data, cluster.kubeconfig, engine.dir);
        assert.ok(accepted.running, `kube-scheduler refused the generated config:\n${accepted.log}`);
        const broken = await runScheduler(data.replace("filterVerb", "filterVerbz"), cluster.kubeconfig, engine.dir);
        assert.ok(!broken.running, "a config with an unknown field must be refused (the check can fail)");
    });

    it("no secret appears in plaintext in the state or the output", () => {
        const password = must(stack.run(["stack", "output", "adminPassword", "--show-secrets"])).stdout.trim();
        assert.ok(password.length >= 16);
        const exported = must(stack.run(["stack", "export"])).stdout;
        const state = fs.readdirSync(path.join(engine.dir, "state"), { recursive: true }).map(String)
            .filter(f => f.endsWith(".json")).map(f => fs.readFileSync(path.join(engine.dir, "state", f), "utf8")).join("\n");
        const outputs = must(stack.run(["stack", "output", "--json"])).stdout;
        for (const [where, text] of Object.entries({ exported, state, outputs })) {
            assert.ok(!text.includes(password), `admin password in plaintext in ${where}`);
        }
        const dbPassword = Buffer.from(cluster.json(["get", "secret", "pai-database"]).data.password, "base64").toString();
        assert.ok(!state.includes(dbPassword), "database password in plaintext in the state");
    });

    it("pulumi destroy leaves no PAI object behind", () => {
        must(stack.run(["destroy", "--yes", "--skip-preview"]));
        const left = cluster.kubectl(["get", "all,configmap,secret,serviceaccount,clusterrole,clusterrolebinding,priorityclass,namespace", "-A",
            "-l", `${paiLabel}=${paiLabelValue}`, "-o", "name"]).trim();
        assert.strictEqual(left, "");
        assert.throws(() => cluster.kubectl(["get", "crd", "frameworks.frameworkcontroller.microsoft.com"]));
        // pai-worker-2 was added without labels: the one Pulumi set must be gone again.
        assert.strictEqual(cluster.json(["get", "node", "pai-worker-2"]).metadata.labels["pai-worker"], undefined);
    });
});

/** Starts kube-scheduler on a config for a few seconds: running means the config was accepted. */
async function runScheduler(configYaml: string, kubeconfig: string, dir: string): Promise<{ running: boolean; log: string }> {
    const config = yaml.load(configYaml) as any;
    config.clientConnection = { kubeconfig };
    const file = path.join(dir, `scheduler-${Date.now()}.yaml`);
    fs.writeFileSync(file, yaml.dump(config));
    const child = spawn(path.join(kubeBinaries(), "kube-scheduler"), [`--config=${file}`, "--secure-port=0"], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", d => (log += d));
    child.stderr.on("data", d => (log += d));
    const exited = await new Promise<boolean>(resolve => {
        const timer = setTimeout(() => resolve(false), 6000);
        child.on("exit", () => {
            clearTimeout(timer);
            resolve(true);
        });
    });
    if (!exited) {
        child.kill("SIGKILL");
    }
    return { running: !exited, log };
}
