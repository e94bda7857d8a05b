import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../engine/harness";
import { PaiLab, portal, quickstartRunning, shell, waitFor } from "../services/pai-lab";
import { browserTrusting, portalLogin } from "./browser";

/** Where the screenshots go (kept after the run; CI prints the path). */
export const screenshotDir = path.join(projectRoot, "test-results", "quickstart");

/** The README's quick-start block: the first ```bash block under "## Quick start". */
function readmeQuickstart(): string[] {
    const readme = fs.readFileSync(path.join(projectRoot, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Quick start"));
    const block = /```bash\n([\s\S]*?)```/.exec(section)![1];
    return block.split("\n").map(l => l.replace(/\s+#.*$/, "").trim()).filter(Boolean);
}

/**
 * The front door (issue "Quick start: a real OpenPAI on this machine"): the quick start as the
 * README prints it, run in a new shell on a machine where the lab was built once; the commands it
 * prints, each in a new shell; then the webportal in Debian's headless Chromium: login page,
 * login with the generated password, hello-cpu submitted, the job list showing it SUCCEEDED.
 * It leaves the quick start up for the lab tiers that follow (teardown.test.ts removes it).
 */
describe("the quick start, as the README prints it, seen in a browser", function () {
    this.timeout(90 * 60 * 1000);
    let output = "";
    let printed: string[] = [];
    const pai = new PaiLab();

    it("runs from the README's commands in a new shell: one kubeadm stack with the platform on, every stage timed", () => {
        assert.ok(!quickstartRunning(), "a quick start is already up: npm run quickstart -- --down first");
        const commands = readmeQuickstart().filter(c => c.startsWith("npm run quickstart") && !c.includes("--"));
        assert.deepStrictEqual(commands, ["npm run quickstart"], `the README's quick start: ${readmeQuickstart().join("; ")}`);
        const r = shell(commands[0]);
        output = r.out;
        assert.strictEqual(r.code, 0, output.slice(-8000));
        const summary = output.slice(output.indexOf("OpenPAI runs on this machine"));
        process.stdout.write(`${summary}\nquick start: ${Math.round(r.ms / 1000)} s in all\n`);
        assert.match(summary, /portal: +https:\/\/10\.78\.0\.10\//);
        assert.match(summary, /admin user: +admin/);
        assert.match(summary, /vc1 +16 /, "the VC table");
        assert.match(summary, /Stages:\n( {2}.+ s\n)+/);
        // One stack: the quick start's, in kubeadm mode with the platform on.
        const stacks = shell(". .pulumi-quickstart/env.sh && pulumi stack ls --json");
        assert.deepStrictEqual(JSON.parse(stacks.out).map((s: { name: string }) => s.name), ["quickstart"]);
        printed = summary.slice(summary.indexOf("Commands (each runs as printed")).split("\n").slice(1)
            .filter(line => line.startsWith("  ")).map(line => line.trim());
        assert.ok(printed.length >= 5, printed.join("\n"));
    });

    it("every command it prints runs as printed in a new shell; hello-cpu SUCCEEDS", async () => {
        const password = shell(printed[0]);
        assert.strictEqual(password.code, 0, password.out);
        assert.match(password.out.trim(), /^[A-Za-z0-9]{24}$/, "the generated admin password");
        const submitted = shell(printed[1]);
        assert.strictEqual(submitted.code, 0, submitted.out);
        const state = await waitFor("hello-cpu to succeed", () => {
            const r = shell(printed[2]);
            return r.code === 0 && /SUCCEEDED|FAILED/.test(r.out) ? r.out.trim() : undefined;
        }, 10 * 60 * 1000);
        assert.strictEqual(state, "\"state\":\"SUCCEEDED\"");
        for (const command of printed.slice(3).filter(c => !c.includes("--down"))) {
            const r = shell(command);
            assert.strictEqual(r.code, 0, `${command}:\n${r.out}`);
        }
    });

    it("in headless Chromium: the login page, the admin's login, the job list showing hello-cpu SUCCEEDED (screenshots)", async () => {
        await pai.up();
        fs.mkdirSync(screenshotDir, { recursive: true });
        const { browser, home } = await browserTrusting(pai.portalCa);
        try {
            // Wide enough for every column of the job list (narrower, its status column is cut off).
            const page = await browser.newPage({ viewport: { width: 1920, height: 1000 } });
            const loginShot = path.join(screenshotDir, "login.png");
            await portalLogin(page, portal, "admin", pai.adminPassword(), loginShot);
            await page.goto(`${portal}/job-list.html`, { waitUntil: "networkidle" });
            const row = page.getByRole("row").filter({ hasText: "hello-cpu" });
            await row.first().scrollIntoViewIfNeeded({ timeout: 120000 });
            await row.getByText("Succeeded").waitFor({ timeout: 120000 });
            const listShot = path.join(screenshotDir, "job-list.png");
            await page.screenshot({ path: listShot, fullPage: true });
            process.stdout.write(`screenshots: ${loginShot}, ${listShot}\n`);
        } finally {
            await browser.close();
            fs.rmSync(home, { recursive: true, force: true });
        }
    });
});
