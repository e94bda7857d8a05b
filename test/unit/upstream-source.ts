import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "./helpers";

/**
 * The pinned upstream sources (tarballs): $OPENPAI_UPSTREAM_DIR (folders joined with ":", as
 * lab/pai-images reads it), else the workplace's copy beside the checkout.
 */
function upstreamDirs(): string[] {
    const configured = process.env.OPENPAI_UPSTREAM_DIR?.split(":").filter(Boolean) ?? [];
    return [...configured, path.join(projectRoot, "..", "shared", "upstream")];
}

/** The tarball of an upstream tree (e.g. "pai-v1.8.0-src.tar.gz"), or undefined when none is at hand. */
export function upstreamTarball(name: string): string | undefined {
    return upstreamDirs().map(dir => path.join(dir, name)).find(file => fs.existsSync(file));
}

/**
 * The text of one file of an upstream tarball (path inside it, e.g. "pai/src/rest-server/...").
 * Undefined when the tarball is not at hand (a test then says it skipped); throws when the file
 * is missing from a tarball that is there.
 */
export function upstreamFile(tarball: string, file: string): string | undefined {
    const archive = upstreamTarball(tarball);
    if (!archive) {
        return undefined;
    }
    const r = spawnSync("tar", ["-xzOf", archive, file], { encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0) {
        throw new Error(`${file} is not in ${archive}: ${r.stderr}`);
    }
    return r.stdout;
}

/** OpenPAI v1.8.0's file at `file` (relative to the repository root, e.g. "src/rest-server/..."). */
export function openPaiFile(file: string): string | undefined {
    return upstreamFile("pai-v1.8.0-src.tar.gz", `pai/${file}`);
}

/**
 * Asserts OpenPAI v1.8.0's `file` still holds `fact` (text or pattern); says so, and passes, when
 * the sources are not at hand.
 */
export function upstreamHas(file: string, fact: string | RegExp): void {
    const text = openPaiFile(file);
    if (text === undefined) {
        process.stdout.write(`      (OpenPAI's source not at hand: ${file} not checked)\n`);
        return;
    }
    if (typeof fact === "string") {
        assert.ok(text.includes(fact), `${file} no longer says ${fact}`);
    } else {
        assert.match(text, fact, `${file} no longer says ${fact}`);
    }
}
