import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./errors";
import { configNamespace, parseStackConfig, RawConfigValue, secretKeys, StackConfig } from "./stack";

/** Not in the SDK's typings, but exported by its runtime: tells whether a config key is a secret. */
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

/**
 * Reads and validates the stack's `openpai:*` config in the running Pulumi program. Secret
 * values are not read here, only whether they are set and stored as secrets. Bad config ends
 * the program with the list of problems (a RunError: no stack trace).
 */
export function loadStackConfig(): StackConfig {
    const raw: Record<string, RawConfigValue> = {};
    const prefix = `${configNamespace}:`;
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!fullKey.startsWith(prefix)) {
            continue;
        }
        const key = fullKey.slice(prefix.length);
        const secret = runtimeConfig.isConfigSecret(fullKey);
        raw[key] = { value: (secretKeys as readonly string[]).includes(key) ? undefined : value, secret };
    }
    try {
        return parseStackConfig(raw, `stack ${pulumi.getStack()}`);
    } catch (err) {
        if (err instanceof ConfigError) {
            throw new pulumi.RunError(err.message);
        }
        throw err;
    }
}

/** The stack's credentials as secret Outputs (only those the stack sets). */
export interface StackSecrets {
    sshPrivateKey?: pulumi.Output<string>;
    sshPassword?: pulumi.Output<string>;
    kubeconfig?: pulumi.Output<string>;
    registryPassword?: pulumi.Output<string>;
    /** Passwords of cluster.aptProxyUser and cluster.aptMirrorUser (apt's auth.conf.d on the hosts). */
    aptProxyPassword?: pulumi.Output<string>;
    aptMirrorPassword?: pulumi.Output<string>;
    /** The key of the portal's certificate (openpai:tls). */
    tlsKey?: pulumi.Output<string>;
    /** The password of alerts.email.username at the SMTP server. */
    alertSmtpPassword?: pulumi.Output<string>;
}

/** Reads the credentials; a kubeconfig given as `cluster.kubeconfigPath` is read from that file. */
export function loadStackSecrets(config: StackConfig): StackSecrets {
    const cfg = new pulumi.Config(configNamespace);
    const out: StackSecrets = {};
    for (const key of secretKeys) {
        if (config.providedSecrets.has(key)) {
            out[key] = cfg.requireSecret(key);
        }
    }
    if (!out.kubeconfig && config.cluster.kubeconfigPath) {
        const file = path.resolve(config.cluster.kubeconfigPath);
        try {
            out.kubeconfig = pulumi.secret(fs.readFileSync(file, "utf8"));
        } catch (err) {
            throw new pulumi.RunError(`cluster.kubeconfigPath: cannot read ${file} (${(err as NodeJS.ErrnoException).code}): fix the path, or set the kubeconfig with 'pulumi config set --secret openpai:kubeconfig < kubeconfig'`);
        }
    }
    return out;
}
