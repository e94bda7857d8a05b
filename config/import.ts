import * as yaml from "js-yaml";
import { ConfigError, ConfigIssue, joinPath } from "./errors";
import { layoutSchema } from "./schema";
import { configNamespace, describeIssue } from "./stack";

/** Legacy OpenPAI inputs, as file name + text so errors can name the file. */
export interface LegacyFiles {
    layout?: { name: string; text: string };
    config?: { name: string; text: string };
    master?: { name: string; text: string };
    worker?: { name: string; text: string };
}

/** The stack file to write, and what the admin still has to do by hand. */
export interface ImportResult {
    /** Text of a `Pulumi.<stack>.yaml`. */
    stackYaml: string;
    /** Commands and reminders, one per line (secrets to set, SKUs to fill in, settings not carried over). */
    notes: string[];
}

/** SKUs used for pre-1.5 CSV inventories, which carry no hardware facts: the admin must fill them in. */
const csvSkus = {
    "master-machine": { mem: "40Gi", cpu: { vcore: 8 } },
    "gpu-machine": { mem: "16Gi", cpu: { vcore: 4 }, "computing-device": { type: "nvidia.com/gpu", model: "unknown", count: 1 } },
};

/** config.yaml keys this tool manages differently, with why they are not carried over. */
const droppedSettings: Record<string, string> = {
    enable_hived_scheduler: "HiveD is always the scheduler here",
    enable_docker_cache: "the docker cache is not part of this deployment; use cluster.registryMirrors",
    docker_check: "preflight checks always run",
    resource_check: "preflight checks always run",
    docker_data_root: "containerd replaces Docker",
    openpai_docker_insecure_registries: "configure the registry mirror with TLS instead",
    gcr_image_repo: "kubeadm pulls from registry.k8s.io; set cluster.registryMirrors",
    kube_image_repo: "kubeadm pulls from registry.k8s.io; set cluster.registryMirrors",
    quay_image_repo: "set cluster.registryMirrors",
    docker_image_repo: "set cluster.registryMirrors",
    kubeadm_download_url: "Kubernetes packages come from pkgs.k8s.io or cluster.aptMirror",
    hyperkube_download_url: "Kubernetes packages come from pkgs.k8s.io or cluster.aptMirror",
    openpai_kube_network_plugin: "the CNI is chosen by this tool",
    "qos-switch": "not supported yet",
    host_daemon_port_start: "OpenPAI's default range is kept",
    host_daemon_port_end: "OpenPAI's default range is kept",
};

/** Converts legacy OpenPAI files into a stack config; throws ConfigError naming file and field. */
export function importLegacy(files: LegacyFiles, stackName = "prod"): ImportResult {
    const notes: string[] = [];
    const issues: ConfigIssue[] = [];
    const key = (k: string) => `${configNamespace}:${k}`;
    const cluster: Record<string, unknown> = { name: stackName.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "") || "pai" };
    const ssh: Record<string, unknown> = {};
    const services: Record<string, unknown> = {};
    let layout: unknown;

    if (files.layout && (files.master || files.worker)) {
        issues.push({ path: files.master?.name ?? files.worker!.name, message: "give either --layout or --master/--worker, not both" });
    } else if (files.layout) {
        layout = parseYaml(files.layout, issues);
    } else if (files.master && files.worker) {
        layout = layoutFromCsv(files.master, files.worker, issues);
        notes.push(`The CSV inventory has no hardware facts: edit machine-sku 'master-machine' and 'gpu-machine' (mem, cpu.vcore, GPU model and count) in ${key("layout")} before 'pulumi up'.`);
    } else {
        issues.push({ path: "--layout", message: "give --layout layout.yaml, or --master master.csv --worker worker.csv" });
    }
    const normalizedLayout = layout === undefined ? undefined : normalizeLayout(layout, files.layout?.name ?? "layout", issues);

    if (files.config) {
        const raw = parseYaml(files.config, issues);
        if (raw !== undefined && (typeof raw !== "object" || raw === null || Array.isArray(raw))) {
            issues.push({ path: files.config.name, message: "must be a YAML mapping of OpenPAI settings" });
        } else if (raw) {
            importSettings(raw as Record<string, unknown>, files.config.name, { cluster, ssh, services, notes, issues });
        }
    }
    if (issues.length > 0) {
        throw new ConfigError("import", issues);
    }
    if (!files.config?.text.match(/^\s*(password|ssh_key_file_path)\s*:/m)) {
        notes.push(`Set the SSH key the hosts accept: pulumi config set --secret ${key("sshPrivateKey")} < ~/.ssh/id_ed25519`);
    }
    const config: Record<string, unknown> = { [key("cluster")]: cluster, [key("layout")]: normalizedLayout };
    if (Object.keys(ssh).length > 0) {
        config[key("ssh")] = ssh;
    }
    if (Object.keys(services).length > 0) {
        config[key("services")] = services;
    }
    const sources = [files.layout, files.config, files.master, files.worker].filter(Boolean).map(f => f!.name);
    const header = [
        `# Stack config imported from ${sources.join(", ")} by 'openpai import'.`,
        "# Secrets are never written here: run the 'pulumi config set --secret' commands it printed.",
        "# Virtual clusters: with no openpai:virtualClusters, VC 'default' gets every worker, as in OpenPAI.",
    ];
    return { stackYaml: `${header.join("\n")}\n${yaml.dump({ config }, { lineWidth: 120, noRefs: true })}`, notes };
}

function parseYaml(file: { name: string; text: string }, issues: ConfigIssue[]): unknown {
    try {
        return yaml.load(file.text);
    } catch (err) {
        issues.push({ path: file.name, message: `not valid YAML: ${(err as Error).message.split("\n")[0]}` });
        return undefined;
    }
}

/** Keeps OpenPAI's layout as written, with "true"/"false" strings as booleans, then validates it. */
function normalizeLayout(raw: unknown, fileName: string, issues: ConfigIssue[]): unknown {
    const layout = raw as Record<string, unknown>;
    const list = Array.isArray(layout?.["machine-list"]) ? layout["machine-list"] as Record<string, unknown>[] : undefined;
    const normalized = list ? {
        ...layout,
        "machine-list": list.map(m => {
            if (typeof m !== "object" || m === null) {
                return m;
            }
            const out: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(m)) {
                if (k.startsWith("pai-") && (v === "true" || v === "false")) {
                    if (v === "true") {
                        out[k] = true;
                    }
                } else {
                    out[k] = v;
                }
            }
            return out;
        }),
    } : layout;
    const result = layoutSchema.safeParse(normalized, { reportInput: true });
    if (!result.success) {
        for (const issue of result.error.issues) {
            issues.push({ path: `${fileName}: ${joinPath(issue.path)}`, message: describeIssue(issue) });
        }
    }
    return normalized;
}

function layoutFromCsv(master: { name: string; text: string }, worker: { name: string; text: string },
                       issues: ConfigIssue[]): unknown {
    const machines: Record<string, unknown>[] = [];
    const read = (file: { name: string; text: string }, role: "pai-master" | "pai-worker", sku: string) => {
        file.text.split(/\r?\n/).forEach((line, i) => {
            if (line.trim() === "" || line.trim().startsWith("#")) {
                return;
            }
            const cols = line.split(",").map(c => c.trim());
            if (cols.length < 2 || !cols[0] || !cols[1]) {
                issues.push({ path: `${file.name} line ${i + 1}`, message: `expected 'hostname,ip', got '${line}'` });
                return;
            }
            machines.push({ hostname: cols[0], hostip: cols[1], "machine-type": sku, [role]: true });
        });
    };
    read(master, "pai-master", "master-machine");
    read(worker, "pai-worker", "gpu-machine");
    return { "machine-sku": csvSkus, "machine-list": machines };
}

interface SettingsTarget {
    cluster: Record<string, unknown>;
    ssh: Record<string, unknown>;
    services: Record<string, unknown>;
    notes: string[];
    issues: ConfigIssue[];
}

function importSettings(raw: Record<string, unknown>, fileName: string, t: SettingsTarget): void {
    const key = (k: string) => `${configNamespace}:${k}`;
    const str = (k: string) => raw[k] === undefined || raw[k] === null ? undefined : String(raw[k]);
    const registry: Record<string, unknown> = {};
    for (const [k, value] of Object.entries(raw)) {
        switch (k) {
            case "user":
                t.ssh.user = str(k);
                break;
            case "password":
                t.notes.push(`${fileName} has a plaintext SSH password: it was not copied. Prefer an SSH key (pulumi config set --secret ${key("sshPrivateKey")} < key), or keep the password as a secret: pulumi config set --secret ${key("sshPassword")} '<password>'`);
                break;
            case "ssh_key_file_path":
                t.notes.push(`Store the SSH key as a secret: pulumi config set --secret ${key("sshPrivateKey")} < ${str(k)}`);
                break;
            case "docker_image_tag":
                if (!/^v[0-9]+\.[0-9]+\.[0-9]+$/.test(str(k) ?? "")) {
                    t.issues.push({ path: `${fileName}: docker_image_tag`, message: `'${str(k)}' is not a release tag such as v1.8.0: PAI images are pinned to a release` });
                }
                t.cluster.paiVersion = str(k);
                break;
            case "docker_registry_domain":
                registry.domain = str(k);
                break;
            case "docker_registry_namespace":
                registry.namespace = str(k);
                break;
            case "docker_registry_username":
                registry.username = str(k);
                break;
            case "docker_registry_password":
                t.notes.push(`The registry password was not copied: pulumi config set --secret ${key("registryPassword")} '<password>'`);
                break;
            case "openpai_docker_registry_mirrors":
                t.cluster.registryMirrors = Array.isArray(value) ? value.map(String) : [String(value)];
                break;
            case "enable_marketplace":
                t.services.marketplace = value === true || value === "true";
                break;
            default:
                t.notes.push(k in droppedSettings
                    ? `${fileName}: '${k}' not carried over: ${droppedSettings[k]}`
                    : `${fileName}: '${k}' is not an OpenPAI v1.8 setting this tool knows: not carried over`);
        }
    }
    if (Object.keys(registry).length > 0) {
        t.cluster.registry = registry;
    }
    for (const required of ["user", "docker_image_tag"]) {
        if (raw[required] === undefined) {
            t.notes.push(`${fileName}: '${required}' is missing (OpenPAI requires it); the default is used`);
        }
    }
}
