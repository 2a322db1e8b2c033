/**
 * The forms in which the Docker provider reads container settings back.
 *
 * @pulumi/docker 5.2 bridges kreuzwerker/terraform-provider-docker v4.5. After create and on
 * every refresh the provider reads the container from the engine and stores what it reads
 * in the state; the next `pulumi up` compares the program's inputs with that state. An input
 * sent in any other form than the one read back shows a diff on every update, and for a
 * field that forces replacement (`cpus`) replaces the container on every update. So the
 * program sends exactly the read-back form, and the config rejects values that have none.
 *
 * Sources (kreuzwerker/terraform-provider-docker v4.5.0):
 * - `cpus`: create parses it with docker's `opts.ParseCPUs` (a decimal string times 10^9
 *   must be whole nanoCPUs); read sets `nanoInt64ToDecimalString(HostConfig.NanoCPUs)`
 *   (internal/provider/helpers.go), and the schema marks `cpus` ForceNew
 *   (resource_docker_container.go).
 * - healthcheck `interval`, `timeout`, `start_period`, `start_interval`: create parses with
 *   Go's `time.ParseDuration`; read sets `Duration.String()`
 *   (resource_docker_container_funcs.go, resourceDockerContainerRead).
 */

const NANOS_PER_CPU = 1_000_000_000n;

/**
 * A non-negative decimal number as an exact fraction of two bigints, the way Go's
 * `big.Rat.SetString` reads "1.5" or "10.".
 */
function decimalToFraction(text: string): { num: bigint; den: bigint } | undefined {
    const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
    if (!m || (m[1] === "" && (m[2] ?? "") === "")) return undefined;
    const frac = m[2] ?? "";
    return { num: BigInt((m[1] || "0") + frac), den: 10n ** BigInt(frac.length) };
}

/** The shortest decimal text of a JavaScript number without an exponent (0.05 → "0.05"). */
function plainDecimal(value: number): string {
    const text = String(value);
    if (!/e/i.test(text)) return text;
    return value.toFixed(20).replace(/0+$/, "").replace(/\.$/, "");
}

/**
 * NanoCPUs for a CPU count, as docker's `opts.ParseCPUs` computes them.
 *
 * @returns the whole number of nanoCPUs, or undefined when the value has more than nine
 *   decimals (docker refuses it: "value is too precise") or is not a finite positive number
 */
export function nanoCpus(cpus: number): bigint | undefined {
    if (!Number.isFinite(cpus) || cpus <= 0) return undefined;
    const f = decimalToFraction(plainDecimal(cpus));
    if (!f) return undefined;
    const scaled = f.num * NANOS_PER_CPU;
    return scaled % f.den === 0n ? scaled / f.den : undefined;
}

/** `big.Rat.FloatString(digits)` of nanos/10^9: rounded to nearest, halves away from zero. */
function floatString(nanos: bigint, digits: number): string {
    const scale = 10n ** BigInt(digits);
    let q = (nanos * scale) / NANOS_PER_CPU;
    const r = (nanos * scale) % NANOS_PER_CPU;
    if (r * 2n >= NANOS_PER_CPU) q += 1n;
    const s = q.toString().padStart(digits + 1, "0");
    return digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

/**
 * The `cpus` text the provider stores for `nanos` nanoCPUs: kreuzwerker's
 * `nanoInt64ToDecimalString`. The nine-decimal form is used with trailing zeros cut, except
 * that a form with exactly nine "0" characters is rounded to one decimal
 * (1 → "1.0", 0.05 → "0.1"; 10 has ten zeros and becomes "10.").
 */
export function cpusReadBack(nanos: bigint): string {
    if (nanos === 0n) return "0";
    const nine = floatString(nanos, 9);
    if ([...nine].filter((c) => c === "0").length === 9) return floatString(nanos, 1);
    return nine.replace(/0+$/, "");
}

/**
 * The `cpus` input to send for a CPU count: the exact text the provider reads back, so a
 * refresh finds no difference.
 *
 * @throws Error when the count has no stable form; {@link cpusProblem} says why
 */
export function cpusInput(cpus: number): string {
    const problem = cpusProblem(cpus);
    if (problem) throw new Error(problem);
    return cpusReadBack(nanoCpus(cpus)!);
}

/**
 * Why a CPU count cannot be sent as it is, or undefined when it can: docker refuses more
 * than nine decimals, and a count the provider reads back as another number (0.05 is read
 * back as "0.1") would replace the container on every `pulumi up`.
 */
export function cpusProblem(cpus: number): string | undefined {
    const nanos = nanoCpus(cpus);
    if (nanos === undefined) return `${cpus} is not a CPU count Docker accepts (a positive number with at most 9 decimals)`;
    const back = cpusReadBack(nanos);
    const backNanos = decimalToFraction(back);
    if (!backNanos || backNanos.num * NANOS_PER_CPU !== nanos * backNanos.den) {
        return (
            `${cpus} is read back by the Docker provider as "${back}", so every pulumi up would replace the container: ` +
            `use a value it keeps, such as ${suggestions(cpus).join(" or ")}`
        );
    }
    return undefined;
}

/** Nearby CPU counts that round-trip, for the error message. */
function suggestions(cpus: number): string[] {
    const out = new Set<number>();
    for (const step of [0.1, 0.05, 0.01]) {
        for (const candidate of [Math.floor(cpus / step) * step, Math.ceil(cpus / step) * step]) {
            const c = Number(candidate.toFixed(2));
            if (c > 0 && c !== cpus && nanoCpus(c) !== undefined && cpusRoundTrips(c)) out.add(c);
        }
        if (out.size >= 2) break;
    }
    return [...out].sort((a, b) => a - b).slice(0, 2).map(String);
}

function cpusRoundTrips(cpus: number): boolean {
    const nanos = nanoCpus(cpus)!;
    const back = decimalToFraction(cpusReadBack(nanos))!;
    return back.num * NANOS_PER_CPU === nanos * back.den;
}

// ---------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------

const UNIT_NANOS: Record<string, bigint> = { ns: 1n, us: 1_000n, "µs": 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/**
 * Nanoseconds of a Go duration text ("1m30s", "500ms", "90s", "1.5s"): what
 * `time.ParseDuration` accepts, without a sign.
 *
 * @returns undefined when the text is not such a duration, or names a fraction of a nanosecond
 */
export function durationNanos(text: string): bigint | undefined {
    const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g;
    if (text.replace(part, "") !== "" || text === "") return undefined;
    let total = 0n;
    for (const m of text.matchAll(part)) {
        const f = decimalToFraction(m[1])!;
        const scaled = f.num * UNIT_NANOS[m[2]];
        if (scaled % f.den !== 0n) return undefined;
        total += scaled / f.den;
    }
    return total;
}

/** Go's `time.Duration.String()` for a non-negative duration in nanoseconds. */
export function goDurationString(nanos: bigint): string {
    if (nanos === 0n) return "0s";
    const fraction = (value: bigint, unit: bigint): string => {
        const whole = value / unit;
        const rest = value % unit;
        if (rest === 0n) return whole.toString();
        const digits = unit.toString().length - 1;
        return `${whole}.${rest.toString().padStart(digits, "0").replace(/0+$/, "")}`;
    };
    if (nanos < 1_000_000_000n) {
        if (nanos < 1_000n) return `${nanos}ns`;
        if (nanos < 1_000_000n) return `${fraction(nanos, 1_000n)}µs`;
        return `${fraction(nanos, 1_000_000n)}ms`;
    }
    const hours = nanos / UNIT_NANOS.h;
    const minutes = (nanos % UNIT_NANOS.h) / UNIT_NANOS.m;
    const seconds = fraction(nanos % UNIT_NANOS.m, UNIT_NANOS.s);
    if (hours > 0n) return `${hours}h${minutes}m${seconds}s`;
    if (minutes > 0n) return `${minutes}m${seconds}s`;
    return `${seconds}s`;
}

/**
 * A duration in the form the provider reads back ("90s" → "1m30s", "1m" → "1m0s").
 *
 * @throws Error naming the text when it is not a duration
 */
export function dockerDuration(text: string): string {
    const nanos = durationNanos(text);
    if (nanos === undefined) throw new Error(`"${text}" is not a duration such as "10s", "1m30s", "1.5s" or "500ms"`);
    return goDurationString(nanos);
}
