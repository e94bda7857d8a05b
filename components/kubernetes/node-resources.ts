import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { configNamespace, NodeResources, StackConfig, workersOf } from "../../config";

/**
 * What the workers of an existing cluster offer to PAI's daemons and jobs, read from the cluster
 * when the program runs (existing mode): per SKU, the least over its nodes of their allocatable
 * CPU and memory minus the requests of the other pods that stay on them (DaemonSet and static
 * pods that are not PAI's: the CNI, kube-proxy, monitoring agents). Upstream's generator did the
 * same at install time (contrib/kubespray/script/openpai_generator.py at v1.8.0); job pods are
 * not counted, so running jobs do not change the cells.
 */
export interface WorkerResources {
    /** SKU name -> what its smallest node offers; SKUs whose nodes could not be read are absent. */
    measured: Map<string, NodeResources>;
    /** What was read, one line per SKU. */
    notes: string[];
    /** Why some or all SKUs are estimated from the layout instead. */
    warnings: string[];
}

/** A kubeconfig's current context, as the child process that reads the cluster needs it. */
export interface ApiConnection {
    server: string;
    ca?: string;
    cert?: string;
    key?: string;
    token?: string;
    basic?: string;
    insecure: boolean;
    servername?: string;
}

/** The request of one pod, as the API returns its containers. */
interface PodRequests {
    node: string;
    name: string;
    containers: { cpu?: string; memory?: string }[];
    initContainers: { cpu?: string; memory?: string }[];
    overhead?: { cpu?: string; memory?: string };
}

interface ClusterNodes {
    nodes: { name: string; cpu: string; memory: string }[];
    pods: PodRequests[];
}

/** The parts of a kubeconfig this reads. */
interface Kubeconfig {
    "current-context"?: string;
    contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
    clusters?: { name: string; cluster?: KubeconfigCluster }[];
    users?: { name: string; user?: KubeconfigUser }[];
}

interface KubeconfigCluster {
    server?: unknown;
    "certificate-authority-data"?: string;
    "certificate-authority"?: string;
    "insecure-skip-tls-verify"?: boolean;
    "tls-server-name"?: string;
}

interface KubeconfigUser {
    "client-certificate-data"?: string;
    "client-key-data"?: string;
    "client-certificate"?: string;
    "client-key"?: string;
    token?: string;
    tokenFile?: string;
    username?: string;
    password?: string;
    exec?: { command: string; args?: string[]; env?: { name: string; value: string }[]; apiVersion?: string };
    "auth-provider"?: { name: string };
}

/** The parts of Node and Pod objects listNodesAndPods reads. */
interface ApiList<T> {
    items: T[];
    metadata?: { continue?: string };
}

interface ApiNode {
    metadata: { name: string };
    status: { allocatable: { cpu: string; memory: string } };
}

type ApiRequests = { cpu?: string; memory?: string };

interface ApiPod {
    metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string }[] };
    spec: { nodeName?: string; containers?: { resources?: { requests?: ApiRequests } }[]; initContainers?: { resources?: { requests?: ApiRequests } }[]; overhead?: ApiRequests };
}

const estimateInstead = "the cells of its SKU are sized from the layout instead (config/sizing.ts), which assumes kubelet's default reservation and kubeadm mode's pods";

/**
 * Reads the workers' resources (existing mode). Never fails the program: what cannot be read is
 * estimated from the layout, with a warning saying why.
 */
export function readWorkerResources(config: StackConfig, kubeconfig: string | undefined, timeoutMs = 20000, kubeconfigDir?: string): WorkerResources {
    const out: WorkerResources = { measured: new Map(), notes: [], warnings: [] };
    const workers = workersOf(config.layout);
    let cluster: ClusterNodes;
    try {
        if (!kubeconfig) {
            throw new Error("no kubeconfig to read it with");
        }
        cluster = fetchCluster(kubeconfigConnection(kubeconfig, kubeconfigDir), timeoutMs);
    } catch (err) {
        out.warnings.push(`cannot read the workers' allocatable resources from the cluster (${(err as Error).message}): ${estimateInstead.replace("its SKU", "every SKU")}; the next 'pulumi up' that reads them resizes the cells (HiveD restarts)`);
        return out;
    }
    const allocatable = new Map(cluster.nodes.map(n => [n.name, { cpu: cpuOf(n.cpu), memoryMi: memoryMiOf(n.memory) }]));
    const others = new Map<string, { cpu: number; memoryMi: number; pods: string[] }>();
    for (const pod of cluster.pods) {
        const r = podRequest(pod);
        const entry = others.get(pod.node) ?? { cpu: 0, memoryMi: 0, pods: [] };
        entry.cpu += r.cpu;
        entry.memoryMi += r.memoryMi;
        entry.pods.push(pod.name);
        others.set(pod.node, entry);
    }
    const skus = [...new Set(workers.map(w => w["machine-type"]))];
    for (const sku of skus) {
        const hosts = workers.filter(w => w["machine-type"] === sku).map(w => w.hostname);
        const found = hosts.filter(h => allocatable.has(h));
        const missing = hosts.filter(h => !allocatable.has(h));
        if (found.length === 0) {
            out.warnings.push(`no node of SKU ${sku} (${hosts.join(", ")}) is in the cluster yet: ${estimateInstead}`);
            continue;
        }
        if (missing.length > 0) {
            out.warnings.push(`node(s) ${missing.join(", ")} of SKU ${sku} are not in the cluster yet: its cells are sized from ${found.join(", ")}; check again after they join`);
        }
        const offers = found.map(host => {
            const a = allocatable.get(host)!;
            const o = others.get(host) ?? { cpu: 0, memoryMi: 0, pods: [] };
            return { host, cpu: a.cpu - o.cpu, memoryMi: a.memoryMi - o.memoryMi, allocatable: a, others: o };
        });
        const least = offers.reduce((a, b) => (b.memoryMi < a.memoryMi ? b : a));
        out.measured.set(sku, { cpu: Math.min(...offers.map(o => o.cpu)), memoryMi: least.memoryMi });
        out.notes.push(`SKU ${sku}: cells sized from node ${least.host}: allocatable ${least.allocatable.memoryMi}Mi and ${least.allocatable.cpu} CPUs, less ${least.others.pods.length} other pod(s) (${Math.ceil(least.others.memoryMi)}Mi, ${round(least.others.cpu)} CPU${least.others.pods.length ? `: ${least.others.pods.join(", ")}` : ""})`);
    }
    return out;
}

/** The connection of a kubeconfig's current context: server, CA, and client certificate, token or exec plugin credentials. */
export function kubeconfigConnection(text: string, dir = process.cwd()): ApiConnection {
    const doc = (yaml.load(text) ?? {}) as Kubeconfig;
    const named = <T>(list: { name: string }[] | undefined, name: string | undefined, what: string, get: (item: never) => T | undefined): T => {
        const item = (list ?? []).find(x => x?.name === name);
        if (!item) {
            throw new Error(`the kubeconfig has no ${what} '${name ?? ""}'`);
        }
        return get(item as never) ?? ({} as T);
    };
    const context = named(doc.contexts, doc["current-context"], "context", (x: { context?: { cluster?: string; user?: string } }) => x.context);
    const cluster = named(doc.clusters, context.cluster, "cluster", (x: { cluster?: KubeconfigCluster }) => x.cluster);
    const user: KubeconfigUser = context.user ? named(doc.users, context.user, "user", (x: { user?: KubeconfigUser }) => x.user) : {};
    // Files named in a kubeconfig are relative to it.
    const file = (name: string | undefined) => name === undefined ? undefined : fs.readFileSync(path.resolve(dir, name), "utf8");
    const data = (b64: string | undefined) => b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8");
    if (typeof cluster.server !== "string" || !/^https?:\/\//.test(cluster.server)) {
        throw new Error("the kubeconfig's cluster has no http(s) server");
    }
    const connection: ApiConnection = {
        server: cluster.server.replace(/\/+$/, ""),
        ca: data(cluster["certificate-authority-data"]) ?? file(cluster["certificate-authority"]),
        insecure: cluster["insecure-skip-tls-verify"] === true,
        servername: cluster["tls-server-name"],
        cert: data(user["client-certificate-data"]) ?? file(user["client-certificate"]),
        key: data(user["client-key-data"]) ?? file(user["client-key"]),
        token: user.token ?? file(user.tokenFile)?.trim(),
        basic: user.username !== undefined ? Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64") : undefined,
    };
    if (user.exec) {
        Object.assign(connection, execCredential(user.exec));
    } else if (user["auth-provider"]) {
        throw new Error(`the kubeconfig's user logs in through auth-provider '${user["auth-provider"].name}', which this program cannot use`);
    }
    return connection;
}

/** Runs a kubeconfig exec plugin (client.authentication.k8s.io) for a token or a client certificate. */
function execCredential(exec: NonNullable<KubeconfigUser["exec"]>): Partial<ApiConnection> {
    const env: Record<string, string | undefined> = { ...process.env };
    for (const { name, value } of exec.env ?? []) {
        env[name] = value;
    }
    env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion: exec.apiVersion, kind: "ExecCredential", spec: { interactive: false } });
    const r = spawnSync(exec.command, exec.args ?? [], { encoding: "utf8", env, timeout: 30000 });
    if (r.status !== 0) {
        throw new Error(`the kubeconfig's exec plugin '${exec.command}' failed${r.error ? ` (${r.error.message})` : ""}`);
    }
    const status = (JSON.parse(r.stdout) as { status?: { token?: string; clientCertificateData?: string; clientKeyData?: string } }).status ?? {};
    return { token: status.token, cert: status.clientCertificateData, key: status.clientKeyData };
}

/**
 * What a child Node process runs: lists the nodes and the pods that are not jobs' and not PAI's
 * (DaemonSet and static pods) through the API, and prints them as JSON. It runs apart so that the
 * program, which must know the cells before it declares anything, can wait for it.
 */
async function listNodesAndPods(connection: ApiConnection & { timeoutMs: number }): Promise<ClusterNodes> {
    const url = new URL(connection.server);
    const client = require(url.protocol === "https:" ? "https" : "http") as typeof import("https");
    const get = <T>(path: string) => new Promise<T>((resolve, reject) => {
        const headers: Record<string, string> = { Accept: "application/json" };
        if (connection.token) {
            headers.Authorization = `Bearer ${connection.token}`;
        } else if (connection.basic) {
            headers.Authorization = `Basic ${connection.basic}`;
        }
        const req = client.get(`${connection.server}${path}`, {
            headers, ca: connection.ca, cert: connection.cert, key: connection.key,
            rejectUnauthorized: !connection.insecure, servername: connection.servername, timeout: connection.timeoutMs,
        }, res => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", chunk => (body += chunk));
            res.on("end", () => res.statusCode === 200
                ? resolve(JSON.parse(body))
                : reject(new Error(`GET ${path}: HTTP ${res.statusCode} ${body.slice(0, 200).replace(/\s+/g, " ")}`)));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer in ${connection.timeoutMs} ms`)));
        req.on("error", reject);
    });
    const requests = (containers: { resources?: { requests?: ApiRequests } }[] | undefined) =>
        (containers ?? []).map(c => ({ cpu: c.resources?.requests?.cpu, memory: c.resources?.requests?.memory }));
    const nodes = (await get<ApiList<ApiNode>>("/api/v1/nodes")).items
        .map(n => ({ name: n.metadata.name, cpu: n.status.allocatable.cpu, memory: n.status.allocatable.memory }));
    const pods: PodRequests[] = [];
    let next = "";
    do {
        const page = await get<ApiList<ApiPod>>(`/api/v1/pods?limit=500&fieldSelector=${encodeURIComponent("status.phase!=Succeeded,status.phase!=Failed")}${next ? `&continue=${encodeURIComponent(next)}` : ""}`);
        for (const p of page.items) {
            const daemon = (p.metadata.ownerReferences ?? []).some(o => o.kind === "DaemonSet") || p.metadata.annotations?.["kubernetes.io/config.mirror"] !== undefined;
            const pai = p.metadata.labels?.["app.kubernetes.io/part-of"] === "openpai";
            if (daemon && !pai && p.spec.nodeName) {
                pods.push({ node: p.spec.nodeName, name: `${p.metadata.namespace}/${p.metadata.name}`,
                    containers: requests(p.spec.containers), initContainers: requests(p.spec.initContainers), overhead: p.spec.overhead });
            }
        }
        next = page.metadata?.continue ?? "";
    } while (next);
    return { nodes, pods };
}

/** Runs listNodesAndPods in a child process and waits for it; the credentials go through its stdin. */
function fetchCluster(connection: ApiConnection, timeoutMs: number): ClusterNodes {
    const script = `(${listNodesAndPods.toString()})(JSON.parse(require("fs").readFileSync(0, "utf8")))`
        + `.then(r => process.stdout.write(JSON.stringify(r)), e => { process.stderr.write(e.message); process.exit(1); })`;
    const r = spawnSync(process.execPath, ["-e", script], {
        input: JSON.stringify({ ...connection, timeoutMs }), encoding: "utf8", timeout: timeoutMs * 3, maxBuffer: 1 << 28,
    });
    if (r.status !== 0) {
        throw new Error(r.error ? r.error.message : r.stderr.trim().split("\n").pop() || `exit ${r.status}`);
    }
    return JSON.parse(r.stdout);
}

/** kube-scheduler's view of a pod's request: its containers, or its largest init container if more, plus overhead. */
function podRequest(pod: PodRequests): NodeResources {
    const sum = (list: { cpu?: string; memory?: string }[]) => list.reduce((a, c) => ({
        cpu: a.cpu + (c.cpu ? cpuOf(c.cpu) : 0), memoryMi: a.memoryMi + (c.memory ? memoryMiOf(c.memory, Math.ceil) : 0),
    }), { cpu: 0, memoryMi: 0 });
    const containers = sum(pod.containers);
    const init = pod.initContainers.map(c => sum([c]));
    const overhead = sum(pod.overhead ? [pod.overhead] : []);
    return {
        cpu: Math.max(containers.cpu, ...init.map(i => i.cpu)) + overhead.cpu,
        memoryMi: Math.max(containers.memoryMi, ...init.map(i => i.memoryMi)) + overhead.memoryMi,
    };
}

const suffixes: Record<string, number> = {
    "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity (resource.Quantity: decimal or binary suffix, or an exponent) in base units. */
export function quantity(text: string): number {
    const match = /^([+-]?[0-9.]+)(?:[eE]([+-]?[0-9]+))?([a-zA-Z]*)$/.exec(text.trim());
    if (!match || !(match[3] in suffixes)) {
        throw new Error(`'${text}' is not a Kubernetes quantity`);
    }
    return Number(match[1]) * 10 ** Number(match[2] ?? 0) * suffixes[match[3]];
}

function cpuOf(text: string): number {
    return quantity(text);
}

function memoryMiOf(text: string, rounding: (x: number) => number = Math.floor): number {
    return rounding(quantity(text) / 2 ** 20);
}

function round(n: number): number {
    return Math.round(n * 1000) / 1000;
}

/**
 * In the program (existing mode): what the workers offer, read from the cluster with the stack's
 * kubeconfig (cluster.kubeconfigPath, else the secret openpai:kubeconfig, as config/pulumi.ts
 * reads them; kept in memory), with what was read and what could not be as the program's
 * messages. The hived config is built from it while the program declares its resources, so the
 * read waits (at most a minute).
 */
export function measureWorkers(config: StackConfig): Map<string, NodeResources> {
    const secret = pulumi.runtime.allConfig()[`${configNamespace}:kubeconfig`];
    const file = config.cluster.kubeconfigPath && path.resolve(config.cluster.kubeconfigPath);
    let kubeconfig = secret;
    if (kubeconfig === undefined && file && fs.existsSync(file)) {
        kubeconfig = fs.readFileSync(file, "utf8");
    }
    const read = readWorkerResources(config, kubeconfig, 20000, secret === undefined && file ? path.dirname(file) : undefined);
    read.notes.forEach(note => pulumi.log.info(`hived: ${note}`));
    read.warnings.forEach(warning => pulumi.log.warn(`hived: ${warning}`));
    return read.measured;
}
