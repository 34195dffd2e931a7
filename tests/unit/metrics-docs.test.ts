import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.js';
import { projectRoot } from '../../src/paths.js';

const metricNames = (text: string) => new Set([...text.matchAll(/\brtrec_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')));

describe('metrics documentation', () => {
  const pool = new pg.Pool({ max: 1 });
  const registered = new Set(
    createMetrics({
      pool,
      bridge: () => undefined,
      engines: { flinkRestUrl: 'http://127.0.0.1:9', connectUrl: 'http://127.0.0.1:9', timeoutMs: 10 },
      defaults: false,
    })
      .registry.getMetricsAsArray()
      .map((m) => m.name),
  );

  it('documents every rtrec_* metric in docs/metrics.md, and documents none that does not exist', () => {
    const documented = metricNames(readFileSync(join(projectRoot, 'docs', 'metrics.md'), 'utf8'));
    expect([...registered].filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => !registered.has(name))).toEqual([]);
  });

  it('charts only metrics that exist in the example Grafana dashboard', () => {
    const dashboard = readFileSync(join(projectRoot, 'docs', 'grafana', 'rtrec-dashboard.json'), 'utf8');
    const used = metricNames(dashboard);
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !registered.has(name))).toEqual([]);
  });
});
