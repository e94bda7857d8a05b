import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { layout, openpai, projectRoot as root } from "./helpers";

/** Every stack the project ships or tests with: the generated hived config of each must pass --strict. */
function stackFiles(tmp: string): string[] {
    const big = path.join(tmp, "Pulumi.workers-100.yaml");
    const vcs: Record<string, unknown> = {};
    for (let i = 0; i < 10; i++) {
        vcs[`vc${i}`] = { "gpu-machine": { nodes: 8, cells: i } };
    }
    fs.writeFileSync(big, yaml.dump({ config: {
        "openpai:cluster": { name: "big", mode: "existing", kubeconfigPath: "kubeconfig" },
        "openpai:layout": layout(100),
        "openpai:virtualClusters": vcs,
    } }));
    const fixtures = path.join(root, "test", "fixtures", "stacks");
    return [
        path.join(root, "Pulumi.dev.yaml"),
        path.join(root, "scripts", "quickstart.stack.yaml"),
        ...fs.readdirSync(fixtures).filter(f => /^Pulumi\..*\.yaml$/.test(f)).map(f => path.join(fixtures, f)),
        big,
    ];
}

describe("generated hived configs of every test stack pass the validator in strict mode", () => {
    let tmp: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-hived-stacks-"));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("finds the stacks (dev, quick start, multi-SKU, CPU-only, pinned, cells, uneven pools, only default, 100 workers)", () => {
        const names = stackFiles(tmp).map(f => path.basename(f));
        for (const expected of ["Pulumi.dev.yaml", "quickstart.stack.yaml", "Pulumi.multi-sku.yaml", "Pulumi.cpu-only.yaml", "Pulumi.pinned.yaml",
            "Pulumi.cells.yaml", "Pulumi.uneven-pools.yaml", "Pulumi.only-default.yaml", "Pulumi.workers-100.yaml"]) {
            assert.ok(names.includes(expected), `${expected} missing from ${names.join(", ")}`);
        }
    });

    it("openpai hived generate | openpai hived validate --strict --stack, for each", () => {
        for (const stack of stackFiles(tmp)) {
            const generated = openpai("hived", "generate", stack);
            assert.strictEqual(generated.code, 0, `${stack}: ${generated.stderr}`);
            assert.match(generated.stdout, /memory: [0-9]+Mi\n/, "memory is a quantity string, as rest-server needs");
            const hivedFile = path.join(tmp, `${path.basename(stack)}.hived.yaml`);
            fs.writeFileSync(hivedFile, generated.stdout);
            const checked = openpai("hived", "validate", "--strict", "--format", "json", "--stack", stack, hivedFile);
            assert.strictEqual(checked.code, 0, `${stack}: ${checked.stdout}${checked.stderr}`);
            assert.deepStrictEqual(JSON.parse(checked.stdout).findings, [], stack);
        }
    });
});
