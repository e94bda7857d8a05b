import { ConfigIssue } from "./errors";
import { parseUrl } from "./fields";
import type { StackConfig } from "./stack";

/** Each mirror's key fingerprint setting (a mirror that re-signs names its key). */
const mirrorKeys = [
    { url: "aptMirror", fingerprint: "aptMirrorKeyFingerprint" },
    { url: "nvidiaRepositoryMirror", fingerprint: "nvidiaRepositoryMirrorKeyFingerprint" },
] as const;

/** A key fingerprint without its mirror, and an NVIDIA mirror apt cannot exempt from the proxy. */
export function aptSourceIssues(config: StackConfig): ConfigIssue[] {
    const { cluster } = config;
    const issues: ConfigIssue[] = mirrorKeys.filter(({ url, fingerprint }) => cluster[fingerprint] && !cluster[url])
        .map(({ url, fingerprint }) => ({ path: `cluster.${fingerprint}`, message: `is set but cluster.${url} is not: the default repository's own key is pinned; set the mirror too, or remove the fingerprint` }));
    const mirror = cluster.nvidiaRepositoryMirror ? parseUrl(cluster.nvidiaRepositoryMirror, { path: true, credentials: "" }) : undefined;
    if (cluster.aptProxy && typeof mirror === "object" && mirror.host.startsWith("[")) {
        issues.push({ path: "cluster.nvidiaRepositoryMirror", message: "apt's configuration cannot name an IPv6 address to reach directly, past cluster.aptProxy: give the mirror a DNS name" });
    }
    return issues;
}
