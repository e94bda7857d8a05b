import { spawnSync } from "child_process";
import * as path from "path";
import * as assert from "assert";
import { ConfigError, RawConfigValue } from "../../config";
import { setTimeout as sleep } from "timers/promises";

/** A valid layout: one master and `workers` 8-GPU workers. */
/** Runs a bash script from stdin, as a host runs a step resource's script (bash -s), here. */
export function runScript(script: string, env: Record<string, string> = {}, cwd?: string): { status: number | null; stdout: string; stderr: string } {
    return spawnSync("bash", ["-s"], { input: script, encoding: "utf8", cwd, env: { ...process.env, ...env }, timeout: 60_000 });
}

export function layout(workers = 2): any {
    return {
        "machine-sku": {
            "master-machine": { mem: "64Gi", cpu: { vcore: 16 } },
            "gpu-machine": { mem: "512Gi", cpu: { vcore: 64 }, "computing-device": { type: "nvidia.com/gpu", model: "A100", count: 8 } },
        },
        "machine-list": [
            { hostname: "pai-master", hostip: "10.0.0.10", "machine-type": "master-machine", "pai-master": true },
            ...Array.from({ length: workers }, (_, i) => ({
                hostname: `pai-worker-${i}`, hostip: `10.0.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`, "machine-type": "gpu-machine", "pai-worker": true,
            })),
        ],
    };
}

/** Raw stack config values as the engine would hand them over (secrets marked, values hidden). */
export function rawStack(values: Record<string, unknown>, secrets: string[] = ["sshPrivateKey"]): Record<string, RawConfigValue> {
    const raw: Record<string, RawConfigValue> = {};
    for (const [k, v] of Object.entries(values)) {
        raw[k] = { value: v, secret: false };
    }
    for (const k of secrets) {
        raw[k] = { value: undefined, secret: true };
    }
    return raw;
}

/** The project root (tests run from dist/test/unit). */
export const projectRoot = path.join(__dirname, "..", "..", "..");

/** Runs the installed `openpai` command the way a user does. */
export function openpai(...args: string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [path.join(projectRoot, "bin", "openpai.js"), ...args], { encoding: "utf8", cwd: projectRoot });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Waits until a mock's list of registered resources stops growing: resources register
 * asynchronously after their constructors return, later on a busy machine.
 */
export async function registrationsSettled(registered: unknown[], quietMs = 300, limitMs = 30000): Promise<void> {
    const started = Date.now();
    let count = -1;
    while (count !== registered.length && Date.now() - started < limitMs) {
        count = registered.length;
        await sleep(quietMs);
    }
}

/** The problems `parseIt` reports, as "path: message" lines (none when it parses). */
export function configProblems(parseIt: () => unknown): string[] {
    try {
        parseIt();
        return [];
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.issues.map(i => `${i.path}: ${i.message}`);
    }
}
