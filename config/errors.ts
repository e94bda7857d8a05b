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
    const header = `${printable(source)}: ${issues.length} problem${issues.length === 1 ? "" : "s"} found`;
    return [header, ...issues.map(i => `  - ${printable(i.path || "(root)")}: ${printable(i.message)}`)].join("\n");
}

/** Control characters, line and paragraph separators, and the invisible marks that reorder text. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const unprintable = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/**
 * Text that may quote user input, made safe to print: unprintable characters written as \uXXXX
 * (a value cannot add lines to a report or hide part of it), and cut past `max` characters.
 */
export function printable(text: string, max = 2000): string {
    const escaped = text.replace(unprintable, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    return escaped.length > max ? `${escaped.slice(0, max)}... (${escaped.length} characters in all)` : escaped;
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
