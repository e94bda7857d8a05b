import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/** The step scripts in components/hosts/scripts/ (one file each). */
export type StepName = "prepare" | "preflight" | "kernel" | "nvidia-driver" | "reboot" | "wait-boot" | "containerd" | "nvidia-toolkit"
    | "kube-packages" | "kubeadm-init" | "kubeconfig" | "join-token" | "kubeadm-join" | "kubeadm-reset" | "node" | "drain" | "devbox"
    | "backup" | "restore" | "kube-upgrade";

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

/** The helpers' files, sent (or installed) together ahead of every step. */
const helperSources = ["lib.sh", "lib-containerd.sh"];

const cache = new Map<string, string>();
function read(file: string): string {
    let text = cache.get(file);
    if (text === undefined) {
        text = fs.readFileSync(path.join(scriptsDir(), file), "utf8");
        cache.set(file, text);
    }
    return text;
}

/** The helpers' text: their files, one after another. */
function helpers(): string {
    return helperSources.map(read).join("\n");
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

/**
 * How a host script gets the shared helpers (lib.sh, lib-containerd.sh): `inline` in its text;
 * `install` in its text, also kept on the host (the first resource of a host); `installed` by
 * sourcing the host's copy (every later resource: the helpers are not sent again and again).
 * Check-only runs install nothing, so they always send them inline.
 */
export type Helpers = "inline" | "install" | "installed";

let helpersFile: string | undefined;

/**
 * Where a host keeps the helpers: one file per version of them, never removed (a later delete
 * still names the version it was created with), so editing a helpers file changes every script
 * using it.
 */
export function helpersPath(): string {
    // Every host resource names it: the helpers are hashed once per run, not once per resource.
    helpersFile ??= `/usr/local/lib/openpai/helpers-${scriptDigest(helpers())}.sh`;
    return helpersFile;
}

/** Exit code of a script whose host has no helpers: not provisioned by this stack, or reinstalled. */
export const notProvisionedExit = 3;

function helpersText(mode: Helpers): string {
    const file = helpersPath();
    switch (mode) {
    case "inline":
        return helpers();
    case "install":
        return `if [[ ! -f ${file} ]]; then
  install -d -m 0755 /usr/local/lib/openpai
  cat >${file}.tmp <<'OPENPAI_HELPERS_EOF'
${helpers()}
OPENPAI_HELPERS_EOF
  mv ${file}.tmp ${file}
  echo "[helpers] changed: wrote ${file}"
fi
# shellcheck source=/dev/null
source ${file}`;
    case "installed":
        return `[[ -f ${file} ]] || { echo "openpai: $(hostname) has no ${file}: it was not provisioned by this stack (or was reinstalled); run pulumi up" >&2; exit ${notProvisionedExit}; }
# shellcheck source=/dev/null
source ${file}`;
    }
}

/**
 * Step scripts in order, each in a subshell of its own with its settings exported (a step's early
 * `exit 0` ends that step only; a failing step fails the whole run).
 */
function stepScripts(parts: StepPart[], checkOnly: boolean): string {
    return parts.map(({ step, settings }) => {
        const exports = Object.entries({ STEP: step, CHECK_ONLY: checkOnly ? 1 : 0, ...settings })
            .map(([k, v]) => `export ${k}=${shellQuote(String(v))}`);
        return [`# ---- step: ${step} ----`, "(", ...exports, read(`${step}.sh`), ")"].join("\n");
    }).join("\n");
}

/**
 * The text a host resource runs: strict mode, the helpers, then its step scripts. It goes on the
 * SSH command's stdin, so editing a script changes the input of exactly the resources that run
 * it, and the preview's diff shows which step. bash reads that stdin as it goes (bash -s), so the
 * helpers and steps are one block with its stdin from /dev/null, read whole before it runs: no
 * command of a step (a prompting package, a tool reading its input) can swallow the steps after it.
 */
export function renderSteps(parts: StepPart[], checkOnly: boolean, helpers: Helpers = "inline"): string {
    return ["#!/usr/bin/env bash", "set -euo pipefail", "{", helpersText(checkOnly ? "inline" : helpers), stepScripts(parts, checkOnly), "} </dev/null"].join("\n");
}

/**
 * A step script run outside the engine (the CLI's backup and restore, over the admin's own ssh),
 * with the helpers inline and its stdin left to it: those steps stream their data through it.
 */
export function standaloneScript(step: StepName, settings: StepSettings): string {
    const exports = Object.entries({ STEP: step, CHECK_ONLY: 0, ...settings }).map(([k, v]) => `export ${k}=${shellQuote(String(v))}`);
    return ["set -euo pipefail", helpers(), ...exports, read(`${step}.sh`)].join("\n");
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
