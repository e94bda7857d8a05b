import { execFileSync, spawnSync } from "child_process";
import * as path from "path";
import { projectRoot, scriptBinDir } from "../engine/harness";

let kubeBin: string | undefined;

/** Directory of the local cluster's binaries (built or found in the cache). */
export function kubeBinaries(): string {
    kubeBin ??= scriptBinDir("kube-binaries.sh");
    return kubeBin;
}

/** A local simulated cluster (scripts/local-cluster.sh) in its own directory and ports. */
export class LocalCluster {
    readonly env: NodeJS.ProcessEnv;
    kubeconfig = "";

    constructor(readonly dir: string, apiPort: number, etcdPort: number) {
        this.env = {
            ...process.env,
            OPENPAI_LOCAL_CLUSTER_DIR: dir,
            OPENPAI_LOCAL_API_PORT: String(apiPort),
            OPENPAI_LOCAL_ETCD_PORT: String(etcdPort),
        };
    }

    private script(args: string[]): string {
        return execFileSync("bash", [path.join(projectRoot, "scripts", "local-cluster.sh"), ...args],
            { env: this.env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
    }

    up(stackFile: string): void {
        this.kubeconfig = this.script(["up", stackFile]).split("\n").pop()!;
    }

    down(): void {
        this.script(["down"]);
    }

    /** Runs kubectl against this cluster; returns stdout, throws with stderr on failure. */
    kubectl(args: string[], input?: string): string {
        const r = spawnSync(path.join(kubeBinaries(), "kubectl"), ["--kubeconfig", this.kubeconfig, ...args], { encoding: "utf8", input });
        if (r.status !== 0) {
            throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
        }
        return r.stdout;
    }

    json<T = any>(args: string[]): T {
        return JSON.parse(this.kubectl([...args, "-o", "json"]));
    }
}
