import { ResourceValidationPolicy } from "@pulumi/policy";
import { items } from "./workloads";

/** Kubernetes' built-in roles that grant (nearly) everything in their scope. */
export const broadRoles = ["cluster-admin", "admin", "edit"];
/** Verbs that let a holder grant itself more than it has. */
const escalatingVerbs = ["escalate", "bind", "impersonate"];
/** Subjects that stand for anonymous or every client of the API server. */
const everyone = ["system:anonymous", "system:unauthenticated", "system:authenticated"];

const roleTypes = ["kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "kubernetes:rbac.authorization.k8s.io/v1:Role"];
const bindingTypes = ["kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"];

export const rbacLeastPrivilege: ResourceValidationPolicy = {
    name: "rbac-least-privilege",
    description: "No binding to cluster-admin, admin or edit, or to anonymous or every authenticated client; no role with a wildcard (`*` group, resource or verb) or an escalating verb (escalate, bind, impersonate). Fix: bind a Role or ClusterRole listing only the verbs and resources the service calls (components/pai/manifests/<service>.ts, pinned in test/unit/pai-rbac.test.ts).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const kind = args.type.split(":").pop();
        const name = `${kind} ${args.props.metadata?.namespace ? `${args.props.metadata.namespace}/` : ""}${args.props.metadata?.name ?? "(unnamed)"}`;
        const fix = "Fix: grant only the verbs and resources the service's code calls (policy rbac-least-privilege).";
        if (roleTypes.includes(args.type)) {
            for (const rule of args.props.rules ?? []) {
                const wildcards = ["apiGroups", "resources", "verbs", "nonResourceURLs"].filter(field => items(rule[field]).includes("*"));
                if (wildcards.length > 0) {
                    report(`${name}: a rule grants everything in ${wildcards.join(", ")} (*). ${fix}`);
                }
                const escalating = items(rule.verbs).filter(v => escalatingVerbs.includes(v));
                if (escalating.length > 0) {
                    report(`${name}: a rule grants ${escalating.join(", ")}, with which a holder grants itself more. ${fix}`);
                }
            }
        }
        if (bindingTypes.includes(args.type)) {
            const role = args.props.roleRef?.name;
            if (broadRoles.includes(role)) {
                report(`${name}: binds ${items(args.props.subjects).map(s => `${s.kind} ${s.namespace ? `${s.namespace}/` : ""}${s.name}`).join(", ")} to ${role}. ${fix}`);
            }
            for (const subject of args.props.subjects ?? []) {
                if (everyone.includes(subject.name)) {
                    report(`${name}: grants ${role} to ${subject.name}, i.e. to clients that prove nothing. Fix: bind the service accounts that need it (policy rbac-least-privilege).`);
                }
            }
        }
    },
};
