import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CommandResult, must, projectRoot, PulumiWorkspace, runPulumi, Stack } from "../engine/harness";
import { Lab } from "../lab/lab";
import { setTimeout as sleep } from "timers/promises";
import { portalRequest, PortalRequest, PortalResponse } from "./portal-client";

/** The quick start's simulated 8-GPU workers (scripts/quickstart.stack.yaml: provision: false). */
export const gpuNodes = ["gpu-0", "gpu-1", "gpu-2", "gpu-3"].map((name, i) => ({ name, address: `10.78.1.${10 + i}` }));
/** The portal as users reach it: HTTPS on the master (pylon). */
export const portal = "https://10.78.0.10";

/** Where `npm run quickstart` keeps its state, and its stack. */
const quickstartState = path.join(projectRoot, ".pulumi-quickstart");
const quickstartStack = "quickstart";
const stackFile = path.join(projectRoot, `Pulumi.${quickstartStack}.yaml`);
const template = path.join(projectRoot, "scripts", "quickstart.stack.yaml");

/** Runs a bash command line in the project directory as a user's new shell would; its output goes to the test's. */
export function shell(command: string, timeoutMs = 60 * 60 * 1000): { code: number; out: string; ms: number } {
    const started = Date.now();
    const env = { HOME: process.env.HOME!, PATH: "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin" };
    const r = spawnSync("bash", ["-c", command], { cwd: projectRoot, env, encoding: "utf8", maxBuffer: 1 << 28, timeout: timeoutMs });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, ms: Date.now() - started };
}

/** The variables `.pulumi-quickstart/env.sh` exports, as `bash` sees them after sourcing it. */
function quickstartEnv(): NodeJS.ProcessEnv {
    const r = spawnSync("bash", ["-c", `. ${path.join(quickstartState, "env.sh")} && env -0`], { encoding: "utf8", env: process.env });
    if (r.status !== 0) {
        throw new Error(`cannot source the quick start's env.sh: ${r.stderr}`);
    }
    return Object.fromEntries(r.stdout.split("\0").filter(Boolean).map(kv => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
}

/** The quick start's project: the checkout itself, with the quick start's backend and passphrase. */
class QuickstartWorkspace implements PulumiWorkspace {
    readonly dir = quickstartState;
    readonly project = projectRoot;
    readonly env = quickstartEnv();

    pulumi(args: string[], input?: string): CommandResult {
        return runPulumi(this.project, this.env, args, input);
    }
}

/** Whether a quick start is up: its state, its kwok and its master are there. */
export function quickstartRunning(): boolean {
    const pidFile = path.join(quickstartState, "kwok.pid");
    if (!fs.existsSync(path.join(quickstartState, "env.sh")) || !fs.existsSync(pidFile)) {
        return false;
    }
    try {
        process.kill(Number(fs.readFileSync(pidFile, "utf8")), 0);
    } catch {
        return false;
    }
    return new Lab().hosts().some(h => h.name === "pai-master" && h.running);
}

/**
 * OpenPAI for real on the lab, as `npm run quickstart` makes it: one kubeadm stack with the
 * platform on (a master and two CPU workers of the lab's systemd hosts) and four simulated 8-GPU
 * nodes (kwok). Core services and CPU jobs run on the real nodes; GPU jobs are bound by HiveD to
 * the simulated ones. Tiers share one quick start when one is up (CI runs them in a row);
 * each resets it to the template's config and stops leftover jobs first.
 */
export class PaiLab {
    readonly lab = new Lab();
    engine!: PulumiWorkspace;
    /** The quick start's stack. */
    pai!: Stack;
    kubeconfig = path.join(quickstartState, "kubeconfig");
    /** The CA the portal's certificate is checked with (the stack's portalCaCertificate, or a test's own). */
    portalCa = "";
    readonly timings: Record<string, number> = {};
    /** Whether this lab started the quick start (and so stops it). */
    private owned = false;

    async up(): Promise<void> {
        if (!quickstartRunning()) {
            const r = shell("npm run quickstart");
            process.stdout.write(r.out.slice(r.out.indexOf("OpenPAI runs on this machine")));
            if (r.code !== 0) {
                throw new Error(`npm run quickstart failed (exit ${r.code}):\n${r.out.slice(-6000)}`);
            }
            this.timings.quickstart = r.ms;
            this.owned = true;
        }
        this.engine = new QuickstartWorkspace();
        this.pai = new Stack(this.engine, quickstartStack, stackFile);
        await this.reset();
    }

    /**
     * Back to the quick start as it was made: the template's config (a tier may have changed VCs,
     * groups or the certificate), applied by an up only when it differs, and no job left running
     * or waiting.
     */
    async reset(): Promise<void> {
        const wanted = (yaml.load(fs.readFileSync(template, "utf8")) as { config: Record<string, unknown> }).config;
        // The one setting the template cannot hold, as scripts/quickstart.sh adds it: the lab's apt key.
        wanted["openpai:cluster"] = { ...(wanted["openpai:cluster"] as object), aptMirrorKeyFingerprint: this.lab.env().aptKeyFingerprint };
        const current = (yaml.load(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> }).config;
        const extra = Object.keys(current).filter(k => !(k in wanted) && k !== "openpai:sshPrivateKey");
        const changed = extra.length > 0 || Object.entries(wanted).some(([k, v]) => JSON.stringify(current[k]) !== JSON.stringify(v));
        if (changed) {
            for (const key of extra) {
                must(this.pai.run(["config", "rm", key]));
            }
            this.pai.writeConfig(wanted);
            const started = Date.now();
            must(this.pai.run(["up", "--yes", "--skip-preview"]));
            // The up returns once the new pod specs are written; the services it rolled (HiveD and
            // rest-server on a VC change, pylon on a certificate change) answer after their rollout.
            for (const workload of ["statefulset/hivedscheduler-hs", "daemonset/rest-server", "daemonset/pylon"]) {
                this.kubectl(["-n", "default", "rollout", "status", workload, "--timeout=5m"]);
            }
            this.timings.reset_up = Date.now() - started;
        }
        this.portalCa = must(this.pai.run(["stack", "output", "portalCaCertificate"])).stdout.trim();
        // The quick start's printed commands trust this file; a tier's own certificate replaced the CA.
        fs.writeFileSync(path.join(quickstartState, "openpai-ca.crt"), `${this.portalCa}\n`);
        await waitFor("the portal", async () => (await this.fetch("/rest-server/api/v2/info")).status === 200 || undefined);
        await this.stopActiveJobs();
    }

    /** Stops every job that runs or waits (a tier leaves its jobs behind) and waits until they stopped. */
    private async stopActiveJobs(): Promise<void> {
        const token = await this.login("admin", this.adminPassword());
        // rest-server may still be syncing after a roll: list until it answers with the list.
        const jobs = await waitFor("rest-server's job list", async () => {
            const r = await this.rest("GET", "/api/v2/jobs", { token });
            return r.status === 200 && Array.isArray(r.body) ? r.body as { name: string; username: string; state: string }[] : undefined;
        });
        const active = jobs.filter(j => ["RUNNING", "WAITING"].includes(j.state));
        for (const job of active) {
            // Asked again when rest-server, just rolled, leaves the request unanswered (CI run 5: 30 s).
            await waitFor(`rest-server to take the stop of ${job.name}`, async () =>
                (await this.rest("PUT", `/api/v2/jobs/${job.username}~${job.name}/executionType`, { token, json: { value: "STOP" } })).status < 500 || undefined);
        }
        for (const job of active) {
            await waitFor(`job ${job.name} to stop`, async () => {
                const r = await this.rest("GET", `/api/v2/jobs/${job.username}~${job.name}`, { token });
                return ["STOPPED", "SUCCEEDED", "FAILED"].includes(r.body?.jobStatus?.state) || undefined;
            });
        }
    }

    kubectl(args: string[], input?: string): string {
        // Whole answers: a service's log runs to megabytes (frameworkcontroller's).
        const r = spawnSync("kubectl", ["--kubeconfig", this.kubeconfig, ...args], { encoding: "utf8", input, env: this.engine.env, maxBuffer: 1 << 30 });
        if (r.status !== 0) {
            throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
        }
        return r.stdout;
    }

    json<T = any>(args: string[]): T {
        return JSON.parse(this.kubectl([...args, "-o", "json"]));
    }

    adminPassword(): string {
        return must(this.pai.run(["stack", "output", "adminPassword", "--show-secrets"])).stdout.trim();
    }

    /** A request to the portal (a path on it, or a full URL), trusting its CA. */
    fetch(pathOrUrl: string, options: PortalRequest = {}): Promise<PortalResponse> {
        return portalRequest(new URL(pathOrUrl, portal).toString(), { ca: this.portalCa, ...options });
    }

    /** A call to rest-server through pylon, as the portal makes it. */
    async rest(method: string, route: string, options: { token?: string; json?: unknown; yaml?: string } = {}): Promise<{ status: number; body: any }> {
        const headers: Record<string, string> = {};
        if (options.token) {
            headers.Authorization = `Bearer ${options.token}`;
        }
        let body: string | undefined;
        if (options.json !== undefined) {
            headers["Content-Type"] = "application/json";
            body = JSON.stringify(options.json);
        } else if (options.yaml !== undefined) {
            headers["Content-Type"] = "text/yaml";
            body = options.yaml;
        }
        const res = await this.fetch(`/rest-server${route}`, { method, headers, body });
        let parsed: unknown = res.text;
        try {
            parsed = JSON.parse(res.text);
        } catch {
            // not JSON: keep the text
        }
        return { status: res.status, body: parsed };
    }

    async login(username: string, password: string): Promise<string> {
        const r = await this.rest("POST", "/api/v1/authn/basic/login", { json: { username, password, expiration: 3600 } });
        if (r.status !== 200 || !r.body.token) {
            throw new Error(`login of ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
        }
        return r.body.token;
    }

    /** Creates a user of rest-server (or finds it made by an earlier tier). */
    async ensureUser(token: string, username: string, password: string, groups: string[] = ["default"]): Promise<void> {
        const created = await this.rest("POST", "/api/v2/users", { token, json: { username, password, admin: false } });
        if (created.status !== 201 && created.status !== 409) {
            throw new Error(`creating user ${username}: ${created.status} ${JSON.stringify(created.body)}`);
        }
        const grouped = await this.rest("PUT", `/api/v2/users/${username}/grouplist`, { token, json: { grouplist: groups } });
        if (grouped.status >= 300) {
            throw new Error(`groups of ${username}: ${grouped.status} ${JSON.stringify(grouped.body)}`);
        }
    }

    /** Stops the quick start if this lab started it; otherwise leaves it to the next tier. */
    async down(): Promise<void> {
        if (this.owned) {
            const r = shell("npm run quickstart -- --down");
            if (r.code !== 0) {
                throw new Error(`npm run quickstart -- --down failed:\n${r.out.slice(-4000)}`);
            }
        }
    }
}

/** Polls `check` every 3 s until it returns a value or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5 * 60 * 1000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value !== undefined && value !== false) {
                return value;
            }
        } catch (err) {
            last = err;
        }
        await sleep(3000);
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}
