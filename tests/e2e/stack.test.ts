import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findProcesses, isAlive, portOpen } from '../../src/common/process.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { freePort, freePortBlock } from '../helpers/net.js';

interface StatusJson {
  engines: {
    engine: string;
    mode: string;
    running: boolean;
    healthy: boolean;
    pid?: number;
    ports: Record<string, number>;
    address: string;
    detail?: string;
  }[];
}

const ENGINE_START_TIMEOUT = 900_000; // the first run on a machine downloads ~100 MB of jars

let root: string;
let env: Record<string, string>;
let ports: { kafka: number; controller: number; connect: number; pg: number; flink: number; gateway: number; rpc: number };
let firstUp: CliResult;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'rtrec-stack-'));
  chmodSync(root, 0o755); // as root, the embedded PostgreSQL runs as the postgres user, which must reach its data
  // Flink's managed cluster takes FLINK_RPC_PORT and the next 12 ports.
  const rpc = await freePortBlock(13);
  ports = {
    kafka: await freePort(),
    controller: await freePort(),
    connect: await freePort(),
    pg: await freePort(),
    flink: await freePort(),
    gateway: await freePort(),
    rpc,
  };
  env = {
    RTREC_DATA_DIR: join(root, 'data'),
    DATABASE_URL: '',
    KAFKA_BROKERS: '',
    CONNECT_URL: '',
    EMBEDDED_PG_PORT: String(ports.pg),
    KAFKA_PORT: String(ports.kafka),
    KAFKA_CONTROLLER_PORT: String(ports.controller),
    CONNECT_PORT: String(ports.connect),
    FLINK_REST_URL: '',
    FLINK_SQL_GATEWAY_URL: '',
    FLINK_PORT: String(ports.flink),
    FLINK_SQL_GATEWAY_PORT: String(ports.gateway),
    FLINK_RPC_PORT: String(ports.rpc),
    KAFKA_HEAP: '256m',
    CONNECT_HEAP: '256m',
  };
  firstUp = await runCli(['stack', 'up'], env, ENGINE_START_TIMEOUT);
}, ENGINE_START_TIMEOUT);

afterAll(async () => {
  // Whatever happened above, leave no engine behind.
  await runCli(['stack', 'down'], env, 180_000).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
}, 200_000);

const status = async (extraEnv: Record<string, string> = {}): Promise<StatusJson> => {
  const result = await runCli(['stack', 'status', '--json'], { ...env, ...extraEnv });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusJson;
};

describe('rtrec stack', () => {
  it('brings PostgreSQL, Kafka, Kafka Connect and Flink up healthy on the configured ports', async () => {
    expect(firstUp.code, firstUp.stderr).toBe(0);
    for (const engine of ['postgres', 'kafka', 'connect', 'flink-zookeeper', 'flink-jobmanager', 'flink-taskmanager', 'flink-sql-gateway'])
      expect(firstUp.stdout).toMatch(new RegExp(`${engine}: started`));
    // Flink's ZooKeeper (JobManager high availability) answers its liveness probe on FLINK_RPC_PORT + 12.
    expect(await portOpen(ports.rpc + 12)).toBe(true);
    expect(await portOpen(ports.kafka)).toBe(true);
    expect(await portOpen(ports.connect)).toBe(true);
    expect(await portOpen(ports.flink)).toBe(true);
    expect(await portOpen(ports.gateway)).toBe(true);
    // The Flink web UI answers on FLINK_PORT, and the SQL gateway names the version pinned in stack/engines.json.
    expect(((await (await fetch(`http://127.0.0.1:${ports.flink}/overview`)).json()) as { taskmanagers: number }).taskmanagers).toBe(1);
    expect(await (await fetch(`http://127.0.0.1:${ports.gateway}/v1/info`)).json()).toEqual({ productName: 'Apache Flink', version: '1.20.3' });
  });

  it("serves Flink's web UI (HTML) at the JobManager's address, which status lists with every engine's address", async () => {
    const page = await fetch(`http://127.0.0.1:${ports.flink}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/<html[\s\S]*Apache Flink Web Dashboard/i);
    const { engines } = await status();
    expect(Object.fromEntries(engines.map((e) => [e.engine, e.address]))).toEqual({
      postgres: expect.stringContaining(`postgresql://127.0.0.1:${ports.pg}/rtrec`),
      kafka: `bootstrap 127.0.0.1:${ports.kafka}`,
      connect: `REST http://127.0.0.1:${ports.connect}/connectors`,
      'flink-zookeeper': `ZooKeeper 127.0.0.1:${ports.rpc + 12} (Flink's HA store; no client needed)`,
      'flink-jobmanager': `web UI + REST http://127.0.0.1:${ports.flink}`,
      'flink-taskmanager': `web UI http://127.0.0.1:${ports.flink}/#/task-manager`,
      'flink-sql-gateway': `REST http://127.0.0.1:${ports.gateway}/v1/info`,
    });
  });

  it("runs the README's change-data-capture sequence on the fresh data folder: stack up left a migrated database", async () => {
    const registered = await runCli(['cdc', 'register'], env, 120_000);
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toMatch(/shop-cdc is RUNNING/);
    const smoke = await runCli(['cdc', 'smoke'], env, 120_000);
    expect(smoke.code, smoke.stderr).toBe(0);
  });

  it('reports each engine healthy with its pid and ports in status --json', async () => {
    const { engines } = await status();
    expect(engines.map((e) => e.engine)).toEqual([
      'postgres',
      'kafka',
      'connect',
      'flink-zookeeper',
      'flink-jobmanager',
      'flink-taskmanager',
      'flink-sql-gateway',
    ]);
    for (const engine of engines) {
      expect(engine, engine.engine).toMatchObject({ mode: 'managed', running: true, healthy: true });
      expect(isAlive(engine.pid!)).toBe(true);
    }
    expect(engines[0]!.ports).toEqual({ postgres: ports.pg });
    expect(engines[1]!.ports).toEqual({ broker: ports.kafka, controller: ports.controller });
    expect(engines[2]!.ports).toEqual({ rest: ports.connect });
    expect(engines[3]!.ports).toEqual({ client: ports.rpc + 12 });
    expect(engines[4]!.ports).toEqual({ rest: ports.flink, rpc: ports.rpc, blob: ports.rpc + 1 });
    expect(engines[5]!.ports).toEqual({ rpc: ports.rpc + 2, data: ports.rpc + 3 });
    expect(engines[6]!.ports).toEqual({ rest: ports.gateway });
  });

  it('runs Connect with the Debezium PostgresConnector plugin', async () => {
    const plugins = (await (await fetch(`http://127.0.0.1:${ports.connect}/connector-plugins`)).json()) as { class: string; version: string }[];
    expect(plugins).toContainEqual(expect.objectContaining({ class: 'io.debezium.connector.postgresql.PostgresConnector', version: '3.7.0.Final' }));
  });

  it('does nothing when up runs again', async () => {
    const before = await status();
    const again = await runCli(['stack', 'up', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    const { results } = JSON.parse(again.stdout) as { results: { engine: string; outcome: string }[] };
    expect(results.map((r) => r.outcome)).toEqual(Array(7).fill('already running'));
    expect((await status()).engines.map((e) => e.pid)).toEqual(before.engines.map((e) => e.pid));
  });

  it('starts nothing for services given by KAFKA_BROKERS, CONNECT_URL, DATABASE_URL, FLINK_REST_URL and FLINK_SQL_GATEWAY_URL', async () => {
    const externalEnv = {
      ...env,
      RTREC_DATA_DIR: join(root, 'external'),
      KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
      CONNECT_URL: `http://127.0.0.1:${ports.connect}`,
      DATABASE_URL: inject('pgAdminUrl'),
      FLINK_REST_URL: `http://127.0.0.1:${ports.flink}`,
      FLINK_SQL_GATEWAY_URL: `http://127.0.0.1:${ports.gateway}`,
    };
    const up = await runCli(['stack', 'up', '--json'], externalEnv);
    expect(up.code, up.stderr).toBe(0);
    expect((JSON.parse(up.stdout) as { results: { outcome: string }[] }).results.map((r) => r.outcome)).toEqual(Array(7).fill('external'));
    expect(findProcesses(`-Drtrec.stack.dir=${join(root, 'external')}`)).toEqual([]);
    const { engines } = await status(externalEnv);
    expect(engines.map((e) => [e.engine, e.mode, e.healthy])).toEqual([
      ['postgres', 'external', true],
      ['kafka', 'external', true],
      ['connect', 'external', true],
      ['flink-zookeeper', 'external', true],
      ['flink-jobmanager', 'external', true],
      ['flink-taskmanager', 'external', true],
      ['flink-sql-gateway', 'external', true],
    ]);
  });

  it('prints the end of an engine log, and exits 2 for an unknown engine', async () => {
    const logs = await runCli(['stack', 'logs', 'kafka', '--lines', '5'], env);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout.trim().split('\n')).toHaveLength(5);
    const bad = await runCli(['stack', 'logs', 'zookeeper'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown engine 'zookeeper': choose one of postgres, kafka, connect/);
  });

  it('stops every engine on down: no process left, no port open', async () => {
    const pids = (await status()).engines.map((e) => e.pid!);
    const down = await runCli(['stack', 'down'], env, 180_000);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toMatch(
      /flink-sql-gateway: stopped[\s\S]*flink-taskmanager: stopped[\s\S]*flink-jobmanager: stopped[\s\S]*flink-zookeeper: stopped[\s\S]*connect: stopped[\s\S]*kafka: stopped[\s\S]*postgres: stopped/,
    );
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(findProcesses(`-Drtrec.stack.dir=${env.RTREC_DATA_DIR}`)).toEqual([]);
    for (const port of Object.values(ports)) expect(await portOpen(port), `port ${port}`).toBe(false);
    expect(await portOpen(ports.rpc + 12), 'ZooKeeper').toBe(false);
    expect((await status()).engines.map((e) => e.running)).toEqual(Array(7).fill(false));
  }, 200_000);
});
