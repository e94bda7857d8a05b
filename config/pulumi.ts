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
