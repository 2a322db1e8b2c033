/**
 * Which environment variable names look like they hold a secret, and which plain values
 * carry a credential: one definition for the config check (config/services.ts, which refuses
 * such a variable in `services.<name>.env`) and the policy pack (`no-plain-secret-env`).
 * Dependency-free, so the pack can load it from its own folder.
 */

/** Case-insensitive pattern of names that look like a secret (`DATABASE_PASSWORD`, `API_KEY`, `NEXTAUTH_SECRET`). */
export const SECRET_NAME_PATTERN =
    "(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE|DSN|COOKIE|SALT|(^|_)(API_?)?KEY(S)?($|_)|(^|_)AUTH($|_))";

/**
 * Case-insensitive pattern of names that match {@link SECRET_NAME_PATTERN} but name no secret
 * themselves: a path to a secret file, an id, a user name, a public URL, host or port
 * (`POSTGRES_PASSWORD_FILE`, `AWS_ACCESS_KEY_ID`, `AUTH_URL`). A URL's embedded password is
 * caught by {@link credentialInUrl} whatever the name.
 */
export const NOT_SECRET_NAME_PATTERN = "(_FILE|_PATH|_ID|_USER|_USERNAME|_NAME|_URL|_HOST|_PORT)$";

/** Whether a variable name looks like it holds a secret. */
export function looksLikeSecretName(name: string, secretPattern = SECRET_NAME_PATTERN, notSecretPattern = NOT_SECRET_NAME_PATTERN): boolean {
    return new RegExp(secretPattern, "i").test(name) && !new RegExp(notSecretPattern, "i").test(name);
}

/**
 * The user of a URL that carries a password in its user-info part
 * (`postgres://shop:hunter2@postgres/shop` → "shop"), or undefined. A value like that in a
 * plain variable puts the password in the state and every preview in clear text.
 */
export function credentialInUrl(value: string): string | undefined {
    const m = /^[a-z][a-z0-9+.-]*:\/\/([^\s/:@]*):([^\s/@]+)@/i.exec(value.trim());
    return m ? m[1] || "(no user)" : undefined;
}
