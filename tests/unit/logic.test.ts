import { describe, expect, it } from 'vitest';
import { buildWhere, RESOURCES } from '../../src/api/resources.js';
import { fromCents, toCents } from '../../src/common/money.js';
import { createRng, WeightedSampler } from '../../src/common/random.js';
import { ConfigError, isLoopbackHost, loadConfig } from '../../src/config/env.js';
import { AppError } from '../../src/errors.js';
import { hashPassword, SYNTHETIC_COST, verifyPassword } from '../../src/security/password.js';
import { FULFILMENT, fulfilmentAt, parseAddress } from '../../src/shop/policy.js';

describe('money', () => {
  it('converts amounts to exact cents and back', () => {
    expect(toCents('19.99')).toBe(1999);
    expect(toCents('5')).toBe(500);
    expect(toCents('0.5')).toBe(50);
    expect(toCents(12.3)).toBe(1230);
    expect(fromCents(1999 * 3)).toBe('59.97');
    expect(fromCents(5)).toBe('0.05');
  });
  it('rejects text that is not an amount', () => {
    expect(() => toCents('abc')).toThrow(/not a money amount/);
  });
});

describe('seeded random numbers', () => {
  it('repeat exactly for the same seed and differ for another', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
  });
  it('draw weighted choices in proportion to their weights', () => {
    const rng = createRng(1);
    const sampler = new WeightedSampler(['a', 'b', 'c'], [1, 2, 7]);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 20_000; i++) counts[sampler.draw(rng)]!++;
    expect(counts.a! / 20_000).toBeCloseTo(0.1, 1);
    expect(counts.c! / 20_000).toBeCloseTo(0.7, 1);
  });
  it('give forks that are stable per label', () => {
    expect(createRng(3).fork('x').next()).toBe(createRng(3).fork('x').next());
    expect(createRng(3).fork('x').next()).not.toBe(createRng(3).fork('y').next());
  });
});

describe('order fulfilment policy', () => {
  const placed = new Date('2026-01-01T00:00:00Z');
  const at = (ms: number) => new Date(placed.getTime() + ms);
  it('keeps a fresh order paid with a pending shipment', () => {
    expect(fulfilmentAt(placed, at(1000))).toEqual({ orderStatus: 'paid', shipmentStatus: 'pending', shipmentDate: null });
  });
  it('ships, then moves in transit, then delivers by the thresholds', () => {
    expect(fulfilmentAt(placed, at(FULFILMENT.shipAfterMs)).orderStatus).toBe('shipped');
    expect(fulfilmentAt(placed, at(FULFILMENT.inTransitAfterMs)).shipmentStatus).toBe('in_transit');
    const delivered = fulfilmentAt(placed, at(FULFILMENT.deliverAfterMs + 1));
    expect(delivered).toMatchObject({ orderStatus: 'delivered', shipmentStatus: 'delivered' });
    expect(delivered.shipmentDate).toEqual(at(FULFILMENT.shipAfterMs));
  });
});

describe('address parsing', () => {
  it('splits the generator format into postal parts', () => {
    expect(parseAddress('12 Main St, Apt 4, Springfield, IL 62704, United States')).toEqual({
      address: '12 Main St, Apt 4',
      city: 'Springfield',
      state: 'IL',
      zipCode: '62704',
      country: 'United States',
    });
  });
  it('keeps an unparseable address whole and marks the rest unknown', () => {
    expect(parseAddress('somewhere')).toMatchObject({ address: 'somewhere', city: 'unknown' });
    expect(parseAddress(null).address).toBe('unknown');
  });
});

describe('configuration', () => {
  it('has sensible defaults: loopback host, port 4000, embedded database', () => {
    const config = loadConfig({});
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 4000 });
    expect(config.databaseUrl).toBeUndefined();
  });
  it('lists every invalid variable at once with what to fix', () => {
    try {
      loadConfig({
        PORT: 'abc',
        DATABASE_URL: 'mysql://x',
        ADMIN_TOKEN: 'short',
        LOG_LEVEL: 'loud',
        ENGINE_DB_ADDRESS: 'postgres',
        ENGINE_KAFKA_BROKERS: 'kafka:x',
        RECOMMEND_CACHE_TTL_MS: '-1',
        RECOMMEND_REPURCHASABLE_CATEGORIES: '3;x',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      for (const name of [
        'PORT',
        'DATABASE_URL',
        'ADMIN_TOKEN',
        'LOG_LEVEL',
        'ENGINE_DB_ADDRESS',
        'ENGINE_KAFKA_BROKERS',
        'RECOMMEND_CACHE_TTL_MS',
        'RECOMMEND_REPURCHASABLE_CATEGORIES',
      ])
        expect(problems).toContain(name);
    }
  });
  it('knows which hosts are loopback', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
  });
});

describe('password hashing', () => {
  it('stores a salted scrypt hash that verifies only the right password', async () => {
    const a = await hashPassword('correct horse', SYNTHETIC_COST);
    const b = await hashPassword('correct horse', SYNTHETIC_COST);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('wrong', a)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
  });
});

describe('list filters', () => {
  const orders = RESOURCES.find((r) => r.model === 'Order')!;
  it('turn arguments into a Prisma where clause', () => {
    const from = new Date('2026-01-01');
    expect(buildWhere(orders, { customerId: 3, status: 'paid', from, minTotal: '10.00' })).toEqual({
      AND: [{ customerId: 3 }, { status: 'paid' }, { orderDate: { gte: from } }, { totalPrice: { gte: '10.00' } }],
    });
    expect(buildWhere(orders, {})).toEqual({});
  });
  it('reject an inverted range with a message naming the argument', () => {
    expect(() => buildWhere(orders, { minTotal: '50', maxTotal: '10' })).toThrow(AppError);
    expect(() => buildWhere(orders, { from: new Date('2026-02-01'), to: new Date('2026-01-01') })).toThrow(/from must not be after to/);
  });
});
