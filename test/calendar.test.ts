import { strict as assert } from "assert";
import { calendarExpressionProblem } from "../config/calendar";
import { INVALID_CALENDARS, VALID_CALENDARS } from "./fixtures/calendar-corpus";

describe("systemd calendar expressions", () => {
    for (const expr of VALID_CALENDARS) {
        it(`accepts "${expr}"`, () => assert.equal(calendarExpressionProblem(expr), undefined));
    }
    for (const expr of INVALID_CALENDARS) {
        it(`rejects "${expr}" with a reason`, () => assert.match(calendarExpressionProblem(expr) ?? "", /\S/));
    }
    it("names the field that is out of range", () => {
        assert.match(calendarExpressionProblem("*-*-* 03:61")!, /minute 61 is out of range 0–59/);
        assert.match(calendarExpressionProblem("*-13-01")!, /month 13/);
    });
});
