import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import {
    ConfigError, estimatedNode, formatIssues, hivedForStack, printable, importLegacy, LegacyFiles, memoryEviction, memTotalPercent, missingSecrets, parseStackConfig,
    readStackFile, StackConfig, validateHivedText, VcCapacity, HivedFinding,
} from "../config";
import { nodeLabels } from "../components/kubernetes/node-labels";
import { Io, parseFlags, single, UsageError } from "./args";
import { backupCommand, backupCommands } from "./backup";
import { BackupFileError } from "./backup-file";

/** One line per command: its synopsis and what it does. */
const commands: [string, string][] = [
    ["validate <Pulumi.stack.yaml>", "validate a stack config without the engine; print VC capacity"],
    ["hived validate [--strict] [--format text|json] [--stack <Pulumi.stack.yaml>] <hived.yaml>", "check a hived config against HiveD's and rest-server's startup"],
    ["hived generate <Pulumi.stack.yaml>", "print the hived config the stack deploys"],
    ["nodes [--unprovisioned] [--declared] <Pulumi.stack.yaml>", "print the layout's machines (with --unprovisioned: those with provision: false) as Kubernetes Node manifests, sized as real servers report themselves (with --declared: as the layout says)"],
    ["import [--stack-name N] [--layout F] [--config F] [--master F --worker F]", "print a stack config from legacy OpenPAI files"],
    ...backupCommands,
];

const usage = ["usage: openpai <command> [options]    openpai --help | --version", "", "commands:",
    ...commands.map(([synopsis, what]) => `  ${synopsis}  -- ${what}`)].join("\n");

/** The package's version, from package.json beside the compiled CLI's project. */
function packageVersion(): string {
    const candidates = [path.join(__dirname, "..", "..", "package.json"), path.join(__dirname, "..", "package.json")];
    for (const file of candidates) {
        if (fs.existsSync(file)) {
            return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
        }
    }
    return "unknown";
}

const processIo: Io = {
    out: text => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    err: text => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
};

/** Runs one CLI command (not backup or restore: main runs those); returns the exit code. */
export function run(argv: string[], io: Io = processIo): number {
    try {
        return dispatch(argv, io);
    } catch (err) {
        return failure(err, io);
    }
}

/** Runs any CLI command, backup and restore (which stream over SSH) included; resolves to the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
    if (argv[0] !== "backup" && argv[0] !== "restore") {
        return run(argv, io);
    }
    try {
        return await backupCommand(argv[0], argv.slice(1), io);
    } catch (err) {
        return failure(err, io);
    }
}

/** Prints why a command failed, never with a stack trace; returns the exit code. */
function failure(err: unknown, io: Io): number {
    if (err instanceof ConfigError) {
        io.err(err.message);
    } else if (err instanceof UsageError) {
        io.err(`openpai: ${err.message}\n${usage}`);
    } else if (err instanceof BackupFileError) {
        io.err(`openpai: ${err.message}`);
    } else if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "EISDIR") {
        io.err(`openpai: cannot read ${(err as NodeJS.ErrnoException).path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "is a directory"}`);
    } else {
        io.err(`openpai: unexpected failure: ${printable(String((err as Error).message))}${process.env.OPENPAI_DEBUG ? `\n${(err as Error).stack}` : " (set OPENPAI_DEBUG=1 for details)"}`);
    }
    return 1;
}

function dispatch(argv: string[], io: Io): number {
    const [command, ...rest] = argv;
    switch (command) {
        case "validate":
            return validateStack(single(rest, "validate"), io);
        case "hived":
            if (rest[0] === "validate") {
                return validateHivedFile(rest.slice(1), io);
            }
            if (rest[0] === "generate") {
                return generate(single(rest.slice(1), "hived generate"), io);
            }
            throw new UsageError(`unknown hived command '${rest[0] ?? ""}'`);
        case "import":
            return importFiles(rest, io);
        case "nodes": {
            const { flags, positional } = parseFlags(rest, [], ["--unprovisioned", "--declared"]);
            return nodes(single(positional, "nodes"), io, flags["--unprovisioned"] === true, flags["--declared"] !== true);
        }
        case "help":
        case "--help":
        case "-h":
            io.out(usage);
            return 0;
        case "version":
        case "--version":
        case "-v":
            io.out(`openpai ${packageVersion()}`);
            return 0;
        default:
            throw new UsageError(command ? `unknown command '${command}'` : "no command given");
    }
}

function loadStack(file: string, requireSecrets: boolean): StackConfig {
    return parseStackConfig(readStackFile(file), file, { requireSecrets });
}

function validateStack(file: string, io: Io): number {
    const stack = loadStack(file, false);
    const { report } = hivedForStack(stack);
    for (const w of report.warnings) {
        io.err(`warning: hived: ${printable(w.path)}: ${printable(w.message)}`);
    }
    const todo = missingSecrets(stack);
    if (todo.length > 0) {
        io.err(formatIssues(`${file}: before 'pulumi up'`, todo).replace(/problems? found/, "secret(s) still to set"));
    }
    io.out(`${file}: valid (${stack.cluster.mode} mode, ${stack.layout["machine-list"].length} machines)`);
    io.out(capacityTable(report.capacity));
    if (stack.cluster.mode === "existing" && !stack.hived) {
        io.err(`note: existing mode: 'pulumi up' sizes the cells from the nodes' allocatable memory and CPU and the other DaemonSets' pods on them, read from the cluster; these figures assume each worker reports ${memTotalPercent}% of its layout memory and runs what kubeadm mode installs`);
    }
    return 0;
}

function validateHivedFile(args: string[], io: Io): number {
    const { flags, positional } = parseFlags(args, ["--stack", "--format"], ["--strict"]);
    const file = single(positional, "hived validate");
    const format = flags["--format"] ?? "text";
    if (format !== "text" && format !== "json") {
        throw new UsageError(`--format must be text or json, not '${String(format)}'`);
    }
    const hostnames = typeof flags["--stack"] === "string"
        ? loadStack(flags["--stack"], false).layout["machine-list"].map(m => m.hostname)
        : undefined;
    const report = validateHivedText(fs.readFileSync(file, "utf8"), { hostnames });
    const strict = flags["--strict"] === true;
    const blocking = [...report.errors, ...(strict ? report.warnings : [])];
    const severity = (finding: HivedFinding) => blocking.includes(finding) ? "error" : "warning";
    const findings = [...report.errors, ...report.warnings];
    if (format === "json") {
        io.out(JSON.stringify({
            file, ok: blocking.length === 0,
            findings: findings.map(x => ({ path: x.path, message: x.message, severity: severity(x), source: x.source })),
        }));
        return blocking.length === 0 ? 0 : 1;
    }
    for (const x of findings) {
        io.err(`${severity(x)} [${x.source}]: ${x.path || "(root)"}: ${x.message}`);
    }
    if (blocking.length > 0) {
        const failing = [...new Set(report.errors.map(x => x.source === "hived" ? "HiveD" : "rest-server"))];
        const verdict = failing.length > 0
            ? `${failing.join(" and ")} would fail to start`
            : "HiveD and rest-server would start, but not as intended";
        io.err(`${file}: ${blocking.length} problem${blocking.length === 1 ? "" : "s"}: ${verdict}`);
        return 1;
    }
    io.out(`${file}: valid${report.warnings.length ? ` with ${report.warnings.length} warning(s)` : ""}`);
    io.out(capacityTable(report.capacity));
    return 0;
}

function generate(file: string, io: Io): number {
    const { config } = hivedForStack(loadStack(file, false));
    io.out(yaml.dump(config, { lineWidth: 120, noRefs: true }));
    return 0;
}

/**
 * The layout's machines as Node objects with their capacity (GPUs, CPU, memory, the fuse
 * device) and PAI labels: what scripts/local-cluster.sh and the quick start register as simulated
 * nodes. Memory is `reported` as a real server of the SKU reports it, the least one the preflight
 * accepts (capacity at its MemTotal floor, allocatable less kubelet's memory eviction threshold:
 * config/sizing.ts), so simulated nodes refuse what a real one would; else as the layout declares it.
 * Their kubelet reports the cluster's Kubernetes release.
 */
function nodes(file: string, io: Io, unprovisioned = false, reported = false): number {
    const stack = loadStack(file, false);
    const machines = stack.layout["machine-list"].filter(m => !unprovisioned || !m.provision);
    const docs = machines.map(machine => {
        const sku = stack.layout["machine-sku"][machine["machine-type"]];
        const device = sku["computing-device"];
        const capacity: Record<string, string> = {
            cpu: String(sku.cpu.vcore), memory: sku.mem, pods: "110", "github.com/fuse": "110",
            ...(device ? { [device.type]: String(device.count) } : {}),
        };
        let allocatable = capacity;
        if (reported) {
            const node = estimatedNode(sku, memoryEviction(stack.cluster.kubeletEvictionHard));
            capacity.memory = `${node.capacity.memoryMi}Mi`;
            allocatable = { ...capacity, memory: `${node.allocatable.memoryMi}Mi` };
        }
        return {
            apiVersion: "v1", kind: "Node",
            metadata: {
                name: machine.hostname,
                annotations: { "kwok.x-k8s.io/node": "fake" },
                labels: { "kubernetes.io/hostname": machine.hostname, type: "kwok", ...nodeLabels(machine, stack.layout) },
            },
            spec: { taints: [] },
            // The cluster's release as their kubelet's (kwok keeps what the Node says): kubeadm's
            // upgrade checks every node's kubelet version and refuses one it cannot parse.
            status: { capacity, allocatable, addresses: [{ type: "InternalIP", address: machine.hostip }],
                nodeInfo: { kubeletVersion: stack.cluster.kubernetesVersion, kubeProxyVersion: stack.cluster.kubernetesVersion } },
        };
    });
    io.out(docs.map(d => yaml.dump(d, { lineWidth: -1, noRefs: true })).join("---\n"));
    return 0;
}

function importFiles(args: string[], io: Io): number {
    const { flags, positional } = parseFlags(args, ["--layout", "--config", "--master", "--worker", "--stack-name"], []);
    if (positional.length > 0) {
        throw new UsageError(`unexpected argument '${positional[0]}'`);
    }
    if (Boolean(flags["--master"]) !== Boolean(flags["--worker"])) {
        throw new UsageError("--master and --worker go together");
    }
    const read = (flag: string) => typeof flags[flag] === "string"
        ? { name: path.basename(flags[flag] as string), text: fs.readFileSync(flags[flag] as string, "utf8") }
        : undefined;
    const files: LegacyFiles = { layout: read("--layout"), config: read("--config"), master: read("--master"), worker: read("--worker") };
    const result = importLegacy(files, typeof flags["--stack-name"] === "string" ? flags["--stack-name"] : undefined);
    io.out(result.stackYaml);
    for (const note of result.notes) {
        io.err(`note: ${note}`);
    }
    return 0;
}

/** A fixed-width table of VC capacity, the same figures the stack exports. */
export function capacityTable(capacity: VcCapacity[]): string {
    const perLeafType = (counts: Record<string, number>) => Object.entries(counts).map(([t, n]) => `${n} x ${t}`).join(", ");
    // The largest pod: HiveD places a pod inside one of its VC's cells and one node.
    const rows = capacity.map(c => [c.vc, String(c.gpus), String(c.cpus), perLeafType(c.leafCells), perLeafType(c.largestPod)]);
    // A full hived config names its VCs and cell types: printed the way issues are (no control characters).
    const all = [["VC", "GPUs", "CPUs", "cells", "largest pod"], ...rows.map(r => r.map(cell => printable(cell, 200)))];
    const widths = all[0].map((_, i) => Math.max(...all.map(r => r[i].length)));
    return all.map(r => r.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

if (require.main === module) {
    void main(process.argv.slice(2)).then(code => {
        process.exitCode = code;
    });
}
