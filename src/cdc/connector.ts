import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { connectionFields } from '../database/url.js';
import { AppError } from '../errors.js';
import { projectRoot } from '../paths.js';

export const DEFAULT_CONNECTOR_FILE = join(projectRoot, 'connectors', 'postgresql-cdc.json');

export interface ConnectorDefinition {
  name: string;
  config: Record<string, string>;
}

const schema = z.object({
  name: z.string().regex(/^[\w.-]+$/, 'must contain only letters, digits, ".", "_" and "-"'),
  config: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
    .refine((c) => typeof c['connector.class'] === 'string', { message: '"connector.class" is required' })
    .refine(
      (c) =>
        c['connector.class'] !== 'io.debezium.connector.postgresql.PostgresConnector' ||
        c['plugin.name'] === undefined ||
        ['pgoutput', 'decoderbufs'].includes(c['plugin.name']),
      {
        message: '"plugin.name" must be pgoutput (or decoderbufs)',
      },
    )
    .refine((c) => c['connector.class'] !== 'io.debezium.connector.postgresql.PostgresConnector' || typeof c['topic.prefix'] === 'string', {
      message: '"topic.prefix" is required',
    }),
});

/** Values the CLI fills in from the database in use, so no secret has to live in the file. */
export interface Placeholders {
  'db.host': string;
  'db.port': string;
  'db.user': string;
  'db.password': string;
  'db.name': string;
  'topic.prefix': string;
  'slot.name': string;
}

export function placeholdersFor(databaseUrl: string, topicPrefix: string, slotName = 'rtrec_cdc', dbAddress?: { host: string; port: number }): Placeholders {
  const db = connectionFields(databaseUrl);
  return {
    'db.host': dbAddress?.host ?? db.host,
    'db.port': String(dbAddress?.port ?? db.port),
    'db.user': db.user,
    'db.password': db.password,
    'db.name': db.database,
    'topic.prefix': topicPrefix,
    'slot.name': slotName,
  };
}

const HIDDEN_COLUMN = 'public.customers.password_hash';

/**
 * A Debezium PostgreSQL connector that would publish customers.password_hash is refused: the column must be
 * excluded (column.exclude.list) or left out of a column.include.list whenever the customers table is captured.
 */
function refusePublishedPasswords(file: string, config: Record<string, string>): void {
  if (config['connector.class'] !== 'io.debezium.connector.postgresql.PostgresConnector') return;
  const list = (key: string) => config[key]?.split(',').map((s) => s.trim()) ?? undefined;
  const tables = list('table.include.list');
  if (tables && !tables.some((t) => /customers/.test(t))) return;
  const include = list('column.include.list');
  const exclude = list('column.exclude.list');
  const safe = include ? !include.some((c) => c === HIDDEN_COLUMN || /password_hash|\.\*|\*/.test(c)) : (exclude?.includes(HIDDEN_COLUMN) ?? false);
  if (!safe)
    throw new AppError(
      'BAD_USER_INPUT',
      `${file} would publish ${HIDDEN_COLUMN} to Kafka: add it to config."column.exclude.list" (password hashes never leave the database).`,
    );
}

/**
 * Reads and validates a connector file ({ name, config }), naming the field that is wrong, and replaces
 * `${db.host}`-style placeholders with the values in use.
 */
export function loadConnector(file: string, placeholders: Placeholders): ConnectorDefinition {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new AppError('BAD_USER_INPUT', `Cannot read connector file ${file}: check the path (the default is connectors/postgresql-cdc.json).`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new AppError('BAD_USER_INPUT', `${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
    throw new AppError(
      'BAD_USER_INPUT',
      `${file} is not a valid connector definition: ${problems}. Expected {"name": "...", "config": {"connector.class": "...", ...}}.`,
    );
  }
  refusePublishedPasswords(file, parsed.data.config);
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed.data.config)) {
    config[key] = value.replace(/\$\{([\w.]+)\}/g, (match, name: string) => {
      if (!(name in placeholders))
        throw new AppError(
          'BAD_USER_INPUT',
          `${file}: config.${key} uses unknown placeholder ${match}; known: ${Object.keys(placeholders)
            .map((p) => `\${${p}}`)
            .join(', ')}.`,
        );
      return placeholders[name as keyof Placeholders];
    });
  }
  return { name: parsed.data.name, config };
}
