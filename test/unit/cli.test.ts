import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openpai, projectRoot } from "./helpers";

const fixtures = path.join(projectRoot, "test", "fixtures", "openpai");

function noStackTrace(text: string): void {
    assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, `stack trace printed:\n${text}`);
}

describe("openpai CLI", () => {
    let tmp: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-cli-"));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("validates the dev stack and prints the VC capacity", () => {
        const r = openpai("validate", "Pulumi.dev.yaml");
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /Pulumi.dev.yaml: valid \(kubeadm mode, 3 machines\)/);
        assert.match(r.stdout, /default\s+8\s+56\s+8 x gpu-machine/);
        assert.match(r.stdout, /vc1\s+8\s+56/);
    });

    it("import -> validate round trip on OpenPAI's layout and config files", () => {
        const imported = openpai("import", "--layout", path.join(fixtures, "layout-gpu.yaml"), "--config", path.join(fixtures, "config.yaml"));
        assert.strictEqual(imported.code, 0, imported.stderr);
        assert.match(imported.stderr, /note: .*pulumi config set --secret/);
        const stackFile = path.join(tmp, "Pulumi.imported.yaml");
        fs.writeFileSync(stackFile, imported.stdout);
        const validated = openpai("validate", stackFile);
        assert.strictEqual(validated.code, 0, validated.stderr);
        assert.match(validated.stderr, /secret\(s\) still to set/);
        const generated = openpai("hived", "generate", stackFile);
        assert.strictEqual(generated.code, 0, generated.stderr);
        const hivedFile = path.join(tmp, "hived.yaml");
        fs.writeFileSync(hivedFile, generated.stdout);
        const checked = openpai("hived", "validate", "--strict", "--stack", stackFile, hivedFile);
        assert.strictEqual(checked.code, 0, checked.stderr);
    });

    it("refuses a bad layout on import naming the field, without a stack trace", () => {
        const r = openpai("import", "--layout", path.join(fixtures, "layout-bad.yaml"));
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /layout-bad.yaml: machine-list\[1\].hostname: hostname must be lowercase/);
        assert.strictEqual(r.stdout, "");
        noStackTrace(r.stderr);
    });

    it("hived validate: accepts OpenPAI's shape, rejects HiveD and rest-server crashes with exit 1", () => {
        const ok = openpai("hived", "validate", path.join(fixtures, "hived-openpai.yaml"));
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /vc1\s+4/);
        const bad = openpai("hived", "validate", path.join(fixtures, "hived-crash.yaml"));
        assert.strictEqual(bad.code, 1);
        assert.match(bad.stderr, /error \[hived\]: physicalCluster.cellTypes.A.childCellType: cell types form a cycle A -> B -> A/);
        assert.match(bad.stderr, /error \[hived\]: .*already used by VC vc1/);
        assert.match(bad.stderr, /error \[rest-server\]: physicalCluster.skuTypes: missing: .*Cannot find skuTypes/);
        assert.doesNotMatch(bad.stderr, /no VC references chain/, "a chain referenced through a pinned cell is referenced");
        assert.match(bad.stderr, /3 problems: rest-server and HiveD would fail to start/);
        noStackTrace(bad.stderr);
    });

    it("hived validate --format json: one verdict per finding, with its source, for CI tooling", () => {
        const bad = openpai("hived", "validate", "--format", "json", path.join(fixtures, "hived-crash.yaml"));
        assert.strictEqual(bad.code, 1);
        assert.strictEqual(bad.stderr, "");
        const report = JSON.parse(bad.stdout);
        assert.strictEqual(report.file, path.join(fixtures, "hived-crash.yaml"));
        assert.strictEqual(report.ok, false);
        assert.deepStrictEqual(report.findings.map((f: any) => [f.path, f.severity, f.source]), [
            ["physicalCluster.skuTypes", "error", "rest-server"],
            ["physicalCluster.cellTypes.A.childCellType", "error", "hived"],
            ["virtualClusters.vc2.pinnedCells[0].pinnedCellId", "error", "hived"],
        ]);
        const file = path.join(tmp, "advice.yaml");
        fs.writeFileSync(file, `${fs.readFileSync(path.join(fixtures, "hived-openpai.yaml"), "utf8")}kubeApiServerAdress: x\n`);
        const lenient = JSON.parse(openpai("hived", "validate", "--format", "json", file).stdout);
        assert.deepStrictEqual([lenient.ok, lenient.findings[0].severity, lenient.findings[0].source], [true, "warning", "advice"]);
        const strict = openpai("hived", "validate", "--format", "json", "--strict", file);
        assert.strictEqual(strict.code, 1);
        assert.deepStrictEqual([JSON.parse(strict.stdout).ok, JSON.parse(strict.stdout).findings[0].severity], [false, "error"]);
        assert.strictEqual(openpai("hived", "validate", "--format", "xml", file).code, 1);
    });

    it("hived validate --strict turns warnings into errors", () => {
        const file = path.join(tmp, "warn.yaml");
        fs.writeFileSync(file, `${fs.readFileSync(path.join(fixtures, "hived-openpai.yaml"), "utf8")}kubeApiServerAdress: https://10.0.0.1:6443\n`);
        const lenient = openpai("hived", "validate", file);
        assert.strictEqual(lenient.code, 0, lenient.stderr);
        assert.match(lenient.stderr, /warning \[advice\]: kubeApiServerAdress: unknown key/);
        assert.match(lenient.stdout, /valid with 1 warning/);
        const strict = openpai("hived", "validate", "--strict", file);
        assert.strictEqual(strict.code, 1);
        assert.match(strict.stderr, /error \[advice\]: kubeApiServerAdress: unknown key/);
        assert.match(strict.stderr, /HiveD and rest-server would start, but not as intended/);
    });

    it("--help lists every command on one line each; --version prints the package version", () => {
        const help = openpai("--help");
        assert.strictEqual(help.code, 0);
        for (const command of ["validate", "hived validate", "hived generate", "nodes", "import"]) {
            assert.strictEqual(help.stdout.split("\n").filter(l => l.startsWith(`  ${command} `)).length, 1, `${command}: one line`);
        }
        const version = openpai("--version");
        const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8"));
        assert.strictEqual(version.stdout.trim(), `openpai ${pkg.version}`);
    });

    it("answers bad input with a message, never a stack trace", () => {
        const cases: string[][] = [
            [], ["frobnicate"], ["validate"], ["validate", "/nonexistent.yaml"], ["hived", "validate", "/nonexistent.yaml"],
            ["hived", "validate", path.join(fixtures, "master.csv")], ["import"], ["import", "--master", "x"], ["validate", path.join(fixtures, "config.yaml")],
        ];
        for (const args of cases) {
            const r = openpai(...args);
            assert.strictEqual(r.code, 1, `openpai ${args.join(" ")} should fail`);
            assert.ok(r.stderr.length > 0);
            noStackTrace(r.stderr);
        }
    });
});
