import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTOR_FILE, loadConnector, placeholdersFor } from '../../src/cdc/connector.js';
import { PoisonMessageError, processMessage } from '../../src/cdc/envelope.js';
import { CDC_TABLES, camelCase, rowToEntity } from '../../src/cdc/tables.js';

const envelope = (op: string, before: object | null, after: object | null) =>
  JSON.stringify({ before, after, op, ts_ms: 1700000000500, source: { ts_ms: 1700000000000, lsn: 12345, table: 'customers' } });

describe('Debezium envelope processing', () => {
  it('turns an update into a change with both rows in the entity shape', () => {
    const value = envelope(
      'u',
      { customer_id: 7, first_name: 'Ann', updated_at: '2026-01-01T00:00:00Z' },
      { customer_id: 7, first_name: 'Anna', updated_at: '2026-01-02T00:00:00Z' },
    );
    const event = processMessage({ topic: 'shop.public.customers', value: Buffer.from(value) }, 'shop', new Date(1700000000100))!;
    expect(event).toMatchObject({
      table: 'customers',
      operation: 'UPDATE',
      before: { customerId: 7, firstName: 'Ann' },
      after: { customerId: 7, firstName: 'Anna' },
      lsn: '12345',
    });
    expect(event.after!.updatedAt).toEqual(new Date('2026-01-02T00:00:00Z'));
    expect(event.committedAt).toEqual(new Date(1700000000000));
  });

  it('maps create, delete and snapshot reads, keeping money as exact strings and ids as bigint', () => {
    const created = processMessage({ topic: 'shop.public.orders', value: envelope('c', null, { order_id: 1, total_price: '19.99', status: 'paid' }) }, 'shop')!;
    expect(created).toMatchObject({ operation: 'CREATE', before: null, after: { orderId: 1, totalPrice: '19.99', status: 'paid' } });
    const deleted = processMessage({ topic: 'shop.public.carts', value: envelope('d', { cart_id: 3, quantity: 2 }, null) }, 'shop')!;
    expect(deleted).toMatchObject({ operation: 'DELETE', before: { cartId: 3, quantity: 2 }, after: null });
    const read = processMessage(
      {
        topic: 'shop.public.behavior_events',
        // biome-ignore lint/correctness/noPrecisionLoss: an id above 2^53, to check it arrives as an exact string
        value: envelope('r', null, { event_id: 9007199254740993, event_type: 'view_product', context: '{"price":"1.00"}' }),
      },
      'shop',
    )!;
    expect(read.operation).toBe('SNAPSHOT');
    expect(typeof read.after!.eventId).toBe('bigint');
    expect(read.after!.context).toEqual({ price: '1.00' });
  });

  it("maps Debezium's TRUNCATE event (no key, no rows) to a TRUNCATE change, and refuses one that carries a row", () => {
    const truncated = processMessage({ topic: 'shop.public.orders', key: null, value: envelope('t', null, null) }, 'shop')!;
    expect(truncated).toMatchObject({ table: 'orders', operation: 'TRUNCATE', before: null, after: null, lsn: '12345' });
    expect(() => processMessage({ topic: 'shop.public.orders', value: envelope('t', null, { order_id: 1 }) }, 'shop')).toThrow(/TRUNCATE with a row/);
  });

  it('ignores tombstones and never exposes columns the model does not have, nor hidden ones (password_hash)', () => {
    expect(processMessage({ topic: 'shop.public.customers', value: null }, 'shop')).toBeNull();
    const event = processMessage({ topic: 'shop.public.customers', value: envelope('c', null, { customer_id: 1, password_hash: 'x', secret: 1 }) }, 'shop')!;
    expect(event.after).toEqual({ customerId: 1 });
  });

  it('rejects poison messages with a reason: not JSON, unknown table, wrong shape', () => {
    const poison = (topic: string, value: string) => () => processMessage({ topic, value }, 'shop');
    expect(poison('shop.public.customers', 'not json{')).toThrow(PoisonMessageError);
    expect(poison('shop.public.customers', 'not json{')).toThrow(/not JSON/);
    expect(poison('shop.public.secrets', envelope('c', null, { id: 1 }))).toThrow(/unknown table/);
    expect(poison('other.topic', envelope('c', null, { id: 1 }))).toThrow(/unknown table/);
    expect(poison('shop.public.customers', '[1,2]')).toThrow(/not a JSON object/);
    expect(poison('shop.public.customers', JSON.stringify({ op: 'x' }))).toThrow(/unknown op/);
    expect(poison('shop.public.customers', JSON.stringify({ op: 'c', after: null, source: { ts_ms: 1 } }))).toThrow(/CREATE without the after row/);
    expect(poison('shop.public.customers', JSON.stringify({ op: 'c', after: { customer_id: 1 } }))).toThrow(/ts_ms/);
  });

  it('maps every captured column name to a model field', () => {
    expect(camelCase('zip_code')).toBe('zipCode');
    expect(Object.keys(rowToEntity('shipments', { shipment_id: 1, zip_code: '1', tracking_number: 't', shipment_date: null }))).toEqual([
      'shipmentId',
      'zipCode',
      'trackingNumber',
      'shipmentDate',
    ]);
    expect(Object.keys(CDC_TABLES)).toHaveLength(14);
  });
});

describe('connector definition', () => {
  const placeholders = placeholdersFor('postgresql://app:s%40cret@db.local:5544/shop', 'shop');

  it('fills the database and topic placeholders of the committed connector file', () => {
    const connector = loadConnector(DEFAULT_CONNECTOR_FILE, placeholders);
    expect(connector.name).toBe('shop-cdc');
    expect(connector.config).toMatchObject({
      'database.hostname': 'db.local',
      'database.port': '5544',
      'database.user': 'app',
      'database.password': 's@cret',
      'database.dbname': 'shop',
      'topic.prefix': 'shop',
      'plugin.name': 'pgoutput',
      'decimal.handling.mode': 'string',
      'column.exclude.list': 'public.customers.password_hash',
      // TRUNCATE events mark where a reset is in each topic (src/app/reset.ts).
      'skipped.operations': 'none',
    });
    for (const table of Object.keys(CDC_TABLES)) expect(connector.config['table.include.list']).toContain(`public.${table}`);
    expect(JSON.stringify(connector.config)).not.toContain('${');
  });

  it('uses the address Connect reaches the database at when it differs (ENGINE_DB_ADDRESS, e.g. inside docker compose)', () => {
    const inCompose = loadConnector(
      DEFAULT_CONNECTOR_FILE,
      placeholdersFor('postgresql://app:pw@localhost:15432/shop', 'shop', 'rtrec_cdc', { host: 'postgres', port: 5432 }),
    );
    expect(inCompose.config).toMatchObject({ 'database.hostname': 'postgres', 'database.port': '5432', 'database.dbname': 'shop', 'database.user': 'app' });
  });

  it('names the field that is wrong in a malformed file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conn-'));
    const write = (name: string, body: string) => {
      const f = join(dir, name);
      writeFileSync(f, body);
      return f;
    };
    expect(() => loadConnector(write('a.json', '{ nope'), placeholders)).toThrow(/is not valid JSON/);
    expect(() => loadConnector(write('b.json', JSON.stringify({ name: 'x', config: {} })), placeholders)).toThrow(/"connector.class" is required/);
    expect(() => loadConnector(write('c.json', JSON.stringify({ name: 'bad name!', config: { 'connector.class': 'X' } })), placeholders)).toThrow(
      /name: must contain only/,
    );
    expect(() =>
      loadConnector(
        write(
          'd.json',
          JSON.stringify({
            name: 'x',
            config: { 'connector.class': 'io.debezium.connector.postgresql.PostgresConnector', 'topic.prefix': 'p', 'plugin.name': 'wal2json' },
          }),
        ),
        placeholders,
      ),
    ).toThrow(/plugin.name/);
    expect(() =>
      loadConnector(write('e.json', JSON.stringify({ name: 'x', config: { 'connector.class': 'X', 'database.password': '${vault.secret}' } })), placeholders),
    ).toThrow(/unknown placeholder \$\{vault.secret\}/);
    expect(() => loadConnector(join(dir, 'missing.json'), placeholders)).toThrow(/Cannot read connector file/);
  });
});
