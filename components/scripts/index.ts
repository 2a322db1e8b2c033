/**
 * The shell scripts the components install on the VPS live in this folder (shellcheck -x
 * checks them; the integration suite runs them for real). Components read them here, at
 * construction, so a script's content is part of what they hash and compare.
 */
import * as fs from "fs";
import * as path from "path";

/** The content of `components/scripts/<file>`. */
export function readScript(file: string): string {
    return fs.readFileSync(path.join(__dirname, file), "utf8");
}

/** The named scripts as a job's files: file name -> content. */
export function readScripts(...files: string[]): Record<string, string> {
    return Object.fromEntries(files.map((file) => [file, readScript(file)]));
}
