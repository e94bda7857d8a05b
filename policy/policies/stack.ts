import { StackValidationPolicy } from "@pulumi/policy";
import { isSecretProperty } from "../secrets";

/** Stack outputs that must be secrets whenever they are exported. */
export const secretOutputs = ["adminPassword", "kubeconfig", "sshPrivateKey", "registryPassword"];

export const stackOutputs: StackValidationPolicy = {
    name: "stack-outputs",
    description: "The stack exports the portal URL and the admin user, and every credential it exports (admin password, kubeconfig, keys) is a secret. Fix: export them from index.ts, wrapping credentials in pulumi.secret().",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const stack = args.resources.find(r => r.type === "pulumi:pulumi:Stack");
        if (!stack) {
            return;
        }
        for (const required of ["portalUrl", "adminUser"]) {
            if (!(required in stack.props)) {
                report(`stack output '${required}' is missing`);
            }
        }
        for (const name of secretOutputs) {
            if (name in stack.props && !isSecretProperty(stack.props, name)) {
                report(`stack output '${name}' is not a secret: it would be stored and shown in plain text`);
            }
        }
    },
};
