import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, servicesSchema } from "../../config";
import { OpenPaiCluster, optionalServicesOn } from "../../components/cluster";
import { layout, rawStack, registrationsSettled } from "./helpers";

interface Registered {
    type: string;
    name: string;
    inputs: any;
    provider?: string;
}

describe("OpenPaiCluster in existing mode (mocks)", () => {
    const registered: Registered[] = [];
    let cluster: OpenPaiCluster;

    before(async () => {
        await pulumi.runtime.setMocks({
            newResource: args => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
                const state = args.type.startsWith("random:") ? { ...args.inputs, result: `generated-${args.name}` } : args.inputs;
                return { id: `${args.name}-id`, state };
            },
            call: args => args.inputs,
        }, "openpai", "lab", false, "organization");
        const config = parseStackConfig(rawStack({ layout: layout(3), cluster: { name: "lab", mode: "existing" } }, ["kubeconfig"]));
        cluster = new OpenPaiCluster("lab", { config, secrets: { kubeconfig: pulumi.secret("apiVersion: v1\nkind: Config\n") } });
        await new Promise<void>(resolve => cluster.adminPassword.apply(() => resolve()));
        await registrationsSettled(registered);
    });

    const ofType = (type: string) => registered.filter(r => r.type === type);
    /** Pulumi's marker of a secret value in serialized inputs. */
    const secretSig = "4dabf18193072939515e22adb298388d";
    const secretValue = (v: any) => {
        assert.ok(v && v[secretSig], "expected a secret value");
        return v.value;
    };

    it("creates a provider for the kubeconfig with a stable cluster identity", () => {
        const providers = ofType("pulumi:providers:kubernetes");
        assert.strictEqual(providers.length, 1);
        assert.strictEqual(providers[0].inputs.clusterIdentifier, "lab");
        assert.strictEqual(providers[0].name, "lab-cluster-provider");
    });

    it("labels every layout machine's node", () => {
        const patches = ofType("kubernetes:core/v1:NodePatch");
        assert.deepStrictEqual(patches.map(p => [p.inputs.metadata.name, p.inputs.metadata.labels]), [
            ["pai-master", { "pai-master": "true" }],
            ["pai-worker-0", { "pai-worker": "true", "nvidia.com/gpu.present": "true" }],
            ["pai-worker-1", { "pai-worker": "true", "nvidia.com/gpu.present": "true" }],
            ["pai-worker-2", { "pai-worker": "true", "nvidia.com/gpu.present": "true" }],
        ]);
    });

    it("declares every PAI service as a component with typed children on the cluster's provider", () => {
        const services = registered.filter(r => r.type.startsWith("openpai:pai:")).map(r => r.type);
        for (const t of ["Services", "ClusterConfiguration", "HostGuard", "DevicePlugins", "FrameworkController", "HivedScheduler", "PostgreSQL", "DatabaseController",
            "RestServer", "Runtime", "Webportal", "LogManager", "Pylon", "Monitoring", "Marketplace"]) {
            assert.ok(services.includes(`openpai:pai:${t}`), `openpai:pai:${t} missing`);
        }
        const k8sObjects = registered.filter(r => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:core/v1:NodePatch");
        assert.ok(k8sObjects.length > 50, `only ${k8sObjects.length} objects`);
        assert.ok(k8sObjects.every(r => r.provider?.includes("lab-cluster-provider")), "every object uses the cluster's provider");
        assert.ok(k8sObjects.every(r => r.name.startsWith("lab-pai")), "children are named after the component");
    });

    it("stores generated credentials in Secrets, never OpenPAI's default password", () => {
        const secrets = ofType("kubernetes:core/v1:Secret");
        const data = (name: string) => secretValue(secrets.find(s => s.inputs.metadata.name === name)!.inputs.stringData);
        assert.strictEqual(data("rest-server-secrets")["admin-password"], "generated-lab-admin-password");
        assert.strictEqual(data("rest-server-secrets")["admin-username"], "admin");
        assert.match(data("pai-database")["connection-string"], /^postgresql:\/\/root:generated-lab-database-password@10.0.0.10:5432\/openpai$/);
        assert.match(data("job-ssh-secret")["ssh-privatekey"], /BEGIN OPENSSH PRIVATE KEY/);
        assert.ok(!JSON.stringify(registered).includes("\"admin-password\":\"admin-password\""));
    });
});

describe("optionalServicesOn (the facts the optional-services policy checks)", () => {
    it("lists the switched-on services only, never platform or the numeric settings", () => {
        assert.deepStrictEqual(optionalServicesOn(servicesSchema.parse({})), ["prometheus", "grafana", "alertManager", "nodeExporter", "jobExporter", "watchdog"]);
        const off = servicesSchema.parse({ prometheus: false, grafana: false, alertManager: false, nodeExporter: false, jobExporter: false, watchdog: false, cpuRequestScale: 0.25 });
        assert.deepStrictEqual(optionalServicesOn(off), []);
    });
});
