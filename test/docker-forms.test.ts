import { strict as assert } from "assert";
import { cpusInput, cpusProblem, cpusReadBack, dockerDuration, goDurationString, nanoCpus } from "../components/docker/docker-forms";

// Expected values were printed by Go 1.26 on this machine from the provider's own code path:
// big.Rat.SetString + Mul(1e9) (docker opts.ParseCPUs), kreuzwerker v4.5.0
// nanoInt64ToDecimalString, and time.ParseDuration(...).String().
describe("the Docker provider's read-back forms", () => {
    describe("cpus", () => {
        const table: [number, string][] = [
            [1, "1.0"],
            [2, "2.0"],
            [10, "10."],
            [101, "101."],
            [0.5, "0.5"],
            [0.25, "0.25"],
            [1.5, "1.5"],
            [0.05, "0.1"],
            [10.05, "10.1"],
            [0.001, "0.0"],
        ];
        for (const [cpus, back] of table) {
            it(`reads ${cpus} CPUs back as "${back}", as kreuzwerker does`, () => {
                assert.equal(cpusReadBack(nanoCpus(cpus)!), back);
            });
        }

        it("sends the read-back form, so a refresh of a 1-CPU container finds no change", () => {
            assert.equal(cpusInput(1), "1.0");
            assert.equal(cpusInput(0.5), "0.5");
            assert.equal(cpusInput(10), "10.");
            assert.equal(cpusInput(0.25), "0.25");
            assert.equal(cpusInput(1.5), "1.5");
        });

        it("rejects a count the provider reads back as another number, suggesting one it keeps", () => {
            assert.match(cpusProblem(0.05)!, /read back by the Docker provider as "0\.1".*replace the container.*such as 0\.1/);
            assert.match(cpusProblem(10.05)!, /as "10\.1"/);
            assert.throws(() => cpusInput(0.06), /"0\.1"/);
        });

        it("rejects more than nine decimals, as docker's ParseCPUs does", () => {
            assert.equal(nanoCpus(0.0000000001), undefined);
            assert.match(cpusProblem(0.0000000001)!, /at most 9 decimals/);
        });

        it("accepts every count with one decimal from 0.1 to 64, and every two-decimal one from 0.1 to 4", () => {
            for (let tenths = 1; tenths <= 640; tenths++) assert.equal(cpusProblem(tenths / 10), undefined, String(tenths / 10));
            for (let hundredths = 10; hundredths <= 400; hundredths++) {
                const c = hundredths / 100;
                // Two decimals with a zero first decimal (1.05) are kept below 10; 10.05 is not.
                assert.equal(cpusProblem(c), undefined, String(c));
            }
        });
    });

    describe("durations", () => {
        const table: [string, string][] = [
            ["90s", "1m30s"],
            ["1m", "1m0s"],
            ["10s", "10s"],
            ["500ms", "500ms"],
            ["1m30s", "1m30s"],
            ["0s", "0s"],
            ["1h", "1h0m0s"],
            ["1500ms", "1.5s"],
            ["2h0m0s", "2h0m0s"],
        ];
        for (const [sent, back] of table) {
            it(`normalises "${sent}" to Go's Duration.String() "${back}"`, () => {
                assert.equal(dockerDuration(sent), back);
            });
        }

        it("is idempotent: a read-back form is sent unchanged", () => {
            for (const [, back] of table) assert.equal(dockerDuration(back), back);
        });

        it("formats sub-second and fractional values as Go does", () => {
            assert.equal(goDurationString(1_500n), "1.5µs");
            assert.equal(goDurationString(999n), "999ns");
            assert.equal(goDurationString(61_001_000_000n), "1m1.001s");
        });

        it("rejects text that is not a duration, naming it", () => {
            assert.throws(() => dockerDuration("10"), /"10" is not a duration/);
            assert.throws(() => dockerDuration("1.5"), /"1\.5" is not a duration/);
            assert.throws(() => dockerDuration("10 s"), /"10 s" is not a duration/);
        });
    });
});
