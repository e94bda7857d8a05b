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

/**
 * The text a step runs: its settings as exports, the shared helpers, then the step script.
 * It goes on the SSH command's stdin, so editing a script changes the input and re-runs the step.
 */
export function renderStep(step: StepName, checkOnly: boolean, settings: StepSettings = {}): string {
    const exports = Object.entries({ STEP: step, CHECK_ONLY: checkOnly ? 1 : 0, ...settings })
        .map(([k, v]) => `export ${k}=${shellQuote(String(v))}`);
    return ["#!/usr/bin/env bash", "set -euo pipefail", ...exports, read("lib.sh"), read(`${step}.sh`)].join("\n");
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

/** A command line that runs a rendered step without stdin (for `delete`, which has no stdin of its own). */
export function inlineStep(runner: string, rendered: string): string {
    return `${runner} <<'OPENPAI_STEP_EOF'\n${rendered}\nOPENPAI_STEP_EOF`;
}
