/** One problem found in user input, located by a dotted field path such as `layout.machine-list[2].hostip`. */
export interface ConfigIssue {
    /** Field path from the root of the input, using OpenPAI's own key names. */
    path: string;
    /** What is wrong and what to do about it. */
    message: string;
}

/** Raised for input the user must fix; carries every issue found, never a stack trace for the user. */
export class ConfigError extends Error {
    constructor(public readonly source: string, public readonly issues: ConfigIssue[]) {
        super(formatIssues(source, issues));
        this.name = "ConfigError";
    }
}

/** Renders issues one per line as `source: path: message`. */
export function formatIssues(source: string, issues: ConfigIssue[]): string {
    const header = `${source}: ${issues.length} problem${issues.length === 1 ? "" : "s"} found`;
    return [header, ...issues.map(i => `  - ${i.path || "(root)"}: ${i.message}`)].join("\n");
}

/** Joins path segments: identifiers with dots, numeric indexes in brackets. */
export function joinPath(segments: ReadonlyArray<PropertyKey>): string {
    let out = "";
    for (const segment of segments) {
        if (typeof segment === "number") {
            out += `[${segment}]`;
        } else {
            out += out === "" ? String(segment) : `.${String(segment)}`;
        }
    }
    return out;
}
