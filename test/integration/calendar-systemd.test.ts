import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { calendarExpressionProblem, longestGapHours } from "../../config/calendar";
import { INVALID_CALENDARS, VALID_CALENDARS } from "../fixtures/calendar-corpus";

/** systemd's own verdict on a calendar expression (package systemd, .ci/setup.d/30-docker-engine.sh). */
function systemdAccepts(expression: string): boolean {
    const r = spawnSync("systemd-analyze", ["calendar", expression], { encoding: "utf8" });
    if (r.error) throw r.error;
    return r.status === 0;
}

describe("calendar validator agrees with systemd-analyze calendar", () => {
    for (const expression of [...VALID_CALENDARS, ...INVALID_CALENDARS]) {
        it(`gives systemd's verdict on "${expression}"`, () => {
            const systemd = systemdAccepts(expression);
            const ours = calendarExpressionProblem(expression) === undefined;
            assert.equal(ours, systemd, `systemd ${systemd ? "accepts" : "rejects"} it, the validator ${ours ? "accepts" : "rejects"} it`);
            assert.equal(systemd, VALID_CALENDARS.includes(expression), "the corpus lists it on the side systemd puts it");
        });
    }
});

/** The elapses systemd computes for an expression (UTC, as this machine's clock prints them), in ms. */
function systemdElapses(expression: string, iterations: number): number[] {
    const r = spawnSync("systemd-analyze", ["calendar", `--iterations=${iterations}`, expression], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, r.stderr);
    return [...r.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)].map((m) => Date.parse(`${m[1].replace(" ", "T")}Z`));
}

describe("the longest gap between elapses agrees with systemd-analyze calendar --iterations", () => {
    for (const expression of VALID_CALENDARS) {
        it(`"${expression}"`, () => {
            const elapses = systemdElapses(expression, 60);
            const ours = longestGapHours(expression);
            if (elapses.length < 2) {
                assert.equal(ours, Infinity, "systemd elapses it once; the evaluator must say it does not repeat");
                return;
            }
            let longest = 0;
            for (let i = 1; i < elapses.length; i++) longest = Math.max(longest, (elapses[i] - elapses[i - 1]) / 3_600_000);
            // A timezone other than UTC moves an elapse by at most an hour (daylight saving).
            const tolerance = /\s[A-Za-z_]+\/[A-Za-z0-9_+/-]+$/.test(expression) ? 1 : 0;
            assert.ok(Math.abs(ours - longest) <= tolerance, `systemd: ${longest} h over 60 elapses, evaluator: ${ours} h`);
        });
    }
});
