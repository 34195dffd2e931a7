import { type CdcTable, isCdcTable, rowToEntity, tableOfTopic } from './tables.js';

/** TRUNCATE: the whole table was emptied (a reset); it has neither row. */
export type ChangeOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'SNAPSHOT' | 'TRUNCATE';

/** One captured row change, in the entity's shape, as the GraphQL subscriptions publish it. */
export interface ChangeEvent {
  table: CdcTable;
  operation: ChangeOperation;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** When the transaction committed in PostgreSQL (Debezium `source.ts_ms`). */
  committedAt: Date;
  /** The WAL position of the change. */
  lsn: string | null;
  /** When the bridge received it; latency = delivery time − committedAt. */
  receivedAt: Date;
  /** Where it is in Kafka: what a subscriber's cursor is made of (src/kafka/cursor.ts). */
  position: KafkaPosition;
}

/** A message's place in Kafka; offset as a decimal string (Kafka offsets are 64-bit). */
export interface KafkaPosition {
  topic: string;
  partition: number;
  offset: string;
}

/** A message that cannot be a change event; it goes to the dead-letter topic with this reason. */
export class PoisonMessageError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'PoisonMessageError';
  }
}

const OPERATIONS: Record<string, ChangeOperation> = { c: 'CREATE', u: 'UPDATE', d: 'DELETE', r: 'SNAPSHOT', t: 'TRUNCATE' };

/** A Debezium change envelope as JSON on the topic, unchecked (for CLI display; the bridge validates). */
export interface RawEnvelope {
  op?: string;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  source?: { table?: string; ts_ms?: number };
}

export interface RawMessage {
  topic: string;
  /** Debezium's key: the row's primary key as JSON (`{"event_id": 42}`); checked when present. */
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** Where the message was read (the bridge always knows; 0 / "0" for a message made in process). */
  partition?: number;
  offset?: string;
}

/** A row image in the entity's shape, or a PoisonMessageError naming the column that does not convert. */
function entityOf(table: CdcTable, row: Record<string, unknown>, what: string): Record<string, unknown> {
  try {
    return rowToEntity(table, row);
  } catch (error) {
    throw new PoisonMessageError(`${what} does not convert to a ${table} row: ${(error as Error).message}`);
  }
}

/**
 * Parses one Debezium JSON envelope (schemas disabled). Returns null for tombstones (the null value
 * Debezium writes after a delete for log compaction); throws PoisonMessageError for anything that is not
 * a change of a captured table. Pure: no broker needed to test it.
 */
export function processMessage(message: RawMessage, topicPrefix: string, now = new Date()): ChangeEvent | null {
  if (message.value === null || message.value.length === 0) return null;
  const table = tableOfTopic(topicPrefix, message.topic);
  if (!table || !isCdcTable(table)) throw new PoisonMessageError(`unknown table for topic ${message.topic}`);
  if (message.key !== undefined && message.key !== null && message.key.length > 0) {
    let key: unknown;
    try {
      key = JSON.parse(message.key.toString());
    } catch {
      throw new PoisonMessageError('key is not JSON');
    }
    const fields = typeof key === 'object' && key !== null && 'payload' in key ? (key as { payload: unknown }).payload : key;
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new PoisonMessageError('key is not a JSON object');
    entityOf(table, fields as Record<string, unknown>, 'key');
  }
  let envelope: unknown;
  try {
    envelope = JSON.parse(message.value.toString());
  } catch {
    throw new PoisonMessageError('value is not JSON');
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) throw new PoisonMessageError('value is not a JSON object');
  const e = envelope as Record<string, unknown>;
  // A converter with schemas enabled wraps the envelope in {schema, payload}; accept it too.
  const body = (typeof e.payload === 'object' && e.payload !== null && 'op' in (e.payload as object) ? e.payload : e) as Record<string, unknown>;
  const operation = OPERATIONS[String(body.op)];
  if (!operation) throw new PoisonMessageError(`missing or unknown op ${JSON.stringify(body.op)}`);
  const source = body.source as Record<string, unknown> | undefined;
  const rowOf = (name: 'before' | 'after') => {
    const row = body[name];
    if (row === null || row === undefined) return null;
    if (typeof row !== 'object' || Array.isArray(row)) throw new PoisonMessageError(`${name} is not a row object`);
    return entityOf(table, row as Record<string, unknown>, name);
  };
  const before = rowOf('before');
  const after = rowOf('after');
  if (operation === 'TRUNCATE' ? before !== null || after !== null : operation === 'DELETE' ? before === null : after === null)
    throw new PoisonMessageError(
      operation === 'TRUNCATE' ? 'TRUNCATE with a row' : `${operation} without the ${operation === 'DELETE' ? 'before' : 'after'} row`,
    );
  const committedMs = Number(source?.ts_ms ?? body.ts_ms);
  if (!Number.isFinite(committedMs)) throw new PoisonMessageError('missing source.ts_ms');
  return {
    table,
    operation,
    before,
    after,
    committedAt: new Date(committedMs),
    lsn: source?.lsn === undefined || source.lsn === null ? null : String(source.lsn),
    receivedAt: now,
    position: { topic: message.topic, partition: message.partition ?? 0, offset: message.offset ?? '0' },
  };
}
