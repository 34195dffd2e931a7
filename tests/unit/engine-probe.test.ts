import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flinkTopicName, recordsBehind, sourcePositions } from '../../src/flink/gateway.js';
import { createEngineProbe } from '../../src/metrics/engines.js';

/*
 * The metrics' engine probe computes a Flink job's lag from its sources' positions and the topics' end offsets, and
 * falls back to Kafka's records-lag-max. A stand-in for the JobManager's REST API answers with the shapes Flink 1.20
 * returns (the e2e suite scrapes the real one); this test checks the arithmetic and the fallback.
 */

const OFFSET = (topic: string, partition: number) => `0.Source__orders_changes[1].KafkaSourceReader.topic.${topic}.partition.${partition}.currentOffset`;
const LAG = '0.Source__orders_changes[1].KafkaSourceReader.KafkaConsumer.records-lag-max';
let server: Server;
let url: string;

beforeAll(async () => {
  const metrics: Record<string, { sum: number; max: number }> = {
    [OFFSET('shop_public_orders', 0)]: { sum: 99, max: 99 },
    [OFFSET('shop_public_orders', 1)]: { sum: 9, max: 9 },
    [LAG]: { sum: 7, max: 7 },
  };
  server = createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    const json = (body: unknown) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (u.pathname === '/jobs/overview') return json({ jobs: [{ jid: 'j1', name: 'rtrec-fraud-detection', state: 'RUNNING', 'start-time': 1 }] });
    if (u.pathname === '/jobs/j1/metrics') return json([{ id: 'numRestarts', value: '2' }]);
    if (u.pathname === '/jobs/j1')
      return json({
        vertices: [
          { id: 'v1', name: 'Source: orders_changes[1] -> Calc[2]' },
          { id: 'v2', name: 'Source: orders_raw[3]' },
        ],
      });
    if (u.pathname === '/jobs/j1/vertices/v1/subtasks/metrics') {
      const get = u.searchParams.get('get');
      if (!get) return json(Object.keys(metrics).map((id) => ({ id })));
      return json(get.split(',').map((id) => ({ id, ...metrics[id]! })));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const probe = (highWatermarks?: Map<string, number>) =>
  createEngineProbe({ flinkRestUrl: url, connectUrl: `${url}/nowhere`, timeoutMs: 2000, highWatermarks: highWatermarks && (() => highWatermarks) })();

describe('Flink job lag in the metrics', () => {
  it('is the topics’ end offsets minus the sources’ positions when every partition’s end is known', async () => {
    const { flink } = await probe(
      new Map([
        ['shop.public.orders/0', 150],
        ['shop.public.orders/1', 10],
      ]),
    );
    // (150 − 100) + max(0, 10 − 10)
    expect(flink.jobs).toEqual([{ name: 'rtrec-fraud-detection', state: 'RUNNING', restarts: 2, lag: 50 }]);
  });

  it('falls back to records-lag-max when the end of a partition the job reads is unknown, or no ends are given', async () => {
    expect((await probe(new Map([['shop.public.orders/0', 150]]))).flink.jobs[0]!.lag).toBe(7);
    expect((await probe()).flink.jobs[0]!.lag).toBe(7);
  });

  it('reads a position as the next offset, and a topic read twice at its slower reader', () => {
    const positions = sourcePositions([
      { id: OFFSET('shop_public_orders', 0), max: 41 },
      { id: '0.Source__orders_raw[3].KafkaSourceReader.topic.shop_public_orders.partition.0.currentOffset', max: 30 },
      { id: OFFSET('shop_public_orders', 1), max: Number.NaN },
      { id: LAG, max: 5 },
    ]);
    expect([...positions]).toEqual([
      ['shop_public_orders/0', 31],
      ['shop_public_orders/1', 0],
    ]);
  });

  it('counts records behind as the sum of end − position, never below zero, and nothing when an end is unknown', () => {
    expect(flinkTopicName('shop.public.orders')).toBe('shop_public_orders');
    const positions = new Map([
      ['shop_public_orders/0', 31],
      ['shop_public_orders/1', 12],
    ]);
    const ends: Record<string, number> = { 'shop_public_orders/0': 40, 'shop_public_orders/1': 10 };
    expect(recordsBehind(positions, (topic, partition) => ends[`${topic}/${partition}`])).toBe(9);
    expect(recordsBehind(positions, (_topic, partition) => (partition === 0 ? 40 : undefined))).toBeUndefined();
    expect(recordsBehind(new Map(), () => undefined)).toBe(0);
  });
});
