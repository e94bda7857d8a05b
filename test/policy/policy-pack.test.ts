import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { devConfig, Engine, must, projectRoot, quickstartConfig } from "../engine/harness";

const policyPack = path.join(projectRoot, "policy");
const fixtures = path.join(projectRoot, "test", "fixtures", "policy-stacks");

/** Each bad fixture stack and the policy that must refuse it. */
const badStacks: Record<string, string> = {
    "latest-image": "images-pinned",
    "default-password": "no-default-or-plaintext-credentials",
    "no-requests": "resource-requests",
    "privileged": "host-access-allowlist",
    "host-network": "host-access-allowlist",
    "host-port": "host-access-allowlist",
    "host-path": "host-access-allowlist",
    "added-capability": "host-access-allowlist",
    "cluster-admin-binding": "rbac-least-privilege",
    "wildcard-role": "rbac-least-privilege",
    "node-port": "network-exposure-authenticated",
    "unguarded-exporter": "network-exposure-authenticated",
    "master-worker": "master-not-worker",
    "bad-hived": "hived-config-valid",
    "oversubscribed-vc": "vc-capacity",
    "plain-password-output": "stack-outputs",
};

describe("policy pack through the engine (pulumi preview --policy-pack policy)", function () {
    this.timeout(20 * 60 * 1000);
    let fixtureEngine: Engine;
    let programEngine: Engine;

    before(() => {
        fixtureEngine = new Engine({ dir: fixtures, entries: ["Pulumi.yaml", "index.ts"] });
        programEngine = new Engine();
    });
    after(() => {
        fixtureEngine?.cleanup();
        programEngine?.cleanup();
    });

    it("passes the dev stack (advisories only)", () => {
        const stack = programEngine.stack("dev", devConfig(), { "openpai:sshPrivateKey": "not-a-real-key" });
        const r = stack.run(["preview", "--policy-pack", policyPack]);
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /openpai@v0.1.0/);
        assert.doesNotMatch(r.stdout, /\[mandatory\]/);
        assert.match(r.stdout, /\[advisory\]\s+optional-services-in-small-cluster/);
    });

    it("passes the quick-start stack with every PAI service declared", () => {
        const config = quickstartConfig();
        const kubeconfig = path.join(programEngine.dir, "unreachable-kubeconfig");
        fs.writeFileSync(kubeconfig, yaml.dump({
            apiVersion: "v1", kind: "Config", "current-context": "c",
            clusters: [{ name: "n", cluster: { server: "https://127.0.0.1:1" } }],
            users: [{ name: "u", user: { token: "t" } }],
            contexts: [{ name: "c", context: { cluster: "n", user: "u" } }],
        }));
        config["openpai:cluster"].kubeconfigPath = kubeconfig;
        const r = programEngine.stack("local", config).run(["preview", "--policy-pack", policyPack]);
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        assert.doesNotMatch(r.stdout, /\[mandatory\]/);
        assert.match(r.stdout, /kubernetes:apps\/v1:StatefulSet/);
    });

    it("passes the good fixture stack", () => {
        const r = fixtureEngine.stack("good", { "fixture:scenario": "good" }).run(["preview", "--policy-pack", policyPack]);
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        assert.doesNotMatch(r.stdout, /\[mandatory\]/);
    });

    for (const [scenario, policy] of Object.entries(badStacks)) {
        it(`refuses ${scenario} by ${policy}`, () => {
            const r = fixtureEngine.stack(scenario, { "fixture:scenario": scenario }).run(["preview", "--policy-pack", policyPack]);
            assert.notStrictEqual(r.code, 0, `preview passed:\n${r.stdout}`);
            assert.match(r.stdout, new RegExp(`\\[mandatory\\]\\s+${policy}\\b`), r.stdout + r.stderr);
        });
    }

    it("policy config can lower a policy to advisory", () => {
        const configFile = path.join(fixtureEngine.dir, "policy-config.json");
        fs.writeFileSync(configFile, JSON.stringify({ "images-pinned": "advisory" }));
        const stack = fixtureEngine.stack("lowered", { "fixture:scenario": "latest-image" });
        const r = stack.run(["preview", "--policy-pack", policyPack, "--policy-pack-config", configFile]);
        assert.strictEqual(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /\[advisory\]\s+images-pinned/);
        must(r);
    });
});
