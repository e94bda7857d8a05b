#!/usr/bin/env node
// Entry point of the `openpai` command: runs the compiled CLI (npm ci builds it via `prepare`).
"use strict";
let cli;
try {
    cli = require("../dist/cli/openpai.js");
} catch (err) {
    if (err && err.code === "MODULE_NOT_FOUND") {
        process.stderr.write("openpai: the CLI is not compiled yet: run 'npm run build' in the project\n");
        process.exit(1);
    }
    throw err;
}
void cli.main(process.argv.slice(2)).then(code => {
    process.exitCode = code;
});
