import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { validateHivedText } from "../../config";
import { layout, openpai, projectRoot as root } from "./helpers";
import { HivedLoader, hivedLoader } from "./hived-loader";

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
        path.join(root, "scripts", "quickstart-simulated.stack.yaml"),
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
        for (const expected of ["Pulumi.dev.yaml", "quickstart-simulated.stack.yaml", "Pulumi.multi-sku.yaml", "Pulumi.cpu-only.yaml", "Pulumi.pinned.yaml",
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

    it("openpai validate prints each VC's largest pod, and says how existing mode sizes the cells", () => {
        const dev = openpai("validate", path.join(root, "Pulumi.dev.yaml"));
        assert.strictEqual(dev.code, 0, dev.stderr);
        assert.match(dev.stdout, /VC +GPUs +CPUs +cells +largest pod\ndefault +8 +56 +8 x gpu-machine +8 x gpu-machine\nvc1 +8 +56 +8 x gpu-machine +8 x gpu-machine/);
        const cells = openpai("validate", path.join(root, "test", "fixtures", "stacks", "Pulumi.cells.yaml"));
        assert.strictEqual(cells.code, 0, cells.stderr);
        // vc1's 3 GPUs are a pair and a single GPU; vc2's 13 a node, a half and a single GPU.
        assert.match(cells.stdout, /vc1 +3 +21 +3 x gpu-machine +2 x gpu-machine\nvc2 +13 +91 +13 x gpu-machine +8 x gpu-machine/);
        assert.match(cells.stderr, /note: existing mode: 'pulumi up' sizes the cells from the nodes' allocatable memory and CPU/);
    });

    it("HiveD v0.3.4's own loader starts with each, and sees the VCs' cells and largest pods as the validator does", function () {
        this.timeout(20 * 60 * 1000);
        const loader = hivedLoader();
        if (typeof loader === "string") {
            process.stdout.write(`      (HiveD's own loader not run: ${loader})\n`);
            this.skip();
        }
        type View = Record<string, { leafCells: Record<string, number>; largestPod: Record<string, number> }>;
        /** Per VC with cells: leaf cells and largest pod per leaf type, without the zeros of zero-sized references. */
        const withoutZeros = (view: View): View => {
            const nonZero = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
            return Object.fromEntries(Object.entries(view)
                .map(([vc, v]) => [vc, { leafCells: nonZero(v.leafCells), largestPod: nonZero(v.largestPod) }] as const)
                .filter(([, v]) => Object.keys(v.leafCells).length > 0));
        };
        for (const stack of stackFiles(tmp)) {
            const generated = openpai("hived", "generate", stack);
            assert.strictEqual(generated.code, 0, `${stack}: ${generated.stderr}`);
            const { verdict, vcs } = (loader as HivedLoader).load(generated.stdout);
            assert.strictEqual(verdict, "ok", `${stack}: HiveD says ${verdict}`);
            const hived = withoutZeros(vcs!);
            const ours = withoutZeros(Object.fromEntries(validateHivedText(generated.stdout).capacity.map(c => [c.vc, c])));
            assert.deepStrictEqual(ours, hived, stack);
        }
    });
});
