import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { exposition } from '../../src/metrics/exposition.js';
import { createMetrics } from '../../src/metrics/metrics.js';

/* Our writer of the text format against prom-client's own, on the same registry state. */

function filled(): Registry {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const counter = new Counter({
    name: 'x_requests_total',
    help: 'Requests, with a back\\slash and a\nnew line in the help.',
    labelNames: ['route', 'status'],
    registers,
  });
  counter.inc({ route: '/a', status: '200' }, 3);
  counter.inc({ route: 'quote " back\\slash\nnewline', status: '500' });
  new Counter({ name: 'x_untouched_total', help: 'Never incremented.', registers });
  const gauge = new Gauge({ name: 'x_gauge', help: 'A gauge.', labelNames: ['engine'], registers });
  gauge.set({ engine: 'flink' }, 1);
  gauge.set({ engine: 'connect' }, -2.5);
  new Gauge({
    name: 'x_infinite',
    help: 'Infinities.',
    registers,
    collect() {
      this.set(Number.POSITIVE_INFINITY);
    },
  });
  new Gauge({
    name: 'x_collected',
    help: 'Set at scrape time.',
    labelNames: ['job'],
    registers,
    async collect() {
      this.reset();
      this.set({ job: 'a' }, 7);
      this.set({ job: 'b' }, Number.NEGATIVE_INFINITY);
    },
  });
  const histogram = new Histogram({ name: 'x_duration_seconds', help: 'Latency.', labelNames: ['method', 'route'], buckets: [0.001, 0.01, 0.1, 1], registers });
  for (const [i, route] of ['/graphql', '/products', '/graphql'].entries()) histogram.observe({ method: 'GET', route }, i / 100);
  new Histogram({ name: 'x_plain_seconds', help: 'No labels.', buckets: [1, 2], registers }).observe(1.5);
  const summary = new Summary({ name: 'x_summary', help: 'A summary.', labelNames: ['kind'], percentiles: [0.5, 0.99], registers });
  for (let i = 0; i < 20; i++) summary.observe({ kind: 'k' }, i);
  return registry;
}

describe('the text exposition', () => {
  it("writes exactly what prom-client's registry.metrics() writes, scrape after scrape", async () => {
    const registry = filled();
    for (let i = 0; i < 3; i++) {
      // Collected twice for the same state: the process metrics change between two collections, so pin them.
      const ours = await exposition(registry);
      const theirs = await registry.metrics();
      const stable = (text: string) => text.replace(/^(process_|nodejs_).*$/gm, '');
      expect(stable(ours)).toBe(stable(theirs));
      expect(
        ours
          .split('\n')
          .filter((l) => /^(process_|nodejs_)/.test(l))
          .map((l) => l.replace(/ \S+$/, '')),
      ).toEqual(
        theirs
          .split('\n')
          .filter((l) => /^(process_|nodejs_)/.test(l))
          .map((l) => l.replace(/ \S+$/, '')),
      );
    }
    expect(await exposition(registry)).toContain('x_requests_total{route="quote \\" back\\\\slash\\nnewline",status="500"} 1');
    expect(await exposition(registry)).toContain('x_duration_seconds_bucket{le="0.01",method="GET",route="/graphql"} 1');
  });

  it('writes NaN as the format spells it', async () => {
    const registry = new Registry();
    new Gauge({ name: 'x_nan', help: 'Not a number.', registers: [registry] }).set(Number.NaN);
    expect(await exposition(registry)).toBe('# HELP x_nan Not a number.\n# TYPE x_nan gauge\nx_nan NaN\n');
  });

  it('is plain ASCII for the app (a one-byte string: half the memory, and the Response takes it without a copy)', async () => {
    const metrics = createMetrics({ engines: { flinkRestUrl: 'http://127.0.0.1:9', connectUrl: 'http://127.0.0.1:9', timeoutMs: 500 } });
    const text = await metrics.scrape();
    expect(text).toContain('rtrec_engine_up');
    expect([...text].filter((c) => c.charCodeAt(0) > 0x7f)).toEqual([]);
  });

  it("is what the app's scrape serves", async () => {
    const metrics = createMetrics({ defaults: false });
    metrics.http.observe('POST', '/graphql', 200, 0.002);
    expect(await metrics.scrape()).toBe(await metrics.registry.metrics());
  });
});
