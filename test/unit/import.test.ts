import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, importLegacy, parseStackConfig, parseStackYaml } from "../../config";

const fixtures = path.join(__dirname, "..", "..", "..", "test", "fixtures", "openpai");
const file = (name: string) => ({ name, text: fs.readFileSync(path.join(fixtures, name), "utf8") });

/** Parses an imported stack file the way `openpai validate` does, secrets not yet set. */
function parseImported(text: string) {
    return parseStackConfig(parseStackYaml(text, "imported"), "imported", { requireSecrets: false });
}

describe("legacy OpenPAI import", () => {
    it("imports the GPU layout example with its config.yaml", () => {
        const result = importLegacy({ layout: file("layout-gpu.yaml"), config: file("config.yaml") }, "lab");
        const stack = parseImported(result.stackYaml);
        assert.strictEqual(stack.layout["machine-list"].length, 3);
        assert.strictEqual(stack.layout["machine-list"][0]["pai-master"], true);
        assert.strictEqual(stack.cluster.paiVersion, "v1.8.0");
        assert.strictEqual(stack.cluster.name, "lab");
        assert.deepStrictEqual(stack.cluster.registry, { domain: "registry.lab.example", namespace: "openpai", username: "exampleuser" });
        assert.deepStrictEqual(stack.cluster.registryMirrors, ["https://mirror.lab.example"]);
        assert.strictEqual(stack.ssh.user, "forexample");
        assert.strictEqual(stack.services.marketplace, true);
    });

    it("never writes the SSH or registry password, and prints the secret commands instead", () => {
        const result = importLegacy({ layout: file("layout-gpu.yaml"), config: file("config.yaml") });
        assert.doesNotMatch(result.stackYaml, /password/i);
        assert.ok(!result.stackYaml.includes("examplepasswd"));
        const notes = result.notes.join("\n");
        assert.match(notes, /pulumi config set --secret openpai:sshPrivateKey < \/home\/admin\/.ssh\/id_rsa/);
        assert.match(notes, /pulumi config set --secret openpai:registryPassword/);
        assert.match(notes, /plaintext SSH password: it was not copied/);
        assert.match(notes, /'openpai_kube_network_plugin' not carried over/);
        assert.match(notes, /'qos-switch' not carried over/);
    });

    it("imports the CPU-only layout example", () => {
        const stack = parseImported(importLegacy({ layout: file("layout-cpu.yaml") }).stackYaml);
        assert.strictEqual(stack.layout["machine-sku"]["cpu-worker"]["computing-device"], undefined);
    });

    it("imports pre-1.5 master.csv and worker.csv with default SKUs flagged", () => {
        const result = importLegacy({ master: file("master.csv"), worker: file("worker.csv") });
        const stack = parseImported(result.stackYaml);
        assert.deepStrictEqual(stack.layout["machine-list"].map(m => [m.hostname, m.hostip, m["pai-master"], m["pai-worker"]]), [
            ["pai-master", "10.0.0.1", true, false], ["pai-worker1", "10.0.0.2", false, true], ["pai-worker2", "10.0.0.3", false, true]]);
        assert.match(result.notes.join("\n"), /no hardware facts: edit machine-sku/);
    });

    it("refuses a bad layout naming the file and field", () => {
        assert.throws(() => importLegacy({ layout: file("layout-bad.yaml") }), (err: ConfigError) => {
            const paths = err.issues.map(i => i.path);
            return paths.includes("layout-bad.yaml: machine-list[1].hostname")
                && paths.includes("layout-bad.yaml: machine-list[0].machine-type")
                && paths.includes("layout-bad.yaml: machine-list[1].hostip");
        });
    });

    it("refuses malformed CSV lines with the line number", () => {
        assert.throws(() => importLegacy({ master: { name: "master.csv", text: "pai-master\n" }, worker: file("worker.csv") }),
            (err: ConfigError) => err.issues.some(i => i.path === "master.csv line 1" && /expected 'hostname,ip'/.test(i.message)));
    });
});
