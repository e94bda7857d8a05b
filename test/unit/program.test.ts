import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";

const root = path.join(__dirname, "..", "..", "..");

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

/** Resolves an Output's value and whether it is secret, under mocks. */
async function settle<T>(output: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
    const secret = await (output as unknown as { isSecret: Promise<boolean> }).isSecret;
    const value = await new Promise<T>(resolve => output.apply(v => { resolve(v); return v; }));
    return { value, secret };
}

describe("index.ts under mocks (dev stack)", () => {
    const registered: Registered[] = [];
    let program: Record<string, pulumi.Output<unknown>>;

    before(async () => {
        await pulumi.runtime.setMocks({
            newResource: args => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                const state = args.type === "random:index/randomPassword:RandomPassword" ? { ...args.inputs, result: "mock-password-123" } : args.inputs;
                return { id: `${args.name}-id`, state };
            },
            call: args => args.inputs,
        }, "openpai", "dev", false, "organization");
        const stackFile = yaml.load(fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
        const config: Record<string, string> = {};
        for (const [k, v] of Object.entries(stackFile.config)) {
            config[k] = typeof v === "string" ? v : JSON.stringify(v);
        }
        config["openpai:sshPrivateKey"] = "mock-private-key";
        pulumi.runtime.setAllConfig(config, ["openpai:sshPrivateKey"]);
        program = await import(path.join(root, "dist", "index.js"));
    });

    it("exports the portal URL, admin user and versions", async () => {
        assert.strictEqual((await settle(program.portalUrl)).value, "https://10.10.0.10/");
        assert.strictEqual((await settle(program.adminUser)).value, "admin");
        assert.deepStrictEqual((await settle(program.versions)).value, { pai: "v1.8.0", kubernetes: "v1.34.3" });
    });

    it("exports a generated admin password as a secret, never the OpenPAI default", async () => {
        const password = await settle(program.adminPassword);
        assert.strictEqual(password.secret, true);
        assert.notStrictEqual(password.value, "admin-password");
        const generator = registered.find(r => r.type === "random:index/randomPassword:RandomPassword");
        assert.ok(generator, "a RandomPassword is declared");
        assert.ok((generator.inputs.length as number) >= 16);
    });

    it("exports the VC capacity table", async () => {
        const vcs = (await settle(program.virtualClusters)).value as { vc: string; gpus: number }[];
        assert.deepStrictEqual(vcs.map(v => [v.vc, v.gpus]), [["default", 8], ["vc1", 8]]);
    });

    it("names the cluster component and its children without cluster.name, so a rename replaces nothing", () => {
        assert.ok(registered.some(r => r.type === "openpai:index:Cluster" && r.name === "openpai"));
        assert.ok(registered.filter(r => !r.type.startsWith("openpai:")).every(r => r.name.startsWith("openpai-")));
        assert.ok(registered.every(r => !/(^|-)dev-/.test(r.name)), "cluster.name (dev) is in no resource name");
    });
});
