import * as net from "net";
import * as tls from "tls";

/** How a TCP port of a host answered a connection from here. */
export type PortState = "open" | "closed" | "filtered";

/** Tries one TCP connection: open (accepted), closed (refused), filtered (no answer: dropped). */
function probe(host: string, port: number, timeoutMs: number): Promise<PortState> {
    return new Promise(resolve => {
        const socket = net.connect({ host, port });
        const done = (state: PortState) => {
            socket.destroy();
            resolve(state);
        };
        socket.setTimeout(timeoutMs, () => done("filtered"));
        socket.once("connect", () => done("open"));
        socket.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" ? "closed" : "filtered"));
    });
}

/** Every TCP port of a host from here, `parallel` at a time: the open ones and the filtered ones. */
export async function scanTcp(host: string, parallel = 800, timeoutMs = 2000): Promise<{ open: number[]; filtered: number[] }> {
    const open: number[] = [];
    const filtered: number[] = [];
    let next = 1;
    const worker = async () => {
        while (next <= 65535) {
            const port = next++;
            const state = await probe(host, port, timeoutMs);
            if (state === "open") {
                open.push(port);
            } else if (state === "filtered") {
                filtered.push(port);
            }
        }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    return { open: open.sort((a, b) => a - b), filtered: filtered.sort((a, b) => a - b) };
}

/** The first bytes a server sends unasked (an SSH banner), or undefined after `waitMs`. */
function banner(host: string, port: number, waitMs = 1500): Promise<string | undefined> {
    return new Promise(resolve => {
        const socket = net.connect({ host, port });
        const done = (text?: string) => {
            socket.destroy();
            resolve(text);
        };
        socket.setTimeout(waitMs, () => done(undefined));
        socket.once("data", data => done(data.toString("latin1").split(/\r?\n/)[0]));
        socket.once("error", () => done(undefined));
        socket.once("end", () => done("(closed the connection)"));
    });
}

/** An HTTP(S) GET of `path` as an anonymous client: the status line and where it points, or why there is none. */
function anonymousGet(host: string, port: number, useTls: boolean, path: string, waitMs = 3000): Promise<string> {
    return new Promise(resolve => {
        const request = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
        let text = "";
        const socket = useTls
            ? tls.connect({ host, port, rejectUnauthorized: false, servername: net.isIP(host) ? undefined : host })
            : net.connect({ host, port });
        const done = (answer: string) => {
            socket.destroy();
            resolve(answer);
        };
        socket.setTimeout(waitMs, () => done(text ? summarize(text) : "no answer to an HTTP request"));
        socket.once(useTls ? "secureConnect" : "connect", () => socket.write(request));
        socket.on("data", data => {
            text += data.toString("latin1");
        });
        socket.once("end", () => done(text ? summarize(text) : "closed without an answer"));
        socket.once("error", err => done(text ? summarize(text) : `${useTls ? "TLS" : "TCP"} error: ${err.message.split("\n")[0]}`));
    });
}

function summarize(response: string): string {
    const status = response.split("\r\n")[0];
    const location = /\r\nlocation: ([^\r\n]+)/i.exec(response)?.[1];
    return location ? `${status} -> ${location}` : status;
}

/**
 * What an anonymous client gets from an open port: an SSH banner, an HTTPS answer, an HTTP answer,
 * or nothing. `path` is what an HTTP request asks for (a server's API, where / is no handler).
 */
export async function anonymousAnswer(host: string, port: number, path = "/"): Promise<string> {
    const first = await banner(host, port);
    if (first?.startsWith("SSH-")) {
        return `SSH server (${first}): key or password login only`;
    }
    const overTls = await anonymousGet(host, port, true, path);
    if (/^HTTP\//.test(overTls)) {
        return `HTTPS: ${overTls}`;
    }
    const plain = await anonymousGet(host, port, false, path);
    return /^HTTP\//.test(plain) ? `HTTP: ${plain}` : `${overTls}; plain: ${plain}`;
}
