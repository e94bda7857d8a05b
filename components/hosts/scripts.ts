import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/** The step scripts in components/hosts/scripts/ (one file each). */
export type StepName = "prepare" | "preflight" | "kernel" | "nvidia-driver" | "wait-boot" | "containerd" | "nvidia-toolkit"
    | "kube-packages" | "kubeadm-init" | "kubeconfig" | "join-token" | "kubeadm-join" | "kubeadm-reset" | "node" | "devbox";

/** Settings a step script reads, exported before it runs. */
export type StepSettings = Record<string, string | number | boolean>;

/** The scripts live beside the sources; compiled code (dist/) finds them from the project root. */
function scriptsDir(): string {
    const candidates = [path.join(__dirname, "scripts"), path.join(__dirname, "..", "..", "..", "components", "hosts", "scripts")];
    const found = candidates.find(dir => fs.existsSync(path.join(dir, "lib.sh")));
    if (!found) {
        throw new Error(`host step scripts not found (looked in ${candidates.join(", ")})`);
    }
    return found;
}

const cache = new Map<string, string>();
function read(file: string): string {
    let text = cache.get(file);
    if (text === undefined) {
        text = fs.readFileSync(path.join(scriptsDir(), file), "utf8");
        cache.set(file, text);
    }
    return text;
}

/** Single-quotes a value for bash. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'"'"'`)}'`;
}

/** One step script of a host resource, with the settings it reads. */
export interface StepPart {
    step: StepName;
    settings?: StepSettings;
}

/** The start of every host script: strict mode and the shared helpers (lib.sh). */
export function scriptHelpers(): string {
    return ["#!/usr/bin/env bash", "set -euo pipefail", read("lib.sh")].join("\n");
}

/**
 * Step scripts in order, each in a subshell of its own with its settings exported (a step's early
 * `exit 0` ends that step only; a failing step fails the whole run). They need scriptHelpers first.
 */
export function stepScripts(parts: StepPart[], checkOnly: boolean): string {
    return parts.map(({ step, settings }) => {
        const exports = Object.entries({ STEP: step, CHECK_ONLY: checkOnly ? 1 : 0, ...settings })
            .map(([k, v]) => `export ${k}=${shellQuote(String(v))}`);
        return [`# ---- step: ${step} ----`, "(", ...exports, read(`${step}.sh`), ")"].join("\n");
    }).join("\n");
}

/**
 * The text a host resource runs: the helpers once, then its step scripts. It goes on the SSH
 * command's stdin, so editing a script changes the input of exactly the resources that run it,
 * and the preview's diff shows which step.
 */
export function renderSteps(parts: StepPart[], checkOnly: boolean): string {
    return `${scriptHelpers()}\n${stepScripts(parts, checkOnly)}`;
}

/** The text of a resource that runs one step. */
export function renderStep(step: StepName, checkOnly: boolean, settings: StepSettings = {}): string {
    return renderSteps([{ step, settings }], checkOnly);
}

/** A short digest of a rendered script: a setting that changes exactly when that script's text does. */
export function scriptDigest(rendered: string): string {
    return crypto.createHash("sha256").update(rendered).digest("hex").slice(0, 16);
}

/**
 * The remote command that runs a script from stdin as root: directly for root, else through
 * `sudo -n` (cloud images log in as a sudo user), failing with the fix when sudo asks a password.
 */
export function asRoot(user: string): string {
    if (user === "root") {
        return "bash -s";
    }
    return `sudo -n true 2>/dev/null || { echo "openpai: user ${user} needs passwordless sudo on this host (a line '${user} ALL=(ALL) NOPASSWD:ALL' in /etc/sudoers.d/), as cloud images have" >&2; exit 1; }; exec sudo -n bash -s`;
}
