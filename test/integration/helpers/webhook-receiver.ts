import * as http from "http";
import { AddressInfo } from "net";

/** One request received by {@link WebhookReceiver}: path, parsed JSON body and when it arrived (ms since the epoch). */
export interface ReceivedWebhook {
    path: string;
    body: any;
    at: number;
}

/**
 * A Discord/Slack-style incoming-webhook endpoint on loopback for tests: it accepts
 * POSTs with a JSON body, answers 204 (Discord's success code) or the status set with
 * `failWith`, and records every message.
 */
export class WebhookReceiver {
    readonly received: ReceivedWebhook[] = [];
    private server?: http.Server;
    private failStatus?: number;
    private delayMs = 0;

    /** Starts listening on 127.0.0.1 with a free port. */
    async start(): Promise<this> {
        this.server = http.createServer((req, res) => {
            let data = "";
            req.on("data", (chunk) => (data += chunk));
            req.on("end", () => {
                let body: any = data;
                try {
                    body = JSON.parse(data);
                } catch {
                    // keep the raw text: a test asserting on the body will show it
                }
                this.received.push({ path: req.url ?? "", body, at: Date.now() });
                const answer = () => {
                    res.statusCode = this.failStatus ?? 204;
                    res.end();
                };
                if (this.delayMs > 0) setTimeout(answer, this.delayMs).unref();
                else answer();
            });
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        return this;
    }

    /** The URL to put in ALERT_WEBHOOK_URL. */
    get url(): string {
        const { port } = this.server!.address() as AddressInfo;
        return `http://127.0.0.1:${port}/hooks/test`;
    }

    /** Makes the receiver answer every later request with `status` (e.g. 500). */
    failWith(status: number | undefined): void {
        this.failStatus = status;
    }

    /** Makes the receiver answer every later request only after `ms` milliseconds (a slow webhook). */
    answerAfter(ms: number): void {
        this.delayMs = ms;
    }

    /** The text of every message received so far (Discord `content` or Slack `text`). */
    texts(): string[] {
        return this.received.map((r) => String(r.body?.content ?? r.body?.text ?? r.body));
    }

    clear(): void {
        this.received.length = 0;
    }

    async stop(): Promise<void> {
        this.server?.closeAllConnections();
        await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }
}
