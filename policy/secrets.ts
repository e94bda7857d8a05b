import { Secret } from "@pulumi/policy";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";

/** Property name @pulumi/policy's secret-preserving proxies answer with their raw target. */
const proxyTarget = "__getSpecialProxyTarget";

/**
 * @pulumi/policy hands validation policies plain values, so a policy cannot tell a secret from
 * a plaintext value. Its remediation path keeps secrets as `Secret` objects behind a proxy that
 * still reads as plain values; this makes validation use the same deserialization, so the
 * secret-output policy can see what is secret. Reading values is unchanged for every policy.
 */
export function enableSecretAwareness(): void {
    const deserialize = require("@pulumi/policy/deserialize") as { deserializeProperties(s: unknown, proxy: boolean): unknown };
    const original = deserialize.deserializeProperties;
    deserialize.deserializeProperties = (struct: unknown) => original(struct, true);
}

/**
 * Whether `props[key]` is a Pulumi secret (needs enableSecretAwareness in the running pack).
 * A value not known yet (preview) counts as secret: its secretness is decided when it is known.
 */
export function isSecretProperty(props: Record<string, unknown>, key: string): boolean {
    // Policies get the properties behind two proxies (unknown-checking, then secret-unwrapping).
    let target = props;
    for (let inner = target[proxyTarget]; inner && inner !== target; inner = target[proxyTarget]) {
        target = inner as Record<string, unknown>;
    }
    return target[key] instanceof Secret || target[key] === unknownValue;
}
