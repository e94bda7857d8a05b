import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as yaml from "js-yaml";
import { z } from "zod";
import { ConfigError, ConfigIssue, joinPath } from "./errors";
import { clusterSchema, devBoxSchema, layoutSchema, sshSchema, virtualClustersSchema, ClusterConfig, DevBoxConfig, Layout, SshConfig, VirtualClusters } from "./schema";
import {
    alertsSchema, groupsSchema, servicesSchema, storagesSchema, tlsSchema, AlertsConfig, GroupConfig, ServicesConfig, StorageConfig, TlsConfig,
} from "./platform-schema";
import { NodeReserve, quotaCells, WorkerSku, workerSkus } from "./layout";
import { podsBesideJobs, workerSizing } from "./sizing";
import { generatedCellTypes } from "./hived/generate";
import { maxHivedBytes, maxValueBytes, sizeProblem } from "./fields";
import { aptLoginIssues, missingAptPasswords } from "./apt-logins";
import { aptSourceIssues } from "./apt-sources";
import { checkHostKeyNames } from "./known-hosts";

/** The Pulumi config namespace of this project (`openpai:<key>`). */
export const configNamespace = "openpai";

/** Keys that hold credentials: accepted only as Pulumi secrets, never printed. */
export const secretKeys = ["sshPrivateKey", "sshPassword", "kubeconfig", "registryPassword", "tlsKey",
    "aptProxyPassword", "aptMirrorPassword", "alertSmtpPassword"] as const;

const knownKeys = ["cluster", "layout", "ssh", "devBox", "virtualClusters", "hived", "groups", "services", "adminUser", "tls",
    "storage", "alerts", ...secretKeys];

/** The whole validated stack configuration, with defaults applied. */
export interface StackConfig {
    cluster: ClusterConfig;
    layout: Layout;
    ssh: SshConfig;
    /** The admin's dev box, if it should be set up (kubeadm mode). */
    devBox?: DevBoxConfig;
    /** VC quotas to generate the hived config from; absent when `hived` is given. */
    virtualClusters?: VirtualClusters;
    /** A full hived config passed through as-is (still validated). */
    hived?: Record<string, unknown>;
    services: ServicesConfig;
    /** Groups of PAI users and the VCs each may use (besides OpenPAI's admin and default groups). */
    groups: GroupConfig[];
    /** Name of the PAI administrator; the password is generated. */
    adminUser: string;
    /** The portal's own certificate (its key is the secret tlsKey); absent: the program makes one. */
    tls?: TlsConfig;
    /** Team storage for jobs, each granted to groups. */
    storage: StorageConfig[];
    /** Where alerts go (e-mail, webhooks); absent: alerts stay in Alertmanager's own page. */
    alerts?: AlertsConfig;
    /** Which secret keys were provided (their values are never read here). */
    providedSecrets: Set<string>;
}

/** What the parser needs to know about one config value besides its value. */
export interface RawConfigValue {
    /** Plain value, or undefined for a secret whose ciphertext is not readable here. */
    value: unknown;
    /** Whether the value is stored as a Pulumi secret. */
    secret: boolean;
}

export interface ParseOptions {
    /**
     * Whether missing credentials are errors. The engine needs them; a stack file being
     * prepared (just imported, say) may not have them yet: they are listed by missingSecrets.
     */
    requireSecrets: boolean;
}

const sections = {
    cluster: clusterSchema.prefault({}),
    layout: layoutSchema,
    ssh: sshSchema.prefault({}),
    devBox: devBoxSchema.optional(),
    virtualClusters: virtualClustersSchema.optional(),
    hived: z.record(z.string(), z.unknown()).optional(),
    groups: groupsSchema.default([]),
    services: servicesSchema.prefault({}),
    adminUser: z.string().regex(/^[a-z0-9_-]{3,32}$/, "must be 3-32 characters of a-z, 0-9, '_' or '-'").default("admin"),
    tls: tlsSchema.optional(),
    storage: storagesSchema.default([]),
    alerts: alertsSchema.optional(),
};

/**
 * Validates the `openpai:*` config of a stack: every section, the cross-field rules, and that
 * credentials are secrets. Throws one ConfigError listing every problem at once.
 */
export function parseStackConfig(raw: Record<string, RawConfigValue>, source = "stack config",
                                 options: ParseOptions = { requireSecrets: true }): StackConfig {
    const issues: ConfigIssue[] = [];
    for (const key of Object.keys(raw)) {
        if (!knownKeys.includes(key)) {
            issues.push({ path: key, message: `unknown key openpai:${key}: known keys are ${knownKeys.join(", ")}` });
        }
    }
    const parsed: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(sections)) {
        const limit = key === "hived" ? maxHivedBytes : maxValueBytes;
        const tooLarge = sizeProblem(raw[key]?.value, limit) ?? sizeProblem(decodeObject(raw[key]?.value), limit);
        if (tooLarge) {
            issues.push({ path: key, message: tooLarge });
            continue;
        }
        const result = (schema as z.ZodType).safeParse(decodeObject(raw[key]?.value), { reportInput: true });
        if (result.success) {
            parsed[key] = result.data;
        } else {
            for (const issue of result.error.issues) {
                issues.push({ path: joinPath([key, ...issue.path]), message: describeIssue(issue) });
            }
        }
    }
    for (const key of secretKeys) {
        if (raw[key] !== undefined && !raw[key].secret) {
            issues.push({ path: key, message: `must be a secret: run 'pulumi config set --secret ${configNamespace}:${key} ...' (and rotate it, it was stored in plain text)` });
        }
    }
    const providedSecrets = new Set(secretKeys.filter(k => raw[k] !== undefined));
    if (issues.length === 0) {
        const config = { ...parsed, providedSecrets } as unknown as StackConfig;
        issues.push(...crossCheck(config), ...(options.requireSecrets ? missingSecrets(config) : []));
        if (issues.length === 0) {
            return config;
        }
    }
    throw new ConfigError(source, issues);
}

/** Pulumi hands object-typed config to programs as JSON text. */
function decodeObject(value: unknown): unknown {
    if (typeof value === "string" && /^\s*[[{]/.test(value)) {
        try {
            return JSON.parse(value);
        } catch {
            return value;
        }
    }
    return value;
}

/** One line per zod issue, in the user's terms: the unknown key, the missing field, the bad value. */
export function describeIssue(issue: z.core.$ZodIssue): string {
    if (issue.code === "unrecognized_keys") {
        return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map(k => `'${k}'`).join(", ")}: check the spelling and the indentation`;
    }
    if (issue.code === "invalid_type" && issue.input === undefined) {
        return "is required";
    }
    if (issue.code === "invalid_key") {
        return issue.issues.map(i => i.message).join("; ");
    }
    // zod's own wording ("Too big: expected string to have <=63 characters") in the user's terms.
    if ((issue.code === "too_big" || issue.code === "too_small") && /^Too (big|small):/.test(issue.message)) {
        const bound = issue.code === "too_big" ? `at most ${issue.maximum}` : `at least ${issue.minimum}`;
        const unit = issue.origin === "string" ? " characters" : issue.origin === "array" ? " entries" : "";
        return `must be ${bound}${unit}`;
    }
    return issue.message;
}

/** Credentials the stack still needs before `pulumi up`, as the commands that set them. */
export function missingSecrets(config: StackConfig): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const { cluster, providedSecrets } = config;
    if (cluster.mode === "kubeadm" && !providedSecrets.has("sshPrivateKey") && !providedSecrets.has("sshPassword")) {
        issues.push({ path: "sshPrivateKey", message: "kubeadm mode provisions hosts over SSH: run 'pulumi config set --secret openpai:sshPrivateKey < ~/.ssh/id_ed25519'" });
    }
    if (cluster.mode === "existing" && !providedSecrets.has("kubeconfig") && !cluster.kubeconfigPath) {
        issues.push({ path: "kubeconfig", message: "existing mode needs the cluster's kubeconfig: set cluster.kubeconfigPath, or run 'pulumi config set --secret openpai:kubeconfig < kubeconfig'" });
    }
    if (cluster.registry.username && !providedSecrets.has("registryPassword")) {
        issues.push({ path: "registryPassword", message: "cluster.registry.username is set: also run 'pulumi config set --secret openpai:registryPassword ...'" });
    }
    issues.push(...missingAptPasswords(config));
    if (config.tls && !providedSecrets.has("tlsKey")) {
        issues.push({ path: "tlsKey", message: "tls.certificate is set: also give its key, 'pulumi config set --secret openpai:tlsKey < portal.key'" });
    }
    if (config.alerts?.email?.username && !providedSecrets.has("alertSmtpPassword")) {
        issues.push({ path: "alertSmtpPassword", message: "alerts.email.username is set: also give its password, 'pulumi config set --secret openpai:alertSmtpPassword ...'" });
    }
    return issues;
}

/** Rules that span sections; missing credentials are checked apart (missingSecrets). */
function crossCheck(config: StackConfig): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const { cluster, layout, virtualClusters, hived } = config;
    if (virtualClusters && hived) {
        issues.push({ path: "hived", message: "give either virtualClusters (quotas to generate from) or a full hived config, not both" });
    }
    if (cluster.podNetworkOverlay === "none" && cluster.podNetworkEncapsulation !== "ipip") {
        issues.push({ path: "cluster.podNetworkEncapsulation", message: `is '${cluster.podNetworkEncapsulation}' but cluster.podNetworkOverlay is 'none': no tunnel uses it; remove it, or choose an overlay` });
    }
    if (cidrsOverlap(cluster.podCidr, cluster.serviceCidr)) {
        issues.push({ path: "cluster.serviceCidr", message: `overlaps cluster.podCidr ${cluster.podCidr}: choose disjoint ranges` });
    }
    issues.push(...checkGroups(config), ...checkStorage(config), ...checkPortalCertificate(config), ...aptLoginIssues(config),
        ...aptSourceIssues(config));
    if (config.providedSecrets.has("alertSmtpPassword") && !config.alerts?.email?.username) {
        issues.push({ path: "alertSmtpPassword", message: "is set but alerts.email.username is not: set the SMTP user too, or remove the password ('pulumi config rm openpai:alertSmtpPassword')" });
    }
    issues.push(...checkHostKeyNames(config));
    if (!hived) {
        const sizing = workerSizing(config);
        const skus = workerSkus(layout, sizing);
        issues.push(...checkGeneratedCellTypes(skus, podsBesideJobs(sizing)));
        if (virtualClusters) {
            issues.push(...checkQuotas(skus, virtualClusters));
        }
    }
    return issues;
}

/**
 * The hived config is generated from the worker SKUs (config/hived/generate.ts): their cell
 * type names must not collide, and every cell must get some CPU, or jobs that ask for CPU are
 * refused by rest-server ("SKU does not configure CPU", src/rest-server/src/middlewares/v2/hived.js).
 */
function checkGeneratedCellTypes(skus: Map<string, WorkerSku>, reserve: NodeReserve): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    for (const sku of skus.values()) {
        const path = `layout.machine-sku.${sku.name}`;
        for (const other of skus.values()) {
            if (other !== sku && generatedCellTypes(other).includes(sku.name)) {
                issues.push({ path, message: `worker SKU '${sku.name}' has the name of a cell type generated for worker SKU '${other.name}' (${generatedCellTypes(other).join(", ")}): HiveD would read a different cluster; rename one of the two SKUs` });
            }
        }
        const leftOver = `${round(sku.free.cpu)} vCPUs left to jobs after the pods on every worker (${round(reserve.cpu)}) and OpenPAI's margin`;
        if (sku.cellUnit === "GPU" && Math.floor(sku.free.cpu / sku.cellsPerNode) < 1) {
            issues.push({ path: `${path}.cpu.vcore`, message: `${sku.sku.cpu.vcore} vCPUs for ${sku.cellsPerNode} GPUs leaves ${leftOver}: each GPU cell would get 0 CPUs and jobs asking for CPU would be refused; give the SKU at least ${minVcores(sku.cellsPerNode, reserve)} vCPUs (its real count)` });
        } else if (sku.cellUnit === "vCPU" && sku.cellsPerNode < 1) {
            issues.push({ path: `${path}.cpu.vcore`, message: `${sku.sku.cpu.vcore} vCPUs leaves ${leftOver}: no whole vCPU cell for jobs; give the SKU at least ${minVcores(1, reserve)} vCPUs (its real count)` });
        }
    }
    return issues;
}

/**
 * The configured portal certificate parses, is valid now, and is for the portal's address
 * (cluster.portalHost, else the master's hostip); its key, a secret, is checked by the program.
 */
function checkPortalCertificate(config: StackConfig): ConfigIssue[] {
    if (!config.tls && config.providedSecrets.has("tlsKey")) {
        return [{ path: "tlsKey", message: "is set but tls.certificate is not: give the certificate too, or remove the key ('pulumi config rm openpai:tlsKey')" }];
    }
    if (!config.tls) {
        return [];
    }
    const path = "tls.certificate";
    let cert: crypto.X509Certificate;
    try {
        cert = new crypto.X509Certificate(config.tls.certificate);
    } catch (err) {
        return [{ path, message: `cannot be read as a PEM certificate (${(err as Error).message}): paste the portal's certificate, then its intermediates` }];
    }
    const host = config.cluster.portalHost ?? config.layout["machine-list"].find(m => m["pai-master"])?.hostip ?? "";
    const issues: ConfigIssue[] = [];
    const covers = net.isIP(host) ? cert.checkIP(host) : cert.checkHost(host);
    if (!covers) {
        issues.push({ path, message: `is for ${cert.subjectAltName ?? cert.subject}, not for the portal's address ${host}: use a certificate for ${host}, or set cluster.portalHost to a name it covers` });
    }
    const now = Date.now();
    if (Date.parse(cert.validTo) < now || Date.parse(cert.validFrom) > now) {
        issues.push({ path, message: `is valid from ${cert.validFrom} to ${cert.validTo}, not now: renew it` });
    }
    return issues;
}

/**
 * Groups name VCs that exist (a declared VC, one of the full hived config, or `default`), and
 * neither repeat a name nor take OpenPAI's own group names.
 */
function checkGroups(config: StackConfig): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const vcs = new Set(["default", ...Object.keys(config.virtualClusters ?? {}),
        ...Object.keys((config.hived?.virtualClusters ?? {}) as Record<string, unknown>)]);
    const seen = new Set<string>();
    config.groups.forEach((group, i) => {
        if (["admingroup", "default"].includes(group.name)) {
            issues.push({ path: `groups[${i}].name`, message: `'${group.name}' is OpenPAI's own group: choose another name` });
        } else if (seen.has(group.name)) {
            issues.push({ path: `groups[${i}].name`, message: `group '${group.name}' is declared twice` });
        }
        seen.add(group.name);
        // src/rest-server/src/models/v2/group.js syncGroupsWithVCs, at every start.
        if (group.virtualClusters.length === 0 && !group.admin) {
            issues.push({ path: `groups[${i}].virtualClusters`, message: `is empty: rest-server deletes a group with no VC that is not an admin group at every start; give '${group.name}' a VC (default, say)` });
        }
        group.virtualClusters.forEach((vc, j) => {
            if (!vcs.has(vc)) {
                issues.push({ path: `groups[${i}].virtualClusters[${j}]`, message: `no virtual cluster '${vc}': use one of ${[...vcs].join(", ")}` });
            }
        });
    });
    return issues;
}

/**
 * Storage names are unique (each is a claim's name), and each is granted to groups that exist: the
 * stack's, or OpenPAI's own default and admingroup.
 */
function checkStorage(config: StackConfig): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const groups = new Set(["default", "admingroup", ...config.groups.map(g => g.name)]);
    const seen = new Set<string>();
    config.storage.forEach((storage, i) => {
        if (seen.has(storage.name)) {
            issues.push({ path: `storage[${i}].name`, message: `storage '${storage.name}' is declared twice` });
        }
        seen.add(storage.name);
        storage.groups.forEach((group, j) => {
            if (!groups.has(group)) {
                issues.push({ path: `storage[${i}].groups[${j}]`, message: `no group '${group}': use one of ${[...groups].join(", ")}` });
            }
        });
    });
    return issues;
}

function round(n: number): number {
    return Math.round(n * 100) / 100;
}

/** The fewest vCPUs a node needs so that each of `cells` cells gets one whole CPU. */
function minVcores(cells: number, reserve: NodeReserve): number {
    let vcores = cells;
    while (vcores - reserve.cpu - Math.min(0.01 * vcores, 0.5) < cells) {
        vcores++;
    }
    return vcores;
}

/** Friendlier, SKU-level capacity errors before the hived validator's chain-level ones. */
function checkQuotas(skus: Map<string, WorkerSku>, vcs: VirtualClusters): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const pinnedBy = new Map<string, string>();
    const demand = new Map<string, number>();
    for (const [vc, quota] of Object.entries(vcs)) {
        for (const [skuName, q] of Object.entries(quota)) {
            const path = `virtualClusters.${vc}.${skuName}`;
            const sku = skus.get(skuName);
            if (!sku) {
                issues.push({ path, message: `no worker has machine-type '${skuName}': use one of ${[...skus.keys()].join(", ")}` });
                continue;
            }
            q.pinned.forEach((host, i) => {
                if (!sku.hosts.includes(host)) {
                    issues.push({ path: `${path}.pinned[${i}]`, message: `'${host}' is not a worker of machine-type ${skuName}` });
                } else if (pinnedBy.has(host)) {
                    issues.push({ path: `${path}.pinned[${i}]`, message: `'${host}' is already pinned to VC ${pinnedBy.get(host)}: a node can be pinned to one VC only` });
                } else {
                    pinnedBy.set(host, vc);
                }
            });
            demand.set(skuName, (demand.get(skuName) ?? 0) + quotaCells(q, sku));
        }
    }
    for (const [skuName, cells] of demand) {
        const sku = skus.get(skuName)!;
        const available = sku.hosts.length * sku.cellsPerNode;
        if (cells > available) {
            issues.push({ path: "virtualClusters", message: `VCs ask for ${cells} ${sku.cellUnit}s of machine-type ${skuName} but the layout has ${available} (${sku.hosts.length} workers x ${sku.cellsPerNode}): lower the quotas or add workers` });
        }
    }
    return issues;
}

function cidrsOverlap(a: string, b: string): boolean {
    const range = (c: string): [number, number] => {
        const [ip, bits] = c.split("/");
        const base = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
        const size = 2 ** (32 - Number(bits));
        const start = Math.floor(base / size) * size;
        return [start, start + size - 1];
    };
    const [a0, a1] = range(a);
    const [b0, b1] = range(b);
    return a0 <= b1 && b0 <= a1;
}

/**
 * Reads a `Pulumi.<stack>.yaml` file. Secure values (`{secure: ...}`) count as secrets whose
 * value is not needed for validation.
 */
export function readStackFile(path: string): Record<string, RawConfigValue> {
    if (fs.statSync(path).size > maxStackFileBytes) {
        throw new ConfigError(path, [{ path: "", message: `is larger than ${maxStackFileBytes / 2 ** 20} MiB: a stack file holds a few KiB of settings; is this the right file?` }]);
    }
    return parseStackYaml(fs.readFileSync(path, "utf8"), path);
}

/** Far more than a stack file needs (each openpai:* value is at most 1 MiB, and there are a dozen). */
const maxStackFileBytes = 16 * 2 ** 20;

/** The `openpai:*` values of a `Pulumi.<stack>.yaml` text; `source` names it in errors. */
export function parseStackYaml(text: string, source: string): Record<string, RawConfigValue> {
    let doc: unknown;
    try {
        doc = yaml.load(text);
    } catch (err) {
        throw new ConfigError(source, [{ path: "", message: `cannot read it as YAML: ${(err as Error).message.split("\n")[0]}` }]);
    }
    const config = (doc as { config?: Record<string, unknown> } | null)?.config;
    if (!config || typeof config !== "object") {
        throw new ConfigError(source, [{ path: "config", message: "no 'config:' section: is this a Pulumi.<stack>.yaml file?" }]);
    }
    const raw: Record<string, RawConfigValue> = {};
    for (const [fullKey, value] of Object.entries(config)) {
        const [ns, key] = fullKey.includes(":") ? fullKey.split(":", 2) : [configNamespace, fullKey];
        if (ns !== configNamespace) {
            continue;
        }
        const secure = typeof value === "object" && value !== null && "secure" in value;
        raw[key] = { value: secure ? undefined : value, secret: secure };
    }
    return raw;
}
