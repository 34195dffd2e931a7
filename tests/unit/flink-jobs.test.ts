import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobManagerFor } from '../../src/app/context.js';
import { PoisonMessageError } from '../../src/cdc/envelope.js';
import { loadConfig } from '../../src/config/env.js';
import { gatewayError } from '../../src/flink/gateway.js';
import { dayToSecond, expandIncludes, jobDefinitions, jobPlaceholders, renderJob } from '../../src/flink/jobs.js';
import { parseResult } from '../../src/flink/results.js';
import { quotedBody, stringLiteral } from '../../src/flink/sql-values.js';
import { createAlertWebhook } from '../../src/flink/webhook.js';
import { createLogger } from '../../src/logging/logger.js';

const placeholders = jobPlaceholders(loadConfig({}), 'postgresql://app:s%40cret@db.local:5544/shop');

describe('Flink job files', () => {
  it('renders every job in flink/ into statements ending in one job-submitting statement', () => {
    const names = jobDefinitions().map((d) => d.name);
    expect(names).toEqual(['experiment-results', 'fraud-detection', 'recommendation-features', 'revenue-stats', 'top-products']);
    for (const d of jobDefinitions()) {
      const statements = renderJob(d.file, placeholders);
      expect(statements.at(-1), d.name).toMatch(/^EXECUTE STATEMENT SET\s+BEGIN[\s\S]*END$/);
      expect(statements.join('\n'), d.name).not.toMatch(/\$\{|^\s*--/m);
      expect(statements.join('\n')).toContain("'password' = 's@cret'");
      expect(statements.join('\n')).toContain("'url' = 'jdbc:postgresql://db.local:5544/shop'");
    }
  });

  it('lets the engines reach PostgreSQL and Kafka under other names (docker compose: ENGINE_DB_ADDRESS, ENGINE_KAFKA_BROKERS)', () => {
    const inCompose = jobPlaceholders(
      loadConfig({ ENGINE_DB_ADDRESS: 'postgres:5432', ENGINE_KAFKA_BROKERS: 'kafka:19092' }),
      'postgresql://app:pw@localhost:15432/shop',
    );
    expect(inCompose).toMatchObject({ 'jdbc.url': 'jdbc:postgresql://postgres:5432/shop', 'kafka.brokers': 'kafka:19092', 'jdbc.user': 'app' });
  });

  it('splits on semicolons outside quotes and comments, keeping a statement set whole', () => {
    const text =
      "-- a comment; with a semicolon\nSET 'a' = 'x;y';\nCREATE TABLE t (s STRING) WITH ('connector' = 'datagen');\nEXECUTE STATEMENT SET\nBEGIN\nINSERT INTO a SELECT * FROM t;\nINSERT INTO b SELECT * FROM t;\nEND;\n";
    expect(renderJob('job.sql', {}, text)).toEqual([
      "SET 'a' = 'x;y'",
      "CREATE TABLE t (s STRING) WITH ('connector' = 'datagen')",
      'EXECUTE STATEMENT SET\nBEGIN\nINSERT INTO a SELECT * FROM t;\nINSERT INTO b SELECT * FROM t;\nEND',
    ]);
  });

  it('names the file and the problem for unknown placeholders, a missing END, or not exactly one job', () => {
    expect(() => renderJob('x.sql', {}, "INSERT INTO a SELECT '${nope}';")).toThrow(/x\.sql: unknown placeholder \$\{nope\} \(line 1\)/);
    expect(() => renderJob('x.sql', {}, 'EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;')).toThrow(
      /x\.sql: EXECUTE STATEMENT SET BEGIN \.\.\. without a closing END/,
    );
    expect(() => renderJob('x.sql', {}, "CREATE TABLE t (a INT) WITH ('connector' = 'datagen');")).toThrow(/exactly one INSERT INTO .*found 0/);
    expect(() => renderJob('x.sql', {}, 'INSERT INTO a SELECT 1; INSERT INTO b SELECT 1;')).toThrow(/found 2/);
    expect(() => renderJob('x.sql', {}, "INSERT INTO a SELECT 'x;")).toThrow(/unterminated ' quote/);
  });

  it("expands the shared change-topic sources into each job (nested includes), with the job's own consumer group", () => {
    for (const d of jobDefinitions()) {
      const statements = renderJob(d.file, placeholders);
      const sources = statements.filter((st) => /^CREATE TABLE \w+_(raw|changes) /.test(st));
      expect(sources.length, d.name).toBeGreaterThan(0);
      for (const source of sources) {
        expect(source).toMatch(/'topic' = 'shop\.public\.\w+'/);
        expect(source).toContain(`'properties.group.id' = 'rtrec-flink-${d.name}'`);
        expect(source).not.toMatch(/@include|\$\{/);
      }
      // Each topic is read twice: its changes parsed once by the json format, which skips what does not parse, and
      // the same messages as text, so that what the format skips is dead-lettered, never dropped.
      const tables = (kind: string) => sources.filter((st) => st.startsWith(`CREATE TABLE `) && new RegExp(`^CREATE TABLE \\w+_${kind} `).test(st));
      const names = (kind: string) =>
        tables(kind)
          .map((st) => /^CREATE TABLE (\w+)_/.exec(st)![1])
          .sort();
      expect(names('changes'), d.name).toEqual(names('raw'));
      for (const raw of tables('raw')) {
        expect(raw).toContain(`'format' = 'raw'`);
        expect(raw).not.toMatch(/ignore-parse-errors/);
      }
      for (const changes of tables('changes')) expect(changes).toContain(`'format' = 'json'`);
      // Every source it reads has its poison stream written to the dead-letter topic, named as this job.
      const set = statements.find((st) => /^EXECUTE STATEMENT SET/.test(st))!;
      for (const table of names('raw')) {
        expect(set, `${d.name} dead-letters ${table}`).toContain(`INSERT INTO dead_letters SELECT * FROM ${table}_poison`);
        const poison = statements.find((st) => st.startsWith(`CREATE TEMPORARY VIEW ${table}_poison `))!;
        expect(poison, table).toMatch(new RegExp(`FROM ${table}_raw\\s+WHERE msg IS NOT NULL AND NOT \\(msg IS JSON OBJECT\\)`));
        expect(poison, table).toContain(`FROM ${table}_problems`);
      }
      expect(statements.join('\n')).toContain(`ENCODE('flink:${d.name}', 'UTF-8')`);
    }
  });

  it('refuses an include cycle instead of recursing forever', () => {
    expect(() => expandIncludes('/work/x.sql', '-- @include cdc-source table=a', 5)).toThrow(/more than 4 levels deep/);
  });

  it('names the file, line and fragment of an include that does not exist', () => {
    expect(() => renderJob('/nowhere/x.sql', {}, 'CREATE TABLE t (a INT) WITH (\n  -- @include no-such table=a\n);')).toThrow(
      /x\.sql: line 2 includes "no-such", but .*no-such\.sql does not exist/,
    );
  });

  it('writes durations as DAY TO SECOND literals', () => {
    expect(dayToSecond(60)).toBe('0 00:01:00');
    expect(dayToSecond(300)).toBe('0 00:05:00');
    expect(dayToSecond(90061)).toBe('1 01:01:01');
  });

  it('extracts the planner message from a gateway error body', () => {
    const body = JSON.stringify({
      errors: [
        'Internal server error.',
        "org.apache.flink.table.gateway.service.utils.SqlExecutionException: Failed to execute the operation.\n\tat x\nCaused by: org.apache.flink.table.api.ValidationException: Object 'nowhere' not found\n\tat y",
      ],
    });
    expect(gatewayError(body)).toBe("Object 'nowhere' not found");
  });
});

describe('job results from Kafka', () => {
  it('parses the rows Flink writes, and sends anything else to the dead-letter path', () => {
    const alert = parseResult(
      'fraud-alerts',
      Buffer.from(
        JSON.stringify({
          alert_id: 'high_value:7',
          rule: 'high_value',
          customer_id: 3,
          order_id: 7,
          amount: 2500.5,
          order_count: 1,
          detail: 'x',
          event_time: '2026-11-24T09:00:00.123Z',
          detected_at: '2026-11-24T09:00:00.456Z',
        }),
      ),
    );
    expect(alert).toEqual({
      kind: 'fraud-alerts',
      row: {
        alertId: 'high_value:7',
        rule: 'high_value',
        customerId: 3,
        orderId: 7,
        amount: '2500.50',
        orderCount: 1,
        detail: 'x',
        eventTime: new Date('2026-11-24T09:00:00.123Z'),
        detectedAt: new Date('2026-11-24T09:00:00.456Z'),
      },
    });
    const window = parseResult(
      'revenue-stats',
      Buffer.from(
        JSON.stringify({
          window_start: '2026-11-24T09:00:00',
          window_end: '2026-11-24T09:01:00',
          window_seconds: 60,
          revenue: 10,
          order_count: 2,
          avg_order_value: 5,
          previous_revenue: null,
          revenue_change: null,
          revenue_change_pct: null,
        }),
      ),
    );
    expect(window.row).toMatchObject({ windowStart: new Date('2026-11-24T09:00:00Z'), revenue: '10.00', previousRevenue: null });
    expect(() => parseResult('top-products', Buffer.from('{"rank": "first"}'))).toThrow(PoisonMessageError);
    expect(() => parseResult('revenue-stats', Buffer.from('not json'))).toThrow(PoisonMessageError);
    expect(() => parseResult('fraud-alerts', null)).toThrow(PoisonMessageError);
  });
});

describe('alert webhook', () => {
  it('posts Slack/Discord-compatible JSON, retries once, and never throws when the hook fails', async () => {
    const received: { status: number; body: any }[] = [];
    let answer = 500;
    const server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (d: Buffer) => (body += d.toString()));
      request.on('end', () => {
        received.push({ status: answer, body: JSON.parse(body) });
        response.writeHead(answer).end();
        answer = 200;
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const webhook = createAlertWebhook(url, createLogger('silent'));
      const row = {
        alertId: 'velocity:9',
        rule: 'velocity',
        customerId: 4,
        orderId: 9,
        amount: '12.00',
        orderCount: 6,
        detail: 'customer 4 placed 6 orders within one minute',
        eventTime: new Date(0),
        detectedAt: new Date(0),
      };
      webhook.onResult({ kind: 'revenue-stats', row: {} as any }); // not an alert: nothing posted
      webhook.onResult({ kind: 'fraud-alerts', row });
      for (let i = 0; i < 50 && webhook.stats().delivered === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(webhook.stats()).toMatchObject({ delivered: 1, failed: 0, inFlight: 0 });
      expect(received.map((r) => r.status)).toEqual([500, 200]);
      expect(received[1]!.body.text).toMatch(/Fraud alert \(velocity\) on order 9 by customer 4: customer 4 placed 6 orders/);
      expect(received[1]!.body.content).toBe(received[1]!.body.text);

      // A webhook nobody answers: logged as failed, onResult returns at once and never throws.
      const dead = createAlertWebhook('http://127.0.0.1:1/nothing', createLogger('silent'));
      expect(() => dead.onResult({ kind: 'fraud-alerts', row })).not.toThrow();
      for (let i = 0; i < 50 && dead.stats().failed === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(dead.stats()).toMatchObject({ delivered: 0, failed: 1 });
    } finally {
      server.close();
    }
  });
});

describe('values placed into Flink SQL', () => {
  const job = (body: string) => `${body}\nINSERT INTO a SELECT 1;`;

  it('doubles the quote inside a literal, so a value cannot end it and add SQL of its own', () => {
    const tricky = "pw' ), ('connector' = 'filesystem";
    const [statement] = renderJob('x.sql', { 'jdbc.password': tricky }, job("CREATE TABLE t (a INT) WITH ('password' = '${jdbc.password}');"));
    expect(statement).toBe("CREATE TABLE t (a INT) WITH ('password' = 'pw'' ), (''connector'' = ''filesystem')");
    const rendered = renderJob('x.sql', placeholders, job("SELECT `${topic.prefix}`, '${jdbc.url}';"));
    expect(rendered[0]).toBe("SELECT `shop`, 'jdbc:postgresql://db.local:5544/shop'");
  });

  it('refuses a line break or control character anywhere, naming the placeholder, the line and the setting to change — never the value', () => {
    for (const bad of ['a\nb', 'a\rb', 'a\u0000b', 'a\tb']) {
      const render = () =>
        renderJob('x.sql', { 'jdbc.password': bad }, job("-- ${jdbc.password} in a comment is documentation\nSET 'p' = '${jdbc.password}';"));
      expect(render).toThrow(
        /x\.sql: line 2: the value of \$\{jdbc\.password\} contains a line break or another control character, so it cannot be placed in Flink SQL: change the password of DATABASE_FLINK_URL/,
      );
      try {
        render();
      } catch (error) {
        expect((error as Error).message).not.toContain(bad);
      }
    }
  });

  it('allows only a number outside quotes', () => {
    expect(renderJob('x.sql', { 'top.n': '10' }, job('SELECT ${top.n};'))[0]).toBe('SELECT 10');
    expect(() => renderJob('x.sql', { 'top.n': '1; DROP TABLE x' }, job('SELECT ${top.n};'))).toThrow(
      /x\.sql: line 1: the value of \$\{top\.n\} stands outside quotes in the job file and is not a number/,
    );
  });

  it('quotes values of SET statements with the same helper', () => {
    expect(stringLiteral("/tmp/it's/chk-1", { describe: 'the checkpoint path', fix: 'deploy with --fresh' })).toBe("'/tmp/it''s/chk-1'");
    expect(() => stringLiteral('a\nb', { describe: 'the checkpoint path', fix: 'deploy with --fresh' })).toThrow(
      /the checkpoint path contains a line break or another control character, so it cannot be placed in Flink SQL: deploy with --fresh/,
    );
    expect(quotedBody('a`b', { placeholder: 'topic.prefix' }, '`')).toBe('a``b');
  });
});

describe("the managed cluster's high-availability store", () => {
  it('counts the jobs a restarted JobManager would take back (their submitted job graphs), and nothing else', () => {
    const root = mkdtempSync(join(tmpdir(), 'rtrec-ha-'));
    try {
      const jobs = jobManagerFor(loadConfig({ RTREC_DATA_DIR: root }), 'postgresql://app:x@db.local/shop', createLogger('silent'));
      expect(jobs.recoverable()).toBe(0);
      // The layout Flink 1.20's ZooKeeper HA writes under high-availability.storageDir (cluster id /rtrec).
      const ha = join(root, 'stack', 'flink', 'ha');
      mkdirSync(join(ha, 'rtrec', 'blob', 'job_5c57258e10675bbfd9c9fd455a72d8b9'), { recursive: true });
      mkdirSync(join(ha, 'job-result-store', 'rtrec'), { recursive: true });
      writeFileSync(join(ha, 'rtrec', 'completedCheckpoint012aa00dd8fe'), '');
      expect(jobs.recoverable()).toBe(0);
      writeFileSync(join(ha, 'rtrec', 'submittedJobGraph4c864ffd9069'), '');
      writeFileSync(join(ha, 'rtrec', 'submittedJobGraph5d18d96afbc1'), '');
      expect(jobs.recoverable()).toBe(2);
      // A cluster of someone else's (FLINK_REST_URL) has no HA store of ours: never counted.
      const external = jobManagerFor(
        loadConfig({ RTREC_DATA_DIR: root, FLINK_REST_URL: 'http://flink.example:8081' }),
        'postgresql://app:x@db.local/shop',
        createLogger('silent'),
      );
      expect(external.recoverable()).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
