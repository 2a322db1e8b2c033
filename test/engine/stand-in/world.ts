/**
 * The stand-ins' world: what exists "in the cloud and on the VPS" after the calls so far,
 * one JSON file per resource in the directory named by `VPS_STAND_IN_WORLD`. Create and
 * update write an entry, delete removes it, read looks it up. A resource the engine
 * retains (`retainOnDelete`) gets no delete call, so it stays: that is what lets an import
 * (`import` option) find a bucket a destroy left behind, and what a refresh reads.
 *
 * An entry holds exactly the inputs and outputs the stand-in returned; the world never
 * changes by itself (no drift), and it knows nothing of a real provider's read-back.
 */
import * as fs from "fs";
import * as path from "path";
import { digest } from "./values";

/** One resource in the world. */
export interface WorldEntry {
    type: string;
    id: string;
    urn: string;
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
}

/** A world directory; every method is synchronous, and a write is atomic (write, then rename). */
export class World {
    constructor(readonly dir: string) {
        fs.mkdirSync(dir, { recursive: true });
    }

    private file(type: string, id: string): string {
        return path.join(this.dir, `${digest(`${type}\0${id}`, 32)}.json`);
    }

    get(type: string, id: string): WorldEntry | undefined {
        const file = this.file(type, id);
        return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as WorldEntry) : undefined;
    }

    put(entry: WorldEntry): void {
        const file = this.file(entry.type, entry.id);
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(entry));
        fs.renameSync(tmp, file);
    }

    remove(type: string, id: string): void {
        fs.rmSync(this.file(type, id), { force: true });
    }

    /** Every entry, in no particular order. */
    all(): WorldEntry[] {
        return fs
            .readdirSync(this.dir)
            .filter((f) => f.endsWith(".json"))
            .map((f) => JSON.parse(fs.readFileSync(path.join(this.dir, f), "utf8")) as WorldEntry);
    }
}
