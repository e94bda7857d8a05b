import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Browser, chromium, Page } from "playwright-core";

/** Debian's Chromium (package chromium): the tests drive it, never a downloaded browser. */
export const chromiumPath = "/usr/bin/chromium";

/**
 * A headless Chromium that trusts `caPem` the way a user's browser does once they imported the
 * portal's CA: in the NSS database of the home it runs with (certutil, Debian's libnss3-tools).
 */
export async function browserTrusting(caPem: string): Promise<{ browser: Browser; home: string }> {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "openpai-browser-"));
    const nssdb = path.join(home, ".pki", "nssdb");
    fs.mkdirSync(nssdb, { recursive: true });
    fs.writeFileSync(path.join(home, "openpai-ca.crt"), caPem);
    for (const args of [["-N", "-d", `sql:${nssdb}`, "--empty-password"],
        ["-A", "-d", `sql:${nssdb}`, "-t", "C,,", "-n", "openpai-ca", "-i", path.join(home, "openpai-ca.crt")]]) {
        const r = spawnSync("certutil", args, { encoding: "utf8" });
        if (r.status !== 0) {
            throw new Error(`certutil ${args.join(" ")}: ${r.stderr || r.error}`);
        }
    }
    const browser = await chromium.launch({
        executablePath: chromiumPath,
        headless: true,
        env: { ...process.env, HOME: home },
        // A closed network: no background connections, updates or sync.
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"],
    });
    return { browser, home };
}

/** Logs in on the webportal's home page as its users do: "Sign in", the form, "Sign in". */
export async function portalLogin(page: Page, portal: string, username: string, password: string, screenshot?: string): Promise<void> {
    await page.goto(`${portal}/`, { waitUntil: "networkidle" });
    await page.getByRole("button", { name: "Sign in" }).first().click();
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(password);
    if (screenshot) {
        await page.screenshot({ path: screenshot, fullPage: true });
    }
    await page.getByRole("dialog").getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(url => !url.pathname.endsWith("/") && !url.pathname.endsWith("index.html"), { timeout: 60000 });
}
