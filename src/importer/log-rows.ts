import { createReadStream, statSync } from 'node:fs';
import { AppError } from '../errors.js';
import { CsvFieldTooLargeError, type CsvRecord, CsvSyntaxError, createCsvReader } from './csv.js';
import { type ColumnIndex, type ColumnMapping, indexColumns, type TypeTarget } from './mapping.js';

/** Stop after this many bad rows: enough to see a pattern, short enough to read. */
const MAX_REPORTED_ERRORS = 10;

const badInput = (message: string) => new AppError('BAD_USER_INPUT', message);

/** Checks that `file` is a readable file and returns its size; a missing file is a user mistake. */
export function fileSize(file: string): number {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error('not a file');
    return stat.size;
  } catch {
    throw badInput(`${file}: no such file; pass the path of a CSV file to --csv.`);
  }
}

/** What a row check returns: the row as the importer keeps it, a row --types skips, or what is wrong with it. */
export type RowCheck<R> = R | { skip: true } | { error: string };

export type CheckRow<R> = (record: CsvRecord, header: string[], index: ColumnIndex, mapping: ColumnMapping, types: Record<string, TypeTarget>) => RowCheck<R>;

export interface LogReading<R> {
  mapping: ColumnMapping;
  types: Record<string, TypeTarget>;
  check: CheckRow<R>;
  onBytes?: (bytes: number, total: number) => void;
  /** Filled while reading: rows that --types skips, and the bytes read. */
  stats: { skipped: number; bytes: number };
}

/**
 * Streams the good rows of a CSV log (header first, then every row checked), in batches as the file is read.
 * A bad row stops the batches (up to ten bad rows are collected, by line and column); when the file is read,
 * a file without header or with bad rows throws BAD_USER_INPUT, so a caller that writes as it reads (inside a
 * transaction) or after reading writes nothing of such a file.
 */
export async function* checkedRows<R extends object>(file: string, reading: LogReading<R>): AsyncGenerator<R[]> {
  const size = fileSize(file);
  const reader = createCsvReader();
  const errors: string[] = [];
  let header: string[] | null = null;
  let index: ColumnIndex = {};

  const handle = (records: CsvRecord[]): R[] => {
    const good: R[] = [];
    for (const record of records) {
      if (!header) {
        header = record.fields;
        index = indexColumns(header, reading.mapping, file);
        continue;
      }
      const result = reading.check(record, header, index, reading.mapping, reading.types);
      if ('error' in result) {
        errors.push(result.error);
        if (errors.length >= MAX_REPORTED_ERRORS) break;
      } else if ('skip' in result) {
        reading.stats.skipped++;
      } else if (errors.length === 0) {
        good.push(result as R);
      }
    }
    return errors.length === 0 ? good : [];
  };

  const input = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      reading.stats.bytes += Buffer.byteLength(chunk);
      const good = handle(reader.push(chunk));
      if (good.length) yield good;
      if (errors.length >= MAX_REPORTED_ERRORS) break;
      reading.onBytes?.(reading.stats.bytes, size);
    }
    if (errors.length < MAX_REPORTED_ERRORS) {
      const good = handle(reader.end());
      if (good.length) yield good;
    }
  } catch (error) {
    if (error instanceof CsvFieldTooLargeError) {
      const name = (header as string[] | null)?.[error.column - 1];
      errors.push(`line ${error.line}, column ${name === undefined ? error.column : `${JSON.stringify(name)} (${error.column})`}: ${error.message}`);
    } else if (error instanceof CsvSyntaxError) errors.push(`line ${error.line}: ${error.message}`);
    else throw error;
  } finally {
    input.destroy();
  }
  if (!header) throw badInput(`${file}: the file is empty; it needs a header line naming the columns.`);
  if (errors.length) {
    const more = errors.length >= MAX_REPORTED_ERRORS ? `\n  (stopped after ${MAX_REPORTED_ERRORS} errors)` : '';
    throw badInput(`${file} has bad rows; nothing was imported:\n  ${errors.join('\n  ')}${more}`);
  }
}
