import * as http from "http";
import * as net from "net";

/** One notification a receiver got, with when it came. */
export interface Received<T> {
    at: number;
    body: T;
}

/** Alertmanager's webhook payload (version 4), as far as the tests read it. */
export interface WebhookPayload {
    status: "firing" | "resolved";
    alerts: { status: "firing" | "resolved"; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string }[];
}

/** An HTTP server taking Alertmanager's webhook POSTs on `address` (a port of its own). */
export class WebhookReceiver {
    readonly received: Received<WebhookPayload>[] = [];
    private server?: http.Server;
    port = 0;

    async start(address: string): Promise<void> {
        this.server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", c => chunks.push(c));
            req.on("end", () => {
                try {
                    this.received.push({ at: Date.now(), body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
                } catch {
                    // not Alertmanager's JSON: ignored
                }
                res.writeHead(200).end();
            });
        });
        await new Promise<void>(resolve => this.server!.listen(0, address, resolve));
        this.port = (this.server.address() as net.AddressInfo).port;
    }

    /** The first alert named `alertname` with `status` whose labels include `labels`, and when it came. */
    find(alertname: string, status: "firing" | "resolved", labels: Record<string, string> = {}, since = 0): Received<WebhookPayload["alerts"][number]> | undefined {
        for (const { at, body } of this.received.filter(r => r.at >= since)) {
            const alert = body.alerts.find(a => a.labels.alertname === alertname && a.status === status
                && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
            if (alert) {
                return { at, body: alert };
            }
        }
        return undefined;
    }

    stop(): void {
        this.server?.close();
    }
}

/** A mail that reached the SMTP sink. */
export interface Mail {
    from: string;
    to: string[];
    /** The user that authenticated (AUTH LOGIN), if any. */
    user?: string;
    data: string;
}

/**
 * The smallest SMTP server Alertmanager can send to: EHLO advertising AUTH LOGIN only (Go's PLAIN
 * refuses to send a password without TLS to anything but localhost; Alertmanager's own LOGIN does
 * not), a password it checks, MAIL, RCPT, DATA, QUIT. Mails from a client that did not log in with
 * the right password are refused (535).
 */
export class SmtpSink {
    readonly mails: Received<Mail>[] = [];
    readonly refusedLogins: string[] = [];
    private server?: net.Server;
    port = 0;

    constructor(private readonly user: string, private readonly password: string) {}

    async start(address: string): Promise<void> {
        this.server = net.createServer(socket => this.session(socket));
        await new Promise<void>(resolve => this.server!.listen(0, address, resolve));
        this.port = (this.server.address() as net.AddressInfo).port;
    }

    private session(socket: net.Socket): void {
        const say = (line: string) => socket.write(`${line}\r\n`);
        let buffer = "";
        let mode: "command" | "user" | "password" | "data" = "command";
        let user = "";
        let authenticated: string | undefined;
        let mail: Mail = { from: "", to: [], data: "" };
        socket.on("error", () => undefined);
        say("220 openpai-lab-smtp ready");
        socket.on("data", chunk => {
            buffer += chunk.toString("latin1");
            let end: number;
            while ((end = buffer.indexOf("\r\n")) >= 0) {
                const line = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                if (mode === "data") {
                    if (line === ".") {
                        this.mails.push({ at: Date.now(), body: { ...mail, user: authenticated } });
                        mail = { from: "", to: [], data: "" };
                        mode = "command";
                        say("250 OK: queued");
                    } else {
                        mail.data += `${line.startsWith("..") ? line.slice(1) : line}\n`;
                    }
                    continue;
                }
                if (mode === "user") {
                    user = Buffer.from(line, "base64").toString("utf8");
                    mode = "password";
                    say(`334 ${Buffer.from("Password:").toString("base64")}`);
                    continue;
                }
                if (mode === "password") {
                    mode = "command";
                    if (user === this.user && Buffer.from(line, "base64").toString("utf8") === this.password) {
                        authenticated = user;
                        say("235 2.7.0 Authentication successful");
                    } else {
                        this.refusedLogins.push(user);
                        say("535 5.7.8 Authentication credentials invalid");
                    }
                    continue;
                }
                const [verb, ...rest] = line.split(" ");
                const argument = rest.join(" ");
                switch (verb.toUpperCase()) {
                case "EHLO":
                    socket.write("250-openpai-lab-smtp\r\n250-AUTH LOGIN\r\n250 8BITMIME\r\n");
                    break;
                case "HELO":
                    say("250 openpai-lab-smtp");
                    break;
                case "AUTH":
                    if (/^LOGIN/i.test(argument)) {
                        mode = "user";
                        say(`334 ${Buffer.from("Username:").toString("base64")}`);
                    } else {
                        say("504 5.5.4 only AUTH LOGIN");
                    }
                    break;
                case "MAIL":
                    if (!authenticated) {
                        say("530 5.7.0 Authentication required");
                        break;
                    }
                    mail.from = argument.replace(/^FROM:\s*/i, "").replace(/[<>]/g, "").split(" ")[0];
                    say("250 OK");
                    break;
                case "RCPT":
                    mail.to.push(argument.replace(/^TO:\s*/i, "").replace(/[<>]/g, ""));
                    say("250 OK");
                    break;
                case "DATA":
                    mode = "data";
                    say("354 End data with <CR><LF>.<CR><LF>");
                    break;
                case "RSET":
                    mail = { from: "", to: [], data: "" };
                    say("250 OK");
                    break;
                case "NOOP":
                    say("250 OK");
                    break;
                case "QUIT":
                    say("221 Bye");
                    socket.end();
                    break;
                default:
                    say("502 5.5.2 Command not implemented");
                }
            }
        });
    }

    stop(): void {
        this.server?.close();
    }
}
