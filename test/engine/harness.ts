import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";

export const projectRoot = path.join(__dirname, "..", "..", "..");

/** Runs one of scripts/*.sh that build into a cache and print the bin directory last. */
export function scriptBinDir(script: string): string {
    const out = execFileSync("bash", [path.join(projectRoot, "scripts", script)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    return out.trim().split("\n").pop()!;
}

/** Bin directory of the engine toolchain: built (or found in the cache) by scripts/toolchain.sh. */
export function toolchainBin(): string {
    process.env.OPENPAI_TOOLCHAIN_BIN ??= scriptBinDir("toolchain.sh");
    return process.env.OPENPAI_TOOLCHAIN_BIN;
}

export interface CommandResult {
    code: number;
    stdout: string;
    stderr: string;
    ms: number;
}

/** What a Pulumi run of this project needs from the checkout; linked, so tests run the real code. */
export const projectEntries = ["Pulumi.yaml", "package.json", "tsconfig.json", "tsconfig.pulumi.json", "index.ts", "components", "config", "node_modules"];

/** Where a stack's `pulumi` commands run: its project directory and environment. */
export interface PulumiWorkspace {
    /** A directory the tests may write scratch files to. */
    readonly dir: string;
    /** The project directory (Pulumi.yaml). */
    readonly project: string;
    readonly env: NodeJS.ProcessEnv;
    /** Runs `pulumi <args>` in the project directory. */
    pulumi(args: string[], input?: string): CommandResult;
}

/** Runs `pulumi <args> --non-interactive` in a project with an environment. */
export function runPulumi(project: string, env: NodeJS.ProcessEnv, args: string[], input?: string): CommandResult {
    const started = Date.now();
    const r = spawnSync("pulumi", [...args, "--non-interactive"], { cwd: project, env, encoding: "utf8", input, maxBuffer: 1 << 30 });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "", ms: Date.now() - started };
}

/**
 * A Pulumi workspace for tests: a local file backend in a temp dir, a fixed passphrase, no
 * update checks and no plugin downloads. The project runs from a temp directory linking the
 * checkout's sources, because the engine writes stack files next to Pulumi.yaml.
 */
export class Engine implements PulumiWorkspace {
    readonly dir: string;
    readonly project: string;
    readonly env: NodeJS.ProcessEnv;

    /**
     * `source`: the project to run (this checkout by default) and the entries it needs; entries
     * in `copies` are copied instead of linked, so a test can edit them.
     */
    constructor(source: { dir: string; entries: string[]; copies?: string[] } = { dir: projectRoot, entries: projectEntries }) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-engine-"));
        fs.mkdirSync(path.join(this.dir, "state"));
        this.project = path.join(this.dir, "project");
        fs.mkdirSync(this.project);
        for (const entry of source.entries) {
            if (source.copies?.includes(entry)) {
                fs.cpSync(path.join(source.dir, entry), path.join(this.project, entry), { recursive: true });
            } else {
                fs.symlinkSync(path.join(source.dir, entry), path.join(this.project, entry));
            }
        }
        if (!source.entries.includes("node_modules")) {
            fs.symlinkSync(path.join(projectRoot, "node_modules"), path.join(this.project, "node_modules"));
        }
        // A home of its own per test, with the plugin cache scripts/toolchain.sh installed into.
        const home = path.join(this.dir, "home");
        fs.mkdirSync(home);
        const tmp = path.join(this.dir, "tmp");
        fs.mkdirSync(tmp, { mode: 0o700 });
        fs.symlinkSync(path.join(process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi"), "plugins"), path.join(home, "plugins"));
        this.env = {
            ...process.env,
            PATH: `${toolchainBin()}${path.delimiter}${process.env.PATH}`,
            PULUMI_BACKEND_URL: `file://${path.join(this.dir, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "openpai-engine-tests",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            // The engine otherwise rewrites the whole state after every step (quadratic in
            // resources: 67 s instead of 20 s for a 100-worker preview); the final state is still written.
            PULUMI_SKIP_CHECKPOINTS: "true",
            PULUMI_HOME: home,
            // pulumi-kubernetes writes its kubeconfig (a cluster's admin key) to $TMPDIR/kubeconfig*
            // and never removes it: the test's own folder, removed with it.
            TMPDIR: tmp,
        };
    }

    /** Runs `pulumi <args>` in the test project directory. */
    pulumi(args: string[], input?: string): CommandResult {
        return runPulumi(this.project, this.env, args, input);
    }

    /** Creates a stack with this config (secrets set through the engine, so stored encrypted). */
    stack(name: string, config: Record<string, unknown>, secrets: Record<string, string> = {}): Stack {
        const file = path.join(this.project, `Pulumi.${name}.yaml`);
        fs.writeFileSync(file, yaml.dump({ config }));
        must(this.pulumi(["stack", "init", name]));
        const stack = new Stack(this, name, file);
        for (const [key, value] of Object.entries(secrets)) {
            must(stack.run(["config", "set", "--secret", key], value));
        }
        return stack;
    }

    cleanup(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

export class Stack {
    /** `configFile`: the stack's Pulumi.<name>.yaml in the test project. */
    constructor(readonly engine: PulumiWorkspace, readonly name: string, readonly configFile: string) {}

    run(args: string[], input?: string): CommandResult {
        return this.engine.pulumi([...args, "--stack", this.name], input);
    }

    /**
     * Runs `pulumi <args>` in the background, calling `onLine` for each line of its output as it
     * comes (to act in the middle of an update); resolves when it exits.
     */
    runWatching(args: string[], onLine: (line: string) => void): Promise<CommandResult> {
        const started = Date.now();
        const child = spawn("pulumi", [...args, "--stack", this.name, "--non-interactive"], { cwd: this.engine.project, env: this.engine.env });
        let stdout = "";
        let stderr = "";
        let pending = "";
        child.stdout.on("data", (chunk: Buffer) => {
            stdout += chunk;
            const lines = (pending + chunk.toString()).split("\n");
            pending = lines.pop()!;
            lines.forEach(onLine);
        });
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
        return new Promise(resolve => child.on("close", code => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started })));
    }

    /** Replaces the given config keys in the stack file, keeping the rest (secrets, salt). */
    writeConfig(config: Record<string, unknown>): void {
        const current = yaml.load(fs.readFileSync(this.configFile, "utf8")) as Record<string, unknown>;
        fs.writeFileSync(this.configFile, yaml.dump({ ...current, config: { ...(current.config as object), ...config } }));
    }

    /** `pulumi preview --json`, parsed; fails the test with the engine's output when it fails. */
    preview(extra: string[] = []): { result: PreviewJson; raw: CommandResult } {
        const raw = this.run(["preview", "--json", ...extra]);
        let result: PreviewJson;
        try {
            result = JSON.parse(raw.stdout);
        } catch {
            throw new Error(`pulumi preview printed no JSON (exit ${raw.code}):\n${raw.stdout}\n${raw.stderr}`);
        }
        return { result, raw };
    }
}

export interface PreviewStep {
    op: string;
    urn: string;
    newState?: { type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown>; dependencies?: string[] };
}

export interface PreviewJson {
    config: Record<string, string>;
    steps: PreviewStep[];
    diagnostics?: { message: string; severity: string }[];
    changeSummary?: Record<string, number>;
}

export function must(r: CommandResult): CommandResult {
    if (r.code !== 0) {
        throw new Error(`command failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    return r;
}

/** Count of planned steps per resource type. */
export function countByType(steps: PreviewStep[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const step of steps) {
        const type = step.newState?.type ?? step.urn.split("::")[2];
        counts[type] = (counts[type] ?? 0) + 1;
    }
    return counts;
}

/** The dev stack's config with its layout replaced by one of `workers` GPU workers. */
export function configWithWorkers(workers: number): Record<string, unknown> {
    const config = devConfig();
    const layout = config["openpai:layout"] as { "machine-list": Record<string, unknown>[] };
    const master = layout["machine-list"][0];
    layout["machine-list"] = [master, ...Array.from({ length: workers }, (_, i) => ({
        hostname: `pai-worker-${i}`, hostip: `10.${11 + Math.floor(i / 250)}.0.${(i % 250) + 1}`, "machine-type": "gpu-machine", "pai-worker": true,
    }))];
    delete config["openpai:virtualClusters"];
    return config;
}

/** The `config:` section of a stack file of this checkout. */
function stackFileConfig(file: string): Record<string, any> {
    return (yaml.load(fs.readFileSync(path.join(projectRoot, file), "utf8")) as { config: Record<string, any> }).config;
}

export function devConfig(): Record<string, unknown> {
    return stackFileConfig("Pulumi.dev.yaml");
}

/** The quick-start stack's config (existing mode on the local simulated cluster). */
export function quickstartConfig(): Record<string, any> {
    return stackFileConfig(path.join("scripts", "quickstart-simulated.stack.yaml"));
}

/** A throwaway SSH private key in OpenSSH format (the engine tests never connect with it). */
export function testPrivateKey(dir: string): string {
    const file = path.join(dir, "id_ed25519");
    if (!fs.existsSync(file)) {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "openpai-engine-test", "-f", file]);
    }
    return fs.readFileSync(file, "utf8");
}
