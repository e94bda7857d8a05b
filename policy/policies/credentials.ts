import { ResourceValidationPolicy } from "@pulumi/policy";
import { podSpecOf } from "./workloads";

/** OpenPAI's shipped default admin password: a well-known credential. */
export const openPaiDefaultPassword = "admin-password";
/** Env names that hold a credential (not ones that merely name a Secret, like *_PULL_SECRETS). */
const credentialName = /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|CONNECTION_STR|CONNECTION_STRING|PRIVATE_?KEY)$/i;
const credentialKey = /password|passwd|secret|token|private[-_]?key/i;

export const noPlaintextCredentials: ResourceValidationPolicy = {
    name: "no-default-or-plaintext-credentials",
    description: "No PAI service uses OpenPAI's default password, and credentials never sit in plain env values or ConfigMaps. Fix: reference a Secret (env valueFrom.secretKeyRef) holding a generated value.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const spec = podSpecOf(args.type, args.props);
        const name = args.props.metadata?.name ?? "(unnamed)";
        for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
            for (const e of c.env ?? []) {
                if (e.value === openPaiDefaultPassword) {
                    report(`${name}/${c.name}: env ${e.name} is OpenPAI's default password`);
                } else if (credentialName.test(e.name ?? "") && e.value !== undefined && e.value !== "") {
                    report(`${name}/${c.name}: env ${e.name} holds a credential in plain text; use valueFrom.secretKeyRef`);
                }
            }
        }
        if (args.type === "kubernetes:core/v1:ConfigMap") {
            for (const [key, value] of Object.entries<string>(args.props.data ?? {})) {
                if (String(value).includes(openPaiDefaultPassword)) {
                    report(`ConfigMap ${name}: key ${key} contains OpenPAI's default password`);
                } else if (credentialKey.test(key)) {
                    report(`ConfigMap ${name}: key ${key} looks like a credential; keep it in a Secret`);
                }
            }
        }
    },
};
