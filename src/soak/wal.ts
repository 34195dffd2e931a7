import pg from 'pg';
import { CDC_TABLES, type CdcTable, isCdcTable } from '../cdc/tables.js';

/*
 * The soak's reference: every row change PostgreSQL committed, read from its own logical decoding (the
 * test_decoding plugin, through a replication slot of the soak's own, independent of Debezium's). Each change
 * is named by table, key and LSN — the LSN test_decoding prints is the one Debezium puts in source.lsn — so
 * that the Kafka topics can be checked against it change by change. Inserts of orders and order lines keep
 * their values and commit time: the soak recomputes the Flink jobs' results from them in SQL.
 */

export interface WalChange {
  table: CdcTable;
  key: string;
  /** The change's WAL position as a decimal number (Debezium's source.lsn). */
  lsn: string;
  operation: 'c' | 'u' | 'd';
}

export interface CreatedRow {
  table: 'orders' | 'order_items';
  values: Record<string, string | null>;
  /** The transaction's commit time (ISO-8601, as PostgreSQL printed it). */
  committedAt: string;
}

const ROW = /^table public\.([a-z_]+): (INSERT|UPDATE|DELETE): (.*)$/s;
const COMMIT = /^COMMIT(?: \d+)?(?: \(at (.+)\))?$/;
const COLUMN = /(\w+)\[(.+?)\]:('(?:[^']|'')*'|\S+)/g;
const OPERATIONS = { INSERT: 'c', UPDATE: 'u', DELETE: 'd' } as const;

/*
 * test_decoding's text format, shared with the tests' logical change feed (tests/helpers/pg-changes.ts).
 */

/** A row-change line: its table, SQL operation, and the old and new row images (a delete has only the old one). */
export function decodeRowLine(data: string): { table: string; operation: keyof typeof OPERATIONS; old?: string; new?: string } | undefined {
  const m = ROW.exec(data);
  if (!m) return undefined;
  const operation = m[2] as keyof typeof OPERATIONS;
  const body = m[3]!;
  if (operation === 'DELETE') return { table: m[1]!, operation, old: body };
  // An update with REPLICA IDENTITY FULL prints the old row first.
  if (body.startsWith('old-key: ')) {
    const [old, fresh] = body.slice('old-key: '.length).split(' new-tuple: ');
    return { table: m[1]!, operation, old, new: fresh ?? '' };
  }
  return { table: m[1]!, operation, new: body };
}

/** The columns of one row image: name, SQL type and value as text (null for SQL NULL); unchanged TOAST values left out. */
export function decodeColumns(text: string): { column: string; type: string; value: string | null }[] {
  const columns: { column: string; type: string; value: string | null }[] = [];
  for (const [, column, type, raw] of text.matchAll(COLUMN)) {
    if (raw === 'unchanged-toast-datum') continue;
    columns.push({ column: column!, type: type!, value: raw === 'null' ? null : raw!.startsWith("'") ? raw!.slice(1, -1).replace(/''/g, "'") : raw! });
  }
  return columns;
}

/** A COMMIT line's commit time as ISO-8601 ('2026-12-02 05:41:00.123+00' → '2026-12-02T05:41:00.123+00:00'), if printed. */
export function commitTimeOf(data: string): string | undefined {
  const at = COMMIT.exec(data)?.[1];
  return at === undefined ? undefined : isoTime(at);
}

/** A PostgreSQL timestamp as test_decoding prints it, in ISO-8601. */
export const isoTime = (text: string) => text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');

/** "0/1CB1100" → "30085376": the 64-bit WAL position in decimal, as Debezium reports it. */
export function lsnToDecimal(lsn: string): string {
  const [high, low] = lsn.split('/');
  return ((BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`)).toString();
}

/** The columns of one test_decoding tuple as text (null for SQL NULL). */
export function decodeTuple(text: string): Record<string, string | null> {
  return Object.fromEntries(decodeColumns(text).map((c) => [c.column, c.value]));
}

const keyColumn = (table: CdcTable) => CDC_TABLES[table].key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** One decoded row change of a captured table, with its row when it is a creation (undefined otherwise). */
export function parseWalLine(data: string, lsn: string): { change: WalChange; row: Record<string, string | null> } | undefined {
  const line = decodeRowLine(data);
  if (!line || !isCdcTable(line.table)) return undefined;
  const table = line.table;
  // The key of an update is read from its new row, of a delete from its old one.
  const tuple = decodeTuple(line.new ?? line.old ?? '');
  const key = tuple[keyColumn(table)];
  if (key === undefined || key === null) return undefined;
  return { change: { table, key, lsn: lsnToDecimal(lsn), operation: OPERATIONS[line.operation] }, row: tuple };
}

export interface ReferenceLog {
  /** Reads what has been committed since the last read (safe to call while PostgreSQL is down: it retries later). */
  poll(): Promise<number>;
  /** Every change read so far, by "table|key|lsn" (a change re-read after a crash is kept once). */
  readonly changes: ReadonlyMap<string, WalChange>;
  /** Creations of orders and order lines, with their commit time, in commit order. */
  readonly created: readonly CreatedRow[];
  /** Changes read so far (each once). */
  readonly count: number;
  /** The newest commit time read. */
  readonly lastCommit: Date | undefined;
  /** Drops the slot (a slot keeps WAL forever) and closes the connection. */
  close(): Promise<void>;
}

export const changeId = (c: Pick<WalChange, 'table' | 'key' | 'lsn'>) => `${c.table}|${c.key}|${c.lsn}`;

/**
 * Creates the slot `slot` (dropping a leftover of an earlier run) on the database at `superuserUrl` (a slot needs
 * REPLICATION) and returns the log; `poll` reads it in chunks. A change is taken only with its COMMIT, so an
 * aborted transaction never counts.
 */
export async function openReferenceLog(superuserUrl: string, slot: string): Promise<ReferenceLog> {
  const changes = new Map<string, WalChange>();
  const created: CreatedRow[] = [];
  let lastCommit: Date | undefined;
  let client: pg.Client | undefined;
  const connect = async () => {
    if (client) return client;
    const c = new pg.Client({ connectionString: superuserUrl });
    c.on('error', () => undefined);
    await c.connect();
    client = c;
    return c;
  };
  const first = await connect();
  await first.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  await first.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [slot]);
  // Changes of the open transaction, taken when its COMMIT is read.
  let pending: { change: WalChange; row: Record<string, string | null> }[] = [];
  let running: Promise<number> | undefined;
  const read = async (): Promise<number> => {
    let count = 0;
    try {
      const c = await connect();
      for (;;) {
        // Whole transactions only (test_decoding ends a chunk at a transaction boundary past the limit).
        const { rows } = await c.query<{ lsn: string; data: string }>(
          "SELECT lsn::text, data FROM pg_logical_slot_get_changes($1, NULL, 20000, 'include-timestamp', '1', 'skip-empty-xacts', '1')",
          [slot],
        );
        for (const { lsn, data } of rows) {
          if (data.startsWith('BEGIN')) pending = [];
          else if (data.startsWith('COMMIT')) {
            const at = commitTimeOf(data) ?? '';
            for (const { change, row } of pending) {
              const id = changeId(change);
              if (changes.has(id)) continue;
              changes.set(id, change);
              count++;
              if (change.operation === 'c' && (change.table === 'orders' || change.table === 'order_items'))
                created.push({ table: change.table, values: row, committedAt: at });
            }
            if (at) lastCommit = new Date(at);
            pending = [];
          } else {
            const parsed = parseWalLine(data, lsn);
            if (parsed) pending.push(parsed);
          }
        }
        if (rows.length < 20000) break;
      }
    } catch {
      // PostgreSQL is down (a fault): what the slot had not confirmed is read again after the restart.
      void client?.end().catch(() => undefined);
      client = undefined;
      pending = [];
    }
    return count;
  };
  const log: ReferenceLog = {
    changes,
    created,
    get count() {
      return changes.size;
    },
    get lastCommit() {
      return lastCommit;
    },
    poll() {
      // One read at a time: a caller that comes while one runs waits for it.
      running ??= read().finally(() => {
        running = undefined;
      });
      return running;
    },
    async close() {
      try {
        const c = await connect();
        await c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      } finally {
        // end() of a client whose server died may never resolve: do not wait for it.
        void client?.end().catch(() => undefined);
        client = undefined;
      }
    },
  };
  return log;
}
