import pg from 'pg';
import type { ChangeEvent, ChangeOperation } from '../../src/cdc/envelope.js';
import { isCdcTable, rowToEntity } from '../../src/cdc/tables.js';
import { commitTimeOf, decodeColumns, decodeRowLine, isoTime } from '../../src/soak/wal.js';

/*
 * Row changes read from PostgreSQL's logical decoding (the test_decoding plugin, polled through a replication
 * slot) and published into the app's change pubsub: what Debezium → Kafka → the bridge deliver in the stack,
 * for in-process tests that need real commits on screen without the JVM engines. Each change carries the commit
 * timestamp PostgreSQL reports (include-timestamp), as Debezium's source.ts_ms does.
 */

export interface LogicalChangeFeed {
  /** Stops polling and drops the slot (a database with a slot cannot be dropped). */
  stop(): Promise<void>;
}

const OPERATIONS: Record<string, ChangeOperation> = { INSERT: 'CREATE', UPDATE: 'UPDATE', DELETE: 'DELETE' };

/** One row image of a test_decoding line as a Debezium-style row (snake_case columns, JSON values). */
function tuple(text: string): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const { column, type, value } of decodeColumns(text)) {
    if (value === null) row[column] = null;
    else if (type === 'integer' || type === 'smallint') row[column] = Number(value);
    else if (type === 'boolean') row[column] = value === 'true';
    else if (type.startsWith('timestamp')) row[column] = isoTime(value);
    else row[column] = value;
  }
  return row;
}

/** Parses one decoded row change (exported for its test); undefined for tables the API does not capture. */
export function parseDecodedRow(data: string, committedAt: Date, lsn: string): ChangeEvent | undefined {
  const line = decodeRowLine(data);
  if (!line || !isCdcTable(line.table)) return undefined;
  const table = line.table;
  const before = line.old === undefined ? null : rowToEntity(table, tuple(line.old));
  const after = line.new === undefined ? null : rowToEntity(table, tuple(line.new));
  // Not read from Kafka: a position of its own, in the order the slot returned the changes.
  return {
    table,
    operation: OPERATIONS[line.operation]!,
    before,
    after,
    committedAt,
    lsn,
    receivedAt: new Date(),
    position: { topic: `pg.${table}`, partition: 0, offset: String(read++) },
  };
}
let read = 0;

/**
 * Feeds `publish` from the database at `superuserUrl` (a slot needs the REPLICATION attribute), polling every
 * `pollMs`. Changes are published when their transaction's COMMIT has been decoded, with its timestamp.
 */
export async function startLogicalChangeFeed(superuserUrl: string, publish: (event: ChangeEvent) => void, pollMs = 20): Promise<LogicalChangeFeed> {
  const client = new pg.Client({ connectionString: superuserUrl });
  await client.connect();
  const slot = `rtrec_test_${(await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db}`.slice(0, 63);
  await client.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [slot]);
  let stopped = false;
  let pending: ChangeEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();
  const poll = async () => {
    const { rows } = await client.query<{ lsn: string; data: string }>(
      "SELECT lsn::text, data FROM pg_logical_slot_get_changes($1, NULL, NULL, 'include-timestamp', '1', 'skip-empty-xacts', '1')",
      [slot],
    );
    for (const { lsn, data } of rows) {
      if (data.startsWith('BEGIN')) pending = [];
      else if (data.startsWith('COMMIT')) {
        const at = commitTimeOf(data);
        const committedAt = at ? new Date(at) : new Date();
        for (const event of pending) publish({ ...event, committedAt });
        pending = [];
      } else {
        const event = parseDecodedRow(data, new Date(), lsn);
        if (event) pending.push(event);
      }
    }
  };
  const loop = () => {
    if (stopped) return;
    polling = poll()
      .catch((error) => {
        if (!stopped) process.stderr.write(`logical change feed: ${(error as Error).message}\n`);
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, pollMs);
      });
  };
  loop();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await polling;
      await client.query('SELECT pg_drop_replication_slot($1)', [slot]).finally(() => client.end());
    },
  };
}
