import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { calendarExpressionProblem } from "../../infra/calendar";
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
