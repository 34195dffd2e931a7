import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingMigrations, runPrismaCli } from '../../src/database/database.js';
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
