import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createConnectClient } from '../../cdc/connect-client.js';
import type { RawEnvelope } from '../../cdc/envelope.js';
import { registerConnector, resolveConnector } from '../../cdc/register.js';
import { topicOf } from '../../cdc/tables.js';
import { loadConfig } from '../../config/env.js';
import { ensureDatabaseUrls, prepareDatabase } from '../../database/database.js';
import { AppError } from '../../errors.js';
import { createKafka, ensureTopics, withKafka } from '../../kafka/client.js';
import { createLogger } from '../../logging/logger.js';
import { print, printTable } from '../output.js';

/** Registers (or updates) the Debezium connector and waits until it streams. */
export async function cdcRegister(file: string | undefined, options: { wait?: boolean }): Promise<void> {
  const config = loadConfig();
  // Debezium's publication needs the captured tables and its role their grants: a fresh database is migrated
  // and granted first (idempotent).
  await prepareDatabase(config, createLogger(config.logLevel, { component: 'cdc' }));
  const { definition, created } = await registerConnector(config, { file, wait: options.wait });
  print(`${created ? 'Registered' : 'Updated'} connector ${definition.name} at ${config.connect.url}`);
  if (options.wait !== false) print(`${definition.name} is RUNNING: topics ${definition.config['topic.prefix']}.public.<table>`);
}

export async function cdcDelete(name: string, options: { dropSlot?: boolean }): Promise<void> {
  const config = loadConfig();
  const client = createConnectClient(config.connect.url);
  const connectorConfig = await client.config(name);
  if (!(await client.remove(name))) throw new AppError('NOT_FOUND', `No connector named ${name}. List them with \`npx rtrec cdc list\`.`);
  print(`Deleted connector ${name}`);
  const slot = connectorConfig?.['slot.name'];
  if (!slot) return;
  if (!options.dropSlot) {
    print(`Replication slot ${slot} still retains WAL for this connector; re-register to resume, or drop it with --drop-slot.`);
    return;
  }
  // Dropping a slot takes REPLICATION: the Debezium role's.
  const db = new pg.Client({ connectionString: (await ensureDatabaseUrls(config)).cdc });
  await db.connect();
  try {
    // The connector's task may take a moment to release the slot.
    for (let i = 0; i < 20; i++) {
      const { rows } = await db.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (rows.length === 0) break;
      if (!rows[0]!.active) {
        await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
        print(`Dropped replication slot ${slot}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await db.end();
  }
}

export async function cdcStatus(name: string | undefined, options: { json?: boolean }): Promise<void> {
  const config = loadConfig();
  const client = createConnectClient(config.connect.url);
  const target = name ?? (await resolveConnector(config)).name;
  const status = await client.status(target);
  if (!status) throw new AppError('NOT_FOUND', `No connector named ${target} at ${config.connect.url}. Register it with \`npx rtrec cdc register\`.`);
  if (options.json) return print(JSON.stringify(status));
  print(`connector ${status.name}: ${status.connector.state} (worker ${status.connector.worker_id})`);
  for (const task of status.tasks) print(`  task ${task.id}: ${task.state} (worker ${task.worker_id})`);
  const trace = status.connector.trace ?? status.tasks.find((t) => t.trace)?.trace;
  if (trace) print(`\nFailure trace:\n${trace}`);
  if ([status.connector.state, ...status.tasks.map((t) => t.state)].includes('FAILED')) process.exitCode = 1;
}

export async function cdcList(options: { json?: boolean }): Promise<void> {
  const config = loadConfig();
  const client = createConnectClient(config.connect.url);
  const names = await client.list();
  const rows = await Promise.all(
    names.map(async (name) => {
      const s = await client.status(name);
      return { name, state: s?.connector.state ?? 'UNKNOWN', tasks: s?.tasks.map((t) => t.state).join(',') ?? '' };
    }),
  );
  if (options.json) return print(JSON.stringify(rows));
  printTable(rows);
}

/** Prints the connector with its placeholders filled (for curl users, e.g. scripts/cdc-connect.sh). */
export async function cdcRender(file: string | undefined): Promise<void> {
  print(JSON.stringify(await resolveConnector(loadConfig(), file), null, 2));
}

/**
 * The seed's test_cdc: insert, update and delete a customer, and show the three change events arriving
 * on Kafka with their latency (commit → Kafka, commit → this consumer).
 */
export async function cdcSmoke(options: { timeout: number }): Promise<void> {
  const config = loadConfig();
  // Writes a customer as the API would.
  const url = (await prepareDatabase(config, createLogger(config.logLevel, { component: 'cdc' }), { migrate: false })).api;
  const kafka = createKafka(config, 'rtrec-smoke');
  const topic = topicOf(config.cdc.topicPrefix, 'customers');
  const consumer = kafka.consumer({ groupId: `rtrec-smoke-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
  const seen: { op: string; received: number; committed: number; kafkaTs: number; value: RawEnvelope }[] = [];
  const email = `cdc.smoke.${Date.now()}@example.com`;
  let customerId = -1;
  await withKafka(config, async () => {
    // On a fresh database nothing has written the topic yet (Debezium creates it with the first change).
    await ensureTopics(kafka, [topic]);
    await consumer.connect();
    const assigned = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        const value = JSON.parse(message.value.toString()) as RawEnvelope & { source: { ts_ms: number } };
        const row = value.after ?? value.before;
        if (row?.email !== email && row?.customer_id !== customerId) return;
        seen.push({ op: value.op ?? '', received: Date.now(), committed: value.source.ts_ms, kafkaTs: Number(message.timestamp), value });
      },
    });
    await assigned;
  });
  // The group has joined, but the first fetch sets its position at "latest"; give it a moment.
  await new Promise((r) => setTimeout(r, 1000));
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const inserted = await db.query<{ customer_id: number }>(
      `INSERT INTO customers (first_name, last_name, email, password_hash, address) VALUES ('Cdc', 'Smoke', $1, 'scrypt$smoke-test-not-a-real-hash', 'nowhere') RETURNING customer_id`,
      [email],
    );
    customerId = inserted.rows[0]!.customer_id;
    await db.query(`UPDATE customers SET first_name = 'Cdc-updated', updated_at = now() WHERE customer_id = $1`, [customerId]);
    await db.query('DELETE FROM customers WHERE customer_id = $1', [customerId]);
  } finally {
    await db.end();
  }
  const deadline = Date.now() + options.timeout * 1000;
  while (seen.filter((s) => ['c', 'u', 'd'].includes(s.op)).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  const ops = seen.map((s) => s.op);
  if (!['c', 'u', 'd'].every((op) => ops.includes(op))) {
    throw new AppError(
      'CONNECT_FAILED',
      `Only ${ops.length} of 3 change events (${ops.join(', ') || 'none'}) arrived on ${topic} within ${options.timeout} s. Check \`npx rtrec cdc status\`.`,
    );
  }
  printTable(
    seen.map((s) => ({
      operation: ({ c: 'CREATE', u: 'UPDATE', d: 'DELETE' } as Record<string, string>)[s.op] ?? s.op,
      customer_id: customerId,
      first_name: String(((s.value.after ?? s.value.before) as Record<string, unknown> | null)?.first_name ?? ''),
      'commit→kafka ms': s.kafkaTs - s.committed,
      'commit→here ms': s.received - s.committed,
    })),
  );
  const leaked = seen.some((s) => JSON.stringify(s.value).includes('password_hash'));
  print(
    `\n3 change events on ${topic}; before/after present: ${seen.every((s) => 'before' in s.value && 'after' in s.value)}; password_hash in messages: ${leaked}`,
  );
  if (leaked) throw new AppError('CONNECT_FAILED', 'password_hash appeared in a CDC message: check column.exclude.list in the connector file.');
}
