import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, createPrisma, pendingMigrations, runPrismaCli } from '../../src/database/database.js';
import { createChannelListener } from '../../src/database/listener.js';
import type { Logger } from '../../src/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('migr');
});
afterAll(() => t.drop());

describe('database schema', () => {
  it('has every committed migration applied by prisma migrate deploy', async () => {
    expect(await pendingMigrations(t.url)).toEqual([]);
  });

  it('fails when schema.prisma and the committed migrations drift (prisma migrate diff --exit-code)', async () => {
    const result = await runPrismaCli(
      ['migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema-datamodel', 'prisma/schema.prisma', '--exit-code'],
      t.url,
    );
    expect(result.output).toContain('No difference detected');
    expect(result.code).toBe(0);
  });

  it('stores money as numeric(10,2) and events in an append-only table with event_type', async () => {
    const { rows } = await t.pool.query<{ table_name: string; column_name: string; data_type: string; numeric_precision: number; numeric_scale: number }>(
      `SELECT table_name, column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns
        WHERE table_schema = 'public' AND column_name IN ('price', 'total_price', 'amount', 'event_type')
          AND table_name NOT IN ('fraud_alerts', 'revenue_stats', 'top_products', 'imported_events')`,
    );
    const money = rows.filter((r) => r.column_name !== 'event_type');
    expect(money.map((r) => `${r.table_name}.${r.column_name}`).sort()).toEqual([
      'order_items.price',
      'orders.total_price',
      'payments.amount',
      'products.price',
    ]);
    for (const r of money) expect([r.data_type, r.numeric_precision, r.numeric_scale]).toEqual(['numeric', 10, 2]);
    expect(rows.find((r) => r.column_name === 'event_type')?.table_name).toBe('behavior_events');
  });

  it('runs with logical WAL so change data capture can attach', async () => {
    const { rows } = await t.pool.query<{ wal_level: string }>('SHOW wal_level');
    expect(rows[0]!.wal_level).toBe('logical');
  });
});

/** Ends the server process of a connection, as a crash or a restart of PostgreSQL does to every connection. */
async function terminate(t: TestDatabase, pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: t.url });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}

/** The server process of a pooled connection (for `terminate`). */
const backendPid = async (client: pg.PoolClient): Promise<number> => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

/** Waits until `ok()` holds; fails naming `what` after `ms`. */
async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await ok()); await new Promise((r) => setTimeout(r, 50)))
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
}

const within = <T>(ms: number, work: Promise<T>): Promise<T> =>
  Promise.race([work, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))]);

describe('connections the server drops while they are checked out', () => {
  it('a pool frees the slot of a failed connection its holder never released, without an uncaught error', async () => {
    const errors: Error[] = [];
    const pool = createPool(t.url, 1, (error) => errors.push(error));
    try {
      const held = await pool.connect();
      await terminate(t, await backendPid(held));
      await until('the pool to report the lost connection', () => errors.length > 0, 5000);
      expect(errors[0]?.message).toMatch(/terminat/);
      // The only slot is free again although `held` was never released: the next caller gets a fresh connection.
      const next = await within(5000, pool.connect());
      expect((await next.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      next.release();
      expect(() => held.release()).not.toThrow();
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('reports an idle connection the server ended with its error only, not the connection (no cancel key in the logs)', async () => {
    const errors: Error[] = [];
    const pool = createPool(t.url, 1, (error) => errors.push(error));
    try {
      const client = await pool.connect();
      const pid = await backendPid(client);
      client.release();
      await terminate(t, pid);
      await until('the pool to report the lost connection', () => errors.length > 0, 5000);
      expect(errors[0]?.message).toMatch(/terminat/);
      expect(Object.keys(errors[0]!)).not.toContain('client');
      expect(JSON.stringify(errors[0])).not.toMatch(/secretKey|processID/);
    } finally {
      await pool.end();
    }
  });

  it("Prisma's calls go on after a transaction whose connection the server ended (one connection in its pool)", async () => {
    const db = createPrisma(t.url, 1);
    try {
      await expect(
        db.$transaction(async (tx) => {
          const [row] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
          await terminate(t, row!.pid);
          await new Promise((r) => setTimeout(r, 300));
          await tx.$queryRaw`SELECT 1`;
        }),
      ).rejects.toThrow();
      expect(await within(10_000, db.$queryRaw<{ one: number }[]>`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    } finally {
      await db.$disconnect();
    }
  });
});

describe('a LISTEN connection of its own (createChannelListener)', () => {
  const silent = { warn: () => undefined } as unknown as Logger;

  it('delivers integer payloads, reopens after the server ends it (and says so), and stops on close', async () => {
    const pool = createPool(t.url, 2);
    const ids: number[] = [];
    let opened = 0;
    const listener = createChannelListener(pool, silent, {
      channel: 'rtrec_test_channel',
      onId: (id) => ids.push(id),
      onListening: () => opened++,
      lostMessage: 'lost',
      failedMessage: 'failed',
    });
    const listeners = "SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN rtrec_test_channel'";
    try {
      await listener.start();
      await listener.start();
      expect(listener.connected()).toBe(true);
      expect(opened).toBe(1);
      await pool.query("SELECT pg_notify('rtrec_test_channel', '42'), pg_notify('rtrec_test_channel', 'not an id')");
      await until('the notification', () => ids.length > 0);
      expect(ids).toEqual([42]);

      const { rows } = await pool.query<{ pid: number }>(listeners);
      expect(rows).toHaveLength(1);
      await terminate(t, rows[0]!.pid);
      await until('the listener to reopen', () => opened === 2 && listener.connected());
      await pool.query("SELECT pg_notify('rtrec_test_channel', '7')");
      await until('the notification after the reopen', () => ids.length === 2);
      expect(ids).toEqual([42, 7]);
      expect((await pool.query(listeners)).rows).toHaveLength(1);

      await listener.close();
      expect(listener.connected()).toBe(false);
      await until('the LISTEN connection to end', async () => (await pool.query(listeners)).rows.length === 0);
    } finally {
      await listener.close();
      await pool.end();
    }
  });
});
