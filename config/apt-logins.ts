import { ConfigIssue } from "./errors";
import { parseUrl } from "./fields";
import type { StackConfig } from "./stack";

/**
 * Logins for the apt proxy and the Kubernetes apt mirror: the user in cluster.aptProxyUser /
 * aptMirrorUser, the password a secret (openpai:aptProxyPassword / aptMirrorPassword). The hosts
 * keep them in apt's auth.conf.d (0600), never in a URL, a log or the state in plain text.
 */
const logins = [
    { url: "aptProxy", user: "aptProxyUser", password: "aptProxyPassword" },
    { url: "aptMirror", user: "aptMirrorUser", password: "aptMirrorPassword" },
] as const;

/** A login without its URL or without its user, and a mirror apt cannot exempt from the proxy. */
export function aptLoginIssues(config: StackConfig): ConfigIssue[] {
    const { cluster, providedSecrets } = config;
    const issues: ConfigIssue[] = [];
    for (const { url, user, password } of logins) {
        if (cluster[user] && !cluster[url]) {
            issues.push({ path: `cluster.${user}`, message: `is set but cluster.${url} is not: set the URL too, or remove the user` });
        }
        if (providedSecrets.has(password) && !cluster[user]) {
            issues.push({ path: password, message: `is set but cluster.${user} is not: set the user name too, or remove the password ('pulumi config rm openpai:${password}')` });
        }
    }
    const mirror = cluster.aptMirror ? parseUrl(cluster.aptMirror, { path: true, credentials: "" }) : undefined;
    if (cluster.aptProxy && typeof mirror === "object" && mirror.host.startsWith("[")) {
        issues.push({ path: "cluster.aptMirror", message: "apt's configuration cannot name an IPv6 address to reach directly, past cluster.aptProxy: give the mirror a DNS name" });
    }
    return issues;
}

/** The password secrets still to set for the logins the stack names. */
export function missingAptPasswords(config: StackConfig): ConfigIssue[] {
    return logins.filter(({ user, password }) => config.cluster[user] && !config.providedSecrets.has(password))
        .map(({ user, password }) => ({ path: password, message: `cluster.${user} is set: also run 'pulumi config set --secret openpai:${password} ...'` }));
}
