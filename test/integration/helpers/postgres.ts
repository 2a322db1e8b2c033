import { execFile } from "child_process";
import { promisify } from "util";

const run = promisify(execFile);

/** The machine's PostgreSQL: 127.0.0.1:5432, trust authentication, superuser postgres. */
export const pgEnv = { PGHOST: "127.0.0.1", PGPORT: "5432" };
export const pgUser = "postgres";

/** Runs SQL in a database with psql and returns its unaligned, tuples-only output. */
export async function psql(database: string, sql: string): Promise<string> {
    const { stdout } = await run(
        "psql",
        ["-h", pgEnv.PGHOST, "-p", pgEnv.PGPORT, "-U", pgUser, "-d", database, "-v", "ON_ERROR_STOP=1", "-qtAc", sql],
        { maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout.trim();
}

/** A database name unique to this test run. */
export function uniqueDatabase(stem: string): string {
    return `${stem}_${process.pid}_${Date.now().toString(36)}`;
}

export async function createDatabase(name: string): Promise<void> {
    await psql("postgres", `CREATE DATABASE "${name}"`);
}

/** Drops a database if it exists, ending its sessions. */
export async function dropDatabase(name: string): Promise<void> {
    await psql("postgres", `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

export async function databaseExists(name: string): Promise<boolean> {
    return (await psql("postgres", `SELECT count(*) FROM pg_database WHERE datname = '${name}'`)) === "1";
}

/**
 * Fills a database with a small shop: customers, orders (with numeric, jsonb, NULLs and a
 * foreign key), a bytea table, an enum, a sequence past its start, an index and a view.
 * `orders` gets `orders` rows; the total is above it.
 */
export async function seedShop(database: string, orders: number): Promise<void> {
    await psql(
        database,
        `
        CREATE TYPE order_state AS ENUM ('new', 'paid', 'shipped', 'cancelled');
        CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, created timestamptz NOT NULL);
        INSERT INTO customers (name, email, created)
            SELECT 'Customer ' || g, 'c' || g || '@example.com', timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute'
            FROM generate_series(1, 10000) g;
        CREATE TABLE orders (
            id bigserial PRIMARY KEY,
            customer_id int NOT NULL REFERENCES customers(id),
            state order_state NOT NULL,
            amount numeric(12, 2) NOT NULL,
            note text,
            data jsonb NOT NULL
        );
        INSERT INTO orders (customer_id, state, amount, note, data)
            SELECT 1 + g % 10000,
                   (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + g % 4]::order_state,
                   round((g * 7919 % 100000) / 100.0, 2),
                   CASE WHEN g % 3 = 0 THEN NULL ELSE md5(g::text) || ' ''quoted'' ' || chr(10) || 'line' END,
                   jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g % 7))
            FROM generate_series(1, ${orders}) g;
        CREATE INDEX orders_customer ON orders (customer_id);
        CREATE TABLE attachments (id int PRIMARY KEY, body bytea NOT NULL);
        INSERT INTO attachments SELECT g, decode(md5(g::text) || md5((g * 31)::text), 'hex') FROM generate_series(1, 5000) g;
        CREATE VIEW paid_orders AS SELECT * FROM orders WHERE state = 'paid';
        `,
    );
}

/** Per user table: its row count and an md5 over its rows in a fixed order; with sequence values. */
export async function tableFingerprints(database: string): Promise<Record<string, { rows: number; md5: string }>> {
    const tables = (await psql(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).split("\n").filter((t) => t);
    const out: Record<string, { rows: number; md5: string }> = {};
    for (const t of tables) {
        const [rows, md5] = (await psql(database, `SELECT count(*), coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') FROM "${t}" x`)).split("|");
        out[t] = { rows: Number(rows), md5 };
    }
    const seqs = (await psql(database, "SELECT sequencename || '=' || coalesce(last_value, 0) FROM pg_sequences ORDER BY 1")).split("\n").filter((s) => s);
    out["(sequences)"] = { rows: seqs.length, md5: seqs.join(",") };
    return out;
}
