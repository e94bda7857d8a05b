import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../engine/harness";

/** A new user's shell in the project directory: no pulumi, nothing of the test's environment. */
function shell(command: string): { code: number; out: string } {
    const env = { HOME: process.env.HOME!, PATH: "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin" };
    const r = spawnSync("bash", ["-c", command], { cwd: projectRoot, env, encoding: "utf8", maxBuffer: 1 << 28 });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/**
 * The quick start for machines without root, as a newcomer runs it: `npm run quickstart --
 * --simulated` prints no engine warning, and every command it prints runs as printed in a new shell.
 */
describe("npm run quickstart -- --simulated, as a newcomer runs it", function () {
    this.timeout(30 * 60 * 1000);
    let printed: string[] = [];
    let output = "";

    after(() => {
        shell("npm run quickstart -- --simulated --down");
    });

    it("sets up the local stack without plugin or undefined-output warnings", () => {
        assert.ok(!fs.existsSync(path.join(projectRoot, "Pulumi.local.yaml")), "a quick start is already set up in this checkout");
        const r = shell("npm run quickstart -- --simulated");
        output = r.out;
        assert.strictEqual(r.code, 0, output);
        assert.doesNotMatch(output, /warning: using pulumi-\S+ from \$PATH/);
        assert.doesNotMatch(output, /Undefined value/);
        assert.match(output, /portal URL: +https:\/\/127\.0\.0\.1\/ +\(where pylon would answer: nothing serves it/);
        printed = output.slice(output.indexOf("Commands (each runs as printed")).split("\n").slice(1)
            .filter(line => line.startsWith("  ")).map(line => line.trim());
        assert.ok(printed.length >= 4, `printed commands:\n${printed.join("\n")}`);
    });

    it("every printed command runs as printed in a new shell", () => {
        const password = shell(printed[0]);
        assert.strictEqual(password.code, 0, password.out);
        assert.match(password.out.trim(), /^[A-Za-z0-9]{24}$/, "the generated admin password");
        for (const command of printed.slice(1)) {
            const r = shell(command);
            assert.strictEqual(r.code, 0, `${command}:\n${r.out}`);
            assert.doesNotMatch(r.out, /warning: using pulumi-\S+ from \$PATH/, command);
        }
        assert.ok(!fs.existsSync(path.join(projectRoot, "Pulumi.local.yaml")), "the last command (--down) tears it all down");
    });
});
