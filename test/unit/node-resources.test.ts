import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { clusterWorkerPods, parseStackConfig } from "../../config";
import { kubeconfigConnection, quantity, readWorkerResources } from "../../components/kubernetes/node-resources";
import { kubeRouterManifests } from "../../components/kubernetes/kube-router";
import { layout, rawStack } from "./helpers";

/** A kubeconfig for `server` whose user is `user`. */
function kubeconfig(server: string, user: Record<string, unknown>): string {
    return yaml.dump({
        apiVersion: "v1", kind: "Config", "current-context": "c",
        contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
        clusters: [{ name: "k", cluster: { server, "certificate-authority-data": Buffer.from("CA PEM").toString("base64") } }],
        users: [{ name: "u", user }],
    });
}

const mi = (n: number) => `${n * 1024}Ki`;

/** What the fake API server lists: two GPU workers, their DaemonSet pods, PAI's, a job's, a static pod. */
const apiObjects = {
    nodes: { items: [
        { metadata: { name: "pai-worker-0" }, status: { allocatable: { cpu: "64", memory: mi(515072 - 100) } } },
        { metadata: { name: "pai-worker-1" }, status: { allocatable: { cpu: "63500m", memory: mi(515000) } } },
        { metadata: { name: "pai-master" }, status: { allocatable: { cpu: "16", memory: "64Gi" } } },
    ] },
    pods: [
        // The CNI: its init container asks less than the container, so the container counts.
        { metadata: { name: "kube-router-a", namespace: "kube-system", ownerReferences: [{ kind: "DaemonSet" }] },
            spec: { nodeName: "pai-worker-0", containers: [{ resources: { requests: { cpu: "250m", memory: "250Mi" } } }],
                initContainers: [{ resources: { requests: { cpu: "10m", memory: "16Mi" } } }] } },
        { metadata: { name: "kube-router-b", namespace: "kube-system", ownerReferences: [{ kind: "DaemonSet" }] },
            spec: { nodeName: "pai-worker-1", containers: [{ resources: { requests: { cpu: "250m", memory: "250Mi" } } }] } },
        // A static pod (kubelet's mirror) with an overhead.
        { metadata: { name: "agent-pai-worker-1", namespace: "kube-system", annotations: { "kubernetes.io/config.mirror": "x" } },
            spec: { nodeName: "pai-worker-1", containers: [{ resources: { requests: { cpu: "0.1", memory: "100M" } } }], overhead: { memory: "10Mi" } } },
        // PAI's own daemons are counted from config/daemons.ts, not here; a job's pod does not stay.
        { metadata: { name: "node-exporter-x", namespace: "default", labels: { "app.kubernetes.io/part-of": "openpai" }, ownerReferences: [{ kind: "DaemonSet" }] },
            spec: { nodeName: "pai-worker-0", containers: [{ resources: { requests: { cpu: "100m", memory: "128Mi" } } }] } },
        { metadata: { name: "job-0", namespace: "default", ownerReferences: [{ kind: "Framework" }] },
            spec: { nodeName: "pai-worker-0", containers: [{ resources: { requests: { cpu: "56", memory: "500Gi" } } }] } },
    ],
};

/** A fake Kubernetes API in a child process (the reader waits synchronously): the two lists, for the right token only, pods in pages of 2. */
function fakeApi(): Promise<{ url: string; child: ChildProcess }> {
    const script = `
        const objects = ${JSON.stringify(apiObjects)};
        require("http").createServer((req, res) => {
            if (req.headers.authorization !== "Bearer secret-token") { res.writeHead(401); return res.end("Unauthorized"); }
            const url = new URL(req.url, "http://x");
            if (url.pathname === "/api/v1/nodes") { return res.end(JSON.stringify(objects.nodes)); }
            if (url.pathname === "/api/v1/pods" && url.searchParams.get("fieldSelector") === "status.phase!=Succeeded,status.phase!=Failed") {
                const from = Number(url.searchParams.get("continue") || 0);
                const more = from + 2 < objects.pods.length;
                return res.end(JSON.stringify({ items: objects.pods.slice(from, from + 2), metadata: more ? { continue: String(from + 2) } : {} }));
            }
            res.writeHead(404); res.end();
        }).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    return new Promise(resolve => child.stdout!.once("data", (port: Buffer) => resolve({ url: `http://127.0.0.1:${port.toString().trim()}`, child })));
}

function stack() {
    return parseStackConfig(rawStack({ layout: layout(3), cluster: { mode: "existing", kubeconfigPath: "kubeconfig" } }));
}

describe("existing mode: the workers' resources read from the cluster", () => {
    let api: { url: string; child: ChildProcess };
    before(async () => {
        api = await fakeApi();
    });
    after(() => api.child.kill());

    it("takes per SKU the least node's allocatable minus the DaemonSet and static pods that are not PAI's, and names the nodes not there yet", () => {
        const read = readWorkerResources(stack(), kubeconfig(api.url, { token: "secret-token" }));
        // pai-worker-0: 515072 - 100 - 250 = 514722 Mi; pai-worker-1: 515000 - 250 - ceil(100 MB = 95.37 Mi) - 10 = 514644 Mi.
        // CPU: 64 - 0.25 and 63.5 - 0.25 - 0.1.
        assert.deepStrictEqual(read.measured, new Map([["gpu-machine", { cpu: 63.15, memoryMi: 514644 }]]));
        assert.match(read.notes[0], /SKU gpu-machine: cells sized from node pai-worker-1: allocatable 515000Mi and 63.5 CPUs, less 2 other pod\(s\) \(356Mi, 0.35 CPU: kube-system\/kube-router-b, kube-system\/agent-pai-worker-1\)/);
        assert.deepStrictEqual(read.warnings, ["node(s) pai-worker-2 of SKU gpu-machine are not in the cluster yet: its cells are sized from pai-worker-0, pai-worker-1; check again after they join"]);
    });

    it("says why, and estimates from the layout, when the cluster cannot be read", () => {
        const denied = readWorkerResources(stack(), kubeconfig(api.url, { token: "wrong" }));
        assert.deepStrictEqual(denied.measured, new Map());
        assert.match(denied.warnings[0], /cannot read the workers' allocatable resources from the cluster \(GET \/api\/v1\/nodes: HTTP 401 Unauthorized\): the cells of every SKU are sized from the layout instead/);
        const closed = readWorkerResources(stack(), kubeconfig("http://127.0.0.1:9", { token: "t" }), 2000);
        assert.match(closed.warnings[0], /cannot read .* \(connect ECONNREFUSED 127.0.0.1:9\)/);
        assert.match(readWorkerResources(stack(), undefined).warnings[0], /\(no kubeconfig to read it with\)/);
    });

    it("reads a kubeconfig's current context: CA and client certificate data, token files relative to it, basic login, exec plugins", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-kubeconfig-"));
        try {
            fs.writeFileSync(path.join(dir, "token"), "file-token\n");
            const b64 = (s: string) => Buffer.from(s).toString("base64");
            assert.deepStrictEqual(kubeconfigConnection(kubeconfig("https://api:6443/", { "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") })),
                { server: "https://api:6443", ca: "CA PEM", insecure: false, servername: undefined, cert: "CERT", key: "KEY", token: undefined, basic: undefined });
            assert.strictEqual(kubeconfigConnection(kubeconfig("https://api", { tokenFile: "token" }), dir).token, "file-token");
            assert.strictEqual(kubeconfigConnection(kubeconfig("https://api", { username: "u", password: "p" })).basic, b64("u:p"));
            const exec = { command: process.execPath, args: ["-e", "console.log(JSON.stringify({status: {token: JSON.parse(process.env.KUBERNETES_EXEC_INFO).kind + '-' + process.env.EXTRA}}))"],
                env: [{ name: "EXTRA", value: "x" }], apiVersion: "client.authentication.k8s.io/v1" };
            assert.strictEqual(kubeconfigConnection(kubeconfig("https://api", { exec })).token, "ExecCredential-x");
            assert.throws(() => kubeconfigConnection(kubeconfig("https://api", { "auth-provider": { name: "gcp" } })), /auth-provider 'gcp', which this program cannot use/);
            assert.throws(() => kubeconfigConnection("apiVersion: v1\ncurrent-context: nope\n"), /the kubeconfig has no context 'nope'/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("parses Kubernetes quantities as the API writes them", () => {
        assert.strictEqual(quantity("250m"), 0.25);
        assert.strictEqual(quantity("63500m"), 63.5);
        assert.strictEqual(quantity("527952356Ki"), 527952356 * 1024);
        assert.strictEqual(quantity("1.5Gi"), 1.5 * 2 ** 30);
        assert.strictEqual(quantity("129e6"), 129e6);
        assert.strictEqual(quantity("100M"), 1e8);
        assert.throws(() => quantity("12 apples"), /not a Kubernetes quantity/);
    });

    it("kubeadm mode's worker pods are what this project installs: kube-router's request (components/kubernetes/kube-router.ts)", () => {
        const daemonSet = kubeRouterManifests().find(o => o.kind === "DaemonSet") as any;
        const requests = daemonSet.spec.template.spec.containers[0].resources.requests;
        assert.deepStrictEqual({ cpu: quantity(requests.cpu), memoryMi: quantity(requests.memory) / 2 ** 20 }, clusterWorkerPods.kubeRouter);
        const init = daemonSet.spec.template.spec.initContainers[0].resources.requests;
        assert.ok(quantity(init.memory) / 2 ** 20 <= clusterWorkerPods.kubeRouter.memoryMi, "the init container asks less: the container's request is the pod's");
    });
});
