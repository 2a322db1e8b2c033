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
