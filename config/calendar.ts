/**
 * Validation of systemd calendar expressions (the `OnCalendar=` value of a timer), so a
 * bad schedule is a config error at `pulumi preview` rather than a timer that systemd
 * refuses on the VPS at `pulumi up`.
 *
 * Grammar (systemd.time(7), "CALENDAR EVENTS"):
 *
 *     [weekdays] [year-month-day] [hour:minute[:second]] [timezone]
 *
 * or one of the shorthands `minutely`, `hourly`, `daily`, `weekly`, `monthly`,
 * `yearly`/`annually`, `quarterly`, `semiannually`. Each numeric field is `*` or a
 * comma-separated list of values, `a..b` ranges and `start/step` repetitions; the day
 * may use `~` (counted from the month's end). Weekdays are English names or their
 * three-letter abbreviations, in lists and `..` ranges. The timezone is `UTC` or an
 * IANA zone name (`Europe/Berlin`).
 *
 * This is a syntactic check with value ranges (month 1–12, day 1–31, hour 0–23, minute
 * and second 0–59); the integration suite cross-checks it against
 * `systemd-analyze calendar` on the same corpus.
 */

const SHORTHANDS = new Set([
    "minutely",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "annually",
    "quarterly",
    "semiannually",
]);

const WEEKDAYS = [
    ["mon", "monday"],
    ["tue", "tuesday"],
    ["wed", "wednesday"],
    ["thu", "thursday"],
    ["fri", "friday"],
    ["sat", "saturday"],
    ["sun", "sunday"],
];

function isWeekday(word: string): boolean {
    const w = word.toLowerCase();
    return WEEKDAYS.some(([short, long]) => w === short || w === long);
}

function checkWeekdays(field: string): string | undefined {
    for (const item of field.split(",")) {
        const ends = item.split("..");
        if (ends.length > 2 || ends.some((e) => !isWeekday(e))) {
            return `"${item}" is not a weekday, a list or a range of weekdays (Mon..Sun)`;
        }
    }
    return undefined;
}

/** Checks one numeric component (`*`, `5`, `1,15`, `1..5`, `0/15`, `*\/2`); undefined when valid. */
function checkNumeric(field: string, what: string, min: number, max: number, fraction = false): string | undefined {
    if (field === "") return `the ${what} is empty`;
    for (const item of field.split(",")) {
        const [range, step, ...rest] = item.split("/");
        if (rest.length > 0) return `"${item}" has more than one "/" in the ${what}`;
        if (step !== undefined && !/^\d+$/.test(step)) return `the repetition "/${step}" in the ${what} is not a whole number`;
        if (step !== undefined && Number(step) === 0) return `the repetition "/0" in the ${what} never advances`;
        if (range === "*") continue;
        const ends = range.split("..");
        if (ends.length > 2) return `"${item}" is not a ${what} range`;
        for (const end of ends) {
            const pattern = fraction ? /^\d+(\.\d+)?$/ : /^\d+$/;
            if (!pattern.test(end)) return `"${end}" is not a valid ${what}`;
            const value = Number(end);
            if (value < min || value > max) return `${what} ${end} is out of range ${min}–${max}`;
        }
        if (ends.length === 2 && Number(ends[0]) > Number(ends[1])) {
            return `the ${what} range ${range} runs backwards`;
        }
    }
    return undefined;
}

function checkDate(token: string): string | undefined {
    // The day may be counted from the end of the month with "~" instead of "-".
    const m = /^([^-~]+)-([^-~]+)(?:([-~])([^-~]+))?$/.exec(token);
    if (!m) return `"${token}" is not a date (year-month-day or month-day)`;
    const parts = m[3] === undefined ? [undefined, m[1], m[2]] : [m[1], m[2], m[4]];
    const [year, month, day] = parts;
    if (year !== undefined) {
        const err = checkNumeric(year, "year", 1970, 2199);
        if (err) return err;
    }
    return checkNumeric(month!, "month", 1, 12) ?? checkNumeric(day!, "day", 1, 31);
}

function checkTime(token: string): string | undefined {
    const parts = token.split(":");
    if (parts.length < 2 || parts.length > 3) return `"${token}" is not a time (hour:minute[:second])`;
    return (
        checkNumeric(parts[0], "hour", 0, 23) ??
        checkNumeric(parts[1], "minute", 0, 59) ??
        (parts.length === 3 ? checkNumeric(parts[2], "second", 0, 59, true) : undefined)
    );
}

function isTimezone(token: string): boolean {
    if (token === "UTC") return true;
    if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+$/.test(token)) return false;
    try {
        new Intl.DateTimeFormat("en", { timeZone: token });
        return true;
    } catch {
        return false;
    }
}

/**
 * Returns why `expression` is not a valid systemd calendar expression, or `undefined`
 * when it is valid. Never throws.
 */
export function calendarExpressionProblem(expression: string): string | undefined {
    const text = expression.trim();
    if (text === "") return "the expression is empty";
    if (SHORTHANDS.has(text.toLowerCase())) return undefined;

    const tokens = text.split(/\s+/);
    let i = 0;
    if (/^[A-Za-z]/.test(tokens[i]) && !isTimezone(tokens[i])) {
        const err = checkWeekdays(tokens[i]);
        if (err) return err;
        i++;
    }
    let sawDate = false;
    let sawTime = false;
    if (i < tokens.length && tokens[i].includes("-") && !tokens[i].includes(":")) {
        const err = checkDate(tokens[i]);
        if (err) return err;
        sawDate = true;
        i++;
    }
    if (i < tokens.length && tokens[i].includes(":")) {
        const err = checkTime(tokens[i]);
        if (err) return err;
        sawTime = true;
        i++;
    }
    if (i < tokens.length && (sawDate || sawTime) && isTimezone(tokens[i])) i++;
    if (i === 0 || (!sawDate && !sawTime && i < tokens.length)) {
        return `"${tokens[i] ?? text}" is neither a weekday, a date, a time nor a shorthand such as "daily"`;
    }
    if (i < tokens.length) return `unexpected "${tokens.slice(i).join(" ")}" after the expression`;
    return undefined;
}

// ---------------------------------------------------------------------------------------
// How often an expression fires: the longest gap between two consecutive elapses
// ---------------------------------------------------------------------------------------

/** What the shorthands stand for (systemd.time(7)). */
const SHORTHAND_EXPANSIONS: Record<string, string> = {
    minutely: "*-*-* *:*:00",
    hourly: "*-*-* *:00:00",
    daily: "*-*-* 00:00:00",
    weekly: "Mon *-*-* 00:00:00",
    monthly: "*-*-01 00:00:00",
    yearly: "*-01-01 00:00:00",
    annually: "*-01-01 00:00:00",
    quarterly: "*-01,04,07,10-01 00:00:00",
    semiannually: "*-01,07-01 00:00:00",
};

/** The values a numeric component allows between min and max (fractions of seconds are cut). */
function expand(field: string, min: number, max: number): Set<number> {
    const out = new Set<number>();
    for (const item of field.split(",")) {
        const [range, stepText] = item.split("/");
        const step = stepText === undefined ? undefined : Number(stepText);
        let [from, to] = range === "*" ? [min, max] : range.split("..").map((v) => Math.floor(Number(v)));
        if (to === undefined) to = step === undefined ? from : max;
        for (let v = from; v <= to; v += step ?? 1) out.add(v);
    }
    return out;
}

/** Days of a month a day component allows: forward days (1..31) and days counted from the end (~1 is the last). */
function expandDays(field: string, fromEnd: boolean): { forward: Set<number>; backward: Set<number> } {
    const days = expand(field, 1, 31);
    return fromEnd ? { forward: new Set(), backward: days } : { forward: days, backward: new Set() };
}

const WEEKDAY_INDEX: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

function expandWeekdays(field: string): Set<number> {
    const out = new Set<number>();
    const index = (w: string) => WEEKDAY_INDEX[w.toLowerCase().slice(0, 3)];
    for (const item of field.split(",")) {
        const [a, b] = item.split("..");
        if (b === undefined) out.add(index(a));
        else for (let d = index(a); ; d = (d + 1) % 7) {
            out.add(d);
            if (d === index(b)) break;
        }
    }
    return out;
}

/**
 * The longest time, in hours, between two consecutive elapses of a valid calendar
 * expression, evaluated in UTC over nine years from 2026-01-01 (so Feb 29 and yearly
 * schedules repeat in the window). A timezone other than UTC is ignored: daylight saving
 * moves an elapse by at most an hour.
 *
 * @returns Infinity when the expression elapses fewer than twice in that window (a date
 *   with a fixed year)
 * @throws Error when the expression is not valid (check with {@link calendarExpressionProblem} first)
 */
export function longestGapHours(expression: string): number {
    const problem = calendarExpressionProblem(expression);
    if (problem) throw new Error(`bad calendar expression "${expression}": ${problem}`);
    const text = SHORTHAND_EXPANSIONS[expression.trim().toLowerCase()] ?? expression.trim();
    const tokens = text.split(/\s+/);
    let i = 0;
    let weekdays: Set<number> | undefined;
    if (/^[A-Za-z]/.test(tokens[0]) && !isTimezone(tokens[0])) weekdays = expandWeekdays(tokens[i++]);
    let years: Set<number> | undefined;
    let months = expand("*", 1, 12);
    let days = expandDays("*", false);
    if (i < tokens.length && tokens[i].includes("-") && !tokens[i].includes(":")) {
        const m = /^([^-~]+)-([^-~]+)(?:([-~])([^-~]+))?$/.exec(tokens[i++])!;
        const [year, month, day, fromEnd] = m[3] === undefined ? [undefined, m[1], m[2], false] : [m[1], m[2], m[4], m[3] === "~"];
        if (year !== undefined && year !== "*") years = expand(year, 1970, 2199);
        months = expand(month, 1, 12);
        days = expandDays(day, fromEnd);
    }
    let hours = new Set([0]);
    let minutes = new Set([0]);
    let seconds = new Set([0]);
    if (i < tokens.length && tokens[i].includes(":")) {
        const [h, m, s] = tokens[i].split(":");
        hours = expand(h, 0, 23);
        minutes = expand(m, 0, 59);
        seconds = s === undefined ? new Set([0]) : expand(s, 0, 59);
    }

    // The seconds of a day at which it elapses, and the longest gap between two of them.
    const times: number[] = [];
    for (const h of hours) for (const m of minutes) for (const s of seconds) times.push(h * 3600 + m * 60 + s);
    times.sort((a, b) => a - b);
    let longest = 0;
    for (let k = 1; k < times.length; k++) longest = Math.max(longest, times[k] - times[k - 1]);

    const start = Date.UTC(2026, 0, 1);
    let previousLast: number | undefined;
    let elapses = 0;
    for (let d = 0; d < 9 * 366; d++) {
        const date = new Date(start + d * 86_400_000);
        const [y, mo, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
        const inMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
        if (years && !years.has(y)) continue;
        if (!months.has(mo)) continue;
        if (!days.forward.has(day) && !days.backward.has(inMonth - day + 1)) continue;
        if (weekdays && !weekdays.has(date.getUTCDay())) continue;
        const dayStart = (start + d * 86_400_000) / 1000;
        if (previousLast !== undefined) longest = Math.max(longest, dayStart + times[0] - previousLast);
        previousLast = dayStart + times[times.length - 1];
        elapses += times.length;
    }
    return elapses < 2 ? Infinity : longest / 3600;
}
