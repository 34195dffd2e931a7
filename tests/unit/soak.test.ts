import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/common/random.js';
import { FAULT_COMPONENTS, faultSequence, parseFaultList } from '../../src/soak/faults.js';
import { decodeTuple, lsnToDecimal, parseWalLine } from '../../src/soak/wal.js';

describe('soak: the reference log of PostgreSQL changes', () => {
  it('turns a WAL position into the decimal LSN Debezium reports', () => {
    // Measured on the stack: test_decoding's 0/1CB1100 is Debezium's source.lsn 30085376.
    expect(lsnToDecimal('0/1CB1100')).toBe('30085376');
    expect(lsnToDecimal('1/0')).toBe(String(2 ** 32));
    expect(lsnToDecimal('FFFFFFFF/FFFFFFFF')).toBe((2n ** 64n - 1n).toString());
  });

  it('reads a change of a captured table by its key, with the row of a creation', () => {
    const insert = parseWalLine(
      "table public.orders: INSERT: order_id[integer]:42 order_date[timestamp with time zone]:'2026-12-07 08:53:50.5+00' total_price[numeric]:123.40 status[order_status]:'pending' customer_id[integer]:7",
      '0/1CB1100',
    );
    expect(insert?.change).toEqual({ table: 'orders', key: '42', lsn: '30085376', operation: 'c' });
    expect(insert?.row).toMatchObject({ order_id: '42', total_price: '123.40', customer_id: '7', order_date: '2026-12-07 08:53:50.5+00' });
  });

  it('takes the key of an update from its new row (REPLICA IDENTITY FULL prints the old one first) and of a delete from its old one', () => {
    const update = parseWalLine(
      "table public.customers: UPDATE: old-key: customer_id[integer]:1 first_name[character varying]:'O''Brien x' new-tuple: customer_id[integer]:1 first_name[character varying]:'O''Brien'",
      '0/10',
    );
    expect(update?.change).toEqual({ table: 'customers', key: '1', lsn: '16', operation: 'u' });
    expect(update?.row.first_name).toBe("O'Brien");
    const remove = parseWalLine('table public.carts: DELETE: cart_id[integer]:9', '0/20');
    expect(remove?.change).toEqual({ table: 'carts', key: '9', lsn: '32', operation: 'd' });
  });

  it('ignores tables nobody captures and lines that are not row changes', () => {
    expect(parseWalLine("table public.simulation_runs: INSERT: id[uuid]:'x'", '0/1')).toBeUndefined();
    expect(parseWalLine('table public.orders: TRUNCATE: (no-flags)', '0/1')).toBeUndefined();
    expect(parseWalLine('BEGIN 843', '0/1')).toBeUndefined();
  });

  it('decodes NULL, quoted text with spaces and unchanged TOAST values', () => {
    expect(decodeTuple("a[integer]:null b[text]:'two words' c[text]:unchanged-toast-datum d[numeric]:1.5")).toEqual({ a: null, b: 'two words', d: '1.5' });
  });
});

describe('soak: faults', () => {
  it('parses --faults, naming an unknown component and the known ones', () => {
    expect(parseFaultList('kafka, api,kafka')).toEqual(['kafka', 'api']);
    expect(parseFaultList('none')).toEqual([]);
    expect(() => parseFaultList('kafka,zookeeper')).toThrow(/unknown component 'zookeeper': choose from kafka, connect, .*postgres/);
    expect(() => parseFaultList('')).toThrow(/unknown component ''/);
  });

  it('hits every component once per round, in a seeded order that changes between rounds', () => {
    const rng = createRng(3);
    const next = faultSequence(FAULT_COMPONENTS, () => rng.next());
    const rounds = Array.from({ length: 4 }, () => Array.from({ length: FAULT_COMPONENTS.length }, next));
    for (const round of rounds) expect([...round].sort()).toEqual([...FAULT_COMPONENTS].sort());
    expect(new Set(rounds.map((r) => r.join())).size).toBeGreaterThan(1);
    const again = createRng(3);
    const replay = faultSequence(FAULT_COMPONENTS, () => again.next());
    expect(Array.from({ length: FAULT_COMPONENTS.length }, replay)).toEqual(rounds[0]);
  });
});
