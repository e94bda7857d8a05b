import * as net from "net";
import { z } from "zod";

/*
 * What a config value may be, field by field: values reach shells (step settings), apt's and
 * containerd's files, ssh's command line, URLs and Kubernetes objects, so each field accepts what
 * it is and nothing more. No rule here allows whitespace, quotes, backslashes or control
 * characters in a name, address or URL.
 */

/** A dotted-quad IPv4 address without leading zeros (URL parsers read 010.0.0.1 as octal, 8.0.0.1). */
export const ipv4Pattern = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
const dnsLabel = "[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?";
const dnsNamePattern = new RegExp(`^${dnsLabel}(\\.${dnsLabel})*$`);
/** A POSIX user name as shadow's useradd takes it: no leading '-' or digit, at most 32 characters. */
export const posixUserPattern = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;
/** Characters of a URL path kept here: unreserved ones, '+', ':', '/' and %XX escapes. */
const urlPathPattern = /^(\/([A-Za-z0-9._~+:-]|%[0-9A-Fa-f]{2})*)*$/;
/** Quotes, backslashes, whitespace, control and non-ASCII characters: never part of a name or URL here. */
const unsafeCharacter = /[^\x21-\x7e]|["'`\\]/;

function portRangeProblem(port: string): string | undefined {
    return /^[1-9][0-9]{0,4}$/.test(port) && Number(port) <= 65535 ? undefined : `port '${port}' must be a number from 1 to 65535`;
}

/** Why `value` is not a DNS name or an IP address, or undefined when it is one. */
export function hostProblem(value: string, options: { ipv6?: boolean; lowercase?: boolean } = {}): string | undefined {
    const kinds = `a DNS name or an IPv4${options.ipv6 ? " or IPv6" : ""} address`;
    if (ipv4Pattern.test(value) || (options.ipv6 && /^[0-9A-Fa-f:.]+$/.test(value) && net.isIPv6(value))) {
        return undefined;
    }
    if (value.length > 253 || !dnsNamePattern.test(value)) {
        return `'${value}' is not ${kinds} (DNS labels: letters, digits and '-', at most 63 characters each, 253 in all)`;
    }
    // URL parsers read a name whose last label is a number as an IPv4 address (and fail on 10.0.0.300).
    if (/(^|\.)(0x[0-9a-f]*|[0-9]+)$/i.test(value)) {
        return `'${value}' is not ${kinds}: its last label is a number, and 1-4 numbers separated by dots are an IPv4 address`;
    }
    if (options.lowercase && value !== value.toLowerCase()) {
        return `'${value}' must be lowercase`;
    }
    return undefined;
}

/** The parts of a URL as the URL fields accept it (scheme, host, optional port and path). */
export interface UrlParts {
    scheme: "http" | "https";
    /** A DNS name, an IPv4 address, or an IPv6 address in brackets. */
    host: string;
    port?: number;
    /** Empty, or starting with '/'. */
    path: string;
}

export interface UrlRules {
    /** Whether a path may follow the host (a mirror's base path); a proxy takes none. */
    path: boolean;
    /** What to do instead of writing a user or password into the URL. */
    credentials: string;
}

/** Reads a URL of a URL field, or says what is wrong with it (one problem, in the user's terms). */
export function parseUrl(value: string, rules: UrlRules): UrlParts | string {
    if (unsafeCharacter.test(value)) {
        return "must not contain whitespace, quotes, backslashes, control or non-ASCII characters (write an international name in its xn-- form)";
    }
    const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(.*)$/.exec(value);
    if (!match || (match[1] !== "http" && match[1] !== "https")) {
        return "must be a URL starting with http:// or https://";
    }
    const [, scheme, authority, path, rest] = match;
    if (authority.includes("@")) {
        return `must not hold a user or password (user:password@host): ${rules.credentials}`;
    }
    if (rest !== "") {
        return "must not have a query (?) or a fragment (#)";
    }
    const hostPort = /^(\[[^\]]*\]|[^:]*)(:([0-9]*))?$/.exec(authority);
    if (!hostPort || hostPort[1] === "") {
        return "must name a host after the scheme, e.g. http://mirror.example.com:8080";
    }
    const host = hostPort[1];
    const problem = host.startsWith("[")
        ? (net.isIPv6(host.slice(1, -1)) && /^\[[0-9A-Fa-f:.]+\]$/.test(host) ? undefined : `'${host}' is not an IPv6 address in brackets`)
        : hostProblem(host);
    if (problem) {
        return `host ${problem}`;
    }
    const portText = hostPort[3];
    const portProblem = portText === undefined ? undefined : portRangeProblem(portText);
    if (portProblem) {
        return portProblem;
    }
    if (/%([01][0-9A-Fa-f]|7[Ff])/.test(path)) {
        return "path must not encode control characters (%00-%1F, %7F)";
    }
    if (!urlPathPattern.test(path)) {
        return "path may use letters, digits, '-', '.', '_', '~', '+', ':', '/' and %XX escapes only";
    }
    if (!rules.path && path !== "" && path !== "/") {
        return `must not have a path ('${path}'): give scheme://host:port`;
    }
    try {
        new URL(value);
    } catch {
        return "is not a URL";
    }
    return { scheme, host, port: portText === undefined ? undefined : Number(portText), path } as UrlParts;
}

/** host[:port] of a URL the URL fields accepted, as URL.host writes it (lowercase, no default port). */
export function urlHost(value: string): string {
    return new URL(value).host;
}

/** A URL field (see parseUrl). */
export function urlField(rules: UrlRules) {
    return z.string().max(1024, "must be at most 1024 characters").superRefine((value, ctx) => {
        const parsed = parseUrl(value, rules);
        if (typeof parsed === "string") {
            ctx.addIssue({ code: "custom", message: parsed });
        }
    });
}

/** A host field: a DNS name or an IP address (see hostProblem). */
export function hostField(options: { ipv6?: boolean; lowercase?: boolean } = {}) {
    return z.string().min(1, "must name a host").max(253, "must be at most 253 characters").superRefine((value, ctx) => {
        const problem = unsafeCharacter.test(value) ? "must not contain whitespace, quotes, backslashes, control or non-ASCII characters" : hostProblem(value, options);
        if (problem) {
            ctx.addIssue({ code: "custom", message: problem });
        }
    });
}

/** host or host:port (an IPv6 address only in brackets, and only with a port). */
export function hostPortField(example: string) {
    return z.string().max(260, "must be at most 260 characters").superRefine((value, ctx) => {
        const match = /^([^:]*)(:([0-9]*))?$/.exec(value);
        const problem = unsafeCharacter.test(value) ? "must not contain whitespace, quotes, backslashes, control or non-ASCII characters"
            : !match ? `must be host or host:port, e.g. ${example}`
            : hostProblem(match[1]) ?? (match[3] === undefined ? undefined : portRangeProblem(match[3]));
        if (problem) {
            ctx.addIssue({ code: "custom", message: problem });
        }
    });
}

/** A user name on a host (SSH): POSIX rules, so it is safe in a command line and a sudoers line. */
export const posixUserField = z.string().regex(posixUserPattern,
    "must be a POSIX user name: a letter or '_', then letters, digits, '.', '_' or '-', at most 32 characters");

/** A user name sent to a server (a proxy, a mirror, a registry): no whitespace, quotes or ':' (HTTP Basic splits there). */
export const loginField = z.string().regex(/^[A-Za-z0-9._@+$~-]{1,128}$/,
    "must be 1-128 characters of letters, digits and . _ @ + $ ~ -");

/**
 * Characters refused in free text: control characters, the invisible ones that reorder what is
 * shown, and halves of a UTF-16 pair without the other (not text: Kubernetes would replace them).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const invisibleOrControl = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Free text shown to people (a description): one line, printable, `min` to `max` characters. */
export function textField(max: number, min = 0) {
    return z.string().min(min).max(max, `must be at most ${max} characters`).superRefine((value, ctx) => {
        if (invisibleOrControl.test(value)) {
            ctx.addIssue({ code: "custom", message: "must be one line of printable text (no control characters, no invisible direction marks)" });
        }
    });
}

/** A path on the machine running Pulumi. */
export const localPathField = z.string().min(1).max(4096, "must be at most 4096 characters").superRefine((value, ctx) => {
    if (invisibleOrControl.test(value)) {
        ctx.addIssue({ code: "custom", message: "must be a file path without control characters" });
    }
});

/** The most any one openpai:* value may hold, as compact JSON with YAML anchors expanded. */
export const maxValueBytes = 1024 * 1024;
/** The most `openpai:hived` may hold: it goes into a ConfigMap (1 MiB in all, as YAML) with HiveD's other settings. */
export const maxHivedBytes = 512 * 1024;
/** Deeper nesting than any section of the config needs (a hived config's cells nest a few levels per chain). */
export const maxDepth = 64;

/**
 * Why a decoded value is too large or too deep to take, or undefined. Sizes count what the value
 * becomes once YAML aliases are expanded (as JSON and generated YAML write it), stopping as soon as
 * the limit is passed, so a small file with nested aliases is refused without expanding it.
 */
export function sizeProblem(value: unknown, limit: number): string | undefined {
    let size = 0;
    let tooDeep = false;
    const visit = (v: unknown, depth: number): boolean => {
        if (depth > maxDepth) {
            tooDeep = true;
            return false;
        }
        if (typeof v === "string") {
            size += v.length + 2;
        } else if (Array.isArray(v)) {
            size += 2;
            for (const item of v) {
                if (size > limit || !visit(item, depth + 1)) {
                    return false;
                }
                size += 1;
            }
        } else if (v !== null && typeof v === "object") {
            size += 2;
            for (const [key, item] of Object.entries(v)) {
                size += key.length + 3;
                if (size > limit || !visit(item, depth + 1)) {
                    return false;
                }
            }
        } else {
            size += String(v).length;
        }
        return size <= limit;
    };
    if (visit(value, 0)) {
        return undefined;
    }
    return tooDeep
        ? `nests deeper than ${maxDepth} levels: no section of the config needs that`
        : `is larger than ${limit / 1024} KiB once YAML anchors and aliases are expanded: it goes into Kubernetes objects, which hold at most 1 MiB; write it out without aliases, or make it smaller`;
}
