import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { projectRoot } from "./helpers";

/** What HiveD v0.3.4's own startup says of a config (test/hived-loader/main.go). */
export interface LoaderVerdict {
    /** "ok", "refused: <panic>", "crashed: <fatal error>" or "hung". */
    verdict: string;
    /** With "ok": HiveD's view of each VC (leaf cells, and the most one pod can get, per leaf type). */
    vcs?: Record<string, { leafCells: Record<string, number>; largestPod: Record<string, number> }>;
}

export interface HivedLoader {
    load(config: unknown): LoaderVerdict;
}

/** Where the pinned upstream sources are: $OPENPAI_UPSTREAM_DIR, else the workplace's copy beside the checkout (.ci/run). */
function upstreamDir(): string | undefined {
    return [process.env.OPENPAI_UPSTREAM_DIR, path.join(projectRoot, "..", "shared", "upstream")]
        .find(dir => dir && fs.existsSync(path.join(dir, "hivedscheduler-v0.3.4.tar.gz")));
}

function goAtHand(): boolean {
    return ["/usr/local/go/bin/go", ...(process.env.PATH ?? "").split(":").map(dir => path.join(dir, "go"))].some(go => fs.existsSync(go));
}

let cached: HivedLoader | string | undefined;

/**
 * HiveD's own config loading, built from the pinned source by test/hived-loader/build.sh (a few
 * minutes the first time on a machine, then cached by source digest), or why it cannot be run.
 */
export function hivedLoader(): HivedLoader | string {
    if (cached !== undefined) {
        return cached;
    }
    const upstream = upstreamDir();
    if (!upstream) {
        return (cached = "no hivedscheduler-v0.3.4.tar.gz in $OPENPAI_UPSTREAM_DIR or ../shared/upstream");
    }
    if (!goAtHand()) {
        return (cached = "no Go toolchain (go on PATH or /usr/local/go)");
    }
    const built = spawnSync("bash", [path.join(projectRoot, "test", "hived-loader", "build.sh")], {
        encoding: "utf8", env: { ...process.env, OPENPAI_UPSTREAM_DIR: upstream }, stdio: ["ignore", "pipe", "inherit"],
    });
    if (built.status !== 0) {
        throw new Error("test/hived-loader/build.sh failed (its output is above)");
    }
    const binary = built.stdout.trim().split("\n").pop()!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-hived-loader-"));
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    let n = 0;
    return (cached = {
        load(config: unknown): LoaderVerdict {
            const file = path.join(dir, `config-${n++}.yaml`);
            fs.writeFileSync(file, typeof config === "string" ? config : yaml.dump(config, { noRefs: true }));
            const r = spawnSync(binary, ["-summary", file], { encoding: "utf8" });
            fs.rmSync(file);
            const [verdict, summary] = r.stdout.trim().split("\n");
            return { verdict, vcs: summary ? JSON.parse(summary) : undefined };
        },
    });
}
