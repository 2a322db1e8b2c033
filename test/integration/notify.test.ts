import { strict as assert } from "assert";
import { execFile } from "child_process";
import { promisify } from "util";
import { WebhookReceiver } from "./helpers/webhook-receiver";
import { LOOPBACK_WEBHOOK, scripts } from "./helpers/s3-scripts";

const run = promisify(execFile);
const notify = scripts.notify;

describe("notify.sh (alert webhook client)", () => {
    let receiver: WebhookReceiver;
    before(async () => (receiver = await new WebhookReceiver().start()));
    after(async () => receiver.stop());
    beforeEach(() => receiver.clear());

    it("posts a Discord body with the prefix and escaped quotes and newlines", async () => {
        await run(notify, ["failure", 'dump of "shop"\nfailed'], {
            env: { ...process.env, ...LOOPBACK_WEBHOOK, ALERT_WEBHOOK_URL: receiver.url, ALERT_PREFIX: "[shop/staging]" },
        });
        assert.deepEqual(receiver.received.map((r) => r.body), [
            { content: '[shop/staging] FAILURE: dump of "shop"\nfailed' },
        ]);
    });

    it("posts a Slack body when ALERT_WEBHOOK_FORMAT is slack", async () => {
        await run(notify, ["ok", "backup done"], {
            env: { ...process.env, ...LOOPBACK_WEBHOOK, ALERT_WEBHOOK_URL: receiver.url, ALERT_WEBHOOK_FORMAT: "slack" },
        });
        assert.deepEqual(receiver.received.map((r) => r.body), [{ text: "OK: backup done" }]);
    });

    it("exits non-zero when the webhook rejects the message", async () => {
        receiver.failWith(500);
        try {
            await assert.rejects(
                run(notify, ["warning", "x"], { env: { ...process.env, ...LOOPBACK_WEBHOOK, ALERT_WEBHOOK_URL: receiver.url } }),
            );
        } finally {
            receiver.failWith(undefined);
        }
    });

    it("sums up a failed run: the failures, then what went well, or only the failures", async () => {
        const script = '. "$1"; notify_failed_run "restore check" "restored fine" 2 "db a: bad" "db b: stale" "db c: ok"; notify_failed_run "backup" completed 1 "x: gone"';
        await run("bash", ["-c", script, "-", notify], { env: { ...process.env, ...LOOPBACK_WEBHOOK, ALERT_WEBHOOK_URL: receiver.url } });
        assert.deepEqual(receiver.texts(), [
            "FAILURE: restore check FAILED: db a: bad; db b: stale;  restored fine: db c: ok; ",
            "FAILURE: backup FAILED: x: gone; ",
        ]);
    });

    it("rejects an unknown level without posting", async () => {
        await assert.rejects(
            run(notify, ["panic", "x"], { env: { ...process.env, ...LOOPBACK_WEBHOOK, ALERT_WEBHOOK_URL: receiver.url } }),
            /unknown level 'panic'/,
        );
        assert.equal(receiver.received.length, 0);
    });
});
