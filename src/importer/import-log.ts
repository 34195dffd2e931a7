import type pg from 'pg';
import { skipForeignKeyTriggers } from '../database/bulk.js';
import type { Db } from '../database/database.js';
import { inTransaction } from '../database/transaction.js';
import type { Logger } from '../logging/logger.js';
import { type TableCounts, writeBulk } from './bulk-write.js';
import { knownFingerprints, lockSource, resolveKeys } from './keys.js';
import type { ColumnMapping, TypeTarget } from './mapping.js';
import { type ImportPlan, planImport } from './plan.js';
import { readLog } from './read-log.js';
import { replayActions } from './replay.js';

/** The tables an import writes, in the order the summary lists them. */
export const IMPORT_TABLES = [
  'customers',
  'categories',
  'products',
  'behavior_events',
  'carts',
  'wishlists',
  'orders',
  'order_items',
  'payments',
  'shipments',
  'import_keys',
  'import_rows',
] as const;

export interface ImportLogOptions {
  file: string;
  mapping: ColumnMapping;
  types: Record<string, TypeTarget>;
  /** Names the log: its keys map to shop ids per source, and its rows are recognised per source. */
  source: string;
  /** Replay through the storefront at the log's pace × speed instead of the bulk back-fill. */
  replay?: { speed: number; writers?: number; batchMs?: number; signal?: AbortSignal };
}

export interface ImportProgress {
  phase: 'read' | 'write' | 'replay';
  done: number;
  total: number;
}

export interface ImportSummary {
  mode: 'bulk' | 'replay';
  source: string;
  file: string;
  /** Data rows of the file, rows --types skips, rows an earlier import of the source already wrote, and new rows. */
  rows: { read: number; skipped: number; known: number; new: number };
  /** Shop actions the new rows make (views, cart and wishlist additions, orders) and how many were written. */
  actions: { total: number; written: number };
  /** A replay stopped by its signal (Ctrl-C): only whole actions were written; importing again continues. */
  stopped: boolean;
  eventsByType: Record<string, number>;
  rowsByTable: Record<(typeof IMPORT_TABLES)[number], number>;
  elapsedMs: number;
  /** Shop rows written per second of the whole import (reading and checking the file included). */
  rowsPerSecond: number;
}

export interface ImportLogDeps {
  pool: pg.Pool;
  db: Db;
  logger: Logger;
}

async function tableCounts(pool: pg.Pool): Promise<TableCounts> {
  const { rows } = await pool.query<Record<string, string>>(`SELECT ${IMPORT_TABLES.map((t) => `(SELECT count(*) FROM "${t}") AS "${t}"`).join(', ')}`);
  return Object.fromEntries(IMPORT_TABLES.map((t) => [t, Number(rows[0]![t])]));
}

function eventsByType(plan: ImportPlan, written: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const action of plan.actions.slice(0, written)) {
    const type = action.kind === 'order' ? 'place_order' : action.kind;
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

/**
 * Imports an interaction log as shop history: customers, categories and products for the keys it meets, and
 * the behaviour events, cart and wishlist lines and paid orders its rows imply. Rows an earlier import of the
 * same source wrote are recognised by fingerprint and skipped. Bulk mode is one transaction (all or
 * nothing); replay validates the whole file, creates the catalogue and customers in one transaction, then
 * writes each action through the storefront.
 */
export async function importLog(
  deps: ImportLogDeps,
  options: ImportLogOptions,
  onProgress: (p: ImportProgress) => void = () => undefined,
): Promise<ImportSummary> {
  const started = performance.now();
  const log = await readLog(options.file, options.mapping, options.types, (done, total) => onProgress({ phase: 'read', done, total }));
  const phases: Record<string, number> = { readMs: performance.now() - started };
  const mark = (name: string, since: number) => {
    phases[name] = Math.round(performance.now() - since);
    return performance.now();
  };
  const fingerprints = log.rows.map((r) => r.fingerprint);
  const { source } = options;
  let plan: ImportPlan;
  let rowsByTable: TableCounts;
  let written: number;
  let stopped = false;

  if (!options.replay) {
    ({ plan, rowsByTable } = await inTransaction(deps.pool, async (client) => {
      let at = performance.now();
      await lockSource(client, source);
      const plan = planImport(source, log.rows, await knownFingerprints(client, source, fingerprints));
      at = mark('planMs', at);
      onProgress({ phase: 'write', done: 0, total: plan.actions.length });
      // Every id written below was just read or reserved in this transaction, so the per-row foreign-key
      // triggers are skipped when the role may (as the historical back-fill does); CDC is unaffected.
      await skipForeignKeyTriggers(client);
      const keys = await resolveKeys(client, source, plan);
      at = mark('keysMs', at);
      const counts = await writeBulk(client, source, plan, keys);
      mark('writeMs', at);
      onProgress({ phase: 'write', done: plan.actions.length, total: plan.actions.length });
      const { import_keys: orderKeys = 0, ...rest } = counts;
      return { plan, rowsByTable: { ...keys.created, ...rest, import_keys: keys.created.import_keys + orderKeys } };
    }));
    written = plan.actions.length;
  } else {
    const before = await tableCounts(deps.pool);
    plan = planImport(source, log.rows, await knownFingerprints(deps.pool, source, fingerprints));
    const keys = await inTransaction(deps.pool, (client) => resolveKeys(client, source, plan));
    const { speed, writers, batchMs, signal } = options.replay;
    written = await replayActions(deps.db, plan.actions, keys, {
      source,
      speed,
      writers,
      batchMs,
      pool: deps.pool,
      signal,
      onAction: (done, total) => onProgress({ phase: 'replay', done, total }),
    });
    stopped = written < plan.actions.length;
    const after = await tableCounts(deps.pool);
    rowsByTable = Object.fromEntries(IMPORT_TABLES.map((t) => [t, after[t]! - before[t]!]));
  }

  const elapsedMs = performance.now() - started;
  const full = Object.fromEntries(IMPORT_TABLES.map((t) => [t, rowsByTable[t] ?? 0])) as ImportSummary['rowsByTable'];
  const total = Object.values(full).reduce((a, b) => a + b, 0);
  deps.logger.debug({ source, file: options.file, rows: log.rows.length, total, elapsedMs, phases }, 'log imported');
  return {
    mode: options.replay ? 'replay' : 'bulk',
    source,
    file: options.file,
    rows: { read: log.rows.length + log.skipped, skipped: log.skipped, known: plan.rowsKnown, new: plan.rowsNew },
    actions: { total: plan.actions.length, written },
    stopped,
    eventsByType: eventsByType(plan, written),
    rowsByTable: full,
    elapsedMs,
    rowsPerSecond: elapsedMs > 0 ? (total * 1000) / elapsedMs : 0,
  };
}
