import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSoak } from '../../src/soak/soak.js';
import { engineEnv, freePort } from '../helpers/net.js';

/*
 * A short soak on the real engines the project starts (its own embedded PostgreSQL, Kafka, Kafka Connect with
 * Debezium, Flink, and the API as a process of its own): steady shopping through the storefront while
 * PostgreSQL, Kafka Connect, the API and the Flink TaskManager are each killed with SIGKILL and restarted; then
 * every committed change must be in Kafka, each resuming subscriber must have received its topic exactly once,
 * the jobs' windows, alerts and features must equal their SQL recomputation, and nothing may be left running.
 * The long soak (every component, ten minutes and more) is a bench: `npm run soak`.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'rtrec-soak-'));
chmodSync(dataDir, 0o755);

afterAll(() => {
  if (!process.env.RTREC_KEEP_TEST_DATA) rmSync(dataDir, { recursive: true, force: true });
});

describe('soak with faults', () => {
  it('loses nothing, counts nothing twice and leaves nothing behind across kill -9 of PostgreSQL, Connect, the API and the TaskManager', async () => {
    const env = {
      EMBEDDED_PG_PORT: String(await freePort()),
      ...(await engineEnv()).env,
      KAFKA_HEAP: '384m',
      CONNECT_HEAP: '384m',
      LOG_LEVEL: 'warn',
    };
    const report = await runSoak({
      minutes: 2.5,
      rate: 60,
      faults: ['postgres', 'connect', 'api', 'flink-taskmanager'],
      intervalSeconds: 32,
      downSeconds: 3,
      concurrency: 4,
      seed: 11,
      dataDir,
      env,
      onProgress: (text) => process.stderr.write(`soak: ${text}\n`),
    });
    process.stderr.write(`soak report: ${JSON.stringify(report)}\n`);

    expect(report.faultsInjected).toBeGreaterThanOrEqual(3);
    for (const fault of report.faults) expect(fault.recoverySeconds, `${fault.component} recovered`).not.toBeNull();
    // (a) every change PostgreSQL committed is in Kafka (some of them more than once: Debezium is at-least-once).
    expect(report.changesChecked).toBeGreaterThan(1000);
    expect(report.lostInKafka).toBe(0);
    // (c) resuming subscribers across the API's death: each record once.
    for (const s of report.subscribers) {
      expect(s.checked).toBeGreaterThan(0);
      expect([s.table, s.lost, s.duplicated]).toEqual([s.table, 0, 0]);
    }
    if (report.faults.some((f) => f.component === 'api')) expect(report.subscribers.every((s) => s.reconnects >= 1)).toBe(true);
    // (b) the jobs' results equal SQL over PostgreSQL, and there were results to compare.
    expect(report.aggregates.revenueWindows.checked).toBeGreaterThan(5);
    expect(report.aggregates.topProducts.checked).toBeGreaterThan(0);
    expect(report.aggregates.features.checked).toBeGreaterThan(100);
    for (const [name, check] of Object.entries(report.aggregates)) expect([name, check.mismatched, check.examples]).toEqual([name, 0, []]);
    expect([report.lost, report.duplicated, report.mismatchedAggregates]).toEqual([0, 0, 0]);
    // (d) nothing left running.
    expect(report.leftOver).toEqual([]);
    expect(report.ok).toBe(true);
  }, 1_500_000);
});
